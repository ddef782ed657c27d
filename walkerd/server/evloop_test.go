package server

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/netloop"
)

// readReplies reads n replies from c, raw, within wait.
func readReplies(t *testing.T, c *conn, n int, wait time.Duration) [][]byte {
	t.Helper()
	c.c.SetReadDeadline(time.Now().Add(wait))
	out := make([][]byte, 0, n)
	for i := range n {
		raw, err := resp.ReadRaw(c.r)
		if err != nil {
			t.Fatalf("reply %d of %d: %v", i+1, n, err)
		}
		out = append(out, raw)
	}
	return out
}

// Fast reads run on the event loop's thread, writes on the connection's
// goroutine; with the loop off, nothing runs on it.
func TestEventLoop_FastReadsRunOnTheLoopWritesDoNot(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	c.must(t, "SET", "k", "v")
	if loopOf(s) == nil {
		t.Skip("no event loop here (not Linux, or WALKERD_TEST_EVENT_LOOP=no)")
	}
	waitLoopHeld(t, s, clientID(t, c))
	before, hb := s.st.inline.Load(), s.st.handoffs.Load()
	for range 100 {
		if got := c.must(t, "GET", "k"); got != `"v"` {
			t.Fatal(got)
		}
	}
	if ran := s.st.inline.Load() - before; ran != 100 {
		t.Fatalf("the loop ran %d of 100 GETs", ran)
	}
	if h := s.st.handoffs.Load() - hb; h != 0 {
		t.Fatalf("%d GETs were handed to the goroutine", h)
	}
	before, hb = s.st.inline.Load(), s.st.handoffs.Load()
	for i := range 50 {
		c.must(t, "SET", "k", strconv.Itoa(i))
	}
	if ran := s.st.inline.Load() - before; ran != 0 {
		t.Fatalf("the loop ran %d SETs itself", ran)
	}
	// Each SET is handed on, unless the goroutine, which answers it just
	// before it yields, reads the next one itself.
	if h := s.st.handoffs.Load() - hb; h < 1 || h > 50 {
		t.Fatalf("%d handoffs for 50 SETs, one at a time", h)
	}
	// In MULTI a GET is queued on the goroutine, not run on the loop.
	before = s.st.inline.Load()
	c.must(t, "MULTI")
	c.must(t, "GET", "k")
	if got := c.must(t, "EXEC"); got != `["49"]` {
		t.Fatal(got)
	}
	if ran := s.st.inline.Load() - before; ran != 0 {
		t.Fatalf("the loop ran %d commands of a transaction", ran)
	}

	t.Setenv("WALKERD_TEST_EVENT_LOOP", "no")
	plain := startServer(t, Config{})
	p := dial(t, plain.addr)
	p.must(t, "SET", "k", "v")
	p.must(t, "GET", "k")
	if loopOf(plain) != nil || plain.st.inline.Load() != 0 {
		t.Fatalf("with the loop off: loop %v, %d commands inline", loopOf(plain) != nil, plain.st.inline.Load())
	}
}

// A long pipeline that mixes what the loop runs with what it hands on
// (writes, a blocking pop that times out, MULTI, an unknown command, a
// large value) is answered exactly as redis-server answers it, in order.
func TestEventLoop_MixedPipelineAnswersAsRedis(t *testing.T) {
	s := startServer(t, Config{})
	redisAddr := startRedis(t)
	big := strings.Repeat("b", 300<<10) // spilled, and more than one write
	var cmds [][]string
	for i := range 3000 {
		k := "k" + strconv.Itoa(i%7)
		switch i % 13 {
		case 0, 3, 6:
			cmds = append(cmds, []string{"GET", k})
		case 1:
			cmds = append(cmds, []string{"SET", k, strconv.Itoa(i)})
		case 2:
			cmds = append(cmds, []string{"INCR", "n"})
		case 4:
			cmds = append(cmds, []string{"MGET", k, "n", "nokey"})
		case 5:
			cmds = append(cmds, []string{"EXISTS", k, "n"})
		case 7:
			cmds = append(cmds, []string{"PING"})
		case 8:
			cmds = append(cmds, []string{"MULTI"}, []string{"GET", "n"}, []string{"INCR", "n"}, []string{"EXEC"})
		case 9:
			cmds = append(cmds, []string{"NOSUCHCOMMAND", k})
		case 10:
			if i%130 == 10 {
				cmds = append(cmds, []string{"SET", "big", big}, []string{"GET", "big"}, []string{"BLPOP", "nolist", "0.01"})
			} else {
				cmds = append(cmds, []string{"STRLEN", k})
			}
		case 11:
			cmds = append(cmds, []string{"ECHO", k})
		case 12:
			cmds = append(cmds, []string{"TTL", k}, []string{"GET", "n"})
		}
	}
	// In pipelines of 3 commands and of 60, in turns, each sent once the
	// last is answered: a short one begins on the loop, which runs its
	// reads up to the first command it hands on; a long one goes to the
	// goroutine whole (inlineBatch).
	run := func(addr string, ts *testServer) [][]byte {
		c := dial(t, addr)
		var id int64
		if ts != nil {
			id = clientID(t, c)
		}
		var out [][]byte
		for from, i := 0, 0; from < len(cmds); i++ {
			chunk := []int{3, 60}[i%2]
			to := min(from+chunk, len(cmds))
			var in []byte
			for _, cmd := range cmds[from:to] {
				args := make([][]byte, len(cmd))
				for i, a := range cmd {
					args[i] = []byte(a)
				}
				in = append(in, encodeCommand(args)...)
			}
			if ts != nil && loopOf(ts) != nil {
				waitLoopHeld(t, ts, id)
			}
			go c.c.Write(in)
			out = append(out, readReplies(t, c, to-from, 30*time.Second)...)
			from = to
		}
		return out
	}
	want, got := run(redisAddr, nil), run(s.addr, s)
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("reply %d to %q:\nwalkerd %.200q\nredis   %.200q", i, cmds[i][0], got[i], want[i])
		}
	}
	if loopOf(s) != nil && (s.st.inline.Load() < 40 || s.st.handoffs.Load() < 40) {
		t.Fatalf("the loop ran %d commands and handed off %d times: want both, many times", s.st.inline.Load(), s.st.handoffs.Load())
	}
}

