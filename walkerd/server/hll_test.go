package server

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// hllPair is a real Redis and a walkerd, each with a connection, for
// comparing HyperLogLog values byte for byte.
type hllPair struct {
	t      *testing.T
	rc, wc *conn
}

func newHLLPair(t *testing.T) *hllPair {
	redisAddr := startRedis(t)
	s := startServer(t, Config{})
	return &hllPair{t: t, rc: dial(t, redisAddr), wc: dial(t, s.addr)}
}

// both runs a command on both servers, fails the test unless the replies
// are equal, and returns Redis's.
func (p *hllPair) both(args ...[]byte) resp.Value {
	p.t.Helper()
	rv, err := p.rc.doBytes(args...)
	if err != nil {
		p.t.Fatal(err)
	}
	wv, err := p.wc.doBytes(args...)
	if err != nil {
		p.t.Fatal(err)
	}
	if format(rv) != format(wv) {
		p.t.Fatalf("%.60q:\n redis   %.300s\n walkerd %.300s", args, format(rv), format(wv))
	}
	return rv
}

func (p *hllPair) bothS(args ...string) resp.Value {
	p.t.Helper()
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	return p.both(bs...)
}

// pfadd adds elements on both servers, then checks that GET answers the
// same bytes on both.
func (p *hllPair) pfadd(key string, elems []string) {
	p.t.Helper()
	args := [][]byte{[]byte("PFADD"), []byte(key)}
	for _, e := range elems {
		args = append(args, []byte(e))
	}
	p.both(args...)
	p.bothS("GET", key)
}

func randElems(r *rand.Rand, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "e" + strconv.FormatUint(r.Uint64(), 36)
	}
	return out
}

// The same PFADDs give byte-identical values in Redis and walkerd, sparse
// and dense, through the sparse-to-dense promotion; PFCOUNT answers the
// same and caches the count in the value as Redis does (GET after PFCOUNT
// is equal too, the cached-cardinality bytes included).
func TestHLL_SameBytesAsRedis(t *testing.T) {
	p := newHLLPair(t)
	r := rand.New(rand.NewPCG(1, 2))
	total := 0
	for _, n := range []int{0, 1, 1, 2, 5, 10, 30, 50, 100, 200, 300, 500, 800, 1000, 3000} {
		p.pfadd("h", randElems(r, n))
		total += n
		p.bothS("PFCOUNT", "h")
		v := p.bothS("GET", "h")
		if v.Str[15]&0x80 != 0 {
			t.Fatalf("after PFCOUNT the cached cardinality is still invalid")
		}
		enc := p.bothS("PFDEBUG", "ENCODING", "h")
		t.Logf("%d elements: %d bytes, %s", total, len(v.Str), enc.Str)
	}
	if got := format(p.bothS("PFDEBUG", "ENCODING", "h")); got != "+dense" {
		t.Fatalf("never promoted: %s", got)
	}
	// Re-adding known elements changes nothing.
	p.bothS("PFADD", "h", "e1", "e2")
	p.bothS("GET", "h")

	// Small values, elements of every length 0..40 (the hash's tail).
	for l := range 41 {
		p.pfadd("lens", []string{string(bytes.Repeat([]byte{byte('a' + l%26)}, l))})
	}
	p.bothS("PFCOUNT", "lens")
	p.bothS("PFDEBUG", "DECODE", "lens")
	p.bothS("GET", "lens")
}

// A value made by Redis, copied to walkerd with GET and SET, counts the
// same there, and the other way round; PFMERGE and multi-key PFCOUNT of
// such values agree too.
func TestHLL_ValuesMoveBetweenServers(t *testing.T) {
	p := newHLLPair(t)
	r := rand.New(rand.NewPCG(3, 4))
	for i, n := range []int{3, 700, 5000} {
		elems := randElems(r, n)
		args := []string{"PFADD", "src"}
		args = append(args, elems...)
		// Made in Redis only, copied to walkerd.
		if _, err := p.rc.do(args...); err != nil {
			t.Fatal(err)
		}
		v, err := p.rc.do("GET", "src")
		if err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprintf("fromredis%d", i)
		p.both([]byte("SET"), []byte(key), v.Str)
		p.bothS("PFCOUNT", key)
		p.bothS("GET", key)
		// Made in walkerd only, copied to Redis.
		args[1] = "wsrc"
		if _, err := p.wc.do(args...); err != nil {
			t.Fatal(err)
		}
		w, err := p.wc.do("GET", "wsrc")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(w.Str, v.Str) {
			t.Fatalf("%d elements: walkerd's value differs from Redis's", n)
		}
		key = fmt.Sprintf("fromwalkerd%d", i)
		p.both([]byte("SET"), []byte(key), w.Str)
		p.bothS("PFCOUNT", key)
	}
	p.bothS("PFCOUNT", "fromredis0", "fromredis1", "fromwalkerd2", "missing")
	p.bothS("PFMERGE", "m", "fromredis0", "fromredis1")
	p.bothS("GET", "m")
	p.bothS("PFDEBUG", "ENCODING", "m")
	p.bothS("PFMERGE", "m", "fromredis2")
	p.bothS("GET", "m")
	p.bothS("PFCOUNT", "m")
	p.bothS("GET", "m")
}

