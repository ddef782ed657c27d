package main

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The planners of merge, split and rebalance: pure functions of the
// placement state (WALKER.PLACEMENT) and, for leaders, of INFO raft's
// view of who leads each group. The commands (balance.go) read the state,
// plan, carry out one step and read the state again.

// slotMove is one WALKER.MIGRATE: the slots Span, from the group From to
// the group To.
type slotMove struct {
	Span     slotSpan
	From, To string
}

func (m slotMove) slots() int { return int(m.Span.End) - int(m.Span.Start) + 1 }

// String is "move 100-199: g1 -> g2 (100 slots)", "move 7: g1 -> g2 (1 slot)".
func (m slotMove) String() string {
	what, unit := m.Span.String(), "slots"
	if m.Span.Start == m.Span.End {
		what, unit = strconv.Itoa(int(m.Span.Start)), "slot"
	}
	return fmt.Sprintf("move %s: %s -> %s (%d %s)", what, m.From, m.To, m.slots(), unit)
}

// leaderTransfer is one RAFT.TRANSFER: group Group's leadership from node
// From to node To.
type leaderTransfer struct {
	Group, From, To string
}

// String is "transfer g2: node1 -> node4".
func (t leaderTransfer) String() string {
	return fmt.Sprintf("transfer %s: %s -> %s", t.Group, t.From, t.To)
}

// hasGroup reports whether id is a data group of the state.
func (st *placementState) hasGroup(id string) bool {
	return slices.ContainsFunc(st.Groups, func(g placementGroup) bool { return g.ID == id })
}

// groupIDs are the data groups of the state, sorted.
func (st *placementState) groupIDs() []string {
	var ids []string
	for _, g := range st.Groups {
		ids = append(ids, g.ID)
	}
	slices.SortFunc(ids, cmpGroup)
	return slices.Compact(ids)
}

// cmpGroup orders group ids as walkerd numbers them: g2 before g10.
func cmpGroup(a, b string) int {
	x, errA := strconv.Atoi(strings.TrimPrefix(a, "g"))
	y, errB := strconv.Atoi(strings.TrimPrefix(b, "g"))
	if errA == nil && errB == nil && x != y {
		return x - y
	}
	return strings.Compare(a, b)
}

// ranges are the slot ranges group owns, in slot order, neighbours joined.
func (st *placementState) ranges(group string) []slotSpan {
	var out []slotSpan
	for _, r := range st.Slots {
		if r.Group != group {
			continue
		}
		if n := len(out); n > 0 && int(out[n-1].End)+1 == int(r.Start) {
			out[n-1].End = r.End
			continue
		}
		out = append(out, slotSpan{Start: r.Start, End: r.End})
	}
	slices.SortFunc(out, func(a, b slotSpan) int { return int(a.Start) - int(b.Start) })
	return out
}

// slotCount is how many slots group owns.
func (st *placementState) slotCount(group string) int {
	return spanSlots(st.ranges(group))
}

func spanSlots(ss []slotSpan) int {
	n := 0
	for _, s := range ss {
		n += int(s.End) - int(s.Start) + 1
	}
	return n
}

// unknownGroupError: a group the placement state does not list.
func unknownGroup(st *placementState, id string) error {
	return fmt.Errorf("no such Raft group in the slot map: %s (groups: %s)", id, strings.Join(st.groupIDs(), ", "))
}

// topSlots are the last n slots of ranges (sorted, disjoint) in slot
// order, as contiguous pieces in slot order; all of them when n exceeds
// their count.
func topSlots(ranges []slotSpan, n int) []slotSpan {
	var out []slotSpan
	for i := len(ranges) - 1; i >= 0 && n > 0; i-- {
		r := ranges[i]
		size := int(r.End) - int(r.Start) + 1
		if size > n {
			r.Start = uint16(int(r.End) - n + 1)
			size = n
		}
		out = append(out, r)
		n -= size
	}
	slices.Reverse(out)
	return out
}

// mergePlan is merge's moves: every range from owns, in slot order, to
// into. Errors: an unknown group, from == into, from owning no slot.
func mergePlan(st *placementState, from, into string) ([]slotMove, error) {
	switch {
	case from == into:
		return nil, fmt.Errorf("cannot merge %s into itself", from)
	case !st.hasGroup(from):
		return nil, unknownGroup(st, from)
	case !st.hasGroup(into):
		return nil, unknownGroup(st, into)
	}
	rs := st.ranges(from)
	if len(rs) == 0 {
		return nil, fmt.Errorf("%s serves no slot: nothing to merge into %s", from, into)
	}
	moves := make([]slotMove, len(rs))
	for i, r := range rs {
		moves[i] = slotMove{Span: r, From: from, To: into}
	}
	return moves, nil
}

