package harness

import (
	"bufio"
	"errors"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
)

// StartRedis starts a real redis-server (no persistence) on a free
// loopback port for the test and returns its address and pid; it is
// killed by that pid when the test ends. The test is skipped when
// redis-server is not installed (.ci/run installs it).
func StartRedis(t testing.TB) (addr string, pid int) {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not on PATH (Debian: apt-get install redis-server): skipping the comparison with a real Redis")
	}
	addr = FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(path, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid = cmd.Process.Pid
	t.Cleanup(func() {
		syscall.Kill(pid, syscall.SIGCONT) // in case the test left it stopped
		syscall.Kill(pid, syscall.SIGKILL)
		cmd.Wait()
	})
	if err := WaitFor(10*time.Second, func() error {
		r, err := Do(addr, "PING")
		if err == nil && r != "+PONG\r\n" {
			err = errors.New("PING answered " + strconv.Quote(r))
		}
		return err
	}); err != nil {
		t.Fatalf("redis-server on %s: %v", addr, err)
	}
	return addr, pid
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

// readCommand reads one RESP array of bulk strings.
func readCommand(r *bufio.Reader) ([]string, error) {
	raw, err := resp.ReadRaw(r)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(raw), "\r\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "*") {
		return nil, errors.New("not a command")
	}
	n, _ := strconv.Atoi(lines[0][1:])
	args := make([]string, 0, n)
	// Bulk strings may hold CRLF: walk by the declared lengths.
	rest := string(raw[len(lines[0])+2:])
	for range n {
		i := strings.Index(rest, "\r\n")
		size, err := strconv.Atoi(rest[1:i])
		if err != nil || i+2+size > len(rest) {
			return nil, errors.New("bad bulk string")
		}
		args = append(args, rest[i+2:i+2+size])
		rest = rest[i+2+size+2:]
	}
	return args, nil
}
