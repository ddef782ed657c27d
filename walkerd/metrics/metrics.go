// Package metrics is walkerd's Prometheus exporter: a registry whose
// collector reads the server's, the engine's and Raft's counters when
// Prometheus scrapes, so that the command path does no work for it beyond
// the counting server.Stats already does. walkerd serves it on
// --metrics-addr at /metrics (the text exposition format).
//
// Names follow Prometheus's conventions (base units, _total on counters)
// and redis_exporter's names with walkerd_ for redis_ where redis_exporter
// has the figure, so that dashboards for one read the other.
//
// Server (server.Server.Stats, the counters of INFO stats, commandstats
// and errorstats; reset by CONFIG RESETSTAT as INFO's are):
//
//	walkerd_commands_total{cmd}                    counter  runs of each command ("get", "client|list")
//	walkerd_commands_duration_seconds{cmd}         histogram  run time; buckets at powers of two of
//	                                               nanoseconds from 2^10 ns (1.024 µs) to 2^33 ns
//	                                               (8.6 s); _sum is INFO's usec in seconds
//	walkerd_commands_rejected_calls_total{cmd}     counter  refused before running (arity, NOAUTH, ...)
//	walkerd_commands_failed_calls_total{cmd}       counter  ran and answered an error
//	walkerd_errors_total{err}                      counter  error replies by code ("ERR", "WRONGTYPE")
//	walkerd_error_replies_total                    counter  every error reply (total_error_replies)
//	walkerd_commands_processed_total               counter  total_commands_processed
//	walkerd_connections_received_total             counter  total_connections_received
//	walkerd_rejected_connections_total             counter  connections refused at maxclients
//	walkerd_connected_clients                      gauge    client connections open
//	walkerd_blocked_clients                        gauge    clients waiting in a blocking command
//	walkerd_keyspace_hits_total                    counter  key lookups that found the key
//	walkerd_keyspace_misses_total                  counter  key lookups that did not
//	walkerd_expired_keys_total                     counter  keys deleted on expiry
//	walkerd_forwarded_commands_total               counter  commands a follower forwarded to the leader
//	walkerd_event_loop_commands_total              counter  commands run on the event loop's thread
//	walkerd_event_loop_handoffs_total              counter  connections the loop handed to their goroutine
//	walkerd_event_loop_parked_total                counter  client batches the loop held for a commit or a
//	                                               leadership check
//	walkerd_event_loop_empty_reads_total           counter  the loop's reads that found the socket empty
//	walkerd_net_input_bytes_total                  counter  bytes read from clients
//	walkerd_net_output_bytes_total                 counter  bytes written to clients
//	walkerd_slowlog_length                         gauge    entries in the slow log
//	walkerd_db_keys{db}                            gauge    keys in database db ("db0"...), for each
//	                                               database that has keys, and db0 always
//	walkerd_db_keys_expiring{db}                   gauge    of those, keys with a TTL
//	walkerd_db_avg_ttl_seconds{db}                 gauge    their mean TTL left (INFO keyspace's avg_ttl)
//	walkerd_scrape_error{part}                     gauge    1 when the keyspace walk or the engine's
//	                                               figures failed in this scrape ("keyspace", "engine")
//	walkerd_build_info{version}                    gauge    1
//
// The walkerd_db_* figures walk every key (O(keys), about 0.3 µs a key):
// a scrape reuses the last walk's counts while they are younger than ten
// times the walk took, so that the walks cost at most about a tenth of a
// core however often Prometheus scrapes; with a million keys they may be
// a few seconds old.
//
// The histogram's buckets come from the server's latency histogram (see
// server.Latency.CountAtMost): the bucket le=2^k ns counts the runs
// shorter than 2^k ns exactly. Its _count is the runs the histogram
// holds, which falls behind walkerd_commands_total while latency-tracking
// is off; the histogram is left out for a command with no run in it.
//
// Engine (engine.DB.Stats, the local bitcask engine):
//
//	walkerd_engine_keys                            gauge    engine records live (all databases, internal keys included)
//	walkerd_engine_segments                        gauge    segment files
//	walkerd_engine_bytes                           gauge    bytes of records in the segments
//	walkerd_engine_live_bytes                      gauge    of those, records the index points at
//	walkerd_engine_dead_bytes                      gauge    of those, garbage a merge reclaims
//	walkerd_engine_garbage_ratio                   gauge    dead/bytes, 0 to 1
//	walkerd_engine_index_bytes                     gauge    estimated memory of the in-memory index
//	walkerd_engine_fsyncs_total                    counter  fsyncs of the segment files (standalone
//	                                               mode with appendfsync always or everysec; in
//	                                               cluster mode the Raft log is what is synced)
//	walkerd_engine_merges_total                    counter  merges completed since start
//	walkerd_engine_fsync_duration_seconds          histogram  time of each of those fsyncs; buckets
//	                                               16 µs to 524 ms by powers of two
//
// Raft (cluster mode only; store.Store.RaftStatus, raft.Stats):
//
//	walkerd_raft_state{state}                      gauge    1 for this node's state ("follower",
//	                                               "candidate", "leader", "shutdown"), 0 for the others
//	walkerd_raft_term                              gauge    current term
//	walkerd_raft_commit_index                      gauge    highest log index known committed
//	walkerd_raft_applied_index                     gauge    highest log index handed to the state machine
//	walkerd_raft_last_log_index                    gauge    highest index in this node's log
//	walkerd_raft_last_snapshot_index               gauge    the newest snapshot's index
//	walkerd_raft_peers                             gauge    other voters in the configuration
//	walkerd_raft_last_contact_seconds              gauge    time since a follower heard from its leader:
//	                                               0 on the leader, -1 never
//	walkerd_raft_leader_changes_total              counter  leaders this node has learnt of (elections seen)
//	walkerd_raft_leader_checks_total               counter  leadership rounds consistent reads ran
//	walkerd_raft_leader_checks_waited_total        counter  rounds whose raft check passed on answers older
//	                                               than them, which waited for newer ones (store/verify.go)
//
// Raft's own measurements (hashicorp/raft emits them through go-metrics;
// with Options.RaftSink, the go-metrics prometheus sink re-exports them under
// walkerd_raft_..., their dots made underscores). Their times are
// summaries in milliseconds (go-metrics' timer granularity), quantiles
// 0.5, 0.9 and 0.99 over the last 10 s; _sum and _count never reset.
// Those a dashboard reads exist from start:
//
//	walkerd_raft_apply                             counter  entries proposed on the leader
//	walkerd_raft_commitTime                        summary  ms from dispatch to commit, on the leader
//	walkerd_raft_fsm_apply, walkerd_raft_fsm_applyBatch  summary  ms the state machine took per entry, per batch
//	walkerd_raft_fsm_snapshot, walkerd_raft_fsm_restore  summary  ms to take / restore a state machine snapshot
//	walkerd_raft_snapshot_create, walkerd_raft_snapshot_persist  summary  ms to create / write a snapshot
//	walkerd_raft_state_leader, _candidate, _follower  counter  entries into each state
//	(raft.peers is dropped: walkerd_raft_peers above has it)
//	walkerd_raft_replication_appendEntries_rpc{peer_id}  summary  ms of one AppendEntries to a follower, on the leader
//	walkerd_raft_replication_appendEntries_logs{peer_id} counter  entries sent to the follower
//	walkerd_raft_replication_heartbeat{peer_id}    summary  ms of a heartbeat to the follower
//
// and the rest raft emits (raft_rpc_*, raft_net_*, raft_leader_*, ...) as
// it emits them. Per-peer replication comes from raft's labelled
// raft.replication.* figures, the leader's view of each follower's RPC
// latency: raft does not publish a follower's match index, so lag in
// entries is read from the index gauges: commit_index less applied_index
// on each node, and the highest commit_index of the cluster less a
// follower's applied_index (the dashboard's panels). raft's
// duplicate per-peer figures with the peer id in the name are dropped.
//
// Go runtime and process (client_golang's collectors): go_*, process_*.
package metrics

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/version"
	"github.com/walkerdb/walkerdb/walkerd/command"
	"github.com/walkerdb/walkerdb/walkerd/server"
	"github.com/walkerdb/walkerdb/walkerd/store"
)

