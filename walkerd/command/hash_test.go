package command

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/internal/resp"
)

// hsApply applies one command as its own entry and returns its RESP2
// reply and its touches as "key:event" words.
func hsApply(t testing.TB, a *applier, args ...string) (string, string) {
	t.Helper()
	a.index++
	res, err := ApplyEntry(a.db, a.index, &Entry{NowMs: a.now, Cmds: [][][]byte{cmd(args...)}})
	if err != nil {
		t.Fatal(err)
	}
	var ev []string
	for _, tc := range res.Touched {
		ev = append(ev, string(tc.Key)+":"+tc.Event)
	}
	return render(res, false), strings.Join(ev, " ")
}

// hsParse decodes one RESP reply.
func hsParse(t testing.TB, s string) resp.Value {
	t.Helper()
	v, n, err := resp.Parse([]byte(s))
	if err != nil || n != len(s) {
		t.Fatalf("reply %q: %v (%d of %d bytes)", s, err, n, len(s))
	}
	return v
}

// hsStrings decodes an array reply of bulk strings.
func hsStrings(t testing.TB, s string) []string {
	t.Helper()
	v := hsParse(t, s)
	if v.Kind != resp.KindArray && v.Kind != resp.KindSet {
		t.Fatalf("not an array: %q", s)
	}
	out := make([]string, len(v.Elems))
	for i, e := range v.Elems {
		out[i] = string(e.Str)
	}
	return out
}

func hsBulks(elems ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(elems))
	for _, e := range elems {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(e), e)
	}
	return b.String()
}

