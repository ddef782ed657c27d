package keydir

import (
	"slices"
	"strings"
)

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
// Keys are added in batches (merge, from Sync), in key order: keys past
// the last one fill the last block and new full ones, so keys that arrive
// in key order (Open loading a merged directory) fill their blocks
// completely; elsewhere a block that overflows passes refs to a neighbour
// with room (as a B*-tree does) before it splits, so keys in random order
// fill blocks to about four fifths.
type order struct {
	blocks [][]keyRef
	n      int
	cum    []int // valid when !dirty
	dirty  bool
	sink   byte // merge's touches, kept so that they are not dropped
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

func newBlock(refs ...keyRef) []keyRef {
	b := make([]keyRef, len(refs), blockCap)
	copy(b, refs)
	return b
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

// mergeBatch is how many keys merge searches for at once: their loads at
// each step of the binary search are independent, so the CPU overlaps
// their cache misses, where one search at a time waits for each in turn.
const mergeBatch = 64

// merge adds ps, in key order and none of them in o. Keys past the last
// one fill the last block and new full ones (keys that arrive in key
// order). For the others, each key's block and place in it are found
// first, against the blocks as they stand: the block by galloping from
// the previous key's, the place by binary searches run mergeBatch at a
// time, a step of each in turn (each step a read of the arena, where keys
// lie in no useful order: a cache miss). Then each block that takes keys
// takes them in one move; one that would overflow gives refs to the
// previous block or the next one if they have room, else splits evenly.
// Blocks that take nothing are not touched, so a small batch costs little
// more than its searches.
func (o *order) merge(a *arena, ps []pend) {
	if len(ps) == 0 {
		return
	}
	o.n += len(ps)
	o.dirty = true
	nb := len(o.blocks)
	if nb == 0 {
		o.blocks = appendPacked(nil, ps)
		return
	}
	// Keys past the last one (keys that arrive in key order) need no search:
	// they fill the last block and new ones after the merge.
	last := o.blocks[nb-1]
	lastKey := a.key(last[len(last)-1])
	past, _ := slices.BinarySearchFunc(ps, lastKey, func(p pend, k string) int { return strings.Compare(p.key, k) })
	defer o.appendPast(ps[past:])
	ps = ps[:past]
	if len(ps) == 0 {
		return
	}
	at := make([]uint32, 2*len(ps)) // block, then place in it, of each key
	// Each key's block, the last whose first key is <= the key (or block
	// 0): the keys are in order, so from the previous key's block, by
	// galloping. A batch of keys spread over all the blocks reads each
	// block's first key about once.
	first := func(bi int) string { return a.key(o.blocks[bi][0]) }
	bi := 0
	for j, p := range ps {
		if bi+1 < nb && first(bi+1) <= p.key {
			lo, step := bi+1, 1 // first(lo) <= key
			for lo+step < nb && first(lo+step) <= p.key {
				lo += step
				step *= 2
			}
			for hi := min(lo+step, nb); lo+1 < hi; { // first(hi) > key, or hi == nb
				if m := int(uint(lo+hi) >> 1); first(m) <= p.key {
					lo = m
				} else {
					hi = m
				}
			}
			bi = lo
		}
		at[2*j] = uint32(bi)
	}
	var lo, hi [mergeBatch]int32
	var sink byte
	for c := 0; c < len(ps); c += mergeBatch {
		chunk := ps[c:min(c+mergeBatch, len(ps))]
		// Bring the chunk's blocks into cache, a line (16 refs) at a time.
		for i := range chunk {
			if i == 0 || at[2*(c+i)] != at[2*(c+i-1)] {
				blk := o.blocks[at[2*(c+i)]]
				for x := 0; x < len(blk); x += 16 {
					sink += byte(blk[x])
				}
			}
			lo[i], hi[i] = 0, int32(len(o.blocks[at[2*(c+i)]]))
		}
		// The first place in the block whose key is greater.
		for more := true; more; {
			more = false
			for i := range chunk {
				if lo[i] < hi[i] {
					sink += a.touch(o.blocks[at[2*(c+i)]][(lo[i]+hi[i])>>1])
					more = true
				}
			}
			for i, p := range chunk {
				if lo[i] < hi[i] {
					m := (lo[i] + hi[i]) >> 1
					if a.key(o.blocks[at[2*(c+i)]][m]) < p.key {
						lo[i] = m + 1
					} else {
						hi[i] = m
					}
				}
			}
		}
		for i := range chunk {
			at[2*(c+i)+1] = uint32(lo[i])
		}
	}
	o.sink += sink

	// Only the blocks that take keys (or refs passed on) change, in place;
	// the blocks that splits add are put in place at the end.
	var splits []blockSplit
	var merged, carry []keyRef
	j := 0
	for bi := -1; ; {
		switch {
		case len(carry) > 0:
			bi++
		case j < len(ps):
			bi = int(at[2*j])
		default:
			if len(splits) > 0 {
				o.insertSplits(splits)
			}
			return
		}
		blk := o.blocks[bi]
		j0 := j
		for j < len(ps) && at[2*j] == uint32(bi) {
			j++
		}
		// merged: carry, then blk with ps[j0:j] in their places.
		merged = append(merged[:0], carry...)
		carry = carry[:0]
		from := 0
		for g := j0; g < j; g++ {
			pos := int(at[2*g+1])
			merged = append(merged, blk[from:pos]...)
			merged = append(merged, ps[g].ref)
			from = pos
		}
		merged = append(merged, blk[from:]...)
		rest := merged
		if len(rest) > blockCap && bi > 0 {
			prev := &o.blocks[bi-1] // the block before, as it now stands
			if n := len(splits); n > 0 && splits[n-1].after == bi-1 {
				prev = &splits[n-1].blocks[len(splits[n-1].blocks)-1]
			}
			give := min(blockCap-len(*prev), len(rest)-blockCap)
			*prev = append(*prev, rest[:give]...)
			rest = rest[give:]
		}
		if len(rest) > blockCap && bi+1 < nb {
			k := j
			for k < len(ps) && at[2*k] == uint32(bi+1) {
				k++
			}
			if over := len(rest) - blockCap; len(o.blocks[bi+1])+(k-j)+over <= blockCap {
				carry = append(carry, rest[blockCap:]...)
				rest = rest[:blockCap]
			}
		}
		switch {
		case len(rest) <= blockCap:
			o.blocks[bi] = append(blk[:0], rest...)
		case bi+1 == nb: // past the end: full blocks
			o.blocks[bi] = append(blk[:0], rest[:blockCap]...)
			splits = append(splits, blockSplit{bi, appendPackedRefs(nil, rest[blockCap:])})
		default: // split evenly
			parts := (len(rest) + blockCap - 1) / blockCap
			s := blockSplit{after: bi}
			for p := range parts {
				part := rest[p*len(rest)/parts : (p+1)*len(rest)/parts]
				if p == 0 {
					o.blocks[bi] = append(blk[:0], part...)
				} else {
					s.blocks = append(s.blocks, newBlock(part...))
				}
			}
			splits = append(splits, s)
		}
	}
}

// blockSplit is the blocks that a merge adds after block after.
type blockSplit struct {
	after  int
	blocks [][]keyRef
}

// insertSplits puts in place the blocks that a merge's splits add, in
// order of the blocks they follow.
func (o *order) insertSplits(splits []blockSplit) {
	n := len(o.blocks)
	for _, s := range splits {
		n += len(s.blocks)
	}
	out := make([][]keyRef, 0, n)
	next := 0
	for _, s := range splits {
		out = append(out, o.blocks[next:s.after+1]...)
		out = append(out, s.blocks...)
		next = s.after + 1
	}
	out = append(out, o.blocks[next:]...)
	clear(o.blocks) // no stale block kept alive
	o.blocks = out
}

// appendPast adds ps, all past the last key, to the last block and new
// full blocks after it.
func (o *order) appendPast(ps []pend) {
	if len(ps) == 0 {
		return
	}
	nb := len(o.blocks)
	last := o.blocks[nb-1]
	n := min(blockCap-len(last), len(ps))
	for _, p := range ps[:n] {
		last = append(last, p.ref)
	}
	o.blocks[nb-1] = last
	o.blocks = appendPacked(o.blocks, ps[n:])
}

// appendPacked appends ps's refs to blocks as full blocks, the last one
// perhaps not.
func appendPacked(blocks [][]keyRef, ps []pend) [][]keyRef {
	for len(ps) > 0 {
		n := min(len(ps), blockCap)
		b := make([]keyRef, n, blockCap)
		for i := range b {
			b[i] = ps[i].ref
		}
		blocks = append(blocks, b)
		ps = ps[n:]
	}
	return blocks
}

func appendPackedRefs(blocks [][]keyRef, refs []keyRef) [][]keyRef {
	for len(refs) > 0 {
		n := min(len(refs), blockCap)
		blocks = append(blocks, newBlock(refs[:n]...))
		refs = refs[n:]
	}
	return blocks
}

// insert puts r, whose key is key, in its place, one key at a time: the
// Keydir's pending keys (Keydir.pending) are an order of their own. A key
// already there takes the new ref (a key deleted and added again since
// the last Sync). Keys past the last one append, so keys that arrive in
// key order fill blocks completely; a full block elsewhere splits in two.
//
// A pending key's entry is among the last written to the arena, so the
// comparisons of the two binary searches mostly read cached memory (see
// the package doc for what the B-tree of strings it replaces cost).
func (o *order) insert(a *arena, key string, r keyRef) {
	nb := len(o.blocks)
	if nb == 0 {
		o.blocks = append(o.blocks, newBlock(r))
		o.n++
		return
	}
	last := o.blocks[nb-1]
	if a.key(last[len(last)-1]) < key {
		if len(last) < blockCap {
			o.blocks[nb-1] = append(last, r)
		} else {
			o.blocks = append(o.blocks, newBlock(r))
		}
		o.n++
		return
	}
	bi := max(o.blockFor(a, key), 0)
	blk := o.blocks[bi]
	pos := searchBlock(a, blk, key)
	if pos < len(blk) && a.key(blk[pos]) == key {
		blk[pos] = r
		return
	}
	o.n++
	if len(blk) == blockCap {
		half := newBlock(blk[blockCap/2:]...)
		blk = blk[:blockCap/2]
		o.blocks[bi] = blk
		o.blocks = slices.Insert(o.blocks, bi+1, half)
		if pos > len(blk) {
			bi, pos, blk = bi+1, pos-len(blk), half
		}
	}
	blk = append(blk, 0)
	copy(blk[pos+1:], blk[pos:])
	blk[pos] = r
	o.blocks[bi] = blk
}

// reset empties o, keeping its directory of blocks for reuse.
func (o *order) reset() {
	clear(o.blocks) // no stale block kept alive
	o.blocks = o.blocks[:0]
	o.n = 0
	o.cum = o.cum[:0]
	o.dirty = false
}
