package command

import (
	"encoding/binary"
	"math"
	"strconv"
)

// HyperLogLog values, byte for byte as Redis 7.0.15's hyperloglog.c lays
// them out in a string, so that a value moves between Redis and WalkerDB
// with GET and SET (or DUMP/RESTORE of the string) and counts the same.
//
// Header (16 bytes), then the registers:
//
//	+------+---+-----+----------+----------------------------------+
//	| HYLL | E | N/U | Cardin.  | registers                        |
//	| 4 B  |1 B| 3 B | 8 B (LE) | dense: 12288 B; sparse: opcodes  |
//	+------+---+-----+----------+----------------------------------+
//
// E is the encoding, 0 dense or 1 sparse; N/U are unused (copied along,
// never checked). Cardin. is the cached cardinality, little endian; the
// most significant bit of its last byte set means "stale, recount".
//
// Dense: 16384 6-bit registers packed from the least significant bit of
// each byte on (register 0 is the low 6 bits of byte 0, register 1 the
// top 2 bits of byte 0 and the low 4 of byte 1, ...): 12288 bytes, so a
// dense value is exactly 12304 bytes long.
//
// Sparse: a run-length sequence covering the 16384 registers in order:
//
//	ZERO  00xxxxxx           1..64 registers at 0 (xxxxxx+1)
//	XZERO 01xxxxxx yyyyyyyy  1..16384 registers at 0 (14 bits, +1)
//	VAL   1vvvvvxx           1..4 registers (xx+1) at 1..32 (vvvvv+1)
//
// An empty HLL is sparse XZERO:16384 (18 bytes). A sparse value is made
// dense when a register needs more than 32, or when an update would make
// it longer than hll-sparse-max-bytes (hllSparseSet).

const (
	hllP              = 14
	hllQ              = 64 - hllP
	hllRegisters      = 1 << hllP
	hllPMask          = hllRegisters - 1
	hllBits           = 6
	hllRegisterMax    = 1<<hllBits - 1
	hllHdrSize        = 16
	hllDenseSize      = hllHdrSize + (hllRegisters*hllBits+7)/8
	hllDense          = 0
	hllSparse         = 1
	hllMaxEncoding    = 1
	sparseValMaxValue = 32
	sparseValMaxLen   = 4
	sparseZeroMaxLen  = 64
	sparseXZeroMaxLen = 16384
	// hllAlphaInf is 0.5/ln(2), hyperloglog.c's HLL_ALPHA_INF.
	hllAlphaInf = 0.721347520444481703680
	hllSeed     = 0xadc83b19
)

// Errors of the HyperLogLog commands, as hyperloglog.c words them.
const (
	errNotHLL     Error = "WRONGTYPE Key is not a valid HyperLogLog string value."
	errInvalidHLL Error = "INVALIDOBJ Corrupted HLL object detected"
)

// murmurHash64A is Redis's MurmurHash2, 64-bit version, reading 8-byte
// words little endian whatever the machine (hyperloglog.c
// MurmurHash64A).
func murmurHash64A(key []byte, seed uint64) uint64 {
	const m = 0xc6a4a7935bd1e995
	const r = 47
	h := seed ^ (uint64(len(key)) * m)
	for len(key) >= 8 {
		k := binary.LittleEndian.Uint64(key)
		k *= m
		k ^= k >> r
		k *= m
		h ^= k
		h *= m
		key = key[8:]
	}
	if len(key) > 0 {
		for i := len(key) - 1; i >= 0; i-- {
			h ^= uint64(key[i]) << (8 * i)
		}
		h *= m
	}
	h ^= h >> r
	h *= m
	h ^= h >> r
	return h
}

