package chaos

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Append is the append workload. Each write adds a unique token to a
// key's list (APPEND key "token,"), alone or in a MULTI/EXEC with the same
// token appended to two keys; other transactions SET three fresh keys at
// once. Reads return whole lists. Because every node applies the same log,
// every read at every level must be a prefix of the key's final list; the
// checker finds lost, duplicated, reordered, invented and torn writes.
type Append struct {
	Keys    int           // keys live at once; zero: 3
	KeyLife time.Duration // zero: 10 s
}

func (w *Append) Name() string { return "append" }

func (w *Append) Clients(n int) int { return n }

func (w *Append) life() time.Duration {
	if w.KeyLife <= 0 {
		return 10 * time.Second
	}
	return w.KeyLife
}

func (w *Append) genKeys(cl *Conn) []string {
	gen := strconv.FormatInt(cl.env.History.Now()/int64(w.life()), 10)
	keys := make([]string, max(orInt(w.Keys, 3), 2))
	for i := range keys {
		keys[i] = "a:" + gen + ":" + strconv.Itoa(i)
	}
	return keys
}

func (w *Append) Step(cl *Conn) {
	keys := w.genKeys(cl)
	key := keys[cl.Rand.IntN(len(keys))]
	switch r := cl.Rand.IntN(100); {
	case r < 30:
		op := &Op{Kind: "append", Key: key, Value: cl.nextToken()}
		vs, err := cl.do(op, []string{"APPEND", key, op.Value + ","})
		cl.recordWrite(op, first(vs), err)
	case r < 37:
		// Appends pipelined without MULTI, each its own operation: the
		// server proposes them together as one log entry.
		ops := make([]*Op, 2+cl.Rand.IntN(4))
		cmds := make([][]string, len(ops))
		for i := range ops {
			k := keys[cl.Rand.IntN(len(keys))]
			ops[i] = &Op{Kind: "append", Key: k, Value: cl.nextToken()}
			cmds[i] = []string{"APPEND", k, ops[i].Value + ","}
		}
		vs, err := cl.do(ops[0], cmds...)
		// The pipeline's times, before recordWrite marks an op unknown
		// (Return -1): its commands' outcomes may differ (a node with
		// several Raft groups proposes them to their groups apart).
		head := *ops[0]
		for i, op := range ops {
			op.Client, op.Node, op.Workload, op.Call, op.Return = head.Client, head.Node, head.Workload, head.Call, head.Return
			var v Value
			if i < len(vs) {
				v = vs[i]
			}
			cl.recordWrite(op, v, err)
		}
	case r < 45:
		i := cl.Rand.IntN(len(keys))
		j := (i + 1 + cl.Rand.IntN(len(keys)-1)) % len(keys)
		op := &Op{Kind: "txn-append", Keys: []string{keys[i], keys[j]}, Value: cl.nextToken()}
		vs, err := cl.do(op, []string{"MULTI"}, []string{"APPEND", keys[i], op.Value + ","}, []string{"APPEND", keys[j], op.Value + ","}, []string{"EXEC"})
		cl.recordWrite(op, execReply(vs, 2), err)
	case r < 55:
		tok := cl.nextToken()
		op := &Op{Kind: "txn-set", Keys: txnSetKeys(tok), Value: tok}
		cmds := [][]string{{"MULTI"}}
		for _, k := range op.Keys {
			cmds = append(cmds, []string{"SET", k, tok})
		}
		cmds = append(cmds, []string{"EXEC"})
		vs, err := cl.do(op, cmds...)
		cl.recordWrite(op, execReply(vs, len(op.Keys)), err)
	case r < 90:
		op := &Op{Kind: "get", Key: key}
		var cmd []string
		switch x := cl.Rand.IntN(100); {
		case x < 50:
			op.Level, cmd = 2, []string{"LEVELGET", key, "2"}
		case x < 80:
			op.Level, cmd = 0, []string{"LEVELGET", key, "0"}
		default:
			op.Level, cmd = 1, []string{"LEVELGET", key, "1"}
		}
		vs, err := cl.do(op, cmd)
		v := first(vs)
		if err == nil && v.Kind == '$' {
			op.Result, op.Null = string(v.Str), v.Null
		}
		cl.recordRead(op, v, err)
	default:
		op := &Op{Kind: "mget", Keys: keys}
		vs, err := cl.do(op, append([]string{"MGET"}, keys...))
		v := first(vs)
		if err == nil && v.Kind == '*' {
			for _, e := range v.Elems {
				op.Results = append(op.Results, string(e.Str))
				op.Nulls = append(op.Nulls, e.Null)
			}
		}
		cl.recordRead(op, v, err)
	}
}

