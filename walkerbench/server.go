package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/walkerdb/walkerdb/internal/resp"
)

// serverRun is one target in server mode: a connection per client and
// the keyspace the run writes.
type serverRun struct {
	w       *workload
	tg      target
	ks      *keyspace
	clients []*serverClient
	filled  atomic.Int64 // keys the prefill has had answered
}

// serverClient is one connection and what it has in flight.
type serverClient struct {
	id   int
	run  *serverRun
	c    *conn
	ck   checker
	dead bool

	// closed loop
	wbuf []byte
	pend []pending
	keys []int // keys of the msets in pend
	lats []int64
}

// runServer runs every test of w against tg, one after another, on the
// same connections.
func runServer(ctx context.Context, w *workload, tg target, prog *progress) ([]*Result, error) {
	counters := false
	for _, t := range w.tests {
		counters = counters || t == "incr"
	}
	r := &serverRun{w: w, tg: tg, ks: newKeyspace(w.prefix, w.keys, w.keySize, counters)}
	defer r.close()
	for i := range w.clients {
		c, err := dial(tg.addr, w)
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", tg.name, err)
		}
		r.clients = append(r.clients, &serverClient{id: i, run: r, c: c, ck: checker{w: w, ks: r.ks}})
	}
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("target %s: %w", tg.name, err)
	}
	prefill := false
	for _, t := range w.tests {
		prefill = prefill || w.prefill && wantsPrefill(t)
	}
	var prefillNotes []string
	if prefill {
		stop := prog.count(tg.name+": prefill", "keys", int64(w.keys), r.filled.Load)
		unknown, err := r.prefill(ctx)
		stop()
		if err != nil {
			return nil, fmt.Errorf("target %s: prefill: %w", tg.name, err)
		}
		if unknown > 0 {
			prefillNotes = append(prefillNotes, fmt.Sprintf("prefill: %s SETs of unknown outcome (-UNKNOWN: the leader was lost while they were in flight); reads accept those keys missing", commas(unknown)))
		}
	}
	var results []*Result
	for _, test := range w.tests {
		if ctx.Err() != nil {
			break
		}
		var warm *Result
		if w.warmup > 0 {
			warm = runPhase(ctx, w, tg, test, true, prog, r.body(test))
		}
		res := runPhase(ctx, w, tg, test, false, prog, r.body(test))
		res.addWarmup(warm)
		if w.level != "" && (test == "get" || test == "mixed") {
			res.Notes = append(res.Notes, "reads are "+levelNames[w.level])
		}
		if len(results) == 0 {
			res.Notes = append(prefillNotes, res.Notes...)
		}
		results = append(results, res)
	}
	return results, nil
}

func (r *serverRun) close() {
	for _, sc := range r.clients {
		sc.c.close()
	}
}

// check sends the first client's PING, and one read as the test will send
// it, so that a wrong address, password or level fails at once and
// clearly rather than as a run of errors.
func (r *serverRun) check() error {
	var rp reply
	c := r.clients[0].c
	if err := c.do(&rp, "PING"); err != nil {
		return err
	}
	if rp.Kind == '-' {
		return fmt.Errorf("PING: %s", rp.Str)
	}
	if r.w.level != "" {
		if err := c.do(&rp, "LEVELGET", string(r.ks.prefix)+"probe", r.w.level); err != nil {
			return err
		}
		if rp.Kind == '-' {
			return fmt.Errorf("LEVELGET (for --level): %s", rp.Str)
		}
	}
	return nil
}

