package server

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/command"
	"github.com/walkerdb/walkerdb/walkerd/nodelink"
)

// ACL SAVE writes the users to the aclfile, ACL LOAD makes the file's
// users the node's (a file without default gets Redis's default user), and
// a file that does not parse changes nothing.
func TestACL_SaveAndLoadTheACLFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "users.acl")
	s := startServer(t, Config{ACLFile: file})
	c := dial(t, s.addr)
	c.must(t, "ACL", "SETUSER", "alice", "on", ">alice-pw", "~a:*", "+get")
	if got := c.must(t, "ACL", "SAVE"); got != "+OK" {
		t.Fatalf("ACL SAVE: %s", got)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if !strings.Contains(text, "user alice on #") || strings.Contains(text, "alice-pw") ||
		!strings.Contains(text, "user default on nopass") {
		t.Fatalf("aclfile:\n%s", text)
	}

	// The file now names bob only: LOAD drops alice and adds Redis's
	// default user.
	if err := os.WriteFile(file, []byte("user bob on nopass ~* +@read\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := c.must(t, "ACL", "LOAD"); got != "+OK" {
		t.Fatalf("ACL LOAD: %s", got)
	}
	if got := c.must(t, "ACL", "LIST"); got != `["user bob on nopass ~* resetchannels -@all +@read", "user default on nopass ~* &* +@all"]` {
		t.Fatalf("ACL LIST after LOAD: %s", got)
	}

	// A bad line refuses the whole file, naming it and the line.
	if err := os.WriteFile(file, []byte("user carol on nopass\nuser dave nosuchrule\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := c.must(t, "ACL", "LOAD")
	if !strings.HasPrefix(got, "-ERR "+file+":2: ") {
		t.Fatalf("ACL LOAD of a bad file: %s", got)
	}
	if got := c.must(t, "ACL", "USERS"); got != `["bob", "default"]` {
		t.Fatalf("users after a refused LOAD: %s", got)
	}
}

// A node started with an aclfile loads it when it has no users yet, and
// keeps the users it has otherwise.
func TestACL_TheACLFileLoadsAtStartOnlyIntoNoUsers(t *testing.T) {
	file := filepath.Join(t.TempDir(), "users.acl")
	if err := os.WriteFile(file, []byte("user ops on >ops-pw ~* +@all\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, Config{ACLFile: file})
	c := dial(t, s.addr)
	deadline := time.Now().Add(5 * time.Second)
	for c.must(t, "ACL", "USERS") != `["default", "ops"]` {
		if time.Now().After(deadline) {
			t.Fatalf("the aclfile's users never loaded: %s", c.must(t, "ACL", "USERS"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := c.must(t, "AUTH", "ops", "ops-pw"); got != "+OK" {
		t.Fatalf("AUTH ops: %s", got)
	}
}

// Changes made at once from many connections all land: each is computed
// again when another came first (the stored users' hash moved).
func TestACL_ConcurrentChangesAllLand(t *testing.T) {
	s := startServer(t, Config{})
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := dial(t, s.addr)
			defer c.c.Close()
			v, err := c.do("ACL", "SETUSER", fmt.Sprintf("u%02d", i), "on", "nopass", "+get")
			if err != nil || format(v) != "+OK" {
				errs <- fmt.Sprintf("u%02d: %s %v", i, format(v), err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	got := dial(t, s.addr).must(t, "ACL", "USERS")
	if strings.Count(got, `"u`) != n {
		t.Fatalf("ACL USERS after %d concurrent SETUSERs: %s", n, got)
	}
}

// ACL LOG groups the same refusal of the same user within a minute into
// one entry with a count, newest first, as addACLLogEntry does, with the
// context (multi while queuing) and, for AUTH, the command as written;
// RESET empties it.
func TestACL_LogGroupsRepeatedRefusals(t *testing.T) {
	s := startServer(t, Config{})
	admin := dial(t, s.addr)
	admin.must(t, "ACL", "SETUSER", "lim", "on", ">pw", "~k*", "+get", "+multi", "+discard")
	c := dial(t, s.addr)
	c.must(t, "AUTH", "lim", "pw")
	for range 3 {
		if got := c.must(t, "SET", "k", "v"); !strings.HasPrefix(got, "-NOPERM") {
			t.Fatalf("SET as lim: %s", got)
		}
	}
	c.must(t, "GET", "other")
	c.must(t, "auth", "lim", "wrong")
	c.must(t, "MULTI")
	c.must(t, "HSET", "k", "f", "v")
	c.must(t, "DISCARD")
	v, err := admin.do("ACL", "LOG")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Elems) != 4 {
		t.Fatalf("ACL LOG has %d entries, want 4: %s", len(v.Elems), format(v))
	}
	want := []string{"count 1 reason command object hset context multi", "count 1 reason auth object auth context toplevel",
		"count 1 reason key object other context toplevel", "count 3 reason command object set context toplevel"}
	for i, e := range v.Elems {
		f := map[string]string{}
		for j := 0; j+1 < len(e.Elems); j += 2 {
			f[string(e.Elems[j].Str)] = strings.TrimPrefix(format(e.Elems[j+1]), ":")
		}
		got := fmt.Sprintf("count %s reason %s object %s context %s", f["count"], strings.Trim(f["reason"], `"`), strings.Trim(f["object"], `"`),
			strings.Trim(f["context"], `"`))
		if got != want[i] || !strings.Contains(f["client-info"], "user=") || f["username"] != `"lim"` {
			t.Errorf("entry %d: %s (%v), want %s", i, got, f, want[i])
		}
	}
	admin.must(t, "ACL", "LOG", "RESET")
	if got := admin.must(t, "ACL", "LOG"); got != "[]" {
		t.Fatalf("ACL LOG after RESET: %s", got)
	}
}

// The slow log never shows ACL SETUSER's rules, which carry passwords.
func TestACL_SlowlogRedactsSetuser(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	c.must(t, "CONFIG", "SET", "slowlog-log-slower-than", "0")
	c.must(t, "ACL", "SETUSER", "x", ">very-secret", "on")
	got := c.must(t, "SLOWLOG", "GET")
	if strings.Contains(got, "very-secret") || !strings.Contains(got, `["ACL", "SETUSER", "(redacted)", "(redacted)", "(redacted)"]`) {
		t.Fatalf("SLOWLOG GET: %s", got)
	}
}

// A command a follower forwards is checked again on the leader against its
// user, with the users the leader has: WALKER.APPLY and WALKER.FORWARD
// from a node link answer NOPERM for a user that may not run them, even
// though the follower let them through.
func TestACL_TheLeaderChecksForwardedCommandsAgain(t *testing.T) {
	s := startServer(t, Config{Links: &nodelink.Config{}})
	admin := dial(t, s.addr)
	admin.must(t, "ACL", "SETUSER", "app", "on", "nopass", "~app:*", "+@all")
	link := dial(t, s.addr)
	link.c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := (*nodelink.Config)(nil).LinkRESP(link.c, link.r); err != nil {
		t.Fatal(err)
	}
	apply := func(user string, args ...string) string {
		t.Helper()
		cmd := make([][]byte, len(args))
		for i, a := range args {
			cmd[i] = []byte(a)
		}
		e := &command.Entry{NowMs: time.Now().UnixMilli(), Cmds: [][][]byte{cmd}}
		v, err := link.doBytes([]byte("WALKER.APPLY"), e.Encode(), []byte(user))
		if err != nil {
			t.Fatal(err)
		}
		res, err := command.DecodeResult(v.Str)
		if err != nil {
			t.Fatalf("WALKER.APPLY reply %s: %v", format(v), err)
		}
		if res.Error != "" {
			return res.Error
		}
		return "ok"
	}
	if got := apply("app", "SET", "app:1", "v"); got != "ok" {
		t.Fatalf("an allowed forwarded write: %s", got)
	}
	if got := apply("app", "SET", "other", "v"); got != "NOPERM this user has no permissions to access one of the keys used as arguments" {
		t.Fatalf("a forwarded write to a key app may not write: %s", got)
	}
	if got := apply("nosuch", "SET", "app:2", "v"); !strings.HasPrefix(got, "NOPERM") {
		t.Fatalf("a forwarded write of an unknown user: %s", got)
	}
	if got := admin.must(t, "EXISTS", "other", "app:2"); got != ":0" {
		t.Fatalf("refused writes were applied: EXISTS = %s", got)
	}
	v, err := link.doBytes([]byte("WALKER.FORWARD"), []byte("0"), []byte("0"), []byte("app"), []byte("GET"), []byte("other"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := command.DecodeReply(v.Str)
	if err != nil {
		t.Fatalf("WALKER.FORWARD reply %s: %v", format(v), err)
	}
	if msg, isErr := r.Err(); !isErr || !strings.HasPrefix(msg, "NOPERM") {
		t.Fatalf("a forwarded read of a key app may not read: %v", r)
	}
}

// Taking a channel away from a user closes its connections subscribed to
// it, as ACL SETUSER does in Redis 7 (ACLKillPubsubClientsIfNeeded): they
// hear nothing more. Subscribers to what is still allowed stay.
func TestACL_RevokedChannelsCloseTheirSubscribers(t *testing.T) {
	s := startServer(t, Config{})
	admin := dial(t, s.addr)
	admin.must(t, "ACL", "SETUSER", "rv", "on", "nopass", "+@all", "~*", "resetchannels", "&news.*", "&keep")
	sub := func(cmd, ch string) *conn {
		c := dial(t, s.addr)
		c.must(t, "AUTH", "rv", "x")
		if err := c.send([]byte(cmd), []byte(ch)); err != nil {
			t.Fatal(err)
		}
		if _, err := resp.ReadValue(c.r); err != nil {
			t.Fatal(err)
		}
		return c
	}
	news, pnews, keep := sub("SUBSCRIBE", "news.x"), sub("PSUBSCRIBE", "news.*"), sub("SUBSCRIBE", "keep")
	admin.must(t, "ACL", "SETUSER", "rv", "resetchannels", "&keep")
	for name, c := range map[string]*conn{"SUBSCRIBE news.x": news, "PSUBSCRIBE news.*": pnews} {
		c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if v, err := resp.ReadValue(c.r); err == nil {
			t.Fatalf("%s: still open after its channel was revoked, got %s", name, format(v))
		}
	}
	// They left their channels before ACL SETUSER replied, as in Redis.
	if got := admin.must(t, "PUBLISH", "news.x", "after"); got != ":0" {
		t.Fatalf("PUBLISH news.x right after the revocation reached %s subscribers", got)
	}
	if got := admin.must(t, "PUBLISH", "keep", "still"); got != ":1" {
		t.Fatalf("PUBLISH to the channel kept: %s", got)
	}
	keep.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if v, err := resp.ReadValue(keep.r); err != nil || !strings.Contains(format(v), "still") {
		t.Fatalf("the subscriber of the channel kept: %s %v", format(v), err)
	}
}

// EXEC checks the queued commands again, as execCommand does: a command
// the user's rules no longer allow answers NOPERM in its place in the
// reply and does not run; the others run (Redis 7.0.15's texts).
func TestACL_ExecChecksQueuedCommandsAgain(t *testing.T) {
	s := startServer(t, Config{})
	admin := dial(t, s.addr)
	admin.must(t, "ACL", "SETUSER", "mx", "on", "nopass", "+@all", "~*")
	u := dial(t, s.addr)
	u.must(t, "AUTH", "mx", "x")
	for _, cmd := range [][]string{{"MULTI"}, {"SET", "mk", "1"}, {"SET", "other", "1"}, {"GET", "other"}, {"PING"}} {
		u.must(t, cmd...)
	}
	admin.must(t, "ACL", "SETUSER", "mx", "resetkeys", "~other", "-get")
	const changed = "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. " +
		"This command is no longer allowed for the following reason: "
	want := `[-` + changed + `no permission to touch the specified keys, +OK, -` + changed +
		`no permission to execute the command or subcommand, +PONG]`
	if got := u.must(t, "EXEC"); got != want {
		t.Fatalf("EXEC:\n got  %s\n want %s", got, want)
	}
	if got := admin.must(t, "EXISTS", "mk"); got != ":0" {
		t.Fatalf("a refused command of the transaction ran: EXISTS mk = %s", got)
	}
	if got := admin.must(t, "GET", "other"); got != `"1"` {
		t.Fatalf("an allowed command of the transaction did not run: GET other = %s", got)
	}
}
