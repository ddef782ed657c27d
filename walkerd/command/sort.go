package command

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// SORT and SORT_RO, as Redis 7.0.15's sort.c: sort the elements of a list,
// set or sorted set numerically (each read as a double) or, with ALPHA,
// as strings; by the elements themselves or by the values of other keys
// (BY pattern, "*" replaced by the element; "key->field" reads a hash
// field; a pattern without "*", such as "nosort", skips sorting); with
// LIMIT offset count; answering the elements or, for each, the values of
// GET patterns ("#" is the element itself); or, with STORE (SORT only),
// writing them as a list.
//
// Where Redis's order is not defined, WalkerDB's is deterministic: the
// elements are gathered in their stored order (a list's, a sorted set's
// by score, a set's members in numeric order when Redis would keep the
// set as an intset, and otherwise a set's or a sorted set's members in
// byte order, where Redis walks a hash table) and sorted stably, so
// elements that compare equal under BY ... ALPHA keep that order. So a
// set returned unsorted (BY constant without STORE) comes as Redis gives
// it when Redis keeps it as an intset, and in member byte order where
// Redis walks a hash table in an order of its own. ALPHA compares bytes (strcoll
// in the C locale, which Redis uses unless its environment sets one).
//
// SORT reads keys named by the BY and GET patterns (COMMAND INFO says
// movablekeys, as Redis's does); SORT is a write command (it may STORE),
// so it always runs as a log entry.
func init() {
	cats := CatSet | CatSortedSet | CatList | CatDangerous
	register(
		&Spec{Name: "sort", Arity: -2, Flags: FlagWrite | FlagDenyOOM | FlagMovableKeys, Cats: cats,
			FirstKey: 1, LastKey: 1, Step: 1, Group: "generic", Since: "1.0.0", parse: parseSort, run: runSort},
		&Spec{Name: "sort_ro", Arity: -2, Flags: FlagReadonly | FlagMovableKeys, Cats: cats,
			FirstKey: 1, LastKey: 1, Step: 1, Group: "generic", Since: "7.0.0", parse: parseSort, run: runSort},
	)
}

type sortArgs struct {
	desc, alpha  bool
	start, count int64 // LIMIT (count -1: all)
	by           []byte
	dontsort     bool // BY a pattern without '*'
	gets         [][]byte
	store        []byte
	// patterned is the first option that reads keys by a pattern, "BY"
	// (with a '*') or "GET", for the ACL check of runSort; "" for none.
	patterned string
}

// parseSort parses the options as sortCommandGeneric does, left to right:
// ASC, DESC, ALPHA, LIMIT offset count (integers), STORE key (not for
// SORT_RO), BY pattern, GET pattern; anything else is a syntax error.
func parseSort(args [][]byte, now int64) (any, error) {
	readonly := isName(args[0], "sort_ro")
	a := &sortArgs{count: -1}
	for j := 2; j < len(args); j++ {
		left := len(args) - j - 1
		switch {
		case equalFold(args[j], "asc"):
			a.desc = false
		case equalFold(args[j], "desc"):
			a.desc = true
		case equalFold(args[j], "alpha"):
			a.alpha = true
		case equalFold(args[j], "limit") && left >= 2:
			s, ok1 := ParseInt(args[j+1])
			if !ok1 {
				return nil, ErrNotInteger
			}
			n, ok2 := ParseInt(args[j+2])
			if !ok2 {
				return nil, ErrNotInteger
			}
			a.start, a.count = s, n
			j += 2
		case !readonly && equalFold(args[j], "store") && left >= 1:
			if len(args[j+1]) > MaxKeyLen {
				return nil, ErrKeyTooLong
			}
			a.store = args[j+1]
			j++
		case equalFold(args[j], "by") && left >= 1:
			a.by = args[j+1]
			a.dontsort = bytes.IndexByte(cstr(a.by), '*') < 0
			if !a.dontsort && a.patterned == "" {
				a.patterned = "BY"
			}
			j++
		case equalFold(args[j], "get") && left >= 1:
			a.gets = append(a.gets, args[j+1])
			if a.patterned == "" {
				a.patterned = "GET"
			}
			j++
		default:
			return nil, ErrSyntax
		}
	}
	return a, nil
}

// sortItem is one element being sorted: its score (numeric) or the value
// it is compared by (ALPHA with BY; nil when the BY key is missing).
type sortItem struct {
	elem  []byte
	score float64
	cmp   []byte
}

// FullKeyRead, when set (walkerd's server sets it), reports whether the
// ACL user may read every key, by the users WALKER.ACLSET stored (nil:
// none): sort.c lets only such a user use BY and GET patterns, which read
// keys no argument names.
var FullKeyRead func(users []byte, user string) bool

