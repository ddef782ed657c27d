package command

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// HSCAN, SSCAN and ZSCAN walk one collection's elements in their stored
// order (coll.go): a hash's fields, a set's members, a sorted set's
// members (its 'm' family, so by member, not by score). Like the keyspace
// SCAN cursor (walkerd/server/cursor.go), their cursors carry their own
// position: no state stands behind them, a cursor never expires, and any
// node resumes it, every node holding the same elements in the same order.
//
// A cursor is an unsigned 64-bit decimal number:
//
//	+-----+---------+----------------------------------------------+
//	| 01  | 000000  | first 7 bytes of the element, 0-padded        |
//	| 2 b | 6 bits  | 56 bits, big-endian                           |
//	+-----+---------+----------------------------------------------+
//
// "The element" is a field or member (for a sorted set the member, without
// its family byte). The tag 01 keeps every cursor apart from 0 (the start
// and the end of an iteration), even the cursor of the empty field. A
// number with another tag, or with one of the six middle bits set, is not
// a cursor ("ERR invalid cursor").
//
// enc(E) is the cursor of element E; dec(c) is the element a page resumes
// at (a SeekGE): the 7 bytes with their trailing zero bytes dropped. For
// elements in their byte order:
//
//  1. enc is monotone: E1 <= E2 implies enc(E1) <= enc(E2) (cutting to 7
//     bytes keeps order; padding with zero bytes, the least byte, too).
//  2. dec(enc(E)) <= E: it is a prefix of E.
//  3. enc(dec(c)) = c for every cursor c, so by 1, every E >= dec(c) has
//     enc(E) >= c.
//
// A page walks from dec(c) and, once it has seen COUNT elements (matched
// by MATCH or not, as Redis counts), stops before the first element N
// whose cursor differs from that of the last element P it saw, enc(N) >
// enc(P), answering enc(N), or 0 when the collection ends. Elements that
// share their first 7 bytes are one group that a page returns whole, so a
// page may hold more than COUNT elements.
//
// No element present through the whole iteration is missed: the next
// page starts at dec(enc(N)) <= N (2), and this page saw every element
// before N from its start, so the pages' ranges cover the collection. No
// element present throughout comes twice: dec(enc(N)) > P (were it <= P,
// by 1 and 3 enc(P) = enc(N)), so the next page starts past everything
// this page saw. The iteration ends: each cursor is greater than the one
// before (enc(N) > enc(P) >= c, by 3), and there are finitely many.
// Elements added or removed during the iteration may or may not come, as
// Redis allows.
//
// A collection of at most collScanWhole elements comes back whole in one
// page (from the cursor on), as Redis answers a listpack-encoded hash or
// sorted set (hash-max-listpack-entries, zset-max-listpack-entries: 128)
// whatever COUNT says.
func init() {
	scan := func(name string, cats Category, group string) *Spec {
		return &Spec{Name: name, Arity: -3, Flags: FlagReadonly, Cats: cats, FirstKey: 1, LastKey: 1, Step: 1,
			Group: group, Since: "2.8.0", parse: parseCollScan, run: runCollScan}
	}
	register(
		scan("hscan", CatHash, "hash"),
		scan("sscan", CatSet, "set"),
		scan("zscan", CatSortedSet, "sorted-set"),
	)
}

// collScanWhole is the size up to which a collection comes back whole.
const collScanWhole = 128

// Collection cursor layout.
const (
	collCursorTag  = uint64(1) << 62
	collCursorHigh = uint64(0xff) << 56 // tag and the six bits that must be 0
	collCursorLen  = 7                  // element bytes a cursor keeps
)

// encodeCollCursor returns the cursor of an element.
func encodeCollCursor(elem []byte) uint64 {
	var p [8]byte
	copy(p[1:], elem)
	return collCursorTag | binary.BigEndian.Uint64(p[:])
}

// decodeCollCursor returns the element a page from cursor c starts at
// (nil for 0, the start); ok is false when c is not a cursor.
func decodeCollCursor(c uint64) (start []byte, ok bool) {
	if c == 0 {
		return nil, true
	}
	if c&collCursorHigh != collCursorTag {
		return nil, false
	}
	var p [8]byte
	binary.BigEndian.PutUint64(p[:], c)
	e := p[1:]
	for len(e) > 0 && e[len(e)-1] == 0 {
		e = e[:len(e)-1]
	}
	return append([]byte{}, e...), true
}

// ParseScanCursor reads a SCAN, HSCAN, SSCAN or ZSCAN cursor as Redis's parseScanCursorOrReply does,
// with strtoul: an optional sign ("-1" wraps to 2^64-1), decimal digits,
// the empty string is 0; a leading space, other bytes and values beyond
// 64 bits are refused.
func ParseScanCursor(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, true
	}
	s, neg := b, false
	switch s[0] {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return 0, false
	case '+', '-':
		neg, s = s[0] == '-', s[1:]
	}
	if len(s) == 0 {
		return 0, false
	}
	var v uint64
	for _, ch := range s {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		d := uint64(ch - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, false // ERANGE
		}
		v = v*10 + d
	}
	if neg {
		v = -v
	}
	return v, true
}

