package engine

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine/enginetest"
	"github.com/walkerdb/walkerdb/engine/record"
)

func TestDB_PutGetDeleteExists(t *testing.T) {
	db, _ := openTest(t, nil)
	mustPut(t, db, "a", "1")
	mustGet(t, db, "a", "1")
	mustPut(t, db, "a", "2")
	mustGet(t, db, "a", "2")
	if ok, err := db.Exists([]byte("a")); !ok || err != nil {
		t.Fatalf("Exists(a) = %v, %v", ok, err)
	}
	if err := db.Delete([]byte("a")); err != nil {
		t.Fatal(err)
	}
	mustMiss(t, db, "a")
	if ok, _ := db.Exists([]byte("a")); ok {
		t.Fatal("Exists after Delete")
	}
	if err := db.Delete([]byte("never")); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
}

func TestDB_EmptyAndBinaryKeysAndValues(t *testing.T) {
	db, _ := openTest(t, nil)
	cases := map[string]string{
		"":                 "empty key",
		"empty value":      "",
		"nul\x00inside":    "v\x00v",
		"crlf\r\nkey":      "crlf\r\nvalue",
		"\xff\xfe\x00\x01": strings.Repeat("\x00", 300),
	}
	for k, v := range cases {
		mustPut(t, db, k, v)
	}
	check := func(db *DB) {
		for k, v := range cases {
			mustGet(t, db, k, v)
		}
	}
	check(db)
	db = reopen(t, db, nil)
	check(db)
	if err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	check(reopen(t, db, nil))
}

func TestDB_ValuesSurviveReopenAndRotation(t *testing.T) {
	db, dir := openTest(t, &Options{SegmentSize: 4096, Sync: SyncNo})
	want := map[string]string{}
	for i := range 2000 {
		k, v := fmt.Sprintf("key%04d", i%700), fmt.Sprintf("value-%d", i)
		mustPut(t, db, k, v)
		want[k] = v
	}
	if n := len(enginetest.Files(t, dir, ".seg")); n < 10 {
		t.Fatalf("%d segments after 2000 writes of 4 KiB segments; rotation did not happen", n)
	}
	sameContents(t, contents(t, db), want)
	db = reopen(t, db, nil)
	sameContents(t, contents(t, db), want)
}

func TestDB_ValueLargerThanASegment(t *testing.T) {
	db, _ := openTest(t, &Options{SegmentSize: 4096, Sync: SyncNo})
	big := strings.Repeat("x", 100_000)
	mustPut(t, db, "small", "s")
	mustPut(t, db, "big", big)
	mustPut(t, db, "after", "a")
	mustGet(t, db, "big", big)
	db = reopen(t, db, nil)
	mustGet(t, db, "big", big)
	mustGet(t, db, "after", "a")
}

func TestDB_ExpiredKeysAreInvisibleAndMergedAway(t *testing.T) {
	clock := &fakeClock{now: time.UnixMilli(1_000_000)}
	o := &Options{SegmentSize: 16 << 10, Sync: SyncNo, Now: clock.Now}
	db, _ := openTest(t, o)
	now := clock.now.UnixMilli()
	if err := db.PutWithExpiry([]byte("soon"), []byte("v"), now+1000); err != nil {
		t.Fatal(err)
	}
	if err := db.PutWithExpiry([]byte("past"), []byte("v"), now-1); err != nil {
		t.Fatal(err)
	}
	mustPut(t, db, "forever", "v")
	mustMiss(t, db, "past")
	if _, exp, err := db.GetWithExpiry([]byte("soon")); err != nil || exp != now+1000 {
		t.Fatalf("soon: expiry %d, %v", exp, err)
	}
	clock.now = clock.now.Add(1000 * time.Millisecond) // exactly at expiry: gone
	mustMiss(t, db, "soon")
	if ok, _ := db.Exists([]byte("soon")); ok {
		t.Fatal("Exists sees an expired key")
	}
	if _, err := db.Lookup([]byte("soon")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Lookup of an expired key: %v", err)
	}
	if got := contents(t, db); len(got) != 1 || got["forever"] != "v" {
		t.Fatalf("scan sees %v", got)
	}
	if err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	if db.Len() != 1 {
		t.Fatalf("after merge the keydir holds %d keys, want 1", db.Len())
	}
	db = reopen(t, db, o)
	if db.Len() != 1 {
		t.Fatalf("after reopen the keydir holds %d keys, want 1", db.Len())
	}
}

