//go:build !linux

package main

import "time"

// pacer waits for an open-loop client's next request to be due. Outside
// Linux it sleeps on Go's timers, which may wake an idle program up to a
// millisecond late: open-loop latencies then include that.
type pacer struct{}

func newPacer() *pacer { return &pacer{} }

func (p *pacer) waitUntil(t int64) {
	for {
		d := time.Duration(t - now())
		if d <= earlySend {
			return
		}
		time.Sleep(d)
	}
}

func (p *pacer) close() {}
