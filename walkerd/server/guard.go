package server

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"net"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tidwall/redcon"
	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/command"
	"github.com/walkerdb/walkerdb/walkerd/netloop"
)

// The protocol guard reads each client's socket and parses its commands,
// once, for the connection's loop (serve.go); it takes only what Redis 7.0
// itself would accept:
//
//   - A multibulk command is handed on whole: the guard follows the RESP
//     framing (cheaply: it skips bulk bodies by count), holds a command's
//     bytes until its last argument is in, and queues them; next slices
//     the arguments out (parse) when it hands the command on. A command
//     that lies whole in one socket read is not copied: its Raw and Args
//     are slices of the read buffer, which is never read into again
//     (readBuf). redcon's reader, which served here before, parsed every
//     command a second time and copied it, and re-parsed a partial
//     command from its start on every read, so a partial "*2000000000"
//     cost it seconds per read.
//   - Limits and errors are Redis's (networking.c processMultibulkBuffer):
//     a count or bulk length that is not a number as string2ll reads one,
//     a count above INT_MAX, a bulk length above proto-max-bulk-len, an
//     argument that does not start with '$' are refused with Redis's error
//     reply and the connection is cut; an argument above
//     client-query-buffer-limit cuts the connection without a reply, as
//     readQueryFromClient does (limits.go). The two bytes after a bulk are
//     skipped unread, and "*0" and "*-1" (any count <= 0) without a reply,
//     as Redis skips them.
//   - A bulk of bigArgMin bytes or more is read straight into a buffer of
//     its own, with spare bytes on both sides (command.Roomy), and the
//     command holds a placeholder in its stead: a token of this
//     connection's that handle swaps back for the buffer (resolveBig)
//     before anything sees the command. The command's bytes then stay
//     small, and the log entry's encoding may frame the argument in place
//     (command.Entry.Encode): one copy of the value in the process's
//     memory, not six.
//   - Inline (telnet) lines are split as Redis splits them (sds.c
//     sdssplitargs: quotes, \xHH and the other escapes) and handed on as
//     multibulk commands. An inline
//     line holding a NUL byte never ends, as in Redis (it looks for the
//     newline with strchr), until it passes PROTO_INLINE_MAX_SIZE.
//
// Commands before a refused frame are answered first: they run before the
// guard writes the error and ends the connection.
//
// Writes (the server's replies, at a pipeline's end or mid-pipeline) give
// up when the client has not taken a byte for writeStall: a client that
// never reads is cut off, one that reads slowly is not. While a write
// waits, the guard goes on reading the client's commands (readAside), for
// a client that sends its whole pipeline before it reads a reply: up to
// client-query-buffer-limit bytes of them, large arguments included
// (asideHeld), which run once the write is done.
const (
	maxBulkLen      = 512 << 20     // proto-max-bulk-len's default
	maxMultibulk    = math.MaxInt32 // INT_MAX: arguments in one command
	maxInline       = 64 << 10      // PROTO_INLINE_MAX_SIZE
	maxCommandBytes = 1 << 30       // client-query-buffer-limit's default
	maxHeaderLine   = 32            // "*"/"$" and a length: far less than this
	guardReadSize   = 16 << 10      // PROTO_IOBUF_LEN

	// bigArgMin is the smallest bulk read into a buffer of its own; bigHead
	// and bigTail are the spare bytes before and after it, enough for the
	// rest of a log entry holding one write command with a key of up to
	// about 4 KB (command.Entry.Encode copies the value when they do not
	// suffice).
	bigArgMin = 1 << 20
	bigHead   = 4 << 10
	bigTail   = 512
	// bigTokenLen is the length of the placeholder: the connection's
	// random key, then the argument's number.
	bigTokenLen = 24
)

// writeStall is how long (in nanoseconds) a write to a client may go
// without the client taking a single byte before the connection is closed.
// Connections read it when they are accepted.
var writeStall atomic.Int64

func init() { writeStall.Store(int64(30 * time.Second)) }

var errGuardClosed = errors.New("server: connection closed by the protocol guard")

type guardListener struct {
	net.Listener
	rejected *atomic.Int64
	// st counts the reads and writes of every client and their bytes
	// (INFO's total_net_input_bytes, total_reads_processed, ...).
	st *stats
	// lim holds the limits (limits.go); nil: Redis's defaults.
	lim *clientLimits
}

func (l guardListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &guardConn{Conn: c, rejected: l.rejected, st: l.st, lim: l.lim, stall: time.Duration(writeStall.Load())}, nil
}

type guardState uint8

