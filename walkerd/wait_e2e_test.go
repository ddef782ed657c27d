package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// WAIT in a three-node cluster counts the replicas (the voters other than
// the leader) whose Raft log holds the client's last write, asking each:
// before a write both count; after one, both once it reached them. With a
// follower stopped (SIGSTOP), WAIT 2 100 answers 1 after its timeout; once
// the follower runs again, WAIT 2 answers 2. Through a follower the count
// is the same (the write was forwarded; the follower is one of the
// replicas), and RESP3 replies come back in RESP3 after forwarding.
func TestE2E_WaitCountsVotersAndRESP3Forwards(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3)
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	fs := c.Followers(leader)
	// The client on the leader, then the client on fs[0]; fs[1] is the
	// follower stopped.
	for _, n := range []*harness.Node{leader, fs[0]} {
		conn, err := harness.Dial(n.RESP)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		do := func(want string, args ...string) time.Duration {
			t.Helper()
			start := time.Now()
			got, err := conn.Do(args...)
			if err != nil || got != want {
				t.Fatalf("%s %v = %q %v, want %q", n.ID, args, got, err, want)
			}
			return time.Since(start)
		}
		do(":2\r\n", "WAIT", "2", "0")
		do("+OK\r\n", "SET", "k-"+n.ID, "v")
		do(":2\r\n", "WAIT", "2", "10000")
		do(":2\r\n", "WAIT", "0", "0") // the count, without waiting for more
		// More replicas than there are: it waits out its timeout, as Redis.
		if el := do(":2\r\n", "WAIT", "3", "200"); el < 200*time.Millisecond {
			t.Fatalf("WAIT 3 200 answered after %v", el)
		}

		stopped := fs[1]
		pause(t, stopped)
		do("+OK\r\n", "SET", "k-"+n.ID, "v2")
		if el := do(":1\r\n", "WAIT", "2", "100"); el < 100*time.Millisecond {
			t.Fatalf("WAIT 2 100 answered after %v", el)
		}
		// Enough replicas: the stopped one costs at most the probe time.
		if el := do(":1\r\n", "WAIT", "1", "10000"); el > time.Second {
			t.Fatalf("WAIT 1 with one replica stopped answered after %v", el)
		}
		stopped.Resume()
		do(":2\r\n", "WAIT", "2", "10000")

		if _, err := conn.Do("HELLO", "3"); err != nil {
			t.Fatal(err)
		}
		do(":1\r\n", "HSET", "h-"+n.ID, "a", "1")
		do("%1\r\n$1\r\na\r\n$1\r\n1\r\n", "HGETALL", "h-"+n.ID)
		do(":1\r\n", "ZADD", "z-"+n.ID, "1.5", "m")
		do(",1.5\r\n", "ZSCORE", "z-"+n.ID, "m")
		do("_\r\n", "GET", "nope")
		do(":2\r\n", "WAIT", "2", "10000")
		if _, err := conn.Do("HELLO", "2"); err != nil {
			t.Fatal(err)
		}
		if l, err := c.Leader(10 * time.Second); err != nil || l != leader {
			t.Fatalf("leadership moved during the test: %v %v", l, err)
		}
	}
}

// pause stops n with SIGSTOP and waits until the kernel says every one
// of its threads is stopped (state T in /proc/<pid>/task/*/stat): the
// signal is asynchronous, and a thread that has not stopped yet could
// still take a log entry.
func pause(t *testing.T, n *harness.Node) {
	t.Helper()
	n.Pause()
	if err := harness.WaitFor(5*time.Second, func() error {
		stats, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", n.Pid()))
		if err != nil || len(stats) == 0 {
			return fmt.Errorf("threads of %s: %v", n.ID, err)
		}
		for _, st := range stats {
			b, err := os.ReadFile(st)
			if err != nil {
				return err
			}
			// pid (comm) state ...: comm may hold spaces, so look after ')'.
			if f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:])); len(f) == 0 || f[0] != "T" {
				return fmt.Errorf("%s: thread %s not stopped yet: %q", n.ID, st, f)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
