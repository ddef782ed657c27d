package main

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
	"github.com/walkerdb/walkerdb/walkerd/forward"
	"github.com/walkerdb/walkerdb/walkerd/placement"
	"github.com/walkerdb/walkerdb/walkerd/server"
	"github.com/walkerdb/walkerdb/walkerd/shard"
	"github.com/walkerdb/walkerdb/walkerd/store"
)

// Several Raft groups per node (--groups N): every node starts with the
// same N groups, g1..gN, each owning a range of hash slots (shard.Split)
// until slots move (migrate.go), with its own engine, Raft log and
// snapshots, elected on its own. Their Raft traffic shares the node's one
// Raft port (store.Mux). g1 lives in --dir and --raftdir, as the one group
// of a node without --groups; gK lives in <parent of --dir>/groups/gK/
// {data,raft}. N is fixed when a node's directories are first used
// (recorded in <raftdir>/GROUPS); groups are then made and ended at run
// time (nodegroups.go).
//
// Leaders are spread: the leader of group i hands it to the i-th voter in
// id order (mod the voters), so that with as many groups as nodes each
// node leads one (spreadLeaders). Such a node also runs the placement
// group (placementgroup.go).

// groupsFlags is --groups.
func groupsFlags() []cli.Flag {
	return []cli.Flag{&cli.IntFlag{
		Name:    "groups",
		Value:   1,
		Usage:   "Raft groups every node starts with, each owning a range of hash slots with its own log and leader (1-64; fixed when the node's directories are first used; every node of a cluster takes the same number; walkerctl split and merge make and end groups later)",
		EnvVars: []string{"WALKERD_GROUPS"},
	}}
}

// maxGroups bounds --groups: each group costs raft's goroutines, a
// heartbeat per follower per interval and connections per peer.
const maxGroups = 64

// groupDirs are group i's data and Raft directories (i from 0).
func groupDirs(s *settings, i int) (data, raft string) {
	if i == 0 {
		return s.dir, s.raftDir
	}
	base := filepath.Join(filepath.Dir(filepath.Clean(s.dir)), "groups", "g"+strconv.Itoa(i+1))
	return filepath.Join(base, "data"), filepath.Join(base, "raft")
}

// groupsConfig is the server's view of the node's groups: nil for one.
// place is the placement group, nil where none runs.
func groupsConfig(g *nodeGroups, place *store.Store, routes *shard.Routing) *server.Groups {
	if g == nil {
		return nil
	}
	out := &server.Groups{Layout: shard.Split(g.first), Routes: routes, B: asGroups[backend.Backend](g.list())}
	if place != nil {
		out.Placement = place
	}
	return out
}

// routing is the slot -> group table of a node with several groups: the
// layout until the placement group (place, nil where none runs) has a
// map, then its slots. The server routes by it and the cluster map shows
// it.
func routing(n int, place *store.Store) *shard.Routing {
	l := shard.Split(n)
	if place == nil {
		return shard.NewRouting(l, nil, nil)
	}
	return shard.NewRouting(l, func() (*placement.State, error) { return command.Placement(place.Engine()) }, command.PlacementGeneration)
}

// joinGroups joins every group of a new node through the join target:
// JOIN ... GROUP gK, one group after the other, then GROUP placement (nil
// place: none), each retried as joinCluster retries. The first JOIN is
// sent only once the node that takes it says the cluster began with as
// many groups as this node (sameGroups): a node with another number would
// join the groups they share, with another slot layout, and wait for the
// others for ever; that is an error, and nothing is joined.
//
// Groups made or ended at run time are read first from the join target's
// placement state (WALKER.PLACEMENT): this node drops the layout groups
// that ended and opens, empty, those made since, so it joins the groups
// the cluster runs. Without an answer in placementAskFor it joins the
// layout's, as before any split.
func joinGroups(log *slog.Logger, pool *forward.Pool, s *settings, single *store.Store, g *nodeGroups, place *store.Store, stop <-chan struct{}) error {
	if g == nil {
		return joinCluster(log, pool, s, single, nil, 1, stop)
	}
	if st := askPlacement(pool, s.join, stop); st != nil {
		for _, id := range st.Dropped {
			if err := g.drop(id); err != nil {
				return err
			}
		}
		for _, pg := range st.Groups {
			if i := shard.GroupIndex(pg.ID); i >= g.first {
				if err := g.open(pg.ID, nil); err != nil {
					return err
				}
			}
		}
	}
	for i, st := range g.list() {
		if st == nil {
			continue
		}
		groups := 0
		if i == 0 {
			groups = g.first
		}
		id := shard.GroupID(i)
		if err := joinCluster(log.With("group", id), pool, s, st, [][]byte{[]byte("GROUP"), []byte(id)}, groups, stop); err != nil {
			return err
		}
	}
	if place != nil {
		return joinCluster(log.With("group", placementGroupID), pool, s, place, [][]byte{[]byte("GROUP"), []byte(placementGroupID)}, 0, stop)
	}
	return nil
}

