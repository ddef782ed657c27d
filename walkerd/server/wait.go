package server

import (
	"strconv"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// logHolder is what WAIT needs of a Raft backend (store.Store); the
// standalone backend has no log and lacks it.
type logHolder interface {
	// HasLog reports whether this node's log holds the committed entry at
	// index with term (index 0: always).
	HasLog(index, term uint64) bool
	// NodeID is this node's Raft server id.
	NodeID() string
}

// noteWrite records where the client's last write went in the Raft log
// (propose calls it with every write's result): a write whose outcome is
// unknown, or that never reached the log, leaves the previous position.
func (c *client) noteWrite(group int, res *command.Result) {
	if res != nil && res.Index != 0 {
		c.wroteIndex, c.wroteTerm, c.wroteGroup = res.Index, res.Term, group
	}
}

// waitProbe bounds how long WAIT waits for every replica's first answer
// when it need not wait for more (numreplicas already reached, or inside
// MULTI): a replica that does not answer within it is not counted. A
// reachable replica answers within a round trip; one that is down costs
// every such WAIT this long.
const waitProbe = 20 * time.Millisecond

// WAIT numreplicas timeout answers how many replicas hold the client's
// last write in their Raft log, waiting up to timeout milliseconds (0: for
// ever) until numreplicas of them do, as replication.c's waitCommand does
// with replicas' acknowledged offsets. The replicas are the voters other
// than the leader (walkerd's master); a write's position is the log index
// and term its entry got (command.Result.Index, Term), and each replica is
// asked with WALKER.HASLOG index term over the node-to-node connections
// (this node itself is asked directly) until it answers 1; a replica that
// cannot be reached, or has no recorded RESP address, is not counted.
// Before the client's first write (index 0) every replica that answers
// counts, as Redis counts every connected replica for an offset of 0.
//
// When numreplicas is already reached, and inside MULTI (where WAIT never
// blocks, as with Redis's CLIENT_DENY_BLOCKING), the count is answered
// once every replica answered once, or after waitProbe (20 ms), or at the
// timeout if sooner: Redis answers from the offsets replicas acknowledged
// last; walkerd asks them.
//
// A client on a follower: Redis refuses WAIT on a replica ("ERR WAIT
// cannot be used with replica instances"), but a follower forwards its
// clients' writes to the leader, so WAIT answers for the forwarded write,
// counting the same replicas (the follower itself among them). Standalone
// there are no replicas: 0, after the timeout unless numreplicas is 0. hashicorp/raft v1.7.3 does not expose the
// leader's per-follower match indexes (Stats and observers carry no
// per-peer replication state), hence the questions.
func cmdWait(s *Server, c *client, args [][]byte) {
	want, ok := command.ParseInt(args[1])
	if !ok {
		c.fail(command.ErrNotInteger)
		return
	}
	d, msg := pauseTimeout(args[2])
	if msg != "" {
		c.errorReply(msg)
		return
	}
	g := s.groupB(c.wroteGroup) // the Raft group of the last write (groups.go)
	if g == nil {
		g = s.b // dropped since (GROUP DROP): its writes live in the group that took its slots
	}
	peers := s.waitReplicas(g) // none standalone: WAIT waits out its timeout, as Redis with no replicas
	s.pauseTurnDone(c)         // WAIT writes nothing: commands held after it go on
	index, term := c.wroteIndex, c.wroteTerm
	done := make(chan struct{})
	defer close(done)
	// Each asker sends at most two answers (not held, then held): the
	// buffer keeps them from blocking after WAIT returned.
	heard := make(chan waitAnswer, 2*len(peers))
	for _, p := range peers {
		go s.askHasLog(g, s.groupID(c.wroteGroup), p, index, term, heard, done)
	}
	var deadline <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		deadline = t.C
	}
	probe := time.NewTimer(waitProbe)
	defer probe.Stop()
	probed := false
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	acked, answered := 0, 0
	for {
		// Enough replicas, or inside MULTI: answer once every replica
		// answered or the probe time passed. Otherwise wait for more, up
		// to the timeout (for ever with 0), as Redis waits even for more
		// replicas than there are.
		if (int64(acked) >= want || c.inExec) && (acked == len(peers) || probed || answered == len(peers)) {
			c.integer(int64(acked))
			return
		}
		select {
		case a := <-heard:
			if a.first {
				answered++
			}
			if a.held {
				acked++
			}
		case <-probe.C:
			probed = true
		case <-deadline:
			c.integer(int64(acked))
			return
		case <-s.quit:
			c.integer(int64(acked))
			return
		case <-poll.C:
			if peerClosed(c) {
				c.quit = true
				return
			}
		}
	}
}

