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
//	WALKER.PLACE MOVE <slots> <group>
//	        begin moving slots (a slot, or first-last) from their owner to
//	        group (walkerctl migrate, merge, split, rebalance): refused
//	        while one of them moves, when they have several owners, for a
//	        group not in the map, and for their own group
//	WALKER.PLACE OWNER <slots> <group>
//	        group owns slots from now on; the move of slots goes on to its
//	        drop phase (the old owner deletes its copy)
//	WALKER.PLACE DONE <slot>
//	        the move that begins at slot is over
//	WALKER.PLACE GROUP ADD <group> <member> [<member> ...]
//	        a new data group, with those nodes as its first voters and no
//	        slot (walkerctl split): each member opens it, and the first
//	        move into it gives it slots. Refused for a group id that is not
//	        g<N> with N above every group ever recorded (ids are never
//	        reused, so a step meant for an old group cannot land in a new
//	        one), and for a member that is not a known node
//	WALKER.PLACE GROUP DROP <group>
//	        the group ends (walkerctl merge): its members close it and
//	        delete its directories. Refused while it owns a slot or a move
//	        names it, and for g1, every node's home group
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
//	 "nodes":[{"id":"n1","raft":"127.0.0.1:7001","resp":"127.0.0.1:6379","up":true}, ...],
//	 "moves":[{"slot":100,"end":100,"from":"g1","to":"g2","phase":"copy","epoch":8}]}
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
	// Moves are the slot migrations under way, sorted by Slot.
	Moves []Move `json:"moves,omitempty"`
	// Dropped are the groups that ended (GROUP DROP), in the order they
	// did: their members close them, and their ids are never used again.
	Dropped []string `json:"dropped,omitempty"`
}

// Move is the migration of the slots Slot..End between groups
// (walkerd/migrate.go drives it): in PhaseCopy they are still From's;
// OWNER makes them To's and moves on to PhaseDrop, in which From deletes
// its copy; DONE ends it.
type Move struct {
	Slot  uint16 `json:"slot"`
	End   uint16 `json:"end"`
	From  string `json:"from"`
	To    string `json:"to"`
	Phase string `json:"phase"`
	// Epoch is the state's epoch after the MOVE.
	Epoch uint64 `json:"epoch"`
}

// The phases of a Move.
const (
	PhaseCopy = "copy"
	PhaseDrop = "drop"
)

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

// Errors of MOVE, which an operator's command proposes: its reply.
var (
	ErrSlotRange   = errors.New("ERR Invalid or out of range slot")
	ErrNoGroup     = errors.New("ERR no such Raft group in the slot map")
	ErrMoving      = errors.New("ERR the slot is already being migrated")
	ErrOwnGroup    = errors.New("ERR the slot is already served by that group")
	ErrOwners      = errors.New("ERR the slots are served by more than one group: move each group's apart")
	ErrUninitiated = errors.New("ERR the slot map is not initialized yet")
	ErrGroupID     = errors.New("ERR a new group's id must be g<N>, N above every group id ever used")
	ErrNoNode      = errors.New("ERR no such node in the placement state")
	ErrGroupBusy   = errors.New("ERR the group still owns slots, or a move names it")
	ErrHomeGroup   = errors.New("ERR g1 is every node's home group and cannot be dropped")
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
	case "MOVE", "OWNER", "DONE":
		if len(a) < 1 {
			return false, ErrSyntax
		}
		start, end, err := ParseSlots(a[0])
		if err != nil {
			return false, err
		}
		switch op := strings.ToUpper(string(args[0])); {
		case op == "DONE" && len(a) == 1:
			return s.done(start), nil
		case op == "MOVE" && len(a) == 2:
			return s.move(start, end, a[1])
		case op == "OWNER" && len(a) == 2:
			return s.owner(start, end, a[1])
		}
		return false, ErrSyntax
	case "GROUP":
		switch {
		case len(a) >= 3 && strings.EqualFold(a[0], "add"):
			return s.addGroup(a[1], a[2:])
		case len(a) == 2 && strings.EqualFold(a[0], "drop"):
			return s.dropGroup(a[1])
		}
	}
	return false, ErrSyntax
}

// GroupNumber is N of a data group's id "g<N>" (N >= 1), 0 for any other.
func GroupNumber(id string) int {
	x, ok := strings.CutPrefix(id, "g")
	if !ok || x == "" || x[0] == '0' {
		return 0
	}
	n, err := strconv.Atoi(x)
	if err != nil || n < 1 {
		return 0
	}
	return n
}

// LastGroup is the highest N of any group id the state ever recorded
// (g<N>): in the map, among the groups, or dropped.
func (s *State) LastGroup() int {
	n := 0
	for _, g := range s.Groups {
		n = max(n, GroupNumber(g.ID))
	}
	for _, r := range s.Slots {
		n = max(n, GroupNumber(r.Group))
	}
	for _, id := range s.Dropped {
		n = max(n, GroupNumber(id))
	}
	return n
}

// IsDropped reports whether group id ended (GROUP DROP).
func (s *State) IsDropped(id string) bool { return slices.Contains(s.Dropped, id) }

