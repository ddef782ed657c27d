module github.com/walkerdb/walkerdb/internal

go 1.26

require github.com/anishathalye/porcupine v1.3.1

require (
	golang.org/x/sys v0.30.0 // indirect
	golang.org/x/term v0.29.0 // indirect
)
