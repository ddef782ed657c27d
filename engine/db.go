package engine

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walkerdb/walkerdb/engine/hint"
	"github.com/walkerdb/walkerdb/engine/keydir"
	"github.com/walkerdb/walkerdb/engine/record"
	"golang.org/x/sys/unix"
)

const lockName = "LOCK"

// DB is an open data directory. All methods are safe for concurrent use.
//
// Locking: mu guards the keydir, the segment table and the active segment's
// length; Get and Exists share it, writes and scans hold it alone for the
// few microseconds of a copy into the mapping. Fsyncs run outside mu
// (see syncTo). mergeMu serialises merges, hint writing and checkpoints,
// the work that renames or links segment files.
type DB struct {
	dir  string
	opts Options
	lock *os.File

	mu      sync.RWMutex
	closed  bool
	kd      *keydir.Keydir
	segs    map[uint32]*segment
	active  *segment
	seq     uint64
	failErr error // sticky: a failed fsync or rotation stops all writes

	gc groupCommit

	prefetched atomic.Uint32 // PrefetchGets' reads, kept so that they are not dropped

	mergeMu   sync.Mutex
	mergeErr  error // last automatic merge's error, for Stats
	merges    int64
	hintQueue chan uint32

	quit chan struct{}
	wg   sync.WaitGroup

	live liveOptions // the options SetSync and SetMerge change (reconfig.go)
}

// Open opens or creates the data directory dir. It fails with ErrLocked
// when another DB holds the directory, with an error wrapping ErrFormat
// when the directory's FORMAT file (format.go) names a version or layout
// this build does not read, or is missing beside segments, and with an
// error wrapping ErrCorruption when FORMAT or a segment is damaged
// (a segment anywhere but its torn tail).
// A nil opts means DefaultOptions.
func Open(dir string, opts *Options) (*DB, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	// Check FORMAT (or write it, in a new directory). From here on
	// o.LayoutVersion is the one the directory records: checkpoints carry it.
	if o.LayoutVersion, err = openFormat(dir, o.LayoutVersion); err != nil {
		lock.Close()
		return nil, err
	}
	db := &DB{
		dir:       dir,
		opts:      o,
		lock:      lock,
		segs:      make(map[uint32]*segment),
		hintQueue: make(chan uint32, 1024),
		quit:      make(chan struct{}),
	}
	db.gc.cond = sync.NewCond(&db.gc.mu)
	if err := db.load(); err != nil {
		for _, s := range db.segs {
			s.close()
		}
		lock.Close()
		return nil, err
	}
	db.start()
	return db, nil
}

// lockDir takes the directory's flock. flock belongs to the open file, so a
// second Open in the same process is refused as surely as another process.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		return nil, fmt.Errorf("engine: lock %s: %w", dir, err)
	}
	return f, nil
}

