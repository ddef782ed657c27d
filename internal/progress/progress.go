// Package progress draws one status line on a terminal, redrawn in place
// with \r, for the long work of WalkerDB's tools (walkerdump's merge,
// verify, recover, restore and export; walkerctl's backup):
//
//	merge [=====>                        ]  18% 180.0 MB/1.00 GB 95.2 MB/s
//
// When the writer is not a terminal it draws nothing, so piped and
// scripted runs stay quiet. It is a few lines of code rather than a
// library: the libraries that fit pull in colour and width-detection
// packages for one line of text.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// Line is one progress line. Its methods are for one goroutine.
type Line struct {
	w        io.Writer // nil: quiet
	label    string
	unit     string // "B" formats done/total as bytes, else as counts
	start    time.Time
	last     time.Time
	drawn    bool
	interval time.Duration
}

// New returns a progress line drawn on w if w is a terminal, and a quiet
// one otherwise. unit "B" shows amounts as bytes (Bytes), anything else
// as plain counts.
func New(w io.Writer, label, unit string) *Line {
	p := &Line{label: label, unit: unit, start: time.Now(), interval: 100 * time.Millisecond}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.w = f
	}
	return p
}

// To returns a line drawn on w whatever w is, started at start and redrawn
// at most every interval: for tests.
func To(w io.Writer, label, unit string, start time.Time, interval time.Duration) *Line {
	return &Line{w: w, label: label, unit: unit, start: start, interval: interval}
}

// Update redraws the line, at most every interval (100 ms), and always at
// the end (done >= total).
func (p *Line) Update(done, total int64) {
	if p.w == nil {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < p.interval && done < total {
		return
	}
	p.last = now
	p.drawn = true
	fmt.Fprintf(p.w, "\r\033[K%s", p.Text(done, total, now.Sub(p.start)))
}

// Text is the status text: label, bar, percentage, amounts and rate.
func (p *Line) Text(done, total int64, elapsed time.Duration) string {
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

func (p *Line) amount(n int64) string {
	if p.unit == "B" {
		return Bytes(n)
	}
	return fmt.Sprint(n)
}

// Finish clears the line so that the command's own output starts clean.
func (p *Line) Finish() {
	if p.w != nil && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// Bytes is n in B, KB, MB or GB (powers of 1000, as disks count).
func Bytes(n int64) string {
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
