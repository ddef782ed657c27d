package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// loadWith runs walkerd's flag parsing on args and loads path as the
// config file, as parse does.
func loadWith(t *testing.T, path string, args ...string) (*cli.Context, *fileConfig, error) {
	t.Helper()
	a := app()
	var ctx *cli.Context
	var fc *fileConfig
	var lerr error
	a.Action = func(c *cli.Context) error {
		ctx = c
		fc, lerr = loadConfig(c, path)
		return nil
	}
	if err := a.Run(append([]string{"walkerd"}, args...)); err != nil {
		t.Fatal(err)
	}
	return ctx, fc, lerr
}

func writeFile(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigFile_ReadsRedisSyntaxAndWalkerdNames(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, filepath.Join(dir, "walkerd.conf"), `# walkerd
port 7001
bind 127.0.0.2 -::1
  dir /var/lib/walkerdb/data
requirepass "a secret\twith \"quotes\""
APPENDFSYNC everysec
raft 127.0.0.2:17001
standalone yes
merge-min-bytes 1mb
merge-interval 30s
timeout 300
notify-keyspace-events 'Ex'
loglevel warning
save ""
maxmemory 1gb
`)
	c, fc, err := loadWith(t, path)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"tcp": "127.0.0.2:7001", "dir": "/var/lib/walkerdb/data", "requirepass": "a secret\twith \"quotes\"",
		"appendfsync": "everysec", "raft": "127.0.0.2:17001", "log-level": "warn",
	} {
		if got := c.String(name); got != want {
			t.Errorf("--%s = %q, want %q", name, got, want)
		}
	}
	if !c.Bool("standalone") || c.Int64("merge-min-bytes") != 1<<20 || c.Duration("merge-interval").String() != "30s" {
		t.Errorf("standalone %v, merge-min-bytes %d, merge-interval %v", c.Bool("standalone"), c.Int64("merge-min-bytes"), c.Duration("merge-interval"))
	}
	var got []string
	for _, d := range fc.server {
		got = append(got, d.args[0]+"="+d.args[1])
	}
	if want := []string{"timeout=300", "notify-keyspace-events=Ex", "loglevel=warning", "save=", "maxmemory=1gb"}; !slices.Equal(got, want) {
		t.Errorf("server directives %q, want %q", got, want)
	}
	if abs, _ := filepath.Abs(path); fc.Path() != abs {
		t.Errorf("path %q, want %q", fc.Path(), abs)
	}
}

func TestConfigFile_CommandLineWinsAndLaterLinesWin(t *testing.T) {
	path := writeFile(t, filepath.Join(t.TempDir(), "walkerd.conf"),
		"requirepass fromfile\nappendfsync no\nappendfsync everysec\nport 7002\n")
	c, _, err := loadWith(t, path, "--requirepass", "fromflag", "--tcp", "127.0.0.1:7100")
	if err != nil {
		t.Fatal(err)
	}
	if c.String("requirepass") != "fromflag" || c.String("tcp") != "127.0.0.1:7100" {
		t.Errorf("requirepass %q tcp %q: flags must win over the file", c.String("requirepass"), c.String("tcp"))
	}
	if c.String("appendfsync") != "everysec" {
		t.Errorf("appendfsync %q: the later line must win", c.String("appendfsync"))
	}
	// port alone keeps the default host.
	c, _, _ = loadWith(t, path)
	if c.String("tcp") != "127.0.0.1:7002" {
		t.Errorf("tcp %q with port 7002 alone", c.String("tcp"))
	}
}

