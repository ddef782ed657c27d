package engine

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/walkerdb/walkerdb/engine/hint"
	"github.com/walkerdb/walkerdb/engine/keydir"
	"github.com/walkerdb/walkerdb/engine/record"
)

// Merge rewrites the live records of every segment into new segments with
// hint files and removes the old ones, reclaiming their space at once.
//
// It runs beside reads and writes. The active segment is sealed first, so
// everything written before the call is merged; writes made during the
// merge go to a new active segment and are never reverted, because a merged
// record replaces its original in the keydir only if the keydir still
// points at the original (compare-and-swap).
//
// Crash safety. The outputs are written and synced in dir/merge/, under the
// ids of the input segments they replace (so they still load before every
// newer segment). Then dir/merge/DONE is written and synced: the commit
// point. Then each output is renamed over its input and inputs without an
// output are removed. A crash before DONE leaves the inputs untouched and
// Open discards dir/merge; a crash after it makes Open finish the renames.
// Tombstones are dropped because the merge covers every older record.
func (db *DB) Merge() error {
	db.mergeMu.Lock()
	defer db.mergeMu.Unlock()
	return db.merge()
}

const (
	mergeDirName  = "merge"
	mergeDoneName = "DONE"
)

var errMergeAborted = fmt.Errorf("engine: merge aborted by Close: %w", ErrClosed)

// mergeOutput is one segment the merge wrote.
type mergeOutput struct {
	id     uint32
	size   int64
	maxSeq uint64       // highest seq of the records it holds
	hint   []byte       // the output's hint file; its entries name the keys
	olds   []keydir.Loc // entry i replaces the record at olds[i]
}

type expiredKey struct {
	key []byte
	loc keydir.Loc
}

func (db *DB) merge() error {
	inputs, ids, err := db.sealForMerge()
	if err != nil || len(inputs) == 0 {
		return err
	}

	mdir := filepath.Join(db.dir, mergeDirName)
	if err := os.RemoveAll(mdir); err != nil {
		return err
	}
	if err := os.Mkdir(mdir, 0o755); err != nil {
		return err
	}
	outs, expired, err := db.mergeWrite(mdir, inputs, ids)
	if err != nil {
		os.RemoveAll(mdir)
		return err
	}
	outIDs := make([]uint32, len(outs))
	for i, o := range outs {
		outIDs[i] = o.id
	}
	if err := writeMergeDone(mdir, ids, outIDs); err != nil {
		os.RemoveAll(mdir)
		return err
	}
	return db.mergeInstall(mdir, inputs, ids, outIDs, outs, expired)
}

// sealForMerge seals the active segment, if it holds anything, and returns
// every sealed segment and its id in id order: what a merge rewrites. The
// caller holds mergeMu.
func (db *DB) sealForMerge() ([]*segment, []uint32, error) {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil, nil, ErrClosed
	}
	if db.active.size > 0 {
		if err := db.rotate(0); err != nil {
			db.failErr = fmt.Errorf("engine: writes stopped: %w", err)
			db.mu.Unlock()
			return nil, nil, err
		}
	}
	var inputs []*segment
	for id, s := range db.segs {
		if id != db.active.id {
			inputs = append(inputs, s)
		}
	}
	db.mu.Unlock()
	sortSegments(inputs)
	ids := make([]uint32, len(inputs))
	for i, s := range inputs {
		ids[i] = s.id
	}
	return inputs, ids, nil
}

