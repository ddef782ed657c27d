package server

import (
	"errors"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// configReply normalizes a CONFIG GET reply (RESP2: a flat array of name,
// value) to sorted "name=value" pairs: Redis answers in its dict's order.
func configReply(got string) string {
	if !strings.HasPrefix(got, "[") {
		return got
	}
	parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(got, "["), "]"), ", ")
	if len(parts) < 2 {
		return got
	}
	var pairs []string
	for i := 0; i+1 < len(parts); i += 2 {
		pairs = append(pairs, parts[i]+"="+parts[i+1])
	}
	slices.Sort(pairs)
	return strings.Join(pairs, " ")
}

// keepEncodingSettings restores Redis's encoding settings, which are the
// process's (command/encoding.go), when the test ends.
func keepEncodingSettings(t *testing.T) {
	saved := map[string]string{}
	for _, n := range command.EncodingSettings() {
		saved[n], _ = command.GetEncodingSetting(n)
	}
	t.Cleanup(func() {
		for n, v := range saved {
			command.SetEncodingSetting(n, []byte(v))
		}
	})
}

// TestConfig_RepliesMatchRedis runs CONFIG SET and GET of the parameters
// Redis has against redis-server and walkerd: same replies, same errors.
func TestConfig_RepliesMatchRedis(t *testing.T) {
	keepEncodingSettings(t)
	ws := startServer(t, Config{LogLevel: new(slog.LevelVar)})
	w, r := dial(t, ws.addr), dial(t, startRedis(t))
	for _, cmd := range [][]string{
		{"CONFIG", "SET", "timeout", "abc"},
		{"CONFIG", "SET", "timeout", "-1"},
		{"CONFIG", "SET", "timeout", "3000000000"},
		{"CONFIG", "SET", "timeout", "10"},
		{"CONFIG", "GET", "timeout"},
		{"CONFIG", "SET", "maxmemory", "100mb"},
		{"CONFIG", "GET", "maxmemory"},
		{"CONFIG", "SET", "maxmemory", "1GB"},
		{"CONFIG", "GET", "maxmemory"},
		{"CONFIG", "SET", "maxmemory", "1k"},
		{"CONFIG", "GET", "maxmemory"},
		{"CONFIG", "SET", "maxmemory", "5B"},
		{"CONFIG", "GET", "maxmemory"},
		{"CONFIG", "SET", "maxmemory", "xx"},
		{"CONFIG", "SET", "maxmemory", "-1"},
		{"CONFIG", "SET", "maxmemory", "+5"},
		{"CONFIG", "SET", "maxmemory", "1.5gb"},
		{"CONFIG", "SET", "maxmemory", ""},
		{"CONFIG", "GET", "maxmemory"},
		{"CONFIG", "SET", "loglevel", "DEBUG"},
		{"CONFIG", "GET", "loglevel"},
		{"CONFIG", "SET", "loglevel", "verbose"},
		{"CONFIG", "GET", "loglevel"},
		{"CONFIG", "SET", "loglevel", "warning"},
		{"CONFIG", "GET", "loglevel"},
		{"CONFIG", "SET", "appendfsync", "foo"},
		{"CONFIG", "SET", "appendfsync", "EVERYSEC"},
		{"CONFIG", "GET", "appendfsync"},
		{"CONFIG", "SET", "appendfsync", "no"},
		{"CONFIG", "GET", "appendfsync"},
		{"CONFIG", "SET", "maxclients", "0"},
		{"CONFIG", "SET", "maxclients", "abc"},
		{"CONFIG", "SET", "maxclients", "4294967296"},
		{"CONFIG", "SET", "maxclients", "100"},
		{"CONFIG", "GET", "maxclients"},
		{"CONFIG", "SET", "notify-keyspace-events", "Q"},
		{"CONFIG", "SET", "notify-keyspace-events", "Ex"},
		{"CONFIG", "GET", "notify-keyspace-events"},
		{"CONFIG", "SET", "notify-keyspace-events", ""},
		// Several at once: all or nothing.
		{"CONFIG", "SET", "timeout", "1", "timeout", "2"},
		{"CONFIG", "SET", "timeout", "1", "TIMEOUT", "2"},
		{"CONFIG", "SET", "hash-max-ziplist-entries", "1", "hash-max-listpack-entries", "2"},
		{"CONFIG", "SET", "timeout", "5", "foo", "1"},
		{"CONFIG", "SET", "timeout", "abc", "foo", "1"},
		{"CONFIG", "SET", "timeout", "5", "loglevel", "bad"},
		{"CONFIG", "SET", "timeout", "5", "maxmemory", "bad"},
		{"CONFIG", "GET", "timeout"},
		{"CONFIG", "SET", "timeout", "7", "maxmemory", "2mb"},
		{"CONFIG", "GET", "timeout", "maxmemory"},
		{"CONFIG", "SET", "timeout"},
		{"CONFIG", "SET", "timeout", "1", "loglevel"},
		{"CONFIG", "SET", "databases", "2"},
		// GET: several names and patterns, any case, each name once.
		{"CONFIG", "GET", "TIMEOUT", "maxmemory", "timeout"},
		{"CONFIG", "GET", "tim*", "timeout"},
		{"CONFIG", "GET", "timeout", "tim*"},
		{"CONFIG", "GET", "hash-max-ziplist-entries"},
		{"CONFIG", "GET", "hash-max-*-entries"},
		{"CONFIG", "GET", "*max*ziplist*"},
		{"CONFIG", "GET", "loglevel", "appendfsync"},
		{"CONFIG", "GET", "nonexistent"},
		{"CONFIG", "GET", "maxmemory-p*"},
		{"CONFIG", "SET", "timeout", "0"},
		{"CONFIG", "GET"},
		{"CONFIG", "HELP"},
		{"CONFIG", "REWRITE"},
	} {
		want := configReply(r.must(t, cmd...))
		got := configReply(w.must(t, cmd...))
		if got != want {
			t.Errorf("%q:\n walkerd %s\n redis   %s", cmd, got, want)
		}
	}
}

