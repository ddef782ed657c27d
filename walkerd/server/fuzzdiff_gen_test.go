package server

import (
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/walkerdb/walkerdb/walkerd/command"
)

// The command generators of TestFuzzDifferential (fuzzdiff_test.go): every
// command of Redis 7.0.15's string, hash, list, set, sorted set and
// generic groups that a small keyspace can exercise deterministically,
// with random valid and invalid arguments over small alphabets, so that
// commands collide on the same keys, elements and types. Only commands
// that walkerd registers are generated (fuzzSpecs filters them), so the
// fuzzer grows as commands land.

// cmpKind says how two replies of one command are compared.
type cmpKind uint8

const (
	cmpExact     cmpKind = iota
	cmpSorted            // an array whose order Redis leaves undefined (SMEMBERS)
	cmpPairs             // an array of pairs in undefined order (HGETALL)
	cmpScan              // [cursor, elems]: cursor==0 and the elems sorted
	cmpScanPairs         // [cursor, field/value pairs]: cursor==0 and the pairs sorted
	cmpNear              // integers within tol (TTL, PTTL, EXPIRETIME)
	cmpShape             // random replies (and HELLO's): kind, nil-ness and aggregate length only
	cmpExec              // EXEC: element-wise, by the queued commands' modes
)

type cmpMode struct {
	kind cmpKind
	tol  int64
	subs []cmpMode // cmpExec: set while comparing, from the queued commands
}

// fcmd is one generated command and how its reply is compared.
type fcmd struct {
	args  []string
	mode  cmpMode
	other bool // runs on a second connection: a blocking command that the next ones may serve
}

type fgen struct {
	r     *rand.Rand
	n     int    // counter for distinct expiry values within a sequence
	focus string // the group most commands of this sequence come from
	hot   string // when set, half the keys are this one (the WATCHed key)
}

// fspec generates one command. name is what command.Lookup takes
// ("object|encoding" for a subcommand); redis-only is never generated.
type fspec struct {
	name  string
	group string
	w     int
	gen   func(g *fgen) fcmd
}

// Alphabets: small, so that commands collide; numeric members so that SORT
// BY/GET patterns ("k*") hit the keys k0..k5.
var (
	fzKeys = []string{"k0", "k1", "k2", "k3", "k4", "k5"}
	// fzLong is longer than Redis's listpack value limits (64 bytes), so
	// that OBJECT ENCODING meets hashtable and skiplist.
	fzLong    = strings.Repeat("long", 17)
	fzMembers = []string{"a", "b", "c", "d", "0", "1", "2", "3", "5", "-1", "10", "1.5", "", "x y", "k1", fzLong}
	fzValues  = []string{"a", "b", "0", "1", "-1", "2", "10", "1.5", "-2.5", "", "abc", "hello world",
		"9223372036854775807", "-9223372036854775808", "9223372036854775808", "inf", "-inf", "nan",
		"1e3", "0x10", " 1", "007", "3.0", "-0", "1e308", "k2", fzLong}
	fzInts = []string{"0", "1", "-1", "2", "-2", "3", "5", "10", "-10", "100",
		"9223372036854775807", "-9223372036854775808", "9223372036854775808", "abc", "", "1.5", " 1"}
	fzFloats = []string{"0", "1", "-1", "1.5", "-2.5", "0.1", "inf", "-inf", "+inf", "nan", "abc", "",
		"1e308", "1e309", "-1e309", "3e-5", "1e1", "0x10", "5.", "-0", "10"}
	fzIdx = []string{"0", "1", "-1", "2", "-2", "3", "-3", "5", "100", "-100",
		"9223372036854775807", "-9223372036854775808", "abc", "1.5"}
	fzScoreBounds = []string{"-inf", "+inf", "inf", "0", "1", "(1", "2", "(2.5", "-1", "(-1", "1.5",
		"(", "abc", "(-inf", "(+inf", "nan", "10", "((1"}
	fzLexBounds = []string{"-", "+", "[a", "(a", "[b", "(c", "[1", "(2", "[", "(", "a", "[x y", "[d"}
	fzGarbage   = []string{"", "abc", "-1", "0", "nan", "inf", "k0", "a", "9223372036854775808"}
	fzPatterns  = []string{"*", "k*", "k[0-2]", "k?", "*1", "x*", "k[^1]*", "\\k*", "[k]*", "a*", "*b*", "?", ""}
)

func (g *fgen) pick(s []string) string { return s[g.r.IntN(len(s))] }
func (g *fgen) coin(p float64) bool    { return g.r.Float64() < p }
func (g *fgen) key() string {
	if g.hot != "" && g.coin(0.5) {
		return g.hot
	}
	return g.pick(fzKeys)
}
func (g *fgen) member() string { return g.pick(fzMembers) }

// kw is a keyword in random case (Redis's are case-insensitive).
func (g *fgen) kw(s string) string {
	switch g.r.IntN(6) {
	case 0:
		return strings.ToLower(s)
	case 1:
		if len(s) > 1 {
			return strings.ToLower(s[:1]) + s[1:]
		}
	}
	return s
}

func (g *fgen) value() string {
	if g.coin(0.5) {
		return g.member()
	}
	return g.pick(fzValues)
}

// small is an int in [lo, hi] as text.
func (g *fgen) small(lo, hi int) string { return strconv.Itoa(lo + g.r.IntN(hi-lo+1)) }

func (g *fgen) count() string {
	if g.coin(0.8) {
		return g.small(-2, 6)
	}
	return g.pick(fzInts)
}

func (g *fgen) idx() string {
	if g.coin(0.7) {
		return g.small(-4, 4)
	}
	return g.pick(fzIdx)
}

func (g *fgen) float() string {
	if g.coin(0.4) {
		return g.small(-3, 5)
	}
	return g.pick(fzFloats)
}

func (g *fgen) keys(min, max int) []string {
	n := min + g.r.IntN(max-min+1)
	out := make([]string, n)
	for i := range out {
		out[i] = g.key()
	}
	return out
}

func (g *fgen) members(min, max int) []string {
	n := min + g.r.IntN(max-min+1)
	out := make([]string, n)
	for i := range out {
		out[i] = g.member()
	}
	return out
}

// Expiry arguments: relative times are far from now and distinct within a
// sequence, absolute ones far in the future (or in the past), so that no
// comparison (GT, LT, TTL) depends on the milliseconds between the two
// servers running a command.
func (g *fgen) secs() string {
	g.n++
	if g.coin(0.15) {
		return g.pick([]string{"0", "-1", "abc", "", "9223372036854775807", "9223372036854775", "-9223372036854775808", "1.5"})
	}
	return strconv.Itoa(100 + 17*g.n)
}

