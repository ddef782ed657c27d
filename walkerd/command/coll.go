package command

import (
	"bytes"
	"math"
	"slices"
	"strconv"

	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// A collection (hash, list, set, sorted set) is one metadata key and one
// sub-key per element (internal/keyspace). Each type names its elements
// in the sub-key's element bytes:
//
//	hash        field                          -> value
//	set         member                         -> (empty)
//	list        position, 8 bytes BE           -> element
//	sorted set  'm' member                     -> score, float64 bits BE
//	            's' sortable score (8 B) member -> (empty)
//
// A list's metadata extra is its head position (8 bytes BE): the list is
// the Count positions from head up, so LINDEX and LSET are one lookup and
// LPUSH and RPOP one write each. A sorted set's two families give ZSCORE
// by member and ranges by score (then member, as Redis orders its
// skiplist) from one ordered walk. internal/keyspace (elems.go) defines
// these encodings; walkerdump and the tests decode them there.
//
// coll is a collection opened by one command: read it, change its
// elements, then save it, which rewrites the metadata when anything
// changed (so the key's WATCH version moves) and deletes the key when it
// is left empty, as Redis deletes empty collections.
type coll struct {
	key    []byte
	typ    keyspace.Type
	ver    uint64
	count  int64
	extra  []byte
	exp    int64
	found  bool   // the key held this collection when opened
	dirty  bool   // changed: save writes the metadata
	keep   bool   // an empty collection lives on (a stream), as Redis keeps streams
	prefix []byte // the sub-key prefix of ver
}

// openColl opens key as a collection of type t. A missing key gives an
// empty collection (found false) that save creates under a new version;
// wrong reports a key of another type, to which the command answers
// WRONGTYPE (errWrongType).
func (c *ctx) openColl(key []byte, t keyspace.Type) (co *coll, wrong bool) {
	co = &coll{key: key, typ: t}
	val, ok := c.lookup(key)
	if !ok {
		return co, false
	}
	if val.Type != t {
		return nil, true
	}
	co.found, co.ver, co.count, co.exp = true, val.Version, val.Count, val.exp
	co.extra = slices.Clone(val.Extra)
	co.prefix = keyspace.SubPrefix(c.dbi, key, co.ver)
	return co, false
}

// ensure gives a new collection its version before its first element is
// written.
func (co *coll) ensure(c *ctx) {
	if co.prefix == nil {
		co.ver = c.newVersion()
		co.prefix = keyspace.SubPrefix(c.dbi, co.key, co.ver)
		co.dirty = true
	}
}

// sub is the engine key of an element.
func (co *coll) sub(elem ...[]byte) []byte {
	n := len(co.prefix)
	for _, e := range elem {
		n += len(e)
	}
	k := make([]byte, 0, n)
	k = append(k, co.prefix...)
	for _, e := range elem {
		k = append(k, e...)
	}
	return k
}

// get reads an element's value.
func (co *coll) get(c *ctx, elem ...[]byte) ([]byte, bool) {
	if co.prefix == nil {
		return nil, false
	}
	v, _, ok := c.getRaw(co.sub(elem...))
	return v, ok
}

// has reports whether an element exists.
func (co *coll) has(c *ctx, elem ...[]byte) bool {
	if co.prefix == nil {
		return false
	}
	_, ok := c.metaRaw(co.sub(elem...))
	return ok
}

// put writes an element (its sub-key made of the elem parts). It does not
// count: the caller adds to count what the write added. Any change marks
// the collection dirty, so that save rewrites its metadata: the key's
// WATCH version moves with every change, as Redis's touchWatchedKey does.
//
// A sub-key holds the user key and the element, and the engine bounds
// keys (MaxKeyLen): an element that does not fit refuses the whole entry
// with ErrElementTooLong, its writes taken back.
func (co *coll) put(c *ctx, val []byte, elem ...[]byte) {
	co.ensure(c)
	k := co.sub(elem...)
	if len(k) > MaxKeyLen+3 || len(val) > MaxValueLen+1 {
		panic(refusal(ErrElementTooLong))
	}
	c.putRaw(k, val, 0)
	co.dirty = true
}

// remove deletes an element's sub-key. It does not count.
func (co *coll) remove(c *ctx, elem ...[]byte) {
	if co.prefix != nil {
		c.delRaw(co.sub(elem...))
		co.dirty = true
	}
}

// add changes the element count by n.
func (co *coll) add(n int64) {
	if n != 0 {
		co.count += n
		co.dirty = true
	}
}

// setExtra replaces the type's own metadata bytes.
func (co *coll) setExtra(extra []byte) {
	co.extra = extra
	co.dirty = true
}

// save writes the collection's metadata when it changed (moving its
// WATCH version), keeping its expiry, and deletes the key when it has no
// elements left, unless keep is set (streams outlive their entries). It reports
// whether the key was deleted (for the "del" keyspace event).
func (co *coll) save(c *ctx) (deleted bool) {
	if co.count <= 0 && !co.keep {
		if co.found {
			c.del(co.key)
			co.found = false
			return true
		}
		return false
	}
	if !co.dirty && co.found {
		return false
	}
	c.putRaw(c.metaKey(co.key), keyspace.AppendCollection(nil, co.typ, co.ver, co.count, co.extra), co.exp)
	co.found, co.dirty = true, false
	return false
}

// elems opens an ordered walk over the elements whose element bytes lie
// in [lower, upper) (nil upper: to the last), forward or in reverse.
// elemOf gives each key's element bytes. Close it.
func (co *coll) elems(c *ctx, lower, upper []byte, reverse bool) *iter {
	lo := co.sub(lower)
	var hi []byte
	if upper != nil {
		hi = co.sub(upper)
	} else {
		hi = keyspace.PrefixEnd(co.prefix)
	}
	if co.prefix == nil { // empty: walk an empty range
		lo, hi = keyspace.SubSpace(c.dbi), keyspace.SubSpace(c.dbi)
	}
	return c.iterate(lo, hi, reverse)
}

// elemOf is a copy of the element bytes of the walk's current key.
func (co *coll) elemOf(it *iter) []byte { return slices.Clone(it.Key()[len(co.prefix):]) }

// elemsWithPrefix walks the elements that begin with p.
func (co *coll) elemsWithPrefix(c *ctx, p []byte, reverse bool) *iter {
	return co.elems(c, p, prefixEnd(p), reverse)
}

// prefixEnd is the least byte string greater than every string that
// begins with p; nil (no bound) when there is none.
func prefixEnd(p []byte) []byte {
	if len(p) == 0 {
		return nil
	}
	return keyspace.PrefixEnd(p)
}

// The element encodings are internal/keyspace's (elems.go), the one
// place that defines them for walkerd, walkerdump and the tests; these are
// the command layer's short names for them.

// Sorted set element families.
const (
	zMember = keyspace.ZMemberFamily
	zScore  = keyspace.ZScoreFamily
)

// zScoreBytes is a score as its member sub-key stores it.
func zScoreBytes(f float64) []byte { return keyspace.ZScoreValue(f) }

// zScoreOf decodes a stored score; damaged bytes read 0.
func zScoreOf(b []byte) float64 {
	f, _ := keyspace.DecodeZScoreValue(b)
	return f
}

// zSortable is a score encoded so that byte order is numeric order
// (keyspace.AppendZSortable).
func zSortable(f float64) []byte { return keyspace.AppendZSortable(make([]byte, 0, 9), f) }

// zUnsortable decodes zSortable.
func zUnsortable(b []byte) float64 {
	f, _ := keyspace.DecodeZSortable(b)
	return f
}

// listStart is a new list's first position (keyspace.ListStart).
const listStart = keyspace.ListStart

// listHead is a list's head position (its metadata extra).
func (co *coll) listHead() uint64 {
	h, err := keyspace.ListHead(co.extra)
	if err != nil {
		return listStart
	}
	return h
}

func (co *coll) setListHead(h uint64) { co.setExtra(keyspace.EncodeListHead(h)) }

// listPos is the element bytes of list position p.
func listPos(p uint64) []byte { return keyspace.ListPos(p) }

// posOf decodes list element bytes.
func posOf(elem []byte) uint64 {
	p, _ := keyspace.DecodeListPos(elem)
	return p
}

// formatScore formats a sorted set score as Redis 7.0's addReplyDouble
// does in RESP2: "inf", "-inf", or C's "%.17g" (which Go's 'g' with 17
// digits matches, exponent included); -0 reads "0", as ZADD of -0 gives
// back on Redis.
func formatScore(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f == 0:
		return "0"
	}
	return strconv.FormatFloat(f, 'g', 17, 64)
}

