package command

import (
	"bytes"
	"slices"

	"github.com/walkerdb/walkerdb/internal/keyspace"
)

func init() {
	set := func(name string, arity int, flags Flags, first, last, step int, since string,
		parse func([][]byte, int64) (any, error), run func(*ctx, [][]byte, any)) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Cats: CatSet, FirstKey: first, LastKey: last, Step: step,
			Group: "set", Since: since, parse: parse, run: run}
	}
	wf, wd, wdf, r, rf := FlagWrite|FlagFast, FlagWrite|FlagDenyOOM, FlagWrite|FlagDenyOOM|FlagFast, FlagReadonly, FlagReadonly|FlagFast
	register(
		set("sadd", -3, wdf, 1, 1, 1, "1.0.0", nil, runSadd),
		set("srem", -3, wf, 1, 1, 1, "1.0.0", nil, runSrem),
		set("scard", 2, rf, 1, 1, 1, "1.0.0", nil, runScard),
		set("sismember", 3, rf, 1, 1, 1, "1.0.0", nil, runSismember),
		set("smismember", -3, rf, 1, 1, 1, "6.2.0", nil, runSmismember),
		set("smembers", 2, r, 1, 1, 1, "1.0.0", nil, runSmembers),
		set("srandmember", -2, r|FlagByPosition, 1, 1, 1, "1.0.0", parseSrandmember, runSrandmember),
		set("spop", -2, wf|FlagByPosition, 1, 1, 1, "1.0.0", parseSpop, runSpop),
		set("smove", 4, wf, 1, 2, 1, "1.0.0", nil, runSmove),
		set("sinter", -2, r, 1, -1, 1, "1.0.0", nil, runSetOp),
		set("sintercard", -3, r|FlagMovableKeys, 0, 0, 0, "7.0.0", parseSintercard, runSintercard),
		set("sinterstore", -3, wd, 1, -1, 1, "1.0.0", nil, runSetOp),
		set("sunion", -2, r, 1, -1, 1, "1.0.0", nil, runSetOp),
		set("sunionstore", -3, wd, 1, -1, 1, "1.0.0", nil, runSetOp),
		set("sdiff", -2, r, 1, -1, 1, "1.0.0", nil, runSetOp),
		set("sdiffstore", -3, wd, 1, -1, 1, "1.0.0", nil, runSetOp),
	)
}

// Set errors, worded as t_set.c words them.
const (
	errPositive       Error = "ERR value is out of range, must be positive"
	errNumkeys        Error = "ERR numkeys should be greater than 0"
	errNumkeysTooMany Error = "ERR Number of keys can't be greater than number of args"
	errLimitNegative  Error = "ERR LIMIT can't be negative"
)

// maxRandomRepeat bounds |count| of HRANDFIELD and SRANDMEMBER with a
// negative count. Redis answers any count up to LONG_MAX (and builds the
// whole reply in memory); walkerd refuses counts that would hold the node
// in one reply of gigabytes.
const maxRandomRepeat = 1 << 20

const errRandomRepeat Error = "ERR count is out of range: walkerd picks at most 1048576 elements with repetition"

// openSet opens a set key, answering WRONGTYPE itself: nil then.
func (c *ctx) openSet(key []byte) *coll {
	co, wrong := c.openColl(key, keyspace.Set)
	if wrong {
		c.r.Error(errWrongType)
		return nil
	}
	return co
}

// runSadd is SADD key member [member ...]: the number of members added.
// One lookup and at most one write per member. Event "sadd" when any was
// added.
func runSadd(c *ctx, args [][]byte, _ any) {
	s := c.openSet(args[1])
	if s == nil {
		return
	}
	added := int64(0)
	for _, m := range args[2:] {
		if !s.has(c, m) {
			s.put(c, nil, m)
			added++
		}
	}
	if added > 0 {
		s.add(added)
		s.save(c)
		c.touch(args[1], "sadd")
	}
	c.r.Int(added)
}