func (g *fgen) millis() string {
	g.n++
	if g.coin(0.15) {
		return g.pick([]string{"0", "-1", "abc", "9223372036854775807", "-9223372036854775808"})
	}
	return strconv.Itoa((100+17*g.n)*1000 + 3)
}

func (g *fgen) unixSecs() string {
	g.n++
	if g.coin(0.15) {
		return g.pick([]string{"0", "1", "-1", "abc", "9223372036854775807", "9223372036854775"})
	}
	return strconv.Itoa(4000000000 + 13*g.n)
}

// futureSecs and futureMillis are SET's EXAT and PXAT: never in the past,
// where Redis keeps the key until it is touched or its expiry cycle runs
// (DBSIZE would depend on timing).
func (g *fgen) futureSecs() string {
	g.n++
	if g.coin(0.1) {
		return g.pick([]string{"0", "-1", "abc", "9223372036854775807", "9223372036854775"})
	}
	return strconv.Itoa(4000000000 + 13*g.n)
}

func (g *fgen) futureMillis() string {
	g.n++
	if g.coin(0.1) {
		return g.pick([]string{"0", "-1", "abc", "9223372036854775807"})
	}
	return strconv.Itoa((4000000000+13*g.n)*1000 + 7)
}

func (g *fgen) unixMillis() string {
	g.n++
	if g.coin(0.15) {
		return g.pick([]string{"0", "1", "-1", "abc", "9223372036854775807"})
	}
	return strconv.Itoa((4000000000+13*g.n)*1000 + 7)
}

// timeout is a blocking command's: short, so an empty key costs 1 ms.
func (g *fgen) timeout() string {
	return g.pick([]string{"0.001", "0.001", "0.001", "0.001", "0.001", "0.01", "-1", "abc", "inf", "nan"})
}

func fzc(mode cmpKind, args ...string) fcmd { return fcmd{args: args, mode: cmpMode{kind: mode}} }
func fzcs(mode cmpKind, args []string) fcmd { return fcmd{args: args, mode: cmpMode{kind: mode}} }
func fzNear(tol int64, args ...string) fcmd {
	return fcmd{args: args, mode: cmpMode{kind: cmpNear, tol: tol}}
}

func fzJoin(parts ...any) []string {
	var out []string
	for _, p := range parts {
		switch p := p.(type) {
		case string:
			out = append(out, p)
		case []string:
			out = append(out, p...)
		}
	}
	return out
}

func (g *fgen) shuffled(opts [][]string) []string {
	g.r.Shuffle(len(opts), func(i, j int) { opts[i], opts[j] = opts[j], opts[i] })
	var out []string
	for _, o := range opts {
		out = append(out, o...)
	}
	return out
}

// expireOpt is one of SET's / GETEX's expiry options, or none.
func (g *fgen) expireOpt(persist bool) []string {
	switch g.r.IntN(7) {
	case 0:
		return []string{g.kw("EX"), g.secs()}
	case 1:
		return []string{g.kw("PX"), g.millis()}
	case 2:
		if persist {
			return []string{g.kw("EXAT"), g.unixSecs()}
		}
		return []string{g.kw("EXAT"), g.futureSecs()}
	case 3:
		if persist {
			return []string{g.kw("PXAT"), g.unixMillis()}
		}
		return []string{g.kw("PXAT"), g.futureMillis()}
	case 4:
		if persist {
			return []string{g.kw("PERSIST")}
		}
		return []string{g.kw("KEEPTTL")}
	}
	return nil
}

func (g *fgen) scanOpts(withType bool) []string {
	var opts [][]string
	if g.coin(0.4) {
		opts = append(opts, []string{g.kw("MATCH"), g.pick(append(fzPatterns, fzMembers...))})
	}
	if g.coin(0.9) {
		opts = append(opts, []string{g.kw("COUNT"), g.pick([]string{"100", "100", "100", "1000", "0", "-1", "abc"})})
	}
	if withType && g.coin(0.3) {
		opts = append(opts, []string{g.kw("TYPE"), g.pick([]string{"string", "list", "set", "zset", "hash", "stream", "foo", "STRING"})})
	}
	return g.shuffled(opts)
}

func (g *fgen) cursor() string {
	return g.pick([]string{"0", "0", "0", "0", "0", "abc", "", "+0", " 0"})
}

func (g *fgen) fieldValues(min, max int) []string {
	n := min + g.r.IntN(max-min+1)
	var out []string
	for range n {
		out = append(out, g.member(), g.value())
	}
	return out
}

func (g *fgen) keyValues(min, max int) []string {
	n := min + g.r.IntN(max-min+1)
	var out []string
	for range n {
		out = append(out, g.key(), g.value())
	}
	return out
}

func (g *fgen) scoreMembers(min, max int) []string {
	n := min + g.r.IntN(max-min+1)
	var out []string
	for range n {
		out = append(out, g.float(), g.member())
	}
	return out
}

func (g *fgen) numkeys(min, max int) []string {
	ks := g.keys(min, max)
	n := strconv.Itoa(len(ks))
	if g.coin(0.1) {
		n = g.pick([]string{"0", "-1", "abc", "100", strconv.Itoa(len(ks) + 1), strconv.Itoa(len(ks) - 1)})
	}
	return fzJoin(n, ks)
}

func (g *fgen) leftRight() string {
	return g.kw(g.pick([]string{"LEFT", "RIGHT", "LEFT", "RIGHT", "UP"}))
}
func (g *fgen) minMax() string { return g.kw(g.pick([]string{"MIN", "MAX", "MIN", "MAX", "MID"})) }

func (g *fgen) optCount() []string {
	if g.coin(0.5) {
		return []string{g.kw("COUNT"), g.count()}
	}
	return nil
}

func (g *fgen) weightsAggregate(nkeys int, withScores bool) []string {
	var opts [][]string
	if g.coin(0.3) {
		w := []string{g.kw("WEIGHTS")}
		for range nkeys {
			w = append(w, g.float())
		}
		opts = append(opts, w)
	}
	if g.coin(0.3) {
		opts = append(opts, []string{g.kw("AGGREGATE"), g.kw(g.pick([]string{"SUM", "MIN", "MAX", "AVG"}))})
	}
	if withScores && g.coin(0.4) {
		opts = append(opts, []string{g.kw("WITHSCORES")})
	}
	return g.shuffled(opts)
}

// zrangeArgs builds ZRANGE/ZRANGESTORE's range and options.
func (g *fgen) zrangeArgs(store bool) []string {
	var start, stop string
	var opts [][]string
	switch g.r.IntN(3) {
	case 0:
		start, stop = g.idx(), g.idx()
	case 1:
		start, stop = g.pick(fzScoreBounds), g.pick(fzScoreBounds)
		opts = append(opts, []string{g.kw("BYSCORE")})
	default:
		start, stop = g.pick(fzLexBounds), g.pick(fzLexBounds)
		opts = append(opts, []string{g.kw("BYLEX")})
	}
	if g.coin(0.3) {
		opts = append(opts, []string{g.kw("REV")})
	}
	if g.coin(0.3) {
		opts = append(opts, []string{g.kw("LIMIT"), g.idx(), g.count()})
	}
	if !store && g.coin(0.4) {
		opts = append(opts, []string{g.kw("WITHSCORES")})
	}
	return fzJoin(start, stop, g.shuffled(opts))
}

