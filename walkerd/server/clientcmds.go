package server

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walkerdb/walkerdb/walkerd/command"
)

// The client commands of networking.c and replication.c that act on
// connections rather than data: RESET, CLIENT REPLY, CLIENT KILL, CLIENT
// PAUSE and UNPAUSE, and WAIT. Replies and errors are Redis 7.0.15's.

// resetPubSubHook, when set (by the pub/sub code), drops a client's
// subscriptions for RESET, as clearClientConnectionState's
// pubsubUnsubscribeAll* calls do, without replying.
var resetPubSubHook func(s *Server, c *client)

// clientType is c's type for CLIENT LIST TYPE and CLIENT KILL TYPE, as
// networking.c's getClientType: "replica" for another node's link,
// "pubsub" for a client subscribed to anything, else "normal".
func (s *Server) clientType(c *client) string {
	if c.nodeLink.Load() {
		return "replica" // another node's forwarding link: Redis's replica links
	}
	if flags, _, _, _ := s.clientSubs(c); flags == "P" {
		return "pubsub"
	}
	return "normal"
}

// parseClientType reads a TYPE argument (slave is replica), or "" when it
// names no type.
func parseClientType(b []byte) string {
	for _, t := range []string{"normal", "master", "replica", "pubsub"} {
		if equalFoldStr(b, t) {
			return t
		}
	}
	if equalFoldStr(b, "slave") {
		return "replica"
	}
	return ""
}

// RESET, as networking.c's resetCommand (clearClientConnectionState):
// discards MULTI and WATCH, back to database 0, RESP2 and no name, CLIENT
// REPLY ON, subscriptions dropped, and authenticated again only when the
// default user needs no password. Answers +RESET.
func cmdReset(s *Server, c *client, args [][]byte) {
	c.resetMulti()
	c.watches = nil
	c.setDB(0)
	c.setProto(2)
	c.setName("")
	c.authed = s.newClientAuthed()
	c.setUser("default")
	c.replyOff, c.replySkipNext = false, false
	c.readonly = false // as Redis's RESET clears READONLY
	if resetPubSubHook != nil {
		resetPubSubHook(s, c)
	}
	s.trackOff(c) // CLIENT TRACKING off (tracking.go)
	c.simple("RESET")
}

// CLIENT REPLY ON|OFF|SKIP. OFF and SKIP answer nothing; ON answers OK.
// A SKIP while OFF changes nothing.
func cmdClientReply(s *Server, c *client, args [][]byte) {
	switch {
	case equalFoldStr(args[2], "on"):
		c.replyOff, c.replySkip, c.replySkipNext = false, false, false
		c.ok()
	case equalFoldStr(args[2], "off"):
		c.replyOff = true
	case equalFoldStr(args[2], "skip"):
		if !c.replyOff {
			c.replySkipNext = true
		}
	default:
		c.fail(command.ErrSyntax)
	}
}

// applyReplyMode runs after each command, as networking.c's
// prepareClientToWrite and resetClient: the reply written since mark is
// dropped while CLIENT REPLY is OFF or the command was the one SKIP
// skips, and a SKIP given by this command applies to the next.
func (c *client) applyReplyMode(mark int) {
	if (c.replyOff || c.replySkip) && len(c.enc.B) >= mark {
		c.truncateOutput(mark)
	}
	c.replySkip = false
	if c.replySkipNext {
		c.replySkip, c.replySkipNext = true, false
	}
}

