package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// redisServer is a redis-server the test started on a free loopback port.
type redisServer struct {
	Addr string
	Pid  int
}

// startRedis starts redis-server with no persistence and kills it, by its
// pid, when the test ends. It skips the test if redis-server is not
// installed.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not on PATH (Debian: apt-get install redis-server); skipping the tests against a real Redis")
	}
	addr := harness.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(path, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		syscall.Kill(pid, syscall.SIGCONT) // in case a test left it stopped
		syscall.Kill(pid, syscall.SIGKILL)
		cmd.Wait()
	})
	err = harness.WaitFor(10*time.Second, func() error {
		r, err := harness.Do(addr, "PING")
		if err == nil && r != "+PONG\r\n" {
			err = errors.New("PING answered " + strconv.Quote(r))
		}
		return err
	})
	if err != nil {
		t.Fatalf("redis-server on %s: %v\n%s", addr, err, log.String())
	}
	return &redisServer{Addr: addr, Pid: pid}
}

// bench runs walkerbench in process with args and returns what it printed
// on stdout and stderr.
func bench(args ...string) (stdout, stderr string, err error) {
	app := newApp()
	var out, errOut bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errOut
	err = app.Run(append([]string{"walkerbench"}, args...))
	return out.String(), errOut.String(), err
}

// benchJSON runs walkerbench with --json, fails the test on any error, and
// returns the parsed report.
func benchJSON(t *testing.T, args ...string) *Report {
	t.Helper()
	out, errOut, err := bench(append(args, "--json")...)
	if err != nil {
		t.Fatalf("walkerbench %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	var r Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("JSON report does not parse: %v\n%s", err, out)
	}
	return &r
}

// checkClean fails the test unless every result has exactly want requests
// (if want > 0), a reply for each, and no errors.
func checkClean(t *testing.T, r *Report, want int64) {
	t.Helper()
	if len(r.Results) == 0 {
		t.Fatal("no results")
	}
	for _, res := range r.Results {
		name := res.Target + " " + res.Test
		if res.Errors != 0 || len(res.ErrorsByKind) != 0 {
			t.Errorf("%s: %d errors: %v, e.g. %v", name, res.Errors, res.ErrorsByKind, res.ErrorSamples)
		}
		if want > 0 && res.Requests != want {
			t.Errorf("%s: %d requests, want %d", name, res.Requests, want)
		}
		if res.Replies != res.Requests || res.OK != res.Requests {
			t.Errorf("%s: %d requests, %d replies, %d ok", name, res.Requests, res.Replies, res.OK)
		}
		if res.Latency.Count != res.Replies {
			t.Errorf("%s: %d latencies recorded for %d replies", name, res.Latency.Count, res.Replies)
		}
		if res.OpsPerSec <= 0 || res.Latency.P50 <= 0 || res.Latency.Max < res.Latency.P99 {
			t.Errorf("%s: implausible figures: %.0f ops/s, latency %+v", name, res.OpsPerSec, res.Latency)
		}
		if len(res.Notes) > 0 {
			t.Logf("%s: notes: %v", name, res.Notes)
		}
	}
}

// fakeServer is a RESP server whose every reply comes from answer, to
// make a server misbehave on purpose; an empty answer hangs up. It closes
// when the test ends.
func fakeServer(t *testing.T, answer func(args []string) string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveFake(c, answer)
		}
	}()
	return ln.Addr().String()
}

func serveFake(c net.Conn, answer func(args []string) string) {
	defer c.Close()
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	readLine := func() (string, error) {
		l, err := r.ReadString('\n')
		return strings.TrimRight(l, "\r\n"), err
	}
	for {
		l, err := readLine()
		if err != nil || !strings.HasPrefix(l, "*") {
			return
		}
		n, _ := strconv.Atoi(l[1:])
		args := make([]string, n)
		for i := range args {
			l, err := readLine()
			if err != nil {
				return
			}
			size, _ := strconv.Atoi(l[1:])
			b := make([]byte, size+2)
			if _, err := io.ReadFull(r, b); err != nil {
				return
			}
			args[i] = string(b[:size])
		}
		a := answer(args)
		if a == "" { // hang up
			w.Flush()
			return
		}
		w.WriteString(a)
		if r.Buffered() == 0 {
			if w.Flush() != nil {
				return
			}
		}
	}
}
