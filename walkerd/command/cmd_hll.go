package command

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// The HyperLogLog commands (hyperloglog.c): PFADD, PFCOUNT, PFMERGE,
// PFDEBUG and PFSELFTEST, over string values laid out as Redis lays them
// out (hll.go).
//
// PFCOUNT of one key is a read that may write, as in Redis: when the
// value's cached cardinality is stale it counts and stores the count in
// the value's header. In the log (Apply: MULTI/EXEC, or a PFCOUNT sent as
// a write) it does so on every node alike. As a plain read it asks to be
// run as a write instead (ErrWriteNeeded); a read that may not write
// (ReadNoWrite) answers the same count and leaves the value as it is.

func init() {
	hl := func(name string, arity int, flags Flags, first, last int, since string,
		run func(*ctx, [][]byte, any)) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Cats: CatHyperLogLog, FirstKey: first, LastKey: last,
			Step: 1, Group: "hyperloglog", Since: since, run: run}
	}
	wd := FlagWrite | FlagDenyOOM
	register(
		hl("pfadd", -2, wd|FlagFast, 1, 1, "2.8.9", runPfadd),
		hl("pfcount", -2, FlagReadonly|FlagMayReplicate, 1, -1, "2.8.9", runPfcount),
		hl("pfmerge", -2, wd, 1, -1, "2.8.9", runPfmerge),
		hl("pfdebug", 3, wd|FlagAdmin, 2, 2, "2.8.9", runPfdebug),
		// PFSELFTEST touches no data: the server runs it (HLLSelfTest).
		&Spec{Name: "pfselftest", Arity: 1, Flags: FlagAdmin, Cats: CatHyperLogLog, Group: "hyperloglog",
			Since: "2.8.9"},
	)
}

// ErrWriteNeeded is what Read returns, having written no reply, for a read
// that would change data as Redis does (PFCOUNT storing the cardinality it
// counted): the caller runs the command as a write instead, or, when it
// cannot, with ReadNoWrite.
var ErrWriteNeeded = errors.New("command: the read needs to write")

// getHLL reads a key that must hold an HLL: missing (v nil), or the value,
// or an error replied (ok false).
func (c *ctx) getHLL(key []byte) (v []byte, exp int64, ok bool) {
	v, exp, found, wrong := c.getString(key)
	switch {
	case wrong:
		c.r.Error(errWrongType)
		return nil, 0, false
	case !found:
		return nil, 0, true
	case !isHLL(v):
		c.r.Error(string(errNotHLL))
		return nil, 0, false
	}
	return v, exp, true
}

// editable copies a stored value to change it, with room for a sparse
// split: v is the copy, enc the same bytes in their keyspace encoding (the
// type byte first), so that putHLL stores them without copying again.
func editable(old []byte) (enc, v []byte) {
	enc = keyspace.AppendString(make([]byte, 0, 1+len(old)+8), old)
	return enc, enc[1:]
}

// putHLL stores v, which editable's enc still holds unless v was
// reallocated (a sparse value grown, or made dense).
func (c *ctx) putHLL(key, enc, v []byte, exp int64) {
	if enc != nil && len(v) > 0 && cap(v) == cap(enc)-1 && &v[0] == &enc[1] {
		c.putRaw(c.metaKey(key), enc[:1+len(v)], exp)
		return
	}
	c.putString(key, v, exp)
}

// runPfadd adds elements (hyperloglog.c pfaddCommand): 1 when a register
// changed or the key was created (PFADD with no element creates an empty
// HLL), 0 otherwise. The key keeps its TTL.
func runPfadd(c *ctx, args [][]byte, _ any) {
	key := args[1]
	old, exp, ok := c.getHLL(key)
	if !ok {
		return
	}
	updated := 0
	var enc, v []byte
	if old == nil {
		v, exp = newHLL(), 0
		updated++
	} else {
		enc, v = editable(old)
	}
	maxBytes := hllSparseMaxBytes.Load()
	for _, ele := range args[2:] {
		var r int
		v, r = hllAdd(v, ele, maxBytes)
		switch r {
		case 1:
			updated++
		case -1:
			// Redis changed its value in place up to here: so does this.
			if old != nil && !bytes.Equal(v, old) {
				c.putHLL(key, enc, v, exp)
			}
			c.r.Error(string(errInvalidHLL))
			return
		}
	}
	if updated == 0 {
		c.r.Int(0)
		return
	}
	hllInvalidate(v)
	c.putHLL(key, enc, v, exp)
	c.touch(key, "pfadd")
	c.r.Int(1)
}

// runPfcount answers the cardinality of one HLL, or of the union of
// several without changing them (hyperloglog.c pfcountCommand). Missing
// keys count as empty HLLs.
func runPfcount(c *ctx, args [][]byte, _ any) {
	if len(args) > 2 {
		var regs [hllRegisters]uint8
		for _, key := range args[1:] {
			v, _, ok := c.getHLL(key)
			if !ok {
				return
			}
			if v != nil && !hllMerge(&regs, v) {
				c.r.Error(string(errInvalidHLL))
				return
			}
		}
		c.r.Int(int64(hllCountRegs(&regs)))
		return
	}
	key := args[1]
	v, exp, ok := c.getHLL(key)
	switch {
	case !ok:
		return
	case v == nil:
		c.r.Int(0)
		return
	case hllCacheValid(v):
		c.r.Int(int64(hllCached(v)))
		return
	}
	if c.tx == nil && c.mayWrite {
		c.needWrite = true
		return
	}
	n, invalid := hllCount(v)
	if invalid {
		c.r.Error(string(errInvalidHLL))
		return
	}
	if c.tx != nil {
		// Redis stores the count (no keyspace event: signalModifiedKey
		// only, which the new version of the key stands for here).
		enc, nv := editable(v)
		hllSetCache(nv, n)
		c.putHLL(key, enc, nv, exp)
	}
	c.r.Int(int64(n))
}

