// Package server is walkerd's RESP front. A protocol guard parses each
// client's commands (guard.go) and a loop per connection runs them in order
// (serve.go), behind redcon's Conn; the server looks every command up in
// the command package's registry, speaks Redis's errors and
// reply formats, and runs MULTI/EXEC, AUTH, SELECT over 16 logical
// databases, and forwarding from followers to the leader.
//
// Every write is parsed here once (command.Spec.Parse), turned into a
// command.Entry that carries the parsed arguments, and handed to the
// Backend, which applies it directly (standalone) or through the Raft log
// and returns a typed command.Result. Reads run on the local engine after
// the Backend's ReadBarrier allows it. Only this package turns replies into
// protocol bytes (each connection's resp.Encoder). When the Backend says it
// is not the leader, the server forwards to the leader's server:
// WALKER.APPLY <entry> for writes,
// WALKER.FORWARD <level> <db> <command...> for reads and leader-only
// commands (JOIN, LEAVE); the leader answers with the result in command's
// binary form, never with RESP to parse back.
//
// Pub/sub (pubsub.go, notify.go): subscriptions are per node; PUBLISH is a
// log entry that writes no key, delivered by every node's server to its
// own subscribers when its state machine applies it (Backend.Notify), in
// log order. PUBLISH answers Redis Cluster's count: the subscribers of the
// node that received it. Keyspace notifications come from each node's
// applied entries; MONITOR shows the commands this node runs.
//
// Security (acl.go, link.go, protected.go, limits.go, audit.go): every
// command is checked against its connection's ACL user before it runs or
// is queued; the users are replicated state (WALKER.ACLSET entries), so
// every node enforces the same ones, and a forwarded command carries its
// user for the leader to check again. WALKER.APPLY and WALKER.FORWARD are
// accepted only on node links, connections that proved membership with
// WALKER.LINK (walkerd/nodelink). Administrative commands and refused
// AUTHs leave an audit line in the log.
package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tidwall/redcon"
	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
	"github.com/walkerdb/walkerdb/walkerd/netloop"
	"github.com/walkerdb/walkerdb/walkerd/nodelink"
	"github.com/walkerdb/walkerdb/walkerd/shard"
	"github.com/walkerdb/walkerdb/walkerd/tlsconf"
)

// Config configures a Server. The zero value of every field is usable.
type Config struct {
	// RequirePass, when not empty, makes clients AUTH first. CONFIG SET
	// requirepass changes it at run time.
	RequirePass string
	// ReadLevel is the consistency level of plain reads (GET, MGET, ...):
	// 0 default, 1 stale, 2 consistent. CONFIG SET read-consistency
	// changes it.
	ReadLevel int
	// Forwarder carries commands to the leader; nil in standalone mode.
	Forwarder backend.Forwarder
	// MaxClients is the most connections served at once. Zero: 10000.
	MaxClients int
	// Version is walkerd's version, shown by INFO. Zero: "dev".
	Version string
	// RedisVersion is the Redis version reported to clients (HELLO, INFO
	// redis_version). Zero: "7.0.15", the semantics implemented.
	RedisVersion string
	// Mode is INFO's redis_mode and HELLO's mode. Zero: "standalone".
	Mode string
	// OnShutdown is called (in its own goroutine) by SHUTDOWN. nil: SHUTDOWN
	// fails.
	OnShutdown func()
	// Settings are extra read-only values for CONFIG GET (for example
	// "appendfsync", "dir", "port"). Names are lower case.
	Settings map[string]string
	// Defaults are the default values of the start-up settings among
	// Settings (walkerd's port, bind, dir, raft, ...: the directives of
	// its config file), by the same names. CONFIG REWRITE writes each of
	// them when the file has its line or its value differs from its
	// default (config.go); a setting without one (mode) is not written.
	Defaults map[string]string
	// SweepInterval is how often the expiry sweeper runs. Zero: 100 ms;
	// negative: never.
	SweepInterval time.Duration
	// SweepBatch is how many keys one sweep examines. Zero: 1000.
	SweepBatch int
	// Now is the clock. Zero: time.Now.
	Now func() time.Time
	// Logger receives the server's own events (a recovered panic, a
	// failing sweep). nil: slog.Default().
	Logger *slog.Logger
	// LogLevel, when set, is the level of the process's logger: CONFIG
	// SET loglevel changes it. nil: loglevel is read-only.
	LogLevel *slog.LevelVar
	// EnableDebugCommand is Redis 7's enable-debug-command: "yes" allows
	// DEBUG, "local" allows it from loopback connections only, "no"
	// refuses it (introspect.go). Zero: "no", Redis's default. CONFIG GET
	// enable-debug-command reads it.
	EnableDebugCommand string
	// ConfigFile is the config file the process started with, which
	// CONFIG REWRITE rewrites. Zero: none (CONFIG REWRITE fails).
	ConfigFile string
	// Links authenticates the node links WALKER.LINK sets up (link.go,
	// walkerd/nodelink). nil: no node links (standalone mode).
	Links *nodelink.Config
	// ACLFile is Redis's aclfile: ACL LOAD reads it (and makes its users
	// the cluster's), ACL SAVE writes it. Zero: none (both fail as Redis's).
	ACLFile string
	// Shards is the slot map of cluster mode (walkerd --cluster-mode yes):
	// commands that name keys run only where their slot is led, and the
	// CLUSTER commands answer from it (clustermode.go). nil: cluster mode
	// is off.
	Shards shard.Source
	// Groups are the Raft groups this node hosts when it hosts several
	// (walkerd --groups), Groups.B[0] being the backend New is given
	// (groups.go). nil: the one group, New's backend.
	Groups *Groups
	// TLS is the TLS configuration of ServeTLS's listener: CONFIG GET and
	// SET tls-cert-file, tls-auth-clients and the other tls-* parameters
	// read and change it (config.go). nil: those parameters show Redis's
	// defaults and are read-only.
	TLS *tlsconf.Config
	// EventLoop serves the plain TCP connections of Serve from one event
	// loop over epoll (walkerd/netloop, evloop.go): fast reads run on the
	// loop's thread, the rest on each connection's goroutine. Linux only;
	// elsewhere, and for TLS connections, a goroutine serves each
	// connection alone, as when it is off.
	EventLoop bool
}

