package proc

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary play the child: "child" prints "ready"
// and sleeps; "child ignore-term" also ignores SIGTERM; "child spin"
// keeps a goroutine for each CPU busy.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		if len(os.Args) > 2 && os.Args[2] == "ignore-term" {
			signal.Ignore(syscall.SIGTERM)
		}
		if len(os.Args) > 2 && os.Args[2] == "spin" {
			for range runtime.NumCPU() {
				go func() {
					for n := 0; ; n++ {
					}
				}()
			}
		}
		fmt.Println("ready")
		time.Sleep(time.Minute)
		os.Exit(3)
	}
	os.Exit(m.Run())
}

// child returns a Process of this test binary that logs under t's
// temporary directory and is killed when the test ends.
func child(t *testing.T) *Process {
	t.Helper()
	p := &Process{Bin: os.Args[0], LogPath: filepath.Join(t.TempDir(), "child.log")}
	t.Cleanup(p.Kill)
	return p
}

func waitLog(t *testing.T, p *Process, want string, count int) {
	t.Helper()
	if err := WaitFor(10*time.Second, func() error {
		if n := strings.Count(p.Log(), want); n < count {
			return fmt.Errorf("log has %q %d times, want %d:\n%s", want, n, count, p.Log())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// waitStopped waits until the kernel reports pid as stopped (state T), or
// as not stopped.
func waitStopped(t *testing.T, pid int, stopped bool) {
	t.Helper()
	if err := WaitFor(5*time.Second, func() error {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Skipf("no /proc: %v", err)
		}
		_, rest, _ := strings.Cut(string(b), ") ")
		if s := rest[:1]; (s == "T" || s == "t") != stopped {
			return fmt.Errorf("pid %d in state %s", pid, s)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestProcess_KillEndsItAndItStartsAgain(t *testing.T) {
	p := child(t)
	if p.Running() || p.Pid() != 0 {
		t.Fatal("a new Process runs")
	}
	if err := p.Start("child"); err != nil {
		t.Fatal(err)
	}
	pid := p.Pid()
	if pid == 0 || !p.Running() {
		t.Fatal("no pid after Start")
	}
	if err := p.Start("child"); err == nil {
		t.Fatal("a second Start while running succeeded")
	}
	waitLog(t, p, "ready", 1)
	p.Kill()
	if p.Running() || p.Pid() != 0 {
		t.Fatal("still running after Kill")
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("pid %d still exists after Kill: %v", pid, err)
	}
	if err := p.Start("child"); err != nil {
		t.Fatal(err)
	}
	if p.Pid() == pid {
		t.Fatal("the restart has the old pid")
	}
	waitLog(t, p, "ready", 2)
	log := p.Log()
	if strings.Count(log, "--- start ") != 2 || !strings.Contains(log, "--- exited") || !strings.Contains(log, "signal: killed") {
		t.Fatalf("log does not record both runs and the kill:\n%s", log)
	}
}

func TestProcess_PauseStopsItAndResumeContinuesIt(t *testing.T) {
	p := child(t)
	if err := p.Start("child"); err != nil {
		t.Fatal(err)
	}
	waitLog(t, p, "ready", 1)
	p.Pause()
	if !p.Paused() {
		t.Fatal("not Paused after Pause")
	}
	waitStopped(t, p.Pid(), true)
	p.Resume()
	if p.Paused() {
		t.Fatal("Paused after Resume")
	}
	waitStopped(t, p.Pid(), false)
}

// Pause returns only once every thread is stopped, even while they
// all run: a paused node must not answer anything after Pause returns.
func TestProcess_PauseReturnsOnceEveryThreadIsStopped(t *testing.T) {
	for range 5 {
		p := child(t)
		if err := p.Start("child", "spin"); err != nil {
			t.Fatal(err)
		}
		waitLog(t, p, "ready", 1)
		p.Pause()
		if err := allStopped(p.Pid()); err != nil {
			t.Fatalf("after Pause: %v", err)
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d/task", p.Pid())); err != nil {
			t.Skipf("no /proc: %v", err)
		}
		p.Kill()
	}
}

func TestProcess_StopTerminatesEvenAPausedProcess(t *testing.T) {
	p := child(t)
	if err := p.Start("child"); err != nil {
		t.Fatal(err)
	}
	waitLog(t, p, "ready", 1)
	p.Pause()
	began := time.Now()
	p.Stop(10 * time.Second)
	if p.Running() {
		t.Fatal("running after Stop")
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Fatalf("Stop took %v: SIGTERM did not end the paused process", d)
	}
	if !strings.Contains(p.Log(), "signal: terminated") {
		t.Fatalf("not ended by SIGTERM:\n%s", p.Log())
	}
}

func TestProcess_StopKillsAProcessThatIgnoresSIGTERM(t *testing.T) {
	p := child(t)
	if err := p.Start("child", "ignore-term"); err != nil {
		t.Fatal(err)
	}
	waitLog(t, p, "ready", 1)
	p.Stop(200 * time.Millisecond)
	if p.Running() {
		t.Fatal("running after Stop")
	}
	if !strings.Contains(p.Log(), "signal: killed") {
		t.Fatalf("not ended by SIGKILL:\n%s", p.Log())
	}
}

func TestProcess_WaitReturnsWhenItExitsOnItsOwn(t *testing.T) {
	if err := (&Process{}).Wait(time.Millisecond); err != nil {
		t.Fatalf("Wait with nothing running: %v", err)
	}
	p := child(t)
	if err := p.Start("child"); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(50 * time.Millisecond); err == nil {
		t.Fatal("Wait returned nil while the child sleeps")
	}
	pid := p.Pid()
	syscall.Kill(pid, syscall.SIGKILL) // from outside, as the OOM killer would
	if err := p.Wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if p.Running() {
		t.Fatal("Running after the process exited")
	}
}

func TestProcess_WithoutLogPathDiscardsOutput(t *testing.T) {
	p := &Process{Bin: os.Args[0]}
	t.Cleanup(p.Kill)
	if err := p.Start("child"); err != nil {
		t.Fatal(err)
	}
	if p.Log() != "" {
		t.Fatal("a Process without LogPath has a log")
	}
}

func TestFreeAddr_IsOnTheHostAndListenable(t *testing.T) {
	addr, err := FreeAddr("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
		t.Fatalf("FreeAddr = %q", addr)
	}
}

func TestWaitFor_ReturnsTheLastErrorAfterTheTimeout(t *testing.T) {
	calls := 0
	if err := WaitFor(time.Second, func() error {
		if calls++; calls < 3 {
			return errors.New("not yet")
		}
		return nil
	}); err != nil || calls != 3 {
		t.Fatalf("WaitFor = %v after %d calls", err, calls)
	}
	errLast := errors.New("never")
	if err := WaitFor(30*time.Millisecond, func() error { return errLast }); !errors.Is(err, errLast) {
		t.Fatalf("WaitFor = %v, want it to wrap the last error", err)
	}
}
