package command

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/walkerdb/walkerdb/engine"
)

// batchBytes is how much an Applier holds before it commits on its own: a
// batch of many entries stays well inside an engine batch's limit.
const batchBytes = 64 << 20

// Applier applies log entries to an engine. Entries applied one after
// another share one overlay, so each sees the writes of those before it,
// and Commit writes them all as one engine batch: the state machine hands
// it a whole batch of Raft log entries at a time (raft.BatchingFSM). Each
// key is stamped with the index of the entry that wrote it (its WATCH
// version) and the batch with the last index, so the applied index is
// stored atomically with the data, and neither depends on how entries
// were grouped. Not safe for concurrent use.
type Applier struct {
	db      *engine.DB
	tx      *overlay
	last    uint64 // index of the newest entry applied
	pending int    // entries applied since the last commit
	// NoNewEvents leaves Touch.New false, sparing the engine lookup that
	// tells whether a write created its key: for a node that publishes
	// no "new" keyspace events (notify-keyspace-events without n). It
	// changes no state and no reply, only what Result.Touched reports.
	NoNewEvents bool
	// Hold has Commit hold its engine batch (engine.Batch.Hold): its
	// records may stay in the engine's write buffer until the caller's
	// engine.DB.Flush. Standalone mode's event loop sets it, and flushes
	// at the end of each turn, before the turn's replies go out.
	Hold bool
	// c and rec are the entry's ctx and the running command's reply,
	// reused from entry to entry (Apply is not reentrant).
	c   ctx
	rec Recorder
}

// NewApplier returns an Applier over db.
func NewApplier(db *engine.DB) *Applier { return &Applier{db: db, tx: newOverlay()} }

// ApplyEntry applies one entry as log index index and commits it.
func ApplyEntry(db *engine.DB, index uint64, e *Entry) (*Result, error) {
	return NewApplier(db).ApplyOne(index, e)
}

// ApplyOne applies one entry and commits it: a batch of one. A caller that
// applies entries one at a time (standalone mode) keeps one Applier, whose
// memory the entries reuse.
func (a *Applier) ApplyOne(index uint64, e *Entry) (*Result, error) {
	res, err := a.Apply(index, e)
	if err != nil {
		return res, err
	}
	if err := a.Commit(); err != nil {
		if Deterministic(err) {
			return &Result{Error: "ERR " + err.Error()}, nil
		}
		return &Result{Error: "ERR " + err.Error()}, err
	}
	return res, nil
}

