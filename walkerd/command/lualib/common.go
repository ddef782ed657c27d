package lualib

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// MaxStringLen bounds every string these libraries build (cjson.encode,
// cmsgpack.pack, struct.pack): past it the call fails with "not enough
// memory", Lua's own message for a failed allocation. It is Redis's
// proto-max-bulk-len default (512 MB), the largest value a reply or a key
// could carry anyway; a variable so tests can lower it.
var MaxStringLen = 512 << 20

// luaMaxCStack is Lua 5.1's LUAI_MAXCSTACK: lua_checkstack fails when a C
// function would hold more than this many stack slots. cjson and cmsgpack
// reach it on deep nesting (and cmsgpack.unpack on many results); the
// libraries here count the slots the C code would use and fail where it
// fails.
const luaMaxCStack = 8000

const errNoMemory = "not enough memory"

// where is luaL_where(L, 1): "source:line: " of the function that called
// the running Go function when that caller is a Lua function, "" when it
// is a Go one (pcall(cjson.decode, s)), as Lua 5.1 words positions.
func where(L *lua.LState) string {
	dbg, ok := L.GetStack(1)
	if !ok {
		return ""
	}
	if _, err := L.GetInfo("Sl", dbg, lua.LNil); err != nil {
		return ""
	}
	if dbg.What == "G" || dbg.CurrentLine <= 0 {
		return ""
	}
	return fmt.Sprintf("%s:%d: ", dbg.Source, dbg.CurrentLine)
}

// Raise is luaL_error for walkerd's own Go functions of the Lua API: the
// message after the caller's position, as raise.
func Raise(L *lua.LState, msg string) { raise(L, "%s", msg) }

// raise is luaL_error: the message, after the caller's position.
func raise(L *lua.LState, format string, args ...any) {
	L.Error(lua.LString(where(L)+fmt.Sprintf(format, args...)), 0)
}

// funcName is the name Lua 5.1's luaL_argerror gives the running
// function: the name the calling Lua code used ("encode" for
// cjson.encode(x)), "?" when a Go function (pcall) called it.
func funcName(L *lua.LState) string {
	if up, ok := L.GetStack(1); ok {
		if _, err := L.GetInfo("S", up, lua.LNil); err != nil || up.What == "G" {
			return "?"
		}
	}
	dbg, ok := L.GetStack(0)
	if !ok {
		return "?"
	}
	if _, err := L.GetInfo("n", dbg, lua.LNil); err != nil {
		return "?"
	}
	if dbg.Name == "" || dbg.Name == "?" || strings.HasPrefix(dbg.Name, "<") || strings.HasPrefix(dbg.Name, "(") {
		return "?"
	}
	return dbg.Name
}

// argError is luaL_argerror: "bad argument #n to 'f' (msg)".
func argError(L *lua.LState, n int, msg string) {
	raise(L, "bad argument #%d to '%s' (%s)", n, funcName(L), msg)
}

// typeName is luaL_typename: the type of argument n, "no value" past the
// arguments given.
func typeName(L *lua.LState, n int) string {
	if n > L.GetTop() {
		return "no value"
	}
	return L.Get(n).Type().String()
}

// ArgError is argError for walkerd's own Go functions of the Lua API.
func ArgError(L *lua.LState, n int, msg string) { argError(L, n, msg) }

// TypeError is typeError for walkerd's own Go functions of the Lua API.
func TypeError(L *lua.LState, n int, want string) { typeError(L, n, want) }

// typeError is luaL_typerror: "bad argument #n to 'f' (number expected,
// got string)".
func typeError(L *lua.LState, n int, want string) {
	argError(L, n, want+" expected, got "+typeName(L, n))
}

// toNumber is lua_tonumber: a number, or a string that converts to one.
func toNumber(v lua.LValue) (float64, bool) {
	switch v := v.(type) {
	case lua.LNumber:
		return float64(v), true
	case lua.LString:
		return str2number(string(v))
	}
	return 0, false
}

// checkNumber is luaL_checknumber.
func checkNumber(L *lua.LState, n int) float64 {
	f, ok := toNumber(L.Get(n))
	if !ok {
		typeError(L, n, "number")
	}
	return f
}

// checkInteger is luaL_checkinteger: the number cast to lua_Integer (C's
// truncation; x86's "integer indefinite" where C's cast is undefined).
func checkInteger(L *lua.LState, n int) int64 {
	return castInt64(checkNumber(L, n))
}

// optInteger is luaL_optinteger.
func optInteger(L *lua.LState, n int, def int64) int64 {
	if n > L.GetTop() || L.Get(n) == lua.LNil {
		return def
	}
	return checkInteger(L, n)
}

// checkString is luaL_checklstring: a string, or a number formatted as
// Lua 5.1 formats it ("%.14g").
func checkString(L *lua.LState, n int) string {
	switch v := L.Get(n).(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return FormatG(float64(v), 14)
	}
	typeError(L, n, "string")
	return ""
}

