package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// slowWrites is a backend whose every write takes d, as a write waits for
// its Raft log entry, and that counts the entries it has applied.
type slowWrites struct {
	backend.Backend
	d       time.Duration
	applied atomic.Int64
}

func (b *slowWrites) Apply(e *command.Entry) (*command.Result, error) {
	time.Sleep(b.d)
	res, err := b.Backend.Apply(e)
	b.applied.Add(1)
	return res, err
}

// A client that pipelines writes gets its replies as the writes commit,
// not when the pipeline ends: here 2,000 SETs sent in one write become
// groups of at most groupCmds, each entry taking 50 ms, and the first
// reply must arrive while later groups are still to be applied.
func TestPipeline_WritesReplyAsTheyGo(t *testing.T) {
	base := startServer(t, Config{})
	sw := &slowWrites{Backend: backend.NewStandalone(base.db), d: 50 * time.Millisecond}
	s := startServerOn(t, sw, Config{})
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const n = 2000
	var req bytes.Buffer
	for i := range n {
		k := fmt.Sprintf("k%04d", i)
		fmt.Fprintf(&req, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\nv\r\n", len(k), k)
	}
	start := time.Now()
	if _, err := conn.Write(req.Bytes()); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	r := bufio.NewReader(conn)
	var first time.Duration
	var appliedAtFirst int64
	for i := range n {
		line, err := r.ReadString('\n')
		if err != nil || line != "+OK\r\n" {
			t.Fatalf("reply %d: %q %v", i, line, err)
		}
		if i == 0 {
			first, appliedAtFirst = time.Since(start), sw.applied.Load()
		}
	}
	total := sw.applied.Load()
	t.Logf("first reply after %v with %d of %d entries applied, all %d after %v",
		first.Round(time.Millisecond), appliedAtFirst, total, n, time.Since(start).Round(time.Millisecond))
	if total < n/groupCmds || appliedAtFirst >= total {
		t.Fatalf("the first reply came once %d of %d entries were applied: replies waited for the pipeline's end", appliedAtFirst, total)
	}
}

// countingWrites is a backend that counts the entries clients' writes
// proposed to it (not EXEC's, not the background sweeps') and the
// commands they carry.
type countingWrites struct {
	backend.Backend
	entries, cmds atomic.Int64
	sizes         chan int // if not nil: each counted entry's command count, while there is room
}

func (b *countingWrites) Apply(e *command.Entry) (*command.Result, error) {
	if !e.Exec && !strings.HasPrefix(strings.ToLower(string(e.Cmds[0][0])), "walker.") { // not the background sweeps'
		b.entries.Add(1)
		b.cmds.Add(int64(len(e.Cmds)))
		select {
		case b.sizes <- len(e.Cmds):
		default:
		}
	}
	return b.Backend.Apply(e)
}

// pipelineMix is a pipeline of n commands from a fixed seed: writes that
// succeed, fail as they run (WRONGTYPE, not an integer), are refused
// before (arity, syntax), reads of what the writes before them wrote,
// database switches, transactions, CLIENT REPLY SKIP, and then an ECHO
// marker that ends the replies.
func pipelineMix(seed uint64, n int) (req []byte, marker string) {
	r := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	put := func(args ...string) {
		bs := make([][]byte, len(args))
		for i, a := range args {
			bs[i] = []byte(a)
		}
		b.Write(encodeCommand(bs))
	}
	for i := range n {
		k := "k" + itoa(int64(r.IntN(12)))
		switch r.IntN(24) {
		case 0, 1, 2, 3, 4, 5:
			put("SET", k, "v"+itoa(int64(i)))
		case 6, 7:
			put("INCR", "c"+itoa(int64(r.IntN(3))))
		case 8:
			put("INCR", k) // a string that is not an integer, or absent
		case 9, 10:
			put("RPUSH", "l"+itoa(int64(r.IntN(3))), itoa(int64(i)))
		case 11:
			put("LPUSH", k, "x") // WRONGTYPE once k is a string
		case 12:
			put("GET", k)
		case 13:
			put("LRANGE", "l"+itoa(int64(r.IntN(3))), "0", "-1")
		case 14:
			put("DEL", k)
		case 15:
			put("SET", k) // arity
		case 16:
			put("SET", k, "v", "EX", "soon") // syntax: not an integer
		case 17:
			put("HSET", "h", "f"+itoa(int64(r.IntN(5))), itoa(int64(i)))
		case 18:
			put("SELECT", itoa(int64(r.IntN(2))))
		case 19:
			put("MULTI")
			put("SET", k, "m"+itoa(int64(i)))
			put("INCR", "c0")
			put("EXEC")
		case 20:
			put("CLIENT", "REPLY", "SKIP")
		case 21:
			put("APPEND", k, "+")
		case 22:
			put("MSET", k, "a", "k"+itoa(int64(r.IntN(12))), "b")
		case 23:
			put("EXPIRE", k, "1000")
		}
	}
	marker = "end-of-pipeline-" + itoa(int64(seed))
	put("ECHO", marker)
	return b.Bytes(), marker
}

// readUntil reads replies until the bulk string marker, returning them as
// text (format).
func readUntil(t *testing.T, c net.Conn, marker string) []string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	r := bufio.NewReader(c)
	var out []string
	for {
		raw, err := resp.ReadRaw(r)
		if err != nil {
			t.Fatalf("after %d replies: %v", len(out), err)
		}
		v, _, err := resp.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if v.Kind == resp.KindBulk && string(v.Str) == marker {
			return out
		}
		out = append(out, format(v))
	}
}

