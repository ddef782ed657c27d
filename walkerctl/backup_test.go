package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/harness"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// testStream is a real checkpoint stream of a few hundred keys.
func testStream(t *testing.T) []byte {
	t.Helper()
	db, err := engine.Open(t.TempDir(), &engine.Options{SegmentSize: 8 << 10, Sync: engine.SyncNo, LayoutVersion: keyspace.LayoutVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := 0; i < 400; i++ {
		if err := db.Put([]byte(fmt.Sprintf("k%d", i)), bytes.Repeat([]byte("v"), 100)); err != nil {
			t.Fatal(err)
		}
	}
	cp, err := db.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	var b bytes.Buffer
	if _, err := cp.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// fakeBackupCluster is a follower that names a leader, and the leader,
// whose WALKER.BACKUP answers backup (a raw reply).
func fakeBackupCluster(t *testing.T, backup string) (follower, leader string) {
	leader = harness.FakeRESP(t, func(args []string) string {
		switch strings.ToUpper(args[0]) {
		case "RAFT.LEADER":
			return array("n1", "127.0.0.1:1", leader)
		case "WALKER.BACKUP":
			return backup
		}
		return "-ERR unknown command\r\n"
	})
	follower = harness.FakeRESP(t, func(args []string) string {
		switch strings.ToUpper(args[0]) {
		case "RAFT.LEADER":
			return array("n1", "127.0.0.1:1", leader)
		case "WALKER.BACKUP":
			return "-ERR WALKER.BACKUP runs on the leader\r\n"
		}
		return "-ERR unknown command\r\n"
	})
	return follower, leader
}

func noTemps(t *testing.T, dir string) {
	t.Helper()
	if m, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

// Asked at a follower, backup takes the stream from the leader, checks
// it, and writes exactly its bytes.
func TestBackup_WritesTheLeadersStreamToTheFile(t *testing.T) {
	stream := testStream(t)
	follower, leader := fakeBackupCluster(t, fmt.Sprintf("$%d\r\n%s\r\n", len(stream), stream))
	dir := t.TempDir()
	file := filepath.Join(dir, "b.wdb")
	out := ok(t, "--addr", follower, "backup", file)
	if !strings.Contains(out, "backup of n1 ("+leader+") written to "+file) {
		t.Errorf("output: %s", out)
	}
	got, err := os.ReadFile(file)
	if err != nil || !bytes.Equal(got, stream) {
		t.Fatalf("file holds %d bytes (%v), want the %d of the stream", len(got), err, len(stream))
	}
	noTemps(t, dir)

	res := decode[backupResult](t, ok(t, "--addr", follower, "--json", "backup", file))
	if res.Bytes != int64(len(stream)) || res.Leader != "n1" || res.Addr != leader || res.Files < 2 {
		t.Errorf("--json: %+v", res)
	}
}

// A damaged or short stream, or an error reply, fails the backup and
// leaves neither the file nor a temporary file.
func TestBackup_RefusesADamagedStream(t *testing.T) {
	stream := testStream(t)
	bad := bytes.Clone(stream)
	bad[len(bad)/2] ^= 1
	cases := []struct {
		name, reply string
		code        int
		msg         string
	}{
		{"a flipped byte", fmt.Sprintf("$%d\r\n%s\r\n", len(bad), bad), exitError, "checksum mismatch"},
		{"a short stream", fmt.Sprintf("$%d\r\n%s", len(stream), stream[:len(stream)/2]), exitUnreachable, ""},
		{"an error", "-ERR no space\r\n", exitError, "no space"},
		{"no leader", "-CLUSTERDOWN no leader is known to take a backup from\r\n", exitNoLeader, "CLUSTERDOWN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// After a short stream the fake waits for a command that
			// never comes: --timeout ends the read.
			follower, _ := fakeBackupCluster(t, tc.reply)
			dir := t.TempDir()
			file := filepath.Join(dir, "b.wdb")
			args := []string{"--addr", follower, "--timeout", "500ms", "backup", file}
			start := time.Now()
			r := ctl(t, args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
				t.Fatalf("exit %d, stderr %q; want exit %d with %q", r.code, r.stderr, tc.code, tc.msg)
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			if _, err := os.Stat(file); !os.IsNotExist(err) {
				t.Errorf("file after a failed backup: %v", err)
			}
			noTemps(t, dir)
		})
	}
}