// segmentIDs lists the segment files of dir in ascending order.
func segmentIDs(dir string) ([]uint32, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ids []uint32
	for _, e := range entries {
		if id, ok := parseSegName(e.Name()); ok && e.Type().IsRegular() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// load rebuilds the keydir from the directory: hints where they are good,
// scans where not. The last segment becomes the active one.
func (db *DB) load() error {
	if err := finishMerge(db.dir); err != nil {
		return err
	}
	removeTemps(db.dir)
	os.RemoveAll(filepath.Join(db.dir, checkpointsDir)) // pins of a previous run
	ids, err := segmentIDs(db.dir)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	db.kd = keydir.New(hintedKeys(db.dir, ids))
	for i, id := range ids {
		if id > keydir.MaxSegmentID {
			return fmt.Errorf("engine: segment id %d beyond %d", id, keydir.MaxSegmentID)
		}
		if i == len(ids)-1 {
			err = db.loadActive(id)
		} else {
			err = db.loadSealed(id)
		}
		if err != nil {
			return err
		}
	}
	if db.active == nil {
		s, err := createActive(db.dir, 1, db.opts.SegmentSize, db.opts.ZeroAhead)
		if err != nil {
			return fmt.Errorf("engine: %w", err)
		}
		db.segs[s.id] = s
		db.active = s
	}
	db.gc.seg, db.gc.off = db.active.id, db.active.size
	db.kd.Sync()
	return nil
}

// hintedKeys estimates the keys a directory holds from its hint files'
// sizes (a hint entry takes about 40 bytes plus its key), so the keydir's
// map is made once at about its final size.
func hintedKeys(dir string, ids []uint32) int {
	var bytes int64
	for _, id := range ids {
		if st, err := os.Stat(filepath.Join(dir, hintName(id))); err == nil {
			bytes += st.Size()
		}
	}
	return int(bytes / 56)
}

// loadSealed adds a sealed segment to the keydir from its hint or, failing
// that, by scanning it.
func (db *DB) loadSealed(id uint32) error {
	path := filepath.Join(db.dir, segName(id))
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	var s *segment
	if st.Size() == 0 {
		s = &segment{id: id, path: path}
	} else if s, err = openSealed(path, id); err != nil {
		return err
	}
	db.segs[id] = s
	if h, err := hint.ReadFile(filepath.Join(db.dir, hintName(id))); err == nil &&
		h.SegmentID() == id && h.SegmentSize() == uint64(s.size) {
		for c := 0; c < h.Len(); c += loadBatch {
			n := min(loadBatch, h.Len()-c)
			db.kd.Prefetch(n, func(i int) []byte { return h.Entry(c + i).Key })
			for i := c; i < c+n; i++ {
				e := h.Entry(i)
				db.applyLoaded(s, e.Kind, e.Key, int64(e.Offset), int64(e.Size), e.ExpireAt)
			}
		}
		db.seq = max(db.seq, h.MaxSeq())
		return nil
	}
	res := db.scanInto(s, s.readerAt(), s.size)
	if res.err != nil {
		if nextValidRecord(s.readerAt(), res.bad, s.size, db.maxRecord()) >= 0 || !allZero(s.readerAt(), res.end, s.size) {
			return fmt.Errorf("segment %d offset %d: %w", id, res.bad, corruptionOf(res.err))
		}
		// A preallocated tail that was never trimmed: the crash came between
		// sealing's sync and its trim. Trim it now.
		s.close()
		if err := os.Truncate(path, res.end); err != nil {
			return fmt.Errorf("engine: %w", err)
		}
		if s, err = openSealed(path, id); err != nil {
			return err
		}
		db.segs[id] = s
	}
	db.queueHint(id)
	return nil
}

// loadActive scans the last segment, cuts off a torn tail and maps it for
// writing.
func (db *DB) loadActive(id uint32) error {
	path := filepath.Join(db.dir, segName(id))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("engine: %w", err)
	}
	// The scan applies records to a segment that is not mapped yet; reads of
	// old record headers during it go through the segments already loaded.
	s := &segment{id: id, path: path, loading: f}
	db.segs[id] = s
	res := db.scanInto(s, f, st.Size())
	if res.err != nil && nextValidRecord(f, res.bad, st.Size(), db.maxRecord()) >= 0 {
		f.Close()
		return fmt.Errorf("segment %d offset %d: %w", id, res.bad, corruptionOf(res.err))
	}
	// Whatever follows the last whole record is a torn write or the
	// preallocated tail: drop it so new records start on clean bytes.
	if err := f.Truncate(res.end); err != nil {
		f.Close()
		return fmt.Errorf("engine: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("engine: %w", err)
	}
	act, err := mapActive(f, path, id, res.end, max(db.opts.SegmentSize, res.end), db.opts.ZeroAhead)
	if err != nil {
		f.Close()
		return err
	}
	act.live = s.live
	db.segs[id] = act
	db.active = act
	return nil
}

// loadBatch is how many of a hint's entries Open applies to the keydir
// after one Keydir.Prefetch of their keys.
const loadBatch = 64

// scanInto applies every record of a segment to the keydir.
func (db *DB) scanInto(s *segment, r io.ReaderAt, size int64) scanResult {
	res := scanKeys(r, size, db.maxRecord(), func(off int64, rec record.Record) error {
		db.applyLoaded(s, rec.Kind(), rec.Key, off, rec.Size(), rec.ExpireAt)
		return nil
	})
	db.seq = max(db.seq, res.maxSeq)
	return res
}

// applyLoaded applies one record found while loading. Expired keys stay in
// the keydir like any other: readers judge expiry at their own time, and
// only merge drops them (see Options.Now).
func (db *DB) applyLoaded(s *segment, kind uint8, key []byte, off, size, expireAt int64) {
	if kind == record.KindPut {
		db.setLoc(key, keydir.MakeLoc(s.id, uint32(off), expiresFlag(expireAt)), size)
		s.live += size
		return
	}
	db.dropKey(key)
}

func expiresFlag(expireAt int64) uint8 {
	if expireAt != 0 {
		return keydir.FlagExpires
	}
	return 0
}

// setLoc points key at loc, a record of size bytes, and moves the bytes
// of the record it replaces to dead.
func (db *DB) setLoc(key []byte, loc keydir.Loc, size int64) {
	if old, oldSize, ok := db.kd.Put(key, loc, uint32(size)); ok {
		db.kill(old, oldSize)
	}
}

// dropKey removes key and moves its record's bytes to dead.
func (db *DB) dropKey(key []byte) {
	if old, oldSize, ok := db.kd.Delete(key); ok {
		db.kill(old, oldSize)
	}
}

// kill subtracts a record the keydir no longer points at from its
// segment's live bytes.
func (db *DB) kill(l keydir.Loc, size uint32) {
	if s := db.segs[l.Segment()]; s != nil {
		s.live -= int64(size)
	}
}

// maxRecord is the longest record the options allow.
func (db *DB) maxRecord() int64 {
	return record.Size(db.opts.MaxKeySize, db.opts.MaxValueSize) + record.HeaderSize + 4
}

func corruptionOf(err error) error {
	if errors.Is(err, ErrCorruption) {
		return err
	}
	return fmt.Errorf("%v: %w", err, ErrCorruption)
}

// removeTemps deletes what an interrupted atomic write left behind.
func removeTemps(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

func (db *DB) nowMs() int64 { return db.opts.Now().UnixMilli() }

// start launches the background work: periodic fsync, hint writing and
// automatic merge. Close stops them.
func (db *DB) start() {
	db.live.init(db.opts)
	db.wg.Add(1)
	go db.hintLoop()
	db.startLoops() // everysec sync, automatic merge (reconfig.go)
}

// Close syncs and closes the DB. It waits for a running merge to stop.
// Closing twice returns nil.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil
	}
	db.closed = true
	db.mu.Unlock()
	close(db.quit)
	db.wg.Wait()
	db.mergeMu.Lock() // a caller's Merge sees closed and gives up
	defer db.mergeMu.Unlock()

	db.mu.Lock()
	defer db.mu.Unlock()
	var errs []error
	if err := db.active.flush(); err != nil { // held records (Batch.Hold)
		errs = append(errs, err)
	}
	if err := db.active.sync(); err != nil {
		errs = append(errs, err)
	}
	// Trim the active segment's preallocation; the next Open grows it again.
	act := db.active
	for _, s := range db.segs {
		errs = append(errs, s.close())
	}
	if err := os.Truncate(act.path, act.size); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	errs = append(errs, db.lock.Close())
	return errors.Join(errs...)
}

// Get returns a copy of key's value, or ErrNotFound.
func (db *DB) Get(key []byte) ([]byte, error) {
	v, _, err := db.GetWithExpiry(key)
	return v, err
}

// GetWithExpiry returns key's value and its expiry time in Unix
// milliseconds (0 = none).
func (db *DB) GetWithExpiry(key []byte) ([]byte, int64, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return nil, 0, ErrClosed
	}
	return db.get(key, 0)
}

