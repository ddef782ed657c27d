package server

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// SAVE, BGSAVE [SCHEDULE], LASTSAVE and WALKER.BACKUP.
//
// A save writes this node's data as a checkpoint stream (engine
// Checkpoint.WriteTo: the same bytes a Raft snapshot carries) to the dump
// file, by default dump.wdb beside the data directory (Settings "dir" is
// the data directory; the file goes in its parent), or to Settings
// "dumpdir" / "dbfilename" when they are set, and CONFIG SET dbfilename
// (saveParams) renames it as Redis's does. The checkpoint is taken when the
// command runs, between two engine batches, so the file holds the state
// after one prefix of the Raft log. The stream goes to a temporary file in
// the same directory, which is synced and renamed over the dump file, and
// the directory synced: a crash leaves the old file or the new one, never
// half of one. 'walkerdump restore' and 'walkerd --restore' turn the file
// back into a data directory, 'walkerdump verify FILE' checks it.
//
// The replies are Redis 7.0's (rdb.c saveCommand, bgsaveCommand,
// lastsaveCommand): "+OK", "+Background saving started", "ERR Background
// save already in progress" while a BGSAVE runs; BGSAVE inside a
// transaction answers "+Background saving scheduled" and starts at once.
// A failed save answers "ERR" followed by the reason (Redis answers a bare
// "-ERR" and logs the reason).
//
// WALKER.BACKUP answers the leader's checkpoint stream as one bulk reply
// whose length (Checkpoint.StreamSize) is written before the first byte;
// the stream goes from the checkpoint's files to the socket through a 1 MiB
// buffer, never whole in memory. On a follower it answers an error naming
// the leader: 'walkerctl backup' asks RAFT.LEADER and dials the leader
// itself, which is simpler than forwarding a reply of any size through the
// follower's forwarding link.

// defaultDumpName is the dump file's name unless dbfilename is set.
const defaultDumpName = "dump.wdb"

// saveState is a server's save bookkeeping (INFO persistence, LASTSAVE).
type saveState struct {
	mu         sync.Mutex // serializes writing the dump file
	dbfilename atomic.Pointer[string]

	bgRunning  atomic.Bool
	bgStarted  atomic.Int64  // unix nanoseconds
	bgDone     chan struct{} // closed when the running BGSAVE ends; under bgMu
	bgMu       sync.Mutex
	lastSave   atomic.Int64  // unix seconds of the last successful save
	lastSeq    atomic.Uint64 // the engine's sequence number the last save holds
	lastOK     atomic.Bool   // rdb_last_bgsave_status
	lastBgTime atomic.Int64  // seconds the last BGSAVE took; -1 none yet
	saves      atomic.Int64  // rdb_saves: saves started
}

// saves returns s's save bookkeeping.
func (s *Server) saves() *saveState { return &s.save }

// init sets what a server starts with: LASTSAVE answers the server's start
// time until a save succeeds, as Redis considers the data saved at
// start-up.
func (st *saveState) init(started time.Time) {
	st.lastSave.Store(started.Unix())
	st.lastOK.Store(true)
	st.lastBgTime.Store(-1)
}

