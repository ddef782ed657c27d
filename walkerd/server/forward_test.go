package server

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
	"github.com/walkerdb/walkerdb/walkerd/nodelink"
)

// follower is a Backend that is not the leader: writes and non-stale reads
// go to the leader it names. Its own engine (for stale reads) is empty.
type follower struct {
	backend.Backend
	leader  atomic.Pointer[string]
	outcome error // what Apply returns instead of NotLeaderError, if set
}

func newFollower(t *testing.T, leader string) *follower {
	db, err := engine.Open(t.TempDir(), &engine.Options{Sync: engine.SyncNo})
	if err != nil {
		t.Fatal(err)
	}
	f := &follower{Backend: backend.NewStandalone(db)}
	f.leader.Store(&leader)
	return f
}

func (f *follower) notLeader() error { return &backend.NotLeaderError{LeaderAddr: *f.leader.Load()} }

func (f *follower) Apply(e *command.Entry) (*command.Result, error) {
	if f.outcome != nil {
		return nil, f.outcome
	}
	return nil, f.notLeader()
}

func (f *follower) ReadBarrier(level int) error {
	if level == 1 {
		return nil
	}
	return f.notLeader()
}

func (f *follower) InfoRaft() string { return "raft_state:follower\r\n" }

// Leader is the leader the follower names.
func (f *follower) Leader() (backend.Member, bool, error) {
	a := *f.leader.Load()
	return backend.Member{RESPAddr: a}, a != "", nil
}

func (f *follower) Join(id, raftAddr, respAddr string) error { return f.notLeader() }
func (f *follower) Leave(id string) error                    { return f.notLeader() }

// dialForwarder opens a connection per command (and AUTHs when told).
type dialForwarder struct {
	pass  string
	links *nodelink.Config
	calls atomic.Int64
	fail  error
	// failNext, when set, fails the next call with it, once.
	failNext atomic.Pointer[error]
}

func (d *dialForwarder) Do(addr string, args [][]byte) ([]byte, error) {
	d.calls.Add(1)
	if d.fail != nil {
		return nil, d.fail
	}
	if err := d.failNext.Swap(nil); err != nil {
		return nil, *err
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", backend.ErrNotSent, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	if d.pass != "" {
		c.Write(encodeCommand([][]byte{[]byte("AUTH"), []byte(d.pass)}))
		if raw, err := resp.ReadRaw(r); err != nil || string(raw) != "+OK\r\n" {
			return nil, fmt.Errorf("auth: %q %v", raw, err)
		}
	}
	if err := d.links.LinkRESP(c, r); err != nil { // link.go: WALKER.APPLY/FORWARD need a node link
		return nil, err
	}
	if _, err := c.Write(encodeCommand(args)); err != nil {
		return nil, err
	}
	return resp.ReadRaw(r)
}

func startPair(t *testing.T, pass string) (leader, follow *testServer, f *follower, fw *dialForwarder) {
	leader = startServer(t, Config{RequirePass: pass, Links: &nodelink.Config{}})
	f = newFollower(t, leader.addr)
	fw = &dialForwarder{pass: pass}
	follow = startServerOn(t, f, Config{RequirePass: pass, Forwarder: fw})
	return leader, follow, f, fw
}

