package command

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/walkerdb/walkerdb/engine"
)

// Databases is the number of logical databases (SELECT 0..15).
const Databases = 16

// InternalPrefix is the first byte of the engine keys walkerd keeps for
// itself (cluster members). User keys start with their database index.
const InternalPrefix = 0xFF

// Limits on what a command may store. The engine refuses keys and values
// beyond its Options; set these to match them once at startup, before any
// command runs, so that commands fail with a Redis error instead of the
// whole entry failing in the engine. A key's engine form is one byte longer
// than the user's key.
var (
	MaxKeyLen   = 64<<10 - 1 // engine.DefaultOptions().MaxKeySize - 1
	MaxValueLen = 512 << 20  // Redis's proto-max-bulk-len and the engine's default
)

// ctx is what one command runs in: the engine, the time at which expiry is
// judged, the current database, the reply being built and, in Apply, the
// writes made so far (so later commands of a transaction see them).
//
// Reads go through view when one is open (one engine View per command, so
// a command sees one consistent state) and through a View of their own
// otherwise. Commands that scan (KEYS, FLUSHDB, ...) run without a view:
// the engine's Scan must not be called inside View.
type ctx struct {
	db   *engine.DB
	view *engine.View
	now  int64
	dbi  int
	out  []byte
	w    *overlay // nil for reads outside Apply
	rnd  uint64   // splitmix64 state for RANDOMKEY
	// fatal is an engine failure that is not a property of the data (I/O,
	// closed DB): Apply gives up on the whole entry.
	fatal error
}

// overlay holds the writes of the entry being applied, by engine key.
type overlay struct {
	m       map[string]*slot
	flushed [Databases]bool // FLUSHDB ran: the engine's keys of that db are gone
}

type slot struct {
	val []byte
	exp int64
	del bool
}

func newOverlay() *overlay { return &overlay{m: make(map[string]*slot)} }

// live reports whether the slot holds a value visible at now.
func (s *slot) live(now int64) bool { return !s.del && (s.exp == 0 || s.exp > now) }

// ekey is the engine key of a user key in database dbi.
func ekey(dbi int, key []byte) []byte {
	k := make([]byte, 1+len(key))
	k[0] = byte(dbi)
	copy(k[1:], key)
	return k
}

func (c *ctx) fail(err error) {
	if c.fatal == nil {
		c.fatal = err
	}
}

// engineGet reads an engine key at c.now.
func (c *ctx) engineGet(k []byte) (v []byte, exp int64, ok bool) {
	type got struct {
		v   []byte
		exp int64
	}
	g, ok := viewRead(c, func(r *engine.View) (got, error) {
		v, exp, err := r.Get(k)
		return got{v, exp}, err
	})
	return g.v, g.exp, ok
}

// engineMeta looks an engine key up at c.now without reading its value.
func (c *ctx) engineMeta(k []byte) (engine.Meta, bool) {
	return viewRead(c, func(r *engine.View) (engine.Meta, error) { return r.Lookup(k) })
}

// viewRead runs read in the entry's view (or one of its own at c.now):
// ok is false for a missing key, and any other error fails the command.
func viewRead[T any](c *ctx, read func(*engine.View) (T, error)) (out T, ok bool) {
	run := func(r *engine.View) {
		var err error
		out, err = read(r)
		switch {
		case err == nil:
			ok = true
		case !errors.Is(err, engine.ErrNotFound):
			c.fail(err)
		}
	}
	if c.view != nil {
		run(c.view)
		return
	}
	if err := c.db.View(c.now, func(r *engine.View) error { run(r); return nil }); err != nil {
		c.fail(err)
	}
	return
}

// lookup finds an engine key through the overlay. pending reports that the
// overlay decided (the engine was not consulted).
func (c *ctx) slotOf(k []byte) (s *slot, decided bool) {
	if c.w == nil {
		return nil, false
	}
	if s, ok := c.w.m[string(k)]; ok {
		return s, true
	}
	if k[0] < Databases && c.w.flushed[k[0]] {
		return nil, true
	}
	return nil, false
}

// getKey returns the value and expiry of an engine key.
func (c *ctx) getKey(k []byte) (v []byte, exp int64, ok bool) {
	if s, decided := c.slotOf(k); decided {
		if s == nil || !s.live(c.now) {
			return nil, 0, false
		}
		return s.val, s.exp, true
	}
	return c.engineGet(k)
}

