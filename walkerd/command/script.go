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
// Runaway scripts. A script in the log may execute at most ScriptBudget
// Lua VM instructions (counted by the context the VM polls once per
// instruction, scriptBudget below; each redis.call counts scriptCallCost
// of them, so a script makes at most 100,000 calls): past it the script
// stops, its writes are rolled back and it fails with errScriptBudget.
// The count depends only on the script and its data, so every node stops
// it at the same instruction. The budget is fixed (not CONFIG SET
// lua-time-limit / busy-reply-threshold, which are node-local settings
// and could differ between nodes): a build constant, the same on every
// node. No node may stop such a script on its own, so SCRIPT KILL answers
// UNKILLABLE while one runs. A script outside the log (EVAL_RO,
// EVALSHA_RO, FCALL_RO, a no-writes function) runs on one node only, side
// by side with other reads: it has no budget and runs until it ends or
// SCRIPT KILL (FUNCTION KILL for functions) stops it, as Redis lets a
// script run; past busy-reply-threshold other commands on its node get
// Redis's BUSY error (the server's busyReply), since the script holds the
// node's engine and writes wait for it.
//
// Sandbox. The globals table and the library tables are read-only
// ("Attempt to modify a readonly table"); reading a global that does not
// exist fails ("Script attempted to access nonexistent global variable"),
// as Redis 7.0's protection does. The libraries are Lua's base (without
// print, dofile, loadfile, require, module), table, string and math, and
// redis, and Redis's cjson, bit, struct and cmsgpack, written in Go for
// gopher-lua in package lualib (its doc lists their differences).
//
// Determinism also needs: tostring names tables and functions by a number
// the script run assigns ("table: 0x00000001"), not by their Go address,
// and string.format refuses them as Lua 5.1 does; table iteration (pairs, next) is gopher-lua's
// insertion order; coroutines are left out (a coroutine runs in a thread
// the budget does not count).
//
// Known differences from Redis: Lua's own messages (syntax and runtime
// errors) are gopher-lua's wording, the commonest syntax errors mapped to
// Lua's; ".." formats numbers with Go's shortest form (1e15 is
// "1000000000000000", Lua's "%.14g" gives "1e+15"; tostring, and numbers
// passed to redis.call, "%.17g", are Redis's); RESP3 big numbers and
// verbatim strings a script returns are answered as bulk strings;
// math.random restarts from seed 0 in every script (Redis 7.0 carries its
// state from script to script, which is nondeterministic); the coroutine
// library, collectgarbage and gcinfo are missing, and goto is reserved;
// server-local commands (INFO, CONFIG, CLIENT, ...) cannot be called
// from a script (SCAN can, through its run: scan.go); memory is not bounded beyond string.rep's 512 MB
// (proto-max-bulk-len).

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	stdmath "math"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/command/lualib"
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

// RedisVersion is the Redis version whose semantics scripts see as
// redis.REDIS_VERSION, and redisVersionNum the same as 0x00MMmmpp
// (script_lua.c's luaRegisterVersion). Constants, not the server's
// configured redis_version: every node must run a script alike.
const (
	RedisVersion    = "7.0.15"
	redisVersionNum = 7<<16 | 0<<8 | 15
)

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
// the text, so the cache changes no result.
var protos = codeCache[*compiledScript]{max: 1024}

// codeCache maps code (a script's body, a library's code) to what
// compiling it gave, for compilations that are pure functions of the
// code. It holds at most max entries and is emptied when full.
type codeCache[V any] struct {
	mu  sync.Mutex
	m   map[string]V
	max int
}

func (cc *codeCache[V]) get(code []byte) (V, bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	v, ok := cc.m[string(code)]
	return v, ok
}

func (cc *codeCache[V]) put(code []byte, v V) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.m == nil || len(cc.m) >= cc.max {
		cc.m = make(map[string]V)
	}
	cc.m[string(code)] = v
}

