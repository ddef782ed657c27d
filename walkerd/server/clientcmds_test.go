package server

import (
	"bytes"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/forward"
	"github.com/walkerdb/walkerdb/walkerd/nodelink"
)

// readReply reads one reply with a deadline; ok is false when none came
// within d.
func (c *conn) readReply(t *testing.T, d time.Duration) (string, bool) {
	t.Helper()
	c.c.SetReadDeadline(time.Now().Add(d))
	defer c.c.SetReadDeadline(time.Time{})
	raw, err := resp.ReadRaw(c.r)
	if err != nil {
		if strings.Contains(err.Error(), "timeout") {
			return "", false
		}
		t.Fatalf("read: %v", err)
	}
	v, _, err := resp.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return format(v), true
}

func (c *conn) sendStr(t *testing.T, args ...string) {
	t.Helper()
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	if err := c.send(bs...); err != nil {
		t.Fatal(err)
	}
}

func TestHello_SwitchesProtocol(t *testing.T) {
	ws := startServer(t, Config{RequirePass: "pw"})
	c := dial(t, ws.addr)
	steps := []struct{ args, want string }{
		{"HELLO 4", "-NOPROTO unsupported protocol version"},
		{"HELLO 1", "-NOPROTO unsupported protocol version"},
		{"HELLO x", "-ERR Protocol version is not an integer or out of range"},
		{"HELLO 3", "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"},
		{"HELLO 3 AUTH default nope", "-WRONGPASS invalid username-password pair or user is disabled."},
		{"HELLO 3 AUTH default pw SETNAME app", `{"server": "redis", "version": "7.0.15", "proto": :3, "id": :1, "mode": "standalone", "role": "master", "modules": []}`},
		{"CLIENT GETNAME", `"app"`},
		{"HSET h a 1", ":1"},
		{"HGETALL h", `{"a": "1"}`},
		{"GET nope", "(null)"},
		{"ZADD z 2.5 m", ":1"},
		{"ZSCORE z m", ",2.5"},
		{"SMEMBERS h2", "~[]"},
		{"HELLO", `{"server": "redis", "version": "7.0.15", "proto": :3, "id": :1, "mode": "standalone", "role": "master", "modules": []}`},
		{"HELLO 2", `["server", "redis", "version", "7.0.15", "proto", :2, "id", :1, "mode", "standalone", "role", "master", "modules", []]`},
		{"HGETALL h", `["a", "1"]`},
		{"GET nope", "(nil)"},
	}
	for _, s := range steps {
		if got := c.must(t, strings.Fields(s.args)...); got != s.want {
			t.Fatalf("%s:\n got  %s\n want %s", s.args, got, s.want)
		}
	}
	c.must(t, "HELLO", "3")
	v, err := c.do("CLIENT", "INFO")
	if err != nil || v.Kind != resp.KindVerbatim || !strings.Contains(string(v.Str), " resp=3\n") {
		t.Fatalf("CLIENT INFO in RESP3: %v %s", err, format(v))
	}
}

// A follower's client in RESP3 gets the leader's answers in RESP3: the
// forwarded reply carries kinds, not bytes.
func TestHello_ForwardedRepliesFollowTheClientsProtocol(t *testing.T) {
	_, follow, _, _ := startPair(t, "")
	fc := dial(t, follow.addr)
	fc.must(t, "HELLO", "3")
	steps := []struct{ args, want string }{
		{"HSET h a 1", ":1"},
		{"HGETALL h", `{"a": "1"}`},
		{"ZADD z 1.5 m", ":1"},
		{"ZSCORE z m", ",1.5"},
		{"ZRANGE z 0 -1 WITHSCORES", `[["m", ,1.5]]`},
		{"GET nope", "(null)"},
		{"MULTI", "+OK"},
		{"HGETALL h", "+QUEUED"},
		{"ZINCRBY z 1 m", "+QUEUED"},
		{"EXEC", `[{"a": "1"}, ,2.5]`},
	}
	for _, s := range steps {
		if got := fc.must(t, strings.Fields(s.args)...); got != s.want {
			t.Fatalf("%s:\n got  %s\n want %s", s.args, got, s.want)
		}
	}
}

