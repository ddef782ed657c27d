package main

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
	"github.com/walkerdb/walkerdb/walkerd/placement"
	"github.com/walkerdb/walkerdb/walkerd/shard"
	"github.com/walkerdb/walkerdb/walkerd/store"
)

// The placement group (walkerd/placement; walkerd/shard/DESIGN.md, "The
// placement group") runs on every node with several data groups, in
// <parent of --dir>/groups/placement/{data,raft}, over the node's Raft mux
// like the data groups. The first three nodes vote in it; every later one
// joins as a non-voter (store.Config.MaxVoters), so each node reads the
// map from its own copy, a few milliseconds behind at most, and the
// placement leader's heartbeats reach every node, which is how it learns
// which nodes are down.
//
// Each node's reporter (reportPlacement) keeps the state true, once a
// second, proposing only what differs, so an idle cluster writes nothing:
//
//   - the placement leader writes the first map (INIT, from the layout
//     every node computes, shard.Split), marks a node DOWN once its
//     heartbeats to it have failed for placementDownAfter, UP once they
//     succeed again, and forgets a node that left (LEAVE: in no group's
//     members, nor in the placement group's configuration);
//   - every node records its addresses (NODE), and, for each data group
//     it leads, itself as leader with the group's term and members
//     (LEADER): a new leader is on record about a second after it is
//     elected.
//
// A node that does not lead the placement group sends its changes to the
// leader as WALKER.APPLY ... GROUP placement over a node link.

// placementGroupID names the placement group on the mux and in JOIN.
const placementGroupID = "placement"

const (
	// placementReportEvery is how often each node's reporter runs.
	placementReportEvery = time.Second
	// placementDownAfter is how long the placement leader's heartbeats to
	// a node must fail before it is marked down (DESIGN.md: 10 s).
	placementDownAfter = 10 * time.Second
)

// openPlacement opens the node's copy of the placement group on mux.
func openPlacement(s *settings, base store.Config, mux *store.Mux, probe func(string) (uint64, error), log *slog.Logger) (*store.Store, error) {
	dir := filepath.Join(filepath.Dir(filepath.Clean(s.dir)), "groups", placementGroupID)
	cfg := base
	cfg.DataDir, cfg.RaftDir = filepath.Join(dir, "data"), filepath.Join(dir, "raft")
	cfg.Mux, cfg.Group = mux, placementGroupID
	cfg.Logger = log.With("group", placementGroupID)
	cfg.Probe = probe
	cfg.MaxVoters = 3
	// Rarely written, and read from each node's own copy: a follower may
	// learn a commit 50 ms late, and the group costs each follower 10
	// times fewer idle RPCs than a data group's 5 ms (an idle 3-node
	// cluster with 4 data groups spent 13% more CPU with the placement
	// group at 5 ms).
	cfg.CommitTimeout = 50 * time.Millisecond
	st, err := store.Open(cfg)
	if err != nil {
		return nil, fmt.Errorf("group %s: %w", placementGroupID, err)
	}
	return st, nil
}

// placeGroup is what the reporter uses of the placement group's store
// (*store.Store).
type placeGroup interface {
	Engine() *engine.DB
	IsLeader() bool
	Members() ([]backend.Member, error)
	Unreachable(id string) (since time.Time, failing bool)
	Apply(e *command.Entry) (*command.Result, error)
	// Ready reports whether this copy has caught up with the group's
	// commit index since the node started (store.Store.Ready).
	Ready() bool
}

// reporter is one node's placement reporter.
type reporter struct {
	log    *slog.Logger
	fw     backend.Forwarder
	self   string
	raft   string // this node's Raft address
	resp   string // this node's RESP address
	place  placeGroup
	groups *nodeGroups  // nil in tests
	layout shard.Layout // the first map's: groups.first's split

	leaderSince time.Time // when this node last became the placement leader
}

// reportPlacement runs the reporter until stop is closed.
func reportPlacement(r *reporter, stop <-chan struct{}) {
	t := time.NewTicker(placementReportEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		r.round(time.Now())
	}
}

