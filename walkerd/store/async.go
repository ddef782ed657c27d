package store

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// Writes proposed without waiting (ApplyAsync), for the server's event
// loop, which must not wait for a commit:
//
//	loop ── ApplyAsync: raft.Apply, queued ──▶ raft: append, fsync, commit
//	                                              │
//	    ◀── done(result) ◀── fsm.ApplyBatch ◀─────┘  (the state machine's
//	                           goroutine, once per batch of entries)
//	                     ◀── done(error) ◀── watchAsync (the futures, in
//	                           order: an entry refused or lost)
//
// A write that commits is answered by the state machine as it applies the
// entry: no goroutine wakes for it alone. The futures go to one goroutine
// (watchAsync), which waits on them in the order they were proposed and
// answers those that failed; a batch of entries costs it one wakeup, as
// raft answers a batch's futures together. Store.Apply proposes the same
// way (proposeAsync) and waits on a channel its callback fills: the
// goroutine path and the loop's share one mechanism.

// maxAsync bounds the writes ApplyAsync has in flight: raft's applyCh
// holds MaxAppendEntries proposals (BatchApplyCh), and a send to a full
// one would make the event loop wait for the leader's fsync. Past it,
// ApplyAsync refuses and the server proposes on the client's goroutine.
const maxAsync = 128

// asyncWrite is a write proposeAsync queued. done is called once: by the
// state machine with the entry's result, by watchAsync with a failure, or
// by markRaftDown.
type asyncWrite struct {
	data      []byte
	f         raft.ApplyFuture
	committed func() // nil, or called by the state machine before it applies the entry
	done      func(*command.Result, error)
	called    atomic.Bool
}

func (w *asyncWrite) finish(res *command.Result, err error) {
	if w.called.CompareAndSwap(false, true) {
		w.done(res, err)
	}
}

// asyncWrites is the store's queue of writes proposed by ApplyAsync and
// Apply and not yet answered through their futures, in the order
// proposed. n counts Apply's too: they take room in raft's applyCh.
type asyncWrites struct {
	mu    sync.Mutex
	queue []*asyncWrite
	down  bool // failAsync has answered the queue: nothing is queued after
	wake  chan struct{}
	n     atomic.Int64 // in flight: queued, or taken by watchAsync
}

// ApplyAsync implements backend.AsyncApplier: Apply without waiting. It
// proposes e and returns true at once; done is then called once, from
// another goroutine, with what Apply would have returned (a NotLeaderError
// or backend.ErrTransferring: never appended). It returns false, and never
// calls done, when this node does not lead, e carries no parsed commands,
// its encoding is a large entry's (bigEntryMin: those go by reference,
// through Apply), maxAsync writes are in flight, or raft has shut down.
// e's arguments must stay as they are until done.
func (s *Store) ApplyAsync(e *command.Entry, committed func(), done func(*command.Result, error)) bool {
	if e.Parsed == nil || s.raft.State() != raft.Leader {
		return false
	}
	select {
	case <-s.raftDown:
		return false
	default:
	}
	data := e.Encode()
	if len(data) >= bigEntryMin {
		return false
	}
	if s.async.n.Add(1) > maxAsync {
		s.async.n.Add(-1)
		return false
	}
	s.proposeAsync(data, e, committed, done)
	return true
}

// proposeAsync hands raft data, e's encoding (or its reference), and
// queues it for watchAsync; the caller has counted it in async.n. When e
// carries its commands parsed, the state machine uses them, calls
// committed (when not nil) before it applies the entry and done once it
// has; otherwise watchAsync calls done with the future's response.
func (s *Store) proposeAsync(data []byte, e *command.Entry, committed func(), done func(*command.Result, error)) {
	w := &asyncWrite{data: data, committed: committed, done: done}
	if e.Parsed != nil {
		s.fsm.propose(data, e, w)
	}
	w.f = s.raft.Apply(data, 0)
	if hook := afterPropose.Load(); hook != nil {
		(*hook)(data)
	}
	s.async.mu.Lock()
	if s.async.down {
		// Raft shut down after the caller looked, and failAsync has
		// answered the queue already (watchAsync may have ended with
		// Close): answer this one as failAsync would.
		s.async.mu.Unlock()
		s.failWrites([]*asyncWrite{w})
		return
	}
	s.async.queue = append(s.async.queue, w)
	s.async.mu.Unlock()
	select {
	case s.async.wake <- struct{}{}:
	default:
	}
}

