package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// array is a RESP array of bulk strings.
func array(items ...string) string {
	s := fmt.Sprintf("*%d\r\n", len(items))
	for _, it := range items {
		s += fmt.Sprintf("$%d\r\n%s\r\n", len(it), it)
	}
	return s
}

func bulk(s string) string { return fmt.Sprintf("$%d\r\n%s\r\n", len(s), s) }

// fakeMember is a walkerd stand-in: members are the rows of its
// RAFT.MEMBERS ([id, raft, resp, role]), leader its RAFT.LEADER (nil if
// empty); INFO answers the fields status reads, as a ready leader of
// term 2. A member's resp "self" is replaced by the fake's own address.
func fakeMember(t *testing.T, id string, leader []string, members ...[]string) string {
	var self string
	self = harness.FakeRESP(t, func(args []string) string {
		switch strings.ToUpper(args[0]) {
		case "RAFT.MEMBERS":
			s := fmt.Sprintf("*%d\r\n", len(members))
			for _, m := range members {
				resp := m[2]
				if resp == "self" {
					resp = self
				}
				s += array(m[0], m[1], resp, m[3], "voter")
			}
			return s
		case "RAFT.LEADER":
			if len(leader) == 0 {
				return "*-1\r\n"
			}
			l := append([]string(nil), leader...)
			if l[2] == "self" {
				l[2] = self
			}
			return array(l...)
		case "INFO":
			return bulk("# Raft\r\nraft_node_id:" + id + "\r\nraft_state:leader\r\nraft_term:2\r\nraft_leader_id:" + id +
				"\r\nraft_ready:true\r\nraft_commit_index:9\r\nraft_applied_index:7\r\n")
		}
		return "-ERR unknown command\r\n"
	})
	return self
}

func TestMembers_JustAfterStartSaysAddressesAreStillBeingRecorded(t *testing.T) {
	addr := fakeMember(t, "n1", nil, []string{"n1", "127.0.0.1:1", "self", "leader"}, []string{"n2", "127.0.0.1:2", "", "follower"})
	r := wantExit(t, exitUnhealthy, []string{"the RESP address of n2 is still being recorded", "try again"}, "--addr", addr, "members")
	t.Logf("stdout:\n%s\nstderr: %s", r.stdout, r.stderr)
	if strings.Contains(r.stdout+r.stderr, "its RESP address is not recorded, so it cannot be asked") {
		t.Errorf("members says the address is missing for good, not that it is being recorded:\n%s%s", r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "n2: its RESP address is not recorded yet (still being recorded just after a cluster starts)") {
		t.Errorf("members does not say why n2 was not asked:\n%s", r.stdout)
	}
}

func TestLeader_ADeadLeaderIsUnknownNotNamed(t *testing.T) {
	dead := harness.FreeAddr(t) // nothing listens: as a leader killed with -9
	follower := fakeMember(t, "n2", []string{"n1", "127.0.0.1:1", dead})
	r := wantExit(t, exitNoLeader, []string{"walkerctl: leader unknown: " + follower + " names n1, which does not answer (cannot reach " + dead + ": connection refused)"},
		"--addr", follower, "leader")
	if r.stdout != "" || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("want one line on stderr and nothing on stdout: %q, %q", r.stdout, r.stderr)
	}

	// A leader that answers, and names itself, is printed.
	live := fakeMember(t, "n1", []string{"n1", "127.0.0.1:1", "self"})
	follower = fakeMember(t, "n2", []string{"n1", "127.0.0.1:1", live})
	if rows := tableRows(ok(t, "--addr", follower, "leader")); len(rows) != 1 || rows[0][0] != "n1" || rows[0][2] != live {
		t.Errorf("leader: %v", rows)
	}
	// One that answers but names another is moving: unknown too.
	moved := fakeMember(t, "n1", []string{"n3", "127.0.0.1:3", "127.0.0.1:9"})
	follower = fakeMember(t, "n2", []string{"n1", "127.0.0.1:1", moved})
	wantExit(t, exitNoLeader, []string{"names n1, which names n3 (leadership is moving)"}, "--addr", follower, "leader")
}

func TestCLI_AMemberDownIsTheSameExitCodeFromMembersStatusAndInfoAll(t *testing.T) {
	dead := harness.FreeAddr(t)
	addr := fakeMember(t, "n1", []string{"n1", "127.0.0.1:1", "self"},
		[]string{"n1", "127.0.0.1:1", "self", "leader"}, []string{"n2", "127.0.0.1:2", dead, "follower"})
	cause := "cannot reach " + dead + ": connection refused"
	for _, cmd := range [][]string{{"members"}, {"status"}, {"info", "--all"}, {"members", "--json"}, {"info", "--all", "--json"}} {
		r := wantExit(t, exitUnhealthy, []string{"cluster unhealthy"}, append([]string{"--addr", addr}, cmd...)...)
		if strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: stderr is not one line: %q", cmd, r.stderr)
		}
		if n := strings.Count(r.stdout+r.stderr, cause); n != 1 {
			t.Errorf("%v: %q printed %d times, want once\nstdout:\n%s\nstderr: %s", cmd, cause, n, r.stdout, r.stderr)
		}
	}
}
