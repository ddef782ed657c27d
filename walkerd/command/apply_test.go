package command

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/internal/resp"
)

func TestApply_StoresTheIndexWithTheData(t *testing.T) {
	a := newApplier(t)
	a.do("SET", "k", "v")
	if got := a.db.Seq(); got != 1 {
		t.Fatalf("Seq after index 1 = %d", got)
	}
	a.do("GET", "k")            // a read: writes nothing
	a.do("SET", "k", "v", "NX") // changes nothing
	if got := a.db.Seq(); got != 1 {
		t.Fatalf("Seq after no-op entries = %d, want 1", got)
	}
	a.do("MSET", "a", "1", "b", "2")
	if got := a.db.Seq(); got != 4 {
		t.Fatalf("Seq = %d, want 4", got)
	}
	seqs, err := Versions(a.db, 0, a.now, cmd("k", "a", "b", "none"))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seqs) != "[1 4 4 0]" {
		t.Fatalf("versions %v", seqs)
	}
}

func TestApply_RelativeTTLsUseTheEntryClock(t *testing.T) {
	a := newApplier(t)
	now := int64(2_000_000_000_000)
	a.apply(&Entry{NowMs: now, Cmds: [][][]byte{cmd("SET", "k", "v", "EX", "10")}})
	got := read(a.db, 0, now, cmd("PEXPIRETIME", "k"))
	if want := ":" + strconv.FormatInt(now+10_000, 10) + "\r\n"; got != want {
		t.Fatalf("PEXPIRETIME = %q, want %q", got, want)
	}
	// At the entry's time, a key that expired by then is gone, whatever the
	// node's clock says.
	r := a.apply(&Entry{NowMs: now + 10_000, Cmds: [][][]byte{cmd("GET", "k")}})
	if r != "$-1\r\n" {
		t.Fatalf("GET at expiry = %q", r)
	}
	r = a.apply(&Entry{NowMs: now + 9_999, Cmds: [][][]byte{cmd("GET", "k")}})
	if r != "$1\r\nv\r\n" {
		t.Fatalf("GET before expiry = %q", r)
	}
}

func TestApply_ExecSeesItsOwnWritesAndAbortsOnWatch(t *testing.T) {
	a := newApplier(t)
	a.do("SET", "k", "1")
	seqs, _ := Versions(a.db, 0, a.now, cmd("k"))
	tx := func(watchSeq uint64) string {
		return a.apply(&Entry{Exec: true, Watches: []Watch{{DB: 0, Key: []byte("k"), Seq: watchSeq}},
			Cmds: [][][]byte{cmd("INCR", "k"), cmd("GET", "k"), cmd("SELECT", "3"), cmd("SET", "k", "x"), cmd("GET", "k")}})
	}
	if got := tx(seqs[0] + 1); got != "*-1\r\n" {
		t.Fatalf("stale watch: %q", got)
	}
	if got := tx(seqs[0]); got != "*5\r\n:2\r\n$1\r\n2\r\n+OK\r\n+OK\r\n$1\r\nx\r\n" {
		t.Fatalf("exec: %q", got)
	}
	if got := read(a.db, 3, a.now, cmd("GET", "k")); got != "$1\r\nx\r\n" {
		t.Fatalf("db 3: %q", got)
	}
}

