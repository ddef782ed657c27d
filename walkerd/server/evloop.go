package server

import (
	"syscall"
	"time"

	"github.com/tidwall/redcon"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
	"github.com/walkerdb/walkerdb/walkerd/netloop"
)

// The event loop (Config.EventLoop, walkerd/netloop). Plain TCP
// connections are read by one loop on a thread of its own; a batch of
// commands that cannot wait runs there too, and its replies go out from
// there, as redis-server serves every client. Anything that may wait runs
// on the connection's goroutine, which the loop hands the connection to:
//
//	loop (onInput)                         the connection's goroutine (loop)
//	  read what came, until EAGAIN
//	  whole commands queued?
//	    each inlineCommand: handle it ──▶ (parked in next: awaitInput)
//	    else: HandOff ───────────────────▶ run the rest (Raft, blocking,
//	                                       CLIENT PAUSE, a reply that
//	          ◀────────────────────────── waits), then Yield when no
//	                                       whole command is left
//
// A batch of at most inlineBatch commands runs inline (a longer pipeline
// goes to the goroutine, beside the loop) while each command is a fast
// data read (readonly and fast, neither write nor may-replicate, served
// by the data layer: GET, MGET, HGET, EXISTS, TTL, ...) or PING or ECHO,
// and nothing about its connection or the server can make it wait: the
// client is not in MULTI, subscribed, tracking, a node link, holding
// grouped writes or large arguments; no output limit is set for normal
// clients; no CLIENT PAUSE is in force; one Raft group, and this node
// reads at the configured level at once (ReadsNow: the leader past its
// first barrier, or standalone). Inline replies that the socket does not
// take wait in the guard (pend) and the goroutine writes them, with the
// stall time and the reading aside of guardConn.write, before anything
// after them.
// TLS connections keep their goroutine for everything.
//
// In standalone mode a batch's writes run on the loop too (inlineCommand:
// a data write without a handler of its own that neither blocks nor runs
// a script, SET, INCR, HSET, DEL, ..., while no client waits in a
// blocking command), through the backend's DeferredApplier: applied at
// once, made durable once per turn. From the turn's first write on,
// every reply the loop writes waits in its connection's pend (held) until
// the turn ends: then one fsync covers every client's writes
// (SyncDeferred), and the held replies go out (endTurn), as
// redis-server's beforeSleep writes and fsyncs its AOF once an iteration
// and then sends the iteration's replies. A read that may have seen a
// write whose fsync is still to come (a goroutine's) ends its turn with
// an fsync too (readDurable). A connection handed to its goroutine
// meanwhile ends the turn first, so its replies never pass its writes'
// fsync. A failed fsync closes the connections whose replies it held,
// unanswered: their writes' outcome is unknown. Through Raft a write
// waits for its commit: on a leader, a client's last command is proposed
// from the loop and its batch parks there until the entry commits
// (commitloop.go); a pipeline's writes run on the goroutine, whose group
// makes them one entry. A consistent read
// waits for its leadership check on the loop instead, set aside while
// the loop serves the others (park, below).

// inlineBatch is the most commands a batch may hold and run on the loop:
// a longer pipeline goes to the connection's goroutine, whose wakeup its
// commands share, and runs there beside the loop, on the machine's other
// core. One node, GET with 50 clients, 3 paired rounds (ratio to
// redis-server): everything on the loop reached 0.80-1.01 at -P 1 but
// 0.54-0.62 at -P 16, where the loop's one thread was the bound; with
// batches above 4 commands on the goroutines, 0.80-1.01 and 0.69-0.80
// (goroutines alone: 0.57-0.81 and 0.68-0.85). Standalone writes the
// same way: SET -P 16 ran at 127k-171k/s with every batch on the loop
// against 208k-250k on the goroutines, whose group of 16 writes is one
// apply and one fsync (3 paired rounds, appendfsync always).
const inlineBatch = 4