func TestForwarding_WritesAndReadsGoToTheLeader(t *testing.T) {
	leader, follow, _, fw := startPair(t, "pw")
	lc, fc := dial(t, leader.addr), dial(t, follow.addr)
	lc.must(t, "AUTH", "pw")
	if got := fc.must(t, "SET", "k", "v"); got != "-NOAUTH Authentication required." {
		t.Fatalf("unauthenticated: %s", got)
	}
	fc.must(t, "AUTH", "pw")
	steps := []struct {
		c    *conn
		args []string
		want string
	}{
		{fc, []string{"SET", "k", "v"}, "+OK"},
		{lc, []string{"GET", "k"}, `"v"`},
		{fc, []string{"GET", "k"}, `"v"`},                 // default level: the leader's state
		{fc, []string{"LEVELGET", "k", "stale"}, "(nil)"}, // stale: the follower's own (empty) engine
		{fc, []string{"LEVELGET", "k", "2"}, `"v"`},
		{fc, []string{"LEVELGET", "k", "9"}, "-ERR invalid consistency level: want 0/default, 1/stale or 2/consistent"},
		{fc, []string{"SET", "k", "v", "FOO"}, "-ERR syntax error"}, // refused before forwarding
		{fc, []string{"SELECT", "3"}, "+OK"},
		{fc, []string{"SET", "k", "three"}, "+OK"},
		{lc, []string{"GET", "k"}, `"v"`},
		{fc, []string{"GET", "k"}, `"three"`},
		{fc, []string{"MULTI"}, "+OK"},
		{fc, []string{"INCR", "n"}, "+QUEUED"},
		{fc, []string{"CLIENT", "SETNAME", "x"}, "+QUEUED"},
		{fc, []string{"INCR", "n"}, "+QUEUED"},
		{fc, []string{"EXEC"}, "[:1, +OK, :2]"},
		{fc, []string{"CLIENT", "GETNAME"}, `"x"`},
		{fc, []string{"DBSIZE"}, ":2"},
		// Read subcommands are forwarded as themselves.
		{fc, []string{"RPUSH", "l", "a"}, ":1"},
		{fc, []string{"OBJECT", "ENCODING", "l"}, `"quicklist"`},
		{fc, []string{"XADD", "s", "1-1", "f", "v"}, `"1-1"`},
		{fc, []string{"XINFO", "GROUPS", "s"}, "[]"},
		{fc, []string{"XINFO", "NOPE", "s"}, "-ERR unknown subcommand 'NOPE'. Try XINFO HELP."},
		// A client's connection is not a node link (link_test.go).
		{fc, []string{"WALKER.APPLY", "garbage", "default"}, "-" + errNotLinked},
		{fc, []string{"WALKER.FORWARD", "7", "0", "default", "GET", "k"}, "-" + errNotLinked},
		{fc, []string{"INFO", "replication"}, `"# Replication\r\nrole:slave\r\nmaster_host:\r\nmaster_port:\r\nmaster_link_status:down\r\n` +
			`master_sync_in_progress:0\r\nslave_read_repl_offset:0\r\nslave_repl_offset:0\r\nslave_read_only:1\r\nconnected_slaves:0\r\nmaster_repl_offset:0\r\n"`},
	}
	for i, s := range steps {
		if got := s.c.must(t, s.args...); got != s.want {
			t.Errorf("step %d %q: got %s, want %s", i, s.args, got, s.want)
		}
	}
	if fw.calls.Load() == 0 {
		t.Fatal("nothing was forwarded")
	}
}

func TestForwarding_WatchUsesTheLeadersVersions(t *testing.T) {
	leader, follow, _, _ := startPair(t, "")
	lc, fc := dial(t, leader.addr), dial(t, follow.addr)
	lc.must(t, "SET", "k", "1")
	fc.must(t, "WATCH", "k")
	lc.must(t, "SET", "k", "2")
	fc.must(t, "MULTI")
	fc.must(t, "SET", "k", "3")
	if got := fc.must(t, "EXEC"); got != "(nil array)" {
		t.Fatalf("EXEC after a conflicting write = %s", got)
	}
	fc.must(t, "WATCH", "k")
	fc.must(t, "MULTI")
	fc.must(t, "SET", "k", "4")
	if got := fc.must(t, "EXEC"); got != "[+OK]" {
		t.Fatalf("EXEC = %s", got)
	}
	if got := lc.must(t, "GET", "k"); got != `"4"` {
		t.Fatalf("GET = %s", got)
	}
}

