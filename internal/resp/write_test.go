package resp

import (
	"math"
	"runtime"
	"sync/atomic"
	"testing"
)

func TestAppend_EveryTypeRoundTripsInBothProtocols(t *testing.T) {
	bulk := func(s string) Value { return Value{Kind: KindBulk, Str: []byte(s)} }
	integer := func(n int64) Value { return Value{Kind: KindInt, Int: n} }
	arr := func(k Kind, es ...Value) Value { return Value{Kind: k, Elems: es} }
	for _, tc := range []struct {
		name         string
		write        func(b []byte, proto int) []byte
		wire2, wire3 string
		want2, want3 Value
	}{
		{
			name:  "simple",
			write: func(b []byte, _ int) []byte { return AppendSimple(b, "OK") },
			wire2: "+OK\r\n", want2: Value{Kind: KindSimple, Str: []byte("OK")},
		},
		{
			name:  "error",
			write: func(b []byte, _ int) []byte { return AppendError(b, "ERR no\r\nway") },
			wire2: "-ERR no  way\r\n", want2: Value{Kind: KindError, Str: []byte("ERR no  way")},
		},
		{
			name:  "integer",
			write: func(b []byte, _ int) []byte { return AppendInt(b, math.MinInt64) },
			wire2: ":-9223372036854775808\r\n", want2: integer(math.MinInt64),
		},
		{
			name:  "bulk",
			write: func(b []byte, _ int) []byte { return AppendBulk(b, []byte("a\r\nb\x00")) },
			wire2: "$5\r\na\r\nb\x00\r\n", want2: bulk("a\r\nb\x00"),
		},
		{
			name:  "empty bulk string",
			write: func(b []byte, _ int) []byte { return AppendBulkString(b, "") },
			wire2: "$0\r\n\r\n", want2: bulk(""),
		},
		{
			name:  "bulk header",
			write: func(b []byte, _ int) []byte { return append(AppendBulkHeader(b, 3), "key\r\n"...) },
			wire2: "$3\r\nkey\r\n", want2: bulk("key"),
		},
		{
			name:  "null",
			write: AppendNull,
			wire2: "$-1\r\n", want2: Value{Kind: KindBulk, Null: true},
			wire3: "_\r\n", want3: Value{Kind: KindNull, Null: true},
		},
		{
			name:  "null array",
			write: AppendNullArray,
			wire2: "*-1\r\n", want2: Value{Kind: KindArray, Null: true},
			wire3: "_\r\n", want3: Value{Kind: KindNull, Null: true},
		},
		{
			name: "array",
			write: func(b []byte, _ int) []byte {
				return AppendInt(AppendArray(AppendBulkString(AppendArray(b, 2), "x"), 1), 7)
			},
			wire2: "*2\r\n$1\r\nx\r\n*1\r\n:7\r\n", want2: arr(KindArray, bulk("x"), arr(KindArray, integer(7))),
		},
		{
			name:  "empty array",
			write: func(b []byte, _ int) []byte { return AppendArray(b, 0) },
			wire2: "*0\r\n", want2: arr(KindArray),
		},
		{
			name: "map",
			write: func(b []byte, p int) []byte {
				return AppendInt(AppendBulkString(AppendMap(b, 1, p), "k"), 1)
			},
			wire2: "*2\r\n$1\r\nk\r\n:1\r\n", want2: arr(KindArray, bulk("k"), integer(1)),
			wire3: "%1\r\n$1\r\nk\r\n:1\r\n", want3: arr(KindMap, bulk("k"), integer(1)),
		},
		{
			name:  "set",
			write: func(b []byte, p int) []byte { return AppendBulkString(AppendSet(b, 1, p), "m") },
			wire2: "*1\r\n$1\r\nm\r\n", want2: arr(KindArray, bulk("m")),
			wire3: "~1\r\n$1\r\nm\r\n", want3: arr(KindSet, bulk("m")),
		},
		{
			name: "push",
			write: func(b []byte, p int) []byte {
				return AppendBulkString(AppendBulkString(AppendPush(b, 2, p), "message"), "hi")
			},
			wire2: "*2\r\n$7\r\nmessage\r\n$2\r\nhi\r\n", want2: arr(KindArray, bulk("message"), bulk("hi")),
			wire3: ">2\r\n$7\r\nmessage\r\n$2\r\nhi\r\n", want3: arr(KindPush, bulk("message"), bulk("hi")),
		},
		{
			name:  "double",
			write: func(b []byte, p int) []byte { return AppendDouble(b, 2.5, p) },
			wire2: "$3\r\n2.5\r\n", want2: bulk("2.5"),
			wire3: ",2.5\r\n", want3: Value{Kind: KindDouble, Float: 2.5, Str: []byte("2.5")},
		},
		{
			name:  "negative infinity",
			write: func(b []byte, p int) []byte { return AppendDouble(b, math.Inf(-1), p) },
			wire2: "$4\r\n-inf\r\n", want2: bulk("-inf"),
			wire3: ",-inf\r\n", want3: Value{Kind: KindDouble, Float: math.Inf(-1), Str: []byte("-inf")},
		},
		{
			name:  "not a number",
			write: func(b []byte, p int) []byte { return AppendDouble(b, math.NaN(), p) },
			wire2: "$3\r\nnan\r\n", want2: bulk("nan"),
			wire3: ",nan\r\n", want3: Value{Kind: KindDouble, Float: math.NaN(), Str: []byte("nan")},
		},
		{
			name:  "true",
			write: func(b []byte, p int) []byte { return AppendBool(b, true, p) },
			wire2: ":1\r\n", want2: integer(1),
			wire3: "#t\r\n", want3: Value{Kind: KindBool, Bool: true},
		},
		{
			name:  "false",
			write: func(b []byte, p int) []byte { return AppendBool(b, false, p) },
			wire2: ":0\r\n", want2: integer(0),
			wire3: "#f\r\n", want3: Value{Kind: KindBool},
		},
		{
			name:  "verbatim",
			write: func(b []byte, p int) []byte { return AppendVerbatim(b, "mkd", []byte("# hi\n"), p) },
			wire2: "$5\r\n# hi\n\r\n", want2: bulk("# hi\n"),
			wire3: "=9\r\nmkd:# hi\n\r\n", want3: Value{Kind: KindVerbatim, Format: "mkd", Str: []byte("# hi\n")},
		},
		{
			name:  "verbatim with a bad format",
			write: func(b []byte, p int) []byte { return AppendVerbatim(b, "markdown", nil, p) },
			wire2: "$0\r\n\r\n", want2: bulk(""),
			wire3: "=4\r\ntxt:\r\n", want3: Value{Kind: KindVerbatim, Format: "txt"},
		},
		{
			name:  "big number",
			write: func(b []byte, p int) []byte { return AppendBigNumber(b, "-1234567999999999999999999999999", p) },
			wire2: "$32\r\n-1234567999999999999999999999999\r\n", want2: bulk("-1234567999999999999999999999999"),
			wire3: "(-1234567999999999999999999999999\r\n",
			want3: Value{Kind: KindBigNumber, Str: []byte("-1234567999999999999999999999999")},
		},
	} {
		for _, proto := range []int{2, 3} {
			wire, want := tc.wire2, tc.want2
			if proto == 3 && tc.wire3 != "" {
				wire, want = tc.wire3, tc.want3
			}
			got := tc.write([]byte("prefix"), proto)
			if string(got) != "prefix"+wire {
				t.Errorf("%s, RESP%d: wrote %q, want %q", tc.name, proto, got[6:], wire)
				continue
			}
			v, n, err := Parse(got[6:])
			if err != nil || n != len(wire) || !sameValue(v, want) {
				t.Errorf("%s, RESP%d: Parse = %#v, %d, %v; want %#v, %d", tc.name, proto, v, n, err, want, len(wire))
			}
		}
	}
}

