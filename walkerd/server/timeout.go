package server

import (
	"strings"
	"time"
)

// timeoutCheck is how often the idle-client sweep (CONFIG SET timeout)
// looks at the clients. Redis checks a share of its clients every cron
// tick; walkerd looks at all of them, ten times a second, and only while
// timeout is not 0.
const timeoutCheck = 100 * time.Millisecond

// timeoutLoop closes the clients idle longer than timeout seconds until
// the server closes.
func (s *Server) timeoutLoop() {
	defer s.bg.Done()
	t := time.NewTicker(timeoutCheck)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case now := <-t.C:
			s.users() // acl.go: reading the users closes the connections of a deleted one
			if secs := s.conf.timeout.Load(); secs > 0 {
				s.closeIdle(now, time.Duration(secs)*time.Second)
			}
		}
	}
}

// closeIdle closes the clients whose last activity (a command starting,
// bytes read from the client or written to it: the protocol guard marks
// them, as Redis's lastinteraction) is more than limit ago, as Redis's
// clientsCronHandleTimeout: never a client running a
// command or blocked in one (BLPOP, WAIT, a paused write), a subscribed
// client (SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE), a MONITOR client, or a
// link another node forwards commands on.
func (s *Server) closeIdle(now time.Time, limit time.Duration) {
	s.mu.Lock()
	var idle []*client
	for c := range s.conns {
		if now.Sub(time.Unix(0, c.lastCmd.Load())) > limit {
			idle = append(idle, c)
		}
	}
	s.mu.Unlock()
	for _, c := range idle {
		if c.running.Load() || c.blocked.Load() != nil || c.nodeLink.Load() || c.killed.Load() ||
			time.Since(time.Unix(0, c.lastCmd.Load())) <= limit {
			continue
		}
		if flags, _, _, _ := s.clientSubs(c); strings.ContainsAny(flags, "PO") {
			continue
		}
		s.cfg.Logger.Debug("Closing idle client", "id", c.id, "addr", c.addr)
		c.killed.Store(true)
		c.conn.NetConn().Close()
	}
}
