package store

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/hashicorp/raft"
	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// fsm applies the Raft log to the engine. raft calls Apply, Snapshot and
// Restore from one goroutine, never two at once.
type fsm struct {
	big   *bigEntries // large entries' bytes, read when applied (bigentry.go)
	dir   string
	opts  engine.Options
	log   *slog.Logger
	fatal func(error)

	mu sync.RWMutex // Restore swaps db under mu; ApplyBatch holds it
	db *engine.DB
	// cur is db for readers (engine), stored with it under mu: a read
	// loads it without taking mu, whose reader count every read on every
	// core would otherwise write (6% of a node's CPU under GET -P 16).
	// restoring is set while Restore swaps the engine: readers then take
	// mu, and so wait for the new one rather than get the closed one.
	cur       atomic.Pointer[engine.DB]
	restoring atomic.Bool

	applied atomic.Uint64 // newest log index applied (or skipped as applied)
	nowMs   atomic.Int64  // newest Entry.NowMs applied: the state machine's clock
	// noNew: this node publishes no "new" keyspace events, so batches
	// skip Touch.New (command.Applier.NoNewEvents; Store.SetNewEvents).
	// Each node decides for itself: Touch.New changes no state and no
	// reply, only what this node's notifications say.
	noNew atomic.Bool
	// skipped counts the log entries snapshot installs jumped over while
	// this node ran: their pub/sub messages and keyspace notifications
	// were never delivered on it (INFO raft's pubsub_entries_missed). What
	// a node misses while it is down is not counted.
	skipped atomic.Uint64
	// pubMissed counts the PUBLISH and SPUBLISH messages among them: the
	// difference between the count of messages the log carried
	// (command.Published, replicated state) in the snapshot and in the
	// state it replaced (INFO raft's pubsub_messages_missed).
	pubMissed atomic.Uint64

	// proposed holds the entries this node is proposing, already parsed,
	// by the address of their encoded bytes (see entry). A plain map under
	// a mutex: every key is added once and deleted once, the pattern
	// sync.Map is slowest at.
	proposedMu sync.Mutex
	proposed   map[*byte]proposal

	// notify, when set, is told the keys each batch's writes touched once
	// they are visible to reads (Store.Notify).
	notify atomic.Pointer[func([]command.Touch)]
}

// proposal is an entry this node proposed: its commands parsed, and the
// write to answer once it is applied (proposeAsync).
type proposal struct {
	e     *command.Entry
	async *asyncWrite
}

// propose registers an entry this node is about to hand raft as data, and
// the write that async answers once the entry is applied.
func (f *fsm) propose(data []byte, e *command.Entry, async *asyncWrite) {
	f.proposedMu.Lock()
	f.proposed[unsafe.SliceData(data)] = proposal{e: e, async: async}
	f.proposedMu.Unlock()
}

// isProposed reports whether l is an entry this node proposed and still
// holds (propose).
func (f *fsm) isProposed(l *raft.Log) bool {
	if len(l.Data) == 0 {
		return false
	}
	f.proposedMu.Lock()
	defer f.proposedMu.Unlock()
	return f.proposed[unsafe.SliceData(l.Data)].e != nil
}

// unpropose forgets it.
func (f *fsm) unpropose(data []byte) {
	f.proposedMu.Lock()
	delete(f.proposed, unsafe.SliceData(data))
	f.proposedMu.Unlock()
}

func openFSM(dir string, opts engine.Options, log *slog.Logger, fatal func(error)) (*fsm, error) {
	f := &fsm{dir: dir, log: log, fatal: fatal, proposed: make(map[*byte]proposal)}
	// Merge judges expiry by the state machine's clock, never the wall clock:
	// see engine.Options.MergeNow.
	opts.MergeNow = func() time.Time { return time.UnixMilli(f.nowMs.Load()) }
	f.opts = opts
	if err := finishSwap(dir); err != nil {
		return nil, err
	}
	db, err := engine.Open(dir, &opts)
	if err != nil {
		return nil, err
	}
	f.db = db
	f.cur.Store(db)
	f.applied.Store(db.Seq())
	return f, nil
}

// engine returns the current engine. While a Restore swaps it, engine
// waits for the new one; an engine returned before a Restore began may be
// closed by it, and then answers engine.ErrClosed.
func (f *fsm) engine() *engine.DB {
	if f.restoring.Load() {
		f.mu.RLock()
		defer f.mu.RUnlock()
		return f.db
	}
	return f.cur.Load()
}

