package main

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// stateOf is a placement state with groups (sorted as walkerd sorts them)
// owning the ranges given as "first-last group" strings.
func stateOf(t *testing.T, groups []string, ranges ...string) *placementState {
	t.Helper()
	st := &placementState{Epoch: 1}
	for _, g := range groups {
		st.Groups = append(st.Groups, placementGroup{ID: g, Members: []string{"n1", "n2", "n3"}})
	}
	for _, r := range ranges {
		var a, b int
		var g string
		if _, err := fmt.Sscanf(r, "%d-%d %s", &a, &b, &g); err != nil {
			t.Fatalf("range %q: %v", r, err)
		}
		st.Slots = append(st.Slots, placementRange{Start: uint16(a), End: uint16(b), Group: g})
	}
	return st
}

// evenState is groups g1..gn owning 16384/n slots each, as walkerd's
// layout splits them.
func evenState(t *testing.T, n int) *placementState {
	var groups, ranges []string
	for i := range n {
		groups = append(groups, fmt.Sprintf("g%d", i+1))
		ranges = append(ranges, fmt.Sprintf("%d-%d g%d", i*slotCount/n, (i+1)*slotCount/n-1, i+1))
	}
	return stateOf(t, groups, ranges...)
}

// apply makes the state look as it will once m is over.
func apply(st *placementState, m slotMove) {
	var owner [slotCount]string
	for _, r := range st.Slots {
		for x := int(r.Start); x <= int(r.End); x++ {
			owner[x] = r.Group
		}
	}
	for x := int(m.Span.Start); x <= int(m.Span.End); x++ {
		owner[x] = m.To
	}
	st.Slots = rangesOf(owner[:])
	st.Epoch++
}

// rangesOf is the slot map of an owner per slot, as walkerd keeps it:
// sorted, neighbours of one group joined.
func rangesOf(owner []string) []placementRange {
	var out []placementRange
	for x, g := range owner {
		if g == "" {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Group == g && int(out[n-1].End) == x-1 {
			out[n-1].End = uint16(x)
			continue
		}
		out = append(out, placementRange{Start: uint16(x), End: uint16(x), Group: g})
	}
	return out
}

func movesText(ms []slotMove) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.String())
	}
	return strings.Join(s, "; ")
}

func TestPlan_TopSlotsTakesTheLastSlotsAcrossRanges(t *testing.T) {
	rs := []slotSpan{{0, 9}, {20, 24}, {30, 31}}
	for n, want := range map[int]string{
		1:   "31-31",
		2:   "30-31",
		3:   "24-24,30-31",
		8:   "9-9,20-24,30-31",
		17:  "0-9,20-24,30-31",
		100: "0-9,20-24,30-31",
		0:   "",
	} {
		if got := slotsCell(topSlots(rs, n)); got != want {
			t.Errorf("top %d of %v = %s, want %s", n, rs, got, want)
		}
	}
}

func TestPlan_MergeMovesEveryRangeOfTheGroup(t *testing.T) {
	st := stateOf(t, []string{"g1", "g2", "g3"}, "0-99 g1", "100-199 g3", "200-8191 g1", "8192-16383 g2")
	moves, err := mergePlan(st, "g1", "g3")
	if err != nil {
		t.Fatal(err)
	}
	if got := movesText(moves); got != "move 0-99: g1 -> g3 (100 slots); move 200-8191: g1 -> g3 (7992 slots)" {
		t.Errorf("merge g1 g3: %s", got)
	}
	// Each range has one owner: each is one WALKER.MIGRATE the node takes.
	for _, m := range moves {
		if o := st.owners(m.Span); len(o) != 1 || o[0] != "g1" {
			t.Errorf("%v: owners %v", m, o)
		}
	}
	moves, _ = mergePlan(evenState(t, 4), "g4", "g1")
	if got := movesText(moves); got != "move 12288-16383: g4 -> g1 (4096 slots)" {
		t.Errorf("merge g4 g1 of four even groups: %s", got)
	}

	empty := stateOf(t, []string{"g1", "g2", "g3"}, "0-16383 g1")
	for _, tc := range []struct{ from, into, err string }{
		{"g9", "g1", "no such Raft group in the slot map: g9 (groups: g1, g2, g3)"},
		{"g1", "g9", "no such Raft group in the slot map: g9"},
		{"g1", "g1", "cannot merge g1 into itself"},
		{"g2", "g1", "g2 serves no slot: nothing to merge into g1"},
	} {
		if _, err := mergePlan(empty, tc.from, tc.into); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("merge %s %s: %v, want %q", tc.from, tc.into, err, tc.err)
		}
	}
}

