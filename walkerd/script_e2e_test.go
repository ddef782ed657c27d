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
	// A script flagged no-writes runs as a read, through a follower too.
	ro := "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])"
	must(t, c.Followers(newLeader)[0], bulk("30"), "EVAL", ro, "1", "f")
	must(t, c.Followers(newLeader)[0], bulk("30"), "EVAL_RO", ro, "1", "f")
}

// A runaway write script stops at the same point on every node: each
// node's state machine runs it from the log entry, its instruction budget
// stops it, and its writes are rolled back everywhere, so the nodes'
// data agree. The cluster stays writable: later writes, through any
// node, apply at once.
func TestE2E_RunawayScriptStopsOnEveryNode(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3)
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	follower := c.Followers(leader)[0]
	must(t, leader, "+OK\r\n", "SET", "kept", "1")
	for _, script := range []string{
		"redis.call('set', 'lost', '1') local i = 0 while true do i = i + 1 end",
		"while true do redis.call('incr', 'lost') end",
	} {
		start := time.Now()
		got, err := follower.Do("EVAL", script, "0")
		// Three nodes each running the script for a second or more on a
		// loaded 2-core machine may miss heartbeats and elect anew: then
		// the follower cannot tell what became of the entry. Whatever
		// did, the script's writes must be gone, so it is sent again.
		for i := 0; i < 3 && err == nil && (strings.HasPrefix(got, "-CLUSTERDOWN") || strings.HasPrefix(got, "-UNKNOWN")); i++ {
			t.Logf("EVAL through %s: %q; again", follower.ID, got)
			if _, err := c.Leader(10 * time.Second); err != nil {
				t.Fatal(err)
			}
			got, err = follower.Do("EVAL", script, "0")
		}
		if err != nil || !strings.HasPrefix(got, "-ERR Script killed: it ran more than") {
			t.Fatalf("EVAL %q = %q %v", script, got, err)
		}
		t.Logf("%q stopped after %v", script, time.Since(start).Round(time.Millisecond))
	}
	must(t, follower, "+OK\r\n", "SET", "after", "1")
	// Every node: the script's writes are gone, the others are there, and
	// the data agree.
	var digest string
	for _, n := range c.Nodes {
		if err := harness.WaitFor(10*time.Second, func() error {
			got, err := n.Do("LEVELGET", "after", "stale")
			if err != nil || got != bulk("1") {
				return fmt.Errorf("%s has not applied the write after the scripts: %q %v", n.ID, got, err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		must(t, n, "$-1\r\n", "LEVELGET", "lost", "stale")
		must(t, n, bulk("1"), "LEVELGET", "kept", "stale")
		d, err := n.Do("WALKER.DIGEST")
		if err != nil {
			t.Fatal(err)
		}
		if digest == "" {
			digest = d
		} else if d != digest {
			t.Fatalf("%s digest %q, want %q", n.ID, d, digest)
		}
	}
}

// A read script sent to a follower runs at the leader (the default read
// level) until it is killed: SCRIPT KILL through the same follower stops
// it there, its client gets Redis's error, and writes go on.
func TestE2E_ScriptKillThroughAFollower(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3)
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	follower := c.Followers(leader)[0]
	done := make(chan string, 1)
	go func() {
		got, err := follower.Do("EVAL_RO", "while true do end", "0")
		if err != nil {
			got = err.Error()
		}
		done <- got
	}()
	if err := harness.WaitFor(10*time.Second, func() error {
		got, err := follower.Do("SCRIPT", "KILL")
		if err != nil || got != "+OK\r\n" {
			return fmt.Errorf("SCRIPT KILL: %q %v", got, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-done:
		if !strings.HasPrefix(got, "-ERR Script killed by user with SCRIPT KILL") {
			t.Fatalf("the killed script answered %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the script still runs after SCRIPT KILL")
	}
	must(t, follower, "-NOTBUSY No scripts in execution right now.\r\n", "SCRIPT", "KILL")
	must(t, follower, "+OK\r\n", "SET", "after", "1")
}