func (g *fgen) limitOpt() []string {
	if g.coin(0.3) {
		return []string{g.kw("LIMIT"), g.idx(), g.count()}
	}
	return nil
}

// sortArgs builds SORT's options and the mode to compare the reply in.
// Redis leaves two orders undefined: BY nosort on a set without STORE
// (the set's iteration order), and ALPHA with a BY pattern, where
// sort.c's sortCompare calls elements with equal (or missing) weights
// equal and qsort/pqsort place them as they fall. Those are compared
// sorted, without LIMIT (the subset is undefined too) or STORE.
func (g *fgen) sortArgs(store bool) ([]string, cmpKind) {
	var opts [][]string
	by := ""
	if g.coin(0.4) {
		by = g.pick([]string{"nosort", "k*", "k*->a", "w_*", "k*->1", "nosort"})
		opts = append(opts, []string{g.kw("BY"), by})
	}
	if g.coin(0.3) {
		gets := g.r.IntN(3) + 1
		for range gets {
			opts = append(opts, []string{g.kw("GET"), g.pick([]string{"#", "k*", "k*->a", "nokey*", "k*->b", "#"})})
		}
	}
	if g.coin(0.3) {
		opts = append(opts, []string{g.kw(g.pick([]string{"ASC", "DESC"}))})
	}
	alpha := g.coin(0.5)
	if alpha {
		opts = append(opts, []string{g.kw("ALPHA")})
	}
	undefined := alpha && by != "" && by != "nosort"
	hasStore := false
	if store && !undefined && g.coin(0.3) {
		opts = append(opts, []string{g.kw("STORE"), g.key()})
		hasStore = true
	}
	mode := cmpExact
	if by == "nosort" && !hasStore {
		undefined = true
	}
	if undefined {
		mode = cmpSorted
	} else if g.coin(0.3) {
		opts = append(opts, []string{g.kw("LIMIT"), g.idx(), g.count()})
	}
	return g.shuffled(opts), mode
}

