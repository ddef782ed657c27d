// Package backend is the seam between walkerd's RESP front (package
// server) and what runs commands below it: the Raft store (package store)
// or the engine alone (standalone mode, here). Both sides import it; store
// and server never import each other.
//
// The path of one write, as typed values all the way:
//
//	client --RESP--> server: look the command up in command's registry,
//	                 check arity, Spec.Parse once -> command.Entry{Cmds, Parsed}
//	server --Backend.Apply(entry)--> store: raft.Apply(entry.Encode())
//	raft log --> every node's FSM: command.Applier (a batch of entries, one
//	                 engine batch) -> *command.Result{Replies, Touched}
//	store --*command.Result--> server: encode the replies as RESP2/RESP3
//
// On a follower, Apply answers *NotLeaderError and the server forwards the
// entry to the leader (WALKER.APPLY), which returns the Result in
// command's binary form; the follower's server encodes it for its client.
package backend

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// Backend is what the RESP front runs commands against: the standalone
// engine, or the Raft store. Its methods are called from many connection
// goroutines at once and must be safe for that.
type Backend interface {
	// Engine is the local engine, for reads.
	Engine() *engine.DB
	// Apply runs a write (one command, or a MULTI/EXEC transaction) and
	// returns the result the state machine computed. Errors:
	// *NotLeaderError on a follower (the server forwards the entry to the
	// leader); ErrUnknownOutcome when leadership was lost while the entry
	// was in flight (the server answers with an "UNKNOWN" error and never
	// retries); any other error becomes an error reply. The server has set
	// e.NowMs, and e.Parsed when it parsed the commands.
	Apply(e *command.Entry) (*command.Result, error)
	// ReadBarrier prepares a read at a consistency level: 0 default (the
	// leader reads its state), 1 stale (any node reads its own), 2
	// consistent (linearizable). nil: read locally now; *NotLeaderError:
	// forward the read to the leader; any other error becomes an error
	// reply.
	ReadBarrier(level int) error
	// Notify registers fn to hear, on this node, the keys each applied
	// entry's writes touched (command.Result.Touched), whoever proposed
	// the entry: the leader's state machine and every follower's alike,
	// after the writes are visible to local reads. Blocking commands wait
	// on it. fn runs on the apply path and must not block; a later call
	// replaces it.
	Notify(fn func(touched []command.Touch))
	// Cluster is the Raft membership and leadership of this node.
	Cluster
	// InfoRaft is the body of INFO's "# Raft" section: "key:value\r\n"
	// lines.
	InfoRaft() string
}

// Cluster is the cluster administration a Backend offers (JOIN, LEAVE,
// SNAPSHOT, RAFT.*). Join and Leave answer *NotLeaderError on a follower:
// the server forwards them to the leader like any other command. In
// standalone mode every method answers ErrStandalone.
type Cluster interface {
	// Join adds a voter, and records its RESP address (respAddr may be
	// empty). Joining again with the same addresses changes nothing.
	Join(id, raftAddr, respAddr string) error
	// Leave removes a member and its recorded address.
	Leave(id string) error
	// Snapshot takes a Raft snapshot on this node now.
	Snapshot() error
	// Members lists the configuration, sorted by id.
	Members() ([]Member, error)
	// Leader names the leader; ok is false when none is known.
	Leader() (m Member, ok bool, err error)
	// Transfer hands leadership to the member id ("" any), from the
	// leader.
	Transfer(id string) error
}

// Member is one server of the Raft configuration.
type Member struct {
	ID, RaftAddr, RESPAddr string
	Role                   string // leader or follower
	Suffrage               string // voter, nonvoter, staging
}

// NotLeaderError says this node is not the leader.
type NotLeaderError struct {
	// LeaderAddr is the leader's RESP address, "" when no leader is known.
	LeaderAddr string
	// Removed says this node is no longer a member: it was removed from
	// the cluster's configuration (LEAVE). Nothing should be forwarded
	// from it, even to a LeaderAddr it still knows; it is a member again
	// only once a leader adds it back (JOIN).
	Removed bool
}

