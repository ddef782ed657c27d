package command

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// Lists, as Redis 7.0's t_list.c. A list is Count elements at the
// positions [head, head+Count) (coll.go): LPUSH writes head-1, RPUSH
// head+Count, LINDEX and LSET are one lookup, LPOP and RPOP one delete
// each, LRANGE one ordered walk. LINSERT and LREM shift the shorter side
// of the list, so that as few elements as possible move.
//
// Every change rewrites the list's metadata, as Redis's signalModifiedKey
// invalidates WATCH on every change: the metadata key's seq is the key's
// WATCH version.

func init() {
	list := func(name string, arity int, flags Flags, first, last, step int, since string,
		parse func([][]byte, int64) (any, error), run func(*ctx, [][]byte, any)) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Cats: CatList, FirstKey: first, LastKey: last, Step: step,
			Group: "list", Since: since, parse: parse, run: run}
	}
	w, wd, wdf, wf, r, rf := FlagWrite, FlagWrite|FlagDenyOOM, FlagWrite|FlagDenyOOM|FlagFast, FlagWrite|FlagFast,
		FlagReadonly, FlagReadonly|FlagFast
	register(
		list("lpush", -3, wdf, 1, 1, 1, "1.0.0", nil, runLpush),
		list("rpush", -3, wdf, 1, 1, 1, "1.0.0", nil, runLpush),
		list("lpushx", -3, wdf, 1, 1, 1, "2.2.0", nil, runLpush),
		list("rpushx", -3, wdf, 1, 1, 1, "2.2.0", nil, runLpush),
		list("lpop", -2, wf, 1, 1, 1, "1.0.0", parseLpop, runLpop),
		list("rpop", -2, wf, 1, 1, 1, "1.0.0", parseLpop, runLpop),
		list("llen", 2, rf, 1, 1, 1, "1.0.0", nil, runLlen),
		list("lindex", 3, r, 1, 1, 1, "1.0.0", nil, runLindex),
		list("lset", 4, wd, 1, 1, 1, "1.0.0", nil, runLset),
		list("lrange", 4, r, 1, 1, 1, "1.0.0", parseRange, runLrange),
		list("ltrim", 4, w, 1, 1, 1, "1.0.0", parseRange, runLtrim),
		list("lrem", 4, w, 1, 1, 1, "1.0.0", parseLrem, runLrem),
		list("linsert", 5, wd, 1, 1, 1, "2.2.0", parseLinsert, runLinsert),
		list("lpos", -3, r, 1, 1, 1, "6.0.6", parseLpos, runLpos),
		list("lmove", 5, wd, 1, 2, 1, "6.2.0", parseLmove, runLmove),
		list("rpoplpush", 3, wd, 1, 2, 1, "1.2.0", parseLmove, runLmove),
		list("lmpop", -4, w|FlagMovableKeys, 0, 0, 0, "7.0.0", parseLmpop, runLmpop),
	)
}

// Error replies of the list commands, worded as t_list.c words them.
const (
	errLpopCount   Error = "ERR value is out of range, must be positive"
	errIndexRange  Error = "ERR index out of range"
	errRankZero    Error = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"
	errLposCount   Error = "ERR COUNT can't be negative"
	errLposMaxlen  Error = "ERR MAXLEN can't be negative"
	errMpopNumkeys Error = "ERR numkeys should be greater than 0"
	errMpopCount   Error = "ERR count should be greater than 0"
)

// errListShort is the engine holding fewer elements than a list's count
// says: a corrupt list, which fails the command (ctx.fail).
var errListShort = errors.New("list holds fewer elements than its count")

// openList opens key as a list, answering WRONGTYPE itself (nil then).
func (c *ctx) openList(key []byte) *coll {
	co, wrong := c.openColl(key, keyspace.List)
	if wrong {
		c.r.Error(errWrongType)
		return nil
	}
	return co
}

// listIndex turns a Redis list index (negative: from the tail) into an
// offset from the head, as quicklistIndex does; ok false when it is out
// of [0, n).
func listIndex(i, n int64) (int64, bool) {
	if i < 0 {
		i += n
	}
	return i, i >= 0 && i < n
}

