package engine_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine"
)

// The kill -9 test. A child process (internal/crashchild) writes with
// SyncAlways from several goroutines and merges in a loop, printing every
// write it starts and every write that returned nil. The parent kills it
// with SIGKILL, reopens the directory and checks it against the
// acknowledged writes, cycle after cycle on the same directory.
const (
	crashSeed      = 20261121 // WALKER_CRASH_SEED overrides it
	crashCycles    = 20
	crashSegSize   = 64 << 10
	crashMinAcks   = 20 // acknowledged writes a cycle waits for before it kills
	crashCycleWait = 30 * time.Second
)

// Kill moments, taken in turn by the cycles.
const (
	killAnytime  = iota // a random moment 50 to 400 ms after the start
	killAtMerge         // the next merge-start after that moment
	killAtBatch         // the next batch-start after that moment
	killAtCommit        // just after a merge's commit point (merge/DONE) appears
	killModes
)

var killModeNames = [killModes]string{"anytime", "at merge", "at batch", "at commit"}

func TestCrash_AcknowledgedWritesSurviveKill9(t *testing.T) {
	seed := uint64(crashSeed)
	if s := os.Getenv("WALKER_CRASH_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("WALKER_CRASH_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (set WALKER_CRASH_SEED to replay another)", seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	bin := buildCrashChild(t)
	dir := t.TempDir()
	m := &crashModel{keys: map[string]keyState{}, batches: map[string]*batchState{}}
	var st crashStats
	for c := range crashCycles {
		runCrashCycle(t, bin, dir, c, c%killModes, rng, m, &st)
		if t.Failed() {
			return
		}
	}
	t.Logf("%d cycles, %d kills by mode %v", crashCycles, crashCycles, st.byMode)
	t.Logf("kills during Merge: %d (merge/ on disk at %d of them, merge/DONE at %d, with its install begun at %d)",
		st.duringMerge, st.mergeDir, st.mergeDone, st.mergeInstalling)
	t.Logf("kills with a batch in flight: %d; batches in flight found written whole %d, not written %d; batch deletes in flight found done %d, not done %d",
		st.batchInFlightKills, st.batchLanded, st.batchLost, st.unbatchLanded, st.unbatchLost)
	present := 0
	for _, b := range m.batches {
		if b.present {
			present++
		}
	}
	t.Logf("single writes in flight at the kill: %d landed, %d not; %d keys and %d batches (%d on disk) checked at the end",
		st.singleLanded, st.singleLost, len(m.keys), len(m.batches), present)
}

// buildCrashChild builds internal/crashchild into a temporary directory,
// with the race detector when this test binary has it: the build then reuses
// the packages compiled for the test, and the child reports its own races.
func buildCrashChild(t *testing.T) string {
	t.Helper()
	pkg := "internal/crashchild" // go test runs in the package's directory
	if _, file, _, ok := runtime.Caller(0); ok {
		if d := filepath.Join(filepath.Dir(file), "internal", "crashchild"); isDir(d) {
			pkg = d
		}
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	out := filepath.Join(t.TempDir(), "crashchild")
	args := []string{"build", "-o", out}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" && s.Value == "true" {
				args = append(args, "-race")
			}
		}
	}
	cmd := exec.Command(goBin, append(args, ".")...)
	cmd.Dir = pkg
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// keyState is a single key's value, or its absence.
type keyState struct {
	val     string
	present bool
}

func (s keyState) String() string {
	if !s.present {
		return "absent"
	}
	v := s.val
	if len(v) > 40 {
		v = v[:40] + "..."
	}
	return strconv.Quote(v)
}

// batchState is a batch's fate: on disk whole (present) or not at all.
type batchState struct {
	n       int
	present bool // as acknowledged, or as found after the kill that cut its write short
	pending bool // a write is in flight: the batch's puts (!present) or its deletes (present)
}

// crashModel is what the directory must hold: every acknowledged write,
// and every unacknowledged one as it was found after its kill.
type crashModel struct {
	keys    map[string]keyState
	batches map[string]*batchState
}

type crashStats struct {
	byMode             [killModes]int
	duringMerge        int
	mergeDir           int
	mergeDone          int
	mergeInstalling    int
	batchInFlightKills int
	batchLanded        int
	batchLost          int
	unbatchLanded      int
	unbatchLost        int
	singleLanded       int
	singleLost         int
	lastMerge          time.Duration // carried from cycle to cycle
}