// maxLoopReads is how many reads in a row the loop gives one connection
// before it serves the others (the connection's turn comes again after
// them): a client that keeps sending short batches of reads.
const maxLoopReads = 16

// onInput is the event loop's netloop.Handler: it runs on the loop's
// thread for a connection the loop holds.
func (s *Server) onInput(ec *netloop.Conn) (again bool) {
	cc := ec.Ctx.(*clientConn)
	g := cc.g
	if g.parked && !s.resume(cc) {
		return false
	}
	for range maxLoopReads {
		err := g.readOnce(true)
		g.queued.Store(g.outBytes + int64(len(g.hold)+g.bigGot)) // CLIENT LIST's qbuf
		switch {
		case err == syscall.EAGAIN:
			return false
		case err != nil:
			g.rerr = err
			s.handOff(g, true)
			return false
		case g.failed != "":
			s.handOff(g, g.drained) // the goroutine answers the refusal (next)
			return false
		case len(g.out) == 0 && g.drained:
			return false // a command half read: its rest will come
		case len(g.out) == 0:
			continue
		}
		if !s.runInline(cc) {
			if g.parked {
				return false
			}
			s.st.handoffs.Add(1) // before the goroutine's replies
			s.handOff(g, g.drained)
			return false
		}
		if g.drained {
			return false
		}
	}
	return true
}

// runInline runs the commands the guard holds on the loop's thread, as
// the connection's goroutine would (Server.loop). It stops, reporting
// false, at the first command that may wait, or once the socket has
// refused replies, leaving that command and those after it in the guard
// (stash) for the goroutine; and after a batch that ended the
// connection. Replies held for the goroutine are then at most a
// pipeline's flushAt and one reply: the goroutine's write waits for the
// client, as it always does.
func (s *Server) runInline(cc *clientConn) bool {
	g := cc.g
	c, _ := cc.ctx.(*client)
	if c == nil || !s.inlineConn(c) {
		return false
	}
	g.onLoop = true
	defer func() { g.onLoop = false }()
	for len(g.out) > 0 || len(g.stash) > 0 {
		cmds, _ := g.next() // returns at once: commands are queued, or a parked batch resumes
		if len(cmds) > inlineBatch {
			g.stash = cmds // a pipeline: the goroutine, on another core
			return false
		}
		cc.cmds = cmds
		s.prefetchReads(c, cmds) // prefetch.go
		for len(cc.cmds) > 0 {
			cmd := cc.cmds[0]
			run := !g.outRefused() && s.inlineCommand(cmd.Args) && s.commitOnLoop(c, cc, cmd.Args)
			if !run && !g.outRefused() {
				// A read at a level of its own (LEVELGET), or a
				// consistent one: at once if this node serves the level
				// so or the read's check has ended, else parked until
				// that check ends (or to the goroutine).
				switch level := s.levelOf(cmd.Args); {
				case level < 0:
				case s.readsAt(level):
					run = true
				case level == 2 && g.verified:
					run = s.readsAt(0)
				case level == 2:
					s.park(c, cc.cmds)
				}
			}
			if !run {
				// The socket refused replies (the goroutine writes them
				// first, and the rest of the batch as the client takes
				// them), or the command may wait: in the goroutine, or
				// parked on the loop.
				g.stash = cc.cmds
				cc.cmds = nil
				clear(cmds[:len(cmds)-len(g.stash)])
				return false
			}
			cc.cmds = cc.cmds[1:]
			s.st.inline.Add(1) // before its reply can be seen
			s.handle(cc, cmd)
			if pw := c.pw; pw != nil {
				// A write proposed from here (applyAsync): the batch
				// waits for its commit, parked, and the socket with it.
				pw.cmd = cmd
				g.stash = cc.cmds
				cc.cmds = nil
				clear(cmds[:len(cmds)-len(g.stash)])
				if pw.refused {
					s.runElsewhere(cc, c) // onInput hands the connection over
					return false
				}
				g.parked = true
				g.parkIn = g.ev.Inputs()
				c.running.Store(true) // until its commit: the idle timeout spares it (timeout.go)
				s.st.parked.Add(1)
				return false
			}
		}
		g.done(cmds)
		if cc.closed || c.quit || g.outRefused() || !s.inlineConn(c) {
			return false
		}
	}
	return true
}

