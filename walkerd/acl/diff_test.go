package acl

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/walkerdb/walkerdb/internal/harness"
	"github.com/walkerdb/walkerdb/internal/proc"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// diffSequences are ACL SETUSER calls (each the rules of one call) run on
// one fresh user, in order, against redis-server 7.0.15 and the model.
var diffSequences = [][][]string{
	{{}},
	{{"on", ">secret", "~*", "&*", "+@all"}},
	{{"on", "nopass", "~foo:*", "+get", "+set"}},
	{{"on", "%R~read:*", "%W~write:*", "%RW~both:*", "+@all"}},
	{{"on", "~a", "~b", "%R~a", "resetkeys", "~c", "+@read"}},
	{{"+@all", "-get"}},
	{{"+@all", "-@string", "+get"}},
	{{"-@all", "+@string", "-get", "+config|get", "+select|0", "+client"}},
	{{"+@all", "-@dangerous"}},
	{{"+@read", "+@write", "-@keyspace"}},
	{{"+@hash", "+@list", "+@set", "-hdel"}},
	{{"+@pubsub", "&news.*", "&chat"}},
	{{"allcommands", "allkeys", "allchannels", "on"}},
	{{"+@all", "nocommands", "+ping"}},
	{{"+config", "-config|set"}},
	{{"+config|get", "+config|set", "+config|resetstat", "+config|rewrite", "+config|help"}},
	{{"+select|0", "+select|1", "+SELECT|1"}},
	{{"+select|0", "+select"}},
	{{"+select|0", "-select"}},
	{{"+get", "~x", "(~y +set)", "(%R~z +get &c)"}},
	{{"(~y", "+set)", "on"}},
	{{"(~a", "(+get", "+set)"}},
	{{"+mget", "~a", "(+mget ~b)", "(+mget ~z)"}},
	{{"+@all", "~a", "&chat", "(+get +publish ~b &news.*)"}},
	{{"+@all", "%R~r*", "%W~w*", "~b*"}},
	{{"on\x00junk", "+get\x00x", ">a\x00b", "%r~lower", ">", "(~s\x00t +set)"}},
	{{"~a\x00"}}, {{"<"}}, {{"#"}}, {{"+select|a\x00b"}}, {{"&\x00"}},
	{{"+@all", "%R~*", "%W~w*"}},
	{{"+@all", "%W~*", "%R~r*"}},
	{{"on", "(~a", "+get"}},
	{{"(~a +get)"}, {"clearselectors"}},
	{{">p1", ">p2", ">p1", "<p2"}},
	{{">p1"}, {"<nope"}},
	{{"#5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"}},
	{{"#5E884898DA28047151D0E56F8DC6292773603D0D6AABBDD62A11EF721D1542D8"}},
	{{"#abc"}},
	{{"!5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"}},
	{{">a", "nopass"}, {"resetpass"}},
	{{"on", "~*", "~x"}},
	{{"&*", "&x"}},
	{{"allkeys", "resetkeys", "~x"}},
	{{"+nosuchcommand"}},
	{{"+@nosuchcategory"}},
	{{"-get|foo"}},
	{{"+get|foo"}},
	{{"+config|get|x"}},
	{{"+config|"}},
	{{"+config|nosuch"}},
	{{"+"}, {"-"}, {"+@"}, {"foo"}, {"%"}, {"%X~a"}, {"%RR~a"}, {"%R"}, {"~"}, {"&"}},
	{{"%W"}, {"%R~x"}, {"%W~x"}},
	{{"skip-sanitize-payload"}, {"sanitize-payload", "on"}},
	{{"on", "~x", "+get"}, {"reset"}},
	{{"ON", "AllKeys", "+GET", "+@STRING"}},
	{{"(+get ~a", "on"}},
	{{"()"}},
	{{"(on)"}},
	{{"(\"~a b\")"}},
	{{"(~\"a\" +get)"}},
	{{"+@all", "-@all", "+@admin"}},
	{{"+@slow", "-@fast"}},
	{{"+@geo", "+@stream", "+@bitmap", "+@hyperloglog", "+@sortedset"}},
	{{"+@scripting", "+@transaction", "+@connection", "+@blocking"}},
	{{"+@all", "-@keyspace", "-@read"}},
	{{"+@all", "-flushall", "-flushdb", "-@admin", "+info"}},
	{{"-@all", "+client|id", "+client|setname", "+client|getname"}},
}

