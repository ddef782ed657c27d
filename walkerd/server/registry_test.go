package server

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// Every command of the registry runs somewhere: in the data layer, or by
// a server handler; and nothing has both.
func TestRegistry_EveryCommandHasExactlyOneWayToRun(t *testing.T) {
	h := handlers()
	for _, k := range command.Specs() {
		for _, x := range append([]*command.Spec{k}, k.Subs...) {
			if len(x.Subs) > 0 {
				// A container runs through its subcommands; COMMAND alone
				// also runs as it is.
				if x.IsData() || (h[x.ID] != nil) != (x.Arity == -1) {
					t.Errorf("%s: container with handler %v, data command %v", x.Name, h[x.ID] != nil, x.IsData())
				}
				continue
			}
			// Pure and blocking commands have both: a handler outside
			// MULTI, and a run inside it (and, for blocking ones, in the
			// log: the attempt).
			both := x.Flags&(command.FlagPure|command.FlagBlocking) != 0
			// So have the scripting commands that are proposed as
			// entries: Redis does not flag them "write" (script.go).
			both = both || (scriptHandlers[x.Name] != nil && x.IsData())
			// And PUBLISH and SPUBLISH, log entries that write no key
			// (pubsub.go).
			both = both || (pubsubHandlers[x.Name] != nil && x.IsData())
			// And SCAN: over every group a node holds outside MULTI and
			// scripts, in the entry inside them (inEntry).
			both = both || x == specScan
			switch {
			case both && (h[x.ID] == nil || !x.IsData()):
				t.Errorf("%s: a pure or blocking command needs a handler (outside MULTI) and a run (inside)", x.Name)
			case !both && (h[x.ID] == nil) == !x.IsData():
				t.Errorf("%s: handler %v, data command %v", x.Name, h[x.ID] != nil, x.IsData())
			}
		}
	}
}

// COMMAND INFO, generated from the registry, says what a real Redis 7.0
// says of every command both know: arity, flags, key positions and ACL
// categories.
func TestCommandInfo_MatchesRedis(t *testing.T) {
	redisAddr := startRedis(t)
	s := startServer(t, Config{})
	rc, wc := dial(t, redisAddr), dial(t, s.addr)
	compared := 0
	for _, k := range visible() {
		for _, x := range append([]*command.Spec{k}, k.Subs...) {
			rv, err := rc.do("COMMAND", "INFO", x.Name)
			if err != nil {
				t.Fatal(err)
			}
			if len(rv.Elems) != 1 || rv.Elems[0].Null {
				continue // walkerd's own, or newer than Redis 7.0
			}
			wv, err := wc.do("COMMAND", "INFO", x.Name)
			if err != nil {
				t.Fatal(err)
			}
			want, got := infoFields(rv.Elems[0]), infoFields(wv.Elems[0])
			if got != want {
				t.Errorf("COMMAND INFO %s:\n walkerd %s\n redis   %s", x.Name, got, want)
			}
			compared++
		}
	}
	if compared < 60 {
		t.Fatalf("compared only %d commands", compared)
	}
}

// infoFields renders name, arity, flags, first key, last key, step and ACL
// categories of a COMMAND INFO entry, flags and categories sorted.
func infoFields(v resp.Value) string {
	if len(v.Elems) < 7 {
		return "malformed: " + format(v)
	}
	var parts []string
	for i, e := range v.Elems[:7] {
		if i == 2 || i == 6 {
			var names []string
			for _, n := range e.Elems {
				names = append(names, string(n.Str))
			}
			slices.Sort(names)
			parts = append(parts, "["+strings.Join(names, " ")+"]")
			continue
		}
		parts = append(parts, format(e))
	}
	return strings.Join(parts, " ")
}