// cycleLog follows one child's output.
type cycleLog struct {
	m            *crashModel
	ready        bool
	acks         int
	pending      map[string]keyState // key -> the write in flight
	inFlight     map[string]int      // batch id -> size, started, not acknowledged
	mergeRunning bool
	merges       int
	mergeStart   time.Time
	lastMerge    time.Duration // how long the last merge took, as seen from here
}

func (l *cycleLog) apply(line string) error {
	f := strings.Fields(line)
	if len(f) == 0 {
		return fmt.Errorf("empty line")
	}
	want := map[string]int{"ready": 1, "try-put": 3, "put": 3, "try-del": 2, "del": 2,
		"batch-start": 3, "batch": 3, "unbatch-start": 3, "unbatch": 3, "merge-start": 1, "merge-done": 1}
	if n, ok := want[f[0]]; !ok || len(f) != n {
		return fmt.Errorf("child: %s", line)
	}
	switch f[0] {
	case "ready":
		l.ready = true
	case "try-put":
		l.pending[f[1]] = keyState{f[2], true}
	case "try-del":
		l.pending[f[1]] = keyState{}
	case "put", "del":
		s := keyState{}
		if f[0] == "put" {
			s = keyState{f[2], true}
		}
		if p, ok := l.pending[f[1]]; !ok || p != s {
			return fmt.Errorf("acknowledgement %q does not follow its try line", line)
		}
		delete(l.pending, f[1])
		l.m.keys[f[1]] = s
		l.acks++
	case "batch-start", "batch", "unbatch-start", "unbatch":
		id := f[1]
		n, err := strconv.Atoi(f[2])
		if err != nil {
			return fmt.Errorf("line %q: %v", line, err)
		}
		b := l.m.batches[id]
		if f[0] == "batch-start" {
			if b != nil {
				return fmt.Errorf("batch %s started twice", id)
			}
			l.m.batches[id] = &batchState{n: n, pending: true}
			l.inFlight[id] = n
			return nil
		}
		// The rest follow a batch written (and acknowledged, for unbatch-start).
		put := f[0] == "batch"
		if b == nil || b.n != n || b.present != !put || b.pending != (f[0] != "unbatch-start") {
			return fmt.Errorf("line %q out of order", line)
		}
		if f[0] == "unbatch-start" {
			b.pending = true
			l.inFlight[id] = n
			return nil
		}
		b.present, b.pending = put, false
		delete(l.inFlight, id)
		l.acks++
	case "merge-start":
		l.mergeRunning = true
		l.merges++
		l.mergeStart = time.Now()
	case "merge-done":
		l.mergeRunning = false
		l.lastMerge = time.Since(l.mergeStart)
	}
	return nil
}

// child is one run of the crash child, killed on cleanup if the test ends
// first.
type child struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	lines  chan string
	mu     sync.Mutex
	waited bool
}

func startChild(t *testing.T, bin string, args ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(bin, args...), lines: make(chan string, 4096)}
	c.cmd.Stderr = &c.stderr
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.kill() })
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	return c
}

// kill sends SIGKILL to the child's own pid and reaps it; it returns how
// the child ended. Safe to call more than once.
func (c *child) kill() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.waited {
		return nil
	}
	c.cmd.Process.Kill()
	for range c.lines { // let the reader reach EOF before Wait closes the pipe
	}
	c.waited = true
	return c.cmd.Wait()
}

