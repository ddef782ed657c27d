package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/engine/hint"
	"github.com/walkerdb/walkerdb/engine/record"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// runCmd runs walkerdump in process with captured output.
func runCmd(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(append([]string{"walkerdump"}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

// mustRun runs walkerdump and fails unless it exits with want.
func mustRun(t testing.TB, want int, args ...string) string {
	t.Helper()
	out, errs, code := runCmd(t, args...)
	if code != want {
		t.Fatalf("walkerdump %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errs)
	}
	return out
}

// kv is one key's state: its value and expiry (Unix ms, 0 = none).
type kv struct {
	value string
	exp   int64
}

var (
	// Expiry times far from the test's run, so no key changes state during it.
	farFuture = time.Now().Add(time.Hour).UnixMilli()
	farPast   = time.Now().Add(-time.Hour).UnixMilli()
)

// testOptions are the engine options of the test directories: 4 KiB
// segments, so there are many, each with a hint.
func testOptions() *engine.Options {
	return &engine.Options{SegmentSize: engine.MinSegmentSize, Sync: engine.SyncNo}
}

// makeDir writes a directory the way walkerd lays keys out: four
// databases, text and binary keys and values, overwrites, deletes, keys
// with a TTL and keys already expired, batches, an internal key and a key
// outside the layout. It closes the DB and writes every hint.
func makeDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	db, err := engine.Open(dir, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	key := func(i int) []byte {
		if i%10 == 7 {
			return keyspace.Key(i%4, []byte{0xff, 0xfe, byte(i), 0x00, 'b'}) // not UTF-8
		}
		return keyspace.Key(i%4, fmt.Appendf(nil, "user:%d", i))
	}
	for i := range 420 {
		k := key(i % 150)
		v := fmt.Appendf(nil, "value %d of key %d", i, i%150)
		if i%6 == 0 {
			v = append(v, 0x80, 0x00, 0xc3) // not UTF-8
		}
		var exp int64
		switch i % 13 {
		case 3:
			exp = farFuture
		case 5:
			exp = farPast
		}
		if err := db.PutWithExpiry(k, v, exp); err != nil {
			t.Fatal(err)
		}
		if i%11 == 0 {
			if err := db.Delete(key((i * 7) % 150)); err != nil {
				t.Fatal(err)
			}
		}
		if i%30 == 0 {
			var b engine.Batch
			for j := range 4 {
				b.PutWithExpiry(keyspace.Key(j, fmt.Appendf(nil, "batch:%d", i)), fmt.Appendf(nil, "batch %d member %d", i, j), exp)
			}
			b.Delete(key((i + 1) % 150))
			b.SetSeq(uint64(1000 + i))
			if err := db.Write(&b); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.Put([]byte(keyspace.MemberPrefix+"1"), []byte("127.0.0.1:6379")); err != nil {
		t.Fatal(err)
	}
	if err := db.Put([]byte{20, 'x'}, []byte("not in walkerd's layout")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	mustRun(t, 0, "hint", dir)
	return dir
}

// rawRec is one record of an undamaged segment, decoded by the test itself
// with record.Decode: an account of the data independent of the engine's
// scanner.
type rawRec struct {
	off, size int64
	rec       record.Record
}

// segments lists dir's segment files in id order.
func segments(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	return m
}

func rawRecords(t testing.TB, path string) []rawRec {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []rawRec
	for off := int64(0); off < int64(len(data)); {
		rec, err := record.Decode(data[off:], int64(len(data)))
		if err != nil {
			t.Fatalf("%s offset %d: %v (the test decodes undamaged files only)", path, off, err)
		}
		out = append(out, rawRec{off, rec.Size(), rec})
		off += rec.Size()
	}
	return out
}

func allRecords(t testing.TB, dir string) [][]rawRec {
	t.Helper()
	var segs [][]rawRec
	for _, p := range segments(t, dir) {
		segs = append(segs, rawRecords(t, p))
	}
	return segs
}

// readable is the state that segs (each segment's records, in id order)
// hold once the bytes lost says are gone: a record is lost if any byte of
// it is, a batch if any of its members or its commit is, and a batch
// without a commit is never applied.
func readable(segs [][]rawRec, lost func(seg int, off, end int64) bool) map[string]kv {
	m := map[string]kv{}
	apply := func(r rawRec) {
		if r.rec.Kind() == record.KindPut {
			m[string(r.rec.Key)] = kv{string(r.rec.Value), r.rec.ExpireAt}
		} else {
			delete(m, string(r.rec.Key))
		}
	}
	for si, recs := range segs {
		var batch []rawRec
		batchLost := false
		for _, r := range recs {
			gone := lost != nil && lost(si, r.off, r.off+r.size)
			switch {
			case r.rec.InBatch():
				batch = append(batch, r)
				batchLost = batchLost || gone
			case r.rec.Kind() == record.KindCommit:
				if !gone && !batchLost {
					for _, b := range batch {
						apply(b)
					}
				}
				batch, batchLost = nil, false
			default:
				if !gone {
					apply(r)
				}
			}
		}
	}
	return m
}

// unexpired drops the keys that have expired by now.
func unexpired(m map[string]kv) map[string]kv {
	out := map[string]kv{}
	now := time.Now().UnixMilli()
	for k, v := range m {
		if v.exp == 0 || v.exp > now {
			out[k] = v
		}
	}
	return out
}

// engineContents opens dir with the engine and reads every key, expired
// ones included.
func engineContents(t testing.TB, dir string) map[string]kv {
	t.Helper()
	db, err := engine.Open(dir, testOptions())
	if err != nil {
		t.Fatalf("engine.Open: %v", err)
	}
	defer db.Close()
	items, _, err := db.Scan(engine.ScanOptions{IncludeExpired: true})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]kv{}
	for _, it := range items {
		m[string(it.Key)] = kv{string(it.Value), it.ExpireAt}
	}
	return m
}

func sameKVs(t testing.TB, got, want map[string]kv) {
	t.Helper()
	var bad []string
	for k, v := range want {
		if g, ok := got[k]; !ok {
			bad = append(bad, fmt.Sprintf("%q: missing, want %q", k, v.value))
		} else if g != v {
			bad = append(bad, fmt.Sprintf("%q: got %q exp %d, want %q exp %d", k, g.value, g.exp, v.value, v.exp))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			bad = append(bad, fmt.Sprintf("%q: present (%q), want absent", k, g.value))
		}
	}
	sort.Strings(bad)
	if len(bad) > 8 {
		bad = append(bad[:8], fmt.Sprintf("... and %d more", len(bad)-8))
	}
	for _, b := range bad {
		t.Error(b)
	}
	if len(bad) == 0 && len(want) == 0 {
		t.Error("no keys at all: the test compares nothing")
	}
}

// snapshotDir reads every file and directory under dir, by relative path.
func snapshotDir(t testing.TB, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			m[rel+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(path)
		m[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sameSnapshot(t testing.TB, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s: gone", k)
		} else if g != v {
			t.Errorf("%s: changed", k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: new", k)
		}
	}
}

func flipBytes(t testing.TB, path string, from, to int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, to-from)
	if _, err := f.ReadAt(b, from); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] ^= 0x5a
	}
	if _, err := f.WriteAt(b, from); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			copyFile(t, filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()))
		}
	}
}

// plainRecords are the indexes of records that are neither batch members
// nor commits.
func plainRecords(recs []rawRec) []int {
	var out []int
	for i, r := range recs {
		if !r.rec.InBatch() && r.rec.Kind() != record.KindCommit {
			out = append(out, i)
		}
	}
	return out
}

// damage is one way to damage a directory on purpose, as the tests of
// verify and recover share them.
type damage struct {
	name string
	// apply damages dir, whose undamaged records are segs, and returns
	// which record bytes it destroyed (nil: none) and a text verify must
	// print to name the place.
	apply func(t *testing.T, dir string, segs [][]rawRec) (lost func(seg int, off, end int64) bool, place string)
	// verifyExit is verify's exit code on the damaged directory.
	verifyExit int
	// merged: an interrupted merge is finished, dropping expired keys.
	merged bool
	// loses: the damage destroys the newest value of some key, so the
	// comparison after recover shows that lost records are not invented.
	loses bool
}

func damages() []damage {
	return []damage{
		{name: "cut tail of a sealed segment", verifyExit: exitProblems,
			apply: func(t *testing.T, dir string, segs [][]rawRec) (func(int, int64, int64) bool, string) {
				r := segs[1][len(segs[1])-2]
				cut := r.off + r.size/2
				if err := os.Truncate(segments(t, dir)[1], cut); err != nil {
					t.Fatal(err)
				}
				return func(seg int, off, end int64) bool { return seg == 1 && end > cut },
					fmt.Sprintf("segment 2 offset %d", r.off)
			}},
		{name: "cut tail of the active segment", verifyExit: exitProblems, loses: true,
			apply: func(t *testing.T, dir string, segs [][]rawRec) (func(int, int64, int64) bool, string) {
				last := len(segs) - 1
				r := segs[last][len(segs[last])-1]
				cut := r.off + r.size - 3
				if err := os.Truncate(segments(t, dir)[last], cut); err != nil {
					t.Fatal(err)
				}
				return func(seg int, off, end int64) bool { return seg == last && end > cut },
					fmt.Sprintf("segment %d offset %d", last+1, r.off)
			}},
		{name: "flipped bytes in the middle of segments", verifyExit: exitProblems, loses: true,
			apply: func(t *testing.T, dir string, segs [][]rawRec) (func(int, int64, int64) bool, string) {
				type hit struct {
					seg      int
					from, to int64
				}
				a := liveRecord(t, segs, 5)
				plain := plainRecords(segs[2])
				b := segs[2][plain[len(plain)-3]]
				c := segs[4][plainRecords(segs[4])[1]]
				hits := []hit{
					{5, a.off + a.size - 3, a.off + a.size - 1}, // in a value
					{2, b.off + 5, b.off + 6},                   // a key length
					{4, c.off, c.off + 2*c.size},                // a record and its neighbour
				}
				paths := segments(t, dir)
				for _, h := range hits {
					flipBytes(t, paths[h.seg], h.from, h.to)
				}
				return func(seg int, off, end int64) bool {
					for _, h := range hits {
						if seg == h.seg && off < h.to && h.from < end {
							return true
						}
					}
					return false
				}, fmt.Sprintf("segment 6 offset %d", a.off)
			}},
		{name: "damaged batch commit", verifyExit: exitProblems, loses: true,
			apply: func(t *testing.T, dir string, segs [][]rawRec) (func(int, int64, int64) bool, string) {
				for si := 0; si < len(segs)-1; si++ {
					first := int64(-1)
					for _, r := range segs[si] {
						if r.rec.InBatch() && first < 0 {
							first = r.off
						}
						if r.rec.Kind() == record.KindCommit && first >= 0 {
							flipBytes(t, segments(t, dir)[si], r.off+record.HeaderSize, r.off+record.HeaderSize+1)
							from, to := first, r.off+r.size
							return func(seg int, off, end int64) bool { return seg == si && off >= from && end <= to },
								fmt.Sprintf("segment %d offset %d", si+1, first)
						}
					}
				}
				t.Fatal("no batch in a sealed segment")
				return nil, ""
			}},
		{name: "corrupt hint", verifyExit: exitProblems,
			apply: func(t *testing.T, dir string, segs [][]rawRec) (func(int, int64, int64) bool, string) {
				flipBytes(t, filepath.Join(dir, "000000001.hint"), 20, 21)
				return nil, "segment 1 hint: corrupt"
			}},
		{name: "flipped byte behind a valid hint", verifyExit: exitProblems, loses: true,
			apply: func(t *testing.T, dir string, segs [][]rawRec) (func(int, int64, int64) bool, string) {
				// walkerd loads this segment from its hint without reading
				// the record: only verify's CRC check sees the damage.
				r := liveRecord(t, segs, 6)
				flipBytes(t, segments(t, dir)[6], r.off+r.size-1, r.off+r.size)
				return func(seg int, off, end int64) bool { return seg == 6 && off == r.off },
					fmt.Sprintf("segment 7 offset %d", r.off)
			}},
		{name: "hint that disagrees with its segment", verifyExit: exitProblems,
			apply: func(t *testing.T, dir string, segs [][]rawRec) (func(int, int64, int64) bool, string) {
				// A well-formed hint of the right length whose entry names
				// another key: walkerd would trust it.
				b := hint.NewBuilder(3)
				var maxSeq uint64
				for i, r := range segs[2] {
					if r.rec.Kind() == record.KindCommit {
						continue
					}
					k := r.rec.Key
					if i == 5 {
						k = []byte("not this key")
					}
					b.Add(hint.Entry{Key: k, Offset: uint32(r.off), Size: uint32(r.size), ExpireAt: r.rec.ExpireAt, Seq: r.rec.Seq, Kind: r.rec.Kind()})
					maxSeq = max(maxSeq, r.rec.Seq)
				}
				last := segs[2][len(segs[2])-1]
				if err := hint.WriteFile(filepath.Join(dir, "000000003.hint"), b.Finish(uint64(last.off+last.size), maxSeq)); err != nil {
					t.Fatal(err)
				}
				return nil, "segment 3 hint: mismatch"
			}},
		{name: "deleted hint", verifyExit: exitOK,
			apply: func(t *testing.T, dir string, segs [][]rawRec) (func(int, int64, int64) bool, string) {
				if err := os.Remove(filepath.Join(dir, "000000002.hint")); err != nil {
					t.Fatal(err)
				}
				return nil, "warning: segment 2 hint: missing"
			}},
		{name: "stray temporary file", verifyExit: exitProblems,
			apply: func(t *testing.T, dir string, segs [][]rawRec) (func(int, int64, int64) bool, string) {
				if err := os.WriteFile(filepath.Join(dir, "000000003.hint.tmp"), []byte("half a hint"), 0o644); err != nil {
					t.Fatal(err)
				}
				return nil, "000000003.hint.tmp"
			}},
		{name: "uncommitted merge directory", verifyExit: exitProblems,
			apply: func(t *testing.T, dir string, segs [][]rawRec) (func(int, int64, int64) bool, string) {
				mdir := filepath.Join(dir, "merge")
				if err := os.Mkdir(mdir, 0o755); err != nil {
					t.Fatal(err)
				}
				data, _ := os.ReadFile(segments(t, dir)[0])
				if err := os.WriteFile(filepath.Join(mdir, "000000001.seg"), data[:len(data)/2], 0o644); err != nil {
					t.Fatal(err)
				}
				return nil, "merge/: interrupted merge, not committed"
			}},
		{name: "committed merge, half installed", verifyExit: exitProblems, merged: true,
			apply: func(t *testing.T, dir string, segs [][]rawRec) (func(int, int64, int64) bool, string) {
				interruptMerge(t, dir)
				return nil, "merge/DONE: interrupted merge past its commit point"
			}},
	}
}

// interruptMerge leaves dir as a crash leaves it after a merge's commit
// point, half way through renaming its outputs into place. The merge runs
// on a copy of dir (engine.Open + Merge); its outputs are put in
// dir/merge with the DONE marker the engine writes (merge.go).
func interruptMerge(t testing.TB, dir string) {
	t.Helper()
	cp := t.TempDir()
	copyDir(t, dir, cp)
	db, err := engine.Open(cp, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	var inputs []uint32
	for _, p := range segments(t, dir) {
		var id uint32
		fmt.Sscanf(filepath.Base(p), "%09d.seg", &id)
		inputs = append(inputs, id)
	}
	isOut := map[uint32]bool{}
	var outputs []uint32
	mdir := filepath.Join(dir, "merge")
	if err := os.Mkdir(mdir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range segments(t, cp) {
		var id uint32
		fmt.Sscanf(filepath.Base(p), "%09d.seg", &id)
		if id > inputs[len(inputs)-1] {
			continue // the merge's new active segment
		}
		outputs = append(outputs, id)
		isOut[id] = true
		copyFile(t, p, filepath.Join(mdir, filepath.Base(p)))
		h := strings.TrimSuffix(p, ".seg") + ".hint"
		copyFile(t, h, filepath.Join(mdir, filepath.Base(h)))
	}
	if len(outputs) >= len(inputs)-1 {
		t.Fatalf("merge wrote %d outputs for %d inputs: the test needs fewer", len(outputs), len(inputs))
	}
	done := "inputs"
	for _, id := range inputs {
		done += fmt.Sprintf(" %d", id)
	}
	done += "\noutputs"
	for _, id := range outputs {
		done += fmt.Sprintf(" %d", id)
	}
	if err := os.WriteFile(filepath.Join(mdir, "DONE"), []byte(done+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Half the renames, as the engine does them: the old hint goes first.
	for _, id := range inputs[:len(inputs)/2] {
		seg, hint := filepath.Join(dir, fmt.Sprintf("%09d.seg", id)), filepath.Join(dir, fmt.Sprintf("%09d.hint", id))
		os.Remove(hint)
		if !isOut[id] {
			os.Remove(seg)
			continue
		}
		if err := os.Rename(filepath.Join(mdir, filepath.Base(seg)), seg); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(mdir, filepath.Base(hint)), hint); err != nil {
			t.Fatal(err)
		}
	}
}

func segName(id uint32) string { return fmt.Sprintf("%09d.seg", id) }

func itoa(n int64) string { return fmt.Sprint(n) }

// holdLock opens dir with the engine, as a running walkerd holds it, until
// the test ends.
func holdLock(t testing.TB, dir string) {
	t.Helper()
	db, err := engine.Open(dir, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
}

// liveRecord is a plain put in segment index si that no later record of its
// key replaces: the record a read of its key goes to.
func liveRecord(t *testing.T, segs [][]rawRec, si int) rawRec {
	t.Helper()
	later := map[string]bool{}
	for s := len(segs) - 1; s >= si; s-- {
		for i := len(segs[s]) - 1; i >= 0; i-- {
			r := segs[s][i]
			k := string(r.rec.Key)
			if s == si && !later[k] && r.rec.Kind() == record.KindPut && !r.rec.InBatch() {
				return r
			}
			later[k] = true
		}
	}
	t.Fatalf("no live plain put in segment %d", si+1)
	return rawRec{}
}