func runSort(c *ctx, args [][]byte, p any) {
	a := *p.(*sortArgs)
	if a.patterned != "" && c.user != "" && FullKeyRead != nil && !FullKeyRead(c.aclUsers(), c.user) {
		c.r.Error("ERR " + a.patterned + " option of SORT denied due to insufficient ACL permissions.")
		return
	}
	key := args[1]
	var elems [][]byte
	typ := keyspace.List
	if val, ok := c.lookup(key); ok {
		if val.Type != keyspace.List && val.Type != keyspace.Set && val.Type != keyspace.ZSet {
			c.r.Error(errWrongType)
			return
		}
		typ = val.Type
		co, _ := c.openColl(key, val.Type)
		elems = c.sortElems(co)
		if c.fatal != nil {
			return
		}
	}
	// An unsorted set would come out in an order of Redis's own making:
	// STORE sorts it (ALPHA), as Redis does for a replicated STORE.
	if a.dontsort && typ == keyspace.Set && a.store != nil {
		a.dontsort, a.alpha, a.by = false, true, nil
	}
	// LIMIT, as sortCommandGeneric bounds it.
	n := int64(len(elems))
	start := min(max(a.start, 0), n)
	count := min(max(a.count, -1), n)
	end := n - 1
	if count >= 0 {
		end = start + count - 1
	}
	if start >= n {
		start, end = n-1, n-2
	}
	end = min(end, n-1)

	items := make([]sortItem, len(elems))
	for i, e := range elems {
		items[i].elem = e
	}
	if a.dontsort {
		if a.desc && typ != keyspace.Set {
			slices.Reverse(items) // a list or sorted set read from its tail
		}
	} else {
		bad := false
		for i := range items {
			it := &items[i]
			by := it.elem
			if a.by != nil {
				v, ok := c.lookupByPattern(a.by, it.elem)
				if !ok {
					continue
				}
				by = v
			}
			if a.alpha {
				if a.by != nil {
					it.cmp = by
				}
			} else if f, ok := strtod(by); ok {
				it.score = f
			} else {
				bad = true
			}
		}
		if c.fatal != nil {
			return
		}
		if bad {
			c.r.Error("ERR One or more scores can't be converted into double")
			return
		}
		store := a.store != nil
		slices.SortStableFunc(items, func(x, y sortItem) int {
			var r int
			switch {
			case !a.alpha:
				switch {
				case x.score > y.score:
					r = 1
				case x.score < y.score:
					r = -1
				default:
					r = bytes.Compare(x.elem, y.elem)
				}
			case a.by != nil:
				switch {
				case x.cmp == nil || y.cmp == nil:
					r = boolCmp(x.cmp != nil, y.cmp != nil)
				case store:
					r = bytes.Compare(x.cmp, y.cmp)
				default:
					r = bytes.Compare(cstr(x.cmp), cstr(y.cmp))
				}
			case store:
				r = bytes.Compare(x.elem, y.elem)
			default:
				r = bytes.Compare(cstr(x.elem), cstr(y.elem))
			}
			if a.desc {
				return -r
			}
			return r
		})
	}
	var out []sortItem
	if end >= start {
		out = items[start : end+1]
	}
	// The reply or the stored list: the elements, or for each the values
	// of the GET patterns.
	type value struct {
		b  []byte
		ok bool
	}
	var vals []value
	for _, it := range out {
		if len(a.gets) == 0 {
			vals = append(vals, value{it.elem, true})
			continue
		}
		for _, g := range a.gets {
			v, ok := c.lookupByPattern(g, it.elem)
			vals = append(vals, value{v, ok})
		}
	}
	if c.fatal != nil {
		return
	}
	if a.store == nil {
		c.r.Array(len(vals))
		for _, v := range vals {
			if v.ok {
				c.r.Bulk(v.b)
			} else {
				c.r.Null()
			}
		}
		return
	}
	if len(vals) == 0 {
		if c.exists(a.store) {
			c.del(a.store)
			c.touch(a.store, "del")
		}
		c.r.Int(0)
		return
	}
	co := &coll{key: a.store, typ: keyspace.List}
	co.ensure(c)
	for i, v := range vals {
		b := v.b
		if !v.ok {
			b = []byte{}
		}
		co.put(c, b, listPos(listStart+uint64(i)))
	}
	co.setListHead(listStart)
	co.add(int64(len(vals)))
	co.save(c)
	c.touch(a.store, "sortstore")
	c.r.Int(int64(len(vals)))
}

func boolCmp(x, y bool) int {
	switch {
	case x == y:
		return 0
	case !x:
		return -1
	}
	return 1
}

