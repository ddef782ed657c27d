// Command walkerdump inspects, verifies, recovers, merges and exports a
// WalkerDB data directory offline. It arrives with the walkerdump issue.
package main
