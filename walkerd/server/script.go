package server

import (
	"context"
	"log/slog"
	"strings"
	"sync"

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
	s.runWrite(c, k, args)
}

func cmdScriptExists(s *Server, c *client, args [][]byte) {
	if err := command.ScriptExists(s.b.Engine(), s.nowMs(), args, c.w); err != nil {
		c.fail(err)
	}
}

// cmdScriptKill: a script runs inside the state machine, never while
// another command waits on this connection's node to answer, and is
// bounded by its instruction budget: there is never one to kill.
func cmdScriptKill(s *Server, c *client, args [][]byte) {
	c.errorReply("NOTBUSY No scripts in execution right now.")
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
