// Package tlsclient builds the TLS configuration of WalkerDB's client
// tools (walkerctl, walkerbench) from redis-cli's options: --tls,
// --cacert, --cert and --key.
package tlsclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
)

// Config is the TLS configuration of --tls (on), --cacert (a PEM file of
// CA certificates; "": the system's), --cert and --key (a client
// certificate and its key, for servers with tls-auth-clients yes). It is
// nil without --tls, and an error names the flag at fault. The server
// name to verify is left empty: Dial fills it from the address.
func Config(on bool, cacert, cert, key string) (*tls.Config, error) {
	if !on {
		if cacert != "" || cert != "" || key != "" {
			return nil, errors.New("--cacert, --cert and --key need --tls")
		}
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cacert != "" {
		pem, err := os.ReadFile(cacert)
		if err != nil {
			return nil, fmt.Errorf("--cacert: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cacert %s: no PEM certificate in it", cacert)
		}
	}
	if (cert == "") != (key == "") {
		return nil, errors.New("--cert and --key go together")
	}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("--cert/--key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// Client wraps an open connection to addr in TLS with cfg and runs the
// handshake: the server's certificate must name addr's host (an IP or a
// name) unless cfg names another.
func Client(conn net.Conn, addr string, cfg *tls.Config) (*tls.Conn, error) {
	c := cfg.Clone()
	if c.ServerName == "" {
		c.ServerName, _, _ = net.SplitHostPort(addr)
	}
	tc := tls.Client(conn, c)
	if err := tc.Handshake(); err != nil {
		return nil, fmt.Errorf("%s: TLS: %w", addr, err)
	}
	return tc, nil
}
