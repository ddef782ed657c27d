package lualib

import (
	"math"

	lua "github.com/yuin/gopher-lua"
)

// The cmsgpack library: lua-cmsgpack 0.4.0 (Redis's
// deps/lua/src/lua_cmsgpack.c), MessagePack for Lua 5.1.

// mpMaxNesting is LUACMSGPACK_MAX_NESTING: a table nested deeper is
// packed as nil, so circular references terminate.
const mpMaxNesting = 16

type mpEncoder struct {
	L   *lua.LState
	buf []byte
}

func (e *mpEncoder) append(b ...byte) {
	if len(e.buf)+len(b) > MaxStringLen {
		raise(e.L, errNoMemory)
	}
	e.buf = append(e.buf, b...)
}

func (e *mpEncoder) header(b0 byte, n uint64, size int) {
	var b [9]byte
	b[0] = b0
	for i := size; i >= 1; i-- {
		b[i] = byte(n)
		n >>= 8
	}
	e.append(b[:size+1]...)
}

func (e *mpEncoder) bytes(s string) {
	n := uint64(len(s))
	switch {
	case n < 32:
		e.append(0xa0 | byte(n))
	case n <= 0xff:
		e.header(0xd9, n, 1)
	case n <= 0xffff:
		e.header(0xda, n, 2)
	default:
		e.header(0xdb, n, 4)
	}
	if len(e.buf)+len(s) > MaxStringLen {
		raise(e.L, errNoMemory)
	}
	e.buf = append(e.buf, s...)
}

// double packs a non-integral number: as a float when the float holds it
// exactly, else as a double.
func (e *mpEncoder) double(d float64) {
	f := float32(d)
	if float64(f) == d {
		e.header(0xca, uint64(math.Float32bits(f)), 4)
	} else {
		e.header(0xcb, math.Float64bits(d), 8)
	}
}

// integer packs n in the smallest MessagePack integer that holds it.
func (e *mpEncoder) integer(n int64) {
	u := uint64(n)
	if n >= 0 {
		switch {
		case n <= 127:
			e.append(byte(n))
		case n <= 0xff:
			e.header(0xcc, u, 1)
		case n <= 0xffff:
			e.header(0xcd, u, 2)
		case n <= 0xffffffff:
			e.header(0xce, u, 4)
		default:
			e.header(0xcf, u, 8)
		}
		return
	}
	switch {
	case n >= -32:
		e.append(byte(n))
	case n >= -128:
		e.header(0xd0, u, 1)
	case n >= -32768:
		e.header(0xd1, u, 2)
	case n >= -2147483648:
		e.header(0xd2, u, 4)
	default:
		e.header(0xd3, u, 8)
	}
}

func (e *mpEncoder) count(b0fix, b16 byte, n uint64) {
	switch {
	case n <= 15:
		e.append(b0fix | byte(n))
	case n <= 0xffff:
		e.header(b16, n, 2)
	default:
		e.header(b16+1, n, 4)
	}
}

// tableIsArray is table_is_an_array: every key a number that is an int
// and positive, and the largest equal to the count (keys 1..n, no
// holes). An empty table is an array.
func tableIsArray(t *lua.LTable) (bool, int) {
	count, max := 0, 0
	for k, _ := t.Next(lua.LNil); k != lua.LNil; k, _ = t.Next(k) {
		n, ok := k.(lua.LNumber)
		if !ok || n <= 0 || math.IsInf(float64(n), 0) || float64(castInt32(float64(n))) != float64(n) {
			return false, 0
		}
		if int(n) > max {
			max = int(n)
		}
		count++
	}
	return max == count, count
}

func (e *mpEncoder) encode(v lua.LValue, level int) {
	if _, ok := v.(*lua.LTable); ok && level == mpMaxNesting {
		v = lua.LNil
	}
	switch v := v.(type) {
	case lua.LString:
		e.bytes(string(v))
	case lua.LBool:
		if v {
			e.append(0xc3)
		} else {
			e.append(0xc2)
		}
	case lua.LNumber:
		f := float64(v)
		if !math.IsInf(f, 0) && float64(castInt64(f)) == f {
			e.integer(castInt64(f))
		} else {
			e.double(f)
		}
	case *lua.LTable:
		if isArr, n := tableIsArray(v); isArr {
			e.count(0x90, 0xdc, uint64(n))
			for j := 1; j <= n; j++ {
				e.encode(v.RawGetInt(j), level+1)
			}
			return
		}
		n := 0
		for k, _ := v.Next(lua.LNil); k != lua.LNil; k, _ = v.Next(k) {
			n++
		}
		e.count(0x80, 0xde, uint64(n))
		for k, val := v.Next(lua.LNil); k != lua.LNil; k, val = v.Next(k) {
			e.encode(k, level+1)
			e.encode(val, level+1)
		}
	default:
		e.append(0xc0)
	}
}