// get returns the value and expiry of key in the current database.
func (c *ctx) get(key []byte) ([]byte, int64, bool) { return c.getKey(ekey(c.dbi, key)) }

// metaKey returns the expiry and existence of an engine key, and its value
// length.
func (c *ctx) metaKey(k []byte) (vlen int, exp int64, ok bool) {
	if s, decided := c.slotOf(k); decided {
		if s == nil || !s.live(c.now) {
			return 0, 0, false
		}
		return len(s.val), s.exp, true
	}
	m, ok := c.engineMeta(k)
	return m.ValueLen, m.ExpireAt, ok
}

func (c *ctx) meta(key []byte) (vlen int, exp int64, ok bool) {
	return c.metaKey(ekey(c.dbi, key))
}

func (c *ctx) exists(key []byte) bool {
	_, _, ok := c.meta(key)
	return ok
}

// putKey sets an engine key. exp is absolute (0 = none); a time not after
// now makes the key absent at once.
func (c *ctx) putKey(k, v []byte, exp int64) {
	if c.w == nil {
		panic("command: write in a read-only context")
	}
	c.w.m[string(k)] = &slot{val: v, exp: exp}
}

func (c *ctx) put(key, v []byte, exp int64) { c.putKey(ekey(c.dbi, key), v, exp) }

func (c *ctx) delKey(k []byte) {
	if c.w == nil {
		panic("command: write in a read-only context")
	}
	c.w.m[string(k)] = &slot{del: true}
}

func (c *ctx) del(key []byte) { c.delKey(ekey(c.dbi, key)) }

// flush empties database dbi.
func (c *ctx) flush(dbi int) {
	c.w.flushed[dbi] = true
	for k := range c.w.m {
		if k[0] == byte(dbi) {
			delete(c.w.m, k)
		}
	}
}

// scanPage is one page of the engine's live keys in the current database
// (user keys, prefix stripped), from start (an engine key, nil for the
// beginning) for up to limit keys, without the overlay.
func (c *ctx) scanPage(prefix, start []byte, limit int) (keys [][]byte, next []byte) {
	if c.w != nil && c.w.flushed[c.dbi] {
		return nil, nil
	}
	p := ekey(c.dbi, prefix)
	items, next, err := c.db.Scan(engine.ScanOptions{Start: start, Prefix: p, Limit: limit, KeysOnly: true, Now: c.now})
	if err != nil {
		c.fail(err)
		return nil, nil
	}
	keys = make([][]byte, len(items))
	for i := range items {
		keys[i] = items[i].Key[1:]
	}
	return keys, next
}

// allKeys returns every live key of the current database that begins with
// prefix, sorted, the overlay applied.
func (c *ctx) allKeys(prefix []byte) [][]byte {
	var keys [][]byte
	var start []byte
	for {
		page, next := c.scanPage(prefix, start, 4096)
		if c.fatal != nil {
			return nil
		}
		keys = append(keys, page...)
		if next == nil {
			break
		}
		start = next
	}
	if c.w == nil || len(c.w.m) == 0 {
		return keys
	}
	// Apply the overlay: drop keys it deleted or expired, add those it set.
	out := keys[:0]
	for _, k := range keys {
		if s, ok := c.w.m[string(ekey(c.dbi, k))]; ok && !s.live(c.now) {
			continue
		}
		out = append(out, k)
	}
	for k, s := range c.w.m {
		if k[0] == byte(c.dbi) && s.live(c.now) && bytes.HasPrefix([]byte(k[1:]), prefix) {
			out = append(out, []byte(k[1:]))
		}
	}
	slices.SortFunc(out, bytes.Compare)
	return slices.CompactFunc(out, bytes.Equal)
}

// dbsize counts the keys of the current database as Redis's DBSIZE does
// (the engine counts keys that expired but were not yet deleted). In a
// transaction the overlay's changes are added, judged by liveness.
func (c *ctx) dbsize() int64 {
	n := int64(0)
	flushed := c.w != nil && c.w.flushed[c.dbi]
	if !flushed {
		n = int64(c.db.CountPrefix([]byte{byte(c.dbi)}))
	}
	if c.w == nil {
		return n
	}
	for k, s := range c.w.m {
		if k[0] != byte(c.dbi) {
			continue
		}
		before := false
		if !flushed {
			_, before = c.engineMeta([]byte(k))
		}
		after := s.live(c.now)
		switch {
		case after && !before:
			n++
		case before && !after:
			n--
		}
	}
	return max(n, 0)
}

