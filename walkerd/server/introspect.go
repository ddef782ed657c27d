package server

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/tidwall/redcon"
	"github.com/walkerdb/walkerdb/engine/keydir"
	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// Introspection: MEMORY (but USAGE, which reads data: command/cmd_memory.go),
// ROLE, DEBUG, and the buffers CLIENT LIST reports (clientIO).

// --- the buffers of a connection (CLIENT LIST) ---

// clientIO is what CLIENT LIST and MEMORY STATS report of a connection's
// buffers. fd and guard are set when the connection is accepted and never
// change; the connection's goroutine keeps the rest (handle calls begin
// and end around each command) and publishes it in atomics for other
// connections' CLIENT LIST.
type clientIO struct {
	fd    int        // the socket's file descriptor, -1 if unknown
	guard *guardConn // the protocol guard (guard.go), nil if none

	// The connection's goroutine only.
	inBatch      bool  // a pipeline is being run: pipeLeft counts down
	pipeLeft     int64 // bytes of the pipeline's commands not yet run
	multiCounted int   // queued commands whose bytes multiMem holds
	multiMem     int64

	// Published for other goroutines.
	qbuf   atomic.Int64 // bytes read and not yet run, the running command's included while it runs
	argv   atomic.Int64 // bytes of the running command's arguments (argv-mem)
	multi  atomic.Int64 // commands queued in MULTI, -1 outside
	mmem   atomic.Int64 // bytes of the queued commands' arguments (multi-mem)
	out    atomic.Int64 // reply bytes held, not yet written to the socket
	outCap atomic.Int64 // capacity of the reply buffer
}

// init records the socket of a connection just accepted.
func (io *clientIO) init(nc net.Conn) {
	io.fd = -1
	io.multi.Store(-1)
	if g, ok := nc.(*guardConn); ok {
		io.guard = g
		nc = g.Conn
	}
	if tc, ok := nc.(interface{ NetConn() net.Conn }); ok { // a TLS client (ServeTLS)
		nc = tc.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) { io.fd = int(fd) })
}

// begin notes the command rc about to run: the bytes of the pipeline it
// opens (counted once per pipeline, so a long pipeline costs O(n) in all),
// or what is left of the pipeline it belongs to.
func (io *clientIO) begin(conn redcon.Conn, rc redcon.Command) {
	if !io.inBatch {
		io.inBatch = true
		io.pipeLeft = 0
		for _, p := range conn.PeekPipeline() {
			io.pipeLeft += int64(len(p.Raw))
		}
	} else {
		io.pipeLeft = max(0, io.pipeLeft-int64(len(rc.Raw)))
	}
	var argv int64
	for _, a := range rc.Args {
		argv += int64(len(a))
	}
	io.argv.Store(argv)
	io.qbuf.Store(int64(len(rc.Raw)) + io.pipeLeft)
}

// end publishes the connection's state after a command: what is left of
// its pipeline, its MULTI queue and the replies it holds.
func (io *clientIO) end(c *client, conn redcon.Conn) {
	io.ran(c, conn)
	io.out.Store(int64(len(c.enc.B)))
	io.outCap.Store(int64(cap(c.enc.B)))
}

// ran publishes what end does but the replies: handle calls it before it
// writes them, so that a client that has its reply sees the command gone
// from CLIENT LIST's qbuf and argv-mem.
func (io *clientIO) ran(c *client, conn redcon.Conn) {
	if c.quit || len(conn.PeekPipeline()) == 0 {
		io.inBatch, io.pipeLeft = false, 0
	}
	io.qbuf.Store(io.pipeLeft)
	io.argv.Store(0)
	if c.multi {
		for _, q := range c.queue[min(io.multiCounted, len(c.queue)):] {
			for _, a := range q.args {
				io.multiMem += int64(len(a))
			}
		}
		io.multiCounted = len(c.queue)
		io.multi.Store(int64(len(c.queue)))
	} else {
		io.multiCounted, io.multiMem = 0, 0
		io.multi.Store(-1)
	}
	io.mmem.Store(io.multiMem)
}

// replyChunk is the size of Redis's static reply buffer and of each node
// of its reply list (PROTO_REPLY_CHUNK_BYTES): CLIENT LIST splits the
// reply bytes a connection holds into obl (the first replyChunk) and
// oll/omem (the rest, as list nodes), as Redis would hold them.
const replyChunk = 16 << 10

