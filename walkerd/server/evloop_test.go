package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
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

// Fast reads run on the event loop's thread, and so do standalone
// writes; writes to a backend that offers neither a deferred fsync nor
// proposals without waiting (the Raft store's: commitloop_test.go) run on
// the connection's goroutine; with the loop off, nothing runs on it.
func TestEventLoop_WhatRunsOnTheLoop(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	c.must(t, "SET", "k", "v")
	if loopOf(s) == nil {
		t.Skip("no event loop here (not Linux, or WALKERD_TEST_EVENT_LOOP=no)")
	}
	waitLoopHeld(t, s, clientID(t, c))
	before, hb := s.st.inline.Load(), s.st.handoffs.Load()
	for i := range 100 {
		if got := c.must(t, "GET", "k"); got != `"v"` {
			t.Fatal(got)
		}
		if i%2 == 0 {
			c.must(t, "INCR", "n")
		}
	}
	if ran := s.st.inline.Load() - before; ran != 150 {
		t.Fatalf("the loop ran %d of 100 GETs and 50 INCRs", ran)
	}
	if h := s.st.handoffs.Load() - hb; h != 0 {
		t.Fatalf("%d commands were handed to the goroutine", h)
	}
	if got := c.must(t, "GET", "n"); got != `"50"` {
		t.Fatal(got)
	}
	// In MULTI a GET is queued on the goroutine, not run on the loop.
	before = s.st.inline.Load()
	c.must(t, "MULTI")
	c.must(t, "GET", "k")
	if got := c.must(t, "EXEC"); got != `["v"]` {
		t.Fatal(got)
	}
	if ran := s.st.inline.Load() - before; ran != 0 {
		t.Fatalf("the loop ran %d commands of a transaction", ran)
	}

	// Writes that wait for their commit.
	db, err := engine.Open(t.TempDir(), &engine.Options{Sync: engine.SyncNo})
	if err != nil {
		t.Fatal(err)
	}
	w := startServerOn(t, noDeferred{backend.NewStandalone(db)}, Config{})
	wc := dial(t, w.addr)
	wc.must(t, "SET", "k", "v")
	waitLoopHeld(t, w, clientID(t, wc))
	before, hb = w.st.inline.Load(), w.st.handoffs.Load()
	wc.must(t, "GET", "k")
	for i := range 50 {
		wc.must(t, "SET", "k", strconv.Itoa(i))
	}
	if ran := w.st.inline.Load() - before; ran != 1 {
		t.Fatalf("the loop ran %d commands, want the GET alone", ran)
	}
	// Each SET is handed on, unless the goroutine, which answers it just
	// before it yields, reads the next one itself.
	if h := w.st.handoffs.Load() - hb; h < 1 || h > 50 {
		t.Fatalf("%d handoffs for 50 SETs, one at a time", h)
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

// noDeferred is a standalone backend whose writes the loop must leave to
// the goroutines: it offers no DeferredApplier and no AsyncApplier.
type noDeferred struct{ backend.Backend }

func (noDeferred) ReadsNow(int) bool { return true }

// gatedSync is a standalone backend whose turn-end fsync (SyncDeferred)
// the test holds until it lets it go, or fails.
type gatedSync struct {
	backend.Backend
	d               backend.DeferredApplier
	hold            atomic.Bool   // SyncDeferred waits for gate
	gate            chan struct{} // one value lets one SyncDeferred through
	fail            atomic.Bool   // SyncDeferred reports an error
	applied, synced atomic.Int64  // ApplyDeferred calls; SyncDeferred calls begun
}

func newGatedSync(t *testing.T) *gatedSync {
	db, err := engine.Open(t.TempDir(), &engine.Options{Sync: engine.SyncNo})
	if err != nil {
		t.Fatal(err)
	}
	b := backend.NewStandaloneGroupCommit(db)
	return &gatedSync{Backend: b, d: b.(backend.DeferredApplier), gate: make(chan struct{}, 1)}
}

func (*gatedSync) ReadsNow(int) bool { return true }

func (b *gatedSync) ApplyDeferred(e *command.Entry) (*command.Result, error) {
	b.applied.Add(1)
	return b.d.ApplyDeferred(e)
}

func (b *gatedSync) SyncDeferred() error {
	b.synced.Add(1)
	if b.hold.Load() {
		<-b.gate
	}
	err := b.d.SyncDeferred()
	if b.fail.Load() {
		return errors.New("injected fsync failure")
	}
	return err
}

// noReplyWithin fails t if c gets a byte of reply within 200 ms.
func noReplyWithin(t *testing.T, c *conn, what string) {
	t.Helper()
	c.c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if k, err := c.c.Read(make([]byte, 1)); err == nil || !isTimeout(err) {
		t.Fatalf("%s: read %d bytes (%v), want no reply", what, k, err)
	}
}

// waitCount waits until n reaches want.
func waitCount(t *testing.T, what string, n *atomic.Int64, want int64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); n.Load() < want; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d, want %d", what, n.Load(), want)
		}
	}
}

