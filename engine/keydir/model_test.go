package keydir

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// model is what a Keydir must agree with: a map and, on demand, its sorted
// keys.
type model struct {
	loc  map[string]Loc
	size map[string]uint32
}

func (m *model) sorted() []string {
	return slices.Sorted(func(yield func(string) bool) {
		for k := range m.loc {
			if !yield(k) {
				return
			}
		}
	})
}

// keyPool draws the keys a run uses: short keys over a small alphabet
// holding 0x00 and 0xff (so puts, deletes and re-adds of one key are
// frequent and prefixes nest), some longer than 127 bytes (a two-byte
// length in the arena) and a few longer than bigKey (in the side list).
func keyPool(r *rand.Rand, n int) []string {
	alpha := []byte{0x00, 0x01, 'a', 'b', 0xfe, 0xff}
	seen := map[string]bool{}
	var pool []string
	for len(pool) < n {
		var b []byte
		switch x := r.IntN(100); {
		case x == 0:
			b = bytes.Repeat([]byte{alpha[r.IntN(len(alpha))]}, bigKey+1+r.IntN(3000))
			b = append(b, byte(r.IntN(256)))
		case x < 5:
			b = bytes.Repeat([]byte{'a'}, 120+r.IntN(200))
			b = append(b, byte(r.IntN(256)), byte(r.IntN(256)))
		default:
			b = make([]byte, r.IntN(6))
			for i := range b {
				b[i] = alpha[r.IntN(len(alpha))]
			}
		}
		if !seen[string(b)] {
			seen[string(b)] = true
			pool = append(pool, string(b))
		}
	}
	return pool
}

// TestKeydir_MatchesAModel drives a Keydir and a model through the same
// random operations, many seeds, with the hash whole and narrowed (so that
// most keys share fingerprints and tables cannot split), and compaction
// made eager, and checks every answer.
func TestKeydir_MatchesAModel(t *testing.T) {
	defer func(old int64) { compactMin = old }(compactMin)
	compactMin = 0
	seeds, ops := uint64(8), 12_000
	if raceOn {
		seeds, ops = 2, 6000
	}
	for _, mask := range []uint64{^uint64(0), 0xff00_0000_0000_0003, 3} {
		for seed := range seeds {
			t.Run(fmt.Sprintf("mask=%x/seed=%d", mask, seed), func(t *testing.T) {
				testAgainstModel(t, mask, seed, 1500, ops, 1)
			})
		}
	}
}

// TestKeydir_MatchesAModelThroughSplits uses enough keys that tables grow
// and split, and compaction moves keys between slabs.
func TestKeydir_MatchesAModelThroughSplits(t *testing.T) {
	if testing.Short() {
		t.Skip("a hundred thousand keys")
	}
	defer func(old int64) { compactMin = old }(compactMin)
	compactMin = 0
	ops := 150_000
	if raceOn {
		ops = 60_000
	}
	testAgainstModel(t, ^uint64(0), 99, 40_000, ops, 100)
}

