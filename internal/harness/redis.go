package harness

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/proc"
	"github.com/walkerdb/walkerdb/internal/resp"
)

// StartRedis starts a real redis-server (no persistence) on a free
// loopback port for the test and returns its address and pid; it is
// killed by that pid when the test ends. The test is skipped when
// redis-server is not installed (.ci/run installs it).
func StartRedis(t testing.TB) (addr string, pid int) {
	t.Helper()
	return startRedis(t)
}

// StartRedisCluster is StartRedis for a Redis Cluster of one node that
// owns every hash slot (cluster-enabled yes, CLUSTER ADDSLOTSRANGE 0
// 16383): the reference for walkerd's --cluster-mode replies. It returns
// once CLUSTER INFO says cluster_state:ok.
func StartRedisCluster(t testing.TB) (addr string, pid int) {
	t.Helper()
	addr, pid = startRedis(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	if r, err := Do(addr, "CLUSTER", "ADDSLOTSRANGE", "0", "16383"); err != nil || r != "+OK\r\n" {
		t.Fatalf("CLUSTER ADDSLOTSRANGE on %s: %q, %v", addr, r, err)
	}
	if err := WaitFor(10*time.Second, func() error {
		r, err := Do(addr, "CLUSTER", "INFO")
		if err == nil && !strings.Contains(r, "cluster_state:ok") {
			err = errors.New("CLUSTER INFO: " + r)
		}
		return err
	}); err != nil {
		t.Fatalf("redis-server cluster on %s: %v", addr, err)
	}
	return addr, pid
}

// startRedis starts redis-server on a free port, and on another if it
// exits at once: a port it needs may have been taken since FreeAddr found
// it free, above all a cluster node's bus port, its port + 10000, which
// nothing reserved (CI saw "Could not create server TCP listening socket
// 127.0.0.1:36986: bind: Address already in use").
func startRedis(t testing.TB, extra ...string) (addr string, pid int) {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not on PATH (Debian: apt-get install redis-server): skipping the comparison with a real Redis")
	}
	const attempts = 5
	for attempt := 1; ; attempt++ {
		addr = FreeAddr(t)
		_, port, _ := net.SplitHostPort(addr)
		dir := t.TempDir()
		p := &proc.Process{Bin: path, LogPath: filepath.Join(dir, "redis.log")}
		t.Cleanup(p.Kill) // SIGKILL ends it even if the test left it stopped
		args := append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir}, extra...)
		if err := p.Start(args...); err != nil {
			t.Fatal(err)
		}
		exited := false
		err := WaitFor(10*time.Second, func() error {
			if !p.Running() {
				exited = true
				return nil
			}
			r, err := Do(addr, "PING")
			if err == nil && r != "+PONG\r\n" {
				err = errors.New("PING answered " + strconv.Quote(r))
			}
			return err
		})
		switch {
		case err != nil:
			t.Fatalf("redis-server on %s: %v\n%s", addr, err, p.Log())
		case !exited:
			return addr, p.Pid()
		case attempt == attempts:
			t.Fatalf("redis-server exited at start %d times; the last:\n%s", attempts, p.Log())
		}
		t.Logf("redis-server on %s exited at start; trying another port", addr)
	}
}

// Replies of a FakeRESP answer function that are not RESP.
const (
	HangUp = "\x00hang up" // close the connection
	Silent = "\x00silent"  // read on, never reply
)

// FakeRESP serves RESP on a free loopback port, answering each command
// with the raw reply answer returns (or HangUp, or Silent), so a test can
// make a server misbehave on purpose. It stops when the test ends.
func FakeRESP(t testing.TB, answer func(args []string) string) string {
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
	for {
		args, err := readCommand(r)
		if err != nil {
			return
		}
		switch a := answer(args); a {
		case HangUp:
			w.Flush()
			return
		case Silent:
		default:
			w.WriteString(a)
			if r.Buffered() == 0 && w.Flush() != nil {
				return
			}
		}
	}
}

// readCommand reads one command: an array of bulk strings.
func readCommand(r *bufio.Reader) ([]string, error) {
	v, err := resp.ReadValue(r)
	if err != nil {
		return nil, err
	}
	if v.Kind != resp.KindArray || v.Null {
		return nil, errors.New("not a command")
	}
	args := make([]string, len(v.Elems))
	for i, e := range v.Elems {
		if e.Kind != resp.KindBulk || e.Null {
			return nil, fmt.Errorf("argument %d is not a bulk string", i)
		}
		args[i] = string(e.Str)
	}
	return args, nil
}
