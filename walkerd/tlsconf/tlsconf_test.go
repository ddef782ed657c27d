package tlsconf_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/tlstest"
	"github.com/walkerdb/walkerdb/walkerd/tlsconf"
)

func TestParseProtocols_RedisNamesAndDefault(t *testing.T) {
	cases := []struct {
		in       string
		min, max uint16
		bad      bool
	}{
		{"", tls.VersionTLS12, tls.VersionTLS13, false},
		{"TLSv1.2", tls.VersionTLS12, tls.VersionTLS12, false},
		{"tlsv1.3", tls.VersionTLS13, tls.VersionTLS13, false},
		{"TLSv1.3 TLSv1.2", tls.VersionTLS12, tls.VersionTLS13, false},
		{"TLSv1 TLSv1.1 TLSv1.2", tls.VersionTLS10, tls.VersionTLS12, false},
		{"TLSv1 TLSv1.2", 0, 0, true}, // a gap: Go has a range only
		{"SSLv3", 0, 0, true},
		{"TLSv1.4", 0, 0, true},
	}
	for _, c := range cases {
		min, max, err := tlsconf.ParseProtocols(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("ParseProtocols(%q) = %x..%x, want an error", c.in, min, max)
			}
			continue
		}
		if err != nil || min != c.min || max != c.max {
			t.Errorf("ParseProtocols(%q) = %x..%x, %v; want %x..%x", c.in, min, max, err, c.min, c.max)
		}
	}
	_, _, err := tlsconf.ParseProtocols("SSLv3")
	if !strings.Contains(err.Error(), "Invalid tls-protocols specified") {
		t.Errorf("error %q lacks Redis's text", err)
	}
}

func TestParseCiphers_OpenSSLNamesKeywordsAndRemoval(t *testing.T) {
	ids, err := tlsconf.ParseCiphers("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384")
	if err != nil {
		t.Fatal(err)
	}
	want := []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}
	if len(ids) != 2 || ids[0] != want[0] || ids[1] != want[1] {
		t.Fatalf("ids = %x, want %x", ids, want)
	}
	ids, err = tlsconf.ParseCiphers("DEFAULT:!ECDHE-ECDSA-AES128-GCM-SHA256")
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) == 0 {
		t.Fatal("DEFAULT minus one selected nothing")
	}
	for _, id := range ids {
		if id == tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 {
			t.Fatal("removed suite still selected")
		}
	}
	if ids, err := tlsconf.ParseCiphers(""); ids != nil || err != nil {
		t.Fatalf("empty: %v %v, want Go's defaults (nil)", ids, err)
	}
	for _, bad := range []string{"MEDIUM", "NOT-A-CIPHER", "ECDHE-RSA-AES128-GCM-SHA256:!ECDHE-RSA-AES128-GCM-SHA256"} {
		if _, err := tlsconf.ParseCiphers(bad); err == nil {
			t.Errorf("ParseCiphers(%q): want an error", bad)
		}
	}
	if err := tlsconf.ValidateCiphersuites("TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"TLS_AES_128_CCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"} {
		if err := tlsconf.ValidateCiphersuites(bad); err == nil {
			t.Errorf("ValidateCiphersuites(%q): want an error", bad)
		}
	}
}

// serve runs a TLS listener with cfg that answers each connection with
// "ok" once the handshake is done.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				if err := c.(*tls.Conn).Handshake(); err == nil {
					io.WriteString(c, "ok")
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// dial connects with cfg and reads the server's "ok"; it returns the
// connection state or the error of the handshake or of the read.
func dial(addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2)
	if _, err := io.ReadFull(c, buf); err != nil {
		return c.ConnectionState(), err
	}
	return c.ConnectionState(), nil
}

func newConfig(t *testing.T, auth string) (*tlsconf.Config, *tlstest.CA, string, string) {
	t.Helper()
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir)
	cert, key := ca.Issue("server", "127.0.0.1")
	c, err := tlsconf.New(tlsconf.Options{CertFile: cert, KeyFile: key, CACertFile: ca.CertFile, AuthClients: auth})
	if err != nil {
		t.Fatal(err)
	}
	return c, ca, cert, key
}

func clientConfig(t *testing.T, ca *tlstest.CA, name string) *tls.Config {
	t.Helper()
	o := tlsconf.Options{CACertFile: ca.CertFile, AuthClients: "no"}
	o.CertFile, o.KeyFile = ca.Issue(name, "127.0.0.1")
	c, err := tlsconf.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c.Client()
}

