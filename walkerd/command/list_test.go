package command

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// bulks renders a RESP2 array of bulk strings.
func bulks(elems ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(elems))
	for _, e := range elems {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(e), e)
	}
	return b.String()
}

func intReply(n int64) string { return fmt.Sprintf(":%d\r\n", n) }

const wrongTypeReply = "-" + errWrongType + "\r\n"

// expect runs each {command, reply} in turn, reads through Read and
// writes through Apply, as the server does.
func (a *applier) expect(t *testing.T, steps ...[2]string) {
	t.Helper()
	for _, s := range steps {
		args := strings.Fields(s[0])
		var got string
		if spec := Lookup([]byte(args[0])); spec != nil && spec.Flags&FlagReadonly != 0 {
			got = a.read(args...)
		} else {
			got = a.do(args...)
		}
		if got != s[1] {
			t.Fatalf("%s = %q, want %q", s[0], got, s[1])
		}
	}
}

// listLayout checks a list's engine layout: its sub-keys are exactly the
// positions [head, head+count) of its version, and returns its elements.
func listLayout(t *testing.T, db *engine.DB, key string) []string {
	t.Helper()
	var meta keyspace.Meta
	found := false
	err := db.View(1, func(v *engine.View) error {
		raw, _, err := v.Get(keyspace.MetaKey(0, []byte(key)))
		if err != nil {
			return nil
		}
		found = true
		meta, err = keyspace.DecodeMeta(raw)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		return nil
	}
	if meta.Type != keyspace.List {
		t.Fatalf("%s: type %v", key, meta.Type)
	}
	head, err := keyspace.ListHead(meta.Extra)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	p := keyspace.SubPrefix(0, []byte(key), meta.Version)
	want := head
	err = db.View(1, func(v *engine.View) error {
		it := v.Iter(engine.IterOptions{Prefix: p})
		for ok := it.First(); ok; ok = it.Next() {
			pos, err := keyspace.DecodeListPos(it.Key()[len(p):])
			if err != nil {
				return err
			}
			if pos != want {
				return fmt.Errorf("position %d, want %d (head %d)", pos, want, head)
			}
			want++
			val, err := it.Value()
			if err != nil {
				return err
			}
			out = append(out, string(val))
		}
		return closeIter(it)
	})
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	if int64(len(out)) != meta.Count {
		t.Fatalf("%s: %d sub-keys, count %d", key, len(out), meta.Count)
	}
	return out
}

func TestList_PushPopAndReplies(t *testing.T) {
	a := newApplier(t)
	a.expect(t,
		[2]string{"RPUSH l a b c", intReply(3)},
		[2]string{"LPUSH l z y", intReply(5)},
		[2]string{"LRANGE l 0 -1", bulks("y", "z", "a", "b", "c")},
		[2]string{"LLEN l", intReply(5)},
		[2]string{"LPUSHX missing a", intReply(0)},
		[2]string{"RPUSHX missing a", intReply(0)},
		[2]string{"EXISTS missing", intReply(0)},
		[2]string{"RPUSHX l d e", intReply(7)},
		[2]string{"LPOP l", "$1\r\ny\r\n"},
		[2]string{"RPOP l", "$1\r\ne\r\n"},
		[2]string{"LPOP l 2", bulks("z", "a")},
		[2]string{"RPOP l 2", bulks("d", "c")},
		[2]string{"LPOP l 0", "*0\r\n"},
		[2]string{"RPOP l 10", bulks("b")},
		[2]string{"EXISTS l", intReply(0)},
		[2]string{"LPOP l", "$-1\r\n"},
		[2]string{"LPOP l 1", "*-1\r\n"},
		[2]string{"LPOP l 0", "*-1\r\n"},
		[2]string{"LPOP l -1", "-ERR value is out of range, must be positive\r\n"},
		[2]string{"LPOP l x", "-ERR value is out of range, must be positive\r\n"},
		[2]string{"LPOP l 1 2", "-ERR wrong number of arguments for 'lpop' command\r\n"},
		[2]string{"SET s v", "+OK\r\n"},
		[2]string{"LPUSH s a", wrongTypeReply},
		[2]string{"LPUSHX s a", wrongTypeReply},
		[2]string{"LPOP s", wrongTypeReply},
		[2]string{"LPOP s 0", wrongTypeReply},
		[2]string{"LLEN s", wrongTypeReply},
		[2]string{"LLEN missing", intReply(0)},
	)
}

func TestList_IndexSetRangeTrim(t *testing.T) {
	a := newApplier(t)
	a.expect(t,
		[2]string{"RPUSH l a b c d e", intReply(5)},
		[2]string{"LINDEX l 0", "$1\r\na\r\n"},
		[2]string{"LINDEX l -1", "$1\r\ne\r\n"},
		[2]string{"LINDEX l -5", "$1\r\na\r\n"},
		[2]string{"LINDEX l -6", "$-1\r\n"},
		[2]string{"LINDEX l 5", "$-1\r\n"},
		[2]string{"LINDEX l x", "-" + string(ErrNotInteger) + "\r\n"},
		[2]string{"LINDEX missing x", "$-1\r\n"},
		[2]string{"LSET l 1 B", "+OK\r\n"},
		[2]string{"LSET l -1 E", "+OK\r\n"},
		[2]string{"LSET l 5 x", "-ERR index out of range\r\n"},
		[2]string{"LSET l x x", "-" + string(ErrNotInteger) + "\r\n"},
		[2]string{"LSET missing x x", "-ERR no such key\r\n"},
		[2]string{"LRANGE l 0 -1", bulks("a", "B", "c", "d", "E")},
		[2]string{"LRANGE l -100 100", bulks("a", "B", "c", "d", "E")},
		[2]string{"LRANGE l 1 2", bulks("B", "c")},
		[2]string{"LRANGE l 3 1", "*0\r\n"},
		[2]string{"LRANGE l 5 10", "*0\r\n"},
		[2]string{"LRANGE l -9223372036854775808 9223372036854775807", bulks("a", "B", "c", "d", "E")},
		[2]string{"LRANGE missing 0 -1", "*0\r\n"},
		[2]string{"LRANGE missing x 1", "-" + string(ErrNotInteger) + "\r\n"},
		[2]string{"LTRIM l 1 -2", "+OK\r\n"},
		[2]string{"LRANGE l 0 -1", bulks("B", "c", "d")},
		[2]string{"LTRIM l 0 100", "+OK\r\n"},
		[2]string{"LRANGE l 0 -1", bulks("B", "c", "d")},
		[2]string{"LTRIM missing 0 1", "+OK\r\n"},
		[2]string{"LTRIM l 2 1", "+OK\r\n"},
		[2]string{"EXISTS l", intReply(0)},
	)
}

func TestList_InsertRemovePos(t *testing.T) {
	a := newApplier(t)
	a.expect(t,
		[2]string{"RPUSH l a b c a b c a", intReply(7)},
		[2]string{"LINSERT l BEFORE b x", intReply(8)},
		[2]string{"LINSERT l after c y", intReply(9)},
		[2]string{"LRANGE l 0 -1", bulks("a", "x", "b", "c", "y", "a", "b", "c", "a")},
		[2]string{"LINSERT l before nope z", intReply(-1)},
		[2]string{"LINSERT l middle a z", "-ERR syntax error\r\n"},
		[2]string{"LINSERT missing before a z", intReply(0)},
		[2]string{"LPOS l a", intReply(0)},
		[2]string{"LPOS l a RANK 2", intReply(5)},
		[2]string{"LPOS l a RANK -1", intReply(8)},
		[2]string{"LPOS l a COUNT 0", "*3\r\n:0\r\n:5\r\n:8\r\n"},
		[2]string{"LPOS l a COUNT 2 RANK -1", "*2\r\n:8\r\n:5\r\n"},
		[2]string{"LPOS l a MAXLEN 5 COUNT 0", "*1\r\n:0\r\n"},
		[2]string{"LPOS l a RANK -9223372036854775808", intReply(8)},
		[2]string{"LPOS l nope", "$-1\r\n"},
		[2]string{"LPOS l nope COUNT 1", "*0\r\n"},
		[2]string{"LPOS missing a COUNT 1", "*0\r\n"},
		[2]string{"LPOS l a RANK 0", "-" + string(errRankZero) + "\r\n"},
		[2]string{"LPOS l a COUNT -1", "-ERR COUNT can't be negative\r\n"},
		[2]string{"LPOS l a MAXLEN x", "-ERR MAXLEN can't be negative\r\n"},
		[2]string{"LPOS l a RANK", "-ERR syntax error\r\n"},
		[2]string{"LREM l 1 a", intReply(1)},
		[2]string{"LREM l -1 a", intReply(1)},
		[2]string{"LRANGE l 0 -1", bulks("x", "b", "c", "y", "a", "b", "c")},
		[2]string{"LREM l 0 b", intReply(2)},
		[2]string{"LRANGE l 0 -1", bulks("x", "c", "y", "a", "c")},
		[2]string{"LREM l -9223372036854775808 c", intReply(2)},
		[2]string{"LREM l 0 nope", intReply(0)},
		[2]string{"LRANGE l 0 -1", bulks("x", "y", "a")},
		[2]string{"LREM l 0 x", intReply(1)},
		[2]string{"LREM l 5 y", intReply(1)},
		[2]string{"LREM l 0 a", intReply(1)},
		[2]string{"EXISTS l", intReply(0)},
		[2]string{"LREM l x a", "-" + string(ErrNotInteger) + "\r\n"},
	)
	if got := listLayout(t, a.db, "l"); got != nil {
		t.Fatalf("emptied list still has %q", got)
	}
}

func TestList_MoveAndMpop(t *testing.T) {
	a := newApplier(t)
	a.expect(t,
		[2]string{"RPUSH src a b c", intReply(3)},
		[2]string{"LMOVE src dst LEFT RIGHT", "$1\r\na\r\n"},
		[2]string{"LMOVE src dst right left", "$1\r\nc\r\n"},
		[2]string{"LRANGE dst 0 -1", bulks("c", "a")},
		[2]string{"RPOPLPUSH dst dst", "$1\r\na\r\n"},
		[2]string{"LRANGE dst 0 -1", bulks("a", "c")},
		[2]string{"LMOVE dst dst LEFT LEFT", "$1\r\na\r\n"},
		[2]string{"LRANGE dst 0 -1", bulks("a", "c")},
		[2]string{"LMOVE src dst LEFT UP", "-ERR syntax error\r\n"},
		[2]string{"SET s v", "+OK\r\n"},
		[2]string{"LMOVE missing s LEFT LEFT", "$-1\r\n"},
		[2]string{"LMOVE src s LEFT LEFT", wrongTypeReply},
		[2]string{"LMOVE s src LEFT LEFT", wrongTypeReply},
		[2]string{"LRANGE src 0 -1", bulks("b")},
		[2]string{"RPOPLPUSH src new", "$1\r\nb\r\n"},
		[2]string{"EXISTS src", intReply(0)},
		[2]string{"LRANGE new 0 -1", bulks("b")},
		[2]string{"LMOVE one one LEFT RIGHT", "$-1\r\n"},
		[2]string{"RPUSH one x", intReply(1)},
		[2]string{"LMOVE one one LEFT RIGHT", "$1\r\nx\r\n"},
		[2]string{"LRANGE one 0 -1", bulks("x")},
		[2]string{"LMOVE one one LEFT LEFT", "$1\r\nx\r\n"},
		[2]string{"LMOVE one one RIGHT RIGHT", "$1\r\nx\r\n"},
		[2]string{"LMOVE one one RIGHT LEFT", "$1\r\nx\r\n"},
		[2]string{"RPUSH two x y", intReply(2)},
		[2]string{"LMOVE two two LEFT LEFT", "$1\r\nx\r\n"},
		[2]string{"LMOVE two two RIGHT RIGHT", "$1\r\ny\r\n"},
		[2]string{"LMOVE two two RIGHT LEFT", "$1\r\ny\r\n"},
		[2]string{"LRANGE two 0 -1", bulks("y", "x")},
		[2]string{"LMPOP 2 missing dst LEFT", "*2\r\n$3\r\ndst\r\n" + bulks("a")},
		[2]string{"LMPOP 2 missing dst RIGHT COUNT 5", "*2\r\n$3\r\ndst\r\n" + bulks("c")},
		[2]string{"LMPOP 1 dst LEFT", "*-1\r\n"},
		[2]string{"LMPOP 2 s new LEFT", wrongTypeReply},
		[2]string{"LMPOP 2 new s LEFT", "*2\r\n$3\r\nnew\r\n" + bulks("b")},
		[2]string{"LMPOP 0 new LEFT", "-ERR numkeys should be greater than 0\r\n"},
		[2]string{"LMPOP 1 new LEFT COUNT 0", "-ERR count should be greater than 0\r\n"},
		[2]string{"LMPOP 2 new LEFT", "-ERR syntax error\r\n"},
	)
}

func TestList_MoveWithinOneListKeepsTheLayout(t *testing.T) {
	a := newApplier(t)
	a.do("RPUSH", "one", "x")
	for _, lr := range [][2]string{{"LEFT", "LEFT"}, {"LEFT", "RIGHT"}, {"RIGHT", "RIGHT"}, {"RIGHT", "LEFT"}} {
		a.do("LMOVE", "one", "one", lr[0], lr[1])
		if got := listLayout(t, a.db, "one"); !slices.Equal(got, []string{"x"}) {
			t.Fatalf("LMOVE one one %s: %q", lr, got)
		}
	}
}

func TestList_ParseMpopArgs(t *testing.T) {
	for _, tc := range []struct {
		args string
		from int
		zset bool
		want string
	}{
		{"LMPOP 1 k LEFT", 1, false, "[k] true 1"},
		{"LMPOP 2 a b right COUNT 7", 1, false, "[a b] false 7"},
		{"BLMPOP 0.5 2 a b Left count 3", 2, false, "[a b] true 3"},
		{"ZMPOP 1 z MIN", 1, true, "[z] true 1"},
		{"ZMPOP 1 z max COUNT 2", 1, true, "[z] false 2"},
		{"ZMPOP 1 z LEFT", 1, true, string(ErrSyntax)},
		{"LMPOP 1 k MIN", 1, false, string(ErrSyntax)},
		{"LMPOP 0 k LEFT", 1, false, string(errMpopNumkeys)},
		{"LMPOP -1 k LEFT", 1, false, string(errMpopNumkeys)},
		{"LMPOP x k LEFT", 1, false, string(errMpopNumkeys)},
		{"LMPOP 9223372036854775807 k LEFT", 1, false, string(ErrSyntax)},
		{"LMPOP 2 k LEFT", 1, false, string(ErrSyntax)},
		{"LMPOP 1 k LEFT COUNT", 1, false, string(ErrSyntax)},
		{"LMPOP 1 k LEFT COUNT 1 COUNT 1", 1, false, string(ErrSyntax)},
		{"LMPOP 1 k LEFT COUNT 0", 1, false, string(errMpopCount)},
		{"LMPOP 1 k LEFT COUNT x", 1, false, string(errMpopCount)},
		{"LMPOP 1 k LEFT FOO", 1, false, string(ErrSyntax)},
	} {
		a, err := parseMpopArgs(cmd(strings.Fields(tc.args)...), tc.from, tc.zset)
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = fmt.Sprintf("%s %v %d", a.keys, a.first, a.count)
		}
		if got != tc.want {
			t.Errorf("%s: %s, want %s", tc.args, got, tc.want)
		}
	}
}

