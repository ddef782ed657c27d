package store

// Large Raft log entries travel and rest beside the log, not inside it.
//
// WalkerDB takes a SET of up to 512 MB (Redis's proto-max-bulk-len) and
// must not hold more than about three copies of it, on any node. Inside
// the log, neither the log stores nor raft's transport let such an entry
// through:
//
//   - raft-wal v0.4.2 encodes an entry into a bytes.Buffer, then copies it
//     into its segment writer's commitBuf, which it grows to the next
//     power of two and keeps (segment/writer.go, ensureBufCap): 1.5 GB,
//     pinned, for 512 MB; and it writes a record over 64 MiB that its
//     reader then refuses as corrupt (segment/format.go, MaxEntrySize).
//     raft-boltdb copies it into BoltDB's pages.
//   - hashicorp/raft v1.7.3's NetworkTransport decodes AppendEntries with a
//     default msgpack handle (net_transport.go), which reads a byte field
//     256 KiB at a time, reallocating and copying everything read at each
//     step (go-msgpack v2.1.2, decByteSlice): the cost grows with the
//     square of the size, about 500 GB of copying for 512 MB. A follower
//     never finished, and the leader lost its lease meanwhile.
//
// So the leader (Store.Apply) proposes a command entry whose encoding is
// bigEntryMin bytes or more by reference: Data is a reference of about 50 bytes,
// and the bytes are written to a file of their own when the entry is
// stored, straight from the encoding the leader holds (hold). A follower
// that stores the entry first fetches the file with WALKER.BLOB over the
// node link (Config.Fetch) from the node that proposed it, or else the
// leader, any member it knows or its join target (any node whose log
// holds the entry holds its file), checks it against the
// reference's size and CRC, and only then stores the entry and
// acknowledges it: an entry is committed only once a quorum holds its
// bytes, and any node whose log holds the entry holds its file. The state
// machine reads the file when it applies the entry (readEntry); the
// leader applies from the encoding it proposed (fsm.entry).
//
//	RaftDir/bigentries/00000000000000001234-00000000000000000007
//	                   |  index, 20 digits | |  term, 20 digits |
//
//	Data: | "WKBE" | version 2 | size, uint64 BE | CRC-32C, uint32 BE | id, 16 bytes | n, 1 byte | from, n bytes |
//	        4 bytes  1 byte      8 bytes          4 bytes              random         0-255       RESP address
//
// The CRC is Castagnoli's, of the entry's encoding; the id matches the
// reference with the bytes the leader holds; from is the proposer's RESP
// address, where a follower looks for the bytes first. A file missing or damaged is
// an error naming it (wrapping engine.ErrCorruption when damaged), never
// other data. The files live outside both stores' own paths, so a log
// moved between raft-wal and raft-boltdb (migrateLog copies entries as
// they are) still names the same files.
//
// Recovery. StoreLogs writes each file under a .tmp name, fsyncs it,
// renames it into place and fsyncs the directory (the fsyncs only under
// SyncAlways, as raft-boltdb's), and only then appends the entries
// to the log store. DeleteRange deletes from the log store first, then
// the files. A crash
//
//   - while a file is written leaves a .tmp file: open deletes it;
//   - after the rename, before the append, leaves a file whose index is
//     past the log's LastIndex, or (a follower's log cut back and
//     rewritten) one the log's entry at that index does not reference:
//     open deletes it, and raft sends the entry again;
//   - between the two halves of DeleteRange leaves files whose index is
//     outside [FirstIndex, LastIndex] (an empty log: every file): open
//     deletes them.
//
// No state is lost in any of these: the log store's entry, which names
// its file, is written after the file and deleted before it.
//
// Bound. raft keeps entries by count (TrailingLogs), so the files are
// also bounded in bytes (Config.BigEntriesMaxBytes, 2 GiB): past the
// bound, the node takes a snapshot and deletes the files of the entries
// before the snapshot's index, oldest first, down to half the bound
// (trimBig, evictBefore). Such an entry stays in the log, but GetLog
// answers raft.ErrLogNotFound for it, as for a compacted one, so a
// follower that needs it gets the snapshot instead; the entry at the
// snapshot's index keeps its file, since raft reads the log's last entry
// when it starts.

import (
	"cmp"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/raft"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/engine/record"
)

