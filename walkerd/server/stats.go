package server

import (
	"math/bits"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walkerdb/walkerdb/walkerd/command"
)

// The server's statistics: one record per command run, kept where every
// reader finds it. INFO's stats, commandstats, errorstats and latencystats
// sections, SLOWLOG, LATENCY and the Prometheus exporter (Server.Stats)
// all read these counters; none keeps its own.
//
// What a command run records (record, called by dispatch):
//
//	calls, usec        per command (subcommands apart: "client|list"),
//	                   as server.c's call() does; usec excludes the time a
//	                   blocking command waited (Redis counts only the run)
//	rejected_calls     refused before it ran: arity, NOAUTH, BUSY, ...
//	failed_calls       ran and answered an error
//	latency histogram  log-linear, 8 buckets per power of two of
//	                   nanoseconds (12.5% wide): the percentiles of INFO
//	                   latencystats, LATENCY HISTOGRAM's power-of-two
//	                   buckets and Prometheus's histogram come from it
//	errorstats         every error reply by its first word ("ERR",
//	                   "WRONGTYPE"), at most 128 kinds as Redis keeps
//	slowlog            a run at least slowlog-log-slower-than µs
//	latency monitor    a run at least latency-monitor-threshold ms, as
//	                   the "command" or "fast-command" event
//
// The hot path costs two clock reads and a few atomic adds; the slow log
// and the latency monitor take their lock only for a slow command.
type stats struct {
	cmds []atomic.Pointer[cmdStat] // by command.Spec.ID, allocated on first use

	errMu     sync.Mutex
	errs      map[string]*atomic.Int64 // errorstats, by error code
	errsTotal atomic.Int64             // total_error_replies

	keys command.KeyStats // keyspace_hits, keyspace_misses

	netIn, netOut atomic.Int64 // total_net_input_bytes, total_net_output_bytes
	reads, writes atomic.Int64 // total_reads_processed, total_writes_processed

	// inline counts the commands the event loop ran on its own thread,
	// handoffs the times it gave a connection to its goroutine, pended
	// the replies it left for the goroutine to write, and parked the
	// consistent reads it held for a leadership check and the writes it
	// held for their commit (evloop.go, commitloop.go); emptyReads counts
	// its reads that found the socket empty, each a system call spent for
	// nothing.
	inline, handoffs, pended, parked, emptyReads atomic.Int64

	sweepUs   atomic.Int64  // the sweeper's time in µs: expire_cycle_cpu_milliseconds
	peakHeap  atomic.Uint64 // used_memory_peak, MEMORY STATS's peak.allocated
	startHeap uint64        // used_memory_startup, startup.allocated

	// ops samples the counters every 100 ms for INFO's instantaneous_*
	// figures (server.c's trackInstantaneousMetric).
	ops, in, out meter

	slow slowlog
	lat  latencyMonitor

	slowerThan  atomic.Int64 // slowlog-log-slower-than, µs; negative: off
	slowMaxLen  atomic.Int64 // slowlog-log-max-len
	latThreshMs atomic.Int64 // latency-monitor-threshold, ms; 0: off
	tracking    atomic.Bool  // latency-tracking
	percentiles atomic.Pointer[[]float64]
}

// errorStatsLimit is how many error codes errorstats tracks (server.h's
// ERRORSTATS_LIMIT); errors of other codes count only in the total.
const errorStatsLimit = 128

func (st *stats) init() {
	st.cmds = make([]atomic.Pointer[cmdStat], command.Count())
	st.errs = map[string]*atomic.Int64{}
	st.slowerThan.Store(10000) // Redis's defaults
	st.slowMaxLen.Store(128)
	st.tracking.Store(true)
	p := []float64{50, 99, 99.9}
	st.percentiles.Store(&p)
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	st.peakHeap.Store(m.HeapAlloc)
	// The heap the last collection found live: HeapAlloc would count the
	// garbage of start-up too, and read more than the heap holds later.
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(live)
	st.startHeap = m.HeapAlloc
	if live[0].Value.Kind() == metrics.KindUint64 && live[0].Value.Uint64() > 0 {
		st.startHeap = min(m.HeapAlloc, live[0].Value.Uint64())
	}
}

// notePeak records a heap size seen and returns the peak so far.
func (st *stats) notePeak(heap uint64) uint64 {
	for {
		p := st.peakHeap.Load()
		if heap <= p {
			return p
		}
		if st.peakHeap.CompareAndSwap(p, heap) {
			return heap
		}
	}
}

// cmdStat is one command's figures.
type cmdStat struct {
	calls, usec, rejected, failed atomic.Int64
	hist                          latencyHist
}

// cmd returns k's figures, made on first use (and again after CONFIG
// RESETSTAT dropped them).
func (st *stats) cmd(k *command.Spec) *cmdStat {
	p := &st.cmds[k.ID]
	for {
		if cs := p.Load(); cs != nil {
			return cs
		}
		if cs := new(cmdStat); p.CompareAndSwap(nil, cs) {
			return cs
		}
	}
}

