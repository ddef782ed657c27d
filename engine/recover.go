package engine

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/walkerdb/walkerdb/engine/hint"
	"github.com/walkerdb/walkerdb/engine/record"
)

// quarantineDir holds what Recover set aside, one folder per run that set
// anything aside: dir/quarantine/<UTC time>/.
const quarantineDir = "quarantine"

// RecoverOptions tunes Recover. The zero value is ready to use.
type RecoverOptions struct {
	// Progress, when set, gets the bytes of segments checked so far and in
	// all. Zero: no reports.
	Progress func(done, total int64)
	// Now names the quarantine folder. Zero: time.Now.
	Now func() time.Time
}

// SetAside is a bad region that Recover moved out of a segment.
type SetAside struct {
	BadRegion
	// File holds the region's bytes, relative to the data directory; empty
	// when every byte was zero.
	File string
	// Copied is the length of File. A torn tail is copied up to its last
	// non-zero byte: the zeros after it are preallocated space.
	Copied int64
}

// SegmentRecovery is what Recover found and did in one segment.
type SegmentRecovery struct {
	ID               uint32
	Active           bool
	OldSize, NewSize int64
	Puts, Dels       int64 // records kept (batch members counted once committed)
	SetAside         []SetAside
	HintWas          HintCheck
	Hint             string // what was done with the hint file, "" for nothing
}

// RecoverReport says what Recover kept and what it set aside.
type RecoverReport struct {
	Dir        string
	Quarantine string   // folder holding what was set aside, "" if nothing was
	Merge      string   // what was done with an interrupted merge, "" if none
	Temps      []string // *.tmp files removed, as Open removes them
	Orphans    []string // hint files without a segment, set aside
	Segments   []SegmentRecovery
	Changed    bool // false: the directory was left exactly as it was
}

// SetAsideBytes is the number of bytes cut out of segments and copied to
// the quarantine, and the number of zero bytes cut without a copy.
func (r *RecoverReport) SetAsideBytes() (copied, zero int64) {
	for _, s := range r.Segments {
		for _, a := range s.SetAside {
			copied += a.Copied
			zero += a.End - a.Start - a.Copied
		}
	}
	return copied, zero
}

// String is the report in words, as Recover writes it to the quarantine.
func (r *RecoverReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "recover %s\n", r.Dir)
	if r.Merge != "" {
		fmt.Fprintf(&b, "merge: %s\n", r.Merge)
	}
	for _, t := range r.Temps {
		fmt.Fprintf(&b, "removed temporary file %s\n", t)
	}
	for _, o := range r.Orphans {
		fmt.Fprintf(&b, "set aside hint without a segment: %s\n", o)
	}
	var puts, dels int64
	for _, s := range r.Segments {
		puts, dels = puts+s.Puts, dels+s.Dels
		if len(s.SetAside) == 0 && s.Hint == "" {
			continue
		}
		fmt.Fprintf(&b, "segment %d: kept %d puts and %d deletes, %d of %d bytes\n", s.ID, s.Puts, s.Dels, s.NewSize, s.OldSize)
		for _, a := range s.SetAside {
			fmt.Fprintf(&b, "  set aside %s", a.BadRegion)
			if a.File != "" {
				fmt.Fprintf(&b, " -> %s (%d bytes)", a.File, a.Copied)
			}
			b.WriteString("\n")
		}
		if s.Hint != "" {
			fmt.Fprintf(&b, "  hint: %s\n", s.Hint)
		}
	}
	copied, zero := r.SetAsideBytes()
	fmt.Fprintf(&b, "kept %d puts and %d deletes in %d segments; set aside %d bytes; cut %d zero bytes\n", puts, dels, len(r.Segments), copied, zero)
	if r.Quarantine != "" {
		fmt.Fprintf(&b, "quarantine: %s\n", r.Quarantine)
	}
	if !r.Changed {
		b.WriteString("nothing to do: the directory is unchanged\n")
	}
	return b.String()
}