func TestClientReply_OffSkipOn(t *testing.T) {
	ws := startServer(t, Config{})
	c := dial(t, ws.addr)
	// Pipelined: OFF and SKIP answer nothing, the skipped command neither.
	for _, cmd := range [][]string{
		{"CLIENT", "REPLY", "OFF"}, {"SET", "a", "1"}, {"CLIENT", "REPLY", "SKIP"}, {"GET", "a"},
		{"CLIENT", "REPLY", "ON"}, {"GET", "a"},
		{"CLIENT", "REPLY", "SKIP"}, {"SET", "b", "2"}, {"GET", "b"},
		// The second SKIP is skipped, and skips the next command again.
		{"CLIENT", "REPLY", "SKIP"}, {"CLIENT", "REPLY", "SKIP"}, {"ECHO", "skipped"}, {"ECHO", "after two skips"},
		{"CLIENT", "REPLY", "OFF"}, {"CLIENT", "REPLY", "FOO"}, {"RESET"}, {"PING"},
	} {
		c.sendStr(t, cmd...)
	}
	// RESET turns replies back on before it answers.
	for _, want := range []string{"+OK", `"1"`, `"2"`, `"after two skips"`, "+RESET", "+PONG"} {
		got, ok := c.readReply(t, 5*time.Second)
		if !ok || got != want {
			t.Fatalf("got %q (%v), want %q", got, ok, want)
		}
	}
	if got, ok := c.readReply(t, 100*time.Millisecond); ok {
		t.Fatalf("an extra reply: %s", got)
	}
}

func TestClientKill_ByFilters(t *testing.T) {
	ws := startServer(t, Config{})
	a, b, victim := dial(t, ws.addr), dial(t, ws.addr), dial(t, ws.addr)
	vid := strings.TrimPrefix(victim.must(t, "CLIENT", "ID"), ":")
	vaddr := victim.c.LocalAddr().String()
	if got := a.must(t, "CLIENT", "KILL", "ID", vid, "TYPE", "pubsub"); got != ":0" {
		t.Fatalf("kill with a type no client has: %s", got)
	}
	if got := a.must(t, "CLIENT", "KILL", "ADDR", vaddr, "ID", vid); got != ":1" {
		t.Fatalf("kill by addr and id: %s", got)
	}
	if _, err := victim.do("PING"); err == nil {
		t.Fatal("the killed client still answers")
	}
	// The old form kills by address and answers OK, or an error.
	baddr := b.c.LocalAddr().String()
	if got := a.must(t, "CLIENT", "KILL", baddr); got != "+OK" {
		t.Fatalf("old form: %s", got)
	}
	if got := a.must(t, "CLIENT", "KILL", baddr); got != "-ERR No such client" {
		t.Fatalf("old form again: %s", got)
	}
	// SKIPME yes (the default) spares the caller; SKIPME no kills it
	// after its reply.
	if got := a.must(t, "CLIENT", "KILL", "USER", "default"); got != ":0" {
		t.Fatalf("skipme: %s", got)
	}
	if got := a.must(t, "CLIENT", "KILL", "LADDR", ws.addr, "SKIPME", "no"); got != ":1" {
		t.Fatalf("kill self: %s", got)
	}
	if _, err := a.do("PING"); err == nil {
		t.Fatal("the client that killed itself still answers")
	}
	waitFor(t, func() bool { return ws.clientCount() == 0 })
}

