package server

import (
	"errors"
	"net"
	"time"

	"github.com/tidwall/redcon"
	"github.com/walkerdb/walkerdb/walkerd/netloop"
)

// The connection loop. Each accepted connection gets a goroutine that takes
// the commands its protocol guard parsed (guard.go's next), runs them in
// order (handle), and gives the batch back; handle writes the replies.
// This is the loop redcon's Server ran, without its reader: the guard
// already follows every command's framing to hold it until it is whole,
// so it can slice the arguments out too, where redcon's reader parsed
// each command a second time and copied it (about 2.3 allocations a
// command).
//
// redcon's Conn stays the handler's view of a connection, and its Writer
// the encoder behind that view's Write methods.

// clientConn is a client connection as the handler sees it (redcon.Conn).
type clientConn struct {
	g      *guardConn
	wr     *redcon.Writer
	addr   string
	ctx    any
	cmds   []redcon.Command // the batch's commands not yet run
	closed bool
}

var _ redcon.Conn = (*clientConn)(nil)

func (c *clientConn) RemoteAddr() string          { return c.addr }
func (c *clientConn) NetConn() net.Conn           { return c.g }
func (c *clientConn) Context() any                { return c.ctx }
func (c *clientConn) SetContext(v any)            { c.ctx = v }
func (c *clientConn) SetReadBuffer(int)           {}
func (c *clientConn) WriteError(msg string)       { c.wr.WriteError(msg) }
func (c *clientConn) WriteString(str string)      { c.wr.WriteString(str) }
func (c *clientConn) WriteBulk(bulk []byte)       { c.wr.WriteBulk(bulk) }
func (c *clientConn) WriteBulkString(bulk string) { c.wr.WriteBulkString(bulk) }
func (c *clientConn) WriteInt(num int)            { c.wr.WriteInt(num) }
func (c *clientConn) WriteInt64(num int64)        { c.wr.WriteInt64(num) }
func (c *clientConn) WriteUint64(num uint64)      { c.wr.WriteUint64(num) }
func (c *clientConn) WriteArray(count int)        { c.wr.WriteArray(count) }
func (c *clientConn) WriteNull()                  { c.wr.WriteNull() }
func (c *clientConn) WriteRaw(data []byte)        { c.wr.WriteRaw(data) }
func (c *clientConn) WriteAny(v any)              { c.wr.WriteAny(v) }

// PeekPipeline returns the commands of the batch not yet run.
func (c *clientConn) PeekPipeline() []redcon.Command { return c.cmds }

// ReadPipeline returns the commands of the batch not yet run, which then
// do not run.
func (c *clientConn) ReadPipeline() []redcon.Command {
	cmds := c.cmds
	c.cmds = nil
	return cmds
}

// Detach is not supported: walkerd's pushers write to the socket beside
// the loop instead (pubsub.go). It returns nil.
func (c *clientConn) Detach() redcon.DetachedConn { return nil }

// Close writes what the Writer holds and closes the socket; the loop ends
// after the batch.
func (c *clientConn) Close() error {
	c.wr.Flush()
	c.closed = true
	return c.g.Close()
}

// serve accepts connections on ln (a guardListener) until Close, each
// served by evl's event loop as well as its goroutine when evl is not nil
// (evloop.go). An accept
// error that is not the listener's closing (too many open files, say) is
// retried after a pause that doubles from 5 ms to 1 s, as net/http's
// Server does.
func (s *Server) serve(ln net.Listener, evl *netloop.Loop) error {
	var pause time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosed() || errors.Is(err, net.ErrClosed) {
				return nil
			}
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			s.cfg.Logger.Warn("accepting a connection", "err", err, "retry_in", pause)
			select {
			case <-time.After(pause):
			case <-s.quit:
				return nil
			}
			continue
		}
		pause = 0
		c := &clientConn{g: nc.(*guardConn), addr: nc.RemoteAddr().String()}
		if evl != nil {
			// A plain TCP connection joins the event loop (evloop.go);
			// TLS and the rest stay as they are.
			if ec, err := evl.Add(c.g.Conn, func(ec *netloop.Conn) { ec.Ctx = c }); err == nil {
				c.g.Conn, c.g.ev, c.g.turn = ec, ec, &s.turn
			}
		}
		c.wr = redcon.NewWriter(c.g)
		if !s.accept(c) {
			c.Close()
			continue
		}
		go s.loop(c)
	}
}

// loop is a connection's loop: batches of commands, each run in order,
// until the client goes, a frame is refused, or a command closes the
// connection.
func (s *Server) loop(c *clientConn) {
	var err error
	defer func() {
		c.g.Close()
		s.disconnected(c, err)
	}()
	for {
		var cmds []redcon.Command
		if cmds, err = c.g.next(); err != nil {
			return
		}
		c.cmds = cmds
		if cl, ok := c.ctx.(*client); ok {
			s.prefetchReads(cl, cmds) // prefetch.go
		}
		for len(c.cmds) > 0 {
			cmd := c.cmds[0]
			c.cmds = c.cmds[1:]
			s.handle(c, cmd)
		}
		c.g.done(cmds)
		if c.closed {
			err = nil
			return
		}
		if err = c.wr.Flush(); err != nil {
			return
		}
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}
