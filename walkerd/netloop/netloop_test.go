//go:build linux

package netloop

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// lineConn is a test connection's state: the lines read so far, and
// which side answered each (the loop, or the goroutine).
type lineConn struct {
	buf    []byte
	atLoop atomic.Int64 // lines the loop answered
	atGo   atomic.Int64 // lines the goroutine answered
	err    error        // the end the loop found
}

// echoServer serves lines: the loop answers "fast ..." lines itself and
// hands any other to the connection's goroutine, which answers it with
// the blocking Write (after a pause for "slow ..."), then yields.
type echoServer struct {
	t     *testing.T
	l     *Loop
	ln    net.Listener
	wg    sync.WaitGroup
	conns chan *Conn
}

func startEcho(t *testing.T) *echoServer {
	t.Helper()
	e := &echoServer{t: t, conns: make(chan *Conn, 64)}
	l, err := New(e.input, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.l = l
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.ln = ln
	e.wg.Add(1)
	go e.accept()
	t.Cleanup(func() {
		ln.Close()
		e.wg.Wait()
		l.Close()
	})
	return e
}

func (e *echoServer) accept() {
	defer e.wg.Done()
	for {
		nc, err := e.ln.Accept()
		if err != nil {
			return
		}
		lc := &lineConn{}
		c, err := e.l.Add(nc, func(c *Conn) { c.Ctx = lc })
		if err != nil {
			e.t.Error(err)
			nc.Close()
			continue
		}
		e.conns <- c
		e.wg.Add(1)
		go e.serve(c, lc)
	}
}

// readLines reads what the socket holds into lc.buf without waiting;
// it reports whether it took all (EAGAIN or a short read) and the error.
func readLines(c *Conn, lc *lineConn) (drained bool, err error) {
	var b [64]byte // small: a line often needs several reads
	n, err := c.ReadNow(b[:])
	if err == syscall.EAGAIN {
		return true, nil
	}
	lc.buf = append(lc.buf, b[:n]...)
	return n < len(b) && !c.HungUp(), err
}

// nextLine takes the first whole line of lc.buf.
func nextLine(lc *lineConn) (string, bool) {
	i := bytes.IndexByte(lc.buf, '\n')
	if i < 0 {
		return "", false
	}
	line := string(lc.buf[:i])
	lc.buf = lc.buf[i+1:]
	return line, true
}

// input is the Handler: fast lines are answered here.
func (e *echoServer) input(c *Conn) bool {
	lc := c.Ctx.(*lineConn)
	for range 8 {
		drained, err := readLines(c, lc)
		if err != nil {
			lc.err = err
			c.HandOff(true)
			return false
		}
		for {
			if bytes.HasPrefix(lc.buf, []byte("fast ")) {
				line, ok := nextLine(lc)
				if !ok {
					break
				}
				if _, err := syscall.Write(c.fd, []byte(line+" loop\n")); err != nil {
					e.t.Errorf("loop write: %v", err)
				}
				lc.atLoop.Add(1)
				continue
			}
			if bytes.IndexByte(lc.buf, '\n') >= 0 {
				c.HandOff(drained)
				return false
			}
			break
		}
		if drained {
			return false
		}
	}
	return true
}

// serve is the connection's goroutine.
func (e *echoServer) serve(c *Conn, lc *lineConn) {
	defer e.wg.Done()
	defer c.Close()
	for {
		line, ok := nextLine(lc)
		if !ok {
			if lc.err != nil {
				return
			}
			parked, err := c.Yield()
			if err != nil {
				return
			}
			if !parked {
				drained, err := readLines(c, lc)
				if err != nil {
					return
				}
				if !drained {
					c.Unread()
				}
			}
			continue
		}
		if strings.HasPrefix(line, "slow ") {
			time.Sleep(time.Millisecond)
		}
		if _, err := c.Write([]byte(line + " go\n")); err != nil {
			return
		}
		lc.atGo.Add(1)
	}
}

func dialEcho(t *testing.T, e *echoServer) (net.Conn, *bufio.Reader, *Conn) {
	t.Helper()
	nc, err := net.Dial("tcp", e.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	select {
	case c := <-e.conns:
		return nc, bufio.NewReader(nc), c
	case <-time.After(5 * time.Second):
		t.Fatal("not accepted")
	}
	return nil, nil, nil
}

// expectLine reads line's answer: from the goroutine, or for a fast
// line from either side (the goroutine answers what it reads itself,
// input that came while it held the connection).
func expectLine(t *testing.T, nc net.Conn, r *bufio.Reader, line string) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("want %q's answer: %v", line, err)
	}
	if got != line+" go\n" && !(strings.HasPrefix(line, "fast ") && got == line+" loop\n") {
		t.Fatalf("got %q for %q", got, line)
	}
}

