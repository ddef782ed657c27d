package command

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// Sorted sets (t_zset.c). A sorted set is two element families under its
// version (coll.go): 'm' member -> score (8 bytes) and 's' sortable score
// member -> empty. ZSCORE is one lookup of the first; every walk in score
// order (ranges by score, by lex, by rank, pops) is one ordered walk of
// the second, which orders members as Redis's skiplist and listpack do:
// by score, then by member bytes.
//
// Positions come from the engine's counted keydir tree: ZRANK, ZREVRANK,
// ZCOUNT, ZRANGE by index, ZREMRANGEBYRANK and ZRANDMEMBER run in its
// ViewIndexed (FlagByPosition), where a rank costs O(log² N) and finding
// a position O(log N), as coll.rank and coll.at give them. When the
// batch being applied already wrote the set (its overlay), positions
// fall back to a walk from the nearer end. ZLEXCOUNT walks the range it
// counts (O(log N + M)).
//
// Scores are stored as Redis's listpack encoding gives them back: -0 is
// stored as 0 (a listpack keeps "0"); replies computed by the command
// (ZINCRBY's new score, ZUNION's scores) keep their sign as Redis sends
// them.

func init() {
	z := func(name string, arity int, flags Flags, first, last, step int, since string,
		parse func([][]byte, int64) (any, error), run func(*ctx, [][]byte, any)) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Cats: CatSortedSet, FirstKey: first, LastKey: last, Step: step,
			Group: "sorted-set", Since: since, parse: parse, run: run}
	}
	w, wd, wdf, wf := FlagWrite, FlagWrite|FlagDenyOOM, FlagWrite|FlagDenyOOM|FlagFast, FlagWrite|FlagFast
	r, rf := FlagReadonly, FlagReadonly|FlagFast
	register(
		z("zadd", -4, wdf, 1, 1, 1, "1.2.0", parseZadd, runZadd),
		z("zincrby", 4, wdf, 1, 1, 1, "1.2.0", parseZadd, runZadd),
		z("zrem", -3, wf, 1, 1, 1, "1.2.0", nil, runZrem),
		z("zcard", 2, rf, 1, 1, 1, "1.2.0", nil, runZcard),
		z("zscore", 3, rf, 1, 1, 1, "1.2.0", nil, runZscore),
		z("zmscore", -3, rf, 1, 1, 1, "6.2.0", nil, runZmscore),
		z("zrank", 3, rf|FlagByPosition, 1, 1, 1, "2.0.0", nil, runZrank),
		z("zrevrank", 3, rf|FlagByPosition, 1, 1, 1, "2.0.0", nil, runZrank),
		z("zcount", 4, rf|FlagByPosition, 1, 1, 1, "2.0.0", parseZcount, runZcount),
		z("zlexcount", 4, rf, 1, 1, 1, "2.8.9", parseZlexcount, runZlexcount),
		z("zrange", -4, r|FlagByPosition, 1, 1, 1, "1.2.0", parseZrange, runZrange),
		z("zrangestore", -5, wd|FlagByPosition, 1, 2, 1, "6.2.0", parseZrange, runZrange),
		z("zrevrange", -4, r|FlagByPosition, 1, 1, 1, "1.2.0", parseZrange, runZrange),
		z("zrangebyscore", -4, r, 1, 1, 1, "1.0.5", parseZrange, runZrange),
		z("zrevrangebyscore", -4, r, 1, 1, 1, "2.2.0", parseZrange, runZrange),
		z("zrangebylex", -4, r, 1, 1, 1, "2.8.9", parseZrange, runZrange),
		z("zrevrangebylex", -4, r, 1, 1, 1, "2.8.9", parseZrange, runZrange),
		z("zremrangebyrank", 4, w|FlagByPosition, 1, 1, 1, "2.0.0", parseZremrange, runZremrange),
		z("zremrangebyscore", 4, w, 1, 1, 1, "1.2.0", parseZremrange, runZremrange),
		z("zremrangebylex", 4, w, 1, 1, 1, "2.8.9", parseZremrange, runZremrange),
		z("zpopmin", -2, wf, 1, 1, 1, "5.0.0", parseZpop, runZpop),
		z("zpopmax", -2, wf, 1, 1, 1, "5.0.0", parseZpop, runZpop),
		z("zmpop", -4, w|FlagMovableKeys, 0, 0, 0, "7.0.0", parseZmpop, runZmpop),
		z("zrandmember", -2, r|FlagByPosition, 1, 1, 1, "6.2.0", parseZrandmember, runZrandmember),
	)
}

// Sorted set errors, worded as t_zset.c words them.
const (
	errZNaN         Error = "ERR resulting score is not a number (NaN)"
	errZXXNX        Error = "ERR XX and NX options at the same time are not compatible"
	errZGTLTNX      Error = "ERR GT, LT, and/or NX options at the same time are not compatible"
	errZIncrPairs   Error = "ERR INCR option supports a single increment-element pair"
	errZMinMax      Error = "ERR min or max is not a float"
	errZLexMinMax   Error = "ERR min or max not valid string range item"
	errZLimitRank   Error = "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
	errZScoresLex   Error = "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
	errZPositive    Error = "ERR value is out of range, must be positive"
	errZRandRange   Error = "ERR value is out of range"
	errZRandCount   Error = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
	errZWeight      Error = "ERR weight value is not a float"
	errZLimitNegate Error = "ERR LIMIT can't be negative"
)

// The element families' first bytes, as element-byte prefixes.
var (
	zmFam = []byte{zMember}
	zsFam = []byte{zScore}
)

// zEntry is one member of a sorted set with its score.
type zEntry struct {
	member []byte
	score  float64
}

// zCompare orders entries as Redis orders a sorted set: by score (-0 and
// 0 alike), then by member bytes (sdscmp: memcmp, then length).
func zCompare(a, b zEntry) int {
	switch {
	case a.score < b.score:
		return -1
	case a.score > b.score:
		return 1
	}
	return bytes.Compare(a.member, b.member)
}

