// Package engine is WalkerDB's storage engine, on the bitcask model: every
// write is appended to a log, and an in-memory index (the keydir) remembers
// where the newest record of each key lies, so a read is one index lookup and
// one copy out of a memory-mapped file.
//
// # Files
//
//	dir/
//	  FORMAT               magic, format version, key-layout version (format.go)
//	  LOCK                 flock'd by the one DB that has dir open
//	  000000001.seg        sealed segment: records, trimmed, read through mmap
//	  000000001.hint       its hint file (flatbuffers, package hint)
//	  000000002.seg        ...
//	  000000007.seg        the active segment: preallocated, written with pwrite, read through mmap
//	  merge/               a merge in progress (see Merge)
//	  checkpoints/N/       hard links pinned by a Checkpoint
//
// Segment ids grow by one at each rotation. Loading applies segments in id
// order, so a later record of a key wins. The record format is drawn in
// package record.
//
// # Format versions
//
// FORMAT, written when Open creates the directory, records the engine's
// on-disk format (FormatVersion) and the application's key-layout version
// (Options.LayoutVersion). Open refuses, with an error wrapping ErrFormat
// that names both versions, a directory of a newer format, one with
// segments but no FORMAT (written before format versions: version 0), and
// one whose layout differs from a non-zero Options.LayoutVersion; a
// damaged FORMAT wraps ErrCorruption. A checkpoint stream carries the same
// two versions in its header, and Restore checks them alike and writes
// them to the restored directory's FORMAT. The file's layout and the
// full table are in format.go.
//
// # Writes
//
// The active segment is preallocated at Options.SegmentSize and mapped
// shared and read-only. A write encodes its records into a buffer under
// the write lock, hands them to the page cache with one pwrite, updates
// the keydir under the same lock (so a reader sees a batch whole or not at
// all), and releases it. Because the bytes are in the page cache once
// pwrite returns, a crash of the process loses nothing that Put returned
// for, in any sync mode. With SyncAlways the writer then waits for an
// fdatasync that covers its bytes; concurrent writers share fsyncs (group
// commit). Writes went through the mapping until the fsync cost of that
// was measured (segment.go's doc): a page written through a shared
// mapping faults again after each writeback, and fdatasync has to find
// the dirty pages through the page tables.
//
// The preallocated blocks are unwritten extents, and an fdatasync after an
// append into one must commit the filesystem's journal too (the extent
// becomes written). With Options.ZeroAhead a goroutine keeps the few MiB
// ahead of the records written with zeros and synced (package zeroahead),
// and the fdatasync that follows a write writes the data alone: about 40%
// less time a sync on ext4. walkerd's standalone mode sets it; under Raft
// the engine is not synced per write, and the Raft log's files are zeroed
// ahead instead (walkerd/store).
//
// A record of 1 MiB or more (a large Redis value) is written on its own, in
// 4 MiB pwrites, and read with pread, and the scans that need only keys (hint
// files, loading) check its CRC a chunk at a time without holding its
// value: pages touched through a mapping count in the process's resident
// set until it is unmapped, and a 512 MB value would add 512 MB there at
// each write and read (segment.go, bigRecord).
//
// # Reads
//
// Get looks the key up in the keydir (hash tables over a key arena, and
// the keys in order in sorted blocks: see package keydir's doc), reads the
// record from the segment's mapping, checks its CRC and its key, and
// returns a copy of the value. Bytes that fail the check are reported as an
// error wrapping ErrCorruption, never returned. The keydir may match an
// absent key to another key's record by a 55-bit fingerprint; it says so
// (Keydir.Lookup), and a record naming another key then means not found.
//
// Ordered reads go through View.Iter, under the read lock and inside the
// View: forward and reverse, SeekGE and SeekLT, prefix and range bounds,
// expiry judged at the View's time. The keydir keeps its keys in sorted
// blocks and a small tree of keys added since the last fold; the iterator
// merges the two, so it never waits for a fold or takes the write lock
// (iter.go). Scan, older, takes the write lock and folds first.
//
// # Opening and recovery
//
// Open loads each sealed segment from its hint file when the hint is whole
// and matches the segment's length, and scans the segment otherwise (and
// writes its hint in the background). The last segment is always scanned and
// becomes the active one. In the last segment, a record that fails to decode
// with nothing valid after it is a torn write: it is cut off. A sealed
// segment is synced whole before the next one starts, so the only tail it
// may carry is the zeros of a preallocation that a crash kept from being
// trimmed; those are cut too. Anything else, in any segment, is damage:
// Open fails with an error that names the segment and offset and wraps
// ErrCorruption, and the data is left as it is for walkerdump recover.
package engine
