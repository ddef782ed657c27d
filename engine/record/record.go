// Package record is the byte format of one entry in a WalkerDB data segment.
//
// A segment is a sequence of records, appended and never rewritten. Every
// record is self-describing and covered by a CRC32-C (Castagnoli), so a reader
// can tell a good record from a torn or damaged one without any other file:
//
//	0      4    5          9          13               21               29
//	+------+----+----------+----------+----------------+----------------+-----+-------+
//	| crc  |type| key len  | value len|      seq       |   expire at    | key | value |
//	+------+----+----------+----------+----------------+----------------+-----+-------+
//	  u32   u8     u32        u32           u64              i64
//
// All integers are little-endian. crc covers every byte after itself (type
// through the end of value). seq is the caller's sequence number (walkerd
// stores the Raft index there). expire at is a Unix time in milliseconds; 0
// means the record never expires.
//
// The type byte holds a kind in its low bits and a batch flag in its top bit:
//
//	Put     (1)  key = value
//	Delete  (2)  a tombstone for key; value is empty
//	Commit  (3)  ends a batch; key is empty, value is the member count (u32)
//	             and seq is the batch's sequence number
//	InBatch (0x80) set on the puts and deletes of a multi-record batch
//
// A batch of more than one operation is written as its members, each with
// InBatch set, followed by one Commit record. Readers that scan a segment
// apply the members only when the Commit that counts them arrives, so a batch
// cut short by a crash is never half-applied. A batch never spans two
// segments. A Commit with a count of zero carries nothing but its seq: the
// engine uses it to record a sequence number that changed no key.
package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"runtime"
)

// HeaderSize is the fixed length of a record's header.
const HeaderSize = 29

// Kinds of record, kept in the low bits of the type byte.
const (
	KindPut    uint8 = 1
	KindDelete uint8 = 2
	KindCommit uint8 = 3

	// FlagInBatch marks a put or delete that belongs to a multi-record batch.
	FlagInBatch uint8 = 0x80
	kindMask    uint8 = 0x7f
)

// ErrCorruption is wrapped by every error that reports bytes on disk that do
// not decode as the engine wrote them. The engine package re-exports it.
var ErrCorruption = errors.New("engine: corruption")

// ErrShort reports that a buffer ends before the record it starts does: at
// the tail of a segment this is a torn write, not corruption.
var ErrShort = errors.New("engine: record cut short")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum is the CRC32-C the format uses.
func Checksum(b []byte) uint32 { return ChecksumUpdate(0, b) }

// Header is a decoded record header.
type Header struct {
	Type     uint8
	KeyLen   uint32
	ValueLen uint32
	Seq      uint64
	ExpireAt int64
}

// Kind is the header's kind without the batch flag.
func (h *Header) Kind() uint8 { return h.Type & kindMask }

// InBatch reports whether the record is a member of a multi-record batch.
func (h *Header) InBatch() bool { return h.Type&FlagInBatch != 0 }

// Size is the record's whole length on disk.
func (h *Header) Size() int64 { return HeaderSize + int64(h.KeyLen) + int64(h.ValueLen) }

// Size is the on-disk length of a record with the given key and value lengths.
func Size(keyLen, valueLen int) int64 { return HeaderSize + int64(keyLen) + int64(valueLen) }

// Encode writes the record into dst, which must be at least Size(len(key),
// len(value)) long, and returns the bytes written.
func Encode(dst []byte, typ uint8, seq uint64, expireAt int64, key, value []byte) int {
	n := HeaderSize + len(key) + len(value)
	_ = dst[n-1]
	putHeader(dst, typ, seq, expireAt, len(key), len(value))
	copy(dst[HeaderSize:], key)
	copy(dst[HeaderSize+len(key):], value)
	binary.LittleEndian.PutUint32(dst[0:], Checksum(dst[4:n]))
	return n
}

// EncodeHeader writes into dst (HeaderSize bytes) the header of the record
// Encode would write, checksum included, without copying key or value: a
// writer that sends the three parts on their own (a large value) needs no
// buffer of the record's size.
func EncodeHeader(dst []byte, typ uint8, seq uint64, expireAt int64, key, value []byte) {
	putHeader(dst, typ, seq, expireAt, len(key), len(value))
	crc := ChecksumUpdate(Checksum(dst[4:HeaderSize]), key)
	binary.LittleEndian.PutUint32(dst[0:], ChecksumUpdate(crc, value))
}

