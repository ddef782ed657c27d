package command

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// Databases is the number of logical databases (SELECT 0..15).
const Databases = keyspace.Databases

// Limits on what a command may store. The engine refuses keys and values
// beyond its Options; set these to match them once at startup, before any
// command runs, so that commands fail with a Redis error instead of the
// whole entry failing in the engine. A key's engine form is three bytes
// longer than the user's key (database and slot), a string's value one
// byte longer (its type).
var (
	MaxKeyLen   = 64<<10 - 3 // engine.DefaultOptions().MaxKeySize - 3
	MaxValueLen = 512 << 20  // proto-max-bulk-len: a string of exactly 512 MB is Redis's longest
)

// ctx is what one command runs in: the engine and the View it reads
// through, the time at which expiry is judged, the current database, the
// reply being written and, in Apply, the writes made so far (so later
// commands of the entry, and later entries of a batch, see them).
type ctx struct {
	db *engine.DB
	// room is the entry's Room: large arguments with a spare byte before
	// them (encodeString).
	room []Roomy
	user string       // the restricted ACL user running the command, "" for none (Entry.User)
	view *engine.View // open while a command runs
	now  int64
	dbi  int
	r    Writer
	tx   *overlay // nil for reads outside Apply
	// index is the log index of the entry being applied: it seeds the
	// random generator and makes collection versions.
	index uint64
	nver  uint32 // collections this entry created so far
	rnd   uint64 // splitmix64 state
	// fatal is an engine failure that is not a property of the data (I/O,
	// closed DB): Apply gives up on the whole entry.
	fatal error
	// mayWrite: a read (tx nil) that would change data as Redis does
	// (PFCOUNT caching its count) may ask to be run as a write, by setting
	// needWrite and replying nothing (Read then returns ErrWriteNeeded).
	mayWrite, needWrite bool
	// cmdUndo and cmdTouch are where the running command's writes and
	// touches start in tx (beginCommand): touch judges from them whether
	// the command created a key (Touch.New).
	cmdUndo, cmdTouch int
	// cmdSeen and cmdFirst index, for a command of many writes, the keys
	// its touches named and the first undo record of each key it wrote
	// (from cmdTouch and cmdUndo up to seenTo and firstTo): created stays
	// linear in the command's writes.
	cmdSeen         map[string]bool
	cmdFirst        map[string]int
	seenTo, firstTo int
	// miss, when set on a read (tx nil), hears each key a lookup did not
	// find: the server's keymiss notifications (ReadCounted).
	miss func(key []byte)
	// hits and misses count a read's key lookups (tx nil), for INFO's
	// keyspace_hits and keyspace_misses (ReadCounted).
	hits, misses int64
	// noNew: Touch.New is not wanted (Applier.NoNewEvents).
	noNew bool
	// run, runArgs and runParsed are the command exec runs in its view,
	// through inView (runInView, bound once per ctx).
	run       func(*ctx, [][]byte, any)
	runArgs   [][]byte
	runParsed any
	inView    func(*engine.View) error
}

// overlay holds the writes of the entries being applied, by engine key,
// until they are committed as one engine batch.
type overlay struct {
	m       map[string]slot
	sorted  []string // the keys of m in order, when fresh
	fresh   bool
	flushed [Databases]bool // FLUSHDB ran: the engine's keys of that database are gone
	bytes   int64           // about what the batch will write
	touched []Touch         // of the entry being applied
	// aclChanged: an entry of the batch wrote the ACL users; Commit
	// announces them (ACLGeneration) once they are in the engine.
	aclChanged bool
	// placeChanged: an entry of the batch changed the placement state;
	// Commit bumps PlacementGeneration.
	placeChanged bool
	// slots is the set of served slots a WALKER.SLOT of the batch wrote:
	// later entries of the batch are checked against it, and Commit
	// hands it to the group's owner (owner.go).
	slots *[slotBytes]byte
	// mig is the migration state a WALKER.SLOT of the batch wrote (an
	// empty one: none left), for later entries and then the owner.
	mig *migState
	// spansChanged: a slot began or ended moving in the batch (not a
	// batch of keys): Commit moves MigrationGeneration.
	spansChanged bool

	// What the entry being applied changed, to take it back if the entry
	// fails as a whole (a panic): a failed entry changes nothing.
	undo       []undo
	undoFlush  [Databases]bool
	undoLength int64

	// batch is commit's engine batch, reused from commit to commit.
	batch engine.Batch

	// chunk is where set copies keys and encodeString small values: one
	// allocation per chunk rather than two per SET (alloc profile of one
	// node under SET -P 16). Only its free tail is ever written, and a
	// full chunk is left to the garbage collector, not reused, so a key
	// or value taken from it stays valid for as long as anything holds
	// it, past the batch and its reset.
	chunk []byte
}

