package main_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/placement"
	"github.com/walkerdb/walkerdb/walkerd/shard"
)

// placementOf reads a node's copy of the placement state (WALKER.PLACEMENT).
func placementOf(n *harness.Node) (*placement.State, error) {
	raw, err := n.Do("WALKER.PLACEMENT")
	if err != nil {
		return nil, err
	}
	v, _, err := resp.Parse([]byte(raw))
	if err != nil || v.Kind != resp.KindBulk {
		return nil, fmt.Errorf("WALKER.PLACEMENT = %q %v", raw, err)
	}
	st := &placement.State{}
	return st, json.Unmarshal(v.Str, st)
}

// apart returns the node named id (nil if none) and the others.
func apart(nodes []*harness.Node, id string) (*harness.Node, []*harness.Node) {
	var one *harness.Node
	var rest []*harness.Node
	for _, n := range nodes {
		if n.ID == id {
			one = n
		} else {
			rest = append(rest, n)
		}
	}
	return one, rest
}

// placementLine parses INFO raft's raft_placement line.
func placementLine(n *harness.Node) map[string]string {
	out, err := n.Do("INFO", "raft")
	if err != nil {
		return nil
	}
	for _, line := range strings.Split(out, "\r\n") {
		if rest, ok := strings.CutPrefix(line, "raft_placement:"); ok {
			m := map[string]string{}
			for _, kv := range strings.Split(rest, ",") {
				k, v, _ := strings.Cut(kv, "=")
				m[k] = v
			}
			return m
		}
	}
	return nil
}

// recorded checks that a node's copy of the placement state has the first
// map, every group's Raft leader (as INFO raft on node n shows it) and the
// node ids given as up, and the others named down.
func recorded(t *testing.T, n *harness.Node, up, down []string) (*placement.State, error) {
	st, err := placementOf(n)
	if err != nil {
		return nil, err
	}
	if st.Epoch == 0 || len(st.Slots) != 3 || st.Owner(0) != "g1" || st.Owner(16383) != "g3" {
		return nil, fmt.Errorf("%s: no map yet: %+v", n.ID, st)
	}
	for _, g := range groupLines(t, n) {
		pg := st.Group(g["id"])
		if pg == nil || pg.Leader != g["leader"] {
			return nil, fmt.Errorf("%s: group %s led by %s, placement says %+v", n.ID, g["id"], g["leader"], pg)
		}
	}
	for _, id := range up {
		if nd := st.Node(id); nd == nil || !nd.Up || nd.RESP == "" {
			return nil, fmt.Errorf("%s: node %s not up in %+v", n.ID, id, st.Nodes)
		}
	}
	for _, id := range down {
		if nd := st.Node(id); nd == nil || nd.Up {
			return nil, fmt.Errorf("%s: node %s not down in %+v", n.ID, id, st.Nodes)
		}
	}
	return st, nil
}

