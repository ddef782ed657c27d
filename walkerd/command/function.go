package command

// Functions: FUNCTION LOAD, DELETE, FLUSH, LIST, DUMP, RESTORE and STATS,
// FCALL and FCALL_RO, as Redis 7.0's functions.c and function_lua.c define
// them.
//
// A library is Lua code that begins with a metadata line, "#!lua
// name=<library>", and registers its functions with
// redis.register_function. Libraries are replicated state, like the
// script cache: FUNCTION LOAD is a log entry whose run (on every node)
// loads the code, checks it, and stores it under an internal key
// (keyspace.LibraryKey), each of its functions naming it under another
// (keyspace.FunctionKey). So libraries are in snapshots, on a restarted
// node and on a new leader alike.
//
// Loading is a pure function of the code: the library's top level runs
// in a fresh Lua state whose globals hold only redis.register_function,
// redis.log and the redis.LOG_* and REDIS_VERSION constants (Redis's
// load-time API: anything else is "Script attempted to access
// nonexistent global variable"), bounded by the script budget rather
// than Redis's 500 ms, so that every node accepts or refuses the same
// code. The result (name, functions, descriptions, flags) is cached by
// code; FCALL runs the library's top level again in its own fresh state
// (its redis.log calls silenced), then calls the function with its keys
// and arguments as two tables, as luaEngineCall does, with the full
// scripting API of EVAL (script.go) minus KEYS and ARGV.
//
// FCALL of a function flagged no-writes, and FCALL_RO, run as reads (no
// log entry); a write inside them gets "Write commands are not allowed
// from read-only scripts.". FCALL_RO of a function without no-writes is
// refused. Function names are found in any case, as Redis's dictionary
// of functions compares them; library names are exact.
//
// FUNCTION DUMP writes Redis's own payload (each library as
// RDB_OPCODE_FUNCTION2 and its code as an RDB string, then the RDB
// version, 10, and a CRC-64/Jones of the whole), so FUNCTION RESTORE
// takes what a Redis 7.0 dumped, LZF-compressed strings included, and
// Redis takes walkerd's. The other flags (allow-oom, allow-stale,
// no-cluster, allow-cross-slot-keys) are kept and listed; they change
// nothing here.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// scriptFlags are the flags a function declares (script.h's
// SCRIPT_FLAG_*).
type scriptFlags uint8

const (
	flagNoWrites scriptFlags = 1 << iota
	flagAllowOOM
	flagAllowStale
	flagNoCluster
	flagAllowCrossSlot
)

// scriptFlagNames are the flags' names in script.c's scripts_flags_def
// order, the order FUNCTION LIST lists them in.
var scriptFlagNames = []scriptFlagName{
	{"no-writes", flagNoWrites},
	{"allow-oom", flagAllowOOM},
	{"allow-stale", flagAllowStale},
	{"no-cluster", flagNoCluster},
	{"allow-cross-slot-keys", flagAllowCrossSlot},
}

type scriptFlagName struct {
	name string
	f    scriptFlags
}

// library is a loaded function library: a pure function of its code.
type library struct {
	name  string
	code  []byte // as given to FUNCTION LOAD, metadata line included
	proto *lua.FunctionProto
	funcs []*libFunction // in the order the library registered them
}

// libFunction is one registered function.
type libFunction struct {
	name    string
	desc    string
	hasDesc bool
	flags   scriptFlags
}

// find returns the library's function called name, in any case.
func (l *library) find(name []byte) *libFunction {
	for _, f := range l.funcs {
		if strings.EqualFold(f.name, string(name)) {
			return f
		}
	}
	return nil
}

// libs caches loaded libraries by code.
var libs = codeCache[*library]{max: 256}

// Errors of FUNCTION and FCALL, worded as Redis 7.0.15 words them.
const (
	errLibraryName   = "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"
	errFuncNotFound  = "ERR Function not found"
	errFuncROWrite   = "ERR Can not execute a script with write flag using *_ro command."
	errLibNotFound   = "ERR Library not found"
	errDumpPayload   = "ERR DUMP payload version or checksum are wrong"
	errRestorePolicy = "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE."
)

