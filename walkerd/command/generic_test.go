package command

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/internal/resp"
)

// seed writes a collection straight into the engine in the layout of
// coll.go (independently of any command), as one batch with a fresh index:
// list elements head to tail; set members; hash field value pairs; zset
// member score pairs.
func seed(t testing.TB, a *applier, dbi int, key string, typ keyspace.Type, elems ...string) {
	t.Helper()
	a.index++
	ver := keyspace.NewVersion(a.index, 1)
	p := keyspace.SubPrefix(dbi, []byte(key), ver)
	sub := func(parts ...[]byte) []byte {
		k := slices.Clone(p)
		for _, x := range parts {
			k = append(k, x...)
		}
		return k
	}
	var b engine.Batch
	n := 0
	var extra []byte
	switch typ {
	case keyspace.List:
		for i, e := range elems {
			b.PutSeq(sub(listPos(listStart+uint64(i))), []byte(e), 0, a.index)
		}
		n = len(elems)
		extra = binary.BigEndian.AppendUint64(nil, listStart)
	case keyspace.Set:
		for _, e := range elems {
			b.PutSeq(sub([]byte(e)), []byte{}, 0, a.index)
		}
		n = len(elems)
	case keyspace.Hash:
		for i := 0; i < len(elems); i += 2 {
			b.PutSeq(sub([]byte(elems[i])), []byte(elems[i+1]), 0, a.index)
		}
		n = len(elems) / 2
	case keyspace.ZSet:
		for i := 0; i < len(elems); i += 2 {
			f, err := strconv.ParseFloat(elems[i+1], 64)
			if err != nil {
				t.Fatal(err)
			}
			b.PutSeq(sub([]byte{zMember}, []byte(elems[i])), zScoreBytes(f), 0, a.index)
			b.PutSeq(sub([]byte{zScore}, zSortable(f), []byte(elems[i])), []byte{}, 0, a.index)
		}
		n = len(elems) / 2
	default:
		t.Fatalf("seed: type %v", typ)
	}
	b.PutSeq(keyspace.MetaKey(dbi, []byte(key)), keyspace.AppendCollection(nil, typ, ver, int64(n), extra), 0, a.index)
	b.SetSeq(a.index)
	if err := a.db.Write(&b); err != nil {
		t.Fatal(err)
	}
}

