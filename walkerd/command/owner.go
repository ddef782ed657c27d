package command

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// Slot ownership on a node with several Raft groups (walkerd --groups):
// each group's engine serves the keys of some hash slots only, and which
// ones is replicated state of the group, so that every member decides
// alike, at apply, whether an entry may run (walkerd/shard/DESIGN.md, "The
// first migration to build").
//
//   - A group serves its layout's slots (SetOwner, registered before its
//     store opens) until a migration changes them: WALKER.SLOT CLOSE and
//     OPEN write the set it serves, a bitmap under keyspace.SlotsKey.
//   - Apply refuses a command whose keys are in a slot its group does not
//     serve with ErrSlotMoved, having run nothing: the server routes it
//     again, to the slot's new group (walkerd/server/slotmove.go). A
//     transaction is refused whole; one command of a pipeline's entry
//     alone.
//   - A script's redis.call of a key of a slot its group does not serve
//     fails with Redis Cluster's error, as script.c refuses a key of a slot
//     another node serves, rather than reading or writing the wrong
//     group's engine.
//
// The bitmap is read from the engine once and then kept in memory per
// engine; Applier.Commit replaces the copy after it commits a change, so
// a reader who finds a slot served after a read barrier has seen every
// CLOSE committed before the barrier (Owns).

// errNonLocalKey is Redis Cluster's error for a script's key of a slot the
// node does not serve (script.c).
const errNonLocalKey = "ERR Script attempted to access a non local key in a cluster node"

// ErrSlotMoved refuses, at apply, a command whose slot its group no longer
// serves (or does not serve yet). It never reaches a client as it is: the
// server routes the command again, and answers Redis's TRYAGAIN if the
// slot's new owner is not known in time.
const ErrSlotMoved Error = "TRYAGAIN the hash slot is not served by this Raft group (migrated)"

// slotBytes is the size of the bitmap of served slots.
const slotBytes = 16384 / 8

// owners maps an engine's data directory to its group's ownership. The
// directory, not the *engine.DB, is the key: a snapshot restore reopens
// the engine in the same directory.
var owners sync.Map // string -> *owner

// owner is one group's slot ownership.
type owner struct {
	layout func(slot uint16) bool
	cur    atomic.Pointer[ownedSlots]
}

// ownedSlots is the set of slots a group serves as read from one engine
// (nil bits: its layout's), and its part in the moves under way (nil mig:
// none; moving.go).
type ownedSlots struct {
	db   *engine.DB
	bits *[slotBytes]byte
	mig  *migState
}

// SetOwner records that the engine in directory dir serves the slots
// layout accepts until a WALKER.SLOT changes them; nil forgets it (every
// slot, as with one group). It must be called before the group's store
// applies its first entry, since the refusals at apply depend on it; the
// first registration of a directory stands (a group's layout does not
// change while the process runs, and the owner caches what it read).
func SetOwner(dir string, layout func(slot uint16) bool) {
	if layout == nil {
		owners.Delete(dir)
		return
	}
	owners.LoadOrStore(dir, &owner{layout: layout})
}

// ownerOf is db's group's ownership, nil when its engine serves every slot.
func ownerOf(db *engine.DB) *owner {
	if v, ok := owners.Load(db.Dir()); ok {
		return v.(*owner)
	}
	return nil
}

// Owns reports whether db's group serves slot: always true for an engine
// no SetOwner registered.
func Owns(db *engine.DB, slot uint16) bool {
	o := ownerOf(db)
	return o == nil || o.owns(db, slot)
}

// owns reports whether the group serves slot, as of db's engine.
func (o *owner) owns(db *engine.DB, slot uint16) bool { return o.inBits(o.bits(db), slot) }

// inBits reports whether bits, a served set (nil: the layout's), holds
// slot.
func (o *owner) inBits(bits *[slotBytes]byte, slot uint16) bool {
	if bits == nil {
		return o.layout(slot)
	}
	return bits[slot/8]&(1<<(slot%8)) != 0
}

// bits returns the stored bitmap of db; nil when none is stored.
func (o *owner) bits(db *engine.DB) *[slotBytes]byte { return o.load(db).bits }

// load returns what db's engine stores of the group's slots, read once
// per engine. A reader that loses a race with Commit's update reads
// again rather than keep what it read before the commit.
func (o *owner) load(db *engine.DB) *ownedSlots {
	for {
		cur := o.cur.Load()
		if cur != nil && cur.db == db {
			return cur
		}
		next := &ownedSlots{db: db}
		raw, err := internalValue(db, keyspace.SlotsKey)
		if err != nil {
			return next // an engine failing its reads fails the command anyway
		}
		if len(raw) == slotBytes {
			next.bits = (*[slotBytes]byte)(raw)
		}
		if raw, err := internalValue(db, keyspace.MigrationKey); err == nil {
			next.mig, _ = decodeMig(raw)
		}
		if o.cur.CompareAndSwap(cur, next) {
			return next
		}
	}
}

