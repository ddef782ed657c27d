package engine

// Benchmarks for the engine's speed targets. The shared fixture is a
// million 16-byte keys with 100-byte values, built once per run:
//
//	go test -run '^$' -bench . -benchmem
//
// WALKER_BENCH_10M=1 adds the 10-million-key Open (about 1.5 GB of disk).

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine/enginetest"
	"github.com/walkerdb/walkerdb/engine/hint"
	"github.com/walkerdb/walkerdb/engine/keydir"
	"golang.org/x/sys/unix"
)

const (
	benchKeys     = 1_000_000
	benchValueLen = 100
)

func benchKey(i int) []byte { return appendBenchKey(nil, i) }

// appendBenchKey formats key:%012d (16 bytes) without fmt, so a benchmark
// can make its keys in a hot buffer as a server gets them off the network.
func appendBenchKey(b []byte, i int) []byte {
	b = append(b, "key:000000000000"...)
	for j := len(b) - 1; i > 0; j-- {
		b[j] = byte('0' + i%10)
		i /= 10
	}
	return b
}

var benchValue = func() []byte {
	v := make([]byte, benchValueLen)
	for i := range v {
		v[i] = byte('a' + i%26)
	}
	return v
}()

var fixtures sync.Map // n -> dir; TestMain removes them (cleanupFixtures)

// fixture returns a closed data directory holding n keys, built once.
func fixture(b *testing.B, n int) string {
	if dir, ok := fixtures.Load(n); ok {
		return dir.(string)
	}
	dir, err := os.MkdirTemp("", fmt.Sprintf("walker-bench-%d-", n))
	if err != nil {
		b.Fatal(err)
	}
	db, err := Open(dir, &Options{Sync: SyncNo})
	if err != nil {
		b.Fatal(err)
	}
	var batch Batch
	for i := range n {
		batch.Put(benchKey(i), benchValue)
		if batch.Len() == 1000 {
			if err := db.Write(&batch); err != nil {
				b.Fatal(err)
			}
			batch.Reset()
		}
	}
	db.Write(&batch)
	if err := db.Merge(); err != nil { // seals everything and writes hints
		b.Fatal(err)
	}
	db.Close()
	fixtures.Store(n, dir)
	return dir
}

func cleanupFixtures() {
	fixtures.Range(func(_, dir any) bool {
		os.RemoveAll(dir.(string))
		return true
	})
}

