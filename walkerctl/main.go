package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/internal/tlsclient"
	"github.com/walkerdb/walkerdb/internal/version"
)

func main() {
	os.Exit(run(context.Background(), os.Args, os.Stdout, os.Stderr))
}

// run runs the CLI with args (args[0] is the program name) and returns the
// exit code. Tests call it in process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := newApp(stdout, stderr).RunContext(ctx, args)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "walkerctl: "+err.Error())
	return exitCode(err)
}

const description = `walkerctl talks RESP to walkerd nodes. Commands that change the cluster
(join, leave) may be sent to any node: followers forward them to the leader.
members, status and info --all ask every member directly at its RESP address.

--addr takes one address or a comma-separated list: cluster-wide commands use
the first node that answers.

Output is meant for people; --json prints the same facts for scripts.`

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:                 "walkerctl",
		Usage:                "administer a WalkerDB cluster",
		UsageText:            "walkerctl [global options] command [command options] [arguments...]",
		Description:          description + "\n\n" + exitCodesHelp,
		Version:              version.String(),
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		Flags:                commonFlags(true),
		Commands: []*cli.Command{
			joinCommand(),
			leaveCommand(),
			membersCommand(),
			leaderCommand(),
			transferCommand(),
			snapshotCommand(),
			backupCommand(),
			statusCommand(),
			levelgetCommand(),
			getCommand(),
			setCommand(),
			delCommand(),
			infoCommand(),
			slotsCommand(),
			groupsCommand(),
			migrateCommand(),
			mergeCommand(),
			splitCommand(),
			rebalanceCommand(),
			waitReadyCommand(),
			completionCommand(),
		},
		// An unknown command lands here, not in urfave's help command,
		// whose "No help topic" error exits with 3.
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return &usageError{msg: fmt.Sprintf("unknown command %q", c.Args().First()), command: "walkerctl"}
			}
			return cli.ShowAppHelp(c)
		},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return &usageError{msg: err.Error(), command: "walkerctl"}
		},
		// Errors are printed and mapped to exit codes by run.
		ExitErrHandler: func(*cli.Context, error) {},
	}
	for _, cmd := range app.Commands {
		cmd.Flags = append(cmd.Flags, commonFlags(false)...)
		cmd.Description = strings.TrimSpace(cmd.Description+"\n\n") + "\n\n" + exitCodesHelp
		name := "walkerctl " + cmd.Name
		cmd.OnUsageError = func(c *cli.Context, err error, _ bool) error {
			return &usageError{msg: err.Error(), command: name}
		}
	}
	return app
}

// commonFlags are accepted before the command and after it. The root's
// read the environment.
func commonFlags(root bool) []cli.Flag {
	env := func(name string) []string {
		if !root {
			return nil
		}
		return []string{name}
	}
	return []cli.Flag{
		&cli.StringFlag{Name: "addr", Aliases: []string{"a"}, Value: "127.0.0.1:6379", Usage: "RESP `ADDRESS` of a node, or a comma-separated list of them", EnvVars: env("WALKERCTL_ADDR")},
		&cli.StringFlag{Name: "user", Usage: "ACL `USER` to AUTH as, with --password (default: the default user)", EnvVars: env("WALKERCTL_USER")},
		&cli.StringFlag{Name: "password", Usage: "`PASSWORD` to AUTH with (walkerd -requirepass, or --user's)", EnvVars: env("WALKERCTL_PASSWORD")},
		&cli.BoolFlag{Name: "tls", Usage: "connect over TLS (walkerd --tls-port), as redis-cli --tls", EnvVars: env("WALKERCTL_TLS")},
		&cli.StringFlag{Name: "cacert", Usage: "CA certificate `FILE` to verify nodes with (default: the system's)", EnvVars: env("WALKERCTL_CACERT")},
		&cli.StringFlag{Name: "cert", Usage: "client certificate `FILE`, for nodes with --tls-auth-clients yes", EnvVars: env("WALKERCTL_CERT")},
		&cli.StringFlag{Name: "key", Usage: "the client certificate's private key `FILE`", EnvVars: env("WALKERCTL_KEY")},
		&cli.DurationFlag{Name: "timeout", Value: 5 * time.Second, Usage: "how long to wait for each node to connect and answer", EnvVars: env("WALKERCTL_TIMEOUT")},
		&cli.BoolFlag{Name: "json", Usage: "print JSON instead of text"},
	}
}

