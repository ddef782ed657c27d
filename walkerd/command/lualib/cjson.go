package lualib

import (
	"fmt"
	"math"

	lua "github.com/yuin/gopher-lua"
)

// The cjson library: Lua CJSON 2.1.0 (Redis's deps/lua/src/lua_cjson.c,
// with fpconv.c's number formatting in the C locale).

// cjsonConfig is lua_cjson.c's json_config_t: the settings of one cjson
// module table (cjson.new() makes another). C ints, hence int32.
type cjsonConfig struct {
	sparseConvert   int32
	sparseRatio     int32
	sparseSafe      int32
	encodeMaxDepth  int32
	decodeMaxDepth  int32
	encodeInvalid   int32 // 0 off, 1 on, 2 "null"
	encodePrecision int32
	keepBuffer      int32
	decodeInvalid   int32
	null            *lua.LUserData
}

func defaultCJSONConfig(null *lua.LUserData) *cjsonConfig {
	return &cjsonConfig{
		sparseConvert:   0,
		sparseRatio:     2,
		sparseSafe:      10,
		encodeMaxDepth:  1000,
		decodeMaxDepth:  1000,
		encodeInvalid:   0,
		encodePrecision: 14,
		keepBuffer:      1,
		decodeInvalid:   1,
		null:            null,
	}
}

// newNull makes cjson.null, the value JSON null decodes to: C's NULL
// lightuserdata. tostring gives "userdata: (nil)" as glibc prints it.
func newNull(L *lua.LState) *lua.LUserData {
	ud := L.NewUserData()
	mt := L.NewTable()
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("userdata: (nil)"))
		return 1
	}))
	ud.Metatable = mt
	return ud
}

// argInit is json_arg_init: at most n arguments, padded with nils to n
// (the options push their results after them).
func argInit(L *lua.LState, n int) {
	if L.GetTop() > n {
		argError(L, n+1, "found too many arguments")
	}
	for L.GetTop() < n {
		L.Push(lua.LNil)
	}
}

// integerOption is json_integer_option: set *setting from argument idx
// unless it is nil (checked against min..max, the message naming
// argument 1 whatever idx is, as lua_cjson.c does), then push it.
func integerOption(L *lua.LState, idx int, setting *int32, min, max int32) {
	if L.Get(idx) != lua.LNil {
		v := int32(checkInteger(L, idx))
		if v < min || v > max {
			argError(L, 1, fmt.Sprintf("expected integer between %d and %d", min, max))
		}
		*setting = v
	}
	L.Push(lua.LNumber(*setting))
}

// enumOption is json_enum_option: a boolean (true is boolTrue) or one of
// options by name; pushes a boolean for 0 and boolTrue, else the name.
func enumOption(L *lua.LState, idx int, setting *int32, options []string, boolTrue int32) {
	if options == nil {
		options = []string{"off", "on"}
		boolTrue = 1
	}
	if v := L.Get(idx); v != lua.LNil {
		if b, ok := v.(lua.LBool); ok && boolTrue != 0 {
			*setting = 0
			if b {
				*setting = boolTrue
			}
		} else {
			name := checkString(L, idx)
			found := -1
			for i, o := range options {
				if o == name {
					found = i
					break
				}
			}
			if found < 0 {
				argError(L, idx, fmt.Sprintf("invalid option '%s'", name))
			}
			*setting = int32(found)
		}
	}
	if boolTrue != 0 && (*setting == 0 || *setting == boolTrue) {
		L.Push(lua.LBool(*setting != 0))
	} else {
		L.Push(lua.LString(options[*setting]))
	}
}

func openCJSON(L *lua.LState, null *lua.LUserData) *lua.LTable {
	t, _ := openCJSONConfig(L, null)
	return t
}

