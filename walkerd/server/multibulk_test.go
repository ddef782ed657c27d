package server

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
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
// into the next command); a "*" or "$" line ends at its first '\r', and
// the byte after it is skipped unread too; their numbers follow string2ll
// (no leading zero, no '+', no "-0"); an error names a CR it met as a
// space. Each input ends with a PING, answered only where the connection
// stays open. redcon's reader, which parsed commands before the protocol
// guard did, differed from Redis on most of these.
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
		"*1\r-$4\r\nPING\r\n",
		"*2\r\n$4\rxECHO\r\n$2\r\rhi\r\n",
		"*2\r\n\r$4\r\nECHO\r\n$2\r\nhi\r\n",
	} {
		want := exchange(t, redisAddr, in+ping, 500*time.Millisecond)
		if got := exchange(t, s.addr, in+ping, 500*time.Millisecond); got != want {
			t.Errorf("%q:\n walkerd %q\n   redis %q", in, got, want)
		}
	}
}

// Pipelines of well-formed commands with a byte or two changed, dropped or
// added (a fixed seed), each on a connection of its own to redis-server
// and to walkerd, all at once: the raw replies, and whether the connection
// was closed, must be the same. Each case's keys are its own, so the
// cases cannot see one another. Before the protocol guard parsed
// commands itself (redcon's reader did), 157 of these 300 differed.
func TestMultibulk_MutatedPipelinesMatchRedis(t *testing.T) {
	redisAddr := startRedis(t)
	s := startServer(t, Config{})
	const cases = 300
	rnd := rand.New(rand.NewPCG(18, 12))
	junk := []byte("0123456789-+*$\r\n xa")
	inputs := make([][]byte, cases)
	for i := range inputs {
		k, n := []byte("k"+itoa(int64(i))), []byte("n"+itoa(int64(i)))
		cmds := [][][]byte{
			{[]byte("PING")}, {[]byte("ECHO"), []byte("hey")}, {[]byte("SET"), k, []byte("v")},
			{[]byte("GET"), k}, {[]byte("DEL"), k}, {[]byte("ECHO"), nil}, {[]byte("INCR"), n},
		}
		var b []byte
		for range 1 + rnd.IntN(4) {
			b = append(b, encodeCommand(cmds[rnd.IntN(len(cmds))])...)
		}
		for range 1 + rnd.IntN(2) {
			j := rnd.IntN(len(b))
			switch r := rnd.IntN(10); {
			case r < 4:
				b[j] = junk[rnd.IntN(len(junk))]
			case r < 7:
				b = append(b[:j], b[j+1:]...)
			default:
				b = append(b[:j], append([]byte{junk[rnd.IntN(len(junk))]}, b[j:]...)...)
			}
		}
		inputs[i] = append(b, "*1\r\n$4\r\nPING\r\n"...)
	}
	// replies sends every input at once to addr; a connection left open
	// answers what it can within the quiet time.
	replies := func(addr string) []string {
		out := make([]string, cases)
		var wg sync.WaitGroup
		for i, in := range inputs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := net.Dial("tcp", addr)
				if err != nil {
					out[i] = "dial: " + err.Error()
					return
				}
				defer c.Close()
				c.Write(in)
				c.SetReadDeadline(time.Now().Add(time.Second))
				got, err := io.ReadAll(c)
				closed := "closed"
				if errors.Is(err, os.ErrDeadlineExceeded) {
					closed = "open"
				}
				out[i] = closed + " " + strconv.Quote(string(got))
			}()
		}
		wg.Wait()
		return out
	}
	want, got := replies(redisAddr), replies(s.addr)
	bad := 0
	for i := range inputs {
		if got[i] != want[i] {
			if bad++; bad <= 5 {
				t.Errorf("%q:\n walkerd %s\n   redis %s", inputs[i], got[i], want[i])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d mutated pipelines answered otherwise than redis-server", bad, cases)
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
