#!/bin/sh
# Regenerates the committed Go code from the flatbuffers schemas in this
# folder. Run from the fbs folder (this is what `make generate` does):
#
#   cd fbs && ./generate.sh
#
# Requires flatc 2.0.8 (Debian package flatbuffers-compiler). The output is
# deterministic, so running this twice leaves identical files.
#
# flatc 2.0.8 ignores --filename-suffix for Go unless --gen-onefile is given,
# and with --gen-onefile it writes "package " (empty) unless --go-namespace is
# set; hence both flags. Its one-file output is missing one blank line
# between types, so the generated file (and only that file) is gofmt'ed.
set -eu
cd "$(dirname "$0")"

flatc --go --gen-onefile --go-namespace walkerfb --filename-suffix _generated -o walkerfb hint.fbs
gofmt -w walkerfb/hint_generated.go
