package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
)

// streamModel is a stream as the test lays it out in walkerd's layout.
type streamModel struct {
	entries   []keyspace.StreamID // each with fields f=<ms> and g=x
	meta      keyspace.StreamMeta
	groups    map[string]keyspace.StreamGroup
	consumers map[string][]string // by group
	pending   map[string][]keyspace.StreamID
	exp       int64
}

func writeStream(t *testing.T, db *engine.DB, dbi int, key string, version uint64, m *streamModel) {
	t.Helper()
	var b engine.Batch
	b.PutWithExpiry(keyspace.MetaKey(dbi, []byte(key)),
		keyspace.AppendCollection(nil, keyspace.Stream, version, int64(len(m.entries)), keyspace.EncodeStreamMeta(m.meta)), m.exp)
	sub := func(elem, val []byte) { b.Put(keyspace.SubKey(dbi, []byte(key), version, elem), val) }
	for i, id := range m.entries {
		sub(keyspace.StreamEntryElem(id), keyspace.EncodeStreamFields([][]byte{[]byte("f"), []byte(fmt.Sprint(id.Ms)), []byte("g"), []byte("x")}))
		if i%100 == 0 {
			last := m.entries[min(i+99, len(m.entries)-1)]
			sub(keyspace.StreamNodeElem(id), keyspace.EncodeStreamNode(keyspace.StreamNode{Live: 100, Last: last}))
		}
	}
	for g, grp := range m.groups {
		sub(keyspace.StreamGroupElem([]byte(g)), keyspace.EncodeStreamGroup(grp))
		for _, c := range m.consumers[g] {
			sub(keyspace.StreamConsumerElem([]byte(g), []byte(c)), keyspace.EncodeStreamConsumer(keyspace.StreamConsumer{SeenTime: 1}))
		}
		for _, id := range m.pending[g] {
			sub(keyspace.StreamPendingElem([]byte(g), id), keyspace.EncodeStreamPending(keyspace.StreamPending{DeliveryTime: 1, DeliveryCount: 1, Consumer: []byte(m.consumers[g][0])}))
			sub(keyspace.StreamConsumerPendElem([]byte(g), []byte(m.consumers[g][0]), id), nil)
		}
	}
	if err := db.Write(&b); err != nil {
		t.Fatal(err)
	}
}