func (s *State) addGroup(id string, members []string) (bool, error) {
	if s.Epoch == 0 {
		return false, ErrUninitiated
	}
	if n := GroupNumber(id); n == 0 || n <= s.LastGroup() {
		return false, ErrGroupID
	}
	for _, m := range members {
		if s.Node(m) == nil {
			return false, ErrNoNode
		}
	}
	members = slices.Clone(members)
	slices.Sort(members)
	g := s.group(id)
	g.Members = slices.Compact(members)
	s.Epoch++
	g.Epoch = s.Epoch
	return true, nil
}

func (s *State) dropGroup(id string) (bool, error) {
	if s.IsDropped(id) {
		return false, nil
	}
	i, ok := s.groupIndex(id)
	switch {
	case !ok:
		return false, ErrNoGroup
	case id == "g1":
		return false, ErrHomeGroup
	case len(s.Ranges(id)) > 0:
		return false, ErrGroupBusy
	}
	for _, m := range s.Moves {
		if m.From == id || m.To == id {
			return false, ErrGroupBusy
		}
	}
	s.Groups = slices.Delete(s.Groups, i, i+1)
	s.Dropped = append(s.Dropped, id)
	s.Epoch++
	return true, nil
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
	if s.IsDropped(group) {
		return false // a member that has not closed it yet
	}
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

// ParseSlots reads a slot ("100") or a range of slots ("100-200", both
// included), each 0..16383, first <= last; else ErrSlotRange.
func ParseSlots(a string) (start, end uint16, err error) {
	lo, hi, isRange := strings.Cut(a, "-")
	if !isRange {
		hi = lo
	}
	x, err1 := strconv.Atoi(lo)
	y, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil || x < 0 || y < x || y >= Slots {
		return 0, 0, ErrSlotRange
	}
	return uint16(x), uint16(y), nil
}

// MoveOf returns the move under way that holds slot, or nil.
func (s *State) MoveOf(slot uint16) *Move {
	i, _ := s.moveIndex(slot)
	if i < len(s.Moves) && s.Moves[i].Slot <= slot && slot <= s.Moves[i].End {
		return &s.Moves[i]
	}
	return nil
}

// moveIndex is the index of the first move that ends at or after slot.
func (s *State) moveIndex(slot uint16) (int, bool) {
	return slices.BinarySearchFunc(s.Moves, slot, func(m Move, slot uint16) int {
		switch {
		case m.End < slot:
			return -1
		case m.Slot > slot:
			return 1
		}
		return 0
	})
}

func (s *State) move(start, end uint16, to string) (bool, error) {
	switch {
	case s.Epoch == 0:
		return false, ErrUninitiated
	case s.Group(to) == nil:
		return false, ErrNoGroup
	}
	from := s.Owner(start)
	for x := int(start); x <= int(end); x++ {
		switch {
		case s.MoveOf(uint16(x)) != nil:
			return false, ErrMoving
		case s.Owner(uint16(x)) != from:
			return false, ErrOwners
		}
	}
	if from == to {
		return false, ErrOwnGroup
	}
	s.Epoch++
	i, _ := s.moveIndex(start)
	s.Moves = slices.Insert(s.Moves, i, Move{Slot: start, End: end, From: from, To: to, Phase: PhaseCopy, Epoch: s.Epoch})
	return true, nil
}

// owner makes group own slots start..end, and the move of exactly those
// slots to it goes on to its drop phase.
func (s *State) owner(start, end uint16, group string) (bool, error) {
	if s.Group(group) == nil {
		return false, ErrNoGroup
	}
	m := s.MoveOf(start)
	if m != nil && (m.Slot != start || m.End != end || m.To != group) {
		m = nil // another move's slots: only the owner changes
	}
	same := true
	for x := int(start); x <= int(end); x++ {
		same = same && s.Owner(uint16(x)) == group
	}
	if same && (m == nil || m.Phase == PhaseDrop) {
		return false, nil
	}
	s.Epoch++
	if m != nil {
		m.Phase = PhaseDrop
	}
	s.Slots = setOwner(s.Slots, start, end, group)
	return true, nil
}

// done ends the move that begins at slot.
func (s *State) done(slot uint16) bool {
	i, ok := s.moveIndex(slot)
	if !ok || s.Moves[i].Slot != slot {
		return false
	}
	s.Moves = slices.Delete(s.Moves, i, i+1)
	s.Epoch++
	return true
}

// setOwner returns ranges with slots start..end owned by group: the
// ranges that held them split around them, neighbours of the same group
// merged.
func setOwner(ranges []SlotRange, start, end uint16, group string) []SlotRange {
	var owner [Slots]string
	for _, r := range ranges {
		for x := int(r.Start); x <= int(r.End); x++ {
			owner[x] = r.Group
		}
	}
	for x := int(start); x <= int(end); x++ {
		owner[x] = group
	}
	var out []SlotRange
	for x := 0; x < Slots; x++ {
		if owner[x] == "" {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Group == owner[x] && int(out[n-1].End) == x-1 {
			out[n-1].End = uint16(x)
			continue
		}
		out = append(out, SlotRange{Start: uint16(x), End: uint16(x), Group: owner[x]})
	}
	return out
}