// Chunks of the overlay: chunkSize bytes, holding keys and values of up
// to chunkMax bytes (a larger one is allocated alone).
const (
	chunkSize = 16 << 10
	chunkMax  = 1 << 10
)

// take returns n bytes of the overlay's chunk, or a new slice when n is
// over chunkMax. Its capacity is n, so an append to it moves it out.
func (o *overlay) take(n int) []byte {
	if n > chunkMax {
		return make([]byte, n)
	}
	if cap(o.chunk)-len(o.chunk) < n {
		o.chunk = make([]byte, 0, chunkSize)
	}
	l := len(o.chunk)
	o.chunk = o.chunk[:l+n]
	return o.chunk[l : l+n : l+n]
}

// keyOf is k as a string held in the overlay's chunk.
func (o *overlay) keyOf(k []byte) string {
	if len(k) == 0 {
		return ""
	}
	b := o.take(len(k))
	copy(b, k)
	return unsafe.String(&b[0], len(b))
}

type undo struct {
	key  string
	prev slot
	had  bool // the key was in the overlay (as prev)
}

// begin starts an entry: what follows can be rolled back.
func (o *overlay) begin() {
	o.undo = o.undo[:0]
	o.undoFlush = o.flushed
	o.undoLength = o.bytes
	o.touched = nil
}

// rollback takes back everything since begin.
func (o *overlay) rollback() {
	for i := len(o.undo) - 1; i >= 0; i-- {
		u := o.undo[i]
		if u.had {
			o.m[u.key] = u.prev
		} else {
			delete(o.m, u.key)
		}
	}
	o.undo = o.undo[:0]
	o.flushed = o.undoFlush
	o.bytes = o.undoLength
	o.fresh = false
	o.touched = nil
}

type slot struct {
	val []byte
	exp int64
	del bool
	seq uint64 // the log index of the entry that wrote it: the key's WATCH version
}

func newOverlay() *overlay { return &overlay{m: make(map[string]slot)} }

// reset empties the overlay for the next batch, keeping its memory unless
// a large transaction grew it.
func (o *overlay) reset() {
	if len(o.m) > 4096 {
		o.m = make(map[string]slot)
	} else {
		clear(o.m)
	}
	clear(o.sorted)
	o.sorted, o.fresh = o.sorted[:0], false
	o.flushed = [Databases]bool{}
	o.bytes = 0
	o.touched, o.undo = nil, o.undo[:0]
}

// live reports whether the slot holds a value visible at now.
func (s slot) live(now int64) bool { return !s.del && (s.exp == 0 || s.exp > now) }

func (o *overlay) set(k []byte, s slot) {
	prev, ok := o.m[string(k)]
	if !ok {
		o.fresh = false
	}
	key := o.keyOf(k)
	o.undo = append(o.undo, undo{key: key, prev: prev, had: ok})
	o.m[key] = s
	o.bytes += int64(len(k) + len(s.val) + 32)
}

// hides reports whether the overlay flushed the database an engine key
// (or a prefix of one, down to its first byte) belongs to: its metadata
// keys and its collections' sub-keys alike.
func (o *overlay) hides(k []byte) bool {
	if len(k) == 0 {
		return false
	}
	for d := range Databases {
		if o.flushed[d] && (k[0] == keyspace.DBPrefix(d)[0] || k[0] == keyspace.SubSpace(d)[0]) {
			return true
		}
	}
	return false
}

