package server

// Client limits, with Redis 7.0.15's names, defaults, value syntax and
// errors (config.c, networking.c):
//
//   - proto-max-bulk-len (default 512mb, at least 1mb): a longer bulk
//     argument is refused with "-ERR Protocol error: invalid bulk length"
//     and the connection is closed (the protocol guard, guard.go).
//   - client-query-buffer-limit (default 1gb, at least 1mb): a client whose
//     command being read passes it is closed without a reply, as
//     readQueryFromClient closes it. walkerd holds a command until its last
//     argument is in, so the limit applies to all the arguments of one
//     command; Redis applies it to the bytes not yet parsed, which for a
//     large argument is that argument.
//   - client-output-buffer-limit (default "normal 0 0 0 slave 256mb 64mb 60
//     pubsub 32mb 8mb 60"): per class, a hard limit in bytes, and a soft
//     limit in bytes with the seconds it may be exceeded for; 0 is no
//     limit. A client whose pending output reaches the hard limit, or stays
//     at or above the soft limit for more than the soft seconds, is closed
//     at once, its pending output dropped (networking.c's
//     checkClientOutputBufferLimits). A subscribed client (SUBSCRIBE,
//     PSUBSCRIBE, SSUBSCRIBE) is of the pubsub class, any other of the
//     normal class (a MONITOR client too, as Redis's getClientType);
//     walkerd has no Redis replicas, so the slave class is kept and shown
//     but never applies. Links between walkerd nodes (WALKER.APPLY,
//     WALKER.FORWARD) are never closed by it.
//
// Pending output is what walkerd holds for a client and the kernel has not
// taken: the replies of a pipeline not yet written (handle writes them
// once they pass flushAt) and the rest of a write the client does not read
// fast enough; for a pub/sub or MONITOR client, its pusher's queue
// (pubsub.go). walkerd stops running a normal client's commands while its
// replies wait to be written, so a client that pipelines without reading
// holds at most about flushAt plus one reply there, where Redis would
// keep buffering (it goes on reading them meanwhile, so that a client that
// sends its whole pipeline before it reads is not left blocked in its own
// write: up to client-query-buffer-limit bytes of commands, large
// arguments included, held until the reply is written; guard.go's
// readAside): the hard limit catches one reply larger than it, the
// soft limit a client that takes nothing for its seconds. A pusher's soft
// limit is checked as output is queued and as each 64 KB of it is
// written. Redis counts its reply blocks' allocated sizes; walkerd counts
// the bytes. Redis 7.0 has no INFO field for these disconnections: each
// is logged at WARN.
//
// maxclients and timeout live in server.go and timeout.go; protected-mode
// in protected.go.

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/walkerdb/walkerdb/walkerd/command"
)

// Output buffer classes, in Redis's order (CLIENT_TYPE_NORMAL, _SLAVE,
// _PUBSUB).
const (
	obufNormal = iota
	obufReplica
	obufPubsub
	obufClasses
)

// obufClassNames are the names CONFIG GET shows for the classes.
var obufClassNames = [obufClasses]string{"normal", "slave", "pubsub"}

// obufLimit is one class's client-output-buffer-limit: bytes (0: none)
// and seconds.
type obufLimit struct {
	hard, soft uint64
	softSecs   int64
}

func (l obufLimit) none() bool { return l.hard == 0 && l.soft == 0 }

// defaultObufLimits are Redis's defaults (config.c's
// clientBufferLimitsDefaults).
var defaultObufLimits = [obufClasses]obufLimit{
	{},
	{hard: 256 << 20, soft: 64 << 20, softSecs: 60},
	{hard: 32 << 20, soft: 8 << 20, softSecs: 60},
}

const (
	minProtoMaxBulkLen = 1 << 20 // config.c's lower bound of both
	minQueryBufLimit   = 1 << 20
)