const (
	gsStart  guardState = iota // at the start of a command
	gsInline                   // inside an inline (telnet) command line
	gsCount                    // inside "*<count>\r\n"
	gsDollar                   // expecting '$' of the next argument
	gsLen                      // inside "$<len>\r\n"
	gsBody                     // skipping an argument's bytes and CRLF
	gsBig                      // reading a large argument into g.big
)

// guardConn is a client's socket: the connection's loop takes its commands
// (next) and the server writes its replies through it (Write). Only the
// connection's goroutine uses it, the reader aside while a write waits,
// and the event loop's thread while the loop holds the connection (its
// goroutine parked in next: evloop.go).
type guardConn struct {
	net.Conn
	rejected *atomic.Int64
	st       *stats // nil: not counted
	stall    time.Duration
	lim      *clientLimits // nil: Redis's defaults

	// owner is the connection's client once accepted (limits.go's
	// guardOwned): reads and writes mark it active, and writes follow the
	// normal class's output limit, reporting a break to onLimit; soft
	// follows its soft limit.
	owner   *client
	onLimit func(pending int)
	soft    softLimit
	silent  bool // the connection is cut without an error reply
	// protectedHeld: protected mode lets the connection run WALKER.LINK
	// only, until it is a node link (protected.go).
	protectedHeld bool

	// rbuf is where the next socket read goes: the free end of a buffer
	// whose start holds commands already queued (readBuf).
	rbuf  []byte
	out   [][]byte         // runs of whole multibulk commands, ready for next
	batch []redcon.Command // the commands next hands on, reused after done
	argv  [][]byte         // where commands' Args are taken from (next)
	hold  []byte           // the current multibulk command so far
	rerr  error            // the socket's read error, owed after out drains

	state   guardState
	line    []byte // the header line or inline line being read
	nul     bool   // the inline line holds a NUL: it never ends
	cr      bool   // the header line's '\r' has come: the next byte ends it
	args    int64  // arguments left in the current command
	skip    int64  // bytes left to skip in gsBody
	failed  string // the error reply owed to the client
	refused bool
	// aside reads while a write waits for the client (write).
	aside readAside
	// raw is the socket's non-blocking reads and writes, once made
	// (rawConn); noRaw: the connection has none (TLS).
	raw   *rawIO
	noRaw bool

	// ev is the connection as the event loop serves it (evloop.go), nil
	// when a goroutine alone serves it (TLS, or the loop is off); Conn is
	// then ev. onLoop: the loop's thread runs the connection now, and a
	// write must not wait: what the socket does not take waits in pend
	// for the connection's goroutine (writeLoop). stash holds the rest of
	// a batch the loop began and left to the goroutine.
	ev     *netloop.Conn
	onLoop bool
	pend   [][]byte
	stash  []redcon.Command
	// held: pend holds replies that wait for the loop's turn to make its
	// writes durable (turn, endTurn) rather than replies the socket
	// refused.
	turn *loopTurn
	held bool
	// parked: stash holds a batch from a consistent read on, which waits
	// on the loop for a leadership check (park): the loop leaves the
	// socket unread until verdict carries that check's parkGen. verified:
	// the commands the loop runs now came before such a check, which has
	// ended: their consistent reads run at once (readAt).
	parked   bool
	verified bool
	parkGen  uint64
	// parkIn is ev.Inputs() when the batch parked, for a write's commit
	// or a read's check: if the socket was drained then, the same count
	// at the resume means nothing came meanwhile, and the loop need not
	// read the socket (quietSincePark).
	parkIn  uint64
	verdict atomic.Pointer[parkVerdict]
	// drained: the last read took all the socket held (readOnce).
	drained bool
	// counted is this client's share of clientLimits.aside (account).
	counted int64

	// outBytes counts the bytes in out; queued publishes it and hold's
	// after each next for CLIENT LIST's qbuf (introspect.go), read by
	// other connections.
	outBytes int64
	queued   atomic.Int64

	// big is the large argument being read (gsBig), big.Len bytes: the
	// first bigGot have arrived, in bigParts until half of them have, then
	// in big.Buf[big.Off:] (bigSpace). bigs holds those read and not yet
	// resolved by handle, by number, bigHeld their bytes; bigKey begins
	// their tokens.
	big      command.Roomy
	bigGot   int
	bigParts [][]byte
	bigSeq   uint64
	bigs     map[uint64]command.Roomy
	bigHeld  int64
	bigKey   [bigTokenLen - 8]byte
	bigKeyd  bool
}

