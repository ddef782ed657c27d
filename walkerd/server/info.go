package server

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// INFO, as Redis 7.0 lays it out (server.c genRedisInfoString): the same
// sections in the same order, Redis's field names and units for every
// field that means something here, then walkerd's own fields at the end
// of a section (engine_*, go_*, forwarded_commands, event_loop_*) and the
// raft section.
// The fields Redis has and walkerd leaves out, with the reason for each,
// are listed in README.md ("INFO fields"); TestInfo_FieldsMatchRedis holds
// the two lists together.
//
// Sections: INFO alone or "default" gives every section but commandstats
// and latencystats; "all" adds those; "everything" is "all" (walkerd has
// no modules). Several sections may be named; an unknown one adds nothing.

// infoOrder is the order of the sections; infoDefault those of INFO alone.
var (
	infoOrder = []string{"server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules",
		"commandstats", "errorstats", "latencystats", "cluster", "keyspace", "raft"}
	infoDefault = []string{"server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules",
		"errorstats", "cluster", "keyspace", "raft"}
)

// runID is this process's run_id: 40 random hex digits, new at each start,
// as Redis's.
var runID = func() string {
	b := make([]byte, 20)
	rand.Read(b)
	return hex.EncodeToString(b)
}()

// role is the replication role reported by HELLO, INFO and ROLE: master
// unless the backend's Raft section says this node is a follower or
// candidate.
func (s *Server) role() string {
	switch strings.ToLower(s.raftInfo()["raft_state"]) {
	case "follower", "candidate":
		return "slave"
	}
	return "master"
}

