package hint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/walkerdb/walkerdb/fbs/walkerfb"
)

// sampleEntries returns n deterministic entries that include empty keys,
// binary keys containing \x00 and \r\n, both kinds and extreme field values.
func sampleEntries(n int) []Entry {
	r := rand.New(rand.NewPCG(1, 2))
	special := [][]byte{
		{},
		[]byte("\x00"),
		[]byte("a\x00b\r\nc"),
		[]byte("\r\n"),
		{0xff, 0xfe, 0x00, 0x80},
		bytes.Repeat([]byte{0}, 300),
	}
	out := make([]Entry, n)
	var off uint32
	for i := range out {
		var key []byte
		if i < len(special) {
			key = special[i]
		} else {
			key = make([]byte, r.IntN(40))
			for j := range key {
				key[j] = byte(r.Uint32())
			}
		}
		kind := KindPut
		if i%3 == 2 {
			kind = KindDelete
		}
		size := uint32(20 + r.IntN(1000))
		e := Entry{Key: key, Offset: off, Size: size, Seq: r.Uint64(), Kind: kind}
		switch i % 5 {
		case 1:
			e.ExpireAt = r.Int64()
		case 2:
			e.ExpireAt = -1 - r.Int64N(1000)
		case 3:
			e.ExpireAt, e.Seq = math.MaxInt64, math.MaxUint64
		}
		off += size
		out[i] = e
	}
	return out
}

func encode(segmentID uint32, segmentSize, maxSeq uint64, entries []Entry) []byte {
	b := NewBuilder(segmentID)
	for _, e := range entries {
		b.Add(e)
	}
	return b.Finish(segmentSize, maxSeq)
}

// reseal recomputes the CRC trailer so a deliberate corruption of the
// flatbuffer reaches the structural checks.
func reseal(data []byte) []byte {
	body := data[:len(data)-4]
	binary.LittleEndian.PutUint32(data[len(body):], crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
	return data
}

// mustRejectCorrupt parses data, failing the test if Parse panics, accepts
// the input or returns an error that does not wrap ErrCorrupt.
func mustRejectCorrupt(t *testing.T, what string, data []byte) error {
	t.Helper()
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("%s: Parse panicked: %v", what, r)
			}
		}()
		_, err = Parse(data)
	}()
	if err == nil {
		t.Fatalf("%s: Parse accepted a corrupt hint", what)
	}
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("%s: error %v does not wrap ErrCorrupt", what, err)
	}
	return err
}

func assertEntriesEqual(t *testing.T, h *Hint, want []Entry) {
	t.Helper()
	if h.Len() != len(want) {
		t.Fatalf("Len() = %d, want %d", h.Len(), len(want))
	}
	for i, w := range want {
		g := h.Entry(i)
		if !bytes.Equal(g.Key, w.Key) || g.Offset != w.Offset || g.Size != w.Size ||
			g.ExpireAt != w.ExpireAt || g.Seq != w.Seq || g.Kind != w.Kind {
			t.Fatalf("Entry(%d) = %+v, want %+v", i, g, w)
		}
	}
}

func TestBuilder_FinishThenParse_RoundTripsManyEntries(t *testing.T) {
	want := sampleEntries(5000)
	b := NewBuilder(42)
	for _, e := range want {
		b.Add(e)
	}
	if b.Len() != len(want) {
		t.Fatalf("Builder.Len() = %d, want %d", b.Len(), len(want))
	}
	h, err := Parse(b.Finish(123456789012, math.MaxUint64-1))
	if err != nil {
		t.Fatal(err)
	}
	if h.SegmentID() != 42 || h.SegmentSize() != 123456789012 || h.MaxSeq() != math.MaxUint64-1 {
		t.Fatalf("header = (%d, %d, %d)", h.SegmentID(), h.SegmentSize(), h.MaxSeq())
	}
	assertEntriesEqual(t, h, want)
}

// The builder holds entries and keys in chunks: a hint past several full
// chunks, with a key longer than a whole key chunk in the middle, reads
// back entry for entry.
func TestBuilder_FinishThenParse_RoundTripsAcrossFullChunks(t *testing.T) {
	want := sampleEntries(3*entryChunk + 7)
	want[entryChunk+1].Key = bytes.Repeat([]byte("k"), keyChunk+10)
	b := NewBuilder(7)
	for _, e := range want {
		b.Add(e)
	}
	if len(b.entries) < 4 || len(b.keys) < 3 {
		t.Fatalf("%d entry chunks and %d key chunks: the test no longer crosses chunks", len(b.entries), len(b.keys))
	}
	h, err := Parse(b.Finish(1<<30, 99))
	if err != nil {
		t.Fatal(err)
	}
	assertEntriesEqual(t, h, want)
}

