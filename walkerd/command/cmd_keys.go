package command

import (
	"math"
	"strconv"
)

func init() {
	key := func(name string, arity int, flags Flags, cats Category, first, last, step int, since string,
		parse func([][]byte, int64) (any, error), run func(*ctx, [][]byte, any)) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Cats: CatKeyspace | cats, FirstKey: first, LastKey: last,
			Step: step, Group: "generic", Since: since, parse: parse, run: run}
	}
	w, wf, r, rf := FlagWrite, FlagWrite|FlagFast, FlagReadonly, FlagReadonly|FlagFast
	register(
		key("del", -2, w, 0, 1, -1, 1, "1.0.0", nil, runDel),
		key("unlink", -2, wf, 0, 1, -1, 1, "4.0.0", nil, runDel),
		key("exists", -2, rf, 0, 1, -1, 1, "1.0.0", nil, runExists),
		key("type", 2, rf, 0, 1, 1, 1, "1.0.0", nil, runType),
		key("rename", 3, w, 0, 1, 2, 1, "1.0.0", nil, runRename),
		key("renamenx", 3, wf, 0, 1, 2, 1, "1.0.0", nil, runRename),
		key("keys", 2, r, CatDangerous, 0, 0, 0, "1.0.0", nil, runKeys),
		key("randomkey", 1, r, 0, 0, 0, 0, "1.0.0", nil, runRandomkey),
		key("expire", -3, wf, 0, 1, 1, 1, "1.0.0", parseExpire, runExpire),
		key("pexpire", -3, wf, 0, 1, 1, 1, "2.6.0", parseExpire, runExpire),
		key("expireat", -3, wf, 0, 1, 1, 1, "1.2.0", parseExpire, runExpire),
		key("pexpireat", -3, wf, 0, 1, 1, 1, "2.6.0", parseExpire, runExpire),
		key("ttl", 2, rf, 0, 1, 1, 1, "1.0.0", nil, runTTL),
		key("pttl", 2, rf, 0, 1, 1, 1, "2.6.0", nil, runTTL),
		key("expiretime", 2, rf, 0, 1, 1, 1, "7.0.0", nil, runTTL),
		key("pexpiretime", 2, rf, 0, 1, 1, 1, "7.0.0", nil, runTTL),
		key("persist", 2, wf, 0, 1, 1, 1, "2.2.0", nil, runPersist),
		&Spec{Name: "dbsize", Arity: 1, Flags: rf, Cats: CatKeyspace, Group: "server", Since: "1.0.0", run: runDbsize},
		&Spec{Name: "flushdb", Arity: -1, Flags: w, Cats: CatKeyspace | CatDangerous, Group: "server", Since: "1.0.0", parse: parseFlush, run: runFlush},
		&Spec{Name: "flushall", Arity: -1, Flags: w, Cats: CatKeyspace | CatDangerous, Group: "server", Since: "1.0.0", parse: parseFlush, run: runFlush},
		// Commands that need no data; Apply runs them inside transactions.
		&Spec{Name: "ping", Arity: -1, Flags: FlagPure | FlagFast, Cats: CatConnection, Group: "connection", Since: "1.0.0", parse: parsePing, run: runPing},
		&Spec{Name: "echo", Arity: 2, Flags: FlagPure | FlagLoading | FlagStale | FlagFast, Cats: CatConnection, Group: "connection", Since: "1.0.0", run: runEcho},
		&Spec{Name: "select", Arity: 2, Flags: FlagPure | FlagLoading | FlagStale | FlagFast, Cats: CatConnection, Group: "connection",
			Since: "1.0.0", parse: parseSelect, run: runSelect},
		&Spec{Name: "time", Arity: 1, Flags: FlagPure | FlagLoading | FlagStale | FlagFast, Group: "server", Since: "2.6.0", run: runTime},
	)
}

