//go:build linux

// Package netloop serves TCP connections from one event loop, as
// redis-server serves its clients, beside the goroutine each connection
// keeps for the work that waits.
//
// Why: on a virtual machine every wakeup of another thread is expensive.
// With a goroutine per connection, each request wakes Go's netpoller,
// then the connection's goroutine, and parks it again: 2 reads, 0.38
// epoll_pwait and 0.22 futex calls a GET (perf stat, one node, GET -P 1),
// and a third of the process's CPU under the hypervisor's interrupt
// handling. One loop that reads, runs a short read and writes its reply
// on its own thread pays one read, one write and a share of one
// epoll_wait (walkerd's prototype: 0.28 context switches and 20 µs of CPU
// a GET against 0.34 and 26; respfloor's -epoll floor: 1.30 of
// redis-server's GET -P 1 where the goroutine floor reached 1.02).
//
// A Conn belongs to one side at a time:
//
//	            Yield (the goroutine has nothing left to run)
//	goroutine ───────────────────────────────────────────────▶ loop
//	    ▲                                                        │
//	    └──────── HandOff (the loop found work that waits) ◀─────┘
//
// While the loop owns it, the loop's Handler is called on the loop's
// thread whenever input arrives; it reads without waiting (ReadNow),
// runs what it can and either keeps the connection or hands it off. The
// goroutine, parked in Yield meanwhile, then runs what waits (a write
// through Raft, a blocking command, a reply the socket does not take)
// with the blocking Read and Write of net.Conn, served by the same loop:
// the loop wakes a goroutine waiting on a Conn it does not own.
//
// The loop's epoll set is edge-triggered (EPOLLIN|EPOLLOUT|EPOLLRDHUP|
// EPOLLET), registered once per connection, as Go's netpoller does, so no
// handoff costs an epoll_ctl. Input that arrives while the goroutine owns
// a Conn is remembered in the Conn's state (ownGoReady), so Yield never
// gives the loop a socket whose edge it already missed:
//
//	state       owner      input seen since the owner's last EAGAIN
//	ownLoop     loop       (the loop reads until EAGAIN itself)
//	ownGo       goroutine  no
//	ownGoReady  goroutine  yes: Yield returns at once, to read first
//
// A Conn is a net.Conn over a descriptor of its own (Add dups the TCP
// connection's and closes Go's): its Read and Write wait for the loop's
// readiness and honour deadlines, Close may come from any goroutine and
// closes the descriptor once no call uses it, and SyscallConn gives the
// descriptor to non-blocking callers.
//
// The loop runs on a thread of its own (runtime.LockOSThread). One loop
// serves every connection: on this project's 2-core machine two loops
// lost to one (respfloor, GET -P 1 and -P 16).
package netloop

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Handler is called on the loop's thread when a Conn the loop owns has
// input (or its end, or an error). It must not wait: it reads with
// ReadNow until the socket has nothing (syscall.EAGAIN, or a read that
// did not fill its buffer), and either returns with the Conn still the
// loop's, or calls HandOff. It reports again when it stopped reading
// before that, to let other connections have their turn: the loop calls
// it again after them. (The epoll set is edge-triggered: input left
// unread is not announced again.)
type Handler func(c *Conn) (again bool)

// ErrUnsupported is Add's answer where the loop cannot take a connection
// (not TCP, or not Linux).
var ErrUnsupported = errors.New("netloop: not a TCP connection on Linux")

// Ownership states (the package doc's table).
const (
	ownLoop int32 = iota
	ownGo
	ownGoReady
)

// Conn is a TCP connection served by a Loop. Ctx is the caller's, set
// before the Conn can be handed to the loop (Add's init).
type Conn struct {
	Ctx any

	l   *Loop
	fd  int
	gen int32 // Add's number for it: an event for a reused descriptor is told apart

	laddr, raddr net.Addr

	own atomic.Int32
	run chan struct{} // cap 1: HandOff wakes the goroutine parked in Yield
	// inputs counts the input events epoll reported for c; the loop's
	// thread alone touches it (Inputs).
	inputs uint64
	// hup: the peer closed its end (or the socket failed); the loop sets
	// it from an event's EPOLLRDHUP, EPOLLHUP or EPOLLERR (HungUp).
	hup atomic.Bool

	// rwait and wwait count the callers waiting for readiness; the loop
	// signals rwake and wwake (cap 1) only when one waits. A waiter counts
	// itself before its syscall, so readiness that comes after the syscall
	// saw EAGAIN is always signalled.
	rwait, wwait atomic.Int32
	rwake, wwake chan struct{}
	rdl, wdl     atomic.Int64 // deadlines, Unix nanoseconds; 0: none
	wmu          sync.Mutex   // one Write at a time, as net.Conn's

	mu      sync.Mutex
	refs    int  // calls using fd, and the loop's ownership
	closing bool // Close ran: calls fail, fd closes at refs 0
	shut    chan struct{}
}

