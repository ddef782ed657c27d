package main_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/walkerdb/walkerdb/internal/harness"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// groupRuns reports whether every node of nodes runs group id (INFO raft)
// with three voters and a leader (want true), or none runs it and its
// directories are gone (want false).
func groupRuns(nodes []*harness.Node, id string, want bool) error {
	for _, n := range nodes {
		out, err := n.Do("INFO", "raft")
		if err != nil {
			return err
		}
		line := ""
		for _, l := range strings.Split(out, "\r\n") {
			if _, rest, ok := strings.Cut(l, ":"); ok && strings.HasPrefix(l, "raft_group") && strings.HasPrefix(rest, "id="+id+",") {
				line = rest
			}
		}
		_, statErr := os.Stat(filepath.Join(n.Dir, "groups", id))
		switch {
		case want && (!strings.Contains(line, ",voters=3,") || strings.Contains(line, ",leader=,")):
			return fmt.Errorf("%s: %s is %q", n.ID, id, line)
		case !want && line != "":
			return fmt.Errorf("%s still runs %s: %s", n.ID, id, line)
		case !want && !os.IsNotExist(statErr):
			return fmt.Errorf("%s: groups/%s is still there (%v)", n.ID, id, statErr)
		}
	}
	return nil
}

// TestE2E_SplitIntoANewGroupAndMergeItAway splits a group into one made
// at run time and merges it away again, while plain clients INCR counters
// in the slots that move:
//   - WALKER.GROUP ADD LIKE g2 makes g3 on g2's members; every node opens
//     it and it elects a leader; a node restarted then reopens it from
//     <raftdir>/GROUPS;
//   - the upper half of g2's slots moves into g3, with a function library
//     loaded before g3 existed (FCALL works in g3's slots: the move seeds
//     it) and a hash with a TTL (moved whole);
//   - WALKER.GROUP DROP is refused while g3 owns slots; once they moved
//     back, it ends g3 on every node (INFO raft, directories), a node
//     killed right after the drop and rejoined does not bring it back,
//     and the id is never reused;
//   - every counter ends at its acknowledged increments (plus at most the
//     increments whose outcome a restart made unknown).
//
// In cluster mode the clients are go-redis ClusterClients, which find the
// new group's leader through MOVED and CLUSTER SLOTS; otherwise plain
// clients of two nodes, which forward.
func TestE2E_SplitIntoANewGroupAndMergeItAway(t *testing.T) {
	for _, mode := range []string{"no", "yes"} {
		t.Run("cluster-mode="+mode, func(t *testing.T) { testSplitAndMerge(t, mode) })
	}
}