// nonLocalKey reports whether args, a command of spec s run by a script on
// db, names a key of a slot db's group does not serve.
func nonLocalKey(db *engine.DB, s *Spec, args [][]byte) bool {
	o := ownerOf(db)
	if o == nil {
		return false
	}
	cur := o.load(db)
	for _, r := range KeyAccess(s, args) {
		if sl := keyspace.Slot(r.Key); !o.inBits(cur.bits, sl) && !cur.mig.importing(sl) {
			return true // a slot being imported is local: its commands run here after ASKING
		}
	}
	return false
}

// SpecOf looks up a command line's spec, its subcommand's when it has one;
// nil for an unknown command.
func SpecOf(args [][]byte) *Spec {
	if len(args) == 0 {
		return nil
	}
	k := Lookup(args[0])
	if k != nil && len(k.Subs) > 0 && len(args) > 1 {
		if sub := k.Sub(args[1]); sub != nil {
			return sub
		}
	}
	return k
}

// EntryKeys lists the keys one command of an entry writes or reads, for
// routing and for the ownership check at apply: a command's key specs,
// and the keys inside walkerd's internal commands that carry them
// (WALKER.SERVE and RESOLVE: a blocking command; WALKER.RECLAIM: db key
// version triples).
func EntryKeys(k *Spec, args [][]byte) [][]byte {
	var keys [][]byte
	switch k.Name {
	case "walker.serve", "walker.resolve":
		if inner := SpecOf(args[1:]); inner != nil {
			for _, r := range KeyAccess(inner, args[1:]) {
				keys = append(keys, r.Key)
			}
		}
		return keys
	case "walker.reclaim":
		for i := 2; i < len(args); i += 3 {
			keys = append(keys, args[i])
		}
		return keys
	}
	for _, r := range KeyAccess(k, args) {
		keys = append(keys, r.Key)
	}
	return keys
}

// Migration's internal commands, in the entries the placement leader's
// driver proposes (walkerd/migrate.go):
//
//	WALKER.SLOT CLOSE <slots> <fence> | OPEN <slots> <fence>
//	        stop or start serving slots (a slot, or first-last): answers
//	        how many changed; refused on an engine no SetOwner registered
//	WALKER.SLOT DROP <slots> <count> <fence>
//	        delete up to count records (metadata and sub-keys, every
//	        database) of slots the group does not serve: answers how many
//	WALKER.SLOT IMPORTING|MIGRATING|FREEZE|RELEASE ...
//	        the ASK phase's steps (moving.go)
//	WALKER.IMPORT <fence> <db> <key> <expiry> <payload> [<db> <key> <expiry> <payload> ...]
//	        create each key, of a slot the group does not serve yet, from
//	        a DUMP payload (dump.go) with its absolute expiry in Unix ms
//	        (0: none), replacing what the key held; a collection gets a
//	        version of this group's own log index, so versions stay unique
//	        per key across groups. An expiry already past creates nothing.
//
// None names keys for routing: they run whatever the slot's state, as the
// driver's steps need (an import lands before its slot opens). fence is
// the placement term of the driver that sent the step: the group keeps the
// highest it has applied (keyspace.FenceKey) and refuses a step from a
// lower one, ErrStaleStep, so a driver deposed while it copied (paused, cut
// off) cannot drop or import over the work of the one that took over; and
// an import into a slot the group serves is refused, so a stale copy never
// lands over writes made after the slot opened.

func init() {
	register(
		&Spec{Name: "walker.slot", Arity: -4, Flags: FlagWrite | FlagInternal, Group: "cluster", Since: "walkerdb",
			Summary: "Closes, opens or drops a hash slot of this Raft group (internal: slot migration).", run: runSlot},
		&Spec{Name: "walker.import", Arity: -6, Flags: FlagWrite | FlagInternal, Group: "cluster", Since: "walkerdb",
			Summary: "Creates keys from DUMP payloads with absolute expiries (internal: slot migration).", run: runImport},
	)
}

// errSlotArgs refuses a malformed WALKER.SLOT or IMPORT: walkerd builds
// them, so it means a bug.
const errSlotArgs = "ERR syntax error in a slot migration command"

// ErrStaleStep refuses a migration step from a driver older than one whose
// step the group has applied.
const ErrStaleStep Error = "ERR stale migration step: a newer placement leader drives this group's migrations"