// withCtx runs f in a write context as Apply runs a command, and commits
// what it wrote; it returns the keyspace events.
func withCtx(t *testing.T, a *applier, f func(c *ctx)) []string {
	t.Helper()
	a.index++
	c := &ctx{db: a.db, now: a.now, tx: newOverlay(), index: a.index, rnd: a.index, r: &Recorder{}}
	c.tx.begin()
	err := a.db.View(a.now, func(v *engine.View) error {
		c.view = v
		f(c)
		c.view = nil
		return nil
	})
	if err != nil || c.fatal != nil {
		t.Fatal(err, c.fatal)
	}
	var ev []string
	for _, tc := range c.tx.touched {
		ev = append(ev, string(tc.Key)+":"+tc.Event)
	}
	if err := c.tx.commit(a.db, a.index, false); err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestList_HelpersForBlockingCommands(t *testing.T) {
	a := newApplier(t)
	a.do("SET", "s", "v")
	var n int64
	var wrong bool
	ev := withCtx(t, a, func(c *ctx) { n, wrong = c.listPush([]byte("l"), false, cmd("a", "b", "c")) })
	if n != 3 || wrong || strings.Join(ev, " ") != "l:rpush" {
		t.Fatalf("listPush = %d %v, events %v", n, wrong, ev)
	}
	withCtx(t, a, func(c *ctx) { n, wrong = c.listPush([]byte("s"), true, cmd("a")) })
	if !wrong {
		t.Fatal("listPush onto a string: not wrong")
	}
	var elems [][]byte
	ev = withCtx(t, a, func(c *ctx) { elems, wrong = c.listPop([]byte("l"), false, 2) })
	if fmt.Sprintf("%s", elems) != "[c b]" || wrong || strings.Join(ev, " ") != "l:rpop" {
		t.Fatalf("listPop = %s %v, events %v", elems, wrong, ev)
	}
	withCtx(t, a, func(c *ctx) { elems, wrong = c.listPop([]byte("missing"), true, 1) })
	if elems != nil || wrong {
		t.Fatalf("listPop of a missing key = %s %v", elems, wrong)
	}
	withCtx(t, a, func(c *ctx) { elems, wrong = c.listPop([]byte("s"), true, 1) })
	if !wrong {
		t.Fatal("listPop of a string: not wrong")
	}
	var elem []byte
	var ok bool
	ev = withCtx(t, a, func(c *ctx) { elem, ok, wrong = c.listMove([]byte("l"), []byte("d"), true, true) })
	if string(elem) != "a" || !ok || wrong || strings.Join(ev, " ") != "d:lpush l:lpop l:del" {
		t.Fatalf("listMove = %q %v %v, events %v", elem, ok, wrong, ev)
	}
	withCtx(t, a, func(c *ctx) { elem, ok, wrong = c.listMove([]byte("l"), []byte("s"), true, true) })
	if ok || wrong {
		t.Fatalf("listMove from a missing key = %v %v", ok, wrong)
	}
	withCtx(t, a, func(c *ctx) { elem, ok, wrong = c.listMove([]byte("d"), []byte("s"), true, true) })
	if ok || !wrong {
		t.Fatalf("listMove onto a string = %v %v", ok, wrong)
	}
	if got := listLayout(t, a.db, "d"); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("after a refused move d = %q", got)
	}
	ev = withCtx(t, a, func(c *ctx) { elems, wrong = c.listPop([]byte("d"), true, 5) })
	if fmt.Sprintf("%s", elems) != "[a]" || strings.Join(ev, " ") != "d:lpop d:del" {
		t.Fatalf("listPop = %s, events %v", elems, ev)
	}
}