// runPfmerge merges the sources' registers (the destination's own
// included) into the destination, creating it if missing and making it
// dense if any input is dense (hyperloglog.c pfmergeCommand). The
// destination keeps its TTL.
func runPfmerge(c *ctx, args [][]byte, _ any) {
	var regs [hllRegisters]uint8
	useDense := false
	for _, key := range args[1:] {
		v, _, ok := c.getHLL(key)
		if !ok {
			return
		}
		if v == nil {
			continue
		}
		if v[4] == hllDense {
			useDense = true
		}
		if !hllMerge(&regs, v) {
			c.r.Error(string(errInvalidHLL))
			return
		}
	}
	dest := args[1]
	old, exp, found, _ := c.getString(dest)
	var enc, v []byte
	if !found {
		v, exp = newHLL(), 0
	} else {
		enc, v = editable(old)
	}
	if useDense {
		d, ok := hllSparseToDense(v)
		if !ok {
			c.r.Error(string(errInvalidHLL))
			return
		}
		v = d
	}
	maxBytes := hllSparseMaxBytes.Load()
	for j, r := range regs {
		if r == 0 {
			continue
		}
		if v[4] == hllDense {
			hllDenseSet(v[hllHdrSize:], j, r)
		} else {
			v, _ = hllSparseSet(v, j, r, maxBytes)
		}
	}
	hllInvalidate(v)
	c.putHLL(dest, enc, v, exp)
	c.touch(dest, "pfadd")
	c.r.Status("OK")
}

// runPfdebug runs PFDEBUG GETREG|DECODE|ENCODING|TODENSE key
// (hyperloglog.c pfdebugCommand). The key is checked before the
// subcommand; GETREG and TODENSE store a sparse value made dense.
func runPfdebug(c *ctx, args [][]byte, _ any) {
	key := args[2]
	v, exp, ok := c.getHLL(key)
	switch {
	case !ok:
		return
	case v == nil:
		c.r.Error("ERR The specified key does not exist")
		return
	}
	sub := args[1]
	toDense := func() ([]byte, bool) {
		if v[4] != hllSparse {
			return v, false
		}
		d, ok := hllSparseToDense(v)
		if !ok {
			c.r.Error(string(errInvalidHLL))
			return nil, false
		}
		c.putString(key, d, exp)
		return d, true
	}
	switch {
	case isName(sub, "getreg"):
		d, conv := toDense()
		if d == nil && !conv {
			return
		}
		regs := d[hllHdrSize:]
		c.r.Array(hllRegisters)
		for j := range hllRegisters {
			c.r.Int(int64(denseGet(regs, j)))
		}
	case isName(sub, "decode"):
		if v[4] != hllSparse {
			c.r.Error("ERR HLL encoding is not sparse")
			return
		}
		c.r.Bulk(hllDecode(v))
	case isName(sub, "encoding"):
		c.r.Status([]string{"dense", "sparse"}[v[4]])
	case isName(sub, "todense"):
		d, conv := toDense()
		if d == nil && !conv {
			return
		}
		c.r.Int(b2i(conv))
	default:
		c.r.Error(fmt.Sprintf("ERR Unknown PFDEBUG subcommand '%s'", cstr(sub)))
	}
}

// HLLSelfTest is PFSELFTEST (hyperloglog.c pfselftestCommand): it checks
// that dense registers keep the values set, and that dense and sparse
// HLLs fed the same 10 million elements agree and stay within 6 standard
// errors at every power of ten. It returns "" on success, else the error
// reply.
func HLLSelfTest() string {
	// Test 1: register access.
	regs := make([]byte, hllDenseSize-hllHdrSize)
	var want [hllRegisters]uint8
	for range 1000 {
		for i := range want {
			want[i] = uint8(rand.IntN(hllRegisterMax + 1))
			denseSet(regs, i, want[i])
		}
		for i := range want {
			if got := denseGet(regs, i); got != want[i] {
				return fmt.Sprintf("TESTFAILED Register %d should be %d but is %d", i, want[i], got)
			}
		}
	}
	// Test 2: approximation error, dense and sparse together.
	dense := make([]byte, hllDenseSize)
	copy(dense, "HYLL")
	sparse := newHLL()
	maxBytes := hllSparseMaxBytes.Load()
	relerr := 1.04 / 128 // 1.04/sqrt(16384)
	seed := rand.Uint64()
	var ele [8]byte
	checkpoint := int64(1)
	for j := int64(1); j <= 10000000; j++ {
		x := uint64(j) ^ seed
		for i := range ele {
			ele[i] = byte(x >> (8 * i))
		}
		index, count := hllPatLen(ele[:])
		hllDenseSet(dense[hllHdrSize:], index, count)
		sparse, _ = hllAdd(sparse, ele[:], maxBytes)
		if j != checkpoint {
			continue
		}
		if j < maxBytes/2 && sparse[4] != hllSparse {
			return "TESTFAILED sparse encoding not used"
		}
		dn, _ := hllCount(dense)
		sn, _ := hllCount(sparse)
		if dn != sn {
			return "TESTFAILED dense/sparse disagree"
		}
		abserr := checkpoint - int64(dn)
		maxerr := int64(math.Ceil(relerr * 6 * float64(checkpoint)))
		if j == 10 {
			maxerr = 1
		}
		if abserr < 0 {
			abserr = -abserr
		}
		if abserr > maxerr {
			return fmt.Sprintf("TESTFAILED Too big error. card:%d abserr:%d", checkpoint, abserr)
		}
		checkpoint *= 10
	}
	return ""
}
