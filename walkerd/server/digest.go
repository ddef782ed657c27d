package server

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// WALKER.DIGEST: "<keys> <sha256 hex>" over every engine key of this
// node's user data (every database's metadata keys and collection
// sub-keys), with its value and expiry, in key order.
// Expired keys not yet swept count: they are state until the log deletes
// them. Nodes that have applied the same log give the same digest, so a
// fault-injection run checks convergence by comparing them.
func cmdWalkerDigest(s *Server, c *client, args [][]byte) {
	n, sum, err := s.digestAll() // groups.go
	if err != nil {
		c.fail(err)
		return
	}
	c.bulkString(fmt.Sprintf("%d %x", n, sum))
}

func digest(db *engine.DB) (int, []byte, error) {
	h := sha256.New()
	var lens [16]byte
	n := 0
	cursor := []byte{}
	end := keyspace.SubSpace(keyspace.Databases) // past the last sub-key
	for {
		page, next, err := db.Scan(engine.ScanOptions{Start: cursor, End: end, Limit: 1024, IncludeExpired: true})
		if err != nil {
			return 0, nil, err
		}
		for _, kv := range page {
			binary.LittleEndian.PutUint32(lens[0:], uint32(len(kv.Key)))
			binary.LittleEndian.PutUint32(lens[4:], uint32(len(kv.Value)))
			binary.LittleEndian.PutUint64(lens[8:], uint64(kv.ExpireAt))
			h.Write(lens[:])
			h.Write(kv.Key)
			h.Write(kv.Value)
			n++
		}
		if next == nil {
			return n, h.Sum(nil), nil
		}
		cursor = next
	}
}
