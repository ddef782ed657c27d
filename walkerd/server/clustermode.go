package server

import (
	"bytes"
	"strconv"

	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/walkerd/command"
	"github.com/walkerdb/walkerdb/walkerd/shard"
)

// Cluster mode: the Redis Cluster protocol (walkerd --cluster-mode yes,
// Config.Shards). A command that names keys runs only on the node that
// leads their hash slot's group, as cluster.c's getNodeByQuery decides:
//
//   - keys in more than one slot: -CROSSSLOT (a transaction's keys are
//     checked together at EXEC, as Redis does);
//   - a slot this node does not lead: -MOVED slot leader-address, unless
//     the client sent READONLY, the command only reads, and this node
//     holds the slot's group: then it reads here, at the stale level, as a
//     Redis replica serves a READONLY client;
//   - a slot no group owns, or whose leader is unknown: -CLUSTERDOWN.
//
// Commands without keys run wherever they arrive, and keyless writes
// (FLUSHALL, FUNCTION LOAD, SCRIPT LOAD, PUBLISH) still go to the leader
// over the node link. Outside cluster mode every node takes every command
// and forwards what only the leader may run; CLUSTER, READONLY and
// READWRITE then answer as a Redis without cluster support does.

const (
	crossSlotText      = "CROSSSLOT Keys in request don't hash to the same slot"
	slotNotServedText  = "CLUSTERDOWN Hash slot not served"
	clusterDisabledMsg = "ERR This instance has cluster support disabled"
)

// route finds the group of the command's keys (c.be: groups.go) and, in
// cluster mode, checks the keys against the slot map, answering with
// reject when the command may not run here. It reports whether it
// answered. Node links are never redirected: their commands were routed
// by the node that sent them (WALKER.APPLY and FORWARD find their group
// themselves).
func (s *Server) route(c *client, k *command.Spec, args [][]byte, reject func(string)) bool {
	c.localRead, c.be, c.keySlot, c.askGroup = false, nil, 0, 0
	exec := k.Name == "exec"
	asking := c.asking
	if k.Name != "asking" && k.Name != "multi" && (!c.multi || exec) {
		c.asking = false // one command, or one transaction, as Redis resets CLIENT_ASKING
	}
	if (s.shards == nil && !s.multi()) || c.link.linked || c.nodeLink.Load() {
		return false
	}
	var slot, n int
	var cross bool
	if exec {
		if !c.multi {
			return false
		}
		slot = -1
		for _, q := range c.queue {
			if slot, n, cross = s.commandSlot(q.spec, q.args, slot, n); cross {
				break
			}
		}
	} else {
		slot, n, cross = s.commandSlot(k, args, -1, 0)
	}
	refuse := reject
	if exec {
		// EXEC itself answers, and the transaction is discarded, as
		// Redis's processCommand does.
		refuse = func(msg string) {
			c.resetMulti()
			c.errorReply(msg)
		}
	}
	switch {
	case cross:
		refuse(crossSlotText)
		return true
	case n == 0:
		return false
	}
	if msg := sortInCluster(s, k, args); msg != "" {
		refuse(msg)
		return true
	}
	c.be, c.keySlot = s.groupB(s.groupOf(slot)), slot+1
	if c.be == nil {
		refuse(notRunText)
		return true
	}
	if s.shards == nil {
		return false
	}
	r := s.shards.Route(uint16(slot))
	if r.Leads {
		return false
	}
	if gi, ok := s.ledHere(slot); ok { // this node's routing table lags a move (slotmove.go)
		c.be = s.groupB(gi)
		return false
	}
	if gi, ok := s.importingHere(slot); ok && asking { // sent here by -ASK: run in (or sent on to) the target (slotmove.go)
		c.be, c.askGroup = s.groupB(gi), gi+1
		return false
	}
	if !exec && c.readonly && !c.multi && r.Member && k.Flags&command.FlagWrite == 0 {
		c.localRead = true // runRead reads here, at the stale level
		return false
	}
	refuse(redirectText(uint16(slot), r))
	return true
}

