package keydir

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// modelCursor is the model an Iter is held to: an index into the sorted keys
// within bounds, -1 before the first and len after the last.
type modelCursor struct {
	keys         []string
	lower, upper string
	hasUpper     bool
	i            int
	positioned   bool
}

func (c *modelCursor) valid() bool { return c.positioned && c.i >= 0 && c.i < len(c.keys) }

func (c *modelCursor) seekGE(k string) bool {
	k = max(k, c.lower)
	c.i, _ = slices.BinarySearch(c.keys, k)
	c.positioned = true
	return c.valid()
}

func (c *modelCursor) seekLT(k string) bool {
	if c.hasUpper {
		k = min(k, c.upper)
	}
	i, _ := slices.BinarySearch(c.keys, k)
	c.i, c.positioned = i-1, true
	return c.valid()
}

func (c *modelCursor) last() bool {
	c.i, c.positioned = len(c.keys)-1, true
	return c.valid()
}

func (c *modelCursor) next() bool {
	switch {
	case !c.positioned || c.i < 0:
		return c.seekGE("")
	case c.i < len(c.keys):
		c.i++
	}
	return c.valid()
}

func (c *modelCursor) prev() bool {
	switch {
	case !c.positioned || c.i >= len(c.keys):
		return c.last()
	case c.i >= 0:
		c.i--
	}
	return c.valid()
}

// randKey draws from a small space of keys holding 0x00 and 0xff, so that
// puts, deletes and re-adds of one key are frequent.
func randKey(r *rand.Rand) string {
	alpha := []byte{0x00, 0x01, 'a', 'b', 0xfe, 0xff}
	b := make([]byte, r.IntN(4))
	for i := range b {
		b[i] = alpha[r.IntN(len(alpha))]
	}
	return string(b)
}

func randBound(r *rand.Rand) []byte {
	if r.IntN(3) == 0 {
		return nil
	}
	return []byte(randKey(r))
}

// checkIter drives it and the model through the same random moves.
func checkIter(t *testing.T, r *rand.Rand, it *Iter, c *modelCursor, model map[string]Loc, what string) {
	t.Helper()
	var trail []string
	for range 40 {
		var got, want bool
		switch op := r.IntN(6); op {
		case 0:
			got, want = it.First(), c.seekGE("")
			trail = append(trail, "First")
		case 1:
			got, want = it.Last(), c.last()
			trail = append(trail, "Last")
		case 2:
			k := randKey(r)
			got, want = it.SeekGE([]byte(k)), c.seekGE(k)
			trail = append(trail, fmt.Sprintf("SeekGE(%q)", k))
		case 3:
			k := randKey(r)
			got, want = it.SeekLT([]byte(k)), c.seekLT(k)
			trail = append(trail, fmt.Sprintf("SeekLT(%q)", k))
		case 4:
			got, want = it.Next(), c.next()
			trail = append(trail, "Next")
		case 5:
			got, want = it.Prev(), c.prev()
			trail = append(trail, "Prev")
		}
		if got != want || it.Valid() != want {
			t.Fatalf("%s: after %v: iter %v (valid %v), model %v", what, trail, got, it.Valid(), want)
		}
		if want {
			k := c.keys[c.i]
			if it.Key() != k || it.Loc() != model[k] {
				t.Fatalf("%s: after %v: iter at %q (%v), model at %q (%v)", what, trail, it.Key(), it.Loc(), k, model[k])
			}
		}
	}
}

func TestIter_MatchesAModelThroughPutsDeletesReaddsAndSyncs(t *testing.T) {
	d := New(0)
	model := map[string]Loc{}
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 20_000 {
		k := randKey(r)
		switch n := r.IntN(20); {
		case n < 6:
			d.Delete([]byte(k))
			delete(model, k)
		case n == 6:
			d.Sync()
		default:
			d.Put([]byte(k), Loc(i+1), 10)
			model[k] = Loc(i + 1)
		}
		if i%20 != 0 {
			continue
		}
		lower, upper := randBound(r), randBound(r)
		if r.IntN(4) == 0 { // a prefix
			lower = []byte(randKey(r))
			upper = PrefixEnd(lower)
		}
		c := &modelCursor{lower: string(lower), upper: string(upper), hasUpper: upper != nil}
		for k := range model {
			if k >= c.lower && (!c.hasUpper || k < c.upper) {
				c.keys = append(c.keys, k)
			}
		}
		slices.Sort(c.keys)
		it := d.NewIter(lower, upper)
		checkIter(t, r, it, c, model, fmt.Sprintf("op %d, bounds [%q, %q), %d pending, %d removed", i, lower, upper, d.pending.n, len(d.removed)))
		it.Close()
	}
}

func TestIter_ReadaddedKeyIsYieldedOnceBothWays(t *testing.T) {
	d := New(0)
	for _, k := range []string{"a", "b", "c"} {
		d.Put([]byte(k), 1, 10)
	}
	d.Sync()
	d.Delete([]byte("b"))
	d.Put([]byte("b"), 2, 10) // in the tree and pending
	d.Put([]byte("d"), 3, 10)
	d.Delete([]byte("d"))
	d.Put([]byte("d"), 4, 10) // pending twice
	d.Delete([]byte("c"))     // in the tree, dead
	it := d.NewIter(nil, nil)
	var fwd, rev []string
	for ok := it.First(); ok; ok = it.Next() {
		fwd = append(fwd, it.Key())
	}
	for ok := it.Last(); ok; ok = it.Prev() {
		rev = append(rev, it.Key())
	}
	if !slices.Equal(fwd, []string{"a", "b", "d"}) || !slices.Equal(rev, []string{"d", "b", "a"}) {
		t.Fatalf("forward %q, reverse %q", fwd, rev)
	}
}