// runSrem is SREM key member [member ...]: the number of members removed.
// Events "srem", and "del" when the set is left empty (and deleted).
func runSrem(c *ctx, args [][]byte, _ any) {
	s := c.openSet(args[1])
	if s == nil {
		return
	}
	n := int64(0)
	for _, m := range args[2:] {
		if s.has(c, m) {
			s.remove(c, m)
			n++
		}
	}
	if n > 0 {
		s.add(-n)
		c.touch(args[1], "srem")
		if s.save(c) {
			c.touch(args[1], "del")
		}
	}
	c.r.Int(n)
}

func runScard(c *ctx, args [][]byte, _ any) {
	if s := c.openSet(args[1]); s != nil {
		c.r.Int(s.count)
	}
}

func runSismember(c *ctx, args [][]byte, _ any) {
	if s := c.openSet(args[1]); s != nil {
		c.r.Int(b2i(s.has(c, args[2])))
	}
}

// runSmismember is SMISMEMBER key member [member ...]: an array of 1 and
// 0, one lookup per member.
func runSmismember(c *ctx, args [][]byte, _ any) {
	s := c.openSet(args[1])
	if s == nil {
		return
	}
	in := make([]bool, len(args)-2)
	for i, m := range args[2:] {
		in[i] = s.has(c, m)
	}
	if c.fatal != nil {
		return
	}
	c.r.Array(len(in))
	for _, b := range in {
		c.r.Int(b2i(b))
	}
}

// members returns the members of s in order.
func (c *ctx) members(s *coll) [][]byte {
	it := s.elems(c, nil, nil, false)
	defer it.close()
	var out [][]byte
	for ; it.Valid(); it.Next() {
		out = append(out, s.elemOf(it))
	}
	return out
}

// replySet answers members as a set (RESP3's set type; an array in RESP2).
func (c *ctx) replySet(members [][]byte) {
	if c.fatal != nil {
		return
	}
	c.r.Set(len(members))
	for _, m := range members {
		c.r.Bulk(m)
	}
}

// runSmembers is SMEMBERS key: the members as a set, in member order.
func runSmembers(c *ctx, args [][]byte, _ any) {
	if s := c.openSet(args[1]); s != nil {
		c.replySet(c.members(s))
	}
}

// parseSrandmember parses SRANDMEMBER key [count] as t_set.c does, before
// the key is looked up: more arguments are a syntax error, the count an
// integer within ±LONG_MAX.
func parseSrandmember(args [][]byte, now int64) (any, error) {
	a := &randArgs{}
	switch {
	case len(args) > 3:
		return nil, ErrSyntax
	case len(args) == 3:
		n, err := parseRandCount(args[2])
		if err != nil {
			return nil, err
		}
		a.withCount, a.count = true, n
	}
	return a, nil
}

// runSrandmember is SRANDMEMBER key [count], as t_set.c's
// srandmemberWithCountCommand answers: without a count, a random member
// (null for a missing key); with n >= 0, min(n, size) distinct members in
// member order (an array); with n < 0, |n| members picked independently,
// in the order picked. Uniform, from c.random(), with one ordered walk.
func runSrandmember(c *ctx, args [][]byte, p any) {
	a := p.(*randArgs)
	s := c.openSet(args[1])
	if s == nil {
		return
	}
	if !a.withCount {
		if !s.found {
			c.r.Null()
			return
		}
		m, _ := c.randomDistinct(s, 1, false)
		if c.fatal == nil {
			if len(m) == 1 {
				c.r.Bulk(m[0])
			} else {
				c.r.Null()
			}
		}
		return
	}
	if !s.found || a.count == 0 {
		c.r.Array(0)
		return
	}
	var m [][]byte
	if a.count < 0 {
		if -a.count > maxRandomRepeat {
			c.r.Error(string(errRandomRepeat))
			return
		}
		m, _ = c.randomRepeat(s, -a.count, false)
	} else {
		m, _ = c.randomDistinct(s, a.count, false)
	}
	if c.fatal != nil {
		return
	}
	c.r.Array(len(m))
	for _, e := range m {
		c.r.Bulk(e)
	}
}