// Over 100k distinct random elements PFCOUNT stays within three standard
// errors (3 * 0.81%) of the truth at every checkpoint, and equals Redis's
// count exactly.
func TestHLL_ErrorWithinStandardError(t *testing.T) {
	if testing.Short() {
		t.Skip("100k elements")
	}
	p := newHLLPair(t)
	r := rand.New(rand.NewPCG(5, 6))
	const stdErr = 1.04 / 128
	seen := map[string]bool{}
	worst := 0.0
	for n := 0; n < 100000; {
		batch := randElems(r, 1000)
		for _, e := range batch {
			if !seen[e] {
				seen[e] = true
				n++
			}
		}
		args := append([]string{"PFADD", "big"}, batch...)
		p.bothS(args...)
		if n%10000 != 0 && n != 1000 {
			continue
		}
		v := p.bothS("PFCOUNT", "big")
		rel := math.Abs(float64(v.Int)-float64(n)) / float64(n)
		worst = max(worst, rel)
		t.Logf("%6d elements: PFCOUNT %6d, error %.3f%%", n, v.Int, rel*100)
		if rel > 3*stdErr {
			t.Errorf("%d elements: PFCOUNT %d, error %.3f%% beyond 3 standard errors", n, v.Int, rel*100)
		}
	}
	p.bothS("GET", "big")
	t.Logf("worst error %.3f%% (standard error %.2f%%)", worst*100, stdErr*100)
}

// hllHeader is a valid header of the given encoding with a stale cache.
func hllHeader(enc byte) []byte {
	h := []byte("HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80")
	h[4] = enc
	return h
}

// Hand-made values: registers above 32 (only dense can hold them) force
// a sparse PFMERGE destination to dense; values Redis refuses or finds
// corrupted are refused alike, and a corrupted sparse value's partial
// PFADD leaves the same bytes.
func TestHLL_CraftedValues(t *testing.T) {
	p := newHLLPair(t)
	dense := append(hllHeader(0), make([]byte, 12288)...)
	// Register 5 at 40, register 16383 (the last, at the end) at 63.
	setReg := func(v []byte, i int, val byte) {
		regs := v[16:]
		b, fb := i*6/8, uint(i*6&7)
		regs[b] = regs[b]&^(63<<fb) | val<<fb
		if b+1 < len(regs) {
			regs[b+1] = regs[b+1]&^(63>>(8-fb)) | val>>(8-fb)
		}
	}
	setReg(dense, 5, 40)
	setReg(dense, 16383, 63)
	setReg(dense, 100, 3)
	p.both([]byte("SET"), []byte("dense"), dense)
	p.bothS("PFCOUNT", "dense")
	p.bothS("PFADD", "sp", "a", "b")
	p.bothS("PFMERGE", "sp", "dense")
	p.bothS("PFDEBUG", "ENCODING", "sp")
	p.bothS("GET", "sp")
	p.bothS("PFCOUNT", "sp", "dense")

	sparse := func(ops ...byte) []byte { return append(hllHeader(1), ops...) }
	xzero := func(n int) []byte { return []byte{byte((n-1)>>8) | 0x40, byte(n - 1)} }
	cases := map[string][]byte{
		"short":      []byte("HYLL\x01"),
		"magic":      append([]byte("HYLX"), sparse(xzero(16384)...)[4:]...),
		"encoding":   append(hllHeader(2), xzero(16384)...),
		"denseshort": append(hllHeader(0), make([]byte, 100)...),
		"toofew":     sparse(xzero(100)...),
		"toomany":    sparse(append(xzero(16384), 0x80)...),
		"truncxzero": sparse(append(xzero(16000), 0x40|0x01)...),
		"valover":    sparse(append(xzero(16383), 0x83)...),
		"partial":    sparse(append(xzero(8000), 0x80)...),
		"validval":   sparse(append(append(xzero(8000), 0x84, 0x8b), xzero(16384-8000-5)...)...),
	}
	for _, key := range []string{"short", "magic", "encoding", "denseshort", "toofew", "toomany", "truncxzero",
		"valover", "partial", "validval"} {
		p.both([]byte("SET"), []byte(key), cases[key])
		p.bothS("PFCOUNT", key)
		p.bothS("PFCOUNT", key, "dense")
		p.bothS("PFDEBUG", "DECODE", key)
		p.bothS("PFADD", key, "x", "y", "z", "w", "v", "u")
		p.bothS("GET", key)
		p.bothS("PFMERGE", "dst"+key, key)
		p.bothS("GET", "dst"+key)
		p.bothS("PFDEBUG", "GETREG", key)
		p.bothS("GET", key)
		p.bothS("PFDEBUG", "TODENSE", key)
		p.bothS("GET", key)
	}
}

