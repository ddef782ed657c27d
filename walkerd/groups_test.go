package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The promoter of group gK asks a joining node for gK's applied index,
// not the home group's.
func TestParseAppliedIndex_ReadsTheGroupsOwnLine(t *testing.T) {
	body := "raft_node_id:b\r\nraft_log_applied_index:40\r\nraft_groups:2\r\n" +
		"raft_group0:id=g1,slots=0-8191,state=follower,term=2,leader=a,voters=3,commit_index=40,applied_index=38,log_applied_index=40\r\n" +
		"raft_group1:id=g2,slots=8192-16383,state=follower,term=3,leader=a,voters=2,commit_index=9,applied_index=7,log_applied_index=9\r\n"
	raw := []byte("$" + strconv.Itoa(len(body)) + "\r\n" + body + "\r\n")
	for group, want := range map[string]uint64{"": 40, "g1": 40, "g2": 9} {
		got, err := parseAppliedIndex(raw, group)
		if err != nil || got != want {
			t.Errorf("parseAppliedIndex(%q) = %d, %v; want %d", group, got, err, want)
		}
	}
	if _, err := parseAppliedIndex(raw, "g3"); err == nil || !strings.Contains(err.Error(), "g3") {
		t.Errorf("a group not in INFO raft: %v", err)
	}
}

// A node's number of groups is fixed at its first start; the groups it
// runs are listed after it (GROUP ADD and DROP change them), and a legacy
// file with the number alone means g1..gN.
func TestGroupsFile_FixedAtTheFirstStartListsTheGroupsRun(t *testing.T) {
	dir := t.TempDir()
	s := &settings{dir: filepath.Join(dir, "data"), raftDir: filepath.Join(dir, "raft")}
	ids, err := readGroupsFile(s, 4)
	if err != nil || strings.Join(ids, " ") != "g1 g2 g3 g4" {
		t.Fatalf("first start: %v %v", ids, err)
	}
	if ids, err = readGroupsFile(s, 4); err != nil || len(ids) != 4 {
		t.Fatalf("the same number again: %v %v", ids, err)
	}
	if _, err := readGroupsFile(s, 2); err == nil || !strings.Contains(err.Error(), "hold 4 Raft groups") {
		t.Fatalf("another number: %v", err)
	}
	if err := writeGroupsFile(s, 4, []string{"g1", "g2", "g4", "g7"}); err != nil {
		t.Fatal(err)
	}
	if ids, err = readGroupsFile(s, 4); err != nil || strings.Join(ids, " ") != "g1 g2 g4 g7" {
		t.Fatalf("after a split and a merge: %v %v", ids, err)
	}
	if err := os.WriteFile(groupsFile(s), []byte("4\ng1 x9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readGroupsFile(s, 4); err == nil || !strings.Contains(err.Error(), "x9") {
		t.Fatalf("a bad id: %v", err)
	}
	if err := os.WriteFile(groupsFile(s), []byte("3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ids, err = readGroupsFile(s, 3); err != nil || strings.Join(ids, " ") != "g1 g2 g3" {
		t.Fatalf("a file of the number alone: %v %v", ids, err)
	}
	// A node that ran with one group has Raft state but no GROUPS file.
	old := &settings{dir: filepath.Join(dir, "o", "data"), raftDir: filepath.Join(dir, "o", "raft")}
	if err := os.MkdirAll(old.raftDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(old.raftDir, "raft.db"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readGroupsFile(old, 3); err == nil || !strings.Contains(err.Error(), "one group") {
		t.Fatalf("an old one-group node started with --groups 3: %v", err)
	}
	if _, err := readGroupsFile(old, 1); err != nil {
		t.Fatalf("an old one-group node with one group: %v", err)
	}
	if d, _ := groupDirs(s, 2); d != filepath.Join(dir, "groups", "g3", "data") {
		t.Fatalf("group 3's data directory = %s", d)
	}
}