// openCJSONConfig is openCJSON, and returns the module's settings.
func openCJSONConfig(L *lua.LState, null *lua.LUserData) (*lua.LTable, *cjsonConfig) {
	cfg := defaultCJSONConfig(null)
	t := L.NewTable()
	for _, f := range []struct {
		name string
		fn   lua.LGFunction
	}{
		{"encode", cfg.encode},
		{"decode", cfg.decode},
		{"encode_sparse_array", func(L *lua.LState) int {
			argInit(L, 3)
			enumOption(L, 1, &cfg.sparseConvert, nil, 1)
			integerOption(L, 2, &cfg.sparseRatio, 0, math.MaxInt32)
			integerOption(L, 3, &cfg.sparseSafe, 0, math.MaxInt32)
			return 3
		}},
		{"encode_max_depth", func(L *lua.LState) int {
			argInit(L, 1)
			integerOption(L, 1, &cfg.encodeMaxDepth, 1, math.MaxInt32)
			return 1
		}},
		{"decode_max_depth", func(L *lua.LState) int {
			argInit(L, 1)
			integerOption(L, 1, &cfg.decodeMaxDepth, 1, math.MaxInt32)
			return 1
		}},
		{"encode_number_precision", func(L *lua.LState) int {
			argInit(L, 1)
			integerOption(L, 1, &cfg.encodePrecision, 1, 14)
			return 1
		}},
		{"encode_keep_buffer", func(L *lua.LState) int {
			argInit(L, 1)
			enumOption(L, 1, &cfg.keepBuffer, nil, 1)
			return 1
		}},
		{"encode_invalid_numbers", func(L *lua.LState) int {
			argInit(L, 1)
			enumOption(L, 1, &cfg.encodeInvalid, []string{"off", "on", "null"}, 1)
			return 1
		}},
		{"decode_invalid_numbers", func(L *lua.LState) int {
			argInit(L, 1)
			enumOption(L, 1, &cfg.decodeInvalid, nil, 1)
			return 1
		}},
		{"new", func(L *lua.LState) int {
			L.Push(openCJSON(L, null))
			return 1
		}},
	} {
		t.RawSetString(f.name, L.NewFunction(f.fn))
	}
	t.RawSetString("null", null)
	t.RawSetString("_NAME", lua.LString("cjson"))
	t.RawSetString("_VERSION", lua.LString("2.1.0"))
	return t, cfg
}

/* ---- encoding ---- */

var jsonEscapes = func() (t [256]string) {
	for c := 0; c < 0x20; c++ {
		t[c] = fmt.Sprintf("\\u%04x", c)
	}
	t['\b'], t['\t'], t['\n'], t['\f'], t['\r'] = `\b`, `\t`, `\n`, `\f`, `\r`
	t['"'], t['\\'], t['/'], t[0x7f] = `\"`, `\\`, `\/`, `\u007f`
	return t
}()

type jsonEncoder struct {
	L   *lua.LState
	cfg *cjsonConfig
	buf []byte
}

func (e *jsonEncoder) grow(n int) {
	if len(e.buf)+n > MaxStringLen {
		raise(e.L, errNoMemory)
	}
}

func (e *jsonEncoder) str(s string) {
	e.grow(len(s) + 2)
	e.buf = append(e.buf, '"')
	for i := 0; i < len(s); i++ {
		if esc := jsonEscapes[s[i]]; esc != "" {
			e.grow(len(esc))
			e.buf = append(e.buf, esc...)
		} else {
			e.buf = append(e.buf, s[i])
		}
	}
	e.buf = append(e.buf, '"')
}

func (e *jsonEncoder) exception(v lua.LValue, reason string) {
	raise(e.L, "Cannot serialise %s: %s", v.Type().String(), reason)
}

// number is json_append_number: "%.14g" (encode_number_precision), NaN
// and infinities refused, written as "nan"/"inf" or as null per
// encode_invalid_numbers.
func (e *jsonEncoder) number(v lua.LNumber) {
	f := float64(v)
	bad := math.IsInf(f, 0) || math.IsNaN(f)
	switch e.cfg.encodeInvalid {
	case 0:
		if bad {
			e.exception(v, "must not be NaN or Inf")
		}
	case 1:
		if math.IsNaN(f) {
			e.grow(3)
			e.buf = append(e.buf, "nan"...)
			return
		}
	default:
		if bad {
			e.grow(4)
			e.buf = append(e.buf, "null"...)
			return
		}
	}
	s := FormatG(f, int(e.cfg.encodePrecision))
	e.grow(len(s))
	e.buf = append(e.buf, s...)
}

// arrayLength is lua_array_length: -1 for a table to encode as an object
// (a key that is not a positive integer; an excessively sparse array when
// encode_sparse_array converts), else the largest index.
func (e *jsonEncoder) arrayLength(t *lua.LTable) int32 {
	var max, items int32
	for k, _ := t.Next(lua.LNil); k != lua.LNil; k, _ = t.Next(k) {
		n, ok := k.(lua.LNumber)
		if ok && n != 0 && math.Floor(float64(n)) == float64(n) && n >= 1 {
			if float64(n) > float64(max) {
				max = castInt32(float64(n))
			}
			items++
			continue
		}
		return -1
	}
	c := e.cfg
	if c.sparseRatio > 0 && max > items*c.sparseRatio && max > c.sparseSafe {
		if c.sparseConvert == 0 {
			e.exception(t, "excessively sparse array")
		}
		return -1
	}
	return max
}

