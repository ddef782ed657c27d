package server

// Pub/sub, keyspace notifications and MONITOR (Redis 7.0.15's pubsub.c,
// notify.c and replicationFeedMonitors).
//
// Subscriptions are per connection and per node: each node keeps its own
// clients' channels, patterns and shard channels. PUBLISH and SPUBLISH go
// through the Raft log as an entry (command's runPublish writes no key and
// records the message as a command.Touch with Publish set), so every
// node's state machine applies it, in log order, and tells its server
// (Backend.Notify), which delivers it to its own subscribers. Messages of
// one publisher therefore reach every subscriber, on every node, in the
// order they were published.
//
// PUBLISH answers what Redis Cluster answers: the number of clients of the
// node that received the PUBLISH (channel and pattern subscribers) that the
// message was delivered to, not a count across the cluster.
//
// Keyspace notifications (notify-keyspace-events) are generated on every
// node from the Touch events each applied entry reports, so a subscriber on
// any node hears about every write. A node that was partitioned and caught
// up by installing a snapshot skipped the entries in it: their messages
// and notifications are never delivered there (fire and forget, as Redis);
// the store logs each install and INFO's raft section counts the entries
// skipped (raft_entries_skipped). Deliveries to a client that does not read
// are dropped with the client once its queue breaks client-output-buffer-
// limit's pubsub class (32 MB, or 8 MB for a minute, by default; a MONITOR
// client follows the normal class: limits.go).
//
// A subscribed connection's output goes through its pusher: one goroutine
// that writes, in order, the replies of its commands and the messages the
// apply path queues (which never blocks on a client).

import (
	"bytes"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// pubsub is a node's subscriptions.
type pubsub struct {
	mu       sync.RWMutex
	channels map[string]map[*client]struct{}
	shard    map[string]map[*client]struct{}
	patterns map[string]map[*client]struct{}
	monitors map[*client]struct{}
	nmon     atomic.Int32
	nsubs    atomic.Int32 // clients with a subscription

	// notify is notify-keyspace-events as flags (notifyK...).
	notify atomic.Int32

	delivered atomic.Int64 // message frames queued to clients
	published atomic.Int64 // PUBLISH/SPUBLISH entries applied here
	dropped   atomic.Int64 // clients dropped for exceeding the output limit
}

func newPubsub() *pubsub {
	return &pubsub{
		channels: make(map[string]map[*client]struct{}),
		shard:    make(map[string]map[*client]struct{}),
		patterns: make(map[string]map[*client]struct{}),
		monitors: make(map[*client]struct{}),
	}
}

// subState is a connection's pub/sub state. The maps and lists change under
// pubsub.mu, by the connection's goroutine only.
type subState struct {
	channels, shard, patterns map[string]struct{}
	// order of subscription, for unsubscribe-all replies.
	chanList, shardList, patList []string
	monitor                      bool
	proto                        atomic.Int32
	out                          *pusher
	// subs is count() plus the shard channels, set under the hub's lock
	// as they change, and read without it by the client's own goroutine
	// (subscribed): another goroutine may take the client off its
	// channels (ACL SETUSER revoking them, closeRevoked).
	subs atomic.Int32
}

func (st *subState) count() int { return len(st.channels) + len(st.patterns) }

// counted records the subscriptions' number in subs. The hub's lock is
// held.
func (st *subState) counted() { st.subs.Store(int32(st.count() + len(st.shard))) }

// subscribed reports whether the client has a subscription, from its own
// goroutine, without the hub's lock.
func (c *client) subscribed() bool { return c.ps != nil && c.ps.subs.Load() > 0 }

// pusher writes a connection's output from its own goroutine.
type pusher struct {
	mu     sync.Mutex
	buf    []byte
	closed bool
	wake   chan struct{}
	idle   chan struct{} // signalled when buf is written out
	conn   net.Conn
	done   chan struct{}
	// stopped: done is closed (stop).
	stopped bool
	// The output limit (limits.go): limit gives the class's limit,
	// subscribed picks the class (set by pushOutput); inflight is what the
	// loop holds and has not written; soft and inflight change under mu.
	// onFull is told of a break: the class and the bytes pending.
	limit      func(subscribed bool) obufLimit
	subscribed atomic.Bool
	soft       softLimit
	inflight   int
	onFull     func(subscribed bool, pending int)
}

// pusherChunk is the most bytes the loop writes at once: what is pending
// shrinks by that much as the client reads.
const pusherChunk = 64 << 10

func newPusher(conn net.Conn, limit func(bool) obufLimit, onFull func(bool, int)) *pusher {
	p := &pusher{wake: make(chan struct{}, 1), idle: make(chan struct{}, 1), conn: conn, done: make(chan struct{}), limit: limit, onFull: onFull}
	go p.loop()
	return p
}

// overLimit reports whether pending output breaks the limit; when it does
// the pusher is closed. Under p.mu; it unlocks it when it reports true.
func (p *pusher) overLimit(pending int) bool {
	sub := p.subscribed.Load()
	l := p.limit(sub)
	if l.none() || !p.soft.over(l, pending, time.Now()) {
		return false
	}
	p.closed = true
	p.buf = nil
	p.mu.Unlock()
	p.onFull(sub, pending)
	p.conn.Close()
	return true
}

// push queues b (copied). false: the client is gone or over the limit.
func (p *pusher) push(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false
	}
	if p.overLimit(len(p.buf) + p.inflight + len(b)) {
		return false
	}
	p.buf = append(p.buf, b...)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return true
}

