package store

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/walkerd/backend"
)

func TestStore_ReconfiguresRaftSnapshotsAndTheEngine(t *testing.T) {
	s := openSingle(t)
	want := backend.SnapshotSettings{Threshold: 500, Interval: 2 * time.Second, TrailingLogs: 300}
	if err := s.SetSnapshot(want); err != nil {
		t.Fatal(err)
	}
	if got := s.Tunables(); !got.Raft || got.Snapshot != want {
		t.Fatalf("Tunables() = %+v, want raft snapshot settings %+v", got, want)
	}
	if err := s.SetSnapshot(backend.SnapshotSettings{Threshold: 500, Interval: time.Nanosecond, TrailingLogs: 300}); err == nil {
		t.Fatal("raft accepted a 1ns snapshot interval")
	}
	m := engine.MergeSettings{Ratio: 0.2, MinBytes: 1 << 20, Interval: time.Minute}
	if err := s.SetMerge(m); err != nil {
		t.Fatal(err)
	}
	if got := s.Engine().Merging(); got != m {
		t.Fatalf("engine merge settings %+v, want %+v", got, m)
	}
	// appendfsync is the Raft log store's: only its own value is accepted.
	if err := s.SetSync(s.cfg.Sync); err != nil {
		t.Fatalf("SetSync to the same mode: %v", err)
	}
	other := engine.SyncAlways
	if s.cfg.Sync == other {
		other = engine.SyncNo
	}
	if err := s.SetSync(other); err == nil || !strings.Contains(err.Error(), "cluster mode") {
		t.Fatalf("SetSync(%v) in cluster mode = %v, want a refusal", other, err)
	}
}

func TestFSM_MergeSettingsOutliveARestore(t *testing.T) {
	leader := testFSM(t, filepath.Join(t.TempDir(), "data"))
	apply(leader, 1, "SET", "k", "v")
	snap, err := leader.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()

	follower := testFSM(t, filepath.Join(t.TempDir(), "data"))
	st := &Store{fsm: follower}
	m := engine.MergeSettings{Ratio: 0.3, MinBytes: 2 << 20, Interval: 3 * time.Second}
	if err := st.SetMerge(m); err != nil {
		t.Fatal(err)
	}
	if err := follower.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if got := follower.engine().Merging(); got != m {
		t.Fatalf("after a restore the engine merges with %+v, want the settings set before %+v", got, m)
	}
}
