package record_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/walkerdb/walkerdb/engine/record"
)

// noLimit is a maxLen that never refuses a record of these tests.
const noLimit = math.MaxInt64

type recCase struct {
	name     string
	typ      uint8
	seq      uint64
	expireAt int64
	key      []byte
	value    []byte
}

func recCases() []recCase {
	return []recCase{
		{"empty put", record.KindPut, 0, 0, nil, nil},
		{"empty key", record.KindPut, 1, 0, nil, []byte("v")},
		{"empty value", record.KindPut, 2, 0, []byte("k"), []byte{}},
		{"plain put", record.KindPut, 3, 0, []byte("user:1"), []byte("alice")},
		{"binary key", record.KindPut, 4, 0, []byte("a\x00b\r\nc\xff"), []byte("\x00\x00\r\n")},
		{"nul only", record.KindPut, 5, 0, []byte{0}, []byte{0}},
		{"expiry", record.KindPut, 6, 1_700_000_000_123, []byte("ttl"), []byte("x")},
		{"negative expiry", record.KindPut, 7, -1, []byte("neg"), []byte("y")},
		{"max seq", record.KindPut, math.MaxUint64, math.MaxInt64, []byte("big"), []byte("z")},
		{"delete", record.KindDelete, 8, 0, []byte("gone"), nil},
		{"delete empty key", record.KindDelete, 0, 0, nil, nil},
		{"batch put", record.KindPut | record.FlagInBatch, 9, 0, []byte("b\x00k"), []byte("bv")},
		{"batch delete", record.KindDelete | record.FlagInBatch, 9, 0, []byte("bd"), nil},
		{"commit", record.KindCommit, 9, 0, nil, record.CommitValue(2)},
		{"empty commit", record.KindCommit, 10, 0, nil, record.CommitValue(0)},
		{"long value", record.KindPut, 11, 0, []byte("long"), bytes.Repeat([]byte("0123456789\r\n\x00"), 300)},
	}
}

func encode(c recCase) []byte {
	b := make([]byte, record.Size(len(c.key), len(c.value)))
	if n := record.Encode(b, c.typ, c.seq, c.expireAt, c.key, c.value); n != len(b) {
		panic("Encode wrote a different length than Size")
	}
	return b
}

func TestChecksum_IsCRC32C(t *testing.T) {
	// The check value of CRC-32C (Castagnoli) for "123456789".
	if got := record.Checksum([]byte("123456789")); got != 0xE3069283 {
		t.Fatalf("Checksum(123456789) = %#x, want 0xe3069283", got)
	}
	a, b := []byte("hello, "), []byte("world")
	if got, want := record.ChecksumUpdate(record.Checksum(a), b), record.Checksum([]byte("hello, world")); got != want {
		t.Fatalf("ChecksumUpdate = %#x, want %#x", got, want)
	}
}

// The byte layout drawn in record.go, built here by hand.
func TestEncode_MatchesTheDocumentedLayout(t *testing.T) {
	key, value := []byte("k\x00"), []byte("val")
	want := make([]byte, 0, 34)
	want = append(want, 0, 0, 0, 0) // crc, filled below
	want = append(want, record.KindPut|record.FlagInBatch)
	want = binary.LittleEndian.AppendUint32(want, 2)
	want = binary.LittleEndian.AppendUint32(want, 3)
	want = binary.LittleEndian.AppendUint64(want, 0x0102030405060708)
	want = binary.LittleEndian.AppendUint64(want, uint64(1234567890123))
	want = append(want, key...)
	want = append(want, value...)
	binary.LittleEndian.PutUint32(want, crc32.Checksum(want[4:], crc32.MakeTable(crc32.Castagnoli)))

	if record.HeaderSize != 29 {
		t.Fatalf("HeaderSize = %d, want 29", record.HeaderSize)
	}
	got := make([]byte, record.Size(len(key), len(value))+7) // room to spare
	n := record.Encode(got, record.KindPut|record.FlagInBatch, 0x0102030405060708, 1234567890123, key, value)
	if n != len(want) || !bytes.Equal(got[:n], want) {
		t.Fatalf("Encode =\n% x\nwant\n% x", got[:n], want)
	}
	if !bytes.Equal(got[n:], make([]byte, 7)) {
		t.Fatal("Encode wrote past the record")
	}
	if record.StoredChecksum(got) != binary.LittleEndian.Uint32(want) {
		t.Fatal("StoredChecksum does not read the first four bytes")
	}
}

