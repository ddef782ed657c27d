// Package tlsconf builds the TLS configurations walkerd serves and dials with,
// from options that carry Redis's names (tls-cert-file, tls-auth-clients,
// tls-protocols, ...; redis 7.0 tls.c and config.c are the reference), and
// reloads them without a restart.
//
// # Reload semantics
//
// New reads every file once. The *tls.Config values returned by Server,
// ClusterServer and Client are built once and stay valid for the life of the
// Config: they look up the current certificates, CA pool, protocol range and
// cipher list on every handshake (Server and ClusterServer through
// GetConfigForClient, Client through GetClientCertificate and
// VerifyConnection). Reload re-reads every file and Set changes one option and
// then reloads; both swap the whole state atomically, so a handshake sees
// either the old state or the new one, never a mix. When a reload fails (a
// missing file, a key that does not match its certificate, an unknown
// protocol) the old state keeps serving and the error is returned, as Redis
// keeps its old SSL_CTX when tlsConfigure fails. Connections already
// established are never touched.
//
// # What Go's crypto/tls cannot do that OpenSSL can
//
//   - TLS 1.3 cipher suites cannot be chosen: Go always enables
//     TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384 and
//     TLS_CHACHA20_POLY1305_SHA256. tls-ciphersuites is accepted and its names
//     are validated (the two CCM suites OpenSSL knows are refused, since Go
//     cannot offer them), but it does not narrow the TLS 1.3 list.
//   - tls-ciphers takes OpenSSL cipher names (ECDHE-RSA-AES128-GCM-SHA256)
//     mapped to Go's suites, separated by ':', ',' or spaces, and the keywords
//     DEFAULT, HIGH and ALL (Go's default secure set); "!NAME" and "-NAME"
//     remove a suite. Other OpenSSL keywords and cipher strength expressions
//     (MEDIUM, aRSA, @STRENGTH, ...) are refused.
//   - tls-protocols must name a contiguous range: Go has a minimum and a
//     maximum version, so "TLSv1 TLSv1.2" (without TLSv1.1) is refused.
//   - tls-prefer-server-ciphers is accepted and reported, but Go has chosen
//     the cipher suite order itself since Go 1.18, so it has no effect.
//   - Encrypted private keys (tls-key-file-pass) are not supported.
//
// Client does not check the peer's host name, only its chain to the CA, as
// Redis does for replication and cluster links.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
)

// ErrBadValue matches (errors.Is) the *ValueError that Set, Options.Set
// and New return when an option's value is not valid for its kind (an enum
// or a boolean), before any file is read.
var ErrBadValue = errors.New("tlsconf: bad value")

// ValueError is the error for a value not valid for its option's kind; it
// matches ErrBadValue with errors.Is. Msg is Redis's CONFIG SET text
// ("argument must be 'yes' or 'no'"), for a server to send as is.
type ValueError struct{ Name, Msg string }

func (e *ValueError) Error() string        { return "tlsconf: " + e.Name + ": " + e.Msg }
func (e *ValueError) Is(target error) bool { return target == ErrBadValue }

// ErrUnknownOption is returned by Set for a name that is not a TLS option.
var ErrUnknownOption = errors.New("tlsconf: unknown option")

// Options carries the TLS settings under their Redis names. Every empty
// string means "not set".
type Options struct {
	// CertFile and KeyFile (tls-cert-file, tls-key-file) are PEM files with
	// the server certificate (chain) and its unencrypted private key. Both
	// are required.
	CertFile, KeyFile string
	// ClientCertFile and ClientKeyFile (tls-client-cert-file,
	// tls-client-key-file) are presented when dialing other nodes. Empty:
	// CertFile and KeyFile are used.
	ClientCertFile, ClientKeyFile string
	// CACertFile (tls-ca-cert-file) is a PEM bundle of trusted CAs;
	// CACertDir (tls-ca-cert-dir) a directory whose PEM files are all read
	// (OpenSSL's hashed names work too). One of them is required unless
	// AuthClients is "no"; Client and ClusterServer need one to verify peers.
	CACertFile, CACertDir string
	// AuthClients (tls-auth-clients) is "yes" (client certificate required
	// and verified against the CA), "no" (not asked for) or "optional"
	// (verified if given). Empty: "yes", Redis's default.
	AuthClients string
	// Protocols (tls-protocols) is a space-separated list of TLSv1, TLSv1.1,
	// TLSv1.2, TLSv1.3 (case-insensitive). Empty: "TLSv1.2 TLSv1.3".
	Protocols string
	// Ciphersuites (tls-ciphersuites) lists TLS 1.3 suites separated by ':';
	// validated only (see the package doc). Ciphers (tls-ciphers) is an
	// OpenSSL cipher list for TLS 1.2 and older. Empty: Go's defaults.
	Ciphersuites, Ciphers string
	// PreferServerCiphers (tls-prefer-server-ciphers) is kept and reported;
	// Go ignores it.
	PreferServerCiphers bool
}

