package command

// Lua scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT, as Redis
// 7.0's eval.c, script_lua.c and script.c define them.
//
// The VM is github.com/yuin/gopher-lua (pinned in go.mod), a Lua 5.1
// interpreter in pure Go: Redis embeds Lua 5.1 too, so scripts see the
// same language, and being pure Go it needs no cgo and runs the same on
// every node. It was the one maintained Lua 5.1 for Go the module proxy
// serves. Its SetContext makes the VM consult a context.Context before
// every instruction, which gives the deterministic instruction budget
// below.
//
// Replication. A script runs inside the Raft state machine: EVAL and
// EVALSHA are data commands whose run executes the script in the entry's
// ctx, each redis.call running the called command's own run in that same
// ctx. All writes of a script are therefore one log entry, atomic, and
// every node computes them from the script's text and arguments. EVALSHA
// carries only the SHA: the state machine looks the body up in the
// replicated script cache (internal keys keyspace.ScriptPrefix + sha,
// written by EVAL and SCRIPT LOAD, deleted by SCRIPT FLUSH), which every
// node holds alike, snapshots included; so EVALSHA works after failover.
// EVAL_RO and EVALSHA_RO are reads (no log entry); a write inside one gets
// Redis's "Write commands are not allowed from read-only scripts." (and
// unlike Redis, EVAL_RO does not add its script to the cache: a read
// cannot write).
//
// Determinism. Commands Redis flags non-deterministic (TIME, RANDOMKEY,
// SRANDMEMBER, SPOP...) are allowed, as Redis 7 allows them; in walkerd
// they read the entry's time (ctx.now) and the ctx's random generator,
// which is seeded from the log index, so every node draws the same.
// math.random is Redis's generator (rand.c's redisLrand48, so
// math.randomseed(n) draws what Redis draws), seeded with 0 at the start
// of every script as Redis before 7.0 did, so a script draws the same
// numbers on every node.
//
// Runaway scripts. A script may execute at most ScriptBudget Lua VM
// instructions (counted by the context the VM polls once per instruction,
// scriptBudget below; each redis.call counts scriptCallCost of them, so a
// script makes at most 100,000 calls): past it the script stops, its writes are rolled
// back and it fails with errScriptBudget. The count depends only on the
// script and its data, so every node stops it at the same instruction.
// The budget is fixed (not CONFIG SET lua-time-limit / busy-reply-
// threshold, which are node-local settings and could differ between
// nodes): a build constant, the same on every node.
//
// Sandbox. The globals table and the library tables are read-only
// ("Attempt to modify a readonly table"); reading a global that does not
// exist fails ("Script attempted to access nonexistent global variable"),
// as Redis 7.0's protection does. The libraries are Lua's base (without
// print, dofile, loadfile, require, module), table, string and math, and
// redis. Redis's cjson, bit, struct and cmsgpack are missing: no
// maintained Go implementation for gopher-lua is available here.
//
// Determinism also needs: tostring and string.format name tables and
// functions by a number the script run assigns ("table: 0x00000001"), not
// by their Go address; table iteration (pairs, next) is gopher-lua's
// insertion order; coroutines are left out (a coroutine runs in a thread
// the budget does not count).
//
// Known differences from Redis: Lua's own messages (syntax and runtime
// errors) are gopher-lua's wording, the commonest syntax errors mapped to
// Lua's; ".." formats numbers with Go's shortest form (1e15 is
// "1000000000000000", Lua's "%.14g" gives "1e+15"; tostring, and numbers
// passed to redis.call, "%.17g", are Redis's); the script's RESP is 2 only
// (redis.setresp(3) is refused); math.random restarts from seed 0 in
// every script (Redis 7.0 carries its state from script to script, which
// is nondeterministic); the libraries cjson, bit, struct, cmsgpack and
// coroutine are missing; server-local commands (SCAN, INFO, CONFIG,
// CLIENT, ...) cannot be called from a script; memory is not bounded
// beyond string.rep's 512 MB (proto-max-bulk-len).

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/internal/resp"
)

// ScriptBudget is how many Lua VM instructions one script may execute
// before it is stopped and its writes rolled back: at gopher-lua's speed
// (tens of millions of instructions a second) a few seconds, about Redis's
// default lua-time-limit of 5 s. It must be the same on every node of a
// cluster; tests lower it.
var ScriptBudget int64 = 100_000_000

