package command

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// The ASK phase of a slot move (walkerd/shard/DESIGN.md, "The ASK phase
// (as built)"): while group S hands slots to group T, S
// keeps serving every key it still holds, and T takes the keys S no
// longer holds. The driver (walkerd/migrate.go) proposes:
//
//	T: WALKER.SLOT IMPORTING s S   T accepts entries for s; only commands
//	                               sent with ASKING are routed to it
//	S: WALKER.SLOT MIGRATING s T   S judges each command for s by its keys
//	S: WALKER.SLOT FREEZE s n      a batch of up to n keys S holds, to copy
//	   (the driver reads the batch from its replica of S and imports it
//	   into T with WALKER.IMPORT)
//	S: WALKER.SLOT RELEASE s id    S deletes the batch: its keys now live in T
//	   ... FREEZE again, until it finds no key; then CLOSE in S and OPEN
//	   in T (owner.go), and the slot is T's
//
// How S judges a command whose keys are in a migrating slot, at apply for
// a write and after the read barrier for a read (cluster.c's
// getNodeByQuery for a MIGRATING slot, with Redis 7.2's rule for keys
// some present and some not):
//
//	every key present       S runs it
//	every key absent        refused, ErrSlotAsk: the server sends it to
//	                        T (cluster mode: -ASK slot T's leader)
//	some of each            -TRYAGAIN Multiple keys request during
//	                        rehashing of slot (7.0 answers ASK, which
//	                        here would let T write a key S still holds);
//	                        a write's keys still in S become Wanted, and
//	                        the next FREEZE takes them first
//	a key of the batch      an entry (a write, a script) is refused for a
//	                        moment, ErrKeyBusy (the server tries it
//	                        again); a read runs
//
// Expired keys count as absent. S never creates a key of a migrating
// slot (a write to an absent key goes to T), so a key absent in S stays
// absent, and each key has one owner at a time: S while it holds it, T
// after. T's copy of a batch lands before S deletes it, and the client
// learns of T only from S's refusal after that delete: what the client
// then runs in T sees the key as S left it.

// ErrSlotAsk begins the refusal of a command whose keys are all absent in
// a slot its group is handing over; the target group's id follows
// (AskGroup). Like ErrSlotMoved it never reaches a client: the server
// answers -ASK or runs the command in that group.
const ErrSlotAsk Error = "TRYAGAIN the keys are not in this Raft group: their hash slot is migrating to group "

// ErrKeyBusy refuses a write to a key of the batch being copied to
// another group; the server tries it again once the batch has moved.
const ErrKeyBusy Error = "TRYAGAIN the key is being copied to another Raft group (slot migration)"

// ErrSlotRehashing is Redis's refusal of a command on keys of a migrating
// slot some of which have moved and some not (cluster.c,
// CLUSTER_REDIR_UNSTABLE); clients retry it.
const ErrSlotRehashing Error = "TRYAGAIN Multiple keys request during rehashing of slot"

// migrationGeneration counts the commits in which a slot began or ended
// moving (IMPORTING, MIGRATING, OPEN, CLOSE), on any group of the node.
var migrationGeneration atomic.Uint64

// MigrationGeneration moves whenever a group of this node commits the
// start or the end of a slot's move: the server then wakes its blocked
// clients, each of which tries again and is asked for in the target when
// its keys are not in the source (server/blocking.go). A batch of keys
// moving does not move it: every blocked client would propose an attempt
// per batch. A client blocked on a key the source held (a stream) and
// released meanwhile is woken at the move's end, as Redis redirects
// blocked clients only when their slot changes hands.
func MigrationGeneration() uint64 { return migrationGeneration.Load() }

// AskGroup returns the group an ErrSlotAsk refusal names.
func AskGroup(msg string) (group string, ok bool) {
	return strings.CutPrefix(msg, string(ErrSlotAsk))
}