func (p *pusher) loop() {
	var out []byte
	for {
		select {
		case <-p.wake:
		case <-p.done:
			return
		}
		for {
			p.mu.Lock()
			if len(p.buf) == 0 {
				p.mu.Unlock()
				select {
				case p.idle <- struct{}{}:
				default:
				}
				break
			}
			out, p.buf = p.buf, out[:0]
			p.inflight = len(out)
			p.mu.Unlock()
			for rest := out; len(rest) > 0; {
				chunk := rest[:min(len(rest), pusherChunk)]
				var deadline time.Time // none when the stall guard is off
				if st := time.Duration(writeStall.Load()); st > 0 {
					deadline = time.Now().Add(st)
				}
				p.conn.SetWriteDeadline(deadline)
				if _, err := p.conn.Write(chunk); err != nil {
					p.mu.Lock()
					p.closed = true
					p.buf = nil
					p.mu.Unlock()
					p.conn.Close()
					return
				}
				rest = rest[len(chunk):]
				p.mu.Lock()
				if p.closed {
					p.mu.Unlock()
					return
				}
				p.inflight = len(rest)
				if p.overLimit(len(p.buf) + p.inflight) {
					return
				}
				p.mu.Unlock()
			}
			if cap(out) > 1<<20 {
				out = nil
			}
		}
	}
}

// drain waits (up to d) until what is queued is written.
func (p *pusher) drain(d time.Duration) {
	deadline := time.After(d)
	for {
		p.mu.Lock()
		empty := len(p.buf) == 0 || p.closed
		p.mu.Unlock()
		if empty {
			// The loop may hold a batch it is writing: wait for its idle.
			select {
			case <-p.idle:
			case <-time.After(50 * time.Millisecond):
			}
			return
		}
		select {
		case <-p.idle:
		case <-deadline:
			return
		}
	}
}

// stop ends the loop. Two goroutines may stop one pusher at once (the
// connection's handler, and closeRevoked after an ACL change): done is
// closed once, by the first.
func (p *pusher) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if !p.stopped {
		p.stopped = true
		close(p.done)
	}
}

// subOf returns c's pub/sub state, starting its pusher: from here on the
// connection's output goes through it.
func (s *Server) subOf(c *client) *subState {
	if c.ps == nil {
		st := &subState{channels: map[string]struct{}{}, shard: map[string]struct{}{}, patterns: map[string]struct{}{}}
		st.proto.Store(int32(c.enc.Proto))
		// The pusher writes to the socket itself, not through the guard
		// (whose state belongs to the connection's goroutine), with a
		// deadline of its own per write.
		nc := c.conn.NetConn()
		if g, ok := nc.(*guardConn); ok {
			nc = g.Conn
		}
		st.out = newPusher(nc, s.pusherLimit, func(subscribed bool, pending int) {
			if subscribed {
				s.ps.dropped.Add(1)
			}
			s.outputLimitClose(c, pending)
		})
		s.ps.mu.Lock() // CLIENT LIST reads c.ps under it
		c.ps = st
		s.ps.mu.Unlock()
	}
	return c.ps
}