// testAgainstModel runs ops random operations on keys from a pool of
// poolSize; the whole-order checks (which sort the model) come at 1 in
// rare of the draws that ask for one.
func testAgainstModel(t *testing.T, mask uint64, seed uint64, poolSize, ops, rare int) *Keydir {
	r := rand.New(rand.NewPCG(seed, mask))
	pool := keyPool(r, poolSize)
	d := New(r.IntN(poolSize))
	d.mask = mask
	m := &model{loc: map[string]Loc{}, size: map[string]uint32{}}
	exact := mask == ^uint64(0)
	for i := range ops {
		k := pool[r.IntN(len(pool))]
		cur, present := m.loc[k]
		switch op := r.IntN(100); {
		case op < 40:
			if r.IntN(4) == 0 { // as the engine does before a batch
				batch := []string{k, pool[r.IntN(len(pool))], pool[r.IntN(len(pool))]}
				d.Prefetch(len(batch), func(i int) []byte { return []byte(batch[i]) })
			}
			l, sz := Loc(i+1), uint32(r.IntN(1000))
			if r.IntN(10) == 0 { // kept aside of the slot
				sz = sizeEscape + uint32(r.IntN(3))
			}
			old, oldSize, replaced := d.Put([]byte(k), l, sz)
			if replaced != present || old != cur || oldSize != m.size[k] {
				t.Fatalf("op %d: Put(%q) = %v %d %v, model %v %d %v", i, k, old, oldSize, replaced, cur, m.size[k], present)
			}
			m.loc[k], m.size[k] = l, sz
		case op < 60:
			old, oldSize, existed := d.Delete([]byte(k))
			if existed != present || old != cur || oldSize != m.size[k] {
				t.Fatalf("op %d: Delete(%q) = %v %d %v, model %v %d %v", i, k, old, oldSize, existed, cur, m.size[k], present)
			}
			delete(m.loc, k)
			delete(m.size, k)
		case op < 67:
			from := cur
			if r.IntN(2) == 0 {
				from = Loc(r.IntN(ops))
			}
			want := present && from == cur
			sz := uint32(7)
			if r.IntN(4) == 0 {
				sz = 1<<32 - 1
			}
			if got := d.CompareAndSwap([]byte(k), from, Loc(i+1), sz); got != want {
				t.Fatalf("op %d: CompareAndSwap(%q, %v) = %v, want %v", i, k, from, got, want)
			}
			if want {
				m.loc[k], m.size[k] = Loc(i+1), sz
			}
		case op < 72:
			from := cur
			if r.IntN(2) == 0 {
				from = Loc(r.IntN(ops))
			}
			want := present && from == cur
			if got := d.CompareAndDelete([]byte(k), from); got != want {
				t.Fatalf("op %d: CompareAndDelete(%q, %v) = %v, want %v", i, k, from, got, want)
			}
			if want {
				delete(m.loc, k)
				delete(m.size, k)
			}
		case op < 92:
			got, ok := d.Get([]byte(k))
			if present && (!ok || got != cur) || !present && exact && ok {
				t.Fatalf("op %d: Get(%q) = %v %v, model %v %v", i, k, got, ok, cur, present)
			}
		case op < 93:
			d.Sync()
		case op < 96:
			if r.IntN(rare) == 0 {
				checkIterAgainst(t, r, d, m, fmt.Sprintf("op %d", i))
			}
		case op < 97:
			if r.IntN(rare) == 0 {
				checkOrdered(t, r, d, m, fmt.Sprintf("op %d", i))
			}
		default:
			p := k[:min(len(k), r.IntN(3))]
			want := 0
			for x := range m.loc {
				if strings.HasPrefix(x, p) {
					want++
				}
			}
			if got := d.CountPrefix([]byte(p)); got != want {
				t.Fatalf("op %d: CountPrefix(%q) = %d, want %d", i, p, got, want)
			}
		}
		if d.Len() != len(m.loc) {
			t.Fatalf("op %d: Len %d, model %d", i, d.Len(), len(m.loc))
		}
	}
	checkOrdered(t, r, d, m, "end")
	big := 0
	for _, sz := range m.size {
		if sz >= sizeEscape {
			big++
		}
	}
	if len(d.bigSizes) != big {
		t.Fatalf("%d sizes kept aside, model has %d that large", len(d.bigSizes), big)
	}
	var kb int64
	for k := range m.loc {
		kb += int64(len(k))
	}
	if d.KeyBytes() != kb {
		t.Fatalf("KeyBytes %d, model %d", d.KeyBytes(), kb)
	}
	return d
}

// checkOrdered syncs and checks Ascend (whole, from a start, by a prefix),
// Rank and At against the model.
func checkOrdered(t *testing.T, r *rand.Rand, d *Keydir, m *model, what string) {
	t.Helper()
	want := m.sorted()
	var got []string
	d.Ascend(nil, nil, func(k string, l Loc) bool {
		if l != m.loc[k] {
			t.Fatalf("%s: Ascend gives %q at %v, model %v", what, k, l, m.loc[k])
		}
		got = append(got, k)
		return true
	})
	if !slices.Equal(got, want) {
		t.Fatalf("%s: Ascend gives %d keys, model %d", what, len(got), len(want))
	}
	if !d.Synced() {
		t.Fatalf("%s: not Synced after Ascend", what)
	}
	start, prefix := randKey(r), randKey(r)
	var sub, wantSub []string
	d.Ascend([]byte(start), []byte(prefix), func(k string, _ Loc) bool { sub = append(sub, k); return true })
	for _, k := range want {
		if k >= start && strings.HasPrefix(k, prefix) {
			wantSub = append(wantSub, k)
		}
	}
	if !slices.Equal(sub, wantSub) {
		t.Fatalf("%s: Ascend(%q, %q) = %q, want %q", what, start, prefix, sub, wantSub)
	}
	for range 20 {
		probe := randKey(r)
		if len(want) > 0 && r.IntN(2) == 0 {
			probe = want[r.IntN(len(want))]
		}
		wr, _ := slices.BinarySearch(want, probe)
		if rk := d.Rank([]byte(probe)); rk != wr {
			t.Fatalf("%s: Rank(%q) = %d, want %d", what, probe, rk, wr)
		}
		if i := r.IntN(len(want) + 2); i < len(want) {
			if k, ok := d.At(i); !ok || k != want[i] {
				t.Fatalf("%s: At(%d) = %q %v, want %q", what, i, k, ok, want[i])
			}
		} else if _, ok := d.At(i); ok {
			t.Fatalf("%s: At(%d) past the end found a key", what, i)
		}
	}
}

