package main_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// startAuthed starts a standalone node with args and waits until it
// answers AUTH pass.
func startAuthed(t *testing.T, id, pass string, args ...string) *harness.Node {
	t.Helper()
	n := harness.NewNode(t, bin(t), id, append([]string{"-bootstrap", "false"}, args...)...)
	err := n.Process.Start(append([]string{"-id", n.ID, "-tcp", n.RESP, "-raft", n.Raft,
		"-dir", filepath.Join(n.Dir, "data"), "-raftdir", filepath.Join(n.Dir, "raft")}, n.Args...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := harness.WaitFor(15*time.Second, func() error {
		if !n.Running() {
			return fmt.Errorf("exited:\n%s", n.Log())
		}
		got, err := n.Do("AUTH", pass)
		if err != nil {
			return err
		}
		if got != "+OK\r\n" {
			return fmt.Errorf("AUTH answered %q", got)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// A password given on the command line is not shown by ps
// (/proc/PID/cmdline), by the profiler, by the log, INFO or CLIENT LIST.
func TestE2E_APasswordOnTheCommandLineStaysSecret(t *testing.T) {
	const secret = "hunter2-do-not-show"
	pprofAddr := harness.FreeAddr(t)
	n := startAuthed(t, "secret", secret, "--requirepass", secret, "--pprof", pprofAddr)

	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", n.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(cmdline), secret) || strings.Contains(string(cmdline), "hunter2") {
		t.Fatalf("/proc/PID/cmdline shows the password: %q", cmdline)
	}
	if !strings.Contains(string(cmdline), "--requirepass\x00xxxx") {
		t.Fatalf("/proc/PID/cmdline = %q, want the password's place overwritten", cmdline)
	}

	get := func(path string) (int, string) {
		t.Helper()
		res, err := http.Get("http://" + pprofAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get("/debug/pprof/cmdline"); code != http.StatusNotFound || strings.Contains(body, secret) {
		t.Fatalf("/debug/pprof/cmdline = %d %q, want 404", code, body)
	}
	if code, body := get("/debug/pprof/"); code != http.StatusOK || strings.Contains(body, secret) || !strings.Contains(body, "goroutine") {
		t.Fatalf("/debug/pprof/ = %d %q, want the index without the password", code, body)
	}

	c, err := harness.Dial(n.RESP)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, cmd := range [][]string{{"AUTH", secret}, {"INFO", "everything"}, {"CLIENT", "LIST"}, {"GET", "nosuch"}, {"AUTH", "wrong"}, {"HELLO", "3", "AUTH", "default", "wrong"}} {
		got, err := c.Do(cmd...)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(got, secret) {
			t.Errorf("%v shows the password: %q", cmd, got)
		}
	}
	n.Stop()
	// walkerd's own lines: the harness's "--- start" line quotes the
	// command it ran.
	if log := strings.Join(walkerdLines(n), "\n"); strings.Contains(log, secret) {
		t.Fatalf("the log shows the password:\n%s", log)
	}
}

// SIGHUP never ends walkerd: without TLS there is nothing to reload, and
// it is ignored, as redis-server ignores it.
func TestE2E_SIGHUPWithoutTLSIsIgnored(t *testing.T) {
	n := harness.NewNode(t, bin(t), "hup", "--standalone")
	n.Start()
	must(t, n, "+OK\r\n", "SET", "k", "v")
	if err := syscall.Kill(n.Pid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if err := harness.WaitFor(10*time.Second, func() error {
		if !strings.Contains(n.Log(), "SIGHUP: nothing to reload") {
			return fmt.Errorf("no SIGHUP line yet")
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, n.Log())
	}
	if !n.Running() {
		t.Fatalf("walkerd exited on SIGHUP:\n%s", n.Log())
	}
	must(t, n, bulk("v"), "GET", "k")
}

// --requirepass-file reads the password from a file only its owner can
// read; one that others can read is refused, and so is giving both forms.
func TestE2E_RequirepassFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pass")
	if err := os.WriteFile(file, []byte("from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n := startAuthed(t, "passfile", "from-a-file", "--requirepass-file", file)
	if got, _ := n.Do("GET", "k"); !strings.HasPrefix(got, "-NOAUTH") {
		t.Fatalf("GET without AUTH = %q, want NOAUTH", got)
	}
	n.Stop()

	open := filepath.Join(dir, "open")
	if err := os.WriteFile(open, []byte("p\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--requirepass-file", open}, "readable by others"},
		{[]string{"--requirepass-file", file, "--requirepass", "x"}, "give one of them"},
		{[]string{"--requirepass-file", filepath.Join(dir, "nosuch")}, "no such file"},
		{[]string{"--pprof", "0.0.0.0:0"}, "loopback"},
	} {
		out, code := harness.RunOnce(t, bin(t), append([]string{"-bootstrap", "false", "-tcp", harness.FreeAddr(t),
			"-dir", filepath.Join(t.TempDir(), "d")}, tc.args...)...)
		if code == 0 || !strings.Contains(out, tc.want) {
			t.Errorf("walkerd %v: exit %d, output %q; want a failure saying %q", tc.args, code, out, tc.want)
		}
	}
}

// Administrative commands and refused AUTHs are logged with the client's
// address, user and outcome; a flood of refused AUTHs logs a bounded
// number of lines.
func TestE2E_AuditTrail(t *testing.T) {
	n := startAuthed(t, "audit", "adminpw", "--requirepass", "adminpw")
	c, err := harness.Dial(n.RESP)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, cmd := range [][]string{{"AUTH", "adminpw"}, {"FLUSHALL"}, {"CONFIG", "SET", "maxmemory", "nonsense"}, {"ACL", "SETUSER", "ops", "on", ">opspw", "+@all", "~*"}} {
		if _, err := c.Do(cmd...); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 300; i++ {
		if got, err := c.Do("AUTH", "ops", fmt.Sprintf("guess-%d", i)); err != nil || !strings.HasPrefix(got, "-WRONGPASS") {
			t.Fatalf("AUTH guess = %q, %v", got, err)
		}
	}
	n.Stop()
	log := n.Log()
	var audit, refused []string
	for _, l := range strings.Split(log, "\n") {
		switch {
		case strings.Contains(l, "msg=audit "):
			audit = append(audit, l)
		case strings.Contains(l, "AUTH refused"):
			refused = append(refused, l)
		}
	}
	want := []string{`cmd=FLUSHALL`, `cmd="CONFIG SET maxmemory"`, `cmd="ACL SETUSER ops"`}
	for i, w := range want {
		if i >= len(audit) || !strings.Contains(audit[i], w) || !strings.Contains(audit[i], "user=default") ||
			!strings.Contains(audit[i], "addr=127.0.0.1:") {
			t.Fatalf("audit line %d: want %s with user and address; audit lines:\n%s", i, w, strings.Join(audit, "\n"))
		}
	}
	if !strings.Contains(audit[0], "outcome=ok") || !strings.Contains(audit[1], `outcome="ERR `) {
		t.Fatalf("outcomes: %q, %q", audit[0], audit[1])
	}
	if len(refused) == 0 || len(refused) > 40 {
		t.Fatalf("%d lines for 300 refused AUTHs; want between 1 and 40", len(refused))
	}
	if !strings.Contains(refused[0], "user=ops") || strings.Contains(log, "guess-") || strings.Contains(log, "opspw") {
		t.Fatalf("refused AUTH lines must name the user and never a password:\n%s", strings.Join(refused, "\n"))
	}
}