func (c Config) withDefaults() Config {
	if c.MaxClients == 0 {
		c.MaxClients = 10000
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.RedisVersion == "" {
		c.RedisVersion = "7.0.15"
	}
	if c.Mode == "" {
		c.Mode = "standalone"
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = 100 * time.Millisecond
	}
	if c.SweepBatch == 0 {
		c.SweepBatch = 1000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.EnableDebugCommand == "" {
		c.EnableDebugCommand = "no"
	}
	settings := make(map[string]string, len(c.Settings)+1)
	settings["enable-debug-command"] = strings.ToLower(c.EnableDebugCommand)
	for k, v := range c.Settings {
		settings[k] = v
	}
	c.Settings = settings
	return c
}

// Server serves the Redis protocol over a Backend.
type Server struct {
	b   backend.Backend
	cfg Config
	// dr is b when what reads see may not yet be durable (standalone
	// mode: readDurable), nil otherwise.
	dr backend.DurableReads
	// shards is cfg.Shards: nil outside cluster mode (clustermode.go).
	shards shard.Source
	// groups is cfg.Groups: nil when this node hosts one Raft group
	// (groups.go).
	groups *Groups
	// loaded: loading() has answered false, and so will for ever
	// (ready.go).
	loaded atomic.Bool

	pass      atomic.Pointer[string] // requirepass
	readLevel atomic.Int32
	maxConns  atomic.Int64
	// busyThreshold is busy-reply-threshold in milliseconds (script.go);
	// functionCounts FUNCTION STATS's last libraries and functions.
	busyThreshold  atomic.Int64
	functionCounts atomic.Pointer[[2]int]

	handlers []handler // by command.Spec.ID
	waiters  *waiters  // clients blocked in BLPOP and the like
	ps       *pubsub   // subscriptions, MONITOR clients (pubsub.go)
	started  time.Time

	mu     sync.Mutex
	ln     net.Listener
	tlsLn  net.Listener  // ServeTLS's listener
	loops  bool          // the background loops run (startLoops)
	evl    *netloop.Loop // the event loop (Config.EventLoop), made by Serve; nil: off
	turn   loopTurn      // what the loop's turn holds back (evloop.go); the loop's thread only
	closed bool
	conns  map[*client]struct{}
	nextID atomic.Int64
	wg     sync.WaitGroup // connection handlers
	quit   chan struct{}
	bg     sync.WaitGroup // the sweeper and the other background loops

	// turnCommits counts the loop's entries in raft not yet committed
	// (commitloop.go); any goroutine.
	turnCommits turnCommits

	st    stats      // commandstats, errorstats, slowlog, latency (stats.go)
	conf  confState  // CONFIG SET state, the idle timeout (config.go, timeout.go)
	pause pauseState // CLIENT PAUSE (clientcmds.go)
	tr    tracking   // client-side caching (tracking.go)

	save saveState // SAVE, BGSAVE, LASTSAVE (save.go)

	// lim: proto-max-bulk-len, client-query-buffer-limit,
	// client-output-buffer-limit (limits.go), protected-mode (protected.go).
	lim clientLimits

	// ACL users (acl.go): the view this node enforces, made again when
	// the replicated users or requirepass change; ACL LOG; the audit
	// trail (audit.go).
	aclView atomic.Pointer[aclView]
	aclMu   sync.Mutex
	aclLog  aclLog
	audit   auditor

	// ttlWrites counts the applied entries that may have left a key with
	// an expiry time the sweeper has not met (ttlEvents): it walks again
	// when it moves (sweep.go).
	ttlWrites atomic.Uint64
	// sweepIdle: the sweeper has stopped its expiry walks for want of
	// keys with an expiry time; sweepWalks counts the walks it finished
	// (sweep.go; tests read them).
	sweepIdle  atomic.Bool
	sweepWalks atomic.Int64
	// activeExpireOff is set by DEBUG SET-ACTIVE-EXPIRE 0 (introspect.go,
	// sweep.go).
	activeExpireOff atomic.Bool

	stats struct {
		connections atomic.Int64
		commands    atomic.Int64
		rejected    atomic.Int64 // connections refused: max clients
		protocol    atomic.Int64 // connections cut by the protocol guard
		expired     atomic.Int64 // keys the sweeper deleted
		reclaimed   atomic.Int64 // dead collection elements the sweeper deleted
		forwarded   atomic.Int64
	}
}

// New returns a server over b. It serves nothing until Serve.
func New(b backend.Backend, cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{
		b:       b,
		cfg:     cfg,
		shards:  cfg.Shards,
		groups:  cfg.Groups,
		started: time.Now(),
		conns:   make(map[*client]struct{}),
		quit:    make(chan struct{}),
	}
	pass := cfg.RequirePass
	s.pass.Store(&pass)
	s.readLevel.Store(int32(cfg.ReadLevel))
	s.maxConns.Store(int64(cfg.MaxClients))
	s.busyThreshold.Store(5000) // Redis's default busy-reply-threshold
	s.handlers = handlers()
	s.st.init()
	s.waiters = newWaiters()
	s.ps = newPubsub()
	s.reportNewEvents() // notify-keyspace-events starts empty: no "new"
	for _, i := range s.liveGroups() {
		g := s.groupB(i)
		g.Notify(s.appliedEntry) // sweep.go, then pubsub.go
		if s.multi() && i < len(s.groups.Layout.IDs) {
			// A script's keys must be its group's (command/owner.go).
			command.SetOwner(g.Engine().Dir(), s.groups.Layout.Owner(i)) // walkerd registered it before the store opened
		}
	}
	if dr, ok := b.(backend.DurableReads); ok && s.shards == nil && !s.multi() {
		s.dr = dr
	}
	s.save.init(s.started)
	s.aclLog.maxLen.Store(128) // acllog-max-len
	s.audit.init(cfg.Logger)
	return s
}

// Serve accepts connections on ln until Close, and runs the expiry sweeper
// meanwhile. It returns nil after Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("server: closed")
	}
	if s.ln != nil {
		s.mu.Unlock()
		return errors.New("server: already serving")
	}
	s.ln = ln
	s.startLoops()
	if s.cfg.EventLoop {
		evl, err := netloop.New(s.onInput, s.endTurn)
		if err != nil {
			s.cfg.Logger.Warn("the event loop is off: a goroutine serves each connection", "err", err)
		}
		s.evl = evl
	}
	evl := s.evl
	s.mu.Unlock()
	return s.serve(guardListener{Listener: ln, rejected: &s.stats.protocol, st: &s.st, lim: &s.lim}, evl)
}