// Lookup returns key's metadata without reading its value, or ErrNotFound.
func (db *DB) Lookup(key []byte) (Meta, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return Meta{}, ErrClosed
	}
	return db.lookup(key, 0)
}

// Exists reports whether key has a live value.
func (db *DB) Exists(key []byte) (bool, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return false, ErrClosed
	}
	return db.exists(key, 0)
}

// PrefetchGets reads ahead what Gets of n keys (key(i)) will wait on: for
// each key, the keydir slots where its lookup looks, and then the first
// cache lines of the record the lookup finds. Each Get waits on two cache
// misses, one after the other (the slot, then the record); read for many
// keys at once, the misses of different keys overlap, and the Gets that
// follow find both in cache. It changes nothing, returns nothing, and
// takes the read lock as Get does; an absent key costs its slot's read.
//
// walkerd calls it with the keys of a pipeline's reads before it runs
// them.
func (db *DB) PrefetchGets(n int, key func(i int) []byte) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed || n == 0 {
		return
	}
	sink := db.kd.PrefetchLookups(n, key, func(loc keydir.Loc, size uint32) []byte {
		s := db.segs[loc.Segment()]
		if s == nil {
			return nil
		}
		b := s.from(loc.Offset())
		return b[:min(len(b), int(size))]
	})
	db.prefetched.Add(uint32(sink))
}

