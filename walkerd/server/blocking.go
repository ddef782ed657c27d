package server

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/walkerdb/walkerdb/walkerd/command"
)

// Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN,
// BZPOPMAX, BZMPOP, and XREAD and XREADGROUP with BLOCK) wait on the
// client's own node and never in the log.
//
// In the log, a blocking command is an attempt: it pops if one of its keys
// holds something and otherwise answers what Redis answers a client that
// may not block (inside MULTI): a null. So a blocking command inside MULTI
// or a script does not block, and the leader never waits for anyone: the
// pipelined connections that carry followers' commands to it never stall.
//
// The server of the client's node runs the wait:
//
//	register as a waiter on each key (database, key)
//	loop: propose the attempt (forwarded to the leader like any write)
//	      a pop: reply, and wake the next waiter of each key
//	      a null: wait for a wake, the timeout, a leadership change, or
//	              the client's disconnection
//
// Every node's state machine tells its server which keys each applied
// entry touched (backend.Backend.Notify), whoever proposed the entry; a
// touch wakes the first waiter of that key, which tries again. Waiters
// of one key on one node are woken, and so served, in the order they
// blocked (Redis's order); a waiter that pops wakes the next one, as the
// write may have left more. Clients blocked on different nodes race for
// an element: whichever node's attempt reaches the log first wins.
//
// XREAD BLOCK with "$" waits for entries after the stream's last ID when
// it blocked. Its first proposal is WALKER.RESOLVE, which answers the
// command with "$" replaced by that ID at one point of the log; every
// attempt then runs the rewritten command. XREADGROUP's ">" needs no such
// step: each attempt reads after the group's last delivered ID.
//
// Replies, as Redis 7.0 gives them: the timeout answers a null array (nil
// in redis-cli). When the Raft leader changes, every client blocked on
// this node is answered
//
//	-UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)
//
// the error Redis gives clients blocked on a master that turns replica
// (blocked.c): the client may retry at once. A client that disconnects
// while blocked is noticed within waitPoll and takes nothing.
const (
	errUnblocked = "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"
	// waitPoll is how often a blocked client's connection is checked.
	waitPoll = 250 * time.Millisecond
)

// waitKey names a key of a database.
type waitKey struct {
	db  int
	key string
}

// waiter is one blocked client.
type waiter struct {
	keys []waitKey
	wake chan struct{} // 1-buffered: a wake while the waiter is busy is kept
	// unblock carries CLIENT UNBLOCK's reply for the client: errUnblockedByClient,
	// or "" for TIMEOUT (1-buffered; only the first counts).
	unblock chan string
}

// errUnblockedByClient answers a client that CLIENT UNBLOCK ... ERROR
// unblocked, as Redis words it (blocked.c).
const errUnblockedByClient = "UNBLOCKED client unblocked via CLIENT UNBLOCK"

// waiters is the server's table of blocked clients, by key, each key's in
// the order they blocked.
type waiters struct {
	mu     sync.Mutex
	byKey  map[waitKey][]*waiter
	n      int           // clients in a blocking command
	idle   atomic.Int64  // of them, those waiting (not in an attempt): INFO's blocked_clients
	epoch  chan struct{} // closed when the leader changes
	leader string        // the leader's id, when known
	known  bool
}

func newWaiters() *waiters {
	return &waiters{byKey: make(map[waitKey][]*waiter), epoch: make(chan struct{})}
}

// add registers w on its keys; it returns the current leadership epoch.
func (ws *waiters) add(w *waiter) <-chan struct{} {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for _, k := range w.keys {
		ws.byKey[k] = append(ws.byKey[k], w)
	}
	ws.n++
	return ws.epoch
}

// remove unregisters w.
func (ws *waiters) remove(w *waiter) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for _, k := range w.keys {
		list := ws.byKey[k]
		for i, x := range list {
			if x == w {
				list = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(ws.byKey, k)
		} else {
			ws.byKey[k] = list
		}
	}
	ws.n--
}

// blocked is how many clients are blocked: in a blocking command that
// found nothing, waiting for a wake (Redis's blocked_clients).
func (ws *waiters) blocked() int { return int(ws.idle.Load()) }

// count is how many clients are in a blocking command, waiting or
// attempting.
func (ws *waiters) count() int {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return ws.n
}

func (w *waiter) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// wakeAll wakes the first waiter of every key: a slot moved to another
// group, whose writes this node's waiters on it would not hear of until
// they try again there (slotmove.go).
func (ws *waiters) wakeAll() {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for _, list := range ws.byKey {
		list[0].signal()
	}
}

// touched wakes the first waiter of each touched key; a touch of a whole
// database (FLUSHDB, SWAPDB) wakes the first waiter of each of its keys.
// It runs on the apply path: it only signals.
func (ws *waiters) touched(ts []command.Touch) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if len(ws.byKey) == 0 {
		return
	}
	for _, t := range ts {
		if t.Key == nil {
			for k, list := range ws.byKey {
				if k.db == t.DB {
					list[0].signal()
				}
			}
			continue
		}
		if list := ws.byKey[waitKey{t.DB, string(t.Key)}]; len(list) > 0 {
			list[0].signal()
		}
	}
}

