package command

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// The overlay iterator walks the engine's keys with the transaction's own
// writes applied, in key order, forward and in reverse: checked against a
// model over random writes, deletes, expiring keys and FLUSHDB.
func TestIterate_MergesTheOverlayInKeyOrderBothWays(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for round := range 30 {
		db := openDB(t)
		now := int64(1_000_000)
		model := map[string]string{} // live engine key -> value
		key := func() []byte { return keyspace.MetaKey(r.IntN(2), fmt.Appendf(nil, "k%02d", r.IntN(40))) }
		var b engine.Batch
		for range 30 {
			k := key()
			v := fmt.Sprint(r.IntN(100))
			exp := int64(0)
			if r.IntN(5) == 0 {
				exp = now - 1 // stored, but expired at now
				delete(model, string(k))
			} else {
				model[string(k)] = v
			}
			b.PutWithExpiry(k, []byte(v), exp)
		}
		if err := db.Write(&b); err != nil {
			t.Fatal(err)
		}
		c := &ctx{db: db, now: now, tx: newOverlay(), index: 1}
		for range 20 {
			k := key()
			switch r.IntN(5) {
			case 0:
				c.delRaw(k)
				delete(model, string(k))
			case 1:
				c.putRaw(k, []byte("exp"), now) // expires at now: gone
				delete(model, string(k))
			case 2:
				if round%3 == 0 {
					d := r.IntN(2)
					c.dbi = d
					c.flush(d)
					for mk := range model {
						if mk[0] == keyspace.DBPrefix(d)[0] {
							delete(model, mk)
						}
					}
				}
			default:
				v := fmt.Sprint("tx", r.IntN(100))
				c.putRaw(k, []byte(v), 0)
				model[string(k)] = v
			}
		}
		for _, reverse := range []bool{false, true} {
			for d := range 2 {
				lower, upper := keyspace.DBPrefix(d), keyspace.PrefixEnd(keyspace.DBPrefix(d))
				var want []string
				for mk, v := range model {
					if mk[0] == lower[0] {
						want = append(want, mk+"="+v)
					}
				}
				slices.Sort(want)
				if reverse {
					slices.Reverse(want)
				}
				var got []string
				err := db.View(now, func(v *engine.View) error {
					c.view = v
					defer func() { c.view = nil }()
					it := c.iterate(lower, upper, reverse)
					for ; it.Valid(); it.Next() {
						got = append(got, string(it.Key())+"="+string(it.Value()))
					}
					it.close()
					return c.fatal
				})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("round %d db %d reverse %v:\n got %q\nwant %q", round, d, reverse, got, want)
				}
			}
		}
	}
}
