package command

import (
	"math"
	"math/big"
	"strings"
)

// ParseInt parses s as Redis's string2ll does: an optional '-', then "0"
// or a digit 1-9 followed by digits, within the int64 range. No spaces, no
// '+', no leading zeros.
func ParseInt(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) > 20 {
		return 0, false
	}
	if len(s) == 1 && s[0] == '0' {
		return 0, true
	}
	neg := false
	i := 0
	if s[0] == '-' {
		neg = true
		i++
		if i == len(s) {
			return 0, false
		}
	}
	if s[i] < '1' || s[i] > '9' {
		return 0, false
	}
	var v uint64
	for ; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > (math.MaxUint64-9)/10 {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return int64(-v), true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// Long doubles: INCRBYFLOAT computes in x87 80-bit extended precision
// (64-bit mantissa) and prints with "%.17Lf". big.Float at precision 64
// with round-to-nearest-even gives the same numbers.
const (
	ldPrec   = 64
	ldMaxExp = 16384  // big.Float exponent (mantissa in [0.5,1)) of the largest finite long double
	ldMinExp = -16444 // below this a long double is zero
	// maxLongDoubleChars is Redis's MAX_LONG_DOUBLE_CHARS.
	maxLongDoubleChars = 5 * 1024
)

// parseLongDouble parses s as Redis's string2ld (strtold) does. inf is
// reported as such; NaN, spaces, trailing bytes and out-of-range values are
// refused.
func parseLongDouble(s []byte) (f *big.Float, inf bool, ok bool) {
	if len(s) == 0 || len(s) >= maxLongDoubleChars {
		return nil, false, false
	}
	str := string(s)
	body := strings.TrimLeft(str, "+-")
	if len(str)-len(body) > 1 {
		return nil, false, false
	}
	lower := strings.ToLower(body)
	switch lower {
	case "inf", "infinity":
		return nil, true, true
	}
	if body == "" || strings.ContainsAny(body, "_ \t\r\n\v\f") {
		return nil, false, false
	}
	// strtold knows decimal and 0x hexadecimal, not Go's 0b and 0o.
	if len(lower) >= 2 && lower[0] == '0' && (lower[1] == 'b' || lower[1] == 'o') {
		return nil, false, false
	}
	c := body[0]
	if !(c >= '0' && c <= '9') && c != '.' {
		return nil, false, false
	}
	// A binary exponent ('p') belongs to hexadecimal floats only: strtold
	// stops at the 'p' of "0p7", which big.Float would read as 0*2^7.
	if !strings.HasPrefix(lower, "0x") && strings.ContainsRune(lower, 'p') {
		return nil, false, false
	}
	f, _, err := new(big.Float).SetPrec(ldPrec).SetMode(big.ToNearestEven).Parse(str, 0)
	if err != nil || f.IsInf() {
		return nil, false, false
	}
	if f.Sign() != 0 {
		exp := f.MantExp(nil)
		if exp > ldMaxExp || exp < ldMinExp {
			return nil, false, false // strtold's ERANGE: HUGE_VAL or zero
		}
	}
	return f, false, true
}

// formatLongDouble prints f as Redis's ld2string in human-friendly mode:
// "%.17Lf" with trailing zeros (and a trailing '.') removed, "-0" as "0".
func formatLongDouble(f *big.Float) string {
	s := f.Text('f', 17)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// ldOverflows reports whether f is beyond the long double range (inf).
func ldOverflows(f *big.Float) bool {
	return f.IsInf() || (f.Sign() != 0 && f.MantExp(nil) > ldMaxExp)
}

// equalFold reports whether s, ASCII-case-insensitively, is lower (which
// must be lower case).
func equalFold(s []byte, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// lowerASCII returns s in lower case.
func lowerASCII(s []byte) string {
	for _, c := range s {
		if 'A' <= c && c <= 'Z' {
			b := make([]byte, len(s))
			for i, c := range s {
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				b[i] = c
			}
			return string(b)
		}
	}
	return string(s)
}
