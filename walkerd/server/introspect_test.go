package server

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/harness"
	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/internal/proc"
	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// Exact replies and errors of MEMORY, DEBUG (refused) and ROLE
// (standalone) are compared with Redis in testdata/introspect.txt
// (TestDifferential_*); these tests cover what differs by nature.

// startRedisWith starts a redis-server with extra arguments (as
// harness.StartRedis) and returns its address.
func startRedisWith(t *testing.T, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not on PATH")
	}
	addr := harness.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	dir := t.TempDir()
	p := &proc.Process{Bin: path, LogPath: filepath.Join(dir, "redis.log")}
	t.Cleanup(p.Kill)
	if err := p.Start(append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir}, args...)...); err != nil {
		t.Fatal(err)
	}
	if err := harness.WaitFor(10*time.Second, func() error {
		r, err := harness.Do(addr, "PING")
		if err == nil && r != "+PONG\r\n" {
			err = errors.New("PING answered " + strconv.Quote(r))
		}
		return err
	}); err != nil {
		t.Fatalf("redis-server on %s: %v\n%s", addr, err, p.Log())
	}
	return addr
}

func usage(t *testing.T, c *conn, args ...string) int64 {
	t.Helper()
	v, err := c.do(append([]string{"MEMORY", "USAGE"}, args...)...)
	if err != nil || v.Kind != resp.KindInt {
		t.Fatalf("MEMORY USAGE %q: %v %s", args, err, format(v))
	}
	return v.Int
}

func TestMemoryUsage_CountsRecordsAndKeydirEntries(t *testing.T) {
	ws := startServer(t, Config{})
	c := dial(t, ws.addr)
	c.must(t, "SET", "s", "hello")
	// The metadata record of a string: header, key, and value (type byte
	// and the string), plus its keydir entry.
	want := command.RecordCost(len(keyspace.MetaKey(0, []byte("s"))), 1+len("hello"))
	if got := usage(t, c, "s"); got != want {
		t.Fatalf("MEMORY USAGE s = %d, want %d", got, want)
	}
	if got := c.must(t, "MEMORY", "USAGE", "nokey"); got != "(nil)" {
		t.Fatalf("MEMORY USAGE of a missing key = %s", got)
	}
	c.must(t, "SET", "tmp", "x", "PX", "1")
	time.Sleep(5 * time.Millisecond)
	if got := c.must(t, "MEMORY", "USAGE", "tmp"); got != "(nil)" {
		t.Fatalf("MEMORY USAGE of an expired key = %s", got)
	}
}