func TestEncodeDecode_RoundTrip(t *testing.T) {
	for _, c := range recCases() {
		t.Run(c.name, func(t *testing.T) {
			b := encode(c)
			if int64(len(b)) != record.Size(len(c.key), len(c.value)) {
				t.Fatalf("len %d, Size %d", len(b), record.Size(len(c.key), len(c.value)))
			}

			h, err := record.DecodeHeader(b)
			if err != nil {
				t.Fatalf("DecodeHeader: %v", err)
			}
			wantH := record.Header{Type: c.typ, KeyLen: uint32(len(c.key)), ValueLen: uint32(len(c.value)), Seq: c.seq, ExpireAt: c.expireAt}
			if h != wantH {
				t.Fatalf("DecodeHeader = %+v, want %+v", h, wantH)
			}
			if h.Size() != int64(len(b)) {
				t.Fatalf("Header.Size = %d, want %d", h.Size(), len(b))
			}
			if h.Kind() != c.typ&^record.FlagInBatch {
				t.Fatalf("Kind = %d, want %d", h.Kind(), c.typ&^record.FlagInBatch)
			}
			if h.InBatch() != (c.typ&record.FlagInBatch != 0) {
				t.Fatalf("InBatch = %v", h.InBatch())
			}
			if err := record.Verify(b); err != nil {
				t.Fatalf("Verify: %v", err)
			}

			// Followed by other bytes, as in a segment: only the first
			// record is decoded, and its slices cannot grow into the next.
			buf := append(bytes.Clone(b), encode(recCases()[3])...)
			for _, in := range [][]byte{b, buf} {
				rec, err := record.Decode(in, noLimit)
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if rec.Header != wantH {
					t.Fatalf("Decode header = %+v, want %+v", rec.Header, wantH)
				}
				if !bytes.Equal(rec.Key, c.key) || !bytes.Equal(rec.Value, c.value) {
					t.Fatalf("Decode = %q=%q, want %q=%q", rec.Key, rec.Value, c.key, c.value)
				}
				if cap(rec.Key) != len(rec.Key) || cap(rec.Value) != len(rec.Value) {
					t.Fatalf("Key cap %d len %d, Value cap %d len %d: an append would overwrite the buffer",
						cap(rec.Key), len(rec.Key), cap(rec.Value), len(rec.Value))
				}
			}

			// The limit is inclusive.
			if _, err := record.Decode(b, int64(len(b))); err != nil {
				t.Fatalf("Decode at a limit of exactly its size: %v", err)
			}
			if _, err := record.Decode(b, int64(len(b))-1); !errors.Is(err, record.ErrCorruption) {
				t.Fatalf("Decode over the limit: %v, want ErrCorruption", err)
			}

			if h.Kind() == record.KindCommit {
				n, err := record.CommitCount(c.value)
				if err != nil || !bytes.Equal(record.CommitValue(n), c.value) {
					t.Fatalf("CommitCount = %d, %v", n, err)
				}
			}
		})
	}
}

func TestCommitValue_RoundTrip(t *testing.T) {
	for _, n := range []uint32{0, 1, 20, 1 << 31, math.MaxUint32} {
		got, err := record.CommitCount(record.CommitValue(n))
		if err != nil || got != n {
			t.Fatalf("CommitCount(CommitValue(%d)) = %d, %v", n, got, err)
		}
	}
	for _, v := range [][]byte{nil, {1}, {1, 2, 3}, {1, 2, 3, 4, 5}} {
		if _, err := record.CommitCount(v); !errors.Is(err, record.ErrCorruption) {
			t.Fatalf("CommitCount(%d bytes): %v, want ErrCorruption", len(v), err)
		}
	}
}