// compiledScript is a script's body compiled, with what its shebang line
// declares.
type compiledScript struct {
	proto *lua.FunctionProto
	// shebang: the body begins with "#!lua"; then flags are its flags
	// (Redis 7's script flags: no-writes makes it a read-only script).
	// Without one a script runs as Redis's scripts before 7.0 did.
	shebang bool
	flags   scriptFlags
}

var (
	syntaxLine = regexp.MustCompile(`^\w+ line:(\d+)\(column:\d+\) near '([^']*)':\s*(.*)$`)
	syntaxEOF  = regexp.MustCompile(`^\w+ at EOF:\s*(.*)$`)
)

// syntaxError words a gopher-lua parse error of chunk as Lua 5.1's
// luaX_syntaxerror does ("user_script:LINE: MESSAGE near 'TOKEN'"), as
// near as its messages allow: "syntax error" becomes Lua's commonest,
// "unexpected symbol".
func syntaxError(msg string, body []byte, chunk string) string {
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
		return fmt.Sprintf("%s:%s: %s near '%s'", chunk, m[1], word(m[3]), m[2])
	}
	if m := syntaxEOF.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%s:%d: %s near '<eof>'", chunk, bytes.Count(body, []byte("\n"))+1, word(m[1]))
	}
	return msg
}

// compileScript compiles a script's body as Redis's luaCreateFunction does
// (chunk name "@user_script"), its shebang line read first
// (evalShebang), or returns Redis's error reply.
func compileScript(body []byte) (*compiledScript, string) {
	if cs, ok := protos.get(body); ok {
		return cs, ""
	}
	cs := &compiledScript{}
	code := body
	if bytes.HasPrefix(body, []byte("#!")) {
		var msg string
		if cs.flags, code, msg = evalShebang(body); msg != "" {
			return nil, msg
		}
		cs.shebang = true
	}
	chunk, err := parse.Parse(bytes.NewReader(code), "user_script")
	if err != nil {
		return nil, "ERR Error compiling script (new function): " + oneLine(syntaxError(err.Error(), code, "user_script"))
	}
	if cs.proto, err = lua.Compile(chunk, "user_script"); err != nil {
		return nil, "ERR Error compiling script (new function): " + oneLine(err.Error())
	}
	protos.put(body, cs)
	return cs, ""
}

