package command

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func TestResult_TouchedKeysNameRedisEvents(t *testing.T) {
	a := newApplier(t)
	a.do("SET", "n", "1")
	for _, c := range []struct {
		cmd  string
		want string // "db:key:event ..."
	}{
		{"SET k v", "0:k:set"},
		{"SET k v EX 10", "0:k:set 0:k:expire"},
		{"SET k v NX", ""},
		{"INCRBY n 2", "0:n:incrby"},
		{"INCRBYFLOAT n 1.5", "0:n:incrbyfloat"},
		{"APPEND k x", "0:k:append"},
		{"SETRANGE k 0 y", "0:k:setrange"},
		{"MSET a 1 b 2", "0:a:set 0:b:set"},
		{"EXPIRE a 100", "0:a:expire"},
		{"PERSIST a", "0:a:persist"},
		{"EXPIRE b -1", "0:b:del"},
		{"RENAME a c", "0:a:rename_from 0:c:rename_to"},
		{"DEL c nope", "0:c:del"},
		{"GETDEL k", "0:k:del"},
		{"GET n", ""},
		{"FLUSHALL", touchAll()},
	} {
		res, err := ApplyEntry(a.db, a.next(), &Entry{NowMs: a.now, Cmds: [][][]byte{cmd(strings.Fields(c.cmd)...)}})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tc := range res.Touched {
			got = append(got, fmt.Sprintf("%d:%s:%s", tc.DB, tc.Key, tc.Event))
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s touched %q, want %q", c.cmd, strings.Join(got, " "), c.want)
		}
	}
	// A transaction reports the touches of all its commands, in order, in
	// the databases they ran in.
	res, _ := ApplyEntry(a.db, a.next(), &Entry{NowMs: a.now, Exec: true, Cmds: [][][]byte{cmd("SET", "x", "1"), cmd("SELECT", "3"), cmd("DEL", "nope"), cmd("SET", "y", "2")}})
	if len(res.Touched) != 2 || res.Touched[0].DB != 0 || res.Touched[1].DB != 3 || string(res.Touched[1].Key) != "y" {
		t.Fatalf("EXEC touched %+v", res.Touched)
	}
}

func touchAll() string {
	var s []string
	for d := range Databases {
		s = append(s, fmt.Sprintf("%d::flushdb", d))
	}
	return strings.Join(s, " ")
}

func (a *applier) next() uint64 { a.index++; return a.index }

func TestReply_EncodesAndDecodesEveryKind(t *testing.T) {
	var r Recorder
	r.Array(12)
	r.Status("OK")
	r.Error("ERR bad\x00thing")
	r.Int(math.MinInt64)
	r.Bulk([]byte("\r\n\x00"))
	r.BulkString("")
	r.Null()
	r.NullArray()
	r.Map(1)
	r.BulkString("k")
	r.Set(0)
	r.Double(math.Inf(-1))
	r.Bool(true)
	r.Double(0.1)
	r.Int(7)
	got, err := DecodeReply(EncodeReply(r.R))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r.R) && !sameReply(got, r.R) {
		t.Fatalf("round trip:\n%v\n%v", got, r.R)
	}
	res := &Result{Replies: []Reply{r.R, ErrorReply("ERR x")}, Aborted: true, Error: "ERR whole", Index: 1 << 40, Term: 7}
	back, err := DecodeResult(EncodeResult(res))
	if err != nil || back.Error != res.Error || !back.Aborted || len(back.Replies) != 2 || !sameReply(back.Replies[0], r.R) ||
		back.Index != res.Index || back.Term != res.Term {
		t.Fatalf("result round trip: %+v %v", back, err)
	}
	// The same tokens reach a Writer as went in.
	var again Recorder
	got.WriteTo(&again)
	if !sameReply(again.R, r.R) {
		t.Fatal("WriteTo replays something else")
	}
}

func sameReply(a, b Reply) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Kind != b[i].Kind || a[i].N != b[i].N || !bytes.Equal(a[i].S, b[i].S) ||
			(a[i].F != b[i].F && !(math.IsNaN(a[i].F) && math.IsNaN(b[i].F))) {
			return false
		}
	}
	return true
}

