package server

import (
	"errors"
	"slices"
	"sync/atomic"
	"time"

	"github.com/tidwall/redcon"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
	"github.com/walkerdb/walkerdb/walkerd/netloop"
)

// Writes through Raft on the event loop. A write the loop may run
// (inlineCommand: a plain data write, SET, INCR, HSET, DEL, ...) that is
// the last command the client has sent, on a Raft leader, is proposed from
// the loop's thread without waiting (backend.AsyncApplier) at the end of
// the loop's turn, with the other clients' writes of the turn (proposeTurn,
// below), and its batch parks there until the entry commits, as a
// consistent read parks for its leadership check:
//
//	loop: runInline → handle → dispatch → runWrite → propose →
//	      applyGroup → applyAsync: c.pw set and held, no reply yet
//	      runInline: the batch parks (the socket left unread)
//	loop: endTurn → proposeTurn: ApplyAsync, the turn's writes in one entry
//	state machine (its goroutine): the entry applied → done: each write's
//	      result in its c.pw, verdict, Kick
//	loop: resume → finishWrite: the reply, its statistics, then the
//	      socket is read as usual
//
// No goroutine of the client's wakes for the write: the loop reads it,
// proposes it, and writes its reply, and the state machine answers every
// write of a batch of entries with one wakeup of the loop (Kick). On the
// client's goroutine the same write cost a wakeup to hand the connection
// over, one for the commit and one to hand it back.
//
// Only a client's last command goes so (nothing more queued, no CLIENT
// REPLY OFF or SKIP): the writes of a pipeline go to the goroutine, whose
// group proposes them as one entry (group.go). A write the backend does
// not take now (not the leader, maxAsync in flight) or that raft refused
// before appending it (not the leader any more, a leadership transfer)
// runs again on the client's goroutine, which forwards it or waits, as any
// write there: it was certainly not applied. A write whose outcome is
// unknown (leadership lost after it was appended) answers -UNKNOWN, as on
// the goroutine.

// pendingWrite is a write the loop proposes (applyAsync, proposeTurn) and
// has not yet answered. The goroutine that answers it sets res and err
// before it stores the verdict that the loop loads first; the loop alone
// touches the rest.
type pendingWrite struct {
	cmd   redcon.Command // to run again on the goroutine (refused)
	spec  *command.Spec  // for record and MONITOR, set by dispatch
	args  [][]byte
	start time.Time

	// a, e, g and gen wait for the turn's end (proposeTurn): the backend
	// that proposes e, and the guard and parkGen of the batch it parked.
	a   backend.AsyncApplier
	e   *command.Entry
	g   *guardConn
	gen uint64

	res     *command.Result
	err     error
	refused bool // never appended: it runs again on the client's goroutine
}

// pendingResult is what propose returns for a write applyAsync proposed:
// its reply comes later (finishWrite).
var pendingResult = &command.Result{}

// commitOnLoop reports whether the loop may run args, which inlineCommand
// let onto it, as the client's cmds stand: anything in standalone mode
// (a write's fsync is the turn's) and any read; a write through Raft only
// as the last command the client has sent, with its replies on.
func (s *Server) commitOnLoop(c *client, cc *clientConn, args [][]byte) bool {
	if s.writesNow() {
		return true
	}
	if k := command.Lookup(args[0]); k == nil || k.Flags&command.FlagWrite == 0 {
		return true
	}
	return len(cc.cmds) == 1 && len(cc.g.out) == 0 && !c.replyOff && !c.replySkip && !c.replySkipNext
}

// applyAsync holds e, a write the loop runs, for the turn's proposal
// (proposeTurn) through b: c.pw holds it until its result comes (runInline
// then parks the batch). A backend that does not propose without waiting,
// or does not lead now, refuses it at once.
func (s *Server) applyAsync(c *client, b backend.Backend, e *command.Entry) *command.Result {
	g := c.guard
	pw := &pendingWrite{}
	c.pw = pw
	g.parkGen++
	a, ok := b.(backend.AsyncApplier)
	if !ok || !a.WritesNow() {
		pw.refused = true
		return pendingResult
	}
	pw.a, pw.e, pw.g, pw.gen = a, e, g, g.parkGen
	s.turn.writes = append(s.turn.writes, pw)
	return pendingResult
}

