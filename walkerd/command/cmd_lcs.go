package command

func init() {
	register(&Spec{Name: "lcs", Arity: -3, Flags: FlagReadonly, Cats: CatString, FirstKey: 1, LastKey: 2, Step: 1,
		Group: "string", Since: "7.0.0", run: runLcs})
}

// Errors of LCS, worded as t_string.c's lcsCommand words them.
const (
	errLcsType   Error = "ERR The specified keys must contain string values"
	errLcsLenIdx Error = "ERR If you want both the length and indexes, please just use IDX."
	errLcsMemory Error = "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
)

// lcsMaxTable bounds the table of LCS lengths, in bytes (4 per cell), as
// Redis bounds it by its default proto-max-bulk-len (512 MB).
const lcsMaxTable = 512 << 20

// runLcs answers the longest common subsequence of two strings (missing
// keys are empty): the subsequence itself; with LEN its length; with IDX
// a map (a flat array in RESP2) of "matches" — the matched ranges, last
// first, each [[a_start a_end] [b_start b_end]] plus its length with
// WITHMATCHLEN, only those at least MINMATCHLEN long — and "len". As
// t_string.c's lcsCommand, it checks both keys' types before it reads the
// options (a key of another type: "The specified keys must contain string
// values", not WRONGTYPE), and walks the table back from the end.
func runLcs(c *ctx, args [][]byte, _ any) {
	a, _, _, wrongA := c.getString(args[1])
	b, _, _, wrongB := c.getString(args[2])
	if wrongA || wrongB {
		c.r.Error(string(errLcsType))
		return
	}
	var getLen, getIdx, withMatchLen bool
	var minMatchLen int64
	for j := 3; j < len(args); j++ {
		opt := args[j]
		more := len(args) - 1 - j
		switch {
		case equalFold(opt, "idx"):
			getIdx = true
		case equalFold(opt, "len"):
			getLen = true
		case equalFold(opt, "withmatchlen"):
			withMatchLen = true
		case equalFold(opt, "minmatchlen") && more > 0:
			n, ok := ParseInt(args[j+1])
			if !ok {
				c.r.Error(string(ErrNotInteger))
				return
			}
			minMatchLen = max(n, 0)
			j++
		default:
			c.r.Error(string(ErrSyntax))
			return
		}
	}
	if getIdx && getLen {
		c.r.Error(string(errLcsLenIdx))
		return
	}
	alen, blen := len(a), len(b)
	cells := uint64(alen+1) * uint64(blen+1)
	if cells*4 > lcsMaxTable {
		c.r.Error(string(errLcsMemory))
		return
	}
	w := blen + 1
	lcs := make([]uint32, cells)
	for i := 1; i <= alen; i++ {
		for j := 1; j <= blen; j++ {
			if a[i-1] == b[j-1] {
				lcs[i*w+j] = lcs[(i-1)*w+j-1] + 1
			} else {
				lcs[i*w+j] = max(lcs[(i-1)*w+j], lcs[i*w+j-1])
			}
		}
	}
	total := lcs[alen*w+blen]
	if getLen {
		c.r.Int(int64(total))
		return
	}
	result := make([]byte, total)
	type match struct{ a0, a1, b0, b1 int }
	var matches []match
	idx := int(total)
	aStart, aEnd, bStart, bEnd := alen, 0, 0, 0 // aStart == alen: no range open
	for i, j := alen, blen; i > 0 && j > 0; {
		emit := false
		if a[i-1] == b[j-1] {
			result[idx-1] = a[i-1]
			if aStart == alen {
				aStart, aEnd, bStart, bEnd = i-1, i-1, j-1, j-1
			} else if aStart == i && bStart == j {
				aStart--
				bStart--
			} else {
				emit = true
			}
			if aStart == 0 || bStart == 0 {
				emit = true
			}
			idx--
			i--
			j--
		} else {
			if lcs[(i-1)*w+j] > lcs[i*w+j-1] {
				i--
			} else {
				j--
			}
			if aStart != alen {
				emit = true
			}
		}
		if emit {
			if n := int64(aEnd - aStart + 1); minMatchLen == 0 || n >= minMatchLen {
				matches = append(matches, match{aStart, aEnd, bStart, bEnd})
			}
			aStart = alen
		}
	}
	if !getIdx {
		c.r.Bulk(result)
		return
	}
	c.r.Map(2)
	c.r.BulkString("matches")
	c.r.Array(len(matches))
	for _, m := range matches {
		if withMatchLen {
			c.r.Array(3)
		} else {
			c.r.Array(2)
		}
		c.r.Array(2)
		c.r.Int(int64(m.a0))
		c.r.Int(int64(m.a1))
		c.r.Array(2)
		c.r.Int(int64(m.b0))
		c.r.Int(int64(m.b1))
		if withMatchLen {
			c.r.Int(int64(m.a1 - m.a0 + 1))
		}
	}
	c.r.BulkString("len")
	c.r.Int(int64(total))
}
