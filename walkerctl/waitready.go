package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

func waitReadyCommand() *cli.Command {
	return &cli.Command{
		Name:  "wait-ready",
		Usage: "wait until the node at --addr can serve",
		Description: `Waits until every node of --addr can serve commands, for at most --timeout
(here the whole wait, 5s unless given), asking every 50 ms: the node
answers PING with PONG, not with LOADING (a node started or restarted
answers LOADING until it has caught up with the cluster), and, in cluster
mode, names a leader. A standalone node is ready once it answers PING.

Prints "ADDR ready" for each node; --json prints {"ready": [ADDR...]}.
Exits with 5 when a node was still loading or knew no leader at the
deadline, with 3 when it could not be reached.

For a container's HEALTHCHECK or a script after starting a node:
   walkerctl --addr 127.0.0.1:6379 wait-ready --timeout 60s`,
		Action: runWaitReady,
	}
}

func runWaitReady(c *cli.Context) error {
	if err := args(c, 0, 0); err != nil {
		return err
	}
	o, err := optsOf(c)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(o.timeout)
	for _, addr := range o.addrs {
		if err := waitReady(o, addr, deadline); err != nil {
			return err
		}
		if !o.json {
			fmt.Fprintln(o.stdout, addr+" ready")
		}
	}
	if o.json {
		return writeJSON(o.stdout, map[string]any{"ready": o.addrs})
	}
	return nil
}

// notReadyError: a node was not ready at the deadline. Its exit code is
// its last cause's.
type notReadyError struct {
	addr    string
	timeout time.Duration
	last    error
}

func (e *notReadyError) Error() string {
	return fmt.Sprintf("%s not ready within %v: %v", e.addr, e.timeout, e.last)
}

func (e *notReadyError) Unwrap() error { return e.last }

// waitReady asks addr whether it is ready every 50 ms until it is or the
// deadline passes. A wrong or missing password ends the wait at once.
func waitReady(o *opts, addr string, deadline time.Time) error {
	const poll = 50 * time.Millisecond
	for {
		left := time.Until(deadline)
		err := checkReady(o, addr, max(min(left, time.Second), 10*time.Millisecond))
		var ae *authError
		if err == nil || errors.As(err, &ae) {
			return err
		}
		if left <= poll {
			return &notReadyError{addr: addr, timeout: o.timeout, last: err}
		}
		select {
		case <-o.ctx.Done():
			return &notReadyError{addr: addr, timeout: o.timeout, last: err}
		case <-time.After(poll):
		}
	}
}

// checkReady asks addr once: nil when it answers PING with PONG and, in
// cluster mode, INFO raft names a leader's address.
func checkReady(o *opts, addr string, timeout time.Duration) error {
	cl, err := dial(o.ctx, addr, o.auth, timeout)
	if err != nil {
		return err
	}
	defer cl.close()
	if _, err := cl.do("PING"); err != nil {
		var re *replyError
		if errors.As(err, &re) && strings.HasPrefix(re.msg, "LOADING") {
			return &noLeaderError{detail: addr + " is loading (it has not caught up with the cluster since it started)"}
		}
		return err
	}
	v, err := cl.do("INFO", "raft")
	if err != nil {
		return err
	}
	info := map[string]string{}
	for _, line := range strings.Split(string(v.Str), "\r\n") {
		if k, val, ok := strings.Cut(line, ":"); ok {
			info[k] = val
		}
	}
	if st := info["raft_state"]; st != "" && st != "standalone" && info["raft_leader_addr"] == "" {
		return &noLeaderError{detail: addr + " knows no leader (raft state " + st + ")"}
	}
	return nil
}
