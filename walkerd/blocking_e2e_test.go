package main_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// blockOn sends a blocking command on its own connection and delivers the
// raw reply.
func blockOn(t *testing.T, n *harness.Node, args ...string) <-chan string {
	t.Helper()
	conn, err := harness.Dial(n.RESP)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	out := make(chan string, 1)
	go func() {
		got, err := conn.Do(args...)
		if err != nil {
			got = "error: " + err.Error()
		}
		out <- got
	}()
	return out
}

func waitBlockedClients(t *testing.T, n *harness.Node, want int) {
	t.Helper()
	if err := harness.WaitFor(10*time.Second, func() error {
		info, err := n.Do("INFO", "clients")
		if err != nil {
			return err
		}
		if !strings.Contains(info, "blocked_clients:"+strconv.Itoa(want)+"\r\n") {
			return fmt.Errorf("INFO clients on %s = %q, want blocked_clients:%d", n.ID, info, want)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func reply(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case got := <-ch:
		return got
	case <-time.After(10 * time.Second):
		t.Fatal("no reply within 10 s")
		return ""
	}
}

// Clients blocked on a follower are served by writes made anywhere, in
// the order they blocked; while they wait, other clients' writes through
// the same follower (which share its forwarding connections to the
// leader) go on; and when leadership moves they are told with UNBLOCKED.
func TestE2E_BlockingThroughAFollower(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3)
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	f := c.Followers(leader)[0]

	first := blockOn(t, f, "BLPOP", "q", "0")
	waitBlockedClients(t, f, 1)
	second := blockOn(t, f, "BRPOP", "q", "0")
	waitBlockedClients(t, f, 2)
	var idle []<-chan string
	for i := range 20 {
		idle = append(idle, blockOn(t, f, "BLPOP", "idle"+strconv.Itoa(i), "0"))
	}
	waitBlockedClients(t, f, 22)

	// Twenty-two clients blocked on the follower stall no one else's
	// forwarded writes.
	start := time.Now()
	for i := range 100 {
		must(t, f, ":"+strconv.Itoa(i+1)+"\r\n", "INCR", "n")
	}
	t.Logf("100 INCRs through the follower with 22 clients blocked on it: %v", time.Since(start).Round(time.Millisecond))

	must(t, leader, ":2\r\n", "RPUSH", "q", "a", "b")
	if got := reply(t, first); got != "*2\r\n"+bulk("q")+bulk("a") {
		t.Fatalf("first blocked client got %q", got)
	}
	if got := reply(t, second); got != "*2\r\n"+bulk("q")+bulk("b") {
		t.Fatalf("second blocked client got %q", got)
	}
	must(t, leader, ":0\r\n", "EXISTS", "q")

	// A sorted set pop blocked on the leader, served by a write through
	// the follower.
	zpop := blockOn(t, leader, "BZPOPMIN", "z", "0")
	waitBlockedClients(t, leader, 1)
	must(t, f, ":1\r\n", "ZADD", "z", "1.5", "m")
	if got := reply(t, zpop); got != "*3\r\n"+bulk("z")+bulk("m")+bulk("1.5") {
		t.Fatalf("BZPOPMIN got %q", got)
	}

	// Leadership moves: every client blocked on the follower is told.
	leader.Kill()
	for i, ch := range idle {
		want := "-UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)\r\n"
		if got := reply(t, ch); got != want {
			t.Fatalf("idle client %d got %q after the leader died, want %q", i, got, want)
		}
	}
	waitBlockedClients(t, f, 0)
}