func (e *NotLeaderError) Error() string {
	if e.Removed {
		return "backend: this node was removed from the cluster"
	}
	if e.LeaderAddr == "" {
		return "backend: not the leader, and no leader is known"
	}
	return "backend: not the leader; the leader is " + e.LeaderAddr
}

// Errors of the backends.
var (
	// ErrUnknownOutcome: a write was proposed but leadership was lost before
	// its outcome was known. It may or may not have been applied.
	ErrUnknownOutcome = errors.New("backend: outcome unknown: leadership lost while the write was in flight")
	// ErrNotSent may be wrapped by a Forwarder's error to say the command
	// certainly never reached the leader (a failed dial): the server then
	// reports a plain failure instead of an unknown outcome.
	ErrNotSent = errors.New("backend: request not sent")
	// ErrStandalone answers the cluster commands in standalone mode.
	ErrStandalone = errors.New("this command requires cluster mode")
	// ErrTransferring: the leader refused a write before appending it,
	// while it hands leadership over (raft.ErrLeadershipTransferInProgress),
	// so it was certainly not applied. Its text is Redis Cluster's
	// TRYAGAIN, which cluster clients retry; the server first waits the
	// transfer out and tries again itself.
	ErrTransferring error = command.Error("TRYAGAIN leadership is being transferred to another node; the write was not applied")
)

// Forwarder carries commands from a follower to the leader.
type Forwarder interface {
	// Do sends one command to the node at addr and returns its raw RESP
	// reply bytes (whole, any size). It is called from many connection
	// goroutines at once.
	Do(addr string, args [][]byte) ([]byte, error)
}

// NewStandalone returns the backend of standalone mode: the engine alone,
// no Raft. Writes apply under a mutex, each with the next index of a
// counter that starts at db.Seq(), so sequence numbers keep growing across
// restarts and WATCH versions stay unique.
func NewStandalone(db *engine.DB) Backend {
	return &standalone{db: db, a: command.NewApplier(db), index: db.Seq()}
}

// NewStandaloneGroupCommit is NewStandalone for appendfsync always at group
// commit speed. Open db with engine.SyncNo: each write is applied under the
// mutex as usual, and made durable with db.Sync after the mutex is released,
// so writers that arrive meanwhile share one fsync; the reply still waits
// for it. (With an engine opened in SyncAlways, NewStandalone fsyncs inside
// its mutex: one fsync per write, no sharing.)
func NewStandaloneGroupCommit(db *engine.DB) Backend {
	s := &standalone{db: db, a: command.NewApplier(db), index: db.Seq()}
	s.groupSync.Store(true)
	return s
}

type standalone struct {
	notify atomic.Pointer[func([]command.Touch)]
	db     *engine.DB
	a      *command.Applier // under mu
	mu     sync.Mutex
	index  uint64
	// groupSync: appendfsync always as group commit (a Sync after each
	// write, outside mu). SetSync changes it.
	groupSync atomic.Bool
	// noNew: nobody hears "new" keyspace events (SetNewEvents).
	noNew atomic.Bool
	// touched collects the touches of the writes ApplyDeferred applied,
	// for SyncDeferred; under mu.
	touched []command.Touch
	// held: a deferred write left records in the engine's write buffer
	// (engine.Batch.Hold) that no flush has written since; under mu.
	held bool
	// visible is the index of the last write reads may see, set before
	// it is applied; durable the highest index an fsync is known to cover
	// (sync); written the highest index known to be in the engine's file,
	// where a crash of the process keeps it (flush).
	visible, durable, written atomic.Uint64
}

func (s *standalone) Engine() *engine.DB { return s.db }

func (s *standalone) Apply(e *command.Entry) (*command.Result, error) {
	always := s.groupSync.Load()
	res, err := s.apply(e, false, always)
	if err != nil {
		return nil, err
	}
	if always {
		if err := s.sync(false); err != nil {
			return nil, fmt.Errorf("%w: sync: %v", ErrUnknownOutcome, err)
		}
	}
	s.notifyTouched(res.Touched)
	return res, nil
}

