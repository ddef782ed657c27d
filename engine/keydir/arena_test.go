package keydir

import (
	"bytes"
	"fmt"
	"testing"
)

// TestArena_LongKeysTakeNoSlabs puts keys over bigKey: they go to the side
// list, not a slab each, and their entries are reused once deleted and
// synced.
func TestArena_LongKeysTakeNoSlabs(t *testing.T) {
	d := New(0)
	long := func(i int) []byte { return fmt.Appendf(bytes.Repeat([]byte("x"), 20_000), "%05d", i) }
	const n = 1000
	for i := range n {
		d.Put(long(i), Loc(i+1), 1)
	}
	if len(d.arena.slabs) != 1 || len(d.arena.big) != n {
		t.Fatalf("%d long keys: %d slabs (want only slab 0), %d kept aside", n, len(d.arena.slabs), len(d.arena.big))
	}
	i := 0
	d.Ascend(nil, nil, func(k string, l Loc) bool {
		if k != string(long(i)) || l != Loc(i+1) {
			t.Fatalf("Ascend's key %d is %q...: %v", i, k[len(k)-5:], l)
		}
		i++
		return true
	})
	for i := range n {
		if _, _, ok := d.Delete(long(i)); !ok {
			t.Fatalf("Delete(long %d) found nothing", i)
		}
	}
	d.Sync()
	if len(d.arena.bigFree) != n {
		t.Fatalf("%d side entries free after deleting all and Sync, want %d", len(d.arena.bigFree), n)
	}
	for i := range n {
		d.Put(long(i+n), Loc(i+1), 1)
	}
	if len(d.arena.big) != n || len(d.arena.bigFree) != 0 {
		t.Fatalf("side list grew to %d (%d free) instead of reusing its entries", len(d.arena.big), len(d.arena.bigFree))
	}
	if l, ok := d.Get(long(n + 7)); !ok || l != 8 {
		t.Fatalf("Get of a reused side entry: %v %v", l, ok)
	}
}

// TestArena_FullSlabsSpillToTheSideList limits the arena to one slab:
// keys past it go to the side list, Fits counts the room left there, and
// nothing panics.
func TestArena_FullSlabsSpillToTheSideList(t *testing.T) {
	defer LimitArenaForTest(2, 5000)()
	d := New(0)
	const n = 8000 // 17 bytes each in a slab: about 3855 fit
	for i := range n {
		d.Put(fmt.Appendf(nil, "key:%012d", i), Loc(i+1), 1)
	}
	if len(d.arena.slabs) != 2 || len(d.arena.big) == 0 {
		t.Fatalf("%d slabs, %d keys aside: want the one slab full and the rest aside", len(d.arena.slabs), len(d.arena.big))
	}
	room := 5000 - len(d.arena.big)
	if !d.Fits(room) || d.Fits(room+1) {
		t.Fatalf("Fits(%d) = %v, Fits(%d) = %v: want true, false", room, d.Fits(room), room+1, d.Fits(room+1))
	}
	for i := range n {
		if l, ok := d.Get(fmt.Appendf(nil, "key:%012d", i)); !ok || l != Loc(i+1) {
			t.Fatalf("Get(%d) = %v %v", i, l, ok)
		}
	}
	d.Sync()
	if d.Rank([]byte("key:000000004000")) != 4000 {
		t.Fatalf("Rank across slab and side keys = %d", d.Rank([]byte("key:000000004000")))
	}
}

// TestKeydir_MatchesAModelWithAFullArena runs the model with one slab, so
// that keys spill to the side list and compaction finds no slab to move to.
func TestKeydir_MatchesAModelWithAFullArena(t *testing.T) {
	defer LimitArenaForTest(2, maxBig)()
	defer func(old int64) { compactMin = old }(compactMin)
	compactMin = 0
	for seed := range uint64(2) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			d := testAgainstModel(t, ^uint64(0), seed, 6000, 20_000, 10)
			if len(d.arena.slabs) != 2 || len(d.arena.big) < 100 {
				t.Fatalf("%d slabs, %d keys aside: the arena did not fill", len(d.arena.slabs), len(d.arena.big))
			}
		})
	}
}
