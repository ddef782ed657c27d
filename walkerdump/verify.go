package main

import (
	"fmt"
	"github.com/walkerdb/walkerdb/internal/progress"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/engine/record"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check every record's CRC and every hint, or a backup file whole; exit 1 naming each bad place",
		ArgsUsage: "DIR|FILE",
		Description: "Reads every record of every segment and checks its CRC and its batch, and\n" +
			"compares each hint file entry by entry with its segment. Errors (exit 1):\n" +
			"corrupt or torn bytes, a batch whose commit is bad or missing, a hint that is\n" +
			"corrupt, stale or disagrees with its segment, an interrupted merge, a leftover\n" +
			"*.tmp file. Warnings (exit 0): a missing hint (walkerd scans that segment and\n" +
			"writes the hint again; 'walkerdump hint' rebuilds it), a hint without a\n" +
			"segment, the all-zero preallocated tail of a segment that a crash left\n" +
			"untrimmed (walkerd trims it). 'walkerdump recover' repairs every error.\n" +
			"Given a backup FILE (walkerctl backup, SAVE) instead of a directory, it checks\n" +
			"the file whole: its header, every file's CRC, its end (exit 1 if damaged).",
		Flags:  []cli.Flag{jsonFlag},
		Action: verifyAction,
	}
}

// problem is one thing verify found.
type problem struct {
	Severity string `json:"severity"` // error or warning
	Segment  uint32 `json:"segment,omitempty"`
	File     string `json:"file"`
	Offset   *int64 `json:"offset,omitempty"`
	End      *int64 `json:"end,omitempty"`
	What     string `json:"what"`
}

func (p problem) String() string {
	s := p.Severity + ": " + p.File
	if p.Offset != nil {
		s += fmt.Sprintf(" offset %d", *p.Offset)
	}
	return s + ": " + p.What
}

type verifyJSON struct {
	Dir      string    `json:"dir"`
	OK       bool      `json:"ok"` // no errors (warnings allowed)
	Segments int       `json:"segments"`
	Bytes    int64     `json:"bytes"`
	Records  int64     `json:"records"`
	Seconds  float64   `json:"seconds"`
	Errors   int       `json:"errors"`
	Warnings int       `json:"warnings"`
	Problems []problem `json:"problems"`
}

func verifyAction(c *cli.Context) error {
	if path, err := dirArg(c); err == nil {
		if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
			return verifyFile(c, path) // a backup file (restore.go)
		}
	}
	d, err := openDir(c)
	if err != nil {
		return err
	}
	defer d.Close()
	out, err := verify(d, newProgress(c, "verify", "B"))
	if err != nil {
		return err
	}
	if c.Bool("json") {
		err = writeJSON(c.App.Writer, out)
	} else {
		err = printVerify(c.App.Writer, out)
	}
	if err != nil {
		return err
	}
	if !out.OK {
		return cli.Exit("", exitProblems)
	}
	return nil
}

func verify(d *engine.Offline, p *progress.Line) (*verifyJSON, error) {
	start := time.Now()
	out := &verifyJSON{Dir: d.Dir(), Problems: []problem{}}
	add := func(severity string, seg uint32, file string, off, end *int64, what string) {
		out.Problems = append(out.Problems, problem{Severity: severity, Segment: seg, File: file, Offset: off, End: end, What: what})
		if severity == "error" {
			out.Errors++
		} else {
			out.Warnings++
		}
	}
	l, err := d.Layout()
	if err != nil {
		return nil, err
	}
	switch l.Merge {
	case engine.MergeUncommitted:
		add("error", 0, "merge/", nil, nil, "interrupted merge, not committed: its outputs are discarded by walkerd or recover")
	case engine.MergeCommitted:
		add("error", 0, "merge/DONE", nil, nil, fmt.Sprintf("interrupted merge past its commit point (inputs %v, outputs %v): the segment files may be a mix of old and new until walkerd or recover finishes it", l.MergeInputs, l.MergeOutputs))
	case engine.MergeUnreadable:
		add("error", 0, "merge/DONE", nil, nil, fmt.Sprintf("merge marker does not parse, walkerd will not open: %v", l.MergeErr))
	}
	for _, t := range l.Temps {
		add("error", 0, t, nil, nil, "temporary file left by an interrupted write")
	}
	for _, id := range orphanHints(&l) {
		add("warning", id, fmt.Sprintf("%09d.hint", id), nil, nil, "hint file without a segment")
	}

	var total, done int64
	for _, id := range l.Segments {
		if st, err := os.Stat(d.SegmentPath(id)); err == nil {
			total += st.Size()
		}
	}
	for _, id := range l.Segments {
		seg := fmt.Sprintf("segment %d", id)
		var last int64
		chk, err := d.CheckSegment(id, func(off int64, rec record.Record) error {
			out.Records++
			if off-last >= 1<<20 {
				last = off
				p.Update(done+off, total)
			}
			return nil
		})
		if err != nil {
			p.Finish()
			return nil, err
		}
		done += chk.Size
		p.Update(done, total)
		out.Segments++
		out.Bytes += chk.Size
		for _, b := range chk.Bad {
			start, end := b.Start, b.End
			sev := "error"
			if b.Zero && b.Tail {
				sev = "warning"
			}
			add(sev, id, seg, &start, &end, fmt.Sprintf("%d bad bytes up to offset %d: %s", b.End-b.Start, b.End, regionWhat(newRegionJSON(b))))
		}
		hintFile := fmt.Sprintf("segment %d hint", id)
		switch chk.Hint.State {
		case engine.HintMissing:
			if !chk.Active && chk.Size > 0 {
				add("warning", id, hintFile, nil, nil, "missing: walkerd scans the segment instead ('walkerdump hint' rebuilds it)")
			}
		case engine.HintValid:
		default:
			sev := "error"
			if chk.Active {
				sev = "warning" // walkerd never reads the active segment's hint
			}
			add(sev, id, hintFile, nil, nil, fmt.Sprintf("%s: %v", chk.Hint.State, chk.Hint.Err))
		}
	}
	p.Finish()
	out.Seconds = time.Since(start).Seconds()
	out.OK = out.Errors == 0
	return out, nil
}

func printVerify(w io.Writer, out *verifyJSON) error {
	for _, p := range out.Problems {
		fmt.Fprintln(w, p)
	}
	rate := 0.0
	if out.Seconds > 0 {
		rate = float64(out.Bytes) / 1e6 / out.Seconds
	}
	verdict := "ok"
	if !out.OK {
		verdict = "DAMAGED (walkerdump recover repairs it)"
	}
	_, err := fmt.Fprintf(w, "verified %d segments, %d records, %s in %.2fs (%.0f MB/s): %d errors, %d warnings: %s\n",
		out.Segments, out.Records, bytesText(out.Bytes), out.Seconds, rate, out.Errors, out.Warnings, verdict)
	return err
}
