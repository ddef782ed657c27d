package main

import (
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/internal/harness"
)

func TestCLI_EveryCommandHasHelpWithExitCodes(t *testing.T) {
	out := ok(t, "--help")
	if !strings.Contains(out, "EXIT CODES") || !strings.Contains(out, "WALKERCTL_PASSWORD") {
		t.Fatalf("walkerctl --help:\n%s", out)
	}
	for _, cmd := range newApp(nil, nil).Commands {
		out := ok(t, cmd.Name, "--help")
		for _, want := range []string{"walkerctl " + cmd.Name, "EXIT CODES", "--json", "--addr", "--timeout"} {
			if !strings.Contains(out, want) {
				t.Errorf("walkerctl %s --help lacks %q:\n%s", cmd.Name, want, out)
			}
		}
	}
}

func TestCLI_UsageErrorsExitWith2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"join", "node4"}, "join takes ID RAFT-ADDR [RESP-ADDR]"},
		{[]string{"join", "node4", "nocolon"}, `address "nocolon": want host:port`},
		{[]string{"leave"}, "leave takes ID"},
		{[]string{"members", "extra"}, "members takes no arguments"},
		{[]string{"levelget", "k", "sometimes"}, `level "sometimes"`},
		{[]string{"levelget", "k", "1", "--json"}, `flags such as "--json" go before the arguments`},
		{[]string{"members", "--bogus"}, "flag provided but not defined: -bogus (see 'walkerctl members --help')"},
		{[]string{"--timeout", "0s", "members"}, "--timeout must be positive"},
		{[]string{"completion", "tcsh"}, `shell "tcsh"`},
	} {
		wantExit(t, exitUsage, []string{tc.msg}, tc.args...)
	}
}

func TestCLI_CompletionScriptsAndCandidates(t *testing.T) {
	for shell, want := range map[string]string{
		"bash": "complete -o bashdefault -o default -o nospace -F _walkerctl_bash_autocomplete walkerctl",
		"zsh":  "compdef _cli_zsh_autocomplete walkerctl",
		"fish": "complete -c walkerctl",
	} {
		if out := ok(t, "completion", shell); !strings.Contains(out, want) {
			t.Errorf("completion %s lacks %q:\n%s", shell, want, out)
		}
	}
}

// The built binary: urfave/cli reads os.Args for completion candidates,
// so this runs it as a shell would; and exit codes pass through os.Exit.
func TestCLI_BuiltBinaryCompletesAndExitsWithItsCodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds walkerctl")
	}
	bin := harness.Build(t, ".")
	out, code := harness.RunOnce(t, bin, "--generate-bash-completion")
	for _, cmd := range []string{"join", "members", "status", "levelget", "migrate"} {
		if code != 0 || !strings.Contains(out, cmd+"\n") {
			t.Errorf("completion candidates (exit %d) lack %s:\n%s", code, cmd, out)
		}
	}
	if out, code := harness.RunOnce(t, bin, "status", "--max-", "--generate-bash-completion"); code != 0 || !strings.Contains(out, "--max-lag") {
		t.Errorf("flag candidates (exit %d):\n%s", code, out)
	}
	addr := harness.FreeAddr(t)
	if out, code := harness.RunOnce(t, bin, "--addr", addr, "status"); code != exitUnreachable || out != "walkerctl: cannot reach "+addr+": connection refused\n" {
		t.Errorf("exit %d: %q", code, out)
	}
}

func TestTable_AlignsColumnsAndMarksEmptyCells(t *testing.T) {
	tb := newTable("ID", "ADDRESS", "LAG")
	tb.add("node1", "127.0.0.1:7001", "0")
	tb.add("n2", "", "")
	var b strings.Builder
	if err := tb.write(&b); err != nil {
		t.Fatal(err)
	}
	want := "ID     ADDRESS         LAG\nnode1  127.0.0.1:7001  0\nn2     -               -\n"
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 3 << 20: "3.0 MiB", 5 << 40: "5.0 TiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
