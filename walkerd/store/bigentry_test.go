package store

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

var logKinds = []string{LogWAL, LogBolt}

// openBig opens the log store of kind in dir, wrapped by bigEntries; it is
// closed when the test ends (both stores take a second Close). Its fetch
// fails the test: set one where a test means a follower to fetch.
func openBig(t *testing.T, dir, kind string) *bigEntries {
	t.Helper()
	st, err := openKind(storePath(dir, kind), kind, engine.SyncAlways)
	if err != nil {
		t.Fatal(err)
	}
	b, err := openBigEntries(st, dir, engine.SyncAlways, testLogger())
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	b.fetch = func(f bigFile, from string, w io.Writer) error {
		t.Errorf("fetch of %s called", f.name())
		return errors.New("no fetch in this test")
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// pattern returns n bytes that differ from one seed to another.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed
	}
	return b
}

// bigFileNames lists RaftDir/bigentries.
func bigFileNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, bigEntryDir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func fileOf(index, term uint64) string { return bigFile{index, term}.name() }

func storeAll(t *testing.T, s raft.LogStore, logs ...*raft.Log) {
	t.Helper()
	if err := s.StoreLogs(logs); err != nil {
		t.Fatal(err)
	}
}

func cmdLog(index, term uint64, data []byte) *raft.Log {
	return &raft.Log{Index: index, Term: term, Type: raft.LogCommand, Data: data}
}

// refOf returns a reference to data that b does not hold: what a
// follower receives from the leader.
func refOf(b *bigEntries, data []byte) []byte {
	ref, release := b.hold(data)
	release()
	return ref
}

// storeHeld stores the entry at index and term as the leader does: from
// the bytes it holds while raft stores the reference.
func storeHeld(t *testing.T, b *bigEntries, index, term uint64, data []byte) []byte {
	t.Helper()
	ref, release := b.hold(data)
	defer release()
	storeAll(t, b, cmdLog(index, term, ref))
	return ref
}

// mustRef parses a reference as the FSM does.
func mustRef(t *testing.T, data []byte) bigRef {
	t.Helper()
	r, ok := parseBigRef(&raft.Log{Type: raft.LogCommand, Data: data})
	if !ok {
		t.Fatalf("%q is not a reference", data)
	}
	return r
}

// readBack reads the bytes of the entry the store holds at index.
func readBack(t *testing.T, b *bigEntries, index uint64) []byte {
	t.Helper()
	var l raft.Log
	if err := b.GetLog(index, &l); err != nil {
		t.Fatalf("entry %d: %v", index, err)
	}
	data, err := b.readEntry(l.Index, l.Term, mustRef(t, l.Data))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func lastIndex(t *testing.T, s raft.LogStore) uint64 {
	t.Helper()
	last, err := s.LastIndex()
	if err != nil {
		t.Fatal(err)
	}
	return last
}

// The leader's path: hold returns a 34-byte reference (magic, version,
// size, CRC-32C, id, no address), and StoreLogs writes the file from the bytes held,
// exactly, and stores the entry unchanged. Small entries, large ones that
// are not references, and entries of other types are stored as they are,
// without a file. Stored again once released, the entry keeps its file
// and fetches nothing.
func TestBigEntries_TheLeaderWritesTheFileFromTheBytesItHolds(t *testing.T) {
	for _, kind := range logKinds {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			b := openBig(t, dir, kind)
			data := pattern(bigEntryMin+12345, 1)
			ref, release := b.hold(data)
			if len(ref) != bigRefLen || bigRefLen != 4+1+8+4+16+1 || string(ref[:4]) != "WKBE" || ref[4] != 2 ||
				binary.BigEndian.Uint64(ref[5:13]) != uint64(len(data)) ||
				binary.BigEndian.Uint32(ref[13:17]) != crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)) {
				t.Fatalf("reference %x for %d bytes", ref, len(data))
			}
			if other, rel := b.hold(data); bytes.Equal(other[17:], ref[17:]) {
				t.Fatal("two holds of the same bytes share an id")
			} else {
				rel()
			}
			other := refOf(b, pattern(bigEntryMin, 9))
			logs := []*raft.Log{
				cmdLog(1, 2, []byte("small")),
				cmdLog(2, 2, ref),
				cmdLog(3, 2, pattern(bigEntryMin, 3)), // large, not a reference: the store's
				{Index: 4, Term: 2, Type: raft.LogNoop, Data: other},
				{Index: 5, Term: 2, Type: raft.LogConfiguration, Data: other},
				cmdLog(6, 2, nil),
			}
			want := make([]raft.Log, len(logs))
			for i, l := range logs {
				want[i] = *l
				want[i].Data = bytes.Clone(l.Data)
			}
			storeAll(t, b, logs...)
			if got := bigFileNames(t, dir); !slices.Equal(got, []string{fileOf(2, 2)}) {
				t.Fatalf("files %q, want only entry 2's", got)
			}
			on, err := os.ReadFile(filepath.Join(dir, bigEntryDir, fileOf(2, 2)))
			if err != nil || !bytes.Equal(on, data) {
				t.Fatalf("entry 2's file: %d bytes, want exactly the %d held: %v", len(on), len(data), err)
			}
			for _, w := range want {
				var got raft.Log
				if err := b.GetLog(w.Index, &got); err != nil {
					t.Fatalf("entry %d: %v", w.Index, err)
				}
				if got.Index != w.Index || got.Term != w.Term || got.Type != w.Type || !bytes.Equal(got.Data, w.Data) {
					t.Fatalf("entry %d came back as index %d term %d type %v, %d bytes; stored %d bytes",
						w.Index, got.Index, got.Term, got.Type, len(got.Data), len(w.Data))
				}
			}
			if got := readBack(t, b, 2); !bytes.Equal(got, data) {
				t.Fatalf("readEntry: %d bytes, not the ones held", len(got))
			}

			// raft stores the same entry again: the file stays, nothing is
			// fetched (openBig's fetch fails the test). raft-wal refuses an
			// index it has; raft-boltdb overwrites it.
			release()
			err = b.StoreLogs([]*raft.Log{cmdLog(2, 2, ref)})
			if kind == LogBolt && err != nil {
				t.Fatalf("storing entry 2 again: %v", err)
			}
			if got := bigFileNames(t, dir); !slices.Equal(got, []string{fileOf(2, 2)}) {
				t.Fatalf("after storing entry 2 again (%v): files %q", err, got)
			}
			if got := readBack(t, b, 2); !bytes.Equal(got, data) {
				t.Fatal("entry 2's bytes changed when it was stored again")
			}
			if len(b.held) != 0 {
				t.Fatalf("%d encodings still held after release", len(b.held))
			}
		})
	}
}

