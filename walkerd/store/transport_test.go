package store

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/walkerdb/walkerdb/walkerd/nodelink"
)

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func newTestStream(t *testing.T, links *nodelink.Config, log io.Writer) *streamLayer {
	t.Helper()
	s, err := newStreamLayer("127.0.0.1:0", "", links, slog.New(slog.NewTextHandler(log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Raft connections between stream layers with the same secret carry data;
// a dialer with another secret, or a plain TCP client speaking raft's
// protocol, gets nothing through Accept, and the listener logs one WARN
// for the burst of failures.
func TestStreamLayer_HandshakeGuardsAccept(t *testing.T) {
	secret := &nodelink.Config{Secret: []byte("a-cluster-secret-of-some-length"), Timeout: 2 * time.Second}
	var logs syncBuffer
	ln := newTestStream(t, secret, &logs)
	addr := raft.ServerAddress(ln.Addr().String())

	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()

	// Strangers first: another secret, then raw bytes.
	other := newTestStream(t, &nodelink.Config{Secret: []byte("another-secret-of-some-length")}, io.Discard)
	if _, err := other.Dial(addr, time.Second); err == nil {
		t.Fatal("a dialer with another secret linked")
	}
	raw, err := net.Dial("tcp", string(addr))
	if err != nil {
		t.Fatal(err)
	}
	raw.Write([]byte{0, 0x85, 0xa4, 'T', 'e', 'r', 'm', 100}) // rpcAppendEntries, msgpack
	raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := raw.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("raw raft bytes: read %d, %v; want the connection closed", n, err)
	}
	raw.Close()

	// A member.
	member := newTestStream(t, secret, io.Discard)
	c, err := member.Dial(addr, time.Second)
	if err != nil {
		t.Fatalf("member dial: %v", err)
	}
	defer c.Close()
	c.Write([]byte("raft bytes"))
	select {
	case a := <-accepted:
		buf := make([]byte, 10)
		a.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(a, buf); err != nil || string(buf) != "raft bytes" {
			t.Fatalf("first accepted connection read %q, %v: want the member's", buf, err)
		}
		a.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("the member's connection was not accepted")
	}
	// A failure is logged just after its connection closes, on the
	// handshake's goroutine: wait for the line, then check it is alone
	// (the burst's second failure is held back whenever it comes).
	for deadline := time.Now().Add(5 * time.Second); strings.Count(logs.String(), "raft link handshake failed") == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if n := strings.Count(logs.String(), "raft link handshake failed"); n != 1 {
		t.Fatalf("%d WARN lines for two failures in a burst, want 1:\n%s", n, logs.String())
	}
	ln.Close()
	if _, ok := <-accepted; ok {
		t.Fatal("Accept handed out a connection after the stranger ones")
	}
}
