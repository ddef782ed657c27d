package server

import (
	"strconv"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
)

// Redis skips "*0" and any negative count without a reply, and the
// connection goes on; walkerd did the same only after this was fixed
// (redcon refuses them and closes).
func TestMultibulk_EmptyAndNullArraysAreSkippedAndTheConnectionStays(t *testing.T) {
	redisAddr := startRedis(t)
	s := startServer(t, Config{})
	for _, addr := range []string{redisAddr, s.addr} {
		c := dial(t, addr)
		// Each alone in its own write, then together, then a command.
		for _, in := range []string{"*0\r\n", "*-1\r\n", "*-5\r\n", "*0\r\n*-1\r\n*0\r\n"} {
			if _, err := c.c.Write([]byte(in)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if got := c.must(t, "PING"); got != "+PONG" {
			t.Errorf("%s: PING after empty arrays = %s", addr, got)
		}
		if _, err := c.c.Write([]byte("*0\r\n*1\r\n$4\r\nPING\r\n*-1\r\nPING\r\n")); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if v, err := readValue(c); err != nil || format(v) != "+PONG" {
				t.Errorf("%s: reply %d = %s %v", addr, i, format(v), err)
			}
		}
	}
	// Counts up to INT_MAX are accepted and wait for their arguments;
	// beyond, the count is refused.
	for _, addr := range []string{redisAddr, s.addr} {
		if got := exchange(t, addr, "*2147483647\r\n$4\r\nPING\r\n", 300*time.Millisecond); got != "" {
			t.Errorf("%s: *2147483647 answered %q, want nothing yet", addr, got)
		}
		if got := exchange(t, addr, "*2147483648\r\n", 2*time.Second); got != "-ERR Protocol error: invalid multibulk length\r\n" {
			t.Errorf("%s: *2147483648 answered %q", addr, got)
		}
	}
}

// The edges of the framing, against a real redis-server: a bulk's two
// trailing bytes are skipped unread (a bulk longer than declared runs on
// into the next command), and the numbers of "*" and "$" lines follow
// string2ll (no leading zero, no '+', no "-0"). Each input ends with a
// PING, answered only where the connection stays open. redcon's reader,
// which parsed commands before the protocol guard did, refused the first
// two and took the rest.
func TestMultibulk_FramingEdgesMatchRedis(t *testing.T) {
	redisAddr := startRedis(t)
	s := startServer(t, Config{})
	const ping = "*1\r\n$4\r\nPING\r\n"
	for _, in := range []string{
		"*1\r\n$1\r\nab\r\n",
		"*2\r\n$4\r\nECHO\r\n$1\r\nabc\r\n",
		"*1\r\n$4\r\nPINGxy",
		"*1\r\n$04\r\nPING\r\n",
		"*01\r\n$4\r\nPING\r\n",
		"*1\r\n$-0\r\n\r\n",
		"*-0\r\n",
		"*+1\r\n$4\r\nPING\r\n",
		"*1\r\n$+4\r\nPING\r\n",
		"*1\r\n$0\r\n\r\n",
	} {
		want := exchange(t, redisAddr, in+ping, 500*time.Millisecond)
		if got := exchange(t, s.addr, in+ping, 500*time.Millisecond); got != want {
			t.Errorf("%q:\n walkerd %q\n   redis %q", in, got, want)
		}
	}
}

// Redis 7.0 takes a command of more than 1<<20 arguments (its limit is
// INT_MAX); walkerd refused one at 1<<20 + 1.
func TestMultibulk_CommandOfMoreThanAMillionArgumentsIsAccepted(t *testing.T) {
	redisAddr := startRedis(t)
	s := startServer(t, Config{})
	const keys = 1 << 20 // DEL and its keys: 1,048,577 arguments
	var b []byte
	b = append(b, "*"+strconv.Itoa(keys+1)+"\r\n$3\r\nDEL\r\n"...)
	for i := range keys {
		k := "k" + strconv.Itoa(i)
		b = append(b, "$"+strconv.Itoa(len(k))+"\r\n"+k+"\r\n"...)
	}
	var replies []string
	for _, addr := range []string{redisAddr, s.addr} {
		c := dial(t, addr)
		for _, k := range []string{"k0", "k77", "k1048575"} {
			c.must(t, "SET", k, "v")
		}
		c.c.SetDeadline(time.Now().Add(60 * time.Second))
		go c.c.Write(b)
		raw, err := resp.ReadRaw(c.r)
		if err != nil {
			t.Fatalf("%s: DEL of %d keys: %v", addr, keys, err)
		}
		replies = append(replies, string(raw))
		if got := c.must(t, "DBSIZE"); got != ":0" {
			t.Errorf("%s: DBSIZE after DEL = %s", addr, got)
		}
	}
	if replies[0] != ":3\r\n" || replies[1] != replies[0] {
		t.Errorf("DEL of %d keys: walkerd %q, redis %q", keys, replies[1], replies[0])
	}
}
