package server

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// The cursor's encoding is the command package's (scancursor.go): SCAN
// runs there inside MULTI and scripts, and here outside them.
var encodeCursor, decodeCursor = command.EncodeScanCursor, command.DecodeScanCursor

// cursorTag and cursorTagMask are scancursor.go's tag: the top two bits 01.
const cursorTag, cursorTagMask = 1 << 62, 3 << 62

// scanPage sends one SCAN and returns its cursor and keys.
func scanPage(t *testing.T, c *conn, cursor string, opts ...string) (string, []string) {
	t.Helper()
	v, err := c.do(append([]string{"SCAN", cursor}, opts...)...)
	if err != nil || v.Kind != '*' || len(v.Elems) != 2 {
		t.Fatalf("SCAN %s %v: %s %v", cursor, opts, format(v), err)
	}
	var keys []string
	for _, e := range v.Elems[1].Elems {
		keys = append(keys, string(e.Str))
	}
	return string(v.Elems[0].Str), keys
}

// trickyKeys are keys that share slots and long prefixes: a hash tag's
// many keys (one slot, one 6-byte prefix), keys that differ only past 6
// bytes, NUL bytes where the cursor pads with zeros, the empty key.
func trickyKeys() []string {
	keys := []string{"", "\x00", "\x00\x00", "a", "a\x00", "a\x00\x00\x00\x00\x00\x00b", "\xff\xff\xff\xff\xff\xff\xff"}
	for i := range 300 {
		keys = append(keys, fmt.Sprintf("{tag}:%d", i))          // one slot, one prefix
		keys = append(keys, fmt.Sprintf("{t}abc%03d", i%50)+"x") // one slot, shared prefix {t}abc
		keys = append(keys, fmt.Sprintf("user:%05d", i))
	}
	for i := range 40 {
		keys = append(keys, "prefix-long-"+strconv.Itoa(i)+"\x00")
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

func load(t *testing.T, c *conn, keys []string) {
	t.Helper()
	for _, k := range keys {
		if got := c.must(t, "SET", k, "v"); got != "+OK" {
			t.Fatalf("SET %q: %s", k, got)
		}
	}
	if got, want := c.must(t, "DBSIZE"), ":"+strconv.Itoa(len(keys)); got != want {
		t.Fatalf("DBSIZE = %s, want %s", got, want)
	}
}

// Every key is returned exactly once, whatever COUNT, even when many keys
// share a slot and a prefix longer than the cursor holds.
func TestScan_CursorSeesEveryKeyOnceWhenKeysSharePrefixes(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	keys := trickyKeys()
	load(t, c, keys)
	for _, count := range []string{"1", "3", "10", "1000"} {
		seen := map[string]int{}
		cursor, pages := "0", 0
		for {
			next, page := scanPage(t, c, cursor, "COUNT", count)
			for _, k := range page {
				seen[k]++
			}
			if pages++; pages > 10*len(keys) {
				t.Fatalf("COUNT %s: no end after %d pages", count, pages)
			}
			if next == "0" {
				break
			}
			if n, _ := strconv.ParseUint(next, 10, 64); n <= mustUint(t, cursor) {
				t.Fatalf("COUNT %s: cursor went from %s to %s", count, cursor, next)
			}
			cursor = next
		}
		for _, k := range keys {
			if seen[k] != 1 {
				t.Errorf("COUNT %s: %q seen %d times", count, k, seen[k])
			}
		}
		if len(seen) != len(keys) {
			t.Errorf("COUNT %s: saw %d keys, want %d", count, len(seen), len(keys))
		}
	}
}

func mustUint(t *testing.T, s string) uint64 {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A cursor is not state of the server that issued it: another server over
// the same keys (a restarted process, another node after a failover)
// resumes it, and any number of other iterations in between change
// nothing. With a table of issued cursors, the second server answered
// "ERR invalid cursor".
func TestScan_CursorResumesOnAnotherServer(t *testing.T) {
	a := startServer(t, Config{})
	b := startServerOn(t, backend.NewStandalone(a.db), Config{}) // a second server over a's engine
	ca, cb := dial(t, a.addr), dial(t, b.addr)
	keys := trickyKeys()
	load(t, ca, keys)
	seen := map[string]int{}
	cursor := "0"
	for i := 0; ; i++ {
		c := ca
		if i%2 == 1 {
			c = cb
			// Other clients iterate meanwhile, on both servers.
			for range 20 {
				scanPage(t, ca, "0", "COUNT", "1")
				scanPage(t, cb, "0", "COUNT", "1")
			}
		}
		next, page := scanPage(t, c, cursor, "COUNT", "7")
		for _, k := range page {
			seen[k]++
		}
		if next == "0" {
			break
		}
		cursor = next
	}
	for _, k := range keys {
		if seen[k] != 1 {
			t.Errorf("%q seen %d times", k, seen[k])
		}
	}
}

// Keys that stay through an iteration are each returned once while other
// keys come and go around them, in the same slots and with the same
// prefixes.
func TestScan_CursorSeesStayingKeysOnceUnderWrites(t *testing.T) {
	s := startServer(t, Config{})
	c, w := dial(t, s.addr), dial(t, s.addr)
	keys := trickyKeys()
	load(t, c, keys)
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[string]int{}
	cursor := "0"
	for {
		next, page := scanPage(t, c, cursor, "COUNT", "5")
		for _, k := range page {
			seen[k]++
		}
		if next == "0" {
			break
		}
		cursor = next
		for range 5 {
			k := keys[rng.IntN(len(keys))] + "~" + strconv.Itoa(rng.IntN(3))
			if rng.IntN(2) == 0 {
				w.must(t, "SET", k, "v")
			} else {
				w.must(t, "DEL", k)
			}
		}
	}
	for _, k := range keys {
		if seen[k] != 1 {
			t.Errorf("%q seen %d times", k, seen[k])
		}
	}
}

// Any number with the cursor tag is a cursor: SCAN from it returns every
// key at or after its position, and ends. Other numbers are refused.
func TestScan_CursorAnyTaggedNumberWorks(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	keys := trickyKeys()
	load(t, c, keys)
	rng := rand.New(rand.NewPCG(3, 4))
	starts := []uint64{cursorTag, cursorTag | (1<<62 - 1), cursorTag | uint64(keyspace.Slot([]byte("{tag}")))<<48}
	for range 30 {
		starts = append(starts, cursorTag|rng.Uint64()&(1<<62-1))
	}
	for _, start := range starts {
		from, _ := decodeCursor(0, start)
		seen := map[string]int{}
		cursor, pages := strconv.FormatUint(start, 10), 0
		for ; cursor != "0"; pages++ {
			if pages > 10*len(keys) {
				t.Fatalf("from %d: no end", start)
			}
			var page []string
			cursor, page = scanPage(t, c, cursor, "COUNT", "4")
			for _, k := range page {
				seen[k]++
			}
		}
		for _, k := range keys {
			if bytes.Compare(keyspace.MetaKey(0, []byte(k)), from) >= 0 && seen[k] != 1 {
				t.Errorf("from %d: %q seen %d times", start, k, seen[k])
			}
		}
	}
	for _, bad := range []string{"1", "12345", strconv.FormatUint(1<<63, 10), strconv.FormatUint(3<<62, 10)} {
		if got := c.must(t, "SCAN", bad); got != "-ERR invalid cursor" {
			t.Errorf("SCAN %s = %s", bad, got)
		}
	}
}

// The facts scancursor.go's proof rests on, over random and tricky keys:
// encodeCursor keeps key order, decodeCursor(encodeCursor(k)) <= k, and
// encodeCursor(decodeCursor(c)) = c.
func TestCursor_EncodingKeepsKeyOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var ks [][]byte
	for _, k := range trickyKeys() {
		ks = append(ks, keyspace.MetaKey(3, []byte(k)))
	}
	for range 3000 {
		k := make([]byte, rng.IntN(10))
		for i := range k {
			k[i] = "\x00\x01ab\xff"[rng.IntN(5)]
		}
		ks = append(ks, keyspace.MetaKey(3, k))
	}
	slices.SortFunc(ks, bytes.Compare)
	for i, k := range ks {
		c := encodeCursor(k)
		if c == 0 || c&cursorTagMask != cursorTag {
			t.Fatalf("cursor of %q = %#x", k, c)
		}
		if i > 0 && encodeCursor(ks[i-1]) > c {
			t.Fatalf("%q < %q but cursors %#x > %#x", ks[i-1], k, encodeCursor(ks[i-1]), c)
		}
		d, ok := decodeCursor(3, c)
		if !ok || bytes.Compare(d, k) > 0 {
			t.Fatalf("decode(encode(%q)) = %q, %v", k, d, ok)
		}
		if encodeCursor(d) != c {
			t.Fatalf("encode(decode(%#x)) = %#x", c, encodeCursor(d))
		}
	}
	if _, ok := decodeCursor(0, 7); ok {
		t.Fatal("untagged cursor decoded")
	}
}

// A slow iteration's cursor still works after other clients have taken
// more cursors than any table of issued cursors holds (walkerd kept the
// newest 131,072 and answered "ERR invalid cursor" for older ones).
func TestScan_CursorNeverExpires(t *testing.T) {
	if testing.Short() {
		t.Skip("140,000 SCANs")
	}
	s := startServer(t, Config{})
	c, other := dial(t, s.addr), dial(t, s.addr)
	keys := trickyKeys()
	load(t, c, keys)
	cursor, first := scanPage(t, c, "0", "COUNT", "10")
	const n = 140_000
	go func() {
		var in []byte
		for range n {
			in = append(in, encodeCommand([][]byte{[]byte("SCAN"), []byte("0"), []byte("COUNT"), []byte("1")})...)
		}
		other.c.Write(in)
	}()
	for i := range n {
		if v, err := readValue(other); err != nil || v.Kind != '*' {
			t.Fatalf("other SCAN %d: %s %v", i, format(v), err)
		}
	}
	seen := map[string]int{}
	for _, k := range first {
		seen[k]++
	}
	for cursor != "0" {
		var page []string
		cursor, page = scanPage(t, c, cursor, "COUNT", "10")
		for _, k := range page {
			seen[k]++
		}
	}
	for _, k := range keys {
		if seen[k] != 1 {
			t.Errorf("%q seen %d times", k, seen[k])
		}
	}
}
