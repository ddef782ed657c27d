package server

import (
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/walkerdb/walkerdb/walkerd/command"
)

// The audit trail: one log line (message "audit") for each run of a
// command that administers the node or the cluster, or destroys data, with
// the client's address, its user and the outcome ("ok" or the error
// reply), and one WARN line for each refused AUTH. Arguments are not
// logged, so no password can reach the log: CONFIG SET logs the parameter
// names only, ACL SETUSER the user's name.
//
// Refused AUTHs are rate-limited, so that a flood of guesses cannot fill
// the disk: at most authLogBurst lines, refilled at authLogRate a second;
// the lines dropped meanwhile are counted in the next one
// ("suppressed").

// audited are the commands logged, by spec name: Redis's dangerous
// administration and walkerd's cluster commands.
var audited = map[string]bool{
	"shutdown": true, "flushall": true, "flushdb": true, "config|set": true, "config|rewrite": true,
	"config|resetstat": true, "acl|setuser": true, "acl|deluser": true, "acl|load": true, "acl|save": true,
	"join": true, "leave": true, "raft.transfer": true, "snapshot": true, "debug": true, "client|kill": true,
	"save": true, "bgsave": true, "walker.backup": true, "script|flush": true, "function|flush": true,
	"function|restore": true, "failover": true, "replicaof": true, "slaveof": true,
}

const (
	authLogBurst = 20
	authLogRate  = 1.0 // lines a second
)

type auditor struct {
	log *slog.Logger

	mu         sync.Mutex
	tokens     float64
	last       time.Time
	suppressed int64
}

func (a *auditor) init(log *slog.Logger) {
	a.log = log
	a.tokens = authLogBurst
	a.last = time.Now()
}

// command logs one run of an audited command: k is the spec run, args its
// arguments, errText its error reply ("" when it succeeded).
func (a *auditor) command(c *client, k *command.Spec, args [][]byte, errText string) {
	if !audited[k.Name] || c.forwarded {
		return // a forwarded command is logged by the node its client talks to
	}
	what := strings.ToUpper(strings.ReplaceAll(k.Name, "|", " "))
	switch k.Name {
	case "config|set":
		var names []string
		for i := 2; i+1 < len(args); i += 2 {
			names = append(names, strings.ToLower(string(args[i])))
		}
		what += " " + strings.Join(names, " ")
	case "join", "leave", "raft.transfer":
		if len(args) > 1 {
			what += " " + string(args[1]) // a node id
		}
	case "acl|setuser":
		what += " " + string(args[2]) // the user's name; never its rules
		if errText != "" {
			errText = "ERR (redacted: ACL SETUSER's errors quote a rule, which may hold a password)"
		}
	case "acl|deluser":
		for _, n := range args[2:] {
			what += " " + string(n)
		}
	}
	outcome := "ok"
	if errText != "" {
		outcome = errText
	}
	a.log.Info("audit", "cmd", clip(what), "addr", c.addr, "user", clip(c.userName()), "outcome", clip(outcome))
}

// authFailed logs a refused AUTH or HELLO AUTH, rate-limited.
func (a *auditor) authFailed(addr, user string) {
	a.mu.Lock()
	now := time.Now()
	a.tokens = min(authLogBurst, a.tokens+now.Sub(a.last).Seconds()*authLogRate)
	a.last = now
	if a.tokens < 1 {
		a.suppressed++
		a.mu.Unlock()
		return
	}
	a.tokens--
	suppressed := a.suppressed
	a.suppressed = 0
	a.mu.Unlock()
	if suppressed > 0 {
		a.log.Warn("audit: AUTH refused", "addr", addr, "user", clip(user), "suppressed", suppressed)
		return
	}
	a.log.Warn("audit: AUTH refused", "addr", addr, "user", clip(user))
}

// clip shortens what a client wrote to at most 128 bytes for the log.
func clip(s string) string {
	if len(s) <= 128 {
		return s
	}
	return s[:128] + "..."
}
