package command

import (
	"math"
	"math/big"
	"strconv"

	"github.com/walkerdb/walkerdb/internal/keyspace"
)

func init() {
	hash := func(name string, arity int, flags Flags, since string,
		parse func([][]byte, int64) (any, error), run func(*ctx, [][]byte, any)) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Cats: CatHash, FirstKey: 1, LastKey: 1, Step: 1,
			Group: "hash", Since: since, parse: parse, run: run}
	}
	wdf, r, rf := FlagWrite|FlagDenyOOM|FlagFast, FlagReadonly, FlagReadonly|FlagFast
	register(
		hash("hset", -4, wdf, "2.0.0", parseFieldValues, runHset),
		hash("hmset", -4, wdf, "2.0.0", parseFieldValues, runHset),
		hash("hsetnx", 4, wdf, "2.0.0", nil, runHsetnx),
		hash("hget", 3, rf, "2.0.0", nil, runHget),
		hash("hmget", -3, rf, "2.0.0", nil, runHmget),
		hash("hdel", -3, FlagWrite|FlagFast, "2.0.0", nil, runHdel),
		hash("hlen", 2, rf, "2.0.0", nil, runHlen),
		hash("hstrlen", 3, rf, "3.2.0", nil, runHstrlen),
		hash("hexists", 3, rf, "2.0.0", nil, runHexists),
		hash("hgetall", 2, r, "2.0.0", nil, runHgetall),
		hash("hkeys", 2, r, "2.0.0", nil, runHkeys),
		hash("hvals", 2, r, "2.0.0", nil, runHkeys),
		hash("hincrby", 4, wdf, "2.0.0", parseHincrby, runHincrby),
		hash("hincrbyfloat", 4, wdf, "2.6.0", parseHincrbyfloat, runHincrbyfloat),
		hash("hrandfield", -2, r|FlagByPosition, "6.2.0", parseHrandfield, runHrandfield),
	)
}

// Hash errors, worded as t_hash.c words them.
const (
	errHashNotInt   Error = "ERR hash value is not an integer"
	errHashNotFloat Error = "ERR hash value is not a float"
	errIncrNaN      Error = "ERR value is NaN or Infinity"
	errCountRange   Error = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
	errValueRange   Error = "ERR value is out of range"
)

// openHash opens a hash key, answering WRONGTYPE itself: nil then.
func (c *ctx) openHash(key []byte) *coll {
	co, wrong := c.openColl(key, keyspace.Hash)
	if wrong {
		c.r.Error(errWrongType)
		return nil
	}
	return co
}

// parseFieldValues checks that field value pairs follow the key (HSET,
// HMSET), as t_hash.c's hsetCommand does before it looks the key up.
func parseFieldValues(args [][]byte, now int64) (any, error) {
	if len(args)%2 != 0 {
		return nil, ErrArity(lowerASCII(args[0]))
	}
	return nil, nil
}

// runHset is HSET key field value [field value ...], answering the number
// of fields added, and HMSET, answering OK. One lookup and one write per
// field. Event "hset".
func runHset(c *ctx, args [][]byte, _ any) {
	h := c.openHash(args[1])
	if h == nil {
		return
	}
	added := int64(0)
	for i := 2; i < len(args); i += 2 {
		if !h.has(c, args[i]) {
			added++
		}
		h.put(c, args[i+1], args[i])
	}
	h.add(added)
	h.save(c)
	c.touch(args[1], "hset")
	if isName(args[0], "hmset") {
		c.r.Status("OK")
	} else {
		c.r.Int(added)
	}
}

// runHsetnx is HSETNX key field value: 1 when it set the field, 0 when the
// field existed (and nothing changed). Event "hset" when set.
func runHsetnx(c *ctx, args [][]byte, _ any) {
	h := c.openHash(args[1])
	if h == nil {
		return
	}
	if h.has(c, args[2]) {
		c.r.Int(0)
		return
	}
	h.put(c, args[3], args[2])
	h.add(1)
	h.save(c)
	c.touch(args[1], "hset")
	c.r.Int(1)
}

func runHget(c *ctx, args [][]byte, _ any) {
	h := c.openHash(args[1])
	if h == nil {
		return
	}
	c.bulkOrNull(h.get(c, args[2]))
}

