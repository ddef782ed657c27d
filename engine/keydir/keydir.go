// Package keydir is WalkerDB's in-memory index: from every live key to where
// its newest record lies on disk.
//
// Two structures share the work:
//
//	map[uint64]entry      point lookups by a seeded hash of the key
//	B-tree of string      ordered scans: prefix, range, cursor
//
// A B-tree alone is ordered, but at a million keys each lookup walks about
// twenty string comparisons that each miss the CPU cache (about 1 µs here),
// so point operations go to the map and only scans touch the tree.
//
// The map is keyed by a 64-bit hash rather than by the key, so that a lookup
// never chases a pointer to the key's bytes (one cache miss fewer) and an
// update never allocates. Each entry also carries a 32-bit fingerprint from
// a second, independent hash: two keys are taken for one only when both
// hashes agree, a chance of about n/2^96 per insert (10^-22 at ten million
// keys), and a Get then fails its key check rather than return another
// key's value. Keys whose 64-bit hashes collide but whose fingerprints
// differ live in a small overflow map keyed by the key itself. The seeds are
// random per process: the keydir is rebuilt at every Open.
//
// The tree is kept in step lazily. New keys wait in a small pending tree and
// deleted ones in a removed list; Sync folds both into the big tree in key
// order, where sorted inserts walk neighbouring paths and stay in cache.
// Sync runs before every Ascend and whenever the two grow past a bound, so
// writes pay an amortised share of it and Ascend sees exactly the keys of
// the map. An Iter (iter.go) instead merges the two trees as they stand and
// checks each key against the map, so it changes nothing and needs no Sync.
//
// Pending keys are kept in a tree rather than an unsorted list so that an
// Iter starts in O(log n) whatever is pending: filtering and sorting a full
// list took 250 µs for a prefix and 9 ms unbounded, under the engine's read
// lock. A new random key costs about 0-15% more to Put for it (the sort
// Sync no longer does pays for most of the tree inserts); keys that arrive
// in order cost less.
//
// A Keydir is not safe for concurrent use; the engine guards it with its own
// lock. Get, Len, CountPrefix of at most one byte, and Iters only read it and
// may run at once; everything else, Ascend included, needs it alone.
package keydir

import (
	"hash/maphash"
	"strings"

	"github.com/tidwall/btree"
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

// entry is one key's slot: 16 bytes beside its 8-byte hash.
type entry struct {
	loc  Loc
	size uint32 // the record's length, so replacing it needs no disk read
	fp   uint32 // the key's second hash
}

// Keydir maps keys to locations and iterates them in order.
type Keydir struct {
	seed, fpSeed maphash.Seed
	mask         uint64 // all ones; tests narrow it to force collisions
	m            map[uint64]entry
	over         map[string]entry // keys whose hash another key's slot holds
	byFirst      [256]int         // keys by their first byte: walkerd keeps its db index there
	keyBytes     int64

	tree    *btree.BTreeG[string]
	pending *btree.BTreeG[string] // keys new to the map since the last Sync
	removed []string              // keys deleted since the last Sync
}

// New returns an empty Keydir sized for about n keys.
func New(n int) *Keydir {
	return &Keydir{
		seed:    maphash.MakeSeed(),
		fpSeed:  maphash.MakeSeed(),
		mask:    ^uint64(0),
		m:       make(map[uint64]entry, n),
		over:    make(map[string]entry),
		tree:    newTree(),
		pending: newTree(),
	}
}

func newTree() *btree.BTreeG[string] {
	return btree.NewBTreeGOptions(func(a, b string) bool { return a < b }, btree.Options{NoLocks: true})
}

// Len is the number of keys.
func (k *Keydir) Len() int { return len(k.m) + len(k.over) }

// KeyBytes is the total length of all keys.
func (k *Keydir) KeyBytes() int64 { return k.keyBytes }

func (k *Keydir) hash(key []byte) (uint64, uint32) {
	return maphash.Bytes(k.seed, key) & k.mask, uint32(maphash.Bytes(k.fpSeed, key))
}

// lookupString is Get for a key the tree holds. maphash
// hashes a string as it hashes the same bytes, so no conversion is needed.
func (k *Keydir) lookupString(key string) (Loc, bool) {
	h, fp := maphash.String(k.seed, key)&k.mask, uint32(maphash.String(k.fpSeed, key))
	if e, ok := k.m[h]; ok && e.fp == fp {
		return e.loc, true
	}
	if e, ok := k.over[key]; ok {
		return e.loc, true
	}
	return 0, false
}

// find returns key's entry and where it lives (inMain: in m under h).
func (k *Keydir) find(key []byte, h uint64, fp uint32) (e entry, found, inMain bool) {
	if e, ok := k.m[h]; ok && e.fp == fp {
		return e, true, true
	}
	if len(k.over) > 0 {
		if e, ok := k.over[string(key)]; ok {
			return e, true, false
		}
	}
	return entry{}, false, false
}

// Get returns the location of key.
func (k *Keydir) Get(key []byte) (Loc, bool) {
	h, fp := k.hash(key)
	e, ok, _ := k.find(key, h, fp)
	return e.loc, ok
}

// Put points key at loc, a record of size bytes, and returns the location
// and size of the record it replaced, if any.
func (k *Keydir) Put(key []byte, loc Loc, size uint32) (old Loc, oldSize uint32, replaced bool) {
	h, fp := k.hash(key)
	e, ok, inMain := k.find(key, h, fp)
	ne := entry{loc: loc, size: size, fp: fp}
	switch {
	case ok && inMain:
		k.m[h] = ne
		return e.loc, e.size, true
	case ok:
		k.over[string(key)] = ne
		return e.loc, e.size, true
	}
	if _, taken := k.m[h]; taken {
		k.over[string(key)] = ne
	} else {
		k.m[h] = ne
	}
	s := string(key)
	k.count(s, 1)
	if last, ok := k.pending.Max(); !ok || last < s {
		k.pending.Load(s) // keys that arrive in order append
	} else {
		k.pending.Set(s)
	}
	k.maybeSync()
	return 0, 0, false
}

// Delete removes key and returns the location and size it had, if any.
func (k *Keydir) Delete(key []byte) (old Loc, oldSize uint32, existed bool) {
	h, fp := k.hash(key)
	e, ok, inMain := k.find(key, h, fp)
	if !ok {
		return 0, 0, false
	}
	if inMain {
		delete(k.m, h)
	} else {
		delete(k.over, string(key))
	}
	s := string(key)
	k.count(s, -1)
	k.removed = append(k.removed, s)
	k.maybeSync()
	return e.loc, e.size, true
}

// CompareAndSwap points key at new (size bytes) only if it still points at
// old. Merge uses it so that a write that raced with the merge is never
// reverted.
func (k *Keydir) CompareAndSwap(key []byte, old, new Loc, size uint32) bool {
	h, fp := k.hash(key)
	e, ok, inMain := k.find(key, h, fp)
	if !ok || e.loc != old {
		return false
	}
	e.loc, e.size = new, size
	if inMain {
		k.m[h] = e
	} else {
		k.over[string(key)] = e
	}
	return true
}

// CompareAndDelete removes key only if it still points at old. Merge uses
// it to drop keys whose records have expired.
func (k *Keydir) CompareAndDelete(key []byte, old Loc) bool {
	if cur, ok := k.Get(key); ok && cur == old {
		k.Delete(key)
		return true
	}
	return false
}

func (k *Keydir) count(key string, d int) {
	k.keyBytes += int64(d * len(key))
	if len(key) > 0 {
		k.byFirst[key[0]] += d
	}
}

// CountPrefix is the number of keys that begin with prefix: at once for an
// empty or one-byte prefix, by walking the ordered tree otherwise.
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
	if k.pending.Len()+len(k.removed) >= syncAfter {
		k.Sync()
	}
}

