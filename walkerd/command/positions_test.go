package command

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Commands that read by position (FlagByPosition) answer the same whether
// the engine finds positions (an indexed View, nothing of the set in the
// batch's overlay) or the set was written earlier in the same batch, so
// that the overlay's writes are counted on top or walked.
func TestPositions_RankCountAndRangeAgreeWithAModel(t *testing.T) {
	a := newApplier(t)
	type zm struct {
		score  int
		member string
	}
	model := map[string]int{}
	sorted := func() []zm {
		var out []zm
		for m, s := range model {
			out = append(out, zm{s, m})
		}
		slices.SortFunc(out, func(x, y zm) int {
			if x.score != y.score {
				return x.score - y.score
			}
			return strings.Compare(x.member, y.member)
		})
		return out
	}
	rng := rand.New(rand.NewPCG(3, 4))
	args := []string{"ZADD", "z"}
	for i := range 3000 {
		m, s := "m"+strconv.Itoa(i), rng.IntN(500)
		model[m] = s
		args = append(args, strconv.Itoa(s), m)
	}
	a.do(args...)

	check := func(t *testing.T, run func(args ...string) string, label string) {
		t.Helper()
		zs := sorted()
		for range 40 {
			i := rng.IntN(len(zs))
			if got, want := run("ZRANK", "z", zs[i].member), fmt.Sprintf(":%d\r\n", i); got != want {
				t.Fatalf("%s: ZRANK %s = %q, want %q", label, zs[i].member, got, want)
			}
			if got, want := run("ZREVRANK", "z", zs[i].member), fmt.Sprintf(":%d\r\n", len(zs)-1-i); got != want {
				t.Fatalf("%s: ZREVRANK = %q, want %q", label, got, want)
			}
			lo, hi := rng.IntN(500), rng.IntN(500)
			n := 0
			for _, e := range zs {
				if e.score >= lo && e.score <= hi {
					n++
				}
			}
			if got, want := run("ZCOUNT", "z", strconv.Itoa(lo), strconv.Itoa(hi)), fmt.Sprintf(":%d\r\n", n); got != want {
				t.Fatalf("%s: ZCOUNT %d %d = %q, want %q", label, lo, hi, got, want)
			}
			start := rng.IntN(len(zs))
			want := fmt.Sprintf("*3\r\n$%d\r\n%s\r\n", len(zs[start].member), zs[start].member)
			if start+1 < len(zs) {
				want += fmt.Sprintf("$%d\r\n%s\r\n", len(zs[start+1].member), zs[start+1].member)
			}
			if start+2 < len(zs) {
				want += fmt.Sprintf("$%d\r\n%s\r\n", len(zs[start+2].member), zs[start+2].member)
			}
			want = strings.Replace(want, "*3", fmt.Sprintf("*%d", min(3, len(zs)-start)), 1)
			if got := run("ZRANGE", "z", strconv.Itoa(start), strconv.Itoa(start+2)); got != want {
				t.Fatalf("%s: ZRANGE %d %d = %q, want %q", label, start, start+2, got, want)
			}
		}
	}
	check(t, a.read, "indexed read")
	check(t, a.do, "indexed apply")

	// One batch: changes to the set, then reads of it, before any commit.
	ap := NewApplier(a.db)
	in := func(args ...string) string {
		a.index++
		res, err := ap.Apply(a.index, &Entry{NowMs: a.now, Cmds: [][][]byte{cmd(args...)}})
		if err != nil {
			t.Fatal(err)
		}
		return render(res, false)
	}
	for i := range 200 {
		m := "m" + strconv.Itoa(rng.IntN(3000))
		if i%3 == 0 {
			in("ZREM", "z", m)
			delete(model, m)
			continue
		}
		m = "n" + strconv.Itoa(i)
		s := rng.IntN(500)
		in("ZADD", "z", strconv.Itoa(s), m)
		model[m] = s
	}
	check(t, in, "overlay")
	if err := ap.Commit(); err != nil {
		t.Fatal(err)
	}
	check(t, a.read, "after commit")
}

// Every change to a collection moves its WATCH version, as Redis's
// signalModifiedKey does for every write, an overwrite of one field
// included; reads and writes that change nothing leave it.
func TestCollections_EveryChangeMovesTheWatchVersion(t *testing.T) {
	a := newApplier(t)
	a.do("HSET", "h", "f", "1")
	a.do("SADD", "s", "m")
	a.do("ZADD", "z", "1", "m")
	a.do("RPUSH", "l", "a", "b")
	for _, tc := range []struct {
		key     string
		args    []string
		changes bool
	}{
		{"h", []string{"HSET", "h", "f", "2"}, true},
		{"h", []string{"HINCRBY", "h", "n", "1"}, true},
		{"h", []string{"HDEL", "h", "nofield"}, false},
		{"h", []string{"HGET", "h", "f"}, false},
		{"s", []string{"SADD", "s", "m"}, false},
		{"s", []string{"SADD", "s", "m2"}, true},
		{"s", []string{"SREM", "s", "m2"}, true},
		{"z", []string{"ZADD", "z", "2", "m"}, true},
		{"z", []string{"ZADD", "z", "2", "m"}, false},
		{"z", []string{"ZINCRBY", "z", "0", "m"}, false}, // no change: t_zset.c signals nothing
		{"l", []string{"LSET", "l", "0", "x"}, true},
	} {
		before, _ := Versions(a.db, 0, a.now, cmd(tc.key))
		a.do(tc.args...)
		after, _ := Versions(a.db, 0, a.now, cmd(tc.key))
		if moved := before[0] != after[0]; moved != tc.changes {
			t.Errorf("%q: version moved %v, want %v", tc.args, moved, tc.changes)
		}
	}
}
