package main

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// groupLine is one raft_group<i> line of INFO raft, as walkerd's
// infoGroups writes it.
func groupLine(i int, id, slots, state string, term int, leader string, voters, commit, applied int) string {
	return fmt.Sprintf("raft_group%d:id=%s,slots=%s,state=%s,term=%d,leader=%s,voters=%d,commit_index=%d,applied_index=%d,log_applied_index=%d\r\n",
		i, id, slots, state, term, leader, voters, commit, applied, commit)
}

// fakeGroupsCluster is nodes n1..n<len(views)> that list each other in
// RAFT.MEMBERS (n1 the home group's leader) and answer INFO raft with their
// raft_group lines: views[i] are node i's (the lines after raft_groups;
// nil: it hangs up on INFO).
// clusterMode makes them answer INFO cluster with cluster_enabled:1 and
// CLUSTER NODES. It returns the nodes' addresses.
func fakeGroupsCluster(t *testing.T, clusterMode bool, views ...[]string) []string {
	var mu sync.Mutex
	addrs := make([]string, len(views))
	for i, lines := range views {
		id := fmt.Sprintf("n%d", i+1)
		a := harness.FakeRESP(t, func(args []string) string {
			mu.Lock()
			defer mu.Unlock()
			switch strings.ToUpper(args[0]) {
			case "RAFT.MEMBERS":
				s := fmt.Sprintf("*%d\r\n", len(addrs))
				for j, a := range addrs {
					role := "follower"
					if j == 0 {
						role = "leader"
					}
					s += array(fmt.Sprintf("n%d", j+1), fmt.Sprintf("127.0.0.1:%d", 9000+j), a, role, "voter")
				}
				return s
			case "INFO":
				if lines == nil {
					return harness.HangUp
				}
				groups := 0 // the data groups' lines, not raft_placement's
				for _, l := range lines {
					if strings.HasPrefix(l, "raft_group") {
						groups++
					}
				}
				text := "# Raft\r\nraft_node_id:" + id + "\r\nraft_state:follower\r\nraft_term:2\r\nraft_leader_id:n1\r\n" +
					fmt.Sprintf("raft_groups:%d\r\n", groups) + strings.Join(lines, "")
				if len(args) > 2 && strings.EqualFold(args[2], "cluster") {
					enabled := "0"
					if clusterMode {
						enabled = "1"
					}
					text = "# Cluster\r\ncluster_enabled:" + enabled + "\r\n\r\n" + text
				}
				return bulk(text)
			case "WALKER.PLACEMENT": // a view's "placement-json:" line, if any
				for _, l := range lines {
					if j, ok := strings.CutPrefix(l, "placement-json:"); ok {
						return bulk(j)
					}
				}
				return "-ERR this node has no placement group: it runs one Raft group (walkerd --groups)\r\n"
			case "CLUSTER":
				if !clusterMode {
					return "-ERR This instance has cluster support disabled\r\n"
				}
				var s string
				for j, a := range addrs {
					s += fmt.Sprintf("%040x %s@%d master - 0 0 2 connected\n", j+1, a, 9000+j)
				}
				return bulk(s)
			}
			return "-ERR unknown command\r\n"
		})
		mu.Lock()
		addrs[i] = a
		mu.Unlock()
	}
	return addrs
}

// threeGroups is a node's raft_group lines for three groups led by n1, n2
// and n3; leader3 names g3's leader.
func threeGroups(leader3 string) []string {
	return []string{
		groupLine(0, "g1", "0-5460", "leader", 2, "n1", 3, 10, 8),
		groupLine(1, "g2", "5461-10921", "follower", 3, "n2", 3, 12, 9),
		groupLine(2, "g3", "10922-16383", "follower", 3, leader3, 3, 12, 9),
	}
}