func TestBuilder_FinishThenParse_RoundTripsEmptyHintAndZeroHeader(t *testing.T) {
	h, err := Parse(NewBuilder(0).Finish(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if h.Len() != 0 || h.SegmentID() != 0 || h.SegmentSize() != 0 || h.MaxSeq() != 0 {
		t.Fatalf("got len %d header (%d, %d, %d)", h.Len(), h.SegmentID(), h.SegmentSize(), h.MaxSeq())
	}
}

func TestBuilder_FinishTwiceGivesIdenticalBytes(t *testing.T) {
	b := NewBuilder(7)
	for _, e := range sampleEntries(50) {
		b.Add(e)
	}
	if !bytes.Equal(b.Finish(1, 2), b.Finish(1, 2)) {
		t.Fatal("Finish is not deterministic")
	}
}

func TestBuilder_AddCopiesTheKey(t *testing.T) {
	key := []byte("original")
	b := NewBuilder(1)
	b.Add(Entry{Key: key, Kind: KindPut})
	copy(key, "XXXXXXXX")
	h, err := Parse(b.Finish(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(h.Entry(0).Key); got != "original" {
		t.Fatalf("key = %q, want %q", got, "original")
	}
}

func TestBuilder_AddPanicsOnInvalidKind(t *testing.T) {
	for _, kind := range []uint8{0, 3, 255} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Add with kind %d did not panic", kind)
				}
			}()
			NewBuilder(1).Add(Entry{Key: []byte("k"), Kind: kind})
		}()
	}
}

func TestEntry_KeyAliasesDataWithCapacityClipped(t *testing.T) {
	data := encode(1, 0, 0, []Entry{
		{Key: []byte("aaa"), Kind: KindPut},
		{Key: []byte("bbb"), Kind: KindPut},
	})
	h, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	k := h.Entry(0).Key
	if cap(k) != len(k) {
		t.Fatalf("cap(Key) = %d, want %d", cap(k), len(k))
	}
	_ = append(k, 'Z') // must reallocate, not overwrite "bbb"
	if got := string(h.Entry(1).Key); got != "bbb" {
		t.Fatalf("Entry(1).Key = %q after append to Entry(0).Key", got)
	}
	if !inside(k, data) {
		t.Fatal("Key does not alias the parsed buffer")
	}
}

// The Builder writes each entry as the generated walkerfb.CreateHintEntry
// does, padding included, at an 8-aligned offset from the file's start,
// and the head's 8-byte fields 8-aligned too: what a reader that maps the
// file (flatbuffers' C++ verifier, say) asks of it.
func TestBuilder_LaysOutEntriesAsCreateHintEntryDoesAligned(t *testing.T) {
	want := sampleEntries(50)
	data := encode(3, 1<<33, 9, want)
	h, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	at := func(p []byte) int {
		return int(uintptr(unsafe.Pointer(unsafe.SliceData(p))) - uintptr(unsafe.Pointer(&data[0])))
	}
	if o := at(h.entries); o%8 != 0 {
		t.Fatalf("entries start at offset %d, not 8-aligned", o)
	}
	if headTable%4 != 0 || (headTable+8)%8 != 0 || (headTable+16)%8 != 0 {
		t.Fatal("the head's table fields are not aligned")
	}
	for i := range want {
		e := h.Entry(i)
		off := binary.LittleEndian.Uint32(h.entries[i*entrySize+entKeyOffset:])
		gen := flatbuffers.NewBuilder(0)
		walkerfb.CreateHintEntry(gen, off, uint32(len(e.Key)), e.Offset, e.Size, e.ExpireAt, e.Seq, e.Kind)
		if g, o := gen.Bytes[gen.Head():], h.entries[i*entrySize:(i+1)*entrySize]; !bytes.Equal(g, o) {
			t.Fatalf("entry %d: CreateHintEntry writes %x, the Builder wrote %x", i, g, o)
		}
	}
}

// Builder.WriteFile streams the bytes Finish returns, Size of them, and
// replaces the file atomically, as WriteFile does.
func TestBuilder_WriteFileWritesWhatFinishReturns(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "000004.hint")
	if err := WriteFile(path, encode(4, 1, 1, sampleEntries(3))); err != nil {
		t.Fatal(err)
	}
	b := NewBuilder(4)
	for _, e := range sampleEntries(2*entryChunk + 5) {
		b.Add(e)
	}
	if err := b.WriteFile(path, 1<<31, 77); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := b.Finish(1<<31, 77)
	if len(want) != b.Size() || !bytes.Equal(got, want) {
		t.Fatalf("file holds %d bytes, Finish returns %d, Size says %d; equal: %v", len(got), len(want), b.Size(), bytes.Equal(got, want))
	}
	if _, err := ReadFile(path); err != nil {
		t.Fatal(err)
	}
	if names, _ := os.ReadDir(dir); len(names) != 1 {
		t.Fatalf("directory holds %v, want only the hint", names)
	}
}

