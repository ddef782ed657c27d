package store

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/engine/enginetest"
	"github.com/walkerdb/walkerdb/engine/zeroahead"
)

// walWritten is the end of the written blocks of the one segment file of
// a raft-wal directory.
func walWritten(t *testing.T, dir string) int64 {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	if err != nil || len(names) != 1 {
		t.Fatalf("segments %v (%v), want one", names, err)
	}
	return enginetest.WrittenEnd(t, names[0])
}

// raft-wal's segment files are zeroed ahead of its appends (zeroFS): a new
// segment from its start, the segment it reopens after a restart from its
// first append. The log reads back whole across the restart.
func TestWALFS_SegmentsAreZeroedAheadOfTheAppends(t *testing.T) {
	enginetest.SkipUnlessPreallocatedIsHole(t, t.TempDir())
	dir := filepath.Join(t.TempDir(), "wal")
	entry := func(i uint64) *raft.Log {
		return &raft.Log{Index: i, Term: 2, Type: raft.LogCommand, Data: bytes.Repeat([]byte{byte(i)}, 1000)}
	}
	store := func(st logStore, from, to uint64) {
		for i := from; i <= to; i++ {
			if err := st.StoreLog(entry(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitWritten := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := walWritten(t, dir)
			if got >= want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("written blocks end at %d after 10 s, want %d", got, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	st, err := openKind(dir, LogWAL, engine.SyncAlways)
	if err != nil {
		t.Fatal(err)
	}
	store(st, 1, 2000) // about 2 MiB
	waitWritten(2000*1000 + zeroahead.Window)
	st.Close()

	st, err = openKind(dir, LogWAL, engine.SyncAlways)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	store(st, 2001, 5000) // about 5 MiB in all
	waitWritten(5000*1000 + zeroahead.Window)
	for _, i := range []uint64{1, 999, 2000, 2001, 4321, 5000} {
		var l raft.Log
		if err := st.GetLog(i, &l); err != nil || !bytes.Equal(l.Data, entry(i).Data) {
			t.Fatalf("entry %d: %v", i, err)
		}
	}
	if last, _ := st.LastIndex(); last != 5000 {
		t.Fatalf("last index %d, want 5000", last)
	}
}