// mergeWrite copies the live records of inputs into new segment files in
// mdir and returns them with the keys that expired.
func (db *DB) mergeWrite(mdir string, inputs []*segment, ids []uint32) ([]mergeOutput, []expiredKey, error) {
	w := &mergeWriter{dir: mdir, ids: ids, segSize: db.opts.SegmentSize}
	defer w.abort()
	var expired []expiredKey
	var maxSeq uint64
	now := db.opts.MergeNow().UnixMilli()
	n := 0
	progress := db.opts.MergeProgress
	var done, total int64
	for _, s := range inputs {
		total += s.size
	}
	for _, s := range inputs {
		if s.size == 0 {
			continue
		}
		// Through the file rather than the mapping, as writeHint reads.
		f, err := os.Open(s.path)
		if err != nil {
			return nil, nil, fmt.Errorf("engine: merge: %w", err)
		}
		res := scanSegment(f, s.size, db.maxRecord(), func(off int64, rec record.Record) error {
			if n++; n%1024 == 0 {
				if db.quitting() {
					return errMergeAborted
				}
				if progress != nil {
					progress(done+off, total)
				}
			}
			if rec.Kind() != record.KindPut {
				return nil
			}
			loc := keydir.MakeLoc(s.id, uint32(off), expiresFlag(rec.ExpireAt))
			db.mu.RLock()
			cur, ok := db.kd.Get(rec.Key)
			db.mu.RUnlock()
			if !ok || cur != loc {
				return nil // overwritten or deleted: not copied
			}
			if rec.ExpireAt != 0 && rec.ExpireAt <= now {
				expired = append(expired, expiredKey{append([]byte(nil), rec.Key...), loc})
				return nil
			}
			return w.add(rec, loc)
		})
		f.Close()
		if res.err != nil {
			if errors.Is(res.err, errMergeAborted) {
				return nil, nil, res.err
			}
			return nil, nil, fmt.Errorf("engine: merge: segment %d offset %d: %w", s.id, res.bad, corruptionOf(res.err))
		}
		maxSeq = max(maxSeq, res.maxSeq)
		if done += s.size; progress != nil {
			progress(done, total)
		}
	}
	outs, err := w.finish(maxSeq)
	return outs, expired, err
}

// mergeInstall renames the outputs into place and swaps them into the
// keydir, all under mu so readers and checkpoints see old or new, never a mix.
func (db *DB) mergeInstall(mdir string, inputs []*segment, ids, outIDs []uint32, outs []mergeOutput, expired []expiredKey) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if err := installMerge(db.dir, ids, outIDs); err != nil {
		// DONE is on disk: the next Open finishes what failed here.
		db.failErr = fmt.Errorf("engine: writes stopped: merge install: %w", err)
		return db.failErr
	}
	fresh := make(map[uint32]*segment, len(outs))
	for _, o := range outs {
		s, err := openSealed(filepath.Join(db.dir, segName(o.id)), o.id)
		if err != nil {
			db.failErr = fmt.Errorf("engine: writes stopped: merge install: %w", err)
			return db.failErr
		}
		fresh[o.id] = s
	}
	for _, o := range outs {
		h, err := hint.Parse(o.hint)
		if err != nil {
			return fmt.Errorf("engine: merge: own hint: %w", err)
		}
		s := fresh[o.id]
		for i := range h.Len() {
			e := h.Entry(i)
			if e.Kind != record.KindPut {
				continue
			}
			loc := keydir.MakeLoc(o.id, e.Offset, expiresFlag(e.ExpireAt))
			if db.kd.CompareAndSwap(e.Key, o.olds[i], loc, e.Size) {
				s.live += int64(e.Size)
			}
		}
	}
	for _, e := range expired {
		db.kd.CompareAndDelete(e.key, e.loc)
	}
	for _, s := range inputs {
		s.close()
		delete(db.segs, s.id)
	}
	for id, s := range fresh {
		db.segs[id] = s
	}
	db.merges++
	os.RemoveAll(mdir)
	return syncDir(db.dir)
}

func (db *DB) quitting() bool {
	select {
	case <-db.quit:
		return true
	default:
		return false
	}
}

func sortSegments(ss []*segment) {
	for i := 1; i < len(ss); i++ {
		for j := i; j > 0 && ss[j].id < ss[j-1].id; j-- {
			ss[j], ss[j-1] = ss[j-1], ss[j]
		}
	}
}

// mergeWriter fills output segments in order, taking ids from the inputs'.
type mergeWriter struct {
	dir     string
	ids     []uint32
	segSize int64

	f    *os.File
	bw   *bufio.Writer
	cur  mergeOutput
	hb   *hint.Builder
	buf  []byte
	outs []mergeOutput
	open bool
}

