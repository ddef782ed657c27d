package server

import (
	"errors"

	"github.com/walkerdb/walkerdb/walkerd/backend"
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
		s.forward(c, nl, 0, args)
	case errors.As(err, &nl) && nl.Removed:
		c.errorReply(removedText)
	case errors.Is(err, backend.ErrStandalone):
		c.errorReply("ERR this command requires cluster mode")
	default:
		c.fail(err)
	}
}

// JOIN id raft-addr [resp-addr]
func cmdJoin(s *Server, c *client, args [][]byte) {
	if len(args) > 4 {
		c.errorReply("ERR wrong number of arguments for 'join' command")
		return
	}
	resp := ""
	if len(args) == 4 {
		resp = string(args[3])
	}
	if err := s.b.Join(string(args[1]), string(args[2]), resp); err != nil {
		s.clusterError(c, args, err, true)
		return
	}
	c.ok()
}

// LEAVE id
func cmdLeave(s *Server, c *client, args [][]byte) {
	if err := s.b.Leave(string(args[1])); err != nil {
		s.clusterError(c, args, err, true)
		return
	}
	c.ok()
}

func cmdSnapshot(s *Server, c *client, args [][]byte) {
	if err := s.b.Snapshot(); err != nil {
		s.clusterError(c, args, err, false)
		return
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

// RAFT.TRANSFER [id]: the leader hands leadership to id (any voter when
// id is absent); a follower forwards it to the leader, as JOIN and LEAVE.
func cmdRaftTransfer(s *Server, c *client, args [][]byte) {
	if len(args) > 2 {
		c.errorReply("ERR wrong number of arguments for 'raft.transfer' command")
		return
	}
	id := ""
	if len(args) == 2 {
		id = string(args[1])
	}
	if err := s.b.Transfer(id); err != nil {
		s.clusterError(c, args, err, true)
		return
	}
	c.ok()
}
