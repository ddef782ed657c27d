package command

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// bmInt decodes an integer reply.
func bmInt(t *testing.T, s string) int64 {
	t.Helper()
	if !strings.HasPrefix(s, ":") || !strings.HasSuffix(s, "\r\n") {
		t.Fatalf("not an integer reply: %q", s)
	}
	n, err := strconv.ParseInt(s[1:len(s)-2], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// bitOf is the naive model: bit i of s, most significant first.
func bitOf(s []byte, i int) int {
	if i/8 >= len(s) {
		return 0
	}
	return int(s[i/8]>>(7-i%8)) & 1
}

// normRange resolves start/end over n units as Redis does.
func normRange(start, end, n int) (int, int) {
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start, end = max(start, 0), max(end, 0)
	if end >= n {
		end = n - 1
	}
	return start, end
}

func TestBitmap_SetbitGetbitTouchesAndGrowth(t *testing.T) {
	a := newApplier(t)
	for _, c := range []struct{ args, want, touch string }{
		{"SETBIT k 9 1", ":0\r\n", "k:setbit"},
		{"GET k", "$2\r\n\x00\x40\r\n", ""},
		{"SETBIT k 9 1", ":1\r\n", ""}, // unchanged: no write, no event
		{"SETBIT k 9 0", ":1\r\n", "k:setbit"},
		{"SETBIT k 23 0", ":0\r\n", "k:setbit"}, // grows: an event though the bit was 0
		{"STRLEN k", ":3\r\n", ""},
		{"SETBIT k 4294967296 1", "-ERR bit offset is not an integer or out of range\r\n", ""},
		{"SETBIT k 0 2", "-ERR bit is not an integer or out of range\r\n", ""},
		{"RPUSH l x", ":1\r\n", "l:rpush"},
		{"SETBIT l 0 1", "-" + errWrongType + "\r\n", ""},
	} {
		got, ev := hsApply(t, a, strings.Fields(c.args)...)
		if got != c.want || ev != c.touch {
			t.Errorf("%s: got %q events %q, want %q events %q", c.args, got, ev, c.want, c.touch)
		}
	}
	if got := a.read("GETBIT", "k", "4294967295"); got != ":0\r\n" {
		t.Errorf("GETBIT far: %q", got)
	}
	if got := a.read("GETBIT", "l", "0"); got != "-"+errWrongType+"\r\n" {
		t.Errorf("GETBIT list: %q", got)
	}
}

func TestBitmap_GrowthBeyondValueLimitRefused(t *testing.T) {
	defer func(old int) { MaxValueLen = old }(MaxValueLen)
	MaxValueLen = 8 // "BITFIELD" itself must fit
	a := newApplier(t)
	if got := a.do("SETBIT", "k", "63", "1"); got != ":0\r\n" {
		t.Fatalf("SETBIT in limit: %q", got)
	}
	if got := a.do("SETBIT", "k", "64", "1"); got != "-"+string(ErrStringTooLong)+"\r\n" {
		t.Errorf("SETBIT past limit: %q", got)
	}
	if got := a.do("BITFIELD", "k", "SET", "u8", "57", "1"); got != "-"+string(ErrStringTooLong)+"\r\n" {
		t.Errorf("BITFIELD past limit: %q", got)
	}
	if got := a.do("BITFIELD", "k", "SET", "u8", "56", "1"); got != "*1\r\n:1\r\n" {
		t.Errorf("BITFIELD in limit: %q", got)
	}
}

// BITCOUNT and BITPOS in BIT mode agree with a bit-by-bit model over
// random strings and ranges.
func TestBitmap_BitcountBitposMatchModel(t *testing.T) {
	a := newApplier(t)
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 60; round++ {
		v := make([]byte, r.IntN(6))
		for i := range v {
			v[i] = []byte{0, 0xff, byte(r.IntN(256))}[r.IntN(3)]
		}
		a.do("SET", "s", string(v))
		nbits := len(v) * 8
		for q := 0; q < 40; q++ {
			start, end := r.IntN(60)-30, r.IntN(60)-30
			ss, ee := strconv.Itoa(start), strconv.Itoa(end)
			s, e := normRange(start, end, nbits)
			want := 0
			if !(start < 0 && end < 0 && start > end) {
				for i := s; i <= e; i++ {
					want += bitOf(v, i)
				}
			}
			if got := bmInt(t, a.read("BITCOUNT", "s", ss, ee, "BIT")); got != int64(want) {
				t.Fatalf("BITCOUNT %x %d %d BIT = %d, want %d", v, start, end, got, want)
			}
			for bit := 0; bit <= 1; bit++ {
				want := -1
				for i := s; i <= e; i++ {
					if bitOf(v, i) == bit {
						want = i
						break
					}
				}
				if got := bmInt(t, a.read("BITPOS", "s", strconv.Itoa(bit), ss, ee, "BIT")); got != int64(want) {
					t.Fatalf("BITPOS %x %d %d %d BIT = %d, want %d", v, bit, start, end, got, want)
				}
			}
		}
	}
}

// BITFIELD SET then GET round-trips every width, signed and unsigned, at
// unaligned offsets, and leaves the other bits alone.
func TestBitmap_BitfieldRoundTrip(t *testing.T) {
	a := newApplier(t)
	r := rand.New(rand.NewPCG(3, 4))
	a.do("SET", "k", strings.Repeat("\xa5", 20))
	for w := 1; w <= 64; w++ {
		for _, signed := range []bool{true, false} {
			if !signed && w == 64 {
				continue
			}
			typ := "u" + strconv.Itoa(w)
			var val int64
			if signed {
				typ = "i" + strconv.Itoa(w)
				val = int64(r.Uint64()) >> (64 - w) // in range
			} else {
				val = int64(r.Uint64() >> (64 - w))
			}
			off := strconv.Itoa(r.IntN(80))
			before := a.read("GET", "k")
			a.do("BITFIELD", "k", "SET", typ, off, strconv.FormatInt(val, 10))
			if got := a.read("BITFIELD_RO", "k", "GET", typ, off); got != "*1\r\n:"+strconv.FormatInt(val, 10)+"\r\n" {
				t.Fatalf("%s at %s: set %d, got %q", typ, off, val, got)
			}
			// Setting the old value back restores the string.
			old := getUnsignedBits([]byte(before[strings.Index(before, "\n")+1:]), uint64(atoi(off)), w)
			a.do("BITFIELD", "k", "SET", "u"+strconv.Itoa(min(w, 63)), off, strconv.FormatUint(old>>(w-min(w, 63)), 10))
			if w == 64 {
				a.do("BITFIELD", "k", "SET", "u1", strconv.Itoa(atoi(off)+63), strconv.FormatUint(old&1, 10))
			}
			if after := a.read("GET", "k"); after != before {
				t.Fatalf("%s at %s: restore %q != %q", typ, off, after, before)
			}
		}
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func TestBitmap_BitfieldOverflowAndEvents(t *testing.T) {
	a := newApplier(t)
	for _, c := range []struct{ args, want, touch string }{
		{"BITFIELD k OVERFLOW FAIL INCRBY u2 8 10", "*1\r\n$-1\r\n", ""}, // grows, no event
		{"STRLEN k", ":2\r\n", ""},
		{"BITFIELD k GET u2 8", "*1\r\n:0\r\n", ""},
		{"BITFIELD k INCRBY u2 8 5", "*1\r\n:1\r\n", "k:setbit"},
		{"BITFIELD k OVERFLOW SAT INCRBY u2 8 5 INCRBY i4 0 -100 SET u8 0 -1", "*3\r\n:3\r\n:-8\r\n:128\r\n", "k:setbit"},
		{"BITFIELD w OVERFLOW WRAP INCRBY i64 0 9223372036854775807 INCRBY i64 0 9223372036854775807", "*2\r\n:9223372036854775807\r\n:-2\r\n", "w:setbit"},
		{"BITFIELD w OVERFLOW SAT SET i64 0 9223372036854775807 INCRBY i64 0 1 INCRBY i64 0 -9223372036854775808 INCRBY i64 0 -9223372036854775808", "*4\r\n:-2\r\n:9223372036854775807\r\n:-1\r\n:-9223372036854775808\r\n", "w:setbit"},
		{"BITFIELD k SET u8 0 127", "*1\r\n:255\r\n", "k:setbit"},
		{"BITFIELD k SET u8 0 127", "*1\r\n:127\r\n", ""}, // no change
		{"BITFIELD_RO k INCRBY u8 0 1", "-ERR BITFIELD_RO only supports the GET subcommand\r\n", ""},
		{"BITFIELD k GET u64 0", "-" + string(errBitfieldType) + "\r\n", ""},
		{"BITFIELD k GET i8 #536870912", "-" + string(errBitOffset) + "\r\n", ""},
		{"BITFIELD k OVERFLOW BAD", "-ERR Invalid OVERFLOW type specified\r\n", ""},
	} {
		got, ev := hsApply(t, a, strings.Fields(c.args)...)
		if got != c.want || ev != c.touch {
			t.Errorf("%s: got %q events %q, want %q events %q", c.args, got, ev, c.want, c.touch)
		}
	}
}

func TestBitmap_BitopResultsAndEvents(t *testing.T) {
	a := newApplier(t)
	a.do("SET", "a", "\xff\x0f")
	a.do("SET", "b", "\xf0")
	a.do("SET", "d", "x", "EX", "100")
	for _, c := range []struct{ args, want, touch string }{
		{"BITOP AND d a b", ":2\r\n", "d:set"},
		{"GET d", "$2\r\n\xf0\x00\r\n", ""},
		{"TTL d", ":-1\r\n", ""},
		{"BITOP OR d a b", ":2\r\n", "d:set"},
		{"GET d", "$2\r\n\xff\x0f\r\n", ""},
		{"BITOP XOR d a b", ":2\r\n", "d:set"},
		{"GET d", "$2\r\n\x0f\x0f\r\n", ""},
		{"BITOP NOT d b", ":1\r\n", "d:set"},
		{"GET d", "$1\r\n\x0f\r\n", ""},
		{"BITOP OR d nx1 nx2", ":0\r\n", "d:del"},
		{"EXISTS d", ":0\r\n", ""},
		{"BITOP OR d nx1", ":0\r\n", ""}, // nothing to delete
		{"BITOP NOT d a b", "-" + string(errBitopNot) + "\r\n", ""},
		{"BITOP NAND d a", "-ERR syntax error\r\n", ""},
	} {
		got, ev := hsApply(t, a, strings.Fields(c.args)...)
		if got != c.want || ev != c.touch {
			t.Errorf("%s: got %q events %q, want %q events %q", c.args, got, ev, c.want, c.touch)
		}
	}
}

// naiveLCSLen is the length of the longest common subsequence, by
// recursion with memo.
func naiveLCSLen(x, y string) int {
	memo := map[[2]int]int{}
	var f func(i, j int) int
	f = func(i, j int) int {
		if i == len(x) || j == len(y) {
			return 0
		}
		k := [2]int{i, j}
		if v, ok := memo[k]; ok {
			return v
		}
		v := max(f(i+1, j), f(i, j+1))
		if x[i] == y[j] {
			v = max(v, 1+f(i+1, j+1))
		}
		memo[k] = v
		return v
	}
	return f(0, 0)
}

func TestLCS_RepliesAndModel(t *testing.T) {
	a := newApplier(t)
	a.do("MSET", "a", "ohmytext", "b", "mynewtext")
	for _, c := range []struct{ args, want string }{
		{"LCS a b", "$6\r\nmytext\r\n"},
		{"LCS a b LEN", ":6\r\n"},
		{"LCS a b IDX MINMATCHLEN 4 WITHMATCHLEN", "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"},
		{"LCS a b IDX", "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n"},
		{"LCS a nx", "$0\r\n\r\n"},
		{"LCS a b LEN IDX", "-" + string(errLcsLenIdx) + "\r\n"},
		{"LCS a b MINMATCHLEN", "-ERR syntax error\r\n"},
	} {
		if got := a.read(strings.Fields(c.args)...); got != c.want {
			t.Errorf("%s: got %q, want %q", c.args, got, c.want)
		}
	}
	a.do("RPUSH", "l", "x")
	if got := a.read("LCS", "l", "a", "foo"); got != "-"+string(errLcsType)+"\r\n" {
		t.Errorf("LCS on a list: %q", got)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 100; i++ {
		x, y := make([]byte, r.IntN(12)), make([]byte, r.IntN(12))
		for j := range x {
			x[j] = "abc"[r.IntN(3)]
		}
		for j := range y {
			y[j] = "abc"[r.IntN(3)]
		}
		a.do("MSET", "x", string(x), "y", string(y))
		want := naiveLCSLen(string(x), string(y))
		if got := bmInt(t, a.read("LCS", "x", "y", "LEN")); got != int64(want) {
			t.Fatalf("LCS %q %q LEN = %d, want %d", x, y, got, want)
		}
		sub := a.read("LCS", "x", "y")
		s := sub[strings.Index(sub, "\n")+1 : len(sub)-2]
		if len(s) != want || !isSubseq(s, string(x)) || !isSubseq(s, string(y)) {
			t.Fatalf("LCS %q %q = %q, not a common subsequence of length %d", x, y, s, want)
		}
	}
}

func isSubseq(s, of string) bool {
	i := 0
	for j := 0; j < len(of) && i < len(s); j++ {
		if of[j] == s[i] {
			i++
		}
	}
	return i == len(s)
}
