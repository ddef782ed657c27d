package main_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
	"github.com/walkerdb/walkerdb/internal/resp"
)

// crashKey is what the test knows of one key: the value of its last
// acknowledged write, and the values of writes after it whose outcome is
// unknown (the process was killed while they were in flight).
type crashKey struct {
	acked   string // "" with deleted: no value
	deleted bool
	maybe   []string // "\x00del" for an unknown DEL
}

// A single node is killed with SIGKILL 50 times while four clients write
// (SET with values of a few hundred bytes, DEL, INCR) and while merges and
// snapshots run: segments are 8 KiB, merges start at 20% garbage, raft
// snapshots every 64 entries. After each restart every key must hold its
// last acknowledged value, or the value of a write in flight at the kill.
func TestE2E_CrashLoopKeepsEveryAcknowledgedWrite(t *testing.T) {
	cycles := 50
	b := bin(t)
	args := []string{"--appendfsync", "always", "--segment-size", "8192", "--merge-ratio", "0.2",
		"--snapshot-threshold", "64", "--snapshot-interval", "50ms", "--trailing-logs", "16"}
	// The engine merges automatically only every MergeInterval (10 s) and
	// only past MergeMinBytes (16 MiB) of garbage; walkerd needs flags for
	// both before a crash loop can kill it in the middle of merges.
	help, _ := harness.RunOnce(t, b, "--help")
	mergeFlags := strings.Contains(help, "--merge-interval") && strings.Contains(help, "--merge-min-bytes")
	if mergeFlags {
		args = append(args, "--merge-interval", "100ms", "--merge-min-bytes", "16384")
	}
	n := harness.NewNode(t, b, "crash", args...)
	rng := rand.New(rand.NewPCG(1, 2))
	const writers, keysPer = 4, 40
	state, counters := newCrashState(writers, keysPer)
	var merges, snapshots, midSnapshot int64
	var lastSnap string
	var acked, unknown int
	for cycle := range cycles {
		n.Start()
		if err := n.WaitLeader(20 * time.Second); err != nil {
			t.Fatalf("cycle %d: %v\n%s", cycle, err, n.Log())
		}
		checkAcknowledged(t, n, cycle, state, counters)

		// Write until the kill.
		stop := make(chan struct{})
		wait := startCrashWriters(n.RESP, writers, keysPer, rng, stop, state, counters, &acked, &unknown)
		time.Sleep(time.Duration(150+rng.IntN(500)) * time.Millisecond)
		info := infoMap(n, "persistence")
		merges += atoi(info["engine_merges"])
		if raft := infoMap(n, "raft"); raft["raft_last_snapshot_index"] != lastSnap {
			snapshots++
			lastSnap = raft["raft_last_snapshot_index"]
		}
		if cycle%3 == 0 {
			// Kill in the middle of a snapshot taken on demand.
			go n.Do("SNAPSHOT")
			time.Sleep(time.Duration(rng.IntN(5)) * time.Millisecond)
			midSnapshot++
		}
		n.Kill()
		close(stop)
		wait()
	}
	t.Logf("%d cycles: %d writes acknowledged, %d in flight at a kill; %d merges completed, snapshot index moved in %d cycles, %d kills right after SNAPSHOT",
		cycles, acked, unknown, merges, snapshots, midSnapshot)
	if snapshots < int64(cycles/4) {
		t.Errorf("the snapshot index moved in %d cycles only: the test did not exercise snapshots", snapshots)
	}
	if merges == 0 {
		t.Errorf("no merge completed (walkerd has --merge-interval and --merge-min-bytes: %v): the test did not kill walkerd during merges", mergeFlags)
	}
}

// crashWriter writes to its own keys until the connection fails (the
// kill) or stop. It returns the writes acknowledged and unknown.
func crashWriter(addr string, w, keysPer int, seed uint64, stop chan struct{}, mu *sync.Mutex, state map[string]*crashKey, counters map[string][2]int64) (acked, unknown int) {
	rng := rand.New(rand.NewPCG(seed, uint64(w)))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, 0
	}
	defer c.Close()
	r := bufio.NewReader(c)
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		key := fmt.Sprintf("w%d:k%02d", w, rng.IntN(keysPer))
		ctr := fmt.Sprintf("w%d:ctr", w)
		var args []string
		switch x := rng.IntN(10); {
		case x == 0:
			args = []string{"DEL", key}
		case x == 1:
			args = []string{"INCR", ctr}
		default:
			val := fmt.Sprintf("%d.%d:", w, i) + strings.Repeat("x", 100+rng.IntN(600))
			args = []string{"SET", key, val}
		}
		mu.Lock()
		switch args[0] {
		case "DEL":
			state[key].maybe = append(state[key].maybe, "\x00del")
		case "SET":
			state[key].maybe = append(state[key].maybe, args[2])
		case "INCR":
			x := counters[ctr]
			counters[ctr] = [2]int64{x[0], x[1] + 1}
		}
		mu.Unlock()
		bs := make([][]byte, len(args))
		for j, a := range args {
			bs[j] = []byte(a)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(resp.AppendCommand(nil, bs)); err != nil {
			return acked, unknown + 1
		}
		raw, err := resp.ReadRaw(r)
		if err != nil || resp.IsError(raw) {
			return acked, unknown + 1 // in flight at the kill: left in maybe
		}
		acked++
		mu.Lock()
		switch args[0] {
		case "DEL":
			*state[key] = crashKey{deleted: true}
		case "SET":
			*state[key] = crashKey{acked: args[2]}
		case "INCR":
			x := counters[ctr]
			counters[ctr] = [2]int64{x[0] + 1, x[1] - 1}
		}
		mu.Unlock()
	}
}