// Every list command names Redis's keyspace event, and "del" when it
// empties the list.
func TestList_TouchesRedisEvents(t *testing.T) {
	a := newApplier(t)
	for _, tc := range []struct{ cmd, events string }{
		{"RPUSH l a b c d", "l:rpush"},
		{"LPUSH l z", "l:lpush"},
		{"LPUSHX l y", "l:lpush"},
		{"RPUSHX l e", "l:rpush"},
		{"LSET l 0 Y", "l:lset"},
		{"LINSERT l BEFORE a x", "l:linsert"},
		{"LINSERT l BEFORE nope x", ""},
		{"LREM l 0 x", "l:lrem"},
		{"LREM l 0 nope", ""},
		{"LTRIM l 0 -1", "l:ltrim"},
		{"LPOP l 0", ""},
		{"LMOVE l m RIGHT LEFT", "m:lpush l:rpop"},
		{"LMPOP 1 m LEFT", "m:lpop m:del"},
		{"LTRIM l 1 0", "l:ltrim l:del"},
	} {
		a.index++
		res, err := ApplyEntry(a.db, a.index, &Entry{NowMs: a.now, Cmds: [][][]byte{cmd(strings.Fields(tc.cmd)...)}})
		if err != nil {
			t.Fatal(err)
		}
		var ev []string
		for _, x := range res.Touched {
			ev = append(ev, string(x.Key)+":"+x.Event)
		}
		if got := strings.Join(ev, " "); got != tc.events {
			t.Errorf("%s: events %q, want %q", tc.cmd, got, tc.events)
		}
	}
}