// A write on the loop is answered only once the turn's fsync is done, as
// is everything the loop answers in that turn after it; the writes of
// every client a turn serves share one fsync; a connection handed to its
// goroutine after a write still waits for that fsync; and a failed fsync
// closes the connections it held, unanswered.
func TestEventLoop_WritesShareTheTurnsFsyncAndAnswerAfterIt(t *testing.T) {
	b := newGatedSync(t)
	s := startServerOn(t, b, Config{})
	t.Cleanup(func() { // before the server's: a failed test must not leave the loop held
		b.hold.Store(false)
		select {
		case b.gate <- struct{}{}:
		default:
		}
	})
	const n = 20
	cs := make([]*conn, n)
	for i := range cs {
		cs[i] = dial(t, s.addr)
		id := clientID(t, cs[i])
		if loopOf(s) == nil {
			t.Skip("no event loop here (not Linux, or WALKERD_TEST_EVENT_LOOP=no)")
		}
		waitLoopHeld(t, s, id)
	}
	noReplyYet := func(c *conn, what string) { t.Helper(); noReplyWithin(t, c, what+", while the fsync was held") }

	// One SET, and a GET of its key in the same batch: no reply before
	// the fsync.
	b.hold.Store(true)
	applied, synced := b.applied.Load(), b.synced.Load()
	if _, err := cs[0].c.Write(append(encodeCommand(bs("SET", "k0", "v")), encodeCommand(bs("GET", "k0"))...)); err != nil {
		t.Fatal(err)
	}
	waitCount(t, "fsyncs begun", &b.synced, synced+1)
	noReplyYet(cs[0], "SET and GET")
	// Meanwhile the other clients write: their SETs wait in the sockets
	// for the loop, then run in one turn and share one fsync. (A write
	// to a loopback socket is in its peer's queue once it returns.)
	for i := 1; i < n; i++ {
		if err := cs[i].send([]byte("SET"), []byte("k"+strconv.Itoa(i)), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	b.gate <- struct{}{}
	if got := readReplies(t, cs[0], 2, 10*time.Second); string(got[0]) != "+OK\r\n" || string(got[1]) != "$1\r\nv\r\n" {
		t.Fatalf("SET, GET: %q", got)
	}
	waitCount(t, "fsyncs begun", &b.synced, synced+2)
	if got := b.applied.Load() - applied; got != n {
		t.Fatalf("%d writes applied before the second fsync, want %d", got, n)
	}
	noReplyYet(cs[1], "the other clients' SETs")
	b.gate <- struct{}{}
	for i := 1; i < n; i++ {
		if got := readReplies(t, cs[i], 1, 10*time.Second); string(got[0]) != "+OK\r\n" {
			t.Fatalf("client %d: %q", i, got)
		}
	}
	if got := b.synced.Load() - synced; got != 2 {
		t.Fatalf("%d fsyncs for %d writes in 2 turns", got, n)
	}

	// A SET, then a command the goroutine runs: the handoff waits for
	// the SET's fsync.
	synced = b.synced.Load()
	if _, err := cs[0].c.Write(append(encodeCommand(bs("SET", "k0", "w")), encodeCommand(bs("BLPOP", "nolist", "0.01"))...)); err != nil {
		t.Fatal(err)
	}
	waitCount(t, "fsyncs begun", &b.synced, synced+1)
	noReplyYet(cs[0], "SET before BLPOP")
	b.gate <- struct{}{}
	if got := readReplies(t, cs[0], 2, 10*time.Second); string(got[0]) != "+OK\r\n" || string(got[1]) != "*-1\r\n" {
		t.Fatalf("SET, BLPOP: %q", got)
	}

	// A failed fsync: the client that wrote loses its connection without
	// a reply (its write's outcome is unknown), and a read in the same
	// turn never answers the write's value. A first turn, held, lets both
	// into the next.
	waitLoopHeld(t, s, clientID(t, cs[0]))
	synced = b.synced.Load()
	if err := cs[3].send([]byte("SET"), []byte("k3"), []byte("w")); err != nil {
		t.Fatal(err)
	}
	waitCount(t, "fsyncs begun", &b.synced, synced+1)
	if err := cs[1].send([]byte("SET"), []byte("k1"), []byte("lost?")); err != nil {
		t.Fatal(err)
	}
	if err := cs[2].send([]byte("GET"), []byte("k1")); err != nil {
		t.Fatal(err)
	}
	b.gate <- struct{}{}
	if got := readReplies(t, cs[3], 1, 10*time.Second); string(got[0]) != "+OK\r\n" {
		t.Fatalf("the turn before: %q", got)
	}
	waitCount(t, "fsyncs begun", &b.synced, synced+2)
	b.fail.Store(true)
	b.hold.Store(false)
	b.gate <- struct{}{}
	cs[1].c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if k, err := io.Copy(io.Discard, cs[1].c); k != 0 || (err != nil && !isReset(err)) {
		t.Fatalf("the writer, after a failed fsync: %d reply bytes, %v", k, err)
	}
	// The reader's GET ran after the SET (closed unanswered: the epoll
	// set reports sockets in the order they became ready) or before it
	// (nil).
	cs[2].c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if got, err := resp.ReadRaw(cs[2].r); err == nil && string(got) != "$-1\r\n" || err != nil && !errors.Is(err, io.EOF) && !isReset(err) {
		t.Fatalf("the reader, after a failed fsync: %q, %v", got, err)
	}
	b.fail.Store(false)
	if got := cs[4].must(t, "INCR", "after"); got != ":1" {
		t.Fatalf("the next turn: %s", got)
	}
}

func bs(args ...string) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = []byte(a)
	}
	return out
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

// A write on the loop reaches subscribers to keyspace events (its
// touches go to Notify's hook at the turn's end, SyncDeferred); while a
// client waits in BLPOP, writes run on the goroutines, which wake it as
// each write applies (Redis serves blocked clients after each command).
func TestEventLoop_WritesOnTheLoopNotifyAndLeaveBlockedClientsToTheGoroutines(t *testing.T) {
	s := startServer(t, Config{})
	sub, writer, blocked := dial(t, s.addr), dial(t, s.addr), dial(t, s.addr)
	writer.must(t, "CONFIG", "SET", "notify-keyspace-events", "KEA")
	if loopOf(s) == nil {
		t.Skip("no event loop here (not Linux, or WALKERD_TEST_EVENT_LOOP=no)")
	}
	if got := sub.must(t, "PSUBSCRIBE", "__keyevent@0__:*"); got != `["psubscribe", "__keyevent@0__:*", :1]` {
		t.Fatal(got)
	}
	waitLoopHeld(t, s, clientID(t, writer))
	inline := s.st.inline.Load()
	writer.must(t, "SET", "k", "v")
	if ran := s.st.inline.Load() - inline; ran != 1 {
		t.Fatalf("the loop ran %d SETs of 1", ran)
	}
	if got := readReplies(t, sub, 1, 10*time.Second); string(got[0]) != "*4\r\n$8\r\npmessage\r\n$16\r\n__keyevent@0__:*\r\n$18\r\n__keyevent@0__:set\r\n$1\r\nk\r\n" {
		t.Fatalf("the SET's event: %q", got)
	}

	if err := blocked.send([]byte("BLPOP"), []byte("list"), []byte("0")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(writer.must(t, "INFO", "clients"), "blocked_clients:1"); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("BLPOP never blocked")
		}
	}
	inline = s.st.inline.Load()
	if got := writer.must(t, "LPUSH", "list", "x"); got != ":1" {
		t.Fatal(got)
	}
	if ran := s.st.inline.Load() - inline; ran != 0 {
		t.Fatalf("the loop ran an LPUSH while a client waited in BLPOP")
	}
	if got := readReplies(t, blocked, 1, 10*time.Second); string(got[0]) != "*2\r\n$4\r\nlist\r\n$1\r\nx\r\n" {
		t.Fatalf("BLPOP: %q", got)
	}
}