func txnSetKeys(tok string) []string {
	return []string{"s:" + tok + ":0", "s:" + tok + ":1", "s:" + tok + ":2"}
}

// execReply reduces a MULTI ... EXEC pipeline's replies to the EXEC's
// meaning: the EXEC reply if it ran all n commands without an error
// inside, an error reply otherwise.
func execReply(vs []Value, n int) Value {
	if len(vs) == 0 {
		return Value{}
	}
	for _, v := range vs[:len(vs)-1] {
		if v.Kind == '-' {
			return v // MULTI or a queued command refused: EXEC aborts
		}
	}
	x := vs[len(vs)-1]
	if x.Kind == '*' {
		if x.Null {
			return Value{Kind: '-', Str: []byte("EXECABORT null reply")}
		}
		if len(x.Elems) != n {
			return Value{Kind: '-', Str: fmt.Appendf(nil, "ERR EXEC returned %d replies for %d commands", len(x.Elems), n)}
		}
		for _, e := range x.Elems {
			if e.Kind == '-' {
				return Value{Kind: '-', Str: append([]byte("ERR inside EXEC: "), e.Str...)}
			}
		}
	}
	return x
}

func (w *Append) Final(env *Env) error {
	f := newFinalReader(env)
	defer f.close()
	ops := env.History.Ops()
	var keys []string
	for _, key := range opKeys(ops, w.Name()) {
		if strings.HasPrefix(key, "a:") {
			keys = append(keys, key)
		}
	}
	for _, o := range ops {
		if o.Workload == w.Name() && o.Kind == "txn-set" {
			keys = append(keys, o.Keys...)
		}
	}
	return f.get(w.Name(), keys...)
}

