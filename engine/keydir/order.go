package keydir

import "slices"

// blockCap is the most refs a block holds: 2 KiB, a malloc size class.
const blockCap = 512

// order is the keys in byte order, as arena refs in sorted blocks:
//
//	blocks  [ b0 ][ b1 ][ b2 ] ...      each a []keyRef, 1..blockCap, sorted
//	cum     [ 0 ][ len b0 ][ +len b1 ]  keys before each block (for Rank, At)
//
// A search is a binary search of the blocks by their first keys, then of
// one block: about log2(n) key comparisons, each a read of the arena.
//
// A key past the last one is appended to the last block, or starts a new
// one when it is full, so keys that arrive in key order (Open loading a
// merged directory) fill their blocks completely. A key inserted into a
// full block moves refs to a neighbour with room instead of splitting when
// it can (as a B*-tree does), so keys in random order fill blocks to about
// four fifths.
type order struct {
	blocks [][]keyRef
	n      int
	cum    []int // valid when !dirty
	dirty  bool
}

// seek returns the position of the least key >= key: (len(blocks), 0) when
// there is none.
func (o *order) seek(a *arena, key string) (int, int) {
	bi := o.blockFor(a, key)
	if bi < 0 {
		return 0, 0
	}
	blk := o.blocks[bi]
	lo := searchBlock(a, blk, key)
	if lo == len(blk) {
		return bi + 1, 0
	}
	return bi, lo
}

// searchBlock is the position of the first key >= key in blk.
func searchBlock(a *arena, blk []keyRef, key string) int {
	lo, hi := 0, len(blk)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if a.key(blk[m]) < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// blockFor is the last block whose first key is <= key, or -1.
func (o *order) blockFor(a *arena, key string) int {
	lo, hi := 0, len(o.blocks)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if a.key(o.blocks[m][0]) <= key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

// insert adds r, whose key is key and is not in o.
func (o *order) insert(a *arena, key string, r keyRef) {
	o.n++
	o.dirty = true
	nb := len(o.blocks)
	if nb == 0 {
		o.blocks = append(o.blocks, newBlock(r))
		return
	}
	if last := o.blocks[nb-1]; a.key(last[len(last)-1]) < key { // past the end
		if len(last) < blockCap {
			o.blocks[nb-1] = append(last, r)
		} else {
			o.blocks = append(o.blocks, newBlock(r))
		}
		return
	}
	for {
		bi := max(o.blockFor(a, key), 0)
		blk := o.blocks[bi]
		if len(blk) < blockCap {
			lo := searchBlock(a, blk, key)
			blk = blk[:len(blk)+1]
			copy(blk[lo+1:], blk[lo:])
			blk[lo] = r
			o.blocks[bi] = blk
			return
		}
		o.makeRoom(bi)
	}
}

func newBlock(refs ...keyRef) []keyRef {
	b := make([]keyRef, len(refs), blockCap)
	copy(b, refs)
	return b
}

// makeRoom makes block bi, which is full, less than full: it shifts refs
// to a neighbour with a sixteenth free, or splits it in two.
func (o *order) makeRoom(bi int) {
	blk := o.blocks[bi]
	const room = blockCap / 16
	if bi+1 < len(o.blocks) && len(o.blocks[bi+1]) <= blockCap-room {
		next := o.blocks[bi+1]
		m := (blockCap - len(next) + 1) / 2
		next = next[:len(next)+m]
		copy(next[m:], next)
		copy(next, blk[len(blk)-m:])
		o.blocks[bi], o.blocks[bi+1] = blk[:len(blk)-m], next
		return
	}
	if bi > 0 && len(o.blocks[bi-1]) <= blockCap-room {
		prev := o.blocks[bi-1]
		m := (blockCap - len(prev) + 1) / 2
		o.blocks[bi-1] = append(prev, blk[:m]...)
		copy(blk, blk[m:])
		o.blocks[bi] = blk[:len(blk)-m]
		return
	}
	upper := newBlock(blk[len(blk)/2:]...)
	o.blocks[bi] = blk[:len(blk)/2]
	o.blocks = slices.Insert(o.blocks, bi+1, upper)
}

// find returns the position of r, whose key is key, if o holds it.
func (o *order) find(a *arena, key string, r keyRef) (int, int, bool) {
	bi, pos := o.seek(a, key)
	if bi == len(o.blocks) || o.blocks[bi][pos] != r {
		return 0, 0, false
	}
	return bi, pos, true
}

// remove drops r, whose key is key, if o holds it.
func (o *order) remove(a *arena, key string, r keyRef) {
	bi, pos, ok := o.find(a, key, r)
	if !ok {
		return
	}
	o.n--
	o.dirty = true
	blk := o.blocks[bi]
	copy(blk[pos:], blk[pos+1:])
	blk = blk[:len(blk)-1]
	o.blocks[bi] = blk
	// Merge a block with its next when the two fit in three quarters of
	// one, so deletions do not leave blocks thin.
	// (slices.Delete clears the slot it frees: no stale block kept alive.)
	if bi+1 < len(o.blocks) && len(blk)+len(o.blocks[bi+1]) <= blockCap*3/4 {
		o.blocks[bi] = append(blk, o.blocks[bi+1]...)
		o.blocks = slices.Delete(o.blocks, bi+1, bi+2)
	} else if bi > 0 && len(blk)+len(o.blocks[bi-1]) <= blockCap*3/4 {
		o.blocks[bi-1] = append(o.blocks[bi-1], blk...)
		o.blocks = slices.Delete(o.blocks, bi, bi+1)
	} else if len(blk) == 0 {
		o.blocks = slices.Delete(o.blocks, bi, bi+1)
	}
}

// fixCum recounts the keys before each block, after changes.
func (o *order) fixCum() {
	if !o.dirty {
		return
	}
	o.cum = o.cum[:0]
	n := 0
	for _, b := range o.blocks {
		o.cum = append(o.cum, n)
		n += len(b)
	}
	o.dirty = false
}

// rank is the number of keys before position (bi, pos); o must be fixed.
func (o *order) rank(bi, pos int) int {
	if bi == len(o.blocks) {
		return o.n
	}
	return o.cum[bi] + pos
}

// at returns the position of the i'th key, 0 <= i < n; o must be fixed.
func (o *order) at(i int) (int, int) {
	lo, hi := 0, len(o.blocks)
	for lo < hi { // the last block with cum <= i
		m := int(uint(lo+hi) >> 1)
		if o.cum[m] <= i {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1, i - o.cum[lo-1]
}