// A follower's path: a reference it does not hold is fetched into the
// entry's file before the entry is stored, and checked against the
// reference's size and CRC. Bytes that do not match, a fetch that fails
// and a store without fetch all fail StoreLogs and leave neither a file
// nor an entry, of any entry of the batch.
func TestBigEntries_AFollowerFetchesTheBytesAndChecksThem(t *testing.T) {
	for _, kind := range logKinds {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			b := openBig(t, dir, kind)
			data := pattern(bigEntryMin+7, 3)
			ref := refOf(b, data)
			var calls []bigFile
			serve := func(send []byte) func(bigFile, string, io.Writer) error {
				return func(f bigFile, from string, w io.Writer) error {
					calls = append(calls, f)
					// In pieces, as a socket delivers them.
					for p := send; len(p) > 0; {
						n := min(len(p), 64<<10)
						if _, err := w.Write(p[:n]); err != nil {
							return err
						}
						p = p[n:]
					}
					return nil
				}
			}
			b.fetch = serve(data)
			storeAll(t, b, cmdLog(1, 4, []byte("small")), cmdLog(2, 4, ref))
			if !slices.Equal(calls, []bigFile{{2, 4}}) {
				t.Fatalf("fetch called for %v, want entry 2 of term 4 once", calls)
			}
			on, err := os.ReadFile(filepath.Join(dir, bigEntryDir, fileOf(2, 4)))
			if err != nil || !bytes.Equal(on, data) {
				t.Fatalf("entry 2's file: %d bytes, want the %d fetched: %v", len(on), len(data), err)
			}
			var l raft.Log
			if err := b.GetLog(2, &l); err != nil || !bytes.Equal(l.Data, ref) {
				t.Fatalf("entry 2 stored as %d bytes, want the reference: %v", len(l.Data), err)
			}
			if got := readBack(t, b, 2); !bytes.Equal(got, data) {
				t.Fatal("readEntry: not the bytes fetched")
			}

			data3, data4 := pattern(bigEntryMin, 30), pattern(2*bigEntryMin, 40)
			ref3, ref4 := refOf(b, data3), refOf(b, data4)
			errFetch := errors.New("connection reset by the leader")
			for _, c := range []struct {
				name    string
				fetch   func(bigFile, string, io.Writer) error
				corrupt bool
				wrapped error
			}{
				{"other bytes", serve(pattern(len(data4), 41)), true, nil},
				{"one byte short", serve(data4[:len(data4)-1]), true, nil},
				{"one byte more", serve(append(bytes.Clone(data4), 0)), true, nil},
				{"nothing", serve(nil), true, nil},
				{"no fetch", nil, false, nil},
				{"fetch fails", func(f bigFile, from string, w io.Writer) error { return errFetch }, false, errFetch},
				{"fetch fails halfway", func(f bigFile, from string, w io.Writer) error {
					w.Write(data4[:len(data4)/2])
					return errFetch
				}, false, errFetch},
			} {
				calls = nil
				// Entry 3's bytes arrive, entry 4's do not: neither is kept.
				b.fetch = func(f bigFile, from string, w io.Writer) error {
					if f == (bigFile{3, 4}) {
						return serve(data3)(f, from, w)
					}
					return c.fetch(f, from, w)
				}
				if c.fetch == nil {
					b.fetch = nil
				}
				err := b.StoreLogs([]*raft.Log{cmdLog(3, 4, ref3), cmdLog(4, 4, ref4), cmdLog(5, 4, []byte("small"))})
				if err == nil {
					t.Fatalf("%s: StoreLogs succeeded", c.name)
				}
				if c.corrupt != errors.Is(err, engine.ErrCorruption) {
					t.Fatalf("%s: %v: wraps ErrCorruption %v, want %v", c.name, err, !c.corrupt, c.corrupt)
				}
				if c.wrapped != nil && !errors.Is(err, c.wrapped) {
					t.Fatalf("%s: %v does not wrap the fetch's error", c.name, err)
				}
				if !strings.Contains(err.Error(), "entry 4") && !(c.fetch == nil && strings.Contains(err.Error(), "entry 3")) {
					t.Fatalf("%s: %v does not name the entry", c.name, err)
				}
				if got := bigFileNames(t, dir); !slices.Equal(got, []string{fileOf(2, 4)}) {
					t.Fatalf("%s: files %q left, want entry 2's alone", c.name, got)
				}
				if last := lastIndex(t, b); last != 2 {
					t.Fatalf("%s: last index %d after a failed StoreLogs, want 2", c.name, last)
				}
				if err := b.GetLog(3, &l); !errors.Is(err, raft.ErrLogNotFound) {
					t.Fatalf("%s: entry 3: %v", c.name, err)
				}
			}

			// raft sends the batch again, and this time the bytes arrive.
			calls = nil
			b.fetch = func(f bigFile, from string, w io.Writer) error {
				if f == (bigFile{3, 4}) {
					return serve(data3)(f, from, w)
				}
				return serve(data4)(f, from, w)
			}
			storeAll(t, b, cmdLog(3, 4, ref3), cmdLog(4, 4, ref4), cmdLog(5, 4, []byte("small")))
			if !slices.Equal(calls, []bigFile{{3, 4}, {4, 4}}) {
				t.Fatalf("fetch called for %v", calls)
			}
			if got := bigFileNames(t, dir); !slices.Equal(got, []string{fileOf(2, 4), fileOf(3, 4), fileOf(4, 4)}) {
				t.Fatalf("files %q", got)
			}
			if !bytes.Equal(readBack(t, b, 3), data3) || !bytes.Equal(readBack(t, b, 4), data4) || lastIndex(t, b) != 5 {
				t.Fatal("entries 3 and 4 not read back whole")
			}
		})
	}
}

