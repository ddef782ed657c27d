package server

import (
	"bufio"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
)

// TestFuzzDifferential runs random command sequences (fuzzdiff_gen_test.go)
// on a real redis-server and on an in-process walkerd and compares every
// reply, then a dump of both keyspaces (every key of k0..k5 in databases
// 0 and 1: TYPE, TTL and contents). Replies whose order Redis leaves
// undefined are compared sorted, random ones by shape, TTLs within 1.
//
// The first mismatch of each kind (command, reply kinds, Redis's error
// text) is shrunk to a minimal sequence (the failing prefix, then delta
// debugging) and reported as redis-cli lines with both replies.
//
// The default run is short (it is part of `make test`): seed 1, so that
// CI runs the same sequences every time, fuzzdiffDefaultN sequences or
// fuzzdiffDefaultTime, whichever comes first; `make fuzzdiff` runs long
// with a random seed (0). To reproduce or run long:
//
//	go test ./server -run TestFuzzDifferential -fuzzdiff.seed=42 -fuzzdiff.n=100000
//	WALKERD_FUZZDIFF_SEED=42 WALKERD_FUZZDIFF_N=100000 go test ./server -run TestFuzzDifferential -timeout 0
//
// A seed reproduces the same sequences only with the same set of
// registered commands: the generators skip commands walkerd lacks.
//
// Other variables: WALKERD_FUZZDIFF_STRICT=1 reports the known mismatches
// too (fuzzdiff_known_test.go); WALKERD_FUZZDIFF_OUT=file writes the
// reports there; WALKERD_FUZZDIFF_STATS=1 logs Redis's reply classes by
// command; WALKERD_FUZZDIFF_REPRO=file replays redis-cli lines on both
// servers (TestFuzzDifferential_Repro).
var (
	fuzzdiffSeedFlag = flag.String("fuzzdiff.seed", "", "TestFuzzDifferential: seed (0: random; default 1; env WALKERD_FUZZDIFF_SEED)")
	fuzzdiffNFlag    = flag.Int("fuzzdiff.n", 0, "TestFuzzDifferential: number of sequences (0: the short default; env WALKERD_FUZZDIFF_N)")
	fuzzdiffLenFlag  = flag.Int("fuzzdiff.len", 0, "TestFuzzDifferential: most commands in a sequence (0: 30; env WALKERD_FUZZDIFF_LEN)")
)

const (
	fuzzdiffDefaultN    = 20000
	fuzzdiffDefaultTime = 12 * time.Second
	fuzzdiffMaxDistinct = 40 // distinct mismatches reported before stopping
)

func envOr[T any](flagVal T, zero T, env string, parse func(string) (T, error)) T {
	if any(flagVal) != any(zero) {
		return flagVal
	}
	if s := os.Getenv(env); s != "" {
		if v, err := parse(s); err == nil {
			return v
		}
	}
	return zero
}

