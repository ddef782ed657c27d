package server

import (
	"strings"
	"testing"
	"time"
)

// redis-cli 7 builds its help from COMMAND DOCS when it connects: its usage
// line for a command (name, then arguments) is the same against walkerd as
// against a real Redis. Without arguments in COMMAND DOCS it was "SET"
// alone.
func TestRedisCLI_HelpShowsRedisUsage(t *testing.T) {
	cli := redisCLI(t)
	real := portOf(t, startRedis(t))
	ours := portOf(t, startServer(t, Config{}).addr)
	usage := func(port string, cmd ...string) string {
		out := runTool(t, 10*time.Second, cli, append([]string{"-p", port, "help"}, cmd...)...)
		for _, l := range strings.Split(out, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				return l
			}
		}
		return ""
	}
	for _, cmd := range [][]string{{"SET"}, {"GETEX"}, {"EXPIRE"}, {"SCAN"}, {"MSET"}, {"CONFIG", "GET"}, {"CLIENT", "LIST"}} {
		want, got := usage(real, cmd...), usage(ours, cmd...)
		if got != want || !strings.Contains(want, " ") {
			t.Errorf("redis-cli help %v:\n walkerd: %q\n   redis: %q", cmd, got, want)
		}
	}
}

// CONFIG GET maxmemory-policy answers what INFO memory says; it is read-only.
func TestConfig_MaxmemoryPolicyAgreesWithInfo(t *testing.T) {
	c := dial(t, startServer(t, Config{}).addr)
	if got := c.must(t, "CONFIG", "GET", "maxmemory-policy"); got != `["maxmemory-policy", "noeviction"]` {
		t.Errorf("CONFIG GET maxmemory-policy = %s", got)
	}
	if info := c.must(t, "INFO", "memory"); !strings.Contains(info, "maxmemory_policy:noeviction") {
		t.Errorf("INFO memory = %s", info)
	}
	if got := c.must(t, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru"); !strings.HasPrefix(got, "-ERR") {
		t.Errorf("CONFIG SET maxmemory-policy = %s", got)
	}
}
