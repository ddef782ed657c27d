package server

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/keyspace"
	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
	"github.com/walkerdb/walkerdb/walkerd/shard"
)

// startGroupsServer runs a server over n standalone engines as n groups:
// the routing of a node with several Raft groups, without Raft.
func startGroupsServer(t *testing.T, n int, cfg Config) (*testServer, []backend.Backend) {
	t.Helper()
	g := &Groups{Layout: shard.Split(n)}
	for range n {
		db, err := engine.Open(t.TempDir(), &engine.Options{Sync: engine.SyncNo})
		if err != nil {
			t.Fatal(err)
		}
		g.B = append(g.B, backend.NewStandalone(db))
	}
	for _, b := range g.B[1:] {
		t.Cleanup(func() { b.Engine().Close() })
	}
	cfg.Groups = g
	return startServerOn(t, g.B[0], cfg), g.B
}

// keyIn returns a key whose slot is in group gi of a Split(n) layout.
func keyIn(l shard.Layout, gi int, prefix string) string {
	for i := 0; ; i++ {
		k := prefix + strconv.Itoa(i)
		if l.GroupOf(keyspace.Slot([]byte(k))) == gi {
			return k
		}
	}
}

// engineHas reports whether b's engine holds key in database 0, expired
// or not.
func engineHas(t *testing.T, b backend.Backend, key string) bool {
	t.Helper()
	k := keyspace.MetaKey(0, []byte(key))
	page, _, err := b.Engine().Scan(engine.ScanOptions{Start: k, End: append(slices.Clone(k), 0), Limit: 1, IncludeExpired: true})
	if err != nil {
		t.Fatal(err)
	}
	return len(page) == 1
}

// TestGroups_WritesGoToTheGroupOfTheirKeys: each write lands in the engine
// of its key's group only, reads find it there, pipelined writes of
// several groups are each proposed to their own, and DBSIZE, KEYS and SCAN
// cover every group.
func TestGroups_WritesGoToTheGroupOfTheirKeys(t *testing.T) {
	s, gs := startGroupsServer(t, 3, Config{})
	l := shard.Split(3)
	c := dial(t, s.addr)
	var keys []string
	for gi := range 3 {
		for j := range 4 {
			keys = append(keys, keyIn(l, gi, fmt.Sprintf("g%d-%d-", gi, j)))
		}
	}
	// One pipeline: writes of the three groups interleaved.
	var pipe []byte
	for i, k := range keys {
		pipe = append(pipe, encodeCommand([][]byte{[]byte("SET"), []byte(k), []byte(strconv.Itoa(i))})...)
	}
	if _, err := c.c.Write(pipe); err != nil {
		t.Fatal(err)
	}
	for i := range keys {
		raw, err := resp.ReadRaw(c.r)
		if err != nil {
			t.Fatal(err)
		}
		v, _, err := resp.Parse(raw)
		if err != nil || format(v) != "+OK" {
			t.Fatalf("pipelined SET %d: %s, %v", i, format(v), err)
		}
	}
	for i, k := range keys {
		gi := l.GroupOf(keyspace.Slot([]byte(k)))
		for j, b := range gs {
			if engineHas(t, b, k) != (j == gi) {
				t.Fatalf("key %s of group %d: in group %d's engine: %v", k, gi, j, engineHas(t, b, k))
			}
		}
		if got := c.must(t, "GET", k); got != strconv.Quote(strconv.Itoa(i)) {
			t.Fatalf("GET %s = %s", k, got)
		}
	}
	if got := c.must(t, "DBSIZE"); got != ":"+strconv.Itoa(len(keys)) {
		t.Fatalf("DBSIZE = %s", got)
	}
	v, err := c.do("KEYS", "*")
	if err != nil || len(v.Elems) != len(keys) {
		t.Fatalf("KEYS * = %s, %v", format(v), err)
	}
	seen := map[string]bool{}
	cursor := "0"
	for {
		v, err := c.do("SCAN", cursor, "COUNT", "2")
		if err != nil || len(v.Elems) != 2 {
			t.Fatalf("SCAN %s = %s, %v", cursor, format(v), err)
		}
		for _, e := range v.Elems[1].Elems {
			if seen[string(e.Str)] {
				t.Fatalf("SCAN returned %s twice", e.Str)
			}
			seen[string(e.Str)] = true
		}
		if cursor = string(v.Elems[0].Str); cursor == "0" {
			break
		}
	}
	if len(seen) != len(keys) {
		t.Fatalf("SCAN saw %d keys of %d", len(seen), len(keys))
	}
	if got := c.must(t, "RANDOMKEY"); !slices.Contains(keys, strings.Trim(got, `"`)) {
		t.Fatalf("RANDOMKEY = %s", got)
	}
	if got := c.must(t, "INFO", "keyspace"); !strings.Contains(got, "db0:keys="+strconv.Itoa(len(keys))+",") {
		t.Fatalf("INFO keyspace = %s", got)
	}
}