// Writes of one turn, one entry. The writes the loop holds when its turn
// ends (every client's last command, each parked until it commits) are
// proposed together: those that share a backend, a database, an ACL user
// and a clock (the millisecond their arguments were parsed at, which every
// node parses them at again) go as one entry of many commands, each with
// its own reply, as a client's pipeline does (command.Entry.Cmds). One
// entry costs raft one proposal, one future, one log record and one
// apply for the writes of many clients, as redis-server's beforeSleep
// writes one iteration's commands to its AOF with one write.
//
// While maxTurnEntriesInFlight of the loop's entries have not committed,
// the turns' writes wait, and go together as the next entry once one has
// (the state machine's committed call wakes the loop for a turn), so that
// one log write and fsync covers every write that came meanwhile:
//
//	turn: A: SET a ─┐  B: SET b ─┐  C: INCR c ─┐
//	endTurn: proposeTurn ──▶ ApplyAsync(Cmds: SET a, SET b, INCR c)
//	turn: D: SET d ──▶ ApplyAsync(Cmds: SET d): the second in flight
//	turns: E: SET e, F: DEL f: held (two entries not yet committed)
//	state machine: committed ──▶ WakeLoop ──▶ proposeTurn: SET e, DEL f
//	               applied   ──▶ A, B, C: reply i of the result, Kick
//
// hashicorp/raft's leader loop picks at random among the channels ready
// when it comes back from a log write: a proposal waiting beside a commit
// had the next write and fsync run before the commit was handed to the
// state machine, half the time. With 50 clients, one node, a proposal
// a turn made 25,000 entries of 100,000 SETs, and waiting for the commits
// 6,000 to 7,300 with one entry in flight, 8,600 to 8,800 with two, at
// the same rate; three nodes 13.3k SETs a second against 12.9k, with 25%
// less CPU a SET than an entry a SET. A second
// entry in flight keeps a client of few from waiting out another's
// commit before its write is even proposed: with one, 2 clients wrote
// 20-35% fewer SETs a second than with an entry a SET; with two, as many
// (one node, 6 paired rounds, medians 3.7k against 3.5k), and 50 clients
// as many as with one.
//
// An entry stops growing at maxTurnEntryBytes of arguments or
// maxTurnEntryCmds commands, far below a large entry's bigEntryMin (which
// goes by reference, through Apply, never from the loop).
const (
	maxTurnEntryBytes      = 256 << 10
	maxTurnEntryCmds       = 512
	maxTurnEntriesInFlight = 2
)

// turnEntry is one entry proposeTurn builds: the writes it answers, in
// the order of e's commands.
type turnEntry struct {
	e      *command.Entry
	a      backend.AsyncApplier
	writes []*pendingWrite
	bytes  int
}

// joins reports whether pw may go in t's entry.
func (t *turnEntry) joins(pw *pendingWrite, size int) bool {
	e, w := t.e, pw.e
	return t.a == pw.a && e.DB == w.DB && e.User == w.User && e.NowMs == w.NowMs &&
		t.bytes+size <= maxTurnEntryBytes && len(t.writes) < maxTurnEntryCmds
}

// turnCommits is the loop's count of its entries proposed and not yet
// committed (or failed), and the connection whose loop to wake when the
// count falls below maxTurnEntriesInFlight while writes wait
// (Conn.WakeLoop).
type turnCommits struct {
	n    atomic.Int64
	wake atomic.Pointer[netloop.Conn]
}

// proposeTurn proposes the writes the turn holds (applyAsync), one entry
// per backend, database, user and clock, unless maxTurnEntriesInFlight
// entries it proposed have not yet committed: they wait for one. A write the backend refuses at once
// gets a refusal: it runs again on its goroutine (resume).
func (s *Server) proposeTurn() {
	t := &s.turn
	if len(t.writes) == 0 {
		return
	}
	tc := &s.turnCommits
	tc.wake.Store(t.writes[0].g.ev) // before the count is read: see committed below
	if tc.n.Load() >= maxTurnEntriesInFlight {
		return // the next committed call wakes the loop
	}
	tc.wake.Store(nil)
	var entries []*turnEntry
	for i, pw := range t.writes {
		t.writes[i] = nil
		size := entryArgBytes(pw.e)
		var into *turnEntry
		if alone(pw.e) {
			size = maxTurnEntryBytes
		} else {
			for _, te := range entries {
				if te.joins(pw, size) {
					into = te
					break
				}
			}
		}
		if into == nil {
			entries = append(entries, &turnEntry{e: pw.e, a: pw.a, writes: []*pendingWrite{pw}, bytes: size})
			continue
		}
		if len(into.writes) == 1 {
			first := into.e
			into.e = &command.Entry{NowMs: first.NowMs, DB: first.DB, User: first.User,
				Cmds: slices.Clip(first.Cmds), Parsed: slices.Clip(first.Parsed)}
		}
		into.e.Cmds = append(into.e.Cmds, pw.e.Cmds...)
		into.e.Parsed = append(into.e.Parsed, pw.e.Parsed...)
		into.writes = append(into.writes, pw)
		into.bytes += size
	}
	t.writes = t.writes[:0]
	for _, te := range entries {
		ws := te.writes
		var once atomic.Bool
		committed := func() { // the entry committed, or failed: the next may go
			if once.CompareAndSwap(false, true) && tc.n.Add(-1) < maxTurnEntriesInFlight {
				if ev := tc.wake.Swap(nil); ev != nil {
					ev.WakeLoop()
				}
			}
		}
		tc.n.Add(1)
		if !te.a.ApplyAsync(te.e, committed, func(res *command.Result, err error) {
			committed()
			answerTurn(ws, res, err)
		}) {
			tc.n.Add(-1)
			for _, pw := range ws {
				pw.refused = true
				pw.answered()
			}
		}
	}
}

