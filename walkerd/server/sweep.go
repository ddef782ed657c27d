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
//
// A whole walk that met no key with an expiry time, while no write gave
// one (ttlWrites did not move), ends the expiry walks until one does: no
// key can have expired meanwhile, and walking 100,000 keys of SETs
// without TTL cost 2 to 7% of walkerd's CPU under redis-benchmark.
func (s *Server) sweepLoop(b backend.Backend) {
	defer s.bg.Done()
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	var expCursor, subCursor []byte
	// walkTimed counts the keys with an expiry time the walk from
	// walkGen (ttlWrites when it began at the first key) has met; idle:
	// a whole walk met none, and ttlWrites has stayed at walkGen since.
	var walkTimed int
	var walkGen uint64
	idle := false
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		if !s.running(b) {
			return // dropped (SetGroups)
		}
		if !leads(b) {
			idle = false // a follower's state may come whole (a snapshot), with no touches
			s.sweepIdle.Store(false)
			continue
		}
		began := time.Now()
		budget, deadline := began.Add(s.cfg.SweepInterval/40), began.Add(s.cfg.SweepInterval/4)
		var expDone, subDone bool // walked to the end in this tick
		if idle && s.ttlWrites.Load() != walkGen {
			idle, expCursor = false, nil // a key may have an expiry time now: walk again, whole
		}
		expDone = idle
		for {
			var expired, dead int
			var err error
			if !expDone {
				if expCursor == nil {
					walkTimed, walkGen = 0, s.ttlWrites.Load()
				}
				var timed int
				expCursor, expired, timed, err = s.sweepExpired(b, expCursor)
				walkTimed += timed
				expDone = expCursor == nil
				if expDone && err == nil {
					s.sweepWalks.Add(1)
				}
				idle = err == nil && expDone && walkTimed == 0 && s.ttlWrites.Load() == walkGen
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
		s.sweepIdle.Store(idle)
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
// those expired; it returns the next cursor, how many it found, and how
// many of those it examined have an expiry time (1 when it examined
// none: DEBUG SET-ACTIVE-EXPIRE 0, or a failed walk).
func (s *Server) sweepExpired(b backend.Backend, cursor []byte) ([]byte, int, int, error) {
	if s.activeExpireOff.Load() { // DEBUG SET-ACTIVE-EXPIRE 0 (introspect.go)
		return cursor, 0, 1, nil
	}
	now := s.nowMs()
	dbs, keys, next, timed, err := command.ExpiredKeysCounted(b.Engine(), now, cursor, s.cfg.SweepBatch)
	if err != nil {
		return nil, 0, 1, err
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
			return nextOnError(err, next), 0, 1, err
		}
		s.stats.expired.Add(n)
	}
	return next, len(keys), timed, nil
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

// ttlEvents are the events of writes that may leave a key with an expiry
// time where the sweeper's walk may not meet it: one given an expiry time
// (EXPIRE and the like, SET EX, GETEX, SETEX, RESTORE), or one that took
// its source's to another name or database, perhaps behind the walk's
// cursor (RENAME, MOVE, COPY, SWAPDB).
var ttlEvents = map[string]bool{
	"expire": true, "restore": true, "rename_to": true, "move_to": true, "copy_to": true, "swapdb": true,
}

// appliedEntry is the Backend.Notify hook: it counts ttlWrites for the
// sweeper, then hands the touches to applied (pubsub.go).
func (s *Server) appliedEntry(ts []command.Touch) {
	for _, t := range ts {
		if ttlEvents[t.Event] {
			s.ttlWrites.Add(1)
			break
		}
	}
	s.applied(ts)
}