// clientSize is the fixed memory of one connection's state, for tot-mem.
const clientSize = int64(unsafe.Sizeof(client{}))

// clientMem is one connection's buffers as CLIENT LIST reports them.
type clientMem struct {
	qbuf, qbufFree, argv, multiMem, obl, oll, omem, total int64
}

// clientMemory reads k's buffers; self is the connection asking, whose
// own state is read directly.
func (s *Server) clientMemory(k *client, self bool) clientMem {
	var m clientMem
	m.qbuf = k.io.qbuf.Load()
	if k.io.guard != nil {
		m.qbuf += k.io.guard.queued.Load()
	}
	if m.qbuf > 0 {
		m.qbufFree = max(0, guardReadSize-m.qbuf)
	}
	m.argv = k.io.argv.Load()
	m.multiMem = k.io.mmem.Load()
	out, outCap := k.io.out.Load(), k.io.outCap.Load()
	if self {
		out, outCap = 0, int64(cap(k.enc.B)) // the reply being written is not held yet
	}
	out += s.pushPending(k)
	m.obl = min(out, replyChunk)
	if rest := out - m.obl; rest > 0 {
		m.omem = rest
		m.oll = (rest + replyChunk - 1) / replyChunk
	}
	m.total = clientSize + m.qbuf + m.qbufFree + m.argv + m.multiMem + guardReadSize + max(outCap, out)
	return m
}

// pushPending is the bytes a subscribed or MONITOR client's pusher holds
// (pubsub.go), not yet written.
func (s *Server) pushPending(k *client) int64 {
	s.ps.mu.RLock()
	st := k.ps
	var p *pusher
	if st != nil {
		p = st.out
	}
	s.ps.mu.RUnlock()
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return int64(len(p.buf))
}

// --- MEMORY ---

// memHelp is MEMORY HELP's reply, line for line as Redis 7.0.15's.
var memHelp = []string{
	"MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"DOCTOR",
	"    Return memory problems reports.",
	"MALLOC-STATS",
	"    Return internal statistics report from the memory allocator.",
	"PURGE",
	"    Attempt to purge dirty pages for reclamation by the allocator.",
	"STATS",
	"    Return information about the memory usage of the server.",
	"USAGE <key> [SAMPLES <count>]",
	"    Return memory in bytes used by <key> and its value. Nested values are",
	"    sampled up to <count> times (default: 5, 0 means sample all).",
	"HELP",
	"    Prints this help.",
}

func cmdMemoryHelp(s *Server, c *client, args [][]byte) {
	helpLines(func() []string { return memHelp })(s, c, args)
}

// memOverhead is walkerd's reading of object.c's redisMemOverhead: every
// MEMORY STATS field, and what MEMORY DOCTOR judges.
type memOverhead struct {
	peak, total, startup        uint64
	clientsSlaves, clientsNorm  int64
	numClients, numSlaves       int
	dbs                         []dbOverhead
	overheadTotal               int64
	keys                        int64
	bytesPerKey                 int64
	dataset                     int64
	datasetPct, peakPct         float64
	allocated, active, resident uint64
	rss                         uint64
	scripts                     int
}

type dbOverhead struct {
	id   int
	main int64
}

