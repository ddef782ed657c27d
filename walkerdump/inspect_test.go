package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/engine/enginetest"
)

func TestInspect_JSONDescribesEverySegmentAndAddsUp(t *testing.T) {
	dir := makeDir(t)
	segs := enginetest.AllRecords(t, dir)
	var out inspectJSON
	if err := json.Unmarshal([]byte(mustRun(t, exitOK, "inspect", "--json", dir)), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Segments) != len(segs) {
		t.Fatalf("%d segments, the directory has %d", len(out.Segments), len(segs))
	}
	var records, bytes, live int64
	for i, s := range out.Segments {
		var n int64
		for _, r := range segs[i] {
			if r.Rec.Kind() != 3 {
				n++
			}
		}
		if s.Records != n {
			t.Errorf("segment %d: %d records, the file has %d puts and deletes", s.ID, s.Records, n)
		}
		if s.LiveBytes+s.DeadBytes != s.Size {
			t.Errorf("segment %d: live %d + dead %d != size %d", s.ID, s.LiveBytes, s.DeadBytes, s.Size)
		}
		if wantHint := map[bool]string{true: "missing", false: "valid"}[s.Active]; s.Hint != wantHint || s.FromHint == s.Active {
			t.Errorf("segment %d: hint %s (loaded from it: %v), want %s", s.ID, s.Hint, s.FromHint, wantHint)
		}
		records += s.Records
		bytes += s.Size
		live += s.LiveBytes
	}
	tot := out.Totals
	if tot.Records != records || tot.Bytes != bytes || tot.LiveBytes != live || tot.GarbageRatio <= 0 || tot.GarbageRatio >= 1 {
		t.Fatalf("totals %+v", tot)
	}
	all := enginetest.Readable(segs, nil)
	if tot.Keys != len(all) || tot.Expired != int64(len(all)-len(enginetest.Unexpired(all))) || tot.Expired == 0 {
		t.Fatalf("%d keys, %d expired; the records hold %d keys, %d expired", tot.Keys, tot.Expired, len(all), len(all)-len(enginetest.Unexpired(all)))
	}
	if out.Merge.State != "none" || len(out.Temps) != 0 || len(out.OrphanHints) != 0 {
		t.Fatalf("clean directory reported with leftovers: %+v", out)
	}
}

func TestInspect_TextNamesTheLeftovers(t *testing.T) {
	dir := makeDir(t)
	os.WriteFile(filepath.Join(dir, "000000002.hint.tmp"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "000000099.hint"), nil, 0o644)
	os.Remove(filepath.Join(dir, "000000003.hint"))
	out := mustRun(t, exitOK, "inspect", dir)
	for _, want := range []string{"garbage ratio", "(active)", "000000002.hint.tmp", "hint file without a segment: 99", "missing"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
}

func TestInspect_RefusesALockedDirectory(t *testing.T) {
	dir := makeDir(t)
	holdLock(t, dir)
	_, errs, code := runCmd(t, "inspect", dir)
	if code != exitError || !strings.Contains(errs, "in use") {
		t.Fatalf("inspect of a locked directory: exit %d, %s", code, errs)
	}
}
