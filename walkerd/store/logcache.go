package store

import (
	"sync"

	"github.com/hashicorp/raft"
)

// logCache keeps the newest Raft log entries in memory for the leader's
// replication, which reads every entry back from the log store to send
// it (raft's setupAppendEntries): with raft-boltdb that read was a tenth
// of a three-node leader's CPU under SET -P 1. It is raft.LogCache, the
// ring Consul puts in front of its log store, with one change: an entry
// larger than logCacheMaxEntry is not kept, so that a few large values
// cannot pin hundreds of megabytes (the ring holds logCacheSize entries
// whatever their size), nor is the reference to a large entry's file
// (bigentry.go), which is found only while the file is kept. Those are
// read back from the store, once per follower.
type logCache struct {
	raft.LogStore
	mu   sync.RWMutex
	ring []*raft.Log
}

const (
	logCacheSize     = 512
	logCacheMaxEntry = 256 << 10
)

func newLogCache(s raft.LogStore) *logCache {
	return &logCache{LogStore: s, ring: make([]*raft.Log, logCacheSize)}
}

// IsMonotonic passes the store's answer on (raft.MonotonicLogStore):
// raft-wal's log must be reset, not trimmed, after a snapshot restore.
func (c *logCache) IsMonotonic() bool {
	m, ok := c.LogStore.(raft.MonotonicLogStore)
	return ok && m.IsMonotonic()
}

func (c *logCache) GetLog(index uint64, l *raft.Log) error {
	c.mu.RLock()
	e := c.ring[index%logCacheSize]
	c.mu.RUnlock()
	if e != nil && e.Index == index {
		*l = *e
		return nil
	}
	return c.LogStore.GetLog(index, l)
}

func (c *logCache) StoreLog(l *raft.Log) error { return c.StoreLogs([]*raft.Log{l}) }

func (c *logCache) StoreLogs(logs []*raft.Log) error {
	if err := c.LogStore.StoreLogs(logs); err != nil {
		return err
	}
	c.mu.Lock()
	for _, l := range logs {
		slot := &c.ring[l.Index%logCacheSize]
		if _, big := parseBigRef(l); len(l.Data) <= logCacheMaxEntry && !big {
			*slot = l
		} else {
			// Read back from the store, which frees the slot's older
			// entry; and a large entry's reference answers only while
			// its file is kept (bigEntries.GetLog, evictBefore).
			*slot = nil
		}
	}
	c.mu.Unlock()
	return nil
}

func (c *logCache) DeleteRange(min, max uint64) error {
	c.mu.Lock()
	clear(c.ring)
	c.mu.Unlock()
	return c.LogStore.DeleteRange(min, max)
}
