package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
	"github.com/walkerdb/walkerdb/walkerd/placement"
	"github.com/walkerdb/walkerdb/walkerd/server"
	"github.com/walkerdb/walkerdb/walkerd/shard"
)

// The migration driver moves hash slots between data groups, one move (a
// slot or a range of slots) at a time, as the placement state's moves ask
// (WALKER.MIGRATE records one: WALKER.PLACE MOVE). It runs on the
// placement group's leader, and keeps nothing of its own: every step is
// an entry in one of three logs and is idempotent, so a new placement
// leader carries a move on from the state (walkerd/shard/DESIGN.md,
// "Slot migration" and "The ASK phase (as built)"):
//
//	phase copy   T: WALKER.SLOT IMPORTING s S  T takes commands for s sent
//	             (every data-group step ends     with ASKING
//	             with the fence: below)
//	             S: WALKER.SLOT MIGRATING s T  S serves the keys it holds
//	                                           and asks T for the others
//	             S: WALKER.SLOT FREEZE s n     a batch of keys; writes to
//	                                           them wait
//	             (wait until this node's replica of S has applied it: its
//	             copy of the batch is then final)
//	             T: WALKER.IMPORT ...          the batch, read from this
//	                                           node's replica of S, about
//	                                           1 MiB an entry
//	             S: WALKER.SLOT RELEASE s id   S deletes the batch
//	             ... FREEZE again, until it finds no key
//	             S: WALKER.SLOT CLOSE s        S refuses s from here on
//	             T: WALKER.SLOT OPEN s         T serves s
//	             placement: OWNER s T          routing follows
//	phase drop   S: WALKER.SLOT DROP s n ...   until S holds none of s
//	                                           (expired keys, dead
//	                                           sub-keys)
//	             placement: DONE s
//
// A driver deposed in the middle of a step (its node paused or cut off,
// another elected) may still send that step's entries when it wakes. Each
// carries the placement term it was elected in, and each data group keeps
// the highest it has applied: once the new driver's first step lands in a
// group, the old one's are refused there. The new driver's first steps
// are IMPORTING in T and MIGRATING in S, before any RELEASE of its own,
// so a late import of the old driver's batch never lands over a write T
// took for a released key. An import into a slot its target already
// serves is refused whatever its term. And changes of the placement state
// are proposed only where this node leads placement, never forwarded.
//
// The records travel inside T's log entries (not read by each member of
// T from its own replica of S), so T's log alone rebuilds T: a member
// that joins T later replays them, after S has dropped s. Between CLOSE
// and OPEN, a few milliseconds, the slot is served by no group: its
// commands wait on the nodes that took them (walkerd/server/slotmove.go)
// and then run in T.

const (
	// migrateEvery is how often the driver looks for a move to carry out.
	migrateEvery = 100 * time.Millisecond
	// importBytes is about how much of a slot one WALKER.IMPORT carries;
	// a larger key goes alone.
	importBytes = 1 << 20
	// dropBatch is how many records one WALKER.SLOT DROP deletes at most.
	dropBatch = 4096
	// defaultFreezeKeys is --migrate-batch's default: how many keys one
	// batch of the copy takes at most (and about 1 MiB of values:
	// command/moving.go); writes to them wait while the batch is copied.
	defaultFreezeKeys = 512
	// frozenWait bounds the wait for this node's replica of the source
	// to apply a FREEZE.
	frozenWait = 30 * time.Second
)

// servedText and notServedText are in the refusals of steps for slots the
// group serves, or does not serve (command/owner.go, moving.go).
const (
	servedText    = "is served by this group"
	notServedText = "is not served by this group"
)

