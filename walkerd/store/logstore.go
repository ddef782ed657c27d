package store

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	raftwal "github.com/hashicorp/raft-wal"
	walfs "github.com/hashicorp/raft-wal/fs"
	"github.com/hashicorp/raft-wal/segment"

	"github.com/walkerdb/walkerdb/engine"
)

// The Raft log store.
//
//	RaftDir/raft.db     raft-boltdb: a BoltDB file, two fsyncs per append
//	RaftDir/wal/        raft-wal: segment files and a meta database, one
//	                    fsync per append batch
//	RaftDir/bigentries/ entries of 1 MiB or more, beside either store
//	                    (bigentry.go)
//
// A new node logs to raft-wal: one fsync per append against BoltDB's two
// makes it the faster store on every figure of tools/bench/compare.sh (see
// store/DESIGN.md), and it is the store Consul gives new servers since
// 1.20. A node whose Raft directory already holds a log keeps that store
// (LogKind "" or "auto"). Naming the other store moves the log once, at
// start-up, before raft reads it (migrateLog):
//
//  1. every entry, the current term and the vote are copied into the new
//     store under a temporary name (wal.partial, raft.db.partial), which
//     its writes sync;
//  2. the copy is renamed into place;
//  3. the old store is renamed aside (raft.db.migrated, wal.migrated).
//
// A crash before 2 leaves the old log alone in place: the next start
// copies again. A crash between 2 and 3 leaves two whole, equal logs; the
// named kind is kept and the other renamed aside.

// Log store kinds: Config.LogKind and --raft-log.
const (
	LogAuto = "auto"
	LogBolt = "bolt"
	LogWAL  = "wal"
)

type logStore interface {
	raft.LogStore
	raft.StableStore
	io.Closer
}

// held reports whether dir holds a log in the store of kind.
func held(dir, kind string) bool {
	_, err := os.Stat(storePath(dir, kind))
	return err == nil
}

// openLog opens the Raft log store cfg names, moving a log held in the
// other store into it first. It returns the store, wrapped so that large
// entries are kept in files beside it (bigentry.go), and its kind.
func openLog(cfg Config, log *slog.Logger) (logStore, string, error) {
	kind := cfg.LogKind
	switch kind {
	case "", LogAuto:
		kind = LogWAL
		if held(cfg.RaftDir, LogBolt) {
			kind = LogBolt
		}
	case LogBolt, LogWAL:
	default:
		return nil, "", fmt.Errorf("raft log kind %q: want auto, bolt or wal", cfg.LogKind)
	}
	other := LogBolt
	if kind == LogBolt {
		other = LogWAL
	}
	if held(cfg.RaftDir, other) {
		var err error
		if held(cfg.RaftDir, kind) {
			err = setAside(cfg.RaftDir, other) // step 3 of an interrupted move
		} else {
			err = migrateLog(cfg, other, kind, log)
		}
		if err != nil {
			return nil, "", fmt.Errorf("moving the Raft log from %s to %s: %w", other, kind, err)
		}
	}
	st, err := openKind(storePath(cfg.RaftDir, kind), kind, cfg.Sync)
	if err != nil {
		return nil, "", err
	}
	big, err := openBigEntries(st, cfg.RaftDir, cfg.Sync, log) // bigentry.go
	if err != nil {
		st.Close()
		return nil, "", err
	}
	return big, kind, nil
}

func storePath(dir, kind string) string {
	if kind == LogBolt {
		return filepath.Join(dir, "raft.db")
	}
	return filepath.Join(dir, "wal")
}

func openKind(path, kind string, sync engine.SyncMode) (logStore, error) {
	if kind == LogBolt {
		b, err := raftboltdb.New(raftboltdb.Options{Path: path, NoSync: sync != engine.SyncAlways})
		if err != nil {
			return nil, fmt.Errorf("raft log: %w", err)
		}
		return b, nil
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, err
	}
	w, err := raftwal.Open(path, raftwal.WithSegmentFiler(segment.NewFiler(path, zeroFS{walfs.New()})))
	if err != nil {
		return nil, fmt.Errorf("raft log: %w", err)
	}
	return w, nil
}

func setAside(dir, kind string) error {
	old := storePath(dir, kind)
	if err := os.RemoveAll(old + ".migrated"); err != nil {
		return err
	}
	return os.Rename(old, old+".migrated")
}

// Keys of hashicorp/raft's stable store (raft.go): the current term and
// the vote cast in it.
var (
	keyCurrentTerm  = []byte("CurrentTerm")
	keyLastVoteTerm = []byte("LastVoteTerm")
	keyLastVoteCand = []byte("LastVoteCand")
)

// migrateLog copies the log held in store from into a new store of kind
// to, in the three steps drawn above.
func migrateLog(cfg Config, from, to string, log *slog.Logger) (err error) {
	src, err := openKind(storePath(cfg.RaftDir, from), from, engine.SyncAlways)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := src.Close(); err == nil {
			err = cerr
		}
	}()
	tmp := storePath(cfg.RaftDir, to) + ".partial"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	dst, err := openKind(tmp, to, engine.SyncAlways)
	if err != nil {
		return err
	}
	first, last, err := copyLog(src, dst)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, storePath(cfg.RaftDir, to)); err != nil {
		return err
	}
	if err := setAside(cfg.RaftDir, from); err != nil {
		return err
	}
	log.Info("moved the Raft log to another store", "from", from, "to", to,
		"first_index", first, "last_index", last, "old_files", storePath(cfg.RaftDir, from)+".migrated")
	return nil
}

// copyLog copies every entry, the term and the vote from src to dst.
func copyLog(src, dst logStore) (first, last uint64, err error) {
	if first, err = src.FirstIndex(); err != nil {
		return 0, 0, err
	}
	if last, err = src.LastIndex(); err != nil {
		return 0, 0, err
	}
	const batch = 256
	var logs []*raft.Log
	for i := first; i > 0 && i <= last; i++ {
		l := new(raft.Log)
		if err := src.GetLog(i, l); err != nil {
			return 0, 0, fmt.Errorf("entry %d: %w", i, err)
		}
		logs = append(logs, l)
		if len(logs) == batch || i == last {
			if err := dst.StoreLogs(logs); err != nil {
				return 0, 0, err
			}
			logs = logs[:0]
		}
	}
	for _, k := range [][]byte{keyCurrentTerm, keyLastVoteTerm} {
		v, err := src.GetUint64(k)
		if err != nil && !notFound(err) {
			return 0, 0, err
		}
		if err := dst.SetUint64(k, v); err != nil {
			return 0, 0, err
		}
	}
	cand, err := src.Get(keyLastVoteCand)
	if err != nil && !notFound(err) {
		return 0, 0, err
	}
	return first, last, dst.Set(keyLastVoteCand, cand)
}

// notFound reports a stable-store key never set: raft-boltdb and raft-wal
// word it differently.
func notFound(err error) bool {
	return errors.Is(err, raftboltdb.ErrKeyNotFound) || errors.Is(err, raftwal.ErrNotFound)
}
