package server

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
)

// readValue reads one value (a reply or a pushed message) with a deadline.
func (c *conn) readValue(d time.Duration) (resp.Value, error) {
	c.c.SetReadDeadline(time.Now().Add(d))
	raw, err := resp.ReadRaw(c.r)
	if err != nil {
		return resp.Value{}, err
	}
	v, _, err := resp.Parse(raw)
	return v, err
}

// pubsubScript runs steps on a set of connections to addr and returns the
// transcript. A step is "N> COMMAND ARGS | k": connection N sends the
// command and reads k values (default 1); "N< k": connection N reads k
// values (messages); "N3": connection N says HELLO 3.
func pubsubScript(t *testing.T, addr string, conns int, steps []string) []string {
	t.Helper()
	cs := make([]*conn, conns)
	for i := range cs {
		cs[i] = dial(t, addr)
	}
	var out []string
	for _, st := range steps {
		n, _ := strconv.Atoi(st[:1])
		c := cs[n]
		body := strings.TrimSpace(st[2:])
		k := 1
		sorted := strings.HasSuffix(body, " !sort")
		body = strings.TrimSuffix(body, " !sort")
		if i := strings.LastIndex(body, " | "); i >= 0 {
			k, _ = strconv.Atoi(body[i+3:])
			body = body[:i]
		}
		switch st[1] {
		case '>':
			args, err := splitArgs(body)
			if err != nil {
				t.Fatal(err)
			}
			bs := make([][]byte, len(args))
			for i, a := range args {
				bs[i] = []byte(a)
			}
			if err := c.send(bs...); err != nil {
				t.Fatal(err)
			}
		case '<':
			k, _ = strconv.Atoi(body)
		}
		for range k {
			v, err := c.readValue(5 * time.Second)
			if err != nil {
				out = append(out, fmt.Sprintf("%s => error %v", st, err))
				break
			}
			if sorted {
				slices.SortFunc(v.Elems, func(a, b resp.Value) int { return strings.Compare(format(a), format(b)) })
			}
			f := format(v)
			if strings.HasPrefix(body, "HELLO") || st == "2< 1" && v.Kind == '%' {
				f = "(hello reply, id elided)"
			}
			out = append(out, st+" => "+f)
		}
	}
	return out
}

func comparePubsub(t *testing.T, conns int, steps []string) {
	t.Helper()
	raddr := startRedis(t)
	ws := startServer(t, Config{})
	want := pubsubScript(t, raddr, conns, steps)
	got := pubsubScript(t, ws.addr, conns, steps)
	for i := range max(len(want), len(got)) {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			t.Errorf("step %d:\n  redis:   %s\n  walkerd: %s", i, w, g)
		}
	}
}

