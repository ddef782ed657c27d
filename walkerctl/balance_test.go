package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakePlacement is a node of a cluster with several groups, as merge,
// split, rebalance and migrate see it: it keeps a slot map and each
// group's leader, and answers WALKER.PLACEMENT, WALKER.MIGRATE, INFO raft
// and RAFT.TRANSFER from them. WALKER.MIGRATE checks what walkerd's
// placement state checks and records the move; each WALKER.PLACEMENT then
// answers, and moves it one phase on (copy, drop with the new owner, over),
// so a move ends after three reads unless instant.
type fakePlacement struct {
	addr string

	mu            sync.Mutex
	owner         [slotCount]string
	groups        []string            // g1..gN
	members       map[string][]string // group -> node ids
	leader        map[string]string   // group -> node id, as INFO raft says
	nodes         []placementNode
	epoch         uint64
	moves         []placementMove
	instant       bool            // WALKER.MIGRATE is over at once
	stuck         bool            // RAFT.TRANSFER answers OK and changes nothing
	refuse        string          // RAFT.TRANSFER's reply when set
	moveAnyway    bool            // with refuse: g2's leader moves all the same
	undo          bool            // a move, once over, is undone at the next read: never balanced
	undone        []placementMove // moves over, to undo at the read after the next
	undoNext      []placementMove
	refuseMigrate map[string]string // WALKER.MIGRATE's reply for these slots
	sent          []string          // WALKER.MIGRATE and RAFT.TRANSFER, as "MIGRATE 0-99 g2"
	fillOnAdd     []int             // first, last: WALKER.GROUP ADD's group owns them at once (a rebalance ran)
}

// newFakePlacement is nodes ids, all up and members of groups g1..gN,
// owning the given "first-last group" ranges; group gi led by
// leaders[i-1].
func newFakePlacement(t *testing.T, nodes []string, leaders []string, ranges ...string) *fakePlacement {
	f := &fakePlacement{members: map[string][]string{}, leader: map[string]string{}, epoch: 10}
	for i, l := range leaders {
		g := fmt.Sprintf("g%d", i+1)
		f.groups = append(f.groups, g)
		f.members[g] = nodes
		f.leader[g] = l
	}
	for i, n := range nodes {
		f.nodes = append(f.nodes, placementNode{ID: n, Raft: fmt.Sprintf("127.0.0.1:%d", 7000+i), RESP: fmt.Sprintf("127.0.0.1:%d", 6000+i), Up: true})
	}
	for _, r := range ranges {
		var a, b int
		var g string
		if _, err := fmt.Sscanf(r, "%d-%d %s", &a, &b, &g); err != nil {
			t.Fatalf("range %q: %v", r, err)
		}
		for x := a; x <= b; x++ {
			f.owner[x] = g
		}
	}
	f.addr = fakeNode(t, f.answer)
	return f
}