// scriptCallCost is what one redis.call or redis.pcall takes from the
// budget, in instructions: a command costs far more than a VM instruction
// (and a write holds memory until the entry ends), so a script makes at
// most ScriptBudget/scriptCallCost (100,000) calls. A loop of writes then
// stops within a fraction of a second, its writes (tens of MB at most)
// rolled back, instead of running for tens of seconds and holding
// gigabytes of pending writes on every node.
const scriptCallCost = 1000

// ScriptLog receives redis.log's messages (level: 0 debug, 1 verbose, 2
// notice, 3 warning). The server sets it to its logger; nil drops them.
var ScriptLog func(level int, msg string)

// Replies of the scripting commands, worded as Redis 7.0.15 words them.
const (
	errNoScript         Error = "NOSCRIPT No matching script. Please use EVAL."
	errScriptNumkeysNeg Error = "ERR Number of keys can't be negative"
	errScriptNumkeys    Error = "ERR Number of keys can't be greater than number of args"
)

// errScriptBudget is the reply of a script stopped by ScriptBudget.
func errScriptBudget(sha string) string {
	return fmt.Sprintf("ERR Script killed: it ran more than %d Lua instructions (walkerd's script budget); its writes were rolled back script: %s", ScriptBudget, sha)
}

// scriptSHA is the lower-case hex SHA1 of a script's body.
func scriptSHA(body []byte) string {
	s := sha1.Sum(body)
	return hex.EncodeToString(s[:])
}

// protos caches compiled scripts by body: compiling is a pure function of
// the text, so the cache changes no result. Bounded by clearing it.
var (
	protoMu sync.Mutex
	protos  = map[string]*lua.FunctionProto{}
)

const maxProtos = 1024

var (
	syntaxLine = regexp.MustCompile(`^user_script line:(\d+)\(column:\d+\) near '([^']*)':\s*(.*)$`)
	syntaxEOF  = regexp.MustCompile(`^user_script at EOF:\s*(.*)$`)
)

// syntaxError words a gopher-lua parse error as Lua 5.1's luaX_syntaxerror
// does ("user_script:LINE: MESSAGE near 'TOKEN'"), as near as its
// messages allow: "syntax error" becomes Lua's commonest, "unexpected
// symbol".
func syntaxError(msg string, body []byte) string {
	msg = strings.TrimSpace(msg)
	word := func(m string) string {
		switch m = strings.TrimSpace(m); m {
		case "syntax error":
			return "unexpected symbol"
		case "unterminated string":
			return "unfinished string"
		}
		return m
	}
	if m := syntaxLine.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("user_script:%s: %s near '%s'", m[1], word(m[3]), m[2])
	}
	if m := syntaxEOF.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("user_script:%d: %s near '<eof>'", bytes.Count(body, []byte("\n"))+1, word(m[1]))
	}
	return msg
}

// compileScript compiles a script's body as Redis's luaCreateFunction does
// (chunk name "@user_script"), or returns Redis's compile error reply.
func compileScript(body []byte) (*lua.FunctionProto, string) {
	protoMu.Lock()
	p, ok := protos[string(body)]
	protoMu.Unlock()
	if ok {
		return p, ""
	}
	chunk, err := parse.Parse(bytes.NewReader(body), "user_script")
	if err != nil {
		return nil, "ERR Error compiling script (new function): " + oneLine(syntaxError(err.Error(), body))
	}
	p, err = lua.Compile(chunk, "user_script")
	if err != nil {
		return nil, "ERR Error compiling script (new function): " + oneLine(err.Error())
	}
	protoMu.Lock()
	if len(protos) >= maxProtos {
		clear(protos)
	}
	protos[string(body)] = p
	protoMu.Unlock()
	return p, ""
}

// oneLine replaces line breaks, which an error reply cannot hold, with
// spaces, as Redis's addReplyErrorLength does.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

