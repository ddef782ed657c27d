package server

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The latency monitor (LATENCY LATEST, HISTORY, RESET, DOCTOR): while
// latency-monitor-threshold is above 0, every run of a command that took
// at least that many milliseconds is a sample of the event "command", or
// "fast-command" for a command flagged fast, and a sweep of expired keys
// that took that long one of "expire-cycle", as latency.c records them.
// Each event keeps its last 160 samples, one per second (a second's
// samples keep their maximum), and its all-time maximum.
//
// LATENCY HISTOGRAM reads the per-command histograms of stats.go: the
// cumulative count of runs at or below each power of two of microseconds
// (1024·2^k ns, as latency.c walks its HdrHistogram), listed where it
// changes. LATENCY GRAPH draws an event's samples as latency.c does: a
// header, then one column per sample, four rows high on a log scale, with
// the sample's age written down below it.

const latencySamples = 160 // LATENCY_TS_LEN

type latencySample struct {
	at int64 // unix seconds
	ms int64
}

type latencySeries struct {
	samples []latencySample // oldest first, at most latencySamples
	max     int64
}

type latencyMonitor struct {
	mu     sync.Mutex
	events map[string]*latencySeries
}

// add records a sample of event.
func (m *latencyMonitor) add(event string, ms int64, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.events == nil {
		m.events = map[string]*latencySeries{}
	}
	ts := m.events[event]
	if ts == nil {
		ts = &latencySeries{}
		m.events[event] = ts
	}
	at := now.Unix()
	ts.max = max(ts.max, ms)
	if n := len(ts.samples); n > 0 && ts.samples[n-1].at == at {
		ts.samples[n-1].ms = max(ts.samples[n-1].ms, ms)
		return
	}
	if len(ts.samples) == latencySamples {
		copy(ts.samples, ts.samples[1:])
		ts.samples = ts.samples[:latencySamples-1]
	}
	ts.samples = append(ts.samples, latencySample{at, ms})
}

