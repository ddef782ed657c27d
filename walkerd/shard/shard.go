// Package shard is WalkerDB's slot map and the Redis Cluster protocol's
// view of it: which Raft group owns each of the 16384 hash slots, which
// nodes hold each group, and which of them leads it. The RESP front reads
// it to answer CLUSTER SLOTS, SHARDS, NODES and INFO, and to send a client
// that asked the wrong node to the right one (-MOVED), as cluster-aware
// Redis clients (go-redis's ClusterClient, redis-cli -c, redis-benchmark
// --cluster) expect.
//
// # The map
//
//	Map{Epoch}
//	 +- Group "g1"  Ranges [0-5460]      Leader "a"   Members a b c
//	 +- Group "g2"  Ranges [5461-10922]  Leader "b"   Members a b c
//	 +- ...
//	slot(key) = CRC16(key or its {hash tag}) mod 16384   (keyspace.Slot)
//
// A slot is in at most one group; a slot in none is not served
// (CLUSTERDOWN Hash slot not served). Every group lists its members with
// the RESP address clients reach them at; the leader is the group's
// "master" in Redis Cluster's words, the other members its replicas.
//
// A WalkerDB cluster of one Raft group has Single's map: the one group
// owns every slot, its members are the Raft configuration, and Epoch is
// the Raft term (a new leader is a new configuration, as Redis Cluster
// bumps configEpoch on a failover). With several groups (Static) each
// owns a fixed range (Split), members and leaders are each group's own
// Raft state, and the epochs and the nodes' liveness come from the
// placement group (Static.WithPlacement, walkerd/placement). DESIGN.md in
// this directory draws the road on: slots that move between groups.
//
// # Node and shard ids
//
// Redis Cluster names nodes and shards by 40 lower-case hex characters;
// clients keep them as opaque strings but some check the length. A
// WalkerDB node keeps its own short id (-id) everywhere else; NodeID and
// ShardID derive the 40-character names from it: the hex SHA-1 of the id.
package shard

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// Slots is the number of hash slots, as Redis Cluster (cluster.h
// CLUSTER_SLOTS).
const Slots = 16384

// Range is the slots Start..End, both included; Start <= End < Slots.
type Range struct{ Start, End uint16 }

// Node is one WalkerDB node as the slot map shows it.
type Node struct {
	// ID is the node's WalkerDB id (walkerd -id).
	ID string
	// Addr is the RESP address clients reach it at, host:port; "" when
	// unknown (a member that never told its address).
	Addr string
	// BusPort is the port of its Raft address, shown where Redis Cluster
	// shows the cluster bus port; 0 when unknown.
	BusPort int
	// Down: the placement group has marked the node down (its leader's
	// heartbeats to it failed for 10 s), Redis Cluster's FAIL flag.
	Down bool
}

// Group is one Raft group: the slots it owns and the nodes that hold it.
type Group struct {
	// ID names the group ("g1").
	ID     string
	Ranges []Range
	// Leader is the id of the member that leads the group, "" while none
	// is known.
	Leader  string
	Members []Node
	// Epoch is the configuration epoch of the group's leader (Redis
	// Cluster's configEpoch of a master).
	Epoch uint64
}

// Map is the slot map: the groups, each slot in at most one of them.
type Map struct {
	// Epoch is the newest configuration epoch (CLUSTER INFO's
	// cluster_current_epoch).
	Epoch  uint64
	Groups []Group
}

// Owner returns the group that owns slot, or nil.
func (m *Map) Owner(slot uint16) *Group {
	for i := range m.Groups {
		for _, r := range m.Groups[i].Ranges {
			if slot >= r.Start && slot <= r.End {
				return &m.Groups[i]
			}
		}
	}
	return nil
}

// Assigned counts the slots some group owns.
func (m *Map) Assigned() int {
	n := 0
	for _, g := range m.Groups {
		for _, r := range g.Ranges {
			n += int(r.End) - int(r.Start) + 1
		}
	}
	return n
}

// Served counts the slots whose group has a known leader with an address:
// the slots a client can reach.
func (m *Map) Served() int {
	n := 0
	for _, g := range m.Groups {
		if l, ok := g.LeaderNode(); !ok || l.Addr == "" {
			continue
		}
		for _, r := range g.Ranges {
			n += int(r.End) - int(r.Start) + 1
		}
	}
	return n
}

