// Package logging is walkerd's one log format. walkerd logs with log/slog
// (text or JSON, --log-format); hashicorp/raft logs through
// hashicorp/go-hclog. Raft turns raft's hclog calls into slog records on
// the process's logger, so that every line of a node's stderr has the same
// keys in both formats, each raft line carrying component=raft.
//
// On the way it re-levels and rate-limits raft's noise:
//
//   - raft's INFO lines are logged at DEBUG, one level down: they are many,
//     and walkerd's own lines say what matters (leader ready, joined, ...).
//     --log-level debug shows them.
//   - election lines ("heartbeat timeout reached, starting election", ...)
//     are INFO until the node has served once since it started
//     (RaftOptions.Settled): a fresh or restarted node elects a leader as a
//     matter of course; later, an election means a leader was lost, a WARN.
//   - a follower catching up ("appendEntries rejected, sending older
//     logs", "failed to get previous log") and vote refusals are INFO: a
//     new member or a restarted node causes them as a matter of course.
//     So is "peer has newer term, stopping replication": the leader steps
//     down, as it does whenever leadership moves (every rolling restart
//     hands it over); so is the leader's "failed to get log" for an entry
//     compacted away, which it sends a snapshot for instead, and the
//     transport's "failed to flush response" to a peer that hung up (it
//     gave up waiting on this node, paused and running again).
//     The transport's "failed to decode incoming command" as the node
//     stops is DEBUG.
//   - a peer that cannot be reached makes raft log several ERROR lines per
//     heartbeat ("failed to appendEntries to", "failed to heartbeat to",
//     "failed to make requestVote RPC", ...). Raft logs the first failure
//     of a peer at WARN (INFO before the node has settled), then at most
//     one summary line per peer per RaftOptions.Interval with the count of
//     failures since the last line, and one INFO line when the peer
//     answers again: PeerRecovered (raft's ResumedHeartbeatObservation),
//     raft's "pipelining replication" to it, or its vote or pre-vote
//     granted.
//   - "failed to contact" is the leader's lease check (raft.go,
//     checkLeaderLease): a voter not heard from within
//     LeaderLeaseTimeout. A loaded machine causes it as well as a down
//     peer, and raft logs nothing when contact resumes, so alone it is not
//     a down peer: it is one INFO line "raft peer not heard from within
//     the leader lease" per peer per Interval, with raft's time since the
//     last contact (since_contact) and the count of such misses since the
//     last line (misses). While the peer is already down it counts among
//     its failures instead.
//
// # One type per key
//
// In JSON each key has one type on every line, walkerd's and raft's:
//
//   - durations are Go duration strings ("1.007s", "250ms"), as text mode
//     shows them; never integer nanoseconds. walkerd's logger gets this
//     from ReplaceAttr; raft's values are converted here, rounded to the
//     millisecond from 1 ms up.
//   - raft's attributes are strings (ids, addresses, errors, durations,
//     and numbers under any other key: "compacting logs" from=5 is "5", as
//     "asking for vote" from is a server id), except the terms, log
//     indexes, counts and sizes listed in numberKeys, which are numbers
//     (as walkerd's own term and index). A nil value (a nil pointer or
//     error: "starting leadership transfer" without a target) is left
//     out, never null.
//   - raft's keys are snake case; "error" is err, and raft's "time" (only
//     "failed to contact": time since the peer's last contact) is
//     since_contact, since "time" is the line's timestamp. A raft key that
//     is another of the line's own keys (level, msg, source, component)
//     gets a raft_ prefix.
package logging

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// LevelTrace is the slog level of raft's TRACE lines, below DEBUG.
const LevelTrace = slog.LevelDebug - 4

// RaftOptions configure NewRaft. The zero value is usable.
type RaftOptions struct {
	// Component is the value of every line's "component" attribute. Zero:
	// "raft".
	Component string
	// Settled reports whether the node has served since it started (see
	// store.Store.Ready). Until it does, election lines and first peer
	// failures are INFO. nil: never settled.
	Settled func() bool
	// Interval is the least time between two lines about one unreachable
	// peer. Zero: 30 s.
	Interval time.Duration
	// Now is the clock. Zero: time.Now.
	Now func() time.Time
}

