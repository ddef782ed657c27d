package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestEngine_EveryTestInEverySyncModeEndsWithoutErrors(t *testing.T) {
	for _, mode := range []string{"always", "everysec", "no"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			r := benchJSON(t, "engine", "--sync", mode, "--dir", dir, "-t", "put,get,delete,batch,mixed",
				"-n", "1000", "-c", "4", "-r", "500", "--batch-size", "10", "--warmup", "0")
			checkClean(t, r, 1000)
			if len(r.Results) != 5 || r.Mode != "engine" || r.Targets[0].Sync != mode {
				t.Errorf("report: mode %q, targets %+v, %d results", r.Mode, r.Targets, len(r.Results))
			}
			if _, err := os.Stat(filepath.Join(dir, "LOCK")); err != nil {
				t.Errorf("the engine did not run in --dir: %v", err)
			}
		})
	}
}

func TestEngine_SyncModesSideBySideInTemporaryDirectories(t *testing.T) {
	r := benchJSON(t, "engine", "--sync", "no,everysec", "-t", "mixed", "--duration", "300ms", "--warmup", "100ms", "-c", "2", "-r", "1000")
	checkClean(t, r, 0)
	if len(r.Results) != 2 || r.Results[0].Target != "sync=no" || r.Results[1].Target != "sync=everysec" {
		t.Fatalf("results: %+v", r.Results)
	}
	for _, res := range r.Results {
		if _, err := os.Stat(res.Address); !os.IsNotExist(err) {
			t.Errorf("temporary directory %s left behind (%v)", res.Address, err)
		}
	}
}

func TestEngine_OpenLoopKeepsItsRate(t *testing.T) {
	r := benchJSON(t, "engine", "--sync", "no", "-t", "get", "--rate", "5000", "--duration", "1s", "--warmup", "0", "-c", "2", "-r", "1000")
	checkClean(t, r, 0)
	res := r.Results[0]
	if res.Requests < 4750 || res.Requests > 5250 {
		t.Errorf("%d requests in 1 s at 5000/s", res.Requests)
	}
	if res.SendLag == nil {
		t.Error("open loop result has no send lag")
	}
}
