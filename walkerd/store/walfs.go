package store

import (
	"os"
	"path/filepath"

	walfs "github.com/hashicorp/raft-wal/fs"
	"github.com/hashicorp/raft-wal/types"

	"github.com/walkerdb/walkerdb/engine/zeroahead"
)

// zeroFS is raft-wal's file system (fs.FS) with the segment files it writes
// zeroed ahead of the writes (package zeroahead): raft-wal preallocates each
// 64 MiB segment with fallocate, and an fsync after an append into
// unwritten extents commits the filesystem's journal too. Reads, listing and
// deletion are fs.FS's own.
type zeroFS struct{ *walfs.FS }

// Create is fs.FS.Create (a new file, preallocated to size, its directory
// synced at its first Sync), with the writes zeroed ahead from offset 0.
func (z zeroFS) Create(dir, name string, size uint64) (types.WritableFile, error) {
	wf, err := z.FS.Create(dir, name, size)
	if err != nil {
		return nil, err
	}
	f, ok := wf.(*walfs.File)
	if !ok || size == 0 {
		return wf, nil
	}
	return zeroed(wf, &f.File, filepath.Join(dir, name), 0, int64(size)), nil
}

// OpenWriter is fs.FS.OpenWriter, for the segment raft-wal reopens to append
// to: it finds its end itself, so the zeroing starts after its first write.
func (z zeroFS) OpenWriter(dir, name string) (types.WritableFile, error) {
	wf, err := z.FS.OpenWriter(dir, name)
	if err != nil {
		return nil, err
	}
	f, ok := wf.(*os.File)
	if !ok {
		return wf, nil
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return zeroed(wf, f, filepath.Join(dir, name), -1, fi.Size()), nil
}

// zeroed wraps wf, whose descriptor is f, so that its writes go through a
// zeroahead.File. Without a descriptor of its own for the zeroing, wf is
// returned as it is: slower fsyncs, nothing else.
func zeroed(wf types.WritableFile, f *os.File, path string, from, size int64) types.WritableFile {
	z, err := zeroahead.Start(f, path, from, size)
	if err != nil {
		return wf
	}
	return &zeroFile{WritableFile: wf, z: z}
}

// zeroFile is a raft-wal segment file being zeroed ahead of its writes.
type zeroFile struct {
	types.WritableFile // ReadAt, Sync
	z                  *zeroahead.File
}

func (f *zeroFile) WriteAt(p []byte, off int64) (int, error) { return f.z.WriteAt(p, off) }

func (f *zeroFile) Close() error {
	f.z.Stop()
	return f.WritableFile.Close()
}
