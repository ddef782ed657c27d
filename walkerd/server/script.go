package server

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/walkerdb/walkerdb/walkerd/command"
)

// Scripting (command/script.go runs the scripts). EVAL, EVALSHA, SCRIPT
// LOAD and SCRIPT FLUSH are proposed as log entries, like writes (Redis
// does not flag them "write", so they have handlers rather than the
// generic write path); EVAL_RO and EVALSHA_RO are reads (the generic read
// path); SCRIPT EXISTS reads this node's copy of the replicated script
// cache.
var scriptHandlers = map[string]handler{
	"eval":          cmdScriptWrite,
	"evalsha":       cmdScriptWrite,
	"script|load":   cmdScriptWrite,
	"script|flush":  cmdScriptWrite,
	"script|exists": cmdScriptExists,
	"script|kill":   cmdScriptKill,
	"script|debug":  cmdScriptDebug,
	"script|help":   helpLines(func() []string { return command.ScriptHelp }),

	"fcall":          cmdFcall,
	"function|list":  cmdFunctionList,
	"function|dump":  cmdFunctionDump,
	"function|stats": cmdFunctionStats,
	"function|kill":  cmdFunctionKill,
	"function|help":  helpLines(func() []string { return command.FunctionHelp }),
}

var scriptLogOnce sync.Once

// cmdScriptWrite proposes the command as a one-command entry.
func cmdScriptWrite(s *Server, c *client, args [][]byte) {
	scriptLogOnce.Do(func() {
		lg := s.cfg.Logger
		command.ScriptLog = func(level int, msg string) {
			lv := [...]slog.Level{slog.LevelDebug, slog.LevelDebug, slog.LevelInfo, slog.LevelWarn}[level]
			lg.Log(context.Background(), lv, "script log", "msg", msg)
		}
	})
	k := command.Lookup(args[0])
	if len(k.Subs) > 0 {
		k = k.Sub(args[1])
	}
	if (k.Name == "eval" || k.Name == "evalsha") && command.EvalReadOnly(s.b.Engine(), s.nowMs(), args) {
		s.runRead(c, k, args) // a script flagged no-writes: a read
		return
	}
	s.runWrite(c, k, args)
}

// cmdScriptExists, cmdFunctionList and cmdFunctionDump read the
// replicated script cache and libraries at the read level, as any read:
// a follower forwards them when its copy may lag (it answers a forwarded
// SCRIPT LOAD before it applies it).
func cmdScriptExists(s *Server, c *client, args [][]byte) {
	s.readAt(c, int(s.readLevel.Load()), args, func() {
		if err := command.ScriptExists(s.b.Engine(), s.nowMs(), args, c.w); err != nil {
			c.fail(err)
		}
	})
}

// cmdScriptKill stops a script EVAL_RO or EVALSHA_RO runs, as Redis's
// scriptKill does: on this node, or else on the leader, where a
// follower's read scripts run at the default read level. A script in the
// log (EVAL, EVALSHA) runs on every node's state machine and cannot be
// stopped by one of them: it answers UNKILLABLE, and its instruction
// budget stops it.
func cmdScriptKill(s *Server, c *client, args [][]byte) { s.killScript(c, args, true) }

// cmdFunctionKill is cmdScriptKill for FCALL_RO and the no-writes
// functions FCALL runs as reads.
func cmdFunctionKill(s *Server, c *client, args [][]byte) { s.killScript(c, args, false) }

const errNotBusy = "NOTBUSY No scripts in execution right now."

func (s *Server) killScript(c *client, args [][]byte, eval bool) {
	msg := s.killLocal(eval)
	if msg == errNotBusy && !c.forwarded {
		// None here: the leader's, if this node is a follower.
		s.readAt(c, 0, args, func() { c.killReply(msg) })
		return
	}
	c.killReply(msg)
}

func (c *client) killReply(msg string) {
	if msg == "" {
		c.ok()
	} else {
		c.errorReply(msg)
	}
}

// killLocal kills a script running on this node and answers "", or
// answers Redis's refusal.
func (s *Server) killLocal(eval bool) string {
	var busyOther, unkillable bool
	for _, r := range command.RunningScripts(s.b.Engine()) {
		switch {
		case r.Eval != eval:
			busyOther = true
		case r.Kill():
			return ""
		default:
			unkillable = true
		}
	}
	switch {
	case unkillable:
		return "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."
	case busyOther && eval:
		return "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
	case busyOther:
		return "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
	}
	return errNotBusy
}

