package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// clock is a settable time.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock                   { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }
func noTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// capture is a JSON logger at level over a buffer.
func capture(level slog.Leveler) (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: level, ReplaceAttr: noTime})), &buf
}

// lines parses the JSON lines of buf.
func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// textKeys reads the keys of one slog text line (key=value pairs, values
// possibly quoted).
func textKeys(line string) []string {
	var ks []string
	for len(line) > 0 {
		k, rest, ok := strings.Cut(line, "=")
		if !ok {
			break
		}
		ks = append(ks, strings.TrimSpace(k))
		if strings.HasPrefix(rest, `"`) {
			end := 1
			for end < len(rest) && (rest[end] != '"' || rest[end-1] == '\\') {
				end++
			}
			rest = rest[min(end+1, len(rest)):]
		} else if i := strings.IndexByte(rest, ' '); i >= 0 {
			rest = rest[i:]
		} else {
			rest = ""
		}
		line = strings.TrimSpace(rest)
	}
	slices.Sort(ks)
	return ks
}

// TestRaftSchemas: the same raft line has the same keys in text and JSON,
// with component=raft, snake-case keys and err for error.
func TestRaftSchemas(t *testing.T) {
	peer := raft.Server{ID: "node2", Address: "127.0.0.1:7002"}
	logLine := func(l hclog.Logger) {
		l.Warn("installSnapshot rejected to", "peer", peer, "backoff time", 10*time.Millisecond,
			"last-leader-id", raft.ServerID("node1"), "error", errors.New("boom"), "cmd", hclog.Fmt("%d-%s", 7, "x"))
	}
	var jb, tb bytes.Buffer
	o := &slog.HandlerOptions{ReplaceAttr: noTime}
	logLine(NewRaft(slog.New(slog.NewJSONHandler(&jb, o)), RaftOptions{}))
	logLine(NewRaft(slog.New(slog.NewTextHandler(&tb, o)), RaftOptions{}))

	js := lines(t, &jb)
	if len(js) != 1 {
		t.Fatalf("JSON: %d lines, want 1: %s", len(js), jb.String())
	}
	want := []string{"backoff_time", "cmd", "component", "err", "last_leader_id", "level", "msg", "peer"}
	if got := keys(js[0]); !slices.Equal(got, want) {
		t.Errorf("JSON keys %v, want %v", got, want)
	}
	for k, v := range map[string]any{"component": "raft", "level": "WARN", "peer": "node2@127.0.0.1:7002", "err": "boom",
		"cmd": "7-x", "last_leader_id": "node1", "msg": "installSnapshot rejected to", "backoff_time": "10ms"} {
		if js[0][k] != v {
			t.Errorf("JSON %s = %v, want %v", k, js[0][k], v)
		}
	}
	text := strings.TrimSpace(tb.String())
	if strings.Count(text, "\n") != 0 {
		t.Fatalf("text: want one line: %s", text)
	}
	if got := textKeys(text); !slices.Equal(got, want) {
		t.Errorf("text keys %v, want %v (%s)", got, want, text)
	}
	if !strings.Contains(text, "component=raft") || !strings.Contains(text, "level=WARN") || strings.Contains(text, "[WARN]") {
		t.Errorf("text line %q", text)
	}
}

// TestRaftFollowsLevelVar: raft's INFO lines are DEBUG (hidden at info),
// and a change of the process's LevelVar reaches the adapter.
func TestRaftFollowsLevelVar(t *testing.T) {
	var lv slog.LevelVar
	l, buf := capture(&lv)
	r := NewRaft(l, RaftOptions{})
	r.Info("entering follower state", "follower", "x")
	r.Debug("a debug line")
	if buf.Len() != 0 || r.IsInfo() || r.IsDebug() || !r.IsWarn() {
		t.Fatalf("at info: logged %q; IsInfo %v IsDebug %v IsWarn %v", buf.String(), r.IsInfo(), r.IsDebug(), r.IsWarn())
	}
	if r.GetLevel() != hclog.Warn {
		t.Errorf("GetLevel at info = %v, want warn", r.GetLevel())
	}
	lv.Set(slog.LevelDebug)
	r.Info("entering follower state", "follower", "x")
	got := lines(t, buf)
	if len(got) != 1 || got[0]["level"] != "DEBUG" || got[0]["component"] != "raft" {
		t.Fatalf("at debug: %v", got)
	}
	if !r.IsInfo() || r.GetLevel() != hclog.Debug {
		t.Errorf("at debug: IsInfo %v GetLevel %v", r.IsInfo(), r.GetLevel())
	}
	lv.Set(slog.LevelError)
	buf.Reset()
	r.Warn("failed to contact quorum of nodes, stepping down")
	if buf.Len() != 0 {
		t.Errorf("at error, a WARN was logged: %s", buf.String())
	}
	// With and Named keep the level and add their arguments.
	lv.Set(slog.LevelInfo)
	r.With("snapshot-id", "1-2-3").Named("snap").Warn("failed to reap snapshot")
	got = lines(t, buf)
	if len(got) != 1 || got[0]["snapshot_id"] != "1-2-3" || got[0]["component"] != "raft.snap" {
		t.Errorf("With/Named: %v", got)
	}
}

