package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/walkerdb/walkerdb/internal/proc"
)

// Fault is one fault injected, as the results record it. Times are on the
// history's clock (nanoseconds since the run began).
type Fault struct {
	Kind    string   `json:"kind"`
	Start   int64    `json:"start"`
	End     int64    `json:"end"` // when it was healed
	Targets []string `json:"targets,omitempty"`
	Leader  string   `json:"leader,omitempty"` // the leader when it began
	// LeaderCut: the leader was cut off from the majority, or paused (a
	// window in which a default read may be stale).
	LeaderCut bool   `json:"leader_cut,omitempty"`
	Detail    string `json:"detail,omitempty"`
	Err       string `json:"err,omitempty"`
	// CatchUp is how long after the heal began every node had applied
	// the log up to the leader's commit index at the heal (-1: not within
	// a minute; 0: not measured).
	CatchUp time.Duration `json:"catch_up_ns,omitempty"`
}

// nemesis is one kind of fault. start injects it and returns how to heal
// it.
type nemesis struct {
	name  string
	class string // net, proc, or solo (never combined)
	start func(ns *Nemeses, f *Fault) (heal func() error, err error)
}

// NemesisNames lists the nemeses by name.
var NemesisNames = []string{"kill", "kill-leader", "pause", "partition-leader", "split", "isolate", "delay", "member", "restart-all", "migrate", "regroup"}

var nemeses = map[string]nemesis{
	"kill":             {"kill", "proc", startKill(false)},
	"kill-leader":      {"kill-leader", "proc", startKill(true)},
	"pause":            {"pause", "proc", startPause},
	"partition-leader": {"partition-leader", "net", startPartitionLeader},
	"split":            {"split", "net", startSplit},
	"isolate":          {"isolate", "net", startIsolate},
	"delay":            {"delay", "net", startDelay},
	"member":           {"member", "solo", startMember},
	"restart-all":      {"restart-all", "solo", startRestartAll},
	"migrate":          {"migrate", "proc", startMigrate}, // migrate.go: walkerd --groups only
	"regroup":          {"regroup", "proc", startRegroup}, // migrate.go: walkerd --groups only
}

// Nemeses injects faults into a cluster on a schedule.
type Nemeses struct {
	C     *Cluster
	H     *History
	Rand  *rand.Rand
	Kinds []string
	// Quiet and Hold bound the random time between faults and the time a
	// fault lasts. Zero: 1-3 s and 3-7 s.
	Quiet, Hold [2]time.Duration
	// Combine is the chance that a network fault and a process fault run
	// at once.
	Combine float64
	Logf    func(format string, args ...any)

	mu      sync.Mutex
	wg      sync.WaitGroup
	faults  []*Fault
	removed map[int]bool // nodes that left and have not rejoined
}

// Validate checks the kinds.
func ValidateNemeses(kinds []string) error {
	for _, k := range kinds {
		if _, ok := nemeses[k]; !ok {
			return fmt.Errorf("unknown nemesis %q: want some of %s", k, strings.Join(NemesisNames, ","))
		}
	}
	return nil
}

// Faults returns the faults injected so far.
func (ns *Nemeses) Faults() []*Fault {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return append([]*Fault(nil), ns.faults...)
}

func (ns *Nemeses) logf(format string, args ...any) {
	if ns.Logf != nil {
		ns.Logf(format, args...)
	}
}

