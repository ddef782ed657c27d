package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
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
			segs := allRecords(t, dir)
			paths := segments(t, dir)
			lost, place := dm.apply(t, dir, segs)
			want := readable(segs, lost)
			if dm.loses && reflect.DeepEqual(want, readable(segs, nil)) {
				t.Fatal("the damage destroyed no key's newest value: the test would not see a lost record invented")
			}
			damaged := map[string][]byte{}
			for _, p := range paths {
				b, _ := os.ReadFile(p)
				damaged[filepath.Base(p)] = b
			}
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
			checkQuarantine(t, dir, &rep, segs, lost, damaged)

			before := snapshotDir(t, dir)
			again := mustRun(t, exitOK, "recover", dir)
			if !strings.Contains(again, "nothing to do") {
				t.Errorf("second recover:\n%s", again)
			}
			sameSnapshot(t, snapshotDir(t, dir), before)
			if out := mustRun(t, exitOK, "verify", dir); !strings.Contains(out, "0 errors, 0 warnings: ok") {
				t.Errorf("verify after recover:\n%s", out)
			}

			got := engineContents(t, dir)
			if dm.merged { // the merge dropped the expired keys
				got, want = unexpired(got), unexpired(want)
			}
			sameKVs(t, got, want)
		})
	}
}

// checkQuarantine checks that every record lost lies in a region recover
// set aside, and that each quarantine file holds the damaged bytes.
func checkQuarantine(t *testing.T, dir string, rep *recoverJSON, segs [][]rawRec, lost func(int, int64, int64) bool, damaged map[string][]byte) {
	t.Helper()
	regions := map[uint32][]setAsideJSON{}
	for _, s := range rep.Segments {
		regions[s.ID] = s.SetAside
		for _, a := range s.SetAside {
			name := segName(s.ID)
			if a.File == "" {
				if !bytes.Equal(damaged[name][a.Start:a.End], make([]byte, a.End-a.Start)) {
					t.Errorf("segment %d [%d, %d) cut without a copy but not all zero", s.ID, a.Start, a.End)
				}
				continue
			}
			got, err := os.ReadFile(filepath.Join(dir, a.File))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, damaged[name][a.Start:a.Start+a.Copied]) {
				t.Errorf("%s does not hold the damaged bytes of segment %d at %d", a.File, s.ID, a.Start)
			}
			if !strings.HasPrefix(a.File, "quarantine/") || !strings.HasSuffix(a.File, "-offset-"+itoa(a.Start)+".bin") {
				t.Errorf("quarantine file name %s", a.File)
			}
		}
	}
	if lost == nil {
		return
	}
	for si, recs := range segs {
		for _, r := range recs {
			if !lost(si, r.off, r.off+r.size) {
				continue
			}
			covered := false
			for _, a := range regions[uint32(si+1)] {
				// A torn tail's record may lie partly beyond the cut file.
				if a.Start <= r.off && (r.off+r.size <= a.End || a.Tail) {
					covered = true
				}
			}
			if !covered {
				t.Errorf("segment %d: lost record at %d (%d bytes) is in no set-aside region", si+1, r.off, r.size)
			}
		}
	}
	if rep.Quarantine != "" {
		if _, err := os.Stat(filepath.Join(dir, rep.Quarantine, "report.txt")); err != nil {
			t.Error(err)
		}
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
