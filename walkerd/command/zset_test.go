package command

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/internal/resp"
)

// zApply applies one command as its own entry and returns its RESP2
// reply and its touches as "key:event" words.
func zApply(t testing.TB, a *applier, args ...string) (string, string) {
	t.Helper()
	a.index++
	res, err := ApplyEntry(a.db, a.index, &Entry{NowMs: a.now, Cmds: [][][]byte{cmd(args...)}})
	if err != nil {
		t.Fatal(err)
	}
	var ev []string
	for _, tc := range res.Touched {
		ev = append(ev, string(tc.Key)+":"+tc.Event)
	}
	return render(res, false), strings.Join(ev, " ")
}

// zResp3 applies one command and renders its reply as a RESP3 client
// gets it.
func zResp3(t testing.TB, a *applier, args ...string) string {
	t.Helper()
	a.index++
	res, err := ApplyEntry(a.db, a.index, &Entry{NowMs: a.now, Cmds: [][][]byte{cmd(args...)}})
	if err != nil {
		t.Fatal(err)
	}
	e := &resp.Encoder{Proto: 3}
	res.Reply().WriteTo(e)
	return string(e.B)
}

// zEnc builds an expected RESP2 reply.
func zEnc(f func(e *resp.Encoder)) string {
	e := &resp.Encoder{Proto: 2}
	f(e)
	return string(e.B)
}

func TestZset_ParseScore(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"1", 1, true}, {"-2.5", -2.5, true}, {"+3", 3, true}, {".5", .5, true}, {"5.", 5, true},
		{"1e3", 1000, true}, {"-1E-2", -0.01, true}, {"+.5e1", 5, true},
		{"inf", math.Inf(1), true}, {"+inf", math.Inf(1), true}, {"-inf", math.Inf(-1), true},
		{"Infinity", math.Inf(1), true}, {"-INFINITY", math.Inf(-1), true},
		{"0x10", 16, true}, {"0X1P3", 8, true}, {"0x.8", .5, true}, {"0x1p-3", .125, true},
		{"1e-310", 1e-310, true}, {"0e500", 0, true}, {"-0", 0, true},
		{"", 0, false}, {" 1", 0, false}, {"1 ", 0, false}, {"1_0", 0, false}, {"0x", 0, false},
		{"1e", 0, false}, {"1e+", 0, false}, {"++1", 0, false}, {"-", 0, false}, {".", 0, false},
		{"nan", 0, false}, {"-nan", 0, false}, {"NaN(1)", 0, false}, {"inff", 0, false},
		{"infinit", 0, false}, {"0x1p", 0, false}, {"1.5.5", 0, false}, {"1e400", 0, false},
		{"-1e400", 0, false}, {"1e-400", 0, false}, {"2e-324", 0, false}, {"0x1p99999", 0, false},
		{"1\x00", 0, false}, {"0b1", 0, false}, {"0o7", 0, false}, {"1,5", 0, false},
	} {
		got, ok := parseZScore([]byte(tc.in))
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("parseZScore(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if f, ok := parseZScore([]byte("-0")); !ok || !math.Signbit(f) {
		t.Errorf("parseZScore(-0) = %v, %v; want -0", f, ok)
	}
}

func TestZset_ParseRangeBound(t *testing.T) {
	for _, tc := range []struct {
		in     string
		want   float64
		ex, ok bool
	}{
		{"1", 1, false, true}, {"(1", 1, true, true}, {"-inf", math.Inf(-1), false, true},
		{"(+inf", math.Inf(1), true, true}, {"", 0, false, true}, {"(", 0, true, true},
		{" 2", 2, false, true}, {"( \t2", 2, true, true}, {"1e400", math.Inf(1), false, true},
		{"1e-400", 0, false, true}, {"0x3", 3, false, true}, {"2\x00junk", 2, false, true},
		{"2 ", 0, false, false}, {" ", 0, false, false}, {"((1", 0, false, false}, {"[1", 0, false, false},
		{"nan", 0, false, false}, {"(nan", 0, false, false}, {"a", 0, false, false},
	} {
		got, ex, ok := zRangeBound([]byte(tc.in))
		if ok != tc.ok || (ok && (got != tc.want || ex != tc.ex)) {
			t.Errorf("zRangeBound(%q) = %v, %v, %v; want %v, %v, %v", tc.in, got, ex, ok, tc.want, tc.ex, tc.ok)
		}
	}
	for _, tc := range []struct {
		in string
		ok bool
	}{{"-", true}, {"+", true}, {"[a", true}, {"(", true}, {"[", true}, {"-\x00x", true},
		{"a", false}, {"", false}, {"+a", false}, {"--", false}} {
		if _, ok := parseZLexItem([]byte(tc.in)); ok != tc.ok {
			t.Errorf("parseZLexItem(%q) ok = %v, want %v", tc.in, ok, tc.ok)
		}
	}
}

