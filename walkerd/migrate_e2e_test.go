package main_test

import (
	"context"
	"errors"
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
	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/walkerd/placement"
)

// migrateSlot asks node n to move slot to group and waits until every
// node's copy of the placement state says the move is over.
func migrateSlot(t *testing.T, c *harness.Cluster, n *harness.Node, slot uint16, group string) {
	t.Helper()
	if out, err := n.Do("WALKER.MIGRATE", strconv.Itoa(int(slot)), group); err != nil || !strings.Contains(out, "OK") {
		t.Fatalf("WALKER.MIGRATE %d %s = %q, %v", slot, group, out, err)
	}
	if err := harness.WaitFor(60*time.Second, func() error { return movedTo(c.Nodes, slot, group) }); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
}

// movedTo checks that every node's copy of the placement state has slot
// owned by group, with no move of it left.
func movedTo(nodes []*harness.Node, slot uint16, group string) error {
	for _, n := range nodes {
		st, err := placementOf(n)
		if err != nil {
			return err
		}
		if st.MoveOf(slot) != nil || st.Owner(slot) != group {
			return fmt.Errorf("%s: slot %d owner %s, move %+v", n.ID, slot, st.Owner(slot), st.MoveOf(slot))
		}
	}
	return nil
}

// counterLoad runs writers that INCR their own counter until stopped, and
// counts the acknowledged increments and the errors (whose outcome is
// unknown: each may or may not have applied).
type counterLoad struct {
	keys  []string
	acked []atomic.Int64
	errs  atomic.Int64
	first atomic.Value
	stop  atomic.Bool
	wg    sync.WaitGroup
}

// halt stops the writers between two increments and waits for them: no
// increment is left in flight, so every one is acknowledged or an error.
func (l *counterLoad) halt() {
	l.stop.Store(true)
	l.wg.Wait()
}

func runCounters(ctx context.Context, keys []string, incr func(ctx context.Context, worker int, key string) error) *counterLoad {
	l := &counterLoad{keys: keys, acked: make([]atomic.Int64, len(keys))}
	for i, k := range keys {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for !l.stop.Load() && ctx.Err() == nil {
				if err := incr(ctx, i, k); err != nil {
					if l.errs.Add(1) == 1 {
						l.first.Store(err.Error())
					}
					time.Sleep(10 * time.Millisecond)
					continue
				}
				l.acked[i].Add(1)
			}
		}()
	}
	return l
}

// exactlyOnce are a plain client's options that never send a command
// twice: go-redis retries a command whose reply timed out (3 s by
// default), which the counters would count as one increment applied twice;
// and a busy machine's slow replies are waited for, not timed out.
func exactlyOnce(addr string) *redis.Options {
	return &redis.Options{Addr: addr, MaxRetries: -1, ReadTimeout: time.Minute, WriteTimeout: time.Minute}
}

// TestE2E_MigrateSlotsUnderLoad moves hash slots between Raft groups while
// clients INCR keys of those slots: go-redis's ClusterClient (which
// follows MOVED and TRYAGAIN) in cluster mode, plain clients of every
// node otherwise. Every counter ends exactly at its acknowledged
// increments with no error seen, a hash with a TTL moves whole (fields
// and PEXPIRETIME equal), the slot map and INFO raft show the new owner,
// and the source keeps no copy: DBSIZE and SCAN count every key once.
func TestE2E_MigrateSlotsUnderLoad(t *testing.T) {
	for _, mode := range []string{"yes", "no"} {
		t.Run("cluster-mode="+mode, func(t *testing.T) { testMigrateUnderLoad(t, mode) })
	}
}

