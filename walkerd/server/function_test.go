package server

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
)

const interopLib = "#!lua name=interop\n" +
	"local function long_function_name(keys, args) return 'one one one one one one one one one one' end\n" +
	"redis.register_function('fone', long_function_name)\n" +
	"redis.register_function{function_name='ftwo', callback=long_function_name, flags={'no-writes'}, description='the same again, and again, and again'}\n"

// FUNCTION DUMP writes Redis's payload: what redis-server 7.0 dumps (its
// long strings LZF-compressed) restores into walkerd, and what walkerd
// dumps restores into redis-server, the libraries listed alike.
func TestFunction_DumpRestoreBetweenRedisAndWalkerd(t *testing.T) {
	rc := dial(t, startRedis(t))
	wc := dial(t, startServer(t, Config{}).addr)
	for _, c := range []*conn{rc, wc} {
		c.must(t, "FUNCTION", "FLUSH")
	}
	if got := rc.must(t, "FUNCTION", "LOAD", interopLib); got != `"interop"` {
		t.Fatalf("redis FUNCTION LOAD: %s", got)
	}
	fromRedis, err := rc.do("FUNCTION", "DUMP")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(fromRedis.Str), "\xc3") {
		t.Logf("redis's payload is not compressed: %q", fromRedis.Str)
	}
	if got := wc.must(t, "FUNCTION", "RESTORE", string(fromRedis.Str)); got != "+OK" {
		t.Fatalf("walkerd FUNCTION RESTORE of redis's payload: %s", got)
	}
	want := listFunctions(t, rc, "interop")
	if got := listFunctions(t, wc, "interop"); got != want {
		t.Fatalf("after restore:\n walkerd %s\n redis   %s", got, want)
	}
	if got := wc.must(t, "FCALL", "ftwo", "0"); got != `"one one one one one one one one one one"` {
		t.Fatalf("FCALL ftwo: %s", got)
	}
	// A second restore collides, as on Redis; REPLACE and FLUSH do not.
	for _, c := range []struct{ args []string }{{nil}, {[]string{"REPLACE"}}, {[]string{"FLUSH"}}} {
		args := append([]string{"FUNCTION", "RESTORE", string(fromRedis.Str)}, c.args...)
		if got, want := wc.must(t, args...), rc.must(t, args...); got != want {
			t.Errorf("%v: walkerd %s, redis %s", c.args, got, want)
		}
	}

	fromWalkerd, err := wc.do("FUNCTION", "DUMP")
	if err != nil {
		t.Fatal(err)
	}
	rc.must(t, "FUNCTION", "FLUSH")
	if got := rc.must(t, "FUNCTION", "RESTORE", string(fromWalkerd.Str)); got != "+OK" {
		t.Fatalf("redis FUNCTION RESTORE of walkerd's payload: %s", got)
	}
	if got := rc.must(t, "FCALL", "fone", "0"); got != `"one one one one one one one one one one"` {
		t.Fatalf("redis FCALL fone: %s", got)
	}
	// A flipped byte fails the checksum on both.
	bad := []byte(fromWalkerd.Str)
	bad[3] ^= 1
	if got, want := wc.must(t, "FUNCTION", "RESTORE", string(bad)), rc.must(t, "FUNCTION", "RESTORE", string(bad)); got != want {
		t.Errorf("damaged payload: walkerd %s, redis %s", got, want)
	}
}

// listFunctions runs FUNCTION LIST WITHCODE LIBRARYNAME lib and renders
// it with each library's functions sorted (Redis lists them in its
// dictionary's order).
func listFunctions(t *testing.T, c *conn, lib string) string {
	t.Helper()
	v, err := c.do("FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", lib)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range v.Elems {
		for i := 0; i+1 < len(l.Elems); i += 2 {
			if string(l.Elems[i].Str) == "functions" {
				fs := l.Elems[i+1].Elems
				slices.SortFunc(fs, func(a, b resp.Value) int { return strings.Compare(format(a), format(b)) })
			}
		}
	}
	return format(v)
}