// Names lists the option names Set and Get accept, in Redis's spelling.
var Names = []string{
	"tls-cert-file", "tls-key-file", "tls-client-cert-file", "tls-client-key-file",
	"tls-ca-cert-file", "tls-ca-cert-dir", "tls-auth-clients", "tls-protocols",
	"tls-ciphersuites", "tls-ciphers", "tls-prefer-server-ciphers",
}

// Config is a reloadable TLS configuration. Its methods are safe for
// concurrent use.
type Config struct {
	mu    sync.Mutex // serializes Reload and Set
	state atomic.Pointer[state]

	server, cluster, client *tls.Config
}

// state is everything read from the files plus the parsed options.
type state struct {
	opts          Options
	cert          tls.Certificate
	clientCert    tls.Certificate
	pool          *x509.CertPool // nil when no CA is configured
	auth          tls.ClientAuthType
	minV, maxV    uint16
	suites        []uint16 // nil: Go's defaults
	server, clust *tls.Config
}

// New parses o and loads every file it names. Errors name the option and the
// file.
func New(o Options) (*Config, error) {
	st, err := load(o)
	if err != nil {
		return nil, err
	}
	c := &Config{}
	c.state.Store(st)
	c.server = &tls.Config{
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return c.state.Load().server, nil
		},
	}
	c.cluster = &tls.Config{
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			st := c.state.Load()
			if st.clust == nil {
				return nil, errors.New("tlsconf: no tls-ca-cert-file or tls-ca-cert-dir to verify cluster peers")
			}
			return st.clust, nil
		},
	}
	c.client = &tls.Config{
		// The peer is checked in VerifyConnection against the CA of the
		// current state, without its host name (see the package doc).
		InsecureSkipVerify: true,
		MinVersion:         st.minV,
		MaxVersion:         st.maxV,
		CipherSuites:       st.suites,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			cert := c.state.Load().clientCert
			return &cert, nil
		},
		VerifyConnection: func(cs tls.ConnectionState) error {
			return c.state.Load().verifyServer(cs)
		},
	}
	return c, nil
}

// Server returns the configuration for client listeners: the server
// certificate, client certificates asked for as tls-auth-clients says. It
// follows later reloads. The returned value must not be modified.
func (c *Config) Server() *tls.Config { return c.server }

// ClusterServer returns the configuration for listeners that only other nodes
// dial: the same certificate, but a client certificate verified against the
// CA is always required (mutual TLS), whatever tls-auth-clients says. It
// follows later reloads; handshakes fail while no CA is configured. The
// returned value must not be modified.
func (c *Config) ClusterServer() *tls.Config { return c.cluster }

// Client returns the configuration for dialing other nodes: it presents the
// client certificate (tls-client-cert-file, else tls-cert-file) and verifies
// the peer's chain against the CA. It follows later reloads of certificates
// and CA; the protocol range and cipher list are those at New (a caller that
// needs them current clones Client after a reload). Callers may Clone it and
// set ServerName; the host name is not verified.
func (c *Config) Client() *tls.Config { return c.client }

// Options returns the options in force, with AuthClients normalized to
// "yes", "no" or "optional".
func (c *Config) Options() Options { return c.state.Load().opts }

// Reload re-reads every file with the options in force. On error the old
// certificates keep serving and the error, naming the file, is returned.
func (c *Config) Reload() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, err := load(c.state.Load().opts)
	if err != nil {
		return err
	}
	c.state.Store(st)
	return nil
}

// Set changes one option by its Redis name (CONFIG SET tls-...) and reloads.
// A value that is not valid for the option's kind returns an error wrapping
// ErrBadValue; an unknown name ErrUnknownOption; a failed reload the load
// error. In every error case the old configuration stays in force.
func (c *Config) Set(name, value string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.state.Load().opts
	if err := o.Set(name, value); err != nil {
		return err
	}
	st, err := load(o)
	if err != nil {
		return err
	}
	c.state.Store(st)
	return nil
}

