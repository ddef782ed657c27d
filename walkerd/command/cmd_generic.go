package command

import (
	"slices"

	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// The generic key commands that work on values of every type: COPY, MOVE,
// SWAPDB, TOUCH and OBJECT here; SORT and SORT_RO in sort.go; DUMP and
// RESTORE in dump.go. RENAME, RENAMENX, TYPE, DEL and the expiry commands
// (cmd_keys.go) already work on every type, through the metadata key and
// copyValue.
func init() {
	gen := func(name string, arity int, flags Flags, cats Category, first, last int, since string,
		parse func([][]byte, int64) (any, error), run func(*ctx, [][]byte, any)) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Cats: CatKeyspace | cats, FirstKey: first, LastKey: last,
			Step: min(first, 1), Group: "generic", Since: since, parse: parse, run: run}
	}
	obj := func(name string, run func(*ctx, [][]byte, any), since string) *Spec {
		return &Spec{Name: name, Arity: 3, Flags: FlagReadonly, Cats: CatKeyspace, FirstKey: 2, LastKey: 2, Step: 1,
			Group: "generic", Since: since, run: run}
	}
	register(
		gen("copy", -3, FlagWrite|FlagDenyOOM, 0, 1, 2, "6.2.0", parseCopy, runCopy),
		gen("move", 3, FlagWrite|FlagFast, 0, 1, 1, "1.0.0", parseMove, runMove),
		&Spec{Name: "swapdb", Arity: 3, Flags: FlagWrite | FlagFast, Cats: CatKeyspace | CatDangerous, Group: "server",
			Since: "4.0.0", parse: parseSwapdb, run: runSwapdb},
		gen("touch", -2, FlagReadonly|FlagFast, 0, 1, -1, "3.2.1", nil, runExists),
		&Spec{Name: "object", Arity: -2, Group: "generic", Since: "2.2.3", Subs: []*Spec{
			obj("encoding", runObjectEncoding, "2.2.3"),
			obj("freq", runObjectFreq, "4.0.0"),
			obj("idletime", runObjectIdletime, "2.2.3"),
			obj("refcount", runObjectRefcount, "2.2.3"),
			// As Redis's: loading and stale, no readonly flag. It reads
			// no data (FlagPure): the server answers it itself, and
			// inside a transaction it runs here.
			{Name: "help", Arity: 2, Flags: FlagPure | FlagLoading | FlagStale, Cats: CatKeyspace, Group: "generic", Since: "6.2.0",
				run: runObjectHelp},
		}},
	)
}

// touchDB records a change of key in database dbi (MOVE, COPY DB and
// SWAPDB change databases other than the current one).
func (c *ctx) touchDB(dbi int, key []byte, event string) {
	if c.tx != nil {
		c.addTouch(Touch{DB: dbi, Key: key, Event: event})
	}
}

// lookupDB is lookup in database dbi.
func (c *ctx) lookupDB(dbi int, key []byte) (value, bool) {
	saved := c.dbi
	c.dbi = dbi
	v, ok := c.lookup(key)
	c.dbi = saved
	return v, ok
}

// copyValueDB writes val, the value of key src in database srcDB, as key
// dst of database dstDB with expiry exp (absolute ms, 0 none): a string's
// metadata as it is; a collection's elements under a new version of dst,
// then its metadata. What dst held before is replaced (a collection's old
// sub-keys are dead from then on). O(N) in the collection's elements.
func (c *ctx) copyValueDB(srcDB int, src []byte, val value, dstDB int, dst []byte, exp int64) {
	if val.Type == keyspace.String {
		c.putRaw(keyspace.MetaKey(dstDB, dst), val.raw, exp)
		return
	}
	ver := c.newVersion()
	p := keyspace.SubPrefix(srcDB, src, val.Version)
	np := keyspace.SubPrefix(dstDB, dst, ver)
	it := c.iterate(p, keyspace.PrefixEnd(p), false)
	for ; it.Valid(); it.Next() {
		elem := it.Key()[len(p):]
		c.putRaw(append(slices.Clone(np), elem...), it.Value(), 0)
	}
	it.close()
	c.putRaw(keyspace.MetaKey(dstDB, dst), keyspace.AppendCollection(nil, val.Type, ver, val.Count, val.Extra), exp)
}

// --- COPY ---

type copyArgs struct {
	db      int // -1: the current database
	replace bool
}

