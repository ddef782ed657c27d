package placement

import (
	"errors"
	"strings"
	"testing"
)

func apply(t *testing.T, s *State, line string) bool {
	t.Helper()
	var args [][]byte
	for _, f := range strings.Fields(line) {
		args = append(args, []byte(f))
	}
	changed, err := s.Apply(args)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return changed
}

func TestState_InitOnceThenEveryChangeBumpsTheEpochOnce(t *testing.T) {
	s := &State{}
	if !apply(t, s, "INIT g1 0 8191 g2 8192 16383") || s.Epoch != 1 {
		t.Fatalf("INIT: epoch %d", s.Epoch)
	}
	if _, err := s.Apply([][]byte{[]byte("INIT"), []byte("g1"), []byte("0"), []byte("16383")}); !errors.Is(err, ErrInitialized) {
		t.Fatalf("second INIT: %v", err)
	}
	if got := s.Owner(8191) + s.Owner(8192) + s.Owner(0) + s.Owner(16383); got != "g1g2g1g2" {
		t.Fatalf("owners %q", got)
	}

	steps := []struct {
		line    string
		changed bool
	}{
		{"NODE n1 127.0.0.1:7001 127.0.0.1:6379", true},
		{"NODE n1 127.0.0.1:7001 127.0.0.1:6379", false}, // a repeated report
		{"LEADER g1 n1 3 n3 n1 n2", true},
		{"LEADER g1 n1 3 n1 n2 n3", false}, // same members, other order
		{"LEADER g1 n2 2 n1 n2 n3", false}, // an older term's late report
		{"LEADER g1 n1 3 n1 n2", true},     // a member left: same leader, new members
		{"LEADER g1 n2 4 n1 n2", true},     // a new term's leader
		{"DOWN n1", true},
		{"DOWN n1", false},
		{"DOWN n9", false}, // a node never seen
		{"UP n1", true},
		{"NODE n3 a:3 b:3", true},
		{"FORGET n1", false}, // g1 still lists it
		{"FORGET n3", true},  // in no group: it left
		{"FORGET n3", false},
	}
	epoch := s.Epoch
	for _, st := range steps {
		if got := apply(t, s, st.line); got != st.changed {
			t.Fatalf("%s: changed %v, want %v", st.line, got, st.changed)
		}
		if st.changed {
			epoch++
		}
		if s.Epoch != epoch {
			t.Fatalf("%s: epoch %d, want %d", st.line, s.Epoch, epoch)
		}
	}
	g := s.Group("g1")
	if g.Leader != "n2" || g.Term != 4 || strings.Join(g.Members, ",") != "n1,n2" || g.Epoch != 5 {
		t.Fatalf("g1 = %+v", *g)
	}
	if n := s.Node("n1"); n == nil || !n.Up || n.RESP != "127.0.0.1:6379" || s.Node("n3") != nil {
		t.Fatalf("n1 = %+v", n)
	}
}

func TestState_EncodeDecodeRoundTrips(t *testing.T) {
	s := &State{}
	apply(t, s, "INIT g1 0 99 g2 100 16383")
	apply(t, s, "NODE n1 a:1 b:2")
	apply(t, s, "LEADER g2 n1 7 n1")
	got, err := Decode(s.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Encode()) != string(s.Encode()) {
		t.Fatalf("round trip:\n%s\n%s", got.Encode(), s.Encode())
	}
	if e, err := Decode(nil); err != nil || e.Epoch != 0 {
		t.Fatalf("empty: %+v %v", e, err)
	}
	if _, err := Decode([]byte("{")); err == nil {
		t.Fatal("a torn state decoded")
	}
}

func TestState_BadArgumentsChangeNothing(t *testing.T) {
	for _, line := range []string{
		"", "NOPE", "INIT", "INIT g1 0", "INIT g1 x 5", "INIT g1 5 4", "INIT g1 0 16384",
		"INIT g1 0 10 g2 10 20", // overlapping
		"NODE n1 a", "LEADER g1 n1", "LEADER g1 n1 x", "DOWN", "UP a b", "FORGET",
	} {
		s := &State{}
		var args [][]byte
		for _, f := range strings.Fields(line) {
			args = append(args, []byte(f))
		}
		if changed, err := s.Apply(args); err == nil || changed || s.Epoch != 0 || len(s.Slots) != 0 {
			t.Errorf("%q: changed %v, err %v, state %+v", line, changed, err, s)
		}
	}
}

