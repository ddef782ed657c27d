package main_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// ROLE on a three-node cluster: the leader lists both followers with the
// log index each applied, each follower names the leader, connected; a
// follower that stops is left out of the leader's list.
func TestE2E_RoleReportsTheRaftCluster(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3)
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	must(t, leader, "+OK\r\n", "SET", "k", "v")
	if err := c.WaitMembers(3, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	lhost, lport, _ := net.SplitHostPort(leader.RESP)
	followers := c.Followers(leader)
	entry := func(n *harness.Node) string {
		h, p, _ := net.SplitHostPort(n.RESP)
		return fmt.Sprintf("*3\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$", len(h), h, len(p), p)
	}
	if err := harness.WaitFor(15*time.Second, func() error {
		got, err := leader.Do("ROLE")
		if err != nil {
			return err
		}
		if !strings.HasPrefix(got, "*3\r\n$6\r\nmaster\r\n:") || !strings.Contains(got, "\r\n*2\r\n") {
			return fmt.Errorf("leader ROLE %q: want master with two followers", got)
		}
		for _, f := range followers {
			if !strings.Contains(got, entry(f)) {
				return fmt.Errorf("leader ROLE %q lacks follower %s", got, f.RESP)
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
	want := fmt.Sprintf("*5\r\n$5\r\nslave\r\n$%d\r\n%s\r\n:%s\r\n$9\r\nconnected\r\n:", len(lhost), lhost, lport)
	for _, f := range followers {
		if err := harness.WaitFor(15*time.Second, func() error {
			got, err := f.Do("ROLE")
			if err != nil || !strings.HasPrefix(got, want) {
				return fmt.Errorf("follower %s ROLE %q, want prefix %q: %v", f.ID, got, want, err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}

	// A stopped follower no longer answers: the leader lists one.
	followers[0].Stop()
	if err := harness.WaitFor(15*time.Second, func() error {
		got, err := leader.Do("ROLE")
		if err != nil || !strings.Contains(got, "\r\n*1\r\n") || !strings.Contains(got, entry(followers[1])) {
			return fmt.Errorf("leader ROLE %q after a follower stopped: %v", got, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