// parseCopy parses COPY's options as db.c's copyCommand does, in order:
// REPLACE, DB n (an integer, then a database index); anything else is a
// syntax error.
func parseCopy(args [][]byte, now int64) (any, error) {
	a := &copyArgs{db: -1}
	for j := 3; j < len(args); j++ {
		additional := len(args) - j - 1
		switch {
		case equalFold(args[j], "replace"):
			a.replace = true
		case equalFold(args[j], "db") && additional >= 1:
			d, err := ParseDB(args[j+1])
			if err != nil {
				return nil, err
			}
			a.db = d
			j++
		default:
			return nil, ErrSyntax
		}
	}
	return a, nil
}

// errSameObject is Redis's shared.sameobjecterr.
const errSameObject = "ERR source and destination objects are the same"

// runCopy copies source to destination (in the DB given, or the current
// one), its expiry included: 1, or 0 when source is missing or
// destination exists without REPLACE.
func runCopy(c *ctx, args [][]byte, p any) {
	a := p.(*copyArgs)
	src, dst := args[1], args[2]
	dstDB := a.db
	if dstDB < 0 {
		dstDB = c.dbi
	}
	if dstDB == c.dbi && string(src) == string(dst) {
		c.r.Error(errSameObject)
		return
	}
	val, ok := c.lookup(src)
	if !ok {
		c.r.Int(0)
		return
	}
	if _, exists := c.lookupDB(dstDB, dst); exists && !a.replace {
		c.r.Int(0)
		return
	}
	c.copyValueDB(c.dbi, src, val, dstDB, dst, val.exp)
	c.touchDB(dstDB, dst, "copy_to")
	c.r.Int(1)
}

// --- MOVE ---

func parseMove(args [][]byte, now int64) (any, error) { return ParseDB(args[2]) }

// runMove moves key to another database, with its expiry: 1, or 0 when
// the key is missing or the target database holds the name already.
func runMove(c *ctx, args [][]byte, p any) {
	dstDB, key := p.(int), args[1]
	if dstDB == c.dbi {
		c.r.Error(errSameObject)
		return
	}
	val, ok := c.lookup(key)
	if !ok {
		c.r.Int(0)
		return
	}
	if _, exists := c.lookupDB(dstDB, key); exists {
		c.r.Int(0)
		return
	}
	c.copyValueDB(c.dbi, key, val, dstDB, key, val.exp)
	c.del(key)
	c.touch(key, "move_from")
	c.touchDB(dstDB, key, "move_to")
	c.r.Int(1)
}

// --- SWAPDB ---

// parseSwapdb parses the two indexes as db.c's swapdbCommand does: each an
// int ("ERR invalid first DB index", "ERR invalid second DB index"), then
// both in range ("ERR DB index is out of range").
func parseSwapdb(args [][]byte, now int64) (any, error) {
	var ids [2]int
	for i, msg := range []Error{"ERR invalid first DB index", "ERR invalid second DB index"} {
		n, ok := ParseInt(args[1+i])
		if !ok || n < -1<<31 || n > 1<<31-1 {
			return nil, msg
		}
		ids[i] = int(n)
	}
	for _, id := range ids {
		if id < 0 || id >= Databases {
			return nil, ErrDBRange
		}
	}
	return ids, nil
}

// dbEntry is one live key of a database, as SWAPDB reads it.
type dbEntry struct {
	key []byte
	val value
}

// dbEntries reads every live key of database dbi with its value and
// expiry, in engine order.
func (c *ctx) dbEntries(dbi int) []dbEntry {
	saved := c.dbi
	c.dbi = dbi
	defer func() { c.dbi = saved }()
	keys := c.userKeys(nil)
	out := make([]dbEntry, 0, len(keys))
	for _, k := range keys {
		if v, ok := c.lookup(k); ok {
			out = append(out, dbEntry{key: k, val: v})
		}
	}
	return out
}