// saveParams are the CONFIG parameters of saving: dbfilename, settable as
// in Redis (a file name, not a path: config.c's isValidDBfilename).
func saveParams() map[string]configParam {
	return map[string]configParam{
		"dbfilename": {
			get: func(s *Server) string { return filepath.Base(s.dumpPath()) },
			check: func(v []byte) error {
				if strings.ContainsAny(string(v), `/\`) {
					return errors.New("dbfilename can't be a path, just a filename")
				}
				if len(v) == 0 || string(v) == "." || string(v) == ".." {
					return errors.New("Invalid dbfilename")
				}
				return nil
			},
			set: func(s *Server, v []byte) error {
				name := string(v)
				s.saves().dbfilename.Store(&name)
				return nil
			},
		},
	}
}

// dumpPath is the dump file: dumpdir (or the data directory's parent, or
// the working directory) joined with dbfilename (or dump.wdb).
func (s *Server) dumpPath() string {
	name := s.cfg.Settings["dbfilename"]
	if p := s.saves().dbfilename.Load(); p != nil {
		name = *p
	}
	if name == "" {
		name = defaultDumpName
	}
	dir := s.cfg.Settings["dumpdir"]
	if dir == "" {
		if data := s.cfg.Settings["dir"]; data != "" {
			dir = filepath.Dir(filepath.Clean(data))
		} else {
			dir = "."
		}
	}
	return filepath.Join(dir, name)
}

// SAVE
func cmdSave(s *Server, c *client, args [][]byte) {
	if s.multi() {
		c.fail(errSeveralGroups) // groups.go
		return
	}
	st := s.saves()
	if st.bgRunning.Load() {
		c.errorReply("ERR Background save already in progress")
		return
	}
	st.saves.Add(1)
	cp, err := s.b.Engine().Checkpoint()
	if err == nil {
		err = s.writeDump(cp, nil)
		cp.Close()
	}
	if err != nil {
		s.cfg.Logger.Warn("SAVE failed", "file", s.dumpPath(), "err", err)
		c.errorReply("ERR " + err.Error())
		return
	}
	c.ok()
}

// BGSAVE [SCHEDULE]
func cmdBgsave(s *Server, c *client, args [][]byte) {
	if s.multi() {
		c.fail(errSeveralGroups) // groups.go
		return
	}
	if len(args) > 2 || len(args) == 2 && !strings.EqualFold(string(args[1]), "schedule") {
		c.fail(command.ErrSyntax)
		return
	}
	st := s.saves()
	if !st.bgRunning.CompareAndSwap(false, true) {
		c.errorReply("ERR Background save already in progress")
		return
	}
	st.saves.Add(1)
	cp, err := s.b.Engine().Checkpoint()
	if err != nil {
		st.lastOK.Store(false)
		st.bgRunning.Store(false)
		s.cfg.Logger.Warn("BGSAVE failed", "err", err)
		c.errorReply("ERR " + err.Error())
		return
	}
	start := time.Now()
	st.bgStarted.Store(start.UnixNano())
	done := make(chan struct{})
	st.bgMu.Lock()
	st.bgDone = done
	st.bgMu.Unlock()
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		defer close(done)
		defer cp.Close()
		err := s.writeDump(cp, s.quit)
		st.lastBgTime.Store(int64(time.Since(start).Round(time.Second) / time.Second))
		st.bgRunning.Store(false)
		if err != nil {
			s.cfg.Logger.Warn("BGSAVE failed", "file", s.dumpPath(), "err", err)
			return
		}
		s.cfg.Logger.Info("background saving terminated with success", "file", s.dumpPath(), "seq", cp.Seq(), "seconds", time.Since(start).Seconds())
	}()
	if c.inExec {
		c.simple("Background saving scheduled")
		return
	}
	c.simple("Background saving started")
}

// waitBgsave waits for the BGSAVE running now, if any, to end.
func (s *Server) waitBgsave() {
	st := s.saves()
	st.bgMu.Lock()
	done := st.bgDone
	st.bgMu.Unlock()
	if done != nil {
		<-done
	}
}

// LASTSAVE: the unix time, in seconds, of the last successful save.
func cmdLastsave(s *Server, c *client, args [][]byte) {
	c.integer(s.saves().lastSave.Load())
}

// writeDump streams cp to the dump file through a synced temporary file,
// and records the save. A close of quit stops it.
func (s *Server) writeDump(cp *engine.Checkpoint, quit <-chan struct{}) (err error) {
	st := s.saves()
	st.mu.Lock()
	defer st.mu.Unlock()
	defer func() { st.lastOK.Store(err == nil) }()
	path := s.dumpPath()
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "temp-*.wdb")
	if err != nil {
		return fmt.Errorf("opening a temporary dump file in %s: %w", dir, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	var w io.Writer = f
	if quit != nil {
		w = &quitWriter{w: f, quit: quit}
	}
	if _, err := cp.WriteTo(w); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	st.lastSave.Store(time.Now().Unix())
	st.lastSeq.Store(cp.Seq())
	return nil
}

// quitWriter fails once quit is closed: a shutdown ends a BGSAVE, as
// Redis's SHUTDOWN kills its saving child.
type quitWriter struct {
	w    io.Writer
	quit <-chan struct{}
}

func (q *quitWriter) Write(p []byte) (int, error) {
	select {
	case <-q.quit:
		return 0, errors.New("the server is shutting down")
	default:
	}
	return q.w.Write(p)
}

// infoPersistenceSave writes INFO persistence's fields of saving, as
// Redis 7.0 names them (server.c genRedisInfoString): the changes since
// the last save are the engine's sequence number (the Raft index of the
// newest write) less the one the last save holds; fork and copy-on-write
// figures are 0, there being no fork.
func (s *Server) infoPersistenceSave(line func(k string, v any)) {
	st := s.saves()
	changes := uint64(0)
	if seq, last := s.b.Engine().Seq(), st.lastSeq.Load(); seq > last {
		changes = seq - last
	}
	line("rdb_changes_since_last_save", changes)
	running := st.bgRunning.Load()
	line("rdb_bgsave_in_progress", boolInt(running))
	line("rdb_last_save_time", st.lastSave.Load())
	status := "ok"
	if !st.lastOK.Load() {
		status = "err"
	}
	line("rdb_last_bgsave_status", status)
	line("rdb_last_bgsave_time_sec", st.lastBgTime.Load())
	current := int64(-1)
	if running {
		current = int64(time.Since(time.Unix(0, st.bgStarted.Load())) / time.Second)
	}
	line("rdb_current_bgsave_time_sec", current)
	line("rdb_saves", st.saves.Load())
	line("rdb_last_cow_size", 0)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// WALKER.BACKUP: the leader's checkpoint stream as one bulk reply.
func cmdWalkerBackup(s *Server, c *client, args [][]byte) {
	if s.multi() {
		c.fail(errSeveralGroups) // groups.go
		return
	}
	if c.w != &c.enc || c.forwarded {
		c.errorReply("ERR WALKER.BACKUP cannot be forwarded; send it to the leader")
		return
	}
	if err := s.b.ReadBarrier(0); err != nil {
		var nl *backend.NotLeaderError
		switch {
		case errors.As(err, &nl) && nl.Removed:
			c.errorReply(removedText)
		case errors.As(err, &nl) && nl.LeaderAddr != "":
			c.errorReply("ERR WALKER.BACKUP runs on the leader, which is at " + nl.LeaderAddr + " ('walkerctl backup' finds it)")
		case errors.As(err, &nl):
			c.errorReply("CLUSTERDOWN no leader is known to take a backup from")
		default:
			c.fail(err)
		}
		return
	}
	cp, err := s.b.Engine().Checkpoint()
	if err != nil {
		c.fail(err)
		return
	}
	defer cp.Close()
	size, err := cp.StreamSize()
	if err != nil {
		c.fail(err)
		return
	}
	// The replies before this one in the pipeline go first; then the
	// bulk reply goes to the socket directly, and nothing is left in the
	// reply buffer for the connection's handler to write.
	conn := c.conn.NetConn()
	out := append(c.enc.B, "$"+strconv.FormatInt(size, 10)+"\r\n"...)
	c.resetOutput()
	_, err = conn.Write(out)
	var n int64
	if err == nil {
		n, err = cp.WriteTo(conn)
	}
	if err == nil && n != size {
		err = fmt.Errorf("wrote %d bytes of a stream of %d", n, size)
	}
	if err == nil {
		_, err = conn.Write([]byte("\r\n"))
	}
	c.flushed = s.now()
	if err != nil {
		// Part of the reply is on the wire: the client can only be told
		// by the connection's end.
		s.cfg.Logger.Warn("WALKER.BACKUP: closing the connection mid-stream", "addr", c.addr, "err", err)
		c.quit = true
		return
	}
	s.cfg.Logger.Info("backup streamed", "addr", c.addr, "bytes", size, "seq", cp.Seq())
}