// Where Redis's ACL LIST or GETUSER differs from the model's, the test
// checks that the two give the same permissions on the commands both
// have: walkerd's command table is not Redis's (Redis has LOLWUT,
// MIGRATE, READONLY, ...; walkerd has LEVELGET, CLIENT NO-TOUCH, ...), so
// the categories that best fit a bitmap, and the single commands after
// them, may differ.

// redisCommands lists the full names of redis-server's commands.
func redisCommands(t *testing.T, rc *redis.Client) map[string]bool {
	names, err := rc.Do(context.Background(), "command", "list").StringSlice()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]bool{}
	for _, n := range names {
		m[strings.ToLower(n)] = true
	}
	return m
}

// selectorOf applies command rules to a new selector, rules naming
// commands the model lacks skipped.
func selectorOf(rules string) *selector {
	s := newSelector(false)
	for _, r := range strings.Fields(rules) {
		s.apply(r)
	}
	return s
}

// sameCommands reports whether two selectors allow the same commands of
// common, and the same future commands and first arguments.
func sameCommands(a, b *selector, common map[string]bool) bool {
	if a.future != b.future || fmt.Sprint(a.firstArgs) != fmt.Sprint(b.firstArgs) {
		return false
	}
	for _, c := range commands().all {
		if common[c.Name] && a.cmds.get(c.ID) != b.cmds.get(c.ID) {
			return false
		}
	}
	return true
}

// sameDescription compares a Redis ACL LIST description with the
// model's: alike but for the order of single commands, or giving the same
// user but for the commands only one side has.
func sameDescription(redis, model string, common map[string]bool) bool {
	if normRules(redis) == normRules(model) {
		return true
	}
	ur, um := reparseLenient(redis), reparseLenient(model)
	if ur == nil || um == nil || len(ur.selectors) != len(um.selectors) {
		return false
	}
	strip := func(u *User) string {
		c := u.Clone()
		for _, s := range c.selectors {
			s.setAll(false)
		}
		return c.Describe()
	}
	if strip(ur) != strip(um) {
		return false
	}
	for i := range ur.selectors {
		if !sameCommands(ur.selectors[i], um.selectors[i], common) {
			return false
		}
	}
	return true
}

// reparseLenient is reparse skipping rules that name unknown commands.
func reparseLenient(descr string) *User {
	rules, _, ok := MergeSelectorArgs(strings.Split(descr, " "))
	if !ok {
		return nil
	}
	u := NewUser("u")
	for _, r := range rules {
		if err := u.SetRule(r); err != nil && !err.(*RuleError).UnknownCommand() {
			return nil
		}
	}
	return u
}

// sameGetUser compares GETUSER replies as sameDescription does.
func sameGetUser(redis, model any, common map[string]bool) bool {
	if normGetUser(redis) == normGetUser(model) {
		return true
	}
	var rc, mc []string
	if normGetUser(blankCommands(redis, &rc)) != normGetUser(blankCommands(model, &mc)) || len(rc) != len(mc) {
		return false
	}
	for i := range rc {
		if !sameCommands(selectorOf(rc[i]), selectorOf(mc[i]), common) {
			return false
		}
	}
	return true
}

// blankCommands returns a GETUSER reply with every "commands" value
// blanked, the values appended to cmds.
func blankCommands(v any, cmds *[]string) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = blankCommands(e, cmds)
			if s, ok := e.(string); ok && i > 0 && x[i-1] == "commands" {
				*cmds = append(*cmds, s)
				out[i] = ""
			}
		}
		return out
	case [][2]any:
		out := make([][2]any, len(x))
		for i, kv := range x {
			out[i] = kv
			if s, ok := kv[1].(string); ok && kv[0] == "commands" {
				*cmds = append(*cmds, s)
				out[i][1] = ""
			}
		}
		return out
	}
	return v
}

