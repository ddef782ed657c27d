package server

import (
	"strings"

	"github.com/walkerdb/walkerdb/walkerd/command"
)

// Generators of the scripting commands (group "script"): any generated
// command of the other groups, run inside EVAL through redis.pcall or
// redis.call, so that every reply type goes through the conversions both
// ways (reply to Lua, Lua to reply) and every error through the script
// error paths; and EVAL_RO of the read commands.

var fzScriptBodies = []string{
	"return redis.pcall(unpack(ARGV))",
	"return redis.call(unpack(ARGV))",
	"local r = redis.pcall(unpack(ARGV)) if type(r) == 'table' and r.err then return {'E', r.err} end return {'R', r}",
	"local ok, r = pcall(redis.call, unpack(ARGV)) return {tostring(ok), type(r)}",
}

// fzLibrary is the function library the "function" group calls.
const fzLibrary = "#!lua name=fz\n" +
	"redis.register_function('fzcall', function(keys, args) return redis.pcall(unpack(args)) end)\n" +
	"redis.register_function{function_name='fzread', callback=function(keys, args) return redis.pcall(unpack(args)) end, flags={'no-writes'}}"

func init() {
	inner := func(g *fgen) (fcmd, bool) {
		specs := fuzzAllSpecs
		for tries := 0; tries < 10; tries++ {
			s := specs[g.r.IntN(len(specs))]
			// OBJECT's known string-encoding mismatches are matched by
			// their own name: leave them out here.
			if s.group == "script" || s.group == "function" || !fzRegistered(s.name) || strings.HasPrefix(s.name, "object|") {
				continue
			}
			// Commands the server runs itself (SCAN, INFO, CONFIG, ...)
			// cannot run inside a script in walkerd (command/script.go).
			if k := command.LookupName(s.name); k == nil || (len(k.Subs) == 0 && !k.IsData()) {
				continue
			}
			c := s.gen(g)
			if c.other || len(c.args) == 0 || c.mode.kind == cmpExec {
				continue
			}
			return c, true
		}
		return fcmd{}, false
	}
	fuzzMoreSpecs = append(fuzzMoreSpecs,
		fspec{"eval", "script", 8, func(g *fgen) fcmd {
			c, ok := inner(g)
			if !ok {
				return fzcs(cmpExact, []string{"EVAL", "return 1", "0"})
			}
			body := fzScriptBodies[g.r.IntN(len(fzScriptBodies))]
			args := append([]string{"EVAL", body, "0"}, c.args...)
			if body != fzScriptBodies[0] && body != fzScriptBodies[1] {
				c.mode = cmpMode{kind: cmpShape}
			}
			return fcmd{args: args, mode: c.mode}
		}},
		fspec{"eval_ro", "script", 2, func(g *fgen) fcmd {
			c, ok := inner(g)
			if !ok {
				return fzcs(cmpExact, []string{"EVAL_RO", "return 1", "0"})
			}
			return fcmd{args: append([]string{"EVAL_RO", fzScriptBodies[0], "0"}, c.args...), mode: c.mode}
		}},
	)
	// FCALL and FCALL_RO of functions that run the inner command (group
	// "function", whose sequences load the library first): a function's
	// call path, keys and args tables, and a no-writes function run as a
	// read.
	fuzzMoreSpecs = append(fuzzMoreSpecs,
		fspec{"fcall", "function", 8, func(g *fgen) fcmd {
			c, ok := inner(g)
			if !ok {
				return fzcs(cmpExact, []string{"FCALL", "fzcall", "0"})
			}
			return fcmd{args: append([]string{"FCALL", "fzcall", "0"}, c.args...), mode: c.mode}
		}},
		fspec{"fcall_ro", "function", 3, func(g *fgen) fcmd {
			c, ok := inner(g)
			if !ok {
				return fzcs(cmpExact, []string{"FCALL_RO", "fzread", "0"})
			}
			fn := "fzread"
			if g.r.IntN(4) == 0 {
				fn = "fzcall" // refused: not flagged no-writes
			}
			return fcmd{args: append([]string{"FCALL_RO", fn, "0"}, c.args...), mode: c.mode}
		}},
	)
	fuzzPreludes["function"] = func(*fgen) []fcmd {
		return []fcmd{fzcs(cmpExact, []string{"FUNCTION", "LOAD", "REPLACE", fzLibrary})}
	}
	fuzzMoreGroups = append(fuzzMoreGroups, "script", "function")
	fuzzdiffKnown = append(fuzzdiffKnown,
		// command/script.go: gopher-lua's parser words syntax errors its
		// own way; walkerd maps the commonest to Lua's, not all.
		//   EVAL k0 0
		//   redis: -ERR Error compiling script (new function): user_script:1: '=' expected near '<eof>'
		//   walkerd: -ERR Error compiling script (new function): user_script:1: parse error near '<eof>'
		fuzzKnown{name: "script: Lua syntax error wording", sig: "", match: func(k *knownCase) bool {
			const p = "-ERR Error compiling script (new function): "
			return len(k.args) > 0 && strings.HasPrefix(strings.ToUpper(k.args[0]), "EVAL") &&
				strings.Contains(k.redis, p) && strings.Contains(k.walkerd, p)
		}},
		// command/script.go: server-local commands (SCAN, INFO, CONFIG,
		// CLIENT, ...) are not data commands: a script cannot run them.
		//   EVAL "return redis.pcall(unpack(ARGV))" 0 SCAN 0
		fuzzKnown{name: "script: server-local command in a script", sig: "", match: func(k *knownCase) bool {
			const p = "-ERR This Redis command is not allowed from script"
			return len(k.args) > 0 && strings.HasPrefix(strings.ToUpper(k.args[0]), "EVAL") &&
				strings.Contains(k.walkerd, p) && !strings.Contains(k.redis, p)
		}},
	)
}
