package store

import (
	"fmt"
	"sort"

	"github.com/hashicorp/raft"
	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// seedFromEngine starts a new one-node cluster at the position of the data
// already in the engine, for a node whose data directory was restored from
// a backup (walkerd --restore, walkerdump restore) and whose Raft directory
// is empty. It does nothing, and returns hasState, unless the node has no
// Raft state, is to bootstrap, and its engine holds data (Seq > 0).
//
// The engine's Seq is the old cluster's Raft index of its newest write, and
// the state machine skips every entry at or below it (the applied index),
// so the new cluster's log must begin after it: a plain bootstrap would
// write its first entries at index 1 and they would be skipped. Instead
// this writes what hashicorp/raft's RecoverCluster writes: a snapshot at
// index Seq, term 1, whose configuration is this node alone, and sets the
// current term to 1. raft starts from that snapshot (without restoring it:
// NoSnapshotRestoreOnStart), elects this node and appends after Seq;
// nodes that join later get the snapshot by InstallSnapshot.
//
// The old cluster's member records (its nodes' RESP addresses, internal
// keys under keyspace.MemberPrefix) are deleted first: none of those nodes
// is a member of the new cluster, and each node that joins records its
// own address (this one when it becomes leader, registerSelf).
func (s *Store) seedFromEngine(hasState bool, stable raft.StableStore, id raft.ServerID) (bool, error) {
	db := s.fsm.engine()
	seq := db.Seq()
	if hasState || !s.cfg.Bootstrap || seq == 0 {
		return hasState, nil
	}
	members, err := command.Members(db)
	if err != nil {
		return false, fmt.Errorf("seed: %w", err)
	}
	if len(members) > 0 {
		ids := make([]string, 0, len(members))
		b := new(engine.Batch)
		for m := range members {
			ids = append(ids, m)
			b.Delete(keyspace.MemberKey([]byte(m)))
		}
		b.SetSeq(seq)
		if err := db.Write(b); err != nil {
			return false, fmt.Errorf("seed: dropping the old cluster's members: %w", err)
		}
		sort.Strings(ids)
		s.log.Info("dropped the member records of the cluster the data came from", "ids", ids)
	}
	cp, err := db.Checkpoint() // seals, and so syncs, the engine
	if err != nil {
		return false, fmt.Errorf("seed: %w", err)
	}
	defer cp.Close()
	conf := raft.Configuration{Servers: []raft.Server{{Suffrage: raft.Voter, ID: id, Address: s.trans.LocalAddr()}}}
	sink, err := s.snaps.Create(raft.SnapshotVersionMax, seq, 1, conf, 1, s.trans)
	if err != nil {
		return false, fmt.Errorf("seed: %w", err)
	}
	if _, err := cp.WriteTo(sink); err != nil {
		sink.Cancel()
		return false, fmt.Errorf("seed: %w", err)
	}
	if err := sink.Close(); err != nil {
		return false, fmt.Errorf("seed: %w", err)
	}
	// hashicorp/raft's key for the current term (raft.go keyCurrentTerm).
	if err := stable.SetUint64([]byte("CurrentTerm"), 1); err != nil {
		return false, fmt.Errorf("seed: %w", err)
	}
	s.log.Warn("started a new one-node cluster from the data in the engine (a restored backup)", "id", id, "index", seq, "keys", db.Len())
	return true, nil
}

// checkJoinEmpty refuses to start a node that is to join a cluster (no
// bootstrap) with data in its engine but no Raft state. The state machine
// skips the log entries at or below the engine's sequence number, so data
// from another cluster would never be overwritten and the node would
// diverge; and a node of this cluster that lost its Raft directory lost
// its term and vote too, which Raft needs kept (etcd likewise refuses a
// member whose WAL is gone). Such a node joins with an empty data
// directory and receives everything from the leader.
func (s *Store) checkJoinEmpty(hasState bool) error {
	if hasState || s.cfg.Bootstrap {
		return nil
	}
	if seq := s.fsm.engine().Seq(); seq > 0 {
		return fmt.Errorf("the data directory %s holds data (up to index %d) but the Raft directory %s is empty: "+
			"a node joins a cluster with an empty data directory (move it away), or seeds a new cluster from it (start without -join)",
			s.cfg.DataDir, seq, s.cfg.RaftDir)
	}
	return nil
}