func cmdInfo(s *Server, c *client, args [][]byte) {
	want := map[string]bool{}
	add := func(names []string) {
		for _, n := range names {
			want[n] = true
		}
	}
	if len(args) == 1 {
		add(infoDefault)
	}
	for _, a := range args[1:] {
		switch n := strings.ToLower(string(a)); n {
		case "default":
			add(infoDefault)
		case "all", "everything":
			add(infoOrder)
		default:
			want[n] = true
		}
	}
	var b strings.Builder
	for _, sec := range infoOrder {
		if !want[sec] {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		s.infoSection(&b, sec)
	}
	c.verbatim(b.String())
}

func (s *Server) infoSection(b *strings.Builder, sec string) {
	line := func(k string, v any) { fmt.Fprintf(b, "%s:%v\r\n", k, v) }
	switch sec {
	case "server":
		b.WriteString("# Server\r\n")
		line("redis_version", s.cfg.RedisVersion)
		line("walkerdb_version", s.cfg.Version)
		line("redis_mode", s.cfg.Mode)
		line("os", runtime.GOOS+" "+runtime.GOARCH)
		line("arch_bits", strconv.IntSize)
		line("go_version", runtime.Version())
		line("process_id", os.Getpid())
		supervised := "no"
		if os.Getenv("NOTIFY_SOCKET") != "" {
			supervised = "systemd"
		}
		line("process_supervised", supervised)
		line("run_id", runID)
		if a := s.Addr(); a != nil {
			if _, port, err := net.SplitHostPort(a.String()); err == nil {
				line("tcp_port", port)
			}
		}
		now := time.Now()
		line("server_time_usec", now.UnixMicro())
		up := now.Sub(s.started)
		line("uptime_in_seconds", int64(up/time.Second))
		line("uptime_in_days", int64(up/(24*time.Hour)))
		hz := int64(0)
		if s.cfg.SweepInterval > 0 {
			hz = int64(time.Second / s.cfg.SweepInterval)
		}
		line("hz", hz) // the expiry sweeper's rate
		line("configured_hz", hz)
		line("executable", executable())
		line("config_file", s.cfg.ConfigFile)
	case "clients":
		b.WriteString("# Clients\r\n")
		line("connected_clients", s.connectedClients())
		line("cluster_connections", s.nodeLinks())
		line("maxclients", s.maxConns.Load())
		line("blocked_clients", s.waiters.blocked())
		b.WriteString(s.infoTrackingClients())
	case "memory":
		s.infoMemory(b, line)
	case "persistence":
		b.WriteString("# Persistence\r\n")
		line("loading", boolInt(s.loading()))
		s.infoPersistenceSave(line) // save.go: rdb_* of SAVE and BGSAVE
		// The append-only file is the Raft log (the engine's own
		// segments in standalone mode): always on. Its rewrite is the
		// engine's merge.
		line("aof_enabled", 1)
		if st, err := s.b.Engine().Stats(); err == nil {
			line("aof_rewrites", st.Merges)
			status := "ok"
			if st.MergeError != "" {
				status = "err"
			}
			line("aof_last_bgrewrite_status", status)
			line("engine_keys", st.Keys)
			line("engine_seq", st.Seq)
			line("engine_segments", len(st.Segments))
			line("engine_bytes", st.Bytes)
			line("engine_live_bytes", st.LiveBytes)
			line("engine_dead_bytes", st.DeadBytes)
			line("engine_garbage_ratio", fmt.Sprintf("%.4f", st.GarbageRatio))
			line("engine_index_bytes", st.IndexBytes)
			line("engine_fsyncs", st.Fsyncs)
			line("engine_merges", st.Merges)
		}
	case "stats":
		b.WriteString("# Stats\r\n")
		line("total_connections_received", s.stats.connections.Load())
		line("total_commands_processed", s.stats.commands.Load())
		line("instantaneous_ops_per_sec", int64(s.st.ops.rate()))
		line("total_net_input_bytes", s.st.netIn.Load())
		line("total_net_output_bytes", s.st.netOut.Load())
		line("instantaneous_input_kbps", fmt.Sprintf("%.2f", s.st.in.rate()/1024))
		line("instantaneous_output_kbps", fmt.Sprintf("%.2f", s.st.out.rate()/1024))
		line("rejected_connections", s.stats.rejected.Load())
		line("expired_keys", s.stats.expired.Load())
		line("expire_cycle_cpu_milliseconds", s.st.sweepUs.Load()/1000)
		line("evicted_keys", 0) // maxmemory evicts nothing here
		line("keyspace_hits", s.st.keys.Hits.Load())
		line("keyspace_misses", s.st.keys.Misses.Load())
		b.WriteString(s.infoPubsub())
		b.WriteString(s.infoTrackingStats())
		line("total_error_replies", s.st.errsTotal.Load())
		line("total_reads_processed", s.st.reads.Load())
		line("total_writes_processed", s.st.writes.Load())
		line("protocol_error_connections", s.stats.protocol.Load())
		line("reclaimed_elements", s.stats.reclaimed.Load())
		line("forwarded_commands", s.stats.forwarded.Load())
		line("event_loop_commands", s.st.inline.Load())
		line("event_loop_handoffs", s.st.handoffs.Load())
		line("event_loop_pended_replies", s.st.pended.Load())
		line("event_loop_parked", s.st.parked.Load())
		line("event_loop_empty_reads", s.st.emptyReads.Load())
	case "replication":
		s.infoReplication(b, line)
	case "cpu":
		b.WriteString("# CPU\r\n")
		var self, children syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &self)
		syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
		secs := func(tv syscall.Timeval) string {
			return fmt.Sprintf("%.6f", float64(tv.Sec)+float64(tv.Usec)/1e6)
		}
		line("used_cpu_sys", secs(self.Stime))
		line("used_cpu_user", secs(self.Utime))
		line("used_cpu_sys_children", secs(children.Stime))
		line("used_cpu_user_children", secs(children.Utime))
		line("go_goroutines", runtime.NumGoroutine())
		line("go_maxprocs", runtime.GOMAXPROCS(0))
	case "modules":
		b.WriteString("# Modules\r\n")
	case "commandstats":
		b.WriteString("# Commandstats\r\n")
		for _, cs := range s.st.commandStats() {
			perCall := 0.0
			if cs.Calls > 0 {
				perCall = float64(cs.Usec) / float64(cs.Calls)
			}
			fmt.Fprintf(b, "cmdstat_%s:calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,failed_calls=%d\r\n",
				cs.Name, cs.Calls, cs.Usec, perCall, cs.RejectedCalls, cs.FailedCalls)
		}
	case "errorstats":
		b.WriteString("# Errorstats\r\n")
		errs := s.Stats().Errors
		codes := make([]string, 0, len(errs))
		for code := range errs {
			codes = append(codes, code)
		}
		slices.Sort(codes)
		for _, code := range codes {
			fmt.Fprintf(b, "errorstat_%s:count=%d\r\n", code, errs[code])
		}
	case "latencystats":
		b.WriteString("# Latencystats\r\n")
		s.latencystatsSection(b)
	case "cluster":
		// 1 in cluster mode (--cluster-mode yes, clustermode.go).
		b.WriteString("# Cluster\r\n")
		line("cluster_enabled", map[bool]int{false: 0, true: 1}[s.shards != nil])
	case "keyspace":
		b.WriteString("# Keyspace\r\n")
		counts, err := s.Keyspace()
		if err != nil {
			break
		}
		for d, k := range counts {
			if k.Keys > 0 {
				fmt.Fprintf(b, "db%d:keys=%d,expires=%d,avg_ttl=%d\r\n", d, k.Keys, k.Expires, k.AvgTTL)
			}
		}
	case "raft":
		b.WriteString("# Raft\r\n")
		b.WriteString(s.b.InfoRaft())
		s.infoGroups(b) // groups.go
	}
}

