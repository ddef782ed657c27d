package command

import (
	"bytes"
	"strings"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// Scripting commands (script.go has the VM). EVAL, EVALSHA and the SCRIPT
// subcommands that change the cache are data commands the server proposes
// as log entries (its handlers, since Redis does not flag them "write");
// EVAL_RO and EVALSHA_RO are reads.
func init() {
	const evalFlags = FlagNoScript | FlagStale | FlagSkipMonitor | FlagNoMandatoryKeys | FlagMovableKeys |
		FlagByPosition // the script's commands run in its View, which must answer by position too
	ev := func(name string, flags Flags, since string, ro, bySha bool) *Spec {
		ks := KeySpec{Flags: []string{"RW", "access", "update"}, Index: 2, KeyNum: true, FirstKey: 1, KeyStep: 1}
		if ro {
			ks.Flags = []string{"RO", "access"}
		}
		if !bySha {
			ks.Notes = "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE"
			if ro {
				ks.Notes = "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS"
			}
		}
		return &Spec{Name: name, Arity: -3, Flags: flags, Cats: CatScripting | CatSlow, Group: "scripting", Since: since,
			KeySpecs: []KeySpec{ks},
			parse:    func(args [][]byte, now int64) (any, error) { return parseEval(args, ro, bySha) },
			run:      runEval}
	}
	sub := func(name string, arity int, flags Flags, run func(*ctx, [][]byte, any), parse func([][]byte, int64) (any, error)) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Cats: CatScripting | CatSlow, Group: "scripting", Since: "2.6.0",
			run: run, parse: parse}
	}
	tips := func(s *Spec, t ...string) *Spec { s.Tips = t; return s }
	since := func(s *Spec, v string) *Spec { s.Since = v; return s }
	register(
		ev("eval", evalFlags|FlagMayReplicate, "2.6.0", false, false),
		ev("evalsha", evalFlags|FlagMayReplicate, "2.6.0", false, true),
		ev("eval_ro", evalFlags|FlagReadonly, "7.0.0", true, false),
		ev("evalsha_ro", evalFlags|FlagReadonly, "7.0.0", true, true),
		&Spec{Name: "script", Arity: -2, Cats: CatSlow, Group: "scripting", Since: "2.6.0", Subs: []*Spec{
			tips(sub("load", 3, FlagNoScript|FlagStale, runScriptLoad, nil), "request_policy:all_nodes", "response_policy:all_succeeded"),
			tips(sub("exists", -3, FlagNoScript, runScriptExists, nil), "request_policy:all_shards", "response_policy:agg_logical_and"),
			tips(sub("flush", -2, FlagNoScript, runScriptFlush, parseScriptFlush), "request_policy:all_nodes", "response_policy:all_succeeded"),
			tips(sub("kill", 2, FlagNoScript|FlagAllowBusy, nil, nil), "request_policy:all_shards", "response_policy:one_succeeded"),
			since(sub("help", 2, FlagLoading|FlagStale, nil, nil), "5.0.0"),
			since(sub("debug", 3, FlagNoScript, nil, nil), "3.2.0"),
		}},
	)
}

// ScriptHelp is SCRIPT HELP's text, as Redis 7.0.15 answers it.
var ScriptHelp = []string{
	"SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"DEBUG (YES|SYNC|NO)",
	"    Set the debug mode for subsequent scripts executed.",
	"EXISTS <sha1> [<sha1> ...]",
	"    Return information about the existence of the scripts in the script cache.",
	"FLUSH [ASYNC|SYNC]",
	"    Flush the Lua scripts cache. Very dangerous on replicas.",
	"    When called without the optional mode argument, the behavior is determined by the",
	"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
	"    * ASYNC: Asynchronously flush the scripts cache.",
	"    * SYNC: Synchronously flush the scripts cache.",
	"KILL",
	"    Kill the currently executing Lua script.",
	"LOAD <script>",
	"    Load a script into the scripts cache without executing it.",
	"HELP",
	"    Prints this help.",
}

type evalArgs struct {
	numkeys   int
	ro, bySha bool
}

// parseEval checks EVAL's numkeys as eval.c's evalGetKeys and
// evalGenericCommand do.
func parseEval(args [][]byte, ro, bySha bool) (any, error) {
	n, ok := ParseInt(args[2])
	switch {
	case !ok:
		return nil, ErrNotInteger
	case n > int64(len(args)-3):
		return nil, errScriptNumkeys
	case n < 0:
		return nil, errScriptNumkeysNeg
	}
	return evalArgs{numkeys: int(n), ro: ro, bySha: bySha}, nil
}

