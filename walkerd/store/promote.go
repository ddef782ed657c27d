package store

// Membership changes that cannot cost the cluster its quorum, as etcd's
// learners and strict reconfiguration check and Consul's autopilot do:
//
//   - JOIN adds a node as a non-voter (raft.AddNonvoter), after checking
//     that its Raft address accepts a connection. A non-voter receives the
//     log but counts toward no quorum, so a node that is down, slow to
//     catch up or mistyped never makes the cluster unavailable.
//   - The leader's promoter (promoteLoop) checks every non-voter each
//     promoteInterval (100 ms) and promotes it (raft.AddVoter) once it has
//     caught up: the index it has applied (raft's applied index, asked
//     over RESP through Config.Probe, INFO raft's raft_log_applied_index)
//     is within promoteMaxLag entries of the leader's commit index on
//     promoteStableChecks (2) checks in a row, as autopilot waits for a
//     server to be healthy for ServerStabilizationTime. hashicorp/raft
//     v1.7.3 does not export a follower's match index (its replication
//     state is private; the observer reports only heartbeat failures), so
//     the leader asks the node itself. A node that joined the leader of a
//     3-node start-up is a voter about 0.2-0.3 s after it caught up
//     (walkerd's TestE2E_Member_JoinerIsPromotedAndVotes measures it).
//     Without a probe, or without the node's RESP address, the leader
//     cannot see its progress: it promotes the node once its Raft address
//     has been reachable, and its heartbeats not failing, for
//     promoteBlindChecks checks in a row (1 s).
//   - With Config.MaxVoters, the promoter stops at that many voters (the
//     placement group's 3); when a voter leaves, the next caught-up
//     non-voter takes its place.
//   - LEAVE of a voter, and JOIN's removal of a stale entry with the same
//     id or address, is refused when the voters of the new configuration
//     would not include a reachable quorum (checkRemoval): the leader
//     counts itself, and every other voter whose heartbeats are not
//     failing and whose Raft address completes a link handshake within
//     reachTimeout (reachable). Removing the last voter is refused;
//     removing a non-voter is always allowed. Removing a dead voter is
//     allowed whenever the others are a quorum of the smaller
//     configuration, which is how a cluster that lost a node gets back the
//     margin it had.

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

const (
	// promoteInterval is how often the leader checks its non-voters.
	promoteInterval = 100 * time.Millisecond
	// promoteMaxLag is how many entries a non-voter's applied index may
	// trail the leader's commit index and still count as caught up:
	// autopilot's default MaxTrailingLogs.
	promoteMaxLag = 250
	// promoteStableChecks is how many checks in a row a non-voter must be
	// caught up on before it is promoted.
	promoteStableChecks = 2
	// promoteBlindChecks replaces it when the node's progress cannot be
	// asked (no probe, or no RESP address recorded).
	promoteBlindChecks = 10
	// reachTimeout bounds a Raft dial with its link handshake (the
	// handshake's own deadline is nodelink's, 5 s by default).
	reachTimeout = 2 * time.Second
)

// membership is the leader-side state of the promoter and the heartbeat
// tracker.
type membership struct {
	mu sync.Mutex
	// failing holds the peers whose heartbeats from this leader fail, and
	// since when (raft's FailedHeartbeatObservation; cleared by
	// ResumedHeartbeatObservation, a leader change or the peer's removal).
	failing map[raft.ServerID]time.Time
	// stable counts each non-voter's caught-up checks in a row.
	stable map[raft.ServerID]int
	// added is when each non-voter was first seen (or added by JOIN), for
	// the log line that reports how long its promotion took.
	added map[raft.ServerID]time.Time
}

func (m *membership) init() {
	m.failing = map[raft.ServerID]time.Time{}
	m.stable = map[raft.ServerID]int{}
	m.added = map[raft.ServerID]time.Time{}
}

func (m *membership) isFailing(id raft.ServerID) (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.failing[id]
	return t, ok
}

// Unreachable reports whether this node, leading, has seen its heartbeats
// to member id fail since they last succeeded, and since when (raft's
// FailedHeartbeatObservation). false while not leading: the record is
// cleared on every leader change.
func (s *Store) Unreachable(id string) (since time.Time, failing bool) {
	if !s.IsLeader() {
		return time.Time{}, false
	}
	return s.member.isFailing(raft.ServerID(id))
}

// startMembership starts the promoter; it ends with Close. The heartbeat
// tracker hears raft through observeRaft.
func (s *Store) startMembership() {
	s.member.init()
	s.wg.Add(1)
	go s.promoteLoop()
}

