package engine

import (
	"bytes"

	"github.com/walkerdb/walkerdb/engine/keydir"
)

type keydirLoc = keydir.Loc

// KV is one key with its value, as a scan returns it.
type KV struct {
	Key      []byte
	Value    []byte // nil with ScanOptions.KeysOnly
	ExpireAt int64  // Unix milliseconds, 0 = none
}

// ScanOptions selects a page of keys in ascending byte order.
type ScanOptions struct {
	// Start is the first key to consider (inclusive): nil for the
	// beginning, or the cursor an earlier page returned.
	Start []byte
	// End stops the scan before this key; nil means no bound.
	End []byte
	// Prefix keeps only keys that begin with it; nil keeps all.
	Prefix []byte
	// Limit is the most keys a page holds; 0 means no limit.
	Limit int
	// KeysOnly skips reading values.
	KeysOnly bool
	// Now is the time (Unix milliseconds) at which expiry is judged.
	// Zero: the DB's clock.
	Now int64
	// IncludeExpired returns expired keys too, for callers that delete
	// them (FLUSHDB).
	IncludeExpired bool
}

// Scan returns one page of live keys in ascending order, and the cursor of
// the next page (nil when there is none). Pages taken one after another
// with the returned cursor see every key that exists throughout, each once;
// keys written or deleted meanwhile may or may not appear, as with Redis's
// SCAN.
func (db *DB) Scan(o ScanOptions) (items []KV, next []byte, err error) {
	// Exclusive: the scan folds pending keys into the ordered index.
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return nil, nil, ErrClosed
	}
	now := o.Now
	if now == 0 {
		now = db.nowMs()
	}
	db.kd.Ascend(o.Start, o.Prefix, func(key string, loc keydirLoc) bool {
		if o.End != nil && bytes.Compare([]byte(key), o.End) >= 0 {
			return false
		}
		if o.Limit > 0 && len(items) == o.Limit {
			next = []byte(key)
			return false
		}
		s := db.segs[loc.Segment()]
		kv := KV{Key: []byte(key)}
		if o.KeysOnly {
			if loc.Expires() {
				h, herr := s.readHeader(loc.Offset())
				if herr != nil {
					err = s.wrap(loc.Offset(), herr)
					return false
				}
				kv.ExpireAt = h.ExpireAt
			}
		} else {
			kv.Value, kv.ExpireAt, err = s.readValue(loc.Offset(), kv.Key)
			if err != nil {
				return false
			}
		}
		if kv.ExpireAt != 0 && kv.ExpireAt <= now && !o.IncludeExpired {
			return true
		}
		items = append(items, kv)
		return true
	})
	if err != nil {
		return nil, nil, err
	}
	return items, next, nil
}