// random returns the next pseudo-random number: splitmix64, seeded from the
// log index in Apply so that every node draws the same.
func (c *ctx) random() uint64 {
	c.rnd += 0x9e3779b97f4a7c15
	z := c.rnd
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// randomKey picks a live key of the current database, or reports none. It
// starts a scan at a random point of the key space, so keys that follow
// wide gaps are likelier than others.
func (c *ctx) randomKey() ([]byte, bool) {
	var r [8]byte
	v := c.random()
	for i := range r {
		r[i] = byte(v >> (56 - 8*i))
	}
	start := ekey(c.dbi, r[:])
	var cands [][]byte
	page, _ := c.scanPage(nil, start, 16)
	cands = append(cands, page...)
	if len(cands) == 0 {
		page, _ = c.scanPage(nil, nil, 16)
		cands = append(cands, page...)
	}
	if c.w != nil {
		live := cands[:0]
		for _, k := range cands {
			if s, ok := c.w.m[string(ekey(c.dbi, k))]; ok && !s.live(c.now) {
				continue
			}
			live = append(live, k)
		}
		cands = live
		for k, s := range c.w.m {
			if k[0] == byte(c.dbi) && s.live(c.now) {
				cands = append(cands, []byte(k[1:]))
			}
		}
		// Map order is random: sort so every node picks alike.
		slices.SortFunc(cands, bytes.Compare)
	}
	if len(cands) == 0 {
		return nil, false
	}
	return cands[c.random()%uint64(len(cands))], true
}

// commit writes the overlay as one engine batch stamped with index.
func (c *ctx) commit(index uint64) error {
	w := c.w
	anyFlush := slices.Contains(w.flushed[:], true)
	if len(w.m) == 0 && !anyFlush {
		return nil
	}
	var b engine.Batch
	for d, f := range w.flushed {
		if !f {
			continue
		}
		var start []byte
		for {
			items, next, err := c.db.Scan(engine.ScanOptions{Start: start, Prefix: []byte{byte(d)}, Limit: 4096, KeysOnly: true, IncludeExpired: true})
			if err != nil {
				return err
			}
			for _, it := range items {
				if _, ok := w.m[string(it.Key)]; !ok {
					b.Delete(it.Key)
				}
			}
			if next == nil {
				break
			}
			start = next
		}
	}
	keys := make([]string, 0, len(w.m))
	for k := range w.m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s := w.m[k]
		if s.del {
			b.Delete([]byte(k))
		} else {
			b.PutWithExpiry([]byte(k), s.val, s.exp)
		}
	}
	b.SetSeq(index)
	return c.db.Write(&b)
}

// version is a key's WATCH version at c.now: the seq of the write that set
// it, 0 when absent or expired.
func version(r *engine.View, dbi int, key []byte) (uint64, error) {
	m, err := r.Lookup(ekey(dbi, key))
	if errors.Is(err, engine.ErrNotFound) {
		return 0, nil
	}
	return m.Seq, err
}

// Versions returns the WATCH versions of keys in database dbi at time now.
func Versions(db *engine.DB, dbi int, now int64, keys [][]byte) ([]uint64, error) {
	if dbi < 0 || dbi >= Databases {
		return nil, fmt.Errorf("command: database %d out of range", dbi)
	}
	seqs := make([]uint64, len(keys))
	err := db.View(now, func(r *engine.View) error {
		for i, k := range keys {
			s, err := version(r, dbi, k)
			if err != nil {
				return err
			}
			seqs[i] = s
		}
		return nil
	})
	return seqs, err
}

// rawMeta looks an engine key up whatever its expiry: it reports keys that
// expired but are still stored.
func rawMeta(db *engine.DB, k []byte) (engine.Meta, bool, error) {
	var m engine.Meta
	var ok bool
	err := db.View(math.MinInt64, func(r *engine.View) error {
		var err error
		m, err = r.Lookup(k)
		if errors.Is(err, engine.ErrNotFound) {
			return nil
		}
		ok = err == nil
		return err
	})
	return m, ok, err
}