// listRange clamps a Redis start..end range (negative: from the tail) to
// the offsets [from, to) of a list of n elements, as addListRangeReply and
// ltrimCommand do; empty when from == to.
func listRange(start, end, n int64) (from, to int64) {
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start = max(start, 0)
	if start > end || start >= n {
		return 0, 0
	}
	end = min(end, n-1)
	return start, end + 1
}

// listAt is the element bytes of the position of offset i from the head.
func (co *coll) listAt(i int64) []byte { return listPos(co.listHead() + uint64(i)) }

// listWalk walks the elements at offsets [from, to), forward from the
// head or in reverse from the tail, calling f with each offset and value
// (a copy) until f returns false. It closes its walk itself.
func (co *coll) listWalk(c *ctx, from, to int64, reverse bool, f func(i int64, v []byte) bool) {
	if from >= to {
		return
	}
	if c.tx == nil && co.prefix != nil {
		// A read sees no overlay: the positions are known, so each
		// element is one keydir lookup, cheaper than an ordered walk's
		// step (tree, then keydir).
		k := co.sub(co.listAt(from))
		pos := len(k) - 8
		for j := range to - from {
			i := from + j
			if reverse {
				i = to - 1 - j
			}
			binary.BigEndian.PutUint64(k[pos:], co.listHead()+uint64(i))
			v, _, err := c.view.Get(k)
			if err != nil {
				c.fail(fmt.Errorf("key %q: %w", co.key, errListShort))
				return
			}
			if !f(i, v) {
				return
			}
		}
		return
	}
	it := co.elems(c, co.listAt(from), co.listAt(to), reverse)
	defer it.close()
	i, step := from, int64(1)
	if reverse {
		i, step = to-1, -1
	}
	for ; it.Valid(); it.Next() {
		if !f(i, it.Value()) {
			return
		}
		i += step
	}
}

// listValues reads the elements at offsets [from, to) in order.
func (co *coll) listValues(c *ctx, from, to int64) [][]byte {
	vals := make([][]byte, 0, max(to-from, 0))
	co.listWalk(c, from, to, false, func(_ int64, v []byte) bool {
		vals = append(vals, v)
		return true
	})
	if int64(len(vals)) != max(to-from, 0) {
		c.fail(fmt.Errorf("key %q: %w", co.key, errListShort))
	}
	return vals
}

// listAppend pushes elems onto the list's left (head) or right end, one
// write each, in order (so LPUSH a b c leaves c first, as Redis does).
func (co *coll) listAppend(c *ctx, left bool, elems [][]byte) {
	h := co.listHead()
	for _, e := range elems {
		if left {
			h--
			co.put(c, e, listPos(h))
		} else {
			co.put(c, e, listPos(h+uint64(co.count)))
		}
		co.add(1)
	}
	if left {
		co.setListHead(h)
	}
}

// listTake removes up to n elements from the list's left or right end and
// returns them in the order they were popped (an RPOP of 2 gives the last
// element first). final: the list is saved next, as it is; then, when it
// takes every element, the sub-keys are left to the key's deletion (save
// deletes the emptied key, its sub-keys dead from then on).
func (co *coll) listTake(c *ctx, left bool, n int64, final bool) [][]byte {
	n = min(n, co.count)
	if n <= 0 {
		return nil
	}
	from, to := int64(0), n
	if !left {
		from, to = co.count-n, co.count
	}
	vals := make([][]byte, 0, n)
	co.listWalk(c, from, to, !left, func(_ int64, v []byte) bool {
		vals = append(vals, v)
		return true
	})
	if int64(len(vals)) != n {
		c.fail(fmt.Errorf("key %q: %w", co.key, errListShort))
		return nil
	}
	if n < co.count || !final {
		for i := from; i < to; i++ {
			co.remove(c, co.listAt(i))
		}
		if left {
			co.setListHead(co.listHead() + uint64(n))
		}
	}
	co.add(-n)
	return vals
}

