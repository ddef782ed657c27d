package command

import (
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
		hash("hget", 3, rf, "2.0.0", nil, runHget),
		hash("hdel", -3, FlagWrite|FlagFast, "2.0.0", nil, runHdel),
		hash("hlen", 2, rf, "2.0.0", nil, runHlen),
		hash("hgetall", 2, r, "2.0.0", nil, runHgetall),
	)
}

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
// HMSET).
func parseFieldValues(args [][]byte, now int64) (any, error) {
	if len(args)%2 != 0 {
		return nil, ErrArity(lowerASCII(args[0]))
	}
	return nil, nil
}

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
	c.r.Int(added)
}

func runHget(c *ctx, args [][]byte, _ any) {
	h := c.openHash(args[1])
	if h == nil {
		return
	}
	c.bulkOrNull(h.get(c, args[2]))
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
