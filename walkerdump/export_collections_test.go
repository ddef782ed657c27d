package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// collModel is one collection as the test writes it and expects it back.
type collModel struct {
	typ   keyspace.Type
	hash  map[string]string
	list  []string
	set   map[string]bool
	zset  map[string]float64
	exp   int64
	extra []byte // list head: nil for ListStart
}

// elements are the model's (element bytes, value) pairs in the layout of
// internal/keyspace, sorted sets with their by-score index entries.
func (c *collModel) elements() (elems []keyspace.Element, count int64) {
	switch c.typ {
	case keyspace.Hash:
		for f, v := range c.hash {
			elems = append(elems, keyspace.Element{Name: []byte(f), Value: []byte(v)})
		}
		return elems, int64(len(c.hash))
	case keyspace.Set:
		for m := range c.set {
			elems = append(elems, keyspace.Element{Name: []byte(m)})
		}
		return elems, int64(len(c.set))
	case keyspace.List:
		head, _ := keyspace.ListHead(c.extra)
		for i, v := range c.list {
			elems = append(elems, keyspace.Element{Pos: head + uint64(i), Value: []byte(v)})
		}
		return elems, int64(len(c.list))
	case keyspace.ZSet:
		for m, s := range c.zset {
			elems = append(elems, keyspace.Element{Name: []byte(m), Score: s}, keyspace.Element{Name: []byte(m), Score: s, Index: true})
		}
		return elems, int64(len(c.zset))
	}
	panic("not a collection")
}

// writeColl writes a collection as walkerd lays it out: its metadata and
// one sub-key per element (two per sorted set member), in one batch.
func writeColl(t *testing.T, db *engine.DB, dbi int, key string, version uint64, c *collModel) {
	t.Helper()
	elems, n := c.elements()
	var b engine.Batch
	b.PutWithExpiry(keyspace.MetaKey(dbi, []byte(key)), keyspace.AppendCollection(nil, c.typ, version, n, c.extra), c.exp)
	for _, e := range elems {
		b.Put(keyspace.SubKey(dbi, []byte(key), version, keyspace.ElemKey(c.typ, e)), keyspace.ElemValue(c.typ, e))
	}
	if err := db.Write(&b); err != nil {
		t.Fatal(err)
	}
}