// TestRaftRelevel: a node's first election (before it has served) is
// INFO; an election after it has served is WARN. Vote refusals, a
// follower catching up (a snapshot sent for entries compacted away too)
// and a response to a peer that hung up are INFO; the transport's
// shutdown is DEBUG.
func TestRaftRelevel(t *testing.T) {
	var settled atomic.Bool
	l, buf := capture(slog.LevelInfo)
	r := NewRaft(l, RaftOptions{Settled: settled.Load})
	r.Warn("heartbeat timeout reached, starting election", "last-leader-addr", "", "last-leader-id", "")
	r.Warn("Election timeout reached, restarting election")
	r.Warn("rejecting pre-vote request since we have a leader", "from", "x", "leader", "y")
	settled.Store(true)
	r.Warn("heartbeat timeout reached, starting election", "last-leader-addr", "a", "last-leader-id", "b")
	// A follower catching up: INFO whenever.
	r.Warn("appendEntries rejected, sending older logs", "peer", raft.Server{ID: "n2"}, "next", 1)
	r.Warn("failed to get previous log", "previous-index", 5, "last-index", 0, "error", raft.ErrLogNotFound)
	r.Error("peer has newer term, stopping replication", "peer", raft.Server{ID: "n3"})
	r.Error("failed to get log", "index", 1, "error", raft.ErrLogNotFound) // then a snapshot
	r.Error("failed to flush response", "error", errors.New("write tcp 127.0.0.1:1->127.0.0.1:2: write: broken pipe"))
	// The transport closing as the node stops: DEBUG, not shown.
	r.Error("failed to decode incoming command", "error", raft.ErrTransportShutdown)
	r.Error("failed to decode incoming command", "error", errors.New("unexpected EOF"))
	var levels []string
	for _, m := range lines(t, buf) {
		levels = append(levels, m["level"].(string))
	}
	if want := []string{"INFO", "INFO", "INFO", "WARN", "INFO", "INFO", "INFO", "INFO", "INFO", "ERROR"}; !slices.Equal(levels, want) {
		t.Errorf("levels %v, want %v\n%s", levels, want, buf.String())
	}
}

// TestRaftPeerRateLimit: a down peer's failures, as raft logs them every
// heartbeat, give one WARN, then one summary per interval with the
// count, and one INFO when it answers again. Lines that name the peer by
// address count for the same peer as those that name it by id.
func TestRaftPeerRateLimit(t *testing.T) {
	c := newClock()
	var settled atomic.Bool
	settled.Store(true)
	l, buf := capture(slog.LevelInfo)
	r := NewRaft(l, RaftOptions{Settled: settled.Load, Interval: 30 * time.Second, Now: c.now})
	peer := raft.Server{Suffrage: raft.Voter, ID: "node2", Address: "127.0.0.1:7002"}
	dial := errors.New("dial tcp 127.0.0.1:7002: connect: connection refused")
	// 70 s of what raft logs for a down follower: per 9 s, 26 failed
	// appendEntries/heartbeats and 2 "failed to contact".
	for step := 0; step < 70; step++ {
		if step%9 == 0 {
			for range 13 {
				r.Error("failed to appendEntries to", "peer", peer, "error", dial)
				r.Error("failed to heartbeat to", "peer", peer.Address, "backoff time", time.Second, "error", dial)
			}
			r.Warn("failed to contact", "server-id", peer.ID, "time", 2*time.Second)
			r.Warn("failed to contact", "server-id", peer.ID, "time", 3*time.Second)
		}
		c.advance(time.Second)
	}
	// Another peer, failing once, is counted on its own.
	r.Error("failed to make requestVote RPC", "target", raft.Server{ID: "node3", Address: "127.0.0.1:7003"}, "error", dial, "term", 4)
	r.PeerRecovered("node2")
	r.PeerRecovered("node2") // told twice: logged once

	got := lines(t, buf)
	type line struct {
		level, msg, peer string
		failures         float64
	}
	var ls []line
	for _, m := range got {
		f, _ := m["failures"].(float64)
		p, _ := m["peer"].(string)
		ls = append(ls, line{m["level"].(string), m["msg"].(string), p, f})
		if m["component"] != "raft" {
			t.Errorf("line without component=raft: %v", m)
		}
	}
	// Bursts at 0, 9, ..., 63 s: 8 of 28 failures. The first failure gives
	// the first line; the burst at 36 s is the first 30 s after it, and its
	// first failure gives a summary of the 27+3*28+1 since; by 63 s, 30 s
	// have not passed again. Recovery counts all 8*28.
	want := []line{
		{"WARN", "raft peer unreachable", "node2", 0},
		{"WARN", "raft peer still unreachable", "node2", 27 + 3*28 + 1},
		{"WARN", "raft peer unreachable", "node3", 0},
		{"INFO", "raft peer reachable again", "node2", 8 * 28},
	}
	if !slices.Equal(ls, want) {
		t.Errorf("lines:\n%v\nwant\n%v\n%s", ls, want, buf.String())
	}
	if first := got[0]; first["cause"] != "failed to appendEntries to" || !strings.Contains(first["err"].(string), "connection refused") {
		t.Errorf("first line %v", first)
	}

	// Quiet for longer than the interval, the peer fails again: a new
	// episode, a new first line.
	buf.Reset()
	r.Error("failed to appendEntries to", "peer", peer, "error", dial)
	c.advance(31 * time.Second)
	r.Error("failed to appendEntries to", "peer", peer, "error", dial)
	if got := lines(t, buf); len(got) != 2 || got[1]["msg"] != "raft peer unreachable" {
		t.Errorf("after a quiet interval: %v", got)
	}
}