// record adds one run of command k by c, which took d (blocked time
// excluded), to every statistic. failed: it answered an error.
func (s *Server) record(c *client, k *command.Spec, args [][]byte, d time.Duration, failed bool) {
	st := &s.st
	cs := st.cmd(k)
	cs.calls.Add(1)
	us := d.Microseconds()
	cs.usec.Add(us)
	if failed {
		cs.failed.Add(1)
	}
	if st.tracking.Load() {
		cs.hist.add(d)
	}
	if t := st.slowerThan.Load(); t >= 0 && us >= t && k.Flags&command.FlagSkipSlowlog == 0 {
		st.slow.push(c, args, us, st.slowMaxLen.Load(), s.now())
	}
	if t := st.latThreshMs.Load(); t > 0 && d.Milliseconds() >= t {
		event := "command"
		if k.Flags&command.FlagFast != 0 {
			event = "fast-command"
		}
		st.lat.add(event, d.Milliseconds(), s.now())
	}
}

// rejected counts a run of k refused before it ran.
func (st *stats) rejected(k *command.Spec) { st.cmd(k).rejected.Add(1) }

// countError counts one error reply by its code, the first word of msg.
func (st *stats) countError(msg string) {
	st.errsTotal.Add(1)
	code, _, _ := strings.Cut(msg, " ")
	st.errMu.Lock()
	n := st.errs[code]
	if n == nil && len(st.errs) < errorStatsLimit {
		n = new(atomic.Int64)
		st.errs[code] = n
	}
	st.errMu.Unlock()
	if n != nil {
		n.Add(1)
	}
}

// reset is CONFIG RESETSTAT's part: every counter here but the slow log
// and the latency monitor, which have RESET commands of their own (as
// server.c's resetServerStats).
func (st *stats) reset() {
	for i := range st.cmds {
		st.cmds[i].Store(nil)
	}
	st.errMu.Lock()
	st.errs = map[string]*atomic.Int64{}
	st.errMu.Unlock()
	st.errsTotal.Store(0)
	st.keys.Hits.Store(0)
	st.keys.Misses.Store(0)
	st.netIn.Store(0)
	st.netOut.Store(0)
	st.inline.Store(0)
	st.handoffs.Store(0)
	st.pended.Store(0)
	st.parked.Store(0)
	st.emptyReads.Store(0)
}

// --- latency histogram ---

// histBuckets covers 0 ns to 2^40 ns (18 minutes): 8 exact buckets below
// 8 ns, then 8 per power of two. Longer runs count in the last bucket.
const histBuckets = 8 + 38*8

type latencyHist [histBuckets]atomic.Uint64

func bucketOf(ns uint64) int {
	if ns < 8 {
		return int(ns)
	}
	e := bits.Len64(ns) - 1 // 3 or more
	i := (e-2)*8 + int(ns>>(e-3)&7)
	return min(i, histBuckets-1)
}

// bucketTop is the largest value, in ns, bucket i holds.
func bucketTop(i int) uint64 {
	if i < 8 {
		return uint64(i)
	}
	e := i/8 + 2
	lo := uint64(8+i%8) << (e - 3)
	return lo + 1<<(e-3) - 1
}

func (h *latencyHist) add(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h[bucketOf(uint64(d))].Add(1)
}

// Latency is a snapshot of a command's latency histogram.
type Latency struct {
	counts [histBuckets]uint64
	total  uint64
}

func (h *latencyHist) snapshot() Latency {
	var l Latency
	for i := range h {
		l.counts[i] = h[i].Load()
		l.total += l.counts[i]
	}
	return l
}

// Count is how many runs the histogram holds.
func (l *Latency) Count() uint64 { return l.total }

// Percentile is the latency at or below which p percent (0 to 100) of the
// runs took, to the histogram's 12.5% precision (the bucket's top, as
// HdrHistogram's hdr_value_at_percentile reports its highest equivalent
// value); 0 for an empty histogram.
func (l *Latency) Percentile(p float64) time.Duration {
	if l.total == 0 {
		return 0
	}
	want := uint64(p / 100 * float64(l.total))
	want = max(want, 1)
	var seen uint64
	for i, n := range l.counts {
		seen += n
		if seen >= want {
			return time.Duration(bucketTop(i))
		}
	}
	return time.Duration(bucketTop(histBuckets - 1))
}

// CountAtMost is how many runs took at most d: exact when d is a power of
// two of nanoseconds minus one, or below 8 ns, and otherwise counts the
// bucket that holds d whole (Prometheus's cumulative buckets).
func (l *Latency) CountAtMost(d time.Duration) uint64 {
	if d < 0 {
		return 0
	}
	last := bucketOf(uint64(d))
	var n uint64
	for i := 0; i <= last; i++ {
		n += l.counts[i]
	}
	return n
}

// --- instantaneous metrics ---

// meter keeps the last 16 samples of a counter's rate, taken every 100
// ms, as server.c's STATS_METRIC_SAMPLES.
type meter struct {
	mu      sync.Mutex
	last    int64
	lastAt  time.Time
	samples [16]float64
	idx     int
}

