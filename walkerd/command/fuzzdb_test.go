package command

import (
	"os"
	"sync"
	"testing"

	"github.com/walkerdb/walkerdb/engine"
)

var (
	fuzzOnce sync.Once
	fuzzEng  *engine.DB
)

// fuzzDB is one engine shared by all fuzz iterations of the process (an
// engine per iteration would be slow); it is never closed.
func fuzzDB(t *testing.T) *engine.DB {
	fuzzOnce.Do(func() {
		dir, err := osMkdirTemp()
		if err != nil {
			t.Fatal(err)
		}
		fuzzEng, err = engine.Open(dir, &engine.Options{Sync: engine.SyncNo, SegmentSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
	})
	return fuzzEng
}

func osMkdirTemp() (string, error) { return os.MkdirTemp("", "walkerd-fuzz-") }
