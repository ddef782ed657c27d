package main

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

func mergeCommand() *cli.Command {
	return &cli.Command{
		Name:      "merge",
		Usage:     "move every slot of one Raft group into another, emptying it",
		ArgsUsage: "FROM INTO",
		Description: `Reads the placement state (WALKER.PLACEMENT) from the node at --addr and
moves every slot range FROM owns to INTO, one WALKER.MIGRATE per range,
waiting for each move to end as walkerctl migrate does (--wait-timeout
each). FROM then serves no slot, and the group ends (WALKER.GROUP DROP):
every member closes it and deletes its directories. With --keep, or for
g1 (every node's home group), the empty group stays, ready for walkerctl
split GROUP INTO.

It prints each move once it is over, then a last line:
   move 12288-16383: g4 -> g1 (4096 slots)
   g4 merged into g1: 4096 slots in 1 move; g4 dropped (placement epoch 57)

Errors (exit 1): FROM or INTO is not a group of the slot map, FROM serves
no slot, or a move is refused or does not end (see walkerctl migrate);
the moves already over stay done. FROM equal to INTO is a usage error
(exit 2).

--json prints {"from", "into", "slots", "dropped", "moves": [{"kind":
"move", "start", "end", "slots", "from", "to", "done", "epoch"}],
"epoch"}: "slots" is how many FROM owned, "dropped" whether FROM ended.`,
		Flags: []cli.Flag{waitTimeoutFlag(), &cli.BoolFlag{Name: "keep",
			Usage: "leave FROM running with no slot instead of dropping it"}},
		Action: runMerge,
	}
}

func splitCommand() *cli.Command {
	return &cli.Command{
		Name:      "split",
		Usage:     "move the upper half of a Raft group's slots into a new (or an empty) group",
		ArgsUsage: "GROUP [INTO]",
		Description: `Without INTO, makes a new data group on GROUP's members (WALKER.GROUP ADD
LIKE GROUP: the next unused id, g<N>) and waits until it has elected a
leader (--wait-timeout); with INTO, uses that group, which must serve no
slot (one walkerctl merge --keep emptied). Then it reads the placement
state (WALKER.PLACEMENT) from the node at --addr and moves the upper half
of GROUP's slots by count (the last floor(n/2) of its n slots in slot
order, across as many of its ranges as that takes) to INTO, one
WALKER.MIGRATE per contiguous piece, waiting for each move to end as
walkerctl migrate does (--wait-timeout each).

It prints the new group, each move once it is over, then a last line:
   group g5 made on n1,n2,n3
   move 12288-16383: g1 -> g5 (4096 slots)
   g1 split: 4096 of its 8192 slots moved to g5 in 1 move (placement epoch 61)

Errors (exit 1): GROUP or INTO is not a group of the slot map, INTO serves
slots already, GROUP serves fewer than 2 slots, the new group elects no
leader in time, or a move is refused or does not end (see walkerctl
migrate); the moves already over stay done, and a group made stays (run
split GROUP INTO again, or merge it away). GROUP equal to INTO is a usage
error (exit 2).

--json prints {"group", "into", "made", "slots", "moved", "moves":
[{"kind": "move", "start", "end", "slots", "from", "to", "done",
"epoch"}], "epoch"}: "made" is whether INTO was made by this split,
"slots" how many GROUP owned, "moved" how many go to INTO.`,
		Flags:  []cli.Flag{waitTimeoutFlag()},
		Action: runSplit,
	}
}

