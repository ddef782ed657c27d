package chaos

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Collections is the collections workload: clients RPUSH unique tokens to
// a few lists, SADD unique tokens to a few sets and HSET unique fields
// (token -> token) in a few hashes, through every node, and read whole
// collections (LRANGE, SMEMBERS, HGETALL) during the run. After the
// faults stop, the final contents, read from every node (they must agree),
// are checked: every acknowledged element present exactly once, nothing
// never sent, nothing whose write failed, no element twice in a list, and
// elements whose write's outcome is unknown at most once. Because every
// node applies one log, every list read during the run is a prefix of the
// final list and every set or hash read a subset of the final one, and an
// acknowledged RPUSH's reply (the new length) is its token's position.
type Collections struct {
	Keys int // keys of each type; zero: 2
}

func (w *Collections) Name() string { return "collections" }

func (w *Collections) Clients(n int) int { return n }

func (w *Collections) keys() int { return orInt(w.Keys, 2) }

// collKind is one collection type of the workload.
type collKind struct {
	prefix string // key prefix
	write  string // op kind of a write
	read   string // op kind of a read
}

var collKinds = []collKind{
	{"cl:", "rpush", "lrange"},
	{"cs:", "sadd", "smembers"},
	{"ch:", "hset", "hgetall"},
}

func kindOfKey(key string) (collKind, bool) {
	for _, k := range collKinds {
		if strings.HasPrefix(key, k.prefix) {
			return k, true
		}
	}
	return collKind{}, false
}

func readCommand(kind collKind, key string) []string {
	switch kind.read {
	case "lrange":
		return []string{"LRANGE", key, "0", "-1"}
	case "smembers":
		return []string{"SMEMBERS", key}
	}
	return []string{"HGETALL", key}
}

func (w *Collections) Step(cl *Conn) {
	kind := collKinds[cl.Rand.IntN(len(collKinds))]
	key := kind.prefix + strconv.Itoa(cl.Rand.IntN(w.keys()))
	if cl.Rand.IntN(100) < 75 {
		op := &Op{Kind: kind.write, Key: key, Value: cl.nextToken()}
		var cmd []string
		switch kind.write {
		case "rpush":
			cmd = []string{"RPUSH", key, op.Value}
		case "sadd":
			cmd = []string{"SADD", key, op.Value}
		default:
			cmd = []string{"HSET", key, op.Value, op.Value}
		}
		vs, err := cl.do(op, cmd)
		v := first(vs)
		if err == nil && v.Kind == ':' {
			op.Int = v.Int
		}
		cl.recordWrite(op, v, err)
		return
	}
	op := &Op{Kind: kind.read, Key: key}
	vs, err := cl.do(op, readCommand(kind, key))
	v := first(vs)
	if err == nil && v.Kind == '*' {
		op.Results = collElems(v)
	} else if err == nil && v.Kind != '-' {
		op.Outcome, op.Err = Fail, "unexpected reply "+v.String()
		cl.env.History.Add(op)
		return
	}
	cl.recordRead(op, v, err)
}

// collElems is a read's reply as strings: a list's elements in order, a
// set's members, a hash's fields and values alternating.
func collElems(v Value) []string {
	out := make([]string, 0, len(v.Elems))
	for _, e := range v.Elems {
		out = append(out, string(e.Str))
	}
	return out
}

