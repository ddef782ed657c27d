package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
)

// client is one connection to one node. It sends a command and waits for
// its reply; it never retries, so a write is sent at most once.
type client struct {
	addr    string
	timeout time.Duration
	conn    net.Conn
	r       *bufio.Reader
}

// dial connects to addr within timeout and authenticates when a password
// is given. A server that has no password set is not an error: the
// password is simply not needed.
func dial(ctx context.Context, addr, password string, timeout time.Duration) (*client, error) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, &unreachableError{addr: addr, err: err, timeout: timeout}
	}
	c := &client{addr: addr, timeout: timeout, conn: conn, r: bufio.NewReader(conn)}
	if password != "" {
		_, err := c.do("AUTH", password)
		var re *replyError
		if errors.As(err, &re) && strings.Contains(re.msg, "without any password configured") {
			err = nil
		}
		if err != nil {
			c.close()
			return nil, err
		}
	}
	return c, nil
}

func (c *client) close() error { return c.conn.Close() }

// do sends one command and returns its reply. An error reply comes back as
// an error (see replyErr), never as a value.
func (c *client) do(args ...string) (value, error) {
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	c.conn.SetDeadline(time.Now().Add(c.timeout))
	if _, err := c.conn.Write(resp.AppendCommand(nil, bs)); err != nil {
		return value{}, &unreachableError{addr: c.addr, err: err, timeout: c.timeout}
	}
	raw, err := resp.ReadRaw(c.r)
	if err != nil {
		if errors.Is(err, resp.ErrProtocol) {
			return value{}, fmt.Errorf("%s: %w", c.addr, err)
		}
		return value{}, &unreachableError{addr: c.addr, err: err, timeout: c.timeout, replying: true}
	}
	v, rest, err := parseValue(raw)
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("%w: %d bytes after the reply", resp.ErrProtocol, len(rest))
	}
	if err != nil {
		return value{}, fmt.Errorf("%s: %w", c.addr, err)
	}
	if v.kind == '-' {
		return value{}, replyErr(c.addr, v.str)
	}
	return v, nil
}

// value is one RESP2 reply.
type value struct {
	kind  byte // '+', '-', ':', '$' or '*'
	str   string
	int   int64
	array []value
	null  bool // $-1 or *-1
}

// text is the reply as a string: a simple or bulk string, or an integer.
func (v value) text() string {
	if v.kind == ':' {
		return strconv.FormatInt(v.int, 10)
	}
	return v.str
}

// strings reads an array of strings.
func (v value) strings() ([]string, error) {
	if v.kind != '*' {
		return nil, fmt.Errorf("%w: want an array, got %q", resp.ErrProtocol, v.kind)
	}
	out := make([]string, len(v.array))
	for i, e := range v.array {
		if e.kind != '$' && e.kind != '+' && e.kind != ':' {
			return nil, fmt.Errorf("%w: array element %d is %q, not a string", resp.ErrProtocol, i, e.kind)
		}
		out[i] = e.text()
	}
	return out, nil
}

// parseValue decodes the first reply in b, which resp.ReadRaw has already
// framed, and returns what follows it.
func parseValue(b []byte) (value, []byte, error) {
	i := strings.Index(string(b), "\r\n")
	if i < 1 {
		return value{}, nil, fmt.Errorf("%w: truncated reply", resp.ErrProtocol)
	}
	kind, line, rest := b[0], string(b[1:i]), b[i+2:]
	switch kind {
	case '+', '-':
		return value{kind: kind, str: line}, rest, nil
	case ':':
		n, err := strconv.ParseInt(line, 10, 64)
		if err != nil {
			return value{}, nil, fmt.Errorf("%w: integer %q", resp.ErrProtocol, line)
		}
		return value{kind: kind, int: n}, rest, nil
	case '$':
		n, err := strconv.Atoi(line)
		if err != nil || n < -1 {
			return value{}, nil, fmt.Errorf("%w: bulk length %q", resp.ErrProtocol, line)
		}
		if n == -1 {
			return value{kind: kind, null: true}, rest, nil
		}
		if len(rest) < n+2 {
			return value{}, nil, fmt.Errorf("%w: truncated bulk string", resp.ErrProtocol)
		}
		return value{kind: kind, str: string(rest[:n])}, rest[n+2:], nil
	case '*':
		n, err := strconv.Atoi(line)
		if err != nil || n < -1 {
			return value{}, nil, fmt.Errorf("%w: array length %q", resp.ErrProtocol, line)
		}
		if n == -1 {
			return value{kind: kind, null: true}, rest, nil
		}
		v := value{kind: kind, array: make([]value, 0, min(n, 1024))}
		for range n {
			var e value
			if e, rest, err = parseValue(rest); err != nil {
				return value{}, nil, err
			}
			v.array = append(v.array, e)
		}
		return v, rest, nil
	}
	return value{}, nil, fmt.Errorf("%w: unknown reply type %q", resp.ErrProtocol, kind)
}
