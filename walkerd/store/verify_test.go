package store

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// fakeCheck is raft as the verifier sees it: each VerifyLeader answers
// the next of results (nil: leader; past the end, ErrLeadershipLost),
// after running the matching step.
type fakeCheck struct {
	mu      sync.Mutex
	term    uint64
	state   raft.RaftState
	conf    raft.Configuration
	results []error
	steps   []func()
	calls   int
}

func (f *fakeCheck) VerifyLeader() raft.Future {
	f.mu.Lock()
	i := f.calls
	f.calls++
	f.mu.Unlock()
	if i < len(f.steps) && f.steps[i] != nil {
		f.steps[i]()
	}
	var err error = raft.ErrLeadershipLost
	if i < len(f.results) {
		err = f.results[i]
	}
	return errFuture{err}
}

func (f *fakeCheck) CurrentTerm() uint64 { f.mu.Lock(); defer f.mu.Unlock(); return f.term }

func (f *fakeCheck) State() raft.RaftState { f.mu.Lock(); defer f.mu.Unlock(); return f.state }

func (f *fakeCheck) GetConfiguration() raft.ConfigurationFuture { return confFuture{f.conf} }

func (f *fakeCheck) asked() int { f.mu.Lock(); defer f.mu.Unlock(); return f.calls }

type errFuture struct{ err error }

func (e errFuture) Error() error { return e.err }

type confFuture struct{ conf raft.Configuration }

func (c confFuture) Error() error                      { return nil }
func (c confFuture) Index() uint64                     { return 0 }
func (c confFuture) Configuration() raft.Configuration { return c.conf }

func threeVoters() raft.Configuration {
	return raft.Configuration{Servers: []raft.Server{
		{Suffrage: raft.Voter, ID: "n1"}, {Suffrage: raft.Voter, ID: "n2"}, {Suffrage: raft.Voter, ID: "n3"},
		{Suffrage: raft.Nonvoter, ID: "n4"},
	}}
}

// whenWaiting runs f once v's round waits for answers.
func whenWaiting(t *testing.T, v *verifier, f func()) {
	go func() {
		deadline := time.Now().Add(10 * time.Second)
		for v.waits.Load() == 0 {
			if time.Now().After(deadline) {
				t.Error("the round never waited for answers")
				return
			}
			time.Sleep(time.Millisecond)
		}
		f()
	}()
}

// hashicorp/raft's VerifyLeader counts every answer processed after it
// registered, even one to a request sent before (verify.go). A round
// must not take raft's yes on such answers: it waits for a quorum of
// voters to answer, in the round's term, a request sent after the round
// began, and asks raft again past recheck.
func TestVerifier_ARoundNeedsAnswersToRequestsSentAfterItBegan(t *testing.T) {
	a := new(acks)
	// Answers to requests sent before any round, in term 5.
	a.returned("n2", a.round.Load(), 5, true)
	a.returned("n3", a.round.Load(), 5, true)
	leader := func(term uint64, results ...error) *fakeCheck {
		return &fakeCheck{term: term, state: raft.Leader, conf: threeVoters(), results: results}
	}

	t.Run("raft deposes the node when asked again", func(t *testing.T) {
		f := leader(5, nil, raft.ErrNotLeader)
		v := &verifier{raft: f, self: "n1", acks: a, recheck: time.Millisecond}
		if err := v.do(); !errors.Is(err, raft.ErrNotLeader) {
			t.Fatalf("round on answers older than it: %v, want raft's ErrNotLeader when asked again", err)
		}
		if f.asked() != 2 || v.waits.Load() != 1 {
			t.Fatalf("raft asked %d times, %d rounds waited, want 2 and 1", f.asked(), v.waits.Load())
		}
	})

	t.Run("an answer to a request sent in the round ends the wait", func(t *testing.T) {
		f := leader(5, nil) // asked again, raft would say ErrLeadershipLost
		v := &verifier{raft: f, self: "n1", acks: a, recheck: 5 * time.Second}
		whenWaiting(t, v, func() {
			a.returned("n2", a.round.Load(), 5, false) // refused: wakes the round, counts nothing
			a.returned("n3", a.round.Load(), 5, true)
		})
		if err := v.do(); err != nil {
			t.Fatalf("round with n3's answer: %v", err)
		}
		if f.asked() != 1 {
			t.Fatalf("raft asked %d times, want 1", f.asked())
		}
	})

	t.Run("answers of a non-voter or in another term do not count", func(t *testing.T) {
		f := leader(6, nil, raft.ErrNotLeader)
		v := &verifier{raft: f, self: "n1", acks: a, recheck: 20 * time.Millisecond}
		whenWaiting(t, v, func() {
			a.returned("n4", a.round.Load(), 6, true) // a non-voter
			a.returned("n2", a.round.Load(), 7, true) // an answer in term 7, not the round's 6
		})
		if err := v.do(); !errors.Is(err, raft.ErrNotLeader) {
			t.Fatalf("round with only a non-voter's and another term's answers: %v, want ErrNotLeader", err)
		}
	})

	t.Run("a node alone is its own quorum", func(t *testing.T) {
		f := leader(1, nil)
		f.conf = raft.Configuration{Servers: []raft.Server{{Suffrage: raft.Voter, ID: "n1"}}}
		v := &verifier{raft: f, self: "n1", acks: new(acks), recheck: 5 * time.Second}
		if err := v.do(); err != nil || f.asked() != 1 {
			t.Fatalf("one-node round: %v after %d checks, want nil after 1", err, f.asked())
		}
	})

	t.Run("the term changed, or the node stepped down, during the round", func(t *testing.T) {
		f := leader(8, nil)
		f.steps = []func(){func() { f.mu.Lock(); f.term = 9; f.mu.Unlock() }}
		v := &verifier{raft: f, self: "n1", acks: a, recheck: 5 * time.Second}
		if err := v.do(); !errors.Is(err, raft.ErrLeadershipLost) || f.asked() != 1 {
			t.Fatalf("round whose term changed: %v after %d checks, want ErrLeadershipLost after 1", err, f.asked())
		}
		f = leader(9, nil)
		f.steps = []func(){func() { f.mu.Lock(); f.state = raft.Follower; f.mu.Unlock() }}
		v = &verifier{raft: f, self: "n1", acks: a, recheck: 5 * time.Second}
		if err := v.do(); !errors.Is(err, raft.ErrLeadershipLost) || f.asked() != 1 {
			t.Fatalf("round whose node stepped down: %v after %d checks, want ErrLeadershipLost after 1", err, f.asked())
		}
	})
}

