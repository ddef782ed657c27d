package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// phase is one timed stretch of one test against one target: a warm-up,
// whose figures are dropped, or the measured run. Clients ask it how much
// to send (closed loop) or when (open loop).
type phase struct {
	w       *workload
	test    string
	warm    bool
	t0      int64 // now() at the start
	end     int64 // duration mode: when no more requests start; 0 in count mode
	count   int64 // count mode: requests in all
	budget  atomic.Int64
	period  float64 // open loop: nanoseconds between requests, over all clients
	stopped atomic.Bool
	st      *stats
}

// claim returns how many of the next n requests a closed-loop client may
// send: n, fewer at the end of a count, 0 when the phase is over.
func (ph *phase) claim(n int) int {
	if ph.stopped.Load() {
		return 0
	}
	if ph.count > 0 {
		left := ph.budget.Add(-int64(n))
		switch {
		case left >= 0:
			return n
		case left+int64(n) > 0:
			return int(left + int64(n))
		}
		return 0
	}
	if now() >= ph.end {
		return 0
	}
	return n
}

// due returns when an open-loop client's k-th request is meant to start,
// or -1 if the phase has no such request. Requests are spread evenly over
// the clients: the g-th request overall is due at t0 + g/rate, and client
// c sends requests c, c+clients, c+2*clients, ...
func (ph *phase) due(client, k int) int64 {
	if ph.stopped.Load() {
		return -1
	}
	g := int64(k)*int64(ph.w.clients) + int64(client)
	if ph.count > 0 && g >= ph.count {
		return -1
	}
	t := ph.t0 + int64(float64(g)*ph.period)
	if ph.count == 0 && t >= ph.end {
		return -1
	}
	return t
}

// remaining counts an open-loop client's requests from its k-th on, for
// a client that can no longer send them.
func (ph *phase) remaining(client, k int) int64 {
	var n int64
	for ; ph.due(client, k) >= 0; k++ {
		n++
	}
	return n
}

// earlySend is how soon before it is due an open-loop request may be
// sent rather than waited for; its latency is then counted from when it
// was actually sent.
const earlySend = 50 * time.Microsecond

// runPhase runs body once per client, concurrently, and gathers what they
// recorded in ph.st.
func runPhase(ctx context.Context, w *workload, tg target, test string, warm bool, prog *progress, body func(ph *phase, client int)) *Result {
	ph := &phase{w: w, test: test, warm: warm, st: newStats(w.clients)}
	if w.rate > 0 {
		ph.period = 1e9 / w.rate
	}
	ph.st.start = time.Now()
	ph.t0 = now()
	switch {
	case warm:
		ph.end = ph.t0 + int64(w.warmup)
	case w.requests > 0:
		ph.count = w.requests
		ph.budget.Store(w.requests)
	default:
		ph.end = ph.t0 + int64(w.duration)
	}

	done := make(chan struct{})
	var samp *sampler
	var bg sync.WaitGroup
	bg.Add(1)
	go func() {
		defer bg.Done()
		samp = &sampler{st: ph.st, lastT: ph.st.start}
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		label := tg.name + " " + test
		if warm {
			label += " (warm-up)"
		}
		cancelled := ctx.Done()
		for n := 1; ; n++ {
			select {
			case <-cancelled:
				ph.stopped.Store(true)
				cancelled = nil
			case <-done:
				samp.tick(time.Now())
				prog.clear()
				return
			case t := <-tick.C:
				samp.tick(t)
				if n%3 == 0 {
					prog.show(label, ph.st, t)
				}
			}
		}
	}()

	var wg sync.WaitGroup
	for i := range w.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body(ph, i)
		}()
	}
	wg.Wait()
	elapsed := time.Since(ph.st.start)
	// A closed-loop count that no client could finish (every connection
	// failed) ends in errors, so that requests add up to the count asked
	// for. (Open-loop clients count what they could not send themselves.)
	if left := ph.budget.Load(); ph.count > 0 && ph.period == 0 && left > 0 && !ph.stopped.Load() {
		ctr := &ph.st.clients[0]
		ctr.requests.Add(left)
		ph.st.fail(ctr, "io: not sent, every connection lost", left, "")
	}
	close(done)
	bg.Wait()
	r := ph.st.result(tg, test, elapsed, samp.samples, w.rate > 0)
	r.Interrupted = ph.stopped.Load()
	return r
}

// progress reports on stderr while walkerbench works. When stderr is a
// terminal (live) it keeps one line rewritten in place: ops/s, errors and
// p99 so far during a test, the keys written during a prefill. Otherwise
// only long work (a prefill) prints, a plain line every lineEvery, so
// that a log shows where the time went. A nil progress prints nothing.
type progress struct {
	out    io.Writer
	live   bool
	mu     sync.Mutex
	lastOK int64
	lastT  time.Time
	lastSt *stats
}

// lineEvery is how often long work prints a line when stderr is not a
// terminal.
var lineEvery = 10 * time.Second

func (p *progress) show(label string, st *stats, t time.Time) {
	if p == nil || !p.live {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _, ok, errs := st.totals()
	if p.lastSt != st {
		p.lastSt, p.lastOK, p.lastT = st, 0, st.start
	}
	rate := float64(ok-p.lastOK) / t.Sub(p.lastT).Seconds()
	p.lastOK, p.lastT = ok, t
	lat, _, _ := st.merged()
	fmt.Fprintf(p.out, "\r%s  %5.1fs  %s ops/s  errors %d  p99 %s\x1b[K",
		label, t.Sub(st.start).Seconds(), commas(int64(rate)), errs, fmtDuration(ms(lat.ValueAtQuantile(99))))
}

// count reports work of a known size while it runs: done() of total
// items, every 300 ms on a terminal, every lineEvery otherwise. The
// returned stop ends the reports and clears the line.
func (p *progress) count(label, unit string, total int64, done func() int64) (stop func()) {
	if p == nil || p.out == nil {
		return func() {}
	}
	start := time.Now()
	every := lineEvery
	if p.live {
		every = 300 * time.Millisecond
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case t := <-tick.C:
				line := countLine(label, unit, done(), total, t.Sub(start))
				p.mu.Lock()
				if p.live {
					fmt.Fprintf(p.out, "\r%s\x1b[K", line)
				} else {
					fmt.Fprintln(p.out, line)
				}
				p.mu.Unlock()
			}
		}
	}()
	return func() {
		close(quit)
		<-finished
		p.clear()
	}
}

// countLine is one report of count: "walkerd: prefill 1,200,000 of
// 10,000,000 keys (12%), 41,379 keys/s, about 3m33s left, 29s so far".
func countLine(label, unit string, done, total int64, elapsed time.Duration) string {
	s := fmt.Sprintf("%s %s of %s %s", label, commas(done), commas(total), unit)
	if total > 0 {
		s += fmt.Sprintf(" (%d%%)", done*100/total)
	}
	if sec := elapsed.Seconds(); sec > 0 {
		rate := float64(done) / sec
		s += fmt.Sprintf(", %s %s/s", commas(int64(rate)), unit)
		if rate > 0 && done < total {
			left := time.Duration(float64(total-done) / rate * float64(time.Second))
			s += fmt.Sprintf(", about %v left", left.Round(time.Second))
		}
	}
	return s + fmt.Sprintf(", %v so far", elapsed.Round(time.Second))
}

func (p *progress) clear() {
	if p == nil || !p.live {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.out, "\r\x1b[K")
}
