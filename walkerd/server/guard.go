package server

import (
	"errors"
	"net"
	"sync/atomic"
)

// The protocol guard sits between each client socket and redcon's reader.
// redcon v1.6.2 puts no limit on bulk lengths or multibulk counts, and a
// bulk length near math.MaxInt64 overflows its index arithmetic into a
// panic that would take the whole process down; a huge multibulk count
// makes it spin through the count on every read. The guard follows the
// RESP framing of the byte stream (cheaply: it skips bulk bodies by count)
// and cuts the connection, with Redis's error reply, before redcon sees a
// frame beyond Redis's own limits.
const (
	maxBulkLen      = 512 << 20 // proto-max-bulk-len
	maxMultibulk    = 1 << 20   // arguments in one command
	maxInline       = 64 << 10  // PROTO_INLINE_MAX_SIZE
	maxCommandBytes = 1 << 30   // client-query-buffer-limit
	maxHeaderLine   = 32        // "*"/"$" and a length: far less than this
)

var errGuardClosed = errors.New("server: connection closed by the protocol guard")

type guardListener struct {
	net.Listener
	rejected *atomic.Int64
}

func (l guardListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &guardConn{Conn: c, rejected: l.rejected}, nil
}

type guardState uint8

const (
	gsStart       guardState = iota // at the start of a command
	gsInline                        // inside an inline (telnet) command line
	gsCount                         // inside "*<count>\r\n"
	gsDollar                        // expecting '$' of the next argument
	gsLen                           // inside "$<len>\r\n"
	gsBody                          // skipping an argument's bytes and CRLF
	gsPassthrough                   // framing redcon will refuse itself
)

type guardConn struct {
	net.Conn
	rejected *atomic.Int64

	state   guardState
	line    []byte // the header line being read
	args    int64  // arguments left in the current command
	skip    int64  // bytes left to skip in gsBody
	inline  int    // bytes of the current inline command
	cmdSize int64  // bytes of the current command so far
	failed  string // the error reply owed to the client
}

func (g *guardConn) Read(p []byte) (int, error) {
	if g.failed != "" {
		return 0, g.refuse()
	}
	n, err := g.Conn.Read(p)
	if n > 0 {
		if bad := g.scan(p[:n]); bad >= 0 {
			if bad == 0 {
				return 0, g.refuse()
			}
			return bad, nil // hand over what precedes the bad frame
		}
	}
	return n, err
}

// refuse writes the owed error reply and ends the connection.
func (g *guardConn) refuse() error {
	g.Conn.Write([]byte("-ERR Protocol error: " + g.failed + "\r\n"))
	g.rejected.Add(1)
	return errGuardClosed
}

// scan follows the framing through b. It returns the offset of the first
// byte of a frame beyond the limits (and sets g.failed), or -1.
func (g *guardConn) scan(b []byte) int {
	cmdStart := 0 // where, in b, the current command began (0 if earlier)
	for i := 0; i < len(b); i++ {
		switch g.state {
		case gsPassthrough:
			return -1
		case gsStart:
			cmdStart = i
			g.cmdSize = 0
			if b[i] == '*' {
				g.state, g.line = gsCount, g.line[:0]
			} else {
				g.state, g.inline = gsInline, 0
				i-- // count this byte as part of the line
			}
		case gsInline:
			if b[i] == '\n' {
				g.state = gsStart
				continue
			}
			g.inline++
			if g.inline > maxInline {
				g.failed = "too big inline request"
				return cmdStart
			}
		case gsCount, gsLen:
			if b[i] != '\n' {
				if len(g.line) >= maxHeaderLine {
					return g.fail(cmdStart)
				}
				g.line = append(g.line, b[i])
				continue
			}
			n, ok := headerInt(g.line)
			if !ok {
				g.state = gsPassthrough // redcon answers the error
				return -1
			}
			if g.state == gsCount {
				if n > maxMultibulk {
					return g.fail(cmdStart)
				}
				if n <= 0 {
					g.state = gsPassthrough
					return -1
				}
				g.args, g.state = n, gsDollar
				continue
			}
			if n < 0 || n > maxBulkLen {
				return g.fail(cmdStart)
			}
			g.cmdSize += n
			if g.cmdSize > maxCommandBytes {
				g.failed = "command too large"
				return cmdStart
			}
			g.skip, g.state = n+2, gsBody
		case gsDollar:
			if b[i] != '$' {
				g.state = gsPassthrough
				return -1
			}
			g.state, g.line = gsLen, g.line[:0]
		case gsBody:
			take := min(g.skip, int64(len(b)-i))
			g.skip -= take
			i += int(take) - 1
			if g.skip == 0 {
				g.args--
				if g.args == 0 {
					g.state = gsStart
				} else {
					g.state = gsDollar
				}
			}
		}
	}
	return -1
}

func (g *guardConn) fail(cmdStart int) int {
	if g.state == gsCount {
		g.failed = "invalid multibulk length"
	} else {
		g.failed = "invalid bulk length"
	}
	return cmdStart
}

// headerInt parses the number of a "*n\r" or "$n\r" line (the '\r' is
// still on it). It reports false for anything redcon would refuse.
func headerInt(line []byte) (int64, bool) {
	if len(line) < 2 || line[len(line)-1] != '\r' {
		return 0, false
	}
	line = line[:len(line)-1]
	neg := false
	if line[0] == '-' {
		neg, line = true, line[1:]
	}
	if len(line) == 0 || len(line) > 19 {
		if len(line) > 19 {
			return 1 << 62, true // beyond every limit
		}
		return 0, false
	}
	var n int64
	for _, c := range line {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}
