package keydir

import "encoding/binary"

// A slot is 22 bytes, little-endian, packed with no padding:
//
//	 0        8      11     15                      22
//	+--------+------+------+-----------------------+
//	|  loc   | size | ref  |          tag          |
//	+--------+------+------+-----------------------+
//	                        bits 0-54  fingerprint: the key's hash, low 55 bits
//	                        bit  55    shared: another key of this table has
//	                                   the same fingerprint
//
// ref 0 marks an empty slot. A size of sizeEscape or more is kept in
// Keydir.bigSizes, by ref, and the slot holds sizeEscape.
const (
	stride     = 22
	fpBits     = 55
	fpMask     = 1<<fpBits - 1
	sharedBit  = 1 << fpBits
	sizeEscape = 1<<24 - 1
)

// Table sizes. A table grows by a twelfth when its load would pass 0.92,
// so its load stays between 0.85 and 0.92; past maxSlots it splits in two
// tables loaded to 0.85.
const (
	maxSlots = 1 << 14
	minSlots = 8
	maxDepth = fpBits - 32 // directory bits stay clear of the home slot's (the low 32)
)

// table is one open-addressing table of the directory, with linear
// probing in Robin Hood order: a key's home slot is a function of its
// fingerprint alone, so a slot's distance from home (and any rehash within
// the table) needs no key bytes. Deletion shifts the following run back,
// so there are no tombstones.
type table struct {
	slots   []byte
	cap     uint32 // slots
	n       uint32 // keys
	depth   uint8  // the leading hash bits that all its keys share
	nosplit bool   // all its keys share one more bit: splitting would not help
}

func newTable(slots uint32, depth uint8) *table {
	slots = max(slots, minSlots)
	return &table{slots: make([]byte, int(slots)*stride), cap: slots, depth: depth}
}

func (t *table) home(fp uint64) uint32 { return uint32(fp & 0xffffffff * uint64(t.cap) >> 32) }

func (t *table) ref(i uint32) keyRef {
	return keyRef(binary.LittleEndian.Uint32(t.slots[i*stride+11:]))
}

func (t *table) tag(i uint32) uint64 {
	o := i * stride
	return binary.LittleEndian.Uint64(t.slots[o+14:o+22]) >> 8
}

func (t *table) loc(i uint32) Loc { return Loc(binary.LittleEndian.Uint64(t.slots[i*stride:])) }

// size is the slot's size field: sizeEscape for a size kept aside.
func (t *table) size(i uint32) uint32 {
	return binary.LittleEndian.Uint32(t.slots[i*stride+8:]) & sizeEscape
}

// setLoc sets loc and the size field, which must be below 2^24.
func (t *table) setLoc(i uint32, l Loc, size uint32) {
	o := i * stride
	binary.LittleEndian.PutUint64(t.slots[o:], uint64(l))
	binary.LittleEndian.PutUint16(t.slots[o+8:], uint16(size))
	t.slots[o+10] = byte(size >> 16)
}

func (t *table) setRef(i uint32, r keyRef) {
	binary.LittleEndian.PutUint32(t.slots[i*stride+11:], uint32(r))
}

func (t *table) setTag(i uint32, tag uint64) {
	o := i * stride
	binary.LittleEndian.PutUint32(t.slots[o+15:], uint32(tag))
	binary.LittleEndian.PutUint16(t.slots[o+19:], uint16(tag>>32))
	t.slots[o+21] = byte(tag >> 48)
}

func (t *table) next(i uint32) uint32 {
	if i++; i == t.cap {
		return 0
	}
	return i
}

// dist is how far slot i, holding tag, lies past its home.
func (t *table) dist(i uint32, tag uint64) uint32 {
	h := t.home(tag & fpMask)
	if i >= h {
		return i - h
	}
	return i + t.cap - h
}

// put places a slot's 21 bytes, Robin Hood fashion; the key is not in t.
func (t *table) put(s *[stride]byte) {
	tag := binary.LittleEndian.Uint64(s[14:22]) >> 8
	i, d := t.home(tag&fpMask), uint32(0)
	var tmp [stride]byte
	for {
		o := i * stride
		slot := t.slots[o : o+stride]
		if binary.LittleEndian.Uint32(slot[11:]) == 0 {
			copy(slot, s[:])
			t.n++
			return
		}
		if sd := t.dist(i, t.tag(i)); sd < d {
			copy(tmp[:], slot)
			copy(slot, s[:])
			*s = tmp
			d = sd
		}
		i = t.next(i)
		d++
	}
}

// insertAt places a slot's 21 bytes at p, the slot where a lookup for its
// key stopped (the first slot empty or nearer its home): the run from p
// moves up one slot, which is what Robin Hood's swaps come to, in one
// copy. A run that would wrap round goes the slow way.
func (t *table) insertAt(p uint32, s *[stride]byte) {
	q := p
	for t.ref(q) != 0 {
		if q++; q == t.cap {
			t.put(s)
			return
		}
	}
	copy(t.slots[(p+1)*stride:(q+1)*stride], t.slots[p*stride:q*stride])
	copy(t.slots[p*stride:(p+1)*stride], s[:])
	t.n++
}

// remove empties slot i and shifts the run after it back by one.
func (t *table) remove(i uint32) {
	for {
		j := t.next(i)
		if t.ref(j) == 0 || t.dist(j, t.tag(j)) == 0 {
			clear(t.slots[i*stride : i*stride+stride])
			break
		}
		copy(t.slots[i*stride:i*stride+stride], t.slots[j*stride:j*stride+stride])
		i = j
	}
	t.n--
}