// waitAnswer is one replica's answer to WAIT's question: first is set on
// its first answer (held or not, or a failure to ask), held once it holds
// the write.
type waitAnswer struct{ first, held bool }

// waitReplica is one voter WAIT asks: self when it is this node.
type waitReplica struct {
	id, addr string
	self     bool
}

// waitReplicas lists WAIT's replicas: the voters other than the leader
// (other than this node if no leader is known); none standalone.
func (s *Server) waitReplicas(b backend.Backend) []waitReplica {
	lh, ok := b.(logHolder)
	if !ok {
		return nil
	}
	ms, err := b.Members()
	if err != nil {
		return nil
	}
	leader := lh.NodeID()
	for _, m := range ms {
		if m.Role == "leader" {
			leader = m.ID
		}
	}
	var out []waitReplica
	for _, m := range ms {
		if m.Suffrage == "voter" && m.ID != leader {
			out = append(out, waitReplica{id: m.ID, addr: m.RESPAddr, self: m.ID == lh.NodeID()})
		}
	}
	return out
}

// askHasLog asks one replica whether its log holds the entry at index
// with term, again every 20 ms until it does (or 100 ms after a failure to
// ask), and reports to heard, until done is closed. A question in flight
// to a replica that stopped answering ends with the forwarder's call
// timeout. A replica whose RESP address is not recorded yet (it joined
// a moment ago) is looked up again before each question.
func (s *Server) askHasLog(b backend.Backend, group string, p waitReplica, index, term uint64, heard chan<- waitAnswer, done <-chan struct{}) {
	q := [][]byte{[]byte("WALKER.HASLOG"), strconv.AppendUint(nil, index, 10), strconv.AppendUint(nil, term, 10)}
	if group != "" {
		q = append(q, []byte(group))
	}
	first := true
	for {
		if p.addr == "" && !p.self {
			p.addr = memberAddr(b, p.id)
		}
		held, err := false, error(nil)
		switch {
		case p.self:
			held = b.(logHolder).HasLog(index, term)
		case p.addr == "" || s.cfg.Forwarder == nil:
			err = errNoAddr
		default:
			var raw []byte
			if raw, err = s.cfg.Forwarder.Do(p.addr, q); err == nil {
				v, _, perr := resp.Parse(raw)
				held, err = perr == nil && v.Kind == resp.KindInt && v.Int == 1, perr
			}
		}
		select {
		case <-done:
			return
		default:
		}
		if first || held {
			heard <- waitAnswer{first: first, held: held}
			first = false
		}
		if held {
			return
		}
		pause := 20 * time.Millisecond
		if err != nil {
			pause = 100 * time.Millisecond
		}
		t := time.NewTimer(pause)
		select {
		case <-done:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// memberAddr is the recorded RESP address of member id, "" if none.
func memberAddr(b backend.Backend, id string) string {
	ms, _ := b.Members()
	for _, m := range ms {
		if m.ID == id {
			return m.RESPAddr
		}
	}
	return ""
}

type waitError string

func (e waitError) Error() string { return string(e) }

const errNoAddr = waitError("no RESP address recorded for the replica")

// logPosition reads the arguments "index term [group]" of WALKER.HASLOG
// and WALKER.BLOB: the backend of the group (this node's one, or the one
// named) and a position in its log. It answers the error itself and
// reports false when they are wrong.
func (s *Server) logPosition(c *client, args [][]byte) (b backend.Backend, index, term uint64, ok bool) {
	gi := 0
	if len(args) > 3 {
		if gi = s.groupByID(string(args[3])); gi < 0 {
			c.errorReply("ERR no such Raft group on this node: " + string(args[3]))
			return nil, 0, 0, false
		}
	}
	index, err1 := strconv.ParseUint(string(args[1]), 10, 64)
	term, err2 := strconv.ParseUint(string(args[2]), 10, 64)
	if err1 != nil || err2 != nil {
		c.fail(command.ErrNotInteger)
		return nil, 0, 0, false
	}
	return s.groupB(gi), index, term, true
}

// WALKER.HASLOG index term [group]: 1 if this node's Raft log (of the
// group named, on a node with several) holds the entry at index with term
// (store.Store.HasLog), else 0; WAIT's question to each replica.
// Standalone: ERR, there is no log.
func cmdWalkerHaslog(s *Server, c *client, args [][]byte) {
	b, index, term, ok := s.logPosition(c, args)
	if !ok {
		return
	}
	lh, ok := b.(logHolder)
	if !ok {
		c.errorReply("ERR this command requires cluster mode")
		return
	}
	if lh.HasLog(index, term) {
		c.integer(1)
	} else {
		c.integer(0)
	}
}