// next returns whole commands the guard holds, reading from the socket
// until it holds one; once none is left, the refusal of a malformed frame
// or the socket's error. It hands on at most batchBytes of commands (at
// least one), parsed out of the bytes scan queued: what waits in out costs
// its bytes only, which the reader aside bounds (asideHeld). The slice is
// the caller's until it gives it back (done); the commands' bytes stay
// valid for as long as anything holds them.
func (g *guardConn) next() ([]redcon.Command, error) {
	for {
		if len(g.stash) > 0 {
			cmds := g.stash
			g.stash = nil
			return cmds, nil
		}
		if len(g.out) > 0 {
			cmds := g.batch[:0]
			size := 0
			for len(g.out) > 0 && size < batchBytes {
				cmd := g.parse(g.out[0])
				cmds = append(cmds, cmd)
				size += len(cmd.Raw)
				if rest := g.out[0][len(cmd.Raw):]; len(rest) > 0 {
					g.out[0] = rest
				} else {
					g.out[0] = nil
					g.out = g.out[1:]
				}
			}
			if len(g.out) == 0 {
				g.out = nil
			}
			g.outBytes -= int64(size)
			g.batch = cmds
			g.queued.Store(g.outBytes + int64(len(g.hold)))
			if g.counted > 0 {
				g.account()
			}
			return cmds, nil
		}
		if g.failed != "" {
			return nil, g.refuse()
		}
		if g.rerr != nil {
			return nil, g.rerr
		}
		g.queued.Store(int64(len(g.hold) + g.bigGot)) // while the read waits: a command half read
		if g.ev != nil {
			if err := g.awaitInput(); err != nil {
				g.rerr = err
			}
			continue
		}
		if err := g.readOnce(false); err != nil {
			g.rerr = err
		}
	}
}

// awaitInput gives the connection to the event loop until the loop has
// something for this goroutine (evloop.go): commands it does not run
// itself, replies the socket did not take, the connection's end. Input
// that came while the goroutine held the connection it reads itself
// first, without waiting.
func (g *guardConn) awaitInput() error {
	for {
		parked, err := g.ev.Yield()
		if err != nil {
			return err
		}
		if parked {
			return g.flushPend()
		}
		err = g.readOnce(true)
		if err == syscall.EAGAIN {
			continue
		}
		if !g.drained {
			g.ev.Unread() // more waits: the next Yield reads first
		}
		return err
	}
}

// batchBytes bounds the bytes of the commands next hands on at once:
// Redis's read size (PROTO_IOBUF_LEN), about 500 small GETs. A client that
// sent a long pipeline has its replies written, and what they held let go,
// as each batch ends (handle).
const batchBytes = guardReadSize

// done gives back a slice next returned, once its commands have run.
func (g *guardConn) done(cmds []redcon.Command) {
	clear(cmds)
}

// argvChunk is how many argument slices parse takes from one allocation.
const argvChunk = 512

// parse slices the first command out of run, whose framing scan has
// followed: "*<count>\r", one byte, and count bulks, each "$<len>\r", one
// byte, its bytes and two more. The command's Args come from a shared
// chunk (argv), capped to their number; like the read buffers, a chunk is
// never handed out twice.
func (g *guardConn) parse(run []byte) redcon.Command {
	i := bytes.IndexByte(run, '\r')
	n := digits(run[1:i])
	if cap(g.argv)-len(g.argv) < n {
		g.argv = make([][]byte, 0, max(argvChunk, n))
	}
	k := len(g.argv)
	g.argv = g.argv[:k+n]
	args := g.argv[k : k+n : k+n]
	i += 2
	for a := range args {
		j := i + bytes.IndexByte(run[i:], '\r')
		l := digits(run[i+1 : j])
		args[a] = run[j+2 : j+2+l : j+2+l]
		i = j + 2 + l + 2
	}
	return redcon.Command{Raw: run[:i:i], Args: args}
}

// digits is the value of a run of decimal digits that headerInt accepted.
func digits(b []byte) int {
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n
}

// readBuf is where the next socket read goes: the free end of the read
// buffer, or a new buffer when less than guardReadSize is free. A buffer is
// never read into twice: commands handed on may be slices of it.
func (g *guardConn) readBuf() []byte {
	if len(g.rbuf) < guardReadSize {
		g.rbuf = make([]byte, 2*guardReadSize)
	}
	return g.rbuf
}

// scanRead follows the framing through the n bytes just read into
// readBuf, and moves readBuf past them if commands were handed on as
// slices of them.
func (g *guardConn) scanRead(n int) {
	if g.scan(g.rbuf[:n:n]) {
		g.rbuf = g.rbuf[n:]
	}
}