// migState is a group's part in slot moves, stored as JSON under
// keyspace.MigrationKey.
type migState struct {
	// Out are the slots this group hands over, each span to its group.
	Out []moveSpan `json:"out,omitempty"`
	// In are the slots this group takes in, each span from its group.
	In []moveSpan `json:"in,omitempty"`
	// FrozenID is the log index of the FREEZE that made the batch Frozen,
	// 0 when none is being copied.
	FrozenID uint64      `json:"frozen_id,omitempty"`
	Frozen   []frozenKey `json:"frozen,omitempty"`
	// Wanted are keys still here that a refused command needs together
	// with keys already moved (ErrSlotRehashing): the next FREEZE takes
	// them first, so the command's retry finds its keys together soon
	// rather than when the slot's order reaches them.
	Wanted []frozenKey `json:"wanted,omitempty"`

	frozen map[string]struct{} // database byte + key, of Frozen
}

type moveSpan struct {
	Start uint16 `json:"start"`
	End   uint16 `json:"end"`
	Group string `json:"group"`
}

type frozenKey struct {
	DB  int    `json:"db"`
	Key []byte `json:"key"`
}

// decodeMig reads a stored migState; nil for none (or an empty one).
func decodeMig(raw []byte) (*migState, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	st := &migState{}
	if err := json.Unmarshal(raw, st); err != nil {
		return nil, err
	}
	return st.index(), nil
}

// index builds the frozen set; nil for a state with nothing in it.
func (st *migState) index() *migState {
	if st.empty() {
		return nil
	}
	st.frozen = make(map[string]struct{}, len(st.Frozen))
	for _, f := range st.Frozen {
		st.frozen[frozenName(f.DB, f.Key)] = struct{}{}
	}
	return st
}

func (st *migState) empty() bool {
	return st == nil || len(st.Out) == 0 && len(st.In) == 0 && len(st.Frozen) == 0
}

func frozenName(db int, key []byte) string { return string(byte(db)) + string(key) }

// movingTo is the group slot s is handed to, "" when it is not.
func (st *migState) movingTo(s uint16) string {
	if st == nil {
		return ""
	}
	for _, sp := range st.Out {
		if sp.Start <= s && s <= sp.End {
			return sp.Group
		}
	}
	return ""
}

// importing reports whether this group takes slot s in.
func (st *migState) importing(s uint16) bool {
	if st == nil {
		return false
	}
	for _, sp := range st.In {
		if sp.Start <= s && s <= sp.End {
			return true
		}
	}
	return false
}

func (st *migState) isFrozen(db int, key []byte) bool {
	if st == nil || len(st.frozen) == 0 {
		return false
	}
	_, ok := st.frozen[frozenName(db, key)]
	return ok
}

// judgeKeys decides how a group runs a command (or transaction) on keys
// in database db (the package comment's table): "" to run it, else the
// refusal. served says whether the group serves a slot; present, whether
// a key is live; write, whether the command writes (a read of a key of
// the batch runs).
func judgeKeys(served func(uint16) bool, st *migState, keys [][]byte, db int, write bool, present func([]byte) bool) string {
	var in, out int
	to := ""
	for _, key := range keys {
		s := keyspace.Slot(key)
		if !served(s) {
			if st.importing(s) {
				continue
			}
			return string(ErrSlotMoved)
		}
		g := st.movingTo(s)
		if g == "" {
			continue
		}
		if write && st.isFrozen(db, key) {
			return string(ErrKeyBusy)
		}
		if present(key) {
			in++
		} else {
			out, to = out+1, g
		}
	}
	switch {
	case in > 0 && out > 0:
		return string(ErrSlotRehashing)
	case out > 0:
		return string(ErrSlotAsk) + to
	}
	return ""
}

