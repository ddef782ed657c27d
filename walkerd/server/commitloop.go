package server

import (
	"errors"
	"time"

	"github.com/tidwall/redcon"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// Writes through Raft on the event loop. A write the loop may run
// (inlineCommand: a plain data write, SET, INCR, HSET, DEL, ...) that is
// the last command the client has sent, on a Raft leader, is proposed from
// the loop's thread without waiting (backend.AsyncApplier), and its batch
// parks there until the entry commits, as a consistent read parks for its
// leadership check:
//
//	loop: runInline → handle → dispatch → runWrite → propose →
//	      applyGroup → applyAsync: ApplyAsync, c.pw set, no reply yet
//	      runInline: the batch parks (the socket left unread)
//	state machine (its goroutine): the entry applied → done: the result
//	      in c.pw, verdict, Kick
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

// pendingWrite is a write proposed from the loop (applyAsync) and not yet
// answered. The goroutine that answers it sets res and err before it
// stores the verdict that the loop loads first; the loop alone touches
// the rest.
type pendingWrite struct {
	cmd   redcon.Command // to run again on the goroutine (refused)
	spec  *command.Spec  // for record and MONITOR, set by dispatch
	args  [][]byte
	start time.Time

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

// applyAsync proposes e, a write the loop runs, through b without waiting:
// c.pw holds it until its result comes (runInline then parks the batch).
func (s *Server) applyAsync(c *client, b backend.Backend, e *command.Entry) *command.Result {
	g := c.guard
	pw := &pendingWrite{}
	c.pw = pw
	g.parkGen++
	gen, ev := g.parkGen, g.ev
	a, ok := b.(backend.AsyncApplier)
	if !ok || !a.ApplyAsync(e, func(res *command.Result, err error) {
		pw.res, pw.err = res, err
		g.verdict.Store(&parkVerdict{gen: gen})
		ev.Kick()
	}) {
		pw.refused = true
	}
	return pendingResult
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
