package engine_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine"
)

// The concurrency tests run writers, readers and merges on one DB at once
// (run them with -race). Each key belongs to one writer, which keeps the
// model of its keys; readers check what can be checked while writes go on:
// that a value belongs to its key, that a key's version never goes back,
// that a deleted version never comes back, and that a batch group is never
// seen half-written.
//
// Keys and values:
//
//	s/w<i>/k<jj>         single keys    value "<key>=<ver>:<pad>"
//	g/w<i>/<jj>/<m>      group members  value "g/w<i>/<jj>=<ver>:<pad>", the same
//	                                    for every member: a group is written and
//	                                    deleted only by batches
//
// ver grows with every write of a writer, so it only grows for each key.
const (
	concSingles   = 48 // single keys per writer
	concGroups    = 12 // groups per writer
	concGroupSize = 5  // keys per group
)

func singleKey(w, j int) string   { return fmt.Sprintf("s/w%d/k%02d", w, j) }
func groupName(w, j int) string   { return fmt.Sprintf("g/w%d/%02d", w, j) }
func groupKey(w, j, m int) string { return fmt.Sprintf("%s/%d", groupName(w, j), m) }

// concWriter owns its keys and the model of them.
type concWriter struct {
	id     int
	rng    *rand.Rand
	ver    int
	model  map[string]string // present keys and their values
	ops    int
	maxSeq uint64 // the highest seq of a batch written
}

// step makes one random write and records it in the model.
func (w *concWriter) step(db *engine.DB, seqs *atomic.Uint64) error {
	w.ver++
	pad := strings.Repeat(string(rune('a'+w.ver%26)), w.rng.IntN(200))
	switch p := w.rng.IntN(100); {
	case p < 45:
		k := singleKey(w.id, w.rng.IntN(concSingles))
		v := fmt.Sprintf("%s=%d:%s", k, w.ver, pad)
		if err := db.Put([]byte(k), []byte(v)); err != nil {
			return fmt.Errorf("Put %s: %w", k, err)
		}
		w.model[k] = v
	case p < 60:
		k := singleKey(w.id, w.rng.IntN(concSingles))
		if err := db.Delete([]byte(k)); err != nil {
			return fmt.Errorf("Delete %s: %w", k, err)
		}
		delete(w.model, k)
	default:
		j := w.rng.IntN(concGroups)
		del := p >= 90
		v := fmt.Sprintf("%s=%d:%s", groupName(w.id, j), w.ver, pad)
		var b engine.Batch
		for m := range concGroupSize {
			if del {
				b.Delete([]byte(groupKey(w.id, j, m)))
			} else {
				b.Put([]byte(groupKey(w.id, j, m)), []byte(v))
			}
		}
		seq := seqs.Add(1)
		b.SetSeq(seq)
		if err := db.Write(&b); err != nil {
			return fmt.Errorf("batch on %s: %w", groupName(w.id, j), err)
		}
		w.maxSeq = max(w.maxSeq, seq)
		for m := range concGroupSize {
			if del {
				delete(w.model, groupKey(w.id, j, m))
			} else {
				w.model[groupKey(w.id, j, m)] = v
			}
		}
	}
	w.ops++
	return nil
}

// allKeys is every key writer w may write.
func allKeys(writers int) []string {
	var ks []string
	for w := range writers {
		for j := range concSingles {
			ks = append(ks, singleKey(w, j))
		}
		for j := range concGroups {
			for m := range concGroupSize {
				ks = append(ks, groupKey(w, j, m))
			}
		}
	}
	return ks
}

// version parses the version out of a value written for owner ("s/w1/k02"
// or "g/w1/03"), and fails if the value was written for anything else.
func version(owner string, v []byte) (int, error) {
	rest, ok := bytes.CutPrefix(v, []byte(owner+"="))
	if !ok {
		return 0, fmt.Errorf("value %.40q does not belong to %s", v, owner)
	}
	n, _, ok := bytes.Cut(rest, []byte(":"))
	ver, err := strconv.Atoi(string(n))
	if !ok || err != nil {
		return 0, fmt.Errorf("value %.40q of %s has no version", v, owner)
	}
	return ver, nil
}

