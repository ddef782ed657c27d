package chaos

import (
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// Net is the network between the nodes as the harness controls it. Every
// connection from one node to another goes through a Proxy in front of the
// destination; the connection's source IP names the node that opened it
// (walkerd dials Raft peers from its -raft IP and forwards to the leader
// from its -tcp IP, and each node has an IP of its own). So the proxy
// knows both ends of every byte it carries and can cut, stall or delay the
// traffic between any two nodes without root.
//
// A link between two nodes is one of:
//
//   - open: bytes pass, after the link's delay if it has one;
//   - stalled: bytes wait in the proxy (and, once its buffer is full, in
//     the sender's socket) until the link opens again, as with packets
//     dropped by a firewall and retransmitted after the partition heals;
//     new connections are accepted and stall the same way;
//   - reset: connections between the two are closed at once and new ones
//     are closed as soon as they are accepted, as with a firewall that
//     rejects.
//
// Links are symmetric for blocking (TCP needs both directions) and
// directed for delay.
type Net struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever a rule changes
	nodeOf  map[string]int
	blocked map[pair]BlockMode
	delay   map[[2]int]Delay
	pipes   map[*pipe]struct{}
	proxies []*Proxy
	closed  bool
}

// BlockMode is how a blocked link behaves.
type BlockMode int

const (
	// Stall holds the bytes until the link heals.
	Stall BlockMode = iota + 1
	// Reset closes the connections.
	Reset
)

func (m BlockMode) String() string {
	switch m {
	case Stall:
		return "stall"
	case Reset:
		return "reset"
	}
	return "open"
}

// Delay is the extra latency of a directed link: Base plus a uniform
// random part up to Jitter, never reordering bytes.
type Delay struct{ Base, Jitter time.Duration }

type pair struct{ a, b int } // a < b

func mkpair(a, b int) pair {
	if a > b {
		a, b = b, a
	}
	return pair{a, b}
}

// NewNet returns a network with every link open. nodeOf maps each node's
// IP to its index.
func NewNet(nodeOf map[string]int) *Net {
	return &Net{
		changed: make(chan struct{}),
		nodeOf:  nodeOf,
		blocked: map[pair]BlockMode{},
		delay:   map[[2]int]Delay{},
		pipes:   map[*pipe]struct{}{},
	}
}

// notify wakes every stalled writer to look at the rules again. n.mu held.
func (n *Net) notify() {
	close(n.changed)
	n.changed = make(chan struct{})
}

// Block blocks the link between a and b.
func (n *Net) Block(a, b int, mode BlockMode) {
	if a == b {
		return
	}
	n.mu.Lock()
	n.blocked[mkpair(a, b)] = mode
	var reset []*pipe
	if mode == Reset {
		for p := range n.pipes {
			if mkpair(p.from, p.to) == mkpair(a, b) {
				reset = append(reset, p)
			}
		}
	}
	n.notify()
	n.mu.Unlock()
	for _, p := range reset {
		p.close()
	}
}

// Partition blocks every link between nodes of different groups. Nodes in
// no group keep their links.
func (n *Net) Partition(mode BlockMode, groups ...[]int) {
	for i, g := range groups {
		for _, h := range groups[i+1:] {
			for _, a := range g {
				for _, b := range h {
					n.Block(a, b, mode)
				}
			}
		}
	}
}

// SetDelay sets the latency of the directed link from -> to.
func (n *Net) SetDelay(from, to int, d Delay) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if d.Base <= 0 && d.Jitter <= 0 {
		delete(n.delay, [2]int{from, to})
	} else {
		n.delay[[2]int{from, to}] = d
	}
	n.notify()
}

// Heal opens every link and removes every delay.
func (n *Net) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.blocked)
	clear(n.delay)
	n.notify()
}

// Blocked reports how the link between a and b is blocked (0: open).
func (n *Net) Blocked(a, b int) BlockMode {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.blocked[mkpair(a, b)]
}

// rule returns what applies to bytes from -> to now, and the channel that
// is closed when that may change.
func (n *Net) rule(from, to int) (BlockMode, Delay, <-chan struct{}) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if from < 0 || to < 0 {
		return 0, Delay{}, n.changed
	}
	return n.blocked[mkpair(from, to)], n.delay[[2]int{from, to}], n.changed
}

