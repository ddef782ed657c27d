package server

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/walkerd/nodelink"
)

// talk writes in to addr (from its own goroutine, ignoring a write the
// server cuts short) and reads until the server closes the connection or
// quiet passes. closed is whether the server closed it.
func talk(t *testing.T, addr string, in []byte, quiet time.Duration) (out []byte, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go c.Write(in)
	c.SetReadDeadline(time.Now().Add(quiet))
	out, err = io.ReadAll(c)
	var ne net.Error
	return out, err == nil || !(errors.As(err, &ne) && ne.Timeout())
}

// bigSet is a SET of key to a value of n bytes, as one RESP command.
func bigSet(key string, n int) []byte {
	return encodeCommand([][]byte{[]byte("SET"), []byte(key), bytes.Repeat([]byte("v"), n)})
}

// limitsRedis is a real redis-server's address for a comparison,
// or "" (the comparison is skipped) when none is installed.
func limitsRedis(t *testing.T) string {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Log("redis-server is not on PATH: no comparison with it")
		return ""
	}
	return startRedis(t)
}

// CONFIG GET and CONFIG SET of the limits answer as redis-server 7.0.15:
// the defaults, the formats, every error text, and the values after each
// SET (a partial client-output-buffer-limit changes only the classes it
// names; soft seconds wrap as C's int).
func TestLimits_ConfigMatchesRedis(t *testing.T) {
	ws := startServer(t, Config{})
	defaults := map[string]string{
		"proto-max-bulk-len":         "536870912",
		"client-query-buffer-limit":  "1073741824",
		"client-output-buffer-limit": "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
		"protected-mode":             "yes",
		"maxclients":                 "10000",
		"timeout":                    "0",
	}
	w := dial(t, ws.addr)
	for name, want := range defaults {
		if got := w.must(t, "CONFIG", "GET", name); got != `["`+name+`", "`+want+`"]` {
			t.Errorf("CONFIG GET %s = %s, want %s", name, got, want)
		}
	}
	sets := [][2]string{
		{"client-output-buffer-limit", "foo"},
		{"client-output-buffer-limit", "foo 0 0 0"},
		{"client-output-buffer-limit", "normal -1 0 0"},
		{"client-output-buffer-limit", "normal 1mb 2mb x"},
		{"client-output-buffer-limit", "normal 0 0 -1"},
		{"client-output-buffer-limit", "normal  0 0 0"},
		{"client-output-buffer-limit", "master 0 0 0"},
		{"client-output-buffer-limit", "normal 1.5mb 0 0"},
		{"client-output-buffer-limit", "normal 0 0 0 pubsub 1 1"},
		{"client-output-buffer-limit", "NORMAL 1k 2kb 3"},
		{"client-output-buffer-limit", "replica 1 2 3"},
		{"client-output-buffer-limit", "pubsub 0 0 "},
		{"client-output-buffer-limit", ""},
		{"client-output-buffer-limit", "normal 0 0 +5"},
		{"client-output-buffer-limit", "normal 99999999999999999999 0 99999999999"},
		{"client-output-buffer-limit", "slave 256mb 64mb 60 pubsub 32mb 8mb 60 normal 0 0 0"},
		{"proto-max-bulk-len", "1048575"},
		{"proto-max-bulk-len", "abc"},
		{"proto-max-bulk-len", "-1"},
		{"proto-max-bulk-len", "0"},
		{"proto-max-bulk-len", "100000000000000000000"},
		{"proto-max-bulk-len", "2gb"},
		{"proto-max-bulk-len", "512mb"},
		{"client-query-buffer-limit", "1048575"},
		{"client-query-buffer-limit", "1 mb"},
		{"client-query-buffer-limit", "1mb"},
		{"client-query-buffer-limit", "1gb"},
		{"protected-mode", "maybe"},
		{"protected-mode", "1"},
		{"protected-mode", ""},
		{"protected-mode", "YES"},
		{"maxclients", "0"},
		{"timeout", "-1"},
	}
	var redisLog []string
	if ra := limitsRedis(t); ra != "" {
		r := dial(t, ra)
		for name, want := range defaults {
			if got := r.must(t, "CONFIG", "GET", name); got != `["`+name+`", "`+want+`"]` {
				t.Errorf("redis-server: CONFIG GET %s = %s, want %s", name, got, want)
			}
		}
		for _, kv := range sets {
			redisLog = append(redisLog, r.must(t, "CONFIG", "SET", kv[0], kv[1]), r.must(t, "CONFIG", "GET", kv[0]))
		}
	}
	for i, kv := range sets {
		set, get := w.must(t, "CONFIG", "SET", kv[0], kv[1]), w.must(t, "CONFIG", "GET", kv[0])
		if redisLog == nil {
			continue
		}
		if set != redisLog[2*i] || get != redisLog[2*i+1] {
			t.Errorf("CONFIG SET %s %q:\nwalkerd %s then %s\nredis   %s then %s", kv[0], kv[1], set, get, redisLog[2*i], redisLog[2*i+1])
		}
	}
	if redisLog == nil { // at least the values walkerd kept
		if got := w.must(t, "CONFIG", "GET", "client-output-buffer-limit"); got != `["client-output-buffer-limit", "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"]` {
			t.Errorf("after the SETs: %s", got)
		}
	}
	// A config file line takes the classes as separate arguments.
	if !IsMultiArgConfig("client-output-buffer-limit") || CheckConfig("client-output-buffer-limit", "pubsub 64mb 16mb 90") != nil {
		t.Error("client-output-buffer-limit is not a valid multi-argument directive")
	}
}

