package resp

import (
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// Each Append function appends one value, or one aggregate's header, to b
// and returns the extended slice. An aggregate's header is followed by
// its elements, appended one by one (a map's as key, value, key, ...).
// proto is the protocol version the client chose: 3 for RESP3, anything
// else for RESP2.

// AppendSimple appends a simple string (+OK). CR and LF in s become
// spaces, so that a value can never break the framing.
func AppendSimple(b []byte, s string) []byte { return appendLine(b, KindSimple, s) }

// AppendError appends an error; msg is the whole message, code included
// ("ERR syntax error"). CR and LF in msg become spaces, as Redis does.
func AppendError(b []byte, msg string) []byte { return appendLine(b, KindError, msg) }

// AppendInt appends an integer.
func AppendInt(b []byte, n int64) []byte {
	b = append(b, byte(KindInt))
	b = strconv.AppendInt(b, n, 10)
	return append(b, '\r', '\n')
}

// AppendBulk appends a bulk string.
func AppendBulk(b []byte, v []byte) []byte {
	b = AppendBulkHeader(b, len(v))
	b = AppendLarge(b, v)
	return append(b, '\r', '\n')
}

// AppendLarge appends v to b as append does, but copies a v of 1 MiB or
// more a MiB at a time and yields the processor (runtime.Gosched) after
// each. A copy is a memmove the scheduler cannot preempt (a preemption
// signal that lands in it is refused, and a loop of copies is almost
// always inside one), and the garbage collector ends its mark only once
// every goroutine has reached a safe point: meanwhile every goroutine that
// allocates waits for it. Copying 256 MB into fresh memory, one page fault
// every 4 KiB, held a walkerd node so for 8.7 s on a loaded 2-core
// machine, and Raft's heartbeats with it; a MiB takes milliseconds.
func AppendLarge(b, v []byte) []byte {
	const step = 1 << 20
	if len(v) < step {
		return append(b, v...)
	}
	b = slices.Grow(b, len(v))
	for len(v) > 0 {
		n := min(len(v), step)
		b = append(b, v[:n]...)
		v = v[n:]
		runtime.Gosched()
	}
	return b
}

// AppendBulkString appends a bulk string.
func AppendBulkString(b []byte, s string) []byte {
	b = AppendBulkHeader(b, len(s))
	b = append(b, s...)
	return append(b, '\r', '\n')
}

// AppendBulkHeader appends the header of a bulk string of n bytes, for a
// caller that appends the n bytes and CRLF itself (walkerbench writes
// keys straight into its buffer).
func AppendBulkHeader(b []byte, n int) []byte { return appendHeader(b, KindBulk, n) }

// AppendNull appends a null: RESP2's null bulk string, or RESP3's null.
func AppendNull(b []byte, proto int) []byte {
	if proto == 3 {
		return append(b, "_\r\n"...)
	}
	return append(b, "$-1\r\n"...)
}

// AppendNullArray appends RESP2's null array (an aborted EXEC, a BLPOP
// that timed out), or RESP3's null.
func AppendNullArray(b []byte, proto int) []byte {
	if proto == 3 {
		return append(b, "_\r\n"...)
	}
	return append(b, "*-1\r\n"...)
}

// AppendArray appends the header of an array of n values.
func AppendArray(b []byte, n int) []byte { return appendHeader(b, KindArray, n) }

// AppendMap appends the header of a map of n pairs; RESP2 gets an array
// of 2n values.
func AppendMap(b []byte, n int, proto int) []byte {
	if proto == 3 {
		return appendHeader(b, KindMap, n)
	}
	return appendHeader(b, KindArray, 2*n)
}

// AppendSet appends the header of a set of n members; RESP2 gets an
// array.
func AppendSet(b []byte, n int, proto int) []byte {
	if proto == 3 {
		return appendHeader(b, KindSet, n)
	}
	return appendHeader(b, KindArray, n)
}

// AppendPush appends the header of a push of n values; RESP2 gets an
// array (as pub/sub messages always were).
func AppendPush(b []byte, n int, proto int) []byte {
	if proto == 3 {
		return appendHeader(b, KindPush, n)
	}
	return appendHeader(b, KindArray, n)
}

// AppendDouble appends a double, formatted as Redis 7.0's addReplyDouble
// does: C's "%.17g" (0.1 is 0.10000000000000001, 1e17 is 1e+17), and inf,
// -inf and nan spelled so. RESP2 gets it as a bulk string.
func AppendDouble(b []byte, f float64, proto int) []byte {
	var buf [32]byte // "%.17g" takes at most 24 bytes
	text := appendDoubleText(buf[:0], f)
	if proto == 3 {
		b = append(b, byte(KindDouble))
		b = append(b, text...)
		return append(b, '\r', '\n')
	}
	return AppendBulk(b, text)
}

// appendDoubleText appends f as "%.17g" does in C: Go's 'g' format with a
// precision also drops trailing zeros and switches to an exponent at the
// same points, and writes the exponent with a sign and at least two digits.
func appendDoubleText(b []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	case math.IsNaN(f):
		return append(b, "nan"...)
	}
	return strconv.AppendFloat(b, f, 'g', 17, 64)
}

// AppendBool appends a boolean; RESP2 gets :1 or :0.
func AppendBool(b []byte, v bool, proto int) []byte {
	switch {
	case proto != 3 && v:
		return append(b, ":1\r\n"...)
	case proto != 3:
		return append(b, ":0\r\n"...)
	case v:
		return append(b, "#t\r\n"...)
	}
	return append(b, "#f\r\n"...)
}

// AppendVerbatim appends a verbatim string of format "txt" (plain text)
// or "mkd" (markdown); a format that is not three bytes is written as
// "txt". RESP2 gets s as a bulk string.
func AppendVerbatim(b []byte, format string, s []byte, proto int) []byte {
	if proto != 3 {
		return AppendBulk(b, s)
	}
	if len(format) != 3 {
		format = "txt"
	}
	b = appendHeader(b, KindVerbatim, len(format)+1+len(s))
	b = append(b, format...)
	b = append(b, ':')
	b = append(b, s...)
	return append(b, '\r', '\n')
}

// AppendBigNumber appends a big number, s being its decimal digits with
// an optional leading '-'; RESP2 gets s as a bulk string.
func AppendBigNumber(b []byte, s string, proto int) []byte {
	if proto != 3 {
		return AppendBulkString(b, s)
	}
	return appendLine(b, KindBigNumber, s)
}

// AppendCommand appends args as a command: an array of bulk strings.
func AppendCommand(b []byte, args [][]byte) []byte {
	b = AppendArray(b, len(args))
	for _, a := range args {
		b = AppendBulk(b, a)
	}
	return b
}

// appendLine appends a one-line value of kind k, CR and LF in s replaced
// by spaces.
func appendLine(b []byte, k Kind, s string) []byte {
	b = append(b, byte(k))
	if !strings.ContainsAny(s, "\r\n") {
		b = append(b, s...)
		return append(b, '\r', '\n')
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return append(b, '\r', '\n')
}

// appendHeader appends a length or count line.
func appendHeader(b []byte, k Kind, n int) []byte {
	b = append(b, byte(k))
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '\r', '\n')
}
