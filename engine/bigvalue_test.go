package engine

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine/enginetest"
	"github.com/walkerdb/walkerdb/engine/record"
)

// rssFile is the process's resident file-backed memory (RssFile in
// /proc/self/status), in bytes: the segments' mapped pages.
func rssFile(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status:", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "RssFile:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Skip("no RssFile in /proc/self/status")
	return 0
}

func bigValue(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// Large values are written, read, sealed, hinted, merged and loaded without
// their pages staying in the process's resident set (bigRecord), and every
// path still checks their checksums.
func TestDB_LargeValuesStayOutOfTheResidentSet(t *testing.T) {
	const size = 24 << 20
	db, dir := openTest(t, &Options{SegmentSize: 8 << 20, Sync: SyncNo, MergeRatio: 0})
	vals := map[string][]byte{}
	before := rssFile(t)
	for i := range 3 {
		k := fmt.Sprintf("big%d", i)
		vals[k] = bigValue(uint64(i+1), size)
		if err := db.Put([]byte(k), vals[k]); err != nil {
			t.Fatal(err)
		}
		mustPut(t, db, fmt.Sprintf("small%d", i), "s") // seals the big one's segment
	}
	for k, want := range vals {
		got, err := db.Get([]byte(k))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("Get(%s): %d bytes, %v; want the %d written", k, len(got), err, len(want))
		}
	}
	// 72 MB written and read: through the mapping, RssFile would grow by
	// at least that much.
	if grew := rssFile(t) - before; grew > 8<<20 {
		t.Fatalf("RssFile grew by %d bytes after writing and reading 3 values of %d", grew, size)
	}
	nsegs := len(enginetest.Files(t, dir, ".seg"))
	waitFor(t, "hints for every sealed segment", 10*time.Second, func() bool {
		return len(enginetest.Files(t, dir, ".hint")) == nsegs-1
	})

	// A merge copies the live big values and drops the overwritten one.
	vals["big0"] = bigValue(9, size)
	if err := db.Put([]byte("big0"), vals["big0"]); err != nil {
		t.Fatal(err)
	}
	mustPut(t, db, "small9", "s")
	if err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	db = reopen(t, db, nil)
	for k, want := range vals {
		got, err := db.Get([]byte(k))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("after merge and reopen, Get(%s): %d bytes, %v", k, len(got), err)
		}
	}
	db.Close()

	// Without hints the keys are loaded by scanning, which verifies a big
	// record's checksum chunk by chunk: one flipped byte deep inside a
	// value fails the open.
	for _, h := range enginetest.Files(t, dir, ".hint") {
		os.Remove(h)
	}
	db2, err := Open(dir, &Options{SegmentSize: 8 << 20, Sync: SyncNo, MergeRatio: 0})
	if err != nil {
		t.Fatalf("open by scanning: %v", err)
	}
	mustGet(t, db2, "small1", "s")
	if got, err := db2.Get([]byte("big2")); err != nil || !bytes.Equal(got, vals["big2"]) {
		t.Fatalf("Get(big2) after a scan: %d bytes, %v", len(got), err)
	}
	db2.Close()
	for _, h := range enginetest.Files(t, dir, ".hint") {
		os.Remove(h)
	}
	var target string
	for _, s := range enginetest.Files(t, dir, ".seg") {
		if fi, _ := os.Stat(s); fi.Size() > size {
			target = s
			break
		}
	}
	off := int64(record.HeaderSize + len("big0") + size/2)
	enginetest.FlipBytes(t, target, off, off+1)
	if _, err := Open(dir, &Options{SegmentSize: 8 << 20, Sync: SyncNo, MergeRatio: 0}); !errors.Is(err, ErrCorruption) {
		t.Fatalf("open of a segment with a big value damaged in its middle: %v, want ErrCorruption", err)
	}
}