// served wakes the waiter after w on each of w's keys: w's pop may have
// left elements for it.
func (ws *waiters) served(w *waiter) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for _, k := range w.keys {
		list := ws.byKey[k]
		for i, x := range list {
			if x == w && i+1 < len(list) {
				list[i+1].signal()
			}
		}
	}
}

// setLeader records the leader's id; a change ends the epoch, which
// answers every blocked client with errUnblocked. The first leader seen
// since nobody was blocked is only recorded.
func (ws *waiters) setLeader(id string) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.n == 0 {
		ws.known = false
		return
	}
	if !ws.known || id == ws.leader {
		ws.leader, ws.known = id, true
		return
	}
	ws.leader = id
	close(ws.epoch)
	ws.epoch = make(chan struct{})
}

// watchLeader follows the backend's leader until the server closes: for
// the clients blocked (a change unblocks them), and for the forwarder:
// once another leader is known, the connections to the old one are
// dropped, so that commands forwarded to it (frozen, or cut off) fail at
// once instead of after the forwarder's call timeout (writes answer
// UNKNOWN: the old leader may have applied them).
func (s *Server) watchLeader() {
	defer s.bg.Done()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	dropper, _ := s.cfg.Forwarder.(interface{ Drop(addr string) })
	last := map[string]bool{} // the RESP addresses of the groups' leaders known last
	var moved uint64          // the routing table's moves seen last (slotmove.go)
	migrating := command.MigrationGeneration()
	if s.multi() && s.groups.Routes != nil {
		moved = s.groups.Routes.Moved()
	}
	for {
		if s.multi() && s.groups.Routes != nil {
			m, g := s.groups.Routes.Moved(), command.MigrationGeneration()
			if m != moved || g != migrating {
				// A slot moved, or began or ended moving
				// (command/moving.go): each tries again, in its key's new
				// group, or is asked for there.
				moved, migrating = m, g
				s.waiters.wakeAll()
			}
		}
		if dropper == nil && s.waiters.count() == 0 {
			s.waiters.setLeader("") // no one to tell
			select {
			case <-s.quit:
				return
			case <-t.C:
				continue
			}
		}
		// Every group's leader (groups.go): a change in any ends the
		// waiters' epoch, and an address that leads no group any more
		// loses its connections.
		var ids []string
		now := map[string]bool{}
		for _, g := range s.allGroups() {
			m, ok, err := g.Leader()
			if err != nil {
				return // standalone: no leader ever changes
			}
			if ok {
				ids = append(ids, m.ID)
				if m.RESPAddr != "" {
					now[m.RESPAddr] = true
				}
			} else {
				ids = append(ids, "")
			}
		}
		id := strings.Join(ids, ",") // "" with one group and no leader known
		if s.waiters.count() == 0 {
			s.waiters.setLeader("")
		} else {
			s.waiters.setLeader(id)
		}
		if len(now) > 0 {
			for addr := range last {
				if !now[addr] && dropper != nil {
					dropper.Drop(addr)
				}
			}
			last = now
		}
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
	}
}

// cmdBlocking runs a blocking command outside MULTI: attempts through the
// log until one pops, the timeout passes, the leader changes, the client
// goes, or the server closes.
func cmdBlocking(s *Server, c *client, args [][]byte) {
	spec := command.Lookup(args[0])
	now := s.nowMs()
	p := spec.ParseArgs(args, now)
	if p.Err != nil {
		c.fail(p.Err)
		return
	}
	keys, timeout := p.Blocking()
	if keys == nil { // XREAD, XREADGROUP without BLOCK: an ordinary command
		if spec.Flags&command.FlagWrite != 0 {
			s.runWrite(c, spec, args)
		} else {
			s.runRead(c, spec, args)
		}
		return
	}
	w := &waiter{wake: make(chan struct{}, 1), unblock: make(chan string, 1)}
	for _, k := range keys {
		w.keys = append(w.keys, waitKey{c.db, string(k)})
	}
	epoch := s.waiters.add(w)
	c.blocked.Store(w)
	blockedAt := time.Now()
	defer func() {
		c.blocked.Store(nil)
		s.waiters.remove(w)
		c.blockedFor = time.Since(blockedAt) // not run time (stats.go)
	}()
	if p.Resolving() {
		// XREAD's "$": the stream's last ID at one point of the log, from
		// which every attempt reads on (WALKER.RESOLVE). The waiter is
		// registered first, so no write after that point goes unnoticed.
		if args = s.resolveBlocking(c, args); args == nil {
			return
		}
	}
	serveArgs := append([][]byte{[]byte("WALKER.SERVE")}, args...)
	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C
	}
	poll := time.NewTicker(waitPoll)
	defer poll.Stop()
	// A stream reader that was woken and found nothing passes the wake on:
	// it consumed nothing, and the readers after it (XREAD, other groups)
	// may find what the write added. A pop that finds nothing cannot:
	// nothing is left for the next one.
	passOn := spec.Cats&command.CatStream != 0
	attempt := args
	for woken := false; ; woken = true {
		now := s.nowMs()
		e := &command.Entry{NowMs: now, DB: c.db, Cmds: [][][]byte{attempt}, Parsed: []command.Parsed{command.ParseCommand(attempt, now)}}
		res := s.propose(c, e)
		// Woken attempts pass over keys that now hold another type
		// (WALKER.SERVE): only the first answers WRONGTYPE, as in Redis.
		attempt = serveArgs
		if r := res.Reply(); !r.IsNull() {
			r.WriteTo(c.w)
			if _, isErr := r.Err(); !isErr {
				s.waiters.served(w)
			}
			return
		}
		if passOn && woken {
			s.waiters.served(w)
		}
		s.pauseTurnDone(c) // the attempt is in the log: commands held after it go on
		s.waiters.idle.Add(1)
		again := s.waitTurn(c, w, deadline, epoch, poll.C)
		s.waiters.idle.Add(-1)
		if !again {
			return
		}
	}
}

