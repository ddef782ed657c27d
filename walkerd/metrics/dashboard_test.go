package metrics_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/harness"
	"github.com/walkerdb/walkerdb/walkerd/store"
)

const dashboardPath = "../../packaging/grafana/walkerd-dashboard.json"

// exprs collects every "expr" string in a decoded JSON value.
func exprs(v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "expr" {
				*out = append(*out, s)
				continue
			}
			exprs(x, out)
		}
	case []any:
		for _, x := range v {
			exprs(x, out)
		}
	}
}

// addFollower starts a second Raft node and has the leader n add it, so
// that the leader emits its per-follower replication figures.
func addFollower(t *testing.T, n *node) {
	t.Helper()
	dir := t.TempDir()
	raftAddr := harness.FreeAddr(t)
	f, err := store.Open(store.Config{
		ID: "follower", RaftAddr: raftAddr, RESPAddr: "127.0.0.1:2",
		RaftDir: filepath.Join(dir, "raft"), DataDir: filepath.Join(dir, "data"),
		Sync: engine.SyncNo, Engine: engine.DefaultOptions(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := n.st.Join("follower", raftAddr, ""); err != nil {
		t.Fatal(err)
	}
	// It joins as a non-voter; the leader promotes it (store/promote.go).
	if err := harness.WaitFor(10*time.Second, func() error {
		if p := n.st.RaftStatus().Peers; p != 1 {
			return fmt.Errorf("%d voting peers", p)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	n.do(t, "+OK", "SET", "replicated", "v")
	if err := harness.WaitFor(10*time.Second, func() error {
		if rs := f.RaftStatus(); rs.AppliedIndex < n.st.RaftStatus().CommitIndex {
			return fmt.Errorf("follower applied %d", rs.AppliedIndex)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// Every metric the dashboard queries is one walkerd serves, in cluster
// mode with a follower (the replication panels' per-peer figures exist
// only on a leader with followers).
func TestDashboard_ParsesAndQueriesOnlyServedMetrics(t *testing.T) {
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var dash map[string]any
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	if !strings.Contains(string(raw), `"uid": "${datasource}"`) {
		t.Error("the panels do not take their data source from the datasource variable")
	}
	var all []string
	exprs(dash, &all)
	if len(all) < 20 {
		t.Fatalf("only %d queries in the dashboard", len(all))
	}

	n := startRaftNode(t)
	n.do(t, "+OK", "SET", "k", "v")
	n.do(t, "-WRONGTYPE", "LPUSH", "k", "x")
	addFollower(t, n)
	if err := n.st.Snapshot(); err != nil {
		t.Fatal(err)
	}
	// The leader heartbeats its follower every 50 ms or so.
	var fams map[string]*dto.MetricFamily
	if err := harness.WaitFor(10*time.Second, func() error {
		fams = n.scrape(t)
		for _, m := range []string{"walkerd_raft_replication_appendEntries_rpc", "walkerd_raft_replication_heartbeat"} {
			if v := value(fams, m, "peer_id=follower"); !(v >= 1) {
				return fmt.Errorf("%s{peer_id=follower} = %v", m, v)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if v := value(fams, "walkerd_raft_peers"); v != 1 {
		t.Errorf("raft_peers = %v with one follower: %+v", v, n.st.RaftStatus())
	}

	name := regexp.MustCompile(`\b(?:walkerd|go|process)_[A-Za-z0-9_]+`)
	served := func(m string) bool {
		if fams[m] != nil {
			return true
		}
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(m, suf); ok && fams[base] != nil {
				return true
			}
		}
		return false
	}
	missing := map[string]bool{}
	used := map[string]bool{}
	for _, e := range all {
		for _, m := range name.FindAllString(e, -1) {
			used[m] = true
			if !served(m) {
				missing[m] = true
			}
		}
	}
	if len(missing) > 0 {
		var l []string
		for m := range missing {
			l = append(l, m)
		}
		sort.Strings(l)
		t.Fatalf("the dashboard queries metrics walkerd does not serve: %v", l)
	}
	for _, want := range []string{"walkerd_commands_total", "walkerd_commands_duration_seconds_bucket", "walkerd_errors_total",
		"walkerd_connected_clients", "walkerd_net_input_bytes_total", "walkerd_keyspace_hits_total", "walkerd_db_keys",
		"walkerd_raft_state", "walkerd_raft_term", "walkerd_raft_commit_index", "walkerd_raft_applied_index",
		"walkerd_engine_dead_bytes", "go_memstats_heap_alloc_bytes", "go_gc_duration_seconds_count"} {
		if !used[want] {
			t.Errorf("no panel queries %s", want)
		}
	}
}
