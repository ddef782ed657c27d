package server

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
)

// trkConn is a raw RESP connection whose frames (replies and pushes) are
// read one at a time and compared as bytes.
type trkConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func trkDial(t *testing.T, addr string, proto int) *trkConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	tc := &trkConn{t: t, c: c, r: bufio.NewReader(c)}
	if proto == 3 {
		if f := tc.do("HELLO", "3"); !strings.HasPrefix(f, "%7\r\n") {
			t.Fatalf("HELLO 3: %q", f)
		}
	}
	return tc
}

func (tc *trkConn) send(args ...string) {
	tc.t.Helper()
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	if _, err := tc.c.Write(encodeCommand(bs)); err != nil {
		tc.t.Fatal(err)
	}
}

// next reads the next frame, waiting up to 5s.
func (tc *trkConn) next() string {
	tc.t.Helper()
	tc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	raw, err := resp.ReadRaw(tc.r)
	if err != nil {
		tc.t.Fatalf("read: %v", err)
	}
	return string(raw)
}

func (tc *trkConn) do(args ...string) string {
	tc.t.Helper()
	tc.send(args...)
	return tc.next()
}

// expect reads frames and compares them with want, in order.
func (tc *trkConn) expect(want ...string) {
	tc.t.Helper()
	for _, w := range want {
		if got := tc.next(); got != w {
			tc.t.Fatalf("frame:\n got  %q\n want %q", got, w)
		}
	}
}

// quiet checks that nothing was pushed before: the next frame is PING's
// reply. Pushes queued earlier (the writes they come from have been
// answered) would come first.
func (tc *trkConn) quiet() {
	tc.t.Helper()
	if got := tc.do("PING"); got != "+PONG\r\n" {
		tc.t.Fatalf("expected no push, got %q", got)
	}
}

func (tc *trkConn) id() string {
	tc.t.Helper()
	f := tc.do("CLIENT", "ID")
	return strings.TrimSuffix(strings.TrimPrefix(f, ":"), "\r\n")
}

// inv is a RESP3 invalidation push of keys.
func inv(keys ...string) string {
	b := resp.AppendPush(nil, 2, 3)
	b = resp.AppendBulkString(b, "invalidate")
	b = resp.AppendArray(b, len(keys))
	for _, k := range keys {
		b = resp.AppendBulkString(b, k)
	}
	return string(b)
}

const invNull = ">2\r\n$10\r\ninvalidate\r\n_\r\n"

// invMsg is a RESP2 __redis__:invalidate message of keys.
func invMsg(keys ...string) string {
	b := resp.AppendArray(nil, 3)
	b = resp.AppendBulkString(b, "message")
	b = resp.AppendBulkString(b, "__redis__:invalidate")
	b = resp.AppendArray(b, len(keys))
	for _, k := range keys {
		b = resp.AppendBulkString(b, k)
	}
	return string(b)
}

func infoField(t *testing.T, c *trkConn, section, field string) string {
	t.Helper()
	v, _, err := resp.Parse([]byte(c.do("INFO", section)))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(v.Str), "\r\n") {
		if k, val, ok := strings.Cut(l, ":"); ok && k == field {
			return val
		}
	}
	t.Fatalf("INFO %s has no %s", section, field)
	return ""
}

