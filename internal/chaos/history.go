package chaos

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// Op is one operation a client ran, as the checkers read it. Times are
// nanoseconds since the run began; an operation whose outcome is unknown
// has Return -1 (it may take effect at any time after Call).
type Op struct {
	ID       int      `json:"id"`
	Client   int      `json:"client"`
	Node     int      `json:"node"` // the node the client talks to (0-based)
	Workload string   `json:"workload"`
	Kind     string   `json:"kind"` // set, del, get, append, txn-append, txn-set, incr, mget
	Key      string   `json:"key,omitempty"`
	Keys     []string `json:"keys,omitempty"`
	Value    string   `json:"value,omitempty"` // written value or token
	Level    int      `json:"level"`           // reads: 0 default, 1 stale, 2 consistent
	Call     int64    `json:"call"`
	Return   int64    `json:"return"`
	Outcome  Outcome  `json:"outcome"`
	// Results: a read's value(s) (Null: no such key), a DEL's count, an
	// INCR's new value.
	Result  string   `json:"result,omitempty"`
	Null    bool     `json:"null,omitempty"`
	Results []string `json:"results,omitempty"`
	Nulls   []bool   `json:"nulls,omitempty"`
	Int     int64    `json:"int,omitempty"`
	Err     string   `json:"err,omitempty"`
}

// Done reports whether the op returned with a known outcome.
func (o *Op) Done() bool { return o.Outcome == OK }

// History collects operations from many goroutines.
type History struct {
	start time.Time
	mu    sync.Mutex
	ops   []*Op
}

// NewHistory starts the clock.
func NewHistory() *History { return &History{start: time.Now()} }

// Now is the current time on the history's clock.
func (h *History) Now() int64 { return int64(time.Since(h.start)) }

// Time converts a history time to wall time.
func (h *History) Time(t int64) time.Time { return h.start.Add(time.Duration(t)) }

// Add records a completed (or given-up) op and gives it an id.
func (h *History) Add(o *Op) {
	h.mu.Lock()
	o.ID = len(h.ops)
	h.ops = append(h.ops, o)
	h.mu.Unlock()
}

// Ops returns the ops recorded so far, by call time.
func (h *History) Ops() []*Op {
	h.mu.Lock()
	ops := append([]*Op(nil), h.ops...)
	h.mu.Unlock()
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].Call < ops[j].Call })
	return ops
}

// WriteJSONL writes items one JSON object per line, gzipped if path ends
// in .gz.
func WriteJSONL[T any](path string, items []T) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	var out io.Writer = f
	var zw *gzip.Writer
	if strings.HasSuffix(path, ".gz") {
		zw = gzip.NewWriter(f)
		out = zw
	}
	w := bufio.NewWriterSize(out, 1<<20)
	enc := json.NewEncoder(w)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			f.Close()
			return err
		}
	}
	err = w.Flush()
	if zw != nil && err == nil {
		err = zw.Close()
	}
	if err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
