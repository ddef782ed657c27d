package engine

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine/record"
)

// modelRec is what the model holds for a key.
type modelRec struct {
	val string
	exp int64
	seq uint64
}

// modelIter is the Iterator's model: an index into the sorted keys the
// Iterator should see, -1 before the first and len after the last.
type modelIter struct {
	keys       []string
	i          int
	positioned bool
}

func (m *modelIter) valid() bool { return m.positioned && m.i >= 0 && m.i < len(m.keys) }

func (m *modelIter) seekGE(k string) bool {
	m.i, _ = slices.BinarySearch(m.keys, k)
	m.positioned = true
	return m.valid()
}

func (m *modelIter) seekLT(k string) bool {
	i, _ := slices.BinarySearch(m.keys, k)
	m.i, m.positioned = i-1, true
	return m.valid()
}

func (m *modelIter) last() bool {
	m.i, m.positioned = len(m.keys)-1, true
	return m.valid()
}

func (m *modelIter) next() bool {
	switch {
	case !m.positioned || m.i < 0:
		return m.seekGE("")
	case m.i < len(m.keys):
		m.i++
	}
	return m.valid()
}

func (m *modelIter) prev() bool {
	switch {
	case !m.positioned || m.i >= len(m.keys):
		return m.last()
	case m.i >= 0:
		m.i--
	}
	return m.valid()
}

// iterKey draws from a small space of keys made of 0x00, 0xff and two
// letters, so that one key is often put, deleted and put again.
func iterKey(r *rand.Rand) string {
	alpha := []byte{0x00, 'a', 'b', 0xff}
	b := make([]byte, r.IntN(5))
	for i := range b {
		b[i] = alpha[r.IntN(len(alpha))]
	}
	return string(b)
}

func iterBound(r *rand.Rand) []byte {
	if r.IntN(3) == 0 {
		return nil
	}
	return []byte(iterKey(r))
}