// contents renders a key of database dbi as the engine holds it, read
// through keyspace alone: "none", "string:v", or the type and its
// elements (list in order; set members and hash pairs in byte order;
// zset member:score by score, checked against the member family). It
// fails the test when the metadata count disagrees with the elements.
func contents(t testing.TB, a *applier, dbi int, key string) string {
	t.Helper()
	var out string
	err := a.db.View(a.now, func(v *engine.View) error {
		raw, _, err := v.Get(keyspace.MetaKey(dbi, []byte(key)))
		if err != nil {
			out = "none"
			return nil
		}
		m, err := keyspace.DecodeMeta(raw)
		if err != nil {
			return err
		}
		if m.Type == keyspace.String {
			out = "string:" + string(m.Value)
			return nil
		}
		p := keyspace.SubPrefix(dbi, []byte(key), m.Version)
		it := v.Iter(engine.IterOptions{Lower: p, Upper: keyspace.PrefixEnd(p)})
		defer it.Close()
		var parts []string
		members := map[string]float64{}
		n := 0
		for ok := it.First(); ok; ok = it.Next() {
			elem := it.Key()[len(p):]
			val, err := it.Value()
			if err != nil {
				return err
			}
			switch m.Type {
			case keyspace.List:
				parts = append(parts, string(val))
				n++
			case keyspace.Set:
				parts = append(parts, string(elem))
				n++
			case keyspace.Hash:
				parts = append(parts, string(elem)+"="+string(val))
				n++
			case keyspace.ZSet:
				if elem[0] == zMember {
					members[string(elem[1:])] = zScoreOf(val)
					n++
				} else {
					parts = append(parts, fmt.Sprintf("%s:%s", elem[9:], formatScore(zUnsortable(elem[1:9]))))
				}
			}
		}
		if m.Type == keyspace.ZSet {
			if len(members) != len(parts) {
				return fmt.Errorf("zset %q: %d members, %d scores", key, len(members), len(parts))
			}
			for _, s := range parts {
				mem, sc, _ := strings.Cut(s, ":")
				if formatScore(members[mem]) != sc {
					return fmt.Errorf("zset %q: member %q score %v, index %s", key, mem, members[mem], sc)
				}
			}
		}
		if int64(n) != m.Count {
			return fmt.Errorf("%q: count %d, %d elements", key, m.Count, n)
		}
		if m.Type == keyspace.List {
			if len(m.Extra) != 8 {
				return fmt.Errorf("list %q: extra %x", key, m.Extra)
			}
		}
		out = m.Type.String() + ":" + strings.Join(parts, ",")
		return it.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// seedAll makes one key of each type in database dbi, named by prefix.
func seedAll(t testing.TB, a *applier, dbi int, prefix string) {
	t.Helper()
	a.apply(&Entry{DB: dbi, Cmds: [][][]byte{cmd("SET", prefix+"s", "str")}})
	seed(t, a, dbi, prefix+"l", keyspace.List, "c", "a", "b")
	seed(t, a, dbi, prefix+"t", keyspace.Set, "x", "y")
	seed(t, a, dbi, prefix+"h", keyspace.Hash, "f1", "v1", "f2", "v2")
	seed(t, a, dbi, prefix+"z", keyspace.ZSet, "m1", "1.5", "m2", "-2")
}

var allWant = map[string]string{
	"s": "string:str",
	"l": "list:c,a,b",
	"t": "set:x,y",
	"h": "hash:f1=v1,f2=v2",
	"z": "zset:m2:-2,m1:1.5",
}

const suffixes = "sltzh"

func (a *applier) doDB(dbi int, args ...string) string {
	return a.apply(&Entry{DB: dbi, Cmds: [][][]byte{cmd(args...)}})
}

func expect(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func TestType_AndRename_EveryType(t *testing.T) {
	a := newApplier(t)
	seedAll(t, a, 0, "k")
	for _, s := range suffixes {
		k := "k" + string(s)
		typ := strings.SplitN(allWant[string(s)], ":", 2)[0]
		expect(t, "TYPE "+k, a.read("TYPE", k), "+"+typ+"\r\n")
		expect(t, "RENAME "+k, a.do("RENAME", k, "r"+k), "+OK\r\n")
		expect(t, "renamed "+k, contents(t, a, 0, "r"+k), allWant[string(s)])
		expect(t, "old "+k, contents(t, a, 0, k), "none")
		expect(t, "RENAMENX "+k, a.do("RENAMENX", "r"+k, "rks"), ":0\r\n")
	}
	// RENAME onto a key of another type replaces it.
	expect(t, "RENAME over", a.do("RENAME", "rkz", "rkl"), "+OK\r\n")
	expect(t, "replaced", contents(t, a, 0, "rkl"), allWant["z"])
}

func TestCopy_EveryTypeAndDatabase(t *testing.T) {
	a := newApplier(t)
	seedAll(t, a, 0, "k")
	a.do("PEXPIRE", "kh", "100000")
	for _, s := range suffixes {
		k := "k" + string(s)
		expect(t, "COPY "+k, a.do("COPY", k, "c"+k), ":1\r\n")
		expect(t, "copy of "+k, contents(t, a, 0, "c"+k), allWant[string(s)])
		expect(t, "source "+k, contents(t, a, 0, k), allWant[string(s)])
		expect(t, "COPY DB "+k, a.do("COPY", k, k, "DB", "3"), ":1\r\n")
		expect(t, "copy in db 3 of "+k, contents(t, a, 3, k), allWant[string(s)])
		expect(t, "COPY again "+k, a.do("COPY", k, k, "DB", "3"), ":0\r\n")
	}
	// The expiry goes with the copy.
	expect(t, "PTTL copy", read(a.db, 3, a.now, cmd("PTTL", "kh")), ":100000\r\n")
	expect(t, "PTTL copy", a.read("PTTL", "ckh"), ":100000\r\n")
	expect(t, "PTTL persistent copy", a.read("PTTL", "ckl"), ":-1\r\n")
	// The copy is its own: changing it leaves the source alone.
	a.do("HSET", "ckh", "f1", "changed", "f3", "new")
	expect(t, "source after HSET on copy", contents(t, a, 0, "kh"), allWant["h"])
	expect(t, "copy after HSET", contents(t, a, 0, "ckh"), "hash:f1=changed,f2=v2,f3=new")
	// REPLACE, of another type, in another database too.
	expect(t, "COPY REPLACE", a.do("COPY", "kz", "ckl", "REPLACE"), ":1\r\n")
	expect(t, "replaced", contents(t, a, 0, "ckl"), allWant["z"])
	expect(t, "COPY DB REPLACE", a.do("COPY", "ks", "kl", "db", "3", "replace"), ":1\r\n")
	expect(t, "replaced in db 3", contents(t, a, 3, "kl"), allWant["s"])
	expect(t, "missing", a.do("COPY", "nothing", "x"), ":0\r\n")
	// Errors, in Redis's order.
	for _, c := range []struct{ args, want string }{
		{"COPY ks ks", "-ERR source and destination objects are the same\r\n"},
		{"COPY ks ks DB 0", "-ERR source and destination objects are the same\r\n"},
		{"COPY nothing nothing", "-ERR source and destination objects are the same\r\n"},
		{"COPY ks x DB x FOO", "-ERR value is not an integer or out of range\r\n"},
		{"COPY ks x FOO DB x", "-ERR syntax error\r\n"},
		{"COPY ks x DB", "-ERR syntax error\r\n"},
		{"COPY ks x DB 16", "-ERR DB index is out of range\r\n"},
		{"COPY ks x DB -1", "-ERR DB index is out of range\r\n"},
		{"COPY ks x DB 99999999999", "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"},
		{"COPY ks", "-ERR wrong number of arguments for 'copy' command\r\n"},
	} {
		expect(t, c.args, a.do(strings.Fields(c.args)...), c.want)
	}
	// Copying from another database than 0.
	expect(t, "COPY from db 3", a.doDB(3, "COPY", "kt", "kt", "DB", "5"), ":1\r\n")
	expect(t, "copied to 5", contents(t, a, 5, "kt"), allWant["t"])
}

func TestMove_EveryType(t *testing.T) {
	a := newApplier(t)
	seedAll(t, a, 0, "k")
	a.do("PEXPIRE", "kz", "50000")
	for _, s := range suffixes {
		k := "k" + string(s)
		expect(t, "MOVE "+k, a.do("MOVE", k, "7"), ":1\r\n")
		expect(t, "moved "+k, contents(t, a, 7, k), allWant[string(s)])
		expect(t, "gone "+k, contents(t, a, 0, k), "none")
		expect(t, "MOVE missing "+k, a.do("MOVE", k, "7"), ":0\r\n")
	}
	expect(t, "PTTL moved", read(a.db, 7, a.now, cmd("PTTL", "kz")), ":50000\r\n")
	// The target holds the name: nothing moves.
	a.do("SET", "kl", "here")
	expect(t, "MOVE onto existing", a.do("MOVE", "kl", "7"), ":0\r\n")
	expect(t, "not moved", contents(t, a, 0, "kl"), "string:here")
	expect(t, "back", a.doDB(7, "MOVE", "kh", "0"), ":1\r\n")
	expect(t, "back in 0", contents(t, a, 0, "kh"), allWant["h"])
	for _, c := range []struct{ args, want string }{
		{"MOVE kl 0", "-ERR source and destination objects are the same\r\n"},
		{"MOVE nothing 0", "-ERR source and destination objects are the same\r\n"},
		{"MOVE kl x", "-ERR value is not an integer or out of range\r\n"},
		{"MOVE kl 16", "-ERR DB index is out of range\r\n"},
		{"MOVE kl -1", "-ERR DB index is out of range\r\n"},
		{"MOVE kl 99999999999", "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"},
	} {
		expect(t, c.args, a.do(strings.Fields(c.args)...), c.want)
	}
}

func TestSwapdb_RewritesBothDatabases(t *testing.T) {
	a := newApplier(t)
	seedAll(t, a, 1, "a")
	seedAll(t, a, 2, "b")
	a.doDB(1, "SET", "both", "from1")
	seed(t, a, 2, "both", keyspace.List, "from2")
	a.doDB(1, "PEXPIRE", "ah", "70000")
	a.doDB(2, "PEXPIRE", "both", "80000")
	expect(t, "SWAPDB", a.do("SWAPDB", "1", "2"), "+OK\r\n")
	for _, s := range suffixes {
		expect(t, "a in 2", contents(t, a, 2, "a"+string(s)), allWant[string(s)])
		expect(t, "a gone from 1", contents(t, a, 1, "a"+string(s)), "none")
		expect(t, "b in 1", contents(t, a, 1, "b"+string(s)), allWant[string(s)])
		expect(t, "b gone from 2", contents(t, a, 2, "b"+string(s)), "none")
	}
	expect(t, "both in 1", contents(t, a, 1, "both"), "list:from2")
	expect(t, "both in 2", contents(t, a, 2, "both"), "string:from1")
	expect(t, "PTTL ah", read(a.db, 2, a.now, cmd("PTTL", "ah")), ":70000\r\n")
	expect(t, "PTTL both in 1", read(a.db, 1, a.now, cmd("PTTL", "both")), ":80000\r\n")
	expect(t, "PTTL both in 2", read(a.db, 2, a.now, cmd("PTTL", "both")), ":-1\r\n")
	expect(t, "DBSIZE 1", read(a.db, 1, a.now, cmd("DBSIZE")), ":6\r\n")
	expect(t, "DBSIZE 2", read(a.db, 2, a.now, cmd("DBSIZE")), ":6\r\n")
	// Swapping back restores everything; with an empty database too.
	expect(t, "SWAPDB back", a.do("SWAPDB", "2", "1"), "+OK\r\n")
	expect(t, "ah back", contents(t, a, 1, "ah"), allWant["h"])
	expect(t, "SWAPDB empty", a.do("SWAPDB", "1", "9"), "+OK\r\n")
	expect(t, "DBSIZE 1 after", read(a.db, 1, a.now, cmd("DBSIZE")), ":0\r\n")
	expect(t, "az in 9", contents(t, a, 9, "az"), allWant["z"])
	expect(t, "SWAPDB same", a.do("SWAPDB", "9", "9"), "+OK\r\n")
	expect(t, "still in 9", contents(t, a, 9, "az"), allWant["z"])
	// Inside a transaction, later commands see the swap.
	r := a.apply(&Entry{Exec: true, DB: 9, Cmds: [][][]byte{cmd("SET", "new", "1"), cmd("SWAPDB", "9", "4"),
		cmd("EXISTS", "new"), cmd("SELECT", "4"), cmd("GET", "new")}})
	expect(t, "EXEC", r, "*5\r\n+OK\r\n+OK\r\n:0\r\n+OK\r\n$1\r\n1\r\n")
	for _, c := range []struct{ args, want string }{
		{"SWAPDB x 1", "-ERR invalid first DB index\r\n"},
		{"SWAPDB 1 x", "-ERR invalid second DB index\r\n"},
		{"SWAPDB 99999999999 1", "-ERR invalid first DB index\r\n"},
		{"SWAPDB 1 16", "-ERR DB index is out of range\r\n"},
		{"SWAPDB -1 1", "-ERR DB index is out of range\r\n"},
		{"SWAPDB x 16", "-ERR invalid first DB index\r\n"},
	} {
		expect(t, c.args, a.do(strings.Fields(c.args)...), c.want)
	}
}

func TestSwapdb_AbortsWatchers(t *testing.T) {
	a := newApplier(t)
	a.doDB(3, "SET", "w", "1")
	seqs, err := Versions(a.db, 3, a.now, cmd("w", "absent"))
	if err != nil {
		t.Fatal(err)
	}
	a.doDB(4, "SET", "absent", "x")
	a.do("SWAPDB", "3", "4")
	after, _ := Versions(a.db, 3, a.now, cmd("w", "absent"))
	if after[0] == seqs[0] || after[1] == seqs[1] {
		t.Fatalf("versions before %v after %v: SWAPDB must change both", seqs, after)
	}
}

func TestTouch_CountsExistingKeys(t *testing.T) {
	a := newApplier(t)
	seedAll(t, a, 0, "k")
	expect(t, "TOUCH", a.read("TOUCH", "ks", "kl", "nothing", "ks", "kz"), ":4\r\n")
	expect(t, "TOUCH in a transaction", a.do("TOUCH", "kh"), ":1\r\n")
}

func TestExpiry_OfCollections(t *testing.T) {
	a := newApplier(t)
	seedAll(t, a, 0, "k")
	for _, s := range suffixes {
		k := "k" + string(s)
		expect(t, "TTL none "+k, a.read("TTL", k), ":-1\r\n")
		expect(t, "EXPIRE "+k, a.do("EXPIRE", k, "100"), ":1\r\n")
		expect(t, "TTL "+k, a.read("TTL", k), ":100\r\n")
		expect(t, "PERSIST "+k, a.do("PERSIST", k), ":1\r\n")
		expect(t, "TTL after PERSIST "+k, a.read("TTL", k), ":-1\r\n")
		expect(t, "contents "+k, contents(t, a, 0, k), allWant[string(s)])
		expect(t, "PEXPIRE "+k, a.do("PEXPIRE", k, "10"), ":1\r\n")
	}
	a.now += 10
	for _, s := range suffixes {
		k := "k" + string(s)
		expect(t, "expired "+k, a.read("EXISTS", k), ":0\r\n")
		expect(t, "TYPE expired "+k, a.read("TYPE", k), "+none\r\n")
		expect(t, "DUMP expired "+k, a.read("DUMP", k), "$-1\r\n")
	}
	// An expiry in the past deletes a collection at once.
	seed(t, a, 0, "gone", keyspace.Hash, "f", "v")
	expect(t, "EXPIRE -1", a.do("EXPIRE", "gone", "-1"), ":1\r\n")
	expect(t, "deleted", contents(t, a, 0, "gone"), "none")
}

// object runs OBJECT sub key as the server does: a read by the
// subcommand's spec.
func (a *applier) object(sub, key string) string {
	e := &resp.Encoder{Proto: 2}
	args := cmd("OBJECT", sub, key)
	if err := Read(a.db, 0, a.now, LookupName("object|"+strings.ToLower(sub)), args, e); err != nil {
		return "-ERR " + err.Error()
	}
	return string(e.B)
}

// setEncoding changes an encoding setting for one test.
func setEncoding(t *testing.T, name, v string) {
	t.Helper()
	old, _ := GetEncodingSetting(name)
	if err := SetEncodingSetting(name, []byte(v)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { SetEncodingSetting(name, []byte(old)) })
}

func TestObject_EncodingRefcountFreqIdletime(t *testing.T) {
	a := newApplier(t)
	enc := func(k string) string { return a.object("ENCODING", k) }
	long44, long45 := strings.Repeat("a", 44), strings.Repeat("a", 45)
	for v, want := range map[string]string{
		"12345": "int", "-1": "int", "0": "int", "9223372036854775807": "int", "-9223372036854775808": "int",
		"9223372036854775808": "embstr", "0123": "embstr", "+1": "embstr", " 1": "embstr", "-0": "embstr",
		"1.5": "embstr", "": "embstr", long44: "embstr", long45: "raw",
	} {
		a.do("SET", "s", v)
		expect(t, "OBJECT ENCODING of "+v, enc("s"), "$"+strconv.Itoa(len(want))+"\r\n"+want+"\r\n")
	}
	for v, want := range map[string]string{"0": "2147483647", "9999": "2147483647", "10000": "1", "-1": "1", "abc": "1", "01": "1"} {
		a.do("SET", "s", v)
		expect(t, "OBJECT REFCOUNT of "+v, a.object("REFCOUNT", "s"), ":"+want+"\r\n")
	}
	bulk := func(s string) string { return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n" }
	seed(t, a, 0, "l", keyspace.List, "a")
	expect(t, "list", enc("l"), bulk("quicklist"))
	seed(t, a, 0, "iset", keyspace.Set, "1", "2", "-3")
	seed(t, a, 0, "sset", keyspace.Set, "1", "a")
	expect(t, "intset", enc("iset"), bulk("intset"))
	expect(t, "set of strings", enc("sset"), bulk("hashtable"))
	seed(t, a, 0, "h", keyspace.Hash, "f", "v", "g", strings.Repeat("x", 64))
	seed(t, a, 0, "hbig", keyspace.Hash, "f", strings.Repeat("x", 65))
	expect(t, "hash", enc("h"), bulk("listpack"))
	expect(t, "hash with a long value", enc("hbig"), bulk("hashtable"))
	seed(t, a, 0, "z", keyspace.ZSet, "a", "1", strings.Repeat("m", 64), "2")
	seed(t, a, 0, "zbig", keyspace.ZSet, strings.Repeat("m", 65), "2")
	expect(t, "zset", enc("z"), bulk("listpack"))
	expect(t, "zset with a long member", enc("zbig"), bulk("skiplist"))
	expect(t, "missing", enc("nothing"), "$-1\r\n")
	// The settings decide.
	setEncoding(t, "hash-max-ziplist-entries", "1")
	setEncoding(t, "set-max-intset-entries", "2")
	setEncoding(t, "zset-max-listpack-value", "100")
	setEncoding(t, "zset-max-listpack-entries", "1")
	expect(t, "hash over entries", enc("h"), bulk("hashtable"))
	expect(t, "set over entries", enc("iset"), bulk("hashtable"))
	expect(t, "zset over entries", enc("z"), bulk("skiplist"))
	expect(t, "zset under value", enc("zbig"), bulk("listpack"))
	if v, _ := GetEncodingSetting("hash-max-listpack-entries"); v != "1" {
		t.Errorf("alias not shared: hash-max-listpack-entries = %s", v)
	}
	for _, sub := range []string{"FREQ", "IDLETIME", "REFCOUNT", "ENCODING"} {
		expect(t, "OBJECT "+sub+" missing", a.object(sub, "nothing"), "$-1\r\n")
	}
	expect(t, "FREQ", a.object("FREQ", "h"), "-"+errNoLFU+"\r\n")
	expect(t, "IDLETIME", a.object("IDLETIME", "h"), ":0\r\n")
	expect(t, "REFCOUNT hash", a.object("REFCOUNT", "h"), ":1\r\n")
	// OBJECT HELP runs as a data command inside an entry, parsed by its
	// subcommand's spec (as the server parses it).
	help := a.apply(&Entry{Cmds: [][][]byte{cmd("OBJECT", "HELP")},
		Parsed: []Parsed{LookupName("object|help").ParseArgs(cmd("OBJECT", "HELP"), a.now)}})
	if !strings.HasPrefix(help, "*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n") ||
		!strings.HasSuffix(help, "+HELP\r\n+    Prints this help.\r\n") {
		t.Errorf("OBJECT HELP = %q", help)
	}
}

func TestEncodingSettings_ValidateAsRedis(t *testing.T) {
	const (
		intErr = "argument couldn't be parsed into an integer"
		memErr = "argument must be a memory value"
		size   = "argument must be between 0 and 9223372036854775807 inclusive"
		i32    = "argument must be between -2147483648 and 2147483647 inclusive"
		depth  = "argument must be between 0 and 2147483647 inclusive"
	)
	for _, c := range []struct{ name, v, err, get string }{
		{"hash-max-listpack-entries", "-1", size, ""},
		{"hash-max-listpack-entries", "abc", intErr, ""},
		{"hash-max-listpack-entries", "01", intErr, ""},
		{"hash-max-listpack-entries", "+5", intErr, ""},
		{"hash-max-listpack-entries", "", intErr, ""},
		{"hash-max-listpack-entries", "9223372036854775808", intErr, ""},
		{"hash-max-listpack-entries", "9223372036854775807", "", "9223372036854775807"},
		{"hash-max-ziplist-value", "-1", memErr, ""},
		{"hash-max-ziplist-value", "+5", memErr, ""},
		{"hash-max-ziplist-value", "1.5", memErr, ""},
		{"hash-max-ziplist-value", " 5", memErr, ""},
		{"hash-max-ziplist-value", "-0", memErr, ""},
		{"hash-max-ziplist-value", "1k", "", "1000"},
		{"hash-max-ziplist-value", "1kb", "", "1024"},
		{"hash-max-ziplist-value", "5GB", "", "5368709120"},
		{"hash-max-ziplist-value", "k", "", "0"},
		{"hash-max-ziplist-value", "", "", "0"},
		{"hash-max-ziplist-value", "01", "", "1"},
		{"zset-max-listpack-value", "9223372036854775808", size, ""},
		{"zset-max-listpack-value", "99999999999999999999", size, ""},
		{"zset-max-listpack-value", "36028797018963968kb", "", "0"},
		{"list-max-listpack-size", "-1", "", "-1"},
		{"list-max-ziplist-size", "2147483648", i32, ""},
		{"list-compress-depth", "-1", depth, ""},
		{"list-compress-depth", "2147483647", "", "2147483647"},
		{"set-max-intset-entries", "-2147483649", size, ""},
		{"zset-max-ziplist-entries", "1k", intErr, ""},
	} {
		old, _ := GetEncodingSetting(c.name)
		err := SetEncodingSetting(c.name, []byte(c.v))
		got, _ := GetEncodingSetting(c.name)
		SetEncodingSetting(c.name, []byte(old))
		switch {
		case c.err != "" && (err == nil || err.Error() != c.err):
			t.Errorf("%s %q: error %v, want %q", c.name, c.v, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%s %q: %v", c.name, c.v, err)
		case c.err == "" && got != c.get:
			t.Errorf("%s %q: reads %s, want %s", c.name, c.v, got, c.get)
		}
	}
	want := map[string]string{"hash-max-listpack-entries": "512", "hash-max-listpack-value": "64",
		"zset-max-listpack-entries": "128", "zset-max-listpack-value": "64", "set-max-intset-entries": "512",
		"list-max-listpack-size": "-2", "list-compress-depth": "0", "hash-max-ziplist-entries": "512",
		"hash-max-ziplist-value": "64", "zset-max-ziplist-entries": "128", "zset-max-ziplist-value": "64",
		"list-max-ziplist-size": "-2", "hll-sparse-max-bytes": "3000"}
	names := EncodingSettings()
	if len(names) != len(want) {
		t.Fatalf("settings %v", names)
	}
	for n, v := range want {
		if got, ok := GetEncodingSetting(n); !ok || got != v {
			t.Errorf("default %s = %q, want %s", n, got, v)
		}
	}
}

// arr renders an array of bulk strings (nil: a null bulk) as RESP2.
func arr(items ...any) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(items))
	for _, it := range items {
		if it == nil {
			b.WriteString("$-1\r\n")
			continue
		}
		s := it.(string)
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(s), s)
	}
	return b.String()
}

func strs(s ...string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

func TestSort_Options(t *testing.T) {
	a := newApplier(t)
	seed(t, a, 0, "l", keyspace.List, "3", "1", "10", "2", "-5.5", "1e1")
	seed(t, a, 0, "words", keyspace.List, "banana", "apple", "cherry", "apple")
	seed(t, a, 0, "st", keyspace.Set, "3", "20", "1")
	seed(t, a, 0, "z", keyspace.ZSet, "c", "1", "a", "3", "b", "2")
	a.do("MSET", "w_3", "30", "w_1", "10", "w_10", "5", "w_2", "20", "w_-5.5", "1", "w_1e1", "5",
		"n_3", "three", "n_1", "one", "d_c", "0.5", "d_a", "9")
	seed(t, a, 0, "obj_a", keyspace.Hash, "name", "Alice", "age", "30")
	seed(t, a, 0, "obj_b", keyspace.Hash, "name", "Bob", "age", "25")
	seed(t, a, 0, "obj_c", keyspace.Hash, "name", "Carol")
	for _, c := range []struct {
		args string
		want string
	}{
		{"SORT l", arr(strs("-5.5", "1", "2", "3", "10", "1e1")...)},
		{"SORT l DESC", arr(strs("1e1", "10", "3", "2", "1", "-5.5")...)},
		{"SORT l LIMIT 1 2", arr(strs("1", "2")...)},
		{"SORT l LIMIT -5 2", arr(strs("-5.5", "1")...)},
		{"SORT l LIMIT 4 100", arr(strs("10", "1e1")...)},
		{"SORT l LIMIT 6 1", arr()},
		{"SORT l LIMIT 2 0", arr()},
		{"SORT l LIMIT 2 -1", arr(strs("2", "3", "10", "1e1")...)},
		{"SORT l ALPHA", arr(strs("-5.5", "1", "10", "1e1", "2", "3")...)},
		{"SORT l BY nosort", arr(strs("3", "1", "10", "2", "-5.5", "1e1")...)},
		{"SORT l BY nosort DESC LIMIT 1 2", arr(strs("-5.5", "2")...)},
		{"SORT l BY w_*", arr(strs("-5.5", "10", "1e1", "1", "2", "3")...)},
		{"SORT l BY w_* DESC LIMIT 0 2", arr(strs("3", "2")...)},
		{"SORT l BY w_* GET # GET n_*", arr("-5.5", nil, "10", nil, "1e1", nil, "1", "one", "2", nil, "3", "three")},
		{"SORT l BY n_* ALPHA LIMIT 0 3", arr(strs("10", "2", "-5.5")...)},
		{"SORT l BY n_*", "-ERR One or more scores can't be converted into double\r\n"},
		{"SORT l GET nostar", arr(nil, nil, nil, nil, nil, nil)},
		{"SORT words ALPHA", arr(strs("apple", "apple", "banana", "cherry")...)},
		{"SORT words ALPHA DESC", arr(strs("cherry", "banana", "apple", "apple")...)},
		{"SORT words", "-ERR One or more scores can't be converted into double\r\n"},
		{"SORT words BY nosort", arr(strs("banana", "apple", "cherry", "apple")...)},
		{"SORT st", arr(strs("1", "3", "20")...)},
		{"SORT st DESC ALPHA", arr(strs("3", "20", "1")...)},
		{"SORT st BY nosort", arr(strs("1", "3", "20")...)}, // an intset's order
		{"SORT st BY nosort DESC LIMIT 1 2", arr(strs("3", "20")...)},
		{"SORT z", "-ERR One or more scores can't be converted into double\r\n"},
		{"SORT z ALPHA", arr(strs("a", "b", "c")...)},
		{"SORT z BY nosort", arr(strs("c", "b", "a")...)},
		{"SORT z BY nosort DESC", arr(strs("a", "b", "c")...)},
		{"SORT z BY nosort LIMIT 1 1", arr(strs("b")...)},
		{"SORT z BY d_*", arr(strs("b", "c", "a")...)}, // missing weights are 0
		{"SORT z BY d_* ALPHA", arr(strs("b", "c", "a")...)},
		{"SORT z BY obj_*->age GET obj_*->name GET # GET obj_*->nofield", arr("Carol", "c", nil, "Bob", "b", nil, "Alice", "a", nil)},
		{"SORT z BY obj_*->name ALPHA DESC GET obj_*->age", arr(nil, "25", "30")},
		{"SORT z BY obj_*-> ALPHA GET obj_*->", arr(nil, nil, nil)},
		{"SORT nothing", arr()},
		{"SORT nothing GET #", arr()},
		{"SORT_RO l LIMIT 0 1", arr(strs("-5.5")...)},
		{"SORT l LIMIT 1", "-ERR syntax error\r\n"},
		{"SORT l LIMIT a 1", "-ERR value is not an integer or out of range\r\n"},
		{"SORT l LIMIT 1 a", "-ERR value is not an integer or out of range\r\n"},
		{"SORT l FOO", "-ERR syntax error\r\n"},
		{"SORT l BY", "-ERR syntax error\r\n"},
		{"SORT l GET", "-ERR syntax error\r\n"},
		{"SORT l STORE", "-ERR syntax error\r\n"},
		{"SORT_RO l STORE dst", "-ERR syntax error\r\n"},
		{"SORT w_1", "-" + errWrongType + "\r\n"},
		{"SORT obj_a", "-" + errWrongType + "\r\n"},
		{"SORT w_1 FOO", "-ERR syntax error\r\n"},
	} {
		expect(t, c.args, a.do(strings.Fields(c.args)...), c.want)
	}
	expect(t, "SORT_RO as a read", a.read("SORT_RO", "z", "ALPHA", "DESC"), arr(strs("c", "b", "a")...))
	expect(t, "SORT_RO STORE as a read", a.read("SORT_RO", "z", "STORE", "x"), "-ERR syntax error\r\n")
}

func TestSort_Store(t *testing.T) {
	a := newApplier(t)
	seed(t, a, 0, "l", keyspace.List, "3", "1", "2")
	seed(t, a, 0, "st", keyspace.Set, "b", "c", "a")
	a.do("MSET", "v_1", "one", "dst", "old")
	a.do("EXPIRE", "dst", "100")
	expect(t, "STORE", a.do("SORT", "l", "STORE", "dst"), ":3\r\n")
	expect(t, "stored", contents(t, a, 0, "dst"), "list:1,2,3")
	expect(t, "STORE drops the TTL", a.read("TTL", "dst"), ":-1\r\n")
	expect(t, "STORE GET", a.do("SORT", "l", "GET", "v_*", "GET", "#", "STORE", "dst"), ":6\r\n")
	expect(t, "stored GET", contents(t, a, 0, "dst"), "list:one,1,,2,,3")
	// A set sorted BY a constant is sorted ALPHA when stored.
	expect(t, "STORE set nosort", a.do("SORT", "st", "BY", "nosort", "DESC", "STORE", "dst"), ":3\r\n")
	expect(t, "stored set", contents(t, a, 0, "dst"), "list:c,b,a")
	expect(t, "STORE onto itself", a.do("SORT", "l", "DESC", "STORE", "l"), ":3\r\n")
	expect(t, "l sorted", contents(t, a, 0, "l"), "list:3,2,1")
	// An empty result deletes the destination.
	expect(t, "STORE empty", a.do("SORT", "nothing", "STORE", "dst"), ":0\r\n")
	expect(t, "deleted", contents(t, a, 0, "dst"), "none")
	expect(t, "STORE LIMIT 0 0", a.do("SORT", "l", "LIMIT", "0", "0", "STORE", "l"), ":0\r\n")
	expect(t, "l deleted", contents(t, a, 0, "l"), "none")
	// A conversion error stores nothing.
	seed(t, a, 0, "words", keyspace.List, "x")
	a.do("SET", "dst", "keep")
	expect(t, "STORE bad", a.do("SORT", "words", "STORE", "dst"), "-ERR One or more scores can't be converted into double\r\n")
	expect(t, "kept", contents(t, a, 0, "dst"), "string:keep")
}

func TestStrtod_AsC(t *testing.T) {
	for s, want := range map[string]any{
		"1": 1.0, "-2.5": -2.5, " 3": 3.0, "\t\n4": 4.0, "+5": 5.0, "1e3": 1000.0, ".5": 0.5, "5.": 5.0,
		"0x10": 16.0, "0x1p3": 8.0, "inf": math.Inf(1), "-Infinity": math.Inf(-1), "": 0.0, "7\x00junk": 7.0,
		"0": 0.0, "0e5": 0.0, "-0": 0.0, "1e-300": 1e-300,
		"abc": nil, "1 ": nil, " ": nil, "nan": nil, "1e400": nil, "1e-400": nil, "1e-310": nil, "--1": nil,
		"1_0": nil, "0x": nil, "1e": nil,
	} {
		f, ok := strtod([]byte(s))
		switch {
		case want == nil && ok:
			t.Errorf("strtod(%q) = %v, want an error", s, f)
		case want != nil && (!ok || f != want.(float64)):
			t.Errorf("strtod(%q) = %v %v, want %v", s, f, ok, want)
		}
	}
}

func TestLookupByPattern(t *testing.T) {
	a := newApplier(t)
	a.do("MSET", "pre_x_post", "1", "k-x", "2", "x", "3")
	seed(t, a, 0, "h_x", keyspace.Hash, "f->g", "4", "f", "5")
	err := a.db.View(a.now, func(v *engine.View) error {
		c := &ctx{db: a.db, view: v, now: a.now}
		for pat, want := range map[string]any{
			"#": "x", "pre_*_post": "1", "k-*": "2", "*": "3", "h_*->f": "5", "h_*->f->g": "4",
			"h_*->": nil, "nostar": nil, "h_*->missing": nil, "pre_*_post->f": nil, "*->x": nil,
		} {
			got, ok := c.lookupByPattern([]byte(pat), []byte("x"))
			switch {
			case want == nil && ok:
				t.Errorf("%s: %q, want nothing", pat, got)
			case want != nil && (!ok || !bytes.Equal(got, []byte(want.(string)))):
				t.Errorf("%s: %q %v, want %q", pat, got, ok, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestGenericSpecs_AsRedis(t *testing.T) {
	for _, c := range []struct {
		name        string
		arity       int
		flags       string
		first, last int
		cats        string
	}{
		{"copy", -3, "denyoom write", 1, 2, "@keyspace @slow @write"},
		{"move", 3, "fast write", 1, 1, "@fast @keyspace @write"},
		{"swapdb", 3, "fast write", 0, 0, "@dangerous @fast @keyspace @write"},
		{"touch", -2, "fast readonly", 1, -1, "@fast @keyspace @read"},
		{"sort", -2, "denyoom movablekeys write", 1, 1, "@dangerous @list @set @slow @sortedset @write"},
		{"sort_ro", -2, "movablekeys readonly", 1, 1, "@dangerous @list @read @set @slow @sortedset"},
		{"dump", 2, "readonly", 1, 1, "@keyspace @read @slow"},
		{"restore", -4, "denyoom write", 1, 1, "@dangerous @keyspace @slow @write"},
		{"object|encoding", 3, "readonly", 2, 2, "@keyspace @read @slow"},
		{"object|help", 2, "loading stale", 0, 0, "@keyspace @slow"},
	} {
		s := LookupName(c.name)
		if s == nil {
			t.Errorf("%s: not registered", c.name)
			continue
		}
		flags := s.Flags.FlagNames()
		sort.Strings(flags)
		cats := s.Categories().Names()
		sort.Strings(cats)
		got := fmt.Sprint(s.Arity, strings.Join(flags, " "), s.FirstKey, s.LastKey, strings.Join(cats, " "))
		want := fmt.Sprint(c.arity, c.flags, c.first, c.last, c.cats)
		if got != want {
			t.Errorf("%s: %s, want %s", c.name, got, want)
		}
		if s.Summary == "" || s.Complexity == "" {
			t.Errorf("%s: no docs", c.name)
		}
	}
}