// memoryOverhead reads the figures of MEMORY STATS:
//
//   - total.allocated is the Go heap in use (runtime.MemStats.HeapAlloc,
//     INFO's used_memory); peak.allocated the highest seen (stats.notePeak);
//     startup.allocated the heap found live by the last collection
//     when the server was created (stats.init).
//   - clients.normal and clients.slaves sum the connections' buffers as
//     CLIENT LIST's tot-mem counts them; clients.slaves are the other nodes'
//     links that forward commands here.
//   - db.N: overhead.hashtable.main is the keydir's index cost of the
//     database's keys (keydir.MemoryPerKey each); expires and slot-to-keys
//     are 0: an expiry lives in the key's keydir entry, and no slot table
//     exists.
//   - dataset.bytes is the engine's keydir (engine.Stats.IndexBytes, keys
//     included): what the data set costs in memory, its values staying on
//     disk; keys.count the keys of all databases; keys.bytes-per-key and the
//     percentages are computed as object.c computes them.
//   - allocator.allocated/active/resident are the heap's HeapAlloc,
//     HeapInuse and HeapSys-HeapReleased; the ratios and fragmentation
//     compare them, and the process's RSS (/proc/self/statm; Sys where
//     it cannot be read), as Redis compares jemalloc's.
//
// replication.backlog, cluster.links, aof.buffer, lua.caches and
// functions.caches are 0: the Raft log is on disk, Raft's links and the
// Lua states are not measured, and writes go to the segment files
// without a buffer of their own.
func (s *Server) memoryOverhead() memOverhead {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := memOverhead{peak: s.st.notePeak(ms.HeapAlloc), total: ms.HeapAlloc, startup: s.st.startHeap,
		allocated: ms.HeapAlloc, active: ms.HeapInuse, resident: ms.HeapSys - ms.HeapReleased}
	m.rss = residentBytes()
	if m.rss == 0 {
		m.rss = ms.Sys
	}
	for _, k := range s.clients() {
		mem := s.clientMemory(k, false)
		if k.nodeLink.Load() {
			m.clientsSlaves += mem.total
			m.numSlaves++
		} else {
			m.clientsNorm += mem.total
			m.numClients++
		}
	}
	db := s.b.Engine()
	m.overheadTotal = int64(m.startup) + m.clientsSlaves + m.clientsNorm
	for d := range command.Databases {
		n := int64(db.CountPrefix(keyspace.DBPrefix(d)))
		if n == 0 {
			continue
		}
		o := dbOverhead{id: d, main: n * keydir.MemoryPerKey}
		m.dbs = append(m.dbs, o)
		m.overheadTotal += o.main
		m.keys += n
	}
	if st, err := db.Stats(); err == nil {
		m.dataset = st.IndexBytes
	}
	m.scripts = db.CountPrefix(keyspace.ScriptPrefix)
	net := max(0, int64(m.total)-int64(m.startup)) // as object.c: 0 below startup
	if m.keys > 0 {
		m.bytesPerKey = net / m.keys
	}
	if net > 0 {
		m.datasetPct = float64(m.dataset) * 100 / float64(net)
	}
	if m.peak > 0 {
		m.peakPct = float64(m.total) * 100 / float64(m.peak)
	}
	return m
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// MEMORY STATS answers a map (a flat array in RESP2) with Redis 7.0.15's
// fields in its order; memoryOverhead says what each is here.
func cmdMemoryStats(s *Server, c *client, args [][]byte) {
	m := s.memoryOverhead()
	c.w.Map(27 + len(m.dbs))
	kv := func(k string, v int64) { c.bulkString(k); c.integer(v) }
	kd := func(k string, v float64) { c.bulkString(k); c.w.Double(v) }
	kv("peak.allocated", int64(m.peak))
	kv("total.allocated", int64(m.total))
	kv("startup.allocated", int64(m.startup))
	kv("replication.backlog", 0)
	kv("clients.slaves", m.clientsSlaves)
	kv("clients.normal", m.clientsNorm)
	kv("cluster.links", 0)
	kv("aof.buffer", 0)
	kv("lua.caches", 0)
	kv("functions.caches", 0)
	for _, d := range m.dbs {
		c.bulkString("db." + strconv.Itoa(d.id))
		c.w.Map(3)
		kv("overhead.hashtable.main", d.main)
		kv("overhead.hashtable.expires", 0)
		kv("overhead.hashtable.slot-to-keys", 0)
	}
	kv("overhead.total", m.overheadTotal)
	kv("keys.count", m.keys)
	kv("keys.bytes-per-key", m.bytesPerKey)
	kv("dataset.bytes", m.dataset)
	kd("dataset.percentage", m.datasetPct)
	kd("peak.percentage", m.peakPct)
	kv("allocator.allocated", int64(m.allocated))
	kv("allocator.active", int64(m.active))
	kv("allocator.resident", int64(m.resident))
	kd("allocator-fragmentation.ratio", ratio(m.active, m.allocated))
	kv("allocator-fragmentation.bytes", int64(m.active)-int64(m.allocated))
	kd("allocator-rss.ratio", ratio(m.resident, m.active))
	kv("allocator-rss.bytes", int64(m.resident)-int64(m.active))
	kd("rss-overhead.ratio", ratio(m.rss, m.resident))
	kv("rss-overhead.bytes", int64(m.rss)-int64(m.resident))
	kd("fragmentation", ratio(m.rss, m.total))
	kv("fragmentation.bytes", int64(m.rss)-int64(m.total))
}

// memoryDoctor is MEMORY DOCTOR's report, by object.c's
// getMemoryDoctorReport rules and words, on memoryOverhead's figures.
func (s *Server) memoryDoctor() string {
	m := s.memoryOverhead()
	const mb10 = 10 << 20
	if m.total < 5<<20 {
		return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n"
	}
	var issues []string
	if ratio(m.peak, m.total) > 1.5 {
		issues = append(issues, " * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n")
	}
	if ratio(m.rss, m.total) > 1.4 && int64(m.rss)-int64(m.total) > mb10 {
		issues = append(issues, " * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"go\".\n\n")
	}
	if ratio(m.active, m.allocated) > 1.1 && int64(m.active)-int64(m.allocated) > mb10 {
		issues = append(issues, " * High allocator fragmentation: This instance has an allocator external fragmentation greater than 1.1. This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. You can try enabling 'activedefrag' config option.\n\n")
	}
	if ratio(m.resident, m.active) > 1.1 && int64(m.resident)-int64(m.active) > mb10 {
		issues = append(issues, " * High allocator RSS overhead: This instance has an RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the allocator is much larger than the sum what the allocator actually holds). This problem is usually due to a large peak memory (check if there is a peak memory entry above in the report), you can try the MEMORY PURGE command to reclaim it.\n\n")
	}
	if ratio(m.rss, m.resident) > 1.1 && int64(m.rss)-int64(m.resident) > mb10 {
		issues = append(issues, " * High process RSS overhead: This instance has non-allocator RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the Redis process is much larger than the RSS the allocator holds). This problem may be due to Lua scripts or Modules.\n\n")
	}
	if m.numSlaves > 0 && m.clientsSlaves/int64(m.numSlaves) > 10<<20 {
		issues = append(issues, " * Big replica buffers: The replica output buffers in this instance are greater than 10MB for each replica (on average). This likely means that there is some replica instance that is struggling receiving data, either because it is too slow or because of networking issues. As a result, data piles on the master output buffers. Please try to identify what replica is not receiving data correctly and why. You can use the INFO output in order to check the replicas delays and the CLIENT LIST command to check the output buffers of each replica.\n\n")
	}
	if m.numClients > 0 && m.clientsNorm/int64(m.numClients) > 200<<10 {
		issues = append(issues, " * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n")
	}
	if m.scripts > 1000 {
		issues = append(issues, " * Many scripts: There seem to be many cached scripts in this instance (more than 1000). This may be because scripts are generated and `EVAL`ed, instead of being parameterized (with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT FLUSH` is called periodically, the scripts' caches may end up consuming most of your memory.\n\n")
	}
	if len(issues) == 0 {
		return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n"
	}
	return "Sam, I detected a few issues in this Redis instance memory implants:\n\n" + strings.Join(issues, "") +
		"I'm here to keep you safe, Sam. I want to help you.\n"
}

func cmdMemoryDoctor(s *Server, c *client, args [][]byte) { c.verbatim(s.memoryDoctor()) }

// MEMORY MALLOC-STATS answers, where Redis gives jemalloc's report, the Go
// runtime's memory statistics (runtime.MemStats), one "Name: value" line
// each.
func cmdMemoryMallocStats(s *Server, c *client, args [][]byte) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var b strings.Builder
	b.WriteString("___ Begin Go runtime memory statistics ___\n")
	fmt.Fprintf(&b, "Version: %q\n", runtime.Version())
	line := func(k string, v uint64) { fmt.Fprintf(&b, "%s: %d\n", k, v) }
	line("Alloc", ms.Alloc)
	line("TotalAlloc", ms.TotalAlloc)
	line("Sys", ms.Sys)
	line("Mallocs", ms.Mallocs)
	line("Frees", ms.Frees)
	line("HeapAlloc", ms.HeapAlloc)
	line("HeapSys", ms.HeapSys)
	line("HeapIdle", ms.HeapIdle)
	line("HeapInuse", ms.HeapInuse)
	line("HeapReleased", ms.HeapReleased)
	line("HeapObjects", ms.HeapObjects)
	line("StackInuse", ms.StackInuse)
	line("StackSys", ms.StackSys)
	line("MSpanInuse", ms.MSpanInuse)
	line("MCacheInuse", ms.MCacheInuse)
	line("GCSys", ms.GCSys)
	line("OtherSys", ms.OtherSys)
	line("NextGC", ms.NextGC)
	line("NumGC", uint64(ms.NumGC))
	line("PauseTotalNs", ms.PauseTotalNs)
	b.WriteString("--- End Go runtime memory statistics ---\n")
	c.verbatim(b.String())
}

