package engine

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/walkerdb/walkerdb/engine/record"
	"github.com/walkerdb/walkerdb/engine/zeroahead"
	"golang.org/x/sys/unix"
)

const (
	segExt  = ".seg"
	hintExt = ".hint"
)

func segName(id uint32) string  { return fmt.Sprintf("%09d%s", id, segExt) }
func hintName(id uint32) string { return fmt.Sprintf("%09d%s", id, hintExt) }

// parseSegName returns the id of a segment file name.
func parseSegName(name string) (uint32, bool) {
	base, ok := strings.CutSuffix(name, segExt)
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseUint(base, 10, 32)
	if err != nil || segName(uint32(id)) != name {
		return 0, false
	}
	return uint32(id), true
}

// segment is one data file. The active segment is preallocated at its
// capacity and mapped read-only: a write encodes the batch's records into
// a buffer and hands them to the page cache with one pwrite (flush), and
// they survive a crash of the process once it returns (a held write's,
// Batch.Hold, once a later flush returns; until then reads find them in
// the buffer, from). Sealed segments are
// trimmed to their length and mapped read-only. Either way a Get reads the
// record in place (readValueSized): its header, key and CRC straight from
// the mapping, and copies out the value alone.
//
// Writes go through pwrite rather than through the mapping because a
// page written through a shared mapping faults on its first write after
// every writeback (ext4's page_mkwrite, a journal handle each time), and
// fdatasync must then find the dirty pages through the page tables. An
// fsync after each group of 17 records of 145 bytes, on ext4, cost 117 µs
// of CPU a group through the mapping and 96 µs with pwrite; groups of 256
// records 291 µs and 154 µs, and took 946 µs and 510 µs of wall time
// (one run of a side-by-side test program on this project's build machine).
type segment struct {
	id   uint32
	path string
	size int64 // bytes of whole records
	live int64 // bytes of records the keydir points at

	// active only
	buf   []byte // the read-only mapping, len = capacity
	wb    []byte // small records appended and not yet written (flush)
	wbOff int64  // the file offset of wb[0]

	// sealed only: the read-only mapping, len = size (empty, not nil, for
	// an empty file)
	ra mapping

	fmu sync.Mutex // guards f against Close while a sync runs
	f   *os.File   // active only
	// z, active only and with Options.ZeroAhead: writes to f go through
	// it, and it keeps the blocks ahead of them written with zeros
	// (package zeroahead); stopped before f is trimmed or closed.
	z *zeroahead.File

	// loading reads the last segment while Open scans it, before it is
	// mapped, so that records it replaces can be measured.
	loading io.ReaderAt
}

// capacity is how many bytes the segment can hold.
func (s *segment) capacity() int64 {
	if s.buf != nil {
		return int64(len(s.buf))
	}
	return s.size
}

// readerAt gives the segment's bytes to the scanner.
func (s *segment) readerAt() io.ReaderAt {
	if s.buf != nil {
		return bytesReaderAt(s.buf[:s.size])
	}
	return s.ra
}

type bytesReaderAt []byte

// mapping is a sealed segment's file, mapped read-only and shared.
type mapping []byte

// mapFile maps the file at path read-only. An empty file gets an empty,
// non-nil mapping: mmap refuses a length of 0.
func mapFile(path string) (mapping, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	if size == 0 {
		return mapping{}, nil
	}
	if size != int64(int(size)) {
		return nil, fmt.Errorf("%s: %d bytes: too large to map", path, size)
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", path, err)
	}
	return b, nil
}

func (m mapping) ReadAt(p []byte, off int64) (int, error) { return bytesReaderAt(m).ReadAt(p, off) }

