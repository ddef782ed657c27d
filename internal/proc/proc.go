// Package proc runs programs as child processes that a test or a fault
// injector controls by pid: it starts a binary with arguments, appends
// its output to a log file, and kills (SIGKILL), stops (SIGTERM, then
// SIGKILL after a timeout), pauses (SIGSTOP) and resumes (SIGCONT) it.
// It knows nothing of walkerd's flags or of testing: internal/harness
// wraps it for tests (cleanup, t.Fatal) and internal/chaos for the fault
// injector.
//
//	p := &proc.Process{Bin: bin, LogPath: filepath.Join(dir, "n1.log")}
//	if err := p.Start("-tcp", addr); err != nil { ... }
//	p.Pause()             // SIGSTOP, as a long GC pause would
//	p.Resume()            // SIGCONT
//	p.Stop(time.Second)   // SIGTERM, and SIGKILL if it outlives the second
//	p.Start("-tcp", addr) // the same Process runs again
//
// On Linux the kernel kills a child when its parent dies (Pdeathsig), so
// a crashed test or fault injector leaves no processes behind.
package proc

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is one program that runs at most once at a time and can be
// started again after it exits. Set Bin and LogPath before the first
// Start; a Process's methods are safe for concurrent use.
type Process struct {
	// Bin is the program to run.
	Bin string
	// LogPath is the file the program's stdout and stderr are appended
	// to, each run between a "--- start <time> <command>" line and a
	// "--- exited <time>: <status>" line. Empty: output is discarded.
	LogPath string

	mu     sync.Mutex
	cmd    *exec.Cmd     // nil when not running
	done   chan struct{} // closed when cmd has exited
	paused bool
}

// Start runs Bin with args. It fails if the process is already running.
func (p *Process) Start(args ...string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("proc: %s already running as pid %d", filepath.Base(p.Bin), p.cmd.Process.Pid)
	}
	path := p.LogPath
	if path == "" {
		path = os.DevNull
	}
	logf, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "--- start %s %s %s\n", time.Now().Format(time.RFC3339Nano), p.Bin, strings.Join(args, " "))
	cmd := exec.Command(p.Bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	done := make(chan struct{})
	p.cmd, p.done, p.paused = cmd, done, false
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(logf, "--- exited %s: %v\n", time.Now().Format(time.RFC3339Nano), err)
		logf.Close()
		p.mu.Lock()
		if p.cmd == cmd {
			p.cmd, p.paused = nil, false
		}
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// Pid is the running process's id, or 0.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Running reports whether the process exists (a paused one does).
func (p *Process) Running() bool { return p.Pid() != 0 }

// Paused reports whether the process is stopped by Pause.
func (p *Process) Paused() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && p.paused
}

// current returns the running command and its exit channel, or nils.
func (p *Process) current() (*exec.Cmd, chan struct{}, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd, p.done, p.paused
}

// Kill sends SIGKILL to the process's pid and waits for it to exit. It
// does nothing if the process is not running.
func (p *Process) Kill() {
	cmd, done, _ := p.current()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// Stop sends SIGTERM (and SIGCONT if paused, so that it can act on it),
// waits up to timeout for the process to exit, and then kills it.
func (p *Process) Stop(timeout time.Duration) {
	cmd, done, paused := p.current()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if paused {
		cmd.Process.Signal(syscall.SIGCONT)
	}
	select {
	case <-done:
	case <-time.After(timeout):
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
	}
}

// Pause stops the process with SIGSTOP, as a long GC pause would, and
// returns once the kernel reports every one of its threads stopped (or
// after pauseWait, or at once where there is no /proc).
//
// SIGSTOP is not instant: the kernel wakes one thread to take the group
// stop, and the others run on until that thread has been scheduled,
// which on a loaded machine can be milliseconds. A paused node that
// still answered a handshake in that window once made a quorum check
// count it as reachable.
func (p *Process) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !p.paused {
		p.cmd.Process.Signal(syscall.SIGSTOP)
		p.paused = true
		deadline := time.Now().Add(pauseWait)
		for allStopped(p.cmd.Process.Pid) != nil && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
}

// pauseWait bounds Pause's wait for the threads to stop.
const pauseWait = 5 * time.Second

// allStopped returns nil when every thread of pid is stopped (state T or
// t in /proc/PID/task/TID/stat) or gone, or when /proc cannot say.
func allStopped(pid int) error {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, task.Name(), "stat"))
		if err != nil {
			continue // the thread exited
		}
		_, rest, ok := strings.Cut(string(b), ") ")
		if !ok || rest == "" {
			continue
		}
		switch state := rest[:1]; state {
		case "T", "t", "Z", "X":
		default:
			return fmt.Errorf("pid %d thread %s in state %s", pid, task.Name(), state)
		}
	}
	return nil
}

// Resume continues a paused process with SIGCONT.
func (p *Process) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && p.paused {
		p.cmd.Process.Signal(syscall.SIGCONT)
		p.paused = false
	}
}

// Wait waits up to timeout for the running process to exit on its own; it
// returns nil at once if none is running.
func (p *Process) Wait(timeout time.Duration) error {
	cmd, done, _ := p.current()
	if cmd == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("proc: pid %d still running after %v", cmd.Process.Pid, timeout)
	}
}

// Log returns the log file's contents: the output of every run so far.
func (p *Process) Log() string {
	if p.LogPath == "" {
		return ""
	}
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
}

// FreeAddr returns an address on host (an IP) with a TCP port that was
// free a moment ago.
func FreeAddr(host string) (string, error) {
	addrs, err := FreeAddrs(host, 1)
	if err != nil {
		return "", err
	}
	return addrs[0], nil
}

// FreeAddrs returns n addresses on host with distinct TCP ports that were
// free a moment ago: all are held open until every one is picked, so that
// two calls in a row cannot hand out the same port (a node's RESP and
// Raft ports).
//
// The ports are taken below the kernel's ephemeral range
// (/proc/sys/net/ipv4/ip_local_port_range; 32768 on Linux by default), at
// random: a port from that range, as listening on port 0 gives, may be
// taken as the local port of any outgoing connection while its node is
// down, and a test that restarts the node then fails with "address
// already in use" (seen while another test ran beside one).
func FreeAddrs(host string, n int) ([]string, error) {
	addrs := make([]string, 0, n)
	for range n {
		ln, err := listenLow(host)
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, nil
}

// lowPort is the first port FreeAddrs draws from.
const lowPort = 10000

// listenLow listens on a random free port from lowPort up to the
// ephemeral range, or on port 0 when that range starts too low or no
// port is found in 200 tries.
func listenLow(host string) (net.Listener, error) {
	top := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil {
				top = v
			}
		}
	}
	if top-lowPort >= 1000 {
		for range 200 {
			port := lowPort + rand.IntN(top-lowPort)
			if ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port))); err == nil {
				return ln, nil
			}
		}
	}
	return net.Listen("tcp", net.JoinHostPort(host, "0"))
}

// Build compiles the Go main package in dir into a new temporary folder
// and returns the binary's path; a failed build's error holds the
// compiler's output.
func Build(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	out, err := os.MkdirTemp("", "walker-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(out, filepath.Base(abs))
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = abs
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", abs, err, b)
	}
	return bin, nil
}

// WaitFor polls fn until it returns nil or the timeout passes, and then
// returns fn's last error.
func WaitFor(timeout time.Duration, fn func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v: %w", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