// listPopEvent and listPushEvent are the keyspace events of taking from and
// pushing onto an end of a list.
func listPopEvent(left bool) string {
	if left {
		return "lpop"
	}
	return "rpop"
}

func listPushEvent(left bool) string {
	if left {
		return "lpush"
	}
	return "rpush"
}

// listPop pops up to count elements from the left (or right) of key, in
// the order popped, as t_list.c's listPopRangeAndReplyWithKey takes them.
// A missing key, or count <= 0, pops nothing (nil). wrong: the key holds
// another type (WRONGTYPE; nothing replied, nothing changed). It touches
// "lpop"/"rpop" when it popped, and "del" when that emptied the list,
// which is then deleted. It replies nothing.
func (c *ctx) listPop(key []byte, left bool, count int64) (elems [][]byte, wrong bool) {
	co, wrong := c.openColl(key, keyspace.List)
	if wrong {
		return nil, true
	}
	if !co.found || count <= 0 {
		return nil, false
	}
	elems = co.listTake(c, left, count, true)
	if len(elems) == 0 {
		return nil, false
	}
	deleted := co.save(c)
	c.touch(key, listPopEvent(left))
	if deleted {
		c.touch(key, "del")
	}
	return elems, false
}

// listMove pops one element from src's left (srcLeft) or right end and
// pushes it onto dst's left (dstLeft) or right end, creating dst, as
// t_list.c's lmoveGenericCommand does; src == dst rotates the list. ok
// false: src is missing (nothing changed). wrong: src holds another type,
// or src has an element to move and dst holds another type; as Redis, dst
// is not looked at when src is missing, and nothing changes when wrong.
// It touches dst "lpush"/"rpush", then src "lpop"/"rpop", then src "del"
// when emptied, in Redis's order. It replies nothing.
func (c *ctx) listMove(src, dst []byte, srcLeft, dstLeft bool) (elem []byte, ok, wrong bool) {
	s, wrong := c.openColl(src, keyspace.List)
	if wrong {
		return nil, false, true
	}
	if !s.found || s.count == 0 {
		return nil, false, false
	}
	d := s
	same := bytes.Equal(src, dst)
	if !same {
		if d, wrong = c.openColl(dst, keyspace.List); wrong {
			return nil, false, true
		}
	}
	vals := s.listTake(c, srcLeft, 1, !same) // the same list gets the element back
	if len(vals) != 1 {
		return nil, false, false // c.fatal is set: the entry fails
	}
	elem = vals[0]
	d.listAppend(c, dstLeft, vals)
	deleted := false
	if same {
		s.save(c)
	} else {
		d.save(c)
		deleted = s.save(c)
	}
	c.touch(dst, listPushEvent(dstLeft))
	c.touch(src, listPopEvent(srcLeft))
	if deleted {
		c.touch(src, "del")
	}
	return elem, true, false
}

// listPush pushes elems onto key's left (or right) end, in order, creating
// the list when it is missing, as t_list.c's pushGenericCommand does, and
// touches "lpush"/"rpush". n is the new length. wrong: the key holds
// another type (WRONGTYPE; nothing replied, nothing changed). It replies
// nothing.
func (c *ctx) listPush(key []byte, left bool, elems [][]byte) (n int64, wrong bool) {
	co, wrong := c.openColl(key, keyspace.List)
	if wrong {
		return 0, true
	}
	return c.pushColl(co, left, elems), false
}

// pushColl pushes elems onto an open list and saves it.
func (c *ctx) pushColl(co *coll, left bool, elems [][]byte) int64 {
	if len(elems) == 0 {
		return co.count
	}
	co.listAppend(c, left, elems)
	co.save(c)
	c.touch(co.key, listPushEvent(left))
	return co.count
}

// mpopArgs is `numkeys key [key ...] <where> [COUNT count]` parsed: the
// arguments of LMPOP, BLMPOP, ZMPOP and BZMPOP after their name (and
// timeout).
type mpopArgs struct {
	keys [][]byte
	// first is the direction word: LEFT for lists, MIN for sorted sets;
	// false is RIGHT or MAX.
	first bool
	count int64 // COUNT, at least 1; 1 when absent
}

