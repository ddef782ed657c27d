// Package lualib gives walkerd's Lua scripts the four libraries Redis
// 7.0 loads into its Lua VM besides Lua's own: cjson, cmsgpack, bit and
// struct. Scripts written for Redis use them (cjson.decode of a stored
// document, cmsgpack.pack of a compact value, bit.band on flags,
// struct.pack of fixed binary records), and Redis's libraries are C code
// linked into its Lua; walkerd's VM is gopher-lua, for which no Go
// implementation is available, so they are written here, in Go, from
// Redis's sources:
//
//   - cjson: deps/lua/src/lua_cjson.c (Lua CJSON 2.1.0) with fpconv.c
//   - cmsgpack: deps/lua/src/lua_cmsgpack.c (lua-cmsgpack 0.4.0)
//   - bit: deps/lua/src/lua_bit.c (LuaBitOp 1.0.2)
//   - struct: deps/lua/src/lua_struct.c (struct.c with Redis's fixes:
//     "integral size overflow", "offset must be 1 or greater")
//
// Open installs them. Results, error messages and their wording follow
// the C code on the platform Redis is built for (x86-64 Linux, glibc):
// numbers formatted as printf's "%.14g", strings parsed as strtod,
// doubles cast to integers as x86 does where C leaves it undefined,
// little-endian native byte order, long and size_t 8 bytes. Errors read
// as luaL_error and luaL_argerror word them, with the calling line's
// position ("user_script:1: bad argument #1 to 'pack' (...)"), none when
// a Go function (pcall) made the call, as Lua 5.1 does.
//
// Everything is deterministic, as a script's result must be the same on
// every node: tables are walked in gopher-lua's iteration order (array
// part, then keys in insertion order), never a Go map's, and nothing
// depends on an address. Memory is bounded: a string these libraries
// build is at most MaxStringLen bytes (Redis's proto-max-bulk-len, 512
// MB) and past it the call fails with "not enough memory"; nesting is
// bounded as in C (cjson's encode/decode_max_depth, 1000 by default;
// cmsgpack packs a table nested 16 deep as nil; the Lua stack's 8000
// slots, LUAI_MAXCSTACK, which the C code meets on deep nesting or many
// results, are counted the same way).
//
// Known differences from Redis:
//
//   - Key order. Redis's Lua walks a table's hash part in its hash order;
//     gopher-lua in insertion order. So cjson.encode of an object with
//     more than one key, and cmsgpack.pack of a map with more than one
//     entry, may order the keys differently from Redis (the same set of
//     keys and values). Arrays, scalars and one-key objects are
//     byte-identical. The same holds for cjson's sparse-array check and
//     an array index past 2^31 (C's int cast), whose outcome depends on
//     the order keys are visited in.
//   - Settings do not persist. cjson's settings (encode_max_depth,
//     encode_sparse_array, ...) last for the script that sets them: each
//     walkerd script runs in a fresh VM. Redis keeps them in its one VM
//     until SCRIPT FLUSH or a restart, so a script can change what later
//     scripts see; walkerd does not (and could not do so identically on
//     every node). encode_keep_buffer is accepted and reported but has no
//     effect (it is a C memory-reuse knob).
//   - cjson.null is a gopher-lua userdata, one per script, shared by
//     cjson.new() instances, which compares equal to itself only, as C's
//     NULL lightuserdata does; tostring gives "userdata: (nil)" as in
//     Redis, but getmetatable(cjson.null) is a table (the one holding
//     that __tostring), not nil.
//   - Function names in "bad argument" errors come from gopher-lua's
//     record of the call site: the same as Lua for plain calls
//     (cjson.encode(x) is 'encode'), but a method call (cjson:encode())
//     is not renumbered as Lua 5.1 does ("calling 'encode' on bad self").
//   - Memory. Where Redis would grow without bound (cmsgpack.pack or
//     cjson.encode of a table that refers to itself many times over) the
//     call fails with "not enough memory" at MaxStringLen.
//   - Conversions that are undefined in C (struct.pack of a number
//     beyond the integer's range, bit.tohex with a width of -2^31) give
//     what the x86-64 build of Redis gives, as far as tests show; NaN
//     and infinities given to struct.pack's integer options are among
//     the cases not compared.
//   - Results are pushed on gopher-lua's stack, whose walkerd size is
//     fixed (5120 slots), where Lua 5.1 allows 8000: cmsgpack.unpack (or
//     struct.unpack) of more than about 5000 values at once fails with
//     gopher-lua's "registry overflow" where Redis fails only past 7999
//     ("stack overflow (too many return values at once; ...)").
//   - struct.pack's luaL_Buffer keeps pieces of a result longer than 8
//     KB on the Lua stack, right after the arguments, and C reads a
//     missing argument past the first one from there; here every missing
//     argument after the first is "no value".
//   - Lua numbers converted to strings by these libraries use "%.14g" as
//     Lua does (struct.pack('s', 0.1) packs "0.1"); the "nan" of a NaN
//     prints with glibc's sign ("-nan" for a negative NaN).
package lualib

import lua "github.com/yuin/gopher-lua"

// Open creates the libraries as globals of L (L.G.Global): cjson,
// cmsgpack, bit and struct, each a table of Go functions, and returns
// their names in that order. The caller may wrap the tables (walkerd's
// scripts see them read-only, as Redis 7.0's do).
func Open(L *lua.LState) []string {
	names, _ := OpenResettable(L)
	return names
}

// OpenResettable is Open, and returns reset, which puts the libraries'
// settings (cjson's encode_max_depth and the others) back to their
// defaults: walkerd reuses a Lua state for many scripts, and one
// script's settings must not reach the next (every node runs its own
// sequence of scripts in a state).
func OpenResettable(L *lua.LState) (names []string, reset func()) {
	g := L.G.Global
	cj, cfg := openCJSONConfig(L, newNull(L))
	g.RawSetString("cjson", cj)
	g.RawSetString("cmsgpack", openCmsgpack(L))
	g.RawSetString("bit", openBit(L))
	g.RawSetString("struct", openStruct(L))
	null := cfg.null
	reset = func() { *cfg = *defaultCJSONConfig(null) }
	return []string{"cjson", "cmsgpack", "bit", "struct"}, reset
}
