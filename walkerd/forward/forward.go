// Package forward carries commands from a follower to its leader. Many
// client connections share a few TCP connections per leader: each call
// writes its command and queues itself; a reader goroutine per connection
// reads replies in order and hands each to the call at the head of the
// queue. That keeps replies in the order their commands were sent (RESP has
// no request ids) while letting calls from different clients overlap on
// the wire.
//
// A connection that fails fails every call queued on it. A caller cannot
// know whether a write sent on a failed connection reached the leader, so
// walkerd reports such writes as of unknown outcome and never resends them.
//
// Every new connection first proves this node is a cluster member with
// WALKER.LINK (walkerd/nodelink, Options.Links); a leader answers
// WALKER.APPLY and WALKER.FORWARD on linked connections only.
package forward

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/nodelink"
)

// ErrConnLost reports a call whose connection failed after the command may
// have been sent: the leader may or may not have run it.
var ErrConnLost = errors.New("forward: connection to leader lost")

// Options configures a Pool.
type Options struct {
	// ConnsPerAddr is how many connections to keep to each leader. Zero: 4.
	ConnsPerAddr int
	// Links proves to the leader that this node is a cluster member:
	// every new connection runs WALKER.LINK (walkerd/nodelink's exchange
	// in RESP) before any command, and the leader then treats it as a node
	// link, whatever its requirepass. nil: the unauthenticated exchange,
	// which a leader without a cluster secret or mutual TLS accepts.
	Links *nodelink.Config
	// TLS, when set, makes every connection a TLS client with this
	// configuration (its ServerName, when empty, is the dialed host), for
	// leaders whose RESP port serves TLS. nil: plain TCP.
	TLS *tls.Config
	// DialTimeout bounds connecting. Zero: 2 s.
	DialTimeout time.Duration
	// CallTimeout bounds waiting for a reply, plus a second for every
	// 16 MiB a call carries (callTimeout). Zero: 30 s.
	CallTimeout time.Duration
	// LocalIP, if set, is the source address of every connection: walkerd
	// dials from the IP it serves on, so the leader (or a fault-injecting
	// proxy) sees which node is talking.
	LocalIP net.IP
}

// Pool forwards commands over pooled, pipelined connections.
type Pool struct {
	opts   Options
	mu     sync.Mutex
	addrs  map[string][]*conn
	next   atomic.Uint64
	closed bool
}

// New returns an empty Pool; connections are made on first use.
func New(o Options) *Pool {
	if o.ConnsPerAddr <= 0 {
		o.ConnsPerAddr = 4
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 2 * time.Second
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 30 * time.Second
	}
	return &Pool{opts: o, addrs: make(map[string][]*conn)}
}

// Do sends args to addr and returns the raw reply. An error means no reply
// was read: before the command was sent (a dial, TLS or node-link
// handshake that failed, a connection already dead), when it wraps
// backend.ErrNotSent and the command certainly did not run, or after
// (ErrConnLost, a timeout), when it may have.
func (p *Pool) Do(addr string, args [][]byte) ([]byte, error) {
	c, err := p.conn(addr)
	if err != nil {
		return nil, notSent{err}
	}
	timeout := p.callTimeout(args)
	raw, err := c.do(args, timeout)
	if errors.Is(err, errUnsent) {
		// The connection died before the call was written (the leader
		// closed it): nothing was sent, so a fresh connection may carry it.
		if c, err = p.conn(addr); err != nil {
			return nil, notSent{err}
		}
		raw, err = c.do(args, timeout)
	}
	if errors.Is(err, errUnsent) {
		return nil, notSent{err}
	}
	return raw, err
}

// callTimeout is how long a call waits for its reply once sent: the
// pool's CallTimeout, and a second more for every 16 MiB the call
// carries, which the leader logs, replicates to a quorum (each follower
// fetching the bytes and syncing them) and applies before it replies. A
// 512 MB SET forwarded on a loaded 2-core machine took more than 30 s.
func (p *Pool) callTimeout(args [][]byte) time.Duration {
	n := 0
	for _, a := range args {
		n += len(a)
	}
	return p.opts.CallTimeout + time.Duration(n>>24)*time.Second
}

