package store

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

func testFSM(t *testing.T, dir string) *fsm {
	t.Helper()
	f, err := openFSM(dir, engine.Options{Sync: engine.SyncNo}, slog.New(slog.NewTextHandler(io.Discard, nil)), func(err error) { t.Fatalf("fatal: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.close() })
	return f
}

func entry(args ...string) []byte {
	cmd := make([][]byte, len(args))
	for i, a := range args {
		cmd[i] = []byte(a)
	}
	return (&command.Entry{NowMs: time.Now().UnixMilli(), Cmds: [][][]byte{cmd}}).Encode()
}

func apply(f *fsm, index uint64, args ...string) string {
	res, _ := f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: entry(args...)}).(*command.Result)
	return render(res)
}

// render encodes one command's result as a RESP2 client gets it.
func render(res *command.Result) string {
	if res == nil {
		return ""
	}
	e := &resp.Encoder{Proto: 2}
	res.Reply().WriteTo(e)
	return string(e.B)
}

func get(t *testing.T, f *fsm, key string) string {
	t.Helper()
	e := &resp.Encoder{Proto: 2}
	if err := command.Read(f.engine(), 0, time.Now().UnixMilli(), nil, [][]byte{[]byte("GET"), []byte(key)}, e); err != nil {
		t.Fatal(err)
	}
	return string(e.B)
}

func TestFSM_SkipsEntriesAlreadyAppliedBeforeARestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	f := testFSM(t, dir)
	for i := uint64(1); i <= 10; i++ {
		if got := apply(f, i, "INCR", "n"); got == "" || got[0] != ':' {
			t.Fatalf("INCR at %d replied %q", i, got)
		}
	}
	f.close()
	// Raft replays the log after its snapshot (here: all of it).
	f = testFSM(t, dir)
	for i := uint64(1); i <= 12; i++ {
		apply(f, i, "INCR", "n")
	}
	if got := get(t, f, "n"); got != "$2\r\n12\r\n" {
		t.Fatalf("n = %q after replaying 12 entries over 10 applied, want 12", got)
	}
}

type memSink struct {
	bytes.Buffer
	cancelled bool
}

func (m *memSink) ID() string    { return "test" }
func (m *memSink) Cancel() error { m.cancelled = true; return nil }
func (m *memSink) Close() error  { return nil }

func TestFSM_RestoreReplacesTheDataWhole(t *testing.T) {
	leader := testFSM(t, filepath.Join(t.TempDir(), "data"))
	apply(leader, 1, "SET", "kept", "1")
	apply(leader, 2, "SET", "deleted", "x")
	apply(leader, 3, "DEL", "deleted")
	snap, err := leader.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil || sink.cancelled {
		t.Fatal(err)
	}
	snap.Release()
	apply(leader, 4, "SET", "after", "y") // not in the snapshot

	follower := testFSM(t, filepath.Join(t.TempDir(), "data"))
	apply(follower, 1, "SET", "deleted", "stale") // what the follower had
	apply(follower, 2, "SET", "only-here", "z")
	if err := follower.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"kept": "$1\r\n1\r\n", "deleted": "$-1\r\n", "only-here": "$-1\r\n", "after": "$-1\r\n"} {
		if got := get(t, follower, key); got != want {
			t.Errorf("after restore %s = %q, want %q", key, got, want)
		}
	}
	if follower.applied.Load() != 3 {
		t.Errorf("applied index %d after restore, want the snapshot's 3", follower.applied.Load())
	}
}

func TestFSM_FinishSwapBringsTheOldDataBack(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	f := testFSM(t, dir)
	apply(f, 1, "SET", "k", "v")
	f.close()
	// A crash between Restore's two renames: data moved aside, new not in.
	if err := os.Rename(dir, dir+".old"); err != nil {
		t.Fatal(err)
	}
	f = testFSM(t, dir)
	if got := get(t, f, "k"); got != "$1\r\nv\r\n" {
		t.Fatalf("k = %q after finishing an interrupted swap", got)
	}
}

// A snapshot installed over entries this node never applied: the messages
// they published are counted as missed (the count of messages the log
// carried, in the snapshot, less the count here), and the skipped entries
// too.
func TestFSM_RestoreCountsTheMessagesItSkipped(t *testing.T) {
	leader := testFSM(t, filepath.Join(t.TempDir(), "data"))
	follower := testFSM(t, filepath.Join(t.TempDir(), "data"))
	for _, f := range []*fsm{leader, follower} {
		apply(f, 1, "PUBLISH", "ch", "both")
		apply(f, 2, "SET", "k", "v")
	}
	apply(leader, 3, "PUBLISH", "ch", "m1")
	apply(leader, 4, "SPUBLISH", "sh", "m2")
	apply(leader, 5, "SET", "k", "w")
	apply(leader, 6, "PUBLISH", "ch", "m3")
	if n, err := command.Published(leader.engine()); err != nil || n != 4 {
		t.Fatalf("leader published %d %v, want 4", n, err)
	}
	snap, err := leader.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil || sink.cancelled {
		t.Fatal(err)
	}
	snap.Release()
	if err := follower.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if got := follower.pubMissed.Load(); got != 3 {
		t.Errorf("messages missed %d, want 3 (indexes 3, 4 and 6)", got)
	}
	if got := follower.skipped.Load(); got != 4 {
		t.Errorf("entries skipped %d, want 4 (indexes 3 to 6)", got)
	}
	// Applying goes on from the snapshot's count.
	apply(follower, 7, "PUBLISH", "ch", "m4")
	if n, err := command.Published(follower.engine()); err != nil || n != 5 {
		t.Fatalf("follower published %d %v after one more, want 5", n, err)
	}
}
