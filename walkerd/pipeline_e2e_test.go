package main_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
	"github.com/walkerdb/walkerdb/internal/resp"
)

// Pipelined writes are proposed together (server/group.go): these tests
// drive the built binary with long pipelines and check that each command
// still gets its own reply, in order, and that what the replies promise
// is what the cluster holds.

// pipeValue is the ~100-byte value the redis-cli --pipe tests SET at
// key <prefix>:<i>.
func pipeValue(prefix string, i int) string {
	v := fmt.Sprintf("%s-%07d-", prefix, i)
	return v + strings.Repeat("x", 100-len(v))
}

// writePipeFile writes n "SET <prefix>:<i> <value>" commands in RESP to a
// file under the test's temporary directory, as redis-cli --pipe reads.
func writePipeFile(t *testing.T, prefix string, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), prefix+".resp")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var buf []byte
	for i := range n {
		buf = resp.AppendCommand(buf[:0], [][]byte{[]byte("SET"),
			[]byte(prefix + ":" + strconv.Itoa(i)), []byte(pipeValue(prefix, i))})
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// runPipe runs redis-cli --pipe with the file against node, at most 120 s,
// and checks that every one of the n commands was answered without error.
func runPipe(t *testing.T, cli string, node *harness.Node, file string, n int) {
	t.Helper()
	host, port, _ := net.SplitHostPort(node.RESP)
	in, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, "-h", host, "-p", port, "--pipe")
	cmd.Stdin = in
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	t.Logf("redis-cli --pipe of %d SETs to %s: %v (%.0f commands/s)", n, node.ID, took.Round(time.Millisecond), float64(n)/took.Seconds())
	want := fmt.Sprintf("errors: 0, replies: %d", n)
	if err != nil || !strings.Contains(string(out), want) {
		t.Fatalf("redis-cli --pipe to %s: %v, output %q, want it to contain %q\n%s", node.ID, err, out, want, node.Log())
	}
}