func TestForwarding_LargeRepliesAndPipelines(t *testing.T) {
	leader, follow, _, _ := startPair(t, "")
	fc := dial(t, follow.addr)
	big := strings.Repeat("x", 1<<20)
	if got := fc.must(t, "SET", "big", big); got != "+OK" {
		t.Fatal(got)
	}
	v, err := fc.do("GET", "big")
	if err != nil || string(v.Str) != big {
		t.Fatalf("GET big through the follower: %d bytes, %v", len(v.Str), err)
	}
	// A pipeline through the follower: replies in order.
	var in []byte
	for i := range 200 {
		in = append(in, encodeCommand([][]byte{[]byte("SET"), []byte(fmt.Sprint("p", i)), []byte(fmt.Sprint(i))})...)
		in = append(in, encodeCommand([][]byte{[]byte("GET"), []byte(fmt.Sprint("p", i))})...)
	}
	go fc.c.Write(in)
	for i := range 200 {
		if v, err := readValue(fc); err != nil || format(v) != "+OK" {
			t.Fatalf("SET %d: %s %v", i, format(v), err)
		}
		if v, err := readValue(fc); err != nil || string(v.Str) != fmt.Sprint(i) {
			t.Fatalf("GET %d: %s %v", i, format(v), err)
		}
	}
	// SCAN through the follower: the cursors live on the leader.
	seen := 0
	cursor := "0"
	for {
		v, err := fc.do("SCAN", cursor, "COUNT", "7")
		if err != nil || v.Kind != '*' {
			t.Fatalf("SCAN: %s %v", format(v), err)
		}
		seen += len(v.Elems[1].Elems)
		cursor = string(v.Elems[0].Str)
		if cursor == "0" {
			break
		}
	}
	if want := dial(t, leader.addr).must(t, "DBSIZE"); fmt.Sprint(":", seen) != want {
		t.Fatalf("SCAN saw %d keys, DBSIZE %s", seen, want)
	}
}

func TestForwarding_ErrorsAreExplicit(t *testing.T) {
	_, follow, f, fw := startPair(t, "")
	fc := dial(t, follow.addr)
	empty := ""
	f.leader.Store(&empty)
	if got := fc.must(t, "SET", "k", "v"); got != "-CLUSTERDOWN no leader" {
		t.Errorf("no leader, write: %s", got)
	}
	if got := fc.must(t, "GET", "k"); got != "-CLUSTERDOWN no leader" {
		t.Errorf("no leader, read: %s", got)
	}
	gone := "127.0.0.1:1"
	f.leader.Store(&gone)
	if got := fc.must(t, "SET", "k", "v"); !strings.HasPrefix(got, "-CLUSTERDOWN leader unreachable") {
		t.Errorf("unreachable leader: %s", got)
	}
	fw.fail = errors.New("connection reset")
	if got := fc.must(t, "SET", "k", "v"); !strings.HasPrefix(got, "-UNKNOWN ") {
		t.Errorf("lost forwarded write: %s", got)
	}
	fw.fail = nil
	f.outcome = fmt.Errorf("raft: %w", backend.ErrUnknownOutcome)
	if got := fc.must(t, "INCR", "n"); !strings.HasPrefix(got, "-UNKNOWN ") {
		t.Errorf("unknown outcome: %s", got)
	}
	f.outcome = errors.New("disk on fire")
	if got := fc.must(t, "INCR", "n"); got != "-ERR disk on fire" {
		t.Errorf("other error: %s", got)
	}
}

// A leader that lost leadership answers forwarded commands with an error
// instead of forwarding them again.
func TestForwarding_ForwardedCommandsAreNotForwardedTwice(t *testing.T) {
	a := newFollower(t, "")
	fw := &dialForwarder{}
	s := startServerOn(t, a, Config{Forwarder: fw, Links: &nodelink.Config{}})
	self := s.addr
	a.leader.Store(&self) // it names itself: a loop, if it forwarded again
	c := dial(t, s.addr)
	if got := c.must(t, "SET", "k", "v"); got != "-CLUSTERDOWN not the leader (leadership moved)" {
		t.Fatalf("SET = %s", got)
	}
	if got := c.must(t, "GET", "k"); got != "-CLUSTERDOWN not the leader (leadership moved)" {
		t.Fatalf("GET = %s", got)
	}
	// The forwarded node answered each time without forwarding again (a
	// loop would hold the reply past the client's deadline); the node the
	// client reached sent it again for leaderWait, as after a hand-over.
	if n := fw.calls.Load(); n < 2 {
		t.Fatalf("%d forwards, want at least 2", n)
	}
}