// validName is functions.c's functionsVerifyName: [a-zA-Z0-9_]+.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// loadLibrary loads code as FUNCTION LOAD does, or returns its error
// reply. The result is cached: loading is deterministic.
func loadLibrary(code []byte) (*library, string) {
	if l, ok := libs.get(code); ok {
		return l, ""
	}
	l, msg := compileLibrary(code)
	if msg != "" {
		return nil, msg
	}
	libs.put(code, l)
	return l, ""
}

// libraryMeta reads a library's metadata line, as functions.c's
// functionExtractLibMetaData and the checks functionsCreateWithLibraryCtx
// makes before it runs the code: the library's name and its body (from
// the metadata line's line break on, so that line numbers count from the
// metadata line, as Redis's do), or the error reply.
func libraryMeta(code []byte) (name string, body []byte, msg string) {
	if !bytes.HasPrefix(code, []byte("#!")) {
		return "", nil, "ERR Missing library metadata"
	}
	end := bytes.IndexByte(code, '\n')
	if end < 0 {
		return "", nil, "ERR Invalid library metadata"
	}
	// The metadata line splits on white space (Redis's sdssplitargs,
	// without its quoting, which no name can use).
	parts := strings.Fields(string(code[:end]))
	if len(parts) == 0 {
		return "", nil, "ERR Invalid library metadata"
	}
	engineName := parts[0][2:]
	named := false
	for _, p := range parts[1:] {
		if len(p) >= 5 && strings.EqualFold(p[:5], "name=") {
			if named {
				return "", nil, "ERR Invalid metadata value, name argument was given multiple times"
			}
			name, named = p[5:], true
			continue
		}
		return "", nil, "ERR Invalid metadata value given: " + p
	}
	if !named {
		return "", nil, "ERR Library name was not given"
	}
	if !validName(name) {
		return "", nil, errLibraryName
	}
	if !strings.EqualFold(engineName, "lua") {
		return "", nil, fmt.Sprintf("ERR Engine '%s' not found", engineName)
	}
	return name, code[end:], ""
}

// compileLibrary is loadLibrary without its cache: libraryMeta, then
// luaEngineCreate.
func compileLibrary(code []byte) (*library, string) {
	name, body, msg := libraryMeta(code)
	if msg != "" {
		return nil, msg
	}
	chunk, err := parse.Parse(bytes.NewReader(body), "user_function")
	if err != nil {
		return nil, "ERR Error compiling function: " + oneLine(syntaxError(err.Error(), body, "user_function"))
	}
	proto, err := lua.Compile(chunk, "user_function")
	if err != nil {
		return nil, "ERR Error compiling function: " + oneLine(err.Error())
	}
	l := &library{name: name, code: bytes.Clone(code), proto: proto}

	sr := &scriptRun{ro: true, resp: 2, budget: scriptBudget{limit: ScriptBudget}}
	sr.srand(0)
	sb := getSandbox(sr)
	L := sb.L
	L.SetContext(&sr.budget)
	msg = sr.runLibrary(L, l, true)
	L.RemoveContext()
	sb.put(!sr.budget.exceeded())
	switch {
	case sr.budget.exceeded():
		return nil, "ERR Error registering functions: FUNCTION LOAD ran more than the script budget"
	case msg != "":
		return nil, msg
	case len(l.funcs) == 0:
		return nil, "ERR No functions registered"
	}
	return l, ""
}

// runLibrary runs a library's top level in L with the load-time API (the
// sandbox's globals reading the load API), then gives the script its full
// API: it
// registers l's functions (first, when l.funcs is still empty; each
// function's callback goes to sr.callbacks). It answers the reply to a
// failure. logs says whether redis.log writes (at FUNCTION LOAD, not
// when FCALL loads the library again).
func (sr *scriptRun) runLibrary(L *lua.LState, l *library, logs bool) string {
	sb := sr.sb
	full := sb.globals
	sb.globals = sr.loadAPI(L, l, logs)
	sr.loading = true
	fn := L.NewFunctionFromProto(l.proto)
	fn.Env = sb.env
	L.Push(fn)
	err := L.PCall(0, 0, sb.errorHandler)
	sb.globals, sr.loading = full, false
	if err == nil {
		return ""
	}
	var v lua.LValue = lua.LString(err.Error())
	if ae, ok := err.(*lua.ApiError); ok {
		v = ae.Object
	}
	msg := luaToString(sr.str(nil, v))
	if t, ok := v.(*lua.LTable); ok {
		msg = luaToString(t.RawGetString("err"))
	}
	return "ERR Error registering functions: " + oneLine(msg)
}