// openZset opens a sorted set key, answering WRONGTYPE itself: nil then.
func (c *ctx) openZset(key []byte) *coll {
	co, wrong := c.openColl(key, keyspace.ZSet)
	if wrong {
		c.r.Error(errWrongType)
		return nil
	}
	return co
}

// zscore is a member's score: one lookup of its 'm' element.
func (co *coll) zscore(c *ctx, member []byte) (float64, bool) {
	v, ok := co.get(c, zmFam, member)
	if !ok {
		return 0, false
	}
	return zScoreOf(v), true
}

// zstoreScore is a score as it is stored: -0 becomes 0, as Redis's
// listpack encoding keeps it.
func zstoreScore(f float64) float64 {
	if f == 0 {
		return 0
	}
	return f
}

// zset sets member's score to score (NaN never comes here). had and old
// are what zscore gave for it: a new member adds one to the count. At most
// three writes: the 'm' element, the old 's' element removed, the new one.
func (co *coll) zset(c *ctx, member []byte, old float64, had bool, score float64) {
	score = zstoreScore(score)
	ns := zSortable(score)
	if had {
		if math.Float64bits(old) == math.Float64bits(score) {
			return
		}
		if os := zSortable(old); !bytes.Equal(os, ns) {
			co.remove(c, zsFam, os, member)
			co.put(c, nil, zsFam, ns, member)
		}
	} else {
		co.put(c, nil, zsFam, ns, member)
		co.add(1)
	}
	co.put(c, zScoreBytes(score), zmFam, member)
}

// zdel removes a member whose score is score: two writes.
func (co *coll) zdel(c *ctx, member []byte, score float64) {
	co.remove(c, zmFam, member)
	co.remove(c, zsFam, zSortable(score), member)
	co.add(-1)
}

// zwalk walks the 's' family over the element bytes [lower, upper) (nil:
// the whole family), forward or in reverse, calling f on each entry until
// it returns false. The entries' bytes are copies.
func (co *coll) zwalk(c *ctx, lower, upper []byte, reverse bool, f func(zEntry) bool) {
	if lower == nil {
		lower = zsFam
	}
	if upper == nil {
		upper = []byte{zScore + 1}
	}
	if bytes.Compare(lower, upper) >= 0 {
		return
	}
	it := co.elems(c, lower, upper, reverse)
	defer it.close()
	for ; it.Valid(); it.Next() {
		e := it.Key()[len(co.prefix):]
		if len(e) < 9 {
			continue
		}
		if !f(zEntry{member: slices.Clone(e[9:]), score: zUnsortable(e[1:9])}) {
			return
		}
	}
}

// zcountKeys counts the 's' elements in [lower, upper) without decoding
// them.
//
// In an indexed View (FlagByPosition) the engine counts them in
// O(log² N) instead.
func (co *coll) zcountKeys(c *ctx, lower, upper []byte) int64 {
	if bytes.Compare(lower, upper) >= 0 {
		return 0
	}
	if n, ok := co.rank(c, lower, upper); ok {
		return int64(n)
	}
	it := co.elems(c, lower, upper, false)
	defer it.close()
	n := int64(0)
	for ; it.Valid(); it.Next() {
		n++
	}
	return n
}

// zsElem is the 's' element bytes of a member with a score.
func zsElem(score float64, member []byte) []byte {
	b := make([]byte, 0, 9+len(member))
	b = append(b, zScore)
	b = append(b, zSortable(score)...)
	return append(b, member...)
}

// zend is the first (or, last, the last) entry of a sorted set.
func (co *coll) zend(c *ctx, last bool) (zEntry, bool) {
	var out zEntry
	found := false
	co.zwalk(c, nil, nil, last, func(e zEntry) bool {
		out, found = e, true
		return false
	})
	return out, found
}

// --- score and range parsing ---

// cIsSpace is C's isspace in the C locale.
func cIsSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\v' || b == '\f' || b == '\r'
}

// zStrtod parses all of s as C's strtod does in the C locale (an
// optional sign, then inf/infinity, nan, a hexadecimal 0x float with an
// optional p exponent, or a decimal float with an optional e exponent):
// ok is false when strtod would not consume all of s. Overflow gives
// ±Inf; tiny reports a value that underflowed to zero from non-zero
// digits (strtod's ERANGE with 0). NaN is returned as such.
func zStrtod(s []byte) (f float64, tiny, ok bool) {
	str := string(s)
	i := 0
	sign := ""
	if i < len(str) && (str[i] == '+' || str[i] == '-') {
		sign = str[:1]
		i++
	}
	body := strings.ToLower(str[i:])
	switch {
	case body == "inf" || body == "infinity":
		if sign == "-" {
			return math.Inf(-1), false, true
		}
		return math.Inf(1), false, true
	case strings.HasPrefix(body, "nan"):
		if body == "nan" || (len(body) > 4 && body[3] == '(' && body[len(body)-1] == ')' &&
			!strings.ContainsFunc(body[4:len(body)-1], func(r rune) bool {
				return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r == '_')
			})) {
			return math.NaN(), false, true
		}
		return 0, false, false
	}
	hex := len(body) >= 2 && body[0] == '0' && body[1] == 'x'
	isDigit := func(b byte) bool { return b >= '0' && b <= '9' }
	if hex {
		isDigit = func(b byte) bool { return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' }
	}
	j := 0
	if hex {
		j = 2
	}
	digits, nonzero := 0, false
	for k := 0; k < 2; k++ { // the digits, then those after a '.'
		for j < len(body) && isDigit(body[j]) {
			digits++
			nonzero = nonzero || body[j] != '0'
			j++
		}
		if k == 0 && j < len(body) && body[j] == '.' {
			j++
			continue
		}
		break
	}
	if digits == 0 {
		return 0, false, false
	}
	expChar := byte('e')
	if hex {
		expChar = 'p'
	}
	hasExp := false
	if j < len(body) && body[j] == expChar {
		k := j + 1
		if k < len(body) && (body[k] == '+' || body[k] == '-') {
			k++
		}
		start := k
		for k < len(body) && body[k] >= '0' && body[k] <= '9' {
			k++
		}
		if k == start {
			return 0, false, false // strtod stops before the exponent
		}
		j, hasExp = k, true
	}
	if j != len(body) {
		return 0, false, false
	}
	if hex && !hasExp {
		body += "p0" // Go wants the exponent of a hexadecimal float
	}
	v, err := strconv.ParseFloat(sign+body, 64)
	if err != nil && !math.IsInf(v, 0) {
		return 0, false, false
	}
	return v, v == 0 && nonzero, true
}

