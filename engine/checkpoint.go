package engine

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/walkerdb/walkerdb/engine/record"
)

const checkpointsDir = "checkpoints"

var checkpointCounter atomic.Uint64

// Checkpoint is a consistent, immutable copy of a DB at one moment: hard
// links to its segment and hint files. Writes and merges go on beside it
// without changing it, since they only ever create, rename or remove
// files, never rewrite them. walkerd streams one as a Raft snapshot.
type Checkpoint struct {
	dir    string
	files  []string
	seq    uint64
	layout uint32 // the DB's key-layout version, for the stream's header
}

// Checkpoint seals the active segment and pins every segment. Close the
// returned Checkpoint to release its disk space.
func (db *DB) Checkpoint() (*Checkpoint, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return nil, ErrClosed
	}
	if db.active.size > 0 {
		if err := db.rotate(0); err != nil {
			db.failErr = fmt.Errorf("engine: writes stopped: %w", err)
			return nil, err
		}
	}
	dir := filepath.Join(db.dir, checkpointsDir, strconv.FormatUint(checkpointCounter.Add(1), 10))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cp := &Checkpoint{dir: dir, seq: db.seq, layout: db.opts.LayoutVersion}
	var ids []uint32
	for id, s := range db.segs {
		if id != db.active.id && s.size > 0 {
			ids = append(ids, id)
		}
	}
	sortIDs(ids)
	for _, id := range ids {
		for _, name := range []string{segName(id), hintName(id)} {
			err := os.Link(filepath.Join(db.dir, name), filepath.Join(dir, name))
			if errors.Is(err, os.ErrNotExist) && strings.HasSuffix(name, hintExt) {
				continue // not written yet: the restored DB scans that segment
			}
			if err != nil {
				os.RemoveAll(dir)
				return nil, fmt.Errorf("engine: checkpoint: %w", err)
			}
			cp.files = append(cp.files, name)
		}
	}
	return cp, nil
}

func sortIDs(ids []uint32) {
	for i := 1; i < len(ids); i++ {
		for j := i; j > 0 && ids[j] < ids[j-1]; j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
}

// Dir is where the checkpoint's files are linked.
func (c *Checkpoint) Dir() string { return c.dir }

// Files are the checkpoint's file names, segments in order.
func (c *Checkpoint) Files() []string { return c.files }

// Seq is the DB's sequence number when the checkpoint was taken.
func (c *Checkpoint) Seq() uint64 { return c.seq }

// Close removes the checkpoint's links.
func (c *Checkpoint) Close() error { return os.RemoveAll(c.dir) }

// The checkpoint stream, as WriteTo writes and Restore reads it:
//
//	header:     "WALKERCP" | version u32 | seq u64 | format u32 | layout u32 | crc u32
//	repeated:   name len u16 | name | size u64 | bytes | crc32c(bytes) u32
//	end:        name len 0
//
// version is the stream's own (streamVersion); format and layout are the
// data's, as the directory's FORMAT file records them (format.go), and
// Restore writes them to the restored directory's FORMAT. The header's crc
// is the CRC32-C of the 28 bytes before it. Version 1, written before
// format versions, had only "WALKERCP" | 1 | seq; it is refused, as a
// directory without FORMAT is.
const (
	streamMagic     = "WALKERCP"
	streamVersion   = 2
	streamHeaderLen = 32
)

// WriteTo streams the checkpoint's files to w.
func (c *Checkpoint) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<20)
	var hdr [streamHeaderLen]byte
	copy(hdr[:], streamMagic)
	binary.LittleEndian.PutUint32(hdr[8:], streamVersion)
	binary.LittleEndian.PutUint64(hdr[12:], c.seq)
	binary.LittleEndian.PutUint32(hdr[20:], FormatVersion)
	binary.LittleEndian.PutUint32(hdr[24:], c.layout)
	binary.LittleEndian.PutUint32(hdr[28:], record.Checksum(hdr[:28]))
	bw.Write(hdr[:])
	for _, name := range c.files {
		if err := writeStreamFile(bw, filepath.Join(c.dir, name), name); err != nil {
			return cw.n, err
		}
	}
	bw.Write([]byte{0, 0})
	err := bw.Flush()
	return cw.n, err
}

func writeStreamFile(bw *bufio.Writer, path, name string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	var b [10]byte
	binary.LittleEndian.PutUint16(b[:], uint16(len(name)))
	bw.Write(b[:2])
	bw.WriteString(name)
	binary.LittleEndian.PutUint64(b[:], uint64(st.Size()))
	bw.Write(b[:8])
	crc := &crcWriter{}
	if _, err := io.Copy(io.MultiWriter(bw, crc), f); err != nil {
		return err
	}
	binary.LittleEndian.PutUint32(b[:], crc.sum)
	_, err = bw.Write(b[:4])
	return err
}

