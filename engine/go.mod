module github.com/walkerdb/walkerdb/engine

go 1.26

require (
	github.com/google/flatbuffers v25.12.19+incompatible
	github.com/walkerdb/walkerdb/fbs v0.0.0
	golang.org/x/sys v0.30.0
)

replace github.com/walkerdb/walkerdb/fbs => ../fbs