func TestIter_MatchesAModelThroughRandomWrites(t *testing.T) {
	clock := &fakeClock{now: time.UnixMilli(1_000_000)}
	db, _ := openTest(t, &Options{
		SegmentSize: 4096, Sync: SyncNo, Now: clock.Now,
		MergeNow: func() time.Time { return time.UnixMilli(0) }, // merges drop no expired key the model still holds
	})
	model := map[string]modelRec{}
	r := rand.New(rand.NewPCG(11, 12))
	var seq uint64
	var b Batch
	for step := range 6000 {
		now := clock.now.UnixMilli()
		b.Reset()
		seq++
		b.SetSeq(seq)
		inBatch := map[string]bool{}
		for range 1 + r.IntN(3)*r.IntN(2) { // mostly one op, some batches
			k := iterKey(r)
			if inBatch[k] {
				continue
			}
			inBatch[k] = true
			switch n := r.IntN(10); {
			case n < 3:
				b.Delete([]byte(k))
				delete(model, k)
			case n < 5:
				exp := now + int64(r.IntN(12)) - 2
				v := fmt.Sprintf("x%d", step)
				b.PutWithExpiry([]byte(k), []byte(v), exp)
				model[k] = modelRec{v, exp, seq}
			default:
				v := strings.Repeat("v", r.IntN(3)) + fmt.Sprint(step)
				if r.IntN(10) == 0 {
					v = ""
				}
				b.Put([]byte(k), []byte(v))
				model[k] = modelRec{v, 0, seq}
			}
		}
		if err := db.Write(&b); err != nil {
			t.Fatal(err)
		}
		switch r.IntN(40) {
		case 0:
			clock.now = clock.now.Add(time.Duration(r.IntN(4)) * time.Millisecond)
		case 1: // Scan syncs the ordered index
			if _, _, err := db.Scan(ScanOptions{Limit: 1}); err != nil {
				t.Fatal(err)
			}
		case 2:
			if step%10 == 0 {
				if err := db.Merge(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if step%15 == 0 {
			checkIterAgainstModel(t, db, r, model, clock.now.UnixMilli()+int64(r.IntN(7))-3, fmt.Sprintf("step %d", step))
		}
	}
}

// checkIterAgainstModel makes an Iterator with random options in a View at
// now and drives it and the model through the same random moves.
func checkIterAgainstModel(t *testing.T, db *DB, r *rand.Rand, model map[string]modelRec, now int64, what string) {
	t.Helper()
	o := IterOptions{Lower: iterBound(r), Upper: iterBound(r), KeysOnly: r.IntN(3) == 0, IncludeExpired: r.IntN(4) == 0}
	if r.IntN(3) == 0 {
		o.Prefix = []byte(iterKey(r))
	}
	m := &modelIter{}
	for k, rec := range model {
		if (o.Lower == nil || k >= string(o.Lower)) && (o.Upper == nil || k < string(o.Upper)) &&
			strings.HasPrefix(k, string(o.Prefix)) && (o.IncludeExpired || rec.exp == 0 || rec.exp > now) {
			m.keys = append(m.keys, k)
		}
	}
	slices.Sort(m.keys)
	what = fmt.Sprintf("%s, now %d, %s", what, now, optionsString(o))
	err := db.View(now, func(v *View) error {
		it := v.Iter(o)
		defer it.Close()
		var trail []string
		for range 50 {
			var got, want bool
			switch r.IntN(6) {
			case 0:
				got, want = it.First(), m.seekGE("")
				trail = append(trail, "First")
			case 1:
				got, want = it.Last(), m.last()
				trail = append(trail, "Last")
			case 2:
				k := iterKey(r)
				got, want = it.SeekGE([]byte(k)), m.seekGE(k)
				trail = append(trail, fmt.Sprintf("SeekGE(%q)", k))
			case 3:
				k := iterKey(r)
				got, want = it.SeekLT([]byte(k)), m.seekLT(k)
				trail = append(trail, fmt.Sprintf("SeekLT(%q)", k))
			case 4:
				got, want = it.Next(), m.next()
				trail = append(trail, "Next")
			case 5:
				got, want = it.Prev(), m.prev()
				trail = append(trail, "Prev")
			}
			if got != want || it.Valid() != want {
				t.Fatalf("%s: after %v: iterator %v (valid %v, at %q, err %v), model %v", what, trail, got, it.Valid(), it.Key(), it.Err(), want)
			}
			if !want {
				if it.Key() != nil {
					t.Fatalf("%s: after %v: invalid iterator has key %q", what, trail, it.Key())
				}
				continue
			}
			k := m.keys[m.i]
			rec := model[k]
			if string(it.Key()) != k {
				t.Fatalf("%s: after %v: iterator at %q, model at %q", what, trail, it.Key(), k)
			}
			if r.IntN(2) == 0 {
				meta, err := it.Meta()
				if err != nil || meta != (Meta{ValueLen: len(rec.val), ExpireAt: rec.exp, Seq: rec.seq}) {
					t.Fatalf("%s: after %v: Meta of %q = %+v, %v; model %+v", what, trail, k, meta, err, rec)
				}
			}
			for range r.IntN(3) {
				val, err := it.Value()
				if o.KeysOnly {
					if err == nil {
						t.Fatalf("%s: Value of a KeysOnly iterator succeeded", what)
					}
				} else if err != nil || string(val) != rec.val {
					t.Fatalf("%s: after %v: Value of %q = %q, %v; model %q", what, trail, k, val, err, rec.val)
				}
			}
		}
		return it.Err()
	})
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func optionsString(o IterOptions) string {
	return fmt.Sprintf("options{Lower %q, Upper %q, Prefix %q, KeysOnly %v, IncludeExpired %v}", o.Lower, o.Upper, o.Prefix, o.KeysOnly, o.IncludeExpired)
}

// keysOf runs through an Iterator forward, or backward, and returns the keys.
func keysOf(t *testing.T, it *Iterator, reverse bool) []string {
	t.Helper()
	var out []string
	move := it.Next
	ok := it.First()
	if reverse {
		move, ok = it.Prev, it.Last()
	}
	for ; ok; ok = move() {
		out = append(out, string(it.Key()))
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestIter_ReverseSeesKeysWrittenSinceLastSync(t *testing.T) {
	db, _ := openTest(t, nil)
	for _, k := range []string{"a", "c", "e"} {
		mustPut(t, db, k, k)
	}
	if _, _, err := db.Scan(ScanOptions{}); err != nil { // sorts them into the tree
		t.Fatal(err)
	}
	mustPut(t, db, "d", "d") // pending
	mustPut(t, db, "b", "b")
	db.Delete([]byte("c")) // in the tree, dead
	mustPut(t, db, "c", "c2")
	db.Delete([]byte("e"))
	db.View(0, func(v *View) error {
		it := v.Iter(IterOptions{})
		defer it.Close()
		if got := keysOf(t, it, true); !slices.Equal(got, []string{"d", "c", "b", "a"}) {
			t.Errorf("reverse: %q", got)
		}
		if got := keysOf(t, it, false); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
			t.Errorf("forward: %q", got)
		}
		if !it.SeekLT([]byte("c")) || string(it.Key()) != "b" || !it.Next() || string(it.Key()) != "c" {
			t.Errorf("SeekLT(c) then Next: at %q", it.Key())
		}
		if val, err := it.Value(); err != nil || string(val) != "c2" {
			t.Errorf("Value of c = %q, %v", val, err)
		}
		return nil
	})
}

func TestIter_BoundsAndPrefixesHoldAt0x00And0xFF(t *testing.T) {
	db, _ := openTest(t, nil)
	all := []string{"", "\x00", "\x00\x00", "\x00\xff", "a", "a\x00", "a\xff", "a\xff\xff", "b", "\xff", "\xff\x00", "\xff\xff", "\xff\xff\xff"}
	for i, k := range all {
		mustPut(t, db, k, k)
		if i == 6 {
			db.Scan(ScanOptions{}) // half in the tree, half pending
		}
	}
	for _, c := range []struct {
		o    IterOptions
		want []string
	}{
		{IterOptions{}, all},
		{IterOptions{Prefix: []byte("\xff")}, []string{"\xff", "\xff\x00", "\xff\xff", "\xff\xff\xff"}},
		{IterOptions{Prefix: []byte("\xff\xff")}, []string{"\xff\xff", "\xff\xff\xff"}},
		{IterOptions{Prefix: []byte("a\xff")}, []string{"a\xff", "a\xff\xff"}},
		{IterOptions{Prefix: []byte("\x00")}, []string{"\x00", "\x00\x00", "\x00\xff"}},
		{IterOptions{Lower: []byte("\x00"), Upper: []byte("\x00\xff")}, []string{"\x00", "\x00\x00"}},
		{IterOptions{Upper: []byte("\x00")}, []string{""}},
		{IterOptions{Lower: []byte("a\xff\xff")}, []string{"a\xff\xff", "b", "\xff", "\xff\x00", "\xff\xff", "\xff\xff\xff"}},
		{IterOptions{Prefix: []byte("a"), Lower: []byte("a\x01"), Upper: []byte("a\xff\xff")}, []string{"a\xff"}},
		{IterOptions{Prefix: []byte("a"), Upper: []byte("a")}, nil},
		{IterOptions{Lower: []byte("b"), Upper: []byte("a")}, nil},
	} {
		db.View(0, func(v *View) error {
			fwd, rev := keysOf(t, v.Iter(c.o), false), keysOf(t, v.Iter(c.o), true)
			slices.Reverse(rev)
			if !slices.Equal(fwd, c.want) || !slices.Equal(rev, c.want) {
				t.Errorf("%s: forward %q, reverse reversed %q, want %q", optionsString(c.o), fwd, rev, c.want)
			}
			return nil
		})
	}
}

func TestIter_SkipsKeysExpiredAtTheViewsTime(t *testing.T) {
	clock := &fakeClock{now: time.UnixMilli(5000)}
	db, _ := openTest(t, &Options{SegmentSize: 16 << 10, Sync: SyncNo, Now: clock.Now})
	db.PutWithExpiry([]byte("a"), []byte("1"), 6000)
	db.Put([]byte("b"), []byte("2"))
	db.PutWithExpiry([]byte("c"), []byte("3"), 7000)
	for _, c := range []struct {
		now  int64
		o    IterOptions
		want []string
	}{
		{5999, IterOptions{}, []string{"a", "b", "c"}},
		{6000, IterOptions{}, []string{"b", "c"}}, // expired at exactly its time, as Get
		{6000, IterOptions{KeysOnly: true}, []string{"b", "c"}},
		{7000, IterOptions{}, []string{"b"}},
		{7000, IterOptions{IncludeExpired: true}, []string{"a", "b", "c"}},
	} {
		db.View(c.now, func(v *View) error {
			for _, rev := range []bool{false, true} {
				got := keysOf(t, v.Iter(c.o), rev)
				if rev {
					slices.Reverse(got)
				}
				if !slices.Equal(got, c.want) {
					t.Errorf("at %d with %+v (reverse %v): %q, want %q", c.now, c.o, rev, got, c.want)
				}
				for _, k := range []string{"a", "b", "c"} { // the same answer as Get
					_, _, err := v.Get([]byte(k))
					if (err == nil) != slices.Contains(got, k) && !c.o.IncludeExpired {
						t.Errorf("at %d: Get(%s) = %v, iterator has it: %v", c.now, k, err, slices.Contains(got, k))
					}
				}
			}
			return nil
		})
	}
}

// flipValueByte damages the first byte of key's value in the active
// segment, as a bad disk would.
func flipValueByte(t *testing.T, db *DB, key string) {
	t.Helper()
	db.mu.Lock()
	defer db.mu.Unlock()
	loc, ok := db.kd.Get([]byte(key))
	if !ok || db.segs[loc.Segment()] != db.active {
		t.Fatalf("%s is not in the active segment", key)
	}
	xorActive(t, db, int(loc.Offset())+record.HeaderSize+len(key), 0x40)
}

func TestIter_CorruptRecordIsAnErrorNeverData(t *testing.T) {
	db, _ := openTest(t, nil)
	mustPut(t, db, "a", "fine")
	mustPut(t, db, "b", "damaged")
	db.PutWithExpiry([]byte("c"), []byte("damaged"), time.Now().Add(time.Hour).UnixMilli())
	mustPut(t, db, "d", "fine")
	flipValueByte(t, db, "b")
	flipValueByte(t, db, "c")
	db.View(0, func(v *View) error {
		it := v.Iter(IterOptions{})
		if !it.SeekGE([]byte("b")) { // b has no expiry: nothing read yet
			t.Fatalf("SeekGE(b): %v", it.Err())
		}
		if val, err := it.Value(); !errors.Is(err, ErrCorruption) || val != nil {
			t.Fatalf("Value of b = %q, %v; want ErrCorruption", val, err)
		}
		if !errors.Is(it.Err(), ErrCorruption) || it.Valid() || it.Key() != nil || it.Next() || it.First() {
			t.Fatalf("after a corrupt Value: Err %v, Valid %v, key %q", it.Err(), it.Valid(), it.Key())
		}
		if err := it.Close(); !errors.Is(err, ErrCorruption) {
			t.Fatalf("Close = %v, want ErrCorruption", err)
		}

		// c expires, so a move reads its value to judge it.
		it = v.Iter(IterOptions{})
		if !it.Last() || it.Prev() || !errors.Is(it.Err(), ErrCorruption) {
			t.Fatalf("Last, then Prev onto a damaged expiring record: valid %v, err %v", it.Valid(), it.Err())
		}
		it = v.Iter(IterOptions{Lower: []byte("c")})
		if it.First() || !errors.Is(it.Err(), ErrCorruption) {
			t.Fatalf("First onto a damaged expiring record: valid %v, key %q, err %v", it.Valid(), it.Key(), it.Err())
		}

		// KeysOnly reads only the header, which is whole.
		it = v.Iter(IterOptions{KeysOnly: true})
		if got := keysOf(t, it, false); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
			t.Fatalf("KeysOnly: %q", got)
		}
		if !it.SeekGE([]byte("c")) {
			t.Fatal("SeekGE(c)")
		}
		if m, err := it.Meta(); err != nil || m.ValueLen != len("damaged") {
			t.Fatalf("Meta of c = %+v, %v", m, err)
		}
		if _, err := it.Value(); err == nil || errors.Is(err, ErrCorruption) || it.Err() != nil {
			t.Fatalf("Value of a KeysOnly iterator: %v (Err %v); want a usage error", err, it.Err())
		}
		return nil
	})
}

func TestIter_UsedAfterItsViewReturnedFailsWithErrClosed(t *testing.T) {
	db, _ := openTest(t, nil)
	mustPut(t, db, "a", "1")
	var it *Iterator
	db.View(0, func(v *View) error {
		it = v.Iter(IterOptions{})
		if !it.First() {
			t.Fatal("First")
		}
		return nil
	})
	mustPut(t, db, "b", "2")
	if it.Next() || it.Valid() || !errors.Is(it.Err(), ErrClosed) {
		t.Fatalf("Next after the View: valid %v, err %v", it.Valid(), it.Err())
	}
	if _, err := it.Value(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Value after the View: %v", err)
	}
	var late *View
	db.View(0, func(v *View) error { late = v; return nil })
	it = late.Iter(IterOptions{})
	if it.First() || !errors.Is(it.Err(), ErrClosed) || !errors.Is(it.Close(), ErrClosed) {
		t.Fatalf("an Iterator made after its View: err %v", it.Err())
	}
}

// TestIter_ViewsSeeWholeBatchesBesideWriters runs writers that each move a
// group of keys to fresh names (new keys, unsorted in the index until the
// next sync) in one batch, and readers that walk the groups forward and
// back in Views, several goroutines to a View: every walk must see one
// whole generation.
func TestIter_ViewsSeeWholeBatchesBesideWriters(t *testing.T) {
	const writers, groupSize, gens = 2, 8, 300
	db, _ := openTest(t, &Options{SegmentSize: 64 << 10, Sync: SyncNo})
	name := func(w, gen, m int) []byte { return fmt.Appendf(nil, "g%d/%06d/%02d", w, gen, m) }
	for w := range writers {
		var b Batch
		for m := range groupSize {
			b.Put(name(w, 0, m), []byte("0"))
		}
		db.Write(&b)
	}
	var done atomic.Bool
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for gen := 1; gen <= gens; gen++ {
				var b Batch
				for m := range groupSize {
					b.Delete(name(w, gen-1, m))
					b.Put(name(w, gen, m), []byte(fmt.Sprint(gen)))
				}
				if err := db.Write(&b); err != nil {
					t.Error(err)
					return
				}
				if gen%50 == 0 { // fold the pending keys in now and then
					db.Scan(ScanOptions{Limit: 1})
				}
			}
		})
	}
	// walk checks one group through one Iterator, forward or back.
	walk := func(v *View, w int, reverse bool) error {
		it := v.Iter(IterOptions{Prefix: fmt.Appendf(nil, "g%d/", w)})
		defer it.Close()
		var gen string
		n := 0
		ok := it.First()
		if reverse {
			ok = it.Last()
		}
		for ; ok; n++ {
			val, err := it.Value()
			if err != nil {
				return err
			}
			if n == 0 {
				gen = string(val)
			} else if string(val) != gen {
				return fmt.Errorf("group %d: generations %s and %s in one View", w, gen, val)
			}
			if !bytes.HasSuffix(it.Key(), fmt.Appendf(nil, "/%06s/%02d", gen, map[bool]int{false: n, true: groupSize - 1 - n}[reverse])) {
				return fmt.Errorf("group %d gen %s: key %d is %q", w, gen, n, it.Key())
			}
			if reverse {
				ok = it.Prev()
			} else {
				ok = it.Next()
			}
		}
		if n != groupSize {
			return fmt.Errorf("group %d: %d keys in one View, want %d", w, n, groupSize)
		}
		return it.Err()
	}
	var readers sync.WaitGroup
	for rd := range 2 {
		readers.Go(func() {
			for i := 0; !done.Load(); i++ {
				err := db.View(0, func(v *View) error {
					errs := make(chan error, writers)
					var in sync.WaitGroup
					for w := range writers { // one View, several goroutines
						in.Go(func() { errs <- walk(v, w, (i+rd+w)%2 == 1) })
					}
					in.Wait()
					close(errs)
					for err := range errs {
						if err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	done.Store(true)
	readers.Wait()
}

// BenchmarkIter100 reads 100 keys with their values from a random seek in
// the million-key fixture, forward (SeekGE, Next) and back (SeekLT, Prev),
// one View per op; keys-only too.
func BenchmarkIter100(b *testing.B) {
	db := openFixture(b, benchKeys, &Options{Sync: SyncNo})
	for _, c := range []struct {
		name     string
		reverse  bool
		keysOnly bool
	}{{"forward", false, false}, {"reverse", true, false}, {"forward/keys-only", false, true}, {"reverse/keys-only", true, true}} {
		b.Run(c.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			key := make([]byte, 0, 16)
			b.ReportAllocs()
			for b.Loop() {
				key = appendBenchKey(key[:0], 100+r.IntN(benchKeys-200))
				err := db.View(0, func(v *View) error {
					it := v.Iter(IterOptions{KeysOnly: c.keysOnly})
					ok := it.SeekGE(key)
					if c.reverse {
						ok = it.SeekLT(key)
					}
					n := 0
					for ; ok && n < 100; n++ {
						if !c.keysOnly {
							if v, err := it.Value(); err != nil || len(v) != benchValueLen {
								return fmt.Errorf("value: %v", err)
							}
						}
						if c.reverse {
							ok = it.Prev()
						} else {
							ok = it.Next()
						}
					}
					if n != 100 {
						return fmt.Errorf("%d keys", n)
					}
					return it.Close()
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIterNew is the cost of making an Iterator and taking its first
// key in the million-key fixture, with nothing pending in the ordered index
// and with just short of its bound (keydir's syncAfter, 32768) of new keys
// written since it was last sorted; unbounded and for a prefix.
func BenchmarkIterNew(b *testing.B) {
	for _, pending := range []int{0, 32767} {
		db := openFixtureCopy(b, benchKeys, &Options{Sync: SyncNo})
		r := rand.New(rand.NewPCG(3, 4))
		for range pending { // random new keys: past the fixture's
			if err := db.Put(appendBenchKey(nil, benchKeys+r.IntN(1e11)), benchValue); err != nil {
				b.Fatal(err)
			}
		}
		for _, o := range []struct {
			name string
			o    IterOptions
		}{{"unbounded", IterOptions{}}, {"prefix", IterOptions{Prefix: []byte("key:00000001")}}} {
			b.Run(fmt.Sprintf("pending=%d/%s", pending, o.name), func(b *testing.B) {
				b.ReportAllocs()
				db.View(0, func(v *View) error {
					for b.Loop() {
						it := v.Iter(o.o)
						if !it.First() {
							b.Fatal("empty")
						}
						it.Close()
					}
					return nil
				})
			})
		}
	}
}

// Inside ViewIndexed, Rank and KeyAt agree with an Iterator's walk;
// inside a plain View they decline.
func TestView_RankAndKeyAtAgreeWithTheIterator(t *testing.T) {
	db, _ := openTest(t, nil)
	for i := range 2000 {
		if err := db.Put([]byte(fmt.Sprintf("a%04d", i*3)), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 500 {
		if err := db.Delete([]byte(fmt.Sprintf("a%04d", i*12))); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Put([]byte("b"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := db.View(0, func(v *View) error {
		if _, ok := v.Rank([]byte("a"), []byte("a1")); ok {
			t.Error("Rank answered in a plain View")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	lower := []byte("a0100")
	err := db.ViewIndexed(0, func(v *View) error {
		it := v.Iter(IterOptions{Lower: lower, Upper: []byte("b")})
		defer it.Close()
		i := 0
		for ok := it.First(); ok; ok = it.Next() {
			if n, ok := v.Rank(lower, it.Key()); !ok || n != i {
				t.Fatalf("Rank(%q) = %d %v, want %d", it.Key(), n, ok, i)
			}
			if k, found, ok := v.KeyAt(lower, i); !ok || !found || string(k) != string(it.Key()) {
				t.Fatalf("KeyAt(%d) = %q %v %v, want %q", i, k, found, ok, it.Key())
			}
			i++
		}
		if k, found, _ := v.KeyAt(lower, i); !found || string(k) != "b" {
			t.Fatalf("KeyAt past the range = %q %v, want the next key b", k, found)
		}
		if _, found, _ := v.KeyAt(lower, i+1); found {
			t.Fatal("KeyAt past the last key found one")
		}
		return it.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// MayExpire says, from the index alone, which keys carry an expiry time:
// the expiry sweep reads no header for the others. It follows a key that
// gains and loses a TTL, and survives a merge and a reopen (which rebuild
// the index from hint files).
func TestIter_MayExpireFollowsTheRecordsExpiry(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, &Options{Sync: SyncNo})
	if err != nil {
		t.Fatal(err)
	}
	far := time.Now().Add(time.Hour).UnixMilli()
	mustPut(t, db, "plain", "v")
	if err := db.PutWithExpiry([]byte("ttl"), []byte("v"), far); err != nil {
		t.Fatal(err)
	}
	if err := db.PutWithExpiry([]byte("gone-ttl"), []byte("v"), far); err != nil {
		t.Fatal(err)
	}
	mustPut(t, db, "gone-ttl", "v2") // PERSIST-like: a new record without one
	check := func(when string) {
		t.Helper()
		got := map[string]bool{}
		db.View(0, func(v *View) error {
			it := v.Iter(IterOptions{KeysOnly: true, IncludeExpired: true})
			defer it.Close()
			for ok := it.First(); ok; ok = it.Next() {
				m, err := it.Meta()
				if err != nil {
					t.Fatal(err)
				}
				if it.MayExpire() != (m.ExpireAt != 0) {
					t.Errorf("%s: %q MayExpire %v, header's ExpireAt %d", when, it.Key(), it.MayExpire(), m.ExpireAt)
				}
				got[string(it.Key())] = it.MayExpire()
			}
			return nil
		})
		if want := map[string]bool{"plain": false, "ttl": true, "gone-ttl": false}; !maps.Equal(got, want) {
			t.Errorf("%s: %v, want %v", when, got, want)
		}
	}
	check("written")
	if err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	check("merged")
	db.Close()
	if db, err = Open(dir, &Options{Sync: SyncNo}); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	check("reopened")
}
