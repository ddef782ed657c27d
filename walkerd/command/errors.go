package command

import "fmt"

// Error is an error reply: its text is the whole message, code included
// ("ERR syntax error", "WRONGPASS ..."), as the client sees it after '-'.
type Error string

func (e Error) Error() string { return string(e) }

// Error replies, worded as Redis 7 words them.
const (
	ErrSyntax        Error = "ERR syntax error"
	ErrNotInteger    Error = "ERR value is not an integer or out of range"
	ErrIntRange      Error = "ERR value is out of range, value must between -2147483648 and 2147483647"
	ErrNotFloat      Error = "ERR value is not a valid float"
	ErrOverflow      Error = "ERR increment or decrement would overflow"
	ErrDecrOverflow  Error = "ERR decrement would overflow"
	ErrNaN           Error = "ERR increment would produce NaN or Infinity"
	ErrNoSuchKey     Error = "ERR no such key"
	ErrDBRange       Error = "ERR DB index is out of range"
	ErrOffsetRange   Error = "ERR offset is out of range"
	ErrStringTooLong Error = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
	ErrKeyTooLong    Error = "ERR key is too large"
	ErrInvalidCursor Error = "ERR invalid cursor"
	// ErrElementTooLong refuses a collection element whose engine key
	// (user key and element together) passes the engine's key limit.
	ErrElementTooLong Error = "ERR key and element too large: together they are limited to 65532 bytes"
)

// refusal, panicked with by a command deep in a write, refuses the whole
// log entry with its error: Apply takes back every write of the entry.
type refusal Error

// ErrArity is the wrong-number-of-arguments error for a command, named as
// Redis names it (lower case; "client|setname" for subcommands).
func ErrArity(name string) Error {
	return Error(fmt.Sprintf("ERR wrong number of arguments for '%s' command", name))
}

// errExpireTime is the invalid-expire-time error of a command.
func errExpireTime(name string) Error {
	return Error(fmt.Sprintf("ERR invalid expire time in '%s' command", name))
}

// ErrUnknownCommand words the reply to a command nobody knows, with its
// first arguments quoted as Redis quotes them (at most about 128 bytes).
func ErrUnknownCommand(args [][]byte) Error {
	name := ""
	if len(args) > 0 {
		name = string(cstr(args[0]))
	}
	if len(name) > 128 {
		name = name[:128]
	}
	var list []byte
	for i := 1; i < len(args) && len(list) < 128; i++ {
		a := cstr(args[i])
		if room := 128 - len(list); len(a) > room {
			a = a[:room]
		}
		list = append(list, '\'')
		list = append(list, a...)
		list = append(list, '\'', ' ')
	}
	return Error(fmt.Sprintf("ERR unknown command '%s', with args beginning with: %s", name, list))
}

// cstr cuts b at its first NUL byte, as C's "%s" reads it.
func cstr(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}