func runCrashCycle(t *testing.T, bin, dir string, cycle, mode int, rng *rand.Rand, m *crashModel, st *crashStats) {
	t.Helper()
	killAfter := 50*time.Millisecond + time.Duration(rng.Int64N(int64(350*time.Millisecond)))
	// At a merge, the kill waits this fraction of the last merge's length,
	// so that it lands anywhere from its first step to its install; at a
	// commit point, this fraction of 2 ms.
	frac := rng.Float64()
	childSeed := rng.Uint64()
	var delay time.Duration
	done := filepath.Join(dir, "merge", "DONE")
	var poll <-chan time.Time // ticks while killAtCommit watches for DONE
	var tick *time.Ticker
	defer func() {
		if tick != nil {
			tick.Stop()
		}
	}()
	pollFrom := 0 // merges started when the watch began

	l := &cycleLog{m: m, pending: map[string]keyState{}, inFlight: map[string]int{}, lastMerge: st.lastMerge}
	defer func() { st.lastMerge = l.lastMerge }()
	start := time.Now()
	// Odd cycles zero the active segment ahead of the writes
	// (Options.ZeroAhead): a kill may land in a chunk of zeros, and the
	// next cycle reopens a segment that one zeroed, or not.
	c := startChild(t, bin, "-dir", dir, "-cycle", strconv.Itoa(cycle), "-seed", strconv.FormatUint(childSeed, 10),
		"-segsize", strconv.Itoa(crashSegSize), "-zeroahead="+strconv.FormatBool(cycle%2 == 1))
	deadline := time.NewTimer(crashCycleWait)
	defer deadline.Stop()
	arm := time.NewTimer(killAfter)
	defer arm.Stop()
	armed := false
	var killAt time.Time // zero until the kill moment is chosen
	var killTimer <-chan time.Time
	trigger := func(line string) {
		if !killAt.IsZero() || !armed || l.acks < crashMinAcks {
			return
		}
		switch {
		case mode == killAnytime,
			mode == killAtBatch && strings.HasPrefix(line, "batch-start "):
			killAt = time.Now()
			killTimer = time.After(0)
		case mode == killAtMerge && line == "merge-start":
			delay = time.Duration(frac * 1.2 * float64(l.lastMerge))
			killAt = time.Now().Add(delay)
			killTimer = time.After(delay)
		case mode == killAtCommit && tick == nil && line == "merge-start":
			tick = time.NewTicker(100 * time.Microsecond)
			poll, pollFrom = tick.C, l.merges
		case mode == killAtCommit && tick != nil && l.merges > pollFrom+3:
			// Three merges went by and no DONE was seen (renamed, or
			// too quick for the poll): kill now rather than never.
			t.Logf("cycle %d: no merge/DONE seen in three merges", cycle)
			killAt = time.Now()
			killTimer = time.After(0)
		}
	}
wait:
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				err := c.kill()
				t.Fatalf("cycle %d: the child ended by itself before the kill (%v); stderr:\n%s", cycle, err, c.stderr.String())
			}
			if err := l.apply(line); err != nil {
				c.kill()
				t.Fatalf("cycle %d: %v; stderr:\n%s", cycle, err, c.stderr.String())
			}
			trigger(line)
		case <-arm.C:
			armed = true
			trigger("")
		case <-poll:
			if _, err := os.Stat(done); err == nil && killAt.IsZero() {
				delay = time.Duration(frac * float64(2*time.Millisecond))
				killAt = time.Now().Add(delay)
				killTimer = time.After(delay)
				poll = nil
			}
		case <-killTimer:
			break wait
		case <-deadline.C:
			c.kill()
			t.Fatalf("cycle %d: no kill moment after %v: ready %v, %d acknowledged, %d merges started",
				cycle, crashCycleWait, l.ready, l.acks, l.merges)
		}
	}
	elapsed := time.Since(start)
	c.mu.Lock()
	c.cmd.Process.Kill()
	var tail []string
	for line := range c.lines { // written before the kill: these count too
		tail = append(tail, line)
	}
	err := c.cmd.Wait()
	c.waited = true
	c.mu.Unlock()
	for _, line := range tail {
		if err := l.apply(line); err != nil {
			t.Fatalf("cycle %d: %v; stderr:\n%s", cycle, err, c.stderr.String())
		}
	}
	if strings.Contains(c.stderr.String(), "DATA RACE") {
		t.Fatalf("cycle %d: the child found a data race:\n%s", cycle, c.stderr.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("cycle %d: the child ended with %v, not by our SIGKILL; stderr:\n%s", cycle, err, c.stderr.String())
	}

	st.byMode[mode]++
	mergeDir := isDir(filepath.Join(dir, "merge"))
	_, doneErr := os.Stat(done)
	installing := installStarted(dir)
	if installing {
		st.mergeInstalling++
	}
	if l.mergeRunning {
		st.duringMerge++
	}
	if mergeDir {
		st.mergeDir++
	}
	if doneErr == nil {
		st.mergeDone++
	}
	if len(l.inFlight) > 0 {
		st.batchInFlightKills++
	}
	t.Logf("cycle %2d: %-8s kill at %4dms (chosen %3dms, +%v): %4d acked, %2d merges (running %v, merge/ %v, DONE %v, installing %v), %d batches and %d writes in flight",
		cycle, killModeNames[mode], elapsed.Milliseconds(), killAfter.Milliseconds(), delay.Round(100*time.Microsecond), l.acks, l.merges,
		l.mergeRunning, mergeDir, doneErr == nil, installing, len(l.inFlight), len(l.pending))

	checkAfterKill(t, dir, cycle, l, st)
}

