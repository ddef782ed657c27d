// Package fbs holds WalkerDB's flatbuffers schemas (*.fbs) and the Go code
// generated from them.
//
// Each schema lives in this folder; its generated Go lives in a sub-package
// named after the schema's namespace (hint.fbs -> package walkerfb, in
// walkerfb/hint_generated.go).
//
// The generated Go is committed, so building WalkerDB never needs flatc.
// After editing a schema, run `make generate`, which runs generate.sh from
// this folder to re-run flatc (2.0.8, Debian package flatbuffers-compiler)
// and gofmt the generated files; commit the schema and the regenerated code
// together. Never edit *_generated.go by hand.
package fbs