// checkIterAgainst walks an Iter with random bounds through random moves,
// whatever is pending.
func checkIterAgainst(t *testing.T, r *rand.Rand, d *Keydir, m *model, what string) {
	t.Helper()
	lower, upper := randBound(r), randBound(r)
	if r.IntN(4) == 0 {
		lower = []byte(randKey(r))
		upper = PrefixEnd(lower)
	}
	c := &modelCursor{lower: string(lower), upper: string(upper), hasUpper: upper != nil}
	for k := range m.loc {
		if k >= c.lower && (!c.hasUpper || k < c.upper) {
			c.keys = append(c.keys, k)
		}
	}
	slices.Sort(c.keys)
	it := d.NewIter(lower, upper)
	defer it.Close()
	checkIter(t, r, it, c, m.loc, fmt.Sprintf("%s, bounds [%q, %q)", what, lower, upper))
}

// TestKeydir_CompactionKeepsKeysAndFreesSlabs deletes most of many keys
// and checks that Sync gives slabs back and every key and Iter survives.
func TestKeydir_CompactionKeepsKeysAndFreesSlabs(t *testing.T) {
	d := New(0)
	m := &model{loc: map[string]Loc{}, size: map[string]uint32{}}
	for i := range 50_000 {
		k := fmt.Sprintf("key:%012d", i*7919%50_000)
		d.Put([]byte(k), Loc(i+1), 1)
		m.loc[k], m.size[k] = Loc(i+1), 1
	}
	d.Sync()
	slabs := len(d.arena.slabs) - len(d.arena.free)
	it := d.NewIter(nil, nil)
	it.First()
	kept := it.Key() // a string over the arena: must outlive compaction
	for i := range 50_000 {
		if i%5 != 0 {
			k := fmt.Sprintf("key:%012d", i)
			d.Delete([]byte(k))
			delete(m.loc, k)
		}
	}
	for range 20 {
		d.Sync() // each compacts at most compactSlabs
	}
	if d.arena.garbage > d.arena.live/4+compactMin {
		t.Fatalf("garbage %d bytes, live %d", d.arena.garbage, d.arena.live)
	}
	if now := len(d.arena.slabs) - len(d.arena.free); now >= slabs {
		t.Fatalf("%d slabs in use, %d before deleting 4 keys in 5", now, slabs)
	}
	if kept != "key:000000000000" {
		t.Fatalf("a key string held across compaction reads %q", kept)
	}
	checkOrdered(t, rand.New(rand.NewPCG(1, 1)), d, m, "after compaction")
	for k, l := range m.loc {
		if got, ok := d.Get([]byte(k)); !ok || got != l {
			t.Fatalf("Get(%q) = %v %v, want %v", k, got, ok, l)
		}
	}
}

// TestKeydir_KeyOrderFillsBlocks checks that keys put in key order pack
// the ordered blocks full, as Open's loading of a merged directory does.
func TestKeydir_KeyOrderFillsBlocks(t *testing.T) {
	d := New(0)
	const n = 100_000
	for i := range n {
		d.Put(fmt.Appendf(nil, "key:%012d", i), Loc(i), 1)
	}
	d.Sync()
	if want := (n + blockCap - 1) / blockCap; len(d.ord.blocks) != want {
		t.Fatalf("%d blocks for %d keys in key order, want %d", len(d.ord.blocks), n, want)
	}
	if d.depth < 2 {
		t.Fatalf("directory depth %d: tables of %d slots did not split", d.depth, maxSlots)
	}
	for i := range n {
		if l, ok := d.Get(fmt.Appendf(nil, "key:%012d", i)); !ok || l != Loc(i) {
			t.Fatalf("Get(%d) after splits = %v %v", i, l, ok)
		}
	}
}

// TestKeydir_TableThatCannotSplitGrows clears the hash's leading bits, so
// a table past maxSlots finds all its keys on one side of a split: it must
// grow instead, and keep every key.
func TestKeydir_TableThatCannotSplitGrows(t *testing.T) {
	d := New(0)
	d.mask = 0xffff_ffff
	const n = 40_000
	for i := range n {
		d.Put(fmt.Appendf(nil, "k%d", i), Loc(i+1), 1)
	}
	if len(d.dir) != 1 || d.dir[0].cap <= maxSlots || !d.dir[0].nosplit {
		t.Fatalf("%d tables, the first of %d slots (nosplit %v): want one past %d", len(d.dir), d.dir[0].cap, d.dir[0].nosplit, maxSlots)
	}
	for i := range n {
		if l, ok := d.Get(fmt.Appendf(nil, "k%d", i)); !ok || l != Loc(i+1) {
			t.Fatalf("Get(k%d) = %v %v", i, l, ok)
		}
	}
}
