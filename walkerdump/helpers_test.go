package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/engine/enginetest"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// runCmd runs walkerdump in process with captured output.
func runCmd(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(append([]string{"walkerdump"}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

// mustRun runs walkerdump and fails unless it exits with want.
func mustRun(t testing.TB, want int, args ...string) string {
	t.Helper()
	out, errs, code := runCmd(t, args...)
	if code != want {
		t.Fatalf("walkerdump %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errs)
	}
	return out
}

var (
	// Expiry times far from the test's run, so no key changes state during it.
	farFuture = time.Now().Add(time.Hour).UnixMilli()
	farPast   = time.Now().Add(-time.Hour).UnixMilli()
)

// testOptions are the engine options of the test directories: 4 KiB
// segments, so there are many, each with a hint.
func testOptions() *engine.Options {
	return &engine.Options{SegmentSize: engine.MinSegmentSize, Sync: engine.SyncNo}
}

// makeDir writes a directory the way walkerd lays keys out: four
// databases, text and binary keys and values, overwrites, deletes, keys
// with a TTL and keys already expired, batches, an internal key and a key
// outside the layout. It closes the DB and writes every hint.
func makeDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	db, err := engine.Open(dir, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	key := func(i int) []byte {
		if i%10 == 7 {
			return keyspace.MetaKey(i%4, []byte{0xff, 0xfe, byte(i), 0x00, 'b'}) // not UTF-8
		}
		return keyspace.MetaKey(i%4, fmt.Appendf(nil, "user:%d", i))
	}
	for i := range 420 {
		k := key(i % 150)
		v := fmt.Appendf(nil, "value %d of key %d", i, i%150)
		if i%6 == 0 {
			v = append(v, 0x80, 0x00, 0xc3) // not UTF-8
		}
		var exp int64
		switch i % 13 {
		case 3:
			exp = farFuture
		case 5:
			exp = farPast
		}
		if err := db.PutWithExpiry(k, keyspace.EncodeString(v), exp); err != nil {
			t.Fatal(err)
		}
		if i%11 == 0 {
			if err := db.Delete(key((i * 7) % 150)); err != nil {
				t.Fatal(err)
			}
		}
		if i%30 == 0 {
			var b engine.Batch
			for j := range 4 {
				b.PutWithExpiry(keyspace.MetaKey(j, fmt.Appendf(nil, "batch:%d", i)), keyspace.EncodeString(fmt.Appendf(nil, "batch %d member %d", i, j)), exp)
			}
			b.Delete(key((i + 1) % 150))
			b.SetSeq(uint64(1000 + i))
			if err := db.Write(&b); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.Put(keyspace.MemberKey([]byte("1")), []byte("127.0.0.1:6379")); err != nil {
		t.Fatal(err)
	}
	if err := db.Put([]byte{0x40, 'x'}, []byte("not in walkerd's layout")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	mustRun(t, 0, "hint", dir)
	return dir
}

// engineContents opens dir with the engine and reads every key, expired
// ones included.
func engineContents(t testing.TB, dir string) map[string]enginetest.KV {
	t.Helper()
	db, err := engine.Open(dir, testOptions())
	if err != nil {
		t.Fatalf("engine.Open: %v", err)
	}
	defer db.Close()
	items, _, err := db.Scan(engine.ScanOptions{IncludeExpired: true})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]enginetest.KV{}
	for _, it := range items {
		m[string(it.Key)] = enginetest.KV{Value: string(it.Value), ExpireAt: it.ExpireAt}
	}
	return m
}

// damage is one way to damage a directory on purpose (with the builders
// of enginetest), as the tests of verify and recover share them.
type damage struct {
	name string
	// apply damages dir, whose undamaged records are segs, and returns
	// which record bytes it destroyed (nil: none) and a text verify must
	// print to name the place.
	apply func(t *testing.T, dir string, segs [][]enginetest.Record) (lost enginetest.Lost, place string)
	// verifyExit is verify's exit code on the damaged directory.
	verifyExit int
	// merged: an interrupted merge is finished, dropping expired keys.
	merged bool
	// loses: the damage destroys the newest value of some key, so the
	// comparison after recover shows that lost records are not invented.
	loses bool
}

func damages() []damage {
	return []damage{
		{name: "cut tail of a sealed segment", verifyExit: exitProblems,
			apply: func(t *testing.T, dir string, segs [][]enginetest.Record) (enginetest.Lost, string) {
				r := segs[1][len(segs[1])-2]
				return enginetest.CutTail(t, dir, 1, r.Off+r.Size/2), fmt.Sprintf("segment 2 offset %d", r.Off)
			}},
		{name: "cut tail of the active segment", verifyExit: exitProblems, loses: true,
			apply: func(t *testing.T, dir string, segs [][]enginetest.Record) (enginetest.Lost, string) {
				last := len(segs) - 1
				r := segs[last][len(segs[last])-1]
				return enginetest.CutTail(t, dir, last, r.Off+r.Size-3), fmt.Sprintf("segment %d offset %d", last+1, r.Off)
			}},
		{name: "flipped bytes in the middle of segments", verifyExit: exitProblems, loses: true,
			apply: func(t *testing.T, dir string, segs [][]enginetest.Record) (enginetest.Lost, string) {
				a := enginetest.LiveRecord(t, segs, 5)
				plain := enginetest.PlainRecords(segs[2])
				b := segs[2][plain[len(plain)-3]]
				c := segs[4][enginetest.PlainRecords(segs[4])[1]]
				return enginetest.Flip(t, dir,
					enginetest.Region{Seg: 5, From: a.Off + a.Size - 3, To: a.Off + a.Size - 1}, // in a value
					enginetest.Region{Seg: 2, From: b.Off + 5, To: b.Off + 6},                   // a key length
					enginetest.Region{Seg: 4, From: c.Off, To: c.Off + 2*c.Size},                // a record and its neighbour
				), fmt.Sprintf("segment 6 offset %d", a.Off)
			}},
		{name: "damaged batch commit", verifyExit: exitProblems, loses: true,
			apply: func(t *testing.T, dir string, segs [][]enginetest.Record) (enginetest.Lost, string) {
				b, lost := enginetest.BatchCommit(t, dir, segs)
				return lost, fmt.Sprintf("segment %d offset %d", b.Seg+1, b.From)
			}},
		{name: "corrupt hint", verifyExit: exitProblems,
			apply: func(t *testing.T, dir string, segs [][]enginetest.Record) (enginetest.Lost, string) {
				enginetest.CorruptHint(t, dir, 1)
				return nil, "segment 1 hint: corrupt"
			}},
		{name: "flipped byte behind a valid hint", verifyExit: exitProblems, loses: true,
			apply: func(t *testing.T, dir string, segs [][]enginetest.Record) (enginetest.Lost, string) {
				// walkerd loads this segment from its hint without reading
				// the record: only verify's CRC check sees the damage.
				r := enginetest.LiveRecord(t, segs, 6)
				return enginetest.Flip(t, dir, enginetest.Region{Seg: 6, From: r.Off + r.Size - 1, To: r.Off + r.Size}),
					fmt.Sprintf("segment 7 offset %d", r.Off)
			}},
		{name: "hint that disagrees with its segment", verifyExit: exitProblems,
			apply: func(t *testing.T, dir string, segs [][]enginetest.Record) (enginetest.Lost, string) {
				enginetest.WrongHint(t, dir, segs, 2)
				return nil, "segment 3 hint: mismatch"
			}},
		{name: "deleted hint", verifyExit: exitOK,
			apply: func(t *testing.T, dir string, segs [][]enginetest.Record) (enginetest.Lost, string) {
				enginetest.DeleteHint(t, dir, 2)
				return nil, "warning: segment 2 hint: missing"
			}},
		{name: "stray temporary file", verifyExit: exitProblems,
			apply: func(t *testing.T, dir string, segs [][]enginetest.Record) (enginetest.Lost, string) {
				return nil, enginetest.StrayTemp(t, dir, enginetest.HintName(3))
			}},
		{name: "uncommitted merge directory", verifyExit: exitProblems,
			apply: func(t *testing.T, dir string, segs [][]enginetest.Record) (enginetest.Lost, string) {
				enginetest.UncommittedMerge(t, dir)
				return nil, "merge/: interrupted merge, not committed"
			}},
		{name: "committed merge, half installed", verifyExit: exitProblems, merged: true,
			apply: func(t *testing.T, dir string, segs [][]enginetest.Record) (enginetest.Lost, string) {
				enginetest.InterruptMerge(t, dir, func(dir string) error {
					db, err := engine.Open(dir, testOptions())
					if err != nil {
						return err
					}
					if err := db.Merge(); err != nil {
						db.Close()
						return err
					}
					return db.Close()
				})
				return nil, "merge/DONE: interrupted merge past its commit point"
			}},
	}
}

// holdLock opens dir with the engine, as a running walkerd holds it, until
// the test ends.
func holdLock(t testing.TB, dir string) {
	t.Helper()
	db, err := engine.Open(dir, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
}
