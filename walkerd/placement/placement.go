// Package placement is the state of WalkerDB's placement group: the Raft
// group that records which group owns each hash slot, which nodes hold and
// lead each group, and which nodes are up (TinyKV's scheduler and TiKV's
// PD, small; walkerd/shard/DESIGN.md, "The placement group").
//
// The state is one value, kept under one internal key of the placement
// group's engine (keyspace.PlacementKey) and changed only by the internal
// command WALKER.PLACE, so every change is one Raft log entry, applied
// alike on every member:
//
//	WALKER.PLACE INIT <group> <start> <end> [<group> <start> <end> ...]
//	        the first map: each group owns start..end (slots, both
//	        included); refused once the state has an epoch
//	WALKER.PLACE NODE <id> <raft-addr> <resp-addr>
//	        a node and the addresses it is reached at (up)
//	WALKER.PLACE LEADER <group> <node> <term> [<member> ...]
//	        the group's leader and Raft configuration, as that leader saw
//	        them in term; a report from an older term than the recorded one
//	        changes nothing
//	WALKER.PLACE DOWN <id> | UP <id>
//	        the placement leader's heartbeats to the node failed for 10 s,
//	        or resumed
//	WALKER.PLACE FORGET <id>
//	        the node left (LEAVE): it is in no group's members any more
//
// Each WALKER.PLACE that changes the state adds one to Epoch, and one that
// changes nothing leaves it (it answers 0), so reporters may repeat
// themselves. Epoch is Redis Cluster's currentEpoch and a group's Epoch
// its master's configEpoch (the epoch of the change that recorded its
// leader): one Raft log orders every change, so no two configurations
// share an epoch and there is no gossip to reconcile.
//
// Encoded as JSON (encoding/json): the state is a few KB (slots are kept
// as ranges), written only when the map changes, and readable by hand in
// walkerdump's output.
//
//	{"epoch":7,
//	 "slots":[{"start":0,"end":5460,"group":"g1"}, ...],
//	 "groups":[{"id":"g1","leader":"n1","term":3,"epoch":5,"members":["n1","n2","n3"]}, ...],
//	 "nodes":[{"id":"n1","raft":"127.0.0.1:7001","resp":"127.0.0.1:6379","up":true}, ...]}
package placement

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Slots is the number of hash slots (Redis Cluster's CLUSTER_SLOTS).
const Slots = 16384

// State is the placement group's state.
type State struct {
	// Epoch counts the changes applied: 0 before INIT.
	Epoch uint64 `json:"epoch"`
	// Slots are the owned slot ranges, sorted by Start, disjoint.
	Slots []SlotRange `json:"slots"`
	// Groups are sorted by ID.
	Groups []Group `json:"groups"`
	// Nodes are sorted by ID.
	Nodes []Node `json:"nodes"`
}

// SlotRange is the slots Start..End (both included) owned by Group.
type SlotRange struct {
	Start uint16 `json:"start"`
	End   uint16 `json:"end"`
	Group string `json:"group"`
}

// Group is one data group as its leaders reported it.
type Group struct {
	ID string `json:"id"`
	// Leader is the node id of the leader last reported, "" before any.
	Leader string `json:"leader"`
	// Term is the Raft term of that report.
	Term uint64 `json:"term"`
	// Epoch is the state's epoch after the report that recorded Leader.
	Epoch uint64 `json:"epoch"`
	// Members are the node ids of the group's Raft configuration, sorted.
	Members []string `json:"members"`
}

// Node is one WalkerDB node.
type Node struct {
	ID   string `json:"id"`
	Raft string `json:"raft"`
	RESP string `json:"resp"`
	// Up is false while the placement leader's heartbeats to it fail.
	Up bool `json:"up"`
}

// Decode reads a state written by Encode; empty input is the empty state.
func Decode(b []byte) (*State, error) {
	s := &State{}
	if len(b) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("placement: %w", err)
	}
	return s, nil
}

// Encode writes the state.
func (s *State) Encode() []byte {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // only plain fields: cannot fail
	}
	return b
}

// Errors of Apply: the internal command's arguments are malformed. The
// reporters build them, so they mean a bug, not a user's mistake.
var (
	ErrSyntax      = errors.New("ERR syntax error in WALKER.PLACE")
	ErrInitialized = errors.New("ERR the placement state is already initialized")
	ErrSlots       = errors.New("ERR WALKER.PLACE INIT: slot ranges must be 0-16383, ordered and disjoint")
)

// Apply carries out one WALKER.PLACE (args without the command's name)
// and reports whether it changed the state; a change adds one to Epoch.
// On error the state is unchanged.
func (s *State) Apply(args [][]byte) (changed bool, err error) {
	if len(args) == 0 {
		return false, ErrSyntax
	}
	a := make([]string, len(args)-1)
	for i, b := range args[1:] {
		a[i] = string(b)
	}
	switch strings.ToUpper(string(args[0])) {
	case "INIT":
		return s.init(a)
	case "NODE":
		if len(a) != 3 {
			return false, ErrSyntax
		}
		return s.node(a[0], a[1], a[2]), nil
	case "LEADER":
		if len(a) < 3 {
			return false, ErrSyntax
		}
		term, err := strconv.ParseUint(a[2], 10, 64)
		if err != nil {
			return false, ErrSyntax
		}
		return s.leader(a[0], a[1], term, a[3:]), nil
	case "DOWN", "UP":
		if len(a) != 1 {
			return false, ErrSyntax
		}
		return s.live(a[0], strings.EqualFold(string(args[0]), "up")), nil
	case "FORGET":
		if len(a) != 1 {
			return false, ErrSyntax
		}
		return s.forget(a[0]), nil
	}
	return false, ErrSyntax
}