// sortElems reads the elements SORT sorts: a list's head to tail, a set's
// members, a sorted set's members by score (then member).
func (c *ctx) sortElems(co *coll) [][]byte {
	var it *iter
	if co.typ == keyspace.ZSet {
		it = co.elemsWithPrefix(c, []byte{zScore}, false)
	} else {
		it = co.elems(c, nil, nil, false)
	}
	defer it.close()
	var out [][]byte
	for ; it.Valid(); it.Next() {
		switch co.typ {
		case keyspace.List:
			out = append(out, it.Value())
		case keyspace.Set:
			out = append(out, co.elemOf(it))
		case keyspace.ZSet:
			e := co.elemOf(it)
			if len(e) >= 9 {
				out = append(out, e[9:])
			}
		}
	}
	// An intset walks in numeric order: a set Redis would keep as one
	// comes out as Redis gives it (a hash table's order is Redis's own).
	if co.typ == keyspace.Set && int64(len(out)) <= setMaxIntsetEntries.Load() {
		for _, m := range out {
			if _, ok := ParseInt(m); !ok {
				return out
			}
		}
		slices.SortFunc(out, func(x, y []byte) int {
			a, _ := ParseInt(x)
			b, _ := ParseInt(y)
			return cmpInt(a, b)
		})
	}
	return out
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// lookupByPattern reads the value a BY or GET pattern names for an
// element, as sort.c's lookupKeyByPattern does: "#" is the element
// itself; otherwise the first '*' is replaced by the element to make a
// key name, whose string value is read, or, when "->field" (not empty)
// follows the '*', the hash field of that key. A pattern without '*', a
// missing key or field, or a key of another type reads nothing.
func (c *ctx) lookupByPattern(pattern, subst []byte) ([]byte, bool) {
	if len(pattern) > 0 && pattern[0] == '#' && (len(pattern) == 1 || pattern[1] == 0) {
		return subst, true
	}
	cp := cstr(pattern)
	star := bytes.IndexByte(cp, '*')
	if star < 0 {
		return nil, false
	}
	var field []byte
	fieldLen := 0
	if f := bytes.Index(cp[star+1:], []byte("->")); f >= 0 {
		f += star + 1
		if f+2 < len(cp) {
			field = pattern[f+2:]
			fieldLen = len(field)
		}
	}
	post := pattern[star+1 : len(pattern)-fieldLen-min(fieldLen, 1)*2]
	key := make([]byte, 0, star+len(subst)+len(post))
	key = append(append(append(key, pattern[:star]...), subst...), post...)
	val, ok := c.lookup(key)
	if !ok {
		return nil, false
	}
	if field != nil {
		if val.Type != keyspace.Hash {
			return nil, false
		}
		co, _ := c.openColl(key, keyspace.Hash)
		v, ok := co.get(c, field)
		return v, ok
	}
	if val.Type != keyspace.String {
		return nil, false
	}
	return val.Value, true
}

// strtod reads a SORT weight as sort.c does with C's strtod: the whole
// string (to its first NUL) must be read; leading white space, a sign,
// decimal or hexadecimal (0x, exponent p optional) notation, and "inf" or
// "infinity" are accepted; NaN and values out of the double's range
// (ERANGE, overflow or underflow) are refused. An empty string reads 0.
func strtod(b []byte) (float64, bool) {
	b = cstr(b)
	if len(b) == 0 {
		return 0, true
	}
	s := strings.TrimLeft(string(b), " \t\n\v\f\r")
	if s == "" || strings.ContainsRune(s, '_') {
		return 0, false
	}
	body := strings.TrimLeft(s, "+-")
	if len(s)-len(body) > 1 {
		return 0, false
	}
	lower := strings.ToLower(body)
	switch {
	case lower == "inf" || lower == "infinity":
		if s[0] == '-' {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	case strings.HasPrefix(lower, "nan"):
		return 0, false
	case strings.HasPrefix(lower, "0x"):
		if !strings.ContainsAny(lower, "p") {
			s += "p0"
		}
	case lower == "" || !(lower[0] >= '0' && lower[0] <= '9' || lower[0] == '.'):
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	if f == 0 {
		// Underflow to zero: a non-zero digit in the mantissa.
		m := lower
		if strings.HasPrefix(m, "0x") {
			m = m[2:]
			if i := strings.IndexByte(m, 'p'); i >= 0 {
				m = m[:i]
			}
		} else if i := strings.IndexByte(m, 'e'); i >= 0 {
			m = m[:i]
		}
		if strings.Trim(m, "0.") != "" {
			return 0, false
		}
	} else if math.Abs(f) < 0x1p-1022 {
		return 0, false // subnormal: glibc's strtod sets ERANGE
	}
	return f, true
}