// readOnce reads from the socket once and follows the framing through
// what came: a large argument's bytes go straight to its buffers. With
// now (the event loop's connections, ev) it does not wait: nothing to
// read is syscall.EAGAIN.
func (g *guardConn) readOnce(now bool) error {
	read := g.Conn.Read
	if now {
		read = g.ev.ReadNow
	}
	var n, room int
	var err error
	if g.state == gsBig && g.big.Len-g.bigGot >= guardReadSize {
		space := g.bigSpace()
		n, err = read(space)
		room = len(space)
		if n > 0 {
			g.bigAdvance(n)
			g.skip -= int64(n)
		}
	} else {
		buf := g.readBuf()
		n, err = read(buf)
		room = len(buf)
		if n > 0 {
			g.scanRead(n)
		}
	}
	// A read that did not fill its buffer took all the socket held: what
	// comes next is new, and the event loop hears of it (netloop's edge).
	// Not so once the peer has closed its end: the end is still to read.
	g.drained = n < room && (g.ev == nil || !g.ev.HungUp())
	if err == syscall.EAGAIN {
		if g.st != nil {
			g.st.emptyReads.Add(1)
		}
		return err
	}
	if g.st != nil {
		g.st.reads.Add(1)
		g.st.netIn.Add(int64(n))
	}
	if n > 0 && g.owner != nil {
		g.owner.lastCmd.Store(time.Now().UnixNano())
	}
	return err
}

// waiting reports whether the guard holds whole commands next has not
// handed on yet. When it holds none and poll is set, it first takes what
// the socket has already received, without waiting for more: one
// non-blocking read (not on TLS connections, whose record layer has its
// own buffer). The pipeline grouping of writes asks (group.go).
func (g *guardConn) waiting(poll bool) bool {
	if len(g.out) > 0 || !poll || g.rerr != nil || g.failed != "" {
		return len(g.out) > 0
	}
	r := g.rawConn()
	if r == nil {
		return false
	}
	g.readBuf()
	if err := r.conn.Read(r.read); err != nil {
		return false
	}
	n, rerr := r.n, r.err
	g.drained = n < len(g.rbuf) && (g.ev == nil || !g.ev.HungUp())
	if !g.drained && g.ev != nil && !g.onLoop {
		g.ev.Unread()
	}
	switch {
	case n > 0:
		if g.st != nil {
			g.st.reads.Add(1)
			g.st.netIn.Add(int64(n))
		}
		g.scanRead(n)
	case rerr == nil: // n == 0: the client closed its end
		g.rerr = io.EOF
	}
	g.queued.Store(g.outBytes + int64(len(g.hold)))
	return len(g.out) > 0
}

// Write writes p, giving up only when the client takes nothing for the
// stall time (a slow reader keeps its connection).
func (g *guardConn) Write(p []byte) (int, error) {
	n, err := g.write(p)
	if g.st != nil {
		g.st.writes.Add(1)
		g.st.netOut.Add(int64(n))
	}
	if n > 0 && g.owner != nil {
		g.owner.lastCmd.Store(time.Now().UnixNano())
	}
	return n, err
}

func (g *guardConn) write(p []byte) (int, error) {
	if g.onLoop {
		g.writeOrKeep(p, true)
		return len(p), nil
	}
	if err := g.flushPend(); err != nil {
		return 0, err
	}
	// The normal class's output limit (limits.go), for a client's own
	// connection: what the kernel has not taken of p is pending.
	var lim obufLimit
	if g.owner != nil && !g.owner.nodeLink.Load() {
		lim = g.lim.output(obufNormal)
	}
	if !lim.none() && g.soft.over(lim, len(p), time.Now()) {
		return 0, g.overLimit(len(p))
	}
	// First what the socket takes without waiting: almost always all of p.
	done, raw := g.writeNow(p)
	if done == len(p) {
		if !lim.none() {
			g.soft.over(lim, 0, time.Now()) // all taken: the soft count ends
		}
		return done, nil
	}
	// The client is not taking its replies as fast as they come, perhaps
	// because it is still sending its pipeline and reads only after: read
	// what it sends while the write waits (readAside), as Redis's event
	// loop keeps reading a client whose replies wait.
	turn := g.aside.open()
	if raw {
		g.startAside(turn)
	} else {
		t := time.AfterFunc(asideAfter, func() { g.startAside(turn) })
		defer t.Stop()
	}
	defer g.stopAside()
	// A TLS connection's write must not time out short of giving up (the
	// record layer is broken after one), so its deadline is the stall's.
	tick := min(stallTick, g.stall)
	if !raw {
		tick = g.stall
	}
	progress := time.Now()
	for {
		now := time.Now()
		var dl time.Time
		if tick > 0 {
			dl = now.Add(tick)
		}
		if softAt := g.soft.softDeadline(lim); !softAt.IsZero() && (dl.IsZero() || softAt.Before(dl)) {
			dl = softAt
		}
		g.Conn.SetWriteDeadline(dl)
		n, err := g.Conn.Write(p[done:])
		done += n
		if err == nil {
			if !lim.none() {
				g.soft.over(lim, 0, now)
			}
			return done, nil
		}
		if n > 0 {
			progress = time.Now()
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			return done, err
		}
		if !lim.none() && g.soft.over(lim, len(p)-done, time.Now()) {
			return done, g.overLimit(len(p) - done)
		}
		if !raw || (g.stall > 0 && time.Since(progress) >= g.stall) {
			return done, err // the client took nothing for the stall time
		}
	}
}