// Consistent reads (LEVELGET key 2, or every read at read-consistency 2)
// wait for a leadership check: raft's heartbeat round, answered by a
// quorum of voters (Store.VerifyLeaderAsync), which every read waiting at
// once shares. On the loop such a read does not go to its goroutine to
// wait:
//
//	loop: runInline meets the read ── park: the rest of the batch to
//	      stash, the check joined, the socket left unread
//	verifier's goroutine: the round ends ── verdict, Kick
//	loop: onInput ── resume: the batch runs (verified), then the socket
//	      is read as usual; a failed check hands it all to the goroutine,
//	      which forwards the reads or answers the error
//
// A parked connection's own input waits in its socket; the others' is
// served meanwhile. Every command the resuming runInline runs (the
// stash, and what else the guard held) was read before the round began,
// so the round covers them all (verified lasts that call); what the
// socket holds is read after it. A connection closed while parked goes
// once its round ends, which raft bounds: the round fails when this node
// stops leading, or when raft shuts down. Three nodes, LEVELGET key 2
// with 50 clients (tools/bench/compare.sh, 3 rounds): 37.2k reads a
// second, against 26.3k when they waited on their goroutines.

// leaderVerifier is a Backend whose consistent reads may wait for their
// leadership check without a goroutine (Store.VerifyLeaderAsync).
type leaderVerifier interface {
	VerifyLeaderAsync(done func(error)) bool
}

// parkVerdict is the outcome of the check that the batch parked as gen
// waited for.
type parkVerdict struct {
	gen uint64
	err error
}

// levelOf is the consistency level args reads at, for a read the loop
// may run once this node serves that level: LEVELGET key level, or a
// fast data read (inlineCommand's) at the configured level; -1 for
// anything else.
func (s *Server) levelOf(args [][]byte) int {
	if len(args) == 0 {
		return -1
	}
	k := command.Lookup(args[0])
	switch {
	case k == specLevelget:
		if level, ok := parseLevel(args[len(args)-1]); ok && len(args) == 3 {
			return level
		}
	case k != nil && len(k.Subs) == 0 && s.fastRead(k):
		return int(s.readLevel.Load())
	}
	return -1
}

// park has the loop's thread wait for a leadership check that begins now
// with c's batch cmds, from the consistent read it reached on (the caller
// stashes them), and sets the guard's parked: the check's end kicks the
// loop (resume). Where this node cannot serve the read by its own check
// (a follower, a new leader short of its first barrier, several groups)
// it does nothing, and the goroutine takes the read.
func (s *Server) park(c *client, cmds []redcon.Command) {
	v, ok := s.b.(leaderVerifier)
	if !ok || s.shards != nil || s.multi() {
		return
	}
	g := c.guard
	g.parkGen++
	gen, ev := g.parkGen, g.ev
	if !v.VerifyLeaderAsync(func(err error) {
		g.verdict.Store(&parkVerdict{gen: gen, err: err})
		ev.Kick()
	}) {
		return
	}
	g.parked = true
	g.parkIn = g.ev.Inputs()
	s.st.parked.Add(1)
	// CLIENT LIST shows the read waiting, as it does a command that waits
	// on the goroutine: its name, its arguments' bytes, the batch's.
	if k := command.Lookup(cmds[0].Args[0]); k != nil {
		c.last.Store(&k.Name)
	}
	var argv, qbuf int64
	for _, a := range cmds[0].Args {
		argv += int64(len(a))
	}
	for _, cmd := range cmds {
		qbuf += int64(len(cmd.Raw))
	}
	c.io.argv.Store(argv)
	c.io.qbuf.Store(qbuf + g.outBytes)
}

