package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/internal/version"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/forward"
	"github.com/walkerdb/walkerdb/walkerd/logging"
	"github.com/walkerdb/walkerdb/walkerd/metrics"
	"github.com/walkerdb/walkerdb/walkerd/server"
	"github.com/walkerdb/walkerdb/walkerd/shard"
	"github.com/walkerdb/walkerdb/walkerd/store"
)

func main() {
	args := hideSecrets(os.Args)                        // secrets.go: ps shows no password
	if err := app().Run(configArgs(args)); err != nil { // config.go: walkerd FILE
		if fatalLog != nil {
			fatalLog.Error("walkerd exiting", "err", err)
		} else { // flags and settings failed before the logger existed
			fmt.Fprintln(os.Stderr, "walkerd:", err)
		}
		os.Exit(1)
	}
}

// fatalLog is the process's logger once run has made it: an error that
// ends walkerd after that is one ERROR line in the chosen format (text or
// JSON), not plain text.
var fatalLog *slog.Logger

// Flags keep the original walkerDb's names (-id, -raft, -tcp, -raftdir,
// -dir, -bootstrap, -join); Go's flag parsing takes them with one dash or
// two. Each can also come from WALKERD_<NAME> or from --config.
func app() *cli.App {
	env := func(name string) []string {
		return []string{"WALKERD_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))}
	}
	str := func(name, value, usage string) *cli.StringFlag {
		return &cli.StringFlag{Name: name, Value: value, Usage: usage, EnvVars: env(name)}
	}
	a := &cli.App{
		Name:    "walkerd",
		Usage:   "WalkerDB: a Redis-protocol key-value store on Raft and a bitcask engine",
		Version: version.String(),
		Flags: append([]cli.Flag{
			str("config", "", "read settings from `FILE`, in redis.conf syntax (also: walkerd FILE)"),
			str("id", "", "this node's Raft id (default: the Raft address)"),
			str("tcp", "127.0.0.1:6379", "RESP `ADDRESS` clients connect to"),
			str("raft", "127.0.0.1:16379", "Raft bind `ADDRESS`"),
			str("advertise", "", "RESP `ADDRESS` other nodes and clients reach this node at (default: -tcp)"),
			str("raft-advertise", "", "Raft `ADDRESS` other nodes dial (default: -raft)"),
			str("dir", "walker-data/data", "engine data `DIR`"),
			str("raftdir", "walker-data/raft", "Raft log and snapshots `DIR`"),
			str("bootstrap", "true", "true: Raft cluster mode (a new node with no -join starts a one-node cluster); false: standalone, as --standalone"),
			str("join", "", "RESP `ADDRESS` of any member of the cluster to join"),
			str("restore", "", "seed this new node from a backup `FILE` (walkerctl backup, SAVE): the data directory and Raft directory must be empty; the node starts a one-node cluster that others join"),
			&cli.BoolFlag{Name: "standalone", Usage: "the engine without Raft, one machine at full speed", EnvVars: env("standalone")},
			&cli.BoolFlag{Name: "event-loop", Value: true, Usage: "serve plain TCP clients from one event loop, fast reads on its thread (Linux); no: a goroutine per connection", EnvVars: env("event-loop")},
			str("appendfsync", "always", "when writes reach disk: always, everysec or no (the Raft log; the engine in standalone mode)"),
			str("read-consistency", "default", "level of plain reads: default (leader), stale (any node), consistent (linearizable); or 0, 1, 2"),
			str("requirepass", "", "the default user's password (prefer --requirepass-file: ps shows flags)"),
			str("cluster-secret-file", "", "authenticate links between nodes with the shared secret in `FILE` (links.go)"),
			str("cluster-secret", "", "the nodes' shared secret itself (prefer --cluster-secret-file: ps shows flags)"),
			str("tls-cluster", "no", "yes: mutual TLS on Raft links, with --tls-cert-file, peers verified against --tls-ca-cert-file (needs --cluster-secret-file too)"),
			str("raft-log", "auto", "Raft log store: wal (raft-wal), bolt (raft-boltdb), or auto: the one the Raft directory holds, wal for a new node; naming the other moves the log into it at start"),
			&cli.Int64Flag{Name: "segment-size", Value: 64 << 20, Usage: "engine segment size in bytes", EnvVars: env("segment-size")},
			&cli.Float64Flag{Name: "merge-ratio", Value: 0.5, Usage: "merge when this fraction of the data is dead (0: never by itself)", EnvVars: env("merge-ratio")},
			&cli.DurationFlag{Name: "merge-interval", Value: 10 * time.Second, Usage: "how often to check the merge ratio", EnvVars: env("merge-interval")},
			&cli.Int64Flag{Name: "merge-min-bytes", Value: 16 << 20, Usage: "least dead data worth a merge, in bytes", EnvVars: env("merge-min-bytes")},
			&cli.Uint64Flag{Name: "snapshot-threshold", Value: 8192, Usage: "Raft log entries between snapshots", EnvVars: env("snapshot-threshold")},
			&cli.Uint64Flag{Name: "trailing-logs", Value: 10240, Usage: "Raft log entries kept after a snapshot, for followers that lag", EnvVars: env("trailing-logs")},
			&cli.DurationFlag{Name: "snapshot-interval", Value: 30 * time.Second, Usage: "how often Raft checks whether to snapshot", EnvVars: env("snapshot-interval")},
			str("pprof", "", "serve Go's profiler (net/http/pprof, without cmdline) on a loopback `ADDRESS`, e.g. 127.0.0.1:6060 (off by default)"),
			str("metrics-addr", "", "serve Prometheus metrics at /metrics on `ADDRESS`, e.g. 127.0.0.1:9121 (off by default; loopback only unless --metrics-allow-remote)"),
			&cli.BoolFlag{Name: "metrics-allow-remote", Usage: "let --metrics-addr be a non-loopback address (the endpoint has no authentication)", EnvVars: env("metrics-allow-remote")},
			str("enable-debug-command", "no", "DEBUG: no (refused), yes, or local (from loopback connections only), as Redis 7's enable-debug-command"),
			str("log-level", "info", "debug, info, warn or error"),
			str("log-format", "text", "text or json"),
		}, tlsFlags()...), // tls.go
		Action: run,
	}
	a.Flags = append(a.Flags, secretFileFlags()...)  // secrets.go
	a.Flags = append(a.Flags, clusterModeFlags()...) // clustermode.go
	a.Flags = append(a.Flags, groupsFlags()...)      // groups.go
	a.Flags = append(a.Flags, protectedFlags()...)   // protected.go
	return a
}

// settings are the validated flags.
type settings struct {
	id, tcp, raftAddr, raftAdvertise, advertise, dir, raftDir, join, pass, raftLog string
	standalone                                                                     bool
	sync                                                                           engine.SyncMode
	readLevel                                                                      int
	engine                                                                         engine.Options
	snapThreshold, trailingLogs                                                    uint64
	snapInterval                                                                   time.Duration
	logLevel                                                                       string
	logJSON                                                                        bool
	file                                                                           *fileConfig // the config file, if any (config.go)
}

func parse(c *cli.Context) (*settings, error) {
	var file *fileConfig
	if f := c.String("config"); f != "" {
		var err error
		if file, err = loadConfig(c, f); err != nil { // config.go
			return nil, err
		}
	}
	s := &settings{
		id: c.String("id"), tcp: c.String("tcp"), raftAddr: c.String("raft"), advertise: c.String("advertise"),
		raftAdvertise: c.String("raft-advertise"),
		dir:           c.String("dir"), raftDir: c.String("raftdir"), join: c.String("join"), pass: c.String("requirepass"),
		raftLog: c.String("raft-log"), standalone: c.Bool("standalone"), logLevel: c.String("log-level"),
		snapThreshold: c.Uint64("snapshot-threshold"), snapInterval: c.Duration("snapshot-interval"),
		trailingLogs: c.Uint64("trailing-logs"), file: file,
	}
	switch strings.ToLower(c.String("bootstrap")) {
	case "true", "yes", "1":
	case "false", "no", "0":
		s.standalone = true
	default:
		return nil, fmt.Errorf("-bootstrap %q: want true or false", c.String("bootstrap"))
	}
	var err error
	if s.pass, err = requirePass(c); err != nil { // secrets.go
		return nil, err
	}
	if err := checkACLFile(c.String("aclfile")); err != nil {
		return nil, err
	}
	if s.sync, err = engine.ParseSyncMode(c.String("appendfsync")); err != nil {
		return nil, fmt.Errorf("--appendfsync %q: want always, everysec or no", c.String("appendfsync"))
	}
	if s.readLevel, err = server.ParseLevel(c.String("read-consistency")); err != nil {
		return nil, fmt.Errorf("--read-consistency %q: want default, stale, consistent, 0, 1 or 2", c.String("read-consistency"))
	}
	for name, a := range map[string]string{"tcp": s.tcp, "raft": s.raftAddr, "advertise": s.advertise, "raft-advertise": s.raftAdvertise, "join": s.join} {
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("-%s %q: want host:port", name, a)
		}
	}
	if s.advertise == "" {
		s.advertise = s.tcp
	}
	if s.raftAdvertise == "" {
		s.raftAdvertise = s.raftAddr
	}
	if s.id == "" {
		s.id = s.raftAdvertise
	}
	switch s.raftLog {
	case store.LogAuto, store.LogBolt, store.LogWAL:
	default:
		return nil, fmt.Errorf("--raft-log %q: want auto, bolt or wal", s.raftLog)
	}
	switch strings.ToLower(c.String("enable-debug-command")) {
	case "no", "yes", "local":
	default:
		return nil, fmt.Errorf("--enable-debug-command %q: want no, yes or local", c.String("enable-debug-command"))
	}
	switch c.String("log-format") {
	case "text":
	case "json":
		s.logJSON = true
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", c.String("log-format"))
	}
	s.engine = engine.DefaultOptions()
	s.engine.SegmentSize = c.Int64("segment-size")
	s.engine.MergeRatio = c.Float64("merge-ratio")
	s.engine.MergeInterval = c.Duration("merge-interval")
	s.engine.MergeMinBytes = c.Int64("merge-min-bytes")
	s.engine.Sync = s.sync
	if err := s.engine.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

func hasFlag(c *cli.Context, name string) bool {
	for _, f := range c.App.Flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

// newLogger returns the process's logger, text or JSON lines on stderr,
// and the level it logs at: CONFIG SET loglevel changes it, and raft's
// lines follow it (walkerd/logging; raft's INFO lines are DEBUG).
func newLogger(level string, json bool) (*slog.Logger, *slog.LevelVar, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	lv := new(slog.LevelVar)
	lv.Set(l)
	o := &slog.HandlerOptions{Level: lv, ReplaceAttr: logging.ReplaceAttr} // durations as "1.007s" in JSON too
	if json {
		return slog.New(slog.NewJSONHandler(os.Stderr, o)), lv, nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, o)), lv, nil
}

func run(c *cli.Context) error {
	// SIGINT and SIGTERM are caught from the start. Until the node serves
	// (reading the config, opening the engine and Raft: seconds on a big
	// data directory) one logs why the process stops and lets the signal
	// kill it, as it did before it was caught; from then on it shuts the
	// node down in order (below).
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	serving := dieDuringStartup(sig)
	defer serving() // a startup that fails lets the watch go

	setProcs() // procs.go
	if c.NArg() > 0 {
		// The original walkerDb's examples end in a stray path
		// ("~/.walkerDb"); it is accepted and ignored.
		slog.Debug("ignoring positional arguments", "args", c.Args().Slice())
	}
	s, err := parse(c)
	if err != nil {
		return err
	}
	started := time.Now()
	log, logLevel, err := newLogger(s.logLevel, s.logJSON)
	if err != nil {
		return err
	}
	slog.SetDefault(log)
	fatalLog = log // main logs the error run returns with it
	if addr := c.String("pprof"); addr != "" {
		pln, err := servePprof(addr) // secrets.go: loopback only, no cmdline
		if err != nil {
			return err
		}
		defer pln.Close()
		log.Info("profiler listening", "addr", pln.Addr().String())
	}
	var metricsLn net.Listener // walkerd/metrics; served once the server exists
	if addr := c.String("metrics-addr"); addr != "" {
		if err := metrics.CheckAddr(addr, c.Bool("metrics-allow-remote")); err != nil {
			return fmt.Errorf("--metrics-addr %w", err)
		}
		if metricsLn, err = net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		defer metricsLn.Close()
	}
	var raftSink *metrics.RaftSink // raft emits from store.Open on
	if metricsLn != nil && !s.standalone {
		if raftSink, err = metrics.InstallRaftSink(); err != nil {
			return err
		}
	}

	links, err := nodeLinks(c, s, log) // links.go: refused before any listening
	if err != nil {
		return err
	}
	// Listen first, so that a port in use is reported before anything
	// touches the data directory.
	rl, err := listenRESP(c, log, s) // tls.go: --tcp, and --tls-port's TLS listener
	if err != nil {
		return err
	}
	defer rl.Close()
	logStart(log, s)

	shutdown := make(chan struct{})
	var once sync.Once
	requestShutdown := func() { once.Do(func() { close(shutdown) }) }

	// Every data directory records the key layout it was written with.
	s.engine.LayoutVersion = keyspace.LayoutVersion
	if err := restoreBackup(log, c.String("restore"), s); err != nil { // restore.go
		return err
	}
	pool := forward.New(forward.Options{Links: links, TLS: forwardTLS(links), LocalIP: bindIP(s.tcp)})
	defer pool.Close()
	var be backend.Backend
	var st *store.Store
	var groups *nodeGroups // with several Raft groups: all of them, st the first (nodegroups.go)
	var place *store.Store // the placement group, with several groups (placementgroup.go)
	var migrateBatch int   // --migrate-batch (migrate.go)
	var db *engine.DB
	if s.standalone && c.Int("groups") > 1 {
		return fmt.Errorf("--groups %d needs Raft: it cannot be used with --standalone", c.Int("groups"))
	}
	if s.standalone {
		eopts := s.engine
		// Standalone syncs the engine's file after writes (each turn's with
		// appendfsync always, every second with everysec), and CONFIG SET
		// may change the mode while it runs: zero ahead in every mode, at
		// the cost of one fdatasync of 1 MiB of zeros per MiB written.
		eopts.ZeroAhead = true
		if s.sync == engine.SyncAlways {
			// Commands run one at a time under the backend's lock; the
			// engine syncs after each releases it, so concurrent clients
			// share fsyncs instead of queueing behind one each.
			eopts.Sync = engine.SyncNo
		}
		if db, err = engine.Open(s.dir, &eopts); err != nil {
			return err
		}
		if s.sync == engine.SyncAlways {
			be = backend.NewStandaloneGroupCommit(db)
		} else {
			be = backend.NewStandalone(db)
		}
	} else {
		if s.raftDir == "" {
			s.raftDir = filepath.Join(filepath.Dir(s.dir), "raft")
		}
		probeFor, closeProbe := newRaftProbe(links, bindIP(s.tcp)) // probe.go
		defer closeProbe()
		scfg := store.Config{
			ID: s.id, RaftAddr: s.raftAddr, RaftAdvertise: s.raftAdvertise, RESPAddr: s.advertise, RaftDir: s.raftDir, DataDir: s.dir,
			Bootstrap: s.join == "", Sync: s.sync, LogKind: s.raftLog, Engine: s.engine,
			SnapshotThreshold: s.snapThreshold, SnapshotInterval: s.snapInterval, TrailingLogs: s.trailingLogs,
			Logger: log, Probe: probeFor(""), Links: links, Fetch: pool.Stream, JoinRESP: s.join,
			OnFatal: func(err error) {
				log.Error("stopping: the state machine cannot apply the log", "err", err)
				os.Exit(70)
			},
		}
		if migrateBatch = c.Int("migrate-batch"); migrateBatch < 1 {
			return fmt.Errorf("--migrate-batch %d: want at least 1 key", migrateBatch)
		}
		if n := c.Int("groups"); n < 1 || n > maxGroups { // groups.go
			return fmt.Errorf("--groups %d: want 1 to %d", n, maxGroups)
		} else if n > 1 {
			if groups, err = openNodeGroups(s, n, scfg, probeFor, log); err != nil {
				return err
			}
			defer groups.mux.Close()
			if place, err = openPlacement(s, scfg, groups.mux, probeFor(placementGroupID), log); err != nil {
				groups.closeAll()
				return err
			}
			st = groups.get(0)
		} else {
			if _, err := readGroupsFile(s, 1); err != nil {
				return err
			}
			if st, err = store.Open(scfg); err != nil {
				return err
			}
		}
		be = st
	}

	var routes *shard.Routing
	if groups != nil {
		routes = routing(groups.first, place) // groups.go
	}
	shards, err := clusterSource(c, s, st, groups, place, routes) // clustermode.go
	if err != nil {
		return err
	}
	mode := ""
	if shards != nil {
		mode = "cluster" // HELLO's mode and INFO's redis_mode, as Redis Cluster's
	}
	startup, startupDefaults := startupSettings(c, s) // config.go: for CONFIG GET and REWRITE
	srv := server.New(be, server.Config{
		Shards:             shards,
		Groups:             groupsConfig(groups, place, routes), // groups.go
		Mode:               mode,
		RequirePass:        s.pass,
		ReadLevel:          s.readLevel,
		Forwarder:          pool,
		Version:            version.Version,
		OnShutdown:         requestShutdown,
		Logger:             log,
		LogLevel:           logLevel,
		ConfigFile:         s.file.Path(),
		Links:              links,
		ACLFile:            c.String("aclfile"),
		EnableDebugCommand: strings.ToLower(c.String("enable-debug-command")),
		Settings:           startup,
		Defaults:           startupDefaults,
		TLS:                rl.conf,
		EventLoop:          c.Bool("event-loop"),
	})
	if err := applyServerConfig(srv, s.file); err != nil { // config.go: timeout, maxmemory, ...
		return err
	}
	if err := applyProtectedMode(c, srv); err != nil { // protected.go
		return err
	}
	if metricsLn != nil {
		mo := metrics.Options{Server: srv, Engine: be.Engine, RaftSink: raftSink}
		if st != nil {
			mo.Raft = st
		}
		reg, err := metrics.New(mo)
		if err != nil {
			return err
		}
		go metrics.Serve(metricsLn, reg)
		log.Info("metrics listening", "addr", metricsLn.Addr().String(), "path", "/metrics")
	}
	served := make(chan error, 1)
	rl.serve(log, srv, served) // tls.go
	go notifyWhenReady(log, be, started, shutdown)

	if groups != nil {
		groups.mu.Lock()
		groups.changed = func(list []*store.Store) { srv.SetGroups(asGroups[backend.Backend](list)) } // nodegroups.go
		groups.mu.Unlock()
	}
	var joinErr atomic.Pointer[error] // joinGroups's refusal: the node stops
	if s.join != "" {
		go func() {
			if err := joinGroups(log, pool, s, st, groups, place, shutdown); err != nil { // groups.go
				log.Error("stopping: this node cannot join the cluster", "err", err)
				joinErr.Store(&err)
				requestShutdown()
			}
		}()
	}
	go spreadLeaders(log, s.id, groups, shutdown) // groups.go
	if place != nil {
		go reportPlacement(&reporter{log: log.With("group", placementGroupID), fw: pool, self: s.id, raft: s.raftAdvertise, resp: s.advertise,
			place: place, groups: groups, layout: shard.Split(groups.first)}, shutdown) // placementgroup.go
		go driveMigrations(&driver{log: log.With("group", placementGroupID), fw: pool, batch: migrateBatch,
			place: place, groups: groups}, shutdown) // migrate.go
	}

	serving() // dieDuringStartup no longer reads sig
	select {
	case got := <-sig:
		log.Info("shutting down", "signal", got.String())
	case <-shutdown:
		log.Info("shutting down", "by", "SHUTDOWN")
	case err := <-served:
		if err != nil {
			log.Error("RESP server stopped", "err", err)
		}
	}

	notifyStopping(log)
	requestShutdown() // stops notifyWhenReady

	// Shutdown order:
	// 1. Stop accepting clients and close their connections once the
	//    command each is running has replied.
	// 2. Hand leadership to another voter if this node leads, so the
	//    cluster does not wait out an election timeout (store.Close).
	// 3. Stop Raft: no more entries are applied.
	// 4. Sync and close the engine.
	var errs []error
	errs = append(errs, srv.Close())
	if groups != nil {
		groups.mu.Lock() // no group opens or closes from here on
		errs = append(errs, groups.closeAll()...)
	} else if st != nil {
		errs = append(errs, st.Close())
	}
	if place != nil {
		errs = append(errs, place.Close())
	}
	if db != nil {
		errs = append(errs, db.Close())
	}
	if err := joinErr.Load(); err != nil {
		errs = append(errs, *err)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// joinCluster asks the join target (any member; a follower forwards JOIN
// to the leader) to add this node, retrying with capped exponential
// backoff until a leader answers that its configuration lists the node.
// Only the leader's word counts: this node's own configuration may be a
// stale one that still lists it (it was removed by LEAVE while it was
// down), and the heartbeats it hears then prove nothing. JOIN of a member
// already there with the same addresses changes nothing on the leader, so
// a member restarted with -join just asks once. When the join target
// fails (down, mistyped), the leader this node knows of, if any, is asked
// too.
//
// extra is appended to JOIN: GROUP gK on a node with several Raft groups
// (groups.go), which joins each group in turn. groups > 0: before each
// JOIN, the node asked must say its cluster runs that many groups
// (sameGroups); if it says another number, joinCluster gives up with
// that error at once.
func joinCluster(log *slog.Logger, pool *forward.Pool, s *settings, st *store.Store, extra [][]byte, groups int, stop <-chan struct{}) error {
	const firstDelay, maxDelay = 100 * time.Millisecond, 10 * time.Second
	args := append([][]byte{[]byte("JOIN"), []byte(s.id), []byte(s.raftAdvertise), []byte(s.advertise)}, extra...)
	delay := firstDelay
	for attempt := 1; ; attempt++ {
		err := askJoin(pool, s.join, args, groups)
		if err == nil {
			log.Info("joined the cluster", "join_target", s.join)
			return nil
		}
		if errors.Is(err, errOtherGroups) {
			return err
		}
		if l, ok, _ := st.Leader(); ok && l.RESPAddr != "" && l.RESPAddr != s.join {
			lerr := askJoin(pool, l.RESPAddr, args, groups)
			if lerr == nil {
				log.Info("joined the cluster through the leader; the join target failed", "leader", l.RESPAddr, "join_target", s.join, "err", err)
				return nil
			}
			if errors.Is(lerr, errOtherGroups) {
				return lerr
			}
		}
		log.Warn("JOIN through the join target failed; retrying", "join_target", s.join, "err", err, "attempt", attempt, "retry_in", delay)
		select {
		case <-stop:
			return nil
		case <-time.After(delay):
		}
		delay = min(2*delay, maxDelay)
	}
}

// askJoin sends JOIN to addr, after checking, when groups > 0, that its
// cluster runs that many groups (sameGroups). nil means a leader has this
// node in its configuration.
func askJoin(pool *forward.Pool, addr string, args [][]byte, groups int) error {
	if groups > 0 {
		if err := sameGroups(pool, addr, groups); err != nil {
			return err
		}
	}
	raw, err := pool.Do(addr, args)
	var op *net.OpError
	switch {
	case errors.As(err, &op) && op.Op == "dial":
		return fmt.Errorf("cannot connect: %w", op)
	case errors.Is(err, forward.ErrConnLost):
		return errors.New("connection lost before a reply: " + strings.TrimPrefix(err.Error(), forward.ErrConnLost.Error()+": "))
	case err != nil:
		return err
	case string(raw) == "+OK\r\n":
		return nil
	}
	return fmt.Errorf("answered %s", strings.TrimSpace(string(raw)))
}

// bindIP is the IP of a listen address, if it names one.
func bindIP(addr string) net.IP {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsUnspecified() {
		return nil
	}
	return ip
}

// logStart logs the one line that says how the node starts: version,
// addresses, directories, mode and, in cluster mode, the Raft log store.
func logStart(log *slog.Logger, s *settings) {
	if s.standalone {
		log.Info("walkerd starting", "version", version.String(), "mode", "standalone", "resp", s.tcp,
			"advertise", s.advertise, "dir", s.dir)
		return
	}
	raftDir := s.raftDir
	if raftDir == "" {
		raftDir = filepath.Join(filepath.Dir(s.dir), "raft")
	}
	log.Info("walkerd starting", "version", version.String(), "mode", "cluster", "id", s.id, "resp", s.tcp,
		"advertise", s.advertise, "raft", s.raftAddr, "raft_advertise", s.raftAdvertise, "dir", s.dir,
		"raftdir", raftDir, "raft_log", s.raftLog)
}

// dieDuringStartup watches sig until the node serves: a SIGINT or SIGTERM
// that arrives meanwhile is logged, with the logger of the moment
// (stderr's until the configured one is set), and kills the process (its
// default action, as if it had not been caught). serving ends the watch
// and returns once sig is left to run's shutdown; calls after the first
// do nothing.
func dieDuringStartup(sig chan os.Signal) (serving func()) {
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		select {
		case got := <-sig:
			slog.Default().Warn("stopping during startup", "signal", got.String())
			signal.Reset(syscall.SIGINT, syscall.SIGTERM)
			syscall.Kill(os.Getpid(), got.(syscall.Signal))
			select {} // the signal ends the process
		case <-stop:
			close(stopped)
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(stop); <-stopped }) }
}
