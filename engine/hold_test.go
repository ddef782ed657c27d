package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// crashImage copies dir as it is on disk now, as a crash of the process
// would leave it (the page cache survives), and opens the copy. A file
// gone between the listing and its copy (a hint file's .tmp the
// background writer renamed meanwhile) is left out, as a crash just
// after the rename would not have it under that name either.
func crashImage(t *testing.T, dir string) *DB {
	t.Helper()
	img := filepath.Join(t.TempDir(), "img")
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(img, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(img, rel), b, 0o644)
	})
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	db, err := Open(img, &Options{SegmentSize: 16 << 10, Sync: SyncNo})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustAbsent(t *testing.T, db *DB, k string) {
	t.Helper()
	if v, err := db.Get([]byte(k)); err == nil {
		t.Fatalf("Get(%q) = %q, want absent", k, v)
	}
}

func writeHeld(t *testing.T, db *DB, kv ...string) {
	t.Helper()
	var b Batch
	for i := 0; i < len(kv); i += 2 {
		b.Put([]byte(kv[i]), []byte(kv[i+1]))
	}
	b.Hold()
	if err := db.Write(&b); err != nil {
		t.Fatal(err)
	}
}

// A held batch (Batch.Hold) is read at once, from the write buffer, by
// every reader: Get, Lookup, an iterator's Value. It reaches the file
// only at Flush: a crash image taken before holds the value from before.
func TestHold_HeldWritesAreReadAtOnceAndReachTheFileAtFlush(t *testing.T) {
	db, dir := openTest(t, nil)
	mustPut(t, db, "a", "1")
	writeHeld(t, db, "a", "2", "b", "3")

	mustGet(t, db, "a", "2")
	mustGet(t, db, "b", "3")
	if m, err := db.Lookup([]byte("b")); err != nil || m.ValueLen != 1 {
		t.Fatalf("Lookup(b) = %+v, %v", m, err)
	}
	got := map[string]string{}
	db.View(0, func(v *View) error {
		it := v.Iter(IterOptions{})
		defer it.Close()
		for ok := it.First(); ok; ok = it.Next() {
			val, err := it.Value()
			if err != nil {
				t.Fatal(err)
			}
			got[string(it.Key())] = string(val)
		}
		return it.Err()
	})
	if fmt.Sprint(got) != "map[a:2 b:3]" {
		t.Fatalf("iterator read %v, want a:2 b:3", got)
	}

	before := crashImage(t, dir)
	mustGet(t, before, "a", "1")
	mustAbsent(t, before, "b")

	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	after := crashImage(t, dir)
	mustGet(t, after, "a", "2")
	mustGet(t, after, "b", "3")
}

// Whatever writes the file next writes the held records first: a write
// that is not held, Sync, the segment's rotation, Close; and a held write
// flushes once held records pass heldMax.
func TestHold_HeldRecordsReachTheFileWithWhateverWritesNext(t *testing.T) {
	for _, c := range []struct {
		name string
		then func(t *testing.T, db *DB) *DB
	}{
		{"a write not held", func(t *testing.T, db *DB) *DB { mustPut(t, db, "z", "z"); return db }},
		{"Sync", func(t *testing.T, db *DB) *DB {
			if err := db.Sync(); err != nil {
				t.Fatal(err)
			}
			return db
		}},
		{"rotation", func(t *testing.T, db *DB) *DB {
			// 16 KiB segments: a 20 KiB value rotates the active one.
			writeHeld(t, db, "big", string(make([]byte, 20<<10)))
			if db.active.id == 1 {
				t.Fatal("the segment did not rotate")
			}
			return db
		}},
		{"Close", func(t *testing.T, db *DB) *DB { return reopen(t, db, nil) }},
		{"heldMax", func(t *testing.T, db *DB) *DB {
			for i := 0; len(db.active.wb) > 0 && i < 2*heldMax/100; i++ {
				writeHeld(t, db, fmt.Sprintf("fill%d", i), string(make([]byte, 80)))
			}
			if len(db.active.wb) > 0 {
				t.Fatalf("%d bytes still held past heldMax", len(db.active.wb))
			}
			return db
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := &Options{SegmentSize: 16 << 10, Sync: SyncNo}
			if c.name == "heldMax" {
				o.SegmentSize = 4 * heldMax
			}
			dir := t.TempDir()
			db, err := Open(dir, o)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			writeHeld(t, db, "k", "held")
			if len(db.active.wb) == 0 {
				t.Fatal("the held write was not held")
			}
			db = c.then(t, db)
			img := crashImage(t, dir)
			mustGet(t, img, "k", "held")
		})
	}
}

// SyncAlways promises each Write durable when it returns: a held one is
// written and synced as any other.
func TestHold_SyncAlwaysDoesNotHold(t *testing.T) {
	db, dir := openTest(t, &Options{SegmentSize: 16 << 10, Sync: SyncAlways})
	writeHeld(t, db, "k", "v")
	if len(db.active.wb) != 0 {
		t.Fatal("SyncAlways left a held write buffered")
	}
	mustGet(t, crashImage(t, dir), "k", "v")
}