// Apply executes e as log index index (greater than every index applied
// before) and returns its result. Its writes are committed by Commit, or
// by Apply itself once the batch holds batchBytes; the result stands only
// once they are.
//
// It is deterministic: expiry is judged at e.NowMs (never the node's
// clock), relative TTLs are added to it, random choices are seeded from
// index, and collection versions are made from it. So every node reaches
// the same state and computes the same result. It never panics: a
// malformed entry, an unknown command or bad arguments become error
// replies, identical on every node, and change nothing. err is non-nil
// only when the engine failed for reasons of its own (I/O, closed): then
// the node's state may lag the others', and the caller should stop
// applying.
func (a *Applier) Apply(index uint64, e *Entry) (res *Result, err error) {
	a.last = index
	a.pending++
	a.tx.begin()
	defer func() {
		if r := recover(); r != nil {
			a.rec.R = nil
			a.tx.rollback()
			if rf, ok := r.(refusal); ok {
				res = &Result{Error: string(rf)}
			} else {
				res = &Result{Error: fmt.Sprintf("ERR internal error applying log entry %d: %v", index, r)}
			}
			err = nil
		}
	}()
	switch {
	case e == nil:
		return &Result{Error: "ERR malformed log entry: nil"}, nil
	case e.DB < 0 || e.DB >= Databases:
		return &Result{Error: string(ErrDBRange)}, nil
	case len(e.Cmds) == 0 && !(e.Exec && len(e.Watches) > 0):
		// An EXEC of no commands after WATCH only checks the watches:
		// nil when one changed, else an empty array, as Redis.
		return &Result{Error: "ERR malformed log entry: no commands"}, nil
	case e.Parsed != nil && len(e.Parsed) != len(e.Cmds):
		return &Result{Error: "ERR malformed log entry: parsed commands do not match"}, nil
	}
	// The engine takes time 0 to mean its own clock: never let it.
	now := max(e.NowMs, 1)
	a.c = ctx{db: a.db, now: now, dbi: e.DB, tx: a.tx, index: index, rnd: index, user: e.User, noNew: a.NoNewEvents, inView: a.c.inView, room: e.Room}
	c := &a.c
	if len(e.Cmds) == 1 && !e.Exec {
		r1 := &result1{} // the result and its one reply's slot, in one allocation
		r1.res.Replies = r1.replies[:]
		res = &r1.res
	} else {
		res = &Result{}
	}
	if e.Exec {
		ok, err := a.watchesHold(c, e.Watches)
		if err != nil {
			return &Result{Error: "ERR " + err.Error()}, err
		}
		if !ok {
			res.Aborted = true
			return res, nil
		}
	}
	if res.Replies == nil {
		res.Replies = make([]Reply, len(e.Cmds))
	}
	if len(e.Cmds) > 1 {
		a.tx.touched = make([]Touch, 0, len(e.Cmds)) // about one a command
	}
	own := ownerOf(a.db)
	if own != nil && (e.Exec || len(e.Cmds) == 1) {
		if msg := a.refusal(own, e.Cmds); msg != "" {
			return &Result{Error: msg}, nil
		}
		own = nil // checked
	}
	rec := &a.rec
	for i, args := range e.Cmds {
		var p *Parsed
		if e.Parsed != nil {
			p = &e.Parsed[i]
		}
		rec.R = nil
		c.r = rec
		if msg := a.refusal(own, e.Cmds[i:i+1]); msg != "" {
			res.Replies[i] = ErrorReply(msg)
			continue
		}
		if e.Exec || len(e.Cmds) == 1 {
			c.exec(args, p, true)
		} else {
			a.execAlone(c, args, p, rec)
		}
		if c.fatal != nil {
			rec.R = nil
			a.tx.rollback()
			return &Result{Error: "ERR " + c.fatal.Error()}, c.fatal
		}
		res.Replies[i] = rec.R
		rec.R = nil
	}
	res.Touched = a.tx.touched
	a.tx.touched = nil
	if a.tx.bytes >= batchBytes {
		if err := a.Commit(); err != nil {
			return &Result{Error: "ERR " + err.Error()}, err
		}
	}
	return res, nil
}

// result1 is the Result of an entry of one command, with its reply's slot.
type result1 struct {
	res     Result
	replies [1]Reply
}

// execAlone runs one command of a pipeline's entry as if it were an entry
// of its own: a refusal of the whole write (a panic(refusal)) takes back
// this command's writes and becomes its reply, and the commands around it
// stand. Any other panic is raised again, for Apply to roll the entry back.
func (a *Applier) execAlone(c *ctx, args [][]byte, p *Parsed, rec *Recorder) {
	m := a.tx.mark()
	defer func() {
		if r := recover(); r != nil {
			rf, ok := r.(refusal)
			if !ok {
				panic(r)
			}
			a.tx.rollbackTo(m)
			*rec = Recorder{R: ErrorReply(string(rf))}
		}
	}()
	c.exec(args, p, true)
}

// Commit writes every entry applied since the last commit as one engine
// batch, stamped with the newest index. Entries that wrote nothing leave no
// trace: after a restart the state machine applies them again, to the
// same state, with the same (empty) effect.
func (a *Applier) Commit() error {
	if a.pending == 0 {
		return nil
	}
	a.pending = 0
	if len(a.tx.m) == 0 && a.tx.flushed == [Databases]bool{} {
		return nil
	}
	err := a.tx.commit(a.db, a.last, a.Hold)
	if a.tx.aclChanged {
		// After the commit, so that a reader who sees the new generation
		// reads the new users (ACLGeneration).
		a.tx.aclChanged = false
		aclGeneration.Add(1)
	}
	if a.tx.placeChanged {
		a.tx.placeChanged = false
		placementGeneration.Add(1)
	}
	if a.tx.slots != nil || a.tx.mig != nil {
		if o := ownerOf(a.db); o != nil && err == nil {
			cur := o.load(a.db)
			next := &ownedSlots{db: a.db, bits: cur.bits, mig: cur.mig}
			if a.tx.slots != nil {
				next.bits = a.tx.slots
			}
			if a.tx.mig != nil {
				next.mig = a.tx.mig
				if next.mig.empty() {
					next.mig = nil
				}
			}
			o.cur.Store(next)
			if a.tx.spansChanged {
				migrationGeneration.Add(1)
			}
		}
		a.tx.slots, a.tx.mig, a.tx.spansChanged = nil, nil, false
	}
	return err
}

