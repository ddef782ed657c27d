package chaos

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// Register is the register workload: SET, DEL and reads at every
// consistency level on a few keys. Keys are replaced by fresh ones every
// KeyLife, so each key's history stays short enough for porcupine.
type Register struct {
	Keys         int           // keys live at once; zero: 3
	KeyLife      time.Duration // zero: 10 s
	ClientsPerNd int           // zero: 2
}

func (w *Register) Name() string { return "register" }

func (w *Register) Clients(n int) int { return n * orInt(w.ClientsPerNd, 2) }

func (w *Register) keys() int { return orInt(w.Keys, 3) }

func orInt(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}

func (w *Register) life() time.Duration {
	if w.KeyLife <= 0 {
		return 10 * time.Second
	}
	return w.KeyLife
}

func (w *Register) key(cl *Conn) string {
	gen := cl.env.History.Now() / int64(w.life())
	return "r:" + strconv.FormatInt(gen, 10) + ":" + strconv.Itoa(cl.Rand.IntN(w.keys()))
}

func (w *Register) Step(cl *Conn) {
	key := w.key(cl)
	r := cl.Rand.IntN(100)
	switch {
	case r < 35:
		op := &Op{Kind: "set", Key: key, Value: cl.nextToken()}
		vs, err := cl.do(op, []string{"SET", key, op.Value})
		cl.recordWrite(op, first(vs), err)
	case r < 45:
		op := &Op{Kind: "del", Key: key}
		vs, err := cl.do(op, []string{"DEL", key})
		v := first(vs)
		if err == nil && v.Kind == ':' {
			op.Int = v.Int
		}
		cl.recordWrite(op, v, err)
	default:
		// Reads: consistent most often (they carry the strongest claim),
		// default by LEVELGET 0 or plain GET, and stale.
		op := &Op{Kind: "get", Key: key}
		var cmd []string
		switch x := cl.Rand.IntN(100); {
		case x < 45:
			op.Level, cmd = 2, []string{"LEVELGET", key, "2"}
		case x < 65:
			op.Level, cmd = 0, []string{"LEVELGET", key, "0"}
		case x < 80:
			op.Level, cmd = 0, []string{"GET", key}
		default:
			op.Level, cmd = 1, []string{"LEVELGET", key, "1"}
		}
		vs, err := cl.do(op, cmd)
		v := first(vs)
		if err == nil && v.Kind == '$' {
			op.Result, op.Null = string(v.Str), v.Null
		} else if err == nil && v.Kind != '-' {
			op.Outcome, op.Err = Fail, "unexpected reply "+v.String()
			cl.env.History.Add(op)
			return
		}
		cl.recordRead(op, v, err)
	}
}

func first(vs []Value) Value {
	if len(vs) == 0 {
		return Value{}
	}
	return vs[len(vs)-1]
}

func (w *Register) Final(env *Env) error {
	f := newFinalReader(env)
	defer f.close()
	return f.get(w.Name(), opKeys(env.History.Ops(), w.Name())...)
}

func opKeys(ops []*Op, wl string) []string {
	seen := map[string]bool{}
	var keys []string
	for _, o := range ops {
		if o.Workload != wl {
			continue
		}
		for _, k := range append([]string{o.Key}, o.Keys...) {
			if k != "" && !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// regIn and regOut are porcupine's inputs and outputs.
type regIn struct {
	Op      string // set, del, get
	Key     string
	Value   string
	Unknown bool  // a write whose outcome is unknown: its reply says nothing
	Count   int64 // DEL's reply
}

type regOut struct {
	Value string
	Null  bool
}

type regState struct {
	Value string
	Null  bool
}

// registerModel is a register per key: SET writes, DEL deletes (and
// answers 1 only if the key existed), GET reads.
var registerModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		var keys []string
		for _, o := range h {
			k := o.Input.(regIn).Key
			if _, ok := by[k]; !ok {
				keys = append(keys, k)
			}
			by[k] = append(by[k], o)
		}
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, by[k])
		}
		return out
	},
	Init: func() any { return regState{Null: true} },
	Step: func(state, input, output any) (bool, any) {
		s, in := state.(regState), input.(regIn)
		switch in.Op {
		case "set":
			return true, regState{Value: in.Value}
		case "del":
			if !in.Unknown && (in.Count == 1) == s.Null {
				return false, s
			}
			return true, regState{Null: true}
		default:
			out := output.(regOut)
			return out.Null == s.Null && (out.Null || out.Value == s.Value), s
		}
	},
	DescribeOperation: func(input, output any) string {
		in := input.(regIn)
		switch in.Op {
		case "set":
			if in.Unknown {
				return fmt.Sprintf("set(%s) ?", in.Value)
			}
			return fmt.Sprintf("set(%s)", in.Value)
		case "del":
			if in.Unknown {
				return "del() ?"
			}
			return fmt.Sprintf("del() -> %d", in.Count)
		}
		out := output.(regOut)
		if out.Null {
			return "get() -> nil"
		}
		return "get() -> " + out.Value
	},
	DescribeState: func(state any) string {
		s := state.(regState)
		if s.Null {
			return "nil"
		}
		return s.Value
	},
}