// hllPatLen hashes an element to its register (the hash's low 14 bits)
// and the length of the "000..1" pattern in the rest, counted from bit
// 14 with a sentinel at bit 63 (1..51), as hyperloglog.c's hllPatLen.
func hllPatLen(ele []byte) (index int, count uint8) {
	hash := murmurHash64A(ele, hllSeed)
	index = int(hash & hllPMask)
	hash |= 1 << 63
	count = 1
	for bit := uint64(hllRegisters); hash&bit == 0; bit <<= 1 {
		count++
	}
	return index, count
}

// denseGet reads register i of dense registers (the 12288 bytes after the
// header); the byte past the end reads 0, as sds's terminator does.
func denseGet(regs []byte, i int) uint8 {
	b := i * hllBits / 8
	fb := uint(i * hllBits & 7)
	b0 := uint(regs[b])
	var b1 uint
	if b+1 < len(regs) {
		b1 = uint(regs[b+1])
	}
	return uint8((b0>>fb | b1<<(8-fb)) & hllRegisterMax)
}

// denseSet sets register i to v (at most 63).
func denseSet(regs []byte, i int, v uint8) {
	b := i * hllBits / 8
	fb := uint(i * hllBits & 7)
	regs[b] &^= byte(hllRegisterMax << fb)
	regs[b] |= byte(uint(v) << fb)
	if b+1 < len(regs) {
		regs[b+1] &^= byte(hllRegisterMax >> (8 - fb))
		regs[b+1] |= byte(uint(v) >> (8 - fb))
	}
}

// hllDenseSet raises register index to count if it is lower, reporting
// whether it did (hyperloglog.c hllDenseSet).
func hllDenseSet(regs []byte, index int, count uint8) bool {
	if count > denseGet(regs, index) {
		denseSet(regs, index, count)
		return true
	}
	return false
}

// newHLL returns an empty HLL as createHLLObject makes it: sparse,
// XZERO:16384, cached cardinality 0 (valid).
func newHLL() []byte {
	v := make([]byte, hllHdrSize+2, hllHdrSize+8)
	copy(v, "HYLL")
	v[4] = hllSparse
	l := sparseXZeroMaxLen - 1
	v[hllHdrSize] = byte(l>>8) | 0x40
	v[hllHdrSize+1] = byte(l)
	return v
}

// isHLL reports whether a string is an HLL as isHLLObjectOrReply judges
// it: at least a header, "HYLL", a known encoding, and a dense value of
// the exact size. Sparse opcodes are checked only as they are read.
func isHLL(v []byte) bool {
	if len(v) < hllHdrSize || string(v[:4]) != "HYLL" || v[4] > hllMaxEncoding {
		return false
	}
	return v[4] != hllDense || len(v) == hllDenseSize
}

func hllInvalidate(v []byte)         { v[15] |= 0x80 }
func hllCacheValid(v []byte) bool    { return v[15]&0x80 == 0 }
func hllCached(v []byte) uint64      { return binary.LittleEndian.Uint64(v[8:16]) }
func hllSetCache(v []byte, n uint64) { binary.LittleEndian.PutUint64(v[8:16], n) }

// hllAt reads byte i of v, 0 past its end (a C reader of an sds string reads
// the terminator there).
func hllAt(v []byte, i int) byte {
	if i < len(v) {
		return v[i]
	}
	return 0
}

// sparseOp decodes the opcode at p: its span (registers covered), its
// length in bytes, and its value (0 for ZERO and XZERO).
func sparseOp(v []byte, p int) (span, oplen int, val uint8) {
	b := v[p]
	switch {
	case b&0xc0 == 0: // ZERO
		return int(b&0x3f) + 1, 1, 0
	case b&0x80 != 0: // VAL
		return int(b&3) + 1, 1, (b>>2)&0x1f + 1
	default: // XZERO
		return (int(b&0x3f)<<8 | int(hllAt(v, p+1))) + 1, 2, 0
	}
}

func isVal(b byte) bool             { return b&0x80 != 0 }
func valByte(val uint8, n int) byte { return byte(int(val-1)<<2|(n-1)) | 0x80 }