// ServeTLS is Serve for a second listener, Redis's tls-port: each
// connection accepted on ln speaks TLS with cfg (tlsconf.Config.Server,
// which follows reloads), and is then served as a plain one is (same
// clients, CLIENT LIST, INFO). It may run alone (Redis's port 0) or
// beside Serve; it returns nil after Close.
func (s *Server) ServeTLS(ln net.Listener, cfg *tls.Config) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("server: closed")
	}
	if s.tlsLn != nil {
		s.mu.Unlock()
		return errors.New("server: already serving TLS")
	}
	s.tlsLn = ln
	s.startLoops()
	s.mu.Unlock()
	return s.serve(guardListener{Listener: tls.NewListener(ln, cfg), rejected: &s.stats.protocol, st: &s.st, lim: &s.lim}, nil)
}

// startLoops starts the sweeper and the other background loops, once.
// s.mu is held.
func (s *Server) startLoops() {
	if s.loops {
		return
	}
	s.loops = true
	if s.cfg.SweepInterval > 0 {
		for _, g := range s.allGroups() { // one sweeper per group (groups.go)
			s.bg.Add(1)
			go s.sweepLoop(g)
		}
	}
	if s.cfg.ACLFile != "" {
		if set, msg := loadACLFile(s.cfg.ACLFile); msg != "" {
			s.cfg.Logger.Error("cannot load the aclfile", "file", s.cfg.ACLFile, "err", msg)
		} else {
			s.bg.Add(1)
			go s.loadUsersAtStart(set) // acl.go
		}
	}
	s.bg.Add(3)
	go s.watchLeader()
	go s.timeoutLoop() // CONFIG SET timeout (timeout.go)
	go s.statsLoop()   // INFO's instantaneous figures (stats.go)
}

// Close stops accepting, ends every client connection once it has
// answered what it had read, stops the sweeper and waits for the
// connection handlers to return.
//
// A connection's reads end first (closeRead): it runs and answers the
// commands it has read, a write waiting on Backend.Apply included, then
// meets the end of its input and closes; commands a client sent after
// that were not read, did not run, and get no reply. Only then do the
// listeners close: a connection closed at once would lose the reply of a
// command that ran, and a client that sends it again (go-redis's
// ClusterClient does after a lost reply) would apply it twice. A connection still open after closeDrain (a
// blocked command, a client that does not take its replies) is closed.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	ln, tln := s.ln, s.tlsLn
	conns := make([]*client, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	close(s.quit)
	for _, g := range s.allGroups() {
		command.KillScripts(g.Engine()) // a read script runs until killed
	}
	for _, c := range conns {
		closeRead(c.conn.NetConn())
	}
	for deadline := time.Now().Add(closeDrain); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		s.mu.Lock()
		left := len(s.conns)
		s.mu.Unlock()
		if left == 0 {
			break
		}
	}
	if ln != nil {
		ln.Close()
	}
	if tln != nil {
		tln.Close()
	}
	for _, c := range conns {
		c.conn.NetConn().Close()
	}
	s.wg.Wait()
	s.bg.Wait()
	s.mu.Lock()
	evl := s.evl
	s.mu.Unlock()
	if evl != nil {
		evl.Close()
	}
	return nil
}

// closeDrain bounds how long Close waits for connections to answer what
// they had read.
const closeDrain = 2 * time.Second

// closeRead ends the reading side of a client's connection (TCP's
// shutdown(SHUT_RD): a read waiting returns EOF), under the protocol
// guard and TLS; false where there is none to end.
func closeRead(nc net.Conn) bool {
	for range 4 {
		switch x := nc.(type) {
		case interface{ CloseRead() error }:
			return x.CloseRead() == nil
		case *guardConn:
			nc = x.Conn
		case interface{ NetConn() net.Conn }: // *tls.Conn
			nc = x.NetConn()
		default:
			return false
		}
	}
	return false
}

