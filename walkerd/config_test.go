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
		{"port 99999\n", "argument must be between 1 and 65535 inclusive"},
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
