package chaos

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
)

// Streams is the stream consumer-group workload: clients XADD unique
// tokens with "*" IDs to a few streams, and consume them as members of one
// consumer group "g" (XREADGROUP ... >), acknowledging most deliveries
// (XACK) and re-claiming entries left pending longer than ClaimIdle
// (XAUTOCLAIM), through every node. After the faults stop, a final
// consumer drains every stream (XREADGROUP > until empty, then XAUTOCLAIM
// with no idle floor, acknowledging everything), and the streams and the
// group state are read from every node. The checkers:
//
//   - IDs: every acknowledged XADD's ID is unique, and IDs grow in real
//     time (an XADD that returned before another was called has the
//     smaller ID): IDs come from the log entry's clock and never go back,
//     across failovers too.
//   - entries: the final stream holds every acknowledged XADD at its ID
//     with its token, no token twice, nothing never sent and nothing whose
//     XADD failed; every node reads the same entries.
//   - delivery: no entry is delivered twice through ">" (re-claims
//     excepted), every delivery carries the entry's own token, and after
//     the drain every entry was delivered, nothing is left pending, and
//     every node reports the same group state. An entry delivered to a
//     consumer whose XACK was lost stays pending (replicated state) until
//     a claim takes it: a failover must not drop it.
type Streams struct {
	Keys      int           // streams; zero: 2
	ClaimIdle time.Duration // XAUTOCLAIM's min-idle-time; zero: 2s

	mu    sync.Mutex
	ready map[string]bool // streams whose group exists
}

const streamGroup = "g"

func (w *Streams) Name() string { return "streams" }

func (w *Streams) Clients(n int) int { return n + 1 }

func (w *Streams) keys() int { return orInt(w.Keys, 2) }

func (w *Streams) claimIdle() time.Duration {
	if w.ClaimIdle <= 0 {
		return 2 * time.Second
	}
	return w.ClaimIdle
}

func streamKey(i int) string { return "xs:" + strconv.Itoa(i) }

// ensureGroup creates the group (and the stream) once; BUSYGROUP means
// another client did.
func (w *Streams) ensureGroup(cl *Conn, key string) bool {
	w.mu.Lock()
	if w.ready == nil {
		w.ready = map[string]bool{}
	}
	done := w.ready[key]
	w.mu.Unlock()
	if done {
		return true
	}
	v, err := cl.C.Do1("XGROUP", "CREATE", key, streamGroup, "0", "MKSTREAM")
	if err != nil || (v.Kind == resp.KindError && errPrefix(string(v.Str)) != "BUSYGROUP") {
		cl.pace(true)
		return false
	}
	w.mu.Lock()
	w.ready[key] = true
	w.mu.Unlock()
	return true
}

func (w *Streams) Step(cl *Conn) {
	key := streamKey(cl.Rand.IntN(w.keys()))
	if !w.ensureGroup(cl, key) {
		return
	}
	consumer := "c" + strconv.Itoa(cl.ID)
	switch r := cl.Rand.IntN(100); {
	case r < 50:
		op := &Op{Kind: "xadd", Key: key, Value: cl.nextToken()}
		vs, err := cl.do(op, []string{"XADD", key, "*", "tok", op.Value})
		v := first(vs)
		if err == nil && v.Kind == resp.KindBulk {
			op.Result = string(v.Str)
		}
		cl.recordWrite(op, v, err)
	case r < 88:
		op := &Op{Kind: "xreadgroup", Key: key, Value: consumer}
		vs, err := cl.do(op, []string{"XREADGROUP", "GROUP", streamGroup, consumer, "COUNT", "5", "STREAMS", key, ">"})
		v := first(vs)
		if err == nil && v.Kind != resp.KindError {
			op.Results = deliveredEntries(v)
		}
		w.finish(cl, op, v, err)
	default:
		op := &Op{Kind: "xautoclaim", Key: key, Value: consumer}
		idle := strconv.FormatInt(w.claimIdle().Milliseconds(), 10)
		vs, err := cl.do(op, []string{"XAUTOCLAIM", key, streamGroup, consumer, idle, "0-0", "COUNT", "5"})
		v := first(vs)
		if err == nil && v.Kind == resp.KindArray && len(v.Elems) >= 2 {
			op.Results = entriesOf(v.Elems[1])
		}
		w.finish(cl, op, v, err)
	}
}