// hllSparseToDense returns a sparse HLL converted to dense: the header
// copied (magic, unused bytes, cached cardinality), encoding set to dense,
// the registers filled from the opcodes. ok is false for a sparse
// sequence that does not cover exactly the 16384 registers, an opcode
// running past the last register included (hyperloglog.c
// hllSparseToDense, with the CVE-2025-32023 fix that Redis 7.0.15 as
// Debian ships it carries). A dense v is returned as it is.
func hllSparseToDense(v []byte) (dense []byte, ok bool) {
	if v[4] == hllDense {
		return v, true
	}
	d := make([]byte, hllDenseSize)
	copy(d, v[:hllHdrSize])
	d[4] = hllDense
	regs := d[hllHdrSize:]
	idx := 0
	for p := hllHdrSize; p < len(v); {
		span, oplen, val := sparseOp(v, p)
		if span+idx > hllRegisters {
			return nil, false // overflow
		}
		if val != 0 {
			for range span {
				denseSet(regs, idx, val)
				idx++
			}
		} else {
			idx += span
		}
		p += oplen
	}
	if idx != hllRegisters {
		return nil, false
	}
	return d, true
}

// hllSparseSet raises sparse register index to count if it is lower, as
// hyperloglog.c's hllSparseSet does, opcode for opcode: it splits the
// opcode covering the register, merges adjacent VALs of equal value it
// can, and invalidates the cached cardinality. It promotes v to dense when
// count is above 32 or when the split would grow v past maxBytes
// (hll-sparse-max-bytes). It returns the value (possibly reallocated) and
// 1 (changed), 0 (no change) or -1 (corrupted sparse sequence). v is
// changed in place.
func hllSparseSet(v []byte, index int, count uint8, maxBytes int64) ([]byte, int) {
	if count > sparseValMaxValue {
		return hllPromote(v, index, count)
	}
	// Step 1: find the opcode covering index.
	p, end := hllHdrSize, len(v)
	first, span, prev := 0, 0, -1
	oplen := 0
	for p < end {
		span, oplen, _ = sparseOp(v, p)
		if index <= first+span-1 {
			break
		}
		prev = p
		p += oplen
		first += span
	}
	if span == 0 || p >= end {
		return v, -1
	}
	next := p + oplen
	if next >= end {
		next = -1
	}
	b := v[p]
	isZero, isXZero := b&0xc0 == 0, b&0xc0 == 0x40
	runlen, _, curval := sparseOp(v, p)

	// Step 2: the trivial cases.
	updated := false
	if !isZero && !isXZero {
		if curval >= count {
			return v, 0
		}
		if runlen == 1 {
			v[p] = valByte(count, 1)
			updated = true
		}
	}
	if isZero && runlen == 1 {
		v[p] = valByte(count, 1)
		updated = true
	}
	if !updated {
		// The general case: split the opcode in up to three.
		var seq [5]byte
		n := 0
		last := first + span - 1
		zeros := func(l int) {
			if l > sparseZeroMaxLen {
				seq[n], seq[n+1] = byte((l-1)>>8)|0x40, byte(l-1)
				n += 2
			} else {
				seq[n] = byte(l - 1)
				n++
			}
		}
		if isZero || isXZero {
			if index != first {
				zeros(index - first)
			}
			seq[n] = valByte(count, 1)
			n++
			if index != last {
				zeros(last - index)
			}
		} else {
			if index != first {
				seq[n] = valByte(curval, index-first)
				n++
			}
			seq[n] = valByte(count, 1)
			n++
			if index != last {
				seq[n] = valByte(curval, last-index)
				n++
			}
		}
		// Step 3: put the sequence in place of the opcode.
		oldlen := 1
		if isXZero {
			oldlen = 2
		}
		delta := n - oldlen
		if delta > 0 && int64(len(v)+delta) > maxBytes {
			return hllPromote(v, index, count)
		}
		newLen := end + delta
		if need := max(end, newLen, p+n); len(v) < need {
			v = append(v, make([]byte, need-len(v))...)
		}
		if delta != 0 && next >= 0 {
			copy(v[next+delta:], v[next:end])
		}
		copy(v[p:], seq[:n])
		v = v[:newLen]
		end = newLen
	}

	// Step 4: merge adjacent VALs of the same value, scanning up to five
	// opcodes from the one before the change.
	if prev >= 0 {
		p = prev
	} else {
		p = hllHdrSize
	}
	for scan := 5; p < end && scan > 0; {
		scan--
		b := v[p]
		if b&0xc0 == 0x40 {
			p += 2
			continue
		}
		if b&0xc0 == 0 {
			p++
			continue
		}
		if p+1 < end && isVal(v[p+1]) {
			l1, _, v1 := sparseOp(v, p)
			l2, _, v2 := sparseOp(v, p+1)
			if v1 == v2 && l1+l2 <= sparseValMaxLen {
				v[p+1] = valByte(v1, l1+l2)
				copy(v[p:], v[p+1:end])
				end--
				v = v[:end]
				continue
			}
		}
		p++
	}
	hllInvalidate(v)
	return v, 1
}