// pushOutput hands the connection's pending replies to its pusher, when it
// has one (handle calls it after every command). It reports whether it
// did.
func (c *client) pushOutput() bool {
	if c.ps == nil || c.conn == nil {
		return false
	}
	c.ps.proto.Store(int32(c.enc.Proto))
	c.ps.out.subscribed.Store(c.subscribed()) // the output class (limits.go)
	c.ps.out.push(c.enc.B)
	c.resetOutput()
	if c.quit {
		c.ps.out.drain(5 * time.Second)
	}
	return true
}

// pubsubGone forgets a closed connection.
func (s *Server) pubsubGone(c *client) {
	s.ps.mu.Lock()
	st := c.ps
	if st == nil {
		s.ps.mu.Unlock()
		return
	}
	for ch := range st.channels {
		delSub(s.ps.channels, ch, c)
	}
	for ch := range st.shard {
		delSub(s.ps.shard, ch, c)
	}
	for p := range st.patterns {
		delSub(s.ps.patterns, p, c)
	}
	if st.count()+len(st.shard) > 0 {
		s.ps.nsubs.Add(-1)
	}
	if st.monitor {
		delete(s.ps.monitors, c)
		s.ps.nmon.Add(-1)
	}
	st.channels, st.shard, st.patterns = map[string]struct{}{}, map[string]struct{}{}, map[string]struct{}{}
	st.counted()
	st.monitor = false
	s.ps.mu.Unlock()
	st.out.stop()
}

func addSub(m map[string]map[*client]struct{}, k string, c *client) {
	set := m[k]
	if set == nil {
		set = make(map[*client]struct{})
		m[k] = set
	}
	set[c] = struct{}{}
}

func delSub(m map[string]map[*client]struct{}, k string, c *client) {
	if set := m[k]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(m, k)
		}
	}
}

// Subscription kinds.
const (
	kindChannel = iota
	kindPattern
	kindShard
)

var subReplyNames = [3][2]string{{"subscribe", "unsubscribe"}, {"psubscribe", "punsubscribe"}, {"ssubscribe", "sunsubscribe"}}

// appendSubReply appends a (un)subscribe confirmation: [kind, name|nil,
// count], as a push in RESP3.
func appendSubReply(b []byte, proto int, kind string, name []byte, isNull bool, n int) []byte {
	b = appendPushHeader(b, 3, proto)
	b = resp.AppendBulkString(b, kind)
	if isNull {
		b = resp.AppendNull(b, proto)
	} else {
		b = resp.AppendBulk(b, name)
	}
	return resp.AppendInt(b, int64(n))
}

func appendPushHeader(b []byte, n, proto int) []byte {
	if proto == 3 {
		return resp.AppendPush(b, n, proto)
	}
	return resp.AppendArray(b, n)
}

// subscribe runs SUBSCRIBE, PSUBSCRIBE and SSUBSCRIBE.
func (s *Server) subscribe(c *client, kind int, names [][]byte) {
	if c.forwarded || c.conn == nil {
		c.errorReply("ERR " + strings.ToUpper(subReplyNames[kind][0]) + " is not allowed here")
		return
	}
	st := s.subOf(c)
	s.ps.mu.Lock()
	defer s.ps.mu.Unlock()
	before := st.count() + len(st.shard)
	for _, n := range names {
		k := string(n)
		switch kind {
		case kindChannel:
			if _, ok := st.channels[k]; !ok {
				st.channels[k] = struct{}{}
				st.chanList = append(st.chanList, k)
				addSub(s.ps.channels, k, c)
			}
		case kindPattern:
			if _, ok := st.patterns[k]; !ok {
				st.patterns[k] = struct{}{}
				st.patList = append(st.patList, k)
				addSub(s.ps.patterns, k, c)
			}
		case kindShard:
			if _, ok := st.shard[k]; !ok {
				st.shard[k] = struct{}{}
				st.shardList = append(st.shardList, k)
				addSub(s.ps.shard, k, c)
			}
		}
		cnt := st.count()
		if kind == kindShard {
			cnt = len(st.shard)
		}
		c.enc.B = appendSubReply(c.enc.B, c.enc.Proto, subReplyNames[kind][0], n, false, cnt)
	}
	if before == 0 && st.count()+len(st.shard) > 0 {
		s.ps.nsubs.Add(1)
	}
	st.counted()
	// Under the lock: no message to these channels goes out before the
	// confirmation.
	c.pushOutput()
}

