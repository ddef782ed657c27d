package command

import (
	"os"
	"strconv"
	"testing"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/resp"
)

// loadStream fills stream "s" with n entries of IDs 1-0 .. n-0 (one field
// of a few bytes), 1000 XADDs a log entry, and returns the next index.
func loadStream(b *testing.B, db *engine.DB, n int, now int64) uint64 {
	b.Helper()
	index := uint64(0)
	for lo := 1; lo <= n; lo += 1000 {
		var cmds [][][]byte
		for i := lo; i < lo+1000 && i <= n; i++ {
			cmds = append(cmds, [][]byte{[]byte("XADD"), []byte("s"), []byte(strconv.Itoa(i) + "-0"), []byte("f"), []byte("v" + strconv.Itoa(i%1000))})
		}
		index++
		res, err := ApplyEntry(db, index, &Entry{NowMs: now, Cmds: cmds, Exec: true})
		if err != nil || res.Error != "" {
			b.Fatal(err, res.Error)
		}
	}
	return index
}

// BenchmarkStream: XADD on a stream of n entries (one log entry per
// XADD), XRANGE of 100 entries from the middle (a seek, then a walk: it
// should not grow with n), and XTRIM MAXLEN ~ removing a node (100
// entries) per op after each op's 100 XADDs.
func BenchmarkStream(b *testing.B) {
	for _, n := range streamBenchSizes {
		if n > 10_000 && testing.Short() {
			continue
		}
		db := openDB(b)
		now := int64(1_700_000_000_000)
		index := loadStream(b, db, n, now)
		a := NewApplier(db)
		next := n + 1
		ns := strconv.Itoa(n)
		b.Run("XRANGE_100/n="+ns, func(b *testing.B) {
			args := [][]byte{[]byte("XRANGE"), []byte("s"), []byte(strconv.Itoa(n/2) + "-0"), []byte("+"), []byte("COUNT"), []byte("100")}
			e := &resp.Encoder{Proto: 2}
			b.ReportAllocs()
			for b.Loop() {
				e.B = e.B[:0]
				if err := Read(db, 0, now, nil, args, e); err != nil || e.B[0] != '*' || len(e.B) < 100*20 {
					b.Fatalf("%v %q", err, e.B[:min(len(e.B), 80)])
				}
			}
		})
		b.Run("XADD/n="+ns, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				index++
				e := &Entry{NowMs: now, Cmds: [][][]byte{{[]byte("XADD"), []byte("s"), []byte(strconv.Itoa(next) + "-0"), []byte("f"), []byte("v")}}}
				next++
				a.ApplyOne(index, e)
			}
		})
		b.Run("XTRIM_approx/n="+ns, func(b *testing.B) {
			// Each op appends 100 entries in one log entry (not timed),
			// then trims back to n with "~": one whole node goes.
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				var cmds [][][]byte
				for range 100 {
					cmds = append(cmds, [][]byte{[]byte("XADD"), []byte("s"), []byte(strconv.Itoa(next) + "-0"), []byte("f"), []byte("v")})
					next++
				}
				index++
				a.ApplyOne(index, &Entry{NowMs: now, Cmds: cmds, Exec: true})
				b.StartTimer()
				index++
				a.ApplyOne(index, &Entry{NowMs: now, Cmds: [][][]byte{{[]byte("XTRIM"), []byte("s"), []byte("MAXLEN"), []byte("~"), []byte(ns)}}})
			}
		})
	}
}

var streamBenchSizes = benchSizes()

// benchSizes are the stream lengths BenchmarkStream loads; the
// environment's WALKERD_STREAM_BENCH_SMALL keeps the 10k one only.
func benchSizes() []int {
	if os.Getenv("WALKERD_STREAM_BENCH_SMALL") != "" {
		return []int{10_000}
	}
	return []int{10_000, 1_000_000}
}