func (s *Server) clientCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestClientPause_WriteHoldsWritesOnly(t *testing.T) {
	ws := startServer(t, Config{})
	admin, c := dial(t, ws.addr), dial(t, ws.addr)
	admin.must(t, "SET", "k", "old")
	if got := admin.must(t, "CLIENT", "PAUSE", "60000", "WRITE"); got != "+OK" {
		t.Fatal(got)
	}
	if got := c.must(t, "GET", "k"); got != `"old"` {
		t.Fatalf("read during WRITE pause: %s", got)
	}
	c.sendStr(t, "SET", "k", "new")
	if got, ok := c.readReply(t, 200*time.Millisecond); ok {
		t.Fatalf("a write answered during the pause: %s", got)
	}
	if got := admin.must(t, "GET", "k"); got != `"old"` {
		t.Fatalf("the paused write ran: %s", got)
	}
	if got := admin.must(t, "CLIENT", "UNPAUSE"); got != "+OK" {
		t.Fatal(got)
	}
	if got, ok := c.readReply(t, 5*time.Second); !ok || got != "+OK" {
		t.Fatalf("after UNPAUSE: %q %v", got, ok)
	}
	if got := admin.must(t, "GET", "k"); got != `"new"` {
		t.Fatalf("after UNPAUSE: %s", got)
	}
}

// A write that CLIENT PAUSE held reads the clock when it runs, not when it
// arrived: its relative TTL counts from then, as in Redis, whose paused
// clients are not in call() until the pause ends.
func TestClientPause_AHeldWriteTakesItsTTLFromWhenItRuns(t *testing.T) {
	ws := startServer(t, Config{})
	admin, c := dial(t, ws.addr), dial(t, ws.addr)
	if got := admin.must(t, "CLIENT", "PAUSE", "60000", "WRITE"); got != "+OK" {
		t.Fatal(got)
	}
	c.sendStr(t, "SET", "k", "v", "PX", "2000")
	// Held past its whole TTL: a clock read on arrival would have the key
	// expire before it is written.
	if got, ok := c.readReply(t, 2100*time.Millisecond); ok {
		t.Fatalf("a write answered during the pause: %s", got)
	}
	admin.must(t, "CLIENT", "UNPAUSE")
	if got, ok := c.readReply(t, 5*time.Second); !ok || got != "+OK" {
		t.Fatalf("after UNPAUSE: %q %v", got, ok)
	}
	if got := admin.must(t, "GET", "k"); got != `"v"` {
		t.Fatalf("GET right after the held SET PX 2000: %s", got)
	}
}

func TestClientPause_AllHoldsEverythingUntilTheTimeout(t *testing.T) {
	ws := startServer(t, Config{})
	admin, c := dial(t, ws.addr), dial(t, ws.addr)
	start := time.Now()
	if got := admin.must(t, "CLIENT", "PAUSE", "300"); got != "+OK" {
		t.Fatal(got)
	}
	c.sendStr(t, "GET", "k")
	if got, ok := c.readReply(t, 100*time.Millisecond); ok {
		t.Fatalf("a read answered during an ALL pause: %s", got)
	}
	if got, ok := c.readReply(t, 5*time.Second); !ok || got != "(nil)" {
		t.Fatalf("after the pause: %q %v", got, ok)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Fatalf("the pause ended after %v, before its 300ms", el)
	}
	// A shorter or weaker pause does not shorten a longer one.
	admin.must(t, "CLIENT", "PAUSE", "60000", "WRITE")
	admin.must(t, "CLIENT", "PAUSE", "1", "WRITE")
	time.Sleep(20 * time.Millisecond) // past the 1ms pause's end
	c.sendStr(t, "SET", "k", "v")
	if got, ok := c.readReply(t, 100*time.Millisecond); ok {
		t.Fatalf("write answered: %s", got)
	}
	admin.must(t, "CLIENT", "UNPAUSE")
	if got, ok := c.readReply(t, 5*time.Second); !ok || got != "+OK" {
		t.Fatalf("after UNPAUSE: %q %v", got, ok)
	}
}