func TestAuthClients_YesNoOptional(t *testing.T) {
	for _, tc := range []struct {
		auth                string
		withCert, withoutOK bool
	}{
		{"yes", true, false},
		{"", true, false}, // Redis's default is yes
		{"optional", true, true},
		{"no", true, true},
	} {
		t.Run("auth="+tc.auth, func(t *testing.T) {
			srv, ca, _, _ := newConfig(t, tc.auth)
			addr := serve(t, srv.Server())
			if _, err := dial(addr, clientConfig(t, ca, "client")); err != nil {
				t.Fatalf("client with a certificate: %v", err)
			}
			bare := &tls.Config{RootCAs: poolOf(t, ca.CertFile), ServerName: "127.0.0.1"}
			_, err := dial(addr, bare)
			if tc.withoutOK && err != nil {
				t.Fatalf("client without a certificate refused: %v", err)
			}
			if !tc.withoutOK && err == nil {
				t.Fatal("client without a certificate accepted")
			}
			// A certificate from another CA is never accepted when verified.
			other := tlstest.NewCA(t, t.TempDir())
			foreign := clientConfig(t, other, "foreign")
			foreign.VerifyConnection = nil // trust the server whatever its CA
			_, err = dial(addr, foreign)
			if tc.auth != "no" && err == nil {
				t.Fatal("certificate of another CA accepted")
			}
		})
	}
}

