package server

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// asyncRaft is a standalone backend that proposes as the Raft store does
// (backend.AsyncApplier): a write ApplyAsync takes applies on a goroutine
// of its own, once the test lets it when hold is set, and its answer can be
// replaced by an error; refuse makes ApplyAsync refuse.
type asyncRaft struct {
	backend.Backend
	hold     atomic.Bool
	gate     chan struct{}
	refuse   atomic.Bool
	answer   atomic.Pointer[error]
	proposed atomic.Int64 // writes ApplyAsync took
	applied  atomic.Int64 // Apply calls (the goroutine's writes)
}

func (a *asyncRaft) ReadsNow(int) bool { return true }
func (a *asyncRaft) WritesNow() bool   { return true }

func (a *asyncRaft) Apply(e *command.Entry) (*command.Result, error) {
	a.applied.Add(1)
	return a.Backend.Apply(e)
}

func (a *asyncRaft) ApplyAsync(e *command.Entry, done func(*command.Result, error)) bool {
	if a.refuse.Load() {
		return false
	}
	a.proposed.Add(1)
	go func() {
		if a.hold.Load() {
			<-a.gate
		}
		if p := a.answer.Load(); p != nil {
			done(nil, *p)
			return
		}
		done(a.Backend.Apply(e))
	}()
	return true
}

func startAsyncRaft(t *testing.T) (*testServer, *asyncRaft) {
	t.Helper()
	db, err := engine.Open(t.TempDir(), &engine.Options{Sync: engine.SyncNo})
	if err != nil {
		t.Fatal(err)
	}
	a := &asyncRaft{Backend: backend.NewStandalone(db), gate: make(chan struct{})}
	return startServerOn(t, a, Config{}), a
}

// cmdstat returns calls and failed_calls of cmd from INFO commandstats.
func cmdstat(t *testing.T, c *conn, cmd string) (calls, failed int) {
	t.Helper()
	info := c.must(t, "INFO", "commandstats")
	m := regexp.MustCompile(`cmdstat_` + cmd + `:calls=(\d+),[^\\]*?failed_calls=(\d+)`).FindStringSubmatch(info)
	if m == nil {
		return 0, 0
	}
	calls, _ = strconv.Atoi(m[1])
	failed, _ = strconv.Atoi(m[2])
	return calls, failed
}

// A write through Raft that is the last command its client sent is
// proposed from the event loop and answered there once it commits: no
// handoff to the connection's goroutine, one proposal each, the statistics
// counted once. A pipeline's writes still go to the goroutine, as one
// entry.
func TestEventLoop_RaftWritesAreProposedFromTheLoop(t *testing.T) {
	s, a := startAsyncRaft(t)
	c := dial(t, s.addr)
	c.must(t, "SET", "k", "v")
	if loopOf(s) == nil {
		t.Skip("no event loop here (not Linux, or WALKERD_TEST_EVENT_LOOP=no)")
	}
	waitLoopHeld(t, s, clientID(t, c))
	before, hb, p0, ap0 := s.st.inline.Load(), s.st.handoffs.Load(), a.proposed.Load(), a.applied.Load()
	for i := range 50 {
		if got := c.must(t, "INCR", "n"); got != ":"+strconv.Itoa(i+1) {
			t.Fatalf("INCR %d: %s", i+1, got)
		}
	}
	if got := c.must(t, "INCR", "k"); got != "-ERR value is not an integer or out of range" {
		t.Fatalf("INCR of a string: %s", got)
	}
	if ran := s.st.inline.Load() - before; ran != 51 {
		t.Fatalf("the loop ran %d of 51 INCRs", ran)
	}
	if h := s.st.handoffs.Load() - hb; h != 0 {
		t.Fatalf("%d handoffs for writes proposed from the loop", h)
	}
	if p, ap := a.proposed.Load()-p0, a.applied.Load()-ap0; p != 51 || ap != 0 {
		t.Fatalf("%d writes proposed from the loop, %d through Apply; want 51 and 0", p, ap)
	}
	if calls, failed := cmdstat(t, c, "incr"); calls != 51 || failed != 1 {
		t.Fatalf("cmdstat_incr calls=%d failed_calls=%d, want 51 and 1", calls, failed)
	}

	// A pipeline: its writes are one entry on the goroutine, replies in order.
	p0, ap0 = a.proposed.Load(), a.applied.Load()
	var batch []byte
	for _, cmd := range [][]string{{"SET", "a", "1"}, {"INCR", "a"}, {"GET", "a"}} {
		var args [][]byte
		for _, a := range cmd {
			args = append(args, []byte(a))
		}
		batch = append(batch, encodeCommand(args)...)
	}
	if _, err := c.c.Write(batch); err != nil { // in one write: one read takes them all
		t.Fatal(err)
	}
	got := readReplies(t, c, 3, 5*time.Second)
	if strings.Join([]string{string(got[0]), string(got[1]), string(got[2])}, "") != "+OK\r\n:2\r\n$1\r\n2\r\n" {
		t.Fatalf("pipeline replies %q", got)
	}
	if p := a.proposed.Load() - p0; p != 0 {
		t.Fatalf("%d writes of a pipeline proposed from the loop", p)
	}
	if ap := a.applied.Load() - ap0; ap != 1 {
		t.Fatalf("a pipeline's two writes took %d entries, want 1", ap)
	}
}

