package main_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// A follower stopped (SIGSTOP) while the others publish and compact their
// logs catches up, once it runs again, by installing a snapshot at
// runtime. Every message the log carried is either applied on it (it may
// still take the entries that reached its socket before it stopped) or
// counted as missed: INFO raft's pubsub_messages_missed plus INFO stats'
// pubsub_messages_applied is the replicated count of messages published
// (pubsub_messages_published), most were missed, the skipped entries are
// counted, and its log names the count. A message published after the
// install is delivered.
func TestE2E_SnapshotInstallCountsMissedMessages(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3, append(logDeletes, "--snapshot-threshold", "100000", "--snapshot-interval", "1h", "--trailing-logs", "5")...)
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	fs := c.Followers(leader)
	stopped, other := fs[0], fs[1]
	// do runs a command through other (a follower: writes go to whichever
	// node leads), again while the cluster has no leader.
	do := func(want string, args ...string) {
		t.Helper()
		var got string
		if err := harness.WaitFor(20*time.Second, func() error {
			got, err = other.Do(args...)
			if err != nil || strings.HasPrefix(got, "-CLUSTERDOWN") {
				return fmt.Errorf("%v: %q %v", args, got, err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if got != want && !strings.HasPrefix(got, "-UNKNOWN") { // UNKNOWN: the counts tell
			t.Fatalf("%v = %q, want %q", args, got, want)
		}
	}
	do("+OK\r\n", "SET", "before", "1")
	if err := harness.WaitFor(5*time.Second, func() error {
		if got, _ := stopped.Do("LEVELGET", "before", "stale"); got != bulk("1") {
			return fmt.Errorf("before on %s = %q", stopped.ID, got)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sub, err := harness.Dial(stopped.RESP)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if got, err := sub.Do("SUBSCRIBE", "news"); err != nil || !strings.Contains(got, "subscribe") {
		t.Fatalf("SUBSCRIBE: %q %v", got, err)
	}

	pause(t, stopped) // wait_e2e_test.go
	const n = 40
	for i := range n {
		if i%2 == 0 {
			do(":0\r\n", "PUBLISH", "news", fmt.Sprint(i))
		} else {
			do(":0\r\n", "SPUBLISH", "shard", fmt.Sprint(i))
		}
		do("+OK\r\n", "SET", fmt.Sprintf("k%d", i), "v")
	}
	do("+OK\r\n", "SET", "after", "1")
	// Both running nodes compact, so whichever leads sends a snapshot.
	must(t, other, "+OK\r\n", "SNAPSHOT")
	must(t, leader, "+OK\r\n", "SNAPSHOT")
	stopped.Resume()
	if err := harness.WaitFor(20*time.Second, func() error {
		if got, err := stopped.Do("LEVELGET", "after", "stale"); err != nil || got != bulk("1") {
			return fmt.Errorf("after on %s = %q %v", stopped.ID, got, err)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
	if !strings.Contains(stopped.Log(), "restored snapshot") {
		t.Fatalf("%s caught up without installing a snapshot: the test did not test it\n%s", stopped.ID, stopped.Log())
	}
	num := func(n *harness.Node, section, field string) int {
		t.Helper()
		s, err := n.Do("INFO", section)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(s, "\r\n") {
			if v, ok := strings.CutPrefix(l, field+":"); ok {
				x, err := strconv.Atoi(v)
				if err != nil {
					t.Fatalf("INFO %s on %s: %s", section, n.ID, l)
				}
				return x
			}
		}
		t.Fatalf("INFO %s on %s lacks %s", section, n.ID, field)
		return 0
	}
	published := num(other, "raft", "pubsub_messages_published")
	missed := num(stopped, "raft", "pubsub_messages_missed")
	applied := num(stopped, "stats", "pubsub_messages_applied")
	t.Logf("published %d: on %s missed %d, applied %d", published, stopped.ID, missed, applied)
	if published < n || num(stopped, "raft", "pubsub_messages_published") != published {
		t.Errorf("published %d on %s, %d on %s: want the same, at least %d", published, other.ID,
			num(stopped, "raft", "pubsub_messages_published"), stopped.ID, n)
	}
	if missed+applied != published || missed < n/2 {
		t.Errorf("on %s %d messages missed and %d applied, of %d published", stopped.ID, missed, applied, published)
	}
	if num(stopped, "raft", "pubsub_entries_missed") < 2*missed {
		t.Errorf("pubsub_entries_missed on %s = %d, want at least %d", stopped.ID, num(stopped, "raft", "pubsub_entries_missed"), 2*missed)
	}
	if want := fmt.Sprintf("%d pub/sub messages", missed); !strings.Contains(stopped.Log(), want) {
		t.Errorf("%s's log does not say %q:\n%s", stopped.ID, want, stopped.Log())
	}
	for _, nd := range []*harness.Node{leader, other} {
		if m := num(nd, "raft", "pubsub_messages_missed"); m != 0 {
			t.Errorf("pubsub_messages_missed on %s = %d, want 0", nd.ID, m)
		}
	}
	// Published after the install: delivered; before it, the subscriber
	// reads only news messages its node applied.
	do(":0\r\n", "PUBLISH", "news", "late")
	seen := 0
	if err := harness.WaitFor(10*time.Second, func() error {
		got, err := sub.Do("PING")
		switch {
		case err != nil:
			return err
		case strings.Contains(got, "late"):
			return nil
		case strings.Contains(got, "message"):
			seen++
		}
		return fmt.Errorf("not yet: %q", got)
	}); err != nil {
		t.Error(err)
	}
	if seen > applied {
		t.Errorf("the subscriber read %d messages before \"late\", more than the %d applied", seen, applied)
	}
}