// Every change to a list gives it a new WATCH version, as Redis's
// signalModifiedKey; a command that changes nothing does not.
func TestList_ChangesBumpTheWatchVersion(t *testing.T) {
	a := newApplier(t)
	a.do("RPUSH", "l", "a", "b", "c")
	for _, tc := range []struct {
		cmd     string
		changes bool
	}{
		{"LSET l 1 B", true},
		{"LTRIM l 0 -1", true},
		{"LREM l 0 nope", false},
		{"LINSERT l AFTER nope x", false},
		{"LPOP l 0", false},
		{"LMOVE l l LEFT LEFT", true},
		{"LREM l 1 B", true},
	} {
		before, _ := Versions(a.db, 0, a.now, cmd("l"))
		a.do(strings.Fields(tc.cmd)...)
		after, _ := Versions(a.db, 0, a.now, cmd("l"))
		if (before[0] != after[0]) != tc.changes {
			t.Errorf("%s: version %d -> %d", tc.cmd, before[0], after[0])
		}
	}
}

// writesOf applies one command and counts the engine keys it wrote.
func writesOf(t *testing.T, a *applier, args ...string) int {
	t.Helper()
	ap := NewApplier(a.db)
	a.index++
	if _, err := ap.Apply(a.index, &Entry{NowMs: a.now, Cmds: [][][]byte{cmd(args...)}}); err != nil {
		t.Fatal(err)
	}
	n := len(ap.tx.m)
	if err := ap.Commit(); err != nil {
		t.Fatal(err)
	}
	return n
}