// The chaos harness's finding, in one process: leader l stops hearing
// its followers' answers (they arrive late, as to a paused process) and
// nobody reaches it, while the followers elect a leader of their own and
// overwrite k. A consistent read on l then must not be served from the
// late answers: it fails (l learns it was deposed, or its lease ends), or
// sees the new value, never the old one.
func TestStore_AConsistentReadIsNotServedOnAnswersOlderThanIt(t *testing.T) {
	p := newProbes()
	// l's lease outlasts the followers' election, as a pause does.
	l := openMember(t, p, "l", true, func(c *Config) {
		c.HeartbeatTimeout, c.ElectionTimeout, c.LeaderLeaseTimeout = 1500*time.Millisecond, 1500*time.Millisecond, 1500*time.Millisecond
	})
	waitReady(t, l)
	fast := func(c *Config) {
		c.HeartbeatTimeout, c.ElectionTimeout, c.LeaderLeaseTimeout = 150*time.Millisecond, 150*time.Millisecond, 100*time.Millisecond
	}
	var followers []*Store
	for _, id := range []string{"a", "b"} {
		n := openMember(t, p, id, false, fast)
		if err := l.Join(id, n.cfg.RaftAddr, n.cfg.RESPAddr); err != nil {
			t.Fatal(err)
		}
		followers = append(followers, n)
		waitVoters(t, l, len(followers)+1, 15*time.Second)
	}
	if err := set(l, "k", "old"); err != nil {
		t.Fatal(err)
	}
	if err := l.ReadBarrier(2); err != nil {
		t.Fatalf("consistent read on the healthy leader: %v", err)
	}

	// Freeze l: every answer it gets from now on waits for release, and
	// its listener closes, so no newer leader reaches it.
	release := make(chan struct{})
	late := make(chan raft.ServerID, 16)
	hold := func(id raft.ServerID) { late <- id; <-release }
	l.trans.hold.Store(&hold)
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	for seen := map[raft.ServerID]bool{}; len(seen) < 2; {
		select {
		case id := <-late:
			seen[id] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("answers held from %v only, want both followers", seen)
		}
	}
	l.stream.(*streamLayer).Close()

	// The followers elect a leader and overwrite k.
	applyOnLeader(t, followers, &command.Entry{NowMs: 1, Cmds: [][][]byte{{[]byte("SET"), []byte("k"), []byte("new")}}})
	if l.raft.State() != raft.Leader {
		t.Skipf("l stepped down before the read (a loaded machine outran its %v lease): nothing to check", 1500*time.Millisecond)
	}

	// The read arrives and asks raft; then the late answers reach raft.
	// Without acks' check, raft counts them and the read serves "old"
	// (6 runs of 6).
	check := &signalCheck{leaderCheck: l.raft, called: make(chan struct{}, 8)}
	l.verify.raft = check
	got := make(chan string, 1)
	go func() {
		if err := l.ReadBarrier(2); err != nil {
			got <- "error: " + err.Error()
			return
		}
		e := &resp.Encoder{Proto: 2}
		if err := command.Read(l.fsm.engine(), 0, time.Now().UnixMilli(), nil, [][]byte{[]byte("GET"), []byte("k")}, e); err != nil {
			got <- "error: " + err.Error()
			return
		}
		got <- string(e.B)
	}()
	select {
	case <-check.called:
	case <-time.After(10 * time.Second):
		t.Fatal("the consistent read never reached raft's check")
	}
	close(release)

	select {
	case v := <-got:
		if v == "$3\r\nold\r\n" {
			t.Fatalf("consistent read on a deposed leader served %q, from before the new leader's write", v)
		}
		t.Logf("the read answered %q", v)
	case <-time.After(15 * time.Second):
		t.Fatal("the consistent read has not answered in 15 s")
	}
	// Raft's check passed on the late answers (the round waited for
	// newer ones), and INFO raft says so.
	waited := l.verify.waits.Load()
	if waited == 0 {
		t.Log("raft's check did not pass on the late answers this time")
	}
	info := l.InfoRaft()
	for _, want := range []string{
		fmt.Sprintf("raft_leader_checks:%d\r\n", l.verify.checked.Load()),
		fmt.Sprintf("raft_leader_checks_waited:%d\r\n", waited),
	} {
		if !strings.Contains(info, want) {
			t.Errorf("INFO raft lacks %q:\n%s", want, info)
		}
	}
}

// signalCheck tells the test each time the verifier has asked raft.
type signalCheck struct {
	leaderCheck
	called chan struct{}
}

func (s *signalCheck) VerifyLeader() raft.Future {
	f := s.leaderCheck.VerifyLeader()
	select {
	case s.called <- struct{}{}:
	default:
	}
	return f
}
