package command

import (
	"strconv"
	"strings"
	"testing"
)

// The ASK phase, as the driver runs it: the target takes a migrating slot
// in, the source keeps serving the keys it holds and refuses the others
// (ask the target; some of each: TRYAGAIN), a frozen batch refuses writes
// but serves reads, and each released batch sends its keys to the target;
// the state outlives the owner's cache, and CLOSE and OPEN end it.
func TestSlotMigration_AskPhase(t *testing.T) {
	src, dst := newApplier(t), newApplier(t)
	dst.index = 1000
	const slot = 100
	SetOwner(src.db.Dir(), func(s uint16) bool { return s < 8192 })
	SetOwner(dst.db.Dir(), func(s uint16) bool { return s >= 8192 })
	t.Cleanup(func() { SetOwner(src.db.Dir(), nil); SetOwner(dst.db.Dir(), nil) })
	a, b, c, first := keyInSlot(slot, "a"), keyInSlot(slot, "b"), keyInSlot(slot, "c"), keyInSlot(slot, "0")
	src.do("set", a, "1")
	src.do("hset", b, "f", "v")
	src.do("set", first, "first in the slot's order")
	ask := "-" + string(ErrSlotAsk) + "g2\r\n"
	moved := "-" + string(ErrSlotMoved) + "\r\n"
	busy := "-" + string(ErrKeyBusy) + "\r\n"
	rehashing := "-" + string(ErrSlotRehashing) + "\r\n"
	readRefusal := func(key string) string {
		msg, _ := ReadRefusal(src.db, 0, src.now, [][]byte{[]byte(key)})
		return msg
	}

	if got := dst.do("set", c, "early"); got != moved {
		t.Fatalf("a write to the target before IMPORTING: %q", got)
	}
	if got := dst.do("walker.slot", "importing", "100", "g1", "1"); got != ":1\r\n" {
		t.Fatalf("importing: %q", got)
	}
	if got := dst.do("walker.slot", "importing", "9000", "g1", "1"); !strings.Contains(got, servedText) {
		t.Fatalf("importing a slot the group serves: %q", got)
	}
	if !Importing(dst.db, slot) || Importing(src.db, slot) {
		t.Fatal("Importing disagrees with IMPORTING")
	}
	if got := src.do("walker.slot", "migrating", "100", "g2", "1"); got != ":1\r\n" {
		t.Fatalf("migrating: %q", got)
	}
	if got := src.do("walker.slot", "migrating", "100", "g2", "1"); got != ":0\r\n" {
		t.Fatalf("migrating again: %q", got)
	}
	if got := src.do("walker.slot", "migrating", "9000", "g2", "1"); !strings.Contains(got, notServedText) {
		t.Fatalf("migrating a slot the group does not serve: %q", got)
	}

	// Keys held run here; absent ones are asked for in g2; both: TRYAGAIN.
	if got := src.do("incr", a); got != ":2\r\n" {
		t.Fatalf("a write to a key the source holds: %q", got)
	}
	if got := src.do("set", c, "new"); got != ask {
		t.Fatalf("a write creating a key in a migrating slot: %q", got)
	}
	if g, ok := AskGroup(string(ErrSlotAsk) + "g2"); !ok || g != "g2" {
		t.Fatalf("AskGroup = %q %v", g, ok)
	}
	if got := src.do("mset", a, "x", c, "y"); got != rehashing {
		t.Fatalf("a write to a present and an absent key: %q", got)
	}
	if got := src.apply(&Entry{Exec: true, Cmds: [][][]byte{cmd("get", a), cmd("set", c, "1")}}); got != rehashing {
		t.Fatalf("a transaction on a present and an absent key: %q", got)
	}
	if msg := readRefusal(a); msg != "" {
		t.Fatalf("a read of a held key: %q", msg)
	}
	if msg := readRefusal(c); msg != string(ErrSlotAsk)+"g2" {
		t.Fatalf("a read of an absent key: %q", msg)
	}
	// The target runs what is sent to it, scripts included.
	if got := dst.do("set", c, "new"); got != "+OK\r\n" {
		t.Fatalf("a write to the importing target: %q", got)
	}
	if got := dst.do("eval", "return redis.call('append', KEYS[1], '!')", "1", c); got != ":4\r\n" {
		t.Fatalf("a script in the importing target: %q", got)
	}
	dst.do("set", c, "new")

	// Freeze, copy and release batches of one key until none is left.
	// The first is the key the refused MSET and MULTI wanted, not the
	// first in the slot's order.
	moveds := map[string]bool{}
	for round := 0; ; round++ {
		got := src.do("walker.slot", "freeze", "100", "1", "1")
		if got == "*2\r\n:0\r\n:0\r\n" {
			break
		}
		if round == 3 {
			t.Fatalf("a fourth batch: %q", got)
		}
		f := strings.Split(got, "\r\n")
		id, _ := strconv.ParseUint(strings.TrimPrefix(f[1], ":"), 10, 64)
		if f[2] != ":1" || id == 0 || FrozenBatch(src.db) != id {
			t.Fatalf("freeze: %q (FrozenBatch %d)", got, FrozenBatch(src.db))
		}
		if again := src.do("walker.slot", "freeze", "100", "1", "1"); again != got {
			t.Fatalf("freeze while a batch is out: %q, want %q", again, got)
		}
		var args []string
		err := DumpFrozen(src.db, src.now, id, func(r Record) error {
			args = append(args, strconv.Itoa(r.DB), string(r.Key), strconv.FormatInt(r.Expiry, 10), string(r.Payload))
			return nil
		})
		if err != nil || len(args) != 4 {
			t.Fatalf("DumpFrozen: %v, %d args", err, len(args))
		}
		key := args[1]
		if round == 0 && key != a {
			t.Fatalf("the first batch is %s, not the wanted %s", key, a)
		}
		moveds[key] = true
		if got := src.do("set", key, "z"); got != busy {
			t.Fatalf("a write to a frozen key: %q", got)
		}
		if msg := readRefusal(key); msg != "" {
			t.Fatalf("a read of a frozen key: %q", msg)
		}
		// A script is not flagged a write, but may write: it waits too.
		if got := src.do("eval", "return redis.call('set', KEYS[1], 'lua')", "1", key); got != busy {
			t.Fatalf("a script on a frozen key: %q", got)
		}
		if got := dst.do(append([]string{"walker.import", "1"}, args...)...); got != ":1\r\n" {
			t.Fatalf("import: %q", got)
		}
		if got := src.do("walker.slot", "release", "100", strconv.FormatUint(id, 10), "0"); got != "-"+string(ErrStaleStep)+"\r\n" {
			t.Fatalf("a release from an older driver: %q", got)
		}
		if got := src.do("walker.slot", "release", "100", strconv.FormatUint(id, 10), "1"); got != ":1\r\n" {
			t.Fatalf("release: %q", got)
		}
		if got := src.do("walker.slot", "release", "100", strconv.FormatUint(id, 10), "1"); got != ":0\r\n" {
			t.Fatalf("release again: %q", got)
		}
		if got := src.do("set", key, "z"); got != ask {
			t.Fatalf("a write to a released key: %q", got)
		}
		ownerOf(src.db).cur.Store(nil) // the state is read back from the engine
		if msg := readRefusal(key); msg != string(ErrSlotAsk)+"g2" {
			t.Fatalf("a read of a released key after a reload: %q", msg)
		}
	}
	if !moveds[a] || !moveds[b] || !moveds[first] {
		t.Fatalf("moved %v, want %s, %s and %s", moveds, a, b, first)
	}
	if got := dst.read("get", a); got != "$1\r\n2\r\n" {
		t.Fatalf("the target's copy of %s: %q", a, got)
	}
	if got := dst.read("hget", b, "f"); got != "$1\r\nv\r\n" {
		t.Fatalf("the target's copy of %s: %q", b, got)
	}

	// The cut-over ends both sides' part.
	src.do("walker.slot", "close", "100", "1")
	dst.do("walker.slot", "open", "100", "1")
	if got := src.do("set", c, "x"); got != moved {
		t.Fatalf("a write to the source after CLOSE: %q", got)
	}
	if Importing(dst.db, slot) || FrozenBatch(src.db) != 0 {
		t.Fatal("the move's state outlived CLOSE and OPEN")
	}
	if got := dst.do("append", c, "!"); got != ":4\r\n" {
		t.Fatalf("the target after OPEN: %q", got)
	}
	for _, db := range []*applier{src, dst} {
		if raw, _ := internalValue(db.db, []byte{0xFF, 'x'}); raw != nil {
			t.Fatalf("the migration state is still stored: %s", raw)
		}
	}
}
