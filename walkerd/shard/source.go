package shard

import (
	"fmt"
	"strconv"

	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/placement"
)

// Source is where the RESP front reads the slot map in cluster mode
// (walkerd --cluster-mode yes). Its methods are called from many
// connection goroutines at once.
type Source interface {
	// Self is this node's WalkerDB id.
	Self() string
	// Map returns the slot map as this node knows it now.
	Map() (*Map, error)
	// Route says how this node serves slot; it is asked once per command
	// that names keys, and must be cheap on the node that leads the slot.
	Route(slot uint16) Route
}

// Route is how a node serves one slot.
type Route struct {
	// Leads: this node leads the slot's group; the command runs here.
	Leads bool
	// Member: this node holds the slot's group, so a READONLY client's
	// read may run here, at the stale level, as a Redis replica serves it.
	Member bool
	// Addr is the RESP address of the slot's leader, for -MOVED; "" when
	// no leader is known or no group owns the slot.
	Addr string
	// Served is false when no group owns the slot (CLUSTERDOWN Hash slot
	// not served).
	Served bool
}

// RaftGroup is what Single reads of the one Raft group: store.Store
// implements it.
type RaftGroup interface {
	// IsLeader reports whether this node leads the group.
	IsLeader() bool
	// Leader names the leader; ok is false while none is known.
	Leader() (m backend.Member, ok bool, err error)
	// Members lists the group's configuration with RESP addresses.
	Members() ([]backend.Member, error)
	// Term is the current Raft term.
	Term() uint64
}

// MaxGroups bounds a data group's number: group g<N> has index N-1 in a
// node's tables, and a slot's group index is a uint16. Ids are never
// reused, so it bounds the groups a cluster makes over its life (each
// split makes one): 65,535.
const MaxGroups = 1<<16 - 1

// GroupIndex is the index of data group id "g<N>" in a node's tables
// (N-1), -1 for an id that is not one (placement.GroupNumber) or is past
// MaxGroups. Indexes are stable: a group keeps the index of its id from
// the layout or the GROUP ADD that made it until it is dropped, and no
// later group takes it, since ids are never reused.
func GroupIndex(id string) int {
	n := placement.GroupNumber(id)
	if n < 1 || n > MaxGroups {
		return -1
	}
	return n - 1
}

// GroupID is the id of the data group at index i: "g<i+1>".
func GroupID(i int) string { return "g" + strconv.Itoa(i+1) }

// Layout is how the slots are split among the groups of a cluster whose
// groups never change (walkerd --groups N): group i owns Ranges[i]. It is
// the same on every node, so every node computes the same map.
type Layout struct {
	IDs    []string  // "g1".."gN"
	Ranges [][]Range // by group
	of     []uint16  // slot -> group index, Slots entries
}

// Split is the layout of n groups (1 <= n <= 255): each owns one range of
// consecutive slots, the first n-1 of Slots/n slots (rounded down), the
// last the rest, as redis-cli --cluster create splits slots among masters.
func Split(n int) Layout {
	n = max(1, min(n, 255))
	l := Layout{of: make([]uint16, Slots)}
	per := Slots / n
	for i := range n {
		start, end := i*per, (i+1)*per-1
		if i == n-1 {
			end = Slots - 1
		}
		l.IDs = append(l.IDs, "g"+strconv.Itoa(i+1))
		l.Ranges = append(l.Ranges, []Range{{Start: uint16(start), End: uint16(end)}})
		for s := start; s <= end; s++ {
			l.of[s] = uint16(i)
		}
	}
	return l
}

// GroupOf is the index of the group that owns slot.
func (l Layout) GroupOf(slot uint16) int { return int(l.of[slot%Slots]) }

// Owner is group i's slots as command.SetOwner takes them: what the group
// serves until a migration moves a slot.
func (l Layout) Owner(i int) func(slot uint16) bool {
	return func(slot uint16) bool { return l.GroupOf(slot) == i }
}

