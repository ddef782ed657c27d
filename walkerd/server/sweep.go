package server

import (
	"errors"
	"time"

	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// sweepLoop is walkerd's background maintenance through the log, on the
// leader: it deletes expired keys, as Redis's active expiry does (readers
// never see an expired key, but it takes space until deleted), and
// reclaims the elements of collections that were deleted, overwritten or
// expired (a DEL of a collection is one metadata write; its sub-keys stay
// until this sweep proposes WALKER.RECLAIM for them). Every SweepInterval
// it examines batches of SweepBatch keys of each kind from where it
// stopped, until each kind has been walked whole or a fortieth of the
// interval has gone by (2.5 ms of each 100 ms: with 0.4 µs a key, about
// 6,000 keys a tick, so 300k keys are walked in about 5 s); while most of
// a batch needs work it goes on for up to a quarter of the interval. The
// walk visits every key, where Redis samples only those with a TTL: an
// index of keys by expiry time would make it proportional to the expired
// keys. Only the leader sweeps: a follower's Apply would refuse. A node
// with several Raft groups runs one per group, b (groups.go).
func (s *Server) sweepLoop(b backend.Backend) {
	defer s.bg.Done()
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	var expCursor, subCursor []byte
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		if !leads(b) {
			continue
		}
		began := time.Now()
		budget, deadline := began.Add(s.cfg.SweepInterval/40), began.Add(s.cfg.SweepInterval/4)
		var expDone, subDone bool // walked to the end in this tick
		for {
			var expired, dead int
			var err error
			if !expDone {
				expCursor, expired, err = s.sweepExpired(b, expCursor)
				expDone = expCursor == nil
			}
			if err == nil && !subDone {
				subCursor, dead, err = s.sweepDead(b, subCursor)
				subDone = subCursor == nil
			}
			now := time.Now()
			busy := max(expired, dead) >= s.cfg.SweepBatch/4
			if err != nil || now.After(deadline) || expDone && subDone || !busy && now.After(budget) {
				break
			}
			select {
			case <-s.quit:
				return
			default:
			}
		}
		took := time.Since(began)
		s.st.sweepUs.Add(took.Microseconds())
		s.sampleLatency("expire-cycle", took)
	}
}

// leads reports whether this node should sweep: the backend's leader, or
// a backend without leaders (standalone).
func leads(b backend.Backend) bool {
	if l, ok := b.(interface{ IsLeader() bool }); ok {
		return l.IsLeader()
	}
	return true
}

// sweepExpired examines one batch of keys and proposes the deletion of
// those expired; it returns the next cursor and how many it found.
func (s *Server) sweepExpired(b backend.Backend, cursor []byte) ([]byte, int, error) {
	if s.activeExpireOff.Load() { // DEBUG SET-ACTIVE-EXPIRE 0 (introspect.go)
		return cursor, 0, nil
	}
	now := s.nowMs()
	dbs, keys, next, err := command.ExpiredKeys(b.Engine(), now, cursor, s.cfg.SweepBatch)
	if err != nil {
		return nil, 0, err
	}
	byDB := make(map[int][][]byte)
	for i, k := range keys {
		byDB[dbs[i]] = append(byDB[dbs[i]], k)
	}
	for d := range command.Databases {
		ks := byDB[d]
		if len(ks) == 0 {
			continue
		}
		args := append([][]byte{[]byte("WALKER.DELEXPIRED")}, ks...)
		n, err := maintain(b, now, d, args)
		if err != nil {
			return nextOnError(err, next), 0, err
		}
		s.stats.expired.Add(n)
	}
	return next, len(keys), nil
}

// sweepDead examines one batch of collection versions and proposes the
// reclaiming of the dead ones.
func (s *Server) sweepDead(b backend.Backend, cursor []byte) ([]byte, int, error) {
	now := s.nowMs()
	dead, next, err := command.DeadCollections(b.Engine(), now, cursor, s.cfg.SweepBatch)
	if err != nil || len(dead) == 0 {
		return next, 0, err
	}
	args := [][]byte{[]byte("WALKER.RECLAIM")}
	for _, g := range dead {
		args = append(args, g.Args()...)
	}
	n, err := maintain(b, now, 0, args)
	if err != nil {
		return nextOnError(err, next), 0, err
	}
	s.stats.reclaimed.Add(n)
	if n >= command.ReclaimBatch {
		// More of these versions' elements remain: come back to them.
		return cursor, len(dead), nil
	}
	return next, len(dead), nil
}

// maintain proposes one internal command and returns its integer reply.
func maintain(b backend.Backend, now int64, db int, args [][]byte) (int64, error) {
	res, err := b.Apply(&command.Entry{NowMs: now, DB: db, Cmds: [][][]byte{args}})
	if err != nil {
		return 0, err
	}
	n, _ := res.Reply().Int()
	return n, nil
}

// nextOnError is where a sweep goes on after a failed proposal: from the
// start when this node is not the leader (nothing to do here), else past
// the batch.
func nextOnError(err error, next []byte) []byte {
	var nl *backend.NotLeaderError
	if errors.As(err, &nl) {
		return nil
	}
	return next
}