// Default mode in RESP3: a key read is invalidated once by the next write
// from anyone (other clients, a MSET of several keys, the client's own
// write, after its reply), then forgotten; FLUSHALL invalidates everything
// with a null.
func TestTracking_DefaultModeRESP3(t *testing.T) {
	s := startServer(t, Config{})
	a, b := trkDial(t, s.addr, 3), trkDial(t, s.addr, 2)
	a.expect()
	if got := a.do("CLIENT", "TRACKING", "on"); got != "+OK\r\n" {
		t.Fatal(got)
	}
	a.do("GET", "k")
	b.do("SET", "k", "1")
	a.expect(inv("k"))
	a.quiet()
	b.do("SET", "k", "2") // forgotten after the first invalidation
	a.quiet()

	a.do("GET", "k")
	b.do("MSET", "k", "3", "other", "x")
	a.expect(inv("k"))
	a.quiet()

	// The client's own write: the invalidation follows the reply.
	a.do("MGET", "k", "k2")
	a.send("SET", "k2", "v")
	a.expect("+OK\r\n", inv("k2"))
	a.quiet()

	// Other data types and commands with several keys.
	a.do("HGET", "h", "f")
	a.do("SMEMBERS", "s")
	b.do("HSET", "h", "f", "v")
	b.do("SADD", "s", "m")
	a.expect(inv("h"), inv("s"))

	a.do("GET", "k")
	b.do("FLUSHALL")
	a.expect(invNull)
	a.quiet()
	b.do("SET", "k", "after flush") // the table was emptied
	a.quiet()
	if got := infoField(t, a, "stats", "tracking_total_keys"); got != "0" {
		t.Errorf("tracking_total_keys %s after invalidations", got)
	}
}

// A key read in one database is invalidated by writes in any (the table
// is shared, as Redis's), and by expiry: the sweeper's delete.
func TestTracking_ExpiryAndDatabases(t *testing.T) {
	s := startServer(t, Config{SweepInterval: 10 * time.Millisecond})
	a, b := trkDial(t, s.addr, 3), trkDial(t, s.addr, 2)
	a.do("CLIENT", "TRACKING", "on")
	a.do("GET", "k")
	b.do("SELECT", "3")
	b.do("SET", "k", "v")
	a.expect(inv("k"))

	b.do("SELECT", "0")
	b.do("SET", "e", "v", "PX", "30")
	a.do("GET", "e") // whatever it answers, the key is tracked now
	a.expect(inv("e"))
}

// NOLOOP: no invalidation for the client's own writes; others' writes
// still invalidate. The key is forgotten either way.
func TestTracking_NoloopSkipsOwnWrites(t *testing.T) {
	s := startServer(t, Config{})
	a, b := trkDial(t, s.addr, 3), trkDial(t, s.addr, 2)
	a.do("CLIENT", "TRACKING", "on", "NOLOOP")
	a.do("GET", "k")
	a.send("SET", "k", "mine")
	a.expect("+OK\r\n")
	a.quiet()
	b.do("SET", "k", "theirs") // forgotten by the client's own write
	a.quiet()
	a.do("GET", "k")
	b.do("SET", "k", "theirs again")
	a.expect(inv("k"))

	// MULTI/EXEC writes are the client's own too.
	a.do("GET", "m")
	a.do("MULTI")
	a.do("SET", "m", "1")
	a.do("GET", "m")
	a.expect()
	if got := a.do("EXEC"); got != "*2\r\n+OK\r\n$1\r\n1\r\n" {
		t.Fatal(got)
	}
	a.quiet()
}

// OPTIN tracks only the command after CLIENT CACHING YES (CLIENT
// subcommands in between keep it); OPTOUT tracks all but the command
// after CLIENT CACHING NO.
func TestTracking_OptinOptout(t *testing.T) {
	s := startServer(t, Config{})
	a, b := trkDial(t, s.addr, 3), trkDial(t, s.addr, 2)
	a.do("CLIENT", "TRACKING", "on", "OPTIN")
	a.do("GET", "a")
	a.do("CLIENT", "CACHING", "yes")
	a.do("CLIENT", "ID")
	a.do("GET", "b")
	a.do("GET", "c")
	b.do("MSET", "a", "1", "b", "2", "c", "3")
	a.expect(inv("b"))
	a.quiet()

	// In a transaction, CACHING YES before MULTI covers its reads.
	a.do("CLIENT", "CACHING", "yes")
	a.do("MULTI")
	a.do("GET", "m1")
	a.do("GET", "m2")
	a.do("EXEC")
	a.do("GET", "m3")
	b.do("MSET", "m1", "1", "m2", "2", "m3", "3")
	a.expect(inv("m1"), inv("m2"))
	a.quiet()

	a.do("CLIENT", "TRACKING", "off")
	a.do("CLIENT", "TRACKING", "on", "OPTOUT")
	a.do("GET", "o1")
	a.do("CLIENT", "CACHING", "no")
	a.do("GET", "o2")
	a.do("GET", "o3")
	b.do("MSET", "o1", "1", "o2", "2", "o3", "3")
	a.expect(inv("o1"), inv("o3"))
	a.quiet()
}

