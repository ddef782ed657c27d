package main_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// Found by the chaos harness (internal/chaos, nemesis "member"): a LEAVE
// that removes the leader itself is carried out, yet answered with an
// error, so a client (walkerctl leave, an operator's script) believes the
// node is still a member and does not stop or re-add it.
func TestE2E_LeaveOfTheLeaderItselfAnswersOKWhenItIsDone(t *testing.T) {
	for _, via := range []string{"leader", "follower"} {
		t.Run("sent to the "+via, func(t *testing.T) {
			c := harness.StartCluster(t, bin(t), 3)
			leader, err := c.Leader(10 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			target := leader
			if via == "follower" {
				target = c.Followers(leader)[0]
			}
			reply, err := target.Do("LEAVE", leader.ID)
			if err != nil {
				t.Fatal(err)
			}
			// Whatever the reply, the removal happened: the others form a
			// two-member cluster without the old leader.
			if err := harness.WaitFor(15*time.Second, func() error {
				for _, n := range c.Followers(leader) {
					got, err := n.Do("RAFT.MEMBERS")
					if err != nil {
						return err
					}
					if strings.Contains(got, leader.ID) || !strings.HasPrefix(got, "*2\r\n") {
						return fmt.Errorf("%s members: %q", n.ID, got)
					}
				}
				return nil
			}); err != nil {
				t.Fatalf("the leader was not removed: %v\n%s", err, c.Logs())
			}
			if reply != "+OK\r\n" {
				t.Fatalf("LEAVE %s (the leader itself, sent to the %s) removed it but answered %q", leader.ID, via, reply)
			}
		})
	}
}

// A node removed by LEAVE while it was down, and restarted with -join,
// may hear the leader's heartbeats before it has reached the join target:
// the leader keeps heartbeating a removed member until its last-ditch
// replication to it, which waits out the backoff its failures built up,
// is done. The node's own Raft configuration is the stale one that lists
// it, so it used to conclude it was a member, stop asking, and stay
// outside the cluster for ever (TestE2E_LeaveAndJoinAgain hit this by
// chance). Here the join target is down at first, so the heartbeats
// always come first.
func TestE2E_ARemovedNodeRestartedWithJoinRejoinsThoughItsOwnConfigurationStillListsIt(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 4)
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	fs := c.Followers(leader)
	gone, target := fs[0], fs[1]
	gone.Stop()
	time.Sleep(3 * time.Second) // the leader's retries to it back off to seconds
	must(t, leader, "+OK\r\n", "LEAVE", gone.ID)
	target.Stop() // three members are left: the other two are a quorum
	gone.Start("-join", target.RESP)
	// The leader heartbeats it while its join attempts fail.
	if err := harness.WaitFor(10*time.Second, func() error {
		info, err := gone.Info()
		if err != nil {
			return err
		}
		if info["raft_leader_id"] != leader.ID {
			return fmt.Errorf("%s names leader %q", gone.ID, info["raft_leader_id"])
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, gone.Log())
	}
	target.Start()
	if err := c.WaitMembers(4, 20*time.Second); err != nil {
		t.Fatalf("%s did not rejoin: %v\n%s", gone.ID, err, c.Logs())
	}
	must(t, leader, "+OK\r\n", "SET", "after-rejoin", "1")
	if err := harness.WaitFor(10*time.Second, func() error {
		got, _ := gone.Do("LEVELGET", "after-rejoin", "stale")
		if got != bulk("1") {
			return fmt.Errorf("after-rejoin on %s = %q", gone.ID, got)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
}

// A node removed by LEAVE while it runs used to answer every command with
// "CLUSTERDOWN no leader", though the cluster had one: it should say that
// it is out of the cluster, and how to come back.
func TestE2E_ANodeRemovedWhileRunningSaysItWasRemovedAndHowToRejoin(t *testing.T) {
	for _, which := range []string{"follower", "leader"} {
		t.Run("the "+which, func(t *testing.T) {
			c := harness.StartCluster(t, bin(t), 3)
			leader, err := c.Leader(10 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			gone := leader
			if which == "follower" {
				gone = c.Followers(leader)[0]
			}
			must(t, leader, "+OK\r\n", "LEAVE", gone.ID)
			for _, cmd := range [][]string{{"SET", "k", "v"}, {"GET", "k"}, {"LEVELGET", "k", "consistent"}, {"JOIN", "x", "127.0.0.1:1"}} {
				if err := harness.WaitFor(10*time.Second, func() error {
					got, err := gone.Do(cmd...)
					if err != nil {
						return err
					}
					if !strings.HasPrefix(got, "-CLUSTERDOWN this node was removed from the cluster") || !strings.Contains(got, "-join") {
						return fmt.Errorf("%s on the removed %s answered %q", cmd[0], which, got)
					}
					return nil
				}); err != nil {
					t.Fatalf("%v\n%s", err, gone.Log())
				}
			}
			// The cluster goes on without it.
			var other *harness.Node
			for _, n := range c.Nodes {
				if n != gone {
					other = n
				}
			}
			if err := harness.WaitFor(10*time.Second, func() error {
				if got, err := other.Do("SET", "k", "v"); err != nil || got != "+OK\r\n" {
					return fmt.Errorf("SET on %s: %q %v", other.ID, got, err)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		})
	}
}