// asideBudget bounds what the readers aside of all clients hold together,
// beside client-query-buffer-limit (1 GiB) for each: ten clients that
// pipelined GETs of a 1 MiB value and never read their replies held 1.5
// GiB of commands between them after 4 s (walkerd's
// TestE2E_BadClientsDoNotHurtOthers, on a machine fast enough to send
// them). One client alone may still send a pipeline of hundreds of MiB
// before it reads (redis-py does), and have it read while its replies
// wait; once the budget is spent, the readers aside wait for the commands
// they hold to run, and the clients' sends wait for them.
const asideBudget = 256 << 20

// stallTick is how often a waiting write looks whether the client took
// bytes; a client that takes none for the stall time is cut off between
// the stall time and a tick after it. asideAfter is how long a write on a
// connection without a non-blocking write (TLS) waits before reading
// aside.
const (
	stallTick  = time.Second
	asideAfter = 5 * time.Millisecond
)

// writeNow writes what the socket takes of p without waiting, and reports
// raw: whether the connection has such a write. Without one (TLS) it
// writes nothing.
func (g *guardConn) writeNow(p []byte) (int, bool) {
	r := g.rawConn()
	if r == nil {
		return 0, false
	}
	r.p, r.n = p, 0
	r.conn.Write(r.write)
	r.p = nil
	return r.n, true
}

// rawIO is a connection's non-blocking reads and writes (writeNow,
// waiting): its raw socket and the two functions the runtime calls with
// its descriptor, made once, so that a call allocates nothing; p, n and
// err carry a call's buffer and outcome.
type rawIO struct {
	conn        syscall.RawConn
	read, write func(fd uintptr) bool
	p           []byte
	n           int
	err         error
}

// rawConn returns the connection's rawIO, or nil when it has no raw
// socket (TLS). Each function returns true, which tells the runtime not to
// wait for readiness: the socket is non-blocking, so an empty or full one
// answers EAGAIN at once.
func (g *guardConn) rawConn() *rawIO {
	if g.raw != nil || g.noRaw {
		return g.raw
	}
	sc, ok := g.Conn.(syscall.Conn)
	var rc syscall.RawConn
	var err error
	if ok {
		rc, err = sc.SyscallConn()
	}
	if !ok || err != nil {
		g.noRaw = true
		return nil
	}
	r := &rawIO{conn: rc}
	r.read = func(fd uintptr) bool {
		r.n, r.err = syscall.Read(int(fd), g.rbuf)
		return true
	}
	r.write = func(fd uintptr) bool {
		for r.n < len(r.p) {
			n, err := syscall.Write(int(fd), r.p[r.n:])
			if n <= 0 || err != nil {
				break
			}
			r.n += n
		}
		return true
	}
	g.raw = r
	return r
}

// readAside is the reader that runs while a write waits for the client:
// it queues whole commands as Read would (readOnce), up to
// client-query-buffer-limit bytes of them (asideHeld), for the
// connection's goroutine to run once the write is done. Only the guard's
// write state is used by the waiting write, only its read state by the
// reader.
type readAside struct {
	mu   sync.Mutex
	seq  uint64        // the waiting writes so far (open)
	live uint64        // the write whose reader may start; 0: none
	stop atomic.Bool   // the running reader is to end
	done chan struct{} // closed when it has
}

// open begins a waiting write, whose reader startAside may start until
// stopAside: a timer that fires after the write ended (TLS's, asideAfter)
// names an earlier write and starts nothing.
func (a *readAside) open() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seq++
	a.live = a.seq
	return a.seq
}