// parseSpop parses SPOP key [count] as t_set.c's spopCommand does: more
// arguments are a syntax error; the count a non-negative integer, else
// "ERR value is out of range, must be positive".
func parseSpop(args [][]byte, now int64) (any, error) {
	switch {
	case len(args) > 3:
		return nil, ErrSyntax
	case len(args) == 3:
		n, ok := ParseInt(args[2])
		if !ok || n < 0 {
			return nil, errPositive
		}
		return n, nil
	}
	return int64(-1), nil // no count
}

// runSpop is SPOP key [count]: removes and answers a random member (null
// for a missing key), or with a count, min(count, size) distinct random
// members, as a set, in member order. Uniform, from c.random(), so every
// node pops the same. Events "spop", and "del" when the set is emptied.
func runSpop(c *ctx, args [][]byte, p any) {
	count := p.(int64)
	s := c.openSet(args[1])
	if s == nil {
		return
	}
	if !s.found {
		if count < 0 {
			c.r.Null()
		} else {
			c.r.Set(0)
		}
		return
	}
	if count == 0 {
		c.r.Set(0)
		return
	}
	k := count
	if count < 0 {
		k = 1
	}
	m, _ := c.randomDistinct(s, k, false)
	if c.fatal != nil {
		return
	}
	for _, e := range m {
		s.remove(c, e)
	}
	s.add(-int64(len(m)))
	if len(m) > 0 {
		c.touch(args[1], "spop")
		if s.save(c) {
			c.touch(args[1], "del")
		}
	}
	if count < 0 {
		if len(m) == 1 {
			c.r.Bulk(m[0])
		} else {
			c.r.Null()
		}
		return
	}
	c.replySet(m)
}

// runSmove is SMOVE source destination member, as t_set.c's smoveCommand:
// 0 when the source is missing (whatever the destination holds), WRONGTYPE
// when either key holds another type, 1 or 0 by membership when both are
// the same key; otherwise 1 when the member moved. Events "srem" (and
// "del" when the source is emptied), then "sadd" when the destination
// gained the member.
func runSmove(c *ctx, args [][]byte, _ any) {
	srcKey, dstKey, m := args[1], args[2], args[3]
	src, srcWrong := c.openColl(srcKey, keyspace.Set)
	dst, dstWrong := c.openColl(dstKey, keyspace.Set)
	switch {
	case !srcWrong && !src.found:
		c.r.Int(0)
		return
	case srcWrong || dstWrong:
		c.r.Error(errWrongType)
		return
	case bytes.Equal(srcKey, dstKey):
		c.r.Int(b2i(src.has(c, m)))
		return
	case !src.has(c, m):
		c.r.Int(0)
		return
	}
	src.remove(c, m)
	src.add(-1)
	c.touch(srcKey, "srem")
	if src.save(c) {
		c.touch(srcKey, "del")
	}
	if !dst.has(c, m) {
		dst.put(c, nil, m)
		dst.add(1)
		dst.save(c)
		c.touch(dstKey, "sadd")
	}
	c.r.Int(1)
}

// openSets opens the set keys of SINTER, SUNION, SDIFF and their STORE
// forms: a missing key is an empty set (found false); any key of another
// type answers WRONGTYPE (ok false), as t_set.c checks every key before
// it computes.
func (c *ctx) openSets(keys [][]byte) (sets []*coll, ok bool) {
	sets = make([]*coll, len(keys))
	for i, k := range keys {
		s := c.openSet(k)
		if s == nil {
			return nil, false
		}
		sets[i] = s
	}
	return sets, true
}

// setInter returns the members of every set, in member order, at most
// limit of them (0: all): it walks the smallest set and looks each member
// up in the others, O(N*M) for N the smallest size and M sets.
func (c *ctx) setInter(sets []*coll, limit int64) [][]byte {
	order := slices.Clone(sets)
	slices.SortStableFunc(order, func(a, b *coll) int {
		switch {
		case a.count < b.count:
			return -1
		case a.count > b.count:
			return 1
		}
		return 0
	})
	if len(order) == 0 || !order[0].found {
		return nil
	}
	var out [][]byte
	it := order[0].elems(c, nil, nil, false)
	defer it.close()
	for ; it.Valid(); it.Next() {
		m := order[0].elemOf(it)
		in := true
		for _, o := range order[1:] {
			if !o.has(c, m) {
				in = false
				break
			}
		}
		if in {
			out = append(out, m)
			if limit > 0 && int64(len(out)) >= limit {
				break
			}
		}
	}
	return out
}