// Apply implements raft.FSM for a single entry: ApplyBatch of one.
func (f *fsm) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// ApplyBatch implements raft.BatchingFSM: raft hands it the committed
// entries it has at hand (up to MaxAppendEntries), and they go to the
// engine as one batch (command.Applier), with the newest index stored in
// it. Each command entry's response is its *command.Result; entries
// applied before a restart are skipped, so none is applied twice.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	f.mu.RLock()
	defer f.mu.RUnlock()
	a := command.NewApplier(f.db)
	a.NoNewEvents = f.noNew.Load()
	applied := f.applied.Load()
	// big: a large entry's bytes were read from its file. They and the
	// copies the batch made of them are garbage once applied, and the next
	// large value (this batch's first reader, the next entry) would be
	// allocated before Go's collector, paced by heap growth, freed them:
	// collect once the entries are applied, so that a reader of the new
	// value reuses the file's bytes' memory, and again after the commit
	// (as the server does after a large command, collectAfter). Both
	// collections give the freed pages back to the system at once
	// (debug.FreeOSMemory): the batch's copy and a reader's buffer are not
	// the file's bytes' size, so they need not fit in their span, and Go's
	// scavenger returns pages over seconds, while the pages count in the
	// process's resident set.
	big := false
	defer func() {
		if big {
			debug.FreeOSMemory()
		}
	}()
	last, n, only := applied, 0, -1
	var asyncs []asyncAt // ApplyAsync's writes: answered once the batch is visible and notified
	for i, l := range logs {
		if l.Type != raft.LogCommand || l.Index <= applied {
			continue // in the engine already: written before a restart
		}
		if _, ok := parseBigRef(l); ok {
			big = true
		}
		e, async, err := f.entry(l)
		if async != nil {
			asyncs = append(asyncs, asyncAt{i, async})
			if async.committed != nil {
				async.committed()
			}
		}
		if err != nil {
			// Every node reads the same bytes and refuses them alike; the
			// entry still counts as applied.
			f.log.Error("undecodable log entry", "index", l.Index, "err", err)
		}
		if e != nil && e.NowMs > f.nowMs.Load() {
			f.nowMs.Store(e.NowMs)
		}
		res, err := a.Apply(l.Index, e)
		if big && e != nil && !f.isProposed(l) {
			// Applied: the large arguments read from the file are copied
			// where the batch keeps them; let the file's bytes go before the
			// collection below.
			for _, c := range e.Cmds {
				for i, a := range c {
					if len(a) >= bigEntryMin {
						c[i] = nil
					}
				}
			}
			e.Room = nil
		}
		if err != nil {
			// The engine failed for reasons of its own. Answering an error
			// would leave this node without the write the others have.
			f.fatal(fmt.Errorf("apply log index %d: %w", l.Index, err))
		}
		out[i], last, n, only = res, l.Index, n+1, i
	}
	if n == 0 {
		return out
	}
	if big {
		debug.FreeOSMemory()
	}
	if err := a.Commit(); err != nil {
		if n == 1 && command.Deterministic(err) {
			// The one entry's writes are refused by the engine on every
			// node alike (too large): it fails, and nothing was written.
			out[only] = &command.Result{Error: "ERR " + err.Error()}
		} else {
			f.fatal(fmt.Errorf("apply log indexes up to %d: %w", last, err))
		}
	}
	f.applied.Store(last)
	for i, l := range logs {
		if res, ok := out[i].(*command.Result); ok {
			res.Index, res.Term = l.Index, l.Term // WAIT's position of the write
		}
	}
	if fn := f.notify.Load(); fn != nil {
		for _, r := range out {
			if res, ok := r.(*command.Result); ok && len(res.Touched) > 0 {
				(*fn)(res.Touched)
			}
		}
	}
	for _, a := range asyncs {
		if res, ok := out[a.i].(*command.Result); ok {
			a.w.finish(res, nil)
		}
	}
	return out
}

// asyncAt is an ApplyAsync write at index i of a batch.
type asyncAt struct {
	i int
	w *asyncWrite
}

