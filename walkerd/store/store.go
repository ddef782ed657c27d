// Package store is walkerd's replication layer: hashicorp/raft over the
// bitcask engine. It implements backend.Backend. DESIGN.md beside this file
// explains the applied index, snapshots, and how each read level is served;
// promote.go how nodes join as non-voters, are promoted once caught up, and
// why a removal that would lose the quorum is refused.
package store

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
	"github.com/walkerdb/walkerdb/walkerd/logging"
	"github.com/walkerdb/walkerdb/walkerd/nodelink"
)

// Config configures a Store. Zero durations take loopback-friendly defaults.
type Config struct {
	ID       string // this node's Raft id
	RaftAddr string // Raft bind address
	// RaftAdvertise is the Raft address peers dial, when it is not
	// RaftAddr (a proxy in front of this node). Zero: RaftAddr.
	RaftAdvertise string
	RESPAddr      string // the address clients and other nodes reach this node's RESP server at
	RaftDir       string
	DataDir       string
	Bootstrap     bool // with no Raft state, start a one-node cluster of this node
	// Peers, when set, are the voters a group made at run time starts
	// with (WALKER.PLACE GROUP ADD), this node among them: with no Raft
	// state, each member bootstraps the same configuration, which
	// hashicorp/raft allows (BootstrapCluster: "the same configuration on
	// all servers"), so no JOIN round is needed; the first leader records
	// their RESP addresses as JOIN would.
	Peers []Peer

	Sync    engine.SyncMode // how the Raft log reaches disk (appendfsync)
	LogKind string          // "auto" (or ""), "bolt" (raft-boltdb) or "wal" (raft-wal): logstore.go
	Engine  engine.Options  // the engine's options; its Sync is forced to SyncNo

	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	// CommitTimeout is how long an idle leader waits before it sends each
	// follower an AppendEntries anyway, so that followers learn the commit
	// index (hashicorp/raft's CommitTimeout; replication.go): an idle
	// group costs each follower about one RPC per 1.5 CommitTimeout. Zero:
	// 5 ms.
	CommitTimeout     time.Duration
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	TrailingLogs      uint64

	// OnFatal is called when the engine fails to apply a committed entry
	// (an I/O error): the node must stop rather than diverge from the
	// others. Zero: panic.
	OnFatal func(error)
	// Logger receives the store's lines and raft's (component=raft, see
	// walkerd/logging). nil: slog.Default().
	Logger *slog.Logger
	// Probe asks the node whose RESP server is at respAddr for raft's
	// applied index (INFO raft's raft_log_applied_index), within about a
	// second. The leader uses it to promote a non-voter once it has
	// caught up (promote.go). nil: the leader cannot see a non-voter's
	// progress, and promotes it once reachable over Raft for a while.
	Probe func(respAddr string) (applied uint64, err error)
	// Links is how Raft connections between nodes are authenticated
	// (walkerd/nodelink: a shared secret, mutual TLS). nil: the
	// unauthenticated exchange, which any peer passes.
	Links *nodelink.Config
	// Mux, when set, carries this store's Raft group over a listener the
	// node's groups share (mux.go): the store takes Mux.Layer(Group) and
	// RaftAddr, RaftAdvertise and Links are the mux's business (RaftAddr
	// still defaults ID). Closing the store closes only its group's layer.
	// nil: the store listens on RaftAddr itself.
	Mux *Mux
	// Group is this store's Raft group id on Mux ([a-z0-9-], 1 to 64
	// bytes). Unused without Mux.
	Group string
	// Fetch sends args to the RESP address addr over a node link and lets
	// read take the reply as it arrives (forward.Pool.Stream): a follower
	// fetches a large entry's bytes from the leader with it (WALKER.BLOB,
	// bigentry.go). nil: a follower cannot take entries of 1 MiB or more.
	Fetch func(addr string, args [][]byte, read func(*bufio.Reader) error) error
	// BigEntriesMaxBytes bounds the files of large log entries
	// (bigentry.go): past it, the node takes a snapshot and deletes the
	// files of the entries it covers. Zero: 2 GiB.
	BigEntriesMaxBytes int64
	// MaxVoters caps the voters the leader's promoter makes
	// (promote.go): past it a joined node stays a non-voter, which
	// receives the log but counts toward no quorum. The placement group
	// takes 3: every node holds a copy of the map, and three vote. Zero:
	// no cap.
	MaxVoters int
	// JoinRESP is the RESP address this node joined the cluster through
	// (--join), the last place it fetches a large entry's bytes from: a
	// node that has just joined knows no other member until it applies
	// their entries.
	JoinRESP string
}