// TestE2E_PlacementRecordsTheMapLeadersAndLiveness runs three nodes with
// three groups in cluster mode, then a fourth: the placement group has
// three voters and the fourth node a copy; every node's copy holds the
// first map, each group's leader and every node up, and CLUSTER INFO's
// epoch is the placement epoch. The placement leader is killed: another
// takes over, the groups the dead node led are recorded under their new
// leaders with newer epochs, and after 10 s the dead node is marked down
// (CLUSTER NODES: fail, disconnected; CLUSTER SLOTS leaves it out). It
// comes back: it is up again. The fourth node leaves: it is forgotten.
func TestE2E_PlacementRecordsTheMapLeadersAndLiveness(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3, "--groups", "3", "--cluster-mode", "yes")
	waitGroups(t, c, 3, 1)
	ids := []string{"node1", "node2", "node3"}
	var before *placement.State
	if err := harness.WaitFor(30*time.Second, func() error {
		for _, n := range c.Nodes {
			st, err := recorded(t, n, ids, nil)
			if err != nil {
				return err
			}
			if l := placementLine(n); l["voters"] != "3" || l["epoch"] != strconv.FormatUint(st.Epoch, 10) {
				return fmt.Errorf("%s: raft_placement %v", n.ID, l)
			}
			info, _ := n.Do("CLUSTER", "INFO")
			if want := "cluster_current_epoch:" + strconv.FormatUint(st.Epoch, 10) + "\r\n"; !strings.Contains(info, want) {
				return fmt.Errorf("%s: CLUSTER INFO lacks %q:\n%s", n.ID, want, info)
			}
			before = st
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}

	// A fourth node: a copy of the placement state, no vote in it.
	n4 := harness.NewNode(t, c.Bin, "node4", "--groups", "3", "--cluster-mode", "yes")
	n4.Start("-join", c.Nodes[0].RESP)
	if err := harness.WaitFor(30*time.Second, func() error {
		l := placementLine(n4)
		if l["voters"] != "3" || l["state"] != "follower" || l["leader"] == "" {
			return fmt.Errorf("node4: raft_placement %v", l)
		}
		_, err := recorded(t, n4, append(ids, "node4"), nil)
		return err
	}); err != nil {
		t.Fatalf("%v\n%s", err, n4.Log())
	}

	// Kill the placement leader.
	leader := placementLine(c.Nodes[0])["leader"]
	dead, alive := apart(c.Nodes, leader)
	if dead == nil {
		t.Fatalf("placement leader %q is not one of the first three nodes", leader)
	}
	led := map[string]bool{} // the groups it led
	for _, g := range before.Groups {
		if g.Leader == dead.ID {
			led[g.ID] = true
		}
	}
	killed := time.Now()
	dead.Kill()
	up := []string{"node4"}
	for _, n := range alive {
		up = append(up, n.ID)
	}
	var after *placement.State
	if err := harness.WaitFor(40*time.Second, func() error {
		for _, n := range append(alive, n4) {
			st, err := recorded(t, n, up, []string{dead.ID})
			if err != nil {
				return err
			}
			for id := range led {
				if g := st.Group(id); g.Leader == dead.ID || g.Epoch <= before.Epoch {
					return fmt.Errorf("%s: group %s after its leader died: %+v", n.ID, id, *g)
				}
			}
			nodes, _ := n.Do("CLUSTER", "NODES")
			line := lineOf(nodes, shard.NodeID(dead.ID))
			if !strings.Contains(line, ",fail ") || !strings.HasSuffix(line, " disconnected") {
				return fmt.Errorf("%s: CLUSTER NODES shows the dead node as %q", n.ID, line)
			}
			slots, _ := n.Do("CLUSTER", "SLOTS")
			if strings.Contains(slots, shard.NodeID(dead.ID)) {
				return fmt.Errorf("%s: CLUSTER SLOTS still lists the dead node", n.ID)
			}
			after = st
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
	// Down 10 s after the last contact, which may precede the kill by a
	// heartbeat interval: never at once.
	if took := time.Since(killed); took < 9*time.Second {
		t.Fatalf("the dead node was marked down %v after it died, before 10 s of failed heartbeats", took)
	}
	if after.Epoch <= before.Epoch {
		t.Fatalf("epoch %d after the changes, %d before", after.Epoch, before.Epoch)
	}

	// It comes back: up again everywhere.
	dead.Start("-join", c.Nodes[0].RESP)
	if err := harness.WaitFor(40*time.Second, func() error {
		for _, n := range append(c.Nodes, n4) {
			if _, err := recorded(t, n, append(ids, "node4"), nil); err != nil {
				return err
			}
			if nodes, _ := n.Do("CLUSTER", "NODES"); strings.Contains(nodes, "fail") {
				return fmt.Errorf("%s: CLUSTER NODES:\n%s", n.ID, nodes)
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}

	// The fourth node leaves every group: it is forgotten. One group at a
	// time, each retried while the restarted node takes its leadership
	// back (a transfer in progress refuses a membership change).
	for _, g := range []string{"g1", "g2", "g3", "placement"} {
		if err := harness.WaitFor(30*time.Second, func() error {
			got, err := alive[0].Do("LEAVE", "node4", "GROUP", g)
			if err != nil || got != "+OK\r\n" {
				return fmt.Errorf("LEAVE node4 GROUP %s: %q %v", g, got, err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := harness.WaitFor(30*time.Second, func() error {
		for _, n := range c.Nodes {
			st, err := recorded(t, n, ids, nil)
			if err != nil {
				return err
			}
			if st.Node("node4") != nil || st.Member("node4") {
				return fmt.Errorf("%s: node4 still in %+v", n.ID, st)
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
}

// lineOf returns the line of CLUSTER NODES' text that begins with id.
func lineOf(text, id string) string {
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, id) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}