// get reads key as of now (Unix ms; 0: the clock, read only if the record
// expires). The caller holds mu.
func (db *DB) get(key []byte, now int64) ([]byte, int64, error) {
	loc, size, exact, ok := db.kd.LookupSize(key)
	if !ok {
		return nil, 0, ErrNotFound
	}
	s := db.segs[loc.Segment()]
	v, exp, err := s.readValueSized(loc.Offset(), size, key)
	if err != nil {
		if !exact && s.holdsOtherKey(loc.Offset(), key) {
			return nil, 0, ErrNotFound // a stranger with key's fingerprint
		}
		return nil, 0, err
	}
	if exp != 0 && db.expired(exp, now) {
		return nil, 0, ErrNotFound
	}
	return v, exp, nil
}

func (db *DB) lookup(key []byte, now int64) (Meta, error) {
	loc, exact, ok := db.kd.Lookup(key)
	if !ok {
		return Meta{}, ErrNotFound
	}
	s := db.segs[loc.Segment()]
	h, err := s.readHeader(loc.Offset())
	if err != nil {
		return Meta{}, s.wrap(loc.Offset(), err)
	}
	if !exact && s.holdsOtherKey(loc.Offset(), key) {
		return Meta{}, ErrNotFound // a stranger with key's fingerprint
	}
	if h.ExpireAt != 0 && db.expired(h.ExpireAt, now) {
		return Meta{}, ErrNotFound
	}
	return Meta{ValueLen: int(h.ValueLen), ExpireAt: h.ExpireAt, Seq: h.Seq}, nil
}

func (db *DB) exists(key []byte, now int64) (bool, error) {
	loc, ok := db.kd.Get(key)
	if !ok {
		return false, nil
	}
	if !loc.Expires() {
		return true, nil
	}
	_, err := db.lookup(key, now)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// expired reports whether expireAt has passed at now (0: the clock).
func (db *DB) expired(expireAt, now int64) bool {
	if now == 0 {
		now = db.nowMs()
	}
	return expireAt <= now
}

// View runs fn with a consistent view of the DB in which keys expire as of
// nowMs (Unix milliseconds). Every read in fn sees the same state: no write
// lands between them. walkerd's state machine reads at its log entry's time,
// so every node decides expiry alike; MGET reads all its keys in one View.
// fn must not write to the DB, and should be quick: writers wait for it.
func (db *DB) View(nowMs int64, fn func(*View) error) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return ErrClosed
	}
	if nowMs == 0 {
		nowMs = db.nowMs()
	}
	v := &View{db: db, now: nowMs}
	defer func() { v.done = true }() // before RUnlock: its Iterators stop
	return fn(v)
}

// TryView is View when the DB can be read at once; ok is false, fn not
// run, when a writer holds the DB or waits for it (walkerd's FUNCTION
// STATS, which must answer while a long read script holds a View and a
// write waits behind it).
func (db *DB) TryView(nowMs int64, fn func(*View) error) (ok bool, err error) {
	if !db.mu.TryRLock() {
		return false, nil
	}
	defer db.mu.RUnlock()
	if db.closed {
		return true, ErrClosed
	}
	if nowMs == 0 {
		nowMs = db.nowMs()
	}
	v := &View{db: db, now: nowMs}
	defer func() { v.done = true }()
	return true, fn(v)
}

// ViewIndexed is View with the keydir's order made exact first, so that
// the View's Rank and KeyAt answer: in O(log² n) and O(log n) rather than
// a walk. It holds the DB alone while fn runs (other readers and writers
// wait), so fn should be as quick as a View's. walkerd reads by position
// through it: ZRANK, ZRANGE by index, random picks of SPOP and the like.
func (db *DB) ViewIndexed(nowMs int64, fn func(*View) error) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return ErrClosed
	}
	if nowMs == 0 {
		nowMs = db.nowMs()
	}
	db.kd.Sync()
	v := &View{db: db, now: nowMs, indexed: true}
	defer func() { v.done = true }()
	return fn(v)
}

// View is a read-only view of the DB, valid during DB.View's callback.
type View struct {
	db      *DB
	now     int64
	done    bool // fn has returned (iter.go)
	indexed bool // a ViewIndexed: Rank and KeyAt answer
}