// sync makes every write applied so far durable (appendfsync always):
// an fsync the engine shares among concurrent callers, none when one
// that began after the last write was applied has covered it. It first
// waits out a write being applied, so that what reads may have seen
// (visible) is written. The engine yields to writers still appending
// before its fsync (engine.DB.Sync) unless gathered: the event loop's
// turn has gathered its writes, and the loop's thread pays a handoff for
// each yield (engine.DB.SyncNow).
func (s *standalone) sync(gathered bool) error {
	s.mu.Lock()
	idx := s.index
	s.mu.Unlock()
	if s.durable.Load() >= idx {
		return nil
	}
	fsync := s.db.Sync
	if gathered {
		fsync = s.db.SyncNow
	}
	if err := fsync(); err != nil {
		return err
	}
	for d := s.durable.Load(); d < idx && !s.durable.CompareAndSwap(d, idx); d = s.durable.Load() {
	}
	return nil
}

// apply applies e under mu, with the next index; deferred keeps its
// touches for SyncDeferred; hold leaves its records in the engine's
// buffer for a flush or fsync to come.
//
// A deferred write's engine batch is held (engine.Batch.Hold): the event
// loop writes a turn's batches to the file with one pwrite, at the turn's
// end, before the turn's replies go out (SyncDeferred), as redis-server
// writes its AOF buffer once per event-loop iteration. SET -P 1, 50
// clients, appendfsync everysec, 5 paired rounds: 17.4 µs of CPU a SET
// (median) against 20.0 with a pwrite per write, lower in each round.
// Any other write writes what deferred ones held before it returns, so
// a reply never tells of a write that a crash of the process would take
// back. With appendfsync always, any other write is held too: Apply's
// fsync (engine.DB.Sync) writes the engine's buffer first, with the
// records of every writer that fsync covers, one pwrite for them all
// rather than one each. Standalone SET -P 16, 50 clients, 3 paired
// rounds: pwrites 0.099 a SET -> 0.042 (those left are the zeroing
// ahead, engine/zeroahead), 4.87/4.84/5.08 -> 4.68/4.76/5.00 µs of CPU
// a SET.
func (s *standalone) apply(e *command.Entry, deferred, hold bool) (*command.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.index++
	s.visible.Store(s.index) // before reads can see it
	s.a.NoNewEvents = s.noNew.Load()
	s.a.Hold = hold
	res, err := s.a.ApplyOne(s.index, e)
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	if hold {
		s.held = true
	}
	if deferred {
		s.touched = append(s.touched, res.Touched...)
	} else if !hold {
		if err := s.flushLocked(); err != nil {
			return nil, fmt.Errorf("%w: write: %v", ErrUnknownOutcome, err)
		}
	}
	return res, nil
}

// flush writes what deferred writes held (engine.Batch.Hold) to the
// engine's file.
func (s *standalone) flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked()
}

func (s *standalone) flushLocked() error {
	if s.held {
		if err := s.db.Flush(); err != nil {
			return err
		}
		s.held = false
	}
	s.written.Store(s.index)
	return nil
}

func (s *standalone) notifyTouched(ts []command.Touch) {
	if fn := s.notify.Load(); fn != nil && len(ts) > 0 {
		(*fn)(ts)
	}
}

// DeferredApplier is what a Backend may offer to run writes on the event
// loop's thread (server/evloop.go), where nothing may wait for a disk.
// ApplyDeferred applies e as Apply does, waiting for nothing but the
// backend's lock, and leaves to SyncDeferred what Apply does after it:
// the fsync appendfsync always owes, then Notify's hook for the writes'
// touches. SyncDeferred covers every write ApplyDeferred returned before
// it began. The loop calls it once at the end of each turn in which it
// applied a write, before any reply of that turn goes out, so the writes
// of every client served in one turn share one fsync, and nothing they
// wrote is seen by a reply, a blocked client or a subscriber before it is
// durable: redis-server's beforeSleep writes and fsyncs its AOF once per
// event-loop iteration, then sends the iteration's replies. An error
// means those writes may or may not survive a crash (ErrUnknownOutcome).
// Standalone mode offers it; the Raft store, whose writes wait for their
// commit, does not.
type DeferredApplier interface {
	ApplyDeferred(e *command.Entry) (*command.Result, error)
	SyncDeferred() error
}