// collectionsDir is makeDir plus collections of every type in several
// databases: big ones (more elements, or more bytes, than one export
// command holds), binary fields and members, a list whose head has moved,
// sorted set scores at the edges of float64, collections with a TTL and
// one already expired, and dead versions (a hash deleted, one overwritten
// by a string, one recreated under a new version) whose sub-keys are still
// stored. It returns the directory and the live collections by database.
func collectionsDir(t *testing.T) (string, map[int]map[string]*collModel) {
	t.Helper()
	dir := makeDir(t)
	db, err := engine.Open(dir, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	live := map[int]map[string]*collModel{}
	put := func(dbi int, key string, version uint64, c *collModel) {
		writeColl(t, db, dbi, key, version, c)
		if c.exp != 0 && c.exp <= time.Now().UnixMilli() {
			return
		}
		if live[dbi] == nil {
			live[dbi] = map[string]*collModel{}
		}
		live[dbi][key] = c
	}
	bigHash := map[string]string{}
	for i := range 700 {
		bigHash[fmt.Sprintf("field:%d", i)] = fmt.Sprintf("value %d", i)
	}
	bigHash["\xff\x00binary"] = "\x80\x81"
	bigHash[""] = ""
	fatHash := map[string]string{}
	for i := range 5 {
		fatHash[strconv.Itoa(i)] = strings.Repeat(string(rune('a'+i)), 400<<10) // 2 MiB in all
	}
	var bigList []string
	for i := range 600 {
		bigList = append(bigList, fmt.Sprintf("e%d", i))
	}
	bigList = append(bigList, "", "dup", "dup", "\x00\xfe")
	bigSet := map[string]bool{"\xc3\x28": true, "": true}
	for i := range 530 {
		bigSet[fmt.Sprintf("m%d", i)] = true
	}
	zs := map[string]float64{
		"ninf": math.Inf(-1), "pinf": math.Inf(1), "zero": 0, "negzero": math.Copysign(0, -1),
		"tenth": 0.1, "third": 1.0 / 3, "tiny": math.SmallestNonzeroFloat64, "huge": math.MaxFloat64,
		"neg": -2.5, "big": 1e21, "exp": 1.2345678901234567e-300, "tie1": 7, "tie2": 7, "\xff\xfe": 42,
	}
	for i := range 300 {
		zs[fmt.Sprintf("z%03d", i)] = float64(i) / 7
	}
	put(0, "hash", keyspace.NewVersion(10, 0), &collModel{typ: keyspace.Hash, hash: bigHash})
	put(0, "fat", keyspace.NewVersion(11, 0), &collModel{typ: keyspace.Hash, hash: fatHash})
	put(0, "list", keyspace.NewVersion(12, 0), &collModel{typ: keyspace.List, list: bigList, extra: keyspace.EncodeListHead(keyspace.ListStart - 3)})
	put(0, "set", keyspace.NewVersion(13, 0), &collModel{typ: keyspace.Set, set: bigSet})
	put(0, "zset", keyspace.NewVersion(14, 0), &collModel{typ: keyspace.ZSet, zset: zs})
	put(1, "\xff{tag}list", keyspace.NewVersion(15, 0), &collModel{typ: keyspace.List, list: []string{"a", "b", "c"}, exp: farFuture})
	put(1, "ttlhash", keyspace.NewVersion(16, 0), &collModel{typ: keyspace.Hash, hash: map[string]string{"f": "v"}, exp: farFuture})
	put(1, "ttlset", keyspace.NewVersion(17, 0), &collModel{typ: keyspace.Set, set: map[string]bool{"x": true}, exp: farFuture})
	put(1, "ttlzset", keyspace.NewVersion(18, 0), &collModel{typ: keyspace.ZSet, zset: map[string]float64{"x": -1}, exp: farFuture})
	put(1, "gone", keyspace.NewVersion(19, 0), &collModel{typ: keyspace.Set, set: map[string]bool{"expired": true}, exp: farPast})
	put(15, "h", keyspace.NewVersion(20, 0), &collModel{typ: keyspace.Hash, hash: map[string]string{"k": "v"}})

	// Dead versions: a deleted hash, a set overwritten by a string, and a
	// list recreated under a new version, all with their old sub-keys left
	// for walkerd's sweep.
	writeColl(t, db, 2, "deleted", keyspace.NewVersion(30, 0), &collModel{typ: keyspace.Hash, hash: map[string]string{"old": "x"}})
	if err := db.Delete(keyspace.MetaKey(2, []byte("deleted"))); err != nil {
		t.Fatal(err)
	}
	writeColl(t, db, 2, "overwritten", keyspace.NewVersion(31, 0), &collModel{typ: keyspace.Set, set: map[string]bool{"old": true}})
	if err := db.Put(keyspace.MetaKey(2, []byte("overwritten")), keyspace.EncodeString([]byte("now a string"))); err != nil {
		t.Fatal(err)
	}
	writeColl(t, db, 2, "recreated", keyspace.NewVersion(32, 0), &collModel{typ: keyspace.List, list: []string{"old1", "old2"}})
	put(2, "recreated", keyspace.NewVersion(33, 0), &collModel{typ: keyspace.List, list: []string{"new"}})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	mustRun(t, 0, "hint", dir)
	return dir, live
}

// stringModel is exportModel without the collections.
func stringModel(t *testing.T, dir string) map[int]map[string]string {
	t.Helper()
	out := map[int]map[string]string{}
	for db, kvs := range exportModel(t, dir) {
		for k, v := range kvs {
			if out[db] == nil {
				out[db] = map[string]string{}
			}
			out[db][k] = v.Value
		}
	}
	return out
}

func TestExport_EveryTypeLoadsIntoRedisWithContentsAndTTLs(t *testing.T) {
	port := startRedis(t)
	dir, colls := collectionsDir(t)
	stream, errs, code := runCmd(t, "export", dir)
	if code != exitOK {
		t.Fatalf("export: exit %d: %s", code, errs)
	}
	for _, want := range []string{" collections with ", "elements of deleted, overwritten or expired collections"} {
		if !strings.Contains(errs, want) {
			t.Errorf("export summary lacks %q: %s", want, errs)
		}
	}
	if strings.Contains(errs, "warning") {
		t.Errorf("export warns on a sound directory: %s", errs)
	}
	// Big collections come in bounded commands.
	if n := strings.Count(stream, "\r\nHSET\r\n$4\r\nhash\r\n"); n < 3 {
		t.Errorf("the 702-field hash came in %d HSETs, want batches of at most %d", n, exportBatchElems)
	}
	if n := strings.Count(stream, "\r\nHSET\r\n$3\r\nfat\r\n"); n < 2 {
		t.Errorf("the 2 MiB hash came in %d HSETs, want batches of about %d bytes", n, exportBatchBytes)
	}
	if strings.Contains(stream, "old") {
		t.Error("the export holds an element of a dead collection version")
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

	strs := stringModel(t, dir)
	ctx := context.Background()
	now := time.Now().UnixMilli()
	checkTTL := func(c *redis.Client, db int, k string, exp int64) {
		t.Helper()
		ttl, err := c.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case exp == 0 && ttl != -1:
			t.Errorf("db %d %q: PTTL %v, want none", db, k, ttl)
		case exp != 0:
			if d := ttl.Milliseconds() - (exp - now); d < -5000 || d > 5000 {
				t.Errorf("db %d %q: PTTL %v, want about %dms", db, k, ttl, exp-now)
			}
		}
	}
	checked := map[keyspace.Type]int{}
	for db := range keyspace.Databases {
		c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + port, DB: db})
		defer c.Close()
		n, err := c.DBSize(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		if int(n) != len(strs[db])+len(colls[db]) {
			t.Errorf("db %d: %d keys in redis, want %d strings and %d collections", db, n, len(strs[db]), len(colls[db]))
		}
		for k, v := range strs[db] {
			if got, err := c.Get(ctx, k).Result(); err != nil || got != v {
				t.Errorf("db %d GET %q = %q, %v; want %q", db, k, got, err, v)
			}
		}
		for k, m := range colls[db] {
			typ, err := c.Type(ctx, k).Result()
			if err != nil || typ != m.typ.String() {
				t.Errorf("db %d TYPE %q = %q, %v; want %s", db, k, typ, err, m.typ)
				continue
			}
			checked[m.typ]++
			switch m.typ {
			case keyspace.Hash:
				got, err := c.HGetAll(ctx, k).Result()
				if err != nil || !maps.Equal(got, m.hash) {
					t.Errorf("db %d HGETALL %q: %d fields, %v; want %d", db, k, len(got), err, len(m.hash))
				}
			case keyspace.List:
				got, err := c.LRange(ctx, k, 0, -1).Result()
				if err != nil || !slices.Equal(got, m.list) {
					t.Errorf("db %d LRANGE %q = %q, %v; want %q", db, k, got, err, m.list)
				}
			case keyspace.Set:
				got, err := c.SMembers(ctx, k).Result()
				gotSet := map[string]bool{}
				for _, x := range got {
					gotSet[x] = true
				}
				if err != nil || len(got) != len(m.set) || !maps.Equal(gotSet, m.set) {
					t.Errorf("db %d SMEMBERS %q: %d members, %v; want %d", db, k, len(got), err, len(m.set))
				}
			case keyspace.ZSet:
				// ZSCORE's text read back must be the very float64 written
				// (ZRANGE's reply goes through go-redis's parsing, the same).
				got, err := c.ZRangeWithScores(ctx, k, 0, -1).Result()
				if err != nil || len(got) != len(m.zset) {
					t.Errorf("db %d ZRANGE %q: %d members, %v; want %d", db, k, len(got), err, len(m.zset))
				}
				for _, z := range got {
					want, ok := m.zset[z.Member.(string)]
					if !ok || math.Float64bits(z.Score) != math.Float64bits(want) && !(z.Score == 0 && want == 0) {
						t.Errorf("db %d %q: member %q score %v (%#x), want %v (%#x)", db, k, z.Member, z.Score, math.Float64bits(z.Score), want, math.Float64bits(want))
					}
				}
			}
			checkTTL(c, db, k, m.exp)
		}
	}
	if len(checked) != 4 {
		t.Fatalf("types checked: %v", checked)
	}
}

