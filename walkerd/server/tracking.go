package server

// Client-side caching: Redis 7.0.15's tracking.c, and the CLIENT TRACKING,
// CACHING, GETREDIR and TRACKINGINFO subcommands of networking.c.
//
// Tracking is per node, as everything about a connection is: a client
// reads on the node it is connected to, and that node remembers, in its
// tracking table, which of its clients read which key (default mode), or
// which prefixes its BCAST clients want to hear about. Every node's server
// hears of every applied write (Backend.Notify's command.Touch lists, from
// writes proposed on any node, expiry sweeps, FLUSHALL and FLUSHDB), so a
// write through the leader invalidates the keys a follower's clients
// cached.
//
// Invalidations go, as Redis sends them, to the tracking client itself in
// RESP3 (a push: >2 invalidate [keys] or a null for a flush), or to its
// REDIRECT client: as a push when that client speaks RESP3, or as a
// message on __redis__:invalidate when it is a RESP2 client in pub/sub
// mode. A tracking connection's output goes through its pusher (pubsub.go)
// so that invalidations reach it between replies. Invalidations caused
// while the tracking client runs a command (its own writes, and writes
// applied meanwhile) are held and follow the command's reply, as Redis's
// tracking_pending_keys: a client never gets a key's invalidation before
// the reply that gave it the value.
//
// NOLOOP knows a client's own writes by the Result its proposal returns:
// on the leader and standalone, the Touch list Backend.Notify reports for
// an entry is the one its proposer gets back (Result.Touched). A follower
// forwards its clients' writes to the leader, whose reply does not carry
// the touches, and applies the entry from the log later: there NOLOOP
// cannot tell the client's own writes from others', and the client hears
// about its own writes too. A follower's tracking client (without NOLOOP)
// gets the invalidation of the keys its forwarded write names right after
// the write's reply, as from Redis, not when the follower applies it.

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// defaultTrackingMaxKeys is tracking-table-max-keys's default, as Redis's.
const defaultTrackingMaxKeys = 1000000

// tracking is a node's tracking table (TrackingTable and PrefixTable of
// tracking.c). The zero value is ready.
type tracking struct {
	mu sync.Mutex
	// keys maps a key read by default-mode clients to them (keys of every
	// database share the table, as Redis's).
	keys  map[string]map[*trackState]struct{}
	items int // the sum of len(keys[k]): tracking_total_items
	// on holds the clients with tracking enabled.
	on map[*trackState]struct{}
	// prefixes maps a BCAST prefix to the clients registered for it.
	prefixes map[string]map[*trackState]struct{}
	// targets are the clients invalidations are redirected to, by id,
	// until they disconnect.
	targets map[int64]*client
	n       atomic.Int32 // len(on), read without mu
	// maxKeys is tracking-table-max-keys plus one; 0: the default.
	maxKeys atomic.Int64
	ps      *pubsub // the server's, for the connections' pushers
}

// trackState is one client's tracking state (the CLIENT_TRACKING* flags
// and client_tracking_* fields of Redis's client). Every field but c is
// under tracking.mu, and so is setting client.tr (its own connection
// reads it without the lock; others, CLIENT LIST, under it).
type trackState struct {
	c                            *client
	bcast, optin, optout, noloop bool
	caching                      bool // CLIENT CACHING given for the next command
	broken                       bool // the redirect client is gone
	redirect                     int64
	prefixes                     []string // BCAST, sorted
	keys                         map[string]struct{}
	busy                         bool             // running a command: messages are held
	held                         []trackMsg       // until the command's reply is out
	own                          []*command.Touch // entries it proposed while busy
}

// trackMsg is one invalidation: keys, or all keys (null, a flush). tag
// identifies the applied entry that caused it (its Touch list), for
// NOLOOP.
type trackMsg struct {
	keys [][]byte
	null bool
	tag  *command.Touch
}

func (t *tracking) max() int64 {
	if v := t.maxKeys.Load(); v != 0 {
		return v - 1
	}
	return defaultTrackingMaxKeys
}

