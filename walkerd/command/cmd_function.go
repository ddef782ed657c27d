package command

import (
	"bytes"
	"fmt"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// Function commands (function.go has the libraries). FUNCTION LOAD,
// DELETE, FLUSH and RESTORE are writes (Redis flags them so) and go
// through the log; FCALL is a data command the server proposes, or runs
// as a read when its function is flagged no-writes (FunctionReadOnly);
// FCALL_RO is a read. LIST, DUMP and STATS read this node's copy of the
// replicated libraries (FunctionList, FunctionDump, FunctionCounts);
// KILL and HELP are the server's.
func init() {
	const fcallFlags = FlagNoScript | FlagStale | FlagSkipMonitor | FlagNoMandatoryKeys | FlagMovableKeys | FlagByPosition
	fcall := func(name string, flags Flags, ro bool) *Spec {
		ks := KeySpec{Flags: []string{"RW", "access", "update"}, Index: 2, KeyNum: true, FirstKey: 1, KeyStep: 1,
			Notes: "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE"}
		if ro {
			ks.Flags = []string{"RO", "access"}
			ks.Notes = "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS"
		}
		return &Spec{Name: name, Arity: -3, Flags: flags, Cats: CatScripting | CatSlow, Group: "scripting", Since: "7.0.0",
			KeySpecs: []KeySpec{ks},
			parse:    func(args [][]byte, _ int64) (any, error) { return ro, nil },
			run:      runFcall}
	}
	sub := func(name string, arity int, flags Flags, cats Category, run func(*ctx, [][]byte, any), tips ...string) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Cats: CatScripting | CatSlow | cats, Group: "scripting", Since: "7.0.0",
			run: run, Tips: tips}
	}
	all := []string{"request_policy:all_shards", "response_policy:all_succeeded"}
	register(
		fcall("fcall", fcallFlags|FlagMayReplicate, false),
		fcall("fcall_ro", fcallFlags|FlagReadonly, true),
		&Spec{Name: "function", Arity: -2, Cats: CatSlow, Group: "scripting", Since: "7.0.0", Subs: []*Spec{
			sub("load", -3, FlagWrite|FlagDenyOOM|FlagNoScript, CatWrite, runFunctionLoad, all...),
			sub("delete", 3, FlagWrite|FlagNoScript, CatWrite, runFunctionDelete, all...),
			sub("flush", -2, FlagWrite|FlagNoScript, CatWrite, runFunctionFlush, all...),
			sub("restore", -3, FlagWrite|FlagDenyOOM|FlagNoScript, CatWrite, runFunctionRestore, all...),
			sub("list", -2, FlagNoScript, 0, nil, "nondeterministic_output_order"),
			sub("dump", 2, FlagNoScript, 0, nil),
			sub("stats", 2, FlagNoScript|FlagAllowBusy, 0, nil, "nondeterministic_output", "request_policy:all_shards", "response_policy:special"),
			sub("kill", 2, FlagNoScript|FlagAllowBusy, 0, nil, "request_policy:all_shards", "response_policy:one_succeeded"),
			sub("help", 2, FlagLoading|FlagStale, 0, nil),
		}},
	)
	for _, name := range []string{"fcall", "fcall_ro"} {
		movableKeys[name] = numkeysAt(2)
	}
}

// FunctionHelp is FUNCTION HELP's text, as Redis 7.0.15 answers it.
var FunctionHelp = []string{
	"FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"LOAD [REPLACE] <FUNCTION CODE>",
	"    Create a new library with the given library name and code.",
	"DELETE <LIBRARY NAME>",
	"    Delete the given library.",
	"LIST [LIBRARYNAME PATTERN] [WITHCODE]",
	"    Return general information on all the libraries:",
	"    * Library name",
	"    * The engine used to run the Library",
	"    * Library description",
	"    * Functions list",
	"    * Library code (if WITHCODE is given)",
	"    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
	"STATS",
	"    Return information about the current function running:",
	"    * Function name",
	"    * Command used to run the function",
	"    * Duration in MS that the function is running",
	"    If no function is running, return nil",
	"    In addition, returns a list of available engines.",
	"KILL",
	"    Kill the current running function.",
	"FLUSH [ASYNC|SYNC]",
	"    Delete all the libraries.",
	"    When called without the optional mode argument, the behavior is determined by the",
	"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
	"    * ASYNC: Asynchronously flush the libraries.",
	"    * SYNC: Synchronously flush the libraries.",
	"DUMP",
	"    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
	"RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
	"    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
	"    control how to handle existing libraries (default APPEND):",
	"    * FLUSH: delete all existing libraries.",
	"    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
	"    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
	"      libraries with the new libraries (notice that even on this option there is a chance of failure",
	"      in case of functions name collision with another library).",
	"HELP",
	"    Prints this help.",
}

