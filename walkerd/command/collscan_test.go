package command

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

func TestCollCursor_KeepsOrderAndResumesAtAPrefix(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{0, 1, 'a', 'b', 0xff}
	var elems [][]byte
	for range 5000 {
		e := make([]byte, r.IntN(12))
		for i := range e {
			e[i] = alphabet[r.IntN(len(alphabet))]
		}
		elems = append(elems, e)
	}
	elems = append(elems, nil, []byte{0, 0, 0, 0, 0, 0, 0, 0})
	slices.SortFunc(elems, bytes.Compare)
	for i, e := range elems {
		c := encodeCollCursor(e)
		if c == 0 || c>>62 != 1 {
			t.Fatalf("enc(%q) = %#x: not tagged", e, c)
		}
		if i > 0 && encodeCollCursor(elems[i-1]) > c {
			t.Fatalf("enc not monotone at %q < %q", elems[i-1], e)
		}
		start, ok := decodeCollCursor(c)
		if !ok || !bytes.HasPrefix(e, start) {
			t.Fatalf("dec(enc(%q)) = %q, %v: not a prefix", e, start, ok)
		}
		if encodeCollCursor(start) != c {
			t.Fatalf("enc(dec(%#x)) = %#x", c, encodeCollCursor(start))
		}
	}
	for _, c := range []uint64{1, 1 << 63, 3 << 62, 1<<62 | 1<<56, 1<<62 | 1<<61, math.MaxUint64} {
		if _, ok := decodeCollCursor(c); ok {
			t.Errorf("decodeCollCursor(%#x) accepted", c)
		}
	}
	if s, ok := decodeCollCursor(0); !ok || s != nil {
		t.Errorf("decodeCollCursor(0) = %q, %v", s, ok)
	}
}

