package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
	"github.com/walkerdb/walkerdb/internal/proc"
	"github.com/walkerdb/walkerdb/internal/tlstest"
)

func TestRun_AgainstRedisEveryRequestIsAnsweredAndRight(t *testing.T) {
	rs := startRedis(t)
	plot := filepath.Join(t.TempDir(), "bench.png")
	args := []string{"run", "--target", "redis=" + rs.Addr, "-t", "set,get,incr,mset,mixed",
		"-n", "3000", "-c", "4", "-P", "8", "-r", "500", "--warmup", "0", "--plot", plot}
	out, errOut, err := bench(append(args, "--json")...)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out, errOut)
	}
	var r *Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	checkClean(t, r, 3000)
	if len(r.Results) != 5 {
		t.Fatalf("%d results, want one per test", len(r.Results))
	}

	// The JSON has the fields scripts rely on.
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"tool", "mode", "workload", "targets", "results"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON report has no %q", k)
		}
	}
	res := raw["results"].([]any)[0].(map[string]any)
	for _, k := range []string{"target", "address", "test", "duration_s", "requests", "replies", "ok", "errors", "ops_per_sec", "errors_by_kind", "latency_ms", "latency_distribution", "timeline"} {
		if _, ok := res[k]; !ok {
			t.Errorf("JSON result has no %q", k)
		}
	}
	for _, k := range []string{"p50", "p90", "p99", "p99_9", "max"} {
		if _, ok := res["latency_ms"].(map[string]any)[k]; !ok {
			t.Errorf("JSON latency_ms has no %q", k)
		}
	}

	// The plot is a PNG of a sensible size: a row of two charts per test.
	f, err := os.Open(plot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("plot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 5*300 {
		t.Errorf("plot is %dx%d, too small for 5 tests", b.Dx(), b.Dy())
	}
}

func TestRun_TwoTargetsPrintSideBySideWithRatios(t *testing.T) {
	a, b := startRedis(t), startRedis(t)
	out, errOut, err := bench("run", "--target", "first="+a.Addr, "--target", "second="+b.Addr,
		"-t", "get", "-n", "2000", "-c", "2", "-r", "200", "--warmup", "0")
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out, errOut)
	}
	t.Logf("\n%s", out)
	if errOut != "" {
		t.Errorf("progress written to a stderr that is not a terminal: %q", errOut)
	}
	lines := strings.Split(out, "\n")
	var header, ops string
	for _, l := range lines {
		if strings.Contains(l, "first") && header == "" {
			header = l
		}
		if strings.HasPrefix(strings.TrimSpace(l), "ops/s") {
			ops = l
		}
	}
	if !strings.Contains(header, "second") || strings.Index(header, "first") > strings.Index(header, "second") {
		t.Errorf("header %q does not name both targets in order", header)
	}
	if !strings.Contains(ops, "x)") {
		t.Errorf("ops/s line %q has no ratio to the first target", ops)
	}
}

func TestRun_WrongValuesAreErrorsNotSpeed(t *testing.T) {
	rs := startRedis(t)
	// Write keys with a prefix of our own, then spoil two of them.
	prefix := "spoiled:"
	r := benchJSON(t, "run", "--target", rs.Addr, "-t", "set", "--key-prefix", prefix, "-r", "10", "-n", "200", "-c", "1", "--warmup", "0")
	checkClean(t, r, 200)
	key := func(i int) string { return fmt.Sprintf("%s%d", prefix, i) }
	other, err := harness.Do(rs.Addr, "GET", key(2))
	if err != nil || !strings.HasPrefix(other, "$100\r\n") {
		t.Fatalf("GET %s = %q, %v", key(2), other, err)
	}
	other = strings.TrimSuffix(strings.SplitN(other, "\r\n", 2)[1], "\r\n")
	for _, cmd := range [][]string{{"SET", key(0), "short"}, {"SET", key(1), other}} {
		if _, err := harness.Do(rs.Addr, cmd...); err != nil {
			t.Fatal(err)
		}
	}

	out, _, err := bench("run", "--target", rs.Addr, "-t", "get", "--key-prefix", prefix, "-r", "10", "-n", "300", "-c", "1", "--warmup", "0", "--prefill=false", "--json")
	if !errors.Is(err, errResultErrors) {
		t.Fatalf("err = %v, want errResultErrors", err)
	}
	var rep Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	res := rep.Results[0]
	t.Logf("errors: %v, e.g. %v", res.ErrorsByKind, res.ErrorSamples)
	if res.ErrorsByKind["mismatch: wrong value length"] == 0 || res.ErrorsByKind["mismatch: value of another key"] == 0 {
		t.Errorf("errors by kind %v: want both spoiled keys caught", res.ErrorsByKind)
	}
	if res.OK+res.Errors != res.Requests || res.OK == 0 {
		t.Errorf("%d requests, %d ok, %d errors", res.Requests, res.OK, res.Errors)
	}
	if want := float64(res.OK) / res.DurationS; res.OpsPerSec > want*1.001 {
		t.Errorf("ops/s %.0f counts more than the right replies (%.0f/s)", res.OpsPerSec, want)
	}
}