// scriptBudget is the context.Context the VM polls before every
// instruction (gopher-lua's mainLoopWithContext calls Done once per
// instruction): it counts the calls and, past the limit, answers a closed
// channel, which stops the script with an error. Nothing in it depends on
// the clock.
type scriptBudget struct {
	n, limit int64
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (b *scriptBudget) Done() <-chan struct{} {
	b.n++
	if b.n > b.limit {
		return closedChan
	}
	return nil // a nil channel never receives: the VM goes on
}
func (b *scriptBudget) exceeded() bool              { return b.n > b.limit }
func (b *scriptBudget) Err() error                  { return errBudgetLua }
func (b *scriptBudget) Deadline() (time.Time, bool) { return time.Time{}, false }
func (b *scriptBudget) Value(any) any               { return nil }
func (b *scriptBudget) String() string              { return "script budget" }

var errBudgetLua = fmt.Errorf("Script exceeded its instruction budget")

var _ context.Context = (*scriptBudget)(nil)

// scriptRun is one script's execution.
type scriptRun struct {
	c      *ctx
	sha    string
	ro     bool // EVAL_RO, or a read outside Apply: no writes
	rand   uint64
	budget scriptBudget
	// panicked is what a command of the script panicked with (not a
	// refusal): runScript panics with it again outside the VM.
	panicked any
	// refs number the tables and functions the script turned into
	// strings, in the order it did: gopher-lua names them by their Go
	// address, which differs from node to node.
	refs map[lua.LValue]int
}

// str is tostring without addresses: a table, function, coroutine or
// userdata is named "table: 0x00000001" and so on, numbered in the order
// the script first named it, the same on every node.
func (sr *scriptRun) str(L *lua.LState, v lua.LValue) lua.LValue {
	switch v.(type) {
	case *lua.LTable, *lua.LFunction, *lua.LUserData, *lua.LState:
		if L != nil {
			if _, ok := L.GetMetaField(v, "__tostring").(*lua.LFunction); ok {
				return L.ToStringMeta(v)
			}
		}
		if sr.refs == nil {
			sr.refs = map[lua.LValue]int{}
		}
		id, ok := sr.refs[v]
		if !ok {
			id = len(sr.refs) + 1
			sr.refs[v] = id
		}
		return lua.LString(fmt.Sprintf("%s: 0x%08x", v.Type().String(), id))
	case lua.LNumber:
		return lua.LString(formatLuaNumber(float64(v.(lua.LNumber))))
	}
	if L != nil {
		return L.ToStringMeta(v)
	}
	return lua.LString(v.String())
}

// runScript runs a compiled script in c with its keys and arguments and
// writes its reply to c.r. Writes are undone when the budget stops it.
func (c *ctx) runScript(proto *lua.FunctionProto, sha string, keys, argv [][]byte, ro bool) {
	sr := &scriptRun{c: c, sha: sha, ro: ro || c.tx == nil, budget: scriptBudget{limit: ScriptBudget}}
	sr.srand(0)
	L := lua.NewState(lua.Options{SkipOpenLibs: true, IncludeGoStackTrace: false})
	defer L.Close()
	env := sr.openLibs(L, keys, argv)

	var m mark
	if c.tx != nil {
		m = c.tx.mark()
	}
	out, dbi, mayWrite := c.r, c.dbi, c.mayWrite
	// A read that would write (PFCOUNT caching its count) answers
	// without the change inside a script: the script's reply cannot be
	// taken back to rerun it as a write.
	c.mayWrite = false
	defer func() { c.r, c.dbi, c.mayWrite = out, dbi, mayWrite }()

	fn := L.NewFunctionFromProto(proto)
	fn.Env = env
	L.SetContext(&sr.budget)
	L.Push(fn)
	err := L.PCall(0, 1, L.NewFunction(sr.errorHandler))
	L.RemoveContext()
	c.r, c.dbi = out, dbi
	if sr.panicked != nil {
		panic(sr.panicked)
	}
	if c.fatal != nil {
		return
	}
	if sr.budget.exceeded() {
		if c.tx != nil {
			c.tx.rollbackTo(m)
		}
		c.r.Error(errScriptBudget(sha))
		return
	}
	if err != nil {
		var v lua.LValue = lua.LString(err.Error())
		if ae, ok := err.(*lua.ApiError); ok {
			v = ae.Object
		}
		c.r.Error(sr.errorText(v))
		return
	}
	luaToReply(c.r, L.Get(-1), 0)
}

// errorHandler is Redis's __redis__err__handler: it turns what the script
// raised into an error table {err=, source=, line=}, "ERR " before a
// message that is not a table, the line being that of the function that
// raised it (the caller's when a Go function raised it).
func (sr *scriptRun) errorHandler(L *lua.LState) int {
	e := L.Get(1)
	t, ok := e.(*lua.LTable)
	if !ok {
		t = L.NewTable()
		msg := "ERR " + luaToString(sr.str(nil, e))
		if e == lua.LNil {
			msg = "ERR nil"
		}
		t.RawSetString("err", lua.LString(msg))
	}
	for level := 1; level <= 2; level++ {
		dbg, ok := L.GetStack(level)
		if !ok {
			break
		}
		if _, err := L.GetInfo("Sl", dbg, lua.LNil); err != nil {
			break
		}
		if dbg.What == "G" && level == 1 {
			continue
		}
		t.RawSetString("source", lua.LString("@"+strings.TrimPrefix(dbg.Source, "@")))
		t.RawSetString("line", lua.LNumber(dbg.CurrentLine))
		break
	}
	L.Push(t)
	return 1
}

// errorText is the reply to a failed script, as luaCallFunction words it:
// the error's message, then where the script failed.
func (sr *scriptRun) errorText(v lua.LValue) string {
	t, ok := v.(*lua.LTable)
	if !ok {
		return oneLine(fmt.Sprintf("ERR Error running script %s, %.100s", sr.sha, luaToString(sr.str(nil, v))))
	}
	msg := luaToString(t.RawGetString("err"))
	if _, isStr := t.RawGetString("err").(lua.LString); !isStr {
		if _, isNum := t.RawGetString("err").(lua.LNumber); !isNum {
			msg = ""
		}
	}
	src, line := t.RawGetString("source"), t.RawGetString("line")
	if src != lua.LNil && line != lua.LNil {
		msg = fmt.Sprintf("%s script: %s, on %s:%s.", msg, sr.sha, luaToString(src), luaToString(line))
	}
	return oneLine(msg)
}

// luaToString is Lua's tostring for strings and numbers.
func luaToString(v lua.LValue) string {
	switch v := v.(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return formatLuaNumber(float64(v))
	}
	return v.String()
}

// formatLuaNumber formats a number as Lua 5.1's lua_tostring does
// ("%.14g", LUAI_NUMFFORMAT).
func formatLuaNumber(f float64) string { return formatG(f, 14) }

// formatG is C's printf "%.<prec>g".
func formatG(f float64, prec int) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	s := strconv.FormatFloat(f, 'g', prec, 64)
	// %g in C drops trailing zeros and uses at least two exponent digits.
	if i := strings.IndexByte(s, 'e'); i >= 0 {
		mant, exp := s[:i], s[i+1:]
		if strings.Contains(mant, ".") {
			mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
		}
		sign := exp[0]
		digits := exp[1:]
		if len(digits) < 2 {
			digits = "0" + digits
		}
		return mant + "e" + string(sign) + digits
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// luaToReply writes a script's value as Redis's luaReplyToRedisReply
// does: a string as a bulk string, a number as an integer (truncated),
// true as 1, false and nil as a null bulk string, a table with a string
// err as an error, with a string ok as a status, any other table as an
// array of its elements 1, 2, ... up to the first nil.
func luaToReply(w Writer, v lua.LValue, depth int) {
	switch v := v.(type) {
	case lua.LString:
		w.Bulk([]byte(v))
	case lua.LNumber:
		w.Int(luaInt(float64(v)))
	case lua.LBool:
		if v {
			w.Int(1)
		} else {
			w.Null()
		}
	case *lua.LTable:
		if e, ok := v.RawGetString("err").(lua.LString); ok {
			w.Error(oneLine(string(e)))
			return
		}
		if s, ok := v.RawGetString("ok").(lua.LString); ok {
			w.Status(oneLine(string(s)))
			return
		}
		if depth > 1000 {
			w.Error("ERR reached lua stack limit")
			return
		}
		n := 0
		for v.RawGetInt(n+1) != lua.LNil {
			n++
		}
		w.Array(n)
		for i := 1; i <= n; i++ {
			luaToReply(w, v.RawGetInt(i), depth+1)
		}
	default:
		w.Null()
	}
}

// luaInt is C's (long long) cast of a Lua number: truncation toward zero,
// saturated where C's is undefined.
func luaInt(f float64) int64 {
	switch {
	case math.IsNaN(f):
		return math.MinInt64
	case f >= 9.223372036854775807e18:
		return math.MinInt64 // x86's cvttsd2si answers the "integer indefinite"
	case f < -9.223372036854775808e18:
		return math.MinInt64
	}
	return int64(f)
}

// replyToLua converts a command's reply as Redis's RESP2 reply parser for
// Lua does: an integer as a number, a bulk string as a string, a null as
// false, an array as a table, a status as {ok=}, an error as {err=}.
func replyToLua(L *lua.LState, v resp.Value) lua.LValue {
	if v.Null {
		return lua.LFalse
	}
	switch v.Kind {
	case resp.KindInt:
		return lua.LNumber(v.Int)
	case resp.KindBulk, resp.KindVerbatim, resp.KindBigNumber, resp.KindDouble:
		return lua.LString(v.Str)
	case resp.KindSimple:
		t := L.NewTable()
		t.RawSetString("ok", lua.LString(v.Str))
		return t
	case resp.KindError, resp.KindBlobError:
		t := L.NewTable()
		t.RawSetString("err", lua.LString(v.Str))
		return t
	case resp.KindBool:
		if v.Bool {
			return lua.LNumber(1)
		}
		return lua.LFalse
	case resp.KindNull:
		return lua.LFalse
	}
	t := L.CreateTable(len(v.Elems), 0)
	for i, e := range v.Elems {
		t.RawSetInt(i+1, replyToLua(L, e))
	}
	return t
}

// call is redis.call (raise) and redis.pcall: it runs a command in the
// script's ctx, as script.c's scriptCall checks and runs it, and returns
// its reply converted to Lua; an error is raised (redis.call) or returned
// as {err=} (redis.pcall).
func (sr *scriptRun) call(L *lua.LState, raise bool) int {
	if sr.budget.n += scriptCallCost; sr.budget.exceeded() {
		L.RaiseError("%s", errBudgetLua) // pcall cannot keep it: Done stops the VM at the next instruction
		return 0
	}
	fail := func(msg string) int {
		t := L.NewTable()
		t.RawSetString("err", lua.LString(msg))
		if raise {
			L.Error(t, 0)
			return 0
		}
		L.Push(t)
		return 1
	}
	n := L.GetTop()
	if n == 0 {
		return fail("ERR Please specify at least one argument for this redis lib call")
	}
	args := make([][]byte, n)
	for i := 1; i <= n; i++ {
		switch v := L.Get(i).(type) {
		case lua.LString:
			args[i-1] = []byte(v)
		case lua.LNumber:
			// As script_lua.c's luaRedisGenericCommand: "%.17g".
			args[i-1] = []byte(formatG(float64(v), 17))
		default:
			return fail("ERR Lua redis lib command arguments must be strings or integers")
		}
	}
	c := sr.c
	s := Lookup(args[0])
	if s != nil && len(s.Subs) > 0 {
		if len(args) < 2 {
			if !ArityOK(s.Arity, len(args)) {
				return fail("ERR Wrong number of args calling Redis command from script")
			}
		} else {
			s = s.Sub(args[1])
		}
	}
	if s == nil || s.Flags&FlagInternal != 0 {
		return fail("ERR Unknown Redis command called from script")
	}
	if !ArityOK(s.Arity, len(args)) {
		return fail("ERR Wrong number of args calling Redis command from script")
	}
	top := s
	if s.Parent != nil {
		top = s.Parent
	}
	if s.Flags&FlagNoScript != 0 || top.Flags&FlagNoScript != 0 || !s.IsData() {
		return fail("ERR This Redis command is not allowed from script")
	}
	if s.Flags&FlagWrite != 0 && sr.ro {
		return fail("ERR Write commands are not allowed from read-only scripts.")
	}
	p := s.ParseArgs(args, c.now)
	var rec Recorder
	if p.Err != nil {
		rec.Error(errorText(p.Err))
	} else {
		sr.runCommand(s, args, p.Args, &rec)
	}
	if c.fatal != nil {
		L.RaiseError("%s", c.fatal.Error())
		return 0
	}
	enc := resp.Encoder{Proto: 2}
	rec.R.WriteTo(&enc)
	v, _, err := resp.Parse(enc.B)
	if err != nil {
		return fail("ERR internal error: " + err.Error())
	}
	if v.Kind == resp.KindError {
		msg := string(v.Str)
		return fail(msg)
	}
	L.Push(replyToLua(L, v))
	return 1
}

// runCommand runs one command of the script in its ctx, its reply going
// to rec. A command that refuses its whole write (a panic(refusal), as
// when an element is too long) takes back its own writes and answers
// the refusal as its error, as it would outside a script; any other panic
// is kept, to be raised again once the VM has returned, so that Apply
// rolls the whole entry back as for any command.
func (sr *scriptRun) runCommand(s *Spec, args [][]byte, p any, rec *Recorder) {
	c := sr.c
	var m mark
	if c.tx != nil {
		m = c.tx.mark()
	}
	saved := c.r
	defer func() {
		c.r = saved
		if r := recover(); r != nil {
			if rf, ok := r.(refusal); ok {
				if c.tx != nil {
					c.tx.rollbackTo(m)
				}
				rec.R = ErrorReply(string(rf))
				return
			}
			sr.panicked = r
			panic(r)
		}
	}()
	c.r = rec
	s.run(c, args, p)
}

// openLibs builds the script's environment: the libraries, redis, KEYS
// and ARGV in a globals table, behind a read-only proxy that refuses
// unknown names (Redis 7.0's scriptingEnableGlobalsProtection).
func (sr *scriptRun) openLibs(L *lua.LState, keys, argv [][]byte) *lua.LTable {
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	g := L.G.Global
	for _, name := range []string{"print", "dofile", "loadfile", "require", "module", "_printregs", "collectgarbage", "gcinfo", "channel", "coroutine", "package", "_GOPHER_LUA_VERSION"} {
		g.RawSetString(name, lua.LNil)
	}
	// gopher-lua's loadstring/load compile source only (no bytecode).
	g.RawSetString("error", L.NewFunction(luaError))
	g.RawSetString("pcall", L.NewFunction(luaPcall))
	g.RawSetString("tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(sr.str(L, L.CheckAny(1)))
		return 1
	}))
	// string.rep refuses a result beyond proto-max-bulk-len (512 MB), so
	// that one call cannot exhaust every node's memory at once.
	str := g.RawGetString("string").(*lua.LTable)
	rep := str.RawGetString("rep").(*lua.LFunction)
	str.RawSetString("rep", L.NewFunction(func(L *lua.LState) int {
		s, n := L.CheckString(1), L.CheckInt64(2)
		if n > 0 && len(s) > 0 && n > int64(MaxValueLen/len(s)) {
			raiseRedis(L, "string.rep: resulting string too large")
		}
		L.Push(rep)
		L.Push(L.Get(1))
		L.Push(L.Get(2))
		L.Call(2, 1)
		return 1
	}))
	// string.format (gopher-lua's formats with Go's fmt) gets tables and
	// functions as their deterministic names.
	format := str.RawGetString("format").(*lua.LFunction)
	str.RawSetString("format", L.NewFunction(func(L *lua.LState) int {
		n := L.GetTop()
		L.Push(format)
		for i := 1; i <= n; i++ {
			v := L.Get(i)
			switch v.(type) {
			case lua.LString, lua.LNumber:
			default:
				if i > 1 {
					v = sr.str(L, v)
				}
			}
			L.Push(v)
		}
		L.Call(n, 1)
		return 1
	}))
	math := g.RawGetString("math").(*lua.LTable)
	math.RawSetString("random", L.NewFunction(sr.mathRandom))
	math.RawSetString("randomseed", L.NewFunction(sr.mathRandomseed))

	redis := L.NewTable()
	redis.RawSetString("call", L.NewFunction(func(L *lua.LState) int { return sr.call(L, true) }))
	redis.RawSetString("pcall", L.NewFunction(func(L *lua.LState) int { return sr.call(L, false) }))
	redis.RawSetString("error_reply", L.NewFunction(func(L *lua.LState) int {
		s := L.CheckString(1)
		s = strings.TrimPrefix(s, "-")
		t := L.NewTable()
		t.RawSetString("err", lua.LString(s))
		L.Push(t)
		return 1
	}))
	redis.RawSetString("status_reply", L.NewFunction(func(L *lua.LState) int {
		t := L.NewTable()
		t.RawSetString("ok", lua.LString(L.CheckString(1)))
		L.Push(t)
		return 1
	}))
	redis.RawSetString("sha1hex", L.NewFunction(func(L *lua.LState) int {
		if L.GetTop() != 1 {
			raiseRedis(L, "wrong number of arguments")
		}
		L.Push(lua.LString(scriptSHA([]byte(L.CheckString(1)))))
		return 1
	}))
	redis.RawSetString("log", L.NewFunction(func(L *lua.LState) int {
		if L.GetTop() < 2 {
			raiseRedis(L, "redis.log() requires two arguments or more.")
		}
		lv, ok := L.Get(1).(lua.LNumber)
		if !ok {
			raiseRedis(L, "First argument must be a number (log level).")
		}
		if lv < 0 || lv > 3 {
			raiseRedis(L, "Invalid debug level.")
		}
		var parts []string
		for i := 2; i <= L.GetTop(); i++ {
			parts = append(parts, luaToString(L.Get(i)))
		}
		if ScriptLog != nil {
			ScriptLog(int(lv), strings.Join(parts, " "))
		}
		return 0
	}))
	redis.RawSetString("setresp", L.NewFunction(func(L *lua.LState) int {
		if L.GetTop() != 1 {
			raiseRedis(L, "redis.setresp() requires one argument.")
		}
		v := L.CheckInt(1)
		if v != 2 && v != 3 {
			raiseRedis(L, "RESP version must be 2 or 3.")
		}
		if v == 3 {
			raiseRedis(L, "RESP3 is not supported in walkerd scripts.")
		}
		return 0
	}))
	redis.RawSetString("set_repl", L.NewFunction(func(L *lua.LState) int {
		if L.GetTop() != 1 {
			raiseRedis(L, "redis.set_repl() requires one argument.")
		}
		v := L.CheckInt(1)
		if v&^3 != 0 {
			raiseRedis(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")
		}
		return 0 // walkerd replicates the whole script
	}))
	redis.RawSetString("replicate_commands", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LTrue); return 1 }))
	redis.RawSetString("breakpoint", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LFalse); return 1 }))
	redis.RawSetString("debug", L.NewFunction(func(L *lua.LState) int { return 0 }))
	for name, v := range map[string]int{"LOG_DEBUG": 0, "LOG_VERBOSE": 1, "LOG_NOTICE": 2, "LOG_WARNING": 3,
		"REPL_NONE": 0, "REPL_AOF": 1, "REPL_SLAVE": 2, "REPL_REPLICA": 2, "REPL_ALL": 3} {
		redis.RawSetString(name, lua.LNumber(v))
	}
	g.RawSetString("redis", redis)

	kt := L.CreateTable(len(keys), 0)
	for i, k := range keys {
		kt.RawSetInt(i+1, lua.LString(k))
	}
	at := L.CreateTable(len(argv), 0)
	for i, a := range argv {
		at.RawSetInt(i+1, lua.LString(a))
	}
	g.RawSetString("KEYS", kt)
	g.RawSetString("ARGV", at)

	// Library tables read-only: each behind a proxy.
	for _, name := range []string{"string", "table", "math", "redis"} {
		g.RawSetString(name, readonlyProxy(L, g.RawGetString(name).(*lua.LTable), false))
	}
	g.RawSetString("_G", lua.LNil)
	env := readonlyProxy(L, g, true)
	g.RawSetString("_G", env)
	return env
}