// errSplitInto is split's refusal of a target that serves slots.
const errSplitInto = "serves slots already: split moves half a group into an empty one (leave INTO out to make a new group)"

// splitPlan is split's moves: the upper half of group's slots by count
// (the last floor(n/2) in slot order, across as many of its ranges as it
// takes), one move per contiguous piece, to into, which must own no slot.
// Errors: an unknown group, group == into, into owning slots, group owning
// fewer than 2.
func splitPlan(st *placementState, group, into string) ([]slotMove, error) {
	return splitPlanOf(st, group, into, true)
}

// splitPlanOf is splitPlan; empty false lets into own slots already.
func splitPlanOf(st *placementState, group, into string, empty bool) ([]slotMove, error) {
	switch {
	case group == into:
		return nil, fmt.Errorf("cannot split %s into itself", group)
	case !st.hasGroup(group):
		return nil, unknownGroup(st, group)
	case !st.hasGroup(into):
		return nil, unknownGroup(st, into)
	case empty && st.slotCount(into) > 0:
		return nil, fmt.Errorf("%s %s", into, errSplitInto)
	}
	rs := st.ranges(group)
	n := spanSlots(rs)
	if n < 2 {
		return nil, fmt.Errorf("%s serves %d slot%s: a split needs at least 2", group, n, plural(n))
	}
	var moves []slotMove
	for _, p := range topSlots(rs, n/2) {
		moves = append(moves, slotMove{Span: p, From: group, To: into})
	}
	return moves, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// slotBalance is the slot counts of every group of the state (those that
// own none included), and the rebalance verdict on them.
type slotBalance struct {
	Counts map[string]int
	// Most and Fewest are the groups that own the most and the fewest
	// slots (the lowest id among equals).
	Most, Fewest string
	// Threshold is how far apart Most and Fewest may be: 5% of an even
	// share (16384 / groups), at least 1.
	Threshold float64
	Avg       float64
}

// Spread is how many more slots Most owns than Fewest.
func (b slotBalance) Spread() int { return b.Counts[b.Most] - b.Counts[b.Fewest] }

// Balanced: the spread is within the threshold (or there is one group or
// none).
func (b slotBalance) Balanced() bool {
	return len(b.Counts) < 2 || float64(b.Spread()) <= b.Threshold
}

// String is "g1 4096, g2 4196, ..." in group order.
func (b slotBalance) String() string {
	var parts []string
	for _, g := range slices.SortedFunc(maps.Keys(b.Counts), cmpGroup) {
		parts = append(parts, fmt.Sprintf("%s %d", g, b.Counts[g]))
	}
	return strings.Join(parts, ", ")
}

// balanceOf counts the slots each group of the state owns.
func balanceOf(st *placementState) slotBalance {
	b := slotBalance{Counts: map[string]int{}}
	ids := st.groupIDs()
	total := 0
	for _, g := range ids {
		b.Counts[g] = st.slotCount(g)
		total += b.Counts[g]
	}
	if len(ids) == 0 {
		return b
	}
	b.Most, b.Fewest = ids[0], ids[0]
	for _, g := range ids {
		if b.Counts[g] > b.Counts[b.Most] {
			b.Most = g
		}
		if b.Counts[g] < b.Counts[b.Fewest] {
			b.Fewest = g
		}
	}
	b.Avg = float64(total) / float64(len(ids))
	b.Threshold = max(1, 0.05*float64(slotCount)/float64(len(ids)))
	return b
}

// slotRound is one round of rebalance's slot step: nil when the groups
// are balanced (balanceOf), else the moves of min(most - avg, avg -
// fewest) slots (rounded up, at least 1) from the top of the largest
// group's last ranges to the smallest group, one per contiguous piece.
func slotRound(st *placementState) []slotMove {
	b := balanceOf(st)
	if b.Balanced() {
		return nil
	}
	most, fewest := float64(b.Counts[b.Most]), float64(b.Counts[b.Fewest])
	n := max(1, int(math.Ceil(min(most-b.Avg, b.Avg-fewest)-1e-9)))
	var moves []slotMove
	for _, p := range topSlots(st.ranges(b.Most), n) {
		moves = append(moves, slotMove{Span: p, From: b.Most, To: b.Fewest})
	}
	return moves
}

// leaderView is who leads each data group and who may take it: the
// input of rebalance's leader step.
type leaderView struct {
	// Leaders maps each group to its leader's node id, as INFO raft of
	// one node shows them now ("" while a group has none).
	Leaders map[string]string
	// Members maps each group to its members' node ids (the placement
	// state's).
	Members map[string][]string
	// Up are the nodes the placement state has up.
	Up []string
}

// leaderViewOf builds the view from INFO raft's groups and the placement
// state.
func leaderViewOf(gs []groupInfo, st *placementState) leaderView {
	v := leaderView{Leaders: map[string]string{}, Members: map[string][]string{}}
	for _, g := range gs {
		v.Leaders[g.ID] = g.Leader
	}
	for _, g := range st.Groups {
		v.Members[g.ID] = g.Members
	}
	for _, n := range st.Nodes {
		if n.Up {
			v.Up = append(v.Up, n.ID)
		}
	}
	return v
}

// leaderCounts is how many groups each node leads: every up node (0 if
// none), and any other node that leads one.
func (v leaderView) leaderCounts() map[string]int {
	n := map[string]int{}
	for _, id := range v.Up {
		n[id] = 0
	}
	for _, l := range v.Leaders {
		if l != "" {
			n[l]++
		}
	}
	return n
}

// String is "node1 2, node2 1, ..." in node order.
func leaderCountsText(counts map[string]int) string {
	var parts []string
	for _, id := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s %d", id, counts[id]))
	}
	return strings.Join(parts, ", ")
}

