package command

import (
	"bytes"
	"fmt"
	"math"
	"slices"

	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD, as t_zset.c's
// zunionInterDiffGenericCommand computes them. Sets may be inputs: each of
// their members has score 1.

func init() {
	z := func(name string, arity int, flags Flags, first, last, step int, since string) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags | FlagMovableKeys, Cats: CatSortedSet,
			FirstKey: first, LastKey: last, Step: step, Group: "sorted-set", Since: since,
			parse: parseZsetOp, run: runZsetOp}
	}
	r, wd := FlagReadonly, FlagWrite|FlagDenyOOM
	register(
		z("zunion", -3, r, 0, 0, 0, "6.2.0"),
		z("zunionstore", -4, wd, 1, 1, 1, "2.0.0"),
		z("zinter", -3, r, 0, 0, 0, "6.2.0"),
		z("zinterstore", -4, wd, 1, 1, 1, "2.0.0"),
		z("zintercard", -3, r, 0, 0, 0, "7.0.0"),
		z("zdiff", -3, r, 0, 0, 0, "6.2.0"),
		z("zdiffstore", -4, wd, 1, 1, 1, "6.2.0"),
	)
}

// Set operations and aggregates.
const (
	zopUnion = iota
	zopInter
	zopDiff
)

const (
	zaggSum = iota
	zaggMin
	zaggMax
)

type zsetOpArgs struct {
	op         int
	store      bool // the destination is args[1]
	card       bool // ZINTERCARD
	keys       [][]byte
	weights    []float64
	agg        int
	withScores bool
	limit      int64 // ZINTERCARD's LIMIT, 0: none
	// optErr is an error in the options after the keys: Redis reports it
	// after it has looked the keys up (a WRONGTYPE comes first).
	optErr error
}

// parseZsetOp parses ZUNION, ZINTER, ZDIFF, ZINTERCARD numkeys key
// [key ...] [options] and the STORE forms (destination numkeys ...) as
// zunionInterDiffGenericCommand does. Before any key is looked up:
// numkeys an integer, at least 1 ("ERR at least 1 input key is needed for
// '<command>' command"), and no more than the arguments left (syntax
// error). The options are parsed here too, but their errors are kept for
// run, which reports them after the keys' types: WEIGHTS (as many weights
// as keys, "ERR weight value is not a float") and AGGREGATE SUM|MIN|MAX
// but for ZDIFF and ZINTERCARD, WITHSCORES but for the STORE forms and
// ZINTERCARD, LIMIT for ZINTERCARD ("ERR LIMIT can't be negative"), each
// any number of times; anything else a syntax error.
func parseZsetOp(args [][]byte, now int64) (any, error) {
	name := lowerASCII(args[0])
	a := &zsetOpArgs{}
	switch name {
	case "zunion", "zunionstore":
		a.op = zopUnion
	case "zinter", "zinterstore", "zintercard":
		a.op = zopInter
	default:
		a.op = zopDiff
	}
	a.store = name == "zunionstore" || name == "zinterstore" || name == "zdiffstore"
	a.card = name == "zintercard"
	idx := 1
	if a.store {
		idx = 2
	}
	n, ok := ParseInt(args[idx])
	if !ok {
		return nil, ErrNotInteger
	}
	if n < 1 {
		return nil, Error(fmt.Sprintf("ERR at least 1 input key is needed for '%s' command", name))
	}
	if n > int64(len(args)-idx-1) {
		return nil, ErrSyntax
	}
	a.keys = args[idx+1 : idx+1+int(n)]
	a.weights = make([]float64, n)
	for i := range a.weights {
		a.weights[i] = 1
	}
	a.optErr = a.parseOptions(args[idx+1+int(n):])
	return a, nil
}

// parseOptions reads the options after the keys, in
// zunionInterDiffGenericCommand's order of tests.
func (a *zsetOpArgs) parseOptions(opts [][]byte) error {
	setnum := len(a.keys)
	for j := 0; j < len(opts); {
		left := len(opts) - j
		o := opts[j]
		switch {
		case a.op != zopDiff && !a.card && left >= setnum+1 && equalFold(o, "weights"):
			j++
			for i := 0; i < setnum; i, j = i+1, j+1 {
				w, ok := parseZScore(opts[j])
				if !ok {
					return errZWeight
				}
				a.weights[i] = w
			}
		case a.op != zopDiff && !a.card && left >= 2 && equalFold(o, "aggregate"):
			switch v := opts[j+1]; {
			case equalFold(v, "sum"):
				a.agg = zaggSum
			case equalFold(v, "min"):
				a.agg = zaggMin
			case equalFold(v, "max"):
				a.agg = zaggMax
			default:
				return ErrSyntax
			}
			j += 2
		case left >= 1 && !a.store && !a.card && equalFold(o, "withscores"):
			a.withScores = true
			j++
		case a.card && left >= 2 && equalFold(o, "limit"):
			l, ok := ParseInt(opts[j+1])
			if !ok || l < 0 {
				return errZLimitNegate
			}
			a.limit = l
			j += 2
		default:
			return ErrSyntax
		}
	}
	return nil
}

// zsrc is one input of a set operation: a sorted set, a set (scores 1) or
// a missing key (empty).
type zsrc struct {
	key    []byte
	co     *coll // nil: missing
	weight float64
}

func (s *zsrc) length() int64 {
	if s.co == nil {
		return 0
	}
	return s.co.count
}