func (m mapping) unmap() error {
	if len(m) == 0 {
		return nil
	}
	return unix.Munmap(m)
}

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// createActive makes a new segment file of the given capacity and maps
// it; zero: see mapActive.
func createActive(dir string, id uint32, capacity int64, zero bool) (*segment, error) {
	path := filepath.Join(dir, segName(id))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	s, err := mapActive(f, path, id, 0, capacity, zero)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	if err := syncDir(dir); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// mapActive grows f to capacity and maps it for writing at size. With
// zero, the blocks ahead of the writes are written with zeros as they go
// (Options.ZeroAhead).
func mapActive(f *os.File, path string, id uint32, size, capacity int64, zero bool) (*segment, error) {
	// Reserve the blocks so that a full disk fails here, not as a fault on a
	// later copy into the mapping. Some filesystems cannot; they get a
	// sparse file.
	if err := unix.Fallocate(int(f.Fd()), 0, 0, capacity); err != nil {
		if err := f.Truncate(capacity); err != nil {
			return nil, fmt.Errorf("segment %d: grow to %d bytes: %w", id, capacity, err)
		}
	}
	buf, err := unix.Mmap(int(f.Fd()), 0, int(capacity), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("segment %d: map: %w", id, err)
	}
	s := &segment{id: id, path: path, size: size, buf: buf, f: f}
	if zero {
		// Without its own descriptor the zeroing is off: slower fsyncs,
		// nothing else.
		s.z, _ = zeroahead.Start(f, path, size, capacity)
	}
	return s, nil
}

// writeAt writes p at off in the active segment's file.
func (s *segment) writeAt(p []byte, off int64) (int, error) {
	if s.z != nil {
		return s.z.WriteAt(p, off)
	}
	return s.f.WriteAt(p, off)
}

// stopZeroing ends the zeroing ahead of the writes, if any: before f is
// trimmed or closed.
func (s *segment) stopZeroing() {
	if s.z != nil {
		s.z.Stop()
		s.z = nil
	}
}

// openSealed maps a sealed segment for reading.
func openSealed(path string, id uint32) (*segment, error) {
	ra, err := mapFile(path)
	if err != nil {
		return nil, fmt.Errorf("segment %d: %w", id, err)
	}
	return &segment{id: id, path: path, size: int64(len(ra)), ra: ra}, nil
}

// appendRecord appends a record to the end of the active segment and
// returns its offset. The caller has made room (see DB.rotate). A small
// record is encoded into s.wb, and reaches the file, and the mapping, only
// when flush writes it; a big one is written at once, after what s.wb
// holds. Only a write can fail.
func (s *segment) appendRecord(typ uint8, seq uint64, expireAt int64, key, value []byte) (int64, error) {
	off := s.size
	n := int(record.Size(len(key), len(value)))
	if n < bigRecord {
		if len(s.wb) == 0 {
			s.wbOff = off
		}
		at := len(s.wb)
		s.wb = slices.Grow(s.wb, n)[:at+n]
		record.Encode(s.wb[at:], typ, seq, expireAt, key, value)
	} else {
		if err := s.flush(); err != nil {
			return 0, err
		}
		// Written straight from key and value, bigChunk at a time, not
		// copied into s.wb (a 512 MB value would need a second 512 MB);
		// and the pages of it a read mapped are dropped, since the pages
		// of a mapping count in the process's resident set.
		var h [record.HeaderSize]byte
		record.EncodeHeader(h[:], typ, seq, expireAt, key, value)
		p := off
		for _, part := range [][]byte{h[:], key, value} {
			for len(part) > 0 {
				k := min(len(part), bigChunk)
				if _, err := s.writeAt(part[:k], p); err != nil {
					return 0, fmt.Errorf("segment %d: write at %d: %w", s.id, p, err)
				}
				p, part = p+int64(k), part[k:]
			}
		}
		dropPages(s.buf, off, n) // pages of the mapping a read mapped
	}
	s.size += int64(n)
	return off, nil
}

// flush writes the records appendRecord holds in s.wb, with one pwrite.
// DB.write calls it before it lets any reader see them, unless the write
// is held (Batch.Hold): readers then find them in s.wb (from). A buffer
// grown past wbKeep is let go.
func (s *segment) flush() error {
	if len(s.wb) == 0 {
		return nil
	}
	if _, err := s.writeAt(s.wb, s.wbOff); err != nil {
		// The records stay in s.wb, where reads of held ones find them.
		return fmt.Errorf("segment %d: write at %d: %w", s.id, s.wbOff, err)
	}
	if cap(s.wb) > wbKeep {
		s.wb = nil
	} else {
		s.wb = s.wb[:0]
	}
	return nil
}

// wbKeep is the largest write buffer a segment keeps between writes.
const wbKeep = 1 << 20

// bigRecord is the size from which a record's pages leave the process's
// memory once written, and its value is read with pread rather than
// through the mapping: the page cache keeps the bytes either way, but
// pages touched through a mapping count in the process's resident set
// until it unmaps them, so a 512 MB value written, then read, would add
// 512 MB to walkerd's RSS each time on top of the copies it needs.
const bigRecord = 1 << 20

// bigChunk is the most one write of a big record writes.
const bigChunk = 4 << 20

// dropPages unmaps the whole pages of buf[off:off+n] from the process
// (madvise MADV_DONTNEED). On a shared file mapping that loses nothing:
// the kernel moves a dirty page's state to the page cache (mm/memory.c
// zap_pte_range), and a later access maps the page again from there.
func dropPages(buf []byte, off int64, n int) {
	pg := int64(os.Getpagesize())
	from, to := (off+pg-1)&^(pg-1), (off+int64(n))&^(pg-1)
	if to > from {
		unix.Madvise(buf[from:to], unix.MADV_DONTNEED) // advice: a failure costs memory only
	}
}

// readBig reads the record at off, size bytes, with pread, around the
// mapping (bigRecord).
func (s *segment) readBig(off uint32, size int64) ([]byte, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rec := make([]byte, size)
	if _, err := f.ReadAt(rec, int64(off)); err != nil {
		return nil, err
	}
	return rec, nil
}

// sync makes the active segment's writes durable. Safe beside Close.
func (s *segment) sync() error {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.f == nil {
		return nil // sealed (synced at seal) or closed
	}
	return unix.Fdatasync(int(s.f.Fd()))
}

// seal trims the active segment to its records, syncs it and remaps it
// read-only. The caller holds DB.mu for writing.
func (s *segment) seal() error {
	if err := s.flush(); err != nil { // held records (Batch.Hold)
		return err
	}
	if err := s.sync(); err != nil {
		return fmt.Errorf("segment %d: sync: %w", s.id, err)
	}
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if err := unix.Munmap(s.buf); err != nil {
		return fmt.Errorf("segment %d: unmap: %w", s.id, err)
	}
	s.buf = nil
	s.stopZeroing()
	if err := s.f.Truncate(s.size); err != nil {
		return fmt.Errorf("segment %d: trim: %w", s.id, err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("segment %d: sync: %w", s.id, err)
	}
	s.f.Close()
	s.f = nil
	if s.size == 0 {
		return nil // mmap refuses empty files; an empty segment needs no reader
	}
	ra, err := mapFile(s.path)
	if err != nil {
		return fmt.Errorf("segment %d: %w", s.id, err)
	}
	s.ra = ra
	return nil
}

// close releases the segment's mapping and file.
func (s *segment) close() error {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	var errs []error
	if s.buf != nil {
		errs = append(errs, unix.Munmap(s.buf))
		s.buf = nil
	}
	if s.f != nil {
		s.stopZeroing()
		errs = append(errs, s.f.Close())
		s.f = nil
	}
	if s.ra != nil {
		errs = append(errs, s.ra.unmap())
		s.ra = nil
	}
	return errors.Join(errs...)
}

// mapped is the segment's mapping: the active one's whole capacity or a
// sealed one's whole file; nil while Open scans the last segment.
func (s *segment) mapped() []byte {
	if s.buf != nil {
		return s.buf
	}
	return s.ra
}

// from is the segment's bytes from off on: the write buffer's for a
// record a held write left there (Batch.Hold), else the mapping's; nil
// while Open scans the last segment. Callers hold DB.mu, which writes
// hold for writing while they change s.wb.
func (s *segment) from(off uint32) []byte {
	if len(s.wb) > 0 && int64(off) >= s.wbOff {
		return s.wb[int64(off)-s.wbOff:]
	}
	if m := s.mapped(); m != nil {
		return m[off:]
	}
	return nil
}

// readHeader decodes the header of the record at off.
func (s *segment) readHeader(off uint32) (record.Header, error) {
	if int64(off)+record.HeaderSize > s.size && s.loading == nil {
		return record.Header{}, s.corrupt(off, "record header past the end of the segment")
	}
	if b := s.from(off); b != nil {
		return record.DecodeHeader(b)
	}
	return s.readHeaderLoading(off)
}

func (s *segment) readHeaderLoading(off uint32) (record.Header, error) {
	b := make([]byte, record.HeaderSize)
	if _, err := s.loading.ReadAt(b, int64(off)); err != nil {
		return record.Header{}, s.corrupt(off, err.Error())
	}
	return record.DecodeHeader(b)
}

// readValue returns a copy of the value of the record at off after checking
// that the record is whole, is a put, and belongs to key. The returned slice
// is the only allocation.
func (s *segment) readValue(off uint32, key []byte) (value []byte, expireAt int64, err error) {
	return s.readValueSized(off, 0, key)
}

// readValueSized is readValue told size, the record's length as the
// keydir keeps it (0: not known).
//
// A record under bigRecord is read in place, in the mapping: header, key
// and CRC, and only the value is copied out (into memory that is not
// cleared first). Copying the header, then the whole record into a new
// buffer, as sealed segments were read through x/exp/mmap, cost 8 to 10%
// more a Get (timed in turns beside it, BenchmarkGet's fixture) and an
// allocation of 160 bytes rather than 112.
//
// Given size, the record's CRC is summed before its header is decoded, so
// that the loads of all its cache lines (a 145-byte record spans three or
// four) go out together rather than the first line's alone: 0 to 4% less
// again in the same runs. The header must then agree with size, or the
// record is read as if size were not known, which names what is wrong.
func (s *segment) readValueSized(off, size uint32, key []byte) (value []byte, expireAt int64, err error) {
	if b := s.from(off); b != nil && size >= record.HeaderSize && size < bigRecord && int64(off)+int64(size) <= s.size {
		rec := b[:size]
		if record.Verify(rec) == nil {
			h, err := record.DecodeHeader(rec)
			if err == nil && h.Kind() == record.KindPut && h.Size() == int64(size) && int(h.KeyLen) == len(key) &&
				string(rec[record.HeaderSize:record.HeaderSize+len(key)]) == string(key) {
				return append([]byte(nil), rec[record.HeaderSize+len(key):]...), h.ExpireAt, nil
			}
		}
	}
	h, err := s.readHeader(off)
	if err != nil {
		return nil, 0, s.wrap(off, err)
	}
	end := int64(off) + h.Size()
	if h.Kind() != record.KindPut || end > s.size || int(h.KeyLen) != len(key) {
		return nil, 0, s.corrupt(off, "keydir points at a record that is not this key's")
	}
	kEnd := int(off) + record.HeaderSize + len(key)
	if b := s.from(off); b != nil && h.Size() < bigRecord {
		rec := b[:h.Size()]
		if err := record.Verify(rec); err != nil || string(rec[record.HeaderSize:record.HeaderSize+len(key)]) != string(key) {
			return nil, 0, s.corrupt(off, "checksum or key mismatch")
		}
		return append([]byte(nil), rec[record.HeaderSize+len(key):]...), h.ExpireAt, nil
	}
	// One allocation holds the whole record, to check its CRC; the value is
	// returned from it. (crc32 lets any buffer it sums escape to the heap,
	// so summing a stack copy of the header would cost an allocation too.)
	var rec []byte
	if h.Size() >= bigRecord {
		rec, err = s.readBig(off, h.Size())
	} else if s.loading != nil {
		rec = make([]byte, end-int64(off))
		_, err = s.loading.ReadAt(rec, int64(off))
	} else {
		err = errors.New("segment not mapped")
	}
	if err != nil {
		return nil, 0, s.corrupt(off, err.Error())
	}
	if err := record.Verify(rec); err != nil || string(rec[record.HeaderSize:kEnd-int(off)]) != string(key) {
		return nil, 0, s.corrupt(off, "checksum or key mismatch")
	}
	return rec[kEnd-int(off) : len(rec) : len(rec)], h.ExpireAt, nil
}

// holdsOtherKey reports whether the record at off is whole enough to name
// its key and names one other than key: the keydir matched key by
// fingerprint only, and key is absent. A record whose header cannot be
// read is not reported: that is corruption, whoever it belongs to.
func (s *segment) holdsOtherKey(off uint32, key []byte) bool {
	h, err := s.readHeader(off)
	if err != nil || int64(off)+h.Size() > s.size {
		return false
	}
	if int(h.KeyLen) != len(key) {
		return true
	}
	at := int(off) + record.HeaderSize
	if b := s.from(off); b != nil {
		return string(b[record.HeaderSize:record.HeaderSize+len(key)]) != string(key)
	}
	got := make([]byte, len(key))
	if s.loading == nil {
		return false
	}
	if _, err := s.loading.ReadAt(got, int64(at)); err != nil {
		return false
	}
	return string(got) != string(key)
}

func (s *segment) corrupt(off uint32, what string) error {
	return fmt.Errorf("segment %d offset %d: %s: %w", s.id, off, what, ErrCorruption)
}

func (s *segment) wrap(off uint32, err error) error {
	if errors.Is(err, ErrCorruption) {
		return fmt.Errorf("segment %d offset %d: %w", s.id, off, err)
	}
	return s.corrupt(off, err.Error())
}

// syncDir fsyncs a directory so that entries created, renamed or removed in
// it survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
