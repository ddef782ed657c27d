package store

import (
	"sync"

	"github.com/hashicorp/raft"
)

// stableStore is the raft.StableStore raft is given: the log store's own,
// behind a gate that Store.Close shuts once raft has shut down, before it
// closes the log store. Writes that reach the gate after then are dropped.
//
// hashicorp/raft v1.7.3 runs a heartbeat on the transport's connection
// goroutine, not on raft's own (NetworkTransport's heartbeat fast path,
// Raft.processHeartbeat), and raft.Shutdown does not wait for it: a
// heartbeat that checked raft's shutdown channel just before Shutdown
// went on to save the leader's newer term after the log store had closed,
// and raft panics when that save fails ("failed to save current term:
// closed", seen once in CI while a test stopped a node). Dropping the
// write is safe: a heartbeat carries no entries and grants no vote (the
// vote is saved under keys of its own), and a node that restarts with the
// older term learns the newer one from the next message it gets, as a
// node that never heard that heartbeat would.
type stableStore struct {
	raft.StableStore

	mu     sync.RWMutex
	closed bool
}

// Set stores val under key, or drops it once the gate is shut.
func (s *stableStore) Set(key, val []byte) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil
	}
	return s.StableStore.Set(key, val)
}

// SetUint64 stores val under key, or drops it once the gate is shut.
func (s *stableStore) SetUint64(key []byte, val uint64) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil
	}
	return s.StableStore.SetUint64(key, val)
}

// shut waits for the writes in progress and drops every later one. It does
// not close the store beneath.
func (s *stableStore) shut() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}