// Update replaces every option at once and reloads, as a CONFIG SET of
// several tls-* parameters does (Redis applies them together, so a new
// certificate and its new key can change in one step). On error the old
// configuration stays in force.
func (c *Config) Update(o Options) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, err := load(o)
	if err != nil {
		return err
	}
	c.state.Store(st)
	return nil
}

// Get returns an option's value as CONFIG GET shows it ("yes"/"no" for
// tls-prefer-server-ciphers), and false for a name that is not a TLS option.
func (c *Config) Get(name string) (string, bool) {
	return c.state.Load().opts.Get(name)
}

// files are the options that are plain text (file names, lists), by
// their Redis names.
func (o *Options) files() map[string]*string {
	return map[string]*string{
		"tls-cert-file": &o.CertFile, "tls-key-file": &o.KeyFile,
		"tls-client-cert-file": &o.ClientCertFile, "tls-client-key-file": &o.ClientKeyFile,
		"tls-ca-cert-file": &o.CACertFile, "tls-ca-cert-dir": &o.CACertDir,
		"tls-protocols": &o.Protocols, "tls-ciphersuites": &o.Ciphersuites, "tls-ciphers": &o.Ciphers,
	}
}

// Get returns an option's value by its Redis name, as CONFIG GET shows it.
func (o Options) Get(name string) (string, bool) {
	name = strings.ToLower(name)
	if p, ok := o.files()[name]; ok {
		return *p, true
	}
	switch name {
	case "tls-auth-clients":
		if o.AuthClients == "" {
			return "yes", true
		}
		return strings.ToLower(o.AuthClients), true
	case "tls-prefer-server-ciphers":
		if o.PreferServerCiphers {
			return "yes", true
		}
		return "no", true
	}
	return "", false
}

// Set assigns one option by its Redis name, checking enum and boolean
// values the way Redis's config.c does (ErrBadValue, with Redis's message);
// an unknown name returns ErrUnknownOption. Files are not read.
func (o *Options) Set(name, value string) error {
	name = strings.ToLower(name)
	if p, ok := o.files()[name]; ok {
		*p = value
		return nil
	}
	switch name {
	case "tls-auth-clients":
		if _, err := parseAuth(value); err != nil {
			return err
		}
		o.AuthClients = strings.ToLower(value)
	case "tls-prefer-server-ciphers":
		switch strings.ToLower(value) {
		case "yes":
			o.PreferServerCiphers = true
		case "no":
			o.PreferServerCiphers = false
		default:
			return &ValueError{Name: "tls-prefer-server-ciphers", Msg: "argument must be 'yes' or 'no'"}
		}
	default:
		return fmt.Errorf("%w: %s", ErrUnknownOption, name)
	}
	return nil
}

// Validate checks the options that need no file: tls-auth-clients,
// tls-protocols, tls-ciphers and tls-ciphersuites, and that the files Redis
// requires are named.
func (o Options) Validate() error {
	_, err := o.parse()
	return err
}

// parse checks everything but the files and returns a state without
// certificates.
func (o Options) parse() (*state, error) {
	st := &state{}
	var err error
	if st.auth, err = parseAuth(o.AuthClients); err != nil {
		return nil, err
	}
	if o.AuthClients == "" {
		o.AuthClients = "yes"
	}
	o.AuthClients = strings.ToLower(o.AuthClients)
	if st.minV, st.maxV, err = ParseProtocols(o.Protocols); err != nil {
		return nil, err
	}
	if st.suites, err = ParseCiphers(o.Ciphers); err != nil {
		return nil, err
	}
	if err = ValidateCiphersuites(o.Ciphersuites); err != nil {
		return nil, err
	}
	// Redis's tlsConfigure checks, with its wording (less the final "!").
	if o.CertFile == "" {
		return nil, errors.New("tlsconf: No tls-cert-file configured")
	}
	if o.KeyFile == "" {
		return nil, errors.New("tlsconf: No tls-key-file configured")
	}
	if st.auth != tls.NoClientCert && o.CACertFile == "" && o.CACertDir == "" {
		return nil, errors.New("tlsconf: Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-auth-clients is enabled")
	}
	st.opts = o
	return st, nil
}

