package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/engine/record"
)

// writeFormatFile writes a FORMAT file of any version and layout, as a
// newer or older build would.
func writeFormatFile(t testing.TB, dir string, version, layout uint32) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, formatName), Format{Version: version, Layout: layout}.encode(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readFormatFile reads dir's FORMAT, failing the test if it is missing.
func readFormatFile(t testing.TB, dir string) Format {
	t.Helper()
	f, ok, err := readFormat(dir)
	if err != nil || !ok {
		t.Fatalf("FORMAT of %s: ok %v, %v", dir, ok, err)
	}
	return f
}

// dirWithData makes a closed data directory holding a few keys, created
// with layout.
func dirWithData(t testing.TB, layout uint32) string {
	t.Helper()
	dir := t.TempDir()
	db, err := Open(dir, &Options{SegmentSize: 16 << 10, Sync: SyncNo, LayoutVersion: layout})
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, db, "a", "1")
	mustPut(t, db, "b", "2")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// wantFormatError fails unless err wraps ErrFormat and names every part.
func wantFormatError(t testing.TB, what string, err error, parts ...string) {
	t.Helper()
	if !errors.Is(err, ErrFormat) {
		t.Fatalf("%s: %v, want ErrFormat", what, err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %q does not name %q", what, err, p)
		}
	}
}

func TestFormat_MatchesTheDocumentedLayout(t *testing.T) {
	got := Format{Version: 1, Layout: 0x01020304}.encode()
	want := []byte("WALKERDB\x01\x00\x00\x00\x04\x03\x02\x01")
	want = binary.LittleEndian.AppendUint32(want, record.Checksum(want))
	if !bytes.Equal(got, want) || len(got) != formatSize {
		t.Fatalf("FORMAT bytes\n got %x\nwant %x", got, want)
	}
	f, err := decodeFormat(got)
	if err != nil || f != (Format{Version: 1, Layout: 0x01020304}) {
		t.Fatalf("decode: %+v, %v", f, err)
	}
}

func TestOpen_WritesFormatInANewDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	db, err := Open(dir, &Options{Sync: SyncNo, LayoutVersion: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if f := readFormatFile(t, dir); f != (Format{Version: FormatVersion, Layout: 7}) {
		t.Fatalf("FORMAT %+v, want version %d layout 7", f, FormatVersion)
	}
	if _, err := os.Stat(filepath.Join(dir, formatName+".tmp")); !os.IsNotExist(err) {
		t.Fatalf("FORMAT.tmp left behind: %v", err)
	}
}

func TestOpen_KeepsFormatAcrossReopens(t *testing.T) {
	dir := dirWithData(t, 3)
	before, _ := os.ReadFile(filepath.Join(dir, formatName))
	for _, layout := range []uint32{3, 0} { // 0: not checked
		db, err := Open(dir, &Options{Sync: SyncNo, LayoutVersion: layout})
		if err != nil {
			t.Fatalf("reopen with layout %d: %v", layout, err)
		}
		mustGet(t, db, "a", "1")
		db.Close()
	}
	if after, _ := os.ReadFile(filepath.Join(dir, formatName)); !bytes.Equal(before, after) {
		t.Fatalf("FORMAT changed on reopen: %x, then %x", before, after)
	}
}

func TestOpen_RefusesANewerFormatNamingBothVersions(t *testing.T) {
	dir := dirWithData(t, 0)
	writeFormatFile(t, dir, FormatVersion+1, 0)
	_, err := Open(dir, nil)
	wantFormatError(t, "Open of a newer directory", err, dir, "format version 2", "this build reads format version 1")
	// Even a newer FORMAT of another length: only magic, version and crc
	// are where every version puts them.
	b := []byte("WALKERDB\x09\x00\x00\x00 more fields of version 9")
	b = binary.LittleEndian.AppendUint32(b, record.Checksum(b))
	os.WriteFile(filepath.Join(dir, formatName), b, 0o644)
	_, err = Open(dir, nil)
	wantFormatError(t, "Open of a version 9 directory", err, "format version 9", "format version 1")
}

func TestOpen_RefusesADirectoryWrittenBeforeFormatVersions(t *testing.T) {
	dir := dirWithData(t, 0)
	os.Remove(filepath.Join(dir, formatName))
	segs := segFiles(t, dir, segExt)
	_, err := Open(dir, nil)
	wantFormatError(t, "Open of a pre-format directory", err, dir, "format version 0", "written before format versions", "format version 1")
	if _, err := os.Stat(filepath.Join(dir, formatName)); !os.IsNotExist(err) {
		t.Fatalf("Open wrote FORMAT into a pre-format directory: %v", err)
	}
	if got := segFiles(t, dir, segExt); len(got) != len(segs) {
		t.Fatalf("Open changed the segments: %v, then %v", segs, got)
	}
}

func TestOpen_RefusesADamagedFormat(t *testing.T) {
	good := Format{Version: FormatVersion, Layout: 1}.encode()
	flipped := append([]byte(nil), good...)
	flipped[13] ^= 0x01
	zeroVersion := Format{Version: 0, Layout: 1}.encode()
	for name, data := range map[string][]byte{
		"empty":        nil,
		"cut short":    good[:formatSize-1],
		"flipped bit":  flipped,
		"other magic":  append([]byte("WALKERDC"), good[8:]...),
		"version 0":    zeroVersion,
		"extra bytes":  append(append([]byte(nil), good...), 0),
		"text instead": []byte("walkerdb 1 1\n"),
	} {
		t.Run(name, func(t *testing.T) {
			dir := dirWithData(t, 1)
			os.WriteFile(filepath.Join(dir, formatName), data, 0o644)
			_, err := Open(dir, &Options{LayoutVersion: 1})
			if !errors.Is(err, ErrCorruption) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), formatName) {
				t.Fatalf("Open with a damaged FORMAT: %v, want ErrCorruption naming %s and FORMAT", err, dir)
			}
			if _, err := OpenOffline(dir, nil); !errors.Is(err, ErrCorruption) {
				t.Fatalf("OpenOffline with a damaged FORMAT: %v, want ErrCorruption", err)
			}
		})
	}
}

