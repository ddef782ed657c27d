// Package tools holds WalkerDB's developer scripts and pinned dev tools:
// the local cluster launcher and fault-injection helpers.
package tools