// A move: MOVE records it (and refuses a second one, an unknown group, the
// owner itself), OWNER splits the old owner's range and moves on to the
// drop phase, DONE ends it; each a change of its own, a repeat none.
func TestState_MoveOwnerDone(t *testing.T) {
	s := &State{}
	apply(t, s, "INIT g1 0 8191 g2 8192 16383")
	for _, bad := range []struct {
		line string
		err  error
	}{
		{"MOVE 100 g9", ErrNoGroup},
		{"MOVE 100 g1", ErrOwnGroup},
		{"MOVE 16384 g2", ErrSlotRange},
		{"MOVE x g2", ErrSlotRange},
	} {
		var args [][]byte
		for _, f := range strings.Fields(bad.line) {
			args = append(args, []byte(f))
		}
		if _, err := s.Apply(args); !errors.Is(err, bad.err) {
			t.Errorf("%s: %v, want %v", bad.line, err, bad.err)
		}
	}
	if !apply(t, s, "MOVE 100 g2") || s.Epoch != 2 {
		t.Fatalf("MOVE: epoch %d", s.Epoch)
	}
	if m := s.MoveOf(100); m == nil || *m != (Move{Slot: 100, End: 100, From: "g1", To: "g2", Phase: PhaseCopy, Epoch: 2}) {
		t.Fatalf("move %+v", m)
	}
	if _, err := s.Apply([][]byte{[]byte("MOVE"), []byte("100"), []byte("g1")}); !errors.Is(err, ErrMoving) {
		t.Fatalf("a second MOVE of a moving slot: %v", err)
	}
	if s.Owner(100) != "g1" {
		t.Fatal("MOVE changed the owner")
	}
	if !apply(t, s, "OWNER 100 g2") || apply(t, s, "OWNER 100 g2") || s.Epoch != 3 {
		t.Fatalf("OWNER: epoch %d", s.Epoch)
	}
	want := []SlotRange{{0, 99, "g1"}, {100, 100, "g2"}, {101, 8191, "g1"}, {8192, 16383, "g2"}}
	if len(s.Slots) != len(want) {
		t.Fatalf("slots %+v", s.Slots)
	}
	for i := range want {
		if s.Slots[i] != want[i] {
			t.Fatalf("slots %+v", s.Slots)
		}
	}
	if s.MoveOf(100).Phase != PhaseDrop || len(s.Ranges("g2")) != 2 {
		t.Fatalf("after OWNER: %+v", s.MoveOf(100))
	}
	if !apply(t, s, "DONE 100") || apply(t, s, "DONE 100") || s.MoveOf(100) != nil || s.Epoch != 4 {
		t.Fatalf("DONE: epoch %d, moves %+v", s.Epoch, s.Moves)
	}
	// Back again: the ranges merge.
	apply(t, s, "MOVE 100 g1")
	apply(t, s, "OWNER 100 g1")
	if len(s.Slots) != 2 || s.Owner(100) != "g1" {
		t.Fatalf("slots after moving back %+v", s.Slots)
	}
	s2, err := Decode(s.Encode())
	if err != nil || len(s2.Moves) != 1 || s2.Moves[0] != s.Moves[0] {
		t.Fatalf("round trip: %+v %v", s2, err)
	}
	apply(t, s, "DONE 100")

	// A range moves as one: refused across owners and over a moving slot.
	for _, bad := range []struct {
		line string
		err  error
	}{
		{"MOVE 8000-8300 g1", ErrOwners},
		{"MOVE 300-200 g2", ErrSlotRange},
		{"MOVE 0-16384 g2", ErrSlotRange},
	} {
		var args [][]byte
		for _, f := range strings.Fields(bad.line) {
			args = append(args, []byte(f))
		}
		if _, err := s.Apply(args); !errors.Is(err, bad.err) {
			t.Errorf("%s: %v, want %v", bad.line, err, bad.err)
		}
	}
	apply(t, s, "MOVE 200-300 g2")
	if _, err := s.Apply([][]byte{[]byte("MOVE"), []byte("250"), []byte("g2")}); !errors.Is(err, ErrMoving) {
		t.Fatalf("MOVE of a slot inside a moving range: %v", err)
	}
	if m := s.MoveOf(300); m == nil || m.Slot != 200 || s.MoveOf(301) != nil || s.MoveOf(199) != nil {
		t.Fatalf("MoveOf around 200-300: %+v", s.Moves)
	}
	apply(t, s, "OWNER 200-300 g2")
	if s.Owner(200) != "g2" || s.Owner(300) != "g2" || s.Owner(301) != "g1" || s.MoveOf(250).Phase != PhaseDrop {
		t.Fatalf("after OWNER 200-300: %+v %+v", s.Slots, s.Moves)
	}
	if apply(t, s, "DONE 250") || !apply(t, s, "DONE 200") || len(s.Moves) != 0 {
		t.Fatalf("DONE names a move by its first slot: %+v", s.Moves)
	}
}

