package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/engine/enginetest"
)

func TestHint_RebuildsMissingAndCorruptHints(t *testing.T) {
	dir := makeDir(t)
	os.Remove(filepath.Join(dir, "000000002.hint"))
	os.WriteFile(filepath.Join(dir, "000000003.hint"), []byte("garbage"), 0o644)
	if out := mustRun(t, exitProblems, "verify", dir); !strings.Contains(out, "segment 3 hint: corrupt") {
		t.Fatalf("verify:\n%s", out)
	}
	var res []hintJSON
	if err := json.Unmarshal([]byte(mustRun(t, exitOK, "hint", "--json", dir)), &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != len(enginetest.Segments(t, dir))-1 {
		t.Fatalf("%d hints rebuilt for %d segments", len(res), len(enginetest.Segments(t, dir)))
	}
	for _, h := range res {
		if h.Entries == 0 || h.Error != "" {
			t.Fatalf("hint %+v", h)
		}
	}
	if out := mustRun(t, exitOK, "verify", dir); !strings.Contains(out, "0 errors, 0 warnings: ok") {
		t.Fatalf("verify after hint:\n%s", out)
	}
}

func TestHint_NamesADamagedSegmentAndRebuildsTheOthers(t *testing.T) {
	dir := makeDir(t)
	segs := enginetest.AllRecords(t, dir)
	r := segs[1][enginetest.PlainRecords(segs[1])[1]]
	enginetest.FlipBytes(t, enginetest.Segments(t, dir)[1], r.Off+r.Size-1, r.Off+r.Size)
	os.Remove(filepath.Join(dir, "000000004.hint"))
	out, errs, code := runCmd(t, "hint", dir)
	if code != exitProblems || !strings.Contains(out, "segment 2: not rebuilt") || !strings.Contains(errs, "recover") {
		t.Fatalf("hint: exit %d\n%s\n%s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "000000004.hint")); err != nil {
		t.Fatal("the hint of an undamaged segment was not rebuilt")
	}
}