// unsubscribe runs UNSUBSCRIBE, PUNSUBSCRIBE and SUNSUBSCRIBE; no names:
// all of the kind, or the null confirmation when there are none.
func (s *Server) unsubscribe(c *client, kind int, names [][]byte) {
	if c.forwarded || c.conn == nil {
		c.errorReply("ERR " + strings.ToUpper(subReplyNames[kind][1]) + " is not allowed here")
		return
	}
	st := s.subOf(c)
	s.ps.mu.Lock()
	defer s.ps.mu.Unlock()
	before := st.count() + len(st.shard)
	set, list, global := st.channels, &st.chanList, s.ps.channels
	switch kind {
	case kindPattern:
		set, list, global = st.patterns, &st.patList, s.ps.patterns
	case kindShard:
		set, list, global = st.shard, &st.shardList, s.ps.shard
	}
	if len(names) == 0 {
		for _, k := range *list {
			names = append(names, []byte(k))
		}
	}
	cnt := func() int {
		if kind == kindShard {
			return len(st.shard)
		}
		return st.count()
	}
	for _, n := range names {
		k := string(n)
		if _, ok := set[k]; ok {
			delete(set, k)
			if i := slices.Index(*list, k); i >= 0 {
				*list = slices.Delete(*list, i, i+1)
			}
			delSub(global, k, c)
		}
		c.enc.B = appendSubReply(c.enc.B, c.enc.Proto, subReplyNames[kind][1], n, false, cnt())
	}
	if len(names) == 0 {
		c.enc.B = appendSubReply(c.enc.B, c.enc.Proto, subReplyNames[kind][1], nil, true, cnt())
	}
	if before > 0 && st.count()+len(st.shard) == 0 {
		s.ps.nsubs.Add(-1)
	}
	st.counted()
	c.pushOutput()
}

func cmdSubscribe(s *Server, c *client, args [][]byte)    { s.subscribe(c, kindChannel, args[1:]) }
func cmdPsubscribe(s *Server, c *client, args [][]byte)   { s.subscribe(c, kindPattern, args[1:]) }
func cmdUnsubscribe(s *Server, c *client, args [][]byte)  { s.unsubscribe(c, kindChannel, args[1:]) }
func cmdPunsubscribe(s *Server, c *client, args [][]byte) { s.unsubscribe(c, kindPattern, args[1:]) }
func cmdSunsubscribe(s *Server, c *client, args [][]byte) { s.unsubscribe(c, kindShard, args[1:]) }

func cmdSsubscribe(s *Server, c *client, args [][]byte) {
	if c.inExec { // CLIENT_DENY_BLOCKING, as ssubscribeCommand refuses it
		c.errorReply("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client")
		return
	}
	s.subscribe(c, kindShard, args[1:])
}

// cmdPublish proposes the message as a log entry; once applied here it
// answers the number of this node's clients it was delivered to.
func cmdPublish(s *Server, c *client, args [][]byte) {
	spec := command.LookupName(strings.ToLower(string(args[0])))
	now := s.nowMs()
	e := &command.Entry{NowMs: now, DB: c.db, Cmds: [][][]byte{args}, Parsed: []command.Parsed{spec.ParseArgs(args, now)}}
	res := s.propose(c, e)
	if res.Error != "" {
		c.errorReply(res.Error)
		return
	}
	if r, isErr := res.Reply().Err(); isErr {
		c.errorReply(r)
		return
	}
	c.integer(int64(s.ps.receivers(args[1], spec.Name == "spublish")))
}

// receivers counts this node's clients a message to channel reaches: its
// subscribers plus one per matching pattern subscription, as Redis counts.
func (ps *pubsub) receivers(channel []byte, shard bool) int {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	if shard {
		return len(ps.shard[string(channel)])
	}
	n := len(ps.channels[string(channel)])
	for p, set := range ps.patterns {
		if command.Match([]byte(p), channel) {
			n += len(set)
		}
	}
	return n
}