// Sync folds the pending and removed keys into the ordered tree.
func (k *Keydir) Sync() {
	// A key enters pending only when it is new to the map, so it can be
	// there and gone only if some key was removed in between. With nothing
	// removed, every pending key is live: no lookups (which at a million
	// keys cost more than the inserts).
	check := len(k.removed) > 0
	for _, r := range k.removed {
		if _, live := k.lookupString(r); !live {
			k.tree.Delete(r)
		}
	}
	k.removed = k.removed[:0]
	if k.pending.Len() == 0 {
		return
	}
	var hint btree.PathHint
	k.pending.Scan(func(p string) bool {
		if check {
			if _, live := k.lookupString(p); !live {
				return true
			}
		}
		if last, ok := k.tree.Max(); !ok || last < p {
			k.tree.Load(p) // past the end: appends into full nodes
		} else {
			k.tree.SetHint(p, &hint) // in order: each path starts where the last ended
		}
		return true
	})
	k.pending.Clear()
}

// Synced reports whether the tree holds exactly the map's keys, nothing
// pending or removed: as after Sync, until the next Put or Delete. Rank
// and At are exact only then.
func (k *Keydir) Synced() bool { return len(k.removed) == 0 && k.pending.Len() == 0 }

// Rank is the number of keys less than key, when Synced: a binary search
// over the counted tree's positions, O(log² n).
func (k *Keydir) Rank(key []byte) int {
	lo, hi := 0, k.tree.Len()
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if item, _ := k.tree.GetAt(mid); item < string(key) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// At returns the key at position i in key order (0: the least), when
// Synced: O(log n) in the counted tree.
func (k *Keydir) At(i int) (string, bool) {
	if i < 0 {
		return "", false
	}
	return k.tree.GetAt(i)
}

// Ascend calls fn for each key >= start in ascending order while fn returns
// true. Keys with the given prefix only, when prefix is not empty. fn must
// not change the Keydir; copy key if you keep it past the call.
func (k *Keydir) Ascend(start, prefix []byte, fn func(key string, loc Loc) bool) {
	k.Sync()
	from := string(start)
	if len(prefix) > 0 && from < string(prefix) {
		from = string(prefix)
	}
	k.tree.Ascend(from, func(key string) bool {
		if len(prefix) > 0 && !strings.HasPrefix(key, string(prefix)) {
			return false
		}
		loc, _ := k.lookupString(key)
		return fn(key, loc)
	})
}

// MemoryPerKey is the heap cost of one key beyond its own bytes, in bytes,
// for Stats' estimate. Measured at a million 16-byte keys it ranges from 41
// (keys inserted in random order: TestKeydir_MemoryPerKey) to 91 (keys
// loaded in key order, as Open loads a merged directory:
// BenchmarkIndexMemory). Two things swing it: Go's map splits all its
// tables at about the same size when hashes are uniform, so a 24-byte
// slot costs 35 to 56 bytes depending on where the count falls in that
// cycle; and the tree's Load splits a full leaf in half, so a tree built
// in key order stays half full (about 35 bytes a key against 25).
const MemoryPerKey = 64
