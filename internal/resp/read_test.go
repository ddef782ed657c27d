package resp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// Replies of redis-server 7.0.15 (Debian 12) to DEBUG PROTOCOL <type>,
// captured on a RESP2 and a RESP3 (HELLO 3) connection.
var redisReplies = []struct {
	name, wire string
	want       string // Value.String()
}{
	{"string", "$11\r\nHello World\r\n", `"Hello World"`},
	{"integer", ":12345\r\n", "(integer) 12345"},
	{"RESP2 double", "$5\r\n3.141\r\n", `"3.141"`},
	{"RESP3 double", ",3.141\r\n", "(double) 3.141"},
	{"RESP3 bignum", "(1234567999999999999999999999999999999\r\n", "(big number) 1234567999999999999999999999999999999"},
	{"RESP2 null", "$-1\r\n", "(nil)"},
	{"RESP3 null", "_\r\n", "(nil)"},
	{"array", "*3\r\n:0\r\n:1\r\n:2\r\n", "1) (integer) 0\n2) (integer) 1\n3) (integer) 2"},
	{"RESP3 set", "~3\r\n:0\r\n:1\r\n:2\r\n", "1~ (integer) 0\n2~ (integer) 1\n3~ (integer) 2"},
	{"RESP2 map", "*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n",
		"1) (integer) 0\n2) (integer) 0\n3) (integer) 1\n4) (integer) 1\n5) (integer) 2\n6) (integer) 0"},
	{"RESP3 map", "%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n",
		"1# (integer) 0 => (false)\n2# (integer) 1 => (true)\n3# (integer) 2 => (false)"},
	{"RESP3 attrib", "|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n$39\r\nSome real reply following the attribute\r\n",
		`"Some real reply following the attribute"`},
	{"RESP3 push", ">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n", "1) \"server-cpu-usage\"\n2) (integer) 42"},
	{"RESP3 verbatim", "=29\r\ntxt:This is a verbatim\nstring\r\n", "This is a verbatim\nstring"},
	{"RESP3 true", "#t\r\n", "(true)"},
	{"RESP3 invalidation", ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\na\r\n", "1) \"invalidate\"\n2) 1) \"a\""},
	{"RESP3 ZRANGE WITHSCORES", "*2\r\n*2\r\n$1\r\na\r\n,1.5\r\n*2\r\n$1\r\nb\r\n,2\r\n",
		"1) 1) \"a\"\n   2) (double) 1.5\n2) 1) \"b\"\n   2) (double) 2"},
	{"empty set", "~0\r\n", "(empty set)"},
	{"error", "-ERR unknown command 'x'\r\n", "(error) ERR unknown command 'x'"},
}

