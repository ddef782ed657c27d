package server

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/walkerdb/walkerdb/internal/harness"
	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/shard"
)

// fakeShards is a slot map source for in-process tests: one route answers
// every slot.
type fakeShards struct {
	route atomic.Pointer[shard.Route]
}

func newFakeShards(r shard.Route) *fakeShards {
	f := &fakeShards{}
	f.route.Store(&r)
	return f
}

func (f *fakeShards) Self() string { return "a" }

func (f *fakeShards) Route(uint16) shard.Route { return *f.route.Load() }

func (f *fakeShards) Map() (*shard.Map, error) {
	g := shard.Group{ID: "g1", Ranges: []shard.Range{{Start: 0, End: shard.Slots - 1}}, Members: []shard.Node{{ID: "a", Addr: "127.0.0.1:7000"}}, Epoch: 3}
	if f.Route(0).Leads {
		g.Leader = "a"
	}
	return &shard.Map{Epoch: 3, Groups: []shard.Group{g}}, nil
}

// clusterSequence is what a client of a one-node Redis Cluster that owns
// every slot sees; walkerd in cluster mode, leading every slot, must
// answer each line as redis-server 7.0.15 in cluster mode does.
var clusterSequence = []string{
	"SET foo bar",
	"SET {user1}.name ann",
	"SET {user1}.mail ann@example.com",
	"CLUSTER KEYSLOT foo",
	"CLUSTER KEYSLOT {user1}.name",
	"CLUSTER KEYSLOT {}x",
	"CLUSTER KEYSLOT a{b",
	"CLUSTER KEYSLOT {a}{b}",
	"CLUSTER KEYSLOT",
	"CLUSTER KEYSLOT a b",
	"CLUSTER COUNTKEYSINSLOT 12182",
	"CLUSTER COUNTKEYSINSLOT 0",
	"CLUSTER COUNTKEYSINSLOT 16384",
	"CLUSTER COUNTKEYSINSLOT -1",
	"CLUSTER COUNTKEYSINSLOT x",
	"CLUSTER GETKEYSINSLOT 12182 10",
	"CLUSTER GETKEYSINSLOT 12182 0",
	"CLUSTER GETKEYSINSLOT 12182 -1",
	"CLUSTER GETKEYSINSLOT 16384 1",
	"CLUSTER GETKEYSINSLOT x 1",
	"CLUSTER GETKEYSINSLOT 1 x",
	"CLUSTER INFO x",
	"CLUSTER MYID x",
	"CLUSTER SLOTS x",
	"CLUSTER NOSUCH",
	"MSET a 1 b 2",
	"MSET {t}a 1 {t}b 2",
	"MGET {t}a {t}b",
	"MGET a b",
	"DEL a b",
	"RENAME {t}a b",
	"SUNIONSTORE d {t}a {t}b",
	"BLPOP a b 1",
	"WATCH a b",
	"EVAL \"return 1\" 2 a b",
	"EVAL \"return redis.call('get', KEYS[1])\" 1 foo",
	"MULTI",
	"SET a 1",
	"SET b 1",
	"EXEC",
	"GET a",
	"MULTI",
	"SET {t}a 2",
	"GET {t}b",
	"EXEC",
	"SELECT 1",
	"SELECT 0",
	"READONLY",
	"READWRITE",
	"ASKING",
	"READONLY x",
	"GET foo",
	"RPUSH {l}x 3 1 2",
	"SORT {l}x",
	"SORT {l}x BY nosort",
	"SORT {l}x BY w_*",
	"SORT {l}x GET w_*",
	"SORT {l}x GET #",
	"SORT {l}x LIMIT 0 1 BY w_*",
	"SORT_RO {l}x BY w_* GET #",
	"SORT {l}x STORE {l}y GET #",
	"SORT {l}x NOSUCH BY w_*",
}

// TestClusterMode_RepliesMatchRedisCluster runs clusterSequence against a
// one-node redis-server cluster and against walkerd in cluster mode; the
// replies must be the same, byte for byte.
func TestClusterMode_RepliesMatchRedisCluster(t *testing.T) {
	raddr, _ := harness.StartRedisCluster(t)
	s := startServer(t, Config{Shards: newFakeShards(shard.Route{Leads: true, Member: true, Served: true})})
	compareSequence(t, dial(t, raddr), dial(t, s.addr), clusterSequence)
}

// TestClusterMode_OffAnswersAsARedisWithoutCluster: outside cluster mode,
// the cluster commands answer as redis-server with cluster-enabled no,
// and multi-key commands span slots freely.
func TestClusterMode_OffAnswersAsARedisWithoutCluster(t *testing.T) {
	raddr := startRedis(t)
	s := startServer(t, Config{})
	compareSequence(t, dial(t, raddr), dial(t, s.addr), []string{
		"CLUSTER INFO", "CLUSTER SLOTS", "CLUSTER KEYSLOT foo", "CLUSTER HELP", "CLUSTER NOSUCH",
		"READONLY", "READWRITE", "ASKING", "MSET a 1 b 2", "SELECT 1", "SELECT 0",
	})
}