func tokens(s string) []string {
	s = strings.TrimSuffix(s, ",")
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// appendKey is what the checker knows of one list key.
type appendKey struct {
	final  []string
	pos    map[string]int // token -> index in final
	writes []*Op          // appends and txn-appends touching it
	status map[string]Outcome
	reads  []*Op // gets of it (mgets are split into one per key)
}

func (w *Append) Check(env *Env, ops []*Op) []Verdict {
	lists := Verdict{Checker: "append: no lost, duplicated, reordered, invented or failed-but-applied appends", Valid: true, Stats: map[string]any{}}
	reads := Verdict{Checker: "append: every read (all levels) is a prefix of the final list; consistent reads see every acknowledged append", Valid: true, Stats: map[string]any{}}
	txns := Verdict{Checker: "append: transactions are atomic and in one order on every key", Valid: true, Stats: map[string]any{}}
	mget := Verdict{Checker: "append: MGET sees each transaction whole", Valid: true, Stats: map[string]any{}}

	keys := map[string]*appendKey{}
	get := func(k string) *appendKey {
		if keys[k] == nil {
			keys[k] = &appendKey{status: map[string]Outcome{}, pos: map[string]int{}}
		}
		return keys[k]
	}
	var finals = map[string]*Op{}
	txnSets := map[string]*Op{}
	var mgets []*Op
	for _, o := range ops {
		switch o.Kind {
		case "append":
			k := get(o.Key)
			k.writes = append(k.writes, o)
			k.status[o.Value] = o.Outcome
		case "txn-append":
			for _, key := range o.Keys {
				k := get(key)
				k.writes = append(k.writes, o)
				k.status[o.Value] = o.Outcome
			}
		case "txn-set":
			txnSets[o.Value] = o
		case "get":
			if o.Outcome != OK {
				continue
			}
			if o.Client == -1 {
				finals[o.Key] = o
				continue
			}
			if strings.HasPrefix(o.Key, "a:") {
				get(o.Key).reads = append(get(o.Key).reads, o)
			}
		case "mget":
			if o.Outcome == OK {
				mgets = append(mgets, o)
				for i, key := range o.Keys {
					if i < len(o.Results) {
						r := *o
						r.Kind, r.Key, r.Result, r.Null, r.Level = "get", key, o.Results[i], o.Nulls[i], 0
						get(key).reads = append(get(key).reads, &r)
					}
				}
			}
		}
	}
	names := make([]string, 0, len(keys))
	for name := range keys {
		names = append(names, name)
	}
	sort.Strings(names)
	staleDefault, defaultReads, staleStale, staleReads := 0, 0, 0, 0
	for _, name := range names {
		k := keys[name]
		fo := finals[name]
		if fo == nil {
			lists.addViolation("key %s: no final read", name)
			continue
		}
		k.final = tokens(fo.Result)
		lists.Checked += len(k.writes)
		for i, t := range k.final {
			if _, dup := k.pos[t]; dup {
				lists.addViolation("key %s: token %s appears twice in the final list", name, t)
				continue
			}
			k.pos[t] = i
			switch st, ok := k.status[t]; {
			case !ok:
				lists.addViolation("key %s: token %s in the final list was never appended to it", name, t)
			case st == Fail:
				lists.addViolation("key %s: token %s, whose append failed, is in the final list: %s", name, t, describeOp(opByValue(k.writes, t)))
			}
		}
		for _, o := range k.writes {
			if _, in := k.pos[o.Value]; o.Outcome == OK && !in {
				lists.addViolation("key %s: acknowledged append lost: %s", name, describeOp(o))
			}
		}
		// Real-time order: an append acknowledged before another began
		// comes first.
		var okw []*Op
		for _, o := range k.writes {
			if o.Outcome == OK {
				if _, in := k.pos[o.Value]; in {
					okw = append(okw, o)
				}
			}
		}
		byRet := append([]*Op(nil), okw...)
		sort.Slice(byRet, func(i, j int) bool { return byRet[i].Return < byRet[j].Return })
		byCall := append([]*Op(nil), okw...)
		sort.Slice(byCall, func(i, j int) bool { return byCall[i].Call < byCall[j].Call })
		// maxBefore(t): the furthest position of an append acknowledged
		// before t, and which.
		type mx struct {
			pos int
			op  *Op
		}
		prefix := make([]mx, len(byRet)+1)
		prefix[0] = mx{-1, nil}
		for i, o := range byRet {
			prefix[i+1] = prefix[i]
			if p := k.pos[o.Value]; p > prefix[i].pos {
				prefix[i+1] = mx{p, o}
			}
		}
		maxBefore := func(t int64) mx {
			i := sort.Search(len(byRet), func(i int) bool { return byRet[i].Return >= t })
			return prefix[i]
		}
		for _, b := range byCall {
			if m := maxBefore(b.Call); m.pos > k.pos[b.Value] {
				lists.addViolation("key %s: reordered: %s was acknowledged before %s began, but comes after it (positions %d > %d)",
					name, describeOp(m.op), describeOp(b), m.pos, k.pos[b.Value])
			}
		}
		// Reads.
		for _, r := range k.reads {
			reads.Checked++
			got := tokens(r.Result)
			prefixOK := len(got) <= len(k.final)
			for i := 0; prefixOK && i < len(got); i++ {
				prefixOK = got[i] == k.final[i]
			}
			if !prefixOK {
				reads.addViolation("key %s: read is not a prefix of the final list %q: %s", name, k.final, describeOp(r))
				continue
			}
			m := maxBefore(r.Call)
			stale := m.pos >= len(got)
			switch r.Level {
			case 2:
				if stale {
					reads.addViolation("key %s: consistent read misses %s, acknowledged before the read began: %s", name, describeOp(m.op), describeOp(r))
				}
			case 0:
				defaultReads++
				if stale {
					staleDefault++
				}
			case 1:
				staleReads++
				if stale {
					staleStale++
				}
			}
		}
	}
	reads.Stats["default_reads"] = defaultReads
	reads.Stats["default_stale"] = staleDefault
	reads.Stats["stale_reads"] = staleReads
	reads.Stats["stale_stale"] = staleStale

	// Transactions over two lists: all or nothing, and in the same order
	// on every pair of keys.
	for _, o := range ops {
		if o.Kind != "txn-append" {
			continue
		}
		txns.Checked++
		in := 0
		for _, key := range o.Keys {
			if k := keys[key]; k != nil {
				if _, ok := k.pos[o.Value]; ok {
					in++
				}
			}
		}
		if in != 0 && in != len(o.Keys) {
			txns.addViolation("torn transaction, in %d of %d lists: %s", in, len(o.Keys), describeOp(o))
		}
	}
	for i, a := range names {
		for _, b := range names[i+1:] {
			ka, kb := keys[a], keys[b]
			var common []string
			for _, t := range ka.final {
				if _, ok := kb.pos[t]; ok {
					common = append(common, t)
				}
			}
			for j := 1; j < len(common); j++ {
				if kb.pos[common[j-1]] > kb.pos[common[j]] {
					txns.addViolation("transactions %s and %s are in one order in %s and the other in %s", common[j-1], common[j], a, b)
				}
			}
		}
	}
	for tok, o := range txnSets {
		txns.Checked++
		present := 0
		for _, k := range o.Keys {
			fo := finals[k]
			if fo == nil {
				txns.addViolation("no final read of %s", k)
				continue
			}
			switch {
			case fo.Null:
			case fo.Result == tok:
				present++
			default:
				txns.addViolation("key %s holds %q, never written to it", k, fo.Result)
			}
		}
		switch {
		case present != 0 && present != len(o.Keys):
			txns.addViolation("torn MULTI/EXEC of SETs, %d of %d keys present: %s", present, len(o.Keys), describeOp(o))
		case present == 0 && o.Outcome == OK:
			txns.addViolation("acknowledged MULTI/EXEC of SETs lost: %s", describeOp(o))
		case present > 0 && o.Outcome == Fail:
			txns.addViolation("MULTI/EXEC of SETs reported failed but applied: %s", describeOp(o))
		}
	}

	// MGET during the run: a transaction's token in one of its keys but
	// not the other, when both were read together.
	txnsOn := map[string][]*Op{} // first key -> txn-appends
	for _, o := range ops {
		if o.Kind == "txn-append" {
			txnsOn[o.Keys[0]] = append(txnsOn[o.Keys[0]], o)
		}
	}
	for _, m := range mgets {
		mget.Checked++
		seen := map[string]map[string]bool{}
		for i, key := range m.Keys {
			seen[key] = map[string]bool{}
			if i < len(m.Results) {
				for _, t := range tokens(m.Results[i]) {
					seen[key][t] = true
				}
			}
		}
		var near []*Op
		for _, key := range m.Keys {
			near = append(near, txnsOn[key]...)
		}
		for _, o := range near {
			if o.Call > m.Return {
				continue
			}
			a, b := o.Keys[0], o.Keys[1]
			if seen[a] == nil || seen[b] == nil {
				continue
			}
			if seen[a][o.Value] != seen[b][o.Value] {
				mget.addViolation("MGET saw half of %s: %s", describeOp(o), describeOp(m))
			}
		}
	}
	lists.Summary = fmt.Sprintf("%d appends on %d lists, %d problems", lists.Checked, len(names), len(lists.Violations))
	reads.Summary = fmt.Sprintf("%d reads, %d problems; default reads missing an acknowledged append %d/%d, stale-level %d/%d",
		reads.Checked, len(reads.Violations), staleDefault, defaultReads, staleStale, staleReads)
	txns.Summary = fmt.Sprintf("%d transactions, %d problems", txns.Checked, len(txns.Violations))
	mget.Summary = fmt.Sprintf("%d MGETs, %d problems", mget.Checked, len(mget.Violations))
	return []Verdict{lists, reads, txns, mget}
}

func opByValue(ops []*Op, v string) *Op {
	for _, o := range ops {
		if o.Value == v {
			return o
		}
	}
	return nil
}
