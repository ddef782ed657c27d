package command

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/internal/resp"
)

func TestSet_MemberCommandsReplyAsRedis(t *testing.T) {
	a := newApplier(t)
	a.do("SET", "str", "v")
	for _, c := range []struct{ cmd, want string }{
		{"SADD s b a c a", ":3\r\n"},
		{"SADD s a d", ":1\r\n"},
		{"SCARD s", ":4\r\n"},
		{"SCARD nokey", ":0\r\n"},
		{"SISMEMBER s a", ":1\r\n"},
		{"SISMEMBER s z", ":0\r\n"},
		{"SMISMEMBER s a z d", "*3\r\n:1\r\n:0\r\n:1\r\n"},
		{"SMISMEMBER nokey a", "*1\r\n:0\r\n"},
		{"SMEMBERS s", hsBulks("a", "b", "c", "d")},
		{"SMEMBERS nokey", "*0\r\n"},
		{"SREM s a z", ":1\r\n"},
		{"SREM nokey a", ":0\r\n"},
		{"SADD str a", "-" + errWrongType + "\r\n"},
		{"SREM str a", "-" + errWrongType + "\r\n"},
		{"SCARD str", "-" + errWrongType + "\r\n"},
		{"SISMEMBER str a", "-" + errWrongType + "\r\n"},
		{"SMISMEMBER str a", "-" + errWrongType + "\r\n"},
		{"SMEMBERS str", "-" + errWrongType + "\r\n"},
	} {
		hsExpect(t, c.cmd, a.do(strings.Fields(c.cmd)...), c.want)
	}
}

func TestSet_RepliesAreRESP3Sets(t *testing.T) {
	a := newApplier(t)
	a.do("SADD", "s", "a", "b")
	for _, c := range []struct{ cmd, want string }{
		{"SMEMBERS s", "~2\r\n$1\r\na\r\n$1\r\nb\r\n"},
		{"SINTER s s", "~2\r\n$1\r\na\r\n$1\r\nb\r\n"},
		{"SUNION s nokey", "~2\r\n$1\r\na\r\n$1\r\nb\r\n"},
		{"SDIFF s nokey", "~2\r\n$1\r\na\r\n$1\r\nb\r\n"},
		{"SDIFF nokey s", "~0\r\n"},
		{"SRANDMEMBER s 5", "*2\r\n$1\r\na\r\n$1\r\nb\r\n"},
		{"SRANDMEMBER nokey", "_\r\n"},
	} {
		e := &resp.Encoder{Proto: 3}
		if err := Read(a.db, 0, a.now, nil, cmd(strings.Fields(c.cmd)...), e); err != nil {
			t.Fatal(err)
		}
		hsExpect(t, c.cmd, string(e.B), c.want)
	}
	// SPOP with a count answers a set too.
	a.index++
	res, err := ApplyEntry(a.db, a.index, &Entry{NowMs: a.now, Cmds: [][][]byte{cmd("SPOP", "s", "5")}})
	if err != nil {
		t.Fatal(err)
	}
	e := &resp.Encoder{Proto: 3}
	res.Reply().WriteTo(e)
	hsExpect(t, "SPOP s 5", string(e.B), "~2\r\n$1\r\na\r\n$1\r\nb\r\n")
}