func (t *tracking) init(ps *pubsub) {
	t.ps = ps
	if t.keys == nil {
		t.keys = map[string]map[*trackState]struct{}{}
		t.on = map[*trackState]struct{}{}
		t.prefixes = map[string]map[*trackState]struct{}{}
		t.targets = map[int64]*client{}
	}
}

// clientByID finds this node's connection with id, or nil.
func (s *Server) clientByID(id int64) *client {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.conns {
		if k.id == id {
			return k
		}
	}
	return nil
}

// prefixesOverlap is tracking.c's stringCheckPrefix: one is a prefix of
// the other.
func prefixesOverlap(a, b string) bool {
	n := min(len(a), len(b))
	return a[:n] == b[:n]
}

// CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p ...] [OPTIN]
// [OPTOUT] [NOLOOP], as networking.c's clientCommand and tracking.c's
// enableTracking: options are checked in Redis's order, with its errors.
// Turning it on again keeps the mode (switching BCAST or OPTIN/OPTOUT
// needs OFF first), replaces the redirect and flags, and adds prefixes.
// OFF forgets the client's keys and prefixes.
func cmdClientTracking(s *Server, c *client, args [][]byte) {
	var (
		redir                        int64
		bcast, optin, optout, noloop bool
		prefixes                     []string
		target                       *client
	)
	for j := 3; j < len(args); j++ {
		more := len(args) - 1 - j
		switch a := args[j]; {
		case equalFoldStr(a, "redirect") && more > 0:
			j++
			if redir != 0 {
				c.errorReply("ERR A client can only redirect to a single other client")
				return
			}
			n, ok := command.ParseInt(args[j])
			if !ok {
				c.fail(command.ErrNotInteger)
				return
			}
			redir = n
			if target = s.clientByID(n); target == nil {
				c.errorReply("ERR The client ID you want redirect to does not exist")
				return
			}
		case equalFoldStr(a, "bcast"):
			bcast = true
		case equalFoldStr(a, "optin"):
			optin = true
		case equalFoldStr(a, "optout"):
			optout = true
		case equalFoldStr(a, "noloop"):
			noloop = true
		case equalFoldStr(a, "prefix") && more > 0:
			j++
			prefixes = append(prefixes, string(args[j]))
		default:
			c.fail(command.ErrSyntax)
			return
		}
	}
	switch {
	case equalFoldStr(args[2], "off"):
		s.trackOff(c)
		c.ok()
		return
	case !equalFoldStr(args[2], "on"):
		c.fail(command.ErrSyntax)
		return
	}
	st := c.tr
	t := &s.tr
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case !bcast && len(prefixes) > 0:
		c.errorReply("ERR PREFIX option requires BCAST mode to be enabled")
		return
	case st != nil && st.bcast != bcast:
		c.errorReply("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.")
		return
	case bcast && (optin || optout):
		c.errorReply("ERR OPTIN and OPTOUT are not compatible with BCAST")
		return
	case optin && optout:
		c.errorReply("ERR You can't specify both OPTIN mode and OPTOUT mode")
		return
	case st != nil && (optin && st.optout || optout && st.optin):
		c.errorReply("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.")
		return
	}
	if bcast {
		// checkPrefixCollisionsOrReply. (Redis 7.0 answers an overlap
		// among the given prefixes, past the first, with the error and
		// then enables tracking and answers OK too; walkerd answers the
		// error alone and changes nothing.)
		for i, p := range prefixes {
			if st != nil {
				for _, q := range st.prefixes {
					if prefixesOverlap(q, p) {
						c.errorReply(fmt.Sprintf("ERR Prefix '%s' overlaps with an existing prefix '%s'. Prefixes for a single client must not overlap.", p, q))
						return
					}
				}
			}
			for _, q := range prefixes[i+1:] {
				if prefixesOverlap(p, q) {
					c.errorReply(fmt.Sprintf("ERR Prefix '%s' overlaps with another provided prefix '%s'. Prefixes for a single client must not overlap.", p, q))
					return
				}
			}
		}
	}
	t.init(s.ps)
	if st == nil {
		st = &trackState{c: c, keys: map[string]struct{}{}}
		t.on[st] = struct{}{}
		t.n.Add(1)
	}
	st.broken, st.optin, st.optout, st.noloop = false, optin, optout, noloop
	st.bcast = bcast
	st.redirect = redir
	if target != nil {
		t.targets[redir] = target
	}
	if bcast {
		if len(prefixes) == 0 {
			prefixes = []string{""}
		}
		for _, p := range prefixes {
			if slices.Contains(st.prefixes, p) {
				continue
			}
			st.prefixes = append(st.prefixes, p)
			set := t.prefixes[p]
			if set == nil {
				set = map[*trackState]struct{}{}
				t.prefixes[p] = set
			}
			set[st] = struct{}{}
		}
		slices.Sort(st.prefixes)
	}
	c.tr = st
	if c.conn != nil && !c.forwarded {
		// Invalidations reach the connection between replies through
		// its pusher; under t.mu: it takes ps.mu, which never waits on
		// t.mu.
		s.subOf(c)
	}
	c.ok()
}