// parseZScore parses a score, an increment or a weight as Redis's
// getDoubleFromObject (object.c) does: all of the argument, no leading
// space, no NaN, and neither an overflow nor an underflow to zero
// (strtod's ERANGE with HUGE_VAL or 0). "inf", "+inf", "-inf" and
// "infinity" are fine.
func parseZScore(b []byte) (float64, bool) {
	if len(b) == 0 || cIsSpace(b[0]) {
		return 0, false
	}
	f, tiny, ok := zStrtod(b)
	if !ok || tiny || math.IsNaN(f) {
		return 0, false
	}
	if math.IsInf(f, 0) {
		// Only a literal infinity: an overflowing number is ERANGE.
		body := strings.ToLower(strings.TrimLeft(string(b), "+-"))
		if body != "inf" && body != "infinity" {
			return 0, false
		}
	}
	return f, true
}

// zRangeBound parses one end of a score range as t_zset.c's
// zslParseRange does with strtod: an optional '(' for exclusive, then a
// number that strtod reads up to the end of the C string (leading spaces
// allowed, an empty string is 0, overflow is ±inf); NaN refused.
func zRangeBound(b []byte) (f float64, ex, ok bool) {
	if len(b) > 0 && b[0] == '(' {
		ex = true
		b = b[1:]
	}
	b = cstr(b)
	if len(b) == 0 {
		return 0, ex, true
	}
	t := b
	for len(t) > 0 && cIsSpace(t[0]) {
		t = t[1:]
	}
	f, _, ok = zStrtod(t)
	if !ok || len(t) == 0 || math.IsNaN(f) {
		return 0, false, false
	}
	return f, ex, true
}

// zRange is a score range (zrangespec).
type zRange struct {
	min, max     float64
	minex, maxex bool
}

// parseZRange parses min and max as zslParseRange does; the error is
// "ERR min or max is not a float".
func parseZRange(min, max []byte) (zRange, error) {
	var r zRange
	var ok1, ok2 bool
	r.min, r.minex, ok1 = zRangeBound(min)
	r.max, r.maxex, ok2 = zRangeBound(max)
	if !ok1 || !ok2 {
		return r, errZMinMax
	}
	return r, nil
}

// empty reports a range no score can be in (zslIsInRange's first test).
func (r zRange) empty() bool {
	return r.min > r.max || (r.min == r.max && (r.minex || r.maxex))
}

func (r zRange) gteMin(v float64) bool {
	if r.minex {
		return v > r.min
	}
	return v >= r.min
}

func (r zRange) lteMax(v float64) bool {
	if r.maxex {
		return v < r.max
	}
	return v <= r.max
}

// bounds are the 's' element bytes [lower, upper) holding the range.
func (r zRange) bounds() (lower, upper []byte) {
	lower = append(slices.Clone(zsFam), zSortable(r.min)...)
	if r.minex {
		lower = keyspace.PrefixEnd(lower)
	}
	upper = append(slices.Clone(zsFam), zSortable(r.max)...)
	if !r.maxex {
		upper = keyspace.PrefixEnd(upper)
	}
	return lower, upper
}

// zLexItem is one end of a lex range: "-" (the least string, kind -1),
// "+" (the greatest, kind 1) or a string (kind 0), exclusive or not.
type zLexItem struct {
	kind int8
	val  []byte
	ex   bool
}

// zLexRange is a lex range (zlexrangespec).
type zLexRange struct{ min, max zLexItem }

// parseZLexItem parses one end as zslParseLexRangeItem does: "+" or "-"
// alone (the C string ends after it), or '(' or '[' then the string.
func parseZLexItem(b []byte) (zLexItem, bool) {
	if len(b) == 0 {
		return zLexItem{}, false
	}
	switch b[0] {
	case '+', '-':
		if len(b) > 1 && b[1] != 0 {
			return zLexItem{}, false
		}
		k := int8(1)
		if b[0] == '-' {
			k = -1
		}
		return zLexItem{kind: k, ex: true}, true
	case '(':
		return zLexItem{val: b[1:], ex: true}, true
	case '[':
		return zLexItem{val: b[1:]}, true
	}
	return zLexItem{}, false
}

// parseZLexRange parses min and max as zslParseLexRange does; the error
// is "ERR min or max not valid string range item".
func parseZLexRange(min, max []byte) (zLexRange, error) {
	lo, ok1 := parseZLexItem(min)
	hi, ok2 := parseZLexItem(max)
	if !ok1 || !ok2 {
		return zLexRange{}, errZLexMinMax
	}
	return zLexRange{lo, hi}, nil
}

// zLexCmp compares as sdscmplex does: "-" below and "+" above every
// string, each equal to itself.
func zLexCmp(a, b zLexItem) int {
	switch {
	case a.kind == b.kind && a.kind != 0:
		return 0
	case a.kind == -1 || b.kind == 1:
		return -1
	case a.kind == 1 || b.kind == -1:
		return 1
	}
	return bytes.Compare(a.val, b.val)
}

func (r zLexRange) empty() bool {
	cmp := zLexCmp(r.min, r.max)
	return cmp > 0 || (cmp == 0 && (r.min.ex || r.max.ex))
}

func (r zLexRange) gteMin(m []byte) bool {
	cmp := zLexCmp(zLexItem{val: m}, r.min)
	if r.min.ex {
		return cmp > 0
	}
	return cmp >= 0
}

func (r zLexRange) lteMax(m []byte) bool {
	cmp := zLexCmp(zLexItem{val: m}, r.max)
	if r.max.ex {
		return cmp < 0
	}
	return cmp <= 0
}

