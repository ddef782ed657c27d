package server

import (
	"encoding/binary"
	"hash/crc64"
	"math"
	"strconv"
	"strings"
	"testing"
)

// zsetPayload builds a DUMP payload of a sorted set by hand, from the
// format documented in command/dump.go: "WDB", version 1, type 3, uvarint
// count, then each member (uvarint length, bytes) and its score (float64
// bits, big-endian), then the CRC-64/ECMA of all that, big-endian.
func zsetPayload(members []string, scores []float64) string {
	b := []byte("WDB\x01\x03")
	b = binary.AppendUvarint(b, uint64(len(members)))
	for i, m := range members {
		b = binary.AppendUvarint(b, uint64(len(m)))
		b = append(b, m...)
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(scores[i]))
	}
	return string(binary.BigEndian.AppendUint64(b, crc64.Checksum(b, crc64.MakeTable(crc64.ECMA))))
}

func dumpBytes(t *testing.T, c *conn, key string) string {
	t.Helper()
	v, err := c.do("DUMP", key)
	if err != nil {
		t.Fatal(err)
	}
	if v.Kind != '$' || v.Null {
		t.Fatalf("DUMP %s: %s", key, format(v))
	}
	return string(v.Str)
}

// Every type goes through DUMP and RESTORE, over the protocol, into the
// same or another database, with TTLs and inside MULTI.
func TestDumpRestore_RoundTripOverTheProtocol(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	for _, cmd := range [][]string{
		{"SET", "s", "a\x00b\r\n"},
		{"SET", "n", "12345"},
		{"RPUSH", "l", "c", "a", "b", "a"},
		{"SADD", "t", "x", "y", "1"},
		{"HSET", "h", "f1", "v1", "f2", "", "", "empty field"},
	} {
		if got := c.must(t, cmd...); got[0] == '-' {
			t.Fatalf("%q: %s", cmd, got)
		}
	}
	// A sorted set, restored from a payload built by hand.
	zp := zsetPayload([]string{"inf", "m1", "m2"}, []float64{math.Inf(1), 1.5, -2}) // members in byte order, as DUMP writes them
	if got := c.must(t, "RESTORE", "z", "0", zp); got != "+OK" {
		t.Fatalf("RESTORE z: %s", got)
	}
	if got := c.must(t, "TYPE", "z"); got != "+zset" {
		t.Fatalf("TYPE z: %s", got)
	}
	if dumpBytes(t, c, "z") != zp {
		t.Fatal("DUMP z differs from the payload it was restored from")
	}
	reads := map[string]func(key string) []string{
		"s": func(k string) []string { return []string{"GET", k} },
		"n": func(k string) []string { return []string{"GET", k} },
		"l": func(k string) []string { return []string{"LRANGE", k, "0", "-1"} },
		"t": func(k string) []string { return []string{"SMISMEMBER", k, "x", "y", "1", "z"} },
		"h": func(k string) []string { return []string{"HMGET", k, "f1", "f2", "", "nofield"} },
		"z": func(k string) []string { return []string{"TYPE", k} },
	}
	readOf := func(key string) string { return c.must(t, reads[key[:1]](key)...) }
	for key := range reads {
		p := dumpBytes(t, c, key)
		want := readOf(key)
		if got := c.must(t, "RESTORE", key+"2", "0", p); got != "+OK" {
			t.Fatalf("RESTORE %s2: %s", key, got)
		}
		if got := readOf(key + "2"); got != want {
			t.Errorf("%s2 reads %s, want %s", key, got, want)
		}
		if dumpBytes(t, c, key+"2") != p {
			t.Errorf("%s: DUMP of the restored key differs", key)
		}
		if got := c.must(t, "RESTORE", key, "0", p); got != "-BUSYKEY Target key name already exists." {
			t.Errorf("RESTORE onto %s: %s", key, got)
		}
		// Into database 5 with a TTL, inside a transaction.
		c.must(t, "MULTI")
		c.must(t, "SELECT", "5")
		c.must(t, "RESTORE", key, "100000", p, "REPLACE")
		c.must(t, "PTTL", key)
		c.must(t, "SELECT", "0")
		got := c.must(t, "EXEC")
		if got != "[+OK, +OK, :100000, +OK]" {
			t.Errorf("MULTI RESTORE %s: %s", key, got)
		}
		c.must(t, "SELECT", "5")
		if got := readOf(key); got != want {
			t.Errorf("%s in database 5 reads %s, want %s", key, got, want)
		}
		c.must(t, "SELECT", "0")
	}
	// A sorted set made by ZADD comes back with the same members and
	// scores, in the same order.
	c.must(t, "ZADD", "zz", "1.5", "b", "-inf", "a", "1.5", "a2", "0", "c")
	want := c.must(t, "ZRANGE", "zz", "0", "-1", "WITHSCORES")
	c.must(t, "RESTORE", "zz2", "0", dumpBytes(t, c, "zz"))
	if got := c.must(t, "ZRANGE", "zz2", "0", "-1", "WITHSCORES"); got != want {
		t.Errorf("ZRANGE of the restored zset %s, want %s", got, want)
	}
	if got := c.must(t, "ZSCORE", "zz2", "a2"); got != `"1.5"` {
		t.Errorf("ZSCORE of the restored zset: %s", got)
	}
	if got := c.must(t, "HGET", "h2", ""); got != `"empty field"` {
		t.Errorf("HGET h2 '': %s", got)
	}
	if got := c.must(t, "DUMP", "nokey"); got != "(nil)" {
		t.Errorf("DUMP nokey: %s", got)
	}
	// ABSTTL in the past creates nothing; REPLACE of an existing key then
	// deletes it.
	p := dumpBytes(t, c, "s")
	if got := c.must(t, "RESTORE", "s", "1", p, "ABSTTL", "REPLACE"); got != "+OK" {
		t.Fatalf("RESTORE past: %s", got)
	}
	if got := c.must(t, "EXISTS", "s"); got != ":0" {
		t.Errorf("EXISTS s after a past ABSTTL: %s", got)
	}
	at := strconv.FormatInt(math.MaxInt32*1000, 10)
	c.must(t, "RESTORE", "s", at, p, "ABSTTL")
	if got := c.must(t, "PEXPIRETIME", "s"); got != ":"+at {
		t.Errorf("PEXPIRETIME after ABSTTL: %s", got)
	}
	// A damaged payload, and one of Redis's own.
	bad := []byte(p)
	bad[len(bad)-9] ^= 1
	if got := c.must(t, "RESTORE", "x", "0", string(bad)); got != "-ERR DUMP payload version or checksum are wrong" {
		t.Errorf("damaged payload: %s", got)
	}
	redis := "\x00\x05hello\x0a\x00\x63\x72\xdf\x76\x65\x34\x20\x0a"
	if got := c.must(t, "RESTORE", "x", "0", redis); got != "-ERR DUMP payload version or checksum are wrong" {
		t.Errorf("Redis payload: %s", got)
	}
}