func TestPlan_SplitMovesTheUpperHalfByCount(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ranges []string
		want   string
	}{
		// g1 after merge g4 g1 of four even groups: g4's slots go back.
		{"two ranges, halves equal", []string{"0-4095 g1", "4096-8191 g2", "8192-12287 g3", "12288-16383 g1"},
			"move 12288-16383: g1 -> g4 (4096 slots)"},
		// 17 slots in three pieces: the last 8 are 9, 20-24 and 30-31.
		{"ranges split in pieces", []string{"0-9 g1", "10-19 g2", "20-24 g1", "25-29 g2", "30-31 g1", "32-16383 g2"},
			"move 9: g1 -> g4 (1 slot); move 20-24: g1 -> g4 (5 slots); move 30-31: g1 -> g4 (2 slots)"},
		{"one range, odd count", []string{"0-4 g1", "5-16383 g2"}, "move 3-4: g1 -> g4 (2 slots)"},
		{"two slots", []string{"0-1 g1", "2-16383 g2"}, "move 1: g1 -> g4 (1 slot)"},
	} {
		st := stateOf(t, []string{"g1", "g2", "g3", "g4"}, tc.ranges...)
		moves, err := splitPlan(st, "g1", "g4")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := movesText(moves); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
		// floor(n/2) slots leave, each piece owned by g1 alone.
		n, moved := st.slotCount("g1"), 0
		for _, m := range moves {
			moved += m.slots()
			if !st.ownsAll("g1", m.Span) {
				t.Errorf("%s: %v holds slots g1 does not own", tc.name, m)
			}
			apply(st, m)
		}
		if moved != n/2 || st.slotCount("g1") != n-n/2 || st.slotCount("g4") != n/2 {
			t.Errorf("%s: %d of %d moved; g1 now %d, g4 %d", tc.name, moved, n, st.slotCount("g1"), st.slotCount("g4"))
		}
	}

	st := stateOf(t, []string{"g1", "g2", "g3"}, "0-0 g1", "1-8191 g2", "8192-16383 g3")
	for _, tc := range []struct{ group, into, err string }{
		{"g2", "g3", "g3 serves slots already: split moves half a group into an empty one (leave INTO out to make a new group)"},
		{"g1", "g9", "no such Raft group in the slot map: g9"},
		{"g7", "g1", "no such Raft group in the slot map: g7"},
		{"g2", "g2", "cannot split g2 into itself"},
	} {
		if _, err := splitPlan(st, tc.group, tc.into); err == nil || err.Error() != tc.err && !strings.HasPrefix(err.Error(), tc.err) {
			t.Errorf("split %s %s: %v, want %q", tc.group, tc.into, err, tc.err)
		}
	}
	st = stateOf(t, []string{"g1", "g2", "g3"}, "0-0 g1", "1-16383 g2")
	if _, err := splitPlan(st, "g1", "g3"); err == nil || err.Error() != "g1 serves 1 slot: a split needs at least 2" {
		t.Errorf("split of a one-slot group: %v", err)
	}
}

