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
id, hash slots, the group's state on that node (leader, follower,
candidate), its term, the leader's id, its number of voters, and the node's
commit and applied index for the group (in Raft log entries). Slots are
first-last ranges, comma-separated when a group owns several (slots
migrate between groups: walkerctl migrate), "-" when it owns none; rows
are sorted by first slot, groups without slots last. A node started with
--groups N hosts N groups (raft_group<i> lines) and the placement group,
which owns no slot ("-") and records the slot map, each group's leader and
the nodes' liveness; its row comes last, and the placement state's epoch is
printed after the table. A node without --groups hosts one group, g1,
owning slots 0-16383.

With --all, asks every member (RAFT.MEMBERS) for INFO raft at its own RESP
address, as info --all does, and prints each node's view of each group
(its slots as that node sees them: while a slot migrates, nodes may
differ), one row per group and node. A group whose nodes name different
leaders (or none) is flagged after the table, and groups then exits with 6
(the cluster is unhealthy), as it does when a member cannot be asked; right
after a start or a failover the nodes may disagree for a moment.

--json prints a list of {"id", "slots", "ranges", "start", "end", "state",
"term", "leader", "voters", "commit_index", "applied_index"} objects:
"slots" is INFO raft's text ("0-99 101-8191", "" for none), "ranges" the
same as [[first, last], ...] ([] for none), and "start" and "end" are there
only for a group with exactly one range; the placement group's has "epoch",
empty "slots" and "ranges". With --all it prints a list of {"id", "slots",
"leader_agreed", "nodes": [{"node", "reachable", "error", "slots", "state",
"term", "leader", "voters", "commit_index", "applied_index"}]} objects.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Usage: "ask every member of the cluster"},
		},
		Action: runGroups,
	}
}

// groupInfo is one Raft group as one node reports it in INFO raft.
type groupInfo struct {
	ID string `json:"id"`
	// Slots is the group's slot ranges as INFO raft prints them:
	// "first-last", several space-separated ("0-99 101-8191") once slots
	// have migrated between groups, "" for a group that serves none (and
	// for the placement group).
	Slots string `json:"slots"`
	// Ranges are the same ranges, sorted by first slot and disjoint; none
	// for a group without slots. JSON: [[first, last], ...].
	Ranges       []slotSpan `json:"ranges"`
	State        string     `json:"state"`
	Term         uint64     `json:"term"`
	Leader       string     `json:"leader"` // the leader's node id, "" while none is known
	Voters       int        `json:"voters"`
	CommitIndex  uint64     `json:"commit_index"`
	AppliedIndex uint64     `json:"applied_index"`
	// Epoch is the placement state's epoch: only the placement group's row
	// has it (and no slots).
	Epoch uint64 `json:"epoch,omitempty"`
	// home: the node's home group (raft_group0, or its only group), whose
	// figures are INFO raft's own raft_* lines.
	home bool
}

// slotSpan is the hash slots Start..End, both included. JSON: [start, end].
type slotSpan struct{ Start, End uint16 }

func (r slotSpan) MarshalJSON() ([]byte, error) { return json.Marshal([2]uint16{r.Start, r.End}) }

func (r *slotSpan) UnmarshalJSON(b []byte) error {
	var a [2]uint16
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	r.Start, r.End = a[0], a[1]
	return nil
}

func (r slotSpan) String() string { return fmt.Sprintf("%d-%d", r.Start, r.End) }

// firstSlot is the group's lowest slot, or slotCount for a group without
// any: groups sort by it, slotless ones last.
func (g groupInfo) firstSlot() int {
	if len(g.Ranges) == 0 {
		return slotCount
	}
	return int(g.Ranges[0].Start)
}

// MarshalJSON writes "ranges" always ([] for none) and, for a group with
// exactly one range, "start" and "end" too, as before slots could move: a
// group with several ranges or none has no honest single start and end.
func (g groupInfo) MarshalJSON() ([]byte, error) {
	type plain groupInfo
	out := struct {
		plain
		Start *uint16 `json:"start,omitempty"`
		End   *uint16 `json:"end,omitempty"`
	}{plain: plain(g)}
	if out.Ranges == nil {
		out.Ranges = []slotSpan{}
	}
	if len(g.Ranges) == 1 {
		out.Start, out.End = &g.Ranges[0].Start, &g.Ranges[0].End
	}
	return json.Marshal(out)
}