func TestMemoryUsage_GrowsWithACollectionsSize(t *testing.T) {
	ws := startServer(t, Config{})
	c := dial(t, ws.addr)
	add := map[string]func(key string, i int) []string{
		"hash": func(k string, i int) []string { return []string{"HSET", k, fmt.Sprint("field", i), "value"} },
		"list": func(k string, i int) []string { return []string{"RPUSH", k, fmt.Sprint("element", i)} },
		"set":  func(k string, i int) []string { return []string{"SADD", k, fmt.Sprint("member", i)} },
		"zset": func(k string, i int) []string { return []string{"ZADD", k, fmt.Sprint(i), fmt.Sprint("member", i)} },
		"stream": func(k string, i int) []string {
			return []string{"XADD", k, fmt.Sprintf("%d-1", i+1), "field", "value"}
		},
	}
	for typ, cmd := range add {
		key := typ + "-key"
		sizes := map[int]int64{}
		n := 0
		for _, upto := range []int{3, 30, 300} {
			for ; n < upto; n++ {
				c.must(t, cmd(key, n)...)
			}
			sizes[upto] = usage(t, c, key, "SAMPLES", "0")
		}
		if !(sizes[3] < sizes[30] && sizes[30] < sizes[300]) {
			t.Errorf("%s: MEMORY USAGE SAMPLES 0 at 3, 30, 300 elements = %v: must grow", typ, sizes)
		}
		// Each element costs at least one record header and keydir entry.
		if per := (sizes[300] - sizes[30]) / 270; per < 29+64 {
			t.Errorf("%s: %d bytes per element, less than a record header and a keydir entry", typ, per)
		}
		// Sampling 5 elements (the default) extrapolates: same-sized
		// elements give about the exact figure.
		sampled := usage(t, c, key)
		if d := float64(sampled-sizes[300]) / float64(sizes[300]); d > 0.05 || d < -0.05 {
			t.Errorf("%s: sampled %d, exact %d: off by %.1f%%", typ, sampled, sizes[300], d*100)
		}
		// A collection that fits the samples is measured whole.
		if a, b := usage(t, c, key, "SAMPLES", "1000"), sizes[300]; a != b {
			t.Errorf("%s: SAMPLES 1000 = %d, SAMPLES 0 = %d", typ, a, b)
		}
	}
	// A stream's groups, consumers and pending entries count too.
	before := usage(t, c, "stream-key", "SAMPLES", "0")
	c.must(t, "XGROUP", "CREATE", "stream-key", "g", "0")
	c.must(t, "XREADGROUP", "GROUP", "g", "alice", "COUNT", "10", "STREAMS", "stream-key", ">")
	if after := usage(t, c, "stream-key", "SAMPLES", "0"); after <= before+10*(29+64) {
		t.Errorf("stream: %d bytes before a group read 10 entries, %d after", before, after)
	}
	if a, b := usage(t, c, "stream-key"), usage(t, c, "stream-key", "SAMPLES", "0"); float64(a) < 0.95*float64(b) || float64(a) > 1.05*float64(b) {
		t.Errorf("stream with a group: sampled %d, exact %d", a, b)
	}
	// A sorted set costs more per member than a set: two keys a member.
	if z, s := usage(t, c, "zset-key", "SAMPLES", "0"), usage(t, c, "set-key", "SAMPLES", "0"); z <= s {
		t.Errorf("zset %d bytes, set %d: a member of a sorted set is two records", z, s)
	}
}

// statsNames returns MEMORY STATS's field names in order, and the kinds
// of their values, with the db.N fields' own names.
func statsFields(t *testing.T, c *conn) (names []string, kinds string, vals map[string]resp.Value) {
	t.Helper()
	v, err := c.do("MEMORY", "STATS")
	if err != nil || v.Kind != resp.KindArray || len(v.Elems)%2 != 0 {
		t.Fatalf("MEMORY STATS: %v %s", err, format(v))
	}
	vals = map[string]resp.Value{}
	for i := 0; i < len(v.Elems); i += 2 {
		name := string(v.Elems[i].Str)
		val := v.Elems[i+1]
		vals[name] = val
		names = append(names, name)
		kinds += string(rune(val.Kind))
		if val.Kind == resp.KindArray {
			for j := 0; j < len(val.Elems); j += 2 {
				names = append(names, name+"/"+string(val.Elems[j].Str))
				kinds += string(rune(val.Elems[j+1].Kind))
			}
		}
	}
	return names, kinds, vals
}