// Headers of a shape the engine never writes are refused even when their
// CRC is right.
func TestDecodeHeader_RefusesMalformedShapes(t *testing.T) {
	bad := []recCase{
		{"tombstone with value", record.KindDelete, 0, 0, []byte("k"), []byte("v")},
		{"batch tombstone with value", record.KindDelete | record.FlagInBatch, 0, 0, []byte("k"), []byte("v")},
		{"commit in batch", record.KindCommit | record.FlagInBatch, 0, 0, nil, record.CommitValue(1)},
		{"commit with key", record.KindCommit, 0, 0, []byte("k"), record.CommitValue(1)},
		{"commit with short value", record.KindCommit, 0, 0, nil, []byte{1, 0, 0}},
		{"commit with long value", record.KindCommit, 0, 0, nil, []byte{1, 0, 0, 0, 0}},
	}
	for typ := 0; typ < 256; typ++ {
		if k := uint8(typ) &^ record.FlagInBatch; k == record.KindPut || k == record.KindDelete || k == record.KindCommit {
			continue
		}
		bad = append(bad, recCase{"unknown type", uint8(typ), 0, 0, []byte("k"), []byte("v")})
	}
	for _, c := range bad {
		b := encode(c)
		if _, err := record.DecodeHeader(b); !errors.Is(err, record.ErrCorruption) {
			t.Errorf("%s (type %#x): DecodeHeader: %v, want ErrCorruption", c.name, c.typ, err)
		}
		if _, err := record.Decode(b, noLimit); !errors.Is(err, record.ErrCorruption) {
			t.Errorf("%s (type %#x): Decode: %v, want ErrCorruption", c.name, c.typ, err)
		}
	}
}

// Changing any one byte of a record to any other value is caught: CRC32-C
// detects every burst of up to 32 bits, and a changed length either runs
// past the buffer (ErrShort) or moves the CRC's range.
func TestDecode_RefusesEverySingleByteChange(t *testing.T) {
	for _, c := range recCases() {
		orig := encode(c)
		b := bytes.Clone(orig)
		for i := range b {
			for x := 1; x < 256; x++ {
				b[i] = orig[i] ^ byte(x)
				rec, err := record.Decode(b, noLimit)
				if err == nil {
					t.Fatalf("%s: byte %d xor %#x: Decode accepted %+v", c.name, i, x, rec.Header)
				}
				if !errors.Is(err, record.ErrCorruption) && !errors.Is(err, record.ErrShort) {
					t.Fatalf("%s: byte %d xor %#x: %v, want ErrCorruption or ErrShort", c.name, i, x, err)
				}
				// Only a longer length field may read as a record cut short.
				if errors.Is(err, record.ErrShort) && (i < 5 || i >= 13) {
					t.Fatalf("%s: byte %d xor %#x: ErrShort for a change outside the lengths", c.name, i, x)
				}
			}
			b[i] = orig[i]
		}
		// And a Verify of the whole record, which ignores the header's
		// shape, catches every change of the covered bytes too.
		for i := range b {
			b[i] ^= 0x01
			if err := record.Verify(b); !errors.Is(err, record.ErrCorruption) {
				t.Fatalf("%s: Verify with byte %d flipped: %v", c.name, i, err)
			}
			b[i] ^= 0x01
		}
	}
}

// Every prefix of a record is a torn write: ErrShort, never a record and
// never corruption, as long as the lengths are within maxLen.
func TestDecode_EveryTruncationIsShort(t *testing.T) {
	for _, c := range recCases() {
		b := encode(c)
		for n := 0; n < len(b); n++ {
			rec, err := record.Decode(b[:n:n], noLimit)
			if !errors.Is(err, record.ErrShort) {
				t.Fatalf("%s cut to %d of %d bytes: Decode = %+v, %v; want ErrShort", c.name, n, len(b), rec.Header, err)
			}
			if n < record.HeaderSize {
				if _, err := record.DecodeHeader(b[:n]); !errors.Is(err, record.ErrShort) {
					t.Fatalf("%s cut to %d bytes: DecodeHeader: %v, want ErrShort", c.name, n, err)
				}
				if err := record.Verify(b[:n]); !errors.Is(err, record.ErrShort) {
					t.Fatalf("%s cut to %d bytes: Verify: %v, want ErrShort", c.name, n, err)
				}
			}
		}
	}
}