// castInt64 is C's (int64_t) cast of a double as x86-64 computes it.
func castInt64(f float64) int64 {
	if math.IsNaN(f) || f >= 9.223372036854775807e18 || f < -9.223372036854775808e18 {
		return math.MinInt64
	}
	return int64(f)
}

// castInt32 is C's (int) cast of a double as x86-64 computes it.
func castInt32(f float64) int32 {
	if math.IsNaN(f) || f >= 2147483648 || f <= -2147483649 {
		return math.MinInt32
	}
	return int32(f)
}

// FormatG is C's printf("%.<prec>g") as glibc prints it on x86-64 (a NaN
// with its sign bit set, what 0/0 makes there, prints as "-nan").
func FormatG(f float64, prec int) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		if math.Signbit(f) {
			return "-nan"
		}
		return "nan"
	}
	return strconv.FormatFloat(f, 'g', prec, 64)
}

func isSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

// str2number is Lua 5.1's luaO_str2d over glibc's strtod: optional
// blanks, a number strtod accepts (decimal, hexadecimal, inf, nan),
// optional blanks, and nothing else (C reads up to the first NUL).
func str2number(s string) (float64, bool) {
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	f, n := strtod(s[i:])
	if n == 0 {
		return 0, false
	}
	i += n
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return f, i == len(s)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool {
	return isDigit(c) || (c|0x20) >= 'a' && (c|0x20) <= 'f'
}

// hasPrefixFold is strncasecmp(s, p, len(p)) == 0 for a lower-case
// ASCII p, in the C locale.
func hasPrefixFold(s, p string) bool {
	if len(s) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p[i] {
			return false
		}
	}
	return true
}

// strtod is glibc's strtod in the C locale, without its leading blanks:
// the value of the longest prefix of s that is a number, and its length
// (0 when there is none).
func strtod(s string) (float64, int) {
	i := 0
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	sign := func(f float64) float64 {
		if neg {
			return -f
		}
		return f
	}
	rest := s[i:]
	switch {
	case hasPrefixFold(rest, "infinity"):
		return sign(math.Inf(1)), i + 8
	case hasPrefixFold(rest, "inf"):
		return sign(math.Inf(1)), i + 3
	case hasPrefixFold(rest, "nan"):
		n := i + 3
		if n < len(s) && s[n] == '(' {
			j := n + 1
			for j < len(s) && (isDigit(s[j]) || (s[j]|0x20) >= 'a' && (s[j]|0x20) <= 'z' || s[j] == '_') {
				j++
			}
			if j < len(s) && s[j] == ')' {
				n = j + 1
			}
		}
		return sign(math.NaN()), n
	}
	if len(rest) >= 2 && rest[0] == '0' && (rest[1]|0x20) == 'x' {
		j := 2
		mant := 0
		for j < len(rest) && isHex(rest[j]) {
			j++
			mant++
		}
		if j < len(rest) && rest[j] == '.' {
			k := j + 1
			for k < len(rest) && isHex(rest[k]) {
				k++
				mant++
			}
			if mant > 0 {
				j = k
			}
		}
		if mant > 0 {
			m := rest[2:j]
			exp := "p0"
			if j < len(rest) && (rest[j]|0x20) == 'p' {
				k := j + 1
				if k < len(rest) && (rest[k] == '+' || rest[k] == '-') {
					k++
				}
				if k < len(rest) && isDigit(rest[k]) {
					for k < len(rest) && isDigit(rest[k]) {
						k++
					}
					exp = rest[j:k]
					j = k
				}
			}
			if strings.HasPrefix(m, ".") {
				m = "0" + m
			}
			f, _ := strconv.ParseFloat("0x"+m+exp, 64)
			return sign(f), i + j
		}
		// "0x" without digits: strtod reads the "0".
		return sign(0), i + 1
	}
	j := 0
	digits := 0
	for j < len(rest) && isDigit(rest[j]) {
		j++
		digits++
	}
	if j < len(rest) && rest[j] == '.' {
		k := j + 1
		for k < len(rest) && isDigit(rest[k]) {
			k++
			digits++
		}
		if digits > 0 {
			j = k
		}
	}
	if digits == 0 {
		return 0, 0
	}
	if j < len(rest) && (rest[j]|0x20) == 'e' {
		k := j + 1
		if k < len(rest) && (rest[k] == '+' || rest[k] == '-') {
			k++
		}
		if k < len(rest) && isDigit(rest[k]) {
			for k < len(rest) && isDigit(rest[k]) {
				k++
			}
			j = k
		}
	}
	f, _ := strconv.ParseFloat(rest[:j], 64) // ErrRange: ±Inf or 0, as strtod
	return sign(f), i + j
}
