package main

import (
	"sync/atomic"
	"testing"
)

// loadingNode is a fake node that answers LOADING to PING the first
// `loading` times, then PONG; INFO raft names a leader once leaderAfter
// INFO calls have been answered.
func loadingNode(t *testing.T, loading, leaderAfter int32) (string, *atomic.Int32) {
	var pings, infos atomic.Int32
	addr := fakeNode(t, func(args []string) string {
		switch args[0] {
		case "PING":
			if pings.Add(1) <= loading {
				return "-LOADING Redis is loading the dataset in memory\r\n"
			}
			return "+PONG\r\n"
		case "INFO":
			if infos.Add(1) <= leaderAfter {
				return bulk("raft_state:follower\r\nraft_leader_addr:\r\n")
			}
			return bulk("raft_state:follower\r\nraft_leader_addr:127.0.0.1:1\r\n")
		}
		return "-ERR unexpected\r\n"
	})
	return addr, &pings
}

// TestWaitReady_WaitsOutLoadingAndNoLeader: wait-ready returns 0 only
// after the node stops answering LOADING and names a leader.
func TestWaitReady_WaitsOutLoadingAndNoLeader(t *testing.T) {
	addr, pings := loadingNode(t, 3, 2)
	if out := ok(t, "--addr", addr, "wait-ready", "--timeout", "10s"); out != addr+" ready\n" {
		t.Fatalf("printed %q", out)
	}
	// 3 LOADING, then 2 PONGs whose INFO knew no leader, then ready.
	if n := pings.Load(); n != 6 {
		t.Errorf("%d PINGs, want 6", n)
	}
}

// TestWaitReady_TimesOutWithTheReason: a node loading for ever makes
// wait-ready exit 5 at its deadline, saying it was loading; a node that
// is not there exits 3.
func TestWaitReady_TimesOutWithTheReason(t *testing.T) {
	addr, _ := loadingNode(t, 1<<30, 0)
	wantExit(t, exitNoLeader, []string{"walkerctl: " + addr + " not ready within 300ms: no leader: " + addr + " is loading"},
		"--addr", addr, "wait-ready", "--timeout", "300ms")
	noLeader, _ := loadingNode(t, 0, 1<<30)
	wantExit(t, exitNoLeader, []string{"knows no leader (raft state follower)"}, "--addr", noLeader, "wait-ready", "--timeout", "300ms")
	gone := fakeNode(t, func([]string) string { return "close" })
	wantExit(t, exitUnreachable, []string{"not ready within 200ms", "closed the connection"}, "--addr", gone, "wait-ready", "--timeout", "200ms")
}

// TestWaitReady_StandaloneIsReadyOnPong: a standalone node has no leader
// to wait for.
func TestWaitReady_StandaloneIsReadyOnPong(t *testing.T) {
	addr := fakeNode(t, func(args []string) string {
		if args[0] == "PING" {
			return "+PONG\r\n"
		}
		return bulk("raft_state:standalone\r\n")
	})
	if out := ok(t, "--addr", addr, "--json", "wait-ready"); out != "{\n  \"ready\": [\n    \""+addr+"\"\n  ]\n}\n" {
		t.Fatalf("printed %q", out)
	}
}