func TestConfigSet_LogLevelSetsTheLevelVar(t *testing.T) {
	lv := new(slog.LevelVar)
	ws := startServer(t, Config{LogLevel: lv})
	c := dial(t, ws.addr)
	for _, tc := range []struct {
		name  string
		level slog.Level
	}{{"warning", slog.LevelWarn}, {"debug", slog.LevelDebug}, {"nothing", 0}, {"notice", slog.LevelInfo}} {
		if got := c.must(t, "CONFIG", "SET", "loglevel", tc.name); got != "+OK" {
			t.Fatalf("CONFIG SET loglevel %s = %s", tc.name, got)
		}
		if got := c.must(t, "CONFIG", "GET", "loglevel"); got != `["loglevel", "`+tc.name+`"]` {
			t.Fatalf("after %s: CONFIG GET loglevel = %s", tc.name, got)
		}
		if tc.name != "nothing" && lv.Level() != tc.level {
			t.Fatalf("loglevel %s: slog level %v, want %v", tc.name, lv.Level(), tc.level)
		}
		if tc.name == "nothing" && lv.Level() <= slog.LevelError {
			t.Fatalf("loglevel nothing: slog level %v still logs errors", lv.Level())
		}
	}
	want := "-ERR CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning"
	if got := c.must(t, "CONFIG", "SET", "loglevel", "loud"); got != want {
		t.Fatalf("bad loglevel: %s", got)
	}

	// Without a LevelVar the level is read-only.
	ro := dial(t, startServer(t, Config{}).addr)
	if got := ro.must(t, "CONFIG", "SET", "loglevel", "debug"); !strings.Contains(got, "can't set immutable config") {
		t.Fatalf("loglevel without a LevelVar: %s", got)
	}
}

// failingSync is a standalone backend whose appendfsync cannot change.
type failingSync struct {
	backend.Backend
	backend.Reconfigurer
}

func (failingSync) SetSync(engine.SyncMode) error { return errors.New("cannot change here") }