// infoMemory is INFO's memory section, from Go's runtime: used_memory is
// the live heap, the allocator's figures the runtime's heap spans, RSS
// the process's resident pages (/proc/self/statm).
func (s *Server) infoMemory(b *strings.Builder, line func(string, any)) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	used := m.HeapAlloc
	peak := s.st.notePeak(used)
	rss := residentBytes()
	b.WriteString("# Memory\r\n")
	line("used_memory", used)
	line("used_memory_human", human(used))
	line("used_memory_rss", rss)
	line("used_memory_rss_human", human(rss))
	line("used_memory_peak", peak)
	line("used_memory_peak_human", human(peak))
	line("used_memory_peak_perc", fmt.Sprintf("%.2f%%", 100*float64(used)/float64(max(peak, 1))))
	line("used_memory_startup", s.st.startHeap)
	line("allocator_allocated", m.HeapAlloc)
	line("allocator_active", m.HeapInuse)
	line("allocator_resident", m.HeapSys-m.HeapReleased)
	if total := systemMemory(); total > 0 {
		line("total_system_memory", total)
		line("total_system_memory_human", human(total))
	}
	// The script cache and the function libraries, as Redis counts them
	// (replicated state: the same on every node once applied).
	db := s.b.Engine()
	line("number_of_cached_scripts", db.CountPrefix(keyspace.ScriptPrefix))
	line("number_of_functions", db.CountPrefix(keyspace.FunctionPrefix))
	line("number_of_libraries", db.CountPrefix(keyspace.LibraryPrefix))
	maxmem := s.conf.maxmemory.Load() // kept and shown, not enforced
	line("maxmemory", maxmem)
	line("maxmemory_human", human(maxmem))
	line("maxmemory_policy", command.MaxmemoryPolicy())
	ratio := func(a, b uint64) string { return fmt.Sprintf("%.2f", float64(a)/float64(max(b, 1))) }
	line("allocator_frag_ratio", ratio(m.HeapInuse, m.HeapAlloc))
	line("allocator_frag_bytes", int64(m.HeapInuse)-int64(m.HeapAlloc))
	line("allocator_rss_ratio", ratio(m.HeapSys-m.HeapReleased, m.HeapInuse))
	line("allocator_rss_bytes", int64(m.HeapSys-m.HeapReleased)-int64(m.HeapInuse))
	line("rss_overhead_ratio", ratio(rss, m.HeapSys-m.HeapReleased))
	line("rss_overhead_bytes", int64(rss)-int64(m.HeapSys-m.HeapReleased))
	line("mem_fragmentation_ratio", ratio(rss, used))
	line("mem_fragmentation_bytes", int64(rss)-int64(used))
	line("mem_allocator", "go-"+runtime.Version())
	if st, err := db.Stats(); err == nil {
		line("engine_index_bytes", st.IndexBytes)
	}
	line("go_heap_objects", m.HeapObjects)
	line("go_gc_cycles", m.NumGC)
	line("go_gc_pause_total_ns", m.PauseTotalNs)
}