func TestDB_ViewJudgesExpiryAtItsTime(t *testing.T) {
	db, _ := openTest(t, nil)
	db.PutWithExpiry([]byte("k"), []byte("v"), 5000)
	for _, c := range []struct {
		at   int64
		want bool
	}{{4999, true}, {5000, false}} {
		db.View(c.at, func(v *View) error {
			_, _, err := v.Get([]byte("k"))
			if (err == nil) != c.want {
				t.Errorf("at %d: Get err %v, want present=%v", c.at, err, c.want)
			}
			return nil
		})
	}
}

func TestDB_RefusesBadInput(t *testing.T) {
	db, _ := openTest(t, &Options{MaxKeySize: 8, MaxValueSize: 16, Sync: SyncNo})
	if err := db.Put([]byte("123456789"), nil); !errors.Is(err, ErrKeyTooLarge) {
		t.Errorf("9-byte key: %v", err)
	}
	if err := db.Put([]byte("k"), make([]byte, 17)); !errors.Is(err, ErrValueTooLarge) {
		t.Errorf("17-byte value: %v", err)
	}
	var b Batch
	b.Put([]byte("ok"), []byte("ok"))
	b.Put([]byte("k"), make([]byte, 17))
	if err := db.Write(&b); !errors.Is(err, ErrValueTooLarge) {
		t.Errorf("batch with a large value: %v", err)
	}
	mustMiss(t, db, "ok") // nothing of a refused batch was written
	db.Close()
	for name, err := range map[string]error{
		"Put":        db.Put([]byte("k"), nil),
		"Get":        func() error { _, err := db.Get([]byte("k")); return err }(),
		"Scan":       func() error { _, _, err := db.Scan(ScanOptions{}); return err }(),
		"Merge":      db.Merge(),
		"Checkpoint": func() error { _, err := db.Checkpoint(); return err }(),
		"Stats":      func() error { _, err := db.Stats(); return err }(),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestOptions_ValidateRefusesOutOfRange(t *testing.T) {
	for _, o := range []Options{
		{SegmentSize: 100},
		{SegmentSize: 1 << 40},
		{Sync: 7},
		{MergeRatio: 1.5},
		{MergeRatio: -0.1},
		{MaxKeySize: -1},
		{MergeInterval: -time.Second},
	} {
		if _, err := Open(t.TempDir(), &o); !errors.Is(err, ErrBadOptions) {
			t.Errorf("Open with %+v: %v, want ErrBadOptions", o, err)
		}
	}
	for _, s := range []string{"always", "everysec", "no"} {
		if m, err := ParseSyncMode(s); err != nil || m.String() != s {
			t.Errorf("ParseSyncMode(%q) = %v, %v", s, m, err)
		}
	}
	if _, err := ParseSyncMode("sometimes"); !errors.Is(err, ErrBadOptions) {
		t.Errorf("ParseSyncMode(sometimes): %v", err)
	}
}

func TestOpen_SecondOpenInThisProcessIsRefused(t *testing.T) {
	_, dir := openTest(t, nil)
	if _, err := Open(dir, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
}

// The child half of TestOpen_SecondOpenInAnotherProcessIsRefused.
func TestMain(m *testing.M) {
	if dir := os.Getenv("WALKER_TEST_OPEN_DIR"); dir != "" {
		_, err := Open(dir, nil)
		fmt.Print(err)
		os.Exit(0)
	}
	code := m.Run()
	cleanupFixtures()
	os.Exit(code)
}

func TestOpen_SecondOpenInAnotherProcessIsRefused(t *testing.T) {
	db, dir := openTest(t, nil)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "WALKER_TEST_OPEN_DIR="+dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), ErrLocked.Error()) {
		t.Fatalf("the other process got %q, want %q", out, ErrLocked)
	}
	db.Close()
	cmd = exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "WALKER_TEST_OPEN_DIR="+dir)
	out, err = cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "<nil>" {
		t.Fatalf("after Close the other process got %q, want success", out)
	}
}

