// Package keydir is WalkerDB's in-memory index: from every live key to where
// its newest record lies on disk.
//
// Three structures share the work, and each key's bytes are stored once:
//
//	arena      keys, appended to 64 KiB slabs:  [len|key][len|key]...
//	             a key is named by a 4-byte ref (slab<<16 | offset);
//	             keys over 16 KiB, and all keys once 2 GiB of slabs are
//	             in use, go to a side list of strings (ref: 1<<31 | index)
//	directory  2^depth table pointers, by the fingerprint's leading bits
//	  └ table  open addressing, linear probing in Robin Hood order,
//	             22-byte slots (table.go):
//	             loc 8 | size 3 | ref 4 | tag 7 (55-bit fingerprint, shared bit)
//	order      the refs in key order, in sorted blocks of up to 512
//	             [b0][b1][b2]... and the key count before each block
//
// At a million 16-byte keys that is 17 bytes a key of arena, 22 over the
// tables' load (0.85 to 0.92) and 4 over the blocks' fill (0.85 to 1): 46
// to 47 bytes a key in all, key bytes included (BenchmarkKeydirMemory in
// package engine; a Go map and a B-tree of strings took 97 to 107).
//
// # Point operations
//
// A lookup hashes the key once (maphash, seeded per process: the keydir is
// rebuilt at every Open) to a 55-bit fingerprint, picks a table by its
// leading bits and probes from the home slot that its low 32 bits give.
// Get returns the first slot whose fingerprint matches without reading the
// key's bytes: one cache miss for the slot, then the engine's read of the
// record, which checks the key (LookupSize gives it the record's size too,
// so that it can ask for all the record's cache lines at once). Put compares keys in the arena
// whenever fingerprints match, and marks both slots shared when two keys
// of one table have the same fingerprint; Get checks the arena for marked
// slots, so Get is exact for every present key. For an absent key it may
// match a stranger's fingerprint, a chance of about 2^-55 a Get (the
// stranger must have the same home slot); Lookup tells such a match from
// an exact one, and the engine, finding another key in the record, answers
// "not found" rather than return another key's value. Put,
// Delete and the compare-and-swaps always compare keys, so they are exact.
//
// A record size of 2^24-1 bytes or more is kept aside, in a map by ref.
//
// Tables grow by a twelfth when their load would pass 0.92, and split in
// two by the next fingerprint bit past 16 Ki slots (no key bytes read), so
// a resize copies one small table and memory follows the key count in
// small steps; Go's map, by contrast, splits all its tables at about one
// size when hashes are uniform. A resize is one ordered pass: Robin Hood
// keeps each run in home order, and home order is fingerprint order at
// any table size.
//
// # Order
//
// Scans go through order: a binary search of the blocks by their first
// keys, then of one block, each comparison a read of the arena. Keys join
// the blocks in batches, in key order (order.merge): keys past the last
// one are appended, so keys that arrive in key order (Open loading a
// merged directory, whose hint files list keys in order) fill blocks
// completely; the others are placed by binary searches run 64 at a time,
// a step of each in turn, so that their cache misses overlap, and each
// block then takes its keys in one move; a block that overflows passes
// refs to a neighbour with room before it splits.
//
// The order is kept in step lazily. New keys wait in a small pending order
// and deleted ones in a removed list; Sync folds both into the blocks in
// key order. Sync runs before every Ascend and whenever the two grow past a
// bound, so writes pay an amortised share of it and Ascend sees exactly the
// keys of the tables. An Iter (iter.go) instead merges the blocks and the
// pending ones as they stand and checks each key against the tables, so it
// changes nothing and needs no Sync.
//
// Pending keys are kept sorted rather than in an unsorted list so that an
// Iter starts in O(log n) whatever is pending: filtering and sorting a full
// list took 250 µs for a prefix and 9 ms unbounded, under the engine's read
// lock. They are an order of their own (order.insert: sorted blocks of
// refs, a key at a time), not a B-tree of strings: in profiles of
// BenchmarkKeydirPutNew (package engine), random keys, a Put paid 0.43 µs
// to the tree (tidwall/btree, comparing through a closure) and 0.24 µs to
// the blocks, whose comparisons read arena entries written lately and so
// cached; and refs hold no pointers for the garbage collector to trace.
//
// # Arena garbage
//
// A deleted key's bytes stay in the arena until compaction. When dead bytes
// pass a quarter of the live ones, Sync copies the live keys of the two
// slabs with the most dead bytes to the current slab and drops them (each
// copy updates the key's slot and block), so one Sync moves at most about
// 8 Ki keys and garbage falls back over a few Syncs. Strings handed out
// over the arena (Iter.Key, Ascend, At) stay valid: no byte is ever
// written twice, and a dropped slab lives on while a string points into it.
//
// A Keydir is not safe for concurrent use; the engine guards it with its own
// lock. Get, Len, CountPrefix of at most one byte, and Iters only read it and
// may run at once; everything else, Ascend included, needs it alone.
package keydir