func (f *fakePlacement) answer(args []string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch strings.ToUpper(args[0]) {
	case "WALKER.PLACEMENT":
		// A move over is seen so by one read, undone at the next.
		for _, m := range f.undoNext {
			for x := m.Slot; x <= m.End; x++ {
				f.owner[x] = m.From
			}
			f.epoch++
		}
		f.undoNext, f.undone = f.undone, nil
		out := bulk(string(f.state().encode()))
		f.advance()
		return out
	case "WALKER.MIGRATE":
		f.sent = append(f.sent, "MIGRATE "+args[1]+" "+args[2])
		if r, ok := f.refuseMigrate[args[1]]; ok {
			return r
		}
		return f.migrate(args[1], args[2])
	case "WALKER.GROUP":
		f.sent = append(f.sent, "GROUP "+strings.Join(args[1:], " "))
		switch {
		case len(args) == 4 && strings.EqualFold(args[1], "ADD"):
			like := args[3]
			if !slices.Contains(f.groups, like) {
				return "-ERR no such Raft group in the slot map: " + like + "\r\n"
			}
			id := fmt.Sprintf("g%d", len(f.groups)+1)
			f.groups = append(f.groups, id)
			f.members[id] = f.members[like]
			f.leader[id] = f.members[like][0]
			for x := 0; len(f.fillOnAdd) == 2 && x <= f.fillOnAdd[1]-f.fillOnAdd[0]; x++ {
				f.owner[f.fillOnAdd[0]+x] = id
			}
			f.epoch++
			return bulk(id)
		case len(args) == 3 && strings.EqualFold(args[1], "DROP"):
			g := args[2]
			if slices.Contains(f.owner[:], g) {
				return "-ERR the group still owns slots, or a move names it\r\n"
			}
			f.groups = slices.DeleteFunc(f.groups, func(x string) bool { return x == g })
			f.epoch++
			return "+OK\r\n"
		}
		return "-ERR syntax error\r\n"
	case "INFO":
		s := "# Raft\r\nraft_node_id:node1\r\nraft_state:follower\r\nraft_term:3\r\nraft_leader_id:node1\r\n" +
			fmt.Sprintf("raft_groups:%d\r\n", len(f.groups))
		st := f.state()
		for i, g := range f.groups {
			s += groupLine(i, g, strings.ReplaceAll(slotsCell(st.ranges(g)), ",", " "), "follower", 3, f.leader[g], len(f.members[g]), 9, 9)
		}
		return bulk(s)
	case "RAFT.TRANSFER":
		if len(args) != 4 || !strings.EqualFold(args[2], "GROUP") {
			return "-ERR syntax error\r\n"
		}
		f.sent = append(f.sent, "TRANSFER "+args[1]+" GROUP "+args[3])
		g := args[3]
		if !slices.Contains(f.groups, g) {
			return "-ERR no such Raft group on this node: " + g + "\r\n"
		}
		if f.refuse != "" {
			if f.moveAnyway && g == "g2" {
				f.leader[g] = args[1]
			}
			return f.refuse
		}
		if !f.stuck {
			f.leader[g] = args[1]
		}
		return "+OK\r\n"
	}
	return "-ERR unknown command '" + args[0] + "'\r\n"
}

// state is the fake's placement state.
func (f *fakePlacement) state() *placementState {
	st := &placementState{Epoch: f.epoch, Nodes: f.nodes, Moves: slices.Clone(f.moves)}
	for _, r := range rangesOf(f.owner[:]) {
		st.Slots = append(st.Slots, r)
	}
	for _, g := range f.groups {
		st.Groups = append(st.Groups, placementGroup{ID: g, Leader: f.leader[g], Term: 3, Members: f.members[g]})
	}
	return st
}

func (st *placementState) encode() []byte {
	b, err := json.Marshal(st)
	if err != nil {
		panic(err)
	}
	return b
}

// migrate checks WALKER.MIGRATE as walkerd's placement state does.
func (f *fakePlacement) migrate(arg, to string) string {
	s, ok := parseSlotsArg(arg)
	switch {
	case !ok:
		return "-ERR Invalid or out of range slot\r\n"
	case !slices.Contains(f.groups, to):
		return "-ERR no such Raft group in the slot map\r\n"
	}
	from := f.owner[s.Start]
	for x := int(s.Start); x <= int(s.End); x++ {
		for _, m := range f.moves {
			if int(m.Slot) <= x && x <= int(m.End) {
				return "-ERR the slot is already being migrated\r\n"
			}
		}
		if f.owner[x] != from {
			return "-ERR the slots are served by more than one group: move each group's apart\r\n"
		}
	}
	if from == to {
		return "-ERR the slot is already served by that group\r\n"
	}
	f.epoch++
	m := placementMove{Slot: s.Start, End: s.End, From: from, To: to, Phase: "copy", Epoch: f.epoch}
	if f.instant {
		f.finish(m)
	} else {
		f.moves = append(f.moves, m)
	}
	return "+OK\r\n"
}

// advance moves every move one phase on.
func (f *fakePlacement) advance() {
	var left []placementMove
	for _, m := range f.moves {
		f.epoch++
		if m.Phase == "copy" {
			for x := m.Slot; x <= m.End; x++ {
				f.owner[x] = m.To
			}
			m.Phase = "drop"
			left = append(left, m)
			continue
		}
		f.finish(m)
	}
	f.moves = left
}

func (f *fakePlacement) finish(m placementMove) {
	for x := m.Slot; x <= m.End; x++ {
		f.owner[x] = m.To
	}
	f.epoch++
	if f.undo {
		f.undone = append(f.undone, m)
	}
}

func (f *fakePlacement) sentText() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.sent, "; ")
}

// counts is "g1 4096, g2 4096, ..." from the fake's own map.
func (f *fakePlacement) counts() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return balanceOf(f.state()).String()
}