// data is json_append_data; slots counts the Lua stack slots the C
// encoder would hold, whose limit (LUAI_MAXCSTACK) also ends nesting.
func (e *jsonEncoder) data(v lua.LValue, depth, slots int) {
	switch v := v.(type) {
	case lua.LString:
		e.str(string(v))
	case lua.LNumber:
		e.number(v)
	case lua.LBool:
		if v {
			e.grow(4)
			e.buf = append(e.buf, "true"...)
		} else {
			e.grow(5)
			e.buf = append(e.buf, "false"...)
		}
	case *lua.LTable:
		depth++
		if depth > int(e.cfg.encodeMaxDepth) || slots+3 > luaMaxCStack {
			raise(e.L, "Cannot serialise, excessive nesting (%d)", depth)
		}
		if n := e.arrayLength(v); n > 0 {
			e.grow(1)
			e.buf = append(e.buf, '[')
			for i := 1; i <= int(n); i++ {
				if i > 1 {
					e.grow(1)
					e.buf = append(e.buf, ',')
				}
				e.data(v.RawGetInt(i), depth, slots+1)
			}
			e.grow(1)
			e.buf = append(e.buf, ']')
			return
		}
		e.grow(1)
		e.buf = append(e.buf, '{')
		first := true
		for k, val := v.Next(lua.LNil); k != lua.LNil; k, val = v.Next(k) {
			e.grow(3)
			if !first {
				e.buf = append(e.buf, ',')
			}
			first = false
			switch k := k.(type) {
			case lua.LNumber:
				e.buf = append(e.buf, '"')
				e.number(k)
				e.grow(2)
				e.buf = append(e.buf, '"', ':')
			case lua.LString:
				e.str(string(k))
				e.grow(1)
				e.buf = append(e.buf, ':')
			default:
				e.exception(k, "table key must be a number or string")
			}
			e.data(val, depth, slots+2)
		}
		e.grow(1)
		e.buf = append(e.buf, '}')
	case *lua.LNilType:
		e.grow(4)
		e.buf = append(e.buf, "null"...)
	case *lua.LUserData:
		if v == e.cfg.null {
			e.grow(4)
			e.buf = append(e.buf, "null"...)
			return
		}
		e.exception(v, "type not supported")
	default:
		e.exception(v, "type not supported")
	}
}

// encode is cjson.encode(value): the JSON text of one value.
func (c *cjsonConfig) encode(L *lua.LState) int {
	if L.GetTop() != 1 {
		argError(L, 1, "expected 1 argument")
	}
	e := &jsonEncoder{L: L, cfg: c}
	e.data(L.Get(1), 0, 1)
	L.Push(lua.LString(e.buf))
	return 1
}

/* ---- decoding ---- */

const (
	tObjBegin = iota
	tObjEnd
	tArrBegin
	tArrEnd
	tString
	tNumber
	tBoolean
	tNull
	tColon
	tComma
	tEnd
	tWhitespace
	tError
	tUnknown
)

var jsonTokenNames = [...]string{"T_OBJ_BEGIN", "T_OBJ_END", "T_ARR_BEGIN", "T_ARR_END", "T_STRING",
	"T_NUMBER", "T_BOOLEAN", "T_NULL", "T_COLON", "T_COMMA", "T_END", "T_WHITESPACE", "T_ERROR", "T_UNKNOWN"}

var ch2token = func() (t [256]int) {
	for i := range t {
		t[i] = tError
	}
	t['{'], t['}'], t['['], t[']'], t[','], t[':'] = tObjBegin, tObjEnd, tArrBegin, tArrEnd, tComma, tColon
	t[0] = tEnd
	t[' '], t['\t'], t['\n'], t['\r'] = tWhitespace, tWhitespace, tWhitespace, tWhitespace
	for _, c := range "fiInNt\"+-0123456789" {
		t[c] = tUnknown
	}
	return t
}()

var escape2char = func() (t [256]byte) {
	t['"'], t['\\'], t['/'], t['b'], t['t'], t['n'], t['f'], t['r'], t['u'] =
		'"', '\\', '/', '\b', '\t', '\n', '\f', '\r', 'u'
	return t
}()