// entries are all of the input's members with their scores.
func (s *zsrc) entries(c *ctx) []zEntry {
	if s.co == nil {
		return nil
	}
	var out []zEntry
	if s.co.typ == keyspace.ZSet {
		s.co.zwalk(c, nil, nil, false, func(e zEntry) bool {
			out = append(out, e)
			return true
		})
		return out
	}
	it := s.co.elems(c, nil, nil, false)
	defer it.close()
	for ; it.Valid(); it.Next() {
		out = append(out, zEntry{member: s.co.elemOf(it), score: 1})
	}
	return out
}

// find is a member's score in the input: one lookup.
func (s *zsrc) find(c *ctx, member []byte) (float64, bool) {
	switch {
	case s.co == nil:
		return 0, false
	case s.co.typ == keyspace.ZSet:
		return s.co.zscore(c, member)
	case s.co.has(c, member):
		return 1, true
	}
	return 0, false
}

// zAggregate folds val into target as zunionInterAggregate does: SUM
// makes inf + -inf 0; MIN and MAX keep target against a NaN.
func zAggregate(target, val float64, agg int) float64 {
	switch agg {
	case zaggMin:
		if val < target {
			return val
		}
		return target
	case zaggMax:
		if val > target {
			return val
		}
		return target
	}
	s := target + val
	if math.IsNaN(s) {
		return 0
	}
	return s
}

// zWeighted is score times weight, NaN (0 times inf) made 0.
func zWeighted(score, weight float64) float64 {
	v := score * weight
	if math.IsNaN(v) {
		return 0
	}
	return v
}

// runZsetOp runs the set operations. The keys are looked up first: one of
// another type than sorted set or set is WRONGTYPE; then an option error
// is reported. The inputs are ordered by size (ZDIFF keeps the first
// first), as Redis orders them, which fixes the order in which SUM adds.
//
//   - union: every member of any input, its weighted scores aggregated;
//   - inter: the members of every input (walking the smallest, one lookup
//     in each other per member);
//   - diff: the members of the first input in none of the others, with
//     their scores in the first (no weights).
//
// The result is in score order, then member; with WITHSCORES pairs
// (flat in RESP2, pairs in RESP3 when the Writer can say so). ZINTERCARD
// answers the size of the intersection, counting up to LIMIT (0: no
// limit). The STORE forms replace the destination with the result
// (without expiry; events "zunionstore", "zinterstore", "zdiffstore"), or
// delete it when the result is empty (event "del"), and answer its size.
// O(N) in the members read, O(M log M) to order the result.
func runZsetOp(c *ctx, args [][]byte, p any) {
	a := p.(*zsetOpArgs)
	srcs := make([]zsrc, len(a.keys))
	for i, k := range a.keys {
		srcs[i] = zsrc{key: k, weight: a.weights[i]}
		v, ok := c.lookup(k)
		if !ok {
			continue
		}
		if v.Type != keyspace.ZSet && v.Type != keyspace.Set {
			c.r.Error(errWrongType)
			return
		}
		co, _ := c.openColl(k, v.Type)
		srcs[i].co = co
	}
	if a.optErr != nil {
		c.r.Error(a.optErr.Error())
		return
	}
	if a.op != zopDiff {
		slices.SortStableFunc(srcs, func(x, y zsrc) int {
			switch lx, ly := x.length(), y.length(); {
			case lx < ly:
				return -1
			case lx > ly:
				return 1
			}
			return 0
		})
	}
	var res []zEntry
	count := int64(0)
	switch a.op {
	case zopUnion:
		acc := map[string]int{} // member -> index in res
		for i := range srcs {
			for _, e := range srcs[i].entries(c) {
				s := zWeighted(e.score, srcs[i].weight)
				if j, ok := acc[string(e.member)]; ok {
					res[j].score = zAggregate(res[j].score, s, a.agg)
					continue
				}
				acc[string(e.member)] = len(res)
				res = append(res, zEntry{member: e.member, score: s})
			}
		}
	case zopInter:
		if srcs[0].length() == 0 {
			break
		}
	members:
		for _, e := range srcs[0].entries(c) {
			score := zWeighted(e.score, srcs[0].weight)
			for j := 1; j < len(srcs); j++ {
				var v float64
				if bytes.Equal(srcs[j].key, srcs[0].key) {
					v = e.score * srcs[j].weight
				} else if f, ok := srcs[j].find(c, e.member); ok {
					v = f * srcs[j].weight
				} else {
					continue members
				}
				score = zAggregate(score, v, a.agg)
			}
			if a.card {
				count++
				if a.limit > 0 && count >= a.limit {
					break
				}
				continue
			}
			res = append(res, zEntry{member: e.member, score: score})
		}
	case zopDiff:
		if srcs[0].length() == 0 {
			break
		}
		for _, s := range srcs[1:] {
			if bytes.Equal(s.key, srcs[0].key) {
				goto done // the first set less itself
			}
		}
	diff:
		for _, e := range srcs[0].entries(c) {
			for j := 1; j < len(srcs); j++ {
				if _, ok := srcs[j].find(c, e.member); ok {
					continue diff
				}
			}
			res = append(res, e)
		}
	}
done:
	if c.fatal != nil {
		return
	}
	switch {
	case a.card:
		c.r.Int(count)
	case a.store:
		slices.SortFunc(res, zCompare)
		event := [...]string{"zunionstore", "zinterstore", "zdiffstore"}[a.op]
		c.r.Int(c.zstore(args[1], res, event))
	default:
		slices.SortFunc(res, zCompare)
		c.zreply(res, a.withScores)
	}
}
