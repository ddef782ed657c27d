package store

import (
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// TestStore_ReadyOnceALeaderHasCaughtUp: a node is not ready from its
// start until it leads and has applied its barrier (a one-node cluster);
// a node with no cluster to belong to (not bootstrapped, never joined) is
// not ready.
func TestStore_ReadyOnceALeaderHasCaughtUp(t *testing.T) {
	s := openNode(t, "solo", true)
	lone := openNode(t, "lone", false)
	// No election can end before the heartbeat timeout (500 ms).
	if s.Ready() {
		t.Fatal("ready before any election")
	}
	deadline := time.Now().Add(10 * time.Second)
	for !s.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if s.raft.State() != raft.Leader || s.ready.Load() != s.raft.CurrentTerm() {
		t.Errorf("ready as %v, barrier term %d, term %d", s.raft.State(), s.ready.Load(), s.raft.CurrentTerm())
	}
	if !s.served.Load() {
		t.Error("Ready did not latch")
	}
	if lone.Ready() {
		t.Error("a node with no cluster is ready")
	}
}