// entry returns a log entry's command.Entry: the proposer's own, already
// parsed, when this node proposed it (proposeAsync registers it by the
// address of the bytes it handed raft, which raft gives back unchanged on
// the leader), or else decoded from the log.
func (f *fsm) entry(l *raft.Log) (*command.Entry, *asyncWrite, error) {
	if len(l.Data) > 0 {
		f.proposedMu.Lock()
		p := f.proposed[unsafe.SliceData(l.Data)]
		f.proposedMu.Unlock()
		if p.e != nil {
			return p.e, p.async, nil
		}
	}
	if ref, ok := parseBigRef(l); ok && f.big != nil {
		data, err := f.big.readEntry(l.Index, l.Term, ref)
		if err != nil {
			// The file of an entry the log holds is missing or damaged:
			// this node cannot apply what the others do.
			f.fatal(err)
			return nil, nil, err
		}
		e, err := command.DecodeEntry(data)
		if err == nil {
			// The arguments alias data; what outlives the batch (the keys
			// a notification names) must not keep all of it alive: the
			// small ones are copied, the large ones stay in data, which
			// is this state machine's own (Room).
			e.FrameIn(command.Roomy{Buf: data, Len: len(data)}, bigEntryMin)
		}
		return e, nil, err
	}
	e, err := command.DecodeEntry(l.Data)
	return e, nil, err
}

// Snapshot implements raft.FSM: a checkpoint of the engine's files.
// Sealing the active segment syncs it, so the engine is durable up to here
// before raft compacts its log.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	cp, err := f.engine().Checkpoint()
	if err != nil {
		return nil, err
	}
	return &snapshot{cp: cp}, nil
}

type snapshot struct{ cp *engine.Checkpoint }

func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := s.cp.WriteTo(sink); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *snapshot) Release() { s.cp.Close() }

// Restore implements raft.FSM: replace the engine's data whole with a
// snapshot from the leader.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	incoming := f.dir + ".incoming"
	if err := os.RemoveAll(incoming); err != nil {
		return err
	}
	if _, err := engine.Restore(rc, incoming, f.opts.LayoutVersion); err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	f.restoring.Store(true) // before the lock: a read that comes meanwhile waits for it
	defer f.restoring.Store(false)
	f.mu.Lock()
	defer f.mu.Unlock()
	pubBefore, pubErr := command.Published(f.db)
	if err := f.db.Close(); err != nil {
		f.log.Warn("closing engine for restore", "err", err)
	}
	old := f.dir + ".old"
	os.RemoveAll(old)
	if err := os.Rename(f.dir, old); err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	if err := os.Rename(incoming, f.dir); err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	db, err := engine.Open(f.dir, &f.opts)
	if err != nil {
		return fmt.Errorf("restore snapshot: open: %w", err)
	}
	f.db = db
	f.cur.Store(db)
	command.PlacementRestored() // a placement group's state may have changed: routing reads it again
	if prev, seq := f.applied.Load(), db.Seq(); seq > prev {
		f.skipped.Add(seq - prev)
		pubAfter, err := command.Published(db)
		if err == nil && pubErr == nil && pubAfter >= pubBefore {
			f.pubMissed.Add(pubAfter - pubBefore)
		} else {
			f.log.Warn("cannot count the pub/sub messages a snapshot skipped", "err", errors.Join(pubErr, err), "published_before", pubBefore, "published_after", pubAfter)
		}
		f.log.Warn(fmt.Sprintf("snapshot installed over unapplied log entries: %d pub/sub messages and the keyspace notifications of their writes are not delivered on this node", pubAfter-min(pubBefore, pubAfter)),
			"messages_missed", pubAfter-min(pubBefore, pubAfter), "published_before", pubBefore, "published_after", pubAfter,
			"from_index", prev+1, "to_index", seq)
	}
	f.applied.Store(db.Seq())
	os.RemoveAll(old)
	f.log.Info("restored snapshot", "keys", db.Len(), "seq", db.Seq())
	return nil
}

// finishSwap repairs what a crash in the middle of Restore's swap left: the
// old directory put aside with the new one not yet in place. The old data
// comes back; the snapshot check at Open brings it up to date.
func finishSwap(dir string) error {
	old, incoming := dir+".old", dir+".incoming"
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(old); err == nil {
			if err := os.Rename(old, dir); err != nil {
				return err
			}
		}
	}
	os.RemoveAll(incoming)
	os.RemoveAll(old)
	return nil
}

func (f *fsm) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.db.Close()
}