// raiseRedis raises an error of the redis library as script_lua.c's
// luaPushError and luaError do: a table {err="ERR msg"}, so that the
// reply carries no "user_script:N:" position.
func raiseRedis(L *lua.LState, format string, args ...any) {
	t := L.NewTable()
	t.RawSetString("err", lua.LString("ERR "+fmt.Sprintf(format, args...)))
	L.Error(t, 0)
}

// luaError is Lua 5.1's error(message [, level]): a string message gets
// the position of the function at level (1: error's caller) when that
// function is a Lua one, as luaL_where adds it (gopher-lua's own error
// adds one for a Go caller too: pcall(error, "x")).
func luaError(L *lua.LState) int {
	v := L.Get(1)
	level := L.OptInt(2, 1)
	if n, ok := v.(lua.LNumber); ok {
		v = lua.LString(formatLuaNumber(float64(n)))
	}
	if s, ok := v.(lua.LString); ok && level > 0 {
		if dbg, ok := L.GetStack(level); ok {
			if _, err := L.GetInfo("Sl", dbg, lua.LNil); err == nil && dbg.What != "G" && dbg.CurrentLine > 0 {
				v = lua.LString(fmt.Sprintf("%s:%d: %s", strings.TrimPrefix(dbg.Source, "@"), dbg.CurrentLine, s))
			}
		}
	}
	L.Error(v, 0)
	return 0
}

