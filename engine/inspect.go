package engine

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/walkerdb/walkerdb/engine/hint"
	"github.com/walkerdb/walkerdb/engine/keydir"
	"github.com/walkerdb/walkerdb/engine/record"
)

// Offline work on a data directory: the primitives of walkerdump. They read
// segments with the same scanner as Open (scanSegment, nextValidRecord), so
// what they call a good record is exactly what Open would load, and they
// never change the directory, except Recover and RebuildHints (recover.go).

// Offline is a data directory opened for offline tools. It holds the
// directory's lock, as Open does, so that walkerd cannot open the directory
// meanwhile (and Offline refuses a directory walkerd holds), but it loads
// nothing until asked. Methods are not safe for concurrent use.
type Offline struct {
	dir    string
	opts   Options
	lock   *os.File
	format Format
}

// OpenOffline locks the existing data directory dir for offline work. It
// fails with ErrLocked when a DB (walkerd) has it open. A nil opts means
// DefaultOptions; MaxKeySize and MaxValueSize bound the records it accepts.
// Before it takes the lock (so creating no LOCK file) it refuses, wrapping
// ErrFormat, a directory that is not a data directory (no FORMAT file and
// no segments) or whose FORMAT names a newer version or another non-zero
// layout than opts.LayoutVersion; a damaged FORMAT wraps ErrCorruption. A
// directory written before format versions (segments, no FORMAT) is
// accepted, with Format().Version 0, so that it can be inspected.
func OpenOffline(dir string, opts *Options) (*Offline, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	f, err := ReadFormat(dir)
	if err != nil {
		return nil, err
	}
	if f.Version != 0 {
		if err := f.check("data directory "+dir, o.LayoutVersion); err != nil {
			return nil, err
		}
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	return &Offline{dir: dir, opts: o.withDefaults(), lock: lock, format: f}, nil
}

// Close releases the directory's lock. Closing twice returns nil.
func (d *Offline) Close() error {
	if d.lock == nil {
		return nil
	}
	err := d.lock.Close()
	d.lock = nil
	return err
}

// Dir is the data directory.
func (d *Offline) Dir() string { return d.dir }

// SegmentPath is the path of segment id's data file.
func (d *Offline) SegmentPath(id uint32) string { return filepath.Join(d.dir, segName(id)) }

// HintPath is the path of segment id's hint file.
func (d *Offline) HintPath(id uint32) string { return filepath.Join(d.dir, hintName(id)) }

// progressEvery is how many bytes of scanning pass between progress reports.
const progressEvery = 4 << 20

func (d *Offline) maxRecord() int64 {
	return record.Size(d.opts.MaxKeySize, d.opts.MaxValueSize) + record.HeaderSize + 4
}

// MergeState is what a directory holds of an interrupted merge.
type MergeState int

const (
	// MergeNone: there is no dir/merge.
	MergeNone MergeState = iota
	// MergeUncommitted: dir/merge without DONE. The inputs are intact; Open
	// and Recover discard the merge's outputs.
	MergeUncommitted
	// MergeCommitted: dir/merge/DONE. Open and Recover finish the renames.
	// Until then the segment files may be a mix of old and new.
	MergeCommitted
	// MergeUnreadable: DONE exists but does not parse. Open fails; Recover
	// sets the merge directory aside.
	MergeUnreadable
)

func (m MergeState) String() string {
	switch m {
	case MergeNone:
		return "none"
	case MergeUncommitted:
		return "uncommitted"
	case MergeCommitted:
		return "committed"
	case MergeUnreadable:
		return "unreadable"
	}
	return fmt.Sprintf("MergeState(%d)", int(m))
}

// Layout lists the files of a data directory.
type Layout struct {
	Segments []uint32 // segment ids, ascending; the last is the active one
	Hints    []uint32 // ids of hint files, ascending, with or without a segment
	Temps    []string // *.tmp files left by an interrupted write; Open removes them
	Merge    MergeState
	// MergeInputs and MergeOutputs are a committed merge's segment ids.
	MergeInputs, MergeOutputs []uint32
	MergeErr                  error    // why DONE does not parse (MergeUnreadable)
	Quarantine                bool     // dir/quarantine exists (see Recover)
	Others                    []string // other entries, which the engine ignores
}

// Active is the id of the segment Open makes active (the last), or 0.
func (l *Layout) Active() uint32 {
	if len(l.Segments) == 0 {
		return 0
	}
	return l.Segments[len(l.Segments)-1]
}

// HasSegment reports whether segment id exists.
func (l *Layout) HasSegment(id uint32) bool {
	_, ok := slices.BinarySearch(l.Segments, id)
	return ok
}

// Layout reads the directory's listing.
func (d *Offline) Layout() (Layout, error) {
	var l Layout
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return l, fmt.Errorf("engine: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if id, ok := parseSegName(name); ok && e.Type().IsRegular() {
			l.Segments = append(l.Segments, id)
			continue
		}
		if id, ok := parseHintName(name); ok && e.Type().IsRegular() {
			l.Hints = append(l.Hints, id)
			continue
		}
		switch {
		case strings.HasSuffix(name, ".tmp"):
			l.Temps = append(l.Temps, name)
		case name == mergeDirName:
			l.Merge = MergeUncommitted
			mdir := filepath.Join(d.dir, mergeDirName)
			if exists(filepath.Join(mdir, mergeDoneName)) {
				l.Merge = MergeCommitted
				l.MergeInputs, l.MergeOutputs, l.MergeErr = readMergeDone(mdir)
				if l.MergeErr != nil {
					l.Merge = MergeUnreadable
				}
			}
		case name == quarantineDir:
			l.Quarantine = true
		case name == lockName, name == formatName:
		default:
			l.Others = append(l.Others, name)
		}
	}
	slices.Sort(l.Segments)
	slices.Sort(l.Hints)
	return l, nil
}