// openFixture opens the shared fixture for reading; a benchmark that
// writes opens a copy (openFixtureCopy), so the fixture stays as built.
func openFixture(b *testing.B, n int, o *Options) *DB {
	db, err := Open(fixture(b, n), o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

func openFixtureCopy(b *testing.B, n int, o *Options) *DB {
	dir := filepath.Join(b.TempDir(), "copy")
	if out, err := exec.Command("cp", "-r", fixture(b, n), dir).CombinedOutput(); err != nil {
		b.Fatalf("copy fixture: %v %s", err, out)
	}
	os.Remove(filepath.Join(dir, lockName))
	db, err := Open(dir, o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// cpuClock starts a clock of the process's CPU time, all threads (the
// garbage collector's included), and returns a function that reports it
// per op as cpu-ns/op. On a machine shared with other work, ns/op grows
// with whatever share of the cores the others take; cpu-ns/op does not,
// so it is the figure to compare across runs there (caches are still
// shared). Call it where the timed loop starts and its result where the
// loop ends.
func cpuClock(b *testing.B) (stop func()) {
	start := processCPU()
	return func() {
		b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
	}
}

func processCPU() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return ts.Nano()
}

func BenchmarkGet(b *testing.B) {
	db := openFixture(b, benchKeys, &Options{Sync: SyncNo})
	r := rand.New(rand.NewPCG(1, 2))
	key := make([]byte, 0, 16)
	b.ReportAllocs()
	b.ResetTimer()
	stop := cpuClock(b)
	for i := 0; i < b.N; i++ {
		key = appendBenchKey(key[:0], r.IntN(benchKeys))
		v, err := db.Get(key)
		if err != nil || len(v) != benchValueLen {
			b.Fatal(err)
		}
	}
	stop()
}

// BenchmarkGetPipelined16 is BenchmarkGet as walkerd runs a pipeline of
// 16 GETs: PrefetchGets of the 16 keys, then their Gets. Per Get; compare
// BenchmarkGet and BenchmarkMemoryFloor.
func BenchmarkGetPipelined16(b *testing.B) {
	const depth = 16
	db := openFixture(b, benchKeys, &Options{Sync: SyncNo})
	r := rand.New(rand.NewPCG(1, 2))
	var keys [depth][]byte
	for i := range keys {
		keys[i] = make([]byte, 0, 16)
	}
	key := func(i int) []byte { return keys[i] }
	b.ReportAllocs()
	b.ResetTimer()
	stop := cpuClock(b)
	for i := 0; i < b.N; i += depth {
		m := min(depth, b.N-i)
		for j := range m {
			keys[j] = appendBenchKey(keys[j][:0], r.IntN(benchKeys))
		}
		db.PrefetchGets(m, key)
		for j := range m {
			v, err := db.Get(keys[j])
			if err != nil || len(v) != benchValueLen {
				b.Fatal(err)
			}
		}
	}
	stop()
}

func BenchmarkPut(b *testing.B) {
	for _, mode := range []string{"overwrite", "new"} {
		b.Run("sync=no/"+mode, func(b *testing.B) {
			db := openFixtureCopy(b, benchKeys, &Options{Sync: SyncNo})
			r := rand.New(rand.NewPCG(3, 4))
			k := make([]byte, 0, 16)
			b.ReportAllocs()
			b.ResetTimer()
			stop := cpuClock(b)
			for i := 0; i < b.N; i++ {
				if mode == "new" {
					k = appendBenchKey(k[:0], benchKeys+i) // past the fixture's keys
				} else {
					k = appendBenchKey(k[:0], r.IntN(benchKeys))
				}
				if err := db.Put(k, benchValue); err != nil {
					b.Fatal(err)
				}
			}
			stop()
		})
	}
}

// BenchmarkWriteBatch64 writes batches of 64 puts, SyncNo, into the
// fixture's million keys: overwrites of keys drawn at random, as
// walkerd's state machine writes an entry of many clients' SETs, and new
// keys. ns/op and cpu-ns/op are per put.
func BenchmarkWriteBatch64(b *testing.B) {
	for _, mode := range []string{"overwrite", "new"} {
		b.Run(mode, func(b *testing.B) {
			db := openFixtureCopy(b, benchKeys, &Options{Sync: SyncNo})
			r := rand.New(rand.NewPCG(3, 4))
			keys := make([][]byte, 64)
			for j := range keys {
				keys[j] = make([]byte, 0, 16)
			}
			var batch Batch
			b.ResetTimer()
			stop := cpuClock(b)
			for i := 0; i < b.N; i += len(keys) {
				batch.Reset()
				for j := range keys {
					if mode == "new" {
						keys[j] = appendBenchKey(keys[j][:0], benchKeys+i+j)
					} else {
						keys[j] = appendBenchKey(keys[j][:0], r.IntN(benchKeys))
					}
					batch.Put(keys[j], benchValue)
				}
				if err := db.Write(&batch); err != nil {
					b.Fatal(err)
				}
			}
			stop()
		})
	}
}

// BenchmarkPutSyncAlways32 writes from 32 goroutines with an fsync before
// every acknowledgement; group commit shares the fsyncs.
func BenchmarkPutSyncAlways32(b *testing.B) {
	dir := b.TempDir()
	db, err := Open(dir, &Options{Sync: SyncAlways})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var n atomic.Int64
	b.SetParallelism(32 / max(1, runtimeProcs()))
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if err := db.Put(benchKey(int(i)), benchValue); err != nil {
				b.Fatal(err)
			}
		}
	})
	el := time.Since(start)
	st, _ := db.Stats()
	b.ReportMetric(float64(b.N)/el.Seconds(), "puts/s")
	b.ReportMetric(float64(b.N)/float64(max(1, st.Fsyncs)), "puts/fsync")
}

