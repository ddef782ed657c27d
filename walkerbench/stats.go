package main

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in nanoseconds, 1 ns to histMax, to three
// significant digits (an error of at most 0.1%). Longer ones are recorded
// as histMax and counted in overflow.
const histMax = int64(5 * time.Minute)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, histMax, 3) }

// counters are one client's running totals, read by the sampler while the
// client writes them.
type counters struct {
	requests atomic.Int64 // commands sent (or engine calls started)
	replies  atomic.Int64 // replies read (or engine calls returned)
	ok       atomic.Int64 // replies that were right
	errors   atomic.Int64 // requests that did not end ok: error replies, mismatches, lost
	unknown  atomic.Int64 // writes answered -UNKNOWN: neither ok nor errors
	_        [88]byte     // keep clients off each other's cache lines
}

// shard is a latency histogram shared by a few clients.
type shard struct {
	mu       sync.Mutex
	hist     *hdrhistogram.Histogram
	lag      *hdrhistogram.Histogram // open loop: how late requests were sent
	overflow int64
	_        [64]byte
}

func (s *shard) record(lat int64) {
	if lat < 1 {
		lat = 1
	}
	if lat > histMax {
		lat = histMax
		s.overflow++
	}
	s.hist.RecordValue(lat)
}

// stats gathers one phase of one test against one target.
type stats struct {
	start   time.Time
	clients []counters
	shards  []shard

	mu       sync.Mutex
	errKinds map[string]int64
	samples  []string // a few examples of mismatches, for the report
}

const maxShards = 16

func newStats(clients int) *stats {
	st := &stats{clients: make([]counters, clients), shards: make([]shard, min(clients, maxShards)), errKinds: map[string]int64{}}
	for i := range st.shards {
		st.shards[i].hist = newHist()
		st.shards[i].lag = newHist()
	}
	return st
}

func (st *stats) shardOf(client int) *shard { return &st.shards[client%len(st.shards)] }

// maxKinds bounds the distinct error kinds kept; the rest count as "other".
const maxKinds = 32

// fail counts n requests that did not end ok, of one kind. example, if
// not empty, is kept as a sample for the report.
func (st *stats) fail(c *counters, kind string, n int64, example string) {
	c.errors.Add(n)
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.errKinds[kind]; !ok && len(st.errKinds) >= maxKinds {
		kind = "other"
	}
	st.errKinds[kind] += n
	if example != "" && len(st.samples) < 5 && !slices.Contains(st.samples, example) {
		st.samples = append(st.samples, example)
	}
}

// unknown counts n requests whose outcome is unknown (walkerd's -UNKNOWN).
func (st *stats) unknown(c *counters, n int64) { c.unknown.Add(n) }

// unknowns sums the clients' requests of unknown outcome.
func (st *stats) unknowns() (n int64) {
	for i := range st.clients {
		n += st.clients[i].unknown.Load()
	}
	return n
}

// totals sums the clients' counters.
func (st *stats) totals() (requests, replies, ok, errors int64) {
	for i := range st.clients {
		c := &st.clients[i]
		requests += c.requests.Load()
		replies += c.replies.Load()
		ok += c.ok.Load()
		errors += c.errors.Load()
	}
	return
}

// merged returns the latencies and send lags of every shard together.
func (st *stats) merged() (lat, lag *hdrhistogram.Histogram, overflow int64) {
	lat, lag = newHist(), newHist()
	for i := range st.shards {
		s := &st.shards[i]
		s.mu.Lock()
		lat.Merge(s.hist)
		lag.Merge(s.lag)
		overflow += s.overflow
		s.mu.Unlock()
	}
	return lat, lag, overflow
}

// errorKind turns an error reply into a kind to count by: its code and
// message, without the arguments Redis echoes back (which hold keys).
func errorKind(reply []byte) string {
	s := string(reply)
	if i := strings.Index(s, ", with args"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return "reply: " + s
}

// sample is one point of the throughput timeline.
type sample struct {
	T         float64 `json:"t_s"`         // seconds since the phase started, end of the interval
	OpsPerSec float64 `json:"ops_per_sec"` // right replies per second in the interval
	Errors    int64   `json:"errors"`      // errors in the interval
}

// sampler records the throughput of a phase every interval.
type sampler struct {
	st      *stats
	samples []sample
	lastOK  int64
	lastErr int64
	lastT   time.Time
}

func (s *sampler) tick(now time.Time) {
	_, _, ok, errs := s.st.totals()
	dt := now.Sub(s.lastT).Seconds()
	if dt <= 0 {
		return
	}
	s.samples = append(s.samples, sample{
		T:         now.Sub(s.st.start).Seconds(),
		OpsPerSec: float64(ok-s.lastOK) / dt,
		Errors:    errs - s.lastErr,
	})
	s.lastOK, s.lastErr, s.lastT = ok, errs, now
}

// Result is what one test against one target measured: the unit of both
// the human report and --json.
type Result struct {
	Target  string `json:"target"`  // name
	Address string `json:"address"` // RESP address, or engine directory
	Test    string `json:"test"`

	DurationS float64 `json:"duration_s"` // of the measured phase
	Requests  int64   `json:"requests"`   // sent
	Replies   int64   `json:"replies"`    // read
	OK        int64   `json:"ok"`         // right replies
	Unknown   int64   `json:"unknown"`    // writes answered -UNKNOWN: the outcome is unknown (not errors)
	Errors    int64   `json:"errors"`     // requests - ok - unknown: error replies, mismatches, lost
	OpsPerSec float64 `json:"ops_per_sec"`

	ErrorsByKind map[string]int64 `json:"errors_by_kind"`
	WarmupErrors int64            `json:"warmup_errors,omitempty"` // errors of the unmeasured warm-up, not in the figures above
	ErrorSamples []string         `json:"error_samples,omitempty"`

	Latency      Latency      `json:"latency_ms"`
	Distribution []Percentile `json:"latency_distribution"`
	SendLag      *Latency     `json:"send_lag_ms,omitempty"` // open loop only
	Timeline     []sample     `json:"timeline"`
	Overflow     int64        `json:"latency_overflow,omitempty"`
	Interrupted  bool         `json:"interrupted,omitempty"`
	Notes        []string     `json:"notes,omitempty"`
}

// Latency is a summary in milliseconds.
type Latency struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean"`
	Min   float64 `json:"min"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99_9"`
	P9999 float64 `json:"p99_99"`
	Max   float64 `json:"max"`
}

