package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// progress draws one status line on a terminal, redrawn in place with \r,
// for long work (merge, verify, recover, export). When stderr is not a
// terminal it draws nothing, so piped and scripted runs stay quiet. It is
// a few lines of code rather than a library: the libraries that fit pull in
// colour and width-detection packages for one line of text.
type progress struct {
	w        io.Writer // nil: quiet
	label    string
	unit     string // "B" formats done/total as bytes, else as counts
	start    time.Time
	last     time.Time
	drawn    bool
	interval time.Duration
}

// newProgress returns a progress line on the app's stderr if it is a
// terminal, and a quiet one otherwise.
func newProgress(c *cli.Context, label, unit string) *progress {
	p := &progress{label: label, unit: unit, start: time.Now(), interval: 100 * time.Millisecond}
	if f, ok := c.App.ErrWriter.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.w = f
	}
	return p
}

// update redraws the line, at most every interval, and always at the end.
func (p *progress) update(done, total int64) {
	if p.w == nil {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < p.interval && done < total {
		return
	}
	p.last = now
	p.drawn = true
	fmt.Fprintf(p.w, "\r\033[K%s", p.line(done, total, now.Sub(p.start)))
}

// line is the status text: label, bar, percentage, amounts and rate.
func (p *progress) line(done, total int64, elapsed time.Duration) string {
	const width = 30
	frac := 0.0
	if total > 0 {
		frac = min(1, float64(done)/float64(total))
	}
	n := int(frac * width)
	bar := strings.Repeat("=", n) + strings.Repeat(" ", width-n)
	if n < width && n > 0 {
		bar = bar[:n-1] + ">" + bar[n:]
	}
	s := fmt.Sprintf("%s [%s] %3.0f%% %s/%s", p.label, bar, frac*100, p.amount(done), p.amount(total))
	if secs := elapsed.Seconds(); secs > 0.05 {
		s += fmt.Sprintf(" %s/s", p.amount(int64(float64(done)/secs)))
	}
	return s
}

func (p *progress) amount(n int64) string {
	if p.unit == "B" {
		return bytesText(n)
	}
	return fmt.Sprint(n)
}

// finish clears the line so that the command's own output starts clean.
func (p *progress) finish() {
	if p.w != nil && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// bytesText is n in B, KB, MB or GB (powers of 1000, as disks count).
func bytesText(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f KB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
