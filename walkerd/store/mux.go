package store

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/walkerdb/walkerdb/walkerd/nodelink"
)

// Mux shares one Raft listener among the Raft groups a node hosts
// (walkerd/shard/DESIGN.md, "One Raft port, one stream layer per group").
// It owns one streamLayer, so every connection, accepted or dialed, runs
// nodelink's handshake before anything else; then the dialer names the
// group:
//
//	dialer -> listener, right after the nodelink handshake succeeded
//	+--------+---------+-----------+------------------------------+
//	| "WKGR" | version | id length | group id ("g7", "placement") |
//	| 4 B    | 0x01    | 1 B, 1-64 | [a-z0-9-], id length bytes   |
//	+--------+---------+-----------+------------------------------+
//
//	listener -> dialer
//	+--------+
//	| status |  0x01 hosted: raft's own bytes follow on this stream
//	+--------+  0x02 no such group here, 0x03 group closing (then close)
//
// A stream whose first byte is not 'W' comes from a node that predates the
// mux (hashicorp/raft's RPC types are the bytes 0..4, net_transport.go
// v1.7.3): it goes, first byte included, to the default group
// (SetDefault), so that a rolling upgrade keeps g1 working.
//
// Every group of a node has the same Raft address, the mux's Addr.
type Mux struct {
	stream  *streamLayer
	log     *slog.Logger
	timeout time.Duration    // bounds reading a header: nodelink's handshake timeout
	warn    nodelink.Limiter // one WARN per burst of refused streams

	mu      sync.Mutex
	groups  map[string]*groupLayer
	def     string
	pending map[net.Conn]struct{} // accepted, header not yet routed
	closed  bool

	done  chan struct{}
	close sync.Once
	wg    sync.WaitGroup
	slots chan struct{} // bounds header reads in progress
}

// Header bytes and statuses (see Mux).
const (
	muxMagic        = "WKGR"
	muxVersion      = 0x01
	muxMaxGroupID   = 64
	muxStatusOK     = 0x01
	muxStatusNoSuch = 0x02
	muxStatusClosed = 0x03
)

var (
	// ErrNoSuchGroup is a dial's error when the far node does not host
	// the group (status 0x02).
	ErrNoSuchGroup = errors.New("store: raft group not hosted by the node")
	// ErrGroupClosing is a dial's error when the far node's group is
	// shutting down (status 0x03).
	ErrGroupClosing = errors.New("store: raft group closing on the node")
)

// NewMux listens on bind (host:port; port 0 picks one) and serves the
// groups registered with Layer. advertise, if not "", is the address peers
// dial when it is not bind (as Config.RaftAdvertise). links authenticates
// every connection (nil: the unauthenticated exchange). log nil:
// slog.Default().
func NewMux(bind, advertise string, links *nodelink.Config, log *slog.Logger) (*Mux, error) {
	if log == nil {
		log = slog.Default()
	}
	stream, err := newStreamLayer(bind, advertise, links, log)
	if err != nil {
		return nil, err
	}
	timeout := nodelink.DefaultTimeout
	if links != nil && links.Timeout > 0 {
		timeout = links.Timeout
	}
	m := &Mux{stream: stream, log: log, timeout: timeout, warn: nodelink.Limiter{Every: 10 * time.Second},
		groups: map[string]*groupLayer{}, pending: map[net.Conn]struct{}{},
		done: make(chan struct{}), slots: make(chan struct{}, maxHandshakes)}
	m.wg.Add(1)
	go m.acceptLoop()
	return m, nil
}

// validGroupID checks a group id against the header's rule: 1 to 64 bytes
// of [a-z0-9-].
func validGroupID(id string) error {
	if len(id) == 0 || len(id) > muxMaxGroupID {
		return fmt.Errorf("raft group id %q: want 1 to %d bytes", id, muxMaxGroupID)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("raft group id %q: want [a-z0-9-]", id)
		}
	}
	return nil
}

// Layer registers group on the mux and returns its stream layer, for
// raft.NewNetworkTransport: it accepts the streams dialed to group and
// dials group on other nodes. Closing the layer unregisters the group and
// leaves the mux serving the others; the group may then be registered
// again. It fails if the id is not valid, the group is registered, or the
// mux is closed.
func (m *Mux) Layer(group string) (*groupLayer, error) {
	if err := validGroupID(group); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("raft group %s: %w", group, net.ErrClosed)
	}
	if _, ok := m.groups[group]; ok {
		return nil, fmt.Errorf("raft group %s: already registered on this node", group)
	}
	g := &groupLayer{mux: m, id: group, ch: make(chan net.Conn), done: make(chan struct{})}
	g.header = append(append(append([]byte(muxMagic), muxVersion), byte(len(group))), group...)
	m.groups[group] = g
	return g, nil
}

