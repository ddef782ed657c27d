package server

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/walkerd/nodelink"
)

var linkSecret = &nodelink.Config{Secret: []byte("a-cluster-secret-of-some-length")}

// A connection that proves the cluster secret with WALKER.LINK becomes a
// node link: authenticated whatever requirepass says (also after CONFIG SET
// requirepass), and allowed WALKER.APPLY and WALKER.FORWARD, which a
// client's connection is refused.
func TestWalkerLink_ProvenSecretMakesANodeLink(t *testing.T) {
	ws := startServer(t, Config{RequirePass: "pw", Links: linkSecret})
	admin := dial(t, ws.addr)
	admin.must(t, "AUTH", "pw")
	if got := admin.must(t, "WALKER.APPLY", "garbage", "default"); got != "-"+errNotLinked {
		t.Fatalf("WALKER.APPLY from a client: %s", got)
	}
	if got := admin.must(t, "WALKER.FORWARD", "0", "0", "default", "GET", "k"); got != "-"+errNotLinked {
		t.Fatalf("WALKER.FORWARD from a client: %s", got)
	}

	l := dial(t, ws.addr)
	l.c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := linkSecret.LinkRESP(l.c, l.r); err != nil {
		t.Fatalf("LinkRESP: %v", err)
	}
	if got := admin.must(t, "CONFIG", "SET", "requirepass", "changed"); got != "+OK" {
		t.Fatalf("CONFIG SET requirepass: %s", got)
	}
	for _, s := range []struct{ args, want string }{
		{"PING", "+PONG"}, // no AUTH needed: the link is authenticated
		{"WALKER.APPLY garbage default", "-ERR command: malformed log entry: version 103"},
		{"WALKER.FORWARD 7 0 default GET k", "-ERR invalid consistency level"},
	} {
		if got := l.must(t, strings.Fields(s.args)...); got != s.want {
			t.Errorf("%s on the link: %s, want %s", s.args, got, s.want)
		}
	}
	if got := admin.must(t, "INFO", "clients"); !strings.Contains(got, "cluster_connections:1") {
		t.Errorf("INFO clients does not count the link: %s", got)
	}
}

// A peer with another secret (or none) is refused at both ends: the dialer
// finds the server's proof wrong and never proves; a forged PROVE answers
// NOPERM; a PROVE without HELLO, or a second PROVE for one HELLO (a
// replay), fails; the connection stays unlinked.
func TestWalkerLink_WrongSecretIsRefused(t *testing.T) {
	ws := startServer(t, Config{Links: linkSecret})
	for _, peer := range []*nodelink.Config{{Secret: []byte("another-secret-of-some-length")}, nil} {
		c := dial(t, ws.addr)
		c.c.SetDeadline(time.Now().Add(5 * time.Second))
		if err := peer.LinkRESP(c.c, c.r); !errors.Is(err, nodelink.ErrProof) {
			t.Fatalf("LinkRESP with mode %s: %v, want ErrProof", peer.Mode(), err)
		}
		if got := c.must(t, "WALKER.APPLY", "garbage", "default"); got != "-"+errNotLinked {
			t.Fatalf("WALKER.APPLY after a failed link: %s", got)
		}
	}

	c := dial(t, ws.addr)
	if got := c.must(t, "WALKER.LINK", "PROVE", strings.Repeat("p", 32)); !strings.HasPrefix(got, "-ERR WALKER.LINK PROVE without a HELLO") {
		t.Fatalf("PROVE without HELLO: %s", got)
	}
	nonceD := nodelink.Nonce()
	v, err := c.doBytes([]byte("WALKER.LINK"), []byte("HELLO"), []byte("1"), nonceD)
	if err != nil || len(v.Elems) != 2 {
		t.Fatalf("HELLO: %v %v", v, err)
	}
	nonceL := v.Elems[0].Str
	forged := (&nodelink.Config{Secret: []byte("another-secret-of-some-length")}).Proof(nodelink.ContextRESP, "dialer", nonceD, nonceL)
	if v, _ := c.doBytes([]byte("WALKER.LINK"), []byte("PROVE"), forged); v.String() != "(error) "+errLinkProof {
		t.Fatalf("forged PROVE: %s", v)
	}
	// The right proof, but its HELLO was used up by the forged PROVE.
	good := linkSecret.Proof(nodelink.ContextRESP, "dialer", nonceD, nonceL)
	if v, _ := c.doBytes([]byte("WALKER.LINK"), []byte("PROVE"), good); !strings.Contains(v.String(), "without a HELLO") {
		t.Fatalf("PROVE replayed for a used HELLO: %s", v)
	}
	for _, s := range []struct{ args, want string }{
		{"WALKER.LINK HELLO 2 x", "-ERR nodelink: unsupported handshake version"},
		{"WALKER.LINK HELLO 1 short", "-ERR nodelink: not a WalkerDB node link handshake"},
		{"WALKER.LINK HELLO", "-ERR wrong number of arguments for 'walker.link' command"},
		{"WALKER.LINK HELLO 1", "-ERR wrong number of arguments for 'walker.link|hello' command"},
		{"WALKER.LINK NOPE x", "-ERR unknown subcommand 'NOPE'. Try WALKER.LINK HELLO or PROVE."},
		{"WALKER.APPLY garbage default", "-" + errNotLinked},
	} {
		if got := c.must(t, strings.Fields(s.args)...); !strings.HasPrefix(got, s.want) {
			t.Errorf("%s: %s, want %s...", s.args, got, s.want)
		}
	}
}

// With mutual TLS and no secret the HMAC key is empty, so anyone could
// compute the proof: the server takes no link at all.
func TestWalkerLink_TLSWithoutASecretLinksNothing(t *testing.T) {
	links := &nodelink.Config{TLSServer: &tls.Config{}, TLSClient: &tls.Config{}}
	ws := startServer(t, Config{Links: links})
	c := dial(t, ws.addr)
	c.c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := links.LinkRESP(c.c, c.r); !errors.Is(err, nodelink.ErrRejected) || !strings.Contains(err.Error(), errLinkTLS) {
		t.Fatalf("LinkRESP over plain TCP: %v", err)
	}
}

// A standalone node takes no node link: WALKER.LINK would only be a way
// around AUTH.
func TestWalkerLink_StandaloneTakesNone(t *testing.T) {
	ws := startServer(t, Config{RequirePass: "pw"})
	c := dial(t, ws.addr)
	c.c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := (*nodelink.Config)(nil).LinkRESP(c.c, c.r); err == nil || !strings.Contains(err.Error(), errNoLinks) {
		t.Fatalf("LinkRESP to a standalone node: %v", err)
	}
	if got := c.must(t, "GET", "k"); !strings.HasPrefix(got, "-NOAUTH") {
		t.Fatalf("GET after a refused link: %s", got)
	}
}

// Without a secret or TLS (loopback-only clusters, no password) two nodes
// link with the empty key, as before node links were authenticated.
func TestWalkerLink_UnauthenticatedModeLinks(t *testing.T) {
	ws := startServer(t, Config{RequirePass: "pw", Links: &nodelink.Config{}})
	c := dial(t, ws.addr)
	c.c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := (*nodelink.Config)(nil).LinkRESP(c.c, c.r); err != nil {
		t.Fatal(err)
	}
	if got := c.must(t, "WALKER.APPLY", "garbage", "default"); got != "-ERR command: malformed log entry: version 103" {
		t.Fatalf("WALKER.APPLY on the link: %s", got)
	}
}
