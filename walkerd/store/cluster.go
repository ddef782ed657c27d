package store

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// Snapshot implements backend.Cluster.
func (s *Store) Snapshot() error {
	if err := s.raft.Snapshot().Error(); err != nil && !errors.Is(err, raft.ErrNothingNewToSnapshot) {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// Leader implements backend.Cluster.
func (s *Store) Leader() (backend.Member, bool, error) {
	addr, id := s.raft.LeaderWithID()
	if id == "" {
		return backend.Member{}, false, nil
	}
	return backend.Member{ID: string(id), RaftAddr: string(addr), RESPAddr: s.leaderRESP(), Role: "leader"}, true, nil
}

// Transfer implements backend.Cluster: from the leader, to id ("" any).
func (s *Store) Transfer(id string) error {
	if s.raft.State() != raft.Leader {
		return s.notLeader()
	}
	var f raft.Future
	if id != "" {
		addr, ok := s.raftAddrOf(id)
		if !ok {
			return fmt.Errorf("no member with id %s", id)
		}
		f = s.raft.LeadershipTransferToServer(raft.ServerID(id), addr)
	} else {
		f = s.raft.LeadershipTransfer()
	}
	if err := f.Error(); err != nil {
		return fmt.Errorf("transfer: %w", err)
	}
	return nil
}

// Join implements backend.Cluster: it adds a non-voter, which the leader's
// promoter makes a voter once it has caught up (promote.go), and records
// its RESP address. The node's Raft address must accept a connection
// first: an unreachable one changes nothing and answers "cannot reach".
// Joining a member that is already in the configuration with the same Raft
// address only updates its RESP address. An entry with the same id at
// another address, or another id at the same address, is removed first
// (as rqlite and consul do), unless that would leave the voters without a
// reachable quorum (checkRemoval). A follower answers
// *backend.NotLeaderError.
func (s *Store) Join(id, raftAddr, respAddr string) error {
	if s.raft.State() != raft.Leader {
		return s.notLeader()
	}
	if id == "" {
		return errors.New("empty node id")
	}
	if err := validAddr(raftAddr); err != nil {
		return fmt.Errorf("raft address: %w", err)
	}
	if respAddr != "" {
		if err := validAddr(respAddr); err != nil {
			return fmt.Errorf("resp address: %w", err)
		}
	}
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	conf := f.Configuration()
	member := false
	stale := map[raft.ServerID]bool{}
	var staleIDs []string
	for _, srv := range conf.Servers {
		switch {
		case srv.ID == raft.ServerID(id) && srv.Address == raft.ServerAddress(raftAddr):
			member = true
		case srv.ID == raft.ServerID(id) || srv.Address == raft.ServerAddress(raftAddr):
			if string(srv.ID) == s.cfg.ID {
				return fmt.Errorf("%w: node %s at %s would replace the leader %s at %s", errRefused, id, raftAddr, srv.ID, srv.Address)
			}
			stale[srv.ID] = true
			staleIDs = append(staleIDs, string(srv.ID)+" at "+string(srv.Address))
		}
	}
	if !member {
		if err := s.dialRaft(raft.ServerAddress(raftAddr)); err != nil {
			return fmt.Errorf("cannot reach %s (Raft) of node %s: %v", raftAddr, id, err)
		}
		if len(stale) > 0 {
			what := "the stale entry " + strings.Join(staleIDs, ", ")
			if err := s.checkRemoval(conf, stale, what); err != nil {
				return err
			}
		}
		for sid := range stale {
			if err := s.raft.RemoveServer(sid, 0, 0).Error(); err != nil {
				return fmt.Errorf("remove stale member %s: %w", sid, err)
			}
		}
		if err := s.raft.AddNonvoter(raft.ServerID(id), raft.ServerAddress(raftAddr), 0, 0).Error(); err != nil {
			return err
		}
		s.member.mu.Lock()
		if s.member.added != nil {
			s.member.added[raft.ServerID(id)] = time.Now()
		}
		s.member.mu.Unlock()
		s.log.Info("member joined as a non-voter", "id", id, "raft", raftAddr, "resp", respAddr)
	}
	if respAddr != "" {
		if members, err := command.Members(s.fsm.engine()); err != nil || members[id] != respAddr {
			if _, err := s.Apply(memberEntry("WALKER.SETMEMBER", id, respAddr)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Leave removes a member and its recorded address. Removing a voter is
// refused when the voters left would not include a reachable quorum, and
// removing the last voter always is (checkRemoval, as etcd's strict
// reconfiguration check); a non-voter can always leave.
//
// Another member is removed first and its address after: the removal
// commits under the new configuration, so a dead voter can leave a
// cluster whose old configuration has no quorum left without it (two
// voters, one down, while the leader's lease lasts). The leader's own
// address goes first, while it surely leads: removing itself ends its
// leadership (and shuts its raft down), and nothing could be written
// after that.
func (s *Store) Leave(id string) error {
	if s.raft.State() != raft.Leader {
		return s.notLeader()
	}
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	if _, ok := s.raftAddrOf(id); !ok {
		return fmt.Errorf("no member with id %s", id)
	}
	if err := s.checkRemoval(f.Configuration(), map[raft.ServerID]bool{raft.ServerID(id): true}, id); err != nil {
		return err
	}
	if id != s.cfg.ID {
		if err := s.wait(s.raft.RemoveServer(raft.ServerID(id), 0, 0)); err != nil {
			return err
		}
		s.log.Info("member left", "id", id)
		if _, err := s.Apply(memberEntry("WALKER.DELMEMBER", id)); err != nil {
			// The member is out; only its address record stays (no
			// command reads an address whose id is not a member).
			s.log.Warn("dropping the address of a member that left", "id", id, "err", err)
		}
		return nil
	}
	if _, err := s.Apply(memberEntry("WALKER.DELMEMBER", id)); err != nil {
		return err
	}
	err := s.wait(s.raft.RemoveServer(raft.ServerID(id), 0, 0))
	if err != nil {
		// Removing itself, the leader may lose leadership, or shut raft
		// down, before the future answers; the removal stands if it left
		// the configuration.
		if _, still := s.raftAddrOf(id); !still || errors.Is(err, errRaftDown) || errors.Is(err, raft.ErrLeadershipLost) {
			err = nil
		}
	}
	if err != nil {
		return err
	}
	s.log.Info("member left", "id", id)
	return nil
}

func (s *Store) raftAddrOf(id string) (raft.ServerAddress, bool) {
	f := s.raft.GetConfiguration()
	if f.Error() != nil {
		return "", false
	}
	for _, srv := range f.Configuration().Servers {
		if string(srv.ID) == id {
			return srv.Address, true
		}
	}
	return "", false
}

// Members lists the configuration with each member's RESP address.
func (s *Store) Members() ([]backend.Member, error) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	resp, _ := command.Members(s.fsm.engine())
	_, leader := s.raft.LeaderWithID()
	var ms []backend.Member
	for _, srv := range f.Configuration().Servers {
		m := backend.Member{ID: string(srv.ID), RaftAddr: string(srv.Address), RESPAddr: resp[string(srv.ID)], Role: "follower", Suffrage: strings.ToLower(srv.Suffrage.String())}
		if srv.ID == leader {
			m.Role = "leader"
		}
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].ID < ms[j].ID })
	return ms, nil
}

// InfoRaft implements backend.Backend: the body of INFO's raft section.
func (s *Store) InfoRaft() string {
	st := s.raft.Stats()
	_, leader := s.raft.LeaderWithID()
	var b strings.Builder
	line := func(k, v string) { b.WriteString(k + ":" + v + "\r\n") }
	line("raft_node_id", s.cfg.ID)
	line("raft_state", strings.ToLower(s.raft.State().String()))
	line("raft_term", strconv.FormatUint(s.raft.CurrentTerm(), 10))
	line("raft_leader_id", string(leader))
	line("raft_leader_addr", s.leaderRESP())
	line("raft_commit_index", strconv.FormatUint(s.raft.CommitIndex(), 10))
	line("raft_applied_index", strconv.FormatUint(s.fsm.applied.Load(), 10))
	line("pubsub_entries_missed", strconv.FormatUint(s.fsm.skipped.Load(), 10))
	line("pubsub_messages_missed", strconv.FormatUint(s.fsm.pubMissed.Load(), 10))
	// The PUBLISH and SPUBLISH messages of the entries applied (or
	// installed): replicated, the same on every node at the same index.
	published, _ := command.Published(s.fsm.engine())
	line("pubsub_messages_published", strconv.FormatUint(published, 10))
	// raft's own applied index counts every entry (no-ops and membership
	// changes too), so it matches the commit index when a node is caught up.
	line("raft_log_applied_index", st["applied_index"])
	line("raft_last_log_index", st["last_log_index"])
	line("raft_last_snapshot_index", st["last_snapshot_index"])
	line("raft_last_contact", st["last_contact"])
	line("raft_log_store", s.logKind) // bolt or wal (logstore.go)
	// Consistent reads' leadership checks (verify.go): the rounds, and
	// those whose raft check passed on answers older than them and
	// waited for newer ones.
	line("raft_leader_checks", strconv.FormatUint(s.verify.checked.Load(), 10))
	line("raft_leader_checks_waited", strconv.FormatUint(s.verify.waits.Load(), 10))
	line("raft_ready", strconv.FormatBool(s.ready.Load() == s.raft.CurrentTerm() && s.raft.State() == raft.Leader))
	ms, _ := s.Members()
	line("raft_members", strconv.Itoa(len(ms)))
	for i, m := range ms {
		line("raft_member"+strconv.Itoa(i), "id="+m.ID+",raft="+m.RaftAddr+",resp="+m.RESPAddr+",role="+m.Role+",suffrage="+m.Suffrage)
	}
	return b.String()
}

// HasLog reports whether this node holds the committed log entry at index
// with term, for WAIT (the server's WALKER.HASLOG): it has applied that
// index already (an applied index is committed, and a committed index
// holds the same entry on every node, so this covers entries a snapshot
// compacted away), or its log store has an entry there of that term
// (Raft's log matching property: same index and term, same entry). Index
// 0 (nothing written) is held by every node. Asked about an entry that is
// not committed, the first test can answer true wrongly; WAIT only asks
// about writes whose Apply returned.
func (s *Store) HasLog(index, term uint64) bool {
	if index == 0 || s.fsm.applied.Load() >= index {
		return true
	}
	var l raft.Log
	return s.logDB.GetLog(index, &l) == nil && l.Term == term
}

// Term is the current Raft term: the slot map's configuration epoch in
// cluster mode (shard.Single).
func (s *Store) Term() uint64 { return s.raft.CurrentTerm() }

// NodeID is this node's Raft server id.
func (s *Store) NodeID() string { return s.cfg.ID }

// WaitLeader blocks until some leader is known or the timeout passes.
func (s *Store) WaitLeader(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, id := s.raft.LeaderWithID(); id != "" {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}