func TestPlan_SlotRounds(t *testing.T) {
	for _, n := range []int{1, 3, 4, 6} {
		if r := slotRound(evenState(t, n)); r != nil {
			t.Errorf("%d even groups: %s", n, movesText(r))
		}
	}
	// 100 slots off balance between four groups is under 5% of 4096
	// (204.8): left alone.
	st := stateOf(t, []string{"g1", "g2", "g3", "g4"}, "0-99 g2", "100-4095 g1", "4096-8191 g2", "8192-12287 g3", "12288-16383 g4")
	if r := slotRound(st); r != nil {
		t.Errorf("within 5%%: %s", movesText(r))
	}
	// 1000: g2 has 5096, g1 3096; 1000 move from the top of g2's last range.
	st = stateOf(t, []string{"g1", "g2", "g3", "g4"}, "0-999 g2", "1000-4095 g1", "4096-8191 g2", "8192-12287 g3", "12288-16383 g4")
	if got := movesText(slotRound(st)); got != "move 7192-8191: g2 -> g1 (1000 slots)" {
		t.Errorf("1000 off: %s", got)
	}
	// An empty group (merged away): it gets half of the largest group.
	st = stateOf(t, []string{"g1", "g2", "g3", "g4"}, "0-4095 g1", "4096-8191 g2", "8192-12287 g3", "12288-16383 g1")
	if got := movesText(slotRound(st)); got != "move 12288-16383: g1 -> g4 (4096 slots)" {
		t.Errorf("an empty group: %s", got)
	}
	// The largest group's last ranges in pieces: g1 owns 10200 slots in
	// three ranges, g2 6184, g3 none; the average is 5461.33, so
	// min(10200-5461.33, 5461.33-0) rounded up, 4739, leave g1's top: its
	// last two ranges whole and the top 4539 of its first.
	st = stateOf(t, []string{"g1", "g2", "g3"}, "0-9999 g1", "10000-10099 g2", "10100-10199 g1", "10200-16283 g2", "16284-16383 g1")
	if got := movesText(slotRound(st)); got != "move 5461-9999: g1 -> g3 (4539 slots); move 10100-10199: g1 -> g3 (100 slots); move 16284-16383: g1 -> g3 (100 slots)" {
		t.Errorf("pieces: %s", got)
	}

	// Whatever the start, rounds end balanced, within 5% of an even
	// share, in a few rounds.
	for name, st := range map[string]*placementState{
		"one group owns all":     stateOf(t, []string{"g1", "g2", "g3", "g4", "g5", "g6", "g7"}, "0-16383 g1"),
		"six even and one empty": evenPlusEmpty(t, 6),
		"pieces":                 stateOf(t, []string{"g1", "g2", "g3"}, "0-9999 g1", "10000-10099 g2", "10100-10199 g1", "10200-16283 g2", "16284-16383 g1"),
		"two groups 1000 apart":  stateOf(t, []string{"g1", "g2"}, "0-8691 g1", "8692-16383 g2"),
		"64 groups, one empty":   evenPlusEmpty(t, 63),
	} {
		rounds := 0
		for r := slotRound(st); r != nil; r = slotRound(st) {
			if rounds++; rounds > maxRebalanceSteps {
				t.Fatalf("%s: not balanced after %d rounds: %s", name, maxRebalanceSteps, balanceOf(st))
			}
			for _, m := range r {
				if !st.ownsAll(m.From, m.Span) {
					t.Fatalf("%s: %v holds slots %s does not own", name, m, m.From)
				}
				apply(st, m)
			}
		}
		b := balanceOf(st)
		if float64(b.Spread()) > max(1, 0.05*slotCount/float64(len(b.Counts))) {
			t.Errorf("%s: ended %s", name, b)
		}
		t.Logf("%s: %d rounds, %s", name, rounds, b)
	}
}

func evenPlusEmpty(t *testing.T, n int) *placementState {
	st := evenState(t, n)
	st.Groups = append(st.Groups, placementGroup{ID: fmt.Sprintf("g%d", n+1)})
	return st
}

// leaders is a leaderView of nodes (all up, members of every group
// unless members says otherwise) and "group=leader" pairs.
func leaders(nodes []string, pairs ...string) leaderView {
	v := leaderView{Leaders: map[string]string{}, Members: map[string][]string{}, Up: nodes}
	for _, p := range pairs {
		g, l, _ := strings.Cut(p, "=")
		v.Leaders[g] = l
		v.Members[g] = nodes
	}
	return v
}

func transfersText(ts []leaderTransfer) string {
	var s []string
	for _, t := range ts {
		s = append(s, t.String())
	}
	return strings.Join(s, "; ")
}

