package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine/enginetest"
)

// openTest opens a DB in a fresh directory with small segments, and checks
// on cleanup that it still agrees with itself after a close and reopen.
func openTest(t testing.TB, o *Options) (*DB, string) {
	t.Helper()
	dir := t.TempDir()
	if o == nil {
		o = &Options{SegmentSize: 16 << 10, Sync: SyncNo}
	}
	db, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, dir
}

func reopen(t testing.TB, db *DB, o *Options) *DB {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if o == nil {
		o = &db.opts
	}
	db2, err := Open(db.dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db2.Close() })
	return db2
}

func mustPut(t testing.TB, db *DB, k, v string) {
	t.Helper()
	if err := db.Put([]byte(k), []byte(v)); err != nil {
		t.Fatal(err)
	}
}

func mustGet(t testing.TB, db *DB, k, want string) {
	t.Helper()
	v, err := db.Get([]byte(k))
	if err != nil {
		t.Fatalf("Get(%q): %v, want %q", k, err, want)
	}
	if string(v) != want {
		t.Fatalf("Get(%q) = %q, want %q", k, v, want)
	}
}

func mustMiss(t testing.TB, db *DB, k string) {
	t.Helper()
	if v, err := db.Get([]byte(k)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(%q) = %q, %v; want ErrNotFound", k, v, err)
	}
}

// contents reads every key through Scan.
func contents(t testing.TB, db *DB) map[string]string {
	t.Helper()
	items, _, err := db.Scan(ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]string, len(items))
	for _, kv := range items {
		m[string(kv.Key)] = string(kv.Value)
	}
	return m
}

func sameContents(t testing.TB, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d keys, want %d", len(got), len(want))
	}
	var bad []string
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			bad = append(bad, fmt.Sprintf("%q: got %q (present %v), want %q", k, g, ok, v))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			bad = append(bad, fmt.Sprintf("%q: present, want absent", k))
		}
	}
	sort.Strings(bad)
	if len(bad) > 5 {
		bad = append(bad[:5], fmt.Sprintf("... and %d more", len(bad)-5))
	}
	for _, b := range bad {
		t.Error(b)
	}
}

// segFiles is enginetest.Files, under the name format_test.go uses.
func segFiles(t testing.TB, dir, ext string) []string { return enginetest.Files(t, dir, ext) }

// fakeClock is a settable clock for expiry tests.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// garbageDB opens a DB of several small segments holding overwritten and
// deleted keys, and returns what it should contain.
func garbageDB(t testing.TB) (*DB, string, map[string]string) {
	t.Helper()
	db, dir := openTest(t, &Options{SegmentSize: 4096, Sync: SyncNo})
	want := map[string]string{}
	for i := range 600 {
		k, v := fmt.Sprintf("k%03d", i%150), fmt.Sprintf("v%d", i)
		mustPut(t, db, k, v)
		want[k] = v
	}
	for i := 0; i < 150; i += 3 {
		db.Delete([]byte(fmt.Sprintf("k%03d", i)))
		delete(want, fmt.Sprintf("k%03d", i))
	}
	return db, dir, want
}

// mergeUpToOutputs runs a merge's first steps by hand, as far as its
// outputs written in dir/merge and no further: what a crash before the
// commit point leaves. The caller holds db.mergeMu.
func mergeUpToOutputs(t testing.TB, db *DB, dir string) (mdir string, ids, outIDs []uint32) {
	t.Helper()
	inputs, ids, err := db.sealForMerge()
	if err != nil {
		t.Fatal(err)
	}
	mdir = filepath.Join(dir, mergeDirName)
	os.Mkdir(mdir, 0o755)
	outs, _, err := db.mergeWrite(mdir, inputs, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		outIDs = append(outIDs, o.id)
	}
	return mdir, ids, outIDs
}

// xorActive flips the bits of mask in the active segment's byte at off, as
// a bad disk would: through the file, since the mapping is read-only.
func xorActive(t *testing.T, db *DB, off int, mask byte) {
	t.Helper()
	b := []byte{db.active.buf[off] ^ mask}
	if _, err := db.active.f.WriteAt(b, int64(off)); err != nil {
		t.Fatal(err)
	}
}