// owner is the name a key's values carry.
func owner(key string) string {
	if strings.HasPrefix(key, "g/") {
		return key[:strings.LastIndexByte(key, '/')]
	}
	return key
}

// seen is what one reader saw of each key. A key's version never goes back,
// and once the reader has seen it deleted, the versions it had before never
// come back: a put after the delete has a higher version.
type seen struct {
	hi   map[string]int
	gone map[string]bool
}

func newSeen() *seen { return &seen{hi: map[string]int{}, gone: map[string]bool{}} }

func (s *seen) present(key string, ver int) error {
	hi, gone := s.hi[key], s.gone[key]
	if ver < hi || gone && ver == hi {
		return fmt.Errorf("%s: read version %d after version %d (deleted since: %v)", key, ver, hi, gone)
	}
	s.hi[key], s.gone[key] = ver, false
	return nil
}

func (s *seen) absent(key string) {
	if s.hi[key] > 0 {
		s.gone[key] = true
	}
}

// concReader checks one random read.
func concReader(db *engine.DB, rng *rand.Rand, writers int, s *seen) error {
	w := rng.IntN(writers)
	switch p := rng.IntN(100); {
	case p < 35: // Get of a single key or a group member
		k := singleKey(w, rng.IntN(concSingles))
		if p >= 20 {
			k = groupKey(w, rng.IntN(concGroups), rng.IntN(concGroupSize))
		}
		if p%2 == 0 { // read ahead as walkerd does a pipeline's reads, beside writes and merges
			ahead := [][]byte{[]byte(k), []byte(singleKey(w, rng.IntN(concSingles))), []byte(groupKey(w, 0, 0))}
			db.PrefetchGets(len(ahead), func(i int) []byte { return ahead[i] })
		}
		v, err := db.Get([]byte(k))
		if errors.Is(err, engine.ErrNotFound) {
			s.absent(k)
			return nil
		}
		if err != nil {
			return fmt.Errorf("Get %s: %w", k, err)
		}
		ver, err := version(owner(k), v)
		if err != nil {
			return err
		}
		return s.present(k, ver)
	case p < 45: // Exists and Lookup
		k := singleKey(w, rng.IntN(concSingles))
		if _, err := db.Exists([]byte(k)); err != nil {
			return fmt.Errorf("Exists %s: %w", k, err)
		}
		if _, err := db.Lookup([]byte(k)); err != nil && !errors.Is(err, engine.ErrNotFound) {
			return fmt.Errorf("Lookup %s: %w", k, err)
		}
	case p < 70: // one group through one Scan: whole and of one version, or absent
		j := rng.IntN(concGroups)
		g := groupName(w, j)
		items, next, err := db.Scan(engine.ScanOptions{Prefix: []byte(g + "/")})
		if err != nil {
			return fmt.Errorf("Scan %s: %w", g, err)
		}
		if next != nil {
			return fmt.Errorf("Scan %s without a limit returned a cursor", g)
		}
		if len(items) != 0 && len(items) != concGroupSize {
			return fmt.Errorf("Scan %s: %d of %d members: a batch seen half-applied", g, len(items), concGroupSize)
		}
		for i, kv := range items {
			if string(kv.Key) != groupKey(w, j, i) {
				return fmt.Errorf("Scan %s: key %q at %d", g, kv.Key, i)
			}
			if !bytes.Equal(kv.Value, items[0].Value) {
				return fmt.Errorf("Scan %s: %q = %.30q but %q = %.30q: a batch seen half-applied", g, kv.Key, kv.Value, items[0].Key, items[0].Value)
			}
			ver, err := version(g, kv.Value)
			if err != nil {
				return err
			}
			if err := s.present(g, ver); err != nil {
				return err
			}
		}
		if len(items) == 0 {
			s.absent(g)
		}
	case p < 80: // one group through one View: the same rule
		j := rng.IntN(concGroups)
		g := groupName(w, j)
		var vals [concGroupSize][]byte
		err := db.View(time.Now().UnixMilli(), func(v *engine.View) error {
			for m := range concGroupSize {
				val, _, err := v.Get([]byte(groupKey(w, j, m)))
				if err != nil && !errors.Is(err, engine.ErrNotFound) {
					return err
				}
				vals[m] = val
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("View of %s: %w", g, err)
		}
		for m := range vals {
			if !bytes.Equal(vals[m], vals[0]) || (vals[m] == nil) != (vals[0] == nil) {
				return fmt.Errorf("View of %s: member %d = %.30q, member 0 = %.30q: a batch seen half-applied", g, m, vals[m], vals[0])
			}
		}
	case p < 95: // every single key of a writer, in pages with a cursor
		prefix := fmt.Sprintf("s/w%d/", w)
		var cursor []byte
		var last string
		for pages := 0; ; pages++ {
			items, next, err := db.Scan(engine.ScanOptions{Prefix: []byte(prefix), Start: cursor, Limit: 7})
			if err != nil {
				return fmt.Errorf("Scan %s page %d: %w", prefix, pages, err)
			}
			for _, kv := range items {
				if string(kv.Key) <= last {
					return fmt.Errorf("Scan %s: %q after %q", prefix, kv.Key, last)
				}
				last = string(kv.Key)
				ver, err := version(last, kv.Value)
				if err != nil {
					return err
				}
				if err := s.present(last, ver); err != nil {
					return err
				}
			}
			if next == nil {
				break
			}
			if len(items) != 7 || string(next) <= last {
				return fmt.Errorf("Scan %s: page of %d items, cursor %q after %q", prefix, len(items), next, last)
			}
			cursor = next
		}
	default: // the bookkeeping readers
		if _, err := db.Stats(); err != nil {
			return fmt.Errorf("Stats: %w", err)
		}
		db.Len()
		db.CountPrefix([]byte(fmt.Sprintf("g/w%d/", w)))
		db.Seq()
	}
	return nil
}

// concRun runs writers, readers and a merger on db until each writer made
// maxOps writes or the time is up. gate, when not nil, is held for reading
// around each write and its model update, so that a holder of it for
// writing sees the models at rest.
type concRun struct {
	db       *engine.DB
	writers  []*concWriter
	gate     *sync.RWMutex
	seqs     atomic.Uint64
	writeOps atomic.Int64
	merges   atomic.Int64
	stop     atomic.Bool
	closing  atomic.Bool    // the DB is being closed: ErrClosed ends a goroutine quietly
	wg       sync.WaitGroup // everyone
	writing  sync.WaitGroup // the writers
	errMu    sync.Mutex
	err      error
}

func (r *concRun) fail(err error) {
	r.errMu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.errMu.Unlock()
	r.stop.Store(true)
}

// start launches the goroutines. Writers already in r.writers carry on
// with their models; more are added up to nWriters.
func (r *concRun) start(seed uint64, nWriters, nReaders, maxOps int) {
	for i := len(r.writers); i < nWriters; i++ {
		r.writers = append(r.writers, &concWriter{id: i, rng: rand.New(rand.NewPCG(seed, uint64(i))), model: map[string]string{}})
	}
	for _, w := range r.writers {
		r.wg.Add(1)
		r.writing.Add(1)
		go func() {
			defer r.wg.Done()
			defer r.writing.Done()
			for w.ops < maxOps && !r.stop.Load() {
				if r.gate != nil {
					r.gate.RLock()
				}
				err := w.step(r.db, &r.seqs)
				if r.gate != nil {
					r.gate.RUnlock()
				}
				if err != nil && r.closedErr(err) {
					return
				}
				if err != nil {
					r.fail(fmt.Errorf("writer %d: %w", w.id, err))
					return
				}
				r.writeOps.Add(1)
			}
		}()
	}
	for i := range nReaders {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(100+i)))
			s := newSeen()
			for !r.stop.Load() {
				if err := concReader(r.db, rng, nWriters, s); err != nil {
					if r.closedErr(err) {
						return
					}
					r.fail(fmt.Errorf("reader %d: %w", i, err))
					return
				}
			}
		}()
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for !r.stop.Load() {
			if err := r.db.Merge(); err != nil {
				// A merge that Close interrupts says so, without ErrClosed.
				if r.closedErr(err) || r.closing.Load() && strings.Contains(err.Error(), "aborted by Close") {
					return
				}
				r.fail(fmt.Errorf("Merge: %w", err))
				return
			}
			r.merges.Add(1)
		}
	}()
}

