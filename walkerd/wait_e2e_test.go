package main_test

import (
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// WAIT in a three-node cluster: before a client's first write every other
// voter holds its (empty) log prefix; after a write, Raft's commit
// guarantees it is in the log of a majority, one other voter of three.
// Through a follower the count is the same, and RESP3 replies come back
// in RESP3 after forwarding.
func TestE2E_WaitCountsVotersAndRESP3Forwards(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3)
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []*harness.Node{leader, c.Followers(leader)[0]} {
		conn, err := harness.Dial(n.RESP)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		do := func(want string, args ...string) {
			t.Helper()
			got, err := conn.Do(args...)
			if err != nil || got != want {
				t.Fatalf("%s %v = %q %v, want %q", n.ID, args, got, err, want)
			}
		}
		do(":2\r\n", "WAIT", "2", "0")
		do("+OK\r\n", "SET", "k-"+n.ID, "v")
		do(":1\r\n", "WAIT", "1", "0")
		start := time.Now()
		do(":1\r\n", "WAIT", "2", "100")
		if el := time.Since(start); el < 100*time.Millisecond {
			t.Fatalf("WAIT 2 100 answered after %v", el)
		}
		if _, err := conn.Do("HELLO", "3"); err != nil {
			t.Fatal(err)
		}
		do(":1\r\n", "HSET", "h-"+n.ID, "a", "1")
		do("%1\r\n$1\r\na\r\n$1\r\n1\r\n", "HGETALL", "h-"+n.ID)
		do(":1\r\n", "ZADD", "z-"+n.ID, "1.5", "m")
		do(",1.5\r\n", "ZSCORE", "z-"+n.ID, "m")
		do("_\r\n", "GET", "nope")
	}
}
