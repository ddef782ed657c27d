package keydir

import "github.com/tidwall/btree"

// Iter walks the live keys of a Keydir in byte order, forward or back,
// without changing the Keydir: any number of Iters may run at once, and
// beside Get, as long as nothing writes to the Keydir meanwhile (the
// engine's read lock). Ascend, by contrast, syncs first and so needs the
// write lock.
//
// An Iter merges the two trees with their read-only cursors:
//
//	tree      keys as of the last Sync; some may have been deleted since
//	pending   keys new to the map since, some perhaps deleted again
//
// and yields a key only while the map holds it. A key deleted and added
// again since the last Sync is in both trees and is yielded once.
//
// Making an Iter allocates it and copies its bounds, whatever is pending;
// a seek is two tree descents, and a step a tree step and a map lookup
// (which also gives the key's Loc). Keys deleted since the last Sync (at
// most syncAfter) are stepped over.
//
// Positioning methods return whether the Iter holds a key. An Iter that
// runs off one end may be turned round: Prev after Next has returned false
// goes to the last key, Next after Prev has returned false to the first.
type Iter struct {
	k        *Keydir
	lower    string // inclusive; "" is the least key, so no bound
	upper    string // exclusive, when hasUpper
	hasUpper bool

	// The cursors lie past the current key in the direction of travel:
	// after it when dir > 0, before it when dir < 0.
	tree, pend cursor
	dir        int8

	pos iterPos
	key string
	loc Loc
}

type iterPos int8

const (
	unpositioned iterPos = iota
	atKey
	beforeFirst
	afterLast
)

// NewIter returns an Iter over the keys in [lower, upper); nil lower means
// from the first key and nil upper to the last. It is unpositioned: call
// First, Last, SeekGE or SeekLT. It must not be used after the Keydir
// changes.
func (k *Keydir) NewIter(lower, upper []byte) *Iter {
	it := &Iter{k: k, lower: string(lower), upper: string(upper), hasUpper: upper != nil}
	// Iter, unlike IterMut, copies no node, and with NoLocks takes no lock:
	// it only reads (btreeg.go, v1.7.0).
	it.tree.it = k.tree.Iter()
	it.pend.it = k.pending.Iter()
	return it
}

// cursor is a tree's iterator and whether it holds an item. Once a move
// has failed it is only ever sought again: btree's own turning round at
// the ends steps one item too far.
type cursor struct {
	it btree.IterG[string]
	ok bool
}

func (c *cursor) seekGE(key string) { c.ok = c.it.Seek(key) }

func (c *cursor) seekGT(key string) {
	c.ok = c.it.Seek(key)
	if c.ok && c.it.Item() == key {
		c.ok = c.it.Next()
	}
}

func (c *cursor) seekLT(key string) {
	if c.it.Seek(key) {
		c.ok = c.it.Prev()
	} else {
		c.ok = c.it.Last() // every item is < key, or there is none
	}
}

func (c *cursor) last() { c.ok = c.it.Last() }

// step moves c past key, if c is at it, in direction dir.
func (c *cursor) step(key string, dir int8) {
	if !c.ok || c.it.Item() != key {
		return
	}
	if dir > 0 {
		c.ok = c.it.Next()
	} else {
		c.ok = c.it.Prev()
	}
}

// PrefixEnd returns the least key greater than every key that begins with
// prefix, or nil when there is none (prefix is empty or all 0xff): the
// exclusive upper bound of a prefix.
func PrefixEnd(prefix []byte) []byte {
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] != 0xff {
			end := append([]byte(nil), prefix[:i+1]...)
			end[i]++
			return end
		}
	}
	return nil
}

// Valid reports whether the Iter holds a key.
func (it *Iter) Valid() bool { return it.pos == atKey }

// Key is the current key: the Keydir's own string, immutable, so safe to
// keep.
func (it *Iter) Key() string { return it.key }

// Loc is the current key's location.
func (it *Iter) Loc() Loc { return it.loc }

// First moves to the first key within bounds.
func (it *Iter) First() bool { return it.SeekGE(nil) }

// Last moves to the last key within bounds.
func (it *Iter) Last() bool {
	if it.hasUpper {
		return it.seekLT(it.upper)
	}
	it.tree.last()
	it.pend.last()
	return it.prev()
}

// SeekGE moves to the first key >= key within bounds (key below the lower
// bound seeks to the lower bound).
func (it *Iter) SeekGE(key []byte) bool {
	from := string(key)
	if from < it.lower {
		from = it.lower
	}
	it.tree.seekGE(from)
	it.pend.seekGE(from)
	return it.next()
}

// SeekLT moves to the last key < key within bounds (key above the upper
// bound seeks below the upper bound).
func (it *Iter) SeekLT(key []byte) bool {
	to := string(key)
	if it.hasUpper && to > it.upper {
		to = it.upper
	}
	return it.seekLT(to)
}

func (it *Iter) seekLT(to string) bool {
	it.tree.seekLT(to)
	it.pend.seekLT(to)
	return it.prev()
}

// Next moves to the next key. From before the first key, or unpositioned,
// it is First.
func (it *Iter) Next() bool {
	switch it.pos {
	case afterLast:
		return false
	case beforeFirst, unpositioned:
		return it.First()
	}
	if it.dir < 0 { // turn round: the cursors lie before the key
		it.tree.seekGT(it.key)
		it.pend.seekGT(it.key)
	}
	return it.next()
}

// Prev moves to the previous key. From after the last key, or
// unpositioned, it is Last.
func (it *Iter) Prev() bool {
	switch it.pos {
	case beforeFirst:
		return false
	case afterLast, unpositioned:
		return it.Last()
	}
	if it.dir > 0 { // turn round: the cursors lie after the key
		return it.seekLT(it.key)
	}
	return it.prev()
}

// next yields the least live key at or after the cursors.
func (it *Iter) next() bool {
	it.dir = 1
	for {
		cand, have := it.tree.it.Item(), it.tree.ok
		if it.pend.ok && (!have || it.pend.it.Item() < cand) {
			cand, have = it.pend.it.Item(), true
		}
		if !have || (it.hasUpper && cand >= it.upper) {
			it.pos, it.key, it.loc = afterLast, "", 0
			return false
		}
		it.tree.step(cand, 1)
		it.pend.step(cand, 1)
		if loc, live := it.k.lookupString(cand); live {
			it.pos, it.key, it.loc = atKey, cand, loc
			return true
		}
	}
}

// prev yields the greatest live key at or before the cursors.
func (it *Iter) prev() bool {
	it.dir = -1
	for {
		cand, have := it.tree.it.Item(), it.tree.ok
		if it.pend.ok && (!have || it.pend.it.Item() > cand) {
			cand, have = it.pend.it.Item(), true
		}
		if !have || cand < it.lower {
			it.pos, it.key, it.loc = beforeFirst, "", 0
			return false
		}
		it.tree.step(cand, -1)
		it.pend.step(cand, -1)
		if loc, live := it.k.lookupString(cand); live {
			it.pos, it.key, it.loc = atKey, cand, loc
			return true
		}
	}
}

// Close releases the Iter's cursors. It holds nothing else; an Iter that
// is never closed costs nothing but its memory. It is unusable after.
func (it *Iter) Close() {
	it.tree.it.Release()
	it.pend.it.Release()
	it.tree.ok, it.pend.ok, it.pos = false, false, unpositioned
}