// alone reports whether e must be an entry of its own: more than one
// command, or arguments in buffers of their own (Room), a watch or an
// EXEC, or commands not parsed.
func alone(e *command.Entry) bool {
	return len(e.Cmds) != 1 || len(e.Parsed) != 1 || e.Room != nil || e.Exec || len(e.Watches) > 0
}

// entryArgBytes is the bytes of e's arguments.
func entryArgBytes(e *command.Entry) int {
	n := 0
	for _, args := range e.Cmds {
		for _, a := range args {
			n += len(a)
		}
	}
	return n
}

// answerTurn gives each of ws its part of res, the result of the entry
// they went in together (one reply each, in order), or err, and wakes
// their connections. A result for the whole entry (Error) is each one's.
func answerTurn(ws []*pendingWrite, res *command.Result, err error) {
	if len(ws) == 1 || res == nil || err != nil {
		for _, pw := range ws {
			pw.res, pw.err = res, err
			pw.answered()
		}
		return
	}
	parts := make([]command.Result, len(ws))
	for i, pw := range ws {
		p := &parts[i]
		p.Error, p.Index, p.Term = res.Error, res.Index, res.Term
		switch {
		case res.Error != "":
		case i < len(res.Replies):
			p.Replies = res.Replies[i : i+1 : i+1]
		default:
			p.Error = "ERR internal error: an entry of several clients' writes answered fewer replies than it had commands"
		}
		pw.res = p
		pw.answered()
	}
}

// answered hands pw's outcome, set before, to the loop: the verdict its
// batch waits for (resume), and a kick.
func (pw *pendingWrite) answered() {
	pw.g.verdict.Store(&parkVerdict{gen: pw.gen})
	pw.g.ev.Kick()
}

// neverAppended reports whether err refused a write before raft appended
// it: certainly not applied, so it may run again.
func neverAppended(err error) bool {
	var nl *backend.NotLeaderError
	return errors.As(err, &nl) || errors.Is(err, backend.ErrTransferring)
}

// runElsewhere puts c's refused write back at the head of its batch for
// the client's goroutine, which runs it again (the caller hands the
// connection over). It was counted as a command once already.
func (s *Server) runElsewhere(cc *clientConn, c *client) {
	pw := c.pw
	c.pw = nil
	c.running.Store(false)
	cc.g.stash = append([]redcon.Command{pw.cmd}, cc.g.stash...)
	s.stats.commands.Add(-1)
}

// finishWrite answers c's write once its result has come: the reply, the
// call's statistics and MONITOR's line, as dispatch and handle would have
// at once on the goroutine; then what the client holds is written.
func (s *Server) finishWrite(cc *clientConn, c *client) {
	pw := c.pw
	c.pw = nil
	c.running.Store(false) // parked since runInline
	res := pw.res
	if pw.err != nil {
		res = &command.Result{Error: applyErrorText(pw.err)}
	}
	c.noteWrite(0, res) // WAIT's position (wait.go)
	errs := c.errs
	res.Reply().WriteTo(c.w)
	end := s.now()
	c.ranAt = end
	s.record(c, pw.spec, pw.args, end.Sub(pw.start), c.errs > errs)
	s.feedMonitors(c, pw.spec, pw.args, nil)
	s.writeReplies(c, cc, !c.deaf && len(c.enc.B) > 0, true)
}
