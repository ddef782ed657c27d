package store

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// collCmd is one write of the collection script, in database db.
type collCmd struct {
	db   int
	args []string
}

// collScript writes collections of every type whose commands walkerd has
// (each command is kept only if command.Lookup knows it): big ones, binary
// fields and members, a list pushed at both ends and popped, sorted set
// scores at the edges of float64 and updated, fields and members removed,
// a TTL, another database, and dead versions (a collection deleted and
// made again, one overwritten by a string, one deleted).
func collScript(round int) []collCmd {
	var s []collCmd
	add := func(db int, args ...string) {
		if command.Lookup([]byte(args[0])) != nil {
			s = append(s, collCmd{db, args})
		}
	}
	r := strconv.Itoa(round)
	many := func(db int, cmd, key string, n int, f func(i int) []string) {
		for lo := 0; lo < n; lo += 100 {
			args := []string{cmd, key}
			for i := lo; i < min(n, lo+100); i++ {
				args = append(args, f(i)...)
			}
			add(db, args...)
		}
	}
	many(0, "HSET", "h", 300, func(i int) []string { return []string{"f" + strconv.Itoa(i), "v" + r + ":" + strconv.Itoa(i)} })
	add(0, "HDEL", "h", "f5", "f6")
	add(0, "HSET", "hb", "\xff\x00"+r, "\x80\x00", "", "empty field")
	add(0, "PEXPIRE", "h", "100000000")
	many(0, "RPUSH", "l", 250, func(i int) []string { return []string{"e" + r + ":" + strconv.Itoa(i)} })
	add(0, "LPUSH", "l", "x"+r, "y"+r)
	add(0, "LPOP", "l")
	add(0, "RPOP", "l")
	add(0, "RPUSH", "l", "", "\x00\xff", "dup", "dup")
	many(0, "SADD", "s", 250, func(i int) []string { return []string{"m" + r + ":" + strconv.Itoa(i)} })
	add(0, "SREM", "s", "m"+r+":7")
	add(0, "SADD", "s", "\xc3\x28", "")
	add(0, "ZADD", "z", "1", "a", "2", "b", "-inf", "c", "+inf", "d", "0.1", "e", "1e300", "f", "-0", "g", "7", "tie1", "7", "tie2",
		"4.9406564584124654e-324", "tiny", "-1.7976931348623157e308", "most negative", "1", "\xff")
	many(0, "ZADD", "z", 250, func(i int) []string {
		return []string{strconv.FormatFloat(float64(i)/7, 'g', -1, 64), "z" + r + ":" + strconv.Itoa(i)}
	})
	add(0, "ZADD", "z", "3", "a")
	add(0, "ZINCRBY", "z", "0.5", "b")
	add(0, "ZREM", "z", "e")
	// Dead versions.
	add(0, "HSET", "dead", "old", "x")
	add(0, "DEL", "dead")
	add(0, "HSET", "dead", "new"+r, "y")
	add(0, "DEL", "ov")
	add(0, "SADD", "ov", "old")
	add(0, "SET", "ov", "a string now")
	add(0, "RPUSH", "gone", "old")
	add(0, "DEL", "gone")
	add(0, "ZADD", "gonez", "1", "old")
	add(0, "ZREM", "gonez", "old") // emptied: deleted
	// Another database.
	add(5, "SADD", "s5", "a", "b", "c"+r)
	add(5, "HSET", "h5", "f", "v"+r)
	add(5, "RPUSH", "l5", "a", "b")
	add(5, "ZADD", "z5", "-2.5", "m")
	return s
}

// applyScript applies the script to f as log entries from index next on,
// and returns the next free index.
func applyScript(t *testing.T, f *fsm, next uint64, script []collCmd) uint64 {
	t.Helper()
	for _, c := range script {
		args := make([][]byte, len(c.args))
		for i, a := range c.args {
			args[i] = []byte(a)
		}
		data := (&command.Entry{NowMs: time.Now().UnixMilli(), DB: c.db, Cmds: [][][]byte{args}}).Encode()
		res, _ := f.Apply(&raft.Log{Index: next, Type: raft.LogCommand, Data: data}).(*command.Result)
		if msg, isErr := res.Reply().Err(); res.Error != "" || isErr {
			t.Fatalf("db %d %q: %s %s", c.db, c.args, res.Error, msg)
		}
		next++
	}
	return next
}

