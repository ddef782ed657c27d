package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// redisServer is a redis-server the test started on a free loopback port.
type redisServer struct {
	Addr string
	Pid  int
}

// startRedis starts redis-server for the test (see harness.StartRedis).
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	addr, pid := harness.StartRedis(t)
	return &redisServer{Addr: addr, Pid: pid}
}

// bench runs walkerbench in process with args and returns what it printed
// on stdout and stderr.
func bench(args ...string) (stdout, stderr string, err error) {
	app := newApp()
	var out, errOut bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errOut
	err = app.Run(append([]string{"walkerbench"}, args...))
	return out.String(), errOut.String(), err
}

// benchJSON runs walkerbench with --json, fails the test on any error, and
// returns the parsed report.
func benchJSON(t *testing.T, args ...string) *Report {
	t.Helper()
	out, errOut, err := bench(append(args, "--json")...)
	if err != nil {
		t.Fatalf("walkerbench %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	var r Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("JSON report does not parse: %v\n%s", err, out)
	}
	return &r
}

// checkClean fails the test unless every result has exactly want requests
// (if want > 0), a reply for each, and no errors.
func checkClean(t *testing.T, r *Report, want int64) {
	t.Helper()
	if len(r.Results) == 0 {
		t.Fatal("no results")
	}
	for _, res := range r.Results {
		name := res.Target + " " + res.Test
		if res.Errors != 0 || len(res.ErrorsByKind) != 0 {
			t.Errorf("%s: %d errors: %v, e.g. %v", name, res.Errors, res.ErrorsByKind, res.ErrorSamples)
		}
		if want > 0 && res.Requests != want {
			t.Errorf("%s: %d requests, want %d", name, res.Requests, want)
		}
		if res.Replies != res.Requests || res.OK != res.Requests {
			t.Errorf("%s: %d requests, %d replies, %d ok", name, res.Requests, res.Replies, res.OK)
		}
		if res.Latency.Count != res.Replies {
			t.Errorf("%s: %d latencies recorded for %d replies", name, res.Latency.Count, res.Replies)
		}
		if res.OpsPerSec <= 0 || res.Latency.P50 <= 0 || res.Latency.Max < res.Latency.P99 {
			t.Errorf("%s: implausible figures: %.0f ops/s, latency %+v", name, res.OpsPerSec, res.Latency)
		}
		if len(res.Notes) > 0 {
			t.Logf("%s: notes: %v", name, res.Notes)
		}
	}
}

// fakeServer is a RESP server whose every reply comes from answer, to
// make a server misbehave on purpose; an empty answer hangs up.
func fakeServer(t *testing.T, answer func(args []string) string) string {
	return harness.FakeRESP(t, func(args []string) string {
		if a := answer(args); a != "" {
			return a
		}
		return harness.HangUp
	})
}