var (
	threeNodes = []string{"node1", "node2", "node3"}
	fourEven   = []string{"0-4095 g1", "4096-8191 g2", "8192-12287 g3", "12288-16383 g4"}
)

func TestMigrate_ARangeWaitsUntilEverySlotIsTheGroups(t *testing.T) {
	f := newFakePlacement(t, threeNodes, []string{"node1", "node2", "node3", "node1"}, fourEven...)
	if out := ok(t, "--addr", f.addr, "migrate", "100-199", "g2"); out != "slots 100-199: g1 -> g2 done (epoch 14)\n" {
		t.Errorf("printed %q", out)
	}
	if got := f.counts(); got != "g1 3996, g2 4196, g3 4096, g4 4096" {
		t.Errorf("after the move: %s", got)
	}
	js := decode[map[string]any](t, ok(t, "--addr", f.addr, "--json", "migrate", "200-299", "g3"))
	if fmt.Sprint(js) != "map[done:true end:299 epoch:18 from:g1 slot:200 to:g3]" {
		t.Errorf("--json: %v", js)
	}
	// A range across two owners is the node's refusal; a bad range never
	// reaches it.
	wantExit(t, exitError, []string{"the slots are served by more than one group"}, "--addr", f.addr, "migrate", "4000-4100", "g3")
	for _, bad := range []string{"200-100", "0-16384", "5-", "-5", "1-2-3"} {
		wantExit(t, exitUsage, []string{fmt.Sprintf("slot %q: want a hash slot, 0-16383, or a range", bad)}, "--addr", f.addr, "migrate", "--", bad, "g2")
	}
	if got := f.sentText(); got != "MIGRATE 100-199 g2; MIGRATE 200-299 g3; MIGRATE 4000-4100 g3" {
		t.Errorf("sent %s", got)
	}
}

// A range is over only when no move holds any of its slots: a move of a
// part of it still under way keeps migrate waiting, and times out.
func TestMigrate_ARangeWaitsForEveryOverlappingMove(t *testing.T) {
	st := func(epoch int, moves string) string {
		return fmt.Sprintf(`{"epoch":%d,"slots":[{"start":0,"end":99,"group":"g1"},{"start":100,"end":200,"group":"g2"},{"start":201,"end":16383,"group":"g1"}],"groups":[],"nodes":[]%s}`, epoch, moves)
	}
	f := newFakeMigrateNode(t, "+OK\r\n", bulk(st(10, "")),
		st(12, `,"moves":[{"slot":100,"end":200,"from":"g1","to":"g2","phase":"drop","epoch":11},{"slot":150,"end":150,"from":"g1","to":"g2","phase":"copy","epoch":11}]`))
	wantExit(t, exitError, []string{"slots 100-200: the move to g2 was not over within 300ms: it was in phase drop (g1 -> g2, placement epoch 12)"},
		"--addr", f.addr, "migrate", "--wait-timeout", "300ms", "100-200", "g2")
	// A move that began at an earlier slot and holds ours counts too.
	f = newFakeMigrateNode(t, "+OK\r\n", bulk(st(10, "")),
		st(12, `,"moves":[{"slot":0,"end":150,"from":"g1","to":"g3","phase":"copy","epoch":11}]`))
	wantExit(t, exitError, []string{"slots 100-200: the move to g2 was not over within 300ms: the node still shows an earlier move in phase copy (g1 -> g3"},
		"--addr", f.addr, "migrate", "--wait-timeout", "300ms", "100-200", "g2")
	// Gone from a newer state with part of the range elsewhere: it ended
	// another way.
	f = newFakeMigrateNode(t, "+OK\r\n", bulk(st(10, "")),
		st(11, `,"moves":[{"slot":100,"end":250,"from":"g1","to":"g2","phase":"copy","epoch":11}]`), st(13, ""))
	wantExit(t, exitError, []string{"slots 100-250: the move to g2 ended with the slots owned by g2, g1 (placement epoch 13)"},
		"--addr", f.addr, "migrate", "100-250", "g2")
}

