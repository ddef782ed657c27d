package zeroahead

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/walkerdb/walkerdb/engine/enginetest"
)

// preallocated makes a file of size bytes with fallocate, as the engine's
// segments and raft-wal's are, where the filesystem can tell its unwritten
// extents apart (enginetest.SkipUnlessPreallocatedIsHole).
func preallocated(t testing.TB, size int64) (*os.File, string) {
	t.Helper()
	dir := t.TempDir()
	enginetest.SkipUnlessPreallocatedIsHole(t, dir)
	path := filepath.Join(dir, "f")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := unix.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
		t.Fatal(err)
	}
	return f, path
}

// waitZeroed waits, for at most 10 s, until z has zeroed up to want.
func waitZeroed(t *testing.T, z *File, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for z.Zeroed() < want {
		if time.Now().After(deadline) {
			t.Fatalf("zeroed %d after 10 s, want %d", z.Zeroed(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// The blocks ahead of the writes become written extents, a window's worth
// and no further, and move along with the writes, up to the file's end.
func TestZeroesAWindowAheadOfTheWrites(t *testing.T) {
	const size, window, chunk = 1 << 20, 64 << 10, 16 << 10
	f, path := preallocated(t, size)
	z, err := start(f, path, 0, size, window, chunk)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Stop()
	waitZeroed(t, z, window)
	if got := enginetest.WrittenEnd(t, f.Name()); got != window {
		t.Fatalf("written blocks end at %d before any write, want the window, %d", got, window)
	}
	if _, err := z.WriteAt(bytes.Repeat([]byte{7}, 100_000), 0); err != nil {
		t.Fatal(err)
	}
	waitZeroed(t, z, 100_000+window)
	// The zeroer stops once it is a window ahead.
	time.Sleep(20 * time.Millisecond)
	if got, max := z.Zeroed(), int64(100_000+window+chunk); got > max {
		t.Fatalf("zeroed %d, more than a window and a chunk ahead (%d)", got, max)
	}
	if got := enginetest.WrittenEnd(t, f.Name()); got < 100_000+window {
		t.Fatalf("written blocks end at %d, want at least %d", got, 100_000+window)
	}
	// Up to the end of the file, and no further.
	if _, err := z.WriteAt([]byte{1}, size-10); err != nil {
		t.Fatal(err)
	}
	waitZeroed(t, z, size)
	select { // nothing left to zero: its goroutine ends without Stop
	case <-z.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the zeroer still runs with the whole file zeroed")
	}
	z.Stop()
	if fi, err := f.Stat(); err != nil || fi.Size() != size {
		t.Fatalf("size %v (%v), want %d", fi.Size(), err, size)
	}
}

// A writer racing the zeroer, with writes of every size (some within one
// chunk, some across several, some past the zeroes), never loses a byte to
// the zeros: the file ends equal to a model of the writes.
func TestZerosNeverLandOnWrites(t *testing.T) {
	const size, window, chunk = 1 << 20, 64 << 10, 8 << 10
	for round := range 20 {
		f, path := preallocated(t, size)
		z, err := start(f, path, 0, size, window, chunk)
		if err != nil {
			t.Fatal(err)
		}
		model := make([]byte, size)
		r := rand.New(rand.NewPCG(uint64(round), 1))
		off := int64(0)
		for off < size {
			n := min(int64(1+r.IntN(3*chunk)), size-off)
			if r.IntN(8) == 0 {
				n = min(int64(1+r.IntN(2*window)), size-off) // past all the zeros
			}
			p := make([]byte, n)
			for i := range p {
				p[i] = byte(1 + r.IntN(255))
			}
			if _, err := z.WriteAt(p, off); err != nil {
				t.Fatal(err)
			}
			copy(model[off:], p)
			off += n
			if r.IntN(4) == 0 {
				time.Sleep(time.Duration(r.IntN(200)) * time.Microsecond) // let the zeroer run
			}
		}
		z.Stop()
		got := make([]byte, size)
		if _, err := f.ReadAt(got, 0); err != nil {
			t.Fatal(err)
		}
		if i := firstDiff(got, model); i >= 0 {
			t.Fatalf("round %d: byte %d is %d, the writer wrote %d", round, i, got[i], model[i])
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// A reopened file's writer finds its own end: nothing is zeroed until its
// first write, and the bytes before that write, the file's old contents,
// are never touched.
func TestAReopenedFileKeepsWhatLiesBeforeTheFirstWrite(t *testing.T) {
	const size, window, chunk = 1 << 20, 64 << 10, 16 << 10
	f, path := preallocated(t, size)
	old := bytes.Repeat([]byte{0xAB}, 200_000)
	if _, err := f.WriteAt(old, 0); err != nil {
		t.Fatal(err)
	}
	z, err := start(f, path, -1, size, window, chunk)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Stop()
	time.Sleep(20 * time.Millisecond)
	if got := z.Zeroed(); got != -1 {
		t.Fatalf("zeroed to %d before the first write", got)
	}
	// The writer's end is 150,000: the rest of old is a torn tail it
	// overwrites and the zeroer may clear.
	p := bytes.Repeat([]byte{0xCD}, 1000)
	if _, err := z.WriteAt(p, 150_000); err != nil {
		t.Fatal(err)
	}
	waitZeroed(t, z, 151_000+window)
	got := make([]byte, 151_000+window)
	if _, err := f.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	want := append(append(bytes.Clone(old[:150_000]), p...), make([]byte, window)...)
	if i := firstDiff(got, want); i >= 0 {
		t.Fatalf("byte %d is %#x, want %#x", i, got[i], want[i])
	}
}

// After Stop nothing is written but the writer's own writes: the file can
// be trimmed and stays trimmed.
func TestStopEndsTheZeroing(t *testing.T) {
	const size, window, chunk = 8 << 20, 4 << 20, 64 << 10
	f, path := preallocated(t, size)
	z, err := start(f, path, 0, size, window, chunk)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := z.WriteAt([]byte("record"), 0); err != nil {
		t.Fatal(err)
	}
	z.Stop()
	z.Stop() // twice is fine
	if err := f.Truncate(6); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if fi, err := f.Stat(); err != nil || fi.Size() != 6 {
		t.Fatalf("size %d (%v) after Stop and a trim to 6", fi.Size(), err)
	}
	if _, err := z.WriteAt([]byte("more"), 6); err != nil {
		t.Fatalf("a write after Stop: %v", err)
	}
}

// writeBytes is the process's write_bytes (/proc/self/io): the bytes of
// the pages its writes dirtied.
func writeBytes(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Skipf("no /proc/self/io: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "write_bytes: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Skip("no write_bytes in /proc/self/io")
	return 0
}

// Small appends into zeroed blocks count in write_bytes as the pages they
// dirty, as appends into unwritten ones do: not as the zeroing's chunk (a
// chunk written at once made each 150-byte append count 1 MiB).
func TestAppendsCountThePagesTheyDirty(t *testing.T) {
	const size, appends = 8 << 20, 500
	f, path := preallocated(t, size)
	z, err := start(f, path, 0, size, 4<<20, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Stop()
	waitZeroed(t, z, 4<<20)
	p := bytes.Repeat([]byte{1}, 150)
	before := writeBytes(t)
	for i := range appends {
		if _, err := f.WriteAt(p, int64(i*len(p))); err != nil { // under the window: no zeroing meanwhile
			t.Fatal(err)
		}
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			t.Fatal(err)
		}
	}
	// Each append dirties one page or two; anything a chunk's size is wrong.
	if got, most := writeBytes(t)-before, int64(appends*2*os.Getpagesize()); got > most {
		t.Fatalf("%d appends of %d bytes counted %d bytes written, more than two pages each (%d)", appends, len(p), got, most)
	}
}

// Without a descriptor of its own the zeroing is off and writes still work.
func TestNoDescriptorNoZeroing(t *testing.T) {
	f, path := preallocated(t, 1<<20)
	z, err := Start(f, path+".gone", 0, 1<<20)
	if err == nil {
		t.Fatal("Start of a missing path: no error")
	}
	if _, err := z.WriteAt([]byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	z.Stop()
	if got := enginetest.WrittenEnd(t, f.Name()); got != 4096 {
		t.Fatalf("written blocks end at %d, want one block", got)
	}
}

// BenchmarkAppendFdatasync is what the package is for: one 5,000-byte
// append and one fdatasync per op, through a file preallocated with
// fallocate, with and without the zeroing ahead; ns/op is the pair's
// latency. fdatasync/op-p50 is the median fdatasync alone.
func BenchmarkAppendFdatasync(b *testing.B) {
	for _, zero := range []bool{false, true} {
		name := "fallocated"
		if zero {
			name = "zeroahead"
		}
		b.Run(name, func(b *testing.B) {
			const rec = 5000
			size := max(int64(b.N+1)*rec, 64<<20)
			f, path := preallocated(b, size)
			write := f.WriteAt
			if zero {
				z, err := Start(f, path, 0, size)
				if err != nil {
					b.Fatal(err)
				}
				defer z.Stop()
				write = z.WriteAt
				for z.Zeroed() < Window {
					time.Sleep(time.Millisecond)
				}
			}
			p := bytes.Repeat([]byte{1}, rec)
			syncs := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				if _, err := write(p, int64(i)*rec); err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				if err := unix.Fdatasync(int(f.Fd())); err != nil {
					b.Fatal(err)
				}
				syncs = append(syncs, time.Since(t0))
			}
			b.StopTimer()
			sort.Slice(syncs, func(i, j int) bool { return syncs[i] < syncs[j] })
			b.ReportMetric(float64(syncs[len(syncs)/2].Nanoseconds()), "fdatasync-ns/op-p50")
		})
	}
}