// TestPipeline_GroupedWritesAnswerAsRedis sends the same long pipelines
// of mixed commands, each in one write, to redis-server and to walkerd,
// and compares every reply. walkerd proposes runs of consecutive writes
// as one entry (group.go): replies must still be one per command, in
// order, each command seeing the writes before it, refusals and errors
// where Redis puts them. The counting backend shows that writes were
// grouped: far fewer entries than write commands.
func TestPipeline_GroupedWritesAnswerAsRedis(t *testing.T) {
	redisAddr := startRedis(t)
	base := startServer(t, Config{})
	cw := &countingWrites{Backend: backend.NewStandalone(base.db)}
	s := startServerOn(t, cw, Config{})
	for _, seed := range []uint64{1, 2, 3} {
		req, marker := pipelineMix(seed, 4000) // about 140 KB: many of redcon's 4 KB reads
		var got [2][]string
		for i, addr := range []string{redisAddr, s.addr} {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Write(encodeCommand([][]byte{[]byte("FLUSHALL")})); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Write(req); err != nil {
				t.Fatal(err)
			}
			got[i] = readUntil(t, c, marker)
			c.Close()
		}
		if len(got[0]) != len(got[1]) {
			t.Fatalf("seed %d: redis answered %d replies, walkerd %d", seed, len(got[0]), len(got[1]))
		}
		for i := range got[0] {
			if got[0][i] != got[1][i] {
				t.Fatalf("seed %d: reply %d: redis %q, walkerd %q", seed, i, got[0][i], got[1][i])
			}
		}
	}
	entries, cmds := cw.entries.Load(), cw.cmds.Load()
	t.Logf("mixed pipelines: %d write commands in %d entries", cmds, entries)
	if entries >= cmds {
		t.Fatalf("%d write commands took %d entries: pipelined writes were not proposed together", cmds, entries)
	}

	// Writes alone: runs as long as groupCmds.
	cw.entries.Store(0)
	cw.cmds.Store(0)
	const n = 5000
	var req bytes.Buffer
	for i := range n {
		req.Write(encodeCommand([][]byte{[]byte("SET"), []byte("w" + itoa(int64(i))), []byte("v")}))
	}
	req.Write(encodeCommand([][]byte{[]byte("ECHO"), []byte("end")}))
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(req.Bytes()); err != nil {
		t.Fatal(err)
	}
	got := readUntil(t, c, "end")
	if len(got) != n || got[0] != "+OK" || got[n-1] != "+OK" {
		t.Fatalf("%d replies, first %q", len(got), got[0])
	}
	entries, cmds = cw.entries.Load(), cw.cmds.Load()
	t.Logf("%d pipelined SETs in %d entries", cmds, entries)
	if cmds != n || entries > n/20 {
		t.Fatalf("%d pipelined SETs took %d entries (%d commands)", n, entries, cmds)
	}
}

// A refused or failed command inside a run of pipelined writes changes
// nothing of the others: a value too long for a hash field (refused whole
// as the entry is applied) between two SETs.
func TestPipeline_RefusalInAGroupStaysItsOwn(t *testing.T) {
	s := startServer(t, Config{})
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	long := strings.Repeat("f", command.MaxKeyLen+10)
	var req []byte
	for _, args := range [][]string{
		{"SET", "a", "1"},
		{"HSET", "h", "x", "1", long, "2"},
		{"SET", "b", "2"},
		{"HLEN", "h"},
		{"MGET", "a", "b"},
		{"ECHO", "end"},
	} {
		bs := make([][]byte, len(args))
		for i, a := range args {
			bs[i] = []byte(a)
		}
		req = append(req, encodeCommand(bs)...)
	}
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	got := readUntil(t, c, "end")
	want := []string{"+OK", "-" + string(command.ErrElementTooLong), "+OK", ":0", `["1", "2"]`}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("replies\n got %q\nwant %q", got, want)
	}
}

