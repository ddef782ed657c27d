package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func leaveCommand() *cli.Command {
	return &cli.Command{
		Name:      "leave",
		Usage:     "remove a member from the cluster",
		ArgsUsage: "ID",
		Description: `Sends LEAVE ID to the node at --addr; a follower forwards it to the leader,
which removes the member from the Raft configuration and forgets its RESP
address. The member may be down. Removing the leader itself makes the
cluster elect another one.

--json prints {"id", "ok"}.`,
		Action: runLeave,
	}
}

func runLeave(c *cli.Context) error {
	if err := args(c, 1, 1); err != nil {
		return err
	}
	o, err := optsOf(c)
	if err != nil {
		return err
	}
	id := c.Args().First()
	if _, _, err := o.doOnce("LEAVE", id); err != nil {
		return err
	}
	if o.json {
		return writeJSON(o.stdout, map[string]any{"id": id, "ok": true})
	}
	fmt.Fprintf(o.stdout, "%s left the cluster\n", id)
	return nil
}