func TestConfigSet_RollsBackWhenOneApplyFails(t *testing.T) {
	db, err := engine.Open(t.TempDir(), &engine.Options{Sync: engine.SyncNo})
	if err != nil {
		t.Fatal(err)
	}
	sb := backend.NewStandalone(db)
	ws := startServerOn(t, failingSync{Backend: sb, Reconfigurer: sb.(backend.Reconfigurer)}, Config{})
	c := dial(t, ws.addr)
	c.must(t, "CONFIG", "SET", "timeout", "3", "maxmemory", "1mb")
	got := c.must(t, "CONFIG", "SET", "timeout", "7", "maxmemory", "2mb", "appendfsync", "always", "maxclients", "9")
	if got != "-ERR CONFIG SET failed (possibly related to argument 'appendfsync') - cannot change here" {
		t.Fatalf("CONFIG SET with a failing apply = %s", got)
	}
	if got := configReply(c.must(t, "CONFIG", "GET", "timeout", "maxmemory", "maxclients")); got != `"maxclients"="10000" "maxmemory"="1048576" "timeout"="3"` {
		t.Fatalf("after the failed CONFIG SET: %s: the applied parameters must be rolled back", got)
	}
}

func TestConfigSet_BackendSettingsReachTheEngine(t *testing.T) {
	ws := startServer(t, Config{})
	c := dial(t, ws.addr)
	for _, kv := range [][2]string{
		{"merge-ratio", "0.3"}, {"merge-interval", "1m30s"}, {"merge-min-bytes", "1mb"}, {"appendfsync", "always"},
	} {
		if got := c.must(t, "CONFIG", "SET", kv[0], kv[1]); got != "+OK" {
			t.Fatalf("CONFIG SET %s %s = %s", kv[0], kv[1], got)
		}
	}
	if m := ws.db.Merging(); m != (engine.MergeSettings{Ratio: 0.3, Interval: 90 * time.Second, MinBytes: 1 << 20}) {
		t.Fatalf("engine merge settings %+v", m)
	}
	got := configReply(c.must(t, "CONFIG", "GET", "merge-*", "appendfsync"))
	if want := `"appendfsync"="always" "merge-interval"="1m30s" "merge-min-bytes"="1048576" "merge-ratio"="0.3"`; got != want {
		t.Fatalf("CONFIG GET = %s, want %s", got, want)
	}
	// always is group commit: every write is fsynced before it answers.
	st0, _ := ws.db.Stats()
	c.must(t, "SET", "k", "v")
	if st, _ := ws.db.Stats(); st.Fsyncs <= st0.Fsyncs {
		t.Fatalf("fsyncs %d -> %d: a write under appendfsync always was not synced", st0.Fsyncs, st.Fsyncs)
	}
	c.must(t, "CONFIG", "SET", "appendfsync", "no")
	st1, _ := ws.db.Stats()
	c.must(t, "SET", "k", "v2")
	if st, _ := ws.db.Stats(); st.Fsyncs != st1.Fsyncs {
		t.Fatalf("fsyncs %d -> %d: a write under appendfsync no was synced", st1.Fsyncs, st.Fsyncs)
	}
	for _, tc := range [][3]string{
		{"merge-ratio", "2", "argument must be a number from 0 (never merge by itself) to 1"},
		{"merge-interval", "10", "argument must be a positive duration (10s, 1m30s, 500ms)"},
		{"merge-min-bytes", "-1", "argument must be a memory value"},
	} {
		want := "-ERR CONFIG SET failed (possibly related to argument '" + tc[0] + "') - " + tc[2]
		if got := c.must(t, "CONFIG", "SET", tc[0], tc[1]); got != want {
			t.Errorf("CONFIG SET %s %s = %s, want %s", tc[0], tc[1], got, want)
		}
	}
	// Standalone mode has no Raft: no snapshot settings.
	if got := c.must(t, "CONFIG", "SET", "snapshot-threshold", "10"); !strings.HasPrefix(got, "-ERR Unknown option") {
		t.Fatalf("snapshot-threshold in standalone mode: %s", got)
	}
}

