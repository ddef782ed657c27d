package server

import (
	"errors"
	"time"

	"github.com/walkerdb/walkerdb/walkerd/command"
)

// sweepLoop deletes expired keys through the log, as Redis's active expiry
// does: readers never see an expired key, but it takes space until
// deleted. Every SweepInterval it examines SweepBatch keys from where it
// stopped and proposes WALKER.DELEXPIRED for those expired; when most of a
// batch had expired it goes on at once, for up to a quarter of the
// interval. On a follower Apply refuses with *NotLeaderError and the sweep
// does nothing: only the leader sweeps.
func (s *Server) sweepLoop() {
	defer s.bg.Done()
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	var cursor []byte
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		deadline := time.Now().Add(s.cfg.SweepInterval / 4)
		for {
			var found int
			var err error
			cursor, found, err = s.sweepOnce(cursor)
			if err != nil || found < s.cfg.SweepBatch/4 || time.Now().After(deadline) {
				break
			}
			select {
			case <-s.quit:
				return
			default:
			}
		}
	}
}

// sweepOnce examines one batch and returns the next cursor and how many
// expired keys it found.
func (s *Server) sweepOnce(cursor []byte) ([]byte, int, error) {
	now := s.nowMs()
	dbs, keys, next, err := command.ExpiredKeys(s.b.Engine(), now, cursor, s.cfg.SweepBatch)
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
		reply, err := s.b.Apply(&command.Entry{NowMs: now, DB: d, Cmds: [][][]byte{args}})
		var nl *NotLeaderError
		if errors.As(err, &nl) {
			return nil, 0, err // not the leader: nothing to do here
		}
		if err != nil {
			return next, 0, err
		}
		if v, _, perr := parseValue(reply); perr == nil && v.kind == ':' {
			s.stats.expired.Add(v.num)
		}
	}
	return next, len(keys), nil
}
