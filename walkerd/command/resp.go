package command

import "strconv"

// RESP2 reply encoders. Every function appends one reply (or, for
// appendArray, one array header) to b and returns the extended slice.

func appendSimple(b []byte, s string) []byte {
	b = append(b, '+')
	b = append(b, s...)
	return append(b, '\r', '\n')
}

// appendError appends an error reply. msg is the whole message, code
// included ("ERR syntax error"); CR and LF in it are replaced by spaces, as
// Redis does, so that a reply can never break the protocol.
func appendError(b []byte, msg string) []byte {
	b = append(b, '-')
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return append(b, '\r', '\n')
}

func appendInt(b []byte, n int64) []byte {
	b = append(b, ':')
	b = strconv.AppendInt(b, n, 10)
	return append(b, '\r', '\n')
}

func appendBulk(b []byte, v []byte) []byte {
	b = append(b, '$')
	b = strconv.AppendInt(b, int64(len(v)), 10)
	b = append(b, '\r', '\n')
	b = append(b, v...)
	return append(b, '\r', '\n')
}

func appendBulkString(b []byte, v string) []byte {
	b = append(b, '$')
	b = strconv.AppendInt(b, int64(len(v)), 10)
	b = append(b, '\r', '\n')
	b = append(b, v...)
	return append(b, '\r', '\n')
}

// appendNull appends RESP2's null bulk string.
func appendNull(b []byte) []byte { return append(b, "$-1\r\n"...) }

// appendNullArray appends RESP2's null array (an aborted EXEC).
func appendNullArray(b []byte) []byte { return append(b, "*-1\r\n"...) }

func appendArray(b []byte, n int) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '\r', '\n')
}

// Reply helpers for the server package, which builds replies of its own
// with the same encoders.

// AppendSimple appends a simple string reply (+OK).
func AppendSimple(b []byte, s string) []byte { return appendSimple(b, s) }

// AppendError appends an error reply; msg includes its code ("ERR ...").
func AppendError(b []byte, msg string) []byte { return appendError(b, msg) }

// AppendInt appends an integer reply.
func AppendInt(b []byte, n int64) []byte { return appendInt(b, n) }

// AppendBulk appends a bulk string reply.
func AppendBulk(b []byte, v []byte) []byte { return appendBulk(b, v) }

// AppendBulkString appends a bulk string reply.
func AppendBulkString(b []byte, v string) []byte { return appendBulkString(b, v) }

// AppendNull appends a null bulk string reply.
func AppendNull(b []byte) []byte { return appendNull(b) }

// AppendNullArray appends a null array reply.
func AppendNullArray(b []byte) []byte { return appendNullArray(b) }

// AppendArray appends an array header of n elements.
func AppendArray(b []byte, n int) []byte { return appendArray(b, n) }
