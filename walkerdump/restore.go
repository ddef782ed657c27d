package main

import (
	"errors"
	"fmt"
	"github.com/walkerdb/walkerdb/internal/progress"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// Backup files are checkpoint streams (engine.Checkpoint.WriteTo), as
// 'walkerctl backup', SAVE and BGSAVE write them and Raft snapshots carry
// them: restore turns one into a data directory, and verify FILE checks
// one whole.

func restoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "build a data directory from a backup file (walkerctl backup, SAVE, BGSAVE)",
		ArgsUsage: "FILE DIR",
		Description: "Reads the backup FILE, checks every file's CRC as it writes it, and builds the\n" +
			"data directory DIR, which must not exist or be empty. DIR is built beside itself\n" +
			"(DIR.restore.tmp) and renamed into place when whole: a failed restore leaves\n" +
			"nothing. To seed a new cluster, start walkerd on DIR with an empty -raftdir and\n" +
			"no -join: it starts a one-node cluster at the backup's Raft index, and the other\n" +
			"nodes join it with empty data directories ('walkerd --restore FILE' does both\n" +
			"steps). Exit 1 when FILE is damaged, 2 for any other failure.",
		Flags:  []cli.Flag{jsonFlag},
		Action: restoreAction,
	}
}

type restoreJSON struct {
	File    string  `json:"file"`
	Dir     string  `json:"dir"`
	Seq     uint64  `json:"seq"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
}

func restoreAction(c *cli.Context) error {
	if c.NArg() != 2 {
		return cli.Exit(fmt.Sprintf("restore: want FILE DIR, got %d arguments (usage: walkerdump restore FILE DIR; flags go first)", c.NArg()), exitError)
	}
	file, dir := c.Args().Get(0), c.Args().Get(1)
	start := time.Now()
	f, err := os.Open(file)
	if err != nil {
		return cli.Exit(err.Error(), exitError)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return cli.Exit(err.Error(), exitError)
	}
	if st.IsDir() {
		return cli.Exit(fmt.Sprintf("restore: %s is a directory; FILE is a backup file (walkerctl backup, SAVE)", file), exitError)
	}
	p := newProgress(c, "restore", "B")
	seq, err := engine.Restore(&progressReader{r: f, p: p, total: st.Size()}, dir, keyspace.LayoutVersion)
	p.Finish()
	if err != nil {
		return backupError(file, err)
	}
	out := restoreJSON{File: file, Dir: dir, Seq: seq, Bytes: st.Size(), Seconds: time.Since(start).Seconds()}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, out)
	}
	_, err = fmt.Fprintf(c.App.Writer, "restored %s (%s, up to Raft index %d) into %s in %.2fs\n", file, bytesText(out.Bytes), seq, dir, out.Seconds)
	return err
}

// backupError maps a backup file's error to walkerdump's exit codes:
// damage (a bad CRC, a cut-short file) is 1, anything else 2.
func backupError(file string, err error) error {
	if errors.Is(err, engine.ErrCorruption) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return cli.Exit(fmt.Sprintf("%s: damaged backup: %v", file, err), exitProblems)
	}
	return cli.Exit(fmt.Sprintf("%s: %v", file, err), exitError)
}

// progressReader reports how much of a file has been read.
type progressReader struct {
	r     io.Reader
	p     *progress.Line
	done  int64
	total int64
}

func (r *progressReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.done += int64(n)
	r.p.Update(r.done, r.total)
	return n, err
}

// verifyFileJSON is verify's report on a backup file.
type verifyFileJSON struct {
	File          string  `json:"file"`
	OK            bool    `json:"ok"`
	Seq           uint64  `json:"seq"`
	FormatVersion uint32  `json:"format_version"`
	Layout        uint32  `json:"layout"`
	Files         int     `json:"files"`
	Bytes         int64   `json:"bytes"`
	Seconds       float64 `json:"seconds"`
	Error         string  `json:"error,omitempty"`
}

// verifyFile checks a backup file whole (engine.CheckStream): its header,
// every file's name, size and CRC, its end. Damage exits 1; a file this
// build cannot restore (a newer format, another key layout) exits 2.
func verifyFile(c *cli.Context, file string) error {
	start := time.Now()
	f, err := os.Open(file)
	if err != nil {
		return cli.Exit(err.Error(), exitError)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return cli.Exit(err.Error(), exitError)
	}
	p := newProgress(c, "verify", "B")
	info, err := engine.CheckStream(&progressReader{r: f, p: p, total: st.Size()}, keyspace.LayoutVersion, nil)
	p.Finish()
	if err != nil && !errors.Is(err, engine.ErrCorruption) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return backupError(file, err)
	}
	out := verifyFileJSON{File: file, OK: err == nil, Seq: info.Seq, FormatVersion: info.Format.Version, Layout: info.Format.Layout,
		Files: len(info.Files), Bytes: st.Size(), Seconds: time.Since(start).Seconds()}
	if err != nil {
		out.Error = err.Error()
	}
	if c.Bool("json") {
		if werr := writeJSON(c.App.Writer, out); werr != nil {
			return werr
		}
	} else {
		if err != nil {
			fmt.Fprintf(c.App.Writer, "error: %s: %v\n", file, err)
		}
		verdict := "ok"
		if err != nil {
			verdict = "DAMAGED (take a new backup)"
		}
		fmt.Fprintf(c.App.Writer, "verified backup %s: %d files, %s, up to Raft index %d, format %d, key layout %d, in %.2fs: %s\n",
			file, out.Files, bytesText(out.Bytes), out.Seq, out.FormatVersion, out.Layout, out.Seconds, verdict)
	}
	if err != nil {
		return cli.Exit("", exitProblems)
	}
	return nil
}