var tenth, fifth = 0.1, 0.2 // variables, so that sums round as float64s

// RedisDoubles are doubles as redis-server 7.0.15 (Debian 12) formats
// them: each was checked with ZADD z <score> m, then ZSCORE z m on a RESP2
// and on a RESP3 (HELLO 3) connection; the 0.1 + 0.2 steps are ZINCRBY's
// replies. TestRedisServer_FormatsDoublesAsAppendDouble repeats the check
// whenever redis-server is installed (it is exported for that test).
var RedisDoubles = []struct {
	F    float64
	Text string
}{
	{0.1, "0.10000000000000001"},
	{tenth + fifth, "0.30000000000000004"},
	{tenth + fifth + fifth, "0.5"},
	{tenth + fifth + fifth + fifth, "0.69999999999999996"},
	{0.3, "0.29999999999999999"},
	{1.5, "1.5"},
	{-2.5, "-2.5"},
	{3, "3"},
	{0, "0"},
	{math.Copysign(0, -1), "-0"}, // ZINCRBY y -0 m on a new member
	{100, "100"},
	{12345.678, "12345.678"},
	{3.14159, "3.1415899999999999"},
	{1e15, "1000000000000000"},
	{1e16, "10000000000000000"},
	{1e17, "1e+17"},
	{123456789012345678, "1.2345678901234568e+17"},
	{1e300, "1.0000000000000001e+300"},
	{1.7976931348623157e308, "1.7976931348623157e+308"},
	{0.0001, "0.0001"},
	{0.00001, "1.0000000000000001e-05"},
	{1.2345678901234567e-5, "1.2345678901234568e-05"},
	{-1e-7, "-9.9999999999999995e-08"},
	{2.2250738585072014e-308, "2.2250738585072014e-308"},
	{5e-324, "4.9406564584124654e-324"},
	{math.Inf(1), "inf"},
	{math.Inf(-1), "-inf"},
}

