package command

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/internal/resp"
)

func sid(ms, seq uint64) streamID { return streamID{Ms: ms, Seq: seq} }

func TestParseStreamIDEdgeCases(t *testing.T) {
	max := uint64(math.MaxUint64)
	for _, tc := range []struct {
		arg      string
		missing  uint64
		strict   bool
		seqStar  bool
		want     streamID
		seqGiven bool
		ok       bool
	}{
		{"5", 0, true, false, sid(5, 0), true, true},
		{"5", max, false, false, sid(5, max), true, true},
		{" 5", 0, true, false, sid(5, 0), true, true},      // strtoull skips white space
		{"\t5-1", 0, true, false, sid(5, 1), true, true},   // any isspace
		{"5- 1", 0, true, false, sid(5, 1), true, true},    // in the sequence too
		{"+5", 0, true, false, sid(5, 0), true, true},      // strtoull takes a '+'
		{"5-+1", 0, true, false, sid(5, 1), true, true},    //
		{"5--0", 0, true, false, sid(5, 0), true, true},    // "-0": string2ll refuses it, strtoull reads 0
		{"5- -1", 0, true, false, sid(5, max), true, true}, // strtoull negates: 2^64-1
		{"5--1", 0, true, false, streamID{}, false, false}, // string2ll reads -1: negative
		{"18446744073709551615-18446744073709551615", 0, true, false, sid(max, max), true, true},
		{"18446744073709551616", 0, true, false, streamID{}, false, false}, // overflow
		{"1-18446744073709551616", 0, true, false, streamID{}, false, false},
		{"99999999999999999999999", 0, true, false, streamID{}, false, false},
		{"5-", 0, true, false, streamID{}, false, false},
		{"-5", 0, true, false, streamID{}, false, false},
		{"", 0, true, false, streamID{}, false, false},
		{" ", 0, true, false, streamID{}, false, false},
		{"5 ", 0, true, false, streamID{}, false, false},
		{"0x10", 0, true, false, streamID{}, false, false},
		{"1e3", 0, true, false, streamID{}, false, false},
		{"5-1-1", 0, true, false, streamID{}, false, false},
		{"+-5", 0, true, false, streamID{}, false, false},
		{"007-01", 0, true, false, sid(7, 1), true, true}, // strtoull: leading zeros
		{"-", 0, true, false, streamID{}, false, false},
		{"+", 0, true, false, streamID{}, false, false},
		{"-", 0, false, false, streamID{}, true, true},
		{"+", 0, false, false, keyspace.MaxStreamID, true, true},
		{"5-*", 0, true, true, sid(5, 0), false, true},
		{"5-*", 0, true, false, streamID{}, false, false},
		{"*", 0, true, true, streamID{}, false, false},
		{"*-1", 0, true, true, streamID{}, false, false},
		{"5-**", 0, true, true, streamID{}, false, false},
		{strings.Repeat("1", 128), 0, true, false, streamID{}, false, false},
		{"5\x00zz", 0, true, false, sid(5, 0), true, true}, // read as a C string, to its first NUL
		{"6-1\x00-3", 0, true, false, sid(6, 1), true, true},
		{"-\x00", 0, true, false, streamID{}, false, false},
		{"\x005", 0, true, false, streamID{}, false, false},
	} {
		id, seqGiven, err := parseStreamID([]byte(tc.arg), tc.missing, tc.strict, tc.seqStar)
		if (err == nil) != tc.ok {
			t.Errorf("%q: err %v, want ok %v", tc.arg, err, tc.ok)
			continue
		}
		if err != nil {
			if err != errStreamID {
				t.Errorf("%q: error %q", tc.arg, err)
			}
			continue
		}
		if id != tc.want || seqGiven != tc.seqGiven {
			t.Errorf("%q: %v seqGiven %v, want %v %v", tc.arg, id, seqGiven, tc.want, tc.seqGiven)
		}
	}
}

