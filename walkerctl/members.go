package main

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/internal/resp"
)

func membersCommand() *cli.Command {
	return &cli.Command{
		Name:  "members",
		Usage: "list the cluster's members, each asked directly",
		Description: `Reads the Raft configuration (RAFT.MEMBERS) from the node at --addr, then
asks every member for INFO raft at its own RESP address, and prints one row
per member: id, Raft address, RESP address, role, suffrage, whether it
answered, its applied index, and its lag: how far its applied index is
behind the leader's (in Raft log entries).

A member that does not answer is listed as not reachable, and members then
exits with 6 (the cluster is unhealthy), as status and info --all do. So
does a member whose RESP address is not recorded yet: members record their
addresses as they join and as they lead, which takes a moment after a
cluster starts.

--json prints a list of {"id", "raft_addr", "resp_addr", "role", "suffrage",
"reachable", "applied_index", "lag", "error"} objects; applied_index and lag
are null when the member did not answer.`,
		Action: runMembers,
	}
}

// member is one row of RAFT.MEMBERS.
type member struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	RESPAddr string `json:"resp_addr"`
	Role     string `json:"role"`     // leader or follower
	Suffrage string `json:"suffrage"` // voter, nonvoter or staging
}

type memberRow struct {
	member
	Reachable    bool    `json:"reachable"`
	AppliedIndex *uint64 `json:"applied_index"`
	Lag          *uint64 `json:"lag"`
	Error        string  `json:"error,omitempty"`
}

func runMembers(c *cli.Context) error {
	if err := args(c, 0, 0); err != nil {
		return err
	}
	o, err := optsOf(c)
	if err != nil {
		return err
	}
	ms, err := fetchMembers(o)
	if err != nil {
		return err
	}
	results := probe(o, ms, "raft")
	// Lag is measured against the leader's applied index: walkerd's
	// raft_applied_index counts only entries that reach the state machine,
	// so it trails raft_commit_index by the no-op and barrier entries of
	// each election even on an idle cluster.
	var ref *uint64
	for i, m := range ms {
		if m.Role == "leader" && results[i].err == nil {
			n := results[i].info.uint("raft_applied_index")
			ref = &n
		}
	}
	rows := make([]memberRow, len(ms))
	for i, m := range ms {
		rows[i] = memberRow{member: m, Reachable: results[i].err == nil}
		if err := results[i].err; err != nil {
			rows[i].Error = err.Error()
			continue
		}
		applied := results[i].info.uint("raft_applied_index")
		rows[i].AppliedIndex = &applied
		if ref != nil {
			lag := *ref - min(applied, *ref)
			rows[i].Lag = &lag
		}
	}
	if o.json {
		if err := writeJSON(o.stdout, rows); err != nil {
			return err
		}
		return unasked(ms, results)
	}
	t := newTable("ID", "RAFT ADDRESS", "RESP ADDRESS", "ROLE", "SUFFRAGE", "REACHABLE", "APPLIED", "LAG")
	for _, r := range rows {
		reachable := "yes"
		switch {
		case r.Error == errNoRESPAddr.Error():
			reachable = "not-yet" // not asked: no address recorded yet
		case !r.Reachable:
			reachable = "no"
		}
		t.add(r.ID, r.RaftAddr, r.RESPAddr, r.Role, r.Suffrage, reachable, uintCell(r.AppliedIndex), uintCell(r.Lag))
	}
	if err := t.write(o.stdout); err != nil {
		return err
	}
	sep := "\n"
	for _, r := range rows {
		if r.Error != "" {
			fmt.Fprintf(o.stdout, "%s%s: %s\n", sep, r.ID, r.Error)
			sep = ""
		}
	}
	return unasked(ms, results)
}

// unasked is the error of members and info --all when some members could
// not be asked (whose causes they print with their output): nil when every
// member answered.
func unasked(ms []member, results []probeResult) error {
	var down, unrecorded []string
	for i, r := range results {
		switch {
		case errors.Is(r.err, errNoRESPAddr):
			unrecorded = append(unrecorded, ms[i].ID)
		case r.err != nil:
			down = append(down, ms[i].ID)
		}
	}
	var parts []string
	if len(down) > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d members could not be asked (%s)", len(down), len(ms), strings.Join(down, ", ")))
	}
	if len(unrecorded) > 0 {
		parts = append(parts, fmt.Sprintf("the RESP address of %s is still being recorded (members record theirs as they join and lead, a moment after a cluster starts): try again", strings.Join(unrecorded, ", ")))
	}
	if len(parts) == 0 {
		return nil
	}
	return &unhealthyError{problems: len(down) + len(unrecorded), detail: strings.Join(parts, "; ")}
}

// fetchMembers reads RAFT.MEMBERS from the first node of --addr that
// answers.
func fetchMembers(o *opts) ([]member, error) {
	v, addr, err := o.doOnce("RAFT.MEMBERS")
	if err != nil {
		return nil, err
	}
	if v.Kind != resp.KindArray {
		return nil, fmt.Errorf("%s: RAFT.MEMBERS answered %q, not an array", addr, v.Kind)
	}
	ms := make([]member, 0, len(v.Elems))
	for i, e := range v.Elems {
		f, err := replyFields(e)
		if err == nil && len(f) < 5 {
			err = fmt.Errorf("%d fields, want 5", len(f))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: RAFT.MEMBERS entry %d: %w", addr, i, err)
		}
		ms = append(ms, member{ID: f[0], RaftAddr: f[1], RESPAddr: f[2], Role: f[3], Suffrage: f[4]})
	}
	return ms, nil
}

// probeResult is what one member answered to INFO.
type probeResult struct {
	info info
	err  error
}

// errNoRESPAddr: the member's RESP address is not in the data yet. A
// member records it when it joins with one (JOIN's RESP-ADDR) and when it
// becomes a ready leader, each through the Raft log: just after a cluster
// starts, the nodes that have not applied those entries yet know no
// address (and a member that joined without one has none until it leads).
var errNoRESPAddr = errors.New("its RESP address is not recorded yet (still being recorded just after a cluster starts), so it cannot be asked")

// probe asks every member for INFO sections at its own RESP address, all
// at once, each within --timeout.
func probe(o *opts, ms []member, sections ...string) []probeResult {
	out := make([]probeResult, len(ms))
	var wg sync.WaitGroup
	for i, m := range ms {
		if m.RESPAddr == "" {
			out[i].err = errNoRESPAddr
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := o.dial(m.RESPAddr)
			if err != nil {
				out[i].err = err
				return
			}
			defer c.close()
			v, err := c.do(append([]string{"INFO"}, sections...)...)
			if err != nil {
				out[i].err = err
				return
			}
			out[i].info = parseInfo(string(v.Str))
		}()
	}
	wg.Wait()
	return out
}