// refusal judges the commands of an entry (all of a transaction's, or one
// of a pipeline's) as of the entries applied so far: "" to run them.
func (a *Applier) refusal(o *owner, cmds [][][]byte) string {
	if o == nil {
		return ""
	}
	cur := o.load(a.db)
	bits, st := cur.bits, cur.mig
	if a.tx.slots != nil {
		bits = a.tx.slots
	}
	if a.tx.mig != nil {
		st = a.tx.mig
		if st.empty() {
			st = nil
		}
	}
	var keys [][]byte
	for _, args := range cmds {
		k := SpecOf(args)
		if k == nil || !ArityOK(k.Arity, len(args)) {
			continue // the command answers its own error
		}
		if ks := EntryKeys(k, args); keys == nil {
			keys = ks // one command: its own slice
		} else {
			keys = append(keys, ks...)
		}
	}
	if st == nil { // no move under way: the served set decides alone
		for _, key := range keys {
			if !o.inBits(bits, keyspace.Slot(key)) {
				return string(ErrSlotMoved)
			}
		}
		return ""
	}
	served := func(s uint16) bool { return o.inBits(bits, s) }
	c := &a.c
	present := func(key []byte) bool {
		_, ok := c.metaRaw(c.metaKey(key))
		return ok
	}
	// Every entry may write, whatever its flags: a script (EVAL, FCALL)
	// is not flagged a write, and one that wrote a key of the batch after
	// the batch was read would lose that write (a tester's EVAL of two
	// INCRs lost one).
	msg := judgeKeys(served, st, keys, c.dbi, true, present)
	if msg == string(ErrSlotRehashing) {
		c.want(st, keys, present)
	}
	return msg
}

// maxWanted bounds the keys a group keeps wanted.
const maxWanted = 4096

// want records the keys of a refused command that are still here, in
// slots moving out, as Wanted (in the entry's writes: every replica
// records the same).
func (c *ctx) want(st *migState, keys [][]byte, present func([]byte) bool) {
	next := c.migNow()
	added := false
	for _, key := range keys {
		if st.movingTo(keyspace.Slot(key)) == "" || !present(key) || len(next.Wanted) >= maxWanted {
			continue
		}
		fk := frozenKey{DB: c.dbi, Key: bytes.Clone(key)}
		if !slices.ContainsFunc(next.Wanted, func(w frozenKey) bool { return w.DB == fk.DB && bytes.Equal(w.Key, fk.Key) }) {
			next.Wanted, added = append(next.Wanted, fk), true
		}
	}
	if added {
		c.setMig(next)
	}
}

// ReadRefusal judges a read of keys in database dbi of db's group at time
// now, as apply judges a write: "" when the group serves it, else the
// refusal (ErrSlotMoved, ErrSlotAsk and a group, ErrSlotRehashing).
// moving reports that a key's slot is migrating: a RELEASE applied
// between this check and the read may delete a key the read then misses,
// so the caller checks again after the read and reads again elsewhere if
// the answer changed (a key absent in S never comes back, so "present
// after" means present during).
func ReadRefusal(db *engine.DB, dbi int, now int64, keys [][]byte) (refusal string, moving bool) {
	o := ownerOf(db)
	if o == nil {
		return "", false
	}
	cur := o.load(db)
	c := &ctx{db: db, now: now, dbi: dbi}
	for _, key := range keys {
		if cur.mig.movingTo(keyspace.Slot(key)) != "" {
			moving = true
		}
	}
	return judgeKeys(func(s uint16) bool { return o.owns(db, s) }, cur.mig, keys, dbi, false, func(key []byte) bool {
		_, ok := c.metaRaw(c.metaKey(key))
		return ok
	}), moving
}

// Importing reports whether db's group takes slot in from another group
// (IMPORTING, not yet OPEN): a command sent with ASKING runs there.
func Importing(db *engine.DB, slot uint16) bool {
	o := ownerOf(db)
	return o != nil && o.load(db).mig.importing(slot)
}

// FrozenBatch is the id (the FREEZE's log index) of the batch db's group
// is copying out as its engine has applied it, 0 for none.
func FrozenBatch(db *engine.DB) uint64 {
	o := ownerOf(db)
	if o == nil {
		return 0
	}
	if st := o.load(db).mig; st != nil {
		return st.FrozenID
	}
	return 0
}