func parseHintName(name string) (uint32, bool) {
	base, ok := strings.CutSuffix(name, hintExt)
	if !ok {
		return 0, false
	}
	return parseSegName(base + segExt)
}

// BadRegion is a stretch of a segment that does not read as whole records
// and whole batches, from where the last good record or batch ends to where
// the next valid record starts (nextValidRecord), or to the end.
type BadRegion struct {
	Start, End int64 // the bytes [Start, End)
	// At is where decoding failed. It is after Start when the region begins
	// with whole records of a batch whose commit is missing or damaged:
	// those members are unreadable too, as a batch is all or nothing.
	At   int64
	Err  error // what failed at At; wraps ErrCorruption or record.ErrShort
	Tail bool  // nothing valid follows: a torn write, End is the segment's end
	Zero bool  // every byte is zero: space preallocated and never written
}

func (b BadRegion) String() string {
	var what string
	switch {
	case b.Zero && b.Tail:
		what = "zero tail (preallocated, never written)"
	case b.Zero:
		what = "zeroed bytes"
	case b.Tail:
		what = "torn tail"
	default:
		what = "corrupt region"
	}
	s := fmt.Sprintf("%s of %d bytes [%d, %d)", what, b.End-b.Start, b.Start, b.End)
	if b.At != b.Start {
		s += fmt.Sprintf(", incomplete batch before offset %d", b.At)
	}
	if b.Err != nil && !b.Zero {
		s += ": " + b.Err.Error()
	}
	return s
}

// span is a stretch of whole records and whole batches.
type span struct{ start, end int64 }

// salvage is what salvageSegment found in a segment.
type salvage struct {
	keep   []span
	bad    []BadRegion
	maxSeq uint64
}

// salvageSegment scans a segment as Open does, but does not stop at damage:
// after a region that does not decode it goes on at the next valid record.
// fn gets what scanSegment gives it (puts and deletes, batch members once
// their commit is read), with offsets in the whole segment. The spans it
// keeps are exactly the bytes the scanner accepted; everything else is in
// a BadRegion. An error comes only from fn.
func salvageSegment(r io.ReaderAt, size, maxRec int64, fn func(off int64, rec record.Record) error) (salvage, error) {
	var sv salvage
	var fnErr error
	var pos int64
	for pos < size {
		base := pos
		res := scanSegment(io.NewSectionReader(r, base, size-base), size-base, maxRec, func(off int64, rec record.Record) error {
			if err := fn(base+off, rec); err != nil {
				fnErr = err
				return err
			}
			return nil
		})
		if fnErr != nil {
			return sv, fnErr
		}
		sv.maxSeq = max(sv.maxSeq, res.maxSeq)
		if res.end > 0 {
			sv.keep = append(sv.keep, span{base, base + res.end})
		}
		if res.err == nil {
			break
		}
		reg := BadRegion{Start: base + res.end, At: base + res.bad, Err: res.err}
		next := resumeAfter(r, reg.At, size, maxRec)
		if next <= base { // no progress: cannot happen, but never loop
			next = nextValidRecord(r, reg.At, size, maxRec)
		}
		if next < 0 {
			reg.End, reg.Tail = size, true
		} else {
			reg.End = next
		}
		reg.Zero = allZero(r, reg.Start, reg.End)
		sv.bad = append(sv.bad, reg)
		if next < 0 {
			break
		}
		pos = next
	}
	return sv, nil
}

