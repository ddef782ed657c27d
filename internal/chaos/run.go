package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Env is what workloads and checkers share during a run.
type Env struct {
	Cluster      *Cluster
	History      *History
	Seed         int64
	Think        time.Duration // most a client waits between operations
	Timeout      time.Duration // a client's deadline per operation
	CheckTimeout time.Duration // porcupine's per key
	Out          string        // the results folder
	Faults       []*Fault      // set before the checkers run
}

// windows are time intervals on the history's clock.
type windows [][2]int64

func (w windows) contains(t int64) bool {
	for _, x := range w {
		if t >= x[0] && t <= x[1] {
			return true
		}
	}
	return false
}

// leaderWindows are the spans of the faults that cut the leader off from
// the majority (a partition, or a pause of the leader) and that match,
// plus 3 s after each heal (the deposed leader steps down, the cluster
// settles).
func (e *Env) leaderWindows(match func(*Fault) bool) windows {
	var w windows
	for _, f := range e.Faults {
		if f.LeaderCut && f.Err == "" && match(f) {
			end := f.End
			if end < 0 {
				end = e.History.Now()
			}
			w = append(w, [2]int64{f.Start, end + int64(3*time.Second)})
		}
	}
	return w
}

// WorkloadNames lists the workloads by name.
var WorkloadNames = []string{"register", "append", "counter", "collections", "streams"}

// NewWorkload returns a workload by name.
func NewWorkload(name string) (Workload, error) {
	switch name {
	case "register":
		return &Register{}, nil
	case "append":
		return &Append{}, nil
	case "counter":
		return &Counter{}, nil
	case "collections":
		return &Collections{}, nil
	case "streams":
		return &Streams{}, nil
	}
	return nil, fmt.Errorf("unknown workload %q: want some of %s", name, strings.Join(WorkloadNames, ","))
}

// Options configure a run.
type Options struct {
	Bin       string // the walkerd binary
	Out       string // results folder (created)
	Nodes     int    // 3 or 5
	Duration  time.Duration
	Seed      int64
	Nemeses   []string
	Workloads []string
	// NodeArgs are extra walkerd flags. The defaults make snapshots and
	// merges happen within seconds.
	NodeArgs []string
	// Client pacing and deadlines; zero: 10 ms and 3 s.
	Think, Timeout time.Duration
	// Fault schedule; zero: Nemeses' defaults.
	Quiet, Hold [2]time.Duration
	Combine     float64
	// ConvergeTimeout bounds how long the nodes may take to agree once
	// the faults stop. Zero: 60 s.
	ConvergeTimeout time.Duration
	CheckTimeout    time.Duration
	// KeepData keeps the nodes' data directories even when the run passes.
	KeepData bool
	Logf     func(format string, args ...any)
}

// DefaultNodeArgs are the walkerd flags of a chaos run.
var DefaultNodeArgs = []string{
	"--appendfsync", "always",
	"--snapshot-threshold", "400", "--snapshot-interval", "1s", "--trailing-logs", "200",
	"--segment-size", "65536", "--merge-ratio", "0.3",
}

// Report is a run's results.
type Report struct {
	Seed      int64          `json:"seed"`
	Nodes     int            `json:"nodes"`
	Duration  string         `json:"duration"`
	Nemeses   []string       `json:"nemeses"`
	Workloads []string       `json:"workloads"`
	Ops       map[string]int `json:"ops"` // "workload kind outcome" -> count
	OpsTotal  int            `json:"ops_total"`
	// Errors counts the errors clients saw, by outcome and kind.
	Errors    map[string]int `json:"errors"`
	Faults    map[string]int `json:"faults"` // kind -> count injected
	FaultErrs int            `json:"fault_errors"`
	// Convergence: from the moment faults and clients stopped until every
	// node's WALKER.DIGEST agreed.
	Converged   bool   `json:"converged"`
	Convergence string `json:"convergence"`
	// SinceLastHeal is the convergence time counted from the last fault's
	// heal (faults may have ended before the clients stopped).
	SinceLastHeal string `json:"since_last_heal"`
	// CatchUp: per fault kind, how long after each heal every node had
	// applied the leader's commit index ("max", "median", "n").
	CatchUp map[string]string `json:"catch_up"`
	Digest  string            `json:"digest,omitempty"`
	// SnapshotInstalls counts snapshots nodes restored from their leader;
	// Starts counts process starts (from the nodes' logs).
	SnapshotInstalls int       `json:"snapshot_installs"`
	Starts           int       `json:"starts"`
	Verdicts         []Verdict `json:"verdicts"`
	Valid            bool      `json:"valid"`
	Problems         []string  `json:"problems,omitempty"` // harness trouble
	Out              string    `json:"out"`
}

