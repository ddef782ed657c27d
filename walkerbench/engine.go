package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/walkerdb/walkerdb/engine"
)

// engineRun is one sync mode in engine mode: an open DB and the keyspace
// the run writes.
type engineRun struct {
	w      *workload
	tg     target
	db     *engine.DB
	ks     *keyspace
	filled atomic.Int64 // keys the prefill has written
}

// engineClient is one goroutine calling the engine, with its buffers.
type engineClient struct {
	id     int
	run    *engineRun
	ck     checker
	key    []byte
	value  []byte
	keys   [][]byte // batch: one buffer per put
	vals   [][]byte
	picked []int
	batch  engine.Batch
}

// runEngine opens the engine in tg.addr (a new temporary directory if
// empty, removed afterwards) with tg's sync mode and runs every test of w
// in process, one after another.
func runEngine(ctx context.Context, w *workload, tg target, prog *progress) (results []*Result, err error) {
	mode, err := engine.ParseSyncMode(tg.sync)
	if err != nil {
		return nil, err
	}
	dir := tg.addr
	if dir == "" {
		if dir, err = os.MkdirTemp("", "walkerbench-"+tg.sync+"-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	}
	db, err := engine.Open(dir, &engine.Options{Sync: mode})
	if err != nil {
		return nil, fmt.Errorf("engine in %s: %w", dir, err)
	}
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("engine close: %w", cerr)
		}
	}()
	tg.addr = dir
	r := &engineRun{w: w, tg: tg, db: db, ks: newKeyspace(w.prefix, w.keys, w.keySize, false)}
	prefill := false
	for _, t := range w.tests {
		prefill = prefill || w.prefill && wantsPrefill(t)
	}
	if prefill {
		stop := prog.count(tg.name+": prefill", "keys", int64(w.keys), r.filled.Load)
		err := r.prefill()
		stop()
		if err != nil {
			return nil, fmt.Errorf("prefill: %w", err)
		}
	}
	clients := make([]*engineClient, w.clients)
	for i := range clients {
		clients[i] = &engineClient{id: i, run: r, ck: checker{w: w, ks: r.ks}}
	}
	for _, test := range w.tests {
		if ctx.Err() != nil {
			break
		}
		body := func(ph *phase, client int) { clients[client].loop(ph, newChooser(w, r.ks, test, client)) }
		var warm *Result
		if w.warmup > 0 {
			warm = runPhase(ctx, w, tg, test, true, prog, body)
		}
		res := runPhase(ctx, w, tg, test, false, prog, body)
		res.addWarmup(warm)
		if test == "batch" {
			res.Notes = append(res.Notes, fmt.Sprintf("a request is one Write of %d puts", w.batchSize))
		}
		results = append(results, res)
	}
	return results, nil
}

// engineDir is where a sync mode's DB lives: dir itself for one mode,
// dir/<mode> for several, or "" for a temporary directory.
func engineDir(dir, mode string, modes int) string {
	if dir == "" || modes == 1 {
		return dir
	}
	return filepath.Join(dir, mode)
}

// prefill writes every key once in batches of 1000. It is not measured.
func (r *engineRun) prefill() error {
	var b engine.Batch
	for lo := 0; lo < r.w.keys; lo += 1000 {
		b.Reset()
		hi := min(lo+1000, r.w.keys)
		// Keys and values go into two buffers made big enough at once:
		// the batch holds slices of them until Write returns.
		kbuf := make([]byte, 0, (hi-lo)*r.ks.keyLen())
		vbuf := make([]byte, 0, (hi-lo)*r.w.valueSize)
		for k := lo; k < hi; k++ {
			ks := len(kbuf)
			kbuf = r.ks.appendKey(kbuf, k)
			vs := len(vbuf)
			vbuf = appendValue(vbuf, r.w.valueSize, keySum(kbuf[ks:]), r.ks.issue(k))
			b.Put(kbuf[ks:], vbuf[vs:])
		}
		if err := r.db.Write(&b); err != nil {
			return err
		}
		for k := lo; k < hi; k++ {
			r.ks.acked(k)
		}
		r.filled.Store(int64(hi))
	}
	return nil
}