// A write forwarded to a node that has just handed leadership over (it
// answers that it no longer leads: not appended) is sent again to the
// leader the follower sees next, and the client gets its reply, not
// CLUSTERDOWN.
func TestForwarding_AWriteFollowsAHandOver(t *testing.T) {
	h := newHandOver(t)
	h.learnAfterFirstForward(false)
	if got := h.client.must(t, "SET", "k", "v"); got != "+OK" {
		t.Fatalf("SET across a hand-over = %s", got)
	}
	if got := dial(t, h.leader.addr).must(t, "GET", "k"); got != `"v"` {
		t.Fatalf("GET at the new leader = %s", got)
	}
	if n := h.fw.calls.Load(); n < 2 {
		t.Fatalf("%d forwards, want the refused one, then the new leader", n)
	}
}

// A read forwarded so is sent again too, at the default and at the
// consistent level: a tester saw LEVELGET key 2 answer CLUSTERDOWN during
// RAFT.TRANSFER, while the writes beside it were waited out.
func TestForwarding_AReadFollowsAHandOver(t *testing.T) {
	h := newHandOver(t)
	dial(t, h.leader.addr).must(t, "SET", "k", "v")
	for i, cmd := range [][]string{{"GET", "k"}, {"LEVELGET", "k", "2"}, {"LEVELGET", "k", "consistent"}} {
		h.f.leader.Store(&h.gone)
		before := h.fw.calls.Load()
		h.learnAfterFirstForward(i == 2) // the last time with an election between
		if got := h.client.must(t, cmd...); got != `"v"` {
			t.Fatalf("%q across a hand-over = %s", cmd, got)
		}
		if n := h.fw.calls.Load() - before; n < 2 {
			t.Fatalf("%q: %d forwards, want the refused one, then the new leader", cmd, n)
		}
	}
}

// A read whose forward fails goes again to the leader the follower knows
// next, within leaderWait, as a read the old leader refused does: a tester
// saw a follower's pipelined GET answer "CLUSTERDOWN forwarding to the
// leader failed: ... leadership moved" during RAFT.TRANSFER (the link
// dropped under it, forward.Pool.Drop), and reads fail the same way while
// a killed leader refuses connections or a frozen new one never finishes
// the link's handshake. A read changes nothing, so it may run twice. JOIN
// and SCRIPT or FUNCTION KILL may have run, and answer the failure.
func TestForwarding_AReadWhoseForwardFailedGoesToTheNextLeader(t *testing.T) {
	h := newHandOver(t)
	dial(t, h.leader.addr).must(t, "SET", "k", "v")
	failures := []error{
		fmt.Errorf("forward: connection to leader lost: forward: leadership moved from %s", h.gone),
		fmt.Errorf("%w: dial tcp %s: connect: connection refused", backend.ErrNotSent, h.gone),
		fmt.Errorf("%w: nodelink: WALKER.LINK HELLO: i/o timeout", backend.ErrNotSent),
		errors.New("forward: connection to leader lost: EOF"),
	}
	for _, failure := range failures {
		for _, cmd := range [][]string{{"GET", "k"}, {"LEVELGET", "k", "2"}} {
			h.f.leader.Store(&h.gone)
			h.fw.failNext.Store(&failure)
			before := h.fw.calls.Load()
			h.learnAfterFirstForward(false)
			if got := h.client.must(t, cmd...); got != `"v"` {
				t.Fatalf("%q whose forward failed (%v) = %s", cmd, failure, got)
			}
			if n := h.fw.calls.Load() - before; n < 2 {
				t.Fatalf("%q: %d forwards, want the failed one, then the new leader", cmd, n)
			}
		}
	}
	for _, cmd := range [][]string{{"JOIN", "n9", "127.0.0.1:1", "127.0.0.1:2"}, {"SCRIPT", "KILL"}, {"FUNCTION", "KILL"}} {
		h.f.leader.Store(&h.gone)
		h.fw.failNext.Store(&failures[0])
		before := h.fw.calls.Load()
		if got := h.client.must(t, cmd...); got != "-"+forwardFailed+failures[0].Error() {
			t.Fatalf("%q whose forward failed = %s, want the failure", cmd, got)
		}
		if n := h.fw.calls.Load() - before; n != 1 {
			t.Fatalf("%q: %d forwards, want 1", cmd, n)
		}
	}
}