// keysIn returns the overlay's keys in [lower, upper), in order.
func (o *overlay) keysIn(lower, upper []byte) []string {
	if !o.fresh {
		o.sorted = o.sorted[:0]
		for k := range o.m {
			o.sorted = append(o.sorted, k)
		}
		slices.Sort(o.sorted)
		o.fresh = true
	}
	i, _ := slices.BinarySearch(o.sorted, string(lower))
	j := len(o.sorted)
	if upper != nil {
		j, _ = slices.BinarySearch(o.sorted, string(upper))
	}
	return o.sorted[i:max(i, j)]
}

func (c *ctx) fail(err error) {
	if c.fatal == nil {
		c.fatal = err
	}
}

func (c *ctx) touch(key []byte, event string) {
	if c.tx != nil {
		c.addTouch(Touch{DB: c.dbi, Key: key, Event: event})
	}
}

// addTouch records a change, with New set when the running command
// created the key (see created).
func (c *ctx) addTouch(t Touch) {
	if !c.noNew {
		t.New = c.created(t.DB, t.Key, t.Event)
	}
	c.tx.touched = append(c.tx.touched, t)
}

// beginCommand marks where the command about to run starts in the entry's
// writes and touches (exec, and each command a script calls).
func (c *ctx) beginCommand() {
	if c.tx != nil {
		c.cmdUndo, c.cmdTouch = len(c.tx.undo), len(c.tx.touched)
		c.cmdSeen, c.cmdFirst = nil, nil
	}
}

// scanIndexAt is how many touches or undo records of one command created
// scans before it indexes them in a map.
const scanIndexAt = 32

// touchedBefore reports whether a touch of the running command before the
// one being recorded named key of database dbi.
func (c *ctx) touchedBefore(dbi int, key []byte) bool {
	ts := c.tx.touched[min(c.cmdTouch, len(c.tx.touched)):]
	if len(ts) <= scanIndexAt {
		for _, t := range ts {
			if t.DB == dbi && t.Publish == 0 && bytes.Equal(t.Key, key) {
				return true
			}
		}
		return false
	}
	if c.cmdSeen == nil {
		c.cmdSeen, c.seenTo = make(map[string]bool, len(ts)), 0
	}
	for ; c.seenTo < len(ts); c.seenTo++ {
		if t := ts[c.seenTo]; t.Publish == 0 && t.Key != nil {
			c.cmdSeen[string(keyspace.MetaKey(t.DB, t.Key))] = true
		}
	}
	return c.cmdSeen[string(keyspace.MetaKey(dbi, key))]
}

// firstUndo returns the running command's first undo record of engine key
// k: its first write of k.
func (c *ctx) firstUndo(k string) (undo, bool) {
	us := c.tx.undo[min(c.cmdUndo, len(c.tx.undo)):]
	if len(us) <= scanIndexAt {
		for _, u := range us {
			if u.key == k {
				return u, true
			}
		}
		return undo{}, false
	}
	if c.cmdFirst == nil {
		c.cmdFirst, c.firstTo = make(map[string]int, len(us)), 0
	}
	for ; c.firstTo < len(us); c.firstTo++ {
		if _, ok := c.cmdFirst[us[c.firstTo].key]; !ok {
			c.cmdFirst[us[c.firstTo].key] = c.firstTo
		}
	}
	i, ok := c.cmdFirst[k]
	if !ok {
		return undo{}, false
	}
	return us[i], true
}

