package main

import (
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// fakeReady becomes ready when told; asked counts the questions.
type fakeReady struct{ ready, asked atomic.Int32 }

func (f *fakeReady) Ready() bool { f.asked.Add(1); return f.ready.Load() == 1 }

// notifySocket listens on a unixgram socket named by NOTIFY_SOCKET, as
// systemd does for a Type=notify unit.
func notifySocket(t *testing.T) *net.UnixConn {
	path := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return c
}

func readDatagram(t *testing.T, c *net.UnixConn, wait time.Duration) (string, bool) {
	t.Helper()
	buf := make([]byte, 512)
	c.SetReadDeadline(time.Now().Add(wait))
	n, err := c.Read(buf)
	if err != nil {
		return "", false
	}
	return string(buf[:n]), true
}

// TestNotify_ReadyOnlyOnceTheBackendIsReady: READY=1 reaches
// $NOTIFY_SOCKET once the backend is ready, not before; STOPPING=1 when
// the node stops.
func TestNotify_ReadyOnlyOnceTheBackendIsReady(t *testing.T) {
	sock := notifySocket(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	be := &fakeReady{}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { notifyWhenReady(log, be, time.Now(), stop); close(done) }()

	// Asked a few times while not ready: nothing sent.
	deadline := time.Now().Add(10 * time.Second)
	for be.asked.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("readiness never asked")
		}
		time.Sleep(time.Millisecond)
	}
	if msg, ok := readDatagram(t, sock, time.Millisecond); ok {
		t.Fatalf("sent %q before the backend was ready", msg)
	}
	be.ready.Store(1)
	msg, ok := readDatagram(t, sock, 10*time.Second)
	if !ok || msg != "READY=1" {
		t.Fatalf("got %q (%v), want READY=1", msg, ok)
	}
	<-done
	notifyStopping(log)
	if msg, ok := readDatagram(t, sock, 10*time.Second); !ok || msg != "STOPPING=1" {
		t.Fatalf("got %q (%v), want STOPPING=1", msg, ok)
	}
}

// TestNotify_StandaloneAndStop: a backend without Ready is ready at once;
// a node stopped before it was ready sends nothing.
func TestNotify_StandaloneAndStop(t *testing.T) {
	sock := notifySocket(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	notifyWhenReady(log, struct{}{}, time.Now(), nil)
	if msg, ok := readDatagram(t, sock, 10*time.Second); !ok || msg != "READY=1" {
		t.Fatalf("standalone: got %q (%v), want READY=1", msg, ok)
	}
	stop := make(chan struct{})
	close(stop)
	notifyWhenReady(log, &fakeReady{}, time.Now(), stop) // returns: stopped
	if msg, ok := readDatagram(t, sock, 50*time.Millisecond); ok {
		t.Fatalf("sent %q though the node stopped before it was ready", msg)
	}
}