// Store is a Raft node and its engine.
type Store struct {
	cfg   Config
	log   *slog.Logger
	raft  *raft.Raft
	fsm   *fsm
	trans *ackTransport // raft's, noting AppendEntries answers for verify (verify.go)
	rlog  *logging.Raft // raft's lines (observeRaft tells it its peers' addresses)
	logs  io.Closer
	logDB raft.LogStore // the same store as logs: HasLog reads it
	big   *bigEntries   // the same store again: large entries (bigentry.go)
	// stable is the same store as raft's StableStore, behind the gate
	// Close shuts before it closes logs (stable.go).
	stable *stableStore
	// logKind is the log store in use, LogBolt or LogWAL (logstore.go).
	logKind string
	snaps   *raft.FileSnapshotStore

	ready  atomic.Uint64 // the term in which this node, as leader, applied its barrier
	served atomic.Bool   // Ready has been true since the node started (ready.go)
	verify verifier

	// raftDown is closed once raft has shut down (after Close, or when a
	// removal from the configuration shut it). hashicorp/raft v1.7.3 can
	// leave a future unanswered after shutdown (its buffered channels race
	// its shutdown channel), so every wait on a future also waits on this.
	raftDown     chan struct{}
	raftDownOnce sync.Once

	async asyncWrites // ApplyAsync's writes in flight (async.go)

	// removed is set while this node is out of the cluster's
	// configuration: its latest configuration does not list it, or raft
	// shut itself down because a leader removed itself (ShutdownOnRemove).
	// Set and cleared by watchLeadership.
	removed atomic.Bool

	leaderChanges atomic.Uint64 // RaftStatus.LeaderChanges (metrics.go)

	// stream is the transport's stream layer: JOIN and the quorum check
	// dial through it. member is the promoter's and the heartbeat
	// tracker's state (promote.go).
	stream raftDialer
	member membership

	quit chan struct{}
	wg   sync.WaitGroup
}

// raftDialer dials a Raft address as the transport does: a streamLayer,
// or a Mux group's layer (which also names the group).
type raftDialer interface {
	Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error)
	closeDialed() // hangs up every connection Dial made (dialSet)
}

