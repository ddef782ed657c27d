// Package resp is WalkerDB's one implementation of the Redis protocol,
// RESP2 and RESP3. The Append functions write values (a server's replies,
// a client's commands); Parse and ReadValue read any value into a Value;
// ReadRaw reads one whole value as bytes, so that it can be relayed
// unchanged (walkerd forwards to its leader this way).
//
// Every value starts with a type byte (its Kind) and every line ends with
// CRLF. A length or a count comes on the line before what it counts.
//
//	RESP2, which RESP3 keeps
//	+OK\r\n                          simple string: one line, no CR or LF
//	-ERR unknown command\r\n         error: code, space, message
//	:-42\r\n                         integer: signed 64-bit, decimal
//	$5\r\nhello\r\n                  bulk string: byte length, bytes, CRLF
//	$-1\r\n                          null bulk string (RESP2's null)
//	*2\r\n$1\r\na\r\n:1\r\n          array: count, then that many values
//	*-1\r\n                          null array (RESP2: an aborted EXEC)
//
//	RESP3, after HELLO 3
//	_\r\n                            null
//	,3.25\r\n                        double; also ,inf ,-inf ,nan
//	#t\r\n  #f\r\n                   boolean
//	(12345678901234567890\r\n        big number: decimal digits, maybe '-'
//	!9\r\nERR oops!\r\n              blob error: byte length, bytes, CRLF
//	=9\r\ntxt:hello\r\n              verbatim string: length, 3-byte format, ':', text
//	%1\r\n+key\r\n:1\r\n             map: count of pairs, then key, value, ...
//	~2\r\n:1\r\n:2\r\n               set: count, then the members
//	>2\r\n+message\r\n$2\r\nhi\r\n   push: out-of-band data (invalidations, pub/sub)
//	|1\r\n+ttl\r\n:9\r\n+OK\r\n      attribute: pairs about the value after them
//
// A writer whose type RESP2 lacks takes proto, the version the client
// chose with HELLO (2 unless it chose 3), and writes to a RESP2 client what
// Redis 7.0 writes to one: null as $-1 (*-1 for a null array), a double as
// a bulk string ("%.17g", "inf", "-inf"), a boolean as :1 or :0, a map as
// an array of 2n values, a set or push as an array, a verbatim string or
// big number as a bulk string.
//
// RESP3's streamed strings and aggregates ($?, *?, ';' and '.') are not
// supported: Redis never sends them.
//
// Reading is bounded so that a hostile peer cannot make it allocate
// without limit or recurse without end: a line is at most 1 MiB, a bulk
// string at most MaxBulkLen, nesting at most 64 deep, and memory grows
// with the bytes that arrive, not with the lengths and counts they declare.
package resp

import "errors"

// Kind is a value's type: the byte it starts with on the wire.
type Kind byte

// The kinds of value, RESP2's first.
const (
	KindSimple    Kind = '+'
	KindError     Kind = '-'
	KindInt       Kind = ':'
	KindBulk      Kind = '$'
	KindArray     Kind = '*'
	KindNull      Kind = '_'
	KindDouble    Kind = ','
	KindBool      Kind = '#'
	KindBigNumber Kind = '('
	KindBlobError Kind = '!'
	KindVerbatim  Kind = '='
	KindMap       Kind = '%'
	KindSet       Kind = '~'
	KindPush      Kind = '>'
	KindAttribute Kind = '|' // only before another value: see Value.Attrs
)

// Limits a value must stay within, as Redis's own.
const (
	// MaxBulkLen bounds a bulk string, blob error or verbatim string:
	// Redis's proto-max-bulk-len, plus 64 KiB so that a node reads the
	// reply of a forwarded read (WALKER.FORWARD wraps a reply in a bulk
	// string) that holds a 512 MB value.
	MaxBulkLen = 512<<20 + 64<<10
	// MaxArrayLen bounds an aggregate's count (of pairs, for a map).
	MaxArrayLen = 1<<31 - 1

	maxDepth = 64
	maxLine  = 1 << 20 // a line, type byte and CRLF included
)

var (
	// ErrProtocol wraps every error about malformed input.
	ErrProtocol = errors.New("resp: protocol error")
	// ErrIncomplete is Parse's answer when its input ends before the value
	// does: more bytes may complete it.
	ErrIncomplete = errors.New("resp: incomplete value")
)