// SetDefault names the group that streams without a header (from nodes
// that predate the mux) go to. "" (the default): such streams are closed.
func (m *Mux) SetDefault(group string) {
	m.mu.Lock()
	m.def = group
	m.mu.Unlock()
}

// Addr is the address peers dial, every group alike.
func (m *Mux) Addr() net.Addr { return m.stream.Addr() }

// Close stops the listener, every group's layer, and the header reads in
// progress. Connections already handed to a group are the group's.
func (m *Mux) Close() error {
	var err error
	m.close.Do(func() {
		m.mu.Lock()
		m.closed = true
		close(m.done)
		for _, g := range m.groups {
			g.closeDone()
		}
		m.groups = map[string]*groupLayer{}
		for c := range m.pending {
			c.Close()
		}
		m.mu.Unlock()
		err = m.stream.Close()
		m.wg.Wait()
	})
	return err
}

// acceptLoop takes the streams whose handshake succeeded and routes each
// in its own goroutine.
func (m *Mux) acceptLoop() {
	defer m.wg.Done()
	for {
		select {
		case m.slots <- struct{}{}:
		case <-m.done:
			return
		}
		c, err := m.stream.Accept()
		if err != nil {
			<-m.slots
			return // the stream layer closed: Close, or its listener failed (logged)
		}
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			c.Close()
			<-m.slots
			return
		}
		m.pending[c] = struct{}{}
		m.wg.Add(1)
		m.mu.Unlock()
		go m.route(c)
	}
}

// route reads c's header and hands c to its group.
func (m *Mux) route(c net.Conn) {
	defer m.wg.Done()
	conn, g, ok := m.readHeader(c)
	m.mu.Lock()
	delete(m.pending, c)
	m.mu.Unlock()
	<-m.slots
	if !ok {
		c.Close()
		return
	}
	select {
	case g.ch <- conn:
	case <-g.done:
		c.Close()
	case <-m.done:
		c.Close()
	}
}

// readHeader reads and answers c's header under the handshake's timeout.
// ok is false when c must be closed (after a refusing status, if any).
func (m *Mux) readHeader(c net.Conn) (conn net.Conn, g *groupLayer, ok bool) {
	remote := c.RemoteAddr().String()
	c.SetDeadline(time.Now().Add(m.timeout))
	var first [1]byte
	if _, err := io.ReadFull(c, first[:]); err != nil {
		m.refused(remote, "", "reading the group header", err)
		return nil, nil, false
	}
	if first[0] != muxMagic[0] {
		// A node without the mux: raft's own bytes, first byte included.
		m.mu.Lock()
		g = m.groups[m.def]
		m.mu.Unlock()
		if g == nil {
			m.refused(remote, m.def, "stream without a group header and no default group here", nil)
			return nil, nil, false
		}
		c.SetDeadline(time.Time{})
		return &peekedConn{Conn: c, first: first[0], pending: true}, g, true
	}
	var h [len(muxMagic) + 1]byte // "KGR", version, id length
	if _, err := io.ReadFull(c, h[:]); err != nil {
		m.refused(remote, "", "reading the group header", err)
		return nil, nil, false
	}
	if string(h[:3]) != muxMagic[1:] || h[3] != muxVersion || h[4] == 0 || h[4] > muxMaxGroupID {
		m.refused(remote, "", fmt.Sprintf("bad group header % x", append(first[:], h[:]...)), nil)
		return nil, nil, false
	}
	id := make([]byte, h[4])
	if _, err := io.ReadFull(c, id); err != nil {
		m.refused(remote, "", "reading the group id", err)
		return nil, nil, false
	}
	m.mu.Lock()
	g = m.groups[string(id)]
	m.mu.Unlock()
	status := byte(muxStatusOK)
	switch {
	case g == nil:
		status = muxStatusNoSuch
	case g.isClosed():
		status = muxStatusClosed
	}
	if _, err := c.Write([]byte{status}); err != nil || status != muxStatusOK {
		if status == muxStatusNoSuch {
			m.refused(remote, string(id), "group not hosted here", err)
		}
		return nil, nil, false
	}
	c.SetDeadline(time.Time{})
	return c, g, true
}

