package server

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
	"github.com/walkerdb/walkerdb/walkerd/placement"
	"github.com/walkerdb/walkerdb/walkerd/shard"
)

// Cluster commands: JOIN, LEAVE, SNAPSHOT, RAFT.MEMBERS, RAFT.LEADER and
// RAFT.TRANSFER, answered from the backend's typed Cluster methods. JOIN,
// LEAVE and RAFT.TRANSFER on a follower go to the leader on the path every
// forwarded command takes (forward).

// clusterError answers a cluster command's error: forwarding it when only
// the leader can carry it out and forwardIt is set.
func (s *Server) clusterError(c *client, args [][]byte, err error, forwardIt bool) {
	var nl *backend.NotLeaderError
	switch {
	case errors.As(err, &nl) && forwardIt:
		if msg := s.forward(c, nl, 0, args, false); msg != "" {
			c.errorReply(msg)
		}
	case errors.As(err, &nl) && nl.Removed:
		c.errorReply(removedText)
	case errors.Is(err, backend.ErrStandalone):
		c.errorReply("ERR this command requires cluster mode")
	default:
		c.fail(err)
	}
}

// groupArg takes a trailing "GROUP id" off a cluster command's arguments
// (a node with several Raft groups, groups.go): the group's index, or -1
// for every group when there is none. ok is false, with the error
// answered, for an unknown group.
func (s *Server) groupArg(c *client, args [][]byte) (rest [][]byte, gi int, ok bool) {
	n := len(args)
	if n < 3 || !equalFoldStr(args[n-2], "group") {
		return args, -1, true
	}
	if gi = s.groupByID(string(args[n-1])); gi < 0 {
		c.errorReply("ERR no such Raft group on this node: " + string(args[n-1]))
		return nil, 0, false
	}
	return args[:n-2], gi, true
}

// eachGroup runs a membership change in the group named by GROUP, or in
// every group this node hosts: where this node does not lead a group, the
// command goes to that group's leader with GROUP added. It answers OK, or
// the first failure.
func (s *Server) eachGroup(c *client, args [][]byte, fn func(b backend.Backend, args [][]byte) error) {
	rest, gi, ok := s.groupArg(c, args)
	if !ok {
		return
	}
	if gi >= 0 || !s.multi() {
		if err := fn(s.groupB(max(gi, 0)), rest); err != nil {
			s.clusterError(c, args, err, true)
			return
		}
		c.ok()
		return
	}
	for _, i := range s.memberGroups() {
		err := fn(s.groupB(i), rest)
		var nl *backend.NotLeaderError
		if errors.As(err, &nl) && !nl.Removed && nl.LeaderAddr != "" && s.cfg.Forwarder != nil && !c.forwarded {
			fw := append(append([][]byte{}, rest...), []byte("GROUP"), []byte(s.groupID(i)))
			var raw []byte
			if raw, err = s.cfg.Forwarder.Do(nl.LeaderAddr, fw); err == nil {
				if v, _, perr := resp.Parse(raw); perr != nil || v.Kind != resp.KindSimple {
					err = errors.New(strings.TrimPrefix(strings.TrimSpace(string(raw)), "-"))
				}
			}
		}
		if err != nil {
			c.fail(fmt.Errorf("group %s: %w", s.groupID(i), err))
			return
		}
	}
	c.ok()
}

// JOIN id raft-addr [resp-addr] [GROUP id]
func cmdJoin(s *Server, c *client, args [][]byte) {
	s.eachGroup(c, args, func(b backend.Backend, args [][]byte) error {
		if len(args) > 4 {
			return command.ErrArity("join")
		}
		resp := ""
		if len(args) == 4 {
			resp = string(args[3])
		}
		return b.Join(string(args[1]), string(args[2]), resp)
	})
}

// LEAVE id [GROUP id]. Without GROUP on a node with several groups, the
// groups id is not a member of are skipped (a node that never finished
// joining them, the placement group included), so that the reply says
// whether id left, not whether it was everywhere; it is an error only when
// id is in none.
func cmdLeave(s *Server, c *client, args [][]byte) {
	every := s.multi() && (len(args) < 3 || !equalFoldStr(args[len(args)-2], "group"))
	if every && len(args) == 2 {
		in := false
		for _, i := range s.memberGroups() {
			in = in || isMember(s.groupB(i), string(args[1]))
		}
		if !in {
			c.errorReply("ERR no member with id " + string(args[1]))
			return
		}
	}
	s.eachGroup(c, args, func(b backend.Backend, args [][]byte) error {
		if len(args) != 2 {
			return command.ErrArity("leave")
		}
		if every && !isMember(b, string(args[1])) {
			return nil
		}
		return b.Leave(string(args[1]))
	})
}

