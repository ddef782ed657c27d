package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/walkerd/nodelink"
	"github.com/walkerdb/walkerdb/walkerd/tlsconf"
)

// Links between nodes (walkerd/nodelink): how a node proves to the others
// that it is a member of their cluster, on the Raft port and on the
// forwarding connections to the leader's RESP port.
//
//	--cluster-secret-file FILE   the shared secret, read from FILE (preferred)
//	--cluster-secret S           the shared secret itself (also
//	                             WALKERD_CLUSTER_SECRET); it shows in ps
//	--tls-cluster yes|no         mutual TLS on Raft links with the node's
//	                             certificate (--tls-cert-file, --tls-key-file),
//	                             peers verified against --tls-ca-cert-file;
//	                             it needs the secret too: a certificate the
//	                             CA signed for a client would pass as a node
//
// With none of them, links are not authenticated: anyone who can reach the
// Raft port can append to the log, and any local process can link to the
// RESP port and skip AUTH. walkerd then logs a WARN, and refuses to start
// unless its Raft and RESP bind addresses are loopback; a start-up
// requirepass, if given, keys the links meanwhile. A standalone node has
// no links.
//
// The secret is never logged, and CONFIG GET does not show it.

// The flags read here (declared in main.go's app).
const (
	flagClusterSecret     = "cluster-secret"
	flagClusterSecretFile = "cluster-secret-file"
	flagTLSCluster        = "tls-cluster"
)

// nodeLinks builds the node link settings from the flags, or fails when
// they are inconsistent or leave a non-loopback node unauthenticated. It
// reads nothing but the secret file and the TLS files, and listens on
// nothing.
func nodeLinks(c *cli.Context, s *settings, log *slog.Logger) (*nodelink.Config, error) {
	if s.standalone {
		return nil, nil
	}
	links := &nodelink.Config{}
	secret, file := c.String(flagClusterSecret), c.String(flagClusterSecretFile)
	switch {
	case secret != "" && file != "":
		return nil, fmt.Errorf("--%s and --%s: give one of them", flagClusterSecret, flagClusterSecretFile)
	case file != "":
		b, err := nodelink.LoadSecret(file)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", flagClusterSecretFile, err)
		}
		links.Secret = b
	case secret != "":
		if err := nodelink.CheckSecret([]byte(secret)); err != nil {
			return nil, fmt.Errorf("--%s: %w", flagClusterSecret, err)
		}
		links.Secret = []byte(secret)
	}
	var tc *tlsconf.Config
	switch strings.ToLower(c.String(flagTLSCluster)) {
	case "", "no":
	case "yes":
		var err error
		if tc, err = clusterTLS(c); err != nil {
			return nil, fmt.Errorf("--%s yes: %w", flagTLSCluster, err)
		}
		links.TLSServer, links.TLSClient = tc.ClusterServer(), tc.Client()
	default:
		return nil, fmt.Errorf("--%s %q: want yes or no", flagTLSCluster, c.String(flagTLSCluster))
	}
	if tc != nil && len(links.Secret) == 0 {
		return nil, fmt.Errorf("--%s yes needs --%s too: TLS encrypts node links and checks certificates, "+
			"but only the secret proves that a peer is a node (a certificate the CA signed for a client would pass as one)",
			flagTLSCluster, flagClusterSecretFile)
	}
	if respTLSOnly(c, s) {
		// Nodes advertise their TLS port (tls.go): forwarding links
		// dial it with TLS, presenting the node's certificate.
		if tc == nil {
			var err error
			if tc, err = clusterTLS(c); err != nil {
				return nil, fmt.Errorf("--tls-port without a plain-text port: forwarding to other nodes: %w", err)
			}
		}
		links.RESPTLS = tc.Client()
	}
	if links.Authenticated() {
		return links, nil
	}
	for _, a := range []struct{ flag, addr string }{{"raft", s.raftAddr}, {"tcp", s.tcp}} {
		if !loopback(a.addr) {
			return nil, fmt.Errorf("node links are not authenticated and -%s %s is not a loopback address: anyone who reaches it could append to the Raft log. "+
				"Give the nodes a shared secret (--%s FILE) or mutual TLS (--%s yes), or bind to 127.0.0.1",
				a.flag, a.addr, flagClusterSecretFile, flagTLSCluster)
		}
	}
	if s.pass != "" {
		// The start-up password keys the links, so that a local process
		// without it can neither link (and skip AUTH on the RESP port) nor
		// send Raft RPCs. The nodes must share it; a later CONFIG SET
		// requirepass does not change it.
		links.Secret = []byte(s.pass)
		log.Warn("node links are keyed with the start-up requirepass, not a cluster secret: "+
			"allowed because this node binds to loopback only. Set --cluster-secret-file", "raft", s.raftAddr, "resp", s.tcp)
		return links, nil
	}
	log.Warn("node links are not authenticated: any local process can send Raft RPCs and forwarded commands, "+
		"and link to skip AUTH and ACLs; allowed because this node binds to loopback only. Set --cluster-secret-file", "raft", s.raftAddr, "resp", s.tcp)
	return links, nil
}

// clusterTLS loads the node's certificate, key and CA from the TLS flags.
func clusterTLS(c *cli.Context) (*tlsconf.Config, error) {
	get := func(name string) string {
		if !hasFlag(c, name) {
			return ""
		}
		return c.String(name)
	}
	o := tlsconf.Options{
		CertFile: get("tls-cert-file"), KeyFile: get("tls-key-file"),
		ClientCertFile: get("tls-client-cert-file"), ClientKeyFile: get("tls-client-key-file"),
		CACertFile: get("tls-ca-cert-file"), CACertDir: get("tls-ca-cert-dir"),
		Protocols: get("tls-protocols"), Ciphers: get("tls-ciphers"), Ciphersuites: get("tls-ciphersuites"),
	}
	if o.CertFile == "" || o.KeyFile == "" {
		return nil, errors.New("the node's certificate is needed: --tls-cert-file and --tls-key-file")
	}
	if o.CACertFile == "" && o.CACertDir == "" {
		return nil, errors.New("the cluster's CA is needed to verify peers: --tls-ca-cert-file or --tls-ca-cert-dir")
	}
	return tlsconf.New(o)
}

// loopback reports whether a listen address (host:port) binds loopback
// only: a loopback IP or "localhost". An empty or unspecified host
// (0.0.0.0, ::) binds every interface.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// forwardTLS is the TLS configuration of forwarding connections: TLS when
// nodes serve RESP over TLS only (--tcp HOST:0 --tls-port P: they
// advertise the TLS port), else plain TCP. With mutual TLS and no secret
// WALKER.LINK's HMAC proves nothing, so a leader takes a node link only
// over TLS with a verified client certificate: such a cluster serves RESP
// over TLS only.
func forwardTLS(links *nodelink.Config) *tls.Config {
	if links == nil {
		return nil
	}
	return links.RESPTLS
}

// respTLSOnly reports whether this node serves RESP over TLS only (tls.go),
// so that the cluster's nodes advertise TLS addresses.
func respTLSOnly(c *cli.Context, s *settings) bool {
	if !hasFlag(c, "tls-port") || c.Int64("tls-port") <= 0 {
		return false
	}
	_, port, _ := net.SplitHostPort(s.tcp)
	return port == "0"
}
