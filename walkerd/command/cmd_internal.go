package command

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync/atomic"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/walkerd/placement"
)

// Internal commands. The writes reach Apply only inside entries that
// walkerd builds itself (membership changes, the background sweeper); the
// server never takes them from a client as they are.
//
//	WALKER.SETMEMBER id resp-addr   record a cluster member's client address
//	WALKER.DELMEMBER id             forget it
//	WALKER.DELEXPIRED key [key...]  delete each key of Entry.DB that has
//	                                expired at Entry.NowMs (and only those:
//	                                a key set again meanwhile survives)
//	WALKER.RECLAIM db key version [db key version ...]
//	                                delete up to ReclaimBatch sub-keys of
//	                                each collection version that no live
//	                                key names at Entry.NowMs
//	WALKER.VERSIONS key [key...]    (read) the WATCH version of each key
//	WALKER.ACLSET users sum         replace the ACL users (walkerd/acl's
//	                                binary form; ACL SETUSER, DELUSER, LOAD)
//	                                if the stored ones' SHA-256 is sum (32
//	                                zero bytes: none stored), else answer
//	                                ErrACLMoved and change nothing
//	WALKER.PLACE <change...>        change the placement state (the
//	                                placement group only; walkerd/placement):
//	                                answers 1 if it changed, 0 if not
func init() {
	internal := func(name string, arity int, flags Flags, first, last int, summary string,
		parse func([][]byte, int64) (any, error), run func(*ctx, [][]byte, any)) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags | FlagInternal, FirstKey: first, LastKey: last, Step: 1,
			Group: "cluster", Since: "walkerdb", Summary: summary, parse: parse, run: run}
	}
	register(
		internal("walker.setmember", 3, FlagWrite, 0, 0, "Records a cluster member's client address (internal).", nil, runSetMember),
		internal("walker.delmember", 2, FlagWrite, 0, 0, "Forgets a cluster member's client address (internal).", nil, runDelMember),
		internal("walker.delexpired", -2, FlagWrite, 1, -1, "Deletes keys that have expired (internal: the expiry sweeper).", nil, runDelExpired),
		internal("walker.reclaim", -4, FlagWrite, 0, 0, "Deletes the elements of dead collection versions (internal: the sweeper).", parseReclaim, runReclaim),
		internal("walker.aclset", 3, FlagWrite, 0, 0, "Replaces the ACL users (internal: ACL SETUSER, DELUSER, LOAD).", nil, runACLSet),
		internal("walker.place", -2, FlagWrite, 0, 0, "Changes the placement state (internal: the placement group).", nil, runPlace),
		internal("walker.versions", -2, FlagReadonly, 1, -1, "Returns the WATCH versions of keys (internal: WATCH through a follower).", nil, runVersions),
		&Spec{Name: "walker.link", Arity: -3, Flags: FlagNoAuth | FlagNoMulti | FlagNoScript | FlagInternal | FlagLoading | FlagStale | FlagAllowBusy, Group: "cluster", Since: "walkerdb",
			Summary: "Proves a connection comes from a cluster member: WALKER.LINK HELLO version nonce | PROVE proof (internal: node links, walkerd/nodelink)."},
	)
}

// ReclaimBatch is how many sub-keys one WALKER.RECLAIM deletes at most.
const ReclaimBatch = 4096

func runSetMember(c *ctx, args [][]byte, _ any) {
	c.putRaw(keyspace.MemberKey(args[1]), args[2], 0)
	c.r.Status("OK")
}

// ErrACLMoved refuses a WALKER.ACLSET made from users that are no longer
// the stored ones: the node that proposed it computes it again.
const ErrACLMoved Error = "ERR ACL users changed meanwhile"

func runACLSet(c *ctx, args [][]byte, _ any) {
	var sum [32]byte
	if cur, _, ok := c.getRaw(keyspace.ACLKey); ok {
		sum = sha256.Sum256(cur)
	}
	if !bytes.Equal(sum[:], args[2]) {
		c.r.Error(string(ErrACLMoved))
		return
	}
	c.putRaw(keyspace.ACLKey, args[1], 0)
	c.tx.aclChanged = true // Applier.Commit bumps ACLGeneration
	c.r.Status("OK")
}

