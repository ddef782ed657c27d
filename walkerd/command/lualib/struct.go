package lualib

import (
	"encoding/binary"
	"fmt"
	"math"

	lua "github.com/yuin/gopher-lua"
)

// The struct library (Roberto Ierusalimschy's struct.c as Redis 7.0
// ships it in deps/lua/src/lua_struct.c), on the x86-64 Linux ABI Redis
// is built for: native little-endian, short 2, int 4, long and size_t 8,
// maximum alignment ("!" alone) 8.

const (
	structMaxIntSize = 32
	structMaxAlign   = 8
	sizeofShort      = 2
	sizeofInt        = 4
	sizeofLong       = 8
)

type structHeader struct {
	little bool
	align  int
}

func defaultHeader() structHeader { return structHeader{little: true, align: 1} }

// structFmt walks a format string as struct.c's fmt pointer does.
type structFmt struct {
	s string
	i int
}

func (f *structFmt) more() bool { return f.i < len(f.s) && f.s[f.i] != 0 }

func (f *structFmt) next() byte {
	c := f.s[f.i]
	f.i++
	return c
}

// getnum reads a decimal count, df when there is none; past INT_MAX it
// fails with "integral size overflow".
func (f *structFmt) getnum(L *lua.LState, df int) int {
	if !(f.i < len(f.s) && isDigit(f.s[f.i])) {
		return df
	}
	a := 0
	for f.i < len(f.s) && isDigit(f.s[f.i]) {
		d := int(f.s[f.i] - '0')
		if a > math.MaxInt32/10 || a*10 > math.MaxInt32-d {
			raise(L, "integral size overflow")
		}
		a = a*10 + d
		f.i++
	}
	return a
}

func (f *structFmt) optsize(L *lua.LState, opt byte) int {
	switch opt {
	case 'B', 'b':
		return 1
	case 'H', 'h':
		return sizeofShort
	case 'L', 'l', 'T':
		return sizeofLong
	case 'f':
		return 4
	case 'd':
		return 8
	case 'x':
		return 1
	case 'c':
		return f.getnum(L, 1)
	case 'i', 'I':
		sz := f.getnum(L, sizeofInt)
		if sz > structMaxIntSize {
			raise(L, "integral size %d is larger than limit of %d", sz, structMaxIntSize)
		}
		return sz
	}
	return 0
}

// gettoalign is the padding an element of size needs at position n.
func gettoalign(n uint64, h *structHeader, opt byte, size int) uint64 {
	if size == 0 || opt == 'c' {
		return 0
	}
	if size > h.align {
		size = h.align
	}
	s := uint64(size)
	return (s - (n & (s - 1))) & (s - 1)
}

func (f *structFmt) controloptions(L *lua.LState, opt byte, h *structHeader) {
	switch opt {
	case ' ':
	case '>':
		h.little = false
	case '<':
		h.little = true
	case '!':
		a := f.getnum(L, structMaxAlign)
		if !(a > 0 && a&(a-1) == 0) {
			raise(L, "alignment %d is not a power of 2", a)
		}
		h.align = a
	default:
		argError(L, 1, fmt.Sprintf("invalid format option '%c'", rune(opt)))
	}
}

func structPack(L *lua.LState) int {
	f := structFmt{s: checkString(L, 1)}
	h := defaultHeader()
	arg := 2
	// b_pack pushes a nil to mark the end of the arguments: a missing
	// one is "got nil", the next "got no value" (as long as the result
	// fits luaL_Buffer's first 8 KB, which keeps its pieces on the stack
	// too; past that C would read them as arguments).
	L.Push(lua.LNil)
	var out []byte
	total := uint64(0)
	grow := func(n uint64) {
		if uint64(len(out))+n > uint64(MaxStringLen) {
			raise(L, errNoMemory)
		}
	}
	for f.more() {
		opt := f.next()
		size := f.optsize(L, opt)
		toalign := gettoalign(total, &h, opt, size)
		total += toalign
		grow(toalign)
		for ; toalign > 0; toalign-- {
			out = append(out, 0)
		}
		switch opt {
		case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I':
			n := checkNumber(L, arg)
			arg++
			var v uint64
			if n < 0 {
				v = uint64(castInt64(n))
			} else {
				v = castUint64(n)
			}
			var buf [structMaxIntSize]byte
			for i := 0; i < size; i++ {
				j := i
				if !h.little {
					j = size - 1 - i
				}
				buf[j] = byte(v)
				v >>= 8
			}
			out = append(out, buf[:size]...)
		case 'x':
			out = append(out, 0)
		case 'f':
			v := math.Float32bits(float32(checkNumber(L, arg)))
			arg++
			if h.little {
				out = binary.LittleEndian.AppendUint32(out, v)
			} else {
				out = binary.BigEndian.AppendUint32(out, v)
			}
		case 'd':
			v := math.Float64bits(checkNumber(L, arg))
			arg++
			if h.little {
				out = binary.LittleEndian.AppendUint64(out, v)
			} else {
				out = binary.BigEndian.AppendUint64(out, v)
			}
		case 'c', 's':
			s := checkString(L, arg)
			arg++
			if size == 0 {
				size = len(s)
			}
			if len(s) < size {
				// struct.c names the argument after the string.
				argError(L, arg, "string too short")
			}
			grow(uint64(size) + 1)
			out = append(out, s[:size]...)
			if opt == 's' {
				out = append(out, 0)
				size++
			}
		default:
			f.controloptions(L, opt, &h)
		}
		total += uint64(size)
		grow(0)
	}
	L.Push(lua.LString(out))
	return 1
}