// Lines answered by the loop and by the goroutine, alternating one at a
// time and in pipelines, come back in order, each from the side that
// should answer it: no input is lost in a handoff either way.
func TestLoop_HandsOffBothWaysInOrder(t *testing.T) {
	e := startEcho(t)
	nc, r, c := dialEcho(t, e)
	lc := c.Ctx.(*lineConn)
	for i := range 300 {
		kind := []string{"fast", "other", "slow"}[i%3]
		line := kind + " " + string(rune('a'+i%26))
		if _, err := nc.Write([]byte(line + "\n")); err != nil {
			t.Fatal(err)
		}
		expectLine(t, nc, r, line)
	}
	// Pipelines, mixed: one write of many lines.
	var in bytes.Buffer
	var want []string
	for i := range 2000 {
		kind := []string{"fast", "fast", "other"}[i%3]
		line := kind + " " + strings.Repeat("x", i%50)
		in.WriteString(line + "\n")
		want = append(want, line)
	}
	go nc.Write(in.Bytes())
	for _, w := range want {
		expectLine(t, nc, r, w)
	}
	if lc.atLoop.Load() < 10 || lc.atGo.Load() < 200 {
		t.Fatalf("the loop answered %d lines and the goroutine %d: want both to have served", lc.atLoop.Load(), lc.atGo.Load())
	}
}

