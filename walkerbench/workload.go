package main

import (
	"crypto/tls"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// opKind is one kind of request.
type opKind uint8

const (
	opGet opKind = iota
	opSet
	opIncr
	opMset
	opDelete
	opBatch
)

// Tests of each mode, in the order they are listed in help.
var (
	serverTests = []string{"set", "get", "incr", "mset", "mixed"}
	engineTests = []string{"put", "get", "delete", "batch", "mixed"}
)

// wantsPrefill says whether a test wants every key written before it
// starts: those that read keys, and delete (of keys that exist).
func wantsPrefill(test string) bool { return test == "get" || test == "mixed" || test == "delete" }

// workload is everything a run does, the same for every target.
type workload struct {
	mode     string // "server" or "engine"
	tests    []string
	clients  int
	threads  int // GOMAXPROCS during the run
	pipeline int // server: commands per write; engine: 1

	setWeight, getWeight int // mixed: --ratio set:get (put:get)

	keys      int
	dist      string
	zipfS     float64
	keySize   int
	valueSize int
	prefix    string
	msetKeys  int // server mset: keys per MSET
	batchSize int // engine batch: puts per Write

	duration time.Duration // of the measured phase, when requests is 0
	requests int64         // total per test, over all clients
	warmup   time.Duration
	rate     float64 // requests per second over all clients; 0 = closed loop

	level    string // server reads: "" plain GET, else LEVELGET's level, "0".."2"
	user     string // ACL user AUTH names with password ("": AUTH password)
	password string
	tls      *tls.Config // connect over TLS (nil: plain TCP)
	prefill  bool
	verify   float64 // fraction of read values whose contents are checked
	timeout  time.Duration
	seed     uint64
}

// readNilIsChecked reports whether a nil read of a key whose write was
// acknowledged counts as a lost write: at every level but stale.
func (w *workload) readNilIsChecked() bool { return w.level != "1" }

// verifyEvery turns the verify fraction into "every n-th read"; 0 = none.
func (w *workload) verifyEvery() int {
	switch {
	case w.verify <= 0:
		return 0
	case w.verify >= 1:
		return 1
	}
	return max(1, int(1/w.verify+0.5))
}

// parseRatio reads "set:get", e.g. "1:10".
func parseRatio(s string) (set, get int, err error) {
	a, b, ok := strings.Cut(s, ":")
	if ok {
		set, err = strconv.Atoi(strings.TrimSpace(a))
		if err == nil {
			get, err = strconv.Atoi(strings.TrimSpace(b))
		}
	}
	if !ok || err != nil || set < 0 || get < 0 || set+get == 0 {
		return 0, 0, fmt.Errorf("--ratio %q: want set:get, two whole numbers not both 0, e.g. 1:10", s)
	}
	return set, get, nil
}

// parseLevel reads a LEVELGET consistency level by name or number and
// returns the number walkerd's LEVELGET takes.
func parseLevel(s string) (string, error) {
	switch strings.ToLower(s) {
	case "":
		return "", nil
	case "default", "0":
		return "0", nil
	case "stale", "1":
		return "1", nil
	case "consistent", "2":
		return "2", nil
	}
	return "", fmt.Errorf("--level %q: want default, stale or consistent (or 0, 1, 2)", s)
}

var levelNames = map[string]string{"": "GET", "0": "LEVELGET default", "1": "LEVELGET stale", "2": "LEVELGET consistent"}

// target is one thing to measure: a RESP address, or the engine in one
// sync mode.
type target struct {
	name string
	addr string // server: host:port; engine: the directory
	sync string // engine: sync mode
}

// parseTarget reads "addr" or "name=addr".
func parseTarget(s string) (target, error) {
	name, addr, ok := strings.Cut(s, "=")
	if !ok {
		name, addr = s, s
	}
	if name == "" || addr == "" {
		return target{}, fmt.Errorf("--target %q: want host:port or name=host:port", s)
	}
	if !strings.Contains(addr, ":") {
		addr += ":6379"
	}
	return target{name: name, addr: addr}, nil
}

// pending is one request on its way: what was asked, so its reply can be
// checked, and when it started.
type pending struct {
	kind   opKind
	acked  bool // get: a write to the key had been acknowledged when it was sent
	verify bool // get: check the value's contents
	key    int
	ver    uint64 // set: the version written
	keys   int    // mset, batch: index of its keys in the client's key list
	start  int64  // now() when sent (closed loop) or due (open loop)
}

// chooser picks each request of a test: its kind and key.
type chooser struct {
	w      *workload
	ks     *keyspace
	pick   *picker
	kind   opKind // of every request, unless mixed
	mixed  bool
	nreads int
	every  int
}

func newChooser(w *workload, ks *keyspace, test string, client int) *chooser {
	seed := w.seed*1_000_003 + uint64(client) + 1
	ch := &chooser{w: w, ks: ks, pick: newPicker(seed, w.keys, w.dist, w.zipfS), every: w.verifyEvery()}
	switch test {
	case "get":
		ch.kind = opGet
	case "set", "put":
		ch.kind = opSet
	case "incr":
		ch.kind = opIncr
	case "mset":
		ch.kind = opMset
	case "delete":
		ch.kind = opDelete
	case "batch":
		ch.kind = opBatch
	case "mixed":
		ch.mixed = true
	}
	return ch
}

// next picks a request. For a get it notes whether the key's write was
// acknowledged; for a set it issues the version (keys of an mset or a
// batch are picked by the caller, with issueKey).
func (ch *chooser) next() pending {
	kind := ch.kind
	if ch.mixed {
		if ch.pick.rng.IntN(ch.w.setWeight+ch.w.getWeight) < ch.w.setWeight {
			kind = opSet
		} else {
			kind = opGet
		}
	}
	p := pending{kind: kind, key: ch.pick.key()}
	switch kind {
	case opGet:
		p.acked = ch.ks.wasAcked(p.key)
		if ch.every > 0 {
			ch.nreads++
			if ch.nreads >= ch.every {
				ch.nreads, p.verify = 0, true
			}
		}
	case opSet:
		p.ver = ch.ks.issue(p.key)
	case opIncr:
		ch.ks.incrs[p.key].Add(1)
	case opDelete:
		ch.ks.deleting(p.key)
	}
	return p
}

// checker judges replies and read values against the keyspace. Each
// client has its own (it holds a scratch buffer).
type checker struct {
	w      *workload
	ks     *keyspace
	keyBuf []byte
}

// A problem is a reply that is not what it must be: a kind to count by,
// and the detail of this one for the report's examples.
type problem struct{ kind, detail string }

// checkValue judges the value (nil for none) read for p; the zero problem
// means it is right.
func (ck *checker) checkValue(p *pending, v []byte, null bool) problem {
	ks := ck.ks
	if null {
		if p.acked && ck.w.readNilIsChecked() {
			return problem{"lost write", "nil, though a write of the key had been acknowledged before the read was sent"}
		}
		return problem{}
	}
	if len(v) != ck.w.valueSize {
		return problem{"wrong value length", fmt.Sprintf("value of %d bytes, want %d", len(v), ck.w.valueSize)}
	}
	if !p.verify {
		return problem{}
	}
	ck.keyBuf = ks.appendKey(ck.keyBuf[:0], p.key)
	ver, bad := checkValue(v, ck.w.valueSize, keySum(ck.keyBuf))
	if bad != "" {
		return problem{bad, fmt.Sprintf("%s: %.40q", bad, v)}
	}
	if !ks.owned {
		return problem{}
	}
	// The prefix is this run's: every value under it was written by it.
	switch iss := ks.issued(p.key); {
	case iss == 0:
		return problem{"value for a key never written", fmt.Sprintf("%.40q", v)}
	case ver > iss && ck.w.valueSize >= valueHeader:
		return problem{"value of a version never written", fmt.Sprintf("version %d, latest written %d", ver, iss)}
	}
	return problem{}
}

// checkIncr judges an INCR's reply: at least 1 and, for this run's own
// keys, at most the INCRs sent to the key so far.
func (ck *checker) checkIncr(p *pending, n int64) problem {
	if sent := ck.ks.incrs[p.key].Load(); n < 1 || ck.ks.owned && n > sent {
		return problem{"wrong INCR result", fmt.Sprintf("INCR answered %d after %d INCRs of the key", n, sent)}
	}
	return problem{}
}

// example formats a wrong reply for the report.
func (ck *checker) example(p *pending, pr problem) string {
	if p.kind == opIncr {
		ck.keyBuf = ck.ks.appendCounter(ck.keyBuf[:0], p.key)
	} else {
		ck.keyBuf = ck.ks.appendKey(ck.keyBuf[:0], p.key)
	}
	return fmt.Sprintf("%s %s: %s", kindName(p.kind), ck.keyBuf, pr.detail)
}

func kindName(k opKind) string {
	return [...]string{"get", "set", "incr", "mset", "delete", "batch"}[k]
}
