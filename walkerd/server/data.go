package server

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// runWrite parses a write command once and applies it as a one-command
// entry that carries the parsed arguments.
func (s *Server) runWrite(c *client, spec *command.Spec, args [][]byte) {
	now := s.cmdNowMs(c)
	p := spec.ParseArgs(args, now)
	if p.Err != nil {
		c.fail(p.Err)
		return
	}
	w := &oneWrite{}
	w.cmds[0], w.parsed[0] = args, p
	w.e = command.Entry{NowMs: now, DB: c.db, Cmds: w.cmds[:], Parsed: w.parsed[:], Room: c.room}
	res := s.propose(c, &w.e)
	if res == pendingResult {
		return // answered once it commits (commitloop.go)
	}
	res.Reply().WriteTo(c.w)
}

// oneWrite is the entry of one write command with its slices' arrays: one
// allocation rather than three.
type oneWrite struct {
	e      command.Entry
	cmds   [1][][]byte
	parsed [1]command.Parsed
}

// propose applies an entry through the backend, forwarding it to the
// leader when this node is not the leader. Failures come back as the
// result's Error.
func (s *Server) propose(c *client, e *command.Entry) (res *command.Result) {
	c.wrote = true
	if e.User == "" {
		e.User = s.restrictedUser(c) // acl.go: what its scripts call
	}
	gi, broadcast, errText := s.entryRoute(e) // groups.go
	if c.askGroup > 0 && errText == "" && !broadcast {
		gi = c.askGroup - 1 // sent here by a migration's -ASK (route)
	}
	defer func() { c.noteWrite(gi, res) }() // WAIT's position (wait.go)
	defer s.trackWrite(c)(&res)             // NOLOOP (tracking.go)
	switch {
	case errText != "":
		return &command.Result{Error: errText}
	case broadcast:
		return s.broadcast(c, e)
	}
	res = s.applyGroup(c, gi, e)
	if s.multi() {
		res = s.reroute(c, gi, e, res) // a slot that moved to another group (slotmove.go)
	}
	return res
}

// backendOf is the group the running command's keys belong to (route):
// the node's one group, or the home group for a keyless command.
func (s *Server) backendOf(c *client) backend.Backend {
	if c.be != nil {
		return c.be
	}
	return s.b
}

const unknownOutcome = "UNKNOWN the outcome of this write is unknown: "

// leaderUnreachable begins the answer to an entry whose forward never
// left this node (backend.ErrNotSent): certainly not applied.
const leaderUnreachable = "CLUSTERDOWN leader unreachable: "

func applyErrorText(err error) string {
	if errors.Is(err, backend.ErrUnknownOutcome) {
		return unknownOutcome + "leadership was lost while it was in flight; it may or may not have been applied"
	}
	return errorText(err)
}

// removedText answers every command a node removed from the cluster would
// forward: it has no leader to forward to, and may not use one it knew.
const removedText = "CLUSTERDOWN this node was removed from the cluster (LEAVE); restart it with -join <member> to rejoin"

// forwardApply sends an entry to the leader as WALKER.APPLY, whose reply is
// the result in command's binary form; group names the Raft group it is
// for when the node hosts several and the entry's keys do not say
// (a broadcast), "" otherwise.
func (s *Server) forwardApply(c *client, nl *backend.NotLeaderError, e *command.Entry, group string) *command.Result {
	if nl.Removed {
		return &command.Result{Error: removedText}
	}
	if c.forwarded {
		return &command.Result{Error: leadershipMovedText}
	}
	if nl.LeaderAddr == "" || s.cfg.Forwarder == nil {
		return &command.Result{Error: "CLUSTERDOWN no leader"}
	}
	s.stats.forwarded.Add(1)
	res, err := ApplyAt(s.cfg.Forwarder, nl.LeaderAddr, e, c.userName(), group)
	switch {
	case errors.Is(err, backend.ErrNotSent):
		return &command.Result{Error: leaderUnreachable + err.Error()}
	case err != nil:
		return &command.Result{Error: unknownOutcome + err.Error()}
	}
	return res
}

