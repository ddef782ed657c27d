package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/walkerdb/walkerdb/walkerd/command"
	"github.com/walkerdb/walkerdb/walkerd/placement"
	"github.com/walkerdb/walkerdb/walkerd/shard"
	"github.com/walkerdb/walkerdb/walkerd/store"
)

// Groups made and ended at run time (walkerd/shard/DESIGN.md, "Groups
// made at run time"). A node starts the groups of --groups N (g1..gN, the
// first map's layout); after that the placement state decides:
//
//   - WALKER.PLACE GROUP ADD g<N> members... (walkerctl split) records a
//     group with no slot. Each member's reporter sees a group it is a
//     member of and does not run, and opens it (nodeGroups.open) in
//     <parent of --dir>/groups/g<N>/{data,raft} on the node's Raft mux;
//     while the group has never had a leader (no LEADER report), each
//     member bootstraps the same configuration of every member
//     (store.Config.Peers), so no JOIN round is needed.
//   - WALKER.PLACE GROUP DROP g<N> (walkerctl merge, once the group owns
//     no slot) ends it: each member closes it and deletes its
//     directories. A member down meanwhile reopens it at start, then
//     reads the drop from placement and closes it the same way.
//
// Group g<N> keeps index N-1 in every table of the node (shard.GroupIndex)
// from the moment it opens until it is dropped, and ids are never reused,
// so an index read anywhere never names another group than it did.
//
// The groups a node runs are listed in <raftdir>/GROUPS, before a group
// opens and after it closes, so that a restart reopens exactly them:
//
//	4                 line 1: --groups, the first map's layout (checked)
//	g1 g2 g4 g5       line 2: the groups this node runs; absent: g1..gN

// nodeGroups are the data groups a node with several runs, by group index
// (shard.GroupIndex), nil where it runs none.
type nodeGroups struct {
	s        *settings
	base     store.Config
	mux      *store.Mux
	probeFor func(group string) func(string) (uint64, error)
	log      *slog.Logger
	first    int // --groups

	mu  sync.Mutex // one open or close at a time, and the GROUPS file
	cur atomic.Pointer[[]*store.Store]
	// changed is called after each open and close, with mu held: the
	// server's table follows (server.SetGroups).
	changed func(list []*store.Store)
}

// list is the groups the node runs now, by group index, nil where none.
func (g *nodeGroups) list() []*store.Store {
	if p := g.cur.Load(); p != nil {
		return *p
	}
	return nil
}

// get is group i, nil where the node runs none.
func (g *nodeGroups) get(i int) *store.Store {
	if l := g.list(); i >= 0 && i < len(l) {
		return l[i]
	}
	return nil
}

// live lists the groups the node runs, in index order.
func (g *nodeGroups) live() []*store.Store {
	var out []*store.Store
	for _, st := range g.list() {
		if st != nil {
			out = append(out, st)
		}
	}
	return out
}

// asGroups is list as a table of interface T (the server's
// backend.Backend, the slot map's shard.RaftGroup): a nil T, not a T
// holding a nil store, where the node runs none.
func asGroups[T any](list []*store.Store) []T {
	out := make([]T, len(list))
	for i, st := range list {
		if st != nil {
			out[i] = any(st).(T)
		}
	}
	return out
}

// groupsFile is <raftdir>/GROUPS.
func groupsFile(s *settings) string { return filepath.Join(s.raftDir, "GROUPS") }

// readGroupsFile returns the groups the node's directories hold, checking
// --groups (n) against the first line, and records g1..gn for a new node.
func readGroupsFile(s *settings, n int) ([]string, error) {
	path := groupsFile(s)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if n > 1 {
			if entries, _ := os.ReadDir(s.raftDir); len(entries) > 0 {
				return nil, fmt.Errorf("--groups %d: %s already holds the Raft state of a node with one group; the number of groups cannot change yet", n, s.raftDir)
			}
		}
		ids := shard.Split(n).IDs
		if err := os.MkdirAll(s.raftDir, 0o755); err != nil {
			return nil, err
		}
		return ids, writeGroupsFile(s, n, ids)
	case err != nil:
		return nil, err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	had, perr := strconv.Atoi(strings.TrimSpace(lines[0]))
	if perr != nil {
		return nil, fmt.Errorf("%s: %q is not a number of groups", path, lines[0])
	}
	if had != n {
		return nil, fmt.Errorf("--groups %d: this node's directories hold %d Raft groups (%s); the number of groups cannot change yet", n, had, path)
	}
	if len(lines) < 2 {
		return shard.Split(n).IDs, nil
	}
	ids := strings.Fields(lines[1])
	for _, id := range ids {
		if shard.GroupIndex(id) < 0 {
			return nil, fmt.Errorf("%s: %q is not a group id", path, id)
		}
	}
	return ids, nil
}