// parseSlotRanges reads a raft_group line's slots value: space-separated
// "first-last" ranges (an empty value is no slot), returned sorted by first
// slot. Ranges must lie within 0..16383 and not overlap.
func parseSlotRanges(s string) ([]slotSpan, error) {
	var rs []slotSpan
	for _, f := range strings.Fields(s) {
		lo, hi, ok := strings.Cut(f, "-")
		start, err1 := strconv.ParseUint(lo, 10, 16)
		end, err2 := strconv.ParseUint(hi, 10, 16)
		if !ok || err1 != nil || err2 != nil || start > end || end >= slotCount {
			return nil, fmt.Errorf("slot range %q: want first-last within 0-%d", f, slotCount-1)
		}
		rs = append(rs, slotSpan{Start: uint16(start), End: uint16(end)})
	}
	sort.Slice(rs, func(a, b int) bool { return rs[a].Start < rs[b].Start })
	for i := 1; i < len(rs); i++ {
		if rs[i].Start <= rs[i-1].End {
			return nil, fmt.Errorf("slot ranges %s and %s overlap", rs[i-1], rs[i])
		}
	}
	return rs, nil
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
// raft_group<i>:id=g2,slots=a-b c-d,state=...,term=...,leader=...,voters=...,
// commit_index=...,applied_index=... lines (slots: space-separated ranges,
// empty for a group that serves none), sorted by first slot, slotless
// groups last; a node with one group has none, and its group is g1 with
// every slot, described by the section's own raft_* fields (voters counted
// from its raft_member<i> lines).
func parseGroups(in info) ([]groupInfo, error) {
	n, _ := strconv.Atoi(in.get("raft_groups"))
	if n <= 1 {
		all := slotSpan{Start: 0, End: slotCount - 1}
		g := groupInfo{ID: "g1", Slots: all.String(), Ranges: []slotSpan{all}, State: in.get("raft_state"), Term: in.uint("raft_term"),
			Leader: in.get("raft_leader_id"), CommitIndex: in.uint("raft_commit_index"), AppliedIndex: in.uint("raft_applied_index"), home: true}
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
		slots, hasSlots := kv["slots"]
		if g := kv["id"]; g == "" || !hasSlots {
			return nil, fmt.Errorf("INFO raft: raft_group%d:%s: want id=...,slots=first-last[ first-last...]", i, line)
		}
		ranges, err := parseSlotRanges(slots)
		if err != nil {
			return nil, fmt.Errorf("INFO raft: raft_group%d:%s: %w", i, line, err)
		}
		g := groupInfo{ID: kv["id"], Slots: slots, Ranges: ranges, State: kv["state"], Leader: kv["leader"], home: i == 0}
		g.Term, _ = strconv.ParseUint(kv["term"], 10, 64)
		g.Voters, _ = strconv.Atoi(kv["voters"])
		g.CommitIndex, _ = strconv.ParseUint(kv["commit_index"], 10, 64)
		g.AppliedIndex, _ = strconv.ParseUint(kv["applied_index"], 10, 64)
		gs = append(gs, g)
	}
	sort.SliceStable(gs, func(a, b int) bool { return gs[a].firstSlot() < gs[b].firstSlot() })
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
	Node      string `json:"node"`
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
	// Slots are the group's ranges as this node sees them (groupInfo's
	// Slots): while a slot migrates, nodes that have applied the change and
	// nodes that have not yet differ.
	Slots        string     `json:"slots"`
	ranges       []slotSpan // the same, parsed
	State        string     `json:"state"`
	Term         uint64     `json:"term"`
	Leader       string     `json:"leader"`
	Voters       int        `json:"voters"`
	CommitIndex  uint64     `json:"commit_index"`
	AppliedIndex uint64     `json:"applied_index"`
}

// groupViews is one group as every member sees it.
type groupViews struct {
	ID    string `json:"id"`
	Slots string `json:"slots"`
	// LeaderAgreed: every member that answered names the same leader, and
	// one does.
	LeaderAgreed bool        `json:"leader_agreed"`
	Nodes        []groupView `json:"nodes"`
	// home: some node reports it as its home group (groupInfo.home).
	home   bool
	ranges []slotSpan // Slots, parsed
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
		t.add(g.ID, orDash(slotsCell(g.Ranges)), g.State, fmt.Sprint(g.Term), g.Leader, fmt.Sprint(g.Voters), fmt.Sprint(g.CommitIndex), fmt.Sprint(g.AppliedIndex))
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
					t.add(g.ID, orDash(slotsCell(g.ranges)), v.Node, "(unreachable)", "", "", "", "", "")
					continue
				}
				t.add(g.ID, orDash(slotsCell(v.ranges)), v.Node, v.State, fmt.Sprint(v.Term), v.Leader, fmt.Sprint(v.Voters), fmt.Sprint(v.CommitIndex), fmt.Sprint(v.AppliedIndex))
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

// mergeGroupViews lines up every member's groups, in slot order (by the
// first slot of the view first seen; groups without slots after, then the
// placement group), and names the groups whose members disagree about the
// leader (or know none). A
// member that did not answer, or answered without a group the others have,
// shows as unreachable in it and does not count against agreement; a
// member whose INFO raft cannot be read is a problem of its own.
func mergeGroupViews(ms []member, results []probeResult) ([]groupViews, []string) {
	var problems []string
	var order []groupInfo
	key := map[string]int{}                // group id -> sort key
	home := map[string]bool{}              // group id -> some node's home group
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
		p, placed := placementRow(r.info)
		if placed {
			gs = append(gs, p)
		}
		for j, g := range gs {
			if byID[g.ID] == nil {
				byID[g.ID] = map[int]groupInfo{}
				order = append(order, g)
				key[g.ID] = g.firstSlot()
				if placed && j == len(gs)-1 {
					key[g.ID] = slotCount + 1 // after the data groups, slotless ones too
				}
			}
			byID[g.ID][i] = g
			home[g.ID] = home[g.ID] || g.home
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return key[order[a].ID] < key[order[b].ID] })
	out := make([]groupViews, 0, len(order))
	for _, g := range order {
		gv := groupViews{ID: g.ID, Slots: g.Slots, home: home[g.ID], ranges: g.Ranges}
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
			gv.Nodes = append(gv.Nodes, groupView{Node: m.ID, Reachable: true, Slots: x.Slots, ranges: x.Ranges, State: x.State, Term: x.Term, Leader: x.Leader,
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

// slotsCell is ranges for a table cell: comma-separated, in slot order
// ("0-99,101-8191"), so that the columns stay split by blanks; "" for
// none.
func slotsCell(ranges []slotSpan) string {
	parts := make([]string, len(ranges))
	for i, r := range ranges {
		parts[i] = r.String()
	}
	return strings.Join(parts, ",")
}