// load parses o and reads every file.
func load(o Options) (*state, error) {
	st, err := o.parse()
	if err != nil {
		return nil, err
	}
	o = st.opts
	if st.cert, err = loadPair("tls-cert-file", o.CertFile, "tls-key-file", o.KeyFile); err != nil {
		return nil, err
	}
	st.clientCert = st.cert
	if o.ClientCertFile != "" || o.ClientKeyFile != "" {
		if o.ClientCertFile == "" || o.ClientKeyFile == "" {
			return nil, errors.New("tlsconf: tls-client-cert-file and tls-client-key-file must be set together")
		}
		if st.clientCert, err = loadPair("tls-client-cert-file", o.ClientCertFile, "tls-client-key-file", o.ClientKeyFile); err != nil {
			return nil, err
		}
	}
	if st.pool, err = loadCAs(o.CACertFile, o.CACertDir); err != nil {
		return nil, err
	}
	base := tls.Config{
		Certificates: []tls.Certificate{st.cert},
		MinVersion:   st.minV,
		MaxVersion:   st.maxV,
		CipherSuites: st.suites,
		ClientCAs:    st.pool,
	}
	st.server = base.Clone()
	st.server.ClientAuth = st.auth
	if st.pool != nil {
		st.clust = base.Clone()
		st.clust.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return st, nil
}

// verifyServer checks a peer's chain against the CA, without a host name.
func (st *state) verifyServer(cs tls.ConnectionState) error {
	if st.pool == nil {
		return errors.New("tlsconf: no tls-ca-cert-file or tls-ca-cert-dir to verify the peer")
	}
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tlsconf: peer sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots:         st.pool,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return err
}

func loadPair(certOpt, certFile, keyOpt, keyFile string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlsconf: %s: %w", certOpt, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlsconf: %s: %w", keyOpt, err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlsconf: %s %s / %s %s: %w", certOpt, certFile, keyOpt, keyFile, err)
	}
	return cert, nil
}

// loadCAs reads the CA bundle and every PEM file of the CA directory; nil
// when neither is set.
func loadCAs(file, dir string) (*x509.CertPool, error) {
	if file == "" && dir == "" {
		return nil, nil
	}
	pool := x509.NewCertPool()
	if file != "" {
		pem, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("tlsconf: tls-ca-cert-file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tlsconf: tls-ca-cert-file %s: no PEM certificate found", file)
		}
	}
	if dir != "" {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("tlsconf: tls-ca-cert-dir: %w", err)
		}
		n := 0
		for _, e := range ents {
			if e.IsDir() {
				continue
			}
			pem, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				return nil, fmt.Errorf("tlsconf: tls-ca-cert-dir: %w", err)
			}
			if pool.AppendCertsFromPEM(pem) {
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("tlsconf: tls-ca-cert-dir %s: no PEM certificate found", dir)
		}
	}
	return pool, nil
}

// parseAuth maps tls-auth-clients to Go's client auth type; "" is "yes".
func parseAuth(v string) (tls.ClientAuthType, error) {
	switch strings.ToLower(v) {
	case "", "yes":
		return tls.RequireAndVerifyClientCert, nil
	case "no":
		return tls.NoClientCert, nil
	case "optional":
		return tls.VerifyClientCertIfGiven, nil
	}
	return 0, &ValueError{Name: "tls-auth-clients", Msg: "argument(s) must be one of the following: no, yes, optional"}
}

var protocolVersions = map[string]uint16{
	"tlsv1":   tls.VersionTLS10,
	"tlsv1.1": tls.VersionTLS11,
	"tlsv1.2": tls.VersionTLS12,
	"tlsv1.3": tls.VersionTLS13,
}

// ParseProtocols parses tls-protocols into Go's version range. Empty means
// TLSv1.2 and TLSv1.3, Redis's default. Unknown names get Redis's message;
// a list with a gap gets an error, since Go only has a range.
func ParseProtocols(s string) (minV, maxV uint16, err error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return tls.VersionTLS12, tls.VersionTLS13, nil
	}
	set := map[uint16]bool{}
	for _, f := range fields {
		v, ok := protocolVersions[strings.ToLower(f)]
		if !ok {
			return 0, 0, errors.New("tlsconf: Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'")
		}
		set[v] = true
		if minV == 0 || v < minV {
			minV = v
		}
		if v > maxV {
			maxV = v
		}
	}
	for v := minV; v <= maxV; v++ {
		if !set[v] {
			return 0, 0, fmt.Errorf("tlsconf: tls-protocols %q: Go's TLS accepts a contiguous range of versions only", s)
		}
	}
	return minV, maxV, nil
}
