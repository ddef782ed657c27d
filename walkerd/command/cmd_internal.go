package command

import (
	"bytes"

	"github.com/walkerdb/walkerdb/engine"
)

// Internal commands. They reach Apply only inside entries that walkerd
// builds itself (membership changes, the expiry sweeper); the server never
// takes them from a client as they are.
//
//	WALKER.SETMEMBER id resp-addr   record a cluster member's client address
//	WALKER.DELMEMBER id             forget it
//	WALKER.DELEXPIRED key [key...]  delete each key of Entry.DB that has
//	                                expired at Entry.NowMs (and only those:
//	                                a key set again meanwhile survives)
//	WALKER.VERSIONS key [key...]    (read) the WATCH version of each key
func init() {
	register(
		&Spec{Name: "walker.setmember", Arity: 3, Flags: FlagWrite | FlagInternal, run: runSetMember},
		&Spec{Name: "walker.delmember", Arity: 2, Flags: FlagWrite | FlagInternal, run: runDelMember},
		&Spec{Name: "walker.delexpired", Arity: -2, Flags: FlagWrite | FlagInternal, FirstKey: 1, LastKey: -1, Step: 1, run: runDelExpired},
		&Spec{Name: "walker.versions", Arity: -2, Flags: FlagRead | FlagInternal, FirstKey: 1, LastKey: -1, Step: 1, run: runVersions},
	)
}

var memberPrefix = []byte{InternalPrefix, 'm', ':'}

func memberKey(id []byte) []byte {
	return append(append([]byte(nil), memberPrefix...), id...)
}

func runSetMember(c *ctx, args [][]byte) {
	c.putKey(memberKey(args[1]), args[2], 0)
	c.out = appendSimple(c.out, "OK")
}

func runDelMember(c *ctx, args [][]byte) {
	k := memberKey(args[1])
	if _, _, ok := c.getKey(k); !ok {
		c.out = appendInt(c.out, 0)
		return
	}
	c.delKey(k)
	c.out = appendInt(c.out, 1)
}

func runDelExpired(c *ctx, args [][]byte) {
	n := int64(0)
	for _, key := range args[1:] {
		k := ekey(c.dbi, key)
		if s, ok := c.w.m[string(k)]; ok {
			// Written earlier in this entry: expired slots are dropped.
			if !s.del && s.exp != 0 && s.exp <= c.now {
				c.delKey(k)
				n++
			}
			continue
		}
		if c.w.flushed[c.dbi] {
			continue
		}
		m, ok := c.rawMeta(k)
		if ok && m.ExpireAt != 0 && m.ExpireAt <= c.now {
			c.delKey(k)
			n++
		}
	}
	c.out = appendInt(c.out, n)
}

// rawMeta looks an engine key up whatever its expiry.
func (c *ctx) rawMeta(k []byte) (engine.Meta, bool) {
	m, ok, err := rawMeta(c.db, k)
	if err != nil {
		c.fail(err)
	}
	return m, ok
}

func runVersions(c *ctx, args [][]byte) {
	c.out = appendArray(c.out, len(args)-1)
	for _, key := range args[1:] {
		var seq uint64
		if m, ok := c.engineMeta(ekey(c.dbi, key)); ok {
			seq = m.Seq
		}
		c.out = appendInt(c.out, int64(seq))
	}
}

// Members returns the cluster members recorded by WALKER.SETMEMBER: id to
// RESP address.
func Members(db *engine.DB) (map[string]string, error) {
	out := make(map[string]string)
	var start []byte
	for {
		items, next, err := db.Scan(engine.ScanOptions{Start: start, Prefix: memberPrefix, Limit: 1024, IncludeExpired: true})
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			out[string(it.Key[len(memberPrefix):])] = string(it.Value)
		}
		if next == nil {
			return out, nil
		}
		start = next
	}
}

// ExpiredKeys looks for keys that have expired at now but are still stored,
// for the leader's sweeper to delete with WALKER.DELEXPIRED. It examines up
// to limit keys from cursor (nil: the beginning) and returns the expired
// ones, each with its database, and the cursor to pass next time (nil when
// the scan reached the end).
func ExpiredKeys(db *engine.DB, now int64, cursor []byte, limit int) (dbIndex []int, keys [][]byte, next []byte, err error) {
	items, next, err := db.Scan(engine.ScanOptions{Start: cursor, Limit: limit, KeysOnly: true, IncludeExpired: true, Now: now})
	if err != nil {
		return nil, nil, nil, err
	}
	for _, it := range items {
		if len(it.Key) == 0 || it.Key[0] >= Databases {
			continue
		}
		if it.ExpireAt != 0 && it.ExpireAt <= now {
			dbIndex = append(dbIndex, int(it.Key[0]))
			keys = append(keys, it.Key[1:])
		}
	}
	return dbIndex, keys, next, nil
}

// ScanKeys returns one page of SCAN for database dbi at time now: up to
// count live keys from cursor (an engine key, nil for the start), the ones
// matching pattern (nil: all) kept, and the next cursor (nil: done). typ
// filters by type: only "string" exists, any other keeps nothing.
func ScanKeys(db *engine.DB, dbi int, now int64, cursor []byte, count int, pattern, typ []byte) (keys [][]byte, next []byte, err error) {
	prefix := []byte{byte(dbi)}
	if cursor != nil && !bytes.HasPrefix(cursor, prefix) {
		return nil, nil, ErrInvalidCursor
	}
	items, next, err := db.Scan(engine.ScanOptions{Start: cursor, Prefix: prefix, Limit: count, KeysOnly: true, Now: now})
	if err != nil {
		return nil, nil, err
	}
	if typ != nil && !equalFold(typ, "string") {
		return nil, next, nil
	}
	for _, it := range items {
		k := it.Key[1:]
		if pattern == nil || Match(pattern, k) {
			keys = append(keys, k)
		}
	}
	return keys, next, nil
}