// LINSERT and LREM move the shorter side of the list; LTRIM and the pops
// delete from the ends only.
func TestList_ShiftsTheShorterSide(t *testing.T) {
	a := newApplier(t)
	var model []string
	args := []string{"RPUSH", "l"}
	for i := range 1000 {
		e := fmt.Sprintf("e%d", i)
		args = append(args, e)
		model = append(model, e)
	}
	a.do(args...)
	check := func(what string, got, want int) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %d writes, want %d", what, got, want)
		}
		if l := listLayout(t, a.db, "l"); !slices.Equal(l, model) {
			t.Fatalf("%s: list differs from the model", what)
		}
	}
	var w int
	// Before e3: e0..e2 move down, the new element, the metadata.
	w = writesOf(t, a, "LINSERT", "l", "BEFORE", "e3", "x")
	model = slices.Insert(model, 3, "x")
	check("LINSERT near the head", w, 3+1+1)
	// After e996: e997..e999 move up.
	w = writesOf(t, a, "LINSERT", "l", "AFTER", "e996", "y")
	model = slices.Insert(model, len(model)-3, "y")
	check("LINSERT near the tail", w, 3+1+1)
	// Removing e1: e0 moves up, its old position is deleted.
	w = writesOf(t, a, "LREM", "l", "1", "e1")
	model = slices.Delete(model, 1, 2)
	check("LREM near the head", w, 1+1+1)
	// Removing e998 (2 from the tail): e999 moves down.
	w = writesOf(t, a, "LREM", "l", "-1", "e998")
	model = slices.Delete(model, len(model)-2, len(model)-1)
	check("LREM near the tail", w, 1+1+1)
	// Two removals around a long middle run: only the ends move.
	a.do("LSET", "l", "5", "r")
	a.do("LSET", "l", "-5", "r")
	model[5], model[len(model)-5] = "r", "r"
	w = writesOf(t, a, "LREM", "l", "0", "r")
	model = slices.DeleteFunc(model, func(s string) bool { return s == "r" })
	check("LREM of two", w, 5+4+2+1)
	w = writesOf(t, a, "LTRIM", "l", "2", "-3")
	model = model[2 : len(model)-2]
	check("LTRIM", w, 4+1)
	w = writesOf(t, a, "LPOP", "l", "3")
	model = model[3:]
	check("LPOP 3", w, 3+1)
	check("LINDEX", writesOf(t, a, "LINDEX", "l", "7"), 0)
	w = writesOf(t, a, "LTRIM", "l", "1", "0")
	model = nil
	check("LTRIM to nothing", w, 1)
	check("after", 0, 0)
}

