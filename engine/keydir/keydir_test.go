package keydir

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

func keys(d *Keydir, start, prefix string) []string {
	var out []string
	d.Ascend([]byte(start), []byte(prefix), func(k string, _ Loc) bool {
		out = append(out, k)
		return true
	})
	return out
}

func TestLoc_PacksAndUnpacks(t *testing.T) {
	for _, c := range []struct {
		seg, off uint32
		flags    uint8
	}{{0, 0, 0}, {1, 2, 1}, {MaxSegmentID, 1<<32 - 1, FlagExpires}} {
		l := MakeLoc(c.seg, c.off, c.flags)
		if l.Segment() != c.seg || l.Offset() != c.off || l.Expires() != (c.flags&FlagExpires != 0) {
			t.Errorf("MakeLoc(%d, %d, %d) unpacks to %d, %d, %v", c.seg, c.off, c.flags, l.Segment(), l.Offset(), l.Expires())
		}
	}
}

func TestKeydir_AscendMatchesAModelThroughPutsAndDeletes(t *testing.T) {
	d := New(0)
	model := map[string]Loc{}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200_000 { // crosses syncAfter several times
		k := fmt.Sprintf("k%05d", r.IntN(20_000))
		if r.IntN(3) == 0 {
			d.Delete([]byte(k))
			delete(model, k)
		} else {
			d.Put([]byte(k), Loc(i), 10)
			model[k] = Loc(i)
		}
		if i%50_000 == 0 {
			want := slices.Sorted(func(yield func(string) bool) {
				for k := range model {
					if !yield(k) {
						return
					}
				}
			})
			if got := keys(d, "", ""); !slices.Equal(got, want) {
				t.Fatalf("after %d ops: ascend gives %d keys, model has %d", i, len(got), len(want))
			}
		}
	}
	if d.Len() != len(model) {
		t.Fatalf("Len = %d, model %d", d.Len(), len(model))
	}
	for k, l := range model {
		if got, ok := d.Get([]byte(k)); !ok || got != l {
			t.Fatalf("Get(%s) = %v %v, want %v", k, got, ok, l)
		}
	}
}

func TestKeydir_DeleteThenPutAgainAppearsOnce(t *testing.T) {
	d := New(0)
	d.Put([]byte("a"), 1, 10)
	d.Sync()
	d.Delete([]byte("a"))
	d.Put([]byte("a"), 2, 10)
	d.Put([]byte("b"), 3, 10)
	d.Delete([]byte("b"))
	if got := keys(d, "", ""); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("keys = %q, want [a]", got)
	}
}

func TestKeydir_AscendHonoursStartAndPrefix(t *testing.T) {
	d := New(0)
	for _, k := range []string{"a", "b\x00", "b\x001", "b\x00\xff", "b\x01", "c", ""} {
		d.Put([]byte(k), 1, 10)
	}
	if got := keys(d, "", "b\x00"); !slices.Equal(got, []string{"b\x00", "b\x001", "b\x00\xff"}) {
		t.Errorf("prefix b\\x00: %q", got)
	}
	if got := keys(d, "b\x001", "b\x00"); !slices.Equal(got, []string{"b\x001", "b\x00\xff"}) {
		t.Errorf("prefix b\\x00 from b\\x001: %q", got)
	}
	if got := keys(d, "b", ""); !slices.Equal(got, []string{"b\x00", "b\x001", "b\x00\xff", "b\x01", "c"}) {
		t.Errorf("from b: %q", got)
	}
	if got := keys(d, "", ""); got[0] != "" {
		t.Errorf("the empty key sorts first: %q", got)
	}
}