// resumeAfter is where a scan that failed at offset at goes on. A plain
// record that interrupted a batch is whole and valid: the scan resumes at
// it. Anything else at at is skipped to the next valid record.
func resumeAfter(r io.ReaderAt, at, size, maxRec int64) int64 {
	if at+record.HeaderSize <= size {
		var hb [record.HeaderSize]byte
		if _, err := r.ReadAt(hb[:], at); err == nil {
			h, err := record.DecodeHeader(hb[:])
			if err == nil && !h.InBatch() && h.Kind() != record.KindCommit && h.Size() <= maxRec && at+h.Size() <= size {
				rec := make([]byte, h.Size())
				if _, err := r.ReadAt(rec, at); err == nil && record.Verify(rec) == nil {
					return at
				}
			}
		}
	}
	return nextValidRecord(r, at, size, maxRec)
}

// HintState is what a check found of a segment's hint file.
type HintState int

const (
	// HintMissing: there is no hint file. Open scans the segment.
	HintMissing HintState = iota
	// HintValid: the hint parses, names this segment and its length, and
	// (when CheckSegment checked it) every entry matches a record.
	HintValid
	// HintCorrupt: the hint does not parse (checksum, format). Open
	// ignores it and scans.
	HintCorrupt
	// HintStale: the hint parses but names another segment id or length.
	// Open ignores it and scans.
	HintStale
	// HintMismatch: the hint names this segment and its length, but its
	// entries disagree with the records. Open would trust it: dangerous.
	HintMismatch
)

func (s HintState) String() string {
	switch s {
	case HintMissing:
		return "missing"
	case HintValid:
		return "valid"
	case HintCorrupt:
		return "corrupt"
	case HintStale:
		return "stale"
	case HintMismatch:
		return "mismatch"
	}
	return fmt.Sprintf("HintState(%d)", int(s))
}

// HintCheck is the state of a hint file and, unless valid or missing, why.
type HintCheck struct {
	State HintState
	Err   error
}

// readHint reads segment id's hint and checks it against the segment's
// length, as Open does before it trusts a hint.
func (d *Offline) readHint(id uint32, size int64) (*hint.Hint, HintCheck) {
	h, err := hint.ReadFile(d.HintPath(id))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, HintCheck{State: HintMissing}
	case err != nil:
		return nil, HintCheck{State: HintCorrupt, Err: err}
	case h.SegmentID() != id:
		return nil, HintCheck{State: HintStale, Err: fmt.Errorf("hint names segment %d", h.SegmentID())}
	case h.SegmentSize() != uint64(size):
		return nil, HintCheck{State: HintStale, Err: fmt.Errorf("hint describes %d bytes, segment has %d", h.SegmentSize(), size)}
	}
	return h, HintCheck{State: HintValid}
}

// SegmentCheck is what CheckSegment found in one segment.
type SegmentCheck struct {
	ID     uint32
	Size   int64
	Active bool  // the last segment: Open scans it and it needs no hint
	Puts   int64 // puts applied (batch members only with their commit)
	Dels   int64 // tombstones applied
	MaxSeq uint64
	Bad    []BadRegion // in offset order
	Hint   HintCheck

	keep []span
}

// KeptBytes is the length of the segment's good records.
func (c *SegmentCheck) KeptBytes() int64 {
	var n int64
	for _, s := range c.keep {
		n += s.end - s.start
	}
	return n
}

// CheckSegment reads every record of segment id, checking each CRC and each
// batch, and compares the segment's hint, when there is one, entry by entry
// with the records. fn, if not nil, gets every put and delete that Open
// would apply, with its offset; its record aliases memory valid only for
// the call, and its error stops the check.
func (d *Offline) CheckSegment(id uint32, fn func(off int64, rec record.Record) error) (SegmentCheck, error) {
	ids, err := segmentIDs(d.dir)
	if err != nil {
		return SegmentCheck{}, fmt.Errorf("engine: %w", err)
	}
	active := len(ids) > 0 && ids[len(ids)-1] == id
	return d.checkSegment(id, active, fn)
}

