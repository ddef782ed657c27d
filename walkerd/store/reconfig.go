package store

import (
	"fmt"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/walkerd/backend"
)

// Tunables implements backend.Reconfigurer.
func (s *Store) Tunables() backend.Tunables {
	rc := s.raft.ReloadableConfig()
	return backend.Tunables{
		Sync:  s.cfg.Sync,
		Merge: s.fsm.engine().Merging(),
		Raft:  true,
		Snapshot: backend.SnapshotSettings{
			Threshold: rc.SnapshotThreshold, Interval: rc.SnapshotInterval, TrailingLogs: rc.TrailingLogs,
		},
	}
}

// SetSync implements backend.Reconfigurer. In cluster mode appendfsync is
// how the Raft log reaches the disk, and neither log store changes it
// while open: raft-boltdb fixes NoSync when it opens the file, and
// raft-wal always fsyncs. Any change fails; the same value succeeds.
func (s *Store) SetSync(m engine.SyncMode) error {
	if m == s.cfg.Sync {
		return nil
	}
	return fmt.Errorf("appendfsync cannot change while walkerd runs in cluster mode: the Raft log store fixes it when it opens; set appendfsync in the config file or with --appendfsync on the command line, and restart")
}

// SetMerge implements backend.Reconfigurer: the engine in use now, and
// the one a snapshot restore opens later.
func (s *Store) SetMerge(m engine.MergeSettings) error {
	f := s.fsm
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.db.SetMerge(m); err != nil {
		return err
	}
	applied := f.db.Merging()
	f.opts.MergeRatio, f.opts.MergeMinBytes, f.opts.MergeInterval = applied.Ratio, applied.MinBytes, applied.Interval
	return nil
}

// SetSnapshot implements backend.Reconfigurer through hashicorp/raft's
// ReloadConfig; raft validates the values (ValidateConfig).
func (s *Store) SetSnapshot(n backend.SnapshotSettings) error {
	rc := s.raft.ReloadableConfig()
	rc.SnapshotThreshold, rc.SnapshotInterval, rc.TrailingLogs = n.Threshold, n.Interval, n.TrailingLogs
	return s.raft.ReloadConfig(rc)
}

var _ backend.Reconfigurer = (*Store)(nil)