// startAside starts the reader of the write open numbered turn, unless
// it runs or that write has ended.
// The connection's goroutine, or a timer's, calls it.
func (g *guardConn) startAside(turn uint64) {
	a := &g.aside
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.live != turn || a.done != nil || g.rerr != nil || g.failed != "" {
		return
	}
	a.stop.Store(false)
	a.done = make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		for !a.stop.Load() && g.failed == "" && g.asideHeld() < g.lim.maxQuery() && g.lim.asideRoom() {
			err := g.readOnce(false)
			g.account()
			g.queued.Store(g.outBytes + int64(len(g.hold)+g.bigGot))
			if err != nil {
				var ne net.Error
				if !a.stop.Load() || !errors.As(err, &ne) || !ne.Timeout() {
					g.rerr = err // next reports it once the queue drains
				}
				return
			}
		}
	}(a.done)
}

// asideHeld is how many bytes of the client's commands the guard holds
// that next has not handed on: those queued, the command being read and
// its large arguments, read and waiting (bigs) or arriving (bigGot). The
// reader aside stops at client-query-buffer-limit of them, or when the
// readers aside of all clients hold asideBudget, so a client that sends
// more before it reads its replies costs at most that; it is read again
// once its replies are written.
func (g *guardConn) asideHeld() int64 {
	return g.outBytes + int64(len(g.hold)) + g.bigHeld + int64(g.bigGot)
}

// account brings this client's share of the bytes every client's guard
// holds (clientLimits.aside, which asideBudget bounds) up to date: the
// reader aside after each read, next as it hands commands on, and the
// connection's end (Server.disconnected) with release.
func (g *guardConn) account() {
	h := g.asideHeld()
	g.lim.asideAdd(h - g.counted)
	g.counted = h
}

// release gives back this client's share of clientLimits.aside.
func (g *guardConn) release() {
	g.lim.asideAdd(-g.counted)
	g.counted = 0
}

// stopAside ends the reader, if one started, and waits for it: a read
// deadline in the past wakes its read.
func (g *guardConn) stopAside() {
	a := &g.aside
	a.mu.Lock()
	a.live = 0
	done := a.done
	a.mu.Unlock()
	if done != nil {
		a.stop.Store(true)
		g.Conn.SetReadDeadline(time.Unix(1, 0))
		<-done
		g.Conn.SetReadDeadline(time.Time{})
	}
	a.mu.Lock()
	a.done = nil
	a.mu.Unlock()
}

// overLimit ends a connection whose pending output broke its limit.
func (g *guardConn) overLimit(pending int) error {
	if g.onLimit != nil {
		g.onLimit(pending)
	}
	g.Conn.Close()
	return errOutputLimit
}

// refuse writes the owed error reply and ends the connection.
func (g *guardConn) refuse() error {
	if !g.refused && g.silent {
		g.refused = true
		g.Conn.Close()
	}
	if !g.refused {
		g.refused = true
		g.Conn.SetWriteDeadline(time.Now().Add(time.Second))
		g.Conn.Write([]byte("-ERR Protocol error: " + g.failed + "\r\n"))
		g.rejected.Add(1)
	}
	return errGuardClosed
}

// queue queues raw, whole multibulk commands, for next.
func (g *guardConn) queue(raw []byte) {
	g.out = append(g.out, raw)
	g.outBytes += int64(len(raw))
}

