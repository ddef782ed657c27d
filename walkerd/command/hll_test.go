package command

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
)

// Redis 7.0.15's value after PFADD h a b c (GET h), and PFDEBUG DECODE's
// rendering of it.
const (
	redisABC       = "48594c4c01000000000000000000008060f38050b1844bfb80425a"
	redisABCDecode = "Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603"
)

func TestHLL_SameBytesAsRedisForABC(t *testing.T) {
	v := newHLL()
	for _, e := range []string{"a", "b", "c"} {
		var r int
		v, r = hllAdd(v, []byte(e), 3000)
		if r != 1 {
			t.Fatalf("add %s: %d", e, r)
		}
	}
	hllInvalidate(v)
	if got := hex.EncodeToString(v); got != redisABC {
		t.Fatalf("value\n got  %s\n want %s", got, redisABC)
	}
	if got := string(hllDecode(v)); got != redisABCDecode {
		t.Fatalf("decode %q, want %q", got, redisABCDecode)
	}
	if n, invalid := hllCount(v); n != 3 || invalid {
		t.Fatalf("count %d invalid %v", n, invalid)
	}
}

func denseRegs(t *testing.T, v []byte) []byte {
	t.Helper()
	d, ok := hllSparseToDense(v)
	if !ok {
		t.Fatalf("sparse value does not convert: %q", hllDecode(v))
	}
	return d[hllHdrSize:]
}

// A sparse HLL and a dense one fed the same elements hold the same
// registers and count the same; the sparse one stays within its byte
// limit until it is promoted, and then holds the same registers too.
func TestHLL_SparseDenseRoundTrip(t *testing.T) {
	for _, limit := range []int64{1 << 30, 3000, 300, 40, 0} {
		r := rand.New(rand.NewPCG(uint64(limit), 9))
		sparse := newHLL()
		dense, _ := hllSparseToDense(newHLL())
		promotedAt := -1
		for i := range 4000 {
			ele := []byte("x" + strconv.FormatUint(r.Uint64(), 16))
			var rs, rd int
			wasSparse := sparse[4] == hllSparse
			sparse, rs = hllAdd(sparse, ele, limit)
			dense, rd = hllAdd(dense, ele, limit)
			if rs != rd {
				t.Fatalf("limit %d, element %d: sparse add %d, dense add %d", limit, i, rs, rd)
			}
			if sparse[4] == hllSparse && int64(len(sparse)) > max(limit, 18) {
				t.Fatalf("limit %d: sparse value of %d bytes", limit, len(sparse))
			}
			if wasSparse && sparse[4] == hllDense {
				promotedAt = i
				if len(sparse) != hllDenseSize {
					t.Fatalf("dense value of %d bytes", len(sparse))
				}
			}
			if i%97 == 0 || i < 50 {
				if !bytes.Equal(denseRegs(t, sparse), dense[hllHdrSize:]) {
					t.Fatalf("limit %d, element %d: registers differ", limit, i)
				}
				a, _ := hllCount(sparse)
				b, _ := hllCount(dense)
				if a != b {
					t.Fatalf("limit %d, element %d: counts %d and %d", limit, i, a, b)
				}
			}
		}
		if promotedAt < 0 && limit < 1<<30 {
			t.Fatalf("limit %d: never promoted", limit)
		}
		t.Logf("limit %d: promoted at element %d", limit, promotedAt)
	}
}

// A register above 32 cannot be sparse: setting one promotes the value,
// which keeps its other registers.
func TestHLL_PromoteOnLargeRegister(t *testing.T) {
	v := newHLL()
	v, _ = hllSparseSet(v, 10, 5, 3000)
	v, _ = hllSparseSet(v, 11, 5, 3000)
	if got := string(hllDecode(v)); got != "z:10 v:5,2 Z:16372" {
		t.Fatalf("decode %q", got)
	}
	v, r := hllSparseSet(v, 16383, 33, 3000)
	if r != 1 || v[4] != hllDense {
		t.Fatalf("not promoted: %d, encoding %d", r, v[4])
	}
	regs := v[hllHdrSize:]
	for i, want := range map[int]uint8{10: 5, 11: 5, 12: 0, 16383: 33, 0: 0} {
		if got := denseGet(regs, i); got != want {
			t.Errorf("register %d = %d, want %d", i, got, want)
		}
	}
	// A value not above the register's changes nothing.
	w, _ := hllSparseSet(newHLL(), 3, 7, 3000)
	if _, r := hllSparseSet(w, 3, 7, 3000); r != 0 {
		t.Fatalf("setting an equal value: %d", r)
	}
	if _, r := hllSparseSet(w, 3, 2, 3000); r != 0 {
		t.Fatalf("setting a lower value: %d", r)
	}
}

