package keydir

// Iter walks the live keys of a Keydir in byte order, forward or back,
// without changing the Keydir: any number of Iters may run at once, and
// beside Get, as long as nothing writes to the Keydir meanwhile (the
// engine's read lock). Ascend, by contrast, syncs first and so needs the
// write lock.
//
// An Iter merges two cursors:
//
//	blocks    keys as of the last Sync; some may have been deleted since
//	pending   keys new to the tables since, some perhaps deleted again
//
// and yields a key only while the tables hold it under the same ref. A key
// deleted and added again since the last Sync is in both, under an old ref
// and a new one; it is yielded once, with the pending (newest) ref.
//
// Making an Iter allocates it and copies its bounds, whatever is pending;
// a seek is two searches, and a step a cursor step and a table lookup
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
	tree blockCursor
	pend blockCursor
	dir  int8

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
	it.tree.o, it.tree.a = &k.ord, &k.arena
	it.pend.o, it.pend.a = &k.pending, &k.arena
	return it
}

// blockCursor is a position in the ordered blocks.
type blockCursor struct {
	o       *order
	a       *arena
	bi, pos int
	ok      bool
}

func (c *blockCursor) ref() keyRef  { return c.o.blocks[c.bi][c.pos] }
func (c *blockCursor) item() string { return c.a.key(c.ref()) }

func (c *blockCursor) seekGE(key string) {
	c.bi, c.pos = c.o.seek(c.a, key)
	c.ok = c.bi < len(c.o.blocks)
}

func (c *blockCursor) seekGT(key string) {
	c.seekGE(key)
	if c.ok && c.item() == key {
		c.next()
	}
}

func (c *blockCursor) seekLT(key string) {
	c.seekGE(key)
	if c.ok {
		c.prev()
	} else {
		c.last() // every key is < key, or there is none
	}
}

func (c *blockCursor) last() {
	c.bi = len(c.o.blocks) - 1
	c.ok = c.bi >= 0
	if c.ok {
		c.pos = len(c.o.blocks[c.bi]) - 1
	}
}

func (c *blockCursor) next() {
	if c.pos++; c.pos == len(c.o.blocks[c.bi]) {
		c.bi, c.pos = c.bi+1, 0
	}
	c.ok = c.bi < len(c.o.blocks)
}

func (c *blockCursor) prev() {
	if c.pos--; c.pos < 0 {
		if c.bi--; c.bi < 0 {
			c.ok = false
			return
		}
		c.pos = len(c.o.blocks[c.bi]) - 1
	}
	c.ok = true
}

// step moves c past key, if c is at it, in direction dir.
func (c *blockCursor) step(key string, dir int8) {
	if !c.ok || c.item() != key {
		return
	}
	if dir > 0 {
		c.next()
	} else {
		c.prev()
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

// candidate is the key the cursors offer next in direction dir: the
// pending one when it comes first or ties (it is the newer ref), else the
// blocks' one.
func (it *Iter) candidate(dir int8) (string, keyRef, bool) {
	if it.pend.ok {
		p := it.pend.item()
		if !it.tree.ok || (dir > 0 && p <= it.tree.item()) || (dir < 0 && p >= it.tree.item()) {
			return p, it.pend.ref(), true
		}
	}
	if it.tree.ok {
		return it.tree.item(), it.tree.ref(), true
	}
	return "", 0, false
}

// next yields the least live key at or after the cursors.
func (it *Iter) next() bool {
	it.dir = 1
	for {
		cand, ref, have := it.candidate(1)
		if !have || (it.hasUpper && cand >= it.upper) {
			it.pos, it.key, it.loc = afterLast, "", 0
			return false
		}
		it.tree.step(cand, 1)
		it.pend.step(cand, 1)
		if loc, live := it.k.locOf(cand, ref); live {
			it.pos, it.key, it.loc = atKey, cand, loc
			return true
		}
	}
}

// prev yields the greatest live key at or before the cursors.
func (it *Iter) prev() bool {
	it.dir = -1
	for {
		cand, ref, have := it.candidate(-1)
		if !have || cand < it.lower {
			it.pos, it.key, it.loc = beforeFirst, "", 0
			return false
		}
		it.tree.step(cand, -1)
		it.pend.step(cand, -1)
		if loc, live := it.k.locOf(cand, ref); live {
			it.pos, it.key, it.loc = atKey, cand, loc
			return true
		}
	}
}

// Close releases the Iter's cursors. It holds nothing else; an Iter that
// is never closed costs nothing but its memory. It is unusable after.
func (it *Iter) Close() {
	it.tree.ok, it.pend.ok, it.pos = false, false, unpositioned
}
