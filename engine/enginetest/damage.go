package enginetest

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/engine/hint"
	"github.com/walkerdb/walkerdb/engine/record"
)

// The builders below damage a directory that the engine wrote and closed.
// seg is a segment's index in id order, as in AllRecords; offsets are
// those of the undamaged records.

// CutTail truncates segment seg at off, as a torn write leaves it, and
// returns what it lost.
func CutTail(t testing.TB, dir string, seg int, off int64) Lost {
	t.Helper()
	if err := os.Truncate(Segments(t, dir)[seg], off); err != nil {
		t.Fatal(err)
	}
	return func(s int, _, end int64) bool { return s == seg && end > off }
}

// Region is the bytes [From, To) of segment Seg.
type Region struct {
	Seg      int
	From, To int64
}

// Flip inverts bits of every byte of the regions and returns what they
// lost.
func Flip(t testing.TB, dir string, regions ...Region) Lost {
	t.Helper()
	paths := Segments(t, dir)
	for _, r := range regions {
		FlipBytes(t, paths[r.Seg], r.From, r.To)
	}
	return func(seg int, off, end int64) bool {
		for _, r := range regions {
			if r.Seg == seg && off < r.To && r.From < end {
				return true
			}
		}
		return false
	}
}

// FlipBytes inverts bits of the bytes [from, to) of any file.
func FlipBytes(t testing.TB, path string, from, to int64) {
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

// BatchCommit damages the commit record of the first batch in a sealed
// segment (not the last) other than those of skip, and returns the
// batch's bytes, from its first member to its commit, which are all lost.
func BatchCommit(t testing.TB, dir string, segs [][]Record, skip ...int) (Region, Lost) {
	t.Helper()
next:
	for si := 0; si < len(segs)-1; si++ {
		for _, s := range skip {
			if s == si {
				continue next
			}
		}
		first := int64(-1)
		for _, r := range segs[si] {
			if r.Rec.InBatch() && first < 0 {
				first = r.Off
			}
			if r.Rec.Kind() == record.KindCommit && first >= 0 {
				FlipBytes(t, Segments(t, dir)[si], r.Off+record.HeaderSize, r.Off+record.HeaderSize+1)
				b := Region{Seg: si, From: first, To: r.Off + r.Size}
				return b, func(seg int, off, end int64) bool { return seg == b.Seg && off >= b.From && end <= b.To }
			}
		}
	}
	t.Fatal("no batch in a sealed segment")
	return Region{}, nil
}

// CorruptHint flips a byte of segment id's hint file, within its entries.
func CorruptHint(t testing.TB, dir string, id uint32) {
	t.Helper()
	FlipBytes(t, filepath.Join(dir, HintName(id)), 20, 21)
}

// DeleteHint removes segment id's hint file.
func DeleteHint(t testing.TB, dir string, id uint32) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, HintName(id))); err != nil {
		t.Fatal(err)
	}
}

// WrongHint replaces segment seg's hint with a well-formed one of the
// right length whose sixth entry names another key: a hint the engine
// would trust, and only a check against the segment finds wrong.
func WrongHint(t testing.TB, dir string, segs [][]Record, seg int) {
	t.Helper()
	id := uint32(seg + 1)
	b := hint.NewBuilder(id)
	var maxSeq uint64
	for i, r := range segs[seg] {
		if r.Rec.Kind() == record.KindCommit {
			continue
		}
		k := r.Rec.Key
		if i == 5 {
			k = []byte("not this key")
		}
		b.Add(hint.Entry{Key: k, Offset: uint32(r.Off), Size: uint32(r.Size), ExpireAt: r.Rec.ExpireAt, Seq: r.Rec.Seq, Kind: r.Rec.Kind()})
		maxSeq = max(maxSeq, r.Rec.Seq)
	}
	last := segs[seg][len(segs[seg])-1]
	if err := hint.WriteFile(filepath.Join(dir, HintName(id)), b.Finish(uint64(last.Off+last.Size), maxSeq)); err != nil {
		t.Fatal(err)
	}
}

// StrayTemp writes name + ".tmp" in dir, half a file as a crash during an
// atomic write leaves it, and returns its name.
func StrayTemp(t testing.TB, dir, name string) string {
	t.Helper()
	name += ".tmp"
	if err := os.WriteFile(filepath.Join(dir, name), []byte("half a hint"), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// UncommittedMerge leaves dir as a crash leaves it during a merge, before
// its commit point: a merge directory holding half an output segment and
// no DONE marker.
func UncommittedMerge(t testing.TB, dir string) {
	t.Helper()
	mdir := filepath.Join(dir, "merge")
	if err := os.Mkdir(mdir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(Segments(t, dir)[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mdir, SegmentName(1)), data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
}

// InterruptMerge leaves dir as a crash leaves it after a merge's commit
// point, half way through renaming its outputs into place. merge merges a
// copy of dir with the engine (Open, Merge, Close); its outputs are put in
// dir/merge with the DONE marker the engine writes (merge.go), and half
// the renames done as the engine does them, the old hint first.
func InterruptMerge(t testing.TB, dir string, merge func(dir string) error) {
	t.Helper()
	cp := t.TempDir()
	CopyDir(t, dir, cp)
	if err := merge(cp); err != nil {
		t.Fatal(err)
	}
	var inputs []uint32
	for _, p := range Segments(t, dir) {
		inputs = append(inputs, segmentID(p))
	}
	isOut := map[uint32]bool{}
	var outputs []uint32
	mdir := filepath.Join(dir, "merge")
	if err := os.Mkdir(mdir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range Segments(t, cp) {
		id := segmentID(p)
		if id > inputs[len(inputs)-1] {
			continue // the merge's new active segment
		}
		outputs = append(outputs, id)
		isOut[id] = true
		CopyFile(t, p, filepath.Join(mdir, SegmentName(id)))
		CopyFile(t, filepath.Join(cp, HintName(id)), filepath.Join(mdir, HintName(id)))
	}
	if len(outputs) >= len(inputs)-1 {
		t.Fatalf("merge wrote %d outputs for %d inputs: the test needs fewer", len(outputs), len(inputs))
	}
	done := "inputs" + ids(inputs) + "\noutputs" + ids(outputs) + "\n"
	if err := os.WriteFile(filepath.Join(mdir, "DONE"), []byte(done), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, id := range inputs[:len(inputs)/2] {
		seg, hint := filepath.Join(dir, SegmentName(id)), filepath.Join(dir, HintName(id))
		os.Remove(hint)
		if !isOut[id] {
			os.Remove(seg)
			continue
		}
		if err := os.Rename(filepath.Join(mdir, SegmentName(id)), seg); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(mdir, HintName(id)), hint); err != nil {
			t.Fatal(err)
		}
	}
}

func ids(list []uint32) string {
	var b strings.Builder
	for _, id := range list {
		fmt.Fprintf(&b, " %d", id)
	}
	return b.String()
}

// CopyDir copies the regular files of src (not its subdirectories) into
// dst.
func CopyDir(t testing.TB, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			CopyFile(t, filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()))
		}
	}
}

// CopyFile copies the file src to dst.
func CopyFile(t testing.TB, src, dst string) {
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