// observeRaft is the store's one raft observer, until Close: leaders for
// the metrics (countLeader), heartbeats and peers for the membership
// checks (observeMember).
func (s *Store) observeRaft() {
	ch := make(chan raft.Observation, 64)
	obs := raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		switch o.Data.(type) {
		case raft.FailedHeartbeatObservation, raft.ResumedHeartbeatObservation, raft.LeaderObservation, raft.PeerObservation:
			return true
		}
		return false
	})
	s.raft.RegisterObserver(obs)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.raft.DeregisterObserver(obs)
		for {
			select {
			case <-s.quit:
				return
			case o := <-ch:
				s.countLeader(o)
				s.observeMember(o)
				if p, ok := o.Data.(raft.PeerObservation); ok && !p.Removed {
					s.rlog.Learn(p.Peer) // before any failure line names it by address
				}
			}
		}
	}()
}

func (s *Store) observeMember(o raft.Observation) {
	m := &s.member
	m.mu.Lock()
	defer m.mu.Unlock()
	switch d := o.Data.(type) {
	case raft.FailedHeartbeatObservation:
		if _, ok := m.failing[d.PeerID]; !ok {
			// Failing since the last contact, not since this report: a
			// hung peer's first heartbeat fails only when the transport's
			// 10 s RPC timeout ends.
			since := time.Now()
			if !d.LastContact.IsZero() && d.LastContact.Before(since) {
				since = d.LastContact
			}
			m.failing[d.PeerID] = since
		}
	case raft.ResumedHeartbeatObservation:
		delete(m.failing, d.PeerID)
	case raft.LeaderObservation:
		clear(m.failing) // a new leader's heartbeats start afresh
	case raft.PeerObservation:
		if d.Removed {
			delete(m.failing, d.Peer.ID)
		}
	}
}

// promoteLoop runs on every node and acts while it leads: it promotes the
// non-voters that have caught up.
func (s *Store) promoteLoop() {
	defer s.wg.Done()
	t := time.NewTicker(promoteInterval)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		if s.raft.State() != raft.Leader {
			s.member.mu.Lock()
			clear(s.member.stable)
			s.member.mu.Unlock()
			continue
		}
		s.promoteRound()
	}
}

// promoteRound checks each non-voter once and promotes those caught up on
// enough checks in a row.
func (s *Store) promoteRound() {
	f := s.raft.GetConfiguration()
	if f.Error() != nil {
		return
	}
	conf, confIndex := f.Configuration(), f.Index()
	resp, _ := command.Members(s.fsm.engine())
	m := &s.member
	nonvoters := map[raft.ServerID]bool{}
	voters := 0
	for _, srv := range conf.Servers {
		if srv.Suffrage == raft.Voter {
			voters++
		}
	}
	for _, srv := range conf.Servers {
		if srv.Suffrage != raft.Nonvoter {
			continue
		}
		if s.cfg.MaxVoters > 0 && voters >= s.cfg.MaxVoters {
			break // Config.MaxVoters: the others stay non-voters
		}
		nonvoters[srv.ID] = true
		need := promoteStableChecks
		var err error
		if s.cfg.Probe != nil && resp[string(srv.ID)] != "" {
			err = s.nonvoterCaughtUp(srv, resp[string(srv.ID)])
		} else {
			need = promoteBlindChecks
			err = s.reachable(srv)
		}
		m.mu.Lock()
		if _, ok := m.added[srv.ID]; !ok {
			m.added[srv.ID] = time.Now()
		}
		if err != nil {
			m.stable[srv.ID] = 0
		} else {
			m.stable[srv.ID]++
		}
		n, added := m.stable[srv.ID], m.added[srv.ID]
		m.mu.Unlock()
		if n < need {
			continue
		}
		// prevIndex: nothing else may have changed the configuration
		// since it was read (a LEAVE of this very node).
		if err := s.wait(s.raft.AddVoter(srv.ID, srv.Address, confIndex, 0)); err != nil {
			s.log.Warn("promoting a non-voter", "id", srv.ID, "err", err)
			return // the configuration changed, or leadership was lost: read it again
		}
		s.log.Info("promoted a non-voter to voter", "id", srv.ID, "raft", srv.Address, "after", time.Since(added).Round(time.Millisecond))
		m.mu.Lock()
		delete(m.stable, srv.ID)
		delete(m.added, srv.ID)
		m.mu.Unlock()
		return // the configuration index moved on
	}
	m.mu.Lock()
	for id := range m.stable {
		if !nonvoters[id] {
			delete(m.stable, id)
		}
	}
	for id := range m.added {
		if !nonvoters[id] {
			delete(m.added, id)
		}
	}
	m.mu.Unlock()
}

// nonvoterCaughtUp asks the node at respAddr for its applied index and
// compares it with this leader's commit index.
func (s *Store) nonvoterCaughtUp(srv raft.Server, respAddr string) error {
	applied, err := s.probe(respAddr)
	if err != nil {
		return err
	}
	if commit := s.raft.CommitIndex(); applied+promoteMaxLag < commit {
		return fmt.Errorf("applied index %d trails the commit index %d", applied, commit)
	}
	return nil
}

