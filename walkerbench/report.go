package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/walkerdb/walkerdb/internal/version"
)

// Report is the whole output of a run; --json prints it as it is.
type Report struct {
	Tool     string       `json:"tool"` // "walkerbench"
	Version  string       `json:"version"`
	Mode     string       `json:"mode"` // "server" or "engine"
	Started  time.Time    `json:"started"`
	Workload WorkloadJSON `json:"workload"`
	Targets  []TargetJSON `json:"targets"`
	Results  []*Result    `json:"results"` // every test of every target, targets in order
}

// TargetJSON is one target as it was given.
type TargetJSON struct {
	Name    string `json:"name"`
	Address string `json:"address"`        // RESP address; engine: directory ("" temporary)
	Sync    string `json:"sync,omitempty"` // engine
}

// WorkloadJSON is the workload, the same for every target.
type WorkloadJSON struct {
	Tests        []string `json:"tests"`
	Clients      int      `json:"clients"`
	Threads      int      `json:"threads"` // GOMAXPROCS of walkerbench
	Pipeline     int      `json:"pipeline,omitempty"`
	Ratio        string   `json:"ratio"` // set:get of mixed
	Keys         int      `json:"keys"`
	Distribution string   `json:"distribution"`
	ZipfS        float64  `json:"zipf_exponent,omitempty"`
	KeySize      int      `json:"key_size"`
	ValueSize    int      `json:"value_size"`
	MsetKeys     int      `json:"mset_keys,omitempty"`
	BatchSize    int      `json:"batch_size,omitempty"`
	DurationS    float64  `json:"duration_s,omitempty"`
	Requests     int64    `json:"requests,omitempty"`
	WarmupS      float64  `json:"warmup_s"`
	Rate         float64  `json:"rate,omitempty"` // requests/s; 0 = closed loop
	OpenLoop     bool     `json:"open_loop"`
	Level        string   `json:"level,omitempty"`
	Prefill      bool     `json:"prefill"`
	Verify       float64  `json:"verify"`
	Seed         uint64   `json:"seed"`
}

func newReport(mode string, w *workload, targets []target, keyLen int) *Report {
	r := &Report{Tool: "walkerbench", Version: version.String(), Mode: mode, Started: time.Now().UTC()}
	r.Workload = WorkloadJSON{
		Tests: w.tests, Clients: w.clients, Threads: w.threads, Ratio: fmt.Sprintf("%d:%d", w.setWeight, w.getWeight),
		Keys: w.keys, Distribution: w.dist, KeySize: keyLen, ValueSize: w.valueSize,
		DurationS: w.duration.Seconds(), Requests: w.requests, WarmupS: w.warmup.Seconds(),
		Rate: w.rate, OpenLoop: w.rate > 0, Prefill: w.prefill, Verify: w.verify, Seed: w.seed,
	}
	if w.requests > 0 {
		r.Workload.DurationS = 0
	}
	if w.dist == "zipfian" {
		r.Workload.ZipfS = w.zipfS
	}
	if mode == "server" {
		r.Workload.Pipeline = w.pipeline
		r.Workload.Level = map[string]string{"0": "default", "1": "stale", "2": "consistent"}[w.level]
		for _, t := range w.tests {
			if t == "mset" {
				r.Workload.MsetKeys = w.msetKeys
			}
		}
	} else {
		for _, t := range w.tests {
			if t == "batch" {
				r.Workload.BatchSize = w.batchSize
			}
		}
	}
	for _, t := range targets {
		r.Targets = append(r.Targets, TargetJSON{Name: t.name, Address: t.addr, Sync: t.sync})
	}
	return r
}

func (r *Report) writeJSON(out io.Writer) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// errorCount is the sum of errors over all results.
func (r *Report) errorCount() int64 {
	var n int64
	for _, res := range r.Results {
		n += res.Errors + res.WarmupErrors
	}
	return n
}

