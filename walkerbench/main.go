package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/internal/tlsclient"
	"golang.org/x/term"

	"github.com/walkerdb/walkerdb/internal/version"
)

func main() {
	err := newApp().Run(os.Args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "walkerbench:", err)
		os.Exit(1)
	}
}

// errResultErrors is returned, after the report, by a run whose results
// hold errors, so that scripts see a non-zero exit status.
var errResultErrors = errors.New("the results hold errors: see the report")

func newApp() *cli.App {
	return &cli.App{
		Name:    "walkerbench",
		Usage:   "measure WalkerDB (or any Redis-protocol server) and its engine",
		Version: version.String(),
		Commands: []*cli.Command{
			{
				Name:      "run",
				Usage:     "load one or more RESP servers, one after another, and compare them",
				UsageText: "walkerbench run [--target [name=]host:port]... [options]",
				Flags:     append(serverFlags(), workloadFlags("server")...),
				Action:    func(c *cli.Context) error { return action(c, "server") },
			},
			{
				Name:      "engine",
				Usage:     "load the storage engine in process, in one or more sync modes",
				UsageText: "walkerbench engine [--sync always,everysec,no] [--dir DIR] [options]",
				Flags:     append(engineFlags(), workloadFlags("engine")...),
				Action:    func(c *cli.Context) error { return action(c, "engine") },
			},
		},
	}
}

// workloadFlags are the flags both modes share.
func workloadFlags(mode string) []cli.Flag {
	tests, clients, testList := "set,get", 50, serverTests
	clientsUsage, ratioUsage := "connections", "set:get of the mixed test"
	threadsUsage := "OS threads running Go code (GOMAXPROCS); 0: half the CPUs, 1 to 4, leaving the rest to a server on the same machine"
	if mode == "engine" {
		tests, clients, testList = "put,get", 4, engineTests
		clientsUsage, ratioUsage = "goroutines calling the engine", "put:get of the mixed test"
		threadsUsage = "OS threads running Go code, the engine's included (GOMAXPROCS); 0: one per CPU"
	}
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "tests", Aliases: []string{"t", "command"}, Value: cli.NewStringSlice(strings.Split(tests, ",")...), Usage: "tests to run, one after another: " + strings.Join(testList, ", ")},
		&cli.IntFlag{Name: "clients", Aliases: []string{"c"}, Value: clients, Usage: clientsUsage},
		&cli.StringFlag{Name: "ratio", Value: "1:10", Usage: ratioUsage},
		&cli.IntFlag{Name: "keyspace", Aliases: []string{"r"}, Value: 100000, Usage: "number of distinct keys"},
		&cli.StringFlag{Name: "distribution", Value: "uniform", Usage: "how keys are chosen: uniform or zipfian (key 0 the hottest)"},
		&cli.Float64Flag{Name: "zipf-exponent", Value: 1.01, Usage: "zipfian exponent s > 1: P(key k) ∝ 1/(1+k)^s"},
		&cli.IntFlag{Name: "key-size", Value: 0, Usage: "key length in bytes, padded with zeros (0: prefix and the digits the key space needs)"},
		&cli.IntFlag{Name: "value-size", Aliases: []string{"d"}, Value: 100, Usage: "value length in bytes (values of 24 bytes or more are checked in full)"},
		&cli.StringFlag{Name: "key-prefix", Usage: "key prefix (default: wb:<random>: per target, so that keys are new)"},
		&cli.DurationFlag{Name: "duration", Value: 10 * time.Second, Usage: "length of each test, unless --requests is set"},
		&cli.Int64Flag{Name: "requests", Aliases: []string{"n"}, Usage: "requests per test, over all clients (instead of --duration)"},
		&cli.DurationFlag{Name: "warmup", Value: time.Second, Usage: "run each test this long first, unmeasured"},
		&cli.Float64Flag{Name: "rate", Usage: "open loop: requests/s over all clients, latency measured from each request's intended start (0: closed loop)"},
		&cli.BoolFlag{Name: "prefill", Value: true, Usage: "write every key once, unmeasured, before tests that read or delete (--prefill=false: don't)"},
		&cli.Float64Flag{Name: "verify", Value: 1, Usage: "fraction of read values whose contents are checked (every read is checked for nil and length)"},
		&cli.Uint64Flag{Name: "seed", Usage: "seed of the key choices (0: random)"},
		&cli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
		&cli.StringFlag{Name: "plot", Usage: "write a PNG `FILE`: latency by percentile and throughput over time, a line per target"},
		&cli.IntFlag{Name: "threads", Usage: threadsUsage},
		&cli.StringFlag{Name: "cpuprofile", Usage: "write walkerbench's own CPU profile to `FILE`", Hidden: true},
	}
}

func serverFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "target", Value: cli.NewStringSlice("127.0.0.1:6379"), Usage: "RESP server, `[name=]host:port`; repeat to compare, the first is the baseline"},
		&cli.IntFlag{Name: "pipeline", Aliases: []string{"P"}, Value: 1, Usage: "commands per write on each connection (open loop: the most sent at once)"},
		&cli.IntFlag{Name: "mset-keys", Value: 10, Usage: "keys per MSET"},
		&cli.StringFlag{Name: "level", Usage: "read with LEVELGET key level: default, stale or consistent (unset: GET)"},
		&cli.StringFlag{Name: "user", Usage: "ACL `USER` to AUTH as, with --password"},
		&cli.StringFlag{Name: "password", Aliases: []string{"a"}, Usage: "AUTH with this password"},
		&cli.BoolFlag{Name: "tls", Usage: "connect over TLS, as redis-benchmark --tls"},
		&cli.StringFlag{Name: "cacert", Usage: "CA certificate `FILE` to verify the targets with"},
		&cli.StringFlag{Name: "cert", Usage: "client certificate `FILE`"},
		&cli.StringFlag{Name: "key", Usage: "the client certificate's private key `FILE`"},
		&cli.DurationFlag{Name: "timeout", Value: 10 * time.Second, Usage: "a connection that answers nothing for this long fails"},
	}
}

func engineFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "sync", Value: cli.NewStringSlice("always"), Usage: "sync modes to compare: always, everysec, no"},
		&cli.StringFlag{Name: "dir", Usage: "engine directory (default: a temporary one per sync mode, removed after; with several modes, DIR/<mode>)"},
		&cli.IntFlag{Name: "batch-size", Value: 100, Usage: "puts per Write in the batch test"},
	}
}