// Many connections at once, each with its own lines, get every answer.
func TestLoop_ManyConnectionsConcurrently(t *testing.T) {
	e := startEcho(t)
	var wg sync.WaitGroup
	for k := range 20 {
		nc, r, _ := dialEcho(t, e)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				kind := []string{"fast", "other"}[(i+k)%2]
				line := kind + " " + strings.Repeat("y", k)
				if _, err := nc.Write([]byte(line + "\n")); err != nil {
					t.Error(err)
					return
				}
				nc.SetReadDeadline(time.Now().Add(10 * time.Second))
				got, err := r.ReadString('\n')
				if err != nil || (got != line+" go\n" && (kind != "fast" || got != line+" loop\n")) {
					t.Errorf("conn %d line %d: got %q, %v", k, i, got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// Close from another goroutine, while the loop holds the connection and
// its goroutine is parked in Yield, wakes the goroutine (the loop finds
// the end), and the peer sees the connection end.
func TestLoop_CloseWhileTheLoopHoldsIt(t *testing.T) {
	e := startEcho(t)
	nc, r, c := dialEcho(t, e)
	nc.Write([]byte("fast one\n"))
	expectLine(t, nc, r, "fast one")
	waitFor(t, func() bool { return c.own.Load() == ownLoop })
	c.Close()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.ReadByte(); err == nil {
		t.Fatal("read a byte after Close")
	} else if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the peer never saw the end")
	}
	// The goroutine ended: the descriptor is closed and forgotten.
	waitFor(t, func() bool {
		e.l.mu.Lock()
		defer e.l.mu.Unlock()
		return e.l.conns[int32(c.fd)] != c
	})
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close: %v, want net.ErrClosed", err)
	}
}

// A peer that goes away is seen by the loop, whichever side holds the
// connection, and the goroutine ends.
func TestLoop_PeerCloseEndsTheGoroutine(t *testing.T) {
	e := startEcho(t)
	nc, r, c := dialEcho(t, e)
	nc.Write([]byte("other one\n"))
	expectLine(t, nc, r, "other one")
	nc.Close()
	waitFor(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.closing
	})
}

// Lines and the end of input that arrive together (one event) are all
// seen: the short read that takes the lines does not take the end, and no
// new edge will announce it.
func TestLoop_InputAndItsEndTogether(t *testing.T) {
	e := startEcho(t)
	for i := range 50 {
		nc, r, _ := dialEcho(t, e)
		line := "fast " + strings.Repeat("z", i)
		if i%2 == 1 {
			line = "other " + strings.Repeat("z", i)
		}
		nc.Write([]byte(line + "\n"))
		nc.(*net.TCPConn).CloseWrite()
		expectLine(t, nc, r, line)
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if b, err := r.ReadByte(); err != io.EOF {
			t.Fatalf("connection %d: after the answer, %q %v; want the end", i, b, err)
		}
	}
}

// Read and Write wait for the loop's readiness and honour deadlines; a
// deadline moved while a read waits takes effect at once.
func TestConn_DeadlinesAndBlockingIO(t *testing.T) {
	e := startEcho(t)
	nc, _, c := dialEcho(t, e)
	// Take the connection from the echo goroutine's hands: it parks in
	// Yield and the loop holds c; this test's goroutine now reads as a
	// reader aside would (the loop signals it only for a goroutine-held
	// connection), so hand it to us.
	waitFor(t, func() bool { return c.own.Load() == ownLoop })
	c.own.Store(ownGo) // as if handed off; the echo goroutine stays parked
	buf := make([]byte, 10)
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past its deadline: %v", err)
	}
	if took := time.Since(start); took < 40*time.Millisecond {
		t.Fatalf("Read gave up after %v, before its deadline", took)
	}
	// A read waiting without a deadline gets input.
	c.SetReadDeadline(time.Time{})
	got := make(chan string, 1)
	go func() {
		n, err := c.Read(buf)
		got <- string(buf[:n]) + errString(err)
	}()
	time.Sleep(20 * time.Millisecond)
	nc.Write([]byte("hello"))
	select {
	case s := <-got:
		if s != "hello" {
			t.Fatalf("Read: %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a waiting Read never saw input")
	}
	// A deadline set in the past wakes a waiting read.
	go func() {
		_, err := c.Read(buf)
		got <- errString(err)
	}()
	time.Sleep(20 * time.Millisecond)
	c.SetReadDeadline(time.Unix(1, 0))
	select {
	case s := <-got:
		if !strings.Contains(s, "timeout") {
			t.Fatalf("woken read: %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a past deadline did not wake the read")
	}
	// A write larger than the socket buffers waits for the peer to read,
	// and times out when it does not.
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	n, err := c.Write(make([]byte, 64<<20))
	if !errors.Is(err, os.ErrDeadlineExceeded) || n == 0 || n == 64<<20 {
		t.Fatalf("Write to a peer that does not read: %d, %v", n, err)
	}
	c.SetWriteDeadline(time.Time{})
	done := make(chan error, 1)
	go func() {
		_, err := c.Write(make([]byte, 8<<20))
		done <- err
	}()
	go io.Copy(io.Discard, nc)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a write waiting for the peer never finished")
	}
	c.own.Store(ownLoop)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
	}
}

// A Conn closed after its loop (a pusher's, say) writes to no file: the
// loop's wake pipe is closed, and its numbers may name other files now.
func TestConn_CloseAfterTheLoopWritesNowhere(t *testing.T) {
	l, err := New(func(c *Conn) bool { return false }, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c, err := l.Add(nc, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.acquire() // a call in progress: Close kicks the loop rather than closing at once
	wakeW := l.wakeW
	l.Close()
	// Files opened now take the lowest free numbers: one takes the
	// number of the loop's pipe's write end.
	var victim *os.File
	for range 16 {
		f, err := os.CreateTemp(t.TempDir(), "victim")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if int(f.Fd()) == wakeW {
			victim = f
			break
		}
	}
	if victim == nil {
		t.Skipf("no file took descriptor %d", wakeW)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c.release()
	if st, err := victim.Stat(); err != nil || st.Size() != 0 {
		t.Fatalf("Close after the loop wrote into a file it does not own: %d bytes, %v", st.Size(), err)
	}
}
