package command

import (
	"math"
	"math/big"
	"strconv"
)

func init() {
	register(
		&Spec{Name: "get", Arity: 2, Flags: FlagRead, FirstKey: 1, LastKey: 1, Step: 1, run: runGet},
		&Spec{Name: "set", Arity: -3, Flags: FlagWrite, FirstKey: 1, LastKey: 1, Step: 1, check: checkSet, run: runSet},
		&Spec{Name: "setnx", Arity: 3, Flags: FlagWrite, FirstKey: 1, LastKey: 1, Step: 1, run: runSetnx},
		&Spec{Name: "setex", Arity: 4, Flags: FlagWrite, FirstKey: 1, LastKey: 1, Step: 1, check: checkSetex, run: runSetex},
		&Spec{Name: "psetex", Arity: 4, Flags: FlagWrite, FirstKey: 1, LastKey: 1, Step: 1, check: checkSetex, run: runSetex},
		&Spec{Name: "getset", Arity: 3, Flags: FlagWrite, FirstKey: 1, LastKey: 1, Step: 1, run: runGetset},
		&Spec{Name: "getdel", Arity: 2, Flags: FlagWrite, FirstKey: 1, LastKey: 1, Step: 1, run: runGetdel},
		&Spec{Name: "getex", Arity: -2, Flags: FlagWrite, FirstKey: 1, LastKey: 1, Step: 1, check: checkGetex, run: runGetex},
		&Spec{Name: "mget", Arity: -2, Flags: FlagRead, FirstKey: 1, LastKey: -1, Step: 1, run: runMget},
		&Spec{Name: "mset", Arity: -3, Flags: FlagWrite, FirstKey: 1, LastKey: -1, Step: 2, check: checkMset, run: runMset},
		&Spec{Name: "msetnx", Arity: -3, Flags: FlagWrite, FirstKey: 1, LastKey: -1, Step: 2, check: checkMset, run: runMset},
		&Spec{Name: "incr", Arity: 2, Flags: FlagWrite, FirstKey: 1, LastKey: 1, Step: 1, run: runIncr},
		&Spec{Name: "decr", Arity: 2, Flags: FlagWrite, FirstKey: 1, LastKey: 1, Step: 1, run: runIncr},
		&Spec{Name: "incrby", Arity: 3, Flags: FlagWrite, FirstKey: 1, LastKey: 1, Step: 1, check: checkIncrby, run: runIncr},
		&Spec{Name: "decrby", Arity: 3, Flags: FlagWrite, FirstKey: 1, LastKey: 1, Step: 1, check: checkIncrby, run: runIncr},
		&Spec{Name: "incrbyfloat", Arity: 3, Flags: FlagWrite, FirstKey: 1, LastKey: 1, Step: 1, check: checkIncrbyfloat, run: runIncrbyfloat},
		&Spec{Name: "append", Arity: 3, Flags: FlagWrite, FirstKey: 1, LastKey: 1, Step: 1, run: runAppend},
		&Spec{Name: "strlen", Arity: 2, Flags: FlagRead, FirstKey: 1, LastKey: 1, Step: 1, run: runStrlen},
		&Spec{Name: "getrange", Arity: 4, Flags: FlagRead, FirstKey: 1, LastKey: 1, Step: 1, run: runGetrange},
		&Spec{Name: "substr", Arity: 4, Flags: FlagRead, FirstKey: 1, LastKey: 1, Step: 1, run: runGetrange},
		&Spec{Name: "setrange", Arity: 4, Flags: FlagWrite, FirstKey: 1, LastKey: 1, Step: 1, check: checkSetrange, run: runSetrange},
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

func runGet(c *ctx, args [][]byte) {
	if v, _, ok := c.get(args[1]); ok {
		c.out = appendBulk(c.out, v)
	} else {
		c.out = appendNull(c.out)
	}
}

func parseSet(args [][]byte, now int64) (strOpts, int64, error) {
	o, err := parseStrOpts(args, true)
	if err != nil {
		return o, 0, err
	}
	var exp int64
	if o.flags&optAnyExpire != 0 {
		if exp, err = o.expireAt(now, "set"); err != nil {
			return o, 0, err
		}
	}
	if len(args[2]) > MaxValueLen {
		return o, 0, ErrStringTooLong
	}
	return o, exp, nil
}

func checkSet(args [][]byte, now int64) error {
	_, _, err := parseSet(args, now)
	return err
}

func runSet(c *ctx, args [][]byte) {
	o, exp, err := parseSet(args, c.now)
	if err != nil {
		c.out = appendError(c.out, err.Error())
		return
	}
	key := args[1]
	var old []byte
	var oldExp int64
	var found bool
	if o.flags&(optGet|optNX|optXX|optKeepTTL) != 0 {
		old, oldExp, found = c.get(key)
	}
	if o.flags&optGet != 0 {
		if found {
			c.out = appendBulk(c.out, old)
		} else {
			c.out = appendNull(c.out)
		}
	}
	if (o.flags&optNX != 0 && found) || (o.flags&optXX != 0 && !found) {
		if o.flags&optGet == 0 {
			c.out = appendNull(c.out)
		}
		return
	}
	if o.flags&optKeepTTL != 0 && found {
		exp = oldExp
	}
	c.put(key, args[2], exp)
	if o.flags&optGet == 0 {
		c.out = appendSimple(c.out, "OK")
	}
}

func runSetnx(c *ctx, args [][]byte) {
	if c.exists(args[1]) {
		c.out = appendInt(c.out, 0)
		return
	}
	c.put(args[1], args[2], 0)
	c.out = appendInt(c.out, 1)
}

func parseSetex(args [][]byte, now int64) (int64, error) {
	name := lowerASCII(args[0])
	return expireAt(args[2], name == "setex", true, now, name)
}

func checkSetex(args [][]byte, now int64) error {
	_, err := parseSetex(args, now)
	return err
}

func runSetex(c *ctx, args [][]byte) {
	exp, err := parseSetex(args, c.now)
	if err != nil {
		c.out = appendError(c.out, err.Error())
		return
	}
	c.put(args[1], args[3], exp)
	c.out = appendSimple(c.out, "OK")
}

func runGetset(c *ctx, args [][]byte) {
	if v, _, ok := c.get(args[1]); ok {
		c.out = appendBulk(c.out, v)
	} else {
		c.out = appendNull(c.out)
	}
	c.put(args[1], args[2], 0)
}

func runGetdel(c *ctx, args [][]byte) {
	v, _, ok := c.get(args[1])
	if !ok {
		c.out = appendNull(c.out)
		return
	}
	c.out = appendBulk(c.out, v)
	c.del(args[1])
}

func checkGetex(args [][]byte, now int64) error {
	_, err := parseStrOpts(args, false)
	return err
}

func runGetex(c *ctx, args [][]byte) {
	o, err := parseStrOpts(args, false)
	if err != nil {
		c.out = appendError(c.out, err.Error())
		return
	}
	v, oldExp, ok := c.get(args[1])
	if !ok {
		c.out = appendNull(c.out)
		return
	}
	var exp int64
	if o.flags&optAnyExpire != 0 {
		if exp, err = o.expireAt(c.now, "getex"); err != nil {
			c.out = appendError(c.out, err.Error())
			return
		}
	}
	c.out = appendBulk(c.out, v)
	switch {
	case o.flags&(optEXAT|optPXAT) != 0 && exp <= c.now:
		c.del(args[1])
	case o.flags&optAnyExpire != 0:
		c.put(args[1], v, exp)
	case o.flags&optPersist != 0 && oldExp != 0:
		c.put(args[1], v, 0)
	}
}

func runMget(c *ctx, args [][]byte) {
	c.out = appendArray(c.out, len(args)-1)
	for _, k := range args[1:] {
		if v, _, ok := c.get(k); ok {
			c.out = appendBulk(c.out, v)
		} else {
			c.out = appendNull(c.out)
		}
	}
}

func checkMset(args [][]byte, now int64) error {
	if len(args)%2 == 0 {
		return ErrArity(lowerASCII(args[0]))
	}
	return nil
}

func runMset(c *ctx, args [][]byte) {
	if err := checkMset(args, c.now); err != nil {
		c.out = appendError(c.out, err.Error())
		return
	}
	nx := isName(args[0], "msetnx")
	if nx {
		for i := 1; i < len(args); i += 2 {
			if c.exists(args[i]) {
				c.out = appendInt(c.out, 0)
				return
			}
		}
	}
	for i := 1; i < len(args); i += 2 {
		c.put(args[i], args[i+1], 0)
	}
	if nx {
		c.out = appendInt(c.out, 1)
	} else {
		c.out = appendSimple(c.out, "OK")
	}
}

// parseIncr returns the signed increment of INCR, DECR, INCRBY, DECRBY.
func parseIncr(args [][]byte) (int64, error) {
	name := args[0]
	switch {
	case isName(name, "incr"):
		return 1, nil
	case isName(name, "decr"):
		return -1, nil
	}
	n, ok := ParseInt(args[2])
	if !ok {
		return 0, ErrNotInteger
	}
	if isName(name, "decrby") {
		if n == math.MinInt64 {
			return 0, ErrDecrOverflow
		}
		n = -n
	}
	return n, nil
}

func checkIncrby(args [][]byte, now int64) error {
	_, err := parseIncr(args)
	return err
}

func runIncr(c *ctx, args [][]byte) {
	incr, err := parseIncr(args)
	if err != nil {
		c.out = appendError(c.out, err.Error())
		return
	}
	v, exp, ok := c.get(args[1])
	var cur int64
	if ok {
		if cur, ok = ParseInt(v); !ok {
			c.out = appendError(c.out, string(ErrNotInteger))
			return
		}
	}
	if (incr < 0 && cur < 0 && incr < math.MinInt64-cur) || (incr > 0 && cur > 0 && incr > math.MaxInt64-cur) {
		c.out = appendError(c.out, string(ErrOverflow))
		return
	}
	cur += incr
	c.put(args[1], strconv.AppendInt(nil, cur, 10), exp)
	c.out = appendInt(c.out, cur)
}

func checkIncrbyfloat(args [][]byte, now int64) error {
	if _, _, ok := parseLongDouble(args[2]); !ok {
		return ErrNotFloat
	}
	return nil
}

func runIncrbyfloat(c *ctx, args [][]byte) {
	v, exp, found := c.get(args[1])
	cur := new(big.Float).SetPrec(ldPrec)
	curInf := false
	if found {
		f, inf, ok := parseLongDouble(v)
		if !ok {
			c.out = appendError(c.out, string(ErrNotFloat))
			return
		}
		curInf = inf
		if f != nil {
			cur = f
		}
	}
	incr, incrInf, ok := parseLongDouble(args[2])
	if !ok {
		c.out = appendError(c.out, string(ErrNotFloat))
		return
	}
	if curInf || incrInf {
		c.out = appendError(c.out, string(ErrNaN))
		return
	}
	sum := new(big.Float).SetPrec(ldPrec).SetMode(big.ToNearestEven).Add(cur, incr)
	if ldOverflows(sum) {
		c.out = appendError(c.out, string(ErrNaN))
		return
	}
	if sum.Sign() != 0 && sum.MantExp(nil) < ldMinExp {
		sum.SetInt64(0)
	}
	s := formatLongDouble(sum)
	c.put(args[1], []byte(s), exp)
	c.out = appendBulkString(c.out, s)
}

func runAppend(c *ctx, args [][]byte) {
	v, exp, _ := c.get(args[1])
	if len(v)+len(args[2]) > MaxValueLen {
		c.out = appendError(c.out, string(ErrStringTooLong))
		return
	}
	nv := make([]byte, 0, len(v)+len(args[2]))
	nv = append(append(nv, v...), args[2]...)
	c.put(args[1], nv, exp)
	c.out = appendInt(c.out, int64(len(nv)))
}

func runStrlen(c *ctx, args [][]byte) {
	n, _, _ := c.meta(args[1])
	c.out = appendInt(c.out, int64(n))
}

func runGetrange(c *ctx, args [][]byte) {
	start, ok1 := ParseInt(args[2])
	end, ok2 := ParseInt(args[3])
	if !ok1 || !ok2 {
		c.out = appendError(c.out, string(ErrNotInteger))
		return
	}
	v, _, ok := c.get(args[1])
	if !ok {
		c.out = appendBulk(c.out, nil)
		return
	}
	n := int64(len(v))
	if start < 0 && end < 0 && start > end {
		c.out = appendBulk(c.out, nil)
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
		c.out = appendBulk(c.out, nil)
		return
	}
	c.out = appendBulk(c.out, v[start:end+1])
}

func checkSetrange(args [][]byte, now int64) error {
	off, ok := ParseInt(args[2])
	if !ok {
		return ErrNotInteger
	}
	if off < 0 {
		return ErrOffsetRange
	}
	return nil
}

func runSetrange(c *ctx, args [][]byte) {
	if err := checkSetrange(args, c.now); err != nil {
		c.out = appendError(c.out, err.Error())
		return
	}
	off, _ := ParseInt(args[2])
	val := args[3]
	v, exp, found := c.get(args[1])
	if len(val) == 0 {
		c.out = appendInt(c.out, int64(len(v)))
		return
	}
	if off > int64(MaxValueLen)-int64(len(val)) {
		c.out = appendError(c.out, string(ErrStringTooLong))
		return
	}
	n := max(int64(len(v)), off+int64(len(val)))
	nv := make([]byte, n)
	copy(nv, v)
	copy(nv[off:], val)
	if !found {
		exp = 0
	}
	c.put(args[1], nv, exp)
	c.out = appendInt(c.out, n)
}