// CLIENT PAUSE WRITE holds what may replicate as well as writes, as
// redis-server 7.0.15 does (each checked against it): EVAL, EVALSHA and
// FCALL, but for a script or function flagged no-writes, and PUBLISH,
// SPUBLISH and PFCOUNT; it does not hold EVAL_RO, FCALL_RO or SCRIPT LOAD.
// walkerd held none of the first six.
func TestClientPause_WriteHoldsWhatMayReplicate(t *testing.T) {
	ws := startServer(t, Config{})
	admin := dial(t, ws.addr)
	admin.must(t, "FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() return 1 end)\n"+
		"redis.register_function{function_name='g', callback=function() return 1 end, flags={'no-writes'}}")
	sha := strings.Trim(admin.must(t, "SCRIPT", "LOAD", "return 1"), `"`)
	held := [][]string{
		{"EVAL", "return 1", "0"}, {"EVALSHA", sha, "0"}, {"FCALL", "f", "0"},
		{"PUBLISH", "ch", "m"}, {"SPUBLISH", "ch", "m"}, {"PFCOUNT", "h"},
	}
	free := [][]string{
		{"EVAL_RO", "return 1", "0"}, {"EVAL", "#!lua flags=no-writes\nreturn 1", "0"}, {"FCALL", "g", "0"},
		{"FCALL_RO", "g", "0"}, {"SCRIPT", "LOAD", "return 2"},
	}
	for _, args := range held {
		admin.must(t, "CLIENT", "PAUSE", "60000", "WRITE")
		c := dial(t, ws.addr)
		c.sendStr(t, args...)
		if got, ok := c.readReply(t, 100*time.Millisecond); ok {
			t.Fatalf("%v answered during a WRITE pause: %s", args, got)
		}
		admin.must(t, "CLIENT", "UNPAUSE")
		if _, ok := c.readReply(t, 5*time.Second); !ok {
			t.Fatalf("%v: no reply after UNPAUSE", args)
		}
	}
	admin.must(t, "CLIENT", "PAUSE", "60000", "WRITE")
	for _, args := range free {
		c := dial(t, ws.addr)
		c.sendStr(t, args...)
		if _, ok := c.readReply(t, 5*time.Second); !ok {
			t.Fatalf("%v held by a WRITE pause", args)
		}
	}
	admin.must(t, "CLIENT", "UNPAUSE")
}

// The commands a pause held run, once it ends, in the order it held them,
// as Redis serves its postponed clients: ten clients' RPUSHes, each sent
// once the one before was held, came out in a random order every time
// (pauseState). A held blocking pop ends its turn once its first attempt
// is in, so it holds nobody while it waits; a client that left while held
// gives its turn up; a held client's pipeline runs in its turn, as Redis
// runs what an unblocked client has sent; and a command that arrives after the pause ended
// waits for the held ones (a script that runs a while, held first, keeps
// them all waiting).
func TestClientPause_HeldCommandsRunInTheOrderTheyWereHeld(t *testing.T) {
	ws := startServer(t, Config{})
	admin := dial(t, ws.addr)
	if got := admin.must(t, "CLIENT", "PAUSE", "60000", "WRITE"); got != "+OK" {
		t.Fatal(got)
	}
	issued := func() uint64 {
		ws.pause.mu.Lock()
		defer ws.pause.mu.Unlock()
		return ws.pause.issued
	}
	hold := func(c *conn, args ...string) {
		t.Helper()
		n := issued()
		c.sendStr(t, args...)
		deadline := time.Now().Add(5 * time.Second)
		for issued() == n {
			if time.Now().After(deadline) {
				t.Fatalf("%v was not held", args)
			}
			time.Sleep(time.Millisecond)
		}
	}
	// Held first, a script that runs a while: the others wait for it, and
	// so does the read sent after UNPAUSE.
	slow := dial(t, ws.addr)
	hold(slow, "EVAL", "local i = 0 while i < 2000000 do i = i + 1 end return 1", "0")
	const n = 10
	var cs []*conn
	for i := range n {
		c := dial(t, ws.addr)
		cs = append(cs, c)
		switch i {
		case 2:
			hold(c, "BLPOP", "q", "0")
		case 4: // leaves while held
			hold(c, "RPUSH", "k", "gone")
			c.c.Close()
			left := func() int {
				ws.pause.mu.Lock()
				defer ws.pause.mu.Unlock()
				return len(ws.pause.left)
			}
			for deadline := time.Now().Add(5 * time.Second); left() == 0; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the server never noticed a held client leave")
				}
			}
		case 6:
			hold(c, "LPUSH", "q", "x")
		case 8: // a pipeline: the rest of it runs in the held command's turn
			n := issued()
			pipe := append(encodeCommand([][]byte{[]byte("RPUSH"), []byte("k"), []byte("8a")}),
				encodeCommand([][]byte{[]byte("RPUSH"), []byte("k"), []byte("8b")})...)
			if _, err := c.c.Write(pipe); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(5 * time.Second); issued() == n; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the pipeline was not held")
				}
			}
		default:
			hold(c, "RPUSH", "k", strconv.Itoa(i))
		}
	}
	if got := admin.must(t, "CLIENT", "UNPAUSE"); got != "+OK" {
		t.Fatal(got)
	}
	// Sent once the pause is over: it waits for the held commands.
	late := dial(t, ws.addr)
	if got := late.must(t, "LRANGE", "k", "0", "-1"); got != `["0", "1", "3", "5", "7", "8a", "8b", "9"]` {
		t.Fatalf("a read right after UNPAUSE saw %s, want every held RPUSH, in the order they were held", got)
	}
	if got, ok := slow.readReply(t, 5*time.Second); !ok || got != ":1" {
		t.Fatalf("the script: %q %v", got, ok)
	}
	for i, c := range cs {
		want := ""
		switch i {
		case 2:
			want = `["q", "x"]`
		case 4:
			continue
		case 6:
			want = ":1"
		case 8:
			if got, ok := c.readReply(t, 5*time.Second); !ok || got != ":6" {
				t.Fatalf("client 8's first reply: %q %v, want :6", got, ok)
			}
			want = ":7"
		}
		got, ok := c.readReply(t, 5*time.Second)
		if !ok || (want != "" && got != want) {
			t.Fatalf("client %d: %q %v, want %q", i, got, ok, want)
		}
	}
	ws.pause.mu.Lock()
	defer ws.pause.mu.Unlock()
	if p := &ws.pause; p.served != p.issued || len(p.left) != 0 || p.out.Load() != 0 {
		t.Fatalf("tickets left: issued %d, served %d, left %v, out %d", p.issued, p.served, p.left, p.out.Load())
	}
}