// TestPubsub_RepliesMatchRedis compares every subscribe and unsubscribe
// reply form, messages, pattern messages, PUBSUB's subcommands and the
// subscribed-mode rules with redis-server, in RESP2 and RESP3.
func TestPubsub_RepliesMatchRedis(t *testing.T) {
	comparePubsub(t, 4, []string{
		"3> MULTI",
		"3> SUBSCRIBE q",
		"3> EXEC",
		"3> PING",
		"3> UNSUBSCRIBE",
		"0> UNSUBSCRIBE",
		"0> PUNSUBSCRIBE",
		"0> SUNSUBSCRIBE",
		"0> UNSUBSCRIBE nope",
		"0> SUBSCRIBE a b a | 3",
		"0> PSUBSCRIBE h?llo n* | 2",
		"0> SSUBSCRIBE s1 | 1",
		"3> MULTI",
		"3> PUBLISH a inmulti",
		"3> SET k v",
		"3> PUBLISH zz x",
		"3> SPUBLISH s1 y",
		"3> EXEC",
		"0< 2",
		"1> PUBLISH a m1",
		"0< 1",
		"1> PUBLISH hello m2",
		"0< 1",
		"1> PUBLISH nope m3",
		"0< 1",
		"1> PUBLISH zzz m4",
		"1> SPUBLISH s1 m5",
		"0< 1",
		"1> PUBSUB CHANNELS !sort",
		"1> PUBSUB CHANNELS a*",
		"1> PUBSUB NUMSUB a b c",
		"1> PUBSUB NUMSUB",
		"1> PUBSUB NUMPAT",
		"1> PUBSUB SHARDCHANNELS",
		"1> PUBSUB SHARDNUMSUB s1 s2",
		"1> PUBSUB CHANNELS a b",
		"1> PUBSUB NOPE",
		"1> PUBSUB HELP",
		"0> GET k",
		"0> CLIENT ID",
		"0> PING",
		"0> PING hi",
		"0> PING a b",
		"0> SET",
		"0> NOSUCH x",
		"0> MULTI",
		"0> UNSUBSCRIBE a | 1",
		"0> UNSUBSCRIBE | 1",
		"0> PUNSUBSCRIBE zz | 1",
		"0> PUNSUBSCRIBE | 2",
		"0> GET k",
		"0> SUNSUBSCRIBE | 1",
		"0> GET k",
		"0> PING",
		"1> PUBLISH a x",
		"0> SSUBSCRIBE s1 s2 | 2",
		"0> GET k",
		"0> SUNSUBSCRIBE s2 s3 | 2",
		"0> SUNSUBSCRIBE",
		"0> SUBSCRIBE",
		"0> PUBLISH a",
		// RESP3: push frames, no subscribed-mode restriction.
		"2> HELLO 3 | 0",
		"2< 1",
		"2> SUBSCRIBE a | 1",
		"2> PSUBSCRIBE * | 1",
		"2> GET k",
		"2> PING",
		"1> PUBLISH a r3",
		"2< 2",
		"2> PUBSUB NUMSUB a",
		"2> UNSUBSCRIBE | 1",
		"2> PUNSUBSCRIBE | 1",
		"2> UNSUBSCRIBE | 1",
		"1> PUBLISH a r4",
		"0> SUBSCRIBE a | 1",
		"0> PSUBSCRIBE x* | 1",
		"0> RESET",
		"0> GET k",
		"1> PUBSUB NUMSUB a",
		"1> PUBSUB NUMPAT",
		"0> MONITOR",
		"0> RESET",
		"1> PUBLISH a r5",
		"0> PING",
		"1> QUIT",
	})
}

// TestPubsub_SubscribeThenQuit: QUIT in subscribed mode answers OK and
// closes, as Redis.
func TestPubsub_QuitSubscribed(t *testing.T) {
	comparePubsub(t, 1, []string{
		"0> SUBSCRIBE a",
		"0> QUIT",
		"0< 1",
	})
}

// TestPubsub_KeyspaceConfig compares notify-keyspace-events parsing and
// its CONFIG GET form with redis-server.
func TestPubsub_KeyspaceConfig(t *testing.T) {
	var steps []string
	for _, v := range []string{"", "K", "E", "KEA", "A", "Kg$lshzxetd", "AKEm", "Ag", "Kgn", "nm", "KEx", "Elz", "xyz", "KEAQ", "$", "Kd"} {
		steps = append(steps, "0> CONFIG SET notify-keyspace-events \""+v+"\"", "0> CONFIG GET notify-keyspace-events")
	}
	comparePubsub(t, 1, steps)
}

