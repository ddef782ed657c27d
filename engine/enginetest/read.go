package enginetest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine/record"
)

// SegmentName and HintName are the file names of segment id and its hint.
func SegmentName(id uint32) string { return fmt.Sprintf("%09d.seg", id) }
func HintName(id uint32) string    { return fmt.Sprintf("%09d.hint", id) }

// segmentID parses a segment or hint file's name.
func segmentID(path string) uint32 {
	var id uint32
	fmt.Sscanf(filepath.Base(path), "%09d", &id)
	return id
}

// Files lists dir's files whose names end in ext, in name order: for
// ".seg" and ".hint", id order.
func Files(t testing.TB, dir, ext string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+ext))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	return m
}

// Segments lists dir's segment files in id order.
func Segments(t testing.TB, dir string) []string { return Files(t, dir, ".seg") }

// ReadSegments reads every segment file of dir, by id.
func ReadSegments(t testing.TB, dir string) map[uint32][]byte {
	t.Helper()
	m := map[uint32][]byte{}
	for _, p := range Segments(t, dir) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m[segmentID(p)] = b
	}
	return m
}

// Record is one record of an undamaged segment file at offset Off.
type Record struct {
	Off, Size int64
	Rec       record.Record
}

// Records decodes every record of the segment file at path with
// record.Decode. The file must be undamaged: read it before damaging it.
func Records(t testing.TB, path string) []Record {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []Record
	for off := int64(0); off < int64(len(data)); {
		rec, err := record.Decode(data[off:], int64(len(data)))
		if err != nil {
			t.Fatalf("%s offset %d: %v (only undamaged files are decoded)", path, off, err)
		}
		out = append(out, Record{off, rec.Size(), rec})
		off += rec.Size()
	}
	return out
}

// AllRecords decodes every segment of dir: one slice of records per
// segment, in id order. A segment's index in it is what Lost, Region and
// the builders call seg.
func AllRecords(t testing.TB, dir string) [][]Record {
	t.Helper()
	var segs [][]Record
	for _, p := range Segments(t, dir) {
		segs = append(segs, Records(t, p))
	}
	return segs
}

// PlainRecords are the indexes of recs that are neither batch members nor
// commits.
func PlainRecords(recs []Record) []int {
	var out []int
	for i, r := range recs {
		if !r.Rec.InBatch() && r.Rec.Kind() != record.KindCommit {
			out = append(out, i)
		}
	}
	return out
}

// LiveRecord is a plain put in segment seg that no later record of its key
// replaces: the record a read of its key goes to.
func LiveRecord(t testing.TB, segs [][]Record, seg int) Record {
	t.Helper()
	later := map[string]bool{}
	for s := len(segs) - 1; s >= seg; s-- {
		for i := len(segs[s]) - 1; i >= 0; i-- {
			r := segs[s][i]
			k := string(r.Rec.Key)
			if s == seg && !later[k] && r.Rec.Kind() == record.KindPut && !r.Rec.InBatch() {
				return r
			}
			later[k] = true
		}
	}
	t.Fatalf("no live plain put in segment %d", seg+1)
	return Record{}
}

// Lost says whether damage destroyed any byte of [off, end) of segment
// seg (its index in id order). A nil Lost destroyed nothing.
type Lost func(seg int, off, end int64) bool

// Union is lost where any of ls is.
func Union(ls ...Lost) Lost {
	return func(seg int, off, end int64) bool {
		for _, l := range ls {
			if l != nil && l(seg, off, end) {
				return true
			}
		}
		return false
	}
}

// KV is a key's value and expiry (Unix ms; 0: none).
type KV struct {
	Value    string
	ExpireAt int64
}