// clientLimits is a Server's limit settings. The zero value holds Redis's
// defaults.
type clientLimits struct {
	bulkLen  atomic.Int64 // proto-max-bulk-len; 0: maxBulkLen
	queryBuf atomic.Int64 // client-query-buffer-limit; 0: maxCommandBytes
	obuf     [obufClasses]atomic.Pointer[obufLimit]
	// unprotected is protected-mode no (protected.go).
	unprotected atomic.Bool
	// isLocal replaces protected mode's test of a peer (protected.go).
	isLocal atomic.Pointer[func(net.Addr) bool]
	// obufClosed counts the clients closed over an output buffer limit.
	obufClosed atomic.Int64
	// aside is what the readers aside of every client hold between them
	// (guard.go's asideBudget).
	aside atomic.Int64
}

// asideRoom reports whether the readers aside, together, may read more;
// l may be nil (no shared bound).
func (l *clientLimits) asideRoom() bool {
	return l == nil || l.aside.Load() < asideBudget
}

// asideAdd counts n bytes read aside (negative: let go); l may be nil.
func (l *clientLimits) asideAdd(n int64) {
	if l != nil {
		l.aside.Add(n)
	}
}

// maxBulk is proto-max-bulk-len in bytes; l may be nil (the default).
func (l *clientLimits) maxBulk() int64 {
	if l != nil {
		if n := l.bulkLen.Load(); n > 0 {
			return n
		}
	}
	return maxBulkLen
}

// maxQuery is client-query-buffer-limit in bytes; l may be nil.
func (l *clientLimits) maxQuery() int64 {
	if l != nil {
		if n := l.queryBuf.Load(); n > 0 {
			return n
		}
	}
	return maxCommandBytes
}

// output is a class's output buffer limit; l may be nil.
func (l *clientLimits) output(class int) obufLimit {
	if l != nil {
		if p := l.obuf[class].Load(); p != nil {
			return *p
		}
	}
	return defaultObufLimits[class]
}

// softLimit follows how long a client's pending output has stayed at or
// above its class's soft limit. Only the goroutine writing the client's
// output uses it.
type softLimit struct{ since time.Time }

// over reports whether pending output breaks l: it reaches the hard limit,
// or has been at or above the soft limit, in every check since it first
// was, for more than the soft seconds (checkClientOutputBufferLimits).
// Every check below the soft limit starts the count again.
func (s *softLimit) over(l obufLimit, pending int, now time.Time) bool {
	n := uint64(max(pending, 0))
	if l.hard > 0 && n >= l.hard {
		return true
	}
	if l.soft == 0 || n < l.soft {
		s.since = time.Time{}
		return false
	}
	if s.since.IsZero() {
		s.since = now
		return false
	}
	return now.Sub(s.since) > time.Duration(l.softSecs)*time.Second
}

// softDeadline is when pending output still at or above the soft limit
// breaks it, or the zero time when no soft count runs.
func (s *softLimit) softDeadline(l obufLimit) time.Time {
	if s.since.IsZero() || l.soft == 0 {
		return time.Time{}
	}
	return s.since.Add(time.Duration(l.softSecs)*time.Second + time.Millisecond)
}

// errOutputLimit ends a connection over its output buffer limit.
var errOutputLimit = errors.New("server: client closed for overcoming of output buffer limits")

// outputOverLimit checks a normal client's pending replies after each of
// its commands (handle), as Redis checks each reply it adds: over the
// limit, the replies are dropped and the connection closed. It reports
// whether it closed it.
func (s *Server) outputOverLimit(c *client) bool {
	if c.ps != nil || c.nodeLink.Load() || len(c.enc.B) == 0 {
		return false // the pusher checks its own queue
	}
	l := s.lim.output(obufNormal)
	if l.none() {
		return false
	}
	g, ok := c.conn.NetConn().(*guardConn)
	if !ok || !g.soft.over(l, c.held(), time.Now()) {
		return false
	}
	s.outputLimitClose(c, c.held())
	c.quit = true
	c.resetOutput()
	c.conn.Close()
	return true
}

