package command

// Result is what applying one log entry produced: a typed reply for each
// of its commands, and the keys its writes touched. The replicated core
// returns it; only the server turns it into protocol bytes.
type Result struct {
	// Replies holds one reply per command of the entry, in order.
	Replies []Reply
	// Aborted: an EXEC whose watched keys changed; nothing ran, and the
	// client gets a null array.
	Aborted bool
	// Error, when not empty, is the whole entry's error reply (a malformed
	// entry, a database out of range); then nothing ran.
	Error string
	// Touched lists the keys the entry's writes changed, in order, each
	// with the keyspace event Redis would notify for the change. Blocking
	// commands, keyspace notifications, pub/sub and client-side caching
	// listen to it; nobody parses replies back.
	Touched []Touch
	// Index and Term locate the entry in the Raft log: set by the Raft
	// store's state machine (0 in standalone mode, and on a result made
	// up without applying anything). WAIT asks the other voters whether
	// their log holds the entry at Index with Term. Carried to a follower
	// with the forwarded result.
	Index, Term uint64
}

// Touch is one change a write made to one key.
type Touch struct {
	DB int
	// Key is the user key; nil for an event on a whole database (flushdb,
	// whose DB is the database emptied).
	Key []byte
	// Event is Redis's keyspace event name for the change: "set", "del",
	// "expire", "expired", "persist", "incrby", "incrbyfloat", "append",
	// "setrange", "rename_from", "rename_to", "flushdb"; the collection
	// types add "hset", "lpush", and so on.
	Event string
	// Publish is not 0 for a message PUBLISH (PubChannel) or SPUBLISH
	// (PubShard) sent: Key is then the channel and Message the message,
	// Event "message"; no key changed.
	Publish int8
	Message []byte
	// New: the command created the key (it was not there, or had
	// expired, before the command ran), this Touch being the command's
	// first of it. Redis notifies "new" then, before the command's own
	// event (db.c's dbAdd); RENAME, COPY, MOVE and RESTORE always create
	// their destination.
	New bool
}

// Reply returns the reply a client of one command gets: the entry's
// error, or the first command's reply.
func (r *Result) Reply() Reply {
	if r.Error != "" {
		return ErrorReply(r.Error)
	}
	if len(r.Replies) == 0 {
		return ErrorReply("ERR internal error: no reply")
	}
	return r.Replies[0]
}