// CLIENT KILL addr (the old form: OK, or "No such client"; it may kill
// the caller), or CLIENT KILL with filters ID, TYPE, ADDR, LADDR, USER,
// SKIPME (default yes), answered with the number of clients killed, as
// networking.c's clientKillCommand. The caller, when killed, gets its
// reply before its connection closes. USER names an ACL user (acl.go);
// connections are of type normal or pubsub, other nodes' links replica
// (clientType).
func cmdClientKill(s *Server, c *client, args [][]byte) {
	var (
		addr, laddr, user          string
		hasAddr, hasLaddr, hasUser bool
		id                         int64
		typ                        string // "" any
		skipme                     = true
	)
	if len(args) == 3 {
		addr, hasAddr, skipme = string(args[2]), true, false
	} else {
		for i := 2; i < len(args); i += 2 {
			if i+1 >= len(args) {
				c.fail(command.ErrSyntax)
				return
			}
			opt, v := args[i], args[i+1]
			switch {
			case equalFoldStr(opt, "id"):
				n, ok := command.ParseInt(v)
				if !ok || n < 1 {
					c.errorReply("ERR client-id should be greater than 0")
					return
				}
				id = n
			case equalFoldStr(opt, "type"):
				// master matches no client: a walkerd node has no
				// replication link to a master; other nodes' links are
				// replicas.
				if typ = parseClientType(v); typ == "" {
					c.errorReply(fmt.Sprintf("ERR Unknown client type '%s'", v))
					return
				}
			case equalFoldStr(opt, "addr"):
				addr, hasAddr = string(v), true
			case equalFoldStr(opt, "laddr"):
				laddr, hasLaddr = string(v), true
			case equalFoldStr(opt, "user"):
				if s.users().set.User(string(v)) == nil { // acl.go
					c.errorReply(fmt.Sprintf("ERR No such user '%s'", v))
					return
				}
				user, hasUser = string(v), true
			case equalFoldStr(opt, "skipme"):
				switch {
				case equalFoldStr(v, "yes"):
					skipme = true
				case equalFoldStr(v, "no"):
					skipme = false
				default:
					c.fail(command.ErrSyntax)
					return
				}
			default:
				c.fail(command.ErrSyntax)
				return
			}
		}
	}
	var victims []*client
	killSelf := false
	for _, k := range s.clients() {
		switch {
		case hasAddr && k.addr != addr,
			hasLaddr && k.laddr != laddr,
			hasUser && k.userLocked() != user,
			typ != "" && s.clientType(k) != typ,
			id != 0 && k.id != id,
			k == c && skipme,
			k.killed.Load(): // closing: gone, as a client Redis frees at once
			continue
		case k.nodeLink.Load() && typ != "replica" && id == 0 && !hasAddr && !hasLaddr:
			// Another node's forwarding link goes only when named (ID,
			// ADDR, LADDR, TYPE replica): CLIENT KILL USER default must
			// not cut the followers' writes off.
			continue
		}
		if k == c {
			killSelf = true
		} else {
			victims = append(victims, k)
		}
	}
	for _, k := range victims {
		k.killed.Store(true)
		k.conn.NetConn().Close()
	}
	killed := len(victims)
	if killSelf {
		killed++
	}
	if len(args) == 3 {
		if killed == 0 {
			c.errorReply("ERR No such client")
		} else {
			c.ok()
		}
	} else {
		c.integer(int64(killed))
	}
	if killSelf {
		c.quit = true
	}
}

// pauseState is CLIENT PAUSE's: until end, commands wait (all of them, or
// with write only those that write or may replicate). ch closes whenever
// the pause or the turn changes, to wake the waiting clients.
//
// The commands a pause held go on, once it ends, one at a time in the
// order it held them, as networking.c's unblockPostponedClients serves its
// list in order: each takes a ticket when it is first held and runs when
// the turns of the earlier tickets have ended, so the writes of clients
// held one after another reach the log in that order (walkerd served them
// in a random order, every time in five runs of ten clients). A turn
// lasts while the held command's pipeline runs, as Redis runs what an
// unblocked client has sent, until its writes are proposed; a blocking
// pop or WAIT that waits, or the client leaving, ends it early
// (pauseTurnDone). A command that arrives after the pause ended while
// tickets are still out takes one too: in Redis the postponed clients run
// before the server reads anything new.
type pauseState struct {
	mu  sync.Mutex
	all bool
	end time.Time
	ch  chan struct{}
	// endNs is end in Unix nanoseconds (0: none), for the check every
	// command makes without taking mu.
	endNs atomic.Int64

	issued, served uint64          // tickets handed out, and finished in order
	left           map[uint64]bool // tickets finished out of order (their clients left)
	// out is issued-served, for the check every command makes.
	out atomic.Int64
}