func TestApply_DelExpiredSparesKeysSetAgain(t *testing.T) {
	a := newApplier(t)
	a.apply(&Entry{NowMs: 1000, Cmds: [][][]byte{cmd("SET", "old", "v", "PX", "10")}})
	a.apply(&Entry{NowMs: 1000, Cmds: [][][]byte{cmd("SET", "again", "v", "PX", "10")}})
	a.apply(&Entry{NowMs: 1000, Cmds: [][][]byte{cmd("SET", "live", "v", "PX", "100000")}})
	// The sweeper saw "old" and "again" expired at 1020; "again" is set
	// anew before its WALKER.DELEXPIRED applies.
	a.apply(&Entry{NowMs: 1030, Cmds: [][][]byte{cmd("SET", "again", "new")}})
	r := a.apply(&Entry{NowMs: 1040, Cmds: [][][]byte{cmd("WALKER.DELEXPIRED", "old", "again", "live", "missing")}})
	if r != ":1\r\n" {
		t.Fatalf("DELEXPIRED = %q", r)
	}
	if _, err := rawMeta(a.db, keyspace.MetaKey(0, []byte("old"))); err == nil {
		t.Error("old still stored")
	}
	if got := read(a.db, 0, 1050, cmd("MGET", "again", "live")); got != "*2\r\n$3\r\nnew\r\n$1\r\nv\r\n" {
		t.Errorf("MGET = %q", got)
	}
}

func TestExpiredKeys_FindsOnlyExpiredUserKeys(t *testing.T) {
	a := newApplier(t)
	a.apply(&Entry{NowMs: 1000, Cmds: [][][]byte{cmd("SET", "x", "v", "PX", "10")}})
	a.apply(&Entry{NowMs: 1000, DB: 5, Cmds: [][][]byte{cmd("SET", "y", "v", "PX", "10")}})
	a.apply(&Entry{NowMs: 1000, Cmds: [][][]byte{cmd("SET", "z", "v", "PX", "100000")}})
	a.apply(&Entry{NowMs: 1000, Cmds: [][][]byte{cmd("WALKER.SETMEMBER", "n1", "127.0.0.1:6379")}})
	var dbs []int
	var keys []string
	var cursor []byte
	for {
		d, k, next, err := ExpiredKeys(a.db, 2000, cursor, 1)
		if err != nil {
			t.Fatal(err)
		}
		dbs = append(dbs, d...)
		for _, kk := range k {
			keys = append(keys, string(kk))
		}
		if next == nil {
			break
		}
		cursor = next
	}
	if fmt.Sprint(dbs, keys) != "[0 5] [x y]" {
		t.Fatalf("got %v %v", dbs, keys)
	}
}

func TestMembers_SetAndDelete(t *testing.T) {
	a := newApplier(t)
	a.do("WALKER.SETMEMBER", "n1", "10.0.0.1:6379")
	a.do("WALKER.SETMEMBER", "n2", "10.0.0.2:6379")
	a.do("WALKER.SETMEMBER", "n1", "10.0.0.9:6379")
	if r := a.do("WALKER.DELMEMBER", "n2"); r != ":1\r\n" {
		t.Fatalf("DELMEMBER = %q", r)
	}
	a.do("FLUSHALL") // never touches members
	m, err := Members(a.db)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(m) != "map[n1:10.0.0.9:6379]" {
		t.Fatalf("members %v", m)
	}
	if got := a.read("DBSIZE"); got != ":0\r\n" {
		t.Fatalf("DBSIZE %q", got)
	}
}

