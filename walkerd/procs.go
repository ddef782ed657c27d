package main

import (
	"os"
	"runtime"
)

// minProcs is the fewest Ps (GOMAXPROCS) walkerd runs with.
//
// A goroutine that touches memory the kernel must first map (the first
// write to a fresh 512 MB buffer, a page cache full of dirty pages) waits
// in a page fault, not a system call, so the Go scheduler cannot hand its
// P to another goroutine meanwhile. With one P per core on a two-core
// machine, two such goroutines stall every other one: a three-node
// cluster taking 512 MB SETs lost its leader in 4 and 8 elections out of
// two rounds of three SETs, Raft heartbeats (every 50 ms, a 250 ms lease)
// waiting behind the faults. With 4 Ps the same rounds held their leader,
// and small writes were as fast or faster (redis-benchmark, 50 clients,
// one node, medians of 3: SET -P 16 216k -> 255k ops/s, SET -P 1 and GET
// -P 16 unchanged). GOMAXPROCS in the environment is obeyed as it is.
const minProcs = 4

func setProcs() {
	if os.Getenv("GOMAXPROCS") == "" && runtime.GOMAXPROCS(0) < minProcs {
		runtime.GOMAXPROCS(minProcs)
	}
}