// Yield gives c to the loop and waits until the loop hands it back. It
// returns false at once, without giving c away, when input came while the
// caller owned c: the caller reads first (ReadNow), calls Unread if its
// read filled its buffer, and calls Yield again once it has run what it
// read. After a HandOff it returns true: the loop read what came, or
// found the connection's end, into the caller's state. It fails when c is
// closed and the loop no longer holds it, or the loop has stopped.
func (c *Conn) Yield() (parked bool, err error) {
	if c.own.CompareAndSwap(ownGoReady, ownGo) {
		return false, nil
	}
	if !c.acquire() {
		return false, net.ErrClosed
	}
	if !c.own.CompareAndSwap(ownGo, ownLoop) {
		// Input came between the caller's EAGAIN and now.
		c.release()
		c.own.CompareAndSwap(ownGoReady, ownGo)
		return false, nil
	}
	select {
	case <-c.run:
		return true, nil
	case <-c.l.done:
		// The loop ended. Unless it handed c back on its way out, take it
		// back: it will serve nothing more.
		select {
		case <-c.run:
			return true, nil
		default:
		}
		if c.own.CompareAndSwap(ownLoop, ownGoReady) {
			c.release()
		} else {
			<-c.run
		}
		return false, errLoopClosed
	}
}

var errLoopClosed = errors.New("netloop: the event loop has stopped")

// HungUp reports whether the loop has seen the peer close its end (or
// the socket fail). A read that did not fill its buffer then did not
// take all there is: the end of input is still to be read, and with an
// edge-triggered set no new event will say so.
func (c *Conn) HungUp() bool { return c.hup.Load() }

// LoopHeld reports whether the loop holds c (its goroutine parked in
// Yield).
func (c *Conn) LoopHeld() bool { return c.own.Load() == ownLoop }

// Unread tells c, its goroutine's, that the caller stopped reading
// before the socket was empty: the next Yield returns at once, for the
// caller to read on, since no new input will say so.
func (c *Conn) Unread() { c.own.CompareAndSwap(ownGo, ownGoReady) }

// HandOff gives c, the loop's, to the goroutine parked in Yield. drained
// says the Handler's last read found the socket empty; otherwise the
// goroutine reads before it yields again. Only the loop's thread calls
// it: the Handler, or the end of the turn (New).
func (c *Conn) HandOff(drained bool) {
	if drained {
		c.own.Store(ownGo)
	} else {
		c.own.Store(ownGoReady)
	}
	c.release() // the loop's ownership
	c.run <- struct{}{}
}

// Kick has the loop call the Handler for c again, on the loop's thread,
// if the loop owns c then; any goroutine may call it. A Handler that left
// c's input unread while it waited for something outside the loop (the
// server parks a consistent read until its leadership check ends) is
// called back this way when that thing comes. It does nothing once the
// loop has stopped.
func (c *Conn) Kick() { c.l.kick(c) }

// WakeLoop has c's loop run a turn, and so call its turn's end (New's
// end), without calling any Handler: for what a turn's end holds back
// until something outside the loop happens. Any goroutine may call it; it
// does nothing once the loop has stopped.
func (c *Conn) WakeLoop() { c.l.wakeTurn() }