// copySlot copies one slot in four moves, where copy would call memmove.
func copySlot(dst, src []byte) {
	_, _ = dst[stride-1], src[stride-1]
	le := binary.LittleEndian
	le.PutUint64(dst, le.Uint64(src))
	le.PutUint64(dst[8:], le.Uint64(src[8:]))
	le.PutUint32(dst[16:], le.Uint32(src[16:]))
	le.PutUint16(dst[20:], le.Uint16(src[20:]))
}

func slotRef(s *[stride]byte) keyRef { return keyRef(binary.LittleEndian.Uint32(s[11:])) }

// makeSlot packs a slot; size must be below 2^24.
func makeSlot(tag uint64, r keyRef, l Loc, size uint32) (s [stride]byte) {
	binary.LittleEndian.PutUint64(s[0:], uint64(l))
	binary.LittleEndian.PutUint16(s[8:], uint16(size))
	s[10] = byte(size >> 16)
	binary.LittleEndian.PutUint32(s[11:], uint32(r))
	binary.LittleEndian.PutUint32(s[15:], uint32(tag))
	binary.LittleEndian.PutUint16(s[19:], uint16(tag>>32))
	s[21] = byte(tag >> 48)
	return s
}

// full reports whether one more key would take t past its load bound.
func (t *table) full() bool { return uint64(t.n+1)*25 > uint64(t.cap)*23 }

// slotsFor is a table size that holds n keys at a load of 0.85.
func slotsFor(n int) uint32 { return uint32(max(minSlots, n*20/17+1)) }

// grow makes room in t: a table a twelfth bigger, or two tables of one
// more directory bit.
func (k *Keydir) grow(t *table) {
	if t.cap >= maxSlots && int(t.depth) < maxDepth && !t.nosplit && k.split(t) {
		return
	}
	nt := newTable(t.cap+max(t.cap/12, minSlots), t.depth)
	nt.nosplit = t.nosplit
	k.scratch = t.inOrder(k.scratch)
	nt.fill(t, k.scratch)
	*t = *nt
}

// inOrder returns t's occupied slots in order of their fingerprints' low
// 32 bits, the order of their home slots in a table of any size, in buf,
// each as low<<32 | slot. Robin Hood keeps a table's runs in home order,
// so this is the slots in order, those of a run that wraps round from the
// end moved last, and an insertion sort that only reorders keys of one
// home.
func (t *table) inOrder(buf []uint64) []uint64 {
	idx := buf[:0]
	s := t.slots
	low := func(i uint32) uint64 { return uint64(binary.LittleEndian.Uint32(s[i*stride+15:])) }
	wrapped := uint32(0) // the leading slots hold a run that wraps round
	for ; wrapped < t.cap && t.ref(wrapped) != 0 && t.home(low(wrapped)) > wrapped; wrapped++ {
	}
	for i := wrapped; i < t.cap; i++ {
		if binary.LittleEndian.Uint32(s[i*stride+11:]) != 0 {
			idx = append(idx, low(i)<<32|uint64(i))
		}
	}
	for i := range wrapped {
		idx = append(idx, low(i)<<32|uint64(i))
	}
	for a := 1; a < len(idx); a++ {
		for b := a; b > 0 && idx[b]>>32 < idx[b-1]>>32; b-- {
			idx[b], idx[b-1] = idx[b-1], idx[b]
		}
	}
	return idx
}

// fill moves src's slots idx, in inOrder's order, into t, which is empty:
// each goes to its home or just past the one before, and the few that run
// past the end go in Robin Hood fashion from the start.
func (t *table) fill(src *table, idx []uint64) {
	next := uint32(0)
	var over [][stride]byte
	dst, from, cap := t.slots, src.slots, uint64(t.cap)
	for _, v := range idx {
		i := uint32(v)
		s := (*[stride]byte)(from[i*stride:])
		pos := max(uint32((v>>32)*cap>>32), next)
		if pos >= t.cap {
			over = append(over, *s)
			continue
		}
		copySlot(dst[pos*stride:pos*stride+stride], s[:])
		next = pos + 1
	}
	t.n += uint32(len(idx) - len(over))
	for i := range over {
		t.put(&over[i])
	}
}

// split replaces t by two tables, by the next directory bit of each key's
// fingerprint: no key bytes are read. It fails if all t's keys share that
// bit.
func (k *Keydir) split(t *table) bool {
	bit := fpBits - 1 - uint(t.depth)
	var n [2]int
	side := make([]uint8, t.cap)
	for i := range t.cap {
		if t.ref(i) != 0 {
			side[i] = uint8(t.tag(i) >> bit & 1)
			n[side[i]]++
		}
	}
	if n[0] == 0 || n[1] == 0 {
		t.nosplit = true
		return false
	}
	halves := [2]*table{newTable(slotsFor(n[0]), t.depth+1), newTable(slotsFor(n[1]), t.depth+1)}
	k.scratch = t.inOrder(k.scratch)
	idx := k.scratch
	var parts [2][]uint64
	for _, v := range idx {
		parts[side[uint32(v)]] = append(parts[side[uint32(v)]], v)
	}
	halves[0].fill(t, parts[0])
	halves[1].fill(t, parts[1])
	if t.depth == k.depth {
		dir := make([]*table, 2*len(k.dir))
		for i, x := range k.dir {
			dir[2*i], dir[2*i+1] = x, x
		}
		k.dir = dir
		k.depth++
		k.shift--
	}
	// t's directory entries are those with its depth-bit prefix; the bit
	// after the prefix picks the half.
	below := uint(k.depth - t.depth - 1)
	for i, x := range k.dir {
		if x == t {
			k.dir[i] = halves[i>>below&1]
		}
	}
	return true
}
