// Package keyspace is the one owner of how walkerd lays Redis's keyspace out
// in the engine's ordered keys. walkerd, walkerdump and the tests build and
// read engine keys only through it.
//
// # Engine keys
//
// Every Redis key has one metadata key; a collection (hash, list, set,
// sorted set, stream) also has one element sub-key per element:
//
//	metadata key
//	+---------+-----------+----------------+
//	| db      | slot      | user key       |   db = 0x00..0x0F (SELECT 0..15)
//	| 1 byte  | 2 bytes BE| any bytes      |   slot = Slot(user key)
//	+---------+-----------+----------------+
//
//	element sub-key
//	+-----------+-----------+----------------+----------+------------+-----------+
//	| 0x10 + db | slot      | key length     | user key | version    | element   |
//	| 1 byte    | 2 bytes BE| uvarint        |          | 8 bytes BE | any bytes |
//	+-----------+-----------+----------------+----------+------------+-----------+
//
//	internal key (walkerd's own state, never a user key)
//	+------+------+-----------+
//	| 0xFF | kind | rest      |   kind 'm': cluster member id -> RESP address
//	+------+------+-----------+   kind 'p': messages published (PublishedKey)
//	                              kind 'a': the ACL users (ACLKey)
//	                              kind 'P': the placement state (PlacementKey)
//	                              kind 'o': the slots a group serves (SlotsKey)
//	                              kind 'f': the migration fence (FenceKey)
//	                              kind 'x': the slots moving out and in (MigrationKey)
//
// The first byte keeps the three families apart, so each logical database's
// keys are one contiguous range that holds no sub-keys: DBSIZE is the
// engine's count of one first byte (immediate), and SCAN, KEYS, RANDOMKEY
// and the expiry sweeper walk metadata keys only. Inside a database, keys
// are ordered by hash slot, so a later change that moves slots between Raft
// groups reads one slot as one range (metadata and sub-keys alike) without
// touching this layout.
//
// # Metadata values
//
//	string      +------+-------------------------+
//	            | 0x00 | the string's bytes      |
//	            +------+-------------------------+
//	collection  +------+------------+--------------+------------------+
//	            | type | version    | count        | type's own bytes |
//	            |1 byte| 8 bytes BE | uvarint      | (list head/tail) |
//	            +------+------------+--------------+------------------+
//
// A key's expiry is its metadata record's engine expiry; sub-keys never
// expire on their own.
//
// # Versions and O(1) deletion
//
// A collection's sub-keys carry the version its metadata names. DEL,
// UNLINK, FLUSHDB, an expiry or an overwrite of a collection of any size is
// one write of its metadata key: sub-keys of a version that no live
// metadata names are dead, no reader ever looks them up (readers seek
// under the prefix of the version they read), and walkerd's background
// sweep reclaims them later through the Raft log (Dead, SubGroup).
// Versions are unique per key over time: walkerd makes them from the Raft
// log index of the write that creates the collection (NewVersion).
package keyspace

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/walkerdb/walkerdb/internal/resp"
)

// Databases is the number of logical databases (SELECT 0..15).
const Databases = 16

// LayoutVersion is the version of this key layout. The engine records it
// in the data directory's FORMAT file and in snapshots (engine
// Options.LayoutVersion), so that a build never reads data laid out by
// another version.
const LayoutVersion = 1

// First bytes of the three key families.
const (
	metaBase = 0x00 // + db: metadata keys
	subBase  = 0x10 // + db: element sub-keys
	// Internal is the first byte of walkerd's own keys.
	Internal = 0xFF
)

// ErrBadKey wraps every reason a key or value of this layout fails to
// decode: data written by another layout, or damage.
var ErrBadKey = errors.New("keyspace: malformed engine key or value")

// Type is a Redis value type, as TYPE names it.
type Type byte