// zLayout checks the sorted set at key against want: its metadata count,
// and that its 'm' and 's' elements hold exactly the members and scores
// of want (no stale score index entries). A missing key must have an
// empty want.
func zLayout(t *testing.T, db *engine.DB, key string, want map[string]float64) {
	t.Helper()
	err := db.View(1_700_000_000_000, func(v *engine.View) error {
		raw, _, err := v.Get(keyspace.MetaKey(0, []byte(key)))
		if err != nil {
			if len(want) != 0 {
				t.Fatalf("%s: no metadata (%v), want %d members", key, err, len(want))
			}
			return nil
		}
		m, err := keyspace.DecodeMeta(raw)
		if err != nil {
			t.Fatal(err)
		}
		if m.Type != keyspace.ZSet || m.Count != int64(len(want)) {
			t.Fatalf("%s: meta %v count %d, want zset of %d", key, m.Type, m.Count, len(want))
		}
		p := keyspace.SubPrefix(0, []byte(key), m.Version)
		it := v.Iter(engine.IterOptions{Lower: p, Upper: keyspace.PrefixEnd(p)})
		defer it.Close()
		byMember, byIndex := map[string]float64{}, map[string]float64{}
		var prev []byte
		for ok := it.First(); ok; ok = it.Next() {
			val, err := it.Value()
			if err != nil {
				t.Fatal(err)
			}
			elem := it.Key()[len(p):]
			e, err := keyspace.DecodeElem(keyspace.ZSet, elem, val)
			if err != nil {
				t.Fatalf("%s: element %q: %v", key, elem, err)
			}
			if e.Index {
				if _, dup := byIndex[string(e.Name)]; dup {
					t.Fatalf("%s: two index entries for %q", key, e.Name)
				}
				if prev != nil && bytes.Compare(prev, elem) >= 0 {
					t.Fatalf("%s: index out of order", key)
				}
				prev = slices.Clone(elem)
				byIndex[string(e.Name)] = e.Score
			} else {
				byMember[string(e.Name)] = e.Score
			}
		}
		for name, m := range map[string]map[string]float64{"members": byMember, "index": byIndex} {
			if len(m) != len(want) {
				t.Fatalf("%s: %d %s, want %d: %v vs %v", key, len(m), name, len(want), m, want)
			}
			for k, s := range want {
				if got, ok := m[k]; !ok || math.Float64bits(got) != math.Float64bits(s) {
					t.Fatalf("%s: %s[%q] = %v (%v), want %v", key, name, k, got, ok, s)
				}
			}
		}
		return it.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// zModel is a Go model of a sorted set: member -> score, as stored (-0 is
// 0).
type zModel map[string]float64

func (m zModel) sorted() []zEntry {
	out := make([]zEntry, 0, len(m))
	for k, s := range m {
		out = append(out, zEntry{member: []byte(k), score: s})
	}
	slices.SortFunc(out, zCompare)
	return out
}

func zWithScores(es []zEntry) string {
	return zEnc(func(e *resp.Encoder) {
		e.Array(2 * len(es))
		for _, x := range es {
			e.Bulk(x.member)
			e.Double(x.score)
		}
	})
}

func zScoreArg(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f == 0 && math.Signbit(f):
		return "-0"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// TestZset_ModelRandom runs random ZADD (with options), ZINCRBY, ZREM,
// ZREMRANGEBYSCORE and ZPOPMIN/ZPOPMAX against a Go model, some of them
// batched into one transaction, and compares every reply, ZRANGE
// WITHSCORES, ZCARD, ranks, counts and the stored layout.
func TestZset_ModelRandom(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { zModelRun(t, seed, 400) })
	}
}

func zModelRun(t *testing.T, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, seed*7919))
	a := newApplier(t)
	model := zModel{}
	members := []string{"a", "b", "c", "d", "e", "f", "g", "h", "", "ab", "\x00", "\xff"}
	scores := []float64{0, math.Copysign(0, -1), 1, -1, 2.5, -2.5, 3, 1e300, -1e300, math.Inf(1), math.Inf(-1), 0.1, 7}
	member := func() string { return members[rng.IntN(len(members))] }
	score := func() float64 {
		if rng.IntN(4) == 0 {
			return float64(rng.IntN(10) - 5)
		}
		return scores[rng.IntN(len(scores))]
	}
	norm := func(f float64) float64 {
		if f == 0 {
			return 0
		}
		return f
	}
	type op struct {
		args []string
		want string
	}
	// next makes one random command and applies it to the model, giving
	// its expected reply.
	next := func() op {
		switch rng.IntN(6) {
		case 0, 1: // ZADD with options
			var opts []string
			nx, xx, gt, lt, ch, incr := false, false, false, false, false, false
			switch rng.IntN(5) {
			case 1:
				nx = true
				opts = append(opts, "NX")
			case 2:
				xx = true
				opts = append(opts, "XX")
			}
			if !nx {
				switch rng.IntN(4) {
				case 1:
					gt = true
					opts = append(opts, "GT")
				case 2:
					lt = true
					opts = append(opts, "LT")
				}
			}
			if rng.IntN(3) == 0 {
				ch = true
				opts = append(opts, "ch")
			}
			n := 1 + rng.IntN(3)
			if rng.IntN(5) == 0 {
				incr, n = true, 1
				opts = append(opts, "INCR")
			}
			args := append([]string{"ZADD", "z"}, opts...)
			var added, updated, processed int
			var last float64
			nan := false
			for range n {
				m, s := member(), score()
				args = append(args, zScoreArg(s), m)
				if nan {
					continue
				}
				cur, had := model[m]
				switch {
				case had:
					if nx {
						continue
					}
					if incr {
						s += cur
						if math.IsNaN(s) {
							nan = true
							continue
						}
					}
					if (lt && s >= cur) || (gt && s <= cur) {
						continue
					}
					if s != cur {
						model[m] = norm(s)
						updated++
					}
				case !xx:
					model[m] = norm(s)
					added++
				default:
					continue
				}
				processed++
				last = s
			}
			want := zEnc(func(e *resp.Encoder) {
				switch {
				case nan:
					e.Error(string(errZNaN))
				case incr && processed > 0:
					e.Double(last)
				case incr:
					e.Null()
				case ch:
					e.Int(int64(added + updated))
				default:
					e.Int(int64(added))
				}
			})
			return op{args, want}
		case 2: // ZINCRBY
			m, s := member(), score()
			v := s // a new member takes the increment as it is (-0 stays -0)
			if cur, ok := model[m]; ok {
				v = cur + s
			}
			if math.IsNaN(v) {
				return op{[]string{"ZINCRBY", "z", zScoreArg(s), m}, zEnc(func(e *resp.Encoder) { e.Error(string(errZNaN)) })}
			}
			model[m] = norm(v)
			return op{[]string{"ZINCRBY", "z", zScoreArg(s), m}, zEnc(func(e *resp.Encoder) { e.Double(v) })}
		case 3: // ZREM
			args := []string{"ZREM", "z"}
			n := 0
			for range 1 + rng.IntN(3) {
				m := member()
				args = append(args, m)
				if _, ok := model[m]; ok {
					delete(model, m)
					n++
				}
			}
			return op{args, zEnc(func(e *resp.Encoder) { e.Int(int64(n)) })}
		case 4: // ZREMRANGEBYSCORE
			r := zRange{min: score(), max: score(), minex: rng.IntN(3) == 0, maxex: rng.IntN(3) == 0}
			arg := func(f float64, ex bool) string {
				if ex {
					return "(" + zScoreArg(f)
				}
				return zScoreArg(f)
			}
			n := 0
			if !r.empty() {
				for k, s := range model {
					if r.gteMin(s) && r.lteMax(s) {
						delete(model, k)
						n++
					}
				}
			}
			return op{[]string{"ZREMRANGEBYSCORE", "z", arg(r.min, r.minex), arg(r.max, r.maxex)},
				zEnc(func(e *resp.Encoder) { e.Int(int64(n)) })}
		default: // ZPOPMIN / ZPOPMAX
			max := rng.IntN(2) == 0
			name := "ZPOPMIN"
			if max {
				name = "ZPOPMAX"
			}
			es := model.sorted()
			if max {
				slices.Reverse(es)
			}
			count := rng.IntN(4) - 1
			n := min(max0(count), len(es))
			args := []string{name, "z"}
			if count == -1 {
				n = min(1, len(es))
			} else {
				args = append(args, strconv.Itoa(count))
			}
			for _, x := range es[:n] {
				delete(model, string(x.member))
			}
			return op{args, zWithScores(es[:n])}
		}
	}
	check := func(step int) {
		t.Helper()
		want := model.sorted()
		if got := a.read("ZRANGE", "z", "0", "-1", "WITHSCORES"); got != zWithScores(want) {
			t.Fatalf("step %d: ZRANGE WITHSCORES\n got %q\nwant %q", step, got, zWithScores(want))
		}
		if got, want := a.read("ZCARD", "z"), fmt.Sprintf(":%d\r\n", len(want)); got != want {
			t.Fatalf("step %d: ZCARD %q, want %q", step, got, want)
		}
		rev := slices.Clone(want)
		slices.Reverse(rev)
		if got := a.read("ZREVRANGE", "z", "0", "-1", "WITHSCORES"); got != zWithScores(rev) {
			t.Fatalf("step %d: ZREVRANGE %q", step, got)
		}
		for i, x := range want {
			if got, w := a.read("ZRANK", "z", string(x.member)), fmt.Sprintf(":%d\r\n", i); got != w {
				t.Fatalf("step %d: ZRANK %q = %q, want %q", step, x.member, got, w)
			}
			if got, w := a.read("ZREVRANK", "z", string(x.member)), fmt.Sprintf(":%d\r\n", len(want)-1-i); got != w {
				t.Fatalf("step %d: ZREVRANK %q = %q, want %q", step, x.member, got, w)
			}
		}
		// A random index range, score count and score range.
		lo, hi := rng.IntN(16)-8, rng.IntN(16)-8
		var exp []zEntry
		if l, h, ok := zRankRange(int64(len(want)), int64(lo), int64(hi)); ok {
			exp = want[l : h+1]
		}
		if got := a.read("ZRANGE", "z", strconv.Itoa(lo), strconv.Itoa(hi), "WITHSCORES"); got != zWithScores(exp) {
			t.Fatalf("step %d: ZRANGE %d %d = %q, want %q", step, lo, hi, got, zWithScores(exp))
		}
		r := zRange{min: score(), max: score(), minex: rng.IntN(2) == 0, maxex: rng.IntN(2) == 0}
		var in []zEntry
		for _, x := range want {
			if !r.empty() && r.gteMin(x.score) && r.lteMax(x.score) {
				in = append(in, x)
			}
		}
		minArg, maxArg := zScoreArg(r.min), zScoreArg(r.max)
		if r.minex {
			minArg = "(" + minArg
		}
		if r.maxex {
			maxArg = "(" + maxArg
		}
		if got, w := a.read("ZCOUNT", "z", minArg, maxArg), fmt.Sprintf(":%d\r\n", len(in)); got != w {
			t.Fatalf("step %d: ZCOUNT %s %s = %q, want %q", step, minArg, maxArg, got, w)
		}
		if got := a.read("ZRANGEBYSCORE", "z", minArg, maxArg, "WITHSCORES"); got != zWithScores(in) {
			t.Fatalf("step %d: ZRANGEBYSCORE %s %s = %q, want %q", step, minArg, maxArg, got, zWithScores(in))
		}
		slices.Reverse(in)
		if got := a.read("ZREVRANGEBYSCORE", "z", maxArg, minArg, "WITHSCORES"); got != zWithScores(in) {
			t.Fatalf("step %d: ZREVRANGEBYSCORE %s %s = %q", step, maxArg, minArg, got)
		}
		for k, s := range model {
			if got, w := a.read("ZSCORE", "z", k), zEnc(func(e *resp.Encoder) { e.Double(s) }); got != w {
				t.Fatalf("step %d: ZSCORE %q = %q, want %q", step, k, got, w)
			}
		}
		zLayout(t, a.db, "z", model)
	}
	for step := 0; step < steps; {
		if rng.IntN(4) == 0 { // a transaction of a few commands
			n := 1 + rng.IntN(5)
			e := &Entry{Exec: true}
			var wants []string
			for range n {
				o := next()
				e.Cmds = append(e.Cmds, cmd(o.args...))
				wants = append(wants, o.want)
			}
			want := fmt.Sprintf("*%d\r\n%s", n, strings.Join(wants, ""))
			if got := a.apply(e); got != want {
				t.Fatalf("step %d: EXEC %q\n got %q\nwant %q", step, e.Cmds, got, want)
			}
			step += n
		} else {
			o := next()
			if got := a.do(o.args...); got != o.want {
				t.Fatalf("step %d: %q\n got %q\nwant %q", step, o.args, got, o.want)
			}
			step++
		}
		check(step)
	}
}

