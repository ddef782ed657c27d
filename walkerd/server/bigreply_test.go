package server

import (
	"bufio"
	"bytes"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
)

// bigCmd is one command's encoding.
func bigCmd(args ...[]byte) []byte { return encodeCommand(args) }

// pipelineReplies connects to addr, runs setup (each command answered
// before the next), then writes in in one write before reading any reply,
// as redis-py's pipeline does, and reads n replies: their raw bytes, in
// order. The write and the reads all end within wait.
func pipelineReplies(t *testing.T, addr string, setup [][][]byte, in []byte, n int, wait time.Duration) []byte {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	r := bufio.NewReaderSize(nc, 1<<20)
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	for _, cmd := range setup {
		if _, err := nc.Write(encodeCommand(cmd)); err != nil {
			t.Fatal(err)
		}
		if raw, err := resp.ReadRaw(r); err != nil || resp.IsError(raw) {
			t.Fatalf("setup %q: %.80q %v", cmd[0], raw, err)
		}
	}
	start := time.Now()
	nc.SetDeadline(start.Add(wait))
	if _, err := nc.Write(in); err != nil {
		t.Fatalf("%s: writing the pipeline (%d bytes) for %v: %v", addr, len(in), time.Since(start), err)
	}
	var out []byte
	for i := range n {
		if out, err = resp.ReadRawAppend(r, out); err != nil {
			t.Fatalf("%s: reply %d of %d after %v: %v", addr, i+1, n, time.Since(start), err)
		}
	}
	t.Logf("%s: %d replies, %d bytes in %v", addr, n, len(out), time.Since(start))
	return out
}

// A client that writes its whole pipeline before it reads (redis-py) and
// whose pipeline holds a GET of a large value followed by a larger SET gets
// every reply within seconds, byte for byte as redis-server's: while the
// GET's reply waits for the client to read, walkerd goes on reading the
// client's commands, to run once the reply is written (guard.go's
// readAside; WalkerDB issue 12: without it, walkerd blocks in the reply's
// write while the client blocks in its SET's, until the write stall cuts
// the connection).
func TestBigReply_PipelineOfBigGetsAndSetsDoesNotDeadlock(t *testing.T) {
	redis := startRedis(t)
	s := startServer(t, Config{})
	val := func(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }
	setup := [][][]byte{{[]byte("SET"), []byte("big"), val('b', 8<<20)}}
	for _, tc := range []struct {
		name string
		cmds [][][]byte
	}{
		{"one", [][][]byte{
			{[]byte("GET"), []byte("big")},
			{[]byte("SET"), []byte("k"), val('k', 16<<20)},
			{[]byte("GET"), []byte("k")},
			{[]byte("PING")},
		}},
		{"three", [][][]byte{
			{[]byte("GET"), []byte("big")},
			{[]byte("SET"), []byte("k1"), val('1', 16<<20)},
			{[]byte("GET"), []byte("big")},
			{[]byte("SET"), []byte("k2"), val('2', 16<<20)},
			{[]byte("GET"), []byte("big")},
			{[]byte("SET"), []byte("k3"), val('3', 16<<20)},
			{[]byte("GET"), []byte("k1")},
			{[]byte("STRLEN"), []byte("k3")},
			{[]byte("DEL"), []byte("k1"), []byte("k2"), []byte("k3")},
			{[]byte("PING")},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in []byte
			for _, cmd := range tc.cmds {
				in = append(in, bigCmd(cmd...)...)
			}
			want := pipelineReplies(t, redis, setup, in, len(tc.cmds), 30*time.Second)
			got := pipelineReplies(t, s.addr, setup, in, len(tc.cmds), 10*time.Second)
			if !bytes.Equal(got, want) {
				t.Fatalf("walkerd's %d bytes of replies differ from redis-server's %d", len(got), len(want))
			}
		})
	}
}

