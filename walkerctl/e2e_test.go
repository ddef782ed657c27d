package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// These tests drive built walkerd processes through the CLI, in process.

// step runs one stage of a scenario; later stages build on earlier ones,
// so a failed stage ends the test.
func step(t *testing.T, name string, fn func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, fn) {
		t.FailNow()
	}
}

// eventually retries fn until it passes, for the moments a cluster takes
// to settle.
func eventually(t *testing.T, timeout time.Duration, fn func() error) {
	t.Helper()
	if err := harness.WaitFor(timeout, fn); err != nil {
		t.Fatal(err)
	}
}

// exitIs retries the CLI until it exits with code.
func exitIs(code int, args ...string) func() error {
	return func() error {
		var out, errb strings.Builder
		got := run(context.Background(), append([]string{"walkerctl"}, args...), &out, &errb)
		if got != code {
			return fmt.Errorf("walkerctl %s: exit %d, want %d\n%s%s", strings.Join(args, " "), got, code, out.String(), errb.String())
		}
		return nil
	}
}

// tableRows returns the data rows of a table (the header dropped), up to
// the first blank line.
func tableRows(out string) [][]string {
	var rows [][]string
	for i, line := range strings.Split(out, "\n") {
		if line == "" {
			break
		}
		if i > 0 {
			rows = append(rows, strings.Fields(line))
		}
	}
	return rows
}