func TestMerge_MovesEveryRangeThenTheGroupIsEmpty(t *testing.T) {
	f := newFakePlacement(t, threeNodes, []string{"node1", "node2", "node3", "node1"},
		"0-99 g4", "100-4095 g1", "4096-8191 g2", "8192-12287 g3", "12288-16383 g4")
	out := ok(t, "--addr", f.addr, "merge", "g4", "g1")
	want := "move 0-99: g4 -> g1 (100 slots)\nmove 12288-16383: g4 -> g1 (4096 slots)\n" +
		"g4 merged into g1: 4196 slots in 2 moves; g4 dropped (placement epoch 19)\n"
	if out != want {
		t.Errorf("printed:\n%s\nwant:\n%s", out, want)
	}
	if got := f.sentText(); got != "MIGRATE 0-99 g1; MIGRATE 12288-16383 g1; GROUP DROP g4" {
		t.Errorf("sent %s", got)
	}
	if got := f.counts(); got != "g1 8192, g2 4096, g3 4096" {
		t.Errorf("after merge: %s", got)
	}
	// --keep leaves the empty group; g1, the home group, always stays.
	f = newFakePlacement(t, threeNodes, []string{"node1", "node2", "node3"}, "0-99 g3", "100-8191 g1", "8192-16383 g2")
	if out := ok(t, "--addr", f.addr, "merge", "--keep", "g3", "g2"); !strings.HasSuffix(out, "g3 serves no slot now (placement epoch 14)\n") {
		t.Errorf("merge --keep printed %q", out)
	}
	if out := ok(t, "--addr", f.addr, "merge", "g1", "g2"); !strings.HasSuffix(out, "g1 serves no slot now (placement epoch 18)\n") {
		t.Errorf("merge of g1 printed %q", out)
	}
	if got := f.sentText(); strings.Contains(got, "DROP") {
		t.Errorf("sent %s", got)
	}

	// Errors: nothing is moved.
	f = newFakePlacement(t, threeNodes, []string{"node1", "node2", "node3", "node1"}, "0-8191 g1", "8192-16383 g2")
	wantExit(t, exitError, []string{"walkerctl: no such Raft group in the slot map: g9 (groups: g1, g2, g3, g4)"}, "--addr", f.addr, "merge", "g9", "g1")
	wantExit(t, exitError, []string{"no such Raft group in the slot map: g0"}, "--addr", f.addr, "merge", "g1", "g0")
	wantExit(t, exitError, []string{"g4 serves no slot: nothing to merge into g1"}, "--addr", f.addr, "merge", "g4", "g1")
	wantExit(t, exitUsage, []string{"FROM and INTO are both g2"}, "--addr", f.addr, "merge", "g2", "g2")
	wantExit(t, exitUsage, []string{"merge takes FROM INTO"}, "--addr", f.addr, "merge", "g2")
	if got := f.sentText(); got != "" {
		t.Errorf("sent %s on errors", got)
	}

	js := decode[struct {
		From, Into string
		Slots      int
		Moves      []stepJSON
		Epoch      uint64
	}](t, ok(t, "--addr", f.addr, "--json", "merge", "g2", "g3"))
	if js.From != "g2" || js.Into != "g3" || js.Slots != 8192 || len(js.Moves) != 1 || !js.Moves[0].Done ||
		*js.Moves[0].Start != 8192 || *js.Moves[0].End != 16383 || js.Moves[0].Slots != 8192 || js.Epoch == 0 {
		t.Errorf("--json: %+v", js)
	}
}

// A refused move stops the merge, names the move, and exits 1; the moves
// before it stay done.
func TestMerge_ARefusedMoveStopsIt(t *testing.T) {
	f := newFakePlacement(t, threeNodes, []string{"node1", "node2", "node3"}, "0-99 g3", "100-8191 g1", "8192-16382 g2", "16383-16383 g3")
	f.refuseMigrate = map[string]string{"16383": "-ERR the slot is already being migrated\r\n"}
	r := wantExit(t, exitError, []string{"walkerctl: move 16383: g3 -> g1 (1 slot): " + f.addr + ": the slot is already being migrated"},
		"--addr", f.addr, "merge", "g3", "g1")
	if r.stdout != "move 0-99: g3 -> g1 (100 slots)\n" {
		t.Errorf("printed %q", r.stdout)
	}
}

