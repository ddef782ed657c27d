// Package keydir is WalkerDB's in-memory index: from every live key to where
// its newest record lies on disk.
//
// Two structures share one copy of each key's bytes:
//
//	map[string]Loc        point lookups: Get, Put, Delete   (~130 ns at 1M keys)
//	B-tree of string      ordered scans: prefix, range, cursor
//
// A B-tree alone is ordered, but at a million keys each lookup walks about
// twenty string comparisons that each miss the CPU cache (about 1 µs here),
// so point operations go to the map and only scans touch the tree.
//
// The tree is kept in step lazily. New keys wait in a pending list and
// deleted ones in a removed list; Sync sorts the pending keys and folds both
// lists into the tree, where sorted inserts walk neighbouring paths and stay
// in cache. Sync runs before every scan and whenever the lists grow past a
// bound, so writes pay an amortised share of it and scans always see exactly
// the keys of the map.
//
// A Keydir is not safe for concurrent use; the engine guards it with its own
// lock (readers share, writers and scans exclude).
package keydir

import (
	"slices"
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

// Keydir maps keys to locations and iterates them in order.
type Keydir struct {
	m       map[string]Loc
	byFirst [256]int // keys by their first byte: walkerd keeps its db index there
	tree    *btree.BTreeG[string]
	pending []string
	removed []string
}

// New returns an empty Keydir sized for about n keys.
func New(n int) *Keydir {
	return &Keydir{
		m:    make(map[string]Loc, n),
		tree: btree.NewBTreeGOptions(func(a, b string) bool { return a < b }, btree.Options{NoLocks: true}),
	}
}

// Len is the number of keys.
func (k *Keydir) Len() int { return len(k.m) }

// Get returns the location of key.
func (k *Keydir) Get(key []byte) (Loc, bool) {
	l, ok := k.m[string(key)]
	return l, ok
}

// Put points key at loc and returns the location it replaced, if any.
func (k *Keydir) Put(key []byte, loc Loc) (old Loc, replaced bool) {
	if old, ok := k.m[string(key)]; ok {
		k.m[string(key)] = loc
		return old, true
	}
	s := string(key)
	k.m[s] = loc
	k.count(s, 1)
	k.pending = append(k.pending, s)
	k.maybeSync()
	return 0, false
}

// Delete removes key and returns the location it had, if any.
func (k *Keydir) Delete(key []byte) (old Loc, existed bool) {
	old, ok := k.m[string(key)]
	if !ok {
		return 0, false
	}
	delete(k.m, string(key))
	k.count(string(key), -1)
	k.removed = append(k.removed, string(key))
	k.maybeSync()
	return old, true
}

// CompareAndSwap points key at new only if it still points at old. Merge
// uses it so that a write that raced with the merge is never reverted.
func (k *Keydir) CompareAndSwap(key []byte, old, new Loc) bool {
	if cur, ok := k.m[string(key)]; ok && cur == old {
		k.m[string(key)] = new
		return true
	}
	return false
}

// CompareAndDelete removes key only if it still points at old. Merge uses it
// to drop keys whose records have expired.
func (k *Keydir) CompareAndDelete(key []byte, old Loc) bool {
	if cur, ok := k.m[string(key)]; ok && cur == old {
		k.Delete(key)
		return true
	}
	return false
}

func (k *Keydir) count(key string, d int) {
	if len(key) > 0 {
		k.byFirst[key[0]] += d
	}
}

// CountPrefix is the number of keys that begin with prefix: at once for an
// empty or one-byte prefix, by walking the ordered tree otherwise.
func (k *Keydir) CountPrefix(prefix []byte) int {
	switch len(prefix) {
	case 0:
		return len(k.m)
	case 1:
		return k.byFirst[prefix[0]]
	}
	n := 0
	k.Ascend(nil, prefix, func(string, Loc) bool { n++; return true })
	return n
}

func (k *Keydir) maybeSync() {
	if len(k.pending)+len(k.removed) >= syncAfter {
		k.Sync()
	}
}

// Sync folds the pending and removed keys into the ordered tree.
func (k *Keydir) Sync() {
	for _, r := range k.removed {
		if _, live := k.m[r]; !live {
			k.tree.Delete(r)
		}
	}
	k.removed = k.removed[:0]
	if len(k.pending) == 0 {
		return
	}
	slices.Sort(k.pending)
	var hint btree.PathHint
	for _, p := range k.pending {
		if _, live := k.m[p]; !live {
			continue
		}
		if last, ok := k.tree.Max(); !ok || last < p {
			k.tree.Load(p) // past the end: appends into full nodes
		} else {
			k.tree.SetHint(p, &hint) // sorted: each path starts where the last ended
		}
	}
	clear(k.pending)
	k.pending = k.pending[:0]
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
		return fn(key, k.m[key])
	})
}

// All calls fn for every key in no particular order, without syncing the
// tree. It is the fast walk for work that needs every key but no order.
func (k *Keydir) All(fn func(key string, loc Loc) bool) {
	for key, loc := range k.m {
		if !fn(key, loc) {
			return
		}
	}
}

// MemoryPerKey is the heap cost of one key beyond its own bytes, in bytes,
// as TestKeydir_MemoryPerKey measured it at a million 16-byte keys (41.2):
// a 24-byte map slot at the map's load factor, plus a 16-byte tree slot.
const MemoryPerKey = 42