// Raft is an hclog.Logger that writes to a *slog.Logger. Its level is the
// slog logger's (a *slog.LevelVar set by --log-level and CONFIG SET
// loglevel): SetLevel does nothing. It is safe for concurrent use.
type Raft struct {
	sh      *raftShared
	name    string // the component
	implied []any  // With's arguments
}

type raftShared struct {
	l        *slog.Logger
	settled  func() bool
	interval time.Duration
	now      func() time.Time

	mu    sync.Mutex
	peers map[string]*peerState // by peer id
	late  map[string]*lateState // lease misses of peers not down, by id
	ids   map[string]string     // raft address -> id, learnt from raft.Server values
}

// lateState is the lease misses of one peer that is not down.
type lateState struct {
	lastLine time.Time // the last line logged about it
	misses   int       // misses since lastLine
}

// peerState is one unreachable peer.
type peerState struct {
	since      time.Time // first failure
	last       time.Time // last failure
	lastLine   time.Time // the last line logged about it
	total      int       // failures since since
	suppressed int       // failures since lastLine
}

// NewRaft returns the hclog.Logger to give raft (raft.Config.Logger, the
// transport and the snapshot store) so that its lines reach l.
func NewRaft(l *slog.Logger, o RaftOptions) *Raft {
	sh := &raftShared{l: l, settled: o.Settled, interval: o.Interval, now: o.Now,
		peers: map[string]*peerState{}, late: map[string]*lateState{}, ids: map[string]string{}}
	if sh.settled == nil {
		sh.settled = func() bool { return false }
	}
	if sh.interval <= 0 {
		sh.interval = 30 * time.Second
	}
	if sh.now == nil {
		sh.now = time.Now
	}
	name := o.Component
	if name == "" {
		name = "raft"
	}
	return &Raft{sh: sh, name: name}
}

// electionLines are raft's lines about starting an election (raft.go,
// runFollower and runCandidate), WARN in raft.
var electionLines = map[string]bool{
	"heartbeat timeout reached, starting election":        true,
	"Election timeout reached, restarting election":       true,
	"no known peers, aborting election":                   true,
	"not part of stable configuration, aborting election": true,
	"heartbeat timeout reached, not part of a stable configuration or a non-voter, not triggering a leader election": true,
}

// logCatchUp are raft's lines about a follower whose log lacks entries
// the leader sends, WARN in raft: a new member or a restarted node
// catching up, as a matter of course.
var logCatchUp = map[string]bool{
	"appendEntries rejected, sending older logs": true, // the leader's side
	"failed to get previous log":                 true, // the follower's
	"previous log term mis-match":                true,
}

// catchUp reports whether a raft line is about a follower catching up:
// logCatchUp's, or the leader's "failed to get log" for an entry its log
// no longer holds, ERROR in raft, after which it sends a snapshot instead
// (replication.go, setupAppendEntries): every member that joins or comes
// back after a compaction causes it.
func catchUp(msg string, args []any) bool {
	return logCatchUp[msg] || msg == "failed to get log" && errOf(args) == raft.ErrLogNotFound.Error()
}

// peerKeys are the attributes by which raft names the peer of a line.
var peerKeys = []string{"peer", "server-id", "target"}

// Log implements hclog.Logger.
func (r *Raft) Log(level hclog.Level, msg string, args ...any) {
	r.learn(args)
	switch level {
	case hclog.Trace:
		r.log(LevelTrace, msg, args)
	case hclog.Debug, hclog.NoLevel:
		r.answered(msg, args)
		r.log(slog.LevelDebug, msg, args)
	case hclog.Info:
		r.info(msg, args)
	case hclog.Warn:
		r.problem(slog.LevelWarn, msg, args)
	default: // Error, Off
		r.problem(slog.LevelError, msg, args)
	}
}

// answerLines are raft's INFO and DEBUG lines that show that a peer
// answers, by the key that names it: replication to it works again
// (replication.go), or it granted a vote (raft.go, runCandidate; a vote
// that failed to reach it is never granted).
var answerLines = map[string]string{
	"pipelining replication": "peer",
	"vote granted":           "from",
	"pre-vote granted":       "from",
}