// isMember reports whether b's Raft configuration, as this node has it,
// lists node id.
func isMember(b backend.Backend, id string) bool {
	ms, err := b.Members()
	if err != nil {
		return true // cannot tell: let the group's leader answer
	}
	for _, m := range ms {
		if m.ID == id {
			return true
		}
	}
	return false
}

// SNAPSHOT: a snapshot of every group this node hosts.
func cmdSnapshot(s *Server, c *client, args [][]byte) {
	for _, b := range s.allGroups() {
		if err := b.Snapshot(); err != nil {
			s.clusterError(c, args, err, false)
			return
		}
	}
	c.ok()
}

// RAFT.MEMBERS: one array per member: id, raft address, RESP address,
// role, suffrage.
func cmdRaftMembers(s *Server, c *client, args [][]byte) {
	ms, err := s.b.Members()
	if err != nil {
		s.clusterError(c, args, err, false)
		return
	}
	c.array(len(ms))
	for _, m := range ms {
		c.array(5)
		for _, f := range []string{m.ID, m.RaftAddr, m.RESPAddr, m.Role, m.Suffrage} {
			c.bulkString(f)
		}
	}
}

// RAFT.LEADER: id, raft address, RESP address; a null array when no
// leader is known.
func cmdRaftLeader(s *Server, c *client, args [][]byte) {
	m, ok, err := s.b.Leader()
	switch {
	case err != nil:
		s.clusterError(c, args, err, false)
	case !ok:
		c.w.NullArray()
	default:
		c.array(3)
		c.bulkString(m.ID)
		c.bulkString(m.RaftAddr)
		c.bulkString(m.RESPAddr)
	}
}

// WALKER.PLACEMENT: the placement state (walkerd/placement's JSON) as this
// node's copy of the placement group has applied it: a few milliseconds
// behind its leader at most, as the slot map clients read is. In both
// cluster modes; an error on a node without a placement group (one data
// group, or standalone).
func cmdWalkerPlacement(s *Server, c *client, _ [][]byte) {
	if !s.multi() || s.groups.Placement == nil {
		c.errorReply("ERR this node has no placement group: it runs one Raft group (walkerd --groups)")
		return
	}
	st, err := command.Placement(s.groups.Placement.Engine())
	if err != nil {
		c.fail(err)
		return
	}
	c.bulk(st.Encode())
}

// WALKER.MIGRATE slots group: records the move of hash slots (a slot, or
// first-last) to the Raft group named (WALKER.PLACE MOVE, through the
// placement group's leader) and answers OK; the placement leader's driver
// then carries it out (walkerd/migrate.go), and WALKER.PLACEMENT shows it
// under "moves" until it is over. Errors: ERR Invalid or out of range slot
// (not 0..16383, or first > last), and the placement state's refusals
// (walkerd/placement: an unknown group, the slots' own group, slots of
// several groups, a slot already moving).
func cmdWalkerMigrate(s *Server, c *client, args [][]byte) {
	if !s.multi() || s.groups.Placement == nil {
		c.errorReply("ERR WALKER.MIGRATE needs a node with several Raft groups (--groups)")
		return
	}
	if _, _, err := placement.ParseSlots(string(args[1])); err != nil {
		c.errorReply(err.Error()) // placement's errors carry Redis's ERR prefix
		return
	}
	if msg := s.applyPlacement(c, [][]byte{[]byte("WALKER.PLACE"), []byte("MOVE"), args[1], args[2]}); msg != "" {
		c.errorReply(msg)
		return
	}
	c.ok()
}