// prefill writes every key once, pipelined over all connections, so that
// reads find values. It is not measured. A SET answered -UNKNOWN (walkerd
// lost its leader with the write in flight) may or may not have been
// applied: it is counted in unknown, its key is not taken as written, and
// the prefill goes on. Any other answer but +OK ends it.
func (r *serverRun) prefill(ctx context.Context) (unknown int64, err error) {
	const chunk = 128
	n, cs := r.w.keys, len(r.clients)
	errs := make([]error, cs)
	var unknowns atomic.Int64
	var wg sync.WaitGroup
	for i, sc := range r.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rp reply
			var buf []byte
			for lo := i * n / cs; lo < (i+1)*n/cs && ctx.Err() == nil; lo += chunk {
				hi := min(lo+chunk, (i+1)*n/cs)
				buf = buf[:0]
				for k := lo; k < hi; k++ {
					buf = sc.encode(buf, &pending{kind: opSet, key: k, ver: r.ks.issue(k)}, nil, nil)
				}
				if err := sc.c.write(buf); err != nil {
					errs[i] = err
					return
				}
				for k := lo; k < hi; k++ {
					if err := sc.c.read(&rp); err != nil {
						errs[i] = err
						return
					}
					switch {
					case isOK(&rp):
						r.ks.acked(k)
					case isUnknown(&rp):
						unknowns.Add(1)
					default:
						errs[i] = fmt.Errorf("SET answered %c%s", rp.Kind, rp.Str)
						return
					}
				}
				r.filled.Add(int64(hi - lo))
			}
		}()
	}
	wg.Wait()
	return unknowns.Load(), errors.Join(errs...)
}

// body returns what each client does in a phase of test.
func (r *serverRun) body(test string) func(ph *phase, client int) {
	return func(ph *phase, client int) {
		sc := r.clients[client]
		if sc.dead {
			// Its connection failed in an earlier phase: try once more.
			c, err := dial(r.tg.addr, r.w)
			if err != nil {
				if r.w.rate > 0 {
					// Its share of the schedule is never sent.
					ctr := &ph.st.clients[client]
					n := ph.remaining(client, 0)
					ctr.requests.Add(n)
					ph.st.fail(ctr, "io: not sent, connection lost", n, "")
				}
				return
			}
			sc.c, sc.dead = c, false
		}
		ch := newChooser(r.w, r.ks, test, client)
		if r.w.rate > 0 {
			sc.openLoop(ph, ch)
		} else {
			sc.closedLoop(ph, ch)
		}
	}
}

// encode appends p as a command. For an mset it picks the keys with ch
// and appends them to keys.
func (sc *serverClient) encode(b []byte, p *pending, ch *chooser, keys *[]int) []byte {
	w, ks := sc.run.w, sc.run.ks
	switch p.kind {
	case opGet:
		if w.level == "" {
			b = append(b, "*2\r\n$3\r\nGET\r\n"...)
		} else {
			b = append(b, "*3\r\n$8\r\nLEVELGET\r\n"...)
		}
		b = resp.AppendBulkHeader(b, ks.keyLen())
		b = append(ks.appendKey(b, p.key), '\r', '\n')
		if w.level != "" {
			b = resp.AppendBulkString(b, w.level)
		}
	case opSet:
		b = append(b, "*3\r\n$3\r\nSET\r\n"...)
		b = sc.appendPair(b, p.key, p.ver)
	case opIncr:
		b = append(b, "*2\r\n$4\r\nINCR\r\n"...)
		b = resp.AppendBulkHeader(b, ks.keyLen()+2)
		b = append(ks.appendCounter(b, p.key), '\r', '\n')
	case opMset:
		p.keys = len(*keys)
		b = resp.AppendArray(b, 1+2*w.msetKeys)
		b = append(b, "$4\r\nMSET\r\n"...)
		for range w.msetKeys {
			k := ch.pick.key()
			*keys = append(*keys, k)
			b = sc.appendPair(b, k, ks.issue(k))
		}
	}
	return b
}

// appendPair appends key i and the value of version ver, as two bulk strings.
func (sc *serverClient) appendPair(b []byte, i int, ver uint64) []byte {
	ks, size := sc.run.ks, sc.run.w.valueSize
	b = resp.AppendBulkHeader(b, ks.keyLen())
	start := len(b)
	b = ks.appendKey(b, i)
	sum := keySum(b[start:])
	b = append(b, '\r', '\n')
	b = resp.AppendBulkHeader(b, size)
	b = appendValue(b, size, sum, ver)
	return append(b, '\r', '\n')
}