func TestParseScanCursor_ReadsAsStrtoul(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0", 0, true}, {"", 0, true}, {"00", 0, true}, {"+0", 0, true}, {"-0", 0, true},
		{"42", 42, true}, {"18446744073709551615", math.MaxUint64, true}, {"-1", math.MaxUint64, true},
		{"18446744073709551616", 0, false}, {"-18446744073709551616", 0, false},
		{"x", 0, false}, {"1x", 0, false}, {" 1", 0, false}, {"1 ", 0, false}, {"-", 0, false}, {"+", 0, false},
		{"0x10", 0, false}, {"1.0", 0, false},
	} {
		got, ok := ParseScanCursor([]byte(c.in))
		if got != c.want || ok != c.ok {
			t.Errorf("ParseScanCursor(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// scanPage reads one page: the next cursor and the flat elements.
func scanPage(t *testing.T, a *applier, args ...string) (string, []string) {
	t.Helper()
	v := hsParse(t, a.read(args...))
	if len(v.Elems) != 2 {
		t.Fatalf("%q: reply %v", args, v)
	}
	var out []string
	for _, e := range v.Elems[1].Elems {
		out = append(out, string(e.Str))
	}
	return string(v.Elems[0].Str), out
}

// hsetMany applies HSET key f v ... in entries of 500 fields.
func hsetMany(a *applier, key string, fields []string) {
	for len(fields) > 0 {
		n := min(500, len(fields))
		args := []string{"HSET", key}
		for _, f := range fields[:n] {
			args = append(args, f, "v"+f)
		}
		a.do(args...)
		fields = fields[n:]
	}
}

func TestHscan_PagesABigHashCompletely(t *testing.T) {
	a := newApplier(t)
	var fields []string
	for i := range 5000 {
		fields = append(fields, fmt.Sprintf("f%05d", i))
	}
	hsetMany(a, "h", fields)
	seen := map[string]int{}
	cursor, pages := "0", 0
	for {
		next, kv := scanPage(t, a, "HSCAN", "h", cursor, "COUNT", "10")
		pages++
		if len(kv)%2 != 0 {
			t.Fatalf("odd page %q", kv)
		}
		if next != "0" && len(kv) < 20 {
			t.Fatalf("page %d has %d fields, COUNT 10", pages, len(kv)/2)
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] != "v"+kv[i] {
				t.Fatalf("field %q value %q", kv[i], kv[i+1])
			}
			seen[kv[i]]++
		}
		if next == "0" {
			break
		}
		if next == cursor || pages > 1000 {
			t.Fatalf("cursor %s does not move", next)
		}
		cursor = next
	}
	if len(seen) != 5000 || pages < 400 {
		t.Fatalf("%d fields in %d pages", len(seen), pages)
	}
	for f, n := range seen {
		if n != 1 {
			t.Fatalf("field %q came %d times", f, n)
		}
	}
}

func TestHscan_FieldsPresentThroughoutAreNeverMissed(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	a := newApplier(t)
	// Fields of many shapes: short, long, sharing prefixes, binary.
	randField := func() string {
		switch r.IntN(3) {
		case 0:
			return fmt.Sprintf("f%05d", r.IntN(100000))
		case 1:
			return fmt.Sprintf("user:%d:name", r.IntN(100000))
		}
		b := make([]byte, 1+r.IntN(10))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return string(b)
	}
	all := map[string]bool{}
	for len(all) < 5000 {
		all[randField()] = true
	}
	fields := slices.Sorted(func(yield func(string) bool) {
		for f := range all {
			if !yield(f) {
				return
			}
		}
	})
	hsetMany(a, "h", fields)
	// Half the fields may be deleted during the iteration; the others stay.
	volatile := map[string]bool{}
	for _, f := range fields {
		if r.IntN(2) == 0 {
			volatile[f] = true
		}
	}
	var volList []string
	for _, f := range fields {
		if volatile[f] {
			volList = append(volList, f)
		}
	}
	r.Shuffle(len(volList), func(i, j int) { volList[i], volList[j] = volList[j], volList[i] })
	seen := map[string]int{}
	cursor, pages := "0", 0
	for {
		next, kv := scanPage(t, a, "HSCAN", "h", cursor, "COUNT", "10")
		pages++
		for i := 0; i < len(kv); i += 2 {
			seen[kv[i]]++
		}
		if next == "0" {
			break
		}
		cursor = next
		// Between pages: delete a few volatile fields, add new ones.
		for range 3 {
			if len(volList) > 0 {
				a.do("HDEL", "h", volList[0])
				volList = volList[1:]
			}
			if f := randField(); !all[f] {
				a.do("HSET", "h", f, "new")
			}
		}
		if pages > 5000 {
			t.Fatal("the iteration does not end")
		}
	}
	missed := 0
	for _, f := range fields {
		if volatile[f] {
			continue
		}
		switch seen[f] {
		case 0:
			missed++
		case 1:
		default:
			t.Errorf("field %q present throughout came %d times", f, seen[f])
		}
	}
	if missed > 0 {
		t.Fatalf("%d fields present throughout were missed (%d pages)", missed, pages)
	}
	if pages < 300 {
		t.Fatalf("only %d pages", pages)
	}
}

func TestHscan_ElementsSharingACursorComeInOnePage(t *testing.T) {
	a := newApplier(t)
	var fields []string
	for i := range 300 {
		fields = append(fields, fmt.Sprintf("prefix_%03d", i))
	}
	for i := range 100 {
		fields = append(fields, fmt.Sprintf("a%03d", i), fmt.Sprintf("z%03d", i))
	}
	hsetMany(a, "h", fields)
	cursor := "0"
	sawGroup := false
	total := 0
	for {
		next, kv := scanPage(t, a, "HSCAN", "h", cursor, "COUNT", "10", "MATCH", "prefix_*")
		if len(kv) > 0 {
			if len(kv) != 600 || sawGroup {
				t.Fatalf("the prefix_ group came as %d fields", len(kv)/2)
			}
			sawGroup = true
		}
		total += len(kv) / 2
		if next == "0" {
			break
		}
		cursor = next
	}
	if !sawGroup || total != 300 {
		t.Fatalf("group seen %v, %d fields", sawGroup, total)
	}
}

func TestCollScan_SmallCollectionsComeBackWhole(t *testing.T) {
	a := newApplier(t)
	a.do("HSET", "h", "a", "1", "b", "2", "c", "3")
	a.do("SADD", "s", "x", "y")
	hsExpect(t, "HSCAN COUNT 1", a.read("HSCAN", "h", "0", "COUNT", "1"), "*2\r\n$1\r\n0\r\n"+hsBulks("a", "1", "b", "2", "c", "3"))
	hsExpect(t, "HSCAN MATCH", a.read("HSCAN", "h", "", "MATCH", "[ab]"), "*2\r\n$1\r\n0\r\n"+hsBulks("a", "1", "b", "2"))
	hsExpect(t, "SSCAN", a.read("SSCAN", "s", "0", "COUNT", "1"), "*2\r\n$1\r\n0\r\n"+hsBulks("x", "y"))
	// A cursor resumes where it says, even in a small collection.
	c := strconv.FormatUint(encodeCollCursor([]byte("b")), 10)
	hsExpect(t, "HSCAN from b", a.read("HSCAN", "h", c), "*2\r\n$1\r\n0\r\n"+hsBulks("b", "2", "c", "3"))
	// 129 elements page.
	var many []string
	for i := range collScanWhole + 1 {
		many = append(many, fmt.Sprintf("m%03d", i))
	}
	a.do(append([]string{"SADD", "big"}, many...)...)
	next, got := scanPage(t, a, "SSCAN", "big", "0", "COUNT", "5")
	if next == "0" || !slices.Equal(got, many[:5]) {
		t.Fatalf("SSCAN big = %s %q", next, got)
	}
	hsExpect(t, "next cursor", next, strconv.FormatUint(encodeCollCursor([]byte("m005")), 10))
}

func TestCollScan_ErrorsComeInRedisOrder(t *testing.T) {
	a := newApplier(t)
	a.do("HSET", "h", "a", "1")
	a.do("SET", "str", "v")
	tagless := strconv.FormatUint(5, 10)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"HSCAN", "nokey", "x"}, "-ERR invalid cursor\r\n"},
		{[]string{"HSCAN", "str", "x"}, "-ERR invalid cursor\r\n"},
		{[]string{"HSCAN", "str", "0", "COUNT", "0"}, "-" + errWrongType + "\r\n"},
		{[]string{"SSCAN", "h", "0"}, "-" + errWrongType + "\r\n"},
		{[]string{"ZSCAN", "h", "0"}, "-" + errWrongType + "\r\n"},
		{[]string{"HSCAN", "nokey", "0", "COUNT", "x"}, "*2\r\n$1\r\n0\r\n*0\r\n"},
		{[]string{"HSCAN", "nokey", tagless}, "*2\r\n$1\r\n0\r\n*0\r\n"},
		{[]string{"HSCAN", "h", "0", "COUNT", "0"}, "-ERR syntax error\r\n"},
		{[]string{"HSCAN", "h", "0", "COUNT", "-1"}, "-ERR syntax error\r\n"},
		{[]string{"HSCAN", "h", "0", "COUNT", "x"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"HSCAN", "h", "0", "COUNT"}, "-ERR syntax error\r\n"},
		{[]string{"HSCAN", "h", "0", "TYPE", "hash"}, "-ERR syntax error\r\n"},
		{[]string{"HSCAN", "h", "0", "NOVALUES"}, "-ERR syntax error\r\n"},
		{[]string{"HSCAN", "h", tagless}, "-ERR invalid cursor\r\n"},
		{[]string{"HSCAN", "h", "-1"}, "-ERR invalid cursor\r\n"},
		{[]string{"HSCAN", "h", tagless, "COUNT", "0"}, "-ERR syntax error\r\n"},
		{[]string{"HSCAN", "h", "0", "MATCH", "b", "MATCH", "a"}, "*2\r\n$1\r\n0\r\n" + hsBulks("a", "1")},
	} {
		hsExpect(t, fmt.Sprint(c.args), a.read(c.args...), c.want)
	}
}