func (r *Raft) info(msg string, args []any) {
	r.answered(msg, args)
	r.log(slog.LevelDebug, msg, args)
}

// answered ends the episode of the peer a line shows to answer.
func (r *Raft) answered(msg string, args []any) {
	key, ok := answerLines[msg]
	if !ok {
		return
	}
	for i := 0; i+1 < len(args); i += 2 {
		if k, _ := args[i].(string); k == key {
			r.PeerRecovered(r.peerID(args[i+1]))
			return
		}
	}
}

// problem logs a raft WARN or ERROR line: election lines are INFO until
// the node has settled; vote refusals and a follower's log catching up are
// INFO (a new or restarted peer causes them as a matter of course); a
// closed transport while the node stops is DEBUG; failures to reach a
// peer are rate-limited.
func (r *Raft) problem(level slog.Level, msg string, args []any) {
	switch {
	case electionLines[msg]:
		if !r.sh.settled() {
			level = slog.LevelInfo
		}
	case strings.HasPrefix(msg, "rejecting vote request") || strings.HasPrefix(msg, "rejecting pre-vote request"),
		catchUp(msg, args), msg == "peer has newer term, stopping replication":
		level = slog.LevelInfo
	case msg == "failed to flush response":
		// The transport's answer to an RPC whose sender had hung up
		// (net_transport.go, handleConn): it gave up waiting, as a leader
		// does on a node that was paused and runs again.
		level = slog.LevelInfo
	case msg == "failed to decode incoming command" && errOf(args) == raft.ErrTransportShutdown.Error():
		level = slog.LevelDebug // this node is stopping
	case msg == "failed to contact":
		if id, ok := r.peerOf(args); ok {
			r.peerFailed(id, msg, args, true)
			return
		}
	case strings.HasPrefix(msg, "failed to"):
		if id, ok := r.peerOf(args); ok {
			r.peerFailed(id, msg, args, false)
			return
		}
	}
	r.log(level, msg, args)
}

// peerFailed counts a failure to reach peer id, and logs the first one of
// an episode, then a summary at most every interval. A failure more than
// an interval after the last one starts a new episode. A lease miss
// (leaseMiss: raft's "failed to contact") counts only in an episode; out
// of one it is leaseMissed's line.
func (r *Raft) peerFailed(id, msg string, args []any, leaseMiss bool) {
	sh := r.sh
	now := sh.now()
	errText := errOf(args)
	sh.mu.Lock()
	p := sh.peers[id]
	if leaseMiss && (p == nil || now.Sub(p.last) > sh.interval) {
		r.leaseMissed(id, now, args) // unlocks
		return
	}
	if p == nil || now.Sub(p.last) > sh.interval {
		sh.peers[id] = &peerState{since: now, last: now, lastLine: now, total: 1}
		sh.mu.Unlock()
		level := slog.LevelWarn
		if !sh.settled() {
			level = slog.LevelInfo
		}
		r.emit(level, "raft peer unreachable", slog.String("peer", id), slog.String("cause", msg), slog.String("err", errText))
		return
	}
	p.last = now
	p.total++
	p.suppressed++
	if now.Sub(p.lastLine) < sh.interval {
		sh.mu.Unlock()
		return
	}
	n, downFor := p.suppressed, now.Sub(p.since)
	p.suppressed, p.lastLine = 0, now
	sh.mu.Unlock()
	r.emit(slog.LevelWarn, "raft peer still unreachable", slog.String("peer", id), slog.Int("failures", n),
		slog.String("down_for", durationString(downFor)), slog.String("cause", msg), slog.String("err", errText))
}