func TestSplit_MovesTheUpperHalfIntoAnEmptyGroup(t *testing.T) {
	f := newFakePlacement(t, threeNodes, []string{"node1", "node2", "node3", "node1"},
		"0-4095 g1", "4096-8191 g2", "8192-12287 g3", "12288-16383 g1")
	out := ok(t, "--addr", f.addr, "split", "g1", "g4")
	if want := "move 12288-16383: g1 -> g4 (4096 slots)\ng1 split: 4096 of its 8192 slots moved to g4 in 1 move (placement epoch 14)\n"; out != want {
		t.Errorf("printed:\n%s\nwant:\n%s", out, want)
	}
	if got := f.counts(); got != "g1 4096, g2 4096, g3 4096, g4 4096" {
		t.Errorf("after split: %s", got)
	}
	// g4 serves slots now: no second split into it.
	r := wantExit(t, exitError, []string{"walkerctl: g4 serves slots already: split moves half a group into an empty one (leave INTO out to make a new group)"},
		"--addr", f.addr, "split", "g2", "g4")
	if r.stdout != "" {
		t.Errorf("printed %q", r.stdout)
	}

	// Pieces: 7 slots in three ranges, the upper 3 in two moves.
	f = newFakePlacement(t, threeNodes, []string{"node1", "node2", "node3"}, "0-1 g1", "2-9 g2", "10-11 g1", "12-19 g2", "20-22 g1", "23-16383 g2")
	js := decode[struct {
		Group, Into  string
		Slots, Moved int
		Moves        []stepJSON
	}](t, ok(t, "--addr", f.addr, "--json", "split", "g1", "g3"))
	if js.Slots != 7 || js.Moved != 3 || len(js.Moves) != 1 || *js.Moves[0].Start != 20 || *js.Moves[0].End != 22 {
		t.Errorf("--json: %+v", js)
	}
	f = newFakePlacement(t, threeNodes, []string{"node1", "node2", "node3"}, "0-1 g1", "2-9 g2", "10-11 g1", "12-19 g2", "20-21 g1", "22-16383 g2")
	if out := ok(t, "--addr", f.addr, "split", "g1", "g3"); !strings.HasPrefix(out, "move 11: g1 -> g3 (1 slot)\nmove 20-21: g1 -> g3 (2 slots)\ng1 split: 3 of its 6 slots") {
		t.Errorf("pieces: %q", out)
	}
	f = newFakePlacement(t, threeNodes, []string{"node1", "node2", "node3"}, "0-0 g1", "1-16383 g2")
	wantExit(t, exitError, []string{"g1 serves 1 slot: a split needs at least 2"}, "--addr", f.addr, "split", "g1", "g3")
	wantExit(t, exitUsage, []string{"GROUP and INTO are both g1"}, "--addr", f.addr, "split", "g1", "g1")
}

func TestRebalance_LeadersThenSlots(t *testing.T) {
	// node4 leads nothing; g2 owns 1000 slots more than g1.
	nodes := append(threeNodes[:3:3], "node4")
	f := newFakePlacement(t, nodes, []string{"node1", "node2", "node3", "node1"},
		"0-999 g2", "1000-4095 g1", "4096-8191 g2", "8192-12287 g3", "12288-16383 g4")
	f.instant = true

	// --dry-run: the plan, and nothing sent.
	out := ok(t, "--addr", f.addr, "rebalance", "--dry-run")
	want := "transfer g4: node1 -> node4\nmove 7192-8191: g2 -> g1 (1000 slots)\ndry run: nothing changed (slots per group now: g1 3096, g2 5096, g3 4096, g4 4096)\n"
	if out != want {
		t.Errorf("--dry-run printed:\n%s\nwant:\n%s", out, want)
	}
	steps := decode[[]stepJSON](t, ok(t, "--addr", f.addr, "--json", "rebalance", "--dry-run"))
	if len(steps) != 2 || steps[0].Kind != "transfer" || steps[0].Group != "g4" || steps[0].Done ||
		steps[1].Kind != "move" || *steps[1].Start != 7192 || steps[1].Slots != 1000 || steps[1].Done {
		t.Errorf("--dry-run --json: %+v", steps)
	}
	if got := f.sentText(); got != "" {
		t.Fatalf("--dry-run sent %s", got)
	}

	out = ok(t, "--addr", f.addr, "rebalance")
	if want := "transfer g4: node1 -> node4\nmove 7192-8191: g2 -> g1 (1000 slots)\nbalanced\n"; out != want {
		t.Errorf("printed:\n%s\nwant:\n%s", out, want)
	}
	if got := f.sentText(); got != "TRANSFER node4 GROUP g4; MIGRATE 7192-8191 g1" {
		t.Errorf("sent %s", got)
	}
	if got := f.counts(); got != "g1 4096, g2 4096, g3 4096, g4 4096" {
		t.Errorf("after: %s", got)
	}
	// Balanced now: nothing to do.
	if out := ok(t, "--addr", f.addr, "rebalance"); out != "balanced\n" {
		t.Errorf("second run printed %q", out)
	}
	if steps := decode[[]stepJSON](t, ok(t, "--addr", f.addr, "--json", "rebalance")); len(steps) != 0 {
		t.Errorf("--json of a balanced cluster: %+v", steps)
	}
}