func hsExpect(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func TestHash_FieldCommandsReplyAsRedis(t *testing.T) {
	a := newApplier(t)
	for _, c := range []struct{ cmd, want string }{
		{"HSET h a 1 b 2", ":2\r\n"},
		{"HMSET h b 3 c 4", "+OK\r\n"},
		{"HSETNX h a 9", ":0\r\n"},
		{"HSETNX h d 5", ":1\r\n"},
		{"HLEN h", ":4\r\n"},
		{"HMGET h a b x d", "*4\r\n$1\r\n1\r\n$1\r\n3\r\n$-1\r\n$1\r\n5\r\n"},
		{"HMGET missing a b", "*2\r\n$-1\r\n$-1\r\n"},
		{"HSTRLEN h a", ":1\r\n"},
		{"HSTRLEN h x", ":0\r\n"},
		{"HEXISTS h c", ":1\r\n"},
		{"HEXISTS h x", ":0\r\n"},
		{"HEXISTS missing x", ":0\r\n"},
		{"HKEYS h", hsBulks("a", "b", "c", "d")},
		{"HVALS h", hsBulks("1", "3", "4", "5")},
		{"HKEYS missing", "*0\r\n"},
		{"HSET h", "-ERR wrong number of arguments for 'hset' command\r\n"},
		{"HMSET h a", "-ERR wrong number of arguments for 'hmset' command\r\n"},
		{"HMSET h a 1 b", "-ERR wrong number of arguments for 'hmset' command\r\n"},
		{"SET s v", "+OK\r\n"},
		{"HSETNX s a 1", "-" + errWrongType + "\r\n"},
		{"HMGET s a", "-" + errWrongType + "\r\n"},
		{"HKEYS s", "-" + errWrongType + "\r\n"},
		{"HVALS s", "-" + errWrongType + "\r\n"},
		{"HSTRLEN s a", "-" + errWrongType + "\r\n"},
		{"HEXISTS s a", "-" + errWrongType + "\r\n"},
	} {
		hsExpect(t, c.cmd, a.do(strings.Fields(c.cmd)...), c.want)
	}
	// The reads give the same through Read, outside Apply.
	hsExpect(t, "read HMGET", a.read("HMGET", "h", "a", "x"), "*2\r\n$1\r\n1\r\n$-1\r\n")
	hsExpect(t, "read HKEYS", a.read("HKEYS", "h"), hsBulks("a", "b", "c", "d"))
}

func TestHash_WritesNameTheirEvents(t *testing.T) {
	a := newApplier(t)
	for _, c := range []struct{ cmd, reply, events string }{
		{"HSET h a 1", ":1\r\n", "h:hset"},
		{"HSET h a 1", ":0\r\n", "h:hset"},
		{"HMSET h b 2", "+OK\r\n", "h:hset"},
		{"HSETNX h b 3", ":0\r\n", ""},
		{"HSETNX h c 3", ":1\r\n", "h:hset"},
		{"HINCRBY h n 2", ":2\r\n", "h:hincrby"},
		{"HINCRBY h a x", "-ERR value is not an integer or out of range\r\n", ""},
		{"HINCRBYFLOAT h f 1.5", "$3\r\n1.5\r\n", "h:hincrbyfloat"},
		{"HINCRBYFLOAT h f inf", "-ERR value is NaN or Infinity\r\n", ""},
		{"HDEL h zz", ":0\r\n", ""},
		{"HDEL h a b c n", ":4\r\n", "h:hdel"},
		{"HDEL h f", ":1\r\n", "h:hdel h:del"},
		{"EXISTS h", ":0\r\n", ""},
	} {
		reply, ev := hsApply(t, a, strings.Fields(c.cmd)...)
		hsExpect(t, c.cmd, reply, c.reply)
		hsExpect(t, c.cmd+" events", ev, c.events)
	}
}

func TestHash_HincrbyChecksOverflowAndValues(t *testing.T) {
	a := newApplier(t)
	a.do("HSET", "h", "max", "9223372036854775807", "min", "-9223372036854775808", "s", "abc", "lz", "010", "sp", " 1", "e", "")
	for _, c := range []struct{ cmd, want string }{
		{"HINCRBY h max 1", "-ERR increment or decrement would overflow\r\n"},
		{"HINCRBY h max 0", ":9223372036854775807\r\n"},
		{"HINCRBY h max -9223372036854775808", ":-1\r\n"},
		{"HINCRBY h min -1", "-ERR increment or decrement would overflow\r\n"},
		{"HINCRBY h min 9223372036854775807", ":-1\r\n"},
		{"HINCRBY h s 1", "-ERR hash value is not an integer\r\n"},
		{"HINCRBY h lz 1", "-ERR hash value is not an integer\r\n"},
		{"HINCRBY h sp 1", "-ERR hash value is not an integer\r\n"},
		{"HINCRBY h e 1", "-ERR hash value is not an integer\r\n"},
		{"HINCRBY h new -5", ":-5\r\n"},
		{"HINCRBY h new 9223372036854775808", "-ERR value is not an integer or out of range\r\n"},
		{"HINCRBY nokey f 3", ":3\r\n"},
		{"HLEN h", ":7\r\n"},
		{"HLEN nokey", ":1\r\n"},
		{"HGET h max", "$2\r\n-1\r\n"},
	} {
		hsExpect(t, c.cmd, a.do(strings.Fields(c.cmd)...), c.want)
	}
}

func TestHash_HincrbyfloatIsLongDouble(t *testing.T) {
	a := newApplier(t)
	a.do("HSET", "h", "s", "abc", "inf", "inf", "big", "1.18e4932", "int", "10")
	for _, c := range []struct{ cmd, want string }{
		{"HINCRBYFLOAT h f 10.5", "$4\r\n10.5\r\n"},
		{"HINCRBYFLOAT h f 0.1", "$4\r\n10.6\r\n"},
		{"HINCRBYFLOAT h f -10.6", "$1\r\n0\r\n"},
		{"HINCRBYFLOAT h g 5.0e3", "$4\r\n5000\r\n"},
		{"HINCRBYFLOAT h g 0x10", "$4\r\n5016\r\n"},
		{"HINCRBYFLOAT h int 0.5", "$4\r\n10.5\r\n"},
		{"HINCRBYFLOAT h s 1", "-ERR hash value is not a float\r\n"},
		{"HINCRBYFLOAT h inf 1", "-ERR increment would produce NaN or Infinity\r\n"},
		{"HINCRBYFLOAT h big 1.18e4932", "-ERR increment would produce NaN or Infinity\r\n"},
		{"HINCRBYFLOAT h f nan", "-ERR value is not a valid float\r\n"},
		{"HINCRBYFLOAT h f -inf", "-ERR value is NaN or Infinity\r\n"},
		{"HINCRBYFLOAT h f 1x", "-ERR value is not a valid float\r\n"},
		{"HGET h big", "$9\r\n1.18e4932\r\n"},
		{"HGET h g", "$4\r\n5016\r\n"},
	} {
		hsExpect(t, c.cmd, a.do(strings.Fields(c.cmd)...), c.want)
	}
	// Refused increments create nothing.
	hsExpect(t, "HINCRBYFLOAT nokey", a.do("HINCRBYFLOAT", "nokey", "f", "inf"), "-ERR value is NaN or Infinity\r\n")
	hsExpect(t, "EXISTS nokey", a.do("EXISTS", "nokey"), ":0\r\n")
}

func TestHash_HrandfieldRepliesAsRedis(t *testing.T) {
	a := newApplier(t)
	a.do("HSET", "h", "a", "1", "b", "2", "c", "3")
	a.do("SET", "s", "v")
	for _, c := range []struct{ cmd, want string }{
		{"HRANDFIELD nokey", "$-1\r\n"},
		{"HRANDFIELD nokey 3", "*0\r\n"},
		{"HRANDFIELD nokey -3 WITHVALUES", "*0\r\n"},
		{"HRANDFIELD h 0", "*0\r\n"},
		{"HRANDFIELD h 0 WITHVALUES", "*0\r\n"},
		{"HRANDFIELD h 3", hsBulks("a", "b", "c")},
		{"HRANDFIELD h 9223372036854775807", hsBulks("a", "b", "c")},
		{"HRANDFIELD h 4 WITHVALUES", hsBulks("a", "1", "b", "2", "c", "3")},
		{"HRANDFIELD s", "-" + errWrongType + "\r\n"},
		{"HRANDFIELD s 0", "-" + errWrongType + "\r\n"},
		{"HRANDFIELD h x", "-ERR value is not an integer or out of range\r\n"},
		{"HRANDFIELD nokey -9223372036854775808", "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"},
		{"HRANDFIELD nokey 4611686018427387904 WITHVALUES", "-ERR value is out of range\r\n"},
		{"HRANDFIELD nokey -4611686018427387904 WITHVALUES", "-ERR value is out of range\r\n"},
		{"HRANDFIELD nokey 1 WITHSCORES", "-ERR syntax error\r\n"},
		{"HRANDFIELD nokey 1 WITHVALUES x", "-ERR syntax error\r\n"},
		{"HRANDFIELD nokey x y z", "-ERR value is not an integer or out of range\r\n"},
		{"HRANDFIELD h -2000000", "-" + string(errRandomRepeat) + "\r\n"},
	} {
		hsExpect(t, c.cmd, a.read(strings.Fields(c.cmd)...), c.want)
	}
}

func TestHash_HrandfieldPicksUniformlyAndDeterministically(t *testing.T) {
	a := newApplier(t)
	fields := []string{"a", "b", "c", "d"}
	a.do("HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4")
	vals := map[string]string{"a": "1", "b": "2", "c": "3", "d": "4"}

	// In Apply the picks follow the log index: two nodes agree.
	b := newApplier(t)
	b.do("HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4")
	for range 20 {
		x, y := a.do("HRANDFIELD", "h", "-5", "WITHVALUES"), b.do("HRANDFIELD", "h", "-5", "WITHVALUES")
		if x != y {
			t.Fatalf("two nodes picked %q and %q", x, y)
		}
	}

	// Single picks, counted over many log indexes: each field about a
	// quarter of the time.
	count := map[string]int{}
	const n = 4000
	for range n {
		v := hsParse(t, a.do("HRANDFIELD", "h"))
		count[string(v.Str)]++
	}
	for _, f := range fields {
		if c := count[f]; c < n/4-150 || c > n/4+150 {
			t.Errorf("field %s picked %d times of %d", f, c, n)
		}
	}

	// Negative counts repeat, in the order picked, values with fields.
	got := hsStrings(t, a.do("HRANDFIELD", "h", "-1000", "WITHVALUES"))
	if len(got) != 2000 {
		t.Fatalf("HRANDFIELD -1000 WITHVALUES gave %d values", len(got))
	}
	seen := map[string]int{}
	sorted := true
	for i := 0; i < len(got); i += 2 {
		if vals[got[i]] != got[i+1] {
			t.Fatalf("pair %q %q", got[i], got[i+1])
		}
		seen[got[i]]++
		if i > 0 && got[i] < got[i-2] {
			sorted = false
		}
	}
	if len(seen) != 4 || sorted {
		t.Errorf("1000 repeated picks: %v, in field order %v", seen, sorted)
	}

	// Positive counts below the size are distinct, every subset possible.
	subsets := map[string]int{}
	for range 600 {
		got := hsStrings(t, a.do("HRANDFIELD", "h", "2"))
		if len(got) != 2 || got[0] >= got[1] {
			t.Fatalf("HRANDFIELD 2 = %q", got)
		}
		subsets[strings.Join(got, ",")]++
	}
	if len(subsets) != 6 {
		t.Fatalf("pairs picked: %v", subsets)
	}
	for s, c := range subsets {
		if c < 60 || c > 140 {
			t.Errorf("pair %s picked %d times of 600", s, c)
		}
	}
}

func TestHash_HrandfieldWithValuesGivesPairsInRESP3(t *testing.T) {
	a := newApplier(t)
	a.do("HSET", "h", "a", "1", "b", "2")
	e := &resp.Encoder{Proto: 3}
	if err := Read(a.db, 0, a.now, nil, cmd("HRANDFIELD", "h", "5", "WITHVALUES"), e); err != nil {
		t.Fatal(err)
	}
	hsExpect(t, "RESP3 HRANDFIELD", string(e.B), "*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n")
	e.B = nil
	if err := Read(a.db, 0, a.now, nil, cmd("HRANDFIELD", "h", "-3", "WITHVALUES"), e); err != nil {
		t.Fatal(err)
	}
	v := hsParse(t, string(e.B))
	if len(v.Elems) != 3 || slices.ContainsFunc(v.Elems, func(p resp.Value) bool { return len(p.Elems) != 2 }) {
		t.Fatalf("RESP3 HRANDFIELD -3 = %q", e.B)
	}
}

func TestHash_ExpiryIsKeptByWritesAndTheKeyGoesWhenEmptied(t *testing.T) {
	a := newApplier(t)
	a.do("HSET", "h", "a", "1")
	a.do("PEXPIRE", "h", "100000")
	for _, c := range [][]string{{"HSET", "h", "b", "2"}, {"HSETNX", "h", "c", "3"}, {"HINCRBY", "h", "n", "1"},
		{"HINCRBYFLOAT", "h", "f", "1"}, {"HMSET", "h", "d", "4"}, {"HDEL", "h", "a"}} {
		a.do(c...)
		hsExpect(t, "PTTL after "+c[0], a.do("PTTL", "h"), ":100000\r\n")
	}
	a.do("HDEL", "h", "b", "c", "n", "f", "d")
	hsExpect(t, "EXISTS", a.do("EXISTS", "h"), ":0\r\n")
	a.do("HSET", "h", "a", "1")
	hsExpect(t, "TTL of the new hash", a.do("TTL", "h"), ":-1\r\n")
}

func TestHash_TransactionSeesItsOwnFields(t *testing.T) {
	a := newApplier(t)
	got := a.apply(&Entry{Exec: true, Cmds: [][][]byte{
		cmd("HSET", "h", "a", "1"), cmd("HINCRBY", "h", "a", "5"), cmd("HMGET", "h", "a", "b"),
		cmd("HSETNX", "h", "b", "x"), cmd("HKEYS", "h"), cmd("HDEL", "h", "a", "b"), cmd("HLEN", "h"),
	}})
	want := "*7\r\n:1\r\n:6\r\n*2\r\n$1\r\n6\r\n$-1\r\n:1\r\n" + hsBulks("a", "b") + ":2\r\n:0\r\n"
	hsExpect(t, "EXEC", got, want)
}
