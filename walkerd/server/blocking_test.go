package server

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/proc"
)

// async runs a command on its own connection and delivers its reply.
func async(t *testing.T, addr string, args ...string) <-chan string {
	t.Helper()
	c := dial(t, addr)
	out := make(chan string, 1)
	go func() {
		v, err := c.do(args...)
		if err != nil {
			out <- "error: " + err.Error()
			return
		}
		out <- format(v)
	}()
	return out
}

// waitBlocked waits until the server has n clients blocked.
func waitBlocked(t *testing.T, s *testServer, n int) {
	t.Helper()
	if err := proc.WaitFor(5*time.Second, func() error {
		if got := s.waiters.blocked(); got != n {
			return fmt.Errorf("%d clients blocked, want %d", got, n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func recv(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case got := <-ch:
		return got
	case <-time.After(10 * time.Second):
		t.Fatal("no reply within 10 s")
		return ""
	}
}

// Clients blocked on one key are served in the order they blocked, one
// element each, and INFO counts them while they wait.
func TestBlocking_FirstBlockedFirstServed(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	var waits []<-chan string
	for i := range 5 {
		waits = append(waits, async(t, s.addr, "BLPOP", "other", "q", "0"))
		waitBlocked(t, s, i+1)
	}
	if info := c.must(t, "INFO", "clients"); !strings.Contains(info, "blocked_clients:5") {
		t.Fatalf("INFO clients = %s", info)
	}
	// One push of three elements serves the first three, in order.
	if got := c.must(t, "RPUSH", "q", "a", "b", "c"); got != ":3" {
		t.Fatal(got)
	}
	for i, want := range []string{`["q", "a"]`, `["q", "b"]`, `["q", "c"]`} {
		if got := recv(t, waits[i]); got != want {
			t.Fatalf("client %d got %s, want %s", i, got, want)
		}
	}
	waitBlocked(t, s, 2)
	c.must(t, "LPUSH", "other", "x")
	if got := recv(t, waits[3]); got != `["other", "x"]` {
		t.Fatalf("client 3 got %s", got)
	}
	c.must(t, "RPUSH", "q", "d")
	if got := recv(t, waits[4]); got != `["q", "d"]` {
		t.Fatalf("client 4 got %s", got)
	}
	if got := c.must(t, "EXISTS", "q", "other"); got != ":0" {
		t.Fatalf("lists left behind: EXISTS = %s", got)
	}
}

// The timeout is in seconds with decimals; it answers a null array.
func TestBlocking_TimeoutAnswersNullArray(t *testing.T) {
	s := startServer(t, Config{})
	start := time.Now()
	got := recv(t, async(t, s.addr, "BRPOP", "q", "0.3"))
	took := time.Since(start)
	if got != "(nil array)" {
		t.Fatalf("BRPOP timeout = %s", got)
	}
	if took < 300*time.Millisecond {
		t.Fatalf("BRPOP q 0.3 answered after %v", took)
	}
	waitBlocked(t, s, 0)
	got = recv(t, async(t, s.addr, "BLMOVE", "q", "d", "LEFT", "RIGHT", "0.05"))
	if got != "(nil array)" {
		t.Fatalf("BLMOVE timeout = %s", got)
	}
}

// Inside MULTI a blocking command does not block: it answers what Redis
// answers a client that may not block.
func TestBlocking_InsideMultiDoesNotBlock(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	for _, args := range [][]string{{"MULTI"}, {"BLPOP", "q", "0"}, {"BLMOVE", "q", "d", "LEFT", "LEFT", "0"},
		{"BRPOPLPUSH", "q", "d", "0"}, {"BLMPOP", "0", "1", "q", "LEFT"}, {"RPUSH", "q", "a", "b"}, {"BLPOP", "q", "0"},
		{"BLMOVE", "q", "d", "LEFT", "LEFT", "0"}} {
		c.must(t, args...)
	}
	want := `[(nil array), (nil), (nil), (nil array), :2, ["q", "a"], "b"]`
	if got := c.must(t, "EXEC"); got != want {
		t.Fatalf("EXEC = %s, want %s", got, want)
	}
	if got := c.must(t, "LRANGE", "d", "0", "-1"); got != `["b"]` {
		t.Fatalf("d = %s", got)
	}
}

// Errors come at once, as Redis gives them.
func TestBlocking_ErrorsAreImmediate(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	c.must(t, "SET", "str", "x")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"BLPOP", "str", "0"}, "-WRONGTYPE Operation against a key holding the wrong kind of value"},
		{[]string{"BLPOP", "q", "-1"}, "-ERR timeout is negative"},
		{[]string{"BLPOP", "q", "x"}, "-ERR timeout is not a float or out of range"},
		{[]string{"BLPOP", "q", "1e300"}, "-ERR timeout is negative"}, // Redis 7.0.15's cast to long long
		{[]string{"BLPOP", "q", "inf"}, "-ERR timeout is negative"},
		{[]string{"BLMOVE", "q", "d", "LEFT", "UP", "0"}, "-ERR syntax error"},
		{[]string{"BLMPOP", "0", "0", "q", "LEFT"}, "-ERR numkeys should be greater than 0"},
		{[]string{"BLMPOP", "-1", "1", "q", "LEFT"}, "-ERR timeout is negative"},
	} {
		if got := c.must(t, tc.args...); got != tc.want {
			t.Errorf("%q = %s, want %s", tc.args, got, tc.want)
		}
	}
	waitBlocked(t, s, 0)
}

// A client that disconnects while blocked takes nothing: the element
// pushed afterwards stays in the list.
func TestBlocking_DisconnectedClientTakesNothing(t *testing.T) {
	s := startServer(t, Config{})
	gone := dial(t, s.addr)
	if err := gone.send([]byte("BLPOP"), []byte("q"), []byte("0")); err != nil {
		t.Fatal(err)
	}
	waitBlocked(t, s, 1)
	gone.c.Close()
	waitBlocked(t, s, 0)
	c := dial(t, s.addr)
	c.must(t, "RPUSH", "q", "kept")
	if got := c.must(t, "LRANGE", "q", "0", "-1"); got != `["kept"]` {
		t.Fatalf("q = %s", got)
	}
}

// An element pushed at once after a blocked client disconnects, before
// the server's poll has noticed, stays in the list too: the woken client
// finds its peer gone and pops nothing.
func TestBlocking_APushJustAfterTheDisconnectStays(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	for i := range 5 {
		q := "q" + strconv.Itoa(i)
		gone := dial(t, s.addr)
		if err := gone.send([]byte("BLPOP"), []byte(q), []byte("0")); err != nil {
			t.Fatal(err)
		}
		waitBlocked(t, s, 1)
		gone.c.Close() // its FIN is in the server's socket before the RPUSH
		if got := c.must(t, "RPUSH", q, "kept"); got != ":1" {
			t.Fatalf("RPUSH: %s", got)
		}
		waitBlocked(t, s, 0)
		waitConns(t, s, 1)
		if got := c.must(t, "LRANGE", q, "0", "-1"); got != `["kept"]` {
			t.Fatalf("a push to a list whose only waiter had gone: %s", got)
		}
	}
}

// BLMOVE and BRPOPLPUSH wake on a push, move the element, and a client
// blocked on the destination is served by the move in turn.
func TestBlocking_MoveChainsWakeEachOther(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	mover := async(t, s.addr, "BLMOVE", "a", "b", "RIGHT", "LEFT", "0")
	waitBlocked(t, s, 1)
	last := async(t, s.addr, "BRPOPLPUSH", "b", "c", "0")
	waitBlocked(t, s, 2)
	c.must(t, "LPUSH", "a", "x")
	if got := recv(t, mover); got != `"x"` {
		t.Fatalf("BLMOVE = %s", got)
	}
	if got := recv(t, last); got != `"x"` {
		t.Fatalf("BRPOPLPUSH = %s", got)
	}
	if got := c.must(t, "LRANGE", "c", "0", "-1"); got != `["x"]` {
		t.Fatalf("c = %s", got)
	}
}

// Many clients blocked on many keys, each served exactly once, the
// elements neither lost nor duplicated.
func TestBlocking_ManyClientsEachServedOnce(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	const n = 40
	var waits []<-chan string
	for i := range n {
		waits = append(waits, async(t, s.addr, "BLPOP", "k"+strconv.Itoa(i%4), "0"))
		waitBlocked(t, s, i+1)
	}
	for i := range n {
		c.must(t, "RPUSH", "k"+strconv.Itoa(i%4), "e"+strconv.Itoa(i))
	}
	seen := map[string]bool{}
	for i, w := range waits {
		got := recv(t, w)
		if seen[got] {
			t.Fatalf("client %d got %s twice", i, got)
		}
		seen[got] = true
		if want := fmt.Sprintf(`["k%d", "e%d"]`, i%4, i); got != want {
			// Clients of one key are served in the order they blocked.
			t.Errorf("client %d got %s, want %s", i, got, want)
		}
	}
	if got := c.must(t, "DBSIZE"); got != ":0" {
		t.Fatalf("DBSIZE = %s", got)
	}
}

// CLIENT UNBLOCK ends another client's wait: TIMEOUT answers as its
// timeout would, ERROR with Redis's UNBLOCKED error; a client that is not
// blocked gets 0.
func TestBlocking_ClientUnblock(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	if got := c.must(t, "CLIENT", "UNBLOCK", c.must(t, "CLIENT", "ID")[1:]); got != ":0" {
		t.Fatalf("CLIENT UNBLOCK of a client not blocked = %s", got)
	}
	for _, tc := range []struct{ how, want string }{
		{"TIMEOUT", "(nil array)"},
		{"ERROR", "-UNBLOCKED client unblocked via CLIENT UNBLOCK"},
	} {
		b := dial(t, s.addr)
		id := b.must(t, "CLIENT", "ID")[1:]
		out := make(chan string, 1)
		go func() {
			v, err := b.do("BLPOP", "q", "0")
			if err != nil {
				out <- err.Error()
				return
			}
			out <- format(v)
		}()
		waitBlocked(t, s, 1)
		if got := c.must(t, "CLIENT", "UNBLOCK", id, tc.how); got != ":1" {
			t.Fatalf("CLIENT UNBLOCK %s = %s", tc.how, got)
		}
		if got := recv(t, out); got != tc.want {
			t.Fatalf("unblocked with %s: %s, want %s", tc.how, got, tc.want)
		}
		waitBlocked(t, s, 0)
	}
	if got := c.must(t, "CLIENT", "UNBLOCK", "1", "LATER"); got != "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR" {
		t.Fatalf("bad reason: %s", got)
	}
	c.must(t, "RPUSH", "q", "kept")
	if got := c.must(t, "LLEN", "q"); got != ":1" {
		t.Fatalf("an unblocked client took an element: LLEN = %s", got)
	}
}

// A write that makes a waited-on key of another type leaves the client
// blocked, as Redis 7.0 does: only a command's first run answers
// WRONGTYPE. Its other keys still serve it.
func TestBlocking_KeyOfAnotherTypeLeavesTheClientBlocked(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	w := async(t, s.addr, "BLPOP", "a", "b", "0")
	waitBlocked(t, s, 1)
	c.must(t, "SADD", "a", "x")
	c.must(t, "ZADD", "b", "1", "m")
	c.must(t, "SET", "b", "str")
	c.must(t, "DEL", "b")
	c.must(t, "RPUSH", "b", "y")
	if got := recv(t, w); got != `["b", "y"]` {
		t.Fatalf("BLPOP a b = %s, want b's element", got)
	}
	z := async(t, s.addr, "BZPOPMIN", "zz", "0")
	waitBlocked(t, s, 1)
	c.must(t, "RPUSH", "zz", "l")
	c.must(t, "DEL", "zz")
	c.must(t, "ZADD", "zz", "2", "m")
	if got := recv(t, z); got != `["zz", "m", "2"]` {
		t.Fatalf("BZPOPMIN = %s", got)
	}
	m := async(t, s.addr, "BLMOVE", "src", "dst", "LEFT", "LEFT", "0")
	waitBlocked(t, s, 1)
	c.must(t, "HSET", "src", "f", "v")
	c.must(t, "DEL", "src")
	c.must(t, "RPUSH", "src", "e")
	if got := recv(t, m); got != `"e"` {
		t.Fatalf("BLMOVE = %s", got)
	}
	// A client may not send WALKER.SERVE itself.
	if got := c.must(t, "WALKER.SERVE", "BLPOP", "a", "0"); !strings.HasPrefix(got, "-ERR unknown command") {
		t.Fatalf("WALKER.SERVE from a client = %s", got)
	}
}
