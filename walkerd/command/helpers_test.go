package command

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/walkerdb/walkerdb/engine"
)

func openDB(t testing.TB) *engine.DB {
	t.Helper()
	db, err := engine.Open(t.TempDir(), &engine.Options{Sync: engine.SyncNo})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func cmd(args ...string) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = []byte(a)
	}
	return out
}

// applier applies entries to one engine with growing indexes.
type applier struct {
	t     testing.TB
	db    *engine.DB
	index uint64
	now   int64
}

func newApplier(t testing.TB) *applier {
	return &applier{t: t, db: openDB(t), now: 1_700_000_000_000}
}

func (a *applier) apply(e *Entry) string {
	a.index++
	if e.NowMs == 0 {
		e.NowMs = a.now
	}
	reply, err := ApplyEntry(a.db, a.index, e)
	if err != nil {
		a.t.Fatalf("apply %d: %v", a.index, err)
	}
	return string(reply)
}

func (a *applier) do(args ...string) string {
	return a.apply(&Entry{Cmds: [][][]byte{cmd(args...)}})
}

func (a *applier) read(args ...string) string {
	return string(Read(a.db, 0, a.now, cmd(args...), nil))
}

// dump renders every engine record: key, value, expiry and seq.
func dump(t testing.TB, db *engine.DB) string {
	t.Helper()
	var b bytes.Buffer
	var start []byte
	for {
		items, next, err := db.Scan(engine.ScanOptions{Start: start, Limit: 1000, IncludeExpired: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			m, ok, err := rawMeta(db, it.Key)
			if err != nil || !ok {
				t.Fatalf("meta of %q: %v %v", it.Key, ok, err)
			}
			fmt.Fprintf(&b, "%q=%q exp=%d seq=%d\n", it.Key, it.Value, it.ExpireAt, m.Seq)
		}
		if next == nil {
			return b.String()
		}
		start = next
	}
}