// Open starts the engine and the Raft node.
func Open(cfg Config) (*Store, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ID == "" {
		cfg.ID = cfg.RaftAddr
	}
	if err := os.MkdirAll(cfg.RaftDir, 0o755); err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, log: cfg.Logger, quit: make(chan struct{}), raftDown: make(chan struct{})}
	s.async.wake = make(chan struct{}, 1)
	ok := false
	defer func() {
		if !ok {
			s.closeParts()
		}
	}()

	// raft logs through cfg.Logger, component=raft (walkerd/logging).
	rlog := logging.NewRaft(cfg.Logger, logging.RaftOptions{Settled: s.served.Load})
	s.rlog = rlog
	var hlog hclog.Logger = rlog
	ls, kind, err := openLog(cfg, s.log) // logstore.go
	if err != nil {
		return nil, err
	}
	s.logKind = kind
	var logStore raft.LogStore = newLogCache(ls) // logcache.go
	s.logs, s.logDB = ls, ls
	s.stable = &stableStore{StableStore: ls} // stable.go
	s.big = ls.(*bigEntries)
	s.big.fetch = s.fetchBig
	s.big.self = cfg.RESPAddr
	if cfg.BigEntriesMaxBytes > 0 {
		s.big.maxBytes = cfg.BigEntriesMaxBytes
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.RaftDir, 2, hlog)
	if err != nil {
		return nil, fmt.Errorf("snapshot store: %w", err)
	}
	s.snaps = snaps

	eopts := cfg.Engine
	eopts.Sync = engine.SyncNo // the Raft log is the durable record
	fatal := cfg.OnFatal
	if fatal == nil {
		fatal = func(err error) { panic(err) }
	}
	if s.fsm, err = openFSM(cfg.DataDir, eopts, s.log, fatal); err != nil {
		return nil, err
	}
	s.fsm.big = s.big
	if err := s.catchUpFromSnapshot(); err != nil {
		return nil, err
	}

	var stream interface {
		raft.StreamLayer
		raftDialer
	}
	if cfg.Mux != nil {
		stream, err = cfg.Mux.Layer(cfg.Group)
	} else {
		stream, err = newStreamLayer(cfg.RaftAddr, cfg.RaftAdvertise, cfg.Links, s.log)
	}
	if err != nil {
		return nil, fmt.Errorf("raft transport: %w", err)
	}
	// MaxRPCsInFlight 1 turns hashicorp/raft's pipelined replication
	// off. In v1.7.3 a follower's refusal of a pipelined AppendEntries
	// (a log mismatch after a restart or an election) can deadlock the
	// pipeline: pipelineDecode returns, decodeResponses then waits for
	// ever to hand over the next response, and the next send waits for
	// ever behind it (net_transport.go, replication.go). The follower
	// keeps getting heartbeats, so no election heals it: it receives no
	// entry again, and raft.Shutdown waits on the stuck sender (a
	// tester's nodes hung on SIGTERM, their replication stuck for 13
	// minutes; grafana/pyroscope#5518 turned pipelining off for the same
	// reason). Replication is then one AppendEntries at a time per
	// follower, each carrying every entry appended meanwhile.
	s.trans = &ackTransport{acks: new(acks), NetworkTransport: raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: stream, MaxPool: 3, Timeout: 10 * time.Second, Logger: hlog, MaxRPCsInFlight: 1,
	})}
	s.stream = stream
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	rc.Logger = hlog
	rc.NoSnapshotRestoreOnStart = true
	rc.HeartbeatTimeout = orDuration(cfg.HeartbeatTimeout, 500*time.Millisecond)
	rc.ElectionTimeout = orDuration(cfg.ElectionTimeout, 500*time.Millisecond)
	rc.LeaderLeaseTimeout = orDuration(cfg.LeaderLeaseTimeout, 250*time.Millisecond)
	rc.CommitTimeout = orDuration(cfg.CommitTimeout, 5*time.Millisecond)
	rc.MaxAppendEntries = 256
	rc.BatchApplyCh = true
	if cfg.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = cfg.SnapshotThreshold
	}
	if cfg.SnapshotInterval > 0 {
		rc.SnapshotInterval = cfg.SnapshotInterval
	}
	if cfg.TrailingLogs > 0 {
		rc.TrailingLogs = cfg.TrailingLogs
	}
	if err := raft.ValidateConfig(rc); err != nil {
		return nil, err
	}

	hasState, err := raft.HasExistingState(logStore, s.stable, snaps)
	if err != nil {
		return nil, err
	}
	if hasState, err = s.seedFromEngine(hasState, s.stable, rc.LocalID); err != nil { // seed.go: a restored backup
		return nil, err
	}
	if err := s.checkJoinEmpty(hasState); err != nil { // seed.go
		return nil, err
	}
	s.raft, err = raft.NewRaft(rc, s.fsm, logStore, s.stable, snaps, s.trans)
	if err != nil {
		return nil, err
	}
	s.verify.raft, s.verify.self, s.verify.acks = s.raft, rc.LocalID, s.trans.acks
	if !hasState && (cfg.Bootstrap || len(cfg.Peers) > 0) {
		servers := []raft.Server{{ID: rc.LocalID, Address: s.trans.LocalAddr()}}
		if len(cfg.Peers) > 0 {
			servers = nil
			for _, p := range cfg.Peers {
				servers = append(servers, raft.Server{ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.RaftAddr)})
			}
		}
		f := s.raft.BootstrapCluster(raft.Configuration{Servers: servers})
		if err := f.Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return nil, fmt.Errorf("bootstrap: %w", err)
		}
		s.log.Info("bootstrapped a new cluster", "id", cfg.ID)
	}
	s.startMembership() // promote.go: promotes non-voters while leading
	s.observeRaft()     // promote.go: leader changes, heartbeats
	go s.watchAsync()   // not in wg: it may wait for good on a future raft left unanswered
	s.wg.Add(4)
	go s.watchShutdown()
	go s.watchLeadership()
	go s.watchReady(rlog)
	go s.trimBig()
	ok = true
	return s, nil
}