func runDel(c *ctx, args [][]byte, _ any) {
	n := int64(0)
	for _, k := range args[1:] {
		if c.exists(k) {
			c.del(k)
			c.touch(k, "del")
			n++
		}
	}
	c.r.Int(n)
}

func runExists(c *ctx, args [][]byte, _ any) {
	n := int64(0)
	for _, k := range args[1:] {
		if c.exists(k) {
			n++
		}
	}
	c.r.Int(n)
}

func runType(c *ctx, args [][]byte, _ any) {
	if v, ok := c.lookup(args[1]); ok {
		c.r.Status(v.Type.String())
	} else {
		c.r.Status("none")
	}
}

// copyValue writes val (a key's value, any type) under dst with expiry
// exp, both in the current database: a string's bytes, or a collection's
// elements under a new version. copyValueDB (cmd_generic.go) copies
// between databases (COPY DB, MOVE, SWAPDB).
func (c *ctx) copyValue(src []byte, val value, dst []byte, exp int64) {
	c.copyValueDB(c.dbi, src, val, c.dbi, dst, exp)
}

func runRename(c *ctx, args [][]byte, _ any) {
	nx := isName(args[0], "renamenx")
	src, dst := args[1], args[2]
	val, ok := c.lookup(src)
	if !ok {
		c.r.Error(string(ErrNoSuchKey))
		return
	}
	if string(src) == string(dst) {
		if nx {
			c.r.Int(0)
		} else {
			c.r.Status("OK")
		}
		return
	}
	if nx && c.exists(dst) {
		c.r.Int(0)
		return
	}
	c.copyValue(src, val, dst, val.exp)
	c.del(src)
	c.touch(src, "rename_from")
	c.touch(dst, "rename_to")
	if nx {
		c.r.Int(1)
	} else {
		c.r.Status("OK")
	}
}

func runKeys(c *ctx, args [][]byte, _ any) {
	pattern := args[1]
	all := len(pattern) == 1 && pattern[0] == '*'
	keys := c.userKeys(func(k []byte) bool { return all || Match(pattern, k) })
	if c.fatal != nil {
		return
	}
	c.r.Array(len(keys))
	for _, k := range keys {
		c.r.Bulk(k)
	}
}

func runDbsize(c *ctx, args [][]byte, _ any) { c.r.Int(c.dbsize()) }

func runRandomkey(c *ctx, args [][]byte, _ any) {
	k, ok := c.randomKey()
	c.bulkOrNull(k, ok)
}

func parseFlush(args [][]byte, now int64) (any, error) {
	if len(args) > 2 {
		return nil, ErrSyntax
	}
	if len(args) == 2 && !equalFold(args[1], "sync") && !equalFold(args[1], "async") {
		return nil, ErrSyntax
	}
	return nil, nil
}

func runFlush(c *ctx, args [][]byte, _ any) {
	if isName(args[0], "flushall") {
		for d := range Databases {
			c.flush(d)
		}
	} else {
		c.flush(c.dbi)
	}
	c.r.Status("OK")
}

// EXPIRE options.
const (
	expNX = 1 << iota
	expXX
	expGT
	expLT
)

type expireArgs struct {
	when  int64 // absolute, Unix ms
	flags int
}