func rebalanceCommand() *cli.Command {
	return &cli.Command{
		Name:  "rebalance",
		Usage: "spread group leaders over the nodes and slots over the groups",
		Description: `Balances the cluster in two steps, reading the state again after each
change (walkerd/shard/DESIGN.md, "Rebalance"):

1. Leaders, no data moves. It counts the groups each up node leads (INFO
   raft of the node at --addr names every group's leader; WALKER.PLACEMENT
   says which nodes are up and each group's members). While some node A
   leads at least 2 groups more than an up node B that is a member of one
   of A's groups, it sends RAFT.TRANSFER B GROUP g for such a group g and
   waits (--transfer-timeout) until INFO raft names B as g's leader: one
   leader per node where the counts allow. A group without a leader
   (an election or a hand-over under way) is waited for first, for
   --transfer-timeout (then exit 5). walkerd spreads leaders too
   (one group per node, by group number); among equal choices this picks
   the group walkerd would give B, so that the two agree.
2. Slots. It counts the slots each group owns (every group of the slot
   map, those that own none included). While the largest and the smallest
   count differ by more than 5% of an even share (16384 / groups, at
   least 1 slot), it moves min(largest - average, average - smallest)
   slots (rounded up) from the top of the largest group's last ranges to
   the smallest group, one WALKER.MIGRATE per contiguous piece, waiting
   for each as walkerctl migrate does (--wait-timeout each). A move
   already under way is waited for first. It stops after 64 moves, saying
   what is left, so that it always ends.

Each step is printed once done, then "balanced":
   transfer g2: node1 -> node4
   move 13653-16383: g6 -> g7 (2731 slots)
   balanced

--dry-run changes nothing: it prints the whole leader step as planned
from the state read (as if each transfer succeeded) and the first round
of the slot step.

Errors (exit 1): a transfer or a move refused or not over in time, or
still unbalanced after 64 moves (or 64 transfers); the steps already done
stay done. A transfer refused while the leaders change by themselves
(walkerd's own hand-over) is not an error: the plan is made again from
the new state.

--json prints the list of steps done (or planned): {"kind": "transfer",
"group", "from", "to", "done"} and {"kind": "move", "start", "end",
"slots", "from", "to", "done", "epoch"} (transfer: node ids; move: group
ids; "epoch" the placement epoch at which the move was seen over).`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "print the plan without changing anything"},
			waitTimeoutFlag(),
			&cli.DurationFlag{Name: "transfer-timeout", Value: 30 * time.Second, Usage: "how long to wait for each leader transfer to show in INFO raft"},
		},
		Action: runRebalance,
	}
}

// maxRebalanceSteps bounds each of rebalance's two steps, so that it
// always ends (walkerd's own leader spreading, or slots moved by someone
// else at the same time, could otherwise keep it going).
const maxRebalanceSteps = 64

// stepJSON is one step of merge, split or rebalance in --json.
type stepJSON struct {
	Kind  string  `json:"kind"`            // "transfer" or "move"
	Group string  `json:"group,omitempty"` // transfer: the group whose leader changes
	Start *uint16 `json:"start,omitempty"` // move: the first slot
	End   *uint16 `json:"end,omitempty"`   // move: the last slot
	Slots int     `json:"slots,omitempty"` // move: how many
	From  string  `json:"from"`            // transfer: node id; move: group id
	To    string  `json:"to"`
	Done  bool    `json:"done"`            // false: planned (--dry-run)
	Epoch *uint64 `json:"epoch,omitempty"` // move: the placement epoch at which it was seen over
}

func moveJSON(m slotMove, res *migrateResult) stepJSON {
	start, end := m.Span.Start, m.Span.End
	s := stepJSON{Kind: "move", Start: &start, End: &end, Slots: m.slots(), From: m.From, To: m.To}
	if res != nil {
		s.Done, s.Epoch = res.Done, res.Epoch
	}
	return s
}

func transferJSON(t leaderTransfer, done bool) stepJSON {
	return stepJSON{Kind: "transfer", Group: t.Group, From: t.From, To: t.To, Done: done}
}

// mover carries out the moves of merge and split, printing each once over.
type mover struct {
	o     *opts
	wait  time.Duration
	steps []stepJSON
	epoch uint64 // the placement epoch at which the last move was seen over
}