// trackOff is tracking.c's disableTracking, freeing at once the client's
// keys and prefixes (Redis drops the ids from the table lazily). RESET
// and CLIENT TRACKING OFF call it.
func (s *Server) trackOff(c *client) {
	st := c.tr
	if st == nil {
		return
	}
	t := &s.tr
	t.mu.Lock()
	t.disable(st)
	c.tr = nil // under mu: CLIENT LIST reads it from other connections
	t.mu.Unlock()
}

// disable forgets st; under t.mu.
func (t *tracking) disable(st *trackState) {
	for k := range st.keys {
		if ids := t.keys[k]; ids != nil {
			delete(ids, st)
			t.items--
			if len(ids) == 0 {
				delete(t.keys, k)
			}
		}
	}
	st.keys = map[string]struct{}{}
	for _, p := range st.prefixes {
		if set := t.prefixes[p]; set != nil {
			delete(set, st)
			if len(set) == 0 {
				delete(t.prefixes, p)
			}
		}
	}
	st.prefixes = nil
	st.held, st.own, st.busy = nil, nil, false
	if _, ok := t.on[st]; ok {
		delete(t.on, st)
		t.n.Add(-1)
	}
}

// trackGone forgets a closed connection: its tracking, and its place as
// a redirect target (clients redirecting to it now find it gone).
func (s *Server) trackGone(c *client) {
	t := &s.tr
	if c.tr == nil && t.n.Load() == 0 {
		t.mu.Lock()
		if t.targets[c.id] == c {
			delete(t.targets, c.id)
		}
		t.mu.Unlock()
		return
	}
	t.mu.Lock()
	if c.tr != nil {
		t.disable(c.tr)
	}
	if t.targets[c.id] == c {
		delete(t.targets, c.id)
	}
	c.tr = nil
	t.mu.Unlock()
}