// TLSAddr is the address ServeTLS serves, or nil.
func (s *Server) TLSAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tlsLn == nil {
		return nil
	}
	return s.tlsLn.Addr()
}

// Addr is the address served, or nil before Serve.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

func (s *Server) requirePass() string { return *s.pass.Load() }

func (s *Server) now() time.Time { return s.cfg.Now() }

func (s *Server) nowMs() int64 { return s.cfg.Now().UnixMilli() }

// cmdNowMs is the clock of c's running command in Unix milliseconds: when
// dispatch began to run it, or the clock itself outside a command. A read
// and a write that use it cost no clock read of their own: clock reads were
// 8% of a node's CPU under GET -P 16 (kvm-clock), three a command.
func (s *Server) cmdNowMs(c *client) int64 {
	if !c.cmdStart.IsZero() {
		return c.cmdStart.UnixMilli()
	}
	return s.nowMs()
}

// sinceFlush is how long ago c's replies last went out, as of ranAt, the
// end of the command just run, when handle has it: a pipeline's commands
// then read the clock once each, in dispatch.
func (s *Server) sinceFlush(c *client, ranAt time.Time) time.Duration {
	if ranAt.IsZero() {
		ranAt = s.now()
	}
	return ranAt.Sub(c.flushed)
}

func (s *Server) accept(conn redcon.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if int64(len(s.conns)) >= s.maxConns.Load() {
		s.stats.rejected.Add(1)
		conn.WriteError("ERR max number of clients reached")
		return false
	}
	if s.protectedRefuse(conn) { // protected-mode (protected.go)
		return false
	}
	now := time.Now()
	c := &client{
		id:      s.nextID.Add(1),
		conn:    conn,
		addr:    conn.RemoteAddr(),
		laddr:   conn.NetConn().LocalAddr().String(),
		created: now,
		authed:  s.newClientAuthed(),
	}
	c.setUser("default")
	c.enc.Proto = 2
	c.enc.OnError = func(msg string) {
		c.errs++
		c.lastErr = msg
		s.st.countError(msg)
	}
	c.enc.Spill = func(v []byte) bool { return s.spill(c, v) }
	c.w = &c.enc
	c.io.init(conn.NetConn())
	c.lastCmd.Store(now.UnixNano())
	conn.SetContext(c)
	s.guardOwned(c) // activity and output limit (limits.go)
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.stats.connections.Add(1)
	return true
}

func (s *Server) disconnected(conn redcon.Conn, err error) {
	c, _ := conn.Context().(*client)
	if c == nil {
		return
	}
	if c.grp.pending() {
		// A group held open for the client's next read, which will not
		// come (a malformed frame, the connection gone): its writes were
		// read, so they run.
		s.flushGroup(c)
	}
	s.pauseTurnDone(c) // a turn after CLIENT PAUSE (clientcmds.go)
	if c.guard != nil {
		c.guard.release() // what its reader aside held (guard.go)
	}
	s.mu.Lock()
	_, ok := s.conns[c]
	delete(s.conns, c)
	s.mu.Unlock()
	s.trackGone(c)
	s.pubsubGone(c)
	if ok {
		s.wg.Done()
	}
}

