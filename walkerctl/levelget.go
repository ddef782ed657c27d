package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

func levelgetCommand() *cli.Command {
	return &cli.Command{
		Name:      "levelget",
		Usage:     "read a key at a consistency level",
		ArgsUsage: "KEY LEVEL",
		Description: `Sends LEVELGET KEY LEVEL to the node at --addr. LEVEL is one of
   0 or default      the leader reads its own state (a follower forwards)
   1 or stale        the node at --addr reads its own state, however old
   2 or consistent   linearizable: the leader confirms it still leads first

Prints the value, or (nil) when the key does not exist.
--json prints {"key", "level", "value"} with value null for a missing key.`,
		Action: runLevelget,
	}
}

// parseLevel reads a consistency level as walkerd does.
func parseLevel(s string) (int, bool) {
	switch strings.ToLower(s) {
	case "0", "default":
		return 0, true
	case "1", "stale":
		return 1, true
	case "2", "consistent":
		return 2, true
	}
	return 0, false
}

func runLevelget(c *cli.Context) error {
	if err := args(c, 2, 2); err != nil {
		return err
	}
	o, err := optsOf(c)
	if err != nil {
		return err
	}
	key := c.Args().Get(0)
	level, ok := parseLevel(c.Args().Get(1))
	if !ok {
		return &usageError{msg: fmt.Sprintf("level %q: want 0/default, 1/stale or 2/consistent", c.Args().Get(1)), command: "walkerctl levelget"}
	}
	v, _, err := o.doOnce("LEVELGET", key, fmt.Sprint(level))
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(o.stdout, map[string]any{"key": key, "level": level, "value": nullable(v)})
	}
	return printValue(o, v)
}
