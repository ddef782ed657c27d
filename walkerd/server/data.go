package server

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/walkerdb/walkerdb/walkerd/command"
)

// runWrite validates a write command and applies it as a one-command entry.
func (s *Server) runWrite(c *client, args [][]byte, spec *command.Spec) {
	now := s.nowMs()
	if err := spec.Check(args, now); err != nil {
		c.fail(err)
		return
	}
	e := &command.Entry{NowMs: now, DB: c.db, Cmds: [][][]byte{args}}
	c.raw(s.propose(e))
}

// propose applies an entry through the backend, forwarding it to the
// leader when this node is not the leader, and returns the RESP reply.
func (s *Server) propose(e *command.Entry) []byte {
	reply, err := s.b.Apply(e)
	if err == nil {
		return reply
	}
	var nl *NotLeaderError
	if errors.As(err, &nl) {
		return s.forwardApply(nl, e)
	}
	return applyErrorReply(err)
}

func applyErrorReply(err error) []byte {
	if errors.Is(err, ErrUnknownOutcome) {
		return command.AppendError(nil, "UNKNOWN the outcome of this write is unknown: leadership was lost while it was in flight; it may or may not have been applied")
	}
	return command.AppendError(nil, errorText(err))
}

// forwardApply sends an entry to the leader as WALKER.APPLY.
func (s *Server) forwardApply(nl *NotLeaderError, e *command.Entry) []byte {
	if nl.LeaderAddr == "" || s.cfg.Forwarder == nil {
		return command.AppendError(nil, "CLUSTERDOWN no leader")
	}
	s.stats.forwarded.Add(1)
	reply, err := s.cfg.Forwarder.Do(nl.LeaderAddr, [][]byte{[]byte("WALKER.APPLY"), e.Encode()})
	if err != nil {
		if errors.Is(err, ErrNotSent) {
			return command.AppendError(nil, "CLUSTERDOWN leader unreachable: "+err.Error())
		}
		return command.AppendError(nil, "UNKNOWN the outcome of this write is unknown: forwarding to the leader failed: "+err.Error())
	}
	return reply
}

// readAt runs a read at a consistency level: locally when the backend
// allows it, else at the leader through WALKER.READ. local appends the
// reply of running the read here.
func (s *Server) readAt(c *client, level int, args [][]byte, local func()) {
	err := s.b.ReadBarrier(level)
	if err == nil {
		local()
		return
	}
	var nl *NotLeaderError
	if !errors.As(err, &nl) {
		c.fail(err)
		return
	}
	c.raw(s.forwardRead(nl, level, c.db, args))
}

func (s *Server) forwardRead(nl *NotLeaderError, level, db int, args [][]byte) []byte {
	if nl.LeaderAddr == "" || s.cfg.Forwarder == nil {
		return command.AppendError(nil, "CLUSTERDOWN no leader")
	}
	s.stats.forwarded.Add(1)
	fw := make([][]byte, 0, len(args)+3)
	fw = append(fw, []byte("WALKER.READ"), strconv.AppendInt(nil, int64(level), 10), strconv.AppendInt(nil, int64(db), 10))
	fw = append(fw, args...)
	reply, err := s.cfg.Forwarder.Do(nl.LeaderAddr, fw)
	if err != nil {
		return command.AppendError(nil, "CLUSTERDOWN forwarding the read to the leader failed: "+err.Error())
	}
	return reply
}