// parseWorkload checks the flags and builds the workload and targets.
func parseWorkload(c *cli.Context, mode string) (*workload, []target, error) {
	w := &workload{
		mode: mode, clients: c.Int("clients"), pipeline: 1,
		keys: c.Int("keyspace"), dist: c.String("distribution"), zipfS: c.Float64("zipf-exponent"),
		keySize: c.Int("key-size"), valueSize: c.Int("value-size"), prefix: c.String("key-prefix"),
		duration: c.Duration("duration"), requests: c.Int64("requests"), warmup: c.Duration("warmup"),
		rate: c.Float64("rate"), prefill: c.Bool("prefill"), verify: c.Float64("verify"), seed: c.Uint64("seed"),
	}
	var err error
	if w.setWeight, w.getWeight, err = parseRatio(c.String("ratio")); err != nil {
		return nil, nil, err
	}
	valid := serverTests
	if mode == "engine" {
		valid = engineTests
	}
	for _, t := range c.StringSlice("tests") {
		t = strings.ToLower(strings.TrimSpace(t))
		if !slices.Contains(valid, t) {
			return nil, nil, fmt.Errorf("--tests: unknown test %q: want %s", t, strings.Join(valid, ", "))
		}
		if !slices.Contains(w.tests, t) {
			w.tests = append(w.tests, t)
		}
	}
	switch {
	case len(w.tests) == 0:
		return nil, nil, errors.New("--tests: none given")
	case w.clients < 1:
		return nil, nil, errors.New("--clients: at least 1")
	case w.keys < 1:
		return nil, nil, errors.New("--keyspace: at least 1")
	case w.dist != "uniform" && w.dist != "zipfian":
		return nil, nil, fmt.Errorf("--distribution %q: want uniform or zipfian", w.dist)
	case w.dist == "zipfian" && !(w.zipfS > 1):
		return nil, nil, fmt.Errorf("--zipf-exponent %g: want more than 1", w.zipfS)
	case w.valueSize < 1:
		return nil, nil, errors.New("--value-size: at least 1")
	case w.requests < 0 || w.requests == 0 && w.duration <= 0:
		return nil, nil, errors.New("give a positive --duration or --requests")
	case w.warmup < 0:
		return nil, nil, errors.New("--warmup: not negative")
	case w.rate < 0:
		return nil, nil, errors.New("--rate: not negative")
	case w.verify < 0 || w.verify > 1:
		return nil, nil, errors.New("--verify: a fraction from 0 to 1")
	}
	if w.seed == 0 {
		w.seed = rand.Uint64()
	}
	switch w.threads = c.Int("threads"); {
	case w.threads < 0:
		return nil, nil, errors.New("--threads: not negative")
	case w.threads == 0 && mode == "server":
		// A client that keeps to one thread leaves a core to a server on
		// the same machine, and on 2 CPUs it runs as an event loop would:
		// 240k GETs/s at pipeline 1 here, against 170k with 2 threads.
		w.threads = min(4, max(1, runtime.NumCPU()/2))
	case w.threads == 0:
		w.threads = runtime.NumCPU()
	}
	var targets []target
	if mode == "server" {
		w.pipeline, w.msetKeys, w.password, w.timeout = c.Int("pipeline"), c.Int("mset-keys"), c.String("password"), c.Duration("timeout")
		w.user = c.String("user")
		var err error
		if w.tls, err = tlsclient.Config(c.Bool("tls"), c.String("cacert"), c.String("cert"), c.String("key")); err != nil {
			return nil, nil, err
		}
		if w.pipeline < 1 {
			return nil, nil, errors.New("--pipeline: at least 1")
		}
		if w.msetKeys < 1 {
			return nil, nil, errors.New("--mset-keys: at least 1")
		}
		if w.level, err = parseLevel(c.String("level")); err != nil {
			return nil, nil, err
		}
		for _, s := range c.StringSlice("target") {
			t, err := parseTarget(s)
			if err != nil {
				return nil, nil, err
			}
			targets = append(targets, t)
		}
	} else {
		w.batchSize = c.Int("batch-size")
		if w.batchSize < 1 {
			return nil, nil, errors.New("--batch-size: at least 1")
		}
		modes := c.StringSlice("sync")
		for _, m := range modes {
			m = strings.ToLower(strings.TrimSpace(m))
			if m != "always" && m != "everysec" && m != "no" {
				return nil, nil, fmt.Errorf("--sync %q: want always, everysec or no", m)
			}
			targets = append(targets, target{name: "sync=" + m, addr: engineDir(c.String("dir"), m, len(modes)), sync: m})
		}
	}
	if len(targets) == 0 {
		return nil, nil, errors.New("no targets")
	}
	// Results are matched to targets by name: make names unique.
	seen := map[string]int{}
	for i := range targets {
		if n := seen[targets[i].name]; n > 0 {
			targets[i].name = fmt.Sprintf("%s#%d", targets[i].name, n+1)
		}
		seen[targets[i].name]++
	}
	return w, targets, nil
}

// action runs a command: every target in turn, then the report.
func action(c *cli.Context, mode string) error {
	w, targets, err := parseWorkload(c, mode)
	if err != nil {
		return err
	}
	if p := c.String("cpuprofile"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(w.threads))

	// Live progress goes to stderr when it is a terminal; when it is
	// piped or captured, only long work (a prefill) prints an occasional
	// line.
	prog := &progress{out: c.App.ErrWriter}
	if f, ok := c.App.ErrWriter.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		prog.live = true
	}
	if prog.out == nil {
		prog.out = os.Stderr
	}

	rep := newReport(mode, w, targets, keyLength(w.prefix, w.keys, w.keySize))
	var runErr error
	for _, tg := range targets {
		if ctx.Err() != nil {
			break
		}
		var rs []*Result
		var err error
		if mode == "server" {
			rs, err = runServer(ctx, w, tg, prog)
		} else {
			rs, err = runEngine(ctx, w, tg, prog)
		}
		if err != nil {
			runErr = err
			break
		}
		rep.Results = append(rep.Results, rs...)
	}
	out := c.App.Writer
	if out == nil {
		out = os.Stdout
	}
	if len(rep.Results) > 0 {
		if c.Bool("json") {
			if err := rep.writeJSON(out); err != nil {
				return err
			}
		} else {
			rep.writeText(out)
		}
		if p := c.String("plot"); p != "" {
			if err := writePlot(p, rep); err != nil {
				return err
			}
		}
	}
	if runErr != nil {
		return runErr
	}
	if rep.errorCount() > 0 {
		return errResultErrors
	}
	return nil
}