// A file whose bytes do not match its reference, cut short, or missing,
// is an error that names the file and the index, never other data.
func TestBigEntries_ADamagedOrMissingFileIsAnError(t *testing.T) {
	for _, kind := range logKinds {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			b := openBig(t, dir, kind)
			refs := map[uint64]bigRef{}
			for i := uint64(1); i <= 4; i++ {
				refs[i] = mustRef(t, storeHeld(t, b, i, 1, pattern(bigEntryMin, byte(i))))
			}
			path := func(i uint64) string { return filepath.Join(dir, bigEntryDir, fileOf(i, 1)) }
			on, err := os.ReadFile(path(1))
			if err != nil {
				t.Fatal(err)
			}
			on[len(on)/2] ^= 0x20
			if err := os.WriteFile(path(1), on, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path(2), bigEntryMin-1); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(path(3)); err != nil {
				t.Fatal(err)
			}
			for i := uint64(1); i <= 3; i++ {
				data, err := b.readEntry(i, 1, refs[i])
				if err == nil || data != nil {
					t.Fatalf("entry %d: %d bytes, error %v", i, len(data), err)
				}
				if msg := err.Error(); !strings.Contains(msg, fileOf(i, 1)) || !strings.Contains(msg, fmt.Sprintf("entry %d:", i)) {
					t.Fatalf("entry %d: error %q does not name the file and index", i, msg)
				}
				if i < 3 && !errors.Is(err, engine.ErrCorruption) {
					t.Fatalf("entry %d: %v does not wrap ErrCorruption", i, err)
				}
				if i == 3 && !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("entry 3: %v; want the file missing", err)
				}
			}
			// Entry 4's file read with entry 1's reference: another CRC.
			wrong := refs[4]
			wrong.sum = refs[1].sum
			if data, err := b.readEntry(4, 1, wrong); !errors.Is(err, engine.ErrCorruption) || data != nil {
				t.Fatalf("entry 4 with another CRC: %d bytes, %v", len(data), err)
			}
			if data, err := b.readEntry(4, 1, refs[4]); err != nil || !bytes.Equal(data, pattern(bigEntryMin, 4)) {
				t.Fatalf("entry 4: %v", err)
			}
		})
	}
}

