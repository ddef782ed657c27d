package resp_test

import (
	"bufio"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
	"github.com/walkerdb/walkerdb/internal/resp"
)

// conn is a connection to a real redis-server.
type conn struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

func dialRedis(t *testing.T, addr string, proto string) *conn {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(time.Minute))
	c := &conn{t: t, nc: nc, r: bufio.NewReader(nc)}
	if hello := c.do("HELLO", proto); hello.Kind == resp.KindError {
		t.Fatalf("HELLO %s: %v", proto, hello)
	}
	return c
}

// do sends a command and returns its reply, which must parse.
func (c *conn) do(args ...string) resp.Value {
	c.t.Helper()
	raw := c.doRaw(args...)
	v, n, err := resp.Parse(raw)
	if err != nil || n != len(raw) {
		c.t.Fatalf("%v: Parse(%q) = %d bytes, %v", args, raw, n, err)
	}
	return v
}

func (c *conn) doRaw(args ...string) []byte {
	c.t.Helper()
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	if _, err := c.nc.Write(resp.AppendCommand(nil, bs)); err != nil {
		c.t.Fatal(err)
	}
	raw, err := resp.ReadRaw(c.r)
	if err != nil {
		c.t.Fatalf("%v: %v", args, err)
	}
	return raw
}

func TestRedisServer_FormatsDoublesAsAppendDouble(t *testing.T) {
	addr, _ := harness.StartRedis(t)
	for _, proto := range []int{2, 3} {
		c := dialRedis(t, addr, strconv.Itoa(proto))
		for _, d := range resp.RedisDoubles {
			c.do("DEL", "z")
			// ZINCRBY on a new member replies its increment, -0 included.
			got := c.doRaw("ZINCRBY", "z", d.Text, "m")
			if want := resp.AppendDouble(nil, d.F, proto); string(got) != string(want) {
				t.Errorf("RESP%d ZINCRBY z %s m: redis-server %q, AppendDouble %q", proto, d.Text, got, want)
			}
		}
	}
}

func TestRedisServer_RepliesParse(t *testing.T) {
	addr, _ := harness.StartRedis(t)
	for _, proto := range []string{"2", "3"} {
		c := dialRedis(t, addr, proto)
		c.do("ZADD", "q", "1.5", "a", "2", "b")
		c.do("HSET", "h", "f", "v")
		want := map[string]string{
			"2": "1) \"a\"\n2) \"1.5\"\n3) \"b\"\n4) \"2\"",
			"3": "1) 1) \"a\"\n   2) (double) 1.5\n2) 1) \"b\"\n   2) (double) 2",
		}[proto]
		if got := c.do("ZRANGE", "q", "0", "-1", "WITHSCORES").String(); got != want {
			t.Errorf("RESP%s ZRANGE WITHSCORES:\n%s\nwant\n%s", proto, got, want)
		}
		want = map[string]string{"2": "1) \"f\"\n2) \"v\"", "3": "1# \"f\" => \"v\""}[proto]
		if got := c.do("HGETALL", "h").String(); got != want {
			t.Errorf("RESP%s HGETALL:\n%s\nwant\n%s", proto, got, want)
		}
		if got := c.do("GET", "nosuch"); !got.Null {
			t.Errorf("RESP%s GET of a missing key: %v", proto, got)
		}
	}
}