// The 6-bit packing: every register keeps its value, its neighbours
// theirs.
func TestHLL_DenseRegisters(t *testing.T) {
	regs := make([]byte, hllDenseSize-hllHdrSize)
	r := rand.New(rand.NewPCG(1, 1))
	var want [hllRegisters]uint8
	for i := range want {
		want[i] = uint8(r.IntN(64))
		denseSet(regs, i, want[i])
	}
	for i := range want {
		if got := denseGet(regs, i); got != want[i] {
			t.Fatalf("register %d = %d, want %d", i, got, want[i])
		}
	}
	var h [64]int
	hllDenseHisto(regs, &h)
	var h2 [64]int
	for _, v := range want {
		h2[v]++
	}
	if h != h2 {
		t.Fatal("histogram differs")
	}
}

func TestHLL_IsHLL(t *testing.T) {
	dense := make([]byte, hllDenseSize)
	copy(dense, "HYLL")
	for v, want := range map[string]bool{
		string(newHLL()):               true,
		string(dense):                  true,
		string(dense[:hllDenseSize-1]): false,
		"HYLL\x01":                     false,
		"HYLX\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00": false,
		"HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00": false,
		"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00": true, // no opcodes: judged when read
	} {
		if isHLL([]byte(v)) != want {
			t.Errorf("isHLL(%q) != %v", v, want)
		}
	}
}

func TestHLL_Estimate(t *testing.T) {
	if n, _ := hllCount(newHLL()); n != 0 {
		t.Fatalf("empty: %d", n)
	}
	// Every register at 51 or more: z is 0, as only a crafted value has.
	d := make([]byte, hllDenseSize)
	copy(d, "HYLL")
	for i := range hllRegisters {
		denseSet(d[hllHdrSize:], i, 60)
	}
	if n, _ := hllCount(d); n != 1<<63 {
		t.Fatalf("all registers at 60: %d", n)
	}
}

// Whatever bytes follow a sparse header, nothing panics and every
// function agrees on whether they are valid.
func TestHLL_CorruptedValuesDoNotPanic(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 3))
	var regs [hllRegisters]uint8
	for range 20000 {
		v := append([]byte(nil), newHLL()...)
		if r.IntN(2) == 0 {
			for range r.IntN(40) {
				v, _ = hllAdd(v, []byte(strconv.Itoa(r.IntN(1000))), 3000)
			}
		}
		for range 1 + r.IntN(3) {
			switch r.IntN(3) {
			case 0:
				if len(v) > hllHdrSize {
					v[hllHdrSize+r.IntN(len(v)-hllHdrSize)] = byte(r.Uint32())
				}
			case 1:
				v = append(v, byte(r.Uint32()))
			case 2:
				if len(v) > hllHdrSize {
					v = v[:len(v)-1]
				}
			}
		}
		_, invalidCount := hllCount(v)
		okMerge := hllMerge(&regs, v)
		_, okDense := hllSparseToDense(v)
		if okMerge != okDense {
			t.Fatalf("%x: merge %v, to dense %v", v, okMerge, okDense)
		}
		if okMerge && invalidCount {
			t.Fatalf("%x: merges but does not count", v)
		}
		_ = hllDecode(v)
		for range 5 {
			w, res := hllAdd(v, []byte(strconv.Itoa(r.IntN(100))), int64(r.IntN(200)))
			if res == -1 {
				break
			}
			v = w
		}
	}
}

