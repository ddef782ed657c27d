package server

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
	"github.com/walkerdb/walkerdb/walkerd/shard"
)

// Several Raft groups on one node (walkerd --groups N, Config.Groups):
// each group owns fixed hash slots (shard.Layout) and has its own engine,
// log and leader. The server sends each command to the group of its keys:
//
//   - a read reads the group's engine at the group's read level (c.be,
//     set by dispatch from the command's keys; route in clustermode.go);
//   - a write's entry goes to the group of the entry's keys (propose, by
//     entryRoute), forwarded to that group's leader when it leads
//     elsewhere; a command whose keys span groups answers CROSSSLOT, even
//     outside cluster mode, since no entry can be atomic in two logs;
//   - a keyless write that changes what every group must hold (FLUSHALL,
//     FLUSHDB, SWAPDB, SCRIPT LOAD and FLUSH, FUNCTION's writes, the ACL
//     users) goes to every group, one after the other: it is not atomic
//     across them, and its reply is the first group's, or the first error;
//   - other keyless commands (PUBLISH, EVAL with no keys, the cluster
//     commands) go to the first group, the node's home: s.b;
//   - DBSIZE, KEYS, RANDOMKEY, SCAN and INFO keyspace read this node's
//     copies of its own groups (localGroups), at the stale level: in
//     cluster mode the groups it leads, as a Redis Cluster master counts
//     its own slots and clients sum the masters; otherwise every group,
//     the whole keyspace. DEBUG DIGEST reads every group's.
//
// SAVE, BGSAVE and backups of a node with several groups are refused: they
// write one engine's checkpoint.

// Groups are the Raft groups a node hosts, by group index
// (shard.GroupIndex: g<N> at N-1); B[0] is the home group, the backend
// the Server was made with.
type Groups struct {
	Layout shard.Layout
	// Routes is the slot -> group table (the placement state's once it
	// has a map); nil: Layout's.
	Routes *shard.Routing
	// B are the groups the node starts with: the layout's, and those
	// GROUP ADD made (nil where the node runs none). SetGroups replaces
	// them as groups are made and dropped at run time.
	B []backend.Backend
	// Placement is the placement group (walkerd/placement), nil where
	// none runs. It owns no slot: commands never route to it, but JOIN,
	// LEAVE and WALKER.APPLY name it as GROUP placement.
	Placement backend.Backend

	live atomic.Pointer[[]backend.Backend] // B until the first SetGroups
}

// list is the groups the node runs now, by group index, nil where none.
func (g *Groups) list() []backend.Backend {
	if p := g.live.Load(); p != nil {
		return *p
	}
	return g.B
}

// SetGroups makes bs (by group index, nil where the node runs none) the
// node's data groups, when walkerd opens a group GROUP ADD made or closes
// one GROUP DROP ended. A group new to the table gets what the server
// gives each group at start: its applied entries reach blocked clients,
// keyspace notifications and tracking, and an expiry sweeper runs on it
// until it leaves the table. bs[0] stays the home group.
func (s *Server) SetGroups(bs []backend.Backend) {
	if !s.multi() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.groups.list()
	bs = slices.Clone(bs)
	s.groups.live.Store(&bs)
	for i, b := range bs {
		if b == nil || (i < len(old) && old[i] == b) {
			continue
		}
		b.Notify(s.appliedEntry)
		if r, ok := b.(backend.NewEvents); ok {
			r.SetNewEvents(s.newEventsOn())
		}
		if s.loops && !s.closed && s.cfg.SweepInterval > 0 {
			s.bg.Add(1)
			go s.sweepLoop(b)
		}
	}
}

// running reports whether b is one of the groups this node runs: false
// once GROUP DROP closed it.
func (s *Server) running(b backend.Backend) bool {
	return !s.multi() || slices.Contains(s.groups.list(), b)
}

// placementIndex is the placement group's index where a group index is
// taken (groupB, groupID, groupByID, memberGroups): past every data
// group's.
const placementIndex = shard.MaxGroups

// placementID is the placement group's id (store.Config.Group).
const placementID = "placement"

// multi reports whether this node hosts several groups.
func (s *Server) multi() bool { return s.groups != nil && len(s.groups.B) > 1 }

// groupOf is the index of slot's group: 0 with one group.
func (s *Server) groupOf(slot int) int {
	if !s.multi() || slot < 0 {
		return 0
	}
	if r := s.groups.Routes; r != nil {
		return r.GroupOf(uint16(slot))
	}
	return s.groups.Layout.GroupOf(uint16(slot))
}