// TestPubsub_KeyspaceEvents compares the keyspace notifications of writes
// of every class with redis-server: a subscriber to every keyspace and
// keyevent channel reads what each write produced.
func TestPubsub_KeyspaceEvents(t *testing.T) {
	writes := []string{
		"SET s v", "SETRANGE s 1 x", "APPEND s y", "INCR n", "INCRBYFLOAT n 1.5", "SETBIT b 3 1", "PFADD h a",
		"EXPIRE s 100", "PERSIST s", "RENAME s s2", "DEL s2", "COPY n n2", "MOVE n2 1",
		"LPUSH l a b c", "RPUSH l d", "LPOP l", "RPOP l", "LINSERT l BEFORE b x", "LSET l 0 y", "LREM l 1 y", "LTRIM l 0 0",
		"LMOVE l l2 LEFT RIGHT",
		"SADD st a b c", "SREM st a", "SADD sp x", "SPOP sp", "SINTERSTORE st2 st", "SMOVE st st3 c", "SMOVE st st3 b",
		"HSET hh f v g w", "HINCRBY hh n 1", "HINCRBYFLOAT hh n 1.5", "HDEL hh f", "HDEL hh g n",
		"ZADD z 1 a 2 b 3 c", "ZINCRBY z 1 a", "ZREM z a", "ZPOPMIN z", "ZREMRANGEBYSCORE z 0 10", "ZADD z 1 a",
		"ZUNIONSTORE z2 1 z", "ZRANGESTORE z3 z 0 -1",
		"XADD x 1-1 f v", "XDEL x 1-1", "XTRIM x MAXLEN 0", "XGROUP CREATE x g $", "XGROUP SETID x g 0",
		"XGROUP CREATECONSUMER x g c", "XGROUP DELCONSUMER x g c", "XGROUP DESTROY x g",
		"RESTORE r 0 \"\\x00\\x01v\\n\\x00\\xd8\\xf2\\x8f\\x86\\x84\\x8b\\xbd\\x8e\"",
		"GEOADD geo 13.361389 38.115556 p",
		"FLUSHALL",
	}
	for _, classes := range []string{"KEA", "Kg", "E$", "Kl", "Es", "Kh", "Ez", "Kt", "KEx", "KEAn", "En"} {
		t.Run(classes, func(t *testing.T) {
			steps := []string{"0> CONFIG SET notify-keyspace-events " + classes, "1> PSUBSCRIBE __key* | 1"}
			for _, w := range writes {
				steps = append(steps, "0> "+w)
			}
			steps = append(steps, "0> PUBLISH end end")
			raddr := startRedis(t)
			ws := startServer(t, Config{})
			want := eventsOf(t, raddr, steps)
			got := eventsOf(t, ws.addr, steps)
			if strings.Join(want, "\n") != strings.Join(got, "\n") {
				t.Errorf("events differ\n  redis:\n    %s\n  walkerd:\n    %s", strings.Join(want, "\n    "), strings.Join(got, "\n    "))
			}
		})
	}
}

// eventsOf runs steps, then reads connection 1's messages up to "end".
func eventsOf(t *testing.T, addr string, steps []string) []string {
	c0, c1 := dial(t, addr), dial(t, addr)
	c0.must(t, "CONFIG", "SET", "notify-keyspace-events", strings.TrimPrefix(steps[0], "0> CONFIG SET notify-keyspace-events "))
	if got := c1.must(t, "PSUBSCRIBE", "__key*"); !strings.Contains(got, "psubscribe") {
		t.Fatal(got)
	}
	if got := c1.must(t, "SUBSCRIBE", "end"); !strings.Contains(got, "subscribe") {
		t.Fatal(got)
	}
	for _, st := range steps[2:] {
		args, err := splitArgs(st[3:])
		if err != nil {
			t.Fatal(err)
		}
		c0.must(t, args...)
	}
	var out []string
	for {
		v, err := c1.readValue(5 * time.Second)
		if err != nil {
			t.Fatalf("reading events: %v (so far %q)", err, out)
		}
		f := format(v)
		if strings.Contains(f, `"end"`) {
			return out
		}
		out = append(out, f)
	}
}

