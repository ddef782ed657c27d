// Package resp holds the small pieces of the Redis protocol (RESP2) that
// WalkerDB's programs need as a client: encoding a command and reading one
// whole reply as raw bytes, whatever its size or nesting, so it can be
// relayed unchanged (walkerd forwards to its leader this way).
//
//	+OK\r\n                simple string
//	-ERR message\r\n       error
//	:42\r\n                integer
//	$5\r\nhello\r\n        bulk string ($-1\r\n is null)
//	*2\r\n$1\r\na\r\n:1\r\n  array of any of these (*-1\r\n is null)
package resp

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"
)

// Limits a reply must stay within, as Redis's own client limits.
const (
	MaxBulkLen  = 512 << 20
	MaxArrayLen = 1<<31 - 1
	maxDepth    = 64
	maxLine     = 1 << 20 // a simple string, error or length line
)

// ErrProtocol wraps every malformed reply.
var ErrProtocol = errors.New("resp: protocol error")

// AppendCommand appends args as a RESP array of bulk strings.
func AppendCommand(b []byte, args [][]byte) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}

// ReadRaw reads one whole reply from r and returns its bytes, framing
// included.
func ReadRaw(r *bufio.Reader) ([]byte, error) {
	var out []byte
	err := readValue(r, &out, 0)
	return out, err
}

func readValue(r *bufio.Reader, out *[]byte, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nesting deeper than %d", ErrProtocol, maxDepth)
	}
	start := len(*out)
	for {
		frag, err := r.ReadSlice('\n')
		*out = append(*out, frag...)
		if err == nil {
			break
		}
		if err != bufio.ErrBufferFull {
			return err
		}
		if len(*out)-start > maxLine {
			return fmt.Errorf("%w: line longer than %d bytes", ErrProtocol, maxLine)
		}
	}
	line := (*out)[start:]
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return fmt.Errorf("%w: bad line %q", ErrProtocol, line)
	}
	switch line[0] {
	case '+', '-', ':':
		return nil
	case '$':
		n, err := strconv.Atoi(string(line[1 : len(line)-2]))
		if err != nil || n < -1 || n > MaxBulkLen {
			return fmt.Errorf("%w: bulk length %q", ErrProtocol, line)
		}
		if n == -1 {
			return nil
		}
		start := len(*out)
		*out = append(*out, make([]byte, n+2)...)
		if _, err := readFull(r, (*out)[start:]); err != nil {
			return err
		}
		if (*out)[len(*out)-2] != '\r' || (*out)[len(*out)-1] != '\n' {
			return fmt.Errorf("%w: bulk string not ended by CRLF", ErrProtocol)
		}
		return nil
	case '*':
		n, err := strconv.Atoi(string(line[1 : len(line)-2]))
		if err != nil || n < -1 || n > MaxArrayLen {
			return fmt.Errorf("%w: array length %q", ErrProtocol, line)
		}
		for range max(n, 0) {
			if err := readValue(r, out, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%w: unknown reply type %q", ErrProtocol, line[0])
}

func readFull(r *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := r.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// IsError reports whether a raw reply is an error reply.
func IsError(raw []byte) bool { return len(raw) > 0 && raw[0] == '-' }
