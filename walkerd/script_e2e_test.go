package main_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// The script cache is replicated state: a script loaded on the leader
// runs by its SHA on every node, through a follower, and after the leader
// is killed; a script's writes reach every node.
func TestE2E_ScriptsSurviveFailover(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3)
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	const body = "redis.call('incr', KEYS[1]) return redis.call('get', KEYS[1])"
	got, err := leader.Do("SCRIPT", "LOAD", body)
	if err != nil || len(got) != len("$40\r\n")+40+2 {
		t.Fatalf("SCRIPT LOAD = %q %v", got, err)
	}
	id := got[5:45]
	follower := c.Followers(leader)[0]
	must(t, follower, bulk("1"), "EVALSHA", id, "1", "n")
	for _, n := range c.Nodes {
		if err := harness.WaitFor(10*time.Second, func() error {
			got, err := n.Do("EVALSHA_RO", id, "0")
			if err != nil || strings.HasPrefix(got, "-NOSCRIPT") {
				return fmt.Errorf("%s EVALSHA_RO: %q %v", n.ID, got, err)
			}
			return nil
		}); err != nil {
			// EVALSHA_RO of a writing script fails with the write error
			// once the script is known: anything but NOSCRIPT will do.
			t.Fatal(err)
		}
	}
	leader.Kill()
	var newLeader *harness.Node
	if err := harness.WaitFor(15*time.Second, func() error {
		l, err := c.Leader(200 * time.Millisecond)
		newLeader = l
		return err
	}); err != nil {
		t.Fatalf("no new leader: %v\n%s", err, c.Logs())
	}
	must(t, newLeader, bulk("2"), "EVALSHA", id, "1", "n")
	must(t, c.Followers(newLeader)[0], bulk("3"), "EVALSHA", id, "1", "n")
	must(t, newLeader, bulk("3"), "LEVELGET", "n", "consistent")
}
