package chaos

import (
	"strings"
	"testing"
)

// hist builds a history: each op gets its id in order.
func hist(ops ...*Op) []*Op {
	for i, o := range ops {
		o.ID = i
	}
	return ops
}

func set(client int, key, v string, call, ret int64, out Outcome) *Op {
	if out == Unknown {
		ret = -1
	}
	return &Op{Client: client, Kind: "set", Key: key, Value: v, Call: call, Return: ret, Outcome: out}
}

func get(client, level int, key, v string, call, ret int64) *Op {
	return &Op{Client: client, Kind: "get", Key: key, Level: level, Result: v, Null: v == "", Call: call, Return: ret, Outcome: OK}
}

func verdict(t *testing.T, vs []Verdict, prefix string) Verdict {
	t.Helper()
	for _, v := range vs {
		if strings.HasPrefix(v.Checker, prefix) {
			return v
		}
	}
	t.Fatalf("no verdict %q", prefix)
	return Verdict{}
}

func TestRegister_LinearizableHistoryPasses(t *testing.T) {
	env := &Env{}
	ops := hist(
		set(0, "k", "a", 0, 10, OK),
		get(1, 2, "k", "a", 11, 20),
		set(0, "k", "b", 21, 30, Unknown), // may apply at any time after 21
		get(1, 2, "k", "a", 31, 40),
		get(1, 2, "k", "b", 41, 50),
		get(2, 1, "k", "a", 51, 60), // stale level: an old value is fine
		&Op{Client: 0, Kind: "del", Key: "k", Int: 1, Call: 61, Return: 70, Outcome: OK},
		get(1, 2, "k", "", 71, 80),
	)
	vs := (&Register{}).Check(env, ops)
	for _, v := range vs {
		if !v.Valid {
			t.Errorf("%s: %v", v.Checker, v.Violations)
		}
	}
}

func TestRegister_StaleConsistentReadIsAViolation(t *testing.T) {
	env := &Env{}
	ops := hist(
		set(0, "k", "a", 0, 10, OK),
		set(0, "k", "b", 11, 20, OK),
		get(1, 2, "k", "a", 21, 30), // b was acknowledged before this began
		get(2, 0, "k", "a", 21, 30), // the same at the default level: measured
	)
	vs := (&Register{}).Check(env, ops)
	if v := verdict(t, vs, "register: consistent"); v.Valid {
		t.Fatal("porcupine accepted a stale consistent read")
	}
	st := verdict(t, vs, "register: certainly-stale")
	if st.Valid || st.Stats["consistent_stale"] != 1 || st.Stats["default_stale"] != 1 {
		t.Fatalf("stale reads: %+v", st)
	}
	if v := verdict(t, vs, "register: default"); !v.Valid || !v.Informational {
		t.Fatalf("default reads must only be measured: %+v", v)
	}
}

func TestRegister_ReadOfAFailedOrInventedValueIsAViolation(t *testing.T) {
	env := &Env{}
	ops := hist(
		set(0, "k", "a", 0, 10, Fail),
		get(1, 1, "k", "a", 11, 20),
		get(1, 1, "k", "zzz", 21, 30),
	)
	v := verdict(t, (&Register{}).Check(env, ops), "register: every read")
	if v.Valid || len(v.Violations) != 2 {
		t.Fatalf("%+v", v)
	}
}

func TestRegister_DelCountIsChecked(t *testing.T) {
	env := &Env{}
	ops := hist(
		&Op{Client: 0, Kind: "del", Key: "k", Int: 1, Call: 0, Return: 10, Outcome: OK}, // nothing to delete
	)
	if v := verdict(t, (&Register{}).Check(env, ops), "register: consistent"); v.Valid {
		t.Fatal("DEL answered 1 on a missing key and porcupine accepted it")
	}
}

func appendOp(client int, key, tok string, call, ret int64, out Outcome) *Op {
	if out == Unknown {
		ret = -1
	}
	return &Op{Client: client, Kind: "append", Key: key, Value: tok, Call: call, Return: ret, Outcome: out}
}

func final(key, v string) *Op {
	return &Op{Client: -1, Kind: "get", Key: key, Level: 2, Result: v, Null: v == "", Call: 1000, Return: 1001, Outcome: OK}
}