func TestClusterServer_RequiresClientCertificateEvenWithAuthNo(t *testing.T) {
	srv, ca, _, _ := newConfig(t, "no")
	addr := serve(t, srv.ClusterServer())
	if _, err := dial(addr, srv.Client()); err != nil {
		t.Fatalf("node to node: %v", err)
	}
	bare := &tls.Config{RootCAs: poolOf(t, ca.CertFile), ServerName: "127.0.0.1"}
	if _, err := dial(addr, bare); err == nil {
		t.Fatal("ClusterServer accepted a client without a certificate")
	}
	// Client refuses a server whose certificate another CA signed.
	other := tlstest.NewCA(t, t.TempDir())
	cert, key := other.Issue("impostor", "127.0.0.1")
	imp, err := tlsconf.New(tlsconf.Options{CertFile: cert, KeyFile: key, AuthClients: "no"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dial(serve(t, imp.Server()), srv.Client()); err == nil {
		t.Fatal("Client accepted a server of another CA")
	}
}

func TestReload_NewCertificateServesAndBadFileKeepsOld(t *testing.T) {
	srv, ca, cert, _ := newConfig(t, "no")
	addr := serve(t, srv.Server())
	client := &tls.Config{RootCAs: poolOf(t, ca.CertFile), ServerName: "127.0.0.1"}
	serial := func() string {
		t.Helper()
		cs, err := dial(addr, client)
		if err != nil {
			t.Fatal(err)
		}
		return cs.PeerCertificates[0].SerialNumber.String()
	}
	first := serial()
	if want := tlstest.Serial(t, cert).String(); first != want {
		t.Fatalf("serial %s, want %s", first, want)
	}
	ca.Issue("server", "127.0.0.1") // new files, new serial
	if err := srv.Reload(); err != nil {
		t.Fatal(err)
	}
	second := serial()
	if second == first || second != tlstest.Serial(t, cert).String() {
		t.Fatalf("after reload serial %s (first %s, file %s)", second, first, tlstest.Serial(t, cert))
	}
	// A broken certificate file: Reload fails naming it, the old one serves.
	if err := os.WriteFile(cert, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := srv.Reload()
	if err == nil || !strings.Contains(err.Error(), "tls-cert-file") {
		t.Fatalf("Reload with a broken file: %v", err)
	}
	if got := serial(); got != second {
		t.Fatalf("after a failed reload serial %s, want the old %s", got, second)
	}
	// Set with a missing file fails too and changes nothing.
	if err := srv.Set("tls-cert-file", filepath.Join(t.TempDir(), "missing.crt")); err == nil {
		t.Fatal("Set of a missing file succeeded")
	}
	if got, _ := srv.Get("tls-cert-file"); got != cert {
		t.Fatalf("tls-cert-file = %q after a failed Set, want %q", got, cert)
	}
	// Set to a new pair through Update, as CONFIG SET of both does.
	o := srv.Options()
	o.CertFile, o.KeyFile = ca.Issue("server2", "127.0.0.1")
	if err := srv.Update(o); err != nil {
		t.Fatal(err)
	}
	if got := serial(); got != tlstest.Serial(t, o.CertFile).String() {
		t.Fatalf("after Update serial %s, want %s", got, tlstest.Serial(t, o.CertFile))
	}
}

func TestSet_ValuesAndProtocols(t *testing.T) {
	srv, ca, _, _ := newConfig(t, "yes")
	if err := srv.Set("tls-auth-clients", "maybe"); !errors.Is(err, tlsconf.ErrBadValue) ||
		!strings.Contains(err.Error(), "argument(s) must be one of the following: no, yes, optional") {
		t.Fatalf("bad enum: %v", err)
	}
	if err := srv.Set("tls-prefer-server-ciphers", "sure"); !errors.Is(err, tlsconf.ErrBadValue) {
		t.Fatalf("bad bool: %v", err)
	}
	if err := srv.Set("tls-nope", "x"); !errors.Is(err, tlsconf.ErrUnknownOption) {
		t.Fatalf("unknown: %v", err)
	}
	if err := srv.Set("tls-auth-clients", "OPTIONAL"); err != nil {
		t.Fatal(err)
	}
	if v, _ := srv.Get("tls-auth-clients"); v != "optional" {
		t.Fatalf("tls-auth-clients = %q", v)
	}
	if err := srv.Set("tls-protocols", "TLSv1.2"); err != nil {
		t.Fatal(err)
	}
	addr := serve(t, srv.Server())
	c13 := &tls.Config{RootCAs: poolOf(t, ca.CertFile), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13}
	if _, err := dial(addr, c13); err == nil {
		t.Fatal("TLS 1.3 accepted with tls-protocols TLSv1.2")
	}
	c12 := &tls.Config{RootCAs: poolOf(t, ca.CertFile), ServerName: "127.0.0.1"}
	cs, err := dial(addr, c12)
	if err != nil || cs.Version != tls.VersionTLS12 {
		t.Fatalf("TLS 1.2: version %x, %v", cs.Version, err)
	}
	if err := srv.Set("tls-protocols", "TLSv9"); err == nil {
		t.Fatal("bad protocol accepted")
	}
	if v, _ := srv.Get("tls-protocols"); v != "TLSv1.2" {
		t.Fatalf("tls-protocols = %q after a failed Set", v)
	}
	// tls-ciphers narrows TLS 1.2 suites.
	if err := srv.Set("tls-ciphers", "ECDHE-ECDSA-AES256-GCM-SHA384"); err != nil {
		t.Fatal(err)
	}
	cs, err = dial(addr, c12)
	if err != nil || cs.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 {
		t.Fatalf("suite %x, %v", cs.CipherSuite, err)
	}
	// auth-clients yes without a CA is refused, as Redis's tlsConfigure.
	o := srv.Options()
	o.CACertFile, o.AuthClients = "", "yes"
	if err := srv.Update(o); err == nil || !strings.Contains(err.Error(), "tls-ca-cert-file or tls-ca-cert-dir") {
		t.Fatalf("no CA: %v", err)
	}
}

func TestNew_ErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir)
	cert, key := ca.Issue("server", "127.0.0.1")
	other, _ := ca.Issue("other", "127.0.0.1")
	for _, tc := range []struct {
		o    tlsconf.Options
		want string
	}{
		{tlsconf.Options{KeyFile: key, AuthClients: "no"}, "No tls-cert-file configured"},
		{tlsconf.Options{CertFile: cert, AuthClients: "no"}, "No tls-key-file configured"},
		{tlsconf.Options{CertFile: filepath.Join(dir, "nope.crt"), KeyFile: key, AuthClients: "no"}, "tls-cert-file"},
		{tlsconf.Options{CertFile: other, KeyFile: key, AuthClients: "no"}, "other.crt"},
		{tlsconf.Options{CertFile: cert, KeyFile: key, CACertFile: key}, "tls-ca-cert-file"},
		{tlsconf.Options{CertFile: cert, KeyFile: key, CACertDir: filepath.Join(dir, "none")}, "tls-ca-cert-dir"},
	} {
		_, err := tlsconf.New(tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error with %q", tc.o, err, tc.want)
		}
	}
	// tls-ca-cert-dir reads the PEM files of the directory.
	if _, err := tlsconf.New(tlsconf.Options{CertFile: cert, KeyFile: key, CACertDir: dir}); err != nil {
		t.Fatal(err)
	}
}

func poolOf(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		t.Fatalf("%s: no certificate", file)
	}
	return p
}
