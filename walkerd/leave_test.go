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