// FCALL function numkeys key... arg...: fcallCommandGeneric's checks, in
// its order (the function first, then numkeys).
func runFcall(c *ctx, args [][]byte, p any) {
	ro := p.(bool)
	l, f, msg := c.libraryOf(args[1])
	if msg != "" {
		c.r.Error(msg)
		return
	}
	n, ok := ParseInt(args[2])
	switch {
	case !ok:
		c.r.Error("ERR Bad number of keys provided")
		return
	case n > int64(len(args)-3):
		c.r.Error(string(errScriptNumkeys))
		return
	case n < 0:
		c.r.Error(string(errScriptNumkeysNeg))
		return
	}
	if ro && f.flags&flagNoWrites == 0 {
		c.r.Error(errFuncROWrite)
		return
	}
	c.runFunction(l, f, args, args[3:3+n], args[3+n:], ro || f.flags&flagNoWrites != 0)
}

// FunctionReadOnly reports whether FCALL of the function called name runs
// as a read: it is flagged no-writes in this node's copy of the
// libraries.
func FunctionReadOnly(db *engine.DB, now int64, name []byte) bool {
	ro := false
	_ = localRead(db, now, nil, func(c *ctx) {
		if _, f, msg := c.libraryOf(name); msg == "" {
			ro = f.flags&flagNoWrites != 0
		}
	})
	return ro
}

// FUNCTION LOAD [REPLACE] code.
func runFunctionLoad(c *ctx, args [][]byte, _ any) {
	replace := false
	i := 2
	for ; i < len(args)-1; i++ {
		if !isName(args[i], "replace") {
			c.r.Error("ERR Unknown option given: " + string(args[i]))
			return
		}
		replace = true
	}
	// A library of that name is refused before its code runs, as
	// functionsCreateWithLibraryCtx does.
	name, _, msg := libraryMeta(args[i])
	if _, _, exists := c.getRaw(libraryKey([]byte(name))); msg == "" && exists && !replace {
		msg = fmt.Sprintf("ERR Library '%s' already exists", name)
	}
	var l *library
	if msg == "" {
		l, msg = loadLibrary(args[i])
	}
	if msg == "" {
		msg = c.linkLibrary(l, replace, true)
	}
	if msg != "" {
		c.r.Error(msg)
		return
	}
	c.r.BulkString(l.name)
}

// FUNCTION DELETE library.
func runFunctionDelete(c *ctx, args [][]byte, _ any) {
	if _, _, ok := c.getRaw(libraryKey(args[2])); !ok {
		c.r.Error(errLibNotFound)
		return
	}
	c.unlinkLibrary(string(args[2]))
	c.r.Status("OK")
}

// FUNCTION FLUSH [ASYNC|SYNC] (the same: one entry deletes them all).
func runFunctionFlush(c *ctx, args [][]byte, _ any) {
	switch {
	case len(args) > 3:
		c.r.Error(string(errSubSyntax(args)))
		return
	case len(args) == 3 && !isName(args[2], "sync") && !isName(args[2], "async"):
		c.r.Error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
		return
	}
	c.flushLibraries()
	c.r.Status("OK")
}

// FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]: all the payload's
// libraries, or none.
func runFunctionRestore(c *ctx, args [][]byte, _ any) {
	if len(args) > 4 {
		c.r.Error(string(errSubSyntax(args)))
		return
	}
	policy := "append"
	if len(args) == 4 {
		switch {
		case isName(args[3], "append"), isName(args[3], "replace"), isName(args[3], "flush"):
			policy = string(bytes.ToLower(args[3]))
		default:
			c.r.Error(errRestorePolicy)
			return
		}
	}
	codes, msg := parseFunctionDump(args[2])
	if msg != "" {
		c.r.Error(msg)
		return
	}
	var ls []*library
	seen := map[string]bool{}
	for _, code := range codes {
		l, msg := loadLibrary(code)
		if msg == "" && seen[l.name] {
			msg = "ERR Library '" + l.name + "' already exists"
		}
		if msg != "" {
			c.r.Error(msg)
			return
		}
		seen[l.name] = true
		ls = append(ls, l)
	}
	m := c.tx.mark()
	if policy == "flush" {
		c.flushLibraries()
	}
	if policy == "append" {
		// libraryJoin refuses an existing library before it links any.
		for _, l := range ls {
			if _, _, ok := c.getRaw(libraryKey([]byte(l.name))); ok {
				c.tx.rollbackTo(m)
				c.r.Error("ERR Library " + l.name + " already exists")
				return
			}
		}
	}
	for _, l := range ls {
		if msg := c.linkLibrary(l, policy == "replace", false); msg != "" {
			c.tx.rollbackTo(m)
			c.r.Error(msg)
			return
		}
	}
	c.r.Status("OK")
}