func TestFuzzDifferential(t *testing.T) {
	seed := uint64(1)
	if v := envOr(*fuzzdiffSeedFlag, "", "WALKERD_FUZZDIFF_SEED", func(s string) (string, error) { return s, nil }); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("fuzzdiff seed %q: %v", v, err)
		}
	}
	n := envOr(*fuzzdiffNFlag, 0, "WALKERD_FUZZDIFF_N", strconv.Atoi)
	maxLen := envOr(*fuzzdiffLenFlag, 0, "WALKERD_FUZZDIFF_LEN", strconv.Atoi)
	budget := time.Duration(0)
	if n == 0 {
		n, budget = fuzzdiffDefaultN, fuzzdiffDefaultTime
	}
	if maxLen <= 0 {
		maxLen = 30
	}
	if seed == 0 { // asked for a random seed
		seed = uint64(time.Now().UnixNano())
	}
	specs := fuzzSpecs()
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.name
	}
	t.Logf("fuzzdiff: seed %d (reproduce: -fuzzdiff.seed=%d -fuzzdiff.n=%d), %d generated commands: %s",
		seed, seed, n, len(specs), strings.Join(names, " "))

	f := &fuzzDiff{t: t, redisAddr: startRedis(t), strict: os.Getenv("WALKERD_FUZZDIFF_STRICT") != ""}
	// No expiry sweeper: the sequences set no expiry that passes while
	// they run, and a write concurrent with a DBSIZE wedges walkerd today
	// (command/ctx.go dbsize calls engine.DB.CountPrefix, which read-locks
	// the DB again inside the View the command runs in; a writer waiting
	// between the two locks blocks the second for ever). One client
	// looping DBSIZE and another looping SET k v hang within a second.
	f.walkerAddr = startServer(t, Config{SweepInterval: -1}).addr
	// A timed-out blocking command ends at Redis's next cron tick: at the
	// default hz 10, 100 ms each.
	if got := dial(t, f.redisAddr).must(t, "CONFIG", "SET", "hz", "500"); got != "+OK" {
		t.Fatalf("CONFIG SET hz 500: %s", got)
	}
	if os.Getenv("WALKERD_FUZZDIFF_STATS") != "" {
		f.stats = map[string]map[string]int{}
		defer func() {
			names := slices.Sorted(maps.Keys(f.stats))
			for _, n := range names {
				t.Logf("fuzzdiff stats %s: %v", n, f.stats[n])
			}
		}()
	}
	f.dump = dumpCommands()
	fzConfig = fzRegistered("config|set")
	if fzConfig {
		fzPrelude = [][]string{{"FLUSHALL"}}
		for _, d := range fzEncodingDefaults {
			fzPrelude = append(fzPrelude, []string{"CONFIG", "SET", d[0], d[1]})
		}
	}
	fzResp3 = strings.HasPrefix(dial(t, f.walkerAddr).must(t, "HELLO", "3"), "{")
	t.Logf("fuzzdiff: RESP3 sequences: %v", fzResp3)

	start := time.Now()
	deadline, hasDeadline := t.Deadline()
	found := map[string]bool{}
	var reports []string
	ran, cmds := 0, 0
	for i := range n {
		if budget > 0 && time.Since(start) > budget {
			break
		}
		if hasDeadline && time.Until(deadline) < 30*time.Second {
			t.Logf("fuzzdiff: stopping early, the test deadline is near")
			break
		}
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		seq := genSequence(r, specs, 1+r.IntN(maxLen))
		full := append(slices.Clone(seq), f.dump...)
		ran++
		cmds += len(full)
		m := f.run(full)
		if m == nil || m.known != nil {
			continue
		}
		if found[m.sig] {
			continue
		}
		found[m.sig] = true
		if f.hung {
			// A wedged server fails every later run: report the sequence
			// as it is, and stop.
			var b strings.Builder
			fmt.Fprintf(&b, "fuzzdiff: walkerd stopped answering (sequence %d; not shrunk, the server is stuck) at %s\n", i, fzLine(full[m.idx]))
			for _, fc := range full[:m.idx+1] {
				b.WriteString("  " + fzLine(fc) + "\n")
			}
			reports = append(reports, b.String())
			t.Errorf("%s", b.String())
			break
		}
		min := f.shrink(full[:m.idx+1], m.sig)
		rep := f.report(min, m.sig, i)
		reports = append(reports, rep)
		t.Errorf("%s", rep)
		if len(found) >= fuzzdiffMaxDistinct {
			t.Logf("fuzzdiff: %d distinct mismatches, stopping", len(found))
			break
		}
	}
	t.Logf("fuzzdiff: %d sequences, %d commands (with dumps) in %v; %d distinct mismatches; %d known skipped",
		ran, cmds, time.Since(start).Round(time.Millisecond), len(found), f.knownHits)
	for _, k := range slices.Sorted(maps.Keys(f.knownBy)) {
		t.Logf("fuzzdiff: known mismatch %q hit %d times", fuzzdiffKnown[k].name, f.knownBy[k])
	}
	if out := os.Getenv("WALKERD_FUZZDIFF_OUT"); out != "" && len(reports) > 0 {
		os.WriteFile(out, []byte(strings.Join(reports, "\n\n")+"\n"), 0o644)
	}
}

