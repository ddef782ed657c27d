package command

import (
	"math"
	"math/big"
	"strconv"

	"github.com/walkerdb/walkerdb/internal/keyspace"
)

func init() {
	str := func(name string, arity int, flags Flags, first, last, step int, since string,
		parse func([][]byte, int64) (any, error), run func(*ctx, [][]byte, any)) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Cats: CatString, FirstKey: first, LastKey: last, Step: step,
			Group: "string", Since: since, parse: parse, run: run}
	}
	w, wd, wdf, r, rf := FlagWrite, FlagWrite|FlagDenyOOM, FlagWrite|FlagDenyOOM|FlagFast, FlagReadonly, FlagReadonly|FlagFast
	register(
		str("get", 2, rf, 1, 1, 1, "1.0.0", nil, runGet),
		str("set", -3, wd, 1, 1, 1, "1.0.0", parseSet, runSet),
		str("setnx", 3, wdf, 1, 1, 1, "1.0.0", nil, runSetnx),
		str("setex", 4, wd, 1, 1, 1, "2.0.0", parseSetex, runSetex),
		str("psetex", 4, wd, 1, 1, 1, "2.6.0", parseSetex, runSetex),
		str("getset", 3, wdf, 1, 1, 1, "1.0.0", nil, runGetset),
		str("getdel", 2, w|FlagFast, 1, 1, 1, "6.2.0", nil, runGetdel),
		str("getex", -2, w|FlagFast, 1, 1, 1, "6.2.0", parseGetex, runGetex),
		str("mget", -2, rf, 1, -1, 1, "1.0.0", nil, runMget),
		str("mset", -3, wd, 1, -1, 2, "1.0.1", parseMset, runMset),
		str("msetnx", -3, wd, 1, -1, 2, "1.0.1", parseMset, runMset),
		str("incr", 2, wdf, 1, 1, 1, "1.0.0", parseIncr, runIncr),
		str("decr", 2, wdf, 1, 1, 1, "1.0.0", parseIncr, runIncr),
		str("incrby", 3, wdf, 1, 1, 1, "1.0.0", parseIncr, runIncr),
		str("decrby", 3, wdf, 1, 1, 1, "1.0.0", parseIncr, runIncr),
		str("incrbyfloat", 3, wdf, 1, 1, 1, "2.6.0", parseIncrbyfloat, runIncrbyfloat),
		str("append", 3, wdf, 1, 1, 1, "2.0.0", nil, runAppend),
		str("strlen", 2, rf, 1, 1, 1, "2.2.0", nil, runStrlen),
		str("getrange", 4, r, 1, 1, 1, "2.4.0", parseRange, runGetrange),
		str("substr", 4, r, 1, 1, 1, "1.0.0", parseRange, runGetrange),
		str("setrange", 4, wd, 1, 1, 1, "2.2.0", parseSetrange, runSetrange),
	)
}

// String option flags, as Redis's OBJ_SET_* / OBJ_* flags.
const (
	optNX = 1 << iota
	optXX
	optGet
	optKeepTTL
	optPersist
	optEX
	optPX
	optEXAT
	optPXAT
)

const optAnyExpire = optEX | optPX | optEXAT | optPXAT

type strOpts struct {
	flags  int
	expire []byte // the EX/PX/EXAT/PXAT argument
}

// parseStrOpts parses the options of SET (from args[3]) or GETEX (from
// args[2]) exactly as Redis's parseExtendedStringArgumentsOrReply does:
// repeated options are allowed where Redis allows them.
func parseStrOpts(args [][]byte, isSet bool) (strOpts, error) {
	var o strOpts
	j := 3
	if !isSet {
		j = 2
	}
	for ; j < len(args); j++ {
		opt := args[j]
		hasNext := j < len(args)-1
		f := o.flags
		switch {
		case equalFold(opt, "nx") && f&optXX == 0 && isSet:
			o.flags |= optNX
		case equalFold(opt, "xx") && f&optNX == 0 && isSet:
			o.flags |= optXX
		case equalFold(opt, "get") && isSet:
			o.flags |= optGet
		case equalFold(opt, "keepttl") && f&(optPersist|optAnyExpire) == 0 && isSet:
			o.flags |= optKeepTTL
		case equalFold(opt, "persist") && !isSet && f&(optAnyExpire|optKeepTTL) == 0:
			o.flags |= optPersist
		case equalFold(opt, "ex") && f&(optKeepTTL|optPersist|optEXAT|optPX|optPXAT) == 0 && hasNext:
			o.flags |= optEX
			o.expire = args[j+1]
			j++
		case equalFold(opt, "px") && f&(optKeepTTL|optPersist|optEX|optEXAT|optPXAT) == 0 && hasNext:
			o.flags |= optPX
			o.expire = args[j+1]
			j++
		case equalFold(opt, "exat") && f&(optKeepTTL|optPersist|optEX|optPX|optPXAT) == 0 && hasNext:
			o.flags |= optEXAT
			o.expire = args[j+1]
			j++
		case equalFold(opt, "pxat") && f&(optKeepTTL|optPersist|optEX|optEXAT|optPX) == 0 && hasNext:
			o.flags |= optPXAT
			o.expire = args[j+1]
			j++
		default:
			return o, ErrSyntax
		}
	}
	return o, nil
}