// Positions. In an indexed View (FlagByPosition commands run in the
// engine's ViewIndexed) the engine counts keys in O(log² n) and finds
// the key at a position in O(log n); the overlay's writes of the batch
// being applied are counted on top. Without an index, or when the
// overlay holds writes the count cannot place, ok is false and the
// caller walks.

// rank is the number of co's elements in [lower, elem) (element bytes).
func (co *coll) rank(c *ctx, lower, elem []byte) (n int, ok bool) {
	if co.prefix == nil {
		return 0, true
	}
	lo, hi := co.sub(lower), co.sub(elem)
	if bytes.Compare(hi, lo) <= 0 {
		return 0, true
	}
	hidden := c.tx != nil && c.tx.hides(lo)
	if !hidden {
		if n, ok = c.view.Rank(lo, hi); !ok {
			return 0, false
		}
	}
	if c.tx == nil {
		return n, true
	}
	for _, k := range c.tx.keysIn(lo, hi) {
		s := c.tx.m[k]
		inEngine := false
		if !hidden {
			_, err := c.view.LookupAny([]byte(k))
			inEngine = err == nil
		}
		switch live := s.live(c.now); {
		case live && !inEngine:
			n++
		case !live && inEngine:
			n--
		}
	}
	return n, true
}

// at returns the element bytes at position i (0: the first) of co's
// elements >= lower; found is false past the last.
func (co *coll) at(c *ctx, lower []byte, i int) (elem []byte, found, ok bool) {
	if co.prefix == nil || i < 0 {
		return nil, false, true
	}
	lo, end := co.sub(lower), keyspace.PrefixEnd(co.prefix)
	if c.tx != nil && (c.tx.hides(lo) || len(c.tx.keysIn(lo, end)) > 0) {
		return nil, false, false // the overlay's writes lie among them: walk
	}
	k, found, ok := c.view.KeyAt(lo, i)
	if !ok || !found || bytes.Compare(k, end) >= 0 {
		return nil, false, ok
	}
	return k[len(co.prefix):], true, true
}