// fuzzAllSpecs lists every generator; fuzzSpecs those walkerd registers.
var fuzzAllSpecs = []fspec{
	// Strings.
	{"set", "string", 6, func(g *fgen) fcmd {
		var opts [][]string
		if g.coin(0.3) {
			opts = append(opts, []string{g.kw(g.pick([]string{"NX", "XX"}))})
		}
		if g.coin(0.2) {
			opts = append(opts, []string{g.kw("GET")})
		}
		if e := g.expireOpt(false); e != nil {
			opts = append(opts, e)
		}
		if g.coin(0.05) {
			opts = append(opts, g.expireOpt(false))
		}
		return fzcs(cmpExact, fzJoin("SET", g.key(), g.value(), g.shuffled(opts)))
	}},
	{"get", "string", 4, func(g *fgen) fcmd { return fzc(cmpExact, "GET", g.key()) }},
	{"getset", "string", 1, func(g *fgen) fcmd { return fzc(cmpExact, "GETSET", g.key(), g.value()) }},
	{"getdel", "string", 1, func(g *fgen) fcmd { return fzc(cmpExact, "GETDEL", g.key()) }},
	{"getex", "string", 2, func(g *fgen) fcmd {
		return fzcs(cmpExact, fzJoin("GETEX", g.key(), g.expireOpt(true)))
	}},
	{"setnx", "string", 1, func(g *fgen) fcmd { return fzc(cmpExact, "SETNX", g.key(), g.value()) }},
	{"setex", "string", 1, func(g *fgen) fcmd { return fzc(cmpExact, "SETEX", g.key(), g.secs(), g.value()) }},
	{"psetex", "string", 1, func(g *fgen) fcmd { return fzc(cmpExact, "PSETEX", g.key(), g.millis(), g.value()) }},
	{"mset", "string", 2, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("MSET", g.keyValues(1, 3))) }},
	{"msetnx", "string", 1, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("MSETNX", g.keyValues(1, 3))) }},
	{"mget", "string", 2, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("MGET", g.keys(1, 4))) }},
	{"append", "string", 3, func(g *fgen) fcmd { return fzc(cmpExact, "APPEND", g.key(), g.value()) }},
	{"strlen", "string", 1, func(g *fgen) fcmd { return fzc(cmpExact, "STRLEN", g.key()) }},
	{"incr", "string", 3, func(g *fgen) fcmd { return fzc(cmpExact, "INCR", g.key()) }},
	{"decr", "string", 2, func(g *fgen) fcmd { return fzc(cmpExact, "DECR", g.key()) }},
	{"incrby", "string", 2, func(g *fgen) fcmd { return fzc(cmpExact, "INCRBY", g.key(), g.count()) }},
	{"decrby", "string", 2, func(g *fgen) fcmd { return fzc(cmpExact, "DECRBY", g.key(), g.count()) }},
	{"incrbyfloat", "string", 3, func(g *fgen) fcmd { return fzc(cmpExact, "INCRBYFLOAT", g.key(), g.float()) }},
	{"getrange", "string", 2, func(g *fgen) fcmd { return fzc(cmpExact, "GETRANGE", g.key(), g.idx(), g.idx()) }},
	{"substr", "string", 1, func(g *fgen) fcmd { return fzc(cmpExact, "SUBSTR", g.key(), g.idx(), g.idx()) }},
	{"setrange", "string", 2, func(g *fgen) fcmd {
		off := g.pick([]string{"0", "1", "3", "5", "10", "-1", "abc", "536870912"})
		return fzc(cmpExact, "SETRANGE", g.key(), off, g.value())
	}},
	{"lcs", "string", 1, func(g *fgen) fcmd {
		var opts [][]string
		if g.coin(0.3) {
			opts = append(opts, []string{g.kw("LEN")})
		}
		if g.coin(0.3) {
			opts = append(opts, []string{g.kw("IDX")})
		}
		if g.coin(0.2) {
			opts = append(opts, []string{g.kw("MINMATCHLEN"), g.count()})
		}
		if g.coin(0.2) {
			opts = append(opts, []string{g.kw("WITHMATCHLEN")})
		}
		return fzcs(cmpExact, fzJoin("LCS", g.key(), g.key(), g.shuffled(opts)))
	}},
	{"setbit", "string", 1, func(g *fgen) fcmd {
		return fzc(cmpExact, "SETBIT", g.key(), g.pick([]string{"0", "1", "7", "9", "20", "-1", "abc", "4294967296"}), g.pick([]string{"0", "1", "1", "2"}))
	}},
	{"getbit", "string", 1, func(g *fgen) fcmd {
		return fzc(cmpExact, "GETBIT", g.key(), g.pick([]string{"0", "1", "7", "9", "100", "-1", "abc"}))
	}},
	{"bitcount", "string", 1, func(g *fgen) fcmd {
		args := []string{"BITCOUNT", g.key()}
		if g.coin(0.5) {
			args = append(args, g.idx(), g.idx())
			if g.coin(0.3) {
				args = append(args, g.kw(g.pick([]string{"BYTE", "BIT"})))
			}
		}
		return fzcs(cmpExact, args)
	}},
	{"bitpos", "string", 1, func(g *fgen) fcmd {
		args := []string{"BITPOS", g.key(), g.pick([]string{"0", "1", "1", "0", "2"})}
		if g.coin(0.6) {
			args = append(args, g.idx())
			if g.coin(0.6) {
				args = append(args, g.idx())
				if g.coin(0.4) {
					args = append(args, g.kw(g.pick([]string{"BYTE", "BIT"})))
				}
			}
		}
		return fzcs(cmpExact, args)
	}},
	{"bitop", "string", 1, func(g *fgen) fcmd {
		op := g.kw(g.pick([]string{"AND", "OR", "XOR", "NOT"}))
		n := 1
		if !strings.EqualFold(op, "NOT") || g.coin(0.1) {
			n = 1 + g.r.IntN(3)
		}
		return fzcs(cmpExact, fzJoin("BITOP", op, g.key(), g.keys(n, n)))
	}},
	{"bitfield", "string", 1, func(g *fgen) fcmd {
		args := []string{"BITFIELD", g.key()}
		for i := 1 + g.r.IntN(3); i > 0; i-- {
			typ := g.pick([]string{"u1", "u3", "u8", "i8", "i5", "u63", "i64", "u64"})
			off := g.pick([]string{"0", "1", "7", "13", "#1", "#3", "-1"})
			switch g.r.IntN(4) {
			case 0:
				args = append(args, g.kw("GET"), typ, off)
			case 1:
				args = append(args, g.kw("SET"), typ, off, g.count())
			case 2:
				args = append(args, g.kw("INCRBY"), typ, off, g.count())
			default:
				args = append(args, g.kw("OVERFLOW"), g.kw(g.pick([]string{"WRAP", "SAT", "FAIL"})))
			}
		}
		return fzcs(cmpExact, args)
	}},
	{"bitfield_ro", "string", 1, func(g *fgen) fcmd {
		return fzc(cmpExact, "BITFIELD_RO", g.key(), g.kw("GET"), g.pick([]string{"u8", "i8", "i64", "u2"}), g.pick([]string{"0", "5", "#2"}))
	}},

	// Generic.
	{"del", "generic", 3, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("DEL", g.keys(1, 3))) }},
	{"unlink", "generic", 1, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("UNLINK", g.keys(1, 3))) }},
	{"exists", "generic", 2, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("EXISTS", g.keys(1, 3))) }},
	{"touch", "generic", 1, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("TOUCH", g.keys(1, 3))) }},
	{"type", "generic", 3, func(g *fgen) fcmd { return fzc(cmpExact, "TYPE", g.key()) }},
	{"rename", "generic", 2, func(g *fgen) fcmd { return fzc(cmpExact, "RENAME", g.key(), g.key()) }},
	{"renamenx", "generic", 1, func(g *fgen) fcmd { return fzc(cmpExact, "RENAMENX", g.key(), g.key()) }},
	{"expire", "generic", 2, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("EXPIRE", g.key(), g.secs(), g.expireCond())) }},
	{"pexpire", "generic", 1, func(g *fgen) fcmd {
		return fzcs(cmpExact, fzJoin("PEXPIRE", g.key(), g.millis(), g.expireCond()))
	}},
	{"expireat", "generic", 1, func(g *fgen) fcmd {
		return fzcs(cmpExact, fzJoin("EXPIREAT", g.key(), g.unixSecs(), g.expireCond()))
	}},
	{"pexpireat", "generic", 1, func(g *fgen) fcmd {
		return fzcs(cmpExact, fzJoin("PEXPIREAT", g.key(), g.unixMillis(), g.expireCond()))
	}},
	{"ttl", "generic", 2, func(g *fgen) fcmd { return fzNear(1, "TTL", g.key()) }},
	{"pttl", "generic", 1, func(g *fgen) fcmd { return fzNear(1500, "PTTL", g.key()) }},
	{"expiretime", "generic", 1, func(g *fgen) fcmd { return fzNear(1, "EXPIRETIME", g.key()) }},
	{"pexpiretime", "generic", 1, func(g *fgen) fcmd { return fzNear(1500, "PEXPIRETIME", g.key()) }},
	{"persist", "generic", 1, func(g *fgen) fcmd { return fzc(cmpExact, "PERSIST", g.key()) }},
	{"copy", "generic", 2, func(g *fgen) fcmd {
		var opts [][]string
		if g.coin(0.3) {
			opts = append(opts, []string{g.kw("DB"), g.pick([]string{"0", "1", "1", "16", "-1", "abc"})})
		}
		if g.coin(0.4) {
			opts = append(opts, []string{g.kw("REPLACE")})
		}
		return fzcs(cmpExact, fzJoin("COPY", g.key(), g.key(), g.shuffled(opts)))
	}},
	{"move", "generic", 1, func(g *fgen) fcmd {
		return fzc(cmpExact, "MOVE", g.key(), g.pick([]string{"1", "1", "1", "0", "16", "-1", "abc"}))
	}},
	{"sort", "generic", 2, func(g *fgen) fcmd {
		opts, mode := g.sortArgs(true)
		return fzcs(mode, fzJoin("SORT", g.key(), opts))
	}},
	{"sort_ro", "generic", 1, func(g *fgen) fcmd {
		opts, mode := g.sortArgs(false)
		return fzcs(mode, fzJoin("SORT_RO", g.key(), opts))
	}},
	{"object|encoding", "generic", 1, func(g *fgen) fcmd { return fzc(cmpExact, "OBJECT", "ENCODING", g.key()) }},
	{"object|freq", "generic", 1, func(g *fgen) fcmd { return fzc(cmpExact, "OBJECT", "FREQ", g.key()) }},
	{"object|idletime", "generic", 1, func(g *fgen) fcmd { return fzNear(1, "OBJECT", "IDLETIME", g.key()) }},
	{"object|refcount", "generic", 1, func(g *fgen) fcmd { return fzc(cmpExact, "OBJECT", "REFCOUNT", g.key()) }},
	// DUMP payloads are walkerd's own format (command/dump.go): only
	// whether there is one is compared; RESTORE gets payloads neither
	// server accepts, to compare the order of its checks.
	{"dump", "generic", 1, func(g *fgen) fcmd { return fzc(cmpShape, "DUMP", g.key()) }},
	{"restore", "generic", 1, func(g *fgen) fcmd {
		var opts [][]string
		if g.coin(0.3) {
			opts = append(opts, []string{g.kw("REPLACE")})
		}
		if g.coin(0.2) {
			opts = append(opts, []string{g.kw("ABSTTL")})
		}
		if g.coin(0.2) {
			opts = append(opts, []string{g.kw("IDLETIME"), g.count()})
		}
		if g.coin(0.2) {
			opts = append(opts, []string{g.kw("FREQ"), g.pick([]string{"0", "255", "256", "-1", "abc"})})
		}
		ttl := g.pick([]string{"0", "0", "-1", "abc", "100000"})
		payload := g.pick([]string{"", "abc", "\x00\x01", "WDB\x01"})
		return fzcs(cmpExact, fzJoin("RESTORE", g.key(), ttl, payload, g.shuffled(opts)))
	}},
	{"keys", "generic", 1, func(g *fgen) fcmd { return fzc(cmpSorted, "KEYS", g.pick(fzPatterns)) }},
	{"scan", "generic", 1, func(g *fgen) fcmd { return fzcs(cmpScan, fzJoin("SCAN", g.cursor(), g.scanOpts(true))) }},
	{"randomkey", "generic", 1, func(g *fgen) fcmd { return fzc(cmpShape, "RANDOMKEY") }},
	{"dbsize", "generic", 1, func(g *fgen) fcmd { return fzc(cmpExact, "DBSIZE") }},
	{"select", "generic", 1, func(g *fgen) fcmd { return fzc(cmpExact, "SELECT", g.pick([]string{"0", "0", "1", "16", "abc"})) }},
	{"swapdb", "generic", 1, func(g *fgen) fcmd {
		return fzc(cmpExact, "SWAPDB", g.pick([]string{"0", "1"}), g.pick([]string{"0", "1", "16"}))
	}},
	{"flushdb", "generic", 1, func(g *fgen) fcmd {
		if g.coin(0.7) {
			return fzc(cmpExact, "DBSIZE")
		}
		return fzc(cmpExact, "FLUSHDB")
	}},

	// Hashes.
	{"hset", "hash", 6, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("HSET", g.key(), g.fieldValues(1, 3))) }},
	{"hsetnx", "hash", 1, func(g *fgen) fcmd { return fzc(cmpExact, "HSETNX", g.key(), g.member(), g.value()) }},
	{"hmset", "hash", 1, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("HMSET", g.key(), g.fieldValues(1, 3))) }},
	{"hget", "hash", 3, func(g *fgen) fcmd { return fzc(cmpExact, "HGET", g.key(), g.member()) }},
	{"hmget", "hash", 2, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("HMGET", g.key(), g.members(1, 3))) }},
	{"hdel", "hash", 3, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("HDEL", g.key(), g.members(1, 3))) }},
	{"hlen", "hash", 2, func(g *fgen) fcmd { return fzc(cmpExact, "HLEN", g.key()) }},
	{"hexists", "hash", 2, func(g *fgen) fcmd { return fzc(cmpExact, "HEXISTS", g.key(), g.member()) }},
	{"hgetall", "hash", 2, func(g *fgen) fcmd { return fzc(cmpPairs, "HGETALL", g.key()) }},
	{"hkeys", "hash", 1, func(g *fgen) fcmd { return fzc(cmpSorted, "HKEYS", g.key()) }},
	{"hvals", "hash", 1, func(g *fgen) fcmd { return fzc(cmpSorted, "HVALS", g.key()) }},
	{"hincrby", "hash", 3, func(g *fgen) fcmd { return fzc(cmpExact, "HINCRBY", g.key(), g.member(), g.count()) }},
	{"hincrbyfloat", "hash", 3, func(g *fgen) fcmd { return fzc(cmpExact, "HINCRBYFLOAT", g.key(), g.member(), g.float()) }},
	{"hstrlen", "hash", 1, func(g *fgen) fcmd { return fzc(cmpExact, "HSTRLEN", g.key(), g.member()) }},
	{"hrandfield", "hash", 1, func(g *fgen) fcmd {
		args := []string{"HRANDFIELD", g.key()}
		if g.coin(0.6) {
			args = append(args, g.count())
			if g.coin(0.4) {
				args = append(args, g.kw("WITHVALUES"))
			}
		}
		return fzcs(cmpShape, args)
	}},
	{"hscan", "hash", 1, func(g *fgen) fcmd { return fzcs(cmpScanPairs, fzJoin("HSCAN", g.key(), g.cursor(), g.scanOpts(false))) }},

	// Lists.
	{"lpush", "list", 4, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("LPUSH", g.key(), g.members(1, 3))) }},
	{"rpush", "list", 4, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("RPUSH", g.key(), g.members(1, 3))) }},
	{"lpushx", "list", 1, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("LPUSHX", g.key(), g.members(1, 2))) }},
	{"rpushx", "list", 1, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("RPUSHX", g.key(), g.members(1, 2))) }},
	{"lpop", "list", 2, func(g *fgen) fcmd {
		if g.coin(0.4) {
			return fzc(cmpExact, "LPOP", g.key(), g.count())
		}
		return fzc(cmpExact, "LPOP", g.key())
	}},
	{"rpop", "list", 2, func(g *fgen) fcmd {
		if g.coin(0.4) {
			return fzc(cmpExact, "RPOP", g.key(), g.count())
		}
		return fzc(cmpExact, "RPOP", g.key())
	}},
	{"llen", "list", 2, func(g *fgen) fcmd { return fzc(cmpExact, "LLEN", g.key()) }},
	{"lrange", "list", 3, func(g *fgen) fcmd { return fzc(cmpExact, "LRANGE", g.key(), g.idx(), g.idx()) }},
	{"lindex", "list", 2, func(g *fgen) fcmd { return fzc(cmpExact, "LINDEX", g.key(), g.idx()) }},
	{"lset", "list", 2, func(g *fgen) fcmd { return fzc(cmpExact, "LSET", g.key(), g.idx(), g.member()) }},
	{"linsert", "list", 2, func(g *fgen) fcmd {
		return fzc(cmpExact, "LINSERT", g.key(), g.kw(g.pick([]string{"BEFORE", "AFTER", "BEFORE", "AFTER", "MIDDLE"})), g.member(), g.member())
	}},
	{"lrem", "list", 2, func(g *fgen) fcmd { return fzc(cmpExact, "LREM", g.key(), g.count(), g.member()) }},
	{"ltrim", "list", 2, func(g *fgen) fcmd { return fzc(cmpExact, "LTRIM", g.key(), g.idx(), g.idx()) }},
	{"lpos", "list", 2, func(g *fgen) fcmd {
		var opts [][]string
		if g.coin(0.4) {
			opts = append(opts, []string{g.kw("RANK"), g.idx()})
		}
		if g.coin(0.4) {
			opts = append(opts, []string{g.kw("COUNT"), g.count()})
		}
		if g.coin(0.3) {
			opts = append(opts, []string{g.kw("MAXLEN"), g.count()})
		}
		return fzcs(cmpExact, fzJoin("LPOS", g.key(), g.member(), g.shuffled(opts)))
	}},
	{"rpoplpush", "list", 1, func(g *fgen) fcmd { return fzc(cmpExact, "RPOPLPUSH", g.key(), g.key()) }},
	{"lmove", "list", 2, func(g *fgen) fcmd { return fzc(cmpExact, "LMOVE", g.key(), g.key(), g.leftRight(), g.leftRight()) }},
	{"lmpop", "list", 1, func(g *fgen) fcmd {
		return fzcs(cmpExact, fzJoin("LMPOP", g.numkeys(1, 3), g.leftRight(), g.optCount()))
	}},
	{"blpop", "list", 1, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("BLPOP", g.keys(1, 2), g.timeout())) }},
	{"brpop", "list", 1, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("BRPOP", g.keys(1, 2), g.timeout())) }},
	{"blmove", "list", 1, func(g *fgen) fcmd {
		return fzc(cmpExact, "BLMOVE", g.key(), g.key(), g.leftRight(), g.leftRight(), g.timeout())
	}},
	{"brpoplpush", "list", 1, func(g *fgen) fcmd { return fzc(cmpExact, "BRPOPLPUSH", g.key(), g.key(), g.timeout()) }},
	{"blmpop", "list", 1, func(g *fgen) fcmd {
		return fzcs(cmpExact, fzJoin("BLMPOP", g.timeout(), g.numkeys(1, 2), g.leftRight(), g.optCount()))
	}},

	// Sets.
	{"sadd", "set", 6, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("SADD", g.key(), g.members(1, 4))) }},
	{"srem", "set", 2, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("SREM", g.key(), g.members(1, 3))) }},
	{"scard", "set", 2, func(g *fgen) fcmd { return fzc(cmpExact, "SCARD", g.key()) }},
	{"sismember", "set", 2, func(g *fgen) fcmd { return fzc(cmpExact, "SISMEMBER", g.key(), g.member()) }},
	{"smismember", "set", 1, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("SMISMEMBER", g.key(), g.members(1, 3))) }},
	{"smembers", "set", 2, func(g *fgen) fcmd { return fzc(cmpSorted, "SMEMBERS", g.key()) }},
	{"sinter", "set", 1, func(g *fgen) fcmd { return fzcs(cmpSorted, fzJoin("SINTER", g.keys(1, 3))) }},
	{"sunion", "set", 1, func(g *fgen) fcmd { return fzcs(cmpSorted, fzJoin("SUNION", g.keys(1, 3))) }},
	{"sdiff", "set", 1, func(g *fgen) fcmd { return fzcs(cmpSorted, fzJoin("SDIFF", g.keys(1, 3))) }},
	{"sinterstore", "set", 1, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("SINTERSTORE", g.key(), g.keys(1, 3))) }},
	{"sunionstore", "set", 1, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("SUNIONSTORE", g.key(), g.keys(1, 3))) }},
	{"sdiffstore", "set", 1, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("SDIFFSTORE", g.key(), g.keys(1, 3))) }},
	{"sintercard", "set", 1, func(g *fgen) fcmd {
		return fzcs(cmpExact, fzJoin("SINTERCARD", g.numkeys(1, 3), g.limitOnly()))
	}},
	{"smove", "set", 2, func(g *fgen) fcmd { return fzc(cmpExact, "SMOVE", g.key(), g.key(), g.member()) }},
	{"spop", "set", 1, func(g *fgen) fcmd {
		// Only counts that pop the whole set (or nothing, or fail): the
		// choice of members would be random.
		return fzc(cmpSorted, "SPOP", g.key(), g.pick([]string{"100", "100", "0", "-1", "abc", "9223372036854775807"}))
	}},
	{"srandmember", "set", 1, func(g *fgen) fcmd {
		if g.coin(0.3) {
			return fzc(cmpShape, "SRANDMEMBER", g.key())
		}
		return fzc(cmpShape, "SRANDMEMBER", g.key(), g.count())
	}},
	{"sscan", "set", 1, func(g *fgen) fcmd { return fzcs(cmpScan, fzJoin("SSCAN", g.key(), g.cursor(), g.scanOpts(false))) }},

	// Sorted sets.
	{"zadd", "zset", 6, func(g *fgen) fcmd {
		var opts []string
		for _, o := range []string{"NX", "XX", "GT", "LT", "CH", "INCR"} {
			if g.coin(0.1) {
				opts = append(opts, g.kw(o))
			}
		}
		g.r.Shuffle(len(opts), func(i, j int) { opts[i], opts[j] = opts[j], opts[i] })
		return fzcs(cmpExact, fzJoin("ZADD", g.key(), opts, g.scoreMembers(1, 3)))
	}},
	{"zincrby", "zset", 2, func(g *fgen) fcmd { return fzc(cmpExact, "ZINCRBY", g.key(), g.float(), g.member()) }},
	{"zscore", "zset", 2, func(g *fgen) fcmd { return fzc(cmpExact, "ZSCORE", g.key(), g.member()) }},
	{"zmscore", "zset", 1, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("ZMSCORE", g.key(), g.members(1, 3))) }},
	{"zcard", "zset", 2, func(g *fgen) fcmd { return fzc(cmpExact, "ZCARD", g.key()) }},
	{"zcount", "zset", 1, func(g *fgen) fcmd {
		return fzc(cmpExact, "ZCOUNT", g.key(), g.pick(fzScoreBounds), g.pick(fzScoreBounds))
	}},
	{"zlexcount", "zset", 1, func(g *fgen) fcmd {
		return fzc(cmpExact, "ZLEXCOUNT", g.key(), g.pick(fzLexBounds), g.pick(fzLexBounds))
	}},
	{"zrange", "zset", 4, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("ZRANGE", g.key(), g.zrangeArgs(false))) }},
	{"zrangestore", "zset", 1, func(g *fgen) fcmd {
		return fzcs(cmpExact, fzJoin("ZRANGESTORE", g.key(), g.key(), g.zrangeArgs(true)))
	}},
	{"zrangebyscore", "zset", 1, func(g *fgen) fcmd {
		return fzcs(cmpExact, fzJoin("ZRANGEBYSCORE", g.key(), g.pick(fzScoreBounds), g.pick(fzScoreBounds), g.withScoresLimit()))
	}},
	{"zrevrangebyscore", "zset", 1, func(g *fgen) fcmd {
		return fzcs(cmpExact, fzJoin("ZREVRANGEBYSCORE", g.key(), g.pick(fzScoreBounds), g.pick(fzScoreBounds), g.withScoresLimit()))
	}},
	{"zrangebylex", "zset", 1, func(g *fgen) fcmd {
		return fzcs(cmpExact, fzJoin("ZRANGEBYLEX", g.key(), g.pick(fzLexBounds), g.pick(fzLexBounds), g.limitOpt()))
	}},
	{"zrevrangebylex", "zset", 1, func(g *fgen) fcmd {
		return fzcs(cmpExact, fzJoin("ZREVRANGEBYLEX", g.key(), g.pick(fzLexBounds), g.pick(fzLexBounds), g.limitOpt()))
	}},
	{"zrevrange", "zset", 1, func(g *fgen) fcmd {
		args := []string{"ZREVRANGE", g.key(), g.idx(), g.idx()}
		if g.coin(0.4) {
			args = append(args, g.kw("WITHSCORES"))
		}
		return fzcs(cmpExact, args)
	}},
	{"zrank", "zset", 1, func(g *fgen) fcmd { return fzc(cmpExact, "ZRANK", g.key(), g.member()) }},
	{"zrevrank", "zset", 1, func(g *fgen) fcmd { return fzc(cmpExact, "ZREVRANK", g.key(), g.member()) }},
	{"zrem", "zset", 2, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("ZREM", g.key(), g.members(1, 3))) }},
	{"zremrangebyrank", "zset", 1, func(g *fgen) fcmd { return fzc(cmpExact, "ZREMRANGEBYRANK", g.key(), g.idx(), g.idx()) }},
	{"zremrangebyscore", "zset", 1, func(g *fgen) fcmd {
		return fzc(cmpExact, "ZREMRANGEBYSCORE", g.key(), g.pick(fzScoreBounds), g.pick(fzScoreBounds))
	}},
	{"zremrangebylex", "zset", 1, func(g *fgen) fcmd {
		return fzc(cmpExact, "ZREMRANGEBYLEX", g.key(), g.pick(fzLexBounds), g.pick(fzLexBounds))
	}},
	{"zpopmin", "zset", 1, func(g *fgen) fcmd {
		if g.coin(0.5) {
			return fzc(cmpExact, "ZPOPMIN", g.key(), g.count())
		}
		return fzc(cmpExact, "ZPOPMIN", g.key())
	}},
	{"zpopmax", "zset", 1, func(g *fgen) fcmd {
		if g.coin(0.5) {
			return fzc(cmpExact, "ZPOPMAX", g.key(), g.count())
		}
		return fzc(cmpExact, "ZPOPMAX", g.key())
	}},
	{"zmpop", "zset", 1, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("ZMPOP", g.numkeys(1, 3), g.minMax(), g.optCount())) }},
	{"bzpopmin", "zset", 1, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("BZPOPMIN", g.keys(1, 2), g.timeout())) }},
	{"bzpopmax", "zset", 1, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("BZPOPMAX", g.keys(1, 2), g.timeout())) }},
	{"bzmpop", "zset", 1, func(g *fgen) fcmd {
		return fzcs(cmpExact, fzJoin("BZMPOP", g.timeout(), g.numkeys(1, 2), g.minMax(), g.optCount()))
	}},
	{"zunionstore", "zset", 1, func(g *fgen) fcmd {
		nk := g.numkeys(1, 3)
		return fzcs(cmpExact, fzJoin("ZUNIONSTORE", g.key(), nk, g.weightsAggregate(len(nk)-1, false)))
	}},
	{"zinterstore", "zset", 1, func(g *fgen) fcmd {
		nk := g.numkeys(1, 3)
		return fzcs(cmpExact, fzJoin("ZINTERSTORE", g.key(), nk, g.weightsAggregate(len(nk)-1, false)))
	}},
	{"zdiffstore", "zset", 1, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("ZDIFFSTORE", g.key(), g.numkeys(1, 3))) }},
	{"zunion", "zset", 1, func(g *fgen) fcmd {
		nk := g.numkeys(1, 3)
		return fzcs(cmpExact, fzJoin("ZUNION", nk, g.weightsAggregate(len(nk)-1, true)))
	}},
	{"zinter", "zset", 1, func(g *fgen) fcmd {
		nk := g.numkeys(1, 3)
		return fzcs(cmpExact, fzJoin("ZINTER", nk, g.weightsAggregate(len(nk)-1, true)))
	}},
	{"zdiff", "zset", 1, func(g *fgen) fcmd {
		args := fzJoin("ZDIFF", g.numkeys(1, 3))
		if g.coin(0.4) {
			args = append(args, g.kw("WITHSCORES"))
		}
		return fzcs(cmpExact, args)
	}},
	{"zintercard", "zset", 1, func(g *fgen) fcmd { return fzcs(cmpExact, fzJoin("ZINTERCARD", g.numkeys(1, 3), g.limitOnly())) }},
	{"zrandmember", "zset", 1, func(g *fgen) fcmd {
		args := []string{"ZRANDMEMBER", g.key()}
		if g.coin(0.6) {
			args = append(args, g.count())
			if g.coin(0.4) {
				args = append(args, g.kw("WITHSCORES"))
			}
		}
		return fzcs(cmpShape, args)
	}},
	{"zscan", "zset", 1, func(g *fgen) fcmd { return fzcs(cmpScanPairs, fzJoin("ZSCAN", g.key(), g.cursor(), g.scanOpts(false))) }},
}