func TestNextStreamIDFromClock(t *testing.T) {
	max := uint64(math.MaxUint64)
	for _, tc := range []struct {
		last streamID
		now  int64
		want streamID
		err  bool
	}{
		{streamID{}, 1000, sid(1000, 0), false},
		{sid(1000, 0), 1000, sid(1000, 1), false},   // same ms: next sequence
		{sid(1000, 7), 999, sid(1000, 8), false},    // clock behind: keep ms
		{sid(1000, 7), 1001, sid(1001, 0), false},   // clock ahead: new ms
		{sid(1000, max), 1000, sid(1001, 0), false}, // sequence wraps into the next ms
		{sid(max, max-1), 5, sid(max, max), false},  //
		{sid(max, max), 5, streamID{}, true},        // no next ID
		{sid(5, 0), -1, sid(5, 1), false},           // a negative clock reads 0
	} {
		id, err := nextStreamID(tc.last, false, false, streamID{}, tc.now)
		if (err != nil) != tc.err || (err == nil && id != tc.want) {
			t.Errorf("last %v now %d: %v %v, want %v (err %v)", tc.last, tc.now, id, err, tc.want, tc.err)
		}
	}
	// <ms>-*: the next sequence of the same ms, else sequence 0.
	if id, err := nextStreamID(sid(5, 3), true, false, sid(5, 0), 0); err != nil || id != (sid(5, 4)) {
		t.Errorf("5-* after 5-3: %v %v", id, err)
	}
	if id, err := nextStreamID(sid(5, 3), true, false, sid(6, 0), 0); err != nil || id != (sid(6, 0)) {
		t.Errorf("6-* after 5-3: %v %v", id, err)
	}
	if _, err := nextStreamID(sid(5, max), true, false, sid(5, 0), 0); err != errXaddTop {
		t.Errorf("5-* after 5-max: %v", err)
	}
	if _, err := nextStreamID(sid(5, 3), true, false, sid(4, 0), 0); err != errXaddTop {
		t.Errorf("4-* after 5-3: %v", err)
	}
	if _, err := nextStreamID(sid(5, 3), true, true, sid(5, 3), 0); err != errXaddTop {
		t.Errorf("5-3 after 5-3: %v", err)
	}
}

// TestXaddStarUsesEntryClock: "*" takes the log entry's clock, never
// going below the stream's last ID.
func TestXaddStarUsesEntryClock(t *testing.T) {
	a := newApplier(t)
	a.now = 5000
	if got := a.do("XADD", "s", "*", "f", "v"); got != "$6\r\n5000-0\r\n" {
		t.Fatalf("first: %q", got)
	}
	if got := a.do("XADD", "s", "*", "f", "v"); got != "$6\r\n5000-1\r\n" {
		t.Fatalf("same ms: %q", got)
	}
	a.now = 4000
	if got := a.do("XADD", "s", "*", "f", "v"); got != "$6\r\n5000-2\r\n" {
		t.Fatalf("clock behind: %q", got)
	}
	a.now = 6000
	if got := a.do("XADD", "s", "*", "f", "v"); got != "$6\r\n6000-0\r\n" {
		t.Fatalf("clock ahead: %q", got)
	}
	a.do("XSETID", "s", "18446744073709551615-18446744073709551614")
	if got := a.do("XADD", "s", "*", "f", "v"); got != "$41\r\n18446744073709551615-18446744073709551615\r\n" {
		t.Fatalf("last possible: %q", got)
	}
	if got := a.do("XADD", "s", "*", "f", "v"); got != "-"+string(errXaddExhausted)+"\r\n" {
		t.Fatalf("exhausted: %q", got)
	}
}

// --- a model of Redis's stream nodes (listpacks) ---

type mEntry struct {
	id  streamID
	del bool
}

type mNode struct {
	ents          []mEntry
	live, deleted int
}

type mStream struct {
	nodes  []*mNode
	length int
}

func (m *mStream) add(id streamID) {
	var n *mNode
	if len(m.nodes) > 0 {
		n = m.nodes[len(m.nodes)-1]
	}
	if n == nil || n.live+n.deleted >= streamNodeMaxEntries {
		n = &mNode{}
		m.nodes = append(m.nodes, n)
	}
	n.ents = append(n.ents, mEntry{id: id})
	n.live++
	m.length++
}

func (m *mStream) del(id streamID) bool {
	for i, n := range m.nodes {
		for j := range n.ents {
			if n.ents[j].id == id && !n.ents[j].del {
				if n.live == 1 {
					m.nodes = slices.Delete(m.nodes, i, i+1)
				} else {
					n.ents[j].del = true
					n.live--
					n.deleted++
				}
				m.length--
				return true
			}
		}
	}
	return false
}