// writeText prints the human report: one column per target, the first
// target the baseline of the ratios.
func (r *Report) writeText(out io.Writer) {
	w := r.Workload
	var head []string
	head = append(head, fmt.Sprintf("walkerbench %s", map[string]string{"server": "run", "engine": "engine"}[r.Mode]))
	head = append(head, fmt.Sprintf("%d clients", w.Clients), plural(w.Threads, "thread"))
	if r.Mode == "server" {
		head = append(head, fmt.Sprintf("pipeline %d", w.Pipeline))
	}
	dist := w.Distribution
	if w.ZipfS > 0 {
		dist += fmt.Sprintf(" (s=%g)", w.ZipfS)
	}
	head = append(head, fmt.Sprintf("%s keys %s", commas(int64(w.Keys)), dist))
	head = append(head, fmt.Sprintf("%d B keys, %d B values", w.KeySize, w.ValueSize))
	if w.Requests > 0 {
		head = append(head, fmt.Sprintf("%s requests per test", commas(w.Requests)))
	} else {
		head = append(head, fmt.Sprintf("%gs per test", w.DurationS))
	}
	if w.WarmupS > 0 {
		head = append(head, fmt.Sprintf("warm-up %gs", w.WarmupS))
	}
	fmt.Fprintln(out, strings.Join(head, " · "))
	for _, t := range w.Tests {
		if t == "mixed" && r.Mode == "engine" {
			fmt.Fprintf(out, "mixed: put:get %s\n", w.Ratio)
		} else if t == "mixed" {
			fmt.Fprintf(out, "mixed: set:get %s\n", w.Ratio)
		}
	}
	switch {
	case w.OpenLoop:
		fmt.Fprintf(out, "open loop at %s requests/s: latency runs from each request's intended start\n", commas(int64(w.Rate)))
	case r.Mode == "engine":
		fmt.Fprintln(out, "closed loop: latency is each call's")
	default:
		fmt.Fprintln(out, "closed loop: latency runs from each request's send")
	}

	tab := &table{}
	row := []string{""}
	for _, t := range r.Targets {
		row = append(row, t.Name)
	}
	tab.add(row...)
	// A second header row with addresses, when they say more than the names.
	row = []string{""}
	more := false
	for _, t := range r.Targets {
		a := t.Address
		if r.Mode == "engine" && a == "" {
			a = "(temporary directory)"
		}
		more = more || a != t.Name && t.Address != ""
		row = append(row, a)
	}
	if more {
		tab.add(row...)
	}

	byTest := map[string][]*Result{}
	anyUnknown := false
	for _, res := range r.Results {
		byTest[res.Test] = append(byTest[res.Test], res)
		anyUnknown = anyUnknown || res.Unknown > 0
	}
	var notes []string
	for _, test := range w.Tests {
		rs := make([]*Result, len(r.Targets))
		for _, res := range byTest[test] {
			for i, t := range r.Targets {
				if t.Name == res.Target && rs[i] == nil {
					rs[i] = res
					break
				}
			}
		}
		tab.add(test)
		line := func(label string, ratio bool, f func(*Result) (string, float64)) {
			row := []string{"  " + label}
			var base float64
			for i, res := range rs {
				if res == nil {
					row = append(row, "-")
					continue
				}
				s, v := f(res)
				if i == 0 {
					base = v
				} else if ratio && base > 0 {
					s += " (" + fmtRatio(v/base) + ")"
				}
				row = append(row, s)
			}
			tab.add(row...)
		}
		line("ops/s", true, func(res *Result) (string, float64) { return commas(int64(res.OpsPerSec)), res.OpsPerSec })
		line("requests", false, func(res *Result) (string, float64) { return commas(res.Requests), 0 })
		line("replies", false, func(res *Result) (string, float64) { return commas(res.Replies), 0 })
		if anyUnknown {
			line("unknown", false, func(res *Result) (string, float64) { return commas(res.Unknown), 0 })
		}
		line("errors", false, func(res *Result) (string, float64) { return commas(res.Errors), 0 })
		for _, p := range []struct {
			name string
			f    func(Latency) float64
		}{
			{"p50", func(l Latency) float64 { return l.P50 }},
			{"p90", func(l Latency) float64 { return l.P90 }},
			{"p99", func(l Latency) float64 { return l.P99 }},
			{"p99.9", func(l Latency) float64 { return l.P999 }},
			{"max", func(l Latency) float64 { return l.Max }},
		} {
			line(p.name, true, func(res *Result) (string, float64) { v := p.f(res.Latency); return fmtDuration(v), v })
		}
		if w.OpenLoop {
			line("send lag p99", false, func(res *Result) (string, float64) {
				if res.SendLag == nil {
					return "-", 0
				}
				return fmtDuration(res.SendLag.P99), 0
			})
		}
		line("duration", false, func(res *Result) (string, float64) { return fmt.Sprintf("%.2f s", res.DurationS), 0 })
		for _, res := range rs {
			if res == nil {
				continue
			}
			for _, k := range kindsSorted(res.ErrorsByKind) {
				notes = append(notes, fmt.Sprintf("%s %s: %s errors: %s", res.Target, res.Test, commas(res.ErrorsByKind[k]), k))
			}
			for _, s := range res.ErrorSamples {
				notes = append(notes, fmt.Sprintf("%s %s: e.g. %s", res.Target, res.Test, s))
			}
			for _, n := range res.Notes {
				notes = append(notes, fmt.Sprintf("%s %s: %s", res.Target, res.Test, n))
			}
			if res.Interrupted {
				notes = append(notes, fmt.Sprintf("%s %s: interrupted", res.Target, res.Test))
			}
			if res.Overflow > 0 {
				notes = append(notes, fmt.Sprintf("%s %s: %d latencies above %v, counted as %v", res.Target, res.Test, res.Overflow, time.Duration(histMax), time.Duration(histMax)))
			}
		}
	}
	tab.write(out)
	for _, n := range notes {
		fmt.Fprintln(out, n)
	}
}

// table lines up columns of text.
type table struct{ rows [][]string }

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(out io.Writer) {
	var widths []int
	for _, r := range t.rows {
		if len(r) == 1 {
			continue // a section title may run over the columns
		}
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	for _, r := range t.rows {
		var b strings.Builder
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-len([]rune(c))+3))
			}
		}
		fmt.Fprintln(out, strings.TrimRight(b.String(), " "))
	}
}

// commas writes n with thousands separators.
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// fmtRatio writes a ratio with two decimals, or two significant digits
// when it is smaller than 0.1.
func fmtRatio(r float64) string {
	d := 2
	if r > 0 && r < 0.1 {
		d = int(-math.Floor(math.Log10(r))) + 1
	}
	return strconv.FormatFloat(r, 'f', d, 64) + "x"
}

// fmtDuration writes a latency given in milliseconds in a unit that fits.
func fmtDuration(msec float64) string {
	ns := msec * 1e6
	switch {
	case ns < 1e3:
		return fmt.Sprintf("%.0f ns", ns)
	case ns < 1e4:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	case ns < 1e6:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	case ns < 1e7:
		return fmt.Sprintf("%.3f ms", ns/1e6)
	case ns < 1e8:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns < 1e9:
		return fmt.Sprintf("%.1f ms", ns/1e6)
	}
	return fmt.Sprintf("%.3f s", ns/1e9)
}