// fenced checks a step's fence against the group's, and raises the
// group's to it; false (the reply written) when the step is stale.
func (c *ctx) fenced(arg []byte) bool {
	f, err := strconv.ParseUint(string(arg), 10, 64)
	if err != nil {
		c.r.Error(errSlotArgs)
		return false
	}
	var cur uint64
	if raw, _, ok := c.getRaw(keyspace.FenceKey); ok && len(raw) == 8 {
		cur = binary.BigEndian.Uint64(raw)
	}
	switch {
	case f < cur:
		c.r.Error(string(ErrStaleStep))
		return false
	case f > cur:
		c.putRaw(keyspace.FenceKey, binary.BigEndian.AppendUint64(nil, f), 0)
	}
	return true
}

// parseSlots reads a slot or a range of slots, first-last.
func parseSlots(b []byte) (start, end uint16, ok bool) {
	lo, hi, isRange := bytes.Cut(b, []byte("-"))
	if !isRange {
		hi = lo
	}
	x, err1 := strconv.ParseUint(string(lo), 10, 16)
	y, err2 := strconv.ParseUint(string(hi), 10, 16)
	return uint16(x), uint16(y), err1 == nil && err2 == nil && x <= y && y < 16384
}

func runSlot(c *ctx, args [][]byte, _ any) {
	start, end, ok := parseSlots(args[2])
	if !ok {
		c.r.Error(errSlotArgs)
		return
	}
	o := ownerOf(c.db)
	if o == nil {
		c.r.Error("ERR this node runs one Raft group: its slots do not move")
		return
	}
	switch {
	case equalFold(args[1], "close"), equalFold(args[1], "open"):
		if len(args) != 4 {
			c.r.Error(errSlotArgs)
			return
		}
		if !c.fenced(args[3]) {
			return
		}
		open := equalFold(args[1], "open")
		next := *c.servedBits(o)
		changed := 0
		for x := int(start); x <= int(end); x++ {
			if (next[x/8]&(1<<(x%8)) != 0) == open {
				continue
			}
			next[x/8] ^= 1 << (x % 8)
			changed++
		}
		if changed > 0 {
			c.putRaw(keyspace.SlotsKey, next[:], 0)
			c.tx.slots = &next // Applier.Commit hands it to the owner
		}
		// The slots' part in a move ends: closed in the source, open in
		// the target (moving.go).
		if st := c.migNow(); open && len(st.In) > 0 || !open && (len(st.Out) > 0 || st.FrozenID != 0) {
			if open {
				st.In = dropSpans(st.In, start, end)
			} else {
				st.Out = dropSpans(st.Out, start, end)
				if st.movingTo(start) == "" {
					st.FrozenID, st.Frozen, st.Wanted = 0, nil, nil
				}
			}
			c.setMig(st)
			c.tx.spansChanged = true
		}
		c.r.Int(int64(changed))
	case equalFold(args[1], "drop"):
		if len(args) != 5 {
			c.r.Error(errSlotArgs)
			return
		}
		count, err := strconv.Atoi(string(args[3]))
		if err != nil || count <= 0 {
			c.r.Error(errSlotArgs)
			return
		}
		if !c.fenced(args[4]) {
			return
		}
		bits := c.servedBits(o)
		for x := int(start); x <= int(end); x++ {
			if bits[x/8]&(1<<(x%8)) != 0 {
				c.r.Error("ERR hash slot " + strconv.Itoa(x) + " " + servedText + ": close it before dropping it")
				return
			}
		}
		c.r.Int(int64(c.dropSlots(start, end, count)))
	default:
		if !c.runSlotMove(o, args, start, end) {
			c.r.Error(errSlotArgs)
		}
	}
}

// servedText is in the refusals of an import or a drop in a slot the group
// serves; the driver reads it (walkerd/migrate.go).
const servedText = "is served by this group"

// servedBits is the set of slots the group serves as this entry sees it:
// the batch's own change, else the stored bitmap, else the layout's.
func (c *ctx) servedBits(o *owner) *[slotBytes]byte {
	if c.tx.slots != nil {
		return c.tx.slots
	}
	if raw, _, ok := c.getRaw(keyspace.SlotsKey); ok && len(raw) == slotBytes {
		return (*[slotBytes]byte)(bytes.Clone(raw))
	}
	var bits [slotBytes]byte
	for s := range 16384 {
		if o.layout(uint16(s)) {
			bits[s/8] |= 1 << (s % 8)
		}
	}
	return &bits
}

// dropSlots deletes up to count records of slots start..end, metadata
// keys and sub-keys of every database, and returns how many it deleted.
func (c *ctx) dropSlots(start, end uint16, count int) int {
	n := 0
	for db := 0; db < Databases && n < count; db++ {
		for _, r := range slotRanges(db, start, end) {
			it := c.iterate(r[0], r[1], false)
			var dead [][]byte
			for ; it.Valid() && n+len(dead) < count; it.Next() {
				dead = append(dead, bytes.Clone(it.Key()))
			}
			it.close()
			for _, k := range dead {
				c.delRaw(k)
			}
			n += len(dead)
		}
	}
	return n
}

