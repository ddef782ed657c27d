package engine

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/engine/record"
)

// rawRec is one record of an undamaged segment, decoded by the test itself
// with record.Decode, independently of the engine's scanner.
type rawRec struct {
	off, size int64
	rec       record.Record
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

// readable is the state Open loads from segs (each segment's records, in
// id order) once the bytes lost says are gone: a record is lost if any of
// its bytes is, a batch if any of its members or its commit is, and a batch
// without its commit is never applied.
func readable(segs [][]rawRec, lost func(seg int, off, end int64) bool) map[string]string {
	m := map[string]string{}
	apply := func(r rawRec) {
		if r.rec.Kind() == record.KindPut {
			m[string(r.rec.Key)] = string(r.rec.Value)
		} else {
			delete(m, string(r.rec.Key))
		}
	}
	for si, recs := range segs {
		var batch []rawRec
		batchLost := false
		for _, r := range recs {
			gone := lost(si, r.off, r.off+r.size)
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

// snapshotDir reads every file under dir, by relative path.
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

// fillDir writes puts, overwrites, deletes and batches across many small
// segments, closes the DB, and writes every sealed segment's hint.
func fillDir(t testing.TB) string {
	t.Helper()
	db, dir := openTest(t, &Options{SegmentSize: 4096, Sync: SyncNo})
	for i := range 400 {
		k := fmt.Sprintf("k%03d", i%160)
		mustPut(t, db, k, fmt.Sprintf("value %d of %s", i, k))
		if i%9 == 0 {
			if err := db.Delete([]byte(fmt.Sprintf("k%03d", (i*7)%160))); err != nil {
				t.Fatal(err)
			}
		}
		if i%25 == 0 {
			var b Batch
			for j := range 4 {
				b.Put([]byte(fmt.Sprintf("b%03d-%d", i, j)), []byte(fmt.Sprintf("batch %d member %d", i, j)))
			}
			b.Delete([]byte(fmt.Sprintf("k%03d", (i+1)%160)))
			b.SetSeq(uint64(i))
			if err := db.Write(&b); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	rebuildHints(t, dir)
	return dir
}

func rebuildHints(t testing.TB, dir string) {
	t.Helper()
	d, err := OpenOffline(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.RebuildHints(nil); err != nil {
		t.Fatal(err)
	}
}

func allRecords(t testing.TB, dir string) [][]rawRec {
	t.Helper()
	var segs [][]rawRec
	for _, p := range segFiles(t, dir, ".seg") {
		segs = append(segs, rawRecords(t, p))
	}
	return segs
}

func recoverDir(t testing.TB, dir string) *RecoverReport {
	t.Helper()
	d, err := OpenOffline(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	r, err := d.Recover(RecoverOptions{})
	if err != nil {
		t.Fatalf("recover: %v\n%v", err, r)
	}
	return r
}

// checkRecovered recovers dir, checks that a second run changes nothing,
// then opens it and compares it with want.
func checkRecovered(t *testing.T, dir string, want map[string]string) *RecoverReport {
	t.Helper()
	r := recoverDir(t, dir)
	t.Logf("%s", r)
	before := snapshotDir(t, dir)
	if r2 := recoverDir(t, dir); r2.Changed {
		t.Errorf("second recover changed the directory:\n%s", r2)
	}
	sameSnapshot(t, snapshotDir(t, dir), before)
	db, err := Open(dir, &Options{SegmentSize: 4096, Sync: SyncNo})
	if err != nil {
		t.Fatalf("open after recover: %v", err)
	}
	sameContents(t, contents(t, db), want)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return r
}

// quarantined checks that each set-aside region's file holds exactly the
// damaged segment's bytes.
func quarantined(t *testing.T, dir string, r *RecoverReport, damaged map[uint32][]byte) {
	t.Helper()
	for _, s := range r.Segments {
		for _, a := range s.SetAside {
			if a.File == "" {
				if !bytes.Equal(damaged[s.ID][a.Start:a.End], make([]byte, a.End-a.Start)) {
					t.Errorf("segment %d [%d,%d): not copied but not all zero", s.ID, a.Start, a.End)
				}
				continue
			}
			got, err := os.ReadFile(filepath.Join(dir, a.File))
			if err != nil {
				t.Fatal(err)
			}
			if want := damaged[s.ID][a.Start : a.Start+a.Copied]; !bytes.Equal(got, want) {
				t.Errorf("%s: %d bytes, not the damaged bytes of segment %d at %d", a.File, len(got), s.ID, a.Start)
			}
		}
	}
}

func readSegments(t testing.TB, dir string) map[uint32][]byte {
	t.Helper()
	m := map[uint32][]byte{}
	for _, p := range segFiles(t, dir, ".seg") {
		id, _ := parseSegName(filepath.Base(p))
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m[id] = b
	}
	return m
}

func TestRecover_TornTailOfASealedSegmentIsSetAside(t *testing.T) {
	dir := fillDir(t)
	segs := allRecords(t, dir)
	paths := segFiles(t, dir, ".seg")
	if len(paths) < 4 {
		t.Fatalf("%d segments: the test needs several", len(paths))
	}
	// Cut segment 2 in the middle of its third record from the end.
	r := segs[1][len(segs[1])-3]
	cut := r.off + r.size/2
	if err := os.Truncate(paths[1], cut); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, nil); !errors.Is(err, ErrCorruption) {
		t.Fatalf("open of a sealed segment with a torn tail: %v, want ErrCorruption", err)
	}
	want := readable(segs, func(seg int, off, end int64) bool { return seg == 1 && end > cut })
	damaged := readSegments(t, dir)
	rep := checkRecovered(t, dir, want)
	quarantined(t, dir, rep, damaged)
	s := rep.Segments[1]
	if len(s.SetAside) != 1 || !s.SetAside[0].Tail || s.SetAside[0].End != cut || s.NewSize != s.SetAside[0].Start {
		t.Fatalf("segment 2: %+v", s)
	}
}

func TestRecover_DamageInTheMiddleKeepsEveryReadableRecord(t *testing.T) {
	dir := fillDir(t)
	segs := allRecords(t, dir)
	paths := segFiles(t, dir, ".seg")
	// Damage: a value byte in segment 1, a header in segment 3, a stretch
	// across two records in segment 4, and the commit of a batch.
	type hit struct {
		seg      int
		from, to int64
	}
	var hits []hit
	r := segs[0][2]
	hits = append(hits, hit{0, r.off + r.size - 2, r.off + r.size - 1})
	r = segs[2][1]
	hits = append(hits, hit{2, r.off + 6, r.off + 7})
	r = segs[3][3]
	hits = append(hits, hit{3, r.off + r.size - 4, r.off + r.size + 4})
	found := false
	for si := range segs {
		for _, r := range segs[si] {
			if r.rec.Kind() == record.KindCommit && si != 0 && si != 2 && si != 3 && si < len(segs)-1 {
				hits = append(hits, hit{si, r.off + record.HeaderSize, r.off + record.HeaderSize + 1})
				found = true
				break
			}
		}
		if found {
			break
		}
	}
	if !found {
		t.Fatal("no batch in a sealed segment to damage")
	}
	for _, h := range hits {
		for off := h.from; off < h.to; off++ {
			flipByte(t, paths[h.seg], off)
		}
	}
	want := readable(segs, func(seg int, off, end int64) bool {
		for _, h := range hits {
			if h.seg == seg && off < h.to && h.from < end {
				return true
			}
		}
		return false
	})
	damaged := readSegments(t, dir)
	rep := checkRecovered(t, dir, want)
	quarantined(t, dir, rep, damaged)
	if rep.Quarantine == "" {
		t.Fatal("nothing was set aside")
	}
	if _, err := os.Stat(filepath.Join(dir, rep.Quarantine, "report.txt")); err != nil {
		t.Fatal(err)
	}
}

func TestRecover_ZeroTailOfACrashedActiveSegmentIsCutWithoutACopy(t *testing.T) {
	db, dir := openTest(t, &Options{SegmentSize: 64 << 10, Sync: SyncNo})
	mustPut(t, db, "a", "1")
	mustPut(t, db, "b", "2")
	crash(db) // the active segment keeps its 64 KiB preallocation
	r := recoverDir(t, dir)
	if r.Quarantine != "" || len(r.Segments) != 1 || len(r.Segments[0].SetAside) != 1 || !r.Segments[0].SetAside[0].Zero {
		t.Fatalf("report:\n%s", r)
	}
	db, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustGet(t, db, "a", "1")
	mustGet(t, db, "b", "2")
}

func TestRecover_FinishesACommittedMergeAndDiscardsAnUncommittedOne(t *testing.T) {
	for _, committed := range []bool{false, true} {
		t.Run(fmt.Sprintf("committed=%v", committed), func(t *testing.T) {
			db, dir, want := garbageDB(t)
			db.mergeMu.Lock()
			mdir, ids, outIDs := mergeUpToOutputs(t, db, dir)
			if committed {
				if err := writeMergeDone(mdir, ids, outIDs); err != nil {
					t.Fatal(err)
				}
				if err := installMerge(dir, ids[:len(ids)/2], outIDs); err != nil {
					t.Fatal(err)
				}
			}
			db.mergeMu.Unlock()
			crash(db)
			os.WriteFile(filepath.Join(dir, hintName(ids[0])+".tmp"), []byte("half a hint"), 0o644)

			d, err := OpenOffline(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			l, err := d.Layout()
			d.Close()
			if err != nil {
				t.Fatal(err)
			}
			if wantState := map[bool]MergeState{false: MergeUncommitted, true: MergeCommitted}[committed]; l.Merge != wantState || len(l.Temps) != 1 {
				t.Fatalf("layout: merge %v, temps %v", l.Merge, l.Temps)
			}
			r := checkRecovered(t, dir, want)
			if r.Merge == "" || len(r.Temps) != 1 {
				t.Fatalf("report:\n%s", r)
			}
			if _, err := os.Stat(mdir); !os.IsNotExist(err) {
				t.Fatal("merge directory left after recover")
			}
		})
	}
}

func TestRecover_UnreadableMergeMarkerIsSetAside(t *testing.T) {
	dir := fillDir(t)
	want := readable(allRecords(t, dir), func(int, int64, int64) bool { return false })
	mdir := filepath.Join(dir, mergeDirName)
	os.Mkdir(mdir, 0o755)
	os.WriteFile(filepath.Join(mdir, mergeDoneName), []byte("inpu"), 0o644) // torn before its fsync
	if _, err := Open(dir, nil); !errors.Is(err, ErrCorruption) {
		t.Fatalf("open with a torn merge marker: %v", err)
	}
	r := checkRecovered(t, dir, want)
	if !strings.Contains(r.Merge, "set aside") || r.Quarantine == "" {
		t.Fatalf("report:\n%s", r)
	}
	if _, err := os.Stat(filepath.Join(dir, r.Quarantine, mergeDirName, mergeDoneName)); err != nil {
		t.Fatal(err)
	}
}

func TestRecover_BadHintsAreRebuiltAndOrphansSetAside(t *testing.T) {
	dir := fillDir(t)
	want := readable(allRecords(t, dir), func(int, int64, int64) bool { return false })
	hints := segFiles(t, dir, ".hint")
	flipByte(t, hints[0], 20)                                   // corrupt
	os.Remove(hints[1])                                         // missing
	os.WriteFile(hints[2], []byte("not a hint"), 0o644)         // corrupt
	os.WriteFile(filepath.Join(dir, hintName(900)), nil, 0o644) // orphan
	r := checkRecovered(t, dir, want)
	if len(r.Orphans) != 1 || r.Segments[0].Hint == "" || r.Segments[1].Hint == "" || r.Segments[2].Hint == "" {
		t.Fatalf("report:\n%s", r)
	}
	d, err := OpenOffline(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, id := range []uint32{1, 2, 3} {
		c, err := d.CheckSegment(id, nil)
		if err != nil || c.Hint.State != HintValid {
			t.Fatalf("segment %d after recover: hint %v %v, err %v", id, c.Hint.State, c.Hint.Err, err)
		}
	}
}
