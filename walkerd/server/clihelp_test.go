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

// CONFIG GET maxmemory-policy answers what INFO memory says. CONFIG SET
// takes Redis's policies only (any case); an LFU one lets OBJECT FREQ
// answer, as in Redis.
func TestConfig_MaxmemoryPolicyAgreesWithInfo(t *testing.T) {
	c := dial(t, startServer(t, Config{}).addr)
	if got := c.must(t, "CONFIG", "GET", "maxmemory-policy"); got != `["maxmemory-policy", "noeviction"]` {
		t.Errorf("CONFIG GET maxmemory-policy = %s", got)
	}
	if info := c.must(t, "INFO", "memory"); !strings.Contains(info, "maxmemory_policy:noeviction") {
		t.Errorf("INFO memory = %s", info)
	}
	want := "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: " +
		"volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"
	if got := c.must(t, "CONFIG", "SET", "maxmemory-policy", "bogus"); got != want {
		t.Errorf("CONFIG SET maxmemory-policy bogus = %s", got)
	}
	c.must(t, "SET", "k", "v")
	if got := c.must(t, "OBJECT", "FREQ", "k"); !strings.HasPrefix(got, "-ERR An LFU maxmemory policy is not selected") {
		t.Errorf("OBJECT FREQ under noeviction = %s", got)
	}
	if got := c.must(t, "CONFIG", "SET", "maxmemory-policy", "ALLKEYS-LFU"); got != "+OK" {
		t.Fatalf("CONFIG SET maxmemory-policy ALLKEYS-LFU = %s", got)
	}
	defer c.must(t, "CONFIG", "SET", "maxmemory-policy", "noeviction")
	if info := c.must(t, "INFO", "memory"); !strings.Contains(info, "maxmemory_policy:allkeys-lfu") {
		t.Errorf("INFO memory = %s", info)
	}
	if got := c.must(t, "OBJECT", "FREQ", "k"); got != ":0" {
		t.Errorf("OBJECT FREQ under allkeys-lfu = %s", got)
	}
}
