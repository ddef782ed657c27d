// Package command is walkerd's Redis semantics: the one registry of every
// command, the data commands themselves, MULTI/EXEC transactions, the log
// entry that carries writes through Raft, and the state machine's apply.
//
// # The registry
//
// Every command walkerd knows, the server's own (CLIENT, CONFIG, MULTI,
// JOIN, ...) and walkerd's internal ones included, is one Spec: name,
// arity, Redis's flags, ACL categories, key positions, documentation,
// subcommands and, for data commands, how it parses (Spec.Parse) and runs.
// COMMAND, COMMAND INFO, DOCS, LIST, GETKEYS, the MULTI rules and the
// server's dispatch all read it; the server attaches handlers to the specs
// it runs itself, and nothing else keeps a list of command names.
//
// # The path of one write
//
//	server   Lookup, arity, Spec.Parse (once) -> Entry{Cmds, Parsed}
//	backend  standalone: ApplyEntry; Raft: the entry's bytes go through the
//	         log, and the proposing node's state machine takes the parsed
//	         entry back (store), the others decode and parse it once
//	Applier  each entry in an overlay over the engine, a whole batch of
//	         entries committed as one engine batch -> *Result
//	server   Result.Replies encoded as RESP for the client
//
// Replies are written to a Writer, never as bytes: the server's Writer
// encodes RESP2 or RESP3, a Recorder keeps a typed Reply for a Result.
// A Result also lists the keys each write touched, with Redis's keyspace
// event names, for blocking commands, notifications and WATCH to listen
// to.
//
// # Determinism
//
// Apply reads only the engine and the entry: expiry is judged at
// Entry.NowMs (the leader's clock when it proposed), relative TTLs are
// added to it, random choices are seeded from the log index, and new
// collection versions are made from it. So every node reaches the same
// state and computes the same result. Each key written is stamped with the
// index of the entry that wrote it (its WATCH version) and each engine
// batch with the last index it holds, so the applied index is stored
// atomically with the data and neither depends on how entries were
// batched.
//
// What Spec.Parse refuses never enters the log. Apply still checks
// everything again on nodes that did not parse the entry, in Redis's
// order, and turns any problem into an error reply, so a malformed or
// hostile entry fails alike on every node and never panics. Inside MULTI,
// as in Redis, only arity and unknown commands are refused at queue time;
// other errors become error replies inside EXEC's array.
//
// # Reads
//
// Read runs a read command on the local engine at the caller's time, in
// one engine View (MGET sees one state). Reads queued in a transaction run
// inside Apply instead, on the state machine, through the overlay: a
// transaction reads its own writes, in key order when it walks a range
// (iterate merges the overlay with the engine's ordered iterator).
//
// # Keys
//
// Engine keys are built and read only through internal/keyspace, whose
// doc draws the layout: a metadata key per Redis key (type, expiry,
// collection version), element sub-keys per collection, walkerd's internal
// keys. DEL of a collection is one metadata write; the leader's sweeper
// reclaims dead elements later through the log (WALKER.RECLAIM).
//
// # Internal commands
//
// WALKER.SETMEMBER id addr and WALKER.DELMEMBER id record cluster members
// (read back with Members). WALKER.DELEXPIRED key... deletes keys that have
// expired at Entry.NowMs, and only those: the leader's sweeper finds them
// with ExpiredKeys and proposes their deletion, so a key set again in the
// meantime survives. WALKER.RECLAIM deletes the elements of collection
// versions no live key names (found by DeadCollections). WALKER.VERSIONS
// key... (a read) returns WATCH versions, so a follower can WATCH through
// the leader.
package command
