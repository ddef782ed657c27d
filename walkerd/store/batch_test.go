package store

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

var _ raft.BatchingFSM = (*fsm)(nil)

func logOf(index uint64, args ...string) *raft.Log {
	return &raft.Log{Index: index, Type: raft.LogCommand, Data: entry(args...)}
}

// A batch of log entries is one engine batch, stamped with its newest
// index, and a restart that replays the log (or any part of it) gives
// exact totals: nothing is applied twice.
func TestFSM_ApplyBatchIsOneEngineWriteAndRestartsApplyNothingTwice(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	f := testFSM(t, dir)
	var logs []*raft.Log
	for i := uint64(1); i <= 100; i++ {
		logs = append(logs, logOf(i, "INCR", "n"))
	}
	// Raft hands configuration entries to a BatchingFSM too: they are not
	// commands, and get no result.
	logs = append(logs, &raft.Log{Index: 101, Type: raft.LogConfiguration})
	before := f.engine().Seq()
	out := f.ApplyBatch(logs)
	for i, r := range out[:100] {
		if got := render(r.(*command.Result)); got != ":"+strconv.Itoa(i+1)+"\r\n" {
			t.Fatalf("entry %d replied %q", i+1, got)
		}
	}
	if out[100] != nil {
		t.Fatalf("configuration entry got %v", out[100])
	}
	if got := f.engine().Seq(); before != 0 || got != 100 {
		t.Fatalf("engine seq %d -> %d, want 0 -> 100", before, got)
	}
	if st, _ := f.engine().Stats(); st.Keys != 1 {
		t.Fatalf("%d engine keys after 100 INCRs of one key", st.Keys)
	}
	f.close()

	// Raft replays from some index at or below the applied one, in
	// batches of any size.
	f = testFSM(t, dir)
	var replay []*raft.Log
	for i := uint64(40); i <= 150; i++ {
		replay = append(replay, logOf(i, "INCR", "n"))
	}
	for len(replay) > 0 {
		n := min(len(replay), 7)
		f.ApplyBatch(replay[:n])
		replay = replay[n:]
	}
	if got := get(t, f, "n"); got != "$3\r\n150\r\n" {
		t.Fatalf("n = %q after replaying 40..150 over 100 applied, want 150", got)
	}
}

// An undecodable entry fails alike on every node and still counts as
// applied; the entries around it in the batch apply.
func TestFSM_ApplyBatchRefusesAnUndecodableEntryAlone(t *testing.T) {
	f := testFSM(t, filepath.Join(t.TempDir(), "data"))
	out := f.ApplyBatch([]*raft.Log{logOf(1, "SET", "a", "1"), {Index: 2, Type: raft.LogCommand, Data: []byte{9, 9}}, logOf(3, "SET", "b", "2")})
	if render(out[0].(*command.Result)) != "+OK\r\n" || render(out[2].(*command.Result)) != "+OK\r\n" {
		t.Fatalf("neighbours: %v %v", out[0], out[2])
	}
	if msg, _ := out[1].(*command.Result).Reply().Err(); !strings.Contains(msg, "malformed") {
		t.Fatalf("undecodable entry: %q", msg)
	}
	if f.applied.Load() != 3 {
		t.Fatalf("applied %d", f.applied.Load())
	}
}

// The leader parses a command once: the entry it proposes carries the
// parsed arguments, and its own state machine applies them as they are
// instead of decoding and parsing the log's bytes again. Shown here with
// an entry whose parsed form says something else than its bytes (which a
// real proposer never does): the leader's state machine follows the
// parsed form.
func TestStore_TheLeaderAppliesWhatItParsed(t *testing.T) {
	s := openSingle(t)
	now := time.Now().UnixMilli()
	args := [][]byte{[]byte("INCRBY"), []byte("n"), []byte("5")}
	p := command.Lookup(args[0]).ParseArgs(args, now)
	p.Args = int64(7)
	res, err := s.Apply(&command.Entry{NowMs: now, Cmds: [][][]byte{args}, Parsed: []command.Parsed{p}})
	if err != nil {
		t.Fatal(err)
	}
	if got := render(res); got != ":7\r\n" {
		t.Fatalf("INCRBY n 5 with parsed increment 7 replied %q: the state machine parsed the bytes again", got)
	}
	// Without a parsed form, the bytes are decoded and parsed.
	res, _ = s.Apply(&command.Entry{NowMs: now, Cmds: [][][]byte{args}})
	if got := render(res); got != ":12\r\n" {
		t.Fatalf("INCRBY n 5 replied %q", got)
	}
	if n := len(s.fsm.proposed); n != 0 {
		t.Fatalf("%d proposed entries left registered", n)
	}
}

// The replicated core never speaks RESP and never reaches up into the
// server: store imports neither the server nor the RESP package.
func TestStore_ImportsNeitherTheServerNorRESP(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasSuffix(p, "/walkerd/server") || strings.HasSuffix(p, "/internal/resp") || strings.Contains(p, "redcon") {
				t.Errorf("%s imports %s", name, p)
			}
		}
	}
}