func TestDecode_LengthBeyondLimitIsCorruptionNotShort(t *testing.T) {
	// A header whose lengths claim 4 GiB, followed by nothing: with a limit
	// it is damage, not a record still being written.
	b := encode(recCase{"", record.KindPut, 0, 0, []byte("k"), []byte("v")})
	binary.LittleEndian.PutUint32(b[9:], math.MaxUint32)
	if _, err := record.Decode(b, 1<<20); !errors.Is(err, record.ErrCorruption) {
		t.Fatalf("Decode: %v, want ErrCorruption", err)
	}
	if _, err := record.Decode(b, noLimit); !errors.Is(err, record.ErrShort) {
		t.Fatalf("Decode without a limit: %v, want ErrShort", err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, c := range recCases() {
		b := encode(c)
		f.Add(b, int64(len(b)))
		f.Add(b, int64(1<<20))
		f.Add(b[:len(b)-1], int64(1<<20))
		f.Add(append(b, encode(recCases()[3])...), int64(1<<20))
		flipped := bytes.Clone(b)
		flipped[len(flipped)/2] ^= 0x40
		f.Add(flipped, int64(1<<20))
	}
	f.Add([]byte{}, int64(0))
	f.Add(make([]byte, record.HeaderSize), int64(-1))
	f.Fuzz(func(t *testing.T, b []byte, maxLen int64) {
		in := bytes.Clone(b)
		rec, err := record.Decode(b, maxLen)
		if !bytes.Equal(in, b) {
			t.Fatal("Decode changed its input")
		}
		if err != nil {
			if !errors.Is(err, record.ErrShort) && !errors.Is(err, record.ErrCorruption) {
				t.Fatalf("Decode error %v wraps neither ErrShort nor ErrCorruption", err)
			}
			return
		}
		size := rec.Size()
		if size > maxLen || size > int64(len(b)) {
			t.Fatalf("accepted a record of %d bytes with limit %d and %d bytes of input", size, maxLen, len(b))
		}
		if int64(len(rec.Key)) != int64(rec.KeyLen) || int64(len(rec.Value)) != int64(rec.ValueLen) {
			t.Fatalf("key %d/%d, value %d/%d bytes", len(rec.Key), rec.KeyLen, len(rec.Value), rec.ValueLen)
		}
		h, err := record.DecodeHeader(b)
		if err != nil || h != rec.Header {
			t.Fatalf("DecodeHeader = %+v, %v; Decode gave %+v", h, err, rec.Header)
		}
		if err := record.Verify(b[:size]); err != nil {
			t.Fatalf("Verify of an accepted record: %v", err)
		}
		if rec.Kind() == record.KindCommit {
			if _, err := record.CommitCount(rec.Value); err != nil {
				t.Fatalf("accepted a commit whose count does not decode: %v", err)
			}
		}
		// What was accepted re-encodes to exactly the same bytes.
		out := make([]byte, record.Size(len(rec.Key), len(rec.Value)))
		n := record.Encode(out, rec.Type, rec.Seq, rec.ExpireAt, rec.Key, rec.Value)
		if int64(n) != size || !bytes.Equal(out, b[:size]) {
			t.Fatalf("re-encoded\n% x\nwant\n% x", out, b[:size])
		}
	})
}

func TestEncodeHeader_IsTheHeaderEncodeWrites(t *testing.T) {
	for _, c := range recCases() {
		b := encode(c)
		var h [record.HeaderSize]byte
		record.EncodeHeader(h[:], c.typ, c.seq, c.expireAt, c.key, c.value)
		if !bytes.Equal(h[:], b[:record.HeaderSize]) {
			t.Fatalf("%s: EncodeHeader = %x, Encode's header = %x", c.name, h, b[:record.HeaderSize])
		}
	}
}

// ChecksumUpdate yields between the 4 MiB it sums: with one processor, a
// goroutine made runnable before the sum runs before it ends (see
// resp.AppendLarge's test).
func TestChecksumUpdate_YieldsBetweenChunks(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	v := make([]byte, 16<<20)
	var ran atomic.Bool
	go ran.Store(true)
	got := record.ChecksumUpdate(0, v)
	if !ran.Load() {
		t.Error("ChecksumUpdate of 16 MiB never yielded the processor")
	}
	if want := crc32.Checksum(v, crc32.MakeTable(crc32.Castagnoli)); got != want {
		t.Errorf("ChecksumUpdate = %08x, want %08x", got, want)
	}
}