// leaseMissed logs a lease miss of peer id, which is not down: the first,
// then at most one line per interval with the count since the last line.
// It is called with sh.mu held and unlocks it.
func (r *Raft) leaseMissed(id string, now time.Time, args []any) {
	sh := r.sh
	l := sh.late[id]
	if l != nil && now.Sub(l.lastLine) < sh.interval {
		l.misses++
		sh.mu.Unlock()
		return
	}
	n := 1
	if l != nil {
		n += l.misses
	}
	sh.late[id] = &lateState{lastLine: now}
	sh.mu.Unlock()
	attrs := []slog.Attr{slog.String("peer", id), slog.Int("misses", n), slog.String("cause", "failed to contact")}
	for i := 0; i+1 < len(args); i += 2 {
		if k, _ := args[i].(string); k == "time" {
			if v, ok := raftValue(args[i+1]); ok {
				attrs = append(attrs, slog.String("since_contact", fmt.Sprint(v)))
			}
		}
	}
	r.emit(slog.LevelInfo, "raft peer not heard from within the leader lease", attrs...)
}

// PeerRecovered tells that peer id answers again (raft's
// ResumedHeartbeatObservation): if it was unreachable, one INFO line says
// so.
func (r *Raft) PeerRecovered(id string) {
	sh := r.sh
	sh.mu.Lock()
	p := sh.peers[id]
	delete(sh.peers, id)
	sh.mu.Unlock()
	if p == nil {
		return
	}
	r.emit(slog.LevelInfo, "raft peer reachable again", slog.String("peer", id), slog.Int("failures", p.total),
		slog.String("down_for", durationString(sh.now().Sub(p.since))))
}

// learn records the address of every raft.Server a line names, so that
// a later line that names the peer by address only ("failed to heartbeat
// to") counts as the same peer as one that names it by id ("failed to
// appendEntries to"). Raft names a peer by raft.Server in, among others,
// "pipelining replication" and "appendEntries rejected, sending older
// logs", the first line about a new member.
func (r *Raft) learn(args []any) {
	for i := 1; i < len(args); i += 2 {
		switch v := args[i].(type) {
		case raft.Server:
			r.peerID(v)
		case *raft.Server:
			r.peerID(*v)
		}
	}
}

// Learn records a peer's address, so that lines naming it by address
// count as lines about its id (store: raft's PeerObservation, sent as the
// leader starts replicating to it, before any line about it).
func (r *Raft) Learn(srv raft.Server) { r.peerID(srv) }

// peerOf finds the peer a line is about, by its id.
func (r *Raft) peerOf(args []any) (string, bool) {
	for i := 0; i+1 < len(args); i += 2 {
		k, _ := args[i].(string)
		for _, pk := range peerKeys {
			if k == pk {
				return r.peerID(args[i+1]), true
			}
		}
	}
	return "", false
}

// peerID names a peer by its raft id: raft names it by raft.Server, by
// id, or by address, depending on the line.
func (r *Raft) peerID(v any) string {
	sh := r.sh
	switch v := v.(type) {
	case raft.Server:
		sh.mu.Lock()
		sh.ids[string(v.Address)] = string(v.ID)
		sh.mu.Unlock()
		return string(v.ID)
	case *raft.Server:
		return r.peerID(*v)
	case raft.ServerID:
		return string(v)
	case raft.ServerAddress:
		sh.mu.Lock()
		id, ok := sh.ids[string(v)]
		sh.mu.Unlock()
		if ok {
			return id
		}
		return string(v)
	}
	return fmt.Sprint(v)
}

func errOf(args []any) string {
	for i := 0; i+1 < len(args); i += 2 {
		if k, _ := args[i].(string); k == "error" || k == "err" {
			if v, ok := raftValue(args[i+1]); ok {
				return fmt.Sprint(v)
			}
			return ""
		}
	}
	return ""
}

// log writes one raft line at level with its arguments.
func (r *Raft) log(level slog.Level, msg string, args []any) {
	if !r.sh.l.Enabled(context.Background(), level) {
		return
	}
	attrs := make([]slog.Attr, 0, 1+(len(r.implied)+len(args))/2)
	attrs = appendArgs(attrs, r.implied)
	attrs = appendArgs(attrs, args)
	r.emit(level, msg, attrs...)
}

func (r *Raft) emit(level slog.Level, msg string, attrs ...slog.Attr) {
	ctx := context.Background()
	if !r.sh.l.Enabled(ctx, level) {
		return
	}
	r.sh.l.LogAttrs(ctx, level, msg, append([]slog.Attr{slog.String("component", r.name)}, attrs...)...)
}