// dryRuns are the commands whose ACL DRYRUN every sequence's user is
// compared on.
var dryRuns = [][]string{
	{"get", "foo:1"}, {"get", "x"}, {"set", "foo:1", "v"}, {"set", "read:1", "v"}, {"get", "read:1"},
	{"set", "write:1", "v"}, {"get", "write:1"}, {"get", "both:1"}, {"hset", "h", "f", "v"},
	{"publish", "news.1", "m"}, {"publish", "chat", "m"}, {"publish", "other", "m"},
	{"subscribe", "chat", "other"}, {"subscribe", "news.x"}, {"psubscribe", "news.*"}, {"psubscribe", "n*"},
	{"config", "get", "maxmemory"}, {"config", "set", "maxmemory", "1"}, {"select", "0"}, {"select", "1"},
	{"select", "2"}, {"mget", "x", "y", "z"}, {"lmove", "x", "y", "left", "right"}, {"client", "id"},
	{"ping"}, {"auth", "a", "b"}, {"set", "y", "1"}, {"get", "z"}, {"get", "a"}, {"flushall"}, {"info"},
	{"getdel", "r1"}, {"getdel", "b1"}, {"getex", "r1"}, {"getex", "r1", "persist"}, {"append", "w1", "v"},
	{"incr", "r1"}, {"rename", "r1", "w1"}, {"rename", "b1", "w1"}, {"smove", "r1", "w1", "m"},
	{"sort", "r1"}, {"sort", "r1", "store", "w1"}, {"sort", "r1", "by", "w*"}, {"sort_ro", "r1"},
	{"zunionstore", "w1", "2", "r1", "r2"}, {"zunionstore", "r1", "2", "r1", "r2"},
	{"georadius", "r1", "0", "0", "1", "km", "store", "w1"}, {"xread", "streams", "r1", "0"},
	{"eval", "return 1", "2", "r1", "w1"}, {"bitop", "and", "w1", "r1", "r2"}, {"sintercard", "2", "r1", "r2"},
	{"lmpop", "2", "r1", "w1", "left"}, {"blmove", "r1", "w1", "left", "right", "0"}, {"object", "encoding", "r1"},
	{"memory", "usage", "w1"}, {"touch", "w1"}, {"exists", "w1"}, {"type", "w1"}, {"pfcount", "r1", "w1"},
	{"pfmerge", "w1", "r1"}, {"pfmerge", "b1", "w1"}, {"lpos", "r1", "x"}, {"setrange", "w1", "0", "x"},
	{"set", "w1", "v", "get"}, {"set", "b1", "v", "get"}, {"hincrby", "w1", "f", "1"}, {"xadd", "w1", "*", "f", "v"},
	{"xgroup", "create", "w1", "g", "$"}, {"expire", "w1", "10"}, {"dump", "r1"}, {"restore", "w1", "0", "x"},
	{"del", "x"}, {"exists", "z"}, {"copy", "a", "x"}, {"mget", "a", "b"}, {"mget", "b", "a"}, {"mget", "z", "a", "b"},
}