// MEMORY PURGE returns freed memory to the operating system
// (debug.FreeOSMemory: a garbage collection first), as Redis asks
// jemalloc to purge its dirty pages; OK.
func cmdMemoryPurge(s *Server, c *client, args [][]byte) {
	debug.FreeOSMemory()
	c.ok()
}

// --- ROLE ---

// raftInfo reads the Backend's INFO raft text into a map.
func (s *Server) raftInfo() map[string]string { return infoLines(s.b.InfoRaft()) }

// infoLines reads INFO-style "key:value" lines into a map.
func infoLines(text string) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimRight(sc.Text(), "\r"), ":"); ok {
			m[k] = v
		}
	}
	return m
}

func raftIndex(m map[string]string, k string) int64 {
	n, _ := strconv.ParseInt(m[k], 10, 64)
	return n
}

// roleProbe bounds how long ROLE on the leader waits for its followers'
// applied indexes.
const roleProbe = 200 * time.Millisecond

// roleContact is how recent a follower's last contact with its leader
// must be for ROLE to call it "connected".
const roleContact = 3 * time.Second

// ROLE answers in replication.c's roleCommand shapes, read from Raft, the
// offset being a Raft log index (raft_log_applied_index: every entry
// handed to the state machine, no-ops and membership changes included):
//
//   - standalone: ["master", 0, []];
//   - the leader: ["master", its applied index, [[ip, port, offset] ...]]
//     with a triple for each follower that answered, within roleProbe, its
//     own applied index (asked over the node-to-node connections with
//     INFO raft): hashicorp/raft does not expose the leader's per-follower
//     match index, so the offset is what the follower reports it has
//     applied, and a follower that does not answer is left out, as Redis
//     lists only connected replicas. ip and port are the follower's RESP
//     address, as bulk strings, as Redis sends them;
//   - a follower or candidate: ["slave", leader ip, leader port,
//     state, offset], state "connected" when a leader is known and was
//     heard from within roleContact, else "connect"; offset is its applied
//     index, or -1 when not connected, as Redis answers without a master
//     link. An unknown leader reads as "" and port 0.
func cmdRole(s *Server, c *client, args [][]byte) {
	info := s.raftInfo()
	state := info["raft_state"]
	offset := raftIndex(info, "raft_log_applied_index")
	switch state {
	case "", "standalone":
		c.array(3)
		c.bulkString("master")
		c.integer(0)
		c.array(0)
	case "leader":
		fs := s.probeFollowers(info["raft_node_id"])
		c.array(3)
		c.bulkString("master")
		c.integer(offset)
		c.array(len(fs))
		for _, f := range fs {
			c.array(3)
			c.bulkString(f.host)
			c.bulkString(f.port)
			c.bulkString(strconv.FormatInt(f.offset, 10))
		}
	default:
		host, port := "", int64(0)
		if h, p, err := net.SplitHostPort(info["raft_leader_addr"]); err == nil {
			host = h
			port, _ = strconv.ParseInt(p, 10, 64)
		}
		connected := host != "" && recentContact(info["raft_last_contact"])
		c.array(5)
		c.bulkString("slave")
		c.bulkString(host)
		c.integer(port)
		if connected {
			c.bulkString("connected")
			c.integer(offset)
		} else {
			c.bulkString("connect")
			c.integer(-1)
		}
	}
}