// A 10,000-element list built by mixed LPUSH and RPUSH, then changed by
// random LINSERT, LREM, LSET, LTRIM, LPOP, RPOP, LMOVE and pushes, agrees
// with a slice model element for element: LINDEX, LRANGE, LLEN and the
// engine layout (positions [head, head+count), nothing else).
func TestList_AgreesWithASliceModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	a := newApplier(t)
	var model []string
	vals := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			if r.IntN(10) < 3 { // a few values repeat a lot, most are unique
				out[i] = fmt.Sprintf("d%d", r.IntN(10))
			} else {
				out[i] = fmt.Sprintf("u%d", r.Uint64())
			}
		}
		return out
	}
	for len(model) < 10_000 {
		vs := vals(1 + r.IntN(200))
		if r.IntN(2) == 0 {
			a.do(append([]string{"LPUSH", "l"}, vs...)...)
			for _, v := range vs {
				model = append([]string{v}, model...)
			}
		} else {
			a.do(append([]string{"RPUSH", "l"}, vs...)...)
			model = append(model, vs...)
		}
	}
	// pick is an element to look for: one of the list's (often unique, so
	// anywhere in the list), a repeated one, or one that is not there.
	pick := func() string {
		switch r.IntN(4) {
		case 0, 1:
			return model[r.IntN(len(model))]
		case 2:
			return fmt.Sprintf("d%d", r.IntN(10))
		}
		return "nope"
	}
	idx := func() int64 { // any index, negative ones and out-of-range ones too
		n := int64(len(model))
		return r.Int64N(2*n+20) - n - 10
	}
	norm := func(i int64) (int, bool) {
		if i < 0 {
			i += int64(len(model))
		}
		return int(i), i >= 0 && i < int64(len(model))
	}
	for step := range 600 {
		var got, want string
		var c []string
		switch op := r.IntN(10); op {
		case 0: // LINSERT
			pivot := pick()
			before := r.IntN(2) == 0
			where := map[bool]string{true: "BEFORE", false: "AFTER"}[before]
			c = []string{"LINSERT", "l", where, pivot, "new"}
			i := slices.Index(model, pivot)
			switch {
			case i < 0:
				want = intReply(-1)
			default:
				if !before {
					i++
				}
				model = slices.Insert(model, i, "new")
				want = intReply(int64(len(model)))
			}
		case 1: // LREM
			elem := pick()
			count := int64(r.IntN(7) - 3)
			c = []string{"LREM", "l", fmt.Sprint(count), elem}
			removed := 0
			if count >= 0 {
				for i := 0; i < len(model); i++ {
					if model[i] == elem && (count == 0 || int64(removed) < count) {
						model = slices.Delete(model, i, i+1)
						removed++
						i--
					}
				}
			} else {
				for i := len(model) - 1; i >= 0; i-- {
					if model[i] == elem && int64(removed) < -count {
						model = slices.Delete(model, i, i+1)
						removed++
					}
				}
			}
			want = intReply(int64(removed))
		case 2: // LSET
			i := idx()
			c = []string{"LSET", "l", fmt.Sprint(i), "set"}
			if j, ok := norm(i); ok {
				model[j] = "set"
				want = "+OK\r\n"
			} else {
				want = "-ERR index out of range\r\n"
			}
		case 3: // LTRIM, mostly keeping most of the list
			n := int64(len(model))
			start, end := r.Int64N(20), n-r.Int64N(20)
			if r.IntN(4) == 0 {
				end = -r.Int64N(20) - 1
			}
			c = []string{"LTRIM", "l", fmt.Sprint(start), fmt.Sprint(end)}
			from, to := listRange(start, end, n)
			model = slices.Clone(model[from:to])
			want = "+OK\r\n"
		case 4, 5: // LPOP, RPOP
			left := op == 4
			count := r.IntN(5)
			name := map[bool]string{true: "LPOP", false: "RPOP"}[left]
			c = []string{name, "l", fmt.Sprint(count)}
			count = min(count, len(model))
			var popped []string
			if left {
				popped = slices.Clone(model[:count])
				model = model[count:]
			} else {
				for i := range count {
					popped = append(popped, model[len(model)-1-i])
				}
				model = model[:len(model)-count]
			}
			want = bulks(popped...)
		case 6: // LMOVE within the list
			from, to := r.IntN(2) == 0, r.IntN(2) == 0
			side := map[bool]string{true: "LEFT", false: "RIGHT"}
			c = []string{"LMOVE", "l", "l", side[from], side[to]}
			var e string
			if from {
				e, model = model[0], model[1:]
			} else {
				e, model = model[len(model)-1], model[:len(model)-1]
			}
			if to {
				model = append([]string{e}, model...)
			} else {
				model = append(model, e)
			}
			want = fmt.Sprintf("$%d\r\n%s\r\n", len(e), e)
		default: // pushes
			vs := vals(1 + r.IntN(3))
			if r.IntN(2) == 0 {
				c = append([]string{"LPUSH", "l"}, vs...)
				for _, v := range vs {
					model = append([]string{v}, model...)
				}
			} else {
				c = append([]string{"RPUSH", "l"}, vs...)
				model = append(model, vs...)
			}
			want = intReply(int64(len(model)))
		}
		if got = a.do(c...); got != want {
			t.Fatalf("step %d: %q = %q, want %q", step, c, got, want)
		}
		if len(model) == 0 {
			t.Fatalf("step %d: the model list emptied; pick other parameters", step)
		}
		// Reads: a few LINDEX, one LRANGE, LLEN.
		for range 3 {
			i := idx()
			want := "$-1\r\n"
			if j, ok := norm(i); ok {
				want = fmt.Sprintf("$%d\r\n%s\r\n", len(model[j]), model[j])
			}
			if got := a.read("LINDEX", "l", fmt.Sprint(i)); got != want {
				t.Fatalf("step %d: LINDEX %d = %q, want %q", step, i, got, want)
			}
		}
		start, end := idx(), idx()
		from, to := listRange(start, end, int64(len(model)))
		if got := a.read("LRANGE", "l", fmt.Sprint(start), fmt.Sprint(end)); got != bulks(model[from:to]...) {
			t.Fatalf("step %d: LRANGE %d %d differs from the model", step, start, end)
		}
		if got := a.read("LLEN", "l"); got != intReply(int64(len(model))) {
			t.Fatalf("step %d: LLEN = %q, want %d", step, got, len(model))
		}
		if step%50 == 0 {
			if l := listLayout(t, a.db, "l"); !slices.Equal(l, model) {
				t.Fatalf("step %d: layout differs from the model", step)
			}
		}
	}
	if got := a.read("LRANGE", "l", "0", "-1"); got != bulks(model...) {
		t.Fatal("final LRANGE differs from the model")
	}
	if l := listLayout(t, a.db, "l"); !slices.Equal(l, model) {
		t.Fatal("final layout differs from the model")
	}
}

// A transaction sees its own list writes, in order, before they commit.
func TestList_InsideExec(t *testing.T) {
	a := newApplier(t)
	got := a.apply(&Entry{Exec: true, Cmds: [][][]byte{
		cmd("RPUSH", "l", "a", "b", "c"),
		cmd("LINSERT", "l", "BEFORE", "b", "x"),
		cmd("LREM", "l", "1", "a"),
		cmd("LRANGE", "l", "0", "-1"),
		cmd("LMOVE", "l", "m", "LEFT", "RIGHT"),
		cmd("LPOP", "l", "5"),
		cmd("EXISTS", "l"),
		cmd("LRANGE", "m", "0", "-1"),
	}})
	want := "*8\r\n:3\r\n:4\r\n:1\r\n" + bulks("x", "b", "c") + "$1\r\nx\r\n" + bulks("b", "c") + ":0\r\n" + bulks("x")
	if got != want {
		t.Fatalf("EXEC = %q, want %q", got, want)
	}
}