// Static is the slot map of a cluster whose groups own fixed slots (a
// Layout): each group's members, leader and epoch are its own Raft
// configuration's and term's.
type Static struct {
	self    string
	layout  Layout
	routing *Routing
	groups  func() []RaftGroup // by group index (GroupIndex); nil: not run here
	place   func() (*placement.State, error)
}

// WithPlacement makes the map's epochs and liveness the placement group's
// (walkerd/placement), read through state on every Map: the map's Epoch is
// the state's, a group's Epoch is the one the state recorded with its
// leader (the state's newest while a new leader is not yet on record), and
// a node the state marks down is Down. Until the state has its first map
// (epoch 0), or when state fails, Map is as without it.
func (s *Static) WithPlacement(state func() (*placement.State, error)) *Static {
	s.place = state
	return s
}

// NewStatic returns the Source of the groups gs (by layout index), seen
// from node self.
func NewStatic(self string, l Layout, gs []RaftGroup) *Static {
	return &Static{self: self, layout: l, routing: NewRouting(l, nil, nil), groups: func() []RaftGroup { return gs }}
}

// WithGroups makes the groups the node runs those list returns, by group
// index (GroupIndex), nil where it runs none: the groups made and dropped
// at run time (GROUP ADD and DROP) as well as the layout's.
func (s *Static) WithGroups(list func() []RaftGroup) *Static {
	s.groups = list
	return s
}

// WithRouting makes r the slot -> group table (the placement state's
// slots once it has a map) in place of the layout's.
func (s *Static) WithRouting(r *Routing) *Static {
	s.routing = r
	return s
}

// NewSingle returns the Source of a cluster that is one Raft group, g:
// every slot belongs to it, and its leader serves them all.
func NewSingle(self string, g RaftGroup) *Static { return NewStatic(self, Split(1), []RaftGroup{g}) }

// Self implements Source.
func (s *Static) Self() string { return s.self }

// Route implements Source: the slot's group's leader leads it; any other
// member points at that leader.
func (s *Static) Route(slot uint16) Route {
	gs, i := s.groups(), s.routing.GroupOf(slot)
	if i >= len(gs) || gs[i] == nil {
		return Route{} // a group this node does not run (yet)
	}
	g := gs[i]
	if g.IsLeader() {
		return Route{Leads: true, Member: true, Served: true}
	}
	r := Route{Member: true, Served: true}
	if m, ok, err := g.Leader(); err == nil && ok {
		r.Addr = m.RESPAddr
	}
	return r
}

// Map implements Source: per group, its routed slots, the members of its
// Raft configuration, and its Raft term as its epoch; the map's epoch is
// the largest.
func (s *Static) Map() (*Map, error) {
	m := &Map{}
	for i, rg := range s.groups() {
		if rg == nil {
			continue
		}
		ms, err := rg.Members()
		if err != nil {
			return nil, fmt.Errorf("shard: members of %s: %w", GroupID(i), err)
		}
		g := Group{ID: GroupID(i), Ranges: s.routing.Ranges(i), Epoch: rg.Term()}
		for _, mb := range ms {
			_, bus := SplitAddr(mb.RaftAddr)
			g.Members = append(g.Members, Node{ID: mb.ID, Addr: mb.RESPAddr, BusPort: bus})
			if mb.Role == "leader" {
				g.Leader = mb.ID
			}
		}
		m.Epoch = max(m.Epoch, g.Epoch)
		m.Groups = append(m.Groups, g)
	}
	if s.place != nil {
		if st, err := s.place(); err == nil && st.Epoch > 0 {
			placed(m, st)
		}
	}
	return m, nil
}

// placed takes m's epochs and liveness from the placement state st.
func placed(m *Map, st *placement.State) {
	m.Epoch = st.Epoch
	for i := range m.Groups {
		g := &m.Groups[i]
		g.Epoch = st.Epoch
		if pg := st.Group(g.ID); pg != nil && pg.Leader == g.Leader {
			g.Epoch = pg.Epoch
		}
		for j := range g.Members {
			if n := st.Node(g.Members[j].ID); n != nil && !n.Up {
				g.Members[j].Down = true
			}
		}
	}
}