func TestCommand_ListsCountsAndDocumentsTheRegistry(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	count := c.must(t, "COMMAND", "COUNT")
	list, _ := c.do("COMMAND", "LIST")
	all, _ := c.do("COMMAND")
	if count != ":"+itoa(int64(len(visible()))) || len(list.Elems) != len(visible()) || len(all.Elems) != len(visible()) {
		t.Fatalf("COMMAND COUNT %s, LIST %d, COMMAND %d, registry %d", count, len(list.Elems), len(all.Elems), len(visible()))
	}
	for _, e := range list.Elems {
		if strings.HasPrefix(string(e.Str), "walker.set") || string(e.Str) == "walker.reclaim" {
			t.Errorf("COMMAND LIST shows the internal write %s", e.Str)
		}
	}
	conn, _ := c.do("COMMAND", "LIST", "FILTERBY", "ACLCAT", "transaction")
	var names []string
	for _, e := range conn.Elems {
		names = append(names, string(e.Str))
	}
	slices.Sort(names)
	if strings.Join(names, " ") != "discard exec multi unwatch watch" {
		t.Errorf("FILTERBY ACLCAT transaction = %v", names)
	}
	pat, _ := c.do("COMMAND", "LIST", "FILTERBY", "PATTERN", "CLIENT|*")
	if len(pat.Elems) != len(command.LookupName("client").Subs) {
		t.Errorf("FILTERBY PATTERN client|* = %s", format(pat))
	}
	docs := c.must(t, "COMMAND", "DOCS", "get", "client")
	for _, want := range []string{`"summary"`, `"Get the value of a key"`, `"group"`, `"string"`, `"subcommands"`, `"client|setname"`} {
		if !strings.Contains(docs, want) {
			t.Errorf("COMMAND DOCS lacks %s: %s", want, docs)
		}
	}
}

// SHUTDOWN is refused inside MULTI, as Redis refuses it, and the server
// goes on serving: EXEC must not carry it out.
func TestMulti_ShutdownIsRefusedAndTheServerStaysUp(t *testing.T) {
	stopped := make(chan struct{}, 1)
	s := startServer(t, Config{OnShutdown: func() { stopped <- struct{}{} }})
	c := dial(t, s.addr)
	for _, step := range [][2]string{
		{"MULTI", "+OK"},
		{"SHUTDOWN", "-ERR Command not allowed inside a transaction"},
		{"SET a 1", "+QUEUED"},
		{"EXEC", "-EXECABORT Transaction discarded because of previous errors."},
		{"PING", "+PONG"},
		{"GET a", "(nil)"},
	} {
		if got := c.must(t, strings.Fields(step[0])...); got != step[1] {
			t.Fatalf("%s = %s, want %s", step[0], got, step[1])
		}
	}
	select {
	case <-stopped:
		t.Fatal("SHUTDOWN ran")
	default:
	}
}

// COMMAND DOCS says what Redis 7.0 says of every command both know:
// summary, since, group and complexity (the arguments are checked by
// redis-cli's help in TestRedisCLI_HelpShowsRedisUsage).
func TestCommandDocs_MatchesRedis(t *testing.T) {
	redisAddr := startRedis(t)
	s := startServer(t, Config{})
	rc, wc := dial(t, redisAddr), dial(t, s.addr)
	fields := func(v resp.Value) map[string]string {
		m := map[string]string{}
		if len(v.Elems) != 2 {
			return m
		}
		d := v.Elems[1].Elems
		for i := 0; i+1 < len(d); i += 2 {
			switch k := string(d[i].Str); k {
			case "summary", "since", "group", "complexity":
				m[k] = string(d[i+1].Str)
			}
		}
		return m
	}
	compared := 0
	for _, k := range visible() {
		for _, x := range append([]*command.Spec{k}, k.Subs...) {
			rv, err := rc.do("COMMAND", "DOCS", x.Name)
			if err != nil {
				t.Fatal(err)
			}
			if len(rv.Elems) != 2 {
				continue // walkerd's own, or newer than Redis 7.0
			}
			wv, err := wc.do("COMMAND", "DOCS", x.Name)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := fields(wv), fields(rv); !maps.Equal(got, want) {
				t.Errorf("COMMAND DOCS %s:\n walkerd %v\n redis   %v", x.Name, got, want)
			}
			compared++
		}
	}
	if compared < 60 {
		t.Fatalf("compared only %d commands", compared)
	}
}