import (
	"cmp"
	"hash/maphash"
	"slices"
	"strings"
)

// Loc is where a record lies, packed into one word to keep the index small:
//
//	 63          40 39                          8 7      0
//	+--------------+------------------------------+--------+
//	|  segment id  |        byte offset           | flags  |
//	+--------------+------------------------------+--------+
//	     24 bits              32 bits               8 bits
//
// The record's length is not kept: it is read from the record's header.
type Loc uint64

// FlagExpires marks a record that carries an expiry time, so that readers
// look at its header before they treat it as live.
const FlagExpires = 1

// MaxSegmentID is the largest segment id a Loc can hold.
const MaxSegmentID = 1<<24 - 1

// MakeLoc packs a location.
func MakeLoc(seg uint32, off uint32, flags uint8) Loc {
	return Loc(uint64(seg)<<40 | uint64(off)<<8 | uint64(flags))
}

// Segment is the id of the segment holding the record.
func (l Loc) Segment() uint32 { return uint32(l >> 40) }

// Offset is the record's byte offset in its segment.
func (l Loc) Offset() uint32 { return uint32(l >> 8) }

// Expires reports whether the record carries an expiry time.
func (l Loc) Expires() bool { return l&FlagExpires != 0 }

// syncAfter bounds the pending and removed lists between Syncs.
const syncAfter = 1 << 15

// pend is a key new since the last Sync: its bytes (in the arena) and ref.
type pend struct {
	key string
	ref keyRef
}

// Keydir maps keys to locations and iterates them in order.
type Keydir struct {
	seed  maphash.Seed
	mask  uint64 // all ones; tests narrow it to force collisions
	dir   []*table
	depth uint8 // the directory has 2^depth entries
	shift uint  // fpBits - depth
	n     int

	scratch  []uint64          // a growing table's slots, in order
	bigSizes map[keyRef]uint32 // sizes of sizeEscape or more, by ref

	arena    arena
	ord      order
	byFirst  [256]int // keys by their first byte: walkerd keeps its db index there
	keyBytes int64

	pending order    // keys new to the tables since the last Sync, sorted
	removed []keyRef // keys deleted since the last Sync

	sink byte // Prefetch's reads, kept so that they are not dropped
}

// New returns an empty Keydir sized for about n keys.
func New(n int) *Keydir {
	k := &Keydir{
		seed:  maphash.MakeSeed(),
		mask:  ^uint64(0),
		arena: newArena(),
	}
	// Tables of up to 8 Ki keys, each sized to hold its share at a load
	// of 0.92.
	for n>>k.depth > 8<<10 && k.depth < maxDepth {
		k.depth++
	}
	k.shift = fpBits - uint(k.depth)
	per := uint32(max(minSlots, (n>>k.depth)*25/23+1))
	k.dir = make([]*table, 1<<k.depth)
	for i := range k.dir {
		k.dir[i] = newTable(per, k.depth)
	}
	return k
}

// Fits reports whether n more keys, of any length, are sure to fit in the
// index. The engine asks before a write, so that a full index refuses the
// write (engine.ErrIndexFull) instead of failing half way through it.
func (k *Keydir) Fits(n int) bool { return k.arena.bigRoom() >= n }

// SetHashMaskForTest narrows the fingerprints of an empty Keydir to the
// bits of mask, so that tests can make keys collide. It is for tests only.
func (k *Keydir) SetHashMaskForTest(mask uint64) { k.mask = mask }

// Len is the number of keys.
func (k *Keydir) Len() int { return k.n }

// KeyBytes is the total length of all keys.
func (k *Keydir) KeyBytes() int64 { return k.keyBytes }