// recentContact reads raft's last_contact stat (a duration, "never", or
// 0 on a leader) and reports whether it is within roleContact.
func recentContact(v string) bool {
	d, err := time.ParseDuration(v)
	if err != nil {
		n, err2 := strconv.ParseFloat(v, 64)
		if err2 != nil || n != 0 {
			return false
		}
		d = 0
	}
	return d <= roleContact
}

type roleFollower struct {
	host, port string
	offset     int64
}

// probeFollowers asks every other member with a recorded RESP address for
// its applied index (INFO raft, through the Forwarder), all at once, and
// returns those that answered within roleProbe, in member id order.
func (s *Server) probeFollowers(self string) []roleFollower {
	ms, err := s.b.Members()
	if err != nil || s.cfg.Forwarder == nil {
		return nil
	}
	type answer struct {
		i int
		f roleFollower
	}
	var targets []string
	for _, m := range ms {
		if m.ID != self && m.Role != "leader" && m.RESPAddr != "" {
			targets = append(targets, m.RESPAddr)
		}
	}
	ch := make(chan answer, len(targets)) // buffered: late answers never block
	for i, addr := range targets {
		go func() {
			raw, err := s.cfg.Forwarder.Do(addr, [][]byte{[]byte("INFO"), []byte("raft")})
			if err != nil {
				return
			}
			v, _, err := resp.Parse(raw)
			if err != nil || v.Kind == resp.KindError {
				return
			}
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return
			}
			var off int64 = -1
			for _, l := range bytes.Split(v.Str, []byte("\n")) {
				if k, val, ok := bytes.Cut(bytes.TrimRight(l, "\r"), []byte(":")); ok && string(k) == "raft_log_applied_index" {
					off, _ = strconv.ParseInt(string(val), 10, 64)
				}
			}
			if off < 0 {
				return
			}
			ch <- answer{i, roleFollower{host, port, off}}
		}()
	}
	got := make([]*roleFollower, len(targets))
	t := time.NewTimer(roleProbe)
	defer t.Stop()
	for n := 0; n < len(targets); n++ {
		select {
		case a := <-ch:
			got[a.i] = &a.f
		case <-t.C:
			n = len(targets)
		}
	}
	var out []roleFollower
	for _, f := range got {
		if f != nil {
			out = append(out, *f)
		}
	}
	return out
}