// WALKER.GROUP ADD LIKE group: records a new data group in the placement
// state (WALKER.PLACE GROUP ADD), with group's voters as its members
// (likeMembers), and answers its id: g<N>, N one above every group id the
// state ever recorded. Each member then opens it (walkerd/nodegroups.go);
// it owns no slot until a move gives it some (walkerctl split).
// WALKER.GROUP DROP group: ends a group that owns no slot and takes part
// in no move (GROUP DROP); its members close it and delete its
// directories. Errors: the placement state's refusals (walkerd/placement),
// and ERR no such Raft group for an unknown LIKE group.
func cmdWalkerGroup(s *Server, c *client, args [][]byte) {
	if !s.multi() || s.groups.Placement == nil {
		c.errorReply("ERR WALKER.GROUP needs a node with several Raft groups (--groups)")
		return
	}
	var place [][]byte
	switch {
	case len(args) == 4 && equalFoldStr(args[1], "add") && equalFoldStr(args[2], "like"):
		// The id is chosen from this node's copy of the state, which may
		// lag: a taken id is refused at apply (ErrGroupID), and the next
		// one tried once the copy has caught up.
		for try := 0; ; try++ {
			st, err := command.Placement(s.groups.Placement.Engine())
			if err != nil {
				c.fail(err)
				return
			}
			members, msg := s.likeMembers(st, string(args[3]))
			if msg != "" {
				c.errorReply(msg)
				return
			}
			id := "g" + strconv.Itoa(st.LastGroup()+1)
			if shard.GroupIndex(id) < 0 {
				c.errorReply(fmt.Sprintf("ERR a node hosts at most %d data groups (group ids are never reused)", shard.MaxGroups))
				return
			}
			place = [][]byte{[]byte("WALKER.PLACE"), []byte("GROUP"), []byte("ADD"), []byte(id)}
			for _, m := range members {
				place = append(place, []byte(m))
			}
			msg = s.applyPlacement(c, place)
			if msg == placement.ErrGroupID.Error() && try < 20 {
				time.Sleep(50 * time.Millisecond) // another ADD took it: read the state again
				continue
			}
			if msg != "" {
				c.errorReply(msg)
				return
			}
			c.bulkString(id)
			return
		}
	case len(args) == 3 && equalFoldStr(args[1], "drop"):
		place = [][]byte{[]byte("WALKER.PLACE"), []byte("GROUP"), []byte("DROP"), args[2]}
		if msg := s.applyPlacement(c, place); msg != "" {
			c.errorReply(msg)
			return
		}
		c.ok()
	default:
		c.errorReply(fmt.Sprintf("ERR unknown subcommand or wrong number of arguments for '%.128s'. WALKER.GROUP takes ADD LIKE group, or DROP group", args[1]))
	}
}

// likeMembers are the voters of group like, a new group's members
// (WALKER.GROUP ADD LIKE): from like's Raft configuration as this node's
// replica has it, which follows a JOIN at once, where the placement
// state's copy (its leader's report) may be a second behind; from the
// placement state where this node does not run like.
func (s *Server) likeMembers(st *placement.State, like string) ([]string, string) {
	if st.Group(like) == nil {
		return nil, "ERR no such Raft group in the slot map: " + like
	}
	if b := s.groupB(shard.GroupIndex(like)); b != nil {
		ms, err := b.Members()
		if err != nil {
			return nil, "ERR " + err.Error()
		}
		var out []string
		for _, m := range ms {
			if m.Suffrage == "voter" {
				out = append(out, m.ID)
			}
		}
		return out, ""
	}
	return st.Group(like).Members, ""
}

// applyPlacement applies one WALKER.PLACE in the placement group (through
// its leader): "" or the error's text.
func (s *Server) applyPlacement(c *client, place [][]byte) string {
	res := s.applyGroup(c, placementIndex, &command.Entry{NowMs: s.nowMs(), Cmds: [][][]byte{place}})
	if res.Error != "" {
		return res.Error
	}
	if msg, isErr := res.Reply().Err(); isErr {
		return msg
	}
	return ""
}

// RAFT.TRANSFER [id]: the leader hands leadership to id (any voter when
// id is absent); a follower forwards it to the leader, as JOIN and LEAVE.
func cmdRaftTransfer(s *Server, c *client, args [][]byte) {
	full := args
	args, gi, ok := s.groupArg(c, args) // RAFT.TRANSFER [id] GROUP g: that group's leader
	if !ok {
		return
	}
	if len(args) > 2 {
		c.errorReply("ERR wrong number of arguments for 'raft.transfer' command")
		return
	}
	id := ""
	if len(args) == 2 {
		id = string(args[1])
	}
	if err := s.groupB(max(gi, 0)).Transfer(id); err != nil {
		s.clusterError(c, full, err, true)
		return
	}
	c.ok()
}