// waitTurn waits, between two attempts of a blocked client, for a wake
// (true: attempt again) or for the end of the wait, which it answers
// (false): the timeout, CLIENT UNBLOCK, a leadership change, the server
// closing, or the client gone.
func (s *Server) waitTurn(c *client, w *waiter, deadline <-chan time.Time, epoch <-chan struct{}, poll <-chan time.Time) bool {
	for {
		select {
		case <-w.wake:
			if !peerClosed(c) {
				return true
			}
			// The client has gone: a pop now would hand an element to
			// nobody. Redis drops a blocked client as it disconnects; the
			// next waiter on w's keys gets the wake instead.
			s.waiters.served(w)
			c.quit = true
		case <-deadline:
			c.w.NullArray()
		case msg := <-w.unblock:
			if msg == "" {
				c.w.NullArray() // as its timeout
			} else {
				c.errorReply(msg)
			}
		case <-epoch:
			c.errorReply(errUnblocked)
		case <-s.quit:
			c.errorReply("ERR server is shutting down")
		case <-poll:
			if !peerClosed(c) {
				continue
			}
			c.quit = true
		}
		return false
	}
}

// resolveBlocking proposes WALKER.RESOLVE for a blocking command and gives
// the rewritten command; nil when it answered the client (an error, such
// as WRONGTYPE).
func (s *Server) resolveBlocking(c *client, args [][]byte) [][]byte {
	now := s.nowMs()
	ra := append([][]byte{[]byte("WALKER.RESOLVE")}, args...)
	res := s.propose(c, &command.Entry{NowMs: now, DB: c.db, Cmds: [][][]byte{ra}, Parsed: []command.Parsed{command.ParseCommand(ra, now)}})
	r := res.Reply()
	if _, isErr := r.Err(); isErr || len(r) == 0 || r[0].Kind != command.KindArray || len(r) != int(r[0].N)+1 {
		if !isErr {
			r = command.ErrorReply("ERR internal error: WALKER.RESOLVE answered no command")
		}
		r.WriteTo(c.w)
		return nil
	}
	out := make([][]byte, 0, len(r)-1)
	for _, t := range r[1:] {
		out = append(out, t.S)
	}
	return out
}

// peerClosed reports whether the client closed its end of the
// connection, without reading what it may have sent (MSG_PEEK).
func peerClosed(c *client) bool {
	if c.conn == nil {
		return false
	}
	nc := c.conn.NetConn()
	if g, ok := nc.(*guardConn); ok {
		nc = g.Conn
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	var buf [1]byte
	err = raw.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		closed = n == 0 && err == nil || (err != nil && !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EINTR))
		return true // never wait for readability
	})
	return closed || err != nil
}

// CLIENT UNBLOCK client-id [TIMEOUT|ERROR]: 1 when that client was
// blocked and now is not (answered as its timeout would answer it, or
// with errUnblockedByClient), 0 otherwise, as Redis's networking.c does.
func cmdClientUnblock(s *Server, c *client, args [][]byte) {
	id, ok := command.ParseInt(args[2])
	if !ok {
		c.fail(command.ErrNotInteger)
		return
	}
	reply := ""
	if len(args) == 4 {
		switch {
		case equalFoldStr(args[3], "timeout"):
		case equalFoldStr(args[3], "error"):
			reply = errUnblockedByClient
		default:
			c.errorReply("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
			return
		}
	} else if len(args) > 4 {
		c.errorReply("ERR unknown subcommand or wrong number of arguments for 'unblock'. Try CLIENT HELP.")
		return
	}
	var target *waiter
	s.mu.Lock()
	for other := range s.conns {
		if other.id == id {
			target = other.blocked.Load()
			break
		}
	}
	s.mu.Unlock()
	if target == nil {
		c.integer(0)
		return
	}
	select {
	case target.unblock <- reply:
		c.integer(1)
	default:
		c.integer(0) // unblocked already
	}
}
