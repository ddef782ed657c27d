package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine/hint"
	"github.com/walkerdb/walkerdb/engine/record"
)

// segBuilder writes a segment file record by record, remembering offsets.
type segBuilder struct {
	buf  []byte
	offs []int64
}

func (b *segBuilder) add(typ uint8, seq uint64, key, value string) int64 {
	off := int64(len(b.buf))
	rec := make([]byte, record.Size(len(key), len(value)))
	record.Encode(rec, typ, seq, 0, []byte(key), []byte(value))
	b.buf = append(b.buf, rec...)
	b.offs = append(b.offs, off)
	return off
}

func (b *segBuilder) commit(seq uint64, n uint32) int64 {
	return b.add(record.KindCommit, seq, "", string(record.CommitValue(n)))
}

// writeSegs writes segment files 1, 2, ... into a new directory.
func writeSegs(t *testing.T, segs ...[]byte) string {
	t.Helper()
	dir := t.TempDir()
	for i, b := range segs {
		if err := os.WriteFile(filepath.Join(dir, segName(uint32(i+1))), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func openOffline(t *testing.T, dir string) *Offline {
	t.Helper()
	d, err := OpenOffline(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestInspect_PlainRecordThatInterruptsABatchIsKept(t *testing.T) {
	var b segBuilder
	b.add(record.KindPut, 1, "a", "1")
	m1 := b.add(record.KindPut|record.FlagInBatch, 2, "b1", "x")
	b.add(record.KindPut|record.FlagInBatch, 2, "b2", "x")
	c := b.add(record.KindPut, 3, "c", "3") // no commit came for b1, b2
	b.add(record.KindPut, 4, "d", "4")
	d := openOffline(t, writeSegs(t, b.buf, nil))
	chk, err := d.CheckSegment(1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if chk.Puts != 3 || len(chk.Bad) != 1 || chk.Bad[0].Start != m1 || chk.Bad[0].End != c || chk.Bad[0].At != c {
		t.Fatalf("check: %d puts, bad %v", chk.Puts, chk.Bad)
	}
	if chk.Active {
		t.Fatal("segment 1 of 2 reported active")
	}
}

func TestInspect_BatchWithADamagedCommitIsOneBadRegion(t *testing.T) {
	var b segBuilder
	b.add(record.KindPut, 1, "a", "1")
	m1 := b.add(record.KindPut|record.FlagInBatch, 2, "m1", "x")
	b.add(record.KindPut|record.FlagInBatch, 2, "m2", "x")
	b.add(record.KindDelete|record.FlagInBatch, 2, "a", "")
	cm := b.commit(2, 3)
	z := b.add(record.KindPut, 3, "z", "26")
	b.buf[cm+record.HeaderSize] ^= 0xff // the commit's count: its CRC fails
	d := openOffline(t, writeSegs(t, b.buf))
	var seen []string
	chk, err := d.CheckSegment(1, func(off int64, rec record.Record) error {
		seen = append(seen, string(rec.Key))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seen) != "[a z]" || len(chk.Bad) != 1 || chk.Bad[0].Start != m1 || chk.Bad[0].At != cm || chk.Bad[0].End != z {
		t.Fatalf("applied %v, bad %v", seen, chk.Bad)
	}
	if !errors.Is(chk.Bad[0].Err, ErrCorruption) || chk.Bad[0].Tail || chk.Bad[0].Zero {
		t.Fatalf("bad region %+v", chk.Bad[0])
	}
	if !chk.Active || chk.MaxSeq != 3 {
		t.Fatalf("active %v, max seq %d", chk.Active, chk.MaxSeq)
	}
}

func TestInspect_WalkRecordsShowsEveryRecordAndTheDamage(t *testing.T) {
	var b segBuilder
	b.add(record.KindPut, 1, "a", "1")
	bad := b.add(record.KindPut, 2, "b", "2")
	b.add(record.KindPut|record.FlagInBatch, 3, "c", "3")
	b.commit(3, 1)
	b.buf[bad+record.HeaderSize] ^= 1
	b.buf = append(b.buf, 0, 0, 0) // a torn tail
	d := openOffline(t, writeSegs(t, b.buf))
	var recs []string
	var regions []BadRegion
	err := d.WalkRecords(1, func(off int64, rec record.Record) error {
		recs = append(recs, fmt.Sprintf("%d:%d:%s", off, rec.Type, rec.Key))
		return nil
	}, func(r BadRegion) error {
		regions = append(regions, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("[0:1:a %d:129:c %d:3:]", b.offs[2], b.offs[3])
	if fmt.Sprint(recs) != want {
		t.Fatalf("records %v, want %s", recs, want)
	}
	if len(regions) != 2 || regions[0].Start != bad || regions[0].End != b.offs[2] || !regions[1].Tail || !regions[1].Zero {
		t.Fatalf("regions %v", regions)
	}
}

func TestInspect_HintThatDisagreesWithItsSegmentIsAMismatch(t *testing.T) {
	var b segBuilder
	b.add(record.KindPut, 1, "a", "1")
	b.add(record.KindPut, 2, "b", "2")
	dir := writeSegs(t, b.buf, nil)
	hb := hint.NewBuilder(1)
	hb.Add(hint.Entry{Key: []byte("a"), Offset: 0, Size: uint32(record.Size(1, 1)), Seq: 1, Kind: record.KindPut})
	hb.Add(hint.Entry{Key: []byte("B"), Offset: uint32(b.offs[1]), Size: uint32(record.Size(1, 1)), Seq: 2, Kind: record.KindPut})
	if err := hint.WriteFile(filepath.Join(dir, hintName(1)), hb.Finish(uint64(len(b.buf)), 2)); err != nil {
		t.Fatal(err)
	}
	d := openOffline(t, dir)
	chk, err := d.CheckSegment(1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if chk.Hint.State != HintMismatch {
		t.Fatalf("hint %v (%v), want mismatch", chk.Hint.State, chk.Hint.Err)
	}
	x, err := d.Load(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if info := x.Segments()[0]; !info.FromHint || info.Hint.State != HintValid {
		t.Fatalf("load did not trust the hint as Open does: %+v", info)
	}
}

func TestInspect_LoadAgreesWithTheEngine(t *testing.T) {
	clock := &fakeClock{now: time.UnixMilli(1_000_000)}
	db, dir := openTest(t, &Options{SegmentSize: 4096, Sync: SyncNo, Now: clock.Now})
	for i := range 500 {
		k := []byte(fmt.Sprintf("k%03d", i%170))
		exp := int64(0)
		if i%11 == 0 {
			exp = clock.now.UnixMilli() + int64(i%2)*10_000 - 5_000 // half expired
		}
		if err := db.PutWithExpiry(k, []byte(fmt.Sprintf("v%d", i)), exp); err != nil {
			t.Fatal(err)
		}
		if i%13 == 0 {
			db.Delete([]byte(fmt.Sprintf("k%03d", (i*3)%170)))
		}
	}
	db.Close()
	rebuildHints(t, dir)

	d, err := OpenOffline(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	x, err := d.Load(clock.now.UnixMilli(), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	var expired int64
	if err := x.Ascend(func(k, v []byte, exp int64) error {
		if exp != 0 && exp <= clock.now.UnixMilli() {
			expired++
			return nil
		}
		got[string(k)] = string(v)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	infos := x.Segments()
	keys := x.Len()
	x.Close()
	d.Close()

	db, err = Open(dir, &Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sameContents(t, got, contents(t, db))
	st, err := db.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if keys != st.Keys || len(infos) != len(st.Segments) {
		t.Fatalf("%d keys in %d segments, engine says %d in %d", keys, len(infos), st.Keys, len(st.Segments))
	}
	var sumExpired int64
	for i, info := range infos {
		s := st.Segments[i]
		if info.ID != s.ID || info.Size != s.Bytes || info.LiveBytes != s.LiveBytes || info.DeadBytes != s.DeadBytes {
			t.Errorf("segment %d: size %d live %d dead %d; engine: %d %d %d", info.ID, info.Size, info.LiveBytes, info.DeadBytes, s.Bytes, s.LiveBytes, s.DeadBytes)
		}
		if !info.Active && (!info.FromHint || info.Hint.State != HintValid) {
			t.Errorf("segment %d not loaded from its hint: %+v", info.ID, info.Hint)
		}
		sumExpired += info.Expired
	}
	if sumExpired != expired || expired == 0 {
		t.Fatalf("%d expired keys counted, %d seen", sumExpired, expired)
	}
}

func TestInspect_OfflineAndOpenExcludeEachOther(t *testing.T) {
	db, dir := openTest(t, nil)
	if _, err := OpenOffline(dir, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("OpenOffline of an open directory: %v, want ErrLocked", err)
	}
	db.Close()
	d := openOffline(t, dir)
	if _, err := Open(dir, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("Open of an offline-locked directory: %v, want ErrLocked", err)
	}
	d.Close()
	if _, err := OpenOffline(filepath.Join(dir, "nope"), nil); err == nil {
		t.Fatal("OpenOffline of a missing directory succeeded")
	}
}

func TestMergeProgress_ReportsInputBytesUpToTheTotal(t *testing.T) {
	var calls [][2]int64
	db, _ := openTest(t, &Options{SegmentSize: 4096, Sync: SyncNo, MergeProgress: func(done, total int64) {
		calls = append(calls, [2]int64{done, total})
	}})
	for i := range 3000 {
		mustPut(t, db, fmt.Sprintf("k%03d", i%100), "value value value")
	}
	st, _ := db.Stats()
	if err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	if len(calls) < 2 {
		t.Fatalf("%d progress reports", len(calls))
	}
	last := calls[len(calls)-1]
	if last[0] != last[1] || last[1] != st.Bytes {
		t.Fatalf("last report %v, want done = total = %d", last, st.Bytes)
	}
	for i := 1; i < len(calls); i++ {
		if calls[i][0] < calls[i-1][0] || calls[i][1] != last[1] {
			t.Fatalf("reports go backwards or change total: %v", calls)
		}
	}
}
