package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

func groupsCommand() *cli.Command {
	return &cli.Command{
		Name:  "groups",
		Usage: "list the Raft groups and their slots, as one node or every member sees them",
		Description: `Reads INFO raft from the node at --addr and prints one row per Raft group:
id, hash slots (first-last), the group's state on that node (leader,
follower, candidate), its term, the leader's id, its number of voters, and
the node's commit and applied index for the group (in Raft log entries). A
node started with --groups N hosts N groups (raft_group<i> lines) and the
placement group, which owns no slot ("-") and records the slot map, each
group's leader and the nodes' liveness; its row comes last, and the
placement state's epoch is printed after the table. A node without
--groups hosts one group, g1, owning slots 0-16383.

With --all, asks every member (RAFT.MEMBERS) for INFO raft at its own RESP
address, as info --all does, and prints each node's view of each group, one
row per group and node. A group whose nodes name different leaders (or
none) is flagged after the table, and groups then exits with 6 (the cluster
is unhealthy), as it does when a member cannot be asked; right after a
start or a failover the nodes may disagree for a moment.

--json prints a list of {"id", "slots", "start", "end", "state", "term",
"leader", "voters", "commit_index", "applied_index"} objects (the
placement group's with "epoch", empty "slots" and no "start" or "end"),
or with --all
a list of {"id", "slots", "leader_agreed", "nodes": [{"node", "reachable",
"error", "state", "term", "leader", "voters", "commit_index",
"applied_index"}]} objects.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Usage: "ask every member of the cluster"},
		},
		Action: runGroups,
	}
}

// groupInfo is one Raft group as one node reports it in INFO raft.
type groupInfo struct {
	ID           string `json:"id"`
	Slots        string `json:"slots"` // first-last
	Start        uint16 `json:"start"`
	End          uint16 `json:"end"`
	State        string `json:"state"`
	Term         uint64 `json:"term"`
	Leader       string `json:"leader"` // the leader's node id, "" while none is known
	Voters       int    `json:"voters"`
	CommitIndex  uint64 `json:"commit_index"`
	AppliedIndex uint64 `json:"applied_index"`
	// Epoch is the placement state's epoch: only the placement group's row
	// has it (and no slots).
	Epoch uint64 `json:"epoch,omitempty"`
}

// MarshalJSON leaves start and end out of a group without slots (the
// placement group): they would read as "owns slot 0".
func (g groupInfo) MarshalJSON() ([]byte, error) {
	type plain groupInfo
	if g.Slots != "" {
		return json.Marshal(plain(g))
	}
	return json.Marshal(struct {
		plain
		Start *uint16 `json:"start,omitempty"` // shadows plain's
		End   *uint16 `json:"end,omitempty"`
	}{plain: plain(g)})
}

// placementRow reads INFO raft's raft_placement line (a node with several
// groups also runs the placement group, which owns no slot):
// id=placement,state=...,term=...,leader=...,voters=...,commit_index=...,
// applied_index=...,log_applied_index=...,epoch=...; ok is false without it.
func placementRow(in info) (g groupInfo, ok bool) {
	line := in.get("raft_placement")
	if line == "" {
		return g, false
	}
	kv := map[string]string{}
	for _, part := range strings.Split(line, ",") {
		if k, v, ok := strings.Cut(part, "="); ok {
			kv[k] = v
		}
	}
	g = groupInfo{ID: kv["id"], State: kv["state"], Leader: kv["leader"]}
	g.Term, _ = strconv.ParseUint(kv["term"], 10, 64)
	g.Voters, _ = strconv.Atoi(kv["voters"])
	g.CommitIndex, _ = strconv.ParseUint(kv["commit_index"], 10, 64)
	g.AppliedIndex, _ = strconv.ParseUint(kv["applied_index"], 10, 64)
	g.Epoch, _ = strconv.ParseUint(kv["epoch"], 10, 64)
	return g, g.ID != ""
}

// parseGroups reads the groups of an INFO raft reply: walkerd's
// raft_group<i>:id=g2,slots=a-b,state=...,term=...,leader=...,voters=...,
// commit_index=...,applied_index=... lines, in slot order; a node with one
// group has none, and its group is g1 with every slot, described by the
// section's own raft_* fields (voters counted from its raft_member<i>
// lines).
func parseGroups(in info) ([]groupInfo, error) {
	n, _ := strconv.Atoi(in.get("raft_groups"))
	if n <= 1 {
		g := groupInfo{ID: "g1", Start: 0, End: slotCount - 1, State: in.get("raft_state"), Term: in.uint("raft_term"),
			Leader: in.get("raft_leader_id"), CommitIndex: in.uint("raft_commit_index"), AppliedIndex: in.uint("raft_applied_index")}
		g.Slots = fmt.Sprintf("%d-%d", g.Start, g.End)
		members, _ := strconv.Atoi(in.get("raft_members"))
		for i := range members {
			if strings.Contains(in.get("raft_member"+strconv.Itoa(i))+",", ",suffrage=voter,") {
				g.Voters++
			}
		}
		if g.State == "" {
			return nil, fmt.Errorf("INFO raft has no raft_state: not a Raft node")
		}
		return []groupInfo{g}, nil
	}
	gs := make([]groupInfo, 0, n)
	for i := range n {
		line := in.get("raft_group" + strconv.Itoa(i))
		if line == "" {
			return nil, fmt.Errorf("INFO raft says raft_groups:%d but has no raft_group%d line", n, i)
		}
		kv := map[string]string{}
		for _, part := range strings.Split(line, ",") {
			if k, v, ok := strings.Cut(part, "="); ok {
				kv[k] = v
			}
		}
		g := groupInfo{ID: kv["id"], Slots: kv["slots"], State: kv["state"], Leader: kv["leader"]}
		lo, hi, ok := strings.Cut(kv["slots"], "-")
		start, err1 := strconv.ParseUint(lo, 10, 16)
		end, err2 := strconv.ParseUint(hi, 10, 16)
		if g.ID == "" || !ok || err1 != nil || err2 != nil || start > end || end >= slotCount {
			return nil, fmt.Errorf("INFO raft: raft_group%d:%s: want id=...,slots=first-last", i, line)
		}
		g.Start, g.End = uint16(start), uint16(end)
		g.Term, _ = strconv.ParseUint(kv["term"], 10, 64)
		g.Voters, _ = strconv.Atoi(kv["voters"])
		g.CommitIndex, _ = strconv.ParseUint(kv["commit_index"], 10, 64)
		g.AppliedIndex, _ = strconv.ParseUint(kv["applied_index"], 10, 64)
		gs = append(gs, g)
	}
	sort.Slice(gs, func(a, b int) bool { return gs[a].Start < gs[b].Start })
	return gs, nil
}

// slotCount is the number of hash slots, as Redis Cluster's (cluster.h
// CLUSTER_SLOTS).
const slotCount = 16384

// fetchGroups reads INFO raft (and the sections in more) from the first
// node of --addr that answers, and returns its groups, the whole reply and
// the node's address.
func fetchGroups(o *opts, more ...string) ([]groupInfo, info, string, error) {
	v, addr, err := o.doOnce(append([]string{"INFO", "raft"}, more...)...)
	if err != nil {
		return nil, info{}, "", err
	}
	in := parseInfo(string(v.Str))
	gs, err := parseGroups(in)
	if err != nil {
		return nil, info{}, "", fmt.Errorf("%s: %w", addr, err)
	}
	return gs, in, addr, nil
}

// groupView is one node's view of one group, a row of groups --all.
type groupView struct {
	Node         string `json:"node"`
	Reachable    bool   `json:"reachable"`
	Error        string `json:"error,omitempty"`
	State        string `json:"state"`
	Term         uint64 `json:"term"`
	Leader       string `json:"leader"`
	Voters       int    `json:"voters"`
	CommitIndex  uint64 `json:"commit_index"`
	AppliedIndex uint64 `json:"applied_index"`
}

// groupViews is one group as every member sees it.
type groupViews struct {
	ID    string `json:"id"`
	Slots string `json:"slots"`
	// LeaderAgreed: every member that answered names the same leader, and
	// one does.
	LeaderAgreed bool        `json:"leader_agreed"`
	Nodes        []groupView `json:"nodes"`
}

func runGroups(c *cli.Context) error {
	if err := args(c, 0, 0); err != nil {
		return err
	}
	o, err := optsOf(c)
	if err != nil {
		return err
	}
	if c.Bool("all") {
		return groupsAll(o)
	}
	gs, in, _, err := fetchGroups(o)
	if err != nil {
		return err
	}
	p, placed := placementRow(in)
	if placed {
		gs = append(gs, p)
	}
	if o.json {
		return writeJSON(o.stdout, gs)
	}
	t := newTable("GROUP", "SLOTS", "STATE", "TERM", "LEADER", "VOTERS", "COMMIT", "APPLIED")
	for _, g := range gs {
		t.add(g.ID, orDash(g.Slots), g.State, fmt.Sprint(g.Term), g.Leader, fmt.Sprint(g.Voters), fmt.Sprint(g.CommitIndex), fmt.Sprint(g.AppliedIndex))
	}
	if err := t.write(o.stdout); err != nil {
		return err
	}
	if placed {
		_, err = fmt.Fprintf(o.stdout, "\nplacement epoch %d\n", p.Epoch)
	}
	return err
}

func groupsAll(o *opts) error {
	ms, err := fetchMembers(o)
	if err != nil {
		return err
	}
	results := probe(o, ms, "raft")
	views, problems := mergeGroupViews(ms, results)
	if o.json {
		if err := writeJSON(o.stdout, views); err != nil {
			return err
		}
	} else {
		t := newTable("GROUP", "SLOTS", "NODE", "STATE", "TERM", "LEADER", "VOTERS", "COMMIT", "APPLIED")
		for _, g := range views {
			for _, v := range g.Nodes {
				if !v.Reachable {
					t.add(g.ID, orDash(g.Slots), v.Node, "(unreachable)", "", "", "", "", "")
					continue
				}
				t.add(g.ID, orDash(g.Slots), v.Node, v.State, fmt.Sprint(v.Term), v.Leader, fmt.Sprint(v.Voters), fmt.Sprint(v.CommitIndex), fmt.Sprint(v.AppliedIndex))
			}
		}
		if err := t.write(o.stdout); err != nil {
			return err
		}
		sep := "\n"
		for _, p := range problems {
			fmt.Fprintf(o.stdout, "%s%s\n", sep, p)
			sep = ""
		}
		for i, r := range results {
			if r.err != nil {
				fmt.Fprintf(o.stdout, "%s%s: %v\n", sep, ms[i].ID, r.err)
				sep = ""
			}
		}
	}
	if err := unasked(ms, results); err != nil {
		return err
	}
	if len(problems) > 0 {
		return &unhealthyError{problems: len(problems), detail: strings.Join(problems, "; ")}
	}
	return nil
}

// mergeGroupViews lines up every member's groups, in slot order, and names
// the groups whose members disagree about the leader (or know none). A
// member that did not answer, or answered without a group the others have,
// shows as unreachable in it and does not count against agreement; a
// member whose INFO raft cannot be read is a problem of its own.
func mergeGroupViews(ms []member, results []probeResult) ([]groupViews, []string) {
	var problems []string
	var order []groupInfo
	byID := map[string]map[int]groupInfo{} // group id -> member index -> its view
	for i, r := range results {
		if r.err != nil {
			continue
		}
		gs, err := parseGroups(r.info)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", ms[i].ID, err))
			continue
		}
		if p, ok := placementRow(r.info); ok {
			p.Start = slotCount // sorted after the data groups
			gs = append(gs, p)
		}
		for _, g := range gs {
			if byID[g.ID] == nil {
				byID[g.ID] = map[int]groupInfo{}
				order = append(order, g)
			}
			byID[g.ID][i] = g
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return order[a].Start < order[b].Start })
	out := make([]groupViews, 0, len(order))
	for _, g := range order {
		gv := groupViews{ID: g.ID, Slots: g.Slots}
		leaders := map[string]bool{}
		var names []string
		for i, m := range ms {
			x, ok := byID[g.ID][i]
			if !ok {
				v := groupView{Node: m.ID}
				if results[i].err != nil {
					v.Error = results[i].err.Error()
				} else {
					v.Error = "does not report this group"
				}
				gv.Nodes = append(gv.Nodes, v)
				continue
			}
			gv.Nodes = append(gv.Nodes, groupView{Node: m.ID, Reachable: true, State: x.State, Term: x.Term, Leader: x.Leader,
				Voters: x.Voters, CommitIndex: x.CommitIndex, AppliedIndex: x.AppliedIndex})
			leaders[x.Leader] = true
			name := x.Leader
			if name == "" {
				name = "none"
			}
			names = append(names, m.ID+" names "+name)
		}
		gv.LeaderAgreed = len(leaders) == 1 && !leaders[""]
		switch {
		case gv.LeaderAgreed:
		case len(leaders) == 1:
			problems = append(problems, fmt.Sprintf("%s: no node knows a leader", g.ID))
		default:
			problems = append(problems, fmt.Sprintf("%s: nodes disagree on the leader: %s", g.ID, strings.Join(names, ", ")))
		}
		out = append(out, gv)
	}
	return out, problems
}
