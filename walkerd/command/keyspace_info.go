package command

import (
	"bytes"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// DBKeys is one database's line of INFO keyspace: its live keys, those of
// them with a TTL, and their mean remaining TTL in milliseconds (0 when
// none has one).
type DBKeys struct {
	Keys, Expires, AvgTTL int64
}

// keyspaceChunk is how many keys one View of KeyspaceCounts walks: the
// engine's writers wait for at most one chunk.
const keyspaceChunk = 4096

// KeyspaceCounts counts every database's keys at time now (Unix ms). It
// walks the metadata keys, in chunks that each hold the engine's lock
// briefly, so its figures are exact for a database that does not change
// meanwhile; Redis keeps them as counters, walkerd derives them (O(keys)).
// The mean TTL is exact where Redis's avg_ttl is a sampled estimate.
func KeyspaceCounts(db *engine.DB, now int64) ([Databases]DBKeys, error) {
	var out [Databases]DBKeys
	var ttlSum [Databases]int64
	lower := keyspace.DBPrefix(0)
	for lower != nil {
		var next []byte
		err := db.View(now, func(v *engine.View) error {
			it := v.Iter(engine.IterOptions{Lower: lower, Upper: keyspace.SubSpace(0), KeysOnly: true})
			seen := 0
			for ok := it.First(); ok; ok = it.Next() {
				if seen == keyspaceChunk {
					next = bytes.Clone(it.Key())
					break
				}
				seen++
				d, _, ok := keyspace.SplitMeta(it.Key())
				if !ok || d < 0 || d >= Databases {
					continue
				}
				m, err := it.Meta()
				if err != nil {
					it.Close()
					return err
				}
				out[d].Keys++
				if m.ExpireAt != 0 {
					out[d].Expires++
					ttlSum[d] += m.ExpireAt - now
				}
			}
			return closeIter(it)
		})
		if err != nil {
			return out, err
		}
		lower = next
	}
	for d := range out {
		if out[d].Expires > 0 {
			out[d].AvgTTL = ttlSum[d] / out[d].Expires
		}
	}
	return out, nil
}