func TestExport_JSONCarriesEveryTypeAndItsElements(t *testing.T) {
	dir, colls := collectionsDir(t)
	strs := stringModel(t, dir)
	out := mustRun(t, exitOK, "export", "--format", "json", dir)
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 64<<20)
	seen := 0
	for sc.Scan() {
		var j exportJSON
		if err := json.Unmarshal(sc.Bytes(), &j); err != nil {
			t.Fatalf("line %.200q: %v", sc.Text(), err)
		}
		key := decodeField(j.Key, j.KeyBase64)
		if j.Type == "string" {
			if v, ok := strs[j.DB][key]; !ok || v != decodeField(j.Value, j.ValueBase64) || j.Elements != nil {
				t.Errorf("db %d string %q: %+v", j.DB, key, j)
			}
			continue
		}
		m := colls[j.DB][key]
		if m == nil || m.typ.String() != j.Type || m.exp != j.ExpireAt || j.Value != nil || j.ValueBase64 != nil {
			t.Errorf("db %d %s %q: exported, want %+v", j.DB, j.Type, key, m)
			continue
		}
		seen++
		got := &collModel{typ: m.typ, hash: map[string]string{}, set: map[string]bool{}, zset: map[string]float64{}}
		for _, e := range j.Elements {
			name := decodeField(e.Field, e.FieldBase64) + decodeField(e.Member, e.MemberBase64)
			switch m.typ {
			case keyspace.Hash:
				got.hash[name] = decodeField(e.Value, e.ValueBase64)
			case keyspace.List:
				got.list = append(got.list, decodeField(e.Value, e.ValueBase64))
			case keyspace.Set:
				got.set[name] = true
			case keyspace.ZSet:
				f, err := strconv.ParseFloat(e.Score, 64)
				if err != nil {
					t.Fatalf("score %q: %v", e.Score, err)
				}
				got.zset[name] = f
			}
		}
		ok := false
		switch m.typ {
		case keyspace.Hash:
			ok = maps.Equal(got.hash, m.hash) && len(j.Elements) == len(m.hash)
		case keyspace.List:
			ok = slices.Equal(got.list, m.list)
		case keyspace.Set:
			ok = maps.Equal(got.set, m.set) && len(j.Elements) == len(m.set)
		case keyspace.ZSet:
			ok = len(j.Elements) == len(m.zset) && maps.EqualFunc(got.zset, m.zset, func(a, b float64) bool {
				return math.Float64bits(a) == math.Float64bits(b)
			})
		}
		if !ok {
			t.Errorf("db %d %s %q: elements differ from what was written", j.DB, j.Type, key)
		}
	}
	want := 0
	for _, c := range colls {
		want += len(c)
	}
	if seen != want {
		t.Fatalf("%d collections exported, want %d", seen, want)
	}
}

