// Command walkerbench is WalkerDB's load generator: server mode over RESP and
// engine mode in process. It arrives with the walkerbench issue.
package main
