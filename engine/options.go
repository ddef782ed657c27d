package engine

import (
	"fmt"
	"math"
	"time"
)

// SyncMode says when writes reach the disk, named as Redis names appendfsync.
type SyncMode int

const (
	// SyncAlways fsyncs before a write returns. Concurrent writers share
	// fsyncs (group commit), so throughput grows with concurrency.
	SyncAlways SyncMode = iota
	// SyncEverySec fsyncs once a second in the background: a machine crash
	// loses at most about a second of writes; a process crash loses nothing.
	SyncEverySec
	// SyncNo leaves flushing to the operating system. A process crash still
	// loses nothing, since writes land in the page cache at once.
	SyncNo
)

func (m SyncMode) String() string {
	switch m {
	case SyncAlways:
		return "always"
	case SyncEverySec:
		return "everysec"
	case SyncNo:
		return "no"
	}
	return fmt.Sprintf("SyncMode(%d)", int(m))
}

// ParseSyncMode reads "always", "everysec" or "no".
func ParseSyncMode(s string) (SyncMode, error) {
	switch s {
	case "always":
		return SyncAlways, nil
	case "everysec":
		return SyncEverySec, nil
	case "no":
		return SyncNo, nil
	}
	return 0, fmt.Errorf("%w: sync mode %q: want always, everysec or no", ErrBadOptions, s)
}

// Limits on Options.
const (
	MinSegmentSize = 4 << 10
	MaxSegmentSize = math.MaxUint32 // offsets in the keydir are 32 bits
	maxRecordLimit = math.MaxUint32
)

// Options configures a DB. The zero value of every field means its default.
type Options struct {
	// Sync is when writes reach the disk. Zero: SyncAlways.
	Sync SyncMode
	// SegmentSize is the size at which the active segment is sealed and a
	// new one started. The active segment is preallocated at this size.
	// Zero: 64 MiB. Range: 4 KiB to 4 GiB-1.
	SegmentSize int64
	// ZeroAhead keeps the blocks just ahead of the writes to the active
	// segment written with zeros, in the background, so that an fsync
	// after a write writes the data alone, not the filesystem's journal
	// too: about 40% off each fdatasync on ext4 (package zeroahead). It is
	// for a DB synced after every write (SyncAlways, or SyncNo with Sync
	// called after each write, as walkerd's standalone appendfsync always
	// does), and costs up to zeroahead.Window bytes of writes ahead of the
	// data. Zero: off.
	ZeroAhead bool
	// MaxKeySize bounds key length in bytes. Zero: 64 KiB.
	MaxKeySize int
	// MaxValueSize bounds value length in bytes. Zero: 512 MiB, Redis's
	// proto-max-bulk-len, plus 16 bytes for what the data layer puts in
	// front of a Redis value (a string's type byte).
	MaxValueSize int
	// MergeRatio starts a merge in the background when dead bytes make up at
	// least this fraction of the sealed segments. Zero: never; merge on call.
	MergeRatio float64
	// MergeMinBytes is the least dead data worth an automatic merge.
	// Zero: 16 MiB.
	MergeMinBytes int64
	// MergeInterval is how often the automatic merge checks the ratio.
	// Zero: 10 s.
	MergeInterval time.Duration
	// Now is the clock by which Get, Lookup, Exists and Scan judge expiry
	// (View takes its own time). Zero: time.Now.
	Now func() time.Time
	// MergeNow is the clock by which merge drops expired records. Zero: Now.
	// walkerd sets it to its state machine's clock, the time of the newest
	// log entry applied, so that a node replaying an old log never drops a
	// key that the entries it replays still see.
	MergeNow func() time.Time
	// LayoutVersion is the version of the application's key layout stored
	// with the data (walkerd sets keyspace.LayoutVersion from
	// github.com/walkerdb/walkerdb/internal/keyspace). Open records it in a
	// new directory's FORMAT file and refuses a directory, and Restore a
	// stream, that records another non-zero one. Zero: not checked.
	LayoutVersion uint32
	// MergeProgress, when set, is called by the goroutine that runs a merge
	// as it reads the merge's input segments: done of total input bytes,
	// ending with done == total. It must be quick. Zero: no reports.
	MergeProgress func(done, total int64)
}

// DefaultOptions returns the options a zero Options stands for.
func DefaultOptions() Options {
	return Options{
		Sync:          SyncAlways,
		SegmentSize:   64 << 20,
		MaxKeySize:    64 << 10,
		MaxValueSize:  512<<20 + 16,
		MergeMinBytes: 16 << 20,
		MergeInterval: 10 * time.Second,
		Now:           time.Now,
	}
}

// withDefaults fills zero fields from DefaultOptions.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.SegmentSize == 0 {
		o.SegmentSize = d.SegmentSize
	}
	if o.MaxKeySize == 0 {
		o.MaxKeySize = d.MaxKeySize
	}
	if o.MaxValueSize == 0 {
		o.MaxValueSize = d.MaxValueSize
	}
	if o.MergeMinBytes == 0 {
		o.MergeMinBytes = d.MergeMinBytes
	}
	if o.MergeInterval == 0 {
		o.MergeInterval = d.MergeInterval
	}
	if o.Now == nil {
		o.Now = d.Now
	}
	if o.MergeNow == nil {
		o.MergeNow = o.Now
	}
	return o
}

// Validate reports the first setting out of range, wrapping ErrBadOptions.
// Zero fields are valid: they stand for their defaults.
func (o Options) Validate() error {
	o = o.withDefaults()
	switch {
	case o.Sync < SyncAlways || o.Sync > SyncNo:
		return fmt.Errorf("%w: sync mode %d", ErrBadOptions, o.Sync)
	case o.SegmentSize < MinSegmentSize || o.SegmentSize > MaxSegmentSize:
		return fmt.Errorf("%w: segment size %d: want %d to %d bytes", ErrBadOptions, o.SegmentSize, MinSegmentSize, int64(MaxSegmentSize))
	case o.MaxKeySize < 0 || int64(o.MaxKeySize) > maxRecordLimit/2:
		return fmt.Errorf("%w: max key size %d", ErrBadOptions, o.MaxKeySize)
	case o.MaxValueSize < 0 || int64(o.MaxValueSize) > maxRecordLimit/2:
		return fmt.Errorf("%w: max value size %d", ErrBadOptions, o.MaxValueSize)
	case o.MergeRatio < 0 || o.MergeRatio > 1 || math.IsNaN(o.MergeRatio):
		return fmt.Errorf("%w: merge ratio %v: want 0 (off) to 1", ErrBadOptions, o.MergeRatio)
	case o.MergeMinBytes < 0:
		return fmt.Errorf("%w: merge min bytes %d", ErrBadOptions, o.MergeMinBytes)
	case o.MergeInterval < 0:
		return fmt.Errorf("%w: merge interval %v", ErrBadOptions, o.MergeInterval)
	}
	return nil
}