func max0(n int) int { return max(n, 0) }

func TestZset_PopHelper(t *testing.T) {
	a := newApplier(t)
	a.do("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d")
	a.do("SET", "s", "x")
	type popped struct {
		members string
		wrong   bool
		events  string
	}
	// pop calls zsetPop as a blocking command's attempt does, in an entry
	// of its own, and commits what it wrote.
	pop := func(key string, max bool, count int64) popped {
		t.Helper()
		a.index++
		var p popped
		ov := newOverlay()
		ov.begin()
		err := a.db.View(a.now, func(v *engine.View) error {
			c := &ctx{db: a.db, view: v, now: a.now, r: &Recorder{}, tx: ov, index: a.index, rnd: a.index}
			ms, scores, wrong := c.zsetPop([]byte(key), max, count)
			var parts []string
			for i, m := range ms {
				parts = append(parts, fmt.Sprintf("%s=%s", m, formatScore(scores[i])))
			}
			p.members, p.wrong = strings.Join(parts, ","), wrong
			var ev []string
			for _, tc := range ov.touched {
				ev = append(ev, string(tc.Key)+":"+tc.Event)
			}
			p.events = strings.Join(ev, " ")
			return c.fatal
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := ov.commit(a.db, a.index, false); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if got := pop("z", true, 2); got != (popped{"d=4,c=3", false, "z:zpopmax"}) {
		t.Fatalf("pop max 2: %+v", got)
	}
	if got := pop("z", false, 0); got != (popped{}) {
		t.Fatalf("pop 0: %+v", got)
	}
	if got := a.read("ZRANGE", "z", "0", "-1"); got != "*2\r\n$1\r\na\r\n$1\r\nb\r\n" {
		t.Fatalf("after popping: %q", got)
	}
	if got := pop("z", false, 5); got != (popped{"a=1,b=2", false, "z:zpopmin z:del"}) {
		t.Fatalf("pop all: %+v", got)
	}
	if got := a.read("EXISTS", "z"); got != ":0\r\n" {
		t.Fatalf("EXISTS z = %q", got)
	}
	if got := pop("s", false, 1); got != (popped{wrong: true}) {
		t.Fatalf("pop of a string: %+v", got)
	}
	if got := pop("missing", false, 1); got != (popped{}) {
		t.Fatalf("pop of a missing key: %+v", got)
	}
	zLayout(t, a.db, "z", nil)
}

func TestZset_Events(t *testing.T) {
	a := newApplier(t)
	for _, tc := range []struct {
		args   []string
		reply  string
		events string
	}{
		{[]string{"ZADD", "z", "1", "a", "2", "b"}, ":2\r\n", "z:zadd"},
		{[]string{"ZADD", "z", "1", "a"}, ":0\r\n", ""},
		{[]string{"ZADD", "z", "CH", "5", "a"}, ":1\r\n", "z:zadd"},
		{[]string{"ZADD", "z", "INCR", "1", "a"}, "$1\r\n6\r\n", "z:zincr"},
		{[]string{"ZINCRBY", "z", "0", "a"}, "$1\r\n6\r\n", ""},
		{[]string{"ZINCRBY", "z", "1", "c"}, "$1\r\n1\r\n", "z:zincr"},
		{[]string{"ZREM", "z", "x"}, ":0\r\n", ""},
		{[]string{"ZREM", "z", "c"}, ":1\r\n", "z:zrem"},
		{[]string{"ZREMRANGEBYSCORE", "z", "10", "20"}, ":0\r\n", ""},
		{[]string{"ZREMRANGEBYSCORE", "z", "2", "2"}, ":1\r\n", "z:zremrangebyscore"},
		{[]string{"ZADD", "z", "0", "l1", "0", "l2", "0", "l3"}, ":3\r\n", "z:zadd"},
		// Mixed scores: the last member ("a" at 6) is below [l1, so the lex
		// range is empty, as on Redis's listpack.
		{[]string{"ZREMRANGEBYLEX", "z", "[l1", "[l2"}, ":0\r\n", ""},
		{[]string{"ZADD", "l", "0", "l1", "0", "l2", "0", "l3"}, ":3\r\n", "l:zadd"},
		{[]string{"ZREMRANGEBYLEX", "l", "[l1", "[l2"}, ":2\r\n", "l:zremrangebylex"},
		{[]string{"ZREMRANGEBYRANK", "z", "0", "2"}, ":3\r\n", "z:zremrangebyrank"},
		{[]string{"ZRANGESTORE", "d", "z", "0", "-1"}, ":1\r\n", "d:zrangestore"},
		{[]string{"ZRANGESTORE", "d", "z", "5", "6"}, ":0\r\n", "d:del"},
		{[]string{"ZRANGESTORE", "d", "z", "5", "6"}, ":0\r\n", ""},
		{[]string{"ZUNIONSTORE", "u", "1", "z"}, ":1\r\n", "u:zunionstore"},
		{[]string{"ZINTERSTORE", "u", "2", "z", "u"}, ":1\r\n", "u:zinterstore"},
		{[]string{"ZDIFFSTORE", "u", "2", "z", "u"}, ":0\r\n", "u:del"},
		{[]string{"ZDIFFSTORE", "u", "1", "z"}, ":1\r\n", "u:zdiffstore"},
		{[]string{"ZPOPMAX", "u"}, "*2\r\n$1\r\na\r\n$1\r\n6\r\n", "u:zpopmax u:del"},
		{[]string{"ZMPOP", "1", "z", "MIN"}, "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n6\r\n", "z:zpopmin z:del"},
		{[]string{"ZADD", "z", "1", "a", "2", "b"}, ":2\r\n", "z:zadd"},
		{[]string{"ZREM", "z", "a", "b"}, ":2\r\n", "z:zrem z:del"},
		{[]string{"ZADD", "z", "XX", "1", "a"}, ":0\r\n", ""},
	} {
		reply, events := zApply(t, a, tc.args...)
		if reply != tc.reply || events != tc.events {
			t.Errorf("%q: reply %q events %q; want %q, %q", tc.args, reply, events, tc.reply, tc.events)
		}
	}
}

// TestZset_Resp3 checks the reply tokens against what Redis 7.0.15 sends
// a RESP3 client: doubles as doubles, nulls as RESP3 nulls.
func TestZset_Resp3(t *testing.T) {
	a := newApplier(t)
	a.do("ZADD", "z", "1.5", "a", "2", "b", "inf", "c")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ZSCORE", "z", "a"}, ",1.5\r\n"},
		{[]string{"ZSCORE", "z", "c"}, ",inf\r\n"},
		{[]string{"ZSCORE", "z", "nope"}, "_\r\n"},
		{[]string{"ZMSCORE", "z", "a", "nope", "c"}, "*3\r\n,1.5\r\n_\r\n,inf\r\n"},
		{[]string{"ZINCRBY", "z", "1", "a"}, ",2.5\r\n"},
		{[]string{"ZADD", "z", "INCR", "1", "a"}, ",3.5\r\n"},
		{[]string{"ZADD", "z", "NX", "INCR", "1", "a"}, "_\r\n"},
		{[]string{"ZRANK", "z", "nope"}, "_\r\n"},
		{[]string{"ZRANK", "z", "b"}, ":0\r\n"},
		{[]string{"ZPOPMIN", "z"}, "*2\r\n$1\r\nb\r\n,2\r\n"},
		{[]string{"ZMPOP", "1", "z", "MAX", "COUNT", "1"}, "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nc\r\n,inf\r\n"},
		{[]string{"ZMPOP", "1", "nokey", "MAX"}, "_\r\n"},
		{[]string{"ZRANDMEMBER", "nokey"}, "_\r\n"},
		{[]string{"ZINCRBY", "z", "-0", "newm"}, ",-0\r\n"},
		{[]string{"ZSCORE", "z", "newm"}, ",0\r\n"},
	} {
		if got := zResp3(t, a, tc.args...); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.args, got, tc.want)
		}
	}
}