// AsyncApplier is what a Backend may offer to run writes that wait for a
// commit on the event loop's thread (server/evloop.go), which must not
// wait: ApplyAsync proposes e and returns at once, and done is called
// once, from another goroutine, with what Apply would have returned. It
// returns false, and never calls done, when it cannot take e now; the
// caller then applies it with Apply. e's arguments must stay as they are
// until done. committed, when not nil, is called first, once, from
// another goroutine, when e has committed and is about to be applied, so
// that the caller may propose what it held back meanwhile: it is not
// called for a write that fails before then. WritesNow reports whether
// ApplyAsync would take a write now (this node leads). The Raft store
// offers it (store/async.go).
type AsyncApplier interface {
	ApplyAsync(e *command.Entry, committed func(), done func(*command.Result, error)) bool
	WritesNow() bool
}

// ApplyDeferred implements DeferredApplier.
func (s *standalone) ApplyDeferred(e *command.Entry) (*command.Result, error) {
	return s.apply(e, true, true)
}

// SyncDeferred implements DeferredApplier. The touches go to Notify's
// hook even when the fsync failed: the writes are visible to reads.
func (s *standalone) SyncDeferred() error {
	s.mu.Lock()
	ts := s.touched
	s.touched = nil
	s.mu.Unlock()
	var err error
	if s.groupSync.Load() {
		err = s.sync(true) // its fsync writes the held records first
	} else {
		err = s.flush()
	}
	if err != nil {
		err = fmt.Errorf("%w: sync: %v", ErrUnknownOutcome, err)
	}
	s.notifyTouched(ts)
	return err
}

// DurableReads is what a Backend may offer when what reads see can be
// lost: standalone mode with appendfsync always applies a write, then
// fsyncs, and a read in between sees the write; with everysec or no, the
// event loop's writes wait in the engine's buffer until the turn's end
// (engine.Batch.Hold), and a read meanwhile sees them. The server then
// sends no reply that may have seen a write before that write is durable
// (fsynced with always; with everysec and no, in the file, where a crash
// of the process keeps it), as redis-server sends an event-loop
// iteration's replies only after it has written the iteration's AOF
// buffer (and fsynced it, with always).
type DurableReads interface {
	// Unsynced is a mark of what a read sees now when some of it is not
	// yet durable, 0 when all of it is.
	Unsynced() uint64
	// Durable reports whether what the read of mark saw is durable now.
	Durable(mark uint64) bool
	// SyncTo makes what the read of mark saw durable: an fsync, shared.
	// An error means it may or may not survive a crash.
	SyncTo(mark uint64) error
}

// Unsynced implements DurableReads: the index of the last write reads
// may see, while it is not durable (Durable).
func (s *standalone) Unsynced() uint64 {
	if idx := s.visible.Load(); !s.Durable(idx) {
		return idx
	}
	return 0
}

// Durable implements DurableReads: fsynced with appendfsync always, in
// the engine's file otherwise.
func (s *standalone) Durable(mark uint64) bool {
	if s.groupSync.Load() {
		return s.durable.Load() >= mark
	}
	return s.written.Load() >= mark
}