func (m *meter) sample(v int64, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.lastAt.IsZero() {
		if dt := now.Sub(m.lastAt).Seconds(); dt > 0 {
			m.samples[m.idx] = float64(v-m.last) / dt
			m.idx = (m.idx + 1) % len(m.samples)
		}
	}
	m.last, m.lastAt = v, now
}

// rate is the mean of the samples, per second.
func (m *meter) rate() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var sum float64
	for _, v := range m.samples {
		sum += v
	}
	return sum / float64(len(m.samples))
}

// statsLoop samples the instantaneous metrics every 100 ms until Close.
func (s *Server) statsLoop() {
	defer s.bg.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case now := <-t.C:
			s.st.ops.sample(s.stats.commands.Load(), now)
			s.st.in.sample(s.st.netIn.Load(), now)
			s.st.out.sample(s.st.netOut.Load(), now)
		}
	}
}

// --- Stats: the snapshot the exporter reads ---

// CommandStats is one command's figures since start or CONFIG RESETSTAT.
type CommandStats struct {
	// Name is Redis's: "get", "client|list" for a subcommand.
	Name string
	// Calls ran; Usec is their total run time in microseconds;
	// RejectedCalls were refused before running, FailedCalls answered an
	// error.
	Calls, Usec, RejectedCalls, FailedCalls int64
	// Latency is the histogram of the runs' times (empty while
	// latency-tracking is no).
	Latency Latency
}

// Stats is a snapshot of the server's counters: what INFO shows, typed.
type Stats struct {
	// Commands lists every command run or refused at least once, by name.
	Commands []CommandStats
	// Errors counts error replies by code ("ERR", "WRONGTYPE"); ErrorReplies
	// counts them all.
	Errors       map[string]int64
	ErrorReplies int64

	CommandsProcessed   int64 // total_commands_processed
	ConnectionsReceived int64 // total_connections_received
	RejectedConnections int64 // refused: maxclients
	ConnectedClients    int
	BlockedClients      int
	KeyspaceHits        int64
	KeyspaceMisses      int64
	ExpiredKeys         int64
	ForwardedCommands   int64
	EventLoopCommands   int64 // run on the event loop's thread (event_loop_commands)
	EventLoopHandoffs   int64 // connections handed to their goroutine (event_loop_handoffs)
	EventLoopParked     int64 // batches held for a commit or a leadership check (event_loop_parked)
	EventLoopEmptyReads int64 // the loop's reads that found the socket empty (event_loop_empty_reads)
	NetInputBytes       int64
	NetOutputBytes      int64
	SlowlogLen          int
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	out := Stats{
		Errors:              map[string]int64{},
		ErrorReplies:        s.st.errsTotal.Load(),
		CommandsProcessed:   s.stats.commands.Load(),
		ConnectionsReceived: s.stats.connections.Load(),
		RejectedConnections: s.stats.rejected.Load(),
		ConnectedClients:    s.connectedClients(),
		BlockedClients:      s.waiters.blocked(),
		KeyspaceHits:        s.st.keys.Hits.Load(),
		KeyspaceMisses:      s.st.keys.Misses.Load(),
		ExpiredKeys:         s.stats.expired.Load(),
		ForwardedCommands:   s.stats.forwarded.Load(),
		EventLoopCommands:   s.st.inline.Load(),
		EventLoopHandoffs:   s.st.handoffs.Load(),
		EventLoopParked:     s.st.parked.Load(),
		EventLoopEmptyReads: s.st.emptyReads.Load(),
		NetInputBytes:       s.st.netIn.Load(),
		NetOutputBytes:      s.st.netOut.Load(),
		SlowlogLen:          s.st.slow.len(),
	}
	out.Commands = s.st.commandStats()
	s.st.errMu.Lock()
	for code, n := range s.st.errs {
		out.Errors[code] = n.Load()
	}
	s.st.errMu.Unlock()
	return out
}

// commandStats lists the commands with figures, sorted by name.
func (st *stats) commandStats() []CommandStats {
	var out []CommandStats
	for _, k := range command.Specs() {
		for _, spec := range append([]*command.Spec{k}, k.Subs...) {
			cs := st.cmds[spec.ID].Load()
			if cs == nil {
				continue
			}
			out = append(out, CommandStats{
				Name: spec.Name, Calls: cs.calls.Load(), Usec: cs.usec.Load(),
				RejectedCalls: cs.rejected.Load(), FailedCalls: cs.failed.Load(),
				Latency: cs.hist.snapshot(),
			})
		}
	}
	slices.SortFunc(out, func(a, b CommandStats) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// connectedClients is INFO's connected_clients: connections, less those CLIENT
// KILL is closing.
func (s *Server) connectedClients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Keyspace counts every database's keys, keys with a TTL and their mean
// TTL now, as INFO keyspace shows them (command.KeyspaceCounts: a walk of
// the keys, O(keys)).
func (s *Server) Keyspace() ([command.Databases]command.DBKeys, error) {
	return s.keyspaceAll() // groups.go
}