func (s *State) init(a []string) (bool, error) {
	if s.Epoch != 0 {
		return false, ErrInitialized
	}
	if len(a) == 0 || len(a)%3 != 0 {
		return false, ErrSyntax
	}
	var ranges []SlotRange
	next := 0
	for i := 0; i < len(a); i += 3 {
		start, err1 := strconv.Atoi(a[i+1])
		end, err2 := strconv.Atoi(a[i+2])
		if err1 != nil || err2 != nil || a[i] == "" {
			return false, ErrSyntax
		}
		if start < next || end < start || end >= Slots {
			return false, ErrSlots
		}
		next = end + 1
		ranges = append(ranges, SlotRange{Start: uint16(start), End: uint16(end), Group: a[i]})
	}
	s.Slots = ranges
	for _, r := range ranges {
		s.group(r.Group)
	}
	s.Epoch = 1
	return true, nil
}

// group returns the group named id, added if new.
func (s *State) group(id string) *Group {
	i, ok := slices.BinarySearchFunc(s.Groups, id, func(g Group, id string) int { return strings.Compare(g.ID, id) })
	if !ok {
		s.Groups = slices.Insert(s.Groups, i, Group{ID: id})
	}
	return &s.Groups[i]
}

// nodeAt returns the index of node id, added if new (down, no addresses).
func (s *State) nodeAt(id string) int {
	i, ok := s.nodeIndex(id)
	if !ok {
		s.Nodes = slices.Insert(s.Nodes, i, Node{ID: id})
	}
	return i
}

func (s *State) node(id, raft, resp string) bool {
	i := s.nodeAt(id)
	n := &s.Nodes[i]
	if n.Raft == raft && n.RESP == resp && n.Up {
		return false
	}
	n.Raft, n.RESP, n.Up = raft, resp, true
	s.Epoch++
	return true
}

func (s *State) leader(group, node string, term uint64, members []string) bool {
	if i, ok := s.groupIndex(group); ok && term < s.Groups[i].Term {
		return false // a deposed leader's late report
	}
	g := s.group(group)
	members = slices.Clone(members)
	slices.Sort(members)
	members = slices.Compact(members)
	if g.Leader == node && g.Term == term && slices.Equal(g.Members, members) {
		return false
	}
	s.Epoch++
	if g.Leader != node || g.Term != term {
		g.Epoch = s.Epoch
	}
	g.Leader, g.Term, g.Members = node, term, members
	return true
}

func (s *State) live(id string, up bool) bool {
	i, ok := s.nodeIndex(id)
	if !ok || s.Nodes[i].Up == up {
		return false
	}
	s.Nodes[i].Up = up
	s.Epoch++
	return true
}

// forget drops node id, and refuses (no change) while a group still lists
// it among its members.
func (s *State) forget(id string) bool {
	i, ok := s.nodeIndex(id)
	if !ok || s.Member(id) {
		return false
	}
	s.Nodes = slices.Delete(s.Nodes, i, i+1)
	s.Epoch++
	return true
}

// Member reports whether some group lists node id among its members.
func (s *State) Member(id string) bool {
	for _, g := range s.Groups {
		if slices.Contains(g.Members, id) {
			return true
		}
	}
	return false
}

// nodeIndex finds node id in the sorted Nodes: its index, or where it
// would go.
func (s *State) nodeIndex(id string) (int, bool) {
	return slices.BinarySearchFunc(s.Nodes, id, func(n Node, id string) int { return strings.Compare(n.ID, id) })
}

func (s *State) groupIndex(id string) (int, bool) {
	return slices.BinarySearchFunc(s.Groups, id, func(g Group, id string) int { return strings.Compare(g.ID, id) })
}

// Group returns the group named id, or nil.
func (s *State) Group(id string) *Group {
	if i, ok := s.groupIndex(id); ok {
		return &s.Groups[i]
	}
	return nil
}

// Node returns the node named id, or nil.
func (s *State) Node(id string) *Node {
	i, ok := s.nodeIndex(id)
	if ok {
		return &s.Nodes[i]
	}
	return nil
}

// Ranges lists the slot ranges group id owns, in slot order.
func (s *State) Ranges(id string) []SlotRange {
	var out []SlotRange
	for _, r := range s.Slots {
		if r.Group == id {
			out = append(out, r)
		}
	}
	return out
}

// Owner returns the group that owns slot, "" when none does.
func (s *State) Owner(slot uint16) string {
	i, _ := slices.BinarySearchFunc(s.Slots, slot, func(r SlotRange, slot uint16) int {
		switch {
		case r.End < slot:
			return -1
		case r.Start > slot:
			return 1
		}
		return 0
	})
	if i < len(s.Slots) && s.Slots[i].Start <= slot && slot <= s.Slots[i].End {
		return s.Slots[i].Group
	}
	return ""
}