// aclGeneration counts the batches with a WALKER.ACLSET this process has
// committed.
var aclGeneration atomic.Uint64

// ACLGeneration changes whenever an engine of this process has committed
// a change of the ACL users, after the commit: a cache of ACLUsers for an
// engine is good while both the engine and the generation are the ones it
// read before it read the users (a snapshot restore replaces the engine).
func ACLGeneration() uint64 { return aclGeneration.Load() }

// ACLUsers returns the ACL users last written by WALKER.ACLSET, in
// walkerd/acl's binary form; nil when none ever was.
func ACLUsers(db *engine.DB) ([]byte, error) { return internalValue(db, keyspace.ACLKey) }

// internalValue reads the value of internal key k, copied out of the
// engine; nil when the key is not there.
func internalValue(db *engine.DB, k []byte) ([]byte, error) {
	var out []byte
	err := db.View(math.MinInt64, func(v *engine.View) error {
		val, _, err := v.Get(k)
		if errors.Is(err, engine.ErrNotFound) {
			return nil
		}
		out = bytes.Clone(val)
		return err
	})
	return out, err
}

func runPlace(c *ctx, args [][]byte, _ any) {
	cur, _, _ := c.getRaw(keyspace.PlacementKey)
	st, err := placement.Decode(cur)
	if err != nil {
		c.r.Error("ERR " + err.Error())
		return
	}
	changed, err := st.Apply(args[1:])
	if err != nil {
		c.r.Error(err.Error())
		return
	}
	if !changed {
		c.r.Int(0)
		return
	}
	c.putRaw(keyspace.PlacementKey, st.Encode(), 0)
	c.tx.placeChanged = true // Applier.Commit bumps PlacementGeneration
	c.r.Int(1)
}

// placementGeneration counts the batches with a change of the placement
// state this process has committed.
var placementGeneration atomic.Uint64

// PlacementGeneration changes whenever an engine of this process has
// committed a change of the placement state, after the commit (and after
// a snapshot restore, which may replace it): a copy of the state read
// while the generation was g is current while it is still g.
func PlacementGeneration() uint64 { return placementGeneration.Load() }

// PlacementRestored is called when a placement group's engine was
// replaced by a snapshot: the state may have changed.
func PlacementRestored() { placementGeneration.Add(1) }

// Placement returns the placement state stored in db (the placement
// group's engine); the empty state (epoch 0) where none is.
func Placement(db *engine.DB) (*placement.State, error) {
	raw, err := internalValue(db, keyspace.PlacementKey)
	if err != nil {
		return nil, err
	}
	return placement.Decode(raw)
}

func runDelMember(c *ctx, args [][]byte, _ any) {
	k := keyspace.MemberKey(args[1])
	if _, ok := c.metaRaw(k); !ok {
		c.r.Int(0)
		return
	}
	c.delRaw(k)
	c.r.Int(1)
}

func runDelExpired(c *ctx, args [][]byte, _ any) {
	n := int64(0)
	for _, key := range args[1:] {
		k := c.metaKey(key)
		if s, ok := c.tx.m[string(k)]; ok {
			// Written earlier in this batch: expired slots are dropped.
			if !s.del && s.exp != 0 && s.exp <= c.now {
				c.delRaw(k)
				c.touch(key, "expired")
				n++
			}
			continue
		}
		if c.tx.hides(k) {
			continue
		}
		m, err := c.view.LookupAny(k)
		if err == nil && m.ExpireAt != 0 && m.ExpireAt <= c.now {
			c.delRaw(k)
			c.touch(key, "expired")
			n++
		}
	}
	c.r.Int(n)
}

type reclaimGroup struct {
	db      int
	key     []byte
	version uint64
}

func parseReclaim(args [][]byte, now int64) (any, error) {
	if (len(args)-1)%3 != 0 {
		return nil, ErrArity("walker.reclaim")
	}
	var gs []reclaimGroup
	for i := 1; i < len(args); i += 3 {
		db, err := ParseDB(args[i])
		if err != nil {
			return nil, err
		}
		v, err := strconv.ParseUint(string(args[i+2]), 10, 64)
		if err != nil {
			return nil, ErrNotInteger
		}
		gs = append(gs, reclaimGroup{db: db, key: args[i+1], version: v})
	}
	return gs, nil
}