func TestAppendDouble_FormatsAsRedis70(t *testing.T) {
	for _, c := range RedisDoubles {
		want2 := string(AppendBulkString(nil, c.Text))
		if got := AppendDouble(nil, c.F, 2); string(got) != want2 {
			t.Errorf("RESP2 %v: %q, want %q", c.F, got, want2)
		}
		if got := AppendDouble(nil, c.F, 3); string(got) != ","+c.Text+"\r\n" {
			t.Errorf("RESP3 %v: %q, want %q", c.F, got, ","+c.Text+"\r\n")
		}
	}
}

func TestAppendCommand_EncodesBinaryArguments(t *testing.T) {
	got := AppendCommand(nil, [][]byte{[]byte("SET"), []byte("k\r\n"), {}})
	want := "*3\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$0\r\n\r\n"
	if string(got) != want {
		t.Fatalf("%q, want %q", got, want)
	}
}

func TestAppendSimple_NeverBreaksTheFraming(t *testing.T) {
	got := AppendSimple(nil, "a\rb\nc")
	if string(got) != "+a b c\r\n" {
		t.Fatalf("%q", got)
	}
}

// AppendLarge yields between the MiBs it copies: with one processor, a
// goroutine made runnable before the copy runs before it ends. (A garbage
// collection waits so for every goroutine: a copy that never yields holds
// every allocating goroutine of the process until it ends.)
func TestAppendLarge_YieldsBetweenMiBs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	v := make([]byte, 8<<20)
	v[len(v)-1] = 7
	dst := make([]byte, 0, len(v)) // no allocation, which could yield, in the copy
	var ran atomic.Bool
	go ran.Store(true)
	out := AppendLarge(dst, v)
	if !ran.Load() {
		t.Error("AppendLarge of 8 MiB never yielded the processor")
	}
	if len(out) != len(v) || out[len(out)-1] != 7 {
		t.Errorf("AppendLarge returned %d bytes", len(out))
	}
}
