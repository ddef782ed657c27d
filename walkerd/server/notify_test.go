package server

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestNotify_NewAndKeymiss compares the "new" (class n: db.c's dbAdd) and
// "keymiss" (class m: a read's lookup that finds no key) notifications
// with redis-server, in order among the other events: creating writes of
// every type, writes over existing and expired keys, RENAME/COPY/RESTORE
// over an existing destination, MULTI and a script creating a key twice;
// then reads of missing and present keys.
func TestNotify_NewAndKeymiss(t *testing.T) {
	writes := []string{
		"SET a 1", "SET a 2", "SET e 1 PX 1", "#sleep", "SET e 2", "SET x 1 EX 100", "SETNX a 3", "SETNX b 3",
		"MSET a 1 c 2", "GETSET d 1", "SET f 1 GET", "INCR n", "INCR n", "INCRBYFLOAT fl 1.5", "APPEND ap x",
		"SETRANGE sr 2 x", "SETBIT bt 1 1", "PFADD hl a", "BITOP OR bo bt bt",
		"HSET h f v", "HSET h g w", "HINCRBY h2 f 1", "LPUSH l a b", "RPUSH l c", "LPUSHX lx a", "SADD s a", "SADD s b",
		"ZADD z 1 a", "ZINCRBY z2 1 a", "GEOADD g 13.361389 38.115556 p", "XADD x1 1-1 f v", "XGROUP CREATE x2 gr $ MKSTREAM",
		"SMOVE s s3 a", "LMOVE l l2 LEFT RIGHT", "RPOPLPUSH l l2", "SUNIONSTORE s4 s", "SUNIONSTORE s4 s", "ZUNIONSTORE z3 1 z",
		"SORT l2 ALPHA STORE so", "RENAME a ra", "RENAME b ra", "COPY c cc", "COPY d cc REPLACE", "MOVE cc 1",
		"RESTORE r 0 \"\\x00\\x01v\\n\\x00\\xd8\\xf2\\x8f\\x86\\x84\\x8b\\xbd\\x8e\"",
		"RESTORE r 0 \"\\x00\\x01v\\n\\x00\\xd8\\xf2\\x8f\\x86\\x84\\x8b\\xbd\\x8e\" REPLACE",
		"MULTI", "SET m 1", "SET m 2", "DEL m", "SET m 3", "EXEC",
		"EVAL \"redis.call('SET', KEYS[1], 'x'); redis.call('SET', KEYS[1], 'y'); return 1\" 1 sc",
		"DEL sc",
	}
	// Commands of many writes (created indexes them): keys new and old.
	mset := func(from, to int) string {
		b := "MSET"
		for i := from; i < to; i++ {
			b += fmt.Sprintf(" k%d %d", i, i)
		}
		return b
	}
	writes = append(writes, mset(0, 20), mset(10, 60), mset(40, 100), "HSET hb "+strings.Repeat("f v ", 40), "FLUSHALL")
	reads := []string{
		"SET p 1", "GET p", "GET nope", "MGET nope p nope2 nope", "EXISTS nope p nope", "TYPE nope", "TTL nope",
		"STRLEN nope", "GETRANGE nope 0 1", "HGET nope f", "HGETALL nope", "LRANGE nope 0 -1", "LLEN nope",
		"SMEMBERS nope", "SISMEMBER nope a", "SUNION nope nope2", "ZSCORE nope a", "ZRANGE nope 0 -1",
		"XRANGE nope - +", "DUMP nope", "OBJECT ENCODING nope", "PTTL p", "GETBIT nope 1", "BITCOUNT nope",
		"LINDEX nope 0", "HEXISTS nope f", "ZCARD nope", "SCARD nope", "PFCOUNT nope", "TOUCH nope",
	}
	for _, tc := range []struct {
		classes string
		cmds    []string
	}{
		// Not x: walkerd notifies no "expired" when a write finds its
		// key expired (Redis's lookupKeyWrite deletes it, notifying).
		{"KEg$lshztdn", writes}, {"En", writes}, {"Kn", writes},
		{"KEm", reads}, {"Km", reads}, {"KEAnm", reads}, {"KEA", reads}, {"m", reads},
	} {
		t.Run(tc.classes, func(t *testing.T) {
			raddr := startRedis(t)
			ws := startServer(t, Config{})
			want := eventsMarked(t, raddr, tc.classes, tc.cmds)
			got := eventsMarked(t, ws.addr, tc.classes, tc.cmds)
			if d := lineDiff(want, got); d != "" {
				t.Errorf("events differ (-redis +walkerd):\n%s", d)
			}
			if tc.classes != "KEA" && tc.classes != "m" && len(want) < 10 {
				t.Fatalf("only %d events from redis-server: %q", len(want), want)
			}
		})
	}
}

// eventsMarked runs cmds on one connection with notify-keyspace-events set
// to classes, and returns what a second connection subscribed to every
// keyspace and keyevent channel heard, each command's events after a
// "> command" line (a PUBLISH on channel "mark" follows each command).
func eventsMarked(t *testing.T, addr, classes string, cmds []string) []string {
	c0, c1 := dial(t, addr), dial(t, addr)
	c0.must(t, "CONFIG", "SET", "notify-keyspace-events", classes)
	if got := c1.must(t, "PSUBSCRIBE", "__key*"); !strings.Contains(got, "psubscribe") {
		t.Fatal(got)
	}
	if got := c1.must(t, "SUBSCRIBE", "mark"); !strings.Contains(got, "subscribe") {
		t.Fatal(got)
	}
	for i, cmd := range cmds {
		if cmd == "#sleep" { // time for a PX 1 key to expire
			time.Sleep(5 * time.Millisecond)
			c0.must(t, "PUBLISH", "mark", fmt.Sprint(i))
			continue
		}
		args, err := splitArgs(cmd)
		if err != nil {
			t.Fatal(err)
		}
		c0.must(t, args...)
		c0.must(t, "PUBLISH", "mark", fmt.Sprint(i))
	}
	c0.must(t, "PUBLISH", "mark", "end")
	var out []string
	for i := 0; ; {
		v, err := c1.readValue(5 * time.Second)
		if err != nil {
			t.Fatalf("reading events: %v (so far %q)", err, out)
		}
		f := format(v)
		switch {
		case strings.HasPrefix(f, `["message", "mark", "end"]`):
			return out
		case strings.HasPrefix(f, `["message", "mark"`):
			out = append(out, "> "+cmds[i])
			i++
		default:
			out = append(out, "  "+f)
		}
	}
}

// lineDiff shows where two event lists part: "" when they are equal, else
// the lines from a few before the first difference, each side's.
func lineDiff(want, got []string) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	if i == len(want) && i == len(got) {
		return ""
	}
	from := max(i-4, 0)
	var b strings.Builder
	for _, l := range want[from:min(i, len(want))] {
		b.WriteString("   " + l + "\n")
	}
	for _, l := range want[i:min(i+8, len(want))] {
		b.WriteString(" - " + l + "\n")
	}
	for _, l := range got[i:min(i+8, len(got))] {
		b.WriteString(" + " + l + "\n")
	}
	return b.String()
}