// placementAskFor bounds how long a joining node asks its join target for
// the placement state.
const placementAskFor = 10 * time.Second

// askPlacement reads the placement state from the node at addr
// (WALKER.PLACEMENT), retrying for up to placementAskFor; nil if none
// came, or it has no map yet.
func askPlacement(pool *forward.Pool, addr string, stop <-chan struct{}) *placement.State {
	deadline := time.Now().Add(placementAskFor)
	for {
		raw, err := pool.Do(addr, [][]byte{[]byte("WALKER.PLACEMENT")})
		if err == nil {
			if v, _, perr := resp.Parse(raw); perr == nil && v.Kind == resp.KindBulk {
				if st, derr := placement.Decode(v.Str); derr == nil && st.Epoch > 0 {
					return st
				}
			}
		}
		if time.Now().After(deadline) {
			return nil
		}
		select {
		case <-stop:
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// errOtherGroups refuses a join into a cluster that runs another number
// of Raft groups than this node.
var errOtherGroups = errors.New("the cluster runs another number of Raft groups than this node (--groups): every node of a cluster takes the same number")

// sameGroups asks the node at addr how many Raft groups its cluster
// began with (INFO raft's raft_first_groups, or raft_groups from a node
// that predates groups made at run time; none: one) and answers errOtherGroups, wrapped
// with both numbers, when it is not n. When the node cannot answer it
// answers nil: the JOIN that follows fails and is retried as any.
func sameGroups(pool *forward.Pool, addr string, n int) error {
	raw, err := pool.Do(addr, [][]byte{[]byte("INFO"), []byte("raft")})
	if err != nil {
		return nil
	}
	v, _, err := resp.Parse(raw)
	if err != nil || v.Kind != resp.KindBulk {
		return nil
	}
	had, first := 1, -1
	for _, line := range strings.Split(string(v.Str), "\r\n") {
		if x, ok := strings.CutPrefix(line, "raft_groups:"); ok {
			had, _ = strconv.Atoi(x)
		}
		if x, ok := strings.CutPrefix(line, "raft_first_groups:"); ok {
			first, _ = strconv.Atoi(x)
		}
	}
	if first >= 0 {
		had = first
	}
	if had != n {
		return fmt.Errorf("%w: %d at %s, %d here", errOtherGroups, had, addr, n)
	}
	return nil
}

// spreadLeaders runs on every node with several groups: every 2 s, each
// group this node leads whose preferred leader is another voter is handed
// to it. The preferred leader of group i is the i-th of the group's voters
// in id order, mod their number: the same choice on every node, so
// leadership settles one group per node where the counts allow, and comes
// back to a node that restarts.
func spreadLeaders(log *slog.Logger, self string, g *nodeGroups, stop <-chan struct{}) {
	if g == nil {
		return
	}
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	// A hand-over waits until the preferred voter is reachable and caught
	// up (asking costs the group nothing); one that failed is tried again
	// after a delay that doubles up to a minute: a transfer holds the
	// group's writes (TRYAGAIN) until it ends, so it is never tried in a
	// loop against a node that cannot take it.
	retry := map[int]time.Time{}
	wait := map[int]time.Duration{}
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		for i, st := range g.list() {
			if st == nil || !st.IsLeader() || time.Now().Before(retry[i]) {
				continue
			}
			want := preferredLeader(st, i)
			if want == "" || want == self {
				continue
			}
			if st.ReadyToLead(want) != nil { // down, or behind: asked again next tick
				continue
			}
			if err := st.Transfer(want); err != nil {
				wait[i] = min(max(2*wait[i], 4*time.Second), time.Minute)
				retry[i] = time.Now().Add(wait[i])
				log.Info("leader spread: group stays here for now", "group", shard.GroupID(i), "to", want, "err", err, "retry_in", wait[i])
				continue
			}
			wait[i] = 0
		}
	}
}

// preferredLeader is the voter that should lead group i: "" when there is
// no other choice than the current leader.
func preferredLeader(b backend.Backend, i int) string {
	ms, err := b.Members()
	if err != nil {
		return ""
	}
	var voters []string
	for _, m := range ms {
		if m.Suffrage == "voter" {
			voters = append(voters, m.ID)
		}
	}
	if len(voters) < 2 {
		return ""
	}
	sort.Strings(voters)
	return voters[i%len(voters)]
}
