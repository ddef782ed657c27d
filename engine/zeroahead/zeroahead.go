// Package zeroahead keeps the blocks just ahead of an append-only file's
// writer written, with zeros, and synced, so that the fdatasync after each
// append has only the appended bytes to write.
//
// Why: a log file preallocated with fallocate(2) holds unwritten extents.
// The first write into one converts it to a written extent, a change of
// the file's metadata, so the fdatasync that follows must commit the
// filesystem's journal as well as write the data. In blocks already
// written an append overwrites in place, and fdatasync writes the data
// alone. ext4, 5,000-byte appends each followed by fdatasync, median
// fdatasync of 3,000, three runs (BenchmarkAppendFdatasync):
//
//	fallocate'd                     205-228 µs
//	zeroed ahead by this package    126-129 µs
//
// A file written whole with zeros beforehand did no better than one zeroed
// ahead (174-215 against 179-210 µs, and 308-370 fallocate'd, in a side by
// side program on a busier day).
//
// PostgreSQL fills each new WAL segment with zeros for the same reason
// (wal_init_zero). Filling a whole 64 MiB segment first would stall the
// writer at each new segment, and would cost every server that writes
// little (a test's, an idle replica's) 64 MiB of writes per log; a window
// ahead of the writer costs neither.
//
// A File keeps zeroed, the end of the zeros, at most Window bytes past
// written, the writer's furthest byte:
//
//	0               written           zeroed    zeroed+Chunk        size
//	|  the writer's  |  zeros, synced  |  being   |  unwritten        |
//	|  bytes         |                 |  zeroed  |  extents          |
//
// A goroutine zeroes one Chunk at a time, a page per pwrite, and syncs it
// with one fdatasync, through a descriptor of its own: an I/O error that its
// fdatasync reports is then still reported to the writer's next fsync
// (Linux reports a writeback error once to each open file description),
// never swallowed here. It never writes below written: bytes the writer
// has reached are the writer's. A write reaching into the chunk being
// zeroed waits for that chunk, so its bytes land after the zeros, never
// under them. A zeroing error stops the zeroing and nothing else: the file
// is as fast as a preallocated one, and as correct.
package zeroahead

import (
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Window and Chunk size the zeroing, in bytes. A chunk of 1 MiB, a page
// per pwrite, took 2.6-4.0 ms to write and sync on WalkerDB's build
// machine (64 in a row, three runs, beside a CI run): the zeroing keeps
// ahead of any writer below about 250 MB/s,
// far above what a writer that fsyncs each append reaches. A writer that
// outruns it writes into unwritten extents, as without it. Chunks of
// 1 MiB keep the journal commits the zeroing causes (one per chunk) rare
// beside the writer's fsyncs; a window of 4 MiB is what a server that
// writes almost nothing pays in writes, per file.
const (
	Window = 4 << 20
	Chunk  = 1 << 20
)

// page is the size of the zeroing's writes. A single write of a chunk
// would fill the page cache with a large folio of it (Linux 6.18, ext4),
// and each later append that dirties a byte of that folio would count in
// the process's write_bytes (/proc/PID/io) as the whole folio: 1 MiB an
// append, 250 times the bytes that reach the disk, misleading to an
// operator and to the kernel's dirty-page throttling alike. Page-sized
// writes leave page-sized folios.
var page = int64(os.Getpagesize())

// File is a file whose writes go through WriteAt, zeroed ahead of them. Its
// methods are safe for concurrent use.
type File struct {
	f             *os.File // the writer's
	size          int64    // the file's preallocated length
	window, chunk int64    // Window and Chunk; smaller in tests

	mu      sync.Mutex
	cond    *sync.Cond // signalled when a chunk is done
	written int64      // the end of the furthest write; -1: none yet
	zeroed  int64      // [written, zeroed) holds zeros, synced
	busy    int64      // the end of the chunk being zeroed, 0 if none
	stopped bool
	kick    chan struct{}
	done    chan struct{}
}

// Start zeroes ahead of the writes to f, whose length is size, through a
// descriptor of its own opened at path. from is where the writer starts:
// every byte below it is the writer's. from < 0 means unknown (a file
// reopened by a writer that finds its own end); zeroing then starts after
// the first write. If path cannot be opened, f is returned without zeroing
// and the error with it: writes still work.
func Start(f *os.File, path string, from, size int64) (*File, error) {
	return start(f, path, from, size, Window, Chunk)
}

func start(f *os.File, path string, from, size, window, chunk int64) (*File, error) {
	z := &File{f: f, size: size, window: window, chunk: chunk, written: from, zeroed: from, stopped: true}
	z.cond = sync.NewCond(&z.mu)
	zf, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return z, err
	}
	z.stopped = false
	z.kick = make(chan struct{}, 1)
	z.done = make(chan struct{})
	go z.run(zf)
	z.wake()
	return z, nil
}

// WriteAt writes p at off through the writer's descriptor: os.File.WriteAt,
// after waiting for the chunk being zeroed if p reaches into it.
func (z *File) WriteAt(p []byte, off int64) (int, error) {
	end := off + int64(len(p))
	z.mu.Lock()
	for z.busy > 0 && end > z.zeroed && off < z.busy {
		z.cond.Wait()
	}
	if end > z.written {
		z.written = end
	}
	work := z.needsWork()
	z.mu.Unlock()
	if work {
		z.wake()
	}
	return z.f.WriteAt(p, off)
}

// Stop ends the zeroing and waits for the chunk in progress: call it
// before the file is truncated or closed. Writes through WriteAt still
// work after it. Stop may be called more than once.
func (z *File) Stop() {
	z.mu.Lock()
	if z.stopped {
		z.mu.Unlock()
		return
	}
	z.stopped = true
	z.mu.Unlock()
	z.wake()
	<-z.done
}

// Zeroed reports the end of the zeros written ahead of the writer.
func (z *File) Zeroed() int64 {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.zeroed
}

// needsWork reports whether the zeroer has a chunk to write. z.mu is held.
func (z *File) needsWork() bool {
	return !z.stopped && z.written >= 0 && z.busy == 0 &&
		max(z.zeroed, z.written) < min(z.written+z.window, z.size)
}

func (z *File) wake() {
	select {
	case z.kick <- struct{}{}:
	default:
	}
}

// run zeroes a chunk at a time until Stop, an error or the end of the
// file, then closes zf.
func (z *File) run(zf *os.File) {
	defer close(z.done)
	defer zf.Close()
	var zeros []byte
	for range z.kick {
		for {
			z.mu.Lock()
			if !z.needsWork() {
				if z.zeroed >= z.size {
					z.stopped = true // nothing left: a sealed file may stay open for reads long after
				}
				stopped := z.stopped
				z.mu.Unlock()
				if stopped {
					return
				}
				break
			}
			start := max(z.zeroed, z.written)
			end := min(start+z.chunk, z.size)
			z.zeroed, z.busy = start, end
			z.mu.Unlock()
			if zeros == nil {
				zeros = make([]byte, page)
			}
			var err error
			for off := start; off < end && err == nil; off += page {
				_, err = zf.WriteAt(zeros[:min(page, end-off)], off)
			}
			if err == nil {
				err = unix.Fdatasync(int(zf.Fd()))
			}
			z.mu.Lock()
			z.busy = 0
			if err != nil {
				z.stopped = true
			} else {
				z.zeroed = end
			}
			z.cond.Broadcast()
			z.mu.Unlock()
			if err != nil {
				return
			}
		}
	}
}
