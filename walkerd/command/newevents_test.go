package command

import (
	"fmt"
	"testing"
)

// Applier.NoNewEvents spares the lookup behind Touch.New and nothing else:
// the same entries give the same replies and the same touches, New aside,
// and one Applier reused for many entries (as standalone mode keeps one)
// gives each its own replies.
func TestApplier_NoNewEventsChangesOnlyTouchNew(t *testing.T) {
	run := func(noNew bool) (out []string) {
		a := NewApplier(openDB(t))
		a.NoNewEvents = noNew
		entries := []*Entry{
			{Cmds: [][][]byte{cmd("SET", "k", "v")}},
			{Cmds: [][][]byte{cmd("SET", "k", "w"), cmd("SET", "n", "1", "EX", "100"), cmd("INCR", "n"), cmd("GET", "k")}},
			{Cmds: [][][]byte{cmd("RPUSH", "l", "a"), cmd("SET", "k", "x", "GET"), cmd("SET", "z", "1", "NX")}},
		}
		for i, e := range entries {
			e.NowMs = 1_700_000_000_000
			res, err := a.ApplyOne(uint64(i+1), e)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, render(res, false))
			for j, r := range res.Replies {
				out = append(out, fmt.Sprintf("reply %d: %v", j, r))
			}
			for _, tc := range res.Touched {
				out = append(out, fmt.Sprintf("touch %d %s %s new=%v", tc.DB, tc.Key, tc.Event, tc.New))
			}
		}
		return out
	}
	with, without := run(false), run(true)
	if len(with) != len(without) {
		t.Fatalf("%d lines with New, %d without:\n%q\n%q", len(with), len(without), with, without)
	}
	news := 0
	for i := range with {
		if with[i] == without[i] {
			continue
		}
		if with[i] != without[i][:len(without[i])-len("false")]+"true" {
			t.Errorf("line %d: %q with New, %q without", i, with[i], without[i])
		}
		news++
	}
	// k, n (SET EX: set, expire), l and z are created; k's later writes are not.
	if news != 4 {
		t.Fatalf("%d touches differ in New, want 4 (k, n, l, z):\n%q", news, with)
	}
}
