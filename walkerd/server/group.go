package server

import (
	"time"

	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// Pipelined writes are proposed together.
//
// A client that pipelines writes (redis-benchmark -P 16, redis-cli --pipe,
// any client's pipeline) sends many commands in one read. Proposed one at
// a time, each write waited for its own log entry to commit before the
// next was even proposed: one Raft round, and with appendfsync always one
// fsync, per command. Instead, consecutive plain writes of one pipeline
// gather in the connection's group and go to the backend as one entry
// (command.Entry with several Cmds and no Exec): one log entry, one round,
// one fsync, one forwarded round trip on a follower. Each command still
// gets its own reply, in order, and a command refused as a whole takes
// back only its own writes (command.Applier), so the client sees what it
// would have seen had they been proposed one by one.
//
// A group is proposed (flushGroup) when
//   - a command arrives that does not join it (any read, MULTI, a handler's
//     command, a write the client's state keeps out: see joinsGroup), before
//     that command runs, so that it sees the group's writes and its reply
//     follows theirs;
//   - a joining command is refused before it runs (arity, NOAUTH, NOPERM,
//     BUSY, LOADING): its error reply follows the group's;
//   - the group reaches groupCmds commands or groupBytes of arguments;
//   - the pipeline ends and the client has sent nothing more yet, or the
//     connection stops (QUIT, a client that does not take its replies, a
//     closed connection, a malformed frame after the group's commands): a
//     write that joined a group is always proposed, as Redis runs every
//     command it has read. (The connection's loop, serve.go, hands handle
//     every command of a batch, closed or not, so the last of them flushes
//     the group; a group held open for the client's next read is proposed
//     by disconnected if that read never comes.)
//
// Replies stream: a group's replies are written after its entry commits,
// and handle sends what it holds once it passes flushAt bytes or has
// waited flushAfter, so a long pipeline's replies arrive as its groups
// commit rather than at its end.
//
// The connection's loop hands handle batches of at most 16 KB of commands
// (guard.go's batchBytes, about 100 SETs of 100-byte values), so a group
// that ended with each batch would cost a log entry per batch. When the
// client has already sent more whole commands (the protocol guard holds
// them, or the socket has them), the group stays open across batches
// instead. It keeps its commands' arguments as the guard handed them on,
// uncopied: the guard never reuses the memory they lie in.
type group struct {
	nowMs int64 // the clock every command of the group is parsed at: the entry's NowMs
	db    int
	// be is the Raft group of the commands' keys: on a node with several
	// (groups.go), one entry holds the writes of one group only.
	be    backend.Backend
	cmds  [][][]byte
	parse []command.Parsed
	calls []groupCall
	bytes int
}

// groupCall is what dispatch needs once a grouped command's reply is
// known: commandstats, the slow log, the latency monitor.
type groupCall struct {
	spec  *command.Spec
	args  [][]byte
	start time.Time
}

// groupCmds and groupBytes bound a group: large enough that a pipeline's
// writes share a log entry, small enough that its first replies do not
// wait long and that an entry stays far below raft's and the engine's
// limits. Measured with redis-cli --pipe and redis-benchmark -P 16: see
// tools/bench/compare.sh.
const (
	groupCmds  = 512
	groupBytes = 1 << 20
	groupLarge = 64 << 10 // a command this large runs alone
)

func (g *group) pending() bool { return len(g.calls) > 0 }

// joinsGroup reports whether the command args may wait in c's group: a
// write the data layer runs as it is (runWrite), from a client whose
// replies go out as they are written (no CLIENT REPLY OFF or SKIP, no
// tracking, no pub/sub), outside MULTI, on a client's connection rather
// than another node's link, not one the audit trail names, and not one
// the event loop runs (its writes share the turn's fsync instead:
// evloop.go). While a
// client of this node waits in BLPOP or the like, writes go one by one:
// Redis serves blocked clients after each command, so a pipeline's
// LPUSH a, LPUSH b must be able to wake one with a before b lands.
func (s *Server) joinsGroup(c *client, k *command.Spec) bool {
	return k != nil && k.Flags&command.FlagWrite != 0 && s.handlers[k.ID] == nil && len(k.Subs) == 0 &&
		!audited[k.Name] && !c.multi && c.tr == nil && c.ps == nil && s.waiters.blocked() == 0 &&
		!c.replyOff && !c.replySkip && !c.replySkipNext &&
		!c.forwarded && !c.link.linked && !c.nodeLink.Load() && c.conn != nil && c.askGroup == 0 &&
		(c.guard == nil || !c.guard.onLoop) &&
		!(s.multi() && broadcastWrites[k.Name]) // every group applies it (groups.go)
}

// joinGroup adds a write that passed dispatch's checks to c's group, when
// more of the pipeline follows it or a group is already open; it reports
// false, having added nothing, when the command should run alone now (the
// last of its pipeline with no group open, or arguments its parser
// refuses: their error is its reply, and nothing enters the log).
func (s *Server) joinGroup(c *client, k *command.Spec, args [][]byte, start time.Time) bool {
	g := &c.grp
	size := 0
	for _, a := range args {
		size += len(a)
	}
	if size > groupLarge {
		s.flushGroup(c) // a large value runs alone
		return false
	}
	if g.pending() && g.be != s.backendOf(c) {
		s.flushGroup(c) // another Raft group's write starts a group of its own
	}
	if !g.pending() {
		g.be = s.backendOf(c)
		if len(c.conn.PeekPipeline()) == 0 && !moreInput(c, false) {
			return false
		}
		g.nowMs, g.db = s.cmdNowMs(c), c.db
	}
	p := k.ParseArgs(args, g.nowMs)
	if p.Err != nil {
		s.flushGroup(c)
		return false
	}
	g.cmds = append(g.cmds, args)
	g.parse = append(g.parse, p)
	g.calls = append(g.calls, groupCall{spec: k, args: args, start: start})
	g.bytes += size
	if len(g.calls) >= groupCmds || g.bytes >= groupBytes {
		s.flushGroup(c)
	}
	return true
}

// moreInput reports whether the client has sent whole commands beyond the
// batch being run: the protocol guard holds them, or (with poll)
// the socket has them (guardConn.waiting).
func moreInput(c *client, poll bool) bool {
	g, ok := c.conn.NetConn().(*guardConn)
	return ok && g.waiting(poll)
}

// holdGroup reports whether c's group, at the end of a batch, may stay
// open for the commands the client has already sent. (Should the loop
// then stop on a malformed frame, or the connection end, disconnected
// proposes the group.)
func holdGroup(c *client) bool {
	return c.grp.pending() && !c.quit && !c.deaf && moreInput(c, true)
}

// flushGroup proposes c's group as one entry and writes each command's
// reply, in order, recording each call as dispatch does. Each call is
// charged an equal share of the time from the first command's arrival to
// the entry's commit: together they cost that long.
func (s *Server) flushGroup(c *client) {
	g := &c.grp
	if !g.pending() {
		return
	}
	e := &command.Entry{NowMs: g.nowMs, DB: g.db, Cmds: g.cmds, Parsed: g.parse}
	res := s.propose(c, e)
	share := time.Since(g.calls[0].start) / time.Duration(len(g.calls))
	for i, call := range g.calls {
		errs := c.errs
		switch {
		case res.Error != "":
			command.ErrorReply(res.Error).WriteTo(c.w)
		case i < len(res.Replies):
			res.Replies[i].WriteTo(c.w)
		default:
			c.errorReply("ERR internal error: no reply")
		}
		s.record(c, call.spec, call.args, share, c.errs > errs)
	}
	clear(g.cmds)
	clear(g.parse)
	clear(g.calls)
	g.cmds, g.parse, g.calls, g.bytes = g.cmds[:0], g.parse[:0], g.calls[:0], 0
}