// loadAPI is the globals a library's top level sees (luaEngineInitEngine's
// library API): redis with register_function, log, the LOG_* levels and
// REDIS_VERSION.
func (sr *scriptRun) loadAPI(L *lua.LState, l *library, logs bool) *lua.LTable {
	redis := L.NewTable()
	redis.RawSetString("register_function", L.NewFunction(func(L *lua.LState) int { return sr.registerFunction(L, l) }))
	full := sr.sb.redis
	if logs {
		redis.RawSetString("log", full.RawGetString("log"))
	} else {
		redis.RawSetString("log", L.NewFunction(func(L *lua.LState) int { return 0 }))
	}
	for _, k := range []string{"LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING", "REDIS_VERSION", "REDIS_VERSION_NUM"} {
		redis.RawSetString(k, full.RawGetString(k))
	}
	g := L.NewTable()
	g.RawSetString("redis", globalsProxy(L, &redis))
	return g
}

// registerFunction is redis.register_function (function_lua.c's
// luaRegisterFunction): positional (name, callback) or named
// {function_name=, callback=, description=, flags={...}} arguments.
func (sr *scriptRun) registerFunction(L *lua.LState, l *library) int {
	if !sr.loading {
		raiseRedis(L, "redis.register_function can only be called on FUNCTION LOAD command")
	}
	f := &libFunction{}
	var cb *lua.LFunction
	switch L.GetTop() {
	case 1:
		t, ok := L.Get(1).(*lua.LTable)
		if !ok {
			raiseRedis(L, "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).")
		}
		var fail string
		named := false
		t.ForEach(func(k, v lua.LValue) {
			if fail != "" {
				return
			}
			key, ok := luaStringish(k)
			if !ok {
				fail = "named argument key given to redis.register_function is not a string"
				return
			}
			switch strings.ToLower(key) {
			case "function_name":
				if f.name, ok = luaStringish(v); !ok {
					fail = "function_name argument given to redis.register_function must be a string"
				}
				named = ok
			case "description":
				if f.desc, ok = luaStringish(v); !ok {
					fail = "description argument given to redis.register_function must be a string"
				}
				f.hasDesc = ok
			case "callback":
				if cb, ok = v.(*lua.LFunction); !ok {
					fail = "callback argument given to redis.register_function must be a function"
				}
			case "flags":
				ft, ok := v.(*lua.LTable)
				if !ok {
					fail = "flags argument to redis.register_function must be a table representing function flags"
					return
				}
				for i := 1; ; i++ {
					x := ft.RawGetInt(i)
					if x == lua.LNil {
						break
					}
					s, ok := luaStringish(x)
					found := false
					for _, fl := range scriptFlagNames {
						if ok && strings.EqualFold(s, fl.name) {
							f.flags |= fl.f
							found = true
						}
					}
					if !found {
						fail = "unknown flag given"
						return
					}
				}
			default:
				fail = "unknown argument given to redis.register_function"
			}
		})
		switch {
		case fail != "":
			raiseRedis(L, "%s", fail)
		case !named:
			raiseRedis(L, "redis.register_function must get a function name argument")
		case cb == nil:
			raiseRedis(L, "redis.register_function must get a callback argument")
		}
	case 2:
		var ok bool
		if f.name, ok = luaStringish(L.Get(1)); !ok {
			raiseRedis(L, "first argument to redis.register_function must be a string")
		}
		if cb, ok = L.Get(2).(*lua.LFunction); !ok {
			raiseRedis(L, "second argument to redis.register_function must be a function")
		}
	default:
		raiseRedis(L, "wrong number of arguments to redis.register_function")
	}
	if !validName(f.name) {
		raiseRedis(L, "%s", strings.TrimPrefix(errLibraryName, "ERR "))
	}
	if sr.callbacks == nil {
		sr.callbacks = map[string]*lua.LFunction{}
	}
	if _, dup := sr.callbacks[f.name]; dup {
		raiseRedis(L, "Function already exists in the library")
	}
	sr.callbacks[f.name] = cb
	if sr.c == nil { // FUNCTION LOAD's own load: keep what it registers
		l.funcs = append(l.funcs, f)
	}
	return 0
}