// readStreamHeader reads and checks a checkpoint stream's header. It
// refuses, wrapping ErrFormat, a stream of another stream version, of a
// newer format version, or of a key layout other than layout when both are
// non-zero; a header that does not decode wraps ErrCorruption.
func readStreamHeader(r io.Reader, layout uint32) (uint64, Format, error) {
	var hdr [streamHeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:12]); err != nil {
		return 0, Format{}, fmt.Errorf("engine: checkpoint stream header: %w", err)
	}
	if string(hdr[:8]) != streamMagic {
		return 0, Format{}, fmt.Errorf("engine: not a checkpoint stream: %w", ErrCorruption)
	}
	switch v := binary.LittleEndian.Uint32(hdr[8:]); {
	case v == 1:
		return 0, Format{}, formatErrorf("engine: checkpoint stream has stream version 1 (written before format versions); this build reads stream version %d", streamVersion)
	case v > streamVersion:
		return 0, Format{}, formatErrorf("engine: checkpoint stream has stream version %d (written by a newer build); this build reads stream version %d", v, streamVersion)
	case v != streamVersion:
		return 0, Format{}, fmt.Errorf("engine: checkpoint stream version %d: %w", v, ErrCorruption)
	}
	if _, err := io.ReadFull(r, hdr[12:]); err != nil {
		return 0, Format{}, fmt.Errorf("engine: checkpoint stream header: %w", err)
	}
	if record.Checksum(hdr[:28]) != binary.LittleEndian.Uint32(hdr[28:]) {
		return 0, Format{}, fmt.Errorf("engine: checkpoint stream header: checksum mismatch: %w", ErrCorruption)
	}
	f := Format{Version: binary.LittleEndian.Uint32(hdr[20:]), Layout: binary.LittleEndian.Uint32(hdr[24:])}
	if f.Version == 0 {
		return 0, Format{}, fmt.Errorf("engine: checkpoint stream header: format version 0: %w", ErrCorruption)
	}
	if err := f.check("checkpoint stream", layout); err != nil {
		return 0, Format{}, err
	}
	return binary.LittleEndian.Uint64(hdr[12:]), f, nil
}

// StreamSeq reads the sequence number from the head of a checkpoint
// stream without reading the rest, so a caller can tell whether a stored
// snapshot is newer than its DB. It refuses, wrapping ErrFormat, a stream
// this build cannot restore: of a newer version, or of a key layout other
// than layout when both are non-zero.
func StreamSeq(r io.Reader, layout uint32) (uint64, error) {
	seq, _, err := readStreamHeader(r, layout)
	return seq, err
}

// Restore writes the data directory dir from a checkpoint stream,
// with the FORMAT file the stream's header describes; Open it afterwards.
// dir must not exist or be empty. It is built beside dir and renamed into
// place, so a failed restore leaves nothing half-written. It refuses,
// wrapping ErrFormat, a stream of a newer version, or of a key layout
// other than layout when both are non-zero (pass Options.LayoutVersion).
func Restore(r io.Reader, dir string, layout uint32) (seq uint64, err error) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return 0, fmt.Errorf("engine: restore into %s: directory not empty", dir)
	}
	tmp := filepath.Clean(dir) + ".restore.tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	br := bufio.NewReaderSize(r, 1<<20)
	seq, f, err := readStreamHeader(br, layout)
	if err != nil {
		return 0, err
	}
	if err := writeFormat(tmp, f); err != nil {
		return 0, err
	}
	for {
		var b [8]byte
		if _, err := io.ReadFull(br, b[:2]); err != nil {
			return 0, fmt.Errorf("engine: restore: %w", err)
		}
		n := binary.LittleEndian.Uint16(b[:])
		if n == 0 {
			break
		}
		name := make([]byte, n)
		if _, err := io.ReadFull(br, name); err != nil {
			return 0, fmt.Errorf("engine: restore: %w", err)
		}
		if !validStreamName(string(name)) {
			return 0, fmt.Errorf("engine: restore: file name %q: %w", name, ErrCorruption)
		}
		if _, err := io.ReadFull(br, b[:8]); err != nil {
			return 0, fmt.Errorf("engine: restore: %w", err)
		}
		if err := restoreFile(br, filepath.Join(tmp, string(name)), int64(binary.LittleEndian.Uint64(b[:]))); err != nil {
			return 0, fmt.Errorf("engine: restore %s: %w", name, err)
		}
	}
	if err := syncDir(tmp); err != nil {
		return 0, err
	}
	os.Remove(dir) // empty or absent
	if err := os.Rename(tmp, dir); err != nil {
		return 0, err
	}
	return seq, syncDir(filepath.Dir(filepath.Clean(dir)))
}

func validStreamName(name string) bool {
	if _, ok := parseSegName(name); ok {
		return true
	}
	base, ok := strings.CutSuffix(name, hintExt)
	if !ok {
		return false
	}
	_, ok = parseSegName(base + segExt)
	return ok
}

func restoreFile(r io.Reader, path string, size int64) error {
	if size < 0 || size > MaxSegmentSize {
		return fmt.Errorf("size %d: %w", size, ErrCorruption)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	crc := &crcWriter{}
	if _, err := io.CopyN(io.MultiWriter(f, crc), r, size); err != nil {
		return err
	}
	var b [4]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return err
	}
	if binary.LittleEndian.Uint32(b[:]) != crc.sum {
		return fmt.Errorf("checksum mismatch: %w", ErrCorruption)
	}
	return f.Sync()
}

type crcWriter struct{ sum uint32 }

func (c *crcWriter) Write(p []byte) (int, error) {
	c.sum = record.ChecksumUpdate(c.sum, p)
	return len(p), nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
