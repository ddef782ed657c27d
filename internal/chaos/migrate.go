package chaos

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// startMigrate moves the hash slot of a key the workloads wrote to another
// Raft group (WALKER.MIGRATE, on a node started with --groups), and heals
// once the move is over: the fault is the move itself, with the workloads
// running through it and, combined with a network fault, the driver and
// the groups' leaders cut off or killed mid-way (walkerd/migrate.go; the
// move resumes from the logs). A move not over within migrateHeal fails
// the heal.
//
// It is a process-class fault so that it combines with network faults.
func startMigrate(ns *Nemeses, f *Fault) (func() error, error) {
	via, key, slot, st, err := randomSlot(ns)
	if err != nil {
		return nil, err
	}
	from := st.owner(slot)
	var others []string
	for _, g := range st.Groups {
		if g.ID != from {
			others = append(others, g.ID)
		}
	}
	if len(others) == 0 {
		return nil, errors.New("one group: no slot can move (walkerd --groups)")
	}
	to := others[ns.Rand.IntN(len(others))]
	f.Targets = []string{via.ID}
	f.Detail = fmt.Sprintf("slot %d (key %q) %s -> %s", slot, key, from, to)
	v, err := via.Do(10*time.Second, "WALKER.MIGRATE", fmt.Sprint(slot), to)
	if err == nil && v.Kind == '-' {
		err = errors.New(string(v.Str))
	}
	if err != nil {
		return nil, fmt.Errorf("WALKER.MIGRATE %d %s via %s: %w", slot, to, via.ID, err)
	}
	return func() error { return awaitOwner(ns, slot, to) }, nil
}

// randomSlot picks a live node and the slot of a key the workloads wrote
// (RANDOMKEY there), with that node's copy of the placement state.
func randomSlot(ns *Nemeses) (via *Node, key []byte, slot uint16, st *placementState, err error) {
	i, ok := ns.pick(ns.live())
	if !ok {
		return nil, nil, 0, nil, errors.New("no live node")
	}
	via = ns.C.Nodes[i]
	v, err := via.Do(5*time.Second, "RANDOMKEY")
	if err != nil || v.Kind != '$' || v.Null {
		return nil, nil, 0, nil, fmt.Errorf("RANDOMKEY on %s: %v %q", via.ID, err, v.Str)
	}
	st, err = placementOn(via)
	return via, v.Str, keyspace.Slot(v.Str), st, err
}

// awaitOwner waits, up to migrateHeal, until a live node's copy of the
// placement state has slot owned by group with no move of it left.
func awaitOwner(ns *Nemeses, slot uint16, group string) error {
	return awaitState(ns, func(id string, st *placementState) error {
		switch {
		case st.moving(slot):
			return fmt.Errorf("slot %d still moving (%s's copy)", slot, id)
		case st.owner(slot) != group:
			return fmt.Errorf("slot %d is %s's after its move to %s", slot, st.owner(slot), group)
		}
		return nil
	})
}

// awaitState waits, up to migrateHeal, until the copy of the placement
// state of the first live node that answers passes check.
func awaitState(ns *Nemeses, check func(id string, st *placementState) error) error {
	deadline := time.Now().Add(migrateHeal)
	for {
		last := errors.New("no live node answers")
		for _, j := range ns.live() {
			st, err := placementOn(ns.C.Nodes[j])
			if err != nil {
				last = err
				continue
			}
			last = check(ns.C.Nodes[j].ID, st)
			break
		}
		if last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return last
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startRegroup splits and merges a group while the workloads run: it
// makes a new group on the members of the group that owns the slot of a
// key the workloads wrote (WALKER.GROUP ADD LIKE, walkerd/nodegroups.go)
// and moves that slot into it; the heal moves the slot back, drops the
// new group (WALKER.GROUP DROP: every member closes it and deletes its
// directories) and waits until the placement state records the drop. The
// group opens, elects, takes the slot and ends under whatever network or
// process fault runs beside it. Each stage has migrateHeal to finish.
func startRegroup(ns *Nemeses, f *Fault) (func() error, error) {
	via, key, slot, st, err := randomSlot(ns)
	if err != nil {
		return nil, err
	}
	from := st.owner(slot)
	v, err := via.Do(10*time.Second, "WALKER.GROUP", "ADD", "LIKE", from)
	if err == nil && v.Kind != '$' {
		err = errors.New(string(v.Str))
	}
	if err != nil {
		return nil, fmt.Errorf("WALKER.GROUP ADD LIKE %s via %s: %w", from, via.ID, err)
	}
	made := string(v.Str)
	f.Targets = []string{via.ID}
	f.Detail = fmt.Sprintf("slot %d (key %q) %s -> new group %s, back, %s dropped", slot, key, from, made, made)
	if err := doOK(ns, "WALKER.MIGRATE", fmt.Sprint(slot), made); err != nil {
		return nil, err
	}
	return func() error {
		if err := awaitOwner(ns, slot, made); err != nil {
			return err
		}
		if err := doOK(ns, "WALKER.MIGRATE", fmt.Sprint(slot), from); err != nil {
			return err
		}
		if err := awaitOwner(ns, slot, from); err != nil {
			return err
		}
		if err := doOK(ns, "WALKER.GROUP", "DROP", made); err != nil {
			return err
		}
		// A node's copy of the placement state shows the drop a moment
		// after its leader answered.
		return awaitState(ns, func(id string, st *placementState) error {
			if !slices.Contains(st.Dropped, made) {
				return fmt.Errorf("%s's placement state does not list %s as dropped after its DROP", id, made)
			}
			return nil
		})
	}, nil
}

// doOK sends a command to a live node until one answers anything but an
// error (a group without a leader for a moment, a node cut off), for up
// to migrateHeal.
func doOK(ns *Nemeses, args ...string) error {
	deadline := time.Now().Add(migrateHeal)
	for {
		var last error = errors.New("no live node")
		for _, j := range ns.live() {
			v, err := ns.C.Nodes[j].Do(10*time.Second, args...)
			if err == nil && v.Kind == '-' {
				err = errors.New(string(v.Str))
			}
			if err == nil {
				return nil
			}
			last = fmt.Errorf("%s via %s: %w", strings.Join(args, " "), ns.C.Nodes[j].ID, err)
		}
		if time.Now().After(deadline) {
			return last
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// migrateHeal bounds the wait for a move to end.
const migrateHeal = 90 * time.Second

// placementState is what the nemesis reads of WALKER.PLACEMENT's JSON
// (walkerd/placement.State).
type placementState struct {
	Slots []struct {
		Start, End uint16
		Group      string
	} `json:"slots"`
	Groups []struct {
		ID string `json:"id"`
	} `json:"groups"`
	Moves []struct {
		Slot uint16 `json:"slot"`
	} `json:"moves"`
	Dropped []string `json:"dropped"`
}

func placementOn(n *Node) (*placementState, error) {
	v, err := n.Do(5*time.Second, "WALKER.PLACEMENT")
	if err == nil && v.Kind != '$' {
		err = fmt.Errorf("%q", v.Str)
	}
	if err != nil {
		return nil, fmt.Errorf("WALKER.PLACEMENT on %s: %w", n.ID, err)
	}
	st := &placementState{}
	return st, json.Unmarshal(v.Str, st)
}

func (st *placementState) owner(slot uint16) string {
	for _, r := range st.Slots {
		if r.Start <= slot && slot <= r.End {
			return r.Group
		}
	}
	return ""
}

func (st *placementState) moving(slot uint16) bool {
	for _, m := range st.Moves {
		if m.Slot == slot {
			return true
		}
	}
	return false
}