// resume runs cc's parked batch once its check has ended, and reports
// whether the loop goes on to read the socket: false while the check
// runs, and when the batch or a failed check went to the goroutine.
func (s *Server) resume(cc *clientConn) bool {
	g := cc.g
	v := g.verdict.Load()
	if v == nil || v.gen != g.parkGen {
		return false // a kick for something else: the check runs still
	}
	g.parked = false
	c, _ := cc.ctx.(*client)
	write := c != nil && c.pw != nil
	refused := write && (c.pw.refused || neverAppended(c.pw.err))
	switch {
	case refused:
		s.runElsewhere(cc, c) // the goroutine runs it again
	case write:
		s.finishWrite(cc, c) // then the batch's rest, as after a read's check
		if quietSincePark(cc, c) {
			return false // nothing to run, and a read would find the socket empty
		}
	}
	if !refused && (write || v.err == nil) {
		g.verified = !write // for this call only: what comes later was read after the check began
		ran := s.runInline(cc)
		g.verified = false
		if ran {
			return !quietSincePark(cc, c)
		}
		if g.parked {
			return false
		}
	}
	// The socket was left unread: the goroutine reads it first.
	s.st.handoffs.Add(1)
	s.handOff(g, false)
	return false
}

// quietSincePark reports whether cc's socket holds nothing to read now
// that its parked batch has run: it was drained when the batch parked,
// epoll has reported no input since (parkIn), and the guard holds no
// command or reply. The loop then skips the read, which would only find
// the socket empty: one system call a client's request, at -P 1, for
// writes and consistent reads alike.
func quietSincePark(cc *clientConn, c *client) bool {
	g := cc.g
	return g.drained && g.ev.Inputs() == g.parkIn && len(g.out) == 0 && len(g.stash) == 0 && len(g.pend) == 0 && !cc.closed && !c.quit
}

// inlineConn reports whether c's state lets its commands run on the
// loop's thread (the file's doc).
func (s *Server) inlineConn(c *client) bool {
	g := c.guard
	return g != nil && !c.multi && c.ps == nil && c.tr == nil && !c.quit && !c.deaf &&
		!c.link.linked && !c.nodeLink.Load() && !c.grp.pending() &&
		len(g.bigs) == 0 && g.lim.output(obufNormal).none() && !s.pauseInForce()
}

// pauseInForce reports whether a CLIENT PAUSE has not yet ended
// (pausedFor then decides what it holds), reading the clock only while
// one was set.
func (s *Server) pauseInForce() bool {
	if s.pause.out.Load() > 0 {
		return true // the commands it held still run in turn
	}
	end := s.pause.endNs.Load()
	return end != 0 && time.Now().UnixNano() < end
}

// inlineCommand reports whether the command args names may run on the
// loop's thread: a fast data read, PING or ECHO, or in standalone mode a
// data write that neither blocks nor runs a script.
func (s *Server) inlineCommand(args [][]byte) bool {
	if len(args) == 0 {
		return false
	}
	k := command.Lookup(args[0])
	if k == nil || len(k.Subs) > 0 {
		return false
	}
	if k.Name == "ping" || k.Name == "echo" {
		return true
	}
	if k.Flags&command.FlagWrite != 0 {
		// Not while a client waits in BLPOP or the like: Redis serves
		// blocked clients after each command, and the loop's writes
		// wake them only at the turn's end (SyncDeferred).
		const not = command.FlagBlocking | command.FlagMayReplicate | command.FlagInternal
		return k.Flags&not == 0 && k.IsData() && s.handlers[k.ID] == nil && !audited[k.Name] &&
			s.waiters.blocked() == 0 && (s.writesNow() || s.commitsNow())
	}
	// readsNow for each command: a leader that lost its place since the
	// batch began must forward the next read, on the goroutine.
	return s.fastRead(k) && s.readsNow()
}

