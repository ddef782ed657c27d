package engine

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine/enginetest"
	"github.com/walkerdb/walkerdb/engine/zeroahead"
)

// With ZeroAhead the active segment's blocks are written a window ahead
// of its records, from a new segment's start and from a reopened one's
// end; a sealed segment stays trimmed to its records; and every record
// reads back. Without it they stay unwritten extents.
func TestZeroAhead_TheActiveSegmentIsZeroedAheadOfItsRecords(t *testing.T) {
	const seg = 8 << 20
	value := string(make([]byte, 1000))
	plain, pdir := openTest(t, &Options{SegmentSize: seg, Sync: SyncAlways})
	enginetest.SkipUnlessPreallocatedIsHole(t, pdir)
	mustPut(t, plain, "a", value)

	db, dir := openTest(t, &Options{SegmentSize: seg, Sync: SyncAlways, ZeroAhead: true})
	first := filepath.Join(dir, segName(1))
	waitFor(t, "zeros ahead of an empty segment", 10*time.Second, func() bool {
		return enginetest.WrittenEnd(t, first) >= zeroahead.Window
	})
	if got := enginetest.WrittenEnd(t, first); got > zeroahead.Window+zeroahead.Chunk {
		t.Fatalf("written blocks end at %d in an empty segment, more than a window and a chunk", got)
	}
	put := func(from, to int) {
		for i := from; i < to; i++ {
			mustPut(t, db, fmt.Sprintf("k%06d", i), fmt.Sprintf("%d%s", i, value))
		}
	}
	put(0, 2000) // about 2 MiB
	end := db.active.size
	waitFor(t, "zeros ahead of the records", 10*time.Second, func() bool {
		return enginetest.WrittenEnd(t, first) >= end+zeroahead.Window
	})
	put(2000, 9000) // past 8 MiB: a rotation
	if db.active.id == 1 {
		t.Fatal("no rotation")
	}
	sealed := db.segs[1].size
	second := filepath.Join(dir, segName(db.active.id))
	waitFor(t, "zeros ahead in the new segment", 10*time.Second, func() bool {
		return enginetest.WrittenEnd(t, second) >= db.active.size+zeroahead.Window
	})
	if db.segs[1].z != nil {
		t.Fatal("the sealed segment is still being zeroed")
	}
	if got := fileSize(t, first); got != sealed {
		t.Fatalf("sealed segment is %d bytes, its records %d", got, sealed)
	}

	db = reopen(t, db, nil)
	end = db.active.size
	mustPut(t, db, "after", "reopen")
	waitFor(t, "zeros ahead of a reopened segment", 10*time.Second, func() bool {
		return enginetest.WrittenEnd(t, second) >= end+zeroahead.Window
	})
	for i := 0; i < 9000; i += 97 {
		mustGet(t, db, fmt.Sprintf("k%06d", i), fmt.Sprintf("%d%s", i, value))
	}
	mustGet(t, db, "after", "reopen")

	if got := enginetest.WrittenEnd(t, filepath.Join(pdir, segName(1))); got >= zeroahead.Window {
		t.Fatalf("without ZeroAhead the written blocks end at %d", got)
	}
}
