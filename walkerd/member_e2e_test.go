package main_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// JOIN adds a node as a non-voter, only once its Raft address answers;
// the leader promotes it when it has caught up; LEAVE that would leave
// the voters without a reachable quorum is refused (walkerd/store's
// promote.go).

// Before: JOIN of a node nobody runs answered OK and made a one-node
// cluster a two-voter one with a voter unreachable: every write, and the
// LEAVE that would undo it, answered CLUSTERDOWN.
func TestE2E_Member_JoinOfAnUnreachableNodeIsRefused(t *testing.T) {
	n := harness.NewNode(t, bin(t), "solo")
	n.Start()
	if err := n.WaitLeader(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	before, err := n.Do("RAFT.MEMBERS")
	if err != nil {
		t.Fatal(err)
	}
	bogus := harness.FreeAddr(t)
	got, err := n.Do("JOIN", "bogus", bogus)
	if err != nil {
		t.Fatal(err)
	}
	if want := "-ERR cannot reach " + bogus + " (Raft) of node bogus: "; !strings.HasPrefix(got, want) {
		t.Fatalf("JOIN bogus %s = %q, want %q...", bogus, got, want)
	}
	must(t, n, "+OK\r\n", "SET", "k", "v")
	must(t, n, bulk("v"), "GET", "k")
	must(t, n, before, "RAFT.MEMBERS")
	must(t, n, "-ERR refused: removing solo would leave no voter\r\n", "LEAVE", "solo")
	must(t, n, "+OK\r\n", "SET", "k", "v2")
}

// In a 3-node start-up each joiner is first a non-voter, then a voter
// (its promotion is timed from the leader's log), and the voters it makes
// elect a new leader when the old one dies.
func TestE2E_Member_JoinerIsPromotedAndVotes(t *testing.T) {
	start := time.Now()
	c := harness.StartCluster(t, bin(t), 3) // waits until all three are voters
	t.Logf("3 voters %v after the first node started", time.Since(start).Round(time.Millisecond))
	first := c.Nodes[0]
	for _, id := range []string{"node2", "node3"} {
		// The leader logs a promotion once AddVoter has returned, which
		// may be a moment after the configuration the harness waited for.
		var log string
		var joined, promoted []int
		if err := harness.WaitFor(5*time.Second, func() error {
			log = first.Log()
			joined = regexp.MustCompile(`msg="member joined as a non-voter" id=` + id + ` `).FindStringIndex(log)
			promoted = regexp.MustCompile(`msg="promoted a non-voter to voter" id=` + id + ` .*after=(\S+)`).FindStringSubmatchIndex(log)
			if joined == nil || promoted == nil || promoted[0] < joined[0] {
				return fmt.Errorf("%s: the leader's log does not show it joining as a non-voter and then promoted", id)
			}
			return nil
		}); err != nil {
			t.Fatalf("%v\n%s", err, log)
		}
		after, err := time.ParseDuration(log[promoted[2]:promoted[3]])
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s promoted %v after it joined", id, after)
		if after > 3*time.Second {
			t.Errorf("%s took %v to be promoted, want well under a second or two", id, after)
		}
	}
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	must(t, leader, "+OK\r\n", "SET", "k", "v")
	// The two joiners elect a leader without the first node.
	leader.Kill()
	var next *harness.Node
	if err := harness.WaitFor(15*time.Second, func() error {
		l, err := c.Leader(200 * time.Millisecond)
		next = l
		return err
	}); err != nil {
		t.Fatalf("no leader after %s died: %v\n%s", leader.ID, err, c.Logs())
	}
	must(t, next, "+OK\r\n", "SET", "k", "v2")
	must(t, next, bulk("v2"), "GET", "k")
}

func TestE2E_Member_LeaveRefusedWhenItWouldLoseTheQuorum(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3)
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	fs := c.Followers(leader)
	live, dead := fs[0], fs[1]
	dead.Kill()
	// Sent to the live follower, which forwards it to the leader.
	want := fmt.Sprintf("-ERR refused: removing %s would leave 1 of 2 voters reachable, fewer than a quorum of 2\r\n", live.ID)
	must(t, live, want, "LEAVE", live.ID)
	must(t, leader, want, "LEAVE", live.ID)
	members, err := leader.Do("RAFT.MEMBERS")
	if err != nil || !strings.HasPrefix(members, "*3\r\n") || !strings.Contains(members, live.ID) {
		t.Fatalf("members after the refusal: %q, %v", members, err)
	}
	must(t, live, "+OK\r\n", "SET", "k", "v")
	// Removing the dead one leaves two voters, both up.
	must(t, live, "+OK\r\n", "LEAVE", dead.ID)
	members, err = leader.Do("RAFT.MEMBERS")
	if err != nil || !strings.HasPrefix(members, "*2\r\n") || strings.Contains(members, dead.ID) {
		t.Fatalf("members after LEAVE %s: %q, %v", dead.ID, members, err)
	}
	must(t, leader, "+OK\r\n", "SET", "k", "v2")
	must(t, live, bulk("v2"), "LEVELGET", "k", "consistent")
}

// A paused node accepts TCP connections (the kernel does) but completes
// no link handshake: it does not count as reachable.
func TestE2E_Member_APausedVoterDoesNotCountTowardTheQuorum(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3)
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	fs := c.Followers(leader)
	paused, other := fs[0], fs[1]
	paused.Pause()
	want := fmt.Sprintf("-ERR refused: removing %s would leave 1 of 2 voters reachable, fewer than a quorum of 2\r\n", other.ID)
	// Pause returns once every thread of the paused node is stopped.
	// Before it waited for that, this answered "leadership lost while
	// committing log" twice in CI: the paused node's threads still ran
	// for a moment after SIGSTOP and answered the check's handshake.
	if got, err := leader.Do("LEAVE", other.ID); err != nil || got != want {
		t.Fatalf("%s [LEAVE %s] = %q, %v, want %q\n%s", leader.ID, other.ID, got, err, want, c.Logs())
	}
	paused.Resume()
	if err := harness.WaitFor(10*time.Second, func() error {
		got, err := leader.Do("LEAVE", other.ID)
		if err != nil || got != "+OK\r\n" {
			return fmt.Errorf("LEAVE %s after %s resumed = %q, %v", other.ID, paused.ID, got, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	must(t, leader, "+OK\r\n", "SET", "k", "v")
}