func (k *Keydir) hashString(key string) uint64 { return maphash.String(k.seed, key) & k.mask }

// table returns the table for hash h and the fingerprint to probe for: the
// directory is indexed by the fingerprint's leading bits, so a split
// needs no key bytes.
func (k *Keydir) table(h uint64) (*table, uint64) {
	fp := h & fpMask
	return k.dir[fp>>k.shift], fp
}

// Get returns the location of key. For an absent key it may, rarely,
// return a stranger's location (see the package doc): Lookup says when.
func (k *Keydir) Get(key []byte) (Loc, bool) {
	loc, _, ok := k.Lookup(key)
	return loc, ok
}

// Lookup is Get that also reports whether the match was exact: false when
// only the 55-bit fingerprints matched and key's bytes were not compared,
// so the record at loc may belong to another key; its reader checks the
// key and should take a different one to mean key is absent.
func (k *Keydir) Lookup(key []byte) (loc Loc, exact, ok bool) {
	loc, _, exact, ok = k.LookupSize(key)
	return loc, exact, ok
}

// LookupSize is Lookup that also returns the size of the record at loc,
// as Put was given it: a reader that knows it can ask for all of the
// record's bytes at once, before its header says how long it is.
func (k *Keydir) LookupSize(key []byte) (loc Loc, size uint32, exact, ok bool) {
	t, fp := k.table(k.hashString(bstr(key)))
	i, d := t.home(fp), uint32(0)
	for {
		r := t.ref(i)
		if r == 0 {
			return 0, 0, false, false
		}
		tag := t.tag(i)
		if tag&fpMask == fp {
			if tag&sharedBit == 0 {
				return t.loc(i), k.sizeAt(t, i), false, true
			}
			if k.arena.key(r) == string(key) {
				return t.loc(i), k.sizeAt(t, i), true, true
			}
		} else if t.dist(i, tag) < d {
			return 0, 0, false, false
		}
		i = t.next(i)
		d++
	}
}

// find is an exact lookup: key's table and slot. When key is absent, i
// is where it would go. When key is absent and mark is set, find marks
// shared the slots whose fingerprint key has, and reports whether there
// were any.
func (k *Keydir) find(key string, h uint64, mark bool) (t *table, i uint32, found, shared bool) {
	t, fp := k.table(h)
	i, d := t.home(fp), uint32(0)
	for {
		r := t.ref(i)
		if r == 0 {
			return t, i, false, shared
		}
		tag := t.tag(i)
		if tag&fpMask == fp {
			if k.arena.key(r) == key {
				return t, i, true, false
			}
			if mark {
				shared = true
				t.setTag(i, tag|sharedBit)
			}
		} else if t.dist(i, tag) < d {
			return t, i, false, shared
		}
		i = t.next(i)
		d++
	}
}

// live returns the location of key if the tables hold it under ref r: a
// lookup that compares refs, not bytes.
func (k *Keydir) live(key string, r keyRef) (t *table, i uint32, ok bool) {
	t, fp := k.table(k.hashString(key))
	i, d := t.home(fp), uint32(0)
	for {
		sr := t.ref(i)
		if sr == 0 {
			return t, 0, false
		}
		if sr == r {
			return t, i, true
		}
		if t.dist(i, t.tag(i)) < d {
			return t, 0, false
		}
		i = t.next(i)
		d++
	}
}

// sizeAt is the size of the record that slot i of t points at.
func (k *Keydir) sizeAt(t *table, i uint32) uint32 {
	if s := t.size(i); s != sizeEscape {
		return s
	}
	return k.bigSizes[t.ref(i)]
}

// setLoc points slot i of t at loc, a record of size bytes.
func (k *Keydir) setLoc(t *table, i uint32, loc Loc, size uint32) {
	r := t.ref(i)
	if t.size(i) == sizeEscape {
		delete(k.bigSizes, r)
	}
	t.setLoc(i, loc, k.sizeField(r, size))
}

// sizeField is what the slot of r holds for size: size itself, or
// sizeEscape with size kept in bigSizes.
func (k *Keydir) sizeField(r keyRef, size uint32) uint32 {
	if size < sizeEscape {
		return size
	}
	if k.bigSizes == nil {
		k.bigSizes = make(map[keyRef]uint32)
	}
	k.bigSizes[r] = size
	return sizeEscape
}

