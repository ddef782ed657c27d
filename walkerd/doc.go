// Command walkerd is WalkerDB's daemon: a Redis-protocol front (redcon) over
// Raft replication (hashicorp/raft) over the bitcask engine. It arrives with
// the walkerd issue; this module reserves its place in the workspace.
package main