// What a tester found in the turns after CLIENT PAUSE: a held client
// that does not read its replies held every other client's turn for the
// 30 s of writeStall; a held client whose pipeline paused the clients
// again ran the writes after that pause; a held client killed before the
// pause ended ran its command. Redis does none of these.
func TestClientPause_TurnsAfterThePauseHoldNobodyLong(t *testing.T) {
	ws := startServer(t, Config{})
	admin := dial(t, ws.addr)
	admin.must(t, "SET", "big", strings.Repeat("x", 1<<20))
	issued := func() uint64 {
		ws.pause.mu.Lock()
		defer ws.pause.mu.Unlock()
		return ws.pause.issued
	}
	held := func(n uint64) {
		t.Helper()
		waitFor(t, func() bool { return issued() > n })
	}

	// A client that does not read: its pipeline's 16 MiB of replies.
	admin.must(t, "CLIENT", "PAUSE", "60000", "WRITE")
	deaf, b := dial(t, ws.addr), dial(t, ws.addr)
	n := issued()
	pipe := encodeCommand([][]byte{[]byte("SET"), []byte("a"), []byte("1")})
	for range 16 {
		pipe = append(pipe, encodeCommand([][]byte{[]byte("GET"), []byte("big")})...)
	}
	if _, err := deaf.c.Write(pipe); err != nil {
		t.Fatal(err)
	}
	held(n)
	n = issued()
	b.sendStr(t, "RPUSH", "q", "b")
	held(n)
	admin.must(t, "CLIENT", "UNPAUSE")
	if got, ok := b.readReply(t, 5*time.Second); !ok || got != ":1" {
		t.Fatalf("the client held after one that does not read: %q %v", got, ok)
	}
	if got := dial(t, ws.addr).must(t, "GET", "a"); got != `"1"` {
		t.Fatalf("GET a after UNPAUSE: %s", got)
	}
	deaf.c.Close()

	// A held pipeline that pauses the clients again.
	admin.must(t, "CLIENT", "PAUSE", "60000", "WRITE")
	again := dial(t, ws.addr)
	n = issued()
	pipe = append(encodeCommand([][]byte{[]byte("RPUSH"), []byte("ord"), []byte("A1")}),
		encodeCommand([][]byte{[]byte("CLIENT"), []byte("PAUSE"), []byte("60000"), []byte("WRITE")})...)
	pipe = append(pipe, encodeCommand([][]byte{[]byte("RPUSH"), []byte("ord"), []byte("A2")})...)
	if _, err := again.c.Write(pipe); err != nil {
		t.Fatal(err)
	}
	held(n)
	n = issued()
	admin.must(t, "CLIENT", "UNPAUSE")
	held(n) // A2, held by the pipeline's own pause
	if got := admin.must(t, "LRANGE", "ord", "0", "-1"); got != `["A1"]` {
		t.Fatalf("during the pipeline's pause: %s", got)
	}
	// (The pipeline's first replies wait with A2: walkerd writes a
	// connection's replies between its commands, not while one is held.)
	admin.must(t, "CLIENT", "UNPAUSE")
	for _, want := range []string{":1", "+OK", ":2"} {
		if got, ok := again.readReply(t, 5*time.Second); !ok || got != want {
			t.Fatalf("the pipeline's replies: %q %v, want %q", got, ok, want)
		}
	}

	// A held client killed before the pause ends.
	admin.must(t, "CLIENT", "PAUSE", "60000", "WRITE")
	victim := dial(t, ws.addr)
	id := strings.TrimPrefix(victim.must(t, "CLIENT", "ID"), ":")
	n = issued()
	victim.sendStr(t, "SET", "killed", "ran")
	held(n)
	if got := admin.must(t, "CLIENT", "KILL", "ID", id); got != ":1" {
		t.Fatal(got)
	}
	admin.must(t, "CLIENT", "UNPAUSE")
	waitFor(t, func() bool { return !strings.Contains(admin.must(t, "CLIENT", "LIST"), "id="+id+" ") })
	if got := admin.must(t, "EXISTS", "killed"); got != ":0" {
		t.Fatalf("a held client killed before UNPAUSE ran its write: %s", got)
	}
}

