package shard

import (
	"math"
	"sync"
	"sync/atomic"

	"github.com/walkerdb/walkerdb/walkerd/placement"
)

// Routing is the slot -> group table a node sends commands by: its
// Layout until the placement group has a map, then the placement state's
// slots as the node's own copy holds them (walkerd/shard/DESIGN.md,
// "Routing"). A copy that lags costs a retry, never a wrong answer: each
// group refuses, at apply and after a read's barrier, a slot it does not
// serve (walkerd/command/owner.go), and the server then routes the command
// again by a fresher table.
//
// The table is rebuilt when the placement state may have changed, which
// generation (command.PlacementGeneration) tells at the cost of one atomic
// load a lookup. Safe for concurrent use.
type Routing struct {
	layout     Layout
	state      func() (*placement.State, error) // nil: the layout only
	generation func() uint64
	mu         sync.Mutex // one rebuild at a time
	cur        atomic.Pointer[table]
}

// table is one version of the routing table.
type table struct {
	gen    uint64
	epoch  uint64        // the placement epoch it was built from; 0: the layout
	moved  uint64        // how many rebuilds sent a slot to another group
	of     [Slots]uint16 // slot -> group index
	ranges [][]Range     // by group index
}

// NewRouting returns the table of layout l, following the placement
// state (read through state, rebuilt whenever generation changes) once
// state has a map; state nil: l alone.
func NewRouting(l Layout, state func() (*placement.State, error), generation func() uint64) *Routing {
	r := &Routing{layout: l, state: state, generation: generation}
	t := &table{ranges: l.Ranges}
	if state != nil {
		// No generation yet: the first lookup reads the state, which a
		// restarted node has on disk with no change applied since.
		t.gen = math.MaxUint64
	}
	for s := range Slots {
		t.of[s] = l.of[s]
	}
	r.cur.Store(t)
	return r
}

// GroupOf is the index of the group slot is routed to.
func (r *Routing) GroupOf(slot uint16) int { return int(r.table().of[slot%Slots]) }

// Ranges lists the slot ranges routed to group i, in slot order.
func (r *Routing) Ranges(i int) []Range {
	if t := r.table(); i >= 0 && i < len(t.ranges) {
		return t.ranges[i]
	}
	return nil
}

// Epoch is the placement epoch the table was built from; 0 while it is
// the layout.
func (r *Routing) Epoch() uint64 { return r.table().epoch }

// Moved counts the rebuilds of the table that sent some slot to another
// group: a change tells that a command waiting on a key (BLPOP) may have to
// go elsewhere.
func (r *Routing) Moved() uint64 { return r.table().moved }

// Layout is the fixed layout the table starts from: the groups' ids.
func (r *Routing) Layout() Layout { return r.layout }

// table returns the current table, rebuilt first when the placement
// state may have changed since it was built.
func (r *Routing) table() *table {
	t := r.cur.Load()
	if r.state == nil || r.generation() == t.gen {
		return t
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if t = r.cur.Load(); r.generation() == t.gen {
		return t
	}
	gen := r.generation() // before the read: a change after it makes the next lookup rebuild again
	st, err := r.state()
	if err != nil || st.Epoch == 0 || st.Epoch == t.epoch {
		next := *t
		next.gen = gen
		if err != nil {
			next.gen = t.gen // try again on the next lookup
		}
		r.cur.Store(&next)
		return &next
	}
	next := &table{gen: gen, epoch: st.Epoch}
	for s := range Slots {
		next.of[s] = t.of[s] // a slot the state does not name stays where it was
	}
	for _, sr := range st.Slots {
		i := GroupIndex(sr.Group)
		if i < 0 {
			continue
		}
		for s := int(sr.Start); s <= int(sr.End); s++ {
			next.of[s] = uint16(i)
		}
	}
	next.moved = t.moved
	if next.of != t.of {
		next.moved++
	}
	for s := 0; s < Slots; {
		e := s
		for e+1 < Slots && next.of[e+1] == next.of[s] {
			e++
		}
		i := int(next.of[s])
		for len(next.ranges) <= i {
			next.ranges = append(next.ranges, nil)
		}
		next.ranges[i] = append(next.ranges[i], Range{Start: uint16(s), End: uint16(e)})
		s = e + 1
	}
	r.cur.Store(next)
	return next
}