// A Builder whose file cannot be created leaves nothing behind and says
// which file it was.
func TestBuilder_WriteFileReportsFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-dir", "000001.hint")
	err := NewBuilder(1).WriteFile(path, 0, 0)
	if err == nil || !strings.Contains(err.Error(), "000001.hint") {
		t.Fatalf("err = %v, want one naming the hint", err)
	}
}

// TestParse_AgreesWithGeneratedAccessors keeps the hand-written struct
// layout in Parse/Entry, and the Builder's head, honest against the
// flatc-generated code.
func TestParse_AgreesWithGeneratedAccessors(t *testing.T) {
	want := sampleEntries(200)
	data := encode(9, 1<<40, 77, want)
	h, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	fb := walkerfb.GetRootAsHint(data[:len(data)-4], 0)
	if fb.SegmentId() != h.SegmentID() || fb.SegmentSize() != h.SegmentSize() || fb.MaxSeq() != h.MaxSeq() {
		t.Fatal("header differs from the generated accessors")
	}
	if fb.EntriesLength() != h.Len() || !bytes.Equal(fb.KeysBytes(), h.keys) {
		t.Fatal("vectors differ from the generated accessors")
	}
	var fe walkerfb.HintEntry
	for i := 0; i < h.Len(); i++ {
		fb.Entries(&fe, i)
		e := h.Entry(i)
		key := fb.KeysBytes()[fe.KeyOffset() : fe.KeyOffset()+fe.KeyLen()]
		if !bytes.Equal(key, e.Key) || fe.Offset() != e.Offset || fe.Size() != e.Size ||
			fe.ExpireAt() != e.ExpireAt || fe.Seq() != e.Seq || fe.Kind() != e.Kind {
			t.Fatalf("entry %d differs from the generated accessors", i)
		}
	}
}

func TestParse_RejectsFlippedByte(t *testing.T) {
	data := encode(3, 4096, 17, sampleEntries(8))
	for i := range data {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			c := bytes.Clone(data)
			c[i] ^= mask
			mustRejectCorrupt(t, fmt.Sprintf("byte %d ^ %#x", i, mask), c)
		}
	}
}

func TestParse_RejectsTruncationAtEveryLength(t *testing.T) {
	data := encode(3, 4096, 17, sampleEntries(8))
	for n := 0; n < len(data); n++ {
		mustRejectCorrupt(t, fmt.Sprintf("truncated to %d", n), bytes.Clone(data[:n]))
	}
	mustRejectCorrupt(t, "nil", nil)
}

func TestParse_RejectsWrongFileIdentifier(t *testing.T) {
	data := encode(3, 4096, 17, sampleEntries(8))
	copy(data[4:8], "WHNX")
	err := mustRejectCorrupt(t, "identifier WHNX", reseal(data))
	if !bytes.Contains([]byte(err.Error()), []byte("identifier")) {
		t.Fatalf("error %q does not mention the identifier", err)
	}
}

func TestParse_RejectsChecksummedHintsWithBadEntries(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(e *walkerfb.HintEntry)
	}{
		{"key past the end", func(e *walkerfb.HintEntry) { e.MutateKeyLen(e.KeyLen() + 1000) }},
		{"key offset past the end", func(e *walkerfb.HintEntry) { e.MutateKeyOffset(1 << 20) }},
		{"key range wrapping uint32", func(e *walkerfb.HintEntry) { e.MutateKeyOffset(math.MaxUint32); e.MutateKeyLen(2) }},
		{"kind 0", func(e *walkerfb.HintEntry) { e.MutateKind(0) }},
		{"kind 3", func(e *walkerfb.HintEntry) { e.MutateKind(3) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := encode(3, 4096, 17, sampleEntries(8))
			var e walkerfb.HintEntry
			walkerfb.GetRootAsHint(data[:len(data)-4], 0).Entries(&e, 7)
			tc.mutate(&e)
			mustRejectCorrupt(t, tc.name, reseal(data))
		})
	}
}