// BCAST: every key under a prefix, read or not, one message per prefix
// per write (prefixes and keys in byte order); NOLOOP drops the client's
// own; FLUSHALL sends the null.
func TestTracking_Bcast(t *testing.T) {
	s := startServer(t, Config{})
	a, b := trkDial(t, s.addr, 3), trkDial(t, s.addr, 2)
	if got := a.do("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:", "PREFIX", "obj:"); got != "+OK\r\n" {
		t.Fatal(got)
	}
	if got := a.do("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "us"); !strings.HasPrefix(got, "-ERR Prefix 'us' overlaps with an existing prefix 'user:'.") {
		t.Fatal(got)
	}
	b.do("MSET", "user:2", "x", "obj:1", "y", "other", "z", "user:1", "w")
	a.expect(inv("obj:1"), inv("user:1", "user:2"))
	a.quiet()
	a.do("GET", "user:9") // BCAST reads are not tracked
	b.do("SET", "nothing", "1")
	a.quiet()
	b.do("FLUSHALL")
	a.expect(invNull)
	if got := infoField(t, a, "stats", "tracking_total_prefixes"); got != "2" {
		t.Errorf("tracking_total_prefixes %s, want 2", got)
	}

	a.do("CLIENT", "TRACKING", "off")
	a.do("CLIENT", "TRACKING", "on", "BCAST", "NOLOOP")
	a.send("SET", "mine", "1")
	a.expect("+OK\r\n")
	a.quiet()
	b.do("SET", "theirs", "1")
	a.expect(inv("theirs"))
	if got := a.do("CLIENT", "INFO"); !strings.Contains(got, " flags=tB ") || !strings.Contains(got, " redir=0 ") {
		t.Errorf("CLIENT INFO: %q", got)
	}
}

// RESP2 with REDIRECT: the invalidations go to the redirect client as
// messages on __redis__:invalidate when it is subscribed (a null for a
// flush), and nowhere when it is not.
func TestTracking_RESP2Redirect(t *testing.T) {
	s := startServer(t, Config{})
	a, sub, w := trkDial(t, s.addr, 2), trkDial(t, s.addr, 2), trkDial(t, s.addr, 2)
	subID := sub.id()
	sub.do("SUBSCRIBE", "__redis__:invalidate")
	if got := a.do("CLIENT", "TRACKING", "on", "REDIRECT", subID); got != "+OK\r\n" {
		t.Fatal(got)
	}
	if got := a.do("CLIENT", "GETREDIR"); got != ":"+subID+"\r\n" {
		t.Fatal(got)
	}
	a.do("GET", "k")
	w.do("SET", "k", "v")
	sub.expect(invMsg("k"))
	a.do("GET", "k")
	w.do("FLUSHDB")
	sub.expect("*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n")
	if got := a.do("CLIENT", "LIST", "ID", a.id()); !strings.Contains(got, " flags=t ") || !strings.Contains(got, " redir="+subID+" ") {
		t.Errorf("CLIENT LIST: %q", got)
	}

	// A RESP2 redirect target not in pub/sub mode gets nothing.
	plain := trkDial(t, s.addr, 2)
	a.do("CLIENT", "TRACKING", "on", "REDIRECT", plain.id())
	a.do("GET", "p")
	w.do("SET", "p", "v")
	if got := plain.do("PING"); got != "+PONG\r\n" {
		t.Fatalf("plain redirect target got %q", got)
	}
	if got := a.do("CLIENT", "TRACKING", "on", "REDIRECT", subID, "REDIRECT", subID); got != "-ERR A client can only redirect to a single other client\r\n" {
		t.Fatal(got)
	}
}