// Readable is the state that segs (each segment's records, in id order)
// hold once the bytes lost says are gone: a record is lost if any byte of
// it is, a batch if any of its members or its commit is, and a batch
// without its commit is never applied. Expired keys are included.
func Readable(segs [][]Record, lost Lost) map[string]KV {
	m := map[string]KV{}
	apply := func(r Record) {
		if r.Rec.Kind() == record.KindPut {
			m[string(r.Rec.Key)] = KV{string(r.Rec.Value), r.Rec.ExpireAt}
		} else {
			delete(m, string(r.Rec.Key))
		}
	}
	for si, recs := range segs {
		var batch []Record
		batchLost := false
		for _, r := range recs {
			gone := lost != nil && lost(si, r.Off, r.Off+r.Size)
			switch {
			case r.Rec.InBatch():
				batch = append(batch, r)
				batchLost = batchLost || gone
			case r.Rec.Kind() == record.KindCommit:
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

// Values drops the expiries of m.
func Values(m map[string]KV) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v.Value
	}
	return out
}

// Unexpired drops the keys of m that have expired by now.
func Unexpired(m map[string]KV) map[string]KV {
	out := map[string]KV{}
	now := time.Now().UnixMilli()
	for k, v := range m {
		if v.ExpireAt == 0 || v.ExpireAt > now {
			out[k] = v
		}
	}
	return out
}

// SameKVs reports every key in which got and want differ, the first eight
// of them, and fails when want is empty: such a test compares nothing.
func SameKVs(t testing.TB, got, want map[string]KV) {
	t.Helper()
	var bad []string
	for k, v := range want {
		if g, ok := got[k]; !ok {
			bad = append(bad, fmt.Sprintf("%q: missing, want %q", k, v.Value))
		} else if g != v {
			bad = append(bad, fmt.Sprintf("%q: got %q exp %d, want %q exp %d", k, g.Value, g.ExpireAt, v.Value, v.ExpireAt))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			bad = append(bad, fmt.Sprintf("%q: present (%q), want absent", k, g.Value))
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

// Snapshot reads every file and directory under dir, by relative path
// (directories end in "/").
func Snapshot(t testing.TB, dir string) map[string]string {
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

// SameSnapshot reports every file that is gone, changed or new in got.
func SameSnapshot(t testing.TB, got, want map[string]string) {
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

// SetAside is a region that recovery cut out of segment Seg (an id), as
// engine.SetAside reports it.
type SetAside struct {
	Seg        uint32
	Start, End int64
	Tail       bool   // a torn tail: its last record may run past End
	File       string // the copy, relative to the data directory; "" for zeros
	Copied     int64  // the copy's length
}

// CheckSetAside checks regions against the segments as they were damaged
// (damaged, by id): each copy holds exactly the damaged bytes, under
// quarantine/ and named by its offset, and a region cut without a copy was
// all zero. With lost, it also checks that every lost record of segs (the
// undamaged records, segs[i] being segment i+1) lies in a region.
func CheckSetAside(t testing.TB, dir string, damaged map[uint32][]byte, regions []SetAside, segs [][]Record, lost Lost) {
	t.Helper()
	for _, a := range regions {
		if a.File == "" {
			if !allZero(damaged[a.Seg][a.Start:a.End]) {
				t.Errorf("segment %d [%d, %d): cut without a copy but not all zero", a.Seg, a.Start, a.End)
			}
			continue
		}
		got, err := os.ReadFile(filepath.Join(dir, a.File))
		if err != nil {
			t.Fatal(err)
		}
		if want := damaged[a.Seg][a.Start : a.Start+a.Copied]; string(got) != string(want) {
			t.Errorf("%s: %d bytes, not the damaged bytes of segment %d at %d", a.File, len(got), a.Seg, a.Start)
		}
		if !strings.HasPrefix(a.File, "quarantine/") || !strings.HasSuffix(a.File, fmt.Sprintf("-offset-%d.bin", a.Start)) {
			t.Errorf("quarantine file name %s", a.File)
		}
	}
	if lost == nil {
		return
	}
	for si, recs := range segs {
		for _, r := range recs {
			if !lost(si, r.Off, r.Off+r.Size) {
				continue
			}
			covered := false
			for _, a := range regions {
				if a.Seg == uint32(si+1) && a.Start <= r.Off && (r.Off+r.Size <= a.End || a.Tail) {
					covered = true
				}
			}
			if !covered {
				t.Errorf("segment %d: lost record at %d (%d bytes) is in no set-aside region", si+1, r.Off, r.Size)
			}
		}
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
