package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/harness"
)

// These tests drive the built walkerd binary on loopback ports.

func bin(t *testing.T) string {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs walkerd processes")
	}
	return harness.Build(t, ".")
}

func must(t *testing.T, n *harness.Node, want string, args ...string) {
	t.Helper()
	got, err := n.Do(args...)
	if err != nil {
		t.Fatalf("%s %v: %v", n.ID, args, err)
	}
	if got != want {
		t.Fatalf("%s %v = %q, want %q", n.ID, args, got, want)
	}
}

func bulk(s string) string { return fmt.Sprintf("$%d\r\n%s\r\n", len(s), s) }

func TestE2E_SingleNodeIncrSurvivesKill9(t *testing.T) {
	n := harness.NewNode(t, bin(t), "solo", "--snapshot-threshold", "300", "--snapshot-interval", "100ms", "--trailing-logs", "50")
	n.Start()
	if err := n.WaitLeader(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		must(t, n, fmt.Sprintf(":%d\r\n", i+1), "INCR", "counter")
		if i == 600 {
			must(t, n, "+OK\r\n", "SNAPSHOT") // some of the log is compacted, some replays
		}
	}
	n.Kill()
	n.Start()
	if err := harness.WaitFor(10*time.Second, func() error {
		got, err := n.Do("LEVELGET", "counter", "consistent")
		if err != nil || got != bulk("1000") {
			return fmt.Errorf("GET counter = %q, %v", got, err)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, n.Log())
	}
	must(t, n, ":1001\r\n", "INCR", "counter")
}

func TestE2E_StandaloneModeServesWithoutRaft(t *testing.T) {
	n := harness.NewNode(t, bin(t), "alone", "-bootstrap", "false")
	n.Start()
	must(t, n, "+OK\r\n", "SET", "k", "v")
	n.Kill()
	n.Start()
	must(t, n, bulk("v"), "GET", "k")
	got, _ := n.Do("RAFT.LEADER")
	if !strings.HasPrefix(got, "-ERR") {
		t.Fatalf("RAFT.LEADER in standalone mode = %q, want an error", got)
	}
}

func TestE2E_ThreeNodesFailOverAndCatchUp(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3)
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	follower := c.Followers(leader)[0]

	// A write through a follower is forwarded to the leader.
	must(t, follower, "+OK\r\n", "SET", "k1", "v1")
	for _, n := range c.Nodes {
		must(t, n, bulk("v1"), "LEVELGET", "k1", "2")
		must(t, n, bulk("v1"), "LEVELGET", "k1", "consistent")
		must(t, n, bulk("v1"), "GET", "k1")
	}

	// Kill the leader: a new one is elected and writes go on.
	killed := time.Now()
	leader.Kill()
	var newLeader *harness.Node
	if err := harness.WaitFor(15*time.Second, func() error {
		l, err := c.Leader(200 * time.Millisecond)
		if err != nil {
			return err
		}
		newLeader = l
		return nil
	}); err != nil {
		t.Fatalf("no new leader: %v\n%s", err, c.Logs())
	}
	t.Logf("new leader %s ready %v after the old one was killed", newLeader.ID, time.Since(killed).Round(time.Millisecond))
	for _, n := range c.Followers(newLeader) {
		must(t, n, "+OK\r\n", "SET", "k2", "v2")
	}
	must(t, newLeader, ":1\r\n", "INCR", "n")

	// The old leader comes back as a follower and catches up.
	leader.Start()
	if err := harness.WaitFor(15*time.Second, func() error {
		got, err := leader.Do("LEVELGET", "n", "stale")
		if err != nil || got != bulk("1") {
			return fmt.Errorf("stale read of n on %s = %q, %v", leader.ID, got, err)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
	must(t, leader, bulk("v2"), "LEVELGET", "k2", "1")
}

// A leader whose followers both stopped answering (SIGSTOP, as a long
// pause or a partition that drops packets) took 10.7 s to exit on
// SIGTERM: raft.Shutdown waited for replication RPCs to them, each bounded
// only by the transport's 10 s timeout. Store.Close now hangs up the
// connections the node dialed when raft has not stopped within a second,
// and the leader stops cleanly within about that; the followers, let go,
// elect one of them and keep the acknowledged write.
func TestE2E_ALeaderWhoseFollowersAreStoppedExitsPromptly(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3)
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	must(t, leader, "+OK\r\n", "SET", "k", "v")
	fs := c.Followers(leader)
	for _, f := range fs {
		pause(t, f) // wait_e2e_test.go
	}
	start := time.Now()
	if err := syscall.Kill(leader.Pid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := leader.Wait(5 * time.Second); err != nil {
		t.Fatalf("SIGTERM of the leader with its followers stopped: %v\n%s", err, leader.Log())
	}
	t.Logf("the leader exited %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(leader.Log(), "msg=stopped") {
		t.Fatalf("the leader did not stop cleanly:\n%s", leader.Log())
	}
	for _, f := range fs {
		f.Resume()
	}
	l, err := c.Leader(15 * time.Second)
	if err != nil {
		t.Fatalf("no leader among the followers: %v\n%s", err, c.Logs())
	}
	must(t, l, bulk("v"), "LEVELGET", "k", "2")
}

// logDeletes is the log store for tests that need compacted entries gone,
// so that a lagging node must install a snapshot: raft-wal truncates its
// head only logically and still serves compacted entries from its open
// tail segment (raft-wal v0.4.2's state.getLog reads the tail before it
// looks at the head), so there a lagging node catches up from the log.
var logDeletes = []string{"--raft-log", "bolt"}

func TestE2E_ANodeDownDuringCompactionCatchesUpFromASnapshot(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3, append(logDeletes, "--snapshot-threshold", "100", "--trailing-logs", "10", "--snapshot-interval", "100ms")...)
	leader, _ := c.Leader(10 * time.Second)
	down := c.Followers(leader)[0]
	must(t, leader, "+OK\r\n", "SET", "doomed", "x")
	if err := harness.WaitFor(5*time.Second, func() error {
		got, _ := down.Do("LEVELGET", "doomed", "stale")
		if got != bulk("x") {
			return fmt.Errorf("doomed on %s = %q", down.ID, got)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	down.Stop()
	must(t, leader, ":1\r\n", "DEL", "doomed") // a delete the snapshot must carry
	for i := range 500 {
		if _, err := leader.Do("SET", fmt.Sprintf("key%03d", i), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	must(t, leader, "+OK\r\n", "SNAPSHOT")
	info, _ := leader.Info()
	t.Logf("leader snapshot at %s, log at %s", info["raft_last_snapshot_index"], info["raft_last_log_index"])
	down.Start()
	if err := harness.WaitFor(20*time.Second, func() error {
		got, err := down.Do("LEVELGET", "key499", "stale")
		if err != nil || got != bulk("499") {
			return fmt.Errorf("key499 on %s = %q, %v", down.ID, got, err)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
	must(t, down, "$-1\r\n", "LEVELGET", "doomed", "stale")
	must(t, down, bulk("250"), "LEVELGET", "key250", "stale")
	if !strings.Contains(down.Log(), "restored snapshot") {
		t.Fatalf("%s caught up without installing a snapshot: the test did not test it\n%s", down.ID, down.Log())
	}
}

func TestE2E_LeaveAndJoinAgain(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3)
	leader, _ := c.Leader(10 * time.Second)
	gone := c.Followers(leader)[0]
	gone.Stop()
	must(t, c.Followers(leader)[0], "+OK\r\n", "LEAVE", gone.ID) // sent to a follower, done by the leader
	if err := harness.WaitFor(10*time.Second, func() error {
		info, _ := leader.Info()
		if info["raft_members"] != "2" {
			return fmt.Errorf("%s members", info["raft_members"])
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	must(t, leader, "+OK\r\n", "SET", "while-away", "1")
	gone.Start("-join", leader.RESP)
	if err := c.WaitMembers(3, 15*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
	if err := harness.WaitFor(10*time.Second, func() error {
		got, _ := gone.Do("LEVELGET", "while-away", "stale")
		if got != bulk("1") {
			return fmt.Errorf("while-away on %s = %q", gone.ID, got)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Joining again when already a member changes nothing.
	must(t, leader, "+OK\r\n", "JOIN", gone.ID, gone.Raft, gone.RESP)
	info, _ := leader.Info()
	if info["raft_members"] != "3" {
		t.Fatalf("%s members after a repeated JOIN", info["raft_members"])
	}
}

func TestE2E_BadStartupsFailWithOneClearLine(t *testing.T) {
	b := bin(t)
	busy := harness.NewNode(t, b, "busy")
	busy.Start()
	ports := func() []string { // -tcp and -raft on two distinct free ports
		a := harness.FreeAddrs(t, 2)
		return []string{"-tcp", a[0], "-raft", a[1]}
	}
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"port in use":     {[]string{"-tcp", busy.RESP, "-dir", t.TempDir()}, "address already in use"},
		"locked dir":      {append(ports(), "-dir", busy.Dir+"/data", "-raftdir", t.TempDir()), "in use"},
		"bad fsync":       {[]string{"--appendfsync", "sometimes"}, "--appendfsync"},
		"bad consistency": {[]string{"--read-consistency", "strong"}, "--read-consistency"},
		"bad bootstrap":   {[]string{"-bootstrap", "maybe"}, "-bootstrap"},
		"bad address":     {[]string{"-tcp", "nowhere"}, "-tcp"},
		"newer key layout": {append(ports(), "-raftdir", t.TempDir(), "-dir", dataDir(t, 2, false)),
			"key layout version 2; this build uses key layout version 1"},
		"pre-format data": {append(ports(), "-raftdir", t.TempDir(), "-dir", dataDir(t, 1, true)),
			"format version 0 (written before format versions); this build reads format version 1"},
	} {
		out, code := harness.RunOnce(t, b, c.args...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code == 0 || !strings.Contains(lines[len(lines)-1], c.want) {
			t.Errorf("%s: exit %d, output %q; want a non-zero exit and a last line naming %q", name, code, out, c.want)
		}
	}
}

// dataDir makes a data directory as a build of another key layout would,
// or, with noFormat, as builds before format versions did.
func dataDir(t *testing.T, layout uint32, noFormat bool) string {
	dir := filepath.Join(t.TempDir(), "data")
	db, err := engine.Open(dir, &engine.Options{LayoutVersion: layout})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Put([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if noFormat {
		if err := os.Remove(filepath.Join(dir, "FORMAT")); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestE2E_TransactionsAndBenchmarkThroughAFollower(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3)
	leader, _ := c.Leader(10 * time.Second)
	f := c.Followers(leader)[0]

	// MULTI/EXEC on a follower: one connection, the commands pipelined.
	raw, err := harness.DoPipeline(f.RESP, [][]string{
		{"MULTI"}, {"SET", "a", "1"}, {"INCR", "a"}, {"GET", "a"}, {"EXEC"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"+OK\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "*3\r\n+OK\r\n:2\r\n$1\r\n2\r\n"}
	for i := range want {
		if raw[i] != want[i] {
			t.Fatalf("reply %d = %q, want %q (all: %q)", i, raw[i], want[i], raw)
		}
	}
	// WATCH on a follower: a change made elsewhere aborts the EXEC.
	conn, err := harness.Dial(f.RESP)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, step := range []struct {
		args []string
		want string
	}{{[]string{"WATCH", "a"}, "+OK\r\n"}, {[]string{"MULTI"}, "+OK\r\n"}, {[]string{"SET", "a", "mine"}, "+QUEUED\r\n"}} {
		if got, err := conn.Do(step.args...); err != nil || got != step.want {
			t.Fatalf("%v = %q, %v", step.args, got, err)
		}
	}
	must(t, leader, "+OK\r\n", "SET", "a", "theirs")
	if got, _ := conn.Do("EXEC"); got != "*-1\r\n" {
		t.Fatalf("EXEC after a watched key changed = %q, want a null array", got)
	}
	must(t, leader, bulk("theirs"), "GET", "a")

	// redis-benchmark through the follower: every write is forwarded.
	out, err := exec.Command("redis-benchmark", "-h", "127.0.0.1", "-p", strings.Split(f.RESP, ":")[1],
		"-t", "set,get,incr,mset", "-n", "2000", "-c", "20", "-P", "4", "-q").CombinedOutput()
	if err != nil {
		t.Skipf("redis-benchmark not available: %v", err)
	}
	if strings.Contains(strings.ToLower(string(out)), "error") || strings.Count(string(out), "requests per second") != 4 {
		t.Fatalf("redis-benchmark through a follower:\n%s", out)
	}
}

// A mistyped -join address used to be retried every 2 s for ever with
// "forward: dial leader <addr>", calling the join address a leader. The
// log should name it as the join target, say that JOIN is what is being
// retried, and retry less and less often.
func TestE2E_AMistypedJoinAddressIsNamedAsTheJoinTargetAndRetriedLessAndLessOften(t *testing.T) {
	wrong := harness.FreeAddr(t) // nothing listens there
	n := harness.NewNode(t, bin(t), "lost")
	n.Start("-join", wrong)
	time.Sleep(3500 * time.Millisecond)
	var retries []time.Duration
	for _, line := range strings.Split(n.Log(), "\n") {
		if !strings.Contains(line, wrong) || strings.HasPrefix(line, "---") {
			continue
		}
		if strings.Contains(line, "leader") {
			t.Errorf("the join address is called a leader: %s", line)
		}
		if !strings.Contains(line, "join_target="+wrong) || !strings.Contains(line, "JOIN") {
			t.Errorf("the line does not name the join target and JOIN: %s", line)
		}
		_, after, ok := strings.Cut(line, "retry_in=")
		if !ok {
			t.Fatalf("no retry_in: %s", line)
		}
		d, err := time.ParseDuration(strings.Fields(after)[0])
		if err != nil {
			t.Fatal(err)
		}
		retries = append(retries, d)
	}
	if len(retries) < 3 {
		t.Fatalf("%d join attempts logged in 3.5 s:\n%s", len(retries), n.Log())
	}
	for i := 1; i < len(retries); i++ {
		if retries[i] <= retries[i-1] {
			t.Fatalf("retry delays %v do not grow:\n%s", retries, n.Log())
		}
	}
}

// An untagged build's version is `git describe`'s commit, the same as its
// commit: --version printed "walkerd version 692a96c (692a96c)".
func TestE2E_VersionNamesTheCommitOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds walkerd")
	}
	for _, c := range []struct{ version, commit, want string }{
		{"692a96c", "692a96c", "walkerd version 692a96c\n"},
		{"692a96c-dirty", "692a96c", "walkerd version 692a96c-dirty\n"},
		{"v0.3.0", "692a96c", "walkerd version v0.3.0 (692a96c)\n"},
	} {
		b := filepath.Join(t.TempDir(), "walkerd")
		pkg := "github.com/walkerdb/walkerdb/internal/version."
		build := exec.Command("go", "build", "-o", b, "-ldflags", "-X "+pkg+"Version="+c.version+" -X "+pkg+"Commit="+c.commit, ".")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		out, err := exec.Command(b, "--version").CombinedOutput()
		if err != nil || string(out) != c.want {
			t.Errorf("version %s commit %s: --version printed %q (%v), want %q", c.version, c.commit, out, err, c.want)
		}
	}
}

// SIGTERM before the node serves (here while it reads its config file, a
// FIFO the test holds open; in life while it opens a big engine) killed
// walkerd without a line in its log. It still dies of the signal, at
// once, and says so first.
func TestE2E_SIGTERMDuringStartupIsLogged(t *testing.T) {
	b := bin(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "walkerd.conf")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cmd := exec.Command(b, "--standalone", "-tcp", "127.0.0.1:0", "-dir", filepath.Join(dir, "data"), "--config", fifo)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Opening the FIFO for writing returns once walkerd has opened it to
	// read: it is starting, and waits for the config's bytes.
	opened := make(chan *os.File, 1)
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
		}
		opened <- w
	}()
	select {
	case w := <-opened:
		if w != nil {
			defer w.Close()
		}
	case err := <-done:
		t.Fatalf("walkerd exited before it read its config: %v\n%s", err, out.String())
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("walkerd never opened its config file")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
			t.Errorf("walkerd ended with %v, want killed by SIGTERM", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("walkerd still runs 10 s after SIGTERM during startup\n%s", out.String())
	}
	if !strings.Contains(out.String(), "stopping during startup") || !strings.Contains(out.String(), "signal=terminated") {
		t.Fatalf("walkerd's log says nothing of the SIGTERM:\n%s", out.String())
	}
}
