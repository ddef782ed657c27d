package lualib

import (
	"math"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// TestOpenGlobals checks Open's result and the tables it installs.
func TestOpenGlobals(t *testing.T) {
	L := newState(t)
	defer L.Close()
	for lib, fns := range map[string][]string{
		"cjson":    {"encode", "decode", "encode_sparse_array", "encode_max_depth", "decode_max_depth", "encode_number_precision", "encode_keep_buffer", "encode_invalid_numbers", "decode_invalid_numbers", "new"},
		"cmsgpack": {"pack", "unpack", "unpack_one", "unpack_limit"},
		"bit":      {"tobit", "tohex", "bnot", "band", "bor", "bxor", "lshift", "rshift", "arshift", "rol", "ror", "bswap"},
		"struct":   {"pack", "unpack", "size"},
	} {
		tbl, ok := L.G.Global.RawGetString(lib).(*lua.LTable)
		if !ok {
			t.Fatalf("global %s is %v", lib, L.G.Global.RawGetString(lib))
		}
		for _, fn := range fns {
			if _, ok := tbl.RawGetString(fn).(*lua.LFunction); !ok {
				t.Errorf("%s.%s missing", lib, fn)
			}
		}
	}
	if _, ok := L.G.Global.RawGetString("cjson").(*lua.LTable).RawGetString("null").(*lua.LUserData); !ok {
		t.Error("cjson.null is not a userdata")
	}
}

// TestMemoryBound checks that every string builder stops at
// MaxStringLen with "not enough memory", including on the self-referring
// tables Redis would grow without bound.
func TestMemoryBound(t *testing.T) {
	defer func(old int) { MaxStringLen = old }(MaxStringLen)
	MaxStringLen = 1 << 16
	for _, tc := range []struct{ code, want string }{
		{`return cjson.encode(string.rep('x', 70000))`, "not enough memory"},
		{`local s = {} for i = 1, 100 do s[i] = string.rep('x', 100) end local t = {} for i = 1, 100 do t[i] = s end return cjson.encode(t)`, "not enough memory"},
		{`return cmsgpack.pack(string.rep('x', 70000))`, "not enough memory"},
		{`local t = {} for i = 1, 4 do t[i] = t end return cmsgpack.pack(t)`, "not enough memory"},
		{`return struct.pack('s', string.rep('x', 70000))`, "not enough memory"},
		{`return struct.pack(string.rep('x', 70000))`, "not enough memory"},
		{`return #struct.pack(string.rep('x', 60000))`, "60000"},
		{`return #cjson.encode(string.rep('x', 60000))`, "60002"},
		{`return #cmsgpack.pack(string.rep('x', 60000))`, "60003"},
	} {
		L := newState(t)
		got, err := runChunk(t, L, tc.code)
		L.Close()
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.code, got, tc.want)
		}
	}
}

// TestDeterministicOrder checks that objects and maps come out in
// gopher-lua's iteration order (array part, then insertion order), the
// same on every run.
func TestDeterministicOrder(t *testing.T) {
	for _, tc := range []struct{ code, want string }{
		{`return cjson.encode({z=1, a=2, m=3, [5]=4})`, `{"5":4,"z":1,"a":2,"m":3}`},
		{`local t = {} t.b = 1 t.a = 2 t[1] = 3 return cjson.encode(t)`, `{"1":3,"b":1,"a":2}`},
		{`return cjson.encode(cjson.decode('{"q":1,"b":2,"x":{"k":3,"c":4}}'))`, `{"q":1,"b":2,"x":{"k":3,"c":4}}`},
		{`local s = cmsgpack.pack({z=1, a=2}) return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end))`, `82a17a01a16102`},
	} {
		for i := 0; i < 20; i++ {
			L := newState(t)
			got, err := runChunk(t, L, tc.code)
			L.Close()
			if err != nil || got != tc.want {
				t.Fatalf("%s (run %d): got %q, %v; want %q", tc.code, i, got, err, tc.want)
			}
		}
	}
}

// TestNullAndNew checks cjson.null's identity and that cjson.new()
// instances keep separate settings.
func TestNullAndNew(t *testing.T) {
	for _, tc := range []struct{ code, want string }{
		{`return tostring(cjson.decode('null') == cjson.null and cjson.new().decode('[null]')[1] == cjson.null)`, "true"},
		{`return tostring(cjson.null)`, "userdata: (nil)"},
		{`local c = cjson.new() c.encode_number_precision(2) return c.encode(1/3) .. cjson.encode(1/3)`, "0.330.33333333333333"},
		{`local c = cjson.new() c.encode_max_depth(1) return pcall(c.encode, {{}}) and 'ok' or cjson.encode({{}})`, "[{}]"},
		{`return cmsgpack.pack(cjson.null) == cmsgpack.pack(nil) and 'nil' or 'other'`, "nil"},
	} {
		L := newState(t)
		got, err := runChunk(t, L, tc.code)
		L.Close()
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.code, got, err, tc.want)
		}
	}
}

// TestStrtod checks the glibc strtod emulation behind cjson.decode's
// numbers and Lua's string-to-number conversion.
func TestStrtod(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		n    int
	}{
		{"1", 1, 1}, {"-1.5e3x", -1500, 6}, {"1.", 1, 2}, {".5", 0.5, 2}, {"2e", 2, 1}, {"2e+", 2, 1},
		{"0x10", 16, 4}, {"0x", 0, 1}, {"0x1p4", 16, 5}, {"0x.8", 0.5, 4}, {"-0x10g", -16, 5},
		{"inf", math.Inf(1), 3}, {"-Infinity", math.Inf(-1), 9}, {"infin", math.Inf(1), 3},
		{"1e400", math.Inf(1), 5}, {"1e-400", 0, 6}, {"+7", 7, 2}, {"-", 0, 0}, {"x", 0, 0}, {".", 0, 0},
	} {
		f, n := strtod(tc.in)
		if n != tc.n || f != tc.want {
			t.Errorf("strtod(%q) = %v, %d; want %v, %d", tc.in, f, n, tc.want, tc.n)
		}
	}
	if f, n := strtod("nan(abc)x"); !math.IsNaN(f) || n != 8 {
		t.Errorf("strtod(nan(abc)x) = %v, %d", f, n)
	}
	for in, want := range map[string]bool{" 12 ": true, "0x1A": true, "1e": false, "": false, "12\x00zz": true, "1 2": false} {
		if _, ok := str2number(in); ok != want {
			t.Errorf("str2number(%q) ok = %v, want %v", in, ok, want)
		}
	}
	for _, tc := range []struct {
		f    float64
		prec int
		want string
	}{{1e15, 14, "1e+15"}, {123456789012345, 14, "1.2345678901234e+14"}, {0.1, 14, "0.1"}, {1e-5, 14, "1e-05"},
		{math.Copysign(0, -1), 14, "-0"}, {math.Inf(-1), 14, "-inf"}, {1.0 / 3, 3, "0.333"}, {100000, 14, "100000"}} {
		if got := FormatG(tc.f, tc.prec); got != tc.want {
			t.Errorf("FormatG(%v, %d) = %q, want %q", tc.f, tc.prec, got, tc.want)
		}
	}
}