// fastRead reports whether k is a fast data read the data layer serves.
func (s *Server) fastRead(k *command.Spec) bool {
	const want = command.FlagReadonly | command.FlagFast
	const not = command.FlagWrite | command.FlagMayReplicate | command.FlagBlocking | command.FlagInternal
	return k.Flags&want == want && k.Flags&not == 0 && k.IsData() && s.handlers[k.ID] == nil
}

// nowReader is a Backend that can tell, without waiting, whether
// ReadBarrier(level) would let a read run at once.
type nowReader interface{ ReadsNow(level int) bool }

// readsNow reports whether a read at the configured level runs on this
// node without waiting or forwarding: one group, not cluster mode, and
// the backend says so.
func (s *Server) readsNow() bool { return s.readsAt(int(s.readLevel.Load())) }

// readsAt is readsNow at level.
func (s *Server) readsAt(level int) bool {
	if s.shards != nil || s.multi() {
		return false
	}
	r, ok := s.b.(nowReader)
	return ok && r.ReadsNow(level)
}

// writesNow reports whether writes run on the loop's thread: one group,
// not cluster mode, and a backend that defers its fsync to the turn's
// end (standalone mode).
func (s *Server) writesNow() bool {
	if s.shards != nil || s.multi() {
		return false
	}
	_, ok := s.b.(backend.DeferredApplier)
	return ok
}

// commitsNow reports whether writes may be proposed from the loop's
// thread and wait for their commit parked there (applyAsync): one group,
// not cluster mode, and a backend that proposes without waiting and leads
// now (a Raft leader).
func (s *Server) commitsNow() bool {
	if s.shards != nil || s.multi() {
		return false
	}
	a, ok := s.b.(backend.AsyncApplier)
	return ok && a.WritesNow()
}

// loopTurn is what one turn of the event loop holds back until its end
// (endTurn): the loop's thread alone touches it.
type loopTurn struct {
	// b applied writes on the loop this turn, not yet durable; nil when
	// the turn wrote nothing.
	b backend.DeferredApplier
	// held are the connections whose replies wait in pend for the turn's
	// fsync (guardConn.held).
	held []*guardConn
	// writes are the writes through Raft the turn proposes at its end
	// (applyAsync, proposeTurn).
	writes []*pendingWrite
}

// applyOnLoop applies e, a write that inlineCommand let onto the loop's
// thread, leaving its fsync to the turn's end.
func (s *Server) applyOnLoop(b backend.Backend, e *command.Entry) *command.Result {
	d, ok := b.(backend.DeferredApplier)
	if !ok {
		return &command.Result{Error: "ERR internal error: a write on the event loop without a deferred fsync"}
	}
	s.turn.b = d
	res, err := d.ApplyDeferred(e)
	if err != nil {
		return &command.Result{Error: applyErrorText(err)}
	}
	return res
}

// endTurn is the event loop's end of a turn (netloop.New): once the
// turn's writes are durable, the replies held for them go out; what a
// socket does not take goes with its connection to the goroutine. When
// the fsync fails, the held connections close unanswered.
//
// The fsync runs on the loop's thread, as redis-server's does with
// appendfsync always. An fsync run beside the loop, by a goroutine, while
// the loop ran the next turn and held its replies for the next fsync,
// was slower: SET -P 1 with 50 clients, 4 paired rounds, 21.0k to 28.6k
// against 21.3k to 31.3k here (redis-server: 19.4k to 40.0k). The loop
// is not the bound there (54% of a core): each fsync's round trip
// through the scheduler is.
func (s *Server) endTurn() {
	s.proposeTurn() // commitloop.go
	s.endTurnBut(nil)
}

