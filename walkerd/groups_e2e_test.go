package main_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/walkerdb/walkerdb/internal/harness"
	"github.com/walkerdb/walkerdb/walkerd/shard"
)

// groupLines parses INFO raft's raft_groupN lines: per group, its fields.
func groupLines(t *testing.T, n *harness.Node) []map[string]string {
	t.Helper()
	out, err := n.Do("INFO", "raft")
	if err != nil {
		return nil
	}
	var gs []map[string]string
	for _, line := range strings.Split(out, "\r\n") {
		if !strings.HasPrefix(line, "raft_group") || strings.HasPrefix(line, "raft_groups:") {
			continue
		}
		_, rest, _ := strings.Cut(line, ":")
		m := map[string]string{}
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		gs = append(gs, m)
	}
	return gs
}

// waitGroups waits until every node sees every group with three voters
// and a leader, and, when perNode > 0, each node leads perNode groups.
func waitGroups(t *testing.T, c *harness.Cluster, groups, perNode int) {
	t.Helper()
	if err := harness.WaitFor(60*time.Second, func() error {
		leaders := map[string]int{}
		for _, n := range c.Nodes {
			gs := groupLines(t, n)
			if len(gs) != groups {
				return fmt.Errorf("%s: %d groups in INFO raft", n.ID, len(gs))
			}
			for _, g := range gs {
				if g["voters"] != "3" || g["leader"] == "" {
					return fmt.Errorf("%s: group %v", n.ID, g)
				}
				if n == c.Nodes[0] {
					leaders[g["leader"]]++
				}
			}
		}
		for _, n := range c.Nodes {
			if perNode > 0 && leaders[n.ID] != perNode {
				return fmt.Errorf("leaders not spread: %v", leaders)
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
}

// TestE2E_SixGroupsOnThreeNodes runs three nodes with six Raft groups
// each, in cluster mode: each node leads two groups, the slot map says so
// on every node, go-redis's ClusterClient and redis-cli -c find every
// slot's leader, multi-key commands in one slot work and across slots
// answer CROSSSLOT, counters stay exact while a node is killed and its
// groups elect new leaders, and the node comes back as a replica.
func TestE2E_SixGroupsOnThreeNodes(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3, "--groups", "6", "--cluster-mode", "yes")
	waitGroups(t, c, 6, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// CLUSTER SLOTS: six ranges, each with a master and two replicas,
	// masters spread two per node, the same on every node. Each node's
	// view of a group's leader is its own Raft's, which learns of an
	// election (one the load on a shared machine can start at any time)
	// only from the new leader's first message: the views agree within a
	// deadline, not at one instant.
	if err := harness.WaitFor(30*time.Second, func() error {
		var first string
		for _, n := range c.Nodes {
			out, err := n.Do("CLUSTER", "NODES")
			if err != nil {
				return err
			}
			masters := 0
			for _, line := range strings.Split(strings.TrimSpace(out[strings.Index(out, "\n")+1:]), "\n") {
				if f := strings.Fields(line); len(f) >= 8 && strings.Contains(f[2], "master") {
					masters++
					if len(f) != 10 { // two ranges: two groups' slots
						return fmt.Errorf("%s: master line %q, want two slot ranges", n.ID, line)
					}
				}
			}
			if masters != 3 {
				return fmt.Errorf("%s: CLUSTER NODES has %d masters:\n%s", n.ID, masters, out)
			}
			slots, err := n.Do("CLUSTER", "SLOTS")
			if err != nil {
				return err
			}
			if !strings.HasPrefix(slots, "*6\r\n") {
				return fmt.Errorf("%s: CLUSTER SLOTS = %q", n.ID, slots)
			}
			if first == "" {
				first = slots
			} else if slots != first {
				return fmt.Errorf("the nodes' CLUSTER SLOTS differ:\n%q\n%q", first, slots)
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}

	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.Nodes[2].RESP}, MaxRedirects: 8})
	defer cc.Close()
	const keys = 600
	writeAndReadBack(ctx, t, cc, keys) // cluster_e2e_test.go
	// Every group holds some of the keys: KEYS on each node covers the
	// groups it leads, and together they are every key once.
	var total atomic.Int64 // ForEachMaster calls the masters at once
	if err := cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		n, err := m.DBSize(ctx).Result()
		total.Add(n)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if total.Load() != keys+2 { // and writeAndReadBack's {u}a and {u}b
		t.Fatalf("DBSIZE summed over the masters = %d, want %d", total.Load(), keys+2)
	}
	if err := cc.MSet(ctx, "{user:1}:name", "ann", "{user:1}:mail", "a@x").Err(); err != nil {
		t.Fatalf("MSET in one slot: %v", err)
	}
	pipe := cc.TxPipeline()
	pipe.Incr(ctx, "{user:1}:visits")
	pipe.Get(ctx, "{user:1}:name")
	if cmds, err := pipe.Exec(ctx); err != nil || cmds[1].(*redis.StringCmd).Val() != "ann" {
		t.Fatalf("MULTI in one slot: %v %v", cmds, err)
	}

	if cli, err := exec.LookPath("redis-cli"); err == nil {
		host, port, _ := net.SplitHostPort(c.Nodes[0].RESP)
		for i := range 20 {
			key := "cli:" + strconv.Itoa(i)
			out, err := exec.CommandContext(ctx, cli, "-c", "-h", host, "-p", port, "SET", key, "v").CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "OK" {
				t.Fatalf("redis-cli -c SET %s = %q, %v", key, out, err)
			}
		}
	}

	// Counters under a node's death: 8 writers INCR their own counter;
	// a node is killed meanwhile. Every INCR acknowledged is counted;
	// one whose outcome is unknown (UNKNOWN, or a connection lost before
	// the reply) may have counted once. The writers' client never
	// retries an INCR on its own, which could count it twice.
	wc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.Nodes[0].RESP}, MaxRedirects: 8, MaxRetries: -1})
	defer wc.Close()
	const writers = 8
	var acked, unknown [writers]int
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := "counter:" + strconv.Itoa(w)
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := wc.Incr(ctx, key).Err()
				switch {
				case err == nil:
					acked[w]++
				case strings.HasPrefix(err.Error(), "TRYAGAIN") || strings.HasPrefix(err.Error(), "CLUSTERDOWN"):
					time.Sleep(20 * time.Millisecond) // refused: never applied
				default:
					unknown[w]++ // UNKNOWN, or the connection went with the node
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	victim := c.Nodes[1]
	victim.Kill()
	// The victim's two groups elect leaders among the other two.
	if err := harness.WaitFor(30*time.Second, func() error {
		for _, g := range groupLines(t, c.Nodes[0]) {
			if g["leader"] == "" || g["leader"] == victim.ID {
				return fmt.Errorf("group %v", g)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // writes go on with two nodes
	close(stop)
	wg.Wait()
	// With the victim down, its groups stay with their new leaders: no
	// hand-over back to a node that cannot take it holds their writes
	// (a transfer in progress answers TRYAGAIN).
	refused := 0
	for i := range 200 {
		err := wc.Incr(ctx, "spread:"+strconv.Itoa(i)).Err()
		if err != nil && strings.HasPrefix(err.Error(), "TRYAGAIN") {
			refused++
		}
		time.Sleep(10 * time.Millisecond)
	}
	if refused > 0 {
		t.Fatalf("%d of 200 writes answered TRYAGAIN with a node down", refused)
	}
	for w := range writers {
		got, err := cc.Get(ctx, "counter:"+strconv.Itoa(w)).Int()
		if err != nil || got < acked[w] || got > acked[w]+unknown[w] {
			t.Fatalf("counter:%d = %d, %v; acknowledged %d, unknown %d", w, got, err, acked[w], unknown[w])
		}
		if acked[w] == 0 {
			t.Fatalf("writer %d never got an INCR through", w)
		}
	}
	// Back: it rejoins every group, and the leaders spread again.
	victim.Start()
	waitGroups(t, c, 6, 2)
	for i := range keys {
		if v, err := cc.Get(ctx, "k:"+strconv.Itoa(i)).Int(); err != nil || v != i {
			t.Fatalf("after the restart GET k:%d = %d, %v", i, v, err)
		}
	}
	if got, err := victim.Do("CLUSTER", "MYID"); err != nil || got != bulk(shard.NodeID(victim.ID)) {
		t.Fatalf("CLUSTER MYID = %q, %v", got, err)
	}
}

// TestE2E_GroupsWithoutClusterMode: plain clients of a three-node,
// four-group cluster write through any node (each write forwarded to its
// group's leader), read back everything, DBSIZE and SCAN see the whole
// keyspace from any node, FLUSHALL empties every group, and a
// multi-key command across groups answers CROSSSLOT.
func TestE2E_GroupsWithoutClusterMode(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3, "--groups", "4")
	waitGroups(t, c, 4, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	clients := make([]*redis.Client, len(c.Nodes))
	for i, n := range c.Nodes {
		clients[i] = redis.NewClient(&redis.Options{Addr: n.RESP})
		defer clients[i].Close()
	}
	const keys = 400
	for i := range keys {
		if err := clients[i%3].Set(ctx, "k:"+strconv.Itoa(i), i, 0).Err(); err != nil {
			t.Fatalf("SET k:%d through %s: %v", i, c.Nodes[i%3].ID, err)
		}
	}
	for i := range keys {
		if v, err := clients[(i+1)%3].Get(ctx, "k:"+strconv.Itoa(i)).Int(); err != nil || v != i {
			t.Fatalf("GET k:%d = %d, %v", i, v, err)
		}
	}
	for i, cl := range clients {
		if err := harness.WaitFor(10*time.Second, func() error {
			n, err := cl.DBSize(ctx).Result()
			if err == nil && n != keys {
				err = fmt.Errorf("DBSIZE = %d", n)
			}
			return err
		}); err != nil {
			t.Fatalf("%s: %v", c.Nodes[i].ID, err)
		}
		seen := map[string]bool{}
		iter := cl.Scan(ctx, 0, "", 37).Iterator()
		for iter.Next(ctx) {
			if seen[iter.Val()] {
				t.Fatalf("%s: SCAN returned %s twice", c.Nodes[i].ID, iter.Val())
			}
			seen[iter.Val()] = true
		}
		if err := iter.Err(); err != nil || len(seen) != keys {
			t.Fatalf("%s: SCAN saw %d keys, %v", c.Nodes[i].ID, len(seen), err)
		}
	}
	if err := clients[0].MSet(ctx, "a", 1, "b", 2).Err(); err == nil || !strings.HasPrefix(err.Error(), "CROSSSLOT ") {
		t.Fatalf("MSET across groups = %v, want CROSSSLOT", err)
	}
	if err := clients[1].FlushAll(ctx).Err(); err != nil {
		t.Fatalf("FLUSHALL: %v", err)
	}
	for i, cl := range clients {
		if err := harness.WaitFor(10*time.Second, func() error {
			n, err := cl.DBSize(ctx).Result()
			if err == nil && n != 0 {
				err = fmt.Errorf("DBSIZE after FLUSHALL = %d", n)
			}
			return err
		}); err != nil {
			t.Fatalf("%s: %v", c.Nodes[i].ID, err)
		}
	}
}

// TestE2E_Groups_AJoinerWithOtherGroupsStopsAndLeaveSkipsGroupsItIsNotIn:
// a node started with another --groups than the cluster's stops with a
// clear error and joins nothing (it used to join the groups both have,
// with another slot layout, and wait for the others for ever). LEAVE
// without GROUP of a node that is in only some groups removes it from
// those and answers OK (it used to answer an error after removing it).
func TestE2E_Groups_AJoinerWithOtherGroupsStopsAndLeaveSkipsGroupsItIsNotIn(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3, "--groups", "2")
	waitGroups(t, c, 2, 0)
	members := func(group string) string {
		out, _ := c.Nodes[0].Do("INFO", "raft")
		for _, line := range strings.Split(out, "\r\n") {
			if strings.Contains(line, ":id="+group+",") {
				return line
			}
		}
		return ""
	}

	odd := harness.NewNode(t, c.Bin, "odd", "--groups", "3")
	if err := odd.Process.Start("-id", odd.ID, "-tcp", odd.RESP, "-raft", odd.Raft, "-dir", odd.Dir+"/data", "-raftdir", odd.Dir+"/raft",
		"--groups", "3", "-join", c.Nodes[0].RESP); err != nil {
		t.Fatal(err)
	}
	if err := odd.Wait(30 * time.Second); err != nil {
		t.Fatalf("a node with --groups 3 kept running in a 2-group cluster: %v\n%s", err, odd.Log())
	}
	if log := odd.Log(); !strings.Contains(log, "every node of a cluster takes the same number: 2 at "+c.Nodes[0].RESP+", 3 here") {
		t.Fatalf("no clear error in its log:\n%s", log)
	}
	for _, g := range []string{"g1", "g2"} {
		if line := members(g); !strings.Contains(line, "voters=3,") {
			t.Fatalf("%s after the refused joiner: %s", g, line)
		}
	}
	if ms, _ := c.Nodes[0].Do("RAFT.MEMBERS"); strings.Contains(ms, "odd") {
		t.Fatalf("the refused joiner is a member: %q", ms)
	}

	// A node in g1 only: started with a join target that does not answer,
	// then added to g1 by hand.
	part := harness.NewNode(t, c.Bin, "part", "--groups", "2")
	part.Start("-join", harness.FreeAddr(t))
	if got, err := c.Nodes[0].Do("JOIN", "part", part.Raft, part.RESP, "GROUP", "g1"); err != nil || got != "+OK\r\n" {
		t.Fatalf("JOIN part GROUP g1: %q %v", got, err)
	}
	if err := harness.WaitFor(30*time.Second, func() error {
		if line := members("g1"); !strings.Contains(line, "voters=4,") {
			return fmt.Errorf("g1: %s", line)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Nodes[0].Do("LEAVE", "part"); err != nil || got != "+OK\r\n" {
		t.Fatalf("LEAVE part (in g1 only): %q %v", got, err)
	}
	if line := members("g1"); !strings.Contains(line, "voters=3,") {
		t.Fatalf("g1 after LEAVE: %s", line)
	}
	if got, _ := c.Nodes[0].Do("LEAVE", "part"); got != "-ERR no member with id part\r\n" {
		t.Fatalf("LEAVE of a node in no group: %q", got)
	}
}
