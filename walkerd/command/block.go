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

// A blockResolver is a blocking command's parsed arguments that name a
// position relative to the state the command finds when it blocks: XREAD's
// "$" (entries after the stream's last ID at that moment). Its first
// attempt is WALKER.RESOLVE, which rewrites the command with the position
// made absolute at one point of the log; the server then attempts the
// rewritten command, so every later attempt means what the first did.
type blockResolver interface {
	// resolves reports whether the arguments hold such a position.
	resolves() bool
	// resolve rewrites args (the whole command) from the state, or fails
	// (WRONGTYPE) as the command's first run would.
	resolve(c *ctx, args [][]byte) ([][]byte, error)
}

// Resolving reports whether a parsed blocking command must be resolved
// (WALKER.RESOLVE) before its attempts.
func (p Parsed) Resolving() bool {
	if b, ok := p.Args.(*blockArgs); ok {
		r, ok := b.pop.(blockResolver)
		return ok && r.resolves()
	}
	return false
}

// A keyPicker is a blocking command's parsed arguments that can be
// narrowed to some of its keys: a woken attempt (WALKER.SERVE) passes over
// keys that now hold another type. keep[i] tells whether the i-th key of
// blockArgs.keys stays.
type keyPicker interface {
	pick(keep []bool) any
}

// parseTimeout reads a blocking timeout in seconds, decimals allowed, as
// Redis 7.0.15's getTimeoutFromObjectOrReply (timeout.c) does: a long
// double, made milliseconds and rounded up (ceill), then cast to a long
// long. A value past that cast's range (inf, 1e300, or 2^63 ms and
// more) becomes LLONG_MIN there, so Redis answers "timeout is negative"
// for it, and so does walkerd; -0.5 rounds up to 0, which waits for
// ever. A timeout too long for a time.Duration waits for ever too.
func parseTimeout(arg []byte, now int64) (time.Duration, error) {
	f, inf, ok := parseLongDouble(arg)
	if !ok {
		return 0, Error("ERR timeout is not a float or out of range")
	}
	errNegative := Error("ERR timeout is negative")
	if inf {
		return 0, errNegative
	}
	ms := new(big.Float).SetPrec(ldPrec).Mul(f, big.NewFloat(1000))
	i, acc := ms.Int(nil)
	if acc == big.Below { // ceill
		i.Add(i, big.NewInt(1))
	}
	if !i.IsInt64() || i.Sign() < 0 {
		return 0, errNegative
	}
	t := i.Int64()
	if t > math.MaxInt64/int64(time.Millisecond) || t > math.MaxInt64-now {
		return 0, nil // past the end of time: for ever
	}
	return time.Duration(t) * time.Millisecond, nil
}