// probe is Config.Probe, given up when the store closes: Close waits for
// the promotion loop, and a probe of a node that stopped answering runs to
// the probe's own timeout (a second in walkerd, probe.go). A probe given
// up ends on its own.
func (s *Store) probe(respAddr string) (uint64, error) {
	type probed struct {
		applied uint64
		err     error
	}
	done := make(chan probed, 1)
	go func() {
		applied, err := s.cfg.Probe(respAddr)
		done <- probed{applied, err}
	}()
	select {
	case p := <-done:
		return p.applied, p.err
	case <-s.quit:
		return 0, errRaftDown
	}
}

// reachable reports why srv cannot be reached over Raft now, or nil: this
// leader's heartbeats to it are not failing, and its Raft address accepts
// a connection and completes the link handshake through the stream layer
// within reachTimeout. The handshake needs the peer's process to answer,
// so a paused node (or one behind a black hole) fails it. What counts for
// a quorum is Raft alone: a node still catching up after a restart, whose
// RESP server answers LOADING, votes and acknowledges entries.
func (s *Store) reachable(srv raft.Server) error {
	if since, ok := s.member.isFailing(srv.ID); ok {
		return fmt.Errorf("heartbeats to it failing for %v", time.Since(since).Round(time.Millisecond))
	}
	return s.dialRaft(srv.Address)
}

// ReadyToLead reports why member id should not take this group's
// leadership now, or nil: it cannot be reached over Raft (reachable), or
// its applied index trails this leader's commit index by more than a
// non-voter may to be promoted (asked with Config.Probe when there is
// one). A node with several Raft groups asks it before handing a group to
// id: a transfer holds the group's writes (TRYAGAIN) until the target
// has caught up and won, or the transfer timed out.
func (s *Store) ReadyToLead(id string) error {
	addr, ok := s.raftAddrOf(id)
	if !ok {
		return fmt.Errorf("no member with id %s", id)
	}
	srv := raft.Server{ID: raft.ServerID(id), Address: addr}
	if err := s.reachable(srv); err != nil {
		return err
	}
	if s.cfg.Probe == nil {
		return nil
	}
	members, err := command.Members(s.fsm.engine())
	if err != nil || members[id] == "" {
		return fmt.Errorf("no RESP address recorded for %s", id)
	}
	return s.nonvoterCaughtUp(srv, members[id])
}

// dialRaft connects to a Raft address through the stream layer, as the
// transport would, and hangs up. It gives up after reachTimeout; a dial
// still running then closes its connection when it ends.
func (s *Store) dialRaft(addr raft.ServerAddress) error {
	done := make(chan error, 1)
	go func() {
		conn, err := s.stream.Dial(addr, reachTimeout)
		if err == nil {
			err = conn.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(reachTimeout):
		return fmt.Errorf("no link to %s within %v", addr, reachTimeout)
	}
}

// errRefused marks a membership change refused because it would leave the
// voters without a reachable quorum.
var errRefused = errors.New("refused")

// checkRemoval refuses removing the servers in remove from conf when the
// voters left would have no reachable quorum (etcd's strict
// reconfiguration check): this node counts as reachable while it stays,
// every other voter must pass reachable. what names the change in the
// error. Removing only non-voters is always allowed.
func (s *Store) checkRemoval(conf raft.Configuration, remove map[raft.ServerID]bool, what string) error {
	removesVoter := false
	var left []raft.Server
	for _, srv := range conf.Servers {
		switch {
		case remove[srv.ID]:
			removesVoter = removesVoter || srv.Suffrage == raft.Voter
		case srv.Suffrage == raft.Voter:
			left = append(left, srv)
		}
	}
	if !removesVoter {
		return nil
	}
	if len(left) == 0 {
		return fmt.Errorf("%w: removing %s would leave no voter", errRefused, what)
	}
	ok := make([]bool, len(left))
	var wg sync.WaitGroup
	for i, srv := range left {
		if string(srv.ID) == s.cfg.ID {
			ok[i] = true
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.reachable(srv)
			if err != nil {
				s.log.Info("voter unreachable", "id", srv.ID, "raft", srv.Address, "err", err)
			}
			ok[i] = err == nil
		}()
	}
	wg.Wait()
	reached := 0
	for _, b := range ok {
		if b {
			reached++
		}
	}
	if quorum := len(left)/2 + 1; reached < quorum {
		return fmt.Errorf("%w: removing %s would leave %d of %d voters reachable, fewer than a quorum of %d",
			errRefused, what, reached, len(left), quorum)
	}
	return nil
}