type jsonToken struct {
	typ    int
	index  int
	str    string
	num    float64
	b      bool
	errmsg string
}

type jsonParser struct {
	L     *lua.LState
	cfg   *cjsonConfig
	data  string
	p     int
	depth int
	tmp   []byte
}

// at is the byte at i, 0 past the end: the C parser reads a
// NUL-terminated string.
func (j *jsonParser) at(i int) byte {
	if i < len(j.data) {
		return j.data[i]
	}
	return 0
}

func (j *jsonParser) hasPrefix(s string) bool {
	for i := 0; i < len(s); i++ {
		if j.at(j.p+i) != s[i] {
			return false
		}
	}
	return true
}

func (j *jsonParser) tokenError(t *jsonToken, msg string) {
	t.typ = tError
	t.index = j.p
	t.errmsg = msg
}

func hexdigit(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c|0x20 >= 'a' && c|0x20 <= 'f':
		return int(c|0x20-'a') + 10
	}
	return -1
}

func (j *jsonParser) hex4(i int) int {
	v := 0
	for k := 0; k < 4; k++ {
		d := hexdigit(j.at(i + k))
		if d < 0 {
			return -1
		}
		v = v<<4 | d
	}
	return v
}

// unicodeEscape is json_append_unicode_escape, at a backslash-u.
func (j *jsonParser) unicodeEscape() bool {
	cp := j.hex4(j.p + 2)
	if cp < 0 {
		return false
	}
	escLen := 6
	if cp&0xF800 == 0xD800 {
		if cp&0x400 != 0 {
			return false
		}
		if j.at(j.p+6) != '\\' || j.at(j.p+7) != 'u' {
			return false
		}
		low := j.hex4(j.p + 8)
		if low < 0 || low&0xFC00 != 0xDC00 {
			return false
		}
		cp = ((cp&0x3FF)<<10 | low&0x3FF) + 0x10000
		escLen = 12
	}
	switch {
	case cp <= 0x7F:
		j.tmp = append(j.tmp, byte(cp))
	case cp <= 0x7FF:
		j.tmp = append(j.tmp, byte(cp>>6|0xC0), byte(cp&0x3F|0x80))
	case cp <= 0xFFFF:
		j.tmp = append(j.tmp, byte(cp>>12|0xE0), byte(cp>>6&0x3F|0x80), byte(cp&0x3F|0x80))
	default:
		j.tmp = append(j.tmp, byte(cp>>18|0xF0), byte(cp>>12&0x3F|0x80), byte(cp>>6&0x3F|0x80), byte(cp&0x3F|0x80))
	}
	j.p += escLen
	return true
}

func (j *jsonParser) stringToken(t *jsonToken) {
	j.p++
	j.tmp = j.tmp[:0]
	for {
		ch := j.at(j.p)
		if ch == '"' {
			break
		}
		if ch == 0 {
			j.tokenError(t, "unexpected end of string")
			return
		}
		if ch == '\\' {
			ch = escape2char[j.at(j.p+1)]
			if ch == 'u' {
				if j.unicodeEscape() {
					continue
				}
				j.tokenError(t, "invalid unicode escape code")
				return
			}
			if ch == 0 {
				j.tokenError(t, "invalid escape code")
				return
			}
			j.p++
		}
		j.tmp = append(j.tmp, ch)
		j.p++
	}
	j.p++
	t.typ = tString
	t.str = string(j.tmp)
}

// isInvalidNumber is json_is_invalid_number: numbers strtod takes but
// JSON does not (a leading +, hexadecimal, leading zeros, inf, nan).
func (j *jsonParser) isInvalidNumber() bool {
	p := j.p
	if j.at(p) == '+' {
		return true
	}
	if j.at(p) == '-' {
		p++
	}
	c := j.at(p)
	if c == '0' {
		c2 := j.at(p + 1)
		return c2|0x20 == 'x' || isDigit(c2)
	} else if c >= 0x80 || c <= '9' { // C compares a signed char
		return false
	}
	rest := j.data[min(p, len(j.data)):]
	return hasPrefixFold(rest, "inf") || hasPrefixFold(rest, "nan")
}

func (j *jsonParser) numberToken(t *jsonToken) {
	rest := j.data[j.p:]
	f, n := strtod(rest)
	if n == 0 {
		j.tokenError(t, "invalid number")
		return
	}
	t.typ = tNumber
	t.num = f
	j.p += n
}

