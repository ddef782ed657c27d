// Package hint reads and writes bitcask hint files.
//
// # Why hints exist
//
// The engine keeps every live key in an in-memory index (the keydir) that
// points at the key's latest record in a data segment. Rebuilding that index
// at start-up by scanning every data segment means reading and checksumming
// every value ever written. A hint file summarises one immutable segment:
// for every record it stores the key, where the record lives (offset, size),
// its expiry, sequence number and kind (put or delete), but not the value.
// Loading hints instead of scanning segments makes start-up proportional to
// the number of keys rather than the volume of data.
//
// A hint is only an accelerator, never the source of truth. If a hint is
// missing, truncated, fails its checksum, has the wrong identifier, describes
// a segment of a different length, or is otherwise malformed (Parse and
// ReadFile return an error wrapping ErrCorrupt), the engine ignores it and
// falls back to scanning that segment, and may then rewrite the hint.
//
// # File layout
//
// A hint file is a flatbuffer (schema fbs/hint.fbs, root table Hint, file
// identifier "WHNT") followed by a 4-byte CRC32-C of the flatbuffer bytes:
//
//	0        4        8                                      n        n+4
//	+--------+--------+--------------------------------------+--------+
//	| root   | "WHNT" | vtable, Hint table, entries vector   | CRC32-C|
//	| uoffset| file id| (40-byte structs), keys vector       | LE u32 |
//	+--------+--------+--------------------------------------+--------+
//	|<------------- flatbuffer: n bytes -------------------->|
//	                   the CRC32-C (Castagnoli) covers [0, n)
//
// Any valid flatbuffer of the schema parses; Builder writes the one laid
// out at headSize in hint.go, whose head is the same for every hint, so
// that it streams the entries and keys to the file as it holds them.
//
// Inside the flatbuffer, Hint.keys holds every key concatenated and
// Hint.entries is a vector of fixed-size HintEntry structs, in record-offset
// order, each locating its key by (key_offset, key_len) within keys:
//
//	HintEntry (40 bytes, little-endian, 8-byte aligned)
//	0          4        8        12       16          24    32    33      40
//	+----------+--------+--------+--------+-----------+-----+-----+-------+
//	|key_offset|key_len | offset | size   | expire_at | seq |kind | pad   |
//	|  u32     |  u32   |  u32   |  u32   |  i64 (ms) | u64 | u8  | 7 B   |
//	+----------+--------+--------+--------+-----------+-----+-----+-------+
//
// Because entries are structs stored inline, Parse validates the whole file
// once (length, checksum, identifier, every offset and every key range) and
// Hint.Entry then reads fields straight out of the buffer with no allocation.
package hint
