package main

import (
	"fmt"
	"strings"
	"testing"
)

func TestSlots_MapsRangesToLeadersAndReplicas(t *testing.T) {
	addrs := fakeGroupsCluster(t, false, threeGroups("n3"), threeGroups("n3"), threeGroups("n3"))
	out := ok(t, "--addr", addrs[1], "slots")
	a1, a2, a3 := addrs[0], addrs[1], addrs[2]
	want := [][]string{
		{"0-5460", "g1", "n1", a1, "n2@" + a2 + ",n3@" + a3},
		{"5461-10921", "g2", "n2", a2, "n1@" + a1 + ",n3@" + a3},
		{"10922-16383", "g3", "n3", a3, "n1@" + a1 + ",n2@" + a2},
	}
	if !strings.HasPrefix(out, "SLOTS        GROUP  LEADER  LEADER ADDRESS") || fmt.Sprint(tableRows(out)) != fmt.Sprint(want) {
		t.Errorf("got:\n%s\nwant rows %q", out, want)
	}
	if strings.Contains(out, "CLUSTER ID") {
		t.Errorf("cluster ids outside cluster mode:\n%s", out)
	}

	rows := decode[[]slotRange](t, ok(t, "--addr", addrs[0], "--json", "slots"))
	if len(rows) != 3 || rows[1].Start != 5461 || rows[1].End != 10921 || rows[1].Group != "g2" ||
		rows[1].Leader == nil || *rows[1].Leader != (slotNode{ID: "n2", Addr: a2}) || len(rows[1].Replicas) != 2 || rows[1].Replicas[1] != (slotNode{ID: "n3", Addr: a3}) {
		t.Errorf("--json: %+v", rows)
	}
}

func TestSlots_ShowsClusterIDsOnlyInClusterMode(t *testing.T) {
	addrs := fakeGroupsCluster(t, true, threeGroups("n3"), threeGroups("n3"), threeGroups("n3"))
	out := ok(t, "--addr", addrs[0], "slots")
	rows := tableRows(out)
	if !strings.Contains(out, "LEADER CLUSTER ID") || len(rows) != 3 || rows[2][4] != fmt.Sprintf("%040x", 3) {
		t.Errorf("got:\n%s", out)
	}
	js := decode[[]slotRange](t, ok(t, "--addr", addrs[0], "--json", "slots"))
	if js[0].Leader.ClusterID != fmt.Sprintf("%040x", 1) || js[0].Replicas[0].ClusterID != fmt.Sprintf("%040x", 2) {
		t.Errorf("--json: %+v", js)
	}
}

func TestSlots_OneGroupOwnsEverySlot(t *testing.T) {
	addr := fakeNode(t, func(args []string) string {
		switch strings.ToUpper(args[0]) {
		case "INFO":
			return bulk("# Cluster\r\ncluster_enabled:0\r\n\r\n# Raft\r\nraft_state:leader\r\nraft_term:2\r\nraft_leader_id:solo\r\nraft_members:1\r\n" +
				"raft_member0:id=solo,raft=127.0.0.1:1,resp=127.0.0.1:2,role=leader,suffrage=voter\r\n")
		case "RAFT.MEMBERS":
			return "*1\r\n" + array("solo", "127.0.0.1:1", "127.0.0.1:2", "leader", "voter")
		}
		return "-ERR unknown command\r\n"
	})
	if out := ok(t, "--addr", addr, "slots"); fmt.Sprint(tableRows(out)) != "[[0-16383 g1 solo 127.0.0.1:2 -]]" {
		t.Errorf("got:\n%s", out)
	}
}

