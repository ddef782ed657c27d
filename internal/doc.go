// Package internal is the home of code shared by WalkerDB's binaries: the
// version stamp, RESP client helpers, output printers and the test harness
// that drives real processes. Nothing here is a public API.
package internal
