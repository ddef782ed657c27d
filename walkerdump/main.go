package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/internal/version"
)

// Exit codes.
const (
	exitOK       = 0
	exitProblems = 1 // verify or hint found damage
	exitError    = 2 // the command failed or was used wrongly
)

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run runs walkerdump with args (args[0] is the program name), writing to
// stdout and stderr, and returns the exit code. Tests call it in process.
func run(args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.Run(args)
	if err == nil {
		return exitOK
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		if msg := err.Error(); msg != "" {
			fmt.Fprintf(stderr, "walkerdump: %s\n", msg)
		}
		return ec.ExitCode()
	}
	fmt.Fprintf(stderr, "walkerdump: %v\n", err)
	return exitError
}

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:  "walkerdump",
		Usage: "inspect, verify, recover, merge and export a WalkerDB data directory offline",
		Description: "walkerdump opens a data directory directly, with walkerd stopped: it takes the\n" +
			"directory's lock for every command and refuses a directory a live walkerd holds.\n" +
			"Flags go before DIR. Exit status: 0 ok, 1 damage found (verify, hint), 2 error.",
		Version:              version.String(),
		EnableBashCompletion: true,
		HideHelpCommand:      true,
		Writer:               stdout,
		ErrWriter:            stderr,
		// run turns errors into exit codes; never exit from inside the app.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return cli.Exit(err.Error(), exitError)
		},
		Commands: []*cli.Command{
			inspectCommand(),
			dumpCommand(),
			verifyCommand(),
			recoverCommand(),
			mergeCommand(),
			hintCommand(),
			exportCommand(),
			restoreCommand(),
		},
	}
}

// jsonFlag is --json, on every command.
var jsonFlag = &cli.BoolFlag{Name: "json", Usage: "print JSON for scripts instead of text"}

// dirArg is the command's one argument, DIR.
func dirArg(c *cli.Context) (string, error) {
	switch {
	case c.NArg() == 0:
		return "", cli.Exit(fmt.Sprintf("%s: missing DIR (usage: walkerdump %s %s)", c.Command.Name, c.Command.Name, c.Command.ArgsUsage), exitError)
	case c.NArg() > 1:
		return "", cli.Exit(fmt.Sprintf("%s: unexpected argument %q after DIR (flags go before DIR)", c.Command.Name, c.Args().Get(1)), exitError)
	}
	return c.Args().First(), nil
}

// openDir takes the directory's lock for offline work. engine.OpenOffline
// first refuses, creating no LOCK file, a directory that is not a data
// directory, of a newer format, or of another key layout than walkerd's.
func openDir(c *cli.Context) (*engine.Offline, error) {
	dir, err := dirArg(c)
	if err != nil {
		return nil, err
	}
	d, err := engine.OpenOffline(dir, &engine.Options{LayoutVersion: keyspace.LayoutVersion})
	return d, lockedError(dir, err)
}

// lockedError turns ErrLocked into advice.
func lockedError(dir string, err error) error {
	if errors.Is(err, engine.ErrLocked) {
		return cli.Exit(fmt.Sprintf("%s is in use: a running walkerd (or another walkerdump) holds its lock; stop it first", dir), exitError)
	}
	return err
}
