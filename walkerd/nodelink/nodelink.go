// Package nodelink proves to both ends of a connection between WalkerDB
// nodes that the other end is a member of the same cluster, before
// either end reads anything else from it. Two links use it: the Raft
// stream (walkerd/store's transport: AppendEntries, votes, snapshots) and
// the forwarding connections a follower keeps to its leader's RESP port
// (walkerd/forward; the server answers WALKER.LINK).
//
// A cluster proves membership with a shared secret (walkerd
// --cluster-secret-file): a mutual HMAC-SHA256 challenge-response, below.
// Mutual TLS (walkerd --tls-cluster yes) may wrap it: each end presents a
// certificate the other verifies against the cluster's CA, and on the
// Raft stream the TLS handshake comes first and the HMAC exchange runs
// inside it. TLS alone is not a proof of membership (Authenticated): a
// certificate the CA signed for a client would pass too, so walkerd
// takes mutual TLS only together with the secret.
//
// With neither, the HMAC exchange still runs, with an empty key: it proves
// nothing about the peer (anyone can compute it) and only keeps the wire
// format the same; walkerd allows that mode on loopback addresses only.
//
// # The HMAC exchange on a stream (the Raft link)
//
// All integers are single bytes; nonces and proofs are 32 bytes.
//
//	dialer -> listener   "WKLN" | version | nonceD                   37 bytes
//	listener -> dialer   "WKLN" | version | nonceL | proofL          69 bytes
//	dialer -> listener   proofD                                      32 bytes
//	listener -> dialer   0x01 (accepted; otherwise it closes)         1 byte
//
//	+------+------+---------+      +------+------+---------+---------+
//	| WKLN | 0x01 | nonceD  |  ->  | WKLN | 0x01 | nonceL  | proofL  |
//	+------+------+---------+      +------+------+---------+---------+
//	 4      1      32               4      1      32        32
//
//	proof(role) = HMAC-SHA256(secret,
//	    "walkerdb-link/1" 0x00 context 0x00 role 0x00 nonceD nonceL)
//
// where context is "raft" or "resp" and role is "listener" (proofL) or
// "dialer" (proofD). Each end picks its nonce at random (crypto/rand) for
// every connection, so a recorded transcript replayed to either end fails
// (the other end's fresh nonce is not in it); the role label makes a proof
// a listener sends useless as a dialer's proof (reflection); the context
// makes a RESP link's proofs useless on the Raft port and the other way
// round. Proofs are compared in constant time (crypto/hmac.Equal). The
// whole exchange runs under one deadline (Config.Timeout); input that is
// not a hello of this version ("WKLN" then 0x01) fails as soon as its
// first 5 bytes are read.
//
// # The same exchange in RESP (forwarding links)
//
//	WALKER.LINK HELLO 1 <nonceD>   ->  *2 <nonceL> <proofL>
//	WALKER.LINK PROVE <proofD>     ->  +OK
//
// Both are allowed before AUTH; after +OK the server treats the connection
// as a node link (authenticated, allowed WALKER.APPLY and WALKER.FORWARD),
// whatever requirepass is meanwhile.
package nodelink

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
)

// Version is the version of the exchange this package speaks.
const Version = 1

// Contexts: which link an exchange authenticates. Each has its own proofs.
const (
	ContextRaft = "raft"
	ContextRESP = "resp"
)

const (
	magic     = "WKLN"
	nonceSize = 32
	proofSize = sha256.Size
	helloSize = len(magic) + 1 + nonceSize
	accepted  = 0x01
	// MinSecret is the shortest secret accepted, in bytes.
	MinSecret = 16
	// DefaultTimeout bounds a handshake when Config.Timeout is zero.
	DefaultTimeout = 5 * time.Second
)

