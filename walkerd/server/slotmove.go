package server

import (
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

// isSlotMoved reports whether a reply is a group's refusal of a slot it
// does not serve.
func isSlotMoved(r command.Reply) bool {
	msg, ok := r.Err()
	return ok && msg == string(command.ErrSlotMoved)
}

// slotServed reports whether the group of c's running command still
// serves its slot, as of the engine's applied state.
func (s *Server) slotServed(c *client) bool {
	return !s.multi() || c.keySlot == 0 || command.Owns(s.backendOf(c).Engine(), uint16(c.keySlot-1))
}

// awaitRoute waits until this node routes slot to a group other than
// from, or (with served) until the local replica of the group it routes
// slot to serves it: a follower whose copy of the placement state is
// ahead of its replica of the new group. It returns that group, or false
// after moveWait or at shutdown.
func (s *Server) awaitRoute(slot, from int, served bool) (int, bool) {
	deadline := time.Now().Add(moveWait)
	for {
		gi := s.groupOf(slot)
		if gi != from || served && command.Owns(s.groupB(gi).Engine(), uint16(slot)) {
			return gi, true
		}
		if time.Now().After(deadline) {
			return 0, false
		}
		select {
		case <-s.quit:
			return 0, false
		case <-time.After(5 * time.Millisecond):
		}
	}
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
	for i, b := range s.allGroups() {
		if leads(b) && command.Owns(b.Engine(), uint16(slot)) {
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

// rerouteRead runs a read again once its slot's route left the group
// that does not serve it (c.be), or answers TRYAGAIN or MOVED; a read
// forwarded by another node answers the refusal, for that node to
// reroute. remote: the refusal came from the leader the read was
// forwarded to, whose state is ahead of this node's copy (the close is
// not applied here yet) or which no longer leads: the read first waits
// for this node to see a change (the route, its copy of the group, or the
// group's leader), else it would be sent to the same leader again at once.
func (s *Server) rerouteRead(c *client, level int, args [][]byte, local func(), remote bool) {
	if c.forwarded {
		c.errorReply(string(command.ErrSlotMoved))
		return
	}
	if c.rerouted++; c.rerouted > 3 { // the slot moved on again meanwhile: followed a few times
		c.errorReply(tryAgainText)
		return
	}
	defer func() { c.rerouted-- }()
	from := s.groupIndexOf(s.backendOf(c))
	slot := c.keySlot - 1
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
	c.be = s.groupB(gi)
	s.readAt(c, level, args, local)
}

// awaitChange waits until this node sees slot routed elsewhere than group
// from, its copy of from serve slot no longer or again, or from's leader
// change; false after moveWait or at shutdown.
func (s *Server) awaitChange(slot, from int) bool {
	b := s.groupB(from)
	leader := func() string {
		if m, ok, err := b.Leader(); err == nil && ok {
			return m.ID
		}
		return ""
	}
	served, led := command.Owns(b.Engine(), uint16(slot)), leader()
	deadline := time.Now().Add(moveWait)
	for s.groupOf(slot) == from && command.Owns(b.Engine(), uint16(slot)) == served && leader() == led {
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-s.quit:
			return false
		case <-time.After(5 * time.Millisecond):
		}
	}
	return true
}

// groupIndexOf is the index of backend b among the node's groups, -1 if
// none.
func (s *Server) groupIndexOf(b backend.Backend) int {
	for i, g := range s.allGroups() {
		if g == b {
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

// reroute carries out what a group refused of entry e because it does not
// serve the slot (gi: the group it went to): the whole entry, or some
// commands of a pipeline's entry, each on its own.
func (s *Server) reroute(c *client, gi int, e *command.Entry, res *command.Result) *command.Result {
	if res.Error == string(command.ErrSlotMoved) {
		return s.rerouteEntry(c, gi, e)
	}
	if e.Exec || res.Error != "" {
		return res
	}
	for i, r := range res.Replies {
		if !isSlotMoved(r) {
			continue
		}
		one := &command.Entry{NowMs: e.NowMs, DB: e.DB, Cmds: e.Cmds[i : i+1], User: e.User}
		if e.Parsed != nil {
			one.Parsed = e.Parsed[i : i+1]
		}
		res.Replies[i] = s.rerouteEntry(c, gi, one).Reply()
	}
	return res
}

// rerouteEntry waits for the new route of e's slot and applies e there,
// or answers MOVED or TRYAGAIN.
func (s *Server) rerouteEntry(c *client, from int, e *command.Entry) *command.Result {
	slot := entrySlot(e)
	if slot < 0 {
		return &command.Result{Error: tryAgainText}
	}
	for range 3 { // a slot that moves on again meanwhile: follow it a few times
		if _, ok := s.awaitRoute(slot, from, false); !ok {
			return &command.Result{Error: tryAgainText}
		}
		if msg := s.movedText(slot); msg != "" {
			return &command.Result{Error: msg}
		}
		gi, broadcast, errText := s.entryRoute(e)
		switch {
		case errText != "":
			return &command.Result{Error: errText}
		case broadcast:
			return &command.Result{Error: tryAgainText}
		}
		res := s.applyGroup(c, gi, e)
		if res.Error != string(command.ErrSlotMoved) {
			return res
		}
		from = gi
	}
	return &command.Result{Error: tryAgainText}
}
