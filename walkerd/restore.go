package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/walkerdb/walkerdb/engine"
)

// restoreBackup seeds this node's data directory from a backup file (a
// checkpoint stream: walkerctl backup, SAVE, BGSAVE, a Raft snapshot's
// data) before the node starts: --restore FILE. It refuses a data
// directory that holds anything, a Raft directory that holds anything (a
// node with Raft state is a member of some cluster already), and -join (a
// restored node starts a new cluster; the other nodes join it empty and
// receive the data as a Raft snapshot). The restored node then starts a
// one-node cluster at the backup's Raft index (store's seedFromEngine); in
// standalone mode it simply opens the restored directory. The whole file is
// checked (every file's CRC) before anything is renamed into place.
func restoreBackup(log *slog.Logger, file string, s *settings) error {
	if file == "" {
		return nil
	}
	if s.join != "" {
		return errors.New("--restore starts a new cluster from a backup: start this node without -join, then join the others to it with empty data directories")
	}
	if err := mustBeEmpty(s.dir, "data directory"); err != nil {
		return err
	}
	if !s.standalone {
		raftDir := s.raftDir
		if raftDir == "" {
			raftDir = filepath.Join(filepath.Dir(s.dir), "raft") // as run does
		}
		if err := mustBeEmpty(raftDir, "Raft directory"); err != nil {
			return err
		}
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("--restore: %w", err)
	}
	defer f.Close()
	seq, err := engine.Restore(f, s.dir, s.engine.LayoutVersion)
	if err != nil {
		return fmt.Errorf("--restore %s: %w", file, err)
	}
	log.Info("restored the data directory from a backup", "file", file, "dir", s.dir, "seq", seq)
	return nil
}

// mustBeEmpty refuses a directory that exists and holds anything.
func mustBeEmpty(dir, what string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("--restore: %s %s: %w", what, dir, err)
	case len(entries) > 0:
		return fmt.Errorf("--restore: the %s %s is not empty; a backup seeds a new node only (move it aside, or give an empty -dir and -raftdir)", what, dir)
	}
	return nil
}
