package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// skipOnFatal turns a helper's fatal error into a skip, for a dependency
// that may not be ready (walkerd is being finished in parallel).
type skipOnFatal struct {
	testing.TB
	t *testing.T
}

func (s skipOnFatal) Fatal(args ...any) {
	s.t.Skip("walkerd does not build yet: " + fmt.Sprint(args...))
}
func (s skipOnFatal) Fatalf(format string, args ...any) {
	s.t.Skipf("walkerd does not build yet: "+format, args...)
}

func TestRun_AgainstWalkerdEveryValueChecksOut(t *testing.T) {
	if testing.Short() {
		t.Skip("builds walkerd")
	}
	bin := harness.Build(skipOnFatal{TB: t, t: t}, "../walkerd")
	node := harness.NewNode(t, bin, "bench")
	node.Start()
	// PING answers before the one-node cluster has elected itself.
	c := &harness.Cluster{T: t, Bin: bin, Nodes: []*harness.Node{node}}
	if _, err := c.Leader(15 * time.Second); err != nil {
		t.Fatalf("walkerd never led: %v\n%s", err, node.Log())
	}

	r := benchJSON(t, "run", "--target", "walkerd="+node.RESP, "-t", "set,get,incr,mset,mixed",
		"-n", "2000", "-c", "4", "-P", "8", "-r", "300", "--warmup", "0", "--verify", "1")
	checkClean(t, r, 2000)
	for _, level := range []string{"default", "stale", "consistent"} {
		r := benchJSON(t, "run", "--target", "walkerd="+node.RESP, "-t", "mixed", "--level", level,
			"-n", "1000", "-c", "4", "-P", "4", "-r", "300", "--warmup", "0")
		checkClean(t, r, 1000)
	}
}
