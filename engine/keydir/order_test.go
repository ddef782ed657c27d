package keydir

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestOrder_MergeKeepsOrderAndBounds merges batches of every shape (into
// an empty order, before the first key, past the last, hundreds into one
// block, sprinkled everywhere) and checks after each that the blocks hold
// exactly the model's keys in order, each block 1..blockCap refs, and that
// random batches leave blocks at least three fifths full on average.
// blockKeys returns o's keys and refs in block order, failing the test on
// an empty block or one over blockCap.
func blockKeys(t *testing.T, what string, a *arena, o *order) ([]string, []keyRef) {
	t.Helper()
	var keys []string
	var refs []keyRef
	for bi, b := range o.blocks {
		if len(b) == 0 || len(b) > blockCap {
			t.Fatalf("%s: block %d holds %d refs", what, bi, len(b))
		}
		for _, ref := range b {
			keys = append(keys, a.key(ref))
			refs = append(refs, ref)
		}
	}
	return keys, refs
}

func TestOrder_MergeKeepsOrderAndBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	a := newArena()
	var o order
	var model []string
	have := map[string]bool{}
	batch := func(keys []string) {
		var ps []pend
		for _, k := range keys {
			if have[k] {
				continue
			}
			have[k] = true
			ps = append(ps, pend{k, a.add(k)})
		}
		slices.SortFunc(ps, func(x, y pend) int {
			if x.key < y.key {
				return -1
			}
			if x.key > y.key {
				return 1
			}
			return 0
		})
		ps = slices.CompactFunc(ps, func(x, y pend) bool { return x.key == y.key })
		for _, p := range ps {
			model = append(model, p.key)
		}
		slices.Sort(model)
		o.merge(&a, ps)
		o.fixCum()
	}
	check := func(what string) {
		t.Helper()
		got, _ := blockKeys(t, what, &a, &o)
		if !slices.Equal(got, model) {
			t.Fatalf("%s: blocks hold %d keys (sorted %v), model %d", what, len(got), slices.IsSorted(got), len(model))
		}
		if o.n != len(model) {
			t.Fatalf("%s: n = %d, want %d", what, o.n, len(model))
		}
		for i := 0; i < len(model); i += 1 + len(model)/50 {
			if bi, pos := o.at(i); a.key(o.blocks[bi][pos]) != model[i] {
				t.Fatalf("%s: at(%d) is not the model's", what, i)
			}
		}
	}
	num := func(format string, lo, hi int) []string {
		var ks []string
		for i := lo; i < hi; i++ {
			ks = append(ks, fmt.Sprintf(format, i))
		}
		return ks
	}
	batch(num("m%06d", 0, 3000)) // into an empty order
	check("empty")
	batch(num("a%06d", 0, 700)) // before the first key
	check("before")
	batch(num("z%06d", 0, 1500)) // past the last
	check("past")
	batch(num("m%06d-x", 1000, 2200)) // 1200 keys into a few blocks
	check("dense")
	batch(num("m002500-%06d", 0, 60_000)) // 60,000 into one block
	check("denser")
	for round := range 40 { // sprinkled: overflows pass refs on or split
		var ks []string
		for range 50 + r.IntN(3000) {
			ks = append(ks, fmt.Sprintf("%c%06d-%d", "amz"[r.IntN(3)], r.IntN(1_000_000), round))
		}
		batch(ks)
		check(fmt.Sprintf("round %d", round))
	}
	batch([]string{"m000000-y"}) // one key
	check("one")
	fill := float64(len(model)) / float64(len(o.blocks)*blockCap)
	if fill < 0.6 {
		t.Errorf("blocks are %.2f full after random batches, want >= 0.6", fill)
	}
	t.Logf("%d keys, %d blocks, fill %.2f", len(model), len(o.blocks), fill)
}

// TestOrder_InsertKeepsOrderAndTakesNewRefs inserts keys one at a time, as
// Put does into the pending keys: ascending (appends), descending, random
// with repeats, enough to split blocks many times. After each round the
// blocks must hold exactly the model's keys in order, each block 1 to
// blockCap refs, n must count them, and a repeated key must hold the ref
// of its latest insert.
func TestOrder_InsertKeepsOrderAndTakesNewRefs(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	a := newArena()
	var o order
	latest := map[string]keyRef{}
	insert := func(k string) {
		ref := a.add(k)
		latest[k] = ref
		o.insert(&a, a.key(ref), ref)
	}
	check := func(what string) {
		t.Helper()
		got, refs := blockKeys(t, what, &a, &o)
		for i, k := range got {
			if latest[k] != refs[i] {
				t.Fatalf("%s: key %q holds ref %d, want its latest %d", what, k, refs[i], latest[k])
			}
		}
		var model []string
		for k := range latest {
			model = append(model, k)
		}
		slices.Sort(model)
		if !slices.Equal(got, model) {
			t.Fatalf("%s: blocks hold %d keys (sorted %v), model %d", what, len(got), slices.IsSorted(got), len(model))
		}
		if o.n != len(model) {
			t.Fatalf("%s: n = %d, want %d", what, o.n, len(model))
		}
	}
	for i := range 3 * blockCap {
		insert(fmt.Sprintf("m%06d", i))
	}
	check("ascending")
	for i := 3 * blockCap; i > 0; i-- {
		insert(fmt.Sprintf("d%06d", i))
	}
	check("descending, before the first key")
	for i := range 20 * blockCap {
		insert(fmt.Sprintf("r%06d", r.IntN(8*blockCap))) // repeats take new refs
		if i%(3*blockCap) == 0 {
			check(fmt.Sprintf("random, %d", i))
		}
	}
	insert("") // the least key of all
	check("random and the empty key")
	o.reset()
	latest = map[string]keyRef{}
	check("reset")
	insert("x")
	check("after reset")
}