// A MULTI/EXEC of reads through a follower is an entry like a write's,
// but a second apply of it changes nothing: when its forward's outcome is
// lost, or the forward never left, it goes again to the next known leader,
// as a read does, and answers the reads; so when the leader it reached
// lost its outcome. A transaction that writes answers
// the failure after one forward, as before. A read-only transaction whose
// outcome keeps being lost here, until leaderWait, says it changed nothing
// rather than that a write's outcome is unknown.
func TestForwarding_AReadOnlyTransactionIsSentAgain(t *testing.T) {
	h := newHandOver(t)
	dial(t, h.leader.addr).must(t, "SET", "k", "v")
	tx := func(cmds ...[]string) string {
		t.Helper()
		h.client.must(t, "MULTI")
		for _, c := range cmds {
			if got := h.client.must(t, c...); got != "+QUEUED" {
				t.Fatalf("%q in MULTI = %s", c, got)
			}
		}
		return h.client.must(t, "EXEC")
	}
	lost := errors.New("forward: connection to leader lost: EOF")
	refused := fmt.Errorf("%w: dial tcp %s: connect: connection refused", backend.ErrNotSent, h.gone)
	for _, failure := range []error{lost, refused} {
		h.f.leader.Store(&h.gone)
		h.fw.failNext.Store(&failure)
		before := h.fw.calls.Load()
		h.learnAfterFirstForward(false)
		if got := tx([]string{"GET", "k"}, []string{"EXISTS", "k"}, []string{"PING"}); got != `["v", :1, +PONG]` {
			t.Fatalf("read-only EXEC whose forward failed (%v) = %s", failure, got)
		}
		if n := h.fw.calls.Load() - before; n < 2 {
			t.Fatalf("read-only EXEC: %d forwards, want the failed one, then the new leader", n)
		}
	}
	h.f.leader.Store(&h.gone)
	h.fw.failNext.Store(&lost)
	before := h.fw.calls.Load()
	if got := tx([]string{"GET", "k"}, []string{"INCR", "n"}); !strings.HasPrefix(got, "-"+unknownOutcome) {
		t.Fatalf("EXEC with a write whose forward was lost = %s, want UNKNOWN", got)
	}
	if n := h.fw.calls.Load() - before; n != 1 {
		t.Fatalf("EXEC with a write: %d forwards, want 1", n)
	}

	// The old leader lost leadership with the forwarded transaction in
	// flight (WALKER.APPLY): it answers UNKNOWN, and the follower sends it
	// again.
	h.old.outcome = fmt.Errorf("raft: %w", backend.ErrUnknownOutcome)
	h.f.leader.Store(&h.gone)
	before = h.fw.calls.Load()
	h.learnAfterFirstForward(false)
	if got := tx([]string{"GET", "k"}); got != `["v"]` {
		t.Fatalf("read-only EXEC the old leader lost = %s", got)
	}
	if n := h.fw.calls.Load() - before; n < 2 {
		t.Fatalf("read-only EXEC the old leader lost: %d forwards, want 2", n)
	}

	h.f.outcome = fmt.Errorf("raft: %w", backend.ErrUnknownOutcome)
	start := time.Now()
	if got := tx([]string{"GET", "k"}); got != "-"+readOnlyLostText {
		t.Fatalf("read-only EXEC whose outcome keeps being lost = %s", got)
	}
	if took := time.Since(start); took < leaderWait-100*time.Millisecond {
		t.Fatalf("read-only EXEC gave up after %v, before leaderWait (%v)", took, leaderWait)
	}
	if got := tx([]string{"INCR", "n"}); !strings.HasPrefix(got, "-"+unknownOutcome) {
		t.Fatalf("EXEC with a write whose outcome was lost = %s, want UNKNOWN", got)
	}
}

// A read whose forwards keep failing answers the last failure once
// leaderWait has passed, having tried again meanwhile.
func TestForwarding_AReadGivesUpAfterLeaderWait(t *testing.T) {
	_, follow, _, fw := startPair(t, "")
	fw.fail = errors.New("forward: connection to leader lost: connection reset by peer")
	start := time.Now()
	if got := dial(t, follow.addr).must(t, "GET", "k"); got != "-"+forwardFailed+fw.fail.Error() {
		t.Fatalf("GET with every forward failing = %s", got)
	}
	if took := time.Since(start); took < leaderWait-100*time.Millisecond {
		t.Fatalf("GET gave up after %v, before leaderWait (%v)", took, leaderWait)
	}
	if n := fw.calls.Load(); n < 3 {
		t.Fatalf("%d forwards, want it tried again meanwhile", n)
	}
}