// An empty group and one that owns everything, moves waited for through
// their phases: rounds until balanced, each round re-read.
func TestRebalance_FillsAnEmptyGroupInRounds(t *testing.T) {
	f := newFakePlacement(t, threeNodes, []string{"node1", "node2", "node3"}, "0-16383 g1")
	steps := decode[[]stepJSON](t, ok(t, "--addr", f.addr, "--json", "rebalance"))
	// Round 1: ceil(min(16384-5461.33, 5461.33)) = 5462 to g2 (the lowest
	// id of the two empty ones); round 2: ceil(min(10922-5461.33,
	// 5461.33-0)) = 5461 to g3.
	if got := f.counts(); got != "g1 5461, g2 5462, g3 5461" {
		t.Errorf("after: %s", got)
	}
	moved := 0
	for _, s := range steps {
		if s.Kind != "move" || !s.Done || s.Epoch == nil || s.From != "g1" {
			t.Errorf("step %+v", s)
		}
		moved += s.Slots
	}
	if moved != 16384-5461 || len(steps) != 2 || steps[0].To != "g2" || steps[1].To != "g3" {
		t.Errorf("%d slots in %d steps: %+v", moved, len(steps), steps)
	}
}

// A leader transfer that does not show in INFO raft within
// --transfer-timeout is an error, exit 1, as is a refused one.
func TestRebalance_ATransferNotSeenIsAnError(t *testing.T) {
	defer func(w time.Duration) { replanWait = w }(replanWait)
	replanWait = 300 * time.Millisecond
	f := newFakePlacement(t, threeNodes, []string{"node1", "node1", "node1"}, "0-5460 g1", "5461-10921 g2", "10922-16383 g3")
	f.stuck = true
	r := wantExit(t, exitError, []string{"walkerctl: transfer g2: node1 -> node2: accepted, but INFO raft still names node1 as the leader after 300ms"},
		"--addr", f.addr, "rebalance", "--transfer-timeout", "300ms")
	if r.stdout != "" {
		t.Errorf("printed %q", r.stdout)
	}

	f = newFakePlacement(t, threeNodes, []string{"node1", "node1", "node1"}, "0-5460 g1", "5461-10921 g2", "10922-16383 g3")
	f.refuse = "-ERR cannot transfer leadership: node2 is not a voter\r\n"
	wantExit(t, exitError, []string{"walkerctl: transfer g2: node1 -> node2: " + f.addr + ": cannot transfer leadership: node2 is not a voter"},
		"--addr", f.addr, "rebalance")

	// Refused because walkerd is handing the group over itself: the state
	// read again plans the next transfer, which goes on.
	f = newFakePlacement(t, threeNodes, []string{"node1", "node1", "node1"}, "0-5460 g1", "5461-10921 g2", "10922-16383 g3")
	f.refuse, f.moveAnyway = "-ERR transfer: leadership transfer in progress\r\n", true
	r = wantExit(t, exitError, []string{"walkerctl: transfer g3: node1 -> node3: " + f.addr + ": transfer: leadership transfer in progress"},
		"--addr", f.addr, "rebalance")
	if got := f.sentText(); got != "TRANSFER node2 GROUP g2; TRANSFER node3 GROUP g3" {
		t.Errorf("sent %s", got)
	}

	// Unstuck: two transfers, then balanced (the slots are already).
	f = newFakePlacement(t, threeNodes, []string{"node1", "node1", "node1"}, "0-5460 g1", "5461-10921 g2", "10922-16383 g3")
	if out := ok(t, "--addr", f.addr, "rebalance"); out != "transfer g2: node1 -> node2\ntransfer g3: node1 -> node3\nbalanced\n" {
		t.Errorf("printed %q", out)
	}
}

