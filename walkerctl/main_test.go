package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// result is one in-process run of the CLI.
type result struct {
	stdout, stderr string
	code           int
}

// ctl runs walkerctl in process with args, as a shell would.
func ctl(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"walkerctl"}, args...), &out, &errb)
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// ok runs the CLI and fails the test unless it exits with 0.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	r := ctl(t, args...)
	if r.code != 0 {
		t.Fatalf("walkerctl %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// wantExit runs the CLI and checks its exit code and that stderr holds
// every one of msgs.
func wantExit(t *testing.T, code int, msgs []string, args ...string) result {
	t.Helper()
	r := ctl(t, args...)
	if r.code != code {
		t.Fatalf("walkerctl %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	for _, m := range msgs {
		if !strings.Contains(r.stderr, m) {
			t.Fatalf("walkerctl %s: stderr %q lacks %q", strings.Join(args, " "), r.stderr, m)
		}
	}
	return r
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return v
}

// walkerd builds the daemon once per test process.
func walkerd(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds and runs walkerd processes")
	}
	return harness.Build(t, "../walkerd")
}