// commandSlot adds the slots of the keys of one command to slot (-1: none
// yet) and n (the keys counted so far); cross is true once two keys are
// apart: in different slots in cluster mode (as Redis Cluster), in
// different groups otherwise.
func (s *Server) commandSlot(k *command.Spec, args [][]byte, slot, n int) (int, int, bool) {
	for _, key := range entryKeys(k, args) {
		sl := int(keyspace.Slot(key))
		if n > 0 && sl != slot && (s.shards != nil || s.groupOf(sl) != s.groupOf(slot)) {
			return slot, n, true
		}
		if n == 0 {
			slot = sl
		}
		n++
	}
	return slot, n, false
}

// sortInCluster refuses SORT's BY with a pattern and GET in cluster mode,
// as sort.c does: the keys they name may be anywhere. Its options are read
// in order as sort.c reads them; one it does not know ends the walk (the
// command reports its syntax error itself).
func sortInCluster(s *Server, k *command.Spec, args [][]byte) string {
	if s.shards == nil || (k.Name != "sort" && k.Name != "sort_ro") {
		return ""
	}
	for j := 2; j < len(args); j++ {
		left := len(args) - j - 1
		switch {
		case equalFoldStr(args[j], "asc"), equalFoldStr(args[j], "desc"), equalFoldStr(args[j], "alpha"):
		case equalFoldStr(args[j], "limit") && left >= 2:
			j += 2
		case equalFoldStr(args[j], "store") && left >= 1 && k.Name == "sort":
			j++
		case equalFoldStr(args[j], "by") && left >= 1:
			if bytes.IndexByte(args[j+1], '*') >= 0 {
				return "ERR BY option of SORT denied in Cluster mode."
			}
			j++
		case equalFoldStr(args[j], "get") && left >= 1:
			return "ERR GET option of SORT denied in Cluster mode."
		default:
			return ""
		}
	}
	return ""
}

func redirectText(slot uint16, r shard.Route) string {
	if !r.Served {
		return slotNotServedText
	}
	if r.Addr == "" {
		return "CLUSTERDOWN The cluster is down"
	}
	return "MOVED " + strconv.Itoa(int(slot)) + " " + r.Addr
}

// clusterOff answers a cluster command outside cluster mode, as Redis does
// with cluster-enabled no. It reports whether it answered.
func (s *Server) clusterOff(c *client) bool {
	if s.shards != nil {
		return false
	}
	c.errorReply(clusterDisabledMsg)
	return true
}

// READONLY: this connection may read from a node that holds a slot's group
// but does not lead it.
func cmdReadonly(s *Server, c *client, args [][]byte) {
	if s.clusterOff(c) {
		return
	}
	c.readonly = true
	c.ok()
}

// READWRITE: back to reading only where the slot is led.
func cmdReadwrite(s *Server, c *client, args [][]byte) {
	if s.clusterOff(c) {
		return
	}
	c.readonly = false
	c.ok()
}

// ASKING: the next command (or MULTI block) may run in a group this node
// leads that imports its slot, where a migrating slot's source sent the
// client with -ASK (route).
func cmdAsking(s *Server, c *client, args [][]byte) {
	if s.clusterOff(c) {
		return
	}
	c.asking = true
	c.ok()
}

// clusterMap answers a CLUSTER subcommand that needs the slot map: fn
// writes the reply from it.
func clusterMap(fn func(s *Server, c *client, m *shard.Map)) handler {
	return func(s *Server, c *client, args [][]byte) {
		if s.clusterOff(c) {
			return
		}
		m, err := s.shards.Map()
		if err != nil {
			c.fail(err)
			return
		}
		fn(s, c, m)
	}
}

