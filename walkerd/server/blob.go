package server

import (
	"errors"
	"io"
	"os"
	"strconv"
	"syscall"

	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/command"
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
	gi := 0
	if len(args) > 3 {
		if gi = s.groupByID(string(args[3])); gi < 0 {
			c.errorReply("ERR no such Raft group on this node: " + string(args[3]))
			return
		}
	}
	bh, ok := s.groupB(gi).(blobHolder)
	if !ok {
		c.errorReply("ERR this command requires cluster mode")
		return
	}
	index, err1 := strconv.ParseUint(string(args[1]), 10, 64)
	term, err2 := strconv.ParseUint(string(args[2]), 10, 64)
	if err1 != nil || err2 != nil {
		c.fail(command.ErrNotInteger)
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