// applied is the Backend.Notify hook: blocked clients hear about key
// changes; subscribers get messages and keyspace notifications.
func (s *Server) applied(ts []command.Touch) {
	// Messages change no key: blocked clients need not hear of them.
	isMessage := func(t command.Touch) bool { return t.Publish != 0 }
	keys := ts
	if slices.ContainsFunc(ts, isMessage) {
		keys = slices.DeleteFunc(slices.Clone(ts), isMessage)
	}
	if len(keys) > 0 {
		s.waiters.touched(keys)
	}
	s.ps.deliverAll(ts)
	s.trackApplied(ts) // client-side caching (tracking.go)
}

func (ps *pubsub) deliverAll(ts []command.Touch) {
	flags := ps.notify.Load()
	for _, t := range ts {
		if t.Publish != 0 {
			ps.published.Add(1)
		}
	}
	if ps.nsubs.Load() == 0 {
		return
	}
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	for i, t := range ts {
		switch {
		case t.Publish == command.PubShard:
			ps.deliver(t.Key, t.Message, true)
		case t.Publish != 0:
			ps.deliver(t.Key, t.Message, false)
		case t.Key != nil && flags != 0:
			ps.notifyEvents(flags, ts, i) // notify.go
		}
	}
}

// deliver sends a message to the subscribers of channel and of the
// patterns matching it (pubsubPublishMessage), under ps.mu read-locked.
func (ps *pubsub) deliver(channel, msg []byte, shard bool) int {
	n := 0
	var frames [4][]byte // by protocol (2, 3)
	frame := func(proto int32, kind string, pattern []byte) []byte {
		var b []byte
		if pattern == nil {
			b = appendPushHeader(nil, 3, int(proto))
			b = resp.AppendBulkString(b, kind)
		} else {
			b = appendPushHeader(nil, 4, int(proto))
			b = resp.AppendBulkString(b, kind)
			b = resp.AppendBulk(b, pattern)
		}
		b = resp.AppendBulk(b, channel)
		return resp.AppendBulk(b, msg)
	}
	kind := "message"
	set := ps.channels[string(channel)]
	if shard {
		kind, set = "smessage", ps.shard[string(channel)]
	}
	for c := range set {
		p := c.ps.proto.Load()
		if p != 3 {
			p = 2
		}
		if frames[p] == nil {
			frames[p] = frame(p, kind, nil)
		}
		if c.ps.out.push(frames[p]) {
			n++
		}
	}
	if !shard {
		for pat, set := range ps.patterns {
			if !command.Match([]byte(pat), channel) {
				continue
			}
			var pf [4][]byte
			for c := range set {
				p := c.ps.proto.Load()
				if p != 3 {
					p = 2
				}
				if pf[p] == nil {
					pf[p] = frame(p, "pmessage", []byte(pat))
				}
				if c.ps.out.push(pf[p]) {
					n++
				}
			}
		}
	}
	ps.delivered.Add(int64(n))
	return n
}

// cmdPubsubChannels and the rest: PUBSUB's subcommands (pubsubCommand).
func cmdPubsubChannels(s *Server, c *client, args [][]byte) { s.pubsubList(c, args, s.ps.channels) }
func cmdPubsubShardchannels(s *Server, c *client, args [][]byte) {
	s.pubsubList(c, args, s.ps.shard)
}

func (s *Server) pubsubList(c *client, args [][]byte, m map[string]map[*client]struct{}) {
	if len(args) > 3 {
		c.errorReply(fmt.Sprintf("ERR unknown subcommand or wrong number of arguments for '%s'. Try PUBSUB HELP.", args[1]))
		return
	}
	var pat []byte
	if len(args) == 3 {
		pat = args[2]
	}
	s.ps.mu.RLock()
	var out []string
	for ch := range m {
		if pat == nil || command.Match(pat, []byte(ch)) {
			out = append(out, ch)
		}
	}
	s.ps.mu.RUnlock()
	slices.Sort(out)
	c.array(len(out))
	for _, ch := range out {
		c.bulkString(ch)
	}
}

func cmdPubsubNumsub(s *Server, c *client, args [][]byte) { s.pubsubNum(c, args, false) }
func cmdPubsubShardnumsub(s *Server, c *client, args [][]byte) {
	s.pubsubNum(c, args, true)
}

