package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/internal/tlsclient"
)

// epoch is the zero of now(): monotonic nanoseconds since the program
// started, the clock of every latency.
var epoch = time.Now()

func now() int64 { return int64(time.Since(epoch)) }

// conn is one RESP connection. Commands are written in batches (a whole
// pipeline in one write); replies are parsed in place from a buffered
// reader, and each carries the time the read that completed it returned,
// so a reply's latency ends when its last byte arrived, not when
// walkerbench got round to parsing it.
type conn struct {
	nc      net.Conn
	tr      timedReader
	r       *bufio.Reader
	raw     []byte // the last reply read, its buffer reused
	timeout time.Duration
	pushed  int64 // now() when the deadline was last pushed forward
}

// timedReader notes when each read returned.
type timedReader struct {
	nc net.Conn
	at int64
}

func (t *timedReader) Read(p []byte) (int, error) {
	n, err := t.nc.Read(p)
	t.at = now()
	return n, err
}

// dial connects to addr, over TLS when w.tls is set, and authenticates
// when w.password is set (as w.user when that is set too).
func dial(addr string, w *workload) (*conn, error) {
	timeout := w.timeout
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	if w.tls != nil {
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		tc, err := tlsclient.Client(nc, addr, w.tls)
		if err != nil {
			nc.Close()
			return nil, err
		}
		tc.SetDeadline(time.Time{})
		nc = tc
	}
	c := &conn{nc: nc, timeout: timeout}
	c.tr.nc = nc
	c.r = bufio.NewReaderSize(&c.tr, 64<<10)
	if w.password != "" {
		args := []string{"AUTH", w.password}
		if w.user != "" {
			args = []string{"AUTH", w.user, w.password}
		}
		var rp reply
		if err := c.do(&rp, args...); err != nil {
			nc.Close()
			return nil, fmt.Errorf("AUTH: %w", err)
		}
		if rp.Kind != resp.KindSimple {
			nc.Close()
			return nil, fmt.Errorf("AUTH: %s", rp.Str)
		}
	}
	return c, nil
}

func (c *conn) close() error { return c.nc.Close() }

// do sends one command and reads its reply.
func (c *conn) do(rp *reply, args ...string) error {
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	if err := c.write(resp.AppendCommand(nil, bs)); err != nil {
		return err
	}
	return c.read(rp)
}

// write sends b whole. It also pushes the connection's deadline, for
// reads and writes, to about timeout from now, at most every quarter of
// the timeout (a deadline costs a timer update): so the replies to what it
// sends must begin within 3/4 to 4/4 of the timeout. Only write does this,
// so that an open-loop client's reader and writer do not share the field.
func (c *conn) write(b []byte) error {
	if c.timeout > 0 {
		if t := now(); t-c.pushed > int64(c.timeout)/4 {
			c.nc.SetDeadline(time.Now().Add(c.timeout))
			c.pushed = t
		}
	}
	_, err := c.nc.Write(b)
	return err
}

// reply is one parsed reply. Its strings point into the connection's
// buffer: they are valid until the next read.
type reply struct {
	resp.Value
	at int64 // now() when its last byte had arrived
}

// read reads one reply.
func (c *conn) read(rp *reply) error {
	var err error
	if c.raw, err = resp.ReadRawAppend(c.r, c.raw[:0]); err != nil {
		return err
	}
	if rp.Value, _, err = resp.Parse(c.raw); err != nil {
		return err
	}
	rp.at = c.tr.at
	return nil
}

// ioKind names a connection error for counting, without addresses.
func ioKind(err error) string {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "io: timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "io: connection closed by server"
	case errors.Is(err, resp.ErrProtocol):
		return "io: protocol error"
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return "io: " + op.Err.Error()
	}
	return "io: " + err.Error()
}