// hllPromote converts v to dense and sets the register there (which must
// change, as the sparse one would have).
func hllPromote(v []byte, index int, count uint8) ([]byte, int) {
	d, ok := hllSparseToDense(v)
	if !ok {
		return v, -1
	}
	hllDenseSet(d[hllHdrSize:], index, count)
	return d, 1
}

// hllAdd adds an element: 1 if a register changed, 0 if not, -1 for a
// corrupted sparse value (hyperloglog.c hllAdd).
func hllAdd(v []byte, ele []byte, maxBytes int64) ([]byte, int) {
	index, count := hllPatLen(ele)
	switch v[4] {
	case hllDense:
		if hllDenseSet(v[hllHdrSize:], index, count) {
			return v, 1
		}
		return v, 0
	case hllSparse:
		return hllSparseSet(v, index, count, maxBytes)
	}
	return v, -1
}

// hllDenseHisto counts dense registers by value, 16 registers (12 bytes)
// at a time.
func hllDenseHisto(regs []byte, h *[64]int) {
	for r := regs[:hllRegisters*hllBits/8]; len(r) >= 12; r = r[12:] {
		h[r[0]&63]++
		h[(r[0]>>6|r[1]<<2)&63]++
		h[(r[1]>>4|r[2]<<4)&63]++
		h[(r[2]>>2)&63]++
		h[r[3]&63]++
		h[(r[3]>>6|r[4]<<2)&63]++
		h[(r[4]>>4|r[5]<<4)&63]++
		h[(r[5]>>2)&63]++
		h[r[6]&63]++
		h[(r[6]>>6|r[7]<<2)&63]++
		h[(r[7]>>4|r[8]<<4)&63]++
		h[(r[8]>>2)&63]++
		h[r[9]&63]++
		h[(r[9]>>6|r[10]<<2)&63]++
		h[(r[10]>>4|r[11]<<4)&63]++
		h[(r[11]>>2)&63]++
	}
}

// hllSparseHisto counts sparse registers by value; invalid when the
// opcodes do not cover exactly 16384 registers.
func hllSparseHisto(v []byte, h *[64]int) (invalid bool) {
	idx := 0
	for p := hllHdrSize; p < len(v); {
		span, oplen, val := sparseOp(v, p)
		idx += span
		h[val] += span
		p += oplen
	}
	return idx != hllRegisters
}

// hllSigma and hllTau are the helpers of Ertl's estimator ("New
// cardinality estimation algorithms for HyperLogLog sketches",
// arXiv:1702.01284), as hyperloglog.c computes them. The float64
// conversions keep each product rounded on its own (no fused
// multiply-add), as Redis's build computes it.
func hllSigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x = float64(x * x)
		zPrime := z
		z += float64(x * y)
		y += y
		if zPrime == z {
			return z
		}
	}
}