// loop calls the engine until the phase ends: back to back (closed
// loop), or each call when it is due (open loop, latency from when it
// was due).
func (ec *engineClient) loop(ph *phase, ch *chooser) {
	st, id := ph.st, ec.id
	ctr, sh := &st.clients[id], st.shardOf(id)
	var lats [64]int64
	var nl, ok, n int64
	flush := func() {
		sh.mu.Lock()
		for _, l := range lats[:nl] {
			sh.record(l)
		}
		sh.mu.Unlock()
		ctr.replies.Add(n)
		ctr.ok.Add(ok)
		nl, ok, n = 0, 0, 0
	}
	var pc *pacer
	if ph.period > 0 {
		pc = newPacer()
		defer pc.close()
	}
	// A closed-loop client claims calls from the phase a few at a time.
	const chunk = 16
	claimed := 0
	for k := 0; ; k++ {
		var start int64
		if pc != nil {
			t := ph.due(id, k)
			if t < 0 {
				break
			}
			pc.waitUntil(t)
			sent := now()
			start = min(t, sent) // from when it was due, or sent if early
			sh.mu.Lock()
			sh.lag.RecordValue(max(sent-t, 1))
			sh.mu.Unlock()
		} else {
			if claimed == 0 {
				if claimed = ph.claim(chunk); claimed == 0 {
					break
				}
			}
			claimed--
		}
		ctr.requests.Add(1)
		p := ch.next()
		if pc == nil {
			start = now()
		}
		right := ec.do(st, ctr, &p, ch)
		lats[nl] = now() - start
		nl++
		n++
		if right {
			ok++
		}
		if nl == int64(len(lats)) {
			flush()
		}
	}
	flush()
}

// do makes one engine call for p and judges its outcome.
func (ec *engineClient) do(st *stats, ctr *counters, p *pending, ch *chooser) bool {
	r := ec.run
	ks, size := r.ks, r.w.valueSize
	var err error
	var pr problem
	switch p.kind {
	case opSet:
		ec.key = ks.appendKey(ec.key[:0], p.key)
		ec.value = appendValue(ec.value[:0], size, keySum(ec.key), p.ver)
		if err = r.db.Put(ec.key, ec.value); err == nil {
			ks.acked(p.key)
		}
	case opGet:
		ec.key = ks.appendKey(ec.key[:0], p.key)
		var v []byte
		v, err = r.db.Get(ec.key)
		null := errors.Is(err, engine.ErrNotFound)
		if null {
			err = nil
		}
		if err == nil {
			pr = ec.ck.checkValue(p, v, null)
		}
	case opDelete:
		ec.key = ks.appendKey(ec.key[:0], p.key)
		err = r.db.Delete(ec.key)
	case opBatch:
		n := r.w.batchSize
		for len(ec.keys) < n {
			ec.keys, ec.vals = append(ec.keys, nil), append(ec.vals, nil)
		}
		picked := ec.picked[:0]
		ec.batch.Reset()
		for i := range n {
			k := ch.pick.key()
			if i == 0 {
				k = p.key
			}
			picked = append(picked, k)
			ec.keys[i] = ks.appendKey(ec.keys[i][:0], k)
			ec.vals[i] = appendValue(ec.vals[i][:0], size, keySum(ec.keys[i]), ks.issue(k))
			ec.batch.Put(ec.keys[i], ec.vals[i])
		}
		ec.picked = picked
		if err = r.db.Write(&ec.batch); err == nil {
			for _, k := range picked {
				ks.acked(k)
			}
		}
	}
	switch {
	case err != nil:
		st.fail(ctr, "engine: "+engineErrKind(err), 1, fmt.Sprintf("%s: %v", kindName(p.kind), err))
		return false
	case pr.kind != "":
		st.fail(ctr, "mismatch: "+pr.kind, 1, ec.ck.example(p, pr))
		return false
	}
	return true
}

// engineErrKind names an engine error by the sentinel it wraps.
func engineErrKind(err error) string {
	for _, s := range []error{engine.ErrCorruption, engine.ErrClosed, engine.ErrKeyTooLarge, engine.ErrValueTooLarge, engine.ErrBatchTooLarge} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return "other error"
}
