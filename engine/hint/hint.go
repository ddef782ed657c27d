package hint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"

	flatbuffers "github.com/google/flatbuffers/go"
)

// Kind values stored in Entry.Kind.
const (
	KindPut    uint8 = 1 // the record sets the key
	KindDelete uint8 = 2 // the record is a tombstone
)

// ErrCorrupt is wrapped by every error Parse (and ReadFile) returns for a
// malformed hint file. Callers test it with errors.Is and fall back to
// scanning the segment.
var ErrCorrupt = errors.New("hint: corrupt hint file")

// FileIdentifier is the flatbuffers file identifier of a hint file.
const FileIdentifier = "WHNT"

const (
	trailerSize = 4  // CRC32-C of the flatbuffer, little-endian
	entrySize   = 40 // sizeof(walkerfb.HintEntry), see fbs/hint.fbs

	// Byte offsets of the fields inside a HintEntry struct.
	entKeyOffset = 0
	entKeyLen    = 4
	entOffset    = 8
	entSize      = 12
	entExpireAt  = 16
	entSeq       = 24
	entKind      = 32

	// Field slots (vtable indexes) of table Hint.
	slotSegmentID   = 0
	slotSegmentSize = 1
	slotMaxSeq      = 2
	slotKeys        = 3
	slotEntries     = 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Entry is one record of a segment as described by its hint.
type Entry struct {
	Key      []byte // aliases the parsed buffer; callers copy what they keep
	Offset   uint32 // byte offset of the record in the data segment
	Size     uint32 // the whole record's length in bytes
	ExpireAt int64  // unix milliseconds, 0 = no expiry
	Seq      uint64 // the record's sequence number
	Kind     uint8  // KindPut or KindDelete
}

// Builder accumulates entries for one segment's hint and writes it. Not
// safe for concurrent use.
//
// Entries are kept encoded, as the HintEntry structs the file holds, and
// keys as they will lie in the keys vector, both in chunks (entryChunk
// entries, keyChunk bytes; the first chunks start small and double), so a
// builder of a million entries never copies what it holds in order to
// grow. One growing slice did: Go grows a large slice by a quarter, so
// everything was copied about four times, each time into a fresh span of
// tens of MB, while the garbage collector spun waiting to preempt the
// copy. That cost 0.6-2 µs per entry (BenchmarkBuildAndFinish1M) and
// about a tenth of standalone walkerd's CPU under SET -P 16, which seals a
// 64 MB segment and builds its hint every few seconds.
//
// Writing the hint (encode) then hands those chunks out in file order
// behind a fixed head, so WriteFile streams them to the file with no
// buffer of the file's size. A flatbuffers.Builder, which builds back to
// front, needed one (and the whole hint placed into it a word at a time):
// Finish so cost 50-320 ns an entry, and a sealed segment's hint 0.3 s of
// a node's CPU under SET -P 16, much of it page faults in the fresh
// buffer.
type Builder struct {
	segmentID uint32
	keys      [][]byte // chunks of keys
	keyLen    int      // bytes in keys, all chunks
	entries   [][]byte // chunks of encoded HintEntry structs
	n         int      // entries, all chunks
	// The chunks in use: the first ent of entries and key of keys, all
	// full but the last. Those after them are empty, kept by Reset.
	ent, key int
}

const (
	entryChunk = 8192      // entries in a full chunk: 320 KiB
	keyChunk   = 256 << 10 // bytes in a full key chunk
)

// NewBuilder returns an empty Builder for the segment with the given id.
func NewBuilder(segmentID uint32) *Builder {
	return &Builder{segmentID: segmentID}
}

// Add appends e to the hint, copying e.Key. Entries should be added in
// record-offset order. Add panics if e.Kind is not KindPut or KindDelete, or
// if the keys added exceed 4 GiB in total (a segment is addressed with
// 32-bit offsets, so neither can happen for a real segment).
func (b *Builder) Add(e Entry) {
	if e.Kind != KindPut && e.Kind != KindDelete {
		panic(fmt.Sprintf("hint: Builder.Add: invalid kind %d", e.Kind))
	}
	if uint64(b.keyLen)+uint64(len(e.Key)) > math.MaxUint32 {
		panic("hint: Builder.Add: keys exceed 4 GiB")
	}
	if b.ent == 0 || len(b.entries[b.ent-1]) == cap(b.entries[b.ent-1]) {
		if b.ent == len(b.entries) {
			b.entries = append(b.entries, make([]byte, 0, entrySize*min(entryChunk, max(64, b.n))))
		}
		b.ent++
	}
	last := &b.entries[b.ent-1]
	o := len(*last)
	*last = (*last)[:o+entrySize]
	ent := (*[entrySize]byte)((*last)[o:])
	le := binary.LittleEndian
	le.PutUint32(ent[entKeyOffset:], uint32(b.keyLen))
	le.PutUint32(ent[entKeyLen:], uint32(len(e.Key)))
	le.PutUint32(ent[entOffset:], e.Offset)
	le.PutUint32(ent[entSize:], e.Size)
	le.PutUint64(ent[entExpireAt:], uint64(e.ExpireAt))
	le.PutUint64(ent[entSeq:], e.Seq)
	le.PutUint64(ent[entKind:], uint64(e.Kind)) // kind, then 7 bytes of padding
	b.n++
	if b.key == 0 || len(b.keys[b.key-1])+len(e.Key) > cap(b.keys[b.key-1]) {
		if b.key == len(b.keys) {
			b.keys = append(b.keys, nil)
		}
		if cap(b.keys[b.key]) < len(e.Key) || cap(b.keys[b.key]) == 0 { // new, or kept by Reset and too small
			b.keys[b.key] = make([]byte, 0, max(len(e.Key), min(keyChunk, max(1024, b.keyLen))))
		}
		b.key++
	}
	k := &b.keys[b.key-1]
	*k = append(*k, e.Key...)
	b.keyLen += len(e.Key)
}

// Reset empties b for the hint of another segment, keeping the chunks it
// has for the entries and keys to come.
func (b *Builder) Reset(segmentID uint32) {
	for i := range b.entries {
		b.entries[i] = b.entries[i][:0]
	}
	for i := range b.keys {
		b.keys[i] = b.keys[i][:0]
	}
	b.segmentID, b.keyLen, b.n, b.ent, b.key = segmentID, 0, 0, 0, 0
}

// Held is the bytes of memory b's chunks take, in use or kept by Reset.
func (b *Builder) Held() int {
	n := 0
	for _, c := range b.entries {
		n += cap(c)
	}
	for _, c := range b.keys {
		n += cap(c)
	}
	return n
}

// SegmentID is the id of the segment the hint describes.
func (b *Builder) SegmentID() uint32 { return b.segmentID }

// Len returns the number of entries added so far.
func (b *Builder) Len() int { return b.n }

// The head of every hint file the Builder writes: the root offset, the
// identifier, the vtable and the Hint table, then the entries vector's
// length, so that its structs start 8-aligned. The keys vector follows
// the entries. Offsets are from the start of the file:
//
//	 0 root uoffset = 24     24 table: soffset = 16 (vtable at 8)
//	 4 "WHNT"                28   segment_id     u32
//	 8 vtable: 14, 32,       32   segment_size   u64
//	   4, 8, 16, 24, 28      40   max_seq        u64
//	22 (2 bytes pad)         48   keys uoffset    → 64 + 40n
//	                         52   entries uoffset → 60
//	                         56 (4 bytes pad)
//	                         60 entries: n, then n × 40 bytes at 64
//	                    64 + 40n keys: length, then the bytes
//
// Every field is written, zero or not; a reader finds them through the
// vtable as in any flatbuffer (TestParse_AgreesWithGeneratedAccessors,
// TestBuilder_LaysOutEntriesAsCreateHintEntryDoesAligned).
const (
	headSize    = 64
	headTable   = 24
	headVtable  = 8
	headKeysAt  = 48
	headEntryAt = 52
	headEntries = 60
)

// Size is the length in bytes of the hint file that Finish returns and
// WriteFile writes, its trailer included.
func (b *Builder) Size() int { return headSize + b.n*entrySize + 4 + b.keyLen + trailerSize }

// encode hands the hint file's bytes to emit in order, in pieces that
// alias the Builder's chunks: the head, the entries, the keys vector and
// the CRC32-C trailer. It stops at emit's first error, and refuses a hint
// past 4 GiB, which a flatbuffer's 32-bit offsets cannot span (a segment
// of the largest size, all of records shorter than an entry).
func (b *Builder) encode(segmentSize, maxSeq uint64, emit func([]byte) error) error {
	if b.Size() > math.MaxUint32 {
		return fmt.Errorf("hint: %d entries and %d bytes of keys do not fit one hint file", b.n, b.keyLen)
	}
	le := binary.LittleEndian
	var head [headSize]byte
	le.PutUint32(head[0:], headTable)
	copy(head[4:], FileIdentifier)
	for i, v := range []uint16{14, 32, 4, 8, 16, 24, 28} { // vtable: its size, the table's, the fields'
		le.PutUint16(head[headVtable+2*i:], v)
	}
	le.PutUint32(head[headTable:], headTable-headVtable)
	le.PutUint32(head[headTable+4:], b.segmentID)
	le.PutUint64(head[headTable+8:], segmentSize)
	le.PutUint64(head[headTable+16:], maxSeq)
	le.PutUint32(head[headKeysAt:], uint32(headSize+b.n*entrySize-headKeysAt))
	le.PutUint32(head[headEntryAt:], headEntries-headEntryAt)
	le.PutUint32(head[headEntries:], uint32(b.n))
	var keysLen [4]byte
	le.PutUint32(keysLen[:], uint32(b.keyLen))

	crc := uint32(0)
	put := func(p []byte) error {
		crc = crc32.Update(crc, castagnoli, p)
		return emit(p)
	}
	if err := put(head[:]); err != nil {
		return err
	}
	for _, c := range b.entries { // those past ent are empty
		if err := put(c); err != nil {
			return err
		}
	}
	if err := put(keysLen[:]); err != nil {
		return err
	}
	for _, c := range b.keys { // those past key are empty
		if err := put(c); err != nil {
			return err
		}
	}
	var trailer [trailerSize]byte
	le.PutUint32(trailer[:], crc)
	return emit(trailer[:])
}

// Finish returns the hint file's bytes (Size of them): the flatbuffer
// followed by its CRC32-C trailer. segmentSize is the length of the data
// file the hint describes and maxSeq the highest sequence number in it.
// Finish does not reset the Builder; calling it again returns the same
// bytes plus any entries added since. A hint that encode refuses comes
// back nil, which Parse rejects.
func (b *Builder) Finish(segmentSize, maxSeq uint64) []byte {
	if b.Size() > math.MaxUint32 {
		return nil
	}
	out := make([]byte, 0, b.Size())
	b.encode(segmentSize, maxSeq, func(p []byte) error {
		out = append(out, p...)
		return nil
	})
	return out
}

// WriteFile atomically replaces path with the hint file that Finish would
// return, as the package's WriteFile does, written from the Builder's
// chunks as they stand.
func (b *Builder) WriteFile(path string, segmentSize, maxSeq uint64) error {
	return writeFile(path, func(f *os.File) error {
		return b.encode(segmentSize, maxSeq, func(p []byte) error {
			_, err := f.Write(p)
			return err
		})
	})
}

// Hint is a parsed, validated hint file. Its accessors never fail: every
// offset was checked by Parse.
type Hint struct {
	segmentID   uint32
	segmentSize uint64
	maxSeq      uint64
	keys        []byte // the keys vector's bytes
	entries     []byte // the entries vector's bytes, len = n*entrySize
	n           int
}

// Parse validates data (a whole hint file) and returns the parsed hint. It
// checks the length, the CRC32-C trailer, the "WHNT" identifier, every table
// and vector offset, that every entry's key range lies inside the keys
// vector and that every kind is KindPut or KindDelete. Any failure wraps
// ErrCorrupt; Parse never panics. The returned Hint aliases data. Parse
// allocates only the Hint itself, whatever the number of entries.
func Parse(data []byte) (*Hint, error) {
	// Smallest flatbuffer: root uoffset + identifier + a 4-byte vtable +
	// a table holding just its soffset.
	const minBody = 4 + 4 + 4 + 4
	if len(data) < minBody+trailerSize {
		return nil, corruptf("file too short (%d bytes)", len(data))
	}
	body := data[:len(data)-trailerSize]
	want := binary.LittleEndian.Uint32(data[len(body):])
	if got := crc32.Checksum(body, castagnoli); got != want {
		return nil, corruptf("checksum mismatch (stored %08x, computed %08x)", want, got)
	}
	if !flatbuffers.BufferHasIdentifier(body, FileIdentifier) {
		return nil, corruptf("bad file identifier %q, want %q", body[4:8], FileIdentifier)
	}

	t, err := rootTable(body)
	if err != nil {
		return nil, err
	}
	h := &Hint{}
	if h.segmentID, err = t.uint32(slotSegmentID); err != nil {
		return nil, err
	}
	if h.segmentSize, err = t.uint64(slotSegmentSize); err != nil {
		return nil, err
	}
	if h.maxSeq, err = t.uint64(slotMaxSeq); err != nil {
		return nil, err
	}
	var nents int
	if h.keys, _, err = t.vector(slotKeys, 1); err != nil {
		return nil, err
	}
	if h.entries, nents, err = t.vector(slotEntries, entrySize); err != nil {
		return nil, err
	}
	h.n = nents

	nk := uint64(len(h.keys))
	ents := h.entries
	for i := 0; i < nents; i++ {
		e := ents[i*entrySize : i*entrySize+entrySize]
		off := uint64(binary.LittleEndian.Uint32(e[entKeyOffset:]))
		kl := uint64(binary.LittleEndian.Uint32(e[entKeyLen:]))
		if off+kl > nk {
			return nil, corruptf("entry %d: key range [%d, %d) outside keys (%d bytes)", i, off, off+kl, nk)
		}
		if k := e[entKind]; k != KindPut && k != KindDelete {
			return nil, corruptf("entry %d: invalid kind %d", i, k)
		}
	}
	return h, nil
}

// SegmentID returns the id of the segment the hint describes.
func (h *Hint) SegmentID() uint32 { return h.segmentID }

// SegmentSize returns the length of the data file the hint describes.
func (h *Hint) SegmentSize() uint64 { return h.segmentSize }

// MaxSeq returns the highest sequence number in the segment.
func (h *Hint) MaxSeq() uint64 { return h.maxSeq }

// Len returns the number of entries.
func (h *Hint) Len() int { return h.n }

// Entry returns entry i, 0 <= i < Len(), in record-offset order. Its Key
// aliases the parsed buffer (with its capacity clipped to the key).
func (h *Hint) Entry(i int) Entry {
	e := (*[entrySize]byte)(h.entries[i*entrySize:]) // one bounds check
	off := binary.LittleEndian.Uint32(e[entKeyOffset:])
	end := off + binary.LittleEndian.Uint32(e[entKeyLen:]) // validated by Parse: no overflow
	return Entry{
		Key:      h.keys[off:end:end],
		Offset:   binary.LittleEndian.Uint32(e[entOffset:]),
		Size:     binary.LittleEndian.Uint32(e[entSize:]),
		ExpireAt: int64(binary.LittleEndian.Uint64(e[entExpireAt:])),
		Seq:      binary.LittleEndian.Uint64(e[entSeq:]),
		Kind:     e[entKind],
	}
}

// WriteFile atomically replaces path with data: it writes path+".tmp",
// fsyncs it, renames it over path and fsyncs the directory.
func WriteFile(path string, data []byte) error {
	return writeFile(path, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// writeFile atomically replaces path with what write writes to the file
// it is given, as WriteFile describes.
func writeFile(path string, write func(*os.File) error) (err error) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("hint: write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("hint: write %s: %w", path, err)
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

// ReadFile reads and parses the hint file at path. A malformed file yields
// an error wrapping ErrCorrupt; a missing one wraps fs.ErrNotExist.
func ReadFile(path string) (*Hint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	h, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}

func corruptf(format string, args ...any) error {
	return fmt.Errorf("hint: "+format+": %w", append(args, ErrCorrupt)...)
}

// table is a bounds-checked view of a flatbuffers table. The generated
// accessors in walkerfb trust their input and panic on bad offsets, so
// Parse walks the buffer itself.
type table struct {
	buf    []byte
	pos    uint64 // start of the table (its soffset to the vtable)
	tabLen uint64 // table size recorded in the vtable
	vt     uint64 // start of the vtable
	vtLen  uint64 // vtable size in bytes
}

func rootTable(buf []byte) (table, error) {
	n := uint64(len(buf))
	pos := uint64(binary.LittleEndian.Uint32(buf)) // len(buf) >= 4 checked by caller
	if pos+4 > n {
		return table{}, corruptf("root table offset %d outside buffer (%d bytes)", pos, n)
	}
	vt := int64(pos) - int64(int32(binary.LittleEndian.Uint32(buf[pos:])))
	if vt < 0 || uint64(vt)+4 > n {
		return table{}, corruptf("vtable offset %d outside buffer (%d bytes)", vt, n)
	}
	t := table{buf: buf, pos: pos, vt: uint64(vt)}
	t.vtLen = uint64(binary.LittleEndian.Uint16(buf[t.vt:]))
	t.tabLen = uint64(binary.LittleEndian.Uint16(buf[t.vt+2:]))
	if t.vtLen < 4 || t.vtLen%2 != 0 || t.vt+t.vtLen > n {
		return table{}, corruptf("bad vtable (at %d, %d bytes)", t.vt, t.vtLen)
	}
	if t.tabLen < 4 || t.pos+t.tabLen > n {
		return table{}, corruptf("bad table size %d at %d", t.tabLen, t.pos)
	}
	return t, nil
}

// field returns the absolute position of a field of the given size, or
// ok=false if the field is absent (it then has its default value).
func (t table) field(slot int, size uint64) (pos uint64, ok bool, err error) {
	e := 4 + 2*uint64(slot)
	if e+2 > t.vtLen {
		return 0, false, nil
	}
	o := uint64(binary.LittleEndian.Uint16(t.buf[t.vt+e:]))
	if o == 0 {
		return 0, false, nil
	}
	if o < 4 || o+size > t.tabLen {
		return 0, false, corruptf("field %d at table offset %d outside table (%d bytes)", slot, o, t.tabLen)
	}
	return t.pos + o, true, nil
}

func (t table) uint32(slot int) (uint32, error) {
	p, ok, err := t.field(slot, 4)
	if !ok {
		return 0, err
	}
	return binary.LittleEndian.Uint32(t.buf[p:]), nil
}

func (t table) uint64(slot int) (uint64, error) {
	p, ok, err := t.field(slot, 8)
	if !ok {
		return 0, err
	}
	return binary.LittleEndian.Uint64(t.buf[p:]), nil
}

// vector returns the bytes of a vector field (n elements of elemSize bytes)
// and its length; an absent vector is empty.
func (t table) vector(slot int, elemSize uint64) ([]byte, int, error) {
	p, ok, err := t.field(slot, 4)
	if !ok {
		return nil, 0, err
	}
	bn := uint64(len(t.buf))
	v := p + uint64(binary.LittleEndian.Uint32(t.buf[p:]))
	if v+4 > bn {
		return nil, 0, corruptf("field %d: vector offset %d outside buffer (%d bytes)", slot, v, bn)
	}
	n := uint64(binary.LittleEndian.Uint32(t.buf[v:]))
	start := v + 4
	if n*elemSize > bn-start { // n < 2^32 and elemSize <= 40: no overflow
		return nil, 0, corruptf("field %d: vector of %d elements at %d overruns buffer (%d bytes)", slot, n, v, bn)
	}
	end := start + n*elemSize
	return t.buf[start:end:end], int(n), nil
}