// closedErr reports whether err is the ErrClosed of a DB being closed.
func (r *concRun) closedErr(err error) bool {
	return r.closing.Load() && errors.Is(err, engine.ErrClosed)
}

// waitFor waits, with a deadline, until the writers made more writes and
// the merger finished more merges.
func (r *concRun) waitFor(t *testing.T, what string, writes, merges int64) {
	t.Helper()
	w0, m0 := r.writeOps.Load(), r.merges.Load()
	deadline := time.Now().Add(20 * time.Second)
	for r.writeOps.Load() < w0+writes || r.merges.Load() < m0+merges {
		if r.stop.Load() {
			r.wg.Wait()
			t.Fatal(r.err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: timed out: %d writes and %d merges since", what, r.writeOps.Load()-w0, r.merges.Load()-m0)
		}
		time.Sleep(time.Millisecond)
	}
}

// maxSeq is the highest seq written; call it with writes at rest.
func (r *concRun) maxSeq() uint64 {
	var s uint64
	for _, w := range r.writers {
		s = max(s, w.maxSeq)
	}
	return s
}

// finish returns when every writer is done or the time is up, after it
// stopped the readers and the merger.
func (r *concRun) finish(t *testing.T, d time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() { r.writing.Wait(); close(done) }()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
	}
	r.stop.Store(true)
	r.wg.Wait()
	if r.err != nil {
		t.Fatal(r.err)
	}
}