// dumpCommands read every key the generators use in databases 0 and 1
// with every type's reader (the wrong ones answer WRONGTYPE on both).
func dumpCommands() []fcmd {
	var out []fcmd
	add := func(fc fcmd) {
		if fzRegistered(strings.ToLower(fc.args[0])) {
			out = append(out, fc)
		}
	}
	for _, db := range []string{"0", "1"} {
		add(fzc(cmpExact, "SELECT", db))
		add(fzc(cmpSorted, "KEYS", "*"))
		add(fzc(cmpExact, "DBSIZE"))
		for _, k := range fzKeys {
			add(fzc(cmpExact, "TYPE", k))
			add(fzNear(1, "TTL", k))
			add(fzc(cmpExact, "GET", k))
			add(fzc(cmpPairs, "HGETALL", k))
			add(fzc(cmpExact, "LRANGE", k, "0", "-1"))
			add(fzc(cmpSorted, "SMEMBERS", k))
			add(fzc(cmpExact, "ZRANGE", k, "0", "-1", "WITHSCORES"))
			add(fzc(cmpExact, "XRANGE", k, "-", "+"))
			add(fzc(cmpExact, "XINFO", "GROUPS", k))
		}
	}
	add(fzc(cmpExact, "SELECT", "0"))
	return out
}

type fuzzDiff struct {
	t                     *testing.T
	redisAddr, walkerAddr string
	dump                  []fcmd
	knownHits             int
	strict                bool                      // ignore fuzzdiffKnown
	hung                  bool                      // walkerd stopped answering: nothing more can run
	knownBy               map[int]int               // hits by index in fuzzdiffKnown
	stats                 map[string]map[string]int // WALKERD_FUZZDIFF_STATS: Redis's reply classes by command
}

type fuzzMismatch struct {
	idx     int
	sig     string
	redis   string
	walkerd string
	known   *fuzzKnown
}

// fzPrelude starts every run: an empty keyspace, and (when walkerd has
// CONFIG SET) the encoding settings the sequences may change back at
// Redis's defaults.
var fzPrelude = [][]string{{"FLUSHALL"}}

var fzEncodingDefaults = [][2]string{
	{"hash-max-listpack-entries", "512"}, {"hash-max-listpack-value", "64"},
	{"zset-max-listpack-entries", "128"}, {"zset-max-listpack-value", "64"},
	{"set-max-intset-entries", "512"},
}

// pipeline runs the prelude and cmds on a new connection to addr and
// returns the replies of cmds (fewer if the connection failed: err says
// why). A command marked other (at most one) runs on a second connection
// (see runOther); the command after it runs once it is blocked, and the
// rest once it has answered.
func pipeline(addr string, cmds []fcmd) ([]resp.Value, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	br := bufio.NewReader(c)
	pre := make([]fcmd, len(fzPrelude))
	for i, p := range fzPrelude {
		pre[i] = fzcs(cmpExact, p)
	}
	vs, err := pipeOn(c, br, pre)
	if err != nil {
		return nil, err
	}
	for i, v := range vs {
		if fzFormat(v) != "+OK" {
			return nil, fmt.Errorf("%s answered %s", cliLine(pre[i].args), fzFormat(v))
		}
	}
	x := slices.IndexFunc(cmds, func(fc fcmd) bool { return fc.other })
	if x < 0 {
		return pipeOn(c, br, cmds)
	}
	out, err := pipeOn(c, br, cmds[:x])
	if err != nil {
		return out, err
	}
	xv, done, err := runOther(addr, cmds[x], c, br)
	if err != nil {
		return out, err
	}
	// One command may serve x; x's answer is awaited before the rest,
	// since walkerd serves a blocked client after, not with, the command
	// that made its key ready (server/blocking.go).
	next := cmds[x+1 : min(x+2, len(cmds))]
	mid, err := pipeOn(c, br, next)
	if err != nil {
		return append(out, xv), err
	}
	if xv, err = done(); err != nil {
		return out, err
	}
	rest, err := pipeOn(c, br, cmds[x+1+len(next):])
	return append(append(append(out, xv), mid...), rest...), err
}

