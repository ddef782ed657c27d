package command

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walkerdb/walkerdb/engine"
)

// RunningScript is a script running on this node, listed while it runs
// for SCRIPT KILL, FUNCTION KILL and FUNCTION STATS (Redis's
// scriptRunCtx). Several may run at once here: reads run side by side,
// and the state machine runs one write script at a time.
type RunningScript struct {
	// Name is the function's name (FCALL) or the script's SHA1 (EVAL).
	Name string
	// Command is the client's command that runs it, as sent.
	Command [][]byte
	// Eval is true for EVAL and EVALSHA (and their _RO forms), false
	// for FCALL and FCALL_RO.
	Eval bool
	// InLog is true for a script run by the state machine, as part of a
	// log entry: every node runs it, and none may stop it on its own,
	// so it cannot be killed (its instruction budget stops it).
	InLog bool
	// Start is when it began (this node's clock).
	Start time.Time

	budget *scriptBudget
	db     *engine.DB // the engine it reads: its server's
}

// Kill stops a script running outside the log at its next Lua
// instruction; it answers "ERR Script killed by user with SCRIPT
// KILL..." as Redis's does. It reports false, doing nothing, for a script
// in the log.
func (r *RunningScript) Kill() bool {
	if r.InLog {
		return false
	}
	r.budget.killed.Store(true)
	return true
}

// KillScripts stops every script running outside the log on db's server
// (its server is closing: nothing else would stop them).
func KillScripts(db *engine.DB) {
	for _, r := range RunningScripts(db) {
		r.Kill()
	}
}

// BusyScript returns the script running outside the log on db's server
// that has run longest, when it has run for longer than threshold: Redis
// answers BUSY to other commands then (busy-reply-threshold). Such a
// script holds the engine, so writes, and reads behind them, wait for it.
func BusyScript(db *engine.DB, threshold time.Duration) *RunningScript {
	if running.outside.Load() == 0 {
		return nil
	}
	for _, r := range RunningScripts(db) {
		if !r.InLog && time.Since(r.Start) > threshold {
			return r
		}
	}
	return nil
}

// running lists the scripts running on this node.
var running runningScripts

type runningScripts struct {
	mu sync.Mutex
	m  map[*RunningScript]struct{}
	// outside counts the scripts running outside the log, so that
	// BusyScript, which every command asks, costs one atomic load when
	// there are none.
	outside atomic.Int64
}

// add lists r from now and returns what unlists it.
func (rs *runningScripts) add(r *RunningScript) func() {
	r.Start = time.Now()
	rs.mu.Lock()
	if rs.m == nil {
		rs.m = map[*RunningScript]struct{}{}
	}
	rs.m[r] = struct{}{}
	rs.mu.Unlock()
	if !r.InLog {
		rs.outside.Add(1)
	}
	return func() {
		rs.mu.Lock()
		delete(rs.m, r)
		rs.mu.Unlock()
		if !r.InLog {
			rs.outside.Add(-1)
		}
	}
}

// RunningScripts returns the scripts running on db's server, the longest
// running first.
func RunningScripts(db *engine.DB) []*RunningScript {
	running.mu.Lock()
	out := make([]*RunningScript, 0, len(running.m))
	for r := range running.m {
		if r.db == db {
			out = append(out, r)
		}
	}
	running.mu.Unlock()
	slices.SortFunc(out, func(a, b *RunningScript) int { return a.Start.Compare(b.Start) })
	return out
}
