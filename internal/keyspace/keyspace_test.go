package keyspace

import (
	"bytes"
	"errors"
	"testing"
)

func TestSlot_MatchesRedisCluster(t *testing.T) {
	// CRC16/XMODEM's check value, and slots as Redis's CLUSTER KEYSLOT
	// answers them (cluster.c keyHashSlot's hash tag rules).
	if got := crc16([]byte("123456789")); got != 0x31C3 {
		t.Fatalf("crc16 check value %#x, want 0x31c3", got)
	}
	for key, want := range map[string]uint16{
		"foo":                  12182,
		"bar":                  5061,
		"{user1000}.following": Slot([]byte("user1000")),
		"{user1000}.followers": Slot([]byte("user1000")),
		"foo{}{bar}":           Slot([]byte("foo{}{bar}")), // empty tag: the whole key
		"foo{{bar}}zap":        Slot([]byte("{bar")),
		"foo{bar}{zap}":        Slot([]byte("bar")),
		"":                     0,
	} {
		if got := Slot([]byte(key)); got != want {
			t.Errorf("Slot(%q) = %d, want %d", key, got, want)
		}
	}
}

func TestMetaKey_RoundTripsAndStaysInItsDatabase(t *testing.T) {
	for _, c := range []struct {
		db  int
		key string
	}{{0, ""}, {15, "a\x00\r\nb"}, {7, "\xff\xff"}, {3, "{tag}x"}} {
		k := MetaKey(c.db, []byte(c.key))
		if !bytes.Equal(k, AppendMetaKey(nil, c.db, []byte(c.key))) {
			t.Fatal("MetaKey and AppendMetaKey disagree")
		}
		db, key, ok := SplitMeta(k)
		if !ok || db != c.db || string(key) != c.key {
			t.Fatalf("SplitMeta(MetaKey(%d, %q)) = %d, %q, %v", c.db, c.key, db, key, ok)
		}
		if !bytes.HasPrefix(k, DBPrefix(c.db)) || !bytes.HasPrefix(k, SlotPrefix(c.db, Slot([]byte(c.key)))) {
			t.Fatalf("MetaKey(%d, %q) is outside its database's or slot's range", c.db, c.key)
		}
		if !IsMeta(k) || IsSub(k) {
			t.Fatalf("MetaKey(%d, %q) taken for a sub-key", c.db, c.key)
		}
	}
	for _, k := range [][]byte{nil, MemberKey([]byte("n1")), SubKey(0, []byte("h"), 1, []byte("f")), {0, 1}} {
		if _, _, ok := SplitMeta(k); ok {
			t.Fatalf("SplitMeta(%q) took a key of another family for a metadata key", k)
		}
	}
}

// A database's range holds its keys and never a sub-key, so DBSIZE, SCAN,
// KEYS and RANDOMKEY, which count and walk that range, see keys only.
func TestLayout_DatabaseRangesHoldNoSubKeys(t *testing.T) {
	keys := [][]byte{[]byte(""), []byte("k"), []byte("\xff\xff\xff"), []byte("{a}b")}
	for db := range Databases {
		p, end := DBPrefix(db), PrefixEnd(DBPrefix(db))
		for _, k := range keys {
			for v := uint64(0); v < 3; v++ {
				sub := SubKey(db, k, NewVersion(v, 1), []byte("field"))
				if bytes.Compare(sub, p) >= 0 && bytes.Compare(sub, end) < 0 {
					t.Fatalf("db %d: sub-key %q inside the database's range", db, sub)
				}
			}
			if m := MetaKey(db, k); bytes.Compare(m, p) < 0 || bytes.Compare(m, end) >= 0 {
				t.Fatalf("db %d: metadata key %q outside the database's range", db, m)
			}
		}
	}
	if bytes.Compare(MemberKey([]byte("x")), SubSpace(Databases-1)) <= 0 {
		t.Fatal("internal keys sort inside the sub-key space")
	}
}