func TestConfigTimeout_ClosesIdleClientsButNotSubscribedOrBlocked(t *testing.T) {
	ws := startServer(t, Config{})
	admin := dial(t, ws.addr)
	idle, sub, blocked := dial(t, ws.addr), dial(t, ws.addr), dial(t, ws.addr)
	idle.must(t, "PING")
	pinged := time.Now()
	sub.must(t, "SUBSCRIBE", "ch")
	if err := blocked.send([]byte("BLPOP"), []byte("list"), []byte("0")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(admin.must(t, "CLIENT", "LIST"), "cmd=blpop") })
	admin.must(t, "CONFIG", "SET", "timeout", "1")

	// The idle client is closed once it has idled past a second.
	idle.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.r.ReadByte(); err != io.EOF {
		t.Fatalf("idle client: read %v, want EOF (closed by the timeout)", err)
	}
	if el := time.Since(pinged); el < 900*time.Millisecond {
		t.Fatalf("idle client closed after %v, before its second of idling", el)
	}
	// The admin connection idled as long: keep it busy while checking.
	time.Sleep(700 * time.Millisecond) // the subscriber and the blocked client idle past the limit too
	if got := sub.must(t, "PING"); got != `["pong", ""]` {
		t.Fatalf("subscribed client after the timeout: %s", got)
	}
	admin = dial(t, ws.addr)
	admin.must(t, "RPUSH", "list", "x")
	blocked.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if v, err := blocked.r.ReadString('\n'); err != nil || v != "*2\r\n" {
		t.Fatalf("blocked client after the timeout: %q, %v: it must still be waiting", v, err)
	}

	// timeout 0 closes nobody.
	admin.must(t, "CONFIG", "SET", "timeout", "0")
	quiet := dial(t, ws.addr)
	quiet.must(t, "PING")
	time.Sleep(1300 * time.Millisecond)
	if got := quiet.must(t, "PING"); got != "+PONG" {
		t.Fatalf("with timeout 0: %s", got)
	}
}