// groupRanges lists the slot ranges routed to group i.
func (s *Server) groupRanges(i int) []shard.Range {
	if r := s.groups.Routes; r != nil {
		return r.Ranges(i)
	}
	if i < len(s.groups.Layout.Ranges) {
		return s.groups.Layout.Ranges[i]
	}
	return nil
}

// groupB is group i's backend, nil where this node runs no group i;
// placementIndex is the placement group.
func (s *Server) groupB(i int) backend.Backend {
	if !s.multi() {
		return s.b
	}
	if i == placementIndex {
		return s.groups.Placement
	}
	if l := s.groups.list(); i >= 0 && i < len(l) {
		return l[i]
	}
	return nil
}

// memberGroups lists the groups a membership change goes to: every data
// group this node runs, and the placement group where one runs
// (placementIndex).
func (s *Server) memberGroups() []int {
	if !s.multi() {
		return []int{0}
	}
	out := s.liveGroups()
	if s.groups.Placement != nil {
		out = append(out, placementIndex)
	}
	return out
}

// liveGroups lists the indexes of the data groups this node runs, the
// home group first.
func (s *Server) liveGroups() []int {
	if !s.multi() {
		return []int{0}
	}
	var out []int
	for i, b := range s.groups.list() {
		if b != nil {
			out = append(out, i)
		}
	}
	return out
}

// allGroups lists the backends of the data groups this node runs, the
// home group first (liveGroups' order).
func (s *Server) allGroups() []backend.Backend {
	if !s.multi() {
		return []backend.Backend{s.b}
	}
	// One read of the table: a group dropped meanwhile is in it or not,
	// never a nil entry.
	return slices.DeleteFunc(slices.Clone(s.groups.list()), func(b backend.Backend) bool { return b == nil })
}

// startGroups lists the groups the node started with that it still runs.
func (s *Server) startGroups() []backend.Backend {
	if !s.multi() {
		return []backend.Backend{s.b}
	}
	var out []backend.Backend
	now := s.groups.list()
	for i, b := range s.groups.B {
		if b != nil && i < len(now) && now[i] == b {
			out = append(out, b)
		}
	}
	return out
}

// groupID is group i's id ("g1"), "" with one group.
func (s *Server) groupID(i int) string {
	if !s.multi() {
		return ""
	}
	if i == placementIndex {
		return placementID
	}
	return shard.GroupID(i)
}

// groupByID is the index of the group named id that this node runs, -1 if
// none.
func (s *Server) groupByID(id string) int {
	if !s.multi() {
		if id == "" {
			return 0
		}
		return -1
	}
	if id == placementID && s.groups.Placement != nil {
		return placementIndex
	}
	if i := shard.GroupIndex(id); s.groupB(i) != nil {
		return i
	}
	return -1
}

// notRunText refuses a command whose slot's group this node does not run
// (yet): a node that was down when GROUP ADD made the group opens it
// within a second of reading that from placement. Clients retry
// TRYAGAIN.
const notRunText = "TRYAGAIN the Raft group of this hash slot is not open on this node yet"

// broadcastWrites are the keyless writes every group applies (groups.go).
var broadcastWrites = map[string]bool{
	"flushall": true, "flushdb": true, "swapdb": true,
	"script|load": true, "script|flush": true,
	"function|load": true, "function|delete": true, "function|flush": true, "function|restore": true,
	"walker.aclset": true,
}

// specOf looks up a command line's spec, its subcommand's when it has one.
func specOf(args [][]byte) *command.Spec { return command.SpecOf(args) }

// entryKeys lists the keys one command of an entry writes or reads
// (command.EntryKeys).
func entryKeys(k *command.Spec, args [][]byte) [][]byte { return command.EntryKeys(k, args) }