// Recover makes a damaged directory openable while keeping every record
// that can be read, and never deletes bytes it cannot read: it moves them
// to dir/quarantine/<time>/ with a report (report.txt). In order:
//
//   - an interrupted merge is finished if committed and discarded if not,
//     as Open does; a merge whose DONE marker does not parse is moved to
//     the quarantine (it never got past its commit point, so its inputs
//     are whole);
//   - *.tmp files are removed, as Open removes them;
//   - every segment is scanned as Open scans it, going on after damage at
//     the next valid record. Each bad region (a torn tail, a corrupt
//     stretch, the whole or partial members of a batch whose commit is
//     damaged or missing) is copied to the quarantine and the segment is
//     rewritten without it: good records go to a file beside it, which is
//     synced and renamed over it (a torn tail alone is truncated instead).
//     Bytes that are all zero (preallocated space) are cut without a copy;
//   - a hint that is missing, corrupt, stale or disagrees with its
//     segment is rebuilt (the bad one is copied to the quarantine first);
//     the active (last) segment gets none, as Open would ignore it;
//   - a hint without a segment is moved to the quarantine.
//
// A second run finds nothing to do and changes nothing. Readable records
// are kept even when their neighbours are lost, so a delete in a lost
// region can bring back an older value of its key: the report names every
// region lost for that reason.
func (d *Offline) Recover(o RecoverOptions) (*RecoverReport, error) {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	r := &RecoverReport{Dir: d.dir}
	q := &quarantine{dir: d.dir, now: now}
	l, err := d.Layout()
	if err != nil {
		return r, err
	}

	switch l.Merge {
	case MergeCommitted:
		if err := finishMerge(d.dir); err != nil {
			return r, err
		}
		r.Merge = fmt.Sprintf("finished a committed merge (inputs %v, outputs %v)", l.MergeInputs, l.MergeOutputs)
	case MergeUncommitted:
		if err := finishMerge(d.dir); err != nil {
			return r, err
		}
		r.Merge = "discarded an uncommitted merge (its inputs were whole)"
	case MergeUnreadable:
		qd, err := q.folder()
		if err != nil {
			return r, err
		}
		if err := os.Rename(filepath.Join(d.dir, mergeDirName), filepath.Join(qd, mergeDirName)); err != nil {
			return r, fmt.Errorf("engine: recover: %w", err)
		}
		if err := syncDir(d.dir); err != nil {
			return r, err
		}
		r.Merge = fmt.Sprintf("set aside a merge whose marker does not parse (%v) to %s", l.MergeErr, q.rel(mergeDirName))
	}
	if l.Merge != MergeNone {
		r.Changed = true
	}
	if len(l.Temps) > 0 {
		removeTemps(d.dir)
		r.Temps, r.Changed = l.Temps, true
	}
	if l.Merge != MergeNone {
		if l, err = d.Layout(); err != nil {
			return r, err
		}
	}

	var total, done int64
	for _, id := range l.Segments {
		if st, err := os.Stat(d.SegmentPath(id)); err == nil {
			total += st.Size()
		}
	}
	for _, id := range l.Segments {
		var last int64
		c, err := d.checkSegment(id, id == l.Active(), func(off int64, _ record.Record) error {
			if o.Progress != nil && off-last >= progressEvery {
				last = off
				o.Progress(done+off, total)
			}
			return nil
		})
		if err != nil {
			return r, err
		}
		sr, err := d.recoverSegment(c, q)
		r.Segments = append(r.Segments, sr)
		if len(sr.SetAside) > 0 || sr.Hint != "" {
			r.Changed = true
		}
		if err != nil {
			return r, err
		}
		done += c.Size
		if o.Progress != nil {
			o.Progress(done, total)
		}
	}

	for _, id := range l.Hints {
		if l.HasSegment(id) {
			continue
		}
		name := hintName(id)
		if _, err := q.moveIn(filepath.Join(d.dir, name), "orphan-"+name); err != nil {
			return r, err
		}
		r.Orphans, r.Changed = append(r.Orphans, name), true
	}

	if q.path != "" {
		r.Quarantine = q.rel("")
		if err := writeFileSync(filepath.Join(q.path, "report.txt"), []byte(r.String())); err != nil {
			return r, err
		}
		if err := syncDir(q.path); err != nil {
			return r, err
		}
	}
	if r.Changed {
		return r, syncDir(d.dir)
	}
	return r, nil
}