// handle runs one command of a connection. The connection's loop
// (serve.go) calls it in order for the commands of each batch, so replies
// keep the order of the commands.
//
// Replies collect in c.enc.B over a pipeline and are written to the
// socket after its last command, or before once they pass flushAt (or
// have waited flushAfter), so a long pipeline streams its replies to a
// client that reads them and holds at most about flushAt (or one large
// reply) for one that does not. The socket write waits while the client
// does not read, and the guard reads what the client sends meanwhile (up
// to client-query-buffer-limit, guard.go's readAside), to run once the
// write is done; the guard's write ends the connection only when the
// client takes nothing for writeStall (Redis's client-output-buffer-limit
// for normal clients is unlimited by default; walkerd bounds memory by
// waiting instead, and time by the stall). A normal limit, when set,
// counts the replies held and the rest of a write (limits.go).
func (s *Server) handle(conn redcon.Conn, rc redcon.Command) {
	c, _ := conn.Context().(*client)
	if c == nil {
		conn.WriteError("ERR internal error: connection without state")
		return
	}
	defer c.collect() // after large values, once the reply is out
	if c.guard != nil && len(c.guard.bigs) > 0 {
		// Large arguments come as placeholders (guard.go): the command
		// gets them back before anything sees it, and lets them go once
		// it has run (dropRoom).
		clear(c.room) // left by a command that did not run (QUIT before it)
		c.room = c.guard.resolveBig(rc.Args, c.room[:0])
	}
	if c.quit {
		// QUIT or SHUTDOWN came earlier in this pipeline, or the client
		// stopped taking replies: as Redis, run nothing after it. The
		// writes read before it still run (group.go).
		s.flushGroup(c)
		s.pauseTurnDone(c)
		return
	}
	if c.grp.pending() && (len(rc.Args) == 0 || !s.joinsGroup(c, command.Lookup(rc.Args[0]))) {
		s.flushGroup(c) // before this command runs, and before mark (group.go)
	}
	c.io.begin(conn, rc)    // CLIENT LIST's qbuf and argv-mem (introspect.go)
	defer c.io.end(c, conn) // and its multi, multi-mem and output figures
	mark, queued := len(c.enc.B), len(c.queue)
	func() {
		defer func() {
			if r := recover(); r != nil {
				c.truncateOutput(mark)
				c.enc.Error(fmt.Sprintf("ERR internal error: %v", r))
				s.cfg.Logger.Error("panic in command handler", "cmd", c.lastCommand(), "panic", r, "stack", string(debug.Stack()))
			}
		}()
		c.running.Store(true) // the idle timeout spares it (timeout.go)
		defer c.running.Store(false)
		// A large bulk may be kept aside (spill) unless CLIENT REPLY is
		// about to drop this command's reply, or a pusher writes for the
		// client (pubsub.go).
		c.spillOK = !c.replyOff && !c.replySkip && c.ps == nil
		defer func() { c.spillOK = false }()
		s.dispatch(c, rc.Args)
	}()
	if len(c.room) > 0 {
		c.dropRoom(rc.Args, len(c.queue) > queued)
	}
	c.applyReplyMode(mark)
	s.trackAfter(c) // held invalidations follow the reply (tracking.go)
	last := c.quit || len(conn.PeekPipeline()) == 0
	if last && !holdGroup(c) {
		s.flushGroup(c) // the pipeline's last writes (group.go)
	}
	ranAt := c.ranAt
	c.ranAt = time.Time{}
	// A client whose turn after CLIENT PAUSE runs (clientcmds.go) holds
	// every other held client: its replies go out only once the turn is
	// over, since a client that does not read them would hold the others
	// for as long as the write waits (a tester's froze the server for the
	// 30 s of writeStall). So it writes no replies for their age alone,
	// and before it writes any (its pipeline's end, or flushAt), its
	// writes are proposed and the next held command's turn comes.
	write := !c.deaf && len(c.enc.B) > 0 && (last || len(c.spills) > 0 || len(c.enc.B) >= flushAt ||
		c.pauseTicket == 0 && s.sinceFlush(c, ranAt) >= flushAfter)
	if c.pauseTicket != 0 && (write || last && !c.grp.pending()) {
		s.flushGroup(c)
		s.pauseTurnDone(c)
	}
	if s.outputOverLimit(c) {
		s.flushGroup(c) // a held group's writes were read: they run
		return          // client-output-buffer-limit (limits.go)
	}
	if c.pushOutput() {
		// Subscribed or MONITOR: the pusher writes (pubsub.go).
		if c.quit {
			conn.Close()
		}
		return
	}
	// Replies go out at the pipeline's end, or mid-pipeline once they
	// pass flushAt or have waited flushAfter (write). handle writes them
	// itself (the Writer behind conn stays empty), so that a write that
	// fails because the client has gone leaves the connection deaf rather
	// than ending the connection's loop with commands read and never run.
	s.writeReplies(c, conn, write, last)
}

// writeReplies is the end of handle once the command has run: the
// replies c holds go out when write, and a client that closed or quit
// ends; last: the command was the last one the client had sent.
func (s *Server) writeReplies(c *client, conn redcon.Conn, write, last bool) {
	if write {
		c.io.ran(c, conn) // before the client can see its reply (introspect.go)
		if err := c.writeOut(conn); err != nil {
			if errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) {
				c.deaf = true
			} else {
				// It took nothing for writeStall, or broke its output
				// limit, or the server closed it (CLIENT KILL, an ACL
				// change, the idle timeout: no news, not logged): run
				// nothing more for it.
				if !c.killed.Load() {
					s.cfg.Logger.Warn("closing a client that does not take its replies", "addr", c.addr, "bytes", c.held(), "err", err)
				}
				c.quit = true
				s.flushGroup(c) // read, so run (group.go); the replies go nowhere
			}
		}
		c.resetOutput()
		c.flushed = s.now()
	}
	if c.deaf {
		// The client closed its connection: what it has sent still runs
		// (as in Redis, which runs every command it has read before it
		// writes a reply), unanswered; then the connection closes.
		c.resetOutput()
		if last && !moreInput(c, true) {
			s.flushGroup(c)
			c.resetOutput()
			c.quit = true
		}
	}
	if c.quit {
		conn.Close()
	}
}

// flushAt is how many reply bytes a pipeline holds before they are written
// to the socket without waiting for the pipeline's end; flushAfter how
// long the replies held may wait. Each write of a pipeline waits for its
// log entry, so without the second a client that pipelines writes saw no
// reply for many seconds (redis-cli --pipe gave up after 30).
const (
	flushAt    = 64 << 10
	flushAfter = 20 * time.Millisecond
)

// spill takes v, a bulk of resp.SpillMin bytes or more, in place of a copy
// in c.enc.B (resp.Encoder.Spill): the header and the CRLF go to B and v is
// kept aside (c.spills), to be written between them by writeOut when handle
// writes the replies, out of every lock the command held. A GET of a 512 MB
// value sends it from the engine's copy rather than from a second one. It
// reports false when the running command's reply may be dropped (CLIENT
// REPLY) or goes to a pusher (pubsub.go).
func (s *Server) spill(c *client, v []byte) bool {
	if !c.spillOK {
		return false
	}
	c.enc.B = resp.AppendBulkHeader(c.enc.B, len(v))
	c.spills = append(c.spills, spilled{at: len(c.enc.B), v: v})
	c.enc.B = append(c.enc.B, '\r', '\n')
	c.moved += len(v)
	return true
}

// spilled is a bulk's value kept out of the reply buffer: it goes before
// c.enc.B[at:].
type spilled struct {
	at int
	v  []byte
}