func (j *jsonParser) next(t *jsonToken) {
	var ch byte
	for {
		ch = j.at(j.p)
		t.typ = ch2token[ch]
		if t.typ != tWhitespace {
			break
		}
		j.p++
	}
	t.index = j.p
	switch t.typ {
	case tError:
		j.tokenError(t, "invalid token")
		return
	case tEnd:
		return
	case tUnknown:
	default:
		j.p++
		return
	}
	switch {
	case ch == '"':
		j.stringToken(t)
	case ch == '-' || isDigit(ch):
		if j.cfg.decodeInvalid == 0 && j.isInvalidNumber() {
			j.tokenError(t, "invalid number")
			return
		}
		j.numberToken(t)
	case j.hasPrefix("true"):
		t.typ, t.b = tBoolean, true
		j.p += 4
	case j.hasPrefix("false"):
		t.typ, t.b = tBoolean, false
		j.p += 5
	case j.hasPrefix("null"):
		t.typ = tNull
		j.p += 4
	case j.cfg.decodeInvalid != 0 && j.isInvalidNumber():
		j.numberToken(t)
	default:
		j.tokenError(t, "invalid token")
	}
}

func (j *jsonParser) throw(exp string, t *jsonToken) {
	found := t.errmsg
	if t.typ != tError {
		found = jsonTokenNames[t.typ]
	}
	raise(j.L, "Expected %s but found %s at character %d", exp, found, t.index+1)
}

// descend is json_decode_descend: past decode_max_depth (or the Lua
// stack's limit) the text is refused.
func (j *jsonParser) descend(slots, need int) {
	j.depth++
	if j.depth <= int(j.cfg.decodeMaxDepth) && slots+need <= luaMaxCStack {
		return
	}
	raise(j.L, "Found too many nested data structures (%d) at character %d", j.depth, j.p)
}

func (j *jsonParser) object(slots int) lua.LValue {
	j.descend(slots, 3)
	tbl := j.L.NewTable()
	var t jsonToken
	j.next(&t)
	if t.typ == tObjEnd {
		j.depth--
		return tbl
	}
	for {
		if t.typ != tString {
			j.throw("object key string", &t)
		}
		key := t.str
		j.next(&t)
		if t.typ != tColon {
			j.throw("colon", &t)
		}
		j.next(&t)
		tbl.RawSetString(key, j.value(&t, slots+2))
		j.next(&t)
		if t.typ == tObjEnd {
			j.depth--
			return tbl
		}
		if t.typ != tComma {
			j.throw("comma or object end", &t)
		}
		j.next(&t)
	}
}

func (j *jsonParser) array(slots int) lua.LValue {
	j.descend(slots, 2)
	tbl := j.L.NewTable()
	var t jsonToken
	j.next(&t)
	if t.typ == tArrEnd {
		j.depth--
		return tbl
	}
	for i := 1; ; i++ {
		tbl.RawSetInt(i, j.value(&t, slots+1))
		j.next(&t)
		if t.typ == tArrEnd {
			j.depth--
			return tbl
		}
		if t.typ != tComma {
			j.throw("comma or array end", &t)
		}
		j.next(&t)
	}
}

func (j *jsonParser) value(t *jsonToken, slots int) lua.LValue {
	switch t.typ {
	case tString:
		return lua.LString(t.str)
	case tNumber:
		return lua.LNumber(t.num)
	case tBoolean:
		return lua.LBool(t.b)
	case tObjBegin:
		return j.object(slots)
	case tArrBegin:
		return j.array(slots)
	case tNull:
		return j.cfg.null
	}
	j.throw("value", t)
	return lua.LNil
}

// decode is cjson.decode(text): the Lua value of one JSON text (null as
// cjson.null; objects as tables of string keys; arrays as sequences).
func (c *cjsonConfig) decode(L *lua.LState) int {
	if L.GetTop() != 1 {
		argError(L, 1, "expected 1 argument")
	}
	s := checkString(L, 1)
	if len(s) >= 2 && (s[0] == 0 || s[1] == 0) {
		raise(L, "JSON parser does not support UTF-16 or UTF-32")
	}
	j := &jsonParser{L: L, cfg: c, data: s}
	var t jsonToken
	j.next(&t)
	v := j.value(&t, 1)
	j.next(&t)
	if t.typ != tEnd {
		j.throw("the end", &t)
	}
	L.Push(v)
	return 1
}