func TestMemoryStats_HasRedisFieldsWithValuesThatMeanSomething(t *testing.T) {
	ws := startServer(t, Config{})
	redisAddr := startRedis(t)
	for _, addr := range []string{ws.addr, redisAddr} {
		c := dial(t, addr)
		c.must(t, "SET", "a", "1")
		c.must(t, "RPUSH", "b", "x", "y")
		c.must(t, "SELECT", "3")
		c.must(t, "SET", "c", "1")
	}
	wn, wk, wv := statsFields(t, dial(t, ws.addr))
	rn, rk, _ := statsFields(t, dial(t, redisAddr))
	if strings.Join(wn, " ") != strings.Join(rn, " ") || wk != rk {
		t.Fatalf("MEMORY STATS fields\nwalkerd: %v %s\nredis:   %v %s", wn, wk, rn, rk)
	}
	num := func(k string) float64 {
		v := wv[k]
		if v.Kind == resp.KindInt {
			return float64(v.Int)
		}
		f, err := strconv.ParseFloat(string(v.Str), 64)
		if err != nil {
			t.Fatalf("%s = %s", k, format(v))
		}
		return f
	}
	if num("keys.count") != 3 {
		t.Errorf("keys.count = %v, want 3", num("keys.count"))
	}
	for _, k := range []string{"peak.allocated", "total.allocated", "startup.allocated", "clients.normal", "overhead.total",
		"dataset.bytes", "allocator.allocated", "allocator.active", "allocator.resident", "fragmentation", "peak.percentage"} {
		if num(k) <= 0 {
			t.Errorf("%s = %v: want a positive figure", k, num(k))
		}
	}
	if num("peak.allocated") < num("total.allocated") {
		t.Errorf("peak.allocated %v below total.allocated %v", num("peak.allocated"), num("total.allocated"))
	}
	st, err := ws.db.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if num("dataset.bytes") != float64(st.IndexBytes) {
		t.Errorf("dataset.bytes = %v, engine IndexBytes %d", num("dataset.bytes"), st.IndexBytes)
	}
	if got := wv["db.3"]; len(got.Elems) != 6 || got.Elems[1].Int <= 0 {
		t.Errorf("db.3 = %s: want its keydir overhead", format(got))
	}

	// RESP3: a map, db.N a map inside it.
	c := dial(t, ws.addr)
	if v, err := c.do("HELLO", "3"); err != nil || v.Kind == resp.KindError {
		t.Fatalf("HELLO 3: %v %s", err, format(v))
	}
	v, err := c.do("MEMORY", "STATS")
	if err != nil || v.Kind != '%' || len(v.Elems) != 2*(27+2) {
		t.Fatalf("MEMORY STATS in RESP3: %v %s", err, format(v))
	}
}

func TestMemoryDoctorMallocStatsPurge_AnswerText(t *testing.T) {
	ws := startServer(t, Config{})
	c := dial(t, ws.addr)
	if got := c.must(t, "MEMORY", "DOCTOR"); !strings.Contains(got, "Sam") {
		t.Errorf("MEMORY DOCTOR = %s", got)
	}
	if got := c.must(t, "MEMORY", "MALLOC-STATS"); !strings.Contains(got, "HeapAlloc: ") {
		t.Errorf("MEMORY MALLOC-STATS = %s", got)
	}
	if got := c.must(t, "MEMORY", "PURGE"); got != "+OK" {
		t.Errorf("MEMORY PURGE = %s", got)
	}
}

// redis-cli --memkeys and --bigkeys read walkerd's sizes.
func TestRedisCLI_MemkeysAndBigkeysReportRealSizes(t *testing.T) {
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli is not on PATH")
	}
	ws := startServer(t, Config{})
	c := dial(t, ws.addr)
	for i := range 200 {
		c.must(t, "HSET", "big", fmt.Sprint("f", i), fmt.Sprint("value", i))
	}
	c.must(t, "SET", "s", "hello")
	c.must(t, "RPUSH", "l", "a", "b", "c")
	host, port, _ := net.SplitHostPort(ws.addr)
	run := func(mode string) string {
		out, err := exec.Command(cli, "-h", host, "-p", port, mode).CombinedOutput()
		if err != nil {
			t.Fatalf("redis-cli %s: %v\n%s", mode, err, out)
		}
		return string(out)
	}
	re := regexp.MustCompile(`Biggest +(\w+) found '"(\w+)"' has (\d+) (\w+)`)
	found := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(run("--memkeys"), -1) {
		if m[4] != "bytes" {
			t.Fatalf("--memkeys line %q", m[0])
		}
		found[m[1]] = m[2] + " " + m[3]
	}
	sampled, exact := usage(t, c, "big"), usage(t, c, "big", "SAMPLES", "0")
	if got := found["hash"]; got != fmt.Sprint("big ", sampled) && got != fmt.Sprint("big ", exact) {
		t.Errorf("--memkeys biggest hash %q, MEMORY USAGE big %d (SAMPLES 0: %d)", got, sampled, exact)
	}
	if got, want := found["string"], fmt.Sprint("s ", usage(t, c, "s")); got != want {
		t.Errorf("--memkeys biggest string %q, want %q", got, want)
	}
	found = map[string]string{}
	for _, m := range re.FindAllStringSubmatch(run("--bigkeys"), -1) {
		found[m[1]] = m[2] + " " + m[3] + " " + m[4]
	}
	for typ, want := range map[string]string{"hash": "big 200 fields", "string": "s 5 bytes", "list": "l 3 items"} {
		if found[typ] != want {
			t.Errorf("--bigkeys biggest %s: %q, want %q", typ, found[typ], want)
		}
	}
}