// Percentile is one point of the latency distribution.
type Percentile struct {
	Percentile float64 `json:"percentile"`
	Ms         float64 `json:"ms"`
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }

func summarize(h *hdrhistogram.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	return Latency{
		Count: h.TotalCount(),
		Mean:  h.Mean() / 1e6,
		Min:   ms(h.Min()),
		P50:   ms(h.ValueAtQuantile(50)),
		P90:   ms(h.ValueAtQuantile(90)),
		P99:   ms(h.ValueAtQuantile(99)),
		P999:  ms(h.ValueAtQuantile(99.9)),
		P9999: ms(h.ValueAtQuantile(99.99)),
		Max:   ms(h.Max()),
	}
}

// distribution lists the latency at percentiles that halve the distance
// to 100% at each step (50, 75, 87.5, ...), as HdrHistogram plots do,
// ending with the maximum.
func distribution(h *hdrhistogram.Histogram) []Percentile {
	if h.TotalCount() == 0 {
		return nil
	}
	var out []Percentile
	for _, b := range h.CumulativeDistributionWithTicks(5) {
		p := Percentile{Percentile: b.Quantile, Ms: ms(b.ValueAt)}
		if n := len(out); n > 0 && out[n-1].Percentile == p.Percentile {
			out[n-1] = p
			continue
		}
		out = append(out, p)
	}
	return out
}

// result builds the Result of a finished phase.
func (st *stats) result(tg target, test string, elapsed time.Duration, samples []sample, openLoop bool) *Result {
	req, rep, ok, errs := st.totals()
	unk := st.unknowns()
	lat, lag, overflow := st.merged()
	r := &Result{
		Target: tg.name, Address: tg.addr, Test: test,
		DurationS: elapsed.Seconds(), Requests: req, Replies: rep, OK: ok, Unknown: unk, Errors: errs,
		ErrorsByKind: map[string]int64{},
		Latency:      summarize(lat),
		Distribution: distribution(lat),
		Timeline:     samples,
		Overflow:     overflow,
	}
	if elapsed > 0 {
		r.OpsPerSec = float64(ok) / elapsed.Seconds()
	}
	st.mu.Lock()
	maps.Copy(r.ErrorsByKind, st.errKinds)
	r.ErrorSamples = slices.Clone(st.samples)
	st.mu.Unlock()
	// Every request ends ok, unknown or as an error; a gap is a bug in
	// walkerbench, and is reported rather than hidden.
	if req != ok+unk+errs {
		r.Notes = append(r.Notes, fmt.Sprintf("walkerbench accounting: %d requests but %d ok + %d unknown + %d errors", req, ok, unk, errs))
	}
	if unk > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%s writes of unknown outcome (-UNKNOWN: the leader was lost while they were in flight; each may or may not have been applied): not counted in ops/s, not errors", commas(unk)))
	}
	if openLoop {
		l := summarize(lag)
		r.SendLag = &l
		if l.P99 > 1 {
			r.Notes = append(r.Notes, fmt.Sprintf("send lag p99 %s: 1%% of requests left late (a busy machine, or a server not reading); their latency counts from when they were due", fmtDuration(l.P99)))
		}
	}
	return r
}

// addWarmup notes the errors of the warm-up w before the measured run r.
func (r *Result) addWarmup(w *Result) {
	if w == nil || w.Errors == 0 {
		return
	}
	r.WarmupErrors = w.Errors
	for _, k := range kindsSorted(w.ErrorsByKind) {
		r.Notes = append(r.Notes, fmt.Sprintf("warm-up: %s errors: %s", commas(w.ErrorsByKind[k]), k))
	}
}

// kindsSorted lists error kinds, most frequent first.
func kindsSorted(m map[string]int64) []string {
	ks := slices.Collect(maps.Keys(m))
	sort.Slice(ks, func(i, j int) bool {
		if m[ks[i]] != m[ks[j]] {
			return m[ks[i]] > m[ks[j]]
		}
		return ks[i] < ks[j]
	})
	return ks
}