// held is how many reply bytes c holds: its buffer and its spilled values.
func (c *client) held() int {
	n := len(c.enc.B)
	for _, sp := range c.spills {
		n += len(sp.v)
	}
	return n
}

// truncateOutput drops the replies held past mark.
func (c *client) truncateOutput(mark int) {
	c.enc.B = c.enc.B[:min(mark, len(c.enc.B))]
	for len(c.spills) > 0 && c.spills[len(c.spills)-1].at > mark {
		c.spills[len(c.spills)-1] = spilled{}
		c.spills = c.spills[:len(c.spills)-1]
	}
}

// writeOut writes the replies c holds, its spilled values in their
// places, in one writev where the connection has it.
func (c *client) writeOut(conn redcon.Conn) error {
	if c.guard != nil && c.guard.onLoop {
		c.guard.writeLoop(c.enc.B, c.spills) // the event loop's thread (evloop.go)
		return nil
	}
	if len(c.spills) == 0 {
		_, err := conn.NetConn().Write(c.enc.B)
		return err
	}
	bufs := make(net.Buffers, 0, 2*len(c.spills)+1)
	from := 0
	for _, sp := range c.spills {
		bufs = append(bufs, c.enc.B[from:sp.at], sp.v)
		from = sp.at
	}
	bufs = append(bufs, c.enc.B[from:])
	_, err := bufs.WriteTo(conn.NetConn())
	return err
}

// dropRoom lets go of the running command's large arguments (the batch
// would keep them until its last command has run) and collects them before
// the reply goes out: the client's next command, on this connection or
// another, may be as large. A command queued in MULTI (kept) keeps them.
func (c *client) dropRoom(args [][]byte, kept bool) {
	for _, r := range c.room {
		c.moved += r.Len
	}
	for i, a := range args {
		if len(a) >= bigArgMin && !kept {
			args[i] = nil
		}
	}
	clear(c.room)
	c.room = c.room[:0]
	c.collect()
}

// collectAfter is how many bytes of large arguments and spilled bulks a
// connection moves before handle runs the garbage collector. Go's
// collector paces itself by heap growth, so the next 512 MB value would be
// allocated before the last one's buffers were freed, and the process
// would hold both; collecting once they are garbage lets the next reuse
// their memory. A collection costs milliseconds; moving 64 MB costs more.
//
// The collection also gives the freed pages back to the system at once
// (debug.FreeOSMemory), as the guard and the state machine do after large
// values: left to Go's scavenger, which returns them over seconds, a GET's
// 512 MB copy stayed resident while the next large argument arrived in
// pieces that took part of its span, and the argument's whole buffer then
// needed fresh pages: a leader peaked at 3.08x the value in one run of
// three of TestE2E_A512MBValueOnOneNodeAndOnThree.
const collectAfter = 64 << 20

// collect collects garbage and returns the freed pages to the system once
// c has moved collectAfter bytes of large values since it last did.
func (c *client) collect() {
	if c.moved >= collectAfter {
		c.moved = 0
		debug.FreeOSMemory()
	}
}

// resetOutput empties the reply buffer, dropping a large one.
func (c *client) resetOutput() {
	clear(c.spills)
	c.spills = c.spills[:0]
	if cap(c.enc.B) > 1<<20 {
		c.enc.B = nil
	} else {
		c.enc.B = c.enc.B[:0]
	}
}

