package enginetest

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/walkerdb/walkerdb/engine/record"
)

// writeSegment writes segment id of dir from encoded records.
func writeSegment(t *testing.T, dir string, id uint32, recs ...[]byte) {
	t.Helper()
	var b []byte
	for _, r := range recs {
		b = append(b, r...)
	}
	if err := os.WriteFile(filepath.Join(dir, SegmentName(id)), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// put encodes one record of kind.
func put(kind uint8, key, value string) []byte {
	rec := make([]byte, record.Size(len(key), len(value)))
	record.Encode(rec, kind, 1, 0, []byte(key), []byte(value))
	return rec
}

func commit(n uint32) []byte { return put(record.KindCommit, "", string(record.CommitValue(n))) }

func TestReadable_DropsLostRecordsAndBatchesWithoutTheirCommit(t *testing.T) {
	dir := t.TempDir()
	inBatch := record.KindPut | record.FlagInBatch
	writeSegment(t, dir, 1, put(record.KindPut, "a", "1"), put(inBatch, "b", "2"), put(inBatch, "c", "3"), commit(2), put(record.KindPut, "d", "4"))
	writeSegment(t, dir, 2, put(record.KindPut, "a", "5"), put(record.KindPut, "e", "6"))
	segs := AllRecords(t, dir)
	if len(segs) != 2 || len(segs[0]) != 5 || len(segs[1]) != 2 {
		t.Fatalf("records per segment: %d", len(segs))
	}
	if got, want := Values(Readable(segs, nil)), map[string]string{"a": "5", "b": "2", "c": "3", "d": "4", "e": "6"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("undamaged: %v, want %v", got, want)
	}

	batch, lostBatch := BatchCommit(t, dir, segs)
	if batch.Seg != 0 || batch.From != segs[0][1].Off || batch.To != segs[0][3].Off+segs[0][3].Size {
		t.Fatalf("batch region %+v", batch)
	}
	e := segs[1][1]
	lost := Union(lostBatch, CutTail(t, dir, 1, e.Off+1))
	if got, want := Values(Readable(segs, lost)), map[string]string{"a": "5", "d": "4"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("damaged: %v, want %v", got, want)
	}
	if n := ReadSegments(t, dir)[2]; int64(len(n)) != e.Off+1 {
		t.Fatalf("segment 2 has %d bytes after the cut at %d", len(n), e.Off+1)
	}
}

func TestFlip_LosesEveryRecordItTouches(t *testing.T) {
	dir := t.TempDir()
	writeSegment(t, dir, 1, put(record.KindPut, "a", "1"), put(record.KindPut, "b", "2"), put(record.KindPut, "c", "3"))
	segs := AllRecords(t, dir)
	before := Snapshot(t, dir)
	a, b := segs[0][0], segs[0][1]
	lost := Flip(t, dir, Region{Seg: 0, From: a.Off + a.Size - 1, To: b.Off + 1})
	if got, want := Values(Readable(segs, lost)), map[string]string{"c": "3"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("%v, want %v", got, want)
	}
	Flip(t, dir, Region{Seg: 0, From: a.Off + a.Size - 1, To: b.Off + 1}) // flipped back
	SameSnapshot(t, Snapshot(t, dir), before)
}
