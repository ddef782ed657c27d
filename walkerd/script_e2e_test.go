package main_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// The script cache and function libraries are replicated state: a script
// loaded on the leader runs by its SHA on every node, through a follower,
// and after the leader is killed, and so do a library's functions (FCALL
// of a writing one through the log, FCALL of a no-writes one and
// FCALL_RO as reads); a script's writes reach every node.
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
	const lib = "#!lua name=counters\n" +
		"redis.register_function('bump', function(keys) return redis.call('incrby', keys[1], 10) end)\n" +
		"redis.register_function{function_name='peek', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}}"
	must(t, follower, bulk("counters"), "FUNCTION", "LOAD", lib)
	must(t, follower, ":10\r\n", "FCALL", "bump", "1", "f")
	for _, n := range c.Nodes {
		if err := harness.WaitFor(10*time.Second, func() error {
			got, err := n.Do("FCALL_RO", "peek", "1", "f")
			if err != nil || got != bulk("10") {
				return fmt.Errorf("%s FCALL_RO peek: %q %v", n.ID, got, err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
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
	must(t, newLeader, ":20\r\n", "FCALL", "bump", "1", "f")
	must(t, c.Followers(newLeader)[0], ":30\r\n", "FCALL", "BUMP", "1", "f")
	must(t, c.Followers(newLeader)[0], bulk("30"), "FCALL", "peek", "1", "f")
	must(t, newLeader, "-ERR Can not execute a script with write flag using *_ro command.\r\n", "FCALL_RO", "bump", "1", "f")
}