// luaStringish is lua_isstring and lua_tostring: a string, or a number
// as its string.
func luaStringish(v lua.LValue) (string, bool) {
	switch v := v.(type) {
	case lua.LString:
		return string(v), true
	case lua.LNumber:
		return formatLuaNumber(float64(v)), true
	}
	return "", false
}

// runFunction runs function f of library l with keys and args, writing
// its reply to c.r. cmd is the client's command, for FUNCTION STATS.
func (c *ctx) runFunction(l *library, f *libFunction, cmd, keys, args [][]byte, ro bool) {
	c.runLua(&RunningScript{Name: f.name, Command: cmd}, ro, func(sr *scriptRun, L *lua.LState) (*lua.LFunction, []lua.LValue, string) {
		if msg := sr.runLibrary(L, l, false); msg != "" {
			return nil, nil, msg
		}
		cb := sr.callbacks[f.name]
		if cb == nil {
			return nil, nil, errFuncNotFound
		}
		return cb, []lua.LValue{stringsTable(L, keys), stringsTable(L, args)}, ""
	})
}

// libraryOf returns the library that holds the function called name, and
// the function, from the replicated state c reads.
func (c *ctx) libraryOf(name []byte) (*library, *libFunction, string) {
	libName, _, ok := c.getRaw(keyspace.FunctionKey(name))
	if !ok {
		return nil, nil, errFuncNotFound
	}
	code, _, ok := c.getRaw(keyspace.LibraryKey(libName))
	if !ok {
		return nil, nil, errFuncNotFound
	}
	l, msg := loadLibrary(code)
	if msg != "" {
		return nil, nil, msg
	}
	f := l.find(name)
	if f == nil {
		return nil, nil, errFuncNotFound
	}
	return l, f, ""
}

// libraries returns every stored library, by name.
func (c *ctx) libraries() []*library {
	p := keyspace.LibraryPrefix
	it := c.iterate(p, keyspace.PrefixEnd(p), false)
	var codes [][]byte
	for ; it.Valid(); it.Next() {
		codes = append(codes, bytes.Clone(it.Value()))
	}
	it.close()
	out := make([]*library, 0, len(codes))
	for _, code := range codes {
		if l, msg := loadLibrary(code); msg == "" {
			out = append(out, l)
		}
	}
	slices.SortFunc(out, func(a, b *library) int { return strings.Compare(a.name, b.name) })
	return out
}

// linkLibrary stores l, as functions.c's functionsCreateWithLibraryCtx
// and libraryJoin do: refused when a library of its name exists (unless
// replace, which unlinks the old one first) or when another library has
// a function of one of its names. quote words the first refusal as
// FUNCTION LOAD does ('name'), else as FUNCTION RESTORE does. It answers
// the refusal, having written nothing.
func (c *ctx) linkLibrary(l *library, replace, quote bool) string {
	_, _, exists := c.getRaw(keyspace.LibraryKey([]byte(l.name)))
	if exists && !replace {
		if quote {
			return fmt.Sprintf("ERR Library '%s' already exists", l.name)
		}
		return fmt.Sprintf("ERR Library %s already exists", l.name)
	}
	for _, f := range l.funcs {
		if owner, _, ok := c.getRaw(keyspace.FunctionKey([]byte(f.name))); ok && string(owner) != l.name {
			return fmt.Sprintf("ERR Function %s already exists", f.name)
		}
	}
	if exists {
		c.unlinkLibrary(l.name)
	}
	c.putRaw(keyspace.LibraryKey([]byte(l.name)), l.code, 0)
	for _, f := range l.funcs {
		c.putRaw(keyspace.FunctionKey([]byte(f.name)), []byte(l.name), 0)
	}
	return ""
}