// dispatch finds the command in the registry, checks its arity and the
// client's authentication, queues it inside MULTI, and runs it otherwise.
func (s *Server) dispatch(c *client, args [][]byte) {
	s.stats.commands.Add(1)
	if len(args) == 0 {
		return
	}
	if s.protectedHeld(c, args[0]) {
		return // protected mode let only node links through (protected.go)
	}
	k := command.Lookup(args[0])
	if k == nil || (k.Flags&command.FlagInternal != 0 && k.IsData() && k.Flags&command.FlagWrite != 0) {
		// Internal writes reach the state machine only inside entries
		// walkerd builds itself.
		c.reject(string(command.ErrUnknownCommand(args)))
		return
	}
	c.last.Store(&k.Name)
	refuse := c.reject
	if k.Name == "exec" {
		refuse = c.rejectExec
	}
	reject := func(msg string) {
		s.flushGroup(c) // a refused write's error follows the group's replies (group.go)
		refuse(msg)
		s.st.rejected(k) // k: the subcommand once it is known
	}
	if !command.ArityOK(k.Arity, len(args)) {
		reject(string(command.ErrArity(k.Name)))
		return
	}
	top := k
	if len(k.Subs) > 0 && len(args) > 1 {
		sub := k.Sub(args[1])
		if sub == nil {
			// Not counted as a call of the container, as Redis.
			refuse(fmt.Sprintf("ERR unknown subcommand '%.128s'. Try %s HELP.", args[1], strings.ToUpper(k.Name)))
			return
		}
		if !command.ArityOK(sub.Arity, len(args)) {
			reject(string(command.ErrArity(sub.Name)))
			return
		}
		c.last.Store(&sub.Name)
		k = sub
	}
	if !c.authed && k.Flags&command.FlagNoAuth == 0 && !s.newClientAuthed() {
		reject("NOAUTH Authentication required.")
		return
	}
	// AUTH, HELLO, QUIT, RESET are anyone's, as ACLSelectorCheckCmd; a
	// node link's commands carry their own users (WALKER.APPLY, FORWARD).
	if k.Flags&command.FlagNoAuth == 0 && !c.link.linked {
		if d := s.checkACL(c, k, args); d != nil {
			reject(s.denied(c, c.userName(), d, k, logContext(c))) // acl.go
			return
		}
	}
	if k.Flags&command.FlagAllowBusy == 0 {
		if msg := s.busyReply(); msg != "" {
			reject(msg)
			return
		}
	}
	if k.Flags&command.FlagLoading == 0 && s.loading() {
		reject(loadingText) // ready.go
		return
	}
	if s.pausedFor(c, k, args) {
		return // the client went away while CLIENT PAUSE held it
	}
	if c.refusedInSubscribedMode(k) {
		return
	}
	if s.route(c, k, args, reject) { // clustermode.go
		return
	}
	// The command's clock, read once past the waits above (CLIENT PAUSE,
	// a route to the leader): its run time starts here, and its reads and
	// writes see this time (cmdNowMs), as Redis's call() fixes the time a
	// command and the commands of its EXEC see once, at its start.
	start := s.now()
	c.lastCmd.Store(start.UnixNano())
	c.cmdStart = start
	defer func() { c.cmdStart = time.Time{} }()
	if c.multi && top.Flags&command.FlagNotQueued == 0 {
		if k.Flags&command.FlagNoMulti != 0 {
			reject("ERR Command not allowed inside a transaction")
			return
		}
		c.queue = append(c.queue, queued{args: args, spec: k})
		c.w.Status("QUEUED")
		return
	}
	if k.Name == "ping" && c.pingSubscribed(args) {
		s.feedMonitors(c, k, args, nil)
		return
	}
	if s.joinsGroup(c, k) && s.joinGroup(c, k, args, start) { // group.go
		s.feedMonitors(c, k, args, nil)
		return
	}
	queue := c.queue
	errs := c.errs
	c.blockedFor = 0
	out := len(c.enc.B)
	s.run(c, k, args)
	if pw := c.pw; pw != nil {
		// Proposed from the event loop: its reply, statistics and
		// MONITOR line wait for its commit (finishWrite).
		pw.spec, pw.args, pw.start = k, args, start
		return
	}
	if k.Flags&command.FlagWrite == 0 {
		if err := s.readDurable(c); err != nil {
			// What it read may not survive a crash: not sent.
			c.truncateOutput(out)
			c.errorReply("ERR what this command read could not be made durable: " + err.Error())
		}
	}
	end := s.now()
	c.ranAt = end
	s.record(c, k, args, end.Sub(start)-c.blockedFor, c.errs > errs)
	if audited[k.Name] {
		errText := ""
		if c.errs > errs {
			errText = c.lastErr
		}
		s.audit.command(c, k, args, errText)
	}
	s.feedMonitors(c, k, args, queue)
}

// run runs a command whose arity has been checked: by its handler, or as a
// write or a read of the data layer.
func (s *Server) run(c *client, k *command.Spec, args [][]byte) {
	switch {
	case s.handlers[k.ID] != nil:
		s.handlers[k.ID](s, c, args)
	case k.Flags&command.FlagWrite != 0:
		s.runWrite(c, k, args)
	case k.Flags&command.FlagReadonly != 0:
		s.runRead(c, k, args)
	default:
		c.errorReply("ERR internal error: no handler for '" + k.Name + "'")
	}
}