func TestConfigFile_IncludeIsRelativeToTheWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "conf.d"), 0o755)
	writeFile(t, filepath.Join(dir, "conf.d", "b.conf"), "timeout 20\n")
	writeFile(t, filepath.Join(dir, "conf.d", "a.conf"), "timeout 10\ninclude conf.d/b.conf\nmaxclients 5\n")
	main := writeFile(t, filepath.Join(dir, "walkerd.conf"), "timeout 1\ninclude conf.d/a.conf\nport 7003\n")
	t.Chdir(dir) // Redis resolves include paths from the working directory
	_, fc, err := loadWith(t, main)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range fc.server {
		got = append(got, d.args[0]+"="+d.args[1])
	}
	if want := []string{"timeout=1", "timeout=10", "timeout=20", "maxclients=5"}; !slices.Equal(got, want) {
		t.Errorf("directives %q, want %q (in file order, includes inline)", got, want)
	}

	// A glob includes each match, in order.
	glob := writeFile(t, filepath.Join(dir, "glob.conf"), "include conf.d/*.conf\n")
	_, fc, err = loadWith(t, glob)
	if err != nil || len(fc.server) != 4 {
		t.Fatalf("glob include: %v, %d directives", err, len(fc.server))
	}
}

func TestConfigFile_RefusesBadLinesWithFileAndLine(t *testing.T) {
	dir := t.TempDir()
	loop := filepath.Join(dir, "loop.conf")
	writeFile(t, loop, "include "+loop+"\n")
	writeFile(t, filepath.Join(dir, "inner.conf"), "# fine\nbogus 1\n")
	for _, tc := range []struct{ text, want string }{
		{"port 6379\n\ndaemonize yes\n", ":3\n>>> 'daemonize yes'\nBad directive or wrong number of arguments"},
		{"timeout\n", ":1\n>>> 'timeout'\nBad directive or wrong number of arguments"},
		{"appendfsync always no\n", ":1\n>>> 'appendfsync always no'\nBad directive or wrong number of arguments"},
		{"requirepass \"open\n", ":1\n>>> 'requirepass \"open'\nUnbalanced quotes in configuration line"},
		{"requirepass \"a\"b\n", "Unbalanced quotes in configuration line"},
		{"port 99999\n", "argument must be between 0 and 65535 inclusive"},
		{"standalone maybe\n", "argument must be 'yes' or 'no'"},
		{"timeout abc\n", ":1\n>>> 'timeout abc'\nargument couldn't be parsed into an integer"},
		{"maxmemory 1.5gb\n", "argument must be a memory value"},
		{"include " + loop + "\n", "include nested deeper than 16 files"},
		{"include " + filepath.Join(dir, "inner.conf") + "\n", "inner.conf:2\n>>> 'bogus 1'\nBad directive"},
		{"include /nonexistent/walkerd.conf\n", "can't open config file '/nonexistent/walkerd.conf'"},
	} {
		path := writeFile(t, filepath.Join(dir, "bad.conf"), tc.text)
		_, _, err := loadWith(t, path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.text, err, tc.want)
		}
	}
}

