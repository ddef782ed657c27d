// Package command is walkerd's Redis semantics: the string and key
// commands, MULTI/EXEC transactions, and the log entry that carries writes
// through Raft.
//
// # Writes
//
// The server turns every write (or a whole MULTI/EXEC) into an Entry and
// the backend applies it with Apply: directly in standalone mode, in the
// Raft FSM on every node otherwise. Apply reads only the engine and the
// entry: expiry is judged at Entry.NowMs (the leader's clock when it
// proposed), relative TTLs are added to it, and RANDOMKEY inside a
// transaction draws from a generator seeded with the log index. So every
// node reaches the same state and computes the same reply. All the writes
// of an entry go to the engine in one batch stamped with the log index
// (Batch.SetSeq): the applied index is stored atomically with the data, and
// it is also each written key's version for WATCH (engine Meta.Seq).
//
// Before an entry is proposed, Spec.Check validates the command (arity, key
// size, syntax, integers, expire times): what Check refuses never enters the
// log. Apply still checks everything again, in Redis's order, and turns any
// problem into an error reply, so a malformed or hostile entry fails alike
// on every node and never panics. Inside MULTI, as in Redis, only arity and
// unknown commands are refused at queue time; other errors become error
// replies inside EXEC's array.
//
// # Reads
//
// Read runs a read command on the local engine at the caller's time, in
// one engine View (MGET sees one state). Reads queued in a transaction run
// inside Apply instead, on the state machine.
//
// # Engine key layout
//
//	+------+-----------------+
//	| db   | user key        |   db = 0..15 (SELECT); value = the string's bytes,
//	+------+-----------------+   expiry = the engine record's ExpireAt
//	| 0xFF | internal key    |   walkerd's own data:
//	+------+-----------------+     0xFF 'm' ':' <id> = member's RESP address
//
// CountPrefix([]byte{db}) is DBSIZE. FLUSHDB and FLUSHALL touch only the
// user databases.
//
// # Internal commands
//
// WALKER.SETMEMBER id addr and WALKER.DELMEMBER id record cluster members
// (read back with Members). WALKER.DELEXPIRED key... deletes keys that have
// expired at Entry.NowMs, and only those: the leader's sweeper finds them
// with ExpiredKeys and proposes their deletion, so a key set again in the
// meantime survives. WALKER.VERSIONS key... (a read) returns WATCH
// versions, so a follower can WATCH through the leader.
package command