// regHistory turns the workload's writes (acknowledged or unknown) and its
// successful reads at the given levels into porcupine operations, grouped
// by key. Unknown writes stay open until after the last operation.
func regHistory(ops []*Op, levels map[int]bool) map[string][]porcupine.Operation {
	var end int64
	for _, o := range ops {
		end = max(end, o.Return, o.Call)
	}
	end++
	by := map[string][]porcupine.Operation{}
	for _, o := range ops {
		var in regIn
		var out regOut
		switch {
		case (o.Kind == "set" || o.Kind == "del") && o.Outcome != Fail:
			in = regIn{Op: o.Kind, Key: o.Key, Value: o.Value, Unknown: o.Outcome == Unknown, Count: o.Int}
		case o.Kind == "get" && o.Outcome == OK && levels[o.Level]:
			in = regIn{Op: "get", Key: o.Key}
			out = regOut{Value: o.Result, Null: o.Null}
		default:
			continue
		}
		ret := o.Return
		if ret < 0 {
			ret = end
		}
		client := o.Client
		if client < 0 {
			client = 1 << 20 // the final reader
		}
		by[o.Key] = append(by[o.Key], porcupine.Operation{ClientId: client, Input: in, Output: out, Call: o.Call, Return: ret, Metadata: o.ID})
	}
	return by
}

func (w *Register) Check(env *Env, ops []*Op) []Verdict {
	return []Verdict{
		checkLinearizable(env, "register: consistent reads (level 2) linearizable", "register-consistent", ops, map[int]bool{2: true}, false),
		checkLinearizable(env, "register: default reads (level 0) linearizable", "register-default", ops, map[int]bool{0: true}, true),
		checkReadValues(ops),
		staleReads(env, ops),
	}
}

// checkLinearizable runs porcupine on every key's history. On a violation
// it writes the key's visualisation and history into the results folder.
func checkLinearizable(env *Env, name, file string, ops []*Op, levels map[int]bool, informational bool) Verdict {
	v := Verdict{Checker: name, Valid: true, Informational: informational, Stats: map[string]any{}}
	by := regHistory(ops, levels)
	keys := make([]string, 0, len(by))
	for k, h := range by {
		keys = append(keys, k)
		v.Checked += len(h)
	}
	sort.Strings(keys)
	type result struct {
		key  string
		res  porcupine.CheckResult
		info porcupine.LinearizationInfo
	}
	results := make([]result, len(keys))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	timeout := env.CheckTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	for i, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			m := registerModel
			m.Partition = nil
			res, info := porcupine.CheckOperationsVerbose(m, by[k], timeout)
			results[i] = result{k, res, info}
		}()
	}
	wg.Wait()
	bad, unknown := 0, 0
	for _, r := range results {
		switch r.res {
		case porcupine.Ok:
		case porcupine.Unknown:
			unknown++
			v.Summary = "porcupine timed out on some keys"
		case porcupine.Illegal:
			bad++
			desc := describeIllegal(ops, by[r.key], r.info)
			if informational {
				v.Stats["non_linearizable_key_"+r.key] = desc
				v.Valid = true
			} else {
				v.addViolation("key %s is not linearizable:\n%s", r.key, desc)
			}
			if env.Out != "" && (!informational || bad <= 3) {
				html := filepath.Join(env.Out, fmt.Sprintf("%s-%s.html", file, strings.ReplaceAll(r.key, ":", "_")))
				if err := porcupine.VisualizePath(registerModel, r.info, html); err == nil {
					v.Files = append(v.Files, filepath.Base(html))
				}
			}
		}
	}
	v.Stats["keys"] = len(keys)
	v.Stats["non_linearizable_keys"] = bad
	v.Stats["timed_out_keys"] = unknown
	if v.Summary == "" {
		v.Summary = fmt.Sprintf("%d operations on %d keys, %d keys not linearizable", v.Checked, len(keys), bad)
	}
	return v
}