// created reports whether the running command created key of database
// dbi, the Touch being recorded for it the command's first: the key is
// live now, and the command's first write of it found it absent (or
// expired), as db.c's dbAdd, which notifies "new", runs only for a key
// that is not there. RENAME, COPY, MOVE and RESTORE always create their
// destination (Redis deletes one there first, then dbAdds).
func (c *ctx) created(dbi int, key []byte, event string) bool {
	if key == nil {
		return false
	}
	if c.touchedBefore(dbi, key) {
		return false // the command's first touch of the key told
	}
	k := keyspace.MetaKey(dbi, key)
	if s, found, _ := c.slotOf(k); !found || !s.live(c.now) {
		return false // not written in this batch, or not live now
	}
	switch event {
	case "rename_to", "copy_to", "move_to", "restore":
		return true
	}
	u, ok := c.firstUndo(string(k))
	switch {
	case !ok:
		return false // not written by this command
	case u.had: // as earlier writes of the batch left it
		return !u.prev.live(c.now)
	case c.tx.hides(k):
		return true
	}
	// Exists reads the keydir alone for a key without a TTL, where Lookup
	// reads its record's header in the segment: a cache miss per write.
	live, _ := viewRead(c, func(r *engine.View) (bool, error) { return r.Exists(k) })
	return !live
}

// viewRead runs read in the command's view (or one of its own at c.now):
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

// slotOf finds an engine key in the overlay: found, it is s; decided
// reports that the overlay decided (the engine need not be consulted),
// found or hidden by a FLUSHDB.
func (c *ctx) slotOf(k []byte) (s slot, found, decided bool) {
	if c.tx == nil {
		return slot{}, false, false
	}
	if s, ok := c.tx.m[string(k)]; ok {
		return s, true, true
	}
	return slot{}, false, c.tx.hides(k)
}

