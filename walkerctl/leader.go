package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"
)

func leaderCommand() *cli.Command {
	return &cli.Command{
		Name:  "leader",
		Usage: "print the leader, as the node at --addr knows it",
		Description: `Sends RAFT.LEADER to the node at --addr and prints the leader's id, Raft
address and RESP address. Then it asks the leader so named whether it still
leads: a node goes on naming a leader that has just died until its election
timeout passes. Exits with 5 when that node knows no leader, or when the
leader it names does not answer or names another (the leader is unknown).

--json prints {"id", "raft_addr", "resp_addr"}.`,
		Action: runLeader,
	}
}

// leaderRef is RAFT.LEADER's reply.
type leaderRef struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	RESPAddr string `json:"resp_addr"`
}

func runLeader(c *cli.Context) error {
	if err := args(c, 0, 0); err != nil {
		return err
	}
	o, err := optsOf(c)
	if err != nil {
		return err
	}
	l, err := findLeader(o)
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(o.stdout, l)
	}
	t := newTable("ID", "RAFT ADDRESS", "RESP ADDRESS")
	t.add(l.ID, l.RaftAddr, l.RESPAddr)
	return t.write(o.stdout)
}

// findLeader asks the first node of --addr that answers who leads, then
// checks with the leader it names, which may have died a moment ago (its
// followers name it until their election timeout passes).
func findLeader(o *opts) (leaderRef, error) {
	c, err := o.anyNode()
	if err != nil {
		return leaderRef{}, err
	}
	defer c.close()
	l, err := askLeader(c)
	if err != nil || l.RESPAddr == "" || l.RESPAddr == c.addr {
		// Without an address the leader cannot be asked; the node asked
		// speaks for itself.
		return l, err
	}
	confirmed, err := leaderAt(o, l.RESPAddr)
	var ue *unreachableError
	var ne *noLeaderError
	switch {
	case errors.As(err, &ue):
		return leaderRef{}, &noLeaderError{unknown: true, detail: fmt.Sprintf("%s names %s, which does not answer (%v); it may have just failed, and an election will follow", c.addr, l.ID, err)}
	case errors.As(err, &ne):
		return leaderRef{}, &noLeaderError{unknown: true, detail: fmt.Sprintf("%s names %s, which knows no leader", c.addr, l.ID)}
	case err != nil:
		return leaderRef{}, err
	case confirmed.ID != l.ID:
		return leaderRef{}, &noLeaderError{unknown: true, detail: fmt.Sprintf("%s names %s, which names %s (leadership is moving)", c.addr, l.ID, confirmed.ID)}
	}
	return l, nil
}

func askLeader(c *client) (leaderRef, error) {
	v, err := c.do("RAFT.LEADER")
	if err != nil {
		return leaderRef{}, err
	}
	if v.Null {
		return leaderRef{}, &noLeaderError{detail: c.addr + " knows no leader (an election may be running, or a quorum of voters is down)"}
	}
	f, err := replyFields(v)
	if err == nil && len(f) < 3 {
		err = fmt.Errorf("%d fields, want 3", len(f))
	}
	if err != nil {
		return leaderRef{}, fmt.Errorf("%s: RAFT.LEADER: %w", c.addr, err)
	}
	return leaderRef{ID: f[0], RaftAddr: f[1], RESPAddr: f[2]}, nil
}