// luaPcall is Redis 7.0's pcall (script_lua.c's luaRedisPcall): Lua's,
// except that an error table with a string err (what redis.call raises)
// is caught as that string.
func luaPcall(L *lua.LState) int {
	n := L.GetTop()
	if n == 0 {
		L.ArgError(1, "value expected")
	}
	base := 0
	err := L.PCall(n-1, lua.MultRet, nil)
	if err != nil {
		var v lua.LValue = lua.LString(err.Error())
		if ae, ok := err.(*lua.ApiError); ok {
			v = ae.Object
		}
		if t, ok := v.(*lua.LTable); ok {
			if e, ok := t.RawGetString("err").(lua.LString); ok {
				v = e
			} else if e, ok := t.RawGetString("err").(lua.LNumber); ok {
				v = lua.LString(formatLuaNumber(float64(e)))
			}
		}
		L.SetTop(base)
		L.Push(lua.LFalse)
		L.Push(v)
		return 2
	}
	L.Insert(lua.LTrue, 1)
	return L.GetTop()
}

// readonlyProxy returns an empty table that reads through to t and
// refuses writes; strict: reading a name t lacks fails too.
func readonlyProxy(L *lua.LState, t *lua.LTable, strict bool) *lua.LTable {
	p := L.NewTable()
	mt := L.NewTable()
	if strict {
		mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
			k := L.Get(2)
			v := t.RawGet(k)
			if v == lua.LNil {
				L.RaiseError("Script attempted to access nonexistent global variable '%s'", luaToString(k))
			}
			L.Push(v)
			return 1
		}))
	} else {
		mt.RawSetString("__index", t)
	}
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("Attempt to modify a readonly table")
		return 0
	}))
	mt.RawSetString("__metatable", lua.LFalse)
	L.SetMetatable(p, mt)
	return p
}