// entryRoute says where an entry goes: the index of its keys' group, or
// every group (broadcast, keyless writes every group must apply); errText
// when its keys span groups.
func (s *Server) entryRoute(e *command.Entry) (gi int, broadcast bool, errText string) {
	if !s.multi() {
		return 0, false, ""
	}
	gi = -1
	for _, w := range e.Watches { // a WATCHed key is checked in its group's state machine
		g := s.groupOf(int(keyspace.Slot(w.Key)))
		if gi >= 0 && g != gi {
			return 0, false, crossSlotText
		}
		gi = g
	}
	for _, args := range e.Cmds {
		k := specOf(args)
		if k == nil {
			continue
		}
		if broadcastWrites[k.Name] {
			broadcast = true
			continue
		}
		for _, key := range entryKeys(k, args) {
			g := s.groupOf(int(keyspace.Slot(key)))
			if gi >= 0 && g != gi {
				return 0, false, crossSlotText
			}
			gi = g
		}
	}
	switch {
	case broadcast && gi >= 0:
		return 0, false, crossSlotText // a FLUSHALL in a transaction with keys
	case gi < 0:
		return 0, broadcast, ""
	}
	return gi, false, ""
}

// applyGroup applies an entry to group gi, forwarding it to the group's
// leader when it leads elsewhere. A forwarded entry that the leader it
// reached refused because it no longer led (leadershipMovedText: refused
// before it was appended, certainly not applied, as when leadership is
// handed over or lost) is sent again, after a pause that doubles from
// 5 ms, to the leader this node knows then, until leaderWait has passed:
// a client sees a hand-over or an election as latency.
func (s *Server) applyGroup(c *client, gi int, e *command.Entry) *command.Result {
	b := s.groupB(gi)
	if b == nil {
		return &command.Result{Error: notRunText}
	}
	if c.guard != nil && c.guard.onLoop {
		if _, ok := b.(backend.DeferredApplier); ok {
			return s.applyOnLoop(b, e) // evloop.go: a standalone write on the loop's thread
		}
		return s.applyAsync(c, b, e) // commitloop.go: a write through Raft, proposed from the loop
	}
	deadline := time.Now().Add(leaderWait)
	readOnly := e.ReadOnly()
	for pause := 5 * time.Millisecond; ; pause = min(2*pause, 50*time.Millisecond) {
		res, err := s.applyWaiting(b, e)
		if err == nil {
			return res
		}
		var nl *backend.NotLeaderError
		if errors.As(err, &nl) && nl.LeaderAddr == "" && !nl.Removed && !c.forwarded && s.awaitLeader(b) {
			res, err = s.applyWaiting(b, e) // a leader was elected meanwhile: here, or forwarded below
			if err == nil {
				return res
			}
		}
		forwarded := errors.As(err, &nl)
		if forwarded {
			res = s.forwardApply(c, nl, e, s.groupID(gi))
		} else {
			res = &command.Result{Error: applyErrorText(err)}
		}
		if resend(res.Error, readOnly) && !c.forwarded && time.Now().Add(pause).Before(deadline) && s.pauseFor(pause) {
			continue
		}
		if readOnly && !c.forwarded && strings.HasPrefix(res.Error, unknownOutcome) {
			res.Error = readOnlyLostText // forwarded here (WALKER.FORWARD): its sender judges, and needs UNKNOWN
		}
		if forwarded {
			s.trackForwarded(c, e, res) // CLIENT TRACKING (tracking.go)
		}
		return res
	}
}

// resend reports whether an entry whose proposal failed with errText is
// proposed again, here or at the next known leader, while leaderWait
// allows: when the leader refused it (leadership moved: certainly not
// appended); and when it is read-only (command.Entry.ReadOnly) and its
// outcome was lost or its forward never left, since a second apply of it
// changes nothing, as a read a follower forwards is sent again (readAt).
func resend(errText string, readOnly bool) bool {
	return errText == leadershipMovedText ||
		readOnly && (strings.HasPrefix(errText, unknownOutcome) || strings.HasPrefix(errText, leaderUnreachable))
}

// readOnlyLostText answers a read-only entry (a MULTI/EXEC of reads) whose
// outcome was lost until leaderWait ran out: unknownOutcome would say a
// write may have been applied, and there is none.
const readOnlyLostText = "CLUSTERDOWN leadership was lost while the transaction was in flight; it changed nothing"

// leadershipMovedText answers an entry forwarded to a node that no longer
// leads its group: it was not appended there.
const leadershipMovedText = "CLUSTERDOWN not the leader (leadership moved)"

// applyWaiting applies e in group b; while b's leader refuses it because
// it is handing leadership over (backend.ErrTransferring: refused before
// it was appended, certainly not applied), it tries again every few
// milliseconds, up to leaderWait. Once the transfer is over, this node no
// longer leads and the caller forwards e to the new leader.
func (s *Server) applyWaiting(b backend.Backend, e *command.Entry) (*command.Result, error) {
	deadline := time.Now().Add(leaderWait)
	for pause := 5 * time.Millisecond; ; pause = min(2*pause, 50*time.Millisecond) {
		res, err := b.Apply(e)
		if !errors.Is(err, backend.ErrTransferring) || time.Now().After(deadline) || !s.pauseFor(pause) {
			return res, err
		}
	}
}