func (w *mergeWriter) add(rec record.Record, old keydir.Loc) error {
	size := rec.Size()
	if !w.open || (w.cur.size+size > w.segSize && len(w.outs)+1 < len(w.ids)) {
		if err := w.next(); err != nil {
			return err
		}
	}
	if w.cur.size+size > MaxSegmentSize {
		return fmt.Errorf("engine: merge output segment %d would pass 4 GiB", w.cur.id)
	}
	if size >= bigRecord {
		// Header, key and value written as they are: no second copy of a
		// large value.
		var h [record.HeaderSize]byte
		record.EncodeHeader(h[:], record.KindPut, rec.Seq, rec.ExpireAt, rec.Key, rec.Value)
		for _, part := range [][]byte{h[:], rec.Key, rec.Value} {
			if _, err := w.bw.Write(part); err != nil {
				return err
			}
		}
	} else {
		if int64(cap(w.buf)) < size {
			w.buf = make([]byte, size)
		}
		n := record.Encode(w.buf[:size], record.KindPut, rec.Seq, rec.ExpireAt, rec.Key, rec.Value)
		if _, err := w.bw.Write(w.buf[:n]); err != nil {
			return err
		}
	}
	w.hb.Add(hint.Entry{Key: rec.Key, Offset: uint32(w.cur.size), Size: uint32(size), ExpireAt: rec.ExpireAt, Seq: rec.Seq, Kind: record.KindPut})
	w.cur.olds = append(w.cur.olds, old)
	w.cur.size += size
	w.cur.maxSeq = max(w.cur.maxSeq, rec.Seq)
	return nil
}