// endTurnBut is endTurn for handOff, whose connection but it leaves to
// the caller.
func (s *Server) endTurnBut(but *guardConn) {
	t := &s.turn
	if t.b == nil {
		return
	}
	err := t.b.SyncDeferred()
	t.b = nil
	if err != nil {
		s.cfg.Logger.Error("fsync after the event loop's writes failed: closing the clients that wrote or read them, unanswered", "err", err, "clients", len(t.held))
	}
	for i, g := range t.held {
		t.held[i] = nil
		g.held = false
		pend := g.pend
		g.pend = nil
		if err != nil {
			clear(pend)
			g.ev.Close()
			continue
		}
		for j, p := range pend {
			g.writeOrKeep(p, false)
			pend[j] = nil
		}
		if len(g.pend) > 0 && g != but {
			s.st.handoffs.Add(1)
			g.ev.HandOff(g.drained) // its goroutine writes the rest (flushPend)
		}
	}
	t.held = t.held[:0]
}

// handOff gives g's connection to its goroutine from the loop's thread,
// once the replies it holds for the turn's fsync are free to go.
func (s *Server) handOff(g *guardConn, drained bool) {
	if g.held {
		s.endTurnBut(g)
	}
	g.ev.HandOff(drained)
}

// readDurable makes what a command that is not a write read durable
// before its reply can go out (backend.DurableReads): a write through
// Apply is answered after its fsync already, which covers every write
// applied before it. On the loop's thread the turn's fsync does it,
// holding the turn's replies from then on; on the connection's goroutine
// an fsync now, shared with other writers'. redis-server, which fsyncs
// before it sends an iteration's replies, never shows a client what a
// crash would take back.
func (s *Server) readDurable(c *client) error {
	if s.dr == nil {
		return nil
	}
	m := s.dr.Unsynced()
	if m == 0 {
		return nil
	}
	if c.guard != nil && c.guard.onLoop {
		if d, ok := s.b.(backend.DeferredApplier); ok {
			s.turn.b = d
			return nil
		}
	}
	return s.dr.SyncTo(m)
}

// outRefused reports whether the socket refused replies the loop wrote:
// pend holds them for the goroutine, rather than for the turn's fsync.
func (g *guardConn) outRefused() bool { return len(g.pend) > 0 && !g.held }

// writeLoop writes the replies b holds, with the values spilled out of
// it in their places, from the loop's thread: what the socket does not
// take now waits in pend, for the connection's goroutine (flushPend).
// Once the turn has written, all of it waits in pend for the turn's end
// (endTurn). Spilled values wait by reference (nothing changes them once
// read); the rest of b, which the connection reuses, is copied.
func (g *guardConn) writeLoop(b []byte, spills []spilled) {
	if t := g.turn; t != nil && t.b != nil && !g.held {
		g.held = true
		t.held = append(t.held, g)
	}
	from := 0
	for _, sp := range spills {
		g.writeOrKeep(b[from:sp.at], true)
		g.writeOrKeep(sp.v, false)
		from = sp.at
	}
	g.writeOrKeep(b[from:], true)
}

// writeOrKeep writes what the socket takes of p without waiting, unless
// replies wait already (or are held for the turn's fsync), and keeps the
// rest in pend: a copy when cp.
func (g *guardConn) writeOrKeep(p []byte, cp bool) {
	if len(p) == 0 {
		return
	}
	n := 0
	if len(g.pend) == 0 && !g.held {
		n, _ = g.writeNow(p)
		if g.st != nil {
			g.st.writes.Add(1)
			g.st.netOut.Add(int64(n))
		}
		if n > 0 && g.owner != nil {
			g.owner.lastCmd.Store(time.Now().UnixNano())
		}
	}
	if rest := p[n:]; len(rest) > 0 {
		if g.st != nil {
			g.st.pended.Add(1)
		}
		if cp {
			rest = append([]byte(nil), rest...)
		}
		g.pend = append(g.pend, rest)
	}
}

// flushPend writes the replies the loop left in pend, waiting as write
// does; the connection's goroutine calls it before anything it writes
// itself.
func (g *guardConn) flushPend() error {
	if len(g.pend) == 0 {
		return nil
	}
	pend := g.pend
	g.pend = nil
	for i, p := range pend {
		pend[i] = nil
		if _, err := g.Write(p); err != nil {
			return err
		}
	}
	return nil
}