// parseMpopArgs parses args[from:] as `numkeys key [key ...] <where>
// [COUNT count]`, as t_list.c's lmpopGenericCommand and t_zset.c's
// zmpopGenericCommand do, with the same errors in the same order:
// numkeys not an integer in [1, LONG_MAX] gives "ERR numkeys should be
// greater than 0"; fewer keys than numkeys (no room for <where>), a
// <where> that is not a direction word (any case), anything but one
// COUNT after it, or COUNT without a value gives ErrSyntax; COUNT not an
// integer in [1, LONG_MAX] gives "ERR count should be greater than 0".
// The direction words are LEFT|RIGHT, or MIN|MAX when zset. For
// LMPOP/ZMPOP from is 1; BLMPOP/BZMPOP (`timeout numkeys ...`) pass 2 and
// parse their timeout after this, as Redis checks it last.
func parseMpopArgs(args [][]byte, from int, zset bool) (*mpopArgs, error) {
	if from >= len(args) {
		return nil, ErrSyntax
	}
	numkeys, ok := ParseInt(args[from])
	if !ok || numkeys < 1 {
		return nil, errMpopNumkeys
	}
	if numkeys >= int64(len(args)-from-1) {
		return nil, ErrSyntax // no room for <where> after the keys
	}
	a := &mpopArgs{keys: args[from+1 : from+1+int(numkeys)], count: -1}
	where := args[from+1+int(numkeys)]
	firstWord, secondWord := "left", "right"
	if zset {
		firstWord, secondWord = "min", "max"
	}
	switch {
	case equalFold(where, firstWord):
		a.first = true
	case equalFold(where, secondWord):
	default:
		return nil, ErrSyntax
	}
	for j := from + 2 + int(numkeys); j < len(args); j++ {
		if a.count == -1 && equalFold(args[j], "count") && j+1 < len(args) {
			j++
			n, ok := ParseInt(args[j])
			if !ok || n < 1 {
				return nil, errMpopCount
			}
			a.count = n
			continue
		}
		return nil, ErrSyntax
	}
	if a.count == -1 {
		a.count = 1
	}
	return a, nil
}

// listLeft reports whether a command's name starts with 'l' (LPUSH, LPOP,
// LPUSHX) rather than 'r'.
func listLeft(name []byte) bool { return len(name) > 0 && (name[0] == 'l' || name[0] == 'L') }

// runLpush is LPUSH, RPUSH, LPUSHX and RPUSHX: the X forms push only onto
// an existing list (0 for a missing key), as pushGenericCommand's xx.
func runLpush(c *ctx, args [][]byte, _ any) {
	co := c.openList(args[1])
	if co == nil {
		return
	}
	if !co.found && (isName(args[0], "lpushx") || isName(args[0], "rpushx")) {
		c.r.Int(0)
		return
	}
	c.r.Int(c.pushColl(co, listLeft(args[0]), args[2:]))
}

// parseLpop reads LPOP's and RPOP's optional count: -1 when absent. A
// count that is not an integer >= 0 is refused before the key is looked
// at, as popGenericCommand does; more than one is an arity error.
func parseLpop(args [][]byte, now int64) (any, error) {
	switch len(args) {
	case 2:
		return int64(-1), nil
	case 3:
		n, ok := ParseInt(args[2])
		if !ok || n < 0 {
			return nil, errLpopCount
		}
		return n, nil
	}
	return nil, ErrArity(lowerASCII(args[0]))
}