// TestRaftPeerBeforeSettled: before the node has served (a cluster
// starting, its peers not yet up), the first failure of a peer is INFO;
// raft's "pipelining replication" to it ends the episode.
func TestRaftPeerBeforeSettled(t *testing.T) {
	c := newClock()
	l, buf := capture(slog.LevelInfo)
	r := NewRaft(l, RaftOptions{Now: c.now})
	peer := raft.Server{ID: "node2", Address: "127.0.0.1:7002"}
	r.Error("failed to appendEntries to", "peer", peer, "error", errors.New("refused"))
	c.advance(2 * time.Second)
	r.Info("pipelining replication", "peer", peer)
	got := lines(t, buf)
	if len(got) != 2 || got[0]["level"] != "INFO" || got[0]["msg"] != "raft peer unreachable" ||
		got[1]["msg"] != "raft peer reachable again" || got[1]["down_for"] != "2s" {
		t.Errorf("lines: %v", got)
	}
}

// A heartbeat failure that names the peer by address only, before any
// failure line names it by id, counts for the same peer once its address
// is known: from Learn (the store passes raft's PeerObservation, sent as
// replication to the peer starts) or from any earlier line that names it
// by raft.Server ("appendEntries rejected, sending older logs" for a new
// member). One unreachable line, one recovery line.
func TestRaftPeerLearntBeforeItFails(t *testing.T) {
	for _, how := range []string{"Learn", "a line"} {
		c := newClock()
		l, buf := capture(slog.LevelInfo)
		r := NewRaft(l, RaftOptions{Settled: func() bool { return true }, Now: c.now})
		peer := raft.Server{Suffrage: raft.Voter, ID: "node2", Address: "127.0.0.1:7002"}
		if how == "Learn" {
			r.Learn(peer)
		} else {
			r.Warn("appendEntries rejected, sending older logs", "peer", peer, "next", uint64(1))
		}
		r.Error("failed to heartbeat to", "peer", peer.Address, "backoff time", 10*time.Millisecond, "error", errors.New("EOF"))
		r.Error("failed to appendEntries to", "peer", peer, "error", errors.New("EOF"))
		c.advance(2 * time.Second)
		r.PeerRecovered("node2")
		var msgs []string
		for _, m := range lines(t, buf) {
			if m["peer"] == "node2" || m["peer"] == string(peer.Address) {
				msgs = append(msgs, fmt.Sprint(m["msg"], " ", m["peer"]))
			}
		}
		if want := []string{"raft peer unreachable node2", "raft peer reachable again node2"}; !slices.Equal(msgs, want) {
			t.Errorf("%s: lines %q, want %q", how, msgs, want)
		}
	}
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "array"
	}
	return "object"
}