func (d *Offline) checkSegment(id uint32, active bool, fn func(off int64, rec record.Record) error) (SegmentCheck, error) {
	f, err := os.Open(d.SegmentPath(id))
	if err != nil {
		return SegmentCheck{}, fmt.Errorf("engine: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return SegmentCheck{}, fmt.Errorf("engine: %w", err)
	}
	c := SegmentCheck{ID: id, Size: st.Size(), Active: active}
	h, hc := d.readHint(id, c.Size)
	c.Hint = hc
	i := 0
	sv, err := salvageSegment(f, c.Size, d.maxRecord(), func(off int64, rec record.Record) error {
		if rec.Kind() == record.KindPut {
			c.Puts++
		} else {
			c.Dels++
		}
		if h != nil && c.Hint.State == HintValid {
			if i >= h.Len() {
				c.Hint = HintCheck{HintMismatch, fmt.Errorf("hint has %d entries, record at offset %d has none", h.Len(), off)}
			} else if e := h.Entry(i); e.Offset != uint32(off) || e.Size != uint32(rec.Size()) || e.Kind != rec.Kind() ||
				e.ExpireAt != rec.ExpireAt || e.Seq != rec.Seq || string(e.Key) != string(rec.Key) {
				c.Hint = HintCheck{HintMismatch, fmt.Errorf("hint entry %d (offset %d) does not match the record at offset %d", i, e.Offset, off)}
			}
			i++
		}
		if fn != nil {
			return fn(off, rec)
		}
		return nil
	})
	if err != nil {
		return c, err
	}
	if h != nil && c.Hint.State == HintValid && i != h.Len() {
		c.Hint = HintCheck{HintMismatch, fmt.Errorf("hint has %d entries, segment has %d records", h.Len(), i)}
	}
	c.MaxSeq, c.Bad, c.keep = sv.maxSeq, sv.bad, sv.keep
	return c, nil
}

// WalkRecords calls fn for every record of segment id exactly as stored, in
// order: batch members as they come, before the commit that makes them
// count, and commits too. Where the bytes do not decode it calls bad with
// the region and goes on at the next valid record. fn's record aliases
// memory valid only for the call. An error from fn or bad stops the walk.
func (d *Offline) WalkRecords(id uint32, fn func(off int64, rec record.Record) error, bad func(BadRegion) error) error {
	f, err := os.Open(d.SegmentPath(id))
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	size, maxRec := st.Size(), d.maxRecord()
	rr := newRecordReader(f, size, maxRec)
	for {
		rec, off, err := rr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			next := nextValidRecord(f, off, size, maxRec)
			reg := BadRegion{Start: off, At: off, End: next, Err: err}
			if next < 0 {
				reg.End, reg.Tail = size, true
			}
			reg.Zero = allZero(f, reg.Start, reg.End)
			if err := bad(reg); err != nil {
				return err
			}
			if next < 0 {
				return nil
			}
			rr.off = next
			continue
		}
		if err := fn(off, rec); err != nil {
			return err
		}
	}
}

// SegmentInfo is one segment as Load found it.
type SegmentInfo struct {
	ID     uint32
	Size   int64
	Active bool // the last segment
	// FromHint: loaded from its hint file, as Open would, without reading
	// the records (so Bad is empty even if the data is damaged: see
	// CheckSegment).
	FromHint     bool
	Puts         int64       // puts applied
	Tombstones   int64       // deletes applied
	LiveKeys     int64       // keys whose newest record is here
	LiveBytes    int64       // bytes of those records
	DeadBytes    int64       // everything else: overwritten, deleted, tombstones, damage
	Expired      int64       // live keys already expired: merge drops them
	ExpiredBytes int64       // their bytes, part of LiveBytes
	Bad          []BadRegion // regions skipped while scanning
	Hint         HintCheck   // as Open judges a hint: parse, id and length
}

// Index is the keydir of an Offline directory, built as Open builds it
// (hints where Open would use them, scans elsewhere) but without changing
// a byte: no torn tail is cut, no hint written, no merge finished, and a
// damaged region is skipped instead of failing. Close it before closing
// the Offline.
type Index struct {
	db    *DB // a shell: keydir and read-only mapped segments, no goroutines
	infos []SegmentInfo
}