// runSwapdb swaps two databases. Redis swaps two pointers; in WalkerDB a
// database is a range of engine keys, so SWAPDB rewrites every key of both
// databases inside this one log entry: O(N) in the keys of both databases
// plus the elements of their collections, all of it held in the entry's
// write batch. Each key keeps its value and expiry; collections are copied
// under new versions (their old sub-keys are dead, and reclaimed later).
// Clients stay in the database they selected, as in Redis, and see the
// other's keys; WATCHed keys of both databases change version, so their
// transactions abort, as Redis's touchAllWatchedKeysInDb makes them. Both
// databases get a whole-database "swapdb" touch.
func runSwapdb(c *ctx, args [][]byte, p any) {
	ids := p.([2]int)
	d1, d2 := ids[0], ids[1]
	if d1 == d2 {
		c.r.Status("OK")
		return
	}
	a, b := c.dbEntries(d1), c.dbEntries(d2)
	if c.fatal != nil {
		return
	}
	inA := make(map[string]bool, len(a))
	for _, e := range a {
		inA[string(e.key)] = true
	}
	inB := make(map[string]bool, len(b))
	for _, e := range b {
		inB[string(e.key)] = true
	}
	// Collections are read by the version their metadata named, so
	// overwriting metadata first does not disturb what is still to copy.
	for _, e := range a {
		c.copyValueDB(d1, e.key, e.val, d2, e.key, e.val.exp)
	}
	for _, e := range b {
		c.copyValueDB(d2, e.key, e.val, d1, e.key, e.val.exp)
	}
	for _, e := range a {
		if !inB[string(e.key)] {
			c.delRaw(keyspace.MetaKey(d1, e.key))
		}
	}
	for _, e := range b {
		if !inA[string(e.key)] {
			c.delRaw(keyspace.MetaKey(d2, e.key))
		}
	}
	c.touchDB(d1, nil, "swapdb")
	c.touchDB(d2, nil, "swapdb")
	c.r.Status("OK")
}

// --- OBJECT ---

// runObjectEncoding names the encoding Redis 7.0.15 would report for the
// value (encoding.go's stringEncoding and collEncoding); nil for a
// missing key.
func runObjectEncoding(c *ctx, args [][]byte, _ any) {
	val, ok := c.lookup(args[2])
	if !ok {
		c.r.Null()
		return
	}
	if val.Type == keyspace.String {
		c.r.BulkString(stringEncoding(val.Value))
		return
	}
	co, _ := c.openColl(args[2], val.Type)
	enc := c.collEncoding(co)
	if c.fatal != nil {
		return
	}
	c.r.BulkString(enc)
}

// errNoLFU is object.c's reply to OBJECT FREQ when maxmemory-policy is not
// an LFU one; WalkerDB's is always noeviction.
const errNoLFU = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."

// runObjectFreq answers nil for a missing key; errNoLFU unless
// maxmemory-policy is an LFU one, as Redis does; and 0 otherwise.
func runObjectFreq(c *ctx, args [][]byte, _ any) {
	if !c.exists(args[2]) {
		c.r.Null()
		return
	}
	if !lfuPolicy() {
		c.r.Error(errNoLFU)
		return
	}
	// WalkerDB counts no accesses (a read on one node is not seen by
	// another): every key reads as never accessed.
	c.r.Int(0)
}

// runObjectIdletime answers 0 for every existing key (nil for a missing
// one): WalkerDB keeps no LRU clock, reads change nothing, and a value
// read on another node would read differently. 0 is what Redis answers
// for a key just accessed.
func runObjectIdletime(c *ctx, args [][]byte, _ any) {
	if !c.exists(args[2]) {
		c.r.Null()
		return
	}
	c.r.Int(0)
}

// runObjectRefcount answers as Redis does for a value nothing else shares:
// 1, or OBJ_SHARED_REFCOUNT (2147483647) for the integers 0..9999 Redis
// shares (encoding.go's stringRefcount); nil for a missing key.
func runObjectRefcount(c *ctx, args [][]byte, _ any) {
	val, ok := c.lookup(args[2])
	switch {
	case !ok:
		c.r.Null()
	case val.Type == keyspace.String:
		c.r.Int(stringRefcount(val.Value))
	default:
		c.r.Int(1)
	}
}

// objectHelp is OBJECT HELP's reply, line for line as object.c's.
var objectHelp = []string{
	"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"ENCODING <key>",
	"    Return the kind of internal representation used in order to store the value",
	"    associated with a <key>.",
	"FREQ <key>",
	"    Return the access frequency index of the <key>. The returned integer is",
	"    proportional to the logarithm of the recent access frequency of the key.",
	"IDLETIME <key>",
	"    Return the idle time of the <key>, that is the approximated number of",
	"    seconds elapsed since the last access to the key.",
	"REFCOUNT <key>",
	"    Return the number of references of the value associated with the specified",
	"    <key>.",
	"HELP",
	"    Prints this help.",
}

// ObjectHelp returns OBJECT HELP's lines (status replies), for a server
// that answers OBJECT HELP itself.
func ObjectHelp() []string { return slices.Clone(objectHelp) }

func runObjectHelp(c *ctx, args [][]byte, _ any) {
	c.r.Array(len(objectHelp))
	for _, l := range objectHelp {
		c.r.Status(l)
	}
}
