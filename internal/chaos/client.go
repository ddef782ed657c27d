package chaos

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
)

// Value is a reply, as internal/resp reads it.
type Value = resp.Value

// Client is one connection to one node, used by one goroutine. A call
// that fails at the network level (a timeout, a reset) closes the
// connection; the next call dials again. The client never retries.
type Client struct {
	Addr    string
	Timeout time.Duration
	conn    net.Conn
	br      *bufio.Reader
}

// NewClient returns a client of addr; it dials on first use.
func NewClient(addr string, timeout time.Duration) *Client {
	return &Client{Addr: addr, Timeout: timeout}
}

// ErrNotSent says the request certainly never reached the server (the
// dial failed).
var ErrNotSent = errors.New("chaos: not sent")

// Do sends commands as one pipeline and reads one reply per command.
func (c *Client) Do(cmds ...[]string) ([]Value, error) {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.Addr, c.Timeout)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotSent, err)
		}
		c.conn, c.br = conn, bufio.NewReaderSize(conn, 64<<10)
	}
	var buf []byte
	for _, args := range cmds {
		bs := make([][]byte, len(args))
		for i, a := range args {
			bs[i] = []byte(a)
		}
		buf = resp.AppendCommand(buf, bs)
	}
	c.conn.SetDeadline(time.Now().Add(c.Timeout))
	if _, err := c.conn.Write(buf); err != nil {
		c.Close()
		return nil, err
	}
	out := make([]Value, 0, len(cmds))
	for range cmds {
		v, err := resp.ReadValue(c.br)
		if err != nil {
			c.Close()
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Do1 sends one command.
func (c *Client) Do1(args ...string) (Value, error) {
	vs, err := c.Do(args)
	if err != nil {
		return Value{}, err
	}
	return vs[0], nil
}

// Close closes the connection, if any.
func (c *Client) Close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn, c.br = nil, nil
	}
}

// Outcome is what a client learnt about an operation.
type Outcome string

const (
	OK      Outcome = "ok"      // it took effect (a read: it returned this)
	Fail    Outcome = "fail"    // it certainly did not take effect
	Unknown Outcome = "unknown" // it may or may not have taken effect
)

// classifyWrite tells what a write's reply (or error) means. walkerd's
// contract: CLUSTERDOWN, TRYAGAIN and LOADING are sent only for writes
// that were never appended to the log, UNKNOWN for writes that may have
// been; a timeout or a broken connection is unknown too. Anything else
// unexpected is taken as unknown (never as a failure, which the checkers
// would hold walkerd to) and reported.
func classifyWrite(v Value, err error) (Outcome, string) {
	if err != nil {
		if errors.Is(err, ErrNotSent) {
			return Fail, "not sent: " + err.Error()
		}
		return Unknown, err.Error()
	}
	if v.Kind != resp.KindError {
		return OK, ""
	}
	msg := string(v.Str)
	switch errPrefix(msg) {
	case "CLUSTERDOWN", "TRYAGAIN", "LOADING", "EXECABORT", "NOAUTH":
		return Fail, msg
	}
	return Unknown, msg
}

// errPrefix is the first word of an error reply.
func errPrefix(s string) string {
	w, _, _ := strings.Cut(s, " ")
	return w
}