// expireAt converts an expire argument into an absolute time in ms, as
// Redis's getExpireMillisecondsOrReply does. seconds: EX/EXAT units;
// relative: EX/PX (added to now).
func expireAt(arg []byte, seconds, relative bool, now int64, name string) (int64, error) {
	ms, ok := ParseInt(arg)
	if !ok {
		return 0, ErrNotInteger
	}
	if ms <= 0 || (seconds && ms > math.MaxInt64/1000) {
		return 0, errExpireTime(name)
	}
	if seconds {
		ms *= 1000
	}
	if relative {
		if ms > math.MaxInt64-now {
			return 0, errExpireTime(name)
		}
		ms += now
	}
	if ms <= 0 {
		return 0, errExpireTime(name)
	}
	return ms, nil
}

func (o strOpts) expireAt(now int64, name string) (int64, error) {
	return expireAt(o.expire, o.flags&(optEX|optEXAT) != 0, o.flags&(optEX|optPX) != 0, now, name)
}

// reply helpers

func (c *ctx) bulkOrNull(v []byte, ok bool) {
	if ok {
		c.r.Bulk(v)
	} else {
		c.r.Null()
	}
}

func runGet(c *ctx, args [][]byte, _ any) {
	v, _, ok, wrong := c.getString(args[1])
	if wrong {
		c.r.Error(errWrongType)
		return
	}
	c.bulkOrNull(v, ok)
}

type setArgs struct {
	strOpts
	exp int64
}

// plainSet is the parsed form of every SET without options: runSet only
// reads it, so they share it rather than each allocating its own.
var plainSet = &setArgs{}