// scan follows the framing through b, queueing whole commands for next.
// On a malformed frame, or one beyond the limits, it sets g.failed and
// drops the rest. It reports whether a queued command is a slice of b
// (the caller must then not read into b again).
func (g *guardConn) scan(b []byte) (kept bool) {
	from := 0 // where, in b, the current command's bytes begin
	// Whole commands that lie in b one after another are queued as one
	// slice of b, not copied. ps and pe are its bounds; flush queues it
	// before anything else is queued, to keep the order.
	ps, pe := -1, -1
	flush := func() {
		if ps >= 0 {
			g.queue(b[ps:pe:pe])
			ps, kept = -1, true
		}
	}
	defer flush()
	for i := 0; i < len(b); i++ {
		switch g.state {
		case gsStart:
			if b[i] == '*' {
				g.state, g.line = gsCount, g.line[:0]
				from = i
			} else {
				g.state, g.line, g.nul = gsInline, g.line[:0], false
				i-- // this byte is part of the line
			}
		case gsInline:
			c := b[i]
			if c == '\n' && !g.nul {
				flush()
				if !g.inlineDone() {
					return kept
				}
				g.state = gsStart
				continue
			}
			if len(g.line) >= maxInline {
				g.failed = "too big inline request"
				return kept
			}
			g.nul = g.nul || c == 0
			g.line = append(g.line, c)
		case gsCount, gsLen:
			// As in networking.c, a "*" or "$" line ends at its first '\r',
			// and the byte after that is skipped unread ("\n", or not).
			if !g.cr {
				if b[i] == '\r' {
					g.cr = true
					continue
				}
				if len(g.line) >= maxHeaderLine {
					g.fail()
					return kept
				}
				g.line = append(g.line, b[i])
				continue
			}
			g.cr = false
			n, ok := headerInt(g.line)
			if !ok {
				g.fail()
				return kept
			}
			if g.state == gsCount {
				if n > maxMultibulk {
					g.fail()
					return kept
				}
				if n <= 0 {
					// Redis skips an empty command without a reply.
					g.hold, g.state = nil, gsStart
					continue
				}
				g.args, g.state = n, gsDollar
				continue
			}
			if n < 0 || n > g.maxBulk() {
				g.fail()
				return kept
			}
			if n > g.lim.maxQuery() {
				// client-query-buffer-limit: closed without a reply. It
				// bounds the bytes Redis holds unparsed, which is one
				// argument of a command (networking.c keeps a large bulk
				// alone in its query buffer), not the whole command.
				g.failed, g.silent = "query buffer limit", true
				g.hold = nil
				return kept
			}
			g.skip, g.state = n+2, gsBody
			if n >= bigArgMin {
				g.beginBig(b[from:i+1], int(n))
				from = len(b) // the held command is in g.hold, the argument in g.big
			}
		case gsBig:
			// The argument's bytes, then the two after it, which Redis
			// skips without looking at them (networking.c), as gsBody does.
			take := int(min(g.skip, int64(len(b)-i)))
			for body := b[i : i+min(take, g.big.Len-g.bigGot)]; len(body) > 0; {
				n := copy(g.bigSpace(), body)
				g.bigAdvance(n)
				body = body[n:]
			}
			g.skip -= int64(take)
			i += take - 1
			if g.skip == 0 {
				g.endBig()
				from = i + 1
				g.args--
				if g.args == 0 {
					flush()
					g.queue(g.hold)
					g.hold, g.state = nil, gsStart
				} else {
					g.state = gsDollar
				}
			}
		case gsDollar:
			if b[i] != '$' {
				// Redis's words (networking.c processMultibulkBuffer), with
				// a CR or LF shown as a space, as addReplyError shows them.
				got := b[i]
				if got == '\r' || got == '\n' {
					got = ' '
				}
				g.failed = "expected '$', got '" + string(got) + "'"
				g.hold = nil
				return kept
			}
			g.state, g.line = gsLen, g.line[:0]
		case gsBody:
			take := min(g.skip, int64(len(b)-i))
			g.skip -= take
			i += int(take) - 1
			if g.skip == 0 {
				g.args--
				if g.args == 0 {
					switch {
					case g.hold != nil:
						flush()
						g.queue(append(g.hold, b[from:i+1]...))
						g.hold = nil
					case ps >= 0 && pe == from:
						pe = i + 1
					default:
						flush()
						ps, pe = from, i+1
					}
					g.state = gsStart
				} else {
					g.state = gsDollar
				}
			}
		}
	}
	switch g.state {
	case gsCount, gsDollar, gsLen, gsBody:
		if from < len(b) {
			g.hold = append(g.hold, b[from:]...)
		}
	}
	if g.state == gsStart && cap(g.line) > 4096 {
		g.line = nil
	}
	return kept
}

// maxBulk is proto-max-bulk-len, plus 64 KiB on another node's link: a
// follower forwards a client's 512 MB SET inside a log entry
// (WALKER.APPLY), which is a few bytes longer.
func (g *guardConn) maxBulk() int64 {
	if g.owner != nil && g.owner.nodeLink.Load() {
		return g.lim.maxBulk() + 64<<10
	}
	return g.lim.maxBulk()
}

// beginBig starts reading a large argument of n bytes: the command held
// so far (g.hold, then cur, which ends with the argument's "$n\r\n") is
// joined into one buffer without that header, and the argument's own
// buffer is made.
func (g *guardConn) beginBig(cur []byte, n int) {
	hdr := 1 + len(g.line) + 2 // '$', the digits, '\r' and the byte after
	cmd := make([]byte, 0, len(g.hold)+len(cur)+bigTokenLen+16)
	cmd = append(cmd, g.hold...)
	cmd = append(cmd, cur...)
	g.hold = cmd[:len(cmd)-hdr]
	g.big = command.Roomy{Off: bigHead, Len: n}
	g.bigGot = 0
	g.state = gsBig
}

// bigPart is the size of the pieces a large argument's first half is read
// into.
const bigPart = 1 << 20