// outputLimitClose counts and logs a client closed over its output limit.
func (s *Server) outputLimitClose(c *client, pending int) {
	s.lim.obufClosed.Add(1)
	s.cfg.Logger.Warn("Client scheduled to be closed ASAP for overcoming of output buffer limits.",
		"id", c.id, "addr", c.addr, "pending", pending)
}

// guardOwned wires an accepted connection's guard to its client (accept):
// its reads and writes count as the client's activity for the idle
// timeout and CLIENT LIST's idle, as Redis's lastinteraction, and its
// writes follow the normal class's output limit.
func (s *Server) guardOwned(c *client) {
	g, ok := c.conn.NetConn().(*guardConn)
	if !ok {
		return
	}
	g.owner = c
	c.guard = g
	g.onLimit = func(pending int) { s.outputLimitClose(c, pending) }
}

// pusherLimit is the output limit of a client whose output goes through
// its pusher: the pubsub class's while it has a subscription, the normal
// class's otherwise.
func (s *Server) pusherLimit(subscribed bool) obufLimit {
	if subscribed {
		return s.lim.output(obufPubsub)
	}
	return s.lim.output(obufNormal)
}

// --- CONFIG ---

// limitsParams are the CONFIG parameters of this file and protected.go.
func limitsParams() map[string]configParam {
	return map[string]configParam{
		"proto-max-bulk-len": memRangeParam(minProtoMaxBulkLen, func(s *Server) int64 { return s.lim.maxBulk() },
			func(s *Server, n int64) { s.lim.bulkLen.Store(n) }),
		"client-query-buffer-limit": memRangeParam(minQueryBufLimit, func(s *Server) int64 { return s.lim.maxQuery() },
			func(s *Server, n int64) { s.lim.queryBuf.Store(n) }),
		"client-output-buffer-limit": {
			get: func(s *Server) string { return formatObufLimits(&s.lim) },
			check: func(v []byte) error {
				_, err := parseObufLimits(string(v))
				return err
			},
			set: func(s *Server, v []byte) error {
				ls, err := parseObufLimits(string(v))
				if err != nil {
					return err
				}
				for class, l := range ls {
					if l != nil {
						s.lim.obuf[class].Store(l)
					}
				}
				return nil
			},
		},
		"protected-mode": yesNoParam(func(s *Server) bool { return !s.lim.unprotected.Load() },
			func(s *Server, on bool) { s.lim.unprotected.Store(!on) }),
	}
}

// limitsDefaults are the defaults CONFIG REWRITE compares with.
var limitsDefaults = map[string]string{
	"proto-max-bulk-len":         strconv.Itoa(maxBulkLen),
	"client-query-buffer-limit":  strconv.Itoa(maxCommandBytes),
	"client-output-buffer-limit": formatObufLimits(nil),
	"protected-mode":             "yes",
}

func init() {
	for k, v := range limitsDefaults {
		configDefaults[k] = v
	}
	multiArgParams["client-output-buffer-limit"] = true
}

// memRangeParam is a memory parameter (100mb, 1gb) from min to
// math.MaxInt64 bytes, with config.c's errors.
func memRangeParam(min int64, get func(*Server) int64, set func(*Server, int64)) configParam {
	parse := func(v []byte) (int64, error) {
		n, ok := command.ParseMemory(v)
		if !ok {
			return 0, errMemory
		}
		if n < uint64(min) || n > math.MaxInt64 {
			return 0, fmt.Errorf("argument must be between %d and %d inclusive", min, int64(math.MaxInt64))
		}
		return int64(n), nil
	}
	return configParam{
		get: func(s *Server) string { return strconv.FormatInt(get(s), 10) },
		check: func(v []byte) error {
			_, err := parse(v)
			return err
		},
		set: func(s *Server, v []byte) error {
			n, err := parse(v)
			if err != nil {
				return err
			}
			set(s, n)
			return nil
		},
	}
}

