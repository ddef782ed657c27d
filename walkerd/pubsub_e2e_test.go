package main_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
	"github.com/walkerdb/walkerdb/internal/resp"
)

// psConn is a raw RESP connection that reads pushed messages.
type psConn struct {
	c net.Conn
	r *bufio.Reader
}

func psDial(t testing.TB, addr string) *psConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &psConn{c: c, r: bufio.NewReaderSize(c, 64<<10)}
}

func (p *psConn) send(args ...string) {
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	p.c.Write(resp.AppendCommand(nil, bs))
}

func (p *psConn) read(d time.Duration) (resp.Value, error) {
	p.c.SetReadDeadline(time.Now().Add(d))
	return resp.ReadValue(p.r)
}

func (p *psConn) do(t testing.TB, args ...string) resp.Value {
	t.Helper()
	p.send(args...)
	v, err := p.read(10 * time.Second)
	if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	return v
}

// Subscribers on every node (channel and pattern) get every message
// published on every node, each publisher's in the order published; each
// PUBLISH counts the receiving node's subscribers; keyspace notifications
// of a write made through a follower reach every node.
func TestE2E_PubsubAcrossNodes(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3)
	if _, err := c.Leader(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	const perPublisher = 60
	var subs []*psConn
	for _, n := range c.Nodes {
		s := psDial(t, n.RESP)
		if v := s.do(t, "SUBSCRIBE", "news"); len(v.Elems) != 3 || v.Elems[2].Int != 1 {
			t.Fatalf("SUBSCRIBE on %s: %v", n.ID, v)
		}
		p := psDial(t, n.RESP)
		if v := p.do(t, "PSUBSCRIBE", "n*"); len(v.Elems) != 3 || v.Elems[2].Int != 1 {
			t.Fatalf("PSUBSCRIBE on %s: %v", n.ID, v)
		}
		k := psDial(t, n.RESP)
		if got := k.do(t, "CONFIG", "SET", "notify-keyspace-events", "K$"); string(got.Str) != "OK" {
			t.Fatalf("CONFIG SET: %v", got)
		}
		k.do(t, "SUBSCRIBE", "__keyspace@0__:kx")
		subs = append(subs, s, p, k)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for i, n := range c.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pc, err := harness.Dial(n.RESP)
			if err != nil {
				errs <- err
				return
			}
			defer pc.Close()
			for seq := range perPublisher {
				got, err := pc.Do("PUBLISH", "news", fmt.Sprintf("p%d-%d", i, seq))
				if err != nil || got != ":2\r\n" {
					errs <- fmt.Errorf("PUBLISH on %s: %q %v (want :2: this node's two subscribers)", n.ID, got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// A write through a follower: every node notifies it.
	if got, err := c.Nodes[1].Do("SET", "kx", "v"); err != nil || got != "+OK\r\n" {
		t.Fatalf("SET: %q %v", got, err)
	}
	for si, s := range subs {
		node := c.Nodes[si/3].ID
		if si%3 == 2 {
			v, err := s.read(10 * time.Second)
			if err != nil || len(v.Elems) != 3 || string(v.Elems[2].Str) != "set" {
				t.Errorf("keyspace subscriber on %s: %v %v", node, v, err)
			}
			continue
		}
		next := make([]int, 3)
		for range 3 * perPublisher {
			v, err := s.read(10 * time.Second)
			if err != nil {
				t.Fatalf("subscriber %d on %s: %v (next %v)", si, node, err, next)
			}
			msg := string(v.Elems[len(v.Elems)-1].Str)
			var pub, seq int
			if _, err := fmt.Sscanf(msg, "p%d-%d", &pub, &seq); err != nil || pub < 0 || pub > 2 {
				t.Fatalf("subscriber %d on %s: message %v", si, node, v)
			}
			if seq != next[pub] {
				t.Fatalf("subscriber %d on %s: publisher %d's message %d, want %d", si, node, pub, seq, next[pub])
			}
			next[pub]++
		}
	}
	for _, n := range c.Nodes {
		info, err := n.Info()
		if err != nil || info["pubsub_entries_missed"] != "0" {
			t.Errorf("INFO raft on %s: pubsub_entries_missed %q (%v)", n.ID, info["pubsub_entries_missed"], err)
		}
		stats, _ := n.Do("INFO", "stats")
		for _, want := range []string{"pubsub_channels:2\r\n", "pubsub_patterns:1\r\n", "pubsub_messages_applied:180\r\n"} {
			if !strings.Contains(stats, want) {
				t.Errorf("INFO stats on %s lacks %q: %s", n.ID, want, stats)
			}
		}
		got, _ := n.Do("PUBSUB", "NUMSUB", "news")
		if got != "*2\r\n$4\r\nnews\r\n:1\r\n" {
			t.Errorf("PUBSUB NUMSUB on %s: %q", n.ID, got)
		}
	}
}

// "new" keyspace events (class n) on a cluster: each node publishes them
// as its own notify-keyspace-events asks, for writes made through any
// node. A node that has them off skips the lookup that tells a created key
// (Store.SetNewEvents), and turning them on later brings them back. Each
// subscriber must hear exactly the keys created, in order: a write over a
// present key is no "new".
func TestE2E_NewKeyEventsFollowEachNodesSetting(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3)
	if _, err := c.Leader(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	subs := make([]*psConn, len(c.Nodes))
	for i, n := range c.Nodes {
		classes := "En"
		if i == 0 {
			classes = "E$" // no "new" on node 0, for now
		}
		if got := psDial(t, n.RESP).do(t, "CONFIG", "SET", "notify-keyspace-events", classes); string(got.Str) != "OK" {
			t.Fatalf("CONFIG SET on %s: %v", n.ID, got)
		}
		subs[i] = psDial(t, n.RESP)
		if v := subs[i].do(t, "SUBSCRIBE", "__keyevent@0__:new"); len(v.Elems) != 3 || v.Elems[2].Int != 1 {
			t.Fatalf("SUBSCRIBE on %s: %v", n.ID, v)
		}
	}
	set := func(via int, key string) {
		t.Helper()
		if got, err := c.Nodes[via].Do("SET", key, "v"); err != nil || got != "+OK\r\n" {
			t.Fatalf("SET %s through %s: %q %v", key, c.Nodes[via].ID, got, err)
		}
	}
	expect := func(i int, keys ...string) {
		t.Helper()
		for _, key := range keys {
			v, err := subs[i].read(10 * time.Second)
			if err != nil || len(v.Elems) != 3 || string(v.Elems[2].Str) != key {
				t.Fatalf("subscriber on %s: %v %v, want the new key %s", c.Nodes[i].ID, v, err, key)
			}
		}
	}
	set(0, "a")
	set(1, "a") // present: no "new"
	set(2, "b")
	set(0, "b")
	expect(1, "a", "b")
	expect(2, "a", "b")
	if got := psDial(t, c.Nodes[0].RESP).do(t, "CONFIG", "SET", "notify-keyspace-events", "En"); string(got.Str) != "OK" {
		t.Fatalf("CONFIG SET on %s: %v", c.Nodes[0].ID, got)
	}
	set(1, "a")
	set(1, "c")
	expect(0, "c") // node 0 heard nothing of a or b
	expect(1, "c")
	expect(2, "c")
}

// TestE2E_PubsubFanoutBench measures 1 publisher, 100 subscribers across
// 3 nodes: messages per second and p99 delivery latency. Opt in with
// WALKERD_PUBSUB_BENCH=1 (WALKERD_PUBSUB_BENCH_N messages, default 2000; WALKERD_PUBSUB_BENCH_PIPE
// PUBLISHes in flight, default 1).
func TestE2E_PubsubFanoutBench(t *testing.T) {
	if os.Getenv("WALKERD_PUBSUB_BENCH") == "" {
		t.Skip("set WALKERD_PUBSUB_BENCH=1 to run the fan-out benchmark")
	}
	total := 2000
	if v, err := strconv.Atoi(os.Getenv("WALKERD_PUBSUB_BENCH_N")); err == nil && v > 0 {
		total = v
	}
	c := harness.StartCluster(t, bin(t), 3)
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	const nsubs = 100
	lat := make([][]time.Duration, nsubs)
	var wg sync.WaitGroup
	for i := range nsubs {
		s := psDial(t, c.Nodes[i%3].RESP)
		s.do(t, "SUBSCRIBE", "bench")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range total {
				v, err := s.read(30 * time.Second)
				if err != nil {
					t.Errorf("subscriber %d: %v", i, err)
					return
				}
				ns, _ := strconv.ParseInt(string(v.Elems[2].Str), 10, 64)
				lat[i] = append(lat[i], time.Duration(time.Now().UnixNano()-ns))
			}
		}()
	}
	depth := 1
	if v, err := strconv.Atoi(os.Getenv("WALKERD_PUBSUB_BENCH_PIPE")); err == nil && v > 0 {
		depth = v
	}
	{
		mode := fmt.Sprintf("pipeline depth %d", depth)
		pub := psDial(t, leader.RESP)
		start := time.Now()
		for sent := 0; sent < total; {
			k := min(depth, total-sent)
			for range k {
				pub.send("PUBLISH", "bench", strconv.FormatInt(time.Now().UnixNano(), 10))
			}
			for range k {
				if v, err := pub.read(10 * time.Second); err != nil || v.Kind != resp.KindInt {
					t.Fatalf("PUBLISH: %v %v", v, err)
				}
			}
			sent += k
		}
		wg.Wait()
		el := time.Since(start)
		var all []time.Duration
		for _, l := range lat {
			all = append(all, l...)
		}
		slices.Sort(all)
		p := func(q float64) time.Duration { return all[int(q*float64(len(all)-1))] }
		t.Logf("%s publisher on the leader, %d subscribers on 3 nodes: %d messages in %v: %.0f msg/s published, %.0f deliveries/s; latency p50 %v p99 %v max %v",
			mode, nsubs, total, el.Round(time.Millisecond), float64(total)/el.Seconds(), float64(len(all))/el.Seconds(),
			p(0.5), p(0.99), all[len(all)-1])
		if len(all) != total*nsubs {
			t.Errorf("%d deliveries, want %d", len(all), total*nsubs)
		}
	}
}