func TestSlots_ALeaderNotYetListedKeepsItsID(t *testing.T) {
	rows := slotMap([]groupInfo{{ID: "g1", Ranges: []slotSpan{{0, 16383}}, Leader: "n9"}, {ID: "g2", Ranges: []slotSpan{{0, 0}}}},
		[]member{{ID: "n1", RESPAddr: "a:1"}}, nil)
	if len(rows) != 2 || rows[0].Group != "g1" || *rows[0].Leader != (slotNode{ID: "n9"}) || len(rows[0].Replicas) != 1 || rows[1].Leader != nil {
		t.Errorf("%+v", rows)
	}
	ids := parseClusterNodes("abc 127.0.0.1:7000@17000,host myself,master - 0 0 1 connected 0-100\ndef 127.0.0.1:7001@17001 master - 0 0 1 connected\n")
	if ids["127.0.0.1:7000"] != "abc" || ids["127.0.0.1:7001"] != "def" || len(ids) != 2 {
		t.Errorf("parseClusterNodes: %v", ids)
	}
}

// A node the placement group marks down is flagged, in the table and in
// --json; a node without a placement group flags none (the tests above).
func TestSlots_FlagsANodeThePlacementGroupMarksDown(t *testing.T) {
	view := append(threeGroups("n3"), `placement-json:{"epoch":9,"nodes":[{"id":"n1","up":true},{"id":"n2","up":true},{"id":"n3","up":false}]}`)
	addrs := fakeGroupsCluster(t, false, view, view, view)
	rows := tableRows(ok(t, "--addr", addrs[0], "slots"))
	if len(rows) != 3 || rows[2][2] != "n3(down)" || !strings.HasSuffix(rows[0][4], ",n3(down)@"+addrs[2]) {
		t.Errorf("rows %q", rows)
	}
	js := decode[[]slotRange](t, ok(t, "--addr", addrs[0], "--json", "slots"))
	if !js[2].Leader.Down || js[0].Leader.Down || !js[0].Replicas[1].Down || js[0].Replicas[0].Down {
		t.Errorf("--json: %+v", js)
	}
}

// Once slots have moved, a group owns several ranges, each its own row,
// and rows go by slot across groups; a group without slots has none. The
// down mark of a node is set on every row of its group.
func TestSlots_SplitRangesAreRowsInSlotOrder(t *testing.T) {
	view := append(migrated(), `placement-json:{"epoch":30,"nodes":[{"id":"n1","up":true},{"id":"n2","up":false},{"id":"n3","up":true}]}`)
	addrs := fakeGroupsCluster(t, false, view, view, view)
	a1, a2, a3 := addrs[0], addrs[1], addrs[2]
	out := ok(t, "--addr", addrs[0], "slots")
	want := [][]string{
		{"0-99", "g1", "n1", a1, "n2(down)@" + a2 + ",n3@" + a3},
		{"100-100", "g2", "n2(down)", a2, "n1@" + a1 + ",n3@" + a3},
		{"101-8191", "g1", "n1", a1, "n2(down)@" + a2 + ",n3@" + a3},
		{"8192-16383", "g2", "n2(down)", a2, "n1@" + a1 + ",n3@" + a3},
	}
	if fmt.Sprint(tableRows(out)) != fmt.Sprint(want) {
		t.Errorf("got:\n%s\nwant rows %q", out, want)
	}
	rows := decode[[]slotRange](t, ok(t, "--addr", addrs[0], "--json", "slots"))
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%d-%d %s %s %v", r.Start, r.End, r.Group, r.Leader.ID, r.Leader.Down))
	}
	if fmt.Sprint(got) != "[0-99 g1 n1 false 100-100 g2 n2 true 101-8191 g1 n1 false 8192-16383 g2 n2 true]" {
		t.Errorf("--json: %v", got)
	}

	// slotMap alone: rows of one group share no leader or replicas, so a
	// change to one row leaves the others.
	gs, err := parseGroups(parseInfo("# Raft\r\nraft_groups:3\r\n" + strings.Join(migrated(), "")))
	if err != nil {
		t.Fatal(err)
	}
	m := slotMap(gs, []member{{ID: "n1", RESPAddr: "a:1"}, {ID: "n2", RESPAddr: "b:1"}}, nil)
	if len(m) != 4 {
		t.Fatalf("%+v", m)
	}
	m[0].Leader.Down, m[0].Replicas[0].Down = true, true
	if m[2].Group != "g1" || m[2].Leader.Down || m[2].Replicas[0].Down {
		t.Errorf("rows of g1 share their nodes: %+v", m[2])
	}
}
