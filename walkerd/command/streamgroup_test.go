package command

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// checkGroupInvariants checks, for every group of key, that the counts
// kept in the values agree with the sub-keys: the group's Pending equals
// its 'p' entries, its 'q' entries and the sum of its consumers' Pending;
// its Consumers equals its 'c' entries; every 'q' entry has the 'p' entry
// of the same ID naming that consumer, and every 'p' entry names an
// existing consumer whose 'q' holds it.
func checkGroupInvariants(t *testing.T, a *applier, key string) {
	t.Helper()
	withCtx(t, a, func(c *ctx) {
		s, wrong := c.openStream([]byte(key))
		if wrong || !s.exists() {
			return
		}
		for _, name := range s.groupNames(c) {
			gr, ok := s.openGroup(c, name)
			if !ok {
				t.Fatalf("%s: group %q listed but not opened", key, name)
			}
			pend := map[streamID]string{}
			gr.walkPending(c, streamID{}, keyspace.MaxStreamID, func(p sgPend) bool {
				pend[p.id] = string(p.Consumer)
				return true
			})
			if uint64(len(pend)) != gr.g.Pending {
				t.Fatalf("%s/%s: Pending %d, %d 'p' entries", key, name, gr.g.Pending, len(pend))
			}
			cnames := gr.consumerNames(c)
			if uint64(len(cnames)) != gr.g.Consumers {
				t.Fatalf("%s/%s: Consumers %d, %d 'c' entries", key, name, gr.g.Consumers, len(cnames))
			}
			sum, qn := uint64(0), 0
			for _, cn := range cnames {
				cs := gr.consumer(c, cn)
				ids := gr.consumerPending(c, cn, streamID{}, keyspace.MaxStreamID, 0)
				if uint64(len(ids)) != cs.v.Pending {
					t.Fatalf("%s/%s/%s: Pending %d, %d 'q' entries", key, name, cn, cs.v.Pending, len(ids))
				}
				for _, id := range ids {
					if owner, ok := pend[id]; !ok || owner != string(cn) {
						t.Fatalf("%s/%s/%s: 'q' %v, 'p' owner %q (%v)", key, name, cn, id, owner, ok)
					}
				}
				sum += cs.v.Pending
				qn += len(ids)
			}
			if sum != gr.g.Pending || uint64(qn) != gr.g.Pending {
				t.Fatalf("%s/%s: Pending %d, consumers' sum %d, 'q' entries %d", key, name, gr.g.Pending, sum, qn)
			}
			// 'q' entries of the group for consumers that do not exist.
			p := sgPendByConsumerGroupPrefix(name)
			it := s.elemsWithPrefix(c, p, false)
			n := 0
			for ; it.Valid(); it.Next() {
				n++
			}
			it.close()
			if n != qn {
				t.Fatalf("%s/%s: %d 'q' entries in all, %d under its consumers", key, name, n, qn)
			}
		}
	})
}