// durableProbe is a standalone backend (appendfsync always) whose writes
// on the goroutines wait for the test between their apply and their
// fsync, and which counts the fsyncs run since.
type durableProbe struct {
	backend.Backend
	inner interface {
		backend.DeferredApplier
		backend.DurableReads
	}
	release chan struct{} // Apply waits for it before its fsync
	syncs   atomic.Int64  // fsyncs asked for: SyncDeferred, SyncTo
}

func (*durableProbe) ReadsNow(int) bool { return true }

func (b *durableProbe) Apply(e *command.Entry) (*command.Result, error) {
	res, err := b.inner.ApplyDeferred(e)
	if err != nil {
		return nil, err
	}
	<-b.release
	return res, b.SyncDeferred()
}

func (b *durableProbe) ApplyDeferred(e *command.Entry) (*command.Result, error) {
	return b.inner.ApplyDeferred(e)
}

func (b *durableProbe) SyncDeferred() error {
	err := b.inner.SyncDeferred()
	b.syncs.Add(1)
	return err
}

func (b *durableProbe) Unsynced() uint64      { return b.inner.Unsynced() }
func (b *durableProbe) Durable(m uint64) bool { return b.inner.Durable(m) }
func (b *durableProbe) SyncTo(m uint64) error {
	err := b.inner.SyncTo(m)
	b.syncs.Add(1)
	return err
}