// ApplyAt sends entry e to the leader at addr as WALKER.APPLY, as user, to
// the Raft group named group ("": the group of the entry's keys), and
// returns the leader's result. The leader's error reply (not the leader
// any more: CLUSTERDOWN ...) comes back as the result's Error. err wraps
// backend.ErrNotSent when the entry never left (no connection), and is
// otherwise a lost or garbled reply: the outcome is unknown.
func ApplyAt(f backend.Forwarder, addr string, e *command.Entry, user, group string) (*command.Result, error) {
	fw := [][]byte{[]byte("WALKER.APPLY"), e.Encode(), []byte(user)}
	if group != "" {
		fw = append(fw, []byte(group))
	}
	raw, err := f.Do(addr, fw)
	if err != nil {
		if errors.Is(err, backend.ErrNotSent) {
			return nil, err
		}
		return nil, fmt.Errorf("forwarding to the leader failed: %w", err)
	}
	body, errText := leaderReply(raw)
	if errText != "" {
		return &command.Result{Error: errText}, nil
	}
	res, err := command.DecodeResult(body)
	if err != nil {
		return nil, fmt.Errorf("bad reply from the leader: %w", err)
	}
	return res, nil
}

// leaderReply takes the bulk string a leader answers WALKER.APPLY and
// WALKER.FORWARD with, or the text of its error reply.
func leaderReply(raw []byte) (body []byte, errText string) {
	v, _, err := resp.Parse(raw)
	switch {
	case err != nil:
		return nil, "ERR bad reply from the leader: " + err.Error()
	case v.Kind == resp.KindError:
		return nil, string(v.Str)
	case v.Kind != resp.KindBulk || v.Null:
		return nil, "ERR bad reply from the leader"
	}
	return v.Str, ""
}

// readAt runs a read at a consistency level: locally (local writes its
// reply) when the backend allows it, else at the leader.
func (s *Server) readAt(c *client, level int, args [][]byte, local func()) {
	if level == 2 && c.guard != nil && c.guard.onLoop && c.guard.verified {
		level = 0 // the loop held the read until a check begun after it ended (evloop.go)
	}
	err := s.readBarrier(c, level)
	if err == nil {
		msg, moving := s.readRefusal(c, args) // after the barrier: slotmove.go
		if msg != "" {
			s.rerouteRead(c, level, args, local, msg, false)
			return
		}
		if !moving {
			local()
			return
		}
		// The keys' slot is migrating: a batch released meanwhile may
		// have taken a key the read then missed. A key absent once stays
		// absent, so if the judgement still stands after the read, it
		// stood during it; else the read goes where the keys went.
		mark, rec := len(c.enc.B), c.w
		local()
		if msg, _ := s.readRefusal(c, args); msg != "" {
			switch w := rec.(type) {
			case *command.Recorder:
				w.R = nil
			default:
				if rec != &c.enc {
					return // the reply is out: it stands
				}
				c.truncateOutput(mark)
			}
			s.rerouteRead(c, level, args, local, msg, false)
		}
		return
	}
	var nl *backend.NotLeaderError
	if !errors.As(err, &nl) {
		c.fail(err)
		return
	}
	msg := s.forward(c, nl, level, args, true)
	// The node it reached no longer leads (a leadership transfer or an
	// election under way) and refused it unrun, or the forward failed (the
	// link was dropped as leadership moved, or the leader could not be
	// reached): the read goes again to the leader this node knows then,
	// after a pause that doubles from 5 ms, until leaderWait has passed,
	// as a write does (applyGroup); then it answers the last failure.
	var deadline time.Time
	for pause := 5 * time.Millisecond; msg == leadershipMovedText || strings.HasPrefix(msg, forwardFailed); pause = min(2*pause, 50*time.Millisecond) {
		if deadline.IsZero() {
			deadline = time.Now().Add(leaderWait)
		}
		if !time.Now().Add(pause).Before(deadline) || !s.pauseFor(pause) {
			c.errorReply(msg)
			return
		}
		if err := s.readBarrier(c, level); err == nil || !errors.As(err, &nl) {
			s.readAt(c, level, args, local) // this node leads now, or it answers the error
			return
		}
		msg = s.forward(c, nl, level, args, true)
	}
	if msg != "" {
		s.rerouteRead(c, level, args, local, msg, true)
	}
}

