package server

import (
	"errors"
	"io"
	"os"
	"syscall"

	"github.com/walkerdb/walkerdb/internal/resp"
)

// blobHolder is a backend whose Raft log keeps large entries' bytes in
// files of their own (store.Store): a follower fetches them from the
// leader with WALKER.BLOB before it accepts the entries.
type blobHolder interface {
	// OpenBlob opens the bytes of the log entry at index with term.
	OpenBlob(index, term uint64) (*os.File, int64, error)
}

// WALKER.BLOB index term [group]: the bytes of a large log entry of this
// node's Raft log (of the group named, on a node with several), as one
// bulk string streamed from its file; -ERR no such blob when the log holds
// none there. Internal: a follower asks the leader before it stores the
// entry (store.Store's log). Standalone: ERR, there is no log.
func cmdWalkerBlob(s *Server, c *client, args [][]byte) {
	b, index, term, ok := s.logPosition(c, args) // wait.go
	if !ok {
		return
	}
	bh, ok := b.(blobHolder)
	if !ok {
		c.errorReply("ERR this command requires cluster mode")
		return
	}
	f, size, err := bh.OpenBlob(index, term)
	if err != nil {
		c.errorReply("ERR no such blob: " + err.Error())
		return
	}
	defer f.Close()
	// The replies held, the header, then the file, straight to the socket.
	c.enc.B = resp.AppendBulkHeader(c.enc.B, int(size))
	c.io.ran(c, c.conn)
	nc := c.conn.NetConn()
	_, err = nc.Write(c.enc.B)
	if err == nil {
		_, err = io.Copy(nc, io.LimitReader(onlyReader{f}, size))
	}
	if err == nil {
		_, err = nc.Write([]byte("\r\n"))
	}
	c.resetOutput()
	if err != nil {
		// Part of the reply went out: nothing more can follow it.
		if !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
			s.cfg.Logger.Warn("sending a log entry's blob failed", "addr", c.addr, "index", index, "err", err)
		}
		c.quit = true
	}
}

// onlyReader hides a file's other methods, so that io.Copy reads it in
// chunks into its own buffer rather than handing it to the connection's
// ReadFrom (which the guard's connection does not have).
type onlyReader struct{ io.Reader }
