package server

import (
	"strconv"
	"time"

	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// A slot that moves between Raft groups (walkerd/migrate.go drives the
// move; walkerd/shard/DESIGN.md, "The first migration (as built)"). The
// source group closes the slot in its log and from then on refuses, at
// apply, every entry for it (command.ErrSlotMoved), including entries
// proposed before the close and applied after: refused, not applied, so
// the retry applies them once. A read checks, after its barrier, that its
// group still serves its slot. A refused command waits here until this
// node's routing table (the placement group's copy) sends the slot to
// another group, and then
//
//   - in cluster mode, answers -MOVED with the new group's leader, or
//     runs again here when this node leads that group;
//   - otherwise runs again in the new group, forwarded to its leader as
//     any command, so plain clients never see the move;
//   - answers Redis's -TRYAGAIN when the route has not changed within
//     moveWait (a slow copy; go-redis retries TRYAGAIN).
//
// The wait covers the copy of one slot's keys (a slot is closed while it
// is copied: the source has no later writes to chase).

// moveWait bounds how long a refused command waits for its slot's new
// route.
const moveWait = 5 * time.Second

// tryAgainText is Redis Cluster's reply while a slot is being moved
// (cluster.c, getNodeByQuery's CLUSTER_REDIR_UNSTABLE).
const tryAgainText = "TRYAGAIN Multiple keys request during rehashing of slot"

// isRefusal reports whether msg is a group's refusal of a command for a
// slot it does not serve (command.ErrSlotMoved), of keys it no longer
// holds in a migrating slot (command.ErrSlotAsk and the group to ask), of
// a write to a key being copied (command.ErrKeyBusy), or of keys some
// moved and some not (command.ErrSlotRehashing): the server settles these
// itself, but the last, which a cluster client gets as Redis's TRYAGAIN.
func isRefusal(msg string) bool {
	if msg == "" {
		return false
	}
	_, ask := command.AskGroup(msg)
	return ask || msg == string(command.ErrSlotMoved) || msg == string(command.ErrKeyBusy) || msg == string(command.ErrSlotRehashing)
}

// rehashing reports whether msg refuses keys of a migrating slot some
// present and some not. A cluster client gets it (it retries TRYAGAIN);
// without cluster mode the node tries again itself, as for a key being
// copied, until the keys are together.
func rehashing(msg string) bool { return msg == string(command.ErrSlotRehashing) }

// replyRefusal is the refusal a reply holds, if it is one.
func replyRefusal(r command.Reply) (string, bool) {
	if msg, ok := r.Err(); ok && isRefusal(msg) {
		return msg, true
	}
	return "", false
}

// readRefusal judges a read of c's running command by its group's
// applied state (command.ReadRefusal): "" when the group serves it;
// moving, when a key's slot is migrating out of it (the read is checked
// again after it ran).
func (s *Server) readRefusal(c *client, args [][]byte) (msg string, moving bool) {
	if !s.multi() || c.keySlot == 0 {
		return "", false
	}
	k := specOf(args)
	if k == nil {
		return "", false
	}
	return command.ReadRefusal(s.backendOf(c).Engine(), c.db, s.nowMs(), entryKeys(k, args))
}

// askText is the -ASK reply that sends a cluster client to group gi's
// leader for slot (cluster.c's CLUSTER_REDIR_ASK), or TRYAGAIN while that
// group has no known leader.
func (s *Server) askText(slot, gi int) string {
	g := s.groupB(gi)
	if g == nil {
		return tryAgainText
	}
	m, ok, err := g.Leader()
	if err != nil || !ok || m.RESPAddr == "" {
		return tryAgainText
	}
	return "ASK " + strconv.Itoa(slot) + " " + m.RESPAddr
}

// importingHere finds a group of this node that takes slot in from a
// migration (IMPORTING), as its replica here has applied: where a command
// sent with ASKING runs. It need not lead it: the command is then sent on
// to the group's leader, as any write, so a client whose -ASK named a
// leader that has since lost an election is not bounced back to the
// source (a tester's go-redis ran out of redirects so under elections).
func (s *Server) importingHere(slot int) (int, bool) {
	if !s.multi() || slot < 0 {
		return 0, false
	}
	for _, i := range s.liveGroups() {
		if command.Importing(s.groupB(i).Engine(), uint16(slot)) {
			return i, true
		}
	}
	return 0, false
}

// awaitRoute waits until this node routes slot to a group other than
// from, or (with served) until the local replica of the group it routes
// slot to serves it: a follower whose copy of the placement state is
// ahead of its replica of the new group. It returns that group, or false
// after moveWait or at shutdown.
func (s *Server) awaitRoute(slot, from int, served bool) (int, bool) {
	var gi int
	ok := s.pollUntil(moveWait, 5*time.Millisecond, func() bool {
		gi = s.groupOf(slot)
		g := s.groupB(gi)
		return g != nil && (gi != from || served && command.Owns(g.Engine(), uint16(slot)))
	})
	if !ok {
		return 0, false
	}
	return gi, true
}

// ledHere finds a group this node leads that serves slot by its own
// applied state: the target of a move this node's copy of the placement
// state has not caught up with yet (a follower of the placement group
// learns a commit up to its CommitTimeout late). Without it a cluster
// client would bounce between the old leader, which sends it here, and
// this node, which would send it back.
func (s *Server) ledHere(slot int) (int, bool) {
	if !s.multi() || slot < 0 {
		return 0, false
	}
	for _, i := range s.liveGroups() {
		if b := s.groupB(i); leads(b) && command.Owns(b.Engine(), uint16(slot)) {
			return i, true
		}
	}
	return 0, false
}

// movedText is the reply that sends a cluster client to slot's leader,
// "" when this node leads it.
func (s *Server) movedText(slot int) string {
	if s.shards == nil {
		return ""
	}
	r := s.shards.Route(uint16(slot))
	if r.Leads {
		return ""
	}
	return redirectText(uint16(slot), r)
}

// rerouteRead runs a read again once the group that refused it (c.be)
// is settled, or answers: refusal is the group's.
//
//   - ErrSlotAsk: the keys moved on to the group named; in cluster mode
//     -ASK with its leader (or the read runs in it, when this node leads
//     it), otherwise the read runs in that group, forwarded to its leader
//     as asked (askGroup).
//   - ErrSlotMoved: once the slot's route leaves the group, in cluster
//     mode -MOVED, otherwise the read runs in the new group; remote: the
//     refusal came from the leader the read was forwarded to, whose state
//     is ahead of this node's copy (the close is not applied here yet) or
//     which no longer leads: the read first waits for this node to see a
//     change (the route, its copy of the group, or the group's leader),
//     else it would be sent to the same leader again at once.
//   - ErrSlotRehashing (keys some moved and some not): a cluster client's
//     answer (it retries TRYAGAIN); otherwise the read runs as an entry
//     of the source's log, whose refusal there marks its keys wanted, and
//     is settled as a write is (rerouteEntry).
//   - anything else: the client's answer.
//
// A read forwarded by another node answers the refusal, for that node to
// settle.
func (s *Server) rerouteRead(c *client, level int, args [][]byte, local func(), refusal string, remote bool) {
	if c.forwarded || !isRefusal(refusal) || rehashing(refusal) && s.shards != nil {
		c.errorReply(refusal)
		return
	}
	// A slot that moved on again meanwhile is followed a few times.
	c.rerouted++
	defer func() { c.rerouted-- }()
	if c.rerouted > 3 {
		c.errorReply(tryAgainText)
		return
	}
	if rehashing(refusal) {
		// Through the log, where the refusal marks the keys still in the
		// source as wanted (command/moving.go) and the write path retries
		// until the keys are together, the read waits a batch or two; by
		// polling, it could wait for the slot's order to reach its keys.
		now := s.nowMs()
		e := &command.Entry{NowMs: now, DB: c.db, Cmds: [][][]byte{args}, Parsed: []command.Parsed{command.ParseCommand(args, now)}}
		if res := s.propose(c, e); res.Error != "" {
			c.errorReply(res.Error)
		} else {
			res.Reply().WriteTo(c.w)
		}
		return
	}
	from := s.groupIndexOf(s.backendOf(c))
	slot := c.keySlot - 1
	if group, ok := command.AskGroup(refusal); ok {
		gi := s.groupByID(group)
		if gi < 0 || gi == placementIndex {
			c.errorReply(tryAgainText)
			return
		}
		if s.shards != nil && !c.localRead && !leads(s.groupB(gi)) {
			c.errorReply(s.askText(slot, gi))
			return
		}
		c.be, c.askGroup = s.groupB(gi), gi+1
		s.readAt(c, level, args, local)
		return
	}
	if remote && !s.awaitChange(slot, from) {
		c.errorReply(tryAgainText)
		return
	}
	gi, ok := s.awaitRoute(slot, from, true)
	if !ok {
		c.errorReply(tryAgainText)
		return
	}
	if msg := s.movedText(slot); msg != "" && !c.localRead {
		c.errorReply(msg)
		return
	}
	c.be, c.askGroup = s.groupB(gi), 0
	s.readAt(c, level, args, local)
}

// awaitChange waits until this node sees slot routed elsewhere than group
// from, its copy of from serve slot no longer or again, or from's leader
// change; false after moveWait or at shutdown.
func (s *Server) awaitChange(slot, from int) bool {
	b := s.groupB(from)
	if b == nil {
		return false
	}
	leader := func() string {
		if m, ok, err := b.Leader(); err == nil && ok {
			return m.ID
		}
		return ""
	}
	served, led := command.Owns(b.Engine(), uint16(slot)), leader()
	return s.pollUntil(moveWait, 5*time.Millisecond, func() bool {
		return s.groupOf(slot) != from || command.Owns(b.Engine(), uint16(slot)) != served || leader() != led
	})
}

// groupIndexOf is the index of backend b among the node's groups, -1 if
// none.
func (s *Server) groupIndexOf(b backend.Backend) int {
	for _, i := range s.liveGroups() {
		if s.groupB(i) == b {
			return i
		}
	}
	return -1
}

// entrySlot is the slot of an entry's first key, -1 for none.
func entrySlot(e *command.Entry) int {
	for _, args := range e.Cmds {
		if k := specOf(args); k != nil {
			if keys := entryKeys(k, args); len(keys) > 0 {
				return int(keyspace.Slot(keys[0]))
			}
		}
	}
	return -1
}

// reroute carries out what a group refused of entry e (gi: the group it
// went to; isRefusal): the whole entry, or some commands of a pipeline's
// entry, each on its own.
func (s *Server) reroute(c *client, gi int, e *command.Entry, res *command.Result) *command.Result {
	if isRefusal(res.Error) {
		return s.rerouteEntry(c, gi, e, res.Error)
	}
	if e.Exec || res.Error != "" {
		return res
	}
	for i, r := range res.Replies {
		msg, ok := replyRefusal(r)
		if !ok {
			continue
		}
		one := &command.Entry{NowMs: e.NowMs, DB: e.DB, Cmds: e.Cmds[i : i+1], User: e.User}
		if e.Parsed != nil {
			one.Parsed = e.Parsed[i : i+1]
		}
		res.Replies[i] = s.rerouteEntry(c, gi, one, msg).Reply()
	}
	return res
}

// rerouteEntry settles group from's refusal of e and applies e where it
// now belongs, or answers the client: for ErrSlotAsk, in the group named
// (cluster mode: -ASK to its leader, unless this node leads it); for
// ErrKeyBusy, in the same group again once the batch has moved (a few
// milliseconds); for ErrSlotRehashing the same without cluster mode (a
// cluster client gets it, and retries); for ErrSlotMoved, in the slot's
// new group once this node's route has left from (cluster mode: -MOVED).
// It gives up with Redis's TRYAGAIN after moveWait: without cluster mode
// a multi-key command whose keys stay apart longer (a large slot copied
// in many batches) gets it, as a cluster client would.
func (s *Server) rerouteEntry(c *client, from int, e *command.Entry, refusal string) *command.Result {
	tryAgain := &command.Result{Error: tryAgainText}
	slot := entrySlot(e)
	if slot < 0 {
		return tryAgain
	}
	deadline := time.Now().Add(moveWait)
	// Refusals that wait (a key being copied, keys not yet together) are
	// bounded by time; redirects, which do not, by count.
	gi, moves, asks, pause := from, 0, 0, time.Millisecond
	for time.Now().Before(deadline) {
		if group, ok := command.AskGroup(refusal); ok {
			t := s.groupByID(group)
			if asks++; t < 0 || t == placementIndex || asks > 8 {
				return tryAgain
			}
			if s.shards != nil && !leads(s.groupB(t)) {
				return &command.Result{Error: s.askText(slot, t)}
			}
			gi = t
		} else if rehashing(refusal) && s.shards != nil {
			return &command.Result{Error: refusal} // a cluster client retries TRYAGAIN
		} else if refusal == string(command.ErrKeyBusy) || rehashing(refusal) {
			select {
			case <-s.quit:
				return tryAgain
			case <-time.After(pause):
			}
			pause = min(2*pause, 20*time.Millisecond)
		} else { // ErrSlotMoved
			if moves++; moves > 3 { // a slot that moves on again meanwhile: followed a few times
				return tryAgain
			}
			if _, ok := s.awaitRoute(slot, gi, false); !ok {
				return tryAgain
			}
			if msg := s.movedText(slot); msg != "" {
				return &command.Result{Error: msg}
			}
			g, broadcast, errText := s.entryRoute(e)
			switch {
			case errText != "":
				return &command.Result{Error: errText}
			case broadcast:
				return tryAgain
			}
			gi = g
		}
		res := s.applyGroup(c, gi, e)
		if !isRefusal(res.Error) {
			return res
		}
		refusal = res.Error
	}
	return tryAgain
}