// While a write waits for its commit, its client's reply waits, the loop
// serves the others and the idle timeout spares it; the reply goes out
// once the write commits.
func TestEventLoop_ARaftWriteParksOnlyItsClient(t *testing.T) {
	s, a := startAsyncRaft(t)
	c, other := dial(t, s.addr), dial(t, s.addr)
	c.must(t, "SET", "k", "old")
	if loopOf(s) == nil {
		t.Skip("no event loop here")
	}
	waitLoopHeld(t, s, clientID(t, c))
	a.hold.Store(true)
	parked := s.st.parked.Load()
	c.sendStr(t, "SET", "k", "new")
	for deadline := time.Now().Add(5 * time.Second); s.st.parked.Load() == parked; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the write never parked")
		}
	}
	for range 20 { // the loop serves the other client meanwhile
		if got := other.must(t, "GET", "k"); got != `"old"` {
			t.Fatalf("GET while the write waits for its commit: %s", got)
		}
	}
	if reply, ok := c.readReply(t, 0); ok {
		t.Fatalf("the write was answered before it committed: %s", reply)
	}
	// The idle timeout's sweep, as if every client had been idle for an
	// hour: it spares a client whose write waits for its commit, as one
	// whose goroutine waits (a tester's clients were closed at timeout 1
	// behind a slow commit, their writes applied).
	s.closeIdle(time.Now().Add(time.Hour), 0)
	a.gate <- struct{}{}
	if reply, ok := c.readReply(t, 5*time.Second); !ok || reply != "+OK" {
		t.Fatalf("the write's reply after its commit: %q %v", reply, ok)
	}
	if got := dial(t, s.addr).must(t, "GET", "k"); got != `"new"` {
		t.Fatal(got)
	}
}

// A write the backend does not take (ApplyAsync refuses), or that raft
// refused before appending it (not the leader), runs again on the client's
// goroutine: applied once, answered once, counted once. One whose outcome
// is unknown answers -UNKNOWN.
func TestEventLoop_ARefusedRaftWriteRunsOnTheGoroutine(t *testing.T) {
	s, a := startAsyncRaft(t)
	c := dial(t, s.addr)
	c.must(t, "SET", "k", "v")
	if loopOf(s) == nil {
		t.Skip("no event loop here")
	}
	for i, how := range []string{"refused", "not the leader"} {
		waitLoopHeld(t, s, clientID(t, c))
		var err error = &backend.NotLeaderError{LeaderAddr: "127.0.0.1:1"}
		if how == "refused" {
			a.refuse.Store(true)
		} else {
			a.answer.Store(&err)
		}
		calls0, _ := cmdstat(t, c, "incr")
		waitLoopHeld(t, s, clientID(t, c))
		hb, p0, ap0 := s.st.handoffs.Load(), a.proposed.Load(), a.applied.Load()
		if got := c.must(t, "INCR", "n"); got != ":"+strconv.Itoa(i+1) {
			t.Fatalf("%s: INCR answered %s", how, got)
		}
		a.refuse.Store(false)
		a.answer.Store(nil)
		if h := s.st.handoffs.Load() - hb; h != 1 {
			t.Fatalf("%s: %d handoffs, want 1", how, h)
		}
		wantProposed := int64(1)
		if how == "refused" {
			wantProposed = 0
		}
		if p, ap := a.proposed.Load()-p0, a.applied.Load()-ap0; p != wantProposed || ap != 1 {
			t.Fatalf("%s: %d proposed from the loop, %d applied on the goroutine; want %d and 1", how, p, ap, wantProposed)
		}
		if calls, _ := cmdstat(t, c, "incr"); calls != calls0+1 {
			t.Fatalf("%s: cmdstat_incr calls went from %d to %d", how, calls0, calls)
		}
	}

	waitLoopHeld(t, s, clientID(t, c))
	var unknown error = fmt.Errorf("%w: leadership lost while committing log", backend.ErrUnknownOutcome)
	a.answer.Store(&unknown)
	got := c.must(t, "SET", "k", "w")
	a.answer.Store(nil)
	if !strings.HasPrefix(got, "-UNKNOWN ") {
		t.Fatalf("a write whose outcome is unknown answered %s", got)
	}
	if _, failed := cmdstat(t, c, "set"); failed != 1 {
		t.Fatalf("cmdstat_set failed_calls=%d, want 1", failed)
	}
}
