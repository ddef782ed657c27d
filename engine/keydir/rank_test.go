package keydir

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// Rank and At agree with a sorted model after Sync, through puts and
// deletes (deleted keys put again included); before Sync, Synced says so.
func TestKeydir_RankAndAtMatchASortedModel(t *testing.T) {
	k := New(0)
	live := map[string]bool{}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		for range 500 {
			key := fmt.Sprintf("k%05d", rng.IntN(3000))
			if rng.IntN(3) == 0 {
				k.Delete([]byte(key))
				delete(live, key)
			} else {
				k.Put([]byte(key), MakeLoc(1, 0, 0), 1)
				live[key] = true
			}
		}
		if k.Synced() && len(live) > 0 && round == 0 {
			t.Fatal("Synced after writes with no Sync")
		}
		k.Sync()
		if !k.Synced() {
			t.Fatal("not Synced after Sync")
		}
		model := make([]string, 0, len(live))
		for key := range live {
			model = append(model, key)
		}
		slices.Sort(model)
		for i, key := range model {
			if got, ok := k.At(i); !ok || got != key {
				t.Fatalf("round %d: At(%d) = %q %v, want %q", round, i, got, ok, key)
			}
			if r := k.Rank([]byte(key)); r != i {
				t.Fatalf("round %d: Rank(%q) = %d, want %d", round, key, r, i)
			}
		}
		probe := fmt.Sprintf("k%05d~", rng.IntN(3000)) // between keys
		want, _ := slices.BinarySearch(model, probe)
		if r := k.Rank([]byte(probe)); r != want {
			t.Fatalf("Rank(%q) = %d, want %d", probe, r, want)
		}
		if _, ok := k.At(len(model)); ok {
			t.Fatal("At past the end found a key")
		}
		if _, ok := k.At(-1); ok {
			t.Fatal("At(-1) found a key")
		}
	}
}