// rawKeys is every user-data engine key (metadata and sub-keys) with its
// value and expiry: what a node holds, byte for byte.
func rawKeys(t *testing.T, db *engine.DB) []engine.KV {
	t.Helper()
	items, _, err := db.Scan(engine.ScanOptions{End: keyspace.SubSpace(keyspace.Databases), IncludeExpired: true})
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// normScore is a score as text for comparing: shortest exact form, -0 as 0
// (Redis replies 0 for it).
func normScore(f float64) string {
	if f == 0 {
		f = 0
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// decodedView reads every live key of db from its engine keys with
// internal/keyspace's decoders (no command code): "db/key" -> type, TTL
// and contents in a canonical text. It checks the layout's own invariants
// on the way: a list's positions are [head, head+count), a sorted set's
// by-member and by-score sub-keys match, counts match the metadata.
func decodedView(t *testing.T, db *engine.DB) (view map[string]string, dead int) {
	t.Helper()
	type coll struct {
		name  string
		meta  keyspace.Meta
		exp   int64
		elems []keyspace.Element
	}
	view = map[string]string{}
	live := map[string]*coll{}
	var order []*coll
	now := time.Now().UnixMilli()
	for _, kv := range rawKeys(t, db) {
		if dbi, key, ok := keyspace.SplitMeta(kv.Key); ok {
			if kv.ExpireAt != 0 && kv.ExpireAt <= now {
				continue
			}
			m, err := keyspace.DecodeMeta(kv.Value)
			if err != nil {
				t.Fatalf("metadata of %q: %v", key, err)
			}
			name := fmt.Sprintf("%d/%q", dbi, key)
			if m.Type == keyspace.String {
				view[name] = fmt.Sprintf("string exp=%v %q", kv.ExpireAt != 0, m.Value)
				continue
			}
			c := &coll{name: name, meta: m, exp: kv.ExpireAt}
			live[string(keyspace.SubPrefix(dbi, key, m.Version))] = c
			order = append(order, c)
			continue
		}
		p, err := keyspace.SplitSub(kv.Key)
		if err != nil {
			t.Fatal(err)
		}
		c := live[string(p.Prefix)]
		if c == nil {
			dead++
			continue
		}
		el, err := keyspace.DecodeElem(c.meta.Type, p.Elem, kv.Value)
		if err != nil {
			t.Fatalf("%s: element %x: %v", c.name, p.Elem, err)
		}
		if kv.ExpireAt != 0 {
			t.Fatalf("%s: element %x has an expiry of its own", c.name, p.Elem)
		}
		el.Name, el.Value = bytes.Clone(el.Name), bytes.Clone(el.Value)
		c.elems = append(c.elems, el)
	}
	for _, c := range order {
		var parts []string
		switch c.meta.Type {
		case keyspace.Hash, keyspace.Set:
			for _, e := range c.elems {
				parts = append(parts, fmt.Sprintf("%q=%q", e.Name, e.Value))
			}
			sort.Strings(parts)
		case keyspace.List:
			head, err := keyspace.ListHead(c.meta.Extra)
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range c.elems { // sub-key order is position order
				if e.Pos != head+uint64(i) {
					t.Fatalf("%s: element %d at position %d, want head %d + %d", c.name, i, e.Pos, head, i)
				}
				parts = append(parts, fmt.Sprintf("%q", e.Value))
			}
		case keyspace.ZSet:
			byMember := map[string]float64{}
			var index []keyspace.Element
			for _, e := range c.elems {
				if e.Index {
					index = append(index, e)
				} else {
					byMember[string(e.Name)] = e.Score
				}
			}
			if len(index) != len(byMember) {
				t.Fatalf("%s: %d by-score sub-keys for %d members", c.name, len(index), len(byMember))
			}
			for _, e := range index { // by-score order: Redis's order
				if s, ok := byMember[string(e.Name)]; !ok || normScore(s) != normScore(e.Score) {
					t.Fatalf("%s: by-score sub-key %q %v, by-member %v %v", c.name, e.Name, e.Score, s, ok)
				}
				parts = append(parts, fmt.Sprintf("%q=%s", e.Name, normScore(e.Score)))
			}
		}
		n := int64(len(parts))
		if n != c.meta.Count {
			t.Fatalf("%s: %d elements, metadata counts %d", c.name, n, c.meta.Count)
		}
		view[c.name] = fmt.Sprintf("%s exp=%v [%s]", c.meta.Type, c.exp != 0, strings.Join(parts, " "))
	}
	return view, dead
}

// commandView reads the same keys through walkerd's read commands (TYPE,
// PTTL, GET, HGETALL, LRANGE, SMEMBERS, ZRANGE WITHSCORES) in decodedView's
// canonical text.
func commandView(t *testing.T, db *engine.DB, keys []string) map[string]string {
	t.Helper()
	read := func(dbi int, args ...string) resp.Value {
		t.Helper()
		bs := make([][]byte, len(args))
		for i, a := range args {
			bs[i] = []byte(a)
		}
		e := &resp.Encoder{Proto: 2}
		if err := command.Read(db, dbi, time.Now().UnixMilli(), nil, bs, e); err != nil {
			t.Fatal(err)
		}
		v, _, err := resp.Parse(e.B)
		if err != nil || v.Kind == resp.KindError {
			t.Fatalf("%q: %v %v", args, v, err)
		}
		return v
	}
	view := map[string]string{}
	for _, name := range keys {
		dbs, quoted, _ := strings.Cut(name, "/")
		dbi, _ := strconv.Atoi(dbs)
		key, err := strconv.Unquote(quoted)
		if err != nil {
			t.Fatal(err)
		}
		typ := string(read(dbi, "TYPE", key).Str)
		exp := read(dbi, "PTTL", key).Int != -1
		var parts []string
		switch typ {
		case "string":
			view[name] = fmt.Sprintf("string exp=%v %q", exp, read(dbi, "GET", key).Str)
			continue
		case "hash":
			v := read(dbi, "HGETALL", key)
			for i := 0; i+1 < len(v.Elems); i += 2 {
				parts = append(parts, fmt.Sprintf("%q=%q", v.Elems[i].Str, v.Elems[i+1].Str))
			}
			sort.Strings(parts)
		case "set":
			for _, e := range read(dbi, "SMEMBERS", key).Elems {
				parts = append(parts, fmt.Sprintf("%q=%q", e.Str, ""))
			}
			sort.Strings(parts)
		case "list":
			for _, e := range read(dbi, "LRANGE", key, "0", "-1").Elems {
				parts = append(parts, fmt.Sprintf("%q", e.Str))
			}
		case "zset":
			v := read(dbi, "ZRANGE", key, "0", "-1", "WITHSCORES")
			for i := 0; i+1 < len(v.Elems); i += 2 {
				f, err := strconv.ParseFloat(string(v.Elems[i+1].Str), 64)
				if err != nil {
					t.Fatal(err)
				}
				parts = append(parts, fmt.Sprintf("%q=%s", v.Elems[i].Str, normScore(f)))
			}
		default:
			t.Fatalf("%s: TYPE %q", name, typ)
		}
		view[name] = fmt.Sprintf("%s exp=%v [%s]", typ, exp, strings.Join(parts, " "))
	}
	return view
}

// checkViews checks that db's engine keys decode (internal/keyspace) to
// what walkerd's commands read, and returns the decoded view.
func checkViews(t *testing.T, db *engine.DB) map[string]string {
	t.Helper()
	dec, _ := decodedView(t, db)
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range dec {
			if !yield(k) {
				return
			}
		}
	})
	cmd := commandView(t, db, keys)
	for _, k := range keys {
		if dec[k] != cmd[k] {
			t.Fatalf("%s: the engine keys decode to\n  %.300s\nbut walkerd's commands read\n  %.300s", k, dec[k], cmd[k])
		}
	}
	return dec
}

func sameViews(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %s is\n  %.300s\nwant\n  %.300s", what, k, got[k], w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %s is there, and was not", what, k)
		}
	}
}