// --- range walks ---

// zByRank returns the entries at ranks [start, end] (Redis's indexes,
// negative from the end, clamped as genericZrangebyrankCommand does), in
// order, or from the highest score when rev. It walks from whichever end
// of the set is nearer: O(min(lo, N-hi) + M).
func (c *ctx) zByRank(co *coll, start, end int64, rev bool) []zEntry {
	lo, hi, ok := zRankRange(co.count, start, end)
	if !ok {
		return nil
	}
	if rev { // ranks from the top are positions from the bottom
		lo, hi = co.count-1-hi, co.count-1-lo
	}
	out := c.zPositions(co, lo, hi)
	if rev {
		slices.Reverse(out)
	}
	return out
}

// zRankRange clamps Redis's start and end indexes over n members to
// positions lo..hi; ok is false for an empty range.
func zRankRange(n, start, end int64) (lo, hi int64, ok bool) {
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	if start < 0 {
		start = 0
	}
	if start > end || start >= n {
		return 0, 0, false
	}
	if end >= n {
		end = n - 1
	}
	return start, end, true
}

// zPositions returns the entries at positions lo..hi (0-based, in score
// order), walking from the nearer end.
//
// In an indexed View the engine finds position lo in O(log N), and one
// walk of hi-lo+1 entries follows: O(log N + M).
func (c *ctx) zPositions(co *coll, lo, hi int64) []zEntry {
	out := make([]zEntry, 0, min(hi-lo+1, 1<<16))
	if first, found, ok := co.at(c, zsFam, int(lo)); ok {
		if found {
			co.zwalk(c, first, nil, false, func(e zEntry) bool {
				out = append(out, e)
				return int64(len(out)) <= hi-lo
			})
		}
		return out
	}
	fromEnd := co.count - 1 - hi
	if lo <= fromEnd {
		pos := int64(0)
		co.zwalk(c, nil, nil, false, func(e zEntry) bool {
			if pos >= lo {
				out = append(out, e)
			}
			pos++
			return pos <= hi
		})
		return out
	}
	pos := co.count - 1
	co.zwalk(c, nil, nil, true, func(e zEntry) bool {
		if pos <= hi {
			out = append(out, e)
		}
		pos--
		return pos >= lo
	})
	slices.Reverse(out)
	return out
}

// zByScore returns the entries in a score range, lowest first (highest
// first when rev), after skipping offset of them, at most limit (negative:
// no limit), as genericZrangebyscoreCommand does: a negative offset skips
// everything.
func (c *ctx) zByScore(co *coll, r zRange, rev bool, offset, limit int64) []zEntry {
	if r.empty() || offset < 0 || (offset > 0 && offset >= co.count) || limit == 0 {
		return nil
	}
	var out []zEntry
	lower, upper := r.bounds()
	co.zwalk(c, lower, upper, rev, func(e zEntry) bool {
		if offset > 0 {
			offset--
			return true
		}
		out = append(out, e)
		return int64(len(out)) != limit
	})
	return out
}

// zByLex returns the entries of a lex range as Redis's listpack encoding
// finds them (zzlFirstInLexRange, zzlLastInLexRange): empty unless the
// last member is >= min and the first <= max; then, walking in score
// order from the start (from the end when rev), the first member >= min
// (<= max) starts the range if it is also <= max (>= min); offset members
// are skipped unchecked and up to limit (negative: no limit) taken while
// they stay <= max (>= min). On a set whose members share one score
// (what lex ranges are for) this is the plain lex range, and the walk
// starts at min (max); on mixed scores it is what Redis's listpack
// answers. A negative offset skips everything.
func (c *ctx) zByLex(co *coll, r zLexRange, rev bool, offset, limit int64) []zEntry {
	if r.empty() || co.count == 0 || limit == 0 || offset < 0 {
		return nil
	}
	first, ok1 := co.zend(c, false)
	last, ok2 := co.zend(c, true)
	if !ok1 || !ok2 || !r.gteMin(last.member) || !r.lteMax(first.member) {
		return nil
	}
	var lower, upper []byte // nil: the whole family
	if math.Float64bits(zstoreScore(first.score)) == math.Float64bits(zstoreScore(last.score)) {
		// One score: the members are in lex order; seek to the range.
		base := append(slices.Clone(zsFam), zSortable(first.score)...)
		switch r.min.kind {
		case 0:
			lower = append(slices.Clone(base), r.min.val...)
			if r.min.ex {
				lower = append(lower, 0)
			}
		case -1:
			lower = base
		}
		switch r.max.kind {
		case 0:
			upper = append(slices.Clone(base), r.max.val...)
			if !r.max.ex {
				upper = append(upper, 0)
			}
		case 1:
			upper = keyspace.PrefixEnd(base)
		}
	}
	inStart, inEnd := r.gteMin, r.lteMax
	if rev {
		inStart, inEnd = r.lteMax, r.gteMin
	}
	var out []zEntry
	started := false
	co.zwalk(c, lower, upper, rev, func(e zEntry) bool {
		if !started {
			if !inStart(e.member) {
				return true
			}
			if !inEnd(e.member) {
				return false
			}
			started = true
		}
		if offset > 0 {
			offset--
			return true
		}
		if !inEnd(e.member) {
			return false
		}
		out = append(out, e)
		return int64(len(out)) != limit
	})
	return out
}

// --- ZADD, ZINCRBY ---

type zaddArgs struct {
	nx, xx, gt, lt, ch, incr bool
	first                    int // the argument index of the first score
	scores                   []float64
}

