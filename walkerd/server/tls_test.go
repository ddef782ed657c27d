package server

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/tlstest"
	"github.com/walkerdb/walkerdb/walkerd/tlsconf"
)

// startTLSServer serves cfg on a plain listener (s.addr) and a TLS one,
// returned with a client configuration trusting the test CA.
func startTLSServer(t *testing.T, cfg Config) (*testServer, string, *tls.Config, *tlstest.CA) {
	t.Helper()
	ca := tlstest.NewCA(t, t.TempDir())
	cert, key := ca.Issue("server", "127.0.0.1")
	tc, err := tlsconf.New(tlsconf.Options{CertFile: cert, KeyFile: key, CACertFile: ca.CertFile, AuthClients: "no"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLS = tc
	s := startServer(t, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.ServeTLS(ln, tc.Server()) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != nil {
			t.Errorf("ServeTLS: %v", err)
		}
	})
	pem, err := os.ReadFile(ca.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return s, ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}, ca
}

func dialTLS(t *testing.T, addr string, cfg *tls.Config) (*conn, *tls.Conn) {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &conn{c: c, r: bufio.NewReader(c)}, c
}

func TestServeTLS_BesidePlainSharesDataAndClientList(t *testing.T) {
	s, taddr, ccfg, _ := startTLSServer(t, Config{})
	plain := dial(t, s.addr)
	sec, _ := dialTLS(t, taddr, ccfg)
	if got := sec.must(t, "SET", "k", "over tls"); got != "+OK" {
		t.Fatalf("SET over TLS = %s", got)
	}
	if got := plain.must(t, "GET", "k"); got != `"over tls"` {
		t.Fatalf("GET over plain = %s", got)
	}
	list := plain.must(t, "CLIENT", "LIST")
	_, tport, _ := net.SplitHostPort(taddr)
	var tlsLine string
	for _, l := range strings.Split(strings.Trim(list, `"`), "\n") {
		if strings.Contains(l, "laddr=127.0.0.1:"+tport) {
			tlsLine = l
		}
	}
	if tlsLine == "" || strings.Contains(tlsLine, "fd=-1") {
		t.Fatalf("CLIENT LIST has no TLS client with its fd:\n%s", list)
	}
	if a := s.TLSAddr(); a == nil || a.String() != taddr {
		t.Fatalf("TLSAddr = %v, want %s", a, taddr)
	}
}

func TestConfigSet_TLSParametersApplyTogetherAndRollBack(t *testing.T) {
	s, taddr, ccfg, ca := startTLSServer(t, Config{})
	c := dial(t, s.addr)
	if got := c.must(t, "CONFIG", "GET", "tls-auth-clients"); got != `["tls-auth-clients", "no"]` {
		t.Fatalf("CONFIG GET tls-auth-clients = %s", got)
	}
	// A new certificate and its key in one CONFIG SET: one reload.
	cert2, key2 := ca.Issue("server2", "127.0.0.1")
	if got := c.must(t, "CONFIG", "SET", "tls-cert-file", cert2, "tls-key-file", key2); got != "+OK" {
		t.Fatalf("CONFIG SET pair = %s", got)
	}
	_, tc := dialTLS(t, taddr, ccfg)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	if got, want := tc.ConnectionState().PeerCertificates[0].SerialNumber, tlstest.Serial(t, cert2); got.Cmp(want) != 0 {
		t.Fatalf("serial %v, want %v", got, want)
	}
	// One of them alone does not match the other's key: refused, and
	// timeout, set in the same CONFIG SET, gets its old value back.
	cert3, _ := ca.Issue("server3", "127.0.0.1")
	got := c.must(t, "CONFIG", "SET", "timeout", "77", "tls-cert-file", cert3)
	if want := "-ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - Unable to update TLS configuration. Check server logs."; got != want {
		t.Fatalf("CONFIG SET mismatched = %s, want %s", got, want)
	}
	if got := c.must(t, "CONFIG", "GET", "timeout"); got != `["timeout", "0"]` {
		t.Fatalf("timeout after the rollback = %s", got)
	}
	if got := c.must(t, "CONFIG", "GET", "tls-cert-file"); got != `["tls-cert-file", "`+cert2+`"]` {
		t.Fatalf("tls-cert-file after the rollback = %s", got)
	}
	if got := c.must(t, "CONFIG", "SET", "tls-prefer-server-ciphers", "maybe"); got != "-ERR CONFIG SET failed (possibly related to argument 'tls-prefer-server-ciphers') - argument must be 'yes' or 'no'" {
		t.Fatalf("bad bool = %s", got)
	}
}

func TestConfigGet_TLSParametersWithoutTLSAreReadOnly(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	if got := c.must(t, "CONFIG", "GET", "tls-auth-clients"); got != `["tls-auth-clients", "yes"]` {
		t.Fatalf("CONFIG GET tls-auth-clients = %s", got)
	}
	if got := c.must(t, "CONFIG", "SET", "tls-cert-file", "x"); !strings.Contains(got, "can't set immutable config") {
		t.Fatalf("CONFIG SET without TLS = %s", got)
	}
}
