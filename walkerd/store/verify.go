package store

import (
	"cmp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// A consistent read (level 2) runs on the leader once a quorum of voters
// has confirmed, after the read arrived, that this node still leads
// (DESIGN.md, Reads). hashicorp/raft's VerifyLeader alone does not prove
// it: v1.7.3 counts, for a check, every follower answer processed after
// the check was registered (followerReplication.notifyAll), even one to
// a heartbeat or AppendEntries sent long before, and a non-voter's as
// well as a voter's. The chaos harness found
// the consequence (nemesis "pause", seed 1): a leader stopped for 3 s
// while the others elected a new leader and took writes woke with
// answers from before its pause waiting in its sockets, counted them for
// a consistent GET that had arrived during the pause, and served the
// value from before the pause. etcd found the same in its own ReadIndex
// (etcd-io/etcd#20418, "Stale reads caused by process pausing").
//
// So each round also checks, with acks, that a quorum of voters answered
// in this leader's term an AppendEntries sent after the round began:
//
//	round r begins         acks.round = r (each read of the round arrived before)
//	raft.VerifyLeader()    raft's own check; it sends each peer a heartbeat
//	acks.quorum(r, term)   voters whose newest answer in term is to a request
//	                       sent in round r or later (this node counts itself)
//	  short: wait          for the answers to those heartbeats; past recheck,
//	                       VerifyLeader again
//
// A follower answers in our term only while it has voted in no later
// term, so a quorum of such answers, all given after the reads arrived,
// leaves no room for a newer leader elected before them. If this node
// has been deposed, the heartbeats come back with a newer term, which
// acks does not count, raft steps down, and the round fails.

// acks records, for each peer, the newest answer to an AppendEntries
// this node sent it: the verify round in which the request was sent,
// and the request's term (counted only when the answer carries the same
// term: a follower at a newer term refuses us).
type acks struct {
	round atomic.Uint64 // the newest round begun; read as each request is sent
	mu    sync.Mutex
	peers map[raft.ServerID]ack
	next  chan struct{} // closed at the next call's return, if a round waits for it
}

type ack struct{ round, term uint64 }

// begin starts a round and returns its number: an AppendEntries sent from
// now on is sent in it or a later one.
func (a *acks) begin() uint64 { return a.round.Add(1) }

// returned notes the end of an AppendEntries to peer sent in round:
// answered in term (ok), or refused or failed (!ok). Either wakes a
// round waiting for answers.
func (a *acks) returned(peer raft.ServerID, round, term uint64, ok bool) {
	a.mu.Lock()
	if ok {
		if a.peers == nil {
			a.peers = make(map[raft.ServerID]ack)
		}
		if old := a.peers[peer]; term > old.term || term == old.term && round > old.round {
			a.peers[peer] = ack{round, term}
		}
	}
	if a.next != nil {
		close(a.next)
		a.next = nil
	}
	a.mu.Unlock()
}

// quorum reports whether a quorum of conf's voters, self among them when
// it is one, has answered in term a request sent in round or later. If
// not, it also returns a channel closed when the next call returns.
func (a *acks) quorum(conf raft.Configuration, self raft.ServerID, round, term uint64) (bool, <-chan struct{}) {
	voters, fresh := 0, 0
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, srv := range conf.Servers {
		if srv.Suffrage != raft.Voter {
			continue
		}
		voters++
		if srv.ID == self {
			fresh++
		} else if got := a.peers[srv.ID]; got.term == term && got.round >= round {
			fresh++
		}
	}
	if voters > 0 && fresh >= voters/2+1 {
		return true, nil
	}
	if a.next == nil {
		a.next = make(chan struct{})
	}
	return false, a.next
}

// ackTransport is raft's NetworkTransport with every AppendEntries answer
// noted in acks. Embedding keeps the optional interfaces raft looks for
// (WithClose, WithPeers, WithPreVote).
type ackTransport struct {
	*raft.NetworkTransport
	acks *acks
	// hold, when set (by tests), is called with the peer of each answer
	// (not of a failed call) before raft sees it: an answer that arrives
	// late.
	hold atomic.Pointer[func(raft.ServerID)]
}

// AppendEntries sends as NetworkTransport does and notes an answer in the
// request's term.
func (t *ackTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	round := t.acks.round.Load()
	err := t.NetworkTransport.AppendEntries(id, target, args, resp)
	if hold := t.hold.Load(); hold != nil && err == nil {
		(*hold)(id)
	}
	t.acks.returned(id, round, args.Term, err == nil && resp.Term == args.Term)
	return err
}

// AppendEntriesPipeline refuses, as NetworkTransport does with
// MaxRPCsInFlight 1 (store.go says why): pipelined answers would bypass
// acks.
func (t *ackTransport) AppendEntriesPipeline(raft.ServerID, raft.ServerAddress) (raft.AppendPipeline, error) {
	return nil, raft.ErrPipelineReplicationNotSupported
}

// leaderCheck is what the verifier asks of raft (a *raft.Raft).
type leaderCheck interface {
	VerifyLeader() raft.Future
	CurrentTerm() uint64
	State() raft.RaftState
	GetConfiguration() raft.ConfigurationFuture
}

// verifier lets concurrent consistent reads share leadership rounds: a
// read joins the next round that starts after it arrived. A round is
// raft's heartbeat to every voter, answered by a quorum (or the leader
// stepping down), and checked against acks (above), so one round serves
// every read that waits for it: the connections' goroutines (do) and the
// reads the event loop parks (VerifyLeaderAsync) alike.
//
// The rounds' goroutine waits on each VerifyLeader future itself, rather
// than through Store.wait, whose goroutine is one more wakeup between a
// round's end and its reads' answers: LEVELGET key 2 on three nodes, 50
// clients, 3 paired rounds, 48.7k/54.1k/50.2k reads a second through
// wait, 54.9k/53.2k/54.2k so. Instead stop, once raft is down, answers
// the round and the waiting reads, since raft may leave a round's future
// unanswered then (a VerifyLeader queued as it shut down); the goroutine
// left waiting on it ends with the process, as wait's does.
type verifier struct {
	raft    leaderCheck
	self    raft.ServerID
	acks    *acks
	mu      sync.Mutex
	running bool
	down    bool          // stop ran: calls are answered errRaftDown at once
	waiting []func(error) // for the next round
	current []func(error) // the round's, nil once stop answered them
	checked atomic.Uint64 // rounds run (INFO raft's raft_leader_checks)
	waits   atomic.Uint64 // rounds raft's check passed on answers older than them, which waited for newer (raft_leader_checks_waited)
	recheck time.Duration // zero: recheck
}

// do waits for the next round's outcome.
func (v *verifier) do() error {
	ch := make(chan error, 1)
	v.start(func(err error) { ch <- err })
	return <-ch
}

// start has done called, on the verifier's goroutine, with the outcome
// of the next round that starts after it; once raft is down, at once
// with errRaftDown, on the caller's.
func (v *verifier) start(done func(error)) {
	v.mu.Lock()
	if v.down {
		v.mu.Unlock()
		done(errRaftDown)
		return
	}
	v.waiting = append(v.waiting, done)
	if !v.running {
		v.running = true
		go v.rounds()
	}
	v.mu.Unlock()
}

func (v *verifier) rounds() {
	for {
		v.mu.Lock()
		if len(v.waiting) == 0 || v.down {
			v.running = false
			v.mu.Unlock()
			return
		}
		v.current, v.waiting = v.waiting, nil
		v.mu.Unlock()
		err := v.round()
		v.mu.Lock()
		batch := v.current
		v.current = nil
		v.mu.Unlock()
		for _, done := range batch {
			done(err)
		}
	}
}

// round confirms this node's leadership to the reads that arrived before
// it began: raft's check, then acks' (a quorum of answers to requests
// sent in the round, in the term the round began in), waiting for the
// answers to the heartbeats raft's check sent. Past recheck without
// them, it asks raft again, which sends heartbeats again, and fails
// once this node has stepped down.
func (v *verifier) round() error {
	v.checked.Add(1)
	r := v.acks.begin()
	term := v.raft.CurrentTerm()
	if err := v.raft.VerifyLeader().Error(); err != nil {
		return err
	}
	var timer *time.Timer
	for {
		if v.raft.CurrentTerm() != term || v.raft.State() != raft.Leader {
			return raft.ErrLeadershipLost
		}
		f := v.raft.GetConfiguration()
		if err := f.Error(); err != nil {
			return err
		}
		ok, next := v.acks.quorum(f.Configuration(), v.self, r, term)
		if ok {
			if timer != nil {
				timer.Stop()
			}
			return nil
		}
		if timer == nil {
			v.waits.Add(1)
			timer = time.NewTimer(cmp.Or(v.recheck, recheck))
		}
		select {
		case <-next:
		case <-timer.C:
			v.mu.Lock()
			down := v.down
			v.mu.Unlock()
			if down {
				return errRaftDown
			}
			if err := v.raft.VerifyLeader().Error(); err != nil {
				return err
			}
			timer.Reset(cmp.Or(v.recheck, recheck))
		}
	}
}

// recheck is how long a round waits for answers to the heartbeats raft's
// check sent before it asks raft again: longer than a round trip between
// nodes on a LAN, and short beside the election timeout.
const recheck = 50 * time.Millisecond

// stop answers every read waiting, in a round or for one, with
// errRaftDown, and every later one at once.
func (v *verifier) stop() {
	v.mu.Lock()
	v.down = true
	batch := append(v.current, v.waiting...)
	v.current, v.waiting = nil, nil
	v.mu.Unlock()
	for _, done := range batch {
		done(errRaftDown)
	}
}