// proto-max-bulk-len set at run time: a longer bulk is refused with
// Redis's error and the connection closed, on walkerd as on redis-server;
// a bulk of the limit itself passes.
func TestLimits_ProtoMaxBulkLen(t *testing.T) {
	ws := startServer(t, Config{})
	addrs := map[string]string{"walkerd": ws.addr}
	if ra := limitsRedis(t); ra != "" {
		addrs["redis"] = ra
	}
	for who, addr := range addrs {
		dial(t, addr).must(t, "CONFIG", "SET", "proto-max-bulk-len", "1mb")
		out, closed := talk(t, addr, []byte("*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n"), 5*time.Second)
		if string(out) != "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n" || !closed {
			t.Errorf("%s: over proto-max-bulk-len: %q, closed %v", who, out, closed)
		}
		c := dial(t, addr)
		if got, err := c.doBytes([]byte("SET"), []byte("k"), bytes.Repeat([]byte("x"), 1<<20)); err != nil || format(got) != "+OK" {
			t.Errorf("%s: a bulk of 1mb: %s %v", who, format(got), err)
		}
		c.must(t, "CONFIG", "SET", "proto-max-bulk-len", "2mb")
		if got, err := c.doBytes([]byte("SET"), []byte("k"), bytes.Repeat([]byte("x"), 1<<20+1)); err != nil || format(got) != "+OK" {
			t.Errorf("%s: after raising the limit: %s %v", who, format(got), err)
		}
	}
}

// client-query-buffer-limit set at run time: a command over it closes the
// connection without a reply, on walkerd as on redis-server; one under it
// runs.
func TestLimits_QueryBufferLimitClosesTheClient(t *testing.T) {
	ws := startServer(t, Config{})
	addrs := map[string]string{"walkerd": ws.addr}
	if ra := limitsRedis(t); ra != "" {
		addrs["redis"] = ra
	}
	for who, addr := range addrs {
		admin := dial(t, addr)
		admin.must(t, "CONFIG", "SET", "client-query-buffer-limit", "1mb")
		out, closed := talk(t, addr, bigSet("q", 2<<20), 10*time.Second)
		if len(out) != 0 || !closed {
			t.Errorf("%s: a 2 MB command under a 1 MB query buffer limit: %q, closed %v", who, out, closed)
		}
		if got := admin.must(t, "EXISTS", "q"); got != ":0" {
			t.Errorf("%s: the refused SET ran: EXISTS = %s", who, got)
		}
		out, _ = talk(t, addr, append(bigSet("q", 512<<10), "*1\r\n$4\r\nQUIT\r\n"...), 10*time.Second)
		if string(out) != "+OK\r\n+OK\r\n" {
			t.Errorf("%s: a 512 KB command: %q", who, out)
		}
		// The limit is on the bytes not yet parsed, which Redis holds one
		// large argument at a time: two arguments of 700 KB pass it.
		v := bytes.Repeat([]byte("w"), 700<<10)
		mset := encodeCommand([][]byte{[]byte("MSET"), []byte("q1"), v, []byte("q2"), v})
		out, _ = talk(t, addr, append(mset, "*1\r\n$4\r\nQUIT\r\n"...), 10*time.Second)
		if string(out) != "+OK\r\n+OK\r\n" {
			t.Errorf("%s: MSET of two 700 KB values under a 1 MB query buffer limit: %q", who, out)
		}
	}
}

