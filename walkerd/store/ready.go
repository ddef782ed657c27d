package store

import (
	"time"

	"github.com/hashicorp/raft"
	"github.com/walkerdb/walkerdb/walkerd/logging"
)

// Ready reports whether this node can serve, which it cannot from its
// start until it has caught up: a leader, once it has applied the barrier
// of its term (every entry earlier leaders committed); a follower, once it
// knows a leader and that leader's RESP address (to forward to) and has
// applied everything the leader told it is committed (raft's applied
// index; the state machine may trail it by the entries in flight). A
// node removed from the cluster is ready: its commands answer that it was
// removed. Once true, Ready stays true: a node that has served and then
// loses its leader answers CLUSTERDOWN, not LOADING, as it did before.
// The server answers LOADING while it is false (server.loading).
func (s *Store) Ready() bool {
	if s.served.Load() {
		return true
	}
	if !s.caughtUp() {
		return false
	}
	s.served.Store(true)
	return true
}

func (s *Store) caughtUp() bool {
	if s.Removed() {
		return true
	}
	switch s.raft.State() {
	case raft.Leader:
		return s.ready.Load() == s.raft.CurrentTerm()
	case raft.Follower:
	default:
		return false
	}
	if s.leaderRESP() == "" {
		return false
	}
	// A follower's commit index is 0 until the leader's first
	// AppendEntries (heartbeats carry none).
	commit := s.raft.CommitIndex()
	return commit > 0 && s.raft.AppliedIndex() >= commit
}

// watchReady makes Ready true as soon as the node has caught up, whether
// or not a client asks (raft's log lines and systemd's readiness follow
// it), and tells rlog when a peer that failed heartbeats answers again.
func (s *Store) watchReady(rlog *logging.Raft) {
	defer s.wg.Done()
	obs := make(chan raft.Observation, 16)
	o := raft.NewObserver(obs, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.ResumedHeartbeatObservation)
		return ok
	})
	s.raft.RegisterObserver(o)
	defer s.raft.DeregisterObserver(o)
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	tick := t.C
	for {
		select {
		case <-s.quit:
			return
		case ob := <-obs:
			if r, ok := ob.Data.(raft.ResumedHeartbeatObservation); ok {
				rlog.PeerRecovered(string(r.PeerID))
			}
		case <-tick:
			if s.Ready() {
				tick = nil // latched
			}
		}
	}
}
