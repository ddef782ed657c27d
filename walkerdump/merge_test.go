package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/engine/enginetest"
)

func TestMerge_CompactsOfflineAndKeepsEveryLiveKey(t *testing.T) {
	dir := makeDir(t)
	want := enginetest.Unexpired(enginetest.Readable(enginetest.AllRecords(t, dir), nil))
	var res mergeResultJSON
	if err := json.Unmarshal([]byte(mustRun(t, exitOK, "merge", "--json", dir)), &res); err != nil {
		t.Fatal(err)
	}
	if res.BytesAfter >= res.BytesBefore || res.SegmentsAfter >= res.SegmentsBefore || res.Keys != len(want) {
		t.Fatalf("merge: %+v (%d live keys)", res, len(want))
	}
	if _, err := os.Stat(filepath.Join(dir, "merge")); !os.IsNotExist(err) {
		t.Fatal("merge directory left behind")
	}
	if out := mustRun(t, exitOK, "verify", dir); !strings.Contains(out, "0 errors, 0 warnings: ok") {
		t.Fatalf("verify after merge:\n%s", out)
	}
	enginetest.SameKVs(t, engineContents(t, dir), want)
}

func TestMerge_RefusesALockedOrDamagedDirectory(t *testing.T) {
	dir := makeDir(t)
	holdLock(t, dir)
	if _, errs, code := runCmd(t, "merge", dir); code != exitError || !strings.Contains(errs, "in use") {
		t.Fatalf("merge of a locked directory: exit %d, %s", code, errs)
	}

	dir = makeDir(t)
	segs := enginetest.AllRecords(t, dir)
	r := segs[1][len(segs[1])-2]
	os.Truncate(enginetest.Segments(t, dir)[1], r.Off+r.Size/2)
	if _, errs, code := runCmd(t, "merge", dir); code != exitError || !strings.Contains(errs, "walkerdump recover") {
		t.Fatalf("merge of a damaged directory: exit %d, %s", code, errs)
	}
	if _, errs, code := runCmd(t, "merge", filepath.Join(dir, "missing")); code != exitError {
		t.Fatalf("merge of a missing directory: exit %d, %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Fatal("merge created the missing directory")
	}
}