// Rank is the number of keys in [lower, key), expired ones not yet
// deleted included (as Len counts them). ok is false outside ViewIndexed:
// walk an Iterator instead.
func (r *View) Rank(lower, key []byte) (n int, ok bool) {
	if !r.indexed || !r.db.kd.Synced() {
		return 0, false
	}
	if string(key) <= string(lower) {
		return 0, true
	}
	return r.db.kd.Rank(key) - r.db.kd.Rank(lower), true
}

// KeyAt returns a copy of the key at position i among the keys >= lower
// (0: the first), counted as Rank counts; found is false past the last
// key. ok is false outside ViewIndexed.
func (r *View) KeyAt(lower []byte, i int) (key []byte, found, ok bool) {
	if !r.indexed || !r.db.kd.Synced() {
		return nil, false, false
	}
	k, found := r.db.kd.At(r.db.kd.Rank(lower) + i)
	if !found {
		return nil, false, true
	}
	return []byte(k), true, true
}

// Meta is what the engine knows of a key without reading its value.
type Meta struct {
	ValueLen int
	ExpireAt int64  // Unix milliseconds, 0 = none
	Seq      uint64 // the seq of the write that set it
}

// Get returns a copy of key's value and its expiry, or ErrNotFound.
func (r *View) Get(key []byte) ([]byte, int64, error) { return r.db.get(key, r.now) }

// Lookup returns key's metadata, or ErrNotFound.
func (r *View) Lookup(key []byte) (Meta, error) { return r.db.lookup(key, r.now) }

// Exists reports whether key has a live value.
func (r *View) Exists(key []byte) (bool, error) { return r.db.exists(key, r.now) }

// LookupAny returns key's metadata whatever its expiry, or ErrNotFound:
// it sees keys that expired but are still stored (walkerd's expiry
// sweeper deletes those).
func (r *View) LookupAny(key []byte) (Meta, error) { return r.db.lookup(key, math.MinInt64) }

// Len is the number of keys in the keydir. Keys that expired but were not
// yet deleted or merged away are counted, as Redis's DBSIZE counts them.
func (db *DB) Len() int {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.kd.Len()
}

// CountPrefix is the number of keys that begin with prefix, counted as Len
// counts. It is immediate for prefixes of zero or one byte.
func (db *DB) CountPrefix(prefix []byte) int {
	if len(prefix) <= 1 {
		db.mu.RLock()
		defer db.mu.RUnlock()
		return db.kd.CountPrefix(prefix)
	}
	db.mu.Lock() // the walk folds pending keys into the tree
	defer db.mu.Unlock()
	return db.kd.CountPrefix(prefix)
}

// CountPrefix is DB.CountPrefix inside the View, for prefixes of zero or
// one byte (immediate): the View holds the lock already, and taking it
// again under a waiting writer would deadlock. A longer prefix panics.
func (r *View) CountPrefix(prefix []byte) int {
	if len(prefix) > 1 {
		panic("engine: View.CountPrefix takes prefixes of at most one byte")
	}
	return r.db.kd.CountPrefix(prefix)
}

// Seq is the highest sequence number written, as recovered after Open.
func (db *DB) Seq() uint64 {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.seq
}

// Dir is the data directory.
func (db *DB) Dir() string { return db.dir }

// Put sets key to value with no expiry.
func (db *DB) Put(key, value []byte) error {
	return db.write([]op{{kind: record.KindPut, key: key, value: value}}, 0, false)
}

// PutWithExpiry sets key to value until expireAt (Unix milliseconds; 0 =
// never). A time already past writes a key that no read will see until
// merge removes it.
func (db *DB) PutWithExpiry(key, value []byte, expireAt int64) error {
	return db.write([]op{{kind: record.KindPut, key: key, value: value, expireAt: expireAt}}, 0, false)
}

// Delete removes key. Deleting a missing key is not an error.
func (db *DB) Delete(key []byte) error {
	return db.write([]op{{kind: record.KindDelete, key: key}}, 0, false)
}

// Write commits a batch atomically: after a crash all of it is there or
// none, and no reader ever sees part of it. A held batch (Batch.Hold) may
// stay in memory until Flush.
func (db *DB) Write(b *Batch) error {
	return db.write(b.ops, b.seq, b.held)
}

// Flush writes the records held batches left in the active segment's
// write buffer (Batch.Hold) to its file, with one pwrite: from then on
// they survive a crash of the process. An error stops writes, as a failed
// Write does.
func (db *DB) Flush() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return ErrClosed
	}
	return db.flushActive()
}

