package main

import (
	"errors"
	"fmt"
	"github.com/walkerdb/walkerdb/internal/progress"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/internal/resp"
)

func backupCommand() *cli.Command {
	return &cli.Command{
		Name:      "backup",
		Usage:     "write a consistent backup of the cluster's data to a file",
		ArgsUsage: "FILE",
		Description: `Asks the node at --addr who leads (RAFT.LEADER), connects to the leader and
sends WALKER.BACKUP: the leader takes a checkpoint of its data (the state after
one prefix of the Raft log, the same bytes a Raft snapshot carries) and streams
it as one reply. A node in standalone mode is backed up itself.

The stream is checked as it arrives (its header, then every file's CRC32-C),
written to a temporary file beside FILE, synced, and renamed to FILE only when
it is whole: a failed backup leaves no FILE and no temporary file. A progress
line is drawn on stderr when stderr is a terminal.

Restore with 'walkerdump restore FILE DIR' (a data directory) or 'walkerd
--restore FILE' (a new node that starts a new cluster; the others join it with
empty data directories). 'walkerdump verify FILE' checks a backup file.

--timeout bounds connecting and each wait for data, not the whole transfer.
--json prints {"file", "leader", "addr", "bytes", "seq", "files", "seconds"}.`,
		Action: runBackup,
	}
}

type backupResult struct {
	File    string  `json:"file"`
	Leader  string  `json:"leader,omitempty"`
	Addr    string  `json:"addr"`
	Bytes   int64   `json:"bytes"`
	Seq     uint64  `json:"seq"`
	Files   int     `json:"files"`
	Seconds float64 `json:"seconds"`
}

func runBackup(c *cli.Context) error {
	if err := args(c, 1, 1); err != nil {
		return err
	}
	o, err := optsOf(c)
	if err != nil {
		return err
	}
	file := c.Args().First()
	start := time.Now()
	res := backupResult{File: file}
	cl, err := backupSource(o, &res)
	if err != nil {
		return err
	}
	defer cl.close()
	info, err := receiveBackup(cl, file, progress.New(c.App.ErrWriter, "backup", "B"))
	if err != nil {
		return err
	}
	res.Bytes, res.Seq, res.Files, res.Seconds = info.Bytes, info.Seq, len(info.Files), time.Since(start).Seconds()
	if o.json {
		return writeJSON(o.stdout, res)
	}
	from := res.Addr
	if res.Leader != "" {
		from = res.Leader + " (" + res.Addr + ")"
	}
	_, err = fmt.Fprintf(o.stdout, "backup of %s written to %s: %s, %d files, up to Raft index %d, in %.1fs\n",
		from, file, progress.Bytes(res.Bytes), res.Files, res.Seq, res.Seconds)
	return err
}

// backupSource connects to the node to back up: the leader, or in
// standalone mode the node at --addr.
func backupSource(o *opts, res *backupResult) (*client, error) {
	l, err := findLeader(o)
	var re *replyError
	if errors.As(err, &re) && strings.Contains(re.msg, "requires cluster mode") {
		cl, err := o.anyNode()
		if err == nil {
			res.Addr = cl.addr
		}
		return cl, err
	}
	if err != nil {
		return nil, err
	}
	if l.ID == "" {
		return nil, &noLeaderError{}
	}
	if l.RESPAddr == "" {
		return nil, &noLeaderError{unknown: true, detail: "the leader " + l.ID + " has not recorded its RESP address yet; try again"}
	}
	res.Leader, res.Addr = l.ID, l.RESPAddr
	return o.dial(l.RESPAddr)
}

// receiveBackup sends WALKER.BACKUP on cl and writes the stream to file
// through a temporary file, checking it as it comes.
func receiveBackup(cl *client, file string, bar *progress.Line) (info engine.StreamInfo, err error) {
	cl.conn.SetDeadline(time.Now().Add(cl.timeout))
	if _, err := cl.conn.Write(resp.AppendCommand(nil, [][]byte{[]byte("WALKER.BACKUP")})); err != nil {
		return info, &unreachableError{addr: cl.addr, err: err, timeout: cl.timeout}
	}
	line, err := cl.r.ReadString('\n')
	if err != nil {
		return info, &unreachableError{addr: cl.addr, err: err, timeout: cl.timeout, replying: true}
	}
	line = strings.TrimRight(line, "\r\n")
	switch {
	case strings.HasPrefix(line, "-"):
		return info, replyErr(cl.addr, line[1:])
	case !strings.HasPrefix(line, "$"):
		return info, fmt.Errorf("%s: WALKER.BACKUP answered %q, not a bulk reply", cl.addr, line)
	}
	size, err := strconv.ParseInt(line[1:], 10, 64)
	if err != nil || size < 0 {
		return info, fmt.Errorf("%s: WALKER.BACKUP answered a bulk length %q", cl.addr, line[1:])
	}

	f, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".tmp-*")
	if err != nil {
		return info, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// Each read may wait up to --timeout; the transfer as a whole may take
	// as long as it needs.
	src := &idleReader{r: io.LimitReader(cl.r, size), cl: cl, bar: bar, total: size}
	info, err = engine.CheckStream(io.TeeReader(src, f), keyspace.LayoutVersion, nil)
	bar.Finish()
	if err != nil {
		if src.err != nil {
			return info, &unreachableError{addr: cl.addr, err: src.err, timeout: cl.timeout, replying: true}
		}
		return info, fmt.Errorf("%s: the backup stream is damaged: %w", cl.addr, err)
	}
	if info.Bytes != size {
		return info, fmt.Errorf("%s: the backup stream ended after %d of %d bytes", cl.addr, info.Bytes, size)
	}
	var crlf [2]byte
	if _, err := io.ReadFull(cl.r, crlf[:]); err != nil || string(crlf[:]) != "\r\n" {
		return info, fmt.Errorf("%s: the backup reply does not end in CRLF: %v", cl.addr, err)
	}
	if err := f.Sync(); err != nil {
		return info, err
	}
	if err := f.Close(); err != nil {
		return info, err
	}
	if err := os.Rename(f.Name(), file); err != nil {
		return info, err
	}
	if d, err := os.Open(filepath.Dir(file)); err == nil {
		d.Sync()
		d.Close()
	}
	return info, nil
}

// idleReader reads the stream, extending the connection's deadline before
// each read, and counts progress. err keeps the connection's own error.
type idleReader struct {
	r     io.Reader
	cl    *client
	bar   *progress.Line
	done  int64
	total int64
	err   error
}

func (i *idleReader) Read(p []byte) (int, error) {
	i.cl.conn.SetReadDeadline(time.Now().Add(i.cl.timeout))
	n, err := i.r.Read(p)
	i.done += int64(n)
	i.bar.Update(i.done, i.total)
	if err != nil && err != io.EOF {
		i.err = err
	}
	return n, err
}