// leaderWait bounds how long a command waits for its group to elect a
// leader before it answers CLUSTERDOWN: about two election timeouts, so
// that a client sees an election as latency rather than as an error.
const leaderWait = 2 * time.Second

// awaitLeader waits until group b knows a leader; false after leaderWait
// or at shutdown. Nothing was sent anywhere yet, so the command then runs
// once, where that leader is.
func (s *Server) awaitLeader(b backend.Backend) bool {
	var err error
	known := s.pollUntil(leaderWait, 10*time.Millisecond, func() bool {
		var ok bool
		_, ok, err = b.Leader()
		return err != nil || ok
	})
	return known && err == nil
}

// pollUntil checks done every step until it holds (true), for at most d
// (false), or until the server closes (false).
func (s *Server) pollUntil(d, step time.Duration, done func() bool) bool {
	deadline := time.Now().Add(d)
	for !done() {
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-s.quit:
			return false
		case <-time.After(step):
		}
	}
	return true
}

// broadcast applies a keyless entry to every group in turn: the home
// group's result, or the first failure.
func (s *Server) broadcast(c *client, e *command.Entry) *command.Result {
	var first *command.Result
	for _, i := range s.liveGroups() {
		res := s.applyGroup(c, i, e)
		if i == 0 {
			first = res
		}
		if res.Error != "" {
			if i > 0 {
				res.Error = fmt.Sprintf("%s (group %s; the groups before it applied the command)", res.Error, s.groupID(i))
			}
			return res
		}
	}
	return first
}

// localGroups are the groups whose keys DBSIZE, KEYS, RANDOMKEY, SCAN and
// INFO keyspace show, in slot order: in cluster mode those this node
// leads, otherwise all.
func (s *Server) localGroups() []int {
	var out []int
	for _, i := range s.liveGroups() {
		if s.shards == nil || !s.multi() || leads(s.groupB(i)) {
			out = append(out, i)
		}
	}
	return out
}

// allGroupReads are the reads of a node with several groups that read the
// engines of all its own groups (readAllGroups, scanLocal), at the stale
// level: no one group's read barrier covers them.
var allGroupReads = map[string]bool{"dbsize": true, "keys": true, "randomkey": true}