// catchUpFromSnapshot restores the engine from the newest local snapshot
// when the snapshot holds writes the engine lacks (its directory was lost
// or replaced): raft, which does not restore on start, would otherwise
// replay only the log after the snapshot onto data that misses what came
// before it.
func (s *Store) catchUpFromSnapshot() error {
	metas, err := s.snaps.List()
	if err != nil || len(metas) == 0 {
		return err
	}
	_, rc, err := s.snaps.Open(metas[0].ID)
	if err != nil {
		return err
	}
	seq, err := engine.StreamSeq(rc, s.fsm.opts.LayoutVersion)
	rc.Close()
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", metas[0].ID, err)
	}
	if s.fsm.engine().Seq() >= seq {
		return nil
	}
	s.log.Warn("engine is behind its newest snapshot: restoring it", "engine_seq", s.fsm.engine().Seq(), "snapshot_seq", seq, "snapshot", metas[0].ID)
	_, rc, err = s.snaps.Open(metas[0].ID)
	if err != nil {
		return err
	}
	return s.fsm.Restore(rc)
}

// watchLeadership runs the barrier that makes a new leader ready for
// consistent reads, registers the leader's own RESP address, and notices
// when this node has been removed from the cluster.
func (s *Store) watchLeadership() {
	defer s.wg.Done()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-s.raft.LeaderCh():
		case <-t.C:
		}
		switch s.raft.State() {
		case raft.Shutdown:
			// Close closes quit before it shuts raft down: raft that is
			// down with quit open shut itself down, which hashicorp/raft
			// does only when a leader has removed itself.
			s.markRaftDown()
			select {
			case <-s.quit:
			default:
				s.setRemoved(true)
			}
			continue
		case raft.Leader:
			s.setRemoved(false)
		default:
			// A removed follower is told nothing: the leader stops
			// sending to it, and raft keeps it a follower with no
			// leader for ever. Its latest configuration tells.
			s.checkRemoved()
			continue
		}
		term := s.raft.CurrentTerm()
		if s.ready.Load() == term {
			continue
		}
		// The barrier commits an entry of this term and returns when all
		// before it is applied: then this node has every write that any
		// earlier leader acknowledged.
		if err := s.wait(s.raft.Barrier(5 * time.Second)); err != nil {
			continue
		}
		if s.raft.CurrentTerm() == term {
			s.ready.Store(term)
			s.log.Info("leader ready", "term", term)
			s.registerSelf()
		}
	}
}

// Peer is a voter of a group made at run time (Config.Peers).
type Peer struct{ ID, RaftAddr, RESPAddr string }

// registerSelf replicates this node's RESP address if the data lacks it,
// and those of Config.Peers.
func (s *Store) registerSelf() {
	members, err := command.Members(s.fsm.engine())
	if err != nil {
		return
	}
	peers := append([]Peer{{ID: s.cfg.ID, RESPAddr: s.cfg.RESPAddr}}, s.cfg.Peers...)
	for _, p := range peers {
		if p.RESPAddr == "" || members[p.ID] == p.RESPAddr || (p.ID != s.cfg.ID && members[p.ID] != "") {
			continue // a peer's address only where none is known: JOIN's is newer
		}
		if _, err := s.Apply(memberEntry("WALKER.SETMEMBER", p.ID, p.RESPAddr)); err != nil {
			s.log.Warn("registering a member's address", "id", p.ID, "err", err)
			return
		}
		members[p.ID] = p.RESPAddr
	}
}

func memberEntry(args ...string) *command.Entry {
	cmd := make([][]byte, len(args))
	for i, a := range args {
		cmd[i] = []byte(a)
	}
	return &command.Entry{NowMs: time.Now().UnixMilli(), Cmds: [][][]byte{cmd}}
}

// Engine implements backend.Backend.
func (s *Store) Engine() *engine.DB { return s.fsm.engine() }

// Notify implements backend.Backend: fn hears every entry this node's
// state machine applies, whoever proposed it.
func (s *Store) Notify(fn func(touched []command.Touch)) { s.fsm.notify.Store(&fn) }

// SetNewEvents implements backend.NewEvents: with on false, the state
// machine no longer looks up whether each write created its key, a cache
// miss per write on every node (9% of a follower's CPU under SET -P 16).
func (s *Store) SetNewEvents(on bool) { s.fsm.noNew.Store(!on) }