func TestSet_WritesNameTheirEvents(t *testing.T) {
	a := newApplier(t)
	for _, c := range []struct{ cmd, reply, events string }{
		{"SADD s a b", ":2\r\n", "s:sadd"},
		{"SADD s a", ":0\r\n", ""},
		{"SREM s z", ":0\r\n", ""},
		{"SREM s a", ":1\r\n", "s:srem"},
		{"SMOVE s d b", ":1\r\n", "s:srem s:del d:sadd"},
		{"SADD s b", ":1\r\n", "s:sadd"},
		{"SMOVE s d b", ":1\r\n", "s:srem s:del"},
		{"SMOVE d d b", ":1\r\n", ""},
		{"SADD x 1 2", ":2\r\n", "x:sadd"},
		{"SINTERSTORE i x d", ":0\r\n", ""},
		{"SUNIONSTORE u x d", ":3\r\n", "u:sunionstore"},
		{"SDIFFSTORE f u x", ":1\r\n", "f:sdiffstore"},
		{"SINTERSTORE f x d", ":0\r\n", "f:del"},
		{"SPOP d", "$1\r\nb\r\n", "d:spop d:del"},
		{"SPOP u 0", "*0\r\n", ""},
		{"SPOP u 3", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\nb\r\n", "u:spop u:del"},
	} {
		reply, ev := hsApply(t, a, strings.Fields(c.cmd)...)
		hsExpect(t, c.cmd, reply, c.reply)
		hsExpect(t, c.cmd+" events", ev, c.events)
	}
}

func TestSet_AlgebraAndStores(t *testing.T) {
	a := newApplier(t)
	a.do("SADD", "a", "1", "2", "3", "4")
	a.do("SADD", "b", "2", "3", "5")
	a.do("SADD", "c", "3", "4", "2", "9")
	a.do("SET", "str", "v")
	for _, c := range []struct{ cmd, want string }{
		{"SINTER a b c", hsBulks("2", "3")},
		{"SINTER a nokey", "*0\r\n"},
		{"SINTER nokey str", "-" + errWrongType + "\r\n"},
		{"SUNION a b c", hsBulks("1", "2", "3", "4", "5", "9")},
		{"SUNION nokey", "*0\r\n"},
		{"SDIFF a b", hsBulks("1", "4")},
		{"SDIFF a b c", hsBulks("1")},
		{"SDIFF a a", "*0\r\n"},
		{"SDIFF nokey str", "-" + errWrongType + "\r\n"},
		{"SINTERCARD 3 a b c", ":2\r\n"},
		{"SINTERCARD 2 a c LIMIT 2", ":2\r\n"},
		{"SINTERCARD 2 a c LIMIT 0", ":3\r\n"},
		{"SINTERCARD 2 a nokey", ":0\r\n"},
		{"SINTERCARD 2 nokey str", "-" + errWrongType + "\r\n"},
		{"SINTERCARD 0 a", "-ERR numkeys should be greater than 0\r\n"},
		{"SINTERCARD x a", "-ERR numkeys should be greater than 0\r\n"},
		{"SINTERCARD 2 a", "-ERR Number of keys can't be greater than number of args\r\n"},
		{"SINTERCARD 1 str LIMIT -1", "-ERR LIMIT can't be negative\r\n"},
		{"SINTERCARD 1 a LIMIT", "-ERR syntax error\r\n"},
		{"SINTERCARD 1 a b", "-ERR syntax error\r\n"},
	} {
		hsExpect(t, c.cmd, a.read(strings.Fields(c.cmd)...), c.want)
	}
	// A store replaces the destination, drops its TTL, may read it.
	a.do("SET", "dst", "x", "EX", "100")
	hsExpect(t, "SUNIONSTORE", a.do("SUNIONSTORE", "dst", "a", "b"), ":5\r\n")
	hsExpect(t, "TYPE dst", a.do("TYPE", "dst"), "+set\r\n")
	hsExpect(t, "TTL dst", a.do("TTL", "dst"), ":-1\r\n")
	hsExpect(t, "SDIFFSTORE self", a.do("SDIFFSTORE", "dst", "dst", "c"), ":2\r\n")
	hsExpect(t, "SMEMBERS dst", a.do("SMEMBERS", "dst"), hsBulks("1", "5"))
	hsExpect(t, "SINTERSTORE empty", a.do("SINTERSTORE", "dst", "dst", "c"), ":0\r\n")
	hsExpect(t, "EXISTS dst", a.do("EXISTS", "dst"), ":0\r\n")
	hsExpect(t, "SCARD a", a.do("SCARD", "a"), ":4\r\n")
}

func TestSet_SmoveChecksAsRedis(t *testing.T) {
	a := newApplier(t)
	a.do("SADD", "s", "a", "b")
	a.do("SET", "str", "v")
	for _, c := range []struct{ cmd, want string }{
		{"SMOVE nokey str a", ":0\r\n"},
		{"SMOVE str s a", "-" + errWrongType + "\r\n"},
		{"SMOVE s str a", "-" + errWrongType + "\r\n"},
		{"SMOVE s str z", "-" + errWrongType + "\r\n"},
		{"SMOVE s s a", ":1\r\n"},
		{"SMOVE s s z", ":0\r\n"},
		{"SMOVE s t z", ":0\r\n"},
		{"EXISTS t", ":0\r\n"},
		{"SMOVE s t a", ":1\r\n"},
		{"SADD s a", ":1\r\n"},
		{"SMOVE s t a", ":1\r\n"},
		{"SCARD t", ":1\r\n"},
		{"SMEMBERS s", hsBulks("b")},
	} {
		hsExpect(t, c.cmd, a.do(strings.Fields(c.cmd)...), c.want)
	}
}

func TestSet_RandomCommandsParseAsRedis(t *testing.T) {
	a := newApplier(t)
	a.do("SADD", "s", "a")
	a.do("SET", "str", "v")
	for _, c := range []struct{ cmd, want string }{
		{"SPOP s -1", "-ERR value is out of range, must be positive\r\n"},
		{"SPOP str x", "-ERR value is out of range, must be positive\r\n"},
		{"SPOP s 1 2", "-ERR syntax error\r\n"},
		{"SPOP str 0", "-" + errWrongType + "\r\n"},
		{"SPOP nokey", "$-1\r\n"},
		{"SPOP nokey 2", "*0\r\n"},
		{"SRANDMEMBER str x", "-ERR value is not an integer or out of range\r\n"},
		{"SRANDMEMBER s -9223372036854775808", "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"},
		{"SRANDMEMBER nokey 1 2", "-ERR syntax error\r\n"},
		{"SRANDMEMBER str 0", "-" + errWrongType + "\r\n"},
		{"SRANDMEMBER nokey", "$-1\r\n"},
		{"SRANDMEMBER nokey -5", "*0\r\n"},
		{"SRANDMEMBER s 0", "*0\r\n"},
		{"SRANDMEMBER s", "$1\r\na\r\n"},
		{"SRANDMEMBER s -3", hsBulks("a", "a", "a")},
		{"SRANDMEMBER s -9223372036854775807", "-" + string(errRandomRepeat) + "\r\n"},
		{"SCARD s", ":1\r\n"},
	} {
		hsExpect(t, c.cmd, a.do(strings.Fields(c.cmd)...), c.want)
	}
}

func TestSet_SpopIsUniformDeterministicAndRemoves(t *testing.T) {
	members := []string{"a", "b", "c", "d", "e"}
	fill := func(a *applier) {
		a.do(append([]string{"SADD", "s"}, members...)...)
	}
	// Two nodes applying the same log pop the same members.
	a, b := newApplier(t), newApplier(t)
	fill(a)
	fill(b)
	for range 5 {
		x, y := a.do("SPOP", "s"), b.do("SPOP", "s")
		if x != y {
			t.Fatalf("nodes popped %q and %q", x, y)
		}
	}
	hsExpect(t, "EXISTS after popping all", a.do("EXISTS", "s"), ":0\r\n")

	// Over many log indexes each member comes first about as often.
	first := map[string]int{}
	const n = 3000
	for range n {
		fill(a)
		v := hsParse(t, a.do("SPOP", "s"))
		first[string(v.Str)]++
		hsExpect(t, "SCARD", a.do("SCARD", "s"), ":4\r\n")
		a.do("DEL", "s")
	}
	for _, m := range members {
		if c := first[m]; c < n/5-120 || c > n/5+120 {
			t.Errorf("member %s popped %d times of %d", m, c, n)
		}
	}

	// SPOP count pops distinct members, all of them gone after.
	fill(a)
	got := hsStrings(t, a.do("SPOP", "s", "3"))
	if len(got) != 3 || !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != 3 {
		t.Fatalf("SPOP 3 = %q", got)
	}
	rest := hsStrings(t, a.do("SMEMBERS", "s"))
	all := slices.Sorted(slices.Values(append(slices.Clone(rest), got...)))
	if !slices.Equal(all, members) {
		t.Fatalf("popped %q, left %q", got, rest)
	}
	hsExpect(t, "SCARD", a.do("SCARD", "s"), ":2\r\n")
}

func TestSet_SrandmemberCounts(t *testing.T) {
	a := newApplier(t)
	a.do("SADD", "s", "a", "b", "c", "d", "e", "f", "g", "h")
	for _, n := range []int{1, 3, 7} {
		got := hsStrings(t, a.read("SRANDMEMBER", "s", strconv.Itoa(n)))
		if len(got) != n || len(slices.Compact(slices.Clone(got))) != n {
			t.Errorf("SRANDMEMBER %d = %q", n, got)
		}
	}
	got := hsStrings(t, a.read("SRANDMEMBER", "s", "-500"))
	seen := map[string]bool{}
	for _, m := range got {
		seen[m] = true
	}
	if len(got) != 500 || len(seen) != 8 || slices.IsSorted(got) {
		t.Errorf("SRANDMEMBER -500: %d picks of %d members", len(got), len(seen))
	}
}

func TestSet_TransactionSeesItsOwnMembers(t *testing.T) {
	a := newApplier(t)
	got := a.apply(&Entry{Exec: true, Cmds: [][][]byte{
		cmd("SADD", "s", "a", "b", "a"), cmd("SADD", "t", "b", "c"), cmd("SINTER", "s", "t"),
		cmd("SUNIONSTORE", "u", "s", "t"), cmd("SMEMBERS", "u"), cmd("SPOP", "t", "9"), cmd("EXISTS", "t"),
		cmd("SMOVE", "s", "t", "a"), cmd("SMEMBERS", "t"),
	}})
	want := "*9\r\n:2\r\n:2\r\n" + hsBulks("b") + ":3\r\n" + hsBulks("a", "b", "c") + hsBulks("b", "c") + ":0\r\n:1\r\n" + hsBulks("a")
	hsExpect(t, "EXEC", got, want)
}
