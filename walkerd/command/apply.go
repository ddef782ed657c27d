package command

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/walkerdb/walkerdb/engine"
)

// Apply executes e against the engine as Raft log index index and returns
// the RESP reply. See ApplyEntry.
func Apply(db *engine.DB, index uint64, e *Entry) []byte {
	reply, _ := ApplyEntry(db, index, e)
	return reply
}

// ApplyEntry executes e against the engine as log index index and returns
// the RESP reply the client gets.
//
// It is deterministic: expiry is judged at e.NowMs (never the node's
// clock), random choices are seeded from index, and every write of the
// entry goes to the engine in one batch stamped with index (Batch.SetSeq),
// so the applied index is stored atomically with the data. An entry that
// changes nothing writes nothing.
//
// It never panics. A malformed entry, an unknown command or bad arguments
// become error replies, identical on every node, and change nothing. err is
// non-nil only when the engine failed for reasons of its own (I/O, closed):
// then nothing was written, the reply is an error, and the node's state may
// now lag the others': the caller should stop applying.
func ApplyEntry(db *engine.DB, index uint64, e *Entry) (reply []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			reply = appendError(nil, fmt.Sprintf("ERR internal error applying log entry %d: %v", index, r))
			err = nil
		}
	}()
	if e == nil {
		return appendError(nil, "ERR malformed log entry: nil"), nil
	}
	if e.DB < 0 || e.DB >= Databases {
		return appendError(nil, string(ErrDBRange)), nil
	}
	if !e.Exec && len(e.Cmds) != 1 {
		return appendError(nil, fmt.Sprintf("ERR malformed log entry: %d commands outside EXEC", len(e.Cmds))), nil
	}
	// The engine takes time 0 to mean its own clock: never let it.
	now := e.NowMs
	if now == 0 {
		now = 1
	}
	c := &ctx{db: db, now: now, dbi: e.DB, w: newOverlay(), rnd: index}
	if e.Exec {
		ok, err := watchesHold(db, now, e.Watches)
		if err != nil {
			return appendError(nil, "ERR "+err.Error()), err
		}
		if !ok {
			return appendNullArray(nil), nil
		}
		c.out = appendArray(c.out, len(e.Cmds))
	}
	for _, args := range e.Cmds {
		c.exec(args, true)
		if c.fatal != nil {
			return appendError(nil, "ERR "+c.fatal.Error()), c.fatal
		}
	}
	if err := c.commit(index); err != nil {
		if deterministic(err) {
			return appendError(nil, "ERR "+err.Error()), nil
		}
		return appendError(nil, "ERR "+err.Error()), err
	}
	return c.out, nil
}

// deterministic reports whether an engine write error follows from the
// data alone (and so happens on every node with the same options).
func deterministic(err error) bool {
	return errors.Is(err, engine.ErrKeyTooLarge) || errors.Is(err, engine.ErrValueTooLarge) ||
		errors.Is(err, engine.ErrBatchTooLarge)
}

func watchesHold(db *engine.DB, now int64, ws []Watch) (bool, error) {
	if len(ws) == 0 {
		return true, nil
	}
	ok := true
	err := db.View(now, func(r *engine.View) error {
		for _, w := range ws {
			if w.DB < 0 || w.DB >= Databases {
				ok = false
				return nil
			}
			s, err := version(r, w.DB, w.Key)
			if err != nil {
				return err
			}
			if s != w.Seq {
				ok = false
				return nil
			}
		}
		return nil
	})
	return ok, err
}

// exec runs one command in c. inApply: the command is part of a log entry.
func (c *ctx) exec(args [][]byte, inApply bool) {
	if len(args) == 0 {
		c.out = appendError(c.out, "ERR empty command")
		return
	}
	s := Lookup(args[0])
	if s == nil || (!inApply && s.Flags&FlagRead == 0) {
		c.out = appendError(c.out, string(ErrUnknownCommand(args)))
		return
	}
	if err := s.Check(args, c.now); err != nil {
		c.out = appendError(c.out, err.Error())
		return
	}
	start := len(c.out)
	if s.Flags&flagNoView != 0 {
		s.run(c, args)
	} else {
		err := c.db.View(c.now, func(r *engine.View) error {
			c.view = r
			defer func() { c.view = nil }()
			s.run(c, args)
			return nil
		})
		if err != nil {
			c.fail(err)
		}
	}
	if c.fatal != nil {
		c.out = appendError(c.out[:start], "ERR "+c.fatal.Error())
	}
}

// Read runs a read command (Flags&Read) against the local engine in
// database dbi, judging expiry at now (Unix ms), and appends its RESP reply
// to dst. A command that is not a read gets an unknown-command error. A
// command reads one consistent state: MGET sees all its keys as of one
// moment.
func Read(db *engine.DB, dbi int, now int64, args [][]byte, dst []byte) (out []byte) {
	n := len(dst)
	defer func() {
		if r := recover(); r != nil {
			out = appendError(dst[:n], fmt.Sprintf("ERR internal error: %v", r))
		}
	}()
	if dbi < 0 || dbi >= Databases {
		return appendError(dst, string(ErrDBRange))
	}
	c := &ctx{db: db, now: now, dbi: dbi, out: dst, rnd: rand.Uint64()}
	c.exec(args, false)
	return c.out
}