// Config is how this node proves itself to other nodes and checks them. A
// nil *Config is the unauthenticated mode: empty HMAC key, no TLS.
type Config struct {
	// Secret is the cluster's shared secret, the HMAC key. Empty: the
	// exchange runs with an empty key and proves nothing.
	Secret []byte
	// TLSServer, when set, makes the listener side of a Raft link a TLS
	// server that requires and verifies the dialer's certificate. nil: no
	// TLS.
	TLSServer *tls.Config
	// TLSClient, when set, makes the dialer side of a Raft link (and of a
	// forwarding link) a TLS client presenting this node's certificate.
	// Its ServerName, when empty, is the dialed host. nil: no TLS.
	TLSClient *tls.Config
	// RESPTLS, when set, is the TLS client configuration of forwarding
	// links (walkerd/forward), for clusters whose nodes serve and
	// advertise RESP over TLS only. nil: forwarding links are plain TCP.
	RESPTLS *tls.Config
	// Timeout bounds a whole handshake (TLS and HMAC). Zero:
	// DefaultTimeout.
	Timeout time.Duration
}

// Authenticated reports whether links prove membership: a secret is set.
// Mutual TLS alone does not: it encrypts links and checks that the peer's
// certificate chains to the CA, but a certificate the CA signed for a
// client would pass too.
func (c *Config) Authenticated() bool {
	return c != nil && len(c.Secret) > 0
}

// Mode names how links are authenticated, for logs and INFO: "none",
// "secret", "tls" or "tls+secret". It never contains the secret.
func (c *Config) Mode() string {
	switch {
	case c == nil:
		return "none"
	case c.TLSServer != nil && len(c.Secret) > 0:
		return "tls+secret"
	case c.TLSServer != nil:
		return "tls"
	case len(c.Secret) > 0:
		return "secret"
	}
	return "none"
}

func (c *Config) secret() []byte {
	if c == nil {
		return nil
	}
	return c.Secret
}

func (c *Config) timeout() time.Duration {
	if c == nil || c.Timeout <= 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

// LoadSecret reads a secret from a file: its contents without surrounding
// white space (a trailing newline). It fails when the file cannot be read,
// when others than its owner may read it (as ssh refuses such a key), or
// when the secret is shorter than MinSecret bytes.
func LoadSecret(file string) ([]byte, error) {
	if st, err := os.Stat(file); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("nodelink: cluster secret %s is readable by others (mode %04o); chmod 600 it", file, st.Mode().Perm())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("nodelink: cluster secret: %w", err)
	}
	s := []byte(strings.TrimSpace(string(b)))
	if err := CheckSecret(s); err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, file)
	}
	return s, nil
}

// CheckSecret fails for a secret shorter than MinSecret bytes.
func CheckSecret(s []byte) error {
	if len(s) < MinSecret {
		return fmt.Errorf("%w: %d bytes, want at least %d", ErrShortSecret, len(s), MinSecret)
	}
	return nil
}

// Nonce returns a fresh random nonce.
func Nonce() []byte {
	n := make([]byte, nonceSize)
	if _, err := rand.Read(n); err != nil {
		panic("nodelink: crypto/rand: " + err.Error()) // never fails on Linux (Go 1.24+ crashes instead)
	}
	return n
}

// Proof is the HMAC one end of an exchange sends: role is "dialer" or
// "listener", ctx ContextRaft or ContextRESP.
func (c *Config) Proof(ctx, role string, nonceD, nonceL []byte) []byte {
	m := hmac.New(sha256.New, c.secret())
	m.Write([]byte("walkerdb-link/1\x00" + ctx + "\x00" + role + "\x00"))
	m.Write(nonceD)
	m.Write(nonceL)
	return m.Sum(nil)
}

// Verify reports, in constant time, whether proof is the proof of role
// over the nonces.
func (c *Config) Verify(ctx, role string, nonceD, nonceL, proof []byte) bool {
	if len(nonceD) != nonceSize || len(nonceL) != nonceSize {
		return false
	}
	return hmac.Equal(proof, c.Proof(ctx, role, nonceD, nonceL))
}