// names lists the events with samples, sorted.
func (m *latencyMonitor) names() []string {
	var out []string
	for n := range m.events {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// sampleLatency records a sample of a background event (expire-cycle)
// when the monitor is on and d reaches its threshold.
func (s *Server) sampleLatency(event string, d time.Duration) {
	if t := s.st.latThreshMs.Load(); t > 0 && d.Milliseconds() >= t {
		s.st.lat.add(event, d.Milliseconds(), s.now())
	}
}

func cmdLatencyLatest(s *Server, c *client, args [][]byte) {
	m := &s.st.lat
	m.mu.Lock()
	defer m.mu.Unlock()
	names := m.names()
	c.array(len(names))
	for _, n := range names {
		ts := m.events[n]
		last := ts.samples[len(ts.samples)-1]
		c.array(4)
		c.bulkString(n)
		c.integer(last.at)
		c.integer(last.ms)
		c.integer(ts.max)
	}
}

func cmdLatencyHistory(s *Server, c *client, args [][]byte) {
	m := &s.st.lat
	m.mu.Lock()
	defer m.mu.Unlock()
	ts := m.events[string(args[2])]
	if ts == nil {
		c.array(0)
		return
	}
	c.array(len(ts.samples))
	for _, smp := range ts.samples {
		c.array(2)
		c.integer(smp.at)
		c.integer(smp.ms)
	}
}

func cmdLatencyReset(s *Server, c *client, args [][]byte) {
	m := &s.st.lat
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	if len(args) == 2 {
		n = len(m.events)
		m.events = nil
	} else {
		for _, a := range args[2:] {
			if _, ok := m.events[string(a)]; ok {
				delete(m.events, string(a))
				n++
			}
		}
	}
	c.integer(int64(n))
}

func cmdLatencyGraph(s *Server, c *client, args [][]byte) {
	m := &s.st.lat
	m.mu.Lock()
	defer m.mu.Unlock()
	event := string(args[2])
	ts := m.events[event]
	if ts == nil {
		c.errorReply(fmt.Sprintf("ERR No samples available for event '%s'", event))
		return
	}
	c.verbatim(latencyGraph(event, ts, s.now().Unix()))
}

// latencyGraph draws ts: the header latency.c writes, then the samples as
// columns four rows high on a log scale ("_-`" within a row, '|' filling
// the rows below the top), then each sample's age ("13s", "2m", "1h",
// "3d") written downwards under its column.
func latencyGraph(event string, ts *latencySeries, now int64) string {
	const rows, levels = 4, 3
	lo, hi := ts.samples[0].ms, ts.samples[0].ms
	for _, smp := range ts.samples {
		lo, hi = min(lo, smp.ms), max(hi, smp.ms)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s - high %d ms, low %d ms (all time high %d ms)\n", event, hi, lo, ts.max)
	b.WriteString(strings.Repeat("-", 80) + "\n")
	steps := make([]int, len(ts.samples))
	span := math.Log(float64(hi-lo) + 1)
	for i, smp := range ts.samples {
		if span > 0 {
			steps[i] = int(math.Log(float64(smp.ms-lo)+1) / span * (rows*levels - 1))
		}
	}
	for r := range rows {
		line := make([]byte, len(steps))
		for i, st := range steps {
			switch idx := st - (rows-1-r)*levels; {
			case idx < 0:
				line[i] = ' '
			case idx < levels:
				line[i] = "_-`"[idx]
			default:
				line[i] = '|'
			}
		}
		b.WriteString(strings.TrimRight(string(line), " ") + "\n")
	}
	labels := make([]string, len(ts.samples))
	longest := 0
	for i, smp := range ts.samples {
		age := now - smp.at
		switch {
		case age < 60:
			labels[i] = fmt.Sprintf("%ds", age)
		case age < 3600:
			labels[i] = fmt.Sprintf("%dm", age/60)
		case age < 86400:
			labels[i] = fmt.Sprintf("%dh", age/3600)
		default:
			labels[i] = fmt.Sprintf("%dd", age/86400)
		}
		longest = max(longest, len(labels[i]))
	}
	for r := range longest {
		line := make([]byte, len(labels))
		for i, l := range labels {
			line[i] = ' '
			if r < len(l) {
				line[i] = l[r]
			}
		}
		b.WriteString(strings.TrimRight(string(line), " ") + "\n")
	}
	return b.String()
}

func cmdLatencyDoctor(s *Server, c *client, args [][]byte) {
	c.verbatim(s.latencyReport())
}

// latencyReport is LATENCY DOCTOR's text: Redis's words for a monitor that
// is off or saw nothing; otherwise each event's figures (as latency.c's
// analyzeLatencyForEvent computes them) and what to look at here.
func (s *Server) latencyReport() string {
	m := &s.st.lat
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.events) == 0 {
		if s.st.latThreshMs.Load() == 0 {
			return `I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use "CONFIG SET latency-monitor-threshold <milliseconds>." in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.` + "\n"
		}
		return "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n"
	}
	now := s.now().Unix()
	var b strings.Builder
	b.WriteString("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n")
	advice := map[string]bool{}
	for i, n := range m.names() {
		ts := m.events[n]
		var sum int64
		for _, smp := range ts.samples {
			sum += smp.ms
		}
		cnt := int64(len(ts.samples))
		avg := sum / cnt
		var dev int64
		for _, smp := range ts.samples {
			dev += max(smp.ms-avg, avg-smp.ms)
		}
		// The period is the time since the oldest sample, per sample.
		period := float64(now-ts.samples[0].at) / float64(cnt)
		fmt.Fprintf(&b, "%d. %s: %d latency spikes (average %dms, mean deviation %dms, period %.2f sec). Worst all time event %dms.\n",
			i+1, n, cnt, avg, dev/cnt, period, ts.max)
		advice[n] = true
	}
	b.WriteString("\nI have a few advices for you:\n\n")
	if advice["command"] || advice["fast-command"] {
		b.WriteString("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n")
		b.WriteString("- A write waits for its Raft log entry to be committed by a majority and synced to disk: check the raft section of INFO (commit and apply latency) and the disks of the voters.\n")
	}
	if advice["fast-command"] {
		b.WriteString("- The system is slow to execute Redis code paths not containing slow commands. This may signal a CPU or scheduling problem: check the load of the machine and of its other processes.\n")
	}
	if advice["expire-cycle"] {
		b.WriteString("- Deleting expired keys takes long: many keys with the same expire time expire together. Spread their TTLs (a random part) so that they do not.\n")
	}
	return b.String()
}

func cmdLatencyHistogram(s *Server, c *client, args [][]byte) {
	all := s.st.commandStats()
	var list []CommandStats
	if len(args) == 2 {
		list = all
	} else {
		// Named commands, in the order given, each once; unknown names
		// and commands never run are left out, as latency.c does.
		seen := map[string]bool{}
		for _, a := range args[2:] {
			name := strings.ToLower(string(a))
			if seen[name] {
				continue
			}
			seen[name] = true
			for _, cs := range all {
				if cs.Name == name {
					list = append(list, cs)
				}
			}
		}
	}
	var withCalls []CommandStats
	for _, cs := range list {
		if cs.Latency.Count() > 0 {
			withCalls = append(withCalls, cs)
		}
	}
	c.w.Map(len(withCalls))
	for _, cs := range withCalls {
		c.bulkString(cs.Name)
		c.w.Map(2)
		c.bulkString("calls")
		c.integer(cs.Calls)
		c.bulkString("histogram_usec")
		steps := cs.Latency.powerSteps()
		c.w.Map(len(steps))
		for _, st := range steps {
			c.integer(st[0])
			c.integer(st[1])
		}
	}
}

// powerSteps are LATENCY HISTOGRAM's buckets: [µs, cumulative count] at
// each power of two from 1024 ns where the count grows.
func (l *Latency) powerSteps() [][2]int64 {
	var out [][2]int64
	var prev uint64
	for e := 10; e < 41 && prev < l.total; e++ {
		n := l.CountAtMost(time.Duration(uint64(1)<<e - 1))
		if e == 40 {
			n = l.total
		}
		if n > prev {
			out = append(out, [2]int64{int64(uint64(1)<<e) / 1000, int64(n)})
			prev = n
		}
	}
	return out
}

// percentileLine is one latencystats line's value:
// "p50=1.003,p99=3.007,p99.9=5.023", in µs.
func percentileLine(l *Latency, ps []float64) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "p%s=%.3f", strconv.FormatFloat(p, 'f', -1, 64), float64(l.Percentile(p))/1000)
	}
	return b.String()
}