// BenchmarkBatch100SyncAlways commits 100 puts with one fsync. Compare
// with BenchmarkFsync, one small write and fdatasync, in the same run.
func BenchmarkBatch100SyncAlways(b *testing.B) {
	db, err := Open(b.TempDir(), &Options{Sync: SyncAlways})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var batch Batch
	keys := make([][]byte, 100)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch.Reset()
		for j := range keys {
			keys[j] = benchKey(i*100 + j)
			batch.Put(keys[j], benchValue)
		}
		if err := db.Write(&batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	st, _ := db.Stats()
	b.ReportMetric(float64(st.Fsyncs)/float64(b.N), "fsyncs/batch")
}

// BenchmarkFsync appends a record's worth (145 B) or a 100-record batch's
// worth (14.5 KB) to a file and fdatasyncs it: the floor for a synced write.
func BenchmarkFsync(b *testing.B) {
	for _, n := range []int{145, 14500} {
		b.Run(fmt.Sprintf("bytes=%d", n), func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "f"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			buf := make([]byte, n)
			for i := 0; i < b.N; i++ {
				f.Write(buf)
				if err := unix.Fdatasync(int(f.Fd())); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	sizes := []int{benchKeys}
	if os.Getenv("WALKER_BENCH_10M") != "" {
		sizes = append(sizes, 10*benchKeys)
	}
	for _, n := range sizes {
		for _, hints := range []bool{true, false} {
			b.Run(fmt.Sprintf("keys=%d/hints=%v", n, hints), func(b *testing.B) {
				dir := fixture(b, n)
				b.ResetTimer() // building the fixture is not opening it
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					if !hints {
						for _, h := range enginetest.Files(b, dir, hintExt) {
							os.Remove(h)
						}
					}
					b.StartTimer()
					db, err := Open(dir, &Options{Sync: SyncNo})
					if err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					if db.Len() != n {
						db.Close()
						b.Fatalf("%d keys, want %d", db.Len(), n)
					}
					if !hints { // put the hints back for the next run
						db.mu.RLock()
						var ids []uint32
						for id := range db.segs {
							if id != db.active.id {
								ids = append(ids, id)
							}
						}
						db.mu.RUnlock()
						db.mergeMu.Lock()
						for _, id := range ids {
							db.writeHint(hint.NewBuilder(0), id)
						}
						db.mergeMu.Unlock()
					}
					db.Close()
					b.StartTimer()
				}
			})
		}
	}
}

// BenchmarkMerge rewrites a million live records; MB/s counts live data.
func BenchmarkMerge(b *testing.B) {
	db := openFixtureCopy(b, benchKeys, &Options{Sync: SyncNo})
	st, _ := db.Stats()
	b.SetBytes(st.LiveBytes)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := db.Merge(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHintOfBatches writes the hint of a sealed 64 MB segment whose
// records were written in batches of 16, as walkerd's state machine
// writes them, as hintLoop does: the scan that reads the segment into a
// Builder kept from one hint to the next, and the file's writing (its
// fsync too: compare cpu-ns/op, the CPU it took, as well as ns/op).
func BenchmarkHintOfBatches(b *testing.B) {
	db, err := Open(b.TempDir(), &Options{Sync: SyncNo})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	active := func() uint32 {
		db.mu.RLock()
		defer db.mu.RUnlock()
		return db.active.id
	}
	var batch Batch
	for i := 0; active() == 1; i++ {
		batch.Put(benchKey(i), benchValue)
		if batch.Len() == 16 {
			if err := db.Write(&batch); err != nil {
				b.Fatal(err)
			}
			batch.Reset()
		}
	}
	db.mu.RLock()
	s := db.segs[1]
	db.mu.RUnlock()
	hb, path := hint.NewBuilder(0), filepath.Join(b.TempDir(), hintName(1))
	b.ReportAllocs()
	b.ResetTimer()
	stop := cpuClock(b)
	for i := 0; i < b.N; i++ {
		hb.Reset(1)
		maxSeq, err := scanHint(hb, s.ra, s.size, db.maxRecord())
		if err == nil {
			err = hb.WriteFile(path, uint64(s.size), maxSeq)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	stop()
}

// BenchmarkIndexMemory reports the keydir's heap cost per key beyond the
// key's own bytes, measured after a million puts.
func BenchmarkIndexMemory(b *testing.B) {
	for i := 0; i < b.N; i++ {
		before := heapAlloc()
		db, err := Open(fixture(b, benchKeys), &Options{Sync: SyncNo})
		if err != nil {
			b.Fatal(err)
		}
		after := heapAlloc()
		b.ReportMetric(float64(after-before)/benchKeys-16, "bytes/key")
		db.Close()
	}
}

// BenchmarkMemoryFloor is what any bitcask Get pays on this machine: a
// random read from a heap array the size of the fixture's index (the slot),
// whose contents say where to read in a mapped file the size of its data
// (the record). The second read depends on the first, as in Get, so the
// CPU cannot overlap them. Compare BenchmarkGet with it.
//
// Its file is not mapped quite as the fixture's segments are: written page
// by page through the mapping, it gets 2 MB page-cache folios that the
// kernel maps with 2 MB entries (74 to 98 of its 141 MB, /proc/self/smaps
// FilePmdMapped, Linux 6.18 on ext4). The segments, when merge wrote them
// in 1 MB writes, got none, so that their every read was a 4 KB TLB miss;
// merge writes 4 MB at a time since (merge.go), and 134 of 144 MB are so
// mapped. With MADV_NOHUGEPAGE on its mapping the floor cost 1.1 to 1.2
// times as much run alone, and twice as much timed in turns beside Get.
func BenchmarkMemoryFloor(b *testing.B) {
	const dataLen, indexLen = benchKeys * 145, benchKeys * 40
	f, err := os.Create(filepath.Join(b.TempDir(), "data"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(dataLen); err != nil {
		b.Fatal(err)
	}
	data, err := unix.Mmap(int(f.Fd()), 0, dataLen, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Munmap(data)
	for i := 0; i < dataLen; i += 4096 {
		data[i] = 1 // fault every page in, as the fixture's are
	}
	index := make([]uint64, indexLen/8)
	r := rand.New(rand.NewPCG(7, 8))
	for i := range index {
		index[i] = uint64(r.IntN(dataLen))
	}
	var sink uint64
	b.ResetTimer()
	stop := cpuClock(b)
	for i := 0; i < b.N; i++ {
		off := index[(r.IntN(len(index))+int(sink&1))%len(index)]
		sink += uint64(data[off])
	}
	stop()
	if sink == 42 {
		b.Log(sink)
	}
}

// keydirKeys returns benchKeys 16-byte keys in key order or shuffled.
func keydirKeys(shuffled bool) [][]byte {
	ks := make([][]byte, benchKeys)
	for i := range ks {
		ks[i] = benchKey(i)
	}
	if shuffled {
		r := rand.New(rand.NewPCG(9, 10))
		r.Shuffle(len(ks), func(i, j int) { ks[i], ks[j] = ks[j], ks[i] })
	}
	return ks
}

// BenchmarkKeydirMemory reports the keydir's whole heap per 16-byte key,
// the key's own bytes included (heapB/key), after a million Puts into
// keydir.New(0) and a Sync: keys in random order, and in key order as Open
// loads a merged directory. BenchmarkIndexMemory, by contrast, reports the
// bytes beyond the key's 16.
func BenchmarkKeydirMemory(b *testing.B) {
	for _, order := range []string{"random", "key"} {
		b.Run("order="+order, func(b *testing.B) {
			ks := keydirKeys(order == "random")
			for i := 0; i < b.N; i++ {
				before := heapAlloc()
				kd := keydir.New(0)
				for j, k := range ks {
					kd.Put(k, keydir.MakeLoc(1, uint32(j), 0), 145)
				}
				kd.Sync()
				after := heapAlloc()
				b.ReportMetric(float64(after-before)/benchKeys, "heapB/key")
				runtime.KeepAlive(kd)
				runtime.KeepAlive(ks) // else freed before after, and counted off the index
			}
		})
	}
}

// benchKeydir is a synced keydir of the fixture's million keys in random
// order (keydirKeys).
func benchKeydir() *keydir.Keydir {
	kd := keydir.New(0)
	for j, k := range keydirKeys(true) {
		kd.Put(k, keydir.MakeLoc(1, uint32(j), 0), 145)
	}
	kd.Sync()
	return kd
}

// BenchmarkKeydirGet is the keydir's share of Get: the location of a
// present key, drawn at random from a million. Compare BenchmarkMemoryFloor.
func BenchmarkKeydirGet(b *testing.B) {
	kd := benchKeydir()
	r := rand.New(rand.NewPCG(1, 2))
	key := make([]byte, 0, 16)
	b.ResetTimer()
	stop := cpuClock(b)
	for i := 0; i < b.N; i++ {
		key = appendBenchKey(key[:0], r.IntN(benchKeys))
		if _, ok := kd.Get(key); !ok {
			b.Fatal("missing")
		}
	}
	stop()
}

// BenchmarkKeydirPutNew puts new keys into a keydir of a million, Syncs
// included as they fall due: keys past the last one (in order), and keys
// spread among the present ones (random).
func BenchmarkKeydirPutNew(b *testing.B) {
	for _, order := range []string{"random", "key"} {
		b.Run("order="+order, func(b *testing.B) {
			kd := benchKeydir()
			r := rand.New(rand.NewPCG(5, 6))
			key := make([]byte, 0, 24)
			b.ResetTimer()
			stop := cpuClock(b)
			for i := 0; i < b.N; i++ {
				if order == "key" {
					key = appendBenchKey(key[:0], benchKeys+i)
				} else { // a 17th byte puts it between two present keys
					key = append(appendBenchKey(key[:0], r.IntN(benchKeys)), byte('a'+i%26))
				}
				kd.Put(key, keydir.MakeLoc(2, uint32(i), 0), 145)
			}
			stop()
		})
	}
}