// TestExport_StreamsLoadIntoRedis: export writes streams as XADD with
// their IDs, XSETID and XGROUP commands that redis-cli --pipe loads into
// redis-server with the same entries, last ID, entries-added,
// max-deleted ID, first ID, groups (last delivered ID, entries read),
// consumers and TTL; pending entries are counted as left out.
func TestExport_StreamsLoadIntoRedis(t *testing.T) {
	port := startRedis(t)
	dir := makeDir(t)
	db, err := engine.Open(dir, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	big := &streamModel{
		meta: keyspace.StreamMeta{LastID: keyspace.StreamID{Ms: 900, Seq: 5}, MaxDeletedID: keyspace.StreamID{Ms: 700, Seq: 1},
			EntriesAdded: 1000},
		groups: map[string]keyspace.StreamGroup{
			"g1":    {LastID: keyspace.StreamID{Ms: 150}, EntriesRead: 120, Pending: 2, Consumers: 2},
			"g1x":   {LastID: keyspace.StreamID{}, EntriesRead: -1},
			"g\xff": {LastID: keyspace.StreamID{Ms: 900, Seq: 5}, EntriesRead: 1000, Consumers: 1},
		},
		consumers: map[string][]string{"g1": {"alice", "bob"}, "g\xff": {"c\x00d"}},
		pending:   map[string][]keyspace.StreamID{"g1": {{Ms: 101}, {Ms: 102}}},
		exp:       farFuture,
	}
	for i := 1; i <= 350; i++ {
		if i%7 != 0 {
			big.entries = append(big.entries, keyspace.StreamID{Ms: uint64(i), Seq: uint64(i % 3)})
		}
	}
	big.meta.FirstID = big.entries[0]
	writeStream(t, db, 0, "big", keyspace.NewVersion(40, 0), big)
	// Emptied (no sub-key at all), in another database.
	writeStream(t, db, 3, "empty", keyspace.NewVersion(41, 0), &streamModel{
		meta: keyspace.StreamMeta{LastID: keyspace.StreamID{Ms: 5, Seq: 5}, MaxDeletedID: keyspace.StreamID{Ms: 5, Seq: 5}, EntriesAdded: 3}})
	// A new stream made by XGROUP CREATE ... MKSTREAM: last ID 0-0.
	writeStream(t, db, 0, "mk", keyspace.NewVersion(42, 0), &streamModel{
		groups: map[string]keyspace.StreamGroup{"g": {EntriesRead: 0}}})
	// XSETID lowered the last ID below the max-deleted one (7.0 allows it).
	writeStream(t, db, 0, "lowered", keyspace.NewVersion(43, 0), &streamModel{
		entries: []keyspace.StreamID{{Ms: 1, Seq: 1}},
		meta: keyspace.StreamMeta{LastID: keyspace.StreamID{Ms: 4, Seq: 5}, MaxDeletedID: keyspace.StreamID{Ms: 7, Seq: 1},
			FirstID: keyspace.StreamID{Ms: 1, Seq: 1}, EntriesAdded: 9}})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	mustRun(t, 0, "hint", dir)

	if out := mustRun(t, 0, "inspect", dir); !strings.Contains(out, "301 stream, 3 stream consumer, 4 stream group, 2 stream pending entry") ||
		strings.Contains(out, "malformed") {
		t.Errorf("inspect does not count the stream elements:\n%s", out)
	}
	stream, errs, code := runCmd(t, "export", dir)
	if code != exitOK {
		t.Fatalf("export: exit %d: %s", code, errs)
	}
	if strings.Contains(errs, "warning") || strings.Contains(errs, "streams") && strings.Contains(errs, "no streams") {
		t.Errorf("export summary: %s", errs)
	}
	if !strings.Contains(errs, "2 pending entries of stream consumer groups") {
		t.Errorf("export summary does not count the pending entries: %s", errs)
	}
	pipe := exec.Command("redis-cli", "-p", port, "--pipe")
	pipe.Stdin = strings.NewReader(stream)
	out, err := pipe.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "errors: 0") {
		t.Fatalf("redis-cli --pipe: %v\n%s", err, out)
	}

	ctx := context.Background()
	client := func(db int) *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + port, DB: db, Protocol: 2})
		t.Cleanup(func() { c.Close() })
		return c
	}
	asMap := func(v any) map[string]any {
		l, ok := v.([]any)
		if !ok {
			t.Fatalf("not an array: %#v", v)
		}
		m := map[string]any{}
		for i := 0; i+1 < len(l); i += 2 {
			m[fmt.Sprint(l[i])] = l[i+1]
		}
		return m
	}
	info := func(c *redis.Client, key string) map[string]any {
		v, err := c.Do(ctx, "XINFO", "STREAM", key).Result()
		if err != nil {
			t.Fatalf("XINFO STREAM %s: %v", key, err)
		}
		return asMap(v)
	}
	check := func(what string, got any, want string) {
		t.Helper()
		if g := fmt.Sprint(got); g != want {
			t.Errorf("%s: %s, want %s", what, g, want)
		}
	}

	c0 := client(0)
	msgs, err := c0.XRange(ctx, "big", "-", "+").Result()
	if err != nil || len(msgs) != len(big.entries) {
		t.Fatalf("XRANGE big: %d entries, %v", len(msgs), err)
	}
	for i, m := range msgs {
		if m.ID != big.entries[i].String() || m.Values["f"] != fmt.Sprint(big.entries[i].Ms) || m.Values["g"] != "x" {
			t.Fatalf("entry %d: %v, want %v", i, m, big.entries[i])
		}
	}
	i := info(c0, "big")
	check("big length", i["length"], fmt.Sprint(len(big.entries)))
	check("big last-generated-id", i["last-generated-id"], "900-5")
	check("big max-deleted-entry-id", i["max-deleted-entry-id"], "700-1")
	check("big entries-added", i["entries-added"], "1000")
	check("big recorded-first-entry-id", i["recorded-first-entry-id"], big.entries[0].String())
	check("big groups", i["groups"], "3")
	gv, err := c0.Do(ctx, "XINFO", "GROUPS", "big").Result()
	if err != nil {
		t.Fatal(err)
	}
	var groups []string
	for _, g := range gv.([]any) {
		m := asMap(g)
		groups = append(groups, fmt.Sprintf("%v %v %v %v %v", m["name"], m["last-delivered-id"], m["entries-read"], m["consumers"], m["pending"]))
	}
	check("big groups", strings.Join(groups, "; "), "g1 150-0 120 2 0; g1x 0-0 <nil> 0 0; g\xff 900-5 1000 1 0")
	cv, err := c0.Do(ctx, "XINFO", "CONSUMERS", "big", "g1").Result()
	if err != nil || len(cv.([]any)) != 2 || asMap(cv.([]any)[0])["name"] != "alice" || asMap(cv.([]any)[1])["name"] != "bob" {
		t.Errorf("consumers of g1: %v %v", cv, err)
	}
	if ttl := c0.PTTL(ctx, "big").Val(); ttl <= 0 || ttl > time.Until(time.UnixMilli(farFuture))+time.Minute {
		t.Errorf("big: PTTL %v", ttl)
	}

	i = info(client(3), "empty")
	check("empty length", i["length"], "0")
	check("empty last-generated-id", i["last-generated-id"], "5-5")
	check("empty max-deleted-entry-id", i["max-deleted-entry-id"], "5-5")
	check("empty entries-added", i["entries-added"], "3")
	check("empty recorded-first-entry-id", i["recorded-first-entry-id"], "0-0")

	i = info(c0, "mk")
	check("mk", fmt.Sprintf("%v %v %v %v %v", i["length"], i["last-generated-id"], i["entries-added"], i["max-deleted-entry-id"], i["groups"]), "0 0-0 0 0-0 1")

	i = info(c0, "lowered")
	check("lowered", fmt.Sprintf("%v %v %v %v", i["length"], i["last-generated-id"], i["entries-added"], i["max-deleted-entry-id"]), "1 4-5 9 7-1")
}