// parseZadd parses ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member
// [score member ...] and ZINCRBY key increment member (which is ZADD
// with INCR, and reads options as ZADD does) as zaddGenericCommand does,
// in its order: the options (any case, any order, repeats allowed), an
// even, non-zero number of arguments after them (else a syntax error),
// the incompatible options, INCR with one pair, then every score
// (getDoubleFromObject: "ERR value is not a valid float").
func parseZadd(args [][]byte, now int64) (any, error) {
	a := &zaddArgs{incr: isName(args[0], "zincrby")}
	j := 2
	for ; j < len(args); j++ {
		o := args[j]
		switch {
		case equalFold(o, "nx"):
			a.nx = true
		case equalFold(o, "xx"):
			a.xx = true
		case equalFold(o, "ch"):
			a.ch = true
		case equalFold(o, "incr"):
			a.incr = true
		case equalFold(o, "gt"):
			a.gt = true
		case equalFold(o, "lt"):
			a.lt = true
		default:
			goto done
		}
	}
done:
	elements := len(args) - j
	if elements%2 != 0 || elements == 0 {
		return nil, ErrSyntax
	}
	switch {
	case a.nx && a.xx:
		return nil, errZXXNX
	case (a.gt && a.nx) || (a.lt && a.nx) || (a.gt && a.lt):
		return nil, errZGTLTNX
	case a.incr && elements > 2:
		return nil, errZIncrPairs
	}
	a.first = j
	for i := j; i < len(args); i += 2 {
		f, ok := parseZScore(args[i])
		if !ok {
			return nil, ErrNotFloat
		}
		a.scores = append(a.scores, f)
	}
	return a, nil
}

// runZadd is ZADD and ZINCRBY, as zaddGenericCommand and zsetAdd answer
// them: the number of members added (with CH, added or changed), or with
// INCR the new score (a double; null when NX, XX, GT or LT left the
// member alone). A missing key with XX stays missing. An increment that
// makes NaN (inf + -inf) is "ERR resulting score is not a number (NaN)".
// One lookup and up to three writes per member; event "zadd" ("zincr"
// with INCR) when anything was added or changed.
func runZadd(c *ctx, args [][]byte, p any) {
	a := p.(*zaddArgs)
	key := args[1]
	co := c.openZset(key)
	if co == nil {
		return
	}
	var added, updated, processed int64
	var score float64
	if co.found || !a.xx {
		for i, s := range a.scores {
			member := args[a.first+2*i+1]
			cur, had := co.zscore(c, member)
			switch {
			case had:
				if a.nx {
					continue
				}
				if a.incr {
					s += cur
					if math.IsNaN(s) {
						c.r.Error(string(errZNaN))
						return
					}
				}
				if (a.lt && s >= cur) || (a.gt && s <= cur) {
					continue
				}
				if s != cur {
					co.zset(c, member, cur, true, s)
					updated++
				}
			case !a.xx:
				co.zset(c, member, 0, false, s)
				added++
			default:
				continue
			}
			processed++
			score = s
		}
	}
	if added+updated > 0 {
		co.save(c)
		if a.incr {
			c.touch(key, "zincr")
		} else {
			c.touch(key, "zadd")
		}
	}
	switch {
	case a.incr && processed > 0:
		c.r.Double(score)
	case a.incr:
		c.r.Null()
	case a.ch:
		c.r.Int(added + updated)
	default:
		c.r.Int(added)
	}
}

// --- ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK ---

// runZrem is ZREM key member [member ...]: the number removed. One lookup
// and two writes per member removed; events "zrem", and "del" when the
// set is left empty (and deleted).
func runZrem(c *ctx, args [][]byte, _ any) {
	co := c.openZset(args[1])
	if co == nil {
		return
	}
	n := int64(0)
	if co.found {
		for _, m := range args[2:] {
			if s, ok := co.zscore(c, m); ok {
				co.zdel(c, m, s)
				n++
			}
		}
	}
	if n > 0 {
		c.touch(args[1], "zrem")
		if co.save(c) {
			c.touch(args[1], "del")
		}
	}
	c.r.Int(n)
}

// runZcard is ZCARD key: the number of members (0 for a missing key).
func runZcard(c *ctx, args [][]byte, _ any) {
	if co := c.openZset(args[1]); co != nil {
		c.r.Int(co.count)
	}
}

// runZscore is ZSCORE key member: the score (a double), null for a
// missing key or member. One lookup.
func runZscore(c *ctx, args [][]byte, _ any) {
	co := c.openZset(args[1])
	if co == nil {
		return
	}
	if s, ok := co.zscore(c, args[2]); ok {
		c.r.Double(s)
	} else {
		c.r.Null()
	}
}

// runZmscore is ZMSCORE key member [member ...]: an array of scores,
// null for each missing member (all of them for a missing key).
func runZmscore(c *ctx, args [][]byte, _ any) {
	c.zscoresReply(args, func(s float64, found bool) {
		if found {
			c.r.Double(s)
		} else {
			c.r.Null()
		}
	})
}

// zscoresReply answers a command of the form CMD key member [member ...]
// (ZMSCORE, GEOPOS, GEOHASH) with an array of one reply per member, each
// written by each from the member's score; WRONGTYPE for a key of another
// type.
func (c *ctx) zscoresReply(args [][]byte, each func(score float64, found bool)) {
	co := c.openZset(args[1])
	if co == nil {
		return
	}
	scores := make([]float64, len(args)-2)
	found := make([]bool, len(args)-2)
	for i, m := range args[2:] {
		scores[i], found[i] = co.zscore(c, m)
	}
	if c.fatal != nil {
		return
	}
	c.r.Array(len(scores))
	for i, s := range scores {
		each(s, found[i])
	}
}

// runZrank is ZRANK and ZREVRANK key member: the member's 0-based rank
// from the lowest (ZREVRANK: highest) score, null for a missing key or
// member. O(rank): it counts the members before it in the walk.
func runZrank(c *ctx, args [][]byte, _ any) {
	co := c.openZset(args[1])
	if co == nil {
		return
	}
	s, ok := co.zscore(c, args[2])
	if !ok {
		c.r.Null()
		return
	}
	at := zsElem(s, args[2])
	var n int64
	if isName(args[0], "zrevrank") {
		n = co.zcountKeys(c, append(at, 0), []byte{zScore + 1})
	} else {
		n = co.zcountKeys(c, zsFam, at)
	}
	if c.fatal == nil {
		c.r.Int(n)
	}
}

// --- ZCOUNT, ZLEXCOUNT ---