// CLIENT CACHING YES|NO: tracks (OPTIN) or skips (OPTOUT) the keys of the
// client's next command, or of its next transaction.
func cmdClientCaching(s *Server, c *client, args [][]byte) {
	st := c.tr
	if st == nil {
		c.errorReply("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled")
		return
	}
	t := &s.tr
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case equalFoldStr(args[2], "yes"):
		if !st.optin {
			c.errorReply("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
			return
		}
	case equalFoldStr(args[2], "no"):
		if !st.optout {
			c.errorReply("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
			return
		}
	default:
		c.fail(command.ErrSyntax)
		return
	}
	st.caching = true
	c.ok()
}

// CLIENT GETREDIR: the redirect client's id, 0 tracking without one, -1
// tracking off.
func cmdClientGetredir(s *Server, c *client, args [][]byte) {
	c.integer(s.trackRedir(c))
}

func (s *Server) trackRedir(c *client) int64 {
	st := c.tr
	if st == nil {
		return -1
	}
	s.tr.mu.Lock()
	defer s.tr.mu.Unlock()
	return st.redirect
}

// CLIENT TRACKINGINFO: a map (a flat array in RESP2) of flags (a set:
// on/off, bcast, optin, caching-yes, optout, caching-no, noloop,
// broken_redirect), redirect (as GETREDIR) and prefixes (BCAST's, in byte
// order).
func cmdClientTrackinginfo(s *Server, c *client, args [][]byte) {
	flags := []string{"off"}
	redirect := int64(-1)
	var prefixes []string
	if st := c.tr; st != nil {
		s.tr.mu.Lock()
		flags = []string{"on"}
		if st.bcast {
			flags = append(flags, "bcast")
		}
		if st.optin {
			flags = append(flags, "optin")
			if st.caching {
				flags = append(flags, "caching-yes")
			}
		}
		if st.optout {
			flags = append(flags, "optout")
			if st.caching {
				flags = append(flags, "caching-no")
			}
		}
		if st.noloop {
			flags = append(flags, "noloop")
		}
		if st.broken {
			flags = append(flags, "broken_redirect")
		}
		redirect = st.redirect
		prefixes = slices.Clone(st.prefixes)
		s.tr.mu.Unlock()
	}
	c.w.Map(3)
	c.bulkString("flags")
	c.w.Set(len(flags))
	for _, f := range flags {
		c.bulkString(f)
	}
	c.bulkString("redirect")
	c.integer(redirect)
	c.bulkString("prefixes")
	c.array(len(prefixes))
	for _, p := range prefixes {
		c.bulkString(p)
	}
}

// trackFlags are CLIENT LIST's tracking flag letters for k: t tracking,
// R broken redirect, B broadcast; and its redir field (-1 off).
func (s *Server) trackFlags(k *client) (string, int64) {
	s.tr.mu.Lock()
	defer s.tr.mu.Unlock()
	st := k.tr // set and cleared under mu
	if st == nil {
		return "", -1
	}
	if _, ok := s.tr.on[st]; !ok {
		return "", -1
	}
	f := "t"
	if st.broken {
		f += "R"
	}
	if st.bcast {
		f += "B"
	}
	return f, st.redirect
}

// clientListFlags merges the tracking letters into CLIENT LIST's flags
// (N: none) in Redis's order: after P, before the others walkerd shows.
func (s *Server) clientListFlags(k *client, flags string) (string, int64) {
	tf, redir := s.trackFlags(k)
	if tf == "" {
		return flags, redir
	}
	if flags == "N" {
		return tf, redir
	}
	return flags + tf, redir
}

// --- recording reads ---

// cachingApplies is trackingRememberKeys's OPTIN/OPTOUT test; under mu.
func (st *trackState) cachingApplies() bool {
	return !(st.optin && !st.caching) && !(st.optout && st.caching)
}

// trackRead records, before a tracking client's read runs, the keys it
// reads (Spec.Keys, as getKeysFromCommand), and holds the invalidations
// the client gets until its reply is out. Recording first means a write
// applied while the read runs invalidates it: never a missed
// invalidation, at worst one too many.
func (s *Server) trackRead(c *client, spec *command.Spec, args [][]byte) {
	st := c.tr
	if st == nil {
		return
	}
	t := &s.tr
	t.mu.Lock()
	defer t.mu.Unlock()
	st.busy = true
	if st.bcast || !st.cachingApplies() || spec.Flags&command.FlagReadonly == 0 {
		return
	}
	t.remember(st, spec.Keys(args))
	t.limit()
}

// trackExec records the keys of a transaction's reads before its entry is
// proposed (the reads run inside it, on the state machine), as Redis
// tracks the reads EXEC calls.
func (s *Server) trackExec(c *client, queue []queued) {
	st := c.tr
	if st == nil {
		return
	}
	t := &s.tr
	t.mu.Lock()
	defer t.mu.Unlock()
	st.busy = true
	if st.bcast || !st.cachingApplies() {
		return
	}
	for _, q := range queue {
		if q.spec.IsData() && q.spec.Flags&command.FlagReadonly != 0 {
			t.remember(st, q.spec.Keys(q.args))
		}
	}
	t.limit()
}

// remember adds keys to st's entries; under mu.
func (t *tracking) remember(st *trackState, keys [][]byte) {
	if len(keys) == 0 {
		return
	}
	for _, k := range keys {
		ks := string(k)
		ids := t.keys[ks]
		if ids == nil {
			ids = map[*trackState]struct{}{}
			t.keys[ks] = ids
		}
		if _, ok := ids[st]; !ok {
			ids[st] = struct{}{}
			st.keys[ks] = struct{}{}
			t.items++
		}
	}
}

// limit is trackingLimitUsedSlots: while the table holds more keys than
// tracking-table-max-keys (0: no limit), a key is dropped, its clients
// invalidated as if it changed. Go's map order picks the key, at random
// as Redis's random walk does. Under mu.
func (t *tracking) limit() {
	max := t.max()
	if max == 0 {
		return
	}
	for int64(len(t.keys)) > max {
		for k := range t.keys {
			t.invalidateKey(k, nil)
			break
		}
	}
}

// --- invalidating ---

// trackWrite, deferred by propose, holds the invalidations of a tracking
// client while it writes, and notes the entry it proposed (by the Touch
// list the state machine returned with it), for NOLOOP.
func (s *Server) trackWrite(c *client) func(res **command.Result) {
	st := c.tr
	if st == nil {
		return func(**command.Result) {}
	}
	s.tr.mu.Lock()
	st.busy = true
	s.tr.mu.Unlock()
	return func(res **command.Result) {
		t := &s.tr
		t.mu.Lock()
		defer t.mu.Unlock()
		if r := *res; r != nil && len(r.Touched) > 0 {
			st.own = append(st.own, &r.Touched[0])
		}
		if spec := command.LookupName(c.lastCommand()); spec == nil || spec.Flags&command.FlagBlocking == 0 {
			return
		}
		// A blocking command's attempt: the client may now wait, and
		// gets what others' writes invalidate at once, as Redis's
		// blocked clients do; what its own writes invalidate still
		// follows its reply (trackAfter).
		keep := st.held[:0]
		for _, m := range st.held {
			if m.tag != nil && slices.Contains(st.own, m.tag) {
				keep = append(keep, m)
			} else {
				t.deliver(st, m, nil)
			}
		}
		st.held, st.busy = keep, false
	}
}

// trackApplied is the tracking part of applied: each key touched is
// invalidated for the clients that read it, BCAST clients hear of the keys
// under their prefixes (one message per prefix per entry, keys in byte
// order), and a flush invalidates everything for every tracking client.
// It runs on the apply path and never blocks.
func (s *Server) trackApplied(ts []command.Touch) {
	t := &s.tr
	if t.n.Load() == 0 || len(ts) == 0 {
		return
	}
	tag := &ts[0]
	t.mu.Lock()
	defer t.mu.Unlock()
	var bcastKeys map[string]map[string]struct{} // prefix → keys
	prevFlush := -2
	for i, tc := range ts {
		if tc.Publish != 0 {
			continue
		}
		if tc.Key == nil {
			// FLUSHALL reports its 16 databases in a row: one flush.
			if !(prevFlush == i-1 && tc.DB > 0 && ts[i-1].DB == tc.DB-1) {
				t.invalidateAll(tag)
			}
			prevFlush = i
			continue
		}
		if len(t.prefixes) > 0 {
			for p := range t.prefixes {
				if strings.HasPrefix(string(tc.Key), p) {
					if bcastKeys == nil {
						bcastKeys = map[string]map[string]struct{}{}
					}
					if bcastKeys[p] == nil {
						bcastKeys[p] = map[string]struct{}{}
					}
					bcastKeys[p][string(tc.Key)] = struct{}{}
				}
			}
		}
		t.invalidateKey(string(tc.Key), tag)
	}
	for _, p := range slices.Sorted(maps.Keys(bcastKeys)) {
		keys := slices.Sorted(maps.Keys(bcastKeys[p]))
		msg := trackMsg{tag: tag}
		for _, k := range keys {
			msg.keys = append(msg.keys, []byte(k))
		}
		for st := range t.prefixes[p] {
			t.send(st, msg)
		}
	}
}

// invalidateKey is trackingInvalidateKey without the broadcast part: the
// clients that read key get an invalidation, and the key is forgotten.
// tag nil: an eviction (tracking-table-max-keys). Under mu.
func (t *tracking) invalidateKey(key string, tag *command.Touch) {
	ids := t.keys[key]
	if ids == nil {
		return
	}
	msg := trackMsg{keys: [][]byte{[]byte(key)}, tag: tag}
	for st := range ids {
		delete(st.keys, key)
		if !st.bcast {
			t.send(st, msg)
		}
	}
	t.items -= len(ids)
	delete(t.keys, key)
}

// trackForwarded is what a follower does for a tracking client (without
// NOLOOP or BCAST) whose write it forwarded to the leader: it applies the
// entry later, but the client may trust its cache before that, so the
// keys the entry's writes name are invalidated for it now, after the
// write's reply, as Redis invalidates a client's own write (the later
// apply finds them forgotten).
func (s *Server) trackForwarded(c *client, e *command.Entry, res *command.Result) {
	st := c.tr
	if st == nil || res == nil || res.Error != "" {
		return
	}
	t := &s.tr
	t.mu.Lock()
	defer t.mu.Unlock()
	if st.bcast || st.noloop {
		return
	}
	for _, args := range e.Cmds {
		spec := command.Lookup(args[0])
		if spec != nil && len(spec.Subs) > 0 && len(args) > 1 {
			spec = spec.Sub(args[1])
		}
		if spec == nil || spec.Flags&command.FlagWrite == 0 {
			continue
		}
		for _, k := range spec.Keys(args) {
			t.invalidateKeyFor(st, string(k))
		}
	}
}

// invalidateKeyFor is invalidateKey for one client: st gets an
// invalidation of key if it read it, and forgets it. Under mu.
func (t *tracking) invalidateKeyFor(st *trackState, key string) {
	if _, ok := st.keys[key]; !ok {
		return
	}
	delete(st.keys, key)
	if ids := t.keys[key]; ids != nil {
		delete(ids, st)
		t.items--
		if len(ids) == 0 {
			delete(t.keys, key)
		}
	}
	t.send(st, trackMsg{keys: [][]byte{[]byte(key)}})
}

// invalidateAll is trackingInvalidateKeysOnFlush: every tracking client
// gets a null invalidation and the table empties. Under mu.
func (t *tracking) invalidateAll(tag *command.Touch) {
	for st := range t.on {
		t.send(st, trackMsg{null: true, tag: tag})
		clear(st.keys)
	}
	clear(t.keys)
	t.items = 0
}

// send delivers msg to st now, or holds it while st's client runs a
// command (trackAfter sends it after the reply). Under mu.
func (t *tracking) send(st *trackState, msg trackMsg) {
	if st.busy {
		st.held = append(st.held, msg)
		return
	}
	t.deliver(st, msg, nil)
}

// deliver is sendTrackingMessage. out, when not nil, is the tracking
// client's own reply buffer (its goroutine is the caller): what goes to
// the client itself is appended there, after its reply. Under mu.
func (t *tracking) deliver(st *trackState, msg trackMsg, out *[]byte) {
	c := st.c
	proto := connProto(c, out != nil)
	if st.redirect != 0 {
		target := t.targets[st.redirect]
		if target == nil {
			st.broken = true
			if proto == 3 {
				b := resp.AppendPush(nil, 2, 3)
				b = resp.AppendBulkString(b, "tracking-redir-broken")
				b = resp.AppendInt(b, st.redirect)
				t.pushTo(c, b, out)
			}
			return
		}
		tproto, subscribed := t.targetState(target)
		var b []byte
		switch {
		case tproto == 3:
			b = resp.AppendPush(nil, 2, 3)
			b = resp.AppendBulkString(b, "invalidate")
		case subscribed:
			b = resp.AppendArray(nil, 3)
			b = resp.AppendBulkString(b, "message")
			b = resp.AppendBulkString(b, "__redis__:invalidate")
		default:
			return
		}
		b = appendTrackPayload(b, msg, proto)
		if target == c {
			t.pushTo(c, b, out)
		} else {
			t.pushTo(target, b, nil)
		}
		return
	}
	if proto != 3 {
		return // RESP2 without a redirect: nowhere to send it
	}
	b := resp.AppendPush(nil, 2, 3)
	b = resp.AppendBulkString(b, "invalidate")
	t.pushTo(c, appendTrackPayload(b, msg, proto), out)
}

// appendTrackPayload appends an invalidation's value: the keys as an
// array, or the null of the tracking client's protocol (a flush).
func appendTrackPayload(b []byte, msg trackMsg, proto int) []byte {
	if msg.null {
		return resp.AppendNull(b, proto)
	}
	b = resp.AppendArray(b, len(msg.keys))
	for _, k := range msg.keys {
		b = resp.AppendBulk(b, k)
	}
	return b
}

// connProto is c's protocol, read by its own goroutine (own) or another.
func connProto(c *client, own bool) int {
	if own {
		return c.enc.Proto
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.enc.Proto
}

// targetState is a redirect target's protocol and whether it is in
// pub/sub mode (Redis's CLIENT_PUBSUB). Under mu.
func (t *tracking) targetState(k *client) (proto int, subscribed bool) {
	proto = connProto(k, false)
	t.ps.mu.RLock()
	if st := k.ps; st != nil {
		subscribed = st.count()+len(st.shard) > 0
	}
	t.ps.mu.RUnlock()
	return
}

// pushTo queues b for k: into out (k's own reply buffer, its goroutine
// calling) or through k's pusher. A connection without a pusher gets
// nothing: it neither enabled tracking nor subscribed. k.ps is set under
// the pub/sub lock by k's goroutine, so it is read under it. Under mu.
func (t *tracking) pushTo(k *client, b []byte, out *[]byte) {
	if out != nil {
		*out = append(*out, b...)
		return
	}
	t.ps.mu.RLock()
	st := k.ps
	t.ps.mu.RUnlock()
	if st != nil && st.out != nil {
		st.out.push(b)
	}
}

// trackAfter runs after each command of a tracking client (handle): it
// sends the invalidations held while the command ran, after its reply
// (NOLOOP drops those of the client's own writes), and ends CLIENT
// CACHING's effect unless the command was a CLIENT subcommand or was
// queued in MULTI, as networking.c's resetClient.
func (s *Server) trackAfter(c *client) {
	st := c.tr
	if st == nil {
		return
	}
	t := &s.tr
	t.mu.Lock()
	defer t.mu.Unlock()
	if st.caching && !c.multi {
		if last := c.lastCommand(); last != "client" && !strings.HasPrefix(last, "client|") {
			st.caching = false
		}
	}
	held, own := st.held, st.own
	st.held, st.own, st.busy = nil, nil, false
	for _, m := range held {
		if st.noloop && !m.null && m.tag != nil && slices.Contains(own, m.tag) {
			continue
		}
		t.deliver(st, m, &c.enc.B)
	}
}

// --- CONFIG and INFO ---

// trackingMaxKeysParam is CONFIG's tracking-table-max-keys: the most keys
// the tracking table holds (0: no limit), as Redis's (a size, 0 to
// LONG_MAX).
func trackingMaxKeysParam() configParam {
	return intParam(0, func(s *Server) int64 { return s.tr.max() }, func(s *Server, n int64) {
		s.tr.maxKeys.Store(n + 1)
		s.tr.mu.Lock()
		s.tr.limit()
		s.tr.mu.Unlock()
	})
}

// infoTrackingClients is INFO's clients line tracking_clients.
func (s *Server) infoTrackingClients() string {
	return fmt.Sprintf("tracking_clients:%d\r\n", s.tr.n.Load())
}

// infoTrackingStats is the tracking lines of INFO's stats section.
func (s *Server) infoTrackingStats() string {
	t := &s.tr
	t.mu.Lock()
	defer t.mu.Unlock()
	return fmt.Sprintf("tracking_total_keys:%d\r\ntracking_total_items:%d\r\ntracking_total_prefixes:%d\r\n",
		len(t.keys), t.items, len(t.prefixes))
}
