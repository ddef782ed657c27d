//go:build linux

package main

import (
	"fmt"
	"log"
	"net"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
)

// stalls counts the writes a socket refused (EAGAIN) in every loop: the
// replies that waited for EPOLLOUT.
var stalls atomic.Int64

// serveEpoll serves addr from loops event loops, as Redis serves its
// clients: each loop is a goroutine locked to a thread of its own, with a
// listening socket of its own on addr (SO_REUSEPORT: the kernel spreads
// new connections over the loops) and an epoll set. A loop waits in
// epoll_wait, then for each ready connection reads what arrived, runs the
// whole commands and writes their replies, and for each ready listener
// accepts; no other goroutine is woken. It returns the address served
// (its port chosen by the system when addr asks for port 0) once every
// listener is open; the loops run until the process ends.
//
// A reply that the socket does not take at once waits in its session,
// and the connection is not read again until it has gone out (EPOLLOUT).
func serveEpoll(addr string, loops int) (string, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	ip := net.ParseIP(host).To4()
	if ip == nil {
		return "", fmt.Errorf("respfloor: -epoll listens on an IPv4 address, not %q", host)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return "", err
	}
	for i := 0; i < max(loops, 1); i++ {
		lfd, bound, err := listen4(ip, port)
		if err != nil {
			return "", err
		}
		port = bound // the next loops share the port the first was given
		l, err := newLoop(lfd)
		if err != nil {
			return "", err
		}
		go l.run()
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// listen4 opens a nonblocking listening socket on ip:port with
// SO_REUSEPORT and returns it and its port.
func listen4(ip net.IP, port int) (int, int, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, 0, err
	}
	const soReusePort = 0xf // SO_REUSEPORT on Linux
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, soReusePort, 1); err != nil {
		syscall.Close(fd)
		return 0, 0, err
	}
	sa := &syscall.SockaddrInet4{Port: port}
	copy(sa.Addr[:], ip)
	if err := syscall.Bind(fd, sa); err != nil {
		syscall.Close(fd)
		return 0, 0, err
	}
	if err := syscall.Listen(fd, 511); err != nil {
		syscall.Close(fd)
		return 0, 0, err
	}
	got, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		return 0, 0, err
	}
	return fd, got.(*syscall.SockaddrInet4).Port, nil
}

// loop is one event loop: its listener, its epoll set and the sessions of
// the connections it accepted, by file descriptor.
type loop struct {
	lfd, ep  int
	sessions map[int]*session
	stalled  map[int]bool // replies wait for EPOLLOUT; reads are off
}

func newLoop(lfd int) (*loop, error) {
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	l := &loop{lfd: lfd, ep: ep, sessions: map[int]*session{}, stalled: map[int]bool{}}
	if err := l.watch(syscall.EPOLL_CTL_ADD, lfd, syscall.EPOLLIN); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *loop) watch(op, fd int, events uint32) error {
	return syscall.EpollCtl(l.ep, op, fd, &syscall.EpollEvent{Events: events, Fd: int32(fd)})
}

func (l *loop) run() {
	runtime.LockOSThread()
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(l.ep, events, -1)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			log.Fatalf("respfloor: epoll_wait: %v", err)
		}
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			switch {
			case fd == l.lfd:
				l.accept()
			case l.stalled[fd]:
				l.flush(fd)
			default:
				l.serve(fd)
			}
		}
	}
}

// accept takes every connection waiting on the listener.
func (l *loop) accept() {
	for {
		fd, _, err := syscall.Accept4(l.lfd, syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
		if err != nil {
			return // EAGAIN: none left; other errors: the client went
		}
		syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		if l.watch(syscall.EPOLL_CTL_ADD, fd, syscall.EPOLLIN) != nil {
			syscall.Close(fd)
			continue
		}
		l.sessions[fd] = &session{}
	}
}

// serve reads what arrived on fd, runs it and writes the replies.
func (l *loop) serve(fd int) {
	s := l.sessions[fd]
	n, err := syscall.Read(fd, s.room())
	if err == syscall.EAGAIN || err == syscall.EINTR {
		return // level-triggered: the next epoll_wait offers it again
	}
	if n <= 0 {
		l.close(fd)
		return
	}
	if err := s.run(n); err != nil {
		syscall.Write(fd, s.out) // the protocol error, then close
		l.close(fd)
		return
	}
	l.flush(fd)
}

// flush writes fd's pending replies; what the socket does not take waits
// for EPOLLOUT, and fd is not read meanwhile.
func (l *loop) flush(fd int) {
	s := l.sessions[fd]
	for len(s.out) > 0 {
		n, err := syscall.Write(fd, s.out)
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			stalls.Add(1)
			if !l.stalled[fd] {
				l.stalled[fd] = true
				l.watch(syscall.EPOLL_CTL_MOD, fd, syscall.EPOLLOUT)
			}
			return
		}
		if err != nil {
			l.close(fd)
			return
		}
		s.out = s.out[:copy(s.out, s.out[n:])]
	}
	if l.stalled[fd] {
		delete(l.stalled, fd)
		l.watch(syscall.EPOLL_CTL_MOD, fd, syscall.EPOLLIN)
	}
}

func (l *loop) close(fd int) {
	syscall.Close(fd) // leaves the epoll set with its last descriptor
	delete(l.sessions, fd)
	delete(l.stalled, fd)
}