const (
	// bigEntryMin is the size of Data from which a command entry is kept
	// in a file of its own.
	bigEntryMin = 1 << 20
	// bigEntryDir is the directory of those files, in RaftDir.
	bigEntryDir = "bigentries"

	bigRefMagic   = "WKBE"
	bigRefVersion = 2
	bigRefLen     = len(bigRefMagic) + 1 + 8 + 4 + 16 + 1 // without from
)

// bigRef is an entry's reference to its file.
type bigRef struct {
	size uint64
	sum  uint32
	id   [16]byte
	from string // the proposer's RESP address
}

func (r bigRef) encode() []byte {
	b := make([]byte, 0, bigRefLen)
	b = append(b, bigRefMagic...)
	b = append(b, bigRefVersion)
	b = binary.BigEndian.AppendUint64(b, r.size)
	b = binary.BigEndian.AppendUint32(b, r.sum)
	b = append(b, r.id[:]...)
	b = append(b, byte(len(r.from)))
	return append(b, r.from...)
}

// parseBigRef reads the reference an entry of the log holds as its Data.
func parseBigRef(l *raft.Log) (bigRef, bool) {
	x := l.Data
	if l.Type != raft.LogCommand || len(x) < bigRefLen || len(x) != bigRefLen+int(x[bigRefLen-1]) ||
		string(x[:4]) != bigRefMagic || x[4] != bigRefVersion {
		return bigRef{}, false
	}
	r := bigRef{size: binary.BigEndian.Uint64(x[5:13]), sum: binary.BigEndian.Uint32(x[13:17]), from: string(x[bigRefLen:])}
	copy(r.id[:], x[17:33])
	return r, true
}

// bigFile names one file: the index and term of its entry.
type bigFile struct{ index, term uint64 }

func (f bigFile) name() string { return fmt.Sprintf("%020d-%020d", f.index, f.term) }

func cmpBigFile(a, b bigFile) int {
	if a.index != b.index {
		return cmp.Compare(a.index, b.index)
	}
	return cmp.Compare(a.term, b.term)
}

// parseBigFile reads a file name bigFile.name wrote.
func parseBigFile(name string) (bigFile, bool) {
	if len(name) != 41 || name[20] != '-' {
		return bigFile{}, false
	}
	i, err1 := strconv.ParseUint(name[:20], 10, 64)
	t, err2 := strconv.ParseUint(name[21:], 10, 64)
	if err1 != nil || err2 != nil {
		return bigFile{}, false
	}
	return bigFile{i, t}, true
}

// bigEntries wraps a log store and keeps large command entries in files
// beside it (see the top of this file). Every caller of the wrapper sees
// whole entries. raft calls StoreLogs and DeleteRange from its main and
// snapshot goroutines, GetLog from any: all are safe to call concurrently.
type bigEntries struct {
	logStore
	dir  string
	sync bool // fsync files and the directory (SyncAlways)

	mu    sync.Mutex
	files []bigFile // every file in dir, sorted by index then term
	// sizes holds each listed file's size, bytes their sum. Past
	// maxBytes, StoreLogs signals over, and the store trims (trimBig).
	sizes    map[bigFile]int64
	bytes    int64
	maxBytes int64
	over     chan struct{}
	// held maps the ids of references this node proposed as leader to
	// the encodings they stand for, until raft has stored them (hold).
	held map[[16]byte][]byte

	// self is this node's RESP address, named in the references it
	// proposes (at most 255 bytes: longer is left out).
	self string
	// fetch copies the bytes of the entry at f to w from another node,
	// the proposer at from first; nil: a follower cannot store a large
	// entry (Store sets it, Config.Fetch).
	fetch func(f bigFile, from string, w io.Writer) error
}