// round proposes what the state lacks, one change per entry.
func (r *reporter) round(now time.Time) {
	st, err := command.Placement(r.place.Engine())
	if err != nil {
		r.log.Warn("placement: reading the state", "err", err)
		return
	}
	var changes [][]string
	if r.place.IsLeader() {
		if r.leaderSince.IsZero() {
			r.leaderSince = now
		}
		changes = append(changes, r.leaderChanges(st, now)...)
	} else {
		r.leaderSince = time.Time{}
	}
	if st.Epoch == 0 && len(changes) == 0 {
		return // nothing to report on before the first map
	}
	if r.groups != nil && r.place.Ready() {
		// Groups made and ended at run time (nodegroups.go), read only
		// from a copy that has caught up since the node started: one
		// replaying its log passes through states from before a DROP,
		// and would open a group that has ended.
		r.groups.reconcile(r.self, st)
	}
	if n := st.Node(r.self); n == nil || n.Raft != r.raft || n.RESP != r.resp {
		changes = append(changes, []string{"NODE", r.self, r.raft, r.resp})
	}
	var list []*store.Store
	if r.groups != nil {
		list = r.groups.list()
	}
	for i, g := range list {
		if g == nil || !g.IsLeader() {
			continue
		}
		ms, err := g.Members()
		if err != nil {
			continue
		}
		ids := make([]string, 0, len(ms))
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
		slices.Sort(ids)
		term := g.Term()
		if pg := st.Group(shard.GroupID(i)); pg != nil && pg.Leader == r.self && pg.Term == term && slices.Equal(pg.Members, ids) {
			continue
		}
		if st.IsDropped(shard.GroupID(i)) {
			continue
		}
		changes = append(changes, append([]string{"LEADER", shard.GroupID(i), r.self, strconv.FormatUint(term, 10)}, ids...))
	}
	for _, c := range changes {
		if err := r.propose(c); err != nil {
			r.log.Debug("placement: a change not recorded yet", "change", c[0], "err", err)
			return // the next round tries again, from the state as it is then
		}
	}
}

// leaderChanges are the placement leader's own: the first map, and the
// nodes' liveness.
func (r *reporter) leaderChanges(st *placement.State, now time.Time) [][]string {
	if st.Epoch == 0 {
		init := []string{"INIT"}
		for i, id := range r.layout.IDs {
			for _, rg := range r.layout.Ranges[i] {
				init = append(init, id, strconv.Itoa(int(rg.Start)), strconv.Itoa(int(rg.End)))
			}
		}
		return [][]string{init}
	}
	ms, err := r.place.Members()
	if err != nil {
		return nil
	}
	var out [][]string
	for _, n := range st.Nodes {
		if n.ID == r.self {
			if !n.Up { // marked down, then elected: it is up
				out = append(out, []string{"UP", n.ID})
			}
			continue
		}
		if !slices.ContainsFunc(ms, func(m backend.Member) bool { return m.ID == n.ID }) {
			if !st.Member(n.ID) {
				out = append(out, []string{"FORGET", n.ID}) // it left every group
			}
			continue
		}
		since, failing := r.place.Unreachable(n.ID)
		switch {
		case failing && n.Up && now.Sub(since) >= placementDownAfter:
			out = append(out, []string{"DOWN", n.ID})
		case !failing && !n.Up && now.Sub(r.leaderSince) >= placementDownAfter:
			// A new leader has had its heartbeats' time to fail first.
			out = append(out, []string{"UP", n.ID})
		}
	}
	return out
}

// propose applies one WALKER.PLACE in the placement group: here when this
// node leads it, else at its leader.
func (r *reporter) propose(change []string) error {
	args := [][]byte{[]byte("WALKER.PLACE")}
	for _, a := range change {
		args = append(args, []byte(a))
	}
	_, err := applyIn(r.fw, r.place, placementGroupID, args) // migrate.go
	return err
}
