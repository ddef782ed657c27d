package main_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// timedReply is one command's reply on a fresh connection, and when the
// command was sent.
type timedReply struct {
	sent time.Time
	text string
}

func doAt(n *harness.Node, args ...string) (timedReply, error) {
	sent := time.Now()
	got, err := n.Do(args...)
	return timedReply{sent: sent, text: got}, err
}

const loadingReply = "-LOADING Redis is loading the dataset in memory\r\n"

// A restarted node used to answer PING at once and then CLUSTERDOWN to
// commands until it had a leader. Now, from its start until it can serve,
// it answers LOADING, PING included, as Redis does while loading; never
// CLUSTERDOWN. systemd hears READY=1, and walkerctl wait-ready returns 0,
// only once it can serve.
func TestE2E_ARestartedNodeAnswersLoadingUntilItCanServe(t *testing.T) {
	b := bin(t)
	ctl := harness.Build(t, "../walkerctl")
	c := harness.StartCluster(t, b, 3)
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	must(t, leader, "+OK\r\n", "SET", "k", "v")
	for _, n := range c.Nodes {
		n.Stop()
	}
	node1 := c.Nodes[0]

	// node1 alone, with systemd's notify socket: it has its log to replay
	// but no quorum, so it cannot serve.
	sockPath := filepath.Join(t.TempDir(), "notify.sock")
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sockPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	os.Setenv("NOTIFY_SOCKET", sockPath)
	node1.Start() // returns once PING answers (PONG or LOADING)
	os.Unsetenv("NOTIFY_SOCKET")

	var wr struct {
		sync.Mutex
		done bool
		at   time.Time
		out  []byte
		err  error
	}
	wrDone := make(chan struct{})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, ctl, "--addr", node1.RESP, "wait-ready", "--timeout", "50s").CombinedOutput()
		wr.Lock()
		wr.done, wr.at, wr.out, wr.err = true, time.Now(), out, err
		wr.Unlock()
		close(wrDone)
	}()

	for i := range 20 {
		for _, cmd := range [][]string{{"PING"}, {"GET", "k"}, {"SET", "k", "w"}} {
			r, err := doAt(node1, cmd...)
			if err != nil || r.text != loadingReply {
				t.Fatalf("round %d: %v on node1 alone answered %q (%v), want LOADING\n%s", i, cmd, r.text, err, node1.Log())
			}
		}
	}
	if r, err := doAt(node1, "ECHO", "x"); err != nil || r.text != bulk("x") {
		t.Errorf("ECHO (flagged loading) while loading: %q %v", r.text, err)
	}
	wr.Lock()
	if wr.done {
		t.Errorf("wait-ready returned while node1 was loading: %v %s", wr.err, wr.out)
	}
	wr.Unlock()
	sock.SetReadDeadline(time.Now().Add(time.Millisecond))
	if n, err := sock.Read(make([]byte, 64)); err == nil {
		t.Errorf("node1 notified systemd (%d bytes) before it could serve", n)
	}

	// The others come back: node1 serves once it has a leader and has
	// caught up, and said LOADING until then, never CLUSTERDOWN.
	c.Nodes[1].Start()
	c.Nodes[2].Start()
	var replies []timedReply
	if err := harness.WaitFor(30*time.Second, func() error {
		r, err := doAt(node1, "GET", "k")
		if err != nil {
			return err
		}
		replies = append(replies, r)
		if r.text != bulk("v") {
			return fmt.Errorf("GET k = %q", r.text)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
	for _, r := range replies[:len(replies)-1] {
		if r.text != loadingReply {
			t.Errorf("during start-up node1 answered GET with %q, want LOADING", r.text)
		}
	}

	// wait-ready returned 0, and no command sent after it returned was
	// answered LOADING.
	select {
	case <-wrDone:
	case <-time.After(40 * time.Second):
		t.Fatal("wait-ready did not return")
	}
	if wr.err != nil || strings.TrimSpace(string(wr.out)) != node1.RESP+" ready" {
		t.Fatalf("wait-ready: %v: %s", wr.err, wr.out)
	}
	for _, r := range replies {
		if !r.sent.Before(wr.at) && r.text != bulk("v") {
			t.Errorf("GET sent after wait-ready returned answered %q", r.text)
		}
	}
	if r, err := doAt(node1, "GET", "k"); err != nil || r.text != bulk("v") {
		t.Errorf("GET after wait-ready: %q %v", r.text, err)
	}

	// systemd heard READY=1, once.
	buf := make([]byte, 64)
	sock.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := sock.Read(buf)
	if err != nil || string(buf[:n]) != "READY=1" {
		t.Fatalf("notify socket: %q %v, want READY=1", buf[:n], err)
	}

	// A node that has served and loses its quorum answers CLUSTERDOWN,
	// not LOADING: it has its data, it lacks a leader.
	c.Nodes[1].Stop()
	c.Nodes[2].Stop()
	if err := harness.WaitFor(20*time.Second, func() error {
		r, err := doAt(node1, "SET", "k", "w")
		if err != nil {
			return err
		}
		if !strings.HasPrefix(r.text, "-CLUSTERDOWN") {
			if r.text == loadingReply {
				t.Fatalf("node1, having served, answered LOADING")
			}
			return fmt.Errorf("SET = %q", r.text)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if r, err := doAt(node1, "PING"); err != nil || r.text != "+PONG\r\n" {
		t.Errorf("PING on a node that has served, without a leader: %q %v", r.text, err)
	}
	sock.SetReadDeadline(time.Now().Add(10 * time.Second))
	node1.Stop()
	if n, err := sock.Read(buf); err != nil || string(buf[:n]) != "STOPPING=1" {
		t.Errorf("notify socket on stop: %q %v, want STOPPING=1", buf[:n], err)
	}
}

// One follower restarted while the cluster runs: from its start it answers
// LOADING or serves, never CLUSTERDOWN.
func TestE2E_ARestartedFollowerNeverAnswersClusterdown(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3)
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	must(t, leader, "+OK\r\n", "SET", "k", "v")
	f := c.Followers(leader)[0]
	f.Stop()
	must(t, leader, "+OK\r\n", "SET", "k", "v2") // a log entry f has to catch up on
	f.Start()
	loading := 0
	if err := harness.WaitFor(30*time.Second, func() error {
		r, err := doAt(f, "GET", "k")
		switch {
		case err != nil:
			return err
		case r.text == loadingReply:
			loading++
			return fmt.Errorf("loading")
		case r.text != bulk("v2"):
			t.Fatalf("the restarted follower answered GET with %q\n%s", r.text, f.Log())
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
	t.Logf("LOADING %d times before serving", loading)
}
