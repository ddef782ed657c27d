// Package internal is the home of code shared by WalkerDB's binaries: the
// version stamp, RESP client helpers, output printers, the process manager
// (proc) behind the test harness and the chaos harness that drive real
// processes. Nothing here is a public API.
package internal