func testMigrateUnderLoad(t *testing.T, mode string) {
	c := harness.StartCluster(t, bin(t), 3, "--groups", "3", "--cluster-mode", mode)
	waitGroups(t, c, 3, 1) // leaders spread: no handover during the test
	if _, err := recordedMap(c); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Two slots of g1 move: one to g2 and on to g3, one to g3 and back.
	var tags []string
	var slots []uint16
	for i := 0; len(tags) < 2; i++ { // two hash tags of g1's slots (0-5460 of three groups)
		tag := "{m" + strconv.Itoa(i) + "}"
		if s := keyspace.Slot([]byte(tag)); s <= 5460 {
			tags, slots = append(tags, tag), append(slots, s)
		}
	}
	var counters []string
	for _, tag := range tags {
		for i := range 3 {
			counters = append(counters, tag+":c"+strconv.Itoa(i))
		}
	}
	var incr, get func(ctx context.Context, worker int, key string) error
	var any redis.Cmdable
	if mode == "yes" {
		cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.Nodes[0].RESP}, MaxRedirects: 16, MaxRetries: -1, ReadTimeout: time.Minute})
		defer cc.Close()
		any = cc
		incr = func(ctx context.Context, _ int, key string) error { return cc.Incr(ctx, key).Err() }
		get = func(ctx context.Context, _ int, key string) error { return cc.Get(ctx, key).Err() }
	} else {
		plain := make([]*redis.Client, len(c.Nodes))
		for i, n := range c.Nodes {
			plain[i] = redis.NewClient(exactlyOnce(n.RESP))
			defer plain[i].Close()
		}
		any = plain[0]
		incr = func(ctx context.Context, w int, key string) error { return plain[w%len(plain)].Incr(ctx, key).Err() }
		get = func(ctx context.Context, w int, key string) error { return plain[(w+1)%len(plain)].Get(ctx, key).Err() }
	}
	if err := any.HSet(ctx, tags[0]+":h", "f1", "v1", "f2", "v2").Err(); err != nil {
		t.Fatal(err)
	}
	if err := any.PExpire(ctx, tags[0]+":h", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if err := any.RPush(ctx, tags[1]+":l", "a", "b", "c").Err(); err != nil {
		t.Fatal(err)
	}
	expBefore, err := any.PExpireTime(ctx, tags[0]+":h").Result()
	if err != nil {
		t.Fatal(err)
	}
	const others = 200
	for i := range others {
		if err := any.Set(ctx, "o:"+strconv.Itoa(i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}

	// A client blocked on a key of a moving slot follows it: woken when
	// the slot moves, it waits again in the new group (plain clients), or
	// gets MOVED and blocks again there (ClusterClient).
	popped := make(chan []string, 1)
	go func() {
		for {
			v, err := any.BLPop(ctx, 0, tags[0]+":q").Result()
			if err != nil && strings.HasPrefix(err.Error(), "UNBLOCKED ") {
				continue // a group's leader changed: Redis's clients retry
			}
			if err != nil {
				v = []string{"error", err.Error()}
			}
			popped <- v
			return
		}
	}()
	l := runCounters(ctx, counters, incr)
	// Readers of the same keys: a move must not show them an error either.
	r := runCounters(ctx, counters, func(ctx context.Context, w int, key string) error {
		if err := get(ctx, w, key); err != nil && err != redis.Nil {
			return err
		}
		return nil
	})
	// Let the load run, then move each slot while it runs.
	waitAcked := func(min int64) {
		t.Helper()
		if err := harness.WaitFor(30*time.Second, func() error {
			for i := range l.acked {
				if l.acked[i].Load() < min {
					return fmt.Errorf("counter %d at %d acks", i, l.acked[i].Load())
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	waitAcked(20)
	owner := func(s uint16) string {
		st, err := placementOf(c.Nodes[0])
		if err != nil {
			t.Fatal(err)
		}
		return st.Owner(s)
	}
	if owner(slots[0]) != "g1" || owner(slots[1]) != "g1" {
		t.Fatalf("the test's slots are not g1's: %s %s", owner(slots[0]), owner(slots[1]))
	}
	moves := []struct {
		slot  uint16
		group string
		via   int
	}{{slots[0], "g2", 1}, {slots[1], "g3", 2}, {slots[0], "g3", 0}, {slots[1], "g1", 1}}
	for _, m := range moves {
		before := l.acked[0].Load() + l.acked[3].Load()
		migrateSlot(t, c, c.Nodes[m.via], m.slot, m.group)
		waitAcked(0)
		if err := harness.WaitFor(30*time.Second, func() error {
			if l.acked[0].Load()+l.acked[3].Load() < before+20 {
				return errors.New("the load did not go on after the move")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	l.halt()
	r.halt()
	if n := l.errs.Load(); n > 0 {
		t.Errorf("%d errors under load; the first: %v", n, l.first.Load())
	}
	if n := r.errs.Load(); n > 0 {
		reads := n
		for i := range r.acked {
			reads += r.acked[i].Load()
		}
		t.Errorf("%d errors of %d reads under load; the first: %v", n, reads, r.first.Load())
	}
	for i, k := range counters {
		got, err := any.Get(ctx, k).Int64()
		if err != nil || got != l.acked[i].Load() {
			t.Errorf("%s = %d, %v; acknowledged %d", k, got, err, l.acked[i].Load())
		}
	}

	if err := any.LPush(ctx, tags[0]+":q", "x").Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-popped:
		if len(v) != 2 || v[1] != "x" {
			t.Errorf("BLPOP blocked across two moves = %q", v)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("BLPOP blocked across two moves did not see the LPUSH after them")
	}

	// The collections moved whole, TTL included.
	if h, err := any.HGetAll(ctx, tags[0]+":h").Result(); err != nil || len(h) != 2 || h["f2"] != "v2" {
		t.Errorf("HGETALL after two moves = %v, %v", h, err)
	}
	if exp, err := any.PExpireTime(ctx, tags[0]+":h").Result(); err != nil || exp != expBefore {
		t.Errorf("PEXPIRETIME after two moves = %v, %v; was %v", exp, err, expBefore)
	}
	if l, err := any.LRange(ctx, tags[1]+":l", 0, -1).Result(); err != nil || strings.Join(l, "") != "abc" {
		t.Errorf("LRANGE after two moves = %v, %v", l, err)
	}

	// The map shows the new owners; every node counts every key once.
	for _, n := range c.Nodes {
		st, err := placementOf(n)
		if err != nil || st.Owner(slots[0]) != "g3" || st.Owner(slots[1]) != "g1" || len(st.Moves) != 0 {
			t.Fatalf("%s: placement %+v, %v", n.ID, st, err)
		}
		line := groupLines(t, n)[2]["slots"]
		if !strings.Contains(line, fmt.Sprintf("%d-%d", slots[0], slots[0])) {
			t.Errorf("%s: INFO raft g3 slots=%s, want %d among them", n.ID, line, slots[0])
		}
	}
	want := int64(others + len(counters) + 2)
	if mode == "no" {
		for _, n := range c.Nodes {
			cl := redis.NewClient(&redis.Options{Addr: n.RESP})
			defer cl.Close()
			if err := harness.WaitFor(30*time.Second, func() error {
				if got, err := cl.DBSize(ctx).Result(); err != nil || got != want {
					return fmt.Errorf("%s: DBSIZE %d, %v; want %d", n.ID, got, err, want)
				}
				return nil
			}); err != nil {
				t.Error(err)
			}
			seen := map[string]int{}
			iter := cl.Scan(ctx, 0, "", 50).Iterator()
			for iter.Next(ctx) {
				seen[iter.Val()]++
			}
			if iter.Err() != nil || int64(len(seen)) != want {
				t.Errorf("%s: SCAN saw %d keys, %v; want %d", n.ID, len(seen), iter.Err(), want)
			}
		}
		return
	}
	// Cluster mode: CLUSTER SLOTS names g3's leader for the moved slot, and
	// the masters' DBSIZEs add up.
	cc := any.(*redis.ClusterClient)
	var total atomic.Int64
	if err := harness.WaitFor(30*time.Second, func() error {
		total.Store(0)
		err := cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			n, err := m.DBSize(ctx).Result()
			total.Add(n)
			return err
		})
		if err == nil && total.Load() != want {
			err = fmt.Errorf("masters hold %d keys, want %d", total.Load(), want)
		}
		return err
	}); err != nil {
		t.Error(err)
	}
	slotsReply, err := cc.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range slotsReply {
		if r.Start <= int(slots[0]) && int(slots[0]) <= r.End {
			found = r.Start == int(slots[0]) && r.End == int(slots[0])
		}
	}
	if !found {
		t.Errorf("CLUSTER SLOTS has no range of only slot %d: %v", slots[0], slotsReply)
	}
}

// g1Tag is the first hash tag {prefix0}, {prefix1}, ... of a slot of g1
// (0-5460 of three groups).
func g1Tag(prefix string) string {
	for i := 0; ; i++ {
		tag := "{" + prefix + strconv.Itoa(i) + "}"
		if keyspace.Slot([]byte(tag)) <= 5460 {
			return tag
		}
	}
}

// recordedMap waits for the placement group's first map on every node.
func recordedMap(c *harness.Cluster) (*placement.State, error) {
	var st *placement.State
	err := harness.WaitFor(60*time.Second, func() error {
		for _, n := range c.Nodes {
			s, err := placementOf(n)
			if err != nil {
				return err
			}
			if s.Epoch == 0 {
				return fmt.Errorf("%s: no map yet", n.ID)
			}
			st = s
		}
		return nil
	})
	return st, err
}

// TestE2E_MigrateResumesWhenTheDriverDies kills the placement leader, whose
// driver carries a move out, while it copies a slot of 1,500 keys of 8 KiB
// (about 12 MiB, a dozen import entries): the new placement leader
// resumes the move from the logs, every key arrives once with its value,
// and counters written meanwhile through the surviving nodes end at their
// acknowledged increments (plus at most the writes whose outcome was
// reported unknown). A fourth node that joins after the move rebuilds
// every group from their logs alone and holds every key once.
//
// Paused instead (SIGSTOP) for 6 s, the old driver wakes after its
// successor finished the move and goes on with its copy: its steps are
// refused (a tester saw them overwrite newer writes, before the fence),
// and the counters stay exact.
func TestE2E_MigrateResumesWhenTheDriverDies(t *testing.T) {
	for _, fault := range []string{"kill", "pause"} {
		t.Run(fault, func(t *testing.T) { testMigrateDriverFault(t, fault) })
	}
}

func testMigrateDriverFault(t *testing.T, fault string) {
	c := harness.StartCluster(t, bin(t), 3, "--groups", "3")
	waitGroups(t, c, 3, 0)
	if _, err := recordedMap(c); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tag := g1Tag("r")
	slot := keyspace.Slot([]byte(tag))
	leader := placementLine(c.Nodes[0])["leader"]
	dead, alive := apart(c.Nodes, leader)
	if dead == nil {
		t.Fatalf("placement leader %q not found", leader)
	}
	cl := redis.NewClient(exactlyOnce(alive[0].RESP))
	defer cl.Close()
	const big = 1500
	value := strings.Repeat("v", 8<<10)
	for from := 0; from < big; from += 100 { // 800 KiB a pipeline: within a busy machine's write timeout
		pipe := cl.Pipeline()
		for i := from; i < from+100; i++ {
			pipe.Set(ctx, tag+":big:"+strconv.Itoa(i), value+strconv.Itoa(i), 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	counters := []string{tag + ":a:c0", tag + ":a:c1"} // first in the slot: in the copy's first import
	plain := []*redis.Client{redis.NewClient(exactlyOnce(alive[0].RESP)), redis.NewClient(exactlyOnce(alive[1].RESP))}
	for _, p := range plain {
		defer p.Close()
	}
	l := runCounters(ctx, counters, func(ctx context.Context, w int, key string) error { return plain[w].Incr(ctx, key).Err() })

	if out, err := alive[1].Do("WALKER.MIGRATE", strconv.Itoa(int(slot)), "g2"); err != nil || !strings.Contains(out, "OK") {
		t.Fatalf("WALKER.MIGRATE = %q, %v", out, err)
	}
	// Kill the driver once it has begun the copy.
	if err := harness.WaitFor(20*time.Second, func() error {
		if !strings.Contains(dead.Log(), "migration: copying slots") {
			return errors.New("the copy has not begun")
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, dead.Log())
	}
	if strings.Contains(dead.Log(), "migration: slot moved") {
		t.Log("the move was over before the fault: the resume is not exercised this time")
	}
	if fault == "pause" {
		dead.Process.Pause()
	} else {
		dead.Kill()
	}
	mc := &harness.Cluster{Nodes: alive, Bin: c.Bin}
	migrateDone := func(nodes []*harness.Node) error { return movedTo(nodes, slot, "g2") }
	if err := harness.WaitFor(90*time.Second, func() error { return migrateDone(alive) }); err != nil {
		t.Fatalf("%v\n%s", err, mc.Logs())
	}
	if fault == "pause" {
		dead.Process.Resume()
		if err := harness.WaitFor(20*time.Second, func() error {
			if !strings.Contains(dead.Log(), "migration: a step failed") {
				return errors.New("the old driver has not tried its stale step yet")
			}
			return nil
		}); err != nil {
			t.Logf("%v (it may have been paused between steps)", err)
		}
		if err := harness.WaitFor(30*time.Second, func() error { return migrateDone(c.Nodes) }); err != nil {
			t.Fatalf("%v\n%s", err, c.Logs())
		}
	}
	l.halt()
	for i, k := range counters {
		got, err := cl.Get(ctx, k).Int64()
		acked := l.acked[i].Load()
		if err != nil || got < acked || got > acked+l.errs.Load() {
			t.Errorf("%s = %d, %v; acknowledged %d, %d errors (first: %v)", k, got, err, acked, l.errs.Load(), l.first.Load())
		}
	}
	for i := range big {
		k := tag + ":big:" + strconv.Itoa(i)
		if got, err := cl.Get(ctx, k).Result(); err != nil || got != value+strconv.Itoa(i) {
			t.Fatalf("GET %s after the move: %d bytes, %v", k, len(got), err)
		}
	}

	if fault == "pause" {
		return
	}
	// A node that joins now replays each group's log (or installs its
	// snapshot) and holds every key once: the import entries carry the
	// records, and the source's drop entries removed its copy.
	n4 := harness.NewNode(t, c.Bin, "node4", "--groups", "3")
	n4.Start("-join", alive[0].RESP)
	c4 := redis.NewClient(&redis.Options{Addr: n4.RESP})
	defer c4.Close()
	want := int64(big + len(counters))
	if err := harness.WaitFor(60*time.Second, func() error {
		n, err := c4.DBSize(ctx).Result()
		if err == nil && n != want {
			err = fmt.Errorf("node4 DBSIZE %d, want %d", n, want)
		}
		return err
	}); err != nil {
		t.Fatalf("%v\n%s", err, n4.Log())
	}
	if got, err := c4.Do(ctx, "LEVELGET", tag+":big:7", "stale").Text(); err != nil || got != value+"7" {
		t.Errorf("node4's own copy of a moved key: %d bytes, %v", len(got), err)
	}
}

// TestE2E_MigrateAsksForMovedKeys moves a slot of 5,000 keys (5 MiB) in
// cluster mode, in batches of 10 keys (--migrate-batch: 500 batches,
// seconds, where the default's 10 take a fraction of one), and checks the
// ASK phase as a Redis Cluster client sees it while the move runs:
//   - the source's leader serves the keys it still holds and answers -ASK
//     with the target's leader for a new key;
//   - the target's leader answers -MOVED to the source without ASKING, and
//     runs a command, a MULTI block or a script after it;
//   - a client blocked (BLPOP) on a key of the slot before the move is
//     woken by a push made during it;
//   - redis-cli -c follows the ASK;
//   - go-redis's ClusterClient INCRs counters of the slot throughout (one
//     through EVAL) with no error (but UNKNOWN, should the busy machine
//     cost a group its leader), every acknowledged increment counted once.
//
// Afterwards every key is there once, with its value.
func TestE2E_MigrateAsksForMovedKeys(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3, "--groups", "3", "--cluster-mode", "yes", "--migrate-batch", "10")
	waitGroups(t, c, 3, 1)
	if _, err := recordedMap(c); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	tag := g1Tag("k")
	slot := keyspace.Slot([]byte(tag))
	gs := groupLines(t, c.Nodes[0])
	src, _ := apart(c.Nodes, gs[0]["leader"])
	if src == nil {
		t.Fatalf("group leaders: %v", gs)
	}
	// A redirect names a node of the cluster: the one it returns.
	redirect := func(err error, kind string) *harness.Node {
		if err == nil {
			return nil
		}
		addr, ok := strings.CutPrefix(err.Error(), fmt.Sprintf("%s %d ", kind, slot))
		for _, n := range c.Nodes {
			if ok && n.RESP == addr {
				return n
			}
		}
		return nil
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.Nodes[0].RESP}, MaxRedirects: 16, MaxRetries: -1, ReadTimeout: time.Minute, WriteTimeout: time.Minute})
	defer cc.Close()
	const keys = 5000
	value := strings.Repeat("v", 1<<10)
	for from := 0; from < keys; from += 500 {
		pipe := cc.Pipeline()
		for i := from; i < from+500; i++ {
			pipe.Set(ctx, tag+":k:"+strconv.Itoa(i), value+strconv.Itoa(i), 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	counters := []string{tag + ":c0", tag + ":c1", tag + ":c2"}
	// The move shows the writers no error. A busy machine may still cost
	// a group its leader under them: an INCR then answers UNKNOWN (it may
	// or may not have applied), which is counted apart.
	var odd atomic.Int64
	var oddFirst atomic.Value
	l := runCounters(ctx, counters, func(ctx context.Context, w int, key string) error {
		var err error
		if w == 2 { // a script's write waits for its key's batch as a write does
			err = cc.Eval(ctx, "return redis.call('INCR', KEYS[1])", []string{key}).Err()
		} else {
			err = cc.Incr(ctx, key).Err()
		}
		if err != nil && !strings.HasPrefix(err.Error(), "UNKNOWN ") && odd.Add(1) == 1 {
			oddFirst.Store(err.Error())
		}
		return err
	})
	// A client blocked in the source on a key it does not hold is asked
	// for in the target once the move begins, and woken there by a push
	// made during the move.
	popped := make(chan string, 1)
	go func() {
		v, err := cc.BLPop(ctx, 0, tag+":q").Result()
		if err != nil {
			popped <- "error: " + err.Error()
			return
		}
		popped <- strings.Join(v, " ")
	}()

	// One connection each to the source's leader and to the node its ASK
	// names (the target's leader).
	one := func(addr string) *redis.Client {
		return redis.NewClient(&redis.Options{Addr: addr, PoolSize: 1, MaxRetries: -1, ReadTimeout: time.Minute})
	}
	sc := one(src.RESP)
	defer sc.Close()
	if out, err := src.Do("WALKER.MIGRATE", strconv.Itoa(int(slot)), "g2"); err != nil || !strings.Contains(out, "OK") {
		t.Fatalf("WALKER.MIGRATE = %q, %v", out, err)
	}
	// A new key each time: one the source took before the move began
	// stays its own until its batch moves.
	var asked error
	fresh := ""
	for i, deadline := 0, time.Now().Add(60*time.Second); asked == nil; i++ {
		fresh = tag + ":new:" + strconv.Itoa(i)
		if err := sc.Set(ctx, fresh, "n", 0).Err(); err != nil {
			asked = err
		} else if time.Now().After(deadline) {
			t.Fatal("the source's leader still takes new keys of the slot: the move has not begun")
		} else {
			time.Sleep(time.Millisecond)
		}
	}
	dst := redirect(asked, "ASK")
	if dst == nil || dst == src {
		t.Fatalf("the source's leader answered a new key of a migrating slot with %q, want ASK %d and another node's address", asked, slot)
	}
	dc := one(dst.RESP)
	defer dc.Close()
	// Still migrating (500 batches): the target sends a client without
	// ASKING to the source, and runs the command after ASKING.
	if err := dc.Set(ctx, fresh, "n", 0).Err(); redirect(err, "MOVED") == nil {
		t.Errorf("the target's leader, without ASKING: %v", err)
	}
	if err := dc.Do(ctx, "ASKING").Err(); err != nil {
		t.Fatal(err)
	}
	if err := dc.Set(ctx, fresh, "n", 0).Err(); err != nil {
		t.Errorf("the target's leader, after ASKING: %v", err)
	}
	if err := dc.Get(ctx, fresh).Err(); redirect(err, "MOVED") == nil {
		t.Errorf("ASKING held for more than one command: %v", err)
	}
	// ASKING holds for a MULTI block up to EXEC, and a script runs there.
	for _, step := range [][]any{{"ASKING"}, {"MULTI"}, {"SET", tag + ":tx", "t"}, {"EXEC"}, {"ASKING"}, {"EVAL", "return redis.call('SET', KEYS[1], 'e')", 1, tag + ":lua"}} {
		if v, err := dc.Do(ctx, step...).Result(); err != nil {
			t.Errorf("the target's leader, %v: %v, %v", step, v, err)
		}
	}
	// The last key in the slot's order is among the last batches: the
	// source still holds it and serves it.
	last := tag + ":k:999"
	if got, err := sc.Get(ctx, last).Result(); err != nil || got != value+"999" {
		t.Errorf("the source's leader, a key it still holds: %d bytes, %v", len(got), err)
	}
	if err := cc.LPush(ctx, tag+":q", "x").Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-popped:
		if v != tag+":q x" {
			t.Errorf("BLPOP blocked before the move = %q", v)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("BLPOP blocked before the move did not see an LPUSH made during it")
	}
	if st, err := placementOf(c.Nodes[0]); err != nil || st.MoveOf(slot) == nil {
		t.Errorf("the move was over before BLPOP got its element (%v): the test shows nothing of the ASK phase", err)
	}
	if cli, err := exec.LookPath("redis-cli"); err == nil {
		host, port, _ := net.SplitHostPort(src.RESP)
		out, err := exec.CommandContext(ctx, cli, "-c", "-h", host, "-p", port, "SET", tag+":cli", "c").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "OK" {
			t.Errorf("redis-cli -c SET during the move = %q, %v", out, err)
		}
	}
	if err := harness.WaitFor(150*time.Second, func() error { return movedTo(c.Nodes, slot, "g2") }); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
	l.halt()
	if n := odd.Load(); n > 0 {
		t.Errorf("%d errors under load; the first: %v", n, oddFirst.Load())
	}
	for i, k := range counters {
		got, err := cc.Get(ctx, k).Int64()
		if acked := l.acked[i].Load(); err != nil || got < acked || got > acked+l.errs.Load() || acked == 0 {
			t.Errorf("%s = %d, %v; acknowledged %d, %d outcomes unknown", k, got, err, acked, l.errs.Load())
		}
	}
	for k, want := range map[string]string{fresh: "n", tag + ":cli": "c", tag + ":tx": "t", tag + ":lua": "e"} {
		if got, err := cc.Get(ctx, k).Result(); err != nil || got != want {
			t.Errorf("GET %s after the move = %q, %v", k, got, err)
		}
	}
	for from := 0; from < keys; from += 1000 {
		pipe := cc.Pipeline()
		gets := make([]*redis.StringCmd, 0, 1000)
		for i := from; i < from+1000; i++ {
			gets = append(gets, pipe.Get(ctx, tag+":k:"+strconv.Itoa(i)))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		for j, g := range gets {
			if g.Val() != value+strconv.Itoa(from+j) {
				t.Fatalf("GET %s:k:%d after the move: %d bytes", tag, from+j, len(g.Val()))
			}
		}
	}
}

// TestE2E_MigratePlainClientsMoveKeyPairs renames keys, and reads pairs of
// keys with MGET, during a move without cluster mode. A RENAME whose
// source key the source group still holds and whose target it does not
// (a new key) is refused there as keys some moved and some not; so is an
// MGET of a key already copied and one not. The node retries each until
// its keys are together in the target, and the refusal makes the next
// batch take the keys it wants (an MGET goes through the log for that).
// So plain clients see no error, though the keys renamed and read sort
// after the slot's 5,000 others: copied in order, they would come last,
// after the node's 5 s. Every pair ends renamed once.
func TestE2E_MigratePlainClientsMoveKeyPairs(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3, "--groups", "3", "--migrate-batch", "10")
	waitGroups(t, c, 3, 1) // leaders spread: no handover during the test
	if _, err := recordedMap(c); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	tag := g1Tag("p")
	slot := keyspace.Slot([]byte(tag))
	plain := make([]*redis.Client, len(c.Nodes))
	for i, n := range c.Nodes {
		plain[i] = redis.NewClient(exactlyOnce(n.RESP))
		defer plain[i].Close()
	}
	const keys, pairs = 5000, 200
	value := strings.Repeat("v", 1<<10)
	for from := 0; from < keys; from += 500 {
		pipe := plain[0].Pipeline()
		for i := from; i < from+500; i++ {
			pipe.Set(ctx, tag+":k:"+strconv.Itoa(i), value, 0)
		}
		for i := from; i < from+500 && i < pairs; i++ {
			pipe.Set(ctx, tag+":z:"+strconv.Itoa(i), "x"+strconv.Itoa(i), 0)
			pipe.Set(ctx, tag+":y:"+strconv.Itoa(i), "y"+strconv.Itoa(i), 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := c.Nodes[0].Do("WALKER.MIGRATE", strconv.Itoa(int(slot)), "g2"); err != nil || !strings.Contains(out, "OK") {
		t.Fatalf("WALKER.MIGRATE = %q, %v", out, err)
	}
	if err := harness.WaitFor(30*time.Second, func() error {
		if err := plain[1].Set(ctx, tag+":probe", "p", 0).Err(); err != nil {
			return err
		}
		st, err := placementOf(c.Nodes[1])
		if err == nil && st.MoveOf(slot) == nil {
			err = errors.New("the move has not begun")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var failed atomic.Int64
	var first atomic.Value
	fail := func(what string) {
		if failed.Add(1) == 1 {
			first.Store(what)
		}
	}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < pairs; i += 4 {
				n := strconv.Itoa(i)
				if err := plain[(w+i)%len(plain)].Rename(ctx, tag+":z:"+n, tag+":b:"+n).Err(); err != nil {
					fail("RENAME " + n + ": " + err.Error())
				}
			}
		}()
	}
	// MGET of a key copied in the first batches and one copied last.
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < pairs; i += 2 {
				n := strconv.Itoa(i)
				v, err := plain[(w+i+1)%len(plain)].MGet(ctx, tag+":k:0", tag+":y:"+n).Result()
				if err != nil || len(v) != 2 || v[0] != value || v[1] != "y"+n {
					fail(fmt.Sprintf("MGET k:0 y:%s: %d values, %v", n, len(v), err))
				}
			}
		}()
	}
	wg.Wait()
	if st, err := placementOf(c.Nodes[0]); err != nil || st.MoveOf(slot) == nil {
		t.Errorf("the move was over before the renames were (%v): the test shows nothing of the ASK phase", err)
	}
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d RENAMEs and MGETs failed during the move; the first: %v", n, 2*pairs, first.Load())
	}
	if err := harness.WaitFor(150*time.Second, func() error { return movedTo(c.Nodes, slot, "g2") }); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
	for i := range pairs {
		n := strconv.Itoa(i)
		if got, err := plain[i%3].Get(ctx, tag+":b:"+n).Result(); err != nil || got != "x"+n {
			t.Errorf("GET %s:b:%s after the move = %q, %v", tag, n, got, err)
		}
		if got, err := plain[i%3].Exists(ctx, tag+":z:"+n).Result(); err != nil || got != 0 {
			t.Errorf("EXISTS %s:z:%s after the move = %d, %v", tag, n, got, err)
		}
	}
}
