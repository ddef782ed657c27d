package nodelink

import (
	"sync"
	"time"
)

// Limiter lets a log line through at most once per Every, and counts the
// ones it held back, so that a peer (or a scanner) failing handshakes in a
// loop cannot flood the log. The zero value lets one line a minute
// through. It is safe for concurrent use.
type Limiter struct {
	Every time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int64
}

// Allow reports whether to log now and, if so, how many lines were held
// back since the last one logged.
func (l *Limiter) Allow() (ok bool, suppressed int64) {
	every := l.Every
	if every <= 0 {
		every = time.Minute
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if !l.last.IsZero() && now.Sub(l.last) < every {
		l.suppressed++
		return false, 0
	}
	l.last, suppressed, l.suppressed = now, l.suppressed, 0
	return true, suppressed
}
