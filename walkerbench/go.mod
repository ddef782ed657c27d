module github.com/walkerdb/walkerdb/walkerbench

go 1.26

require (
	github.com/HdrHistogram/hdrhistogram-go v1.1.2
	github.com/urfave/cli/v2 v2.27.7
	github.com/walkerdb/walkerdb/engine v0.0.0
	github.com/walkerdb/walkerdb/internal v0.0.0
	golang.org/x/sys v0.30.0
	golang.org/x/term v0.29.0
	gonum.org/v1/plot v0.15.2
)

require (
	codeberg.org/go-fonts/liberation v0.4.1 // indirect
	codeberg.org/go-latex/latex v0.0.1 // indirect
	codeberg.org/go-pdf/fpdf v0.10.0 // indirect
	git.sr.ht/~sbinet/gg v0.6.0 // indirect
	github.com/ajstarks/svgo v0.0.0-20211024235047-1546f124cd8b // indirect
	github.com/campoy/embedmd v1.0.0 // indirect
	github.com/cpuguy83/go-md2man/v2 v2.0.7 // indirect
	github.com/golang/freetype v0.0.0-20170609003504-e2365dfdc4a0 // indirect
	github.com/google/flatbuffers v25.12.19+incompatible // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	github.com/russross/blackfriday/v2 v2.1.0 // indirect
	github.com/tidwall/btree v1.7.0 // indirect
	github.com/walkerdb/walkerdb/fbs v0.0.0 // indirect
	github.com/xrash/smetrics v0.0.0-20240521201337-686a1a2994c1 // indirect
	golang.org/x/exp v0.0.0-20250106191152-7588d65b2ba8 // indirect
	golang.org/x/image v0.24.0 // indirect
	golang.org/x/text v0.22.0 // indirect
)

replace github.com/walkerdb/walkerdb/engine => ../engine

replace github.com/walkerdb/walkerdb/internal => ../internal

replace github.com/walkerdb/walkerdb/fbs => ../fbs