// SyncTo implements DurableReads.
func (s *standalone) SyncTo(mark uint64) error {
	if s.Durable(mark) {
		return nil
	}
	if s.groupSync.Load() {
		if err := s.sync(false); err != nil {
			return fmt.Errorf("fsync: %w", err)
		}
		return nil
	}
	if err := s.flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

func (s *standalone) Notify(fn func(touched []command.Touch)) { s.notify.Store(&fn) }

// NewEvents is what a Backend may offer to spare the work of
// command.Touch.New when the node publishes no "new" keyspace events: the
// server calls SetNewEvents with whether notify-keyspace-events asks for
// them (and at startup), before the writes it concerns are proposed. A
// backend that never hears it reports New always.
type NewEvents interface {
	SetNewEvents(on bool)
}

// SetNewEvents implements NewEvents (command.Applier.NoNewEvents).
func (s *standalone) SetNewEvents(on bool) { s.noNew.Store(!on) }

func (s *standalone) ReadBarrier(level int) error { return nil }

// ReadsNow reports that a read at any level runs at once: there is no
// leader to ask.
func (s *standalone) ReadsNow(level int) bool { return true }

func (s *standalone) Join(id, raftAddr, respAddr string) error { return ErrStandalone }
func (s *standalone) Leave(id string) error                    { return ErrStandalone }
func (s *standalone) Snapshot() error                          { return ErrStandalone }
func (s *standalone) Members() ([]Member, error)               { return nil, ErrStandalone }
func (s *standalone) Leader() (Member, bool, error)            { return Member{}, false, ErrStandalone }
func (s *standalone) Transfer(id string) error                 { return ErrStandalone }

func (s *standalone) InfoRaft() string { return "raft_state:standalone\r\n" }

// Reconfigurer is what a Backend may offer for CONFIG SET of the settings
// below the RESP front (server/config.go type-asserts it; a Backend
// without it has those settings read-only). Its methods are called from
// connection goroutines, one CONFIG SET at a time.
type Reconfigurer interface {
	// Tunables reports the settings in force.
	Tunables() Tunables
	// SetSync changes appendfsync while running. A backend that cannot
	// change it without a restart answers an error that says so.
	SetSync(m engine.SyncMode) error
	// SetMerge changes the engine's automatic merge settings
	// (engine.DB.SetMerge).
	SetMerge(m engine.MergeSettings) error
	// SetSnapshot changes Raft's snapshot settings (hashicorp/raft's
	// ReloadConfig); ErrStandalone in standalone mode.
	SetSnapshot(s SnapshotSettings) error
}

// Tunables are the settings a Reconfigurer changes.
type Tunables struct {
	Sync  engine.SyncMode
	Merge engine.MergeSettings
	// Raft is false in standalone mode, where Snapshot means nothing.
	Raft     bool
	Snapshot SnapshotSettings
}

// SnapshotSettings are Raft's snapshot settings, as hashicorp/raft's
// ReloadableConfig names them.
type SnapshotSettings struct {
	// Threshold: log entries since the last snapshot that make the next.
	Threshold uint64
	// Interval: how often Raft checks Threshold (it waits a random time
	// between Interval and twice Interval).
	Interval time.Duration
	// TrailingLogs: log entries kept after a snapshot, for followers that
	// lag.
	TrailingLogs uint64
}

// Tunables implements Reconfigurer. In standalone mode appendfsync is the
// engine's mode, except that always is group commit (the engine in
// SyncNo, one Sync after each write shared by concurrent writers).
func (s *standalone) Tunables() Tunables {
	m := s.db.SyncMode()
	if s.groupSync.Load() {
		m = engine.SyncAlways
	}
	return Tunables{Sync: m, Merge: s.db.Merging()}
}

// SetSync implements Reconfigurer: always becomes group commit, everysec
// and no the engine's own modes.
func (s *standalone) SetSync(m engine.SyncMode) error {
	switch m {
	case engine.SyncAlways:
		if err := s.db.SetSync(engine.SyncNo); err != nil {
			return err
		}
		s.groupSync.Store(true)
		return s.db.Sync() // what was written before is durable now too
	case engine.SyncEverySec, engine.SyncNo:
		s.groupSync.Store(false)
		return s.db.SetSync(m)
	}
	return fmt.Errorf("backend: sync mode %d", m)
}

// SetMerge implements Reconfigurer.
func (s *standalone) SetMerge(m engine.MergeSettings) error { return s.db.SetMerge(m) }

// SetSnapshot implements Reconfigurer: there is no Raft in standalone mode.
func (s *standalone) SetSnapshot(SnapshotSettings) error { return ErrStandalone }