// CLUSTER SLOTS: per group with a known leader and per range, [start, end,
// leader, replicas...], each node [ip, port, id, {}] (Redis 7.0's shape:
// the last element is its additional networking metadata, none here).
func cmdClusterSlots(s *Server, c *client, m *shard.Map) {
	type row struct {
		r     shard.Range
		nodes []shard.Node
	}
	var rows []row
	for i := range m.Groups {
		g := &m.Groups[i]
		l, ok := g.LeaderNode()
		if !ok || l.Addr == "" {
			continue
		}
		nodes := []shard.Node{l}
		for _, n := range m.Followers(g) {
			if n.Addr != "" && !n.Down { // cluster.c skips failed replicas
				nodes = append(nodes, n)
			}
		}
		for _, r := range g.Ranges {
			rows = append(rows, row{r, nodes})
		}
	}
	c.array(len(rows))
	for _, x := range rows {
		c.array(2 + len(x.nodes))
		c.integer(int64(x.r.Start))
		c.integer(int64(x.r.End))
		for _, n := range x.nodes {
			host, port := shard.SplitAddr(n.Addr)
			c.array(4)
			c.bulkString(host)
			c.integer(int64(port))
			c.bulkString(shard.NodeID(n.ID))
			c.w.Map(0)
		}
	}
}

// CLUSTER SHARDS: per group, a map of "slots" (start and end of each
// range, flat) and "nodes" (a map per member: id, port, ip, endpoint,
// role, replication-offset, health), as Redis 7.0's CLUSTER SHARDS.
func cmdClusterShards(s *Server, c *client, m *shard.Map) {
	c.array(len(m.Groups))
	for i := range m.Groups {
		g := &m.Groups[i]
		c.w.Map(2)
		c.bulkString("slots")
		c.array(2 * len(g.Ranges))
		for _, r := range g.Ranges {
			c.integer(int64(r.Start))
			c.integer(int64(r.End))
		}
		c.bulkString("nodes")
		nodes := m.Followers(g)
		if l, ok := g.LeaderNode(); ok {
			nodes = append([]shard.Node{l}, nodes...)
		}
		c.array(len(nodes))
		for _, n := range nodes {
			host, port := shard.SplitAddr(n.Addr)
			role, health := "replica", "online"
			if n.ID == g.Leader {
				role = "master"
			}
			if n.Addr == "" || n.Down {
				health = "failed"
			}
			c.w.Map(7)
			c.bulkString("id")
			c.bulkString(shard.NodeID(n.ID))
			c.bulkString("port")
			c.integer(int64(port))
			c.bulkString("ip")
			c.bulkString(host)
			c.bulkString("endpoint")
			c.bulkString(host)
			c.bulkString("role")
			c.bulkString(role)
			c.bulkString("replication-offset")
			c.integer(0)
			c.bulkString("health")
			c.bulkString(health)
		}
	}
}

// CLUSTER NODES: shard.Map.NodesText, a bulk string.
func cmdClusterNodes(s *Server, c *client, m *shard.Map) {
	c.bulkString(m.NodesText(s.shards.Self()))
}

// CLUSTER INFO: shard.Map.InfoText, a bulk string (a verbatim string in
// RESP3 on Redis; a bulk string reads the same to every client).
func cmdClusterInfo(s *Server, c *client, m *shard.Map) {
	c.bulkString(m.InfoText(s.shards.Self()))
}

// CLUSTER MYSHARDID: the shard id of the first group this node holds
// (a WalkerDB node holds one group today).
func cmdClusterMyshardid(s *Server, c *client, m *shard.Map) {
	for _, g := range m.Groups {
		if g.Has(s.shards.Self()) {
			c.bulkString(shard.ShardID(g.ID))
			return
		}
	}
	c.errorReply("ERR this node holds no group")
}

// CLUSTER MYID: this node's 40-character id (shard.NodeID).
func cmdClusterMyid(s *Server, c *client, args [][]byte) {
	if s.clusterOff(c) {
		return
	}
	c.bulkString(shard.NodeID(s.shards.Self()))
}

// CLUSTER KEYSLOT key: the key's hash slot (CRC16 of the key or of its
// {hash tag}, mod 16384).
func cmdClusterKeyslot(s *Server, c *client, args [][]byte) {
	if s.clusterOff(c) {
		return
	}
	c.integer(int64(keyspace.Slot(args[2])))
}