func TestDiff_SetUserListGetUserAndDryRunMatchRedis(t *testing.T) {
	addr, _ := harness.StartRedis(t)
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	t.Cleanup(func() { rc.Close() })
	common := redisCommands(t, rc)
	for i, seq := range diffSequences {
		name := fmt.Sprintf("u%d", i)
		u := NewUser(name)
		for _, call := range seq {
			args := []any{"acl", "setuser", name}
			for _, r := range call {
				args = append(args, r)
			}
			rerr := rc.Do(ctx, args...).Err()
			next, merr := modelSetUser(u, call)
			if merr == "" {
				u = next
			}
			got := ""
			if rerr != nil {
				got = rerr.Error()
			}
			if got != merr {
				t.Errorf("%s SETUSER %q:\n redis %q\n model %q", name, call, got, merr)
			}
		}
		line, err := rc.Do(ctx, "acl", "list").StringSlice()
		if err != nil {
			t.Fatal(err)
		}
		want := ""
		for _, l := range line {
			if strings.HasPrefix(l, "user "+name+" ") {
				want = strings.TrimPrefix(l, "user "+name+" ")
			}
		}
		if want == "" {
			want = NewUser(name).Describe() // Redis creates no user when the first call fails
			if rerr := rc.Do(ctx, "acl", "getuser", name).Err(); rerr != redis.Nil {
				t.Fatalf("%s: no ACL LIST line but GETUSER answers %v", name, rerr)
			}
			if u.Describe() != want {
				t.Errorf("%s: redis has no user, the model %q", name, u.Describe())
			}
			continue
		}
		if g, w := normRules(u.Describe()), normRules(want); g != w {
			if sameDescription(want, u.Describe(), common) {
				t.Logf("%s: the command tables differ: redis %q, model %q, the same permissions", name, w, g)
			} else {
				t.Errorf("%s %q: ACL LIST\n redis %q\n model %q", name, seq, w, g)
			}
		}
		gu, err := rc.Do(ctx, "acl", "getuser", name).Result()
		if err != nil {
			t.Fatal(err)
		}
		if !sameGetUser(gu, u.GetUser(), common) {
			g, w := normGetUser(u.GetUser()), normGetUser(gu)
			t.Errorf("%s %q: ACL GETUSER\n redis %s\n model %s", name, seq, w, g)
		}
		for _, dr := range dryRuns {
			args := []any{"acl", "dryrun", name}
			for _, a := range dr {
				args = append(args, a)
			}
			w, err := rc.Do(ctx, args...).Text()
			if err != nil {
				t.Fatalf("DRYRUN %q: %v", dr, err)
			}
			if g := modelDryRun(t, u, dr); g != w {
				t.Errorf("%s %q: DRYRUN %q\n redis %q\n model %q", name, seq, dr, w, g)
			}
		}
	}
}

// modelSetUser is ACL SETUSER in the model: the rules merged and applied
// to a clone; the error is Redis's reply text, "" on success.
func modelSetUser(u *User, rules []string) (*User, string) {
	merged, bad, ok := MergeSelectorArgs(rules)
	if !ok {
		return nil, fmt.Sprintf("ERR Unmatched parenthesis in acl selector starting at '%s'.", rules[bad])
	}
	c := u.Clone()
	for _, r := range merged {
		if err := c.SetRule(r); err != nil {
			return nil, err.(*RuleError).SetUserReply()
		}
	}
	return c, ""
}

func modelDryRun(t *testing.T, u *User, argv []string) string {
	spec := command.LookupName(argv[0])
	if spec == nil {
		t.Fatalf("no command %q", argv[0])
	}
	if len(spec.Subs) > 0 {
		spec = spec.Sub([]byte(argv[1]))
	}
	args := make([][]byte, len(argv))
	for i, a := range argv {
		args[i] = []byte(a)
	}
	if d := u.Check(spec, args); d != nil {
		return d.DryRun(u.Name, spec.Name)
	}
	return "OK"
}

// normRules sorts the single-command rules of each selector of a
// description: Redis emits them in its command table's hash order, which
// changes from run to run.
func normRules(descr string) string {
	toks, _, _ := MergeSelectorArgs(strings.Split(descr, " "))
	var out []string
	var single []string
	flush := func() {
		slices.Sort(single)
		out = append(out, single...)
		single = nil
	}
	for _, tok := range toks {
		switch {
		case strings.HasPrefix(tok, "(") && strings.HasSuffix(tok, ")"):
			flush()
			out = append(out, "("+normRules(tok[1:len(tok)-1])+")")
		case len(tok) > 1 && (tok[0] == '+' || tok[0] == '-') && tok[1] != '@':
			single = append(single, tok)
		default:
			out = append(out, tok)
		}
	}
	flush()
	return strings.Join(out, " ")
}

