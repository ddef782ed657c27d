package chaos

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
)

// Value is a parsed RESP2 reply.
type Value struct {
	Kind  byte // '+', '-', ':', '$', '*'
	Str   string
	Int   int64
	Null  bool
	Elems []Value
}

// Err returns the error text of an error reply, or "".
func (v Value) Err() string {
	if v.Kind == '-' {
		return v.Str
	}
	return ""
}

func (v Value) String() string {
	switch v.Kind {
	case '+':
		return v.Str
	case '-':
		return "(error) " + v.Str
	case ':':
		return strconv.FormatInt(v.Int, 10)
	case '$':
		if v.Null {
			return "(nil)"
		}
		return strconv.Quote(v.Str)
	case '*':
		if v.Null {
			return "(nil array)"
		}
		parts := make([]string, len(v.Elems))
		for i, e := range v.Elems {
			parts[i] = e.String()
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return "?"
}

// ParseValue parses one whole raw reply.
func ParseValue(raw []byte) (Value, error) {
	v, n, err := parseValue(raw)
	if err != nil {
		return Value{}, err
	}
	if n != len(raw) {
		return Value{}, fmt.Errorf("%w: %d trailing bytes", resp.ErrProtocol, len(raw)-n)
	}
	return v, nil
}

func parseValue(b []byte) (Value, int, error) {
	nl := bytes.Index(b, []byte("\r\n"))
	if nl < 1 {
		return Value{}, 0, fmt.Errorf("%w: no line", resp.ErrProtocol)
	}
	v := Value{Kind: b[0]}
	line := string(b[1:nl])
	pos := nl + 2
	switch v.Kind {
	case '+', '-':
		v.Str = line
	case ':':
		n, err := strconv.ParseInt(line, 10, 64)
		if err != nil {
			return Value{}, 0, fmt.Errorf("%w: integer %q", resp.ErrProtocol, line)
		}
		v.Int = n
	case '$':
		n, err := strconv.Atoi(line)
		if err != nil || n < -1 {
			return Value{}, 0, fmt.Errorf("%w: bulk length %q", resp.ErrProtocol, line)
		}
		if n == -1 {
			v.Null = true
			break
		}
		if len(b) < pos+n+2 {
			return Value{}, 0, fmt.Errorf("%w: short bulk", resp.ErrProtocol)
		}
		v.Str = string(b[pos : pos+n])
		pos += n + 2
	case '*':
		n, err := strconv.Atoi(line)
		if err != nil || n < -1 {
			return Value{}, 0, fmt.Errorf("%w: array length %q", resp.ErrProtocol, line)
		}
		if n == -1 {
			v.Null = true
			break
		}
		for range n {
			e, k, err := parseValue(b[pos:])
			if err != nil {
				return Value{}, 0, err
			}
			v.Elems = append(v.Elems, e)
			pos += k
		}
	default:
		return Value{}, 0, fmt.Errorf("%w: type %q", resp.ErrProtocol, v.Kind)
	}
	return v, pos, nil
}

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
		raw, err := resp.ReadRaw(c.br)
		if err != nil {
			c.Close()
			return nil, err
		}
		v, err := ParseValue(raw)
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
	if v.Kind != '-' {
		return OK, ""
	}
	switch errPrefix(v.Str) {
	case "CLUSTERDOWN", "TRYAGAIN", "LOADING", "EXECABORT", "NOAUTH":
		return Fail, v.Str
	}
	return Unknown, v.Str
}

// errPrefix is the first word of an error reply.
func errPrefix(s string) string {
	w, _, _ := strings.Cut(s, " ")
	return w
}