// readBarrier is the ReadBarrier of c's group for a read at level; when
// the group knows no leader, it waits for one to be elected (awaitLeader)
// and asks again.
func (s *Server) readBarrier(c *client, level int) error {
	err := s.backendOf(c).ReadBarrier(level)
	// nl is declared on the failure path only: errors.As takes its
	// address, so it is a heap allocation wherever it is declared, and
	// the local read is every GET.
	if err != nil {
		var nl *backend.NotLeaderError
		if errors.As(err, &nl) && nl.LeaderAddr == "" && !nl.Removed && !c.forwarded && s.awaitLeader(s.backendOf(c)) {
			err = s.backendOf(c).ReadBarrier(level) // a leader was elected meanwhile (groups.go)
		}
	}
	return err
}

// pauseFor waits d; false if the server closes meanwhile.
func (s *Server) pauseFor(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.quit:
		return false
	case <-t.C:
		return true
	}
}

// forward runs a command at the leader with WALKER.FORWARD and writes its
// reply: reads at a consistency level, and leader-only commands (JOIN,
// LEAVE). It is the one path every forwarded command takes but writes
// (forwardApply). A read sent on to a group by a migration's ASK
// (c.askGroup) names that group: "<level>@<group>". It returns the
// leader's refusal of the read (isRefusal), or leadershipMovedText when
// the node it reached no longer leads, having written nothing, for the
// caller to settle (slotmove.go, readAt). read says the command changes
// nothing, so that it may be sent again: when the forward itself fails
// (the link dropped because another node leads now, a leader that cannot
// be reached, a connection lost), it returns the failure's text, which
// begins with forwardFailed, rather than answer it. SCRIPT KILL and
// FUNCTION KILL, which readAt forwards too, may have stopped a script at
// the leader: they answer the failure, as JOIN does.
func (s *Server) forward(c *client, nl *backend.NotLeaderError, level int, args [][]byte, read bool) (refusal string) {
	switch {
	case nl.Removed:
		c.errorReply(removedText)
		return ""
	case c.forwarded && c.keySlot != 0 && s.multi():
		// The node that forwarded it routes it again (slotmove.go): its
		// slot moved, or its group's leadership did.
		c.errorReply(string(command.ErrSlotMoved))
		return ""
	case c.forwarded:
		c.errorReply(leadershipMovedText)
		return ""
	case nl.LeaderAddr == "" || s.cfg.Forwarder == nil:
		c.errorReply("CLUSTERDOWN no leader")
		return ""
	}
	s.stats.forwarded.Add(1)
	lv := strconv.AppendInt(nil, int64(level), 10)
	if c.askGroup > 0 {
		lv = append(append(lv, '@'), s.groupID(c.askGroup-1)...)
	}
	fw := make([][]byte, 0, len(args)+4)
	fw = append(fw, []byte("WALKER.FORWARD"), lv, strconv.AppendInt(nil, int64(c.db), 10), []byte(c.userName()))
	fw = append(fw, args...)
	raw, err := s.cfg.Forwarder.Do(nl.LeaderAddr, fw)
	if err != nil {
		if read && !c.forwarded && !kills(args) {
			return forwardFailed + err.Error() // readAt sends it again
		}
		c.errorReply(forwardFailed + err.Error())
		return ""
	}
	body, errText := leaderReply(raw)
	if errText != "" {
		c.errorReply(errText)
		return ""
	}
	r, err := command.DecodeReply(body)
	if err != nil {
		c.errorReply("ERR bad reply from the leader: " + err.Error())
		return ""
	}
	if msg, ok := replyRefusal(r); ok && !c.forwarded {
		return msg
	}
	if msg, ok := r.Err(); ok && msg == leadershipMovedText && !c.forwarded {
		return msg
	}
	r.WriteTo(c.w)
	return ""
}

// runRead runs a data read at the configured level.
func (s *Server) runRead(c *client, spec *command.Spec, args [][]byte) {
	s.trackRead(c, spec, args) // CLIENT TRACKING (tracking.go)
	if s.multi() && allGroupReads[spec.Name] {
		s.readLocal(c, spec, args) // this node's copies of its groups (groups.go)
		return
	}
	level := int(s.readLevel.Load())
	if c.localRead {
		level = 1 // a READONLY client's read of a slot led elsewhere (clustermode.go)
	}
	s.readAt(c, level, args, func() { s.readLocal(c, spec, args) })
}