func compareSequence(t *testing.T, r, w *conn, lines []string) {
	t.Helper()
	for _, line := range lines {
		args, err := splitArgs(line)
		if err != nil {
			t.Fatal(err)
		}
		rv, err := r.do(args...)
		if err != nil {
			t.Fatalf("redis %s: %v", line, err)
		}
		wv, err := w.do(args...)
		if err != nil {
			t.Fatalf("walkerd %s: %v", line, err)
		}
		if got, want := format(wv), format(rv); got != want {
			t.Errorf("%s:\n walkerd %s\n redis   %s", line, got, want)
		}
	}
}

// TestClusterMode_MovedToTheLeader: a node that does not lead a key's slot
// sends the client to the leader, inside MULTI too (the transaction then
// aborts); a READONLY client reads here; a slot no group serves answers
// CLUSTERDOWN.
func TestClusterMode_MovedToTheLeader(t *testing.T) {
	src := newFakeShards(shard.Route{Member: true, Served: true, Addr: "127.0.0.1:7000"})
	s := startServer(t, Config{Shards: src})
	c := dial(t, s.addr)
	moved := "-MOVED 12182 127.0.0.1:7000"
	for _, x := range []struct{ cmd, want string }{
		{"GET foo", moved},
		{"SET foo bar", moved},
		{"MGET a b", "-CROSSSLOT Keys in request don't hash to the same slot"},
		{"PING", "+PONG"},
		{"CLUSTER KEYSLOT foo", ":12182"},
		{"MULTI", "+OK"},
		{"SET foo bar", moved},
		{"PING", "+QUEUED"},
		{"EXEC", "-EXECABORT Transaction discarded because of previous errors."},
		{"READONLY", "+OK"},
		{"GET foo", "(nil)"}, // read here, at the stale level
		{"SET foo bar", moved},
		{"MULTI", "+OK"}, // a transaction goes to the leader, READONLY or not
		{"GET foo", moved},
		{"EXEC", "-EXECABORT Transaction discarded because of previous errors."},
		{"MULTI", "+OK"},
		{"PING", "+QUEUED"},
		{"EXEC", "[+PONG]"},
		{"READWRITE", "+OK"},
		{"GET foo", moved},
	} {
		args, _ := splitArgs(x.cmd)
		v, err := c.do(args...)
		if err != nil {
			t.Fatal(err)
		}
		if got := format(v); got != x.want {
			t.Errorf("%s = %s, want %s", x.cmd, got, x.want)
		}
	}
	src.route.Store(&shard.Route{Served: false})
	if got := c.must(t, "GET", "foo"); got != "-CLUSTERDOWN Hash slot not served" {
		t.Errorf("GET of a slot no group serves = %s", got)
	}
	src.route.Store(&shard.Route{Served: true, Member: true})
	if got := c.must(t, "GET", "foo"); got != "-CLUSTERDOWN The cluster is down" {
		t.Errorf("GET with no leader known = %s", got)
	}
}

// TestClusterMode_MapReplies: CLUSTER SLOTS, SHARDS, NODES, INFO and MYID
// describe the source's map in Redis 7.0's shapes.
func TestClusterMode_MapReplies(t *testing.T) {
	s := startServer(t, Config{Shards: newFakeShards(shard.Route{Leads: true, Member: true, Served: true}), Mode: "cluster"})
	c := dial(t, s.addr)
	id := shard.NodeID("a")
	for _, x := range []struct{ cmd, want string }{
		{"CLUSTER SLOTS", `[[:0, :16383, ["127.0.0.1", :7000, "` + id + `", []]]]`},
		{"CLUSTER MYID", `"` + id + `"`},
		{"CLUSTER MYSHARDID", `"` + shard.ShardID("g1") + `"`},
		{"CLUSTER NODES", `"` + id + ` 127.0.0.1:7000@0 myself,master - 0 0 3 connected 0-16383\n"`},
	} {
		args, _ := splitArgs(x.cmd)
		v, err := c.do(args...)
		if err != nil {
			t.Fatal(err)
		}
		if got := format(v); got != x.want {
			t.Errorf("%s =\n %s\nwant\n %s", x.cmd, got, x.want)
		}
	}
	v, err := c.do("CLUSTER", "SHARDS")
	if err != nil || v.Kind != resp.KindArray || len(v.Elems) != 1 {
		t.Fatalf("CLUSTER SHARDS = %s, %v", format(v), err)
	}
	if got := format(v); !strings.Contains(got, `"slots", [:0, :16383]`) || !strings.Contains(got, `"role", "master"`) ||
		!strings.Contains(got, `"id", "`+id+`"`) {
		t.Errorf("CLUSTER SHARDS = %s", got)
	}
	info := c.must(t, "CLUSTER", "INFO")
	for _, want := range []string{"cluster_state:ok", "cluster_slots_assigned:16384", "cluster_slots_ok:16384", "cluster_known_nodes:1", "cluster_size:1", "cluster_current_epoch:3", "cluster_my_epoch:3"} {
		if !strings.Contains(info, want) {
			t.Errorf("CLUSTER INFO lacks %s:\n%s", want, info)
		}
	}
	if got := c.must(t, "INFO", "cluster"); !strings.Contains(got, "cluster_enabled:1") {
		t.Errorf("INFO cluster = %s", got)
	}
	if got := c.must(t, "HELLO", "3"); !strings.Contains(got, `"mode": "cluster"`) {
		t.Errorf("HELLO 3 = %s", got)
	}
}