// bigSpace is where the large argument's next bytes go: the free end of
// its last piece (a new one when that is full) until half of it has
// arrived, then its own buffer. A client that declares 500 MB and sends a
// few bytes costs what it sent, not 500 MB (the Go heap's metadata alone
// for that much is about 1%: 100 such clients added 535 MiB of RSS); one
// that sends it all costs its size once, plus the first half in pieces
// until they are collected (dropRoom).
func (g *guardConn) bigSpace() []byte {
	if g.big.Buf != nil {
		return g.big.Buf[g.big.Off+g.bigGot : g.big.Off+g.big.Len]
	}
	k := len(g.bigParts)
	if k == 0 || len(g.bigParts[k-1]) == cap(g.bigParts[k-1]) {
		g.bigParts = append(g.bigParts, make([]byte, 0, min(bigPart, g.big.Len-g.bigGot)))
		k++
	}
	last := g.bigParts[k-1]
	return last[len(last):cap(last)]
}

// bigAdvance counts n bytes just put in bigSpace, and moves the pieces to
// the argument's own buffer once half of it has arrived.
func (g *guardConn) bigAdvance(n int) {
	g.bigGot += n
	if g.big.Buf != nil {
		return
	}
	k := len(g.bigParts) - 1
	g.bigParts[k] = g.bigParts[k][:len(g.bigParts[k])+n]
	if g.bigGot < (g.big.Len+1)/2 {
		return
	}
	// The copy goes a MiB at a time, yielding between (resp.AppendLarge):
	// into fresh memory, it is the longest stretch without a safe point.
	buf := make([]byte, g.big.Off, bigHead+g.big.Len+bigTail)
	for i, p := range g.bigParts {
		buf = resp.AppendLarge(buf, p)
		g.bigParts[i] = nil
	}
	g.big.Buf = buf[:cap(buf)]
	g.bigParts = nil
	if g.big.Len >= collectAfter {
		// The pieces are garbage in small spans that the value's next
		// copy cannot reuse: collect them and give their pages back.
		debug.FreeOSMemory()
	}
}

// endBig puts the placeholder of the argument just read in its place in
// the held command, and keeps the argument for resolveBig.
func (g *guardConn) endBig() {
	if !g.bigKeyd {
		rand.Read(g.bigKey[:])
		g.bigKeyd = true
	}
	if g.bigs == nil {
		g.bigs = make(map[uint64]command.Roomy)
	}
	g.bigSeq++
	g.bigs[g.bigSeq] = g.big
	g.bigHeld += int64(g.big.Len)
	g.big, g.bigGot, g.bigParts = command.Roomy{}, 0, nil
	h := g.hold
	h = append(h, "$"+strconv.Itoa(bigTokenLen)+"\r\n"...)
	h = append(h, g.bigKey[:]...)
	h = binary.LittleEndian.AppendUint64(h, g.bigSeq)
	g.hold = append(h, '\r', '\n')
}

// resolveBig swaps the placeholders among args for the large arguments
// they stand for, appending each to room; handle calls it before anything
// else sees a command. A placeholder is this connection's random key and
// a number: a client cannot forge one, and none is ever shown.
func (g *guardConn) resolveBig(args [][]byte, room []command.Roomy) []command.Roomy {
	for i, a := range args {
		if len(a) != bigTokenLen || string(a[:len(g.bigKey)]) != string(g.bigKey[:]) {
			continue
		}
		seq := binary.LittleEndian.Uint64(a[len(g.bigKey):])
		if r, ok := g.bigs[seq]; ok {
			delete(g.bigs, seq)
			g.bigHeld -= int64(r.Len)
			args[i] = r.Arg()
			room = append(room, r)
		}
	}
	return room
}

func (g *guardConn) fail() {
	if g.state == gsCount {
		g.failed = "invalid multibulk length"
	} else {
		g.failed = "invalid bulk length"
	}
	g.hold = nil
}

// inlineDone queues the inline line just ended as a multibulk command. It
// reports false (and sets g.failed) on unbalanced quotes.
func (g *guardConn) inlineDone() bool {
	line := g.line
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	args, ok := resp.SplitArgs(line)
	if !ok {
		g.failed = "unbalanced quotes in request"
		return false
	}
	if len(args) == 0 {
		return true // Redis skips an empty line
	}
	g.queue(resp.AppendCommand(make([]byte, 0, len(line)+16*len(args)), args))
	return true
}

// isSpace is C's isspace in the "C" locale.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// headerInt parses the number of a "*" or "$" line, up to its '\r'. It
// reports false for anything Redis's string2ll refuses (util.c: an empty
// line, a sign other than one '-', a leading zero, "-0"); a number out of
// int64's range comes back as one beyond every limit.
func headerInt(num []byte) (int64, bool) {
	digits := num
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || digits[0] == '0' && len(num) > 1 {
		return 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil {
		return 1 << 62, true
	}
	return n, true
}