// runLpop is LPOP and RPOP: without a count, the element or null; with
// one, an array of up to count elements, a null array for a missing key,
// and an empty array for a count of 0 (after the type check).
func runLpop(c *ctx, args [][]byte, p any) {
	count, left := p.(int64), listLeft(args[0])
	if count == 0 {
		co := c.openList(args[1])
		switch {
		case co == nil:
		case !co.found:
			c.r.NullArray()
		default:
			c.r.Array(0)
		}
		return
	}
	elems, wrong := c.listPop(args[1], left, max(count, 1))
	switch {
	case wrong:
		c.r.Error(errWrongType)
	case c.fatal != nil:
	case count < 0 && len(elems) == 0:
		c.r.Null()
	case count < 0:
		c.r.Bulk(elems[0])
	case len(elems) == 0:
		c.r.NullArray()
	default:
		c.r.Array(len(elems))
		for _, e := range elems {
			c.r.Bulk(e)
		}
	}
}

func runLlen(c *ctx, args [][]byte, _ any) {
	if co := c.openList(args[1]); co != nil {
		c.r.Int(co.count)
	}
}

// runLindex answers LINDEX: null for a missing key or an index out of
// range. The index is read after the key's type check, as lindexCommand
// does (a missing key with a bad index is null).
func runLindex(c *ctx, args [][]byte, _ any) {
	co := c.openList(args[1])
	if co == nil {
		return
	}
	if !co.found {
		c.r.Null()
		return
	}
	i, ok := ParseInt(args[2])
	if !ok {
		c.r.Error(string(ErrNotInteger))
		return
	}
	if i, ok = listIndex(i, co.count); !ok {
		c.r.Null()
		return
	}
	v, ok := co.get(c, co.listAt(i))
	if !ok && c.fatal == nil {
		c.fail(fmt.Errorf("key %q: %w", co.key, errListShort))
	}
	c.bulkOrNull(v, ok)
}

// runLset answers LSET as lsetCommand does: "ERR no such key" for a
// missing key, then WRONGTYPE, then the index (integer, then range).
func runLset(c *ctx, args [][]byte, _ any) {
	co, wrong := c.openColl(args[1], keyspace.List)
	switch {
	case wrong:
		c.r.Error(errWrongType)
		return
	case !co.found:
		c.r.Error(string(ErrNoSuchKey))
		return
	}
	i, ok := ParseInt(args[2])
	if !ok {
		c.r.Error(string(ErrNotInteger))
		return
	}
	if i, ok = listIndex(i, co.count); !ok {
		c.r.Error(string(errIndexRange))
		return
	}
	co.put(c, args[3], co.listAt(i))
	co.dirty = true // a new WATCH version, as signalModifiedKey
	co.save(c)
	c.touch(args[1], "lset")
	c.r.Status("OK")
}

// runLrange answers LRANGE with one ordered walk from the range's first
// element: O(log n + m).
func runLrange(c *ctx, args [][]byte, p any) {
	se := p.([2]int64)
	co := c.openList(args[1])
	if co == nil {
		return
	}
	from, to := listRange(se[0], se[1], co.count)
	c.r.Array(int(to - from))
	got := int64(0)
	co.listWalk(c, from, to, false, func(_ int64, v []byte) bool {
		c.r.Bulk(v)
		got++
		return true
	})
	if got != to-from && c.fatal == nil {
		// The reply is short: failing the command makes the caller
		// answer with the error instead.
		c.fail(fmt.Errorf("key %q: %w", co.key, errListShort))
	}
}

// runLtrim trims a list to a range by deleting from its ends only, one
// write per element removed (none when it empties the list, which is
// deleted), as ltrimCommand does. An existing list always gets a new WATCH
// version and the "ltrim" event, even when nothing is removed, as Redis.
func runLtrim(c *ctx, args [][]byte, p any) {
	se := p.([2]int64)
	co := c.openList(args[1])
	if co == nil {
		return
	}
	if !co.found {
		c.r.Status("OK")
		return
	}
	from, to := listRange(se[0], se[1], co.count)
	if from == to { // empty range: the whole list goes
		co.add(-co.count)
	} else {
		co.listCut(c, from, co.count-to)
		co.dirty = true // even when nothing went: Redis signals the key
	}
	deleted := co.save(c)
	c.touch(args[1], "ltrim")
	if deleted {
		c.touch(args[1], "del")
	}
	c.r.Status("OK")
}