// A read that sees a write not yet durable (a pipeline's writes, applied
// on a goroutine, their fsync still to come) is answered only after an
// fsync that covers it: on the loop, and on a goroutine.
func TestEventLoop_ReadsAreAnsweredOnlyWithWhatIsDurable(t *testing.T) {
	db, err := engine.Open(t.TempDir(), &engine.Options{Sync: engine.SyncNo})
	if err != nil {
		t.Fatal(err)
	}
	sb := backend.NewStandaloneGroupCommit(db)
	b := &durableProbe{Backend: sb, inner: sb.(interface {
		backend.DeferredApplier
		backend.DurableReads
	}), release: make(chan struct{})}
	s := startServerOn(t, b, Config{})
	released := false
	t.Cleanup(func() {
		if !released {
			close(b.release)
		}
	})
	r := dial(t, s.addr)
	// One GET (the loop, when it is on), then 6 (the goroutine), each
	// after a pipeline of 6 SETs from a writer of its own.
	var writers []*conn
	for round, n := range []int{1, 6} {
		w := dial(t, s.addr)
		writers = append(writers, w)
		var in []byte
		for i := range 6 {
			in = append(in, encodeCommand(bs("SET", "k", fmt.Sprintf("r%dv%d", round, i)))...)
		}
		if _, err := w.c.Write(in); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); b.inner.Unsynced() == 0; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the pipeline's writes were never applied", round)
			}
		}
		syncs := b.syncs.Load()
		var q []byte
		for range n {
			q = append(q, encodeCommand(bs("GET", "k"))...)
		}
		if _, err := r.c.Write(q); err != nil {
			t.Fatal(err)
		}
		got := readReplies(t, r, n, 10*time.Second)
		if b.syncs.Load() == syncs {
			t.Fatalf("%d GETs answered %q before any fsync covered the write they saw", n, got[0])
		}
		if want := fmt.Sprintf("$4\r\nr%dv5\r\n", round); string(got[n-1]) != want {
			t.Fatalf("%d GETs: %q, want %q last", n, got, want)
		}
		if b.inner.Unsynced() != 0 {
			t.Fatalf("%d GETs answered while the write they saw was not durable", n)
		}
	}
	released = true
	close(b.release)
	for i, w := range writers {
		if got := readReplies(t, w, 6, 10*time.Second); string(got[5]) != "+OK\r\n" {
			t.Fatalf("writer %d: %q", i, got)
		}
	}
}

// heldCheck is a backend that leads a cluster, as far as the loop can
// tell: reads at the default level run at once, and a consistent read
// waits for a leadership check that the test ends (VerifyLeaderAsync),
// as the Raft store's leader does. A consistent read on a goroutine
// (ReadBarrier(2)) is answered with barrierErr at once, and counted.
type heldCheck struct {
	backend.Backend
	mu         sync.Mutex
	checks     []func(error)
	started    atomic.Int64 // VerifyLeaderAsync calls
	barriers   atomic.Int64 // ReadBarrier(2) calls: the goroutine's checks
	barrierErr atomic.Pointer[error]
}

func (*heldCheck) ReadsNow(level int) bool { return level != 2 }