// The layout walkerd's commands write is the one internal/keyspace
// decodes: every type's elements, read from the engine keys alone, are
// what HGETALL, LRANGE, SMEMBERS and ZRANGE answer.
func TestCollections_EngineKeysDecodeToWhatCommandsRead(t *testing.T) {
	f := testFSM(t, filepath.Join(t.TempDir(), "data"))
	applyScript(t, f, 1, collScript(0))
	view := checkViews(t, f.engine())
	types := map[string]bool{}
	for _, v := range view {
		types[strings.Fields(v)[0]] = true
	}
	t.Logf("types written: %v", types)
	if !types["hash"] || !types["list"] || !types["set"] {
		t.Fatalf("the script wrote only %v", types)
	}
	if _, dead := decodedView(t, f.engine()); dead == 0 {
		t.Fatal("the script left no dead versions: the test checks none")
	}
}

// A Raft snapshot carries collections whole: a new node restored from it
// holds the same engine keys byte for byte (dead versions included, for
// the sweep), reads the same contents, and applying the same entries
// after it keeps both nodes equal.
func TestCollections_SurviveASnapshotAndRestoreOnANewNode(t *testing.T) {
	leader := testFSM(t, filepath.Join(t.TempDir(), "data"))
	next := applyScript(t, leader, 1, collScript(0))
	want := checkViews(t, leader.engine())
	snap, err := leader.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil || sink.cancelled {
		t.Fatal(err)
	}
	snap.Release()
	wantRaw := rawKeys(t, leader.engine())

	node := testFSM(t, filepath.Join(t.TempDir(), "data"))
	applyScript(t, node, 1, collScript(9)) // what the new node held before: replaced whole
	if err := node.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	sameViews(t, "after restore", checkViews(t, node.engine()), want)
	if got := rawKeys(t, node.engine()); !slices.EqualFunc(got, wantRaw, func(a, b engine.KV) bool {
		return bytes.Equal(a.Key, b.Key) && bytes.Equal(a.Value, b.Value) && a.ExpireAt == b.ExpireAt
	}) {
		t.Fatalf("the restored node holds %d engine keys, not the leader's %d byte for byte", len(got), len(wantRaw))
	}
	if node.applied.Load() != next-1 {
		t.Fatalf("applied index %d after restore, want %d", node.applied.Load(), next-1)
	}
	// The log goes on from the snapshot on both.
	applyScript(t, leader, next, collScript(1))
	applyScript(t, node, next, collScript(1))
	sameViews(t, "after more writes", checkViews(t, node.engine()), checkViews(t, leader.engine()))
}

// An engine merge keeps every collection's elements (and the dead versions
// the sweep has not reclaimed), and so does reopening the merged files.
func TestCollections_SurviveAnEngineMerge(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	f := testFSM(t, dir)
	next := applyScript(t, f, 1, collScript(0))
	next = applyScript(t, f, next, collScript(1)) // overwrite much of it: garbage to merge away
	want := checkViews(t, f.engine())
	_, wantDead := decodedView(t, f.engine())
	before, _ := f.engine().Stats()
	if err := f.engine().Merge(); err != nil {
		t.Fatal(err)
	}
	after, _ := f.engine().Stats()
	t.Logf("merge: %+v -> %+v", before, after)
	sameViews(t, "after merge", checkViews(t, f.engine()), want)
	f.close()
	f = testFSM(t, dir)
	sameViews(t, "after merge and reopen", checkViews(t, f.engine()), want)
	if _, dead := decodedView(t, f.engine()); dead != wantDead {
		t.Fatalf("%d dead sub-keys after merge, %d before: merge is not the sweep", dead, wantDead)
	}
	applyScript(t, f, next, collScript(2))
	checkViews(t, f.engine())
}
