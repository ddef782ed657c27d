package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// pstate is WALKER.PLACEMENT's JSON with slot 100 owned by owner and the
// rest by g1; moves is "" or a ,"moves":[...] member (see move).
func pstate(epoch int, owner, moves string) string {
	return fmt.Sprintf(`{"epoch":%d,"slots":[{"start":0,"end":99,"group":"g1"},{"start":100,"end":100,"group":%q},`+
		`{"start":101,"end":16383,"group":"g1"}],"groups":[{"id":"g1","leader":"n1","term":2,"epoch":3,"members":["n1"]}],`+
		`"nodes":[{"id":"n1","raft":"127.0.0.1:1","resp":"127.0.0.1:2","up":true}]%s}`, epoch, owner, moves)
}

// move is the "moves" member of a state where slot 100 moves from g1 to
// to, recorded at epoch.
func move(to, phase string, epoch int) string {
	return fmt.Sprintf(`,"moves":[{"slot":100,"from":"g1","to":%q,"phase":%q,"epoch":%d}]`, to, phase, epoch)
}

// fakeMigrateNode is a node of a cluster with several groups as migrate
// sees it: WALKER.PLACEMENT answers before until WALKER.MIGRATE, then
// after[i] to the i-th call after it (the last one repeated; "close"
// hangs up), and WALKER.MIGRATE answers migrate.
type fakeMigrateNode struct {
	addr string

	mu       sync.Mutex
	migrates [][]string // the WALKER.MIGRATE commands received
	polls    int        // WALKER.PLACEMENT calls after the first WALKER.MIGRATE
}

func newFakeMigrateNode(t *testing.T, migrate, before string, after ...string) *fakeMigrateNode {
	f := &fakeMigrateNode{}
	f.addr = fakeNode(t, func(args []string) string {
		f.mu.Lock()
		defer f.mu.Unlock()
		switch strings.ToUpper(args[0]) {
		case "WALKER.MIGRATE":
			f.migrates = append(f.migrates, args)
			return migrate
		case "WALKER.PLACEMENT":
			if len(f.migrates) == 0 {
				return before
			}
			f.polls++
			a := after[min(f.polls, len(after))-1]
			if a == "close" {
				return a
			}
			return bulk(a)
		}
		return "-ERR unknown command\r\n"
	})
	return f
}

func (f *fakeMigrateNode) counts() (migrates string, polls int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fmt.Sprint(f.migrates), f.polls
}

// migrate sends WALKER.MIGRATE and polls the placement state until the
// slot's move is gone and the new group owns it: not before, even while
// the node still shows the state before the move (it has not applied the
// MOVE yet) or the drop phase (the new group owns the slot already).
func TestMigrate_WaitsUntilTheMoveIsOver(t *testing.T) {
	steps := []string{
		pstate(10, "g1", ""), // the node has not applied the MOVE yet
		pstate(11, "g1", move("g2", "copy", 11)),
		pstate(12, "g2", move("g2", "drop", 11)),
		pstate(13, "g2", ""),
	}
	f := newFakeMigrateNode(t, "+OK\r\n", bulk(pstate(10, "g1", "")), steps...)
	if out := ok(t, "--addr", f.addr, "migrate", "100", "g2"); out != "slot 100: g1 -> g2 done (epoch 13)\n" {
		t.Errorf("printed %q", out)
	}
	if migrates, polls := f.counts(); migrates != "[[WALKER.MIGRATE 100 g2]]" || polls != len(steps) {
		t.Errorf("sent %s, then %d polls; want %d", migrates, polls, len(steps))
	}

	f = newFakeMigrateNode(t, "+OK\r\n", bulk(pstate(10, "g1", "")), steps...)
	js := decode[map[string]any](t, ok(t, "--addr", f.addr, "--json", "migrate", "100", "g2"))
	if fmt.Sprint(js) != "map[done:true epoch:13 from:g1 slot:100 to:g2]" {
		t.Errorf("--json: %v", js)
	}

	// The old owner comes from the move itself when the state before it
	// cannot be read.
	f = newFakeMigrateNode(t, "+OK\r\n", "-ERR busy\r\n", steps...)
	if out := ok(t, "--addr", f.addr, "migrate", "100", "g2"); out != "slot 100: g1 -> g2 done (epoch 13)\n" {
		t.Errorf("printed %q", out)
	}
}

func TestMigrate_NoWaitReturnsOnceRecorded(t *testing.T) {
	f := newFakeMigrateNode(t, "+OK\r\n", bulk(pstate(10, "g1", "")), pstate(11, "g1", move("g2", "copy", 11)))
	if out := ok(t, "--addr", f.addr, "migrate", "--no-wait", "100", "g2"); out != "slot 100: g1 -> g2 started\n" {
		t.Errorf("printed %q", out)
	}
	if migrates, polls := f.counts(); migrates != "[[WALKER.MIGRATE 100 g2]]" || polls != 0 {
		t.Errorf("sent %s, then %d polls; want none", migrates, polls)
	}
	js := decode[map[string]any](t, ok(t, "--addr", f.addr, "--json", "migrate", "--no-wait", "7", "g2"))
	if fmt.Sprint(js) != "map[done:false from:g1 slot:7 to:g2]" {
		t.Errorf("--json: %v", js)
	}
}