func parseLrem(args [][]byte, now int64) (any, error) {
	n, ok := ParseInt(args[2])
	if !ok {
		return nil, ErrNotInteger
	}
	return n, nil
}

// runLrem removes up to |count| elements equal to the element, from the
// head (count > 0), from the tail (count < 0), or all (0), as lremCommand
// does (a count of LONG_MIN, whose negation overflows in Redis, removes
// all). The survivors close up around the largest run of them that can
// stay where it is: every other survivor moves once, and the positions
// left free at the ends are deleted.
func runLrem(c *ctx, args [][]byte, p any) {
	toremove := p.(int64)
	co := c.openList(args[1])
	if co == nil {
		return
	}
	if !co.found {
		c.r.Int(0)
		return
	}
	reverse := toremove < 0
	limit := toremove
	if reverse {
		limit = -toremove // LONG_MIN stays negative: no limit, as in Redis
	}
	elem := args[3]
	var hits []int64 // offsets of the elements to remove
	co.listWalk(c, 0, co.count, reverse, func(i int64, v []byte) bool {
		if bytes.Equal(v, elem) {
			hits = append(hits, i)
			if limit > 0 && int64(len(hits)) == limit {
				return false
			}
		}
		return true
	})
	if c.fatal != nil {
		return
	}
	if reverse {
		for i, j := 0, len(hits)-1; i < j; i, j = i+1, j-1 {
			hits[i], hits[j] = hits[j], hits[i]
		}
	}
	if len(hits) > 0 {
		co.listRemoveAt(c, hits)
		deleted := co.save(c)
		c.touch(args[1], "lrem")
		if deleted {
			c.touch(args[1], "del")
		}
	}
	c.r.Int(int64(len(hits)))
}

// listRemoveAt removes the elements at the given offsets (ascending,
// distinct, within the list). The m removals split the survivors into m+1
// runs; the longest run stays, the runs before it move up (towards the
// tail) and those after it move down, each element once; then the m
// positions freed at the two ends are deleted. Removing every element
// writes nothing: save deletes the key.
func (co *coll) listRemoveAt(c *ctx, hits []int64) {
	m := int64(len(hits))
	n := co.count
	if m >= n {
		co.add(-n)
		return
	}
	// s is the run that stays: run j lies between hits[j-1] and hits[j].
	s, best := 0, int64(-1)
	for j := int64(0); j <= m; j++ {
		lo, hi := int64(0), n
		if j > 0 {
			lo = hits[j-1] + 1
		}
		if j < m {
			hi = hits[j]
		}
		if hi-lo > best {
			s, best = int(j), hi-lo
		}
	}
	type move struct {
		to int64
		v  []byte
	}
	var moves []move
	// Survivors before hits[s-1] move up by the removals after them (up to
	// hits[s-1]).
	if s > 0 {
		k := s - 1 // the next hit at or below the walk's offset
		shift := int64(0)
		co.listWalk(c, 0, hits[s-1]+1, true, func(i int64, v []byte) bool {
			if k >= 0 && i == hits[k] {
				shift++
				k--
				return true
			}
			moves = append(moves, move{i + shift, v})
			return true
		})
	}
	// Survivors after hits[s] move down by the removals before them (from
	// hits[s]).
	if s < int(m) {
		k := s
		shift := int64(0)
		co.listWalk(c, hits[s], n, false, func(i int64, v []byte) bool {
			if k < int(m) && i == hits[k] {
				shift++
				k++
				return true
			}
			moves = append(moves, move{i - shift, v})
			return true
		})
	}
	if c.fatal != nil {
		return
	}
	for _, mv := range moves {
		co.put(c, mv.v, co.listAt(mv.to))
	}
	co.listCut(c, int64(s), m-int64(s))
}

// listCut deletes front elements at the head and back at the tail (LTRIM,
// and the positions LREM frees), moving the head past the front ones.
func (co *coll) listCut(c *ctx, front, back int64) {
	for i := int64(0); i < front; i++ {
		co.remove(c, co.listAt(i))
	}
	for i := co.count - back; i < co.count; i++ {
		co.remove(c, co.listAt(i))
	}
	co.setListHead(co.listHead() + uint64(front))
	co.add(-(front + back))
}