// TestZset_Deterministic applies the random commands twice on fresh
// engines with the same log indexes: every node answers the same.
func TestZset_Deterministic(t *testing.T) {
	run := func() string {
		a := newApplier(t)
		var out strings.Builder
		args := []string{"ZADD", "z"}
		for i := range 50 {
			args = append(args, strconv.Itoa(i%7), "m"+strconv.Itoa(i))
		}
		out.WriteString(a.do(args...))
		for _, c := range [][]string{
			{"ZRANDMEMBER", "z"}, {"ZRANDMEMBER", "z", "5"}, {"ZRANDMEMBER", "z", "-8", "WITHSCORES"},
			{"ZRANDMEMBER", "z", "49", "WITHSCORES"}, {"ZRANDMEMBER", "z", "1"},
		} {
			out.WriteString(a.do(c...))
		}
		return out.String()
	}
	if r1, r2 := run(), run(); r1 != r2 {
		t.Fatalf("replies differ:\n%q\n%q", r1, r2)
	}
}

func TestZset_Randmember(t *testing.T) {
	a := newApplier(t)
	args := []string{"ZADD", "z"}
	for i := range 20 {
		args = append(args, strconv.Itoa(i), fmt.Sprintf("m%02d", i))
	}
	a.do(args...)
	parse := func(s string) []string {
		t.Helper()
		v, n, err := resp.Parse([]byte(s))
		if err != nil || n != len(s) {
			t.Fatalf("reply %q: %v", s, err)
		}
		var out []string
		for _, e := range v.Elems {
			out = append(out, string(e.Str))
		}
		return out
	}
	seen := map[string]bool{}
	for range 50 {
		got := parse(a.do("ZRANDMEMBER", "z", "5", "WITHSCORES"))
		if len(got) != 10 {
			t.Fatalf("5 WITHSCORES gave %d values", len(got))
		}
		var ms []string
		for i := 0; i < len(got); i += 2 {
			n, _ := strconv.Atoi(got[i][1:])
			if got[i+1] != strconv.Itoa(n) {
				t.Fatalf("member %s with score %s", got[i], got[i+1])
			}
			ms = append(ms, got[i])
			seen[got[i]] = true
		}
		if !slices.IsSorted(ms) || len(slices.Compact(slices.Clone(ms))) != 5 {
			t.Fatalf("distinct members in order, got %v", ms)
		}
		rep := parse(a.do("ZRANDMEMBER", "z", "-30"))
		if len(rep) != 30 {
			t.Fatalf("-30 gave %d", len(rep))
		}
		for _, m := range rep {
			if !strings.HasPrefix(m, "m") {
				t.Fatalf("-30 gave %q", m)
			}
		}
	}
	if len(seen) < 15 {
		t.Fatalf("50 draws of 5 of 20 saw only %d members", len(seen))
	}
	all := parse(a.do("ZRANDMEMBER", "z", "100"))
	if len(all) != 20 || all[0] != "m19" || all[19] != "m00" {
		t.Fatalf("a count above the size gives the set from the highest score: %v", all)
	}
	if got := a.do("ZRANDMEMBER", "z", "-2000000"); got != "-"+string(errRandomRepeat)+"\r\n" {
		t.Fatalf("huge negative count: %q", got)
	}
}

