package main

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
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
// (WALKER.MIGRATE records one: WALKER.PLACE MOVE). It runs on the
// placement group's leader, and keeps nothing of its own: every step is
// an entry in one of three logs and is
// idempotent, so a new placement leader carries a move on from the state
// (walkerd/shard/DESIGN.md, "The first migration (as built)"):
//
//	phase copy   S: WALKER.SLOT CLOSE s        S refuses s from here on
//	             (every data-group step ends with the fence: below)
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
// A driver deposed in the middle of a step (its node paused or cut off,
// another elected) may still send that step's entries when it wakes. Each
// carries the placement term it was elected in, and each data group keeps
// the highest it has applied: once the new driver's first step lands in a
// group, the old one's are refused there. An import into a slot its
// target already serves is refused whatever its term. And changes of the
// placement state are proposed only where this node leads placement,
// never forwarded.
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

// servedText is in WALKER.SLOT DROP's refusal of slots the group serves.
const servedText = "is served by this group"

// driver is the placement leader's migration driver.
type driver struct {
	log   *slog.Logger
	fw    backend.Forwarder
	place interface {
		placeGroup
		Term() uint64
	}
	groups []*store.Store
	layout shard.Layout
	// fence is the placement term of the step running: every data-group
	// step carries it (command/owner.go), so that a driver deposed
	// mid-step (paused, cut off) cannot undo its successor's work.
	fence string
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
	d.fence = strconv.FormatUint(d.place.Term(), 10)
	if !d.place.IsLeader() {
		return errors.New("not the placement leader")
	}
	switch m.Phase {
	case placement.PhaseCopy:
		start := time.Now()
		if _, err := d.apply(from, "WALKER.SLOT", "CLOSE", slot, d.fence); err != nil {
			return fmt.Errorf("close in %s: %w", m.From, err)
		}
		if err := d.awaitClosed(from, m.Slot, stop); err != nil {
			return err
		}
		d.log.Info("migration: slot closed in its source; copying it", "slots", slot, "from", m.From, "to", m.To)
		keys := 0
		switch err := d.drop(to, slot); {
		case err != nil && strings.Contains(err.Error(), servedText):
			// A driver before this one copied the slots whole and opened
			// them (a step it sent before it was deposed): go on to OWNER.
			d.log.Info("migration: the target already serves the slots", "slots", slot, "to", m.To)
		case err != nil:
			return fmt.Errorf("clearing %s: %w", m.To, err)
		default:
			if keys, err = d.copySlots(from, to, m.Slot, m.End); err != nil {
				return fmt.Errorf("copy to %s: %w", m.To, err)
			}
		}
		if _, err := d.apply(to, "WALKER.SLOT", "OPEN", slot, d.fence); err != nil {
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
		r, err := d.apply(gi, "WALKER.SLOT", "DROP", slot, strconv.Itoa(dropBatch), d.fence)
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
		batch := [][]byte{[]byte("WALKER.IMPORT"), []byte(d.fence)}
		var err error
		next, err = command.DumpSlots(d.groups[from].Engine(), now, start, end, next, importBytes, func(r command.Record) error {
			batch = append(batch, []byte(strconv.Itoa(r.DB)), r.Key, []byte(strconv.FormatInt(r.Expiry, 10)), r.Payload)
			keys++
			return nil
		})
		if err != nil {
			return keys, err
		}
		if len(batch) > 2 {
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

// propose applies one WALKER.PLACE change in the placement group, here
// only: a driver that no longer leads placement changes nothing there.
func (d *driver) propose(change ...string) error {
	args := [][]byte{[]byte("WALKER.PLACE")}
	for _, a := range change {
		args = append(args, []byte(a))
	}
	_, err := applyIn(nil, d.place, placementGroupID, args)
	return err
}

// applyIn applies one command as an entry of its own in group g (named
// group): here when this node leads it, else at its leader over a node
// link (fw nil: here only). A refusal (an error reply) is err.
func applyIn(fw backend.Forwarder, g interface {
	Apply(*command.Entry) (*command.Result, error)
}, group string, args [][]byte) (command.Reply, error) {
	e := &command.Entry{NowMs: time.Now().UnixMilli(), Cmds: [][][]byte{args}}
	res, err := g.Apply(e)
	var nl *backend.NotLeaderError
	if errors.As(err, &nl) && !nl.Removed && nl.LeaderAddr != "" && fw != nil {
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