// hll-sparse-max-bytes moves the promotion point as in Redis, to the
// byte.
func TestHLL_SparseMaxBytes(t *testing.T) {
	p := newHLLPair(t)
	t.Cleanup(func() {
		if _, err := p.wc.do("CONFIG", "SET", "hll-sparse-max-bytes", "3000"); err != nil {
			t.Error(err)
		}
	})
	r := rand.New(rand.NewPCG(7, 8))
	for _, limit := range []string{"0", "40", "200", "1kb"} {
		p.bothS("CONFIG", "SET", "hll-sparse-max-bytes", limit)
		p.bothS("CONFIG", "GET", "hll-sparse-max-bytes")
		p.bothS("DEL", "h")
		for range 60 {
			p.pfadd("h", randElems(r, 3))
			p.bothS("PFDEBUG", "ENCODING", "h")
		}
	}
	p.bothS("CONFIG", "SET", "hll-sparse-max-bytes", "-1")
	p.bothS("CONFIG", "SET", "hll-sparse-max-bytes", "3000")
}

// PFCOUNT of one key caches the count in the value through the log, also
// inside MULTI, and keeps the key's TTL.
func TestHLL_PfcountCachesInMulti(t *testing.T) {
	p := newHLLPair(t)
	p.bothS("PFADD", "h", "a", "b", "c")
	p.bothS("PEXPIRE", "h", "100000")
	p.bothS("MULTI")
	p.bothS("PFCOUNT", "h")
	p.bothS("PFADD", "h", "d")
	p.bothS("PFCOUNT", "h")
	p.bothS("EXEC")
	v := p.bothS("GET", "h")
	if got := binary.LittleEndian.Uint64(v.Str[8:16]); got != 4 {
		t.Fatalf("cached cardinality %d, want 4", got)
	}
	if ttl := p.wc.must(t, "PTTL", "h"); ttl == ":-1" || ttl == ":-2" {
		t.Fatalf("PTTL %s: the TTL was lost", ttl)
	}
}

// PFCOUNT of a stale cache on a follower: at the default level it runs at
// the leader, which caches the count through the log; at the stale level
// it is proposed as a write (forwarded to the leader); and when no write
// can be made it answers the same count from the node's own engine,
// leaving the value as it is.
func TestHLL_PfcountOnAFollower(t *testing.T) {
	leader, follow, f, _ := startPair(t, "")
	lc, fc := dial(t, leader.addr), dial(t, follow.addr)
	if got := fc.must(t, "PFADD", "h", "a", "b", "c"); got != ":1" {
		t.Fatalf("PFADD: %s", got)
	}
	stale := func(c *conn) byte {
		v, err := c.do("GET", "h")
		if err != nil || len(v.Str) < 16 {
			t.Fatalf("GET: %v %q", err, v.Str)
		}
		return v.Str[15] & 0x80
	}
	if stale(lc) == 0 {
		t.Fatal("cache valid after PFADD")
	}
	if got := fc.must(t, "PFCOUNT", "h"); got != ":3" {
		t.Fatalf("PFCOUNT: %s", got)
	}
	if stale(lc) != 0 {
		t.Fatal("PFCOUNT at the leader did not cache the count")
	}

	// The follower's own engine, read at the stale level.
	e := &command.Entry{NowMs: time.Now().UnixMilli(), Cmds: [][][]byte{{[]byte("PFADD"), []byte("g"), []byte("x"), []byte("y")}}}
	if _, err := f.Backend.Apply(e); err != nil {
		t.Fatal(err)
	}
	fc.must(t, "CONFIG", "SET", "read-consistency", "stale")
	lc.must(t, "PFADD", "g", "x", "y")
	if got := fc.must(t, "PFCOUNT", "g"); got != ":2" {
		t.Fatalf("stale PFCOUNT: %s", got)
	}
	if v := lc.must(t, "PFDEBUG", "ENCODING", "g"); v != "+sparse" {
		t.Fatalf("leader's g: %s", v)
	}
	lv, _ := lc.do("GET", "g")
	if lv.Str[15]&0x80 != 0 {
		t.Fatal("the stale PFCOUNT was not proposed to the leader")
	}
	// No write possible: the count, and the follower's value unchanged.
	f.outcome = backend.ErrUnknownOutcome
	e.Cmds[0][1] = []byte("g2")
	if _, err := f.Backend.Apply(e); err != nil {
		t.Fatal(err)
	}
	if got := fc.must(t, "PFCOUNT", "g2"); got != ":2" {
		t.Fatalf("PFCOUNT without a write: %s", got)
	}
	fv, _ := fc.do("GET", "g2")
	if fv.Str[15]&0x80 == 0 {
		t.Fatal("the follower's value changed without the log")
	}
}