// evalShebang reads a script's "#!lua [flags=f1,f2...]" line as Redis
// 7.0's evalExtractShebangFlags does (flag names exact, in lower case),
// and returns its flags and the code to compile: the body with the
// shebang line blanked, its line break kept so that line numbers hold.
func evalShebang(body []byte) (scriptFlags, []byte, string) {
	end := bytes.IndexByte(body, '\n')
	if end < 0 {
		return 0, nil, "ERR Invalid script shebang"
	}
	parts := strings.Fields(string(body[:end]))
	if len(parts) == 0 || parts[0] != "#!lua" {
		engine := "#!"
		if len(parts) > 0 {
			engine = parts[0]
		}
		return 0, nil, "ERR Unexpected engine in script shebang: " + engine
	}
	var flags scriptFlags
	for _, p := range parts[1:] {
		list, ok := strings.CutPrefix(p, "flags=")
		if !ok {
			return 0, nil, "ERR Unknown lua shebang option: " + p
		}
		if list == "" {
			continue
		}
		for _, f := range strings.Split(list, ",") {
			i := slices.IndexFunc(scriptFlagNames, func(n scriptFlagName) bool { return n.name == f })
			if i < 0 {
				return 0, nil, "ERR Unexpected flag in script shebang: " + f
			}
			flags |= scriptFlagNames[i].f
		}
	}
	return flags, body[end:], ""
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
	// killable marks a run outside the log, which SCRIPT KILL and
	// FUNCTION KILL stop by setting killed (it has no instruction
	// limit).
	killable bool
	killed   atomic.Bool
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (b *scriptBudget) Done() <-chan struct{} {
	if b.killable {
		if b.killed.Load() {
			return closedChan
		}
		return nil
	}
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
	// resp is the protocol the script's redis.call replies are parsed
	// in and its booleans answered in: 2, or 3 after redis.setresp(3).
	resp int
	// sb is the sandbox the run uses.
	sb *sandbox
	// loading is true while a function library's top level runs, and
	// callbacks holds the functions it registered, by name (function.go).
	loading   bool
	callbacks map[string]*lua.LFunction
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
func (c *ctx) runScript(proto *lua.FunctionProto, sha string, cmd, keys, argv [][]byte, ro bool) {
	c.runLua(&RunningScript{Name: sha, Command: cmd, Eval: true}, ro, func(sr *scriptRun, L *lua.LState) (*lua.LFunction, []lua.LValue, string) {
		sr.sb.g.RawSetString("KEYS", stringsTable(L, keys))
		sr.sb.g.RawSetString("ARGV", stringsTable(L, argv))
		fn := L.NewFunctionFromProto(proto)
		fn.Env = sr.sb.env
		return fn, nil, ""
	})
}

// newLuaState is a bare Lua state for a sandbox. Its value stack
// starts small and grows to Lua 5.1's LUAI_MAXCSTACK (8,000 slots, so a
// script may return as many values as from Redis), and its call stack
// grows as calls nest, up to gopher-lua's 256 frames: a fresh state then
// costs a few KB instead of about 100 KB (gopher-lua's fixed defaults).
func newLuaState() *lua.LState {
	return lua.NewState(lua.Options{
		SkipOpenLibs:        true,
		IncludeGoStackTrace: false,
		RegistrySize:        256,
		RegistryMaxSize:     8000 + 256,
		RegistryGrowStep:    256,
		CallStackSize:       lua.CallStackSize,
		MinimizeStackMemory: true,
	})
}

// stringsTable is a Lua array of the strings vs.
func stringsTable(L *lua.LState, vs [][]byte) *lua.LTable {
	t := L.CreateTable(len(vs), 0)
	for i, v := range vs {
		t.RawSetInt(i+1, lua.LString(v))
	}
	return t
}

// runLua is one script run, EVAL's or FCALL's: prepare builds, in the
// run's sandbox (sandbox: reused, and as new), whose instructions the
// budget already counts, the function to call and its arguments (or an
// error reply); runLua calls it and writes its reply to c.r. run.Name is
// what error replies call the script (the SHA1 for EVAL, the function's
// name for FCALL); while it runs, run is listed for SCRIPT KILL, FUNCTION
// KILL and FUNCTION STATS. ro refuses writes. A run outside the log (c.tx
// nil: EVAL_RO, FCALL_RO, a no-writes function or script) is never
// stopped by the budget, only by SCRIPT KILL or FUNCTION KILL, as Redis
// lets a script run until it is killed; a run inside the log is stopped
// by the budget alone, the same on every node.
func (c *ctx) runLua(run *RunningScript, ro bool, prepare func(sr *scriptRun, L *lua.LState) (*lua.LFunction, []lua.LValue, string)) {
	name := run.Name
	sr := &scriptRun{c: c, sha: name, ro: ro || c.tx == nil, resp: 2, budget: scriptBudget{limit: ScriptBudget}}
	if c.tx == nil {
		sr.budget.limit = stdmath.MaxInt64
		sr.budget.killable = true
	}
	sr.srand(0)
	sb := getSandbox(sr)
	L := sb.L
	clean := false // the run ended as a script may: its sandbox can serve again
	defer func() { sb.put(clean) }()
	run.InLog, run.budget, run.db = c.tx != nil, &sr.budget, c.db
	defer running.add(run)()

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

	L.SetContext(&sr.budget)
	fn, fargs, msg := prepare(sr, L)
	var err error
	if msg == "" {
		L.Push(fn)
		for _, a := range fargs {
			L.Push(a)
		}
		err = L.PCall(len(fargs), 1, sb.errorHandler)
	}
	L.RemoveContext()
	c.r, c.dbi = out, dbi
	if sr.panicked != nil {
		panic(sr.panicked)
	}
	if c.fatal != nil {
		return
	}
	clean = !sr.budget.killed.Load() && !sr.budget.exceeded()
	switch {
	case sr.budget.killed.Load():
		c.r.Error("ERR Script killed by user with SCRIPT KILL...")
		return
	case sr.budget.exceeded():
		if c.tx != nil {
			c.tx.rollbackTo(m)
		}
		c.r.Error(errScriptBudget(name))
		return
	case msg != "":
		c.r.Error(msg)
		return
	case err != nil:
		var v lua.LValue = lua.LString(err.Error())
		if ae, ok := err.(*lua.ApiError); ok {
			v = ae.Object
		}
		c.r.Error(sr.errorText(v))
		return
	}
	sr.luaToReply(c.r, L.Get(-1), 0)
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

// formatG is C's printf "%.<prec>g" (lualib.FormatG).
func formatG(f float64, prec int) string { return lualib.FormatG(f, prec) }

// luaToReply writes a script's value as Redis's luaReplyToRedisReply
// does: a string as a bulk string, a number as an integer (truncated),
// nil as a null; true and false as 1 and a null bulk string, or as
// booleans once the script chose RESP3 (redis.setresp(3)); a table with a
// string err as an error, with a string ok as a status, with a number
// double as a double, with a string big_number as a big number (a bulk
// string here), with a table map as a map of its pairs, with a table set
// as a set of its keys, with a table verbatim_string as its string; any
// other table as an array of its elements 1, 2, ... up to the first nil.
func (sr *scriptRun) luaToReply(w Writer, v lua.LValue, depth int) {
	switch v := v.(type) {
	case lua.LString:
		w.Bulk([]byte(v))
	case lua.LNumber:
		w.Int(luaInt(float64(v)))
	case lua.LBool:
		switch {
		case sr.resp == 3:
			w.Bool(bool(v))
		case bool(v):
			w.Int(1)
		default:
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
		if d, ok := v.RawGetString("double").(lua.LNumber); ok {
			w.Double(float64(d))
			return
		}
		if s, ok := v.RawGetString("big_number").(lua.LString); ok {
			w.Bulk([]byte(s))
			return
		}
		if depth > 1000 {
			w.Error("ERR reached lua stack limit")
			return
		}
		if m, ok := v.RawGetString("map").(*lua.LTable); ok {
			var kv []lua.LValue
			m.ForEach(func(k, x lua.LValue) { kv = append(kv, k, x) })
			w.Map(len(kv) / 2)
			for _, x := range kv {
				sr.luaToReply(w, x, depth+1)
			}
			return
		}
		if set, ok := v.RawGetString("set").(*lua.LTable); ok {
			var ks []lua.LValue
			set.ForEach(func(k, _ lua.LValue) { ks = append(ks, k) })
			w.Set(len(ks))
			for _, k := range ks {
				sr.luaToReply(w, k, depth+1)
			}
			return
		}
		if vt, ok := v.RawGetString("verbatim_string").(*lua.LTable); ok {
			if s, ok := vt.RawGetString("string").(lua.LString); ok {
				if _, ok := vt.RawGetString("format").(lua.LString); ok {
					w.Bulk([]byte(s))
					return
				}
			}
		}
		n := 0
		for v.RawGetInt(n+1) != lua.LNil {
			n++
		}
		w.Array(n)
		for i := 1; i <= n; i++ {
			sr.luaToReply(w, v.RawGetInt(i), depth+1)
		}
	default:
		w.Null()
	}
}

// luaInt is C's (long long) cast of a Lua number: truncation toward zero,
// saturated where C's is undefined.
func luaInt(f float64) int64 {
	switch {
	case stdmath.IsNaN(f):
		return stdmath.MinInt64
	case f >= 9.223372036854775807e18:
		return stdmath.MinInt64 // x86's cvttsd2si answers the "integer indefinite"
	case f < -9.223372036854775808e18:
		return stdmath.MinInt64
	}
	return int64(f)
}

// replyToLua converts a command's reply as Redis's reply parsers for Lua
// do (script_lua.c). Under RESP2 (the default): an integer as a number, a
// bulk string as a string, a null as false, an array as a table, a status
// as {ok=}, an error as {err=}. Under RESP3 (after redis.setresp(3)) also
// a null as nil, a boolean as a boolean, a double as {double=}, a map as
// {map={k=v...}}, a set as {set={member=true...}}, a big number as
// {big_number=}, a verbatim string as {verbatim_string={format=,string=}}.
func replyToLua(L *lua.LState, v resp.Value, proto int) lua.LValue {
	if v.Null {
		if proto == 3 {
			return lua.LNil
		}
		return lua.LFalse
	}
	wrap := func(field string, x lua.LValue) lua.LValue {
		t := L.NewTable()
		t.RawSetString(field, x)
		return t
	}
	switch v.Kind {
	case resp.KindInt:
		return lua.LNumber(v.Int)
	case resp.KindBulk:
		return lua.LString(v.Str)
	case resp.KindVerbatim:
		if proto == 3 {
			t := L.NewTable()
			t.RawSetString("format", lua.LString(v.Format))
			t.RawSetString("string", lua.LString(v.Str))
			return wrap("verbatim_string", t)
		}
		return lua.LString(v.Str)
	case resp.KindBigNumber:
		if proto == 3 {
			return wrap("big_number", lua.LString(v.Str))
		}
		return lua.LString(v.Str)
	case resp.KindDouble:
		if proto == 3 {
			return wrap("double", lua.LNumber(v.Float))
		}
		return lua.LString(v.Str)
	case resp.KindSimple:
		return wrap("ok", lua.LString(v.Str))
	case resp.KindError, resp.KindBlobError:
		return wrap("err", lua.LString(v.Str))
	case resp.KindBool:
		if proto == 3 {
			return lua.LBool(v.Bool)
		}
		if v.Bool {
			return lua.LNumber(1)
		}
		return lua.LFalse
	case resp.KindNull:
		if proto == 3 {
			return lua.LNil
		}
		return lua.LFalse
	case resp.KindMap:
		if proto == 3 {
			t := L.NewTable()
			for i := 0; i+1 < len(v.Elems); i += 2 {
				t.RawSet(replyToLua(L, v.Elems[i], proto), replyToLua(L, v.Elems[i+1], proto))
			}
			return wrap("map", t)
		}
	case resp.KindSet:
		if proto == 3 {
			t := L.NewTable()
			for _, e := range v.Elems {
				t.RawSet(replyToLua(L, e, proto), lua.LTrue)
			}
			return wrap("set", t)
		}
	}
	t := L.CreateTable(len(v.Elems), 0)
	for i, e := range v.Elems {
		t.RawSetInt(i+1, replyToLua(L, e, proto))
	}
	return t
}

// ScriptPermission, when set (walkerd's server sets it), answers "" when
// the ACL user may run a command a script calls, else the error the call
// raises, as script.c's scriptCall checks ACLCheckAllPerm. It decides from
// users only, the users WALKER.ACLSET stored (nil: none), read in the
// script's own view of the data, so that every node decides alike.
var ScriptPermission func(users []byte, user string, spec *Spec, args [][]byte) string

// aclUsers are the stored ACL users as the running command sees them.
func (c *ctx) aclUsers() []byte {
	v, _, ok := c.getRaw(keyspace.ACLKey)
	if !ok {
		return nil
	}
	return v
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
	// scriptVerifyWriteCommandAllow refuses may-replicate commands too
	// (PUBLISH, SPUBLISH, PFCOUNT).
	if sr.ro && s.Flags&(FlagWrite|FlagMayReplicate) != 0 {
		return fail("ERR Write commands are not allowed from read-only scripts.")
	}
	if c.user != "" && ScriptPermission != nil {
		if msg := ScriptPermission(c.aclUsers(), c.user, s, args); msg != "" {
			return fail(msg)
		}
	}
	if nonLocalKey(c.db, s, args) { // a key of another Raft group (owner.go)
		return fail(errNonLocalKey)
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
	enc := resp.Encoder{Proto: sr.resp}
	rec.R.WriteTo(&enc)
	v, _, err := resp.Parse(enc.B)
	if err != nil {
		return fail("ERR internal error: " + err.Error())
	}
	if v.Kind == resp.KindError {
		msg := string(v.Str)
		return fail(msg)
	}
	L.Push(replyToLua(L, v, sr.resp))
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
	c.beginCommand() // ctx.go: Touch.New per command
	s.run(c, args, p)
}

// sandbox is a Lua state with the scripts' environment built, reused from
// run to run: building it is most of a short script's cost. A script
// cannot change it (its globals and libraries are read-only, rawset
// included, and there is no getfenv, debug or coroutine), so a reused
// sandbox behaves as a new one and every node computes the same whatever
// sandbox it runs a script in. What a run sets (KEYS, ARGV, cjson's
// settings, the stack) is cleared when it ends, and a sandbox is reused
// only after a run that ended normally with its read-only tables empty.
type sandbox struct {
	L *lua.LState
	// sr is the run using the sandbox: its functions act for it.
	sr *scriptRun
	// g is the raw globals table; env the read-only proxy scripts see,
	// which reads through to globals: g, or a function library's load
	// API while its top level runs (function.go).
	g, env, globals *lua.LTable
	redis           *lua.LTable // the raw redis table
	// errorHandler is sr's errorHandler, for PCall.
	errorHandler *lua.LFunction
	// protected are the read-only proxies: none may hold a key.
	protected map[*lua.LTable]bool
	resetLibs func()
}

var sandboxes = sync.Pool{New: func() any { return newSandbox() }}

// getSandbox returns a sandbox for sr's run.
func getSandbox(sr *scriptRun) *sandbox {
	sb := sandboxes.Get().(*sandbox)
	sb.sr, sb.globals = sr, sb.g
	sr.sb = sb
	return sb
}

// put returns the sandbox for reuse after a run that ended normally, or
// drops it.
func (sb *sandbox) put(clean bool) {
	L := sb.L
	L.RemoveContext()
	sb.sr.sb, sb.sr = nil, nil
	sb.g.RawSetString("KEYS", lua.LNil)
	sb.g.RawSetString("ARGV", lua.LNil)
	sb.globals = sb.g
	sb.resetLibs()
	for p := range sb.protected {
		if k, _ := p.Next(lua.LNil); k != lua.LNil {
			clean = false
		}
	}
	if !clean || L.GetTop() > 16 {
		L.Close()
		return
	}
	L.SetTop(0)
	sandboxes.Put(sb)
}

// newSandbox builds a Lua state with the scripts' environment: the
// libraries and redis in a globals table g, behind a read-only proxy env
// that refuses unknown names (Redis 7.0's
// scriptingEnableGlobalsProtection). Its functions act for sb.sr, the
// run using it.
func newSandbox() *sandbox {
	L := newLuaState()
	sb := &sandbox{L: L, protected: map[*lua.LTable]bool{}}
	sb.errorHandler = L.NewFunction(func(L *lua.LState) int { return sb.sr.errorHandler(L) })
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	g := L.G.Global
	// Redis 7.0 has no getfenv, setfenv or newproxy either; gopher-lua's
	// getfenv would hand out the raw globals.
	for _, name := range []string{"print", "dofile", "loadfile", "require", "module", "_printregs", "collectgarbage", "gcinfo", "channel", "coroutine", "package", "_GOPHER_LUA_VERSION",
		"getfenv", "setfenv", "newproxy"} {
		g.RawSetString(name, lua.LNil)
	}
	// gopher-lua's loadstring and load compile source only (no
	// bytecode); what they compile runs in the script's globals (they
	// would give it the raw ones).
	for _, name := range []string{"loadstring", "load"} {
		orig := g.RawGetString(name).(*lua.LFunction)
		g.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			n := L.GetTop()
			k := callThrough(L, orig)
			if fn, ok := L.Get(n + 1).(*lua.LFunction); ok {
				fn.Env = sb.env
			}
			return k
		}))
	}
	// rawset cannot write a read-only table (Redis's tables are
	// read-only in C, for rawset too).
	rawset := g.RawGetString("rawset").(*lua.LFunction)
	g.RawSetString("rawset", L.NewFunction(func(L *lua.LState) int {
		if t, ok := L.Get(1).(*lua.LTable); ok && sb.protected[t] {
			raiseRedis(L, "Attempt to modify a readonly table")
		}
		return callThrough(L, rawset)
	}))
	g.RawSetString("error", L.NewFunction(luaError))
	g.RawSetString("pcall", L.NewFunction(luaPcall))
	g.RawSetString("tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(sb.sr.str(L, L.CheckAny(1)))
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
	// string.format refuses a table, function or other non-string
	// argument for a directive, as Lua 5.1's str_format does
	// (luaL_checklstring, luaL_checknumber): gopher-lua would format it
	// with its Go address, which differs from node to node.
	format := str.RawGetString("format").(*lua.LFunction)
	str.RawSetString("format", L.NewFunction(func(L *lua.LState) int {
		f := L.CheckString(1)
		arg := 1
		for i := 0; i < len(f); i++ {
			if f[i] != '%' {
				continue
			}
			if i++; i < len(f) && f[i] == '%' {
				continue
			}
			for i < len(f) && strings.IndexByte("-+ #0123456789.", f[i]) >= 0 {
				i++
			}
			if i >= len(f) {
				break
			}
			if arg++; arg > L.GetTop() {
				lualib.ArgError(L, arg, "no value")
			}
			switch L.Get(arg).(type) {
			case lua.LString, lua.LNumber:
			default:
				if f[i] == 's' || f[i] == 'q' {
					lualib.TypeError(L, arg, "string")
				}
				lualib.TypeError(L, arg, "number")
			}
		}
		return callThrough(L, format)
	}))
	// unpack and string.byte refuse more results than Lua 5.1's stack
	// takes (LUAI_MAXCSTACK, 8000 slots), with its errors; gopher-lua's
	// would overflow its registry, which fails the whole entry.
	unpack := g.RawGetString("unpack").(*lua.LFunction)
	g.RawSetString("unpack", L.NewFunction(func(L *lua.LState) int {
		t := L.CheckTable(1)
		i, j := L.OptInt64(2, 1), L.OptInt64(3, int64(t.Len()))
		if i <= j && j-i >= luaMaxCStack-int64(L.GetTop()) {
			lualib.Raise(L, "too many results to unpack")
		}
		return callThrough(L, unpack)
	}))
	strByte := str.RawGetString("byte").(*lua.LFunction)
	str.RawSetString("byte", L.NewFunction(func(L *lua.LState) int {
		s := L.CheckString(1)
		i, j := L.OptInt64(2, 1), int64(0)
		j = L.OptInt64(3, i)
		n := int64(len(s))
		if i < 0 {
			i += n + 1
		}
		if j < 0 {
			j += n + 1
		}
		i, j = max(i, 1), min(j, n)
		if i <= j && j-i >= luaMaxCStack-int64(L.GetTop()) {
			lualib.Raise(L, "stack overflow (string slice too long)")
		}
		return callThrough(L, strByte)
	}))
	math := g.RawGetString("math").(*lua.LTable)
	math.RawSetString("huge", lua.LNumber(stdmath.Inf(1))) // gopher-lua's is the largest finite number
	math.RawSetString("random", L.NewFunction(func(L *lua.LState) int { return sb.sr.mathRandom(L) }))
	math.RawSetString("randomseed", L.NewFunction(func(L *lua.LState) int { return sb.sr.mathRandomseed(L) }))
	libs, resetLibs := lualib.OpenResettable(L)
	sb.resetLibs = resetLibs

	redis := L.NewTable()
	redis.RawSetString("call", L.NewFunction(func(L *lua.LState) int { return sb.sr.call(L, true) }))
	redis.RawSetString("pcall", L.NewFunction(func(L *lua.LState) int { return sb.sr.call(L, false) }))
	redis.RawSetString("error_reply", L.NewFunction(func(L *lua.LState) int {
		// luaPushErrorBuff: "-CODE msg" keeps its code, anything else
		// gets ERR ("nospace" and "-nospace" become "ERR nospace").
		s := L.CheckString(1)
		s = strings.TrimPrefix(s, "-")
		if !strings.Contains(s, " ") {
			s = "ERR " + s
		}
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
		sb.sr.resp = v
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
	redis.RawSetString("REDIS_VERSION", lua.LString(RedisVersion))
	redis.RawSetString("REDIS_VERSION_NUM", lua.LNumber(redisVersionNum))
	sb.redis = redis
	for name, v := range map[string]int{"LOG_DEBUG": 0, "LOG_VERBOSE": 1, "LOG_NOTICE": 2, "LOG_WARNING": 3,
		"REPL_NONE": 0, "REPL_AOF": 1, "REPL_SLAVE": 2, "REPL_REPLICA": 2, "REPL_ALL": 3} {
		redis.RawSetString(name, lua.LNumber(v))
	}
	g.RawSetString("redis", redis)

	// Library tables read-only: each behind a proxy.
	for _, name := range append([]string{"string", "table", "math", "redis"}, libs...) {
		g.RawSetString(name, sb.readonly(g.RawGetString(name).(*lua.LTable)))
	}
	// Strings' methods come from the read-only string library too, and
	// getmetatable("") gives a read-only view of their metatable: the
	// raw library stays out of reach.
	if mt, ok := L.GetMetatable(lua.LString("")).(*lua.LTable); ok {
		mt.RawSetString("__index", g.RawGetString("string"))
		mt.RawSetString("__metatable", sb.readonly(mt))
	}
	g.RawSetString("_G", lua.LNil)
	sb.g, sb.globals = g, g
	sb.env = globalsProxy(L, &sb.globals)
	sb.protected[sb.env] = true
	g.RawSetString("_G", sb.env)
	return sb
}

// luaMaxCStack is Lua 5.1's LUAI_MAXCSTACK: the most values a call may
// push.
const luaMaxCStack = 8000

// callThrough calls fn with the arguments of the running Go function and
// returns all its results.
func callThrough(L *lua.LState, fn *lua.LFunction) int {
	n := L.GetTop()
	L.Push(fn)
	for i := 1; i <= n; i++ {
		L.Push(L.Get(i))
	}
	L.Call(n, lua.MultRet)
	return L.GetTop() - n
}

// readonly is readonlyProxy(t), listed as protected.
func (sb *sandbox) readonly(t *lua.LTable) *lua.LTable {
	p := readonlyProxy(sb.L, t, false)
	sb.protected[p] = true
	return p
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
// refuses writes.
func readonlyProxy(L *lua.LState, t *lua.LTable, _ bool) *lua.LTable {
	return proxy(L, func(L *lua.LState) int {
		L.Push(t.RawGet(L.Get(2)))
		return 1
	}, t)
}

// globalsProxy is the script's globals: an empty table that reads through
// to *g (which the caller may change between reads), refuses writes, and
// fails on a name *g lacks.
func globalsProxy(L *lua.LState, g **lua.LTable) *lua.LTable {
	return proxy(L, func(L *lua.LState) int {
		k := L.Get(2)
		v := (*g).RawGet(k)
		if v == lua.LNil {
			L.RaiseError("Script attempted to access nonexistent global variable '%s'", luaToString(k))
		}
		L.Push(v)
		return 1
	}, nil)
}

func proxy(L *lua.LState, index lua.LGFunction, t *lua.LTable) *lua.LTable {
	p := L.NewTable()
	mt := L.NewTable()
	if t != nil {
		mt.RawSetString("__index", t)
	} else {
		mt.RawSetString("__index", L.NewFunction(index))
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
	const max = stdmath.MaxInt32
	r := float64(sr.lrand48()%max) / max
	switch L.GetTop() {
	case 0:
		L.Push(lua.LNumber(r))
	case 1:
		u := int64(L.CheckNumber(1))
		if u < 1 {
			L.ArgError(1, "interval is empty")
		}
		L.Push(lua.LNumber(stdmath.Floor(r*float64(u)) + 1))
	case 2:
		l, u := int64(L.CheckNumber(1)), int64(L.CheckNumber(2))
		if l > u {
			L.ArgError(2, "interval is empty")
		}
		L.Push(lua.LNumber(stdmath.Floor(r*float64(u-l+1)) + float64(l)))
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