func TestRun_ServersThatLoseOrInventDataAreCaught(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		answer func(args []string) string
		kind   string
	}{
		{
			name: "a write acknowledged and then lost",
			args: []string{"-t", "get"}, // after the prefill
			answer: func(args []string) string {
				switch strings.ToUpper(args[0]) {
				case "SET":
					return "+OK\r\n"
				case "GET":
					return "$-1\r\n"
				}
				return "+PONG\r\n"
			},
			kind: "mismatch: lost write",
		},
		{
			name: "a value for a key never written",
			args: []string{"-t", "get", "--prefill=false"},
			answer: func(args []string) string {
				if strings.ToUpper(args[0]) == "GET" {
					v := appendValue(nil, 100, keySum([]byte(args[1])), 1)
					return fmt.Sprintf("$%d\r\n%s\r\n", len(v), v)
				}
				return "+PONG\r\n"
			},
			kind: "mismatch: value for a key never written",
		},
		{
			name: "an INCR that counts too far",
			args: []string{"-t", "incr"},
			answer: func(args []string) string {
				if strings.ToUpper(args[0]) == "INCR" {
					return ":1000000\r\n"
				}
				return "+PONG\r\n"
			},
			kind: "mismatch: wrong INCR result",
		},
		{
			name: "an error reply",
			args: []string{"-t", "set"},
			answer: func(args []string) string {
				if strings.ToUpper(args[0]) == "SET" {
					return "-ERR out of luck\r\n"
				}
				return "+PONG\r\n"
			},
			kind: "reply: ERR out of luck",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := fakeServer(t, tc.answer)
			args := append([]string{"run", "--target", addr, "-n", "200", "-c", "2", "-r", "20", "--warmup", "0", "--json"}, tc.args...)
			out, _, err := bench(args...)
			if !errors.Is(err, errResultErrors) {
				t.Fatalf("err = %v, want errResultErrors\n%s", err, out)
			}
			var rep Report
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatal(err)
			}
			res := rep.Results[0]
			if res.ErrorsByKind[tc.kind] != 200 || res.OK != 0 || res.OpsPerSec != 0 {
				t.Errorf("errors %v, ok %d, ops/s %.0f: want all 200 requests counted as %q", res.ErrorsByKind, res.OK, res.OpsPerSec, tc.kind)
			}
		})
	}
}

func TestRun_ConnectionsThatDropCountTheirRequestsAsErrors(t *testing.T) {
	var mu sync.Mutex
	sets := 0
	addr := fakeServer(t, func(args []string) string {
		if strings.ToUpper(args[0]) != "SET" {
			return "+PONG\r\n"
		}
		mu.Lock()
		defer mu.Unlock()
		if sets++; sets > 50 {
			return "" // hang up
		}
		return "+OK\r\n"
	})
	for _, mode := range [][]string{{}, {"--rate", "2000"}} {
		args := append([]string{"run", "--target", addr, "-t", "set", "-n", "400", "-c", "3", "-P", "4", "--warmup", "0", "--json"}, mode...)
		out, _, err := bench(args...)
		if !errors.Is(err, errResultErrors) {
			t.Fatalf("%v: err = %v, want errResultErrors\n%s", mode, err, out)
		}
		var rep Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		res := rep.Results[0]
		t.Logf("%v: %d requests, %d replies, %d ok, errors %v", mode, res.Requests, res.Replies, res.OK, res.ErrorsByKind)
		if res.Requests != 400 || res.OK+res.Errors != 400 || res.OK > 50 || res.Errors == 0 {
			t.Errorf("%v: %d requests, %d ok, %d errors: want 400 requests, each ok or an error", mode, res.Requests, res.OK, res.Errors)
		}
		mu.Lock()
		sets = 0
		mu.Unlock()
	}
}

