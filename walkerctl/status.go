package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "check the cluster's health: every member asked directly",
		Description: `Reads the member list (RAFT.MEMBERS) from the node at --addr, asks every
member for INFO raft, keyspace and persistence at its own RESP address, and
prints one screen: a verdict line, a row per member (state, term, the leader
it names, commit, applied and last log index, last snapshot, lag behind the
leader's applied index, keys, bytes on disk), and the problems found.

The cluster is unhealthy, and status exits with 6, when:
   - a member cannot be reached (or has no RESP address recorded);
   - no reachable member is the leader, or more than one claims to be;
   - members disagree on the leader, or one knows none;
   - the leader has not yet applied an entry of its own term (not ready);
   - a member's applied index is more than --max-lag entries behind the
     leader's;
   - on nodes with several Raft groups (walkerd --groups), a group other
     than g1 (whose figures are the ones above) has no leader known, or
     its members disagree on it (as groups --all reports).

--json prints {"healthy", "leader", "term", "members": [...], "problems": [...]};
the exit code is the same as without it.`,
		Flags: []cli.Flag{
			&cli.Uint64Flag{Name: "max-lag", Value: 1000, Usage: "a member more than `N` entries behind the leader makes the cluster unhealthy"},
		},
		Action: runStatus,
	}
}

// nodeStatus is one member as it reports itself.
type nodeStatus struct {
	ID            string  `json:"id"`
	RaftAddr      string  `json:"raft_addr"`
	RESPAddr      string  `json:"resp_addr"`
	Suffrage      string  `json:"suffrage"`
	Reachable     bool    `json:"reachable"`
	Error         string  `json:"error,omitempty"`
	State         string  `json:"state,omitempty"` // leader, follower, candidate, shutdown
	Term          uint64  `json:"term"`
	LeaderID      string  `json:"leader_id"`
	Ready         bool    `json:"ready"` // leader only: has applied an entry of its term
	CommitIndex   uint64  `json:"commit_index"`
	AppliedIndex  uint64  `json:"applied_index"`
	LastLogIndex  uint64  `json:"last_log_index"`
	SnapshotIndex uint64  `json:"last_snapshot_index"`
	LastContact   string  `json:"last_contact,omitempty"`
	Lag           *uint64 `json:"lag"` // entries behind the leader's applied index
	Keys          int64   `json:"keys"`
	DiskBytes     int64   `json:"disk_bytes"`
	DeadBytes     int64   `json:"dead_bytes"`
}

// clusterStatus is status's report.
type clusterStatus struct {
	Healthy  bool         `json:"healthy"`
	Leader   string       `json:"leader"`
	Term     uint64       `json:"term"`
	Members  []nodeStatus `json:"members"`
	Problems []string     `json:"problems"`
}

func runStatus(c *cli.Context) error {
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
	results := probe(o, ms, "raft", "keyspace", "persistence")
	nodes := make([]nodeStatus, len(ms))
	for i, m := range ms {
		n := nodeStatus{ID: m.ID, RaftAddr: m.RaftAddr, RESPAddr: m.RESPAddr, Suffrage: m.Suffrage, Reachable: results[i].err == nil}
		if err := results[i].err; err != nil {
			n.Error = err.Error()
		} else {
			in := results[i].info
			n.State = in.get("raft_state")
			n.Term = in.uint("raft_term")
			n.LeaderID = in.get("raft_leader_id")
			n.Ready = in.get("raft_ready") == "true"
			n.CommitIndex = in.uint("raft_commit_index")
			n.AppliedIndex = in.uint("raft_applied_index")
			n.LastLogIndex = in.uint("raft_last_log_index")
			n.SnapshotIndex = in.uint("raft_last_snapshot_index")
			n.LastContact = in.get("raft_last_contact")
			n.Keys = in.keys()
			n.DiskBytes = in.int("engine_bytes")
			n.DeadBytes = in.int("engine_dead_bytes")
		}
		nodes[i] = n
	}
	st := assess(nodes, c.Uint64("max-lag"))
	st.Problems = append(st.Problems, otherGroupProblems(ms, results)...)
	st.Healthy = len(st.Problems) == 0
	if o.json {
		if err := writeJSON(o.stdout, st); err != nil {
			return err
		}
	} else if err := writeStatus(o, st); err != nil {
		return err
	}
	if !st.Healthy {
		return &unhealthyError{problems: len(st.Problems)}
	}
	return nil
}

