package command

import (
	"math"
	"strconv"
)

func init() {
	register(
		&Spec{Name: "del", Arity: -2, Flags: FlagWrite, FirstKey: 1, LastKey: -1, Step: 1, run: runDel},
		&Spec{Name: "unlink", Arity: -2, Flags: FlagWrite, FirstKey: 1, LastKey: -1, Step: 1, run: runDel},
		&Spec{Name: "exists", Arity: -2, Flags: FlagRead, FirstKey: 1, LastKey: -1, Step: 1, run: runExists},
		&Spec{Name: "type", Arity: 2, Flags: FlagRead, FirstKey: 1, LastKey: 1, Step: 1, run: runType},
		&Spec{Name: "rename", Arity: 3, Flags: FlagWrite, FirstKey: 1, LastKey: 2, Step: 1, run: runRename},
		&Spec{Name: "renamenx", Arity: 3, Flags: FlagWrite, FirstKey: 1, LastKey: 2, Step: 1, run: runRename},
		&Spec{Name: "keys", Arity: 2, Flags: FlagRead | flagNoView, run: runKeys},
		&Spec{Name: "dbsize", Arity: 1, Flags: FlagRead | flagNoView, run: runDbsize},
		&Spec{Name: "randomkey", Arity: 1, Flags: FlagRead | flagNoView, run: runRandomkey},
		&Spec{Name: "flushdb", Arity: -1, Flags: FlagWrite | flagNoView, check: checkFlush, run: runFlush},
		&Spec{Name: "flushall", Arity: -1, Flags: FlagWrite | flagNoView, check: checkFlush, run: runFlush},
		&Spec{Name: "expire", Arity: -3, Flags: FlagWrite, FirstKey: 1, LastKey: 1, Step: 1, check: checkExpire, run: runExpire},
		&Spec{Name: "pexpire", Arity: -3, Flags: FlagWrite, FirstKey: 1, LastKey: 1, Step: 1, check: checkExpire, run: runExpire},
		&Spec{Name: "expireat", Arity: -3, Flags: FlagWrite, FirstKey: 1, LastKey: 1, Step: 1, check: checkExpire, run: runExpire},
		&Spec{Name: "pexpireat", Arity: -3, Flags: FlagWrite, FirstKey: 1, LastKey: 1, Step: 1, check: checkExpire, run: runExpire},
		&Spec{Name: "ttl", Arity: 2, Flags: FlagRead, FirstKey: 1, LastKey: 1, Step: 1, run: runTTL},
		&Spec{Name: "pttl", Arity: 2, Flags: FlagRead, FirstKey: 1, LastKey: 1, Step: 1, run: runTTL},
		&Spec{Name: "expiretime", Arity: 2, Flags: FlagRead, FirstKey: 1, LastKey: 1, Step: 1, run: runTTL},
		&Spec{Name: "pexpiretime", Arity: 2, Flags: FlagRead, FirstKey: 1, LastKey: 1, Step: 1, run: runTTL},
		&Spec{Name: "persist", Arity: 2, Flags: FlagWrite, FirstKey: 1, LastKey: 1, Step: 1, run: runPersist},
		// Commands that need no data; Apply runs them inside transactions.
		&Spec{Name: "ping", Arity: -1, Flags: FlagPure, check: checkPing, run: runPing},
		&Spec{Name: "echo", Arity: 2, Flags: FlagPure, run: runEcho},
		&Spec{Name: "select", Arity: 2, Flags: FlagPure, check: checkSelect, run: runSelect},
		&Spec{Name: "time", Arity: 1, Flags: FlagPure, run: runTime},
	)
}

func runDel(c *ctx, args [][]byte) {
	n := int64(0)
	for _, k := range args[1:] {
		if c.exists(k) {
			c.del(k)
			n++
		}
	}
	c.out = appendInt(c.out, n)
}

func runExists(c *ctx, args [][]byte) {
	n := int64(0)
	for _, k := range args[1:] {
		if c.exists(k) {
			n++
		}
	}
	c.out = appendInt(c.out, n)
}

func runType(c *ctx, args [][]byte) {
	if c.exists(args[1]) {
		c.out = appendSimple(c.out, "string")
	} else {
		c.out = appendSimple(c.out, "none")
	}
}

func runRename(c *ctx, args [][]byte) {
	nx := isName(args[0], "renamenx")
	src, dst := args[1], args[2]
	v, exp, ok := c.get(src)
	if !ok {
		c.out = appendError(c.out, string(ErrNoSuchKey))
		return
	}
	if string(src) == string(dst) {
		if nx {
			c.out = appendInt(c.out, 0)
		} else {
			c.out = appendSimple(c.out, "OK")
		}
		return
	}
	if nx && c.exists(dst) {
		c.out = appendInt(c.out, 0)
		return
	}
	c.put(dst, v, exp)
	c.del(src)
	if nx {
		c.out = appendInt(c.out, 1)
	} else {
		c.out = appendSimple(c.out, "OK")
	}
}

// literalPrefix is the part of a glob pattern before its first special
// character: every match begins with it.
func literalPrefix(pattern []byte) []byte {
	for i, ch := range pattern {
		switch ch {
		case '*', '?', '[', '\\':
			return pattern[:i]
		}
	}
	return pattern
}

func runKeys(c *ctx, args [][]byte) {
	pattern := args[1]
	keys := c.allKeys(literalPrefix(pattern))
	if c.fatal != nil {
		return
	}
	match := keys[:0]
	all := len(pattern) == 1 && pattern[0] == '*'
	for _, k := range keys {
		if all || Match(pattern, k) {
			match = append(match, k)
		}
	}
	c.out = appendArray(c.out, len(match))
	for _, k := range match {
		c.out = appendBulk(c.out, k)
	}
}