// unlinkLibrary deletes the library called name and its functions'
// names.
func (c *ctx) unlinkLibrary(name string) {
	p := keyspace.FunctionPrefix
	it := c.iterate(p, keyspace.PrefixEnd(p), false)
	var dead [][]byte
	for ; it.Valid(); it.Next() {
		if string(it.Value()) == name {
			dead = append(dead, bytes.Clone(it.Key()))
		}
	}
	it.close()
	for _, k := range dead {
		c.delRaw(k)
	}
	c.delRaw(keyspace.LibraryKey([]byte(name)))
}

// flushLibraries deletes every library and function name.
func (c *ctx) flushLibraries() {
	c.delPrefix(keyspace.LibraryPrefix)
	c.delPrefix(keyspace.FunctionPrefix)
}

// delPrefix deletes every internal key that begins with p.
func (c *ctx) delPrefix(p []byte) {
	it := c.iterate(p, keyspace.PrefixEnd(p), false)
	var dead [][]byte
	for ; it.Valid(); it.Next() {
		dead = append(dead, bytes.Clone(it.Key()))
	}
	it.close()
	for _, k := range dead {
		c.delRaw(k)
	}
}

// --- FUNCTION DUMP and RESTORE payloads (Redis's) ---

const (
	rdbOpcodeFunctionPreGA = 246 // RDB_OPCODE_FUNCTION_PRE_GA
	rdbOpcodeFunction2     = 245 // RDB_OPCODE_FUNCTION2
	rdbVersion             = 10  // Redis 7.0's RDB_VERSION
)

// dumpFunctions is FUNCTION DUMP's payload of libs:
//
//	{ 0xF5 | RDB string: the library's code } per library
//	| RDB version: 2 bytes, little endian (10) | CRC-64/Jones of all before: 8 bytes, little endian |
//
// An RDB string here is its length (6 bits, 14 bits or 32 bits, rdb.c's
// rdbSaveLen) and its bytes, uncompressed.
func dumpFunctions(libs []*library) []byte {
	var b []byte
	for _, l := range libs {
		b = append(b, rdbOpcodeFunction2)
		b = appendRDBLen(b, uint64(len(l.code)))
		b = append(b, l.code...)
	}
	b = binary.LittleEndian.AppendUint16(b, rdbVersion)
	return binary.LittleEndian.AppendUint64(b, crc64Jones(0, b))
}

func appendRDBLen(b []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(b, byte(n))
	case n < 1<<14:
		return append(b, byte(n>>8)|0x40, byte(n))
	case n <= 0xFFFFFFFF:
		return binary.BigEndian.AppendUint32(append(b, 0x80), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 0x81), n)
}

// parseFunctionDump reads a FUNCTION DUMP payload into the libraries'
// codes, or answers its error reply (functionRestoreCommand's).
func parseFunctionDump(p []byte) ([][]byte, string) {
	if len(p) < 10 {
		return nil, errDumpPayload
	}
	ver := binary.LittleEndian.Uint16(p[len(p)-10:])
	if ver > rdbVersion || binary.LittleEndian.Uint64(p[len(p)-8:]) != crc64Jones(0, p[:len(p)-8]) {
		return nil, errDumpPayload
	}
	body := p[:len(p)-10]
	var codes [][]byte
	for len(body) > 0 {
		switch body[0] {
		case rdbOpcodeFunction2:
		case rdbOpcodeFunctionPreGA:
			return nil, "ERR Pre-GA function format not supported"
		default:
			return nil, "ERR given type is not a function"
		}
		s, rest, ok := readRDBString(body[1:])
		if !ok {
			return nil, "ERR failed loading the given functions payload"
		}
		codes = append(codes, s)
		body = rest
	}
	return codes, ""
}

