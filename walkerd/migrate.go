package main

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
	"github.com/walkerdb/walkerdb/walkerd/placement"
	"github.com/walkerdb/walkerdb/walkerd/server"
	"github.com/walkerdb/walkerdb/walkerd/shard"
	"github.com/walkerdb/walkerdb/walkerd/store"
)

// The migration driver moves hash slots between data groups, one move (a
// slot or a range of slots) at a time, as the placement state's moves ask
// (WALKER.MIGRATE records one: WALKER.PLACE MOVE). It runs on the placement group's leader, and keeps
// nothing of its own: every step is an entry in one of three logs and is
// idempotent, so a new placement leader carries a move on from the state
// (walkerd/shard/DESIGN.md, "The first migration to build"):
//
//	phase copy   S: WALKER.SLOT CLOSE s        S refuses s from here on
//	             (wait until this node's replica of S has applied it:
//	             its copy of s is then final)
//	             T: WALKER.SLOT DROP s n ...   a partial copy from an
//	                                           earlier attempt goes
//	             T: WALKER.IMPORT ...          s's keys, read from this
//	                                           node's replica of S, about
//	                                           1 MiB an entry
//	             T: WALKER.SLOT OPEN s         T serves s
//	             placement: OWNER s T          routing follows
//	phase drop   S: WALKER.SLOT DROP s n ...   until S holds none of s
//	             placement: DONE s
//
// The records travel inside T's log entries (not read by each member of
// T from its own replica of S), so T's log alone rebuilds T: a member
// that joins T later replays them, after S has dropped s. Between CLOSE
// and OPEN the slot is served by no group: its commands wait on the
// nodes that took them (walkerd/server/slotmove.go) and then run in T.

const (
	// migrateEvery is how often the driver looks for a move to carry out.
	migrateEvery = 100 * time.Millisecond
	// importBytes is about how much of a slot one WALKER.IMPORT carries;
	// a larger key goes alone.
	importBytes = 1 << 20
	// dropBatch is how many records one WALKER.SLOT DROP deletes at most.
	dropBatch = 4096
	// closedWait bounds the wait for this node's replica of the source
	// to apply the close.
	closedWait = 30 * time.Second
)

// driver is the placement leader's migration driver.
type driver struct {
	log    *slog.Logger
	fw     backend.Forwarder
	place  placeGroup
	groups []*store.Store
	layout shard.Layout
}

// driveMigrations runs the driver until stop is closed.
func driveMigrations(d *driver, stop <-chan struct{}) {
	t := time.NewTicker(migrateEvery)
	defer t.Stop()
	failures := 0
	wait := true
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		default:
			if wait {
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}
		wait = true
		if !d.place.IsLeader() {
			continue
		}
		st, err := command.Placement(d.place.Engine())
		if err != nil || len(st.Moves) == 0 {
			continue
		}
		m := st.Moves[0]
		if err := d.step(m, stop); err != nil {
			failures++
			if failures == 1 || failures%50 == 0 {
				d.log.Warn("migration: a step failed; it is tried again", "slot", m.Slot, "from", m.From, "to", m.To, "phase", m.Phase, "err", err, "failures", failures)
			}
			continue
		}
		failures, wait = 0, false // the next phase or move at once
	}
}

// step carries move m through its current phase.
func (d *driver) step(m placement.Move, stop <-chan struct{}) error {
	from, to := slices.Index(d.layout.IDs, m.From), slices.Index(d.layout.IDs, m.To)
	if from < 0 || to < 0 {
		return fmt.Errorf("no such group here: %s or %s", m.From, m.To)
	}
	slot := strconv.Itoa(int(m.Slot))
	if m.End != m.Slot {
		slot += "-" + strconv.Itoa(int(m.End))
	}
	switch m.Phase {
	case placement.PhaseCopy:
		start := time.Now()
		if _, err := d.apply(from, "WALKER.SLOT", "CLOSE", slot); err != nil {
			return fmt.Errorf("close in %s: %w", m.From, err)
		}
		if err := d.awaitClosed(from, m.Slot, stop); err != nil {
			return err
		}
		d.log.Info("migration: slot closed in its source; copying it", "slots", slot, "from", m.From, "to", m.To)
		if err := d.drop(to, slot); err != nil {
			return fmt.Errorf("clearing %s: %w", m.To, err)
		}
		keys, err := d.copySlots(from, to, m.Slot, m.End)
		if err != nil {
			return fmt.Errorf("copy to %s: %w", m.To, err)
		}
		if _, err := d.apply(to, "WALKER.SLOT", "OPEN", slot); err != nil {
			return fmt.Errorf("open in %s: %w", m.To, err)
		}
		if err := d.propose("OWNER", slot, m.To); err != nil {
			return fmt.Errorf("OWNER: %w", err)
		}
		d.log.Info("migration: slot moved", "slots", slot, "from", m.From, "to", m.To, "keys", keys, "took", time.Since(start).Round(time.Millisecond))
		return nil
	case placement.PhaseDrop:
		if err := d.drop(from, slot); err != nil {
			return fmt.Errorf("drop in %s: %w", m.From, err)
		}
		return d.propose("DONE", slot)
	}
	return fmt.Errorf("unknown phase %q", m.Phase)
}