// pipeOn sends cmds on c at once and reads their replies.
func pipeOn(c net.Conn, br *bufio.Reader, cmds []fcmd) ([]resp.Value, error) {
	var buf []byte
	for _, fc := range cmds {
		bs := make([][]byte, len(fc.args))
		for i, a := range fc.args {
			bs[i] = []byte(a)
		}
		buf = append(buf, encodeCommand(bs)...)
	}
	werr := make(chan error, 1)
	go func() { _, err := c.Write(buf); werr <- err }()
	out := make([]resp.Value, 0, len(cmds))
	for range cmds {
		v, err := resp.ReadValue(br)
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, <-werr
}

// runOther sends x (a blocking command) on a second connection and
// returns once it is blocked (INFO's blocked_clients, asked on c) or has
// answered; done then gives its reply, waiting for it.
func runOther(addr string, x fcmd, c net.Conn, br *bufio.Reader) (v resp.Value, done func() (resp.Value, error), err error) {
	a, err := net.Dial("tcp", addr)
	if err != nil {
		return v, nil, err
	}
	ar := bufio.NewReader(a)
	closeWith := func(v resp.Value, err error) (resp.Value, error) { a.Close(); return v, err }
	a.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := pipeOnSendOnly(a, x); err != nil {
		a.Close()
		return v, nil, err
	}
	info := fzc(cmpExact, "INFO", "clients")
	for start := time.Now(); time.Since(start) < 5*time.Second; {
		vs, err := pipeOn(c, br, []fcmd{info})
		if err != nil {
			a.Close()
			return v, nil, err
		}
		if vs[0].Kind != '$' || strings.Contains(string(vs[0].Str), "blocked_clients:1") {
			break // blocked (or c is in a MULTI: INFO was queued)
		}
		a.SetReadDeadline(time.Now().Add(2 * time.Millisecond))
		_, perr := ar.Peek(1)
		a.SetDeadline(time.Now().Add(15 * time.Second))
		if perr == nil {
			break // answered without blocking
		}
	}
	return v, func() (resp.Value, error) { return closeWith(resp.ReadValue(ar)) }, nil
}

func pipeOnSendOnly(c net.Conn, fc fcmd) (int, error) {
	bs := make([][]byte, len(fc.args))
	for i, a := range fc.args {
		bs[i] = []byte(a)
	}
	return c.Write(encodeCommand(bs))
}

// run runs cmds on both servers (each from an empty keyspace) and returns
// the first mismatch, or nil.
func (f *fuzzDiff) run(cmds []fcmd) *fuzzMismatch {
	type res struct {
		vs  []resp.Value
		err error
	}
	rc := make(chan res, 1)
	go func() {
		vs, err := pipeline(f.redisAddr, cmds)
		rc <- res{vs, err}
	}()
	wv, werr := pipeline(f.walkerAddr, cmds)
	rr := <-rc
	if rr.err != nil {
		f.t.Fatalf("redis-server: %v", rr.err)
	}
	// Track MULTI as Redis answers it: EXEC's elements are compared by
	// the modes of the commands Redis queued.
	inMulti := false
	var queued []cmpMode
	for i, fc := range cmds {
		rv := rr.vs[i]
		mode := fc.mode
		name := fuzzName(fc.args)
		if f.stats != nil {
			st := f.stats[name]
			if st == nil {
				st = map[string]int{}
				f.stats[name] = st
			}
			st[fuzzSig("", rv, rv)[1:]]++
		}
		switch {
		case name == "MULTI" && fzFormat(rv) == "+OK":
			inMulti, queued = true, nil
		case name == "EXEC":
			mode = cmpMode{kind: cmpExact}
			if inMulti {
				mode = cmpMode{kind: cmpExec, subs: queued}
			}
			inMulti, queued = false, nil
		case name == "DISCARD":
			inMulti, queued = false, nil
		case inMulti && fzFormat(rv) == "+QUEUED":
			queued = append(queued, fc.mode)
			mode = cmpMode{kind: cmpExact}
		}
		if i >= len(wv) {
			sig := name + " connection"
			if ne, ok := werr.(net.Error); ok && ne.Timeout() {
				sig, f.hung = "walkerd hang", true
			}
			return &fuzzMismatch{idx: i, sig: sig, redis: fzFormat(rv),
				walkerd: fmt.Sprintf("(no reply: %v)", werr)}
		}
		same, rs, ws := fuzzCompare(mode, rv, wv[i])
		if same {
			continue
		}
		m := &fuzzMismatch{idx: i, sig: fuzzSig(name, rv, wv[i]), redis: rs, walkerd: ws}
		margs, mr, mw := fc.args, rs, ws
		if name == "EXEC" && isAggregate(rv) && isAggregate(wv[i]) && len(rv.Elems) == len(wv[i].Elems) && len(rv.Elems) == len(mode.subs) {
			// Name the queued command that differs.
			for j, q := range mode.subs {
				if s, a, b := fuzzCompare(q, rv.Elems[j], wv[i].Elems[j]); !s {
					qa := queuedArgs(cmds[:i], j)
					m.sig = "EXEC>" + fuzzSig(fuzzName(qa), rv.Elems[j], wv[i].Elems[j])
					margs, mr, mw = qa, a, b
					break
				}
			}
		}
		if !f.strict {
			kc := &knownCase{f: f, cmds: cmds[:i+1], args: margs, redis: mr, walkerd: mw}
			for k := range fuzzdiffKnown {
				kn := &fuzzdiffKnown[k]
				if strings.HasPrefix(m.sig, kn.sig) && (kn.match == nil || kn.match(kc)) {
					m.known = kn
					f.knownHits++
					if f.knownBy == nil {
						f.knownBy = map[int]int{}
					}
					f.knownBy[k]++
					break
				}
			}
			if m.known != nil && strings.HasPrefix(mr, "-") && strings.HasPrefix(mw, "-") {
				continue // two errors: nothing changed, the sequence goes on
			}
		}
		return m
	}
	if werr != nil {
		return &fuzzMismatch{idx: len(cmds) - 1, sig: "connection", walkerd: werr.Error()}
	}
	return nil
}

// queuedArgs is the j-th command queued by the last MULTI before the
// EXEC that ends cmds (by position; an approximation when a command was
// refused while queueing).
func queuedArgs(cmds []fcmd, j int) []string {
	m := -1
	for i := len(cmds) - 1; i >= 0; i-- {
		if strings.EqualFold(cmds[i].args[0], "MULTI") {
			m = i
			break
		}
	}
	if m >= 0 && m+1+j < len(cmds) {
		return cmds[m+1+j].args
	}
	return []string{"?"}
}

// fuzzName is a command's name for signatures: upper case, with the
// subcommand of a container.
func fuzzName(args []string) string {
	name := strings.ToUpper(args[0])
	if name == "OBJECT" && len(args) > 1 {
		name += " " + strings.ToUpper(args[1])
	}
	return name
}

// fuzzSig classifies a mismatch: the command, both replies' kinds and
// Redis's error text up to its first quote (which names arguments).
func fuzzSig(name string, r, w resp.Value) string {
	class := func(v resp.Value) string {
		if v.Kind == '-' {
			s, _, _ := strings.Cut(string(v.Str), "'")
			if len(s) > 48 {
				s = s[:48]
			}
			return "-" + s
		}
		if v.Null {
			return "nil"
		}
		return string(rune(v.Kind))
	}
	return name + " " + class(r) + " / " + class(w)
}

// fuzzCompare compares two replies under a mode and renders them.
func fuzzCompare(m cmpMode, r, w resp.Value) (same bool, rs, ws string) {
	if r.Kind == '-' || w.Kind == '-' || r.Kind == '!' || w.Kind == '!' {
		rs, ws = fzFormat(r), fzFormat(w)
		return rs == ws, rs, ws
	}
	switch m.kind {
	case cmpNear:
		rs, ws = fzFormat(r), fzFormat(w)
		if r.Kind == ':' && w.Kind == ':' {
			d := r.Int - w.Int
			return d <= m.tol && d >= -m.tol, rs, ws
		}
		return rs == ws, rs, ws
	case cmpExec:
		if r.Kind == w.Kind && isAggregate(r) && isAggregate(w) && len(r.Elems) == len(m.subs) && len(w.Elems) == len(m.subs) {
			same = true
			rp, wp := make([]string, len(m.subs)), make([]string, len(m.subs))
			for i, sub := range m.subs {
				s, a, b := fuzzCompare(sub, r.Elems[i], w.Elems[i])
				same = same && s
				rp[i], wp[i] = a, b
			}
			return same, "[" + strings.Join(rp, ", ") + "]", "[" + strings.Join(wp, ", ") + "]"
		}
	}
	rs, ws = fuzzNorm(m.kind, r), fuzzNorm(m.kind, w)
	return rs == ws, rs, ws
}

func fuzzNorm(k cmpKind, v resp.Value) string {
	switch k {
	case cmpSorted:
		if isAggregate(v) {
			return "sorted" + fzSortedElems(v, 1)
		}
	case cmpPairs:
		if isAggregate(v) && len(v.Elems)%2 == 0 {
			return "pairs" + fzSortedElems(v, 2)
		}
	case cmpScan, cmpScanPairs:
		if v.Kind == '*' && len(v.Elems) == 2 && isAggregate(v.Elems[1]) {
			cur := "cursor!=0"
			if string(v.Elems[0].Str) == "0" {
				cur = "cursor=0"
			}
			step := 1
			if k == cmpScanPairs {
				step = 2
			}
			return cur + " " + fzSortedElems(v.Elems[1], step)
		}
	case cmpShape:
		switch {
		case (v.Kind == '$' || v.Kind == '=') && !v.Null:
			return "some bulk"
		case isAggregate(v):
			return fmt.Sprintf("some %c of %d", v.Kind, len(v.Elems))
		}
	}
	return fzFormat(v)
}

func isAggregate(v resp.Value) bool {
	return (v.Kind == '*' || v.Kind == '~' || v.Kind == '%') && !v.Null
}

// fzSortedElems renders an aggregate's elements (in groups of step)
// sorted, with its kind.
func fzSortedElems(v resp.Value, step int) string {
	parts := make([]string, 0, len(v.Elems)/step)
	for i := 0; i+step <= len(v.Elems); i += step {
		p := fzFormat(v.Elems[i])
		if step == 2 {
			p += "=" + fzFormat(v.Elems[i+1])
		}
		parts = append(parts, p)
	}
	slices.Sort(parts)
	return string(rune(v.Kind)) + "[" + strings.Join(parts, ", ") + "]"
}

// fzFormat renders a reply of either protocol as text: RESP2's as format
// does, RESP3's kinds with their type marks.
func fzFormat(v resp.Value) string {
	switch v.Kind {
	case '+', '-', ':', '$':
		return format(v)
	case '*', '~', '>':
		if v.Null {
			return "(nil array)"
		}
		parts := make([]string, len(v.Elems))
		for i, e := range v.Elems {
			parts[i] = fzFormat(e)
		}
		open := map[resp.Kind]string{'*': "[", '~': "set[", '>': "push["}[v.Kind]
		return open + strings.Join(parts, ", ") + "]"
	case '%':
		parts := make([]string, 0, len(v.Elems)/2)
		for i := 0; i+1 < len(v.Elems); i += 2 {
			parts = append(parts, fzFormat(v.Elems[i])+" => "+fzFormat(v.Elems[i+1]))
		}
		return "map{" + strings.Join(parts, ", ") + "}"
	case ',':
		return "(double) " + string(v.Str)
	case '#':
		return fmt.Sprintf("(bool) %v", v.Bool)
	case '_':
		return "(null)"
	case '(':
		return "(big) " + string(v.Str)
	case '=':
		return "(verbatim " + v.Format + ") " + strconv.Quote(string(v.Str))
	case '!':
		return "-" + string(v.Str)
	}
	return "?" + string(rune(v.Kind))
}

// shrink reduces a failing sequence (its last command mismatching with
// sig) to a smaller one that still fails with sig: delta debugging over
// chunks, then single commands, within a budget of runs.
func (f *fuzzDiff) shrink(cmds []fcmd, sig string) []fcmd {
	runs := 0
	const maxRuns = 600
	fails := func(c []fcmd) bool {
		if runs >= maxRuns || len(c) == 0 || f.hung {
			return false
		}
		runs++
		m := f.run(c)
		return m != nil && m.sig == sig
	}
	cur := cmds
	for chunk := len(cur) / 2; chunk >= 1; {
		removed := false
		for start := 0; start < len(cur); {
			end := min(start+chunk, len(cur))
			cand := append(slices.Clone(cur[:start]), cur[end:]...)
			if fails(cand) {
				cur, removed = cand, true
				continue // same start, now over the following commands
			}
			start = end
		}
		if !removed || chunk > len(cur) {
			chunk /= 2
		}
		if runs >= maxRuns {
			break
		}
	}
	// The failing command is last: cut anything after a mismatch too.
	if m := f.run(cur); m != nil && m.sig == sig {
		cur = cur[:m.idx+1]
	}
	return cur
}

// report renders a minimal reproduction: redis-cli lines, both replies of
// the last command.
func (f *fuzzDiff) report(cmds []fcmd, sig string, seqNo int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "fuzzdiff mismatch [%s] (sequence %d), minimal reproduction (%d commands, from FLUSHALL):\n", sig, seqNo, len(cmds))
	for _, fc := range cmds {
		b.WriteString("  " + fzLine(fc) + "\n")
	}
	if m := f.run(cmds); m != nil {
		fmt.Fprintf(&b, "  -> at %s\n     redis:   %s\n     walkerd: %s", fzLine(cmds[m.idx]), m.redis, m.walkerd)
	} else {
		b.WriteString("  (no longer reproduces)")
	}
	return b.String()
}