// ReadNow reads what the socket holds into p without waiting:
// syscall.EAGAIN when it holds nothing, io.EOF at its end.
func (c *Conn) ReadNow(p []byte) (int, error) {
	if !c.acquire() {
		return 0, c.opErr("read", net.ErrClosed)
	}
	defer c.release()
	for {
		n, err := syscall.Read(c.fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return 0, err
		case err != nil:
			return 0, c.opErr("read", err)
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// Read implements net.Conn: it waits for input, until the read deadline.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if !c.acquire() {
		return 0, c.opErr("read", net.ErrClosed)
	}
	defer c.release()
	for {
		c.rwait.Add(1)
		n, err := syscall.Read(c.fd, p)
		if err == syscall.EAGAIN {
			err = c.wait(c.rwake, &c.rdl)
			c.rwait.Add(-1)
			if err != nil {
				return 0, c.opErr("read", err)
			}
			continue
		}
		c.rwait.Add(-1)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, c.opErr("read", err)
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// Write implements net.Conn: it waits while the socket takes nothing,
// until the write deadline, and returns the bytes written.
func (c *Conn) Write(p []byte) (int, error) {
	if !c.acquire() {
		return 0, c.opErr("write", net.ErrClosed)
	}
	defer c.release()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	done := 0
	for done < len(p) {
		c.wwait.Add(1)
		n, err := syscall.Write(c.fd, p[done:])
		if n > 0 {
			done += n
		}
		if err == syscall.EAGAIN {
			err = c.wait(c.wwake, &c.wdl)
			c.wwait.Add(-1)
			if err != nil {
				return done, c.opErr("write", err)
			}
			continue
		}
		c.wwait.Add(-1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return done, c.opErr("write", err)
		}
	}
	return done, nil
}

// wait waits for the loop's signal on ch, the deadline in dl (which
// SetDeadline may move meanwhile: it signals ch too), or Close.
func (c *Conn) wait(ch chan struct{}, dl *atomic.Int64) error {
	for {
		d := dl.Load()
		var t *time.Timer
		var tc <-chan time.Time
		if d != 0 {
			left := time.Until(time.Unix(0, d))
			if left <= 0 {
				return os.ErrDeadlineExceeded
			}
			t = time.NewTimer(left)
			tc = t.C
		}
		select {
		case <-ch:
			if t != nil {
				t.Stop()
			}
			return nil
		case <-c.shut:
			if t != nil {
				t.Stop()
			}
			return net.ErrClosed
		case <-tc:
			if dl.Load() == d {
				return os.ErrDeadlineExceeded
			}
		}
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Close implements net.Conn. It may run beside any call: those waiting
// return net.ErrClosed, the connection is shut down at once (the peer
// sees its end, the loop its end of input), and the descriptor closes
// once no call uses it.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return c.opErr("close", net.ErrClosed)
	}
	c.closing = true
	close(c.shut)
	syscall.Shutdown(c.fd, syscall.SHUT_RDWR)
	last := c.refs == 0
	c.mu.Unlock()
	if last {
		c.destroy()
		return nil
	}
	// The loop may own c and see no edge from the shutdown of a socket
	// already at its end: it looks at c again.
	c.l.kick(c)
	return nil
}

// CloseRead shuts the reading side down (TCP's shutdown(SHUT_RD)): a
// read returns io.EOF, and the loop sees the end of input.
func (c *Conn) CloseRead() error {
	if !c.acquire() {
		return c.opErr("close", net.ErrClosed)
	}
	defer c.release()
	if err := syscall.Shutdown(c.fd, syscall.SHUT_RD); err != nil {
		return c.opErr("close", err)
	}
	c.l.kick(c)
	return nil
}

func (c *Conn) acquire() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return false
	}
	c.refs++
	return true
}

func (c *Conn) release() {
	c.mu.Lock()
	c.refs--
	last := c.closing && c.refs == 0
	c.mu.Unlock()
	if last {
		c.destroy()
	}
}

// destroy leaves the loop's table and closes the descriptor, which takes
// it out of the epoll set.
func (c *Conn) destroy() {
	c.l.forget(c)
	syscall.Close(c.fd)
}

// LocalAddr implements net.Conn.
func (c *Conn) LocalAddr() net.Addr { return c.laddr }

// RemoteAddr implements net.Conn.
func (c *Conn) RemoteAddr() net.Addr { return c.raddr }

// SetDeadline implements net.Conn.
func (c *Conn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

// SetReadDeadline implements net.Conn; a read waiting looks at the new
// deadline at once.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.rdl.Store(unixNano(t))
	signal(c.rwake)
	return nil
}

// SetWriteDeadline implements net.Conn; a write waiting looks at the new
// deadline at once.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.wdl.Store(unixNano(t))
	signal(c.wwake)
	return nil
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return max(t.UnixNano(), 1)
}

func (c *Conn) opErr(op string, err error) error {
	if err == io.EOF {
		return err
	}
	if errno, ok := err.(syscall.Errno); ok {
		err = os.NewSyscallError(op, errno)
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.laddr, Addr: c.raddr, Err: err}
}

// SyscallConn implements syscall.Conn. Its Read and Write call f with the
// descriptor until f reports true, waiting for readiness between.
func (c *Conn) SyscallConn() (syscall.RawConn, error) { return rawConn{c}, nil }

type rawConn struct{ c *Conn }

func (r rawConn) Control(f func(fd uintptr)) error {
	if !r.c.acquire() {
		return net.ErrClosed
	}
	defer r.c.release()
	f(uintptr(r.c.fd))
	return nil
}

func (r rawConn) Read(f func(fd uintptr) bool) error {
	return r.c.raw(f, &r.c.rwait, r.c.rwake, &r.c.rdl)
}

func (r rawConn) Write(f func(fd uintptr) bool) error {
	return r.c.raw(f, &r.c.wwait, r.c.wwake, &r.c.wdl)
}

func (c *Conn) raw(f func(fd uintptr) bool, waiting *atomic.Int32, ch chan struct{}, dl *atomic.Int64) error {
	if !c.acquire() {
		return net.ErrClosed
	}
	defer c.release()
	for {
		waiting.Add(1)
		ok := f(uintptr(c.fd))
		if ok {
			waiting.Add(-1)
			return nil
		}
		err := c.wait(ch, dl)
		waiting.Add(-1)
		if err != nil {
			return err
		}
	}
}