// Close closes every proxy and every connection through them.
func (n *Net) Close() error {
	n.mu.Lock()
	n.closed = true
	ps := n.proxies
	pipes := make([]*pipe, 0, len(n.pipes))
	for p := range n.pipes {
		pipes = append(pipes, p)
	}
	n.mu.Unlock()
	for _, p := range ps {
		p.ln.Close()
	}
	for _, p := range pipes {
		p.close()
	}
	for _, p := range ps {
		p.wg.Wait()
	}
	return nil
}

// Stats counts the connections each proxy carried and refused.
type Stats struct{ Accepted, Refused int64 }

// Proxy accepts connections in front of one node's port and carries them
// to it under the Net's rules.
type Proxy struct {
	net    *Net
	ln     net.Listener
	target string
	node   int
	wg     sync.WaitGroup

	mu    sync.Mutex
	stats Stats
}

// NewProxy listens on listen (host:port, port 0 for any) and forwards each
// connection to target, the port of node.
func (n *Net) NewProxy(listen, target string, node int) (*Proxy, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	p := &Proxy{net: n, ln: ln, target: target, node: node}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		ln.Close()
		return nil, errors.New("chaos: net closed")
	}
	n.proxies = append(n.proxies, p)
	n.mu.Unlock()
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the address the proxy listens on.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Stats returns the proxy's counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		from := -1
		if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
			if i, ok := p.net.nodeOf[a.IP.String()]; ok {
				from = i
			}
		}
		if mode, _, _ := p.net.rule(from, p.node); mode == Reset {
			p.mu.Lock()
			p.stats.Refused++
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.mu.Lock()
		p.stats.Accepted++
		p.mu.Unlock()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.carry(c, from)
		}()
	}
}

// carry connects c to the target and runs both directions until either
// ends.
func (p *Proxy) carry(c net.Conn, from int) {
	up, err := net.DialTimeout("tcp", p.target, 2*time.Second)
	if err != nil {
		c.Close() // the node is down: as a refused connection
		return
	}
	pp := &pipe{a: c, b: up, from: from, to: p.node, done: make(chan struct{})}
	n := p.net
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		pp.close()
		return
	}
	n.pipes[pp] = struct{}{}
	n.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); pp.run(n, c, up, from, p.node) }()
	go func() { defer wg.Done(); pp.run(n, up, c, p.node, from) }()
	wg.Wait()
	n.mu.Lock()
	delete(n.pipes, pp)
	n.mu.Unlock()
}

// pipe is one proxied connection: a is the node that dialled, b the
// target.
type pipe struct {
	a, b     net.Conn
	from, to int
	once     sync.Once
	done     chan struct{}
}

func (p *pipe) close() {
	p.once.Do(func() {
		close(p.done)
		p.a.Close()
		p.b.Close()
	})
}

type chunk struct {
	b  []byte
	at time.Time
}

// run copies src to dst: a reader queues chunks stamped with their arrival
// time, a writer sends each when the rules allow. Either end's failure
// closes the whole pipe.
func (p *pipe) run(n *Net, src, dst net.Conn, from, to int) {
	defer p.close()
	q := make(chan chunk, 16)
	go func() {
		defer close(q)
		for {
			buf := make([]byte, 32<<10)
			k, err := src.Read(buf)
			if k > 0 {
				select {
				case q <- chunk{b: buf[:k], at: time.Now()}:
				case <-p.done:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	var last time.Time
	for c := range q {
		for {
			mode, d, changed := n.rule(from, to)
			if mode == Reset {
				return
			}
			if mode == Stall {
				select {
				case <-changed:
					continue
				case <-p.done:
					return
				}
			}
			if d.Base > 0 || d.Jitter > 0 {
				due := c.at.Add(d.Base)
				if d.Jitter > 0 {
					due = due.Add(rand.N(d.Jitter))
				}
				if due.Before(last) {
					due = last
				}
				last = due
				if wait := time.Until(due); wait > 0 {
					t := time.NewTimer(wait)
					select {
					case <-t.C:
					case <-changed:
						t.Stop()
						continue // a partition may have started meanwhile
					case <-p.done:
						t.Stop()
						return
					}
				}
			}
			break
		}
		if _, err := dst.Write(c.b); err != nil {
			return
		}
	}
	// src ended: pass the end on once the bytes before it are delivered.
	if tc, ok := dst.(interface{ CloseWrite() error }); ok {
		tc.CloseWrite()
	}
	<-p.done
}