// describeIllegal prints the operations around the point where the
// longest linearization porcupine found got stuck: every op in the
// history, marked with * when it is in that partial linearization.
func describeIllegal(all []*Op, h []porcupine.Operation, info porcupine.LinearizationInfo) string {
	parts := info.PartialLinearizationsOperations()
	in := map[int]bool{}
	if len(parts) > 0 {
		var longest []porcupine.Operation
		for _, p := range parts[0] {
			if len(p) > len(longest) {
				longest = p
			}
		}
		for _, o := range longest {
			in[o.Metadata.(int)] = true
		}
	}
	byID := map[int]*Op{}
	for _, o := range all {
		byID[o.ID] = o
	}
	// The first op (by return) that no linearization could place, and
	// everything that overlaps it.
	var stuck *porcupine.Operation
	for i := range h {
		o := &h[i]
		if in[o.Metadata.(int)] {
			continue
		}
		if stuck == nil || o.Return < stuck.Return {
			stuck = o
		}
	}
	var b strings.Builder
	if stuck != nil {
		fmt.Fprintf(&b, "  no linearization places op %d: %s\n", stuck.Metadata.(int), describeOp(byID[stuck.Metadata.(int)]))
	}
	sorted := append([]porcupine.Operation(nil), h...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Call < sorted[j].Call })
	for _, o := range sorted {
		if stuck != nil && (o.Return < stuck.Call-int64(2*time.Second) || o.Call > stuck.Return+int64(500*time.Millisecond)) {
			continue // far from the stuck op
		}
		mark := " "
		if in[o.Metadata.(int)] {
			mark = "*"
		}
		fmt.Fprintf(&b, "  %s %s\n", mark, describeOp(byID[o.Metadata.(int)]))
	}
	return b.String()
}

func describeOp(o *Op) string {
	if o == nil {
		return "?"
	}
	ret := "   ...    "
	if o.Return >= 0 {
		ret = fmt.Sprintf("%10.3f", float64(o.Return)/1e9)
	}
	var what string
	switch o.Kind {
	case "set", "append", "txn-set":
		what = fmt.Sprintf("%s %s %s", o.Kind, o.Key, o.Value)
	case "del":
		what = fmt.Sprintf("del %s -> %d", o.Key, o.Int)
	case "incr":
		what = fmt.Sprintf("incr %s -> %d", o.Key, o.Int)
	case "txn-append":
		what = fmt.Sprintf("txn-append %v %s", o.Keys, o.Value)
	case "mget":
		what = fmt.Sprintf("mget %v -> %q", o.Keys, o.Results)
	default:
		r := strconv.Quote(o.Result)
		if o.Null {
			r = "nil"
		}
		what = fmt.Sprintf("%s@%d %s -> %s", o.Kind, o.Level, o.Key, r)
	}
	out := string(o.Outcome)
	if o.Err != "" {
		out += " (" + o.Err + ")"
	}
	return fmt.Sprintf("op %d [%10.3f, %s] client %d node n%d %s: %s", o.ID, float64(o.Call)/1e9, ret, o.Client, o.Node+1, what, out)
}

// checkReadValues: every value any read returned, at any level, was
// written to that key by a write that had begun, and whose outcome was not
// a certain failure: no invented, torn or phantom values.
func checkReadValues(ops []*Op) Verdict {
	v := Verdict{Checker: "register: every read returns a written value (all levels)", Valid: true}
	type w struct {
		call int64
		op   *Op
	}
	written := map[string]map[string]w{}
	for _, o := range ops {
		if o.Kind == "set" {
			if written[o.Key] == nil {
				written[o.Key] = map[string]w{}
			}
			written[o.Key][o.Value] = w{o.Call, o}
		}
	}
	for _, o := range ops {
		if o.Kind != "get" || o.Outcome != OK || o.Null {
			continue
		}
		v.Checked++
		src, ok := written[o.Key][o.Result]
		switch {
		case !ok:
			v.addViolation("read of a value never written: %s", describeOp(o))
		case src.op.Outcome == Fail:
			v.addViolation("read of a value whose write failed (%s): %s", describeOp(src.op), describeOp(o))
		case src.call > o.Return:
			v.addViolation("read of a value before its write began (%s): %s", describeOp(src.op), describeOp(o))
		}
	}
	v.Summary = fmt.Sprintf("%d non-nil reads checked, %d bad", v.Checked, len(v.Violations))
	return v
}