func parseZcount(args [][]byte, now int64) (any, error) {
	r, err := parseZRange(args[2], args[3])
	if err != nil {
		return nil, err
	}
	return r, nil
}

// runZcount is ZCOUNT key min max: the members with scores in the range
// ("(" exclusive, "-inf"/"+inf"). O(log N + M): it walks the range.
func runZcount(c *ctx, args [][]byte, p any) {
	r := p.(zRange)
	co := c.openZset(args[1])
	if co == nil {
		return
	}
	n := int64(0)
	if !r.empty() {
		lower, upper := r.bounds()
		n = co.zcountKeys(c, lower, upper)
	}
	if c.fatal == nil {
		c.r.Int(n)
	}
}

func parseZlexcount(args [][]byte, now int64) (any, error) {
	r, err := parseZLexRange(args[2], args[3])
	if err != nil {
		return nil, err
	}
	return r, nil
}

// runZlexcount is ZLEXCOUNT key min max: the members in the lex range
// ("[" inclusive, "(" exclusive, "-" and "+"), found as zByLex finds
// them. It walks the range.
func runZlexcount(c *ctx, args [][]byte, p any) {
	r := p.(zLexRange)
	co := c.openZset(args[1])
	if co == nil {
		return
	}
	n := int64(len(c.zByLex(co, r, false, 0, -1)))
	if c.fatal == nil {
		c.r.Int(n)
	}
}

// --- ZRANGE and its family ---

// Kinds of range.
const (
	zrAuto = iota
	zrRank
	zrScore
	zrLex
)

type zrangeArgs struct {
	src        int // the argument index of the source key
	store      bool
	kind       int
	rev        bool
	start, end int64
	score      zRange
	lex        zLexRange
	withScores bool
	offset     int64
	limit      int64 // -1: none
}

