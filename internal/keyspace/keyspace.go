// Package keyspace is how walkerd lays Redis keys out in the engine, shared
// by walkerd and the offline tools that read its data directories.
//
//	engine key = db (1 byte, 0..15) | user key (any bytes)
//	engine key = 0xFF | "member:" | node id   cluster data (RESP addresses)
//
// The database byte first keeps each logical database a contiguous range
// of the ordered keydir, so SCAN walks one database and DBSIZE counts one
// (engine.CountPrefix of one byte is immediate).
package keyspace

// Databases is the number of logical databases (SELECT 0..15).
const Databases = 16

// Internal is the first byte of keys that hold cluster data, not user keys.
const Internal = 0xFF

// MemberPrefix begins the engine key of each member's RESP address.
const MemberPrefix = "\xffmember:"

// Key returns the engine key of a user key in database db.
func Key(db int, key []byte) []byte {
	k := make([]byte, 1+len(key))
	k[0] = byte(db)
	copy(k[1:], key)
	return k
}

// AppendKey appends the engine key of a user key to dst.
func AppendKey(dst []byte, db int, key []byte) []byte {
	return append(append(dst, byte(db)), key...)
}

// Split returns the database and user key of an engine key; ok is false for
// internal keys and anything that is not a user key.
func Split(engineKey []byte) (db int, key []byte, ok bool) {
	if len(engineKey) == 0 || int(engineKey[0]) >= Databases {
		return 0, nil, false
	}
	return int(engineKey[0]), engineKey[1:], true
}

// Prefix is the engine key prefix of database db.
func Prefix(db int) []byte { return []byte{byte(db)} }