func TestParseGroups_ReadsGroupLinesOrTheOneGroup(t *testing.T) {
	gs, err := parseGroups(parseInfo("# Raft\r\nraft_groups:2\r\n" +
		groupLine(1, "g2", "8192-16383", "follower", 4, "b", 3, 20, 19) + groupLine(0, "g1", "0-8191", "leader", 3, "a", 2, 10, 9)))
	if err != nil {
		t.Fatal(err)
	}
	want := []groupInfo{
		{ID: "g1", Slots: "0-8191", Ranges: []slotSpan{{0, 8191}}, State: "leader", Term: 3, Leader: "a", Voters: 2, CommitIndex: 10, AppliedIndex: 9, home: true},
		{ID: "g2", Slots: "8192-16383", Ranges: []slotSpan{{8192, 16383}}, State: "follower", Term: 4, Leader: "b", Voters: 3, CommitIndex: 20, AppliedIndex: 19},
	}
	if !reflect.DeepEqual(gs, want) {
		t.Errorf("got %+v\nwant %+v", gs, want)
	}

	// One group: the section's own fields, voters counted from the members.
	one := "# Raft\r\nraft_state:follower\r\nraft_term:7\r\nraft_leader_id:n2\r\nraft_commit_index:30\r\nraft_applied_index:28\r\nraft_members:3\r\n" +
		"raft_member0:id=n1,raft=a:1,resp=a:2,role=follower,suffrage=voter\r\n" +
		"raft_member1:id=n2,raft=b:1,resp=b:2,role=leader,suffrage=voter\r\n" +
		"raft_member2:id=n3,raft=c:1,resp=c:2,role=follower,suffrage=nonvoter\r\n"
	gs, err = parseGroups(parseInfo(one))
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 1 || !reflect.DeepEqual(gs[0], groupInfo{ID: "g1", Slots: "0-16383", Ranges: []slotSpan{{0, 16383}}, State: "follower", Term: 7, Leader: "n2",
		Voters: 2, CommitIndex: 30, AppliedIndex: 28, home: true}) {
		t.Errorf("one group: %+v", gs)
	}

	for _, bad := range []string{
		"# Raft\r\nraft_groups:2\r\n" + groupLine(0, "g1", "0-8191", "leader", 3, "a", 2, 10, 9),
		"# Raft\r\nraft_groups:2\r\n" + groupLine(0, "g1", "0-8191", "leader", 3, "a", 2, 10, 9) + groupLine(1, "g2", "9000-16384", "leader", 3, "a", 2, 10, 9),
		"# Server\r\nredis_version:7.0.15\r\n",
	} {
		if gs, err := parseGroups(parseInfo(bad)); err == nil {
			t.Errorf("%q: parsed as %+v, want an error", bad, gs)
		}
	}
}

func TestGroups_PrintsOneRowPerGroup(t *testing.T) {
	addrs := fakeGroupsCluster(t, false, threeGroups("n3"))
	out := ok(t, "--addr", addrs[0], "groups")
	want := `GROUP  SLOTS        STATE     TERM  LEADER  VOTERS  COMMIT  APPLIED
g1     0-5460       leader    2     n1      3       10      8
g2     5461-10921   follower  3     n2      3       12      9
g3     10922-16383  follower  3     n3      3       12      9
`
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
	js := ok(t, "--addr", addrs[0], "--json", "groups")
	gs := decode[[]groupInfo](t, js)
	if len(gs) != 3 || gs[2].ID != "g3" || fmt.Sprint(gs[2].Ranges) != "[10922-16383]" || gs[2].Leader != "n3" || gs[1].AppliedIndex != 9 {
		t.Errorf("--json: %+v", gs)
	}
	// One range each: "start" and "end" as before ranges could split.
	if raw := decode[[]map[string]any](t, js); raw[2]["start"] != 10922.0 || raw[2]["end"] != 16383.0 || fmt.Sprint(raw[2]["ranges"]) != "[[10922 16383]]" {
		t.Errorf("--json: %v", raw[2])
	}
}