func (k *Keydir) locOf(key string, r keyRef) (Loc, bool) {
	t, i, ok := k.live(key, r)
	if !ok {
		return 0, false
	}
	return t.loc(i), true
}

// Put points key at loc, a record of size bytes, and returns the location
// and size of the record it replaced, if any.
func (k *Keydir) Put(key []byte, loc Loc, size uint32) (old Loc, oldSize uint32, replaced bool) {
	s := bstr(key)
	h := k.hashString(s)
	t, i, found, shared := k.find(s, h, true)
	if found {
		old, oldSize = t.loc(i), k.sizeAt(t, i)
		k.setLoc(t, i, loc, size)
		return old, oldSize, true
	}
	r := k.arena.add(s)
	tag := h & fpMask
	if shared {
		tag |= sharedBit
	}
	slot := makeSlot(tag, r, loc, k.sizeField(r, size))
	if t.full() {
		k.grow(t)
		t, _ = k.table(h)
		t.put(&slot)
	} else {
		t.insertAt(i, &slot)
	}
	k.n++
	ks := k.arena.key(r)
	k.count(ks, 1)
	k.pending.insert(&k.arena, ks, r) // replaces the key's earlier ref, if deleted since
	k.maybeSync()
	return 0, 0, false
}

// prefetchBatch is how many keys Prefetch and PrefetchLookups read at once.
const prefetchBatch = 32

// Prefetch reads, for each of n keys (key(i)), the table slots where a
// lookup of it starts and, in the first slot with the key's fingerprint,
// the key in the arena that the slot names: the two cache misses that a Put
// or Delete of a present key waits on one after the other, and of an
// absent key the first. It reads prefetchBatch keys' slots, then their
// keys, so that the misses of different keys overlap (as merge's
// searches do), and the Puts that follow find both in cache. It changes
// no key; like Put, it needs the Keydir alone (it keeps what it read in a
// field, so that the loads are not dropped).
//
// The engine calls it before it applies a batch (engine.DB.Write: one
// entry of walkerd's state machine is one batch of many clients' SETs)
// and before each 64 entries of a hint that Open loads. In package
// engine's benchmarks, 3 runs in turns without it and with it:
// BenchmarkWriteBatch64 (batches of 64 puts into a million keys),
// overwrites of random keys 0.69-0.73 µs a put against 0.59-0.60 (the
// Puts' lookups from 2.0 s of CPU to 1.2 s, Prefetch included), new keys
// 1.07-1.14 against 0.89-1.11; BenchmarkOpen, a million keys from hints,
// 333-378 ms against 273-284.
func (k *Keydir) Prefetch(n int, key func(i int) []byte) {
	k.sink += k.prefetch(n, key, func(t *table, i uint32) []byte { return k.arena.entry(t.ref(i)) })
}

// PrefetchLookups is Prefetch for readers: for each of n keys it reads the
// slots where Get and LookupSize look, and then the bytes that at returns
// for the first slot with the key's fingerprint (the engine: the first
// cache lines of the record at loc, of size bytes), a byte in each 64,
// up to maxTouch. It returns the sum of what it read, for the caller to
// keep. It reads the table alone, no key bytes, and writes nothing: like
// Get, it may run beside other readers.
func (k *Keydir) PrefetchLookups(n int, key func(i int) []byte, at func(loc Loc, size uint32) []byte) byte {
	return k.prefetch(n, key, func(t *table, i uint32) []byte { return at(t.loc(i), k.sizeAt(t, i)) })
}

// maxTouch bounds the bytes of one key's region that prefetch reads: four
// cache lines. Past them, a reader's sequential reads are the hardware
// prefetcher's to hide.
const maxTouch = 4 * 64