// trim is t_stream.c's streamTrim over the model, written from its
// description independently of cmd_stream.go.
func (m *mStream) trim(t trimArgs) int {
	deleted := 0
	for len(m.nodes) > 0 {
		if t.strategy == trimMaxlen && int64(m.length) <= t.maxlen {
			break
		}
		n := m.nodes[0]
		if t.limit != 0 && int64(deleted+n.live) > t.limit {
			break
		}
		var whole bool
		if t.strategy == trimMaxlen {
			whole = int64(m.length-n.live) >= t.maxlen
		} else {
			whole = n.ents[len(n.ents)-1].id.Compare(t.minid) < 0
		}
		if whole {
			m.nodes = m.nodes[1:]
			m.length -= n.live
			deleted += n.live
			continue
		}
		if t.approx {
			break
		}
		for j := range n.ents {
			if t.strategy == trimMaxlen && int64(m.length) <= t.maxlen ||
				t.strategy == trimMinid && n.ents[j].id.Compare(t.minid) >= 0 {
				break
			}
			if !n.ents[j].del {
				n.ents[j].del = true
				n.live--
				n.deleted++
				m.length--
				deleted++
			}
		}
		break
	}
	return deleted
}

func (m *mStream) describe() string {
	var b strings.Builder
	for _, n := range m.nodes {
		last := n.ents[len(n.ents)-1].id
		fmt.Fprintf(&b, "%v:%d/%d/%v ", n.ents[0].id, n.live, n.deleted, last)
	}
	return b.String()
}

func describeNodes(t *testing.T, a *applier, key string) (nodes string, length int64, meta keyspace.StreamMeta) {
	withCtx(t, a, func(c *ctx) {
		s, _ := c.openStream([]byte(key))
		var b strings.Builder
		s.nodes(c, func(n streamNode) bool {
			fmt.Fprintf(&b, "%v:%d/%d/%v ", n.master, n.Live, n.Deleted, n.Last)
			return true
		})
		nodes, length, meta = b.String(), s.length(), s.meta
	})
	return
}

// TestStreamNodesAndTrimmingModel drives XADD, XDEL and XTRIM (exact and
// "~", MAXLEN and MINID, LIMIT) on a stream of several hundred entries
// and checks walkerd's nodes, length, first ID and replies against the
// model of Redis's listpack nodes after every command.
func TestStreamNodesAndTrimmingModel(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		a := newApplier(t)
		m := &mStream{}
		ms := uint64(0)
		var ids []streamID
		maxLen, trims := 0, 0
		defer func() {
			t.Logf("seed %d: longest stream %d entries, %d nodes at the end, %d trims removed entries", seed, maxLen, len(m.nodes), trims)
		}()
		for step := 0; step < 2500; step++ {
			var desc, got, want string
			switch op := r.IntN(100); {
			case op < 82 || step < 350:
				ms += 1 + uint64(r.IntN(2))
				id := streamID{Ms: ms}
				got = a.do("XADD", "s", id.String(), "f", "v")
				m.add(id)
				ids = append(ids, id)
				want = fmt.Sprintf("$%d\r\n%s\r\n", len(id.String()), id)
				desc = "XADD " + id.String()
			case op < 91 && len(ids) > 0:
				id := ids[r.IntN(len(ids))]
				got = a.do("XDEL", "s", id.String())
				want = ":0\r\n"
				if m.del(id) {
					want = ":1\r\n"
				}
				desc = "XDEL " + id.String()
			default:
				ta := trimArgs{approx: r.IntN(3) > 0}
				args := []string{"XTRIM", "s"}
				if r.IntN(2) == 0 {
					ta.strategy, ta.maxlen = trimMaxlen, int64(max(0, m.length+5-r.IntN(m.length/8+10)))
					args = append(args, "MAXLEN")
				} else {
					ta.strategy, ta.minid = trimMinid, streamID{Ms: uint64(max(0, int(ms)-2*m.length-20+r.IntN(m.length/4+60))), Seq: uint64(r.IntN(2))}
					args = append(args, "MINID")
				}
				if ta.approx {
					args = append(args, "~")
					ta.limit = 10000
					if r.IntN(3) == 0 {
						ta.limit = int64(r.IntN(300))
					}
				} else {
					args = append(args, "=")
				}
				if ta.strategy == trimMaxlen {
					args = append(args, strconv.FormatInt(ta.maxlen, 10))
				} else {
					args = append(args, ta.minid.String())
				}
				if ta.approx && ta.limit != 10000 {
					args = append(args, "LIMIT", strconv.FormatInt(ta.limit, 10))
				}
				got = a.do(args...)
				n := m.trim(ta)
				if n > 0 {
					trims++
				}
				want = fmt.Sprintf(":%d\r\n", n)
				desc = strings.Join(args, " ")
			}
			maxLen = max(maxLen, m.length)
			if got != want {
				t.Fatalf("seed %d step %d %s: %q, want %q", seed, step, desc, got, want)
			}
			nodes, length, meta := describeNodes(t, a, "s")
			if nodes != m.describe() || length != int64(m.length) {
				t.Fatalf("seed %d step %d %s:\nwalkerd %d %s\nmodel   %d %s", seed, step, desc, length, nodes, m.length, m.describe())
			}
			var first streamID
			for _, n := range m.nodes {
				if first != (streamID{}) {
					break
				}
				for _, e := range n.ents {
					if !e.del {
						first = e.id
						break
					}
				}
			}
			if meta.FirstID != first {
				t.Fatalf("seed %d step %d %s: first ID %v, want %v", seed, step, desc, meta.FirstID, first)
			}
		}
	}
}

