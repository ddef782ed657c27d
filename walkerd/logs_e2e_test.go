package main_test

import (
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// walkerdLines are a node's log lines, without the harness's "--- start"
// and "--- exited" lines.
func walkerdLines(n *harness.Node) []string {
	var out []string
	for _, l := range strings.Split(n.Log(), "\n") {
		if l != "" && !strings.HasPrefix(l, "--- ") {
			out = append(out, l)
		}
	}
	return out
}

// logRun starts a three-node cluster with --log-format format, stops a
// follower until the leader has logged it unreachable, brings it back
// until the leader logs it reachable, and stops the cluster. It returns
// the cluster and the down follower.
func logRun(t *testing.T, format string) (*harness.Cluster, *harness.Node, *harness.Node) {
	c := harness.StartCluster(t, bin(t), 3, "--log-format", format)
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	must(t, leader, "+OK\r\n", "SET", "k", "v")
	down := c.Followers(leader)[0]
	down.Stop()
	waitLog := func(n *harness.Node, what string) {
		t.Helper()
		if err := harness.WaitFor(30*time.Second, func() error {
			if !strings.Contains(n.Log(), what) {
				return fmt.Errorf("%s has not logged %q", n.ID, what)
			}
			return nil
		}); err != nil {
			t.Fatalf("%v\n%s", err, c.Logs())
		}
	}
	waitLog(leader, "raft peer unreachable")
	// Heartbeats to the down peer fail every few hundred ms meanwhile;
	// none is a line of its own (checkPeerLines).
	time.Sleep(2 * time.Second)
	down.Start()
	waitLog(leader, "raft peer reachable again")
	// The leader first: it logs nothing about the others stopping.
	leader.Stop()
	for _, n := range c.Nodes {
		n.Stop()
	}
	return c, leader, down
}

// checkStartLines: each start of each node logs one line with its version,
// addresses, directories, mode and Raft log store.
func checkStartLines(t *testing.T, c *harness.Cluster, fields func(line string) map[string]string) {
	t.Helper()
	for _, n := range c.Nodes {
		starts := strings.Count(n.Log(), "--- start ")
		var got int
		for _, l := range walkerdLines(n) {
			f := fields(l)
			if f["msg"] != "walkerd starting" {
				continue
			}
			got++
			for _, k := range []string{"version", "resp", "advertise", "raft", "raft_advertise", "dir", "raftdir", "mode", "raft_log"} {
				if f[k] == "" {
					t.Errorf("%s: start line without %s: %s", n.ID, k, l)
				}
			}
			if f["mode"] != "cluster" || f["resp"] != n.RESP || f["raft"] != n.Raft {
				t.Errorf("%s: start line %s", n.ID, l)
			}
		}
		if got != starts {
			t.Errorf("%s: %d start lines for %d starts", n.ID, got, starts)
		}
	}
}

// checkPeerLines: while a follower was down, the leader logged one WARN
// line about it (the first failure; a summary comes only after 30 s) and
// no ERROR, and one INFO line when it came back; and no node's first
// election was a WARN.
func checkPeerLines(t *testing.T, c *harness.Cluster, leader, down *harness.Node, fields func(line string) map[string]string) {
	t.Helper()
	var unreachable, recovered int
	for _, l := range walkerdLines(leader) {
		f := fields(l)
		if f["level"] == "ERROR" {
			t.Errorf("leader logged an ERROR: %s", l)
		}
		switch f["msg"] {
		case "raft peer unreachable":
			unreachable++
			if f["peer"] != down.ID || f["level"] != "WARN" || f["component"] != "raft" {
				t.Errorf("first failure line: %s", l)
			}
		case "raft peer reachable again":
			recovered++
			if f["peer"] != down.ID || f["level"] != "INFO" || f["failures"] == "" {
				t.Errorf("recovery line: %s", l)
			}
		}
	}
	if unreachable != 1 || recovered != 1 {
		t.Errorf("leader: %d unreachable and %d recovery lines, want 1 and 1\n%s", unreachable, recovered, leader.Log())
	}
	for _, n := range c.Nodes {
		for _, l := range walkerdLines(n) {
			if f := fields(l); strings.Contains(f["msg"], "election") && f["level"] != "INFO" {
				t.Errorf("%s: an election at start-up logged at %s: %s", n.ID, f["level"], l)
			}
		}
	}
}

// In JSON mode every line of every node's stderr is one JSON object with
// walkerd's keys (time, level, msg; raft's lines component=raft), not
// hclog's (@level, @message, @module).
func TestE2E_JSONLogsAreOneSchema(t *testing.T) {
	c, leader, down := logRun(t, "json")
	fields := func(line string) map[string]string {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", line, err)
		}
		out := map[string]string{}
		for k, v := range m {
			out[k] = fmt.Sprint(v)
		}
		return out
	}
	for _, n := range c.Nodes {
		lines := walkerdLines(n)
		if len(lines) < 3 {
			t.Fatalf("%s logged %d lines", n.ID, len(lines))
		}
		for _, l := range lines {
			f := fields(l)
			for _, k := range []string{"time", "level", "msg"} {
				if f[k] == "" {
					t.Errorf("%s: line without %s: %s", n.ID, k, l)
				}
			}
			for k := range f {
				if strings.HasPrefix(k, "@") || strings.ContainsAny(k, " -") {
					t.Errorf("%s: key %q is not walkerd's: %s", n.ID, k, l)
				}
			}
			if f["component"] != "" && f["component"] != "raft" {
				t.Errorf("%s: component %q: %s", n.ID, f["component"], l)
			}
		}
	}
	checkStartLines(t, c, fields)
	checkPeerLines(t, c, leader, down, fields)
	checkOneTypePerKey(t, c)
}