// clientFields parses a CLIENT LIST line.
func clientFields(line string) (names []string, f map[string]string) {
	f = map[string]string{}
	for _, kv := range strings.Fields(line) {
		k, v, _ := strings.Cut(kv, "=")
		names = append(names, k)
		f[k] = v
	}
	return names, f
}

func clientInfo(t *testing.T, c *conn) map[string]string {
	t.Helper()
	v, err := c.do("CLIENT", "INFO")
	if err != nil {
		t.Fatal(err)
	}
	_, f := clientFields(string(v.Str))
	return f
}

// clientOf finds connection id's line in CLIENT LIST asked on c.
func clientOf(t *testing.T, c *conn, id int64) map[string]string {
	t.Helper()
	v, err := c.do("CLIENT", "LIST", "ID", strconv.FormatInt(id, 10))
	if err != nil {
		t.Fatal(err)
	}
	_, f := clientFields(string(v.Str))
	return f
}

func clientID(t *testing.T, c *conn) int64 {
	t.Helper()
	v, err := c.do("CLIENT", "ID")
	if err != nil {
		t.Fatal(err)
	}
	return v.Int
}

func TestClientList_FieldsAsRedisWithRealValues(t *testing.T) {
	ws := startServer(t, Config{})
	redisAddr := startRedis(t)
	w, r := dial(t, ws.addr), dial(t, redisAddr)
	wv, _ := w.do("CLIENT", "INFO")
	rv, _ := r.do("CLIENT", "INFO")
	wn, wf := clientFields(string(wv.Str))
	rn, rf := clientFields(string(rv.Str))
	if strings.Join(wn, " ") != strings.Join(rn, " ") {
		t.Fatalf("CLIENT INFO fields\nwalkerd: %v\nredis:   %v", wn, rn)
	}
	// The asking connection's own command is in its query buffer, its
	// arguments in argv-mem: the same bytes as Redis counts.
	for _, k := range []string{"qbuf", "argv-mem", "rbs", "flags", "multi", "cmd", "events", "obl", "oll", "omem"} {
		if wf[k] != rf[k] {
			t.Errorf("CLIENT INFO %s: walkerd %s, redis %s", k, wf[k], rf[k])
		}
	}
	for _, k := range []string{"fd", "qbuf-free", "tot-mem"} {
		if n, _ := strconv.Atoi(wf[k]); n <= 0 {
			t.Errorf("CLIENT INFO %s = %s: want it positive", k, wf[k])
		}
	}

	// Another connection, idle: nothing read, nothing held.
	other := dial(t, ws.addr)
	otherID := clientID(t, other)
	f := clientOf(t, w, otherID)
	if f["qbuf"] != "0" || f["argv-mem"] != "0" || f["cmd"] != "client|id" || f["fd"] == wf["fd"] || f["flags"] != "N" {
		t.Errorf("idle connection: %v", f)
	}

	// In MULTI: flags x, multi and multi-mem count the queue.
	other.must(t, "MULTI")
	other.must(t, "SET", "k", "v")
	other.must(t, "GET", "k")
	f = clientOf(t, w, otherID)
	if f["flags"] != "x" || f["multi"] != "2" || f["multi-mem"] != strconv.Itoa(len("SETkvGETk")) {
		t.Errorf("in MULTI: flags %s multi %s multi-mem %s", f["flags"], f["multi"], f["multi-mem"])
	}
	other.must(t, "EXEC")
	if f = clientOf(t, w, otherID); f["flags"] != "N" || f["multi"] != "-1" || f["multi-mem"] != "0" {
		t.Errorf("after EXEC: %v", f)
	}

	// A command half sent waits in the query buffer.
	partial := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n"
	if _, err := other.c.Write([]byte(partial)); err != nil {
		t.Fatal(err)
	}
	waitClient(t, w, otherID, func(f map[string]string) bool { return f["qbuf"] == strconv.Itoa(len(partial)) })
	if _, err := other.c.Write([]byte("$1\r\nv\r\n")); err != nil {
		t.Fatal(err)
	}
	if raw, err := resp.ReadRaw(other.r); err != nil || string(raw) != "+OK\r\n" {
		t.Fatalf("the rest of the command: %q %v", raw, err)
	}
	waitClient(t, w, otherID, func(f map[string]string) bool { return f["qbuf"] == "0" && f["cmd"] == "set" })

	// Blocked: b.
	if err := other.send([]byte("BLPOP"), []byte("nolist"), []byte("0")); err != nil {
		t.Fatal(err)
	}
	waitClient(t, w, otherID, func(f map[string]string) bool { return f["flags"] == "b" })
	w.must(t, "RPUSH", "nolist", "x")
	if raw, err := resp.ReadRaw(other.r); err != nil || !strings.Contains(string(raw), "nolist") {
		t.Fatalf("BLPOP: %q %v", raw, err)
	}
}