func TestBatch_IsAllOrNothingAndRecordsItsSeq(t *testing.T) {
	db, _ := openTest(t, nil)
	mustPut(t, db, "gone", "x")
	var b Batch
	b.Put([]byte("a"), []byte("1"))
	b.PutWithExpiry([]byte("b"), []byte("2"), time.Now().Add(time.Hour).UnixMilli())
	b.Delete([]byte("gone"))
	b.SetSeq(41)
	if err := db.Write(&b); err != nil {
		t.Fatal(err)
	}
	mustGet(t, db, "a", "1")
	mustGet(t, db, "b", "2")
	mustMiss(t, db, "gone")
	if m, err := db.Lookup([]byte("a")); err != nil || m.Seq != 41 {
		t.Fatalf("Lookup(a) = %+v, %v; want seq 41", m, err)
	}
	var empty Batch
	empty.SetSeq(42) // an entry that changed nothing still records its seq
	if err := db.Write(&empty); err != nil {
		t.Fatal(err)
	}
	if db.Seq() != 42 {
		t.Fatalf("Seq = %d, want 42", db.Seq())
	}
	db = reopen(t, db, nil)
	if db.Seq() != 42 {
		t.Fatalf("Seq after reopen = %d, want 42", db.Seq())
	}
	mustGet(t, db, "a", "1")
	mustMiss(t, db, "gone")
}

func TestSeq_SurvivesAMergeThatDropsItsRecord(t *testing.T) {
	db, _ := openTest(t, nil)
	var b Batch
	b.Put([]byte("k"), []byte("v"))
	b.SetSeq(10)
	db.Write(&b)
	b.Reset()
	b.Delete([]byte("k")) // the highest seq lives only in a tombstone
	b.SetSeq(11)
	db.Write(&b)
	if err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	db = reopen(t, db, nil)
	if db.Seq() != 11 {
		t.Fatalf("Seq after merge and reopen = %d, want 11", db.Seq())
	}
}

func TestScan_PrefixRangeAndCursorPages(t *testing.T) {
	db, _ := openTest(t, nil)
	for i := range 250 {
		mustPut(t, db, fmt.Sprintf("user:%03d", i), fmt.Sprint(i))
		mustPut(t, db, fmt.Sprintf("zoo:%03d", i), "z")
	}
	db.Delete([]byte("user:100"))
	var all []string
	var cursor []byte
	for pages := 0; ; pages++ {
		items, next, err := db.Scan(ScanOptions{Start: cursor, Prefix: []byte("user:"), Limit: 17})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) > 17 {
			t.Fatalf("page of %d items, limit 17", len(items))
		}
		for _, kv := range items {
			all = append(all, string(kv.Key))
			if want := strings.TrimLeft(strings.TrimPrefix(string(kv.Key), "user:"), "0"); string(kv.Value) != want && !(want == "" && string(kv.Value) == "0") {
				t.Fatalf("%s = %s", kv.Key, kv.Value)
			}
		}
		if next == nil {
			break
		}
		cursor = next
		if pages > 100 {
			t.Fatal("cursor never ends")
		}
	}
	if len(all) != 249 || all[0] != "user:000" || all[248] != "user:249" {
		t.Fatalf("paged scan gave %d keys from %s to %s", len(all), all[0], all[len(all)-1])
	}
	for i := 1; i < len(all); i++ {
		if all[i-1] >= all[i] {
			t.Fatalf("out of order: %s then %s", all[i-1], all[i])
		}
	}
	items, _, _ := db.Scan(ScanOptions{Start: []byte("user:200"), End: []byte("user:210"), KeysOnly: true})
	if len(items) != 10 || items[0].Value != nil {
		t.Fatalf("range scan: %d items, first value %q", len(items), items[0].Value)
	}
}

