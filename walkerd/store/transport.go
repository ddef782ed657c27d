package store

import (
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/raft"
)

// streamLayer is raft's TCP stream layer with two differences from
// raft.NewTCPTransport's: it advertises an address other than the one it
// binds (a proxy or NAT in front of the node), and it dials peers from the
// IP it binds, so a peer (or a fault-injecting proxy) can tell which node
// a connection comes from by its source address.
type streamLayer struct {
	net.Listener
	advertise net.Addr
	dialer    net.Dialer
}

func newStreamLayer(bind, advertise string) (*streamLayer, error) {
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, err
	}
	s := &streamLayer{Listener: ln, advertise: ln.Addr()}
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
	return s, nil
}

// Dial implements raft.StreamLayer.
func (s *streamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := s.dialer
	d.Timeout = timeout
	return d.Dial("tcp", string(addr))
}

// Addr implements net.Listener: the address peers are told to dial.
func (s *streamLayer) Addr() net.Addr { return s.advertise }