// Types, numbered as Redis numbers its OBJ_* types.
const (
	String Type = 0
	List   Type = 1
	Set    Type = 2
	ZSet   Type = 3
	Hash   Type = 4
	Stream Type = 6
)

// String is the type's name as TYPE answers it.
func (t Type) String() string {
	switch t {
	case String:
		return "string"
	case List:
		return "list"
	case Set:
		return "set"
	case ZSet:
		return "zset"
	case Hash:
		return "hash"
	case Stream:
		return "stream"
	}
	return fmt.Sprintf("type%d", byte(t))
}

// ParseType reads a type name as SCAN's TYPE option gives it (lower case).
func ParseType(name string) (Type, bool) {
	for _, t := range []Type{String, List, Set, ZSet, Hash, Stream} {
		if t.String() == name {
			return t, true
		}
	}
	return 0, false
}

// validType reports whether t is a type this layout stores.
func validType(t Type) bool {
	switch t {
	case String, List, Set, ZSet, Hash, Stream:
		return true
	}
	return false
}

// Slot is the Redis Cluster hash slot of a user key: CRC16 (XMODEM) of the
// key, or of its hash tag, mod 16384. The hash tag is the part between the
// first '{' and the first '}' after it, when that part is not empty, as
// Redis's keyHashSlot (cluster.c) defines it.
func Slot(key []byte) uint16 {
	if s := indexByte(key, '{'); s >= 0 {
		if e := indexByte(key[s+1:], '}'); e > 0 {
			key = key[s+1 : s+1+e]
		}
	}
	return crc16(key) & 16383
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// crc16 is CRC-16/XMODEM (polynomial 0x1021, initial value 0), the CRC
// Redis Cluster uses, a byte at a time from a table.
func crc16(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc = crc<<8 ^ crc16Table[byte(crc>>8)^c]
	}
	return crc
}

var crc16Table = func() (t [256]uint16) {
	for i := range t {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		t[i] = crc
	}
	return t
}()

// MetaKey returns the metadata key of a user key in database db.
func MetaKey(db int, key []byte) []byte {
	return AppendMetaKey(make([]byte, 0, 3+len(key)), db, key)
}

// AppendMetaKey appends the metadata key of a user key to dst.
func AppendMetaKey(dst []byte, db int, key []byte) []byte {
	s := Slot(key)
	dst = append(dst, byte(metaBase+db), byte(s>>8), byte(s))
	return append(dst, key...)
}

// DBPrefix is the prefix every metadata key of database db begins with:
// engine.CountPrefix of it is DBSIZE.
func DBPrefix(db int) []byte { return []byte{byte(metaBase + db)} }

// SlotPrefix is the prefix of database db's metadata keys in one slot.
func SlotPrefix(db int, slot uint16) []byte {
	return []byte{byte(metaBase + db), byte(slot >> 8), byte(slot)}
}

// SlotOf is the hash slot a metadata key (or a SlotPrefix) is filed
// under: its bytes 1 and 2; 0 for a key shorter than that.
func SlotOf(meta []byte) uint16 {
	if len(meta) < 3 {
		return 0
	}
	return uint16(meta[1])<<8 | uint16(meta[2])
}

// SplitMeta returns the database and user key of a metadata key; ok is
// false for anything else (sub-keys, internal keys).
func SplitMeta(k []byte) (db int, key []byte, ok bool) {
	if len(k) < 3 || k[0] >= metaBase+Databases {
		return 0, nil, false
	}
	return int(k[0] - metaBase), k[3:], true
}

// IsMeta reports whether an engine key is a metadata key.
func IsMeta(k []byte) bool { return len(k) >= 3 && k[0] < metaBase+Databases }

// IsSub reports whether an engine key is an element sub-key.
func IsSub(k []byte) bool { return len(k) > 0 && k[0] >= subBase && k[0] < subBase+Databases }