// client is one connection's state. Only its connection's goroutine
// touches it, except the atomics and name (read by CLIENT LIST and INFO).
type client struct {
	id   int64
	conn redcon.Conn
	// guard is the connection's protocol guard (guard.go); room holds the
	// large arguments of the command running, read into buffers with
	// spare room (command.Entry.Room).
	guard *guardConn
	room  []command.Roomy
	// pw is the write the event loop proposed for the client and parked
	// its batch on until it commits (commitloop.go).
	pw      *pendingWrite
	spillOK bool      // a large bulk may be kept aside (Server.spill)
	spills  []spilled // the values kept aside, written by writeOut
	moved   int       // bytes of large values moved since the last collect
	addr    string
	laddr   string
	created time.Time
	lastCmd atomic.Int64 // unix nanoseconds

	// mu guards name, and db against CLIENT LIST: only the connection's
	// goroutine writes db (setDB), so it reads it without the lock.
	mu   sync.Mutex
	name string
	db   int

	prefetch prefetchKeys           // the keys of the batch's reads (prefetch.go)
	last     atomic.Pointer[string] // the last command's name

	authed bool
	// user is the ACL user the connection runs as (acl.go); guarded by mu
	// for CLIENT LIST.
	user    string
	lastErr string // the last error reply written (the audit trail's outcome)
	quit    bool
	// killed is set by CLIENT KILL: the connection is closing, and no
	// longer counts as a client.
	killed atomic.Bool
	// flushed is when replies were last written to the socket (handle).
	flushed time.Time
	// cmdStart is when the running command began to run (dispatch), zero
	// between commands: the clock it reads and writes at (cmdNowMs).
	// ranAt is when the command dispatch last ran ended, until handle
	// takes it (sinceFlush): zero after a command refused or queued.
	cmdStart, ranAt time.Time
	// blocked is the client's wait while it is in a blocking command
	// (CLIENT UNBLOCK finds it from another connection).
	blocked atomic.Pointer[waiter]
	// enc encodes this connection's replies; w is where handlers write
	// them: &enc, or a Recorder while the leader runs a forwarded command.
	enc resp.Encoder
	w   command.Writer
	// forwarded: the command came from a follower (WALKER.FORWARD); if
	// this node is no longer the leader it fails rather than forward again.
	forwarded bool

	multi   bool
	dirty   bool // a command was refused while queuing: EXEC aborts
	queue   []queued
	watches []command.Watch

	// Client commands (clientcmds.go): CLIENT REPLY's modes; inExec
	// while EXEC runs the queued commands (WAIT answers at once); wrote
	// once the client proposed a write (WAIT).
	replyOff, replySkip, replySkipNext bool
	inExec, wrote                      bool
	// wroteIndex and wroteTerm locate the client's last write in the Raft
	// log (command.Result's Index, Term) for WAIT (wait.go); 0 if unknown.
	wroteIndex, wroteTerm uint64

	ps *subState // pub/sub and MONITOR state, nil until used (pubsub.go)

	// errs counts the error replies written to the client (stats.go
	// tells a failed call by it); blockedFor is how long the running
	// command waited blocked, which its run time leaves out.
	errs       int64
	blockedFor time.Duration
	// pauseTicket is the client's turn among the commands CLIENT PAUSE
	// held (pausedFor), 0 for none: it lasts while the pipeline of the
	// command it was taken for runs, as Redis runs what an unblocked
	// client has sent before anything else, and ends once the pipeline's
	// writes are proposed, before any of its replies go out (handle), or
	// when a pause holds the client again (pausedFor).
	pauseTicket uint64

	tr *trackState // CLIENT TRACKING state, nil while off (tracking.go)

	// nodeLink: another node forwards its clients' commands on this
	// connection (WALKER.APPLY, WALKER.FORWARD); CLIENT KILL spares it
	// unless it is named.
	nodeLink atomic.Bool
	io       clientIO // buffers, as CLIENT LIST reports them (introspect.go)
	// running: a command of this connection is running (handle); the
	// idle timeout never closes it meanwhile.
	running atomic.Bool
	// link is WALKER.LINK's progress: link.linked once PROVE passed (link.go).
	link linkState
	// readonly: the client sent READONLY (cluster mode); localRead: the
	// running command is a read of a slot this node holds but does not
	// lead, run here at the stale level (clustermode.go).
	readonly, localRead bool
	// be is the group the running command's keys belong to (route,
	// groups.go): its engine and read level serve the command's reads.
	// wroteGroup is the group of the client's last write (WAIT).
	be         backend.Backend
	wroteGroup int
	// keySlot is 1 + the hash slot of the running command's keys (route),
	// 0 when it names none (or the client was made for one read, as
	// WATCH's): a read checks after its barrier that its group still
	// serves it (slotmove.go).
	keySlot int
	// rerouted counts the reroutes of the running read (slotmove.go).
	rerouted int
	// asking: the client sent ASKING, which holds for its next command
	// (or its MULTI block up to EXEC), as Redis's CLIENT_ASKING does.
	// askGroup is 1 + the group the running command was sent to by a
	// migration's ASK (route, slotmove.go), 0 when none: the command runs
	// in that group rather than the one its slot is routed to.
	asking   bool
	askGroup int
	// grp holds the pipeline's writes waiting to be proposed as one entry
	// (group.go).
	grp group
	// deaf: a write of replies found the client gone (EPIPE, ECONNRESET):
	// the commands it sent before still run, unanswered, and then the
	// connection closes (handle).
	deaf bool
}

type queued struct {
	args [][]byte
	spec *command.Spec
}

// reply helpers

func (c *client) ok()                 { c.w.Status("OK") }
func (c *client) simple(v string)     { c.w.Status(v) }
func (c *client) errorReply(m string) { c.w.Error(m) }
func (c *client) integer(n int64)     { c.w.Int(n) }
func (c *client) bulk(v []byte)       { c.w.Bulk(v) }
func (c *client) bulkString(v string) { c.w.BulkString(v) }
func (c *client) null()               { c.w.Null() }
func (c *client) array(n int)         { c.w.Array(n) }
func (c *client) fail(err error)      { c.errorReply(errorText(err)) }
func (c *client) setDB(d int)         { c.mu.Lock(); c.db = d; c.mu.Unlock() }
func (c *client) setUser(u string)    { c.mu.Lock(); c.user = u; c.mu.Unlock() }

// userLocked is the connection's ACL user, read from another connection's
// goroutine (CLIENT KILL USER).
func (c *client) userLocked() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.user == "" {
		return "default"
	}
	return c.user
}

// userName is the connection's ACL user. Only the connection's goroutine
// calls it: the only writer of user, it reads without the lock, as db.
func (c *client) userName() string {
	if c.user == "" {
		return "default"
	}
	return c.user
}

func (c *client) lastCommand() string {
	if p := c.last.Load(); p != nil {
		return *p
	}
	return ""
}

// reject answers with an error and, inside MULTI, marks the transaction to
// abort at EXEC (Redis's flagTransaction).
func (c *client) reject(msg string) {
	c.errorReply(msg)
	if c.multi {
		c.dirty = true
	}
}

// rejectExec refuses EXEC itself (arity, NOAUTH): as Redis, the
// transaction is discarded and the error says so.
func (c *client) rejectExec(msg string) {
	c.resetMulti()
	c.errorReply("EXECABORT Transaction discarded because of: " + strings.TrimPrefix(msg, "ERR "))
}

// errorText is the error reply text of err: an error reply of the command
// package as it is, anything else behind "ERR ".
func errorText(err error) string {
	var e command.Error
	if errors.As(err, &e) {
		return string(e)
	}
	return "ERR " + err.Error()
}