func TestPlan_Leaders(t *testing.T) {
	three := []string{"node1", "node2", "node3"}
	four := append(three[:3:3], "node4")

	// Balanced already: two each; and one more than the others is fine.
	if p := leaderPlan(leaders(three, "g1=node1", "g2=node2", "g3=node3", "g4=node1", "g5=node2", "g6=node3"), 64); p != nil {
		t.Errorf("two each: %s", transfersText(p))
	}
	if p := leaderPlan(leaders(three, "g1=node1", "g2=node2", "g3=node3", "g4=node1"), 64); p != nil {
		t.Errorf("2, 1, 1: %s", transfersText(p))
	}

	// A fourth node leads nothing: it gets g4, which walkerd's own
	// spreading gives it too (the 4th of four members), not g1.
	v := leaders(four, "g1=node1", "g2=node2", "g3=node3", "g4=node1")
	if got := transfersText(leaderPlan(v, 64)); got != "transfer g4: node1 -> node4" {
		t.Errorf("a new node: %s", got)
	}

	// One node leads all six: two rounds each to node2 and node3; the
	// plan ends with two each.
	v = leaders(three, "g1=node1", "g2=node1", "g3=node1", "g4=node1", "g5=node1", "g6=node1")
	plan := leaderPlan(v, 64)
	if got := transfersText(plan); got != "transfer g2: node1 -> node2; transfer g3: node1 -> node3; transfer g5: node1 -> node2; transfer g6: node1 -> node3" {
		t.Errorf("all on node1: %s", got)
	}
	if v.Leaders["g2"] != "node1" {
		t.Errorf("leaderPlan changed its input: %v", v.Leaders)
	}
	for _, tr := range plan {
		v.Leaders[tr.Group] = tr.To
	}
	if c := v.leaderCounts(); !reflect.DeepEqual(c, map[string]int{"node1": 2, "node2": 2, "node3": 2}) {
		t.Errorf("after the plan: %v", c)
	}
	if got := leaderPlan(leaders(three, "g1=node1", "g2=node1", "g3=node1"), 1); len(got) != 1 {
		t.Errorf("limit 1: %s", transfersText(got))
	}

	// A node that is down, or a member of none of the leader's groups,
	// gets nothing; a group without a leader counts for nobody.
	v = leaders(four, "g1=node1", "g2=node1", "g3=node2", "g4=node3", "g5=")
	v.Up = []string{"node1", "node2", "node3"}
	if p := leaderPlan(v, 64); p != nil {
		t.Errorf("node4 down: %s", transfersText(p))
	}
	v.Up = four
	v.Members["g1"], v.Members["g2"] = three, three
	if p := leaderPlan(v, 64); p != nil {
		t.Errorf("node4 in none of node1's groups: %s", transfersText(p))
	}
	v.Members["g2"] = four
	if got := transfersText(leaderPlan(v, 64)); got != "transfer g2: node1 -> node4" {
		t.Errorf("node4 in g2 only: %s", got)
	}
}

func TestPlan_LeaderViewOfInfoAndPlacement(t *testing.T) {
	gs := []groupInfo{{ID: "g1", Leader: "node1"}, {ID: "g2", Leader: "node1"}, {ID: "g3"}}
	st := &placementState{
		Groups: []placementGroup{{ID: "g1", Leader: "node3", Members: []string{"node1", "node2"}}, {ID: "g2", Members: []string{"node1", "node2", "node3"}}},
		Nodes:  []placementNode{{ID: "node1", Up: true}, {ID: "node2", Up: true}, {ID: "node3"}},
	}
	v := leaderViewOf(gs, st)
	// INFO raft's leaders, not the placement state's (which lag).
	if !reflect.DeepEqual(v.Leaders, map[string]string{"g1": "node1", "g2": "node1", "g3": ""}) ||
		!reflect.DeepEqual(v.Up, []string{"node1", "node2"}) || len(v.Members["g2"]) != 3 {
		t.Fatalf("view: %+v", v)
	}
	if c := v.leaderCounts(); !reflect.DeepEqual(c, map[string]int{"node1": 2, "node2": 0}) {
		t.Errorf("counts: %v", c)
	}
	// node2 is a member of both of node1's groups: it gets g2, the one
	// walkerd's spreading gives it (g2: the 2nd of node1-node3; g1: the
	// 1st of node1, node2).
	if got := transfersText(leaderPlan(v, 64)); got != "transfer g2: node1 -> node2" {
		t.Errorf("plan: %s", got)
	}
}