func parseSet(args [][]byte, now int64) (any, error) {
	if len(args) == 3 {
		return plainSet, nil
	}
	o, err := parseStrOpts(args, true)
	if err != nil {
		return nil, err
	}
	a := &setArgs{strOpts: o}
	if o.flags&optAnyExpire != 0 {
		if a.exp, err = o.expireAt(now, "set"); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func runSet(c *ctx, args [][]byte, p any) {
	a := p.(*setArgs)
	key := args[1]
	exp := a.exp
	var old []byte
	var oldExp int64
	var found bool
	if a.flags&(optGet|optNX|optXX|optKeepTTL) != 0 {
		var wrong bool
		if a.flags&optGet != 0 {
			old, oldExp, found, wrong = c.getString(key)
			if wrong {
				c.r.Error(errWrongType)
				return
			}
		} else if v, ok := c.lookup(key); ok {
			found, oldExp = true, v.exp
		}
	}
	if a.flags&optGet != 0 {
		c.bulkOrNull(old, found)
	}
	if (a.flags&optNX != 0 && found) || (a.flags&optXX != 0 && !found) {
		if a.flags&optGet == 0 {
			c.r.Null()
		}
		return
	}
	if a.flags&optKeepTTL != 0 && found {
		exp = oldExp
	}
	c.putString(key, args[2], exp)
	c.touch(key, "set")
	if a.flags&optAnyExpire != 0 {
		c.touch(key, "expire")
	}
	if a.flags&optGet == 0 {
		c.r.Status("OK")
	}
}

func runSetnx(c *ctx, args [][]byte, _ any) {
	if c.exists(args[1]) {
		c.r.Int(0)
		return
	}
	c.putString(args[1], args[2], 0)
	c.touch(args[1], "set")
	c.r.Int(1)
}

func parseSetex(args [][]byte, now int64) (any, error) {
	name := lowerASCII(args[0])
	return expireAt(args[2], name == "setex", true, now, name)
}

func runSetex(c *ctx, args [][]byte, p any) {
	c.putString(args[1], args[3], p.(int64))
	c.touch(args[1], "set")
	c.touch(args[1], "expire")
	c.r.Status("OK")
}

func runGetset(c *ctx, args [][]byte, _ any) {
	v, _, ok, wrong := c.getString(args[1])
	if wrong {
		c.r.Error(errWrongType)
		return
	}
	c.bulkOrNull(v, ok)
	c.putString(args[1], args[2], 0)
	c.touch(args[1], "set")
}

func runGetdel(c *ctx, args [][]byte, _ any) {
	v, _, ok, wrong := c.getString(args[1])
	switch {
	case wrong:
		c.r.Error(errWrongType)
	case !ok:
		c.r.Null()
	default:
		c.r.Bulk(v)
		c.del(args[1])
		c.touch(args[1], "del")
	}
}

func parseGetex(args [][]byte, now int64) (any, error) {
	o, err := parseStrOpts(args, false)
	if err != nil {
		return nil, err
	}
	return &o, nil
}

func runGetex(c *ctx, args [][]byte, p any) {
	o := p.(*strOpts)
	val, ok := c.lookup(args[1])
	if !ok {
		c.r.Null()
		return
	}
	if val.Type != keyspace.String {
		c.r.Error(errWrongType)
		return
	}
	var exp int64
	if o.flags&optAnyExpire != 0 {
		var err error
		if exp, err = o.expireAt(c.now, "getex"); err != nil {
			c.r.Error(err.Error())
			return
		}
	}
	c.r.Bulk(val.Value)
	switch {
	case o.flags&(optEXAT|optPXAT) != 0 && exp <= c.now:
		c.del(args[1])
		c.touch(args[1], "del")
	case o.flags&optAnyExpire != 0:
		c.setExpire(args[1], val, exp)
		c.touch(args[1], "expire")
	case o.flags&optPersist != 0 && val.exp != 0:
		c.setExpire(args[1], val, 0)
		c.touch(args[1], "persist")
	}
}

func runMget(c *ctx, args [][]byte, _ any) {
	c.r.Array(len(args) - 1)
	for _, k := range args[1:] {
		v, _, ok, _ := c.getString(k) // not a string: nil, as Redis answers
		c.bulkOrNull(v, ok)
	}
}

func parseMset(args [][]byte, now int64) (any, error) {
	if len(args)%2 == 0 {
		return nil, ErrArity(lowerASCII(args[0]))
	}
	return nil, nil
}

func runMset(c *ctx, args [][]byte, _ any) {
	nx := isName(args[0], "msetnx")
	if nx {
		for i := 1; i < len(args); i += 2 {
			if c.exists(args[i]) {
				c.r.Int(0)
				return
			}
		}
	}
	for i := 1; i < len(args); i += 2 {
		c.putString(args[i], args[i+1], 0)
		c.touch(args[i], "set")
	}
	if nx {
		c.r.Int(1)
	} else {
		c.r.Status("OK")
	}
}

// parseIncr returns the signed increment of INCR, DECR, INCRBY, DECRBY.
func parseIncr(args [][]byte, now int64) (any, error) {
	name := args[0]
	switch {
	case isName(name, "incr"):
		return int64(1), nil
	case isName(name, "decr"):
		return int64(-1), nil
	}
	n, ok := ParseInt(args[2])
	if !ok {
		return nil, ErrNotInteger
	}
	if isName(name, "decrby") {
		if n == math.MinInt64 {
			return nil, ErrDecrOverflow
		}
		n = -n
	}
	return n, nil
}

func runIncr(c *ctx, args [][]byte, p any) {
	incr := p.(int64)
	v, exp, ok, wrong := c.getString(args[1])
	if wrong {
		c.r.Error(errWrongType)
		return
	}
	cur, err := addInt(v, ok, incr, ErrNotInteger)
	if err != "" {
		c.r.Error(string(err))
		return
	}
	c.putString(args[1], strconv.AppendInt(nil, cur, 10), exp)
	c.touch(args[1], "incrby")
	c.r.Int(cur)
}

// parseIncrbyfloat refuses nothing: t_string.c's incrbyfloatCommand
// checks the key's type and value before the increment, so the run does
// (badFloat: not a float; nil: infinite).
func parseIncrbyfloat(args [][]byte, now int64) (any, error) {
	f, inf, ok := parseLongDouble(args[2])
	switch {
	case !ok:
		return badFloat{}, nil
	case inf:
		return nil, nil
	}
	return f, nil
}

// badFloat is an increment that is not a float, refused at run time.
type badFloat struct{}

func runIncrbyfloat(c *ctx, args [][]byte, p any) {
	v, exp, found, wrong := c.getString(args[1])
	if wrong {
		c.r.Error(errWrongType)
		return
	}
	incr, _ := p.(*big.Float)
	_, bad := p.(badFloat)
	sum, err := addLongDouble(v, found, incr, bad, ErrNotFloat)
	if err != "" {
		c.r.Error(string(err))
		return
	}
	c.putString(args[1], []byte(sum), exp)
	c.touch(args[1], "incrbyfloat")
	c.r.BulkString(sum)
}

func runAppend(c *ctx, args [][]byte, _ any) {
	v, exp, _, wrong := c.getString(args[1])
	if wrong {
		c.r.Error(errWrongType)
		return
	}
	if len(v)+len(args[2]) > MaxValueLen {
		c.r.Error(string(ErrStringTooLong))
		return
	}
	nv := make([]byte, 0, len(v)+len(args[2]))
	nv = append(append(nv, v...), args[2]...)
	c.putString(args[1], nv, exp)
	c.touch(args[1], "append")
	c.r.Int(int64(len(nv)))
}

func runStrlen(c *ctx, args [][]byte, _ any) {
	v, _, _, wrong := c.getString(args[1])
	if wrong {
		c.r.Error(errWrongType)
		return
	}
	c.r.Int(int64(len(v)))
}

func parseRange(args [][]byte, now int64) (any, error) {
	start, ok1 := ParseInt(args[2])
	end, ok2 := ParseInt(args[3])
	if !ok1 || !ok2 {
		return nil, ErrNotInteger
	}
	return [2]int64{start, end}, nil
}

func runGetrange(c *ctx, args [][]byte, p any) {
	se := p.([2]int64)
	start, end := se[0], se[1]
	v, _, ok, wrong := c.getString(args[1])
	if wrong {
		c.r.Error(errWrongType)
		return
	}
	if !ok {
		c.r.Bulk(nil)
		return
	}
	n := int64(len(v))
	if start < 0 && end < 0 && start > end {
		c.r.Bulk(nil)
		return
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start, end = max(start, 0), max(end, 0)
	if end >= n {
		end = n - 1
	}
	if start > end || n == 0 {
		c.r.Bulk(nil)
		return
	}
	c.r.Bulk(v[start : end+1])
}

func parseSetrange(args [][]byte, now int64) (any, error) {
	off, ok := ParseInt(args[2])
	if !ok {
		return nil, ErrNotInteger
	}
	if off < 0 {
		return nil, ErrOffsetRange
	}
	return off, nil
}

func runSetrange(c *ctx, args [][]byte, p any) {
	off := p.(int64)
	val := args[3]
	v, exp, found, wrong := c.getString(args[1])
	if wrong {
		c.r.Error(errWrongType)
		return
	}
	if len(val) == 0 {
		c.r.Int(int64(len(v)))
		return
	}
	if off > int64(MaxValueLen)-int64(len(val)) {
		c.r.Error(string(ErrStringTooLong))
		return
	}
	n := max(int64(len(v)), off+int64(len(val)))
	nv := make([]byte, n)
	copy(nv, v)
	copy(nv[off:], val)
	if !found {
		exp = 0
	}
	c.putString(args[1], nv, exp)
	c.touch(args[1], "setrange")
	c.r.Int(n)
}

// addInt adds incr to the integer text v (absent: 0), as INCRBY and
// HINCRBY do (t_string.c incrDecrCommand, t_hash.c hincrbyCommand): v
// that is not an integer answers notInt, a sum beyond int64 ErrOverflow.
func addInt(v []byte, found bool, incr int64, notInt Error) (int64, Error) {
	var cur int64
	if found {
		var ok bool
		if cur, ok = ParseInt(v); !ok {
			return 0, notInt
		}
	}
	if (incr < 0 && cur < 0 && incr < math.MinInt64-cur) || (incr > 0 && cur > 0 && incr > math.MaxInt64-cur) {
		return 0, ErrOverflow
	}
	return cur + incr, ""
}

// addLongDouble adds incr (nil: an infinite increment; incrBad: not a
// float) to the long double text v (absent: 0) and formats the sum, as
// INCRBYFLOAT and HINCRBYFLOAT do (t_string.c incrbyfloatCommand, t_hash.c
// hincrbyfloatCommand), in their order: v that is not a float answers
// notFloat, then a bad increment ErrNotFloat, then an infinite operand or
// sum ErrNaN; a sum too small for a long double is 0.
func addLongDouble(v []byte, found bool, incr *big.Float, incrBad bool, notFloat Error) (string, Error) {
	cur := new(big.Float).SetPrec(ldPrec)
	curInf := false
	if found {
		f, inf, ok := parseLongDouble(v)
		if !ok {
			return "", notFloat
		}
		if curInf = inf; !inf {
			cur = f
		}
	}
	if incrBad {
		return "", ErrNotFloat
	}
	if curInf || incr == nil {
		return "", ErrNaN
	}
	sum := new(big.Float).SetPrec(ldPrec).SetMode(big.ToNearestEven).Add(cur, incr)
	if ldOverflows(sum) {
		return "", ErrNaN
	}
	if sum.Sign() != 0 && sum.MantExp(nil) < ldMinExp {
		sum.SetInt64(0)
	}
	return formatLongDouble(sum), ""
}