func TestParse_RejectsChecksummedHintsWithBadOffsets(t *testing.T) {
	vectorLenPos := func(data []byte, vtOffset int) int {
		tab := walkerfb.GetRootAsHint(data[:len(data)-4], 0).Table()
		return int(tab.Vector(flatbuffers.UOffsetT(tab.Offset(flatbuffers.VOffsetT(vtOffset))))) - 4
	}
	cases := []struct {
		name   string
		mutate func(data []byte)
	}{
		{"root offset past the end", func(d []byte) { binary.LittleEndian.PutUint32(d, uint32(len(d))) }},
		{"root offset huge", func(d []byte) { binary.LittleEndian.PutUint32(d, math.MaxUint32) }},
		{"vtable offset huge", func(d []byte) {
			root := binary.LittleEndian.Uint32(d)
			binary.LittleEndian.PutUint32(d[root:], 0x80000000)
		}},
		{"keys vector too long", func(d []byte) {
			binary.LittleEndian.PutUint32(d[vectorLenPos(d, 10):], 1<<30)
		}},
		{"entries vector too long", func(d []byte) {
			binary.LittleEndian.PutUint32(d[vectorLenPos(d, 12):], math.MaxUint32)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := encode(3, 4096, 17, sampleEntries(8))
			tc.mutate(data)
			mustRejectCorrupt(t, tc.name, reseal(data))
		})
	}
}

func TestWriteFile_ThenReadFile_RoundTripsAndLeavesNoTmpFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "000001.hint")
	if err := WriteFile(path, encode(1, 10, 1, sampleEntries(3))); err != nil {
		t.Fatal(err)
	}
	want := sampleEntries(100)
	if err := WriteFile(path, encode(2, 999, 5, want)); err != nil { // replaces
		t.Fatal(err)
	}
	h, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if h.SegmentID() != 2 || h.SegmentSize() != 999 || h.MaxSeq() != 5 {
		t.Fatalf("header = (%d, %d, %d)", h.SegmentID(), h.SegmentSize(), h.MaxSeq())
	}
	assertEntriesEqual(t, h, want)
	names, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0].Name() != "000001.hint" {
		t.Fatalf("directory holds %v, want only 000001.hint", names)
	}
}

func TestReadFile_ReportsMissingFileAsNotExist(t *testing.T) {
	_, err := ReadFile(filepath.Join(t.TempDir(), "nope.hint"))
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
}

func TestReadFile_ReportsCorruptFileAsErrCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.hint")
	data := encode(1, 10, 1, sampleEntries(3))
	data[len(data)/2] ^= 1
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(path); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v, want ErrCorrupt", err)
	}
}

func TestParse_AllocatesNothingPerEntry(t *testing.T) {
	data := encode(1, 0, 0, sampleEntries(1000))
	var h *Hint
	if n := testing.AllocsPerRun(20, func() { h, _ = Parse(data) }); n > 1 {
		t.Fatalf("Parse allocates %v times, want 1", n)
	}
	var sum uint64
	if n := testing.AllocsPerRun(20, func() {
		for i := 0; i < h.Len(); i++ {
			sum += uint64(len(h.Entry(i).Key))
		}
	}); n != 0 {
		t.Fatalf("visiting entries allocates %v times, want 0", n)
	}
}

// inside reports whether sub lies within buf's memory.
func inside(sub, buf []byte) bool {
	if len(sub) == 0 {
		return true
	}
	s := uintptr(unsafe.Pointer(unsafe.SliceData(sub)))
	b := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	return s >= b && s+uintptr(len(sub)) <= b+uintptr(len(buf))
}

func FuzzParse(f *testing.F) {
	f.Add(NewBuilder(0).Finish(0, 0))
	f.Add(encode(1, 100, 2, []Entry{{Key: []byte("k"), Offset: 0, Size: 100, Seq: 2, Kind: KindPut}}))
	f.Add(encode(3, 4096, 17, sampleEntries(8)))
	f.Add(encode(4, 1<<33, 1<<40, sampleEntries(40)))
	f.Add([]byte{})
	f.Add([]byte("WHNTWHNTWHNTWHNT"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParse(t, data)
		// Most mutations break the checksum; also parse the input with a
		// valid trailer so the fuzzer explores the structural checks.
		checkParse(t, binary.LittleEndian.AppendUint32(bytes.Clone(data),
			crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli))))
	})
}

// checkParse asserts that Parse either rejects data with ErrCorrupt or
// returns a hint whose entries all have in-range keys and valid kinds.
func checkParse(t *testing.T, data []byte) {
	h, err := Parse(data)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v does not wrap ErrCorrupt", err)
		}
		return
	}
	for i := 0; i < h.Len(); i++ {
		e := h.Entry(i)
		if !inside(e.Key, h.keys) || !inside(e.Key, data) {
			t.Fatalf("entry %d: key outside the keys vector", i)
		}
		if e.Kind != KindPut && e.Kind != KindDelete {
			t.Fatalf("entry %d: kind %d accepted", i, e.Kind)
		}
	}
}