// Deterministic reports whether an engine write error follows from the
// data alone (and so happens on every node with the same options).
func Deterministic(err error) bool {
	return errors.Is(err, engine.ErrKeyTooLarge) || errors.Is(err, engine.ErrValueTooLarge) ||
		errors.Is(err, engine.ErrBatchTooLarge)
}

// watchesHold reports whether every watched key still has the version
// WATCH recorded, the batch's writes so far included.
func (a *Applier) watchesHold(c *ctx, ws []Watch) (bool, error) {
	if len(ws) == 0 {
		return true, nil
	}
	ok := true
	err := a.db.View(c.now, func(r *engine.View) error {
		c.view = r
		defer func() { c.view = nil }()
		for _, w := range ws {
			if w.DB < 0 || w.DB >= Databases || version(c, w.DB, w.Key) != w.Seq {
				ok = false
				return nil
			}
		}
		return c.fatal
	})
	return ok, err
}

// Parsed is one command of an entry as its proposer parsed it
// (Spec.Parse), so that the node that proposed the entry does not parse it
// again. It never enters the log: other nodes parse the command from its
// arguments, once.
type Parsed struct {
	Spec *Spec
	Args any   // what Spec.Parse returned
	Err  error // what Spec.Parse refused it with: the command's reply
}

// ParseArgs is Parse for a command whose arity has been checked, as
// Entry.Parsed holds it.
func (s *Spec) ParseArgs(args [][]byte, now int64) Parsed {
	p, err := s.Parse(args, now)
	return Parsed{Spec: s, Args: p, Err: err}
}

// ParseCommand looks a data command up and parses it at time now, as
// Apply would: an unknown command, a wrong arity and bad arguments come
// back in Err, worded as Redis words them.
func ParseCommand(args [][]byte, now int64) Parsed {
	if len(args) == 0 {
		return Parsed{Err: Error("ERR empty command")}
	}
	s := Lookup(args[0])
	if s != nil && len(s.Subs) > 0 && len(args) > 1 {
		// A container (OBJECT): its subcommand runs.
		sub := s.Sub(args[1])
		if sub == nil {
			return Parsed{Err: Error(fmt.Sprintf("ERR unknown subcommand '%.128s'. Try %s HELP.", args[1], strings.ToUpper(s.Name)))}
		}
		s = sub
	}
	if s == nil || !s.IsData() {
		return Parsed{Err: ErrUnknownCommand(args)}
	}
	if !ArityOK(s.Arity, len(args)) {
		return Parsed{Spec: s, Err: ErrArity(s.Name)}
	}
	return s.ParseArgs(args, now)
}

// readableScript are the commands that run as reads when their script is
// flagged no-writes.
var readableScript = map[string]bool{"fcall": true, "eval": true, "evalsha": true}

// exec runs one command in c. inApply: the command is part of a log entry;
// otherwise only reads may run. p, when not nil, is the command already
// parsed.
func (c *ctx) exec(args [][]byte, p *Parsed, inApply bool) {
	if p == nil || (p.Spec == nil && p.Err == nil) {
		pp := ParseCommand(args, c.now)
		p = &pp
	}
	// FCALL, EVAL and EVALSHA run as reads too, for a function or a
	// script flagged no-writes: outside the log a script refuses every
	// write (runLua).
	if p.Spec != nil && !inApply && p.Spec.Flags&FlagReadonly == 0 && !readableScript[p.Spec.Name] {
		c.r.Error(string(ErrUnknownCommand(args)))
		return
	}
	if p.Err != nil {
		c.r.Error(errorText(p.Err))
		return
	}
	run, pargs := p.Spec.run, p.Args // the closure takes these, not p
	c.beginCommand()
	if c.miss != nil && (strings.HasPrefix(p.Spec.Name, "object|") || strings.HasPrefix(p.Spec.Name, "memory|")) {
		c.miss = nil // object.c's objectCommandLookup: LOOKUP_NONOTIFY
	}
	view := c.db.View
	if p.Spec.Flags&FlagByPosition != 0 {
		view = c.db.ViewIndexed
	}
	if c.inView == nil {
		c.inView = c.runInView // one method value for the ctx's commands, not a closure each
	}
	c.run, c.runArgs, c.runParsed = run, args, pargs
	err := view(c.now, c.inView)
	c.run, c.runArgs, c.runParsed = nil, nil, nil
	if err != nil {
		c.fail(err)
	}
}