func FuzzDecodeResult(f *testing.F) {
	var r Recorder
	r.Array(2)
	r.Bulk([]byte("v"))
	r.Double(1.5)
	f.Add(EncodeResult(&Result{Replies: []Reply{r.R, ErrorReply("ERR e")}}))
	f.Add(EncodeResult(&Result{Aborted: true}))
	f.Add([]byte{1, 0, 0, 5})
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := DecodeResult(b)
		if err != nil {
			if !errors.Is(err, ErrBadReply) {
				t.Fatalf("error %v does not wrap ErrBadReply", err)
			}
			return
		}
		// What decodes re-encodes to what decodes alike.
		again, err := DecodeResult(EncodeResult(res))
		if err != nil || again.Error != res.Error || again.Aborted != res.Aborted || len(again.Replies) != len(res.Replies) ||
			again.Index != res.Index || again.Term != res.Term {
			t.Fatalf("re-encoding changed the result: %v", err)
		}
		for i := range res.Replies {
			if !sameReply(res.Replies[i], again.Replies[i]) {
				t.Fatalf("reply %d changed", i)
			}
		}
	})
}

// Applying entries as one batch leaves exactly the state, WATCH versions
// included, that applying them one at a time leaves: only the grouping
// differs between nodes, never the data.
func TestApplier_BatchesLeaveTheStateOneAtATimeLeaves(t *testing.T) {
	one, batched := newApplier(t), newApplier(t)
	r := rand.New(rand.NewPCG(5, 6))
	now := int64(1_700_000_000_000)
	ap := NewApplier(batched.db)
	var inBatch int
	for i := range 2000 {
		e := randomEntry(r, now)
		now += int64(r.IntN(50))
		index := uint64(i + 1)
		ea, _ := DecodeEntry(e.Encode())
		eb, _ := DecodeEntry(e.Encode())
		want, err := ApplyEntry(one.db, index, ea)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ap.Apply(index, eb)
		if err != nil {
			t.Fatal(err)
		}
		if render(got, eb.Exec) != render(want, ea.Exec) {
			t.Fatalf("entry %d %q: batched reply %q, one at a time %q", i, e.Cmds, render(got, eb.Exec), render(want, ea.Exec))
		}
		if inBatch++; inBatch == 1+r.IntN(64) || i == 1999 {
			if err := ap.Commit(); err != nil {
				t.Fatal(err)
			}
			inBatch = 0
		}
	}
	if da, db := dump(t, one.db), dump(t, batched.db); da != db {
		t.Fatalf("states differ:\n%s\n---\n%s", da, db)
	}
}

func TestApply_TransactionWalksItsOwnWritesInKeyOrder(t *testing.T) {
	a := newApplier(t)
	a.do("MSET", "a", "1", "b", "2", "c", "3", "d", "4")
	inTx := a.apply(&Entry{Exec: true, Cmds: [][][]byte{
		cmd("DEL", "b"), cmd("SET", "e", "5"), cmd("SET", "aa", "6"), cmd("SET", "t", "x", "PX", "1"), cmd("KEYS", "*"), cmd("DBSIZE"),
	}})
	after := a.read("KEYS", "*")
	if !strings.HasSuffix(inTx, after+":6\r\n") {
		t.Fatalf("KEYS inside the transaction:\n%q\nwant the order KEYS gives after it:\n%q", inTx, after)
	}
	// After FLUSHDB in a transaction the engine's keys are gone, and only
	// the transaction's own writes remain.
	got := a.apply(&Entry{Exec: true, Cmds: [][][]byte{cmd("FLUSHDB"), cmd("SET", "z", "1"), cmd("KEYS", "*"), cmd("RANDOMKEY")}})
	if got != "*4\r\n+OK\r\n+OK\r\n*1\r\n$1\r\nz\r\n$1\r\nz\r\n" {
		t.Fatalf("after FLUSHDB: %q", got)
	}
}