// writeGroupsFile records the groups the node runs, atomically.
func writeGroupsFile(s *settings, n int, ids []string) error {
	path := groupsFile(s)
	text := strconv.Itoa(n) + "\n"
	if n > 1 {
		text += strings.Join(ids, " ") + "\n"
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// openNodeGroups opens the groups the node's directories hold (the
// layout's g1..gn on a new node) over one mux.
func openNodeGroups(s *settings, n int, base store.Config, probeFor func(group string) func(string) (uint64, error), log *slog.Logger) (*nodeGroups, error) {
	ids, err := readGroupsFile(s, n)
	if err != nil {
		return nil, err
	}
	mux, err := store.NewMux(s.raftAddr, s.raftAdvertise, base.Links, log)
	if err != nil {
		return nil, fmt.Errorf("raft transport: %w", err)
	}
	g := &nodeGroups{s: s, base: base, mux: mux, probeFor: probeFor, log: log, first: n}
	mux.SetDefault("g1") // a node that predates the mux talks to g1
	empty := []*store.Store{}
	g.cur.Store(&empty)
	for _, id := range ids {
		if err := g.openLocked(id, nil); err != nil {
			g.closeAll()
			mux.Close()
			return nil, err
		}
	}
	if g.get(0) == nil {
		g.closeAll()
		mux.Close()
		return nil, fmt.Errorf("%s does not list g1, every node's home group", groupsFile(s))
	}
	return g, nil
}

// openLocked opens group id (peers: the voters a new group bootstraps
// with; nil: reopen, or join) and adds it to the list. mu is held, or the
// node is starting.
func (g *nodeGroups) openLocked(id string, peers []store.Peer) error {
	i := shard.GroupIndex(id)
	cfg := g.base
	cfg.DataDir, cfg.RaftDir = groupDirs(g.s, i)
	cfg.Mux, cfg.Group = g.mux, id
	cfg.Logger = g.log.With("group", id)
	layout := shard.Split(g.first)
	if i < g.first {
		// The slots it serves decide what it refuses at apply, from its
		// first entry on (command/owner.go).
		command.SetOwner(cfg.DataDir, layout.Owner(i))
	} else {
		// A group made at run time serves no slot until a move gives it
		// some; it never bootstraps alone, nor joins through --join.
		command.SetOwner(cfg.DataDir, func(uint16) bool { return false })
		cfg.Bootstrap, cfg.JoinRESP, cfg.Peers = false, "", peers
	}
	if i > 0 {
		cfg.Probe = g.probeFor(id) // the group's own applied index (probe.go)
	}
	st, err := store.Open(cfg)
	if err != nil {
		return fmt.Errorf("group %s: %w", id, err)
	}
	next := slices.Clone(g.list())
	for len(next) <= i {
		next = append(next, nil)
	}
	next[i] = st
	g.cur.Store(&next)
	return nil
}

// ids lists the ids of the groups the node runs.
func (g *nodeGroups) ids() []string {
	var out []string
	for i, st := range g.list() {
		if st != nil {
			out = append(out, shard.GroupID(i))
		}
	}
	return out
}

// open opens group id, made at run time, on this node: recorded in
// GROUPS first, so that a restart reopens it whatever happens next.
func (g *nodeGroups) open(id string, peers []store.Peer) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if i := shard.GroupIndex(id); i < 0 || g.get(i) != nil {
		return nil
	}
	if err := writeGroupsFile(g.s, g.first, append(g.ids(), id)); err != nil {
		return err
	}
	if err := g.openLocked(id, peers); err != nil {
		writeGroupsFile(g.s, g.first, g.ids()) //nolint:errcheck // the open's error says more
		return err
	}
	g.log.Info("opened a Raft group made at run time", "group", id, "bootstrap", len(peers) > 0)
	if g.changed != nil {
		g.changed(g.list())
	}
	return nil
}

// drop closes group id, ended by GROUP DROP, and deletes its directories:
// first out of the tables (no command reaches it), then closed, then out
// of GROUPS, then deleted, so a crash at any point leaves a node that
// either reopens it and drops it again, or no longer knows it.
func (g *nodeGroups) drop(id string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	i := shard.GroupIndex(id)
	st := g.get(i)
	if st == nil || i == 0 {
		return nil
	}
	next := slices.Clone(g.list())
	next[i] = nil
	g.cur.Store(&next)
	if g.changed != nil {
		g.changed(next)
	}
	err := st.Close()
	data, raft := groupDirs(g.s, i)
	command.SetOwner(data, nil)
	if werr := writeGroupsFile(g.s, g.first, g.ids()); werr != nil {
		return werr
	}
	os.RemoveAll(data)            //nolint:errcheck // best effort: the group is closed and forgotten
	os.RemoveAll(raft)            //nolint:errcheck
	os.Remove(filepath.Dir(data)) //nolint:errcheck // groups/g<N>, once empty
	g.log.Info("dropped a Raft group", "group", id, "close_err", err)
	return nil
}

// reconcile opens the groups the placement state lists with this node
// among their members that it does not run, and drops those the state
// says ended (GROUP DROP). The reporter calls it every round.
func (g *nodeGroups) reconcile(self string, st *placement.State) {
	if st.Epoch == 0 {
		return
	}
	for _, id := range st.Dropped {
		if i := shard.GroupIndex(id); i > 0 && g.get(i) != nil {
			if err := g.drop(id); err != nil {
				g.log.Warn("dropping a Raft group", "group", id, "err", err)
			}
		}
	}
	for _, pg := range st.Groups {
		i := shard.GroupIndex(pg.ID)
		if i < g.first || g.get(i) != nil || !slices.Contains(pg.Members, self) {
			continue // a layout group opens at start; a joining node's are opened by joinGroups
		}
		var peers []store.Peer
		if pg.Term == 0 { // never had a leader: every first member bootstraps
			for _, m := range pg.Members {
				n := st.Node(m)
				if n == nil || n.Raft == "" {
					peers = nil
					break
				}
				peers = append(peers, store.Peer{ID: m, RaftAddr: n.Raft, RESPAddr: n.RESP})
			}
			if len(peers) == 0 {
				continue // an address is not on record yet: next round
			}
		}
		if err := g.open(pg.ID, peers); err != nil {
			g.log.Warn("opening a Raft group made at run time", "group", pg.ID, "err", err)
		}
	}
}

// closeAll closes every group the node runs (shutdown).
func (g *nodeGroups) closeAll() []error {
	var errs []error
	for _, st := range g.live() {
		errs = append(errs, st.Close())
	}
	return errs
}