func testSplitAndMerge(t *testing.T, mode string) {
	c := harness.StartCluster(t, bin(t), 3, "--groups", "2", "--cluster-mode", mode)
	waitGroups(t, c, 2, 0)
	if _, err := recordedMap(c); err != nil {
		t.Fatal(err)
	}
	// A new group's members must be nodes the placement state knows
	// (each reports itself about once a second).
	if err := harness.WaitFor(20*time.Second, func() error {
		st, err := placementOf(c.Nodes[0])
		if err == nil && len(st.Nodes) != 3 {
			err = fmt.Errorf("placement knows %d nodes", len(st.Nodes))
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	n1, n2, n3 := c.Nodes[0], c.Nodes[1], c.Nodes[2]
	// walkerd's leader spread gives g1 to node1 and g2 to node2: waited
	// for, so that no hand-over of g2 falls among the increments below.
	if err := harness.WaitFor(30*time.Second, func() error {
		for _, g := range groupLines(t, n1) {
			if want := map[string]string{"g1": "node1", "g2": "node2"}[g["id"]]; g["leader"] != want {
				return fmt.Errorf("%s led by %q", g["id"], g["leader"])
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var cl redis.Cmdable
	var incr func(ctx context.Context, worker int, key string) error
	if mode == "yes" {
		cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{n1.RESP, n2.RESP}, MaxRedirects: 16, MaxRetries: -1, ReadTimeout: time.Minute})
		defer cc.Close()
		cl = cc
		incr = func(ctx context.Context, _ int, key string) error { return cc.Incr(ctx, key).Err() }
	} else {
		p := redis.NewClient(exactlyOnce(n1.RESP))
		defer p.Close()
		cl = p
		plain := []*redis.Client{redis.NewClient(exactlyOnce(n1.RESP)), redis.NewClient(exactlyOnce(n2.RESP))}
		for _, p := range plain {
			defer p.Close()
		}
		incr = func(ctx context.Context, w int, key string) error { return plain[w].Incr(ctx, key).Err() }
	}

	// Keys in the upper half of g2 (12288-16383 of its 8192-16383).
	var tag string
	for i := 0; tag == ""; i++ {
		if s := keyspace.Slot([]byte("{s" + strconv.Itoa(i) + "}")); s >= 12288 {
			tag = "{s" + strconv.Itoa(i) + "}"
		}
	}
	lib := "#!lua name=splitlib\nredis.register_function('bump', function(keys, args) return redis.call('INCRBY', keys[1], args[1]) end)"
	if err := cl.FunctionLoad(ctx, lib).Err(); err != nil {
		t.Fatal(err)
	}
	if err := cl.HSet(ctx, tag+":h", "a", "1", "b", "2").Err(); err != nil {
		t.Fatal(err)
	}
	if err := cl.PExpireAt(ctx, tag+":h", time.Now().Add(time.Hour)).Err(); err != nil {
		t.Fatal(err)
	}
	exp, _ := cl.PExpireTime(ctx, tag+":h").Result()

	counters := []string{tag + ":c0", tag + ":c1"}
	l := runCounters(ctx, counters, incr)

	// Making the group costs the clients nothing: no node answers
	// LOADING while its copy of the new group elects and catches up.
	waitAcked := func(n int64) {
		t.Helper()
		if err := harness.WaitFor(30*time.Second, func() error {
			if got := l.acked[0].Load(); got < n {
				return fmt.Errorf("%d increments acknowledged", got)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	waitAcked(20)
	errsBefore := l.errs.Load()
	id, err := n2.Do("WALKER.GROUP", "ADD", "LIKE", "g2")
	if err != nil || id != "$2\r\ng3\r\n" {
		t.Fatalf("WALKER.GROUP ADD LIKE g2 = %q, %v", id, err)
	}
	if err := harness.WaitFor(30*time.Second, func() error { return groupRuns(c.Nodes, "g3", true) }); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
	waitAcked(l.acked[0].Load() + 20)
	if e := l.errs.Load(); e != errsBefore {
		t.Fatalf("%d increments failed while g3 was made (first: %v)", e-errsBefore, l.first.Load())
	}
	// A restart reopens g3 from GROUPS, before the placement state is read.
	n3.Stop()
	n3.Start()
	if err := n3.WaitReady(30 * time.Second); err != nil {
		t.Fatalf("%v\n%s", err, n3.Log())
	}
	if err := harness.WaitFor(30*time.Second, func() error { return groupRuns(c.Nodes, "g3", true) }); err != nil {
		t.Fatalf("after node3's restart: %v\n%s", err, n3.Log())
	}
	if got, _ := os.ReadFile(filepath.Join(n3.Dir, "raft", "GROUPS")); string(got) != "2\ng1 g2 g3\n" {
		t.Errorf("node3's GROUPS = %q", got)
	}

	if out, err := n1.Do("WALKER.MIGRATE", "12288-16383", "g3"); err != nil || out != "+OK\r\n" {
		t.Fatalf("WALKER.MIGRATE = %q, %v", out, err)
	}
	owned := func(group string) func() error {
		return func() error {
			for _, n := range c.Nodes {
				st, err := placementOf(n)
				if err != nil {
					return err
				}
				if len(st.Moves) > 0 || st.Owner(12288) != group || st.Owner(16383) != group || st.Owner(12287) != "g2" {
					return fmt.Errorf("%s: 12288 owned by %q, moves %v", n.ID, st.Owner(12288), st.Moves)
				}
			}
			return nil
		}
	}
	if err := harness.WaitFor(60*time.Second, owned("g3")); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
	if out, err := n1.Do("WALKER.GROUP", "DROP", "g3"); err != nil || !strings.Contains(out, "still owns slots") {
		t.Fatalf("DROP of a group with slots = %q, %v", out, err)
	}
	if mode == "yes" { // the slot map names g3's leader for its slots
		out, err := n2.Do("CLUSTER", "SHARDS")
		if err != nil || !strings.Contains(out, "12288") {
			t.Errorf("CLUSTER SHARDS after the split: %q, %v", out, err)
		}
	}
	// The library loaded before g3 existed runs in g3's slots.
	if got, err := cl.FCall(ctx, "bump", []string{tag + ":f"}, 5).Int64(); err != nil || got != 5 {
		t.Fatalf("FCALL bump in g3 = %d, %v", got, err)
	}
	if got, err := cl.HGetAll(ctx, tag+":h").Result(); err != nil || len(got) != 2 || got["b"] != "2" {
		t.Errorf("the hash in g3: %v, %v", got, err)
	}
	if got, _ := cl.PExpireTime(ctx, tag+":h").Result(); got != exp {
		t.Errorf("the hash's PEXPIRETIME in g3 = %v, want %v", got, exp)
	}

	// Back into g2, and g3 ends.
	if out, err := n3.Do("WALKER.MIGRATE", "12288-16383", "g2"); err != nil || out != "+OK\r\n" {
		t.Fatalf("WALKER.MIGRATE back = %q, %v", out, err)
	}
	if err := harness.WaitFor(60*time.Second, owned("g2")); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
	if out, err := n3.Do("WALKER.GROUP", "DROP", "g3"); err != nil || out != "+OK\r\n" {
		t.Fatalf("WALKER.GROUP DROP g3 = %q, %v", out, err)
	}
	// node2 stops at once, its copy of the drop maybe not applied, and
	// rejoins: replaying its placement log, it passes through states in
	// which g3 still runs, and must not open g3 again from them. Killed
	// with plain clients; stopped (its replies out first) with
	// ClusterClients, which send a command again after a lost reply
	// whatever MaxRetries says (go-redis osscluster.go, process), so an
	// increment applied before the kill would count twice.
	if mode == "no" {
		n2.Kill()
	} else {
		n2.Stop()
	}
	n2.Start("-join", n1.RESP)
	if err := harness.WaitFor(30*time.Second, func() error { // caught up: every group of node2's has a leader again
		if r, err := n2.Do("PING"); err != nil || r != "+PONG\r\n" {
			return fmt.Errorf("PING = %q, %v", r, err)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, n2.Log())
	}
	if err := harness.WaitFor(30*time.Second, func() error { return groupRuns(c.Nodes, "g3", false) }); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
	log := n2.Log()
	if since := log[strings.LastIndex(log, "--- start"):]; strings.Contains(since, `msg="opened a Raft group made at run time" group=g3`) {
		t.Fatalf("node2 opened g3 again after its drop:\n%s", since)
	}
	l.halt()
	for i, k := range counters {
		got, err := cl.Get(ctx, k).Int64()
		acked := l.acked[i].Load()
		if err != nil || got < acked || got > acked+l.errs.Load() || acked == 0 {
			t.Errorf("%s = %d, %v; acknowledged %d, %d errors (first: %v)", k, got, err, acked, l.errs.Load(), l.first.Load())
		}
	}
	if got, err := cl.Get(ctx, tag+":f").Int64(); err != nil || got != 5 {
		t.Errorf("the key FCALL wrote in g3, back in g2: %d, %v", got, err)
	}

	// The drop is final, and the next group is g4.
	st, err := placementOf(n1)
	if err != nil || !slices.Contains(st.Dropped, "g3") || st.Group("g3") != nil {
		t.Fatalf("placement after DROP: %+v, %v", st, err)
	}
	if id, err := n1.Do("WALKER.GROUP", "ADD", "LIKE", "g1"); err != nil || id != "$2\r\ng4\r\n" {
		t.Fatalf("the next group = %q, %v", id, err)
	}
}