// readLocal runs a data read on this node's engine. spec is the command's,
// its arity checked.
func (s *Server) readLocal(c *client, spec *command.Spec, args [][]byte) {
	if s.readAllGroups(c, spec, args) { // DBSIZE, KEYS, RANDOMKEY (groups.go)
		return
	}
	mark := len(c.enc.B)
	err := command.ReadCounted(s.backendOf(c).Engine(), c.db, s.cmdNowMs(c), spec, args, c.w, s.ps.keyMiss(c.db), &s.st.keys, // notify.go, stats.go
		s.restrictedUser(c)) // acl.go: what a read script calls
	if errors.Is(err, command.ErrWriteNeeded) {
		s.readAsWrite(c, spec, args)
		return
	}
	if err != nil {
		if c.w == &c.enc {
			c.truncateOutput(mark)
		}
		c.fail(err)
	}
}

// readAsWrite runs a read that changes data, as Redis's does (PFCOUNT
// caching the count it computed), as a write through the log, so that
// every node makes the change. When the write cannot be made (no leader,
// outcome unknown) it answers from this node without the change.
func (s *Server) readAsWrite(c *client, spec *command.Spec, args [][]byte) {
	now := s.cmdNowMs(c)
	p := spec.ParseArgs(args, now)
	if p.Err != nil {
		c.fail(p.Err)
		return
	}
	e := &command.Entry{NowMs: now, DB: c.db, Cmds: [][][]byte{args}, Parsed: []command.Parsed{p}}
	if res := s.propose(c, e); res.Error == "" {
		res.Reply().WriteTo(c.w)
		return
	}
	mark := len(c.enc.B)
	if err := command.ReadNoWrite(s.backendOf(c).Engine(), c.db, now, spec, args, c.w); err != nil {
		if c.w == &c.enc {
			c.truncateOutput(mark)
		}
		c.fail(err)
	}
}

// ParseLevel reads a consistency level: 0 or default, 1 or stale, 2 or
// consistent (any case).
func ParseLevel(s string) (int, error) {
	if l, ok := parseLevel([]byte(s)); ok {
		return l, nil
	}
	return 0, fmt.Errorf("server: consistency level %q: want 0/default, 1/stale or 2/consistent", s)
}

func parseLevel(b []byte) (int, bool) {
	switch {
	case string(b) == "0" || equalFoldStr(b, "default"):
		return 0, true
	case string(b) == "1" || equalFoldStr(b, "stale"):
		return 1, true
	case string(b) == "2" || equalFoldStr(b, "consistent"):
		return 2, true
	}
	return 0, false
}

// Specs the server runs reads of itself.
var (
	specGet      = command.LookupName("get")
	specLevelget = command.LookupName("levelget")
	specScan     = command.LookupName("scan")
	specVersions = command.LookupName("walker.versions")
)

// LEVELGET key level: a GET at the given consistency level.
func cmdLevelget(s *Server, c *client, args [][]byte) {
	level, ok := parseLevel(args[2])
	if !ok {
		c.errorReply("ERR invalid consistency level: want 0/default, 1/stale or 2/consistent")
		return
	}
	get := [][]byte{[]byte("GET"), args[1]}
	s.readAt(c, level, get, func() { s.readLocal(c, specGet, get) })
}

// WALKER.APPLY <entry> <user> [<group>]: a follower forwards a write its
// client's user ran. The leader checks the user's permissions again with
// the users it has applied (the follower's may lag a change), then applies
// the entry with its own clock; the reply is the Result in command's
// binary form. On a node with several Raft groups the entry goes to the
// group named, or else to the group of its keys (groups.go).
func cmdWalkerApply(s *Server, c *client, args [][]byte) {
	if !guardLinked(c) { // link.go
		return
	}
	c.nodeLink.Store(true)
	e, err := command.DecodeEntry(args[1])
	if err != nil {
		c.fail(err)
		return
	}
	if len(c.room) == 1 {
		// A large entry, read into a buffer of its own (guard.go): the log
		// entry is framed around its value where it lies.
		e.FrameIn(c.room[0], bigArgMin)
	}
	if msg := s.checkForwarded(c, string(args[2]), e.Cmds); msg != "" {
		c.bulk(command.EncodeResult(&command.Result{Error: msg}))
		return
	}
	e.NowMs = s.nowMs()
	// Parsed here once, so that this node's state machine does not parse
	// the entry again (the follower parsed it at its own clock).
	for _, args := range e.Cmds {
		e.Parsed = append(e.Parsed, command.ParseCommand(args, e.NowMs))
	}
	gi, broadcast, errText := s.entryRoute(e)
	if !broadcast && errText == "" {
		if gj, ok := s.ledHere(entrySlot(e)); ok {
			gi = gj // this node's routing table lags a move (slotmove.go)
		}
	}
	if len(args) > 3 {
		if gi = s.groupByID(string(args[3])); gi < 0 {
			errText = "ERR no such Raft group on this node: " + string(args[3])
		}
	}
	if errText != "" {
		c.bulk(command.EncodeResult(&command.Result{Error: errText}))
		return
	}
	res, err := s.applyWaiting(s.groupB(gi), e)
	if err != nil {
		var nl *backend.NotLeaderError
		if errors.As(err, &nl) {
			c.errorReply(leadershipMovedText)
			return
		}
		res = &command.Result{Error: applyErrorText(err)}
	}
	c.bulk(command.EncodeResult(res))
}

