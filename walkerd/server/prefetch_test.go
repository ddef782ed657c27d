package server

import (
	"strings"
	"testing"

	"github.com/tidwall/redcon"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

func cmdsOf(lines ...string) []redcon.Command {
	var cmds []redcon.Command
	for _, l := range lines {
		var args [][]byte
		for _, a := range strings.Fields(l) {
			args = append(args, []byte(a))
		}
		cmds = append(cmds, redcon.Command{Args: args})
	}
	return cmds
}

// A batch's reads give their keys, as COMMAND INFO places them, in the
// client's database; writes, keyless commands, unknown ones, reads short
// of their keys and keys over maxPrefetchKey give none; a batch gives at
// most maxPrefetch.
func TestPrefetchKeys_AreTheKeysOfTheBatchsReads(t *testing.T) {
	long := strings.Repeat("x", maxPrefetchKey+1)
	cmds := cmdsOf(
		"GET a",
		"SET b v",
		"mget c d e",
		"HGET h f",
		"EXISTS x y",
		"PING",
		"NOSUCH k",
		"",
		"GET",
		"MGET",
		"ZRANGE z 0 -1",
		"GET "+long,
		"HMGET hm f1 f2",
	)
	var pk prefetchKeys
	pk.collect(3, cmds)
	var got []string
	for i := range pk.ends {
		got = append(got, string(pk.key(i)))
	}
	var want []string
	for _, k := range []string{"a", "c", "d", "e", "h", "x", "y", "z", "hm"} {
		want = append(want, string(keyspace.MetaKey(3, []byte(k))))
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("keys %q, want %q", got, want)
	}

	// Kept from one batch to the next, and bounded.
	many := []string{"MGET"}
	for i := range 3 * maxPrefetch {
		many = append(many, strings.Repeat("k", i%7+1))
	}
	pk.collect(0, cmdsOf(strings.Join(many, " ")))
	if len(pk.ends) != maxPrefetch || string(pk.key(0)) != string(keyspace.MetaKey(0, []byte("k"))) {
		t.Fatalf("%d keys, the first %q; want %d, the first k's", len(pk.ends), pk.key(0), maxPrefetch)
	}
	pk.collect(0, cmdsOf("SET a b", "DEL a"))
	if len(pk.ends) != 0 {
		t.Fatalf("a batch of writes kept %d keys", len(pk.ends))
	}
	// A batch whose first scanAlone commands are writes is not read on.
	writes := make([]string, scanAlone, scanAlone+1)
	for i := range writes {
		writes[i] = "SET a b"
	}
	pk.collect(0, cmdsOf(append(writes, "GET late")...))
	if len(pk.ends) != 0 {
		t.Fatalf("a batch of %d writes, then a read, kept %d keys", scanAlone, len(pk.ends))
	}
	pk.collect(0, cmdsOf(append(writes[1:], "GET late", "GET later")...))
	if len(pk.ends) != 2 {
		t.Fatalf("a batch of %d writes, then reads, kept %d keys, want 2", scanAlone-1, len(pk.ends))
	}
}
