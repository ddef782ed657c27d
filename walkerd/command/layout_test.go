package command

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// No command builds collections yet, so these tests lay one out in the
// engine directly, through keyspace, as the collection commands will.

// putCollection writes a hash's metadata and one sub-key per field.
func putCollection(t *testing.T, db *engine.DB, dbi int, key string, version uint64, fields map[string]string, exp int64) {
	t.Helper()
	var b engine.Batch
	for f, v := range fields {
		b.Put(keyspace.SubKey(dbi, []byte(key), version, []byte(f)), []byte(v))
	}
	b.PutWithExpiry(keyspace.MetaKey(dbi, []byte(key)), keyspace.AppendCollection(nil, keyspace.Hash, version, int64(len(fields)), nil), exp)
	if err := db.Write(&b); err != nil {
		t.Fatal(err)
	}
}

// subKeys lists the engine's sub-keys of one collection version.
func subKeys(t *testing.T, db *engine.DB, dbi int, key string, version uint64) []string {
	t.Helper()
	p := keyspace.SubPrefix(dbi, []byte(key), version)
	var out []string
	err := db.View(0, func(v *engine.View) error {
		it := v.Iter(engine.IterOptions{Prefix: p, KeysOnly: true})
		for ok := it.First(); ok; ok = it.Next() {
			out = append(out, string(it.Key()[len(p):]))
		}
		return closeIter(it)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func fields(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[fmt.Sprintf("f%03d", i)] = fmt.Sprintf("v%d", i)
	}
	return m
}

func TestLayout_KeyCommandsSeeKeysNeverSubKeys(t *testing.T) {
	a := newApplier(t)
	a.do("SET", "s", "1")
	putCollection(t, a.db, 0, "h", keyspace.NewVersion(1000, 1), fields(50), 0)
	for _, c := range []struct{ cmd, want string }{
		{"DBSIZE", ":2\r\n"},
		{"TYPE h", "+hash\r\n"},
		{"TYPE s", "+string\r\n"},
		{"EXISTS h s nope", ":2\r\n"},
		{"TTL h", ":-1\r\n"},
		{"GET h", "-" + errWrongType + "\r\n"},
		{"STRLEN h", "-" + errWrongType + "\r\n"},
		{"GETRANGE h 0 1", "-" + errWrongType + "\r\n"},
		{"MGET h s", "*2\r\n$-1\r\n$1\r\n1\r\n"},
	} {
		if got := a.read(strings.Fields(c.cmd)...); got != c.want {
			t.Errorf("%s = %q, want %q", c.cmd, got, c.want)
		}
	}
	keys := a.read("KEYS", "*")
	if strings.Count(keys, "\r\nh\r\n") != 1 || !strings.HasPrefix(keys, "*2\r\n") {
		t.Errorf("KEYS * = %q: want h and s once each", keys)
	}
	for typ, want := range map[string][]string{"": {"h", "s"}, "hash": {"h"}, "string": {"s"}, "zset": nil, "nosuchtype": nil} {
		var got []string
		var cursor []byte
		for {
			var tf []byte
			if typ != "" {
				tf = []byte(typ)
			}
			page, next, err := ScanKeys(a.db, 0, a.now, cursor, 1, nil, tf)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range page {
				got = append(got, string(k))
			}
			if next == nil {
				break
			}
			cursor = next
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("SCAN TYPE %q = %q, want %q", typ, got, want)
		}
	}
	if k := a.read("RANDOMKEY"); k != "$1\r\nh\r\n" && k != "$1\r\ns\r\n" {
		t.Errorf("RANDOMKEY = %q", k)
	}
	for _, w := range []string{"INCR h", "APPEND h x", "SETRANGE h 0 x", "GETSET h x", "GETDEL h", "INCRBYFLOAT h 1", "SET h x GET"} {
		if got := a.do(strings.Fields(w)...); got != "-"+errWrongType+"\r\n" {
			t.Errorf("%s = %q, want WRONGTYPE", w, got)
		}
	}
	if got := a.do("GETEX", "h", "PERSIST"); got != "-"+errWrongType+"\r\n" {
		t.Errorf("GETEX h = %q", got)
	}
	// The writes that refused changed nothing.
	if got := a.read("TYPE", "h"); got != "+hash\r\n" {
		t.Fatalf("after WRONGTYPE refusals TYPE h = %q", got)
	}
}

func TestLayout_DeleteIsOneWriteAndTheSweepReclaimsTheElements(t *testing.T) {
	a := newApplier(t)
	v1 := keyspace.NewVersion(1000, 1)
	putCollection(t, a.db, 0, "h", v1, fields(3000), 0)
	putCollection(t, a.db, 5, "live", keyspace.NewVersion(1000, 2), fields(10), 0)
	if dead, _, err := DeadCollections(a.db, a.now, nil, 100); err != nil || len(dead) != 0 {
		t.Fatalf("live collections reported dead: %v %v", dead, err)
	}
	before := a.db.Len()
	seq := a.db.Seq()
	if got := a.do("DEL", "h"); got != ":1\r\n" {
		t.Fatalf("DEL h = %q", got)
	}
	if n := a.db.Len(); n != before-1 {
		t.Fatalf("DEL of a 3000-element collection changed %d engine keys, want the 1 metadata key", before-n)
	}
	if a.db.Seq() != seq+1 {
		t.Fatalf("DEL wrote more than one entry")
	}
	if got := a.read("DBSIZE"); got != ":0\r\n" {
		t.Fatalf("DBSIZE after DEL = %q", got)
	}
	if got := len(subKeys(t, a.db, 0, "h", v1)); got != 3000 {
		t.Fatalf("%d sub-keys left before the sweep, want 3000", got)
	}
	// A new collection under the same key has a version of its own: the
	// old elements are never its elements.
	v2 := keyspace.NewVersion(2000, 1)
	putCollection(t, a.db, 0, "h", v2, fields(2), 0)
	if got := a.do("RENAME", "h", "h2"); got != "+OK\r\n" {
		t.Fatalf("RENAME = %q", got)
	}
	val, _ := a.lookup(0, "h2")
	if got := subKeys(t, a.db, 0, "h2", val.Version); len(got) != 2 {
		t.Fatalf("RENAME copied %d elements, want the live version's 2", len(got))
	}

	// The sweep finds the two dead versions of h (v1 deleted, v2 renamed
	// away) and reclaims them through the log, ReclaimBatch at a time.
	for round := 0; ; round++ {
		dead, _, err := DeadCollections(a.db, a.now, nil, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(dead) == 0 {
			break
		}
		if round > 5 {
			t.Fatalf("still dead after %d rounds: %v", round, dead)
		}
		args := []string{"WALKER.RECLAIM"}
		for _, g := range dead {
			if string(g.Key) != "h" || (g.Version != v1 && g.Version != v2) {
				t.Fatalf("reported dead: %+v", g)
			}
			for _, x := range g.Args() {
				args = append(args, string(x))
			}
		}
		if got := a.do(args...); got == ":0\r\n" || got[0] != ':' {
			t.Fatalf("RECLAIM = %q", got)
		}
	}
	if got := len(subKeys(t, a.db, 0, "h", v1)) + len(subKeys(t, a.db, 0, "h", v2)); got != 0 {
		t.Fatalf("%d dead sub-keys left", got)
	}
	if got := subKeys(t, a.db, 5, "live", keyspace.NewVersion(1000, 2)); len(got) != 10 {
		t.Fatalf("the sweep took %d elements of a live collection", 10-len(got))
	}
	// RECLAIM of a live version deletes nothing, on every node alike.
	if got := a.do("WALKER.RECLAIM", "5", "live", fmt.Sprint(keyspace.NewVersion(1000, 2))); got != ":0\r\n" {
		t.Fatalf("RECLAIM of a live version = %q", got)
	}
}

func TestLayout_ExpiredAndFlushedCollectionsAreDead(t *testing.T) {
	a := newApplier(t)
	putCollection(t, a.db, 1, "exp", keyspace.NewVersion(10, 1), fields(5), a.now+1000)
	putCollection(t, a.db, 2, "flushed", keyspace.NewVersion(10, 2), fields(5), 0)
	if dead, _, _ := DeadCollections(a.db, a.now, nil, 100); len(dead) != 0 {
		t.Fatalf("dead before expiry: %v", dead)
	}
	if dead, _, _ := DeadCollections(a.db, a.now+1000, nil, 100); len(dead) != 1 || string(dead[0].Key) != "exp" {
		t.Fatalf("at expiry: %v", dead)
	}
	a.apply(&Entry{DB: 2, Cmds: [][][]byte{cmd("FLUSHDB")}})
	dead, _, _ := DeadCollections(a.db, a.now, nil, 100)
	if len(dead) != 1 || string(dead[0].Key) != "flushed" || dead[0].DB != 2 {
		t.Fatalf("after FLUSHDB: %v", dead)
	}
	// Expiry, EXPIRE and PERSIST act on the metadata key alone.
	putCollection(t, a.db, 0, "h", keyspace.NewVersion(11, 1), fields(5), 0)
	if got := a.do("EXPIRE", "h", "100"); got != ":1\r\n" {
		t.Fatalf("EXPIRE h = %q", got)
	}
	if got := a.read("TYPE", "h"); got != "+hash\r\n" {
		t.Fatalf("EXPIRE changed the type: %q", got)
	}
	if got := a.do("PERSIST", "h"); got != ":1\r\n" {
		t.Fatalf("PERSIST h = %q", got)
	}
}

// lookup reads a key's metadata as commands do.
func (a *applier) lookup(dbi int, key string) (value, bool) {
	var val value
	var ok bool
	a.db.View(a.now, func(v *engine.View) error {
		c := &ctx{db: a.db, view: v, now: a.now, dbi: dbi}
		val, ok = c.lookup([]byte(key))
		return c.fatal
	})
	return val, ok
}
