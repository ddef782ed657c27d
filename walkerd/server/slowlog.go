package server

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/walkerdb/walkerdb/walkerd/command"
)

// SLOWLOG: the commands that ran at least slowlog-log-slower-than
// microseconds (default 10000; 0 logs every command, a negative value none),
// newest first, at most slowlog-max-len of them (default 128), as
// slowlog.c keeps them. Each entry is [id, unix time in seconds, duration
// in µs, arguments, client address, client name]; an entry keeps at most
// 32 arguments (the 32nd says how many more there were) and 128 bytes of
// each (with a note of how many more). Passwords are logged as
// "(redacted)", as Redis 7.0 does for AUTH, HELLO's AUTH and CONFIG SET
// of requirepass. The log is this node's: a forwarded command is logged
// by the node that ran it and by the node its client is on.

const (
	slowlogMaxArgc   = 32  // SLOWLOG_ENTRY_MAX_ARGC
	slowlogMaxString = 128 // SLOWLOG_ENTRY_MAX_STRING
)

type slowEntry struct {
	id   int64
	at   int64 // unix seconds
	usec int64
	args [][]byte
	peer string
	name string
}

type slowlog struct {
	mu      sync.Mutex
	entries []slowEntry // newest first
	nextID  int64
}

// push logs one run, trimming the log to maxLen.
func (l *slowlog) push(c *client, args [][]byte, usec, maxLen int64, now time.Time) {
	e := slowEntry{at: now.Unix(), usec: usec, args: slowlogArgs(args), peer: c.addr}
	c.mu.Lock()
	e.name = c.name
	c.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	e.id = l.nextID
	l.nextID++
	l.entries = append(l.entries, slowEntry{})
	copy(l.entries[1:], l.entries)
	l.entries[0] = e
	if int64(len(l.entries)) > maxLen {
		l.entries = l.entries[:max(maxLen, 0)]
	}
}

// slowlogArgs copies what an entry keeps of a command's arguments.
func slowlogArgs(args [][]byte) [][]byte {
	n := min(len(args), slowlogMaxArgc)
	out := make([][]byte, n)
	for i := range n {
		a := args[i]
		switch {
		case i == slowlogMaxArgc-1 && len(args) > slowlogMaxArgc:
			a = fmt.Appendf(nil, "... (%d more arguments)", len(args)-slowlogMaxArgc+1)
		case len(a) > slowlogMaxString:
			a = fmt.Appendf(append([]byte(nil), a[:slowlogMaxString]...), "... (%d more bytes)", len(a)-slowlogMaxString)
		default:
			a = append([]byte(nil), a...)
		}
		out[i] = a
	}
	redact(out)
	return out
}

var redacted = []byte("(redacted)")

// redact hides the passwords among a command's arguments, as Redis 7.0's
// redactClientCommandArgument calls do: every argument of AUTH, the
// username and password after HELLO's AUTH, every argument of ACL SETUSER
// after the subcommand, the value CONFIG SET gives requirepass.
func redact(args [][]byte) {
	if len(args) == 0 {
		return
	}
	switch strings.ToLower(string(args[0])) {
	case "auth":
		for i := 1; i < len(args); i++ {
			args[i] = redacted
		}
	case "hello":
		for i := 1; i < len(args); i++ {
			if strings.EqualFold(string(args[i]), "auth") {
				for j := i + 1; j < len(args) && j <= i+2; j++ {
					args[j] = redacted
				}
				i += 2
			}
		}
	case "acl":
		if len(args) > 1 && strings.EqualFold(string(args[1]), "setuser") {
			for i := 2; i < len(args); i++ { // the user and every rule: rules carry passwords
				args[i] = redacted
			}
		}
	case "config":
		if len(args) > 1 && strings.EqualFold(string(args[1]), "set") {
			for i := 2; i+1 < len(args); i += 2 {
				if strings.EqualFold(string(args[i]), "requirepass") || strings.EqualFold(string(args[i]), "masterauth") {
					args[i+1] = redacted
				}
			}
		}
	}
}

func (l *slowlog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

func cmdSlowlogGet(s *Server, c *client, args [][]byte) {
	count := int64(10)
	if len(args) > 3 {
		c.errorReply(fmt.Sprintf("ERR unknown subcommand or wrong number of arguments for '%s'. Try SLOWLOG HELP.", args[1]))
		return
	}
	if len(args) == 3 {
		// slowlog.c's getRangeLongFromObjectOrReply: one message for both.
		n, ok := command.ParseInt(args[2])
		if !ok || n < -1 {
			c.errorReply("ERR count should be greater than or equal to -1")
			return
		}
		count = n
	}
	l := &s.st.slow
	l.mu.Lock()
	entries := l.entries
	if count >= 0 && int64(len(entries)) > count {
		entries = entries[:count]
	}
	entries = append([]slowEntry(nil), entries...)
	l.mu.Unlock()
	c.array(len(entries))
	for _, e := range entries {
		c.array(6)
		c.integer(e.id)
		c.integer(e.at)
		c.integer(e.usec)
		c.array(len(e.args))
		for _, a := range e.args {
			c.bulk(a)
		}
		c.bulkString(e.peer)
		c.bulkString(e.name)
	}
}

func cmdSlowlogLen(s *Server, c *client, args [][]byte) { c.integer(int64(s.st.slow.len())) }

func cmdSlowlogReset(s *Server, c *client, args [][]byte) {
	s.st.slow.mu.Lock()
	s.st.slow.entries = nil
	s.st.slow.mu.Unlock()
	c.ok()
}

var slowlogHelp = []string{
	"SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"GET [<count>]",
	"    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
	"    Entries are made of:",
	"    id, timestamp, time in microseconds, arguments array, client IP and port,",
	"    client name",
	"LEN",
	"    Return the length of the slowlog.",
	"RESET",
	"    Reset the slowlog.",
	"HELP",
	"    Prints this help.",
}