func TestConfigRewrite_UpdatesTheFileInPlace(t *testing.T) {
	none := dial(t, startServer(t, Config{}).addr)
	if got := none.must(t, "CONFIG", "REWRITE"); got != "-ERR The server is running without a config file" {
		t.Fatalf("CONFIG REWRITE without a file = %s", got)
	}

	path := filepath.Join(t.TempDir(), "walkerd.conf")
	orig := "# walkerd test config\n" +
		"port 6380\n" +
		"\n" +
		"raft 127.0.0.1:16380   # kept as written\n" +
		"timeout 0\n" +
		"maxmemory 100mb\n" +
		"  # an indented comment\n" +
		"TIMEOUT 3\n"
	if err := os.WriteFile(path, []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	keepEncodingSettings(t)
	ws := startServer(t, Config{ConfigFile: path})
	c := dial(t, ws.addr)
	c.must(t, "CONFIG", "SET", "timeout", "30", "maxclients", "50", "notify-keyspace-events", "Ex", "requirepass", `a "b" c`)
	c.must(t, "AUTH", `a "b" c`)
	c.must(t, "CONFIG", "SET", "hash-max-ziplist-entries", "100", "maxmemory", "100mb")
	if got := c.must(t, "CONFIG", "REWRITE"); got != "+OK" {
		t.Fatalf("CONFIG REWRITE = %s", got)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "# walkerd test config\n" +
		"port 6380\n" +
		"\n" +
		"raft 127.0.0.1:16380   # kept as written\n" +
		"timeout 30\n" +
		"maxmemory 104857600\n" +
		"  # an indented comment\n" +
		"# Generated by CONFIG REWRITE\n" +
		"appendfsync no\n" + // the test engine's, not walkerd's default
		"hash-max-listpack-entries 100\n" +
		"maxclients 50\n" +
		"merge-ratio 0\n" + // the same
		"notify-keyspace-events xE\n" +
		`requirepass "a \"b\" c"` + "\n"
	if string(data) != want {
		t.Fatalf("rewritten file:\n%s\nwant:\n%s", data, want)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v: the rewrite must keep the file's permissions", st.Mode().Perm())
	}
	// Each line reads back as the value set.
	args, ok := SplitConfigLine(`requirepass "a \"b\" c"`)
	if !ok || len(args) != 2 || args[1] != `a "b" c` {
		t.Fatalf("requirepass line reads back as %q", args)
	}
	// A second rewrite with nothing changed leaves the file as it is.
	c.must(t, "CONFIG", "REWRITE")
	if again, _ := os.ReadFile(path); string(again) != want {
		t.Fatalf("second rewrite changed the file:\n%s", again)
	}
	// A parameter set later goes below the same signature line.
	c.must(t, "CONFIG", "SET", "busy-reply-threshold", "6000")
	c.must(t, "CONFIG", "REWRITE")
	if third, _ := os.ReadFile(path); string(third) != want+"busy-reply-threshold 6000\n" {
		t.Fatalf("third rewrite:\n%s", third)
	}
	// Nothing left behind beside it.
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Fatalf("directory holds %d files after the rewrite, want 1", len(ents))
	}
}

// Memory values read as Redis's memtoull reads them: strtoull saturates,
// the unit's multiplication wraps.
func TestParseMemory_ReadsRedisUnits(t *testing.T) {
	for in, want := range map[string]uint64{"": 0, "0": 0, "10": 10, "5b": 5, "1k": 1000, "1KB": 1024, "100mb": 100 << 20, "2m": 2e6, "1g": 1e9, "1gb": 1 << 30, "mb": 0,
		"18446744073709551616": math.MaxUint64, "20000000000gb": 20000000000 * (1 << 30) % (1 << 64)} {
		if got, ok := command.ParseMemory([]byte(in)); !ok || got != want {
			t.Errorf("ParseMemory(%q) = %d, %v, want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"-1", "+5", "1.5gb", "10tb", "x"} {
		if _, ok := command.ParseMemory([]byte(in)); ok {
			t.Errorf("ParseMemory(%q) accepted", in)
		}
	}
}

// The start-up settings walkerd gives in Settings with a default in
// Defaults (port, dir, ...) are rewritten as the settable parameters
// are: their lines take the value in use, and those missing from the file
// are appended when not the default. A file moved away is written anew
// with all of them. A multi-argument parameter is written unquoted, as
// Redis writes it.
func TestConfigRewrite_WritesStartupSettingsAndMultiArgs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.conf")
	if err := os.WriteFile(path, []byte("standalone yes\nport 6000\nbind 127.0.0.1 -::1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ws := startServer(t, Config{ConfigFile: path,
		Settings: map[string]string{"port": "7481", "bind": "127.0.0.1", "dir": "/srv/c4/data", "raftdir": "/srv/c4/raft",
			"raft": "127.0.0.1:16379", "standalone": "yes", "join": "", "mode": "standalone"},
		Defaults: map[string]string{"port": "6379", "bind": "127.0.0.1", "dir": "walker-data/data", "raftdir": "walker-data/raft",
			"raft": "127.0.0.1:16379", "standalone": "no", "join": ""},
	})
	c := dial(t, ws.addr)
	if got := configReply(c.must(t, "CONFIG", "GET", "port")); got != `"port"="7481"` {
		t.Fatalf("CONFIG GET port = %s", got)
	}
	c.must(t, "CONFIG", "SET", "maxclients", "55", "latency-tracking-info-percentiles", "50 99.9 99.99")
	if got := c.must(t, "CONFIG", "REWRITE"); got != "+OK" {
		t.Fatalf("CONFIG REWRITE = %s", got)
	}
	// appendfsync and merge-ratio: the test engine's, not the defaults.
	common := "appendfsync no\n" +
		"dir /srv/c4/data\n" +
		"latency-tracking-info-percentiles 50 99.9 99.99\n" +
		"maxclients 55\n" +
		"merge-ratio 0\n"
	want := "standalone yes\n" +
		"port 7481\n" +
		"bind 127.0.0.1 -::1\n" + // its first address is the one in use: kept as written
		"# Generated by CONFIG REWRITE\n" +
		common +
		"raftdir /srv/c4/raft\n"
	if data, _ := os.ReadFile(path); string(data) != want {
		t.Fatalf("rewritten file:\n%s\nwant:\n%s", data, want)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if got := c.must(t, "CONFIG", "REWRITE"); got != "+OK" {
		t.Fatalf("CONFIG REWRITE of a missing file = %s", got)
	}
	want = "# Generated by CONFIG REWRITE\n" + common +
		"port 7481\n" +
		"raftdir /srv/c4/raft\n" +
		"standalone yes\n"
	if data, _ := os.ReadFile(path); string(data) != want {
		t.Fatalf("file written anew:\n%s\nwant:\n%s", data, want)
	}
}
