module github.com/walkerdb/walkerdb/tools

go 1.26

require (
	github.com/walkerdb/walkerdb/engine v0.0.0
	github.com/walkerdb/walkerdb/internal v0.0.0
)

require (
	github.com/anishathalye/porcupine v1.3.1 // indirect
	github.com/google/flatbuffers v25.12.19+incompatible // indirect
	github.com/tidwall/btree v1.7.0 // indirect
	github.com/walkerdb/walkerdb/fbs v0.0.0 // indirect
	golang.org/x/exp v0.0.0-20250106191152-7588d65b2ba8 // indirect
	golang.org/x/sys v0.30.0 // indirect
)

replace (
	github.com/walkerdb/walkerdb/engine => ../engine
	github.com/walkerdb/walkerdb/fbs => ../fbs
	github.com/walkerdb/walkerdb/internal => ../internal
)