func TestZset_LexMixedScores(t *testing.T) {
	// Redis's listpack walk: with scores 1 b, 2 a, 3 d, 4 c, 5 e a lex
	// range starts at the first member >= min in score order.
	a := newApplier(t)
	a.do("ZADD", "z", "1", "b", "2", "a", "3", "d", "4", "c", "5", "e")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"ZRANGEBYLEX", "z", "[b", "[d"}, []string{"b", "a", "d", "c"}},
		{[]string{"ZRANGEBYLEX", "z", "[a", "[c"}, []string{"b", "a"}},
		{[]string{"ZRANGEBYLEX", "z", "(a", "[e"}, []string{"b", "a", "d", "c", "e"}},
		{[]string{"ZREVRANGEBYLEX", "z", "[d", "[b"}, []string{"c", "d"}},
		{[]string{"ZREVRANGEBYLEX", "z", "[c", "[a"}, []string{"c", "d", "a", "b"}},
		{[]string{"ZRANGEBYLEX", "z", "-", "+", "LIMIT", "1", "2"}, []string{"a", "d"}},
	} {
		want := zEnc(func(e *resp.Encoder) {
			e.Array(len(tc.want))
			for _, m := range tc.want {
				e.BulkString(m)
			}
		})
		if got := a.read(tc.args...); got != want {
			t.Errorf("%q = %q, want %q", tc.args, got, want)
		}
	}
}