// next closes the current output and opens one under the next input id.
func (w *mergeWriter) next() error {
	if w.open {
		if err := w.close(0); err != nil {
			return err
		}
	}
	id := w.ids[len(w.outs)]
	f, err := os.OpenFile(filepath.Join(w.dir, segName(id)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	// Writes of 4 MB (a full buffer each, so at offsets that are multiples
	// of it until a value larger than the buffer goes straight through)
	// let the page cache hold the output in 2 MB folios, which a mapping of
	// the segment maps with 2 MB entries: a Get's read of a record then
	// costs no 4 KB TLB miss. With 1 MB writes BenchmarkGet's fixture had
	// 0 of its 144 MB so mapped; with 4 MB, 134 MB (/proc/self/smaps
	// FilePmdMapped, Linux 6.18, ext4).
	w.f, w.bw, w.open = f, bufio.NewWriterSize(f, 4<<20), true
	w.cur = mergeOutput{id: id}
	w.hb = hint.NewBuilder(id)
	return nil
}

// close ends the current output; a non-zero seq is recorded in it.
func (w *mergeWriter) close(seq uint64) error {
	if seq != 0 {
		var b [record.HeaderSize + 4]byte
		n := record.Encode(b[:], record.KindCommit, seq, 0, nil, record.CommitValue(0))
		if _, err := w.bw.Write(b[:n]); err != nil {
			return err
		}
		w.cur.size += int64(n)
	}
	if err := w.bw.Flush(); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	w.open = false
	w.cur.hint = w.hb.Finish(uint64(w.cur.size), max(seq, w.cur.maxSeq))
	if err := hint.WriteFile(filepath.Join(w.dir, hintName(w.cur.id)), w.cur.hint); err != nil {
		return err
	}
	w.outs = append(w.outs, w.cur)
	return nil
}

// finish closes the last output, recording maxSeq so that the highest
// sequence number survives even when its record was dropped.
func (w *mergeWriter) finish(maxSeq uint64) ([]mergeOutput, error) {
	if !w.open && maxSeq != 0 {
		if err := w.next(); err != nil {
			return nil, err
		}
	}
	if w.open {
		if err := w.close(maxSeq); err != nil {
			return nil, err
		}
	}
	if err := syncDir(w.dir); err != nil {
		return nil, err
	}
	return w.outs, nil
}

func (w *mergeWriter) abort() {
	if w.open {
		w.f.Close()
		w.open = false
	}
}

// writeMergeDone writes the commit point of a merge: which ids it replaces
// and which of them have an output.
func writeMergeDone(mdir string, inputs, outputs []uint32) error {
	var b strings.Builder
	b.WriteString("inputs")
	for _, id := range inputs {
		b.WriteString(" " + strconv.FormatUint(uint64(id), 10))
	}
	b.WriteString("\noutputs")
	for _, id := range outputs {
		b.WriteString(" " + strconv.FormatUint(uint64(id), 10))
	}
	b.WriteString("\n")
	// Written aside and renamed, so DONE is either whole or absent: an
	// empty or torn marker could only come from before the commit point.
	path := filepath.Join(mdir, mergeDoneName)
	f, err := os.OpenFile(path+".tmp", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return err
	}
	return syncDir(mdir)
}

func readMergeDone(mdir string) (inputs, outputs []uint32, err error) {
	data, err := os.ReadFile(filepath.Join(mdir, mergeDoneName))
	if err != nil {
		return nil, nil, err
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "inputs") || !strings.HasPrefix(lines[1], "outputs") {
		return nil, nil, fmt.Errorf("engine: merge marker %q: %w", data, ErrCorruption)
	}
	parse := func(line string) ([]uint32, error) {
		var ids []uint32
		for _, f := range strings.Fields(line)[1:] {
			id, err := strconv.ParseUint(f, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("engine: merge marker: %v: %w", err, ErrCorruption)
			}
			ids = append(ids, uint32(id))
		}
		return ids, nil
	}
	if inputs, err = parse(lines[0]); err != nil {
		return nil, nil, err
	}
	outputs, err = parse(lines[1])
	return inputs, outputs, err
}

// installMerge moves a committed merge's outputs over its inputs. It is
// idempotent, so Open can run it again after a crash part way through.
func installMerge(dir string, inputs, outputs []uint32) error {
	mdir := filepath.Join(dir, mergeDirName)
	isOut := make(map[uint32]bool, len(outputs))
	for _, id := range outputs {
		isOut[id] = true
	}
	for _, id := range inputs {
		seg, hnt := filepath.Join(dir, segName(id)), filepath.Join(dir, hintName(id))
		mseg, mhnt := filepath.Join(mdir, segName(id)), filepath.Join(mdir, hintName(id))
		if !isOut[id] {
			if err := removeIfExists(hnt); err != nil {
				return err
			}
			if err := removeIfExists(seg); err != nil {
				return err
			}
			continue
		}
		if exists(mseg) {
			// The old hint goes first: it must never describe the new data.
			if err := removeIfExists(hnt); err != nil {
				return err
			}
			if err := os.Rename(mseg, seg); err != nil {
				return err
			}
		}
		if exists(mhnt) {
			if err := os.Rename(mhnt, hnt); err != nil {
				return err
			}
		}
	}
	return syncDir(dir)
}

// finishMerge completes or discards a merge found at Open.
func finishMerge(dir string) error {
	mdir := filepath.Join(dir, mergeDirName)
	if !exists(mdir) {
		return nil
	}
	if exists(filepath.Join(mdir, mergeDoneName)) {
		inputs, outputs, err := readMergeDone(mdir)
		if err != nil {
			return err
		}
		if err := installMerge(dir, inputs, outputs); err != nil {
			return fmt.Errorf("engine: finish interrupted merge: %w", err)
		}
	}
	if err := os.RemoveAll(mdir); err != nil {
		return err
	}
	return syncDir(dir)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// garbage returns the dead and total bytes of all segments.
func (db *DB) garbage() (dead, total int64) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	for _, s := range db.segs {
		total += s.size
		dead += s.size - s.live
	}
	return dead, total
}

// autoMergeLoop merges when the garbage ratio passes Options.MergeRatio.
func (db *DB) autoMergeLoop() {
	defer db.wg.Done()
	t := time.NewTimer(db.Merging().Interval)
	defer t.Stop()
	for {
		select {
		case <-db.quit:
			return
		case <-db.live.mergeWake: // SetMerge: a new interval
			t.Reset(db.Merging().Interval)
		case <-t.C:
			m := db.Merging()
			t.Reset(m.Interval)
			dead, total := db.garbage()
			if m.Ratio <= 0 || total == 0 || dead < m.MinBytes || float64(dead)/float64(total) < m.Ratio {
				continue
			}
			db.mergeMu.Lock()
			err := db.merge()
			if errors.Is(err, errMergeAborted) || errors.Is(err, ErrClosed) {
				err = nil
			}
			db.mu.Lock()
			db.mergeErr = err
			db.mu.Unlock()
			db.mergeMu.Unlock()
		}
	}
}