func (g *fgen) expireCond() []string {
	if g.coin(0.3) {
		return []string{g.kw(g.pick([]string{"NX", "XX", "GT", "LT", "XY"}))}
	}
	return nil
}

func (g *fgen) limitOnly() []string {
	if g.coin(0.3) {
		return []string{g.kw("LIMIT"), g.count()}
	}
	return nil
}

func (g *fgen) withScoresLimit() []string {
	var opts [][]string
	if g.coin(0.4) {
		opts = append(opts, []string{g.kw("WITHSCORES")})
	}
	if l := g.limitOpt(); l != nil {
		opts = append(opts, l)
	}
	return g.shuffled(opts)
}

// registered reports whether walkerd knows the command ("object|encoding":
// the subcommand).
func fzRegistered(name string) bool {
	parent, sub, hasSub := strings.Cut(name, "|")
	s := command.Lookup([]byte(parent))
	if s == nil {
		return false
	}
	if hasSub {
		return s.Sub([]byte(sub)) != nil
	}
	return true
}

// fuzzMoreSpecs are generators that other files add in their init
// (fuzzdiff_gen_<group>_test.go), one file per command group.
var fuzzMoreSpecs []fspec

// fuzzMoreGroups are the focus groups those files add.
var fuzzMoreGroups []string