// setUnion returns the members of any set, in member order: O(N log N) for
// N members in all.
func (c *ctx) setUnion(sets []*coll) [][]byte {
	var all [][]byte
	for _, s := range sets {
		if s.found {
			all = append(all, c.members(s)...)
		}
	}
	slices.SortFunc(all, bytes.Compare)
	return slices.CompactFunc(all, bytes.Equal)
}

// setDiff returns the members of the first set in none of the others, in
// member order: O(N*M) for N the first set's size and M sets.
func (c *ctx) setDiff(sets []*coll) [][]byte {
	if !sets[0].found {
		return nil
	}
	var out [][]byte
	it := sets[0].elems(c, nil, nil, false)
	defer it.close()
	for ; it.Valid(); it.Next() {
		m := sets[0].elemOf(it)
		in := true
		for _, o := range sets[1:] {
			if o.has(c, m) {
				in = false
				break
			}
		}
		if in {
			out = append(out, m)
		}
	}
	return out
}

// runSetOp is SINTER, SUNION and SDIFF key [key ...] (the result as a set,
// in member order) and SINTERSTORE, SUNIONSTORE and SDIFFSTORE
// destination key [key ...] (the result's size). A store replaces the
// destination whatever it held, without its TTL, and deletes it when the
// result is empty, as t_set.c's setKey and dbDelete do. Events
// "sinterstore", "sunionstore", "sdiffstore", or "del" for an emptied
// destination.
func runSetOp(c *ctx, args [][]byte, _ any) {
	name := lowerASCII(args[0])
	store := len(name) > 5 && name[len(name)-5:] == "store"
	keys := args[1:]
	if store {
		keys = args[2:]
	}
	sets, ok := c.openSets(keys)
	if !ok {
		return
	}
	var res [][]byte
	switch {
	case len(name) >= 6 && name[:6] == "sinter":
		res = c.setInter(sets, 0)
	case len(name) >= 6 && name[:6] == "sunion":
		res = c.setUnion(sets)
	default:
		res = c.setDiff(sets)
	}
	if c.fatal != nil {
		return
	}
	if !store {
		c.replySet(res)
		return
	}
	c.storeSet(args[1], res, name)
	c.r.Int(int64(len(res)))
}

// storeSet replaces key with a set of members (distinct), under a new
// version and without expiry; no members delete the key.
func (c *ctx) storeSet(key []byte, members [][]byte, event string) {
	if len(members) == 0 {
		if c.exists(key) {
			c.del(key)
			c.touch(key, "del")
		}
		return
	}
	s := &coll{key: key, typ: keyspace.Set}
	for _, m := range members {
		s.put(c, nil, m)
	}
	s.add(int64(len(members)))
	s.save(c)
	c.touch(key, event)
}

// parseSintercard parses SINTERCARD numkeys key [key ...] [LIMIT limit]
// as t_set.c's sinterCardCommand does, before any key is looked up.
func parseSintercard(args [][]byte, now int64) (any, error) {
	n, ok := ParseInt(args[1])
	if !ok || n < 1 {
		return nil, errNumkeys
	}
	if n > int64(len(args)-2) {
		return nil, errNumkeysTooMany
	}
	limit := int64(0)
	for i := 2 + int(n); i < len(args); i++ {
		if equalFold(args[i], "limit") && i+1 < len(args) {
			l, ok := ParseInt(args[i+1])
			if !ok || l < 0 {
				return nil, errLimitNegative
			}
			limit = l
			i++
			continue
		}
		return nil, ErrSyntax
	}
	return [2]int64{n, limit}, nil
}