// checkOneTypePerKey: across all lines of all nodes each JSON key has one
// type, none is null, and durations (ready to serve's after, a peer's
// down_for) are Go duration strings, as text mode shows them.
func checkOneTypePerKey(t *testing.T, c *harness.Cluster) {
	t.Helper()
	types := map[string]map[string]string{} // key -> JSON type -> a line
	var durations int
	for _, n := range c.Nodes {
		for _, l := range walkerdLines(n) {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("not a JSON line: %q: %v", l, err)
			}
			for k, v := range m {
				ty := fmt.Sprintf("%T", v)
				if types[k] == nil {
					types[k] = map[string]string{}
				}
				types[k][ty] = l
				if v == nil {
					t.Errorf("%s: %s is null: %s", n.ID, k, l)
				}
			}
			for _, k := range []string{"after", "down_for"} {
				if k == "after" && m["msg"] != "ready to serve" {
					continue
				}
				if v, ok := m[k]; ok {
					durations++
					if s, _ := v.(string); s == "" {
						t.Errorf("%s: %s is not a duration string: %s", n.ID, k, l)
					} else if _, err := time.ParseDuration(s); err != nil {
						t.Errorf("%s: %s: %v: %s", n.ID, k, err, l)
					}
				}
			}
		}
	}
	for k, ts := range types {
		if len(ts) > 1 {
			t.Errorf("key %q has %d JSON types:", k, len(ts))
			for ty, l := range ts {
				t.Errorf("  %s: %s", ty, l)
			}
		}
	}
	if durations == 0 {
		t.Errorf("no ready to serve or down_for line: the test did not test durations")
	}
}

var (
	hclogLine = regexp.MustCompile(`\[(TRACE|DEBUG|INFO|WARN|ERROR)\]`)
	logfmtKV  = regexp.MustCompile(`([a-z_]+)=("(?:[^"\\]|\\.)*"|\S*)`)
)

// In text mode every line is slog's key=value text, raft's included: no
// hclog "[WARN]  raft:" lines.
func TestE2E_TextLogsHaveNoHclogLines(t *testing.T) {
	c, leader, down := logRun(t, "text")
	fields := func(line string) map[string]string {
		out := map[string]string{}
		for _, m := range logfmtKV.FindAllStringSubmatch(line, -1) {
			if _, dup := out[m[1]]; !dup {
				out[m[1]] = strings.Trim(m[2], `"`)
			}
		}
		return out
	}
	for _, n := range c.Nodes {
		for _, l := range walkerdLines(n) {
			if hclogLine.MatchString(l) || !strings.HasPrefix(l, "time=") || !strings.Contains(l, " level=") || !strings.Contains(l, " msg=") {
				t.Errorf("%s: not a walkerd text line: %s", n.ID, l)
			}
		}
	}
	checkStartLines(t, c, fields)
	checkPeerLines(t, c, leader, down, fields)
}

// Once the logger exists, a fatal error is one log line at ERROR in the
// chosen format, the last of the output, and walkerd exits 1; before it
// (a bad flag) the error is plain text.
func TestE2E_FatalErrorIsALogLine(t *testing.T) {
	b := bin(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0") // the Raft port, taken
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, format := range []string{"json", "text"} {
		dir := t.TempDir()
		out, code := harness.RunOnce(t, b, "--log-format", format, "-tcp", harness.FreeAddr(t),
			"-raft", busy.Addr().String(), "-dir", dir+"/data", "-raftdir", dir+"/raft")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		last := lines[len(lines)-1]
		if code != 1 || len(lines) < 2 {
			t.Fatalf("%s: exit %d, output %q; want exit 1 after the start line", format, code, out)
		}
		for _, l := range lines {
			switch format {
			case "json":
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Errorf("json: not a JSON line: %q", l)
				} else if l == last && (m["level"] != "ERROR" || !strings.Contains(fmt.Sprint(m["err"]), "address already in use")) {
					t.Errorf("json: last line %s; want level ERROR and the error as err", l)
				}
			case "text":
				if !strings.HasPrefix(l, "time=") || !strings.Contains(l, " level=") {
					t.Errorf("text: not a walkerd text line: %q", l)
				} else if l == last && (!strings.Contains(l, " level=ERROR ") || !strings.Contains(l, "address already in use")) {
					t.Errorf("text: last line %s; want level=ERROR and the error", l)
				}
			}
		}
	}
	// Flags are parsed before the logger exists.
	out, code := harness.RunOnce(t, b, "--log-format", "json", "--appendfsync", "sometimes")
	if code != 1 || !strings.HasPrefix(strings.TrimSpace(out), "walkerd: --appendfsync") {
		t.Errorf("a bad flag: exit %d, output %q; want exit 1 and \"walkerd: --appendfsync ...\"", code, out)
	}
}
