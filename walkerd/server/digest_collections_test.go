package server

import (
	"strconv"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// digestCollEntries are log entries writing every collection type whose
// commands walkerd has (command.Lookup): pushes at both ends and pops,
// removals, a sorted set's score updates, deletes and overwrites (dead
// versions), a TTL, MULTI/EXEC, several databases.
func digestCollEntries(now int64) []*command.Entry {
	var es []*command.Entry
	cmd := func(args ...string) [][]byte {
		bs := make([][]byte, len(args))
		for i, a := range args {
			bs[i] = []byte(a)
		}
		return bs
	}
	add := func(db int, args ...string) {
		if command.Lookup([]byte(args[0])) != nil {
			es = append(es, &command.Entry{NowMs: now, DB: db, Cmds: [][][]byte{cmd(args...)}})
		}
	}
	for i := range 40 {
		n := strconv.Itoa(i)
		db := i % 3
		add(db, "HSET", "h", "f"+n, "v"+n, "g"+n, "w")
		add(db, "RPUSH", "l", "r"+n)
		add(db, "LPUSH", "l", "l"+n)
		add(db, "SADD", "s", "m"+n, "x")
		add(db, "ZADD", "z", strconv.Itoa(i%7), "z"+n, "-inf", "low")
		switch i % 10 {
		case 3:
			add(db, "HDEL", "h", "g"+n)
			add(db, "LPOP", "l")
			add(db, "SREM", "s", "m1")
			add(db, "ZINCRBY", "z", "2.5", "z1")
		case 5:
			add(db, "DEL", "s") // the set's sub-keys are dead from here
			add(db, "SET", "l", "overwritten")
			add(db, "DEL", "l")
		case 7:
			add(db, "PEXPIRE", "h", "100000000")
		}
	}
	if command.Lookup([]byte("rpush")) != nil && command.Lookup([]byte("hset")) != nil {
		es = append(es, &command.Entry{NowMs: now, DB: 4, Exec: true, Cmds: [][][]byte{cmd("RPUSH", "tl", "a", "b"), cmd("HSET", "th", "f", "v")}})
	}
	return es
}

// Two nodes that apply the same log hold the same collections, sub-keys
// and versions included, whatever batches their state machines applied
// the log in: WALKER.DIGEST agrees. A changed element, a sub-key of a
// dead version, or a changed list head shows.
func TestDigest_CollectionWritesAgreeAcrossNodes(t *testing.T) {
	if command.Lookup([]byte("hset")) == nil {
		t.Skip("no collection commands yet")
	}
	open := func() *engine.DB {
		db, err := engine.Open(t.TempDir(), &engine.Options{Sync: engine.SyncNo})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b := open(), open()
	entries := digestCollEntries(time.Now().UnixMilli())
	// a applies one entry per batch (standalone), b in batches of 7 (a
	// follower catching up).
	ap := command.NewApplier(a)
	for i, e := range entries {
		res, err := ap.ApplyOne(uint64(i+1), e)
		if err != nil || res.Error != "" {
			t.Fatalf("entry %d: %v %v", i+1, res.Error, err)
		}
		if msg, isErr := res.Reply().Err(); isErr && !e.Exec {
			t.Fatalf("entry %d %q: %s", i+1, e.Cmds[0], msg)
		}
	}
	bp := command.NewApplier(b)
	for i, e := range entries {
		res, err := bp.Apply(uint64(i+1), e)
		if err != nil || res.Error != "" {
			t.Fatalf("entry %d: %v %v", i+1, res.Error, err)
		}
		if i%7 == 6 {
			if err := bp.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := bp.Commit(); err != nil {
		t.Fatal(err)
	}
	na, da, err := digest(a)
	if err != nil {
		t.Fatal(err)
	}
	nb, db, err := digest(b)
	if err != nil {
		t.Fatal(err)
	}
	if na != nb || string(da) != string(db) {
		t.Fatalf("same log, different digests: %d %x vs %d %x", na, da, nb, db)
	}
	// The digest covers the sub-keys: count them.
	subs := 0
	items, _, err := a.Scan(engine.ScanOptions{Start: keyspace.SubSpace(0), End: keyspace.SubSpace(keyspace.Databases), IncludeExpired: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range items {
		if keyspace.IsSub(kv.Key) {
			subs++
		}
	}
	metas, _, _ := a.Scan(engine.ScanOptions{End: keyspace.SubSpace(0), IncludeExpired: true})
	if subs < 100 || na != subs+len(metas) {
		t.Fatalf("digest of %d keys; the engine holds %d sub-keys and %d metadata keys", na, subs, len(metas))
	}

	// Any difference in a collection shows: an element's value, a dead
	// version's sub-key (the sweep must reclaim it on every node alike),
	// a collection's metadata.
	sub := items[len(items)/2]
	for name, change := range map[string]func(){
		"element value": func() { b.Put(sub.Key, append(append([]byte(nil), sub.Value...), 'x')) },
		"dead sub-key": func() {
			b.Put(keyspace.SubKey(0, []byte("s"), keyspace.NewVersion(1<<30, 0), []byte("m")), nil)
		},
		"metadata": func() {
			b.Put(keyspace.MetaKey(1, []byte("h")), keyspace.AppendCollection(nil, keyspace.Hash, 1, 1, nil))
		},
	} {
		bb := open()
		b = bb
		for _, kv := range rawAll(t, a) {
			bb.PutWithExpiry(kv.Key, kv.Value, kv.ExpireAt)
		}
		if _, d, _ := digest(bb); string(d) != string(da) {
			t.Fatalf("%s: a copy of a's keys digests differently", name)
		}
		change()
		if _, d, _ := digest(bb); string(d) == string(da) {
			t.Errorf("a changed %s left the digest as it was", name)
		}
	}
}

func rawAll(t *testing.T, db *engine.DB) []engine.KV {
	t.Helper()
	items, _, err := db.Scan(engine.ScanOptions{End: keyspace.SubSpace(keyspace.Databases), IncludeExpired: true})
	if err != nil {
		t.Fatal(err)
	}
	return items
}