// Run starts a cluster, runs the workloads under the nemeses for
// o.Duration, heals, waits for convergence, runs the checkers, and writes
// the results into o.Out. The error is for a run that could not be made;
// a violation is reported in Report.Valid.
func Run(o Options) (*Report, error) {
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	if o.Think == 0 {
		o.Think = 10 * time.Millisecond
	}
	if o.Timeout == 0 {
		o.Timeout = 3 * time.Second
	}
	if o.ConvergeTimeout == 0 {
		o.ConvergeTimeout = 60 * time.Second
	}
	if o.NodeArgs == nil {
		o.NodeArgs = DefaultNodeArgs
		// Merges run only every --merge-interval past --merge-min-bytes of
		// garbage (10 s and 16 MiB by default): where walkerd has the
		// flags, make them run within a chaos run.
		if help, _ := exec.Command(o.Bin, "--help").CombinedOutput(); strings.Contains(string(help), "--merge-interval") && strings.Contains(string(help), "--merge-min-bytes") {
			o.NodeArgs = append(slices.Clone(o.NodeArgs), "--merge-interval", "500ms", "--merge-min-bytes", "65536")
		}
	}
	if err := ValidateNemeses(o.Nemeses); err != nil {
		return nil, err
	}
	var wls []Workload
	for _, name := range o.Workloads {
		w, err := NewWorkload(name)
		if err != nil {
			return nil, err
		}
		wls = append(wls, w)
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	nodesDir := filepath.Join(o.Out, "nodes")
	os.RemoveAll(nodesDir)
	rep := &Report{Seed: o.Seed, Nodes: o.Nodes, Duration: o.Duration.String(), Nemeses: o.Nemeses, Workloads: o.Workloads,
		Ops: map[string]int{}, Faults: map[string]int{}, Out: o.Out}

	logf("starting %d nodes in %s", o.Nodes, nodesDir)
	c, err := StartCluster(ClusterOptions{Bin: o.Bin, Dir: nodesDir, Nodes: o.Nodes, Args: o.NodeArgs})
	if err != nil {
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	defer c.Close()

	env := &Env{Cluster: c, History: NewHistory(), Seed: o.Seed, Think: o.Think, Timeout: o.Timeout, CheckTimeout: o.CheckTimeout, Out: o.Out}
	ns := &Nemeses{C: c, H: env.History, Rand: rand.New(rand.NewPCG(uint64(o.Seed), 0x6e656d)), Kinds: o.Nemeses,
		Quiet: o.Quiet, Hold: o.Hold, Combine: o.Combine, Logf: logf, removed: map[int]bool{}}

	ctx, cancel := context.WithTimeout(context.Background(), o.Duration)
	defer cancel()
	var waits []func()
	id := 0
	for _, w := range wls {
		var wait func()
		id, wait = runClients(ctx, env, w, id)
		waits = append(waits, wait)
	}
	logf("running %v: workloads %v, nemeses %v, seed %d", o.Duration, o.Workloads, o.Nemeses, o.Seed)
	progress := startProgress(ctx, env, logf)
	ns.Run(ctx)
	<-ctx.Done()
	progress()

	// The faults stop: heal everything; the clients stop with them.
	healAt := time.Now()
	if err := ns.HealAll(); err != nil {
		rep.Problems = append(rep.Problems, "heal: "+err.Error())
	}
	for _, w := range waits {
		w()
	}
	ns.Wait()
	env.Faults = ns.Faults()
	for _, f := range env.Faults {
		rep.Faults[f.Kind]++
		if f.Err != "" {
			rep.FaultErrs++
		}
	}

	logf("faults stopped; waiting for the nodes to converge")
	conv := Verdict{Checker: "convergence: every node's digest agrees after the faults stop", Valid: true, Stats: map[string]any{}}
	if err := c.WaitMembers(o.Nodes, o.ConvergeTimeout); err != nil {
		conv.addViolation("the cluster did not get all %d members back: %v", o.Nodes, err)
	}
	took, digest, err := waitConverged(c, healAt, o.ConvergeTimeout)
	rep.Converged = err == nil
	rep.Convergence = took.Round(time.Millisecond).String()
	rep.Digest = digest
	conv.Stats["seconds"] = took.Seconds()
	// The last heal: the latest fault's end, or the final heal if a fault
	// was still on when the run ended.
	var lastHeal time.Time
	for _, f := range env.Faults {
		if t := env.History.Time(f.End); f.End >= 0 && t.After(lastHeal) {
			lastHeal = t
		}
	}
	if lastHeal.IsZero() || lastHeal.After(healAt) {
		lastHeal = healAt
	}
	rep.SinceLastHeal = (took + healAt.Sub(lastHeal)).Round(time.Millisecond).String()
	rep.CatchUp = catchUpStats(env.Faults)
	conv.Stats["since_last_heal"] = rep.SinceLastHeal
	conv.Stats["catch_up"] = rep.CatchUp
	conv.Checked = len(c.Nodes)
	if err != nil {
		conv.addViolation("no convergence: %v", err)
		conv.Summary = err.Error()
	} else {
		conv.Summary = fmt.Sprintf("all %d nodes agree (%s) %v after the faults stopped", len(c.Nodes), digest, took.Round(time.Millisecond))
	}
	logf("%s", conv.Summary)

	for _, w := range wls {
		if err := w.Final(env); err != nil {
			rep.Problems = append(rep.Problems, w.Name()+": "+err.Error())
		}
	}
	ops := env.History.Ops()
	rep.OpsTotal = len(ops)
	rep.Errors = map[string]int{}
	for _, op := range ops {
		rep.Ops[op.Workload+" "+op.Kind+" "+string(op.Outcome)]++
		if op.Err != "" {
			rep.Errors[string(op.Outcome)+": "+errKind(op.Err)]++
		}
	}
	logf("checking %d operations", len(ops))
	rep.Verdicts = append(rep.Verdicts, conv)
	for _, w := range wls {
		var mine []*Op
		for _, op := range ops {
			if op.Workload == w.Name() {
				mine = append(mine, op)
			}
		}
		rep.Verdicts = append(rep.Verdicts, w.Check(env, mine)...)
	}
	rep.Valid = len(rep.Problems) == 0
	for _, v := range rep.Verdicts {
		if !v.Valid && !v.Informational {
			rep.Valid = false
		}
	}

	c.Close()
	for _, n := range c.Nodes {
		if b, err := os.ReadFile(n.LogPath); err == nil {
			rep.SnapshotInstalls += strings.Count(string(b), "restored snapshot")
			rep.Starts += strings.Count(string(b), "--- start ")
		}
	}
	if err := writeResults(o.Out, rep, ops, env.Faults); err != nil {
		return rep, err
	}
	if rep.Valid && !o.KeepData {
		for _, n := range c.Nodes {
			os.RemoveAll(n.Dir)
		}
	}
	return rep, nil
}

// startProgress logs the operation counts every 10 s; the returned func
// stops it.
func startProgress(ctx context.Context, env *Env, logf func(string, ...any)) func() {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				counts := map[Outcome]int{}
				for _, o := range env.History.Ops() {
					counts[o.Outcome]++
				}
				logf("%7.2fs ops: %d ok, %d fail, %d unknown", float64(env.History.Now())/1e9, counts[OK], counts[Fail], counts[Unknown])
			}
		}
	}()
	return wg.Wait
}