// run moves each of moves in turn and waits for it; it stops at the first
// failure, the error naming the move.
func (mv *mover) run(moves []slotMove) error {
	for _, m := range moves {
		res, err := moveSlots(mv.o, m.Span, m.To, mv.wait)
		if err != nil {
			return fmt.Errorf("%v: %w", m, err)
		}
		mv.steps = append(mv.steps, moveJSON(m, &res))
		mv.epoch = *res.Epoch
		if !mv.o.json {
			if _, err := fmt.Fprintln(mv.o.stdout, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// moved is "1 move", "3 moves".
func moved(n int) string {
	if n == 1 {
		return "1 move"
	}
	return fmt.Sprintf("%d moves", n)
}

// twoGroups is what merge and split share before their plans: the two
// group arguments (refused when equal, with sameMsg), the options, the
// wait for each move, and the placement state.
type twoGroups struct {
	o       *opts
	a, b    string
	wait    time.Duration
	st      *placementState
	planned []slotMove
	mv      *mover
	made    bool // split made b (makeGroup)
}

// readTwoGroups reads the two group arguments; mk, where b may be
// absent (split GROUP), makes b after the checks and returns its id.
func readTwoGroups(c *cli.Context, command, sameMsg string, plan func(t *twoGroups) ([]slotMove, error), mk func(t *twoGroups) (string, error)) (*twoGroups, error) {
	least := 2
	if mk != nil {
		least = 1
	}
	if err := args(c, least, 2); err != nil {
		return nil, err
	}
	o, err := optsOf(c)
	if err != nil {
		return nil, err
	}
	t := &twoGroups{o: o, a: c.Args().Get(0), b: c.Args().Get(1)}
	if t.a == t.b {
		return nil, &usageError{msg: fmt.Sprintf(sameMsg, t.a), command: command}
	}
	if t.wait, err = waitTimeout(c); err != nil {
		return nil, err
	}
	if t.st, err = fetchPlacement(o); err != nil {
		return nil, err
	}
	if t.b == "" {
		if !t.st.hasGroup(t.a) {
			return nil, unknownGroup(t.st, t.a)
		}
		if n := t.st.slotCount(t.a); n < 2 {
			return nil, fmt.Errorf("%s serves %d slot%s: a split needs at least 2", t.a, n, plural(n))
		}
		if t.b, err = mk(t); err != nil {
			return nil, err
		}
		if t.st, err = fetchPlacement(o); err != nil {
			return nil, err
		}
	}
	if t.planned, err = plan(t); err != nil {
		return nil, err
	}
	t.mv = &mover{o: o, wait: t.wait}
	return t, nil
}

// run carries out the planned moves; report (with --json) prints body
// with the moves made and the epoch, also after a failure.
func (t *twoGroups) run(body map[string]any) (report func() error, err error) {
	report = func() error {
		if !t.o.json {
			return nil
		}
		body["moves"], body["epoch"] = nonNil(t.mv.steps), t.mv.epoch
		return writeJSON(t.o.stdout, body)
	}
	if err := t.mv.run(t.planned); err != nil {
		report()
		return report, err
	}
	return report, nil
}

func runMerge(c *cli.Context) error {
	t, err := readTwoGroups(c, "walkerctl merge", "FROM and INTO are both %s: merge moves one group's slots into another",
		func(t *twoGroups) ([]slotMove, error) { return mergePlan(t.st, t.a, t.b) }, nil)
	if err != nil {
		return err
	}
	from, into, o := t.a, t.b, t.o
	slots := t.st.slotCount(from)
	body := map[string]any{"from": from, "into": into, "slots": slots, "dropped": false}
	report, err := t.run(body)
	if err != nil {
		return err
	}
	// Slots moved into FROM meanwhile would still be there.
	if st, err := fetchPlacement(o); err == nil && st.slotCount(from) > 0 {
		report()
		return fmt.Errorf("%s still serves %s after the moves (moved to it meanwhile?): run merge again", from, slotsCell(st.ranges(from)))
	}
	end := fmt.Sprintf("%s serves no slot now", from)
	if !c.Bool("keep") && from != homeGroup {
		if err := dropGroup(o, from); err != nil {
			report()
			return err
		}
		body["dropped"], end = true, from+" dropped"
		if st, err := fetchPlacement(o); err == nil {
			t.mv.epoch = st.Epoch
		}
	}
	if o.json {
		return report()
	}
	_, err = fmt.Fprintf(o.stdout, "%s merged into %s: %d slots in %s; %s (placement epoch %d)\n",
		from, into, slots, moved(len(t.planned)), end, t.mv.epoch)
	return err
}

// homeGroup is every node's home group, which is never dropped.
const homeGroup = "g1"

// dropGroup ends group id (WALKER.GROUP DROP) through the first node of
// --addr that answers.
func dropGroup(o *opts, id string) error {
	cl, err := o.anyNode()
	if err != nil {
		return err
	}
	defer cl.close()
	if _, err := cl.do("WALKER.GROUP", "DROP", id); err != nil {
		return fmt.Errorf("%s: WALKER.GROUP DROP %s: %w", cl.addr, id, err)
	}
	return nil
}

// makeGroup makes a new data group on the members of t.a (WALKER.GROUP
// ADD LIKE) and waits, up to t.wait, until the placement state records a
// leader for it; it prints "group gN made on members".
func makeGroup(t *twoGroups) (string, error) {
	cl, err := t.o.anyNode()
	if err != nil {
		return "", err
	}
	v, err := cl.do("WALKER.GROUP", "ADD", "LIKE", t.a)
	cl.close()
	if err != nil {
		return "", fmt.Errorf("%s: WALKER.GROUP ADD LIKE %s: %w", cl.addr, t.a, err)
	}
	id := string(v.Str)
	t.made = true
	deadline := time.Now().Add(t.wait)
	for {
		st, err := fetchPlacement(t.o)
		if err == nil {
			if i := slices.IndexFunc(st.Groups, func(g placementGroup) bool { return g.ID == id }); i >= 0 && st.Groups[i].Leader != "" {
				if !t.o.json {
					if _, err := fmt.Fprintf(t.o.stdout, "group %s made on %s\n", id, strings.Join(st.Groups[i].Members, ",")); err != nil {
						return "", err
					}
				}
				return id, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("group %s was made but has elected no leader in %s (are its members up?): run walkerctl split %s %s once it has", id, t.wait, t.a, id)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func runSplit(c *cli.Context) error {
	// A group this split made may serve slots already (a rebalance that
	// ran meanwhile filled it): half of GROUP goes there all the same.
	t, err := readTwoGroups(c, "walkerctl split", "GROUP and INTO are both %s: split moves half a group into another, empty one",
		func(t *twoGroups) ([]slotMove, error) { return splitPlanOf(t.st, t.a, t.b, !t.made) }, makeGroup)
	if err != nil {
		return err
	}
	group, into, o := t.a, t.b, t.o
	slots, half := t.st.slotCount(group), 0
	for _, m := range t.planned {
		half += m.slots()
	}
	report, err := t.run(map[string]any{"group": group, "into": into, "made": t.made, "slots": slots, "moved": half})
	if err != nil {
		return err
	}
	if o.json {
		return report()
	}
	_, err = fmt.Fprintf(o.stdout, "%s split: %d of its %d slots moved to %s in %s (placement epoch %d)\n",
		group, half, slots, into, moved(len(t.planned)), t.mv.epoch)
	return err
}

// nonNil makes an empty list print as [] rather than null.
func nonNil(s []stepJSON) []stepJSON {
	if s == nil {
		return []stepJSON{}
	}
	return s
}

// readLeaderView reads INFO raft and the placement state from the first
// node of --addr that answers.
func readLeaderView(o *opts) (leaderView, *placementState, error) {
	cl, err := o.anyNode()
	if err != nil {
		return leaderView{}, nil, err
	}
	defer cl.close()
	gs, err := readGroups(cl)
	if err != nil {
		return leaderView{}, nil, err
	}
	st, err := readPlacement(cl)
	if err != nil {
		return leaderView{}, nil, err
	}
	return leaderViewOf(gs, st), st, nil
}

// readGroups asks one node for INFO raft and returns its groups.
func readGroups(cl *client) ([]groupInfo, error) {
	v, err := cl.do("INFO", "raft")
	if err != nil {
		return nil, err
	}
	gs, err := parseGroups(parseInfo(string(v.Str)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cl.addr, err)
	}
	return gs, nil
}

// settledLeaders reads the leaders (readLeaderView) until every group has
// one, every migratePoll for at most wait: a group without a leader is
// electing one, or being handed over (walkerd spreads leaders too), and
// the counts are not worth planning on until it ends. Still without after
// wait: a noLeaderError (exit 5).
func settledLeaders(o *opts, wait time.Duration) (leaderView, error) {
	deadline := time.Now().Add(wait)
	for {
		v, _, err := readLeaderView(o)
		if err != nil {
			return v, err
		}
		var none []string
		for _, g := range slices.SortedFunc(maps.Keys(v.Leaders), cmpGroup) {
			if v.Leaders[g] == "" {
				none = append(none, g)
			}
		}
		if len(none) == 0 {
			return v, nil
		}
		if time.Now().Add(migratePoll).After(deadline) {
			return v, &noLeaderError{detail: fmt.Sprintf("%s: INFO raft names no leader after %v, so leaders cannot be balanced", strings.Join(none, ", "), wait)}
		}
		select {
		case <-o.ctx.Done():
			return v, o.ctx.Err()
		case <-time.After(migratePoll):
		}
	}
}

// transferLeader sends RAFT.TRANSFER t.To GROUP t.Group (any node
// forwards it to the group's leader) and polls INFO raft every
// migratePoll until it names t.To as the group's leader, for at most wait.
func transferLeader(o *opts, t leaderTransfer, wait time.Duration) error {
	if _, _, err := o.doOnce("RAFT.TRANSFER", t.To, "GROUP", t.Group); err != nil {
		return fmt.Errorf("%v: %w", t, err)
	}
	deadline := time.Now().Add(wait)
	last := t.From
	var err error
	for {
		var cl *client
		if cl, err = o.anyNode(); err == nil {
			var gs []groupInfo
			gs, err = readGroups(cl)
			cl.close()
			for _, g := range gs {
				if g.ID == t.Group {
					last = g.Leader
				}
			}
			if err == nil && last == t.To {
				return nil
			}
		}
		var ae *authError
		if errors.As(err, &ae) {
			return err
		}
		if time.Now().Add(migratePoll).After(deadline) {
			msg := fmt.Sprintf("%v: accepted, but INFO raft still names %s as the leader after %v", t, orDash(last), wait)
			if err != nil {
				msg += "; then: " + err.Error()
			}
			return fmt.Errorf("%s", msg)
		}
		select {
		case <-o.ctx.Done():
			return o.ctx.Err()
		case <-time.After(migratePoll):
		}
	}
}

// replanWait is how long rebalance watches the leaders after a failed
// transfer for a change that makes it moot (a variable for tests).
var replanWait = 5 * time.Second

// replanned reads the leaders again, every migratePoll for up to
// replanWait, until the next transfer planned is no longer t; false if it
// stays t (or the state cannot be read).
func replanned(o *opts, t leaderTransfer) bool {
	deadline := time.Now().Add(replanWait)
	for {
		v, _, err := readLeaderView(o)
		if err == nil {
			if next, ok := v.nextTransfer(); !ok || next != t {
				return true
			}
		}
		if time.Now().Add(migratePoll).After(deadline) {
			return false
		}
		select {
		case <-o.ctx.Done():
			return false
		case <-time.After(migratePoll):
		}
	}
}

// waitNoMoves waits until the placement state shows no move under way,
// for at most wait.
func waitNoMoves(o *opts, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		st, err := fetchPlacement(o)
		if err == nil && len(st.Moves) == 0 {
			return nil
		}
		var ae *authError
		if errors.As(err, &ae) {
			return err
		}
		if time.Now().Add(migratePoll).After(deadline) {
			if err != nil {
				return fmt.Errorf("the moves under way were not seen over within %v: %w", wait, err)
			}
			m := st.Moves[0]
			return fmt.Errorf("a move under way (%s: %s -> %s, phase %s) was not over within %v", slotsText(m.span()), m.From, m.To, m.Phase, wait)
		}
		select {
		case <-o.ctx.Done():
			return o.ctx.Err()
		case <-time.After(migratePoll):
		}
	}
}

func runRebalance(c *cli.Context) error {
	if err := args(c, 0, 0); err != nil {
		return err
	}
	o, err := optsOf(c)
	if err != nil {
		return err
	}
	wait, err := waitTimeout(c)
	if err != nil {
		return err
	}
	transferWait := c.Duration("transfer-timeout")
	if transferWait <= 0 {
		return &usageError{msg: "--transfer-timeout must be positive", command: "walkerctl rebalance"}
	}
	dry := c.Bool("dry-run")
	var steps []stepJSON
	emit := func(s stepJSON, line fmt.Stringer) error {
		steps = append(steps, s)
		if o.json {
			return nil
		}
		_, err := fmt.Fprintln(o.stdout, line)
		return err
	}
	// finish prints the --json list, whatever happened.
	finish := func(err error) error {
		if o.json {
			if jerr := writeJSON(o.stdout, nonNil(steps)); err == nil {
				err = jerr
			}
		}
		return err
	}

	// 1. Leaders.
	v, err := settledLeaders(o, transferWait)
	if err != nil {
		return err
	}
	if dry {
		for _, t := range leaderPlan(v, maxRebalanceSteps) {
			if err := emit(transferJSON(t, false), t); err != nil {
				return err
			}
		}
	} else {
		for n := 0; ; n++ {
			t, ok := v.nextTransfer()
			if !ok {
				break
			}
			if n == maxRebalanceSteps {
				return finish(fmt.Errorf("leaders still not spread after %d transfers tried (groups led: %s)", n, leaderCountsText(v.leaderCounts())))
			}
			if err := transferLeader(o, t, transferWait); err != nil {
				// Leadership may have moved meanwhile (walkerd spreads
				// leaders too, and refuses a transfer while its own runs):
				// if the state read again plans something else, go on
				// from it.
				if replanned(o, t) {
					if v, err = settledLeaders(o, transferWait); err != nil {
						return finish(err)
					}
					continue
				}
				return finish(err)
			}
			if err := emit(transferJSON(t, true), t); err != nil {
				return err
			}
			if v, err = settledLeaders(o, transferWait); err != nil {
				return finish(err)
			}
		}
	}

	// 2. Slots.
	if dry {
		st, err := fetchPlacement(o)
		if err != nil {
			return finish(err)
		}
		for _, m := range slotRound(st) {
			if err := emit(moveJSON(m, nil), m); err != nil {
				return err
			}
		}
		if o.json {
			return finish(nil)
		}
		if len(steps) == 0 {
			_, err = fmt.Fprintln(o.stdout, "balanced")
			return err
		}
		_, err = fmt.Fprintf(o.stdout, "dry run: nothing changed (slots per group now: %s)\n", balanceOf(st))
		return err
	}
	for moves := 0; ; {
		st, err := fetchPlacement(o)
		if err != nil {
			return finish(err)
		}
		if len(st.Moves) > 0 {
			if err := waitNoMoves(o, wait); err != nil {
				return finish(err)
			}
			continue
		}
		round := slotRound(st)
		if round == nil {
			break
		}
		for _, m := range round {
			if moves == maxRebalanceSteps {
				if now, err := fetchPlacement(o); err == nil {
					st = now
				}
				return finish(fmt.Errorf("slots still not balanced after %d moves: slots per group %s", moves, balanceOf(st)))
			}
			res, err := moveSlots(o, m.Span, m.To, wait)
			if err != nil {
				return finish(fmt.Errorf("%v: %w", m, err))
			}
			moves++
			if err := emit(moveJSON(m, &res), m); err != nil {
				return err
			}
		}
	}
	if o.json {
		return finish(nil)
	}
	_, err = fmt.Fprintln(o.stdout, "balanced")
	return err
}
