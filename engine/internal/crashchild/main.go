// Command crashchild is the writer half of the engine's kill -9 test
// (TestCrash_AcknowledgedWritesSurviveKill9 in engine/crash_test.go). It is
// not a tool: the test builds it, runs it on a data directory and kills it
// with SIGKILL at a moment of its choosing, then checks the directory.
//
// It opens the directory with SyncAlways and small segments and writes from
// several goroutines until it is killed:
//
//   - writers put fresh keys, delete keys they wrote earlier and overwrite
//     them; each key is written by one goroutine only, so the order of its
//     lines on stdout is the order of its writes;
//   - batchers commit batches of 3 to 20 puts of fresh keys that share a
//     batch id, each value naming the id, the batch size and its index, and
//     later delete such batches whole, again in one batch;
//   - one goroutine merges in a loop, pausing a little between merges.
//
// Each writer keeps at most maxKeys keys and each batcher at most
// maxBatches batches of its own per run, so that the data, and the time a
// merge takes, stay bounded over many runs.
//
// Before each write it prints the intent ("try-put k v", "try-del k",
// "batch-start id n", "unbatch-start id n"), and after the write returned
// nil the acknowledgement ("put k v", "del k", "batch id n", "unbatch id
// n"), each line in one write(2) so lines never interleave. Around each
// merge it prints "merge-start" and "merge-done". Any error is printed as
// "error ..." and ends the process.
//
// Keys and values never contain spaces or newlines:
//
//	p/c<cycle>/w<writer>/<n>            single keys
//	c<cycle>.w<writer>.<n>.v<ver>.<pad> their values
//	b/<id>/<index>                      batch keys, id = c<cycle>-g<batcher>-<n>
//	<id>:<n>:<index>:<pad>              batch values
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/walkerdb/walkerdb/engine"
)

var (
	dir      = flag.String("dir", "", "data directory")
	cycle    = flag.Int("cycle", 0, "cycle number: prefixes every key")
	seed     = flag.Uint64("seed", 1, "seed of the child's choices")
	segSize  = flag.Int64("segsize", 64<<10, "Options.SegmentSize")
	writers  = flag.Int("writers", 3, "goroutines doing single puts and deletes")
	batchers = flag.Int("batchers", 2, "goroutines writing batches")
	pause    = flag.Duration("merge-pause", 40*time.Millisecond, "most pause between merges")
	zero     = flag.Bool("zeroahead", false, "Options.ZeroAhead")
)

const (
	maxKeys    = 100
	maxBatches = 30
)

var outMu sync.Mutex

// emit writes one line to stdout in one system call.
func emit(format string, args ...any) {
	line := fmt.Appendf(nil, format+"\n", args...)
	outMu.Lock()
	defer outMu.Unlock()
	if _, err := os.Stdout.Write(line); err != nil {
		os.Exit(3) // the parent is gone
	}
}

func fail(format string, args ...any) {
	emit("error "+format, args...)
	os.Exit(1)
}

const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func pad(r *rand.Rand, min, max int) string {
	b := make([]byte, min+r.IntN(max-min+1))
	for i := range b {
		b[i] = letters[r.IntN(len(letters))]
	}
	return string(b)
}

func main() {
	flag.Parse()
	if *dir == "" {
		fail("no -dir")
	}
	db, err := engine.Open(*dir, &engine.Options{Sync: engine.SyncAlways, SegmentSize: *segSize, ZeroAhead: *zero})
	if err != nil {
		fail("open: %v", err)
	}
	emit("ready")
	for g := range *writers {
		go writer(db, g, rand.New(rand.NewPCG(*seed, uint64(100+g))))
	}
	for g := range *batchers {
		go batcher(db, g, rand.New(rand.NewPCG(*seed, uint64(200+g))))
	}
	go merger(db, rand.New(rand.NewPCG(*seed, 300)))
	select {} // until killed
}

func writer(db *engine.DB, g int, r *rand.Rand) {
	var owned []string
	ver := map[string]int{}
	for n := 0; ; n++ {
		full := len(owned) >= maxKeys
		switch p := r.IntN(100); {
		case len(owned) == 0 || !full && p < 60: // a fresh key
			k := fmt.Sprintf("p/c%03d/w%d/%06d", *cycle, g, n)
			owned = append(owned, k)
			put(db, k, fmt.Sprintf("c%03d.w%d.%06d.v%d.%s", *cycle, g, n, 0, pad(r, 8, 300)))
		case !full && p < 80 || full && p < 40: // delete one written before (maybe deleted already)
			k := owned[r.IntN(len(owned))]
			emit("try-del %s", k)
			if err := db.Delete([]byte(k)); err != nil {
				fail("delete %s: %v", k, err)
			}
			emit("del %s", k)
		default: // overwrite one written before (maybe deleted: a re-put)
			k := owned[r.IntN(len(owned))]
			ver[k]++
			put(db, k, fmt.Sprintf("%s.v%d.%s", k, ver[k], pad(r, 8, 300)))
		}
	}
}

func put(db *engine.DB, k, v string) {
	emit("try-put %s %s", k, v)
	if err := db.Put([]byte(k), []byte(v)); err != nil {
		fail("put %s: %v", k, err)
	}
	emit("put %s %s", k, v)
}

func batcher(db *engine.DB, g int, r *rand.Rand) {
	type batch struct {
		id   string
		size int
	}
	var live []batch // written and acknowledged, oldest first
	var b engine.Batch
	for n := 0; ; n++ {
		if len(live) >= maxBatches || len(live) > 0 && r.IntN(100) < 30 {
			old := live[0]
			live = live[1:]
			b.Reset()
			for i := range old.size {
				b.Delete(fmt.Appendf(nil, "b/%s/%02d", old.id, i))
			}
			emit("unbatch-start %s %d", old.id, old.size)
			if err := db.Write(&b); err != nil {
				fail("unbatch %s: %v", old.id, err)
			}
			emit("unbatch %s %d", old.id, old.size)
			continue
		}
		id := fmt.Sprintf("c%03d-g%d-%06d", *cycle, g, n)
		size := 3 + r.IntN(18)
		b.Reset()
		for i := range size {
			b.Put(fmt.Appendf(nil, "b/%s/%02d", id, i), fmt.Appendf(nil, "%s:%d:%d:%s", id, size, i, pad(r, 4, 64)))
		}
		emit("batch-start %s %d", id, size)
		if err := db.Write(&b); err != nil {
			fail("batch %s: %v", id, err)
		}
		emit("batch %s %d", id, size)
		live = append(live, batch{id, size})
	}
}

func merger(db *engine.DB, r *rand.Rand) {
	for {
		emit("merge-start")
		if err := db.Merge(); err != nil {
			fail("merge: %v", err)
		}
		emit("merge-done")
		time.Sleep(time.Duration(r.Int64N(int64(*pause) + 1)))
	}
}