// waitConverged polls every node's digest until all agree twice in a row
// and returns the time from since to the first of those two polls.
func waitConverged(c *Cluster, since time.Time, timeout time.Duration) (time.Duration, string, error) {
	deadline := since.Add(timeout)
	var agreedAt time.Time
	var last string
	for {
		ds := make([]string, len(c.Nodes))
		errs := make([]error, len(c.Nodes))
		var wg sync.WaitGroup
		for i, n := range c.Nodes {
			wg.Add(1)
			go func() { defer wg.Done(); ds[i], errs[i] = n.Digest(2 * time.Second) }()
		}
		wg.Wait()
		now := time.Now()
		agree := errors.Join(errs...) == nil
		for _, d := range ds[1:] {
			agree = agree && d == ds[0]
		}
		switch {
		case agree && !agreedAt.IsZero() && ds[0] == last:
			return agreedAt.Sub(since), last, nil
		case agree:
			agreedAt, last = now, ds[0]
		default:
			agreedAt = time.Time{}
		}
		if now.After(deadline) {
			var b strings.Builder
			for i, n := range c.Nodes {
				fmt.Fprintf(&b, " %s=%q", n.ID, ds[i])
				if errs[i] != nil {
					fmt.Fprintf(&b, " (%v)", errs[i])
				}
			}
			return now.Sub(since), "", fmt.Errorf("digests still differ after %v:%s", timeout, b.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func writeResults(out string, rep *Report, ops []*Op, faults []*Fault) error {
	if err := WriteJSONL(filepath.Join(out, "history.jsonl.gz"), ops); err != nil {
		return err
	}
	if err := WriteJSONL(filepath.Join(out, "faults.jsonl"), faults); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "report.json"), b, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "summary.txt"), []byte(rep.Summary()), 0o644)
}

// Summary is the report as text.
func (r *Report) Summary() string {
	var b strings.Builder
	verdict := "PASS"
	if !r.Valid {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "chaos run: %s  (seed %d, %d nodes, %s)\n", verdict, r.Seed, r.Nodes, r.Duration)
	fmt.Fprintf(&b, "workloads %v, nemeses %v\n", r.Workloads, r.Nemeses)
	fmt.Fprintf(&b, "operations: %d\n", r.OpsTotal)
	keys := make([]string, 0, len(r.Ops))
	for k := range r.Ops {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-36s %d\n", k, r.Ops[k])
	}
	fmt.Fprintf(&b, "errors seen by clients:\n")
	keys = keys[:0]
	for k := range r.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-36s %d\n", k, r.Errors[k])
	}
	fmt.Fprintf(&b, "faults injected (%d failed to inject):\n", r.FaultErrs)
	keys = keys[:0]
	for k := range r.Faults {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-20s %d\n", k, r.Faults[k])
	}
	fmt.Fprintf(&b, "process starts %d, snapshots installed from a leader %d\n", r.Starts, r.SnapshotInstalls)
	fmt.Fprintf(&b, "convergence: %v in %s after the clients stopped (%s after the last heal)\n", r.Converged, r.Convergence, r.SinceLastHeal)
	keys = keys[:0]
	for k := range r.CatchUp {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  catch-up after %-18s %s\n", k, r.CatchUp[k])
	}
	for _, v := range r.Verdicts {
		mark := "ok  "
		switch {
		case !v.Valid && v.Informational:
			mark = "info"
		case !v.Valid:
			mark = "FAIL"
		case v.Informational:
			mark = "info"
		}
		fmt.Fprintf(&b, "[%s] %s: %s\n", mark, v.Checker, v.Summary)
		for _, x := range v.Violations {
			fmt.Fprintf(&b, "       %s\n", strings.ReplaceAll(x, "\n", "\n       "))
		}
		for _, f := range v.Files {
			fmt.Fprintf(&b, "       see %s\n", f)
		}
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "problem: %s\n", p)
	}
	fmt.Fprintf(&b, "results in %s\n", r.Out)
	return b.String()
}