// putHeader writes the header's fields after the CRC.
func putHeader(dst []byte, typ uint8, seq uint64, expireAt int64, keyLen, valueLen int) {
	_ = dst[HeaderSize-1]
	dst[4] = typ
	binary.LittleEndian.PutUint32(dst[5:], uint32(keyLen))
	binary.LittleEndian.PutUint32(dst[9:], uint32(valueLen))
	binary.LittleEndian.PutUint64(dst[13:], seq)
	binary.LittleEndian.PutUint64(dst[21:], uint64(expireAt))
}

// CommitValue is the value of a Commit record for a batch of count members.
func CommitValue(count uint32) []byte {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], count)
	return b[:]
}

// CommitCount decodes a Commit record's value.
func CommitCount(value []byte) (uint32, error) {
	if len(value) != 4 {
		return 0, fmt.Errorf("commit record value of %d bytes: %w", len(value), ErrCorruption)
	}
	return binary.LittleEndian.Uint32(value), nil
}

// DecodeHeader reads a header from the start of b. It checks the shape of the
// header (known kind, flags only where allowed) but not the CRC, which covers
// the key and value too: see Verify.
func DecodeHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, ErrShort
	}
	h := Header{
		Type:     b[4],
		KeyLen:   binary.LittleEndian.Uint32(b[5:]),
		ValueLen: binary.LittleEndian.Uint32(b[9:]),
		Seq:      binary.LittleEndian.Uint64(b[13:]),
		ExpireAt: int64(binary.LittleEndian.Uint64(b[21:])),
	}
	switch h.Kind() {
	case KindPut:
	case KindDelete:
		if h.ValueLen != 0 {
			return h, fmt.Errorf("tombstone with a %d-byte value: %w", h.ValueLen, ErrCorruption)
		}
	case KindCommit:
		if h.InBatch() || h.KeyLen != 0 || h.ValueLen != 4 {
			return h, fmt.Errorf("malformed commit record: %w", ErrCorruption)
		}
	default:
		return h, fmt.Errorf("unknown record type %#x: %w", h.Type, ErrCorruption)
	}
	return h, nil
}

// Verify checks rec, which must be exactly one whole record, against its CRC.
func Verify(rec []byte) error {
	if len(rec) < HeaderSize {
		return ErrShort
	}
	if binary.LittleEndian.Uint32(rec) != Checksum(rec[4:]) {
		return fmt.Errorf("checksum mismatch: %w", ErrCorruption)
	}
	return nil
}

// Record is one decoded record. Key and Value alias the decoded buffer.
type Record struct {
	Header
	Key   []byte
	Value []byte
}

// Decode reads and verifies the record at the start of b. It returns ErrShort
// when b ends before the record does, and an error wrapping ErrCorruption when
// the bytes are not a valid record. maxLen bounds the record length a header
// may claim, so that a damaged length is reported as corruption rather than
// as a record that merely runs past the end of b.
func Decode(b []byte, maxLen int64) (Record, error) {
	h, err := DecodeHeader(b)
	if err != nil {
		return Record{}, err
	}
	size := h.Size()
	if size > maxLen {
		return Record{}, fmt.Errorf("record length %d beyond limit %d: %w", size, maxLen, ErrCorruption)
	}
	if int64(len(b)) < size {
		return Record{}, ErrShort
	}
	rec := b[:size]
	if err := Verify(rec); err != nil {
		return Record{}, err
	}
	kEnd := HeaderSize + int(h.KeyLen)
	return Record{Header: h, Key: rec[HeaderSize:kEnd:kEnd], Value: rec[kEnd:size:size]}, nil
}

// ChecksumUpdate extends a CRC32-C with more bytes.
//
// It sums 4 MiB at a time and yields the processor (runtime.Gosched)
// between: one call over a 512 MB value runs for tens of milliseconds in
// assembly the scheduler cannot preempt, and a garbage collection's mark
// ends only once every goroutine reaches a safe point, while every
// goroutine that allocates waits for it (Raft's heartbeats among them; see
// resp.AppendLarge in package internal/resp).
func ChecksumUpdate(crc uint32, b []byte) uint32 {
	for len(b) > 4<<20 {
		crc = crc32.Update(crc, castagnoli, b[:4<<20])
		b = b[4<<20:]
		runtime.Gosched()
	}
	return crc32.Update(crc, castagnoli, b)
}

// StoredChecksum is the CRC a record's header carries.
func StoredChecksum(header []byte) uint32 { return binary.LittleEndian.Uint32(header) }
