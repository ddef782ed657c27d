package command

import (
	"encoding/binary"

	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// SCAN cursors carry their own position: no server state stands behind
// them, so a cursor never expires, and any node of the cluster (a follower
// after a failover, a restarted process) resumes it, since every node lays
// the keyspace out alike (internal/keyspace).
//
// A database's keys are one range ordered by (hash slot, user key). A
// cursor names a place in that order, as a Redis client carries it: an
// unsigned 64-bit decimal number.
//
//	+-----+-----------+-------------------------------------------+
//	| 01  | slot      | first 6 bytes of the user key, 0-padded    |
//	| 2 b | 14 bits   | 48 bits, big-endian                        |
//	+-----+-----------+-------------------------------------------+
//
// The tag 01 keeps every cursor walkerd issues apart from 0 (the start and
// the end of an iteration), even the cursor of the empty key in slot 0. A
// number with another tag is not a cursor ("ERR invalid cursor"); every
// number with this tag is one.
//
// enc(K) is the cursor of engine key K (the layout above, from K's slot
// bytes and user key). dec(c) is the engine key SCAN resumes at: the slot,
// then the 6 bytes with their trailing zero bytes dropped. Three facts,
// for keys of one database in engine order:
//
//  1. enc is monotone: K1 <= K2 implies enc(K1) <= enc(K2). (Cutting keys
//     to 6 bytes keeps order; padding with zero bytes, the least byte,
//     keeps it too.)
//  2. dec(enc(K)) <= K: it is K's slot and a prefix of K's user key.
//  3. enc(dec(c)) = c for every tagged c, so by 1, every key K >= dec(c)
//     has enc(K) >= c.
//
// A page of SCAN walks keys from dec(c) in order and, once it has seen
// COUNT keys, stops before the first key N whose cursor differs from the
// last key P it saw, enc(N) > enc(P), answering enc(N) (0 when the range
// ends). Keys that share a slot and their first 6 bytes form a group that
// one page returns whole, so a page can hold more than COUNT keys.
//
// No key is skipped: by 2 the next page starts at dec(enc(N)) <= N, and
// the page saw every key before N from its start; the pages' ranges cover
// the database. No key present through the iteration comes twice:
// dec(enc(N)) > P (were it <= P, by 1 and 3 enc(P) = enc(N)), so the next
// page starts past every key this page saw, and the keys in
// [dec(enc(N)), N) did not exist when this page read them. The iteration
// ends: each page's cursor is greater than the last (enc(N) > enc(P) >=
// c, by 3), and there are finitely many.
const (
	cursorTag     = 1 << 62
	cursorTagMask = 3 << 62
	slotMask      = 1<<14 - 1 // hash slots are 0..16383 (keyspace.Slot)
)

// EncodeScanCursor returns the cursor of a metadata key (keyspace.MetaKey).
func EncodeScanCursor(k []byte) uint64 {
	slot := uint64(binary.BigEndian.Uint16(k[1:3])) & slotMask
	var p [8]byte
	copy(p[2:], k[3:])
	return cursorTag | slot<<48 | binary.BigEndian.Uint64(p[:])
}

// DecodeScanCursor returns the engine key of database db that a page from
// cursor c starts at (nil for 0, the start); ok is false when c is not a
// cursor.
func DecodeScanCursor(db int, c uint64) (start []byte, ok bool) {
	if c == 0 {
		return nil, true
	}
	if c&cursorTagMask != cursorTag {
		return nil, false
	}
	var p [8]byte
	binary.BigEndian.PutUint64(p[:], c)
	user := p[2:]
	for len(user) > 0 && user[len(user)-1] == 0 {
		user = user[:len(user)-1]
	}
	slot := uint16(c>>48) & slotMask
	return append(keyspace.SlotPrefix(db, slot), user...), true
}

// ScanCursorApart reports whether a page may end between engine keys last
// and next: when their cursors differ.
func ScanCursorApart(last, next []byte) bool { return EncodeScanCursor(last) != EncodeScanCursor(next) }
