package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/walkerdb/walkerdb/engine/enginetest"
	"github.com/walkerdb/walkerdb/internal/harness"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// exportModel is what export should write of strings: every unexpired
// string key of the directory, by database, from the records as the test
// decodes them.
func exportModel(t *testing.T, dir string) map[int]map[string]enginetest.KV {
	t.Helper()
	m := map[int]map[string]enginetest.KV{}
	for k, v := range enginetest.Unexpired(enginetest.Readable(enginetest.AllRecords(t, dir), nil)) {
		db, key, ok := keyspace.SplitMeta([]byte(k))
		if !ok {
			continue
		}
		meta, err := keyspace.DecodeMeta([]byte(v.Value))
		if err != nil {
			t.Fatalf("key %q: %v", k, err)
		}
		if meta.Type != keyspace.String {
			continue
		}
		v.Value = string(meta.Value)
		if m[db] == nil {
			m[db] = map[string]enginetest.KV{}
		}
		m[db][string(key)] = v
	}
	return m
}

// startRedis starts a redis-server for the test (see harness.StartRedis)
// and returns its port.
func startRedis(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Skip("redis-cli is not installed (apt-get install redis-tools): skipping the export round trip")
	}
	addr, _ := harness.StartRedis(t)
	_, port, _ := net.SplitHostPort(addr)
	return port
}

func TestExport_RESPLoadsIntoRedisWithValuesAndTTLs(t *testing.T) {
	port := startRedis(t)
	dir := makeDir(t)
	want := exportModel(t, dir)
	stream, errs, code := runCmd(t, "export", dir)
	if code != exitOK {
		t.Fatalf("export: exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, `1 internal (internal member "1"), 1 outside walkerd's layout (raw 4078)`) {
		t.Errorf("export summary: %s", errs)
	}
	file := filepath.Join(t.TempDir(), "dump.resp")
	if err := os.WriteFile(file, []byte(stream), 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	pipe := exec.Command("redis-cli", "-p", port, "--pipe")
	pipe.Stdin = in
	out, err := pipe.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "errors: 0") {
		t.Fatalf("redis-cli --pipe: %v\n%s", err, out)
	}

	ctx := context.Background()
	now := time.Now().UnixMilli()
	keys := 0
	for db := range keyspace.Databases {
		c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + port, DB: db})
		n, err := c.DBSize(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		if int(n) != len(want[db]) {
			t.Errorf("db %d: %d keys in redis, want %d", db, n, len(want[db]))
		}
		for k, v := range want[db] {
			keys++
			got, err := c.Get(ctx, k).Result()
			if err != nil || got != v.Value {
				t.Errorf("db %d GET %q = %q, %v; want %q", db, k, got, err, v.Value)
			}
			ttl, err := c.PTTL(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case v.ExpireAt == 0 && ttl != -1:
				t.Errorf("db %d %q: PTTL %v, want none", db, k, ttl)
			case v.ExpireAt != 0:
				if d := ttl.Milliseconds() - (v.ExpireAt - now); d < -5000 || d > 5000 {
					t.Errorf("db %d %q: PTTL %v, want about %dms", db, k, ttl, v.ExpireAt-now)
				}
			}
		}
		c.Close()
	}
	if keys < 50 || len(want) < 4 {
		t.Fatalf("only %d keys in %d databases: the test checks little", keys, len(want))
	}
}

func TestExport_JSONLinesAreBinarySafe(t *testing.T) {
	dir := makeDir(t)
	want := exportModel(t, dir)
	out := mustRun(t, exitOK, "export", "--format", "json", dir)
	got := map[int]map[string]enginetest.KV{}
	sc := bufio.NewScanner(strings.NewReader(out))
	binary := 0
	for sc.Scan() {
		var j exportJSON
		if err := json.Unmarshal(sc.Bytes(), &j); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if (j.Key == nil) == (j.KeyBase64 == nil) || (j.Value == nil) == (j.ValueBase64 == nil) {
			t.Fatalf("line %q: want exactly one of key/key_base64 and of value/value_base64", sc.Text())
		}
		if j.KeyBase64 != nil || j.ValueBase64 != nil {
			binary++
		}
		if got[j.DB] == nil {
			got[j.DB] = map[string]enginetest.KV{}
		}
		got[j.DB][decodeField(j.Key, j.KeyBase64)] = enginetest.KV{Value: decodeField(j.Value, j.ValueBase64), ExpireAt: j.ExpireAt}
	}
	if binary == 0 {
		t.Fatal("no binary key or value in the export: the test checks no encoding")
	}
	for db := range keyspace.Databases {
		if len(want[db]) > 0 || len(got[db]) > 0 {
			t.Run(fmt.Sprintf("db%d", db), func(t *testing.T) { enginetest.SameKVs(t, got[db], want[db]) })
		}
	}
}

func TestExport_RefusesADamagedDirectory(t *testing.T) {
	for _, scanned := range []bool{true, false} {
		t.Run(fmt.Sprintf("hint removed=%v", scanned), func(t *testing.T) {
			dir := makeDir(t)
			if scanned {
				os.Remove(filepath.Join(dir, "000000006.hint"))
			} // else the damage hides behind a valid hint until the value is read
			segs := enginetest.AllRecords(t, dir)
			r := enginetest.LiveRecord(t, segs, 5)
			enginetest.FlipBytes(t, enginetest.Segments(t, dir)[5], r.Off+r.Size-1, r.Off+r.Size)
			_, errs, code := runCmd(t, "export", dir)
			if code != exitError || !strings.Contains(errs, fmt.Sprintf("segment 6 offset %d", r.Off)) || !strings.Contains(errs, "walkerdump recover") {
				t.Fatalf("export of a damaged directory: exit %d: %s", code, errs)
			}
		})
	}
}
