package server

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

func TestServer_ConnectionCommands(t *testing.T) {
	s := startServer(t, Config{Version: "1.2.3", Settings: map[string]string{"appendfsync": "everysec", "dir": "/data"}})
	c := dial(t, s.addr)
	for _, step := range []struct {
		args []string
		want string
	}{
		{[]string{"HELLO", "4"}, "-NOPROTO unsupported protocol version"},
		{[]string{"JOIN", "n2", "127.0.0.1:7000"}, "-ERR this command requires cluster mode"},
		{[]string{"RAFT.LEADER"}, "-ERR this command requires cluster mode"},
		{[]string{"SNAPSHOT"}, "-ERR this command requires cluster mode"},
		{[]string{"CONFIG", "GET", "appendfsync"}, `["appendfsync", "no"]`}, // the engine's mode, not Settings
		{[]string{"CONFIG", "GET", "dir"}, `["dir", "/data"]`},
		{[]string{"CONFIG", "GET", "read-consistency"}, `["read-consistency", "0"]`},
		{[]string{"CONFIG", "SET", "read-consistency", "stale"}, "+OK"},
		{[]string{"CONFIG", "GET", "read-consistency"}, `["read-consistency", "1"]`},
		{[]string{"CONFIG", "SET", "read-consistency", "3"}, "-ERR CONFIG SET failed (possibly related to argument 'read-consistency') - argument must be 0 (default), 1 (stale) or 2 (consistent)"},
		{[]string{"CONFIG", "SET", "appendfsync", "no"}, "+OK"},
		{[]string{"CONFIG", "SET", "dir", "/x"}, "-ERR CONFIG SET failed (possibly related to argument 'dir') - can't set immutable config"},
		{[]string{"CONFIG", "GET", "save", "appendonly"}, `["save", "", "appendonly", "yes"]`},
		{[]string{"LEVELGET", "k", "consistent"}, "(nil)"},
		{[]string{"SHUTDOWN"}, "-ERR Errors trying to SHUTDOWN. Check logs."},
		{[]string{"SHUTDOWN", "BOGUS"}, "-ERR syntax error"},
		{[]string{"COMMAND", "INFO", "get"}, "[[\"get\", :2, [+readonly, +fast], :1, :1, :1, [+@read, +@string, +@fast], [], " +
			"[[\"flags\", [+RO, +access], \"begin_search\", [\"type\", \"index\", \"spec\", [\"index\", :1]], \"find_keys\", " +
			"[\"type\", \"range\", \"spec\", [\"lastkey\", :0, \"keystep\", :1, \"limit\", :0]]]], []]]"},
		{[]string{"WALKER.SETMEMBER", "a", "b"}, "-ERR unknown command 'WALKER.SETMEMBER', with args beginning with: 'a' 'b' "},
		{[]string{"MULTI"}, "+OK"},
		{[]string{"WALKER.APPLY", "x", "default"}, "-ERR Command not allowed inside a transaction"},
		{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors."},
	} {
		if got := c.must(t, step.args...); got != step.want {
			t.Errorf("%q: got %s, want %s", step.args, got, step.want)
		}
	}
	info := c.must(t, "INFO")
	for _, sec := range []string{"# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Replication", "# Keyspace", "# Raft", "raft_state:standalone", "walkerdb_version:1.2.3"} {
		if !strings.Contains(info, sec) {
			t.Errorf("INFO lacks %q", sec)
		}
	}
	c.must(t, "SET", "a", "1")
	if got := c.must(t, "INFO", "keyspace"); got != `"# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n"` {
		t.Errorf("INFO keyspace = %s", got)
	}
	if got := c.must(t, "INFO", "nosuchsection"); got != `""` {
		t.Errorf("INFO nosuchsection = %s", got)
	}
	docs, err := c.do("COMMAND", "DOCS")
	if err != nil || len(docs.Elems) < 2*50 {
		t.Fatalf("COMMAND DOCS: %d elements, %v", len(docs.Elems), err)
	}
	count, _ := c.do("COMMAND", "COUNT")
	all, _ := c.do("COMMAND")
	if int(count.Int) != len(all.Elems) {
		t.Fatalf("COMMAND COUNT %d, COMMAND %d", count.Int, len(all.Elems))
	}
	if got := c.must(t, "CLIENT", "SETNAME", "me"); got != "+OK" {
		t.Fatal(got)
	}
	list := c.must(t, "CLIENT", "LIST")
	if !strings.Contains(list, "name=me") || !strings.Contains(list, "cmd=client|list") {
		t.Errorf("CLIENT LIST = %s", list)
	}
}

func TestServer_ShutdownCallsTheHook(t *testing.T) {
	called := make(chan struct{})
	s := startServer(t, Config{OnShutdown: func() { close(called) }})
	c := dial(t, s.addr)
	if _, err := c.do("SHUTDOWN", "NOSAVE"); err == nil {
		t.Fatal("SHUTDOWN answered; Redis closes the connection instead")
	}
	select {
	case <-called:
	case <-time.After(2 * time.Second):
		t.Fatal("OnShutdown not called")
	}
}

func TestServer_MaxClients(t *testing.T) {
	s := startServer(t, Config{MaxClients: 2})
	a, b := dial(t, s.addr), dial(t, s.addr)
	a.must(t, "PING")
	b.must(t, "PING")
	raw := rawExchange(t, s.addr, "PING\r\n")
	if raw != "-ERR max number of clients reached\r\n" {
		t.Fatalf("refusal = %q", raw)
	}
	a.must(t, "CONFIG", "SET", "maxclients", "10")
	dial(t, s.addr).must(t, "PING")
}

// panicky is a backend whose Leader panics.
type panicky struct{ backend.Backend }

func (panicky) Leader() (backend.Member, bool, error) { panic("boom") }

func TestServer_RecoversFromPanics(t *testing.T) {
	s := startServer(t, Config{})
	p := startServerOn(t, panicky{backend.NewStandalone(s.db)}, Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	_ = p
	c := dial(t, p.addr)
	if got := c.must(t, "RAFT.LEADER"); got != "-ERR internal error: boom" {
		t.Fatalf("got %s", got)
	}
	if got := c.must(t, "PING"); got != "+PONG" {
		t.Fatalf("after the panic: %s", got)
	}
}

func TestServer_CloseEndsConnectionsAndGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	s := startServer(t, Config{})
	var conns []net.Conn
	for range 20 {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		c.Write([]byte("PING\r\n"))
	}
	time.Sleep(50 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 64)
		for {
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
		c.Close()
	}
	var after int
	for range 100 {
		if after = runtime.NumGoroutine(); after <= before+2 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	t.Fatalf("goroutines: %d before, %d after Close:\n%s", before, after, buf[:runtime.Stack(buf, true)])
}

func TestServer_ConcurrentClients(t *testing.T) {
	s := startServer(t, Config{})
	var errs atomic.Int64
	done := make(chan struct{})
	for w := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			c := dial(t, s.addr)
			for i := range 300 {
				if v, err := c.do("INCR", "shared"); err != nil || v.Kind != ':' {
					errs.Add(1)
				}
				if i%50 == 0 {
					c.do("CLIENT", "LIST")
					c.do("MULTI")
					c.do("SET", "w", itoa(int64(w)))
					c.do("EXEC")
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
	if errs.Load() != 0 {
		t.Fatalf("%d errors", errs.Load())
	}
	if got := dial(t, s.addr).must(t, "GET", "shared"); got != `"2400"` {
		t.Fatalf("shared = %s", got)
	}
}

func TestStandaloneGroupCommit_WritersShareFsyncs(t *testing.T) {
	// Writers share an fsync when they run while it does. With one P (go
	// test -cpu 1) the one running the fsync syscall keeps it until the
	// fsync, well under sysmon's hand-off delay, is over: every write gets
	// its own. Two Ps let the others reach the engine meanwhile.
	if n := runtime.GOMAXPROCS(0); n < 2 {
		runtime.GOMAXPROCS(2)
		defer runtime.GOMAXPROCS(n)
	}
	db, err := engine.Open(t.TempDir(), &engine.Options{Sync: engine.SyncNo})
	if err != nil {
		t.Fatal(err)
	}
	s := startServerOn(t, backend.NewStandaloneGroupCommit(db), Config{})
	const clients, writes = 16, 100
	done := make(chan struct{})
	for w := range clients {
		go func() {
			defer func() { done <- struct{}{} }()
			c := dial(t, s.addr)
			for i := range writes {
				if v, err := c.do("SET", fmt.Sprint("k", w, ":", i), "v"); err != nil || format(v) != "+OK" {
					t.Errorf("SET: %s %v", format(v), err)
					return
				}
			}
		}()
	}
	for range clients {
		<-done
	}
	st, err := db.Stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d writes, %d fsyncs", clients*writes, st.Fsyncs)
	if st.Fsyncs == 0 || st.Fsyncs >= clients*writes {
		t.Fatalf("%d fsyncs for %d writes: want fewer, and some", st.Fsyncs, clients*writes)
	}
	if got := dial(t, s.addr).must(t, "DBSIZE"); got != fmt.Sprint(":", clients*writes) {
		t.Fatalf("DBSIZE = %s", got)
	}
}

// slowApply is a backend whose writes wait until release is closed, and
// report on applying when one is waiting.
type slowApply struct {
	backend.Backend
	applying chan struct{}
	release  chan struct{}
}

func (b *slowApply) Apply(e *command.Entry) (*command.Result, error) {
	b.applying <- struct{}{}
	<-b.release
	return b.Backend.Apply(e)
}

// Close answers the command a connection is running before it closes the
// connection: a write applied while the server stops gets its reply (a
// client that lost it and sent it again would apply it twice), and a
// client idle meanwhile sees its connection end.
func TestClose_AnswersTheCommandRunningFirst(t *testing.T) {
	db, err := engine.Open(t.TempDir(), &engine.Options{Sync: engine.SyncNo})
	if err != nil {
		t.Fatal(err)
	}
	b := &slowApply{Backend: backend.NewStandalone(db), applying: make(chan struct{}, 1), release: make(chan struct{})}
	s := New(b, Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	defer db.Close()
	busy, idle := dial(t, ln.Addr().String()), dial(t, ln.Addr().String())
	if got := idle.must(t, "PING"); got != "+PONG" {
		t.Fatalf("PING = %s", got)
	}
	busy.sendStr(t, "SET", "k", "v")
	<-b.applying
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	idle.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.r.ReadByte(); err == nil { // EOF: Close has begun, and the write still waits
		t.Fatal("the idle client got bytes, want its connection closed")
	}
	close(b.release)
	if got, ok := busy.readReply(t, 5*time.Second); !ok || got != "+OK" {
		t.Fatalf("the write running at Close: %q, %v", got, ok)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
}

// A LEVELGET queued in MULTI reads in its place in the transaction, as a
// GET does: a tester found it ran after the transaction's writes and saw
// those queued after it. A bad level still answers its error there.
func TestMulti_LevelgetReadsInItsPlace(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	c.must(t, "SET", "mk", "old")
	c.must(t, "MULTI")
	for _, cmd := range [][]string{{"LEVELGET", "mk", "2"}, {"SET", "mk", "new"}, {"LEVELGET", "mk", "stale"}, {"LEVELGET", "mk", "3"}, {"GET", "mk"}} {
		if got := c.must(t, cmd...); got != "+QUEUED" {
			t.Fatalf("%q in MULTI: %s", cmd, got)
		}
	}
	want := `["old", +OK, "new", -ERR invalid consistency level: want 0/default, 1/stale or 2/consistent, "new"]`
	if got := c.must(t, "EXEC"); got != want {
		t.Fatalf("EXEC = %s, want %s", got, want)
	}
}

// SCAN queued in MULTI runs in its place among the queued writes, as in
// Redis: it sees the writes queued before it and not those after (it
// used to run after the transaction's entry and see them all). In
// scripts it runs too, as in Redis. Each SCAN here matches at most one
// key, so that Redis's hash order and walkerd's key order agree.
func TestMulti_ScanReadsInItsPlace(t *testing.T) {
	r := dial(t, startRedis(t))
	w := dial(t, startServer(t, Config{}).addr)
	cmds := [][]string{
		{"SET", "a", "1"},
		{"MULTI"},
		{"SCAN", "0", "COUNT", "100"},
		{"SET", "b", "2"},
		{"SCAN", "0", "COUNT", "100", "MATCH", "b*"},
		{"DEL", "a"},
		{"SCAN", "0", "COUNT", "100", "MATCH", "a*"},
		{"HSET", "h", "f", "v"},
		{"SCAN", "0", "TYPE", "hash"},
		{"SCAN", "notacursor"},
		{"SCAN", "0", "COUNT", "0"},
		{"SCAN", "0", "TYPE", "nosuchtype"},
		{"EXEC"},
		{"EVAL", "return redis.call('SCAN', '0', 'MATCH', 'h*')", "0"},
		{"EVAL_RO", "return redis.call('SCAN', '0', 'TYPE', 'string')", "0"},
		{"EVAL", "return redis.pcall('SCAN', 'x')", "0"},
	}
	for _, cmd := range cmds {
		want, got := r.must(t, cmd...), w.must(t, cmd...)
		if got != want {
			t.Errorf("%q: walkerd %s, redis %s", cmd, got, want)
		}
	}
}