// Final reads every key from every node; the nodes converged, so they
// must answer alike (a disagreement is recorded as a failed read, which
// the checker reports). Each read is an op of client -1 on that node.
func (w *Collections) Final(env *Env) error {
	var keys []string
	for _, k := range opKeys(env.History.Ops(), w.Name()) {
		if _, ok := kindOfKey(k); ok {
			keys = append(keys, k)
		}
	}
	for i, n := range env.Cluster.Nodes {
		c := NewClient(n.RESP, 10*time.Second)
		for _, key := range keys {
			kind, _ := kindOfKey(key)
			op := &Op{Client: -1, Node: i, Workload: w.Name(), Kind: kind.read, Key: key, Call: env.History.Now()}
			var v Value
			var err error
			for try := 0; try < 50; try++ {
				if v, err = c.Do1(readCommand(kind, key)...); err == nil && v.Kind == '*' {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			op.Return = env.History.Now()
			if err != nil || v.Kind != '*' {
				c.Close()
				return fmt.Errorf("final read of %s on %s: %v %v", key, n.ID, v, err)
			}
			op.Outcome, op.Results = OK, collElems(v)
			env.History.Add(op)
		}
		c.Close()
	}
	return nil
}

// collKey is what the checker knows of one collection.
type collKey struct {
	kind   collKind
	writes map[string]*Op // token -> its write
	final  *Op            // node 0's final read
	reads  []*Op          // reads during the run
}

// tokensOf is a read's elements: a hash's fields, checking each value
// equals its field (as written); bad names the first that does not.
func (k *collKey) tokensOf(o *Op) (toks []string, bad string) {
	if k.kind.read != "hgetall" {
		return o.Results, ""
	}
	for i := 0; i+1 < len(o.Results); i += 2 {
		toks = append(toks, o.Results[i])
		if o.Results[i+1] != o.Results[i] && bad == "" {
			bad = o.Results[i]
		}
	}
	if len(o.Results)%2 != 0 {
		bad = "(odd reply)"
	}
	return toks, bad
}

func describeCollOp(o *Op) string {
	if o == nil {
		return "?"
	}
	ret := "   ...    "
	if o.Return >= 0 {
		ret = fmt.Sprintf("%10.3f", float64(o.Return)/1e9)
	}
	what := fmt.Sprintf("%s %s %s", o.Kind, o.Key, o.Value)
	if o.Value == "" {
		what = fmt.Sprintf("%s %s -> %d elements", o.Kind, o.Key, len(o.Results))
	} else if o.Outcome == OK {
		what += fmt.Sprintf(" -> %d", o.Int)
	}
	out := string(o.Outcome)
	if o.Err != "" {
		out += " (" + o.Err + ")"
	}
	return fmt.Sprintf("[%10.3f %s] client %d node %d: %s: %s", float64(o.Call)/1e9, ret, o.Client, o.Node, what, out)
}

func (w *Collections) Check(env *Env, ops []*Op) []Verdict {
	final := Verdict{Checker: "collections: every acknowledged element once, none invented, failed or duplicated, unknown ones at most once; nodes agree", Valid: true, Stats: map[string]any{}}
	reads := Verdict{Checker: "collections: list reads are prefixes and set/hash reads subsets of the final state; RPUSH replies are positions", Valid: true, Stats: map[string]any{}}
	keys := map[string]*collKey{}
	finals := map[string][]*Op{}
	for _, o := range ops {
		kind, ok := kindOfKey(o.Key)
		if !ok {
			continue
		}
		k := keys[o.Key]
		if k == nil {
			k = &collKey{kind: kind, writes: map[string]*Op{}}
			keys[o.Key] = k
		}
		switch {
		case o.Kind == kind.write:
			k.writes[o.Value] = o
		case o.Kind == kind.read && o.Client == -1 && o.Outcome == OK:
			finals[o.Key] = append(finals[o.Key], o)
		case o.Kind == kind.read && o.Outcome == OK:
			k.reads = append(k.reads, o)
		}
	}
	names := make([]string, 0, len(keys))
	for n := range keys {
		names = append(names, n)
	}
	sort.Strings(names)
	counts := map[Outcome]int{}
	unknownIn, unknownOut := 0, 0
	for _, name := range names {
		k := keys[name]
		fs := finals[name]
		if len(fs) == 0 {
			final.addViolation("%s: no final read", name)
			continue
		}
		sort.Slice(fs, func(i, j int) bool { return fs[i].Node < fs[j].Node })
		k.final = fs[0]
		for _, f := range fs[1:] {
			a, b := slices.Clone(k.final.Results), slices.Clone(f.Results)
			if k.kind.read != "lrange" { // sets and hashes come in any order
				a, b = sortedPairs(a, k.kind), sortedPairs(b, k.kind)
			}
			if !slices.Equal(a, b) {
				final.addViolation("%s: nodes %d and %d read different final contents (%d and %d elements) after converging", name, k.final.Node, f.Node, len(k.final.Results), len(f.Results))
			}
		}
		toks, bad := k.tokensOf(k.final)
		if bad != "" {
			final.addViolation("%s: field %q holds a value never written to it", name, bad)
		}
		pos := map[string]int{}
		for i, t := range toks {
			if _, dup := pos[t]; dup {
				final.addViolation("%s: %q appears twice", name, t)
				continue
			}
			pos[t] = i
			switch o, ok := k.writes[t]; {
			case !ok:
				final.addViolation("%s: %q was never written to it", name, t)
			case o.Outcome == Fail:
				final.addViolation("%s: %q, whose write failed, is present: %s", name, t, describeCollOp(o))
			}
		}
		for t, o := range k.writes {
			final.Checked++
			counts[o.Outcome]++
			_, in := pos[t]
			switch {
			case o.Outcome == OK && !in:
				final.addViolation("%s: acknowledged write lost: %s", name, describeCollOp(o))
			case o.Outcome == Unknown && in:
				unknownIn++
			case o.Outcome == Unknown:
				unknownOut++
			}
			// An acknowledged RPUSH answers the list's new length: its
			// token is at that position; SADD and HSET of a new token
			// answer 1.
			if o.Outcome == OK && in {
				switch {
				case k.kind.write == "rpush" && o.Int != int64(pos[t]+1):
					reads.addViolation("%s: RPUSH answered %d but its token is at position %d of the final list: %s", name, o.Int, pos[t]+1, describeCollOp(o))
				case k.kind.write != "rpush" && o.Int != 1:
					reads.addViolation("%s: %s of a new token answered %d, want 1: %s", name, strings.ToUpper(o.Kind), o.Int, describeCollOp(o))
				}
			}
		}
		for _, r := range k.reads {
			reads.Checked++
			got, bad := k.tokensOf(r)
			if bad != "" {
				reads.addViolation("%s: read a field %q holding a value never written to it: %s", name, bad, describeCollOp(r))
			}
			if k.kind.read == "lrange" {
				if len(got) > len(toks) || !slices.Equal(got, toks[:len(got)]) {
					reads.addViolation("%s: read of %d elements is not a prefix of the final list of %d: %s", name, len(got), len(toks), describeCollOp(r))
				}
				continue
			}
			seen := map[string]bool{}
			for _, t := range got {
				if seen[t] {
					reads.addViolation("%s: read holds %q twice: %s", name, t, describeCollOp(r))
				}
				seen[t] = true
				if _, ok := pos[t]; !ok {
					reads.addViolation("%s: read holds %q, not in the final state: %s", name, t, describeCollOp(r))
				}
			}
		}
		final.Stats[name] = fmt.Sprintf("%d elements", len(toks))
	}
	final.Stats["writes"] = counts
	final.Stats["unknown_present"] = unknownIn
	final.Stats["unknown_absent"] = unknownOut
	final.Summary = fmt.Sprintf("%d writes (%d ok, %d unknown: %d present, %d absent; %d failed) on %d keys, %d problems",
		final.Checked, counts[OK], counts[Unknown], unknownIn, unknownOut, counts[Fail], len(names), len(final.Violations))
	reads.Summary = fmt.Sprintf("%d reads, %d problems", reads.Checked, len(reads.Violations))
	return []Verdict{final, reads}
}

// sortedPairs sorts a set's members, or a hash's field-value pairs by
// field, for comparing two reads.
func sortedPairs(xs []string, kind collKind) []string {
	if kind.read != "hgetall" {
		sort.Strings(xs)
		return xs
	}
	type kv struct{ k, v string }
	var ps []kv
	for i := 0; i+1 < len(xs); i += 2 {
		ps = append(ps, kv{xs[i], xs[i+1]})
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].k < ps[j].k })
	out := make([]string, 0, len(xs))
	for _, p := range ps {
		out = append(out, p.k, p.v)
	}
	return out
}
