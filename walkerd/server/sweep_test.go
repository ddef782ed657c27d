package server

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// waitUntil polls cond every 5 ms until it holds, failing the test after d.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A walk that meets no key with an expiry time stops the expiry walks, and
// the first write that gives one (here SET PX, then EXPIRE) starts them
// again: the key is deleted by the sweeper, not left on disk.
func TestSweeper_IdlesWithoutTTLsAndWakesForOne(t *testing.T) {
	s := startServer(t, Config{SweepInterval: 10 * time.Millisecond, SweepBatch: 50})
	c := dial(t, s.addr)
	for i := range 300 {
		c.must(t, "SET", fmt.Sprint("k", i), "v")
	}
	waitUntil(t, 5*time.Second, "the sweeper never idled among keys without TTL", s.sweepIdle.Load)

	c.must(t, "SET", "a-expiring", "v", "PX", "30") // sorts before the other keys
	waitUntil(t, 5*time.Second, "a key set with PX was never swept", func() bool { return s.db.Len() == 300 })
	waitUntil(t, 5*time.Second, "the sweeper never idled again", s.sweepIdle.Load)

	c.must(t, "SET", "z-expiring", "v")
	if got := c.must(t, "PEXPIRE", "z-expiring", "30"); got != ":1" {
		t.Fatalf("PEXPIRE = %s", got)
	}
	waitUntil(t, 5*time.Second, "a key given a TTL by PEXPIRE was never swept", func() bool { return s.db.Len() == 300 })
	v, err := c.do("INFO", "stats")
	if err != nil || !strings.Contains(string(v.Str), "\r\nexpired_keys:2\r\n") {
		t.Fatalf("INFO stats does not count the 2 keys swept (%v):\n%s", err, v.Str)
	}
}

// A key that keeps a TTL counts: the sweeper does not idle while one
// exists, even far from expiring.
func TestSweeper_DoesNotIdleWhileAKeyHasATTL(t *testing.T) {
	s := startServer(t, Config{SweepInterval: 10 * time.Millisecond, SweepBatch: 50})
	c := dial(t, s.addr)
	for i := range 200 {
		c.must(t, "SET", fmt.Sprint("k", i), "v")
	}
	c.must(t, "SET", "later", "v", "EX", "3600")
	from := s.sweepWalks.Load()
	waitUntil(t, 5*time.Second, "the sweeper finished no walks", func() bool { return s.sweepWalks.Load() >= from+3 })
	if s.sweepIdle.Load() {
		t.Fatal("the sweeper idled while a key has a TTL")
	}
	if got := c.must(t, "TTL", "later"); got == ":-2" {
		t.Fatal("the key with a TTL is gone")
	}
}