// assess gives the verdict on what the members reported, and fills in
// each member's lag.
func assess(nodes []nodeStatus, maxLag uint64) clusterStatus {
	st := clusterStatus{Members: nodes, Problems: []string{}}
	problem := func(format string, a ...any) { st.Problems = append(st.Problems, fmt.Sprintf(format, a...)) }
	if len(nodes) == 0 {
		problem("the cluster has no members")
	}

	var up []*nodeStatus
	for i := range nodes {
		n := &nodes[i]
		if !n.Reachable {
			problem("%s: %s", n.ID, n.Error)
			continue
		}
		up = append(up, n)
	}

	// The leader: a reachable member that says it leads; the newest term
	// wins if a deposed leader has not noticed yet.
	var leader *nodeStatus
	var claims []string
	for _, n := range up {
		if n.State == "leader" {
			claims = append(claims, fmt.Sprintf("%s (term %d)", n.ID, n.Term))
			if leader == nil || n.Term > leader.Term {
				leader = n
			}
		}
	}
	switch {
	case leader == nil && len(up) > 0:
		named := map[string]bool{}
		for _, n := range up {
			if n.LeaderID != "" {
				named[n.LeaderID] = true
			}
		}
		if len(named) == 0 {
			problem("no leader: no member leads or knows a leader")
		} else {
			problem("no leader: no reachable member leads (members name %s)", strings.Join(sortedKeys(named), ", "))
		}
	case len(claims) > 1:
		problem("several members claim to lead: %s", strings.Join(claims, ", "))
	}
	if leader != nil {
		st.Leader, st.Term = leader.ID, leader.Term
		if !leader.Ready {
			problem("%s leads but is not ready: it has not yet applied an entry of term %d", leader.ID, leader.Term)
		}
	}

	// Agreement: every reachable member names the same leader (one that
	// knows none disagrees too).
	named := map[string]bool{}
	for _, n := range up {
		named[n.LeaderID] = true
	}
	if len(named) > 1 {
		views := make([]string, len(up))
		for i, n := range up {
			views[i] = n.ID + " names " + orNone(n.LeaderID)
		}
		problem("members disagree on the leader: %s", strings.Join(views, ", "))
	}

	// Lag, against the leader's applied index (or the highest one seen
	// when there is no leader). Not its commit index: raft_applied_index
	// counts only entries that reach the state machine, and trails the
	// commit index by each election's no-op and barrier entries.
	var ref uint64
	if leader != nil {
		ref = leader.AppliedIndex
	} else {
		for _, n := range up {
			ref = max(ref, n.AppliedIndex)
		}
	}
	for _, n := range up {
		lag := ref - min(n.AppliedIndex, ref)
		n.Lag = &lag
		if lag > maxLag {
			what := "the leader"
			if leader == nil {
				what = "the most advanced member"
			}
			problem("%s is %d entries behind %s (applied index %d against %d; --max-lag %d)", n.ID, lag, what, n.AppliedIndex, ref, maxLag)
		}
	}
	st.Healthy = len(st.Problems) == 0
	return st
}

// otherGroupProblems are the leader problems of the Raft groups beyond the
// home group (raft_group0) on nodes with several (mergeGroupViews); assess
// has judged the home group, whose figures INFO raft's own lines are. The
// home group need not come first in slot order once slots have migrated.
func otherGroupProblems(ms []member, results []probeResult) []string {
	views, problems := mergeGroupViews(ms, results)
	if len(views) < 2 {
		return nil
	}
	var out []string
next:
	for _, p := range problems {
		for _, v := range views {
			if v.home && strings.HasPrefix(p, v.ID+": ") {
				continue next
			}
		}
		out = append(out, p)
	}
	return out
}

func writeStatus(o *opts, st clusterStatus) error {
	reachable := 0
	for _, n := range st.Members {
		if n.Reachable {
			reachable++
		}
	}
	verdict := "healthy"
	if !st.Healthy {
		verdict = "UNHEALTHY"
	}
	leader := "no leader"
	if st.Leader != "" {
		leader = fmt.Sprintf("leader %s at term %d", st.Leader, st.Term)
	}
	fmt.Fprintf(o.stdout, "cluster %s: %s, %d of %d members reachable\n\n", verdict, leader, reachable, len(st.Members))

	t := newTable("ID", "RESP ADDRESS", "STATE", "TERM", "LEADER", "COMMIT", "APPLIED", "LAST LOG", "SNAPSHOT", "LAG", "KEYS", "DISK")
	for _, n := range st.Members {
		if !n.Reachable {
			t.add(n.ID, n.RESPAddr, "unreachable", "", "", "", "", "", "", "", "", "")
			continue
		}
		t.add(n.ID, n.RESPAddr, n.State, fmt.Sprint(n.Term), n.LeaderID,
			fmt.Sprint(n.CommitIndex), fmt.Sprint(n.AppliedIndex), fmt.Sprint(n.LastLogIndex), fmt.Sprint(n.SnapshotIndex),
			uintCell(n.Lag), fmt.Sprint(n.Keys), humanBytes(n.DiskBytes))
	}
	if err := t.write(o.stdout); err != nil {
		return err
	}
	if len(st.Problems) > 0 {
		fmt.Fprintln(o.stdout, "\nproblems:")
		for _, p := range st.Problems {
			fmt.Fprintln(o.stdout, "  - "+p)
		}
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func sortedKeys(m map[string]bool) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