// flushActive writes the active segment's buffered records. The caller
// holds mu for writing.
func (db *DB) flushActive() error {
	if db.failErr != nil {
		return db.failErr
	}
	if err := db.active.flush(); err != nil {
		// The next open drops a batch without its commit, or a record
		// cut short; readers still find the records in the buffer.
		db.failErr = fmt.Errorf("engine: writes stopped: %w", err)
		return err
	}
	return nil
}

// heldMax bounds the bytes of records held batches leave buffered
// (Batch.Hold): past it, a held Write flushes.
const heldMax = 256 << 10

// write appends ops (and, for more than one, a commit) to the active
// segment, writes them to its file unless held, updates the keydir, and in
// SyncAlways waits for the fsync.
func (db *DB) write(ops []op, seq uint64, held bool) error {
	var total int64
	puts := 0
	for i := range ops {
		if ops[i].kind == record.KindPut {
			puts++
		}
		if len(ops[i].key) > db.opts.MaxKeySize {
			return fmt.Errorf("%w: %d bytes, limit %d", ErrKeyTooLarge, len(ops[i].key), db.opts.MaxKeySize)
		}
		if len(ops[i].value) > db.opts.MaxValueSize {
			return fmt.Errorf("%w: %d bytes, limit %d", ErrValueTooLarge, len(ops[i].value), db.opts.MaxValueSize)
		}
		total += record.Size(len(ops[i].key), len(ops[i].value))
	}
	// A single op with a seq of its own still gets a commit record, which
	// carries the batch's seq: after a restart Seq must return it.
	batched := len(ops) != 1 || (ops[0].seq != 0 && ops[0].seq != seq)
	if batched {
		if len(ops) == 0 && seq == 0 {
			return nil // nothing to record
		}
		total += record.Size(0, 4)
	}
	if total > MaxSegmentSize {
		return fmt.Errorf("%w: %d bytes", ErrBatchTooLarge, total)
	}

	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return ErrClosed
	}
	if db.failErr != nil {
		db.mu.Unlock()
		return db.failErr
	}
	if !db.kd.Fits(puts) {
		db.mu.Unlock()
		return fmt.Errorf("%w: no room for %d new keys beside %d", ErrIndexFull, puts, db.kd.Len())
	}
	if db.active.size+total > db.active.capacity() {
		if err := db.rotate(total); err != nil {
			db.failErr = fmt.Errorf("engine: writes stopped: %w", err)
			db.mu.Unlock()
			return err
		}
	}
	act := db.active
	var flag uint8
	if batched {
		flag = record.FlagInBatch
	}
	start := act.size
	for i := range ops {
		o := &ops[i]
		s := seq
		if o.seq != 0 {
			s = o.seq
		}
		if _, err := act.appendRecord(o.kind|flag, s, o.expireAt, o.key, o.value); err != nil {
			// Records of the batch may be written without their commit:
			// the next open drops them, and nothing more is written.
			db.failErr = fmt.Errorf("engine: writes stopped: %w", err)
			db.mu.Unlock()
			return err
		}
	}
	if batched {
		act.appendRecord(record.KindCommit, seq, 0, nil, record.CommitValue(uint32(len(ops))))
	}
	if !held || len(act.wb) >= heldMax {
		if err := db.flushActive(); err != nil {
			db.mu.Unlock()
			return err
		}
	}
	// The records are in place; now make them visible, all under one lock,
	// with the cache misses of a batch's lookups overlapped.
	if len(ops) > 1 {
		db.kd.Prefetch(len(ops), func(i int) []byte { return ops[i].key })
	}
	off := start
	for i := range ops {
		o := &ops[i]
		size := record.Size(len(o.key), len(o.value))
		if o.kind == record.KindPut {
			db.setLoc(o.key, keydir.MakeLoc(act.id, uint32(off), expiresFlag(o.expireAt)), size)
			act.live += size
		} else {
			db.dropKey(o.key)
		}
		off += size
	}
	db.seq = max(db.seq, seq)
	id, end := act.id, act.size
	db.mu.Unlock()

	if db.SyncMode() == SyncAlways {
		return db.syncTo(id, end, true)
	}
	return nil
}

