package main_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// A leader frozen (SIGSTOP: a VM pause, or a node cut off) does not hold
// the commands its followers forwarded to it for the forwarder's call
// timeout (30 s): once the followers know the new leader, the calls in
// flight to the old one end, a write with UNKNOWN (the frozen leader may
// yet apply it), and the next command goes to the new leader.
func TestE2E_ForwardedCallsEndWhenTheLeaderFreezes(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3)
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	follower := c.Followers(leader)[0]
	must(t, follower, "+OK\r\n", "SET", "before", "1")
	pause(t, leader)
	defer leader.Resume()
	start := time.Now()
	got, err := follower.Do("SET", "during", "1")
	took := time.Since(start)
	if err != nil {
		t.Fatalf("SET through %s while the leader is frozen: %v", follower.ID, err)
	}
	// Sent before the follower knew: the outcome is unknown. Sent after:
	// the new leader applied it, or there was no leader yet.
	if got != "+OK\r\n" && !strings.HasPrefix(got, "-UNKNOWN") && !strings.HasPrefix(got, "-CLUSTERDOWN") {
		t.Fatalf("SET while the leader is frozen = %q", got)
	}
	if took > 15*time.Second {
		t.Fatalf("SET while the leader is frozen answered after %v", took)
	}
	t.Logf("SET answered %q after %v", got, took.Round(time.Millisecond))
	if err := harness.WaitFor(15*time.Second, func() error {
		_, err := follower.Do("SET", "after", "1")
		if err != nil {
			return err
		}
		got, err := follower.Do("GET", "after")
		if err != nil || got != bulk("1") {
			return fmt.Errorf("GET after = %q %v", got, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
