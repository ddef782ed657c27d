package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
	"github.com/walkerdb/walkerdb/walkerd/placement"
	"github.com/walkerdb/walkerdb/walkerd/shard"
)

// fakePlace is the placement group as the leader's reporter sees it: its
// configuration and which members' heartbeats fail since when.
type fakePlace struct {
	members []string
	failing map[string]time.Time
}

func (f *fakePlace) Engine() *engine.DB { return nil }
func (f *fakePlace) IsLeader() bool     { return true }
func (f *fakePlace) Ready() bool        { return true }
func (f *fakePlace) Members() ([]backend.Member, error) {
	var ms []backend.Member
	for _, id := range f.members {
		ms = append(ms, backend.Member{ID: id})
	}
	return ms, nil
}
func (f *fakePlace) Unreachable(id string) (time.Time, bool) {
	t, ok := f.failing[id]
	return t, ok
}
func (f *fakePlace) Apply(*command.Entry) (*command.Result, error) {
	return nil, fmt.Errorf("not here")
}

func state(t *testing.T, changes ...string) *placement.State {
	t.Helper()
	st := &placement.State{}
	for _, c := range changes {
		var args [][]byte
		for _, f := range strings.Fields(c) {
			args = append(args, []byte(f))
		}
		if _, err := st.Apply(args); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
	}
	return st
}

// The placement leader's own changes: the first map from the layout, DOWN
// after 10 s of failed heartbeats (counted from the last contact), UP once
// they succeed but not in its own first 10 s as leader, UP for itself when
// it was marked down and is now leading, FORGET for a node that left.
func TestReporter_LeaderChanges(t *testing.T) {
	now := time.Unix(1000, 0)
	f := &fakePlace{members: []string{"a", "b", "c"}, failing: map[string]time.Time{}}
	r := &reporter{self: "a", place: f, layout: shard.Split(2), leaderSince: now.Add(-time.Minute)}

	if got := fmt.Sprint(r.leaderChanges(&placement.State{}, now)); got != "[[INIT g1 0 8191 g2 8192 16383]]" {
		t.Fatalf("before the first map: %s", got)
	}
	base := []string{"INIT g1 0 16383", "NODE a x:1 y:1", "NODE b x:2 y:2", "NODE c x:3 y:3", "LEADER g1 a 2 a b c"}
	cases := []struct {
		name    string
		extra   []string
		failing map[string]time.Duration // how long ago the last contact was
		since   time.Duration            // how long this node has led
		members []string                 // the placement configuration
		want    string
	}{
		{"all well", nil, nil, time.Minute, nil, "[]"},
		{"b failing 9 s", nil, map[string]time.Duration{"b": 9 * time.Second}, time.Minute, nil, "[]"},
		{"b failing 10 s", nil, map[string]time.Duration{"b": 10 * time.Second}, time.Minute, nil, "[[DOWN b]]"},
		{"b down, heartbeats back", []string{"DOWN b"}, nil, time.Minute, nil, "[[UP b]]"},
		{"b down, a new leader", []string{"DOWN b"}, nil, 5 * time.Second, nil, "[]"},
		{"a itself marked down, now leading", []string{"DOWN a"}, nil, time.Second, nil, "[[UP a]]"},
		{"c left placement but a group lists it", nil, nil, time.Minute, []string{"a", "b"}, "[]"},
		{"c left every group", []string{"LEADER g1 a 2 a b"}, nil, time.Minute, []string{"a", "b"}, "[[FORGET c]]"},
	}
	for _, c := range cases {
		f.failing = map[string]time.Time{}
		for id, ago := range c.failing {
			f.failing[id] = now.Add(-ago)
		}
		f.members = []string{"a", "b", "c"}
		if c.members != nil {
			f.members = c.members
		}
		r.leaderSince = now.Add(-c.since)
		if got := fmt.Sprint(r.leaderChanges(state(t, append(base, c.extra...)...), now)); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