// castUint64 is C's (unsigned long) cast of a non-negative double as gcc
// compiles it on x86-64.
func castUint64(f float64) uint64 {
	if f < 9.223372036854775808e18 {
		return uint64(castInt64(f))
	}
	return uint64(castInt64(f-9.223372036854775808e18)) ^ 1<<63
}

// getinteger reads size bytes as struct.c does, into a 64-bit unsigned
// long (bytes beyond 8 shift out) and sign-extends signed ones.
func getinteger(b []byte, little, signed bool, size int) float64 {
	var l uint64
	for i := 0; i < size; i++ {
		j := i
		if little {
			j = size - 1 - i
		}
		l = l<<8 | uint64(b[j])
	}
	if !signed {
		return float64(l)
	}
	mask := ^uint64(0) << (uint(size*8-1) & 63) // x86 masks the shift count
	if l&mask != 0 {
		l |= mask
	}
	return float64(int64(l))
}

func structUnpack(L *lua.LState) int {
	f := structFmt{s: checkString(L, 1)}
	data := checkString(L, 2)
	ld := uint64(len(data))
	pos := uint64(optInteger(L, 3, 1))
	if pos == 0 {
		argError(L, 3, "offset must be 1 or greater")
	}
	pos--
	h := defaultHeader()
	nargs := L.GetTop()
	var res []lua.LValue
	tooShort := func(size uint64) {
		if !(size <= ld && pos <= ld-size) {
			argError(L, 2, "data string too short")
		}
	}
	for f.more() {
		opt := f.next()
		size := uint64(f.optsize(L, opt))
		pos += gettoalign(pos, &h, opt, int(size))
		tooShort(size)
		if nargs+len(res)+2 > luaMaxCStack {
			raise(L, "stack overflow (too many results)")
		}
		switch opt {
		case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I':
			signed := opt >= 'a'
			res = append(res, lua.LNumber(getinteger([]byte(data[pos:pos+size]), h.little, signed, int(size))))
		case 'x':
		case 'f':
			var v uint32
			if h.little {
				v = binary.LittleEndian.Uint32([]byte(data[pos : pos+4]))
			} else {
				v = binary.BigEndian.Uint32([]byte(data[pos : pos+4]))
			}
			res = append(res, lua.LNumber(math.Float32frombits(v)))
		case 'd':
			var v uint64
			if h.little {
				v = binary.LittleEndian.Uint64([]byte(data[pos : pos+8]))
			} else {
				v = binary.BigEndian.Uint64([]byte(data[pos : pos+8]))
			}
			res = append(res, lua.LNumber(math.Float64frombits(v)))
		case 'c':
			if size == 0 {
				var n float64
				ok := false
				if len(res) > 0 {
					n, ok = toNumber(res[len(res)-1])
				}
				if !ok {
					raise(L, "format 'c0' needs a previous size")
				}
				size = castUint64(n)
				res = res[:len(res)-1]
				tooShort(size)
			}
			res = append(res, lua.LString(data[pos:pos+size]))
		case 's':
			e := -1
			for i := pos; i < ld; i++ {
				if data[i] == 0 {
					e = int(i)
					break
				}
			}
			if e < 0 {
				raise(L, "unfinished string in data")
			}
			size = uint64(e) - pos + 1
			res = append(res, lua.LString(data[pos:uint64(e)]))
		default:
			f.controloptions(L, opt, &h)
		}
		pos += size
	}
	for _, v := range res {
		L.Push(v)
	}
	L.Push(lua.LNumber(float64(pos + 1)))
	return len(res) + 1
}

func structSize(L *lua.LState) int {
	f := structFmt{s: checkString(L, 1)}
	h := defaultHeader()
	pos := uint64(0)
	for f.more() {
		opt := f.next()
		size := f.optsize(L, opt)
		pos += gettoalign(pos, &h, opt, size)
		if opt == 's' {
			argError(L, 1, "option 's' has no fixed size")
		} else if opt == 'c' && size == 0 {
			argError(L, 1, "option 'c0' has no fixed size")
		}
		if !isAlnum(opt) {
			f.controloptions(L, opt, &h)
		}
		pos += uint64(size)
	}
	L.Push(lua.LNumber(float64(pos)))
	return 1
}

func isAlnum(c byte) bool {
	return isDigit(c) || (c|0x20) >= 'a' && (c|0x20) <= 'z'
}

func openStruct(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("pack", L.NewFunction(structPack))
	t.RawSetString("unpack", L.NewFunction(structUnpack))
	t.RawSetString("size", L.NewFunction(structSize))
	return t
}