// The redirect client gone: the RESP3 tracking client is told with a
// tracking-redir-broken push at each invalidation, and TRACKINGINFO and
// CLIENT LIST show it. A RESP3 redirect target gets pushes.
func TestTracking_RedirectBroken(t *testing.T) {
	s := startServer(t, Config{})
	a, w := trkDial(t, s.addr, 3), trkDial(t, s.addr, 2)
	r3 := trkDial(t, s.addr, 3)
	r3.do("SUBSCRIBE", "x") // gives it a pusher: see the README's differences
	r3.expect()
	a.do("CLIENT", "TRACKING", "on", "REDIRECT", r3.id())
	a.do("GET", "k")
	w.do("SET", "k", "1")
	r3.expect(inv("k"))

	target := trkDial(t, s.addr, 2)
	tid := target.id()
	a.do("CLIENT", "TRACKING", "on", "REDIRECT", tid)
	a.do("GET", "k")
	target.c.Close()
	waitFor(t, func() bool { return !strings.Contains(w.do("CLIENT", "LIST"), "id="+tid+" ") })
	w.do("SET", "k", "2")
	a.expect(">2\r\n$21\r\ntracking-redir-broken\r\n:" + tid + "\r\n")
	got := a.do("CLIENT", "TRACKINGINFO")
	want := "%3\r\n$5\r\nflags\r\n~2\r\n$2\r\non\r\n$15\r\nbroken_redirect\r\n$8\r\nredirect\r\n:" + tid + "\r\n$8\r\nprefixes\r\n*0\r\n"
	if got != want {
		t.Errorf("TRACKINGINFO:\n got  %q\n want %q", got, want)
	}
	if got := a.do("CLIENT", "INFO"); !strings.Contains(got, " flags=tR ") {
		t.Errorf("CLIENT INFO: %q", got)
	}
}

// RESET and disconnection turn tracking off and free the client's
// entries; INFO counts the tracking clients, keys and items.
func TestTracking_ResetAndDisconnectFree(t *testing.T) {
	s := startServer(t, Config{})
	a, b, w := trkDial(t, s.addr, 3), trkDial(t, s.addr, 3), trkDial(t, s.addr, 2)
	a.do("CLIENT", "TRACKING", "on")
	b.do("CLIENT", "TRACKING", "on")
	a.do("MGET", "k1", "k2")
	b.do("GET", "k1")
	if got := infoField(t, w, "clients", "tracking_clients"); got != "2" {
		t.Fatalf("tracking_clients %s", got)
	}
	if k, i := infoField(t, w, "stats", "tracking_total_keys"), infoField(t, w, "stats", "tracking_total_items"); k != "2" || i != "3" {
		t.Fatalf("keys %s items %s, want 2 3", k, i)
	}
	if got := a.do("RESET"); got != "+RESET\r\n" {
		t.Fatal(got)
	}
	if got := a.do("CLIENT", "GETREDIR"); got != ":-1\r\n" {
		t.Fatal(got)
	}
	if k, i := infoField(t, w, "stats", "tracking_total_keys"), infoField(t, w, "stats", "tracking_total_items"); k != "1" || i != "1" {
		t.Fatalf("after RESET: keys %s items %s, want 1 1", k, i)
	}
	b.c.Close()
	waitFor(t, func() bool { return infoField(t, w, "clients", "tracking_clients") == "0" })
	if got := infoField(t, w, "stats", "tracking_total_keys"); got != "0" {
		t.Fatalf("after disconnect: keys %s", got)
	}
	w.do("SET", "k1", "v") // nobody to tell, nothing breaks
	a.quiet()
}