// mpPack is cmsgpack.pack(v1, ...): the arguments packed one after the
// other. Numbers that are integral and fit an int64 are packed as
// integers, others as float (when exact) or double; a table whose keys
// are exactly 1..n as an array, other tables as maps (in gopher-lua's
// iteration order); functions, userdata (cjson.null too) and nil as nil.
func mpPack(L *lua.LState) int {
	nargs := L.GetTop()
	if nargs == 0 {
		argError(L, 0, "MessagePack pack needs input.")
	}
	e := &mpEncoder{L: L}
	for i := 1; i <= nargs; i++ {
		e.encode(L.Get(i), 0)
	}
	L.Push(lua.LString(e.buf))
	return 1
}

const (
	mpErrNone = iota
	mpErrEOF
	mpErrBadFmt
)

type mpDecoder struct {
	L   *lua.LState
	s   string
	p   int
	err int
}

func (d *mpDecoder) left() int { return len(d.s) - d.p }

func (d *mpDecoder) need(n uint64) bool {
	if uint64(d.left()) < n {
		d.err = mpErrEOF
		return false
	}
	return true
}

func (d *mpDecoder) be(off, n int) uint64 {
	var v uint64
	for i := 0; i < n; i++ {
		v = v<<8 | uint64(d.s[d.p+off+i])
	}
	return v
}

// checkstack is luaL_checkstack with Lua 5.1's limit of 8000 slots.
func (d *mpDecoder) checkstack(slots int, msg string) {
	if slots+1 > luaMaxCStack {
		raise(d.L, "stack overflow (%s)", msg)
	}
}

// decode is mp_decode_to_lua_type; slots is the number of stack slots
// the C function would hold at this point.
func (d *mpDecoder) decode(slots int) lua.LValue {
	if !d.need(1) {
		return lua.LNil
	}
	d.checkstack(slots, "too many return values at once; use unpack_one or unpack_limit instead.")
	c := d.s[d.p]
	switch c {
	case 0xcc, 0xd0:
		if !d.need(2) {
			return lua.LNil
		}
		v := d.s[d.p+1]
		d.p += 2
		if c == 0xd0 {
			return lua.LNumber(int8(v))
		}
		return lua.LNumber(v)
	case 0xcd, 0xd1:
		if !d.need(3) {
			return lua.LNil
		}
		v := uint16(d.be(1, 2))
		d.p += 3
		if c == 0xd1 {
			return lua.LNumber(int16(v))
		}
		return lua.LNumber(v)
	case 0xce, 0xd2:
		if !d.need(5) {
			return lua.LNil
		}
		v := uint32(d.be(1, 4))
		d.p += 5
		if c == 0xd2 {
			return lua.LNumber(int32(v))
		}
		return lua.LNumber(v)
	case 0xcf, 0xd3:
		if !d.need(9) {
			return lua.LNil
		}
		v := d.be(1, 8)
		d.p += 9
		// lua_pushinteger of the uint64 goes through lua_Integer
		// (int64): 2^63 and above come back negative.
		return lua.LNumber(int64(v))
	case 0xc0:
		d.p++
		return lua.LNil
	case 0xc3:
		d.p++
		return lua.LTrue
	case 0xc2:
		d.p++
		return lua.LFalse
	case 0xca:
		if !d.need(5) {
			return lua.LNil
		}
		v := math.Float32frombits(uint32(d.be(1, 4)))
		d.p += 5
		return lua.LNumber(v)
	case 0xcb:
		if !d.need(9) {
			return lua.LNil
		}
		v := math.Float64frombits(d.be(1, 8))
		d.p += 9
		return lua.LNumber(v)
	case 0xd9, 0xda, 0xdb:
		hl := 1 << (c - 0xd9) // 1, 2 or 4 length bytes
		if !d.need(uint64(1 + hl)) {
			return lua.LNil
		}
		l := d.be(1, hl)
		if !d.need(uint64(1+hl) + l) {
			return lua.LNil
		}
		s := d.s[d.p+1+hl : d.p+1+hl+int(l)]
		d.p += 1 + hl + int(l)
		return lua.LString(s)
	case 0xdc, 0xdd, 0xde, 0xdf:
		hl := 2
		if c == 0xdd || c == 0xdf {
			hl = 4
		}
		if !d.need(uint64(1 + hl)) {
			return lua.LNil
		}
		l := d.be(1, hl)
		d.p += 1 + hl
		if c <= 0xdd {
			return d.array(l, slots)
		}
		return d.hash(l, slots)
	}
	switch {
	case c&0x80 == 0: // positive fixnum
		d.p++
		return lua.LNumber(c)
	case c&0xe0 == 0xe0: // negative fixnum
		d.p++
		return lua.LNumber(int8(c))
	case c&0xe0 == 0xa0: // fix raw
		l := int(c & 0x1f)
		if !d.need(uint64(1 + l)) {
			return lua.LNil
		}
		s := d.s[d.p+1 : d.p+1+l]
		d.p += 1 + l
		return lua.LString(s)
	case c&0xf0 == 0x90: // fix array
		d.p++
		return d.array(uint64(c&0xf), slots)
	case c&0xf0 == 0x80: // fix map
		d.p++
		return d.hash(uint64(c&0xf), slots)
	}
	// bin 8/16/32, ext and fixext, 0xc1: not part of the format
	// lua_cmsgpack.c knows.
	d.err = mpErrBadFmt
	return lua.LNil
}

