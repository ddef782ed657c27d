package main_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/walkerdb/walkerdb/internal/harness"
	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/walkerd/shard"
)

// TestE2E_ClusterModeWithClusterAwareClients runs three nodes with
// --cluster-mode yes and drives them with unmodified cluster clients:
// go-redis's ClusterClient, seeded with a follower only, follows -MOVED to
// the leader; with ReadOnly it reads from the followers; redis-cli -c
// follows the redirect; CROSSSLOT reaches the client; after a leadership
// transfer the ClusterClient finds the new leader and no write is lost.
func TestE2E_ClusterModeWithClusterAwareClients(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3, "--cluster-mode", "yes")
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	fs := c.Followers(leader)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Every node gives the same map: the leader owns 0-16383, the
	// followers are its replicas.
	if err := harness.WaitFor(10*time.Second, func() error {
		for _, n := range c.Nodes {
			got, err := n.Do("CLUSTER", "NODES")
			if err != nil {
				return err
			}
			want := shard.NodeID(leader.ID) + " " + leader.RESP + "@"
			if !strings.Contains(got, want) || !strings.Contains(got, "master - ") || !strings.Contains(got, " connected 0-16383\n") ||
				strings.Count(got, "slave "+shard.NodeID(leader.ID)) != 2 {
				return fmt.Errorf("%s: CLUSTER NODES = %q", n.ID, got)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{fs[0].RESP}, MaxRedirects: 8})
	defer cc.Close()
	const keys = 300
	writeAndReadBack(ctx, t, cc, keys)
	// A follower refuses the write itself, naming the leader.
	if got, err := fs[1].Do("SET", "k:0", "x"); err != nil || got != "-MOVED "+strconv.Itoa(int(keySlot("k:0")))+" "+leader.RESP+"\r\n" {
		t.Fatalf("SET on a follower = %q, %v", got, err)
	}

	// ReadOnly: the reads go to the followers, which have applied the
	// writes by the time the leader's commit index is theirs.
	commit := mustInfo(t, leader)["raft_commit_index"]
	if err := harness.WaitFor(10*time.Second, func() error {
		for _, f := range fs {
			if got := mustInfo(t, f)["raft_applied_index"]; atoi(got) < atoi(commit) {
				return fmt.Errorf("%s applied %s of %s", f.ID, got, commit)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	before := followerGets(t, fs)
	ro := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{leader.RESP}, ReadOnly: true})
	defer ro.Close()
	for i := range keys {
		if v, err := ro.Get(ctx, "k:"+strconv.Itoa(i)).Int(); err != nil || v != i {
			t.Fatalf("ReadOnly GET k:%d = %d, %v", i, v, err)
		}
	}
	if after := followerGets(t, fs); after-before < keys {
		t.Fatalf("the followers served %d of %d ReadOnly GETs", after-before, keys)
	}

	// redis-cli -c follows the redirect from a follower.
	if cli, err := exec.LookPath("redis-cli"); err == nil {
		host, port, _ := net.SplitHostPort(fs[1].RESP)
		out, err := exec.CommandContext(ctx, cli, "-c", "-h", host, "-p", port, "SET", "cli:key", "v1").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "OK" {
			t.Fatalf("redis-cli -c SET = %q, %v", out, err)
		}
		out, err = exec.CommandContext(ctx, cli, "-c", "-h", host, "-p", port, "GET", "cli:key").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "v1" {
			t.Fatalf("redis-cli -c GET = %q, %v", out, err)
		}
	}

	// A leadership transfer: the ClusterClient's next write meets MOVED
	// (or a closed leader) and goes to the new leader; INCRs stay exact.
	target := fs[0]
	if got, err := leader.Do("RAFT.TRANSFER", target.ID); err != nil || got != "+OK\r\n" {
		t.Fatalf("RAFT.TRANSFER = %q, %v", got, err)
	}
	const incrs = 200
	for i := range incrs {
		if err := retryMoved(ctx, func() error { return cc.Incr(ctx, "counter").Err() }); err != nil {
			t.Fatalf("INCR %d after the transfer: %v", i, err)
		}
	}
	if v, err := cc.Get(ctx, "counter").Int(); err != nil || v != incrs {
		t.Fatalf("counter = %d, %v, want %d", v, err, incrs)
	}
	if got, err := target.Do("CLUSTER", "NODES"); err != nil || !strings.Contains(got, "myself,master - ") {
		t.Fatalf("the new leader's CLUSTER NODES = %q, %v", got, err)
	}
}

// retryMoved retries fn while the cluster elects: go-redis follows MOVED
// itself, but a write that reached the old leader as it stepped down
// answers TRYAGAIN or CLUSTERDOWN, which it does not retry. A write that
// failed that way was never applied (TRYAGAIN, CLUSTERDOWN), so retrying
// keeps the counter exact; an UNKNOWN outcome would not, and fails.
func retryMoved(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := fn()
		if err == nil || time.Now().After(deadline) ||
			!(strings.HasPrefix(err.Error(), "TRYAGAIN") || strings.HasPrefix(err.Error(), "CLUSTERDOWN")) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func keySlot(k string) uint16 { return keyspace.Slot([]byte(k)) }

// writeAndReadBack SETs k:0..n-1 to their numbers through a cluster
// client, reads each back, and checks that MSET works in one slot and
// answers CROSSSLOT across two.
func writeAndReadBack(ctx context.Context, t *testing.T, cc *redis.ClusterClient, n int) {
	t.Helper()
	for i := range n {
		if err := cc.Set(ctx, "k:"+strconv.Itoa(i), i, 0).Err(); err != nil {
			t.Fatalf("ClusterClient SET k:%d: %v", i, err)
		}
	}
	for i := range n {
		if v, err := cc.Get(ctx, "k:"+strconv.Itoa(i)).Int(); err != nil || v != i {
			t.Fatalf("ClusterClient GET k:%d = %d, %v", i, v, err)
		}
	}
	if err := cc.MSet(ctx, "{u}a", 1, "{u}b", 2).Err(); err != nil {
		t.Fatalf("MSET in one slot: %v", err)
	}
	if err := cc.Do(ctx, "MSET", "a", 1, "b", 2).Err(); err == nil || !strings.HasPrefix(err.Error(), "CROSSSLOT ") {
		t.Fatalf("MSET across slots = %v, want CROSSSLOT", err)
	}
}

func mustInfo(t *testing.T, n *harness.Node) map[string]string {
	t.Helper()
	info, err := n.Info()
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// followerGets sums the GET calls the followers served (INFO
// commandstats).
func followerGets(t *testing.T, fs []*harness.Node) int {
	t.Helper()
	total := 0
	for _, f := range fs {
		out, err := f.Do("INFO", "commandstats")
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(out, "\r\n") {
			if rest, ok := strings.CutPrefix(line, "cmdstat_get:calls="); ok {
				n, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
				total += n
			}
		}
	}
	return total
}
