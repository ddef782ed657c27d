package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/engine"
)

// backupOf writes a checkpoint stream of dir to a file, as SAVE and
// walkerctl backup do, and returns its path.
func backupOf(t *testing.T, dir string) string {
	t.Helper()
	db, err := engine.Open(dir, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cp, err := db.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	file := filepath.Join(t.TempDir(), "dump.wdb")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := cp.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	return file
}

// restore builds a data directory holding what the backup's source held,
// and verify passes on it.
func TestRestore_BuildsTheDataDirectoryOfABackup(t *testing.T) {
	src := makeDir(t)
	want := engineContents(t, src)
	file := backupOf(t, src)
	dir := filepath.Join(t.TempDir(), "data")
	out := mustRun(t, exitOK, "restore", file, dir)
	if !strings.Contains(out, "restored "+file) || !strings.Contains(out, "into "+dir) {
		t.Errorf("output: %s", out)
	}
	if got := engineContents(t, dir); !reflect.DeepEqual(got, want) {
		t.Fatalf("restored %d keys, the source has %d", len(got), len(want))
	}
	mustRun(t, exitOK, "verify", dir)

	// Into a directory that holds something: refused, nothing changed.
	_, errs, code := runCmd(t, "restore", file, src)
	if code != exitError || !strings.Contains(errs, "not empty") {
		t.Errorf("restore into a full directory: exit %d, %q", code, errs)
	}
	// JSON.
	var res restoreJSON
	if err := json.Unmarshal([]byte(mustRun(t, exitOK, "restore", "--json", file, filepath.Join(t.TempDir(), "d2"))), &res); err != nil || res.Seq == 0 || res.Bytes == 0 {
		t.Errorf("--json: %+v %v", res, err)
	}
	for _, args := range [][]string{{"restore", file}, {"restore", dir, filepath.Join(t.TempDir(), "x")}, {"restore", file + ".missing", filepath.Join(t.TempDir(), "x")}} {
		if _, errs, code := runCmd(t, args...); code != exitError || errs == "" {
			t.Errorf("walkerdump %v: exit %d, %q", args, code, errs)
		}
	}
}

// A damaged backup restores nothing and exits 1; verify FILE finds the
// damage (exit 1) and passes a whole file (exit 0).
func TestVerifyFile_ChecksABackupWhole(t *testing.T) {
	file := backupOf(t, makeDir(t))
	out := mustRun(t, exitOK, "verify", file)
	if !strings.Contains(out, "verified backup "+file) || !strings.HasSuffix(strings.TrimSpace(out), ": ok") {
		t.Errorf("verify of a whole file: %s", out)
	}
	var v verifyFileJSON
	if err := json.Unmarshal([]byte(mustRun(t, exitOK, "verify", "--json", file)), &v); err != nil || !v.OK || v.Files < 4 || v.Seq == 0 {
		t.Errorf("--json: %+v %v", v, err)
	}

	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"flipped": func() []byte { b := append([]byte(nil), data...); b[len(b)*2/3] ^= 0x10; return b }(),
		"cut":     data[:len(data)-100],
		"trailer": append(append([]byte(nil), data...), "junk"...),
	} {
		path := filepath.Join(t.TempDir(), name+".wdb")
		if err := os.WriteFile(path, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		out, _, code := runCmd(t, "verify", path)
		if code != exitProblems || !strings.Contains(out, "DAMAGED") {
			t.Errorf("verify %s: exit %d, %s", name, code, out)
		}
		dir := filepath.Join(t.TempDir(), "data")
		if name == "trailer" {
			continue // restore stops at the end mark; verify is the strict check
		}
		_, errs, code := runCmd(t, "restore", path, dir)
		if code != exitProblems || !strings.Contains(errs, "damaged backup") {
			t.Errorf("restore %s: exit %d, %q", name, code, errs)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("restore %s left %s: %v", name, dir, err)
		}
	}
}
