package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/internal/resp"
)

func slotsCommand() *cli.Command {
	return &cli.Command{
		Name:  "slots",
		Usage: "print the hash slot map: which group owns each slot range and which node leads it",
		Description: `Prints the slot map as the node at --addr sees it, one row per slot range,
sorted by slot: the range (first-last of the 16384 hash slots), the Raft
group that owns it, the group's leader (its walkerd id and RESP address)
and its replicas (the other members, each with its RESP address). Once
slots have migrated between groups (walkerctl migrate) a group may own
several ranges, each its own row, or none, and then has no row.

Ranges and leaders come from INFO raft (a node started with --groups N
reports one raft_group<i> line per group; a node without it owns every slot
in one group, g1), and addresses from RAFT.MEMBERS: every node hosts every
group, so each group's members are the cluster's. None of this needs
cluster mode. When the node runs with --cluster-mode yes, the Redis Cluster
node ids (40 hex characters, as CLUSTER NODES and MOVED clients see them)
are shown too, read from CLUSTER NODES.

A range whose group has no known leader shows "-" as its leader. A node
the placement group marks down (its leader's heartbeats to it failed for
10 s; read with WALKER.PLACEMENT on a node with several groups) shows
"(down)" right after its id.

--json prints a list of {"start", "end", "group", "leader", "replicas"}
objects, leader and each replica being {"id", "addr", "cluster_id",
"down"} (cluster_id only in cluster mode, down only when true); leader is
null while none is known.`,
		Action: runSlots,
	}
}

// slotNode is a node of the slot map.
type slotNode struct {
	ID        string `json:"id"`
	Addr      string `json:"addr"`                 // RESP address, "" when not recorded yet
	ClusterID string `json:"cluster_id,omitempty"` // Redis Cluster node id, in cluster mode
	Down      bool   `json:"down,omitempty"`       // marked down by the placement group
}

// slotRange is one row of the slot map.
type slotRange struct {
	Start    uint16     `json:"start"`
	End      uint16     `json:"end"`
	Group    string     `json:"group"`
	Leader   *slotNode  `json:"leader"`
	Replicas []slotNode `json:"replicas"`
}

func runSlots(c *cli.Context) error {
	if err := args(c, 0, 0); err != nil {
		return err
	}
	o, err := optsOf(c)
	if err != nil {
		return err
	}
	gs, in, addr, err := fetchGroups(o, "cluster")
	if err != nil {
		return err
	}
	// The rest from the same node.
	one := *o
	one.addrs = []string{addr}
	ms, err := fetchMembers(&one)
	if err != nil {
		return err
	}
	var clusterIDs map[string]string
	if in.get("cluster_enabled") == "1" {
		v, _, err := one.doOnce("CLUSTER", "NODES")
		if err != nil {
			return err
		}
		clusterIDs = parseClusterNodes(string(v.Str))
	}
	rows := slotMap(gs, ms, clusterIDs)
	if down := downNodes(&one); down != nil {
		for i := range rows {
			if l := rows[i].Leader; l != nil {
				l.Down = down[l.ID]
			}
			for j := range rows[i].Replicas {
				rows[i].Replicas[j].Down = down[rows[i].Replicas[j].ID]
			}
		}
	}
	if o.json {
		return writeJSON(o.stdout, rows)
	}
	cluster := clusterIDs != nil
	header := []string{"SLOTS", "GROUP", "LEADER", "LEADER ADDRESS"}
	if cluster {
		header = append(header, "LEADER CLUSTER ID")
	}
	t := newTable(append(header, "REPLICAS")...)
	for _, r := range rows {
		var reps []string
		for _, n := range r.Replicas {
			reps = append(reps, n.ID+downMark(n)+"@"+orDash(n.Addr))
		}
		cells := []string{fmt.Sprintf("%d-%d", r.Start, r.End), r.Group, "", ""}
		if r.Leader != nil {
			cells[2], cells[3] = r.Leader.ID+downMark(*r.Leader), r.Leader.Addr
		}
		if cluster {
			id := ""
			if r.Leader != nil {
				id = r.Leader.ClusterID
			}
			cells = append(cells, id)
		}
		t.add(append(cells, strings.Join(reps, ","))...)
	}
	return t.write(o.stdout)
}

// slotMap joins the groups' ranges and leaders with the members'
// addresses: one row per range, sorted by first slot (a group that owns
// several ranges has several rows, one that owns none has none). Every
// member of the cluster is a member of every group (the groups of a node
// are the cluster's): the leader first, the others its replicas in
// RAFT.MEMBERS order. clusterIDs maps RESP addresses to Redis Cluster node
// ids, nil outside cluster mode.
func slotMap(gs []groupInfo, ms []member, clusterIDs map[string]string) []slotRange {
	rows := []slotRange{}
	for _, g := range gs {
		var leader *slotNode
		replicas := []slotNode{}
		for _, m := range ms {
			n := slotNode{ID: m.ID, Addr: m.RESPAddr, ClusterID: clusterIDs[m.RESPAddr]}
			if m.ID == g.Leader {
				leader = &n
				continue
			}
			replicas = append(replicas, n)
		}
		if leader == nil && g.Leader != "" { // a leader RAFT.MEMBERS does not list yet
			leader = &slotNode{ID: g.Leader}
		}
		for _, sr := range g.Ranges {
			// Rows share nothing: the down marks are set row by row.
			r := slotRange{Start: sr.Start, End: sr.End, Group: g.ID, Replicas: slices.Clone(replicas)}
			if leader != nil {
				l := *leader
				r.Leader = &l
			}
			rows = append(rows, r)
		}
	}
	sort.SliceStable(rows, func(a, b int) bool { return rows[a].Start < rows[b].Start })
	return rows
}

// parseClusterNodes maps each node's address (ip:port) to its Redis Cluster
// node id, from CLUSTER NODES's lines: "<id> <ip:port@cport[,hostname]>
// <flags> ..." (cluster.c clusterGenNodeDescription).
func parseClusterNodes(text string) map[string]string {
	ids := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@")
		ids[addr] = f[0]
	}
	return ids
}

// downNodes reads the placement state (WALKER.PLACEMENT's JSON) from the
// node and returns the ids of the nodes it marks down; nil when the node
// has no placement group (one Raft group) or cannot say.
func downNodes(o *opts) map[string]bool {
	v, _, err := o.doOnce("WALKER.PLACEMENT")
	if err != nil || v.Kind != resp.KindBulk || v.Null {
		return nil
	}
	var st struct {
		Nodes []struct {
			ID string `json:"id"`
			Up bool   `json:"up"`
		} `json:"nodes"`
	}
	if json.Unmarshal(v.Str, &st) != nil {
		return nil
	}
	down := map[string]bool{}
	for _, n := range st.Nodes {
		if !n.Up {
			down[n.ID] = true
		}
	}
	return down
}

// downMark is "(down)" for a node marked down, else "".
func downMark(n slotNode) string {
	if n.Down {
		return "(down)"
	}
	return ""
}

// orDash prints an empty string as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