// refused logs a stream the mux closed: one WARN per burst, with how many
// were held back since the last.
func (m *Mux) refused(remote, group, why string, err error) {
	if ok, held := m.warn.Allow(); ok {
		m.log.Warn("raft stream refused: connection closed", "remote", remote, "group", group, "why", why,
			"err", err, "refusals_not_logged", held)
	}
}

// peekedConn gives back the byte the mux read to tell a stream without a
// header from one with: raft reads it first. Raft reads a connection from
// one goroutine.
type peekedConn struct {
	net.Conn
	first   byte
	pending bool
}

func (p *peekedConn) Read(b []byte) (int, error) {
	if p.pending && len(b) > 0 {
		p.pending = false
		b[0] = p.first
		if len(b) == 1 {
			return 1, nil
		}
		n, err := p.Conn.Read(b[1:])
		if err != nil && n == 0 {
			return 1, nil // the error comes back on the next Read
		}
		return n + 1, err
	}
	return p.Conn.Read(b)
}

// groupLayer is one Raft group's raft.StreamLayer on a Mux.
type groupLayer struct {
	mux    *Mux
	id     string
	header []byte // "WKGR", version, id length, id
	ch     chan net.Conn
	done   chan struct{}
	once   sync.Once
	dialed dialSet // the streams Dial made
}

var _ raft.StreamLayer = (*groupLayer)(nil)

// closeDone stops the group's Accept and hangs up its dialed streams.
func (g *groupLayer) closeDone() {
	g.once.Do(func() { close(g.done) })
	g.dialed.close()
}

// closeDialed closes the streams Dial made, and makes later dials fail at
// once (dialSet); the group keeps accepting.
func (g *groupLayer) closeDialed() { g.dialed.close() }

func (g *groupLayer) isDefault() bool {
	g.mux.mu.Lock()
	defer g.mux.mu.Unlock()
	return g.mux.def == g.id
}

func (g *groupLayer) isClosed() bool {
	select {
	case <-g.done:
		return true
	default:
		return false
	}
}

// Accept implements net.Listener: the next stream dialed to this group.
func (g *groupLayer) Accept() (net.Conn, error) {
	select {
	case c := <-g.ch:
		return c, nil
	case <-g.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener: this group stops accepting and leaves the
// mux; the mux and the other groups keep serving. Streams already accepted
// are raft's to close.
func (g *groupLayer) Close() error {
	g.closeDone()
	m := g.mux
	m.mu.Lock()
	if m.groups[g.id] == g {
		delete(m.groups, g.id)
	}
	m.mu.Unlock()
	return nil
}

// Addr implements net.Listener: the mux's advertised address.
func (g *groupLayer) Addr() net.Addr { return g.mux.Addr() }

// Dial implements raft.StreamLayer: it links to addr (nodelink's
// handshake), names this group, and waits for the far node's status,
// within timeout (at least 2 s). A node that does not host the group fails
// the dial at once with ErrNoSuchGroup, one whose group is closing with
// ErrGroupClosing. When the far node closes the stream without a status
// (a node without the mux) and this is the default group, Dial links
// again and sends no header, as such a node expects.
func (g *groupLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	c, err := g.mux.stream.dial(addr, timeout, &g.dialed)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(max(timeout, 2*time.Second)))
	var status [1]byte
	if _, err = c.Write(g.header); err == nil {
		_, err = io.ReadFull(c, status[:])
	}
	if err != nil {
		c.Close()
		var ne net.Error
		if !(errors.As(err, &ne) && ne.Timeout()) && g.isDefault() {
			// A node without the mux closes a stream that starts with
			// 'W' (raft: "unknown rpc type 87"). It serves only the
			// default group, which takes a stream without a header:
			// send one, so a rolling upgrade works both ways.
			return g.mux.stream.dial(addr, timeout, &g.dialed)
		}
		return nil, fmt.Errorf("raft group %s at %s: no status after the group header (a node without the mux?): %w", g.id, addr, err)
	}
	switch status[0] {
	case muxStatusOK:
		c.SetDeadline(time.Time{})
		return c, nil
	case muxStatusNoSuch:
		err = ErrNoSuchGroup
	case muxStatusClosed:
		err = ErrGroupClosing
	default:
		err = fmt.Errorf("unknown status 0x%02x", status[0])
	}
	c.Close()
	return nil, fmt.Errorf("raft group %s at %s: %w", g.id, addr, err)
}
