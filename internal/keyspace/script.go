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

// LibraryPrefix begins the internal key of each function library (FUNCTION
// LOAD, FUNCTION RESTORE): LibraryPrefix + the library's name; the value
// is the library's code as loaded, its "#!lua name=..." line included.
// Like the script cache, libraries travel in the log and in snapshots,
// survive FLUSHALL (as Redis's functions do) and are gone only with
// FUNCTION DELETE or FUNCTION FLUSH.
var LibraryPrefix = []byte{Internal, 'L'}

// FunctionPrefix begins the internal key that names the library of each
// function: FunctionPrefix + the function's name in lower case (Redis
// finds functions by name ignoring case); the value is the library's
// name. FCALL finds its function's library with one read.
var FunctionPrefix = []byte{Internal, 'F'}

// LibraryKey returns the internal key of the library called name.
func LibraryKey(name []byte) []byte {
	return append(append(make([]byte, 0, len(LibraryPrefix)+len(name)), LibraryPrefix...), name...)
}

// FunctionKey returns the internal key of the function called name (any
// case).
func FunctionKey(name []byte) []byte {
	k := append(make([]byte, 0, len(FunctionPrefix)+len(name)), FunctionPrefix...)
	for _, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		k = append(k, c)
	}
	return k
}
