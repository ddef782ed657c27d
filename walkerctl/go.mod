module github.com/walkerdb/walkerdb/walkerctl

go 1.26

require (
	github.com/urfave/cli/v2 v2.27.7
	github.com/walkerdb/walkerdb/engine v0.0.0
	github.com/walkerdb/walkerdb/internal v0.0.0
)

require (
	github.com/cpuguy83/go-md2man/v2 v2.0.7 // indirect
	github.com/google/flatbuffers v25.12.19+incompatible // indirect
	github.com/russross/blackfriday/v2 v2.1.0 // indirect
	github.com/tidwall/btree v1.7.0 // indirect
	github.com/walkerdb/walkerdb/fbs v0.0.0 // indirect
	github.com/xrash/smetrics v0.0.0-20240521201337-686a1a2994c1 // indirect
	golang.org/x/exp v0.0.0-20250106191152-7588d65b2ba8 // indirect
	golang.org/x/sys v0.30.0 // indirect
	golang.org/x/term v0.29.0 // indirect
)

replace github.com/walkerdb/walkerdb/engine => ../engine

replace github.com/walkerdb/walkerdb/fbs => ../fbs

replace github.com/walkerdb/walkerdb/internal => ../internal
