package main_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
	"github.com/walkerdb/walkerdb/internal/resp"
)

// Client-side caching across nodes: a RESP3 client tracking on a follower
// reads a key (the read goes to the leader, the key is remembered on the
// follower); a write through the leader, applied on the follower,
// invalidates it there; so does a write through the other follower, and a
// FLUSHALL sends the null invalidation.
func TestE2E_TrackingInvalidatesAcrossNodes(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3)
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitMembers(3, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	fs := c.Followers(leader)
	if len(fs) != 2 {
		t.Fatalf("%d followers", len(fs))
	}
	tr := psDial(t, fs[0].RESP)
	if v := tr.do(t, "HELLO", "3"); v.Kind != resp.KindMap {
		t.Fatalf("HELLO 3: %v", v)
	}
	if v := tr.do(t, "CLIENT", "TRACKING", "on"); string(v.Str) != "OK" {
		t.Fatalf("CLIENT TRACKING: %v", v)
	}
	want := func(what string, keys ...string) {
		t.Helper()
		v, err := tr.read(10 * time.Second)
		if err != nil {
			t.Fatalf("%s: no invalidation: %v", what, err)
		}
		if v.Kind != resp.KindPush || len(v.Elems) != 2 || string(v.Elems[0].Str) != "invalidate" {
			t.Fatalf("%s: %v, want an invalidate push", what, v)
		}
		if keys == nil {
			if !v.Elems[1].Null {
				t.Fatalf("%s: %v, want the null invalidation", what, v)
			}
			return
		}
		if len(v.Elems[1].Elems) != len(keys) {
			t.Fatalf("%s: %v, want %v", what, v, keys)
		}
		for i, k := range keys {
			if string(v.Elems[1].Elems[i].Str) != k {
				t.Fatalf("%s: %v, want %v", what, v, keys)
			}
		}
	}
	must(t, leader, "+OK\r\n", "SET", "k", "v1")
	// waitRead waits until the follower applied the write of want (a
	// read tracked before then is invalidated by that write's arrival:
	// one invalidation too many, which Redis's single node never sends),
	// then reads k tracked.
	waitRead := func(want string) {
		t.Helper()
		err := harness.WaitFor(10*time.Second, func() error {
			got, err := fs[0].Do("LEVELGET", "k", "stale")
			if err == nil && got != bulk(want) {
				err = fmt.Errorf("LEVELGET k stale on the follower: %q", got)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if v := tr.do(t, "GET", "k"); string(v.Str) != want {
			t.Fatalf("GET k on the follower: %v, want %q", v, want)
		}
	}
	waitRead("v1")
	must(t, leader, "+OK\r\n", "SET", "k", "v2")
	want("write through the leader", "k")

	waitRead("v2")
	must(t, fs[1], "+OK\r\n", "SET", "k", "v3")
	want("write through the other follower", "k")

	waitRead("v3")
	must(t, leader, "+OK\r\n", "FLUSHALL")
	want("FLUSHALL", nil...)
	if v := tr.do(t, "PING"); string(v.Str) != "PONG" {
		t.Fatalf("PING after the invalidations: %v (an extra push?)", v)
	}
}