// runInView runs the command exec set up in the view r.
func (c *ctx) runInView(r *engine.View) error {
	c.view = r
	c.run(c, c.runArgs, c.runParsed)
	c.view = nil
	return nil
}

// errorText is the reply text of an error: an Error as it is, anything
// else behind "ERR ".
func errorText(err error) string {
	var e Error
	if errors.As(err, &e) {
		return string(e)
	}
	return "ERR " + err.Error()
}

// Read runs a read command (FlagReadonly) against the local engine in
// database dbi, judging expiry at now (Unix ms), and writes its reply to
// w. spec, when not nil, is the command's, its arity already checked (the
// server's dispatch looked it up); nil looks it up here. A command that is
// not a read gets an unknown-command error. A command reads one
// consistent state: MGET sees all its keys as of one moment. A non-nil
// error is an engine failure (I/O, closed): the reply written so far is
// incomplete, and the caller answers with the error instead; but
// ErrWriteNeeded, with no reply written, asks the caller to run the
// command as a write (or with ReadNoWrite), as Redis's PFCOUNT writes.
func Read(db *engine.DB, dbi int, now int64, spec *Spec, args [][]byte, w Writer) (err error) {
	return readMaybeWrite(db, dbi, now, spec, args, w, true)
}

// ReadNoWrite is Read for a read that ran into ErrWriteNeeded and could
// not be run as a write: it answers without the change Redis would make
// (PFCOUNT answers its count without caching it).
func ReadNoWrite(db *engine.DB, dbi int, now int64, spec *Spec, args [][]byte, w Writer) error {
	return readMaybeWrite(db, dbi, now, spec, args, w, false)
}

// readMaybeWrite is Read; mayWrite lets the command ask to be a write instead
// (ErrWriteNeeded, no reply written).
func readMaybeWrite(db *engine.DB, dbi int, now int64, spec *Spec, args [][]byte, w Writer, mayWrite bool) (err error) {
	return readMiss(db, dbi, now, spec, args, w, mayWrite, nil, nil, "")
}

// KeyStats counts the key lookups of reads, as db.c's lookupKey counts
// INFO's keyspace_hits and keyspace_misses: every lookup of a read
// command, a key looked up twice counted twice; writes count none.
type KeyStats struct {
	Hits, Misses atomic.Int64
}

// ReadCounted is Read that calls miss (when not nil) with each key the
// command looked up and did not find, in order, as db.c's
// lookupKeyReadWithFlags notifies "keymiss" (a key looked up twice is
// reported twice), and adds the lookups to ks (when not nil).
// user is the ACL user running the read ("" for one that may run
// anything): the commands a read script calls are checked against it.
func ReadCounted(db *engine.DB, dbi int, now int64, spec *Spec, args [][]byte, w Writer, miss func(key []byte), ks *KeyStats, user string) error {
	return readMiss(db, dbi, now, spec, args, w, true, miss, ks, user)
}

// readCtxs holds the ctxs of reads between commands, each with its
// inView bound. A ctx is about 290 bytes and its method value a second
// allocation: two of the seven allocations a GET cost before (alloc
// profile of one node under GET -P 16). Nothing keeps a read's ctx past
// readMiss: its iterators and script run end with the command.
var readCtxs = sync.Pool{New: func() any {
	c := new(ctx)
	c.inView = c.runInView
	return c
}}

func readMiss(db *engine.DB, dbi int, now int64, spec *Spec, args [][]byte, w Writer, mayWrite bool, miss func([]byte), ks *KeyStats, user string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	if dbi < 0 || dbi >= Databases {
		w.Error(string(ErrDBRange))
		return nil
	}
	c := readCtxs.Get().(*ctx)
	*c = ctx{db: db, now: now, dbi: dbi, r: w, rnd: rand.Uint64(), mayWrite: mayWrite, miss: miss, user: user, inView: c.inView}
	defer func() {
		if ks != nil {
			if c.hits > 0 {
				ks.Hits.Add(c.hits)
			}
			if c.misses > 0 {
				ks.Misses.Add(c.misses)
			}
		}
		*c = ctx{inView: c.inView}
		readCtxs.Put(c)
	}()
	if spec != nil {
		p := spec.ParseArgs(args, now)
		c.exec(args, &p, false)
	} else {
		c.exec(args, nil, false)
	}
	if c.fatal == nil && c.needWrite {
		return ErrWriteNeeded
	}
	return c.fatal
}