// finish records a delivering op (XREADGROUP, XAUTOCLAIM) and
// acknowledges most of what it delivered (a fifth stays pending, for the
// claims to find).
func (w *Streams) finish(cl *Conn, op *Op, v resp.Value, err error) {
	if err == nil && v.Kind != resp.KindError && !v.Null && v.Kind != resp.KindArray {
		op.Outcome, op.Err = Fail, "unexpected reply "+v.String()
		cl.env.History.Add(op)
		return
	}
	// A delivery is a write: an unknown outcome may have delivered
	// entries this client never saw (they stay pending).
	cl.recordWrite(op, v, err)
	if op.Outcome != OK || len(op.Results) == 0 || cl.Rand.IntN(5) == 0 {
		return
	}
	ack := &Op{Kind: "xack", Key: op.Key, Value: op.Value}
	cmd := []string{"XACK", op.Key, streamGroup}
	for _, e := range op.Results {
		id, _, _ := strings.Cut(e, "=")
		cmd = append(cmd, id)
		ack.Results = append(ack.Results, id)
	}
	vs, err := cl.do(ack, cmd)
	av := first(vs)
	if err == nil && av.Kind == resp.KindInt {
		ack.Int = av.Int
	}
	cl.recordWrite(ack, av, err)
}

// entriesOf reads a list of stream entries ([id, [field, value]]) as
// "id=token" strings; an entry whose fields are gone (nil) reads "id=".
func entriesOf(v resp.Value) []string {
	var out []string
	for _, e := range v.Elems {
		if len(e.Elems) < 1 {
			continue
		}
		tok := ""
		if len(e.Elems) > 1 && len(e.Elems[1].Elems) >= 2 {
			tok = string(e.Elems[1].Elems[1].Str)
		}
		out = append(out, string(e.Elems[0].Str)+"="+tok)
	}
	return out
}

// deliveredEntries reads XREADGROUP's reply ([[key, entries]] or null).
func deliveredEntries(v resp.Value) []string {
	var out []string
	for _, s := range v.Elems {
		if len(s.Elems) == 2 {
			out = append(out, entriesOf(s.Elems[1])...)
		}
	}
	return out
}

