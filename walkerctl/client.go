package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/internal/tlsclient"
)

// client is one connection to one node. It sends a command and waits for
// its reply; it never retries, so a write is sent at most once.
type client struct {
	addr    string
	timeout time.Duration
	conn    net.Conn
	r       *bufio.Reader
}

// auth is how walkerctl proves itself to a node: an ACL user and its
// password (AUTH user password; with no user, AUTH password: the default
// user), and TLS (nil: plain TCP).
type auth struct {
	user, password string
	tls            *tls.Config
}

// dial connects to addr within timeout, over TLS when a.tls is set, and
// authenticates when a password is given. A server that has no password
// set is not an error: the password is simply not needed.
func dial(ctx context.Context, addr string, a auth, timeout time.Duration) (*client, error) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, &unreachableError{addr: addr, err: err, timeout: timeout}
	}
	if a.tls != nil {
		conn.SetDeadline(time.Now().Add(timeout))
		tc, err := tlsclient.Client(conn, addr, a.tls)
		if err != nil {
			conn.Close()
			return nil, err
		}
		conn = tc
	}
	c := &client{addr: addr, timeout: timeout, conn: conn, r: bufio.NewReader(conn)}
	if a.password != "" {
		args := []string{"AUTH", a.password}
		if a.user != "" {
			args = []string{"AUTH", a.user, a.password}
		}
		_, err := c.do(args...)
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
func (c *client) do(args ...string) (resp.Value, error) {
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	c.conn.SetDeadline(time.Now().Add(c.timeout))
	if _, err := c.conn.Write(resp.AppendCommand(nil, bs)); err != nil {
		return resp.Value{}, &unreachableError{addr: c.addr, err: err, timeout: c.timeout}
	}
	v, err := resp.ReadValue(c.r)
	if errors.Is(err, resp.ErrProtocol) {
		return resp.Value{}, fmt.Errorf("%s: %w", c.addr, err)
	}
	if err != nil {
		return resp.Value{}, &unreachableError{addr: c.addr, err: err, timeout: c.timeout, replying: true}
	}
	if v.Kind == resp.KindError {
		return resp.Value{}, replyErr(c.addr, string(v.Str))
	}
	return v, nil
}

// replyText is a reply as a string: a simple or bulk string, or an
// integer.
func replyText(v resp.Value) string {
	if v.Kind == resp.KindInt {
		return strconv.FormatInt(v.Int, 10)
	}
	return string(v.Str)
}

// replyFields reads an array of strings.
func replyFields(v resp.Value) ([]string, error) {
	if v.Kind != resp.KindArray {
		return nil, fmt.Errorf("%w: want an array, got %q", resp.ErrProtocol, v.Kind)
	}
	out := make([]string, len(v.Elems))
	for i, e := range v.Elems {
		if e.Kind != resp.KindBulk && e.Kind != resp.KindSimple && e.Kind != resp.KindInt {
			return nil, fmt.Errorf("%w: array element %d is %q, not a string", resp.ErrProtocol, i, e.Kind)
		}
		out[i] = replyText(e)
	}
	return out, nil
}
