package lualib

import (
	"math"

	lua "github.com/yuin/gopher-lua"
)

// The bit library: LuaBitOp 1.0.2 (Redis's deps/lua/src/lua_bit.c).
// Every function works on 32-bit integers and returns a signed 32-bit
// result as a Lua number.

// barg is lua_bit.c's barg: the argument as 32 bits, by adding 2^52+2^51
// to the double and keeping the low 32 bits of its representation (so
// 2^32+1 is 1, -1 is 0xffffffff, 1.5 rounds to even: 2). A value that is
// not a number (nor a string that converts to one) fails with a type
// error; NaN and infinities give 0.
func barg(L *lua.LState, n int) uint32 {
	f, ok := toNumber(L.Get(n))
	if math.IsNaN(f) {
		return 0
	}
	b := uint32(math.Float64bits(f + 6755399441055744.0))
	if b == 0 && !ok {
		typeError(L, n, "number")
	}
	return b
}

func bret(L *lua.LState, b uint32) int {
	L.Push(lua.LNumber(int32(b)))
	return 1
}

func openBit(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	fold := func(op func(a, b uint32) uint32) lua.LGFunction {
		return func(L *lua.LState) int {
			b := barg(L, 1)
			for i := L.GetTop(); i > 1; i-- {
				b = op(b, barg(L, i))
			}
			return bret(L, b)
		}
	}
	shift := func(op func(b, n uint32) uint32) lua.LGFunction {
		return func(L *lua.LState) int {
			b := barg(L, 1)
			n := barg(L, 2) & 31
			return bret(L, op(b, n))
		}
	}
	for _, f := range []struct {
		name string
		fn   lua.LGFunction
	}{
		{"tobit", func(L *lua.LState) int { return bret(L, barg(L, 1)) }},
		{"bnot", func(L *lua.LState) int { return bret(L, ^barg(L, 1)) }},
		{"band", fold(func(a, b uint32) uint32 { return a & b })},
		{"bor", fold(func(a, b uint32) uint32 { return a | b })},
		{"bxor", fold(func(a, b uint32) uint32 { return a ^ b })},
		{"lshift", shift(func(b, n uint32) uint32 { return b << n })},
		{"rshift", shift(func(b, n uint32) uint32 { return b >> n })},
		{"arshift", shift(func(b, n uint32) uint32 { return uint32(int32(b) >> n) })},
		{"rol", shift(func(b, n uint32) uint32 { return b<<n | b>>((32-n)&31) })},
		{"ror", shift(func(b, n uint32) uint32 { return b<<((32-n)&31) | b>>n })},
		{"bswap", func(L *lua.LState) int {
			b := barg(L, 1)
			return bret(L, b>>24|(b>>8)&0xff00|(b&0xff00)<<8|b<<24)
		}},
		{"tohex", bitTohex},
	} {
		t.RawSetString(f.name, L.NewFunction(f.fn))
	}
	return t
}

// bitTohex is bit.tohex(x [, n]): the low n hex digits of x (n defaults
// to 8, at most 8 are given); a negative n gives -n upper-case digits.
func bitTohex(L *lua.LState) int {
	b := barg(L, 1)
	n := int32(8)
	if L.GetTop() >= 2 {
		n = int32(barg(L, 2))
	}
	digits := "0123456789abcdef"
	if n < 0 {
		n = -n
		digits = "0123456789ABCDEF"
	}
	if n > 8 {
		n = 8
	}
	if n < 0 {
		// -2^31 stays negative, where C's negation overflows: the
		// compiled Redis gives 8 upper-case digits.
		n = 8
	}
	buf := make([]byte, n)
	for i := int(n) - 1; i >= 0; i-- {
		buf[i] = digits[b&15]
		b >>= 4
	}
	L.Push(lua.LString(buf))
	return 1
}