// PFCOUNT of one key caches the count in Apply; as a plain read it asks
// to be a write (ErrWriteNeeded, no reply) while the cache is stale, and
// ReadNoWrite answers without writing.
func TestHLL_PfcountReadAsksForWrite(t *testing.T) {
	a := newApplier(t)
	if got := a.do("PFADD", "h", "a", "b", "c"); got != ":1\r\n" {
		t.Fatalf("PFADD: %q", got)
	}
	var e resp.Encoder
	err := Read(a.db, 0, a.now, nil, cmd("PFCOUNT", "h"), &e)
	if !errors.Is(err, ErrWriteNeeded) || len(e.B) != 0 {
		t.Fatalf("Read: %v, reply %q", err, e.B)
	}
	e.B = nil
	if err := ReadNoWrite(a.db, 0, a.now, nil, cmd("PFCOUNT", "h"), &e); err != nil || string(e.B) != ":3\r\n" {
		t.Fatalf("ReadNoWrite: %v, reply %q", err, e.B)
	}
	if got := a.do("GET", "h"); !strings.Contains(got, "\x80") {
		t.Fatalf("ReadNoWrite wrote: %q", got)
	}
	// Several keys are a read.
	if got := a.read("PFCOUNT", "h", "h", "missing"); got != ":3\r\n" {
		t.Fatalf("PFCOUNT of several: %q", got)
	}
	if got := a.do("PFCOUNT", "h"); got != ":3\r\n" {
		t.Fatalf("PFCOUNT applied: %q", got)
	}
	if got := a.read("PFCOUNT", "h"); got != ":3\r\n" {
		t.Fatalf("PFCOUNT read with the cache valid: %q", got)
	}
	want := "$27\r\n" + string(mustHex(t, strings.Replace(redisABC, "0000000000000080", "0300000000000000", 1))) + "\r\n"
	if got := a.do("GET", "h"); got != want {
		t.Fatalf("GET after PFCOUNT:\n got  %q\n want %q", got, want)
	}
}

func mustHex(t testing.TB, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Benchmarks. PFADD into a sparse value (each key gets 200 elements, so it
// stays sparse, about 500 bytes), into a dense one, and PFCOUNT counting
// (cache stale: ReadNoWrite counts every time) of one and of three dense
// keys.
func BenchmarkHLL_PfaddSparse(b *testing.B) {
	db := openDB(b)
	a := NewApplier(db)
	now := time.Now().UnixMilli()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e := &Entry{NowMs: now, Cmds: [][][]byte{{[]byte("PFADD"), []byte("s" + strconv.Itoa(i/200)),
			[]byte("e" + strconv.Itoa(i))}}}
		a.ApplyOne(uint64(i+1), e)
	}
}

func hllBenchDB(b *testing.B, keys ...string) (*Applier, int64, uint64) {
	db := openDB(b)
	a := NewApplier(db)
	now := time.Now().UnixMilli()
	idx := uint64(0)
	for _, k := range keys {
		args := [][]byte{[]byte("PFADD"), []byte(k)}
		for i := range 5000 {
			args = append(args, []byte(k+strconv.Itoa(i)))
		}
		idx++
		a.ApplyOne(idx, &Entry{NowMs: now, Cmds: [][][]byte{args}})
	}
	return a, now, idx
}

func BenchmarkHLL_PfaddDense(b *testing.B) {
	a, now, idx := hllBenchDB(b, "d")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e := &Entry{NowMs: now, Cmds: [][][]byte{{[]byte("PFADD"), []byte("d"), []byte("e" + strconv.Itoa(i))}}}
		a.ApplyOne(idx+uint64(i+1), e)
	}
}

func benchPfcount(b *testing.B, keys ...string) {
	a, now, _ := hllBenchDB(b, keys...)
	args := append([][]byte{[]byte("PFCOUNT")}, cmd(keys...)...)
	e := &resp.Encoder{Proto: 2}
	b.ReportAllocs()
	for b.Loop() {
		e.B = e.B[:0]
		if err := ReadNoWrite(a.db, 0, now, nil, args, e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHLL_Pfcount1(b *testing.B) { benchPfcount(b, "d1") }
func BenchmarkHLL_Pfcount3(b *testing.B) { benchPfcount(b, "d1", "d2", "d3") }
