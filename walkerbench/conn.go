package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
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
	scratch []byte
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

// dial connects to addr and authenticates if password is set.
func dial(addr, password string, timeout time.Duration) (*conn, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c := &conn{nc: nc, timeout: timeout}
	c.tr.nc = nc
	c.r = bufio.NewReaderSize(&c.tr, 64<<10)
	if password != "" {
		var rp reply
		if err := c.do(&rp, "AUTH", password); err != nil {
			nc.Close()
			return nil, fmt.Errorf("AUTH: %w", err)
		}
		if rp.typ != '+' {
			nc.Close()
			return nil, fmt.Errorf("AUTH: %s", rp.data)
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

// reply is one parsed reply. data (a status, an error's text, a bulk
// string) points into the connection's buffer: it is valid until the
// next read.
type reply struct {
	typ  byte // '+', '-', ':', '$' or '*'
	null bool // $-1 or *-1
	n    int64
	data []byte
	at   int64 // now() when its last byte had arrived
}

// read reads one reply. Arrays are read whole and their elements dropped:
// no command walkerbench sends expects one.
func (c *conn) read(rp *reply) error {
	if err := c.readValue(rp, 0); err != nil {
		return err
	}
	rp.at = c.tr.at
	return nil
}

func (c *conn) readValue(rp *reply, depth int) error {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		if err == bufio.ErrBufferFull {
			return fmt.Errorf("%w: line longer than %d bytes", resp.ErrProtocol, c.r.Size())
		}
		return err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return fmt.Errorf("%w: bad line %q", resp.ErrProtocol, line)
	}
	rp.typ, rp.null, rp.n, rp.data = line[0], false, 0, line[1:len(line)-2]
	switch rp.typ {
	case '+', '-':
		return nil
	case ':':
		n, ok := parseInt(rp.data)
		if !ok {
			return fmt.Errorf("%w: integer %q", resp.ErrProtocol, line)
		}
		rp.n = n
		return nil
	case '$':
		n, ok := parseInt(rp.data)
		if !ok || n < -1 || n > resp.MaxBulkLen {
			return fmt.Errorf("%w: bulk length %q", resp.ErrProtocol, line)
		}
		rp.n, rp.data = n, nil
		if n == -1 {
			rp.null = true
			return nil
		}
		var b []byte
		if int(n)+2 <= c.r.Size() {
			if b, err = c.r.Peek(int(n) + 2); err != nil {
				return err
			}
			c.r.Discard(len(b))
		} else {
			if cap(c.scratch) < int(n)+2 {
				c.scratch = make([]byte, n+2)
			}
			b = c.scratch[:n+2]
			if _, err := io.ReadFull(c.r, b); err != nil {
				return err
			}
		}
		if b[n] != '\r' || b[n+1] != '\n' {
			return fmt.Errorf("%w: bulk string not ended by CRLF", resp.ErrProtocol)
		}
		rp.data = b[:n]
		return nil
	case '*':
		n, ok := parseInt(rp.data)
		if !ok || n < -1 || n > resp.MaxArrayLen {
			return fmt.Errorf("%w: array length %q", resp.ErrProtocol, line)
		}
		if depth > 64 {
			return fmt.Errorf("%w: nesting too deep", resp.ErrProtocol)
		}
		var el reply
		for range max(n, 0) {
			if err := c.readValue(&el, depth+1); err != nil {
				return err
			}
		}
		rp.typ, rp.null, rp.n, rp.data = '*', n == -1, n, nil
		return nil
	}
	return fmt.Errorf("%w: unknown reply type %q", resp.ErrProtocol, line[0])
}

func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 19 {
		n, err := strconv.ParseInt(string(b), 10, 64)
		return n, err == nil
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
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

// RESP encoding of the commands walkerbench sends, straight into the
// write buffer.

func appendArrayHeader(b []byte, n int) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '\r', '\n')
}

func appendBulkHeader(b []byte, n int) []byte {
	b = append(b, '$')
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '\r', '\n')
}

func appendBulkString(b []byte, s string) []byte {
	b = appendBulkHeader(b, len(s))
	b = append(b, s...)
	return append(b, '\r', '\n')
}