func hllTau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		zPrime := z
		y *= 0.5
		d := 1 - x
		z -= float64(float64(d*d) * y)
		if zPrime == z {
			return z / 3
		}
	}
}

// hllEstimate is hyperloglog.c's hllCount from a register histogram.
func hllEstimate(h *[64]int) uint64 {
	m := float64(hllRegisters)
	z := float64(m * hllTau((m-float64(h[hllQ+1]))/m))
	for j := hllQ; j >= 1; j-- {
		z += float64(h[j])
		z *= 0.5
	}
	z += float64(m * hllSigma(float64(h[0])/m))
	e := math.Round(float64(float64(hllAlphaInf*m)*m) / z)
	if !(e < 1<<63) {
		// Only crafted registers get here (every one at 51 or more: z
		// is 0). llroundl answers LLONG_MIN out of range, which Redis
		// stores as 1<<63.
		return 1 << 63
	}
	return uint64(e)
}

// hllCount estimates the cardinality of an HLL value; invalid reports a
// corrupted sparse one.
func hllCount(v []byte) (n uint64, invalid bool) {
	var h [64]int
	if v[4] == hllDense {
		hllDenseHisto(v[hllHdrSize:], &h)
	} else if hllSparseHisto(v, &h) {
		return 0, true
	}
	return hllEstimate(&h), false
}

// hllMerge raises each of maxRegs's registers to the value's
// (hyperloglog.c hllMerge, CVE-2025-32023 fix included); false for a
// corrupted sparse value: opcodes that do not cover exactly the 16384
// registers, one running past the last included.
func hllMerge(maxRegs *[hllRegisters]uint8, v []byte) bool {
	if v[4] == hllDense {
		// 4 registers (3 bytes) at a time.
		r := v[hllHdrSize:hllDenseSize]
		for i, j := 0, 0; i+3 <= len(r) && j+4 <= len(maxRegs); i, j = i+3, j+4 {
			b0, b1, b2 := r[i], r[i+1], r[i+2]
			m := maxRegs[j : j+4 : j+4]
			if x := b0 & 63; x > m[0] {
				m[0] = x
			}
			if x := (b0>>6 | b1<<2) & 63; x > m[1] {
				m[1] = x
			}
			if x := (b1>>4 | b2<<4) & 63; x > m[2] {
				m[2] = x
			}
			if x := b2 >> 2; x > m[3] {
				m[3] = x
			}
		}
		return true
	}
	i := 0
	for p := hllHdrSize; p < len(v); {
		span, oplen, val := sparseOp(v, p)
		if span+i > hllRegisters {
			return false // overflow
		}
		if val != 0 {
			for range span {
				if val > maxRegs[i] {
					maxRegs[i] = val
				}
				i++
			}
		} else {
			i += span
		}
		p += oplen
	}
	return i == hllRegisters
}

// hllCountRegs estimates the cardinality of registers held one per byte
// (PFCOUNT of several keys: hyperloglog.c's HLL_RAW).
func hllCountRegs(regs *[hllRegisters]uint8) uint64 {
	var h [64]int
	for _, r := range regs {
		h[r&63]++
	}
	return hllEstimate(&h)
}

// hllDecode renders a sparse value's opcodes as PFDEBUG DECODE does:
// "z:len", "Z:len" and "v:value,len", space separated.
func hllDecode(v []byte) []byte {
	var out []byte
	for p := hllHdrSize; p < len(v); {
		span, oplen, val := sparseOp(v, p)
		switch {
		case val != 0:
			out = append(out, "v:"...)
			out = strconv.AppendInt(out, int64(val), 10)
			out = append(out, ',')
		case oplen == 2:
			out = append(out, "Z:"...)
		default:
			out = append(out, "z:"...)
		}
		out = strconv.AppendInt(out, int64(span), 10)
		out = append(out, ' ')
		p += oplen
	}
	if len(out) > 0 {
		out = out[:len(out)-1]
	}
	return out
}