// nextTransfer is the leader step's next hand-over, false when there is
// none: a node A leads at least two groups more than an up node B that is
// a member of one of A's groups; A hands such a group to B. Among the
// candidates: A leading the most groups, then B leading the fewest, then a
// group whose preferred leader in walkerd's own spreading is B (so that
// walkerd does not hand it back), then the lowest ids.
func (v leaderView) nextTransfer() (leaderTransfer, bool) {
	counts := v.leaderCounts()
	up := map[string]bool{}
	for _, id := range v.Up {
		up[id] = true
	}
	nodes := slices.Sorted(maps.Keys(counts))
	slices.SortStableFunc(nodes, func(a, b string) int { return counts[b] - counts[a] })
	groups := slices.SortedFunc(maps.Keys(v.Leaders), cmpGroup)
	for _, a := range nodes {
		type candidate struct {
			t    leaderTransfer
			pref bool
		}
		var cs []candidate
		for _, g := range groups {
			if v.Leaders[g] != a {
				continue
			}
			for _, b := range v.Members[g] {
				if b != a && up[b] && counts[a]-counts[b] >= 2 {
					cs = append(cs, candidate{leaderTransfer{Group: g, From: a, To: b}, preferredLeader(g, v.Members[g]) == b})
				}
			}
		}
		if len(cs) == 0 {
			continue
		}
		best := slices.MinFunc(cs, func(x, y candidate) int {
			switch {
			case counts[x.t.To] != counts[y.t.To]:
				return counts[x.t.To] - counts[y.t.To]
			case x.pref != y.pref:
				if x.pref {
					return -1
				}
				return 1
			case x.t.Group != y.t.Group:
				return cmpGroup(x.t.Group, y.t.Group)
			}
			return strings.Compare(x.t.To, y.t.To)
		})
		return best.t, true
	}
	return leaderTransfer{}, false
}

// preferredLeader is the node walkerd's leader spreading gives group gK:
// the (K-1)-th of its members in id order, mod their number (walkerd
// counts voters only; a member still catching up makes this a guess,
// which only breaks ties). "" when the id is not gK.
func preferredLeader(group string, members []string) string {
	k, err := strconv.Atoi(strings.TrimPrefix(group, "g"))
	if err != nil || k < 1 || !strings.HasPrefix(group, "g") || len(members) == 0 {
		return ""
	}
	ms := slices.Sorted(slices.Values(members))
	return ms[(k-1)%len(ms)]
}

// leaderPlan is the whole leader step as it would go if every transfer
// succeeded and nothing else changed: at most limit transfers.
func leaderPlan(v leaderView, limit int) []leaderTransfer {
	leaders := make(map[string]string, len(v.Leaders))
	for g, l := range v.Leaders {
		leaders[g] = l
	}
	v.Leaders = leaders
	var plan []leaderTransfer
	for len(plan) < limit {
		t, ok := v.nextTransfer()
		if !ok {
			break
		}
		plan = append(plan, t)
		v.Leaders[t.Group] = t.To
	}
	return plan
}