// openBigEntries wraps st, keeping its files in RaftDir/bigentries, and
// deletes what a crash left there (see the top of this file). A file
// fsync and a directory fsync follow each write when mode is SyncAlways.
func openBigEntries(st logStore, raftDir string, mode engine.SyncMode, log *slog.Logger) (*bigEntries, error) {
	b := &bigEntries{logStore: st, dir: filepath.Join(raftDir, bigEntryDir), sync: mode == engine.SyncAlways,
		held: make(map[[16]byte][]byte), sizes: make(map[bigFile]int64), maxBytes: bigEntriesMaxBytes,
		over: make(chan struct{}, 1)}
	if _, err := os.Stat(b.dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(b.dir, 0o755); err != nil {
			return nil, err
		}
		if err := b.syncDir(raftDir); err != nil {
			return nil, err
		}
	}
	ents, err := os.ReadDir(b.dir)
	if err != nil {
		return nil, err
	}
	first, err := st.FirstIndex()
	if err != nil {
		return nil, err
	}
	last, err := st.LastIndex()
	if err != nil {
		return nil, err
	}
	removed := 0
	for _, e := range ents {
		name := e.Name()
		f, ok := parseBigFile(name)
		switch {
		case strings.HasSuffix(name, ".tmp"):
		case !ok:
			continue // not ours: left alone
		case f.index >= first && f.index <= last && first > 0:
			var raw raft.Log
			err := st.GetLog(f.index, &raw)
			if err != nil && !errors.Is(err, raft.ErrLogNotFound) {
				return nil, fmt.Errorf("raft log entry %d: %w", f.index, err)
			}
			if _, ref := parseBigRef(&raw); err == nil && ref && raw.Term == f.term {
				info, err := e.Info()
				if err != nil {
					return nil, err
				}
				b.files = append(b.files, f)
				b.sizes[f] = info.Size()
				b.bytes += info.Size()
				continue
			}
		}
		if err := os.Remove(filepath.Join(b.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		removed++
	}
	slices.SortFunc(b.files, cmpBigFile)
	if removed > 0 && log != nil {
		log.Info("removed large log entry files a crash left behind", "dir", b.dir, "removed", removed,
			"kept", len(b.files), "first_index", first, "last_index", last)
	}
	return b, nil
}

// IsMonotonic passes the store's answer on (raft.MonotonicLogStore).
func (b *bigEntries) IsMonotonic() bool {
	m, ok := b.logStore.(raft.MonotonicLogStore)
	return ok && m.IsMonotonic()
}

// hold returns the reference the leader proposes for an entry's
// encoding, and keeps the encoding until release: StoreLogs writes the
// file from it.
func (b *bigEntries) hold(data []byte) (ref []byte, release func()) {
	r := bigRef{size: uint64(len(data)), sum: record.ChecksumUpdate(0, data)}
	if len(b.self) <= 255 {
		r.from = b.self
	}
	rand.Read(r.id[:])
	b.mu.Lock()
	b.held[r.id] = data
	b.mu.Unlock()
	return r.encode(), func() {
		b.mu.Lock()
		delete(b.held, r.id)
		b.mu.Unlock()
	}
}

// readEntry reads the encoding the entry at index with term and reference
// ref stands for, from its file: one allocation of its size.
func (b *bigEntries) readEntry(index, term uint64, ref bigRef) ([]byte, error) {
	path := filepath.Join(b.dir, bigFile{index, term}.name())
	data, err := readBigFile(path, ref.size, ref.sum)
	if err != nil {
		return nil, fmt.Errorf("raft log entry %d: %w", index, err)
	}
	return data, nil
}

// openFile opens the file of the entry at index with term (WALKER.BLOB),
// and returns its size.
func (b *bigEntries) openFile(index, term uint64) (*os.File, int64, error) {
	b.mu.Lock()
	_, found := slices.BinarySearchFunc(b.files, bigFile{index, term}, cmpBigFile)
	b.mu.Unlock()
	if !found {
		return nil, 0, fmt.Errorf("the log holds no large entry %d of term %d", index, term)
	}
	f, err := os.Open(filepath.Join(b.dir, bigFile{index, term}.name()))
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// GetLog reads the entry at index. A large entry whose file is gone was
// deleted (DeleteRange deletes the entry first): it is
// raft.ErrLogNotFound, as raft expects of entries before the first, so
// that raft sends a lagging follower a snapshot. raft-wal v0.4.2 goes on
// answering for entries of its tail segment below FirstIndex after a
// compaction (state.getLog reads the tail before it looks at the head).
func (b *bigEntries) GetLog(index uint64, l *raft.Log) error {
	if err := b.logStore.GetLog(index, l); err != nil {
		return err
	}
	if _, ok := parseBigRef(l); ok {
		b.mu.Lock()
		_, found := slices.BinarySearchFunc(b.files, bigFile{l.Index, l.Term}, cmpBigFile)
		b.mu.Unlock()
		if !found {
			return raft.ErrLogNotFound
		}
	}
	return nil
}

func (b *bigEntries) StoreLog(l *raft.Log) error { return b.StoreLogs([]*raft.Log{l}) }

// StoreLogs writes the files of the large entries among logs, from the
// encodings this node holds as leader or fetched from the leader, then
// stores the entries as they are. An entry stored again (raft resends
// after a timeout) keeps the file it has.
func (b *bigEntries) StoreLogs(logs []*raft.Log) error {
	var written []bigFile
	var sizes []int64
	for _, l := range logs {
		ref, ok := parseBigRef(l)
		if !ok {
			continue
		}
		f := bigFile{l.Index, l.Term}
		b.mu.Lock()
		_, found := slices.BinarySearchFunc(b.files, f, cmpBigFile)
		data := b.held[ref.id]
		b.mu.Unlock()
		if found {
			continue
		}
		var err error
		if data != nil {
			err = b.writeFile(f, func(w io.Writer) error { _, err := w.Write(data); return err })
		} else {
			err = b.fetchFile(f, ref)
		}
		if err != nil {
			b.forget(written)
			return fmt.Errorf("raft log entry %d: %w", l.Index, err)
		}
		written = append(written, f)
		sizes = append(sizes, int64(ref.size))
	}
	if written == nil {
		return b.logStore.StoreLogs(logs)
	}
	if err := b.syncDir(b.dir); err != nil {
		b.forget(written)
		return err
	}
	// Listed before the entries are stored: GetLog answers for an entry
	// whose file is not listed that it was deleted.
	b.mu.Lock()
	for i, f := range written {
		if at, found := slices.BinarySearchFunc(b.files, f, cmpBigFile); !found {
			b.files = slices.Insert(b.files, at, f)
			b.sizes[f] = sizes[i]
			b.bytes += sizes[i]
		}
	}
	over := b.bytes > b.maxBytes
	b.mu.Unlock()
	if err := b.logStore.StoreLogs(logs); err != nil {
		b.mu.Lock()
		for _, f := range written {
			if i, found := slices.BinarySearchFunc(b.files, f, cmpBigFile); found {
				b.files = slices.Delete(b.files, i, i+1)
				b.bytes -= b.sizes[f]
				delete(b.sizes, f)
			}
		}
		b.mu.Unlock()
		b.forget(written)
		return err
	}
	if over {
		select {
		case b.over <- struct{}{}:
		default:
		}
	}
	return nil
}

// fetchFile copies the file of the entry at f from the leader, checking
// its size and CRC against ref as it arrives.
func (b *bigEntries) fetchFile(f bigFile, ref bigRef) error {
	if b.fetch == nil {
		return errors.New("a large entry came from the leader, and this node cannot fetch its bytes")
	}
	return b.writeFile(f, func(w io.Writer) error {
		cw := &crcWriter{w: w}
		if err := b.fetch(f, ref.from, cw); err != nil {
			return fmt.Errorf("fetching its bytes from the leader: %w", err)
		}
		if cw.n != ref.size || cw.crc != ref.sum {
			return fmt.Errorf("the leader sent %d bytes of CRC-32C %08x, the entry names %d of %08x: %w",
				cw.n, cw.crc, ref.size, ref.sum, engine.ErrCorruption)
		}
		return nil
	})
}

// crcWriter counts and sums what it passes on.
type crcWriter struct {
	w   io.Writer
	n   uint64
	crc uint32
}

func (c *crcWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += uint64(n)
	c.crc = record.ChecksumUpdate(c.crc, p[:n])
	return n, err
}

// writeFile writes f's file with fill: a .tmp name, fsync, rename.
func (b *bigEntries) writeFile(f bigFile, fill func(w io.Writer) error) (err error) {
	path := filepath.Join(b.dir, f.name())
	tmp := path + ".tmp"
	w, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	err = fill(w)
	if err == nil && b.sync {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// forget removes the files a failed StoreLogs wrote, but for those an
// earlier call stored (the same entry stored again).
func (b *bigEntries) forget(written []bigFile) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, f := range written {
		if _, found := slices.BinarySearchFunc(b.files, f, cmpBigFile); !found {
			os.Remove(filepath.Join(b.dir, f.name()))
		}
	}
}

func (b *bigEntries) syncDir(dir string) error {
	if !b.sync {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func readBigFile(path string, size uint64, sum uint32) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() < 0 || uint64(fi.Size()) != size || size > math.MaxInt {
		return nil, fmt.Errorf("%s holds %d bytes, the log names %d: %w", path, fi.Size(), size, engine.ErrCorruption)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if got := record.ChecksumUpdate(0, data); got != sum {
		return nil, fmt.Errorf("%s: CRC-32C %08x, the log names %08x: %w", path, got, sum, engine.ErrCorruption)
	}
	return data, nil
}

// DeleteRange deletes the entries with index in [min, max] from the log
// store, then their files. A file that cannot be deleted stays listed, for
// a later DeleteRange or the next open to delete.
func (b *bigEntries) DeleteRange(min, max uint64) error {
	if err := b.logStore.DeleteRange(min, max); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	lo, _ := slices.BinarySearchFunc(b.files, bigFile{min, 0}, cmpBigFile)
	hi := lo
	for hi < len(b.files) && b.files[hi].index <= max {
		hi++
	}
	var errs []error
	keep := lo
	for _, f := range b.files[lo:hi] {
		if err := os.Remove(filepath.Join(b.dir, f.name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			b.files[keep] = f
			keep++
			continue
		}
		b.bytes -= b.sizes[f]
		delete(b.sizes, f)
	}
	b.files = slices.Delete(b.files, keep, hi)
	return errors.Join(errs...)
}

// bigEntriesMaxBytes bounds the bytes of the files of large entries
// before the store trims them (trimBig). raft keeps entries by count
// (TrailingLogs, 10,240 by default), so without a bound in bytes the
// files of the entries a snapshot already covers would grow to thousands
// of values: 10 GB for 10,240 SETs of 1 MiB.
const bigEntriesMaxBytes = 2 << 30

// evictBefore deletes the files of the entries before index, oldest first,
// until the files left take at most half of maxBytes, and reports how many
// it deleted and their bytes. The caller passes a snapshot's index: the
// entries it covers are neither applied again nor needed by this node,
// and GetLog answers raft.ErrLogNotFound for them from now on, so that
// raft sends a follower that needs them the snapshot instead. The entry at
// the snapshot's own index keeps its file: raft reads the log's last
// entry when it starts, and the log may end there.
func (b *bigEntries) evictBefore(index uint64) (n int, freed int64, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	keep := 0
	for i, f := range b.files {
		if f.index >= index || b.bytes <= b.maxBytes/2 {
			keep += copy(b.files[keep:], b.files[i:])
			break
		}
		if rerr := os.Remove(filepath.Join(b.dir, f.name())); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = rerr
			keep += copy(b.files[keep:], b.files[i:])
			break
		}
		n++
		freed += b.sizes[f]
		b.bytes -= b.sizes[f]
		delete(b.sizes, f)
	}
	clear(b.files[keep:])
	b.files = b.files[:keep]
	return n, freed, err
}

// Close closes the log store.
func (b *bigEntries) Close() error { return b.logStore.Close() }

// trimBig keeps the files of large entries under bigEntriesMaxBytes: when
// StoreLogs finds them over it, it takes a snapshot (raft.Snapshot: the
// engine's checkpoint, which links files rather than copying them), then
// deletes the files of the entries the snapshot covers, oldest first.
func (s *Store) trimBig() {
	defer s.wg.Done()
	for {
		select {
		case <-s.quit:
			return
		case <-s.big.over:
		}
		err := s.raft.Snapshot().Error()
		if err != nil && !errors.Is(err, raft.ErrNothingNewToSnapshot) {
			s.log.Warn("a snapshot to trim the files of large log entries failed", "err", err)
			continue
		}
		index, _ := strconv.ParseUint(s.raft.Stats()["last_snapshot_index"], 10, 64)
		n, freed, err := s.big.evictBefore(index)
		if n > 0 || err != nil {
			s.log.Info("trimmed the files of large log entries a snapshot covers", "files", n, "bytes", freed,
				"snapshot_index", index, "err", err)
		}
	}
}