// parseLinsert reads BEFORE (true) or AFTER, any case: anything else is a
// syntax error before the key is looked at, as linsertCommand.
func parseLinsert(args [][]byte, now int64) (any, error) {
	switch {
	case equalFold(args[2], "before"):
		return true, nil
	case equalFold(args[2], "after"):
		return false, nil
	}
	return nil, ErrSyntax
}

// runLinsert inserts the element before or after the first element equal
// to the pivot, from the head: the new length, -1 when there is no pivot,
// 0 for a missing key. The side of the list that is shorter moves by one.
func runLinsert(c *ctx, args [][]byte, p any) {
	before := p.(bool)
	co := c.openList(args[1])
	if co == nil {
		return
	}
	if !co.found {
		c.r.Int(0)
		return
	}
	pivot, elem := args[3], args[4]
	n := co.count
	// The walk keeps the values it reads up to the middle: when the
	// insertion is in the first half, they are the elements that move.
	var head [][]byte
	at := int64(-1)
	co.listWalk(c, 0, n, false, func(i int64, v []byte) bool {
		if bytes.Equal(v, pivot) {
			at = i
			return false
		}
		if i < (n+1)/2 {
			head = append(head, v)
		}
		return true
	})
	if c.fatal != nil {
		return
	}
	if at < 0 {
		c.r.Int(-1)
		return
	}
	k := at // the offset the new element takes
	if !before {
		k++
		if k <= n-k {
			head = append(head, pivot) // the pivot moves too
		}
	}
	co.listInsertAt(c, k, elem, head)
	co.save(c)
	c.touch(args[1], "linsert")
	c.r.Int(co.count)
}

// listInsertAt inserts elem so that it is at offset k (0..count), moving
// whichever side is shorter by one position: the k elements before it
// down (head-1), or the count-k after it up. known holds the values of
// the first elements, in order, if the caller read them (at least k of
// them spare a walk when the front moves).
func (co *coll) listInsertAt(c *ctx, k int64, elem []byte, known [][]byte) {
	n := co.count
	h := co.listHead()
	if k <= n-k {
		front := known
		if int64(len(front)) < k {
			front = co.listValues(c, 0, k)
		}
		if c.fatal != nil {
			return
		}
		for i := int64(0); i < k; i++ {
			co.put(c, front[i], listPos(h+uint64(i)-1))
		}
		co.put(c, elem, listPos(h+uint64(k)-1))
		co.setListHead(h - 1)
	} else {
		back := co.listValues(c, k, n)
		if c.fatal != nil {
			return
		}
		for i, v := range back {
			co.put(c, v, listPos(h+uint64(k+int64(i))+1))
		}
		co.put(c, elem, listPos(h+uint64(k)))
	}
	co.add(1)
}

type lposArgs struct {
	rank, count, maxlen int64 // count -1: no COUNT
}

// parseLpos reads LPOS's options as lposCommand does, before the key is
// looked at: RANK (an integer, not 0), COUNT and MAXLEN (integers >= 0),
// each followed by its value, in any order, repeated or not (the last
// wins); anything else is a syntax error.
func parseLpos(args [][]byte, now int64) (any, error) {
	a := &lposArgs{rank: 1, count: -1}
	for j := 3; j < len(args); j++ {
		more := j+1 < len(args)
		switch opt := args[j]; {
		case equalFold(opt, "rank") && more:
			j++
			n, ok := ParseInt(args[j])
			if !ok {
				return nil, ErrNotInteger
			}
			if n == 0 {
				return nil, errRankZero
			}
			a.rank = n
		case equalFold(opt, "count") && more:
			j++
			n, ok := ParseInt(args[j])
			if !ok || n < 0 {
				return nil, errLposCount
			}
			a.count = n
		case equalFold(opt, "maxlen") && more:
			j++
			n, ok := ParseInt(args[j])
			if !ok || n < 0 {
				return nil, errLposMaxlen
			}
			a.maxlen = n
		default:
			return nil, ErrSyntax
		}
	}
	return a, nil
}

