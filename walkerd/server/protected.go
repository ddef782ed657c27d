package server

// Protected mode, as Redis 7.0.15's clientAcceptHandler (networking.c):
// while protected-mode is yes (the default) and the default user has no
// password, a connection that does not come from the loopback interface
// is sent the DENIED error below, word for word Redis's, and closed. Whether the default user has
// a password is acl.go's defaultUserHasPassword.
//
// "From the loopback interface" is a Unix socket or a peer address in
// 127.0.0.0/8 or ::1: every address Linux routes over the loopback
// interface. Redis 7.0's islocalClient compares the text "127.0.0.1"
// instead, and denies 127.0.0.2; walkerd does not, because its nodes on
// one machine talk from such addresses (the chaos harness gives each node
// its own, 127.0.0.11 and up), and a peer there is as local as 127.0.0.1.
//
// The check runs when the connection is accepted, after maxclients, as in
// Redis. A node of a cluster whose node links are authenticated (a
// cluster secret or mutual TLS, Config.Links) forwards its clients'
// commands to the leader's RESP port over such a link: there a connection
// protected mode refuses is held instead, allowed WALKER.LINK only, and is
// sent the DENIED text and closed at its first other command, unless
// WALKER.LINK made it a node link. Without authenticated links (a
// loopback-only cluster, or standalone) it is refused at once, as Redis.

import (
	"net"

	"github.com/tidwall/redcon"
)

// protectedDenied is the reply of a connection protected mode refuses:
// Redis 7.0.15's text, including its wording.
const protectedDenied = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n"

// protectedRefuse applies protected mode to a connection being accepted:
// when it refuses it, it queues the DENIED reply (written as the
// connection closes) and reports true. With authenticated node links it
// holds the connection instead (protectedHeld).
func (s *Server) protectedRefuse(conn redcon.Conn) bool {
	if s.lim.unprotected.Load() || s.defaultUserHasPassword() {
		return false
	}
	if s.peerIsLocal(conn.NetConn().RemoteAddr()) {
		return false
	}
	if s.cfg.Links.Authenticated() {
		if g, ok := conn.NetConn().(*guardConn); ok {
			g.protectedHeld = true
			return false
		}
	}
	conn.WriteRaw([]byte(protectedDenied))
	return true
}

// protectedHeld refuses a held connection's command other than
// WALKER.LINK, until the connection is a node link: the DENIED text is
// its reply, and the connection closes after it. It reports whether it
// refused.
func (s *Server) protectedHeld(c *client, name []byte) bool {
	if c.conn == nil || c.link.linked {
		return false
	}
	g, ok := c.conn.NetConn().(*guardConn)
	if !ok || !g.protectedHeld || equalFoldStr(name, "walker.link") {
		return false
	}
	c.enc.B = append(c.enc.B, protectedDenied...)
	c.quit = true
	return true
}

// peerIsLocal is islocalClient, or the test's replacement of it.
func (s *Server) peerIsLocal(addr net.Addr) bool {
	if f := s.lim.isLocal.Load(); f != nil {
		return (*f)(addr)
	}
	return isLocalAddr(addr)
}

// isLocalAddr reports a Unix socket, or a peer on the loopback interface:
// 127.0.0.0/8 (IPv4-mapped too) or ::1.
func isLocalAddr(addr net.Addr) bool {
	switch a := addr.(type) {
	case *net.UnixAddr:
		return true
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	}
	return false
}
