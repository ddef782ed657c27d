package main

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	mrand "math/rand/v2"
	"strconv"
	"sync/atomic"
)

// keyspace names the keys of one run against one target and remembers,
// per key, what the run has written to it, so that reads can be checked.
//
// A key is prefix + index, zero-padded to a fixed width:
//
//	wb:3f9a0c12:0000000042   value keys (set, get, mset, engine put/get)
//	wb:3f9a0c12:n:0000000042 counter keys (incr)
//
// The default prefix is new for every target, so no key exists before the
// run starts: a read of a key the run never wrote must be nil. With a
// prefix given by the user (owned false) earlier data may be there, and
// reads are checked for shape only.
type keyspace struct {
	prefix []byte
	n      int
	width  int  // digits of the index
	owned  bool // the prefix is this run's own

	// state per key: bit 63 set once a write to it was acknowledged (and
	// cleared by a delete), low bits the highest version issued for it.
	state []atomic.Uint64
	// incrs per counter key: how many INCRs have been sent to it.
	incrs   []atomic.Int64
	version atomic.Uint64
}

const (
	ackedBit = uint64(1) << 63
	verMask  = ackedBit - 1
)

// newKeyspace makes n keys under prefix ("" for a fresh one) at least
// keySize bytes long, with counter keys too if counters is set.
func newKeyspace(prefix string, n, keySize int, counters bool) *keyspace {
	owned := prefix == ""
	if owned {
		var b [4]byte
		rand.Read(b[:])
		prefix = "wb:" + hex.EncodeToString(b[:]) + ":"
	}
	width := keyLength(prefix, n, keySize) - len(prefix)
	k := &keyspace{prefix: []byte(prefix), n: n, width: width, owned: owned, state: make([]atomic.Uint64, n)}
	if counters {
		k.incrs = make([]atomic.Int64, n)
	}
	return k
}

// ownPrefixLen is the length of a prefix newKeyspace makes: "wb:", 8 hex
// digits, ":".
const ownPrefixLen = 12

// keyLength is the length of the value keys of n keys under prefix ("" for
// a fresh one) at least keySize bytes long.
func keyLength(prefix string, n, keySize int) int {
	p := len(prefix)
	if prefix == "" {
		p = ownPrefixLen
	}
	return max(p+len(strconv.Itoa(max(n-1, 0))), keySize)
}

// keyLen is the length of every value key.
func (k *keyspace) keyLen() int { return len(k.prefix) + k.width }

// appendKey appends the name of value key i.
func (k *keyspace) appendKey(dst []byte, i int) []byte {
	dst = append(dst, k.prefix...)
	return appendPadded(dst, i, k.width)
}

// appendCounter appends the name of counter key i.
func (k *keyspace) appendCounter(dst []byte, i int) []byte {
	dst = append(dst, k.prefix...)
	dst = append(dst, 'n', ':')
	return appendPadded(dst, i, k.width)
}

func appendPadded(dst []byte, i, width int) []byte {
	start := len(dst)
	for range width {
		dst = append(dst, '0')
	}
	for p := len(dst) - 1; i > 0 && p >= start; p-- {
		dst[p] = byte('0' + i%10)
		i /= 10
	}
	return dst
}

// issue allocates a version for a write to key i and records it.
func (k *keyspace) issue(i int) uint64 {
	v := k.version.Add(1)
	s := &k.state[i]
	for {
		old := s.Load()
		if old&verMask >= v || s.CompareAndSwap(old, old&ackedBit|v) {
			return v
		}
	}
}

// acked records that a write to key i was acknowledged.
func (k *keyspace) acked(i int) {
	if s := &k.state[i]; s.Load()&ackedBit == 0 {
		s.Or(ackedBit)
	}
}

// deleting records that key i is being deleted: from now on a nil read of
// it is no error.
func (k *keyspace) deleting(i int) { k.state[i].And(verMask) }

// wasAcked reports whether a write to key i has been acknowledged (and
// not deleted since).
func (k *keyspace) wasAcked(i int) bool { return k.state[i].Load()&ackedBit != 0 }

// issued is the highest version issued for key i, 0 if none.
func (k *keyspace) issued(i int) uint64 { return k.state[i].Load() & verMask }