// recoverSegment cuts a checked segment's bad regions out and fixes its
// hint.
func (d *Offline) recoverSegment(c SegmentCheck, q *quarantine) (SegmentRecovery, error) {
	sr := SegmentRecovery{ID: c.ID, Active: c.Active, OldSize: c.Size, NewSize: c.Size, Puts: c.Puts, Dels: c.Dels, HintWas: c.Hint}
	path, hpath := d.SegmentPath(c.ID), d.HintPath(c.ID)
	rewritten := false
	if len(c.Bad) > 0 {
		f, err := os.Open(path)
		if err != nil {
			return sr, fmt.Errorf("engine: %w", err)
		}
		for _, b := range c.Bad {
			a, err := q.copyRegion(f, c.ID, b)
			if err != nil {
				f.Close()
				return sr, err
			}
			sr.SetAside = append(sr.SetAside, a)
		}
		f.Close()
		if q.path != "" {
			if err := syncDir(q.path); err != nil {
				return sr, err
			}
		}
		// The old hint goes first: it must never describe the new data.
		if c.Hint.State != HintMissing && c.Hint.State != HintValid {
			if _, err := q.copyIn(hpath, hintName(c.ID)); err != nil {
				return sr, err
			}
		}
		if err := removeIfExists(hpath); err != nil {
			return sr, err
		}
		if err := rewriteSegment(path, c.keep); err != nil {
			return sr, fmt.Errorf("engine: recover segment %d: %w", c.ID, err)
		}
		sr.NewSize = c.KeptBytes()
		rewritten = true
	}

	needHint := !c.Active && sr.NewSize > 0
	was := c.Hint.State
	if rewritten {
		was = HintMissing // removed above
	}
	switch {
	case was == HintValid:
		return sr, nil
	case was == HintMissing && !needHint:
		if rewritten && c.Hint.State != HintMissing {
			sr.Hint = "removed (it described the old segment)"
		}
		return sr, nil
	case was != HintMissing:
		if _, err := q.copyIn(hpath, hintName(c.ID)); err != nil {
			return sr, err
		}
		if !needHint {
			if err := os.Remove(hpath); err != nil {
				return sr, fmt.Errorf("engine: %w", err)
			}
			sr.Hint = fmt.Sprintf("set aside (%s: %v); the active segment needs none", c.Hint.State, c.Hint.Err)
			return sr, nil
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return sr, fmt.Errorf("engine: %w", err)
	}
	defer f.Close()
	data, err := buildHint(f, c.ID, sr.NewSize, d.maxRecord())
	if err != nil {
		return sr, err
	}
	if err := hint.WriteFile(hpath, data); err != nil {
		return sr, err
	}
	switch {
	case rewritten:
		sr.Hint = "rebuilt for the rewritten segment"
	case c.Hint.State == HintMissing:
		sr.Hint = "written (was missing)"
	default:
		sr.Hint = fmt.Sprintf("rebuilt (was %s: %v)", c.Hint.State, c.Hint.Err)
	}
	return sr, nil
}

// rewriteSegment replaces the segment at path with the bytes of keep, in
// order: a single leading span is a truncation, anything else is written
// to path.tmp, synced and renamed over path.
func rewriteSegment(path string, keep []span) error {
	if len(keep) == 0 || (len(keep) == 1 && keep[0].start == 0) {
		var end int64
		if len(keep) == 1 {
			end = keep[0].end
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		if err := f.Truncate(end); err != nil {
			f.Close()
			return err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	tmp := path + ".tmp" // Open's removeTemps clears it if we crash
	dst, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	for _, s := range keep {
		if _, err := io.Copy(dst, io.NewSectionReader(src, s.start, s.end-s.start)); err != nil {
			dst.Close()
			os.Remove(tmp)
			return err
		}
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		os.Remove(tmp)
		return err
	}
	if err := dst.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// quarantine is the folder of one Recover run, made when first needed.
type quarantine struct {
	dir  string // the data directory
	now  func() time.Time
	path string // dir/quarantine/<time>, once made
	name string // <time>
}

// folder makes the run's folder if it does not exist yet.
func (q *quarantine) folder() (string, error) {
	if q.path != "" {
		return q.path, nil
	}
	root := filepath.Join(q.dir, quarantineDir)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("engine: %w", err)
	}
	base := q.now().UTC().Format("20060102T150405.000Z")
	for i := 0; ; i++ {
		name := base
		if i > 0 {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		err := os.Mkdir(filepath.Join(root, name), 0o755)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("engine: %w", err)
		}
		q.path, q.name = filepath.Join(root, name), name
		break
	}
	if err := syncDir(root); err != nil {
		return "", err
	}
	return q.path, syncDir(q.dir)
}

// rel is a name inside the run's folder relative to the data directory.
func (q *quarantine) rel(name string) string {
	return filepath.Join(quarantineDir, q.name, name)
}

// copyRegion copies a bad region's bytes into the quarantine. A region of
// zeros is not copied; a torn tail is copied up to its last non-zero byte.
func (q *quarantine) copyRegion(f *os.File, id uint32, b BadRegion) (SetAside, error) {
	a := SetAside{BadRegion: b}
	if b.Zero {
		return a, nil
	}
	end := b.End
	if b.Tail {
		end = lastNonZero(f, b.Start, b.End) + 1
	}
	qd, err := q.folder()
	if err != nil {
		return a, err
	}
	name := fmt.Sprintf("segment-%d-offset-%d.bin", id, b.Start)
	if err := copyToFile(filepath.Join(qd, name), io.NewSectionReader(f, b.Start, end-b.Start)); err != nil {
		return a, fmt.Errorf("engine: quarantine: %w", err)
	}
	a.File, a.Copied = q.rel(name), end-b.Start
	return a, nil
}

// copyIn copies the file at path into the quarantine as name.
func (q *quarantine) copyIn(path, name string) (string, error) {
	src, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("engine: %w", err)
	}
	defer src.Close()
	qd, err := q.folder()
	if err != nil {
		return "", err
	}
	if err := copyToFile(filepath.Join(qd, name), src); err != nil {
		return "", fmt.Errorf("engine: quarantine: %w", err)
	}
	return q.rel(name), syncDir(qd)
}

// moveIn moves the file at path into the quarantine as name.
func (q *quarantine) moveIn(path, name string) (string, error) {
	qd, err := q.folder()
	if err != nil {
		return "", err
	}
	if err := os.Rename(path, filepath.Join(qd, name)); err != nil {
		return "", fmt.Errorf("engine: quarantine: %w", err)
	}
	if err := syncDir(qd); err != nil {
		return "", err
	}
	return q.rel(name), syncDir(filepath.Dir(path))
}

func copyToFile(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// lastNonZero is the offset of the last non-zero byte in [from, to), or
// from-1 if there is none.
func lastNonZero(r io.ReaderAt, from, to int64) int64 {
	buf := make([]byte, scanChunk)
	for end := to; end > from; {
		start := max(from, end-scanChunk)
		n, _ := r.ReadAt(buf[:end-start], start)
		for i := n - 1; i >= 0; i-- {
			if buf[i] != 0 {
				return start + int64(i)
			}
		}
		end = start
	}
	return from - 1
}

// HintResult is what RebuildHints did for one segment.
type HintResult struct {
	ID      uint32
	Entries int
	Err     error // the segment is damaged: run Recover
}

// RebuildHints rewrites the hint file of every sealed, non-empty segment
// from its records. A damaged segment keeps its hint and is reported with
// an error wrapping ErrCorruption; the others are rebuilt all the same. It
// refuses to run while a committed merge waits to be finished.
func (d *Offline) RebuildHints(progress func(done, total int64)) ([]HintResult, error) {
	l, err := d.Layout()
	if err != nil {
		return nil, err
	}
	if l.Merge == MergeCommitted || l.Merge == MergeUnreadable {
		return nil, fmt.Errorf("engine: %s merge in %s: run recover first", l.Merge, filepath.Join(d.dir, mergeDirName))
	}
	var sizes []int64
	var total, done int64
	for _, id := range l.Segments {
		st, err := os.Stat(d.SegmentPath(id))
		if err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
		sizes = append(sizes, st.Size())
		total += st.Size()
	}
	var out []HintResult
	var bad []string
	for i, id := range l.Segments {
		if id != l.Active() && sizes[i] > 0 {
			res := HintResult{ID: id}
			res.Entries, res.Err = d.rebuildHint(id, sizes[i])
			if res.Err != nil {
				bad = append(bad, fmt.Sprint(id))
			}
			out = append(out, res)
		}
		done += sizes[i]
		if progress != nil {
			progress(done, total)
		}
	}
	if len(bad) > 0 {
		return out, fmt.Errorf("engine: segments %s are damaged, their hints were not rebuilt (run recover): %w", strings.Join(bad, ", "), ErrCorruption)
	}
	return out, nil
}

func (d *Offline) rebuildHint(id uint32, size int64) (int, error) {
	f, err := os.Open(d.SegmentPath(id))
	if err != nil {
		return 0, fmt.Errorf("engine: %w", err)
	}
	defer f.Close()
	data, err := buildHint(f, id, size, d.maxRecord())
	if err != nil {
		return 0, err
	}
	h, err := hint.Parse(data)
	if err != nil {
		return 0, fmt.Errorf("engine: own hint: %w", err)
	}
	return h.Len(), hint.WriteFile(d.HintPath(id), data)
}