// The node's refusals are printed as other commands print them, exit 1,
// and nothing is waited for.
func TestMigrate_RefusalsExitWith1(t *testing.T) {
	for _, msg := range []string{
		"ERR the slot is already being migrated",
		"ERR no such Raft group in the slot map",
		"ERR the slot is already served by that group",
		"ERR Invalid or out of range slot",
	} {
		f := newFakeMigrateNode(t, "-"+msg+"\r\n", bulk(pstate(10, "g1", "")), pstate(10, "g1", ""))
		wantExit(t, exitError, []string{"walkerctl: " + f.addr + ": " + strings.TrimPrefix(msg, "ERR ")}, "--addr", f.addr, "migrate", "100", "g2")
		if _, polls := f.counts(); polls != 0 {
			t.Errorf("%s: %d polls after a refusal", msg, polls)
		}
	}
	// A node with one group has no placement state either: its refusal of
	// WALKER.MIGRATE is the one told.
	f := newFakeMigrateNode(t, "-ERR WALKER.MIGRATE needs a node with several Raft groups (--groups)\r\n",
		"-ERR this node has no placement group: it runs one Raft group (walkerd --groups)\r\n", "close")
	r := wantExit(t, exitError, []string{"WALKER.MIGRATE needs a node with several Raft groups (--groups)"}, "--addr", f.addr, "migrate", "100", "g2")
	if strings.Contains(r.stderr, "placement") {
		t.Errorf("stderr: %q", r.stderr)
	}
}

func TestMigrate_TimeoutSaysWhereTheMoveStood(t *testing.T) {
	f := newFakeMigrateNode(t, "+OK\r\n", bulk(pstate(10, "g1", "")), pstate(11, "g1", move("g2", "copy", 11)))
	wantExit(t, exitError, []string{"slot 100: the move to g2 was not over within 400ms: it was in phase copy (g1 -> g2, placement epoch 11)"},
		"--addr", f.addr, "migrate", "--wait-timeout", "400ms", "100", "g2")
	// Every 100 ms: about 4 polls in 400 ms, surely more than one.
	if _, polls := f.counts(); polls < 2 || polls > 6 {
		t.Errorf("%d polls in 400ms, want about 4", polls)
	}

	// A node that never shows the move.
	f = newFakeMigrateNode(t, "+OK\r\n", bulk(pstate(10, "g1", "")), pstate(10, "g1", ""))
	wantExit(t, exitError, []string{"the node shows no move of the slot yet, and g1 owns it (placement epoch 10)"},
		"--addr", f.addr, "migrate", "--wait-timeout", "300ms", "100", "g2")

	// A node that hangs up on every poll: exit 3, as for any unreachable node.
	f = newFakeMigrateNode(t, "+OK\r\n", bulk(pstate(10, "g1", "")), "close")
	wantExit(t, exitUnreachable, []string{"the placement state could not be read; then: " + f.addr + " closed the connection"},
		"--addr", f.addr, "migrate", "--wait-timeout", "300ms", "100", "g2")
}

// A move seen under way that is gone from a newer state while the slot is
// still the old owner's ended some other way: no use waiting.
func TestMigrate_AMoveThatEndsElsewhereIsAnError(t *testing.T) {
	f := newFakeMigrateNode(t, "+OK\r\n", bulk(pstate(10, "g1", "")),
		pstate(11, "g1", move("g2", "copy", 11)), pstate(12, "g1", ""))
	wantExit(t, exitError, []string{"slot 100: the move to g2 ended with the slot owned by g1 (placement epoch 12)"},
		"--addr", f.addr, "migrate", "--wait-timeout", "30s", "100", "g2")
	if _, polls := f.counts(); polls != 2 {
		t.Errorf("%d polls, want 2", polls)
	}
}

func TestMigrate_UsageErrorsExitWith2(t *testing.T) {
	f := newFakeMigrateNode(t, "+OK\r\n", bulk(pstate(10, "g1", "")), pstate(11, "g2", ""))
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"migrate", "100"}, "migrate takes SLOT GROUP"},
		{[]string{"migrate", "16384", "g2"}, `slot "16384": want a hash slot, 0-16383`},
		{[]string{"migrate", "-1", "g2"}, `flag provided but not defined: -1`},
		{[]string{"migrate", "x", "g2"}, `slot "x"`},
		{[]string{"migrate", "100", ""}, "GROUP is empty"},
		{[]string{"migrate", "--wait-timeout", "0s", "100", "g2"}, "--wait-timeout must be positive"},
	} {
		wantExit(t, exitUsage, []string{tc.msg}, append([]string{"--addr", f.addr}, tc.args...)...)
	}
	if migrates, _ := f.counts(); migrates != "[]" {
		t.Errorf("sent %s on usage errors", migrates)
	}
}