func TestWait_StandaloneAnswersZero(t *testing.T) {
	ws := startServer(t, Config{})
	c := dial(t, ws.addr)
	c.must(t, "SET", "k", "v")
	if got := c.must(t, "WAIT", "0", "0"); got != ":0" {
		t.Fatal(got)
	}
	start := time.Now()
	if got := c.must(t, "WAIT", "1", "150"); got != ":0" {
		t.Fatal(got)
	}
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Fatalf("WAIT 1 150 answered after %v", el)
	}
	// WAIT 1 0 waits for ever: until the client goes (it is not
	// answered), and the server is not stuck meanwhile.
	c.sendStr(t, "WAIT", "1", "0")
	if got, ok := c.readReply(t, 200*time.Millisecond); ok {
		t.Fatalf("WAIT 1 0 answered: %s", got)
	}
	other := dial(t, ws.addr)
	if got := other.must(t, "PING"); got != "+PONG" {
		t.Fatal(got)
	}
	other.c.Close()
	c.c.Close()
	waitFor(t, func() bool { return ws.clientCount() == 0 })
}

func TestReset_ClearsTheConnection(t *testing.T) {
	ws := startServer(t, Config{})
	c := dial(t, ws.addr)
	for _, s := range []struct{ args, want string }{
		{"HELLO 3 SETNAME x", ""},
		{"SELECT 2", "+OK"},
		{"CLIENT REPLY SKIP", ""},
	} {
		if s.want == "" {
			c.sendStr(t, strings.Fields(s.args)...)
			if strings.HasPrefix(s.args, "HELLO") {
				c.readReply(t, 5*time.Second)
			}
			continue
		}
		if got := c.must(t, strings.Fields(s.args)...); got != s.want {
			t.Fatalf("%s: %s", s.args, got)
		}
	}
	c.sendStr(t, "RESET") // skipped by SKIP
	c.sendStr(t, "CLIENT", "INFO")
	got, ok := c.readReply(t, 5*time.Second)
	if !ok || !strings.Contains(got, " name= ") || !strings.Contains(got, " db=0 ") || !strings.Contains(got, " resp=2") {
		t.Fatalf("after RESET: %q", got)
	}
}