// fuzzPreludes open a sequence whose focus is their group with commands
// of their own (a stream filled with hundreds of entries), on top of the
// sequence's length.
var fuzzPreludes = map[string]func(g *fgen) []fcmd{}

// fuzzSpecs are the generators of the commands walkerd registers.
func fuzzSpecs() []fspec {
	var out []fspec
	for _, s := range append(fuzzAllSpecs[:len(fuzzAllSpecs):len(fuzzAllSpecs)], fuzzMoreSpecs...) {
		if fzRegistered(s.name) {
			out = append(out, s)
		}
	}
	return out
}

// fzConfig is set when walkerd has CONFIG SET: then a tenth of the
// sequences start by lowering an encoding threshold, so that OBJECT
// ENCODING meets the conversions (the prelude of every run restores
// Redis's defaults).
var fzConfig bool

// fzResp3 is set when walkerd answers HELLO 3 with a map (fuzzdiff_test.go
// asks at the start): then a fifth of the sequences use it.
var fzResp3 bool

var fuzzGroups = []string{"string", "generic", "hash", "list", "set", "zset"}

// genSequence builds one random sequence of n commands from specs: most
// from the sequence's focus group, some wrapped in MULTI/EXEC, some with
// a mangled argument list (wrong arity, garbage in place of an argument).
func genSequence(r *rand.Rand, specs []fspec, n int) []fcmd {
	groups := append(fuzzGroups[:len(fuzzGroups):len(fuzzGroups)], fuzzMoreGroups...)
	g := &fgen{r: r, focus: groups[r.IntN(len(groups))]}
	var focus []fspec
	totalAll, totalFocus := 0, 0
	for _, s := range specs {
		totalAll += s.w
		if s.group == g.focus {
			focus = append(focus, s)
			totalFocus += s.w
		}
	}
	choose := func() fspec {
		list, total := specs, totalAll
		if totalFocus > 0 && r.IntN(10) < 6 {
			list, total = focus, totalFocus
		}
		x := r.IntN(total)
		for _, s := range list {
			if x < s.w {
				return s
			}
			x -= s.w
		}
		return list[len(list)-1]
	}
	one := func() fcmd {
		sp := choose()
		fc := sp.gen(g)
		// SPOP is generated only with counts that pop the whole set: a
		// mangled one could pop a random member.
		if r.IntN(100) < 6 && sp.name != "spop" {
			if m := g.mangle(fc.args); blockingTimeoutOK(m) {
				fc.args = m
			}
		}
		if r.IntN(10) == 0 {
			fc.args[0] = strings.ToLower(fc.args[0])
		}
		return fc
	}
	var out []fcmd
	// A fifth of the sequences speak RESP3: maps, sets, doubles, nulls.
	if fzResp3 && r.IntN(5) == 0 {
		out = append(out, fzc(cmpShape, "HELLO", "3"))
	}
	if fzConfig && r.IntN(10) == 0 {
		for range 1 + r.IntN(2) {
			out = append(out, fzc(cmpExact, "CONFIG", "SET",
				g.pick([]string{"hash-max-listpack-entries", "hash-max-listpack-value", "zset-max-listpack-entries",
					"zset-max-listpack-value", "set-max-intset-entries", "hash-max-ziplist-entries"}),
				g.pick([]string{"0", "1", "2", "3", "4", "abc", "-1"})))
		}
	}
	if p := fuzzPreludes[g.focus]; p != nil {
		pre := p(g)
		out = append(out, pre...)
		n += len(pre)
	}
	multi := fzRegistered("multi") && fzRegistered("exec")
	for len(out) < n {
		if multi && r.IntN(20) == 0 {
			// WATCH, then commands that may touch the watched key: EXEC
			// must abort exactly when Redis's signalModifiedKey ran.
			if fzRegistered("watch") && r.IntN(2) == 0 {
				g.hot = g.key()
				out = append(out, fzc(cmpExact, "WATCH", g.hot))
				for range r.IntN(3) {
					out = append(out, one())
				}
				g.hot = ""
			}
			out = append(out, fzc(cmpExact, "MULTI"))
			for range 1 + r.IntN(4) {
				out = append(out, one())
			}
			if r.IntN(5) == 0 && fzRegistered("discard") {
				out = append(out, fzc(cmpExact, "DISCARD"))
			} else {
				out = append(out, fzc(cmpExec, "EXEC"))
			}
			continue
		}
		out = append(out, one())
	}
	// Now and then, a blocking command on a second connection, then a
	// command on the first that may serve it (a push to its key).
	if r.IntN(40) == 0 {
		if x, key, group, ok := g.blocker(specs); ok {
			out = append(out, x)
			g.hot, g.focus = key, group
			out = append(out, one())
			g.hot = ""
		}
	}
	return out
}