// tracking-table-max-keys bounds the table: past it, keys are evicted
// with an invalidation to their clients.
func TestTracking_MaxKeysEvicts(t *testing.T) {
	s := startServer(t, Config{})
	a, w := trkDial(t, s.addr, 3), trkDial(t, s.addr, 2)
	if got := w.do("CONFIG", "SET", "tracking-table-max-keys", "2"); got != "+OK\r\n" {
		t.Fatal(got)
	}
	a.do("CLIENT", "TRACKING", "on")
	a.do("GET", "k1")
	a.do("GET", "k2")
	a.quiet()
	a.send("GET", "k3")
	a.expect("_\r\n")
	evicted := a.next()
	if evicted != inv("k1") && evicted != inv("k2") && evicted != inv("k3") {
		t.Fatalf("eviction push %q", evicted)
	}
	if got := infoField(t, w, "stats", "tracking_total_keys"); got != "2" {
		t.Fatalf("tracking_total_keys %s, want 2", got)
	}
	// Lowering the bound evicts at once.
	w.do("CONFIG", "SET", "tracking-table-max-keys", "1")
	a.next()
	if got := infoField(t, w, "stats", "tracking_total_keys"); got != "1" {
		t.Fatalf("tracking_total_keys %s, want 1", got)
	}
	if got := w.do("CONFIG", "GET", "tracking-table-max-keys"); got != "*2\r\n$23\r\ntracking-table-max-keys\r\n$1\r\n1\r\n" {
		t.Fatal(got)
	}
}

// Many readers and writers at once (run with -race): every tracked key
// read before a write is invalidated after it.
func TestTracking_ConcurrentWritersInvalidate(t *testing.T) {
	s := startServer(t, Config{})
	a := trkDial(t, s.addr, 3)
	a.do("CLIENT", "TRACKING", "on")
	const n = 50
	for i := range n {
		a.do("GET", "c"+strconv.Itoa(i))
	}
	done := make(chan struct{})
	for g := range 5 {
		go func() {
			defer func() { done <- struct{}{} }()
			w, err := net.Dial("tcp", s.addr)
			if err != nil {
				return
			}
			defer w.Close()
			r := bufio.NewReader(w)
			for i := g; i < n; i += 5 {
				w.Write(encodeCommand([][]byte{[]byte("SET"), []byte("c" + strconv.Itoa(i)), []byte("v")}))
				resp.ReadRaw(r)
			}
		}()
	}
	for range 5 {
		<-done
	}
	seen := map[string]bool{}
	for range n {
		f := a.next()
		v, _, err := resp.Parse([]byte(f))
		if err != nil || v.Kind != resp.KindPush || len(v.Elems) != 2 || len(v.Elems[1].Elems) != 1 {
			t.Fatalf("push %q", f)
		}
		seen[string(v.Elems[1].Elems[0].Str)] = true
	}
	if len(seen) != n {
		t.Fatalf("%d keys invalidated, want %d", len(seen), n)
	}
	a.quiet()
}

// A client blocked in BLPOP gets the invalidations of others' writes while
// it waits, as Redis's blocked clients do.
func TestTracking_BlockedClientGetsInvalidations(t *testing.T) {
	s := startServer(t, Config{})
	a, b := trkDial(t, s.addr, 3), trkDial(t, s.addr, 2)
	a.do("CLIENT", "TRACKING", "on")
	a.do("GET", "k")
	a.send("BLPOP", "list", "0")
	waitFor(t, func() bool { return infoField(t, b, "clients", "blocked_clients") == "1" })
	b.do("SET", "k", "v")
	a.expect(inv("k"))
	b.do("RPUSH", "list", "x")
	a.expect("*2\r\n$4\r\nlist\r\n$1\r\nx\r\n")
	a.quiet()
}
