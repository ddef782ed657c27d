package engine

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// liveOptions are the options that can change while a DB is open (SetSync,
// SetMerge). Open copies them from Options; the write path and the
// background loops read them here, never from DB.opts.
type liveOptions struct {
	sync          atomic.Int32
	mergeRatio    atomic.Uint64 // math.Float64bits
	mergeMinBytes atomic.Int64
	mergeInterval atomic.Int64 // nanoseconds
	// mergeWake tells autoMergeLoop to rearm its timer with a new interval.
	mergeWake chan struct{}
	// everySecOn and mergeOn: everySecLoop and autoMergeLoop run. Each
	// starts when its setting first needs it and runs until Close. Set
	// under DB.mu (or in Open).
	everySecOn, mergeOn bool
}

// startLoops starts everySecLoop and autoMergeLoop if the settings in
// force need them and they are not running. The caller holds db.mu for
// writing, with db not closed, or is Open.
func (db *DB) startLoops() {
	if db.SyncMode() == SyncEverySec && !db.live.everySecOn {
		db.live.everySecOn = true
		db.wg.Add(1)
		go db.everySecLoop()
	}
	if db.Merging().Ratio > 0 && !db.live.mergeOn {
		db.live.mergeOn = true
		db.wg.Add(1)
		go db.autoMergeLoop()
	}
}

// startLoopsOpen is startLoops for an open DB: ErrClosed after Close.
func (db *DB) startLoopsOpen() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return ErrClosed
	}
	db.startLoops()
	return nil
}

func (l *liveOptions) init(o Options) {
	l.sync.Store(int32(o.Sync))
	l.setMerge(MergeSettings{Ratio: o.MergeRatio, MinBytes: o.MergeMinBytes, Interval: o.MergeInterval})
	l.mergeWake = make(chan struct{}, 1)
}

func (l *liveOptions) setMerge(m MergeSettings) {
	l.mergeRatio.Store(math.Float64bits(m.Ratio))
	l.mergeMinBytes.Store(m.MinBytes)
	l.mergeInterval.Store(int64(m.Interval))
}

// MergeSettings are the settings of the automatic merge: the fields of
// Options of the same names, with the same meaning and zero values.
type MergeSettings struct {
	// Ratio: merge when dead bytes make up at least this fraction of the
	// data, 0 (never by itself) to 1.
	Ratio float64
	// MinBytes: the least dead data, in bytes, worth a merge. Zero: 16 MiB.
	MinBytes int64
	// Interval: how often the ratio is checked. Zero: 10 s.
	Interval time.Duration
}

// SyncMode is the sync mode in force: Options.Sync, or the last SetSync.
func (db *DB) SyncMode() SyncMode { return SyncMode(db.live.sync.Load()) }

// SetSync changes the sync mode of an open DB. Writes that return after
// it follow the new mode; switching to SyncAlways first syncs every write
// so far, so that nothing written before the switch stays unsynced. It
// fails with ErrBadOptions for an unknown mode and ErrClosed after Close.
func (db *DB) SetSync(m SyncMode) error {
	if m < SyncAlways || m > SyncNo {
		return fmt.Errorf("%w: sync mode %d", ErrBadOptions, m)
	}
	db.live.sync.Store(int32(m))
	if m == SyncAlways {
		return db.Sync()
	}
	return db.startLoopsOpen()
}

// Merging returns the automatic merge settings in force, zero fields
// replaced by their defaults.
func (db *DB) Merging() MergeSettings {
	return MergeSettings{
		Ratio:    math.Float64frombits(db.live.mergeRatio.Load()),
		MinBytes: db.live.mergeMinBytes.Load(),
		Interval: time.Duration(db.live.mergeInterval.Load()),
	}
}

// SetMerge changes the automatic merge settings of an open DB; a merge
// already running finishes. A new Interval takes effect at once (the next
// check is Interval from now). Values out of range fail with
// ErrBadOptions, as Options.Validate judges them.
func (db *DB) SetMerge(m MergeSettings) error {
	o := DefaultOptions()
	o.MergeRatio, o.MergeMinBytes, o.MergeInterval = m.Ratio, m.MinBytes, m.Interval
	if err := o.Validate(); err != nil {
		return err
	}
	o = o.withDefaults()
	db.live.setMerge(MergeSettings{Ratio: o.MergeRatio, MinBytes: o.MergeMinBytes, Interval: o.MergeInterval})
	select {
	case db.live.mergeWake <- struct{}{}:
	default:
	}
	return db.startLoopsOpen()
}