// runHmget is HMGET key field [field ...]: an array with each field's
// value or a null, all nulls for a missing key. One lookup per field.
func runHmget(c *ctx, args [][]byte, _ any) {
	h := c.openHash(args[1])
	if h == nil {
		return
	}
	vals := make([][]byte, len(args)-2)
	found := make([]bool, len(vals))
	for i, f := range args[2:] {
		vals[i], found[i] = h.get(c, f)
	}
	if c.fatal != nil {
		return
	}
	c.r.Array(len(vals))
	for i, v := range vals {
		c.bulkOrNull(v, found[i])
	}
}

func runHdel(c *ctx, args [][]byte, _ any) {
	h := c.openHash(args[1])
	if h == nil {
		return
	}
	n := int64(0)
	for _, f := range args[2:] {
		if h.has(c, f) {
			h.remove(c, f)
			n++
		}
	}
	h.add(-n)
	if n > 0 {
		c.touch(args[1], "hdel")
		if h.save(c) {
			c.touch(args[1], "del")
		}
	}
	c.r.Int(n)
}

func runHlen(c *ctx, args [][]byte, _ any) {
	if h := c.openHash(args[1]); h != nil {
		c.r.Int(h.count)
	}
}

// runHstrlen is HSTRLEN key field: the length in bytes of the field's
// value, 0 when there is none.
func runHstrlen(c *ctx, args [][]byte, _ any) {
	h := c.openHash(args[1])
	if h == nil {
		return
	}
	v, _ := h.get(c, args[2])
	c.r.Int(int64(len(v)))
}

// runHexists is HEXISTS key field: 1 or 0.
func runHexists(c *ctx, args [][]byte, _ any) {
	h := c.openHash(args[1])
	if h == nil {
		return
	}
	c.r.Int(b2i(h.has(c, args[2])))
}

func runHgetall(c *ctx, args [][]byte, _ any) {
	h := c.openHash(args[1])
	if h == nil {
		return
	}
	it := h.elems(c, nil, nil, false)
	defer it.close()
	var kv [][]byte
	for ; it.Valid(); it.Next() {
		kv = append(kv, h.elemOf(it), it.Value())
	}
	if c.fatal != nil {
		return
	}
	c.r.Map(len(kv) / 2)
	for _, b := range kv {
		c.r.Bulk(b)
	}
}

// runHkeys is HKEYS key (the fields) and HVALS key (the values): an array,
// in field order; empty for a missing key. O(n).
func runHkeys(c *ctx, args [][]byte, _ any) {
	h := c.openHash(args[1])
	if h == nil {
		return
	}
	vals := isName(args[0], "hvals")
	it := h.elems(c, nil, nil, false)
	defer it.close()
	var out [][]byte
	for ; it.Valid(); it.Next() {
		if vals {
			out = append(out, it.Value())
		} else {
			out = append(out, h.elemOf(it))
		}
	}
	if c.fatal != nil {
		return
	}
	c.r.Array(len(out))
	for _, b := range out {
		c.r.Bulk(b)
	}
}

// parseHincrby reads HINCRBY's increment, refused before the key is looked
// up as t_hash.c's hincrbyCommand does.
func parseHincrby(args [][]byte, now int64) (any, error) {
	n, ok := ParseInt(args[3])
	if !ok {
		return nil, ErrNotInteger
	}
	return n, nil
}

// runHincrby is HINCRBY key field increment: the new value of the field
// (0 when missing) plus increment. A value that is not an integer (as
// string2ll reads it) gives "ERR hash value is not an integer", a result
// beyond int64 "ERR increment or decrement would overflow"; neither
// changes anything. Event "hincrby".
func runHincrby(c *ctx, args [][]byte, p any) {
	incr := p.(int64)
	h := c.openHash(args[1])
	if h == nil {
		return
	}
	v, found := h.get(c, args[2])
	cur, err := addInt(v, found, incr, errHashNotInt)
	if err != "" {
		c.r.Error(string(err))
		return
	}
	h.put(c, strconv.AppendInt(nil, cur, 10), args[2])
	if !found {
		h.add(1)
	}
	h.save(c)
	c.touch(args[1], "hincrby")
	c.r.Int(cur)
}

// parseHincrbyfloat reads HINCRBYFLOAT's increment as a long double
// (string2ld); an infinite one is refused with "ERR value is NaN or
// Infinity", both before the key is looked up, as t_hash.c's
// hincrbyfloatCommand does.
func parseHincrbyfloat(args [][]byte, now int64) (any, error) {
	f, inf, ok := parseLongDouble(args[3])
	switch {
	case !ok:
		return nil, ErrNotFloat
	case inf:
		return nil, errIncrNaN
	}
	return f, nil
}

