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
// (backend.AsyncApplier): a write ApplyAsync takes commits on a goroutine
// of its own, once the test lets it (gate) when hold is set, and is then
// applied, once the test lets it (applyGate) when holdApply is set; its
// answer can be replaced by an error; refuse makes ApplyAsync refuse.
type asyncRaft struct {
	backend.Backend
	hold      atomic.Bool
	gate      chan struct{}
	holdApply atomic.Bool
	applyGate chan struct{}
	refuse    atomic.Bool
	answer    atomic.Pointer[error]
	proposed  atomic.Int64 // writes ApplyAsync took
	applied   atomic.Int64 // Apply calls (the goroutine's writes)
	maxCmds   atomic.Int64 // the most commands an entry ApplyAsync took held
}

func (a *asyncRaft) ReadsNow(int) bool { return true }
func (a *asyncRaft) WritesNow() bool   { return true }

func (a *asyncRaft) Apply(e *command.Entry) (*command.Result, error) {
	a.applied.Add(1)
	return a.Backend.Apply(e)
}

func (a *asyncRaft) ApplyAsync(e *command.Entry, committed func(), done func(*command.Result, error)) bool {
	if a.refuse.Load() {
		return false
	}
	a.proposed.Add(1)
	if n := int64(len(e.Cmds)); n > a.maxCmds.Load() {
		a.maxCmds.Store(n) // ApplyAsync runs on the loop's thread alone
	}
	go func() {
		if a.hold.Load() {
			<-a.gate
		}
		if p := a.answer.Load(); p != nil {
			done(nil, *p)
			return
		}
		if committed != nil {
			committed()
		}
		if a.holdApply.Load() {
			<-a.applyGate
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
	a := &asyncRaft{Backend: backend.NewStandalone(db), gate: make(chan struct{}), applyGate: make(chan struct{})}
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
// counted once, and no read of the socket after a commit that finds it
// empty (quietSincePark). A pipeline's writes still go to the goroutine,
// as one entry.
func TestEventLoop_RaftWritesAreProposedFromTheLoop(t *testing.T) {
	s, a := startAsyncRaft(t)
	c := dial(t, s.addr)
	c.must(t, "SET", "k", "v")
	if loopOf(s) == nil {
		t.Skip("no event loop here (not Linux, or WALKERD_TEST_EVENT_LOOP=no)")
	}
	waitLoopHeld(t, s, clientID(t, c))
	before, hb, p0, ap0, empty := s.st.inline.Load(), s.st.handoffs.Load(), a.proposed.Load(), a.applied.Load(), s.st.emptyReads.Load()
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
	if n := s.st.emptyReads.Load() - empty; n != 0 {
		t.Fatalf("%d reads found the socket empty after 51 writes' commits", n)
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

// The writes the loop holds at the end of its turn go as one entry when
// they share a database, a user and a clock (proposeTurn), each client
// answered with its own reply: clients in databases 0 and 1 increment
// keys of the same names, and one client per round increments a string.
// A mix-up of databases doubles a counter, of replies shows a count that
// is not the client's, and the string's error reaches its client alone.
// Rounds run until an entry of several clients' writes has been seen
// (the clients' writes must reach the loop within one turn) or 10 s.
func TestEventLoop_ClientsWritesOfOneTurnShareAnEntry(t *testing.T) {
	s, a := startAsyncRaft(t)
	setup := dial(t, s.addr)
	setup.must(t, "SET", "str", "x")
	setup.must(t, "SELECT", "1")
	setup.must(t, "SET", "str", "x")
	if loopOf(s) == nil {
		t.Skip("no event loop here")
	}
	const clients = 12
	cs := make([]*conn, clients)
	for i := range cs {
		cs[i] = dial(t, s.addr)
		if got := cs[i].must(t, "SELECT", strconv.Itoa(i%2)); got != "+OK" {
			t.Fatal(got)
		}
		waitLoopHeld(t, s, clientID(t, cs[i]))
		cs[i].c.SetDeadline(time.Time{}) // must's; readReply sets its own
	}
	p0, ap0 := a.proposed.Load(), a.applied.Load()
	rounds := 0
	for deadline := time.Now().Add(10 * time.Second); a.maxCmds.Load() < 2 || rounds < 3; rounds++ {
		if time.Now().After(deadline) {
			t.Fatalf("%d rounds of %d clients' writes in 10 s, and no entry held two", rounds, clients)
		}
		odd := rounds % clients
		for i, c := range cs {
			key := "n:" + strconv.Itoa(i/2)
			if i == odd {
				key = "str"
			}
			c.sendStr(t, "INCR", key)
		}
		for i, c := range cs {
			want := ":" + strconv.Itoa(rounds+1-(rounds+clients-i)/clients)
			if i == odd {
				want = "-ERR value is not an integer or out of range"
			}
			if got, ok := c.readReply(t, 5*time.Second); !ok || got != want {
				t.Fatalf("round %d, client %d (db %d): INCR answered %q (%v), want %q", rounds, i, i%2, got, ok, want)
			}
		}
	}
	if p, ap := a.proposed.Load()-p0, a.applied.Load()-ap0; p >= int64(rounds*clients) || ap != 0 {
		t.Fatalf("%d rounds of %d writes took %d entries from the loop and %d through Apply", rounds, clients, p, ap)
	}
	for i := range clients {
		want := strconv.Itoa(rounds - (rounds+clients-1-i)/clients)
		if got := cs[i].must(t, "GET", "n:"+strconv.Itoa(i/2)); got != strconv.Quote(want) {
			t.Fatalf("db %d, n:%d = %s, want %s", i%2, i/2, got, want)
		}
	}
}

// Writes join an entry only when every node parses them alike: the same
// backend, database, ACL user and clock (their arguments were parsed at
// NowMs, as followers parse them at the entry's), and within its bounds.
func TestTurnEntry_JoinsOnlyWritesParsedAlike(t *testing.T) {
	var a1, a2 asyncRaft
	write := func(a backend.AsyncApplier, db int, user string, now int64) *pendingWrite {
		args := [][]byte{[]byte("SET"), []byte("k"), []byte("v")}
		return &pendingWrite{a: a, e: &command.Entry{NowMs: now, DB: db, User: user, Cmds: [][][]byte{args},
			Parsed: []command.Parsed{command.ParseCommand(args, now)}}}
	}
	first := write(&a1, 0, "", 1000)
	te := &turnEntry{e: first.e, a: first.a, writes: []*pendingWrite{first}, bytes: 5}
	for _, c := range []struct {
		name string
		pw   *pendingWrite
		size int
		want bool
	}{
		{"alike", write(&a1, 0, "", 1000), 5, true},
		{"another backend", write(&a2, 0, "", 1000), 5, false},
		{"another database", write(&a1, 1, "", 1000), 5, false},
		{"another user", write(&a1, 0, "u", 1000), 5, false},
		{"another millisecond", write(&a1, 0, "", 1001), 5, false},
		{"past the bytes", write(&a1, 0, "", 1000), maxTurnEntryBytes - 4, false},
	} {
		if got := te.joins(c.pw, c.size); got != c.want {
			t.Errorf("%s: joins %v, want %v", c.name, got, c.want)
		}
	}
	te.writes = make([]*pendingWrite, maxTurnEntryCmds)
	if te.joins(write(&a1, 0, "", 1000), 5) {
		t.Errorf("an entry of %d commands took one more", maxTurnEntryCmds)
	}
}

// While maxTurnEntriesInFlight of the loop's entries have not committed,
// the writes of later turns wait (proposeTurn), and go as the next entry
// as soon as the state machine reports a commit, before that entry is
// applied (its committed call wakes the loop): here the backend holds
// each entry until the test lets it commit, and then holds its apply.
func TestEventLoop_WritesWaitForAnEntrysCommit(t *testing.T) {
	s, a := startAsyncRaft(t)
	const n = maxTurnEntriesInFlight + 2
	cs := make([]*conn, n)
	for i := range cs {
		cs[i] = dial(t, s.addr)
		cs[i].must(t, "SET", "k", "v")
	}
	if loopOf(s) == nil {
		t.Skip("no event loop here")
	}
	for _, c := range cs {
		waitLoopHeld(t, s, clientID(t, c))
		c.c.SetDeadline(time.Time{})
	}
	a.hold.Store(true)
	a.holdApply.Store(true)
	released := false
	release := func() {
		if !released {
			released = true
			a.hold.Store(false)
			a.holdApply.Store(false)
			close(a.gate)
			close(a.applyGate)
		}
	}
	t.Cleanup(release) // before the server closes: it waits for the writes
	p0, parked := a.proposed.Load(), s.st.parked.Load()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 5 s", what)
			}
		}
	}
	// One write a turn until maxTurnEntriesInFlight entries are out.
	for i := range maxTurnEntriesInFlight {
		cs[i].sendStr(t, "SET", "k"+strconv.Itoa(i), "1")
		waitFor("write "+strconv.Itoa(i)+" proposed", func() bool { return a.proposed.Load() == p0+int64(i)+1 })
	}
	cs[n-2].sendStr(t, "SET", "b", "2")
	cs[n-1].sendStr(t, "INCR", "c")
	waitFor("every write parked", func() bool { return s.st.parked.Load() == parked+n })
	if p := a.proposed.Load() - p0; p != maxTurnEntriesInFlight {
		t.Fatalf("%d entries proposed while none had committed, want %d", p, maxTurnEntriesInFlight)
	}
	a.gate <- struct{}{} // one entry commits, and waits to be applied
	waitFor("the held writes proposed once an entry committed", func() bool { return a.proposed.Load() > p0+maxTurnEntriesInFlight })
	for i := range maxTurnEntriesInFlight {
		if got, ok := cs[i].readReply(t, 0); ok {
			t.Fatalf("write %d answered %s before it was applied", i, got)
		}
	}
	release()
	for i, c := range cs {
		want := "+OK"
		if i == n-1 {
			want = ":1"
		}
		if got, ok := c.readReply(t, 5*time.Second); !ok || got != want {
			t.Fatalf("write %d's reply: %q %v, want %s", i, got, ok, want)
		}
	}
	if got := cs[0].must(t, "MGET", "k0", "k1", "b", "c"); got != `["1", "1", "2", "1"]` {
		t.Fatalf("MGET: %s", got)
	}
}