// rotate seals the active segment and starts a new one able to hold need
// bytes. The caller holds mu for writing.
func (db *DB) rotate(need int64) error {
	old := db.active
	capacity := max(db.opts.SegmentSize, need)
	if old.size == 0 {
		// Nothing written: replace the file with a larger one of the same id.
		old.close()
		if err := os.Remove(old.path); err != nil {
			return err
		}
		s, err := createActive(db.dir, old.id, capacity, db.opts.ZeroAhead)
		if err != nil {
			return err
		}
		db.segs[s.id], db.active = s, s
		return nil
	}
	if old.id >= keydir.MaxSegmentID {
		return fmt.Errorf("engine: segment ids exhausted at %d", old.id)
	}
	if err := old.seal(); err != nil {
		return err
	}
	s, err := createActive(db.dir, old.id+1, capacity, db.opts.ZeroAhead)
	if err != nil {
		return err
	}
	db.segs[s.id], db.active = s, s
	db.gc.advance(s.id, 0) // sealing synced everything before it
	db.queueHint(old.id)
	return nil
}

// Sync makes every write so far durable, whatever the sync mode. Before
// its fsync it yields the processor while other writers keep appending
// (gather), so that the fsync covers them too.
func (db *DB) Sync() error { return db.sync(true) }

// SyncNow is Sync without the yielding: for a caller that has gathered
// the writes itself, as the server's event loop does with a turn's
// (backend.DeferredApplier), and that runs on a thread of its own
// (runtime.LockOSThread), where each yield hands the thread's processor
// to another thread and back: four futex calls and two context switches,
// even when nothing else is runnable. Standalone appendfsync always, SET
// -P 1, 50 clients: gather made 23k futex calls per 100k SETs.
func (db *DB) SyncNow() error { return db.sync(false) }

func (db *DB) sync(gather bool) error {
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return ErrClosed
	}
	id, end := db.active.id, db.active.size
	db.mu.RUnlock()
	return db.syncTo(id, end, gather)
}

// groupCommit lets concurrent writers share fsyncs: the first writer to
// need one runs it for everyone whose records it covers, and the writers
// that arrive meanwhile wait and then find themselves covered too.
type groupCommit struct {
	mu      sync.Mutex
	cond    *sync.Cond
	running bool
	seg     uint32 // everything before (seg, off) is durable
	off     int64
	err     error
	fsyncs  int64

	fsyncTime  time.Duration           // Stats.FsyncTime
	fsyncUnder [FsyncBuckets + 1]int64 // by bucket (stats.go), not cumulative; the last: slower
}

// noteFsync counts one fsync that took d. Called with g.mu held.
func (g *groupCommit) noteFsync(d time.Duration) {
	g.fsyncs++
	g.fsyncTime += d
	i := 0
	for i < FsyncBuckets && d >= FsyncBound(i) {
		i++
	}
	g.fsyncUnder[i]++
}

func (g *groupCommit) advance(seg uint32, off int64) {
	g.mu.Lock()
	if seg > g.seg || (seg == g.seg && off > g.off) {
		g.seg, g.off = seg, off
	}
	g.mu.Unlock()
}

// syncTo returns once everything up to (seg, end) is durable; gather:
// yield first to the writers still appending (gather).
func (db *DB) syncTo(seg uint32, end int64, gather bool) error {
	g := &db.gc
	g.mu.Lock()
	defer g.mu.Unlock()
	for {
		if g.err != nil {
			return g.err
		}
		if g.seg > seg || (g.seg == seg && g.off >= end) {
			return nil
		}
		if !g.running {
			break
		}
		g.cond.Wait()
	}
	g.running = true
	g.mu.Unlock()

	if gather {
		db.gather()
	}
	// Held records (Batch.Hold) reach the file first, so the fsync
	// covers everything up to size.
	db.mu.Lock()
	act := db.active
	id, size := act.id, act.size
	var ferr error
	if !db.closed && len(act.wb) > 0 {
		ferr = db.flushActive()
	}
	db.mu.Unlock()
	if ferr != nil {
		g.mu.Lock()
		g.running = false
		g.cond.Broadcast()
		return ferr
	}
	start := time.Now()
	err := act.sync()
	took := time.Since(start)

	g.mu.Lock()
	g.running = false
	g.noteFsync(took)
	if err != nil {
		g.err = fmt.Errorf("engine: fsync of segment %d failed, writes stopped: %w", id, err)
	} else if id > g.seg || (id == g.seg && size > g.off) {
		g.seg, g.off = id, size
	}
	g.cond.Broadcast()
	if g.err != nil {
		return g.err
	}
	// Our records lie at or before (id, size): the sync covered them.
	return nil
}

// gatherRounds bounds gather: each round lets every runnable goroutine run
// once.
const gatherRounds = 8