// fzLine is a command's line in a reproduction: "2> " marks the one sent
// on a second connection (sent after the lines before it ran; the lines
// after it run once it is blocked).
func fzLine(fc fcmd) string {
	if fc.other {
		return "2> " + cliLine(fc.args)
	}
	return cliLine(fc.args)
}

// cliLine renders args as a redis-cli command line (splitArgs reads it
// back).
func cliLine(args []string) string {
	parts := make([]string, len(args))
	for i, a := range args {
		plain := a != ""
		for j := 0; j < len(a); j++ {
			ch := a[j]
			if ch <= ' ' || ch >= 0x7f || ch == '"' || ch == '\'' || ch == '\\' {
				plain = false
				break
			}
		}
		if plain {
			parts[i] = a
			continue
		}
		var q strings.Builder
		q.WriteByte('"')
		for j := 0; j < len(a); j++ {
			switch ch := a[j]; {
			case ch == '"' || ch == '\\':
				q.WriteByte('\\')
				q.WriteByte(ch)
			case ch == '\n':
				q.WriteString(`\n`)
			case ch == '\r':
				q.WriteString(`\r`)
			case ch == '\t':
				q.WriteString(`\t`)
			case ch < ' ' || ch >= 0x7f:
				fmt.Fprintf(&q, `\x%02x`, ch)
			default:
				q.WriteByte(ch)
			}
		}
		q.WriteByte('"')
		parts[i] = q.String()
	}
	return strings.Join(parts, " ")
}

