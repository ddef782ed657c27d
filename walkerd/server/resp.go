package server

import (
	"bytes"
	"errors"
	"strconv"
)

// value is a parsed RESP2 reply. start and end locate it in the parsed
// bytes, so an array's elements can be relayed as they came.
type value struct {
	kind       byte // '+', '-', ':', '$', '*'
	str        []byte
	num        int64
	null       bool
	elems      []value
	start, end int
}

var errIncomplete = errors.New("incomplete reply")

const maxReplyDepth = 64

// parseValue parses the RESP2 reply at the start of b and returns it with
// its length.
func parseValue(b []byte) (value, int, error) {
	return parseAt(b, 0, 0)
}

func parseAt(b []byte, off, depth int) (value, int, error) {
	if depth > maxReplyDepth {
		return value{}, 0, errors.New("reply nested too deep")
	}
	if off >= len(b) {
		return value{}, 0, errIncomplete
	}
	nl := bytes.Index(b[off:], []byte("\r\n"))
	if nl < 0 {
		return value{}, 0, errIncomplete
	}
	line := b[off+1 : off+nl]
	v := value{kind: b[off], start: off}
	pos := off + nl + 2
	switch v.kind {
	case '+', '-':
		v.str = line
	case ':':
		n, err := strconv.ParseInt(string(line), 10, 64)
		if err != nil {
			return value{}, 0, errors.New("bad integer reply")
		}
		v.num = n
	case '$':
		n, err := strconv.Atoi(string(line))
		if err != nil || n < -1 {
			return value{}, 0, errors.New("bad bulk length")
		}
		if n == -1 {
			v.null = true
			break
		}
		if len(b)-pos < n+2 {
			return value{}, 0, errIncomplete
		}
		if b[pos+n] != '\r' || b[pos+n+1] != '\n' {
			return value{}, 0, errors.New("bulk string not followed by CRLF")
		}
		v.str = b[pos : pos+n]
		pos += n + 2
	case '*':
		n, err := strconv.Atoi(string(line))
		if err != nil || n < -1 {
			return value{}, 0, errors.New("bad array length")
		}
		if n == -1 {
			v.null = true
			break
		}
		if n > len(b)-pos {
			return value{}, 0, errIncomplete // each element takes 3 bytes at least
		}
		v.elems = make([]value, n)
		for i := range v.elems {
			e, m, err := parseAt(b, pos, depth+1)
			if err != nil {
				return value{}, 0, err
			}
			v.elems[i] = e
			pos += m
		}
	default:
		return value{}, 0, errors.New("unknown reply type " + strconv.QuoteRune(rune(v.kind)))
	}
	v.end = pos
	return v, pos - off, nil
}
