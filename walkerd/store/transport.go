package store

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/walkerdb/walkerdb/walkerd/nodelink"
)

// streamLayer is raft's TCP stream layer with three differences from
// raft.NewTCPTransport's:
//
//   - every connection, accepted or dialed, runs walkerd/nodelink's
//     handshake (TLS, then the HMAC exchange) before raft reads or writes a
//     byte of it: a connection whose peer cannot prove it is a member is
//     closed and never reaches raft;
//   - it advertises an address other than the one it binds (a proxy or NAT
//     in front of the node);
//   - it dials peers from the IP it binds, so a peer (or a fault-injecting
//     proxy) can tell which node a connection comes from by its source
//     address.
//
// Handshakes of accepted connections run in their own goroutines, so a
// peer that stalls its handshake (up to nodelink's deadline) delays no
// other connection.
type streamLayer struct {
	ln        net.Listener
	advertise net.Addr
	dialer    net.Dialer
	links     *nodelink.Config
	log       *slog.Logger
	warn      nodelink.Limiter // one WARN per failed-handshake burst

	accepted chan net.Conn
	done     chan struct{}
	close    sync.Once
	slots    chan struct{} // bounds handshakes in progress
	dialed   dialSet       // the connections Dial made
}

// maxHandshakes bounds the accepted connections handshaking at once; more
// wait in the listen backlog.
const maxHandshakes = 64

func newStreamLayer(bind, advertise string, links *nodelink.Config, log *slog.Logger) (*streamLayer, error) {
	if log == nil {
		log = slog.Default()
	}
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, err
	}
	s := &streamLayer{ln: ln, advertise: ln.Addr(), links: links, log: log,
		warn:     nodelink.Limiter{Every: 10 * time.Second},
		accepted: make(chan net.Conn), done: make(chan struct{}), slots: make(chan struct{}, maxHandshakes)}
	if advertise != "" {
		a, err := net.ResolveTCPAddr("tcp", advertise)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("raft advertise address: %w", err)
		}
		if a.IP == nil || a.IP.IsUnspecified() {
			ln.Close()
			return nil, fmt.Errorf("raft advertise address %q is not one peers can dial", advertise)
		}
		s.advertise = a
	}
	if ip := ln.Addr().(*net.TCPAddr).IP; ip != nil && !ip.IsUnspecified() {
		s.dialer.LocalAddr = &net.TCPAddr{IP: ip}
	}
	go s.acceptLoop()
	return s, nil
}

// acceptLoop accepts connections and hands each to a handshake goroutine.
func (s *streamLayer) acceptLoop() {
	for {
		select {
		case s.slots <- struct{}{}:
		case <-s.done:
			return
		}
		c, err := s.ln.Accept()
		if err != nil {
			<-s.slots
			select {
			case <-s.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.log.Error("raft listener failed", "err", err)
			s.Close()
			return
		}
		go s.handshake(c)
	}
}

func (s *streamLayer) handshake(c net.Conn) {
	lc, err := s.links.Accept(c)
	<-s.slots
	if err != nil {
		s.failed("accepted", c.RemoteAddr().String(), err)
		return
	}
	select {
	case s.accepted <- lc:
	case <-s.done:
		lc.Close()
	}
}

// failed logs a failed handshake: one WARN per burst, with how many were
// held back since the last.
func (s *streamLayer) failed(side, remote string, err error) {
	if ok, held := s.warn.Allow(); ok {
		s.log.Warn("raft link handshake failed: connection closed", "side", side, "remote", remote, "err", err,
			"links", s.links.Mode(), "failures_not_logged", held)
	}
}

// Accept implements net.Listener: the next connection whose handshake
// succeeded.
func (s *streamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-s.accepted:
		return c, nil
	case <-s.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener: it stops accepting, and hangs up the
// connections it dialed (closeDialed). Handshakes of accepted connections
// in progress end within nodelink's deadline and close their connections.
func (s *streamLayer) Close() error {
	var err error
	s.close.Do(func() {
		close(s.done)
		err = s.ln.Close()
	})
	s.dialed.close()
	return err
}

// closeDialed closes every connection Dial made, handshakes in progress
// included, and makes later dials fail at once with net.ErrClosed; the
// listener keeps accepting.
func (s *streamLayer) closeDialed() { s.dialed.close() }

// Dial implements raft.StreamLayer: it connects to addr and runs the
// handshake; a peer that fails it is reported as an error and its
// connection closed. timeout bounds the TCP connect; the handshake has
// nodelink's own deadline.
func (s *streamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return s.dial(addr, timeout, &s.dialed)
}

// dial is Dial with the set that holds the connection until it is closed
// (a group's, on a Mux).
func (s *streamLayer) dial(addr raft.ServerAddress, timeout time.Duration, set *dialSet) (net.Conn, error) {
	d := s.dialer
	d.Timeout = timeout
	c, err := d.Dial("tcp", string(addr))
	if err != nil {
		return nil, err
	}
	if !set.add(c) {
		return nil, fmt.Errorf("raft link to %s: %w", addr, net.ErrClosed)
	}
	lc, err := s.links.Dial(c, string(addr))
	if err != nil {
		set.remove(c)
		if !set.isClosed() {
			s.failed("dialed", string(addr), err)
		}
		return nil, fmt.Errorf("raft link to %s: %w", addr, err)
	}
	return &dialedConn{Conn: lc, raw: c, set: set}, nil
}

// dialSet is the connections a stream layer dialed, so that its Raft
// group's shutdown can close them. raft.Shutdown waits for the leader's
// replication goroutines, and one that waits on a peer that stopped
// answering (a stopped process, a partition that drops packets) held it
// for the transport's 10 s timeout, or for nodelink's handshake deadline
// in a dial: a leader whose followers were both SIGSTOPped took 10.7 s to
// exit on SIGTERM. Store.Close closes the set when raft has not stopped
// within shutdownGrace, so replication's reads fail at once, and so do its
// dials after that.
type dialSet struct {
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// add holds c; when the set is closed it closes c and reports false.
func (d *dialSet) add(c net.Conn) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		c.Close()
		return false
	}
	if d.conns == nil {
		d.conns = map[net.Conn]struct{}{}
	}
	d.conns[c] = struct{}{}
	return true
}

func (d *dialSet) remove(c net.Conn) {
	d.mu.Lock()
	delete(d.conns, c)
	d.mu.Unlock()
}

func (d *dialSet) isClosed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// close closes every connection held, and every one added later.
func (d *dialSet) close() {
	d.mu.Lock()
	conns := d.conns
	d.conns, d.closed = nil, true
	d.mu.Unlock()
	for c := range conns {
		c.Close()
	}
}

// dialedConn is a dialed link (raw's handshake done) that leaves its set
// when closed.
type dialedConn struct {
	net.Conn
	raw net.Conn
	set *dialSet
}

func (c *dialedConn) Close() error {
	c.set.remove(c.raw)
	return c.Conn.Close()
}

// Addr implements net.Listener: the address peers are told to dial.
func (s *streamLayer) Addr() net.Addr { return s.advertise }
