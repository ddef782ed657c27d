package keydir

import (
	"encoding/binary"
	"strings"
	"unsafe"
)

// keyRef names a key's bytes. With bigRef clear: the slab's index in bits
// 16 to 30, the entry's byte offset in the slab in the low 16. Slab 0 is
// never used, so 0 is no key (an empty table slot). With bigRef set: the
// index of the key in the arena's side list, in the low 31 bits.
type keyRef uint32

const (
	slabBits = 16
	slabSize = 1 << slabBits // bytes; a key longer than bigKey goes to the side list
	bigKey   = slabSize / 4
	bigRef   = 1 << 31
)

// maxSlabs and maxBig bound the slabs (2 GiB of keys) and the side list;
// LimitArenaForTest lowers them.
var (
	maxSlabs = 1 << (31 - slabBits)
	maxBig   = bigRef - 1
)

// LimitArenaForTest lowers, for every Keydir, the slabs the key arena may
// use and the keys its side list may hold, so that tests reach a full
// index without gigabytes of keys. It returns a function that restores
// the limits. It is for tests only.
func LimitArenaForTest(slabs, bigKeys int) (restore func()) {
	oldS, oldB := maxSlabs, maxBig
	maxSlabs, maxBig = slabs, bigKeys
	return func() { maxSlabs, maxBig = oldS, oldB }
}

// arena holds every key once. Keys of up to bigKey bytes are appended to
// 64 KiB slabs, each as a uvarint length and the key's bytes. Bytes once
// written are never written again, so a string over them (arena.key) stays
// valid for as long as it is held, even after its slab has been compacted
// away: the string keeps the slab's memory alive.
//
// Longer keys, and any key once the slabs are all in use, are kept in a
// side list of strings, one entry each, so no key is refused for want of
// a slab. add never fails while the side list has room (Keydir.Fits, which
// the engine asks before a write); its refs bound it at 2^31 entries.
//
// A deleted key's bytes are dead until compaction copies a slab's live
// keys to the current slab and drops the slab (Keydir.compact). A deleted
// side entry is freed at the next Sync, when no ref to it remains.
type arena struct {
	slabs   [][]byte
	dead    []int32  // dead bytes per slab
	cur     int      // the slab appended to; 0: none yet
	free    []uint32 // indexes of dropped slabs, to reuse
	live    int64    // bytes of live slab entries
	garbage int64    // bytes of dead slab entries

	big     []string // side list: long keys, and keys past the slabs
	bigFree []uint32 // free side entries, to reuse
	bigDead []uint32 // side entries deleted since the last Sync
}

func newArena() arena {
	return arena{slabs: make([][]byte, 1), dead: make([]int32, 1)}
}

func entryLen(n int) int {
	w := 1
	for x := uint(n); x >= 0x80; x >>= 7 {
		w++
	}
	return w + n
}

// add copies key into the arena.
func (a *arena) add(key string) keyRef {
	need := entryLen(len(key))
	if len(key) > bigKey {
		return a.addBig(key)
	}
	if a.cur == 0 || len(a.slabs[a.cur])+need > slabSize {
		if !a.slabFree() {
			return a.addBig(key)
		}
		a.cur = a.newSlab()
	}
	idx := a.cur
	s := a.slabs[idx]
	off := len(s)
	s = binary.AppendUvarint(s, uint64(len(key)))
	a.slabs[idx] = append(s, key...)
	a.live += int64(need)
	return keyRef(idx<<slabBits | off)
}

// slabFree reports whether newSlab has a slab to give.
func (a *arena) slabFree() bool { return len(a.free) > 0 || len(a.slabs) < maxSlabs }

// bigRoom is how many more keys the side list is sure to take.
func (a *arena) bigRoom() int { return maxBig - len(a.big) + len(a.bigFree) }

func (a *arena) addBig(key string) keyRef {
	key = strings.Clone(key)
	if n := len(a.bigFree); n > 0 {
		i := a.bigFree[n-1]
		a.bigFree = a.bigFree[:n-1]
		a.big[i] = key
		return keyRef(bigRef | i)
	}
	a.big = append(a.big, key)
	return keyRef(bigRef | uint32(len(a.big)-1))
}

// newSlab returns the index of an empty slab; slabFree must be true.
func (a *arena) newSlab() int {
	s := make([]byte, 0, slabSize)
	if n := len(a.free); n > 0 {
		idx := a.free[n-1]
		a.free = a.free[:n-1]
		a.slabs[idx] = s
		return int(idx)
	}
	a.slabs = append(a.slabs, s)
	a.dead = append(a.dead, 0)
	return len(a.slabs) - 1
}

// freeBig frees the side entries deleted since the last Sync: only Sync
// calls it, when no pending or removed list holds their refs.
func (a *arena) freeBig() {
	for _, i := range a.bigDead {
		a.big[i] = ""
	}
	a.bigFree = append(a.bigFree, a.bigDead...)
	a.bigDead = a.bigDead[:0]
}

// key is r's key: a string over the arena's bytes, valid for good.
func (a *arena) key(r keyRef) string {
	if r&bigRef != 0 {
		return a.big[r&^bigRef]
	}
	s := a.slabs[r>>slabBits][r&(slabSize-1):]
	n, w := uint64(s[0]), 1
	if n >= 0x80 {
		n, w = binary.Uvarint(s)
	}
	if n == 0 {
		return ""
	}
	return unsafe.String(&s[w], int(n))
}

// kill counts r's entry as dead.
func (a *arena) kill(r keyRef) {
	if r&bigRef != 0 {
		a.bigDead = append(a.bigDead, uint32(r&^bigRef))
		return
	}
	n := int32(entryLen(len(a.key(r))))
	a.dead[r>>slabBits] += n
	a.live -= int64(n)
	a.garbage += int64(n)
}

// drop forgets slab idx, whose entries are all dead or moved.
func (a *arena) drop(idx int) {
	a.garbage -= int64(a.dead[idx])
	a.slabs[idx], a.dead[idx] = nil, 0
	a.free = append(a.free, uint32(idx))
	if a.cur == idx {
		a.cur = 0
	}
}

// bstr views b as a string for the length of a call that keeps no part of it.
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// touch reads the first byte of r's entry: a load that the CPU can start
// before the loads it does not depend on are done, to bring the entry into
// cache ahead of its compare.
func (a *arena) touch(r keyRef) byte {
	if r&bigRef != 0 {
		return 0
	}
	return a.slabs[r>>slabBits][r&(slabSize-1)]
}

// entry is the first byte of r's entry, for Prefetch to read (and so to
// bring the entry into cache ahead of its compare); nil for a key kept
// aside.
func (a *arena) entry(r keyRef) []byte {
	if r&bigRef != 0 {
		return nil
	}
	off := r & (slabSize - 1)
	return a.slabs[r>>slabBits][off : off+1]
}