// A no-writes function that loops runs outside the log: FUNCTION STATS
// shows it while it runs, SCRIPT KILL refuses it (it is a function),
// FUNCTION KILL stops it, and its caller gets Redis's error. Then an
// EVAL_RO loop is stopped by SCRIPT KILL, and the server serves on.
func TestFunction_KillStopsAReadScriptAndStatsShowsIt(t *testing.T) {
	s := startServer(t, Config{})
	c, runner := dial(t, s.addr), dial(t, s.addr)
	c.must(t, "FUNCTION", "FLUSH")
	lib := "#!lua name=loop\nredis.register_function{function_name='spin', callback=function() local i = 0 while true do i = i + 1 end end, flags={'no-writes'}}"
	if got := c.must(t, "FUNCTION", "LOAD", lib); got != `"loop"` {
		t.Fatalf("FUNCTION LOAD: %s", got)
	}
	if got := c.must(t, "FUNCTION", "STATS"); got != `["running_script", (nil), "engines", ["LUA", ["libraries_count", :1, "functions_count", :1]]]` {
		t.Fatalf("idle FUNCTION STATS: %s", got)
	}
	// Past busy-reply-threshold other commands get BUSY, as from Redis.
	c.must(t, "CONFIG", "SET", "busy-reply-threshold", "200")
	const busyFunction = "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
	const busyEval = "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
	for _, tc := range []struct {
		start       []string
		wrongKill   []string
		wrongAnswer string
		kill        []string
		busy        string
	}{
		{[]string{"FCALL", "spin", "0"}, []string{"SCRIPT", "KILL"}, busyFunction, []string{"FUNCTION", "KILL"}, busyFunction},
		{[]string{"EVAL_RO", "while true do end", "0"}, []string{"FUNCTION", "KILL"}, busyEval, []string{"SCRIPT", "KILL"}, busyEval},
	} {
		done := make(chan string, 1)
		go func() {
			v, err := runner.do(tc.start...)
			if err != nil {
				done <- err.Error()
				return
			}
			done <- format(v)
		}()
		deadline := time.Now().Add(5 * time.Second)
		for {
			stats := c.must(t, "FUNCTION", "STATS")
			if tc.start[0] == "FCALL" && strings.Contains(stats, `"running_script", ["name", "spin", "command", ["FCALL", "spin", "0"], "duration_ms"`) {
				break
			}
			if tc.start[0] != "FCALL" && c.must(t, tc.wrongKill...) == tc.wrongAnswer {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%v never showed as running: %s", tc.start, stats)
			}
			time.Sleep(10 * time.Millisecond)
		}
		seen := time.Now()
		if got := c.must(t, tc.wrongKill...); got != tc.wrongAnswer {
			t.Errorf("%v during %v: %s", tc.wrongKill, tc.start, got)
		}
		// The script began before it was seen running: 250 ms after
		// that it has run past the threshold. (A command sent before the
		// threshold waits for the script here: see busyReply.)
		time.Sleep(time.Until(seen.Add(250 * time.Millisecond)))
		if got := c.must(t, "GET", "x"); got != tc.busy {
			t.Errorf("GET during %v: %s", tc.start, got)
		}
		if got := c.must(t, tc.kill...); got != "+OK" {
			t.Fatalf("%v: %s", tc.kill, got)
		}
		select {
		case got := <-done:
			if !strings.HasPrefix(got, "-ERR Script killed by user with SCRIPT KILL") {
				t.Errorf("%v answered %s", tc.start, got)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%v still runs after %v", tc.start, tc.kill)
		}
		if got := c.must(t, tc.kill...); got != "-NOTBUSY No scripts in execution right now." {
			t.Errorf("second %v: %s", tc.kill, got)
		}
	}
	if got := runner.must(t, "PING"); got != "+PONG" {
		t.Fatalf("PING after the kills: %s", got)
	}
}

// INFO memory counts the cached scripts, functions and libraries, with
// Redis's field names.
func TestInfo_CountsScriptsAndFunctions(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	c.must(t, "SCRIPT", "FLUSH")
	c.must(t, "FUNCTION", "FLUSH")
	c.must(t, "SCRIPT", "LOAD", "return 1")
	c.must(t, "EVAL", "return 2", "0")
	c.must(t, "FUNCTION", "LOAD", "#!lua name=l\nredis.register_function('f1', function() return 1 end)\nredis.register_function('f2', function() return 2 end)")
	v, err := c.do("INFO", "memory")
	if err != nil {
		t.Fatal(err)
	}
	info := string(v.Str)
	for _, want := range []string{"\r\nnumber_of_cached_scripts:2\r\n", "\r\nnumber_of_functions:2\r\n", "\r\nnumber_of_libraries:1\r\n"} {
		if !strings.Contains(info, want) {
			t.Errorf("INFO memory lacks %q: %s", want, info)
		}
	}
}