// A client that pipelines many GETs of large values, between SETs of
// larger ones, while it reads its replies slowly, gets every byte of every
// reply, in order: its pipeline is sent by one goroutine while another
// takes the replies a small read at a time.
func TestBigReply_SlowReaderOfAPipelineOfBigGetsGetsEveryByteInOrder(t *testing.T) {
	setWriteStall(t, 5*time.Second)
	s := startServer(t, Config{})
	const keys, rounds = 8, 4
	val := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i)}, 1<<20+i) }
	setup := dial(t, s.addr)
	setup.wait = 30 * time.Second
	for i := range keys {
		if _, err := setup.doBytes([]byte("SET"), []byte("g"+itoa(int64(i))), val(i)); err != nil {
			t.Fatal(err)
		}
	}
	// Each round: a GET of every key, then a SET of 2 MiB the client sends
	// while earlier replies wait for it to read them.
	var in, want []byte
	for r := range rounds {
		for i := range keys {
			in = append(in, bigCmd([]byte("GET"), []byte("g"+itoa(int64(i))))...)
			want = append(want, "$"+itoa(int64(len(val(i))))+"\r\n"...)
			want = append(want, val(i)...)
			want = append(want, "\r\n"...)
		}
		in = append(in, bigCmd([]byte("SET"), []byte("s"+itoa(int64(r))), bytes.Repeat([]byte{'s'}, 2<<20))...)
		want = append(want, "+OK\r\n"...)
	}
	in = append(in, bigCmd([]byte("PING"))...)
	want = append(want, "+PONG\r\n"...)

	c := dial(t, s.addr)
	c.c.SetDeadline(time.Now().Add(60 * time.Second))
	sent := make(chan error, 1)
	go func() {
		// In pieces, as a client's socket writes go.
		for rest := in; len(rest) > 0; {
			n := min(len(rest), 300<<10)
			if _, err := c.c.Write(rest[:n]); err != nil {
				sent <- err
				return
			}
			rest = rest[n:]
		}
		sent <- nil
	}()
	got := make([]byte, 0, len(want))
	buf := make([]byte, 64<<10)
	for len(got) < len(want) {
		time.Sleep(2 * time.Millisecond)
		n, err := c.c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("after %d of %d bytes: %v", len(got), len(want), err)
		}
		if !bytes.Equal(got, want[:min(len(got), len(want))]) {
			t.Fatalf("the replies differ from the expected ones within their first %d bytes", len(got))
		}
	}
	if err := <-sent; err != nil {
		t.Fatalf("sending the pipeline: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d bytes of replies, want %d", len(got), len(want))
	}
}

// While a reply waits for a client that is still sending, the commands read
// meanwhile are held up to client-query-buffer-limit, large arguments
// included: a client that sends far more than that before it reads is no
// longer read until it reads (as before the wait), and then gets every
// reply. The large arguments used to be left out of the count, so such a
// client could make the server hold all it sent.
func TestBigReply_CommandsReadWhileAReplyWaitsAreBounded(t *testing.T) {
	setWriteStall(t, 20*time.Second)
	s := startServer(t, Config{})
	admin := dial(t, s.addr)
	admin.wait = 30 * time.Second
	big := bytes.Repeat([]byte{'b'}, 8<<20)
	if _, err := admin.doBytes([]byte("SET"), []byte("big"), big); err != nil {
		t.Fatal(err)
	}
	if got := admin.must(t, "CONFIG", "SET", "client-query-buffer-limit", "4mb"); got != "+OK" {
		t.Fatal(got)
	}
	const sets = 40
	in := bigCmd([]byte("GET"), []byte("big"))
	for i := range sets {
		in = append(in, bigCmd([]byte("SET"), []byte("s"+itoa(int64(i))), bytes.Repeat([]byte{'s'}, 3<<20))...)
	}
	in = append(in, bigCmd([]byte("PING"))...)
	c := dial(t, s.addr)
	if got := c.must(t, "PING"); got != "+PONG" {
		t.Fatal(got)
	}
	c.c.SetDeadline(time.Now().Add(60 * time.Second))
	var written atomic.Int64
	sent := make(chan error, 1)
	go func() {
		for rest := in; len(rest) > 0; {
			n, err := c.c.Write(rest[:min(len(rest), 256<<10)])
			written.Add(int64(n))
			if err != nil {
				sent <- err
				return
			}
			rest = rest[n:]
		}
		sent <- nil
	}()
	// Wait until the client's writes stop moving (or end).
	last, since := int64(-1), time.Now()
	for time.Since(since) < time.Second {
		select {
		case err := <-sent:
			t.Fatalf("the whole pipeline (%d bytes) went in before any reply was read (%v): the server held it all", len(in), err)
		case <-time.After(20 * time.Millisecond):
		}
		if w := written.Load(); w != last {
			last, since = w, time.Now()
		}
	}
	// The limit (4 MiB), a command in progress and the sockets' buffers.
	if last > int64(len(in))/2 {
		t.Fatalf("the server took %d of the pipeline's %d bytes before any reply was read", last, len(in))
	}
	t.Logf("the server took %d of %d bytes before the client read", last, len(in))
	if v, err := readValue(c); err != nil || !bytes.Equal(v.Str, big) {
		t.Fatalf("GET big: %d bytes, %v", len(v.Str), err)
	}
	for i := range sets {
		if v, err := readValue(c); err != nil || format(v) != "+OK" {
			t.Fatalf("SET %d: %s %v", i, format(v), err)
		}
	}
	if v, err := readValue(c); err != nil || format(v) != "+PONG" {
		t.Fatalf("PING: %s %v", format(v), err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if got := admin.must(t, "STRLEN", "s"+itoa(sets-1)); got != ":"+itoa(3<<20) {
		t.Fatalf("STRLEN of the last SET's key = %s", got)
	}
}
