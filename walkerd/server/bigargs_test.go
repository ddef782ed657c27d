package server

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// Arguments of bigArgMin bytes or more reach commands whole, through the
// guard's own buffers and placeholders, however the bytes are cut into
// reads, next to small arguments, several in one command, and with
// arguments after them; no placeholder is ever seen.
func TestProtocolGuard_LargeArgumentsArriveWholeAndUnseen(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	c.wait = 30 * time.Second
	if got := c.must(t, "CONFIG", "SET", "slowlog-log-slower-than", "0"); got != "+OK" {
		t.Fatal(got)
	}
	val := func(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }
	a, b2, c1, d := val('a', bigArgMin+1), val('b', 2<<20), val('c', bigArgMin), val('d', 3<<20+7)
	cmds := [][][]byte{
		{[]byte("PING")},
		{[]byte("SET"), []byte("a"), a},
		{[]byte("MSET"), []byte("b"), b2, []byte("c"), c1},
		{[]byte("SET"), []byte("d"), d, []byte("EX"), []byte("1000")},
		{[]byte("APPEND"), []byte("a"), c1},
		{[]byte("STRLEN"), []byte("a")},
		{[]byte("ECHO"), b2},
		{[]byte("SLOWLOG"), []byte("GET"), []byte("1")},
		{[]byte("TTL"), []byte("d")},
	}
	var in []byte
	for _, cmd := range cmds {
		in = append(in, encodeCommand(cmd)...)
	}
	// The pipeline in pieces of random sizes, some of a byte.
	r := rand.New(rand.NewPCG(1, 2))
	go func() {
		for len(in) > 0 {
			n := min(len(in), 1+r.IntN(70000))
			if r.IntN(8) == 0 {
				n = 1
			}
			if _, err := c.c.Write(in[:n]); err != nil {
				return
			}
			in = in[n:]
		}
	}()
	want := []string{"+PONG", "+OK", "+OK", "+OK", ":" + itoa(int64(len(a)+len(c1))), ":" + itoa(int64(len(a)+len(c1))), "", "", ""}
	for i, w := range want {
		v, err := readValue(c)
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		switch i {
		case 6:
			if !bytes.Equal(v.Str, b2) {
				t.Fatalf("ECHO of %d bytes came back as %d bytes", len(b2), len(v.Str))
			}
		case 7:
			// The slow log shows the value as Redis trims it (slowlog.c:
			// 128 bytes, then how many more), not a placeholder.
			text := format(v)
			if !strings.Contains(text, strings.Repeat("b", 32)) || !strings.Contains(text, "... (2097024 more bytes)") {
				t.Fatalf("SLOWLOG GET 1 = %.300s", text)
			}
		case 8:
			if v.Kind != ':' || v.Int < 990 || v.Int > 1000 {
				t.Fatalf("TTL d = %s", format(v))
			}
		default:
			if got := format(v); got != w {
				t.Fatalf("reply %d = %.80s, want %s", i, got, w)
			}
		}
	}
	for k, want := range map[string][]byte{"a": append(append([]byte(nil), a...), c1...), "b": b2, "c": c1, "d": d} {
		v, err := c.do("GET", k)
		if err != nil || !bytes.Equal(v.Str, want) {
			t.Fatalf("GET %s: %d bytes, %v; want %d", k, len(v.Str), err, len(want))
		}
	}
}

// WALKER.BLOB answers its errors whole, as WALKER.HASLOG does: a node
// without a Raft log has no blobs.
func TestWalkerBlob_RefusesWhatItCannotServe(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"WALKER.BLOB", "1"}, "-ERR wrong number of arguments for 'walker.blob' command"},
		{[]string{"WALKER.BLOB", "x", "1"}, "-ERR value is not an integer or out of range"},
		{[]string{"WALKER.BLOB", "1", "1", "g9"}, "-ERR no such Raft group on this node: g9"},
		{[]string{"WALKER.BLOB", "1", "1"}, "-ERR this command requires cluster mode"},
	} {
		if got := c.must(t, tc.args...); got != tc.want {
			t.Errorf("%q = %s, want %s", tc.args, got, tc.want)
		}
	}
}

// A large argument of a command queued in MULTI is the one EXEC runs: the
// guard's buffer is let go after a command runs, but not after one queued.
func TestProtocolGuard_LargeArgumentsQueuedInMultiRunWhole(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	c.wait = 30 * time.Second
	v := bytes.Repeat([]byte("m"), 2*bigArgMin)
	for _, cmd := range [][][]byte{
		{[]byte("MULTI")},
		{[]byte("SET"), []byte("k"), v},
		{[]byte("APPEND"), []byte("k"), v},
	} {
		if _, err := c.doBytes(cmd...); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.must(t, "EXEC"); got != "[+OK, :"+itoa(int64(2*len(v)))+"]" {
		t.Fatalf("EXEC = %.200s", got)
	}
	got, err := c.do("GET", "k")
	if err != nil || !bytes.Equal(got.Str, append(append([]byte(nil), v...), v...)) {
		t.Fatalf("GET k: %d bytes, %v; want the %d queued", len(got.Str), err, 2*len(v))
	}
}