// parseExpire parses EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT as Redis's
// expireGenericCommand does, up to the key lookup: the absolute expiry
// time in ms and the option flags.
func parseExpire(args [][]byte, now int64) (any, error) {
	var nx, xx, gt, lt bool
	for _, opt := range args[3:] {
		switch {
		case equalFold(opt, "nx"):
			nx = true
		case equalFold(opt, "xx"):
			xx = true
		case equalFold(opt, "gt"):
			gt = true
		case equalFold(opt, "lt"):
			lt = true
		default:
			return nil, Error("ERR Unsupported option " + string(cstr(opt)))
		}
	}
	if nx && (xx || gt || lt) {
		return nil, Error("ERR NX and XX, GT or LT options at the same time are not compatible")
	}
	if gt && lt {
		return nil, Error("ERR GT and LT options at the same time are not compatible")
	}
	a := &expireArgs{}
	for f, on := range []bool{nx, xx, gt, lt} {
		if on {
			a.flags |= 1 << f
		}
	}
	when, ok := ParseInt(args[2])
	if !ok {
		return nil, ErrNotInteger
	}
	name := lowerASCII(args[0])
	var base int64
	if name == "expire" || name == "pexpire" {
		base = now
	}
	if name == "expire" || name == "expireat" {
		if when > math.MaxInt64/1000 || when < math.MinInt64/1000 {
			return nil, errExpireTime(name)
		}
		when *= 1000
	}
	if when > math.MaxInt64-base {
		return nil, errExpireTime(name)
	}
	a.when = when + base
	return a, nil
}

func runExpire(c *ctx, args [][]byte, p any) {
	a := p.(*expireArgs)
	val, ok := c.lookup(args[1])
	if !ok {
		c.r.Int(0)
		return
	}
	cur := val.exp
	switch {
	case a.flags&expNX != 0 && cur != 0,
		a.flags&expXX != 0 && cur == 0,
		a.flags&expGT != 0 && (cur == 0 || a.when <= cur),
		a.flags&expLT != 0 && cur != 0 && a.when >= cur:
		c.r.Int(0)
		return
	}
	if a.when <= c.now {
		c.del(args[1])
		c.touch(args[1], "del")
	} else {
		c.setExpire(args[1], val, a.when)
		c.touch(args[1], "expire")
	}
	c.r.Int(1)
}

func runTTL(c *ctx, args [][]byte, _ any) {
	m, ok := c.metaRaw(c.metaKey(args[1]))
	if !ok {
		c.missed(args[1])
	} else {
		c.hit()
	}
	exp := m.ExpireAt
	name := lowerASCII(args[0])
	switch {
	case !ok:
		c.r.Int(-2)
	case exp == 0:
		c.r.Int(-1)
	case name == "ttl":
		c.r.Int((max(exp-c.now, 0) + 500) / 1000)
	case name == "pttl":
		c.r.Int(max(exp-c.now, 0))
	case name == "expiretime":
		c.r.Int(exp / 1000)
	default:
		c.r.Int(exp)
	}
}

func runPersist(c *ctx, args [][]byte, _ any) {
	val, ok := c.lookup(args[1])
	if !ok || val.exp == 0 {
		c.r.Int(0)
		return
	}
	c.setExpire(args[1], val, 0)
	c.touch(args[1], "persist")
	c.r.Int(1)
}

func parsePing(args [][]byte, now int64) (any, error) {
	if len(args) > 2 {
		return nil, ErrArity("ping")
	}
	return nil, nil
}

func runPing(c *ctx, args [][]byte, _ any) {
	if len(args) == 2 {
		c.r.Bulk(args[1])
	} else {
		c.r.Status("PONG")
	}
}

func runEcho(c *ctx, args [][]byte, _ any) { c.r.Bulk(args[1]) }

// ParseDB parses SELECT's argument.
func ParseDB(arg []byte) (int, error) {
	n, ok := ParseInt(arg)
	if !ok {
		return 0, ErrNotInteger
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, ErrIntRange
	}
	if n < 0 || n >= Databases {
		return 0, ErrDBRange
	}
	return int(n), nil
}

func parseSelect(args [][]byte, now int64) (any, error) { return ParseDB(args[1]) }

func runSelect(c *ctx, args [][]byte, p any) {
	c.dbi = p.(int)
	c.r.Status("OK")
}

// runTime answers TIME inside a transaction from the entry's clock, so
// every node gives the same reply.
func runTime(c *ctx, args [][]byte, _ any) {
	c.r.Array(2)
	c.r.BulkString(strconv.FormatInt(c.now/1000, 10))
	c.r.BulkString(strconv.FormatInt((c.now%1000)*1000, 10))
}