// Stream sends args to addr on a connection of its own, which it closes
// after read has read the reply from it: for a reply too large to hold
// whole (WALKER.BLOB's, up to 512 MB), which read copies on as it reads.
// The connection is linked as the pooled ones are; the call has the pool's
// CallTimeout for every read of up to 1 MB, not for the whole reply.
func (p *Pool) Stream(addr string, args [][]byte, read func(r *bufio.Reader) error) error {
	nc, _, err := linkConn(addr, p.opts)
	if err != nil {
		return notSent{err}
	}
	defer nc.Close()
	nc.SetWriteDeadline(time.Now().Add(p.opts.CallTimeout))
	if _, err := nc.Write(resp.AppendCommand(nil, args)); err != nil {
		return err
	}
	return read(bufio.NewReaderSize(deadlineReader{nc, p.opts.CallTimeout}, 1<<20))
}

// deadlineReader gives each Read of a connection its own deadline.
type deadlineReader struct {
	nc      net.Conn
	timeout time.Duration
}

func (d deadlineReader) Read(p []byte) (int, error) {
	d.nc.SetReadDeadline(time.Now().Add(d.timeout))
	return d.nc.Read(p)
}

// notSent is an error of a call that was never written: it reads as the
// cause and matches backend.ErrNotSent.
type notSent struct{ err error }

func (e notSent) Error() string   { return e.err.Error() }
func (e notSent) Unwrap() []error { return []error{e.err, backend.ErrNotSent} }

// errUnsent marks a call refused by a connection already dead: it was
// never written.
var errUnsent = errors.New("not sent")

// conn picks a live connection to addr, dialling if the slot is empty or dead.
func (p *Pool) conn(addr string) (*conn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errors.New("forward: pool closed")
	}
	cs := p.addrs[addr]
	if cs == nil {
		cs = make([]*conn, p.opts.ConnsPerAddr)
		p.addrs[addr] = cs
	}
	i := int(p.next.Add(1) % uint64(len(cs)))
	c := cs[i]
	p.mu.Unlock()
	if c != nil && !c.dead.Load() {
		return c, nil
	}
	nc, err := dial(addr, p.opts)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		nc.close(errors.New("forward: pool closed"))
		return nil, errors.New("forward: pool closed")
	}
	cs = p.addrs[addr]
	if cs == nil {
		// Drop forgot addr while this call dialed (a leadership change):
		// the new connection starts its slots afresh.
		cs = make([]*conn, p.opts.ConnsPerAddr)
		p.addrs[addr] = cs
	}
	if cur := cs[i]; cur != nil && !cur.dead.Load() {
		nc.close(nil) // another caller filled the slot first
		return cur, nil
	}
	cs[i] = nc
	return nc, nil
}

// Drop closes the connections to addr (a leader that is no longer
// leader): calls in flight to it fail at once, rather than after the call
// timeout when that node is frozen or cut off. Later calls dial afresh.
func (p *Pool) Drop(addr string) {
	p.mu.Lock()
	cs := p.addrs[addr]
	delete(p.addrs, addr)
	p.mu.Unlock()
	for _, c := range cs {
		if c != nil {
			c.close(errors.New("forward: leadership moved from " + addr))
		}
	}
}

// Close closes every connection; calls in flight fail.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, cs := range p.addrs {
		for _, c := range cs {
			if c != nil {
				c.close(errors.New("forward: pool closed"))
			}
		}
	}
	return nil
}

type call struct {
	reply []byte
	err   error
	done  chan struct{}
}

type conn struct {
	nc      net.Conn
	wmu     sync.Mutex // orders writes with their place in the queue
	w       *bufio.Writer
	buf     []byte
	pending chan *call
	dead    atomic.Bool
	failMu  sync.Mutex
	failErr error
}

func dial(addr string, o Options) (*conn, error) {
	nc, r, err := linkConn(addr, o)
	if err != nil {
		return nil, err
	}
	c := &conn{nc: nc, w: bufio.NewWriterSize(nc, 64<<10), pending: make(chan *call, 4096)}
	go c.readLoop(r)
	return c, nil
}

