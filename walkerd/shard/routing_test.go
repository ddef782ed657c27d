package shard

import (
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/walkerd/placement"
)

// The routing table follows the placement state: at its first lookup
// (a restarted node has the state on disk and applies no change), and
// again whenever the generation moves; a slot moved shows in GroupOf,
// Ranges and Moved, and a change that moves no slot leaves Moved.
func TestRouting_FollowsThePlacementState(t *testing.T) {
	l := Split(2)
	st := &placement.State{}
	for _, line := range []string{"INIT g1 0 8191 g2 8192 16383", "MOVE 100-199 g2", "OWNER 100-199 g2", "DONE 100"} {
		if _, err := st.Apply(fields(line)); err != nil {
			t.Fatal(err)
		}
	}
	gen := uint64(0)
	r := NewRouting(l, func() (*placement.State, error) { return st, nil }, func() uint64 { return gen })
	if r.GroupOf(150) != 1 || r.GroupOf(99) != 0 || r.GroupOf(200) != 0 {
		t.Fatalf("first lookup: 150 -> %d, 99 -> %d, 200 -> %d", r.GroupOf(150), r.GroupOf(99), r.GroupOf(200))
	}
	if got := r.Ranges(1); len(got) != 2 || got[0] != (Range{100, 199}) || got[1] != (Range{8192, 16383}) {
		t.Fatalf("g2's ranges %v", got)
	}
	moved := r.Moved()
	if _, err := st.Apply(fields("LEADER g1 n1 3 n1")); err != nil {
		t.Fatal(err)
	}
	gen++
	if r.Moved() != moved || r.Epoch() != st.Epoch {
		t.Fatalf("a change that moves no slot: moved %d -> %d, epoch %d (state %d)", moved, r.Moved(), r.Epoch(), st.Epoch)
	}
	for _, line := range []string{"MOVE 100-199 g1", "OWNER 100-199 g1", "DONE 100"} {
		if _, err := st.Apply(fields(line)); err != nil {
			t.Fatal(err)
		}
	}
	if r.GroupOf(150) != 1 {
		t.Fatal("the table changed without a new generation")
	}
	gen++
	if r.GroupOf(150) != 0 || r.Moved() != moved+1 || len(r.Ranges(0)) != 1 {
		t.Fatalf("after moving back: 150 -> %d, moved %d, g1 %v", r.GroupOf(150), r.Moved(), r.Ranges(0))
	}
}

func fields(line string) [][]byte {
	var out [][]byte
	for _, f := range strings.Fields(line) {
		out = append(out, []byte(f))
	}
	return out
}
