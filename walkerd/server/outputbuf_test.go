package server

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

// setWriteStall makes the connections accepted from now until the test
// ends give up on a client after d without progress.
func setWriteStall(t *testing.T, d time.Duration) {
	old := writeStall.Swap(int64(d))
	t.Cleanup(func() { writeStall.Store(old) })
}

// One write of SET and 40 GETs of a 1 MiB value: 40 MiB of replies for a
// client that reads them all. walkerd used to hold a pipeline's replies
// and close the connection past 32 MiB, without one byte of reply though
// the SET was applied.
func TestOutput_LongPipelineOfLargeRepliesGetsEveryReply(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	big := strings.Repeat("v", 1<<20)
	if got := c.must(t, "SET", "big", big); got != "+OK" {
		t.Fatal(got)
	}
	const gets = 40
	in := encodeCommand([][]byte{[]byte("SET"), []byte("marker"), []byte("applied")})
	for range gets {
		in = append(in, encodeCommand([][]byte{[]byte("GET"), []byte("big")})...)
	}
	in = append(in, encodeCommand([][]byte{[]byte("PING")})...)
	c.c.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := c.c.Write(in); err != nil {
		t.Fatal(err)
	}
	if v, err := readValue(c); err != nil || format(v) != "+OK" {
		t.Fatalf("SET marker: %s %v", format(v), err)
	}
	for i := range gets {
		v, err := readValue(c)
		if err != nil || v.Kind != '$' || string(v.Str) != big {
			t.Fatalf("GET %d of %d: %d bytes, %v", i+1, gets, len(v.Str), err)
		}
	}
	if v, err := readValue(c); err != nil || format(v) != "+PONG" {
		t.Fatalf("PING: %s %v", format(v), err)
	}
	if got := dial(t, s.addr).must(t, "GET", "marker"); got != `"applied"` {
		t.Errorf("GET marker = %s", got)
	}
}

// A client that reads slowly, but keeps reading, is never cut off.
func TestOutput_SlowReaderKeepsItsConnection(t *testing.T) {
	setWriteStall(t, 300*time.Millisecond)
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	big := strings.Repeat("v", 1<<20)
	c.must(t, "SET", "big", big)
	var in []byte
	for range 12 {
		in = append(in, encodeCommand([][]byte{[]byte("GET"), []byte("big")})...)
	}
	c.c.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := c.c.Write(in); err != nil {
		t.Fatal(err)
	}
	reply := []byte("$1048576\r\n" + big + "\r\n")
	want := bytes.Repeat(reply, 12)
	got := make([]byte, 0, len(want))
	buf := make([]byte, 256<<10)
	for len(got) < len(want) {
		time.Sleep(20 * time.Millisecond)
		n, err := c.c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("after %d of %d bytes: %v", len(got), len(want), err)
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the replies differ from 12 GETs of big")
	}
}

// A client that pipelines reads of a large value and never reads the
// replies costs the server a bounded amount: it stops running the
// client's commands while the socket is full, and closes the connection
// once the client has taken nothing for the stall time.
func TestOutput_ClientThatNeverReadsIsCutOffWithBoundedMemory(t *testing.T) {
	setWriteStall(t, 300*time.Millisecond)
	s := startServer(t, Config{})
	admin := dial(t, s.addr)
	admin.must(t, "SET", "big", strings.Repeat("v", 1<<20))
	c := dial(t, s.addr)
	if got := c.must(t, "PING"); got != "+PONG" { // c is registered
		t.Fatal(got)
	}
	c.c.SetDeadline(time.Time{})
	const gets = 400
	var in []byte
	for range gets {
		in = append(in, encodeCommand([][]byte{[]byte("GET"), []byte("big")})...)
	}
	before := s.stats.commands.Load()
	if _, err := c.c.Write(in); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	deadline := start.Add(10 * time.Second)
	for {
		s.mu.Lock()
		n := len(s.conns)
		s.mu.Unlock()
		if n == 1 {
			break // only admin
		}
		if time.Now().After(deadline) {
			t.Fatalf("the never-reading client still has its connection (%d connections)", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("cut off after %v", time.Since(start))
	// The replies it was given fit in the socket buffers and one flush:
	// far fewer than the 400 GETs it sent (400 MiB of replies).
	if ran := s.stats.commands.Load() - before; ran > 100 {
		t.Errorf("the server ran %d of the %d GETs for a client that reads nothing", ran, gets)
	}
	// What the client now reads is whole replies, then the end.
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, c.c); err != nil && !isReset(err) {
		t.Errorf("reading after the cut: %v", err)
	}
	if got := admin.must(t, "PING"); got != "+PONG" {
		t.Errorf("PING = %s", got)
	}
}