// Nodes lists every node of every group once, sorted by id.
func (m *Map) Nodes() []Node {
	seen := map[string]Node{}
	for _, g := range m.Groups {
		for _, n := range g.Members {
			if _, ok := seen[n.ID]; !ok || seen[n.ID].Addr == "" {
				seen[n.ID] = n
			}
		}
	}
	out := make([]Node, 0, len(seen))
	for _, n := range seen {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// LeaderNode returns the group's leader among its members.
func (g *Group) LeaderNode() (Node, bool) {
	if g.Leader == "" {
		return Node{}, false
	}
	for _, n := range g.Members {
		if n.ID == g.Leader {
			return n, true
		}
	}
	return Node{}, false
}

// Followers returns the group's members that lead no group of m, in
// member order: the replicas CLUSTER SLOTS and SHARDS list. A member that
// leads another group is a master in Redis Cluster's terms, and a node is
// never both there: clients that keep one role per node (redis-py's
// RedisCluster keeps the last it reads) would take it for a replica.
func (m *Map) Followers(g *Group) []Node {
	leaders := map[string]bool{}
	for _, x := range m.Groups {
		if x.Leader != "" {
			leaders[x.Leader] = true
		}
	}
	out := make([]Node, 0, len(g.Members))
	for _, n := range g.Members {
		if n.ID != g.Leader && !leaders[n.ID] {
			out = append(out, n)
		}
	}
	return out
}

// Has reports whether node id is a member of the group.
func (g *Group) Has(id string) bool {
	for _, n := range g.Members {
		if n.ID == id {
			return true
		}
	}
	return false
}

// NodeID is the Redis Cluster node id of WalkerDB node id: 40 hex
// characters, the SHA-1 of "node:" and the id.
func NodeID(id string) string { return hashID("node:" + id) }

// ShardID is the Redis Cluster shard id of group id: 40 hex characters,
// the SHA-1 of "shard:" and the id.
func ShardID(group string) string { return hashID("shard:" + group) }

func hashID(s string) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// SplitAddr splits a host:port address for the protocol's replies, which
// carry the host and the port apart. A bad address gives ("", 0).
func SplitAddr(addr string) (host string, port int) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return "", 0
	}
	return h, n
}

// NodesText is CLUSTER NODES' reply: one line per node, as cluster.c's
// clusterGenNodeDescription writes them (Redis 7.0):
//
//	<id> <ip:port@busport> <flags> <master> <ping-sent> <pong-recv> <config-epoch> <link-state> <slot> ...
//
// flags are myself (for self), master (a group's leader) or slave, and
// fail for a node the placement group marked down (whose link-state is
// then disconnected); master is "-" or the leader's node id; ping-sent and
// pong-recv are 0 (WalkerDB learns liveness through Raft, not pings); a
// node that leads several groups lists all their ranges. A member that leads no group is shown as
// the replica of the first group that holds it whose leader is known.
func (m *Map) NodesText(self string) string {
	// A master's config epoch is the newest of the groups it leads; a
	// replica shows its master's, as Redis shows a replica's.
	led := map[string]uint64{}
	for _, g := range m.Groups {
		if g.Leader != "" {
			led[g.Leader] = max(led[g.Leader], g.Epoch)
		}
	}
	var b strings.Builder
	for _, n := range m.Nodes() {
		flags, master, epoch := "slave", "-", uint64(0)
		var ranges []Range
		for _, g := range m.Groups {
			if !g.Has(n.ID) {
				continue
			}
			switch {
			case g.Leader == n.ID:
				flags, master, epoch = "master", "-", led[n.ID]
				ranges = append(ranges, g.Ranges...)
			case flags != "master" && master == "-" && g.Leader != "":
				master, epoch = NodeID(g.Leader), led[g.Leader]
			}
		}
		link := "connected"
		if n.ID == self {
			flags = "myself," + flags
		} else if n.Down {
			flags, link = flags+",fail", "disconnected"
		}
		host, port := SplitAddr(n.Addr)
		fmt.Fprintf(&b, "%s %s:%d@%d %s %s 0 0 %d %s", NodeID(n.ID), host, port, n.BusPort, flags, master, epoch, link)
		sort.Slice(ranges, func(i, j int) bool { return ranges[i].Start < ranges[j].Start })
		for _, r := range ranges {
			if r.Start == r.End {
				fmt.Fprintf(&b, " %d", r.Start)
			} else {
				fmt.Fprintf(&b, " %d-%d", r.Start, r.End)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// InfoText is CLUSTER INFO's reply, with the fields of Redis 7.0's
// clusterGenNodesSlotsInfo/clusterCommand "info" (cluster.c), in its
// order. cluster_state is ok when every slot is owned by a group with a
// reachable leader. The message counters are Redis's cluster bus's, which
// WalkerDB does not have: they are 0.
func (m *Map) InfoText(self string) string {
	served, assigned := m.Served(), m.Assigned()
	state := "ok"
	if served < Slots {
		state = "fail"
	}
	masters := map[string]bool{} // cluster_size: the nodes that serve slots
	var myEpoch uint64
	for _, g := range m.Groups {
		if g.Leader != "" && len(g.Ranges) > 0 {
			masters[g.Leader] = true
		}
		if g.Leader == self && g.Epoch > myEpoch {
			myEpoch = g.Epoch
		}
	}
	var b strings.Builder
	line := func(k string, v any) { fmt.Fprintf(&b, "%s:%v\r\n", k, v) }
	line("cluster_state", state)
	line("cluster_slots_assigned", assigned)
	line("cluster_slots_ok", served)
	line("cluster_slots_pfail", 0)
	line("cluster_slots_fail", assigned-served)
	line("cluster_known_nodes", len(m.Nodes()))
	line("cluster_size", len(masters))
	line("cluster_current_epoch", m.Epoch)
	line("cluster_my_epoch", myEpoch)
	line("cluster_stats_messages_sent", 0)
	line("cluster_stats_messages_received", 0)
	line("total_cluster_links_buffer_limit_exceeded", 0)
	return b.String()
}
