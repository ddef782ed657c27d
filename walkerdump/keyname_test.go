package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/engine/enginetest"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

func TestKeyName_NamesEveryKindOfEngineKey(t *testing.T) {
	hash := keyspace.AppendCollection(nil, keyspace.Hash, 7, 1, nil)
	for _, tc := range []struct {
		key, meta []byte
		want      string
	}{
		{keyspace.MetaKey(0, []byte("user:1")), keyspace.EncodeString([]byte("v")), `db0 string "user:1"`},
		{keyspace.MetaKey(15, []byte("user:1")), nil, `db15 key "user:1"`},
		{keyspace.MetaKey(3, []byte("h")), hash, `db3 hash "h"`},
		{keyspace.MetaKey(1, []byte{0xff, 0xfe}), keyspace.EncodeString(nil), `db1 string 0xfffe`},
		{keyspace.MetaKey(0, []byte("odd")), []byte{0x41}, `db0 type?65 "odd"`},
		{keyspace.SubKey(3, []byte("h"), 7, []byte("f")), hash, `db3 hash "h" v=7 elem "f"`},
		{keyspace.SubKey(3, []byte("h"), 7, []byte("f")), nil, `db3 key "h" v=7 elem "f"`},
		{keyspace.MemberKey([]byte("n1")), nil, `internal member "n1"`},
		{keyspace.PlacementKey, nil, `internal placement`},
		{[]byte{keyspace.Internal, 'x', 1}, nil, `internal 0xff7801`},
		{[]byte{0x40, 'x'}, nil, `raw 4078`},
		{[]byte{0x10, 0, 0}, nil, `raw 100000`}, // a sub-key that does not parse
		{[]byte{0x00}, nil, `raw 00`},           // too short for a metadata key
	} {
		if got := keyName(tc.key, tc.meta); got != tc.want {
			t.Errorf("keyName(%x, %x) = %s, want %s", tc.key, tc.meta, got, tc.want)
		}
	}
}

// collectionDir is makeDir with a hash of two fields in database 1, its
// metadata written before its elements as walkerd writes them, and one
// field deleted.
func collectionDir(t *testing.T) string {
	t.Helper()
	dir := makeDir(t)
	db, err := engine.Open(dir, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	var b engine.Batch
	b.Put(keyspace.MetaKey(1, []byte("h")), keyspace.AppendCollection(nil, keyspace.Hash, 7, 2, nil))
	b.Put(keyspace.SubKey(1, []byte("h"), 7, []byte("f1")), []byte("v1"))
	b.Put(keyspace.SubKey(1, []byte("h"), 7, []byte("f2")), []byte("v2"))
	if err := db.Write(&b); err != nil {
		t.Fatal(err)
	}
	if err := db.Delete(keyspace.SubKey(1, []byte("h"), 7, []byte("f2"))); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestDump_NamesKeysByDatabaseTypeAndUserKey(t *testing.T) {
	dir := collectionDir(t)
	out := mustRun(t, exitOK, "dump", "--keys-only", dir)
	for _, want := range []string{
		`segment 1 offset 0 put seq 0 db0 string "user:0"`,
		` put+batch seq `, ` db1 hash "h"`,
		` db1 hash "h" v=7 elem "f1"`,
		`delete seq `, ` db1 hash "h" v=7 elem "f2"`,
		` put seq `, ` internal member "1"`,
		` raw 4078`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dump lacks %q", want)
		}
	}
	// A tombstone of a metadata key has no value to type it.
	var tomb string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, " delete seq ") && strings.Contains(l, " db") && !strings.Contains(l, " elem ") {
			tomb = l
			break
		}
	}
	if !strings.Contains(tomb, " key \"user:") && !strings.Contains(tomb, " key 0x") {
		t.Errorf("a metadata key's tombstone: %q, want its type as \"key\"", tomb)
	}
	if strings.Contains(out, `"\x00`) {
		t.Errorf("dump shows raw engine keys (a database byte):\n%s", out)
	}

	// JSON lines carry the same names.
	js := mustRun(t, exitOK, "dump", "--json", "--keys-only", dir)
	if !strings.Contains(js, `"name":"db1 hash \"h\" v=7 elem \"f1\""`) || !strings.Contains(js, `"name":"internal member \"1\""`) {
		t.Errorf("dump --json lacks the names of keys")
	}
}

func TestDump_SegmentFlagHelpMatchesItsDefault(t *testing.T) {
	out := mustRun(t, exitOK, "dump", "--help")
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "--segment") {
			line = l
		}
	}
	if !strings.Contains(line, "(default: every segment)") || strings.Contains(line, "default: 0") {
		t.Errorf("--segment help %q: want it to say that every segment is the default", line)
	}
}

func TestInspect_CountsKeysByDatabaseAndTypeAndNamesTheRest(t *testing.T) {
	dir := collectionDir(t)
	out := mustRun(t, exitOK, "inspect", dir)
	for _, want := range []string{
		"keys by database and type: db0 ",
		"; db1 1 hash, ",
		"collection elements: 1 sub-keys (1 hash)\n",
		`internal keys: 1 (internal member "1")`,
		`keys outside walkerd's layout: 1 (raw 4078)`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect lacks %q:\n%s", want, out)
		}
	}
	var j inspectJSON
	if err := json.Unmarshal([]byte(mustRun(t, exitOK, "inspect", "--json", dir)), &j); err != nil {
		t.Fatal(err)
	}
	ks := j.Keyspace
	if ks.Databases["db1"]["hash"] != 1 || ks.Elements != 1 || ks.Internal != 1 || ks.Outside != 1 || ks.Error != "" ||
		fmt.Sprint(ks.Examples) != `[internal member "1" raw 4078]` {
		t.Errorf("inspect --json keyspace: %+v", ks)
	}
}

func TestExport_SummaryNamesTheKeysItSkips(t *testing.T) {
	dir := collectionDir(t)
	_, errs, code := runCmd(t, "export", "--json", dir)
	// The hash's metadata counts 2 fields, one of which was deleted.
	want := `1 internal (internal member "1"), 1 outside walkerd's layout (raw 4078); warning: 1 collection elements or counts that do not match their metadata (db1 hash "h")`
	if code != exitOK || !strings.Contains(errs, want) {
		t.Errorf("export: exit %d, summary %q; want it to hold %q", code, errs, want)
	}
}

func TestInspect_DamageStopsTheKeyCountNotTheReport(t *testing.T) {
	dir := makeDir(t)
	segs := enginetest.AllRecords(t, dir)
	r := enginetest.LiveRecord(t, segs, 5)
	enginetest.FlipBytes(t, enginetest.Segments(t, dir)[5], r.Off+r.Size-1, r.Off+r.Size)
	out := mustRun(t, exitOK, "inspect", dir)
	if !strings.Contains(out, "the key count stopped at damage (run verify): ") || !strings.Contains(out, "garbage ratio") {
		t.Errorf("inspect of a directory with a damaged value behind a valid hint:\n%s", out)
	}
}