// collScanArgs are HSCAN/SSCAN/ZSCAN's parsed arguments.
type collScanArgs struct {
	cursor  uint64
	count   int64
	pattern []byte // nil: every element
	// err is the options' error, which Redis's scanGenericCommand answers
	// only after the key was found and of the right type.
	err error
}

// parseCollScan parses KEY cursor [MATCH pattern] [COUNT count]: the
// cursor's syntax is checked first, before the key is looked up, as
// t_hash.c's hscanCommand does; the options, as scanGenericCommand reads
// them (the last MATCH and COUNT win; COUNT below 1 is a syntax error),
// are judged after the key's checks (collScanArgs.err).
func parseCollScan(args [][]byte, now int64) (any, error) {
	cur, ok := ParseScanCursor(args[2])
	if !ok {
		return nil, ErrInvalidCursor
	}
	a := &collScanArgs{cursor: cur, count: 10}
	for i := 3; i < len(args); i += 2 {
		more := i+1 < len(args)
		switch {
		case equalFold(args[i], "count") && more:
			n, ok := ParseInt(args[i+1])
			if !ok {
				a.err = ErrNotInteger
				return a, nil
			}
			if n < 1 {
				a.err = ErrSyntax
				return a, nil
			}
			a.count = n
		case equalFold(args[i], "match") && more:
			a.pattern = args[i+1]
			if len(a.pattern) == 1 && a.pattern[0] == '*' {
				a.pattern = nil
			}
		default:
			a.err = ErrSyntax
			return a, nil
		}
	}
	return a, nil
}

// runCollScan answers one page: the next cursor (0 at the end) and the
// elements, field value pairs for HSCAN, member score pairs for ZSCAN. A
// missing key is an empty iteration ("0" and no elements), before the
// options are judged, as Redis answers shared.emptyscan; a cursor that
// walkerd did not issue is "ERR invalid cursor".
func runCollScan(c *ctx, args [][]byte, p any) {
	a := p.(*collScanArgs)
	var t keyspace.Type
	var family []byte
	switch {
	case isName(args[0], "hscan"):
		t = keyspace.Hash
	case isName(args[0], "sscan"):
		t = keyspace.Set
	default:
		t, family = keyspace.ZSet, []byte{zMember}
	}
	co, wrong := c.openColl(args[1], t)
	switch {
	case wrong:
		c.r.Error(errWrongType)
		return
	case !co.found:
		c.r.Array(2)
		c.r.BulkString("0")
		c.r.Array(0)
		return
	case a.err != nil:
		c.r.Error(errorText(a.err))
		return
	}
	start, ok := decodeCollCursor(a.cursor)
	if !ok {
		c.r.Error(string(ErrInvalidCursor))
		return
	}
	limit := a.count
	small := co.count <= collScanWhole
	if small {
		limit = math.MaxInt64
	}
	lo := append(append([]byte{}, family...), start...)
	it := co.elems(c, lo, prefixEnd(family), false)
	defer it.close()
	var out [][]byte
	var next uint64
	var last uint64
	seen := int64(0)
	for ; it.Valid(); it.Next() {
		e := co.elemOf(it)[len(family):]
		enc := encodeCollCursor(e)
		if seen >= limit && enc != last {
			next = enc
			break
		}
		seen++
		last = enc
		if a.pattern != nil && !Match(a.pattern, e) {
			continue
		}
		switch t {
		case keyspace.Hash:
			out = append(out, e, it.Value())
		case keyspace.ZSet:
			out = append(out, e, []byte(zscanScore(zScoreOf(it.Value()), small)))
		default:
			out = append(out, e)
		}
	}
	if c.fatal != nil {
		return
	}
	c.r.Array(2)
	c.r.BulkString(strconv.FormatUint(next, 10))
	c.r.Array(len(out))
	for _, b := range out {
		c.r.Bulk(b)
	}
}

// zscanScore formats a ZSCAN score as Redis 7.0 does: a listpack-encoded
// sorted set (small) stores scores as d2string wrote them, an integral
// score within ±2^62 in plain digits ("100000000000000000"); a skiplist
// one formats with "%.17Lg" (createStringObjectFromLongDouble), as
// formatScore does ("1e+17").
func zscanScore(f float64, small bool) string {
	if small && f != 0 && f >= -(1<<62) && f <= 1<<62 && f == math.Trunc(f) {
		return strconv.FormatInt(int64(f), 10)
	}
	return formatScore(f)
}