func (s *Server) pubsubNum(c *client, args [][]byte, shard bool) {
	m := s.ps.channels
	if shard {
		m = s.ps.shard
	}
	s.ps.mu.RLock()
	ns := make([]int, len(args)-2)
	for i, ch := range args[2:] {
		ns[i] = len(m[string(ch)])
	}
	s.ps.mu.RUnlock()
	// A flat array in RESP3 too, as Redis 7.0.
	c.array(2 * len(ns))
	for i, ch := range args[2:] {
		c.bulk(ch)
		c.integer(int64(ns[i]))
	}
}

func cmdPubsubNumpat(s *Server, c *client, args [][]byte) {
	s.ps.mu.RLock()
	n := len(s.ps.patterns)
	s.ps.mu.RUnlock()
	c.integer(int64(n))
}

// inSubscribedMode refuses, as processCommand does, a RESP2 client with
// subscriptions anything but (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT
// and RESET. It reports whether it refused.
func (c *client) refusedInSubscribedMode(k *command.Spec) bool {
	if !c.subscribed() || c.enc.Proto == 3 {
		return false
	}
	switch k.Name {
	case "ping", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe", "psubscribe", "punsubscribe", "quit", "reset":
		return false
	}
	msg := fmt.Sprintf("ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context", k.Name)
	if k.Name == "exec" {
		c.rejectExec(msg) // rejectCommand aborts an EXEC: -EXECABORT
	} else {
		c.reject(msg)
	}
	return true
}

// pingSubscribed answers PING in RESP2 subscribed mode: ["pong", arg|""].
func (c *client) pingSubscribed(args [][]byte) bool {
	if len(args) > 2 || !c.subscribed() || c.enc.Proto == 3 || c.w != &c.enc {
		return false
	}
	c.array(2)
	c.bulkString("pong")
	if len(args) > 1 {
		c.bulk(args[1])
	} else {
		c.bulkString("")
	}
	return true
}

// --- MONITOR ---

func cmdMonitor(s *Server, c *client, args [][]byte) {
	if c.forwarded || c.conn == nil {
		c.errorReply("ERR MONITOR is not allowed here")
		return
	}
	st := s.subOf(c)
	s.ps.mu.Lock()
	if !st.monitor {
		st.monitor = true
		s.ps.monitors[c] = struct{}{}
		s.ps.nmon.Add(1)
	}
	c.ok()
	c.pushOutput()
	s.ps.mu.Unlock()
}

// feedMonitors sends a command c ran to the MONITOR clients, in Redis's
// line format: +<unix seconds>.<micros> [<db> <addr>] "arg" "arg"...
// Admin commands and those flagged skip_monitor are not shown, as Redis.
// For EXEC, queue holds the transaction's commands: they are shown first,
// as Redis shows each when EXEC runs it.
func (s *Server) feedMonitors(c *client, k *command.Spec, args [][]byte, queue []queued) {
	if s.ps.nmon.Load() == 0 || c.forwarded {
		return
	}
	if k.Name == "exec" {
		for _, q := range queue {
			s.feedMonitors(c, q.spec, q.args, nil)
		}
	}
	if k.Flags&(command.FlagAdmin|command.FlagSkipMonitor) != 0 {
		return
	}
	now := time.Now()
	b := make([]byte, 0, 64)
	b = append(b, '+')
	b = strconv.AppendInt(b, now.Unix(), 10)
	b = fmt.Appendf(b, ".%06d [%d %s]", now.Nanosecond()/1000, c.db, c.addr)
	// As Redis's redactClientCommandArgument: AUTH's arguments, and
	// HELLO's after AUTH.
	redacted := make([]bool, len(args))
	switch k.Name {
	case "auth":
		for i := 1; i < len(args); i++ {
			redacted[i] = true
		}
	case "hello":
		for i := 2; i+2 < len(args); i++ {
			if equalFoldStr(args[i], "auth") {
				redacted[i+1], redacted[i+2] = true, true
				i += 2
			}
		}
	}
	for i, a := range args {
		b = append(b, ' ')
		if redacted[i] {
			b = append(b, `"(redacted)"`...)
			continue
		}
		b = resp.AppendQuoted(b, a)
	}
	b = append(b, '\r', '\n')
	s.ps.mu.RLock()
	for m := range s.ps.monitors {
		m.ps.out.push(b)
	}
	s.ps.mu.RUnlock()
}