func TestGroups_ThePlacementGroupComesLastWithItsEpoch(t *testing.T) {
	placed := append(threeGroups("n3"), "raft_placement:id=placement,state=follower,term=5,leader=n2,voters=3,commit_index=41,applied_index=41,log_applied_index=41,epoch=23\r\n")
	addrs := fakeGroupsCluster(t, false, placed)
	out := ok(t, "--addr", addrs[0], "groups")
	want := `GROUP      SLOTS        STATE     TERM  LEADER  VOTERS  COMMIT  APPLIED
g1         0-5460       leader    2     n1      3       10      8
g2         5461-10921   follower  3     n2      3       12      9
g3         10922-16383  follower  3     n3      3       12      9
placement  -            follower  5     n2      3       41      41

placement epoch 23
`
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
	js := ok(t, "--addr", addrs[0], "--json", "groups")
	gs := decode[[]groupInfo](t, js)
	if len(gs) != 4 || !reflect.DeepEqual(gs[3], groupInfo{ID: "placement", Ranges: []slotSpan{}, State: "follower", Term: 5, Leader: "n2", Voters: 3, CommitIndex: 41, AppliedIndex: 41, Epoch: 23}) {
		t.Errorf("--json: %+v", gs)
	}
	if raw := decode[[]map[string]any](t, js); raw[3]["start"] != nil || raw[3]["end"] != nil || raw[0]["start"] == nil {
		t.Errorf("--json: the placement row has start or end, or g1 lacks them: %v", raw)
	}
	// --all: a row per node, after the data groups; the slots stay g1-g3's.
	addrs = fakeGroupsCluster(t, false, placed, placed)
	if rows := tableRows(ok(t, "--addr", addrs[1], "groups", "--all")); len(rows) != 8 || strings.Join(rows[7], " ") != "placement - n2 follower 5 n2 3 41 41" {
		t.Errorf("--all rows: %q", rows)
	}
	if rows := decode[[]slotRange](t, ok(t, "--addr", addrs[0], "--json", "slots")); len(rows) != 3 {
		t.Errorf("slots: %+v", rows)
	}
}

func TestGroups_AllShowsEveryNodesViewAndFlagsDisagreement(t *testing.T) {
	addrs := fakeGroupsCluster(t, false, threeGroups("n3"), threeGroups("n3"))
	out := ok(t, "--addr", addrs[1], "groups", "--all")
	rows := tableRows(out)
	if len(rows) != 6 {
		t.Fatalf("%d rows, want 6 (3 groups x 2 nodes):\n%s", len(rows), out)
	}
	if got := strings.Join(rows[4], " "); got != "g3 10922-16383 n1 follower 3 n3 3 12 9" {
		t.Errorf("row 4 = %q:\n%s", got, out)
	}

	// n2 thinks n1 leads g3.
	addrs = fakeGroupsCluster(t, false, threeGroups("n3"), threeGroups("n1"))
	r := wantExit(t, exitUnhealthy, []string{"g3: nodes disagree on the leader: n1 names n3, n2 names n1"}, "--addr", addrs[0], "groups", "--all")
	if !strings.Contains(r.stdout, "\ng3: nodes disagree on the leader: n1 names n3, n2 names n1\n") || strings.Contains(r.stdout, "g1: ") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	views := decode[[]groupViews](t, wantExit(t, exitUnhealthy, nil, "--addr", addrs[0], "--json", "groups", "--all").stdout)
	if len(views) != 3 || !views[0].LeaderAgreed || !views[1].LeaderAgreed || views[2].LeaderAgreed || len(views[2].Nodes) != 2 || views[2].Nodes[1].Leader != "n1" {
		t.Errorf("--json: %+v", views)
	}

	// No node knows g2's leader.
	noLeader := threeGroups("n3")
	noLeader[1] = groupLine(1, "g2", "5461-10921", "candidate", 4, "", 3, 12, 9)
	addrs = fakeGroupsCluster(t, false, noLeader, noLeader)
	wantExit(t, exitUnhealthy, []string{"g2: no node knows a leader"}, "--addr", addrs[0], "groups", "--all")
}