// redis-cli -3 prints the same on both servers: it negotiates RESP3 with
// HELLO 3 and shows maps, doubles, sets and nulls by their types.
func TestRedisCLI_RESP3MatchesRedis(t *testing.T) {
	cli := redisCLI(t)
	redisAddr := startRedis(t)
	s := startServer(t, Config{})
	cmds := [][]string{
		{"HSET", "h", "a", "1"},
		{"HGETALL", "h"},
		{"ZADD", "z", "1.5", "m", "2", "n"},
		{"ZSCORE", "z", "m"},
		{"ZRANGE", "z", "0", "-1", "WITHSCORES"},
		{"INCRBYFLOAT", "f", "0.5"},
		{"GET", "nope"},
		{"SADD", "s", "x"},
		{"SMEMBERS", "s"},
		{"CONFIG", "GET", "databases"},
		{"HRANDFIELD", "h", "1", "WITHVALUES"},
		{"XADD", "st", "1-1", "f", "v"},
		{"XRANGE", "st", "-", "+"},
		{"COMMAND", "INFO", "get"},
		{"WAIT", "0", "0"},
		{"RESET"},
	}
	for _, cmd := range cmds {
		var outs [2]string
		for i, addr := range []string{redisAddr, s.addr} {
			outs[i] = runTool(t, 10*time.Second, cli, append([]string{"-3", "--no-raw", "-p", portOf(t, addr)}, cmd...)...)
		}
		if outs[0] != outs[1] {
			t.Errorf("redis-cli -3 %v:\n redis:   %q\n walkerd: %q", cmd, outs[0], outs[1])
		}
	}
}

// A client blocked in BLPOP or held by CLIENT PAUSE can be killed: its
// connection goes and the server forgets it.
func TestClientKill_BlockedAndPausedClients(t *testing.T) {
	ws := startServer(t, Config{})
	admin, blocked, paused := dial(t, ws.addr), dial(t, ws.addr), dial(t, ws.addr)
	bid := strings.TrimPrefix(blocked.must(t, "CLIENT", "ID"), ":")
	pid := strings.TrimPrefix(paused.must(t, "CLIENT", "ID"), ":")
	blocked.sendStr(t, "BLPOP", "l", "0")
	waitFor(t, func() bool { return strings.Contains(admin.must(t, "CLIENT", "LIST"), "cmd=blpop") })
	admin.must(t, "CLIENT", "PAUSE", "60000", "WRITE")
	// MULTI queues a write only once the pause ends, as Redis.
	if got := paused.must(t, "MULTI"); got != "+OK" {
		t.Fatal(got)
	}
	paused.sendStr(t, "SET", "k", "v")
	if got, ok := paused.readReply(t, 100*time.Millisecond); ok {
		t.Fatalf("a write was queued during the pause: %s", got)
	}
	if got := admin.must(t, "CLIENT", "KILL", "ID", bid); got != ":1" {
		t.Fatal(got)
	}
	if got := admin.must(t, "CLIENT", "KILL", "ID", pid); got != ":1" {
		t.Fatal(got)
	}
	waitFor(t, func() bool { return ws.clientCount() == 1 })
	admin.must(t, "CLIENT", "UNPAUSE")
	if got := admin.must(t, "EXISTS", "k"); got != ":0" {
		t.Fatalf("the killed client's write ran: %s", got)
	}
}