// normGetUser renders a GETUSER reply, the model's or go-redis's, as one
// comparable string with command rules normalised.
func normGetUser(v any) string {
	var b strings.Builder
	var walk func(v any, key string)
	walk = func(v any, key string) {
		switch x := v.(type) {
		case string:
			if key == "commands" {
				x = normRules(x)
			}
			fmt.Fprintf(&b, "%q ", x)
		case []string:
			b.WriteString("[")
			for _, s := range x {
				fmt.Fprintf(&b, "%q ", s)
			}
			b.WriteString("] ")
		case [][2]any:
			b.WriteString("[")
			for _, kv := range x {
				walk(kv[0], "")
				walk(kv[1], kv[0].(string))
			}
			b.WriteString("] ")
		case []any:
			b.WriteString("[")
			prev := ""
			for _, e := range x {
				walk(e, prev)
				prev, _ = e.(string)
			}
			b.WriteString("] ")
		default:
			fmt.Fprintf(&b, "%T(%v) ", v, v)
		}
	}
	walk(v, "")
	return b.String()
}

// fileCases are ACL files loaded with ACL LOAD into redis-server and
// parsed by ParseFileAs. (An unmatched '(' is left out: redis-server
// 7.0.15 crashes on it in ACLLoadFromFile; ParseFileAs reports it.)
var fileCases = []string{
	"user default on nopass ~* &* +@all\n",
	"user a on ~x +nosuch +get +nosuch2 #bad %X~y\nuser b\nuser a\nfoo\nuser\n",
	"user a\tb on\n",
	"user  a on\n\n   \n",
	"user a on ~x\r\nuser b off\n",
	"user a on >pw ~x:* (~y +set) (%R~z +get &c) +@read\n",
	"USER a on\n",
	"user a on ~* ~x &* &y <nope\n",
	"user a on +@all -@dangerous +info resetkeys %RW~k:* resetchannels &n\n\n\n",
	"user default on nopass +@all -@admin +acl ~* resetchannels &x\nuser b on nopass +@all ~* &*\n",
	"user default off\nuser b on nopass +@all ~* &*\n", // last: the connection loses its rights
}