func TestZset_SetOpsLayout(t *testing.T) {
	a := newApplier(t)
	a.do("ZADD", "z1", "1", "a", "2", "b", "-0", "c")
	a.do("SADD", "s", "b", "c", "d")
	a.do("ZUNIONSTORE", "u", "2", "z1", "s", "WEIGHTS", "1", "-0.5")
	zLayout(t, a.db, "u", map[string]float64{"a": 1, "b": 1.5, "c": -0.5, "d": -0.5})
	// A non-stored union keeps the sign of a computed -0, as Redis does.
	if got := a.read("ZUNION", "1", "z1", "WEIGHTS", "-1", "WITHSCORES"); got != zEnc(func(e *resp.Encoder) {
		e.Array(6)
		e.BulkString("b")
		e.Double(-2)
		e.BulkString("a")
		e.Double(-1)
		e.BulkString("c")
		e.Double(math.Copysign(0, -1))
	}) {
		t.Fatalf("ZUNION WEIGHTS -1: %q", got)
	}
	a.do("ZUNIONSTORE", "n", "1", "z1", "WEIGHTS", "-1")
	zLayout(t, a.db, "n", map[string]float64{"a": -1, "b": -2, "c": 0})
	a.do("ZINTERSTORE", "i", "2", "z1", "s", "AGGREGATE", "MAX")
	zLayout(t, a.db, "i", map[string]float64{"b": 2, "c": 1})
	a.do("ZDIFFSTORE", "d", "2", "z1", "s")
	zLayout(t, a.db, "d", map[string]float64{"a": 1})
	a.do("ZRANGESTORE", "r", "z1", "(0", "+inf", "BYSCORE")
	zLayout(t, a.db, "r", map[string]float64{"a": 1, "b": 2})
	a.do("ZDIFFSTORE", "r", "2", "z1", "z1")
	zLayout(t, a.db, "r", nil)
}
