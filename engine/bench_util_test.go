package engine

import "runtime"

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
