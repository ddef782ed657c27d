// Package tlstest makes certificates for tests: a CA and certificates it
// issues, written as PEM files, usable as both server and client
// certificates (mutual TLS between nodes).
//
//	ca := tlstest.NewCA(t, t.TempDir())
//	cert, key := ca.Issue("node1", "127.0.0.1")
//	opts := tlsconf.Options{CertFile: cert, KeyFile: key, CACertFile: ca.CertFile}
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a test certificate authority whose files live in Dir.
type CA struct {
	// Dir holds the CA's files and every file Issue writes.
	Dir string
	// CertFile and KeyFile are the CA's PEM certificate and key (Dir/ca.crt,
	// Dir/ca.key). CertFile is what tls-ca-cert-file takes.
	CertFile, KeyFile string

	t    testing.TB
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewCA creates a CA (ECDSA P-256, valid one day) and writes its files into
// dir. Failures end the test.
func NewCA(t testing.TB, dir string) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          newSerial(t),
		Subject:               pkix.Name{CommonName: "WalkerDB test CA", Organization: []string{"WalkerDB"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("tlstest: create CA: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("tlstest: parse CA: %v", err)
	}
	ca := &CA{Dir: dir, CertFile: filepath.Join(dir, "ca.crt"), KeyFile: filepath.Join(dir, "ca.key"), t: t, cert: cert, key: key}
	writePEM(t, ca.CertFile, "CERTIFICATE", der)
	writeKey(t, ca.KeyFile, key)
	return ca
}

// Issue writes Dir/name.crt and Dir/name.key: a certificate with common name
// name, a fresh random serial, valid one day, for server and client
// authentication, with hosts as its subject alternative names (IP addresses
// or DNS names). Issuing the same name again replaces both files (each by a
// rename, so a reader never sees half a file; the pair is briefly
// mismatched between the two renames).
func (ca *CA) Issue(name string, hosts ...string) (certFile, keyFile string) {
	ca.t.Helper()
	key := newKey(ca.t)
	tmpl := &x509.Certificate{
		SerialNumber: newSerial(ca.t),
		Subject:      pkix.Name{CommonName: name, Organization: []string{"WalkerDB"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		ca.t.Fatalf("tlstest: issue %s: %v", name, err)
	}
	certFile = filepath.Join(ca.Dir, name+".crt")
	keyFile = filepath.Join(ca.Dir, name+".key")
	writeKey(ca.t, keyFile, key)
	writePEM(ca.t, certFile, "CERTIFICATE", der)
	return certFile, keyFile
}

// Serial returns the serial number of the first certificate in a PEM file.
func Serial(t testing.TB, certFile string) *big.Int {
	t.Helper()
	raw, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatalf("tlstest: %v", err)
	}
	b, _ := pem.Decode(raw)
	if b == nil {
		t.Fatalf("tlstest: %s: no PEM block", certFile)
		return nil
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatalf("tlstest: %s: %v", certFile, err)
	}
	return c.SerialNumber
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("tlstest: key: %v", err)
	}
	return key
}

func newSerial(t testing.TB) *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatalf("tlstest: serial: %v", err)
	}
	return n.Add(n, big.NewInt(1))
}

func writeKey(t testing.TB, path string, key *ecdsa.PrivateKey) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("tlstest: marshal key: %v", err)
	}
	writePEM(t, path, "PRIVATE KEY", der)
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatalf("tlstest: %v", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatalf("tlstest: %v", err)
	}
}