// incrs is n pipelined INCRs of key.
func incrs(key string, n int) []byte {
	var b []byte
	for range n {
		b = append(b, encodeCommand([][]byte{[]byte("INCR"), []byte(key)})...)
	}
	return b
}

// waitCounter waits until key holds want (as a reply to GET) on addr.
func waitCounter(t *testing.T, addr, key, want string) {
	t.Helper()
	c := dial(t, addr)
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := c.must(t, "GET", key)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %s, want %s: writes the client sent were lost", key, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Writes a client sent before a malformed frame run, as in Redis: the
// protocol guard hands redcon the whole commands before the frame in
// reads of their own (redcon drops every command of the read it
// refuses), and a group held open for the client's next read is proposed
// when the connection ends.
func TestPipeline_WritesBeforeAMalformedFrameRun(t *testing.T) {
	s := startServer(t, Config{})
	for _, n := range []int{300, 1000} {
		key := "n" + itoa(int64(n))
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(append(incrs(key, n), "*x\r\n"...)); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.Copy(io.Discard, c) // replies, the protocol error, the close
		c.Close()
		waitCounter(t, s.addr, key, `"`+itoa(int64(n))+`"`)
	}
}

// While a client of the node waits in BLPOP, pipelined writes are
// proposed one by one: Redis serves a blocked client after each command,
// so LPUSH a must be an entry of its own, able to wake it before LPUSH b.
func TestPipeline_WritesGoOneByOneWhileAClientIsBlocked(t *testing.T) {
	base := startServer(t, Config{})
	cw := &countingWrites{Backend: backend.NewStandalone(base.db), sizes: make(chan int, 16)}
	s := startServerOn(t, cw, Config{})
	b := dial(t, s.addr)
	if err := b.send([]byte("BLPOP"), []byte("l"), []byte("0")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.waiters.blocked() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("BLPOP never blocked")
		}
		time.Sleep(5 * time.Millisecond)
	}
	a := dial(t, s.addr)
	var req []byte
	for _, v := range []string{"a", "b"} {
		req = append(req, encodeCommand([][]byte{[]byte("LPUSH"), []byte("l"), []byte(v)})...)
	}
	req = append(req, encodeCommand([][]byte{[]byte("ECHO"), []byte("end")})...)
	if _, err := a.c.Write(req); err != nil {
		t.Fatal(err)
	}
	readUntil(t, a.c, "end")
	if first := <-cw.sizes; first != 1 {
		t.Fatalf("the first LPUSH went in an entry of %d commands while a client was blocked", first)
	}
	b.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if v, err := resp.ReadValue(b.r); err != nil || v.Kind != resp.KindArray {
		t.Fatalf("BLPOP: %v %v", format(v), err)
	}
}

// transferringWrites refuses the first n writes as a leader handing
// leadership over does (backend.ErrTransferring: never appended).
type transferringWrites struct {
	backend.Backend
	refuse atomic.Int64
	tries  atomic.Int64
}

func (b *transferringWrites) Apply(e *command.Entry) (*command.Result, error) {
	b.tries.Add(1)
	if b.refuse.Add(-1) >= 0 {
		return nil, backend.ErrTransferring
	}
	return b.Backend.Apply(e)
}

// A write refused while leadership is being transferred was not applied:
// the server tries it again itself, and the client gets its reply, not
// the TRYAGAIN a plain client would not retry. A transfer that outlasts
// the wait answers that TRYAGAIN.
func TestWrite_LeadershipTransferIsWaitedOut(t *testing.T) {
	base := startServer(t, Config{})
	tw := &transferringWrites{Backend: backend.NewStandalone(base.db)}
	s := startServerOn(t, tw, Config{})
	c := dial(t, s.addr)
	tw.refuse.Store(3)
	if got := c.must(t, "INCR", "n"); got != ":1" {
		t.Fatalf("INCR during a transfer = %s", got)
	}
	if n := tw.tries.Load(); n != 4 {
		t.Fatalf("%d tries, want 3 refused and 1 applied", n)
	}
	tw.refuse.Store(1 << 30)
	if got := c.must(t, "INCR", "n"); got != "-"+string(backend.ErrTransferring.(command.Error)) {
		t.Fatalf("INCR during an endless transfer = %s", got)
	}
	tw.refuse.Store(0)
	if got := c.must(t, "GET", "n"); got != `"1"` {
		t.Fatalf("GET after = %s", got)
	}
}