// TestFuzzDifferential_CLILineRoundTrips: the reproductions read back as
// redis-cli (splitArgs) reads them.
func TestFuzzDifferential_CLILineRoundTrips(t *testing.T) {
	for _, args := range [][]string{
		{"SET", "k", ""},
		{"SET", "x y", "a\"b\\c", "\n\r\t\x00\xff"},
		{"KEYS", `\k*`},
		{"ECHO", "it's"},
	} {
		got, err := splitArgs(cliLine(args))
		if err != nil || !slices.Equal(got, args) {
			t.Errorf("%q: cliLine %s read back as %q (%v)", args, cliLine(args), got, err)
		}
	}
}

// TestFuzzDifferential_Repro runs the redis-cli lines of the file named by
// WALKERD_FUZZDIFF_REPRO (one command a line, "2> " before the one for a
// second connection; blank lines separate sequences, each from FLUSHALL) on both servers and logs every reply
// side by side, marking the differences. Without the variable it skips.
func TestFuzzDifferential_Repro(t *testing.T) {
	path := os.Getenv("WALKERD_FUZZDIFF_REPRO")
	if path == "" {
		t.Skip("WALKERD_FUZZDIFF_REPRO is not set")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	redisAddr := startRedis(t)
	walkerAddr := startServer(t, Config{}).addr
	for _, block := range strings.Split(string(data), "\n\n") {
		var cmds []fcmd
		for _, line := range strings.Split(block, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			other := strings.HasPrefix(line, "2> ")
			args, err := splitArgs(strings.TrimPrefix(line, "2> "))
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			fc := fzcs(cmpExact, args)
			fc.other = other
			cmds = append(cmds, fc)
		}
		if len(cmds) == 0 {
			continue
		}
		rv, rerr := pipeline(redisAddr, cmds)
		wv, werr := pipeline(walkerAddr, cmds)
		var b strings.Builder
		for i, fc := range cmds {
			rs, ws := "(none)", "(none)"
			if i < len(rv) {
				rs = fzFormat(rv[i])
			}
			if i < len(wv) {
				ws = fzFormat(wv[i])
			}
			mark := "  "
			if rs != ws {
				mark = "!="
			}
			fmt.Fprintf(&b, "%s %s\n     redis:   %s\n     walkerd: %s\n", mark, fzLine(fc), rs, ws)
		}
		if rerr != nil || werr != nil {
			fmt.Fprintf(&b, "errors: redis %v, walkerd %v\n", rerr, werr)
		}
		t.Logf("\n%s", b.String())
	}
}