// DumpFrozen reads the keys of the batch id that db's group is copying
// out, in one engine View, and hands each to fn with its DUMP payload and
// absolute expiry, as DumpSlots does. It fails when the engine's state
// holds another batch (or none): the batch was moved by someone else.
func DumpFrozen(db *engine.DB, now int64, id uint64, fn func(Record) error) error {
	return db.View(now, func(v *engine.View) error {
		raw, _, err := v.Get(keyspace.MigrationKey)
		if err != nil && !errors.Is(err, engine.ErrNotFound) {
			return err
		}
		st, err := decodeMig(raw)
		if err != nil {
			return err
		}
		if st == nil || st.FrozenID != id {
			return errors.New("command: batch " + strconv.FormatUint(id, 10) + " is not being copied from this group")
		}
		for _, f := range st.Frozen {
			c := &ctx{db: db, now: now, dbi: f.DB, view: v, r: &Recorder{}}
			val, found := c.lookup(f.Key)
			if c.fatal != nil {
				return c.fatal
			}
			if !found {
				continue
			}
			dv := c.readValue(f.Key, val)
			if c.fatal != nil {
				return c.fatal
			}
			if err := fn(Record{DB: f.DB, Key: f.Key, Expiry: val.exp, Payload: encodeDump(dv)}); err != nil {
				return err
			}
		}
		return nil
	})
}

// migNow is the group's migration state as this entry sees it.
func (c *ctx) migNow() *migState {
	if c.tx.mig != nil {
		return cloneMig(c.tx.mig)
	}
	raw, _, _ := c.getRaw(keyspace.MigrationKey)
	st, err := decodeMig(raw)
	if err != nil {
		c.fail(err)
	}
	if st == nil {
		return &migState{}
	}
	return cloneMig(st)
}

func cloneMig(st *migState) *migState {
	return &migState{Out: slices.Clone(st.Out), In: slices.Clone(st.In), FrozenID: st.FrozenID, Frozen: slices.Clone(st.Frozen), Wanted: slices.Clone(st.Wanted)}
}

// setMig stores st; Applier.Commit hands it to the owner.
func (c *ctx) setMig(st *migState) {
	if st.index() == nil {
		c.delRaw(keyspace.MigrationKey)
		c.tx.mig = &migState{}
		return
	}
	raw, err := json.Marshal(st)
	if err != nil {
		c.fail(err)
		return
	}
	c.putRaw(keyspace.MigrationKey, raw, 0)
	c.tx.mig = st
}

// addSpan adds a span once.
func addSpan(spans []moveSpan, sp moveSpan) ([]moveSpan, bool) {
	if slices.Contains(spans, sp) {
		return spans, false
	}
	return append(spans, sp), true
}

// dropSpans removes the spans inside start..end.
func dropSpans(spans []moveSpan, start, end uint16) []moveSpan {
	return slices.DeleteFunc(spans, func(sp moveSpan) bool { return sp.Start >= start && sp.End <= end })
}

