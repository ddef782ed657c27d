package chaos

import (
	"fmt"
	"sort"
	"strconv"
)

// Counter is the counter workload: INCR on a few keys, and reads at every
// level. After the faults stop, each counter must equal the acknowledged
// increments plus some of the unknown ones, never more or fewer.
type Counter struct {
	Keys int // zero: 2
}

func (w *Counter) Name() string { return "counter" }

func (w *Counter) Clients(n int) int { return n }

func (w *Counter) Step(cl *Conn) {
	key := "n:" + strconv.Itoa(cl.Rand.IntN(orInt(w.Keys, 2)))
	if cl.Rand.IntN(100) < 60 {
		op := &Op{Kind: "incr", Key: key}
		vs, err := cl.do(op, []string{"INCR", key})
		v := first(vs)
		if err == nil && v.Kind == ':' {
			op.Int = v.Int
		}
		cl.recordWrite(op, v, err)
		return
	}
	op := &Op{Kind: "get", Key: key}
	switch x := cl.Rand.IntN(100); {
	case x < 50:
		op.Level = 2
	case x < 80:
		op.Level = 0
	default:
		op.Level = 1
	}
	vs, err := cl.do(op, []string{"LEVELGET", key, strconv.Itoa(op.Level)})
	v := first(vs)
	if err == nil && v.Kind == '$' {
		op.Result, op.Null = string(v.Str), v.Null
	}
	cl.recordRead(op, v, err)
}

func (w *Counter) Final(env *Env) error {
	f := newFinalReader(env)
	defer f.close()
	return f.get(w.Name(), opKeys(env.History.Ops(), w.Name())...)
}

func counterValue(o *Op) (int64, bool) {
	if o.Null {
		return 0, true
	}
	n, err := strconv.ParseInt(o.Result, 10, 64)
	return n, err == nil
}

func (w *Counter) Check(env *Env, ops []*Op) []Verdict {
	total := Verdict{Checker: "counter: final value = acknowledged INCRs + some unknown ones; INCR replies unique and in real-time order", Valid: true, Stats: map[string]any{}}
	reads := Verdict{Checker: "counter: consistent reads between acknowledged and attempted INCRs, monotonic", Valid: true, Stats: map[string]any{}}
	byKey := map[string][]*Op{}
	for _, o := range ops {
		byKey[o.Key] = append(byKey[o.Key], o)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	staleDefault, defaultReads := 0, 0
	for _, key := range keys {
		var incrs, okIncrs, rs []*Op
		var final *Op
		ok, unknown, failed := 0, 0, 0
		for _, o := range byKey[key] {
			switch {
			case o.Kind == "incr":
				incrs = append(incrs, o)
				switch o.Outcome {
				case OK:
					ok++
					okIncrs = append(okIncrs, o)
				case Unknown:
					unknown++
				default:
					failed++
				}
			case o.Kind == "get" && o.Outcome == OK && o.Client == -1:
				final = o
			case o.Kind == "get" && o.Outcome == OK:
				rs = append(rs, o)
			}
		}
		total.Checked += len(incrs)
		if final == nil {
			total.addViolation("%s: no final read", key)
			continue
		}
		fv, _ := counterValue(final)
		total.Stats[key] = fmt.Sprintf("final %d: %d acknowledged, %d unknown, %d failed INCRs", fv, ok, unknown, failed)
		switch {
		case fv < int64(ok):
			total.addViolation("%s: final value %d < %d acknowledged INCRs: acknowledged increments lost", key, fv, ok)
		case fv > int64(ok+unknown):
			total.addViolation("%s: final value %d > %d acknowledged + %d unknown INCRs: an increment applied twice, or a failed one applied", key, fv, ok, unknown)
		}
		seen := map[int64]*Op{}
		for _, o := range okIncrs {
			if p := seen[o.Int]; p != nil {
				total.addViolation("%s: two INCRs answered %d: %s and %s", key, o.Int, describeOp(p), describeOp(o))
			}
			seen[o.Int] = o
			if o.Int < 1 || o.Int > fv {
				total.addViolation("%s: INCR answered %d, outside 1..%d: %s", key, o.Int, fv, describeOp(o))
			}
		}
		// Real time: acknowledged before another began means smaller.
		byRet := append([]*Op(nil), okIncrs...)
		sort.Slice(byRet, func(i, j int) bool { return byRet[i].Return < byRet[j].Return })
		prefMax := make([]*Op, len(byRet)+1)
		for i, o := range byRet {
			prefMax[i+1] = prefMax[i]
			if prefMax[i] == nil || o.Int > prefMax[i].Int {
				prefMax[i+1] = o
			}
		}
		maxBefore := func(t int64) *Op {
			return prefMax[sort.Search(len(byRet), func(i int) bool { return byRet[i].Return >= t })]
		}
		for _, o := range okIncrs {
			if m := maxBefore(o.Call); m != nil && m.Int >= o.Int {
				total.addViolation("%s: %s acknowledged before %s began, yet answered a value as large", key, describeOp(m), describeOp(o))
			}
		}
		// Reads: never above what had been attempted by the read's end;
		// consistent ones never below what had been acknowledged by its
		// start, and never going back.
		calls := make([]int64, 0, len(incrs))
		for _, o := range incrs {
			if o.Outcome != Fail {
				calls = append(calls, o.Call)
			}
		}
		sort.Slice(calls, func(i, j int) bool { return calls[i] < calls[j] })
		var cons []*Op
		for _, r := range rs {
			reads.Checked++
			v, okv := counterValue(r)
			if !okv {
				reads.addViolation("%s: read of a non-integer: %s", key, describeOp(r))
				continue
			}
			attempted := sort.Search(len(calls), func(i int) bool { return calls[i] > r.Return })
			if v > int64(attempted) {
				reads.addViolation("%s: read %d, but only %d INCRs had begun: %s", key, v, attempted, describeOp(r))
			}
			m := maxBefore(r.Call)
			stale := m != nil && v < m.Int
			switch r.Level {
			case 2:
				cons = append(cons, r)
				if stale {
					reads.addViolation("%s: consistent read %d below %s, acknowledged before it began: %s", key, v, describeOp(m), describeOp(r))
				}
			case 0:
				defaultReads++
				if stale {
					staleDefault++
				}
			}
		}
		sort.Slice(cons, func(i, j int) bool { return cons[i].Return < cons[j].Return })
		var best *Op
		var bestV int64
		j := 0
		byCall := append([]*Op(nil), cons...)
		sort.Slice(byCall, func(i, j int) bool { return byCall[i].Call < byCall[j].Call })
		for _, r := range byCall {
			for j < len(cons) && cons[j].Return < r.Call {
				if v, _ := counterValue(cons[j]); best == nil || v > bestV {
					best, bestV = cons[j], v
				}
				j++
			}
			if v, _ := counterValue(r); best != nil && v < bestV {
				reads.addViolation("%s: consistent reads went back: %s, then %s", key, describeOp(best), describeOp(r))
			}
		}
	}
	reads.Stats["default_reads"] = defaultReads
	reads.Stats["default_stale"] = staleDefault
	total.Summary = fmt.Sprintf("%d INCRs on %d keys, %d problems", total.Checked, len(keys), len(total.Violations))
	reads.Summary = fmt.Sprintf("%d reads, %d problems; default reads below an acknowledged INCR %d/%d", reads.Checked, len(reads.Violations), staleDefault, defaultReads)
	return []Verdict{total, reads}
}