// judge checks one reply to p and counts it if wrong; it reports whether
// the reply was right. keys holds the keys of msets.
func (sc *serverClient) judge(st *stats, ctr *counters, p *pending, rp *reply, keys []int) bool {
	if isUnknown(rp) {
		// Neither right nor wrong: the write may or may not have been
		// applied, and the keyspace allows for both (its version was
		// issued, it is not marked acknowledged).
		st.unknown(ctr, 1)
		return false
	}
	if rp.Kind == '-' {
		st.fail(ctr, errorKind(rp.Str), 1, "")
		return false
	}
	ks := sc.run.ks
	var pr problem
	switch p.kind {
	case opGet:
		if rp.Kind == '$' {
			pr = sc.ck.checkValue(p, rp.Str, rp.Null)
		} else {
			pr = unexpected(rp)
		}
	case opSet:
		if isOK(rp) {
			ks.acked(p.key)
		} else {
			pr = unexpected(rp)
		}
	case opIncr:
		if rp.Kind == ':' {
			pr = sc.ck.checkIncr(p, rp.Int)
		} else {
			pr = unexpected(rp)
		}
	case opMset:
		if isOK(rp) {
			for _, k := range keys[p.keys : p.keys+sc.run.w.msetKeys] {
				ks.acked(k)
			}
		} else {
			pr = unexpected(rp)
		}
	}
	if pr.kind != "" {
		st.fail(ctr, "mismatch: "+pr.kind, 1, sc.ck.example(p, pr))
		return false
	}
	return true
}

func isOK(rp *reply) bool { return rp.Kind == '+' && string(rp.Str) == "OK" }

// isUnknown reports whether rp is walkerd's -UNKNOWN error: the leader was
// lost while the write was in flight, so it may or may not have been
// applied (and walkerd never retries it).
func isUnknown(rp *reply) bool { return rp.Kind == '-' && bytes.HasPrefix(rp.Str, []byte("UNKNOWN")) }

func unexpected(rp *reply) problem {
	return problem{"unexpected reply type", fmt.Sprintf("reply %c%.40q", rp.Kind, rp.Str)}
}

// fail stops the client after a connection error: n requests sent and
// not answered count as lost.
func (sc *serverClient) fail(st *stats, ctr *counters, n int64, err error) {
	if n > 0 {
		st.fail(ctr, ioKind(err), n, "")
	}
	sc.dead = true
	sc.c.close()
}

// closedLoop sends a pipeline of requests, reads every reply, and starts
// over, until the phase ends. Each reply's latency runs from the write of
// its pipeline to the read that completed it.
func (sc *serverClient) closedLoop(ph *phase, ch *chooser) {
	st := ph.st
	ctr, sh := &st.clients[sc.id], st.shardOf(sc.id)
	P := sc.run.w.pipeline
	if cap(sc.lats) < P {
		sc.lats = make([]int64, P)
	}
	var rp reply
	for {
		n := ph.claim(P)
		if n == 0 {
			return
		}
		b, pend, keys := sc.wbuf[:0], sc.pend[:0], sc.keys[:0]
		for range n {
			p := ch.next()
			b = sc.encode(b, &p, ch, &keys)
			pend = append(pend, p)
		}
		sc.wbuf, sc.pend, sc.keys = b, pend, keys
		start := now()
		ctr.requests.Add(int64(n))
		if err := sc.c.write(b); err != nil {
			sc.fail(st, ctr, int64(n), err)
			return
		}
		ok, got := 0, 0
		var rerr error
		for i := range pend {
			if rerr = sc.c.read(&rp); rerr != nil {
				break
			}
			got++
			sc.lats[i] = rp.at - start
			if sc.judge(st, ctr, &pend[i], &rp, keys) {
				ok++
			}
		}
		sh.mu.Lock()
		for _, l := range sc.lats[:got] {
			sh.record(l)
		}
		sh.mu.Unlock()
		ctr.replies.Add(int64(got))
		ctr.ok.Add(int64(ok))
		if rerr != nil {
			sc.fail(st, ctr, int64(n-got), rerr)
			return
		}
	}
}