// A client that CLIENT KILL closes while the server writes it replies it
// does not read is the server's doing, not a client that stalls: no
// "closing a client that does not take its replies" WARN (it was logged,
// with "use of closed network connection").
func TestClientKill_AKilledClientIsNotLoggedAsStalled(t *testing.T) {
	logs := &lockedBuffer{}
	ws := startServer(t, Config{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	admin, slow := dial(t, ws.addr), dial(t, ws.addr)
	admin.must(t, "SET", "big", strings.Repeat("x", 8<<20))
	id := strings.TrimPrefix(slow.must(t, "CLIENT", "ID"), ":")
	for range 4 { // 32 MiB of replies, never read: the write waits
		slow.sendStr(t, "GET", "big")
	}
	waitFor(t, func() bool { return strings.Contains(admin.must(t, "CLIENT", "LIST", "ID", id), "cmd=get") })
	if got := admin.must(t, "CLIENT", "KILL", "ID", id); got != ":1" {
		t.Fatal(got)
	}
	waitFor(t, func() bool { return ws.clientCount() == 1 })
	if strings.Contains(logs.String(), "does not take its replies") {
		t.Fatalf("a killed client was logged as one that stalls:\n%s", logs.String())
	}
}

// lockedBuffer is a bytes.Buffer a logger and a test may use at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A follower's forwarding link to the leader is spared by CLIENT KILL
// unless it is named, as Redis spares replica links from CLIENT KILL
// TYPE normal: killing "every client" on the leader must not cut the
// followers' writes off.
func TestClientKill_SparesNodeLinks(t *testing.T) {
	leader := startServer(t, Config{Links: &nodelink.Config{}})
	// walkerd's own forwarder: one pooled connection the leader sees as
	// a client for the whole test.
	pool := forward.New(forward.Options{ConnsPerAddr: 1})
	t.Cleanup(func() { pool.Close() })
	follow := startServerOn(t, newFollower(t, leader.addr), Config{Forwarder: pool})
	lc, fc := dial(t, leader.addr), dial(t, follow.addr)
	if got := fc.must(t, "SET", "k", "1"); got != "+OK" {
		t.Fatalf("SET through the follower: %s", got)
	}
	for _, args := range [][]string{{"CLIENT", "KILL", "USER", "default"}, {"CLIENT", "KILL", "TYPE", "normal"}} {
		if got := lc.must(t, args...); got != ":0" {
			t.Fatalf("%q on the leader = %s, want :0 (the link spared)", args, got)
		}
		if got := fc.must(t, "INCR", "n"); !strings.HasPrefix(got, ":") {
			t.Fatalf("a write through the follower after %q: %s", args, got)
		}
	}
	if got := lc.must(t, "CLIENT", "KILL", "TYPE", "replica"); got != ":1" {
		t.Fatalf("CLIENT KILL TYPE replica = %s, want :1 (the link)", got)
	}
}

// A subscribed client is of type pubsub, as networking.c's getClientType
// says: CLIENT LIST TYPE pubsub lists it and CLIENT KILL TYPE pubsub kills
// it; TYPE master matches nobody.
func TestClientType_Pubsub(t *testing.T) {
	ws := startServer(t, Config{})
	a, sub := dial(t, ws.addr), dial(t, ws.addr)
	sid := strings.TrimPrefix(sub.must(t, "CLIENT", "ID"), ":")
	if got := sub.must(t, "SUBSCRIBE", "ch"); got != `["subscribe", "ch", :1]` {
		t.Fatalf("SUBSCRIBE: %s", got)
	}
	if got := a.must(t, "CLIENT", "LIST", "TYPE", "pubsub"); !strings.Contains(got, "id="+sid+" ") || strings.Count(got, "id=") != 1 {
		t.Fatalf("CLIENT LIST TYPE pubsub: %s", got)
	}
	if got := a.must(t, "CLIENT", "LIST", "TYPE", "normal"); strings.Contains(got, "id="+sid+" ") {
		t.Fatalf("CLIENT LIST TYPE normal lists the subscriber: %s", got)
	}
	if got := a.must(t, "CLIENT", "KILL", "TYPE", "master"); got != ":0" {
		t.Fatalf("CLIENT KILL TYPE master: %s", got)
	}
	if got := a.must(t, "CLIENT", "KILL", "TYPE", "pubsub"); got != ":1" {
		t.Fatalf("CLIENT KILL TYPE pubsub: %s", got)
	}
}