// installStarted reports whether a merge was killed after its commit
// point and part way through moving its outputs into place: merge/DONE
// names the input and output segment ids (see merge.go), and some output
// has left merge/ or some input without an output is gone.
func installStarted(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "merge", "DONE"))
	if err != nil {
		return false
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 2 {
		return false
	}
	outputs := map[string]bool{}
	for _, id := range strings.Fields(lines[1])[1:] {
		outputs[id] = true
	}
	for _, id := range strings.Fields(lines[0])[1:] {
		n, err := strconv.Atoi(id)
		if err != nil {
			return false
		}
		name := fmt.Sprintf("%09d.seg", n)
		if outputs[id] && !exists(filepath.Join(dir, "merge", name)) || !outputs[id] && !exists(filepath.Join(dir, name)) {
			return true
		}
	}
	return false
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// checkAfterKill opens the directory as the next run would and compares it
// with the model, then folds what it found of the unacknowledged writes
// into the model.
func checkAfterKill(t *testing.T, dir string, cycle int, l *cycleLog, st *crashStats) {
	t.Helper()
	m := l.m
	db, err := engine.Open(dir, &engine.Options{Sync: engine.SyncAlways, SegmentSize: crashSegSize})
	if err != nil {
		t.Fatalf("cycle %d: Open after kill -9: %v", cycle, err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			t.Errorf("cycle %d: Close: %v", cycle, err)
		}
	}()
	var errs []string
	report := func(format string, args ...any) {
		if len(errs) < 20 {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
	}

	// Single keys: all of them through Scan, and each through Get.
	items, _, err := db.Scan(engine.ScanOptions{Prefix: []byte("p/")})
	if err != nil {
		t.Fatalf("cycle %d: Scan p/: %v", cycle, err)
	}
	seen := make(map[string]string, len(items))
	for _, kv := range items {
		seen[string(kv.Key)] = string(kv.Value)
	}
	for k, v := range seen {
		if _, known := m.keys[k]; !known {
			if _, p := l.pending[k]; !p {
				report("key %q = %q is on disk but was never written", k, v)
			}
		}
	}
	check := func(k string) {
		want := m.keys[k] // absent if never acknowledged
		var got keyState
		if v, ok := seen[k]; ok {
			got = keyState{v, true}
		}
		v, err := db.Get([]byte(k))
		switch {
		case err == nil && (!got.present || string(v) != got.val),
			errors.Is(err, engine.ErrNotFound) && got.present,
			err != nil && !errors.Is(err, engine.ErrNotFound):
			report("key %q: Get = %q, %v but Scan found %v", k, v, err, got)
		}
		p, inFlight := l.pending[k]
		switch {
		case got == want:
			if inFlight && p != want {
				st.singleLost++
			}
		case inFlight && got == p:
			st.singleLanded++
		default:
			msg := fmt.Sprintf("key %q: found %v, want %v (acknowledged)", k, got, want)
			if inFlight {
				msg += fmt.Sprintf(" or %v (in flight)", p)
			}
			report("%s", msg)
		}
		m.keys[k] = got
	}
	for k := range m.keys {
		if _, p := l.pending[k]; !p {
			check(k)
		}
	}
	for k := range l.pending {
		check(k)
	}

	// Batches: every batch found is whole, every acknowledged one is found.
	items, _, err = db.Scan(engine.ScanOptions{Prefix: []byte("b/")})
	if err != nil {
		t.Fatalf("cycle %d: Scan b/: %v", cycle, err)
	}
	groups := map[string][]engine.KV{}
	for _, kv := range items {
		id, _, ok := strings.Cut(strings.TrimPrefix(string(kv.Key), "b/"), "/")
		if !ok {
			report("batch key %q: malformed", kv.Key)
			continue
		}
		groups[id] = append(groups[id], kv)
	}
	for id, kvs := range groups {
		b := m.batches[id]
		if b == nil {
			report("batch %s is on disk but was never started", id)
			continue
		}
		if err := wholeBatch(id, b.n, kvs); err != nil {
			report("batch %s: %v", id, err)
		}
	}
	for id, b := range m.batches {
		_, found := groups[id]
		switch {
		case found == b.present:
			if b.pending && b.present {
				st.unbatchLost++
			} else if b.pending {
				st.batchLost++
			}
		case b.pending:
			if b.present {
				st.unbatchLanded++
			} else {
				st.batchLanded++
			}
		case found:
			report("batch %s (%d keys) is on disk, but its delete was acknowledged or it was absent after an earlier kill", id, b.n)
		default:
			report("batch %s (%d keys) is missing, but it was acknowledged or on disk after an earlier kill", id, b.n)
		}
		b.present, b.pending = found, false
	}
	if len(errs) > 0 {
		t.Fatalf("cycle %d: after kill -9 the data directory disagrees with the acknowledged writes:\n  %s",
			cycle, strings.Join(errs, "\n  "))
	}
}

// wholeBatch checks that kvs are all n members of batch id, each value
// naming the batch, its size and the member's index.
func wholeBatch(id string, n int, kvs []engine.KV) error {
	if len(kvs) != n {
		return fmt.Errorf("partial: %d of %d keys on disk", len(kvs), n)
	}
	idx := make([]int, 0, n)
	for _, kv := range kvs {
		f := strings.SplitN(string(kv.Value), ":", 4)
		if len(f) != 4 || f[0] != id || f[1] != strconv.Itoa(n) {
			return fmt.Errorf("key %q: value %.40q does not belong to a batch of %d", kv.Key, kv.Value, n)
		}
		i, err := strconv.Atoi(f[2])
		if err != nil || string(kv.Key) != fmt.Sprintf("b/%s/%02d", id, i) {
			return fmt.Errorf("key %q: value %.40q names another member", kv.Key, kv.Value)
		}
		idx = append(idx, i)
	}
	slices.Sort(idx)
	for i, x := range idx {
		if x != i {
			return fmt.Errorf("members %v, want 0 to %d", idx, n-1)
		}
	}
	return nil
}

// A kill in the middle of a batch leaves a prefix of its bytes in the
// active segment, followed by the preallocated zeros (or, had the file been
// trimmed, by nothing). At every such cut, Open must succeed, show none of
// the batch, keep what came before, not recover the batch's seq, and
// accept new writes that a later Open finds.
func TestCrash_TornBatchAtEveryByteIsAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	opts := &engine.Options{SegmentSize: 64 << 10, Sync: engine.SyncNo}
	db, err := engine.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	var b engine.Batch
	b.Put([]byte("before"), []byte("v"))
	b.Put([]byte("doomed"), []byte("d"))
	b.SetSeq(5)
	if err := db.Write(&b); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) != 1 {
		t.Fatalf("segments %v, want one", segs)
	}
	seg := segs[0]
	before, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}

	db, err = engine.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	b.Put([]byte("b1"), []byte("one"))
	b.Put([]byte("b\x00\r\n2"), bytes.Repeat([]byte{0}, 40)) // zeros like the tail
	b.Delete([]byte("doomed"))
	b.Put([]byte("before"), []byte("overwritten"))
	b.SetSeq(9)
	if err := db.Write(&b); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	full, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(full, before) || len(full) <= len(before) {
		t.Fatalf("the batch did not append to the segment (%d then %d bytes)", len(before), len(full))
	}

	expect := func(db *engine.DB, what string, want map[string]string, seq uint64) {
		t.Helper()
		for _, k := range []string{"before", "doomed", "b1", "b\x00\r\n2", "after"} {
			v, err := db.Get([]byte(k))
			w, ok := want[k]
			if ok && (err != nil || string(v) != w) || !ok && !errors.Is(err, engine.ErrNotFound) {
				t.Fatalf("%s: Get(%q) = %q, %v; want %q (present %v)", what, k, v, err, w, ok)
			}
		}
		if db.Seq() != seq {
			t.Fatalf("%s: Seq = %d, want %d", what, db.Seq(), seq)
		}
	}
	old := map[string]string{"before": "v", "doomed": "d"}
	for cut := len(before); cut <= len(full); cut++ {
		for _, zeros := range []bool{false, true} {
			what := fmt.Sprintf("batch cut after %d of %d bytes (zero tail %v)", cut-len(before), len(full)-len(before), zeros)
			data := slices.Clone(full[:cut])
			if zeros {
				data = append(data, make([]byte, 64<<10-len(data))...)
			}
			if err := os.WriteFile(seg, data, 0o644); err != nil {
				t.Fatal(err)
			}
			db, err := engine.Open(dir, opts)
			if err != nil {
				t.Fatalf("%s: Open: %v", what, err)
			}
			want, seq := maps.Clone(old), uint64(5)
			// With a zero tail, a cut in zero bytes at the very end (the
			// high bytes of the commit's count) leaves the batch whole.
			if bytes.HasPrefix(data, full) {
				want, seq = map[string]string{"before": "overwritten", "b1": "one", "b\x00\r\n2": string(make([]byte, 40))}, 9
			}
			expect(db, what, want, seq)
			if err := db.Put([]byte("after"), []byte("a")); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			want["after"] = "a"
			if db, err = engine.Open(dir, opts); err != nil {
				t.Fatalf("%s, then a write: Open: %v", what, err)
			}
			expect(db, what+", then a write", want, seq)
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