// DeleteRange removes the files of the entries in its range, and only
// those, from either end of the log; a tail rewritten in a new term gets
// new files, which the index then serves and deletes.
func TestBigEntries_DeleteRangeRemovesOnlyItsFiles(t *testing.T) {
	for _, kind := range logKinds {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			b := openBig(t, dir, kind)
			for i := uint64(1); i <= 10; i++ {
				if i%3 != 0 {
					storeHeld(t, b, i, 1, pattern(bigEntryMin, byte(i)))
				} else {
					storeAll(t, b, cmdLog(i, 1, []byte("small")))
				}
			}
			files := func(fs ...bigFile) []string {
				var names []string
				for _, f := range fs {
					names = append(names, f.name())
				}
				return names
			}
			check := func(when string, want ...bigFile) {
				t.Helper()
				if got := bigFileNames(t, dir); !slices.Equal(got, files(want...)) {
					t.Fatalf("%s: files %q, want %q", when, got, files(want...))
				}
				if !slices.Equal(b.files, want) {
					t.Fatalf("%s: index %v, want %v", when, b.files, want)
				}
			}
			check("stored", bigFile{1, 1}, bigFile{2, 1}, bigFile{4, 1}, bigFile{5, 1}, bigFile{7, 1}, bigFile{8, 1}, bigFile{10, 1})
			if err := b.DeleteRange(1, 4); err != nil { // compaction
				t.Fatal(err)
			}
			check("after DeleteRange(1, 4)", bigFile{5, 1}, bigFile{7, 1}, bigFile{8, 1}, bigFile{10, 1})
			if err := b.DeleteRange(8, 10); err != nil { // a follower's conflicting tail
				t.Fatal(err)
			}
			check("after DeleteRange(8, 10)", bigFile{5, 1}, bigFile{7, 1})
			var l raft.Log
			if err := b.GetLog(8, &l); !errors.Is(err, raft.ErrLogNotFound) {
				t.Fatalf("deleted entry 8: %v", err)
			}

			// The tail written again in a new term: a follower fetches it.
			data8 := pattern(bigEntryMin, 80)
			b.fetch = func(f bigFile, from string, w io.Writer) error { _, err := w.Write(data8); return err }
			storeAll(t, b, cmdLog(8, 2, refOf(b, data8)), cmdLog(9, 2, []byte("small")))
			check("after rewriting 8 in term 2", bigFile{5, 1}, bigFile{7, 1}, bigFile{8, 2})
			if got := readBack(t, b, 8); !bytes.Equal(got, data8) {
				t.Fatal("entry 8 rewritten: not its new bytes")
			}
			if _, _, err := b.openFile(8, 1); err == nil {
				t.Fatal("openFile of entry 8 of the old term succeeded")
			}
			for _, i := range []uint64{5, 7} {
				if got := readBack(t, b, i); !bytes.Equal(got, pattern(bigEntryMin, byte(i))) {
					t.Fatalf("entry %d: not its bytes", i)
				}
			}
			if err := b.DeleteRange(7, 9); err != nil {
				t.Fatal(err)
			}
			check("after DeleteRange(7, 9)", bigFile{5, 1})
		})
	}
}

// What a crash leaves in bigentries/ is removed at open: a .tmp file, a
// file past the log's end (written, never appended), a file the entry at
// its index does not reference (another term, or a small entry), and the
// files of a DeleteRange cut short after the store's half. The rest stays
// readable and listed; an empty log keeps no file; names not ours stay.
func TestBigEntries_OpenRemovesWhatACrashLeft(t *testing.T) {
	for _, kind := range logKinds {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			b := openBig(t, dir, kind)
			for i := uint64(1); i <= 6; i++ {
				storeHeld(t, b, i, 1, pattern(bigEntryMin, byte(i)))
			}
			storeAll(t, b, cmdLog(7, 1, []byte("small")))
			// DeleteRange(1, 2) that stopped after the store's half.
			if err := b.logStore.DeleteRange(1, 2); err != nil {
				t.Fatal(err)
			}
			b.Close()
			write := func(name string) {
				if err := os.WriteFile(filepath.Join(dir, bigEntryDir, name), []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write(fileOf(8, 1))          // past LastIndex
			write(fileOf(4, 2))          // not the term of entry 4
			write(fileOf(7, 1))          // entry 7 is no reference
			write(fileOf(8, 1) + ".tmp") // a write cut short
			write(fileOf(3, 1) + ".tmp") // another, beside a good file
			write("notes")               // not ours
			b = openBig(t, dir, kind)
			want := []string{fileOf(3, 1), fileOf(4, 1), fileOf(5, 1), fileOf(6, 1), "notes"}
			if got := bigFileNames(t, dir); !slices.Equal(got, want) {
				t.Fatalf("after reopening: files %q, want %q", got, want)
			}
			if want := []bigFile{{3, 1}, {4, 1}, {5, 1}, {6, 1}}; !slices.Equal(b.files, want) {
				t.Fatalf("index %v, want %v", b.files, want)
			}
			for i := uint64(3); i <= 6; i++ {
				if got := readBack(t, b, i); !bytes.Equal(got, pattern(bigEntryMin, byte(i))) {
					t.Fatalf("entry %d: not its bytes", i)
				}
			}
			// The index loaded at open serves openFile and DeleteRange.
			if f, _, err := b.openFile(3, 1); err != nil {
				t.Fatal(err)
			} else {
				f.Close()
			}
			if err := b.DeleteRange(3, 4); err != nil {
				t.Fatal(err)
			}
			if got, want := bigFileNames(t, dir), []string{fileOf(5, 1), fileOf(6, 1), "notes"}; !slices.Equal(got, want) {
				t.Fatalf("after DeleteRange(3, 4): files %q, want %q", got, want)
			}
			// An empty log keeps no file.
			if err := b.logStore.DeleteRange(5, 7); err != nil {
				t.Fatal(err)
			}
			b.Close()
			write(fileOf(9, 1))
			b = openBig(t, dir, kind)
			if got := bigFileNames(t, dir); !slices.Equal(got, []string{"notes"}) || len(b.files) != 0 {
				t.Fatalf("empty log: files %q, index %v", got, b.files)
			}
		})
	}
}

