package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/walkerd/backend"
)

// startSaveServer is a standalone server whose data directory is
// parent/data, so that its dump file is parent/dump.wdb.
func startSaveServer(t *testing.T, settings map[string]string) (*testServer, string) {
	t.Helper()
	parent := t.TempDir()
	db, err := engine.Open(filepath.Join(parent, "data"), &engine.Options{Sync: engine.SyncNo, SegmentSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if settings == nil {
		settings = map[string]string{}
	}
	settings["dir"] = filepath.Join(parent, "data")
	return startServerOn(t, backend.NewStandalone(db), Config{Settings: settings}), parent
}

// infoSave renders infoPersistenceSave's fields as a map.
func infoSave(s *Server) map[string]string {
	m := map[string]string{}
	s.infoPersistenceSave(func(k string, v any) { m[k] = fmt.Sprint(v) })
	return m
}

// waitRedisBgsave waits until redis-server has forked forks BGSAVEs
// (INFO stats total_forks) and none is running. Counting forks matters:
// a BGSAVE that answered "scheduled" (in EXEC) forks at a later
// serverCron, so right after EXEC none is in progress yet, and a BGSAVE
// sent then would meet it (a CI run caught that).
func waitRedisBgsave(t *testing.T, c *conn, forks int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		// One INFO for both sections: read apart, a fork between the
		// two reads passed as done (a CI run caught that).
		info := c.must(t, "INFO", "persistence", "stats")
		m := regexp.MustCompile(`total_forks:(\d+)`).FindStringSubmatch(info)
		if m == nil {
			t.Fatalf("redis-server's INFO stats has no total_forks: %s", info)
		}
		if n, _ := strconv.Atoi(m[1]); n >= forks && !strings.Contains(info, "rdb_bgsave_in_progress:1") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("redis-server's BGSAVE number %d did not end", forks)
}

// SAVE, BGSAVE and LASTSAVE answer what redis-server 7.0 answers, their
// errors included.
func TestSave_RepliesMatchRedis(t *testing.T) {
	rc := dial(t, startRedis(t))
	s, _ := startSaveServer(t, nil)
	wc := dial(t, s.addr)
	steps := [][]string{
		{"SET", "k", "v"},
		{"SAVE"},
		{"SAVE", "extra"},
		{"BGSAVE", "now"},
		{"BGSAVE", "SCHEDULE", "x"},
		{"LASTSAVE", "x"},
		{"MULTI"}, {"SAVE"}, {"DISCARD"},
		{"MULTI"}, {"BGSAVE"}, {"EXEC"},
		{"wait"},
		{"BGSAVE"},
		{"wait"},
		{"BGSAVE", "schedule"},
		{"wait"},
	}
	forks := 0 // BGSAVEs redis-server started or scheduled
	for _, st := range steps {
		if st[0] == "wait" {
			waitRedisBgsave(t, rc, forks)
			s.waitBgsave()
			continue
		}
		want, got := rc.must(t, st...), wc.must(t, st...)
		forks += strings.Count(want, "Background saving")
		if got != want {
			t.Errorf("%q: walkerd %s, redis %s", st, got, want)
		}
	}
	for _, c := range []*conn{rc, wc} {
		v, err := c.do("LASTSAVE")
		if err != nil || v.Kind != ':' || time.Since(time.Unix(v.Int, 0)) > time.Minute {
			t.Errorf("LASTSAVE = %s, %v; want a recent unix time", format(v), err)
		}
	}
}

// COMMAND INFO of SAVE, BGSAVE and LASTSAVE is Redis 7.0's: arity, flags
// (no_async_loading, no_multi) and ACL categories.
func TestSave_CommandInfoMatchesRedis(t *testing.T) {
	rc := dial(t, startRedis(t))
	s := startServer(t, Config{})
	wc := dial(t, s.addr)
	for _, name := range []string{"save", "bgsave", "lastsave"} {
		rv, _ := rc.do("COMMAND", "INFO", name)
		wv, _ := wc.do("COMMAND", "INFO", name)
		if len(rv.Elems) != 1 || len(wv.Elems) != 1 {
			t.Fatalf("COMMAND INFO %s: redis %s walkerd %s", name, format(rv), format(wv))
		}
		if want, got := infoFields(rv.Elems[0]), infoFields(wv.Elems[0]); got != want {
			t.Errorf("COMMAND INFO %s:\n walkerd %s\n redis   %s", name, got, want)
		}
		if want, got := format(rv.Elems[0].Elems[7]), format(wv.Elems[0].Elems[7]); got != want {
			t.Errorf("COMMAND INFO %s tips: walkerd %s, redis %s", name, got, want)
		}
	}
}

// SAVE writes the engine's checkpoint stream to dump.wdb beside the data
// directory; it restores to the same data, and LASTSAVE and INFO follow.
func TestSave_WritesADumpThatRestoresTheData(t *testing.T) {
	s, parent := startSaveServer(t, nil)
	c := dial(t, s.addr)
	for i := 0; i < 300; i++ {
		c.must(t, "SET", "key"+strconv.Itoa(i), strings.Repeat("v", i))
	}
	c.must(t, "HSET", "h", "f", "1")
	if got := infoSave(s.Server)["rdb_changes_since_last_save"]; got == "0" {
		t.Fatalf("rdb_changes_since_last_save = %s before any save", got)
	}
	before := time.Now().Unix()
	if got := c.must(t, "SAVE"); got != "+OK" {
		t.Fatalf("SAVE = %s", got)
	}
	info := infoSave(s.Server)
	for k, want := range map[string]string{"rdb_changes_since_last_save": "0", "rdb_bgsave_in_progress": "0", "rdb_last_bgsave_status": "ok", "rdb_saves": "1", "rdb_last_cow_size": "0", "rdb_current_bgsave_time_sec": "-1", "rdb_last_bgsave_time_sec": "-1"} {
		if info[k] != want {
			t.Errorf("%s = %q, want %q", k, info[k], want)
		}
	}
	if ls := c.must(t, "LASTSAVE"); ls < ":"+strconv.FormatInt(before, 10) || info["rdb_last_save_time"] != ls[1:] {
		t.Errorf("LASTSAVE = %s, rdb_last_save_time %s, want at least %d", ls, info["rdb_last_save_time"], before)
	}
	c.must(t, "SET", "after", "save")
	if got := infoSave(s.Server)["rdb_changes_since_last_save"]; got != "1" {
		t.Errorf("rdb_changes_since_last_save after one SET = %s, want 1", got)
	}

	dump := filepath.Join(parent, "dump.wdb")
	restored := restoreDump(t, dump)
	n, sum, err := digest(restored)
	if err != nil {
		t.Fatal(err)
	}
	c.must(t, "DEL", "after")
	n2, sum2, _ := digest(s.db)
	if n != n2 || !bytes.Equal(sum, sum2) {
		t.Fatalf("restored digest %d %x, server's %d %x", n, sum, n2, sum2)
	}
	if m, _ := filepath.Glob(filepath.Join(parent, "temp-*")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

func restoreDump(t *testing.T, path string) *engine.DB {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := filepath.Join(t.TempDir(), "restored")
	if _, err := engine.Restore(f, dir, 0); err != nil {
		t.Fatal(err)
	}
	db, err := engine.Open(dir, &engine.Options{Sync: engine.SyncNo})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// While a BGSAVE runs, SAVE and BGSAVE answer Redis's "already in
// progress", and INFO says one runs; the BGSAVE holds the data of when it
// was asked for.
func TestBgsave_RefusesASecondSaveWhileRunning(t *testing.T) {
	s, parent := startSaveServer(t, nil)
	c := dial(t, s.addr)
	c.must(t, "SET", "k", "before")
	st := s.saves()
	st.mu.Lock() // holds the background save before it writes
	if got := c.must(t, "BGSAVE"); got != "+Background saving started" {
		st.mu.Unlock()
		t.Fatalf("BGSAVE = %s", got)
	}
	c.must(t, "SET", "k", "after")
	for _, cmd := range [][]string{{"BGSAVE"}, {"BGSAVE", "SCHEDULE"}, {"SAVE"}} {
		if got := c.must(t, cmd...); got != "-ERR Background save already in progress" {
			t.Errorf("%q during BGSAVE = %s", cmd, got)
		}
	}
	if got := infoSave(s.Server)["rdb_bgsave_in_progress"]; got != "1" {
		t.Errorf("rdb_bgsave_in_progress = %s while one runs", got)
	}
	st.mu.Unlock()
	s.waitBgsave()
	info := infoSave(s.Server)
	if info["rdb_bgsave_in_progress"] != "0" || info["rdb_last_bgsave_status"] != "ok" || info["rdb_last_bgsave_time_sec"] != "0" {
		t.Errorf("after BGSAVE: %v", info)
	}
	db := restoreDump(t, filepath.Join(parent, "dump.wdb"))
	if n, _, _ := digest(db); n != 1 {
		t.Fatalf("restored %d keys, want 1", n)
	}
	s2 := startServerOn(t, backend.NewStandalone(db), Config{})
	if got := dial(t, s2.addr).must(t, "GET", "k"); got != `"before"` {
		t.Errorf("the BGSAVE holds k = %s, want the value when BGSAVE ran", got)
	}
}

// A save that cannot write its file answers an error, leaves no file, and
// INFO reports it; LASTSAVE keeps the last good save's time.
func TestSave_FailureIsReported(t *testing.T) {
	s, parent := startSaveServer(t, map[string]string{"dumpdir": "/nonexistent/walkerdb-test"})
	c := dial(t, s.addr)
	last := c.must(t, "LASTSAVE")
	if got := c.must(t, "SAVE"); !strings.HasPrefix(got, "-ERR ") || !strings.Contains(got, "/nonexistent/walkerdb-test") {
		t.Errorf("SAVE into a missing directory = %s", got)
	}
	if got := infoSave(s.Server)["rdb_last_bgsave_status"]; got != "err" {
		t.Errorf("rdb_last_bgsave_status = %s after a failed save", got)
	}
	if got := c.must(t, "BGSAVE"); got != "+Background saving started" {
		t.Errorf("BGSAVE = %s", got)
	}
	s.waitBgsave()
	if got := infoSave(s.Server); got["rdb_last_bgsave_status"] != "err" || got["rdb_saves"] != "2" {
		t.Errorf("after a failed BGSAVE: %v", got)
	}
	if got := c.must(t, "LASTSAVE"); got != last {
		t.Errorf("LASTSAVE = %s after failures, want %s", got, last)
	}
	if _, err := os.Stat(filepath.Join(parent, "dump.wdb")); !os.IsNotExist(err) {
		t.Errorf("dump.wdb: %v", err)
	}
}

// dbfilename names the dump file, as CONFIG SET dbfilename does in Redis,
// and refuses a path.
func TestSave_DbfilenameNamesTheFile(t *testing.T) {
	s, parent := startSaveServer(t, nil)
	p := saveParams()["dbfilename"]
	if got := p.get(s.Server); got != "dump.wdb" {
		t.Errorf("dbfilename = %s", got)
	}
	if err := p.check([]byte("a/b.wdb")); err == nil || err.Error() != "dbfilename can't be a path, just a filename" {
		t.Errorf("a path: %v", err)
	}
	if err := p.check([]byte("other.wdb")); err != nil {
		t.Fatal(err)
	}
	p.set(s.Server, []byte("other.wdb"))
	if got := dial(t, s.addr).must(t, "SAVE"); got != "+OK" {
		t.Fatalf("SAVE = %s", got)
	}
	if _, err := os.Stat(filepath.Join(parent, "other.wdb")); err != nil {
		t.Fatal(err)
	}
}

// readBulkHeader reads "$<n>\r\n".
func readBulkHeader(t *testing.T, r *bufio.Reader) int64 {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "$") {
		t.Fatalf("reply starts %q, %v; want a bulk reply", line, err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(line[1:]), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// WALKER.BACKUP answers the checkpoint stream as one bulk reply of the
// announced length, in its place among pipelined replies, and the stream
// is whole (CheckStream) and restores to the server's data.
func TestWalkerBackup_StreamsTheCheckpointAsOneBulkReply(t *testing.T) {
	s, _ := startSaveServer(t, nil)
	c := dial(t, s.addr)
	val := strings.Repeat("x", 1000)
	for i := 0; i < 3000; i++ { // about 3 MB over many segments
		c.must(t, "SET", "key"+strconv.Itoa(i), val)
	}
	nc, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	var req []byte
	for _, cmd := range [][]string{{"PING"}, {"WALKER.BACKUP"}, {"ECHO", "after"}} {
		var args [][]byte
		for _, a := range cmd {
			args = append(args, []byte(a))
		}
		req = append(req, encodeCommand(args)...)
	}
	nc.Write(req)
	r := bufio.NewReader(nc)
	if line, _ := r.ReadString('\n'); line != "+PONG\r\n" {
		t.Fatalf("first reply %q", line)
	}
	n := readBulkHeader(t, r)
	if n < 3_000_000 {
		t.Fatalf("backup of %d bytes, want over 3 MB", n)
	}
	var stream bytes.Buffer
	info, err := engine.CheckStream(io.TeeReader(io.LimitReader(r, n), &stream), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if info.Bytes != n || len(info.Files) < 10 {
		t.Fatalf("stream %+v, announced %d bytes", info, n)
	}
	rest, _ := r.ReadString('\n')
	if rest != "\r\n" {
		t.Fatalf("after the stream: %q", rest)
	}
	if line, _ := r.ReadString('\n'); line != "$5\r\n" {
		t.Fatalf("third reply %q", line)
	}
	dir := filepath.Join(t.TempDir(), "restored")
	if _, err := engine.Restore(&stream, dir, 0); err != nil {
		t.Fatal(err)
	}
	db, err := engine.Open(dir, &engine.Options{Sync: engine.SyncNo})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n1, sum1, _ := digest(db)
	n2, sum2, _ := digest(s.db)
	if n1 != 3000 || n1 != n2 || !bytes.Equal(sum1, sum2) {
		t.Fatalf("restored %d keys %x, server %d %x", n1, sum1, n2, sum2)
	}
	if m, _ := filepath.Glob(filepath.Join(s.db.Dir(), "checkpoints", "*")); len(m) != 0 {
		t.Errorf("checkpoints left after the backup: %v", m)
	}
}

// A follower does not take a backup: it names the leader; WALKER.BACKUP
// is refused in MULTI.
func TestWalkerBackup_FollowerNamesTheLeader(t *testing.T) {
	f := newFollower(t, "127.0.0.1:7001")
	s := startServerOn(t, f, Config{})
	c := dial(t, s.addr)
	if got := c.must(t, "WALKER.BACKUP"); got != "-ERR WALKER.BACKUP runs on the leader, which is at 127.0.0.1:7001 ('walkerctl backup' finds it)" {
		t.Errorf("WALKER.BACKUP on a follower = %s", got)
	}
	f.leader.Store(new(string))
	if got := c.must(t, "WALKER.BACKUP"); got != "-CLUSTERDOWN no leader is known to take a backup from" {
		t.Errorf("with no leader = %s", got)
	}
	c.must(t, "MULTI")
	if got := c.must(t, "WALKER.BACKUP"); got != "-ERR Command not allowed inside a transaction" {
		t.Errorf("in MULTI = %s", got)
	}
	if got := c.must(t, "WALKER.BACKUP", "x"); got != "-ERR wrong number of arguments for 'walker.backup' command" {
		t.Errorf("with an argument = %s", got)
	}
}