// infoReplication is INFO's replication section, from Raft: the leader is
// the master and lists every other member as a replica; a follower names
// its leader. Offsets are Raft log indexes (the applied index of the
// node), the closest thing to Redis's replication offset.
func (s *Server) infoReplication(b *strings.Builder, line func(string, any)) {
	ri := s.raftInfo()
	b.WriteString("# Replication\r\n")
	role := s.role()
	line("role", role)
	offset := ri["raft_log_applied_index"]
	if offset == "" {
		offset = "0"
	}
	members, _ := s.b.Members()
	if role == "slave" {
		host, port, _ := net.SplitHostPort(ri["raft_leader_addr"])
		line("master_host", host)
		line("master_port", port)
		status := "down"
		if ri["raft_leader_id"] != "" {
			status = "up"
		}
		line("master_link_status", status)
		if lc, err := time.ParseDuration(ri["raft_last_contact"]); err == nil {
			line("master_last_io_seconds_ago", int64(lc/time.Second))
		}
		line("master_sync_in_progress", 0)
		line("slave_read_repl_offset", offset)
		line("slave_repl_offset", offset)
		line("slave_read_only", 1)
		line("connected_slaves", 0)
	} else {
		var replicas []string
		for _, m := range members {
			if m.ID == ri["raft_node_id"] {
				continue
			}
			host, port, _ := net.SplitHostPort(m.RESPAddr)
			replicas = append(replicas, fmt.Sprintf("ip=%s,port=%s,state=online,offset=%s,lag=0,suffrage=%s", host, port, offset, m.Suffrage))
		}
		line("connected_slaves", len(replicas))
		for i, r := range replicas {
			line("slave"+strconv.Itoa(i), r)
		}
	}
	line("master_repl_offset", offset)
}

// clients is a snapshot of the connections served now.
func (s *Server) clients() []*client {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*client, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

// nodeLinks counts the connections other nodes forward commands on.
func (s *Server) nodeLinks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.conns {
		if c.nodeLink.Load() {
			n++
		}
	}
	return n
}

// residentBytes is the process's resident set size, from /proc/self/statm
// (0 where there is none).
func residentBytes() uint64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// systemMemory is the machine's memory in bytes, from /proc/meminfo.
func systemMemory() uint64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func executable() string {
	p, _ := os.Executable()
	return p
}

func human(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2fG", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2fM", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.2fK", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}

// cmdConfigResetstat zeroes INFO's counters, as server.c's
// resetServerStats: the stats section's, commandstats, errorstats and
// latencystats. The slow log and the latency monitor keep theirs (they
// have RESET commands).
func cmdConfigResetstat(s *Server, c *client, args [][]byte) {
	s.stats.commands.Store(0)
	s.stats.connections.Store(0)
	s.stats.rejected.Store(0)
	s.stats.protocol.Store(0)
	s.stats.expired.Store(0)
	s.stats.reclaimed.Store(0)
	s.stats.forwarded.Store(0)
	s.st.reset()
	c.ok()
}