// Accept runs the listener side of a Raft link's handshake on a newly
// accepted connection: TLS when TLSServer is set, then the HMAC exchange.
// It returns the connection to use (the TLS one, if any) or an error, in
// which case it has closed conn. The deadline is cleared on success.
func (c *Config) Accept(conn net.Conn) (net.Conn, error) {
	conn.SetDeadline(time.Now().Add(c.timeout()))
	out, err := c.accept(conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	out.SetDeadline(time.Time{})
	return out, nil
}

func (c *Config) accept(conn net.Conn) (net.Conn, error) {
	if c != nil && c.TLSServer != nil {
		tc := tls.Server(conn, c.TLSServer)
		if err := tc.Handshake(); err != nil {
			return nil, fmt.Errorf("nodelink: TLS: %w", err)
		}
		conn = tc
	}
	var hello [helloSize]byte
	if _, err := io.ReadFull(conn, hello[:len(magic)+1]); err != nil {
		return nil, fmt.Errorf("nodelink: reading hello: %w", err)
	}
	if err := checkHeader(hello[:len(magic)+1]); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(conn, hello[len(magic)+1:]); err != nil {
		return nil, fmt.Errorf("nodelink: reading hello: %w", err)
	}
	nonceD := hello[len(magic)+1:]
	nonceL := Nonce()
	out := make([]byte, 0, helloSize+proofSize)
	out = append(append(append(out, magic...), Version), nonceL...)
	out = append(out, c.Proof(ContextRaft, "listener", nonceD, nonceL)...)
	if _, err := conn.Write(out); err != nil {
		return nil, fmt.Errorf("nodelink: writing hello: %w", err)
	}
	proofD := make([]byte, proofSize)
	if _, err := io.ReadFull(conn, proofD); err != nil {
		return nil, fmt.Errorf("nodelink: reading proof: %w", err)
	}
	if !c.Verify(ContextRaft, "dialer", nonceD, nonceL, proofD) {
		return nil, ErrProof
	}
	if _, err := conn.Write([]byte{accepted}); err != nil {
		return nil, fmt.Errorf("nodelink: writing verdict: %w", err)
	}
	return conn, nil
}

func checkHeader(h []byte) error {
	if string(h[:len(magic)]) != magic {
		return fmt.Errorf("%w: %q", ErrNotLink, h[:len(magic)])
	}
	if h[len(magic)] != Version {
		return fmt.Errorf("%w: %d (this node speaks %d)", ErrVersion, h[len(magic)], Version)
	}
	return nil
}

// Dial runs the dialer side of a Raft link's handshake on a new
// connection to addr (host:port; its host is the TLS server name when
// TLSClient has none). It returns the connection to use or an error, in
// which case it has closed conn.
func (c *Config) Dial(conn net.Conn, addr string) (net.Conn, error) {
	conn.SetDeadline(time.Now().Add(c.timeout()))
	out, err := c.dial(conn, addr)
	if err != nil {
		conn.Close()
		return nil, err
	}
	out.SetDeadline(time.Time{})
	return out, nil
}

func (c *Config) dial(conn net.Conn, addr string) (net.Conn, error) {
	var err error
	if conn, err = c.ClientTLS(conn, addr); err != nil {
		return nil, err
	}
	nonceD := Nonce()
	if _, err := conn.Write(append(append([]byte(magic), Version), nonceD...)); err != nil {
		return nil, fmt.Errorf("nodelink: writing hello: %w", err)
	}
	var in [helloSize + proofSize]byte
	if _, err := io.ReadFull(conn, in[:len(magic)+1]); err != nil {
		return nil, fmt.Errorf("nodelink: reading hello: %w (the peer closed the link: it may expect TLS)", err)
	}
	if err := checkHeader(in[:len(magic)+1]); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(conn, in[len(magic)+1:]); err != nil {
		return nil, fmt.Errorf("nodelink: reading hello: %w", err)
	}
	nonceL, proofL := in[len(magic)+1:helloSize], in[helloSize:]
	if !c.Verify(ContextRaft, "listener", nonceD, nonceL, proofL) {
		return nil, ErrProof
	}
	if _, err := conn.Write(c.Proof(ContextRaft, "dialer", nonceD, nonceL)); err != nil {
		return nil, fmt.Errorf("nodelink: writing proof: %w", err)
	}
	var v [1]byte
	if _, err := io.ReadFull(conn, v[:]); err != nil || v[0] != accepted {
		return nil, fmt.Errorf("%w: %v", ErrRejected, err)
	}
	return conn, nil
}

// ClientTLS wraps conn, a new connection to addr, in TLS when TLSClient is
// set, and runs the TLS handshake (under conn's deadline, if any);
// otherwise it returns conn. On error the caller closes conn.
func (c *Config) ClientTLS(conn net.Conn, addr string) (net.Conn, error) {
	if c == nil || c.TLSClient == nil {
		return conn, nil
	}
	tc := c.TLSClient
	if tc.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		tc = tc.Clone()
		tc.ServerName = host
	}
	t := tls.Client(conn, tc)
	if err := t.HandshakeContext(context.Background()); err != nil {
		return nil, fmt.Errorf("nodelink: TLS: %w", err)
	}
	return t, nil
}