// --- DEBUG ---

// errDebugNotAllowed is Redis 7's refusal of DEBUG when
// enable-debug-command does not allow the connection.
const errDebugNotAllowed = `ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.`

// debugAllowed applies enable-debug-command as Redis 7's
// mustObeyClient/protected-command check does: "yes" allows every
// connection, "local" those from a loopback address, anything else
// ("no", the default) none.
func (s *Server) debugAllowed(c *client) bool {
	switch strings.ToLower(s.cfg.EnableDebugCommand) {
	case "yes":
		return true
	case "local":
		host, _, err := net.SplitHostPort(c.addr)
		if err != nil {
			return false
		}
		ip := net.ParseIP(host)
		return ip != nil && ip.IsLoopback()
	}
	return false
}

// debugHelp is DEBUG HELP's reply: the subcommands walkerd implements, in
// Redis 7.0.15's words where they do what Redis's do.
var debugHelp = []string{
	"DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"CHANGE-REPL-ID",
	"    Change the replication IDs of the instance.",
	"    Dangerous: should be used only for testing the replication subsystem.",
	"ERROR <string>",
	"    Return a Redis protocol error with <string> as message. Useful for clients",
	"    unit tests to simulate Redis errors.",
	"JMAP",
	"    Write a summary of the Go heap to the server log.",
	"LOG <message>",
	"    Write <message> to the server log.",
	"OBJECT <key>",
	"    Show low level info about `key` and associated value.",
	"RELOAD [option ...]",
	"    Sync the data to disk; the data in memory is the data on disk, so there",
	"    is nothing to reload. Valid <option> values: MERGE, NOFLUSH, NOSAVE.",
	"SET-ACTIVE-EXPIRE <0|1>",
	"    Setting it to 0 disables expiring keys in background when they are not",
	"    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
	"    default.",
	"SLEEP <seconds>",
	"    Stop the server for <seconds>. Decimals allowed.",
	"HELP",
	"    Prints this help.",
}

