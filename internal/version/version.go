// Package version holds the build's version and commit. The Makefile sets
// both with -ldflags "-X github.com/walkerdb/walkerdb/internal/version.Version=...".
package version

import "strings"

// Version is the release name, or "dev" for a build outside the Makefile.
var Version = "dev"

// Commit is the git commit the binary was built from, or "unknown".
var Commit = "unknown"

// String is the one-line form the binaries print for --version: the
// version, then the commit in parentheses unless the version already names
// it (a build from an untagged tree takes the commit as its version).
func String() string {
	if Commit == "" || strings.Contains(Version, Commit) {
		return Version
	}
	return Version + " (" + Commit + ")"
}