// hsSeedZset writes a sorted set straight to the engine, in the layout
// of coll.go: both families.
func hsSeedZset(t *testing.T, a *applier, key string, members []string, scores []float64) {
	t.Helper()
	a.index++
	ver := keyspace.NewVersion(a.index, 1)
	p := keyspace.SubPrefix(0, []byte(key), ver)
	var b engine.Batch
	for i, m := range members {
		b.PutSeq(slices.Concat(p, []byte{zMember}, []byte(m)), zScoreBytes(scores[i]), 0, a.index)
		b.PutSeq(slices.Concat(p, []byte{zScore}, zSortable(scores[i]), []byte(m)), []byte{}, 0, a.index)
	}
	b.PutSeq(keyspace.MetaKey(0, []byte(key)), keyspace.AppendCollection(nil, keyspace.ZSet, ver, int64(len(members)), nil), 0, a.index)
	b.SetSeq(a.index)
	if err := a.db.Write(&b); err != nil {
		t.Fatal(err)
	}
}

func TestZscan_WalksMembersWithScores(t *testing.T) {
	a := newApplier(t)
	hsSeedZset(t, a, "z", []string{"b", "a", "c", "d", "e", "f", "g"},
		[]float64{0.1, 3, math.Inf(-1), math.Inf(1), 1e17, -2.5, 9007199254740993})
	hsExpect(t, "ZSCAN small", a.read("ZSCAN", "z", "0", "COUNT", "1"), "*2\r\n$1\r\n0\r\n"+
		hsBulks("a", "3", "b", "0.10000000000000001", "c", "-inf", "d", "inf", "e", "100000000000000000", "f", "-2.5", "g", "9007199254740992"))
	hsExpect(t, "ZSCAN MATCH", a.read("ZSCAN", "z", "0", "MATCH", "[ae]"), "*2\r\n$1\r\n0\r\n"+hsBulks("a", "3", "e", "100000000000000000"))

	// A big sorted set pages by member, scores as "%.17g".
	var members []string
	var scores []float64
	for i := range 500 {
		members = append(members, fmt.Sprintf("m%04d", i))
		scores = append(scores, float64(500-i)*1e15)
	}
	hsSeedZset(t, a, "big", members, scores)
	var got []string
	cursor := "0"
	for {
		next, kv := scanPage(t, a, "ZSCAN", "big", cursor, "COUNT", "7")
		got = append(got, kv...)
		if next == "0" {
			break
		}
		if len(kv) < 14 {
			t.Fatalf("page of %d", len(kv)/2)
		}
		cursor = next
	}
	if len(got) != 1000 {
		t.Fatalf("ZSCAN gave %d values", len(got))
	}
	for i := 0; i < len(got); i += 2 {
		j := i / 2
		if got[i] != members[j] || got[i+1] != formatScore(scores[j]) {
			t.Fatalf("element %d: %q %q, want %q %q", j, got[i], got[i+1], members[j], formatScore(scores[j]))
		}
	}
	if got[1] != "5e+17" {
		t.Fatalf("score of m0000 = %q", got[1])
	}
}

func TestCollScan_TransactionSeesItsOwnWrites(t *testing.T) {
	a := newApplier(t)
	a.do("HSET", "h", "b", "2")
	got := a.apply(&Entry{Exec: true, Cmds: [][][]byte{
		cmd("HSET", "h", "a", "1", "c", "3"), cmd("HDEL", "h", "b"), cmd("HSCAN", "h", "0"),
		cmd("SADD", "s", "x"), cmd("SSCAN", "s", "0", "MATCH", "x"),
	}})
	want := "*5\r\n:2\r\n:1\r\n*2\r\n$1\r\n0\r\n" + hsBulks("a", "1", "c", "3") + ":1\r\n*2\r\n$1\r\n0\r\n" + hsBulks("x")
	hsExpect(t, "EXEC", got, want)
}