// cmdDebug runs DEBUG's subcommands, as debug.c's debugCommand, each
// refused with its subcommand syntax error when its argument count is
// wrong:
//
//   - SLEEP seconds (decimals, read as C's strtod: junk reads 0) blocks
//     this connection only, where Redis blocks the whole server; OK.
//   - OBJECT key: Redis's line "Value at:<address> refcount:<n>
//     encoding:<OBJECT ENCODING> serializedlength:<n> lru:<clock>
//     lru_seconds_idle:0" (command.KeyObjectInfo; the address is only a
//     token, lru is Redis's LRU clock now and the idle time 0, as OBJECT
//     IDLETIME answers); "ERR no such key" for a missing key.
//   - SET-ACTIVE-EXPIRE 0|1 (C's atoi: non-zero is on) stops or restarts
//     the expiry sweeper's deletion of expired keys on this node (reads
//     never see an expired key either way); OK.
//   - JMAP logs a summary of the Go heap (runtime.MemStats); OK.
//   - CHANGE-REPL-ID: OK, and nothing changes (Raft has no replication
//     ids).
//   - RELOAD [MERGE|NOFLUSH|NOSAVE ...]: the engine is the store of record
//     and memory holds only its index, so nothing is reloaded: the engine
//     is synced to disk (what Redis's save step guarantees) and OK
//     answered; an option Redis does not know gets Redis's error.
//   - ERROR string answers "-" and the string (no "ERR"), LOG message
//     logs it; as Redis's.
//
// Every other subcommand gets Redis's "unknown subcommand or wrong number
// of arguments" error.
func cmdDebug(s *Server, c *client, args [][]byte) {
	if !s.debugAllowed(c) {
		c.errorReply(errDebugNotAllowed)
		return
	}
	sub := strings.ToLower(string(args[1]))
	n := len(args)
	switch {
	case sub == "help" && n == 2:
		helpLines(func() []string { return debugHelp })(s, c, args)
	case sub == "sleep" && n == 3:
		secs := cStrtod(string(args[2]))
		if d := time.Duration(secs * float64(time.Second)); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-s.quit:
				t.Stop()
			}
		}
		c.ok()
	case sub == "object" && n == 3:
		g := s.groupB(s.groupOf(int(keyspace.Slot(args[2])))) // the key's Raft group (groups.go)
		if g == nil {
			c.errorReply(notRunText)
			return
		}
		info, found, err := command.KeyObjectInfo(g.Engine(), c.db, s.nowMs(), args[2])
		switch {
		case err != nil:
			c.fail(err)
		case !found:
			c.errorReply("ERR no such key")
		default:
			lru := (s.nowMs() / 1000) & (1<<24 - 1) // LRU_CLOCK at LRU_CLOCK_RESOLUTION 1000 ms
			c.simple(fmt.Sprintf("Value at:%p refcount:%d encoding:%s serializedlength:%d lru:%d lru_seconds_idle:0",
				&info, info.Refcount, info.Encoding, info.SerializedLength, lru))
		}
	case sub == "set-active-expire" && n == 3:
		s.activeExpireOff.Store(cAtoi(string(args[2])) == 0)
		c.ok()
	case sub == "jmap" && n == 2:
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		s.cfg.Logger.Info("DEBUG JMAP: Go heap", "heap_alloc", ms.HeapAlloc, "heap_inuse", ms.HeapInuse,
			"heap_sys", ms.HeapSys, "heap_released", ms.HeapReleased, "heap_objects", ms.HeapObjects,
			"total_alloc", ms.TotalAlloc, "sys", ms.Sys, "num_gc", ms.NumGC, "next_gc", ms.NextGC,
			"goroutines", runtime.NumGoroutine())
		c.ok()
	case sub == "change-repl-id" && n == 2:
		c.ok()
	case sub == "reload":
		for _, o := range args[2:] {
			switch strings.ToLower(string(o)) {
			case "merge", "noflush", "nosave":
			default:
				c.errorReply("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
				return
			}
		}
		for _, g := range s.allGroups() {
			if err := g.Engine().Sync(); err != nil {
				c.errorReply("ERR Error trying to save the DB")
				return
			}
		}
		c.ok()
	case sub == "error" && n == 3: // "-" and the string, newlines made spaces, as Redis
		c.errorReply(strings.NewReplacer("\r", " ", "\n", " ").Replace(string(args[2])))
	case sub == "log" && n == 3:
		s.cfg.Logger.Warn("DEBUG LOG: " + string(args[2]))
		c.ok()
	default:
		c.errorReply(fmt.Sprintf("ERR unknown subcommand or wrong number of arguments for '%.128s'. Try DEBUG HELP.", args[1]))
	}
}

// cStrtod reads the longest decimal prefix of v as C's strtod does
// (leading spaces skipped; no number at all reads 0).
func cStrtod(v string) float64 {
	v = strings.TrimLeft(v, " \t\n\v\f\r")
	if len(v) > 64 {
		v = v[:64]
	}
	for end := len(v); end > 0; end-- {
		if f, err := strconv.ParseFloat(v[:end], 64); err == nil {
			return f
		}
	}
	return 0
}

// cAtoi reads the leading integer of v as C's atoi does (junk reads 0).
func cAtoi(v string) int64 {
	v = strings.TrimLeft(v, " \t\n\v\f\r")
	end := 0
	if end < len(v) && (v[end] == '-' || v[end] == '+') {
		end++
	}
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	n, _ := strconv.ParseInt(v[:end], 10, 64)
	return n
}
