package backend_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

func set(t *testing.T, key, value string) *command.Entry {
	t.Helper()
	args := [][]byte{[]byte("SET"), []byte(key), []byte(value)}
	now := time.Now().UnixMilli()
	p := command.Lookup(args[0]).ParseArgs(args, now)
	if p.Err != nil {
		t.Fatal(p.Err)
	}
	return &command.Entry{NowMs: now, Cmds: [][][]byte{args}, Parsed: []command.Parsed{p}}
}

// With appendfsync always (NewStandaloneGroupCommit) a write's records wait
// in the engine's buffer until the fsync that covers it, which writes them
// first, with those of the writers it gathered. Apply returns only after
// that: every value it acknowledged is in a segment file (where a crash of
// the process keeps it, and the fsync made it durable), read from the
// files themselves while the DB is still open.
func TestStandaloneGroupCommit_AppliedWritesAreInTheFile(t *testing.T) {
	dir := t.TempDir()
	db, err := engine.Open(dir, &engine.Options{Sync: engine.SyncNo})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b := backend.NewStandaloneGroupCommit(db)
	const writers, writes = 8, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range writes {
				if _, err := b.Apply(set(t, fmt.Sprint("k", w, ":", i), fmt.Sprintf("value-%d-%d-acked", w, i))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	segs, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("segments %v, %v", segs, err)
	}
	var all []byte
	for _, s := range segs {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	for w := range writers {
		for i := range writes {
			if v := fmt.Sprintf("value-%d-%d-acked", w, i); !bytes.Contains(all, []byte(v)) {
				t.Fatalf("%s was acknowledged but is not in the segment files", v)
			}
		}
	}
	st, err := db.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Fsyncs == 0 {
		t.Fatal("no fsync covered the writes")
	}
}
