package main_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// sequentialWriter writes k1, k2, ... in order on one connection, each
// SET acknowledged before the next is sent, until stopped. Beside it,
// other clients write elsewhere (database 1) so the backup is taken
// under concurrent writes.
type sequentialWriter struct {
	acked atomic.Int64 // the highest i whose SET k<i> was acknowledged
	stop  chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	err   error
}

func valueOf(i int64) string {
	return "value-" + strconv.FormatInt(i, 10) + "-" + strings.Repeat("x", int(i%50))
}

func startWriters(t *testing.T, addr string, others int) *sequentialWriter {
	w := &sequentialWriter{stop: make(chan struct{})}
	fail := func(err error) {
		w.mu.Lock()
		if w.err == nil {
			w.err = err
		}
		w.mu.Unlock()
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		c, err := harness.Dial(addr)
		if err != nil {
			fail(err)
			return
		}
		defer c.Close()
		for i := int64(1); ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			if got, err := c.Do("SET", "k"+strconv.FormatInt(i, 10), valueOf(i)); err != nil || got != "+OK\r\n" {
				fail(fmt.Errorf("SET k%d = %q, %v", i, got, err))
				return
			}
			w.acked.Store(i)
		}
	}()
	for n := range others {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			c, err := harness.Dial(addr)
			if err != nil {
				fail(err)
				return
			}
			defer c.Close()
			if _, err := c.Do("SELECT", "1"); err != nil {
				fail(err)
				return
			}
			for i := 0; ; i++ {
				select {
				case <-w.stop:
					return
				default:
				}
				if got, err := c.Do("INCR", fmt.Sprintf("c%d:%d", n, i%100)); err != nil || !strings.HasPrefix(got, ":") {
					fail(fmt.Errorf("INCR = %q, %v", got, err))
					return
				}
			}
		}()
	}
	t.Cleanup(w.halt)
	return w
}

func (w *sequentialWriter) halt() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.wg.Wait()
}