// awaitClosed waits until this node's replica of group gi has applied the
// close of slot: from then on its copy of the slot changes no more.
func (d *driver) awaitClosed(gi int, slot uint16, stop <-chan struct{}) error {
	deadline := time.Now().Add(closedWait)
	for command.Owns(d.groups[gi].Engine(), slot) {
		if time.Now().After(deadline) {
			return fmt.Errorf("this node's replica of %s has not applied the close of slot %d in %s", d.layout.IDs[gi], slot, closedWait)
		}
		select {
		case <-stop:
			return errors.New("stopping")
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// drop deletes slot's records in group gi, a batch at a time.
func (d *driver) drop(gi int, slot string) error {
	for {
		r, err := d.apply(gi, "WALKER.SLOT", "DROP", slot, strconv.Itoa(dropBatch))
		if err != nil {
			return err
		}
		if n, ok := r.Int(); !ok || n == 0 {
			return nil
		}
	}
}

// copySlots reads slots start..end from this node's replica of group from
// and imports their keys into group to, about importBytes an entry (a
// read of the replica's engine at a time: its writers wait for each); it
// returns how many keys it sent.
func (d *driver) copySlots(from, to int, start, end uint16) (int, error) {
	keys := 0
	var next []byte
	now := time.Now().UnixMilli()
	for {
		batch := [][]byte{[]byte("WALKER.IMPORT")}
		var err error
		next, err = command.DumpSlots(d.groups[from].Engine(), now, start, end, next, importBytes, func(r command.Record) error {
			batch = append(batch, []byte(strconv.Itoa(r.DB)), r.Key, []byte(strconv.FormatInt(r.Expiry, 10)), r.Payload)
			keys++
			return nil
		})
		if err != nil {
			return keys, err
		}
		if len(batch) > 1 {
			if _, err := d.applyArgs(to, batch); err != nil {
				return keys, err
			}
		}
		if next == nil {
			return keys, nil
		}
	}
}

// apply runs one internal command in data group gi.
func (d *driver) apply(gi int, args ...string) (command.Reply, error) {
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	return d.applyArgs(gi, b)
}

func (d *driver) applyArgs(gi int, args [][]byte) (command.Reply, error) {
	return applyIn(d.fw, d.groups[gi], d.layout.IDs[gi], args)
}

// propose applies one WALKER.PLACE change in the placement group.
func (d *driver) propose(change ...string) error {
	args := [][]byte{[]byte("WALKER.PLACE")}
	for _, a := range change {
		args = append(args, []byte(a))
	}
	_, err := applyIn(d.fw, d.place, placementGroupID, args)
	return err
}

// applyIn applies one command as an entry of its own in group g (named
// group): here when this node leads it, else at its leader over a node
// link. A refusal (an error reply) is err.
func applyIn(fw backend.Forwarder, g interface {
	Apply(*command.Entry) (*command.Result, error)
}, group string, args [][]byte) (command.Reply, error) {
	e := &command.Entry{NowMs: time.Now().UnixMilli(), Cmds: [][][]byte{args}}
	res, err := g.Apply(e)
	var nl *backend.NotLeaderError
	if errors.As(err, &nl) && !nl.Removed && nl.LeaderAddr != "" {
		res, err = server.ApplyAt(fw, nl.LeaderAddr, e, "default", group)
	}
	if err != nil {
		return nil, err
	}
	if res.Error != "" {
		return nil, errors.New(res.Error)
	}
	r := res.Reply()
	if msg, isErr := r.Err(); isErr {
		return nil, errors.New(msg)
	}
	return r, nil
}
