package engine_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/walkerdb/walkerdb/engine"
)

// checkpointStream returns the checkpoint stream of a small DB: a few
// sealed segments with hints, overwrites and a delete.
func checkpointStream(tb testing.TB) []byte {
	tb.Helper()
	db, err := engine.Open(tb.TempDir(), &engine.Options{SegmentSize: 4096, Sync: engine.SyncNo})
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	for i := range 200 {
		if err := db.Put([]byte(fmt.Sprintf("k%03d", i%70)), bytes.Repeat([]byte{byte(i)}, 40)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := db.Delete([]byte("k001")); err != nil {
		tb.Fatal(err)
	}
	cp, err := db.Checkpoint()
	if err != nil {
		tb.Fatal(err)
	}
	defer cp.Close()
	var b bytes.Buffer
	if _, err := cp.WriteTo(&b); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// FuzzRestore feeds arbitrary bytes to engine.Restore, as a follower does
// with a snapshot from its leader. Restore must never panic; when it fails
// it must leave neither the target directory nor its temporary sibling
// behind; when it succeeds the directory must open (or fail to open with
// an error, never a panic) and read back without panicking.
func FuzzRestore(f *testing.F) {
	good := checkpointStream(f)
	f.Add(good)
	f.Add(good[:32])          // header only
	f.Add(good[:len(good)/2]) // cut in a file
	f.Add(good[:len(good)-1]) // end marker cut
	f.Add([]byte("WALKERCP\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	bad := append([]byte(nil), good...)
	bad[len(bad)/3] ^= 0xff // a flipped byte inside a file: CRC mismatch
	f.Add(bad)
	f.Add([]byte("WALKERCP\x01\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00\x0c\x00../../etc/x\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "data")
		seq, err := engine.Restore(bytes.NewReader(data), dir, 0)
		entries, _ := os.ReadDir(parent)
		if err != nil {
			if len(entries) != 0 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Fatalf("a failed restore (%v) left %v behind", err, names)
			}
			return
		}
		if len(entries) != 1 || entries[0].Name() != "data" {
			t.Fatalf("a restore left %v beside the data directory", entries)
		}
		db, err := engine.Open(dir, &engine.Options{Sync: engine.SyncNo})
		if err != nil {
			if !errors.Is(err, engine.ErrCorruption) {
				t.Logf("restored directory does not open: %v", err)
			}
			return
		}
		defer db.Close()
		if db.Seq() < seq && db.Len() > 0 {
			t.Logf("restored seq %d, opened seq %d", seq, db.Seq())
		}
		for i := range 70 {
			db.Get([]byte(fmt.Sprintf("k%03d", i)))
		}
	})
}
