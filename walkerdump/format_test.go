package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/engine/record"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// layoutDir makes a closed data directory holding one key, created with
// the key-layout version layout.
func layoutDir(t testing.TB, dir string, layout uint32) string {
	t.Helper()
	db, err := engine.Open(dir, &engine.Options{SegmentSize: engine.MinSegmentSize, Sync: engine.SyncNo, LayoutVersion: layout})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Put([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// listing names the entries of dir.
func listing(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// wantOneLineRefusal fails unless a command exited 2 with exactly one line
// on stderr that holds every part.
func wantOneLineRefusal(t testing.TB, c, stderr string, code int, parts ...string) {
	t.Helper()
	if code != exitError || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
		t.Errorf("%s: exit %d, stderr %q; want exit %d and one line", c, code, stderr, exitError)
		return
	}
	for _, p := range parts {
		if !strings.Contains(stderr, p) {
			t.Errorf("%s: %q does not name %q", c, stderr, p)
		}
	}
}

func TestMain_EveryCommandRefusesAFolderThatIsNotADataDirectory(t *testing.T) {
	parent := t.TempDir()
	layoutDir(t, filepath.Join(parent, "data"), keyspace.LayoutVersion)
	os.WriteFile(filepath.Join(parent, "notes.txt"), []byte("not data"), 0o644)
	before := listing(t, parent)
	for _, c := range commands {
		out, errs, code := runCmd(t, c, parent)
		wantOneLineRefusal(t, c, errs, code, parent, "not a WalkerDB data directory")
		if out != "" {
			t.Errorf("%s printed %q on stdout", c, out)
		}
		if after := listing(t, parent); strings.Join(after, " ") != strings.Join(before, " ") {
			t.Fatalf("%s changed the folder: %v, then %v", c, before, after)
		}
	}
}

func TestMain_EveryCommandRefusesANewerFormat(t *testing.T) {
	dir := layoutDir(t, t.TempDir(), keyspace.LayoutVersion)
	b := []byte("WALKERDB")
	b = binary.LittleEndian.AppendUint32(b, engine.FormatVersion+1)
	b = binary.LittleEndian.AppendUint32(b, keyspace.LayoutVersion)
	b = binary.LittleEndian.AppendUint32(b, record.Checksum(b))
	if err := os.WriteFile(filepath.Join(dir, "FORMAT"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range commands {
		_, errs, code := runCmd(t, c, dir)
		wantOneLineRefusal(t, c, errs, code, dir,
			fmt.Sprintf("format version %d", engine.FormatVersion+1), fmt.Sprintf("this build reads format version %d", engine.FormatVersion))
	}
}

func TestMain_EveryCommandRefusesAnotherKeyLayout(t *testing.T) {
	dir := layoutDir(t, t.TempDir(), keyspace.LayoutVersion+1)
	for _, c := range commands {
		_, errs, code := runCmd(t, c, dir)
		wantOneLineRefusal(t, c, errs, code, dir,
			fmt.Sprintf("key layout version %d", keyspace.LayoutVersion+1), fmt.Sprintf("key layout version %d", keyspace.LayoutVersion))
	}
}

func TestInspect_PrintsTheFormatAndLayoutVersions(t *testing.T) {
	dir := layoutDir(t, t.TempDir(), keyspace.LayoutVersion)
	out := mustRun(t, exitOK, "inspect", dir)
	want := fmt.Sprintf("format version %d, key layout version %d", engine.FormatVersion, keyspace.LayoutVersion)
	if !strings.Contains(out, want) {
		t.Errorf("inspect output lacks %q:\n%s", want, out)
	}
	var j inspectJSON
	if err := json.Unmarshal([]byte(mustRun(t, exitOK, "inspect", "--json", dir)), &j); err != nil {
		t.Fatal(err)
	}
	if j.Format != engine.FormatVersion || j.Layout != keyspace.LayoutVersion {
		t.Errorf("inspect --json: format %d, layout %d; want %d, %d", j.Format, j.Layout, engine.FormatVersion, keyspace.LayoutVersion)
	}
}

func TestInspect_ReportsADirectoryWrittenBeforeFormatVersions(t *testing.T) {
	dir := layoutDir(t, t.TempDir(), keyspace.LayoutVersion)
	os.Remove(filepath.Join(dir, "FORMAT"))
	out := mustRun(t, exitOK, "inspect", dir)
	if !strings.Contains(out, "format version 0") || !strings.Contains(out, "walkerd refuses it") {
		t.Errorf("inspect of a pre-format directory:\n%s", out)
	}
	_, errs, code := runCmd(t, "merge", dir) // merge opens it as walkerd would
	wantOneLineRefusal(t, "merge", errs, code, "format version 0", "written before format versions")
}

func TestVerify_RefusesADamagedFormatAsDamage(t *testing.T) {
	dir := layoutDir(t, t.TempDir(), keyspace.LayoutVersion)
	os.WriteFile(filepath.Join(dir, "FORMAT"), []byte("WALKERDB garbage"), 0o644)
	_, errs, code := runCmd(t, "verify", dir)
	wantOneLineRefusal(t, "verify", errs, code, "FORMAT", "corruption")
}