// Load builds the directory's Index. now (Unix ms; 0: the clock) is when
// expiry is judged for SegmentInfo.Expired. progress, if not nil, gets the
// bytes of segments loaded so far and in all.
func (d *Offline) Load(now int64, progress func(done, total int64)) (*Index, error) {
	ids, err := segmentIDs(d.dir)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	if now == 0 {
		now = d.opts.Now().UnixMilli()
	}
	db := &DB{dir: d.dir, opts: d.opts, kd: keydir.New(0), segs: make(map[uint32]*segment)}
	x := &Index{db: db}
	var total, done int64
	sizes := make([]int64, len(ids))
	for i, id := range ids {
		st, err := os.Stat(d.SegmentPath(id))
		if err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
		sizes[i] = st.Size()
		total += st.Size()
	}
	byID := make(map[uint32]int, len(ids))
	for i, id := range ids {
		path := d.SegmentPath(id)
		s := &segment{id: id, path: path}
		if sizes[i] > 0 {
			if s, err = openSealed(path, id); err != nil {
				x.Close()
				return nil, err
			}
		}
		db.segs[id] = s
		info := SegmentInfo{ID: id, Size: s.size, Active: i == len(ids)-1}
		h, hc := d.readHint(id, s.size)
		info.Hint = hc
		if h != nil && !info.Active {
			// As loadSealed: a hint that parses and fits is trusted.
			info.FromHint = true
			for j := range h.Len() {
				e := h.Entry(j)
				info.count(e.Kind)
				db.applyLoaded(s, e.Kind, e.Key, int64(e.Offset), int64(e.Size), e.ExpireAt)
			}
			db.seq = max(db.seq, h.MaxSeq())
		} else if s.size > 0 {
			var last int64
			sv, err := salvageSegment(s.ra, s.size, d.maxRecord(), func(off int64, rec record.Record) error {
				info.count(rec.Kind())
				db.applyLoaded(s, rec.Kind(), rec.Key, off, rec.Size(), rec.ExpireAt)
				if progress != nil && off-last >= progressEvery {
					last = off
					progress(done+off, total)
				}
				return nil
			})
			if err != nil {
				x.Close()
				return nil, err
			}
			db.seq = max(db.seq, sv.maxSeq)
			info.Bad = sv.bad
		}
		byID[id] = len(x.infos)
		x.infos = append(x.infos, info)
		done += s.size
		if progress != nil {
			progress(done, total)
		}
	}
	db.kd.Sync()
	var herr error
	db.kd.Ascend(nil, nil, func(key string, loc keydir.Loc) bool {
		info := &x.infos[byID[loc.Segment()]]
		info.LiveKeys++
		if loc.Expires() {
			s := db.segs[loc.Segment()]
			h, err := s.readHeader(loc.Offset())
			if err != nil {
				herr = s.wrap(loc.Offset(), err)
				return false
			}
			if h.ExpireAt != 0 && h.ExpireAt <= now {
				info.Expired++
				info.ExpiredBytes += h.Size()
			}
		}
		return true
	})
	if herr != nil {
		x.Close()
		return nil, herr
	}
	for i := range x.infos {
		s := db.segs[x.infos[i].ID]
		x.infos[i].LiveBytes = s.live
		x.infos[i].DeadBytes = s.size - s.live
	}
	return x, nil
}

func (info *SegmentInfo) count(kind uint8) {
	if kind == record.KindPut {
		info.Puts++
	} else {
		info.Tombstones++
	}
}

// Segments describes every segment, in id order.
func (x *Index) Segments() []SegmentInfo { return x.infos }

// Len is the number of keys, expired ones included.
func (x *Index) Len() int { return x.db.kd.Len() }

// Seq is the highest sequence number found, as Open would recover it.
func (x *Index) Seq() uint64 { return x.db.seq }

// Ascend calls fn for every key in ascending byte order with its value and
// expiry (Unix ms, 0 = none), expired keys included: the caller judges
// expiry. key and value are fn's to keep. A record that fails its check is
// reported as an error wrapping ErrCorruption, and an error from fn stops
// the walk.
func (x *Index) Ascend(fn func(key, value []byte, expireAt int64) error) error {
	var err error
	x.db.kd.Ascend(nil, nil, func(key string, loc keydir.Loc) bool {
		k := []byte(key)
		var v []byte
		var exp int64
		v, exp, err = x.db.segs[loc.Segment()].readValue(loc.Offset(), k)
		if err != nil {
			return false
		}
		err = fn(k, v, exp)
		return err == nil
	})
	return err
}

// Close unmaps the segments.
func (x *Index) Close() error {
	var errs []error
	for _, s := range x.db.segs {
		errs = append(errs, s.close())
	}
	x.db.segs = nil
	return errors.Join(errs...)
}
