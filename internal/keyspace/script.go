package keyspace

// ScriptPrefix begins the internal key of each script in the replicated
// script cache (EVAL, SCRIPT LOAD): ScriptPrefix + the script's SHA1 as 40
// lower-case hex digits; the value is the script's body. Being internal
// keys they travel in the log and in snapshots, survive FLUSHALL (as
// Redis's script cache does) and are gone only with SCRIPT FLUSH.
var ScriptPrefix = []byte{Internal, 's'}

// ScriptKey returns the internal key of the script whose SHA1 is sha.
func ScriptKey(sha []byte) []byte {
	return append(append(make([]byte, 0, len(ScriptPrefix)+len(sha)), ScriptPrefix...), sha...)
}
