package server

import (
	"sync"
	"time"
)

// cursorTable maps SCAN's numeric cursors to engine keys. A cursor is a
// decimal number, as clients expect; the engine resumes from a key. The
// table keeps the most recent cursors (up to max entries and maxBytes of
// keys); a cursor it has forgotten, or never issued, is answered with
// "ERR invalid cursor" rather than a silently incomplete iteration.
// Cursors are shared by all connections, as Redis's are.
type cursorTable struct {
	mu       sync.Mutex
	next     uint64
	m        map[uint64][]byte
	order    []uint64 // issue order, for eviction (a ring)
	head     int
	max      int
	bytes    int
	maxBytes int
}

func newCursorTable(max, maxBytes int) *cursorTable {
	// Start numbering from the clock so a cursor from an earlier process
	// is unlikely to name a live one.
	return &cursorTable{
		next:     uint64(time.Now().UnixNano()/1000)&(1<<52-1) | 1<<40,
		m:        make(map[uint64][]byte),
		max:      max,
		maxBytes: maxBytes,
	}
}

func (t *cursorTable) put(key []byte) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.m) > 0 && (len(t.m) >= t.max || t.bytes+len(key) > t.maxBytes) {
		old := t.order[t.head]
		t.head++
		if k, ok := t.m[old]; ok {
			t.bytes -= len(k)
			delete(t.m, old)
		}
	}
	if t.head > len(t.order)/2 && t.head > 1024 {
		t.order = append(t.order[:0], t.order[t.head:]...)
		t.head = 0
	}
	t.next++
	id := t.next
	t.m[id] = append([]byte(nil), key...)
	t.order = append(t.order, id)
	t.bytes += len(key)
	return id
}

func (t *cursorTable) get(id uint64) ([]byte, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k, ok := t.m[id]
	return k, ok
}