func runDbsize(c *ctx, args [][]byte) {
	c.out = appendInt(c.out, c.dbsize())
}

func runRandomkey(c *ctx, args [][]byte) {
	if k, ok := c.randomKey(); ok {
		c.out = appendBulk(c.out, k)
	} else {
		c.out = appendNull(c.out)
	}
}

func checkFlush(args [][]byte, now int64) error {
	if len(args) > 2 {
		return ErrSyntax
	}
	if len(args) == 2 && !equalFold(args[1], "sync") && !equalFold(args[1], "async") {
		return ErrSyntax
	}
	return nil
}

func runFlush(c *ctx, args [][]byte) {
	if err := checkFlush(args, c.now); err != nil {
		c.out = appendError(c.out, err.Error())
		return
	}
	if isName(args[0], "flushall") {
		for d := range Databases {
			c.flush(d)
		}
	} else {
		c.flush(c.dbi)
	}
	c.out = appendSimple(c.out, "OK")
}

// EXPIRE options.
const (
	expNX = 1 << iota
	expXX
	expGT
	expLT
)

// parseExpire parses EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT as Redis's
// expireGenericCommand does, up to the key lookup: it returns the absolute
// expiry time in ms and the option flags.
func parseExpire(args [][]byte, now int64) (when int64, flags int, err error) {
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
			return 0, 0, Error("ERR Unsupported option " + string(cstr(opt)))
		}
	}
	if nx && (xx || gt || lt) {
		return 0, 0, Error("ERR NX and XX, GT or LT options at the same time are not compatible")
	}
	if gt && lt {
		return 0, 0, Error("ERR GT and LT options at the same time are not compatible")
	}
	for f, on := range []bool{nx, xx, gt, lt} {
		if on {
			flags |= 1 << f
		}
	}
	when, ok := ParseInt(args[2])
	if !ok {
		return 0, 0, ErrNotInteger
	}
	name := lowerASCII(args[0])
	var base int64
	if name == "expire" || name == "pexpire" {
		base = now
	}
	if name == "expire" || name == "expireat" {
		if when > math.MaxInt64/1000 || when < math.MinInt64/1000 {
			return 0, 0, errExpireTime(name)
		}
		when *= 1000
	}
	if when > math.MaxInt64-base {
		return 0, 0, errExpireTime(name)
	}
	return when + base, flags, nil
}

func checkExpire(args [][]byte, now int64) error {
	_, _, err := parseExpire(args, now)
	return err
}

func runExpire(c *ctx, args [][]byte) {
	when, flags, err := parseExpire(args, c.now)
	if err != nil {
		c.out = appendError(c.out, err.Error())
		return
	}
	v, cur, ok := c.get(args[1])
	if !ok {
		c.out = appendInt(c.out, 0)
		return
	}
	switch {
	case flags&expNX != 0 && cur != 0,
		flags&expXX != 0 && cur == 0,
		flags&expGT != 0 && (cur == 0 || when <= cur),
		flags&expLT != 0 && cur != 0 && when >= cur:
		c.out = appendInt(c.out, 0)
		return
	}
	if when <= c.now {
		c.del(args[1])
	} else {
		c.put(args[1], v, when)
	}
	c.out = appendInt(c.out, 1)
}

func runTTL(c *ctx, args [][]byte) {
	_, exp, ok := c.meta(args[1])
	name := lowerASCII(args[0])
	switch {
	case !ok:
		c.out = appendInt(c.out, -2)
	case exp == 0:
		c.out = appendInt(c.out, -1)
	case name == "ttl":
		c.out = appendInt(c.out, (max(exp-c.now, 0)+500)/1000)
	case name == "pttl":
		c.out = appendInt(c.out, max(exp-c.now, 0))
	case name == "expiretime":
		c.out = appendInt(c.out, exp/1000)
	default:
		c.out = appendInt(c.out, exp)
	}
}

func runPersist(c *ctx, args [][]byte) {
	v, exp, ok := c.get(args[1])
	if !ok || exp == 0 {
		c.out = appendInt(c.out, 0)
		return
	}
	c.put(args[1], v, 0)
	c.out = appendInt(c.out, 1)
}

func checkPing(args [][]byte, now int64) error {
	if len(args) > 2 {
		return ErrArity("ping")
	}
	return nil
}

func runPing(c *ctx, args [][]byte) {
	if len(args) > 2 {
		c.out = appendError(c.out, string(ErrArity("ping")))
	} else if len(args) == 2 {
		c.out = appendBulk(c.out, args[1])
	} else {
		c.out = appendSimple(c.out, "PONG")
	}
}

func runEcho(c *ctx, args [][]byte) { c.out = appendBulk(c.out, args[1]) }

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

func checkSelect(args [][]byte, now int64) error {
	_, err := ParseDB(args[1])
	return err
}

func runSelect(c *ctx, args [][]byte) {
	d, err := ParseDB(args[1])
	if err != nil {
		c.out = appendError(c.out, err.Error())
		return
	}
	c.dbi = d
	c.out = appendSimple(c.out, "OK")
}

// runTime answers TIME inside a transaction from the entry's clock, so
// every node gives the same reply.
func runTime(c *ctx, args [][]byte) {
	c.out = appendArray(c.out, 2)
	c.out = appendBulkString(c.out, strconv.FormatInt(c.now/1000, 10))
	c.out = appendBulkString(c.out, strconv.FormatInt((c.now%1000)*1000, 10))
}
