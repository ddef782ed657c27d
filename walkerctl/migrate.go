package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/internal/resp"
)

func migrateCommand() *cli.Command {
	return &cli.Command{
		Name:      "migrate",
		Usage:     "move a hash slot, or a range of them, to another Raft group and wait until it has moved",
		ArgsUsage: "SLOT GROUP",
		Description: `Sends WALKER.MIGRATE SLOT GROUP to the node at --addr (any node of a
cluster started with --groups N: it forwards the command to the placement
group's leader), which records the move and answers OK; the slots' keys
are then copied to GROUP, GROUP becomes their owner and the old owner
drops its copy. SLOT is a hash slot, 0-16383, or an inclusive range of
them, FIRST-LAST (100-200, FIRST <= LAST), whose slots must all have the
same owner; GROUP a data group's id, as walkerctl groups lists them (g1,
g2, ...).

Then, unless --no-wait, asks the node for the placement state
(WALKER.PLACEMENT) every 100 ms until the move is over: the state lists no
move that holds any of the slots, and GROUP owns every one of them. It
prints
   slot 100: g1 -> g2 done (epoch 12)
   slots 100-200: g1 -> g2 done (epoch 14)
where the epoch is the placement state's when the move was seen over. If
the move is not over within --wait-timeout, it says which phase the move
was in (copy: the keys are being copied, the old owner still serves the
slots; drop: GROUP serves them, the old owner is deleting its copy) and
exits with 1 (3 if no node of --addr could be asked at all); the move goes
on regardless. If the move ends with the slots owned by another group, it
says so and exits with 1.

The node refuses the move (exit 1) when a slot is already moving, GROUP
is not in the slot map, GROUP already owns the slots, the slots have
several owners, or the node runs a single Raft group.

--json prints {"slot", "end", "from", "to", "done", "epoch"} ("end", the
range's last slot, only for a range; "from" is "" when the old owner could
not be read; "epoch" only when done; with --no-wait "done" is false).

walkerctl merge, split and rebalance move slots the same way, one range
after the other.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "no-wait", Usage: "return once the move is recorded, without waiting for it to end"},
			waitTimeoutFlag(),
		},
		Action: runMigrate,
	}
}

// waitTimeoutFlag is --wait-timeout: how long migrate, merge, split and
// rebalance wait for one move to end.
func waitTimeoutFlag() cli.Flag {
	return &cli.DurationFlag{Name: "wait-timeout", Value: 60 * time.Second, Usage: "how long to wait for each move to end"}
}

// waitTimeout reads --wait-timeout, which must be positive.
func waitTimeout(c *cli.Context) (time.Duration, error) {
	wait := c.Duration("wait-timeout")
	if wait <= 0 {
		return 0, &usageError{msg: "--wait-timeout must be positive", command: "walkerctl " + c.Command.Name}
	}
	return wait, nil
}

// migratePoll is how often migrate reads the placement state while it
// waits.
const migratePoll = 100 * time.Millisecond

// placementState is WALKER.PLACEMENT's JSON (walkerd/placement State), as
// walkerctl reads it.
type placementState struct {
	Epoch uint64 `json:"epoch"`
	// Slots are the owned ranges, sorted by Start, disjoint.
	Slots []placementRange `json:"slots"`
	// Groups are the data groups, sorted by id, those that own no slot
	// included.
	Groups []placementGroup `json:"groups"`
	// Nodes are the nodes the placement group knows, sorted by id.
	Nodes []placementNode `json:"nodes"`
	// Moves are the migrations under way, sorted by Slot.
	Moves []placementMove `json:"moves"`
	// Dropped are the groups that ended (walkerctl merge), never reused.
	Dropped []string `json:"dropped"`
}

// placementRange is the slots Start..End (both included), owned by Group.
type placementRange struct {
	Start uint16 `json:"start"`
	End   uint16 `json:"end"`
	Group string `json:"group"`
}

// placementGroup is a data group as its leaders reported it: about once a
// second, so Leader can lag (INFO raft has each group's leader now).
type placementGroup struct {
	ID      string   `json:"id"`
	Leader  string   `json:"leader"`
	Term    uint64   `json:"term"`
	Epoch   uint64   `json:"epoch"`
	Members []string `json:"members"` // node ids, voters and non-voters
}

// placementNode is a node and whether the placement leader reaches it.
type placementNode struct {
	ID   string `json:"id"`
	Raft string `json:"raft"`
	RESP string `json:"resp"`
	Up   bool   `json:"up"`
}

// placementMove is one migration under way, of the slots Slot..End.
type placementMove struct {
	Slot  uint16 `json:"slot"`
	End   uint16 `json:"end"`
	From  string `json:"from"`
	To    string `json:"to"`
	Phase string `json:"phase"` // "copy", then "drop"
	Epoch uint64 `json:"epoch"` // the state's epoch after the move was recorded
}

// last is the move's last slot: End, or Slot for a state written before
// moves had ranges (no "end").
func (m *placementMove) last() uint16 { return max(m.Slot, m.End) }

// span is the move's slots.
func (m *placementMove) span() slotSpan { return slotSpan{Start: m.Slot, End: m.last()} }

// owner is the group that owns slot in the state, "" if none does.
func (st *placementState) owner(slot uint16) string {
	for _, r := range st.Slots {
		if r.Start <= slot && slot <= r.End {
			return r.Group
		}
	}
	return ""
}

// owners are the distinct groups that own slots of s, in slot order ("" for
// slots nobody owns).
func (st *placementState) owners(s slotSpan) []string {
	var out []string
	for x := int(s.Start); x <= int(s.End); x++ {
		if o := st.owner(uint16(x)); !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// ownsAll reports whether group owns every slot of s.
func (st *placementState) ownsAll(group string, s slotSpan) bool {
	o := st.owners(s)
	return len(o) == 1 && o[0] == group
}

// moveOf is the first move under way that holds a slot of s, nil if none.
func (st *placementState) moveOf(s slotSpan) *placementMove {
	for i := range st.Moves {
		if m := &st.Moves[i]; m.Slot <= s.End && s.Start <= m.last() {
			return m
		}
	}
	return nil
}

// migrateResult is what migrate prints.
type migrateResult struct {
	Slot  uint16  `json:"slot"`
	End   *uint16 `json:"end,omitempty"` // the range's last slot; only for a range
	From  string  `json:"from"`          // "" when unknown
	To    string  `json:"to"`
	Done  bool    `json:"done"`
	Epoch *uint64 `json:"epoch,omitempty"` // the placement epoch at which the move was seen over
}

// span is the result's slots.
func (r *migrateResult) span() slotSpan {
	s := slotSpan{Start: r.Slot, End: r.Slot}
	if r.End != nil {
		s.End = *r.End
	}
	return s
}

// newMigrateResult is the result of moving s to group, not started yet.
func newMigrateResult(s slotSpan, group string) migrateResult {
	r := migrateResult{Slot: s.Start, To: group}
	if s.End != s.Start {
		end := s.End
		r.End = &end
	}
	return r
}

// slotsText is "slot 100" for one slot, "slots 100-200" for a range.
func slotsText(s slotSpan) string {
	if s.Start == s.End {
		return fmt.Sprintf("slot %d", s.Start)
	}
	return "slots " + s.String()
}

// slotsArg is s as WALKER.MIGRATE takes it: "100" or "100-200".
func slotsArg(s slotSpan) string {
	if s.Start == s.End {
		return strconv.Itoa(int(s.Start))
	}
	return s.String()
}

// parseSlotsArg reads SLOT or FIRST-LAST, each 0..16383, FIRST <= LAST.
func parseSlotsArg(a string) (slotSpan, bool) {
	lo, hi, isRange := strings.Cut(a, "-")
	if !isRange {
		hi = lo
	}
	x, err1 := strconv.ParseUint(lo, 10, 16)
	y, err2 := strconv.ParseUint(hi, 10, 16)
	if err1 != nil || err2 != nil || x > y || y >= slotCount {
		return slotSpan{}, false
	}
	return slotSpan{Start: uint16(x), End: uint16(y)}, true
}

func runMigrate(c *cli.Context) error {
	if err := args(c, 2, 2); err != nil {
		return err
	}
	o, err := optsOf(c)
	if err != nil {
		return err
	}
	slotArg, group := c.Args().Get(0), c.Args().Get(1)
	span, valid := parseSlotsArg(slotArg)
	if !valid {
		return &usageError{msg: fmt.Sprintf("slot %q: want a hash slot, 0-%d, or a range of them, FIRST-LAST with FIRST <= LAST", slotArg, slotCount-1),
			command: "walkerctl migrate"}
	}
	if group == "" {
		return &usageError{msg: "GROUP is empty", command: "walkerctl migrate"}
	}
	wait, err := waitTimeout(c)
	if err != nil {
		return err
	}
	res, err := startMigrate(o, span, group)
	if err != nil {
		return err
	}
	if !c.Bool("no-wait") {
		if err := waitMigrated(o, &res, wait); err != nil {
			return err
		}
	}
	if o.json {
		return writeJSON(o.stdout, res)
	}
	from := res.From
	if from == "" {
		from = "?"
	}
	if !res.Done {
		_, err = fmt.Fprintf(o.stdout, "%s: %s -> %s started\n", slotsText(span), from, group)
		return err
	}
	_, err = fmt.Fprintf(o.stdout, "%s: %s -> %s done (epoch %d)\n", slotsText(span), from, group, *res.Epoch)
	return err
}

// startMigrate sends WALKER.MIGRATE s group to the first node of --addr
// that answers, and returns the result so far: From is the slots' owner
// before the move when the placement state could be read first ("" if
// not). The node's refusal is the error.
func startMigrate(o *opts, s slotSpan, group string) (migrateResult, error) {
	res := newMigrateResult(s, group)
	cl, err := o.anyNode()
	if err != nil {
		return res, err
	}
	defer cl.close()
	// The owner before the move, for the report: best effort, the
	// node's own answer to WALKER.MIGRATE says what is wrong, if anything.
	st, err := readPlacement(cl)
	var ue *unreachableError
	if errors.As(err, &ue) {
		return res, err
	}
	if err == nil {
		res.From = st.owner(s.Start)
	}
	_, err = cl.do("WALKER.MIGRATE", slotsArg(s), group)
	return res, err
}

// moveSlots moves s to group and waits until the move is over (migrate
// without --no-wait).
func moveSlots(o *opts, s slotSpan, group string, wait time.Duration) (migrateResult, error) {
	res, err := startMigrate(o, s, group)
	if err != nil {
		return res, err
	}
	return res, waitMigrated(o, &res, wait)
}

// readPlacement asks one node for the placement state (WALKER.PLACEMENT, a
// bulk string of JSON).
func readPlacement(cl *client) (*placementState, error) {
	v, err := cl.do("WALKER.PLACEMENT")
	if err != nil {
		return nil, err
	}
	if v.Kind != resp.KindBulk || v.Null {
		return nil, fmt.Errorf("%s: WALKER.PLACEMENT: %w: want a bulk string of JSON", cl.addr, resp.ErrProtocol)
	}
	st := &placementState{}
	if err := json.Unmarshal(v.Str, st); err != nil {
		return nil, fmt.Errorf("%s: WALKER.PLACEMENT: %w", cl.addr, err)
	}
	return st, nil
}

// fetchPlacement reads the placement state from the first node of --addr
// that answers.
func fetchPlacement(o *opts) (*placementState, error) {
	cl, err := o.anyNode()
	if err != nil {
		return nil, err
	}
	defer cl.close()
	return readPlacement(cl)
}

// waitMigrated reads the placement state from the first node of --addr
// that answers, every migratePoll, until it shows no move that holds a
// slot of res's and res.To owning them all; it then sets res.Done,
// res.Epoch and, once seen in a move, res.From. A wrong or missing
// password ends the wait at once, as does a move that ended with another
// owner; other errors are retried until wait has passed
// (migrateTimeoutError).
func waitMigrated(o *opts, res *migrateResult, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	span := res.span()
	var (
		seen *placementMove  // our move, as last seen
		last *placementState // the last state read
		err  error           // the last poll's error
	)
	for {
		// Each poll waits at most until the deadline (and not below 10
		// ms), not the full --timeout.
		po := *o
		po.timeout = max(min(o.timeout, time.Until(deadline)), 10*time.Millisecond)
		var st *placementState
		var cl *client
		if cl, err = po.anyNode(); err == nil {
			st, err = readPlacement(cl)
			cl.close()
		}
		var ae *authError
		if errors.As(err, &ae) {
			return err
		}
		if err == nil {
			last = st
			m, owned := st.moveOf(span), st.ownsAll(res.To, span)
			switch {
			case m != nil && m.To == res.To:
				seen = m
				res.From = m.From
			case m == nil && owned:
				res.Done, res.Epoch = true, &st.Epoch
				return nil
			case m == nil && seen != nil && st.Epoch > seen.Epoch:
				// The move we saw is over, yet the slots are not ours:
				// not a node lagging behind the MOVE (its epoch would be
				// older), the move ended another way.
				return fmt.Errorf("%s: the move to %s ended with %s (placement epoch %d)",
					slotsText(span), res.To, ownedBy(st, span), st.Epoch)
			}
			// Else the node has not applied the move yet, or shows an
			// older move of the slots elsewhere: wait.
		}
		if time.Now().Add(migratePoll).After(deadline) {
			return &migrateTimeoutError{span: span, to: res.To, wait: wait, state: last, err: err}
		}
		select {
		case <-o.ctx.Done():
			return o.ctx.Err()
		case <-time.After(migratePoll):
		}
	}
}

// ownedBy says who owns s: "the slot owned by g1", "the slots owned by
// g1, g2".
func ownedBy(st *placementState, s slotSpan) string {
	os := st.owners(s)
	for i := range os {
		os[i] = orDash(os[i])
	}
	if s.Start == s.End {
		return "the slot owned by " + os[0]
	}
	return "the slots owned by " + strings.Join(os, ", ")
}

// migrateTimeoutError: the move was not seen over within --wait-timeout.
// It says where the move stood in the last placement state read; with none
// read, its exit code is the last error's (3 for an unreachable node).
type migrateTimeoutError struct {
	span  slotSpan
	to    string
	wait  time.Duration
	state *placementState // the last state read, nil if none
	err   error           // the last poll's error, nil if it succeeded
}

func (e *migrateTimeoutError) Error() string {
	head := fmt.Sprintf("%s: the move to %s was not over within %v", slotsText(e.span), e.to, e.wait)
	var where string
	switch st := e.state; {
	case st == nil:
		where = "the placement state could not be read"
	case st.moveOf(e.span) != nil:
		m := st.moveOf(e.span)
		where = fmt.Sprintf("it was in phase %s (%s -> %s, placement epoch %d)", m.Phase, m.From, m.To, st.Epoch)
		if m.To != e.to {
			where = fmt.Sprintf("the node still shows an earlier move in phase %s (%s -> %s, placement epoch %d)", m.Phase, m.From, m.To, st.Epoch)
		}
	case e.span.Start == e.span.End:
		where = fmt.Sprintf("the node shows no move of the slot yet, and %s owns it (placement epoch %d)", orDash(st.owner(e.span.Start)), st.Epoch)
	default:
		os := st.owners(e.span)
		for i := range os {
			os[i] = orDash(os[i])
		}
		where = fmt.Sprintf("the node shows no move of the slots yet, and %s own them (placement epoch %d)", strings.Join(os, ", "), st.Epoch)
	}
	if e.err != nil {
		where += "; then: " + e.err.Error()
	}
	return head + ": " + where
}

// Unwrap gives the exit code of the last poll's error when no state was
// ever read (an unreachable node: 3).
func (e *migrateTimeoutError) Unwrap() error {
	if e.state == nil {
		return e.err
	}
	return nil
}
