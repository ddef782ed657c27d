package shard

import (
	"fmt"

	"github.com/walkerdb/walkerdb/walkerd/backend"
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

// SingleGroup is the id of the one group of a cluster that Single maps.
const SingleGroup = "g1"

// Single is the slot map of a cluster that is one Raft group: every slot
// belongs to it, and its leader serves them all.
type Single struct {
	self string
	g    RaftGroup
}

// NewSingle returns the Source of the one Raft group g, seen from node
// self.
func NewSingle(self string, g RaftGroup) *Single { return &Single{self: self, g: g} }

// Self implements Source.
func (s *Single) Self() string { return s.self }

// Route implements Source: the leader leads every slot; any other member
// points at it.
func (s *Single) Route(slot uint16) Route {
	if s.g.IsLeader() {
		return Route{Leads: true, Member: true, Served: true}
	}
	r := Route{Member: true, Served: true}
	if m, ok, err := s.g.Leader(); err == nil && ok {
		r.Addr = m.RESPAddr
	}
	return r
}

// Map implements Source: one group, "g1", owning slots 0-16383, whose
// members are the Raft configuration's and whose epoch is the Raft term.
func (s *Single) Map() (*Map, error) {
	ms, err := s.g.Members()
	if err != nil {
		return nil, fmt.Errorf("shard: members: %w", err)
	}
	term := s.g.Term()
	g := Group{ID: SingleGroup, Ranges: []Range{{Start: 0, End: Slots - 1}}, Epoch: term}
	for _, m := range ms {
		_, bus := SplitAddr(m.RaftAddr)
		g.Members = append(g.Members, Node{ID: m.ID, Addr: m.RESPAddr, BusPort: bus})
		if m.Role == "leader" {
			g.Leader = m.ID
		}
	}
	return &Map{Epoch: term, Groups: []Group{g}}, nil
}