// yesNoParam is a boolean parameter: yes or no, any case (config.c's bool
// configs).
func yesNoParam(get func(*Server) bool, set func(*Server, bool)) configParam {
	parse := func(v []byte) (bool, error) {
		switch strings.ToLower(string(v)) {
		case "yes":
			return true, nil
		case "no":
			return false, nil
		}
		return false, errors.New("argument must be 'yes' or 'no'")
	}
	return configParam{
		get: func(s *Server) string {
			if get(s) {
				return "yes"
			}
			return "no"
		},
		check: func(v []byte) error {
			_, err := parse(v)
			return err
		},
		set: func(s *Server, v []byte) error {
			on, err := parse(v)
			if err != nil {
				return err
			}
			set(s, on)
			return nil
		},
	}
}

// formatObufLimits is CONFIG GET client-output-buffer-limit: each class
// as "<name> <hard> <soft> <seconds>", bytes in full. l may be nil (the
// defaults).
func formatObufLimits(l *clientLimits) string {
	parts := make([]string, 0, obufClasses)
	for class := range obufClasses {
		o := l.output(class)
		parts = append(parts, fmt.Sprintf("%s %d %d %d", obufClassNames[class], o.hard, o.soft, o.softSecs))
	}
	return strings.Join(parts, " ")
}

// parseObufLimits reads a client-output-buffer-limit value: groups of
// <class> <hard> <soft> <soft seconds>, split at every single space, as
// config.c's setConfigClientOutputBufferLimitOption (an empty value sets
// nothing). Classes are normal, slave or replica, and pubsub, any case;
// sizes take the memory syntax. It returns the new limit of each class
// named (nil for the others).
func parseObufLimits(v string) ([obufClasses]*obufLimit, error) {
	var out [obufClasses]*obufLimit
	var args []string
	if v != "" {
		args = strings.Split(v, " ")
	}
	if len(args)%4 != 0 {
		return out, errors.New("Wrong number of arguments in buffer limit configuration.")
	}
	for i := 0; i < len(args); i += 4 {
		class := -1
		switch strings.ToLower(args[i]) {
		case "normal":
			class = obufNormal
		case "slave", "replica":
			class = obufReplica
		case "pubsub":
			class = obufPubsub
		}
		if class < 0 {
			return out, errors.New("Invalid client class specified in buffer limit configuration.")
		}
		hard, okHard := command.ParseMemory([]byte(args[i+1]))
		soft, okSoft := command.ParseMemory([]byte(args[i+2]))
		secs, okSecs := cStrtoInt(args[i+3])
		if !okHard || !okSoft || !okSecs || secs < 0 {
			return out, errors.New("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
		}
		out[class] = &obufLimit{hard: hard, soft: soft, softSecs: int64(secs)}
	}
	return out, nil
}

// cStrtoInt reads an integer as C's strtoll followed by a check that
// nothing is left, stored in an int (32 bits, wrapping), as config.c reads
// soft seconds: leading white space and a sign are allowed, and an empty
// string is 0.
func cStrtoInt(v string) (int32, bool) {
	i := 0
	for i < len(v) && isSpace(v[i]) {
		i++
	}
	neg := false
	if i < len(v) && (v[i] == '+' || v[i] == '-') {
		neg = v[i] == '-'
		i++
	}
	digits := i
	var n uint64
	over := false
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		if n > (math.MaxUint64-9)/10 {
			over = true
		}
		n = n*10 + uint64(v[i]-'0')
		i++
	}
	if i == digits { // no digits: strtoll leaves the end at the start
		return 0, len(v) == 0
	}
	if i != len(v) {
		return 0, false
	}
	var ll int64
	switch {
	case neg && (over || n > 1<<63):
		ll = math.MinInt64
	case neg:
		ll = -int64(n)
	case over || n > math.MaxInt64:
		ll = math.MaxInt64
	default:
		ll = int64(n)
	}
	return int32(ll), true
}