func TestGroups_AllReportsAnUnreachableMember(t *testing.T) {
	addrs := fakeGroupsCluster(t, false, threeGroups("n3"), threeGroups("n3"), nil)
	// The third node hangs up on INFO.
	r := wantExit(t, exitUnhealthy, []string{"1 of 3 members could not be asked (n3)"}, "--addr", addrs[0], "groups", "--all")
	if !strings.Contains(r.stdout, "\ng1     0-5460       n3    (unreachable)  -     -       -       -       -\n") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
}

// status judges every group of nodes with several: a group without a
// known leader makes the cluster unhealthy (exit 6), the first group's
// problems are not told twice.
func TestStatus_AGroupWithoutALeaderIsAProblem(t *testing.T) {
	addrs := fakeGroupsCluster(t, false, threeGroups(""), threeGroups(""), threeGroups(""))
	r := ctl(t, "--addr", addrs[0], "status")
	if r.code != 6 || !strings.Contains(r.stdout, "g3: no node knows a leader") || strings.Contains(r.stdout, "g1:") {
		t.Fatalf("status: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	addrs = fakeGroupsCluster(t, false, threeGroups("n3"), threeGroups("n3"), threeGroups("n1"))
	r = ctl(t, "--addr", addrs[0], "status")
	if r.code != 6 || !strings.Contains(r.stdout, "g3: nodes disagree on the leader: n1 names n3, n2 names n3, n3 names n1") {
		t.Fatalf("status: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// migrated is a node's raft_group lines once slot 100 has moved from g1 to
// g2 and g3 has handed every slot over: g1 and g2 own two ranges each, g3
// none. g3 is the home group (raft_group0), so it is listed first by
// walkerd and must still sort last.
func migrated() []string {
	return []string{
		groupLine(0, "g3", "", "follower", 3, "n3", 3, 12, 9),
		groupLine(1, "g1", "0-99 101-8191", "leader", 2, "n1", 3, 10, 8),
		groupLine(2, "g2", "8192-16383 100-100", "follower", 3, "n2", 3, 12, 9),
	}
}

func TestParseGroups_SeveralRangesOrNone(t *testing.T) {
	gs, err := parseGroups(parseInfo("# Raft\r\nraft_groups:3\r\n" + strings.Join(migrated(), "")))
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%s %q %v %v | %s %q %v %v | %s %q %v %v", gs[0].ID, gs[0].Slots, gs[0].Ranges, gs[0].home,
		gs[1].ID, gs[1].Slots, gs[1].Ranges, gs[1].home, gs[2].ID, gs[2].Slots, gs[2].Ranges, gs[2].home)
	// Sorted by first slot, the slotless group last; a group's ranges
	// sorted too, its text as INFO raft wrote it.
	want := `g1 "0-99 101-8191" [0-99 101-8191] false | g2 "8192-16383 100-100" [100-100 8192-16383] false | g3 "" [] true`
	if len(gs) != 3 || got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	for _, bad := range []string{
		"0-99 50-120",  // overlapping
		"0-99 abc",     // not a range
		"200-100",      // backwards
		"0-99 0-16384", // beyond the last slot
	} {
		in := "# Raft\r\nraft_groups:2\r\n" + groupLine(0, "g1", bad, "leader", 3, "a", 2, 10, 9) + groupLine(1, "g2", "", "leader", 3, "a", 2, 10, 9)
		if gs, err := parseGroups(parseInfo(in)); err == nil {
			t.Errorf("slots=%s: parsed as %+v, want an error", bad, gs)
		}
	}
	// No slots field at all is malformed, unlike an empty one.
	if gs, err := parseGroups(parseInfo("# Raft\r\nraft_groups:2\r\nraft_group0:id=g1,state=leader\r\n" +
		groupLine(1, "g2", "0-16383", "leader", 3, "a", 2, 10, 9))); err == nil {
		t.Errorf("no slots field: parsed as %+v", gs)
	}
}

func TestGroups_PrintsSplitRangesAndSlotlessGroups(t *testing.T) {
	view := append(migrated(), "raft_placement:id=placement,state=leader,term=5,leader=n1,voters=3,commit_index=41,applied_index=41,log_applied_index=41,epoch=30\r\n")
	addrs := fakeGroupsCluster(t, false, view)
	out := ok(t, "--addr", addrs[0], "groups")
	want := `GROUP      SLOTS               STATE     TERM  LEADER  VOTERS  COMMIT  APPLIED
g1         0-99,101-8191       leader    2     n1      3       10      8
g2         100-100,8192-16383  follower  3     n2      3       12      9
g3         -                   follower  3     n3      3       12      9
placement  -                   leader    5     n1      3       41      41

placement epoch 30
`
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
	raw := decode[[]map[string]any](t, ok(t, "--addr", addrs[0], "--json", "groups"))
	if len(raw) != 4 {
		t.Fatalf("--json: %v", raw)
	}
	// Several ranges or none: no "start" or "end", which would claim
	// slots the group does not own.
	for i, want := range []string{"[[0 99] [101 8191]]", "[[100 100] [8192 16383]]", "[]", "[]"} {
		_, hasStart := raw[i]["start"]
		_, hasEnd := raw[i]["end"]
		if fmt.Sprint(raw[i]["ranges"]) != want || hasStart || hasEnd {
			t.Errorf("--json row %d: %v, want ranges %s and no start or end", i, raw[i], want)
		}
	}
	if raw[1]["slots"] != "8192-16383 100-100" || raw[2]["slots"] != "" {
		t.Errorf("--json slots: %v, %v", raw[1]["slots"], raw[2]["slots"])
	}
}

// While slot 100 moves, a node that has applied the change and one that
// has not yet list different ranges for g1 and g2: --all shows each node's
// own.
func TestGroups_AllShowsEachNodesRanges(t *testing.T) {
	addrs := fakeGroupsCluster(t, false, migrated(), threeGroups("n3"))
	rows := tableRows(ok(t, "--addr", addrs[0], "groups", "--all"))
	var got []string
	for _, r := range rows {
		got = append(got, r[0]+" "+r[1]+" "+r[2])
	}
	want := "[g1 0-99,101-8191 n1 g1 0-5460 n2 g2 100-100,8192-16383 n1 g2 5461-10921 n2 g3 - n1 g3 10922-16383 n2]"
	if fmt.Sprint(got) != want {
		t.Errorf("got  %v\nwant %s", got, want)
	}
	views := decode[[]groupViews](t, ok(t, "--addr", addrs[0], "--json", "groups", "--all"))
	if len(views) != 3 || views[0].Nodes[0].Slots != "0-99 101-8191" || views[0].Nodes[1].Slots != "0-5460" {
		t.Errorf("--json: %+v", views)
	}
}

// status leaves the home group's problems to its own lines (assess) and
// reports every other group's, even once the home group no longer owns
// slot 0 and so no longer sorts first.
func TestStatus_JudgesTheGroupsBeyondTheHomeGroupWhereverTheySort(t *testing.T) {
	view := []string{
		groupLine(0, "g1", "5461-10921", "leader", 2, "n1", 3, 10, 8),
		groupLine(1, "g2", "0-5460", "candidate", 3, "", 3, 12, 9),
		groupLine(2, "g3", "10922-16383", "follower", 3, "n3", 3, 12, 9),
	}
	addrs := fakeGroupsCluster(t, false, view, view, view)
	r := ctl(t, "--addr", addrs[0], "status")
	if r.code != exitUnhealthy || !strings.Contains(r.stdout, "g2: no node knows a leader") || strings.Contains(r.stdout, "g1:") {
		t.Fatalf("status: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// g1 (the home group) without a leader in its raft_group line: status
	// judges it from INFO raft's own lines (n1 leads), not twice.
	view[0] = groupLine(0, "g1", "5461-10921", "candidate", 2, "", 3, 10, 8)
	view[1] = groupLine(1, "g2", "0-5460", "follower", 3, "n2", 3, 12, 9)
	addrs = fakeGroupsCluster(t, false, view, view, view)
	if r := ctl(t, "--addr", addrs[0], "status"); strings.Contains(r.stdout, "g1:") || strings.Contains(r.stdout, "g2:") {
		t.Fatalf("status: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
