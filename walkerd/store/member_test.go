package store

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// probes stands in for the RESP probe walkerd wires (walkerd/probe.go):
// it answers for the in-process stores registered by their RESP address,
// with raft's applied index, as INFO raft's raft_log_applied_index does.
type probes struct {
	mu      sync.Mutex
	stores  map[string]*Store
	down    map[string]bool          // closed: the probe fails
	lagging map[string]uint64        // reports this applied index instead
	hung    map[string]chan struct{} // the probe waits until it is closed
	entered chan string              // a hung probe's address, as it starts waiting
}

func newProbes() *probes {
	return &probes{stores: map[string]*Store{}, down: map[string]bool{}, lagging: map[string]uint64{},
		hung: map[string]chan struct{}{}, entered: make(chan string, 16)}
}

func (p *probes) probe(addr string) (uint64, error) {
	p.mu.Lock()
	s, down := p.stores[addr], p.down[addr]
	lag, lagging := p.lagging[addr]
	hung := p.hung[addr]
	p.mu.Unlock()
	if hung != nil {
		select {
		case p.entered <- addr:
		default:
		}
		<-hung
	}
	switch {
	case s == nil || down:
		return 0, fmt.Errorf("dial tcp %s: connect: connection refused", addr)
	case lagging:
		return lag, nil
	}
	return s.raft.AppliedIndex(), nil
}

func (p *probes) set(f func()) { p.mu.Lock(); f(); p.mu.Unlock() }

var respPort struct {
	sync.Mutex
	next int
}

