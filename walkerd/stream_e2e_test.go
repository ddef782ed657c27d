package main_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
)

var streamIDRe = regexp.MustCompile(`\b\d+-\d+\b`)

// streamIDs are the stream IDs a raw reply names, in order.
func streamIDs(raw string) []string { return streamIDRe.FindAllString(raw, -1) }

func idLess(a, b string) bool {
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	x, _ := strconv.ParseUint(am, 10, 64)
	y, _ := strconv.ParseUint(bm, 10, 64)
	if x != y {
		return x < y
	}
	p, _ := strconv.ParseUint(as, 10, 64)
	q, _ := strconv.ParseUint(bs, 10, 64)
	return p < q
}

func do(t *testing.T, n *harness.Node, args ...string) string {
	t.Helper()
	got, err := n.Do(args...)
	if err != nil {
		t.Fatalf("%s %q: %v", n.ID, args, err)
	}
	if strings.HasPrefix(got, "-") {
		t.Fatalf("%s %q: %s", n.ID, args, got)
	}
	return got
}

// pendingOf is XPENDING's extended reply without the idle times (which
// move): "id consumer deliveries" per entry.
func pendingOf(t *testing.T, n *harness.Node) string {
	t.Helper()
	raw := do(t, n, "XPENDING", "s", "g", "-", "+", "100")
	// Each entry: *4 id consumer :idle :count.
	var out []string
	lines := strings.Split(raw, "\r\n")
	for i := 0; i+6 < len(lines); i++ {
		if lines[i] == "*4" && strings.HasPrefix(lines[i+1], "$") {
			out = append(out, lines[i+2]+" "+lines[i+4]+" "+strings.TrimPrefix(lines[i+6], ":"))
			i += 6
		}
	}
	return strings.Join(out, ", ")
}

// A consumer group is replicated state: after the leader is killed, the
// new leader holds the same pending entries (IDs, consumers, delivery
// counts), the consumer reads them back from its history, XADD's "*" IDs
// go on growing past every ID the old leader gave, and clients blocked in
// XREAD and XREADGROUP on a follower are told the leader changed.
func TestE2E_StreamGroupsSurviveFailover(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3)
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	f := c.Followers(leader)[0]

	do(t, f, "XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
	var ids []string
	for i := range 5 {
		id := strings.TrimSpace(strings.Split(do(t, f, "XADD", "s", "*", "n", strconv.Itoa(i)), "\r\n")[1])
		if len(ids) > 0 && !idLess(ids[len(ids)-1], id) {
			t.Fatalf("XADD * gave %s after %s", id, ids[len(ids)-1])
		}
		ids = append(ids, id)
	}
	got := do(t, f, "XREADGROUP", "GROUP", "g", "c", "COUNT", "3", "STREAMS", "s", ">")
	if d := streamIDs(got); strings.Join(d, " ") != strings.Join(ids[:3], " ") {
		t.Fatalf("XREADGROUP delivered %v, want %v", d, ids[:3])
	}
	do(t, f, "XCLAIM", "s", "g", "c2", "0", ids[2]) // a second delivery of ids[2], to c2
	before := pendingOf(t, leader)
	want := fmt.Sprintf("%s c 1, %s c 1, %s c2 2", ids[0], ids[1], ids[2])
	if before != want {
		t.Fatalf("XPENDING on the leader = %q, want %q", before, want)
	}

	reader := blockOn(t, f, "XREAD", "BLOCK", "0", "STREAMS", "s", "$")
	waitBlockedClients(t, f, 1)
	do(t, f, "XGROUP", "CREATE", "s", "g2", "$")
	grouped := blockOn(t, f, "XREADGROUP", "GROUP", "g2", "c3", "BLOCK", "0", "STREAMS", "s", ">")
	waitBlockedClients(t, f, 2)
	// Both blocked clients were resolved against the stream: an XADD
	// would serve them, but the leader goes first.
	leader.Kill()
	for name, ch := range map[string]<-chan string{"XREAD": reader, "XREADGROUP": grouped} {
		if got := reply(t, ch); !strings.HasPrefix(got, "-UNBLOCKED") {
			t.Fatalf("%s blocked on %s when the leader died = %q, want UNBLOCKED", name, f.ID, got)
		}
	}
	var newLeader *harness.Node
	if err := harness.WaitFor(15*time.Second, func() error {
		l, err := c.Leader(200 * time.Millisecond)
		newLeader = l
		return err
	}); err != nil {
		t.Fatalf("no new leader: %v\n%s", err, c.Logs())
	}
	if after := pendingOf(t, newLeader); after != before {
		t.Fatalf("XPENDING after failover = %q, want %q", after, before)
	}
	// The consumer's history: its own pending entries, unchanged.
	if got := streamIDs(do(t, newLeader, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0")); strings.Join(got, " ") != strings.Join(ids[:2], " ") {
		t.Fatalf("c's history after failover = %v, want %v", got, ids[:2])
	}
	for _, n := range c.Followers(newLeader) {
		if n == leader {
			continue
		}
		next := strings.Split(do(t, n, "XADD", "s", "*", "n", "after"), "\r\n")[1]
		if !idLess(ids[len(ids)-1], next) {
			t.Fatalf("XADD * after failover gave %s, not above %s", next, ids[len(ids)-1])
		}
		ids = append(ids, next)
	}
	got = do(t, newLeader, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
	if d := streamIDs(got); strings.Join(d, " ") != strings.Join(ids[3:], " ") {
		t.Fatalf("XREADGROUP > after failover = %v, want %v", d, ids[3:])
	}
	do(t, newLeader, "XACK", "s", "g", ids[0], ids[1])

	// The old leader comes back and catches up: every node holds the same
	// group state.
	leader.Start()
	want = pendingOf(t, newLeader)
	if err := harness.WaitFor(15*time.Second, func() error {
		for _, n := range c.Nodes {
			got, err := n.Do("XINFO", "GROUPS", "s")
			if err != nil {
				return err
			}
			wantGroups, _ := newLeader.Do("XINFO", "GROUPS", "s")
			if got != wantGroups {
				return fmt.Errorf("XINFO GROUPS on %s = %q, on the leader %q", n.ID, got, wantGroups)
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
	if got := pendingOf(t, newLeader); got != want {
		t.Fatalf("XPENDING = %q, want %q", got, want)
	}
}