// RaftSource gives the Raft figures; *store.Store is one.
type RaftSource interface {
	RaftStatus() store.RaftStatus
}

// Options says what the registry reads.
type Options struct {
	// Server is the RESP server whose counters are exported. Required.
	Server *server.Server
	// Engine returns the local engine (backend.Backend.Engine), called at
	// each scrape. nil: no walkerd_engine_* figures.
	Engine func() *engine.DB
	// Raft gives the walkerd_raft_* figures; nil in standalone mode.
	Raft RaftSource
	// RaftSink (InstallRaftSink) adds raft's go-metrics figures. nil:
	// none.
	RaftSink *RaftSink
}

// New returns a registry with walkerd's collector, the Go runtime's and
// the process's, and, with o.RaftSink, raft's go-metrics figures.
func New(o Options) (*prometheus.Registry, error) {
	if o.Server == nil {
		return nil, errors.New("metrics: no server")
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(newCollector(o)); err != nil {
		return nil, err
	}
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, err
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, err
	}
	if o.RaftSink != nil {
		if err := reg.Register(o.RaftSink.c); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// Handler serves reg in Prometheus's exposition formats.
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Serve serves reg at /metrics on ln until ln closes; every other path
// answers 404.
func Serve(ln net.Listener, reg *prometheus.Registry) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", Handler(reg))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}

// CheckAddr refuses a listen address that is not on loopback, unless
// allowRemote: the metrics name every command run and database size,
// and the endpoint has no authentication. A host name other than
// "localhost" and an empty host (every interface) count as remote.
func CheckAddr(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: want host:port", addr)
	}
	if allowRemote {
		return nil
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%q is not a loopback address: the metrics endpoint has no authentication; pass --metrics-allow-remote to serve it there", addr)
}

// --- the collector ---

// durationBuckets are the histogram's upper bounds in ns, 2^10 to 2^33.
var durationBuckets = func() []int64 {
	var b []int64
	for k := 10; k <= 33; k++ {
		b = append(b, 1<<k)
	}
	return b
}()

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("walkerd_"+name, help, labels, nil)
}

var (
	dCommands          = desc("commands_total", "Runs of each command.", "cmd")
	dCommandsDuration  = desc("commands_duration_seconds", "Run time of each command, seconds.", "cmd")
	dCommandsRejected  = desc("commands_rejected_calls_total", "Runs of each command refused before they ran.", "cmd")
	dCommandsFailed    = desc("commands_failed_calls_total", "Runs of each command that answered an error.", "cmd")
	dErrors            = desc("errors_total", "Error replies by error code.", "err")
	dErrorReplies      = desc("error_replies_total", "Error replies of every code.")
	dProcessed         = desc("commands_processed_total", "Commands processed.")
	dConnsReceived     = desc("connections_received_total", "Client connections accepted.")
	dConnsRejected     = desc("rejected_connections_total", "Client connections refused at maxclients.")
	dConnected         = desc("connected_clients", "Client connections open.")
	dBlocked           = desc("blocked_clients", "Clients waiting in a blocking command.")
	dHits              = desc("keyspace_hits_total", "Key lookups that found the key.")
	dMisses            = desc("keyspace_misses_total", "Key lookups that did not find the key.")
	dExpired           = desc("expired_keys_total", "Keys deleted on expiry.")
	dForwarded         = desc("forwarded_commands_total", "Commands forwarded to the leader.")
	dLoopCommands      = desc("event_loop_commands_total", "Commands run on the event loop's thread.")
	dLoopHandoffs      = desc("event_loop_handoffs_total", "Connections the event loop handed to their goroutine.")
	dLoopParked        = desc("event_loop_parked_total", "Client batches the event loop held for a commit or a leadership check.")
	dLoopEmptyReads    = desc("event_loop_empty_reads_total", "Reads of the event loop that found the socket empty.")
	dNetIn             = desc("net_input_bytes_total", "Bytes read from clients.")
	dNetOut            = desc("net_output_bytes_total", "Bytes written to clients.")
	dSlowlog           = desc("slowlog_length", "Entries in the slow log.")
	dDBKeys            = desc("db_keys", "Keys in each database.", "db")
	dDBExpiring        = desc("db_keys_expiring", "Keys with a TTL in each database.", "db")
	dDBAvgTTL          = desc("db_avg_ttl_seconds", "Mean TTL left of the keys with one, seconds.", "db")
	dBuildInfo         = desc("build_info", "walkerd's version: always 1.", "version")
	dScrapeError       = desc("scrape_error", "1 when a part of the last scrape failed (keyspace walk, engine), else 0.", "part")
	dEngineKeys        = desc("engine_keys", "Records live in the engine.")
	dEngineSegments    = desc("engine_segments", "Engine segment files.")
	dEngineBytes       = desc("engine_bytes", "Bytes of records in the engine's segments.")
	dEngineLive        = desc("engine_live_bytes", "Bytes of records the engine's index points at.")
	dEngineDead        = desc("engine_dead_bytes", "Bytes of overwritten and deleted records a merge reclaims.")
	dEngineGarbage     = desc("engine_garbage_ratio", "Dead bytes over all bytes, 0 to 1.")
	dEngineIndex       = desc("engine_index_bytes", "Estimated memory of the engine's in-memory index, bytes.")
	dEngineFsyncs      = desc("engine_fsyncs_total", "Fsyncs of the engine's segment files.")
	dEngineMerges      = desc("engine_merges_total", "Engine merges completed since start.")
	dEngineFsyncTime   = desc("engine_fsync_duration_seconds", "Time of each fsync of the engine's segment files, seconds.")
	dRaftState         = desc("raft_state", "1 for this node's Raft state, 0 for the others.", "state")
	dRaftTerm          = desc("raft_term", "Raft's current term.")
	dRaftCommit        = desc("raft_commit_index", "Highest Raft log index known committed.")
	dRaftApplied       = desc("raft_applied_index", "Highest Raft log index handed to the state machine.")
	dRaftLastLog       = desc("raft_last_log_index", "Highest index in this node's Raft log.")
	dRaftLastSnap      = desc("raft_last_snapshot_index", "Index of the newest Raft snapshot.")
	dRaftPeers         = desc("raft_peers", "Other voters in the Raft configuration.")
	dRaftLastContact   = desc("raft_last_contact_seconds", "Seconds since a follower heard from its leader: 0 on the leader, -1 never.")
	dRaftLeaderChanges = desc("raft_leader_changes_total", "Raft leaders this node has learnt of.")
	dRaftLeaderChecks  = desc("raft_leader_checks_total", "Leadership rounds consistent reads ran.")
	dRaftChecksWaited  = desc("raft_leader_checks_waited_total", "Leadership rounds whose raft check passed on answers older than the round, which waited for newer ones.")
)

var raftStates = []string{"follower", "candidate", "leader", "shutdown"}

type collector struct {
	o Options

	// The keyspace walk is O(keys): a scrape reuses the last walk's
	// counts while it is younger than keyspaceDuty times the walk's
	// duration, so that the walks take at most about 1/keyspaceDuty of a
	// core however often Prometheus scrapes.
	ksMu   sync.Mutex
	ks     [command.Databases]command.DBKeys
	ksAt   time.Time
	ksCost time.Duration
}

const keyspaceDuty = 10

// keyspace returns the databases' key counts, walked now or reused (see
// collector.ks).
func (c *collector) keyspace() ([command.Databases]command.DBKeys, error) {
	c.ksMu.Lock()
	defer c.ksMu.Unlock()
	if !c.ksAt.IsZero() && time.Since(c.ksAt) < keyspaceDuty*c.ksCost {
		return c.ks, nil
	}
	start := time.Now()
	ks, err := c.o.Server.Keyspace()
	if err != nil {
		return ks, err
	}
	c.ks, c.ksAt, c.ksCost = ks, time.Now(), time.Since(start)
	return ks, nil
}

func newCollector(o Options) *collector { return &collector{o: o} }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		dCommands, dCommandsDuration, dCommandsRejected, dCommandsFailed, dErrors, dErrorReplies,
		dProcessed, dConnsReceived, dConnsRejected, dConnected, dBlocked, dHits, dMisses, dExpired,
		dForwarded, dLoopCommands, dLoopHandoffs, dLoopParked, dLoopEmptyReads, dNetIn, dNetOut, dSlowlog, dDBKeys, dDBExpiring, dDBAvgTTL, dBuildInfo, dScrapeError,
	} {
		ch <- d
	}
	if c.o.Engine != nil {
		for _, d := range []*prometheus.Desc{dEngineKeys, dEngineSegments, dEngineBytes, dEngineLive,
			dEngineDead, dEngineGarbage, dEngineIndex, dEngineFsyncs, dEngineMerges, dEngineFsyncTime} {
			ch <- d
		}
	}
	if c.o.Raft != nil {
		for _, d := range []*prometheus.Desc{dRaftState, dRaftTerm, dRaftCommit, dRaftApplied, dRaftLastLog,
			dRaftLastSnap, dRaftPeers, dRaftLastContact, dRaftLeaderChanges, dRaftLeaderChecks, dRaftChecksWaited} {
			ch <- d
		}
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	st := c.o.Server.Stats()
	for i := range st.Commands {
		cs := &st.Commands[i]
		counter(dCommands, float64(cs.Calls), cs.Name)
		counter(dCommandsRejected, float64(cs.RejectedCalls), cs.Name)
		counter(dCommandsFailed, float64(cs.FailedCalls), cs.Name)
		if n := cs.Latency.Count(); n > 0 {
			buckets := make(map[float64]uint64, len(durationBuckets))
			for _, b := range durationBuckets {
				buckets[float64(b)/1e9] = cs.Latency.CountAtMost(time.Duration(b - 1))
			}
			ch <- prometheus.MustNewConstHistogram(dCommandsDuration, n, float64(cs.Usec)/1e6, buckets, cs.Name)
		}
	}
	for code, n := range st.Errors {
		counter(dErrors, float64(n), code)
	}
	counter(dErrorReplies, float64(st.ErrorReplies))
	counter(dProcessed, float64(st.CommandsProcessed))
	counter(dConnsReceived, float64(st.ConnectionsReceived))
	counter(dConnsRejected, float64(st.RejectedConnections))
	gauge(dConnected, float64(st.ConnectedClients))
	gauge(dBlocked, float64(st.BlockedClients))
	counter(dHits, float64(st.KeyspaceHits))
	counter(dMisses, float64(st.KeyspaceMisses))
	counter(dExpired, float64(st.ExpiredKeys))
	counter(dForwarded, float64(st.ForwardedCommands))
	counter(dLoopCommands, float64(st.EventLoopCommands))
	counter(dLoopHandoffs, float64(st.EventLoopHandoffs))
	counter(dLoopParked, float64(st.EventLoopParked))
	counter(dLoopEmptyReads, float64(st.EventLoopEmptyReads))
	counter(dNetIn, float64(st.NetInputBytes))
	counter(dNetOut, float64(st.NetOutputBytes))
	gauge(dSlowlog, float64(st.SlowlogLen))
	gauge(dBuildInfo, 1, version.Version)

	ksFailed := 0.0
	if ks, err := c.keyspace(); err != nil {
		ksFailed = 1
	} else {
		for i, d := range ks {
			if d.Keys == 0 && i != 0 {
				continue
			}
			db := "db" + strconv.Itoa(i)
			gauge(dDBKeys, float64(d.Keys), db)
			gauge(dDBExpiring, float64(d.Expires), db)
			gauge(dDBAvgTTL, float64(d.AvgTTL)/1e3, db)
		}
	}
	gauge(dScrapeError, ksFailed, "keyspace")

	if c.o.Engine != nil {
		failed := 0.0
		if es, err := engineStats(c.o.Engine()); err != nil {
			failed = 1
		} else {
			gauge(dEngineKeys, float64(es.Keys))
			gauge(dEngineSegments, float64(len(es.Segments)))
			gauge(dEngineBytes, float64(es.Bytes))
			gauge(dEngineLive, float64(es.LiveBytes))
			gauge(dEngineDead, float64(es.DeadBytes))
			gauge(dEngineGarbage, es.GarbageRatio)
			gauge(dEngineIndex, float64(es.IndexBytes))
			counter(dEngineFsyncs, float64(es.Fsyncs))
			counter(dEngineMerges, float64(es.Merges))
			buckets := make(map[float64]uint64, engine.FsyncBuckets)
			for i, n := range es.FsyncUnder {
				buckets[engine.FsyncBound(i).Seconds()] = uint64(n)
			}
			ch <- prometheus.MustNewConstHistogram(dEngineFsyncTime, uint64(es.Fsyncs), es.FsyncTime.Seconds(), buckets)
		}
		gauge(dScrapeError, failed, "engine")
	}

	if c.o.Raft != nil {
		rs := c.o.Raft.RaftStatus()
		state := strings.ToLower(rs.State)
		for _, s := range raftStates {
			v := 0.0
			if s == state {
				v = 1
			}
			gauge(dRaftState, v, s)
		}
		gauge(dRaftTerm, float64(rs.Term))
		gauge(dRaftCommit, float64(rs.CommitIndex))
		gauge(dRaftApplied, float64(rs.AppliedIndex))
		gauge(dRaftLastLog, float64(rs.LastLogIndex))
		gauge(dRaftLastSnap, float64(rs.LastSnapshotIndex))
		gauge(dRaftPeers, float64(rs.Peers))
		lc := -1.0
		if rs.LastContact >= 0 {
			lc = rs.LastContact.Seconds()
		}
		gauge(dRaftLastContact, lc)
		counter(dRaftLeaderChanges, float64(rs.LeaderChanges))
		counter(dRaftLeaderChecks, float64(rs.LeaderChecks))
		counter(dRaftChecksWaited, float64(rs.LeaderChecksWaited))
	}
}

func engineStats(db *engine.DB) (engine.Stats, error) {
	if db == nil {
		return engine.Stats{}, errors.New("no engine")
	}
	return db.Stats()
}