func (w *sequentialWriter) waitAcked(t *testing.T, n int64) {
	t.Helper()
	if err := harness.WaitFor(60*time.Second, func() error {
		w.mu.Lock()
		err := w.err
		w.mu.Unlock()
		if err != nil {
			return err
		}
		if got := w.acked.Load(); got < n {
			return fmt.Errorf("%d writes acknowledged, waiting for %d", got, n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// runTool runs a built CLI and fails unless it exits 0.
func runTool(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, code := harness.RunOnce(t, bin, args...)
	if code != 0 {
		t.Fatalf("%s %s: exit %d\n%s", filepath.Base(bin), strings.Join(args, " "), code, out)
	}
	return out
}

// checkPrefix checks that n holds k1..kM with their exact values and no
// other key in database 0, and returns M.
func checkPrefix(t *testing.T, n *harness.Node) int64 {
	t.Helper()
	size, err := n.Do("DBSIZE")
	if err != nil || !strings.HasPrefix(size, ":") {
		t.Fatalf("DBSIZE = %q, %v", size, err)
	}
	m, _ := strconv.ParseInt(strings.TrimSpace(size[1:]), 10, 64)
	const page = 500
	for lo := int64(1); lo <= m+1; lo += page {
		var cmds [][]string
		for i := lo; i < lo+page && i <= m+1; i++ {
			cmds = append(cmds, []string{"GET", "k" + strconv.FormatInt(i, 10)})
		}
		replies, err := harness.DoPipeline(n.RESP, cmds)
		if err != nil {
			t.Fatal(err)
		}
		for j, got := range replies {
			i := lo + int64(j)
			want := bulk(valueOf(i))
			if i == m+1 {
				want = "$-1\r\n"
			}
			if got != want {
				t.Fatalf("the restored node holds %d keys, but GET k%d = %q, want %q: not the prefix k1..k%d", m, i, got, want, m)
			}
		}
	}
	return m
}

func digestOf(t *testing.T, n *harness.Node) string {
	t.Helper()
	got, err := n.Do("WALKER.DIGEST")
	if err != nil || !strings.HasPrefix(got, "$") {
		t.Fatalf("%s WALKER.DIGEST = %q, %v", n.ID, got, err)
	}
	return got
}

// A backup taken with walkerctl from a three-node cluster under
// concurrent writes is a consistent cut: restored into a new node, it
// holds a prefix k1..kM of a sequential writer's keys, with exact values,
// and nothing after. With writes stopped, a second backup seeds a new
// cluster (walkerd --restore) whose digest is the old cluster's, and a
// node that joins it receives the same data.
func TestE2E_BackupOfALiveClusterRestoresAConsistentCut(t *testing.T) {
	walkerd := bin(t)
	walkerctl := harness.Build(t, "../walkerctl")
	walkerdump := harness.Build(t, "../walkerdump")
	c := harness.StartCluster(t, walkerd, 3, "--segment-size", "65536")
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	follower := c.Followers(leader)[0]
	w := startWriters(t, leader.RESP, 2)
	w.waitAcked(t, 1500)

	// The backup, asked at a follower, is taken from the leader while
	// the writers go on.
	file1 := filepath.Join(t.TempDir(), "live.wdb")
	before := w.acked.Load()
	out := runTool(t, walkerctl, "--addr", follower.RESP, "backup", file1)
	after := w.acked.Load()
	if !strings.Contains(out, "backup of "+leader.ID+" ("+leader.RESP+")") {
		t.Errorf("walkerctl backup: %s", out)
	}
	w.waitAcked(t, after+300) // writes go on after the backup
	t.Logf("backup while %d..%d writes were acknowledged: %s", before, after, strings.TrimSpace(out))
	runTool(t, walkerdump, "verify", file1)

	// walkerdump restore, then a plain start: a one-node cluster.
	r1 := harness.NewNode(t, walkerd, "restored1")
	runTool(t, walkerdump, "restore", file1, filepath.Join(r1.Dir, "data"))
	r1.Start()
	if err := r1.WaitLeader(15 * time.Second); err != nil {
		t.Fatalf("%v\n%s", err, r1.Log())
	}
	m := checkPrefix(t, r1)
	if m < before || m > after {
		t.Fatalf("the backup holds k1..k%d; the writes acknowledged while it ran were %d..%d", m, before, after)
	}
	t.Logf("the backup holds k1..k%d", m)
	// It is a working cluster of its own: writes are applied after the
	// old cluster's index, and it names only itself.
	must(t, r1, "+OK\r\n", "SET", "k"+strconv.FormatInt(m+1, 10), valueOf(m+1))
	must(t, r1, bulk(valueOf(m+1)), "LEVELGET", "k"+strconv.FormatInt(m+1, 10), "consistent")
	info, err := r1.Info()
	if err != nil || info["raft_members"] != "1" || !strings.Contains(info["raft_member0"], "resp="+r1.RESP) {
		t.Fatalf("restored node's INFO raft: %v %v", info, err)
	}

	// Writes stopped: a second backup, through walkerd --restore, gives
	// the cluster's digest.
	w.halt()
	if w.err != nil {
		t.Fatal(w.err)
	}
	var want string
	if err := harness.WaitFor(15*time.Second, func() error {
		want = digestOf(t, leader)
		for _, n := range c.Followers(leader) {
			if got := digestOf(t, n); got != want {
				return fmt.Errorf("%s digest %q, leader %q", n.ID, got, want)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	file2 := filepath.Join(t.TempDir(), "quiet.wdb")
	runTool(t, walkerctl, "--addr", leader.RESP, "backup", file2)
	r2 := harness.NewNode(t, walkerd, "restored2")
	r2.Start("--restore", file2)
	if err := r2.WaitLeader(15 * time.Second); err != nil {
		t.Fatalf("%v\n%s", err, r2.Log())
	}
	if got := digestOf(t, r2); got != want {
		t.Fatalf("restored digest %q, cluster's %q", got, want)
	}
	if got := checkPrefix(t, r2); got != w.acked.Load() {
		t.Fatalf("the quiet backup holds k1..k%d, the writer's last acknowledged write was k%d", got, w.acked.Load())
	}
	// --restore refuses a node that has data now.
	r2.Stop()
	if out, code := harness.RunOnce(t, walkerd, "-id", "restored2", "-tcp", r2.RESP, "-raft", r2.Raft, "-dir", filepath.Join(r2.Dir, "data"),
		"-raftdir", filepath.Join(r2.Dir, "raft"), "--restore", file2); code == 0 || !strings.Contains(out, "is not empty") {
		t.Fatalf("--restore over existing data: exit %d\n%s", code, out)
	}
	r2.Start()
	if err := r2.WaitLeader(15 * time.Second); err != nil {
		t.Fatalf("%v\n%s", err, r2.Log())
	}

	// Another node joins the seeded cluster empty and receives its data.
	j := harness.NewNode(t, walkerd, "joined")
	j.Start("-join", r2.RESP)
	if err := harness.WaitFor(20*time.Second, func() error {
		got, err := j.Do("WALKER.DIGEST")
		if err != nil || got != want {
			return fmt.Errorf("joined node's digest %q, %v; want %q", got, err, want)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s\n%s", err, r2.Log(), j.Log())
	}
	// The snapshot it was sent holds the configuration of before the
	// join; the log entry that adds it follows.
	if err := harness.WaitFor(10*time.Second, func() error {
		info, err := j.Info()
		if err != nil || info["raft_members"] != "2" || info["raft_leader_addr"] != r2.RESP {
			return fmt.Errorf("joined node's INFO raft: %v, %v", info, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Until its watcher sees that configuration (every 50 ms) the node
	// calls itself removed, and refuses writes without forwarding them.
	if err := harness.WaitFor(5*time.Second, func() error {
		got, err := j.Do("SET", "after", "join") // forwarded to r2, applied on both
		if err == nil && got != "+OK\r\n" && !strings.Contains(got, "removed from the cluster") {
			t.Fatalf("SET through the joined node = %q", got)
		}
		if err != nil || got != "+OK\r\n" {
			return fmt.Errorf("SET through the joined node = %q, %v", got, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := harness.WaitFor(10*time.Second, func() error {
		if got, _ := j.Do("LEVELGET", "after", "stale"); got != bulk("join") {
			return errors.New("the write through the joined node is not applied on it")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
