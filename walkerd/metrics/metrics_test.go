package metrics_test

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/harness"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/metrics"
	"github.com/walkerdb/walkerdb/walkerd/server"
	"github.com/walkerdb/walkerdb/walkerd/store"
)

// node is an in-process walkerd: a RESP server on a loopback port and its
// /metrics endpoint.
type node struct {
	srv     *server.Server
	addr    string // RESP
	metrics string // the /metrics URL
	st      *store.Store
	reg     *prometheus.Registry
}

// serve starts a RESP server on b and an exporter for it.
func serve(t testing.TB, b backend.Backend, mo metrics.Options) *node {
	t.Helper()
	// As walkerd runs by default: with its event loop where it has one.
	srv := server.New(b, server.Config{EventLoop: runtime.GOOS == "linux"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	mo.Server, mo.Engine = srv, b.Engine
	reg, err := metrics.New(mo)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(metrics.Handler(reg))
	t.Cleanup(hs.Close)
	return &node{srv: srv, addr: ln.Addr().String(), metrics: hs.URL, reg: reg}
}

func startStandalone(t testing.TB) *node {
	t.Helper()
	db, err := engine.Open(t.TempDir(), &engine.Options{Sync: engine.SyncNo})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return serve(t, backend.NewStandalone(db), metrics.Options{})
}

// startRaftNode starts a one-node Raft cluster, with raft's go-metrics
// sink installed before it starts, and waits until it leads.
func startRaftNode(t *testing.T) *node {
	t.Helper()
	sink, err := metrics.InstallRaftSink()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := store.Open(store.Config{
		ID: "solo", RaftAddr: harness.FreeAddr(t), RESPAddr: "127.0.0.1:1",
		RaftDir: filepath.Join(dir, "raft"), DataDir: filepath.Join(dir, "data"),
		Bootstrap: true, Sync: engine.SyncNo, Engine: engine.DefaultOptions(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := harness.WaitFor(10*time.Second, func() error {
		if !st.Ready() {
			return fmt.Errorf("not ready: %+v", st.RaftStatus())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	n := serve(t, st, metrics.Options{Raft: st, RaftSink: sink})
	n.st = st
	return n
}

func (n *node) do(t *testing.T, want string, args ...string) {
	t.Helper()
	got, err := harness.Do(n.addr, args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	if !strings.HasPrefix(got, want) {
		t.Fatalf("%v = %q, want %q...", args, got, want)
	}
}

// scrape reads /metrics with Prometheus's own text parser, which refuses
// a malformed exposition.
func (n *node) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	// The handler serves what it can; Gather says what it could not
	// (a name two collectors export, an inconsistent label set).
	if _, err := n.reg.Gather(); err != nil {
		t.Fatalf("gather: %v", err)
	}
	resp, err := http.Get(n.metrics)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// metric finds the sample of family name whose labels include labels
// ("k=v" each); nil if none.
func metric(fams map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for _, kv := range labels {
			k, v, _ := strings.Cut(kv, "=")
			if have[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

// value is the sample's value (a histogram's or summary's count); NaN
// when there is no such sample.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	m := metric(fams, name, labels...)
	switch {
	case m == nil:
		return math.NaN()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	case m.Summary != nil:
		return float64(m.Summary.GetSampleCount())
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return math.NaN()
}

func TestMetrics_CountersMoveAfterCommands(t *testing.T) {
	n := startStandalone(t)
	before := n.scrape(t)
	if v := value(before, "walkerd_commands_total", "cmd=set"); !math.IsNaN(v) {
		t.Fatalf("commands_total{cmd=set} before any SET = %v, want no sample", v)
	}
	n.do(t, "+OK", "SET", "k", "v")
	n.do(t, "+OK", "SET", "k2", "v")
	n.do(t, "$1", "GET", "k")
	n.do(t, "$-1", "GET", "nokey")
	n.do(t, "-WRONGTYPE", "LPUSH", "k", "x")
	n.do(t, "-ERR wrong number", "GET")
	n.do(t, "+OK", "SET", "ttl", "v", "EX", "100")
	n.do(t, "+OK", "SELECT", "3") // its own connection: db3 stays empty

	after := n.scrape(t)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"walkerd_commands_total", []string{"cmd=set"}, 3},
		{"walkerd_commands_total", []string{"cmd=get"}, 2},
		{"walkerd_commands_rejected_calls_total", []string{"cmd=get"}, 1},
		{"walkerd_commands_failed_calls_total", []string{"cmd=lpush"}, 1},
		{"walkerd_errors_total", []string{"err=WRONGTYPE"}, 1},
		{"walkerd_errors_total", []string{"err=ERR"}, 1},
		{"walkerd_error_replies_total", nil, 2},
		{"walkerd_keyspace_hits_total", nil, 1},
		{"walkerd_keyspace_misses_total", nil, 1},
		{"walkerd_commands_duration_seconds", []string{"cmd=set"}, 3},
		{"walkerd_db_keys", []string{"db=db0"}, 3},
		{"walkerd_db_keys_expiring", []string{"db=db0"}, 1},
		{"walkerd_connections_received_total", nil, 8},
		{"walkerd_scrape_error", []string{"part=keyspace"}, 0},
		{"walkerd_engine_segments", nil, 1},
	} {
		if got := value(after, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if ttl := value(after, "walkerd_db_avg_ttl_seconds", "db=db0"); !(ttl > 90 && ttl <= 100) {
		t.Errorf("db_avg_ttl_seconds{db0} = %v, want about 100", ttl)
	}
	if m := metric(after, "walkerd_db_keys", "db=db3"); m != nil {
		t.Errorf("db_keys has a sample for the empty db3: %v", m)
	}
	for _, name := range []string{"walkerd_net_input_bytes_total", "walkerd_net_output_bytes_total"} {
		b, a := value(before, name), value(after, name)
		// SET k v alone is 27 bytes in and 5 out.
		if !(a >= b+27) {
			t.Errorf("%s went from %v to %v over 8 commands", name, b, a)
		}
	}
	if v := value(after, "walkerd_engine_bytes"); !(v > 0) {
		t.Errorf("engine_bytes = %v after three SETs", v)
	}
	for _, name := range []string{"walkerd_event_loop_commands_total", "walkerd_event_loop_handoffs_total", "walkerd_event_loop_parked_total", "walkerd_event_loop_empty_reads_total"} {
		if math.IsNaN(value(after, name)) {
			t.Errorf("no %s", name)
		}
	}
	// A connection's lone GETs run on the event loop once it holds the
	// connection (the first command of a new one runs on its goroutine).
	if runtime.GOOS == "linux" {
		c, err := harness.Dial(n.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for range 200 {
			if _, err := c.Do("GET", "k"); err != nil {
				t.Fatal(err)
			}
		}
		b, a := value(after, "walkerd_event_loop_commands_total"), value(n.scrape(t), "walkerd_event_loop_commands_total")
		if !(a > b) || float64(n.srv.Stats().EventLoopCommands) != a {
			t.Errorf("walkerd_event_loop_commands_total %v, then %v after 200 GETs; the server counts %d", b, a, n.srv.Stats().EventLoopCommands)
		}
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_resident_memory_bytes", "walkerd_build_info"} {
		if value(after, name) <= 0 {
			t.Errorf("%s missing or zero", name)
		}
	}
	if metric(after, "walkerd_raft_term") != nil {
		t.Error("a standalone server exports walkerd_raft_term")
	}
}

// The histogram is Prometheus's: cumulative buckets at powers of two of
// nanoseconds, +Inf equal to the count, _sum the run time in seconds.
func TestMetrics_CommandHistogramIsCumulativeAndMatchesTheCalls(t *testing.T) {
	n := startStandalone(t)
	for i := range 50 {
		n.do(t, "+OK", "SET", fmt.Sprint("k", i), "v")
	}
	fams := n.scrape(t)
	m := metric(fams, "walkerd_commands_duration_seconds", "cmd=set")
	if m == nil || m.Histogram == nil {
		t.Fatal("no histogram for set")
	}
	h := m.Histogram
	if h.GetSampleCount() != 50 {
		t.Fatalf("count = %d, want 50", h.GetSampleCount())
	}
	if len(h.Bucket) != 25 {
		t.Fatalf("%d buckets, want 24 (2^10 to 2^33 ns) and +Inf", len(h.Bucket))
	}
	if inf := h.Bucket[24]; !math.IsInf(inf.GetUpperBound(), 1) || inf.GetCumulativeCount() != 50 {
		t.Fatalf("last bucket le=%v holds %d, want +Inf holding 50", inf.GetUpperBound(), inf.GetCumulativeCount())
	}
	var prev uint64
	for i, b := range h.Bucket[:24] {
		wantLe := math.Ldexp(1, 10+i) / 1e9
		if b.GetUpperBound() != wantLe {
			t.Fatalf("bucket %d: le=%v, want %v", i, b.GetUpperBound(), wantLe)
		}
		if b.GetCumulativeCount() < prev {
			t.Fatalf("bucket le=%v: %d < the previous %d", b.GetUpperBound(), b.GetCumulativeCount(), prev)
		}
		prev = b.GetCumulativeCount()
	}
	if prev != 50 {
		t.Fatalf("the 8.6 s bucket holds %d of 50 SETs", prev)
	}
	var usec int64
	for _, c := range n.srv.Stats().Commands {
		if c.Name == "set" {
			usec = c.Usec
		}
	}
	// Stats read after the scrape: no SET ran in between.
	if got, want := h.GetSampleSum(), float64(usec)/1e6; math.Abs(got-want) > 1e-9 {
		t.Fatalf("sum = %v s, want INFO's usec %d in seconds", got, usec)
	}
}

func TestMetrics_RaftFiguresOfALeader(t *testing.T) {
	n := startRaftNode(t)
	for i := range 5 {
		n.do(t, "+OK", "SET", fmt.Sprint("k", i), "v")
	}
	if err := n.st.Snapshot(); err != nil {
		t.Fatal(err)
	}
	fams := n.scrape(t)
	if v := value(fams, "walkerd_raft_state", "state=leader"); v != 1 {
		t.Errorf("raft_state{leader} = %v, want 1", v)
	}
	if v := value(fams, "walkerd_raft_state", "state=follower"); v != 0 {
		t.Errorf("raft_state{follower} = %v, want 0", v)
	}
	rs := n.st.RaftStatus()
	term, commit, applied, last := value(fams, "walkerd_raft_term"), value(fams, "walkerd_raft_commit_index"),
		value(fams, "walkerd_raft_applied_index"), value(fams, "walkerd_raft_last_log_index")
	if term < 1 || term != float64(rs.Term) {
		t.Errorf("raft_term = %v, raft says %d", term, rs.Term)
	}
	// bootstrap, the leader's no-op and barrier, its member entry, 5 SETs
	if !(commit >= 8 && applied >= 8 && last >= commit) {
		t.Errorf("commit %v, applied %v, last %v: want at least the 8 entries written", commit, applied, last)
	}
	if v := value(fams, "walkerd_raft_last_snapshot_index"); !(v >= 8) {
		t.Errorf("raft_last_snapshot_index = %v after SNAPSHOT", v)
	}
	if v := value(fams, "walkerd_raft_leader_changes_total"); v != 1 {
		t.Errorf("raft_leader_changes_total = %v, want 1 (this node's election)", v)
	}
	if v := value(fams, "walkerd_raft_last_contact_seconds"); v != 0 {
		t.Errorf("raft_last_contact_seconds = %v on the leader, want 0", v)
	}
	// Two consistent reads, one leadership round each (one node: no
	// answers to wait for).
	n.do(t, "$1", "LEVELGET", "k0", "2")
	n.do(t, "$1", "LEVELGET", "k1", "2")
	fams = n.scrape(t)
	if v := value(fams, "walkerd_raft_leader_checks_total"); v != 2 {
		t.Errorf("raft_leader_checks_total = %v after 2 consistent reads, want 2", v)
	}
	if v := value(fams, "walkerd_raft_leader_checks_waited_total"); v != 0 {
		t.Errorf("raft_leader_checks_waited_total = %v on one node, want 0", v)
	}
	// raft's own figures, through the go-metrics sink.
	for _, c := range []struct {
		name string
		min  float64
	}{
		{"walkerd_raft_apply", 5},
		{"walkerd_raft_commitTime", 5},
		{"walkerd_raft_fsm_applyBatch", 1},
		{"walkerd_raft_fsm_snapshot", 1},
		{"walkerd_raft_snapshot_persist", 1},
		{"walkerd_raft_state_leader", 1},
		{"walkerd_raft_fsm_restore", 0}, // declared: there before any restore
	} {
		if v := value(fams, c.name); !(v >= c.min) {
			t.Errorf("%s = %v, want at least %v", c.name, v, c.min)
		}
	}
	for name := range fams {
		if strings.Contains(name, "127_0_0_1") || strings.Contains(name, "solo") {
			t.Errorf("a metric name holds a peer id: %s", name)
		}
	}
}

func TestCheckAddr_RefusesRemoteUnlessAllowed(t *testing.T) {
	for _, c := range []struct {
		addr   string
		remote bool
		ok     bool
	}{
		{"127.0.0.1:9121", false, true},
		{"127.0.0.2:9121", false, true},
		{"[::1]:9121", false, true},
		{"localhost:9121", false, true},
		{"0.0.0.0:9121", false, false},
		{":9121", false, false},
		{"10.1.2.3:9121", false, false},
		{"example.com:9121", false, false},
		{"0.0.0.0:9121", true, true},
		{"127.0.0.1", false, false},
	} {
		err := metrics.CheckAddr(c.addr, c.remote)
		if (err == nil) != c.ok {
			t.Errorf("CheckAddr(%q, %v) = %v, want ok=%v", c.addr, c.remote, err, c.ok)
		}
	}
}

// In standalone mode with appendfsync always the backend syncs the engine
// after each write: the fsyncs and their latency histogram move.
func TestMetrics_EngineFsyncsAndTheirLatency(t *testing.T) {
	db, err := engine.Open(t.TempDir(), &engine.Options{Sync: engine.SyncNo})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	n := serve(t, backend.NewStandaloneGroupCommit(db), metrics.Options{})
	for i := range 3 {
		n.do(t, "+OK", "SET", fmt.Sprint("k", i), "v")
	}
	fams := n.scrape(t)
	fsyncs := value(fams, "walkerd_engine_fsyncs_total")
	if fsyncs < 3 {
		t.Fatalf("engine_fsyncs_total = %v after 3 synced SETs", fsyncs)
	}
	m := metric(fams, "walkerd_engine_fsync_duration_seconds")
	if m == nil || m.Histogram == nil {
		t.Fatal("no engine_fsync_duration_seconds histogram")
	}
	h := m.Histogram
	if float64(h.GetSampleCount()) != fsyncs || !(h.GetSampleSum() > 0) {
		t.Fatalf("fsync histogram: count %d, sum %v; fsyncs_total %v", h.GetSampleCount(), h.GetSampleSum(), fsyncs)
	}
	if first := h.Bucket[0].GetUpperBound(); first != 16e-6 {
		t.Fatalf("first bucket le=%v, want 16 µs", first)
	}
}

// A leadership transfer is a leader change each node sees: the old
// leader's counter goes from 1 (its own election) to 2, and it reports
// itself a follower that hears from its leader.
func TestMetrics_LeaderChangesCountATransfer(t *testing.T) {
	n := startRaftNode(t)
	addFollower(t, n)
	if v := value(n.scrape(t), "walkerd_raft_leader_changes_total"); v != 1 {
		t.Fatalf("leader_changes_total = %v before the transfer, want 1", v)
	}
	if err := n.st.Transfer("follower"); err != nil {
		t.Fatal(err)
	}
	var fams map[string]*dto.MetricFamily
	if err := harness.WaitFor(10*time.Second, func() error {
		fams = n.scrape(t)
		if v := value(fams, "walkerd_raft_leader_changes_total"); v != 2 {
			return fmt.Errorf("leader_changes_total = %v, want 2", v)
		}
		if v := value(fams, "walkerd_raft_state", "state=follower"); v != 1 {
			return fmt.Errorf("raft_state{follower} = %v", v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if v := value(fams, "walkerd_raft_state", "state=leader"); v != 0 {
		t.Errorf("raft_state{leader} = %v on the old leader", v)
	}
	if v := value(fams, "walkerd_raft_last_contact_seconds"); !(v >= 0 && v < 5) {
		t.Errorf("raft_last_contact_seconds = %v on a follower with a leader", v)
	}
}