// blocker generates a blocking command with a 0.2 s timeout for the
// second connection, and the key and group it waits on.
func (g *fgen) blocker(specs []fspec) (x fcmd, key, group string, ok bool) {
	var bs []fspec
	for _, s := range specs {
		switch s.name {
		case "blpop", "brpop", "blmove", "brpoplpush", "blmpop", "bzpopmin", "bzpopmax", "bzmpop":
			bs = append(bs, s)
		}
	}
	if len(bs) == 0 {
		return x, "", "", false
	}
	s := bs[g.r.IntN(len(bs))]
	x = s.gen(g)
	x.other = true
	switch s.name {
	case "blmpop", "bzmpop":
		x.args[1] = "0.2"
		key = x.args[3]
	default:
		x.args[len(x.args)-1] = "0.2"
		key = x.args[1]
	}
	return x, key, s.group, true
}

// mangle breaks an argument list: drops the last argument, adds one, or
// replaces one with garbage.
func (g *fgen) mangle(args []string) []string {
	args = append([]string(nil), args...)
	switch g.r.IntN(3) {
	case 0:
		if len(args) > 1 {
			return args[:len(args)-1]
		}
		fallthrough
	case 1:
		return append(args, g.pick(fzGarbage))
	default:
		if len(args) > 1 {
			args[1+g.r.IntN(len(args)-1)] = g.pick(fzGarbage)
		}
		return args
	}
}

// blockingTimeoutOK: a blocking command's timeout argument (if the command
// is one) is not one that blocks for long (0: forever), so that a mangled
// argument list cannot hang the run.
func blockingTimeoutOK(args []string) bool {
	var t string
	switch strings.ToUpper(args[0]) {
	case "BLPOP", "BRPOP", "BZPOPMIN", "BZPOPMAX", "BLMOVE", "BRPOPLPUSH":
		t = args[len(args)-1]
	case "BLMPOP", "BZMPOP":
		if len(args) < 2 {
			return true
		}
		t = args[1]
	default:
		return true
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	return err != nil || v < 0 || (v > 0 && v <= 0.05)
}