// readRDBLen reads rdb.c's length encoding; enc reports a special
// encoding (0xC0 | type) instead of a length.
func readRDBLen(b []byte) (n uint64, enc bool, rest []byte, ok bool) {
	if len(b) == 0 {
		return 0, false, nil, false
	}
	switch b[0] >> 6 {
	case 0:
		return uint64(b[0] & 0x3F), false, b[1:], true
	case 1:
		if len(b) < 2 {
			return 0, false, nil, false
		}
		return uint64(b[0]&0x3F)<<8 | uint64(b[1]), false, b[2:], true
	case 2:
		switch {
		case b[0] == 0x80 && len(b) >= 5:
			return uint64(binary.BigEndian.Uint32(b[1:])), false, b[5:], true
		case b[0] == 0x81 && len(b) >= 9:
			return binary.BigEndian.Uint64(b[1:]), false, b[9:], true
		}
		return 0, false, nil, false
	}
	return uint64(b[0] & 0x3F), true, b[1:], true
}

// readRDBString reads an RDB string: raw, an integer (0xC0-0xC2) or LZF
// compressed (0xC3), as rdb.c's rdbGenericLoadStringObject.
func readRDBString(b []byte) (s, rest []byte, ok bool) {
	n, enc, b, ok := readRDBLen(b)
	if !ok {
		return nil, nil, false
	}
	if !enc {
		if uint64(len(b)) < n {
			return nil, nil, false
		}
		return b[:n], b[n:], true
	}
	switch n {
	case 0, 1, 2: // RDB_ENC_INT8, INT16, INT32
		size := 1 << n
		if len(b) < size {
			return nil, nil, false
		}
		var v int64
		switch size {
		case 1:
			v = int64(int8(b[0]))
		case 2:
			v = int64(int16(binary.LittleEndian.Uint16(b)))
		case 4:
			v = int64(int32(binary.LittleEndian.Uint32(b)))
		}
		return []byte(fmt.Sprint(v)), b[size:], true
	case 3: // RDB_ENC_LZF
		clen, cenc, b, ok := readRDBLen(b)
		if !ok || cenc {
			return nil, nil, false
		}
		ulen, uenc, b, ok := readRDBLen(b)
		if !ok || uenc || uint64(len(b)) < clen || ulen > uint64(MaxValueLen) {
			return nil, nil, false
		}
		out, ok := lzfDecompress(b[:clen], int(ulen))
		return out, b[clen:], ok
	}
	return nil, nil, false
}

// lzfDecompress is liblzf's lzf_decompress: literal runs (control byte
// < 32: that many plus one bytes follow) and back references (length in
// the top 3 bits, plus a byte when they are all set; offset in the low 5
// bits and the next byte).
func lzfDecompress(in []byte, n int) ([]byte, bool) {
	out := make([]byte, 0, n)
	for i := 0; i < len(in); {
		ctrl := int(in[i])
		i++
		if ctrl < 32 {
			ctrl++
			if i+ctrl > len(in) || len(out)+ctrl > n {
				return nil, false
			}
			out = append(out, in[i:i+ctrl]...)
			i += ctrl
			continue
		}
		length := ctrl >> 5
		if length == 7 {
			if i >= len(in) {
				return nil, false
			}
			length += int(in[i])
			i++
		}
		if i >= len(in) {
			return nil, false
		}
		ref := len(out) - ((ctrl & 0x1F) << 8) - 1 - int(in[i])
		i++
		length += 2
		if ref < 0 || len(out)+length > n {
			return nil, false
		}
		for j := 0; j < length; j++ { // byte by byte: the copy may overlap
			out = append(out, out[ref+j])
		}
	}
	return out, len(out) == n
}

// crc64Jones is Redis's crc64 (crc64.c): the Jones polynomial, reflected,
// no initial or final inversion (Go's hash/crc64 inverts both).
func crc64Jones(crc uint64, b []byte) uint64 {
	for _, c := range b {
		crc = jonesTable[byte(crc)^c] ^ crc>>8
	}
	return crc
}

var jonesTable = func() (t [256]uint64) {
	const poly = 0x95AC9329AC4BC9B5 // 0xad93d23594c935a9, bits reversed
	for i := range t {
		c := uint64(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ poly
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return t
}()