// changed wakes the clients waiting on the pause; under p.mu.
func (p *pauseState) changed() {
	if p.end.IsZero() {
		p.endNs.Store(0)
	} else {
		p.endNs.Store(p.end.UnixNano())
	}
	p.wake()
}

// wake closes ch; under p.mu.
func (p *pauseState) wake() {
	if p.ch != nil {
		close(p.ch)
		p.ch = nil
	}
}

// ticket hands out the next ticket; under p.mu.
func (p *pauseState) ticket() uint64 {
	p.issued++
	p.out.Store(int64(p.issued - p.served))
	return p.issued
}

// finish ends ticket t's turn (pauseTurnDone), or gives it up (its
// client left while held): the next ticket's turn comes once every ticket
// before it has ended.
func (p *pauseState) finish(t uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t != p.served+1 {
		if p.left == nil {
			p.left = map[uint64]bool{}
		}
		p.left[t] = true
		return
	}
	p.served = t
	for p.left[p.served+1] {
		delete(p.left, p.served+1)
		p.served++
	}
	p.out.Store(int64(p.issued - p.served))
	p.wake()
}

// pauseTurnDone ends c's pause ticket, if it has one: its pipeline ran
// and its writes are proposed, its client left, or its command waits for
// something other clients' commands may bring (a blocking pop between
// attempts, WAIT), which must not hold them.
func (s *Server) pauseTurnDone(c *client) {
	if t := c.pauseTicket; t != 0 {
		c.pauseTicket = 0
		s.pause.finish(t)
	}
}

// pauseTimeout parses a timeout in milliseconds as server.c's
// getTimeoutFromObjectOrReply with UNIT_MILLISECONDS.
func pauseTimeout(arg []byte) (time.Duration, string) {
	n, ok := command.ParseInt(arg)
	if !ok {
		return 0, "ERR timeout is not an integer or out of range"
	}
	if n < 0 {
		return 0, "ERR timeout is negative"
	}
	if n > int64(100*365*24*time.Hour/time.Millisecond) {
		n = int64(100 * 365 * 24 * time.Hour / time.Millisecond)
	}
	return time.Duration(n) * time.Millisecond, ""
}

// CLIENT PAUSE timeout [WRITE|ALL]: pauses this node's clients for
// timeout milliseconds. A pause already in force keeps the later end and
// the stronger mode, as networking.c's pauseClients. The pause is this
// node's only: followers' clients and commands forwarded to the leader
// from other nodes are not held, and the expiry sweeper keeps running.
func cmdClientPause(s *Server, c *client, args [][]byte) {
	all := true
	if len(args) == 4 {
		switch {
		case equalFoldStr(args[3], "write"):
			all = false
		case equalFoldStr(args[3], "all"):
		default:
			c.errorReply("ERR CLIENT PAUSE mode must be WRITE or ALL")
			return
		}
	} else if len(args) > 4 {
		c.errorReply(fmt.Sprintf("ERR unknown subcommand or wrong number of arguments for '%.128s'. Try CLIENT HELP.", args[1]))
		return
	}
	d, msg := pauseTimeout(args[2])
	if msg != "" {
		c.errorReply(msg)
		return
	}
	end := time.Now().Add(d)
	p := &s.pause
	p.mu.Lock()
	if time.Now().Before(p.end) {
		p.all = p.all || all
		if end.After(p.end) {
			p.end = end
		}
	} else {
		p.all, p.end = all, end
	}
	p.changed()
	p.mu.Unlock()
	c.ok()
}

// CLIENT UNPAUSE ends a pause at once.
func cmdClientUnpause(s *Server, c *client, args [][]byte) {
	p := &s.pause
	p.mu.Lock()
	p.end, p.all = time.Time{}, false
	p.changed()
	p.mu.Unlock()
	c.ok()
}

