package main_test

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// scrapeText GETs url and returns the body of a 200 answer.
func scrapeText(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("%s: %s", resp.Status, b)
	}
	return string(b), nil
}

// hasLine reports whether the exposition text has a sample line that
// starts with prefix (name and labels) and whose value is not 0.
func hasLine(text, prefix string) bool {
	for _, l := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(l, prefix+" "); ok && rest != "0" {
			return true
		}
	}
	return false
}

func TestE2E_MetricsEndpointServesAClusterNode(t *testing.T) {
	addr := harness.FreeAddr(t)
	n := harness.NewNode(t, bin(t), "m1", "--metrics-addr", addr)
	n.Start()
	if err := n.WaitLeader(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	must(t, n, "+OK\r\n", "SET", "k", "v")
	must(t, n, bulk("v"), "GET", "k")
	url := "http://" + addr + "/metrics"
	var text string
	if err := harness.WaitFor(10*time.Second, func() error {
		var err error
		if text, err = scrapeText(url); err != nil {
			return err
		}
		for _, want := range []string{
			`walkerd_commands_total{cmd="set"}`, `walkerd_commands_total{cmd="get"}`,
			`walkerd_raft_state{state="leader"}`, `walkerd_raft_leader_changes_total`,
			`walkerd_raft_apply`, `walkerd_db_keys{db="db0"}`, `go_goroutines`,
		} {
			if !hasLine(text, want) {
				return fmt.Errorf("no non-zero %s", want)
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s\n%s", err, text, n.Log())
	}
	if !strings.Contains(n.Log(), "metrics listening") {
		t.Errorf("the log does not say where metrics are served:\n%s", n.Log())
	}
	// /metrics only.
	if _, err := scrapeText("http://" + addr + "/debug/pprof/"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("GET /debug/pprof/ on the metrics address: %v, want 404", err)
	}
}

func TestE2E_MetricsAddressMustBeLoopbackUnlessAllowed(t *testing.T) {
	b := bin(t)
	dir := t.TempDir()
	addrs := harness.FreeAddrs(t, 2)
	out, code := harness.RunOnce(t, b, "--standalone", "--tcp", addrs[0], "--dir", filepath.Join(dir, "data"),
		"--metrics-addr", "0.0.0.0:"+strings.Split(addrs[1], ":")[1])
	if code == 0 || !strings.Contains(out, "--metrics-allow-remote") {
		t.Fatalf("--metrics-addr 0.0.0.0:port exited %d:\n%s", code, out)
	}

	// Allowed: it serves, on every interface.
	port := strings.Split(addrs[1], ":")[1]
	n := harness.NewNode(t, b, "remote", "--standalone", "--metrics-addr", "0.0.0.0:"+port, "--metrics-allow-remote")
	n.Start()
	must(t, n, "+OK\r\n", "SET", "k", "v")
	if err := harness.WaitFor(5*time.Second, func() error {
		text, err := scrapeText("http://127.0.0.1:" + port + "/metrics")
		if err == nil && !hasLine(text, `walkerd_commands_total{cmd="set"}`) {
			err = fmt.Errorf("no set in\n%s", text)
		}
		return err
	}); err != nil {
		t.Fatalf("%v\n%s", err, n.Log())
	}
}