// model is the union of the writers' models; call it with writes at rest.
func (r *concRun) model() map[string]string {
	m := map[string]string{}
	for _, w := range r.writers {
		maps.Copy(m, w.model)
	}
	return m
}

const (
	concMaxOps   = 3000 // writes per writer
	concDuration = 2 * time.Second
)

// agree checks db against the model key by key with Get, and as a whole
// with a Scan.
func agree(t *testing.T, what string, db *engine.DB, model map[string]string, writers int) {
	t.Helper()
	var bad []string
	for _, k := range allKeys(writers) {
		v, err := db.Get([]byte(k))
		want, ok := model[k]
		switch {
		case ok && (err != nil || string(v) != want):
			bad = append(bad, fmt.Sprintf("Get(%s) = %.30q, %v; want %.30q", k, v, err, want))
		case !ok && !errors.Is(err, engine.ErrNotFound):
			bad = append(bad, fmt.Sprintf("Get(%s) = %.30q, %v; want absent", k, v, err))
		}
	}
	items, _, err := db.Scan(engine.ScanOptions{})
	if err != nil {
		t.Fatalf("%s: Scan: %v", what, err)
	}
	got := map[string]string{}
	for _, kv := range items {
		got[string(kv.Key)] = string(kv.Value)
	}
	if !maps.Equal(got, model) {
		bad = append(bad, fmt.Sprintf("Scan found %d keys, the model has %d, and they differ", len(got), len(model)))
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		t.Fatalf("%s: the DB disagrees with the writers' model:\n  %s", what, strings.Join(bad[:min(len(bad), 10)], "\n  "))
	}
}