var latencyHelp = []string{
	"LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"DOCTOR",
	"    Return a human readable latency analysis report.",
	"GRAPH <event>",
	"    Return an ASCII latency graph for the <event> class.",
	"HISTORY <event>",
	"    Return time-latency samples for the <event> class.",
	"LATEST",
	"    Return the latest latency samples for all events.",
	"RESET [<event> ...]",
	"    Reset latency data of one or more <event> classes.",
	"    (default: reset all data for all event classes)",
	"HISTOGRAM [COMMAND ...]",
	"    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
	"    If no commands are specified then all histograms are replied.",
	"HELP",
	"    Prints this help.",
}

// statsParams are the CONFIG parameters of the statistics: the slow log,
// the latency monitor and latency tracking, with Redis's names, defaults
// and ranges (config.c).
func statsParams() map[string]configParam {
	return map[string]configParam{
		"slowlog-log-slower-than": intParam(-1, func(s *Server) int64 { return s.st.slowerThan.Load() },
			func(s *Server, n int64) { s.st.slowerThan.Store(n) }),
		"slowlog-max-len": intParam(0, func(s *Server) int64 { return s.st.slowMaxLen.Load() },
			func(s *Server, n int64) { s.st.slowMaxLen.Store(n) }),
		"latency-monitor-threshold": intParam(0, func(s *Server) int64 { return s.st.latThreshMs.Load() },
			func(s *Server, n int64) { s.st.latThreshMs.Store(n) }),
		"latency-tracking": {
			get: func(s *Server) string { return yesNo(s.st.tracking.Load()) },
			check: func(v []byte) error {
				if _, ok := parseYesNo(v); !ok {
					return fmt.Errorf("argument must be 'yes' or 'no'")
				}
				return nil
			},
			set: func(s *Server, v []byte) error {
				b, _ := parseYesNo(v)
				s.st.tracking.Store(b)
				return nil
			},
		},
		"latency-tracking-info-percentiles": {
			get: func(s *Server) string {
				var parts []string
				for _, p := range *s.st.percentiles.Load() {
					parts = append(parts, strconv.FormatFloat(p, 'f', -1, 64))
				}
				return strings.Join(parts, " ")
			},
			check: func(v []byte) error { _, err := parsePercentiles(v); return err },
			set: func(s *Server, v []byte) error {
				ps, err := parsePercentiles(v)
				if err == nil {
					s.st.percentiles.Store(&ps)
				}
				return err
			},
		},
	}
}

// parsePercentiles reads latency-tracking-info-percentiles: numbers from 0
// to 100 separated by spaces, or none (config.c's
// setConfigLatencyTrackingInfoPercentilesOutputOption).
func parsePercentiles(v []byte) ([]float64, error) {
	ps := []float64{}
	for _, f := range strings.Fields(string(v)) {
		p, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, fmt.Errorf("Invalid latency-tracking-info-percentiles parameters")
		}
		if p < 0 || p > 100 {
			return nil, fmt.Errorf("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
		}
		ps = append(ps, p)
	}
	return ps, nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func parseYesNo(v []byte) (bool, bool) {
	switch strings.ToLower(string(v)) {
	case "yes":
		return true, true
	case "no":
		return false, true
	}
	return false, false
}

// latencystatsSection writes INFO's latencystats lines: none while
// latency-tracking is no, as Redis.
func (s *Server) latencystatsSection(b *strings.Builder) {
	if !s.st.tracking.Load() {
		return
	}
	ps := *s.st.percentiles.Load()
	for _, cs := range s.st.commandStats() {
		if cs.Latency.Count() == 0 {
			continue
		}
		fmt.Fprintf(b, "latency_percentiles_usec_%s:%s\r\n", cs.Name, percentileLine(&cs.Latency, ps))
	}
}