func TestRecovery_TornTailIsCutOff(t *testing.T) {
	db, dir := openTest(t, nil)
	mustPut(t, db, "kept", "v")
	db.Close()
	segs := enginetest.Files(t, dir, ".seg")
	last := segs[len(segs)-1]
	size := fileSize(t, last)
	// Half of a record, as a crash in the middle of a write leaves it.
	rec := make([]byte, record.Size(3, 5))
	record.Encode(rec, record.KindPut, 0, 0, []byte("new"), []byte("value"))
	appendTo(t, last, rec[:len(rec)/2])
	db, err := Open(dir, nil)
	if err != nil {
		t.Fatalf("open with a torn tail: %v", err)
	}
	mustGet(t, db, "kept", "v")
	mustMiss(t, db, "new")
	mustPut(t, db, "after", "a")
	db = reopen(t, db, nil)
	mustGet(t, db, "after", "a")
	mustGet(t, db, "kept", "v")
	if fileSize(t, last) <= size {
		t.Fatal("the write after recovery is not in the last segment")
	}
}

func TestRecovery_BatchWithoutCommitIsDropped(t *testing.T) {
	db, dir := openTest(t, nil)
	mustPut(t, db, "before", "v")
	db.Close()
	last := enginetest.Files(t, dir, ".seg")[0]
	var tail []byte
	for _, k := range []string{"b1", "b2"} {
		rec := make([]byte, record.Size(2, 1))
		record.Encode(rec, record.KindPut|record.FlagInBatch, 7, 0, []byte(k), []byte("x"))
		tail = append(tail, rec...)
	}
	appendTo(t, last, tail) // the members made it to disk, the commit did not
	db, err := Open(db.dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustGet(t, db, "before", "v")
	mustMiss(t, db, "b1")
	mustMiss(t, db, "b2")
	if db.Seq() == 7 {
		t.Fatal("the seq of an uncommitted batch was recovered")
	}
}

func TestRecovery_CorruptionInTheMiddleFailsOpenNamingThePlace(t *testing.T) {
	db, dir := openTest(t, &Options{SegmentSize: 4096, Sync: SyncNo})
	for i := range 200 {
		mustPut(t, db, fmt.Sprintf("k%03d", i), "some value bytes")
	}
	db.Close()
	segs := enginetest.Files(t, dir, ".seg")
	for _, h := range enginetest.Files(t, dir, ".hint") {
		os.Remove(h) // force a scan of the data
	}
	enginetest.FlipBytes(t, segs[0], 100, 101)
	_, err := Open(dir, nil)
	if !errors.Is(err, ErrCorruption) {
		t.Fatalf("Open of a segment damaged in the middle: %v, want ErrCorruption", err)
	}
	if !strings.Contains(err.Error(), "segment 1 offset") {
		t.Fatalf("the error does not name the segment and offset: %v", err)
	}
	// The data is left as it was for walkerdump to recover.
	if _, err := os.Stat(segs[0]); err != nil {
		t.Fatal(err)
	}
}

func TestRecovery_CorruptRecordBehindAGoodHintIsNeverReturned(t *testing.T) {
	db, dir := openTest(t, &Options{SegmentSize: 4096, Sync: SyncNo})
	for i := range 200 {
		mustPut(t, db, fmt.Sprintf("k%03d", i), "some value bytes")
	}
	waitFor(t, "hint of segment 1", 5*time.Second, func() bool { return len(enginetest.Files(t, dir, ".hint")) > 0 })
	db.Close()
	seg := enginetest.Files(t, dir, ".seg")[0]
	off := int64(record.HeaderSize + 4 + 2) // inside the first record's value
	enginetest.FlipBytes(t, seg, off, off+1)
	db, err := Open(dir, nil) // the hint is good: open does not read the data
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.Get([]byte("k000")); !errors.Is(err, ErrCorruption) {
		t.Fatalf("Get of a corrupt record = %q, %v; want ErrCorruption", v, err)
	}
	mustGet(t, db, "k001", "some value bytes")
}

// The hint loop keeps one hint.Builder's memory from one segment to the
// next (hintLoop): each hint it writes must be the one a fresh Builder
// builds from its segment, whatever the segments before it held (more
// records, longer keys, or fewer).
func TestHints_TheHintLoopsBuilderCarriesNothingOver(t *testing.T) {
	db, dir := openTest(t, &Options{SegmentSize: 64 << 10, Sync: SyncNo})
	value := strings.Repeat("v", 400)
	for i := range 800 { // short keys: about six segments
		mustPut(t, db, fmt.Sprintf("k%04d", i), value)
	}
	for i := range 40 { // keys longer than the key chunks kept
		mustPut(t, db, strings.Repeat(fmt.Sprintf("long%02d", i), 300), "x")
	}
	for i := 0; i < 800; i += 3 { // tombstones: many short records
		if err := db.Delete([]byte(fmt.Sprintf("k%04d", i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 200 {
		mustPut(t, db, fmt.Sprintf("after%04d", i), value)
	}
	nsegs := len(enginetest.Files(t, dir, ".seg"))
	if nsegs < 8 {
		t.Fatalf("%d segments: the test needs more to cross", nsegs)
	}
	waitFor(t, "hints for every sealed segment", 10*time.Second, func() bool {
		return len(enginetest.Files(t, dir, ".hint")) == nsegs-1
	})
	db.Close()
	for _, seg := range enginetest.Files(t, dir, ".seg")[:nsegs-1] {
		var id uint32
		if _, err := fmt.Sscanf(filepath.Base(seg), "%d.seg", &id); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(seg)
		if err != nil {
			t.Fatal(err)
		}
		want, err := buildHint(bytesReaderAt(data), id, int64(len(data)), db.maxRecord())
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, hintName(id)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("segment %d: the hint loop wrote %d bytes, a fresh Builder builds %d, not the same", id, len(got), len(want))
		}
	}
}

func TestHints_BadOrMissingHintFallsBackToScanning(t *testing.T) {
	db, dir := openTest(t, &Options{SegmentSize: 4096, Sync: SyncNo})
	want := map[string]string{}
	for i := range 1200 {
		k := fmt.Sprintf("k%03d", i%120)
		v := fmt.Sprintf("v%d", i)
		mustPut(t, db, k, v)
		want[k] = v
	}
	for i := 0; i < 120; i += 7 {
		db.Delete([]byte(fmt.Sprintf("k%03d", i)))
		delete(want, fmt.Sprintf("k%03d", i))
	}
	nsegs := len(enginetest.Files(t, dir, ".seg"))
	waitFor(t, "hints for every sealed segment", 5*time.Second, func() bool {
		return len(enginetest.Files(t, dir, ".hint")) == nsegs-1
	})
	db.Close()
	hints := enginetest.Files(t, dir, ".hint")
	enginetest.FlipBytes(t, hints[0], 20, 21)
	os.Remove(hints[1])
	os.WriteFile(hints[2], []byte("not a hint"), 0o644)
	db, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameContents(t, contents(t, db), want)
	// The bad hints are rewritten in the background.
	waitFor(t, "hints rewritten", 5*time.Second, func() bool {
		for _, h := range hints[:3] {
			if _, err := os.Stat(h); err != nil {
				return false
			}
		}
		return true
	})
	sameContents(t, contents(t, reopen(t, db, nil)), want)
}

func TestMerge_ReclaimsDiskAtOnceAndKeepsNewerWrites(t *testing.T) {
	db, dir := openTest(t, &Options{SegmentSize: 8192, Sync: SyncNo})
	want := map[string]string{}
	for i := range 3000 {
		k, v := fmt.Sprintf("k%03d", i%100), fmt.Sprintf("v%d", i)
		mustPut(t, db, k, v)
		want[k] = v
	}
	for i := 0; i < 100; i += 2 {
		db.Delete([]byte(fmt.Sprintf("k%03d", i)))
		delete(want, fmt.Sprintf("k%03d", i))
	}
	before := dirBytes(t, dir)
	if err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	after := dirBytes(t, dir)
	if after*5 > before {
		t.Fatalf("merge left %d of %d bytes on disk", after, before)
	}
	st, _ := db.Stats()
	if st.DeadBytes != 0 || st.Merges != 1 {
		t.Fatalf("after merge: %d dead bytes, %d merges", st.DeadBytes, st.Merges)
	}
	sameContents(t, contents(t, db), want)
	mustPut(t, db, "k001", "newest")
	want["k001"] = "newest"
	db = reopen(t, db, nil)
	sameContents(t, contents(t, db), want)
	if _, err := os.Stat(filepath.Join(dir, mergeDirName)); !os.IsNotExist(err) {
		t.Fatalf("merge directory left behind: %v", err)
	}
}

// TestMerge_CrashAtEveryStepLosesNothing builds the directory states a
// crash leaves at each step of a merge and checks that Open makes each
// whole: the old data before the commit point, the merged data after it.
func TestMerge_CrashAtEveryStepLosesNothing(t *testing.T) {
	for _, step := range []string{"outputs written", "committed", "half installed", "installed"} {
		t.Run(step, func(t *testing.T) {
			db, dir, want := garbageDB(t)
			// Run the merge's steps by hand, stopping where a crash would.
			db.mergeMu.Lock()
			mdir, ids, outIDs := mergeUpToOutputs(t, db, dir)
			if len(outIDs) >= len(ids) {
				t.Fatalf("merge wrote %d outputs for %d inputs: the test needs fewer", len(outIDs), len(ids))
			}
			if step != "outputs written" {
				if err := writeMergeDone(mdir, ids, outIDs); err != nil {
					t.Fatal(err)
				}
			}
			switch step {
			case "half installed":
				if err := installMerge(dir, ids[:len(ids)/2], outIDs); err != nil {
					t.Fatal(err)
				}
			case "installed":
				if err := installMerge(dir, ids, outIDs); err != nil {
					t.Fatal(err)
				}
			}
			db.mergeMu.Unlock()
			// Crash: drop the DB without letting it finish anything.
			crash(db)
			db2, err := Open(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db2.Close()
			sameContents(t, contents(t, db2), want)
			if _, err := os.Stat(mdir); !os.IsNotExist(err) {
				t.Fatal("merge directory left after open")
			}
			if step != "outputs written" && len(enginetest.Files(t, dir, ".seg")) != len(outIDs)+1 {
				t.Fatalf("%d segments after finishing the merge, want %d", len(enginetest.Files(t, dir, ".seg")), len(outIDs)+1)
			}
		})
	}
}

func TestMerge_DoesNotResurrectKeysDeletedDuringIt(t *testing.T) {
	db, _ := openTest(t, &Options{SegmentSize: 4096, Sync: SyncNo})
	for i := range 500 {
		mustPut(t, db, fmt.Sprintf("k%03d", i), "old")
	}
	// Interleave deletes and overwrites with merges.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 5 {
			if err := db.Merge(); err != nil {
				t.Error(err)
			}
		}
	}()
	for i := range 500 {
		if i%2 == 0 {
			db.Delete([]byte(fmt.Sprintf("k%03d", i)))
		} else {
			mustPut(t, db, fmt.Sprintf("k%03d", i), "new")
		}
	}
	wg.Wait()
	db.Merge()
	check := func(db *DB) {
		for i := range 500 {
			if i%2 == 0 {
				mustMiss(t, db, fmt.Sprintf("k%03d", i))
			} else {
				mustGet(t, db, fmt.Sprintf("k%03d", i), "new")
			}
		}
	}
	check(db)
	check(reopen(t, db, nil))
}

func TestMerge_StartsByItselfPastTheGarbageRatio(t *testing.T) {
	db, _ := openTest(t, &Options{SegmentSize: 4096, Sync: SyncNo, MergeRatio: 0.5, MergeMinBytes: 1, MergeInterval: 10 * time.Millisecond})
	for i := range 2000 {
		mustPut(t, db, "same", fmt.Sprint(i))
	}
	waitFor(t, "an automatic merge", 10*time.Second, func() bool {
		st, _ := db.Stats()
		return st.Merges > 0
	})
	mustGet(t, db, "same", "1999")
}

func TestStats_CountsLiveAndDeadBytes(t *testing.T) {
	db, _ := openTest(t, nil)
	mustPut(t, db, "a", "1")
	mustPut(t, db, "a", "2")
	mustPut(t, db, "b", "1")
	db.Delete([]byte("b"))
	st, err := db.Stats()
	if err != nil {
		t.Fatal(err)
	}
	rec := record.Size(1, 1)
	// Dead: the first a, b, and b's tombstone.
	if st.Keys != 1 || st.LiveBytes != rec || st.DeadBytes != 2*rec+record.Size(1, 0) {
		t.Fatalf("stats %+v: want 1 key, %d live, %d dead", st, rec, 2*rec+record.Size(1, 0))
	}
	if st.IndexBytes <= 0 || len(st.Segments) != 1 || !st.Segments[0].Active {
		t.Fatalf("stats %+v", st)
	}
	db = reopen(t, db, nil)
	st2, _ := db.Stats()
	if st2.LiveBytes != st.LiveBytes || st2.DeadBytes != st.DeadBytes {
		t.Fatalf("after reopen live %d dead %d, before %d %d", st2.LiveBytes, st2.DeadBytes, st.LiveBytes, st.DeadBytes)
	}
}

func TestGroupCommit_ConcurrentWritersShareFsyncs(t *testing.T) {
	db, _ := openTest(t, &Options{Sync: SyncAlways})
	const writers, each = 32, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := db.Put([]byte(fmt.Sprintf("w%d-%d", w, i)), []byte("v")); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	st, _ := db.Stats()
	t.Logf("%d writes, %d fsyncs", writers*each, st.Fsyncs)
	if st.Fsyncs == 0 || st.Fsyncs >= writers*each {
		t.Fatalf("%d fsyncs for %d concurrent writes: group commit did not group", st.Fsyncs, writers*each)
	}
}

func TestCheckpoint_RestoresToTheSameContents(t *testing.T) {
	db, _ := openTest(t, &Options{SegmentSize: 4096, Sync: SyncNo})
	want := map[string]string{}
	for i := range 500 {
		k, v := fmt.Sprintf("k%03d", i%200), fmt.Sprint(i)
		mustPut(t, db, k, v)
		want[k] = v
	}
	var b Batch
	b.SetSeq(99)
	db.Write(&b)
	cp, err := db.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, db, "after checkpoint", "x")
	var stream bytes.Buffer
	if _, err := cp.WriteTo(&stream); err != nil {
		t.Fatal(err)
	}
	cp.Close()
	dir := filepath.Join(t.TempDir(), "restored")
	seq, err := Restore(bytes.NewReader(stream.Bytes()), dir, 0)
	if err != nil || seq != 99 {
		t.Fatalf("Restore: seq %d, %v", seq, err)
	}
	db2, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	sameContents(t, contents(t, db2), want)
	if db2.Seq() != 99 {
		t.Fatalf("restored Seq = %d, want 99", db2.Seq())
	}
	// A damaged stream is refused and leaves nothing behind.
	bad := bytes.Clone(stream.Bytes())
	bad[len(bad)/2] ^= 0xff
	dir3 := filepath.Join(t.TempDir(), "bad")
	if _, err := Restore(bytes.NewReader(bad), dir3, 0); err == nil {
		t.Fatal("Restore accepted a damaged stream")
	}
	if _, err := os.Stat(dir3); !os.IsNotExist(err) {
		t.Fatal("a failed restore left a directory")
	}
}

func appendTo(t testing.TB, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func dirBytes(t testing.TB, dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, _ error) error {
		if info != nil && info.Mode().IsRegular() {
			n += info.Size()
		}
		return nil
	})
	return n
}

// crash abandons a DB as a killed process would: no sync, no trim, no
// finishing of background work; only the file lock is released.
func crash(db *DB) {
	db.mu.Lock()
	db.closed = true
	db.mu.Unlock()
	close(db.quit)
	db.wg.Wait()
	for _, s := range db.segs {
		s.close()
	}
	db.lock.Close()
}

func TestStats_FsyncLatencyCountsEverySyncInItsBucket(t *testing.T) {
	db, _ := openTest(t, &Options{SegmentSize: 1 << 20, Sync: SyncAlways})
	for i := range 5 {
		if err := db.Put([]byte(fmt.Sprint("k", i)), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	st, err := db.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Fsyncs < 5 || st.FsyncTime <= 0 {
		t.Fatalf("after 5 SyncAlways writes: %d fsyncs taking %v", st.Fsyncs, st.FsyncTime)
	}
	for i := 1; i < FsyncBuckets; i++ {
		if st.FsyncUnder[i] < st.FsyncUnder[i-1] {
			t.Fatalf("FsyncUnder not cumulative: %v", st.FsyncUnder)
		}
	}
	if last := st.FsyncUnder[FsyncBuckets-1]; last > st.Fsyncs {
		t.Fatalf("FsyncUnder %v counts more than the %d fsyncs", st.FsyncUnder, st.Fsyncs)
	}

	// The bucketing itself, on known durations.
	var g groupCommit
	for _, d := range []time.Duration{0, 15 * time.Microsecond, 16 * time.Microsecond, 100 * time.Microsecond, time.Second} {
		g.noteFsync(d)
	}
	// 0 and 15 µs: under 16 µs; 16 µs: under 32; 100 µs: under 128; 1 s: slower than the last bound.
	want := map[int]int64{0: 2, 1: 1, 3: 1, FsyncBuckets: 1}
	for i, n := range g.fsyncUnder {
		if n != want[i] {
			t.Fatalf("bucket counts %v, want %v", g.fsyncUnder, want)
		}
	}
	if g.fsyncs != 5 || g.fsyncTime != time.Second+131*time.Microsecond {
		t.Fatalf("%d fsyncs, %v", g.fsyncs, g.fsyncTime)
	}
}

// PrefetchGets reads ahead and changes no answer: for keys in sealed
// segments and in the active one's write buffer, a value of 2 MiB, keys
// deleted, expired and never written, and on a closed DB.
func TestDB_PrefetchGetsChangesNoAnswer(t *testing.T) {
	db, _ := openTest(t, nil)
	want := map[string]string{}
	for i := range 600 { // 16 KiB segments: most of these are sealed
		k, v := fmt.Sprintf("k%03d", i), strings.Repeat(fmt.Sprint(i%10), 40+i%90)
		mustPut(t, db, k, v)
		want[k] = v
	}
	big := strings.Repeat("b", 2<<20)
	mustPut(t, db, "big", big)
	want["big"] = big
	for i := range 600 {
		if i%7 == 0 {
			k := fmt.Sprintf("k%03d", i)
			if err := db.Delete([]byte(k)); err != nil {
				t.Fatal(err)
			}
			delete(want, k)
		}
	}
	if err := db.PutWithExpiry([]byte("gone"), []byte("v"), time.Now().Add(-time.Hour).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	mustPut(t, db, "last", "in the write buffer")
	want["last"] = "in the write buffer"
	var keys [][]byte
	for i := range 620 {
		keys = append(keys, fmt.Appendf(nil, "k%03d", i))
	}
	keys = append(keys, []byte("big"), []byte("gone"), []byte("last"), nil)
	db.PrefetchGets(len(keys), func(i int) []byte { return keys[i] })
	for _, k := range keys {
		v, err := db.Get(k)
		w, ok := want[string(k)]
		if ok && (err != nil || string(v) != w) || !ok && !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get(%q) after PrefetchGets: %.20q, %v; want %.20q (present %v)", k, v, err, w, ok)
		}
	}
	db.Close()
	db.PrefetchGets(len(keys), func(i int) []byte { return keys[i] }) // nothing to read, no panic
}