func TestConfigArgs_TakesAFirstArgumentAsTheConfigFile(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{[]string{"walkerd", "/etc/walkerd.conf"}, []string{"walkerd", "--config", "/etc/walkerd.conf"}},
		{[]string{"walkerd", "w.conf", "--tcp", "x:1"}, []string{"walkerd", "--config", "w.conf", "--tcp", "x:1"}},
		{[]string{"walkerd", "--tcp", "x:1", "~/.walkerDb"}, []string{"walkerd", "--tcp", "x:1", "~/.walkerDb"}},
		{[]string{"walkerd"}, []string{"walkerd"}},
		{[]string{"walkerd", "help"}, []string{"walkerd", "help"}},
	} {
		if got := configArgs(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("configArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Multi-argument parameters take their arguments unquoted, as Redis's
// MULTI_ARG configs (and Redis's own CONFIG REWRITE writes them so); a
// single-argument one still refuses more.
func TestConfigFile_MultiArgumentDirectives(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, filepath.Join(dir, "walkerd.conf"),
		"latency-tracking-info-percentiles 50 99 99.9\nlatency-tracking-info-percentiles \"50 99.9\"\nsave \"\"\n")
	_, fc, err := loadWith(t, path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range fc.server {
		got = append(got, d.args[0]+"="+d.args[1])
	}
	if want := []string{"latency-tracking-info-percentiles=50 99 99.9", "latency-tracking-info-percentiles=50 99.9", "save="}; !slices.Equal(got, want) {
		t.Errorf("directives %q, want %q", got, want)
	}
	for _, tc := range []struct{ text, want string }{
		{"latency-tracking-info-percentiles 50 abc\n", "Invalid latency-tracking-info-percentiles parameters"},
		{"notify-keyspace-events K E\n", "Bad directive or wrong number of arguments"}, // one argument in Redis too
	} {
		path := writeFile(t, filepath.Join(dir, "bad.conf"), tc.text)
		if _, _, err := loadWith(t, path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.text, err, tc.want)
		}
	}
}

// The example config file of README.md's Configuration section loads as
// written.
func TestConfigFile_ReadmeExampleLoads(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const first = "# /etc/walkerdb/walkerd.conf\n"
	_, rest, ok := strings.Cut(string(readme), "```\n"+first)
	if !ok {
		t.Fatalf("README.md has no fenced block starting with %q", first)
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("README.md's example config block is not closed")
	}
	path := writeFile(t, filepath.Join(t.TempDir(), "walkerd.conf"), first+block)
	c, fc, err := loadWith(t, path)
	if err != nil {
		t.Fatalf("README.md's example config: %v\n%s", err, first+block)
	}
	if c.String("tcp") != "10.0.0.5:6379" || c.String("dir") != "/var/lib/walkerdb/data" || c.String("requirepass") != "a secret with spaces" {
		t.Errorf("tcp %q dir %q requirepass %q", c.String("tcp"), c.String("dir"), c.String("requirepass"))
	}
	if len(fc.server) == 0 {
		t.Error("no server directive read from the example")
	}
}

// runParse runs walkerd's flag parsing on args, as run does, and returns
// the settings and the start-up settings the server gets.
func runParse(t *testing.T, args ...string) (values, defaults map[string]string) {
	t.Helper()
	a := app()
	var perr error
	a.Action = func(c *cli.Context) error {
		var s *settings
		if s, perr = parse(c); perr == nil {
			values, defaults = startupSettings(c, s)
		}
		return nil
	}
	if err := a.Run(append([]string{"walkerd"}, args...)); err != nil {
		t.Fatal(err)
	}
	if perr != nil {
		t.Fatal(perr)
	}
	return values, defaults
}

// The start-up settings (server.Config's Settings and Defaults, which
// CONFIG GET shows and CONFIG REWRITE writes) are the values in effect,
// from the file or the command line, in redis.conf's names, with the
// directories absolute; --restore is not one.
func TestStartupSettings_CarryTheFlagsInEffect(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, filepath.Join(dir, "w.conf"), "standalone yes\nraft 127.0.0.1:17481\n")
	t.Chdir(dir)
	v, d := runParse(t, "--config", path, "--tcp", "127.0.0.2:7481", "--dir", "c4/data", "--merge-ratio", "0.3",
		"--requirepass", "pw", "--join", "127.0.0.1:7001", "--snapshot-interval", "1m", "--restore", "x.wdb")
	for name, want := range map[string][2]string{
		"port": {"7481", "6379"}, "bind": {"127.0.0.2", "127.0.0.1"},
		"dir": {filepath.Join(dir, "c4", "data"), "walker-data/data"}, "raftdir": {filepath.Join(dir, "walker-data", "raft"), "walker-data/raft"},
		"raft": {"127.0.0.1:17481", "127.0.0.1:16379"}, "standalone": {"yes", "no"}, "join": {"127.0.0.1:7001", ""},
		"snapshot-interval": {"1m0s", "30s"}, "id": {"", ""}, "segment-size": {"67108864", "67108864"},
		"metrics-allow-remote": {"no", "no"},
	} {
		if v[name] != want[0] || d[name] != want[1] {
			t.Errorf("%s = %q (default %q), want %q (default %q)", name, v[name], d[name], want[0], want[1])
		}
	}
	for _, name := range []string{"restore", "config", "tcp", "requirepass", "merge-ratio"} {
		if _, ok := d[name]; ok {
			t.Errorf("%s is a start-up setting", name)
		}
	}
	// --bootstrap false is standalone too.
	if v, _ := runParse(t, "--bootstrap", "false"); v["standalone"] != "yes" || v["bootstrap"] != "false" {
		t.Errorf("--bootstrap false: standalone %q bootstrap %q", v["standalone"], v["bootstrap"])
	}
}
