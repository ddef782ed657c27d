package main

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
	"github.com/walkerdb/walkerdb/internal/proc"
	"github.com/walkerdb/walkerdb/internal/tlsclient"
	"github.com/walkerdb/walkerdb/internal/tlstest"
)

// walkerctl reaches a node that serves TLS only, and authenticates as an
// ACL user: --tls --cacert (redis-cli's names), --user and --password.
func TestCLI_TLSAndACLUser(t *testing.T) {
	dir := t.TempDir()
	authority := tlstest.NewCA(t, dir)
	ca := authority.CertFile
	cert, key := authority.Issue("node", "127.0.0.1")
	addrs := harness.FreeAddrs(t, 2)
	_, port, _ := net.SplitHostPort(addrs[0])
	p := &proc.Process{Bin: walkerd(t), LogPath: filepath.Join(dir, "walkerd.log")}
	t.Cleanup(p.Kill)
	if err := p.Start("--standalone", "-tcp", "127.0.0.1:0", "--tls-port", port, "-raft", addrs[1], "-dir", filepath.Join(dir, "data"),
		"--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", ca, "--tls-auth-clients", "no",
		"--requirepass", "adminpw"); err != nil {
		t.Fatal(err)
	}
	tlsAddr := "127.0.0.1:" + port
	admin := []string{"--addr", tlsAddr, "--tls", "--cacert", ca, "--password", "adminpw"}
	eventually(t, 15*time.Second, func() error {
		if r := ctl(t, append(admin, "set", "k", "v")...); r.code != 0 {
			return fmt.Errorf("set over TLS: exit %d %s\n%s", r.code, r.stderr, p.Log())
		}
		return nil
	})
	if out := ok(t, append(admin, "get", "k")...); out != "v\n" {
		t.Fatalf("get over TLS printed %q", out)
	}

	// An ACL user that may read only.
	reader := []string{"--addr", tlsAddr, "--tls", "--cacert", ca, "--user", "reader", "--password", "readerpw"}
	wantExit(t, exitAuth, []string{"rejected the password (WRONGPASS)"}, append(reader, "get", "k")...)
	if _, err := tlsDoCLI(t, admin, "ACL", "SETUSER", "reader", "on", ">readerpw", "~*", "+get"); err != nil {
		t.Fatal(err)
	}
	if out := ok(t, append(reader, "get", "k")...); out != "v\n" {
		t.Fatalf("get as reader printed %q", out)
	}
	r := ctl(t, append(reader, "set", "k", "w")...)
	if r.code == 0 || !strings.Contains(r.stderr, "NOPERM") {
		t.Fatalf("set as reader: exit %d, %q", r.code, r.stderr)
	}

	// Usage mistakes are named.
	wantExit(t, exitUsage, []string{"--user needs --password"}, "--addr", tlsAddr, "--user", "reader", "get", "k")
	wantExit(t, exitUsage, []string{"--cacert, --cert and --key need --tls"}, "--addr", tlsAddr, "--cacert", ca, "get", "k")
	// Without --tls the TLS port answers no RESP.
	if r := ctl(t, "--addr", tlsAddr, "--timeout", "2s", "--password", "adminpw", "get", "k"); r.code == 0 {
		t.Fatalf("plain RESP to the TLS port succeeded: %q", r.stdout)
	}
}

// tlsDoCLI runs one command through walkerctl's own client with the
// connection flags of args (--addr, --tls, --cacert, --user, --password).
func tlsDoCLI(t *testing.T, args []string, cmd ...string) (string, error) {
	t.Helper()
	a := auth{}
	var addr, cacert string
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "--addr":
			addr = args[i+1]
		case "--cacert":
			cacert = args[i+1]
		case "--user":
			a.user = args[i+1]
		case "--password":
			a.password = args[i+1]
		}
	}
	cfg, err := tlsclient.Config(true, cacert, "", "")
	if err != nil {
		return "", err
	}
	a.tls = cfg
	cl, err := dial(t.Context(), addr, a, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer cl.close()
	v, err := cl.do(cmd...)
	return replyText(v), err
}
