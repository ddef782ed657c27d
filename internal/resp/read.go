package resp

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
)

// Parse parses the value at the start of b and returns it with its length
// in bytes. The value's Str fields point into b. It returns ErrIncomplete
// when b ends before the value does, and an error wrapping ErrProtocol
// when b is not RESP.
func Parse(b []byte) (v Value, n int, err error) {
	d := decoder{buf: b}
	if err := d.value(&v, 0); err != nil {
		return Value{}, 0, err
	}
	return v, d.pos, nil
}

// ReadValue reads one value from r. The value owns its memory.
func ReadValue(r *bufio.Reader) (Value, error) {
	raw, err := ReadRaw(r)
	if err != nil {
		return Value{}, err
	}
	v, _, err := Parse(raw)
	return v, err
}

// ReadRaw reads one whole value from r and returns its bytes, framing
// included. At the end of the stream it returns io.EOF before a value, and
// io.ErrUnexpectedEOF inside one.
func ReadRaw(r *bufio.Reader) ([]byte, error) { return ReadRawAppend(r, nil) }

// ReadRawAppend is ReadRaw appending the value to buf, for a reader that
// reuses one buffer: Parse(buf[len(buf):]) then reads it without
// allocating more than its aggregates.
func ReadRawAppend(r *bufio.Reader, buf []byte) ([]byte, error) {
	d := decoder{buf: buf, pos: len(buf), start: len(buf), r: r}
	err := d.value(nil, 0)
	return d.buf, err
}

// IsError reports whether a raw value is an error (simple or blob).
func IsError(raw []byte) bool {
	return len(raw) > 0 && (raw[0] == byte(KindError) || raw[0] == byte(KindBlobError))
}

// decoder walks the grammar for Parse and for ReadRaw, so the two cannot
// disagree on where a value ends or whether it is valid. Parse decodes
// buf as given. ReadRaw sets r and decodes with v nil: each line and each
// bulk string is first read from r onto the end of buf, and then decoded
// as Parse would.
type decoder struct {
	buf   []byte
	pos   int           // next byte to decode
	r     *bufio.Reader // ReadRaw's source, or nil
	start int           // ReadRaw: where this value began in buf
	owed  int           // Parse: room made for values not yet decoded
}

// value decodes one value into v (if not nil), after any attributes.
func (d *decoder) value(v *Value, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nesting deeper than %d", ErrProtocol, maxDepth)
	}
	for {
		line, err := d.line()
		if err != nil {
			return err
		}
		k, text := Kind(line[0]), line[1:]
		if k == KindAttribute {
			n, err := count(k, text)
			if err != nil {
				return err
			}
			var attrs *[]Value
			if v != nil {
				attrs = &v.Attrs
			}
			if err := d.elems(attrs, 2*n, depth); err != nil {
				return err
			}
			continue // to the value they describe
		}
		if v != nil {
			v.Kind = k
		}
		return d.body(v, k, text, depth)
	}
}

// body decodes the rest of a value of kind k whose first line held text.
func (d *decoder) body(v *Value, k Kind, text []byte, depth int) error {
	var elems *[]Value // where an aggregate's values go: nowhere for ReadRaw
	if v == nil {
		v = new(Value) // ReadRaw's: checked as Parse's are, then dropped
	} else {
		elems = &v.Elems
	}
	switch k {
	case KindSimple, KindError:
		v.Str = text
	case KindInt:
		n, ok := parseInt(text)
		if !ok {
			return fmt.Errorf("%w: integer %q", ErrProtocol, text)
		}
		v.Int = n
	case KindNull:
		if len(text) != 0 {
			return fmt.Errorf("%w: null with text %q", ErrProtocol, text)
		}
		v.Null = true
	case KindDouble:
		f, err := strconv.ParseFloat(string(text), 64)
		if err != nil {
			return fmt.Errorf("%w: double %q", ErrProtocol, text)
		}
		v.Float, v.Str = f, text
	case KindBool:
		if len(text) != 1 || text[0] != 't' && text[0] != 'f' {
			return fmt.Errorf("%w: boolean %q", ErrProtocol, text)
		}
		v.Bool = text[0] == 't'
	case KindBigNumber:
		digits := bytes.TrimPrefix(text, []byte("-"))
		if len(digits) == 0 || bytes.ContainsFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) {
			return fmt.Errorf("%w: big number %q", ErrProtocol, text)
		}
		v.Str = text
	case KindBulk, KindBlobError, KindVerbatim:
		n, ok := parseInt(text)
		if !ok || n < 0 && !(n == -1 && k == KindBulk) || n > MaxBulkLen {
			return fmt.Errorf("%w: %c length %q", ErrProtocol, k, text)
		}
		if n == -1 {
			v.Null = true
			return nil
		}
		s, err := d.bulk(int(n))
		if err != nil {
			return err
		}
		if k == KindVerbatim {
			if len(s) < 4 || s[3] != ':' {
				return fmt.Errorf("%w: verbatim string %.20q has no format", ErrProtocol, s)
			}
			v.Format, s = string(s[:3]), s[4:]
		}
		v.Str = s
	case KindArray, KindSet, KindPush, KindMap:
		if n, ok := parseInt(text); ok && n == -1 && k == KindArray {
			v.Null = true
			return nil
		}
		n, err := count(k, text)
		if err != nil {
			return err
		}
		if k == KindMap {
			n *= 2
		}
		return d.elems(elems, n, depth)
	default:
		return fmt.Errorf("%w: unknown type %q", ErrProtocol, k)
	}
	return nil
}

