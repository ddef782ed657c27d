package store

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/walkerd/command"
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

// A node that is to join a cluster refuses to start with data in its
// engine and no Raft state: it would skip the leader's entries up to its
// own sequence number.
func TestOpen_JoiningNodeWithStaleDataIsRefused(t *testing.T) {
	dir := t.TempDir()
	db, err := engine.Open(filepath.Join(dir, "data"), &engine.Options{Sync: engine.SyncNo, LayoutVersion: keyspace.LayoutVersion})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := command.ApplyEntry(db, 7, &command.Entry{NowMs: 1, Cmds: [][][]byte{{[]byte("SET"), []byte("k"), []byte("v")}}}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	open := func(bootstrap bool) (*Store, error) {
		return Open(Config{ID: "n1", RaftAddr: addr, RESPAddr: "127.0.0.1:1", RaftDir: filepath.Join(dir, "raft"), DataDir: filepath.Join(dir, "data"),
			Bootstrap: bootstrap, Sync: engine.SyncNo, Engine: engine.Options{Sync: engine.SyncNo, LayoutVersion: keyspace.LayoutVersion}})
	}
	s, err := open(false)
	if err == nil {
		closeOnce(s)
		t.Fatal("a joining node with data and no Raft state started")
	}
	if !strings.Contains(err.Error(), "holds data (up to index 7) but the Raft directory") {
		t.Fatalf("err = %v", err)
	}
}