// runSintercard is SINTERCARD: the size of the intersection, counting up
// to LIMIT (0: no limit).
func runSintercard(c *ctx, args [][]byte, p any) {
	nl := p.([2]int64)
	sets, ok := c.openSets(args[2 : 2+nl[0]])
	if !ok {
		return
	}
	res := c.setInter(sets, nl[1])
	if c.fatal == nil {
		c.r.Int(int64(len(res)))
	}
}

// Random choices. Every pick draws from c.random(), seeded from the log
// index in Apply, so every node picks the same; the positions are drawn
// first, then one ordered walk of the collection finds them: uniform,
// O(size) for the walk.

// randIndex returns a uniform random number in [0, n), n > 0, rejecting
// the draws that would bias a modulo.
func (c *ctx) randIndex(n uint64) uint64 {
	thresh := -n % n // 2^64 mod n
	for {
		if v := c.random(); v >= thresh {
			return v % n
		}
	}
}

// randomDistinct picks min(k, size) distinct elements of co uniformly
// (all of them when k >= size), in element order, with their values when
// withValues.
func (c *ctx) randomDistinct(co *coll, k int64, withValues bool) (elems, vals [][]byte) {
	n := co.count
	if k >= n {
		return c.elemsAt(co, nil, withValues)
	}
	// Floyd's sampling: k distinct positions of [0, n).
	chosen := make(map[int64]struct{}, k)
	for j := n - k; j < n; j++ {
		t := int64(c.randIndex(uint64(j + 1)))
		if _, dup := chosen[t]; dup {
			t = j
		}
		chosen[t] = struct{}{}
	}
	idx := make([]int64, 0, k)
	for i := range chosen {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	return c.elemsAt(co, idx, withValues)
}

// randomRepeat picks k elements of co independently and uniformly, in the
// order picked, with their values when withValues.
func (c *ctx) randomRepeat(co *coll, k int64, withValues bool) (elems, vals [][]byte) {
	n := co.count
	if n <= 0 {
		return nil, nil
	}
	picks := make([]int64, k)
	for i := range picks {
		picks[i] = int64(c.randIndex(uint64(n)))
	}
	idx := slices.Clone(picks)
	slices.Sort(idx)
	idx = slices.Compact(idx)
	e, v := c.elemsAt(co, idx, withValues)
	if len(e) < len(idx) { // the walk found fewer elements than counted
		return nil, nil
	}
	elems = make([][]byte, k)
	if withValues {
		vals = make([][]byte, k)
	}
	for i, p := range picks {
		j, _ := slices.BinarySearch(idx, p)
		elems[i] = e[j]
		if withValues {
			vals[i] = v[j]
		}
	}
	return elems, vals
}

// elemsAt walks co once and returns the elements at the positions idx
// (sorted, distinct; nil: every element), with their values when
// withValues.
//
// In an indexed View (FlagByPosition) a few positions are found one by
// one, O(log n) each, instead.
func (c *ctx) elemsAt(co *coll, idx []int64, withValues bool) (elems, vals [][]byte) {
	if idx != nil && int64(len(idx))*32 < co.count {
		if e, v, ok := c.elemsAtPositions(co, idx, withValues); ok {
			return e, v
		}
	}
	all := idx == nil
	it := co.elems(c, nil, nil, false)
	defer it.close()
	pos := int64(0)
	for ; it.Valid() && (all || len(idx) > 0); it.Next() {
		if all || idx[0] == pos {
			elems = append(elems, co.elemOf(it))
			if withValues {
				vals = append(vals, it.Value())
			}
			if !all {
				idx = idx[1:]
			}
		}
		pos++
	}
	return elems, vals
}

// elemsAtPositions is elemsAt by position (coll.at); ok is false when the
// View cannot find positions, and the caller walks.
func (c *ctx) elemsAtPositions(co *coll, idx []int64, withValues bool) (elems, vals [][]byte, ok bool) {
	for _, i := range idx {
		e, found, ok := co.at(c, nil, int(i))
		if !ok {
			return nil, nil, false
		}
		if !found {
			break
		}
		elems = append(elems, slices.Clone(e))
		if withValues {
			v, _ := co.get(c, e)
			vals = append(vals, v)
		}
	}
	return elems, vals, true
}