// errNonLocalKeyText is Redis Cluster's error for a script's key of
// another group (command/owner.go).
const errNonLocalKeyText = "ERR Script attempted to access a non local key in a cluster node"

// TestGroups_AcrossGroupsIsCrossSlotAndKeylessWritesReachEveryGroup: a
// command, a transaction or a WATCH whose keys are in two groups answers
// CROSSSLOT and changes nothing; keys of two slots of one group are
// fine; FLUSHALL and FUNCTION LOAD reach every group; the expiry sweeper
// deletes expired keys in every group.
func TestGroups_AcrossGroupsIsCrossSlotAndKeylessWritesReachEveryGroup(t *testing.T) {
	s, gs := startGroupsServer(t, 2, Config{SweepInterval: 10 * time.Millisecond})
	l := shard.Split(2)
	a0, b0, a1 := keyIn(l, 0, "a"), keyIn(l, 0, "b"), keyIn(l, 1, "a")
	c := dial(t, s.addr)
	cross := "-" + crossSlotText
	for _, x := range []struct{ cmd, want string }{
		{"MSET " + a0 + " 1 " + a1 + " 2", cross},
		{"MSET " + a0 + " 1 " + b0 + " 2", "+OK"}, // two slots of one group
		{"MGET " + a0 + " " + b0, `["1", "2"]`},
		{"MULTI", "+OK"},
		{"SET " + a0 + " x", "+QUEUED"},
		{"SET " + a1 + " y", "+QUEUED"},
		{"EXEC", cross},
		{"GET " + a0, `"1"`},
		{"WATCH " + a1, "+OK"},
		{"MULTI", "+OK"},
		{"SET " + a0 + " z", "+QUEUED"},
		{"EXEC", cross},
		{"GET " + a0, `"1"`},
		{"SET " + a1 + " 2", "+OK"},
		{"FUNCTION LOAD \"#!lua name=lib\nredis.register_function('f', function(keys) return redis.call('GET', keys[1]) end)\"", `"lib"`},
		{"FCALL f 1 " + a0, `"1"`},
		{"FCALL f 1 " + a1, `"2"`},
		// WATCH reads a key's version in the key's group.
		{"WATCH " + a1, "+OK"},
		{"MULTI", "+OK"},
		{"INCR " + a1, "+QUEUED"},
		{"EXEC", "[:3]"},
		{"WATCH " + a1, "+OK"},
		{"MULTI", "+OK"},
		{"EXEC", "[]"}, // no commands: the watch is checked, nothing else
		// A script's keys must be its group's, declared or not.
		{"EVAL \"return redis.call('GET', KEYS[1])\" 1 " + a1, `"3"`},
		{"EVAL \"return redis.call('GET', ARGV[1])\" 1 " + a0 + " " + a1,
			"-" + errNonLocalKeyText + " script: 2b607d3eeffe20cb8536f3e513a6fe42580a3d6e, on @user_script:1."},
		{"EVAL \"return redis.call('SET', ARGV[1], 'x')\" 0 " + a1,
			"-" + errNonLocalKeyText + " script: ddba9425b837b7666952bf7054ad1f57f3d47ac4, on @user_script:1."},
		{"GET " + a1, `"3"`},
		{"SET " + a0 + " gone PX 1", "+OK"},
		{"SET " + a1 + " gone PX 1", "+OK"},
	} {
		args, err := splitArgs(x.cmd)
		if err != nil {
			t.Fatal(err)
		}
		v, err := c.do(args...)
		if err != nil {
			t.Fatal(err)
		}
		if got := format(v); got != x.want {
			t.Errorf("%s = %s, want %s", x.cmd, got, x.want)
		}
	}
	// The sweeper of each group deletes its expired key from its engine.
	deadline := time.Now().Add(10 * time.Second)
	for engineHas(t, gs[0], a0) || engineHas(t, gs[1], a1) {
		if time.Now().After(deadline) {
			t.Fatal("the expired keys are still in their groups' engines")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.must(t, "SET", a0, "v")
	c.must(t, "SET", a1, "v")
	if got := c.must(t, "FLUSHALL"); got != "+OK" {
		t.Fatalf("FLUSHALL = %s", got)
	}
	if engineHas(t, gs[0], a0) || engineHas(t, gs[1], a1) || c.must(t, "DBSIZE") != ":0" {
		t.Fatal("FLUSHALL left keys in a group")
	}
}

// The placement group: WALKER.PLACEMENT prints the state its engine holds
// (written here as the reporter writes it, with WALKER.PLACE), it is
// named by GROUP placement, and no key ever routes to it. A node with one
// group has none, and says so.
func TestGroups_PlacementIsNamedButNeverRoutedTo(t *testing.T) {
	g := &Groups{Layout: shard.Split(2)}
	var place backend.Backend
	for i := range 3 {
		db, err := engine.Open(t.TempDir(), &engine.Options{Sync: engine.SyncNo})
		if err != nil {
			t.Fatal(err)
		}
		b := backend.NewStandalone(db)
		if i > 0 {
			t.Cleanup(func() { db.Close() })
		}
		if i < 2 {
			g.B = append(g.B, b)
		} else {
			place = b
		}
	}
	g.Placement = place
	s := startServerOn(t, g.B[0], Config{Groups: g})
	c := dial(t, s.addr)
	if got := c.must(t, "WALKER.PLACEMENT"); got != `"{\"epoch\":0,\"slots\":null,\"groups\":null,\"nodes\":null}"` {
		t.Fatalf("WALKER.PLACEMENT before INIT = %s", got)
	}
	e := &command.Entry{NowMs: 1, Cmds: [][][]byte{{[]byte("WALKER.PLACE"), []byte("INIT"), []byte("g1"), []byte("0"), []byte("8191"), []byte("g2"), []byte("8192"), []byte("16383")}}}
	if _, err := place.Apply(e); err != nil {
		t.Fatal(err)
	}
	if got := c.must(t, "WALKER.PLACEMENT"); !strings.Contains(got, `\"epoch\":1,`) || !strings.Contains(got, `{\"start\":8192,\"end\":16383,\"group\":\"g2\"}`) {
		t.Fatalf("WALKER.PLACEMENT after INIT = %s", got)
	}
	for _, step := range [][2]string{ // WALKER.GROUP's refusals (placement.go's rules, applied in the placement group)
		{"WALKER.GROUP FOO", "-ERR unknown subcommand or wrong number of arguments for 'FOO'. WALKER.GROUP takes ADD LIKE group, or DROP group"},
		{"WALKER.GROUP ADD LIKE g9", "-ERR no such Raft group in the slot map: g9"},
		{"WALKER.GROUP DROP g1", "-ERR g1 is every node's home group and cannot be dropped"},
		{"WALKER.GROUP DROP g2", "-ERR the group still owns slots, or a move names it"},
		{"WALKER.GROUP DROP g7", "-ERR no such Raft group in the slot map"},
	} {
		if got := c.must(t, strings.Fields(step[0])...); got != step[1] {
			t.Errorf("%s = %s, want %s", step[0], got, step[1])
		}
	}
	if gi := s.groupByID("placement"); gi != placementIndex || s.groupB(gi) != place || s.groupID(gi) != "placement" || !slices.Equal(s.memberGroups(), []int{0, 1, placementIndex}) {
		t.Fatalf("GROUP placement: index %d", gi)
	}
	for i := range 200 {
		c.must(t, "SET", "k"+strconv.Itoa(i), "v")
	}
	if n := place.Engine().CountPrefix(keyspace.DBPrefix(0)); n != 0 {
		t.Fatalf("%d keys in the placement group's engine", n)
	}

	one := startServer(t, Config{})
	if got := dial(t, one.addr).must(t, "WALKER.PLACEMENT"); !strings.HasPrefix(got, "-ERR this node has no placement group") {
		t.Fatalf("WALKER.PLACEMENT on one group = %s", got)
	}
}