// obatch is one write of an open-loop client and its requests.
type obatch struct {
	buf  []byte
	pend []pending
	keys []int
	lats []int64
}

// openLoop sends each request when it is due, whatever the replies are
// doing, and a second goroutine reads the replies. A reply's latency runs
// from when its request was due (or sent, if sent early), so a stall of
// the server counts against every request that should have been sent
// during it: coordinated omission is not hidden.
func (sc *serverClient) openLoop(ph *phase, ch *chooser) {
	st := ph.st
	ctr, sh := &st.clients[sc.id], st.shardOf(sc.id)
	P := sc.run.w.pipeline
	const depth = 4096
	q, free := make(chan *obatch, depth), make(chan *obatch, depth)
	var dead atomic.Bool
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		sc.readReplies(st, ctr, sh, q, free, &dead)
	}()
	pc := newPacer()
	defer pc.close()
	k := 0
	for {
		t := ph.due(sc.id, k)
		if t < 0 {
			break
		}
		if dead.Load() {
			n := ph.remaining(sc.id, k)
			ctr.requests.Add(n)
			st.fail(ctr, "io: not sent, connection lost", n, "")
			break
		}
		pc.waitUntil(t)
		var ob *obatch
		select {
		case ob = <-free:
		default:
			ob = &obatch{}
		}
		ob.buf, ob.pend, ob.keys = ob.buf[:0], ob.pend[:0], ob.keys[:0]
		horizon := now() + int64(earlySend)
		for len(ob.pend) < P {
			t := ph.due(sc.id, k)
			if t < 0 || t > horizon {
				break
			}
			p := ch.next()
			ob.buf = sc.encode(ob.buf, &p, ch, &ob.keys)
			p.start = t
			ob.pend = append(ob.pend, p)
			k++
		}
		if len(ob.pend) == 0 {
			continue
		}
		sent := now()
		sh.mu.Lock()
		for i := range ob.pend {
			p := &ob.pend[i]
			if p.start > sent {
				p.start = sent
			}
			sh.lag.RecordValue(max(sent-p.start, 1))
		}
		sh.mu.Unlock()
		ctr.requests.Add(int64(len(ob.pend)))
		q <- ob
		if err := sc.c.write(ob.buf); err != nil {
			dead.Store(true)
			sc.c.close() // the reader counts what was in flight
		}
	}
	close(q)
	<-readerDone
	if dead.Load() {
		sc.dead = true
	}
}

// readReplies is an open-loop client's reader.
func (sc *serverClient) readReplies(st *stats, ctr *counters, sh *shard, q <-chan *obatch, free chan<- *obatch, dead *atomic.Bool) {
	var rp reply
	var rerr error
	for ob := range q {
		if rerr != nil {
			st.fail(ctr, ioKind(rerr), int64(len(ob.pend)), "")
			continue
		}
		if cap(ob.lats) < len(ob.pend) {
			ob.lats = make([]int64, len(ob.pend))
		}
		ok, got := 0, 0
		for i := range ob.pend {
			if rerr = sc.c.read(&rp); rerr != nil {
				dead.Store(true)
				sc.c.close()
				break
			}
			got++
			ob.lats[i] = rp.at - ob.pend[i].start
			if sc.judge(st, ctr, &ob.pend[i], &rp, ob.keys) {
				ok++
			}
		}
		sh.mu.Lock()
		for _, l := range ob.lats[:got] {
			sh.record(l)
		}
		sh.mu.Unlock()
		ctr.replies.Add(int64(got))
		ctr.ok.Add(int64(ok))
		if rerr != nil {
			st.fail(ctr, ioKind(rerr), int64(len(ob.pend)-got), "")
		}
		select {
		case free <- ob:
		default:
		}
	}
}