// waitClient waits until connection id's CLIENT LIST fields satisfy ok.
func waitClient(t *testing.T, c *conn, id int64, ok func(map[string]string) bool) map[string]string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f := clientOf(t, c, id)
		if ok(f) {
			return f
		}
		if time.Now().After(deadline) {
			t.Fatalf("connection %d never got there: %v", id, f)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestClientList_SubscriberThatDoesNotReadHoldsOutput(t *testing.T) {
	ws := startServer(t, Config{})
	w := dial(t, ws.addr)
	sub := dial(t, ws.addr)
	subID := clientID(t, sub)
	sub.must(t, "SUBSCRIBE", "ch")
	f := clientOf(t, w, subID)
	if f["flags"] != "P" || f["sub"] != "1" {
		t.Fatalf("subscriber: %v", f)
	}
	// The subscriber reads nothing: once the socket's buffers are full,
	// messages wait in its output (obl, then oll and omem).
	msg := strings.Repeat("m", 256<<10)
	for i := 0; ; i++ {
		w.must(t, "PUBLISH", "ch", msg)
		f = clientOf(t, w, subID)
		if n, _ := strconv.Atoi(f["omem"]); n > 0 {
			break
		}
		if i == 100 { // 25 MB, below the pub/sub output limit
			t.Fatalf("a subscriber that does not read holds nothing: %v", f)
		}
	}
	obl, _ := strconv.Atoi(f["obl"])
	oll, _ := strconv.Atoi(f["oll"])
	tot, _ := strconv.Atoi(f["tot-mem"])
	omem, _ := strconv.Atoi(f["omem"])
	if obl != replyChunk || oll < 1 || tot < omem || f["events"] != "rw" {
		t.Errorf("held output: %v", f)
	}
}

// roleBackend is a Backend whose Raft state the test sets.
type roleBackend struct {
	backend.Backend
	info    string
	members []backend.Member
}

func (b *roleBackend) InfoRaft() string                   { return b.info }
func (b *roleBackend) Members() ([]backend.Member, error) { return b.members, nil }

// infoForwarder answers INFO raft for the addresses it knows.
type infoForwarder map[string]string

func (f infoForwarder) Do(addr string, args [][]byte) ([]byte, error) {
	text, ok := f[addr]
	if !ok {
		return nil, errors.New("unreachable")
	}
	return resp.AppendBulkString(nil, text), nil
}

func TestRole_ReportsRaftAsReplication(t *testing.T) {
	db, err := engine.Open(t.TempDir(), &engine.Options{Sync: engine.SyncNo})
	if err != nil {
		t.Fatal(err)
	}
	b := &roleBackend{Backend: backend.NewStandalone(db)}
	fw := infoForwarder{"127.0.0.1:7002": "raft_state:follower\r\nraft_log_applied_index:40\r\n"}
	ws := startServerOn(t, b, Config{Forwarder: fw})
	c := dial(t, ws.addr)
	b.members = []backend.Member{
		{ID: "a", RESPAddr: "127.0.0.1:7001", Role: "leader"},
		{ID: "b", RESPAddr: "127.0.0.1:7002", Role: "follower"},
		{ID: "c", RESPAddr: "127.0.0.1:7003", Role: "follower"}, // does not answer
	}
	cases := []struct{ info, want string }{
		{"raft_node_id:a\r\nraft_state:leader\r\nraft_log_applied_index:42\r\n",
			`["master", :42, [["127.0.0.1", "7002", "40"]]]`},
		{"raft_node_id:b\r\nraft_state:follower\r\nraft_leader_addr:127.0.0.1:7001\r\nraft_last_contact:12.5ms\r\nraft_log_applied_index:41\r\n",
			`["slave", "127.0.0.1", :7001, "connected", :41]`},
		{"raft_node_id:b\r\nraft_state:follower\r\nraft_leader_addr:127.0.0.1:7001\r\nraft_last_contact:never\r\nraft_log_applied_index:41\r\n",
			`["slave", "127.0.0.1", :7001, "connect", :-1]`},
		{"raft_node_id:b\r\nraft_state:candidate\r\nraft_leader_addr:\r\nraft_last_contact:3m0s\r\nraft_log_applied_index:41\r\n",
			`["slave", "", :0, "connect", :-1]`},
		{"raft_state:standalone\r\n", `["master", :0, []]`},
	}
	for _, tc := range cases {
		b.info = tc.info
		if got := c.must(t, "ROLE"); got != tc.want {
			t.Errorf("ROLE with\n%s= %s\nwant %s", tc.info, got, tc.want)
		}
	}
}

func TestDebug_GatedByEnableDebugCommand(t *testing.T) {
	for _, tc := range []struct {
		setting string
		allowed bool
	}{{"", false}, {"no", false}, {"local", true}, {"yes", true}} {
		ws := startServer(t, Config{EnableDebugCommand: tc.setting})
		c := dial(t, ws.addr)
		got := c.must(t, "DEBUG", "CHANGE-REPL-ID")
		if allowed := got == "+OK"; allowed != tc.allowed {
			t.Errorf("enable-debug-command %q: DEBUG CHANGE-REPL-ID = %s", tc.setting, got)
		}
		want := tc.setting
		if want == "" {
			want = "no"
		}
		if got := c.must(t, "CONFIG", "GET", "enable-debug-command"); got != `["enable-debug-command", "`+want+`"]` {
			t.Errorf("CONFIG GET enable-debug-command = %s", got)
		}
	}
}

func TestDebug_RepliesAsRedis(t *testing.T) {
	ws := startServer(t, Config{EnableDebugCommand: "yes", SweepInterval: 5 * time.Millisecond})
	redisAddr := startRedisWith(t, "--enable-debug-command", "yes")
	w, r := dial(t, ws.addr), dial(t, redisAddr)
	// Exact replies.
	for _, cmd := range [][]string{
		{"SET", "s", "hello"}, {"RPUSH", "l", "a", "b", "c"},
		{"DEBUG", "OBJECT", "nokey"}, {"DEBUG", "OBJECT"}, {"DEBUG", "OBJECT", "s", "x"},
		{"DEBUG", "nosuch"}, {"DEBUG", "SLEEP"}, {"DEBUG", "SLEEP", "x"}, {"DEBUG", "SLEEP", "0"},
		{"DEBUG", "SET-ACTIVE-EXPIRE"}, {"DEBUG", "SET-ACTIVE-EXPIRE", "1"},
		{"DEBUG", "CHANGE-REPL-ID"}, {"DEBUG", "CHANGE-REPL-ID", "x"},
		{"DEBUG", "RELOAD", "foo"}, {"DEBUG", "RELOAD", "nosave", "bar"},
		{"DEBUG", "ERROR", "boom"}, {"DEBUG", "ERROR", "-CODE boom"}, {"DEBUG", "LOG", "hello from a test"},
		{"DEBUG", "HELP", "x"},
		{"MULTI"}, {"DEBUG", "SLEEP", "0"}, {"DEBUG", "OBJECT", "nokey"}, {"DEBUG", "nosuch"}, {"ROLE"}, {"EXEC"},
	} {
		if a, b := w.must(t, cmd...), r.must(t, cmd...); a != b {
			t.Errorf("%q: walkerd %s, redis %s", cmd, a, b)
		}
	}
	// DEBUG OBJECT: Redis's line; the encoding is OBJECT ENCODING's.
	line := regexp.MustCompile(`^\+Value at:0x[0-9a-f]+ refcount:(\d+) encoding:(\w+) serializedlength:(\d+) lru:\d+ lru_seconds_idle:0`)
	for _, key := range []string{"s", "l"} {
		wm := line.FindStringSubmatch(w.must(t, "DEBUG", "OBJECT", key))
		rm := line.FindStringSubmatch(r.must(t, "DEBUG", "OBJECT", key))
		if wm == nil || rm == nil || wm[1] != rm[1] || wm[2] != rm[2] {
			t.Errorf("DEBUG OBJECT %s:\nwalkerd %v\nredis   %v", key, wm, rm)
		}
		if key == "s" && (wm == nil || wm[3] != rm[3]) {
			t.Errorf("DEBUG OBJECT s serializedlength: walkerd %v, redis %v", wm, rm)
		}
	}
	if got := w.must(t, "DEBUG", "HELP"); !strings.HasPrefix(got, `[+DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:`) {
		t.Errorf("DEBUG HELP = %s", got)
	}
	for _, cmd := range [][]string{{"DEBUG", "JMAP"}, {"DEBUG", "RELOAD"}, {"DEBUG", "RELOAD", "NOSAVE", "merge"}} {
		if got := w.must(t, cmd...); got != "+OK" {
			t.Errorf("%q = %s", cmd, got)
		}
	}
}

func TestDebugSleep_BlocksOnlyItsConnection(t *testing.T) {
	ws := startServer(t, Config{EnableDebugCommand: "yes"})
	sleeper, other := dial(t, ws.addr), dial(t, ws.addr)
	start := time.Now()
	if err := sleeper.send([]byte("DEBUG"), []byte("SLEEP"), []byte("0.3")); err != nil {
		t.Fatal(err)
	}
	waitClient(t, other, clientIDOf(t, other, "debug"), func(map[string]string) bool { return true })
	other.must(t, "PING")
	if d := time.Since(start); d >= 300*time.Millisecond {
		t.Fatalf("PING on another connection took %v while DEBUG SLEEP 0.3 ran", d)
	}
	raw, err := resp.ReadRaw(sleeper.r)
	if err != nil || string(raw) != "+OK\r\n" {
		t.Fatalf("DEBUG SLEEP: %q %v", raw, err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("DEBUG SLEEP 0.3 answered after %v", d)
	}
}

// clientIDOf waits for a connection whose last command is cmd and returns
// its id.
func clientIDOf(t *testing.T, c *conn, cmd string) int64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := c.do("CLIENT", "LIST")
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSpace(string(v.Str)), "\n") {
			if _, f := clientFields(l); f["cmd"] == cmd {
				id, _ := strconv.ParseInt(f["id"], 10, 64)
				return id
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no connection ran %s", cmd)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestDebugSetActiveExpire_StopsAndRestartsTheSweeper(t *testing.T) {
	ws := startServer(t, Config{EnableDebugCommand: "yes", SweepInterval: 5 * time.Millisecond})
	c := dial(t, ws.addr)
	c.must(t, "DEBUG", "SET-ACTIVE-EXPIRE", "0")
	c.must(t, "SET", "k", "v", "PX", "1")
	// DBSIZE counts keys that expired but are still stored, as Redis's.
	time.Sleep(100 * time.Millisecond) // twenty sweep intervals
	if got := c.must(t, "DBSIZE"); got != ":1" {
		t.Fatalf("with active expiry off, the sweeper deleted the expired key: DBSIZE %s", got)
	}
	c.must(t, "DEBUG", "SET-ACTIVE-EXPIRE", "1")
	if err := harness.WaitFor(10*time.Second, func() error {
		if got := c.must(t, "DBSIZE"); got != ":0" {
			return errors.New("DBSIZE " + got)
		}
		return nil
	}); err != nil {
		t.Fatalf("with active expiry back on: %v", err)
	}
}
