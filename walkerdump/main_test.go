package main

import (
	"os"
	"strings"
	"testing"
)

var commands = []string{"inspect", "dump", "verify", "recover", "merge", "hint", "export"}

func TestMain_EveryCommandHasHelp(t *testing.T) {
	for _, c := range commands {
		out := mustRun(t, exitOK, c, "--help")
		if !strings.Contains(out, "USAGE:") || !strings.Contains(out, "walkerdump "+c) || !strings.Contains(out, "DIR") {
			t.Errorf("%s --help:\n%s", c, out)
		}
	}
	out := mustRun(t, exitOK, "--help")
	for _, c := range commands {
		if !strings.Contains(out, c) {
			t.Errorf("--help does not list %s", c)
		}
	}
}

func TestMain_ShellCompletionListsCommands(t *testing.T) {
	// urfave/cli reads os.Args to decide what to complete.
	saved := os.Args
	os.Args = []string{"walkerdump", "--generate-bash-completion"}
	defer func() { os.Args = saved }()
	out := mustRun(t, exitOK, "--generate-bash-completion")
	for _, c := range commands {
		if !strings.Contains(out, c) {
			t.Errorf("completion does not offer %s:\n%s", c, out)
		}
	}
}

func TestMain_EveryCommandRefusesALockedDirectory(t *testing.T) {
	dir := makeDir(t)
	holdLock(t, dir)
	for _, c := range commands {
		_, errs, code := runCmd(t, c, dir)
		if code != exitError || !strings.Contains(errs, "in use") || !strings.Contains(errs, "stop it first") {
			t.Errorf("%s of a locked directory: exit %d, %q", c, code, errs)
		}
	}
}

func TestMain_ArgumentsAreChecked(t *testing.T) {
	dir := makeDir(t)
	for _, args := range [][]string{
		{"verify"},
		{"verify", dir, "--json"}, // flags after DIR are not parsed: refused, not ignored
		{"dump", "--format", "xml", dir},
		{"export", "--format", "xml", dir},
		{"inspect", "--nope", dir},
		{"inspect", dir + "/missing"},
	} {
		if _, errs, code := runCmd(t, args...); code != exitError || errs == "" {
			t.Errorf("walkerdump %v: exit %d, stderr %q", args, code, errs)
		}
	}
}
