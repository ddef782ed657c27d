package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// Workload is a kind of client traffic and the checkers of its history.
type Workload interface {
	Name() string
	// Clients is how many client goroutines to run against a cluster of n
	// nodes; client i talks to node i%n only.
	Clients(n int) int
	// Step runs one operation (or a few: a transaction counts as one) as
	// client cl, and records it in cl's history.
	Step(cl *Conn)
	// Final reads the state the checkers compare against, after the
	// faults have stopped and the nodes converged. It records its reads as
	// operations too (client -1).
	Final(env *Env) error
	// Check checks the whole history (this workload's operations) and
	// returns one verdict per property.
	Check(env *Env, ops []*Op) []Verdict
}

// Verdict is one checker's conclusion.
type Verdict struct {
	Checker string `json:"checker"`
	// Valid is false on a violation. Informational verdicts (a property
	// walkerd does not promise, measured) never fail the run.
	Valid         bool           `json:"valid"`
	Informational bool           `json:"informational,omitempty"`
	Checked       int            `json:"checked"` // operations looked at
	Summary       string         `json:"summary"`
	Violations    []string       `json:"violations,omitempty"`
	Stats         map[string]any `json:"stats,omitempty"`
	Files         []string       `json:"files,omitempty"` // written into the results folder
}

// addViolation records a violation, keeping the first 50 in full.
func (v *Verdict) addViolation(format string, args ...any) {
	v.Valid = false
	if len(v.Violations) < 50 {
		v.Violations = append(v.Violations, fmt.Sprintf(format, args...))
	} else if len(v.Violations) == 50 {
		v.Violations = append(v.Violations, "... (more)")
	}
}

// Conn is one client: a connection to one node and a random source.
type Conn struct {
	ID   int
	Node *Node
	C    *Client
	Rand *rand.Rand
	env  *Env
	wl   string
	seq  int
}

// nextToken returns a value no other client or operation writes.
func (cl *Conn) nextToken() string {
	cl.seq++
	return strconv.Itoa(cl.ID) + "." + strconv.Itoa(cl.seq)
}

// do runs cmds as one pipeline for op, stamping its times and ids.
func (cl *Conn) do(op *Op, cmds ...[]string) ([]Value, error) {
	op.Client, op.Node, op.Workload = cl.ID, cl.Node.Index, cl.wl
	op.Call = cl.env.History.Now()
	vs, err := cl.C.Do(cmds...)
	op.Return = cl.env.History.Now()
	return vs, err
}

// record finishes a write: its outcome from the reply (the last one, for
// a pipeline) or the error, Return -1 when unknown.
func (cl *Conn) recordWrite(op *Op, v Value, err error) {
	op.Outcome, op.Err = classifyWrite(v, err)
	if op.Outcome == Unknown {
		op.Return = -1
	}
	cl.env.History.Add(op)
	cl.pace(op.Outcome != OK)
}

// recordRead finishes a read: ok with its value, or fail (no information).
func (cl *Conn) recordRead(op *Op, v Value, err error) bool {
	switch {
	case err != nil:
		op.Outcome, op.Err = Fail, err.Error()
	case v.Kind == '-':
		op.Outcome, op.Err = Fail, string(v.Str)
	default:
		op.Outcome = OK
	}
	cl.env.History.Add(op)
	cl.pace(op.Outcome != OK)
	return op.Outcome == OK
}

// pace spaces operations: a short random pause, longer after an error so
// that a client of an unavailable node does not spin.
func (cl *Conn) pace(failed bool) {
	d := time.Duration(cl.Rand.IntN(int(cl.env.Think) + 1))
	if failed {
		d += 100*time.Millisecond + time.Duration(cl.Rand.IntN(100))*time.Millisecond
	}
	time.Sleep(d)
}

// runClients runs w's clients until ctx is done.
func runClients(ctx context.Context, env *Env, w Workload, firstID int) (next int, wait func()) {
	n := len(env.Cluster.Nodes)
	k := w.Clients(n)
	done := make(chan struct{}, k)
	for i := range k {
		cl := &Conn{
			ID:   firstID + i,
			Node: env.Cluster.Nodes[i%n],
			Rand: rand.New(rand.NewPCG(uint64(env.Seed), uint64(firstID+i))),
			env:  env,
			wl:   w.Name(),
		}
		cl.C = NewClient(cl.Node.RESP, env.Timeout)
		go func() {
			defer func() { done <- struct{}{} }()
			defer cl.C.Close()
			for ctx.Err() == nil {
				w.Step(cl)
			}
		}()
	}
	return firstID + k, func() {
		for range k {
			<-done
		}
	}
}

// finalClient returns a client for reads after the run, on whichever node
// answers.
type finalReader struct {
	env *Env
	cls []*Client
}

func newFinalReader(env *Env) *finalReader {
	f := &finalReader{env: env}
	for _, n := range env.Cluster.Nodes {
		f.cls = append(f.cls, NewClient(n.RESP, 5*time.Second))
	}
	return f
}

func (f *finalReader) close() {
	for _, c := range f.cls {
		c.Close()
	}
}

// get reads keys at level 2 (consistent), pipelined in batches, trying
// every node in turn until one answers each batch; each read is recorded
// as an op of workload wl by client -1.
func (f *finalReader) get(wl string, keys ...string) error {
	const batch = 100
	for len(keys) > 0 {
		chunk := keys[:min(batch, len(keys))]
		if err := f.getBatch(wl, chunk); err != nil {
			return err
		}
		keys = keys[len(chunk):]
	}
	return nil
}

func (f *finalReader) getBatch(wl string, keys []string) error {
	cmds := make([][]string, len(keys))
	for i, k := range keys {
		cmds[i] = []string{"LEVELGET", k, "2"}
	}
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		c := f.cls[i%len(f.cls)]
		call := f.env.History.Now()
		vs, err := c.Do(cmds...)
		ret := f.env.History.Now()
		ok := err == nil
		for _, v := range vs {
			ok = ok && v.Kind == '$'
		}
		if !ok {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		for j, v := range vs {
			f.env.History.Add(&Op{Client: -1, Node: i % len(f.cls), Workload: wl, Kind: "get", Key: keys[j], Level: 2,
				Call: call, Return: ret, Outcome: OK, Result: string(v.Str), Null: v.Null})
		}
		return nil
	}
	return fmt.Errorf("final reads of %d keys from %s: no node answered consistent reads", len(keys), keys[0])
}