// handOver is a follower whose leader has just handed leadership over:
// the node it names (gone) answers that it no longer leads, until
// learnAfterFirstForward has it name the new leader.
type handOver struct {
	leader *testServer
	f      *follower
	fw     *dialForwarder
	gone   string
	old    *follower // the backend of the node at gone
	client *conn     // connected to the follower
}

func newHandOver(t *testing.T) *handOver {
	leader := startServer(t, Config{Links: &nodelink.Config{}})
	old := newFollower(t, "")
	oldSrv := startServerOn(t, old, Config{Forwarder: &dialForwarder{}, Links: &nodelink.Config{}})
	gone := oldSrv.addr
	old.leader.Store(&gone) // it names itself: it answers leadership moved
	f := newFollower(t, gone)
	fw := &dialForwarder{}
	follow := startServerOn(t, f, Config{Forwarder: fw})
	return &handOver{leader: leader, f: f, fw: fw, gone: gone, old: old, client: dial(t, follow.addr)}
}

// learnAfterFirstForward has the follower learn the new leader 20 ms
// after its next forward; with election, it knows no leader for 50 ms
// in between.
func (h *handOver) learnAfterFirstForward(election bool) {
	before := h.fw.calls.Load()
	go func() {
		for h.fw.calls.Load() == before {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond)
		if election {
			none := ""
			h.f.leader.Store(&none)
			time.Sleep(50 * time.Millisecond)
		}
		addr := h.leader.addr
		h.f.leader.Store(&addr)
	}()
}

func TestSweeper_DeletesExpiredKeysOnTheLeaderOnly(t *testing.T) {
	s := startServer(t, Config{SweepInterval: 10 * time.Millisecond})
	c := dial(t, s.addr)
	for i := range 50 {
		c.must(t, "SET", fmt.Sprint("e", i), "v", "PX", "20")
	}
	c.must(t, "SET", "keep", "v")
	deadline := time.Now().Add(5 * time.Second)
	for s.db.Len() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d keys stored after the sweep, want 1", s.db.Len())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := c.must(t, "DBSIZE"); got != ":1" {
		t.Fatalf("DBSIZE = %s", got)
	}

	// A follower never sweeps: its Apply says it is not the leader.
	f := newFollower(t, "")
	fs := startServerOn(t, f, Config{SweepInterval: 10 * time.Millisecond})
	if _, err := command.ApplyEntry(f.Engine(), 1, &command.Entry{NowMs: time.Now().UnixMilli(), Cmds: [][][]byte{{[]byte("SET"), []byte("x"), []byte("v"), []byte("PX"), []byte("1")}}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := f.Engine().Len(); n != 1 {
		t.Fatalf("follower's engine has %d keys, want 1 (unswept)", n)
	}
	_ = fs
}

// Among many keys without a TTL, expired keys are still deleted within
// seconds: a tick walks batches for its time budget, not one batch. With
// one batch of 100 keys a tick, as before, 20,000 keys took 20 s a pass.
func TestSweeper_FindsExpiredKeysAmongManyOthers(t *testing.T) {
	s := startServer(t, Config{SweepInterval: 100 * time.Millisecond, SweepBatch: 100})
	c := dial(t, s.addr)
	for i := range 20 {
		args := []string{"MSET"}
		for j := range 1000 {
			args = append(args, fmt.Sprint("k", i, ":", j), "v")
		}
		c.must(t, args...)
	}
	for i := range 50 {
		c.must(t, "SET", fmt.Sprint("e", i), "v", "PX", "20")
	}
	start := time.Now()
	deadline := start.Add(10 * time.Second)
	for s.db.Len() != 20000 {
		if time.Now().After(deadline) {
			t.Fatalf("%d keys stored after 10 s, want 20000: expired keys not swept", s.db.Len())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("50 expired keys among 20,000 swept in %v", time.Since(start).Round(time.Millisecond))
}