// runSlotMove carries out WALKER.SLOT IMPORTING, MIGRATING, FREEZE and
// RELEASE (owner.go lists them); it reports false for another
// subcommand.
//
//	IMPORTING <slots> <from> <fence>   answers 1 (0: already)
//	MIGRATING <slots> <to> <fence>     answers 1 (0: already)
//	FREEZE <slots> <count> <fence>     answers [id, keys]: the batch being
//	                                   copied, or a new one of up to count
//	                                   keys; [0, 0] when none is left
//	RELEASE <slots> <id> <fence>       deletes batch id: answers its keys
func (c *ctx) runSlotMove(o *owner, args [][]byte, start, end uint16) bool {
	sub := strings.ToLower(string(args[1]))
	switch sub {
	case "importing", "migrating", "freeze", "release":
	default:
		return false
	}
	if len(args) != 5 {
		c.r.Error(errSlotArgs)
		return true
	}
	bits := c.servedBits(o)
	served := func(s int) bool { return bits[s/8]&(1<<(s%8)) != 0 }
	var n uint64
	if sub == "freeze" || sub == "release" {
		var err error
		if n, err = strconv.ParseUint(string(args[3]), 10, 64); err != nil || sub == "freeze" && n == 0 {
			c.r.Error(errSlotArgs)
			return true
		}
	}
	if !c.fenced(args[4]) {
		return true
	}
	st := c.migNow()
	switch sub {
	case "importing", "migrating":
		// IMPORTING takes in slots the group does not serve, MIGRATING
		// hands over slots it serves.
		in := sub == "importing"
		for x := int(start); x <= int(end); x++ {
			if served(x) == in {
				c.r.Error("ERR hash slot " + strconv.Itoa(x) + " " + map[bool]string{true: servedText, false: notServedText}[in])
				return true
			}
		}
		spans := &st.Out
		if in {
			spans = &st.In
		}
		var added bool
		*spans, added = addSpan(*spans, moveSpan{start, end, string(args[3])})
		if added {
			c.setMig(st)
			c.tx.spansChanged = true
		}
		c.r.Int(b2i(added))
	case "freeze":
		if st.movingTo(start) == "" {
			c.r.Error("ERR hash slot " + strconv.Itoa(int(start)) + " is not migrating")
			return true
		}
		if st.FrozenID == 0 {
			st.Frozen, st.Wanted = c.pickBatch(start, end, int(n), st.Wanted)
			if len(st.Frozen) > 0 {
				st.FrozenID = c.index
			}
			c.setMig(st)
		}
		c.r.Array(2)
		c.r.Int(int64(st.FrozenID))
		c.r.Int(int64(len(st.Frozen)))
	case "release":
		if st.FrozenID == 0 || st.FrozenID != n {
			c.r.Int(0) // released already
			return true
		}
		home := c.dbi
		deleted := 0
		for _, f := range st.Frozen {
			c.dbi = f.DB
			if c.exists(f.Key) {
				c.del(f.Key)
				deleted++
			}
		}
		c.dbi = home
		st.FrozenID, st.Frozen = 0, nil
		c.setMig(st)
		c.r.Int(int64(deleted))
	}
	return true
}

// freezeBytes bounds the values one FREEZE takes (their stored size: a
// collection's metadata only), besides the count the driver asks for.
const freezeBytes = 1 << 20

// pickBatch lists up to count live keys of slots start..end, every
// database: first the wanted ones (those still live and in the slots),
// then the others in engine order. It returns the wanted keys it left.
func (c *ctx) pickBatch(start, end uint16, count int, wanted []frozenKey) (batch, left []frozenKey) {
	size := 0
	home := c.dbi
	defer func() { c.dbi = home }()
	taken := map[string]bool{}
	live := func(db int, key []byte) (int, bool) {
		c.dbi = db
		m, ok := c.metaRaw(c.metaKey(key))
		return m.ValueLen, ok
	}
	for _, w := range wanted {
		s := keyspace.Slot(w.Key)
		n, ok := live(w.DB, w.Key)
		switch {
		case s < start || s > end || !ok || taken[frozenName(w.DB, w.Key)]:
		case len(batch) < count && size < freezeBytes:
			batch = append(batch, w)
			taken[frozenName(w.DB, w.Key)] = true
			size += n + len(w.Key)
		default:
			left = append(left, w)
		}
	}
	for db := 0; db < Databases && len(batch) < count && size < freezeBytes; db++ {
		c.dbi = db
		r := slotRanges(db, start, end)[0]
		it := c.iterate(r[0], r[1], false)
		for ; it.Valid() && len(batch) < count && size < freezeBytes; it.Next() {
			_, key, _ := keyspace.SplitMeta(it.Key())
			if taken[frozenName(db, key)] {
				continue
			}
			if m, ok := c.metaRaw(it.Key()); ok {
				batch = append(batch, frozenKey{DB: db, Key: bytes.Clone(key)})
				size += m.ValueLen + len(key)
			}
		}
		it.close()
	}
	return batch, left
}

// notServedText is in the refusal of MIGRATING for a slot the group does
// not serve (closed already).
const notServedText = "is not served by this group"