// A log moved from raft-wal to raft-boltdb (migrateLog, at start-up)
// carries its references over as they are, and they still name the
// files.
func TestBigEntries_AMovedLogStillReadsItsLargeEntries(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "raft")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := Config{RaftDir: dir, LogKind: LogWAL, Sync: engine.SyncAlways}
	st, kind, err := openLog(cfg, testLogger())
	if err != nil || kind != LogWAL {
		t.Fatalf("opening wal: %v, kind %q", err, kind)
	}
	refs := map[uint64][]byte{}
	for i := uint64(1); i <= 4; i++ {
		if i%2 == 0 {
			refs[i] = storeHeld(t, st.(*bigEntries), i, 5, pattern(bigEntryMin+int(i), byte(i)))
		} else {
			storeAll(t, st, cmdLog(i, 5, []byte{byte(i)}))
		}
	}
	st.Close()
	cfg.LogKind = LogBolt
	st, kind, err = openLog(cfg, testLogger())
	if err != nil || kind != LogBolt || held(dir, LogWAL) {
		t.Fatalf("moving to bolt: %v, kind %q", err, kind)
	}
	defer st.Close()
	b := st.(*bigEntries)
	for i := uint64(1); i <= 4; i++ {
		var l raft.Log
		if err := b.GetLog(i, &l); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if l.Term != 5 {
			t.Fatalf("entry %d: term %d", i, l.Term)
		}
		if i%2 == 1 {
			if !bytes.Equal(l.Data, []byte{byte(i)}) {
				t.Fatalf("entry %d: %q", i, l.Data)
			}
			continue
		}
		if !bytes.Equal(l.Data, refs[i]) {
			t.Fatalf("entry %d: %d bytes, not its reference", i, len(l.Data))
		}
		if got := readBack(t, b, i); !bytes.Equal(got, pattern(bigEntryMin+int(i), byte(i))) {
			t.Fatalf("entry %d: not its bytes", i)
		}
	}
	if got := bigFileNames(t, dir); !slices.Equal(got, []string{fileOf(2, 5), fileOf(4, 5)}) {
		t.Fatalf("files %q", got)
	}
	if f, size, err := b.openFile(4, 5); err != nil || size != int64(bigEntryMin+4) {
		t.Fatalf("openFile(4, 5) after the move: size %d, %v", size, err)
	} else {
		f.Close()
	}
}

// openFile (WALKER.BLOB) opens the file of an entry the log holds, with
// its size, and refuses an index or term it holds no file for.
func TestBigEntries_OpenFileServesTheEntriesItHolds(t *testing.T) {
	for _, kind := range logKinds {
		t.Run(kind, func(t *testing.T) {
			b := openBig(t, t.TempDir(), kind)
			data := pattern(bigEntryMin+99, 5)
			storeAll(t, b, cmdLog(1, 3, []byte("small")))
			storeHeld(t, b, 2, 3, data)
			f, size, err := b.openFile(2, 3)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(f)
			f.Close()
			if err != nil || size != int64(len(data)) || !bytes.Equal(got, data) {
				t.Fatalf("openFile(2, 3): size %d, %d bytes read (%v), want %d", size, len(got), err, len(data))
			}
			for _, c := range []bigFile{{2, 2}, {2, 4}, {1, 3}, {3, 3}, {0, 0}} {
				if f, _, err := b.openFile(c.index, c.term); err == nil {
					f.Close()
					t.Fatalf("openFile(%d, %d) succeeded", c.index, c.term)
				} else if !strings.Contains(err.Error(), fmt.Sprintf("%d of term %d", c.index, c.term)) {
					t.Fatalf("openFile(%d, %d): %v does not name the entry", c.index, c.term, err)
				}
			}
			if err := b.DeleteRange(1, 2); err != nil {
				t.Fatal(err)
			}
			if _, _, err := b.openFile(2, 3); err == nil {
				t.Fatal("openFile of a deleted entry succeeded")
			}
		})
	}
}