// SubPrefix returns the prefix of every sub-key of one version of a
// collection: the bounds of its elements in the engine's order.
func SubPrefix(db int, key []byte, version uint64) []byte {
	return AppendSubPrefix(make([]byte, 0, 3+binary.MaxVarintLen32+len(key)+8), db, key, version)
}

// AppendSubPrefix appends SubPrefix(db, key, version) to dst.
func AppendSubPrefix(dst []byte, db int, key []byte, version uint64) []byte {
	s := Slot(key)
	dst = append(dst, byte(subBase+db), byte(s>>8), byte(s))
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	dst = append(dst, key...)
	return binary.BigEndian.AppendUint64(dst, version)
}

// SubKey returns the sub-key of one element of a collection.
func SubKey(db int, key []byte, version uint64, elem []byte) []byte {
	return append(SubPrefix(db, key, version), elem...)
}

// SubSlotPrefix is the prefix of every sub-key of database db in one hash
// slot: with SlotPrefix, a slot's records are two ranges a database.
func SubSlotPrefix(db int, slot uint16) []byte {
	return []byte{byte(subBase + db), byte(slot >> 8), byte(slot)}
}

// SubSpace is the prefix of every sub-key of database db.
func SubSpace(db int) []byte { return []byte{byte(subBase + db)} }

// SubKeyParts is a sub-key taken apart.
type SubKeyParts struct {
	DB      int
	Key     []byte // the user key (aliases the sub-key)
	Version uint64
	Elem    []byte // the element part (aliases the sub-key)
	// Prefix is SubPrefix(DB, Key, Version) (aliases the sub-key).
	Prefix []byte
}

// SplitSub takes a sub-key apart. It fails, wrapping ErrBadKey, on
// anything that is not a well-formed sub-key.
func SplitSub(k []byte) (SubKeyParts, error) {
	if !IsSub(k) || len(k) < 3 {
		return SubKeyParts{}, fmt.Errorf("%w: not a sub-key", ErrBadKey)
	}
	n, w := binary.Uvarint(k[3:])
	if w <= 0 || n > uint64(len(k)) {
		return SubKeyParts{}, fmt.Errorf("%w: sub-key length", ErrBadKey)
	}
	start := 3 + w
	end := start + int(n)
	if end+8 > len(k) {
		return SubKeyParts{}, fmt.Errorf("%w: sub-key too short", ErrBadKey)
	}
	p := SubKeyParts{
		DB:      int(k[0] - subBase),
		Key:     k[start:end:end],
		Version: binary.BigEndian.Uint64(k[end:]),
		Elem:    k[end+8:],
		Prefix:  k[: end+8 : end+8],
	}
	if Slot(p.Key) != uint16(k[1])<<8|uint16(k[2]) {
		return SubKeyParts{}, fmt.Errorf("%w: sub-key slot does not match its key", ErrBadKey)
	}
	return p, nil
}