// The encoding settings go through CONFIG and change what OBJECT ENCODING
// reports; OBJECT's subcommands run as reads.
func TestObjectEncoding_FollowsConfig(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	t.Cleanup(func() {
		c.must(t, "CONFIG", "SET", "hash-max-listpack-entries", "512", "set-max-intset-entries", "512")
	})
	c.must(t, "HSET", "h", "a", "1", "b", "2")
	c.must(t, "SADD", "t", "1", "2", "3")
	for _, step := range []struct {
		set        []string
		hash, set_ string
	}{
		{nil, `"listpack"`, `"intset"`},
		{[]string{"hash-max-ziplist-entries", "1"}, `"hashtable"`, `"intset"`},
		{[]string{"set-max-intset-entries", "2"}, `"hashtable"`, `"hashtable"`},
		{[]string{"hash-max-listpack-entries", "2", "set-max-intset-entries", "3"}, `"listpack"`, `"intset"`},
	} {
		if step.set != nil {
			if got := c.must(t, append([]string{"CONFIG", "SET"}, step.set...)...); got != "+OK" {
				t.Fatalf("CONFIG SET %v: %s", step.set, got)
			}
		}
		if got := c.must(t, "OBJECT", "ENCODING", "h"); got != step.hash {
			t.Errorf("after %v: hash %s, want %s", step.set, got, step.hash)
		}
		if got := c.must(t, "OBJECT", "ENCODING", "t"); got != step.set_ {
			t.Errorf("after %v: set %s, want %s", step.set, got, step.set_)
		}
	}
	if got := c.must(t, "CONFIG", "GET", "hash-max-ziplist-entries"); got != `["hash-max-ziplist-entries", "2"]` {
		t.Errorf("CONFIG GET alias: %s", got)
	}
	if got := c.must(t, "CONFIG", "SET", "hash-max-listpack-value", "x"); got !=
		"-ERR CONFIG SET failed (possibly related to argument 'hash-max-listpack-value') - argument must be a memory value" {
		t.Errorf("CONFIG SET bad memory value: %s", got)
	}
	// Inside MULTI, OBJECT's subcommands are part of the entry.
	c.must(t, "MULTI")
	c.must(t, "OBJECT", "ENCODING", "h")
	c.must(t, "OBJECT", "REFCOUNT", "nokey")
	c.must(t, "OBJECT", "HELP")
	got := c.must(t, "EXEC")
	if !strings.HasPrefix(got, `["listpack", (nil), [+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:, +ENCODING <key>`) {
		t.Errorf("EXEC of OBJECT: %s", got)
	}
}