func TestInspectAndDump_ShowTypesAndElementCounts(t *testing.T) {
	dir, _ := collectionsDir(t)
	var j inspectJSON
	if err := json.Unmarshal([]byte(mustRun(t, exitOK, "inspect", "--json", dir)), &j); err != nil {
		t.Fatal(err)
	}
	ks := j.Keyspace
	// db1's expired set still counts: inspect counts what is stored.
	if ks.Databases["db0"]["hash"] != 2 || ks.Databases["db0"]["list"] != 1 || ks.Databases["db0"]["set"] != 1 || ks.Databases["db0"]["zset"] != 1 ||
		ks.Databases["db1"]["set"] != 2 || ks.Databases["db2"]["list"] != 1 || ks.Databases["db15"]["hash"] != 1 {
		t.Errorf("keys by type: %v", ks.Databases)
	}
	wantEl := map[string]int64{"hash": 702 + 5 + 1 + 1, "list": 604 + 3 + 1, "set": 532 + 1 + 1, "zset": 314 + 1}
	if !maps.Equal(ks.ElementsByType, wantEl) || ks.DeadElements != 4 {
		t.Errorf("elements by type %v, dead %d; want %v, 4", ks.ElementsByType, ks.DeadElements, wantEl)
	}
	text := mustRun(t, exitOK, "inspect", dir)
	if !strings.Contains(text, "(709 hash, 608 list, 534 set, 315 zset, 4 of deleted or overwritten collections, not yet swept)") {
		t.Errorf("inspect text lacks the element counts:\n%s", text)
	}

	dump := mustRun(t, exitOK, "dump", "--keys-only", dir)
	for _, want := range []string{
		`db0 list "list" [v=12582912 count=604 head=-3]`,
		`db0 list "list" v=12582912 elem 0x7ffffffffffffffd [pos=-3]`,
		`db0 zset "zset" [v=14680064 count=314]`,
		`db0 zset "zset" v=14680064 elem "mtenth" [member "tenth" score=0.10000000000000001]`,
		`[by-score index: score=-inf member "ninf"]`,
		`db0 hash "hash" [v=10485760 count=702]`,
		`db0 set "set" v=13631488 elem "m0"`,
	} {
		if !strings.Contains(dump, want) {
			t.Errorf("dump lacks %q", want)
		}
	}
}