// FunctionList runs FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE] on
// this node's libraries, writing its reply to w: an array with a map for
// each library (library_name, engine, functions: maps of name,
// description and flags (a set), library_code with WITHCODE), the
// libraries by name, their functions in the order they registered.
// The pattern matches without regard to case, as Redis's does.
func FunctionList(db *engine.DB, now int64, args [][]byte, w Writer) error {
	withCode := false
	var pattern []byte
	for i := 2; i < len(args); i++ {
		switch {
		case !withCode && isName(args[i], "withcode"):
			withCode = true
		case pattern == nil && isName(args[i], "libraryname"):
			if i >= len(args)-1 {
				w.Error("ERR library name argument was not given")
				return nil
			}
			i++
			pattern = bytes.ToLower(args[i])
		default:
			w.Error("ERR Unknown argument " + string(args[i]))
			return nil
		}
	}
	return localRead(db, now, w, func(c *ctx) {
		var ls []*library
		for _, l := range c.libraries() {
			if pattern == nil || Match(pattern, bytes.ToLower([]byte(l.name))) {
				ls = append(ls, l)
			}
		}
		w.Array(len(ls))
		for _, l := range ls {
			w.Map(3 + int(b2i(withCode)))
			w.BulkString("library_name")
			w.BulkString(l.name)
			w.BulkString("engine")
			w.BulkString("LUA")
			w.BulkString("functions")
			w.Array(len(l.funcs))
			for _, f := range l.funcs {
				w.Map(3)
				w.BulkString("name")
				w.BulkString(f.name)
				w.BulkString("description")
				if f.hasDesc {
					w.BulkString(f.desc)
				} else {
					w.Null()
				}
				w.BulkString("flags")
				n := 0
				for _, fl := range scriptFlagNames {
					n += int(b2i(f.flags&fl.f != 0))
				}
				w.Set(n)
				for _, fl := range scriptFlagNames {
					if f.flags&fl.f != 0 {
						w.Status(fl.name)
					}
				}
			}
			if withCode {
				w.BulkString("library_code")
				w.Bulk(l.code)
			}
		}
	})
}

// FunctionDump writes FUNCTION DUMP's payload of this node's libraries
// to w (function.go's dumpFunctions).
func FunctionDump(db *engine.DB, now int64, w Writer) error {
	return localRead(db, now, w, func(c *ctx) { w.Bulk(dumpFunctions(c.libraries())) })
}

// FunctionCounts returns how many libraries and functions this node
// holds, for FUNCTION STATS. ok is false when the engine cannot be read
// at once (a long read script holds it and a write waits: engine.TryView).
func FunctionCounts(db *engine.DB, now int64) (libraries, functions int, ok bool, err error) {
	try := func(now int64, fn func(*engine.View) error) error {
		var err error
		ok, err = db.TryView(now, fn)
		return err
	}
	err = readWith(db, try, now, nil, func(c *ctx) {
		for _, l := range c.libraries() {
			libraries++
			functions += len(l.funcs)
		}
	})
	return libraries, functions, ok, err
}

// localRead runs fn in a ctx reading this node's engine at time now
// (internal keys: libraries, the script cache), its replies going to w.
func localRead(db *engine.DB, now int64, w Writer, fn func(c *ctx)) error {
	return readWith(db, db.View, now, w, fn)
}

// readWith is localRead through view (engine.DB's View, or TryView).
func readWith(db *engine.DB, view func(int64, func(*engine.View) error) error, now int64, w Writer, fn func(c *ctx)) error {
	if w == nil {
		w = &Recorder{}
	}
	c := &ctx{db: db, now: now, r: w}
	err := view(now, func(v *engine.View) error {
		c.view = v
		fn(c)
		c.view = nil
		return nil
	})
	if err == nil {
		err = c.fatal
	}
	return err
}

// libraryKey is the internal key of a library.
func libraryKey(name []byte) []byte { return keyspace.LibraryKey(name) }