// A server stopped for a second in the middle of a run at a fixed rate:
// the requests due during the stall wait up to a second each, and they
// are a quarter of the run, so the open-loop p99 must show most of the
// second. A closed-loop run sends nothing while the server is stopped,
// and its p99 hides the stall.
func TestRun_OpenLoopShowsAStallThatClosedLoopHides(t *testing.T) {
	rs := startRedis(t)
	stall := func() {
		time.Sleep(1200 * time.Millisecond)
		syscall.Kill(rs.Pid, syscall.SIGSTOP)
		time.Sleep(time.Second)
		syscall.Kill(rs.Pid, syscall.SIGCONT)
	}
	run := func(extra ...string) *Result {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); stall() }()
		args := append([]string{"run", "--target", rs.Addr, "-t", "get", "-c", "8", "-r", "1000", "--warmup", "0", "--duration", "4s"}, extra...)
		r := benchJSON(t, args...)
		wg.Wait()
		checkClean(t, r, 0)
		return r.Results[0]
	}
	open := run("--rate", "2000")
	closed := run()
	t.Logf("open loop:   %d requests, p50 %.3f ms, p99 %.1f ms, p99.9 %.1f ms, max %.1f ms, send lag p99 %.3f ms",
		open.Requests, open.Latency.P50, open.Latency.P99, open.Latency.P999, open.Latency.Max, open.SendLag.P99)
	t.Logf("closed loop: %d requests, p50 %.3f ms, p99 %.1f ms, p99.9 %.1f ms, max %.1f ms",
		closed.Requests, closed.Latency.P50, closed.Latency.P99, closed.Latency.P999, closed.Latency.Max)
	if open.Latency.P99 < 900 {
		t.Errorf("open loop p99 %.1f ms: a 1 s stall in a 4 s run at a fixed rate must show at p99 (>= 900 ms)", open.Latency.P99)
	}
	if lo, hi := 0.95*2000*4, 1.05*2000*4; float64(open.Requests) < lo || float64(open.Requests) > hi {
		t.Errorf("open loop sent %d requests in 4 s at 2000/s", open.Requests)
	}
	if closed.Latency.Max < 900 {
		t.Errorf("closed loop max %.1f ms: the stall did not happen during the run", closed.Latency.Max)
	}
}

func TestRun_BadFlagsAreRefusedBeforeAnythingRuns(t *testing.T) {
	for _, args := range [][]string{
		{"-t", "frobnicate"},
		{"--ratio", "1-10"},
		{"--level", "eventual"},
		{"--distribution", "normal"},
		{"--distribution", "zipfian", "--zipf-exponent", "0.99"},
		{"-c", "0"},
		{"--verify", "2"},
		{"--target", "=x"},
	} {
		_, _, err := bench(append([]string{"run", "--target", "127.0.0.1:1"}, args...)...)
		if err == nil || strings.Contains(err.Error(), "connect") {
			t.Errorf("%v: err = %v, want a flag error", args, err)
		}
	}
}

// walkerbench reaches a TLS server and authenticates as an ACL user:
// --tls --cacert and --user --password, as redis-benchmark takes them.
func TestRun_OverTLSAsAnACLUser(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed")
	}
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir)
	cert, key := ca.Issue("redis", "127.0.0.1")
	port := strings.TrimPrefix(harness.FreeAddr(t), "127.0.0.1:")
	p := &proc.Process{Bin: "redis-server", LogPath: filepath.Join(dir, "redis.log")}
	t.Cleanup(p.Kill)
	if err := p.Start("--port", "0", "--tls-port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir,
		"--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", ca.CertFile, "--tls-auth-clients", "no",
		"--user", "bench", "on", ">benchpw", "~*", "+@all"); err != nil {
		t.Fatal(err)
	}
	target := "127.0.0.1:" + port
	args := []string{"run", "--target", target, "-t", "set,get", "-n", "500", "-c", "2", "--warmup", "0",
		"--tls", "--cacert", ca.CertFile, "--user", "bench", "--password", "benchpw"}
	var r *Report
	if err := harness.WaitFor(10*time.Second, func() error {
		out, errOut, err := bench(append(args, "--json")...)
		if err != nil {
			return fmt.Errorf("%v\n%s\n%s\n%s", err, out, errOut, p.Log())
		}
		return json.Unmarshal([]byte(out), &r)
	}); err != nil {
		t.Fatal(err)
	}
	checkClean(t, r, 500)
	// The wrong password is refused before anything runs.
	if _, errOut, err := bench("run", "--target", target, "-t", "get", "-n", "10", "--tls", "--cacert", ca.CertFile,
		"--user", "bench", "--password", "nope"); err == nil {
		t.Fatalf("a wrong password ran: %s", errOut)
	}
}