// TestStreamGroupInvariants runs random consumer group commands (and
// XADD, XDEL, XTRIM under them) on two streams, moving the clock, and
// checks the PEL bookkeeping after every command.
func TestStreamGroupInvariants(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 7))
			a := newApplier(t)
			keys := []string{"s1", "s2"}
			groups := []string{"g1", "g2", "g3"}
			cons := []string{"c1", "c2", "c3", "c4"}
			top := map[string]int{}
			ok := 0
			pick := func(s []string) string { return s[r.IntN(len(s))] }
			id := func(k string) string { return strconv.Itoa(r.IntN(top[k]+3)) + "-" + strconv.Itoa(r.IntN(2)) }
			idle := func() string { return pick([]string{"0", "0", "5", "1000", "1000000"}) }
			for step := 0; step < 700; step++ {
				a.now += int64(r.IntN(50))
				k := pick(keys)
				var args []string
				switch r.IntN(14) {
				case 0, 1, 2:
					top[k] += 1 + r.IntN(2)
					args = []string{"XADD", k, strconv.Itoa(top[k]) + "-" + strconv.Itoa(r.IntN(2)), "f", "v"}
				case 3:
					args = []string{"XDEL", k, id(k), id(k)}
				case 4:
					args = []string{"XTRIM", k, "MAXLEN", strconv.Itoa(r.IntN(20))}
				case 5:
					args = []string{"XGROUP", "CREATE", k, pick(groups), pick([]string{"0", "$", id(k)}), "MKSTREAM"}
				case 6:
					switch r.IntN(4) {
					case 0:
						args = []string{"XGROUP", "DESTROY", k, pick(groups)}
					case 1:
						args = []string{"XGROUP", "SETID", k, pick(groups), pick([]string{"0", "$", id(k)})}
					case 2:
						args = []string{"XGROUP", "CREATECONSUMER", k, pick(groups), pick(cons)}
					default:
						args = []string{"XGROUP", "DELCONSUMER", k, pick(groups), pick(cons)}
					}
				case 7, 8:
					args = []string{"XREADGROUP", "GROUP", pick(groups), pick(cons), "COUNT", strconv.Itoa(r.IntN(5))}
					if r.IntN(5) == 0 {
						args = append(args, "NOACK")
					}
					args = append(args, "STREAMS", k, pick([]string{">", ">", "0", id(k)}))
				case 9, 10:
					args = []string{"XACK", k, pick(groups), id(k), id(k), id(k)}
				case 11:
					args = []string{"XCLAIM", k, pick(groups), pick(cons), idle(), id(k), id(k)}
					for range r.IntN(3) {
						args = append(args, pick([]string{"FORCE", "JUSTID", "RETRYCOUNT", "IDLE", "TIME"}))
						switch args[len(args)-1] {
						case "RETRYCOUNT":
							args = append(args, strconv.Itoa(r.IntN(5)))
						case "IDLE":
							args = append(args, idle())
						case "TIME":
							args = append(args, strconv.FormatInt(a.now-int64(r.IntN(2000)), 10))
						}
					}
				case 12:
					args = []string{"XAUTOCLAIM", k, pick(groups), pick(cons), idle(), id(k), "COUNT", strconv.Itoa(1 + r.IntN(4))}
				default:
					args = []string{"XPENDING", k, pick(groups), "-", "+", "10"}
				}
				out := a.do(args...)
				if strings.HasPrefix(out, "-ERR internal") {
					t.Fatalf("%v: %s", args, out)
				}
				for _, key := range keys {
					checkGroupInvariants(t, a, key)
				}
				if strings.HasPrefix(out, "*") || strings.HasPrefix(out, ":") {
					ok++
				}
			}
			if ok < 200 {
				t.Fatalf("only %d commands of 700 answered other than an error or OK", ok)
			}
		})
	}
}