func runImport(c *ctx, args [][]byte, _ any) {
	if (len(args)-2)%4 != 0 {
		c.r.Error(errSlotArgs)
		return
	}
	o := ownerOf(c.db)
	if o == nil {
		c.r.Error("ERR this node runs one Raft group: its slots do not move")
		return
	}
	bits := c.servedBits(o)
	for i := 3; i < len(args); i += 4 {
		if s := keyspace.Slot(args[i]); bits[s/8]&(1<<(s%8)) != 0 {
			c.r.Error("ERR hash slot " + strconv.Itoa(int(s)) + " " + servedText + ": an import lands only before its slot opens")
			return
		}
	}
	if !c.fenced(args[1]) {
		return
	}
	type item struct {
		db  int
		key []byte
		exp int64
		v   *dumpValue
	}
	items := make([]item, 0, (len(args)-2)/4)
	for i := 2; i < len(args); i += 4 {
		db, err1 := strconv.Atoi(string(args[i]))
		exp, err2 := strconv.ParseInt(string(args[i+2]), 10, 64)
		if err1 != nil || err2 != nil || db < 0 || db >= Databases || exp < 0 || !verifyDump(args[i+3]) {
			c.r.Error(errSlotArgs)
			return
		}
		v, ok := decodeDump(args[i+3])
		if !ok {
			c.r.Error("ERR Bad data format")
			return
		}
		items = append(items, item{db, args[i+1], exp, v})
	}
	home := c.dbi
	defer func() { c.dbi = home }()
	n := 0
	for _, it := range items {
		c.dbi = it.db
		if c.exists(it.key) {
			c.del(it.key)
		}
		if it.exp != 0 && it.exp <= c.now {
			continue
		}
		c.writeValue(it.key, it.v, it.exp)
		n++
	}
	c.r.Int(int64(n))
}

// Record is one key of a slot as DumpSlot reads it: WALKER.IMPORT's four
// arguments.
type Record struct {
	DB      int
	Key     []byte
	Expiry  int64 // absolute, Unix ms; 0: none
	Payload []byte
}

// slotRanges are the engine key ranges [lower, upper) of database db's
// records in slots start..end: its metadata keys, then its sub-keys.
func slotRanges(db int, start, end uint16) [2][2][]byte {
	metaEnd, subEnd := keyspace.PrefixEnd(keyspace.DBPrefix(db)), keyspace.PrefixEnd(keyspace.SubSpace(db))
	if end < 16383 {
		metaEnd, subEnd = keyspace.SlotPrefix(db, end+1), keyspace.SubSlotPrefix(db, end+1)
	}
	return [2][2][]byte{{keyspace.SlotPrefix(db, start), metaEnd}, {keyspace.SubSlotPrefix(db, start), subEnd}}
}

// DumpSlots reads the keys of slots start..end in db's engine, in every
// database, at time now (expired keys left out), from the engine key from
// on (nil: the first), and hands each to fn in engine order, with its DUMP
// payload (dump.go) and absolute expiry. It stops once it has handed over
// max bytes of payload (at least one key) and returns the key to go on
// from, nil when no key is left. Each call holds one engine View, which
// writers wait for, so a large slot is read in calls of bounded size: the
// caller reads a slot its group no longer serves (closed), so nothing
// changes between calls.
func DumpSlots(db *engine.DB, now int64, start, end uint16, from []byte, max int, fn func(Record) error) (next []byte, err error) {
	var fnErr error
	size := 0
	err = db.View(now, func(v *engine.View) error {
		for dbi := 0; dbi < Databases; dbi++ {
			r := slotRanges(dbi, start, end)[0]
			lower := r[0]
			if from != nil {
				if bytes.Compare(from, r[1]) >= 0 {
					continue // a database already read
				}
				if bytes.Compare(from, lower) > 0 {
					lower = from
				}
			}
			c := &ctx{db: db, now: now, dbi: dbi, view: v, r: &Recorder{}}
			it := v.Iter(engine.IterOptions{Lower: lower, Upper: r[1], KeysOnly: true})
			for ok := it.First(); ok; ok = it.Next() {
				if size >= max {
					next = bytes.Clone(it.Key())
					return closeIter(it)
				}
				_, key, _ := keyspace.SplitMeta(it.Key())
				key = bytes.Clone(key)
				val, found := c.lookup(key)
				if !found {
					continue
				}
				dv := c.readValue(key, val)
				if c.fatal != nil {
					it.Close()
					return c.fatal
				}
				rec := Record{DB: dbi, Key: key, Expiry: val.exp, Payload: encodeDump(dv)}
				size += len(rec.Payload) + len(rec.Key)
				if fnErr = fn(rec); fnErr != nil {
					it.Close()
					return nil
				}
			}
			if err := closeIter(it); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return next, fnErr
}