func (d *mpDecoder) array(n uint64, slots int) lua.LValue {
	t := d.L.NewTable()
	d.checkstack(slots+1, "in function mp_decode_to_lua_array")
	for i := 1; uint64(i) <= n; i++ {
		v := d.decode(slots + 2)
		if d.err != mpErrNone {
			return t
		}
		t.RawSetInt(i, v)
	}
	return t
}

func (d *mpDecoder) hash(n uint64, slots int) lua.LValue {
	t := d.L.NewTable()
	for ; n > 0; n-- {
		k := d.decode(slots + 1)
		if d.err != mpErrNone {
			return t
		}
		v := d.decode(slots + 2)
		if d.err != mpErrNone {
			return t
		}
		// lua_settable: Lua's own errors for a nil or NaN key.
		if k == lua.LNil {
			d.L.Error(lua.LString("table index is nil"), 0)
		}
		if f, ok := k.(lua.LNumber); ok && math.IsNaN(float64(f)) {
			d.L.Error(lua.LString("table index is NaN"), 0)
		}
		t.RawSet(k, v)
	}
	return t
}

// mpUnpackFull is mp_unpack_full: decode up to limit values from offset
// (limit 0 and offset 0: all of them). With a limit or an offset, the
// first result is the offset to continue from (-1 at the end).
func mpUnpackFull(L *lua.LState, limit, offset int64) int {
	s := checkString(L, 1)
	ln := int64(len(s))
	if offset < 0 || limit < 0 {
		raise(L, "Invalid request to unpack with offset of %d and limit of %d.", int32(offset), int32(ln))
	} else if offset > ln {
		raise(L, "Start offset %d greater than input length %d.", int32(offset), int32(ln))
	}
	decodeAll := limit == 0 && offset == 0
	if decodeAll {
		limit = math.MaxInt32
	}
	base := L.GetTop()
	d := &mpDecoder{L: L, s: s, p: int(offset)}
	var out []lua.LValue
	for cnt := int64(0); d.left() > 0 && cnt < limit; cnt++ {
		v := d.decode(base + len(out))
		switch d.err {
		case mpErrEOF:
			raise(L, "Missing bytes in input.")
		case mpErrBadFmt:
			raise(L, "Bad data format in input.")
		}
		out = append(out, v)
	}
	if !decodeAll {
		next := int64(-1)
		if d.left() > 0 {
			next = int64(d.p)
		}
		L.Push(lua.LNumber(next))
	}
	for _, v := range out {
		L.Push(v)
	}
	if !decodeAll {
		return len(out) + 1
	}
	return len(out)
}

func openCmsgpack(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("pack", L.NewFunction(mpPack))
	t.RawSetString("unpack", L.NewFunction(func(L *lua.LState) int {
		return mpUnpackFull(L, 0, 0)
	}))
	t.RawSetString("unpack_one", L.NewFunction(func(L *lua.LState) int {
		offset := optInteger(L, 2, 0)
		if L.GetTop() > 1 {
			L.SetTop(1)
		}
		return mpUnpackFull(L, 1, offset)
	}))
	t.RawSetString("unpack_limit", L.NewFunction(func(L *lua.LState) int {
		limit := checkInteger(L, 2)
		offset := optInteger(L, 3, 0)
		if L.GetTop() > 1 {
			L.SetTop(1)
		}
		return mpUnpackFull(L, limit, offset)
	}))
	t.RawSetString("_NAME", lua.LString("cmsgpack"))
	t.RawSetString("_VERSION", lua.LString("lua-cmsgpack 0.4.0"))
	t.RawSetString("_COPYRIGHT", lua.LString("Copyright (C) 2012, Salvatore Sanfilippo"))
	t.RawSetString("_DESCRIPTION", lua.LString("MessagePack C implementation for Lua"))
	return t
}