// TestPubsub_ExpiredEvent: a key that expires is notified ('x').
func TestPubsub_ExpiredEvent(t *testing.T) {
	ws := startServer(t, Config{SweepInterval: 10 * time.Millisecond})
	c0, c1 := dial(t, ws.addr), dial(t, ws.addr)
	c0.must(t, "CONFIG", "SET", "notify-keyspace-events", "Ex")
	c1.must(t, "SUBSCRIBE", "__keyevent@0__:expired")
	c0.must(t, "SET", "k", "v", "PX", "20")
	v, err := c1.readValue(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := format(v); got != `["message", "__keyevent@0__:expired", "k"]` {
		t.Fatalf("got %s", got)
	}
}

// TestPubsub_Monitor checks MONITOR's line format.
func TestPubsub_Monitor(t *testing.T) {
	ws := startServer(t, Config{})
	m, c := dial(t, ws.addr), dial(t, ws.addr)
	if got := m.must(t, "MONITOR"); got != "+OK" {
		t.Fatal(got)
	}
	c.must(t, "SET", "k", "a b\"\n\x01")
	c.must(t, "SELECT", "2")
	c.must(t, "MULTI")
	c.must(t, "GET", "k")
	c.must(t, "EXEC")
	c.must(t, "CONFIG", "GET", "x") // admin: not shown
	addr := c.c.LocalAddr().String()
	want := []string{
		`[0 ` + addr + `] "SET" "k" "a b\"\n\x01"`,
		`[2 ` + addr + `] "SELECT" "2"`,
		`[2 ` + addr + `] "MULTI"`,
		`[2 ` + addr + `] "GET" "k"`,
		`[2 ` + addr + `] "EXEC"`,
	}
	for _, w := range want {
		v, err := m.readValue(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if v.Kind != '+' {
			t.Fatalf("got %s", format(v))
		}
		ts, rest, _ := strings.Cut(string(v.Str), " ")
		if _, err := strconv.ParseFloat(ts, 64); err != nil || len(ts) < 17 || ts[len(ts)-7] != '.' {
			t.Errorf("timestamp %q", ts)
		}
		if rest != w {
			t.Errorf("got  %s\nwant %s", rest, w)
		}
	}
}

// TestPubsub_SlowSubscriberDropped: a subscriber that reads nothing is
// disconnected once its queued messages pass the output limit; publishing
// goes on.
func TestPubsub_SlowSubscriberDropped(t *testing.T) {
	ws := startServer(t, Config{})
	sub, pub := dial(t, ws.addr), dial(t, ws.addr)
	if got := pub.must(t, "CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 0 0"); got != "+OK" {
		t.Fatal(got)
	}
	sub.must(t, "SUBSCRIBE", "big")
	msg := strings.Repeat("x", 256<<10)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if got := pub.must(t, "PUBLISH", "big", msg); got == ":0" {
			break // the subscriber is gone
		}
		if time.Now().After(deadline) {
			t.Fatal("the subscriber was never dropped")
		}
	}
	if info := pub.must(t, "INFO", "stats"); !strings.Contains(info, "pubsub_clients_dropped:1") {
		t.Errorf("INFO stats: %s", info)
	}
	if got := pub.must(t, "PUBSUB", "NUMSUB", "big"); got != `["big", :0]` {
		t.Errorf("NUMSUB after the drop: %s", got)
	}
}

// TestPubsub_ClientList shows a subscriber's flags and counts as Redis.
func TestPubsub_ClientList(t *testing.T) {
	ws := startServer(t, Config{})
	sub, other := dial(t, ws.addr), dial(t, ws.addr)
	sub.must(t, "SUBSCRIBE", "a")
	sub.must(t, "PSUBSCRIBE", "b*")
	list := other.must(t, "CLIENT", "LIST")
	if !strings.Contains(list, "flags=P db=0 sub=1 psub=1 ssub=0") {
		t.Errorf("CLIENT LIST: %s", list)
	}
}

// TestPubsub_PingInExecSubscribed compares PING run by EXEC while the
// client is subscribed with redis-server: in RESP2 pingCommand answers the
// subscribed-mode array ["pong", arg] (MULTI itself is refused once
// subscribed, so the subscription starts inside the transaction); in
// RESP3, +PONG.
func TestPubsub_PingInExecSubscribed(t *testing.T) {
	comparePubsub(t, 3, []string{
		"0> SUBSCRIBE ch",
		"0> MULTI",
		"0> PING",
		"0> EXEC",
		"0> UNSUBSCRIBE",
		"0> MULTI",
		"0> SUBSCRIBE ch2",
		"0> PING",
		"0> PING hi",
		"0> ECHO x",
		"0> EXEC",
		"0> PING",
		"0> UNSUBSCRIBE",
		"0> MULTI",
		"0> PSUBSCRIBE p*",
		"0> SSUBSCRIBE s",
		"0> PING",
		"0> PUNSUBSCRIBE",
		"0> SUNSUBSCRIBE",
		"0> PING x",
		"0> EXEC",
		"0> PING",
		"0> MULTI",
		"0> SUBSCRIBE a",
		"0> UNSUBSCRIBE a",
		"0> PING",
		"0> EXEC",
		"2> HELLO 3 | 0",
		"2< 1",
		"2> SUBSCRIBE ch | 1",
		"2> MULTI",
		"2> PING",
		"2> PING x",
		"2> EXEC",
	})
}
