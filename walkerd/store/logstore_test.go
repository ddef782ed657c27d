package store

import (
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// A node's Raft log moves between the two stores when --raft-log names
// the other one: at each restart every write is still there, the log
// keeps its indexes and term, the old store is set aside under
// .migrated, and "auto" keeps whichever store the directory holds. A new
// node gets raft-wal.
func TestLogStore_MovesBetweenStoresAtStart(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	open := func(kind string) *Store {
		t.Helper()
		s, err := Open(Config{ID: "n1", RaftAddr: addr, RESPAddr: "127.0.0.1:1", RaftDir: filepath.Join(dir, "raft"),
			DataDir: filepath.Join(dir, "data"), Bootstrap: true, Sync: engine.SyncAlways, Engine: engine.DefaultOptions(), LogKind: kind})
		if err != nil {
			t.Fatalf("open with %q: %v", kind, err)
		}
		waitReady(t, s)
		return s
	}
	writes := 0
	var lastTerm uint64
	step := func(kind, want string) {
		t.Helper()
		s := open(kind)
		if s.logKind != want {
			t.Fatalf("--raft-log %q opened %q, want %q", kind, s.logKind, want)
		}
		// Every earlier write, read back through the engine the log
		// rebuilt nothing of (it is the same engine), and the log still
		// holds each of them at its index.
		for i := range writes {
			if v := get(t, s.fsm, "k"+strconv.Itoa(i)); v != "$1\r\nv\r\n" {
				t.Fatalf("after opening %s: k%d = %q", want, i, v)
			}
		}
		last, _ := s.logDB.LastIndex()
		if writes > 0 && last < uint64(writes) {
			t.Fatalf("%s log's last index %d after %d writes", want, last, writes)
		}
		var l raft.Log
		if first, _ := s.logDB.FirstIndex(); writes > 0 && (first != 1 || s.logDB.GetLog(first, &l) != nil) {
			t.Fatalf("%s log starts at %d", want, first)
		}
		// The term moved with the log: a node that forgot it could vote
		// twice in one term.
		term := s.raft.CurrentTerm()
		if term <= lastTerm {
			t.Fatalf("term %d after a restart in term %d", term, lastTerm)
		}
		lastTerm = term
		for range 50 {
			if _, err := s.Apply(&command.Entry{NowMs: 1, Cmds: [][][]byte{{[]byte("SET"), []byte("k" + strconv.Itoa(writes)), []byte("v")}}}); err != nil {
				t.Fatal(err)
			}
			writes++
		}
		closeOnce(s)
	}
	step("auto", LogWAL) // a new node
	assertHeld(t, dir, LogWAL, true, LogBolt, false)
	step("bolt", LogBolt) // moved
	assertHeld(t, dir, LogBolt, true, LogWAL, false)
	if _, err := os.Stat(filepath.Join(dir, "raft", "wal.migrated")); err != nil {
		t.Fatalf("the old raft-wal log was not set aside: %v", err)
	}
	step("auto", LogBolt) // kept
	step("wal", LogWAL)   // and back
	assertHeld(t, dir, LogWAL, true, LogBolt, false)
	step("", LogWAL)
}

func assertHeld(t *testing.T, dir string, kinds ...any) {
	t.Helper()
	for i := 0; i < len(kinds); i += 2 {
		if got := held(filepath.Join(dir, "raft"), kinds[i].(string)); got != kinds[i+1].(bool) {
			t.Fatalf("%s log held: %v, want %v", kinds[i], got, kinds[i+1])
		}
	}
}

// A move that stopped after the copy was renamed into place, before the
// old store was set aside, leaves two whole logs: the named store is
// opened and the other set aside, and a move that stopped earlier left
// only a .partial copy, which the next start replaces.
func TestLogStore_AnInterruptedMoveFinishes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "raft")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := openKind(storePath(dir, LogBolt), LogBolt, engine.SyncAlways)
	if err != nil {
		t.Fatal(err)
	}
	for i := uint64(1); i <= 10; i++ {
		if err := src.StoreLog(&raft.Log{Index: i, Term: 3, Type: raft.LogCommand, Data: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.SetUint64(keyCurrentTerm, 3); err != nil {
		t.Fatal(err)
	}
	src.Close()
	// A partial copy of an earlier attempt: garbage that must not count.
	if err := os.MkdirAll(storePath(dir, LogWAL)+".partial", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(storePath(dir, LogWAL)+".partial", "junk"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, kind, err := openLog(Config{RaftDir: dir, LogKind: LogWAL, Sync: engine.SyncAlways}, testLogger())
	if err != nil || kind != LogWAL {
		t.Fatalf("openLog: %v %q", err, kind)
	}
	last, _ := st.LastIndex()
	term, _ := st.GetUint64(keyCurrentTerm)
	var l raft.Log
	if err := st.GetLog(7, &l); err != nil || l.Data[0] != 7 || l.Term != 3 || last != 10 || term != 3 {
		t.Fatalf("moved log: last %d term %d entry 7 %+v %v", last, term, l, err)
	}
	st.Close()
	// Now both logs whole, as after a crash between the two renames.
	if err := os.Rename(storePath(dir, LogBolt)+".migrated", storePath(dir, LogBolt)); err != nil {
		t.Fatal(err)
	}
	st, kind, err = openLog(Config{RaftDir: dir, LogKind: LogWAL, Sync: engine.SyncAlways}, testLogger())
	if err != nil || kind != LogWAL || held(dir, LogBolt) {
		t.Fatalf("openLog with both held: %v %q, bolt still held %v", err, kind, held(dir, LogBolt))
	}
	if last, _ := st.LastIndex(); last != 10 {
		t.Fatalf("last index %d", last)
	}
	st.Close()
}

func testLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
