package main

// TLS for clients, with Redis's option names (redis 7.0 tls.c, config.c):
//
//	walkerd --tcp 127.0.0.1:0 --tls-port 6380 \
//	    --tls-cert-file node.crt --tls-key-file node.key --tls-ca-cert-file ca.crt
//
// --tls-port P serves TLS on P, on the host of --tcp. A --tcp port of 0
// with --tls-port turns the plain-text listener off (Redis's "port 0");
// without --tls-port, port 0 keeps its meaning of any free port. When only
// TLS is served, the RESP address advertised (--advertise's default) is the
// TLS one. Each option is also a config file directive (tls-port 6380,
// tls-cert-file ..., and "port 0").
//
// The certificates are reloaded without a restart: SIGHUP re-reads every
// file, and CONFIG SET tls-cert-file, tls-key-file, tls-ca-cert-file,
// tls-auth-clients, tls-protocols ... reloads with the new values
// (walkerd/server/config.go). A reload that fails leaves the old files in
// force (walkerd/tlsconf).

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/walkerd/server"
	"github.com/walkerdb/walkerdb/walkerd/tlsconf"
)

// tlsFlags are Redis's TLS options as walkerd flags.
func tlsFlags() []cli.Flag {
	str := func(name, usage string) *cli.StringFlag {
		return &cli.StringFlag{Name: name, Usage: usage, EnvVars: []string{"WALKERD_" + envName(name)}}
	}
	return []cli.Flag{
		&cli.Int64Flag{Name: "tls-port", Usage: "serve TLS clients on this `PORT`, on --tcp's host (0: off); with --tcp HOST:0, TLS only", EnvVars: []string{"WALKERD_TLS_PORT"}},
		str("tls-cert-file", "server certificate (PEM `FILE`)"),
		str("tls-key-file", "private key of --tls-cert-file (PEM `FILE`, unencrypted)"),
		str("tls-client-cert-file", "certificate presented when dialing other nodes (default: --tls-cert-file)"),
		str("tls-client-key-file", "key of --tls-client-cert-file (default: --tls-key-file)"),
		str("tls-ca-cert-file", "trusted CA certificates (PEM `FILE`) that client and peer certificates are verified against"),
		str("tls-ca-cert-dir", "`DIR` of trusted CA certificates (PEM files)"),
		&cli.StringFlag{Name: "tls-auth-clients", Value: "yes", Usage: "client certificates: yes (required), no, optional", EnvVars: []string{"WALKERD_TLS_AUTH_CLIENTS"}},
		str("tls-protocols", `TLS versions, e.g. "TLSv1.2 TLSv1.3" (the default)`),
		str("tls-ciphersuites", "TLS 1.3 suites (validated; Go always offers its three)"),
		str("tls-ciphers", "TLS 1.2 cipher list, OpenSSL names (ECDHE-RSA-AES128-GCM-SHA256:...)"),
		&cli.BoolFlag{Name: "tls-prefer-server-ciphers", Usage: "accepted for Redis compatibility; Go picks the order itself", EnvVars: []string{"WALKERD_TLS_PREFER_SERVER_CIPHERS"}},
	}
}

func envName(flag string) string {
	b := []byte(flag)
	for i, c := range b {
		switch {
		case c == '-':
			b[i] = '_'
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// tlsOptions are the TLS flags as tlsconf.Options.
func tlsOptions(c *cli.Context) tlsconf.Options {
	return tlsconf.Options{
		CertFile: c.String("tls-cert-file"), KeyFile: c.String("tls-key-file"),
		ClientCertFile: c.String("tls-client-cert-file"), ClientKeyFile: c.String("tls-client-key-file"),
		CACertFile: c.String("tls-ca-cert-file"), CACertDir: c.String("tls-ca-cert-dir"),
		AuthClients: c.String("tls-auth-clients"), Protocols: c.String("tls-protocols"),
		Ciphersuites: c.String("tls-ciphersuites"), Ciphers: c.String("tls-ciphers"),
		PreferServerCiphers: c.Bool("tls-prefer-server-ciphers"),
	}
}

// respListeners are the RESP listeners: --tcp's plain-text one (nil with
// TLS only) and --tls-port's (nil without it), with its configuration.
type respListeners struct {
	plain, tls net.Listener
	conf       *tlsconf.Config
}

// listenRESP loads the TLS configuration, if --tls-port asks for TLS, and
// opens the listeners. With TLS only and no --advertise, s.advertise
// becomes the TLS address.
func listenRESP(c *cli.Context, log *slog.Logger, s *settings) (*respListeners, error) {
	rl := &respListeners{}
	port := c.Int64("tls-port")
	if port < 0 || port > 65535 {
		return nil, fmt.Errorf("--tls-port %d: want 0 to 65535", port)
	}
	host, plainPort, _ := net.SplitHostPort(s.tcp) // parse checked it
	if port == 0 {
		ln, err := net.Listen("tcp", s.tcp)
		if err != nil {
			return nil, err
		}
		rl.plain = ln
		return rl, nil
	}
	conf, err := tlsconf.New(tlsOptions(c))
	if err != nil {
		return nil, err
	}
	rl.conf = conf
	if plainPort != "0" {
		if rl.plain, err = net.Listen("tcp", s.tcp); err != nil {
			return nil, err
		}
	}
	taddr := net.JoinHostPort(host, strconv.FormatInt(port, 10))
	if rl.tls, err = net.Listen("tcp", taddr); err != nil {
		rl.Close()
		return nil, fmt.Errorf("--tls-port: %w", err)
	}
	if rl.plain == nil && c.String("advertise") == "" {
		s.advertise = taddr
	}
	log.Info("TLS listening", "addr", taddr, "plain", rl.plain != nil, "auth_clients", conf.Options().AuthClients)
	return rl, nil
}

// Close closes the listeners.
func (rl *respListeners) Close() {
	if rl.plain != nil {
		rl.plain.Close()
	}
	if rl.tls != nil {
		rl.tls.Close()
	}
}

// serve serves the listeners on srv and sends on served the first error, or
// nil once both returned. SIGHUP reloads the certificate files when TLS is
// served, and is ignored otherwise (as redis-server ignores it): it never
// ends the process.
func (rl *respListeners) serve(log *slog.Logger, srv *server.Server, served chan<- error) {
	errs := make(chan error, 2)
	n := 0
	if rl.plain != nil {
		n++
		go func() { errs <- srv.Serve(rl.plain) }()
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	if rl.tls == nil {
		go func() {
			for range hup {
				log.Info("SIGHUP: nothing to reload (no TLS)")
			}
		}()
	}
	if rl.tls != nil {
		n++
		go func() { errs <- srv.ServeTLS(rl.tls, rl.conf.Server()) }()
		go func() {
			for range hup {
				if err := rl.conf.Reload(); err != nil {
					log.Warn("SIGHUP: TLS reload failed; the old certificates stay in force", "err", err)
				} else {
					log.Info("SIGHUP: TLS certificates reloaded", "cert", rl.conf.Options().CertFile)
				}
			}
		}()
	}
	go func() {
		for i := 0; i < n; i++ {
			if err := <-errs; err != nil || i == n-1 {
				served <- err
				return
			}
		}
	}()
}