func TestKeydir_CompareAndSwapLosesToANewerWrite(t *testing.T) {
	d := New(0)
	d.Put([]byte("k"), 1, 10)
	d.Put([]byte("k"), 2, 10) // a write that raced with a merge
	if d.CompareAndSwap([]byte("k"), 1, 9, 10) {
		t.Fatal("swap succeeded against a stale location")
	}
	if !d.CompareAndSwap([]byte("k"), 2, 9, 10) {
		t.Fatal("swap failed against the current location")
	}
	if d.CompareAndDelete([]byte("k"), 2) {
		t.Fatal("delete succeeded against a stale location")
	}
	if !d.CompareAndDelete([]byte("k"), 9) || d.Len() != 0 {
		t.Fatal("delete failed against the current location")
	}
}

// TestKeydir_KeysWhoseHashesCollideStaySeparate narrows the hash to two
// bits, so nearly every key shares its fingerprint with others and its
// slot is marked shared.
func TestKeydir_KeysWhoseHashesCollideStaySeparate(t *testing.T) {
	d := New(0)
	d.mask = 3
	model := map[string]Loc{}
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 20_000 {
		k := []byte(fmt.Sprintf("k%03d", r.IntN(300)))
		if r.IntN(4) == 0 {
			_, _, existed := d.Delete(k)
			if _, want := model[string(k)]; existed != want {
				t.Fatalf("Delete(%s) existed=%v, model %v", k, existed, want)
			}
			delete(model, string(k))
		} else {
			d.Put(k, Loc(i), uint32(i))
			model[string(k)] = Loc(i)
		}
	}
	if sharedSlots(d) == 0 {
		t.Fatal("no two keys shared a fingerprint: the test tests nothing")
	}
	if d.Len() != len(model) {
		t.Fatalf("Len %d, model %d", d.Len(), len(model))
	}
	for k, l := range model {
		if got, ok := d.Get([]byte(k)); !ok || got != l {
			t.Fatalf("Get(%s) = %v, %v; want %v", k, got, ok, l)
		}
	}
	if got := keys(d, "", ""); len(got) != len(model) {
		t.Fatalf("ascend gives %d keys, model %d", len(got), len(model))
	}
}

func TestKeydir_CountPrefixByFirstByte(t *testing.T) {
	d := New(0)
	for i := range 100 {
		d.Put([]byte{byte(i % 3), byte(i)}, 1, 10)
	}
	d.Delete([]byte{0, 0})
	if n := d.CountPrefix([]byte{0}); n != 33 {
		t.Errorf("db 0 has %d keys, want 33", n)
	}
	if n := d.CountPrefix([]byte{1, 1}); n != 1 {
		t.Errorf("prefix 1,1 has %d keys, want 1", n)
	}
	if n := d.CountPrefix(nil); n != 99 {
		t.Errorf("all: %d, want 99", n)
	}
}

// TestKeydir_MemoryPerKey measures the index's heap cost per key beyond
// the key's own bytes, and holds it to the budget of 48 bytes a 16-byte
// key in all: 32 beyond the key.
func TestKeydir_MemoryPerKey(t *testing.T) {
	if testing.Short() || raceOn {
		t.Skip("allocates a million keys; the race detector's heap is not the product's")
	}
	const n = 1_000_000
	ks := make([][]byte, n)
	for i := range ks {
		ks[i] = fmt.Appendf(nil, "key:%012d", rand.Int64N(1e12)) // 16 bytes
	}
	before := heap()
	d := New(0)
	for i, k := range ks {
		d.Put(k, Loc(i), 10)
	}
	d.Sync()
	after := heap()
	perKey := float64(after-before)/float64(d.Len()) - 16
	runtime.KeepAlive(ks) // else freed before after, and counted off the index
	t.Logf("%.1f bytes per key beyond the key's 16 (MemoryPerKey = %d)", perKey, MemoryPerKey)
	if perKey > 32 {
		t.Errorf("index costs %.1f bytes per key beyond the key, budget 32", perKey)
	}
	runtime.KeepAlive(d)
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func BenchmarkKeydirGet1M(b *testing.B) {
	d := New(0)
	ks := make([][]byte, 1_000_000)
	for i := range ks {
		ks[i] = fmt.Appendf(nil, "key:%012d", i)
		d.Put(ks[i], Loc(i), 10)
	}
	d.Sync()
	r := rand.New(rand.NewPCG(1, 1))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := d.Get(ks[r.IntN(len(ks))]); !ok {
			b.Fatal("missing")
		}
	}
}

