package nodelink

import "errors"

// Errors of a failed handshake. Each wraps the condition with details.
var (
	// ErrProof: the peer's proof does not match; it holds another secret
	// (or none).
	ErrProof = errors.New("nodelink: the peer's proof does not match: its cluster secret differs")
	// ErrNotLink: the peer did not start a node link exchange.
	ErrNotLink = errors.New("nodelink: not a WalkerDB node link handshake")
	// ErrVersion: the peer speaks another version of the exchange.
	ErrVersion = errors.New("nodelink: unsupported handshake version")
	// ErrRejected: the peer refused this node's proof.
	ErrRejected = errors.New("nodelink: the peer refused this node's proof")
	// ErrShortSecret: a secret shorter than MinSecret.
	ErrShortSecret = errors.New("nodelink: cluster secret too short")
)