// A group without a leader is waited for; still without one after
// --transfer-timeout, rebalance exits 5 and changes nothing.
func TestRebalance_AGroupWithoutALeaderIsWaitedFor(t *testing.T) {
	f := newFakePlacement(t, threeNodes, []string{"node1", "node1", ""}, "0-16383 g1")
	wantExit(t, exitNoLeader, []string{"walkerctl: no leader: g3: INFO raft names no leader after 300ms, so leaders cannot be balanced"},
		"--addr", f.addr, "rebalance", "--transfer-timeout", "300ms")
	if got := f.sentText(); got != "" {
		t.Errorf("sent %s", got)
	}
	// Elected meanwhile: planned with it.
	go func() {
		time.Sleep(200 * time.Millisecond)
		f.mu.Lock()
		f.leader["g3"] = "node1"
		f.mu.Unlock()
	}()
	f.instant = true
	out := ok(t, "--addr", f.addr, "rebalance", "--transfer-timeout", "5s")
	if !strings.HasPrefix(out, "transfer g2: node1 -> node2\ntransfer g3: node1 -> node3\nmove ") {
		t.Errorf("printed:\n%s", out)
	}
}

// A cluster that never balances (the fake undoes each move once over)
// stops after 64 moves and says what is left.
func TestRebalance_StopsAfter64Moves(t *testing.T) {
	f := newFakePlacement(t, threeNodes, []string{"node1", "node2", "node3"}, "0-10921 g1", "10922-16383 g2")
	f.instant, f.undo = true, true
	r := wantExit(t, exitError, []string{"walkerctl: slots still not balanced after 64 moves: slots per group g1 10922, g2 5462, g3 0"},
		"--addr", f.addr, "rebalance")
	if n := strings.Count(r.stdout, "move 5461-10921: g1 -> g3 (5461 slots)\n"); n != 64 {
		t.Errorf("%d moves printed:\n%s", n, r.stdout)
	}
}

// Without INTO, split makes a group on GROUP's members (WALKER.GROUP ADD
// LIKE), waits for its leader, and moves the upper half into it.
func TestSplit_WithoutIntoMakesANewGroup(t *testing.T) {
	f := newFakePlacement(t, threeNodes, []string{"node1", "node2"}, "0-8191 g1", "8192-16383 g2")
	out := ok(t, "--addr", f.addr, "split", "g2")
	want := "group g3 made on " + strings.Join(threeNodes, ",") + "\nmove 12288-16383: g2 -> g3 (4096 slots)\n" +
		"g2 split: 4096 of its 8192 slots moved to g3 in 1 move (placement epoch 15)\n"
	if out != want {
		t.Errorf("printed:\n%s\nwant:\n%s", out, want)
	}
	if got := f.sentText(); got != "GROUP ADD LIKE g2; MIGRATE 12288-16383 g3" {
		t.Errorf("sent %s", got)
	}
	js := decode[struct {
		Into string
		Made bool
	}](t, ok(t, "--addr", f.addr, "--json", "split", "g1"))
	if js.Into != "g4" || !js.Made {
		t.Errorf("--json: %+v", js)
	}
	// A group of one slot is refused before anything is made.
	f = newFakePlacement(t, threeNodes, []string{"node1", "node2"}, "0-0 g1", "1-16383 g2")
	wantExit(t, exitError, []string{"g1 serves 1 slot: a split needs at least 2"}, "--addr", f.addr, "split", "g1")
	wantExit(t, exitError, []string{"no such Raft group in the slot map: g9"}, "--addr", f.addr, "split", "g9")
	if got := f.sentText(); got != "" {
		t.Errorf("sent %s on errors", got)
	}
}

// A group split made that a concurrent rebalance filled before the split
// planned still takes the upper half of GROUP.
func TestSplit_IntoAGroupItMadeThatARebalanceFilled(t *testing.T) {
	f := newFakePlacement(t, threeNodes, []string{"node1", "node2"}, "0-8191 g1", "8192-16383 g2")
	f.fillOnAdd = []int{0, 99} // g3 gets 0-99 at once
	out := ok(t, "--addr", f.addr, "split", "g2")
	if !strings.Contains(out, "move 12288-16383: g2 -> g3 (4096 slots)") || !strings.Contains(out, "g2 split: 4096 of its 8192 slots moved to g3") {
		t.Errorf("printed:\n%s", out)
	}
	if got := f.counts(); got != "g1 8092, g2 4096, g3 4196" {
		t.Errorf("after split: %s", got)
	}
}