// driver is the placement leader's migration driver.
type driver struct {
	log   *slog.Logger
	fw    backend.Forwarder
	place interface {
		placeGroup
		Term() uint64
	}
	groups *nodeGroups
	// batch is --migrate-batch: keys a FREEZE takes at most.
	batch int
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
	from, to := shard.GroupIndex(m.From), shard.GroupIndex(m.To)
	if d.groups.get(from) == nil || d.groups.get(to) == nil {
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
		keys := 0
		if err := d.seed(from, to, m.To); err != nil {
			return fmt.Errorf("seeding %s: %w", m.To, err)
		}
		switch _, err := d.apply(to, "WALKER.SLOT", "IMPORTING", slot, m.From, d.fence); {
		case err != nil && strings.Contains(err.Error(), servedText):
			// A driver before this one carried the move through OPEN (a
			// step it sent before it was deposed): go on to OWNER.
			d.log.Info("migration: the target already serves the slots", "slots", slot, "to", m.To)
		case err != nil:
			return fmt.Errorf("importing in %s: %w", m.To, err)
		default:
			switch _, err := d.apply(from, "WALKER.SLOT", "MIGRATING", slot, m.To, d.fence); {
			case err != nil && strings.Contains(err.Error(), notServedText):
				// Closed by a driver before this one: every key is in T.
			case err != nil:
				return fmt.Errorf("migrating in %s: %w", m.From, err)
			default:
				d.log.Info("migration: copying slots; their source asks for the keys it no longer holds", "slots", slot, "from", m.From, "to", m.To)
				if keys, err = d.copyBatches(from, to, slot, stop); err != nil {
					return fmt.Errorf("copy to %s: %w", m.To, err)
				}
				if _, err := d.apply(from, "WALKER.SLOT", "CLOSE", slot, d.fence); err != nil {
					return fmt.Errorf("close in %s: %w", m.From, err)
				}
			}
			if _, err := d.apply(to, "WALKER.SLOT", "OPEN", slot, d.fence); err != nil {
				return fmt.Errorf("open in %s: %w", m.To, err)
			}
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

// seed gives group to, while it owns no slot (a group GROUP ADD made,
// before its first move), the keyless state every data group holds: the
// function libraries (FUNCTION RESTORE ... REPLACE of from's FUNCTION
// DUMP) and the ACL users (WALKER.ACLSET of from's), which FUNCTION LOAD
// and ACL SETUSER write in every group the node runs at the time, so a
// group made later missed those written before it. Scripts (SCRIPT LOAD)
// are not copied: in the new group EVALSHA answers NOSCRIPT until EVAL or
// SCRIPT LOAD runs there, as a Redis Cluster node's script cache is its
// own. Repeating it changes nothing.
func (d *driver) seed(from, to int, toID string) error {
	st, err := command.Placement(d.place.Engine())
	if err != nil {
		return err
	}
	if len(st.Ranges(toID)) > 0 {
		return nil
	}
	src, dst := d.groups.get(from).Engine(), d.groups.get(to).Engine()
	now := time.Now().UnixMilli()
	if libs, _, ok, err := command.FunctionCounts(src, now); err != nil || !ok {
		return fmt.Errorf("reading %s's libraries: %v", shard.GroupID(from), err)
	} else if libs > 0 {
		var rec command.Recorder
		if err := command.FunctionDump(src, now, &rec); err != nil {
			return err
		}
		if len(rec.R) != 1 || rec.R[0].Kind != command.KindBulk {
			return errors.New("FUNCTION DUMP gave no payload")
		}
		if _, err := d.applyArgs(to, [][]byte{[]byte("FUNCTION"), []byte("RESTORE"), rec.R[0].S, []byte("REPLACE")}); err != nil {
			return fmt.Errorf("FUNCTION RESTORE: %w", err)
		}
	}
	users, err := command.ACLUsers(src)
	if err != nil || users == nil {
		return err
	}
	cur, err := command.ACLUsers(dst)
	if err != nil || bytes.Equal(cur, users) {
		return err
	}
	sum := make([]byte, 32) // WALKER.ACLSET's check of what it replaces: none
	if cur != nil {
		h := sha256.Sum256(cur)
		sum = h[:]
	}
	if _, err := d.applyArgs(to, [][]byte{[]byte("WALKER.ACLSET"), users, sum}); err != nil {
		return fmt.Errorf("WALKER.ACLSET: %w", err)
	}
	return nil
}

// awaitFrozen waits until this node's replica of group gi has applied
// the FREEZE of batch id: its copy of the batch's keys is then final.
func (d *driver) awaitFrozen(gi int, id uint64, stop <-chan struct{}) error {
	deadline := time.Now().Add(frozenWait)
	for command.FrozenBatch(d.groups.get(gi).Engine()) != id {
		if time.Now().After(deadline) {
			return fmt.Errorf("this node's replica of %s has not applied batch %d in %s", shard.GroupID(gi), id, frozenWait)
		}
		select {
		case <-stop:
			return errors.New("stopping")
		case <-time.After(time.Millisecond):
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

// copyBatches moves the keys of slots (a slot or first-last) from group
// from to group to, a batch at a time: FREEZE in the source, the batch
// read from this node's replica of it and imported into the target in
// entries of about importBytes, RELEASE in the source. It returns how
// many keys it moved.
func (d *driver) copyBatches(from, to int, slots string, stop <-chan struct{}) (int, error) {
	keys := 0
	for {
		r, err := d.apply(from, "WALKER.SLOT", "FREEZE", slots, strconv.Itoa(max(d.batch, 1)), d.fence)
		if err != nil {
			return keys, fmt.Errorf("freeze: %w", err)
		}
		if len(r) != 3 || r[1].Kind != command.KindInt || r[2].Kind != command.KindInt {
			return keys, fmt.Errorf("freeze: unexpected reply %v", r)
		}
		id, n := uint64(r[1].N), r[2].N
		if n == 0 {
			return keys, nil
		}
		if err := d.awaitFrozen(from, id, stop); err != nil {
			return keys, err
		}
		// Read in one View (writers of the replica wait for it), imported
		// after it.
		var recs []command.Record
		err = command.DumpFrozen(d.groups.get(from).Engine(), time.Now().UnixMilli(), id, func(r command.Record) error {
			recs = append(recs, r)
			return nil
		})
		for len(recs) > 0 && err == nil {
			batch := [][]byte{[]byte("WALKER.IMPORT"), []byte(d.fence)}
			for size := 0; len(recs) > 0 && size < importBytes; recs = recs[1:] {
				r := recs[0]
				batch = append(batch, []byte(strconv.Itoa(r.DB)), r.Key, []byte(strconv.FormatInt(r.Expiry, 10)), r.Payload)
				size += len(r.Key) + len(r.Payload)
			}
			_, err = d.applyArgs(to, batch)
		}
		if err != nil {
			return keys, fmt.Errorf("import of batch %d: %w", id, err)
		}
		if _, err := d.apply(from, "WALKER.SLOT", "RELEASE", slots, strconv.FormatUint(id, 10), d.fence); err != nil {
			return keys, fmt.Errorf("release of batch %d: %w", id, err)
		}
		keys += int(n)
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
	st := d.groups.get(gi)
	if st == nil {
		return nil, fmt.Errorf("group %s is not open on this node", shard.GroupID(gi))
	}
	return applyIn(d.fw, st, shard.GroupID(gi), args)
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
