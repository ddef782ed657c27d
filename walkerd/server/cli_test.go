package server

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func runTool(t *testing.T, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func portOf(t *testing.T, addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func TestRedisCLI_Commands(t *testing.T) {
	cli := redisCLI(t)
	s := startServer(t, Config{})
	port := portOf(t, s.addr)
	for _, step := range []struct {
		args []string
		want string
	}{
		{[]string{"SET", "a", "b"}, "OK"},
		{[]string{"GET", "a"}, "b"},
		{[]string{"INCR", "n"}, "1"},
		{[]string{"MSET", "x", "1", "y", "2"}, "OK"},
		{[]string{"MGET", "x", "y", "z"}, "1\n2\n"},
		{[]string{"SET", "a", "b", "FOO"}, "ERR syntax error"},
		{[]string{"DBSIZE"}, "4"},
		{[]string{"PING"}, "PONG"},
	} {
		out := runTool(t, 10*time.Second, cli, append([]string{"-p", port}, step.args...)...)
		if strings.TrimSpace(out) != strings.TrimSpace(step.want) {
			t.Errorf("redis-cli %v = %q, want %q", step.args, out, step.want)
		}
	}
	// A pipe of commands in redis-cli's own protocol mode.
	cmd := exec.Command(cli, "-p", port)
	cmd.Stdin = strings.NewReader("SET p 1\nINCRBY p 41\nGET p\n")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Fields(string(out))[2] != "42" {
		t.Fatalf("piped redis-cli: %v %q", err, out)
	}
}

// benchmarkLines runs redis-benchmark and returns its final line per test.
func benchmarkLines(t *testing.T, bin, port string, pipeline string) []string {
	out := runTool(t, 120*time.Second, bin, "-p", port, "-t", "set,get,incr,mset", "-n", "20000", "-c", "50", "-P", pipeline, "-q")
	var lines []string
	for _, l := range strings.FieldsFunc(out, func(r rune) bool { return r == '\r' || r == '\n' }) {
		l = strings.TrimSpace(l)
		if strings.Contains(l, "requests per second") {
			lines = append(lines, l)
		}
		low := strings.ToLower(l)
		if strings.Contains(low, "error") || strings.Contains(low, "err ") {
			t.Errorf("redis-benchmark reported an error: %s", l)
		}
	}
	return lines
}

func TestRedisBenchmark_RunsWithoutErrors(t *testing.T) {
	bin, err := exec.LookPath("redis-benchmark")
	if err != nil {
		t.Skip("redis-benchmark is not on PATH (Debian: redis-tools)")
	}
	s := startServer(t, Config{})
	targets := []struct{ name, port string }{{"walkerd", portOf(t, s.addr)}}
	if _, err := exec.LookPath("redis-server"); err == nil {
		targets = append(targets, struct{ name, port string }{"redis-server", portOf(t, startRedis(t))})
	}
	for _, p := range []string{"1", "16"} {
		for _, tg := range targets {
			lines := benchmarkLines(t, bin, tg.port, p)
			if len(lines) != 4 {
				t.Errorf("%s -P %s: %d result lines, want 4: %q", tg.name, p, len(lines), lines)
			}
			for _, l := range lines {
				t.Logf("%-12s -P %-2s %s", tg.name, p, l)
			}
		}
	}
	c := dial(t, s.addr)
	if got := c.must(t, "DBSIZE"); got == ":0" {
		t.Errorf("DBSIZE after the benchmark = %s", got)
	}
}