func TestIter_TurnsRoundAtEitherEnd(t *testing.T) {
	d := New(0)
	for _, k := range []string{"a", "b", "c"} {
		d.Put([]byte(k), 1, 10)
	}
	it := d.NewIter(nil, nil)
	it.Last()
	if it.Next() || !it.Prev() || it.Key() != "c" {
		t.Fatalf("past the end and back: at %q", it.Key())
	}
	it.First()
	if it.Prev() || !it.Next() || it.Key() != "a" {
		t.Fatalf("before the start and back: at %q", it.Key())
	}
	if !it.Next() || !it.Prev() || it.Key() != "a" || !it.Next() || !it.Next() || it.Key() != "c" {
		t.Fatalf("switching direction: at %q", it.Key())
	}
}

func TestPrefixEnd_IsTheLeastKeyPastThePrefix(t *testing.T) {
	for _, c := range []struct{ in, want []byte }{
		{nil, nil},
		{[]byte{0xff, 0xff}, nil},
		{[]byte("a"), []byte("b")},
		{[]byte{'a', 0xff}, []byte("b")},
		{[]byte{'a', 0x00}, []byte{'a', 0x01}},
		{[]byte{0x01, 0xfe, 0xff}, []byte{0x01, 0xff}},
	} {
		if got := PrefixEnd(c.in); !bytes.Equal(got, c.want) {
			t.Errorf("PrefixEnd(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestIter_ManyAtOnceChangeNothing runs iterators on several goroutines
// over a Keydir with pending and removed keys; -race would see any write.
func TestIter_ManyAtOnceChangeNothing(t *testing.T) {
	d := New(0)
	for i := range 5000 {
		d.Put(fmt.Appendf(nil, "k%05d", i), Loc(i+1), 10)
	}
	d.Sync()
	for i := 0; i < 5000; i += 3 {
		d.Delete(fmt.Appendf(nil, "k%05d", i))
	}
	for i := 5000; i < 6000; i++ {
		d.Put(fmt.Appendf(nil, "k%05d", i), Loc(i+1), 10)
	}
	want := d.Len()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for range 20 {
				it := d.NewIter(nil, nil)
				n := 0
				if g%2 == 0 {
					for ok := it.First(); ok; ok = it.Next() {
						n++
					}
				} else {
					for ok := it.Last(); ok; ok = it.Prev() {
						n++
					}
				}
				it.Close()
				if n != want {
					t.Errorf("goroutine %d saw %d keys, want %d", g, n, want)
					return
				}
			}
		})
	}
	wg.Wait()
	if d.pending.n != 1000 || len(d.removed) == 0 {
		t.Fatalf("iterating changed the lists: %d pending, %d removed", d.pending.n, len(d.removed))
	}
}

// benchKeydir holds a million synced keys and then pending new ones, in
// random order as a server receives them.
func benchKeydir(b *testing.B, pending int) *Keydir {
	b.Helper()
	d := New(0)
	r := rand.New(rand.NewPCG(7, 8))
	for i := range 1_000_000 {
		d.Put(fmt.Appendf(nil, "key:%012d", r.Int64N(1e12)), Loc(i+1), 10)
	}
	d.Sync()
	for i := range pending {
		d.Put(fmt.Appendf(nil, "key:%012d", r.Int64N(1e12)), Loc(i+1), 10)
	}
	if d.pending.n != pending {
		b.Fatalf("%d pending, want %d", d.pending.n, pending)
	}
	return d
}

// BenchmarkNewIter is the cost of making an Iter and taking its first key,
// with the pending list empty and just short of syncAfter, unbounded and
// with a prefix that holds about a hundred keys.
func BenchmarkNewIter(b *testing.B) {
	for _, pending := range []int{0, syncAfter - 1} {
		d := benchKeydir(b, pending)
		for _, bounds := range []struct {
			name         string
			lower, upper []byte
		}{{"unbounded", nil, nil}, {"prefix", []byte("key:00001"), PrefixEnd([]byte("key:00001"))}} {
			b.Run(fmt.Sprintf("pending=%d/%s", pending, bounds.name), func(b *testing.B) {
				for b.Loop() {
					it := d.NewIter(bounds.lower, bounds.upper)
					if !it.First() {
						b.Fatal("empty")
					}
					it.Close()
				}
			})
		}
	}
}

// BenchmarkPutNew is the cost of a Put of a key new to a million-key
// Keydir, its share of Sync included: what keeping pending keys sorted
// (for Iter) costs writes. Keys arrive in random order or ascending.
func BenchmarkPutNew(b *testing.B) {
	for _, order := range []string{"random", "ascending"} {
		b.Run(order, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			var d *Keydir
			for i := 0; b.Loop(); i++ {
				if i%200_000 == 0 { // a fresh million keys, synced
					b.StopTimer()
					d = New(1_000_000)
					for j := range 1_000_000 {
						d.Put(fmt.Appendf(nil, "key:%012d", r.Int64N(1e12)), Loc(j), 10)
					}
					d.Sync()
					b.StartTimer()
				}
				k := fmt.Appendf(nil, "key:1%011d", i)
				if order == "random" {
					k = fmt.Appendf(k[:0], "key:%012d", r.Int64N(1e12))
				}
				d.Put(k, Loc(i), 10)
			}
		})
	}
}