// openMember opens a node with a probe and a RESP address of its own
// (never dialled: the probe answers for it). tweak, if not nil, edits the
// config first.
func openMember(t *testing.T, p *probes, id string, bootstrap bool, tweak func(*Config)) *Store {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	respPort.Lock()
	respPort.next++
	resp := fmt.Sprintf("127.0.0.1:%d", 20000+respPort.next)
	respPort.Unlock()
	dir := t.TempDir()
	cfg := Config{
		ID: id, RaftAddr: addr, RESPAddr: resp, RaftDir: filepath.Join(dir, "raft"), DataDir: filepath.Join(dir, "data"),
		Bootstrap: bootstrap, Sync: engine.SyncNo, Engine: engine.DefaultOptions(), Probe: p.probe,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.set(func() { p.stores[resp] = s })
	t.Cleanup(func() {
		done := make(chan struct{})
		go func() { closeOnce(s); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
	})
	return s
}

// closeMember stops a node as if its process died: its probe fails too.
func closeMember(t *testing.T, p *probes, s *Store) {
	t.Helper()
	p.set(func() { p.down[s.cfg.RESPAddr] = true })
	closeOnce(s)
}

// suffrage returns id's suffrage in s's configuration ("" if absent).
func suffrage(t *testing.T, s *Store, id string) string {
	t.Helper()
	ms, err := s.Members()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.ID == id {
			return m.Suffrage
		}
	}
	return ""
}

// waitVoters waits until s's configuration has n members, all voters.
func waitVoters(t *testing.T, s *Store, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ms, err := s.Members()
		voters := 0
		for _, m := range ms {
			if m.Suffrage == "voter" {
				voters++
			}
		}
		if err == nil && len(ms) == n && voters == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("members %+v (%v), want %d voters", ms, err, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func set(s *Store, k, v string) error {
	_, err := s.Apply(&command.Entry{NowMs: 1, Cmds: [][][]byte{{[]byte("SET"), []byte(k), []byte(v)}}})
	return err
}

// joinAll starts a leader and joins the others to it as voters.
func joinAll(t *testing.T, p *probes, ids []string, tweak func(*Config)) []*Store {
	t.Helper()
	nodes := []*Store{openMember(t, p, ids[0], true, tweak)}
	waitReady(t, nodes[0])
	for _, id := range ids[1:] {
		n := openMember(t, p, id, false, tweak)
		nodes = append(nodes, n)
		if err := nodes[0].Join(id, n.cfg.RaftAddr, n.cfg.RESPAddr); err != nil {
			t.Fatal(err)
		}
		waitVoters(t, nodes[0], len(nodes), 15*time.Second)
	}
	return nodes
}

// Before: JOIN of a node nobody runs made a one-node cluster a two-voter
// cluster with one voter unreachable, so every write, and the LEAVE that
// would undo it, answered CLUSTERDOWN.
func TestMember_JoinOfAnUnreachableNodeChangesNothing(t *testing.T) {
	p := newProbes()
	s := openMember(t, p, "solo", true, nil)
	waitReady(t, s)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bogus := ln.Addr().String()
	ln.Close()
	err = s.Join("bogus", bogus, "127.0.0.1:23998")
	if want := "cannot reach " + bogus + " (Raft) of node bogus: "; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Join(bogus) = %v, want an error starting %q", err, want)
	}
	if ms, err := s.Members(); err != nil || len(ms) != 1 || ms[0].ID != "solo" || ms[0].Suffrage != "voter" {
		t.Fatalf("members after a refused JOIN: %+v, %v", ms, err)
	}
	if err := set(s, "k", "v"); err != nil {
		t.Fatalf("write after a refused JOIN: %v", err)
	}
	// The last voter cannot leave either.
	err = s.Leave("solo")
	if want := "refused: removing solo would leave no voter"; err == nil || err.Error() != want {
		t.Fatalf("Leave of the last voter = %v, want %q", err, want)
	}
	if err := set(s, "k", "v2"); err != nil {
		t.Fatalf("write after a refused LEAVE: %v", err)
	}
}

func TestMember_AJoinerIsANonvoterUntilItHasCaughtUp(t *testing.T) {
	p := newProbes()
	leader := openMember(t, p, "n1", true, nil)
	waitReady(t, leader)
	for i := range 300 {
		if err := set(leader, fmt.Sprint("k", i), "v"); err != nil {
			t.Fatal(err)
		}
	}
	n2 := openMember(t, p, "n2", false, nil)
	// n2 reports itself far behind until released.
	p.set(func() { p.lagging[n2.cfg.RESPAddr] = 0 })
	joined := time.Now()
	if err := leader.Join("n2", n2.cfg.RaftAddr, n2.cfg.RESPAddr); err != nil {
		t.Fatal(err)
	}
	if got := suffrage(t, leader, "n2"); got != "nonvoter" {
		t.Fatalf("n2 joined as %q, want nonvoter", got)
	}
	// A non-voter is no part of the quorum: writes go on whatever it does.
	if err := set(leader, "after", "join"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * promoteInterval)
	if got := suffrage(t, leader, "n2"); got != "nonvoter" {
		t.Fatalf("n2, reporting applied index 0, became %q; want it kept a nonvoter", got)
	}
	released := time.Now()
	p.set(func() { delete(p.lagging, n2.cfg.RESPAddr) })
	waitVoters(t, leader, 2, 10*time.Second)
	t.Logf("promoted %v after it reported being caught up (%v after JOIN)",
		time.Since(released).Round(time.Millisecond), time.Since(joined).Round(time.Millisecond))
	if d := time.Since(released); d > 2*time.Second {
		t.Errorf("promotion took %v after the node caught up, want well under 2 s", d)
	}
	if got := n2.raft.AppliedIndex() + promoteMaxLag; got < leader.raft.CommitIndex() {
		t.Errorf("n2 promoted while %d entries behind", leader.raft.CommitIndex()-n2.raft.AppliedIndex())
	}
}

// Close waits for the promotion loop, and a probe of a node that stopped
// answering ran to its timeout first (a second in walkerd): a leader
// whose non-voter was SIGSTOPped took a second longer to stop. Close now
// gives the probe up (Store.probe).
func TestMember_CloseGivesUpAProbeThatHangs(t *testing.T) {
	p := newProbes()
	leader := openMember(t, p, "n1", true, nil)
	waitReady(t, leader)
	n2 := openMember(t, p, "n2", false, nil)
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	p.set(func() { p.hung[n2.cfg.RESPAddr] = hang })
	if err := leader.Join("n2", n2.cfg.RaftAddr, n2.cfg.RESPAddr); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the promotion loop never probed the non-voter")
	}
	closed := make(chan struct{})
	start := time.Now()
	go func() { closeOnce(leader); close(closed) }()
	select {
	case <-closed:
		t.Logf("closed in %v with a probe hanging", time.Since(start).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatal("Close still waits for a probe that hangs after 5 s")
	}
}

func TestMember_PromotedJoinersVote(t *testing.T) {
	p := newProbes()
	nodes := joinAll(t, p, []string{"n1", "n2", "n3"}, nil)
	if err := set(nodes[0], "k", "v"); err != nil {
		t.Fatal(err)
	}
	closeMember(t, p, nodes[0])
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, id := nodes[1].raft.LeaderWithID()
		if id != "" && id != "n1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("n2 and n3 elected no leader after n1 stopped: n2 sees %q", id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMember_LeaveRefusedWhenItWouldLoseTheQuorum(t *testing.T) {
	p := newProbes()
	nodes := joinAll(t, p, []string{"n1", "n2", "n3"}, nil)
	leader, n3 := nodes[0], nodes[2]
	closeMember(t, p, n3)

	err := leader.Leave("n2")
	if want := "refused: removing n2 would leave 1 of 2 voters reachable, fewer than a quorum of 2"; err == nil || err.Error() != want {
		t.Fatalf("Leave(n2) with n3 down = %v, want %q", err, want)
	}
	if !errors.Is(err, errRefused) {
		t.Fatalf("Leave(n2) error %v does not wrap errRefused", err)
	}
	// JOIN with n2's id at a new address would remove n2 first: refused
	// the same way, and nothing changes.
	n2b := openMember(t, p, "n2b", false, nil)
	err = leader.Join("n2", n2b.cfg.RaftAddr, n2b.cfg.RESPAddr)
	if want := "refused: removing the stale entry n2 at " + nodes[1].cfg.RaftAddr + " would leave 1 of 2 voters reachable, fewer than a quorum of 2"; err == nil || err.Error() != want {
		t.Fatalf("Join(n2 at a new address) with n3 down = %v, want %q", err, want)
	}
	if ms, err := leader.Members(); err != nil || len(ms) != 3 {
		t.Fatalf("members after the refusals: %+v, %v", ms, err)
	}
	// Removing the dead one leaves two voters, both reachable.
	if err := leader.Leave("n3"); err != nil {
		t.Fatalf("Leave(n3), the dead one: %v", err)
	}
	if got := suffrage(t, leader, "n3"); got != "" {
		t.Fatalf("n3 still a %s after it left", got)
	}
	if err := set(leader, "k", "v"); err != nil {
		t.Fatal(err)
	}
}

// A two-voter cluster whose other node died can drop it while the
// leader still leads (its lease is long here): the one voter left is a
// quorum, and the cluster is available again.
func TestMember_ADeadVoterOfTwoCanBeRemoved(t *testing.T) {
	p := newProbes()
	long := func(c *Config) {
		c.HeartbeatTimeout, c.ElectionTimeout, c.LeaderLeaseTimeout = 3*time.Second, 3*time.Second, 3*time.Second
	}
	nodes := joinAll(t, p, []string{"n1", "n2"}, long)
	leader := nodes[0]
	closeMember(t, p, nodes[1])
	err := leader.Leave("n1")
	if want := "refused: removing n1 would leave 0 of 1 voters reachable, fewer than a quorum of 1"; err == nil || err.Error() != want {
		t.Fatalf("Leave(n1), the leader, with n2 down = %v, want %q", err, want)
	}
	if err := leader.Leave("n2"); err != nil {
		t.Fatalf("Leave(n2), the dead one: %v", err)
	}
	if ms, err := leader.Members(); err != nil || len(ms) != 1 {
		t.Fatalf("members: %+v, %v", ms, err)
	}
	if leader.raft.State() != raft.Leader {
		t.Fatalf("n1 is %v", leader.raft.State())
	}
	if err := set(leader, "k", "v"); err != nil {
		t.Fatalf("write after removing the dead voter: %v", err)
	}
	// Its address record went too.
	if m, _ := command.Members(leader.Engine()); m["n2"] != "" {
		t.Fatalf("n2's address is still recorded: %v", m)
	}
}

func TestMember_ANonvoterCanAlwaysLeave(t *testing.T) {
	p := newProbes()
	leader := openMember(t, p, "n1", true, nil)
	waitReady(t, leader)
	n2 := openMember(t, p, "n2", false, nil)
	p.set(func() { p.lagging[n2.cfg.RESPAddr] = 0 }) // never promoted
	if err := leader.Join("n2", n2.cfg.RaftAddr, n2.cfg.RESPAddr); err != nil {
		t.Fatal(err)
	}
	closeMember(t, p, n2)
	if err := leader.Leave("n2"); err != nil {
		t.Fatalf("Leave of a dead non-voter: %v", err)
	}
	if ms, err := leader.Members(); err != nil || len(ms) != 1 {
		t.Fatalf("members: %+v, %v", ms, err)
	}
}

// Without a probe the leader cannot see a non-voter's progress: it
// promotes it once its Raft address has answered for promoteBlindChecks
// checks in a row.
func TestMember_WithoutAProbeAReachableNonvoterIsPromoted(t *testing.T) {
	leader := openNode(t, "n1", true)
	waitReady(t, leader)
	n2 := openNode(t, "n2", false)
	if err := leader.Join("n2", n2.cfg.RaftAddr, ""); err != nil {
		t.Fatal(err)
	}
	if got := suffrage(t, leader, "n2"); got != "nonvoter" {
		t.Fatalf("n2 joined as %q", got)
	}
	waitVoters(t, leader, 2, 10*time.Second)
}

// A peer's heartbeats fail since its last contact, not since the failure
// was reported: a hung peer's first failure comes only after the
// transport's RPC timeout, 10 s later.
func TestObserveMember_FailingSinceTheLastContact(t *testing.T) {
	s := &Store{}
	s.member.init()
	last := time.Now().Add(-10 * time.Second)
	s.observeMember(raft.Observation{Data: raft.FailedHeartbeatObservation{PeerID: "b", LastContact: last}})
	s.observeMember(raft.Observation{Data: raft.FailedHeartbeatObservation{PeerID: "b", LastContact: time.Now()}}) // a later failure keeps the first
	s.observeMember(raft.Observation{Data: raft.FailedHeartbeatObservation{PeerID: "c"}})                          // no contact known: now
	if since, ok := s.member.isFailing("b"); !ok || !since.Equal(last) {
		t.Fatalf("b failing since %v (%v), want %v", since, ok, last)
	}
	if since, ok := s.member.isFailing("c"); !ok || time.Since(since) > time.Second {
		t.Fatalf("c failing since %v (%v)", since, ok)
	}
	s.observeMember(raft.Observation{Data: raft.ResumedHeartbeatObservation{PeerID: "b"}})
	if _, ok := s.member.isFailing("b"); ok {
		t.Fatal("b still failing after its heartbeats resumed")
	}
}