// liveVersion reports whether the key names version as a live collection
// at c.now.
func (c *ctx) liveVersion(db int, key []byte, version uint64) bool {
	saved := c.dbi
	c.dbi = db
	val, ok := c.lookup(key)
	c.dbi = saved
	return ok && val.Type != keyspace.String && val.Version == version
}

func runReclaim(c *ctx, args [][]byte, p any) {
	left := ReclaimBatch
	n := int64(0)
	for _, g := range p.([]reclaimGroup) {
		if c.liveVersion(g.db, g.key, g.version) {
			continue
		}
		pre := keyspace.SubPrefix(g.db, g.key, g.version)
		it := c.iterate(pre, keyspace.PrefixEnd(pre), false)
		var dead [][]byte
		for ; it.Valid() && left > 0; it.Next() {
			dead = append(dead, bytes.Clone(it.Key()))
			left--
		}
		it.close()
		for _, k := range dead {
			c.delRaw(k)
		}
		n += int64(len(dead))
	}
	c.r.Int(n)
}

func runVersions(c *ctx, args [][]byte, _ any) {
	c.r.Array(len(args) - 1)
	for _, key := range args[1:] {
		c.r.Int(int64(version(c, c.dbi, key)))
	}
}

// Members returns the cluster members recorded by WALKER.SETMEMBER: id to
// RESP address.
func Members(db *engine.DB) (map[string]string, error) {
	out := make(map[string]string)
	err := db.View(math.MinInt64, func(v *engine.View) error {
		p := keyspace.MemberPrefix
		it := v.Iter(engine.IterOptions{Lower: p, Upper: keyspace.PrefixEnd(p), IncludeExpired: true})
		for ok := it.First(); ok; ok = it.Next() {
			val, err := it.Value()
			if err != nil {
				it.Close()
				return err
			}
			out[string(it.Key()[len(p):])] = string(val)
		}
		return closeIter(it)
	})
	return out, err
}

func closeIter(it *engine.Iterator) error {
	err := it.Err()
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	return err
}

// ExpiredKeys looks for keys that have expired at now but are still stored,
// for the leader's sweeper to delete with WALKER.DELEXPIRED. It examines up
// to limit keys of every database from cursor (nil: the beginning) and
// returns the expired ones, each with its database, and the cursor to pass
// next time (nil when the walk reached the end).
func ExpiredKeys(db *engine.DB, now int64, cursor []byte, limit int) (dbIndex []int, keys [][]byte, next []byte, err error) {
	dbIndex, keys, next, _, err = ExpiredKeysCounted(db, now, cursor, limit)
	return dbIndex, keys, next, err
}

// ExpiredKeysCounted is ExpiredKeys that also counts the keys examined
// that have an expiry time, expired or not: a walk that counts none found
// no key that could ever need the sweeper.
func ExpiredKeysCounted(db *engine.DB, now int64, cursor []byte, limit int) (dbIndex []int, keys [][]byte, next []byte, timed int, err error) {
	lower := cursor
	if lower == nil {
		lower = keyspace.DBPrefix(0)
	}
	o := ownerOf(db) // a slot the group does not serve is left to the migration's drop: its deletes would be refused
	err = db.View(now, func(v *engine.View) error {
		it := v.Iter(engine.IterOptions{Lower: lower, Upper: keyspace.SubSpace(0), KeysOnly: true, IncludeExpired: true})
		seen := 0
		for ok := it.First(); ok; ok = it.Next() {
			if seen == limit {
				next = bytes.Clone(it.Key())
				break
			}
			seen++
			if !it.MayExpire() {
				continue // no expiry time: no header to read
			}
			timed++
			m, err := it.Meta()
			if err != nil {
				it.Close()
				return err
			}
			if m.ExpireAt != 0 && m.ExpireAt <= now && (o == nil || o.owns(db, keyspace.SlotOf(it.Key()))) {
				d, k, _ := keyspace.SplitMeta(it.Key())
				dbIndex = append(dbIndex, d)
				keys = append(keys, bytes.Clone(k))
			}
		}
		return closeIter(it)
	})
	return dbIndex, keys, next, timed, err
}

