package main

import (
	"fmt"
	"net"

	"github.com/urfave/cli/v2"
)

func joinCommand() *cli.Command {
	return &cli.Command{
		Name:      "join",
		Usage:     "add a node to the cluster: a non-voter, which the leader promotes to voter once it has caught up",
		ArgsUsage: "ID RAFT-ADDR [RESP-ADDR]",
		Description: `Sends JOIN ID RAFT-ADDR [RESP-ADDR] to the node at --addr; a follower
forwards it to the leader, which adds the node to the Raft configuration as
a voter. RESP-ADDR is where clients and other nodes reach the new node's
RESP server; without it the node records its own once it has led.

Start the new node first with -join pointing at any member (it then joins
by itself), or with no -join and an empty data directory on a node that
must not bootstrap, and add it here. Joining a member again with the same
addresses is a no-op; the same id at a new Raft address replaces the old
entry.

--json prints {"id", "raft_addr", "resp_addr", "ok"}.`,
		Action: runJoin,
	}
}

func runJoin(c *cli.Context) error {
	if err := args(c, 2, 3); err != nil {
		return err
	}
	o, err := optsOf(c)
	if err != nil {
		return err
	}
	id, raftAddr, respAddr := c.Args().Get(0), c.Args().Get(1), c.Args().Get(2)
	for _, a := range []string{raftAddr, respAddr} {
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return &usageError{msg: fmt.Sprintf("address %q: want host:port", a), command: "walkerctl join"}
		}
	}
	cmd := []string{"JOIN", id, raftAddr}
	if respAddr != "" {
		cmd = append(cmd, respAddr)
	}
	if _, _, err := o.doOnce(cmd...); err != nil {
		return err
	}
	if o.json {
		return writeJSON(o.stdout, map[string]any{"id": id, "raft_addr": raftAddr, "resp_addr": respAddr, "ok": true})
	}
	fmt.Fprintf(o.stdout, "%s joined the cluster (raft %s", id, raftAddr)
	if respAddr != "" {
		fmt.Fprintf(o.stdout, ", resp %s", respAddr)
	}
	fmt.Fprintln(o.stdout, ")")
	return nil
}