// afterPropose, when a test sets it, runs between a write's raft.Apply
// and its queueing, with the write's data: where a Close may pass.
var afterPropose atomic.Pointer[func(data []byte)]

// WritesNow implements backend.AsyncApplier: this node leads.
func (s *Store) WritesNow() bool { return s.raft.State() == raft.Leader }

var _ backend.AsyncApplier = (*Store)(nil)

// watchAsync waits on the futures of the writes proposeAsync queued
// (ApplyAsync's and Apply's), oldest first, and answers those the state
// machine did not: a write refused or lost with leadership, or one
// proposed without its parsed form. A future raft leaves unanswered at
// shutdown keeps it waiting for good; markRaftDown answers the writes
// then.
func (s *Store) watchAsync() {
	q := &s.async
	for {
		q.mu.Lock()
		if len(q.queue) == 0 {
			q.mu.Unlock()
			select {
			case <-q.wake:
				continue
			case <-s.quit:
				return
			}
		}
		w := q.queue[0]
		q.mu.Unlock()
		err := w.f.Error()
		if err != nil {
			// The arguments alias the client's buffer, which it reuses
			// once answered; a batch that took the entry may still be
			// applying it (raft shutting down): wait it out, as Apply.
			//lint:ignore SA2001 the empty critical section waits for readers to leave
			s.fsm.mu.Lock()
			s.fsm.mu.Unlock()
		}
		s.fsm.unpropose(w.data)
		q.mu.Lock()
		if len(q.queue) > 0 && q.queue[0] == w {
			q.queue[0] = nil
			q.queue = q.queue[1:]
		}
		q.mu.Unlock()
		q.n.Add(-1)
		if err != nil {
			w.finish(nil, s.applyError(err))
			continue
		}
		res, ok := w.f.Response().(*command.Result)
		if !ok {
			w.finish(nil, fmt.Errorf("%w: no result from the state machine", backend.ErrUnknownOutcome))
			continue
		}
		w.finish(res, nil) // the state machine answered already, unless it skipped the entry
	}
}

// failAsync answers every write ApplyAsync has in flight with errRaftDown:
// raft has shut down and may never answer their futures.
func (s *Store) failAsync() {
	q := &s.async
	q.mu.Lock()
	q.down = true
	ws := slices.Clone(q.queue) // watchAsync clears the entries it takes
	q.mu.Unlock()
	s.failWrites(ws)
}

// failWrites answers ws with errRaftDown, once no batch of the state
// machine may still be applying them.
func (s *Store) failWrites(ws []*asyncWrite) {
	if len(ws) > 0 {
		//lint:ignore SA2001 the empty critical section waits for readers to leave
		s.fsm.mu.Lock() // as watchAsync: a batch may still be applying them
		s.fsm.mu.Unlock()
	}
	for _, w := range ws {
		w.finish(nil, s.applyError(errRaftDown))
	}
}

// applyError is what Apply answers for a future's error err.
func (s *Store) applyError(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader):
		return s.notLeader() // never appended: the server may forward it
	case errors.Is(err, raft.ErrLeadershipTransferInProgress):
		// raft refuses new entries before it appends them while it
		// hands leadership over: certainly not applied. TRYAGAIN is
		// the reply Redis Cluster clients retry by themselves.
		return errTransferring
	}
	return fmt.Errorf("%w: %v", backend.ErrUnknownOutcome, err)
}
