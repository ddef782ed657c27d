package server

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/walkerdb/walkerdb/walkerd/nodelink"
)

// Node links. A follower forwards its clients' commands to the leader on
// pooled connections (walkerd/forward) that first prove, with WALKER.LINK,
// that they come from a member of the cluster (walkerd/nodelink's
// exchange, in RESP):
//
//	WALKER.LINK HELLO <version> <nonceD>  ->  *2 <nonceL> <proofL>
//	WALKER.LINK PROVE <proofD>            ->  +OK
//
// Both run before AUTH (requirepass and its later changes do not concern
// node links). After +OK the connection is a node link: authenticated, and
// allowed WALKER.APPLY and WALKER.FORWARD, which any other connection is
// refused with errNotLinked. A PROVE that does not match answers
// errLinkProof and leaves the connection as it was.
//
// What the proof is worth depends on Config.Links: with a cluster secret
// it proves the peer holds the secret; with an empty key (a loopback-only
// cluster with neither a secret nor a password: walkerd keys links with
// the start-up requirepass when there is no secret) it proves nothing. A
// server without Config.Links (standalone) takes no link at all. Mutual TLS without a secret
// is refused: a client certificate the cluster's CA signed would pass as
// a node, with every permission (walkerd refuses to start that way).

const (
	errNotLinked = "NOPERM this command is for WalkerDB node links only (see WALKER.LINK)"
	errLinkProof = "NOPERM node link proof does not match: the nodes' cluster secrets differ"
	errLinkTLS   = "NOPERM node links to this node need the cluster secret: a certificate alone does not make a node"
	errNoLinks   = "ERR this node takes no node links (standalone mode)"
)

// linkState is a connection's WALKER.LINK progress.
type linkState struct {
	linked bool // PROVE passed: the peer is a member
	// nonceD and nonceL are the last HELLO's nonces, until PROVE.
	nonceD, nonceL []byte
}

// linkWarn limits the WARN lines of failed proofs to one per 10 s.
var linkWarn = nodelink.Limiter{Every: 10 * time.Second}

// WALKER.LINK HELLO version nonce | PROVE proof.
func cmdWalkerLink(s *Server, c *client, args [][]byte) {
	links := s.cfg.Links
	if links == nil {
		// A standalone node has no other nodes: a link would only be a
		// way around AUTH.
		c.errorReply(errNoLinks)
		return
	}
	switch sub := strings.ToLower(string(args[1])); {
	case sub == "hello" && len(args) == 4:
		if links.Mode() == "tls" {
			s.linkFailed(c, "mutual TLS without a cluster secret")
			c.errorReply(errLinkTLS)
			return
		}
		nonceL, proof, err := links.Answer(args[2], args[3])
		if err != nil {
			c.errorReply("ERR " + err.Error())
			return
		}
		c.link.nonceD, c.link.nonceL = bytes.Clone(args[3]), nonceL
		c.w.Array(2)
		c.w.Bulk(nonceL)
		c.w.Bulk(proof)
	case sub == "prove" && len(args) == 3:
		nonceD, nonceL := c.link.nonceD, c.link.nonceL
		c.link.nonceD, c.link.nonceL = nil, nil // one PROVE per HELLO
		if nonceD == nil {
			c.errorReply("ERR WALKER.LINK PROVE without a HELLO before it")
			return
		}
		if !links.Check(nonceD, nonceL, args[2]) {
			s.linkFailed(c, "proof does not match")
			c.errorReply(errLinkProof)
			return
		}
		c.link.linked = true
		c.authed = true
		c.nodeLink.Store(true)
		c.ok()
	case sub == "hello" || sub == "prove":
		c.errorReply(fmt.Sprintf("ERR wrong number of arguments for 'walker.link|%s' command", sub))
	default:
		c.errorReply(fmt.Sprintf("ERR unknown subcommand '%.128s'. Try WALKER.LINK HELLO or PROVE.", args[1]))
	}
}

// linkFailed logs a refused node link, rate limited.
func (s *Server) linkFailed(c *client, why string) {
	if ok, held := linkWarn.Allow(); ok {
		s.cfg.Logger.Warn("node link refused", "remote", c.addr, "why", why, "links", s.cfg.Links.Mode(), "refusals_not_logged", held)
	}
}

// guardLinked answers errNotLinked and returns false unless c is a node
// link (WALKER.APPLY, WALKER.FORWARD).
func guardLinked(c *client) bool {
	if !c.link.linked {
		c.errorReply(errNotLinked)
		return false
	}
	return true
}