// forwardFailed begins the answer to a command whose forward to the
// leader failed: no reply came (it may have run there, or not).
const forwardFailed = "CLUSTERDOWN forwarding to the leader failed: "

// kills reports whether args is SCRIPT KILL or FUNCTION KILL.
func kills(args [][]byte) bool {
	return len(args) == 2 && bytes.EqualFold(args[1], []byte("kill")) &&
		(bytes.EqualFold(args[0], []byte("script")) || bytes.EqualFold(args[0], []byte("function")))
}

// forwardable reports whether a follower may run a command at the leader
// through WALKER.FORWARD: reads, and the commands only a leader carries
// out.
func forwardable(k *command.Spec) bool {
	switch k.Name {
	case "join", "leave", "raft.transfer",
		"fcall", "eval", "evalsha", // of a no-writes function or script
		"script|exists", "function|list", "function|dump",
		"script|kill", "function|kill": // a follower's read scripts run at the leader
		return true
	}
	return k.Flags&command.FlagReadonly != 0
}

// WALKER.FORWARD <level> <db> <user> <command...>: a follower forwards a
// read at a consistency level, or a leader-only command. The command runs
// here as the follower's client would run it, as its user (whose
// permissions are checked again), with its reply recorded and sent back in
// command's binary form.
func cmdWalkerForward(s *Server, c *client, args [][]byte) {
	if !guardLinked(c) { // link.go
		return
	}
	c.nodeLink.Store(true)
	lv, askGroup, asked := bytes.Cut(args[1], []byte("@"))
	level, ok := parseLevel(lv)
	if !ok {
		c.errorReply("ERR invalid consistency level")
		return
	}
	db, err := command.ParseDB(args[2])
	if err != nil {
		c.fail(err)
		return
	}
	user, inner := string(args[3]), args[4:]
	k := command.Lookup(inner[0])
	if k != nil && len(k.Subs) > 0 && len(inner) > 1 {
		k = k.Sub(inner[1]) // a read subcommand: XINFO GROUPS, OBJECT ENCODING
	}
	if k == nil || !forwardable(k) {
		c.errorReply(string(command.ErrUnknownCommand(inner)))
		return
	}
	if !command.ArityOK(k.Arity, len(inner)) {
		c.errorReply(string(command.ErrArity(k.Name)))
		return
	}
	var rec command.Recorder
	fc := &client{id: c.id, addr: c.addr, laddr: c.laddr, created: c.created, db: db, authed: true, w: &rec, forwarded: true, user: user}
	if slot, n, cross := s.commandSlot(k, inner, -1, 0); n > 0 && !cross {
		gi, led := s.ledHere(slot) // this node's routing table lags a move (slotmove.go)
		if !led {
			gi = s.groupOf(slot)
		}
		if asked { // sent on by a migration's ASK (slotmove.go)
			if gi = s.groupByID(string(askGroup)); gi < 0 || gi == placementIndex {
				c.errorReply("ERR no such Raft group on this node: " + string(askGroup))
				return
			}
		}
		fc.be, fc.keySlot = s.groupB(gi), slot+1 // the group of the read's keys (groups.go)
		if fc.be == nil {
			c.errorReply(notRunText)
			return
		}
	}
	if msg := s.checkForwarded(fc, user, [][][]byte{inner}); msg != "" {
		fc.errorReply(msg)
	} else if k.IsData() && s.handlers[k.ID] == nil {
		s.readAt(fc, level, inner, func() { s.readLocal(fc, k, inner) })
	} else {
		s.run(fc, k, inner) // SCAN, JOIN, LEAVE, RAFT.TRANSFER
	}
	c.bulk(command.EncodeReply(rec.R))
}

