// Command chaos runs WalkerDB's Jepsen-style fault-injection test: it
// starts a walkerd cluster on loopback addresses behind proxies it
// controls, runs workloads against every node while nemeses kill, pause,
// partition and reconfigure it, then heals, waits for the nodes to
// converge and checks the whole history. It exits 1 on any violation.
//
//	go run ./tools/chaos --duration 10m --seed 7 --nodes 5 \
//	    --nemesis kill,partition-leader --workload register,counter --out results
//
// The results folder holds report.json, summary.txt, history.jsonl.gz,
// faults.jsonl, the nodes' logs (nodes/*.log), and on a violation the
// porcupine visualisation of each failing key and the nodes' data.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/walkerdb/walkerdb/internal/chaos"
	"github.com/walkerdb/walkerdb/internal/proc"
)

func main() {
	var (
		duration  = flag.Duration("duration", 2*time.Minute, "how long faults and clients run")
		seed      = flag.Int64("seed", 0, "random seed of the fault schedule and the clients (0: from the clock)")
		nodes     = flag.Int("nodes", 3, "cluster size: 3 or 5")
		nemesis   = flag.String("nemesis", strings.Join(chaos.NemesisNames, ","), "comma-separated nemeses ("+strings.Join(chaos.NemesisNames, ",")+"), or none")
		workload  = flag.String("workload", strings.Join(chaos.WorkloadNames, ","), "comma-separated workloads ("+strings.Join(chaos.WorkloadNames, ",")+")")
		out       = flag.String("out", "chaos-results", "results folder")
		bin       = flag.String("walkerd", "", "walkerd binary (default: build ./walkerd of the workspace)")
		combine   = flag.Float64("combine", 0.3, "chance that a network fault and a process fault run together")
		think     = flag.Duration("think", 10*time.Millisecond, "most a client waits between operations")
		timeout   = flag.Duration("timeout", 3*time.Second, "client deadline per operation; a write that times out is unknown")
		keep      = flag.Bool("keep-data", false, "keep the nodes' data even when the run passes")
		checkTime = flag.Duration("check-timeout", 2*time.Minute, "porcupine's time limit per key")
		groups    = flag.Int("groups", 1, "Raft groups per node (walkerd --groups): the workloads' keys spread over them")
	)
	flag.Parse()
	log.SetFlags(log.Ltime)
	if *nodes != 3 && *nodes != 5 {
		log.Fatalf("--nodes %d: want 3 or 5", *nodes)
	}
	if *seed == 0 {
		*seed = time.Now().UnixNano() % 1_000_000
	}
	if *bin == "" {
		b, err := buildWalkerd()
		if err != nil {
			log.Fatal(err)
		}
		*bin = b
	}
	var kinds []string
	if *nemesis != "none" && *nemesis != "" {
		kinds = strings.Split(*nemesis, ",")
	}
	var nodeArgs []string
	if *groups > 1 {
		// Moves copy one key a batch, so that the migrate nemesis's slots
		// spend longest in the ASK phase (some keys moved, some not).
		nodeArgs = append(append(nodeArgs, chaos.DefaultNodeArgs...), "--groups", fmt.Sprint(*groups), "--migrate-batch", "1")
	}
	rep, err := chaos.Run(chaos.Options{
		Bin: *bin, Out: *out, Nodes: *nodes, Duration: *duration, Seed: *seed, NodeArgs: nodeArgs,
		Nemeses: kinds, Workloads: strings.Split(*workload, ","),
		Think: *think, Timeout: *timeout, Combine: *combine, KeepData: *keep, CheckTimeout: *checkTime,
		Logf: log.Printf,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(rep.Summary())
	if !rep.Valid {
		os.Exit(1)
	}
}

// buildWalkerd builds the workspace's walkerd into a temporary folder.
func buildWalkerd() (string, error) {
	work, err := exec.Command("go", "env", "GOWORK").Output()
	if err != nil || strings.TrimSpace(string(work)) == "" || strings.TrimSpace(string(work)) == "off" {
		return "", fmt.Errorf("no go.work found: pass --walkerd")
	}
	return proc.Build(filepath.Join(filepath.Dir(strings.TrimSpace(string(work))), "walkerd"))
}
