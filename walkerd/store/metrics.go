package store

import (
	"strconv"
	"time"

	"github.com/hashicorp/raft"
)

// RaftStatus is a snapshot of this node's Raft figures, for the
// Prometheus exporter (walkerd/metrics). It reads raft.Stats, as INFO's
// Raft section does.
type RaftStatus struct {
	// State is raft's: "Follower", "Candidate", "Leader" or "Shutdown".
	State string
	Term  uint64
	// CommitIndex is the highest log index known committed; AppliedIndex
	// the highest handed to the state machine; LastLogIndex the highest
	// in this node's log; LastSnapshotIndex the newest snapshot's.
	CommitIndex, AppliedIndex, LastLogIndex, LastSnapshotIndex uint64
	// Peers is how many other voters the latest configuration lists.
	Peers int
	// LastContact is how long ago a follower last heard from its leader:
	// 0 on the leader, -1 when it never has.
	LastContact time.Duration
	// LeaderChanges counts the leaders this node has learnt of since it
	// started: every change of raft's leader to a known one (a new
	// election's winner, even when it is the same node again after an
	// interval with no leader).
	LeaderChanges uint64
	// LeaderChecks counts the leadership rounds consistent reads ran
	// (verify.go); LeaderChecksWaited those whose raft check passed on
	// answers older than the round, which then waited for newer ones.
	LeaderChecks, LeaderChecksWaited uint64
}

// RaftStatus returns this node's Raft figures.
func (s *Store) RaftStatus() RaftStatus {
	m := s.raft.Stats()
	u := func(k string) uint64 { n, _ := strconv.ParseUint(m[k], 10, 64); return n }
	st := RaftStatus{
		State: m["state"], Term: u("term"), CommitIndex: u("commit_index"), AppliedIndex: u("applied_index"),
		LastLogIndex: u("last_log_index"), LastSnapshotIndex: u("last_snapshot_index"), Peers: int(u("num_peers")),
		LeaderChanges: s.leaderChanges.Load(),
		LeaderChecks:  s.verify.checked.Load(), LeaderChecksWaited: s.verify.waits.Load(),
	}
	switch c := m["last_contact"]; c {
	case "0":
	case "never", "":
		st.LastContact = -1
	default:
		st.LastContact, _ = time.ParseDuration(c)
	}
	return st
}

// countLeader counts a leader raft reports (observeRaft).
func (s *Store) countLeader(o raft.Observation) {
	if lo, ok := o.Data.(raft.LeaderObservation); ok && lo.LeaderID != "" {
		s.leaderChanges.Add(1)
	}
}