// TestXreadgroupPEL checks delivery, redelivery from history (count up,
// delivery time now), a deleted entry in history ([id, nil]), idle times
// from the entry clock, and XACK.
func TestXreadgroupPEL(t *testing.T) {
	a := newApplier(t)
	a.do("XADD", "s", "1-1", "a", "1")
	a.do("XADD", "s", "2-1", "b", "2")
	a.do("XGROUP", "CREATE", "s", "g", "0")
	if got, want := a.do("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">"),
		"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"; got != want {
		t.Fatalf("XREADGROUP >: %q, want %q", got, want)
	}
	t0 := a.now
	a.now += 100
	a.do("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0")
	a.now += 50
	if got, want := a.read("XPENDING", "s", "g", "-", "+", "10"), "*1\r\n*4\r\n$3\r\n1-1\r\n$1\r\nc\r\n:50\r\n:2\r\n"; got != want {
		t.Fatalf("XPENDING after history read: %q, want %q", got, want)
	}
	a.do("XDEL", "s", "1-1")
	if got, want := a.do("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"),
		"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*-1\r\n"; got != want {
		t.Fatalf("history with a deleted entry: %q, want %q", got, want)
	}
	// The deleted entry's delivery was not counted.
	if got := a.read("XPENDING", "s", "g", "-", "+", "10", "c"); !strings.Contains(got, ":2\r\n") {
		t.Fatalf("XPENDING: %q", got)
	}
	// XINFO CONSUMERS: idle from the last read's clock.
	if got := a.read("XINFO", "CONSUMERS", "s", "g"); !strings.Contains(got, "$4\r\nidle\r\n:0\r\n") {
		t.Fatalf("XINFO CONSUMERS: %q (t0 %d now %d)", got, t0, a.now)
	}
	if got := a.do("XACK", "s", "g", "1-1", "1-1", "9-9"); got != ":1\r\n" {
		t.Fatalf("XACK: %q", got)
	}
	if got := a.read("XPENDING", "s", "g"); got != "*4\r\n:0\r\n$-1\r\n$-1\r\n*-1\r\n" {
		t.Fatalf("XPENDING summary: %q", got)
	}
	checkGroupInvariants(t, a, "s")
}

// TestXautoclaimCursorAndDeleted checks XAUTOCLAIM's cursor, COUNT
// covering claimed and deleted entries, and the PEL cleanup.
func TestXautoclaimCursorAndDeleted(t *testing.T) {
	a := newApplier(t)
	for i := 1; i <= 5; i++ {
		a.do("XADD", "s", fmt.Sprintf("%d-1", i), "f", "v")
	}
	a.do("XGROUP", "CREATE", "s", "g", "0")
	a.do("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", ">")
	a.do("XDEL", "s", "2-1")
	got := a.do("XAUTOCLAIM", "s", "g", "c2", "0", "0", "COUNT", "2", "JUSTID")
	if want := "*3\r\n$3\r\n3-1\r\n*1\r\n$3\r\n1-1\r\n*1\r\n$3\r\n2-1\r\n"; got != want {
		t.Fatalf("XAUTOCLAIM: %q, want %q", got, want)
	}
	a.now += 10
	got = a.do("XAUTOCLAIM", "s", "g", "c2", "5", "3-1", "JUSTID")
	if want := "*3\r\n$3\r\n0-0\r\n*3\r\n$3\r\n3-1\r\n$3\r\n4-1\r\n$3\r\n5-1\r\n*0\r\n"; got != want {
		t.Fatalf("XAUTOCLAIM idle: %q, want %q", got, want)
	}
	// Just claimed: not idle enough now.
	got = a.do("XAUTOCLAIM", "s", "g", "c3", "15", "0")
	if want := "*3\r\n$3\r\n0-0\r\n*0\r\n*0\r\n"; got != want {
		t.Fatalf("XAUTOCLAIM none idle: %q, want %q", got, want)
	}
	checkGroupInvariants(t, a, "s")
}

// TestXgroupDelconsumerAndDestroy: DELCONSUMER answers the consumer's
// pending count and drops those entries from the group PEL; DESTROY and
// DEL leave no group sub-key behind that a new group could see.
func TestXgroupDelconsumerAndDestroy(t *testing.T) {
	a := newApplier(t)
	for i := 1; i <= 4; i++ {
		a.do("XADD", "s", fmt.Sprintf("%d-1", i), "f", "v")
	}
	a.do("XGROUP", "CREATE", "s", "g", "0")
	a.do("XREADGROUP", "GROUP", "g", "c1", "COUNT", "3", "STREAMS", "s", ">")
	a.do("XREADGROUP", "GROUP", "g", "c2", "STREAMS", "s", ">")
	if got := a.do("XGROUP", "DELCONSUMER", "s", "g", "c1"); got != ":3\r\n" {
		t.Fatalf("DELCONSUMER: %q", got)
	}
	if got := a.read("XPENDING", "s", "g"); got != "*4\r\n:1\r\n$3\r\n4-1\r\n$3\r\n4-1\r\n*1\r\n*2\r\n$2\r\nc2\r\n$1\r\n1\r\n" {
		t.Fatalf("XPENDING: %q", got)
	}
	checkGroupInvariants(t, a, "s")
	a.do("XGROUP", "DESTROY", "s", "g")
	a.do("XGROUP", "CREATE", "s", "g", "0")
	if got := a.read("XPENDING", "s", "g"); got != "*4\r\n:0\r\n$-1\r\n$-1\r\n*-1\r\n" {
		t.Fatalf("XPENDING after DESTROY and CREATE: %q", got)
	}
	withCtx(t, a, func(c *ctx) {
		s, _ := c.openStream([]byte("s"))
		for _, fam := range []byte{keyspace.StreamConsumerFamily, keyspace.StreamPendingFamily, keyspace.StreamConsumerPendFamily} {
			it := s.elemsWithPrefix(c, []byte{fam}, false)
			if it.Valid() {
				t.Errorf("family %c left after DESTROY: %q", fam, it.Key())
			}
			it.close()
		}
	})
	a.do("DEL", "s")
	a.do("XGROUP", "CREATE", "s", "g", "0", "MKSTREAM")
	if got := a.read("XINFO", "GROUPS", "s"); !strings.Contains(got, "$7\r\npending\r\n:0\r\n") {
		t.Fatalf("XINFO GROUPS after DEL: %q", got)
	}
}

// TestXreadgroupBlockArgs: with BLOCK, parse gives the stream keys to
// wait on; run takes either form; nothing to serve is a null array.
func TestXreadgroupBlockArgs(t *testing.T) {
	p, err := parseXreadgroup(cmd("XREADGROUP", "GROUP", "g", "c", "BLOCK", "100", "STREAMS", "a", "b", ">", ">"), 0)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := p.(*blockArgs)
	if !ok || len(b.keys) != 2 || string(b.keys[1]) != "b" || b.timeout.Milliseconds() != 100 {
		t.Fatalf("blockArgs: %#v", p)
	}
	a := newApplier(t)
	a.do("XGROUP", "CREATE", "a", "g", "$", "MKSTREAM")
	if got := a.do("XREADGROUP", "GROUP", "g", "c", "BLOCK", "100", "STREAMS", "a", ">"); got != "*-1\r\n" {
		t.Fatalf("attempt: %q", got)
	}
	a.do("XADD", "a", "1-1", "f", "v")
	if got := a.do("XREADGROUP", "GROUP", "g", "c", "BLOCK", "100", "STREAMS", "a", ">"); !strings.HasPrefix(got, "*1\r\n") {
		t.Fatalf("attempt after XADD: %q", got)
	}
}

// TestRaxNodes: the estimate matches the radix-tree-nodes that Redis
// 7.0.15 answers for streams of 0, 1, 3, 4 and 20 nodes of 100 entries
// (XADD 1-0 .. N-0), and for the 20 trimmed to 15 with MAXLEN ~.
func TestRaxNodes(t *testing.T) {
	masters := func(from, n int) [][]byte {
		var out [][]byte
		for i := range n {
			out = append(out, keyspace.AppendStreamID(nil, streamID{Ms: uint64(from + 100*i)}))
		}
		return out
	}
	cases := []struct {
		keys [][]byte
		want int64
	}{
		{nil, 1},
		{masters(1, 1), 2},
		{masters(1, 3), 8},
		{masters(1, 4), 11},
		{masters(1, 20), 50},
		{masters(501, 15), 38},
	}
	for _, tc := range cases {
		if got := raxNodes(tc.keys); got != tc.want {
			t.Errorf("raxNodes(%d keys) = %d, want %d", len(tc.keys), got, tc.want)
		}
	}
	// Sorted input is what it gets; a bad order must not panic.
	_ = raxNodes([][]byte{masters(5, 1)[0], masters(1, 1)[0], bytes.Repeat([]byte{1}, 16)})
}

// TestDumpRestoreStreamWithGroups: a stream's DUMP carries its entries,
// nodes, metadata, groups, consumers and PELs, and RESTORE gives them
// back whole (XINFO STREAM FULL, XPENDING, XRANGE alike); a body whose
// entry count disagrees with its entries is "Bad data format".
func TestDumpRestoreStreamWithGroups(t *testing.T) {
	a := newApplier(t)
	for i := 1; i <= 150; i++ {
		a.do("XADD", "s", fmt.Sprintf("%d-1", i), "f", strconv.Itoa(i))
	}
	a.do("XDEL", "s", "3-1", "120-1")
	a.do("XGROUP", "CREATE", "s", "g1", "0")
	a.do("XGROUP", "CREATE", "s", "g2", "$", "ENTRIESREAD", "150")
	a.do("XREADGROUP", "GROUP", "g1", "c1", "COUNT", "5", "STREAMS", "s", ">")
	a.do("XREADGROUP", "GROUP", "g1", "c2", "COUNT", "3", "STREAMS", "s", ">")
	a.do("XGROUP", "CREATECONSUMER", "s", "g2", "idle")
	a.do("XGROUP", "CREATE", "e", "g1", "0", "MKSTREAM")
	for _, key := range []string{"s", "e"} {
		payload := a.read("DUMP", key)
		if !strings.HasPrefix(payload, "$") {
			t.Fatalf("DUMP %s: %q", key, payload)
		}
		body := payload[strings.Index(payload, "\r\n")+2 : len(payload)-2]
		if got := a.do("RESTORE", key+"copy", "0", body); got != "+OK\r\n" {
			t.Fatalf("RESTORE %s: %q", key, got)
		}
		for _, q := range [][]string{{"XINFO", "STREAM", "*", "FULL"}, {"XINFO", "STREAM", "*"}, {"XINFO", "GROUPS", "*"},
			{"XPENDING", "*", "g1", "-", "+", "100"}, {"XRANGE", "*", "-", "+"}, {"TYPE", "*"}} {
			orig, cp := append([]string{}, q...), append([]string{}, q...)
			for i := range q {
				if q[i] == "*" {
					orig[i], cp[i] = key, key+"copy"
				}
			}
			if a, b := a.read(orig...), a.read(cp...); a != b {
				t.Errorf("%v: original %q, restored %q", q, a, b)
			}
		}
		checkGroupInvariants(t, a, key+"copy")
	}
	bad := encodeDump(&dumpValue{typ: keyspace.Stream, extra: keyspace.EncodeStreamMeta(keyspace.StreamMeta{}), count: 1})
	if got := a.do("RESTORE", "bad", "0", string(bad)); got != "-ERR Bad data format\r\n" {
		t.Fatalf("RESTORE of a bad stream body: %q", got)
	}
}

// TestStreamGroupEvents: the keyspace events of the group commands, as
// redis-server 7.0.15 notifies them (checked with PSUBSCRIBE).
func TestStreamGroupEvents(t *testing.T) {
	a := newApplier(t)
	a.do("XADD", "s", "1-1", "a", "1")
	a.do("XADD", "s", "2-1", "a", "1")
	run := func(args ...string) []string {
		return withCtx(t, a, func(c *ctx) {
			p := ParseCommand(cmd(args...), c.now)
			if p.Err != nil {
				t.Fatal(p.Err)
			}
			p.Spec.run(c, cmd(args...), p.Args)
		})
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"XGROUP", "CREATE", "s", "g", "0"}, "s:xgroup-create"},
		{[]string{"XGROUP", "CREATE", "n", "g", "0", "MKSTREAM"}, "n:xgroup-create"},
		{[]string{"XGROUP", "CREATECONSUMER", "s", "g", "c0"}, "s:xgroup-createconsumer"},
		{[]string{"XREADGROUP", "GROUP", "g", "c1", "COUNT", "1", "STREAMS", "s", ">"}, "s:xgroup-createconsumer"},
		{[]string{"XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", ">"}, ""},
		{[]string{"XREADGROUP", "GROUP", "g", "c9", "STREAMS", "s", ">"}, ""},
		{[]string{"XACK", "s", "g", "1-1"}, ""},
		{[]string{"XCLAIM", "s", "g", "c2", "0", "2-1"}, "s:xgroup-createconsumer"},
		{[]string{"XCLAIM", "s", "g", "c3", "999999", "2-1"}, ""},
		{[]string{"XAUTOCLAIM", "s", "g", "c4", "0", "0"}, "s:xgroup-createconsumer"},
		{[]string{"XGROUP", "SETID", "s", "g", "0"}, "s:xgroup-setid"},
		{[]string{"XGROUP", "DELCONSUMER", "s", "g", "c1"}, "s:xgroup-delconsumer"},
		{[]string{"XGROUP", "DELCONSUMER", "s", "g", "zz"}, ""},
		{[]string{"XGROUP", "DESTROY", "s", "g"}, "s:xgroup-destroy"},
		{[]string{"XGROUP", "DESTROY", "s", "g"}, ""},
	} {
		if got := strings.Join(run(tc.args...), " "); got != tc.want {
			t.Errorf("%v: events %q, want %q", tc.args, got, tc.want)
		}
	}
}
