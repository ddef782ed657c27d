package main

import (
	"errors"
	"testing"

	"github.com/walkerdb/walkerdb/internal/harness"
	"github.com/walkerdb/walkerdb/internal/resp"
)

// fakeNode serves RESP on a loopback port: reply gets each command and
// returns the raw reply; "" never answers, "close" hangs up.
func fakeNode(t *testing.T, reply func(args []string) string) string {
	return harness.FakeRESP(t, func(args []string) string {
		switch out := reply(args); out {
		case "":
			return harness.Silent
		case "close":
			return harness.HangUp
		default:
			return out
		}
	})
}

func TestClient_UnreachableNodeIsOneClearLine(t *testing.T) {
	addr := harness.FreeAddr(t)
	r := wantExit(t, exitUnreachable, nil, "--addr", addr, "members")
	if want := "walkerctl: cannot reach " + addr + ": connection refused\n"; r.stderr != want {
		t.Fatalf("stderr %q, want %q", r.stderr, want)
	}
}

func TestClient_SilentNodeTimesOut(t *testing.T) {
	addr := fakeNode(t, func([]string) string { return "" })
	wantExit(t, exitUnreachable, []string{"walkerctl: " + addr + " did not answer within 200ms"}, "--addr", addr, "--timeout", "200ms", "get", "k")
}

func TestClient_HangUpIsReported(t *testing.T) {
	addr := fakeNode(t, func([]string) string { return "close" })
	wantExit(t, exitUnreachable, []string{addr + " closed the connection before it answered"}, "--addr", addr, "leader")
}

func TestClient_PasswordIsNotNeededByANodeWithout(t *testing.T) {
	addr := fakeNode(t, func(args []string) string {
		if args[0] == "AUTH" {
			return "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
		}
		return "$5\r\nvalue\r\n"
	})
	if out := ok(t, "--addr", addr, "--password", "x", "get", "k"); out != "value\n" {
		t.Fatalf("get printed %q", out)
	}
}

func TestClient_ErrorRepliesMapToExitCodes(t *testing.T) {
	for _, tc := range []struct {
		reply string
		code  int
		msg   string
	}{
		{"-CLUSTERDOWN no leader\r\n", exitNoLeader, "no leader: ADDR answered CLUSTERDOWN no leader"},
		{"-NOAUTH Authentication required.\r\n", exitAuth, "ADDR requires a password (NOAUTH)"},
		{"-ERR this command requires cluster mode\r\n", exitError, "walkerctl: ADDR: this command requires cluster mode"},
		{"-UNKNOWN the outcome of this write is unknown\r\n", exitError, "ADDR: UNKNOWN the outcome of this write is unknown"},
		{"?garbage\r\n", exitError, "resp: protocol error"},
	} {
		addr := fakeNode(t, func([]string) string { return tc.reply })
		wantExit(t, tc.code, []string{replaceAddr(tc.msg, addr)}, "--addr", addr, "set", "k", "v")
	}
}

func replaceAddr(s, addr string) string {
	out := ""
	for i := 0; i < len(s); i++ {
		if i+4 <= len(s) && s[i:i+4] == "ADDR" {
			out += addr
			i += 3
			continue
		}
		out += s[i : i+1]
	}
	return out
}

func TestReplyFields_ReadsARowOfStrings(t *testing.T) {
	raw := "*3\r\n*5\r\n$5\r\nnode1\r\n$11\r\n127.0.0.1:1\r\n$0\r\n\r\n+leader\r\n:7\r\n$-1\r\n*1\r\n*0\r\n"
	v, _, err := resp.Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	f, err := replyFields(v.Elems[0])
	if err != nil || len(f) != 5 || f[0] != "node1" || f[2] != "" || f[3] != "leader" || f[4] != "7" {
		t.Fatalf("members row %q, %v", f, err)
	}
	for _, bad := range v.Elems[1:] {
		if _, err := replyFields(bad); !errors.Is(err, resp.ErrProtocol) {
			t.Errorf("replyFields(%v) = %v, want a protocol error", bad, err)
		}
	}
}
