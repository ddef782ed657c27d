package engine

import (
	"errors"

	"github.com/walkerdb/walkerdb/engine/record"
)

// Errors returned by the engine. Test for them with errors.Is: most arrive
// wrapped with the segment, offset or limit they concern.
var (
	// ErrNotFound: the key does not exist, was deleted, or has expired.
	ErrNotFound = errors.New("engine: key not found")
	// ErrClosed: the DB was used after Close.
	ErrClosed = errors.New("engine: database is closed")
	// ErrLocked: another DB, in this process or another, has the directory open.
	ErrLocked = errors.New("engine: data directory is in use by another process")
	// ErrKeyTooLarge: a key is longer than Options.MaxKeySize.
	ErrKeyTooLarge = errors.New("engine: key too large")
	// ErrValueTooLarge: a value is longer than Options.MaxValueSize.
	ErrValueTooLarge = errors.New("engine: value too large")
	// ErrBatchTooLarge: a batch does not fit in one segment file (4 GiB).
	ErrBatchTooLarge = errors.New("engine: batch too large")
	// ErrIndexFull: the in-memory index may have no room for the keys a
	// write puts (it holds 2 GiB of keys of up to 16 KiB, then 2^31 - 1
	// more, longer keys first: package keydir). The write changes nothing;
	// deletes go on working and make room.
	ErrIndexFull = errors.New("engine: index full")
	// ErrBadOptions: Options.Validate refused a setting.
	ErrBadOptions = errors.New("engine: invalid options")
	// ErrFormat: a data directory or checkpoint stream is of a format
	// version or key layout this build does not read, or a directory is not
	// a WalkerDB data directory at all. The error names both versions.
	ErrFormat = errors.New("engine: unsupported data format")
	// ErrCorruption wraps every report of bytes on disk that are not what
	// the engine wrote. It is never returned as data.
	ErrCorruption = record.ErrCorruption
)