// runRead runs a data read at the configured level.
func (s *Server) runRead(c *client, args [][]byte, spec *command.Spec) {
	s.readAt(c, int(s.readLevel.Load()), args, func() {
		c.out = command.Read(s.b.Engine(), c.db, s.nowMs(), args, c.out)
	})
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

// LEVELGET key level: a GET at the given consistency level.
func cmdLevelget(s *Server, c *client, args [][]byte) {
	level, ok := parseLevel(args[2])
	if !ok {
		c.errorReply("ERR invalid consistency level: want 0/default, 1/stale or 2/consistent")
		return
	}
	get := [][]byte{[]byte("GET"), args[1]}
	s.readAt(c, level, get, func() {
		c.out = command.Read(s.b.Engine(), c.db, s.nowMs(), get, c.out)
	})
}

// WALKER.APPLY <entry>: a follower forwards a write. The entry is applied
// with this node's clock.
func cmdWalkerApply(s *Server, c *client, args [][]byte) {
	e, err := command.DecodeEntry(args[1])
	if err != nil {
		c.fail(err)
		return
	}
	e.NowMs = s.nowMs()
	reply, err := s.b.Apply(e)
	if err != nil {
		var nl *NotLeaderError
		if errors.As(err, &nl) {
			c.errorReply("CLUSTERDOWN not the leader (leadership moved)")
			return
		}
		c.raw(applyErrorReply(err))
		return
	}
	c.raw(reply)
}

// WALKER.READ <level> <db> <args...>: a follower forwards a read.
func cmdWalkerRead(s *Server, c *client, args [][]byte) {
	level, ok := parseLevel(args[1])
	if !ok {
		c.errorReply("ERR invalid consistency level")
		return
	}
	db, err := command.ParseDB(args[2])
	if err != nil {
		c.fail(err)
		return
	}
	inner := args[3:]
	k := s.lookup(inner[0])
	if k == nil || k.local == nil {
		c.errorReply(string(command.ErrUnknownCommand(inner)))
		return
	}
	if !command.ArityOK(k.arity, len(inner)) {
		c.errorReply(string(command.ErrArity(k.name)))
		return
	}
	if err := s.b.ReadBarrier(level); err != nil {
		var nl *NotLeaderError
		if errors.As(err, &nl) {
			c.errorReply("CLUSTERDOWN not the leader (leadership moved)")
			return
		}
		c.fail(err)
		return
	}
	saved := c.db
	c.setDB(db)
	k.local(s, c, inner)
	c.setDB(saved)
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
	vargs := append([][]byte{[]byte("WALKER.VERSIONS")}, keys...)
	var seqs []uint64
	var failed []byte
	err := s.b.ReadBarrier(int(s.readLevel.Load()))
	var nl *NotLeaderError
	switch {
	case err == nil:
		seqs, err = command.Versions(s.b.Engine(), c.db, s.nowMs(), keys)
		if err != nil {
			c.fail(err)
			return
		}
	case errors.As(err, &nl):
		reply := s.forwardRead(nl, int(s.readLevel.Load()), c.db, vargs)
		seqs, failed = parseVersions(reply, len(keys))
	default:
		c.fail(err)
		return
	}
	if failed != nil {
		c.raw(failed)
		return
	}
	for i, k := range keys {
		c.watches = append(c.watches, command.Watch{DB: c.db, Key: k, Seq: seqs[i]})
	}
	c.ok()
}

// parseVersions reads WALKER.VERSIONS's reply; on anything else it returns
// the reply to relay.
func parseVersions(reply []byte, n int) ([]uint64, []byte) {
	v, _, err := parseValue(reply)
	if err != nil {
		return nil, command.AppendError(nil, "ERR bad reply from the leader: "+err.Error())
	}
	if v.kind == '-' {
		return nil, reply
	}
	if v.kind != '*' || len(v.elems) != n {
		return nil, command.AppendError(nil, "ERR bad reply from the leader to WALKER.VERSIONS")
	}
	seqs := make([]uint64, n)
	for i, e := range v.elems {
		if e.kind != ':' {
			return nil, command.AppendError(nil, "ERR bad reply from the leader to WALKER.VERSIONS")
		}
		seqs[i] = uint64(e.num)
	}
	return seqs, nil
}

func cmdUnwatch(s *Server, c *client, args [][]byte) {
	c.watches = nil
	c.ok()
}

// cmdExec runs the queued commands. Data commands (and PING, ECHO, SELECT,
// TIME) go into one entry that the state machine applies atomically, its
// reads included; server-local commands (CONFIG, CLIENT, INFO, SCAN, ...)
// run here after the entry, and their replies take their places in the
// array.
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
	e := &command.Entry{NowMs: s.nowMs(), DB: c.db, Exec: true, Watches: watches}
	for _, q := range queue {
		if q.k.spec != nil {
			e.Cmds = append(e.Cmds, q.args)
		}
	}
	var reply []byte
	if len(e.Cmds) == 0 && len(watches) == 0 {
		reply = command.AppendArray(nil, 0)
	} else {
		reply = s.propose(e)
	}
	v, _, err := parseValue(reply)
	if err != nil {
		c.errorReply("ERR bad transaction reply: " + err.Error())
		return
	}
	if v.kind != '*' || v.null || len(v.elems) != len(e.Cmds) {
		c.raw(reply) // aborted (null array) or failed (error)
		return
	}
	// The transaction ran: its SELECTs move the connection.
	db := c.db
	for _, q := range queue {
		if q.k.name == "select" {
			if d, err := command.ParseDB(q.args[1]); err == nil {
				db = d
			}
		}
	}
	c.setDB(db)
	c.array(len(queue))
	next := 0
	for _, q := range queue {
		if q.k.spec != nil {
			el := v.elems[next]
			c.raw(reply[el.start:el.end])
			next++
			continue
		}
		q.k.run(s, c, q.args)
	}
}

// --- SCAN ---

type scanArgs struct {
	cursor  uint64
	count   int
	pattern []byte
	typ     []byte
}

func parseScan(args [][]byte) (scanArgs, error) {
	a := scanArgs{count: 10}
	cur, err := strconv.ParseUint(string(args[1]), 10, 64)
	if err != nil {
		return a, command.ErrInvalidCursor
	}
	a.cursor = cur
	for i := 2; i < len(args); i++ {
		more := len(args) - i
		switch {
		case equalFoldStr(args[i], "count") && more >= 2:
			n, ok := command.ParseInt(args[i+1])
			if !ok {
				return a, command.ErrNotInteger
			}
			if n < 1 {
				return a, command.ErrSyntax
			}
			a.count = int(min(n, 1<<30))
			i++
		case equalFoldStr(args[i], "match") && more >= 2:
			a.pattern = args[i+1]
			if len(a.pattern) == 1 && a.pattern[0] == '*' {
				a.pattern = nil
			}
			i++
		case equalFoldStr(args[i], "type") && more >= 2:
			a.typ = args[i+1]
			i++
		default:
			return a, command.ErrSyntax
		}
	}
	return a, nil
}

func cmdScan(s *Server, c *client, args [][]byte) {
	a, err := parseScan(args)
	if err != nil {
		c.fail(err)
		return
	}
	s.readAt(c, int(s.readLevel.Load()), args, func() { s.scanLocal(c, a) })
}

func localScan(s *Server, c *client, args [][]byte) {
	a, err := parseScan(args)
	if err != nil {
		c.fail(err)
		return
	}
	s.scanLocal(c, a)
}

func (s *Server) scanLocal(c *client, a scanArgs) {
	var start []byte
	if a.cursor != 0 {
		var ok bool
		if start, ok = s.cursors.get(a.cursor); !ok {
			c.fail(command.ErrInvalidCursor)
			return
		}
	}
	keys, next, err := command.ScanKeys(s.b.Engine(), c.db, s.nowMs(), start, a.count, a.pattern, a.typ)
	if err != nil {
		c.fail(err)
		return
	}
	var id uint64
	if next != nil {
		id = s.cursors.put(next)
	}
	c.array(2)
	c.bulkString(strconv.FormatUint(id, 10))
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