// linkConn dials addr and links the connection (TLS, then WALKER.LINK).
// The reader holds nothing past the link's reply: the leader sends nothing
// more until asked.
func linkConn(addr string, o Options) (net.Conn, *bufio.Reader, error) {
	d := net.Dialer{Timeout: o.DialTimeout}
	if o.LocalIP != nil {
		d.LocalAddr = &net.TCPAddr{IP: o.LocalIP}
	}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("forward: dial %s: %w", addr, err)
	}
	// The link handshake (TLS, then WALKER.LINK) has the dial timeout.
	nc.SetDeadline(time.Now().Add(o.DialTimeout))
	if o.TLS != nil {
		tc := o.TLS
		if tc.ServerName == "" {
			tc = tc.Clone()
			tc.ServerName, _, _ = net.SplitHostPort(addr)
		}
		t := tls.Client(nc, tc)
		if err := t.Handshake(); err != nil {
			nc.Close()
			return nil, nil, fmt.Errorf("forward: TLS to %s: %w", addr, err)
		}
		nc = t
	}
	r := bufio.NewReaderSize(nc, 64<<10)
	if err := o.Links.LinkRESP(nc, r); err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("forward: node link to %s: %w", addr, err)
	}
	nc.SetDeadline(time.Time{})
	return nc, r, nil
}

func (c *conn) do(args [][]byte, timeout time.Duration) ([]byte, error) {
	cl := &call{done: make(chan struct{})}
	c.wmu.Lock()
	if c.dead.Load() {
		c.wmu.Unlock()
		return nil, fmt.Errorf("%w (%w)", c.err(), errUnsent)
	}
	err := c.writeCommand(args)
	queued := err == nil
	if queued {
		c.pending <- cl
		err = c.w.Flush()
	}
	c.wmu.Unlock()
	if err != nil {
		c.close(err)
	}
	if !queued {
		// Part of the command may have gone out, and no reply will be
		// read for it: the read loop knows only queued calls.
		return nil, c.err()
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-cl.done:
		return cl.reply, cl.err
	case <-t.C:
		// The reply may still come; the connection can no longer be
		// trusted to pair replies with calls, so drop it.
		c.close(fmt.Errorf("forward: no reply from leader within %v", timeout))
		<-cl.done
		return cl.reply, cl.err
	}
}

// writeCommand writes args to c.w as a RESP command, through c.buf but
// for an argument of 1 MiB or more, which bufio.Writer passes to the
// socket from where it lies: a forwarded 512 MB SET is not copied.
func (c *conn) writeCommand(args [][]byte) error {
	b := resp.AppendArray(c.buf[:0], len(args))
	for _, a := range args {
		if len(a) < 1<<20 {
			b = resp.AppendBulk(b, a)
			continue
		}
		b = resp.AppendBulkHeader(b, len(a))
		if _, err := c.w.Write(b); err != nil {
			return err
		}
		if _, err := c.w.Write(a); err != nil {
			return err
		}
		b = append(b[:0], '\r', '\n')
	}
	_, err := c.w.Write(b)
	c.buf = b[:0]
	return err
}

func (c *conn) readLoop(r *bufio.Reader) {
	for {
		// Wait for a reply's first byte, or the end of the connection,
		// also while no call is pending: a leader that closes an idle
		// connection (CLIENT KILL, a restart) is noticed now, and the
		// pool dials afresh, rather than the next call being written
		// into a closed socket and answered "outcome unknown".
		if _, err := r.Peek(1); err != nil {
			c.close(err)
			for cl := range c.pending {
				cl.err = c.err()
				close(cl.done)
			}
			return
		}
		cl, ok := <-c.pending
		if !ok {
			return
		}
		raw, err := resp.ReadRaw(r)
		if err != nil {
			c.close(err)
			cl.err = c.err()
			close(cl.done)
			continue // fail the rest of the queue
		}
		cl.reply = raw
		close(cl.done)
	}
}

func (c *conn) err() error {
	c.failMu.Lock()
	defer c.failMu.Unlock()
	return fmt.Errorf("%w: %v", ErrConnLost, c.failErr)
}

// close marks the connection dead and fails its queued calls.
func (c *conn) close(cause error) {
	c.failMu.Lock()
	if c.failErr == nil {
		if cause == nil {
			cause = errors.New("closed")
		}
		c.failErr = cause
	}
	c.failMu.Unlock()
	if c.dead.Swap(true) {
		return
	}
	c.nc.Close() // the read loop's read fails and drains the queue
	go func() {
		// No more calls can be queued once dead is set and wmu is taken.
		c.wmu.Lock()
		close(c.pending)
		c.wmu.Unlock()
	}()
}