// busyReply is the BUSY error Redis answers a command while a script has
// run longer than busy-reply-threshold (processCommand's), or "" when no
// script on this node is busy. Scripts in the log are bounded by their
// budget and never make a node busy; a read script runs until killed.
func (s *Server) busyReply() string {
	r := command.BusyScript(s.b.Engine(), time.Duration(s.busyThreshold.Load())*time.Millisecond)
	switch {
	case r == nil:
		return ""
	case r.Eval:
		return "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
	}
	return "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
}

// busyThresholdParam is CONFIG GET/SET busy-reply-threshold (milliseconds;
// lua-time-limit is its old name).
func busyThresholdParam() configParam {
	return intParam(0, func(s *Server) int64 { return s.busyThreshold.Load() }, func(s *Server, n int64) { s.busyThreshold.Store(n) })
}

// cmdFcall runs FCALL as a read when this node's copy of the libraries
// flags the function no-writes (Redis's fcallGetCommandFlags makes it a
// read-only command then), else proposes it as a log entry.
func cmdFcall(s *Server, c *client, args [][]byte) {
	k := command.Lookup(args[0])
	if command.FunctionReadOnly(s.b.Engine(), s.nowMs(), args[1]) {
		s.runRead(c, k, args)
		return
	}
	cmdScriptWrite(s, c, args)
}

func cmdFunctionList(s *Server, c *client, args [][]byte) {
	s.readAt(c, int(s.readLevel.Load()), args, func() {
		if err := command.FunctionList(s.b.Engine(), s.nowMs(), args, c.w); err != nil {
			c.fail(err)
		}
	})
}

func cmdFunctionDump(s *Server, c *client, args [][]byte) {
	s.readAt(c, int(s.readLevel.Load()), args, func() {
		if err := command.FunctionDump(s.b.Engine(), s.nowMs(), c.w); err != nil {
			c.fail(err)
		}
	})
}

// cmdFunctionStats answers FUNCTION STATS: the function running longest
// on this node (reads run side by side here, so there may be several;
// EVAL scripts are not listed) and the Lua engine's counts.
func cmdFunctionStats(s *Server, c *client, args [][]byte) {
	libs, funcs, ok, err := command.FunctionCounts(s.b.Engine(), s.nowMs())
	if err != nil {
		c.fail(err)
		return
	}
	// While a long read script holds the engine and a write waits, the
	// counts are those of the last FUNCTION STATS that could read them.
	if ok {
		s.functionCounts.Store(&[2]int{libs, funcs})
	} else if last := s.functionCounts.Load(); last != nil {
		libs, funcs = last[0], last[1]
	}
	w := c.w
	w.Map(2)
	w.BulkString("running_script")
	var run *command.RunningScript
	for _, r := range command.RunningScripts(s.b.Engine()) {
		if !r.Eval {
			run = r
			break
		}
	}
	if run == nil {
		w.Null()
	} else {
		w.Map(3)
		w.BulkString("name")
		w.BulkString(run.Name)
		w.BulkString("command")
		w.Array(len(run.Command))
		for _, a := range run.Command {
			w.Bulk(a)
		}
		w.BulkString("duration_ms")
		w.Int(time.Since(run.Start).Milliseconds())
	}
	w.BulkString("engines")
	w.Map(1)
	w.BulkString("LUA")
	w.Map(2)
	w.BulkString("libraries_count")
	w.Int(int64(libs))
	w.BulkString("functions_count")
	w.Int(int64(funcs))
}

// cmdScriptDebug: walkerd has no Lua debugger (LDB); SCRIPT DEBUG NO,
// which leaves it off, is the one mode it accepts.
func cmdScriptDebug(s *Server, c *client, args [][]byte) {
	switch strings.ToLower(string(args[2])) {
	case "no":
		c.ok()
	case "yes", "sync":
		c.errorReply("ERR walkerd has no Lua debugger: SCRIPT DEBUG YES|SYNC is not supported")
	default:
		c.errorReply("ERR Use SCRIPT DEBUG YES/SYNC/NO")
	}
}