// The bytes of a large entry are not copied on the way in (the file is
// written from the bytes held), and read back with one allocation of
// their size.
func TestBigEntries_StoreAndReadCopyTheBytesOnce(t *testing.T) {
	const size = 16 << 20
	for _, kind := range logKinds {
		t.Run(kind, func(t *testing.T) {
			b := openBig(t, t.TempDir(), kind)
			data := pattern(size, 1)
			alloc := func(fn func()) uint64 {
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				fn()
				runtime.ReadMemStats(&m1)
				return m1.TotalAlloc - m0.TotalAlloc
			}
			ref, release := b.hold(data)
			defer release()
			if n := alloc(func() { storeAll(t, b, cmdLog(1, 1, ref)) }); n > 1<<20 {
				t.Fatalf("StoreLogs of a %d-byte entry allocated %d bytes", size, n)
			}
			r := mustRef(t, ref)
			var got []byte
			if n := alloc(func() {
				var err error
				if got, err = b.readEntry(1, 1, r); err != nil {
					t.Fatal(err)
				}
			}); n < size || n > size+1<<20 {
				t.Fatalf("readEntry of a %d-byte entry allocated %d bytes", size, n)
			}
			if !bytes.Equal(got, data) || cap(got) != size {
				t.Fatalf("read back %d bytes, cap %d", len(got), cap(got))
			}
		})
	}
}

// bigSet is a SET of key to val as a client's entry.
func bigSet(key string, val []byte) *command.Entry {
	return &command.Entry{NowMs: 1, Cmds: [][][]byte{{[]byte("SET"), []byte(key), val}}}
}