func TestParse_ReadsRedisReplies(t *testing.T) {
	for _, c := range redisReplies {
		v, n, err := Parse([]byte(c.wire + "+next\r\n"))
		if err != nil || n != len(c.wire) {
			t.Errorf("%s: %d bytes, %v; want %d", c.name, n, err, len(c.wire))
			continue
		}
		if got := v.String(); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	v, _, _ := Parse([]byte(redisReplies[11].wire))
	if len(v.Attrs) != 2 || string(v.Attrs[0].Str) != "key-popularity" || v.Attrs[1].Elems[1].Int != 90 {
		t.Errorf("attributes %v", v.Attrs)
	}
	v, _, _ = Parse([]byte(redisReplies[13].wire))
	if v.Format != "txt" {
		t.Errorf("verbatim format %q", v.Format)
	}
}

func TestValue_StringRendersAsRedisCLI(t *testing.T) {
	ten := Value{Kind: KindArray}
	want := ""
	for i := range 10 {
		ten.Elems = append(ten.Elems, Value{Kind: KindSimple, Str: []byte{'a' + byte(i)}})
		want += fmt.Sprintf("%2d) %c\n", i+1, 'a'+i)
	}
	nested := Value{Kind: KindMap, Elems: []Value{{Kind: KindSimple, Str: []byte("k")}, ten}}
	for _, c := range []struct {
		v    Value
		want string
	}{
		{Value{Kind: KindBulk, Str: []byte("a\"b\\\x00\xff\n")}, `"a\"b\\\x00\xff\n"`},
		{Value{Kind: KindArray, Null: true}, "(nil)"},
		{Value{Kind: KindDouble, Float: math.Inf(1)}, "(double) inf"},
		{Value{Kind: KindMap}, "(empty hash)"},
		{ten, strings.TrimSuffix(want, "\n")},
		{nested, "1# k => " + strings.TrimSuffix(strings.ReplaceAll(want, "\n", "\n   "), "\n   ")},
	} {
		if got := c.v.String(); got != c.want {
			t.Errorf("got\n%s\nwant\n%s", got, c.want)
		}
	}
}

func TestReadRaw_ReturnsEachReplyWhole(t *testing.T) {
	big := strings.Repeat("x", 100_000) // far past any 1 KB buffer
	replies := []string{
		"+OK\r\n",
		"-ERR wrong number of arguments for 'get' command\r\n",
		":-42\r\n",
		"$-1\r\n",
		"$0\r\n\r\n",
		"$6\r\nab\r\ncd\r\n",
		"$100000\r\n" + big + "\r\n",
		"*-1\r\n",
		"*0\r\n",
		"*3\r\n$1\r\na\r\n*2\r\n:1\r\n$-1\r\n+x\r\n",
	}
	for _, c := range redisReplies {
		replies = append(replies, c.wire)
	}
	r := bufio.NewReaderSize(strings.NewReader(strings.Join(replies, "")), 16)
	for _, want := range replies {
		got, err := ReadRaw(r)
		if err != nil {
			t.Fatalf("reading %.20q: %v", want, err)
		}
		if string(got) != want {
			t.Fatalf("got %.40q, want %.40q", got, want)
		}
	}
	if _, err := ReadRaw(r); err != io.EOF {
		t.Fatalf("after the last reply: %v, want EOF", err)
	}
}

func TestReadValue_OwnsItsMemory(t *testing.T) {
	r := bufio.NewReaderSize(strings.NewReader("$5\r\nfirst\r\n*1\r\n$6\r\nsecond\r\n"), 16)
	first, err := ReadValue(r)
	if err != nil {
		t.Fatal(err)
	}
	second, err := ReadValue(r)
	if err != nil || string(first.Str) != "first" || string(second.Elems[0].Str) != "second" {
		t.Fatalf("%v, %v, %v", first, second, err)
	}
	if _, err := ReadValue(r); err != io.EOF {
		t.Fatalf("at the end: %v", err)
	}
}

func TestReadRaw_EndOfStreamInsideAValueIsUnexpected(t *testing.T) {
	for _, in := range []string{"+OK", "$5\r\nab", "*2\r\n:1\r\n", "|1\r\n+a\r\n+b\r\n"} {
		if _, err := ReadRaw(bufio.NewReader(strings.NewReader(in))); err != io.ErrUnexpectedEOF {
			t.Errorf("%q: %v, want io.ErrUnexpectedEOF", in, err)
		}
		if _, _, err := Parse([]byte(in)); err != ErrIncomplete {
			t.Errorf("Parse(%q): %v, want ErrIncomplete", in, err)
		}
	}
}

func TestReadRaw_RefusesMalformedReplies(t *testing.T) {
	for _, in := range []string{
		"?x\r\n", "$abc\r\n", "$5\r\nabcdefg\r\n", "*-2\r\n", "$-2\r\n", "+OK\n", "\r\n",
		"$999999999999\r\n", "$" + strconv.Itoa(MaxBulkLen+1) + "\r\n", strings.Repeat("*1\r\n", 100) + ":1\r\n",
		":12a\r\n", ":99999999999999999999\r\n", ":\r\n", ":+1\r\n", "_x\r\n", "#x\r\n", "#\r\n",
		",\r\n", ",1.5x\r\n", "(\r\n", "(12a\r\n", "(-\r\n", "=3\r\ntxt\r\n", "=5\r\ntxt;a\r\n",
		"!-1\r\n", "=-1\r\n", "~-1\r\n", "%-1\r\n", "%2147483648\r\n", "|-1\r\n", "$?\r\n", "*?\r\n",
		"+" + strings.Repeat("x", maxLine),
	} {
		_, err := ReadRaw(bufio.NewReader(strings.NewReader(in)))
		if !errors.Is(err, ErrProtocol) {
			t.Errorf("ReadRaw(%.30q): %v, want ErrProtocol", in, err)
		}
		if _, _, err := Parse([]byte(in)); !errors.Is(err, ErrProtocol) {
			t.Errorf("Parse(%.30q): %v, want ErrProtocol", in, err)
		}
	}
}

func TestParse_IntegersSpanInt64(t *testing.T) {
	for in, want := range map[string]int64{
		":9223372036854775807\r\n":  math.MaxInt64,
		":-9223372036854775808\r\n": math.MinInt64,
		":-0\r\n":                   0,
	} {
		if v, _, err := Parse([]byte(in)); err != nil || v.Int != want {
			t.Errorf("%q: %d, %v", in, v.Int, err)
		}
	}
	for _, in := range []string{":9223372036854775808\r\n", ":-9223372036854775809\r\n"} {
		if _, _, err := Parse([]byte(in)); !errors.Is(err, ErrProtocol) {
			t.Errorf("%q: %v, want ErrProtocol", in, err)
		}
	}
}

// A hostile peer that declares the largest bulk string or array and
// sends little of it must not make the reader allocate for what it
// declared: memory grows with the input (a Value takes 120 bytes, and may
// stand for as few as 3), however many counts are nested.
func TestRead_DeclaredSizesCostNoMemoryUntilTheyArrive(t *testing.T) {
	for _, in := range []string{
		"$536870912\r\nxyz",
		"*2147483647\r\n:1\r\n",
		"%2147483647\r\n:1\r\n:2\r\n",
		strings.Repeat("*2147483647\r\n", 60),
		strings.Repeat("*10000\r\n", 64) + strings.Repeat(":1\r\n", 10000),
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, rerr := ReadValue(bufio.NewReader(strings.NewReader(in)))
		_, _, perr := Parse([]byte(in))
		runtime.ReadMemStats(&after)
		if rerr != io.ErrUnexpectedEOF || perr != ErrIncomplete {
			t.Errorf("%.20q: %v, %v", in, rerr, perr)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20+512*uint64(len(in)) {
			t.Errorf("%.20q: allocated %d bytes", in, grew)
		}
	}
}

// sameValue is reflect.DeepEqual for Values, but with nil and empty Str
// alike and NaN equal to NaN.
func sameValue(a, b Value) bool {
	if a.Kind != b.Kind || !bytes.Equal(a.Str, b.Str) || a.Format != b.Format || a.Int != b.Int ||
		math.Float64bits(a.Float) != math.Float64bits(b.Float) && !(math.IsNaN(a.Float) && math.IsNaN(b.Float)) ||
		a.Bool != b.Bool || a.Null != b.Null || len(a.Elems) != len(b.Elems) || len(a.Attrs) != len(b.Attrs) {
		return false
	}
	for i := range a.Elems {
		if !sameValue(a.Elems[i], b.Elems[i]) {
			return false
		}
	}
	for i := range a.Attrs {
		if !sameValue(a.Attrs[i], b.Attrs[i]) {
			return false
		}
	}
	return true
}

func FuzzReadRaw(f *testing.F) {
	f.Add([]byte("*2\r\n$1\r\na\r\n:1\r\n"))
	f.Add([]byte("$3\r\nabc\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		raw, err := ReadRaw(bufio.NewReader(bytes.NewReader(in)))
		if err == nil && !bytes.HasPrefix(in, raw) {
			t.Fatalf("raw reply %q is not a prefix of the input", raw)
		}
	})
}

// FuzzParse checks that Parse, ReadRaw and ReadValue agree on every
// input: on where a value ends, whether it is valid, and what it holds;
// and that a valid value's every prefix is incomplete.
func FuzzParse(f *testing.F) {
	for _, c := range redisReplies {
		f.Add([]byte(c.wire))
	}
	f.Add([]byte("|1\r\n+a\r\n:1\r\n=8\r\nmkd:# hi\r\n"))
	f.Add([]byte("!3\r\nERR\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		v, n, perr := Parse(in)
		raw, rerr := ReadRaw(bufio.NewReaderSize(bytes.NewReader(in), 16))
		switch {
		case perr == nil:
			if rerr != nil || !bytes.Equal(raw, in[:n]) {
				t.Fatalf("Parse read %d bytes; ReadRaw %q, %v", n, raw, rerr)
			}
			rv, err := ReadValue(bufio.NewReaderSize(bytes.NewReader(in), 16))
			if err != nil || !sameValue(v, rv) {
				t.Fatalf("Parse: %#v\nReadValue: %#v, %v", v, rv, err)
			}
			if len(in) < 4096 {
				for i := range n {
					if _, _, err := Parse(in[:i]); err != ErrIncomplete {
						t.Fatalf("prefix of %d bytes: %v, want ErrIncomplete", i, err)
					}
				}
			}
		case perr == ErrIncomplete:
			if rerr != io.ErrUnexpectedEOF && !(rerr == io.EOF && len(in) == 0) {
				t.Fatalf("Parse: incomplete; ReadRaw: %v", rerr)
			}
		case errors.Is(perr, ErrProtocol):
			if !errors.Is(rerr, ErrProtocol) {
				t.Fatalf("Parse: %v; ReadRaw: %v", perr, rerr)
			}
		default:
			t.Fatalf("Parse: unexpected error %v", perr)
		}
	})
}