// PrefixEnd returns the smallest key greater than every key that begins
// with prefix, or nil when there is none (prefix is all 0xFF): the
// exclusive upper bound of a prefix range.
func PrefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xFF {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// NewVersion makes a collection version from the Raft log index of the
// write that creates the collection and a counter of the collections that
// write has created so far (a transaction may create many): unique per key
// over time, and the same on every node.
func NewVersion(index uint64, n uint32) uint64 { return index<<20 | uint64(n&(1<<20-1)) }

// Meta is a decoded metadata value.
type Meta struct {
	Type Type
	// Value is a string's bytes (aliases the encoded value).
	Value []byte
	// Version names the collection's sub-keys; Count is its number of
	// elements; Extra is the type's own state (list head and tail). Zero
	// for strings.
	Version uint64
	Count   int64
	Extra   []byte
}

// AppendString appends the metadata value of a string to dst.
func AppendString(dst, v []byte) []byte {
	dst = append(dst, byte(String))
	return append(dst, v...)
}

// EncodeString returns the metadata value of a string. A large value is
// copied 4 MiB at a time (resp.AppendLarge): one memmove of 512 MB cannot
// be preempted, and would hold up every goroutine waiting for a garbage
// collection's stop-the-world (raft's heartbeats among them).
func EncodeString(v []byte) []byte {
	return resp.AppendLarge(append(make([]byte, 0, 1+len(v)), byte(String)), v)
}

// AppendCollection appends the metadata value of a collection to dst.
func AppendCollection(dst []byte, t Type, version uint64, count int64, extra []byte) []byte {
	dst = append(dst, byte(t))
	dst = binary.BigEndian.AppendUint64(dst, version)
	dst = binary.AppendUvarint(dst, uint64(count))
	return append(dst, extra...)
}

// DecodeMeta decodes a metadata value. It fails, wrapping ErrBadKey, on
// an unknown type or a truncated collection header.
func DecodeMeta(v []byte) (Meta, error) {
	if len(v) == 0 {
		return Meta{}, fmt.Errorf("%w: empty metadata value", ErrBadKey)
	}
	t := Type(v[0])
	if !validType(t) {
		return Meta{}, fmt.Errorf("%w: unknown type %d", ErrBadKey, v[0])
	}
	if t == String {
		return Meta{Type: String, Value: v[1:]}, nil
	}
	if len(v) < 9 {
		return Meta{}, fmt.Errorf("%w: collection header truncated", ErrBadKey)
	}
	m := Meta{Type: t, Version: binary.BigEndian.Uint64(v[1:9])}
	n, w := binary.Uvarint(v[9:])
	if w <= 0 || n > 1<<62 {
		return Meta{}, fmt.Errorf("%w: collection count", ErrBadKey)
	}
	m.Count = int64(n)
	m.Extra = v[9+w:]
	return m, nil
}

// TypeOf returns the type a metadata value holds without decoding the
// rest.
func TypeOf(v []byte) (Type, bool) {
	if len(v) == 0 || !validType(Type(v[0])) {
		return 0, false
	}
	return Type(v[0]), true
}

// Internal keys.

// MemberPrefix begins the internal key of each cluster member's RESP
// address: MemberPrefix + node id.
var MemberPrefix = []byte{Internal, 'm'}

// PublishedKey is the internal key that counts the PUBLISH and SPUBLISH
// messages the log has carried (8 bytes BE): replicated state, so that a
// node that installs a snapshot knows how many messages it skipped.
var PublishedKey = []byte{Internal, 'p'}

// ACLKey is the internal key of the ACL users, in walkerd/acl's binary
// form: replicated state, so that every node enforces the same users.
var ACLKey = []byte{Internal, 'a'}

// PlacementKey is the internal key of the placement group's state
// (walkerd/placement's JSON): only the placement group's engine holds it.
var PlacementKey = []byte{Internal, 'P'}

// SlotsKey is the internal key of the hash slots a data group serves, on a
// node with several Raft groups: a bitmap of 2048 bytes (16384 slots), slot s at bit
// s%8 of byte s/8, written when a migration closes or opens a slot
// (walkerd/command/owner.go); absent, the group serves its layout's slots.
var SlotsKey = []byte{Internal, 'o'}

// FenceKey is the internal key of a data group's migration fence: the
// highest placement term (8 bytes BE) of the migration steps it has
// applied; a step from a lower term, a deposed driver's, is refused
// (walkerd/command/owner.go).
var FenceKey = []byte{Internal, 'f'}

// MigrationKey is the internal key of a data group's part in slot moves:
// the slots it hands over and takes in, and the batch of keys being
// copied, as JSON (walkerd/command/moving.go); absent when none moves.
var MigrationKey = []byte{Internal, 'x'}

// MemberKey returns the internal key of a member's RESP address.
func MemberKey(id []byte) []byte {
	return append(append(make([]byte, 0, len(MemberPrefix)+len(id)), MemberPrefix...), id...)
}
