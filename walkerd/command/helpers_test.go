package command

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/resp"
)

// rawMeta looks an engine key up whatever its expiry.
func rawMeta(db *engine.DB, k []byte) (m engine.Meta, err error) {
	err = db.View(0, func(v *engine.View) error {
		m, err = v.LookupAny(k)
		return err
	})
	return m, err
}

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
	res, err := ApplyEntry(a.db, a.index, e)
	if err != nil {
		a.t.Fatalf("apply %d: %v", a.index, err)
	}
	return render(res, e != nil && e.Exec)
}

// render encodes a result as the server sends it to a RESP2 client: the
// reply of one command, or EXEC's array.
func render(res *Result, exec bool) string {
	e := &resp.Encoder{Proto: 2}
	switch {
	case res.Error != "":
		e.Error(res.Error)
	case res.Aborted:
		e.NullArray()
	case exec:
		e.Array(len(res.Replies))
		for _, r := range res.Replies {
			r.WriteTo(e)
		}
	default:
		res.Reply().WriteTo(e)
	}
	return string(e.B)
}

// read runs a read as the server does and renders its RESP2 reply.
func read(db *engine.DB, dbi int, now int64, args [][]byte) string {
	e := &resp.Encoder{Proto: 2}
	if err := Read(db, dbi, now, nil, args, e); err != nil {
		return "-ERR " + err.Error() + "\r\n"
	}
	return string(e.B)
}

func (a *applier) do(args ...string) string {
	return a.apply(&Entry{Cmds: [][][]byte{cmd(args...)}})
}

func (a *applier) read(args ...string) string {
	return read(a.db, 0, a.now, cmd(args...))
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
			m, err := rawMeta(db, it.Key)
			if err != nil {
				t.Fatalf("meta of %q: %v", it.Key, err)
			}
			fmt.Fprintf(&b, "%q=%q exp=%d seq=%d\n", it.Key, it.Value, it.ExpireAt, m.Seq)
		}
		if next == nil {
			return b.String()
		}
		start = next
	}
}