// getRaw returns the value and expiry of an engine key.
func (c *ctx) getRaw(k []byte) (v []byte, exp int64, ok bool) {
	if s, found, decided := c.slotOf(k); decided {
		if !found || !s.live(c.now) {
			return nil, 0, false
		}
		return s.val, s.exp, true
	}
	if c.view != nil { // the common case: a command reading in its View
		v, exp, err := c.view.Get(k)
		if err != nil && !errors.Is(err, engine.ErrNotFound) {
			c.fail(err)
		}
		return v, exp, err == nil
	}
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

// metaRaw returns an engine key's metadata (its value length, expiry and
// version) through the overlay.
func (c *ctx) metaRaw(k []byte) (engine.Meta, bool) {
	if s, found, decided := c.slotOf(k); decided {
		if !found || !s.live(c.now) {
			return engine.Meta{}, false
		}
		return engine.Meta{ValueLen: len(s.val), ExpireAt: s.exp, Seq: s.seq}, true
	}
	return viewRead(c, func(r *engine.View) (engine.Meta, error) { return r.Lookup(k) })
}

// putRaw sets an engine key. exp is absolute (0 = none); a time not after
// now makes the key absent at once.
func (c *ctx) putRaw(k, v []byte, exp int64) {
	if c.tx == nil {
		panic("command: write in a read-only context")
	}
	c.tx.set(k, slot{val: v, exp: exp, seq: c.index})
}

func (c *ctx) delRaw(k []byte) {
	if c.tx == nil {
		panic("command: write in a read-only context")
	}
	c.tx.set(k, slot{del: true, seq: c.index})
}

// metaKey is the engine key of a user key in the current database.
func (c *ctx) metaKey(key []byte) []byte { return keyspace.MetaKey(c.dbi, key) }

// value is a key's metadata value as commands see it.
type value struct {
	keyspace.Meta
	exp int64 // absolute expiry (Unix ms), 0 = none
	raw []byte
}

// lookup reads a key of the current database: its decoded metadata and
// expiry. A value that does not decode fails the command.
func (c *ctx) lookup(key []byte) (value, bool) {
	raw, exp, ok := c.getRaw(c.metaKey(key))
	if !ok {
		c.missed(key)
		return value{}, false
	}
	c.hit()
	m, err := keyspace.DecodeMeta(raw)
	if err != nil {
		c.fail(fmt.Errorf("key %q: %w", key, err))
		return value{}, false
	}
	return value{Meta: m, exp: exp, raw: raw}, true
}

// errWrongType is Redis's reply to a command on a key of another type.
const errWrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"

// getString reads a string key. wrong reports a key of another type, to
// which the command answers WRONGTYPE.
func (c *ctx) getString(key []byte) (v []byte, exp int64, found, wrong bool) {
	val, ok := c.lookup(key)
	if !ok {
		return nil, 0, false, false
	}
	if val.Type != keyspace.String {
		return nil, 0, false, true
	}
	return val.Value, val.exp, true, false
}

// exists reports whether a key of any type is live.
func (c *ctx) exists(key []byte) bool {
	_, ok := c.metaRaw(c.metaKey(key))
	if !ok {
		c.missed(key)
	} else {
		c.hit()
	}
	return ok
}

// hit counts a key a read's lookup found (db.c's lookupKey counts
// keyspace_hits for every lookup but a write's).
func (c *ctx) hit() {
	if c.tx == nil {
		c.hits++
	}
}

// missed reports a key a read's lookup did not find to c.miss (db.c's
// lookupKeyReadWithFlags notifies "keymiss" then).
func (c *ctx) missed(key []byte) {
	if c.tx != nil {
		return
	}
	c.misses++
	if c.miss != nil {
		c.miss(key)
	}
}

// putString sets a string key.
func (c *ctx) putString(key, v []byte, exp int64) {
	c.putRaw(c.metaKey(key), c.encodeString(v), exp)
}

// encodeString is keyspace.EncodeString(v), but for a v that is one of the
// entry's Room arguments: its type byte goes in the spare byte before it,
// and the stored value is the argument's own bytes, not a copy. A 512 MB
// SET applied from a follower's file took 512 MB more without it.
func (c *ctx) encodeString(v []byte) []byte {
	for _, r := range c.room {
		if r.Off > 0 && r.Len == len(v) && len(v) > 0 && &r.Buf[r.Off] == &v[0] {
			r.Buf[r.Off-1] = byte(keyspace.String)
			return r.Buf[r.Off-1 : r.Off+r.Len : r.Off+r.Len]
		}
	}
	if c.tx != nil && len(v) < chunkMax {
		b := c.tx.take(1 + len(v))
		return keyspace.AppendString(b[:0], v)
	}
	return keyspace.EncodeString(v)
}

// del deletes a key of any type: one write of its metadata key. A
// collection's sub-keys are dead from then on and reclaimed later.
func (c *ctx) del(key []byte) { c.delRaw(c.metaKey(key)) }

// setExpire rewrites a key's metadata with a new expiry (0: none).
func (c *ctx) setExpire(key []byte, val value, exp int64) {
	c.putRaw(c.metaKey(key), val.raw, exp)
}

// newVersion returns the version of a collection this entry creates.
func (c *ctx) newVersion() uint64 {
	c.nver++
	return keyspace.NewVersion(c.index, c.nver)
}

// flush empties database dbi.
func (c *ctx) flush(dbi int) {
	c.tx.flushed[dbi] = true
	meta, sub := keyspace.DBPrefix(dbi)[0], keyspace.SubSpace(dbi)[0]
	for k, prev := range c.tx.m {
		if k != "" && (k[0] == meta || k[0] == sub) {
			c.tx.undo = append(c.tx.undo, undo{key: k, prev: prev, had: true})
			delete(c.tx.m, k)
			c.tx.fresh = false
		}
	}
	c.tx.touched = append(c.tx.touched, Touch{DB: dbi, Event: "flushdb"})
}

// iter is an ordered walk over engine keys in [lower, upper), the
// overlay's writes applied: what a transaction wrote is seen in key order
// among what the engine holds. It runs inside the command's View.
type iter struct {
	c       *ctx
	ei      *engine.Iterator // nil when the overlay flushed the range's database
	eok     bool             // ei is on a key
	moveEi  bool             // the current key is ei's: move ei before the next step
	ov      []string         // overlay keys in range, in walk order
	oi      int
	reverse bool

	key    []byte
	slot   slot // the overlay's, when fromTx
	fromTx bool
	valid  bool
}

// iterate opens an iterator over [lower, upper) (upper nil: no bound),
// forward or in reverse, positioned on its first key. Close it.
func (c *ctx) iterate(lower, upper []byte, reverse bool) *iter {
	it := &iter{c: c, reverse: reverse}
	if c.view == nil {
		panic("command: iterate outside a view")
	}
	if c.tx == nil || !c.tx.hides(lower) {
		it.ei = c.view.Iter(engine.IterOptions{Lower: lower, Upper: upper})
		if reverse {
			it.eok = it.ei.Last()
		} else {
			it.eok = it.ei.First()
		}
	}
	if c.tx != nil {
		it.ov = slices.Clone(c.tx.keysIn(lower, upper))
		if reverse {
			slices.Reverse(it.ov)
		}
	}
	it.step()
	return it
}

// before reports whether a comes before b in the walk's order.
func (it *iter) before(a, b []byte) bool {
	if it.reverse {
		return bytes.Compare(a, b) > 0
	}
	return bytes.Compare(a, b) < 0
}

func (it *iter) advanceEngine() {
	if it.reverse {
		it.eok = it.ei.Prev()
	} else {
		it.eok = it.ei.Next()
	}
}

// step moves to the next visible key.
func (it *iter) step() {
	if it.moveEi {
		it.advanceEngine()
		it.moveEi = false
	}
	for {
		var ek []byte
		if it.eok {
			ek = it.ei.Key()
		}
		var ok []byte
		if it.oi < len(it.ov) {
			ok = []byte(it.ov[it.oi])
		}
		switch {
		case ek == nil && ok == nil:
			if it.ei != nil {
				if err := it.ei.Err(); err != nil {
					it.c.fail(err)
				}
			}
			it.valid = false
			return
		case ok == nil || (ek != nil && it.before(ek, ok)):
			it.key, it.fromTx, it.valid, it.moveEi = ek, false, true, true
			return
		default:
			if ek != nil && bytes.Equal(ek, ok) {
				it.advanceEngine() // the overlay's write replaces it
			}
			it.oi++
			s := it.c.tx.m[string(ok)]
			if !s.live(it.c.now) {
				continue
			}
			it.key, it.slot, it.fromTx, it.valid = ok, s, true, true
			return
		}
	}
}

// Next moves on; Valid reports whether there is a current key.
func (it *iter) Next() {
	if it.valid {
		it.step()
	}
}

func (it *iter) Valid() bool { return it.valid && it.c.fatal == nil }

// Key is the current engine key, valid until Next.
func (it *iter) Key() []byte { return it.key }

// Value is a copy of the current key's value (or the overlay's own).
func (it *iter) Value() []byte {
	if it.fromTx {
		return it.slot.val
	}
	v, err := it.ei.Value()
	if err != nil {
		it.c.fail(err)
	}
	return v
}

// close releases the engine iterator.
func (it *iter) close() {
	if it.ei != nil {
		if err := it.ei.Close(); err != nil {
			it.c.fail(err)
		}
	}
}

// userKeys returns the live keys of the current database whose user key
// begins with prefix, in engine order (slot, then key), overlay applied.
func (c *ctx) userKeys(match func(key []byte) bool) [][]byte {
	p := keyspace.DBPrefix(c.dbi)
	it := c.iterate(p, keyspace.PrefixEnd(p), false)
	defer it.close()
	var keys [][]byte
	for ; it.Valid(); it.Next() {
		_, k, _ := keyspace.SplitMeta(it.Key())
		if match == nil || match(k) {
			keys = append(keys, bytes.Clone(k))
		}
	}
	return keys
}

// dbsize counts the keys of the current database as Redis's DBSIZE does
// (the engine counts keys that expired but were not yet deleted). In a
// transaction the overlay's changes are added, judged by liveness.
func (c *ctx) dbsize() int64 {
	n := int64(0)
	flushed := c.tx != nil && c.tx.flushed[c.dbi]
	if !flushed {
		// Through the command's View: it holds the engine's lock, and
		// DB.CountPrefix taking it again would deadlock behind a writer.
		n = int64(c.view.CountPrefix(keyspace.DBPrefix(c.dbi)))
	}
	if c.tx == nil {
		return n
	}
	// Like the engine's count, a key counts while it is stored, expired or
	// not: compare what the engine holds with what the overlay will.
	p := keyspace.DBPrefix(c.dbi)
	for _, k := range c.tx.keysIn(p, keyspace.PrefixEnd(p)) {
		before := false
		if !flushed {
			_, before = viewRead(c, func(r *engine.View) (engine.Meta, error) { return r.LookupAny([]byte(k)) })
		}
		after := !c.tx.m[k].del
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
// starts a walk at a random point of the database's range, so keys that
// follow wide gaps are likelier than others.
func (c *ctx) randomKey() ([]byte, bool) {
	p := keyspace.DBPrefix(c.dbi)
	end := keyspace.PrefixEnd(p)
	var r [8]byte
	v := c.random()
	for i := range r {
		r[i] = byte(v >> (56 - 8*i))
	}
	var cands [][]byte
	for _, from := range [][]byte{append(slices.Clone(p), r[:]...), p} {
		it := c.iterate(from, end, false)
		for ; it.Valid() && len(cands) < 16; it.Next() {
			cands = append(cands, bytes.Clone(it.Key()))
		}
		it.close()
		if len(cands) > 0 {
			break
		}
	}
	if len(cands) == 0 {
		return nil, false
	}
	_, k, _ := keyspace.SplitMeta(cands[c.random()%uint64(len(cands))])
	return k, true
}

// commit writes the overlay as one engine batch whose seq is index (the
// last entry's), each key stamped with the index of the entry that wrote
// it, and empties the overlay; held, the batch may wait in the engine's
// write buffer for engine.DB.Flush (Applier.Hold).
func (o *overlay) commit(db *engine.DB, index uint64, hold bool) error {
	b := &o.batch
	defer b.Reset() // the engine keeps nothing of it
	if hold {
		b.Hold()
	}
	for d, f := range o.flushed {
		if !f {
			continue
		}
		// The flushed database's metadata keys go; its collections'
		// sub-keys are dead from here on, and reclaimed later.
		p := keyspace.DBPrefix(d)
		err := db.View(math.MinInt64, func(v *engine.View) error {
			it := v.Iter(engine.IterOptions{Lower: p, Upper: keyspace.PrefixEnd(p), KeysOnly: true, IncludeExpired: true})
			for ok := it.First(); ok; ok = it.Next() {
				if _, mine := o.m[string(it.Key())]; !mine {
					b.Delete(bytes.Clone(it.Key()))
				}
			}
			return errors.Join(it.Err(), it.Close())
		})
		if err != nil {
			return err
		}
	}
	keys := o.keysIn(nil, nil)
	for _, k := range keys {
		s := o.m[k]
		// The batch only reads its keys, until Write returns: the
		// overlay's strings go in as they are, not copied.
		kb := unsafe.Slice(unsafe.StringData(k), len(k))
		if s.del {
			b.Delete(kb)
		} else {
			b.PutSeq(kb, s.val, s.exp, s.seq)
		}
	}
	b.SetSeq(index)
	err := db.Write(b)
	o.reset()
	return err
}

// version is a key's WATCH version at the view's time: the seq of the
// write that set it, 0 when absent or expired.
func version(c *ctx, dbi int, key []byte) uint64 {
	m, ok := c.metaRaw(keyspace.MetaKey(dbi, key))
	if !ok {
		return 0
	}
	return m.Seq
}

// Versions returns the WATCH versions of keys in database dbi at time now.
func Versions(db *engine.DB, dbi int, now int64, keys [][]byte) ([]uint64, error) {
	if dbi < 0 || dbi >= Databases {
		return nil, fmt.Errorf("command: database %d out of range", dbi)
	}
	seqs := make([]uint64, len(keys))
	err := db.View(now, func(r *engine.View) error {
		c := &ctx{db: db, view: r, now: now}
		for i, k := range keys {
			seqs[i] = version(c, dbi, k)
		}
		return c.fatal
	})
	return seqs, err
}