// catchUpStats summarises Fault.CatchUp per kind.
func catchUpStats(faults []*Fault) map[string]string {
	by := map[string][]time.Duration{}
	missed := map[string]int{}
	for _, f := range faults {
		switch {
		case f.CatchUp > 0:
			by[f.Kind] = append(by[f.Kind], f.CatchUp)
		case f.CatchUp < 0:
			missed[f.Kind]++
		}
	}
	out := map[string]string{}
	for k, ds := range by {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		out[k] = fmt.Sprintf("median %v, max %v (n=%d)", ds[len(ds)/2].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond), len(ds))
	}
	for k, n := range missed {
		out[k] += fmt.Sprintf("; %d not caught up within a minute", n)
	}
	return out
}

// errKind names an error for counting: the error reply's first word, or
// the kind of network failure.
func errKind(e string) string {
	switch {
	case strings.Contains(e, "i/o timeout"):
		return "timeout"
	case strings.Contains(e, "connection refused"):
		return "connection refused"
	case strings.Contains(e, "connection reset"), strings.Contains(e, "broken pipe"), strings.HasSuffix(e, "EOF"):
		return "connection lost"
	case strings.HasPrefix(e, "not sent"):
		return "not sent"
	case strings.HasPrefix(e, "ERR inside EXEC: "):
		return "EXEC: " + errPrefix(strings.TrimPrefix(e, "ERR inside EXEC: "))
	case strings.HasPrefix(e, "ERR "), strings.HasPrefix(e, "unexpected reply"):
		if len(e) > 60 {
			e = e[:60]
		}
		return e
	}
	return errPrefix(e)
}
