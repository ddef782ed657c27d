package command

import (
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
)

// withBudget runs f with ScriptBudget set to n.
func withBudget(t *testing.T, n int64) {
	t.Helper()
	old := ScriptBudget
	ScriptBudget = n
	t.Cleanup(func() { ScriptBudget = old })
}

// A script's instruction budget stops it at the same instruction on every
// node: the smallest budget that lets a script finish is the same on two
// engines, and one instruction less stops it on both.
func TestScript_BudgetStopsAtTheSameInstruction(t *testing.T) {
	const script = "local n = 0 for i = 1, 200 do n = n + i end redis.call('set', 'sum', n) return n"
	run := func(a *applier, budget int64) string {
		ScriptBudget = budget
		return a.do("EVAL", script, "0")
	}
	withBudget(t, 1)
	a, b := newApplier(t), newApplier(t)
	lo, hi := int64(1), int64(1_000_000)
	if got := run(a, hi); got != ":20100\r\n" {
		t.Fatalf("with a large budget: %q", got)
	}
	for lo < hi { // the smallest budget that finishes
		mid := (lo + hi) / 2
		if strings.HasPrefix(run(a, mid), ":") {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo < 200 {
		t.Fatalf("the script finished within %d instructions: the budget counts nothing", lo)
	}
	t.Logf("the script takes %d instructions", lo)
	for i := 0; i < 3; i++ {
		for _, ap := range []*applier{a, b} {
			if got := run(ap, lo); got != ":20100\r\n" {
				t.Fatalf("budget %d: %q, want the sum", lo, got)
			}
			got := run(ap, lo-1)
			if !strings.HasPrefix(got, "-ERR Script killed: it ran more than") {
				t.Fatalf("budget %d: %q, want the script stopped", lo-1, got)
			}
		}
	}
}

// A stopped script's writes are rolled back, the commands of its entry
// before and after it stand, and later entries apply as usual.
func TestScript_RunawayRollsBackItsWrites(t *testing.T) {
	withBudget(t, 100_000)
	a := newApplier(t)
	a.do("SET", "pre", "1")
	got := a.do("EVAL", "redis.call('set','a','1') redis.call('del','pre') redis.call('rpush','l','x') while true do end", "0")
	if !strings.HasPrefix(got, "-ERR Script killed") {
		t.Fatalf("runaway script: %q", got)
	}
	for _, k := range []string{"a", "l"} {
		if got := a.read("EXISTS", k); got != ":0\r\n" {
			t.Errorf("EXISTS %s after the rollback: %q", k, got)
		}
	}
	if got := a.read("GET", "pre"); got != "$1\r\n1\r\n" {
		t.Errorf("GET pre after the rollback: %q", got)
	}
	// A script that catches the error with pcall is stopped all the same.
	got = a.do("EVAL", "redis.call('set','b','1') while true do pcall(function() while true do end end) end", "0")
	if !strings.HasPrefix(got, "-ERR Script killed") {
		t.Fatalf("runaway script with pcall: %q", got)
	}
	if got := a.read("EXISTS", "b"); got != ":0\r\n" {
		t.Errorf("EXISTS b: %q", got)
	}
	// In a transaction only the script's own writes go.
	got = a.apply(&Entry{Exec: true, Cmds: [][][]byte{
		cmd("SET", "x", "1"),
		cmd("EVAL", "redis.call('set','y','1') redis.call('set','x','2') while true do end", "0"),
		cmd("INCR", "x"),
	}})
	if !strings.HasPrefix(got, "*3\r\n+OK\r\n-ERR Script killed") || !strings.HasSuffix(got, ":2\r\n") {
		t.Fatalf("EXEC with a runaway script: %q", got)
	}
	if got := a.read("EXISTS", "y"); got != ":0\r\n" {
		t.Errorf("EXISTS y: %q", got)
	}
	if got := a.do("SET", "after", "ok"); got != "+OK\r\n" {
		t.Errorf("a write after the runaway: %q", got)
	}
}

// A loop of writes is stopped by the calls it makes (scriptCallCost), not
// only by its instructions: at the default budget it stops after 100,000
// calls, well before its pending writes grow large, and they are rolled
// back. A pcall around the call does not keep it going.
func TestScript_WriteLoopStopsByItsCalls(t *testing.T) {
	a := newApplier(t)
	start := time.Now()
	got := a.do("EVAL", "while true do redis.call('incr','n') end", "0")
	if !strings.HasPrefix(got, "-ERR Script killed") {
		t.Fatalf("write loop: %q", got)
	}
	t.Logf("a loop of INCRs stopped after %v", time.Since(start))
	if got := a.read("EXISTS", "n"); got != ":0\r\n" {
		t.Errorf("EXISTS n after the rollback: %q", got)
	}
	got = a.do("EVAL", "local i = 0 while true do i = i + 1 redis.pcall('incr','m') end", "0")
	if !strings.HasPrefix(got, "-ERR Script killed") {
		t.Fatalf("pcall write loop: %q", got)
	}
	// 99,999 calls fit: a script may still do a lot of work.
	got = a.do("EVAL", "for i = 1, 99000 do redis.call('incr','k') end return redis.call('get','k')", "0")
	if got != "$5\r\n99000\r\n" {
		t.Fatalf("99,000 INCRs: %q", got)
	}
}

// EVAL and SCRIPT LOAD cache the script in replicated state that EVALSHA
// finds from a new Applier (as after a restart or on another node that
// applied the same log); SCRIPT FLUSH empties it; FLUSHALL does not.
func TestScript_CacheIsReplicatedState(t *testing.T) {
	a := newApplier(t)
	sha := scriptSHA([]byte("return ARGV[1]"))
	if got := a.do("EVALSHA", sha, "0", "x"); got != "-NOSCRIPT No matching script. Please use EVAL.\r\n" {
		t.Fatalf("EVALSHA before EVAL: %q", got)
	}
	if got := a.do("EVAL", "return ARGV[1]", "0", "x"); got != "$1\r\nx\r\n" {
		t.Fatalf("EVAL: %q", got)
	}
	if got := a.do("SCRIPT", "LOAD", "return 2"); got != "$40\r\n"+scriptSHA([]byte("return 2"))+"\r\n" {
		t.Fatalf("SCRIPT LOAD: %q", got)
	}
	a.do("FLUSHALL")
	b := &applier{t: t, db: a.db, index: a.index, now: a.now}
	if got := b.do("EVALSHA", strings.ToUpper(sha), "0", "y"); got != "$1\r\ny\r\n" {
		t.Fatalf("EVALSHA after FLUSHALL, new applier: %q", got)
	}
	e := &resp.Encoder{Proto: 2}
	if err := ScriptExists(b.db, b.now, cmd("SCRIPT", "EXISTS", sha, scriptSHA([]byte("return 2")), "nope"), e); err != nil {
		t.Fatal(err)
	}
	if got := string(e.B); got != "*3\r\n:1\r\n:1\r\n:0\r\n" {
		t.Fatalf("SCRIPT EXISTS: %q", got)
	}
	if got := b.do("SCRIPT", "FLUSH"); got != "+OK\r\n" {
		t.Fatalf("SCRIPT FLUSH: %q", got)
	}
	if got := b.do("EVALSHA", sha, "0", "y"); !strings.HasPrefix(got, "-NOSCRIPT") {
		t.Fatalf("EVALSHA after SCRIPT FLUSH: %q", got)
	}
	if got := b.read("DBSIZE"); strings.HasPrefix(got, ":") && got != ":0\r\n" {
		t.Fatalf("DBSIZE counts scripts: %q", got)
	}
}

// Scripts draw the same "random" numbers everywhere: math.random restarts
// from seed 0 in every script, and random commands use the entry's seed.
func TestScript_Deterministic(t *testing.T) {
	a, b := newApplier(t), newApplier(t)
	for _, ap := range []*applier{a, b} {
		ap.do("SADD", "s", "a", "b", "c", "d", "e", "f")
	}
	const script = "return {math.random(1000000), math.random(1000000), redis.call('srandmember', 's'), redis.call('spop', 's'), redis.call('time')[1]}"
	ra, rb := a.do("EVAL", script, "0"), b.do("EVAL", script, "0")
	if ra != rb {
		t.Fatalf("two nodes differ:\n%q\n%q", ra, rb)
	}
	const draw = "return {math.random(1000000), math.random(1000000)}"
	if first, second := a.do("EVAL", draw, "0"), a.do("EVAL", draw, "0"); first != second {
		t.Fatalf("math.random is not reseeded for each script: %q then %q", first, second)
	}
	// Redis's lrand48 with randomseed(42), as redis-server 7.0.15 draws.
	if got := a.do("EVAL", "math.randomseed(42) return {math.random(1000), math.random(1000), math.random(5, 10)}", "0"); got != "*3\r\n:745\r\n:343\r\n:5\r\n" {
		t.Fatalf("math.random after randomseed(42): %q", got)
	}
}

// A write inside a read-only script is refused; the read path runs
// scripts without a transaction.
func TestScript_ReadOnly(t *testing.T) {
	a := newApplier(t)
	a.do("SET", "k", "v")
	if got := a.read("EVAL_RO", "return redis.call('get', KEYS[1])", "1", "k"); got != "$1\r\nv\r\n" {
		t.Fatalf("EVAL_RO read: %q", got)
	}
	got := a.read("EVAL_RO", "return redis.call('set', KEYS[1], 'x')", "1", "k")
	if !strings.HasPrefix(got, "-ERR Write commands are not allowed from read-only scripts. script: ") {
		t.Fatalf("EVAL_RO write: %q", got)
	}
	// Nor may-replicate commands, as scriptVerifyWriteCommandAllow: a
	// read-only script's PFCOUNT (which may write the key's cache in
	// Redis) and PUBLISH are refused by redis-server 7.0.15 too.
	for _, call := range []string{"redis.call('pfcount', KEYS[1])", "redis.call('publish', 'ch', 'm')"} {
		if got := a.read("EVAL_RO", "return "+call, "1", "k"); !strings.HasPrefix(got, "-ERR Write commands are not allowed from read-only scripts. script: ") {
			t.Fatalf("EVAL_RO %s: %q", call, got)
		}
	}
	// EVAL runs as a read when the server finds its script flagged
	// no-writes: outside the log, any script refuses writes.
	if got := a.read("EVAL", "return redis.call('set', KEYS[1], 'x')", "1", "k"); !strings.HasPrefix(got, "-ERR Write commands are not allowed from read-only scripts. script: ") {
		t.Fatalf("EVAL as a read: %q", got)
	}
}

// A command of a script that refuses its write (an element too long for
// the engine) takes back only its own writes and answers its error; the
// script goes on.
func TestScript_RefusedCommandInsideAScript(t *testing.T) {
	a := newApplier(t)
	got := a.do("EVAL", "redis.call('set','before','1') local r = redis.pcall('sadd','s', string.rep('x', 70000)) redis.call('set','after','1') return r", "0")
	if got != "-"+string(ErrElementTooLong)+"\r\n" {
		t.Fatalf("EVAL = %q", got)
	}
	for k, want := range map[string]string{"before": ":1\r\n", "after": ":1\r\n", "s": ":0\r\n"} {
		if got := a.read("EXISTS", k); got != want {
			t.Errorf("EXISTS %s = %q, want %q", k, got, want)
		}
	}
}

// PFCOUNT may replicate (it caches its count in the key), so EVAL_RO (a
// read) refuses it, as redis-server 7.0.15 does; it answered 3 here
// before. In EVAL it counts.
func TestScript_PfcountInsideAReadOnlyScript(t *testing.T) {
	a := newApplier(t)
	a.do("PFADD", "h", "a", "b", "c")
	e := &resp.Encoder{Proto: 2}
	if err := Read(a.db, 0, a.now, nil, cmd("EVAL_RO", "return redis.call('pfcount', KEYS[1])", "1", "h"), e); err != nil {
		t.Fatalf("Read: %v (reply so far %q)", err, e.B)
	}
	if !strings.HasPrefix(string(e.B), "-ERR Write commands are not allowed from read-only scripts. script: ") {
		t.Fatalf("EVAL_RO PFCOUNT = %q", e.B)
	}
	if got := a.do("EVAL", "return redis.call('pfcount', KEYS[1])", "1", "h"); got != ":3\r\n" {
		t.Fatalf("EVAL PFCOUNT = %q", got)
	}
}

// Tables and functions turned into strings are named the same on every
// node (not by their Go address), in the order the script names them.
func TestScript_TostringIsDeterministic(t *testing.T) {
	a := newApplier(t)
	got := a.do("EVAL", "local a, b = {}, function() end redis.call('set', 'k', tostring(b)..' '..tostring(a)..' '..tostring(b)) return redis.call('get', 'k')", "0")
	if want := "$59\r\nfunction: 0x00000001 table: 0x00000002 function: 0x00000001\r\n"; got != want {
		t.Fatalf("EVAL = %q, want %q", got, want)
	}
}

// A sandbox serves many runs (sandboxes): nothing a script does reaches
// the next script, so a script answers the same whatever ran before it
// in its sandbox, as on a node whose sandbox is new.
func TestScript_ReusedSandboxIsAsNew(t *testing.T) {
	a := newApplier(t)
	const probe = "return {math.random(1000000), cjson.encode({{{1}}}), true, type(rawget(_G, 'x')), type(string.x), tostring({})}"
	want := a.do("EVAL", probe, "0")
	if !strings.HasPrefix(want, "*6\r\n:") || !strings.Contains(want, "[[[1]]]") {
		t.Fatalf("probe: %q", want)
	}
	for _, polluter := range []string{
		"math.randomseed(42) math.random() return 1",
		"cjson.encode_max_depth(1) return 1",
		"redis.setresp(3) return 1",
		"pcall(rawset, _G, 'x', 1) pcall(rawset, string, 'x', 1) return 1",
		"pcall(function() getmetatable('').__index.x = 1 end) return 1",
		"local t = {} tostring(t) tostring({}) return 1",
		"x = 1 return 1",            // refused: a global write
		"error('stop here')",        // a failed run
		"return redis.call('nope')", // a failed call
	} {
		for i := 0; i < 3; i++ {
			a.do("EVAL", polluter, "0")
			if got := a.do("EVAL", probe, "0"); got != want {
				t.Fatalf("after %q: %q, want %q", polluter, got, want)
			}
		}
	}
	// A function sees no KEYS or ARGV an EVAL left behind.
	a.do("FUNCTION", "LOAD", "#!lua name=k\nredis.register_function('k', function() return type(rawget(_G, 'KEYS')) end)")
	a.do("EVAL", "return 1", "1", "key")
	if got := a.do("FCALL", "k", "0"); got != "$3\r\nnil\r\n" {
		t.Fatalf("FCALL after EVAL: %q", got)
	}
}
