package command

import (
	"math"
	"math/big"
	"time"
)

// blockArgs is what a blocking command's parse gives: the keys it waits
// on, its timeout, and the arguments of the pop itself.
type blockArgs struct {
	keys    [][]byte
	timeout time.Duration // 0: wait for ever
	pop     any
}

// Blocking gives a parsed blocking command's keys to wait on (in the
// order it tries them) and its timeout (0: for ever); nil keys for any
// other command.
func (p Parsed) Blocking() (keys [][]byte, timeout time.Duration) {
	if b, ok := p.Args.(*blockArgs); ok {
		return b.keys, b.timeout
	}
	return nil, 0
}

// parseTimeout reads a blocking timeout in seconds, decimals allowed, as
// Redis's getTimeoutFromObjectOrReply (timeout.c) does: a long double,
// made milliseconds and rounded up; negative, or past the end of time from
// now, refused.
func parseTimeout(arg []byte, now int64) (time.Duration, error) {
	f, inf, ok := parseLongDouble(arg)
	if !ok {
		return 0, Error("ERR timeout is not a float or out of range")
	}
	if inf {
		if arg[0] == '-' {
			return 0, Error("ERR timeout is negative")
		}
		return 0, Error("ERR timeout is out of range")
	}
	ms := new(big.Float).SetPrec(ldPrec).Mul(f, big.NewFloat(1000))
	if ms.Cmp(big.NewFloat(math.MaxInt64)) > 0 {
		return 0, Error("ERR timeout is out of range")
	}
	// ceill
	i, acc := ms.Int(nil)
	if acc == big.Below {
		i.Add(i, big.NewInt(1))
	}
	if !i.IsInt64() {
		return 0, Error("ERR timeout is out of range")
	}
	t := i.Int64()
	if t < 0 {
		return 0, Error("ERR timeout is negative")
	}
	if t > 0 && t > math.MaxInt64-now {
		return 0, Error("ERR timeout is out of range")
	}
	return time.Duration(min(t, math.MaxInt64/int64(time.Millisecond))) * time.Millisecond, nil
}