// opts are the common flags, wherever they were given.
type opts struct {
	addrs   []string
	auth    auth
	timeout time.Duration
	json    bool
	stdout  io.Writer
	ctx     context.Context
}

// optsOf reads the common flags. A flag given after the command wins over
// the same flag given before it.
func optsOf(c *cli.Context) (*opts, error) {
	o := &opts{stdout: c.App.Writer, ctx: c.Context}
	pick := func(name string) *cli.Context {
		for _, x := range c.Lineage() {
			if x.Command != nil && x.IsSet(name) {
				return x
			}
		}
		return c
	}
	for _, a := range strings.Split(pick("addr").String("addr"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			o.addrs = append(o.addrs, a)
		}
	}
	if len(o.addrs) == 0 {
		return nil, &usageError{msg: "--addr is empty", command: "walkerctl"}
	}
	o.auth.user, o.auth.password = pick("user").String("user"), pick("password").String("password")
	if o.auth.user != "" && o.auth.password == "" {
		return nil, &usageError{msg: "--user needs --password", command: "walkerctl"}
	}
	var err error
	if o.auth.tls, err = tlsclient.Config(pick("tls").Bool("tls"), pick("cacert").String("cacert"), pick("cert").String("cert"),
		pick("key").String("key")); err != nil {
		return nil, &usageError{msg: err.Error(), command: "walkerctl"}
	}
	o.timeout = pick("timeout").Duration("timeout")
	if o.timeout <= 0 {
		return nil, &usageError{msg: "--timeout must be positive", command: "walkerctl"}
	}
	o.json = pick("json").Bool("json")
	return o, nil
}

// dial connects to one node.
func (o *opts) dial(addr string) (*client, error) {
	return dial(o.ctx, addr, o.auth, o.timeout)
}

// anyNode connects to the first of --addr that answers. Only an
// unreachable node is skipped: a wrong password is the same everywhere.
func (o *opts) anyNode() (*client, error) {
	var errs []error
	for _, a := range o.addrs {
		c, err := o.dial(a)
		if err == nil {
			return c, nil
		}
		var ue *unreachableError
		if !errors.As(err, &ue) {
			return nil, err
		}
		errs = append(errs, err)
	}
	if len(errs) == 1 {
		return nil, errs[0]
	}
	return nil, allUnreachable(errs)
}

// allUnreachable: no node of --addr answered.
type allUnreachable []error

func (e allUnreachable) Error() string {
	parts := make([]string, len(e))
	for i, err := range e {
		parts[i] = err.Error()
	}
	return "no node answered: " + strings.Join(parts, "; ")
}

func (e allUnreachable) Unwrap() []error { return e }

// doOnce sends one command to the first node of --addr that answers.
func (o *opts) doOnce(args ...string) (resp.Value, string, error) {
	c, err := o.anyNode()
	if err != nil {
		return resp.Value{}, "", err
	}
	defer c.close()
	v, err := c.do(args...)
	return v, c.addr, err
}

// args checks the number of positional arguments.
func args(c *cli.Context, min, max int) error {
	n := c.NArg()
	if n >= min && (max < 0 || n <= max) {
		return nil
	}
	msg := fmt.Sprintf("%s takes %s", c.Command.Name, c.Command.ArgsUsage)
	if c.Command.ArgsUsage == "" {
		msg = c.Command.Name + " takes no arguments"
	}
	for _, a := range c.Args().Slice() {
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			// urfave/cli stops reading flags at the first argument.
			msg += fmt.Sprintf("; flags such as %q go before the arguments", a)
			break
		}
	}
	return &usageError{msg: msg, command: "walkerctl " + c.Command.Name}
}