// TestApply_PipelineEntryRepliesEachCommand: an entry of several commands
// without Exec (a client's pipelined writes, proposed together) answers
// each command on its own, each sees the writes before it, and a command
// refused as a whole (an element too long for a key) takes back only its
// own writes.
func TestApply_PipelineEntryRepliesEachCommand(t *testing.T) {
	a := newApplier(t)
	long := strings.Repeat("f", MaxKeyLen+10)
	a.index++
	res, err := ApplyEntry(a.db, a.index, &Entry{NowMs: a.now, Cmds: [][][]byte{
		cmd("SET", "a", "1"),
		cmd("INCR", "a"),
		cmd("LPUSH", "a", "x"),                 // WRONGTYPE: a is a string
		cmd("HSET", "h", "f1", "v"),            // stands
		cmd("HSET", "h", "f2", "v", long, "v"), // refused whole: f2 taken back
		cmd("HLEN", "h"),
		cmd("SET", "b", "2"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Error != "" || len(res.Replies) != 7 {
		t.Fatalf("result %+v", res)
	}
	var got []string
	for _, r := range res.Replies {
		e := &resp.Encoder{Proto: 2}
		r.WriteTo(e)
		got = append(got, string(e.B))
	}
	want := []string{"+OK\r\n", ":2\r\n", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
		":1\r\n", "-" + string(ErrElementTooLong) + "\r\n", ":1\r\n", "+OK\r\n"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("replies\n got %q\nwant %q", got, want)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"GET", "a"}, "$1\r\n2\r\n"},
		{[]string{"GET", "b"}, "$1\r\n2\r\n"},
		{[]string{"HLEN", "h"}, ":1\r\n"},
		{[]string{"HEXISTS", "h", "f2"}, ":0\r\n"},
	} {
		if got := a.read(c.args...); got != c.want {
			t.Errorf("%v: %q, want %q", c.args, got, c.want)
		}
	}
}

func TestApply_MalformedEntriesGetErrorReplies(t *testing.T) {
	a := newApplier(t)
	for _, e := range []*Entry{
		nil,
		{DB: 16, Cmds: [][][]byte{cmd("SET", "a", "b")}},
		{DB: -1, Cmds: [][][]byte{cmd("SET", "a", "b")}},
		{Cmds: nil},
		{Cmds: [][][]byte{{}}},
		{Cmds: [][][]byte{cmd("NOSUCH")}},
		{Cmds: [][][]byte{cmd("SET")}},
		{Exec: true, Watches: []Watch{{DB: 99, Key: []byte("k")}}, Cmds: [][][]byte{cmd("SET", "a", "b")}},
	} {
		a.index++
		res, err := ApplyEntry(a.db, a.index, e)
		if err != nil {
			t.Fatalf("%+v: %v", e, err)
		}
		reply := render(res, e != nil && e.Exec)
		if len(reply) == 0 || (reply[0] != '-' && reply != "*-1\r\n" && !strings.Contains(reply, "-ERR")) {
			t.Errorf("%+v: reply %q", e, reply)
		}
	}
	if got := a.read("DBSIZE"); got != ":0\r\n" {
		t.Fatalf("malformed entries wrote: DBSIZE %q", got)
	}
}

// randomCommand draws a command, valid or not, over a small key space.
func randomCommand(r *rand.Rand) [][]byte {
	keys := []string{"a", "b", "c", "n", "f", ""}
	k := func() string { return keys[r.IntN(len(keys))] }
	num := func() string {
		switch r.IntN(6) {
		case 0:
			return "-1"
		case 1:
			return "9223372036854775807"
		case 2:
			return "x"
		case 3:
			return "0"
		}
		return strconv.Itoa(r.IntN(2000))
	}
	val := func() string {
		switch r.IntN(4) {
		case 0:
			return num()
		case 1:
			return "1.5"
		case 2:
			return strings.Repeat("v", r.IntN(20))
		}
		return "hello"
	}
	opts := []string{"NX", "XX", "GET", "KEEPTTL", "EX", "PX", "EXAT", "PXAT", "PERSIST", "GT", "LT", "FOO"}
	opt := func() string { return opts[r.IntN(len(opts))] }
	templates := []func() []string{
		func() []string { return []string{"SET", k(), val()} },
		func() []string { return []string{"SET", k(), val(), opt(), num()} },
		func() []string { return []string{"SET", k(), val(), opt(), opt()} },
		func() []string { return []string{"GET", k()} },
		func() []string { return []string{"MSET", k(), val(), k(), val()} },
		func() []string { return []string{"MSETNX", k(), val(), k()} },
		func() []string { return []string{"MGET", k(), k(), k()} },
		func() []string { return []string{"INCR", k()} },
		func() []string { return []string{"INCRBY", k(), num()} },
		func() []string { return []string{"DECRBY", k(), num()} },
		func() []string { return []string{"INCRBYFLOAT", k(), val()} },
		func() []string { return []string{"APPEND", k(), val()} },
		func() []string { return []string{"SETRANGE", k(), num(), val()} },
		func() []string { return []string{"GETRANGE", k(), num(), num()} },
		func() []string { return []string{"GETEX", k(), opt(), num()} },
		func() []string { return []string{"GETDEL", k()} },
		func() []string { return []string{"GETSET", k(), val()} },
		func() []string { return []string{"SETEX", k(), num(), val()} },
		func() []string { return []string{"PSETEX", k(), num(), val()} },
		func() []string { return []string{"DEL", k(), k()} },
		func() []string { return []string{"RENAME", k(), k()} },
		func() []string { return []string{"RENAMENX", k(), k()} },
		func() []string { return []string{"EXPIRE", k(), num(), opt()} },
		func() []string { return []string{"PEXPIRE", k(), num()} },
		func() []string { return []string{"EXPIREAT", k(), num()} },
		func() []string { return []string{"PERSIST", k()} },
		func() []string { return []string{"TTL", k()} },
		func() []string { return []string{"KEYS", "*"} },
		func() []string { return []string{"RANDOMKEY"} },
		func() []string { return []string{"DBSIZE"} },
		func() []string { return []string{"SELECT", num()} },
		func() []string { return []string{"FLUSHDB"} },
		func() []string { return []string{"TIME"} },
		func() []string { return []string{"WALKER.DELEXPIRED", k(), k()} },
		func() []string { return []string{"NOSUCH", k()} },
		func() []string { return []string{opt(), k(), val()} },
	}
	args := templates[r.IntN(len(templates))]()
	if r.IntN(20) == 0 {
		args = args[:r.IntN(len(args))+1] // wrong arity
	}
	return cmd(args...)
}

func randomEntry(r *rand.Rand, now int64) *Entry {
	e := &Entry{NowMs: now + int64(r.IntN(3000)), DB: r.IntN(3)}
	if r.IntN(4) == 0 {
		e.Exec = true
		for range r.IntN(6) {
			e.Cmds = append(e.Cmds, randomCommand(r))
		}
		if r.IntN(2) == 0 {
			e.Watches = []Watch{{DB: r.IntN(3), Key: []byte("a"), Seq: uint64(r.IntN(50))}}
		}
	} else {
		e.Cmds = [][][]byte{randomCommand(r)}
	}
	return e
}

func TestApply_IsDeterministic(t *testing.T) {
	a, b := newApplier(t), newApplier(t)
	r := rand.New(rand.NewPCG(1, 2))
	now := int64(1_700_000_000_000)
	for i := range 3000 {
		e := randomEntry(r, now)
		now += int64(r.IntN(50))
		// Each node decodes its own copy, as from the log.
		ea, err := DecodeEntry(e.Encode())
		if err != nil {
			t.Fatal(err)
		}
		eb, _ := DecodeEntry(e.Encode())
		ra, rb := a.apply(ea), b.apply(eb)
		if ra != rb {
			t.Fatalf("entry %d %q: replies differ:\n%q\n%q", i, e.Cmds, ra, rb)
		}
		if strings.Contains(ra, "internal error") {
			t.Fatalf("entry %d %q: %q", i, e.Cmds, ra)
		}
	}
	if da, db := dump(t, a.db), dump(t, b.db); da != db {
		t.Fatalf("states differ:\n%s\n---\n%s", da, db)
	}
}

func TestApply_NeverPanicsOnGarbage(t *testing.T) {
	a := newApplier(t)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 2000 {
		n := r.IntN(6)
		args := make([][]byte, n)
		for j := range args {
			b := make([]byte, r.IntN(12))
			for k := range b {
				b[k] = byte(r.IntN(256))
			}
			args[j] = b
		}
		if n > 0 && r.IntN(2) == 0 {
			names := Specs()
			args[0] = []byte(names[r.IntN(len(names))].Name)
		}
		e := &Entry{NowMs: int64(r.Uint64()), DB: r.IntN(16), Cmds: [][][]byte{args}, Exec: r.IntN(2) == 0}
		reply := a.apply(e)
		if strings.Contains(reply, "internal error") {
			t.Fatalf("entry %d %q: %q", i, args, reply)
		}
	}
}

func TestCheck_RefusesWhatTheEngineWouldRefuse(t *testing.T) {
	defer func(k, v int) { MaxKeyLen, MaxValueLen = k, v }(MaxKeyLen, MaxValueLen)
	MaxKeyLen, MaxValueLen = 8, 16
	long := strings.Repeat("k", 9)
	big := strings.Repeat("v", 17)
	for _, c := range []struct {
		args []string
		want error
	}{
		{[]string{"SET", long, "v"}, ErrKeyTooLong},
		{[]string{"MSET", "a", "1", long, "2"}, ErrKeyTooLong},
		{[]string{"SET", "k", big}, ErrStringTooLong},
		{[]string{"MSET", "a", big}, ErrStringTooLong},
		{[]string{"GET", long}, nil}, // reads of long keys simply find nothing
		{[]string{"SET", "k", "v", "EX", "0"}, errExpireTime("set")},
		{[]string{"SET", "k"}, ErrArity("set")},
		{[]string{"INCRBY", "k", "x"}, ErrNotInteger},
		{[]string{"GETEX", "k", "FOO"}, ErrSyntax},
		{[]string{"FLUSHALL", "NOW"}, ErrSyntax},
	} {
		if err := ParseCommand(cmd(c.args...), 1000).Err; err != c.want {
			t.Errorf("%q: %v, want %v", c.args, err, c.want)
		}
	}
	// Apply refuses the same, with nothing written.
	a := newApplier(t)
	if r := a.do("SET", long, "v"); r != "-ERR key is too large\r\n" {
		t.Fatalf("apply: %q", r)
	}
	if a.db.Len() != 0 {
		t.Fatal("written")
	}
}

// A string value among the entry's Room arguments is stored from where it
// lies: its type byte goes in the spare byte before it, not into a copy
// (ctx.encodeString), and GET, GETRANGE and STRLEN read it back. A value
// outside Room is encoded as a copy, leaving its buffer as it was.
func TestApply_AStringValueInRoomIsStoredInPlace(t *testing.T) {
	a := newApplier(t)
	val := strings.Repeat("v", 3000) + "end"
	buf := make([]byte, 8+len(val)+8)
	for i := range buf {
		buf[i] = 0xEE
	}
	copy(buf[8:], val)
	r := Roomy{Buf: buf, Off: 8, Len: len(val)}
	e := &Entry{Cmds: [][][]byte{{[]byte("SET"), []byte("k"), r.Arg()}}, Room: []Roomy{r}}
	if got := a.apply(e); got != "+OK\r\n" {
		t.Fatalf("SET = %q", got)
	}
	if buf[7] != byte(keyspace.String) {
		t.Fatalf("the byte before the value is %#x, not the string type byte: the value was copied", buf[7])
	}
	if got := a.read("GET", "k"); got != "$3003\r\n"+val+"\r\n" {
		t.Fatalf("GET k: %d bytes", len(got))
	}
	if got := a.read("GETRANGE", "k", "-3", "-1"); got != "$3\r\nend\r\n" {
		t.Fatalf("GETRANGE = %q", got)
	}

	other := []byte(strings.Repeat("w", 3000))
	plainBuf := append([]byte{0xEE}, other...)
	if got := a.apply(&Entry{Cmds: [][][]byte{{[]byte("SET"), []byte("w"), plainBuf[1:]}}}); got != "+OK\r\n" {
		t.Fatalf("SET w = %q", got)
	}
	if plainBuf[0] != 0xEE {
		t.Fatal("a value outside Room had the byte before it written")
	}
	if got := a.read("STRLEN", "w"); got != ":3000\r\n" {
		t.Fatalf("STRLEN w = %q", got)
	}
}