// readAllGroups answers DBSIZE, KEYS and RANDOMKEY from the engines of the
// node's own groups (localGroups): the sum, the keys in slot order, a
// random group's random key. It reports false for any other command.
func (s *Server) readAllGroups(c *client, spec *command.Spec, args [][]byte) bool {
	if !s.multi() {
		return false
	}
	switch spec.Name {
	case "dbsize", "keys", "randomkey":
	default:
		return false
	}
	order := s.localGroups()
	if spec.Name == "randomkey" {
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	var sum int64
	var keys []command.Token
	for _, i := range order {
		var rec command.Recorder
		err := command.ReadCounted(s.groupB(i).Engine(), c.db, s.nowMs(), spec, args, &rec, nil, &s.st.keys, s.restrictedUser(c))
		if err != nil {
			c.fail(err)
			return true
		}
		if msg, isErr := rec.R.Err(); isErr {
			c.errorReply(msg)
			return true
		}
		switch spec.Name {
		case "dbsize":
			n, _ := rec.R.Int()
			sum += n
		case "keys":
			if len(rec.R) > 0 {
				keys = append(keys, rec.R[1:]...) // the array's elements
			}
		case "randomkey":
			if len(rec.R) == 1 && rec.R[0].Kind == command.KindBulk {
				rec.R.WriteTo(c.w)
				return true
			}
		}
	}
	switch spec.Name {
	case "dbsize":
		c.integer(sum)
	case "keys":
		c.array(len(keys))
		command.Reply(keys).WriteTo(c.w)
	case "randomkey":
		c.null()
	}
	return true
}

// keyspaceAll sums INFO keyspace's counts over the node's own groups
// (localGroups).
func (s *Server) keyspaceAll() ([command.Databases]command.DBKeys, error) {
	var out [command.Databases]command.DBKeys
	for _, i := range s.localGroups() {
		counts, err := command.KeyspaceCounts(s.groupB(i).Engine(), s.nowMs())
		if err != nil {
			return out, err
		}
		for d, k := range counts {
			o := &out[d]
			if o.Expires+k.Expires > 0 {
				o.AvgTTL = (o.AvgTTL*o.Expires + k.AvgTTL*k.Expires) / (o.Expires + k.Expires)
			}
			o.Keys += k.Keys
			o.Expires += k.Expires
		}
	}
	return out, nil
}

// digestAll is DEBUG DIGEST's sum over every group: one group's digest as
// is, several groups' as the SHA-256 of their digests in group order.
func (s *Server) digestAll() (int, []byte, error) {
	if !s.multi() {
		return digest(s.b.Engine())
	}
	h := sha256.New()
	total := 0
	for _, b := range s.allGroups() {
		n, sum, err := digest(b.Engine())
		if err != nil {
			return 0, nil, err
		}
		total += n
		h.Write(sum)
	}
	return total, h.Sum(nil), nil
}

// errSeveralGroups refuses what cannot yet be done on a node with several
// groups.
var errSeveralGroups = errors.New("not supported on a node with several Raft groups (--groups) yet")

// reconfigurer is what CONFIG SET changes below the RESP front: the
// backend's own, or on a node with several groups all of theirs at once.
func (s *Server) reconfigurer() (backend.Reconfigurer, bool) {
	var rs allReconfig
	for _, g := range s.allGroups() {
		r, ok := g.(backend.Reconfigurer)
		if !ok {
			return nil, false
		}
		rs = append(rs, r)
	}
	if len(rs) == 1 {
		return rs[0], true
	}
	return rs, true
}

// allReconfig changes every group's settings; it reports the first's.
type allReconfig []backend.Reconfigurer

func (a allReconfig) Tunables() backend.Tunables { return a[0].Tunables() }

func (a allReconfig) each(fn func(backend.Reconfigurer) error) error {
	for _, r := range a {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func (a allReconfig) SetSync(m engine.SyncMode) error {
	return a.each(func(r backend.Reconfigurer) error { return r.SetSync(m) })
}

func (a allReconfig) SetMerge(m engine.MergeSettings) error {
	return a.each(func(r backend.Reconfigurer) error { return r.SetMerge(m) })
}

func (a allReconfig) SetSnapshot(n backend.SnapshotSettings) error {
	return a.each(func(r backend.Reconfigurer) error { return r.SetSnapshot(n) })
}

// infoGroups adds INFO raft's lines of a node with several groups: their
// number, then one line per group (the home group's figures are the
// section's own lines above), then the placement group's, with the
// placement state's epoch.
func (s *Server) infoGroups(b *strings.Builder) {
	if !s.multi() {
		return
	}
	live := s.liveGroups()
	fmt.Fprintf(b, "raft_groups:%d\r\n", len(live))
	fmt.Fprintf(b, "raft_first_groups:%d\r\n", len(s.groups.Layout.IDs))
	for k, i := range live { // numbered in order: a group's id is in id=
		g := s.groupB(i)
		var slots []string
		for _, r := range s.groupRanges(i) {
			slots = append(slots, fmt.Sprintf("%d-%d", r.Start, r.End))
		}
		fmt.Fprintf(b, "raft_group%d:id=%s,slots=%s,%s\r\n", k, s.groupID(i), strings.Join(slots, " "), groupInfo(g))
	}
	if p := s.groups.Placement; p != nil {
		epoch := "?"
		if st, err := command.Placement(p.Engine()); err == nil {
			epoch = strconv.FormatUint(st.Epoch, 10)
		}
		fmt.Fprintf(b, "raft_placement:id=%s,%s,epoch=%s\r\n", placementID, groupInfo(p), epoch)
	}
}

// groupInfo is the Raft part of a group's INFO raft line.
func groupInfo(g backend.Backend) string {
	m := infoLines(g.InfoRaft()) // introspect.go
	voters := 0
	if ms, err := g.Members(); err == nil {
		for _, mb := range ms {
			if mb.Suffrage == "voter" {
				voters++
			}
		}
	}
	return fmt.Sprintf("state=%s,term=%s,leader=%s,voters=%d,commit_index=%s,applied_index=%s,log_applied_index=%s",
		m["raft_state"], m["raft_term"], m["raft_leader_id"], voters,
		m["raft_commit_index"], m["raft_applied_index"], m["raft_log_applied_index"])
}
