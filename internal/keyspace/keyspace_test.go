package keyspace

import (
	"bytes"
	"testing"
)

func TestKeyAndSplitRoundTrip(t *testing.T) {
	for _, c := range []struct {
		db  int
		key string
	}{{0, ""}, {15, "a\x00\r\nb"}, {7, "\xff"}} {
		k := Key(c.db, []byte(c.key))
		if !bytes.Equal(k, AppendKey(nil, c.db, []byte(c.key))) {
			t.Fatal("Key and AppendKey disagree")
		}
		db, key, ok := Split(k)
		if !ok || db != c.db || string(key) != c.key || !bytes.HasPrefix(k, Prefix(c.db)) {
			t.Fatalf("Split(Key(%d, %q)) = %d, %q, %v", c.db, c.key, db, key, ok)
		}
	}
	for _, k := range [][]byte{nil, []byte(MemberPrefix + "n1"), {16, 'a'}} {
		if _, _, ok := Split(k); ok {
			t.Fatalf("Split(%q) took an internal key for a user key", k)
		}
	}
}