func TestSubKey_RoundTripsAndGroupsByVersion(t *testing.T) {
	key := []byte("my\x00hash")
	a := SubKey(2, key, 7, []byte("f1"))
	p, err := SplitSub(a)
	if err != nil {
		t.Fatal(err)
	}
	if p.DB != 2 || !bytes.Equal(p.Key, key) || p.Version != 7 || string(p.Elem) != "f1" || !bytes.Equal(p.Prefix, SubPrefix(2, key, 7)) {
		t.Fatalf("SplitSub = %+v", p)
	}
	// Elements of one version sort together, in element order, and apart
	// from another version's and another key's.
	b := SubKey(2, key, 7, []byte("f2"))
	other := SubKey(2, key, 8, []byte("f0"))
	longer := SubKey(2, append(key, 'x'), 7, []byte("f0"))
	pre, end := SubPrefix(2, key, 7), PrefixEnd(SubPrefix(2, key, 7))
	for _, k := range [][]byte{a, b} {
		if !bytes.HasPrefix(k, pre) || bytes.Compare(k, end) >= 0 {
			t.Fatalf("%q outside its version's range", k)
		}
	}
	for _, k := range [][]byte{other, longer} {
		if bytes.HasPrefix(k, pre) {
			t.Fatalf("%q inside another version's range", k)
		}
	}
	if bytes.Compare(a, b) >= 0 {
		t.Fatal("elements out of order")
	}
	for _, bad := range [][]byte{nil, MetaKey(0, []byte("k")), SubSpace(0), append(SubSpace(0), 0, 0, 200), a[:len(a)-4]} {
		if _, err := SplitSub(bad); !errors.Is(err, ErrBadKey) {
			t.Errorf("SplitSub(%q) = %v, want ErrBadKey", bad, err)
		}
	}
}

func TestMeta_EncodeDecode(t *testing.T) {
	m, err := DecodeMeta(EncodeString([]byte("v\x00")))
	if err != nil || m.Type != String || string(m.Value) != "v\x00" {
		t.Fatalf("string: %+v %v", m, err)
	}
	v := AppendCollection(nil, Hash, NewVersion(42, 3), 1_000_000, []byte("xy"))
	m, err = DecodeMeta(v)
	if err != nil || m.Type != Hash || m.Version != NewVersion(42, 3) || m.Count != 1_000_000 || string(m.Extra) != "xy" {
		t.Fatalf("hash: %+v %v", m, err)
	}
	if typ, ok := TypeOf(v); !ok || typ != Hash || typ.String() != "hash" {
		t.Fatalf("TypeOf = %v %v", typ, ok)
	}
	for _, bad := range [][]byte{nil, {9}, {byte(ZSet), 1, 2}, append([]byte{byte(Set)}, make([]byte, 8)...)} {
		if _, err := DecodeMeta(bad); !errors.Is(err, ErrBadKey) {
			t.Errorf("DecodeMeta(%x) = %v, want ErrBadKey", bad, err)
		}
	}
}

func TestNewVersion_IsUniquePerIndexAndCounter(t *testing.T) {
	seen := map[uint64]bool{}
	for idx := uint64(1); idx < 50; idx++ {
		for n := uint32(1); n < 50; n++ {
			v := NewVersion(idx, n)
			if seen[v] {
				t.Fatalf("version %d made twice", v)
			}
			seen[v] = true
		}
	}
	if NewVersion(2, 1) <= NewVersion(1, 1<<20-1) {
		t.Fatal("versions do not grow with the index")
	}
}

func TestPrefixEnd(t *testing.T) {
	for in, want := range map[string]string{"a": "b", "a\xff": "b", "\xff\xff": "", "": ""} {
		got := PrefixEnd([]byte(in))
		if string(got) != want || (want == "" && got != nil) {
			t.Errorf("PrefixEnd(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseType(t *testing.T) {
	for _, typ := range []Type{String, List, Set, ZSet, Hash, Stream} {
		if got, ok := ParseType(typ.String()); !ok || got != typ {
			t.Fatalf("ParseType(%q) = %v %v", typ.String(), got, ok)
		}
	}
	if _, ok := ParseType("module"); ok {
		t.Fatal("ParseType took an unknown name")
	}
}