// gather runs before a group commit's fsync, in the writer that runs it:
// it yields the processor as long as other writers keep appending records,
// so that the fsync covers them too instead of each starting the next one
// as soon as this one ends (with many clients, the goroutines an fsync
// released are runnable and about to write again). It returns at once when
// nothing else is runnable, so a lone writer pays no delay; with others
// running it costs at most gatherRounds turns of the scheduler. Redis gets
// the same sharing from its event loop, which fsyncs once per loop for
// every client it read (flushAppendOnlyFile in beforeSleep).
func (db *DB) gather() {
	last := db.appended()
	for range gatherRounds {
		runtime.Gosched()
		n := db.appended()
		if n == last {
			return
		}
		last = n
	}
}

// appended is where the active segment ends: it grows with every write.
func (db *DB) appended() [2]int64 {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return [2]int64{int64(db.active.id), db.active.size}
}

func (db *DB) everySecLoop() {
	defer db.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-db.quit:
			return
		case <-t.C:
			if db.SyncMode() == SyncEverySec {
				db.Sync()
			}
		}
	}
}

// queueHint asks the hint writer to write a sealed segment's hint. When
// the queue is full the hint is skipped: the next Open scans that segment
// and queues it again.
func (db *DB) queueHint(id uint32) {
	select {
	case db.hintQueue <- id:
	default:
	}
}

// hintLoop writes the hints of the segments queueHint queues, one at a
// time, with one hint.Builder whose memory it keeps from one hint to the
// next while that is at most half a segment (hint.Builder.Held; 40 bytes
// and the key a record: 25 MB for a 64 MB segment of 16-byte keys and
// 100-byte values). Memory allocated afresh for each hint was touched for
// the first time in every one, and those page faults cost about as much
// as the rest of the hint: kept, standalone walkerd under SET -P 16 (100-byte
// values, so a hint every 64 MB) took 5.2-5.4 µs of CPU a SET against
// 5.8-7.0 without, 3 paired runs. A larger hint (smaller records) is built
// as before, in memory given back after it.
func (db *DB) hintLoop() {
	defer db.wg.Done()
	b := hint.NewBuilder(0)
	for {
		select {
		case <-db.quit:
			return
		case id := <-db.hintQueue:
			db.mergeMu.Lock()
			db.writeHint(b, id)
			db.mergeMu.Unlock()
			if int64(b.Held()) > db.opts.SegmentSize/2 {
				b = hint.NewBuilder(0)
			}
		}
	}
}

// writeHint scans a sealed segment into b and writes its hint file. The
// caller holds mergeMu, so the segment cannot be merged away meanwhile.
func (db *DB) writeHint(b *hint.Builder, id uint32) error {
	db.mu.RLock()
	s := db.segs[id]
	closed := db.closed
	db.mu.RUnlock()
	if closed || s == nil || s.buf != nil || s.ra == nil {
		return nil
	}
	// Through the file rather than the mapping: pages read through a
	// mapping stay in the process's resident set (bigRecord).
	f, err := os.Open(s.path)
	if err != nil {
		return err
	}
	b.Reset(id)
	maxSeq, err := scanHint(b, f, s.size, db.maxRecord())
	f.Close()
	if err != nil {
		return err
	}
	return b.WriteFile(filepath.Join(db.dir, hintName(id)), uint64(s.size), maxSeq)
}

// buildHint scans a sealed segment into a hint file's bytes.
func buildHint(r io.ReaderAt, id uint32, size, maxRec int64) ([]byte, error) {
	b := hint.NewBuilder(id)
	maxSeq, err := scanHint(b, r, size, maxRec)
	if err != nil {
		return nil, err
	}
	return b.Finish(uint64(size), maxSeq), nil
}

// scanHint scans a sealed segment into b, an empty Builder for it, and
// returns the highest sequence number in the segment.
func scanHint(b *hint.Builder, r io.ReaderAt, size, maxRec int64) (uint64, error) {
	res := scanKeys(r, size, maxRec, func(off int64, rec record.Record) error {
		b.Add(hint.Entry{Key: rec.Key, Offset: uint32(off), Size: uint32(rec.Size()), ExpireAt: rec.ExpireAt, Seq: rec.Seq, Kind: rec.Kind()})
		return nil
	})
	if res.err != nil {
		return 0, fmt.Errorf("segment %d offset %d: %w", b.SegmentID(), res.bad, corruptionOf(res.err))
	}
	return res.maxSeq, nil
}