func TestOpen_RefusesAnotherLayout(t *testing.T) {
	dir := dirWithData(t, 1)
	_, err := Open(dir, &Options{LayoutVersion: 2})
	wantFormatError(t, "Open with another layout", err, dir, "key layout version 1", "key layout version 2")
	_, err = OpenOffline(dir, &Options{LayoutVersion: 2})
	wantFormatError(t, "OpenOffline with another layout", err, "key layout version 1", "key layout version 2")
}

func TestOpen_ALayoutOfZeroOnEitherSideIsNotChecked(t *testing.T) {
	dir := dirWithData(t, 0) // a directory that records no layout
	db, err := Open(dir, &Options{Sync: SyncNo, LayoutVersion: 5})
	if err != nil {
		t.Fatalf("Open with layout 5 of a directory without one: %v", err)
	}
	db.Close()
	if f := readFormatFile(t, dir); f.Layout != 0 {
		t.Fatalf("Open rewrote the layout to %d", f.Layout)
	}
}

func TestOpenOffline_RefusesANonDataDirectoryWithoutALockFile(t *testing.T) {
	parent := t.TempDir()
	data := filepath.Join(parent, "data")
	db, err := Open(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	os.WriteFile(filepath.Join(parent, "notes.txt"), []byte("hello"), 0o644)
	_, err = OpenOffline(parent, nil)
	wantFormatError(t, "OpenOffline of the parent", err, parent, "not a WalkerDB data directory")
	if _, err := os.Stat(filepath.Join(parent, lockName)); !os.IsNotExist(err) {
		t.Fatalf("OpenOffline left a LOCK file in the parent: %v", err)
	}
	if _, err := ReadFormat(parent); !errors.Is(err, ErrFormat) {
		t.Fatalf("ReadFormat of the parent: %v, want ErrFormat", err)
	}
}

func TestOpenOffline_ReadsFormatAndAcceptsAPreFormatDirectory(t *testing.T) {
	dir := dirWithData(t, 4)
	d, err := OpenOffline(dir, &Options{LayoutVersion: 4})
	if err != nil {
		t.Fatal(err)
	}
	if f := d.Format(); f != (Format{Version: FormatVersion, Layout: 4}) {
		t.Fatalf("Format() = %+v", f)
	}
	d.Close()

	os.Remove(filepath.Join(dir, formatName))
	d, err = OpenOffline(dir, &Options{LayoutVersion: 4})
	if err != nil {
		t.Fatalf("OpenOffline of a pre-format directory: %v", err)
	}
	defer d.Close()
	if f := d.Format(); f != (Format{}) {
		t.Fatalf("Format() of a pre-format directory = %+v, want version 0", f)
	}
	l, err := d.Layout()
	if err != nil || len(l.Others) != 0 {
		t.Fatalf("Layout: others %v, %v", l.Others, err)
	}
}

func TestOpenOffline_RefusesANewerFormat(t *testing.T) {
	dir := dirWithData(t, 0)
	os.Remove(filepath.Join(dir, lockName))
	writeFormatFile(t, dir, FormatVersion+1, 0)
	_, err := OpenOffline(dir, nil)
	wantFormatError(t, "OpenOffline of a newer directory", err, dir, "format version 2", "format version 1")
	if _, err := os.Stat(filepath.Join(dir, lockName)); !os.IsNotExist(err) {
		t.Fatalf("OpenOffline took the lock of a directory it refused: %v", err)
	}
}

// checkpointBytes streams a checkpoint of db.
func checkpointBytes(t testing.TB, db *DB) []byte {
	t.Helper()
	cp, err := db.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	var b bytes.Buffer
	if _, err := cp.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withHeader returns stream with its header's version, format and layout
// replaced and its header crc made good again.
func withHeader(stream []byte, version, format, layout uint32) []byte {
	s := append([]byte(nil), stream...)
	binary.LittleEndian.PutUint32(s[8:], version)
	binary.LittleEndian.PutUint32(s[20:], format)
	binary.LittleEndian.PutUint32(s[24:], layout)
	binary.LittleEndian.PutUint32(s[28:], record.Checksum(s[:28]))
	return s
}

func TestCheckpoint_RestoreKeepsTheFormat(t *testing.T) {
	db, err := Open(t.TempDir(), &Options{SegmentSize: 16 << 10, Sync: SyncNo, LayoutVersion: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustPut(t, db, "k", "v")
	stream := checkpointBytes(t, db)

	dir := filepath.Join(t.TempDir(), "restored")
	if _, err := Restore(bytes.NewReader(stream), dir, 5); err != nil {
		t.Fatal(err)
	}
	if f := readFormatFile(t, dir); f != (Format{Version: FormatVersion, Layout: 5}) {
		t.Fatalf("restored FORMAT %+v, want version %d layout 5", f, FormatVersion)
	}
	r, err := Open(dir, &Options{Sync: SyncNo, LayoutVersion: 5})
	if err != nil {
		t.Fatal(err)
	}
	mustGet(t, r, "k", "v")
	// A checkpoint of the restored DB carries the layout on, though this
	// Open did not name one.
	r.Close()
	r, err = Open(dir, &Options{Sync: SyncNo})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	again := checkpointBytes(t, r)
	if seq, err := StreamSeq(bytes.NewReader(again), 6); !errors.Is(err, ErrFormat) {
		t.Fatalf("StreamSeq(6) of a layout 5 stream: %d, %v; want ErrFormat", seq, err)
	}
}

func TestRestore_RefusesAnotherLayoutAndLeavesNothing(t *testing.T) {
	db, _ := openTest(t, &Options{SegmentSize: 16 << 10, Sync: SyncNo, LayoutVersion: 1})
	mustPut(t, db, "k", "v")
	stream := checkpointBytes(t, db)
	parent := t.TempDir()
	_, err := Restore(bytes.NewReader(stream), filepath.Join(parent, "data"), 2)
	wantFormatError(t, "Restore(2) of a layout 1 stream", err, "checkpoint stream", "key layout version 1", "key layout version 2")
	_, err = StreamSeq(bytes.NewReader(stream), 2)
	wantFormatError(t, "StreamSeq(2) of a layout 1 stream", err, "key layout version 1", "key layout version 2")
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Fatalf("a refused restore left %v", entries)
	}
	for _, layout := range []uint32{0, 1} {
		if _, err := StreamSeq(bytes.NewReader(stream), layout); err != nil {
			t.Fatalf("StreamSeq(%d): %v", layout, err)
		}
	}
}

func TestRestore_RefusesANewerStream(t *testing.T) {
	db, _ := openTest(t, nil)
	mustPut(t, db, "k", "v")
	stream := checkpointBytes(t, db)
	for _, c := range []struct {
		name   string
		stream []byte
		parts  []string
	}{
		{"newer stream version", withHeader(stream, streamVersion+1, FormatVersion, 0), []string{"stream version 3", "this build reads stream version 2"}},
		{"newer format version", withHeader(stream, streamVersion, FormatVersion+1, 0), []string{"format version 2", "this build reads format version 1"}},
		{"stream version 1", []byte("WALKERCP\x01\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00\x00"), []string{"stream version 1", "written before format versions", "stream version 2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			parent := t.TempDir()
			_, err := Restore(bytes.NewReader(c.stream), filepath.Join(parent, "data"), 0)
			wantFormatError(t, "Restore", err, c.parts...)
			_, err = StreamSeq(bytes.NewReader(c.stream), 0)
			wantFormatError(t, "StreamSeq", err, c.parts...)
			if entries, _ := os.ReadDir(parent); len(entries) != 0 {
				t.Fatalf("a refused restore left %v", entries)
			}
		})
	}
}

func TestRestore_ADamagedHeaderIsCorruption(t *testing.T) {
	db, _ := openTest(t, nil)
	mustPut(t, db, "k", "v")
	stream := checkpointBytes(t, db)
	for _, at := range []int{12, 20, 24, 28} { // seq, format, layout, crc
		bad := append([]byte(nil), stream...)
		bad[at] ^= 0x10
		if _, err := Restore(bytes.NewReader(bad), filepath.Join(t.TempDir(), "data"), 0); !errors.Is(err, ErrCorruption) {
			t.Errorf("byte %d flipped: Restore %v, want ErrCorruption", at, err)
		}
		if _, err := StreamSeq(bytes.NewReader(bad), 0); !errors.Is(err, ErrCorruption) {
			t.Errorf("byte %d flipped: StreamSeq %v, want ErrCorruption", at, err)
		}
	}
	if _, err := Restore(bytes.NewReader(withHeader(stream, streamVersion, 0, 0)), filepath.Join(t.TempDir(), "data"), 0); !errors.Is(err, ErrCorruption) {
		t.Errorf("format version 0 in a stream: %v, want ErrCorruption", err)
	}
}
