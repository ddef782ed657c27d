package server

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/walkerd/backend"
)

// loadingBackend is a standalone backend that says whether it is ready,
// as store.Store does.
type loadingBackend struct {
	backend.Backend
	ready atomic.Bool
}

func (b *loadingBackend) Ready() bool { return b.ready.Load() }

// TestLoading: while the backend is not ready, commands without the
// "loading" flag answer Redis's LOADING error, PING included, and those
// with it (INFO, ECHO, SELECT, COMMAND, MULTI) run; a transaction that
// queued a refused command aborts. Once ready, everything runs.
func TestLoading(t *testing.T) {
	db, err := engine.Open(t.TempDir(), &engine.Options{Sync: engine.SyncNo})
	if err != nil {
		t.Fatal(err)
	}
	b := &loadingBackend{Backend: backend.NewStandalone(db)}
	ts := startServerOn(t, b, Config{})
	c := dial(t, ts.addr)
	if !ts.loading() {
		t.Fatal("loading() is false while the backend is not ready")
	}
	const loadingErr = "-LOADING Redis is loading the dataset in memory"
	for _, cmd := range [][]string{{"PING"}, {"GET", "k"}, {"SET", "k", "v"}, {"DBSIZE"}, {"FLUSHALL"}} {
		if got := c.must(t, cmd...); got != loadingErr {
			t.Errorf("%v while loading: %s, want %s", cmd, got, loadingErr)
		}
	}
	if got := c.must(t, "ECHO", "hi"); got != `"hi"` {
		t.Errorf("ECHO while loading: %s", got)
	}
	if got := c.must(t, "SELECT", "1"); got != "+OK" {
		t.Errorf("SELECT while loading: %s", got)
	}
	if got := c.must(t, "INFO", "server"); !strings.Contains(got, "redis_version") {
		t.Errorf("INFO while loading: %.80s", got)
	}
	if got := c.must(t, "COMMAND", "COUNT"); !strings.HasPrefix(got, ":") {
		t.Errorf("COMMAND COUNT while loading: %s", got)
	}
	if got := c.must(t, "MULTI"); got != "+OK" {
		t.Fatalf("MULTI while loading: %s", got)
	}
	if got := c.must(t, "SET", "k", "v"); got != loadingErr {
		t.Errorf("SET queued while loading: %s", got)
	}
	if got := c.must(t, "EXEC"); !strings.HasPrefix(got, "-EXECABORT") {
		t.Errorf("EXEC after a refused command: %s", got)
	}

	b.ready.Store(true)
	if ts.loading() {
		t.Fatal("loading() is true once the backend is ready")
	}
	if got := c.must(t, "PING"); got != "+PONG" {
		t.Errorf("PING once ready: %s", got)
	}
	if got := c.must(t, "SET", "k", "v"); got != "+OK" {
		t.Errorf("SET once ready: %s", got)
	}
	if got := c.must(t, "GET", "k"); got != `"v"` {
		t.Errorf("GET once ready: %s", got)
	}
}

// TestLoadingStandalone: a backend without Ready (standalone) is never
// loading.
func TestLoadingStandalone(t *testing.T) {
	ts := startServer(t, Config{})
	if ts.loading() {
		t.Fatal("a standalone server is loading")
	}
	if got := dial(t, ts.addr).must(t, "PING"); got != "+PONG" {
		t.Errorf("PING: %s", got)
	}
}