func between(r *rand.Rand, b [2]time.Duration) time.Duration {
	if b[1] <= b[0] {
		return b[0]
	}
	return b[0] + time.Duration(r.Int64N(int64(b[1]-b[0])))
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Run injects faults until ctx is done, and heals the last ones before it
// returns.
func (ns *Nemeses) Run(ctx context.Context) {
	if ns.Quiet == [2]time.Duration{} {
		ns.Quiet = [2]time.Duration{time.Second, 3 * time.Second}
	}
	if ns.Hold == [2]time.Duration{} {
		ns.Hold = [2]time.Duration{3 * time.Second, 7 * time.Second}
	}
	if len(ns.Kinds) == 0 {
		return
	}
	var net, proc []string
	for _, k := range ns.Kinds {
		switch nemeses[k].class {
		case "net":
			net = append(net, k)
		case "proc":
			proc = append(proc, k)
		}
	}
	for sleepCtx(ctx, between(ns.Rand, ns.Quiet)) {
		kinds := []string{ns.Kinds[ns.Rand.IntN(len(ns.Kinds))]}
		if c := nemeses[kinds[0]].class; c != "solo" && len(net) > 0 && len(proc) > 0 && ns.Rand.Float64() < ns.Combine {
			if c == "net" {
				kinds = append(kinds, proc[ns.Rand.IntN(len(proc))])
			} else {
				kinds = append(kinds, net[ns.Rand.IntN(len(net))])
			}
		}
		var heals []func()
		for _, k := range kinds {
			if h := ns.inject(k); h != nil {
				heals = append(heals, h)
			}
		}
		sleepCtx(ctx, between(ns.Rand, ns.Hold))
		for i := len(heals) - 1; i >= 0; i-- {
			heals[i]()
		}
	}
}

// inject starts one fault and returns its healer (nil if it did not start).
func (ns *Nemeses) inject(kind string) func() {
	f := &Fault{Kind: kind, Start: ns.H.Now(), End: -1}
	if l := ns.C.Leader(); l != nil {
		f.Leader = l.ID
	}
	heal, err := nemeses[kind].start(ns, f)
	ns.mu.Lock()
	ns.faults = append(ns.faults, f)
	ns.mu.Unlock()
	if err != nil {
		f.Err = err.Error()
		f.End = ns.H.Now()
		ns.logf("nemesis %s: %v", kind, err)
		if heal != nil {
			heal()
		}
		return nil
	}
	ns.logf("%7.2fs fault %s %v %s", float64(f.Start)/1e9, kind, f.Targets, f.Detail)
	return func() {
		began := time.Now()
		var err error
		if heal != nil {
			err = heal()
		}
		ns.mu.Lock()
		f.End = ns.H.Now()
		if err != nil {
			f.Err = "heal: " + err.Error()
		}
		ns.mu.Unlock()
		ns.logf("%7.2fs heal  %s %v", float64(f.End)/1e9, kind, errString(err))
		ns.wg.Add(1)
		go func() {
			defer ns.wg.Done()
			d := ns.C.CatchUp(began, time.Minute)
			ns.mu.Lock()
			f.CatchUp = d
			ns.mu.Unlock()
		}()
	}
}

// Wait waits for the catch-up measurements still running.
func (ns *Nemeses) Wait() { ns.wg.Wait() }

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// live returns the indexes of nodes that are running, not paused, and
// members.
func (ns *Nemeses) live() []int {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	var out []int
	for _, n := range ns.C.Nodes {
		if n.Running() && !n.Paused() && !ns.removed[n.Index] {
			out = append(out, n.Index)
		}
	}
	return out
}

func (ns *Nemeses) pick(from []int) (int, bool) {
	if len(from) == 0 {
		return 0, false
	}
	return from[ns.Rand.IntN(len(from))], true
}

func (ns *Nemeses) leaderIndex() (int, bool) {
	l := ns.C.Leader()
	if l == nil {
		return 0, false
	}
	return l.Index, true
}

func ids(c *Cluster, idx []int) []string {
	out := make([]string, len(idx))
	for i, x := range idx {
		out[i] = c.Nodes[x].ID
	}
	return out
}

func startKill(leader bool) func(ns *Nemeses, f *Fault) (func() error, error) {
	return func(ns *Nemeses, f *Fault) (func() error, error) {
		i, ok := ns.leaderIndex()
		if !leader || !ok {
			if i, ok = ns.pick(ns.live()); !ok {
				return nil, errors.New("no live node")
			}
			if leader {
				f.Detail = "no leader: a random node"
			}
		}
		n := ns.C.Nodes[i]
		f.Targets = []string{n.ID}
		n.Kill()
		return func() error { return n.Start(30 * time.Second) }, nil
	}
}

func startPause(ns *Nemeses, f *Fault) (func() error, error) {
	i, ok := ns.leaderIndex()
	if !ok || ns.Rand.IntN(2) == 0 {
		if i, ok = ns.pick(ns.live()); !ok {
			return nil, errors.New("no live node")
		}
	}
	n := ns.C.Nodes[i]
	f.Targets = []string{n.ID}
	f.LeaderCut = n.ID == f.Leader
	n.Pause()
	return func() error { n.Resume(); return nil }, nil
}

func (ns *Nemeses) blockMode(f *Fault) BlockMode {
	m := Stall
	if ns.Rand.IntN(3) == 0 {
		m = Reset
	}
	f.Detail = m.String()
	return m
}

// partition cuts minority off from the rest and records whether the
// leader ended up in the minority.
func (ns *Nemeses) partition(f *Fault, minority []int) func() error {
	var rest []int
	for _, n := range ns.C.Nodes {
		if !slices.Contains(minority, n.Index) {
			rest = append(rest, n.Index)
		}
	}
	for _, m := range minority {
		if ns.C.Nodes[m].ID == f.Leader {
			f.LeaderCut = true
		}
	}
	f.Targets = ids(ns.C, minority)
	ns.C.Net.Partition(ns.blockMode(f), minority, rest)
	f.Detail += " " + fmt.Sprint(ids(ns.C, minority)) + " | " + fmt.Sprint(ids(ns.C, rest))
	return func() error { ns.C.Net.Heal(); return nil }
}

func (ns *Nemeses) shuffled() []int {
	idx := make([]int, len(ns.C.Nodes))
	for i := range idx {
		idx[i] = i
	}
	ns.Rand.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	return idx
}

func startPartitionLeader(ns *Nemeses, f *Fault) (func() error, error) {
	l, ok := ns.leaderIndex()
	if !ok {
		return nil, errors.New("no leader to partition")
	}
	minority := []int{l}
	// With five nodes, one follower stays with the old leader.
	for _, i := range ns.shuffled() {
		if len(minority) >= (len(ns.C.Nodes)-1)/2 {
			break
		}
		if i != l {
			minority = append(minority, i)
		}
	}
	return ns.partition(f, minority), nil
}

func startSplit(ns *Nemeses, f *Fault) (func() error, error) {
	idx := ns.shuffled()
	minority := idx[:(len(idx)-1)/2]
	sort.Ints(minority)
	return ns.partition(f, minority), nil
}

func startIsolate(ns *Nemeses, f *Fault) (func() error, error) {
	idx := ns.shuffled()
	return ns.partition(f, idx[:1]), nil
}

func startDelay(ns *Nemeses, f *Fault) (func() error, error) {
	base := time.Duration(20+ns.Rand.IntN(130)) * time.Millisecond
	jitter := time.Duration(ns.Rand.IntN(60)) * time.Millisecond
	for _, a := range ns.C.Nodes {
		for _, b := range ns.C.Nodes {
			if a != b {
				ns.C.Net.SetDelay(a.Index, b.Index, Delay{Base: base, Jitter: jitter})
			}
		}
	}
	f.Detail = fmt.Sprintf("every link %v + up to %v", base, jitter)
	return func() error { ns.C.Net.Heal(); return nil }, nil
}

// startMember sends LEAVE for a node (to another node, which forwards it
// to the leader), stops the node, and on heal brings it back with -join,
// half the time with its data wiped.
func startMember(ns *Nemeses, f *Fault) (func() error, error) {
	live := ns.live()
	if len(live) < len(ns.C.Nodes) {
		return nil, errors.New("not every node is up")
	}
	x, _ := ns.pick(live)
	var others []int
	for _, i := range live {
		if i != x {
			others = append(others, i)
		}
	}
	y, _ := ns.pick(others)
	n, via := ns.C.Nodes[x], ns.C.Nodes[y]
	f.Targets = []string{n.ID}
	v, err := via.Do(10*time.Second, "LEAVE", n.ID)
	if err == nil && v.Kind == '-' {
		err = errors.New(string(v.Str))
	}
	wipe := ns.Rand.IntN(2) == 0
	f.Detail = fmt.Sprintf("LEAVE via %s; rejoin wiped=%v", via.ID, wipe)
	if err != nil {
		// An error reply does not prove the node stayed: look.
		if !ns.removedFromConfig(n, 5*time.Second) {
			return nil, fmt.Errorf("LEAVE %s via %s: %w", n.ID, via.ID, err)
		}
		f.Detail += fmt.Sprintf("; LEAVE answered %q, yet %s left the configuration", err, n.ID)
		ns.logf("LEAVE %s via %s answered %q, yet %s left the configuration", n.ID, via.ID, err, n.ID)
	}
	ns.mu.Lock()
	ns.removed[x] = true
	ns.mu.Unlock()
	n.Stop(10 * time.Second)
	return func() error {
		if wipe {
			if err := wipeNode(n); err != nil {
				return err
			}
		}
		err := ns.rejoin(n)
		ns.mu.Lock()
		delete(ns.removed, x)
		ns.mu.Unlock()
		return err
	}, nil
}

// removedFromConfig reports whether some other node's configuration,
// within timeout, lacks n.
func (ns *Nemeses) removedFromConfig(n *Node, timeout time.Duration) bool {
	return proc.WaitFor(timeout, func() error {
		for _, m := range ns.C.Nodes {
			if m == n || !m.Running() || m.Paused() {
				continue
			}
			ms, err := m.Members(time.Second)
			if err == nil && len(ms) > 0 && !slices.Contains(ms, n.ID) {
				return nil
			}
		}
		return errors.New("still a member")
	}) == nil
}

func wipeNode(n *Node) error {
	for _, d := range []string{"data", "raft"} {
		if err := os.RemoveAll(filepath.Join(n.Dir, d)); err != nil {
			return err
		}
	}
	return nil
}

// rejoin starts a node that left with -join through another running node,
// and waits until the leader has promoted it to voter (it joins as a
// non-voter): the next fault then meets the cluster at full strength.
func (ns *Nemeses) rejoin(n *Node) error {
	for _, m := range ns.C.Nodes {
		if m != n && m.Running() {
			if err := n.Start(30*time.Second, "-join", m.RESPProxy); err != nil {
				return err
			}
			return ns.waitVoter(n, 30*time.Second)
		}
	}
	return errors.New("no running node to join through")
}

// waitVoter waits until the leader's configuration lists n as a voter.
func (ns *Nemeses) waitVoter(n *Node, timeout time.Duration) error {
	return proc.WaitFor(timeout, func() error {
		l := ns.C.Leader()
		if l == nil {
			return errors.New("no leader")
		}
		v, err := l.Do(time.Second, "RAFT.MEMBERS")
		if err != nil {
			return err
		}
		for _, m := range v.Elems {
			if len(m.Elems) == 5 && string(m.Elems[0].Str) == n.ID {
				if s := string(m.Elems[4].Str); s != "voter" {
					return fmt.Errorf("%s is a %s", n.ID, s)
				}
				return nil
			}
		}
		return fmt.Errorf("%s is not a member", n.ID)
	})
}

func startRestartAll(ns *Nemeses, f *Fault) (func() error, error) {
	var wg sync.WaitGroup
	for _, n := range ns.C.Nodes {
		f.Targets = append(f.Targets, n.ID)
		wg.Add(1)
		go func() { defer wg.Done(); n.Kill() }()
	}
	wg.Wait()
	return func() error {
		errs := make([]error, len(ns.C.Nodes))
		for i, n := range ns.C.Nodes {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = n.Start(30 * time.Second) }()
		}
		wg.Wait()
		return errors.Join(errs...)
	}, nil
}

