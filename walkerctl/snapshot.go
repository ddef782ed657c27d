package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"
)

func snapshotCommand() *cli.Command {
	return &cli.Command{
		Name:  "snapshot",
		Usage: "take a Raft snapshot on one node, or on every member",
		Description: `Sends SNAPSHOT to the node at --addr (each node snapshots its own state and
compacts its own log), or with --all to every member at its RESP address,
and prints the node's last snapshot index afterwards. A node with nothing
new to snapshot answers OK too.

--json prints a list of {"id", "addr", "ok", "snapshot_index", "error"}.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Usage: "snapshot every member"},
		},
		Action: runSnapshot,
	}
}

type snapshotResult struct {
	ID            string `json:"id,omitempty"`
	Addr          string `json:"addr"`
	OK            bool   `json:"ok"`
	SnapshotIndex uint64 `json:"snapshot_index"`
	Error         string `json:"error,omitempty"`
}

func runSnapshot(c *cli.Context) error {
	if err := args(c, 0, 0); err != nil {
		return err
	}
	o, err := optsOf(c)
	if err != nil {
		return err
	}
	var results []snapshotResult
	var errs []error
	if c.Bool("all") {
		ms, err := fetchMembers(o)
		if err != nil {
			return err
		}
		for _, m := range ms {
			r := snapshotResult{ID: m.ID, Addr: m.RESPAddr}
			if m.RESPAddr == "" {
				err = errNoRESPAddr
			} else {
				err = snapshotAt(o, m.RESPAddr, &r)
			}
			if err != nil {
				r.Error = err.Error()
				errs = append(errs, fmt.Errorf("%s: %w", m.ID, err))
			}
			results = append(results, r)
		}
	} else {
		cl, err := o.anyNode()
		if err != nil {
			return err
		}
		r := snapshotResult{Addr: cl.addr}
		err = snapshotOn(cl, &r)
		cl.close()
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	if o.json {
		if err := writeJSON(o.stdout, results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			name := r.Addr
			if r.ID != "" {
				name = r.ID + " (" + r.Addr + ")"
			}
			if r.OK {
				fmt.Fprintf(o.stdout, "snapshot taken on %s: last snapshot index %d\n", name, r.SnapshotIndex)
			} else {
				fmt.Fprintf(o.stdout, "snapshot failed on %s: %s\n", name, r.Error)
			}
		}
	}
	return errors.Join(errs...)
}

func snapshotAt(o *opts, addr string, r *snapshotResult) error {
	c, err := o.dial(addr)
	if err != nil {
		return err
	}
	defer c.close()
	return snapshotOn(c, r)
}

func snapshotOn(c *client, r *snapshotResult) error {
	if _, err := c.do("SNAPSHOT"); err != nil {
		return err
	}
	r.OK = true
	v, err := c.do("INFO", "raft")
	if err != nil {
		return err
	}
	r.SnapshotIndex = parseInfo(string(v.Str)).uint("raft_last_snapshot_index")
	return nil
}