func (b *heldCheck) ReadBarrier(level int) error {
	if level != 2 {
		return nil
	}
	b.barriers.Add(1)
	if err := b.barrierErr.Load(); err != nil {
		return *err
	}
	return nil
}

func (b *heldCheck) VerifyLeaderAsync(done func(error)) bool {
	b.mu.Lock()
	b.checks = append(b.checks, done)
	b.mu.Unlock()
	b.started.Add(1)
	return true
}

// startHeldCheck starts a server over a heldCheck of an empty engine.
// Every check still waiting when the test ends is ended first, before the
// server's Close, which waits for parked reads.
func startHeldCheck(t *testing.T) (*testServer, *heldCheck) {
	t.Helper()
	db, err := engine.Open(t.TempDir(), &engine.Options{Sync: engine.SyncNo})
	if err != nil {
		t.Fatal(err)
	}
	b := &heldCheck{Backend: backend.NewStandalone(db)}
	s := startServerOn(t, b, Config{})
	t.Cleanup(func() { b.end(errors.New("the test is over")) })
	return s, b
}

// end ends every check begun so far with err, from a goroutine of its
// own, as the store's verifier does.
func (b *heldCheck) end(err error) {
	b.mu.Lock()
	checks := b.checks
	b.checks = nil
	b.mu.Unlock()
	go func() {
		for _, done := range checks {
			done(err)
		}
	}()
}