// HealAll opens the network, resumes paused nodes, and starts every node
// that is down (with -join if it had left). Then any node the leader's
// configuration lacks (it left although the harness did not learn it)
// is reported and brought back.
func (ns *Nemeses) HealAll() error {
	err := ns.healAll()
	l, lerr := ns.C.WaitLeader(30 * time.Second)
	if lerr != nil {
		return errors.Join(err, lerr)
	}
	ms, merr := l.Members(5 * time.Second)
	if merr != nil {
		return errors.Join(err, merr)
	}
	for _, n := range ns.C.Nodes {
		if slices.Contains(ms, n.ID) {
			continue
		}
		err = errors.Join(err, fmt.Errorf("%s was not in the configuration after the faults (%v): rejoined it", n.ID, ms))
		n.Stop(10 * time.Second)
		err = errors.Join(err, ns.rejoin(n))
	}
	return err
}

func (ns *Nemeses) healAll() error {
	ns.C.Net.Heal()
	var errs []error
	for _, n := range ns.C.Nodes {
		n.Resume()
		if n.Running() {
			continue
		}
		ns.mu.Lock()
		removed := ns.removed[n.Index]
		delete(ns.removed, n.Index)
		ns.mu.Unlock()
		if removed {
			errs = append(errs, ns.rejoin(n))
		} else {
			errs = append(errs, n.Start(30*time.Second))
		}
	}
	return errors.Join(errs...)
}
