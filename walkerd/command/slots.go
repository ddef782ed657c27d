package command

import (
	"bytes"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// KeysInSlot returns up to limit keys of database dbi whose hash slot is
// slot, in key order, expired keys left out: CLUSTER GETKEYSINSLOT (a
// negative limit: every one). The keys of one slot are one range of the
// engine's ordered keys (keyspace: db | slot | key), so this reads only
// them.
func KeysInSlot(db *engine.DB, dbi int, now int64, slot uint16, limit int) ([][]byte, error) {
	var keys [][]byte
	_, err := walkSlot(db, dbi, now, slot, limit, func(k []byte) { keys = append(keys, bytes.Clone(k)) })
	return keys, err
}

// CountKeysInSlot counts the keys of database dbi in hash slot slot,
// expired keys left out: CLUSTER COUNTKEYSINSLOT.
func CountKeysInSlot(db *engine.DB, dbi int, now int64, slot uint16) (int64, error) {
	return walkSlot(db, dbi, now, slot, -1, nil)
}

func walkSlot(db *engine.DB, dbi int, now int64, slot uint16, limit int, fn func(k []byte)) (n int64, err error) {
	if limit == 0 {
		return 0, nil
	}
	prefix := keyspace.SlotPrefix(dbi, slot)
	err = db.View(now, func(v *engine.View) error {
		it := v.Iter(engine.IterOptions{Lower: prefix, Upper: keyspace.PrefixEnd(prefix), KeysOnly: true})
		for ok := it.First(); ok; ok = it.Next() {
			if fn != nil {
				_, k, _ := keyspace.SplitMeta(it.Key())
				fn(k)
			}
			if n++; limit > 0 && n >= int64(limit) {
				break
			}
		}
		return closeIter(it)
	})
	return n, err
}
