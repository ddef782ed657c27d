package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"
)

func transferCommand() *cli.Command {
	return &cli.Command{
		Name:      "transfer",
		Usage:     "hand leadership to another member",
		ArgsUsage: "[ID]",
		Description: `Finds the leader (RAFT.LEADER at --addr), sends it RAFT.TRANSFER [ID], and
waits until a new leader is known: ID if given, else the most up-to-date
voter. Transferring to the member that already leads does nothing.

--json prints {"from", "to"} with the old and new leader's ids.`,
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "wait", Value: 10 * time.Second, Usage: "how long to wait for the new leader"},
		},
		Action: runTransfer,
	}
}

func runTransfer(c *cli.Context) error {
	if err := args(c, 0, 1); err != nil {
		return err
	}
	o, err := optsOf(c)
	if err != nil {
		return err
	}
	target := c.Args().First()
	old, err := findLeader(o)
	if err != nil {
		return err
	}
	report := func(to leaderRef) error {
		if o.json {
			return writeJSON(o.stdout, map[string]string{"from": old.ID, "to": to.ID})
		}
		if to.ID == old.ID {
			_, err := fmt.Fprintf(o.stdout, "%s already leads\n", old.ID)
			return err
		}
		_, err := fmt.Fprintf(o.stdout, "leadership moved from %s to %s (resp %s)\n", old.ID, to.ID, to.RESPAddr)
		return err
	}
	if target == old.ID {
		return report(old)
	}
	if old.RESPAddr == "" {
		return fmt.Errorf("the leader %s has no RESP address recorded, so it cannot be asked", old.ID)
	}
	lc, err := o.dial(old.RESPAddr)
	if err != nil {
		return err
	}
	cmd := []string{"RAFT.TRANSFER"}
	if target != "" {
		cmd = append(cmd, target)
	}
	_, err = lc.do(cmd...)
	lc.close()
	if err != nil {
		return err
	}

	// The old leader learns the new one from its first heartbeat.
	deadline := time.Now().Add(c.Duration("wait"))
	var last error
	for {
		l, err := leaderAt(o, old.RESPAddr)
		switch {
		case err != nil:
			last = err
		case l.ID == old.ID:
			last = fmt.Errorf("%s still leads", old.ID)
		case target != "" && l.ID != target:
			return fmt.Errorf("leadership moved from %s to %s, not to %s", old.ID, l.ID, target)
		default:
			return report(l)
		}
		if time.Now().After(deadline) {
			var nl *noLeaderError
			if errors.As(last, &nl) {
				return &noLeaderError{detail: fmt.Sprintf("%s accepted the transfer, but no new leader was known within %v", old.ID, c.Duration("wait"))}
			}
			return fmt.Errorf("%s accepted the transfer, but after %v: %w", old.ID, c.Duration("wait"), last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// leaderAt asks one node who leads.
func leaderAt(o *opts, addr string) (leaderRef, error) {
	c, err := o.dial(addr)
	if err != nil {
		return leaderRef{}, err
	}
	defer c.close()
	return askLeader(c)
}