func parseBulk(t *testing.T, raw string) (string, bool) {
	t.Helper()
	if raw == "$-1\r\n" {
		return "", true
	}
	if !strings.HasPrefix(raw, "$") {
		t.Fatalf("not a bulk reply: %q", raw)
	}
	_, body, _ := strings.Cut(raw, "\r\n")
	return strings.TrimSuffix(body, "\r\n"), false
}

func infoMap(n *harness.Node, section string) map[string]string {
	raw, _ := n.Do("INFO", section)
	m := map[string]string{}
	for _, line := range strings.Split(raw, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// newCrashState is what a crash test knows of its writers' keys before
// they write: every key absent, every counter at 0 (counters: key ->
// acknowledged INCRs, INCRs in flight).
func newCrashState(writers, keysPer int) (map[string]*crashKey, map[string][2]int64) {
	state := map[string]*crashKey{}
	counters := map[string][2]int64{}
	for w := range writers {
		for k := range keysPer {
			state[fmt.Sprintf("w%d:k%02d", w, k)] = &crashKey{deleted: true}
		}
		counters[fmt.Sprintf("w%d:ctr", w)] = [2]int64{}
	}
	return state, counters
}

// startCrashWriters starts writers crashWriters on addr, which write
// until stop or the kill; wait waits for them, their counts added to
// acked and unknown.
func startCrashWriters(addr string, writers, keysPer int, rng *rand.Rand, stop chan struct{}, state map[string]*crashKey, counters map[string][2]int64, acked, unknown *int) (wait func()) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		seed := rng.Uint64()
		go func() {
			defer wg.Done()
			a, u := crashWriter(addr, w, keysPer, seed, stop, &mu, state, counters)
			mu.Lock()
			*acked += a
			*unknown += u
			mu.Unlock()
		}()
	}
	return wg.Wait
}

// checkAcknowledged checks, after a restart, that every key holds its
// last acknowledged value or the value of a write in flight at the kill,
// and every counter its acknowledged INCRs plus at most those in flight;
// then it takes what it read as acknowledged.
func checkAcknowledged(t *testing.T, n *harness.Node, cycle int, state map[string]*crashKey, counters map[string][2]int64) {
	t.Helper()
	for key, ks := range state {
		got, err := n.Do("GET", key)
		if err != nil {
			t.Fatalf("cycle %d: GET %s: %v", cycle, key, err)
		}
		val, null := parseBulk(t, got)
		ok := (null && ks.deleted) || (!null && !ks.deleted && val == ks.acked)
		for _, m := range ks.maybe {
			ok = ok || (null && m == "\x00del") || (!null && m == val)
		}
		if !ok {
			t.Fatalf("cycle %d: %s = %q (null %v); the last acknowledged write left %q (deleted %v), writes in flight %q\n%s",
				cycle, key, val, null, ks.acked, ks.deleted, ks.maybe, n.Log())
		}
		*ks = crashKey{acked: val, deleted: null}
	}
	for key, c := range counters {
		got, err := n.Do("GET", key)
		if err != nil {
			t.Fatal(err)
		}
		val, _ := parseBulk(t, got)
		v, _ := strconv.ParseInt(val, 10, 64)
		if v < c[0] || v > c[0]+c[1] {
			t.Fatalf("cycle %d: counter %s = %d; want %d acknowledged INCRs plus at most %d in flight\n%s", cycle, key, v, c[0], c[1], n.Log())
		}
		counters[key] = [2]int64{v, 0}
	}
}

// Standalone mode runs its clients' writes on the event loop and answers
// them once the loop's turn has written them to the engine's file (one
// pwrite a turn, engine.Batch.Hold), and with appendfsync always fsynced
// them: killed with SIGKILL 10 times while eight clients write, it keeps
// every write it acknowledged in either mode (a killed process's writes
// are in the page cache).
func TestE2E_StandaloneCrashLoopKeepsEveryAcknowledgedWrite(t *testing.T) {
	for _, mode := range []string{"always", "everysec"} {
		t.Run(mode, func(t *testing.T) { standaloneCrashLoop(t, mode) })
	}
}

func standaloneCrashLoop(t *testing.T, mode string) {
	const cycles, writers, keysPer = 10, 8, 20
	n := harness.NewNode(t, bin(t), "alone", "--standalone", "--appendfsync", mode, "--segment-size", "8192")
	rng := rand.New(rand.NewPCG(3, 4))
	state, counters := newCrashState(writers, keysPer)
	var acked, unknown int
	for cycle := range cycles {
		n.Start()
		if err := n.WaitReady(20 * time.Second); err != nil {
			t.Fatalf("cycle %d: %v\n%s", cycle, err, n.Log())
		}
		checkAcknowledged(t, n, cycle, state, counters)
		before := acked
		stop := make(chan struct{})
		wait := startCrashWriters(n.RESP, writers, keysPer, rng, stop, state, counters, &acked, &unknown)
		time.Sleep(time.Duration(100+rng.IntN(300)) * time.Millisecond)
		n.Kill()
		close(stop)
		wait()
		if acked == before {
			t.Fatalf("cycle %d: no write acknowledged before the kill\n%s", cycle, n.Log())
		}
	}
	t.Logf("%d cycles: %d writes acknowledged, %d in flight at a kill", cycles, acked, unknown)
}
