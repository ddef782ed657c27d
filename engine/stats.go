package engine

import (
	"os"
	"path/filepath"
	"time"

	"github.com/walkerdb/walkerdb/engine/keydir"
)

// FsyncBuckets is how many latency bounds Stats.FsyncUnder has.
const FsyncBuckets = 16

// FsyncBound is the i-th fsync latency bound: 16 µs << i, from 16 µs to
// 524 ms.
func FsyncBound(i int) time.Duration { return 16 * time.Microsecond << i }

// SegmentStats describes one segment file.
type SegmentStats struct {
	ID        uint32
	Bytes     int64 // bytes of records
	LiveBytes int64 // bytes of records the keydir points at
	DeadBytes int64 // overwritten, deleted and tombstone bytes: merge reclaims them
	Active    bool
	Hint      bool // a hint file exists
}

// Stats is a snapshot of the DB's size and health.
type Stats struct {
	Keys         int
	Seq          uint64
	Segments     []SegmentStats // in id order
	Bytes        int64
	LiveBytes    int64
	DeadBytes    int64
	GarbageRatio float64 // DeadBytes / Bytes
	IndexBytes   int64   // estimated keydir memory, keys included
	Fsyncs       int64   // fsyncs run for SyncAlways writers and Sync
	Merges       int64   // merges completed since Open
	MergeError   string  // the last automatic merge's failure, if any

	// FsyncTime is the Fsyncs' total duration; FsyncUnder[i] counts
	// those that took less than FsyncBound(i) (cumulative, as
	// Prometheus's histogram buckets).
	FsyncTime  time.Duration
	FsyncUnder [FsyncBuckets]int64
}

// Stats returns the DB's current statistics.
func (db *DB) Stats() (Stats, error) {
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return Stats{}, ErrClosed
	}
	st := Stats{Keys: db.kd.Len(), Seq: db.seq, Merges: db.merges}
	if db.mergeErr != nil {
		st.MergeError = db.mergeErr.Error()
	}
	st.IndexBytes = db.kd.KeyBytes() + int64(st.Keys)*keydir.MemoryPerKey
	ids := make([]uint32, 0, len(db.segs))
	for id := range db.segs {
		ids = append(ids, id)
	}
	sortIDs(ids)
	for _, id := range ids {
		s := db.segs[id]
		ss := SegmentStats{ID: id, Bytes: s.size, LiveBytes: s.live, DeadBytes: s.size - s.live, Active: s == db.active}
		st.Segments = append(st.Segments, ss)
		st.Bytes += ss.Bytes
		st.LiveBytes += ss.LiveBytes
		st.DeadBytes += ss.DeadBytes
	}
	db.mu.RUnlock()
	for i := range st.Segments {
		_, err := os.Stat(filepath.Join(db.dir, hintName(st.Segments[i].ID)))
		st.Segments[i].Hint = err == nil
	}
	if st.Bytes > 0 {
		st.GarbageRatio = float64(st.DeadBytes) / float64(st.Bytes)
	}
	db.gc.mu.Lock()
	st.Fsyncs = db.gc.fsyncs
	st.FsyncTime = db.gc.fsyncTime
	var n int64
	for i := range FsyncBuckets {
		n += db.gc.fsyncUnder[i]
		st.FsyncUnder[i] = n
	}
	db.gc.mu.Unlock()
	return st, nil
}