// rawConn is a connection read by hand: the test decides when it reads.
func rawConn(t *testing.T, addr string) net.Conn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// connectedClients is INFO's connected_clients.
func connectedClients(t *testing.T, c *conn) int {
	info := c.must(t, "INFO", "clients")
	_, rest, _ := strings.Cut(info, "connected_clients:")
	n, _ := strconv.Atoi(rest[:strings.IndexAny(rest, "\\\r")])
	return n
}

// A normal client's reply that reaches the hard limit closes it, its
// reply dropped, whether it reads or not (as Redis, which checks the
// limit as it buffers the reply); with the limit off the same reply comes.
func TestLimits_OutputHardLimitClosesNormalClient(t *testing.T) {
	ws := startServer(t, Config{})
	addrs := map[string]string{"walkerd": ws.addr}
	if ra := limitsRedis(t); ra != "" {
		addrs["redis"] = ra
	}
	for who, addr := range addrs {
		admin := dial(t, addr)
		admin.c.SetDeadline(time.Now().Add(10 * time.Second))
		admin.c.Write(bigSet("big", 2<<20))
		if v, err := readValue(admin); err != nil || format(v) != "+OK" {
			t.Fatalf("%s: SET big: %s %v", who, format(v), err)
		}
		admin.must(t, "CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0")
		get := []byte("*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n*1\r\n$4\r\nPING\r\n")
		out, closed := talk(t, addr, get, 10*time.Second)
		if !closed || bytes.Contains(out, []byte("vvvv")) || strings.Count(string(out), "+PONG") > 1 {
			t.Errorf("%s: a 2 MB reply over a 1 MB hard limit: %d bytes (%q...), closed %v", who, len(out), out[:min(len(out), 40)], closed)
		}
		admin.must(t, "CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0")
		out, _ = talk(t, addr, append(get, "*1\r\n$4\r\nQUIT\r\n"...), 10*time.Second)
		if want := "+PONG\r\n$2097152\r\n" + strings.Repeat("v", 2<<20) + "\r\n+PONG\r\n+OK\r\n"; string(out) != want {
			t.Errorf("%s: with no limit: %d bytes, want %d", who, len(out), len(want))
		}
	}
}

