package server

import (
	"github.com/tidwall/redcon"
	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// Reading a pipeline ahead. Every read of a key begins with a Get of its
// metadata key in the engine, and each such Get waits on two cache
// misses, one after the other: the keydir slot, then the record. Before a
// batch of pipelined commands runs, prefetchReads hands the metadata keys
// of the batch's reads to engine.DB.PrefetchGets, which reads the slots of
// all of them, then their records, so that the misses of different
// commands overlap and each command finds its own in cache.
//
// In package engine's benchmarks (a million keys, 100-byte values, 3 runs
// in turns), a Get alone cost 628-689 ns against BenchmarkMemoryFloor's
// 438-475 (two dependent misses), and the Gets of pipelines of 16 after
// their PrefetchGets 301-327 ns each (BenchmarkGetPipelined16).

const (
	// maxPrefetch bounds the keys one batch reads ahead: the records of
	// more would push the first ones out of the cache before their
	// commands run.
	maxPrefetch = 64
	// maxPrefetchKey bounds a key read ahead. A client keeps the buffer
	// of a batch's keys up to keptPrefetch bytes (64 keys of 60 bytes).
	maxPrefetchKey = 512
	keptPrefetch   = 4 << 10
	// scanAlone is how many commands collect looks at before it gives up
	// on a batch without a read.
	scanAlone = 4
)

// prefetchKeys is the metadata keys of a batch's reads, kept by a client
// from one batch to the next: key i is buf[ends[i-1]:ends[i]].
type prefetchKeys struct {
	buf  []byte
	ends []int
}

// collect replaces pk's keys with the metadata keys, in database dbi, of
// the keys of the reads in cmds: commands flagged FlagReadonly, their keys
// at the fixed positions COMMAND INFO gives (command.Spec.KeyRange). At
// most maxPrefetch keys, none longer than
// maxPrefetchKey. A batch whose first scanAlone commands hold no read is
// taken for a batch of writes, and left there: looking its commands up
// cost 2% of a standalone node's CPU under SET -P 16.
func (pk *prefetchKeys) collect(dbi int, cmds []redcon.Command) {
	buf, ends := pk.buf[:0], pk.ends[:0]
	for n, cmd := range cmds {
		if n == scanAlone && len(ends) == 0 {
			break
		}
		if len(cmd.Args) == 0 {
			continue
		}
		k := command.Lookup(cmd.Args[0])
		if k == nil || k.Flags&command.FlagReadonly == 0 {
			continue
		}
		last, step := k.KeyRange(len(cmd.Args))
		for i := k.FirstKey; i <= last && len(ends) < maxPrefetch; i += step {
			if len(cmd.Args[i]) > maxPrefetchKey {
				continue
			}
			buf = keyspace.AppendMetaKey(buf, dbi, cmd.Args[i])
			ends = append(ends, len(buf))
		}
	}
	pk.buf, pk.ends = buf, ends
}

// key is the i-th key collect kept.
func (pk *prefetchKeys) key(i int) []byte {
	start := 0
	if i > 0 {
		start = pk.ends[i-1]
	}
	return pk.buf[start:pk.ends[i]]
}

// prefetchReads reads ahead the keys of the read commands in cmds, a batch
// of c's pipeline about to run. Only reads (FlagReadonly) whose keys are
// the range COMMAND INFO gives, in the database c has selected, and only
// on a node of one Raft group, whose engine holds every key; a batch of
// one command of one key has nothing to overlap. It changes nothing: a key
// it guesses wrong (a SELECT further down the batch) costs its reads
// alone.
func (s *Server) prefetchReads(c *client, cmds []redcon.Command) {
	if len(cmds) == 0 || len(cmds) == 1 && len(cmds[0].Args) < 3 || s.shards != nil || s.multi() {
		return
	}
	pk := &c.prefetch
	pk.collect(c.db, cmds)
	if db := s.b.Engine(); len(pk.ends) > 1 && db != nil {
		db.PrefetchGets(len(pk.ends), pk.key)
	}
	if cap(pk.buf) > keptPrefetch {
		pk.buf = nil // long keys: not kept for every idle client
	}
}