// appendArgs turns hclog's key-value arguments into attributes, one type
// per key (see the package doc): keys in snake case ("backoff time",
// "server-id" and "votesNeeded" become backoff_time, server_id and
// votes_needed; "error" becomes err as in walkerd's own lines), values
// strings or, under numberKeys, numbers; nil values are left out.
func appendArgs(attrs []slog.Attr, args []any) []slog.Attr {
	for i := 0; i < len(args); i += 2 {
		var k string
		var v any
		if i+1 < len(args) {
			k, _ = args[i].(string)
			v = args[i+1]
		} else {
			k, v = "EXTRA_VALUE_AT_END", args[i] // as hclog names it
		}
		if k == "" {
			k = fmt.Sprint(args[i])
		}
		k = attrKey(k)
		v, ok := raftValue(v)
		if !ok {
			continue
		}
		if numberKeys[k] {
			if n, ok := number(v); ok {
				attrs = append(attrs, slog.Any(k, n))
				continue
			}
		}
		attrs = append(attrs, slog.String(k, fmt.Sprint(v)))
	}
	return attrs
}

// numberKeys are raft's keys (as attrKey writes them) whose values are
// terms, log indexes, vote tallies, counts and sizes in bytes: JSON
// numbers, as walkerd's own term and index. Every other raft attribute is
// a string.
var numberKeys = map[string]bool{
	"term": true, "last_term": true, "request_term": true, "current_term": true, "last_candidate_term": true,
	"ours": true, "remote": true, // "previous log term mis-match": terms
	"index": true, "last_index": true, "previous_index": true, "last_candidate_index": true, "next": true, "to": true,
	"tally": true, "refused": true, "votes_needed": true, "needed": true, "applies": true,
	"size": true, "bytes": true, "read_bytes": true,
}

// renamedKeys are raft keys that walkerd's lines spell otherwise.
var renamedKeys = map[string]string{
	"error": "err",
	"time":  "since_contact", // "failed to contact": time since the peer's last contact
}

// ownKeys are the keys every line has; a raft key among them gets a raft_
// prefix.
var ownKeys = map[string]bool{
	slog.TimeKey: true, slog.LevelKey: true, slog.MessageKey: true, slog.SourceKey: true, "component": true,
}

func attrKey(k string) string {
	if n, ok := renamedKeys[k]; ok {
		return n
	}
	var b strings.Builder
	for i, r := range k {
		switch {
		case r == ' ' || r == '-':
			b.WriteByte('_')
		case r >= 'A' && r <= 'Z':
			if i > 0 {
				if p := k[i-1]; p >= 'a' && p <= 'z' || p >= '0' && p <= '9' {
					b.WriteByte('_')
				}
			}
			b.WriteRune(r + 'a' - 'A')
		default:
			b.WriteRune(r)
		}
	}
	k = b.String()
	if ownKeys[k] {
		return "raft_" + k
	}
	return k
}

// raftValue turns one of raft's values into what a line shows: a string
// for what hclog formats itself (hclog.Format, raft's ids, addresses and
// servers, errors, Stringers, durations), an integer as is, a pointer's
// target; ok is false for nil.
func raftValue(v any) (any, bool) {
	if v == nil {
		return nil, false
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
		if rv.IsNil() {
			return nil, false
		}
	}
	switch v := v.(type) {
	case hclog.Format:
		return fmt.Sprintf(v[0].(string), v[1:]...), true
	case raft.Server:
		if string(v.ID) == string(v.Address) {
			return string(v.ID), true
		}
		return string(v.ID) + "@" + string(v.Address), true
	case raft.ServerID:
		return string(v), true
	case raft.ServerAddress:
		return string(v), true
	case time.Duration:
		return durationString(v), true
	case error:
		return v.Error(), true
	case fmt.Stringer:
		return v.String(), true
	}
	if rv.Kind() == reflect.Pointer {
		return raftValue(rv.Elem().Interface())
	}
	return v, true
}

// number is v as an int64 or uint64 if it is an integer.
func number(v any) (any, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return rv.Uint(), true
	}
	return nil, false
}