// TestStreamEvents: XADD notifies "xadd" then "xtrim" when its trim
// removed entries; XTRIM, XDEL and XSETID notify their own.
func TestStreamEvents(t *testing.T) {
	a := newApplier(t)
	for i := 1; i <= 5; i++ {
		a.do("XADD", "s", strconv.Itoa(i)+"-0", "f", "v")
	}
	run := func(args ...string) []string {
		return withCtx(t, a, func(c *ctx) {
			sp := Lookup([]byte(args[0]))
			p, err := sp.Parse(cmd(args...), c.now)
			if err != nil {
				t.Fatal(err)
			}
			sp.run(c, cmd(args...), p)
		})
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"XADD", "s", "MAXLEN", "3", "6-0", "f", "v"}, "s:xadd s:xtrim"},
		{[]string{"XADD", "s", "MAXLEN", "10", "7-0", "f", "v"}, "s:xadd"},
		{[]string{"XTRIM", "s", "MAXLEN", "10"}, ""},
		{[]string{"XTRIM", "s", "MAXLEN", "1"}, "s:xtrim"},
		{[]string{"XDEL", "s", "1-0"}, ""},
		{[]string{"XDEL", "s", "7-0"}, "s:xdel"},
		{[]string{"XSETID", "s", "9-0"}, "s:xsetid"},
		{[]string{"XADD", "n", "NOMKSTREAM", "1-0", "f", "v"}, ""},
	} {
		if got := strings.Join(run(tc.args...), " "); got != tc.want {
			t.Errorf("%v: events %q, want %q", tc.args, got, tc.want)
		}
	}
	if got := a.read("EXISTS", "s"); got != ":1\r\n" {
		t.Errorf("an emptied stream is kept: %q", got)
	}
}

// TestXreadKeys: COMMAND GETKEYS of XREAD and XREADGROUP follows Redis
// 7.0's key specs (keyword STREAMS, then half of what follows).
func TestXreadKeys(t *testing.T) {
	for _, tc := range []struct {
		args  string
		group bool
		want  string
	}{
		{"XREAD STREAMS a b 0 0", false, "a b"},
		{"XREAD COUNT 1 BLOCK 0 STREAMS a 0", false, "a"},
		{"XREAD COUNT streams STREAMS a b 0 0", false, "STREAMS a"},
		{"XREAD STREAMS a b c", false, "a"},
		{"XREAD STREAMS a", false, ""},
		{"XREAD COUNT 1", false, ""},
		{"XREADGROUP GROUP g c STREAMS a b 0 0", true, "a b"},
		{"XREADGROUP GROUP streams c STREAMS a 0", true, "a"},
		{"XREADGROUP STREAMS x y STREAMS a 0", true, "a"},
	} {
		got := xreadKeys(cmd(strings.Fields(tc.args)...), tc.group)
		var parts []string
		for _, k := range got {
			parts = append(parts, string(k))
		}
		if s := strings.Join(parts, " "); s != tc.want {
			t.Errorf("%s: %q, want %q", tc.args, s, tc.want)
		}
	}
	if got := LookupName("xread").Keys(cmd("XREAD", "STREAMS", "a", "b", "0", "0")); len(got) != 2 {
		t.Errorf("Spec.Keys of XREAD: %q", got)
	}
}