func TestDiff_ACLFileMatchesRedisLoad(t *testing.T) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not on PATH")
	}
	dir := t.TempDir()
	aclfile := filepath.Join(dir, "users.acl")
	if err := os.WriteFile(aclfile, []byte("user default on nopass ~* &* +@all\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := harness.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	p := &proc.Process{Bin: path, LogPath: filepath.Join(dir, "redis.log")}
	t.Cleanup(p.Kill)
	if err := p.Start("--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--aclfile", aclfile); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	t.Cleanup(func() { rc.Close() })
	if err := harness.WaitFor(10*time.Second, func() error { return rc.Ping(ctx).Err() }); err != nil {
		t.Fatalf("redis-server: %v\n%s", err, p.Log())
	}
	common := redisCommands(t, rc)
	for _, text := range fileCases {
		if err := os.WriteFile(aclfile, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		want := "OK"
		if err := rc.Do(ctx, "acl", "load").Err(); err != nil {
			want = err.Error()
		}
		set, perr := ParseFileAs(aclfile, text)
		got := "OK"
		if perr != nil {
			got = "ERR " + perr.Error()
		}
		if got != want {
			t.Errorf("ACL LOAD %q:\n redis %q\n model %q", text, want, got)
			continue
		}
		if perr != nil || strings.HasPrefix(text, "user default off") {
			continue // after the last case the connection may not run ACL LIST
		}
		lines, err := rc.Do(ctx, "acl", "list").StringSlice()
		if err != nil {
			t.Fatal(err)
		}
		users := set.Users()
		if len(users) != len(lines) {
			t.Errorf("ACL LIST after loading %q:\n redis %q\n model %q", text, lines, set.File())
			continue
		}
		for i, l := range lines {
			prefix := "user " + users[i].Name + " "
			if !strings.HasPrefix(l, prefix) || !sameDescription(strings.TrimPrefix(l, prefix), users[i].Describe(), common) {
				t.Errorf("ACL LIST after loading %q:\n redis %q\n model %q", text, l, prefix+users[i].Describe())
			}
		}
	}
}

// randomRules is the vocabulary of TestDiff_RandomRulesMatchRedis.
var randomRules = []string{
	"on", "off", "nopass", "resetpass", ">a", ">b", "<a", "#" + hashOfPassword, "!" + hashOfPassword, "reset",
	"~*", "~foo:*", "~x", "%R~read:*", "%W~write:*", "%RW~both:*", "%R~x", "allkeys", "resetkeys",
	"&*", "&news.*", "&chat", "allchannels", "resetchannels",
	"+@all", "-@all", "allcommands", "nocommands", "+get", "-get", "+set", "-set", "+hset", "+publish",
	"+subscribe", "+psubscribe", "+config", "-config", "+config|get", "-config|set", "+client", "-client|kill",
	"+select|0", "+select|1", "-select", "+mget", "+lmove", "+del", "+info", "-flushall",
	"+@read", "-@read", "+@write", "-@write", "+@string", "-@string", "+@hash", "+@list", "-@list",
	"+@keyspace", "-@keyspace", "+@pubsub", "-@pubsub", "+@admin", "-@admin", "+@dangerous", "-@dangerous",
	"+@fast", "-@fast", "+@slow", "+@connection", "-@connection", "+@sortedset", "+@set", "+@geo",
	"(~x +get)", "(%R~foo:* +@read)", "(&chat +publish +subscribe)", "(+set ~both:*)", "clearselectors",
	"skip-sanitize-payload", "sanitize-payload",
	"+nosuch", "#bad", "<nope", "%X~y", "~x y", "+config|get|x",
}

func TestDiff_RandomRulesMatchRedis(t *testing.T) {
	addr, _ := harness.StartRedis(t)
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	t.Cleanup(func() { rc.Close() })
	common := redisCommands(t, rc)
	rng := rand.New(rand.NewPCG(1, 2))
	exact, n := 0, 300
	for i := range n {
		name := fmt.Sprintf("r%d", i)
		u := NewUser(name)
		created := false
		for range 1 + rng.IntN(3) {
			var call []string
			for range 1 + rng.IntN(6) {
				call = append(call, randomRules[rng.IntN(len(randomRules))])
			}
			args := []any{"acl", "setuser", name}
			for _, r := range call {
				args = append(args, r)
			}
			rerr := rc.Do(ctx, args...).Err()
			next, merr := modelSetUser(u, call)
			if merr == "" {
				u, created = next, true
			}
			got := ""
			if rerr != nil {
				got = rerr.Error()
			}
			if got != merr {
				t.Fatalf("%s SETUSER %q:\n redis %q\n model %q", name, call, got, merr)
			}
		}
		if !created {
			continue
		}
		want, err := rc.Do(ctx, "acl", "getuser", name).Result()
		if err != nil {
			t.Fatal(err)
		}
		if normGetUser(u.GetUser()) == normGetUser(want) {
			exact++
		} else if !sameGetUser(want, u.GetUser(), common) {
			t.Fatalf("%s: ACL GETUSER\n redis %s\n model %s", name, normGetUser(want), normGetUser(u.GetUser()))
		}
		for _, dr := range dryRuns {
			args := []any{"acl", "dryrun", name}
			for _, a := range dr {
				args = append(args, a)
			}
			w, err := rc.Do(ctx, args...).Text()
			if err != nil {
				t.Fatalf("DRYRUN %q: %v", dr, err)
			}
			if g := modelDryRun(t, u, dr); g != w {
				t.Fatalf("%s %q: DRYRUN %q\n redis %q\n model %q", name, u.Describe(), dr, w, g)
			}
		}
	}
	t.Logf("%d of %d users described exactly as Redis does, the others alike but for the command tables", exact, n)
}
