package chaos

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// A short run end to end: a built walkerd cluster, every workload, three
// nemeses; it must pass and leave its results behind.
func TestRun_ShortPassOverARealCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs walkerd processes")
	}
	bin := harness.Build(t, "../../walkerd")
	out := t.TempDir()
	rep, err := Run(Options{
		Bin: bin, Out: out, Nodes: 3, Duration: 15 * time.Second, Seed: 1,
		Nemeses: []string{"partition-leader", "kill", "pause"}, Workloads: WorkloadNames,
		Quiet: [2]time.Duration{500 * time.Millisecond, time.Second}, Hold: [2]time.Duration{2 * time.Second, 3 * time.Second},
		Logf: t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + rep.Summary())
	if !rep.Valid {
		t.Fatal("the run found violations")
	}
	if rep.OpsTotal < 100 || len(rep.Faults) == 0 || !rep.Converged {
		t.Fatalf("ops %d, faults %v, converged %v: the run did not run", rep.OpsTotal, rep.Faults, rep.Converged)
	}
	for _, f := range []string{"report.json", "summary.txt", "history.jsonl.gz", "faults.jsonl", "nodes/n1.log"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}
