package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// Three walkerd processes with three Raft groups each (--groups 3): slots
// shows three ranges that cover every slot, each led by a member, and
// groups --all shows every node holding all three groups with three voters
// and one agreed leader, each node leading one group (walkerd spreads them).
// The groups other than g1 add the joining nodes one after the other, and
// leaders are handed over after, so the test waits for that to settle.
func TestCLI_SlotsAndGroupsOfARealThreeGroupCluster(t *testing.T) {
	bin := walkerd(t)
	c := harness.StartCluster(t, bin, 3, "--groups", "3")
	defer func() {
		if t.Failed() {
			t.Log(c.Logs())
		}
	}()
	addrs := map[string]string{} // node id -> RESP address
	for _, n := range c.Nodes {
		addrs[n.ID] = n.RESP
	}

	step(t, "groups --all shows three groups with three voters on every node", func(t *testing.T) {
		var out string
		eventually(t, 60*time.Second, func() error {
			r := ctl(t, "--addr", c.Nodes[2].RESP, "groups", "--all")
			out = r.stdout
			if r.code != exitOK {
				return fmt.Errorf("exit %d: %s\n%s", r.code, r.stderr, out)
			}
			// A second call: a hand-over between the two answers exit 6,
			// which is retried like the first.
			j := ctl(t, "--addr", c.Nodes[2].RESP, "--json", "groups", "--all")
			if j.code != exitOK {
				return fmt.Errorf("--json: exit %d: %s", j.code, j.stderr)
			}
			views := decode[[]groupViews](t, j.stdout)
			// g1..g3, then the placement group, which owns no slot.
			if len(views) != 4 || views[3].ID != "placement" || views[3].Slots != "" {
				return fmt.Errorf("%d groups, want g1-g3 and placement: %+v", len(views), views)
			}
			led := map[string]bool{}
			for i, g := range views {
				if i < 3 {
					led[g.Nodes[0].Leader] = true
				}
				if !g.LeaderAgreed || len(g.Nodes) != 3 {
					return fmt.Errorf("group %s: %+v", g.ID, g)
				}
				leaders := 0
				for _, v := range g.Nodes {
					if !v.Reachable || v.Voters != 3 || addrs[v.Leader] == "" {
						return fmt.Errorf("group %s on %s: %+v", g.ID, v.Node, v)
					}
					if v.State == "leader" {
						leaders++
					}
				}
				if leaders != 1 {
					return fmt.Errorf("group %s: %d nodes call themselves leader", g.ID, leaders)
				}
			}
			// walkerd spreads the leaders, one group per node: wait for it,
			// so that no hand-over runs while slots is asked below.
			if len(led) != 3 {
				return fmt.Errorf("leaders not spread yet: %v", led)
			}
			if rows := tableRows(out); len(rows) != 12 {
				return fmt.Errorf("%d rows, want 12:\n%s", len(rows), out)
			}
			return nil
		})
		t.Logf("groups --all:\n%s", out)
	})

	step(t, "status judges every group: healthy", func(t *testing.T) {
		eventually(t, 30*time.Second, func() error {
			if r := ctl(t, "--addr", c.Nodes[1].RESP, "status"); r.code != exitOK {
				return fmt.Errorf("status: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			return nil
		})
	})

	step(t, "slots lists three ranges covering every slot", func(t *testing.T) {
		leaders := map[string]bool{}
		for _, n := range c.Nodes {
			rows := decode[[]slotRange](t, ok(t, "--addr", n.RESP, "--json", "slots"))
			clear(leaders)
			if len(rows) != 3 {
				t.Fatalf("%s: %d ranges, want 3: %+v", n.ID, len(rows), rows)
			}
			next := 0
			for _, r := range rows {
				if int(r.Start) != next || r.End < r.Start {
					t.Fatalf("%s: range %d-%d after slot %d: %+v", n.ID, r.Start, r.End, next-1, rows)
				}
				next = int(r.End) + 1
				if r.Leader != nil {
					leaders[r.Leader.ID] = true
				}
				if r.Leader == nil || r.Leader.Addr != addrs[r.Leader.ID] || len(r.Replicas) != 2 {
					t.Fatalf("%s: range %d-%d: leader %+v, replicas %+v", n.ID, r.Start, r.End, r.Leader, r.Replicas)
				}
				for _, rep := range r.Replicas {
					if rep.ID == r.Leader.ID || rep.Addr != addrs[rep.ID] {
						t.Fatalf("%s: range %d-%d: replica %+v", n.ID, r.Start, r.End, rep)
					}
				}
			}
			if next != slotCount {
				t.Fatalf("%s: ranges end at %d, want %d", n.ID, next-1, slotCount-1)
			}
			if len(leaders) != 3 {
				t.Fatalf("%s: leaders %v, want one group per node: %+v", n.ID, leaders, rows)
			}
		}
		out := ok(t, "--addr", c.Nodes[0].RESP, "slots")
		t.Logf("slots:\n%s", out)
		if rows := tableRows(out); len(rows) != 3 || !strings.HasPrefix(rows[0][0], "0-") || !strings.HasSuffix(rows[2][0], "-16383") {
			t.Fatalf("slots:\n%s", out)
		}
	})
}