// runHincrbyfloat is HINCRBYFLOAT key field increment, computed in long
// double precision as INCRBYFLOAT is (parse.go): the field's new value,
// stored and answered as ld2string's human form. A value that is not a
// float gives "ERR hash value is not a float", a result that is infinite
// "ERR increment would produce NaN or Infinity". Event "hincrbyfloat".
func runHincrbyfloat(c *ctx, args [][]byte, p any) {
	incr := p.(*big.Float)
	h := c.openHash(args[1])
	if h == nil {
		return
	}
	v, found := h.get(c, args[2])
	s, err := addLongDouble(v, found, incr, false, errHashNotFloat)
	if err != "" {
		c.r.Error(string(err))
		return
	}
	h.put(c, []byte(s), args[2])
	if !found {
		h.add(1)
	}
	h.save(c)
	c.touch(args[1], "hincrbyfloat")
	c.r.BulkString(s)
}

// randArgs are the parsed arguments of HRANDFIELD and SRANDMEMBER.
type randArgs struct {
	withCount  bool
	count      int64
	withValues bool
}

// parseHrandfield parses HRANDFIELD key [count [WITHVALUES]] as t_hash.c's
// hrandfieldCommand does, before the key is looked up: the count within
// ±LONG_MAX, then the syntax, then, with WITHVALUES, within ±LONG_MAX/2.
func parseHrandfield(args [][]byte, now int64) (any, error) {
	a := &randArgs{}
	if len(args) < 3 {
		return a, nil
	}
	n, err := parseRandCount(args[2])
	if err != nil {
		return nil, err
	}
	a.withCount, a.count = true, n
	if len(args) > 4 || (len(args) == 4 && !equalFold(args[3], "withvalues")) {
		return nil, ErrSyntax
	}
	if len(args) == 4 {
		a.withValues = true
		if n < -math.MaxInt64/2 || n > math.MaxInt64/2 {
			return nil, errValueRange
		}
	}
	return a, nil
}

// parseRandCount reads the count of HRANDFIELD and SRANDMEMBER as
// getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX) does.
func parseRandCount(b []byte) (int64, error) {
	n, ok := ParseInt(b)
	if !ok {
		return 0, ErrNotInteger
	}
	if n == math.MinInt64 {
		return 0, errCountRange
	}
	return n, nil
}

// runHrandfield is HRANDFIELD key [count [WITHVALUES]], as t_hash.c's
// hrandfieldCommand answers it: without a count, a random field (null for
// a missing key); with a count n >= 0, min(n, size) distinct fields (the
// whole hash when n >= size), in field order; with n < 0, |n| fields
// picked independently (repeats allowed), in the order picked. WITHVALUES
// gives each field's value after it: flat in RESP2, and in RESP3 pairs
// as Writer.PairArray gives them. Choices come from c.random()
// and are uniform; one ordered walk of the hash finds them, O(size).
func runHrandfield(c *ctx, args [][]byte, p any) {
	a := p.(*randArgs)
	h := c.openHash(args[1])
	if h == nil {
		return
	}
	if !a.withCount {
		if !h.found {
			c.r.Null()
			return
		}
		elems, _ := c.randomDistinct(h, 1, false)
		if len(elems) == 1 && c.fatal == nil {
			c.r.Bulk(elems[0])
		} else if c.fatal == nil {
			c.r.Null()
		}
		return
	}
	if !h.found || a.count == 0 {
		c.r.Array(0)
		return
	}
	var fields, vals [][]byte
	if a.count < 0 {
		if -a.count > maxRandomRepeat {
			c.r.Error(string(errRandomRepeat))
			return
		}
		fields, vals = c.randomRepeat(h, -a.count, a.withValues)
	} else {
		fields, vals = c.randomDistinct(h, a.count, a.withValues)
	}
	if c.fatal != nil {
		return
	}
	if !a.withValues {
		c.r.Array(len(fields))
		for _, f := range fields {
			c.r.Bulk(f)
		}
		return
	}
	c.r.PairArray(len(fields))
	for i, f := range fields {
		c.r.Pair()
		c.r.Bulk(f)
		c.r.Bulk(vals[i])
	}
}
