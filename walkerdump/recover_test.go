package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/engine/enginetest"
)

// TestRecover_DamagedDirectories damages a directory each way of damages(),
// and checks that verify names the place, that after recover the engine
// opens with exactly the records that were readable before (computed from
// the undamaged records with record.Decode, minus the damaged bytes), that
// the quarantine holds the damaged bytes, that a second recover changes
// nothing, and that verify then passes.
func TestRecover_DamagedDirectories(t *testing.T) {
	for _, dm := range damages() {
		t.Run(dm.name, func(t *testing.T) {
			dir := makeDir(t)
			segs := enginetest.AllRecords(t, dir)
			lost, place := dm.apply(t, dir, segs)
			want := enginetest.Readable(segs, lost)
			if dm.loses && reflect.DeepEqual(want, enginetest.Readable(segs, nil)) {
				t.Fatal("the damage destroyed no key's newest value: the test would not see a lost record invented")
			}
			damaged := enginetest.ReadSegments(t, dir)
			if out := mustRun(t, dm.verifyExit, "verify", dir); !strings.Contains(out, place) {
				t.Fatalf("verify does not name %q:\n%s", place, out)
			}
			if dm.merged {
				_, errs, code := runCmd(t, "export", dir)
				if code != exitError || !strings.Contains(errs, "recover") {
					t.Fatalf("export of a half-merged directory: exit %d, %s", code, errs)
				}
			}

			var rep recoverJSON
			if err := json.Unmarshal([]byte(mustRun(t, exitOK, "recover", "--json", dir)), &rep); err != nil {
				t.Fatal(err)
			}
			if !rep.Changed && dm.verifyExit != exitOK {
				t.Fatalf("recover changed nothing in a damaged directory: %+v", rep)
			}
			var regions []enginetest.SetAside
			for _, s := range rep.Segments {
				for _, a := range s.SetAside {
					regions = append(regions, enginetest.SetAside{Seg: s.ID, Start: a.Start, End: a.End, Tail: a.Tail, File: a.File, Copied: a.Copied})
				}
			}
			enginetest.CheckSetAside(t, dir, damaged, regions, segs, lost)
			if rep.Quarantine != "" {
				if _, err := os.Stat(filepath.Join(dir, rep.Quarantine, "report.txt")); err != nil {
					t.Error(err)
				}
			}

			before := enginetest.Snapshot(t, dir)
			again := mustRun(t, exitOK, "recover", dir)
			if !strings.Contains(again, "nothing to do") {
				t.Errorf("second recover:\n%s", again)
			}
			enginetest.SameSnapshot(t, enginetest.Snapshot(t, dir), before)
			if out := mustRun(t, exitOK, "verify", dir); !strings.Contains(out, "0 errors, 0 warnings: ok") {
				t.Errorf("verify after recover:\n%s", out)
			}

			got := engineContents(t, dir)
			if dm.merged { // the merge dropped the expired keys
				got, want = enginetest.Unexpired(got), enginetest.Unexpired(want)
			}
			enginetest.SameKVs(t, got, want)
		})
	}
}

func TestRecover_RefusesALockedDirectory(t *testing.T) {
	dir := makeDir(t)
	holdLock(t, dir)
	_, errs, code := runCmd(t, "recover", dir)
	if code != exitError || !strings.Contains(errs, "in use") {
		t.Fatalf("recover of a locked directory: exit %d, %s", code, errs)
	}
}