// parseZrange parses ZRANGE, ZRANGESTORE, ZREVRANGE, Z[REV]RANGEBYSCORE
// and Z[REV]RANGEBYLEX as zrangeGenericCommand does, in its order: the
// options after <src> <min> <max> (WITHSCORES but for ZRANGESTORE, LIMIT
// offset count with two integers, REV, BYSCORE and BYLEX where the
// command leaves them open; anything else a syntax error), LIMIT without
// BYSCORE/BYLEX and WITHSCORES with BYLEX refused, then min and max (REV
// with BYSCORE/BYLEX takes max first): integers, score bounds ("ERR min
// or max is not a float") or lex bounds ("ERR min or max not valid
// string range item").
func parseZrange(args [][]byte, now int64) (any, error) {
	a := &zrangeArgs{src: 1, kind: zrAuto, limit: -1}
	dirAuto := true
	switch lowerASCII(args[0]) {
	case "zrangestore":
		a.src, a.store = 2, true
	case "zrevrange":
		a.kind, a.rev, dirAuto = zrRank, true, false
	case "zrangebyscore":
		a.kind, dirAuto = zrScore, false
	case "zrevrangebyscore":
		a.kind, a.rev, dirAuto = zrScore, true, false
	case "zrangebylex":
		a.kind, dirAuto = zrLex, false
	case "zrevrangebylex":
		a.kind, a.rev, dirAuto = zrLex, true, false
	}
	kindAuto := a.kind == zrAuto
	for j := a.src + 3; j < len(args); j++ {
		left := len(args) - j - 1
		o := args[j]
		switch {
		case !a.store && equalFold(o, "withscores"):
			a.withScores = true
		case equalFold(o, "limit") && left >= 2:
			var ok1, ok2 bool
			a.offset, ok1 = ParseInt(args[j+1])
			if ok1 {
				a.limit, ok2 = ParseInt(args[j+2])
			}
			if !ok1 || !ok2 {
				return nil, ErrNotInteger
			}
			j += 2
		case dirAuto && equalFold(o, "rev"):
			a.rev, dirAuto = true, false
		case kindAuto && equalFold(o, "bylex"):
			a.kind, kindAuto = zrLex, false
		case kindAuto && equalFold(o, "byscore"):
			a.kind, kindAuto = zrScore, false
		default:
			return nil, ErrSyntax
		}
	}
	if a.kind == zrAuto {
		a.kind = zrRank
	}
	if a.limit != -1 && a.kind == zrRank {
		return nil, errZLimitRank
	}
	if a.withScores && a.kind == zrLex {
		return nil, errZScoresLex
	}
	minArg, maxArg := args[a.src+1], args[a.src+2]
	if a.rev && a.kind != zrRank {
		minArg, maxArg = maxArg, minArg
	}
	var err error
	switch a.kind {
	case zrRank:
		var ok1, ok2 bool
		a.start, ok1 = ParseInt(minArg)
		if ok1 {
			a.end, ok2 = ParseInt(maxArg)
		}
		if !ok1 || !ok2 {
			return nil, ErrNotInteger
		}
	case zrScore:
		a.score, err = parseZRange(minArg, maxArg)
	case zrLex:
		a.lex, err = parseZLexRange(minArg, maxArg)
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

// runZrange runs the ZRANGE family: the members by rank, score or lex
// range, in order or reversed, with their scores when WITHSCORES (pairs:
// flat in RESP2, pairs in RESP3: Writer.PairArray);
// an empty array for a missing key. ZRANGESTORE stores the range in its
// destination (replacing what it held, without expiry, event
// "zrangestore"; an empty range deletes it, event "del") and answers
// its size.
func runZrange(c *ctx, args [][]byte, p any) {
	a := p.(*zrangeArgs)
	co, wrong := c.openColl(args[a.src], keyspace.ZSet)
	if wrong {
		c.r.Error(errWrongType)
		return
	}
	var res []zEntry
	if co.found {
		switch a.kind {
		case zrRank:
			res = c.zByRank(co, a.start, a.end, a.rev)
		case zrScore:
			res = c.zByScore(co, a.score, a.rev, a.offset, a.limit)
		case zrLex:
			res = c.zByLex(co, a.lex, a.rev, a.offset, a.limit)
		}
	}
	if c.fatal != nil {
		return
	}
	if a.store {
		c.r.Int(c.zstore(args[1], res, "zrangestore"))
		return
	}
	c.zreply(res, a.withScores)
}

// zreply answers entries: their members, or with scores an array of
// pairs.
func (c *ctx) zreply(res []zEntry, withScores bool) {
	if !withScores {
		c.r.Array(len(res))
		for _, e := range res {
			c.r.Bulk(e.member)
		}
		return
	}
	c.r.PairArray(len(res))
	for _, e := range res {
		c.r.Pair()
		c.r.Bulk(e.member)
		c.r.Double(e.score)
	}
}

// zstore replaces key with a sorted set of entries (distinct members),
// under a new version and without expiry, and touches event; no entries
// delete the key (event "del" if it existed). It returns the set's size.
func (c *ctx) zstore(key []byte, entries []zEntry, event string) int64 {
	if len(entries) == 0 {
		if c.exists(key) {
			c.del(key)
			c.touch(key, "del")
		}
		return 0
	}
	co := &coll{key: key, typ: keyspace.ZSet}
	for _, e := range entries {
		co.zset(c, e.member, 0, false, e.score)
	}
	co.save(c)
	c.touch(key, event)
	return co.count
}

// --- ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX ---

type zremrangeArgs struct {
	kind       int
	start, end int64
	score      zRange
	lex        zLexRange
}

// parseZremrange parses the range as zremrangeGenericCommand does before
// it looks the key up: two integers, a score range or a lex range.
func parseZremrange(args [][]byte, now int64) (any, error) {
	a := &zremrangeArgs{}
	var err error
	switch lowerASCII(args[0]) {
	case "zremrangebyrank":
		a.kind = zrRank
		var ok1, ok2 bool
		a.start, ok1 = ParseInt(args[2])
		if ok1 {
			a.end, ok2 = ParseInt(args[3])
		}
		if !ok1 || !ok2 {
			return nil, ErrNotInteger
		}
	case "zremrangebyscore":
		a.kind = zrScore
		a.score, err = parseZRange(args[2], args[3])
	default:
		a.kind = zrLex
		a.lex, err = parseZLexRange(args[2], args[3])
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

// runZremrange is ZREMRANGEBYRANK, ZREMRANGEBYSCORE and ZREMRANGEBYLEX
// key <range>: the number of members removed (the range chosen as
// ZRANGE chooses it), two writes each; events "zremrangebyrank",
// "zremrangebyscore" or "zremrangebylex", and "del" when the set is left
// empty.
func runZremrange(c *ctx, args [][]byte, p any) {
	a := p.(*zremrangeArgs)
	co := c.openZset(args[1])
	if co == nil {
		return
	}
	var res []zEntry
	event := ""
	if co.found {
		switch a.kind {
		case zrRank:
			res, event = c.zByRank(co, a.start, a.end, false), "zremrangebyrank"
		case zrScore:
			res, event = c.zByScore(co, a.score, false, 0, -1), "zremrangebyscore"
		case zrLex:
			res, event = c.zByLex(co, a.lex, false, 0, -1), "zremrangebylex"
		}
	}
	if c.fatal != nil {
		return
	}
	for _, e := range res {
		co.zdel(c, e.member, e.score)
	}
	if len(res) > 0 {
		c.touch(args[1], event)
		if co.save(c) {
			c.touch(args[1], "del")
		}
	}
	c.r.Int(int64(len(res)))
}

// --- ZPOPMIN, ZPOPMAX, ZMPOP ---

// zsetPop pops up to count members with the lowest (or highest, max) scores from key. wrong: WRONGTYPE (nothing replied). It touches "zpopmin"/"zpopmax" and "del" when emptied.
//
// The members come in pop order (lowest first, or highest first when
// max); a missing key, or a count <= 0, pops nothing. O(count) walk, two
// writes per member, as genericZpopCommand pops them.
func (c *ctx) zsetPop(key []byte, max bool, count int64) (members [][]byte, scores []float64, wrong bool) {
	co, wrong := c.openColl(key, keyspace.ZSet)
	if wrong {
		return nil, nil, true
	}
	if !co.found || count <= 0 {
		return nil, nil, false
	}
	var res []zEntry
	co.zwalk(c, nil, nil, max, func(e zEntry) bool {
		res = append(res, e)
		return int64(len(res)) < count
	})
	if c.fatal != nil || len(res) == 0 {
		return nil, nil, false
	}
	for _, e := range res {
		co.zdel(c, e.member, e.score)
		members = append(members, e.member)
		scores = append(scores, e.score)
	}
	if max {
		c.touch(key, "zpopmax")
	} else {
		c.touch(key, "zpopmin")
	}
	if co.save(c) {
		c.touch(key, "del")
	}
	return members, scores, false
}

// parseZpop parses ZPOPMIN/ZPOPMAX key [count] as zpopMinMaxCommand
// does: more arguments are a syntax error; the count a non-negative
// integer ("ERR value is out of range, must be positive"). -1: no count.
func parseZpop(args [][]byte, now int64) (any, error) {
	switch {
	case len(args) > 3:
		return nil, ErrSyntax
	case len(args) == 3:
		n, ok := ParseInt(args[2])
		if !ok || n < 0 {
			return nil, errZPositive
		}
		return n, nil
	}
	return int64(-1), nil
}

// runZpop is ZPOPMIN and ZPOPMAX key [count]: without a count a flat
// [member, score] (empty when there is nothing), with one an array of
// up to count pairs (flat in RESP2, pairs in RESP3). A missing key or a
// count of 0 answer an empty array.
func runZpop(c *ctx, args [][]byte, p any) {
	count := p.(int64)
	n := count
	if n == -1 {
		n = 1
	}
	members, scores, wrong := c.zsetPop(args[1], isName(args[0], "zpopmax"), n)
	switch {
	case wrong:
		c.r.Error(errWrongType)
		return
	case c.fatal != nil:
		return
	case count == -1:
		c.r.Array(2 * len(members))
		for i, m := range members {
			c.r.Bulk(m)
			c.r.Double(scores[i])
		}
		return
	}
	c.r.PairArray(len(members))
	for i, m := range members {
		c.r.Pair()
		c.r.Bulk(m)
		c.r.Double(scores[i])
	}
}

// parseZmpop parses ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]
// as zmpopGenericCommand does (parseMpopArgs).
func parseZmpop(args [][]byte, now int64) (any, error) { return parseMpopArgs(args, 1, true) }

// runZmpop is ZMPOP: it pops from the first key that holds a sorted set
// (WRONGTYPE if the first existing key holds another type) and answers
// [key, [[member, score], ...]] in both protocols, or a null array when
// no key exists.
func runZmpop(c *ctx, args [][]byte, p any) {
	a := p.(*mpopArgs)
	for _, k := range a.keys {
		v, ok := c.lookup(k)
		if !ok {
			continue
		}
		if v.Type != keyspace.ZSet {
			c.r.Error(errWrongType)
			return
		}
		members, scores, wrong := c.zsetPop(k, !a.first, a.count)
		if wrong {
			c.r.Error(errWrongType)
			return
		}
		if c.fatal != nil {
			return
		}
		c.r.Array(2)
		c.r.Bulk(k)
		c.r.Array(len(members))
		for i, m := range members {
			c.r.Array(2)
			c.r.Bulk(m)
			c.r.Double(scores[i])
		}
		return
	}
	if c.fatal == nil {
		c.r.NullArray()
	}
}

// --- ZRANDMEMBER ---

type zrandArgs struct {
	withCount  bool
	count      int64
	withScores bool
}

// parseZrandmember parses ZRANDMEMBER key [count [WITHSCORES]] as
// zrandmemberCommand does before it looks the key up: the count an
// integer within ±LONG_MAX, then the syntax, then, with WITHSCORES, a
// count within ±LONG_MAX/2 ("ERR value is out of range").
func parseZrandmember(args [][]byte, now int64) (any, error) {
	a := &zrandArgs{}
	if len(args) < 3 {
		return a, nil
	}
	n, ok := ParseInt(args[2])
	if !ok {
		return nil, ErrNotInteger
	}
	if n == math.MinInt64 {
		return nil, errZRandCount
	}
	a.withCount, a.count = true, n
	if len(args) > 4 || (len(args) == 4 && !equalFold(args[3], "withscores")) {
		return nil, ErrSyntax
	}
	if len(args) == 4 {
		a.withScores = true
		if n < -math.MaxInt64/2 || n > math.MaxInt64/2 {
			return nil, errZRandRange
		}
	}
	return a, nil
}

// runZrandmember is ZRANDMEMBER key [count [WITHSCORES]], as
// zrandmemberWithCountCommand answers it: without a count a random member
// (null for a missing key); with a count n >= size the whole set from
// the highest score down (the order Redis's listpack gives); with 0 <= n
// < size, n distinct members in score order; with n < 0, |n| members
// picked independently (repeats allowed) in the order picked (walkerd
// refuses |n| above maxRandomRepeat). Scores follow each member with
// WITHSCORES (pairs). Choices come from c.random() and are uniform; one
// walk of the set finds them, O(N).
func runZrandmember(c *ctx, args [][]byte, p any) {
	a := p.(*zrandArgs)
	co := c.openZset(args[1])
	if co == nil {
		return
	}
	if !a.withCount {
		if !co.found {
			c.r.Null()
			return
		}
		res := c.zAt(co, []int64{int64(c.randIndex(uint64(co.count)))})
		if c.fatal == nil && len(res) == 1 {
			c.r.Bulk(res[0].member)
		} else if c.fatal == nil {
			c.r.Null()
		}
		return
	}
	if !co.found || a.count == 0 {
		c.r.Array(0)
		return
	}
	var res []zEntry
	switch {
	case a.count < 0:
		if -a.count > maxRandomRepeat {
			c.r.Error(string(errRandomRepeat))
			return
		}
		picks := make([]int64, -a.count)
		for i := range picks {
			picks[i] = int64(c.randIndex(uint64(co.count)))
		}
		idx := slices.Compact(slices.Sorted(slices.Values(picks)))
		at := c.zAt(co, idx)
		if len(at) != len(idx) {
			return
		}
		res = make([]zEntry, len(picks))
		for i, pk := range picks {
			j, _ := slices.BinarySearch(idx, pk)
			res[i] = at[j]
		}
	case a.count >= co.count:
		co.zwalk(c, nil, nil, true, func(e zEntry) bool {
			res = append(res, e)
			return true
		})
	default:
		// Floyd's sampling: count distinct positions of [0, size).
		n, k := co.count, a.count
		chosen := make(map[int64]bool, k)
		for j := n - k; j < n; j++ {
			t := int64(c.randIndex(uint64(j + 1)))
			if chosen[t] {
				t = j
			}
			chosen[t] = true
		}
		idx := make([]int64, 0, k)
		for i := range chosen {
			idx = append(idx, i)
		}
		slices.Sort(idx)
		res = c.zAt(co, idx)
	}
	if c.fatal != nil {
		return
	}
	c.zreply(res, a.withScores)
}

// zAt returns the entries at the sorted, distinct positions idx, in one
// walk.
//
// In an indexed View few positions are found one by one, O(log N) each.
func (c *ctx) zAt(co *coll, idx []int64) []zEntry {
	if len(idx) == 0 {
		return nil
	}
	out := make([]zEntry, 0, len(idx))
	if int64(len(idx))*32 < co.count {
		if _, _, ok := co.at(c, zsFam, 0); ok {
			for _, i := range idx {
				e, found, _ := co.at(c, zsFam, int(i))
				if !found || len(e) < 9 {
					break
				}
				out = append(out, zEntry{member: slices.Clone(e[9:]), score: zUnsortable(e[1:9])})
			}
			return out
		}
	}
	pos := int64(0)
	co.zwalk(c, nil, nil, false, func(e zEntry) bool {
		if pos == idx[0] {
			out = append(out, e)
			idx = idx[1:]
		}
		pos++
		return len(idx) > 0
	})
	return out
}