// TestRaftOneTypePerKey: raft's real lines, whose keys change Go type
// from line to line ("from" is a log index in "compacting logs" and a
// server id in "asking for vote"; "id" and "address" are nil pointers in
// "starting leadership transfer" without a target), give each JSON key
// one type, no nulls, and durations as Go duration strings, raft's and
// the adapter's own (down_for).
func TestRaftOneTypePerKey(t *testing.T) {
	c := newClock()
	l, buf := capture(slog.LevelDebug)
	r := NewRaft(l, RaftOptions{Now: c.now, Settled: func() bool { return true }})
	id, addr := raft.ServerID("n2"), raft.ServerAddress("127.0.0.1:7002")
	peer := raft.Server{Suffrage: raft.Voter, ID: id, Address: addr}
	dial := errors.New("dial tcp 127.0.0.1:7002: connect: connection refused")
	// As raft.go, snapshot.go and replication.go (v1.7.3) log them.
	r.Info("compacting logs", "from", uint64(5), "to", uint64(100))
	r.Debug("asking for vote", "term", uint64(3), "from", id, "address", addr)
	r.Debug("starting leadership transfer", "id", (*raft.ServerID)(nil), "address", (*raft.ServerAddress)(nil))
	r.Debug("starting leadership transfer", "id", &id, "address", &addr)
	r.Debug("voting for self", "term", uint64(3), "id", raft.ServerID("n1"))
	r.Info("opening snapshot", "id", "2-17-1700000000000")
	r.Info("installing snapshot on", "peer", id, "id", "2-17-1700000000000", "size", int64(4096))
	r.Warn("clearing log suffix", "from", uint64(7), "to", uint64(9))
	r.Warn("rejecting vote request since we have a leader", "from", addr, "leader", addr, "leader-id", "n1")
	r.Info("pre-vote successful, starting election", "term", uint64(4), "tally", 2, "refused", 0, "votesNeeded", 2)
	r.Warn("failed to get previous log", "previous-index", uint64(5), "last-index", uint64(0), "error", raft.ErrLogNotFound)
	r.Warn("snapshot version not supported", "name", "2-17-1700000000000", "version", raft.SnapshotVersion(2))
	r.Warn("failed to contact", "server-id", id, "time", 1500*time.Millisecond)
	r.Debug("failed to contact", "server-id", id, "time", 2500*time.Millisecond)
	r.Error("failed to appendEntries to", "peer", peer, "error", dial)
	c.advance(40 * time.Second)
	r.Error("failed to heartbeat to", "peer", addr, "backoff time", 10*time.Millisecond, "error", dial)
	c.advance(time.Second)
	r.Error("failed to heartbeat to", "peer", addr, "backoff time", 20*time.Millisecond, "error", nil)
	r.PeerRecovered("n2")

	got := lines(t, buf)
	types := map[string]map[string]bool{} // key -> JSON types
	for _, m := range got {
		for k, v := range m {
			if types[k] == nil {
				types[k] = map[string]bool{}
			}
			types[k][jsonType(v)] = true
		}
	}
	for k, ts := range types {
		if len(ts) != 1 || ts["null"] {
			t.Errorf("key %q has JSON types %v", k, ts)
		}
	}
	for _, k := range []string{"from", "id", "address", "since_contact", "down_for"} {
		if !types[k]["string"] {
			t.Errorf("key %q: want strings, got %v", k, types[k])
		}
	}
	for _, k := range []string{"term", "to", "size", "tally", "votes_needed", "previous_index", "last_index", "failures"} {
		if !types[k]["number"] {
			t.Errorf("key %q: want numbers, got %v", k, types[k])
		}
	}
	for _, m := range got {
		for _, k := range []string{"since_contact", "down_for"} {
			if s, ok := m[k].(string); ok {
				if _, err := time.ParseDuration(s); err != nil {
					t.Errorf("%s %q is not a Go duration: %v", k, s, err)
				}
			}
		}
		if m["msg"] == "compacting logs" && m["from"] != "5" {
			t.Errorf("compacting logs: from = %v, want \"5\"", m["from"])
		}
		if m["msg"] == "starting leadership transfer" && m["id"] == nil && m["address"] == nil {
			if _, ok := m["id"]; ok {
				t.Errorf("nil id kept: %v", m)
			}
		}
	}
	if !strings.Contains(buf.String(), `"id":"n2","address":"127.0.0.1:7002"`) {
		t.Errorf("pointers to an id and an address are not their strings:\n%s", buf.String())
	}
	if strings.Contains(buf.String(), `"time":"1.5s"`) || !strings.Contains(buf.String(), `"since_contact":"1.5s"`) {
		t.Errorf("raft's time since contact must be since_contact, not the line's time:\n%s", buf.String())
	}
}