// staleReads counts reads that are certainly stale: the read returned a
// value (or nil) although a write of another value, which certainly came
// after every write that could have produced it, had been acknowledged
// before the read began. It is a lower bound on stale reads, and free of
// false positives. Consistent reads must have none; default and stale
// reads are measured, with default reads also counted inside the windows
// of leader partitions.
func staleReads(env *Env, ops []*Op) Verdict {
	v := Verdict{Checker: "register: certainly-stale reads (consistent: none allowed; default, stale: measured)", Valid: true, Stats: map[string]any{}}
	byKey := map[string][]*Op{}
	for _, o := range ops {
		byKey[o.Key] = append(byKey[o.Key], o)
	}
	type count struct{ reads, stale int }
	levels := map[int]*count{0: {}, 1: {}, 2: {}}
	window, pauses := &count{}, &count{}
	windows := env.leaderWindows(func(f *Fault) bool { return f.Kind != "pause" })
	pauseWindows := env.leaderWindows(func(f *Fault) bool { return f.Kind == "pause" })
	for _, kops := range byKey {
		var writes []*Op
		setBy := map[string]*Op{}
		for _, o := range kops {
			if (o.Kind == "set" || o.Kind == "del") && o.Outcome != Fail {
				writes = append(writes, o)
				if o.Kind == "set" {
					setBy[o.Value] = o
				}
			}
		}
		for _, r := range kops {
			if r.Kind != "get" || r.Outcome != OK {
				continue
			}
			// The writes that could have produced what r read.
			var sources []*Op
			if r.Null {
				for _, w := range writes {
					if w.Kind == "del" {
						sources = append(sources, w)
					}
				}
			} else if w := setBy[r.Result]; w != nil {
				sources = append(sources, w)
			} else {
				continue // checkReadValues reports it
			}
			stale := false
			for _, w2 := range writes {
				if w2.Outcome != OK || w2.Return >= r.Call {
					continue
				}
				if w2.Kind == "set" && !r.Null && w2.Value == r.Result {
					continue
				}
				if w2.Kind == "del" && r.Null {
					continue
				}
				after := true // w2 began after every source ended
				for _, s := range sources {
					if s.Return < 0 || s.Return >= w2.Call {
						after = false
						break
					}
				}
				if after {
					stale = true
					break
				}
			}
			c := levels[r.Level]
			c.reads++
			inWindow := r.Level == 0 && windows.contains(r.Call)
			inPause := r.Level == 0 && pauseWindows.contains(r.Call)
			if inWindow {
				window.reads++
			}
			if inPause {
				pauses.reads++
			}
			if stale {
				c.stale++
				if inWindow {
					window.stale++
				}
				if inPause {
					pauses.stale++
				}
				if r.Level == 2 {
					v.addViolation("consistent read is stale: %s", describeOp(r))
				}
			}
		}
	}
	for l, c := range levels {
		name := map[int]string{0: "default", 1: "stale", 2: "consistent"}[l]
		v.Stats[name+"_reads"] = c.reads
		v.Stats[name+"_stale"] = c.stale
		v.Stats[name+"_stale_fraction"] = frac(c.stale, c.reads)
		v.Checked += c.reads
	}
	v.Stats["default_reads_in_leader_partitions"] = window.reads
	v.Stats["default_stale_in_leader_partitions"] = window.stale
	v.Stats["default_stale_fraction_in_leader_partitions"] = frac(window.stale, window.reads)
	v.Stats["default_reads_in_leader_pauses"] = pauses.reads
	v.Stats["default_stale_in_leader_pauses"] = pauses.stale
	v.Summary = fmt.Sprintf("stale: consistent %d/%d, default %d/%d (in leader partitions %d/%d, in leader pauses %d/%d), stale-level %d/%d",
		levels[2].stale, levels[2].reads, levels[0].stale, levels[0].reads, window.stale, window.reads, pauses.stale, pauses.reads, levels[1].stale, levels[1].reads)
	return v
}

func frac(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