// --- transactions ---

func cmdMulti(s *Server, c *client, args [][]byte) {
	if c.multi {
		c.errorReply("ERR MULTI calls can not be nested")
		return
	}
	c.multi, c.dirty, c.queue = true, false, nil
	c.ok()
}

func cmdDiscard(s *Server, c *client, args [][]byte) {
	if !c.multi {
		c.errorReply("ERR DISCARD without MULTI")
		return
	}
	c.resetMulti()
	c.ok()
}

func (c *client) resetMulti() {
	c.multi, c.dirty, c.queue, c.watches = false, false, nil, nil
}

func cmdWatch(s *Server, c *client, args [][]byte) {
	if c.multi {
		c.errorReply("ERR WATCH inside MULTI is not allowed")
		return
	}
	keys := args[1:]
	var rec command.Recorder
	vc := &client{id: c.id, db: c.db, authed: true, w: &rec, forwarded: c.forwarded, be: c.be, keySlot: c.keySlot} // the keys' group (groups.go) and slot (slotmove.go)
	vargs := append([][]byte{[]byte("WALKER.VERSIONS")}, keys...)
	s.readAt(vc, int(s.readLevel.Load()), vargs, func() { s.readLocal(vc, specVersions, vargs) })
	r := rec.R
	if msg, isErr := r.Err(); isErr {
		c.errorReply(msg)
		return
	}
	if len(r) != len(keys)+1 || r[0].Kind != command.KindArray {
		c.errorReply("ERR bad reply to WALKER.VERSIONS")
		return
	}
	for i, k := range keys {
		c.watches = append(c.watches, command.Watch{DB: c.db, Key: k, Seq: uint64(r[i+1].N)})
	}
	c.ok()
}

func cmdUnwatch(s *Server, c *client, args [][]byte) {
	c.watches = nil
	c.ok()
}

// cmdExec runs the queued commands. Data commands (and PING, ECHO, SELECT,
// TIME) go into one entry, parsed once here at the entry's time, that the
// state machine applies atomically, its reads included (SCAN too:
// inEntry); server-local commands (CONFIG, CLIENT, INFO, ...) run here
// after the entry, and their replies take their places in the array.
func cmdExec(s *Server, c *client, args [][]byte) {
	if !c.multi {
		c.errorReply("ERR EXEC without MULTI")
		return
	}
	queue, watches, dirty := c.queue, c.watches, c.dirty
	c.resetMulti()
	if dirty {
		c.errorReply("EXECABORT Transaction discarded because of previous errors.")
		return
	}
	now := s.cmdNowMs(c)
	e := &command.Entry{NowMs: now, DB: c.db, Exec: true, Watches: watches}
	denied := s.deniedAtExec(c, queue) // acl.go
	cloned := false
	for i, q := range queue {
		if denied != nil && denied[i] != "" {
			continue
		}
		if get, ok := levelgetInExec(q); ok {
			if !cloned { // the queue's array is dispatch's too, for MONITOR
				queue, cloned = slices.Clone(queue), true
			}
			queue[i] = get
			q = get
		}
		if s.inEntry(q) {
			e.Cmds = append(e.Cmds, q.args)
			e.Parsed = append(e.Parsed, q.spec.ParseArgs(q.args, now))
		}
	}
	res := &command.Result{}
	s.trackExec(c, queue) // CLIENT TRACKING (tracking.go)
	if len(e.Cmds) > 0 || len(watches) > 0 {
		res = s.propose(c, e)
	}
	switch {
	case res.Error != "":
		c.errorReply(res.Error)
		return
	case res.Aborted:
		c.w.NullArray()
		return
	case len(res.Replies) != len(e.Cmds):
		c.errorReply("ERR internal error: the transaction's result does not match its commands")
		return
	}
	// The transaction ran: its SELECTs move the connection.
	db := c.db
	for i, p := range e.Parsed {
		if p.Spec.Name == "select" && p.Err == nil {
			if _, isErr := res.Replies[i].Err(); !isErr {
				db = p.Args.(int)
			}
		}
	}
	c.setDB(db)
	c.array(len(queue))
	c.inExec = true
	defer func() { c.inExec = false }()
	next := 0
	for i, q := range queue {
		if denied != nil && denied[i] != "" {
			c.errorReply(denied[i])
			continue
		}
		if s.inEntry(q) {
			// PING after a SUBSCRIBE the EXEC ran: RESP2's ["pong", arg].
			if !s.publishReply(c, q.spec, q.args, res.Replies[next]) && !(q.spec.Name == "ping" && c.pingSubscribed(q.args)) {
				res.Replies[next].WriteTo(c.w)
			}
			next++
			continue
		}
		s.run(c, q.spec, q.args)
	}
}

