package command

import (
	"strconv"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// keyInSlot returns a key of hash slot slot, made from prefix.
func keyInSlot(slot uint16, prefix string) string {
	for i := 0; ; i++ {
		k := prefix + strconv.Itoa(i)
		if keyspace.Slot([]byte(k)) == slot {
			return k
		}
	}
}

// A slot moves between two groups as the migration driver moves it: the
// source closes it and refuses its keys at apply (a transaction whole, a
// pipeline's command alone), every key is dumped and imported into the
// target with its type, elements and expiry, the target opens it, and the
// source drops its records in bounded batches.
func TestSlotMigration_CloseImportOpenDrop(t *testing.T) {
	src, dst := newApplier(t), newApplier(t)
	dst.index = 1000 // the target's log is not the source's
	const slot = 100
	// The source serves slots 0..8191, the target the rest.
	SetOwner(src.db.Dir(), func(s uint16) bool { return s < 8192 })
	SetOwner(dst.db.Dir(), func(s uint16) bool { return s >= 8192 })
	t.Cleanup(func() { SetOwner(src.db.Dir(), nil); SetOwner(dst.db.Dir(), nil) })

	h, z, s, l, str, other := keyInSlot(slot, "h"), keyInSlot(slot, "z"), keyInSlot(slot, "s"), keyInSlot(slot, "l"), keyInSlot(slot, "str"), keyInSlot(101, "o")
	for _, c := range [][]string{
		{"hset", h, "f1", "v1", "f2", "v2"},
		{"zadd", z, "1.5", "a", "-inf", "b"},
		{"sadd", s, "x", "y"},
		{"rpush", l, "1", "2", "3"},
		{"set", str, "v", "px", "100000"},
		{"set", other, "o"},
	} {
		if got := src.do(c...); strings.HasPrefix(got, "-") {
			t.Fatalf("%v: %q", c, got)
		}
	}
	src.apply(&Entry{DB: 3, Cmds: [][][]byte{cmd("set", str, "in db 3")}})
	dead := keyInSlot(slot, "dead")
	src.do("sadd", dead, "a", "b")
	src.do("del", dead) // its sub-keys stay behind its version until reclaimed

	if got := src.do("walker.slot", "close", strconv.Itoa(slot), "1"); got != ":1\r\n" {
		t.Fatalf("close: %q", got)
	}
	if got := src.do("walker.slot", "close", strconv.Itoa(slot), "1"); got != ":0\r\n" {
		t.Fatalf("close again: %q", got)
	}
	moved := "-" + string(ErrSlotMoved) + "\r\n"
	if got := src.do("incr", str); got != moved {
		t.Fatalf("write to a closed slot: %q", got)
	}
	if got := src.apply(&Entry{Exec: true, Cmds: [][][]byte{cmd("set", other, "2"), cmd("set", str, "2")}}); got != moved {
		t.Fatalf("a transaction touching a closed slot: %q", got)
	}
	if got := src.apply(&Entry{Cmds: [][][]byte{cmd("set", other, "3"), cmd("set", str, "3")}}); got != "+OK\r\n" {
		t.Fatalf("a pipeline's first command: %q", got) // render shows the first reply
	}
	if got := src.read("get", other); got != "$1\r\n3\r\n" {
		t.Fatalf("the open slot's write of the pipeline: %q", got)
	}
	if !Owns(src.db, 101) || Owns(src.db, slot) || !Owns(dst.db, 9000) || Owns(dst.db, slot) {
		t.Fatal("Owns disagrees with the layouts and the close")
	}

	// Dump the closed slot from the source and import it into the target.
	// Read in calls of one key each (max 1 byte): the cursor goes on
	// through the databases.
	var args []string
	n, calls := 0, 0
	var from []byte
	for {
		next, err := DumpSlots(src.db, src.now, slot, slot, from, 1, func(r Record) error {
			args = append(args, strconv.Itoa(r.DB), string(r.Key), strconv.FormatInt(r.Expiry, 10), string(r.Payload))
			n++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		calls++
		if from = next; next == nil {
			break
		}
	}
	if n != 6 || calls != 6 {
		t.Fatalf("DumpSlots: %d records in %d calls", n, calls)
	}
	if got := dst.do(append([]string{"walker.import", "1"}, args...)...); got != ":6\r\n" {
		t.Fatalf("import: %q", got)
	}
	if got := dst.do(append([]string{"walker.import", "1"}, args...)...); got != ":6\r\n" {
		t.Fatalf("an import repeated (a resumed move): %q", got)
	}
	if got := dst.do("walker.slot", "open", strconv.Itoa(slot), "1"); got != ":1\r\n" {
		t.Fatalf("open: %q", got)
	}
	// A deposed driver's steps: refused once a newer one's applied, and
	// an import into a served slot whatever its fence.
	if got := dst.do("walker.slot", "close", "9000", "2"); got != ":1\r\n" {
		t.Fatalf("a newer driver's step: %q", got)
	}
	if got := dst.do("walker.slot", "drop", strconv.Itoa(slot), "10", "1"); got != "-"+string(ErrStaleStep)+"\r\n" {
		t.Fatalf("a stale driver's drop: %q", got)
	}
	if got := dst.do(append([]string{"walker.import", "3"}, args...)...); !strings.HasPrefix(got, "-ERR hash slot 100 is served by this group") {
		t.Fatalf("an import into a served slot: %q", got)
	}
	dst.do("walker.slot", "open", "9000", "2")
	if !Owns(dst.db, slot) {
		t.Fatal("the target does not serve the slot it opened")
	}
	for _, c := range [][]string{{"hgetall", h}, {"zrange", z, "0", "-1", "withscores"}, {"smembers", s}, {"lrange", l, "0", "-1"}, {"get", str}, {"pexpiretime", str}, {"pexpiretime", h}} {
		if a, b := src.read(c...), dst.read(c...); a != b {
			t.Errorf("%v: source %q, target %q", c, a, b)
		}
	}
	if got := read(dst.db, 3, dst.now, cmd("get", str)); got != "$7\r\nin db 3\r\n" {
		t.Errorf("database 3's key: %q", got)
	}
	// The target made its own versions: its index space, not the source's.
	if got := dst.do("hset", h, "f4", "v4"); got != ":1\r\n" {
		t.Fatalf("write to the imported hash: %q", got)
	}
	if got := dst.read("hlen", h); got != ":3\r\n" {
		t.Fatalf("hlen after import: %q", got)
	}

	// The source drops the slot in batches, and never a served one.
	if got := src.do("walker.slot", "drop", "101", "10", "1"); !strings.HasPrefix(got, "-ERR hash slot 101 is served") {
		t.Fatalf("drop of a served slot: %q", got)
	}
	total := 0
	for {
		got := src.do("walker.slot", "drop", strconv.Itoa(slot), "4", "1")
		c, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(got, ":"), "\r\n"))
		if err != nil || c > 4 {
			t.Fatalf("drop: %q", got)
		}
		if c == 0 {
			break
		}
		total += c
	}
	// 6 metadata keys; 2 hash fields, 4 zset sub-keys, 2 set members, 3
	// list elements, and the deleted set's 2 dead members.
	if total != 6+2+4+2+3+2 {
		t.Errorf("dropped %d records", total)
	}
	if out := dump(t, src.db); strings.Contains(out, h) || !strings.Contains(out, other) {
		t.Errorf("after the drop the source holds:\n%s", out)
	}
	// Ranges: CLOSE and OPEN answer how many slots changed.
	if got := src.do("walker.slot", "close", "5-9", "1"); got != ":5\r\n" {
		t.Fatalf("close 5-9: %q", got)
	}
	if got := src.do("walker.slot", "close", "7-12", "1"); got != ":3\r\n" {
		t.Fatalf("close 7-12: %q", got)
	}
	if Owns(src.db, 4) == false || Owns(src.db, 12) || !Owns(src.db, 13) {
		t.Fatal("a closed range's bounds")
	}
	if got := src.do("walker.slot", "drop", "5-12", "10", "1"); got != ":0\r\n" {
		t.Fatalf("drop of an empty closed range: %q", got)
	}
	if got := src.do("walker.slot", "close", "9-5", "1"); !strings.HasPrefix(got, "-ERR syntax error") {
		t.Fatalf("close 9-5: %q", got)
	}
	// And the slot can come back: closed in the target, opened in the source.
	dst.do("walker.slot", "close", strconv.Itoa(slot), "2")
	src.do("walker.slot", "open", strconv.Itoa(slot), "1")
	if !Owns(src.db, slot) || Owns(dst.db, slot) {
		t.Fatal("the slot did not move back")
	}
}

// The served set is replicated state: a node that opens the engine again
// (a restart, a snapshot restore) reads it from the engine, not from the
// layout; and an entry applied in the same batch as the close is refused.
func TestSlotMigration_OwnershipSurvivesReopenAndHoldsWithinABatch(t *testing.T) {
	a := newApplier(t)
	SetOwner(a.db.Dir(), func(uint16) bool { return true })
	t.Cleanup(func() { SetOwner(a.db.Dir(), nil) })
	k := keyInSlot(7, "k")
	ap := NewApplier(a.db)
	if res, _ := ap.Apply(1, &Entry{NowMs: a.now, Cmds: [][][]byte{cmd("walker.slot", "close", "7", "1")}}); res.Error != "" {
		t.Fatal(res.Error)
	}
	res, _ := ap.Apply(2, &Entry{NowMs: a.now, Cmds: [][][]byte{cmd("set", k, "v")}})
	if res.Error != string(ErrSlotMoved) {
		t.Fatalf("a write after the close in the same batch: %+v", res)
	}
	if err := ap.Commit(); err != nil {
		t.Fatal(err)
	}
	o := ownerOf(a.db)
	o.cur.Store(nil) // forget the cache: read from the engine again
	if Owns(a.db, 7) || !Owns(a.db, 8) {
		t.Fatal("the engine's served set was not read back")
	}
}
