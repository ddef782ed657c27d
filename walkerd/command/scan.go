package command

import (
	"bytes"
	"strconv"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// ScanArgs are SCAN's arguments: SCAN cursor [MATCH pattern] [COUNT
// count] [TYPE type]. Count defaults to 10, as db.c's scanGenericCommand;
// a MATCH of "*" is no pattern (nil).
type ScanArgs struct {
	Cursor  uint64
	Count   int
	Pattern []byte
	Type    []byte
}

// ParseScan parses SCAN's arguments (args[0] is the command's name): a
// cursor that is not a number answers ERR invalid cursor, a COUNT that is
// not an integer ERR value is not an integer or out of range, a COUNT
// below 1 or an unknown option ERR syntax error, as db.c does.
func ParseScan(args [][]byte) (ScanArgs, error) {
	a := ScanArgs{Count: 10}
	cur, ok := ParseScanCursor(args[1])
	if !ok {
		return a, ErrInvalidCursor
	}
	a.Cursor = cur
	for i := 2; i < len(args); i++ {
		more := len(args) - i
		switch {
		case equalFold(args[i], "count") && more >= 2:
			n, ok := ParseInt(args[i+1])
			if !ok {
				return a, ErrNotInteger
			}
			if n < 1 {
				return a, ErrSyntax
			}
			a.Count = int(min(n, 1<<30))
			i++
		case equalFold(args[i], "match") && more >= 2:
			a.Pattern = args[i+1]
			if len(a.Pattern) == 1 && a.Pattern[0] == '*' {
				a.Pattern = nil
			}
			i++
		case equalFold(args[i], "type") && more >= 2:
			a.Type = args[i+1]
			i++
		default:
			return a, ErrSyntax
		}
	}
	return a, nil
}

func parseScan(args [][]byte, _ int64) (any, error) { return ParseScan(args) }

// runScan is SCAN run inside an entry: in MULTI (EXEC puts it in the
// transaction's entry, in its place among the queued writes, so it sees
// the writes queued before it and not those after, as in Redis) and in
// scripts. The server runs SCAN outside them itself, over the groups a
// node holds (server/data.go's scanLocal); the page is the same either
// way (scanKeysPage).
func runScan(c *ctx, _ [][]byte, p any) {
	a := p.(ScanArgs)
	start, ok := DecodeScanCursor(c.dbi, a.Cursor)
	if !ok {
		c.r.Error(string(ErrInvalidCursor))
		return
	}
	prefix := keyspace.DBPrefix(c.dbi)
	if start == nil {
		start = prefix
	}
	it := c.iterate(start, keyspace.PrefixEnd(prefix), false)
	defer it.close()
	first := true
	keys, next, err := scanKeysPage(c.db, a.Count, a.Pattern, a.Type, ScanCursorApart, func() ([]byte, bool) {
		if !first {
			it.Next()
		}
		first = false
		return it.Key(), it.Valid()
	}, func() ([]byte, error) { return it.Value(), nil })
	if c.fatal != nil {
		return
	}
	if err != nil {
		c.r.Error("ERR " + err.Error())
		return
	}
	var cursor uint64
	if next != nil {
		cursor = EncodeScanCursor(next)
	}
	c.r.Array(2)
	c.r.Bulk([]byte(strconv.FormatUint(cursor, 10)))
	c.r.Array(len(keys))
	for _, k := range keys {
		c.r.Bulk(k)
	}
}

// scanKeysPage is one page of a SCAN over engine keys of one database, in
// order: step moves to the next key (the first on its first call) and
// says whether there is one, value reads the current key's value. Once
// count keys have been seen the page ends before the next key that apart
// accepts after the last one seen (nil: any), and returns that key as
// next (nil when the keys ran out). Keys of slots db's group does not
// serve are skipped, as are those pattern (nil: all) does not match and,
// when typ is not nil, those of another type: an unknown type matches
// nothing, as in Redis 7.0 (7.2 made it an error). Skipped keys count
// towards count, as Redis's do.
func scanKeysPage(db *engine.DB, count int, pattern, typ []byte, apart func(last, next []byte) bool,
	step func() ([]byte, bool), value func() ([]byte, error)) (keys [][]byte, next []byte, err error) {
	want, known := keyspace.ParseType(lowerASCII(typ))
	o := ownerOf(db) // a slot the group does not serve (moved away or not yet in) is not listed
	seen := 0
	var last []byte
	for {
		key, ok := step()
		if !ok {
			return keys, nil, nil
		}
		if seen >= count && (apart == nil || apart(last, key)) {
			return keys, bytes.Clone(key), nil
		}
		seen++
		if apart != nil {
			last = append(last[:0], key...)
		}
		if o != nil && !o.owns(db, keyspace.SlotOf(key)) {
			continue
		}
		_, k, _ := keyspace.SplitMeta(key)
		if pattern != nil && !Match(pattern, k) {
			continue
		}
		if typ != nil {
			val, err := value()
			if err != nil {
				return nil, nil, err
			}
			if t, ok := keyspace.TypeOf(val); !known || !ok || t != want {
				continue
			}
		}
		keys = append(keys, bytes.Clone(k))
	}
}
