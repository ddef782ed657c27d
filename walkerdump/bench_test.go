package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/engine/enginetest"
	"github.com/walkerdb/walkerdb/engine/record"
)

// BenchmarkOffline measures verify and merge throughput and recover time on
// a directory of WALKERDUMP_BENCH_RECORDS records (default 200000; bench.sh
// runs 7 million, about 1.2 GB): 16-byte keys, 128-byte values, every key
// written twice so that merge drops half. recover runs on a copy with 10
// damaged places in 10 segments. The directory lives under TMPDIR and is
// deleted at the end.
func BenchmarkOffline(b *testing.B) {
	records := 200_000
	if s := os.Getenv("WALKERDUMP_BENCH_RECORDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("WALKERDUMP_BENCH_RECORDS=%q: %v", s, err)
		}
		records = n
	}
	base, err := os.MkdirTemp("", "walkerdump-bench-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(base)
	src := filepath.Join(base, "src")
	start := time.Now()
	size := benchDir(b, src, records)
	b.Logf("%d records, %s in %d segments, written in %v", records, bytesText(size), len(enginetest.Segments(b, src)), time.Since(start).Round(time.Millisecond))

	b.Run("verify", func(b *testing.B) {
		b.SetBytes(size)
		for range b.N {
			if code := run([]string{"walkerdump", "verify", src}, io.Discard, io.Discard); code != exitOK {
				b.Fatalf("verify: exit %d", code)
			}
		}
	})
	b.Run("merge", func(b *testing.B) {
		b.SetBytes(size)
		for i := range b.N {
			b.StopTimer()
			dir := linkCopy(b, src, filepath.Join(base, fmt.Sprintf("merge%d", i)), nil)
			b.StartTimer()
			var out strings.Builder
			if code := run([]string{"walkerdump", "merge", dir}, &out, io.Discard); code != exitOK {
				b.Fatalf("merge: exit %d", code)
			}
			b.Logf("walkerdump merge: %s", strings.TrimSpace(out.String()))
			b.StopTimer()
			b.ReportMetric(float64(dirSize(b, dir))/float64(size), "size-after/before")
			os.RemoveAll(dir)
			b.StartTimer()
		}
	})
	b.Run("recover-10-damaged", func(b *testing.B) {
		b.SetBytes(size)
		for i := range b.N {
			b.StopTimer()
			segs := enginetest.Segments(b, src)
			damaged := map[string]bool{}
			for j := range 10 {
				damaged[filepath.Base(segs[j*(len(segs)-1)/10])] = true // sealed ones
			}
			dir := linkCopy(b, src, filepath.Join(base, fmt.Sprintf("recover%d", i)), damaged)
			rng := rand.New(rand.NewPCG(uint64(i), 10))
			for name := range damaged {
				p := filepath.Join(dir, name)
				st, _ := os.Stat(p)
				off := rng.Int64N(st.Size() - 64)
				enginetest.FlipBytes(b, p, off, off+8)
			}
			b.StartTimer()
			var out strings.Builder
			if code := run([]string{"walkerdump", "recover", dir}, &out, io.Discard); code != exitOK {
				b.Fatalf("recover: exit %d", code)
			}
			b.StopTimer()
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			b.Logf("walkerdump recover: %s", lines[len(lines)-2])
			b.StartTimer()
			b.StopTimer()
			if code := run([]string{"walkerdump", "verify", dir}, io.Discard, io.Discard); code != exitOK {
				b.Fatalf("verify after recover: exit %d", code)
			}
			os.RemoveAll(dir)
			b.StartTimer()
		}
	})
}

// benchDir writes records puts of 16-byte keys and 128-byte values, each
// key twice, closes the DB, writes every hint and returns the bytes.
func benchDir(b *testing.B, dir string, records int) int64 {
	b.Helper()
	// Segments of 64 MiB (walkerd's default), or smaller for small runs so
	// that there are always a dozen or more.
	segSize := min(64<<20, max(engine.MinSegmentSize, int64(records)*record.Size(16, 128)/16))
	db, err := engine.Open(dir, &engine.Options{Sync: engine.SyncNo, SegmentSize: segSize})
	if err != nil {
		b.Fatal(err)
	}
	keys := max(records/2, 1)
	key := make([]byte, 16)
	value := make([]byte, 128)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range records {
		k := i % keys
		if i >= keys { // the second pass overwrites in another order
			k = int(uint64(k) * 0x9E3779B97F4A7C15 % uint64(keys))
		}
		copy(key, "key:")
		binary.BigEndian.PutUint64(key[8:], uint64(k))
		for j := 0; j < len(value); j += 8 {
			binary.LittleEndian.PutUint64(value[j:], rng.Uint64())
		}
		if err := db.Put(key, value); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	if code := run([]string{"walkerdump", "hint", dir}, io.Discard, io.Discard); code != exitOK {
		b.Fatalf("hint: exit %d", code)
	}
	if want := int64(records) * record.Size(16, 128); dirSize(b, dir) < want {
		b.Fatalf("%d bytes of segments, want at least %d", dirSize(b, dir), want)
	}
	return dirSize(b, dir)
}

// linkCopy makes dst a copy of src that shares the sealed segments' and
// hints' inodes (hard links: merge and recover replace files by rename,
// never in place) but copies the last segment, which Open rewrites in
// place, and the files named in copies.
func linkCopy(b *testing.B, src, dst string, copies map[string]bool) string {
	b.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		b.Fatal(err)
	}
	segs := enginetest.Segments(b, src)
	last := filepath.Base(segs[len(segs)-1])
	entries, err := os.ReadDir(src)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || e.Name() == "LOCK" {
			continue
		}
		s, d := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		if e.Name() == last || copies[e.Name()] {
			enginetest.CopyFile(b, s, d)
		} else if err := os.Link(s, d); err != nil {
			b.Fatal(err)
		}
	}
	return dst
}

// dirSize is the bytes of dir's segment files.
func dirSize(b testing.TB, dir string) int64 {
	var n int64
	for _, p := range enginetest.Segments(b, dir) {
		st, err := os.Stat(p)
		if err != nil {
			b.Fatal(err)
		}
		n += st.Size()
	}
	return n
}
