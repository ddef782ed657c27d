package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/internal/resp"
)

func migrateCommand() *cli.Command {
	return &cli.Command{
		Name:      "migrate",
		Usage:     "move a hash slot to another Raft group and wait until it has moved",
		ArgsUsage: "SLOT GROUP",
		Description: `Sends WALKER.MIGRATE SLOT GROUP to the node at --addr (any node of a
cluster started with --groups N: it forwards the command to the placement
group's leader), which records the move and answers OK; the slot's keys
are then copied to GROUP, GROUP becomes the slot's owner and the old owner
drops its copy. SLOT is a hash slot, 0-16383; GROUP a data group's id, as
walkerctl groups lists them (g1, g2, ...).

Then, unless --no-wait, asks the node for the placement state
(WALKER.PLACEMENT) every 100 ms until the move is over: the state lists no
move of the slot and GROUP owns it. It prints
   slot 100: g1 -> g2 done (epoch 12)
where the epoch is the placement state's when the move was seen over. If
the move is not over within --wait-timeout, it says which phase the move
was in (copy: the keys are being copied, the old owner still serves the
slot; drop: GROUP serves it, the old owner is deleting its copy) and exits
with 1 (3 if no node of --addr could be asked at all); the move goes on
regardless. If the move ends with the slot owned
by another group, it says so and exits with 1.

The node refuses the move (exit 1) when the slot is already moving, GROUP
is not in the slot map, GROUP already owns the slot, or the node runs a
single Raft group.

--json prints {"slot", "from", "to", "done", "epoch"} ("from" is "" when
the old owner could not be read; "epoch" only when done; with --no-wait
"done" is false).`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "no-wait", Usage: "return once the move is recorded, without waiting for it to end"},
			&cli.DurationFlag{Name: "wait-timeout", Value: 60 * time.Second, Usage: "how long to wait for the move to end"},
		},
		Action: runMigrate,
	}
}

// migratePoll is how often migrate reads the placement state while it
// waits.
const migratePoll = 100 * time.Millisecond

// placementState is the part of WALKER.PLACEMENT's JSON (walkerd/placement
// State) that migrate reads.
type placementState struct {
	Epoch uint64 `json:"epoch"`
	Slots []struct {
		Start uint16 `json:"start"`
		End   uint16 `json:"end"`
		Group string `json:"group"`
	} `json:"slots"`
	Moves []placementMove `json:"moves"`
}

// placementMove is one slot migration under way.
type placementMove struct {
	Slot  uint16 `json:"slot"`
	From  string `json:"from"`
	To    string `json:"to"`
	Phase string `json:"phase"` // "copy", then "drop"
	Epoch uint64 `json:"epoch"` // the state's epoch after the move was recorded
}

// owner is the group that owns slot in the state, "" if none does.
func (st *placementState) owner(slot uint16) string {
	for _, r := range st.Slots {
		if r.Start <= slot && slot <= r.End {
			return r.Group
		}
	}
	return ""
}

// move is the state's move of slot, nil if none is under way.
func (st *placementState) move(slot uint16) *placementMove {
	for i := range st.Moves {
		if st.Moves[i].Slot == slot {
			return &st.Moves[i]
		}
	}
	return nil
}