func TestConcurrent_ReadersWritersAndMergeAgree(t *testing.T) {
	for _, mode := range []engine.SyncMode{engine.SyncNo, engine.SyncAlways} {
		t.Run(mode.String(), func(t *testing.T) {
			const writers, readers = 4, 4
			dir := t.TempDir()
			opts := &engine.Options{SegmentSize: 16 << 10, Sync: mode}
			db, err := engine.Open(dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { db.Close() }()
			r := &concRun{db: db}
			r.start(1, writers, readers, concMaxOps)
			r.finish(t, concDuration)
			model := r.model()
			t.Logf("%d writes, %d merges, %d keys at the end", r.writeOps.Load(), r.merges.Load(), len(model))
			if r.merges.Load() < 2 {
				t.Fatalf("only %d merges ran beside the writes", r.merges.Load())
			}
			agree(t, "after the run", db, model, writers)
			if db.Seq() != r.maxSeq() {
				t.Errorf("Seq = %d, want %d", db.Seq(), r.maxSeq())
			}

			reopenDB := func() {
				t.Helper()
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
				if db, err = engine.Open(dir, opts); err != nil {
					t.Fatal(err)
				}
			}
			reopenDB()
			agree(t, "after reopening", db, model, writers)
			if db.Seq() != r.maxSeq() {
				t.Errorf("Seq after reopening = %d, want %d", db.Seq(), r.maxSeq())
			}
			if err := db.Merge(); err != nil {
				t.Fatal(err)
			}
			agree(t, "after a last merge", db, model, writers)
			reopenDB() // from the merge's hint files
			agree(t, "after the merge and reopening", db, model, writers)
			if db.Seq() != r.maxSeq() {
				t.Errorf("Seq after the merge and reopening = %d, want %d", db.Seq(), r.maxSeq())
			}
		})
	}
}

// Close while writers, readers and a merge are busy: every call then
// returns nil or ErrClosed (a merge may say it was aborted), and after a
// reopen every write that returned nil is there and no other. Three rounds
// on the same directory, the writers carrying their models over.
func TestConcurrent_CloseWhileBusyKeepsEveryAcknowledgedWrite(t *testing.T) {
	const writers, readers = 3, 3
	dir := t.TempDir()
	opts := &engine.Options{SegmentSize: 16 << 10, Sync: engine.SyncAlways}
	var carried []*concWriter
	var seqs uint64
	for round := range 3 {
		db, err := engine.Open(dir, opts)
		if err != nil {
			t.Fatalf("round %d: Open: %v", round, err)
		}
		r := &concRun{db: db, writers: carried}
		if round > 0 {
			agree(t, fmt.Sprintf("round %d: after the Close of a busy DB and a reopen", round), db, r.model(), writers)
			if db.Seq() != r.maxSeq() {
				t.Fatalf("round %d: Seq = %d, want %d", round, db.Seq(), r.maxSeq())
			}
		}
		r.seqs.Store(seqs)
		r.start(uint64(10+round), writers, readers, 1<<30)
		r.waitFor(t, fmt.Sprintf("round %d", round), 200, 1)
		r.closing.Store(true)
		if err := db.Close(); err != nil {
			t.Fatalf("round %d: Close: %v", round, err)
		}
		r.wg.Wait() // everyone ends at their first ErrClosed
		if r.err != nil {
			t.Fatalf("round %d: %v", round, r.err)
		}
		for _, op := range []func() error{
			func() error { return db.Put([]byte("k"), []byte("v")) },
			func() error { _, err := db.Get([]byte("k")); return err },
			func() error { _, _, err := db.Scan(engine.ScanOptions{}); return err },
			func() error { return db.Merge() },
			func() error { _, err := db.Checkpoint(); return err },
			func() error { return db.Sync() },
			func() error { _, err := db.Stats(); return err },
		} {
			if err := op(); !errors.Is(err, engine.ErrClosed) {
				t.Fatalf("round %d: a call after Close returned %v, want ErrClosed", round, err)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatalf("round %d: a second Close: %v", round, err)
		}
		carried, seqs = r.writers, r.seqs.Load()
		t.Logf("round %d: closed after %d writes and %d merges", round, r.writeOps.Load(), r.merges.Load())
	}
	db, err := engine.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := &concRun{writers: carried}
	agree(t, "at the end", db, r.model(), writers)
}

// streamRestore streams cp through a pipe into Restore and opens the result.
func streamRestore(t *testing.T, cp *engine.Checkpoint, dir string, opts *engine.Options) *engine.DB {
	t.Helper()
	pr, pw := io.Pipe()
	go func() {
		_, err := cp.WriteTo(pw)
		pw.CloseWithError(err)
	}()
	seq, err := engine.Restore(pr, dir, 0)
	pr.Close()
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if seq != cp.Seq() {
		t.Fatalf("Restore returned seq %d, the checkpoint has %d", seq, cp.Seq())
	}
	db, err := engine.Open(dir, opts)
	if err != nil {
		t.Fatalf("Open of the restored checkpoint: %v", err)
	}
	return db
}

// Checkpoints taken while writers and a merger run (the writers paused at a
// gate, so that the expected state is known), streamed while they still
// run, restore to exactly the state they were taken at.
func TestConcurrent_CheckpointDuringWritesAndMergesIsExact(t *testing.T) {
	const writers, readers, rounds = 3, 2, 3
	dir := t.TempDir()
	opts := &engine.Options{SegmentSize: 16 << 10, Sync: engine.SyncNo}
	db, err := engine.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := &concRun{db: db, gate: &sync.RWMutex{}}
	r.start(2, writers, readers, 1<<30)
	defer func() { r.stop.Store(true); r.wg.Wait() }()

	for round := range rounds {
		r.waitFor(t, "before the checkpoint", 500, 1)
		r.gate.Lock()
		want, seq := r.model(), db.Seq()
		cp, err := db.Checkpoint()
		r.gate.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		if cp.Seq() != seq {
			t.Fatalf("round %d: checkpoint seq %d, the DB had %d", round, cp.Seq(), seq)
		}
		// Let the writes and merges run over the checkpoint's segments.
		r.waitFor(t, "after the checkpoint", 500, 2)
		restored := streamRestore(t, cp, filepath.Join(t.TempDir(), "restored"), opts)
		agree(t, fmt.Sprintf("round %d: the restored checkpoint", round), restored, want, writers)
		if restored.Seq() != seq {
			t.Errorf("round %d: restored Seq = %d, want %d", round, restored.Seq(), seq)
		}
		if err := restored.Close(); err != nil {
			t.Fatal(err)
		}
		if err := cp.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: checkpoint of %d keys at seq %d restored exactly; %d files", round, len(want), seq, len(cp.Files()))
	}
	r.stop.Store(true)
	r.wg.Wait()
	if r.err != nil {
		t.Fatal(r.err)
	}
	agree(t, "at the end", db, r.model(), writers)
}

// A checkpoint pins its segments: merging them away afterwards, and
// overwriting and deleting everything they hold, changes neither its files
// nor what it restores to.
func TestCheckpoint_SurvivesMergeOfItsSegments(t *testing.T) {
	dir := t.TempDir()
	opts := &engine.Options{SegmentSize: 16 << 10, Sync: engine.SyncNo}
	db, err := engine.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	w := &concWriter{rng: rand.New(rand.NewPCG(3, 3)), model: map[string]string{}}
	var seqs atomic.Uint64
	for range 3000 {
		if err := w.step(db, &seqs); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Merge(); err != nil { // the checkpoint holds merge outputs and hints too
		t.Fatal(err)
	}
	for range 300 {
		if err := w.step(db, &seqs); err != nil {
			t.Fatal(err)
		}
	}
	want, seq := maps.Clone(w.model), db.Seq()
	cp, err := db.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	sums := fileSums(t, cp.Dir())
	if len(cp.Files()) == 0 || len(sums) != len(cp.Files()) {
		t.Fatalf("checkpoint files %v, directory holds %d", cp.Files(), len(sums))
	}

	// Overwrite or delete every key, then merge until none of the
	// checkpoint's segment files is still the DB's.
	for _, k := range allKeys(1) {
		var err error
		if w.rng.IntN(2) == 0 {
			err = db.Delete([]byte(k))
			delete(w.model, k)
		} else {
			err = db.Put([]byte(k), []byte("new "+k))
			w.model[k] = "new " + k
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := db.Merge(); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range cp.Files() {
		a, err := os.Stat(filepath.Join(cp.Dir(), name))
		if err != nil {
			t.Fatal(err)
		}
		if b, err := os.Stat(filepath.Join(dir, name)); err == nil && os.SameFile(a, b) {
			t.Fatalf("%s is still the DB's own file after merging: the test merged nothing away", name)
		}
	}
	if got := fileSums(t, cp.Dir()); !maps.Equal(got, sums) {
		t.Fatal("the checkpoint's files changed under it")
	}

	restored := streamRestore(t, cp, filepath.Join(t.TempDir(), "restored"), opts)
	defer restored.Close()
	agree(t, "the restored checkpoint", restored, want, 1)
	if restored.Seq() != seq {
		t.Errorf("restored Seq = %d, want %d", restored.Seq(), seq)
	}
	agree(t, "the DB itself", db, w.model, 1)

	if err := cp.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cp.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("checkpoint directory after Close: %v", err)
	}
}

// fileSums hashes every file of dir.
func fileSums(t *testing.T, dir string) map[string][sha256.Size]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string][sha256.Size]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sums[e.Name()] = sha256.Sum256(b)
	}
	return sums
}