var _ backend.NewEvents = (*Store)(nil)

// Apply implements backend.Backend: the write goes through the Raft log,
// and Apply returns once this node's state machine has applied it (or
// raft refused or lost it). When e carries its commands parsed, the state
// machine of this node uses them as they are (see fsm.entry): the leader
// parses a command once.
//
// It proposes as ApplyAsync does (proposeAsync), through the same queue:
// the state machine answers a write it applies, and watchAsync one that
// failed; Apply only waits for the answer. Unlike ApplyAsync it never
// refuses: an entry of bigEntryMin bytes or more is proposed by
// reference (bigentry.go), and a full applyCh makes it wait.
func (s *Store) Apply(e *command.Entry) (*command.Result, error) {
	if s.raft.State() != raft.Leader {
		return nil, s.notLeader()
	}
	data := e.Encode()
	if len(data) >= bigEntryMin {
		// Proposed by reference: the bytes go beside the log (bigentry.go).
		ref, release := s.big.hold(data)
		defer release()
		data = ref
	}
	answer := make(chan applied, 1)
	s.async.n.Add(1)
	s.proposeAsync(data, e, nil, func(res *command.Result, err error) { answer <- applied{res, err} })
	select {
	case a := <-answer:
		return a.res, a.err
	case <-s.raftDown:
		// failAsync answers the writes queued when raft went down; one
		// queued after it went may be left to this.
		select {
		case a := <-answer:
			return a.res, a.err
		default:
		}
		// The entry's arguments alias the client's buffer, which is
		// reused once we return. A batch that took the entry may still
		// be applying it: the FSM holds mu for reading while it does,
		// so wait it out.
		//lint:ignore SA2001 the empty critical section waits for readers to leave
		s.fsm.mu.Lock()
		s.fsm.mu.Unlock()
		return nil, s.applyError(errRaftDown)
	}
}

// applied is a write's answer: its result, or why it has none.
type applied struct {
	res *command.Result
	err error
}

// fetchBig copies the bytes of the large entry at f to w
// (bigEntries.fetch) with WALKER.BLOB over the node link, from the first
// node that holds them of: from (the proposer), the leader, the members
// this node knows, its join target. Any node whose log holds the entry
// holds its file; a node that does not answers an error before any byte,
// and the next is asked. Once bytes flow, a failure is the fetch's.
func (s *Store) fetchBig(f bigFile, from string, w io.Writer) error {
	if s.cfg.Fetch == nil {
		return errors.New("no node link to fetch with")
	}
	args := [][]byte{[]byte("WALKER.BLOB"), []byte(strconv.FormatUint(f.index, 10)), []byte(strconv.FormatUint(f.term, 10))}
	if s.cfg.Mux != nil {
		args = append(args, []byte(s.cfg.Group))
	}
	var errs []error
	for _, addr := range s.bigSources(from) {
		started := false
		err := s.cfg.Fetch(addr, args, func(r *bufio.Reader) error {
			line, err := r.ReadString('\n')
			if err != nil {
				return err
			}
			line = strings.TrimSuffix(line, "\r\n")
			n, err := strconv.ParseInt(strings.TrimPrefix(line, "$"), 10, 64)
			if !strings.HasPrefix(line, "$") || err != nil || n < 0 {
				return fmt.Errorf("%s answered %q", addr, line)
			}
			started = true
			if _, err := io.CopyN(w, r, n); err != nil {
				return err
			}
			if crlf, err := r.ReadString('\n'); err != nil || crlf != "\r\n" {
				return fmt.Errorf("%s: a bulk reply not ended by CRLF (%v)", addr, err)
			}
			return nil
		})
		if err == nil || started {
			return err
		}
		errs = append(errs, err)
	}
	if errs == nil {
		return errors.New("no other node known to fetch from")
	}
	return errors.Join(errs...)
}