// Consistent reads wait for their leadership check on the loop, not on
// the goroutine: the batch they are in is held, unanswered, while other
// clients are served; one check covers the whole batch; input that came
// meanwhile is read once the batch has run; a failed check leaves the
// reads to the goroutine, which checks again and answers that check's
// error; at read-consistency 2 a GET waits the same way; CLIENT LIST
// shows a read that waits; after a check that ended while the client was
// kept off the loop, its next read still waits for a check of its own (a
// tester found it did not); a client that leaves while its read waits is
// let go. LEVELGET at the levels a node serves at once runs on the loop.
func TestEventLoop_ConsistentReadsWaitForTheirCheckOnTheLoop(t *testing.T) {
	s, b := startHeldCheck(t)
	c, other := dial(t, s.addr), dial(t, s.addr)
	c.must(t, "SET", "a", "1")
	c.must(t, "SET", "b", "2")
	if loopOf(s) == nil {
		t.Skip("no event loop here (not Linux, or WALKERD_TEST_EVENT_LOOP=no)")
	}
	id := clientID(t, c)
	waitLoopHeld(t, s, id)
	noReplyYet := func(c *conn, what string) { t.Helper(); noReplyWithin(t, c, what+", while the check ran") }
	replies := func(c *conn, want ...string) {
		t.Helper()
		for i, r := range readReplies(t, c, len(want), 5*time.Second) {
			if string(r) != want[i] {
				t.Fatalf("reply %d: %q, want %q", i+1, r, want[i])
			}
		}
	}

	// One batch, two consistent reads and a GET: one check, no reply
	// until it ends.
	parked, handoffs, inline := s.st.parked.Load(), s.st.handoffs.Load(), s.st.inline.Load()
	batch := append(encodeCommand(bs("LEVELGET", "a", "2")), encodeCommand(bs("GET", "b"))...)
	batch = append(batch, encodeCommand(bs("LEVELGET", "b", "consistent"))...)
	if _, err := c.c.Write(batch); err != nil {
		t.Fatal(err)
	}
	waitCount(t, "checks begun", &b.started, 1)
	noReplyYet(c, "the batch")
	if got := other.must(t, "GET", "a"); got != `"1"` { // the loop serves others meanwhile
		t.Fatal(got)
	}
	// A consistent read sent while the batch waits came after its check
	// began: it waits for a check of its own.
	if err := c.send([]byte("LEVELGET"), []byte("a"), []byte("2")); err != nil {
		t.Fatal(err)
	}
	noReplyYet(c, "the batch and a read sent after it")
	b.end(nil)
	replies(c, "$1\r\n1\r\n", "$1\r\n2\r\n", "$1\r\n2\r\n")
	waitCount(t, "checks begun", &b.started, 2)
	noReplyYet(c, "the read sent while the batch waited")
	b.end(nil)
	replies(c, "$1\r\n1\r\n")
	if n := b.started.Load(); n != 2 {
		t.Fatalf("%d checks for two batches", n)
	}
	if n := s.st.parked.Load() - parked; n != 2 {
		t.Fatalf("parked %d times, want 2", n)
	}
	if h, ran := s.st.handoffs.Load()-handoffs, s.st.inline.Load()-inline; h != 0 || ran < 4 {
		t.Fatalf("%d handoffs and %d commands inline, want 0 and the 4 of the client (and the other's GET)", h, ran)
	}
	if n := b.barriers.Load(); n != 0 {
		t.Fatalf("%d consistent reads checked on a goroutine", n)
	}

	// LEVELGET at the levels this node serves at once runs on the loop,
	// without a check.
	handoffs, inline = s.st.handoffs.Load(), s.st.inline.Load()
	for _, level := range []string{"0", "default", "1", "stale"} {
		if got := c.must(t, "LEVELGET", "a", level); got != `"1"` {
			t.Fatalf("LEVELGET a %s: %s", level, got)
		}
	}
	if h, ran := s.st.handoffs.Load()-handoffs, s.st.inline.Load()-inline; h != 0 || ran != 4 || b.started.Load() != 2 {
		t.Fatalf("%d handoffs, %d commands inline and %d checks, want 0, 4 and 2", h, ran, b.started.Load())
	}

	// A failed check: the read goes to the goroutine, which checks again
	// (here: refused) and answers that, never the value.
	refusal := error(command.Error("CLUSTERDOWN the test's check failed"))
	b.barrierErr.Store(&refusal)
	if err := c.send([]byte("LEVELGET"), []byte("a"), []byte("2")); err != nil {
		t.Fatal(err)
	}
	waitCount(t, "checks begun", &b.started, 3)
	b.end(errors.New("leadership lost"))
	replies(c, "-CLUSTERDOWN the test's check failed\r\n")
	if n := b.barriers.Load(); n != 1 {
		t.Fatalf("the goroutine checked %d times, want 1", n)
	}
	b.barrierErr.Store(nil)

	// read-consistency 2: a GET waits for a check too.
	c.must(t, "CONFIG", "SET", "read-consistency", "2")
	waitLoopHeld(t, s, clientID(t, c))
	if err := c.send([]byte("GET"), []byte("b")); err != nil {
		t.Fatal(err)
	}
	waitCount(t, "checks begun", &b.started, 4)
	noReplyYet(c, "a GET at read-consistency 2")
	b.end(nil)
	replies(c, "$1\r\n2\r\n")
	c.must(t, "CONFIG", "SET", "read-consistency", "0")
	waitLoopHeld(t, s, id) // else the goroutine that ran CONFIG SET may read the next read itself

	// A check that ends once the client's state keeps its commands off
	// the loop (an output limit for normal clients, set meanwhile): the
	// goroutine runs the batch, and the client's next consistent read
	// waits for a check of its own. Meanwhile CLIENT LIST shows the read.
	if err := c.send([]byte("LEVELGET"), []byte("a"), []byte("2")); err != nil {
		t.Fatal(err)
	}
	waitCount(t, "checks begun", &b.started, 5)
	line := other.must(t, "CLIENT", "LIST", "ID", itoa(id))
	for _, want := range []string{" cmd=levelget ", " argv-mem=10 ", " qbuf=32 "} {
		if !strings.Contains(line, want) {
			t.Fatalf("CLIENT LIST of a client whose read waits: %s, want %q", line, want)
		}
	}
	other.must(t, "CONFIG", "SET", "client-output-buffer-limit", "normal 100mb 0 0")
	b.end(nil)
	replies(c, "$1\r\n1\r\n")
	other.must(t, "CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0")
	waitLoopHeld(t, s, id)
	if err := c.send([]byte("LEVELGET"), []byte("a"), []byte("2")); err != nil {
		t.Fatal(err)
	}
	waitCount(t, "checks begun", &b.started, 6)
	noReplyYet(c, "a read after a check that ended off the loop")
	b.end(nil)
	replies(c, "$1\r\n1\r\n")

	// A client that leaves while its read waits.
	gone := dial(t, s.addr)
	waitLoopHeld(t, s, clientID(t, gone))
	clients := s.clientCount()
	if err := gone.send([]byte("LEVELGET"), []byte("a"), []byte("2")); err != nil {
		t.Fatal(err)
	}
	waitCount(t, "checks begun", &b.started, 7)
	gone.c.Close()
	b.end(nil)
	waitFor(t, func() bool { return s.clientCount() == clients-1 })
	if got := other.must(t, "GET", "a"); got != `"1"` {
		t.Fatal(got)
	}
}