// TestReplaceAttr: with ReplaceAttr, walkerd's own durations are Go
// duration strings in JSON, as in text, in groups too.
func TestReplaceAttr(t *testing.T) {
	var jb, tb bytes.Buffer
	o := &slog.HandlerOptions{ReplaceAttr: func(g []string, a slog.Attr) slog.Attr { return ReplaceAttr(g, noTime(g, a)) }}
	for _, h := range []slog.Handler{slog.NewJSONHandler(&jb, o), slog.NewTextHandler(&tb, o)} {
		slog.New(h).Info("ready to serve", "after", 1007*time.Millisecond, "n", 3,
			slog.Group("g", slog.Duration("d", 250*time.Millisecond)))
	}
	if want := `{"level":"INFO","msg":"ready to serve","after":"1.007s","n":3,"g":{"d":"250ms"}}`; strings.TrimSpace(jb.String()) != want {
		t.Errorf("JSON %s, want %s", jb.String(), want)
	}
	if want := `level=INFO msg="ready to serve" after=1.007s n=3 g.d=250ms`; strings.TrimSpace(tb.String()) != want {
		t.Errorf("text %s, want %s", tb.String(), want)
	}
}

// TestRaftLeaseMissIsNotADownPeer: raft's "failed to contact" is the
// leader's lease check (raft.go checkLeaderLease): a follower not heard
// from within the lease, which a loaded machine causes too, and raft logs
// nothing when contact resumes. Alone it is one INFO line per peer per
// interval with raft's time since contact and the count of misses, never
// a "raft peer unreachable" that nothing would clear.
func TestRaftLeaseMissIsNotADownPeer(t *testing.T) {
	c := newClock()
	l, buf := capture(slog.LevelInfo)
	r := NewRaft(l, RaftOptions{Now: c.now, Settled: func() bool { return true }, Interval: 30 * time.Second})
	for i := range 5 { // every 2 s, as a loaded machine might
		r.Warn("failed to contact", "server-id", raft.ServerID("n2"), "time", time.Duration(300+i)*time.Millisecond)
		c.advance(2 * time.Second)
	}
	c.advance(30 * time.Second)
	r.Warn("failed to contact", "server-id", raft.ServerID("n2"), "time", 400*time.Millisecond)
	got := lines(t, buf)
	if len(got) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(got), buf.String())
	}
	for i, want := range []struct {
		since  string
		misses float64
	}{{"300ms", 1}, {"400ms", 5}} {
		m := got[i]
		if m["level"] != "INFO" || m["peer"] != "n2" || m["component"] != "raft" || m["cause"] != "failed to contact" ||
			m["since_contact"] != want.since || m["misses"] != want.misses {
			t.Errorf("line %d: %v; want INFO, peer n2, since_contact %s, misses %v", i, m, want.since, want.misses)
		}
		if strings.Contains(m["msg"].(string), "unreachable") {
			t.Errorf("line %d calls the peer unreachable: %v", i, m)
		}
	}

	// A real failure still starts an episode, cleared when the peer
	// answers; lease misses meanwhile count among its failures and log
	// nothing of their own.
	buf.Reset()
	dial := errors.New("connection refused")
	r.Error("failed to heartbeat to", "peer", raft.ServerAddress("n2"), "backoff time", 10*time.Millisecond, "error", dial)
	r.Warn("failed to contact", "server-id", raft.ServerID("n2"), "time", time.Second)
	c.advance(time.Second)
	r.PeerRecovered("n2")
	got = lines(t, buf)
	if len(got) != 2 || got[0]["msg"] != "raft peer unreachable" || got[0]["level"] != "WARN" ||
		got[1]["msg"] != "raft peer reachable again" || got[1]["failures"] != float64(2) || got[1]["down_for"] != "1s" {
		t.Errorf("a real failure:\n%s", buf.String())
	}
}

// TestRaftVoteClearsPeer: a peer that failed a vote request and then
// grants a vote answers again: its episode ends with the recovery line.
func TestRaftVoteClearsPeer(t *testing.T) {
	c := newClock()
	l, buf := capture(slog.LevelInfo)
	r := NewRaft(l, RaftOptions{Now: c.now})
	r.Error("failed to make requestVote RPC", "target", raft.Server{ID: "n3", Address: "127.0.0.1:7003"},
		"error", errors.New("i/o timeout"), "term", uint64(4))
	c.advance(time.Second)
	r.Debug("vote granted", "from", raft.ServerID("n3"), "term", uint64(5), "tally", 2)
	got := lines(t, buf)
	if len(got) != 2 || got[0]["msg"] != "raft peer unreachable" || got[1]["msg"] != "raft peer reachable again" || got[1]["peer"] != "n3" {
		t.Errorf("lines:\n%s", buf.String())
	}
}