func TestAppend_FindsLostDuplicatedReorderedAndTornWrites(t *testing.T) {
	cases := []struct {
		name  string
		ops   []*Op
		check string
		want  string
	}{
		{"clean", hist(
			appendOp(0, "a:0:0", "1", 0, 10, OK),
			appendOp(1, "a:0:0", "2", 5, 15, Unknown),
			appendOp(0, "a:0:0", "3", 20, 30, OK),
			get(2, 2, "a:0:0", "1,", 11, 12),
			final("a:0:0", "1,2,3,"),
		), "", ""},
		{"lost", hist(
			appendOp(0, "a:0:0", "1", 0, 10, OK),
			appendOp(0, "a:0:0", "2", 20, 30, OK),
			final("a:0:0", "1,"),
		), "append: no lost", "lost"},
		{"duplicated", hist(
			appendOp(0, "a:0:0", "1", 0, 10, OK),
			final("a:0:0", "1,1,"),
		), "append: no lost", "twice"},
		{"reordered", hist(
			appendOp(0, "a:0:0", "1", 0, 10, OK),
			appendOp(0, "a:0:0", "2", 20, 30, OK),
			final("a:0:0", "2,1,"),
		), "append: no lost", "reordered"},
		{"failed but applied", hist(
			appendOp(0, "a:0:0", "1", 0, 10, Fail),
			final("a:0:0", "1,"),
		), "append: no lost", "failed"},
		{"read not a prefix", hist(
			appendOp(0, "a:0:0", "1", 0, 10, OK),
			appendOp(0, "a:0:0", "2", 20, 30, OK),
			get(1, 1, "a:0:0", "2,", 31, 40),
			final("a:0:0", "1,2,"),
		), "append: every read", "prefix"},
		{"stale consistent read", hist(
			appendOp(0, "a:0:0", "1", 0, 10, OK),
			get(1, 2, "a:0:0", "", 11, 20),
			final("a:0:0", "1,"),
		), "append: every read", "misses"},
		{"torn transaction", hist(
			&Op{Client: 0, Kind: "txn-append", Keys: []string{"a:0:0", "a:0:1"}, Value: "7", Call: 0, Return: -1, Outcome: Unknown},
			final("a:0:0", "7,"),
			final("a:0:1", ""),
		), "append: transactions", "torn"},
		{"torn MULTI of SETs", hist(
			&Op{Client: 0, Kind: "txn-set", Keys: txnSetKeys("9"), Value: "9", Call: 0, Return: -1, Outcome: Unknown},
			final("s:9:0", "9"), final("s:9:1", "9"), final("s:9:2", ""),
		), "append: transactions", "torn"},
	}
	for _, c := range cases {
		vs := (&Append{}).Check(&Env{}, c.ops)
		for _, v := range vs {
			bad := !v.Valid
			want := c.check != "" && strings.HasPrefix(v.Checker, c.check)
			if bad != want {
				t.Errorf("%s: %s valid=%v: %v", c.name, v.Checker, v.Valid, v.Violations)
			}
			if want && !strings.Contains(strings.Join(v.Violations, "\n"), c.want) {
				t.Errorf("%s: violations %q do not mention %q", c.name, v.Violations, c.want)
			}
		}
	}
}

func incr(client int, key string, n int64, call, ret int64, out Outcome) *Op {
	if out == Unknown {
		ret = -1
	}
	return &Op{Client: client, Kind: "incr", Key: key, Int: n, Call: call, Return: ret, Outcome: out}
}

func TestCounter_ChecksTotalsRepliesAndReads(t *testing.T) {
	ok := hist(
		incr(0, "n:0", 1, 0, 10, OK),
		incr(1, "n:0", 0, 5, -1, Unknown),
		incr(0, "n:0", 3, 20, 30, OK),
		get(2, 2, "n:0", "1", 11, 19),
		final("n:0", "3"),
	)
	for _, v := range (&Counter{}).Check(&Env{}, ok) {
		if !v.Valid {
			t.Errorf("clean history: %s: %v", v.Checker, v.Violations)
		}
	}
	bad := map[string][]*Op{
		"lost":                     hist(incr(0, "n:0", 1, 0, 10, OK), incr(0, "n:0", 2, 11, 20, OK), final("n:0", "1")),
		"applied twice":            hist(incr(0, "n:0", 1, 0, 10, OK), final("n:0", "2")),
		"same reply":               hist(incr(0, "n:0", 1, 0, 10, OK), incr(1, "n:0", 1, 0, 10, OK), final("n:0", "2")),
		"stale consistent read":    hist(incr(0, "n:0", 1, 0, 10, OK), get(1, 2, "n:0", "", 11, 20), final("n:0", "1")),
		"read ahead of the writes": hist(get(1, 1, "n:0", "5", 0, 10), incr(0, "n:0", 1, 11, 20, OK), final("n:0", "1")),
	}
	for name, ops := range bad {
		valid := true
		for _, v := range (&Counter{}).Check(&Env{}, ops) {
			valid = valid && v.Valid
		}
		if valid {
			t.Errorf("%s: no violation found", name)
		}
	}
}