// Replies of reads run on the loop that the socket does not take wait for
// the connection's goroutine, which writes them as the client reads, and
// before the replies of anything after them; commands the client sends
// meanwhile are answered after them.
func TestEventLoop_RepliesTheSocketRefusesGoOutInOrder(t *testing.T) {
	s := startServer(t, Config{})
	big := strings.Repeat("x", 2<<20)
	admin := dial(t, s.addr)
	admin.must(t, "SET", "big", big)
	c := dial(t, s.addr)
	if loopOf(s) != nil {
		waitLoopHeld(t, s, clientID(t, c))
	}
	// Pairs of a GET of the value and an ECHO, each pair sent once the
	// server has read the last (short batches: the loop runs them while
	// it holds the connection), and no reply read until the server has
	// had to hold replies the socket refused.
	const gets = 20
	pended := s.st.pended.Load()
	for i := range gets {
		in := encodeCommand([][]byte{[]byte("GET"), []byte("big")})
		in = append(in, encodeCommand([][]byte{[]byte("ECHO"), []byte(strconv.Itoa(i))})...)
		ran := s.stats.commands.Load()
		if _, err := c.c.Write(in); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for s.stats.commands.Load() == ran && s.st.pended.Load() == pended {
			if time.Now().After(deadline) {
				t.Fatalf("pair %d: the server neither ran it nor held a reply", i)
			}
			time.Sleep(time.Millisecond)
		}
	}
	if loopOf(s) != nil && s.st.pended.Load() == pended {
		t.Fatal("the loop never held a reply the socket refused")
	}
	// Another command, sent while replies wait.
	if err := c.send([]byte("INCR"), []byte("after")); err != nil {
		t.Fatal(err)
	}
	replies := readReplies(t, c, 2*gets+1, 30*time.Second)
	wantBig := "$" + strconv.Itoa(len(big)) + "\r\n" + big + "\r\n"
	for i := range gets {
		if string(replies[2*i]) != wantBig {
			t.Fatalf("reply %d: %d bytes, not the value", 2*i, len(replies[2*i]))
		}
		if want := fmt.Sprintf("$%d\r\n%d\r\n", len(strconv.Itoa(i)), i); string(replies[2*i+1]) != want {
			t.Fatalf("reply %d: %q, want %q", 2*i+1, replies[2*i+1], want)
		}
	}
	if string(replies[2*gets]) != ":1\r\n" {
		t.Fatalf("INCR after: %q", replies[2*gets])
	}
}

// CLIENT KILL and the idle timeout end a connection the loop holds (its
// goroutine parked), and the client sees its end.
func TestEventLoop_KillAndTimeoutEndAnIdleConnection(t *testing.T) {
	s := startServer(t, Config{})
	admin := dial(t, s.addr)
	victim := dial(t, s.addr)
	id := clientID(t, victim)
	victim.must(t, "GET", "k") // then idle, held by the loop
	if got := admin.must(t, "CLIENT", "KILL", "ID", strconv.FormatInt(id, 10)); got != ":1" {
		t.Fatal(got)
	}
	victim.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := victim.c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("killed connection: read %d bytes, %v", n, err)
	}
	waitConns(t, s, 1)

	admin.must(t, "CONFIG", "SET", "timeout", "1")
	idle := dial(t, s.addr)
	idle.must(t, "PING")
	idle.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	if _, err := io.Copy(io.Discard, idle.c); err != nil && !isReset(err) {
		t.Fatalf("idle connection: %v after %v", err, time.Since(start))
	}
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Fatalf("closed after %v, before the timeout", took)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(interface{ Timeout() bool })
	return ok && ne.Timeout()
}

// waitConns waits until the server has n connections.
func waitConns(t *testing.T, s *testServer, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		s.mu.Lock()
		got := len(s.conns)
		s.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections, want %d", got, n)
		}
	}
}

// loopOf is s's event loop, nil when it is off; read once s serves.
func loopOf(s *testServer) *netloop.Loop {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.evl
}

// waitLoopHeld waits until the event loop holds connection id: its
// goroutine has yielded, and the next input goes to the loop.
func waitLoopHeld(t *testing.T, s *testServer, id int64) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		held := false
		s.mu.Lock()
		for c := range s.conns {
			if c.id == id && c.guard != nil && c.guard.ev != nil {
				held = c.guard.ev.LoopHeld()
			}
		}
		s.mu.Unlock()
		if held {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the event loop never held connection %d", id)
		}
	}
}
