package server

import (
	"bufio"
	"bytes"
	"errors"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/harness"
	"github.com/walkerdb/walkerdb/internal/resp"
)

// testServer is a standalone walkerd server on a loopback port, its engine
// in a temporary directory; both close when the test ends.
type testServer struct {
	*Server
	addr string
	db   *engine.DB
}

func startServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	db, err := engine.Open(t.TempDir(), &engine.Options{Sync: engine.SyncNo})
	if err != nil {
		t.Fatal(err)
	}
	return startServerOn(t, backend.NewStandalone(db), cfg)
}

func startServerOn(t testing.TB, b backend.Backend, cfg Config) *testServer {
	t.Helper()
	// walkerd serves from its event loop by default (--event-loop), and so
	// do the tests; WALKERD_TEST_EVENT_LOOP=no runs them with a goroutine
	// per connection alone.
	cfg.EventLoop = os.Getenv("WALKERD_TEST_EVENT_LOOP") != "no"
	s := New(b, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		b.Engine().Close()
	})
	return &testServer{Server: s, addr: ln.Addr().String(), db: b.Engine()}
}

// startRedis starts a real redis-server for the test (see
// harness.StartRedis) and returns its address.
func startRedis(t testing.TB) string {
	t.Helper()
	addr, _ := harness.StartRedis(t)
	return addr
}

// conn is a minimal RESP client for tests.
type conn struct {
	c net.Conn
	r *bufio.Reader
	// wait is how long do and doBytes wait for each reply; 0 means 10 s.
	wait time.Duration
}

func dial(t testing.TB, addr string) *conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &conn{c: c, r: bufio.NewReader(c)}
}

func encodeCommand(args [][]byte) []byte {
	var b []byte
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}

func (c *conn) send(args ...[]byte) error {
	_, err := c.c.Write(encodeCommand(args))
	return err
}

func (c *conn) doBytes(args ...[]byte) (resp.Value, error) {
	wait := c.wait
	if wait == 0 {
		wait = 10 * time.Second
	}
	c.c.SetDeadline(time.Now().Add(wait))
	if err := c.send(args...); err != nil {
		return resp.Value{}, err
	}
	raw, err := resp.ReadRaw(c.r)
	if err != nil {
		return resp.Value{}, err
	}
	v, _, err := resp.Parse(raw)
	return v, err
}

func (c *conn) do(args ...string) (resp.Value, error) {
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	return c.doBytes(bs...)
}

// must runs a command and returns its reply in text form (see format).
func (c *conn) must(t testing.TB, args ...string) string {
	t.Helper()
	v, err := c.do(args...)
	if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	return format(v)
}

// format renders a reply as text: "+OK", "-ERR ...", ":1", "\"bulk\"",
// "(nil)", "[a, b]", "(nil array)".
func format(v resp.Value) string {
	switch v.Kind {
	case '+':
		return "+" + string(v.Str)
	case '-':
		return "-" + string(v.Str)
	case ':':
		return ":" + strconv.FormatInt(v.Int, 10)
	case '$':
		if v.Null {
			return "(nil)"
		}
		return strconv.Quote(string(v.Str))
	case '*':
		if v.Null {
			return "(nil array)"
		}
		parts := make([]string, len(v.Elems))
		for i, e := range v.Elems {
			parts[i] = format(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case '_':
		return "(null)"
	case ',':
		return "," + string(v.Str)
	case '#':
		if v.Bool {
			return "#t"
		}
		return "#f"
	case '(':
		return "(" + string(v.Str)
	case '!':
		return "!" + string(v.Str)
	case '=':
		return "=" + v.Format + ":" + strconv.Quote(string(v.Str))
	case '%', '~', '>':
		parts := make([]string, len(v.Elems))
		for i, e := range v.Elems {
			parts[i] = format(e)
		}
		if v.Kind == '%' {
			pairs := make([]string, 0, len(parts)/2)
			for i := 0; i+1 < len(parts); i += 2 {
				pairs = append(pairs, parts[i]+": "+parts[i+1])
			}
			return "{" + strings.Join(pairs, ", ") + "}"
		}
		return string(rune(v.Kind)) + "[" + strings.Join(parts, ", ") + "]"
	}
	return "?" + string(rune(v.Kind))
}

// splitArgs splits a command line as redis-cli does: spaces separate
// arguments; "..." takes \n \r \t \" \\ and \xHH escapes; '...' is literal.
func splitArgs(line string) ([]string, error) {
	var args []string
	i := 0
	for {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if i == len(line) {
			return args, nil
		}
		var b bytes.Buffer
		switch line[i] {
		case '"':
			i++
			for {
				if i >= len(line) {
					return nil, errors.New("unbalanced quotes")
				}
				ch := line[i]
				if ch == '"' {
					i++
					break
				}
				if ch == '\\' && i+1 < len(line) {
					i++
					switch line[i] {
					case 'n':
						b.WriteByte('\n')
					case 'r':
						b.WriteByte('\r')
					case 't':
						b.WriteByte('\t')
					case 'x':
						if i+2 < len(line) {
							n, err := strconv.ParseUint(line[i+1:i+3], 16, 8)
							if err == nil {
								b.WriteByte(byte(n))
								i += 2
								break
							}
						}
						b.WriteByte('x')
					default:
						b.WriteByte(line[i])
					}
					i++
					continue
				}
				b.WriteByte(ch)
				i++
			}
		case '\'':
			i++
			j := strings.IndexByte(line[i:], '\'')
			if j < 0 {
				return nil, errors.New("unbalanced quotes")
			}
			b.WriteString(line[i : i+j])
			i += j + 1
		default:
			j := i
			for j < len(line) && line[j] != ' ' {
				j++
			}
			b.WriteString(line[i:j])
			i = j
		}
		args = append(args, b.String())
	}
}

func redisCLI(t testing.TB) string {
	p, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli is not on PATH")
	}
	return p
}

var _ = os.Getenv

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