// A normal client that pipelines large replies and reads none is closed
// once its pending output has stayed over the soft limit for the soft
// seconds; one that reads them keeps its connection and gets them all.
func TestLimits_OutputSoftLimitClosesClientThatDoesNotRead(t *testing.T) {
	ws := startServer(t, Config{})
	admin := dial(t, ws.addr)
	admin.c.SetDeadline(time.Now().Add(10 * time.Second))
	admin.c.Write(bigSet("big", 1<<20))
	if v, err := readValue(admin); err != nil || format(v) != "+OK" {
		t.Fatalf("SET big: %s %v", format(v), err)
	}
	admin.must(t, "CONFIG", "SET", "client-output-buffer-limit", "normal 0 256kb 1")
	var gets []byte
	for range 40 { // 40 MB: more than the socket buffers hold
		gets = append(gets, "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n"...)
	}

	reader := dial(t, ws.addr)
	reader.c.SetDeadline(time.Now().Add(60 * time.Second))
	reader.c.Write(gets)
	for i := range 40 {
		if v, err := readValue(reader); err != nil || len(v.Str) != 1<<20 {
			t.Fatalf("reading client: reply %d: %d bytes, %v", i, len(v.Str), err)
		}
	}

	base := connectedClients(t, admin)
	idle := rawConn(t, ws.addr)
	waitFor(t, func() bool { return connectedClients(t, admin) == base+1 })
	start := time.Now()
	if _, err := idle.Write(gets); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for connectedClients(t, admin) >= base+1 {
		if time.Now().After(deadline) {
			t.Fatal("the client that reads nothing was never closed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if el := time.Since(start); el < time.Second {
		t.Errorf("closed after %v, before its soft second", el)
	}
}

// The pubsub class applies to a subscribed client and the normal class
// to a MONITOR client, each as set by CONFIG SET.
func TestLimits_PusherClassesFollowConfig(t *testing.T) {
	ws := startServer(t, Config{})
	admin := dial(t, ws.addr)
	admin.must(t, "CONFIG", "SET", "client-output-buffer-limit", "pubsub 0 0 0 normal 1mb 0 0")
	mon := dial(t, ws.addr)
	mon.must(t, "MONITOR")
	sub := dial(t, ws.addr)
	sub.must(t, "SUBSCRIBE", "ch")
	base := connectedClients(t, admin)
	big := strings.Repeat("m", 2<<20)
	if got := admin.must(t, "PUBLISH", "ch", big); got != ":1" {
		t.Fatalf("PUBLISH = %s", got)
	}
	// The monitor's 2 MB line breaks the normal hard limit; the
	// subscriber's message is under no limit.
	waitFor(t, func() bool { return connectedClients(t, admin) == base-1 })
	sub.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if v, err := readValue(sub); err != nil || len(v.Elems) != 3 || string(v.Elems[2].Str) != big {
		t.Fatalf("subscriber: %v", err)
	}
}

// Protected mode: with no password, a connection that is not local is
// sent Redis's DENIED text and closed, without sending anything;
// requirepass lets it in to AUTH; protected-mode no lets it in.
func TestProtected_DeniesRemoteClientsWithoutPassword(t *testing.T) {
	ws := startServer(t, Config{})
	remote := func(net.Addr) bool { return false }
	ws.lim.isLocal.Store(&remote) // 127.0.0.1 counts as remote

	out, closed := talk(t, ws.addr, nil, 5*time.Second)
	if string(out) != protectedDenied || !closed {
		t.Fatalf("remote client: %q, closed %v", out, closed)
	}
	out, closed = talk(t, ws.addr, []byte("*1\r\n$4\r\nPING\r\n"), 5*time.Second)
	if string(out) != protectedDenied || !closed {
		t.Fatalf("remote client sending PING: %q, closed %v", out, closed)
	}

	if err := ws.SetConfig("requirepass", "secret"); err != nil {
		t.Fatal(err)
	}
	c := dial(t, ws.addr)
	if got := c.must(t, "PING"); got != "-NOAUTH Authentication required." {
		t.Fatalf("with requirepass: PING = %s", got)
	}
	if got := c.must(t, "AUTH", "secret"); got != "+OK" {
		t.Fatalf("AUTH = %s", got)
	}
	if got := c.must(t, "CONFIG", "SET", "requirepass", ""); got != "+OK" {
		t.Fatalf("CONFIG SET requirepass '' = %s", got)
	}
	if out, _ := talk(t, ws.addr, nil, 5*time.Second); string(out) != protectedDenied {
		t.Fatalf("password removed: %q", out)
	}
	if got := c.must(t, "CONFIG", "SET", "protected-mode", "no"); got != "+OK" {
		t.Fatal(got)
	}
	if got := dial(t, ws.addr).must(t, "PING"); got != "+PONG" {
		t.Fatalf("protected-mode no: %s", got)
	}
	if err := ws.SetConfig("protected-mode", "yes"); err != nil { // as the config file sets it
		t.Fatal(err)
	}
	if out, _ := talk(t, ws.addr, nil, 5*time.Second); string(out) != protectedDenied {
		t.Fatalf("protected-mode yes again: %q", out)
	}
}

// dialFrom connects to addr from the local address ip.
func dialFrom(t *testing.T, ip, addr string) net.Conn {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Skipf("cannot connect from %s: %v", ip, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Every loopback address is local: a client from 127.0.0.2 is served
// as one from 127.0.0.1 (redis-server 7.0.15 would deny it: walkerd's
// nodes on one machine talk from such addresses).
func TestProtected_LoopbackIsLocal(t *testing.T) {
	ws := startServer(t, Config{})
	addrs := map[string]string{"walkerd": ws.addr}
	for who, addr := range addrs {
		for _, from := range []string{"127.0.0.1", "127.0.0.2"} {
			c := dialFrom(t, from, addr)
			c.Write([]byte("*1\r\n$4\r\nPING\r\n"))
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 0, 2048)
			for {
				n, err := c.Read(buf[len(buf):cap(buf)])
				buf = buf[:len(buf)+n]
				if err != nil || string(buf) == "+PONG\r\n" {
					break
				}
			}
			want := "+PONG\r\n"
			if string(buf) != want {
				t.Errorf("%s, from %s: %q, want %q", who, from, buf, want)
			}
		}
	}
	if !isLocalAddr(&net.UnixAddr{Name: "/tmp/x.sock", Net: "unix"}) || !isLocalAddr(&net.TCPAddr{IP: net.IPv6loopback}) ||
		!isLocalAddr(&net.TCPAddr{IP: net.ParseIP("::ffff:127.0.0.1")}) || !isLocalAddr(&net.TCPAddr{IP: net.ParseIP("127.0.0.2")}) ||
		isLocalAddr(&net.TCPAddr{IP: net.ParseIP("10.0.0.1")}) || isLocalAddr(&net.TCPAddr{IP: net.ParseIP("192.168.1.1")}) {
		t.Error("isLocalAddr")
	}
}

// The idle timeout spares RESP3 subscribers and MONITOR clients as Redis
// does, and counts bytes read as activity (Redis's lastinteraction): a
// client in the middle of sending a command is not idle.
func TestLimits_TimeoutSparesRESP3SubscribersAndMonitors(t *testing.T) {
	ws := startServer(t, Config{})
	admin := dial(t, ws.addr)
	sub3, mon, slow, idle := dial(t, ws.addr), dial(t, ws.addr), dial(t, ws.addr), dial(t, ws.addr)
	sub3.must(t, "HELLO", "3")
	sub3.must(t, "SUBSCRIBE", "ch")
	mon.must(t, "MONITOR")
	idle.must(t, "PING")
	admin.must(t, "CONFIG", "SET", "timeout", "1")
	// slow sends one byte of a command every 300 ms for 2.4 s.
	done := make(chan error, 1)
	go func() {
		in := "*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n"
		for i := range len(in) {
			if i > 0 {
				time.Sleep(2400 * time.Millisecond / time.Duration(len(in)))
			}
			if _, err := slow.c.Write([]byte{in[i]}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	idle.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.r.ReadByte(); err != io.EOF {
		t.Fatalf("idle client: %v, want EOF", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("slow sender: %v", err)
	}
	slow.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if v, err := readValue(slow); err != nil || format(v) != `"hi"` {
		t.Fatalf("slow sender: %s %v", format(v), err)
	}
	admin = dial(t, ws.addr)
	if got := admin.must(t, "PUBLISH", "ch", "m"); got != ":1" {
		t.Fatalf("RESP3 subscriber gone: PUBLISH = %s", got)
	}
	sub3.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if v, err := readValue(sub3); err != nil || v.Kind != '>' {
		t.Fatalf("RESP3 subscriber: %s %v", format(v), err)
	}
	mon.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		line, err := mon.r.ReadString('\n')
		if err != nil {
			t.Fatalf("MONITOR client: %v", err)
		}
		if strings.Contains(line, `"PUBLISH"`) {
			break
		}
	}
}

// With authenticated node links, a connection protected mode refuses is
// held: WALKER.LINK with the cluster secret makes it a node link that runs
// commands; any other first command gets the DENIED text and the
// connection closes, as does a command after a link attempt that failed.
func TestProtected_NodeLinksPassWithClusterSecret(t *testing.T) {
	ws := startServer(t, Config{Links: linkSecret})
	remote := func(net.Addr) bool { return false }
	ws.lim.isLocal.Store(&remote)

	out, closed := talk(t, ws.addr, []byte("*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n"), 5*time.Second)
	if string(out) != protectedDenied || !closed {
		t.Fatalf("held client's PING: %q, closed %v", out, closed)
	}

	l := dial(t, ws.addr)
	l.c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := linkSecret.LinkRESP(l.c, l.r); err != nil {
		t.Fatalf("LinkRESP: %v", err)
	}
	if got := l.must(t, "PING"); got != "+PONG" {
		t.Fatalf("node link: PING = %s", got)
	}

	bad := dial(t, ws.addr)
	bad.c.SetDeadline(time.Now().Add(5 * time.Second))
	other := &nodelink.Config{Secret: []byte("another-secret-of-some-length")}
	if err := other.LinkRESP(bad.c, bad.r); err == nil {
		t.Fatal("a link with another secret passed")
	}
	if err := bad.send([]byte("PING")); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(bad.r)
	if string(rest) != protectedDenied {
		t.Fatalf("after a failed link: %q", rest)
	}
}
