package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

func mergeCommand() *cli.Command {
	return &cli.Command{
		Name:      "merge",
		Usage:     "compact the directory offline (the engine's crash-safe merge)",
		ArgsUsage: "DIR",
		Description: "Opens the directory with the engine, runs its merge (live records are\n" +
			"rewritten into new segments with hint files; overwritten, deleted and expired\n" +
			"ones are dropped) and closes it. The merge is the one walkerd runs online,\n" +
			"with the same crash safety: an interrupted merge is finished or discarded at\n" +
			"the next open. A damaged directory does not open: run recover first.",
		Flags:  []cli.Flag{jsonFlag},
		Action: mergeAction,
	}
}

type mergeResultJSON struct {
	Dir            string  `json:"dir"`
	Keys           int     `json:"keys"`
	SegmentsBefore int     `json:"segments_before"`
	SegmentsAfter  int     `json:"segments_after"`
	BytesBefore    int64   `json:"bytes_before"`
	BytesAfter     int64   `json:"bytes_after"`
	Seconds        float64 `json:"seconds"`
	MBPerSecond    float64 `json:"mb_per_second"` // input bytes per second
}

func mergeAction(c *cli.Context) error {
	dir, err := dirArg(c)
	if err != nil {
		return err
	}
	// engine.Open would make a new data directory of anything else.
	if _, err := engine.ReadFormat(dir); err != nil {
		return err
	}
	p := newProgress(c, "merge", "B")
	db, err := engine.Open(dir, &engine.Options{Sync: engine.SyncNo, MergeProgress: p.Update, LayoutVersion: keyspace.LayoutVersion})
	if errors.Is(err, engine.ErrCorruption) {
		return fmt.Errorf("%w\nthe directory is damaged: run 'walkerdump recover %s' first", err, dir)
	}
	if err != nil {
		return lockedError(dir, err)
	}
	before, err := db.Stats()
	if err != nil {
		db.Close()
		return err
	}
	start := time.Now()
	err = db.Merge()
	secs := time.Since(start).Seconds()
	p.Finish()
	if err != nil {
		db.Close()
		return fmt.Errorf("merge: %w", err)
	}
	after, err := db.Stats()
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	out := mergeResultJSON{Dir: dir, Keys: after.Keys, SegmentsBefore: len(before.Segments), SegmentsAfter: len(after.Segments),
		BytesBefore: before.Bytes, BytesAfter: after.Bytes, Seconds: secs}
	if secs > 0 {
		out.MBPerSecond = float64(before.Bytes) / 1e6 / secs
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, out)
	}
	_, err = fmt.Fprintf(c.App.Writer, "merged %d segments (%s) into %d (%s), %d keys, in %.2fs (%.0f MB/s)\n",
		out.SegmentsBefore, bytesText(out.BytesBefore), out.SegmentsAfter, bytesText(out.BytesAfter), out.Keys, secs, out.MBPerSecond)
	return err
}
