package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/internal/resp"
)

// get, set and del are for quick checks; use redis-cli for anything more.

func getCommand() *cli.Command {
	return &cli.Command{
		Name:      "get",
		Usage:     "read a key (at the node's configured read level)",
		ArgsUsage: "KEY",
		Description: `Sends GET KEY to the node at --addr and prints the value, or (nil) when
the key does not exist. The node reads at its -read-consistency level; use
'walkerctl levelget' to choose one.

--json prints {"key", "value"} with value null for a missing key.`,
		Action: runGet,
	}
}

func setCommand() *cli.Command {
	return &cli.Command{
		Name:      "set",
		Usage:     "write a key",
		ArgsUsage: "KEY VALUE",
		Description: `Sends SET KEY VALUE to the node at --addr (a follower forwards it to the
leader) and prints OK. The write is sent once and never retried.

--json prints {"key", "ok"}.`,
		Action: runSet,
	}
}

func delCommand() *cli.Command {
	return &cli.Command{
		Name:      "del",
		Usage:     "delete keys",
		ArgsUsage: "KEY...",
		Description: `Sends DEL KEY... to the node at --addr and prints how many keys existed
and were deleted.

--json prints {"deleted": N}.`,
		Action: runDel,
	}
}

func runGet(c *cli.Context) error {
	if err := args(c, 1, 1); err != nil {
		return err
	}
	o, err := optsOf(c)
	if err != nil {
		return err
	}
	key := c.Args().First()
	v, _, err := o.doOnce("GET", key)
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(o.stdout, map[string]any{"key": key, "value": nullable(v)})
	}
	return printValue(o, v)
}

func runSet(c *cli.Context) error {
	if err := args(c, 2, 2); err != nil {
		return err
	}
	o, err := optsOf(c)
	if err != nil {
		return err
	}
	key := c.Args().Get(0)
	v, _, err := o.doOnce("SET", key, c.Args().Get(1))
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(o.stdout, map[string]any{"key": key, "ok": true})
	}
	return printValue(o, v)
}

func runDel(c *cli.Context) error {
	if err := args(c, 1, -1); err != nil {
		return err
	}
	o, err := optsOf(c)
	if err != nil {
		return err
	}
	v, _, err := o.doOnce(append([]string{"DEL"}, c.Args().Slice()...)...)
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(o.stdout, map[string]any{"deleted": v.Int})
	}
	_, err = fmt.Fprintf(o.stdout, "%d deleted\n", v.Int)
	return err
}

// nullable is a reply as JSON: a string, or nil for a missing key.
func nullable(v resp.Value) any {
	if v.Null {
		return nil
	}
	return replyText(v)
}

// printValue prints a reply the way redis-cli does for a string.
func printValue(o *opts, v resp.Value) error {
	s := replyText(v)
	if v.Null {
		s = "(nil)"
	}
	_, err := fmt.Fprintln(o.stdout, s)
	return err
}