// Values are derived from their key and a version, so that a read can
// tell a right value from a wrong one without remembering values:
//
//	0         16        24                          size
//	+---------+---------+---------------------------+
//	| version | crc32c  | filler: a function of     |
//	| 16 hex  | of key, | (crc, version), letters   |
//	|         | 8 hex   | a to p                    |
//	+---------+---------+---------------------------+
//
// The filler is a splitmix64 stream seeded with crc<<32 ^ version, each
// byte's low four bits added to 'a', so that it is made and checked eight
// bytes at a time.
//
// Values shorter than valueHeader bytes are the first bytes of this layout
// and are checked for length only.
const valueHeader = 24

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func keySum(key []byte) uint32 { return crc32.Checksum(key, castagnoli) }

const hexDigits = "0123456789abcdef"

// fillWord turns 8 random bytes into 8 filler letters.
func fillWord(w uint64) uint64 { return w&0x0f0f0f0f0f0f0f0f + 0x6161616161616161 }

// appendValue appends the value of version ver of the key whose checksum
// is sum.
func appendValue(dst []byte, size int, sum uint32, ver uint64) []byte {
	if size < valueHeader {
		var full [valueHeader]byte
		return append(dst, appendValue(full[:0], valueHeader, sum, ver)[:size]...)
	}
	for s := 60; s >= 0; s -= 4 {
		dst = append(dst, hexDigits[ver>>uint(s)&15])
	}
	for s := 28; s >= 0; s -= 4 {
		dst = append(dst, hexDigits[sum>>uint(s)&15])
	}
	seed := uint64(sum)<<32 ^ ver
	n := size - valueHeader
	for ; n >= 8; n -= 8 {
		dst = binary.LittleEndian.AppendUint64(dst, fillWord(splitmix(&seed)))
	}
	if n > 0 {
		var last [8]byte
		binary.LittleEndian.PutUint64(last[:], fillWord(splitmix(&seed)))
		dst = append(dst, last[:n]...)
	}
	return dst
}

// checkValue checks that v is a value that appendValue makes for the key
// whose checksum is sum, and returns its version (0 for short values).
// problem is empty when it is.
func checkValue(v []byte, size int, sum uint32) (ver uint64, problem string) {
	if len(v) != size {
		return 0, fmt.Sprintf("value of %d bytes, want %d", len(v), size)
	}
	if size < valueHeader {
		return 0, ""
	}
	ver, ok1 := parseHex(v[:16])
	got, ok2 := parseHex(v[16:24])
	switch {
	case !ok1 || !ok2:
		return 0, "value not written by walkerbench"
	case uint32(got) != sum:
		return ver, "value of another key"
	}
	seed := uint64(sum)<<32 ^ ver
	rest := v[valueHeader:]
	for ; len(rest) >= 8; rest = rest[8:] {
		if binary.LittleEndian.Uint64(rest) != fillWord(splitmix(&seed)) {
			return ver, "value corrupt"
		}
	}
	if len(rest) > 0 {
		var last [8]byte
		binary.LittleEndian.PutUint64(last[:], fillWord(splitmix(&seed)))
		if string(rest) != string(last[:len(rest)]) {
			return ver, "value corrupt"
		}
	}
	return ver, ""
}

// unhex maps a lower-case hex digit to its value, anything else to 0xff.
var unhex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := range 16 {
		t[hexDigits[i]] = byte(i)
	}
	return t
}()

func parseHex(b []byte) (uint64, bool) {
	var x uint64
	var bad byte
	for _, c := range b {
		d := unhex[c]
		bad |= d
		x = x<<4 | uint64(d&15)
	}
	return x, bad&0xf0 == 0
}

func splitmix(s *uint64) uint64 {
	*s += 0x9e3779b97f4a7c15
	z := *s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// picker chooses keys for one client.
type picker struct {
	rng  *mrand.Rand
	zipf *mrand.Zipf
	n    int
}

func newPicker(seed uint64, n int, dist string, s float64) *picker {
	rng := mrand.New(mrand.NewPCG(seed, seed^0x5851f42d4c957f2d))
	p := &picker{rng: rng, n: n}
	if dist == "zipfian" && n > 1 {
		p.zipf = mrand.NewZipf(rng, s, 1, uint64(n-1))
	}
	return p
}

// key returns a key index: uniform, or zipfian with index 0 the hottest.
func (p *picker) key() int {
	if p.zipf != nil {
		return int(p.zipf.Uint64())
	}
	return p.rng.IntN(p.n)
}