// waitKeys waits until node's own state (a stale read, whatever its role)
// holds want keys, and checks a few of the prefix's values.
func waitKeys(t *testing.T, node *harness.Node, want int, prefix string, n int) {
	t.Helper()
	start := time.Now()
	if err := harness.WaitFor(60*time.Second, func() error {
		got, err := node.Do("DBSIZE")
		if err != nil || got != fmt.Sprintf(":%d\r\n", want) {
			return fmt.Errorf("DBSIZE on %s = %q, %v; want %d", node.ID, got, err, want)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, node.Log())
	}
	t.Logf("%s holds %d keys (waited %v)", node.ID, want, time.Since(start).Round(time.Millisecond))
	for _, i := range []int{0, 1, n / 2, n - 2, n - 1} {
		must(t, node, bulk(pipeValue(prefix, i)), "LEVELGET", prefix+":"+strconv.Itoa(i), "stale")
	}
}

// pipeEverywhere runs send, which pipelines n SETs of keys <prefix>:<i>
// to a node, on one node, then at a three-node cluster's leader and at a
// follower that forwards its groups to the leader; after each, every node
// must hold every key sent so far (waitKeys).
func pipeEverywhere(t *testing.T, n int, send func(t *testing.T, node *harness.Node, prefix string)) {
	b := bin(t)
	t.Run("one node", func(t *testing.T) {
		node := harness.NewNode(t, b, "solo")
		node.Start()
		if err := node.WaitLeader(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		send(t, node, "solo")
		waitKeys(t, node, n, "solo", n)
	})
	t.Run("three nodes, at the leader then at a follower", func(t *testing.T) {
		// Stale plain reads: DBSIZE on a follower counts its own keys
		// instead of asking the leader.
		c := harness.StartCluster(t, b, 3, "--read-consistency", "stale")
		leader, err := c.Leader(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		send(t, leader, "lead")
		for _, node := range c.Nodes {
			waitKeys(t, node, n, "lead", n)
		}
		send(t, c.Followers(leader)[0], "fol")
		for _, node := range c.Nodes {
			waitKeys(t, node, 2*n, "fol", n)
		}
		if l, err := c.Leader(time.Second); err != nil || l != leader {
			t.Logf("leadership moved during the test (%v): the follower's run may have gone to a new leader", err)
		}
	})
}

// redis-cli --pipe sends its whole input without waiting and counts the
// replies: 200,000 SETs go through walkerd in groups, and every one is
// answered (and applied) exactly once, on one node, at a cluster's leader,
// and at a follower that forwards its groups to the leader.
func TestE2E_RedisCliPipe200k(t *testing.T) {
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli is not on PATH (Debian: apt-get install redis-tools)")
	}
	const n = 200_000
	pipeEverywhere(t, n, func(t *testing.T, node *harness.Node, prefix string) {
		runPipe(t, cli, node, writePipeFile(t, prefix, n), n)
	})
}

// maxReplyGap is the longest a pipelining client may wait for its next
// reply (issue 12: "a client that sends 200k pipelined writes and reads as
// it goes never waits more than 1 s for its next reply").
const maxReplyGap = time.Second

// pipeGaps sends n "SET <prefix>:<i> <value>" on one connection from one
// goroutine, in 64 KB writes that never wait for replies, while another
// reads the replies as they come. Every reply must be +OK, in order, and
// the reader never waits more than maxReplyGap for the next one: from the
// first write to the first reply, and between two replies.
func pipeGaps(t *testing.T, node *harness.Node, prefix string, n int) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", node.RESP, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(120 * time.Second))
	sent := make(chan error, 1)
	start := make(chan time.Time, 1)
	go func() {
		var buf []byte
		first := true
		for i := range n {
			buf = resp.AppendCommand(buf, [][]byte{[]byte("SET"),
				[]byte(prefix + ":" + strconv.Itoa(i)), []byte(pipeValue(prefix, i))})
			if len(buf) >= 64<<10 || i == n-1 {
				if first {
					start <- time.Now()
					first = false
				}
				if _, err := conn.Write(buf); err != nil {
					sent <- err
					return
				}
				buf = buf[:0]
			}
		}
		sent <- nil
	}()
	r := bufio.NewReaderSize(conn, 64<<10)
	last := <-start
	begun := last
	var worst time.Duration
	worstAt := 0
	for i := range n {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: reply %d of %d: %v (the writer: %v)\n%s", node.ID, i, n, err, <-sent, node.Log())
		}
		if line != "+OK\r\n" {
			t.Fatalf("%s: reply %d = %q, want +OK", node.ID, i, line)
		}
		now := time.Now()
		if gap := now.Sub(last); gap > worst {
			worst, worstAt = gap, i
		}
		last = now
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	took := time.Since(begun)
	t.Logf("%d pipelined SETs to %s: %v (%.0f/s), longest wait for a reply %v (before reply %d)",
		n, node.ID, took.Round(time.Millisecond), float64(n)/took.Seconds(), worst.Round(time.Millisecond), worstAt)
	if worst > maxReplyGap {
		t.Errorf("%s: the client waited %v for reply %d of %d; at most %v", node.ID, worst, worstAt, n, maxReplyGap)
	}
}

// A client that pipelines 200,000 SETs and reads its replies as they come
// gets them steadily: never more than maxReplyGap between two, on one
// node, at a cluster's leader and at a follower.
func TestE2E_PipelinedRepliesNeverStall(t *testing.T) {
	const n = 200_000
	pipeEverywhere(t, n, func(t *testing.T, node *harness.Node, prefix string) {
		pipeGaps(t, node, prefix, n)
	})
}

// pipeClient sends RPUSH <list> <prefix><i> for i = 0, 1, ... on one
// connection, in pipelines written without waiting for their replies,
// while its reader collects the replies as they come.
type pipeClient struct {
	name, list, prefix string
	node               *harness.Node
	conn               net.Conn

	sent     atomic.Int64 // commands written (or being written)
	got      atomic.Int64 // replies read
	acks     atomic.Int64 // integer replies read
	errs     atomic.Int64 // error replies read
	progress chan struct{}
	stop     atomic.Bool // set once the failovers are over
	done     chan struct{}

	// Written by the reader; read once done is closed.
	replies []string
	ended   error // why the reader stopped before the end marker, or nil
}

const (
	pipeBatch   = 500
	pipeWindow  = 4 * pipeBatch // commands sent and not yet answered, at most
	pipeMin     = 20_000        // commands each client sends at least
	pipeMax     = 400_000       // and at most
	pipeEnd     = "pipeline-end"
	pipeBackoff = 20 * time.Millisecond
)

func startPipeClient(t *testing.T, name, list string, node *harness.Node) *pipeClient {
	conn, err := net.DialTimeout("tcp", node.RESP, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	p := &pipeClient{name: name, list: list, prefix: name + "-", node: node, conn: conn,
		progress: make(chan struct{}, 1), done: make(chan struct{})}
	writerDone := make(chan struct{})
	go p.write(writerDone)
	go p.read(writerDone)
	return p
}

// write sends pipelines of pipeBatch RPUSHes, at most pipeWindow commands
// ahead of the replies, until stop is set and pipeMin were sent (or
// pipeMax, or the connection fails), and then ECHO pipeEnd. After an error
// reply it backs off for pipeBackoff before its next pipeline, as a client
// would, rather than spend its commands on a cluster without a leader.
func (p *pipeClient) write(writerDone chan struct{}) {
	defer close(writerDone)
	var buf []byte
	list := []byte(p.list)
	var errs int64
	for i := 0; i < pipeMax && !(p.stop.Load() && i >= pipeMin); i += pipeBatch {
		if e := p.errs.Load(); e != errs {
			errs = e
			select {
			case <-time.After(pipeBackoff):
			case <-p.done:
				return
			}
		}
		for int(p.sent.Load()-p.got.Load()) > pipeWindow-pipeBatch {
			select {
			case <-p.progress:
			case <-p.done:
				return
			}
		}
		buf = buf[:0]
		for j := i; j < i+pipeBatch; j++ {
			buf = resp.AppendCommand(buf, [][]byte{[]byte("RPUSH"), list, []byte(p.prefix + strconv.Itoa(j))})
		}
		p.sent.Add(pipeBatch)
		p.conn.SetWriteDeadline(time.Now().Add(20 * time.Second))
		if _, err := p.conn.Write(buf); err != nil {
			return
		}
	}
	p.conn.Write(resp.AppendCommand(nil, [][]byte{[]byte("ECHO"), []byte(pipeEnd)}))
}

// read collects replies until the end marker's, or until the connection
// fails or stays silent for 20 s.
func (p *pipeClient) read(writerDone chan struct{}) {
	defer close(p.done)
	r := bufio.NewReaderSize(p.conn, 64<<10)
	for {
		p.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		raw, err := resp.ReadRaw(r)
		if err != nil {
			p.ended = err
			return
		}
		if string(raw) == bulk(pipeEnd) {
			return
		}
		p.replies = append(p.replies, string(raw))
		switch raw[0] {
		case ':':
			p.acks.Add(1)
		case '-':
			p.errs.Add(1)
		}
		p.got.Add(1)
		select {
		case p.progress <- struct{}{}:
		default:
		}
	}
}

// waitAcks waits until more than n of p's writes were acknowledged, or p
// has stopped.
func (p *pipeClient) waitAcks(n int64) error {
	return harness.WaitFor(20*time.Second, func() error {
		select {
		case <-p.done:
			return nil
		default:
		}
		if got := p.acks.Load(); got <= n {
			return fmt.Errorf("client %s has %d acknowledged writes, waiting for more than %d", p.name, got, n)
		}
		return nil
	})
}

// outcome of one RPUSH, from its reply.
type outcome int

const (
	acked   outcome = iota // an integer: applied, the list's new length
	refused                // a definite refusal: not applied
	unknown                // UNKNOWN, or no reply: applied at most once
)

// classify reads one RPUSH reply: an integer, or an error whose code says
// whether the write may have been applied (server/data.go: UNKNOWN when
// the outcome is unknown, CLUSTERDOWN when it was never proposed or
// never reached the leader, TRYAGAIN when raft refused it during a
// leadership transfer).
func classify(raw string) (outcome, int64, error) {
	switch {
	case strings.HasPrefix(raw, ":"):
		n, err := strconv.ParseInt(strings.TrimSuffix(raw[1:], "\r\n"), 10, 64)
		return acked, n, err
	case strings.HasPrefix(raw, "-UNKNOWN "):
		return unknown, 0, nil
	case strings.HasPrefix(raw, "-CLUSTERDOWN "), strings.HasPrefix(raw, "-TRYAGAIN "):
		return refused, 0, nil
	}
	return 0, 0, fmt.Errorf("unexpected reply %q", raw)
}

// check compares p's replies with the final list.
func (p *pipeClient) check(t *testing.T, list []string) {
	t.Helper()
	sent := int(p.sent.Load())
	if p.ended != nil {
		// No client's node stops: its connection should outlive the failovers.
		t.Errorf("client %s: the connection to %s ended after %d replies: %v", p.name, p.node.ID, len(p.replies), p.ended)
	}
	if p.ended == nil && len(p.replies) != sent {
		t.Errorf("client %s: %d replies to %d commands before the end marker's", p.name, len(p.replies), sent)
	}
	if len(p.replies) > sent {
		t.Fatalf("client %s: %d replies to %d commands", p.name, len(p.replies), sent)
	}
	at := map[string]int{} // value -> its index in the list
	prev := -1
	for i, v := range list {
		if _, dup := at[v]; dup {
			t.Errorf("client %s: %s is in the list twice (at %d and %d)", p.name, v, at[v], i)
		}
		at[v] = i
		j, err := strconv.Atoi(strings.TrimPrefix(v, p.prefix))
		if !strings.HasPrefix(v, p.prefix) || err != nil || j >= sent {
			t.Fatalf("client %s: the list holds %q at %d, never sent", p.name, v, i)
		}
		if j <= prev {
			t.Logf("client %s: %s follows %s%d in the list: a write of unknown outcome applied late", p.name, v, p.prefix, prev)
		}
		prev = j
	}
	var counts [3]int
	var last int64
	errs := map[string]int{} // error replies, by text
	for _, r := range p.replies {
		if strings.HasPrefix(r, "-") {
			errs[strings.TrimSpace(r)]++
		}
	}
	for e, n := range errs {
		t.Logf("client %s: %d × %s", p.name, n, e)
	}
	for i := range sent {
		v := p.prefix + strconv.Itoa(i)
		o, n := unknown, int64(0)
		if i < len(p.replies) {
			var err error
			if o, n, err = classify(p.replies[i]); err != nil {
				t.Fatalf("client %s, command %d (RPUSH %s %s): %v", p.name, i, p.list, v, err)
			}
		}
		counts[o]++
		idx, in := at[v]
		switch o {
		case acked:
			if n <= last {
				t.Errorf("client %s, command %d: RPUSH answered %d after %d: lengths must increase", p.name, i, n, last)
			}
			last = n
			if !in || idx != int(n-1) {
				t.Errorf("client %s, command %d: RPUSH %s answered %d, but the list holds it at index %d (present %v), want %d",
					p.name, i, v, n, idx, in, n-1)
			}
		case refused:
			if in {
				t.Errorf("client %s, command %d: RPUSH %s was refused (%q) yet applied, at index %d",
					p.name, i, v, strings.TrimSpace(p.replies[i]), idx)
			}
		}
	}
	t.Logf("client %s on %s: %d sent, %d replies (ended: %v); %d acknowledged, %d refused, %d unknown; list length %d",
		p.name, p.node.ID, sent, len(p.replies), p.ended, counts[acked], counts[refused], counts[unknown], len(list))
	if counts[acked] == 0 {
		t.Errorf("client %s: no write was acknowledged: the test tested nothing", p.name)
	}
}

// Two clients pipeline RPUSHes, one at the leader and one at a follower,
// while leadership moves: transferred to the other follower, that leader
// killed (and restarted), transferred again. Every command gets one reply,
// in order; an acknowledged push is in the list exactly once, at the index
// its reply names; a refused one is not in it; one of unknown outcome is
// in it at most once.
func TestE2E_PipelinedWritesInOrderUnderFailover(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3)
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	followers := c.Followers(leader)
	other := followers[1] // no client: it leads, is killed, comes back
	clients := []*pipeClient{
		startPipeClient(t, "atleader", "pipe:a", leader),
		startPipeClient(t, "atfollower", "pipe:b", followers[0]),
	}
	started := time.Now()
	step := func(what string) {
		t.Helper()
		for _, p := range clients {
			if err := p.waitAcks(p.acks.Load() + 2*pipeBatch); err != nil {
				t.Fatalf("before %s: %v\n%s", what, err, c.Logs())
			}
		}
		t.Logf("%v: %s (replies %d and %d, acknowledged %d and %d)", time.Since(started).Round(time.Millisecond), what,
			clients[0].got.Load(), clients[1].got.Load(), clients[0].acks.Load(), clients[1].acks.Load())
	}
	newLeader := func() *harness.Node {
		t.Helper()
		l, err := c.Leader(15 * time.Second)
		if err != nil {
			t.Fatalf("no leader: %v\n%s", err, c.Logs())
		}
		return l
	}

	step("transfer leadership to " + other.ID)
	if got, err := leader.Do("RAFT.TRANSFER", other.ID); err != nil || got != "+OK\r\n" {
		t.Fatalf("RAFT.TRANSFER %s = %q, %v", other.ID, got, err)
	}
	if l := newLeader(); l != other {
		t.Fatalf("after RAFT.TRANSFER %s, %s leads", other.ID, l.ID)
	}

	step("kill the leader " + other.ID)
	other.Kill()
	l := newLeader()
	t.Logf("%v: %s leads", time.Since(started).Round(time.Millisecond), l.ID)
	other.Start()

	step("transfer leadership away from " + l.ID)
	if got, err := l.Do("RAFT.TRANSFER"); err != nil || got != "+OK\r\n" {
		t.Fatalf("RAFT.TRANSFER = %q, %v", got, err)
	}
	l = newLeader()
	t.Logf("%v: %s leads", time.Since(started).Round(time.Millisecond), l.ID)
	step("let the clients finish")

	for _, p := range clients {
		p.stop.Store(true)
	}
	for _, p := range clients {
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			t.Fatalf("client %s: no end after 30 s (%d sent, %d replies)\n%s", p.name, p.sent.Load(), p.got.Load(), c.Logs())
		}
	}

	// A write at the leader settles the log: once it is applied, every
	// earlier entry is, and none of the clients' writes is left to apply.
	var lists [2][]string
	if err := harness.WaitFor(20*time.Second, func() error {
		l, err := c.Leader(time.Second)
		if err != nil {
			return err
		}
		if got, err := l.Do("SET", "pipe:settled", "1"); err != nil || got != "+OK\r\n" {
			return fmt.Errorf("SET at %s = %q, %v", l.ID, got, err)
		}
		for i, p := range clients {
			raw, err := l.Do("LRANGE", p.list, "0", "-1")
			if err != nil {
				return err
			}
			v, _, err := resp.Parse([]byte(raw))
			if err != nil || v.Kind != resp.KindArray {
				return fmt.Errorf("LRANGE %s at %s = %.100q, %v", p.list, l.ID, raw, err)
			}
			lists[i] = lists[i][:0]
			for _, e := range v.Elems {
				lists[i] = append(lists[i], string(e.Str))
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
	for i, p := range clients {
		p.check(t, lists[i])
	}
	t.Logf("%v in all", time.Since(started).Round(time.Millisecond))
	if t.Failed() {
		t.Log(c.Logs())
	}
}
