package resp

import (
	"strconv"
	"strings"
)

// Value is one value as Parse and ReadValue read it. Which fields are set
// depends on Kind.
type Value struct {
	Kind Kind
	// Str is the text of a simple string, error, bulk string, blob error,
	// big number or double (as sent), or a verbatim string's text without
	// its "fmt:" prefix.
	Str []byte
	// Format is a verbatim string's format, "txt" or "mkd".
	Format string
	Int    int64
	Float  float64
	Bool   bool
	// Null is set for $-1, *-1 and _.
	Null bool
	// Elems holds an array's, set's or push's values, or a map's as key,
	// value, key, value, ...
	Elems []Value
	// Attrs holds the pairs of the attributes (|) that came before the
	// value, as key, value, ...; nil when there were none.
	Attrs []Value
}

// String renders v as redis-cli does on a terminal: "OK", "(integer) 1",
// "\"bytes\"", "(nil)", "(error) ERR ...", aggregates as numbered lines.
// Attributes are not shown.
func (v Value) String() string {
	return strings.TrimSuffix(string(v.appendText(nil, "")), "\n")
}

// appendText appends v and a newline. prefix indents the lines of an
// aggregate after its first.
func (v Value) appendText(b []byte, prefix string) []byte {
	switch v.Kind {
	case KindSimple:
		b = append(b, v.Str...)
	case KindError, KindBlobError:
		b = append(append(b, "(error) "...), v.Str...)
	case KindInt:
		b = strconv.AppendInt(append(b, "(integer) "...), v.Int, 10)
	case KindDouble:
		b = append(b, "(double) "...)
		if len(v.Str) > 0 {
			b = append(b, v.Str...)
		} else {
			b = appendDoubleText(b, v.Float)
		}
	case KindBool:
		if v.Bool {
			b = append(b, "(true)"...)
		} else {
			b = append(b, "(false)"...)
		}
	case KindBigNumber:
		b = append(append(b, "(big number) "...), v.Str...)
	case KindVerbatim:
		b = append(b, v.Str...)
	case KindNull:
		b = append(b, "(nil)"...)
	case KindBulk:
		if v.Null {
			b = append(b, "(nil)"...)
		} else {
			b = AppendQuoted(b, v.Str)
		}
	case KindArray, KindSet, KindPush, KindMap:
		if v.Null {
			return append(b, "(nil)\n"...)
		}
		return v.appendElems(b, prefix)
	default:
		b = append(b, "(unknown type "...)
		b = append(strconv.AppendQuoteRune(b, rune(v.Kind)), ')')
	}
	return append(b, '\n')
}

// appendElems appends an aggregate: "1) ..." lines ("1~" for a set, "1#
// key => value" for a map), a nested aggregate indented past its number.
func (v Value) appendElems(b []byte, prefix string) []byte {
	step, sep := 1, byte(')')
	switch v.Kind {
	case KindSet:
		sep = '~'
	case KindMap:
		step, sep = 2, '#'
	}
	n := len(v.Elems) / step
	if n == 0 {
		return append(b, emptyText[v.Kind]...)
	}
	width := len(strconv.Itoa(n))
	inner := prefix + strings.Repeat(" ", width+2)
	for i := range n {
		if i > 0 {
			b = append(b, prefix...)
		}
		num := strconv.Itoa(i + 1)
		b = append(b, strings.Repeat(" ", width-len(num))...)
		b = append(append(b, num...), sep, ' ')
		b = v.Elems[i*step].appendText(b, inner)
		if step == 2 {
			b = append(b[:len(b)-1], " => "...)
			b = v.Elems[i*step+1].appendText(b, inner)
		}
	}
	return b
}

var emptyText = map[Kind]string{
	KindArray: "(empty array)\n",
	KindSet:   "(empty set)\n",
	KindPush:  "(empty push)\n",
	KindMap:   "(empty hash)\n",
}

// AppendQuoted appends s in double quotes as redis-cli prints a bulk
// string and as Redis's sdscatrepr quotes (MONITOR): \n \r \t \a \b \\ \"
// escaped, other bytes outside printable ASCII as \xhh.
func AppendQuoted(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, c := range s {
		switch c {
		case '\\', '"':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\a':
			b = append(b, '\\', 'a')
		case '\b':
			b = append(b, '\\', 'b')
		default:
			if c >= ' ' && c <= '~' {
				b = append(b, c)
			} else {
				b = append(b, '\\', 'x', hex[c>>4], hex[c&15])
			}
		}
	}
	return append(b, '"')
}