func TestCLI_AdministersARealThreeNodeCluster(t *testing.T) {
	bin := walkerd(t)
	c := harness.StartCluster(t, bin, 2)
	defer func() {
		if t.Failed() {
			t.Log(c.Logs())
		}
	}()
	node1, node2 := c.Nodes[0], c.Nodes[1]
	// node3 has no Raft state and does not bootstrap (it has -join), and
	// the member it would join through does not exist: it waits until
	// someone adds it. (Made with the test's t: a subtest's would kill it
	// when the subtest ends.)
	node3 := harness.NewNode(t, bin, "node3")

	step(t, "join adds a waiting node through a follower", func(t *testing.T) {
		node3.Start("-join", harness.FreeAddr(t))
		c.Nodes = append(c.Nodes, node3)
		out := ok(t, "--addr", node2.RESP, "join", "node3", node3.Raft, node3.RESP)
		if want := "node3 joined the cluster (raft " + node3.Raft + ", resp " + node3.RESP + ")"; !strings.Contains(out, want) {
			t.Fatalf("join printed %q, want %q", out, want)
		}
		if err := c.WaitMembers(3, 15*time.Second); err != nil {
			t.Fatal(err)
		}
	})

	step(t, "members lists three rows with one leader", func(t *testing.T) {
		// node3 learns its own RESP address once it applies the entry
		// that JOIN committed.
		var out string
		eventually(t, 5*time.Second, func() error {
			r := ctl(t, "members", "--addr", node3.RESP)
			out = r.stdout
			if r.code != exitOK {
				return fmt.Errorf("exit %d: %s", r.code, r.stderr)
			}
			rows := tableRows(out)
			if len(rows) != 3 {
				return fmt.Errorf("%d rows, want 3:\n%s", len(rows), out)
			}
			leaders := 0
			for i, r := range rows {
				if len(r) != 8 {
					return fmt.Errorf("row %v: want 8 columns", r)
				}
				if r[0] != c.Nodes[i].ID || r[1] != c.Nodes[i].Raft || r[2] != c.Nodes[i].RESP || r[5] != "yes" {
					return fmt.Errorf("row %v does not describe reachable %s", r, c.Nodes[i].ID)
				}
				if r[3] == "leader" {
					leaders++
				}
			}
			if leaders != 1 {
				return fmt.Errorf("%d leaders:\n%s", leaders, out)
			}
			return nil
		})
		t.Logf("members:\n%s", out)

		ms := decode[[]memberRow](t, ok(t, "--json", "--addr", node1.RESP, "members"))
		leaders := 0
		for _, m := range ms {
			if !m.Reachable || m.AppliedIndex == nil || m.Lag == nil || m.Suffrage != "voter" {
				t.Fatalf("member %+v: want a reachable voter with an applied index and a lag", m)
			}
			if m.Role == "leader" {
				leaders++
			}
		}
		if len(ms) != 3 || leaders != 1 {
			t.Fatalf("--json: %d members, %d leaders: %+v", len(ms), leaders, ms)
		}
	})

	step(t, "status is healthy", func(t *testing.T) {
		eventually(t, 10*time.Second, exitIs(exitOK, "--addr", node2.RESP, "status"))
		out := ok(t, "--addr", node2.RESP, "status")
		t.Logf("status:\n%s", out)
		if !strings.HasPrefix(out, "cluster healthy: leader node1 at term ") || !strings.Contains(out, "3 of 3 members reachable") {
			t.Fatalf("status:\n%s", out)
		}
		st := decode[clusterStatus](t, ok(t, "--addr", node2.RESP, "status", "--json"))
		if !st.Healthy || st.Leader != "node1" || len(st.Members) != 3 || len(st.Problems) != 0 {
			t.Fatalf("status --json: %+v", st)
		}
	})

	step(t, "set get del and levelget round trip through followers", func(t *testing.T) {
		if out := ok(t, "--addr", node3.RESP, "set", "greeting", "hello world"); out != "OK\n" {
			t.Fatalf("set printed %q", out)
		}
		if out := ok(t, "--addr", node2.RESP, "get", "greeting"); out != "hello world\n" {
			t.Fatalf("get printed %q", out)
		}
		for _, level := range []string{"0", "default", "2", "consistent"} {
			if out := ok(t, "--addr", node3.RESP, "levelget", "greeting", level); out != "hello world\n" {
				t.Fatalf("levelget %s printed %q", level, out)
			}
		}
		for _, n := range c.Nodes { // a stale read sees the write once the node applies it
			eventually(t, 5*time.Second, func() error {
				if out := ok(t, "--addr", n.RESP, "levelget", "greeting", "stale"); out != "hello world\n" {
					return fmt.Errorf("%s: levelget stale printed %q", n.ID, out)
				}
				return nil
			})
		}
		got := decode[map[string]any](t, ok(t, "--addr", node2.RESP, "--json", "levelget", "greeting", "1"))
		if got["value"] != "hello world" || got["level"] != float64(1) {
			t.Fatalf("levelget --json: %v", got)
		}
		if out := ok(t, "--addr", node2.RESP, "del", "greeting", "absent"); out != "1 deleted\n" {
			t.Fatalf("del printed %q", out)
		}
		if out := ok(t, "--addr", node1.RESP, "levelget", "greeting", "consistent"); out != "(nil)\n" {
			t.Fatalf("levelget of a deleted key printed %q", out)
		}
		got = decode[map[string]any](t, ok(t, "--addr", node3.RESP, "get", "--json", "greeting"))
		if v, ok := got["value"]; !ok || v != nil {
			t.Fatalf("get --json of a deleted key: %v", got)
		}
		wantExit(t, exitUsage, []string{`level "9": want 0/default, 1/stale or 2/consistent`}, "--addr", node1.RESP, "levelget", "k", "9")
	})

	step(t, "leader info and snapshot", func(t *testing.T) {
		rows := tableRows(ok(t, "--addr", node3.RESP, "leader"))
		if len(rows) != 1 || rows[0][0] != "node1" || rows[0][2] != node1.RESP {
			t.Fatalf("leader: %v", rows)
		}
		if out := ok(t, "--addr", node2.RESP, "info", "raft"); !strings.Contains(out, "# Raft\nraft_node_id:node2\n") {
			t.Fatalf("info raft:\n%s", out)
		}
		nodes := decode[[]infoNode](t, ok(t, "--addr", node2.RESP, "info", "--all", "--json", "raft", "keyspace"))
		if len(nodes) != 3 {
			t.Fatalf("info --all --json: %d nodes", len(nodes))
		}
		for i, n := range nodes {
			if !n.Reachable || n.Info["raft"]["raft_node_id"] != c.Nodes[i].ID {
				t.Fatalf("info --all --json: %+v", n)
			}
		}
		side := ok(t, "--addr", node2.RESP, "info", "--all", "raft")
		if !strings.Contains(side, "raft_node_id") || !strings.Contains(side, "node1") || !strings.Contains(side, "node3") {
			t.Fatalf("info --all:\n%s", side)
		}
		out := ok(t, "--addr", node1.RESP, "snapshot", "--all")
		if strings.Count(out, "snapshot taken on ") != 3 {
			t.Fatalf("snapshot --all:\n%s", out)
		}
	})

	step(t, "transfer hands leadership to the named member", func(t *testing.T) {
		out := ok(t, "--addr", node3.RESP, "transfer", "node2")
		if !strings.Contains(out, "leadership moved from node1 to node2") {
			t.Fatalf("transfer printed %q", out)
		}
		l, err := c.Leader(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if l != node2 {
			t.Fatalf("leader is %s, want node2", l.ID)
		}
		if got := decode[leaderRef](t, ok(t, "--addr", node1.RESP, "leader", "--json")); got.ID != "node2" || got.RESPAddr != node2.RESP {
			t.Fatalf("leader --json: %+v", got)
		}
		if out := ok(t, "--addr", node1.RESP, "transfer", "node2"); out != "node2 already leads\n" {
			t.Fatalf("transfer to the leader printed %q", out)
		}
	})

	step(t, "status names a dead member and exits non-zero", func(t *testing.T) {
		node3.Kill()
		r := wantExit(t, exitUnhealthy, []string{"cluster unhealthy: 1 problem"}, "--addr", node1.RESP, "status")
		t.Logf("status with node3 killed:\n%s", r.stdout)
		if !strings.HasPrefix(r.stdout, "cluster UNHEALTHY: leader node2") ||
			!strings.Contains(r.stdout, "  - node3: cannot reach "+node3.RESP+": connection refused") {
			t.Fatalf("status:\n%s", r.stdout)
		}
		st := decode[clusterStatus](t, wantExit(t, exitUnhealthy, nil, "--addr", node1.RESP, "status", "--json").stdout)
		if st.Healthy || len(st.Problems) != 1 || !strings.Contains(st.Problems[0], "node3") {
			t.Fatalf("status --json: %+v", st)
		}
		// A member down is exit 6 from members and info --all too, and
		// each prints its cause once.
		down := "cluster unhealthy: 1 of 3 members could not be asked (node3)"
		ms := decode[[]memberRow](t, wantExit(t, exitUnhealthy, []string{down}, "--addr", node1.RESP, "members", "--json").stdout)
		if len(ms) != 3 || ms[2].ID != "node3" || ms[2].Reachable || ms[2].AppliedIndex != nil {
			t.Fatalf("members --json with node3 dead: %+v", ms)
		}
		for _, cmd := range [][]string{{"members"}, {"info", "--all", "raft"}} {
			r := wantExit(t, exitUnhealthy, []string{down}, append([]string{"--addr", node1.RESP}, cmd...)...)
			if n := strings.Count(r.stdout+r.stderr, "cannot reach "+node3.RESP); n != 1 || strings.Count(r.stderr, "\n") != 1 {
				t.Fatalf("%v: the cause printed %d times, want once; stderr %q\n%s", cmd, n, r.stderr, r.stdout)
			}
		}
		wantExit(t, exitUnreachable, []string{"walkerctl: cannot reach " + node3.RESP + ": connection refused"}, "--addr", node3.RESP, "get", "k")
		// A list of addresses skips the dead one.
		ok(t, "--addr", node3.RESP+","+node1.RESP, "get", "k")
	})

	step(t, "leave drops the member", func(t *testing.T) {
		if out := ok(t, "--addr", node1.RESP, "leave", "node3"); out != "node3 left the cluster\n" {
			t.Fatalf("leave printed %q", out)
		}
		ms := decode[[]memberRow](t, ok(t, "--addr", node2.RESP, "members", "--json"))
		if len(ms) != 2 || ms[0].ID != "node1" || ms[1].ID != "node2" {
			t.Fatalf("members after leave: %+v", ms)
		}
		eventually(t, 10*time.Second, exitIs(exitOK, "--addr", node1.RESP, "status"))
		wantExit(t, exitError, []string{node1.RESP + ": no member with id node3"}, "--addr", node1.RESP, "leave", "node3")
	})

	step(t, "right after the leader is killed it is unknown, then there is none", func(t *testing.T) {
		// node2 leads a two-voter cluster. node1 names it until its
		// election timeout passes, then alone it cannot win an election.
		node2.Kill()
		r := wantExit(t, exitNoLeader, nil, "--addr", node1.RESP, "leader")
		t.Logf("leader right after kill -9 of node2: %s", r.stderr)
		if r.stderr != "walkerctl: leader unknown: "+node1.RESP+" names node2, which does not answer (cannot reach "+node2.RESP+": connection refused); it may have just failed, and an election will follow\n" &&
			!strings.HasPrefix(r.stderr, "walkerctl: no leader: "+node1.RESP+" knows no leader") {
			t.Fatalf("leader right after kill -9 of the leader: %q", r.stderr)
		}
		eventually(t, 10*time.Second, func() error {
			r := ctl(t, "--addr", node1.RESP, "leader")
			if !strings.HasPrefix(r.stderr, "walkerctl: no leader: "+node1.RESP+" knows no leader") {
				return fmt.Errorf("exit %d: %s", r.code, r.stderr)
			}
			return nil
		})
		r = wantExit(t, exitUnhealthy, nil, "--addr", node1.RESP, "status")
		if !strings.Contains(r.stdout, "cluster UNHEALTHY: no leader") || !strings.Contains(r.stdout, "no leader:") {
			t.Fatalf("status without a leader:\n%s", r.stdout)
		}
		wantExit(t, exitNoLeader, []string{"walkerctl: no leader: " + node1.RESP + " answered CLUSTERDOWN"}, "--addr", node1.RESP, "set", "k", "v")
	})
}

func TestCLI_PasswordAndStandaloneErrorsAreOneLineHints(t *testing.T) {
	n := harness.NewNode(t, walkerd(t), "solo", "-standalone")
	n.Start()
	addr := []string{"--addr", n.RESP}

	wantExit(t, exitError, []string{"walkerctl: " + n.RESP + ": this command requires cluster mode"}, append(addr, "members")...)
	ok(t, append(addr, "set", "k", "v")...)

	if _, err := n.Do("CONFIG", "SET", "requirepass", "s3cret"); err != nil {
		t.Fatal(err)
	}
	r := wantExit(t, exitAuth, []string{n.RESP + " requires a password (NOAUTH): pass --password or set WALKERCTL_PASSWORD"}, append(addr, "get", "k")...)
	if strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("want one line, got %q", r.stderr)
	}
	wantExit(t, exitAuth, []string{n.RESP + " rejected the password (WRONGPASS): check --password or WALKERCTL_PASSWORD"}, append(addr, "--password", "nope", "get", "k")...)
	if out := ok(t, append(addr, "--password", "s3cret", "get", "k")...); out != "v\n" {
		t.Fatalf("get with the password printed %q", out)
	}
	t.Setenv("WALKERCTL_PASSWORD", "s3cret")
	if out := ok(t, append(addr, "get", "k")...); out != "v\n" {
		t.Fatalf("get with WALKERCTL_PASSWORD printed %q", out)
	}
}