// prefetch is the walk that Prefetch and PrefetchLookups share, in four
// passes over prefetchBatch keys at a time: each key's table and home
// slot; a read of the home slot and of the line after it, for every key;
// each key's probe by fingerprint, now in cache, to the first slot that
// has it, whose region at gives; a read of each region, a byte in 64. The
// reads have passes of their own, a few instructions each, so that the
// CPU has them all in flight at once: with a key's hashing or probing
// between them, it held one or two (walkerd's GET -P 16 spent as much in
// the read-ahead as it saved). It returns the sum of the bytes read, so
// that the loads are kept.
func (k *Keydir) prefetch(n int, key func(i int) []byte, at func(t *table, i uint32) []byte) (sink byte) {
	var ts [prefetchBatch]*table
	var is [prefetchBatch]uint32
	var fps [prefetchBatch]uint64
	var regions [prefetchBatch][]byte
	for c := 0; c < n; c += prefetchBatch {
		m := min(prefetchBatch, n-c)
		for j := range m {
			t, fp := k.table(k.hashString(bstr(key(c + j))))
			ts[j], is[j], fps[j] = t, t.home(fp), fp
		}
		for j := range m {
			// The home slot and the line after it: a key lies a few slots
			// past its home at the tables' load.
			t, o := ts[j], is[j]*stride
			sink += t.slots[o]
			if o+64 < uint32(len(t.slots)) {
				sink += t.slots[o+64]
			}
		}
		for j := range m {
			t, i, fp := ts[j], is[j], fps[j]
			regions[j] = nil
			for d := uint32(0); ; d++ { // find's probe, fingerprints alone
				r := t.ref(i)
				if r == 0 {
					break
				}
				tag := t.tag(i)
				if tag&fpMask == fp {
					regions[j] = at(t, i)
					break
				}
				if t.dist(i, tag) < d {
					break
				}
				i = t.next(i)
			}
		}
		for j := range m {
			b := regions[j]
			for o := 0; o < len(b) && o < maxTouch; o += 64 {
				sink += b[o]
			}
		}
	}
	return sink
}

// Delete removes key and returns the location and size it had, if any.
func (k *Keydir) Delete(key []byte) (old Loc, oldSize uint32, existed bool) {
	s := bstr(key)
	t, i, found, _ := k.find(s, k.hashString(s), false)
	if !found {
		return 0, 0, false
	}
	old, oldSize = t.loc(i), k.sizeAt(t, i)
	k.drop(t, i)
	k.maybeSync()
	return old, oldSize, true
}

// drop removes the key in slot i of t.
func (k *Keydir) drop(t *table, i uint32) {
	r := t.ref(i)
	if t.size(i) == sizeEscape {
		delete(k.bigSizes, r)
	}
	t.remove(i)
	k.n--
	k.count(k.arena.key(r), -1)
	k.arena.kill(r)
	k.removed = append(k.removed, r)
}

// CompareAndSwap points key at new (size bytes) only if it still points at
// old. Merge uses it so that a write that raced with the merge is never
// reverted.
func (k *Keydir) CompareAndSwap(key []byte, old, new Loc, size uint32) bool {
	s := bstr(key)
	t, i, found, _ := k.find(s, k.hashString(s), false)
	if !found || t.loc(i) != old {
		return false
	}
	k.setLoc(t, i, new, size)
	return true
}

// CompareAndDelete removes key only if it still points at old. Merge uses
// it to drop keys whose records have expired.
func (k *Keydir) CompareAndDelete(key []byte, old Loc) bool {
	s := bstr(key)
	t, i, found, _ := k.find(s, k.hashString(s), false)
	if !found || t.loc(i) != old {
		return false
	}
	k.drop(t, i)
	k.maybeSync()
	return true
}

func (k *Keydir) count(key string, d int) {
	k.keyBytes += int64(d * len(key))
	if len(key) > 0 {
		k.byFirst[key[0]] += d
	}
}

// CountPrefix is the number of keys that begin with prefix: at once for an
// empty or one-byte prefix, by walking the ordered blocks otherwise.
func (k *Keydir) CountPrefix(prefix []byte) int {
	switch len(prefix) {
	case 0:
		return k.Len()
	case 1:
		return k.byFirst[prefix[0]]
	}
	n := 0
	k.Ascend(nil, prefix, func(string, Loc) bool { n++; return true })
	return n
}

func (k *Keydir) maybeSync() {
	if k.pending.n+len(k.removed) >= syncAfter {
		k.Sync()
	}
}

// Sync folds the pending and removed keys into the ordered blocks, and
// compacts the arena when its garbage calls for it.
func (k *Keydir) Sync() {
	// A key enters pending only when it is new to the tables, so it can be
	// there and gone only if some key was removed in between. With nothing
	// removed, every pending key is live: no lookups.
	check := len(k.removed) > 0
	for _, r := range k.removed {
		k.ord.remove(&k.arena, k.arena.key(r), r)
	}
	k.removed = k.removed[:0]
	if k.pending.n > 0 {
		ps := make([]pend, 0, k.pending.n)
		for _, blk := range k.pending.blocks {
			for _, r := range blk {
				key := k.arena.key(r)
				if check {
					if _, _, live := k.live(key, r); !live {
						continue
					}
				}
				ps = append(ps, pend{key, r})
			}
		}
		k.pending.reset()
		k.ord.merge(&k.arena, ps)
	}
	k.arena.freeBig()
	k.compact()
	k.ord.fixCum()
}