// --- INFO ---

// infoPubsub is the pub/sub lines of INFO's Stats section.
func (s *Server) infoPubsub() string {
	s.ps.mu.RLock()
	ch, pat, sh := len(s.ps.channels), len(s.ps.patterns), len(s.ps.shard)
	s.ps.mu.RUnlock()
	var b bytes.Buffer
	fmt.Fprintf(&b, "pubsub_channels:%d\r\npubsub_patterns:%d\r\npubsubshard_channels:%d\r\n", ch, pat, sh)
	fmt.Fprintf(&b, "pubsub_messages_applied:%d\r\npubsub_messages_delivered:%d\r\npubsub_clients_dropped:%d\r\n",
		s.ps.published.Load(), s.ps.delivered.Load(), s.ps.dropped.Load())
	return b.String()
}

func cmdPubsubHelp(s *Server, c *client, args [][]byte) {
	c.array(len(command.PubsubHelp))
	for _, l := range command.PubsubHelp {
		c.simple(l)
	}
}

// pubsubHandlers are the server's handlers of this file's commands.
var pubsubHandlers = map[string]handler{
	"subscribe": cmdSubscribe, "unsubscribe": cmdUnsubscribe, "psubscribe": cmdPsubscribe,
	"punsubscribe": cmdPunsubscribe, "ssubscribe": cmdSsubscribe, "sunsubscribe": cmdSunsubscribe,
	"publish": cmdPublish, "spublish": cmdPublish,
	"pubsub|channels": cmdPubsubChannels, "pubsub|numsub": cmdPubsubNumsub, "pubsub|numpat": cmdPubsubNumpat,
	"pubsub|shardchannels": cmdPubsubShardchannels, "pubsub|shardnumsub": cmdPubsubShardnumsub,
	"pubsub|help": cmdPubsubHelp, "monitor": cmdMonitor,
}

func init() { resetPubSubHook = (*Server).pubsubReset }

// pubsubReset is RESET's part (clearClientConnectionState): every
// subscription dropped without confirmations, MONITOR ended. The pusher
// stays: it keeps the connection's output in order.
func (s *Server) pubsubReset(c *client) {
	st := c.ps
	if st == nil {
		return
	}
	s.ps.mu.Lock()
	defer s.ps.mu.Unlock()
	if st.count()+len(st.shard) > 0 {
		s.ps.nsubs.Add(-1)
	}
	for ch := range st.channels {
		delSub(s.ps.channels, ch, c)
	}
	for ch := range st.shard {
		delSub(s.ps.shard, ch, c)
	}
	for p := range st.patterns {
		delSub(s.ps.patterns, p, c)
	}
	st.channels, st.shard, st.patterns = map[string]struct{}{}, map[string]struct{}{}, map[string]struct{}{}
	st.chanList, st.shardList, st.patList = nil, nil, nil
	st.counted()
	if st.monitor {
		st.monitor = false
		delete(s.ps.monitors, c)
		s.ps.nmon.Add(-1)
	}
}

// clientSubs is CLIENT LIST's view of a connection's pub/sub state: its
// flags (P subscribed, O monitor, N neither) and subscription counts.
func (s *Server) clientSubs(k *client) (flags string, sub, psub, ssub int) {
	s.ps.mu.RLock()
	defer s.ps.mu.RUnlock()
	flags = "N"
	st := k.ps
	if st == nil {
		return
	}
	sub, psub, ssub = len(st.channels), len(st.patterns), len(st.shard)
	switch {
	case st.monitor:
		flags = "O"
	case sub+psub+ssub > 0:
		flags = "P"
	}
	return
}

// publishReply answers a PUBLISH or SPUBLISH that ran inside EXEC with this
// node's count, as outside (the state machine's reply is a placeholder).
// It reports whether it answered.
func (s *Server) publishReply(c *client, k *command.Spec, args [][]byte, r command.Reply) bool {
	if k.Name != "publish" && k.Name != "spublish" {
		return false
	}
	if _, isErr := r.Err(); isErr {
		return false
	}
	c.integer(int64(s.ps.receivers(args[1], k.Name == "spublish")))
	return true
}
