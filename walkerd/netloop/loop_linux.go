//go:build linux

package netloop

import (
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
)

// Loop is one event loop: an epoll set, the connections in it by
// descriptor, and a pipe that wakes it (kick, Close).
type Loop struct {
	ep           int
	wakeR, wakeW int
	handler      Handler
	turnEnd      func()

	mu        sync.Mutex
	conns     map[int32]*Conn
	kicked    []*Conn
	nextGen   int32
	fdsClosed bool // closeFds ran

	closed atomic.Bool
	done   chan struct{} // closed when run has returned
}

// epoll's flags that package syscall spells as negative ints or not at all.
const (
	epollET    = 1 << 31
	epollRDHUP = 0x2000
	inEvents   = syscall.EPOLLIN | epollRDHUP | syscall.EPOLLERR | syscall.EPOLLHUP
	outEvents  = syscall.EPOLLOUT | syscall.EPOLLERR | syscall.EPOLLHUP
)

// New starts a loop that calls h for the input of the connections it
// owns, and end (when not nil) on the loop's thread at the end of each
// turn: once the connections a wakeup found ready have had their turn,
// before the loop waits again. end may flush what the turn's Handlers
// held back (redis-server's beforeSleep writes its AOF, fsyncs, then
// sends the replies) and may HandOff Conns the loop owns.
func New(h Handler, end func()) (*Loop, error) {
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(ep)
		return nil, err
	}
	l := &Loop{ep: ep, wakeR: p[0], wakeW: p[1], handler: h, turnEnd: end, conns: map[int32]*Conn{}, done: make(chan struct{})}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(l.wakeR), Pad: -1}
	if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, l.wakeR, &ev); err != nil {
		l.closeFds()
		return nil, err
	}
	go l.run()
	return l, nil
}

// Add takes nc, a *net.TCPConn, over: its descriptor is duplicated into
// the loop's epoll set and nc is closed, which takes it out of Go's
// netpoller. init runs before the loop can see the Conn (to set Ctx).
// The Conn starts as its goroutine's, which calls Yield to give it to
// the loop. Other connections get ErrUnsupported and stay open.
func (l *Loop) Add(nc net.Conn, init func(*Conn)) (*Conn, error) {
	tc, ok := nc.(*net.TCPConn)
	if !ok || l.closed.Load() {
		return nil, ErrUnsupported
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(f uintptr) {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, f, syscall.F_DUPFD_CLOEXEC, 0)
		if e != 0 {
			derr = e
			return
		}
		fd = int(r)
	}); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	c := &Conn{
		l: l, fd: fd, laddr: nc.LocalAddr(), raddr: nc.RemoteAddr(),
		run: make(chan struct{}, 1), rwake: make(chan struct{}, 1), wwake: make(chan struct{}, 1),
		shut: make(chan struct{}),
	}
	c.own.Store(ownGoReady) // what the client sent already: the goroutine reads first
	if init != nil {
		init(c)
	}
	l.mu.Lock()
	l.nextGen++
	c.gen = l.nextGen
	l.conns[int32(fd)] = c
	l.mu.Unlock()
	ev := syscall.EpollEvent{Events: inEvents | outEvents | epollET, Fd: int32(fd), Pad: c.gen}
	if err := syscall.EpollCtl(l.ep, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.forget(c)
		syscall.Close(fd)
		return nil, err
	}
	nc.Close()
	return c, nil
}

func (l *Loop) forget(c *Conn) {
	l.mu.Lock()
	if l.conns[int32(c.fd)] == c {
		delete(l.conns, int32(c.fd))
	}
	l.mu.Unlock()
}

// Inputs is how many input events epoll has reported for c: a Handler
// that left c's socket drained (a read took less than it asked for) and
// sees the same count later knows that nothing has come since, as epoll
// reports each arrival (edge-triggered). Only the loop's thread may call
// it.
func (c *Conn) Inputs() uint64 { return c.inputs }

// kick has the loop look at c's input again. The pipe is written only
// when no kick is pending: the loop takes every pending one at once, so
// a round of Kicks (a consistent reads' check ending for many
// connections) costs one wakeup.
func (l *Loop) kick(c *Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fdsClosed {
		return
	}
	if len(l.kicked) == 0 {
		l.wake()
	}
	l.kicked = append(l.kicked, c)
}

// wakeTurn wakes the loop for a turn of no input (Conn.WakeLoop).
func (l *Loop) wakeTurn() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.fdsClosed && len(l.kicked) == 0 {
		l.wake()
	}
}

// wake writes to the loop's pipe; l.mu is held, so that the pipe is not
// closed meanwhile (closeFds): its number could name another file then.
func (l *Loop) wake() {
	b := [1]byte{1}
	syscall.Write(l.wakeW, b[:]) // EAGAIN: a wakeup is pending already
}

// Close stops the loop and waits for it. The connections it owned are
// left to their goroutines (Yield fails); close them first.
func (l *Loop) Close() error {
	if l.closed.Swap(true) {
		<-l.done
		return nil
	}
	l.mu.Lock()
	l.wake()
	l.mu.Unlock()
	<-l.done
	l.closeFds()
	return nil
}

// closeFds closes the loop's epoll set and pipe. A Conn closed after the
// loop (its Close kicks the loop) then writes to no pipe.
func (l *Loop) closeFds() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fdsClosed = true
	syscall.Close(l.ep)
	syscall.Close(l.wakeR)
	syscall.Close(l.wakeW)
}

// run is the loop: it waits in epoll_wait, then signals the waiters of
// connections their goroutines own, and calls the Handler for those it
// owns itself.
func (l *Loop) run() {
	runtime.LockOSThread()
	defer close(l.done)
	events := make([]syscall.EpollEvent, 128)
	var again, next []*Conn
	for {
		timeout := -1
		if len(again) > 0 {
			timeout = 0
		}
		n, err := syscall.EpollWait(l.ep, events, timeout)
		if err != nil && err != syscall.EINTR {
			return
		}
		for _, ev := range events[:max(n, 0)] {
			if ev.Fd == int32(l.wakeR) {
				var b [64]byte
				for {
					if k, _ := syscall.Read(l.wakeR, b[:]); k <= 0 {
						break
					}
				}
				if l.closed.Load() {
					return
				}
				l.mu.Lock()
				kicked := l.kicked
				l.kicked = nil
				l.mu.Unlock()
				for _, c := range kicked {
					if l.input(c) {
						next = append(next, c)
					}
				}
				continue
			}
			l.mu.Lock()
			c := l.conns[ev.Fd]
			l.mu.Unlock()
			if c == nil || c.gen != ev.Pad {
				continue
			}
			if ev.Events&(epollRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
				c.hup.Store(true)
			}
			if ev.Events&outEvents != 0 && c.wwait.Load() > 0 {
				signal(c.wwake)
			}
			if ev.Events&inEvents != 0 {
				c.inputs++
				if l.input(c) {
					next = append(next, c)
				}
			}
		}
		for _, c := range again {
			if l.input(c) {
				next = append(next, c)
			}
		}
		clear(again)
		again, next = next, again[:0]
		if l.turnEnd != nil {
			l.turnEnd()
		}
	}
}

// input tells c's owner that input came: the Handler when the loop owns
// c, else the goroutine's waiting read, and Yield by the state.
func (l *Loop) input(c *Conn) (again bool) {
	for {
		switch c.own.Load() {
		case ownLoop:
			return l.handler(c)
		case ownGo:
			if !c.own.CompareAndSwap(ownGo, ownGoReady) {
				continue
			}
		}
		if c.rwait.Load() > 0 {
			signal(c.rwake)
		}
		return false
	}
}
