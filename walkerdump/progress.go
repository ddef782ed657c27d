package main

import (
	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/internal/progress"
)

// newProgress returns a progress line (internal/progress) on the app's
// stderr if it is a terminal, and a quiet one otherwise.
func newProgress(c *cli.Context, label, unit string) *progress.Line {
	return progress.New(c.App.ErrWriter, label, unit)
}

// bytesText is n in B, KB, MB or GB (powers of 1000, as disks count).
func bytesText(n int64) string { return progress.Bytes(n) }
