package server

import (
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
)

// exchange writes raw bytes on a new connection and returns what comes
// back until the server closes it or quiet passes.
func exchange(t *testing.T, addr, in string, quiet time.Duration) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, in); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(quiet))
	out, _ := io.ReadAll(c)
	return string(out)
}

// Inline lines are split by Redis's sdssplitargs rules: escapes inside
// double quotes, only \' inside single quotes, quotes that open mid-token,
// a closing quote that must be followed by a space, and unbalanced quotes
// that end the connection. Each case runs on a fresh connection to a real
// redis-server and to walkerd, ending in QUIT, and the raw replies must be
// the same bytes.
func TestInline_QuotingAndEscapesMatchRedis(t *testing.T) {
	redisAddr := startRedis(t)
	s := startServer(t, Config{})
	for _, in := range []string{
		`SET e4 "\x41\x42\x00z"` + "\r\nGET e4\r\nSTRLEN e4\r\n",
		`SET e8 'a\nb'` + "\r\nGET e8\r\n",
		`SET q "a\"b\\c\td\re\nf\ag\bh\zi\'j"` + "\r\nGET q\r\n",
		`SET s 'it\'s "x" \\ \t'` + "\r\nGET s\r\n",
		`SET h "\x4g \xZZ \x \X41 \x7e\xFF"` + "\r\nGET h\r\n",
		`SET m a"b c"` + "\r\nGET m\r\n",
		`SET m2 x'y z'` + "\r\nGET m2\r\n",
		`SET empty ""` + "\r\nGET empty\r\nSTRLEN empty\r\n",
		`SET "" ''` + "\r\nEXISTS \"\"\r\n",
		"\t ECHO \v x\f\r\n",
		"ECHO \"a\"\tb\r\n",
		"ECHO \"a\"\vb\r\n",
		"ECHO a\rb\r\n",
		"SET lf only\nGET lf\n",
		"SET cr \"a\r\n",
		"\r\n\n   \r\n\t\r\nPING\r\n",
		"ECHO \"\\\\\"\r\n",
		// Unbalanced quotes: Redis answers the error and closes; the
		// commands before are answered first, the ones after never run.
		"PING\r\nECHO \"a\"b\r\nSET after 1\r\n",
		"ECHO 'a'b\r\n",
		"ECHO \"unterminated\r\n",
		"ECHO 'unterminated\r\n",
		"ECHO \"ends in a backslash\\\r\n",
		"ECHO x\"y\r\n",
	} {
		in += "QUIT\r\n"
		want := exchange(t, redisAddr, in, 2*time.Second)
		got := exchange(t, s.addr, in, 2*time.Second)
		if got != want {
			t.Errorf("%q:\n walkerd %q\n   redis %q", in, got, want)
		}
	}
	for _, addr := range []string{redisAddr, s.addr} {
		if got := dial(t, addr).must(t, "EXISTS", "after"); got != ":0" {
			t.Errorf("%s: a command after unbalanced quotes ran: EXISTS after = %s", addr, got)
		}
	}
}

// An inline line with a raw NUL byte never ends for Redis (it finds the
// newline with strchr): nothing is answered, not even what follows.
func TestInline_LineWithANulByteIsNeverAnswered(t *testing.T) {
	redisAddr := startRedis(t)
	s := startServer(t, Config{})
	in := "PING\r\nECHO a\x00b\r\nPING\r\n"
	want := exchange(t, redisAddr, in, 500*time.Millisecond)
	got := exchange(t, s.addr, in, 500*time.Millisecond)
	if got != want || want != "+PONG\r\n" {
		t.Errorf("walkerd %q, redis %q, want both %q", got, want, "+PONG\r\n")
	}
	// Past 64 KiB the line is too big, in both.
	in = "ECHO a\x00b\r\n" + strings.Repeat("PING\r\n", 70<<10/6)
	want = exchange(t, redisAddr, in, 2*time.Second)
	got = exchange(t, s.addr, in, 2*time.Second)
	if got != want || want != "-ERR Protocol error: too big inline request\r\n" {
		t.Errorf("NUL then 70 KiB: walkerd %q, redis %q", got, want)
	}
}

// A file of inline commands sent with redis-cli --pipe stores the same
// bytes in walkerd as in Redis.
func TestRedisCLIPipe_InlineFileStoresWhatRedisStores(t *testing.T) {
	cli := redisCLI(t)
	redisAddr := startRedis(t)
	s := startServer(t, Config{})
	file := filepath.Join(t.TempDir(), "inline.txt")
	lines := []string{
		`SET p1 "\x41\x42\x00z"`,
		`SET p2 'a\nb'`,
		`SET p3 "tab\there \"quoted\" \\ end"`,
		`SET p4 'it\'s'`,
		`MSET p5 "\xe2\x82\xac" p6 'x\x41'`,
	}
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\r\n")+"\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{redisAddr, s.addr} {
		cmd := exec.Command(cli, "-p", portOf(t, addr), "--pipe")
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdin = f
		out, err := cmd.CombinedOutput()
		f.Close()
		if err != nil || !bytes.Contains(out, []byte("errors: 0, replies: 5")) {
			t.Fatalf("redis-cli --pipe to %s: %v\n%s", addr, err, out)
		}
	}
	r, w := dial(t, redisAddr), dial(t, s.addr)
	for _, q := range [][]string{
		{"GET", "p1"}, {"GET", "p2"}, {"GET", "p3"}, {"GET", "p4"}, {"MGET", "p5", "p6"},
	} {
		if want, got := r.must(t, q...), w.must(t, q...); got != want {
			t.Errorf("%q: walkerd %s, redis %s", q, got, want)
		}
	}
}

func TestSplitInline_FollowsSdssplitargs(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string // nil: unbalanced
	}{
		{``, []string{}},
		{`  a  b `, []string{"a", "b"}},
		{`"\x41\x42\x00z"`, []string{"AB\x00z"}},
		{`"\x4"`, []string{"x4"}},
		{`"\n\r\t\b\a\"\\\q"`, []string{"\n\r\t\b\a\"\\q"}},
		{`'a\nb\'c'`, []string{`a\nb'c`}},
		{`a"b c"`, []string{"ab c"}},
		{`"a"b`, nil},
		{`'a'b`, nil},
		{`"a`, nil},
		{`'a`, nil},
		{`"a\`, nil},
		{`"" ''`, []string{"", ""}},
		{"a\x00b c", []string{"a"}},
	} {
		got, ok := resp.SplitArgs([]byte(tc.line))
		if tc.want == nil {
			if ok {
				t.Errorf("%q: split as %q, want unbalanced quotes", tc.line, got)
			}
			continue
		}
		var gs []string
		for _, a := range got {
			gs = append(gs, string(a))
		}
		if !ok || strings.Join(gs, "|") != strings.Join(tc.want, "|") || len(gs) != len(tc.want) {
			t.Errorf("%q: got %q (ok %v), want %q", tc.line, gs, ok, tc.want)
		}
	}
}