// bigSources lists where fetchBig looks, in order, without repeats or
// this node: from, the leader, the members, the join target.
func (s *Store) bigSources(from string) []string {
	var out []string
	add := func(a string) {
		if a != "" && a != s.cfg.RESPAddr && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	add(from)
	add(s.leaderRESP())
	if members, err := command.Members(s.fsm.engine()); err == nil {
		for _, id := range slices.Sorted(maps.Keys(members)) {
			add(members[id])
		}
	}
	add(s.cfg.JoinRESP)
	return out
}

// OpenBlob opens the bytes of the large log entry at index with term, as
// this node keeps them beside its log (bigentry.go), for WALKER.BLOB.
func (s *Store) OpenBlob(index, term uint64) (*os.File, int64, error) {
	return s.big.openFile(index, term)
}

// ReadBarrier implements backend.Backend.
func (s *Store) ReadBarrier(level int) error {
	switch level {
	case 1: // stale: this node's own state, whatever it is
		return nil
	case 0:
		if s.raft.State() != raft.Leader {
			return s.notLeader()
		}
		// A new leader may hold entries of earlier terms it has not yet
		// applied (found by the chaos harness): it reads only after its
		// barrier.
		return s.waitReady()
	case 2:
		if s.raft.State() != raft.Leader {
			return s.notLeader()
		}
		if err := s.waitReady(); err != nil {
			return err
		}
		if err := s.verify.do(); err != nil {
			return s.notLeader()
		}
		return nil
	}
	return fmt.Errorf("ERR read consistency level %d: want 0, 1 or 2", level)
}

// ReadsNow reports whether ReadBarrier(level) would let a read run on
// this node at once, without waiting or forwarding: at the stale level
// always, at the default level on a leader that has applied its first
// barrier, at the consistent level never (it asks the followers). The
// server's event loop runs such reads on its own thread.
func (s *Store) ReadsNow(level int) bool {
	switch level {
	case 1:
		return true
	case 0:
		return s.raft.State() == raft.Leader && s.ready.Load() == s.raft.CurrentTerm()
	}
	return false
}

// VerifyLeaderAsync is ReadBarrier(2) for a caller that must not wait
// (the server's event loop): done is called, from another goroutine,
// once a round of this leader's check with a quorum of voters that began
// after the call has ended, with nil if this node still leads; a read
// run then, while ReadsNow(0), is linearizable, as one after
// ReadBarrier(2). When this node cannot run such a read now (not the
// leader, or a leader that has not yet applied its first barrier) it
// reports false and never calls done: the caller takes the waiting path.
func (s *Store) VerifyLeaderAsync(done func(error)) bool {
	if !s.ReadsNow(0) {
		return false
	}
	s.verify.start(func(err error) {
		if err != nil {
			err = s.notLeader()
		}
		done(err)
	})
	return true
}

// waitReady waits, briefly, until this leader has applied a barrier of its
// own term, and so every entry earlier leaders committed.
func (s *Store) waitReady() error {
	var deadline time.Time // read only if it must wait: clock reads were 7% of a node's CPU under GET -P 16
	for s.ready.Load() != s.raft.CurrentTerm() {
		if s.raft.State() != raft.Leader {
			return s.notLeader()
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(2 * time.Second)
		} else if time.Now().After(deadline) {
			return command.Error("TRYAGAIN the new leader has not yet applied its first entry")
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

// notLeader names the leader's RESP address, if this node knows it, and
// says whether this node has been removed from the cluster.
func (s *Store) notLeader() error {
	return &backend.NotLeaderError{LeaderAddr: s.leaderRESP(), Removed: s.Removed()}
}

// Removed reports whether this node is out of the cluster: removed from
// its configuration (LEAVE), and not yet added back (JOIN).
func (s *Store) Removed() bool {
	if s.removed.Load() {
		return true
	}
	// Raft that shut itself down, before watchLeadership has seen it.
	if s.raft.State() != raft.Shutdown {
		return false
	}
	select {
	case <-s.quit:
		return false
	default:
		return true
	}
}

// checkRemoved sets removed from the latest configuration this node holds:
// removed when it has one (it has been a member) that does not list it. A
// node that never joined holds none, and is not removed.
func (s *Store) checkRemoved() {
	f := s.raft.GetConfiguration()
	if f.Error() != nil {
		return
	}
	servers := f.Configuration().Servers
	if len(servers) == 0 {
		return
	}
	for _, srv := range servers {
		if srv.ID == raft.ServerID(s.cfg.ID) {
			s.setRemoved(false)
			return
		}
	}
	s.setRemoved(true)
}

func (s *Store) setRemoved(removed bool) {
	if s.removed.Swap(removed) == removed {
		return
	}
	if removed {
		s.log.Warn("this node was removed from the cluster; restart it with -join <member> to rejoin", "id", s.cfg.ID)
	} else {
		s.log.Info("this node is a member of the cluster again", "id", s.cfg.ID)
	}
}

func (s *Store) leaderRESP() string {
	_, id := s.raft.LeaderWithID()
	if id == "" {
		return ""
	}
	if string(id) == s.cfg.ID {
		return s.cfg.RESPAddr
	}
	members, err := command.Members(s.fsm.engine())
	if err != nil {
		return ""
	}
	return members[string(id)]
}

// IsLeader reports whether this node leads.
func (s *Store) IsLeader() bool { return s.raft.State() == raft.Leader }

func (s *Store) markRaftDown() {
	s.raftDownOnce.Do(func() {
		close(s.raftDown)
		s.verify.stop()
		s.failAsync()
	})
}

// errTransferring refuses a write while leadership is being transferred.
var errTransferring = backend.ErrTransferring

// errRaftDown answers calls whose future raft left unanswered at shutdown.
var errRaftDown = errors.New("raft has shut down on this node")

// wait returns a future's error, or errRaftDown once raft has shut down
// without answering it. The goroutine left waiting on such a future ends
// with the process.
func (s *Store) wait(f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-s.raftDown:
		select {
		case err := <-done:
			return err
		default:
			return errRaftDown
		}
	}
}

// shutdownPoll is how often watchShutdown looks for a raft that shut
// itself down.
const shutdownPoll = 50 * time.Millisecond

// watchShutdown marks raft down when it shuts itself down (a leader that
// removed itself from the configuration); Close marks it when it shuts
// raft down. It is one ticker for the node, where each wait once polled
// with a timer of its own: a timer and its channel per write proposed.
func (s *Store) watchShutdown() {
	defer s.wg.Done()
	t := time.NewTicker(shutdownPoll)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			if s.raft.State() == raft.Shutdown {
				s.markRaftDown()
				return
			}
		}
	}
}

// Close shuts the node down in order: hand leadership over if leading (so
// the cluster does not wait out an election), stop raft, close the log and
// the engine.
func (s *Store) Close() error {
	if s.raft.State() == raft.Leader && s.voters() > 1 {
		if err := s.raft.LeadershipTransfer().Error(); err != nil {
			s.log.Warn("leadership transfer on shutdown", "err", err)
		}
	}
	close(s.quit)
	// raft.Shutdown waits for replication, which may be waiting on a
	// peer that stopped answering: past shutdownGrace, hang up (dialSet).
	shut := s.raft.Shutdown()
	done := make(chan error, 1)
	go func() { done <- shut.Error() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(shutdownGrace):
		s.stream.closeDialed()
		err = <-done
	}
	s.markRaftDown()
	s.stable.shut() // a heartbeat raft did not wait for may still save a term
	s.wg.Wait()
	return errors.Join(err, s.closeParts())
}

// shutdownGrace is how long Close lets raft stop on its own before it
// hangs up the node's Raft connections: a healthy node stops in tens of
// milliseconds (a tester's 8 stops of a leader under load: 16 to 70 ms),
// and hanging up at once cut short replication and snapshots that were
// about to end, which the peers then logged (a snapshot's "failed to
// receive whole snapshot" ERROR) and sent again.
const shutdownGrace = time.Second

func (s *Store) closeParts() error {
	var errs []error
	if s.trans != nil {
		errs = append(errs, s.trans.Close())
	}
	if s.logs != nil {
		errs = append(errs, s.logs.Close())
	}
	if s.fsm != nil {
		errs = append(errs, s.fsm.close())
	}
	return errors.Join(errs...)
}

func (s *Store) voters() int {
	f := s.raft.GetConfiguration()
	if f.Error() != nil {
		return 0
	}
	n := 0
	for _, srv := range f.Configuration().Servers {
		if srv.Suffrage == raft.Voter {
			n++
		}
	}
	return n
}

func orDuration(v, d time.Duration) time.Duration {
	if v <= 0 {
		return d
	}
	return v
}

// validAddr checks a host:port.
func validAddr(a string) error {
	_, port, err := net.SplitHostPort(a)
	if err != nil {
		return err
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("bad port in %q", a)
	}
	return nil
}
