package enginetest

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// WrittenEnd is the end of the written blocks of the file at path, from
// offset 0 (lseek SEEK_HOLE): ext4 and xfs report the unwritten extents of
// a preallocated file, without dirty pages, as holes. The tests of package
// zeroahead and of its users check with it that the blocks ahead of a
// writer were zeroed.
func WrittenEnd(t testing.TB, path string) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	off, err := unix.Seek(int(f.Fd()), 0, unix.SEEK_HOLE)
	if err != nil {
		t.Fatal(err)
	}
	return off
}

// SkipUnlessPreallocatedIsHole skips t where the filesystem of dir cannot
// preallocate (fallocate) or reports preallocated blocks as data (tmpfs,
// for one): WrittenEnd then cannot tell zeroed blocks from the rest.
func SkipUnlessPreallocatedIsHole(t testing.TB, dir string) {
	t.Helper()
	path := filepath.Join(dir, "preallocation-probe")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(path)
	err = unix.Fallocate(int(f.Fd()), 0, 0, 1<<20)
	f.Close()
	if err != nil {
		t.Skipf("fallocate: %v", err)
	}
	if end := WrittenEnd(t, path); end != 0 {
		t.Skipf("this filesystem reports preallocated blocks as data (SEEK_HOLE at 0: %d)", end)
	}
}
