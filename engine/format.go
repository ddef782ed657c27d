package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/walkerdb/walkerdb/engine/record"
)

// The FORMAT file says what a data directory holds, so that no build reads
// data in a format it does not know. Open writes it when it creates a
// directory, before the first segment:
//
//	0          8          12         16         20
//	+----------+----------+----------+----------+
//	|  magic   | version  |  layout  |   crc    |
//	+----------+----------+----------+----------+
//	 "WALKERDB"    u32        u32        u32
//
// All integers are little-endian. version is the engine's on-disk format
// (FormatVersion): the segment, record and hint formats and the files of
// the directory. layout is the version of the application's key layout
// (Options.LayoutVersion; 0: none recorded). crc is the CRC32-C of every
// byte before it. In every version the magic and the version begin the file
// and the crc ends it, so that any build can tell a newer FORMAT, which it
// refuses naming both versions, from a damaged one, which wraps
// ErrCorruption.
//
// What Open does (OpenOffline differs only where noted):
//
//	no FORMAT, no segments      new: write FORMAT (FormatVersion, Options.LayoutVersion)
//	                            (OpenOffline: refuse, "not a WalkerDB data directory")
//	no FORMAT, segments         version 0, written before format versions: refuse
//	                            (OpenOffline: accept, Format reports version 0)
//	FORMAT version > ours       refuse, naming both versions (ErrFormat)
//	FORMAT layout != ours       refuse, naming both layouts (ErrFormat), when both
//	                            are non-zero
//	FORMAT damaged              refuse (ErrCorruption)
//
// "Segments" stands for any segment or hint file or a merge directory.
const (
	formatName  = "FORMAT"
	formatMagic = "WALKERDB"
	formatSize  = 20

	// FormatVersion is the on-disk format this build writes and reads.
	FormatVersion = 1
)

// Format is what a data directory's FORMAT file records.
type Format struct {
	// Version is the engine's on-disk format. 0: the directory was written
	// before format versions and has no FORMAT file.
	Version uint32
	// Layout is the application's key-layout version. 0: none recorded,
	// which matches any.
	Layout uint32
}

// formatError is an ErrFormat with a message of its own, so that the one
// line a user reads names the directory and both versions.
type formatError struct{ msg string }

func (e *formatError) Error() string { return e.msg }
func (e *formatError) Unwrap() error { return ErrFormat }

func formatErrorf(format string, args ...any) error {
	return &formatError{msg: fmt.Sprintf(format, args...)}
}

// check refuses a format this build cannot read: a newer version, version
// 0, or a layout other than layout when both are non-zero. what names the
// data: "data directory /x" or "checkpoint stream".
func (f Format) check(what string, layout uint32) error {
	switch {
	case f.Version > FormatVersion:
		return formatErrorf("engine: %s has format version %d (written by a newer build); this build reads format version %d", what, f.Version, FormatVersion)
	case f.Version == 0:
		return formatErrorf("engine: %s has format version 0 (written before format versions); this build reads format version %d", what, FormatVersion)
	case f.Layout != 0 && layout != 0 && f.Layout != layout:
		return formatErrorf("engine: %s has key layout version %d; this build uses key layout version %d", what, f.Layout, layout)
	}
	return nil
}

func (f Format) encode() []byte {
	b := make([]byte, formatSize)
	copy(b, formatMagic)
	binary.LittleEndian.PutUint32(b[8:], f.Version)
	binary.LittleEndian.PutUint32(b[12:], f.Layout)
	binary.LittleEndian.PutUint32(b[16:], record.Checksum(b[:16]))
	return b
}

// decodeFormat reads a FORMAT file's bytes. Of a newer version it reads
// only the version, which check then refuses.
func decodeFormat(b []byte) (Format, error) {
	if len(b) < 16 || string(b[:8]) != formatMagic {
		return Format{}, fmt.Errorf("not a FORMAT file (%d bytes): %w", len(b), ErrCorruption)
	}
	n := len(b) - 4
	if record.Checksum(b[:n]) != binary.LittleEndian.Uint32(b[n:]) {
		return Format{}, fmt.Errorf("checksum mismatch: %w", ErrCorruption)
	}
	f := Format{Version: binary.LittleEndian.Uint32(b[8:])}
	switch {
	case f.Version > FormatVersion:
		return f, nil
	case f.Version == 0 || len(b) != formatSize:
		return Format{}, fmt.Errorf("version %d in %d bytes: %w", f.Version, len(b), ErrCorruption)
	}
	f.Layout = binary.LittleEndian.Uint32(b[12:])
	return f, nil
}

// readFormat reads dir's FORMAT file; ok is false when there is none.
func readFormat(dir string) (f Format, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, formatName))
	if errors.Is(err, fs.ErrNotExist) {
		return Format{}, false, nil
	}
	if err != nil {
		return Format{}, false, fmt.Errorf("engine: %w", err)
	}
	if f, err = decodeFormat(b); err != nil {
		return Format{}, false, fmt.Errorf("engine: data directory %s: %s: %w", dir, formatName, err)
	}
	return f, true, nil
}

// holdsData reports whether dir holds a segment or hint file or a merge
// directory: whether it is a data directory even without a FORMAT file.
func holdsData(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, fmt.Errorf("engine: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if _, ok := parseSegName(name); ok {
			return true, nil
		}
		if _, ok := parseHintName(name); ok || name == mergeDirName {
			return true, nil
		}
	}
	return false, nil
}

// ReadFormat reads the format of the data directory dir without locking
// it. A directory with segments but no FORMAT file has Version 0. A
// directory with neither is not a data directory: the error wraps
// ErrFormat. A damaged FORMAT file's error wraps ErrCorruption.
func ReadFormat(dir string) (Format, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return Format{}, fmt.Errorf("engine: %w", err)
	}
	if !st.IsDir() {
		return Format{}, fmt.Errorf("engine: %s is not a directory", dir)
	}
	f, ok, err := readFormat(dir)
	if err != nil || ok {
		return f, err
	}
	data, err := holdsData(dir)
	if err != nil {
		return Format{}, err
	}
	if !data {
		return Format{}, formatErrorf("engine: %s is not a WalkerDB data directory (no FORMAT file)", dir)
	}
	return Format{}, nil
}

// openFormat checks dir's format for Open, or writes FORMAT when dir holds
// no data yet, and returns the layout version the directory records. The
// caller holds the directory's lock.
func openFormat(dir string, layout uint32) (uint32, error) {
	f, ok, err := readFormat(dir)
	if err != nil {
		return 0, err
	}
	if !ok {
		data, err := holdsData(dir)
		if err != nil {
			return 0, err
		}
		if !data {
			return layout, writeFormat(dir, Format{Version: FormatVersion, Layout: layout})
		}
	}
	if err := f.check("data directory "+dir, layout); err != nil {
		return 0, err
	}
	return f.Layout, nil
}

// writeFormat writes dir's FORMAT file atomically: a temporary file,
// synced, renamed into place, and the directory synced.
func writeFormat(dir string, f Format) error {
	path := filepath.Join(dir, formatName)
	if err := writeFileSync(path+".tmp", f.encode()); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	return nil
}

// Format is the directory's format, as read when it was opened.
func (d *Offline) Format() Format { return d.format }