// inEntry reports whether EXEC runs queued command q inside the
// transaction's entry, in its place among the queued writes: the data
// commands do, SCAN among them, except on a node of several groups,
// where a page spans the groups the node holds and the entry is one
// group's (scanLocal), so SCAN runs after the entry. Every other command
// runs after the entry, its reply in its place.
func (s *Server) inEntry(q queued) bool {
	return q.spec.IsData() && !(q.spec == specScan && s.multi())
}

// levelgetInExec is the GET that a LEVELGET with a valid level, queued in
// MULTI, runs as: inside the transaction's entry, in its place among the
// queued writes, as a GET would (a tester found it ran after EXEC's
// entry and saw the writes queued after it). Every level reads the same
// there: the entry runs at the leader, in the log's order. A LEVELGET
// with a bad level still runs as itself, to answer its error.
func levelgetInExec(q queued) (queued, bool) {
	if q.spec != specLevelget || len(q.args) != 3 {
		return q, false
	}
	if _, ok := parseLevel(q.args[2]); !ok {
		return q, false
	}
	return queued{spec: specGet, args: [][]byte{[]byte("GET"), q.args[1]}}, true
}

// --- SCAN ---

func cmdScan(s *Server, c *client, args [][]byte) {
	a, err := command.ParseScan(args)
	if err != nil {
		c.fail(err)
		return
	}
	if s.multi() {
		s.scanLocal(c, a) // this node's copies of its groups (groups.go)
		return
	}
	s.readAt(c, int(s.readLevel.Load()), args, func() { s.scanLocal(c, a) })
}

// scanLocal answers one page of SCAN from this node's engine. The cursor
// carries its own position (command/scancursor.go): no state is kept
// between pages.
func (s *Server) scanLocal(c *client, a command.ScanArgs) {
	start, ok := command.DecodeScanCursor(c.db, a.Cursor)
	if !ok {
		c.fail(command.ErrInvalidCursor)
		return
	}
	// Groups own consecutive slots, and a cursor names a slot: a page
	// reads the first of the node's own groups (groups.go) at or after
	// the cursor's slot, and its end goes on at the next one's first slot.
	var keys [][]byte
	var next []byte
	gi, own := 0, s.localGroups()
	if s.multi() && start != nil {
		gi = s.groupOf(int(keyspace.SlotOf(start)))
	}
	at := slices.IndexFunc(own, func(i int) bool { return i >= gi })
	if at >= 0 {
		if own[at] != gi {
			start = nil // that group's keys from its first
		}
		var err error
		keys, next, err = command.ScanKeysApart(s.groupB(own[at]).Engine(), c.db, s.nowMs(), start, a.Count, a.Pattern, a.Type, command.ScanCursorApart)
		if err != nil {
			c.fail(err)
			return
		}
		for _, gj := range own[at+1:] {
			if r := s.groupRanges(gj); next == nil && len(r) > 0 { // a group that serves no slot has no key to list
				next = keyspace.SlotPrefix(c.db, r[0].Start)
			}
		}
	}
	var cursor uint64
	if next != nil {
		cursor = command.EncodeScanCursor(next)
	}
	c.array(2)
	c.bulkString(strconv.FormatUint(cursor, 10))
	c.array(len(keys))
	for _, k := range keys {
		c.bulk(k)
	}
}

func equalFoldStr(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		ch := b[i]
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		if ch != lower[i] {
			return false
		}
	}
	return true
}