// parseSlot reads a slot argument: an integer (else Redis's "value is not
// an integer" error) in 0..16383 (else bad, the caller's error).
func parseSlot(c *client, arg []byte, bad string) (uint16, bool) {
	n, ok := command.ParseInt(arg)
	if !ok {
		c.errorReply("ERR value is not an integer or out of range")
		return 0, false
	}
	if n < 0 || n >= shard.Slots {
		c.errorReply(bad)
		return 0, false
	}
	return uint16(n), true
}

// CLUSTER COUNTKEYSINSLOT slot: the keys this node holds in slot, in
// database 0 (cluster mode has no other).
func cmdClusterCountkeysinslot(s *Server, c *client, args [][]byte) {
	if s.clusterOff(c) {
		return
	}
	slot, ok := parseSlot(c, args[2], "ERR Invalid slot")
	if !ok {
		return
	}
	g := s.groupB(s.groupOf(int(slot)))
	if g == nil {
		c.integer(0) // a group this node does not run holds nothing here
		return
	}
	n, err := command.CountKeysInSlot(g.Engine(), 0, s.nowMs(), slot)
	if err != nil {
		c.fail(err)
		return
	}
	c.integer(n)
}

// CLUSTER GETKEYSINSLOT slot count: up to count of this node's keys in
// slot, in key order.
func cmdClusterGetkeysinslot(s *Server, c *client, args [][]byte) {
	if s.clusterOff(c) {
		return
	}
	count, ok := command.ParseInt(args[3])
	slot, sok := command.ParseInt(args[2])
	switch {
	case !ok || !sok:
		c.errorReply("ERR value is not an integer or out of range")
		return
	case count < 0 || slot < 0 || slot >= shard.Slots:
		c.errorReply("ERR Invalid slot or number of keys")
		return
	}
	limit := int(min(count, 1<<30))
	g := s.groupB(s.groupOf(int(slot)))
	if g == nil {
		c.array(0)
		return
	}
	keys, err := command.KeysInSlot(g.Engine(), 0, s.nowMs(), uint16(slot), limit)
	if err != nil {
		c.fail(err)
		return
	}
	c.array(len(keys))
	for _, k := range keys {
		c.bulk(k)
	}
}

// clusterHelp is CLUSTER HELP's text: the subcommands WalkerDB serves, in
// Redis 7.0's words.
var clusterHelp = []string{
	"CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"COUNTKEYSINSLOT <slot>",
	"    Return the number of keys in <slot>.",
	"GETKEYSINSLOT <slot> <count>",
	"    Return key names stored by current node in a slot.",
	"INFO",
	"    Return information about the cluster.",
	"KEYSLOT <key>",
	"    Return the hash slot for <key>.",
	"MYID",
	"    Return the node id.",
	"MYSHARDID",
	"    Return the node's shard id.",
	"NODES",
	"    Return cluster configuration seen by node. Output format:",
	"    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
	"SLOTS",
	"    Return information about slots range mappings. Each range is made of:",
	"    start, end, master and replicas IP addresses, ports and ids",
	"SHARDS",
	"    Return information about slot range mappings and the nodes associated with them.",
	"HELP",
	"    Prints this help.",
}

var clusterHandlers = map[string]handler{
	"cluster|slots": clusterMap(cmdClusterSlots), "cluster|shards": clusterMap(cmdClusterShards),
	"cluster|nodes": clusterMap(cmdClusterNodes), "cluster|info": clusterMap(cmdClusterInfo),
	"cluster|myshardid": clusterMap(cmdClusterMyshardid), "cluster|myid": cmdClusterMyid,
	"cluster|keyslot": cmdClusterKeyslot, "cluster|countkeysinslot": cmdClusterCountkeysinslot,
	"cluster|getkeysinslot": cmdClusterGetkeysinslot,
	"cluster|help": func(s *Server, c *client, args [][]byte) {
		if !s.clusterOff(c) {
			helpLines(func() []string { return clusterHelp })(s, c, args)
		}
	},
	"readonly": cmdReadonly, "readwrite": cmdReadwrite, "asking": cmdAsking,
}
