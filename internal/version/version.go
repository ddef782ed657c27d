// Package version holds the build's version and commit. The Makefile sets
// both with -ldflags "-X github.com/walkerdb/walkerdb/internal/version.Version=...".
package version

// Version is the release name, or "dev" for a build outside the Makefile.
var Version = "dev"

// Commit is the git commit the binary was built from, or "unknown".
var Commit = "unknown"

// String is the one-line form the binaries print for --version.
func String() string { return Version + " (" + Commit + ")" }