// migrateResult is what migrate prints.
type migrateResult struct {
	Slot  uint16  `json:"slot"`
	From  string  `json:"from"` // "" when unknown
	To    string  `json:"to"`
	Done  bool    `json:"done"`
	Epoch *uint64 `json:"epoch,omitempty"` // the placement epoch at which the move was seen over
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
	n, err := strconv.ParseUint(slotArg, 10, 16)
	if err != nil || n >= slotCount {
		return &usageError{msg: fmt.Sprintf("slot %q: want a hash slot, 0-%d", slotArg, slotCount-1), command: "walkerctl migrate"}
	}
	if group == "" {
		return &usageError{msg: "GROUP is empty", command: "walkerctl migrate"}
	}
	wait := c.Duration("wait-timeout")
	if wait <= 0 {
		return &usageError{msg: "--wait-timeout must be positive", command: "walkerctl migrate"}
	}
	slot := uint16(n)
	res := migrateResult{Slot: slot, To: group}

	cl, err := o.anyNode()
	if err != nil {
		return err
	}
	// The owner before the move, for the report: best effort, the
	// node's own answer to WALKER.MIGRATE says what is wrong, if anything.
	st, err := readPlacement(cl)
	var ue *unreachableError
	if errors.As(err, &ue) {
		cl.close()
		return err
	}
	if err == nil {
		res.From = st.owner(slot)
	}
	_, err = cl.do("WALKER.MIGRATE", strconv.Itoa(int(slot)), group)
	cl.close()
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
		_, err = fmt.Fprintf(o.stdout, "slot %d: %s -> %s started\n", slot, from, group)
		return err
	}
	_, err = fmt.Fprintf(o.stdout, "slot %d: %s -> %s done (epoch %d)\n", slot, from, group, *res.Epoch)
	return err
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

// waitMigrated reads the placement state from the first node of --addr
// that answers, every migratePoll, until it shows no move of res.Slot and
// res.To owning it; it then sets res.Done, res.Epoch and, once seen in a
// move, res.From. A wrong or missing password ends the wait at once, as
// does a move that ended with another owner; other errors are retried
// until wait has passed (migrateTimeoutError).
func waitMigrated(o *opts, res *migrateResult, wait time.Duration) error {
	deadline := time.Now().Add(wait)
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
			m, owner := st.move(res.Slot), st.owner(res.Slot)
			switch {
			case m != nil && m.To == res.To:
				seen = m
				res.From = m.From
			case m == nil && owner == res.To:
				res.Done, res.Epoch = true, &st.Epoch
				return nil
			case m == nil && seen != nil && st.Epoch > seen.Epoch:
				// The move we saw is over, yet the slot is not ours: not
				// a node lagging behind the MOVE (its epoch would be
				// older), the move ended another way.
				return fmt.Errorf("slot %d: the move to %s ended with the slot owned by %s (placement epoch %d)",
					res.Slot, res.To, orDash(owner), st.Epoch)
			}
			// Else the node has not applied the move yet, or shows an
			// older move of the slot elsewhere: wait.
		}
		if time.Now().Add(migratePoll).After(deadline) {
			return &migrateTimeoutError{slot: res.Slot, to: res.To, wait: wait, state: last, err: err}
		}
		select {
		case <-o.ctx.Done():
			return o.ctx.Err()
		case <-time.After(migratePoll):
		}
	}
}

// migrateTimeoutError: the move was not seen over within --wait-timeout.
// It says where the move stood in the last placement state read; with none
// read, its exit code is the last error's (3 for an unreachable node).
type migrateTimeoutError struct {
	slot  uint16
	to    string
	wait  time.Duration
	state *placementState // the last state read, nil if none
	err   error           // the last poll's error, nil if it succeeded
}

func (e *migrateTimeoutError) Error() string {
	head := fmt.Sprintf("slot %d: the move to %s was not over within %v", e.slot, e.to, e.wait)
	var where string
	switch st := e.state; {
	case st == nil:
		where = "the placement state could not be read"
	case st.move(e.slot) != nil:
		m := st.move(e.slot)
		where = fmt.Sprintf("it was in phase %s (%s -> %s, placement epoch %d)", m.Phase, m.From, m.To, st.Epoch)
		if m.To != e.to {
			where = fmt.Sprintf("the node still shows an earlier move in phase %s (%s -> %s, placement epoch %d)", m.Phase, m.From, m.To, st.Epoch)
		}
	default:
		where = fmt.Sprintf("the node shows no move of the slot yet, and %s owns it (placement epoch %d)", orDash(st.owner(e.slot)), st.Epoch)
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