func runEval(c *ctx, args [][]byte, p any) {
	a := p.(evalArgs)
	var body []byte
	var sha string
	if a.bySha {
		if len(args[1]) != 40 {
			c.r.Error(string(errNoScript))
			return
		}
		sha = strings.ToLower(string(args[1]))
		v, _, ok := c.getRaw(scriptKey(sha))
		if !ok {
			c.r.Error(string(errNoScript))
			return
		}
		body = v
	} else {
		body = args[1]
		sha = scriptSHA(body)
	}
	cs, msg := compileScript(body)
	if msg != "" {
		c.r.Error(msg)
		return
	}
	// A script with a shebang declares whether it writes (Redis 7's
	// scriptPrepareForRun): without no-writes, EVAL_RO refuses it; with
	// it, it runs read-only.
	ro := a.ro
	if cs.shebang {
		if a.ro && cs.flags&flagNoWrites == 0 {
			c.r.Error(errFuncROWrite)
			return
		}
		ro = ro || cs.flags&flagNoWrites != 0
	}
	if !a.bySha && c.tx != nil {
		// EVAL caches its script, as Redis's does (EVALSHA then finds it).
		if _, _, ok := c.getRaw(scriptKey(sha)); !ok {
			c.putRaw(scriptKey(sha), bytes.Clone(body), 0)
		}
	}
	keys := args[3 : 3+a.numkeys]
	argv := args[3+a.numkeys:]
	c.runScript(cs.proto, sha, args, keys, argv, ro)
}

// EvalReadOnly reports whether EVAL or EVALSHA args run a script whose
// shebang flags it no-writes (in this node's script cache for EVALSHA):
// Redis makes such a command read-only (evalGetCommandFlags), and walkerd
// runs it as a read, without a log entry.
func EvalReadOnly(db *engine.DB, now int64, args [][]byte) bool {
	if len(args) < 2 {
		return false
	}
	body := args[1]
	if isName(args[0], "evalsha") {
		body = nil
		_ = localRead(db, now, nil, func(c *ctx) {
			if v, _, ok := c.getRaw(scriptKey(strings.ToLower(string(args[1])))); ok {
				body = bytes.Clone(v)
			}
		})
	}
	if !bytes.HasPrefix(body, []byte("#!")) {
		return false
	}
	cs, msg := compileScript(body)
	return msg == "" && cs.shebang && cs.flags&flagNoWrites != 0
}

// SCRIPT LOAD <body>: compiles the script and caches it; answers its SHA1.
func runScriptLoad(c *ctx, args [][]byte, _ any) {
	if _, msg := compileScript(args[2]); msg != "" {
		c.r.Error(msg)
		return
	}
	sha := scriptSHA(args[2])
	if c.tx != nil {
		if _, _, ok := c.getRaw(scriptKey(sha)); !ok {
			c.putRaw(scriptKey(sha), bytes.Clone(args[2]), 0)
		}
	}
	c.r.BulkString(sha)
}

// SCRIPT EXISTS sha...: 1 or 0 for each.
func runScriptExists(c *ctx, args [][]byte, _ any) {
	shas := args[2:]
	c.r.Array(len(shas))
	for _, s := range shas {
		if len(s) != 40 {
			c.r.Int(0)
			continue
		}
		_, _, ok := c.getRaw(scriptKey(strings.ToLower(string(s))))
		c.r.Int(b2i(ok))
	}
}

// ScriptExists runs SCRIPT EXISTS on this node's engine (outside the log:
// SCRIPT EXISTS is no write), at time now.
func ScriptExists(db *engine.DB, now int64, args [][]byte, w Writer) error {
	return localRead(db, now, w, func(c *ctx) { runScriptExists(c, args, nil) })
}

func parseScriptFlush(args [][]byte, _ int64) (any, error) {
	switch {
	case len(args) == 2:
	case len(args) == 3 && (isName(args[2], "sync") || isName(args[2], "async")):
	default:
		return nil, Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
	}
	return nil, nil
}

// SCRIPT FLUSH [ASYNC|SYNC]: empties the script cache (ASYNC and SYNC
// alike: the deletes are one entry).
func runScriptFlush(c *ctx, args [][]byte, _ any) {
	c.delPrefix(keyspace.ScriptPrefix)
	c.r.Status("OK")
}

// EVAL's keys are the numkeys arguments after numkeys (eval.c's
// evalGetKeys), for COMMAND GETKEYS and MULTI's key rules.
func init() {
	for _, name := range []string{"eval", "evalsha", "eval_ro", "evalsha_ro"} {
		movableKeys[name] = numkeysAt(2)
	}
}
