package server

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// parseInfo parses INFO text into section -> field -> value.
func parseInfo(text string) map[string]map[string]string {
	out := map[string]map[string]string{}
	sec := ""
	for _, l := range strings.Split(text, "\r\n") {
		switch {
		case strings.HasPrefix(l, "# "):
			sec = strings.ToLower(strings.TrimPrefix(l, "# "))
			out[sec] = map[string]string{}
		case l == "":
		default:
			k, v, _ := strings.Cut(l, ":")
			out[sec][k] = v
		}
	}
	return out
}

func mustInfo(t *testing.T, c *conn, section string) []byte {
	t.Helper()
	v, err := c.do("INFO", section)
	if err != nil || v.Kind != '$' {
		t.Fatalf("INFO %s: %v %s", section, err, format(v))
	}
	return v.Str
}

func infoOf(t *testing.T, c *conn, section string) map[string]map[string]string {
	t.Helper()
	return parseInfo(string(mustInfo(t, c, section)))
}

// field names a field by section: "stats.keyspace_hits"; commandstats,
// errorstats, latencystats and keyspace lines are named by their pattern
// ("commandstats.cmdstat_*"), since which appear depends on the traffic.
func fieldNames(info map[string]map[string]string) []string {
	var out []string
	for sec, fs := range info {
		for k := range fs {
			switch {
			case strings.HasPrefix(k, "cmdstat_"), strings.HasPrefix(k, "errorstat_"),
				strings.HasPrefix(k, "latency_percentiles_usec_"), regexp.MustCompile(`^db\d+$`).MatchString(k),
				regexp.MustCompile(`^slave\d+$`).MatchString(k):
				k = regexp.MustCompile(`[0-9]+$|_[a-zA-Z|]+$`).ReplaceAllString(k, "_*")
			}
			out = append(out, sec+"."+k)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// readmeOmitted is the list of INFO fields README.md says walkerd leaves
// out: the first column of the table under "### INFO fields".
func readmeOmitted(t *testing.T) map[string]bool {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "### INFO fields")
	if !ok {
		t.Fatal(`README.md has no "### INFO fields" section`)
	}
	if i := strings.Index(rest, "\n#"); i >= 0 {
		rest = rest[:i]
	}
	out := map[string]bool{}
	for _, l := range strings.Split(rest, "\n") {
		if !strings.HasPrefix(l, "| `") {
			continue
		}
		cell, _, _ := strings.Cut(strings.TrimPrefix(l, "| "), " |")
		for _, f := range strings.Split(cell, ",") {
			out[strings.Trim(strings.TrimSpace(f), "`")] = true
		}
	}
	if len(out) == 0 {
		t.Fatal("README.md's INFO fields table lists nothing")
	}
	return out
}

// Every field redis-server 7.0.15's INFO everything gives is in walkerd's
// INFO, or README.md's list of omitted fields says why not; and no field
// README.md calls omitted is there.
func TestInfo_FieldsMatchRedis(t *testing.T) {
	r := dial(t, startRedis(t))
	w := dial(t, startServer(t, Config{}).addr)
	for _, c := range []*conn{r, w} {
		for _, cmd := range [][]string{{"SET", "k", "v"}, {"GET", "k"}, {"GET", "nokey"}, {"LPUSH", "k", "x"}, {"EXPIRE", "k", "100"}} {
			c.do(cmd...)
		}
	}
	rf, wf := fieldNames(infoOf(t, r, "everything")), fieldNames(infoOf(t, w, "everything"))
	omitted := readmeOmitted(t)
	for _, f := range rf {
		name := f[strings.IndexByte(f, '.')+1:]
		switch in, om := slices.Contains(wf, f), omitted[name]; {
		case !in && !om:
			t.Errorf("INFO lacks %s, and README.md's INFO fields do not list it", f)
		case in && om:
			t.Errorf("INFO has %s, which README.md lists as omitted", f)
		}
	}
	var ours int
	for _, f := range wf {
		if slices.Contains(rf, f) {
			ours++
		}
	}
	t.Logf("INFO everything: redis %d fields, walkerd %d (%d of redis's), %d omitted", len(rf), len(wf), ours, len(omitted))
}

// The counters move as Redis's do: hits and misses, expires, commandstats
// with rejected and failed calls, errorstats, net bytes; CONFIG RESETSTAT
// zeroes them.
func TestInfo_CountersMove(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	for _, cmd := range [][]string{
		{"SET", "k", "v"}, {"SET", "t", "v", "EX", "100"}, {"GET", "k"}, {"GET", "k"}, {"GET", "nokey"}, {"EXISTS", "k", "nokey"},
		{"LPUSH", "k", "x"}, {"GET"}, {"CLIENT", "NOSUCH"}, {"HSET", "h", "f", "v"}, {"TTL", "t"},
	} {
		c.do(cmd...)
	}
	info := infoOf(t, c, "all")
	want := map[string]string{
		"stats.keyspace_hits":            "4", // GET k twice, EXISTS k, TTL t
		"stats.keyspace_misses":          "2", // GET nokey, EXISTS nokey
		"stats.total_error_replies":      "3",
		"keyspace.db0":                   "keys=3,expires=1,avg_ttl=",
		"errorstats.errorstat_WRONGTYPE": "count=1",
		"errorstats.errorstat_ERR":       "count=2",
		"commandstats.cmdstat_get":       "calls=3,usec=",
		"commandstats.cmdstat_lpush":     "calls=1,",
		"clients.connected_clients":      "1",
	}
	for k, v := range want {
		sec, f, _ := strings.Cut(k, ".")
		if got := info[sec][f]; !strings.HasPrefix(got, v) {
			t.Errorf("INFO %s:%s = %q, want %q...", sec, f, got, v)
		}
	}
	for k, v := range map[string]string{
		"cmdstat_get":   "rejected_calls=1,failed_calls=0", // arity
		"cmdstat_lpush": "rejected_calls=0,failed_calls=1", // WRONGTYPE
		"cmdstat_set":   "rejected_calls=0,failed_calls=0",
	} {
		if got := info["commandstats"][k]; !strings.HasSuffix(got, v) {
			t.Errorf("%s = %q, want ...%s", k, got, v)
		}
	}
	if got, ok := info["commandstats"]["cmdstat_client"]; ok {
		t.Errorf("an unknown subcommand counts as a call of its container: %s", got)
	}
	if got := info["latencystats"]["latency_percentiles_usec_get"]; !regexp.MustCompile(`^p50=[0-9.]+,p99=[0-9.]+,p99\.9=[0-9.]+$`).MatchString(got) {
		t.Errorf("latency_percentiles_usec_get = %q", got)
	}
	c.must(t, "CONFIG", "SET", "latency-tracking", "no")
	if got := infoOf(t, c, "latencystats")["latencystats"]; len(got) != 0 {
		t.Errorf("latencystats with latency-tracking no: %v", got)
	}
	c.must(t, "CONFIG", "SET", "latency-tracking", "yes")
	if in, _ := strconv.Atoi(info["stats"]["total_net_input_bytes"]); in < 100 {
		t.Errorf("total_net_input_bytes = %d", in)
	}
	if out, _ := strconv.Atoi(info["stats"]["total_net_output_bytes"]); out < 30 {
		t.Errorf("total_net_output_bytes = %d", out)
	}
	if got := c.must(t, "CONFIG", "RESETSTAT"); got != "+OK" {
		t.Fatal(got)
	}
	info = infoOf(t, c, "all")
	for _, k := range []string{"keyspace_hits", "keyspace_misses", "total_error_replies"} {
		if info["stats"][k] != "0" {
			t.Errorf("after RESETSTAT %s = %s", k, info["stats"][k])
		}
	}
	// CONFIG RESETSTAT itself is counted after it ran, as in Redis; INFO
	// is counted after its reply.
	if len(info["commandstats"]) != 1 || len(info["errorstats"]) != 0 || !strings.HasPrefix(info["commandstats"]["cmdstat_config|resetstat"], "calls=1,") {
		t.Errorf("after RESETSTAT: commandstats %v errorstats %v", info["commandstats"], info["errorstats"])
	}
}

// INFO alone gives the default sections; "all" adds commandstats and
// latencystats; a named section gives only itself; an unknown one nothing.
func TestInfo_Sections(t *testing.T) {
	c := dial(t, startServer(t, Config{}).addr)
	c.do("GET", "k")
	secs := func(args ...string) []string {
		var out []string
		for s := range infoOf(t, c, strings.Join(args, " ")) {
			out = append(out, s)
		}
		slices.Sort(out)
		return out
	}
	v, _ := c.do("INFO")
	def := parseInfo(string(v.Str))
	if _, ok := def["commandstats"]; ok || def["server"] == nil || def["keyspace"] == nil || def["errorstats"] == nil {
		t.Errorf("INFO sections: %v", def)
	}
	if got := secs("all"); !slices.Contains(got, "commandstats") || !slices.Contains(got, "latencystats") {
		t.Errorf("INFO all: %v", got)
	}
	if got := secs("commandstats"); !slices.Equal(got, []string{"commandstats"}) {
		t.Errorf("INFO commandstats: %v", got)
	}
	v, _ = c.do("INFO", "nosuchsection")
	if v.Kind != '$' || len(v.Str) != 0 {
		t.Errorf("INFO nosuchsection = %s", format(v))
	}
	v, _ = c.do("INFO", "cpu", "clients")
	got := parseInfo(string(v.Str))
	if len(got) != 2 || got["cpu"]["used_cpu_user"] == "" || got["clients"]["connected_clients"] != "1" {
		t.Errorf("INFO cpu clients: %v", got)
	}
}

// slowScript is an EVAL that runs for milliseconds (tens under the race
// detector). A script's TIME is its log entry's, frozen: it counts
// instead.
var slowScript = []string{"EVAL", "local n = 0 for i = 1, 200000 do n = n + i end return 1", "0"}

// The slow log keeps what took at least slowlog-log-slower-than µs, newest
// first, with Redis's entry shape, truncation and redaction, and trims to
// slowlog-max-len.
//
// As Redis's slowlog.tcl, the slow command is DEBUG SLEEP 0.2 under a
// 100 ms threshold: the test's other commands (CONFIG SET itself is logged
// if it took that long) stay far below it even on a loaded machine under
// the race detector, where they take milliseconds.
func TestSlowlog_LogsSlowCommands(t *testing.T) {
	c := dial(t, startServer(t, Config{EnableDebugCommand: "yes"}).addr)
	c.must(t, "CLIENT", "SETNAME", "tester")
	c.must(t, "CONFIG", "SET", "slowlog-log-slower-than", "100000")
	c.do("PING")
	if got := c.must(t, "SLOWLOG", "LEN"); got != ":0" {
		t.Fatalf("a fast PING was logged: SLOWLOG LEN %s", got)
	}
	start := time.Now().Unix()
	sleep := []string{"DEBUG", "SLEEP", "0.2"}
	c.must(t, sleep...)
	v, _ := c.do("SLOWLOG", "GET")
	if len(v.Elems) != 1 {
		t.Fatalf("SLOWLOG GET = %s", format(v))
	}
	e := v.Elems[0].Elems
	if len(e) != 6 || e[0].Int != 0 || e[1].Int < start || e[2].Int < 200000 ||
		format(e[3]) != quotedArray(sleep) ||
		!strings.HasPrefix(string(e[4].Str), "127.0.0.1:") || string(e[5].Str) != "tester" {
		t.Fatalf("entry = %s", format(v.Elems[0]))
	}

	// Every command is logged at 0; arguments are cut as slowlog.c cuts
	// them; passwords are redacted.
	c.must(t, "CONFIG", "SET", "slowlog-log-slower-than", "0")
	long := strings.Repeat("x", 200)
	args := []string{"DEL"}
	for i := range 40 {
		args = append(args, fmt.Sprint("k", i))
	}
	args[2] = long
	c.do(args...)
	c.do("AUTH", "secret")
	c.do("CONFIG", "SET", "requirepass", "")
	v, _ = c.do("SLOWLOG", "GET", "3")
	if len(v.Elems) != 3 {
		t.Fatalf("SLOWLOG GET 3 = %s", format(v))
	}
	cfg, auth, del := v.Elems[0].Elems[3], v.Elems[1].Elems[3], v.Elems[2].Elems[3]
	if format(cfg) != `["CONFIG", "SET", "requirepass", "(redacted)"]` || format(auth) != `["AUTH", "(redacted)"]` {
		t.Errorf("redaction: %s %s", format(cfg), format(auth))
	}
	if len(del.Elems) != 32 || string(del.Elems[2].Str) != long[:128]+"... (72 more bytes)" ||
		string(del.Elems[31].Str) != "... (10 more arguments)" || string(del.Elems[30].Str) != "k29" {
		t.Errorf("truncation: %s", format(del))
	}
	if v.Elems[0].Elems[0].Int <= v.Elems[1].Elems[0].Int {
		t.Errorf("ids not newest first: %s", format(v))
	}

	c.must(t, "CONFIG", "SET", "slowlog-max-len", "2")
	c.do("PING")
	if got := c.must(t, "SLOWLOG", "LEN"); got != ":2" {
		t.Errorf("SLOWLOG LEN after max-len 2 = %s", got)
	}
	c.must(t, "CONFIG", "SET", "slowlog-log-slower-than", "-1")
	if got := c.must(t, "SLOWLOG", "RESET"); got != "+OK" {
		t.Fatal(got)
	}
	c.must(t, slowScript...)
	if got := c.must(t, "SLOWLOG", "LEN"); got != ":0" {
		t.Errorf("SLOWLOG LEN with the log off = %s", got)
	}
}

// quotedArray is how format shows an array of these bulk strings.
func quotedArray(args []string) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = strconv.Quote(a)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// The latency monitor records a slow command as the "command" event, and
// LATENCY LATEST, HISTORY, DOCTOR, RESET and HISTOGRAM report it. As
// Redis's latency-monitor.tcl, the slow command is DEBUG SLEEP 0.3 under a
// 200 ms threshold: the test's other commands stay far below it even on a
// loaded machine under the race detector (with a 1 ms threshold, CONFIG
// SET itself took 3 ms there and was a second sample).
func TestLatency_MonitorAndHistogram(t *testing.T) {
	c := dial(t, startServer(t, Config{EnableDebugCommand: "yes"}).addr)
	if got := c.must(t, "LATENCY", "LATEST"); got != "[]" {
		t.Fatalf("LATENCY LATEST with the monitor off = %s", got)
	}
	c.must(t, "CONFIG", "SET", "latency-monitor-threshold", "200")
	c.must(t, "DEBUG", "SLEEP", "0.3")
	slept := time.Now()
	// A sweep may also have stalled that long: an expire-cycle event,
	// after "command".
	v, _ := c.do("LATENCY", "LATEST")
	if len(v.Elems) == 0 || string(v.Elems[0].Elems[0].Str) != "command" || v.Elems[0].Elems[2].Int < 300 || v.Elems[0].Elems[3].Int < v.Elems[0].Elems[2].Int {
		t.Fatalf("LATENCY LATEST = %s", format(v))
	}
	h, _ := c.do("LATENCY", "HISTORY", "command")
	if len(h.Elems) != 1 || h.Elems[0].Elems[1].Int != v.Elems[0].Elems[2].Int {
		t.Errorf("LATENCY HISTORY command = %s", format(h))
	}
	g, _ := c.do("LATENCY", "GRAPH", "command")
	ms := v.Elems[0].Elems[2].Int
	// The one column's label is the sample's age: 0 or 1 s, more only
	// when the machine held the test up.
	maxAge := strconv.Itoa(1 + int(time.Since(slept)/time.Second))
	if lines := strings.Split(string(g.Str), "\n"); len(lines) < 7 || lines[0] != fmt.Sprintf("command - high %d ms, low %d ms (all time high %d ms)", ms, ms, ms) ||
		lines[1] != strings.Repeat("-", 80) || len(lines[6]) != 1 || lines[6] < "0" || len(maxAge) == 1 && lines[6] > maxAge {
		t.Errorf("LATENCY GRAPH command = %q", g.Str)
	}
	d, _ := c.do("LATENCY", "DOCTOR")
	if !strings.Contains(string(d.Str), "1. command: 1 latency spikes") {
		t.Errorf("LATENCY DOCTOR = %q", d.Str)
	}
	if got := c.must(t, "LATENCY", "RESET", "command", "nosuch"); got != ":1" {
		t.Errorf("LATENCY RESET = %s", got)
	}
	c.must(t, "CONFIG", "SET", "latency-monitor-threshold", "0")
	if got := c.must(t, "LATENCY", "RESET"); got != ":0" && got != ":1" {
		t.Errorf("LATENCY RESET = %s", got)
	}
	if got := c.must(t, "LATENCY", "LATEST"); got != "[]" {
		t.Errorf("after RESET: %s", got)
	}
	for range 3 {
		c.do("SET", "a", "b")
	}
	c.must(t, "EVAL", "return 1", "0")
	hist, _ := c.do("LATENCY", "HISTOGRAM", "set", "SET", "nosuch", "eval")
	if len(hist.Elems) != 4 || string(hist.Elems[0].Str) != "set" || string(hist.Elems[2].Str) != "eval" {
		t.Fatalf("LATENCY HISTOGRAM = %s", format(hist))
	}
	set := hist.Elems[1].Elems
	if string(set[0].Str) != "calls" || set[1].Int != 3 || string(set[2].Str) != "histogram_usec" {
		t.Fatalf("histogram of set = %s", format(hist.Elems[1]))
	}
	buckets := set[3].Elems
	if n := len(buckets); n == 0 || n%2 != 0 || buckets[n-1].Int != 3 {
		t.Errorf("histogram_usec of set = %s: the last cumulative count is not 3", format(set[3]))
	}
}

// Every value falls in the bucket whose range holds it, buckets are at
// most 12.5% wide, and percentiles and cumulative counts follow.
func TestLatencyHistogram_Buckets(t *testing.T) {
	prevTop := uint64(0)
	for i := range histBuckets {
		top := bucketTop(i)
		if i > 0 && top <= prevTop {
			t.Fatalf("bucket %d top %d not above %d", i, top, prevTop)
		}
		low := prevTop + 1
		if i == 0 {
			low = 0
		}
		for _, v := range []uint64{low, top, (low + top) / 2} {
			if got := bucketOf(v); got != i {
				t.Fatalf("bucketOf(%d) = %d, want %d", v, got, i)
			}
		}
		if i >= 8 && float64(top-low+1) > 0.125*float64(low) {
			t.Fatalf("bucket %d [%d,%d] wider than 12.5%%", i, low, top)
		}
		prevTop = top
	}
	var h latencyHist
	for i := range 1000 {
		h.add(time.Duration(i+1) * time.Microsecond) // 1 µs .. 1000 µs
	}
	l := h.snapshot()
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 500 * time.Microsecond}, {99, 990 * time.Microsecond}, {100, 1000 * time.Microsecond}} {
		got := l.Percentile(c.p)
		if got < c.want || float64(got) > 1.13*float64(c.want) {
			t.Errorf("p%v = %v, want %v within 12.5%%", c.p, got, c.want)
		}
	}
	// 2^19 ns - 1 is a bucket's top: the count at most it is exact.
	if got, want := l.CountAtMost(1<<19-1), uint64((1<<19-1)/1000); got != want {
		t.Errorf("CountAtMost(2^19-1 ns) = %d, want %d", got, want)
	}
	if l.Count() != 1000 {
		t.Errorf("Count = %d", l.Count())
	}
}