// A client at -P 1 whose consistent read was parked is not read again
// once the read has run, unless something came meanwhile: its socket was
// drained when the read parked, and epoll reported no input since, so a
// read would only find it empty (event_loop_empty_reads). A read sent
// while the first waits is still read, and waits for a check of its own.
func TestEventLoop_ParkedReadsCostNoEmptyRead(t *testing.T) {
	s, b := startHeldCheck(t)
	c := dial(t, s.addr)
	c.must(t, "SET", "a", "1")
	if loopOf(s) == nil {
		t.Skip("no event loop here (not Linux, or WALKERD_TEST_EVENT_LOOP=no)")
	}
	waitLoopHeld(t, s, clientID(t, c))
	reply := func(want string) {
		t.Helper()
		if r := readReplies(t, c, 1, 5*time.Second); string(r[0]) != want {
			t.Fatalf("reply %q, want %q", r[0], want)
		}
	}
	const rounds = 20
	parked, empty, checks := s.st.parked.Load(), s.st.emptyReads.Load(), b.started.Load()
	for i := range rounds {
		if err := c.send([]byte("LEVELGET"), []byte("a"), []byte("2")); err != nil {
			t.Fatal(err)
		}
		checks++
		waitCount(t, "checks begun", &b.started, checks)
		if i%4 == 3 { // one sent while it waits: read once the first has run
			if err := c.send([]byte("LEVELGET"), []byte("a"), []byte("2")); err != nil {
				t.Fatal(err)
			}
			noReplyWithin(t, c, "the check ran")
			b.end(nil)
			reply("$1\r\n1\r\n")
			checks++
			waitCount(t, "checks begun", &b.started, checks)
		}
		b.end(nil)
		reply("$1\r\n1\r\n")
	}
	if n := s.st.parked.Load() - parked; n != rounds+rounds/4 {
		t.Fatalf("parked %d times, want %d", n, rounds+rounds/4)
	}
	if n := s.st.emptyReads.Load() - empty; n != 0 {
		t.Fatalf("%d reads found the socket empty over %d parked reads", n, rounds+rounds/4)
	}
}

// INFO stats shows the loop's counters: event_loop_commands counts the
// commands run on the loop, event_loop_handoffs the batches handed to the
// goroutine (a pipeline here), and CONFIG RESETSTAT zeroes them.
func TestEventLoop_InfoCountsWhatRanOnTheLoop(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	c.must(t, "SET", "k", "v")
	if loopOf(s) == nil {
		t.Skip("no event loop here (not Linux, or WALKERD_TEST_EVENT_LOOP=no)")
	}
	waitLoopHeld(t, s, clientID(t, c))
	field := func(name string) int64 {
		t.Helper()
		v, err := strconv.ParseInt(infoOf(t, c, "stats")["stats"][name], 10, 64)
		if err != nil {
			t.Fatalf("INFO stats %s: %v", name, err)
		}
		return v
	}
	c.must(t, "CONFIG", "RESETSTAT")
	// INFO and CONFIG run on the goroutine; a GET or SET alone on the loop.
	if n := field("event_loop_commands"); n != 0 {
		t.Fatalf("event_loop_commands %d after CONFIG RESETSTAT", n)
	}
	waitLoopHeld(t, s, clientID(t, c)) // back on the loop after INFO
	for range 10 {
		c.must(t, "GET", "k")
	}
	if n := field("event_loop_commands"); n != 10 {
		t.Fatalf("event_loop_commands %d after 10 GETs", n)
	}
	// A long pipeline goes to the goroutine whole (inlineBatch).
	h0 := field("event_loop_handoffs")
	waitLoopHeld(t, s, clientID(t, c))
	var in []byte
	for i := range 100 {
		in = append(in, encodeCommand([][]byte{[]byte("SET"), []byte("p" + strconv.Itoa(i)), []byte("v")})...)
	}
	go c.c.Write(in)
	for i, r := range readReplies(t, c, 100, 10*time.Second) {
		if string(r) != "+OK\r\n" {
			t.Fatalf("pipelined SET %d: %q", i, r)
		}
	}
	if h := field("event_loop_handoffs") - h0; h < 1 {
		t.Fatalf("event_loop_handoffs moved by %d for a pipeline of 100", h)
	}
	if _, ok := infoOf(t, c, "stats")["stats"]["event_loop_parked"]; !ok {
		t.Fatal("INFO stats has no event_loop_parked")
	}
}