// applyErr applies line and returns its error, with the state unchanged
// when there is one.
func applyErr(s *State, line string) error {
	var args [][]byte
	for _, f := range strings.Fields(line) {
		args = append(args, []byte(f))
	}
	before := string(s.Encode())
	_, err := s.Apply(args)
	if err != nil && string(s.Encode()) != before {
		return errors.New("the state changed on a refusal: " + err.Error())
	}
	return err
}

// GROUP ADD records a new group with its members and no slot, only under
// an id above every id ever used; GROUP DROP ends a group that owns no
// slot and takes part in no move, and its id is never used again, nor
// revived by a late LEADER report.
func TestState_GroupAddAndDrop(t *testing.T) {
	s := &State{}
	if err := applyErr(s, "GROUP ADD g3 n1"); !errors.Is(err, ErrUninitiated) {
		t.Fatalf("ADD before INIT: %v", err)
	}
	apply(t, s, "INIT g1 0 8191 g2 8192 16383")
	apply(t, s, "NODE n1 a:1 b:1")
	apply(t, s, "NODE n2 a:2 b:2")
	for line, want := range map[string]error{
		"GROUP ADD g2 n1":    ErrGroupID, // in use
		"GROUP ADD g1 n1":    ErrGroupID,
		"GROUP ADD x3 n1":    ErrGroupID,
		"GROUP ADD g03 n1":   ErrGroupID,
		"GROUP ADD g3 n9":    ErrNoNode,
		"GROUP DROP g9":      ErrNoGroup,
		"GROUP DROP g1":      ErrHomeGroup,
		"GROUP DROP g2":      ErrGroupBusy, // owns slots
		"GROUP ADD g3":       ErrSyntax,
		"GROUP DROP g2 more": ErrSyntax,
	} {
		if err := applyErr(s, line); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", line, err, want)
		}
	}
	epoch := s.Epoch
	if !apply(t, s, "GROUP ADD g5 n2 n1 n2") || s.Epoch != epoch+1 {
		t.Fatalf("ADD g5: epoch %d -> %d", epoch, s.Epoch)
	}
	if g := s.Group("g5"); g == nil || strings.Join(g.Members, ",") != "n1,n2" || g.Leader != "" || len(s.Ranges("g5")) != 0 || g.Epoch != s.Epoch {
		t.Fatalf("g5 = %+v, ranges %v", g, s.Ranges("g5"))
	}
	if s.LastGroup() != 5 {
		t.Fatalf("LastGroup %d, want 5", s.LastGroup())
	}
	if err := applyErr(s, "GROUP ADD g4 n1"); !errors.Is(err, ErrGroupID) {
		t.Fatalf("ADD below the last id: %v", err)
	}
	apply(t, s, "MOVE 100 g5")
	if err := applyErr(s, "GROUP DROP g5"); !errors.Is(err, ErrGroupBusy) {
		t.Fatalf("DROP of a move's target: %v", err)
	}
	apply(t, s, "OWNER 100 g5")
	apply(t, s, "DONE 100")
	if err := applyErr(s, "GROUP DROP g5"); !errors.Is(err, ErrGroupBusy) {
		t.Fatalf("DROP of a group owning slot 100: %v", err)
	}
	apply(t, s, "MOVE 100 g1")
	apply(t, s, "OWNER 100 g1")
	apply(t, s, "DONE 100")
	if !apply(t, s, "GROUP DROP g5") || apply(t, s, "GROUP DROP g5") {
		t.Fatal("DROP g5 once, then a repeat that changes nothing")
	}
	if s.Group("g5") != nil || !s.IsDropped("g5") || s.LastGroup() != 5 {
		t.Fatalf("after DROP: group %+v, dropped %v, last %d", s.Group("g5"), s.Dropped, s.LastGroup())
	}
	if apply(t, s, "LEADER g5 n1 9 n1 n2") || s.Group("g5") != nil {
		t.Fatal("a late LEADER report revived a dropped group")
	}
	if err := applyErr(s, "GROUP ADD g5 n1"); !errors.Is(err, ErrGroupID) {
		t.Fatalf("ADD of a dropped id: %v", err)
	}
	d, err := Decode(s.Encode())
	if err != nil || !d.IsDropped("g5") || d.LastGroup() != 5 {
		t.Fatalf("round trip: %v %+v", err, d)
	}
}
