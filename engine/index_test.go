package engine

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/walkerdb/walkerdb/engine/keydir"
	"github.com/walkerdb/walkerdb/engine/record"
)

// TestGet_AbsentKeyWithAStrangersFingerprintIsNotFound makes every key's
// fingerprint the same: an absent key then matches the one present key by
// fingerprint alone, and every read must call it absent, not corrupt.
func TestGet_AbsentKeyWithAStrangersFingerprintIsNotFound(t *testing.T) {
	db, _ := openTest(t, nil)
	db.kd.SetHashMaskForTest(0)
	mustPut(t, db, "present", "value")
	for _, k := range []string{"absent", "presenT", "x"} { // same and other lengths
		if v, err := db.Get([]byte(k)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get(%q) = %q, %v; want ErrNotFound", k, v, err)
		}
		if m, err := db.Lookup([]byte(k)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Lookup(%q) = %+v, %v; want ErrNotFound", k, m, err)
		}
		err := db.View(0, func(v *View) error {
			if _, _, err := v.Get([]byte(k)); !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("View.Get: %v", err)
			}
			if _, err := v.LookupAny([]byte(k)); !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("View.LookupAny: %v", err)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%q: %v, want ErrNotFound", k, err)
		}
	}
	mustGet(t, db, "present", "value")
}

// TestGet_MismatchOnAnExactMatchIsCorruption: when the keydir compared the
// key (two keys share a fingerprint), or the record holds the key but
// fails its checksum, a bad record is still corruption.
func TestGet_MismatchOnAnExactMatchIsCorruption(t *testing.T) {
	db, _ := openTest(t, nil)
	db.kd.SetHashMaskForTest(0)
	mustPut(t, db, "k1", "value one")
	mustPut(t, db, "k2", "value two") // shares k1's fingerprint: both compared
	mustPut(t, db, "k3", "value three")
	if _, exact, _ := db.kd.Lookup([]byte("k1")); !exact {
		t.Fatal("k1 shares its fingerprint but Lookup did not compare keys")
	}
	buf := db.active.buf
	i := bytes.Index(buf, []byte("k1value one"))
	if i < record.HeaderSize {
		t.Fatal("k1's record not found in the active segment")
	}
	xorActive(t, db, i+1, '1'^'9') // k1's record now names k9
	if v, err := db.Get([]byte("k1")); !errors.Is(err, ErrCorruption) {
		t.Fatalf("Get of a record naming another key after an exact match = %q, %v; want ErrCorruption", v, err)
	}
	j := bytes.Index(buf, []byte("k2value two"))
	xorActive(t, db, j+4, 0xff) // inside k2's value: the key still matches, the CRC fails
	if v, err := db.Get([]byte("k2")); !errors.Is(err, ErrCorruption) {
		t.Fatalf("Get of a record with a bad checksum = %q, %v; want ErrCorruption", v, err)
	}
	xorActive(t, db, j+4, 0xff)
	xorActive(t, db, i+1, '1'^'9')
	mustGet(t, db, "k1", "value one")
}

// TestWrite_FullIndexIsAnErrorAndChangesNothing shrinks the key arena so
// that it fills: the write that finds no room fails with ErrIndexFull
// before writing a record, and deletes go on working and make room.
func TestWrite_FullIndexIsAnErrorAndChangesNothing(t *testing.T) {
	defer keydir.LimitArenaForTest(3, 200)() // slabs 1 and 2, 200 keys aside
	db, _ := openTest(t, &Options{SegmentSize: 16 << 20, Sync: SyncNo, MaxKeySize: 64 << 10})
	big := bytes.Repeat([]byte("k"), 20_000) // over 16 KiB: kept aside
	n := 0
	var err error
	for ; n < 100_000; n++ {
		key := fmt.Appendf(big[:len(big):len(big)], "%d", n)
		if n%2 == 0 {
			key = fmt.Appendf(nil, "small:%06d:%s", n, bytes.Repeat([]byte("s"), 1000))
		}
		if err = db.Put(key, []byte("v")); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrIndexFull) {
		t.Fatalf("after %d puts: %v, want ErrIndexFull", n, err)
	}
	if n < 100 {
		t.Fatalf("index full after only %d keys", n)
	}
	keys, size := db.Len(), db.active.size
	if err := db.Put([]byte("one more"), []byte("v")); !errors.Is(err, ErrIndexFull) {
		t.Fatalf("Put on a full index: %v", err)
	}
	b := new(Batch)
	b.Put([]byte("small:000000:"+string(bytes.Repeat([]byte("s"), 1000))), []byte("new"))
	b.Put([]byte("another"), []byte("v"))
	if err := db.Write(b); !errors.Is(err, ErrIndexFull) {
		t.Fatalf("batch on a full index: %v", err)
	}
	if db.Len() != keys || db.active.size != size {
		t.Fatalf("refused writes changed the DB: %d keys, %d bytes; were %d, %d", db.Len(), db.active.size, keys, size)
	}
	if _, err := db.Get([]byte("one more")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a refused key: %v", err)
	}
	// Deleting frees room (at the next fold of the index).
	if err := db.Delete(fmt.Appendf(big[:len(big):len(big)], "%d", 1)); err != nil {
		t.Fatal(err)
	}
	db.kd.Sync()
	mustPut(t, db, "one more", "v")
	mustGet(t, db, "one more", "v")
}