// Answer is the server side of WALKER.LINK HELLO: given the dialer's
// version and nonce, it returns the server's nonce and proof. The caller
// keeps both nonces for PROVE (Check).
func (c *Config) Answer(version, nonceD []byte) (nonceL, proofL []byte, err error) {
	if string(version) != fmt.Sprint(Version) {
		return nil, nil, fmt.Errorf("%w: %q (this node speaks %d)", ErrVersion, version, Version)
	}
	if len(nonceD) != nonceSize {
		return nil, nil, fmt.Errorf("%w: nonce of %d bytes, want %d", ErrNotLink, len(nonceD), nonceSize)
	}
	nonceL = Nonce()
	return nonceL, c.Proof(ContextRESP, "listener", nonceD, nonceL), nil
}

// Check is the server side of WALKER.LINK PROVE: whether proofD is the
// dialer's proof over the nonces of the HELLO before it.
func (c *Config) Check(nonceD, nonceL, proofD []byte) bool {
	return c.Verify(ContextRESP, "dialer", nonceD, nonceL, proofD)
}

// LinkRESP runs the dialer side of WALKER.LINK on a new RESP connection
// (after TLS, if any): it writes to w, reads replies from r, and returns
// nil once the server has answered +OK. The caller sets the deadline.
func (c *Config) LinkRESP(w io.Writer, r *bufio.Reader) error {
	nonceD := Nonce()
	hello := resp.AppendCommand(nil, [][]byte{[]byte("WALKER.LINK"), []byte("HELLO"), []byte(fmt.Sprint(Version)), nonceD})
	if _, err := w.Write(hello); err != nil {
		return fmt.Errorf("nodelink: WALKER.LINK HELLO: %w", err)
	}
	v, err := resp.ReadValue(r)
	if err != nil {
		return fmt.Errorf("nodelink: WALKER.LINK HELLO: %w", err)
	}
	if v.Kind == resp.KindError {
		return fmt.Errorf("%w: WALKER.LINK HELLO answered %s", ErrRejected, v.Str)
	}
	if v.Kind != resp.KindArray || len(v.Elems) != 2 {
		return fmt.Errorf("%w: WALKER.LINK HELLO answered %s", ErrNotLink, v.String())
	}
	nonceL, proofL := v.Elems[0].Str, v.Elems[1].Str
	if !c.Verify(ContextRESP, "listener", nonceD, nonceL, proofL) {
		return ErrProof
	}
	prove := resp.AppendCommand(nil, [][]byte{[]byte("WALKER.LINK"), []byte("PROVE"), c.Proof(ContextRESP, "dialer", nonceD, nonceL)})
	if _, err := w.Write(prove); err != nil {
		return fmt.Errorf("nodelink: WALKER.LINK PROVE: %w", err)
	}
	raw, err := resp.ReadRaw(r)
	if err != nil {
		return fmt.Errorf("nodelink: WALKER.LINK PROVE: %w", err)
	}
	if string(raw) != "+OK\r\n" {
		return fmt.Errorf("%w: WALKER.LINK PROVE answered %s", ErrRejected, strings.TrimSpace(string(raw)))
	}
	return nil
}