// runLpos answers LPOS as lposCommand does: a negative RANK searches from
// the tail (RANK LONG_MIN, whose negation overflows in Redis, finds the
// first match from the tail); MAXLEN bounds the elements compared; COUNT
// 0 returns every match. Without COUNT the reply is the index or null,
// with it an array.
func runLpos(c *ctx, args [][]byte, p any) {
	a := *p.(*lposArgs)
	co := c.openList(args[1])
	if co == nil {
		return
	}
	if !co.found {
		if a.count != -1 {
			c.r.Array(0)
		} else {
			c.r.Null()
		}
		return
	}
	reverse := false
	if a.rank < 0 {
		a.rank = -a.rank
		reverse = true
	}
	elem := args[2]
	n := co.count
	var found []int64
	var index, matches int64
	matchindex := int64(-1)
	co.listWalk(c, 0, n, reverse, func(i int64, v []byte) bool {
		if a.maxlen != 0 && index >= a.maxlen {
			return false
		}
		if bytes.Equal(v, elem) {
			matches++
			matchindex = i
			if matches >= a.rank {
				if a.count == -1 {
					return false
				}
				found = append(found, matchindex)
				if a.count != 0 && matches-a.rank+1 >= a.count {
					return false
				}
			}
		}
		index++
		matchindex = -1
		return true
	})
	if c.fatal != nil {
		return
	}
	if a.count != -1 {
		c.r.Array(len(found))
		for _, i := range found {
			c.r.Int(i)
		}
		return
	}
	if matchindex != -1 {
		c.r.Int(matchindex)
	} else {
		c.r.Null()
	}
}

// parseLmove reads LMOVE's wherefrom and whereto (LEFT or RIGHT, any
// case; else a syntax error before any key is looked at) as [from, to]
// left flags; RPOPLPUSH is RIGHT LEFT.
func parseLmove(args [][]byte, now int64) (any, error) {
	if len(args) == 3 {
		return [2]bool{false, true}, nil
	}
	var lr [2]bool
	for i, a := range args[3:5] {
		switch {
		case equalFold(a, "left"):
			lr[i] = true
		case equalFold(a, "right"):
		default:
			return nil, ErrSyntax
		}
	}
	return lr, nil
}

func runLmove(c *ctx, args [][]byte, p any) {
	lr := p.([2]bool)
	elem, ok, wrong := c.listMove(args[1], args[2], lr[0], lr[1])
	switch {
	case wrong:
		c.r.Error(errWrongType)
	case c.fatal != nil:
	case !ok:
		c.r.Null()
	default:
		c.r.Bulk(elem)
	}
}

func parseLmpop(args [][]byte, now int64) (any, error) { return parseMpopArgs(args, 1, false) }

// runLmpop pops from the first key that holds a non-empty list, as
// mpopGenericCommand does: missing keys are skipped, a key of another type
// before it is WRONGTYPE (those after it are not looked at). The reply is
// [key, [elements...]], or a null array when every key is missing.
func runLmpop(c *ctx, args [][]byte, p any) {
	a := p.(*mpopArgs)
	c.listMpop(a.keys, a.first, a.count)
}

// listMpop pops up to count elements from the first non-empty list of
// keys and replies as LMPOP does (also BLMPOP's reply once it can pop):
// [key, [elements...]], a null array when no key holds a list, WRONGTYPE
// for another type met first. It reports whether it popped.
func (c *ctx) listMpop(keys [][]byte, left bool, count int64) bool {
	for _, k := range keys {
		elems, wrong := c.listPop(k, left, count)
		if wrong {
			c.r.Error(errWrongType)
			return false
		}
		if c.fatal != nil {
			return false
		}
		if len(elems) > 0 {
			c.r.Array(2)
			c.r.Bulk(k)
			c.r.Array(len(elems))
			for _, e := range elems {
				c.r.Bulk(e)
			}
			return true
		}
	}
	c.r.NullArray()
	return false
}
