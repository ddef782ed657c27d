package main

import (
	"strings"
	"testing"
)

func up(id, state, leader string, term, applied uint64) nodeStatus {
	return nodeStatus{ID: id, Reachable: true, State: state, LeaderID: leader, Term: term, AppliedIndex: applied, CommitIndex: applied, Ready: state == "leader"}
}

func TestAssess_FindsEachKindOfProblem(t *testing.T) {
	down := nodeStatus{ID: "n3", Error: "cannot reach 127.0.0.1:3: connection refused"}
	notReady := up("n1", "leader", "n1", 4, 10)
	notReady.Ready = false
	cases := []struct {
		name  string
		nodes []nodeStatus
		want  []string // substrings, one per problem, in order
	}{
		{"healthy", []nodeStatus{up("n1", "leader", "n1", 2, 10), up("n2", "follower", "n1", 2, 10), up("n3", "follower", "n1", 2, 9)}, nil},
		{"a member unreachable", []nodeStatus{up("n1", "leader", "n1", 2, 10), up("n2", "follower", "n1", 2, 10), down},
			[]string{"n3: cannot reach 127.0.0.1:3: connection refused"}},
		{"no leader anywhere", []nodeStatus{up("n1", "candidate", "", 5, 10), up("n2", "follower", "", 4, 10)},
			[]string{"no leader: no member leads or knows a leader"}},
		{"the named leader is down", []nodeStatus{up("n1", "follower", "n3", 2, 10), up("n2", "follower", "n3", 2, 10), down},
			[]string{"n3: cannot reach", "no leader: no reachable member leads (members name n3)"}},
		{"members disagree", []nodeStatus{up("n1", "leader", "n1", 3, 10), up("n2", "follower", "n1", 3, 10), up("n3", "follower", "n2", 2, 10)},
			[]string{"members disagree on the leader: n1 names n1, n2 names n1, n3 names n2"}},
		{"two claim to lead", []nodeStatus{up("n1", "leader", "n1", 3, 10), up("n2", "leader", "n2", 2, 10)},
			[]string{"several members claim to lead: n1 (term 3), n2 (term 2)", "members disagree"}},
		{"leader not ready", []nodeStatus{notReady, up("n2", "follower", "n1", 4, 10)},
			[]string{"n1 leads but is not ready"}},
		{"a member far behind", []nodeStatus{up("n1", "leader", "n1", 2, 5000), up("n2", "follower", "n1", 2, 4999), up("n3", "follower", "n1", 2, 3000)},
			[]string{"n3 is 2000 entries behind the leader (applied index 3000 against 5000; --max-lag 1000)"}},
		{"no members", nil, []string{"the cluster has no members"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := assess(tc.nodes, 1000)
			if len(st.Problems) != len(tc.want) || st.Healthy != (len(tc.want) == 0) {
				t.Fatalf("problems %q (healthy %v), want %d like %q", st.Problems, st.Healthy, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(st.Problems[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, st.Problems[i], w)
				}
			}
		})
	}
}

func TestAssess_LagIsAgainstTheLeadersAppliedIndex(t *testing.T) {
	st := assess([]nodeStatus{up("n1", "leader", "n1", 2, 100), up("n2", "follower", "n1", 2, 90), up("n3", "follower", "n1", 2, 101)}, 1000)
	for i, want := range []uint64{0, 10, 0} {
		if got := st.Members[i].Lag; got == nil || *got != want {
			t.Errorf("%s lag = %v, want %d", st.Members[i].ID, got, want)
		}
	}
	if st.Leader != "n1" || st.Term != 2 {
		t.Errorf("leader %q term %d", st.Leader, st.Term)
	}
}