// Final drains every stream as consumer "final" through any node that
// answers, then reads each stream and its group from every node.
func (w *Streams) Final(env *Env) error {
	var keys []string
	for _, k := range opKeys(env.History.Ops(), w.Name()) {
		if strings.HasPrefix(k, "xs:") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	clients := make([]*Client, len(env.Cluster.Nodes))
	for i, n := range env.Cluster.Nodes {
		clients[i] = NewClient(n.RESP, 10*time.Second)
		defer clients[i].Close()
	}
	// do runs one drain command on whichever node answers, recording it.
	do := func(kind, key string, cmd ...string) (resp.Value, error) {
		var last error
		for try := 0; try < 60; try++ {
			i := try % len(clients)
			op := &Op{Client: -1, Node: i, Workload: w.Name(), Kind: kind, Key: key, Value: "final", Call: env.History.Now()}
			v, err := clients[i].Do1(cmd...)
			op.Return = env.History.Now()
			if err == nil && v.Kind != resp.KindError {
				op.Outcome = OK
				switch kind {
				case "xreadgroup":
					op.Results = deliveredEntries(v)
				case "xautoclaim":
					if len(v.Elems) >= 2 {
						op.Results = entriesOf(v.Elems[1])
					}
				}
				env.History.Add(op)
				return v, nil
			}
			// Failed or unknown: an unknown delivery stays pending and the
			// claims below take it.
			op.Outcome, op.Return = Unknown, -1
			if err != nil {
				op.Err = err.Error()
			} else {
				op.Err = string(v.Str)
			}
			env.History.Add(op)
			last = fmt.Errorf("%s %s: %v %s", kind, key, err, v.Str)
			time.Sleep(100 * time.Millisecond)
		}
		return resp.Value{}, last
	}
	ackAll := func(key string, entries []string) error {
		if len(entries) == 0 {
			return nil
		}
		cmd := []string{"XACK", key, streamGroup}
		for _, e := range entries {
			id, _, _ := strings.Cut(e, "=")
			cmd = append(cmd, id)
		}
		_, err := do("xack", key, cmd...)
		return err
	}
	for _, key := range keys {
		for {
			v, err := do("xreadgroup", key, "XREADGROUP", "GROUP", streamGroup, "final", "COUNT", "100", "STREAMS", key, ">")
			if err != nil {
				return err
			}
			got := deliveredEntries(v)
			if err := ackAll(key, got); err != nil {
				return err
			}
			if len(got) == 0 {
				break
			}
		}
		for cursor := "0-0"; ; {
			v, err := do("xautoclaim", key, "XAUTOCLAIM", key, streamGroup, "final", "0", cursor, "COUNT", "100")
			if err != nil {
				return err
			}
			if len(v.Elems) < 2 {
				return fmt.Errorf("XAUTOCLAIM %s: reply %s", key, v)
			}
			if err := ackAll(key, entriesOf(v.Elems[1])); err != nil {
				return err
			}
			if cursor = string(v.Elems[0].Str); cursor == "0-0" {
				break
			}
		}
	}
	// The final state, from every node; the nodes converge on the drain's
	// writes, so each read is retried until it shows nothing pending.
	for i, n := range env.Cluster.Nodes {
		for _, key := range keys {
			var rng, grp resp.Value
			var err error
			for try := 0; try < 100; try++ {
				rng, err = clients[i].Do1("XRANGE", key, "-", "+")
				if err == nil && rng.Kind == resp.KindArray {
					grp, err = clients[i].Do1("XPENDING", key, streamGroup)
					if err == nil && grp.Kind == resp.KindArray && len(grp.Elems) > 0 && grp.Elems[0].Int == 0 {
						break
					}
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil || rng.Kind != resp.KindArray {
				return fmt.Errorf("final read of %s on %s: %v %v", key, n.ID, rng, err)
			}
			pending := int64(-1)
			if grp.Kind == resp.KindArray && len(grp.Elems) > 0 {
				pending = grp.Elems[0].Int
			}
			env.History.Add(&Op{Client: -1, Node: i, Workload: w.Name(), Kind: "xrange", Key: key, Outcome: OK,
				Call: env.History.Now(), Return: env.History.Now(), Results: entriesOf(rng), Int: pending})
		}
	}
	return nil
}

// parseStreamID reads "ms-seq" as two numbers for ordering.
func parseStreamIDText(s string) (ms, seq uint64, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	ms, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	return ms, seq, err1 == nil && err2 == nil
}

func streamIDLess(a, b string) bool {
	am, as, _ := parseStreamIDText(a)
	bm, bs, _ := parseStreamIDText(b)
	return am < bm || am == bm && as < bs
}

func (w *Streams) Check(env *Env, ops []*Op) []Verdict {
	ids := Verdict{Checker: "streams: acknowledged XADD IDs are unique and grow in real time", Valid: true, Stats: map[string]any{}}
	entries := Verdict{Checker: "streams: every acknowledged XADD present at its ID, none invented, failed or duplicated; nodes agree", Valid: true, Stats: map[string]any{}}
	deliv := Verdict{Checker: "streams: each entry delivered once through '>' (claims aside) with its own token; after the drain all delivered, none pending", Valid: true, Stats: map[string]any{}}

	byKey := map[string][]*Op{}
	for _, o := range ops {
		if strings.HasPrefix(o.Key, "xs:") {
			byKey[o.Key] = append(byKey[o.Key], o)
		}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	totalAdds, totalDeliveries, totalClaims := 0, 0, 0
	for _, key := range keys {
		kops := byKey[key]
		var adds []*Op
		writes := map[string]*Op{} // token -> XADD
		var finals []*Op
		for _, o := range kops {
			switch {
			case o.Kind == "xadd":
				writes[o.Value] = o
				if o.Outcome == OK {
					adds = append(adds, o)
				}
			case o.Kind == "xrange" && o.Client == -1:
				finals = append(finals, o)
			}
		}
		totalAdds += len(adds)

		// IDs: unique, and in real-time order.
		seen := map[string]*Op{}
		for _, a := range adds {
			ids.Checked++
			if _, _, ok := parseStreamIDText(a.Result); !ok {
				ids.addViolation("%s: XADD answered %q, not an ID: %s", key, a.Result, describeCollOp(a))
				continue
			}
			if b := seen[a.Result]; b != nil {
				ids.addViolation("%s: two XADDs answered %s: %s and %s", key, a.Result, describeCollOp(b), describeCollOp(a))
			}
			seen[a.Result] = a
		}
		byCall := append([]*Op(nil), adds...)
		sort.Slice(byCall, func(i, j int) bool { return byCall[i].Call < byCall[j].Call })
		byReturn := append([]*Op(nil), adds...)
		sort.Slice(byReturn, func(i, j int) bool { return byReturn[i].Return < byReturn[j].Return })
		var maxBefore *Op
		j := 0
		for _, b := range byCall {
			for j < len(byReturn) && byReturn[j].Return < b.Call {
				if maxBefore == nil || streamIDLess(maxBefore.Result, byReturn[j].Result) {
					maxBefore = byReturn[j]
				}
				j++
			}
			if maxBefore != nil && !streamIDLess(maxBefore.Result, b.Result) {
				ids.addViolation("%s: XADD got %s though %s had returned %s before it was called: %s", key, b.Result, describeCollOp(maxBefore), maxBefore.Result, describeCollOp(b))
			}
		}

		// Entries: the final stream, alike on every node.
		if len(finals) == 0 {
			entries.addViolation("%s: no final read", key)
			continue
		}
		sort.Slice(finals, func(i, j int) bool { return finals[i].Node < finals[j].Node })
		final := finals[0]
		for _, f := range finals[1:] {
			if strings.Join(f.Results, ",") != strings.Join(final.Results, ",") {
				entries.addViolation("%s: nodes %d and %d read different final streams (%d and %d entries)", key, final.Node, f.Node, len(final.Results), len(f.Results))
			}
		}
		tokenAt := map[string]string{} // id -> token
		idOf := map[string]string{}    // token -> id
		for i, e := range final.Results {
			id, tok, _ := strings.Cut(e, "=")
			if i > 0 {
				prev, _, _ := strings.Cut(final.Results[i-1], "=")
				if !streamIDLess(prev, id) {
					entries.addViolation("%s: final stream out of order at %s after %s", key, id, prev)
				}
			}
			if other, dup := idOf[tok]; dup {
				entries.addViolation("%s: token %q at %s and %s", key, tok, other, id)
			}
			idOf[tok], tokenAt[id] = id, tok
			switch o, ok := writes[tok]; {
			case !ok:
				entries.addViolation("%s: entry %s holds %q, never sent", key, id, tok)
			case o.Outcome == Fail:
				entries.addViolation("%s: entry %s holds %q, whose XADD failed: %s", key, id, tok, describeCollOp(o))
			}
		}
		for _, a := range adds {
			entries.Checked++
			if got, ok := idOf[a.Value]; !ok {
				entries.addViolation("%s: acknowledged XADD lost: %s (ID %s)", key, describeCollOp(a), a.Result)
			} else if got != a.Result {
				entries.addViolation("%s: XADD answered %s but its token is at %s: %s", key, a.Result, got, describeCollOp(a))
			}
		}

		// Delivery.
		byGT := map[string]*Op{} // id -> the OK '>' read that delivered it
		delivered := map[string]bool{}
		for _, o := range kops {
			if o.Outcome != OK || (o.Kind != "xreadgroup" && o.Kind != "xautoclaim") {
				continue
			}
			for _, e := range o.Results {
				id, tok, _ := strings.Cut(e, "=")
				deliv.Checked++
				if o.Kind == "xautoclaim" {
					totalClaims++
					if tok == "" {
						continue // claimed after deletion: none here, but allowed
					}
				} else {
					totalDeliveries++
					if prev := byGT[id]; prev != nil {
						deliv.addViolation("%s: %s delivered twice through '>': %s and %s", key, id, describeStreamOp(prev), describeStreamOp(o))
					}
					byGT[id] = o
				}
				delivered[id] = true
				if want, ok := tokenAt[id]; !ok {
					deliv.addViolation("%s: delivered %s, which the final stream does not hold: %s", key, id, describeStreamOp(o))
				} else if want != tok {
					deliv.addViolation("%s: delivered %s with %q, the entry holds %q: %s", key, id, tok, want, describeStreamOp(o))
				}
			}
		}
		for _, e := range final.Results {
			id, _, _ := strings.Cut(e, "=")
			if !delivered[id] {
				deliv.addViolation("%s: entry %s was never delivered, even by the drain", key, id)
			}
		}
		for _, f := range finals {
			if f.Int != 0 {
				deliv.addViolation("%s: node %d reports %d pending after the drain", key, f.Node, f.Int)
			}
		}
		entries.Stats[key] = fmt.Sprintf("%d entries", len(final.Results))
	}
	ids.Summary = fmt.Sprintf("%d acknowledged XADDs, %d problems", totalAdds, len(ids.Violations))
	entries.Summary = fmt.Sprintf("%d acknowledged XADDs checked against the final streams, %d problems", entries.Checked, len(entries.Violations))
	deliv.Summary = fmt.Sprintf("%d deliveries through '>', %d by claims, %d problems", totalDeliveries, totalClaims, len(deliv.Violations))
	return []Verdict{ids, entries, deliv}
}

func describeStreamOp(o *Op) string {
	ret := "   ...    "
	if o.Return >= 0 {
		ret = fmt.Sprintf("%10.3f", float64(o.Return)/1e9)
	}
	return fmt.Sprintf("[%10.3f %s] client %d node %d: %s %s as %s -> %d entries: %s", float64(o.Call)/1e9, ret, o.Client, o.Node, o.Kind, o.Key, o.Value, len(o.Results), o.Outcome)
}