// pausedFor holds a command while CLIENT PAUSE applies to it, as
// server.c's processCommand postpones it: under ALL every command (QUIT
// and walkerd's internal commands aside), under WRITE those that write or
// may replicate (mayReplicate), and an EXEC whose queue holds one. Once
// the pause ends, the commands it held run in the order it held them
// (pauseState), and so does any command that arrives before they all
// have: the command's ticket is c.pauseTicket then, and the turn lasts
// while its pipeline runs (handle ends it), unless the pipeline pauses
// the clients again. It returns true when the command is not to run: its
// client went away or was killed meanwhile, or the server stops.
func (s *Server) pausedFor(c *client, k *command.Spec, args [][]byte) bool {
	p := &s.pause
	if !s.pauseInForce() || c.forwarded || k.Flags&command.FlagInternal != 0 || k.Name == "quit" {
		return false
	}
	writes := s.mayReplicate(k, args)
	if k.Name == "exec" && c.multi {
		for _, q := range c.queue {
			if s.mayReplicate(q.spec, q.args) {
				writes = true
			}
		}
	}
	if c.pauseTicket != 0 {
		p.mu.Lock()
		held := time.Now().Before(p.end) && (p.all || writes)
		p.mu.Unlock()
		if !held {
			return false // its turn goes on, in the pipeline it was taken for
		}
		// Its pipeline paused the clients again (CLIENT PAUSE): as Redis
		// postpones the client anew, it gives its turn up and queues.
		s.flushGroup(c)
		s.pauseTurnDone(c)
	}
	var ticket uint64 // 0: none yet
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for {
		if c.killed.Load() { // CLIENT KILL: gone at once, as Redis frees it
			if ticket != 0 {
				p.finish(ticket)
			}
			c.quit = true
			return true
		}
		p.mu.Lock()
		now := time.Now()
		var timer *time.Timer
		var timeout <-chan time.Time
		switch {
		case now.Before(p.end) && (p.all || writes): // held
			if ticket == 0 {
				ticket = p.ticket()
			}
			timer = time.NewTimer(p.end.Sub(now))
			timeout = timer.C
		case now.Before(p.end) && ticket == 0: // the pause does not hold it
			p.mu.Unlock()
			return false
		case ticket == 0 && p.issued == p.served: // nothing held before it
			p.mu.Unlock()
			return false
		case ticket == 0:
			ticket = p.ticket()
			fallthrough
		default: // the pause is over: its turn, once the tickets before it end
			if ticket == p.served+1 {
				c.pauseTicket = ticket
				p.mu.Unlock()
				return false
			}
		}
		if p.ch == nil {
			p.ch = make(chan struct{})
		}
		ch := p.ch
		p.mu.Unlock()
		gone := false
		select {
		case <-ch:
		case <-timeout:
		case <-s.quit: // the server stops: what the pause held never runs, as in Redis
			gone = true
		case <-poll.C:
			gone = peerClosed(c)
		}
		if timer != nil {
			timer.Stop()
		}
		if gone {
			p.finish(ticket)
			c.quit = true
			return true
		}
	}
}

// mayReplicate reports whether CLIENT PAUSE WRITE holds the command: it
// writes, or it may replicate (EVAL, EVALSHA, FCALL, PUBLISH, SPUBLISH,
// PFCOUNT), but for a script or function flagged no-writes, whose flags
// replace the command's (eval.c's evalGetCommandFlags, fcall's alike).
func (s *Server) mayReplicate(k *command.Spec, args [][]byte) bool {
	switch {
	case k.Flags&command.FlagWrite != 0:
		return true
	case k.Flags&command.FlagMayReplicate == 0:
		return false
	case k.Name == "eval" || k.Name == "evalsha":
		return !command.EvalReadOnly(s.b.Engine(), s.nowMs(), args)
	case k.Name == "fcall" && len(args) > 1:
		return !command.FunctionReadOnly(s.b.Engine(), s.nowMs(), args[1])
	}
	return true
}

// WAIT: wait.go.
