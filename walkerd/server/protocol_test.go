package server

import (
	"bufio"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
)

// rawExchange is exchange with a quiet time of 2 s.
func rawExchange(t *testing.T, addr string, in string) string {
	t.Helper()
	return exchange(t, addr, in, 2*time.Second)
}

func TestProtocolGuard_RefusesOversizedFramesAndKeepsServing(t *testing.T) {
	s := startServer(t, Config{})
	for _, tc := range []struct{ in, want string }{
		// Redis's proto-max-bulk-len is 512 MB.
		{"*2\r\n$3\r\nGET\r\n$536870913\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		// Near MaxInt64, redcon v1.6.2's reader, which parsed commands
		// here before the guard did, overflowed an index and panicked,
		// killing the process.
		{"*1\r\n$9223372036854775807\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"*1\r\n$99999999999999999999999\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		// Redis 7.0 takes counts up to INT_MAX.
		{"*2147483648\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"*9223372036854775807\r\n$1\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		// Commands before the bad frame are answered first.
		{"*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$999999999\r\n", "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"},
		// Inline commands work, up to 64 KB.
		{"PING\r\nECHO hi\r\nQUIT\r\n", "+PONG\r\n$2\r\nhi\r\n+OK\r\n"},
		// Nothing runs after QUIT, even in the same pipeline.
		{"QUIT\r\nSET after quit\r\n", "+OK\r\n"},
		{strings.Repeat("x", 70<<10), "-ERR Protocol error: too big inline request\r\n"},
		// Malformed framing: Redis's protocol errors (more in
		// TestMultibulk_FramingEdgesMatchRedis).
		{"*1\r\nX\r\n", "-ERR Protocol error: expected '$', got 'X'\r\n"},
		{"*1\r\n$-1\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		// Empty commands are skipped without a reply, as Redis skips them.
		{"*-1\r\n*0\r\nQUIT\r\n", "+OK\r\n"},
		{"\"unbalanced\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
	} {
		start := time.Now()
		got := rawExchange(t, s.addr, tc.in)
		if d := time.Since(start); d > time.Second {
			t.Errorf("%.40q: the connection stayed open %v", tc.in, d)
		}
		if got != tc.want {
			in := tc.in
			if len(in) > 60 {
				in = in[:60] + "..."
			}
			t.Errorf("%q:\n got %q\nwant %q", in, got, tc.want)
		}
		if got := dial(t, s.addr).must(t, "PING"); got != "+PONG" {
			t.Fatalf("server stopped answering after %q: %s", tc.in, got)
		}
	}
	if got := dial(t, s.addr).must(t, "EXISTS", "after"); got != ":0" {
		t.Errorf("a command after QUIT ran: EXISTS after = %s", got)
	}
}

func TestProtocolGuard_AllowsLargeValuesInPieces(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	big := strings.Repeat("v", 3<<20)
	w := bufio.NewWriterSize(c.c, 1000) // many small writes
	w.Write(encodeCommand([][]byte{[]byte("SET"), []byte("big"), []byte(big)}))
	w.Flush()
	raw, err := resp.ReadRaw(c.r)
	if err != nil || string(raw) != "+OK\r\n" {
		t.Fatalf("SET big: %q %v", raw, err)
	}
	v, err := c.do("GET", "big")
	if err != nil || string(v.Str) != big {
		t.Fatalf("GET big: %d bytes, %v", len(v.Str), err)
	}
}

func TestPipelining_RepliesKeepTheirOrder(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	var in []byte
	const n = 2000
	for i := range n {
		in = append(in, encodeCommand([][]byte{[]byte("INCR"), []byte("n")})...)
		if i%7 == 0 {
			in = append(in, encodeCommand([][]byte{[]byte("GET"), []byte("n")})...)
		}
	}
	go c.c.Write(in)
	next := int64(1)
	for i := range n {
		v, err := readValue(c)
		if err != nil || v.Kind != ':' || v.Int != next {
			t.Fatalf("reply %d: %s %v, want :%d", i, format(v), err, next)
		}
		if i%7 == 0 {
			v, err := readValue(c)
			if err != nil || string(v.Str) != itoa(next) {
				t.Fatalf("GET after %d: %s %v", i, format(v), err)
			}
		}
		next++
	}
}

func readValue(c *conn) (resp.Value, error) {
	raw, err := resp.ReadRaw(c.r)
	if err != nil {
		return resp.Value{}, err
	}
	v, _, err := resp.Parse(raw)
	return v, err
}