// waitBig waits until GET key on s answers val, without printing it.
func waitBig(t *testing.T, s *Store, key string, val []byte) {
	t.Helper()
	want := "$" + strconv.Itoa(len(val)) + "\r\n" + string(val) + "\r\n"
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := get(t, s.fsm, key)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: GET %s answers %d bytes, not the %d-byte value", s.cfg.ID, key, len(got), len(val))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// blobFetch is Config.Fetch for in-process stores: it answers
// WALKER.BLOB from the store p registers at addr, as walkerd's
// server/blob.go does, through a pipe, and counts the calls by the node
// that made them.
type blobFetch struct {
	p     *probes
	mu    sync.Mutex
	calls map[string][]string // caller id -> addresses asked
}

func (bf *blobFetch) tweak(c *Config) {
	id := c.ID
	c.Fetch = func(addr string, args [][]byte, read func(*bufio.Reader) error) error {
		bf.mu.Lock()
		bf.calls[id] = append(bf.calls[id], addr)
		bf.mu.Unlock()
		bf.p.mu.Lock()
		s := bf.p.stores[addr]
		bf.p.mu.Unlock()
		if s == nil {
			return fmt.Errorf("dial tcp %s: connection refused", addr)
		}
		if len(args) != 3 || string(args[0]) != "WALKER.BLOB" {
			return fmt.Errorf("unexpected command %q", args)
		}
		index, err1 := strconv.ParseUint(string(args[1]), 10, 64)
		term, err2 := strconv.ParseUint(string(args[2]), 10, 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("WALKER.BLOB %q %q", args[1], args[2])
		}
		pr, pw := io.Pipe()
		go func() {
			f, size, err := s.OpenBlob(index, term)
			if err != nil {
				fmt.Fprintf(pw, "-ERR no such blob: %v\r\n", err)
				pw.Close()
				return
			}
			defer f.Close()
			fmt.Fprintf(pw, "$%d\r\n", size)
			if _, err := io.Copy(pw, io.LimitReader(f, size)); err != nil {
				pw.CloseWithError(err)
				return
			}
			io.WriteString(pw, "\r\n")
			pw.Close()
		}()
		defer pr.Close()
		return read(bufio.NewReader(pr))
	}
}

// Three in-process nodes, one of them on raft-boltdb: a 3 MiB SET applied
// on the leader reaches every node's engine; every node's log holds the
// same 37-byte reference at its index and a file of the entry's exact
// encoding; the followers fetched it from the leader (WALKER.BLOB through
// Config.Fetch), the leader fetched nothing.
func TestBigEntries_AThreeNodeClusterReplicatesALargeSet(t *testing.T) {
	p := newProbes()
	bf := &blobFetch{p: p, calls: map[string][]string{}}
	nodes := joinAll(t, p, []string{"n1", "n2", "n3"}, func(c *Config) {
		bf.tweak(c)
		if c.ID == "n2" {
			c.LogKind = LogBolt
		}
	})
	if nodes[1].logKind != LogBolt || nodes[0].logKind != LogWAL {
		t.Fatalf("log kinds %q, %q", nodes[0].logKind, nodes[1].logKind)
	}
	val := pattern(3<<20, 7)
	e := bigSet("k", val)
	enc := e.Encode()
	res, err := nodes[0].Apply(e)
	if err != nil {
		t.Fatal(err)
	}
	var ref []byte
	for _, s := range nodes {
		waitBig(t, s, "k", val)
		var l raft.Log
		if err := s.logDB.GetLog(res.Index, &l); err != nil {
			t.Fatalf("%s: entry %d: %v", s.cfg.ID, res.Index, err)
		}
		if len(l.Data) != bigRefLen+int(l.Data[bigRefLen-1]) || l.Term != res.Term {
			t.Fatalf("%s: entry %d of term %d holds %d bytes, want a %d-byte reference", s.cfg.ID, res.Index, l.Term, len(l.Data), bigRefLen)
		}
		if ref == nil {
			ref = l.Data
		} else if !bytes.Equal(l.Data, ref) {
			t.Fatalf("%s: entry %d is %x, the leader's %x", s.cfg.ID, res.Index, l.Data, ref)
		}
		on, err := os.ReadFile(filepath.Join(s.cfg.RaftDir, bigEntryDir, fileOf(res.Index, res.Term)))
		if err != nil || !bytes.Equal(on, enc) {
			t.Fatalf("%s: the entry's file: %d bytes, want the %d of its encoding: %v", s.cfg.ID, len(on), len(enc), err)
		}
	}
	bf.mu.Lock()
	defer bf.mu.Unlock()
	if n := len(bf.calls["n1"]); n != 0 {
		t.Fatalf("the leader fetched %d times", n)
	}
	for _, id := range []string{"n2", "n3"} {
		asked := bf.calls[id]
		if len(asked) == 0 {
			t.Fatalf("%s never fetched", id)
		}
		for _, addr := range asked {
			if addr != nodes[0].cfg.RESPAddr {
				t.Fatalf("%s fetched from %s, not the leader's %s", id, addr, nodes[0].cfg.RESPAddr)
			}
		}
	}
}

// Through a one-node Store: a 3 MiB SET is applied, its entry lives in a
// file under bigentries/ (the log holding the reference), and the file
// goes when a snapshot compacts the log past it.
func TestBigEntries_OneNodeStoreAppliesALargeSet(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	raftDir := filepath.Join(dir, "raft")
	s, err := Open(Config{ID: "solo", RaftAddr: addr, RESPAddr: "127.0.0.1:1", RaftDir: raftDir, DataDir: filepath.Join(dir, "data"),
		Bootstrap: true, Sync: engine.SyncAlways, Engine: engine.DefaultOptions(), TrailingLogs: 1, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeOnce(s) })
	waitReady(t, s)

	val := pattern(3<<20, 9)
	e := bigSet("big", val)
	res, err := s.Apply(e)
	if err != nil {
		t.Fatal(err)
	}
	if got := get(t, s.fsm, "big"); got != "$3145728\r\n"+string(val)+"\r\n" {
		t.Fatalf("GET big: %d bytes, not the value", len(got))
	}
	name := fileOf(res.Index, res.Term)
	if on, err := os.ReadFile(filepath.Join(raftDir, bigEntryDir, name)); err != nil || !bytes.Equal(on, e.Encode()) {
		t.Fatalf("the entry's file: %d bytes, %v", len(on), err)
	}
	var l raft.Log
	if err := s.logDB.GetLog(res.Index, &l); err != nil {
		t.Fatal(err)
	}
	if _, ok := parseBigRef(&l); !ok {
		t.Fatalf("entry %d holds %d bytes, not a reference", res.Index, len(l.Data))
	}
	if n := len(s.big.held); n != 0 {
		t.Fatalf("%d encodings still held after Apply returned", n)
	}

	for i := range 3 {
		if _, err := s.Apply(bigSet("k", []byte{byte('0' + i)})); err != nil {
			t.Fatal(err)
		}
	}
	if got := bigFileNames(t, raftDir); !slices.Contains(got, name) {
		t.Fatalf("the file went before compaction: %q", got)
	}
	if err := s.Snapshot(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for slices.Contains(bigFileNames(t, raftDir), name) {
		if time.Now().After(deadline) {
			first, _ := s.logDB.FirstIndex()
			t.Fatalf("file %s still there after a snapshot; log starts at %d", name, first)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if first, err := s.logDB.FirstIndex(); err != nil || first <= res.Index {
		t.Fatalf("log starts at %d after the snapshot, entry %d still in it: %v", first, res.Index, err)
	}
}

// An entry deleted from the head of the log is not found, as raft expects
// of a compacted entry (it then sends a snapshot, replication.go's
// setupAppendEntries): its file is gone, and WALKER.BLOB refuses it.
func TestBigEntries_ACompactedEntryIsNotFound(t *testing.T) {
	for _, kind := range logKinds {
		t.Run(kind, func(t *testing.T) {
			if kind == LogWAL {
			}
			b := openBig(t, t.TempDir(), kind)
			for i := uint64(1); i <= 3; i++ {
				storeHeld(t, b, i, 1, pattern(bigEntryMin, byte(i)))
			}
			if err := b.DeleteRange(1, 2); err != nil {
				t.Fatal(err)
			}
			for i := uint64(1); i <= 2; i++ {
				var l raft.Log
				if err := b.GetLog(i, &l); !errors.Is(err, raft.ErrLogNotFound) {
					t.Fatalf("compacted entry %d: %v, %d bytes of data", i, err, len(l.Data))
				}
			}
		})
	}
}

// A node that joins after a large SET was applied gets it: from the log,
// or from a snapshot once the log was compacted past it.
func TestBigEntries_ANodeThatJoinsLaterGetsALargeSet(t *testing.T) {
	for _, compact := range []bool{false, true} {
		t.Run(fmt.Sprint("compacted=", compact), func(t *testing.T) {
			p := newProbes()
			bf := &blobFetch{p: p, calls: map[string][]string{}}
			tweak := func(c *Config) { bf.tweak(c); c.TrailingLogs = 1 }
			n1 := openMember(t, p, "n1", true, tweak)
			waitReady(t, n1)
			val := pattern(3<<20, 5)
			if _, err := n1.Apply(bigSet("k", val)); err != nil {
				t.Fatal(err)
			}
			if compact {
				for i := range 3 {
					if err := set(n1, "s", strconv.Itoa(i)); err != nil {
						t.Fatal(err)
					}
				}
				if err := n1.Snapshot(); err != nil {
					t.Fatal(err)
				}
			}
			n2 := openMember(t, p, "n2", false, tweak)
			if err := n1.Join("n2", n2.cfg.RaftAddr, n2.cfg.RESPAddr); err != nil {
				t.Fatal(err)
			}
			waitBig(t, n2, "k", val)
		})
	}
}

// applyOnLeader applies e on whichever of nodes leads, trying again
// while none does (an election on a loaded machine), for up to 20 s. e
// must be idempotent (its callers' are SETs): a leader that steps down
// while e is in flight answers ErrUnknownOutcome, e may or may not have
// committed, and applying it again leaves the same state either way.
func applyOnLeader(t *testing.T, nodes []*Store, e *command.Entry) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, s := range nodes {
			if s.raft.State() != raft.Leader {
				continue
			}
			_, err := s.Apply(e)
			var nl *backend.NotLeaderError
			if err == nil {
				return
			} else if !errors.As(err, &nl) && !errors.Is(err, backend.ErrUnknownOutcome) {
				t.Fatalf("%s: %v", s.cfg.ID, err)
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no leader took the write for 20 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// bigDirBytes sums the sizes of the large entries' files in raftDir. The
// store may delete a file between the listing and its stat (a snapshot
// trims them as this runs): such a file counts as gone.
func bigDirBytes(t *testing.T, raftDir string) int64 {
	t.Helper()
	var n int64
	for _, name := range bigFileNames(t, raftDir) {
		fi, err := os.Stat(filepath.Join(raftDir, bigEntryDir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

// The files of large entries are bounded in bytes, not only by raft's
// count of trailing entries: three nodes keeping 10,240 trailing entries
// and 8 MiB of files take twelve 2 MiB SETs; each node snapshots and
// deletes the files the snapshot covers until they are under the bound;
// every value is on every node; a node restarted afterwards opens its log
// (whose last entry's file it kept) and has every value; and a node that
// joins afterwards gets them from a snapshot.
func TestBigEntries_TheFilesStayUnderABoundInBytes(t *testing.T) {
	const bound = 8 << 20
	p := newProbes()
	bf := &blobFetch{p: p, calls: map[string][]string{}}
	tweak := func(c *Config) {
		bf.tweak(c)
		c.BigEntriesMaxBytes = bound
		c.TrailingLogs = 10240
	}
	nodes := joinAll(t, p, []string{"n1", "n2", "n3"}, tweak)
	vals := make([][]byte, 12)
	for i := range vals {
		vals[i] = pattern(2<<20, byte(i))
		applyOnLeader(t, nodes, bigSet("k"+strconv.Itoa(i), vals[i]))
	}
	for _, s := range nodes {
		for i, v := range vals {
			waitBig(t, s, "k"+strconv.Itoa(i), v)
		}
		deadline := time.Now().Add(15 * time.Second)
		for bigDirBytes(t, s.cfg.RaftDir) > bound {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d bytes of large entries' files, over the %d bound", s.cfg.ID, bigDirBytes(t, s.cfg.RaftDir), bound)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if n := len(bigFileNames(t, s.cfg.RaftDir)); n == 0 || n >= len(vals) {
			t.Fatalf("%s: %d files of the %d entries", s.cfg.ID, n, len(vals))
		}
	}

	// A follower restarted: raft reads its log's last entry, and the
	// engine has every value.
	f := nodes[2]
	if f.raft.State() == raft.Leader {
		f = nodes[1]
	}
	cfg := f.cfg
	closeOnce(f)
	again, err := Open(cfg)
	if err != nil {
		t.Fatalf("reopening %s: %v", cfg.ID, err)
	}
	t.Cleanup(func() { closeOnce(again) })
	for i, v := range vals {
		waitBig(t, again, "k"+strconv.Itoa(i), v)
	}

	// A node that joins now needs entries whose files are gone: it gets a
	// snapshot.
	late := openMember(t, p, "n4", false, tweak)
	deadline := time.Now().Add(20 * time.Second)
	for joined := false; !joined; {
		for _, s := range append(nodes, again) {
			if s != f && s.raft.State() == raft.Leader {
				joined = s.Join("n4", late.cfg.RaftAddr, late.cfg.RESPAddr) == nil
			}
		}
		if !joined && time.Now().After(deadline) {
			t.Fatal("no leader took n4's JOIN for 20 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i, v := range vals {
		waitBig(t, late, "k"+strconv.Itoa(i), v)
	}
}
