package main

import (
	"path/filepath"
	"testing"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/server"
)

// protected-mode and the client limits load from a config file as Redis
// writes them (one client-output-buffer-limit line per class), and
// --protected-mode sets protected mode as the DENIED reply tells users to.
func TestConfigFile_ProtectedModeAndClientLimits(t *testing.T) {
	db, err := engine.Open(t.TempDir(), &engine.Options{Sync: engine.SyncNo})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv := server.New(backend.NewStandalone(db), server.Config{})
	defer srv.Close()

	path := writeFile(t, filepath.Join(t.TempDir(), "walkerd.conf"),
		"protected-mode no\n"+
			"proto-max-bulk-len 2mb\n"+
			"client-query-buffer-limit 64mb\n"+
			"client-output-buffer-limit normal 4mb 1mb 10\n"+
			"client-output-buffer-limit pubsub 64mb 16mb 90\n")
	ctx, fc, err := loadWith(t, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := applyServerConfig(srv, fc); err != nil {
		t.Fatal(err)
	}
	if err := applyProtectedMode(ctx, srv); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"protected-mode":             "no",
		"proto-max-bulk-len":         "2097152",
		"client-query-buffer-limit":  "67108864",
		"client-output-buffer-limit": "normal 4194304 1048576 10 slave 268435456 67108864 60 pubsub 67108864 16777216 90",
	} {
		if got, _ := srv.GetConfig(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}

	ctx, _, err = loadWith(t, writeFile(t, filepath.Join(t.TempDir(), "empty.conf"), ""), "--protected-mode", "maybe")
	if err != nil {
		t.Fatal(err)
	}
	if err := applyProtectedMode(ctx, srv); err == nil {
		t.Error("--protected-mode maybe was taken")
	}
	ctx, _, _ = loadWith(t, writeFile(t, filepath.Join(t.TempDir(), "empty.conf"), ""), "--protected-mode", "YES")
	if err := applyProtectedMode(ctx, srv); err != nil {
		t.Fatal(err)
	}
	if got, _ := srv.GetConfig("protected-mode"); got != "yes" {
		t.Errorf("after --protected-mode YES: %s", got)
	}
}