// compactSlabs bounds the slabs one Sync compacts.
const compactSlabs = 2

// compactMin is the least garbage, in bytes, that compaction bothers with;
// tests lower it.
var compactMin int64 = 2 * slabSize

// compact moves the live keys out of the slabs with the most dead bytes,
// when dead bytes pass a quarter of the live ones. Only Sync calls it: then
// every ref the Keydir holds is in a table slot and a block.
func (k *Keydir) compact() {
	a := &k.arena
	if a.garbage <= a.live/4 || a.garbage < compactMin {
		return
	}
	var worst []int
	for i, d := range a.dead {
		if d > 0 && i != a.cur {
			worst = append(worst, i)
		}
	}
	slices.SortFunc(worst, func(x, y int) int { return cmp.Compare(a.dead[y], a.dead[x]) })
	for _, idx := range worst[:min(compactSlabs, len(worst))] {
		if !a.slabFree() {
			return // the moves could spill into the side list
		}
		s := a.slabs[idx]
		for off := 0; off < len(s); {
			r := keyRef(idx<<slabBits | off)
			key := a.key(r)
			n := entryLen(len(key))
			off += n
			t, i, ok := k.live(key, r)
			if !ok {
				continue
			}
			nr := a.add(key)
			a.live -= int64(n)
			t.setRef(i, nr)
			if t.size(i) == sizeEscape {
				k.bigSizes[nr] = k.bigSizes[r]
				delete(k.bigSizes, r)
			}
			if bi, pos, ok := k.ord.find(a, key, r); ok {
				k.ord.blocks[bi][pos] = nr
			}
		}
		a.drop(idx)
	}
}

// Synced reports whether the blocks hold exactly the tables' keys, nothing
// pending or removed: as after Sync, until the next Put or Delete. Rank
// and At are exact only then.
func (k *Keydir) Synced() bool { return len(k.removed) == 0 && k.pending.n == 0 }

// Rank is the number of keys less than key, when Synced: O(log n).
func (k *Keydir) Rank(key []byte) int {
	bi, pos := k.ord.seek(&k.arena, bstr(key))
	return k.ord.rank(bi, pos)
}

// At returns the key at position i in key order (0: the least), when
// Synced: O(log n).
func (k *Keydir) At(i int) (string, bool) {
	if i < 0 || i >= k.ord.n {
		return "", false
	}
	bi, pos := k.ord.at(i)
	return k.arena.key(k.ord.blocks[bi][pos]), true
}

// Ascend calls fn for each key >= start in ascending order while fn returns
// true. Keys with the given prefix only, when prefix is not empty. fn must
// not change the Keydir; copy key if you keep it past the call.
func (k *Keydir) Ascend(start, prefix []byte, fn func(key string, loc Loc) bool) {
	k.Sync()
	from := bstr(start)
	if len(prefix) > 0 && from < string(prefix) {
		from = bstr(prefix)
	}
	bi, pos := k.ord.seek(&k.arena, from)
	for ; bi < len(k.ord.blocks); bi, pos = bi+1, 0 {
		for _, r := range k.ord.blocks[bi][pos:] {
			key := k.arena.key(r)
			if len(prefix) > 0 && !strings.HasPrefix(key, bstr(prefix)) {
				return
			}
			loc, _ := k.locOf(key, r)
			if !fn(key, loc) {
				return
			}
		}
	}
}

// MemoryPerKey is the heap cost of one key beyond its own bytes, in bytes,
// for Stats' estimate. Measured at a million 16-byte keys it is about 30
// in key order (BenchmarkIndexMemory: Open of a merged directory) and 31
// in random order (TestKeydir_MemoryPerKey): a 22-byte table slot at a
// load of 0.85 to 0.92, a 4-byte block ref at a fill of 0.85 to 1, and the
// key's length byte in the arena.
const MemoryPerKey = 31
