package engine

import "bytes"

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
// SCAN. A page is read in one View with View.Iter, under the read lock:
// Scan is the iterator's paging form for callers outside a View.
func (db *DB) Scan(o ScanOptions) (items []KV, next []byte, err error) {
	err = db.View(o.Now, func(v *View) error {
		it := v.Iter(IterOptions{Lower: o.Start, Upper: o.End, Prefix: o.Prefix, KeysOnly: o.KeysOnly, IncludeExpired: o.IncludeExpired})
		for ok := it.First(); ok; ok = it.Next() {
			if o.Limit > 0 && len(items) == o.Limit {
				next = bytes.Clone(it.Key())
				break
			}
			kv := KV{Key: bytes.Clone(it.Key())}
			m, err := it.Meta()
			if err != nil {
				break
			}
			kv.ExpireAt = m.ExpireAt
			if !o.KeysOnly {
				if kv.Value, err = it.Value(); err != nil {
					break
				}
			}
			items = append(items, kv)
		}
		return it.Close()
	})
	if err != nil {
		return nil, nil, err
	}
	return items, next, nil
}
