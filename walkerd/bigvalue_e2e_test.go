package main_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// bigSize is Redis's proto-max-bulk-len: the largest value a client may send.
const bigSize = 512 << 20

// bigBlock is the pattern of the big value; byte i of the value is
// bigBlock[i%len] ^ byte(i>>20), so that every MiB differs and a client
// can send and check 512 MB without holding them.
var bigBlock = func() []byte {
	r := rand.New(rand.NewPCG(7, 7))
	b := make([]byte, 1<<20)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}()

func bigChunk(dst []byte, from int) []byte {
	for i := range dst {
		dst[i] = bigBlock[(from+i)%len(bigBlock)] ^ byte((from+i)>>20)
	}
	return dst
}

// setBig sends SET key <the 512 MB value> and returns the reply line.
func setBig(t *testing.T, addr, key string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Minute))
	w := bufio.NewWriterSize(c, 1<<20)
	fmt.Fprintf(w, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n", len(key), key, bigSize)
	buf := make([]byte, 1<<20)
	for off := 0; off < bigSize; off += len(buf) {
		if _, err := w.Write(bigChunk(buf, off)); err != nil {
			t.Fatal(err)
		}
	}
	w.WriteString("\r\n")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return line
}

// getBig runs args (a read of the big value) and checks the reply is the
// whole value; it returns how long the first byte of the reply took.
func getBig(t *testing.T, addr string, args ...string) time.Duration {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Minute))
	cmd := fmt.Sprintf("*%d\r\n", len(args))
	for _, a := range args {
		cmd += fmt.Sprintf("$%d\r\n%s\r\n", len(a), a)
	}
	start := time.Now()
	if _, err := io.WriteString(c, cmd); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReaderSize(c, 1<<20)
	if _, err := r.Peek(1); err != nil {
		t.Fatal(err)
	}
	first := time.Since(start)
	line, err := r.ReadString('\n')
	if err != nil || line != "$"+strconv.Itoa(bigSize)+"\r\n" {
		t.Fatalf("%v: reply begins %q, %v", args, line, err)
	}
	got, want := make([]byte, 1<<20), make([]byte, 1<<20)
	for off := 0; off < bigSize; off += len(got) {
		if _, err := io.ReadFull(r, got); err != nil {
			t.Fatalf("%v: after %d bytes: %v", args, off, err)
		}
		if !bytes.Equal(got, bigChunk(want, off)) {
			t.Fatalf("%v: the value differs in the MiB at %d", args, off)
		}
	}
	if tail, err := r.ReadString('\n'); err != nil || tail != "\r\n" {
		t.Fatalf("%v: reply ends %q, %v", args, tail, err)
	}
	return first
}

// peakRSS is a process's peak resident set (VmHWM), in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// A 512 MB SET, Redis's largest, succeeds on one node and on three with
// every node's peak RSS at most 3x the value, and a GET of it streams out
// whole, on the leader and (stale) on each follower.
//
// It runs with WALKERD_BIG_E2E=1 (make test-big): it moves about 3 GB
// through four processes and takes 1.5 to 3 minutes on a 2-core machine.
// There, with other work loading both cores, Raft's 500 ms heartbeat can
// lapse during the SET through a follower (1 run in 2 with a conformance
// run beside it; none in 2 runs and 2 such SETs by hand without), so it is
// not part of make test. It lost its leader in every run under load while a 256 MB copy
// held up the garbage collector (resp.AppendLarge tells how).
func TestE2E_A512MBValueOnOneNodeAndOnThree(t *testing.T) {
	if os.Getenv("WALKERD_BIG_E2E") == "" {
		t.Skip("set WALKERD_BIG_E2E=1 (make test-big): not yet steady enough for make test")
	}
	b := bin(t)
	const limit = 3 * bigSize

	t.Run("one node", func(t *testing.T) {
		n := harness.NewNode(t, b, "one")
		n.Start()
		if err := n.WaitLeader(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		if got := setBig(t, n.RESP, "big"); got != "+OK\r\n" {
			t.Fatalf("SET of 512 MB: %q", got)
		}
		first := getBig(t, n.RESP, "GET", "big")
		must(t, n, ":"+strconv.Itoa(bigSize)+"\r\n", "STRLEN", "big")
		peak := peakRSS(t, n.Pid())
		t.Logf("one node: peak RSS %d MB (%.2fx the value), GET's first byte after %v", peak>>20, float64(peak)/bigSize, first.Round(time.Millisecond))
		if peak > limit {
			t.Fatalf("peak RSS %d MB, more than 3x the 512 MB value", peak>>20)
		}
		// A restart finds the value (the log's blob, or the engine's record).
		n.Stop()
		n.Start()
		if err := n.WaitLeader(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		must(t, n, ":"+strconv.Itoa(bigSize)+"\r\n", "STRLEN", "big")
	})

	t.Run("three nodes", func(t *testing.T) {
		c := harness.StartCluster(t, b, 3)
		leader, err := c.Leader(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got := setBig(t, leader.RESP, "big"); got != "+OK\r\n" {
			t.Fatalf("SET of 512 MB: %q\n%s", got, c.Logs())
		}
		if l, err := c.Leader(10 * time.Second); err != nil || l != leader {
			t.Fatalf("the leader changed during the SET: %v\n%s", err, c.Logs())
		}
		getBig(t, leader.RESP, "GET", "big")
		for _, f := range c.Followers(leader) {
			if err := harness.WaitFor(60*time.Second, func() error {
				got, err := f.Do("LEVELGET", "big", "stale")
				if err != nil || strings.HasPrefix(got, "$-1") {
					return fmt.Errorf("%s: not there yet: %.20q %v", f.ID, got, err)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			getBig(t, f.RESP, "LEVELGET", "big", "stale")
		}
		for _, n := range c.Nodes {
			peak := peakRSS(t, n.Pid())
			t.Logf("%s: peak RSS %d MB (%.2fx the value)", n.ID, peak>>20, float64(peak)/bigSize)
			if peak > limit {
				t.Errorf("%s: peak RSS %d MB, more than 3x the 512 MB value", n.ID, peak>>20)
			}
		}
		// Through a follower, which forwards the SET to the leader in a
		// log entry a little larger than 512 MB (WALKER.APPLY).
		f := c.Followers(leader)[0]
		if got := setBig(t, f.RESP, "big2"); got != "+OK\r\n" {
			t.Fatalf("SET of 512 MB through a follower: %q\n%s", got, c.Logs())
		}
		for _, n := range c.Nodes {
			if err := harness.WaitFor(60*time.Second, func() error {
				got, err := n.Do("STRLEN", "big2")
				if err != nil || got != ":"+strconv.Itoa(bigSize)+"\r\n" {
					return fmt.Errorf("%s: STRLEN big2 = %q, %v", n.ID, got, err)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		if l, err := c.Leader(10 * time.Second); err != nil || l != leader {
			t.Fatalf("the leader changed: %v\n%s", err, c.Logs())
		}
		// The leader frames the forwarded entry again where it read it
		// (command.Entry.FrameIn), not in a copy.
		for _, n := range c.Nodes {
			peak := peakRSS(t, n.Pid())
			t.Logf("%s: peak RSS %d MB (%.2fx the value) after the SET through %s", n.ID, peak>>20, float64(peak)/bigSize, f.ID)
			if peak > limit {
				t.Errorf("%s: peak RSS %d MB after the SET through a follower, more than 3x the 512 MB value", n.ID, peak>>20)
			}
		}
	})
}
