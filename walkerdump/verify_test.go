package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/engine/enginetest"
)

func TestVerify_CleanDirectoryPasses(t *testing.T) {
	dir := makeDir(t)
	out := mustRun(t, exitOK, "verify", dir)
	if !strings.Contains(out, "0 errors, 0 warnings: ok") {
		t.Fatalf("verify of a clean directory:\n%s", out)
	}
	var v verifyJSON
	if err := json.Unmarshal([]byte(mustRun(t, exitOK, "verify", "--json", dir)), &v); err != nil {
		t.Fatal(err)
	}
	if !v.OK || v.Segments < 6 || v.Records == 0 || len(v.Problems) != 0 {
		t.Fatalf("verify --json: %+v", v)
	}
}

func TestVerify_NamesEachDamagedPlace(t *testing.T) {
	for _, dm := range damages() {
		t.Run(dm.name, func(t *testing.T) {
			dir := makeDir(t)
			_, place := dm.apply(t, dir, enginetest.AllRecords(t, dir))
			out := mustRun(t, dm.verifyExit, "verify", dir)
			if !strings.Contains(out, place) {
				t.Fatalf("verify does not name %q:\n%s", place, out)
			}
			var v verifyJSON
			if err := json.Unmarshal([]byte(mustRun(t, dm.verifyExit, "verify", "--json", dir)), &v); err != nil {
				t.Fatal(err)
			}
			if v.OK != (dm.verifyExit == exitOK) || len(v.Problems) == 0 {
				t.Fatalf("verify --json: ok %v, problems %v", v.OK, v.Problems)
			}
		})
	}
}
