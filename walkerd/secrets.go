package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"unsafe"

	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/walkerd/acl"
)

// Secrets on the command line.
//
// A password given as a flag (--requirepass, --cluster-secret) is visible
// to every local user in ps and /proc/PID/cmdline for as long as walkerd
// runs. The README recommends the file forms instead (--requirepass-file,
// --cluster-secret-file) or the environment (WALKERD_REQUIREPASS, which
// /proc/PID/environ shows to the same user and root only). For those who
// pass them anyway, hideSecrets overwrites the values in the process's own
// argument memory as soon as walkerd starts, as many daemons do, so that ps
// shows "--requirepass xxxxxx": the window is the few milliseconds before
// main runs.

// secretFlags are the flags whose values hideSecrets hides.
var secretFlags = []string{"requirepass", "cluster-secret", "masterauth"}

// hideSecrets returns a copy of args (os.Args) that the program parses,
// and overwrites the values of secret flags in args' own memory with 'x'.
// On Linux, Go's os.Args point into the argument area /proc/PID/cmdline
// reads, so the overwrite is what ps then shows.
func hideSecrets(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.Clone(a) // the copy must not share the memory overwritten below
	}
	for i := 1; i < len(args); i++ {
		name, value, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !strings.HasPrefix(args[i], "-") || !isSecretFlag(name) {
			continue
		}
		if hasValue {
			overwrite(args[i], len(args[i])-len(value))
		} else if i+1 < len(args) {
			i++
			overwrite(args[i], 0)
		}
	}
	return out
}

func isSecretFlag(name string) bool {
	for _, f := range secretFlags {
		if name == f {
			return true
		}
	}
	return false
}

// overwrite sets the bytes of s from offset on to 'x', in place.
func overwrite(s string, from int) {
	if len(s) <= from {
		return
	}
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	for i := from; i < len(b); i++ {
		b[i] = 'x'
	}
}

// secretFileFlags are the flags that read a secret from a file.
func secretFileFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "requirepass-file", Usage: "read the default user's password from `FILE` (its first line); safer than --requirepass, which ps shows",
			EnvVars: []string{"WALKERD_REQUIREPASS_FILE"}},
		&cli.StringFlag{Name: "aclfile", Usage: "Redis's aclfile: ACL LOAD reads the users from `FILE` (and makes them the cluster's), ACL SAVE writes them",
			EnvVars: []string{"WALKERD_ACLFILE"}},
	}
}

// readSecretFile reads a secret from the first line of a file. The file
// should be readable by walkerd's user only; a group- or world-readable
// one is refused, as ssh refuses a key file others can read.
func readSecretFile(flag, path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("--%s: %w", flag, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("--%s %s: the file is readable by others (mode %04o); chmod 600 it", flag, path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--%s: %w", flag, err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimRight(line, "\r")
	if line == "" {
		return "", fmt.Errorf("--%s %s: the file is empty", flag, path)
	}
	return line, nil
}

// requirePass is the default user's password from --requirepass or
// --requirepass-file (not both).
func requirePass(c *cli.Context) (string, error) {
	pass, file := c.String("requirepass"), c.String("requirepass-file")
	if file == "" {
		return pass, nil
	}
	if pass != "" {
		return "", errors.New("--requirepass and --requirepass-file: give one of them")
	}
	return readSecretFile("requirepass-file", file)
}

// checkACLFile refuses to start with an aclfile that cannot be read or
// parsed, as Redis refuses ("Aborting Redis startup because of ACL
// errors").
func checkACLFile(path string) error {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--aclfile: %w", err)
	}
	if _, err := acl.ParseFileAs(path, string(b)); err != nil {
		return fmt.Errorf("--aclfile: %w", err)
	}
	return nil
}

// servePprof serves Go's profiler on a loopback address: the index, the
// profiles, symbol and trace, but not /debug/pprof/cmdline, which would
// show anyone who reaches it the command line and its secrets. It has no
// authentication, so a non-loopback address is refused.
func servePprof(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof %q: want host:port", addr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("--pprof %q: the profiler has no authentication; give a loopback address such as 127.0.0.1:6060", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", func(w http.ResponseWriter, r *http.Request) {
		if strings.TrimPrefix(r.URL.Path, "/debug/pprof/") == "cmdline" {
			http.NotFound(w, r)
			return
		}
		pprof.Index(w, r)
	})
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go http.Serve(ln, mux)
	return ln, nil
}