// durationString is d as a Go duration string, rounded to the millisecond
// from 1 ms up.
func durationString(d time.Duration) string {
	if d >= time.Millisecond || d <= -time.Millisecond {
		d = d.Round(time.Millisecond)
	}
	return d.String()
}

// ReplaceAttr is the slog.HandlerOptions.ReplaceAttr of walkerd's logger:
// it writes durations as Go duration strings ("1.007s"), in JSON as in
// text, where slog's JSON handler writes integer nanoseconds. Other
// attributes pass unchanged.
func ReplaceAttr(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// Trace implements hclog.Logger.
func (r *Raft) Trace(msg string, args ...any) { r.Log(hclog.Trace, msg, args...) }

// Debug implements hclog.Logger.
func (r *Raft) Debug(msg string, args ...any) { r.Log(hclog.Debug, msg, args...) }

// Info implements hclog.Logger.
func (r *Raft) Info(msg string, args ...any) { r.Log(hclog.Info, msg, args...) }

// Warn implements hclog.Logger.
func (r *Raft) Warn(msg string, args ...any) { r.Log(hclog.Warn, msg, args...) }

// Error implements hclog.Logger.
func (r *Raft) Error(msg string, args ...any) { r.Log(hclog.Error, msg, args...) }

func (r *Raft) enabled(l slog.Level) bool { return r.sh.l.Enabled(context.Background(), l) }

// IsTrace implements hclog.Logger.
func (r *Raft) IsTrace() bool { return r.enabled(LevelTrace) }

// IsDebug implements hclog.Logger.
func (r *Raft) IsDebug() bool { return r.enabled(slog.LevelDebug) }

// IsInfo implements hclog.Logger: raft's INFO lines are DEBUG.
func (r *Raft) IsInfo() bool { return r.enabled(slog.LevelDebug) }

// IsWarn implements hclog.Logger.
func (r *Raft) IsWarn() bool { return r.enabled(slog.LevelWarn) }

// IsError implements hclog.Logger.
func (r *Raft) IsError() bool { return r.enabled(slog.LevelError) }

// GetLevel implements hclog.Logger: the lowest raft level that is logged.
func (r *Raft) GetLevel() hclog.Level {
	switch {
	case r.IsTrace():
		return hclog.Trace
	case r.IsDebug():
		return hclog.Debug
	case r.IsWarn():
		return hclog.Warn
	}
	return hclog.Error
}

// SetLevel implements hclog.Logger. It does nothing: the level is the slog
// logger's.
func (r *Raft) SetLevel(hclog.Level) {}

// ImpliedArgs implements hclog.Logger.
func (r *Raft) ImpliedArgs() []any { return r.implied }

// With implements hclog.Logger.
func (r *Raft) With(args ...any) hclog.Logger {
	c := *r
	c.implied = append(append([]any(nil), r.implied...), args...)
	return &c
}

// Name implements hclog.Logger: the component.
func (r *Raft) Name() string { return r.name }

// Named implements hclog.Logger: the component becomes "<component>.<name>".
func (r *Raft) Named(name string) hclog.Logger {
	c := *r
	c.name = r.name + "." + name
	return &c
}

// ResetNamed implements hclog.Logger.
func (r *Raft) ResetNamed(name string) hclog.Logger {
	c := *r
	c.name = name
	return &c
}

// StandardLogger implements hclog.Logger.
func (r *Raft) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(r.StandardWriter(opts), "", 0)
}

// StandardWriter implements hclog.Logger: each write is one line, logged
// at opts.ForceLevel (INFO if unset), as raft's INFO lines are.
func (r *Raft) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	level := hclog.Info
	if opts != nil && opts.ForceLevel != hclog.NoLevel {
		level = opts.ForceLevel
	}
	return stdWriter{r: r, level: level}
}

type stdWriter struct {
	r     *Raft
	level hclog.Level
}

func (w stdWriter) Write(p []byte) (int, error) {
	w.r.Log(w.level, strings.TrimSpace(string(p)))
	return len(p), nil
}

var _ hclog.Logger = (*Raft)(nil)