// Redis's math.random: rand.c's redisLrand48, a 48-bit linear
// congruential generator (as POSIX lrand48), seeded by math.randomseed or
// with 0 at the start of every script.
func (sr *scriptRun) srand(seed int32) {
	sr.rand = uint64(uint32(seed))<<16 | 0x330E
}

func (sr *scriptRun) lrand48() int64 {
	sr.rand = (0x5DEECE66D*sr.rand + 0xB) & (1<<48 - 1)
	return int64(sr.rand >> 17)
}

func (sr *scriptRun) mathRandom(L *lua.LState) int {
	const max = math.MaxInt32
	r := float64(sr.lrand48()%max) / max
	switch L.GetTop() {
	case 0:
		L.Push(lua.LNumber(r))
	case 1:
		u := int64(L.CheckNumber(1))
		if u < 1 {
			L.ArgError(1, "interval is empty")
		}
		L.Push(lua.LNumber(math.Floor(r*float64(u)) + 1))
	case 2:
		l, u := int64(L.CheckNumber(1)), int64(L.CheckNumber(2))
		if l > u {
			L.ArgError(2, "interval is empty")
		}
		L.Push(lua.LNumber(math.Floor(r*float64(u-l+1)) + float64(l)))
	default:
		L.RaiseError("wrong number of arguments")
	}
	return 1
}

func (sr *scriptRun) mathRandomseed(L *lua.LState) int {
	sr.srand(int32(int64(L.CheckNumber(1))))
	return 0
}

// mark is where an entry's writes stood when a script began, so that a
// script stopped by its budget takes back its own writes only.
type mark struct {
	undo    int
	flushed [Databases]bool
	bytes   int64
	touched int
}

func (o *overlay) mark() mark {
	return mark{undo: len(o.undo), flushed: o.flushed, bytes: o.bytes, touched: len(o.touched)}
}

// rollbackTo takes back every write since m.
func (o *overlay) rollbackTo(m mark) {
	for i := len(o.undo) - 1; i >= m.undo; i-- {
		u := o.undo[i]
		if u.had {
			o.m[u.key] = u.prev
		} else {
			delete(o.m, u.key)
		}
	}
	o.undo = o.undo[:m.undo]
	o.flushed = m.flushed
	o.bytes = m.bytes
	o.fresh = false
	if len(o.touched) > m.touched {
		o.touched = o.touched[:m.touched]
	}
}

// scriptKey is the internal key of a cached script.
func scriptKey(sha string) []byte { return keyspace.ScriptKey([]byte(sha)) }