// DeadGroup is one dead collection version that still has sub-keys.
type DeadGroup struct {
	DB      int
	Key     []byte
	Version uint64
}

// Args are the group's arguments to WALKER.RECLAIM.
func (g DeadGroup) Args() [][]byte {
	return [][]byte{strconv.AppendInt(nil, int64(g.DB), 10), g.Key, strconv.AppendUint(nil, g.Version, 10)}
}

// DeadCollections walks the sub-keys of every database from cursor (nil:
// the beginning), looking at up to limit collection versions, and returns
// those that no live key names at now, for the sweeper to propose
// WALKER.RECLAIM for, and the cursor to pass next time (nil at the end).
// A live version is skipped with one seek, so a walk costs about one step
// per collection, not per element.
func DeadCollections(db *engine.DB, now int64, cursor []byte, limit int) (dead []DeadGroup, next []byte, err error) {
	lower := cursor
	if lower == nil {
		lower = keyspace.SubSpace(0)
	}
	o := ownerOf(db) // as ExpiredKeysCounted
	err = db.View(now, func(v *engine.View) error {
		c := &ctx{db: db, view: v, now: now}
		it := v.Iter(engine.IterOptions{Lower: lower, Upper: keyspace.SubSpace(Databases), KeysOnly: true, IncludeExpired: true})
		seen := 0
		for ok := it.First(); ok; {
			if seen == limit {
				next = bytes.Clone(it.Key())
				break
			}
			seen++
			p, err := keyspace.SplitSub(it.Key())
			if err != nil {
				it.Close()
				return fmt.Errorf("sweeping sub-keys: %w", err)
			}
			if (o == nil || o.owns(db, keyspace.SlotOf(it.Key()))) && !c.liveVersion(p.DB, p.Key, p.Version) {
				dead = append(dead, DeadGroup{DB: p.DB, Key: bytes.Clone(p.Key), Version: p.Version})
			}
			end := keyspace.PrefixEnd(p.Prefix)
			if end == nil {
				break
			}
			ok = it.SeekGE(end)
		}
		if err := closeIter(it); err != nil {
			return err
		}
		return c.fatal
	})
	return dead, next, err
}

// ScanKeys returns one page of SCAN for database dbi at time now: up to
// count live keys from cursor (an engine key, nil for the start), the ones
// matching pattern (nil: all) and of type typ (nil: any) kept, and the
// next cursor (nil: done).
func ScanKeys(db *engine.DB, dbi int, now int64, cursor []byte, count int, pattern, typ []byte) (keys [][]byte, next []byte, err error) {
	return ScanKeysApart(db, dbi, now, cursor, count, pattern, typ, nil)
}

// ScanKeysApart is ScanKeys whose page, once it has seen count keys, ends
// only between two keys (engine keys, in order) that apart accepts (nil:
// between any two): SCAN ends its pages where its numeric cursor changes.
func ScanKeysApart(db *engine.DB, dbi int, now int64, cursor []byte, count int, pattern, typ []byte, apart func(last, next []byte) bool) (keys [][]byte, next []byte, err error) {
	prefix := keyspace.DBPrefix(dbi)
	if cursor != nil && !bytes.HasPrefix(cursor, prefix) {
		return nil, nil, ErrInvalidCursor
	}
	lower := cursor
	if lower == nil {
		lower = prefix
	}
	err = db.View(now, func(v *engine.View) error {
		it := v.Iter(engine.IterOptions{Lower: lower, Upper: keyspace.PrefixEnd(prefix), KeysOnly: typ == nil})
		first := true
		keys, next, err = scanKeysPage(db, count, pattern, typ, apart, func() ([]byte, bool) {
			ok := false
			if first {
				ok = it.First()
			} else {
				ok = it.Next()
			}
			first = false
			if !ok {
				return nil, false
			}
			return it.Key(), true
		}, it.Value)
		if err != nil {
			it.Close()
			return err
		}
		return closeIter(it)
	})
	return keys, next, err
}
