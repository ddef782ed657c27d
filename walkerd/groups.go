package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
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

// Several Raft groups per node (--groups N): every node hosts the same N
// groups, g1..gN, each owning a fixed range of hash slots (shard.Split),
// with its own engine, Raft log and snapshots, elected on its own. Their
// Raft traffic shares the node's one Raft port (store.Mux). g1 lives in
// --dir and --raftdir, as the one group of a node without --groups; gK
// lives in <parent of --dir>/groups/gK/{data,raft}. The number of groups is
// fixed when a node's directories are first used (recorded in
// <raftdir>/GROUPS): moving slots between groups is not built yet.
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
		Usage:   "Raft groups on every node, each owning a range of hash slots with its own log and leader (1-64; fixed when the node's directories are first used; every node of a cluster takes the same number)",
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

// checkGroupCount refuses a --groups other than the one the node's
// directories were made with, and records it for a new node.
func checkGroupCount(s *settings, n int) error {
	path := filepath.Join(s.raftDir, "GROUPS")
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		had, perr := strconv.Atoi(strings.TrimSpace(string(b)))
		if perr != nil {
			return fmt.Errorf("%s: %q is not a number of groups", path, b)
		}
		if had != n {
			return fmt.Errorf("--groups %d: this node's directories hold %d Raft groups (%s); the number of groups cannot change yet", n, had, path)
		}
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	if n > 1 {
		if entries, _ := os.ReadDir(s.raftDir); len(entries) > 0 {
			return fmt.Errorf("--groups %d: %s already holds the Raft state of a node with one group; the number of groups cannot change yet", n, s.raftDir)
		}
	}
	if err := os.MkdirAll(s.raftDir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(strconv.Itoa(n)+"\n"), 0o644)
}

// openGroups opens the node's n groups over one mux; stores[0] is g1.
func openGroups(s *settings, n int, base store.Config, probeFor func(group string) func(string) (uint64, error), log *slog.Logger) ([]*store.Store, *store.Mux, error) {
	if err := checkGroupCount(s, n); err != nil {
		return nil, nil, err
	}
	mux, err := store.NewMux(s.raftAddr, s.raftAdvertise, base.Links, log)
	if err != nil {
		return nil, nil, fmt.Errorf("raft transport: %w", err)
	}
	layout := shard.Split(n)
	mux.SetDefault(layout.IDs[0]) // a node that predates the mux talks to g1
	var stores []*store.Store
	for i := range n {
		cfg := base
		cfg.DataDir, cfg.RaftDir = groupDirs(s, i)
		cfg.Mux, cfg.Group = mux, layout.IDs[i]
		cfg.Logger = log.With("group", layout.IDs[i])
		// The slots it serves decide what it refuses at apply, from its
		// first entry on (command/owner.go).
		command.SetOwner(cfg.DataDir, layout.Owner(i))
		if i > 0 {
			cfg.Probe = probeFor(layout.IDs[i]) // the group's own applied index (probe.go)
		}
		st, err := store.Open(cfg)
		if err != nil {
			for _, o := range stores {
				o.Close()
			}
			mux.Close()
			return nil, nil, fmt.Errorf("group %s: %w", layout.IDs[i], err)
		}
		stores = append(stores, st)
	}
	return stores, mux, nil
}

// groupsConfig is the server's view of the node's groups: nil for one.
// place is the placement group, nil where none runs.
func groupsConfig(stores []*store.Store, place *store.Store, routes *shard.Routing) *server.Groups {
	if len(stores) < 2 {
		return nil
	}
	g := &server.Groups{Layout: shard.Split(len(stores)), Routes: routes}
	if place != nil {
		g.Placement = place
	}
	for _, st := range stores {
		g.B = append(g.B, st)
	}
	return g
}

// routing is the slot -> group table of a node with several groups: the
// layout until the placement group (place, nil where none runs) has a
// map, then its slots. The server routes by it and the cluster map shows
// it.
func routing(stores []*store.Store, place *store.Store) *shard.Routing {
	l := shard.Split(len(stores))
	if place == nil {
		return shard.NewRouting(l, nil, nil)
	}
	return shard.NewRouting(l, func() (*placement.State, error) { return command.Placement(place.Engine()) }, command.PlacementGeneration)
}

// raftGroups lists the stores as the slot map reads them.
func raftGroups(stores []*store.Store) []shard.RaftGroup {
	out := make([]shard.RaftGroup, len(stores))
	for i, st := range stores {
		out[i] = st
	}
	return out
}

// joinGroups joins every group of a new node through the join target:
// JOIN ... GROUP gK, one group after the other, then GROUP placement (nil
// place: none), each retried as joinCluster retries. The first JOIN is
// sent only once the node that takes it says the cluster runs as many
// groups as this node (sameGroups): a node with another number would join
// the groups they share, with another slot layout, and wait for the
// others for ever; that is an error, and nothing is joined.
func joinGroups(log *slog.Logger, pool *forward.Pool, s *settings, stores []*store.Store, place *store.Store, stop <-chan struct{}) error {
	if len(stores) == 1 {
		return joinCluster(log, pool, s, stores[0], nil, 1, stop)
	}
	layout := shard.Split(len(stores))
	for i, st := range stores {
		groups := 0
		if i == 0 {
			groups = len(stores)
		}
		if err := joinCluster(log.With("group", layout.IDs[i]), pool, s, st, [][]byte{[]byte("GROUP"), []byte(layout.IDs[i])}, groups, stop); err != nil {
			return err
		}
	}
	if place != nil {
		return joinCluster(log.With("group", placementGroupID), pool, s, place, [][]byte{[]byte("GROUP"), []byte(placementGroupID)}, 0, stop)
	}
	return nil
}

// errOtherGroups refuses a join into a cluster that runs another number
// of Raft groups than this node.
var errOtherGroups = errors.New("the cluster runs another number of Raft groups than this node (--groups): every node of a cluster takes the same number")

// sameGroups asks the node at addr how many Raft groups its cluster runs
// (INFO raft's raft_groups; none: one) and answers errOtherGroups, wrapped
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
	had := 1
	for _, line := range strings.Split(string(v.Str), "\r\n") {
		if x, ok := strings.CutPrefix(line, "raft_groups:"); ok {
			had, _ = strconv.Atoi(x)
		}
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
func spreadLeaders(log *slog.Logger, self string, stores []*store.Store, stop <-chan struct{}) {
	if len(stores) < 2 {
		return
	}
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	// A hand-over waits until the preferred voter is reachable and caught
	// up (asking costs the group nothing); one that failed is tried again
	// after a delay that doubles up to a minute: a transfer holds the
	// group's writes (TRYAGAIN) until it ends, so it is never tried in a
	// loop against a node that cannot take it.
	retry := make([]time.Time, len(stores))
	wait := make([]time.Duration, len(stores))
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		for i, st := range stores {
			if !st.IsLeader() || time.Now().Before(retry[i]) {
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
				log.Info("leader spread: group stays here for now", "group", "g"+strconv.Itoa(i+1), "to", want, "err", err, "retry_in", wait[i])
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
