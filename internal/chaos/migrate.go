package chaos

import (
	"encoding/json"
	"errors"
	"fmt"
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
	i, ok := ns.pick(ns.live())
	if !ok {
		return nil, errors.New("no live node")
	}
	via := ns.C.Nodes[i]
	v, err := via.Do(5*time.Second, "RANDOMKEY")
	if err != nil || v.Kind != '$' || v.Null {
		return nil, fmt.Errorf("RANDOMKEY on %s: %v %q", via.ID, err, v.Str)
	}
	slot := keyspace.Slot(v.Str)
	st, err := placementOn(via)
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
	f.Detail = fmt.Sprintf("slot %d (key %q) %s -> %s", slot, v.Str, from, to)
	v, err = via.Do(10*time.Second, "WALKER.MIGRATE", fmt.Sprint(slot), to)
	if err == nil && v.Kind == '-' {
		err = errors.New(string(v.Str))
	}
	if err != nil {
		return nil, fmt.Errorf("WALKER.MIGRATE %d %s via %s: %w", slot, to, via.ID, err)
	}
	return func() error {
		deadline := time.Now().Add(migrateHeal)
		for {
			last := errors.New("no live node answers")
			for _, j := range ns.live() {
				st, err := placementOn(ns.C.Nodes[j])
				switch {
				case err != nil:
					last = err
					continue
				case st.moving(slot):
					last = fmt.Errorf("slot %d still moving (%s's copy)", slot, ns.C.Nodes[j].ID)
				case st.owner(slot) != to:
					last = fmt.Errorf("slot %d is %s's after its move to %s", slot, st.owner(slot), to)
				default:
					last = nil
				}
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
	}, nil
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
