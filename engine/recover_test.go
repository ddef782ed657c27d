package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/engine/enginetest"
)

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
	before := enginetest.Snapshot(t, dir)
	if r2 := recoverDir(t, dir); r2.Changed {
		t.Errorf("second recover changed the directory:\n%s", r2)
	}
	enginetest.SameSnapshot(t, enginetest.Snapshot(t, dir), before)
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

// quarantined checks what r set aside against the segments as they were
// damaged (damaged, by id) and the records lost (see
// enginetest.CheckSetAside).
func quarantined(t *testing.T, dir string, r *RecoverReport, damaged map[uint32][]byte, segs [][]enginetest.Record, lost enginetest.Lost) {
	t.Helper()
	var regions []enginetest.SetAside
	for _, s := range r.Segments {
		for _, a := range s.SetAside {
			regions = append(regions, enginetest.SetAside{Seg: s.ID, Start: a.Start, End: a.End, Tail: a.Tail, File: a.File, Copied: a.Copied})
		}
	}
	enginetest.CheckSetAside(t, dir, damaged, regions, segs, lost)
}

func TestRecover_TornTailOfASealedSegmentIsSetAside(t *testing.T) {
	dir := fillDir(t)
	segs := enginetest.AllRecords(t, dir)
	if len(segs) < 4 {
		t.Fatalf("%d segments: the test needs several", len(segs))
	}
	// Cut segment 2 in the middle of its third record from the end.
	r := segs[1][len(segs[1])-3]
	cut := r.Off + r.Size/2
	lost := enginetest.CutTail(t, dir, 1, cut)
	if _, err := Open(dir, nil); !errors.Is(err, ErrCorruption) {
		t.Fatalf("open of a sealed segment with a torn tail: %v, want ErrCorruption", err)
	}
	damaged := enginetest.ReadSegments(t, dir)
	rep := checkRecovered(t, dir, enginetest.Values(enginetest.Readable(segs, lost)))
	quarantined(t, dir, rep, damaged, segs, lost)
	s := rep.Segments[1]
	if len(s.SetAside) != 1 || !s.SetAside[0].Tail || s.SetAside[0].End != cut || s.NewSize != s.SetAside[0].Start {
		t.Fatalf("segment 2: %+v", s)
	}
}

func TestRecover_DamageInTheMiddleKeepsEveryReadableRecord(t *testing.T) {
	dir := fillDir(t)
	segs := enginetest.AllRecords(t, dir)
	// Damage: a value byte in segment 1, a header in segment 3, a stretch
	// across two records in segment 4, and the commit of a batch.
	a, b, c := segs[0][2], segs[2][1], segs[3][3]
	flipped := enginetest.Flip(t, dir,
		enginetest.Region{Seg: 0, From: a.Off + a.Size - 2, To: a.Off + a.Size - 1},
		enginetest.Region{Seg: 2, From: b.Off + 6, To: b.Off + 7},
		enginetest.Region{Seg: 3, From: c.Off + c.Size - 4, To: c.Off + c.Size + 4})
	_, commit := enginetest.BatchCommit(t, dir, segs, 0, 2, 3)
	lost := enginetest.Union(flipped, commit)
	damaged := enginetest.ReadSegments(t, dir)
	rep := checkRecovered(t, dir, enginetest.Values(enginetest.Readable(segs, lost)))
	quarantined(t, dir, rep, damaged, segs, lost)
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
			enginetest.StrayTemp(t, dir, hintName(ids[0]))

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
	want := enginetest.Values(enginetest.Readable(enginetest.AllRecords(t, dir), nil))
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
	want := enginetest.Values(enginetest.Readable(enginetest.AllRecords(t, dir), nil))
	enginetest.CorruptHint(t, dir, 1)
	enginetest.DeleteHint(t, dir, 2)
	os.WriteFile(filepath.Join(dir, hintName(3)), []byte("not a hint"), 0o644) // not a hint at all
	os.WriteFile(filepath.Join(dir, hintName(900)), nil, 0o644)                // an orphan
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
