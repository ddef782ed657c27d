package chaos

import (
	"strings"
	"testing"
)

func xadd(tok, id string, call int64, out Outcome) *Op {
	ret := call + 5
	if out == Unknown {
		ret = -1
	}
	return &Op{Client: 0, Kind: "xadd", Key: "xs:0", Value: tok, Result: id, Call: call, Return: ret, Outcome: out}
}

func xdeliver(kind string, call int64, entries ...string) *Op {
	return &Op{Client: 1, Kind: kind, Key: "xs:0", Value: "c1", Results: entries, Call: call, Return: call + 5, Outcome: OK}
}

func xfinal(node int, pending int64, entries ...string) *Op {
	return &Op{Client: -1, Node: node, Kind: "xrange", Key: "xs:0", Results: entries, Int: pending, Call: 1000, Return: 1001, Outcome: OK}
}

func TestStreams_CleanHistoryPasses(t *testing.T) {
	ops := hist(
		xadd("0.1", "5-0", 0, OK),
		xadd("0.2", "", 10, Unknown), // applied
		xadd("0.3", "", 20, Unknown), // not applied
		xadd("0.4", "", 25, Fail),
		xadd("0.5", "7-0", 30, OK),
		xdeliver("xreadgroup", 40, "5-0=0.1"),
		xdeliver("xautoclaim", 50, "5-0=0.1"), // a re-claim
		xdeliver("xreadgroup", 60, "6-0=0.2", "7-0=0.5"),
		xfinal(0, 0, "5-0=0.1", "6-0=0.2", "7-0=0.5"),
		xfinal(1, 0, "5-0=0.1", "6-0=0.2", "7-0=0.5"),
	)
	for _, v := range (&Streams{}).Check(&Env{}, ops) {
		if !v.Valid {
			t.Errorf("%s: %v", v.Checker, v.Violations)
		}
	}
}

func TestStreams_FindsViolations(t *testing.T) {
	cases := []struct {
		name  string
		ops   []*Op
		check string
		want  string
	}{
		{"id back in time", hist(
			xadd("0.1", "9-0", 0, OK),
			xadd("0.2", "8-0", 10, OK),
			xdeliver("xreadgroup", 20, "8-0=0.2", "9-0=0.1"),
			xfinal(0, 0, "8-0=0.2", "9-0=0.1"),
		), "streams: acknowledged XADD IDs", "before it was called"},
		{"duplicate id", hist(
			xadd("0.1", "9-0", 0, OK),
			xadd("0.2", "9-0", 0, OK),
			xfinal(0, 0, "9-0=0.1"),
		), "streams: acknowledged XADD IDs", "two XADDs answered"},
		{"lost", hist(
			xadd("0.1", "5-0", 0, OK),
			xfinal(0, 0),
		), "streams: every acknowledged", "acknowledged XADD lost"},
		{"moved", hist(
			xadd("0.1", "5-0", 0, OK),
			xdeliver("xreadgroup", 20, "6-0=0.1"),
			xfinal(0, 0, "6-0=0.1"),
		), "streams: every acknowledged", "but its token is at"},
		{"invented", hist(
			xadd("0.1", "5-0", 0, OK),
			xdeliver("xreadgroup", 20, "5-0=0.1", "6-0=9.9"),
			xfinal(0, 0, "5-0=0.1", "6-0=9.9"),
		), "streams: every acknowledged", "never sent"},
		{"failed present", hist(
			xadd("0.1", "", 0, Fail),
			xdeliver("xreadgroup", 20, "6-0=0.1"),
			xfinal(0, 0, "6-0=0.1"),
		), "streams: every acknowledged", "whose XADD failed"},
		{"nodes disagree", hist(
			xadd("0.1", "5-0", 0, OK),
			xdeliver("xreadgroup", 20, "5-0=0.1"),
			xfinal(0, 0, "5-0=0.1"),
			xfinal(1, 0),
		), "streams: every acknowledged", "different final streams"},
		{"delivered twice", hist(
			xadd("0.1", "5-0", 0, OK),
			xdeliver("xreadgroup", 20, "5-0=0.1"),
			xdeliver("xreadgroup", 30, "5-0=0.1"),
			xfinal(0, 0, "5-0=0.1"),
		), "streams: each entry", "delivered twice"},
		{"wrong token", hist(
			xadd("0.1", "5-0", 0, OK),
			xdeliver("xreadgroup", 20, "5-0=0.7"),
			xfinal(0, 0, "5-0=0.1"),
		), "streams: each entry", "the entry holds"},
		{"never delivered", hist(
			xadd("0.1", "5-0", 0, OK),
			xfinal(0, 0, "5-0=0.1"),
		), "streams: each entry", "never delivered"},
		{"left pending", hist(
			xadd("0.1", "5-0", 0, OK),
			xdeliver("xreadgroup", 20, "5-0=0.1"),
			xfinal(0, 1, "5-0=0.1"),
		), "streams: each entry", "pending after the drain"},
	}
	for _, tc := range cases {
		found := false
		for _, v := range (&Streams{}).Check(&Env{}, tc.ops) {
			if !strings.HasPrefix(v.Checker, tc.check) {
				continue
			}
			for _, msg := range v.Violations {
				found = found || strings.Contains(msg, tc.want)
			}
		}
		if !found {
			t.Errorf("%s: no violation containing %q", tc.name, tc.want)
		}
	}
}