// elems decodes n values, appending them to *out if out is not nil. It
// makes room for them at once, but never for more than the input left
// could complete: a value takes 3 bytes at least, and owed counts the room
// that the aggregates around this one have made and not yet filled. So
// memory grows with the input, whatever counts it declares, however deep.
func (d *decoder) elems(out *[]Value, n, depth int) error {
	room := 0
	if out != nil {
		room = max(0, min(n, (len(d.buf)-d.pos)/3-d.owed))
		*out = slices.Grow(*out, room)
		d.owed += room
	}
	for i := range n {
		var e *Value
		if out != nil {
			if i < room {
				d.owed--
			}
			*out = append(*out, Value{})
			e = &(*out)[len(*out)-1]
		}
		if err := d.value(e, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// count parses an aggregate's count.
func count(k Kind, text []byte) (int, error) {
	n, ok := parseInt(text)
	if !ok || n < 0 || n > MaxArrayLen {
		return 0, fmt.Errorf("%w: %c count %q", ErrProtocol, k, text)
	}
	return int(n), nil
}

// line returns the next line without its CRLF; it holds the type byte at
// least.
func (d *decoder) line() ([]byte, error) {
	if d.r != nil {
		if err := d.readLine(); err != nil {
			return nil, err
		}
	}
	rest := d.buf[d.pos:]
	i := bytes.IndexByte(rest[:min(len(rest), maxLine)], '\n')
	switch {
	case i < 0 && len(rest) >= maxLine:
		return nil, fmt.Errorf("%w: line longer than %d bytes", ErrProtocol, maxLine)
	case i < 0:
		return nil, ErrIncomplete
	case i < 2 || rest[i-1] != '\r':
		return nil, fmt.Errorf("%w: bad line %.40q", ErrProtocol, rest[:i+1])
	}
	d.pos += i + 1
	return rest[: i-1 : i-1], nil
}

// bulk returns the next n bytes, which CRLF must follow.
func (d *decoder) bulk(n int) ([]byte, error) {
	if d.r != nil {
		if err := d.readFull(n + 2 - (len(d.buf) - d.pos)); err != nil {
			return nil, err
		}
	}
	rest := d.buf[d.pos:]
	if len(rest) < n+2 {
		return nil, ErrIncomplete
	}
	if rest[n] != '\r' || rest[n+1] != '\n' {
		return nil, fmt.Errorf("%w: bulk string not ended by CRLF", ErrProtocol)
	}
	d.pos += n + 2
	return rest[:n:n], nil
}

// readLine reads from r onto buf up to and including the next LF, or
// until the line is too long for line to accept.
func (d *decoder) readLine() error {
	for {
		frag, err := d.r.ReadSlice('\n')
		d.buf = append(d.buf, frag...)
		switch {
		case err == nil:
			return nil
		case err != bufio.ErrBufferFull:
			return d.ioError(err)
		case len(d.buf)-d.pos >= maxLine:
			return nil
		}
	}
}

// readFull reads n bytes from r onto buf, making room as they arrive (64
// KiB, then as much as has arrived): a bulk string's declared length alone
// costs little memory.
func (d *decoder) readFull(n int) error {
	for n > 0 {
		chunk := min(n, max(64<<10, len(d.buf)-d.start))
		old := len(d.buf)
		d.buf = slices.Grow(d.buf, chunk)[:old+chunk]
		k, err := io.ReadFull(d.r, d.buf[old:])
		d.buf = d.buf[:old+k]
		if err != nil {
			return d.ioError(err)
		}
		n -= k
	}
	return nil
}

// ioError is err from r, io.EOF turned into io.ErrUnexpectedEOF once part
// of the value has been read.
func (d *decoder) ioError(err error) error {
	if err == io.EOF && len(d.buf) > d.start {
		return io.ErrUnexpectedEOF
	}
	return err
}

// parseInt parses a decimal int64: an optional '-', then digits only.
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 { // 19 digits cannot overflow a uint64
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	switch {
	case neg && n <= 1<<63:
		return int64(-n), true // -(1<<63) wraps to math.MinInt64, as wanted
	case !neg && n <= math.MaxInt64:
		return int64(n), true
	}
	return 0, false
}