// sharedSlots counts the slots marked as sharing their fingerprint.
func sharedSlots(d *Keydir) int {
	n := 0
	for i, t := range d.dir {
		if i > 0 && d.dir[i-1] == t {
			continue
		}
		for j := range t.cap {
			if t.ref(j) != 0 && t.tag(j)&sharedBit != 0 {
				n++
			}
		}
	}
	return n
}

// Prefetch and PrefetchLookups only read: every table's slots are the
// same bytes after them, for keys present and absent, with fingerprints
// whole and narrowed to two bits (every key then shares its fingerprint
// with others). PrefetchLookups finds what LookupSize finds, and reads
// the first byte of each of the first 4 lines of what at gives it.
func TestKeydir_PrefetchesChangeNothing(t *testing.T) {
	for _, mask := range []uint64{^uint64(0), 3} {
		k := New(0)
		k.SetHashMaskForTest(mask)
		var keys [][]byte
		for i := range 3000 {
			keys = append(keys, fmt.Appendf(nil, "key:%d", i))
			if i%3 != 0 {
				k.Put(keys[i], MakeLoc(1, uint32(i), 0), 10)
			}
		}
		snapshot := func() (out [][]byte) {
			for _, tb := range k.dir {
				out = append(out, slices.Clone(tb.slots))
			}
			return out
		}
		before, n := snapshot(), k.Len()
		key := func(i int) []byte { return keys[i] }
		k.Prefetch(len(keys), key)
		// PrefetchLookups hands at the first slot with each key's
		// fingerprint: with whole fingerprints, exactly what LookupSize
		// finds, for the present keys alone.
		seen, calls := map[Loc]uint32{}, 0
		var zero, lines [5 * 64]byte
		for i := range lines {
			lines[i] = byte(i%64) + 7 // 7 at each line's start, more between
		}
		lookups := func(region []byte) byte {
			return k.PrefetchLookups(len(keys), key, func(loc Loc, size uint32) []byte {
				seen[loc] = size
				calls++
				return region
			})
		}
		// The slots read are the same both times: the difference is what
		// was read of the regions, the first byte of each of 4 lines.
		if got, want := lookups(lines[:])-lookups(zero[:]), byte(calls/2*4*7); got != want {
			t.Fatalf("mask %x: PrefetchLookups read %d of the regions, want the first byte of 4 lines of %d (%d)", mask, got, calls/2, want)
		}
		if mask == ^uint64(0) {
			for i, key := range keys {
				loc, size, _, ok := k.LookupSize(key)
				got, called := seen[loc]
				if ok != called || ok && got != size {
					t.Fatalf("mask %x: %s: LookupSize %v %d %v, PrefetchLookups %v %d", mask, key, loc, size, ok, called, got)
				}
				if ok != (i%3 != 0) {
					t.Fatalf("mask %x: LookupSize(%s) found %v", mask, key, ok)
				}
			}
		} else if calls/2 < n || calls/2 > len(keys) {
			// Every present key's fingerprint is found; an absent one's may
			// be a stranger's.
			t.Fatalf("mask %x: PrefetchLookups found %d of %d keys, %d present", mask, calls/2, len(keys), n)
		}
		after := snapshot()
		if k.Len() != n || len(after) != len(before) {
			t.Fatalf("mask %x: Len %d (was %d), %d tables (were %d)", mask, k.Len(), n, len(after), len(before))
		}
		for i := range before {
			if !bytes.Equal(before[i], after[i]) {
				t.Fatalf("mask %x: table %d changed", mask, i)
			}
		}
		for i, key := range keys {
			if _, ok := k.Get(key); ok != (i%3 != 0) {
				t.Fatalf("mask %x: Get(%s) found %v", mask, key, ok)
			}
		}
	}
}