// BenchmarkParseAndVisit1M measures start-up cost: parse a 1M-entry hint of
// 16-byte keys and read every entry.
func BenchmarkParseAndVisit1M(b *testing.B) {
	const n = 1 << 20
	bld := NewBuilder(1)
	for i := 0; i < n; i++ {
		bld.Add(Entry{
			Key:    fmt.Appendf(nil, "key-%012d", i),
			Offset: uint32(i * 64), Size: 64, Seq: uint64(i), Kind: KindPut,
		})
	}
	data := bld.Finish(n*64, n)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	var sink uint64
	for b.Loop() {
		h, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		sink += visitAll(h)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/entry")
	_ = sink
}

// visitAll reads every entry the way the engine's start-up does. It is a
// separate function because b.Loop stops calls in its body being inlined.
func visitAll(h *Hint) uint64 {
	var sum uint64
	for i := 0; i < h.Len(); i++ {
		e := h.Entry(i)
		sum += uint64(len(e.Key)) + uint64(e.Offset) + uint64(e.Size) + uint64(e.ExpireAt) + e.Seq + uint64(e.Kind)
	}
	return sum
}

// BenchmarkBuildAndFinish1M measures writing the same hint.
func BenchmarkBuildAndFinish1M(b *testing.B) {
	const n = 1 << 20
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "key-%012d", i)
	}
	for b.Loop() {
		bld := NewBuilder(1)
		for i, k := range keys {
			bld.Add(Entry{Key: k, Offset: uint32(i * 64), Size: 64, Seq: uint64(i), Kind: KindPut})
		}
		_ = bld.Finish(n*64, n)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/entry")
}

// BenchmarkEntry measures one Entry call on an already parsed hint.
func BenchmarkEntry(b *testing.B) {
	h, err := Parse(encode(1, 0, 0, sampleEntries(1024)))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var sink uint64
	for i := range b.N { // not b.Loop, which would stop Entry being inlined
		e := h.Entry(i & 1023)
		sink += uint64(len(e.Key)) + e.Seq
	}
	_ = sink
}

// Reset keeps the Builder's chunks and starts a hint over: the next
// hint holds only what was added since, and refilling the kept chunks
// allocates nothing.
func TestBuilder_ResetKeepsItsMemoryAndStartsOver(t *testing.T) {
	b := NewBuilder(1)
	for _, e := range sampleEntries(3 * entryChunk) {
		b.Add(e)
	}
	held := b.Held()
	want := sampleEntries(entryChunk)
	want[5].Key = bytes.Repeat([]byte("k"), 3000) // longer than the first key chunk kept
	b.Reset(2)
	if b.Len() != 0 || b.Held() != held {
		t.Fatalf("after Reset: Len %d, Held %d (was %d)", b.Len(), b.Held(), held)
	}
	for _, e := range want {
		b.Add(e)
	}
	h, err := Parse(b.Finish(10, 20))
	if err != nil {
		t.Fatal(err)
	}
	if h.SegmentID() != 2 {
		t.Fatalf("segment id %d, want 2", h.SegmentID())
	}
	assertEntriesEqual(t, h, want)
	if allocs := testing.AllocsPerRun(3, func() {
		b.Reset(3)
		for i := range entryChunk {
			b.Add(Entry{Key: want[i%4].Key, Kind: KindPut})
		}
	}); allocs != 0 {
		t.Fatalf("refilling kept chunks allocated %v times", allocs)
	}
}

// A hint past 4 GiB cannot be one flatbuffer (its offsets are 32 bits):
// the Builder refuses it rather than write offsets that wrap. (The count
// is set by hand: 108 million real entries would take 4 GiB here too.)
func TestBuilder_RefusesAHintPast4GiB(t *testing.T) {
	b := NewBuilder(1)
	b.Add(Entry{Key: []byte("k"), Kind: KindPut})
	b.n = math.MaxUint32 / entrySize
	if b.Finish(1, 1) != nil {
		t.Fatal("Finish returned bytes for a hint past 4 GiB")
	}
	dir := t.TempDir()
	if err := b.WriteFile(filepath.Join(dir, "000001.hint"), 1, 1); err == nil || !strings.Contains(err.Error(), "do not fit") {
		t.Fatalf("WriteFile: %v, want a refusal", err)
	}
	if names, _ := os.ReadDir(dir); len(names) != 0 {
		t.Fatalf("directory holds %v after a refused hint", names)
	}
}
