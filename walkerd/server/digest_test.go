package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

func TestDigest_SameStateSameDigestAndAnyChangeShows(t *testing.T) {
	open := func() *engine.DB {
		db, err := engine.Open(t.TempDir(), &engine.Options{Sync: engine.SyncNo})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b := open(), open()
	for i := range 3000 {
		k := keyspace.MetaKey(i%16, []byte(fmt.Sprintf("k%d", i)))
		a.Put(k, []byte("v"))
		b.Put(k, []byte("v"))
	}
	exp := time.Now().Add(time.Hour).UnixMilli()
	a.PutWithExpiry(keyspace.MetaKey(3, []byte("ttl")), []byte("x"), exp)
	b.PutWithExpiry(keyspace.MetaKey(3, []byte("ttl")), []byte("x"), exp)
	a.Put(keyspace.MemberKey([]byte("n1")), []byte("127.0.0.1:1")) // cluster data is not user data
	na, da, err := digest(a)
	if err != nil {
		t.Fatal(err)
	}
	nb, db, _ := digest(b)
	if na != 3001 || na != nb || string(da) != string(db) {
		t.Fatalf("equal states: %d %x vs %d %x", na, da, nb, db)
	}
	for name, change := range map[string]func(){
		"value":  func() { b.Put(keyspace.MetaKey(0, []byte("k0")), []byte("w")) },
		"expiry": func() { b.PutWithExpiry(keyspace.MetaKey(0, []byte("k0")), []byte("v"), exp+1) },
		"db": func() {
			b.Delete(keyspace.MetaKey(0, []byte("k0")))
			b.Put(keyspace.MetaKey(1, []byte("k0")), []byte("v"))
		},
	} {
		change()
		_, d, _ := digest(b)
		if string(d) == string(da) {
			t.Errorf("a changed %s left the digest as it was", name)
		}
		b.Delete(keyspace.MetaKey(1, []byte("k0")))
		b.Put(keyspace.MetaKey(0, []byte("k0")), []byte("v"))
	}
}
