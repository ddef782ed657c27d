package engine

import (
	"errors"
	"fmt"
	"io"

	"github.com/walkerdb/walkerdb/engine/record"
)

// scanChunk is how much of a segment the scanner reads at a time.
const scanChunk = 1 << 20

// recordReader walks the records of a segment in order through a window
// over an io.ReaderAt, so that sealed (mmap) and active (in-memory) segments
// and plain files are read the same way.
type recordReader struct {
	r      io.ReaderAt
	size   int64 // bytes that may hold records
	maxRec int64 // longest record a header may claim
	buf    []byte
	bufOff int64 // segment offset of buf[0]
	off    int64 // offset of the next record
	// keysOnly: records longer than scanChunk come back without their
	// Value, their checksum verified chunk by chunk through scratch, so
	// that a scan that needs only keys (a hint file, the keydir at load)
	// never holds a 512 MB value whole.
	keysOnly bool
	scratch  []byte
}

func newRecordReader(r io.ReaderAt, size, maxRec int64) *recordReader {
	return &recordReader{r: r, size: size, maxRec: maxRec}
}

// fill makes buf hold at least n bytes from rr.off, or all that remain.
func (rr *recordReader) fill(n int64) error {
	start := rr.off - rr.bufOff
	if rr.buf != nil && start >= 0 && start+n <= int64(len(rr.buf)) {
		return nil
	}
	want := max(n, scanChunk)
	want = min(want, rr.size-rr.off)
	if int64(cap(rr.buf)) < want {
		rr.buf = make([]byte, want)
	}
	rr.buf = rr.buf[:want]
	rr.bufOff = rr.off
	k, err := rr.r.ReadAt(rr.buf, rr.off)
	if int64(k) == want {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// next decodes the record at rr.off and advances past it. It returns io.EOF
// at the end, record.ErrShort for a record cut off by the end, or an error
// wrapping ErrCorruption. Key and Value alias an internal buffer valid until
// the next call.
func (rr *recordReader) next() (record.Record, int64, error) {
	off := rr.off
	if off >= rr.size {
		return record.Record{}, off, io.EOF
	}
	if rr.size-off < record.HeaderSize {
		return record.Record{}, off, record.ErrShort
	}
	if err := rr.fill(record.HeaderSize); err != nil {
		return record.Record{}, off, err
	}
	h, err := record.DecodeHeader(rr.buf[off-rr.bufOff:])
	if err != nil {
		return record.Record{}, off, err
	}
	n := h.Size()
	if n > rr.maxRec {
		return record.Record{}, off, fmt.Errorf("record length %d beyond limit %d: %w", n, rr.maxRec, ErrCorruption)
	}
	if off+n > rr.size {
		return record.Record{}, off, record.ErrShort
	}
	if rr.keysOnly && n > scanChunk {
		return rr.nextKeyOnly(h, off, n)
	}
	if err := rr.fill(n); err != nil {
		return record.Record{}, off, err
	}
	rec, err := record.Decode(rr.buf[off-rr.bufOff:], n)
	if err != nil {
		return record.Record{}, off, err
	}
	rr.off = off + n
	return rec, off, nil
}

// nextKeyOnly reads the record of header h at off, n bytes long, for
// keysOnly: its Key, and its checksum verified without keeping its Value.
func (rr *recordReader) nextKeyOnly(h record.Header, off, n int64) (record.Record, int64, error) {
	hk := record.HeaderSize + int64(h.KeyLen)
	if err := rr.fill(hk); err != nil {
		return record.Record{}, off, err
	}
	b := rr.buf[off-rr.bufOff : off-rr.bufOff+hk]
	crc := record.ChecksumUpdate(0, b[4:])
	if rr.scratch == nil {
		rr.scratch = make([]byte, scanChunk)
	}
	for pos := off + hk; pos < off+n; {
		k := min(int64(len(rr.scratch)), off+n-pos)
		got, err := rr.r.ReadAt(rr.scratch[:k], pos)
		if int64(got) != k {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return record.Record{}, off, err
		}
		crc = record.ChecksumUpdate(crc, rr.scratch[:k])
		pos += k
	}
	if crc != record.StoredChecksum(b) {
		return record.Record{}, off, fmt.Errorf("checksum mismatch: %w", record.ErrCorruption)
	}
	rr.off = off + n
	return record.Record{Header: h, Key: b[record.HeaderSize:hk:hk]}, off, nil
}

// scanResult says how far a scan of a segment got.
type scanResult struct {
	end    int64  // offset after the last whole record or batch
	bad    int64  // where decoding stopped, when err != nil
	err    error  // nil at a clean end
	maxSeq uint64 // highest seq of the records applied
}

// scanSegment calls fn for every put and delete of a segment in order, the
// members of a batch only once its Commit has been read, and Commits with no
// members not at all. fn's record aliases scanner memory valid only for the
// call. The scan stops at the end, at the first record that does not decode,
// or at fn's first error.
func scanSegment(r io.ReaderAt, size, maxRec int64, fn func(off int64, rec record.Record) error) scanResult {
	return scanRecords(newRecordReader(r, size, maxRec), fn)
}

// scanKeys is scanSegment for a caller that reads no Value: a record longer
// than scanChunk comes with Value nil (recordReader.keysOnly).
func scanKeys(r io.ReaderAt, size, maxRec int64, fn func(off int64, rec record.Record) error) scanResult {
	rr := newRecordReader(r, size, maxRec)
	rr.keysOnly = true
	return scanRecords(rr, fn)
}

func scanRecords(rr *recordReader, fn func(off int64, rec record.Record) error) scanResult {
	var res scanResult
	// A batch's members wait for its Commit with their key and value
	// bytes in held, one buffer reused from batch to batch: walkerd
	// writes every record in a batch, so a copy each would be two
	// allocations per record scanned.
	type member struct {
		off        int64
		rec        record.Record
		key, value int // where rec.Key and rec.Value start in held
	}
	var batch []member
	var held []byte
	var batchStart int64 = -1
	fail := func(at int64, err error) scanResult {
		res.bad, res.err = at, err
		return res
	}
	for {
		rec, off, err := rr.next()
		if err == io.EOF {
			if batchStart >= 0 {
				return fail(off, fmt.Errorf("batch at offset %d has no commit: %w", batchStart, record.ErrShort))
			}
			return res
		}
		if err != nil {
			return fail(off, err)
		}
		switch {
		case rec.InBatch():
			if batchStart < 0 {
				batchStart = off
			}
			// Copy: the window may move before the commit arrives.
			m := member{off: off, rec: rec, key: len(held)}
			held = append(held, rec.Key...)
			m.value = len(held)
			held = append(held, rec.Value...)
			batch = append(batch, m)
		case rec.Kind() == record.KindCommit:
			count, err := record.CommitCount(rec.Value)
			if err != nil {
				return fail(off, err)
			}
			if int(count) != len(batch) {
				return fail(off, fmt.Errorf("commit counts %d records, batch has %d: %w", count, len(batch), ErrCorruption))
			}
			for _, m := range batch {
				m.rec.Key = held[m.key : m.key+len(m.rec.Key) : m.key+len(m.rec.Key)]
				if len(m.rec.Value) > 0 {
					m.rec.Value = held[m.value : m.value+len(m.rec.Value) : m.value+len(m.rec.Value)]
				} else {
					m.rec.Value = nil
				}
				if err := fn(m.off, m.rec); err != nil {
					return fail(m.off, err)
				}
			}
			batch, batchStart, held = batch[:0], -1, held[:0]
			res.maxSeq = max(res.maxSeq, rec.Seq)
		default:
			if batchStart >= 0 {
				return fail(off, fmt.Errorf("batch at offset %d interrupted by a plain record: %w", batchStart, ErrCorruption))
			}
			if err := fn(off, rec); err != nil {
				return fail(off, err)
			}
		}
		if batchStart < 0 {
			// A batch member's seq counts only once its commit is read.
			res.maxSeq = max(res.maxSeq, rec.Seq)
			res.end = rr.off
		}
	}
}

// nextValidRecord returns the offset of the first whole, valid record that
// starts after from, or -1. Recovery uses it to tell a torn tail (nothing
// valid follows) from damage in the middle (something does).
func nextValidRecord(r io.ReaderAt, from, size, maxRec int64) int64 {
	buf := make([]byte, scanChunk+record.HeaderSize)
	for base := from + 1; base+record.HeaderSize <= size; base += scanChunk {
		n, _ := r.ReadAt(buf[:min(int64(len(buf)), size-base)], base)
		for i := 0; i+record.HeaderSize <= n && i < scanChunk; i++ {
			if t := buf[i+4] &^ record.FlagInBatch; t == 0 || t > record.KindCommit {
				continue // the type byte rules out most offsets at once
			}
			h, err := record.DecodeHeader(buf[i:n])
			if err != nil || h.Size() > maxRec || base+int64(i)+h.Size() > size {
				continue
			}
			rec := make([]byte, h.Size())
			if _, err := r.ReadAt(rec, base+int64(i)); err != nil {
				continue
			}
			if record.Verify(rec) == nil {
				return base + int64(i)
			}
		}
	}
	return -1
}

// allZero reports whether bytes [from, size) of r are all zero: the
// preallocated, never-written tail of a segment.
func allZero(r io.ReaderAt, from, size int64) bool {
	buf := make([]byte, scanChunk)
	for off := from; off < size; off += scanChunk {
		n, err := r.ReadAt(buf[:min(scanChunk, size-off)], off)
		if err != nil && !errors.Is(err, io.EOF) {
			return false
		}
		for _, b := range buf[:n] {
			if b != 0 {
				return false
			}
		}
	}
	return true
}