// TestXreadBlockArgs: XREAD BLOCK parses to a blockArgs on its stream keys
// (a bad ID fails at once instead); "$" resolves to the last ID.
func TestXreadBlockArgs(t *testing.T) {
	sp := LookupName("xread")
	p, err := sp.Parse(cmd("XREAD", "BLOCK", "1500", "STREAMS", "a", "b", "$", "0"), 0)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := p.(*blockArgs)
	if !ok || len(b.keys) != 2 || string(b.keys[1]) != "b" || b.timeout.Milliseconds() != 1500 {
		t.Fatalf("%#v", p)
	}
	if p, _ := sp.Parse(cmd("XREAD", "BLOCK", "0", "STREAMS", "a", "bad"), 0); p == nil {
		t.Fatal("nil")
	} else if _, ok := p.(*blockArgs); ok {
		t.Fatal("a bad ID must not block")
	}
	a := newApplier(t)
	a.do("XADD", "a", "5-5", "f", "v")
	a.do("SET", "w", "x")
	withCtx(t, a, func(c *ctx) {
		x := b.pop.(*xreadArgs)
		if !x.resolves() {
			t.Error("XREAD with $ must resolve")
		}
		args := cmd("XREAD", "BLOCK", "1500", "STREAMS", "a", "b", "$", "0")
		out, err := x.resolve(c, args)
		if err != nil || strings.Join(strings.Fields(fmt.Sprintf("%s", out)), " ") != "[XREAD BLOCK 1500 STREAMS a b 5-5 0]" || string(args[6]) != "$" {
			t.Errorf("resolve: %s %v", out, err)
		}
		w, _ := sp.Parse(cmd("XREAD", "BLOCK", "0", "STREAMS", "w", "a", "$", "$"), 0)
		if _, err := w.(*blockArgs).pop.(*xreadArgs).resolve(c, nil); err == nil || err.Error() != errWrongType {
			t.Errorf("resolve over a string: %v", err)
		}
		picked := w.(*blockArgs).pop.(*xreadArgs).pick([]bool{false, true}).(*xreadArgs)
		if len(picked.keys) != 1 || string(picked.keys[0]) != "a" || picked.special[0] != '$' {
			t.Errorf("pick: %q %q", picked.keys, picked.special)
		}
		x.resolveDollar(c)
		if x.special[0] != 0 || x.ids[0] != (sid(5, 5)) || x.ids[1] != (streamID{}) {
			t.Errorf("resolved: %v %q", x.ids, x.special)
		}
		runXread(c, nil, b)
		if got := c.r.(*Recorder).R; len(got) != 1 || got[0].Kind != KindNullArray {
			t.Errorf("attempt: %v", got)
		}
	})
}

// TestKeyedArrayReply: XREAD's map answers n arrays of two in RESP2 and a
// map in RESP3, through the Recorder and the wire form between nodes.
func TestKeyedArrayReply(t *testing.T) {
	rec := &Recorder{}
	keyedArray(rec, 1)
	keyed(rec)
	rec.Bulk([]byte("s"))
	rec.Array(0)
	dec, err := DecodeReply(EncodeReply(rec.R))
	if err != nil {
		t.Fatal(err)
	}
	for proto, want := range map[int]string{2: "*1\r\n*2\r\n$1\r\ns\r\n*0\r\n", 3: "%1\r\n$1\r\ns\r\n*0\r\n"} {
		e := &resp.Encoder{Proto: proto}
		dec.WriteTo(e)
		if string(e.B) != want {
			t.Errorf("RESP%d: %q, want %q", proto, e.B, want)
		}
	}
}
