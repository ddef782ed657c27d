// Command walkerdump inspects, verifies, recovers, merges and exports a
// WalkerDB data directory offline, with walkerd stopped.
//
//	walkerdump inspect [--json] DIR          segments, hints, live/dead bytes, garbage ratio
//	walkerdump dump [--segment N] [--keys-only] [--format text|json] DIR
//	walkerdump verify [--json] DIR           every CRC and hint; exit 1 naming each bad place
//	walkerdump recover [--json] DIR          make DIR openable; set unreadable bytes aside
//	walkerdump merge [--json] DIR            offline compaction (the engine's merge)
//	walkerdump hint [--json] DIR             rebuild hint files
//	walkerdump export [--format resp|json] DIR | redis-cli --pipe
//	walkerdump verify [--json] FILE          a backup file whole: header, every file's CRC, its end
//	walkerdump restore [--json] FILE DIR     build a data directory from a backup file
//
// Every command takes the directory's lock (engine.OpenOffline, or
// engine.Open for merge) and refuses a directory that a live walkerd holds.
// Before that, every command reads DIR's FORMAT file and refuses, with one
// line, exit 2 and no LOCK file created, a directory that is not a WalkerDB
// data directory (no FORMAT file and no segments: the parent folder, say),
// one of a newer format version, or one of another key layout than this
// build's (keyspace.LayoutVersion); a damaged FORMAT is refused as damage.
// A directory written before format versions (segments, no FORMAT) is read
// by every command but merge, which opens it as walkerd would, and inspect
// reports it as format version 0.
// The read-only commands (inspect, dump, verify, export) change nothing in
// DIR beyond creating its LOCK file if it is missing. Flags go before DIR
// (urfave/cli stops parsing flags at the first argument).
//
// # Backups
//
// A backup file is a checkpoint stream (engine.Checkpoint.WriteTo), as
// 'walkerctl backup', SAVE and BGSAVE write it. verify given a file (not a
// directory) checks it whole, exit 1 on damage (a bad CRC, a file cut
// short, bytes after its end) and 2 for a file this build cannot restore
// (a newer format, another key layout). restore builds DIR beside itself
// and renames it into place when whole; it refuses a DIR that holds
// anything. To seed a new cluster, start walkerd on the restored DIR with
// an empty -raftdir and no -join: it starts a one-node cluster whose log
// begins after the backup's Raft index, and the other nodes join it with
// empty directories ('walkerd --restore FILE' restores and starts in one
// step).
//
// # Exit status
//
// 0: done, no damage. 1: verify found damage (or hint met a damaged
// segment). 2: the command failed or was misused, or DIR is locked.
//
// # Decisions
//
// What verify counts as an error (exit 1) and as a warning (exit 0): a
// missing hint is a warning, because walkerd scans that segment instead and
// writes the hint again in the background (and a clean shutdown can leave
// one missing, since hints are written asynchronously). So is a hint
// without a segment, and the all-zero preallocated tail that a crash leaves
// on a segment (walkerd trims it). Everything else is an error: corrupt or
// torn bytes, a batch whose commit is damaged or missing, a hint that does
// not parse, names another length, or disagrees with its segment entry by
// entry (walkerd would trust such a hint), a merge directory, a *.tmp file.
//
// recover cuts all-zero regions (preallocated, never written) without
// copying them: they hold nothing. A torn tail is copied up to its last
// non-zero byte. Everything else it cuts is copied byte for byte to
// DIR/quarantine/<UTC time>/segment-N-offset-M.bin, with report.txt. A
// delete whose record is lost can bring back an older value of its key: the
// report lists every region, and the quarantine keeps the bytes.
//
// # Keys
//
// Text names an engine key one way in every command (keyName): the
// database, the type and a readable user key, as walkerd lays keys out
// (internal/keyspace): db0 string "user:1" for a metadata key, whose type
// comes from its value's first byte ("key" where only the key is at hand,
// as for a tombstone); db0 hash "h" v=7 elem "f" for a collection's
// element; internal member "n1" for walkerd's own keys; raw <hex> for a
// key outside the layout. dump names every record's key so; inspect
// counts the live keys by database and type and names a few internal and
// foreign ones and counts the elements by type; export names a few of the
// keys it skips.
//
// JSON carries bytes (dump, export) as a string when they are valid UTF-8
// and as standard base64 in a field with a _base64 suffix otherwise
// (key_base64, value_base64); exactly one of the two is present.
//
// export skips keys already expired, walkerd's internal keys (first byte
// 0xFF) and keys outside walkerd's layout (first byte 16..254), and keeps
// the TTL of the others as an absolute PXAT or PEXPIREAT (Redis 6.2 or
// later). It writes strings as SET and each hash, list, set and sorted set
// as DEL then HSET, RPUSH, SADD or ZADD in bounded batches (scores as
// %.17g, inf, -inf: exact), in one pass over the keys in engine order: a
// database's metadata keys come before every sub-key, so each live
// collection is known by its sub-key prefix before its elements come.
// Elements of versions no live key names (deleted, overwritten or expired
// collections walkerd has not swept yet) are skipped. A stream is written
// as DEL, one XADD per entry with its own ID, XSETID with ENTRIESADDED and
// MAXDELETEDID, then XGROUP CREATE ... ENTRIESREAD and XGROUP
// CREATECONSUMER for its consumer groups (exporter.go); the groups'
// pending entries and consumers' seen times have no plain command that
// restores them, and are left out (the summary counts the pending
// entries). JSON export skips streams.
//
// Long work (merge, verify, recover, export, and the load behind inspect)
// shows a progress line on stderr when stderr is a terminal, and nothing
// when it is piped.
package main
