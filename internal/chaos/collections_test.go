package chaos

import (
	"strings"
	"testing"
)

func collWrite(kind, key, tok string, reply int64, call int64, out Outcome) *Op {
	ret := call + 5
	if out == Unknown {
		ret = -1
	}
	return &Op{Client: 0, Kind: kind, Key: key, Value: tok, Int: reply, Call: call, Return: ret, Outcome: out}
}

func collRead(client, node int, kind, key string, call int64, elems ...string) *Op {
	return &Op{Client: client, Node: node, Kind: kind, Key: key, Results: elems, Call: call, Return: call + 5, Outcome: OK}
}

func TestCollections_CleanHistoryPasses(t *testing.T) {
	ops := hist(
		collWrite("rpush", "cl:0", "0.1", 1, 0, OK),
		collWrite("rpush", "cl:0", "0.2", 0, 10, Unknown), // applied
		collWrite("rpush", "cl:0", "0.3", 0, 20, Unknown), // not applied
		collWrite("rpush", "cl:0", "0.4", 0, 25, Fail),
		collWrite("rpush", "cl:0", "0.5", 3, 30, OK),
		collRead(1, 0, "lrange", "cl:0", 31, "0.1", "0.2"),
		collWrite("sadd", "cs:0", "1.1", 1, 0, OK),
		collWrite("sadd", "cs:0", "1.2", 0, 5, Unknown),
		collRead(1, 1, "smembers", "cs:0", 12, "1.1"),
		collWrite("hset", "ch:0", "2.1", 1, 0, OK),
		collRead(1, 2, "hgetall", "ch:0", 12, "2.1", "2.1"),
		collRead(-1, 0, "lrange", "cl:0", 100, "0.1", "0.2", "0.5"),
		collRead(-1, 1, "lrange", "cl:0", 100, "0.1", "0.2", "0.5"),
		collRead(-1, 0, "smembers", "cs:0", 100, "1.2", "1.1"),
		collRead(-1, 1, "smembers", "cs:0", 100, "1.1", "1.2"),
		collRead(-1, 0, "hgetall", "ch:0", 100, "2.1", "2.1"),
	)
	for _, v := range (&Collections{}).Check(&Env{}, ops) {
		if !v.Valid {
			t.Errorf("%s: %v", v.Checker, v.Violations)
		}
	}
}

func TestCollections_FindsLostInventedDuplicatedFailedAndDisagreeing(t *testing.T) {
	cases := []struct {
		name  string
		ops   []*Op
		check string
		want  string
	}{
		{"lost", hist(
			collWrite("sadd", "cs:0", "1.1", 1, 0, OK),
			collRead(-1, 0, "smembers", "cs:0", 100),
		), "collections: every", "acknowledged write lost"},
		{"invented", hist(
			collWrite("sadd", "cs:0", "1.1", 1, 0, OK),
			collRead(-1, 0, "smembers", "cs:0", 100, "1.1", "9.9"),
		), "collections: every", "never written"},
		{"duplicated in a list", hist(
			collWrite("rpush", "cl:0", "1.1", 1, 0, OK),
			collWrite("rpush", "cl:0", "1.2", 0, 10, Unknown),
			collRead(-1, 0, "lrange", "cl:0", 100, "1.1", "1.2", "1.2"),
		), "collections: every", "appears twice"},
		{"failed but present", hist(
			collWrite("hset", "ch:0", "1.1", 0, 0, Fail),
			collRead(-1, 0, "hgetall", "ch:0", 100, "1.1", "1.1"),
		), "collections: every", "whose write failed"},
		{"wrong hash value", hist(
			collWrite("hset", "ch:0", "1.1", 1, 0, OK),
			collRead(-1, 0, "hgetall", "ch:0", 100, "1.1", "x"),
		), "collections: every", "never written to it"},
		{"nodes disagree", hist(
			collWrite("sadd", "cs:0", "1.1", 1, 0, OK),
			collWrite("sadd", "cs:0", "1.2", 0, 0, Unknown),
			collRead(-1, 0, "smembers", "cs:0", 100, "1.1", "1.2"),
			collRead(-1, 1, "smembers", "cs:0", 100, "1.1"),
		), "collections: every", "read different final contents"},
		{"no final read", hist(
			collWrite("sadd", "cs:0", "1.1", 1, 0, OK),
		), "collections: every", "no final read"},
		{"list read not a prefix", hist(
			collWrite("rpush", "cl:0", "1.1", 1, 0, OK),
			collWrite("rpush", "cl:0", "1.2", 2, 10, OK),
			collRead(1, 0, "lrange", "cl:0", 20, "1.2"),
			collRead(-1, 0, "lrange", "cl:0", 100, "1.1", "1.2"),
		), "collections: list reads", "not a prefix"},
		{"RPUSH reply is not the position", hist(
			collWrite("rpush", "cl:0", "1.1", 1, 0, OK),
			collWrite("rpush", "cl:0", "1.2", 1, 10, OK),
			collRead(-1, 0, "lrange", "cl:0", 100, "1.1", "1.2"),
		), "collections: list reads", "RPUSH answered 1"},
		{"set read outside the final set", hist(
			collWrite("sadd", "cs:0", "1.1", 1, 0, OK),
			collWrite("sadd", "cs:0", "1.2", 0, 0, Unknown),
			collRead(1, 0, "smembers", "cs:0", 20, "1.2"),
			collRead(-1, 0, "smembers", "cs:0", 100, "1.1"),
		), "collections: list reads", "not in the final state"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := verdict(t, (&Collections{}).Check(&Env{}, c.ops), c.check)
			if v.Valid || !strings.Contains(strings.Join(v.Violations, "\n"), c.want) {
				t.Fatalf("want a violation %q, got valid=%v %v", c.want, v.Valid, v.Violations)
			}
		})
	}
}
