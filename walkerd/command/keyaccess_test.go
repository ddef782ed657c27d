package command

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/walkerdb/walkerdb/internal/harness"
)

// keyAccessLine evaluates KeyAccess on a command line given as words,
// resolving the command as the server does; a command WalkerDB lacks but
// Redis has is evaluated by its Redis name alone.
func keyAccessLine(words []string) (refs []KeyRef, known bool) {
	args := make([][]byte, len(words))
	for i, w := range words {
		args[i] = []byte(w)
	}
	spec := Lookup(args[0])
	if spec == nil {
		name := strings.ToLower(words[0])
		if _, ok := redisKeySpecs[name]; !ok {
			return nil, false
		}
		spec = &Spec{Name: name}
		if len(words) > 1 {
			if _, ok := redisKeySpecs[name+"|"+strings.ToLower(words[1])]; ok {
				spec.Name = name + "|" + strings.ToLower(words[1])
			}
		}
	}
	return KeyAccess(spec, args), true
}

// formatRefs writes refs as "key:RW key:R key:W key:-".
func formatRefs(refs []KeyRef) string {
	var parts []string
	for _, r := range refs {
		acc := ""
		if r.Read {
			acc += "R"
		}
		if r.Write {
			acc += "W"
		}
		if acc == "" {
			acc = "-"
		}
		parts = append(parts, string(r.Key)+":"+acc)
	}
	return strings.Join(parts, " ")
}

func TestKeyAccess_RedisSemantics(t *testing.T) {
	cases := []struct {
		line string
		want string // formatRefs of the result
	}{
		{"GET k", "k:R"},
		{"get k", "k:R"},
		{"SET k v", "k:W"},
		{"SET k v EX 10", "k:W"},
		{"SET k v GET", "k:RW"},
		{"set k v nx get ex 1", "k:RW"},
		{"SET k get", "k:W"}, // the value, not the GET option
		{"GETDEL k", "k:RW"},
		{"GETEX k PERSIST", "k:RW"},
		{"MGET a b c", "a:R b:R c:R"},
		{"MSET a 1 b 2", "a:W b:W"},
		{"DEL a b", "a:W b:W"},
		{"EXISTS a b", "a:- b:-"}, // RO without access: any pattern allows it
		{"LMOVE src dst LEFT RIGHT", "src:RW dst:W"},
		{"RPOPLPUSH src dst", "src:RW dst:W"},
		{"COPY src dst", "src:R dst:W"},
		{"COPY src dst DB 1 REPLACE", "src:R dst:W"},
		{"RENAME a b", "a:RW b:W"},
		{"SORT k", "k:R"},
		{"SORT k STORE dst", "k:R dst:W"},
		{"SORT k BY p GET g LIMIT 0 1 STORE dst", "k:R dst:W"},
		{"sort k store a store b", "k:R b:W"},
		{"SORT k GET store", "k:R"}, // GET's pattern, not the STORE option
		{"SORT_RO k BY p", "k:R"},
		{"EVAL s 2 a b x", "a:RW b:RW"},
		{"EVALSHA s 1 a", "a:RW"},
		{"EVAL_RO s 1 a", "a:R"},
		{"EVAL s 0", ""},
		{"EVAL s 3 a", ""},
		{"EVAL s 2x a b", "a:- b:-"}, // string2ll refuses it, evalGetKeys's atoi reads 2
		{"EVAL s -1 a", ""},
		{"FCALL f 1 k a", "k:RW"},
		{"FCALL_RO f 1 k", "k:R"},
		{"ZUNIONSTORE dst 2 a b WEIGHTS 1 2", "dst:W a:R b:R"},
		{"ZUNION 2 a b", "a:R b:R"},
		{"ZINTERCARD 1 a LIMIT 3", "a:R"},
		{"SINTERCARD 2 a b", "a:R b:R"},
		{"LMPOP 2 a b LEFT", "a:RW b:RW"},
		{"BLMPOP 0 1 a LEFT COUNT 2", "a:RW"},
		{"BZMPOP 0 2 a b MIN", "a:RW b:RW"},
		{"XREAD COUNT 1 STREAMS a b 0 0", "a:R b:R"},
		{"XREAD STREAMS a", ""},
		// Redis 7.0.15's XREADGROUP key spec is RO+access: the read takes
		// read permission only.
		{"XREADGROUP GROUP g c STREAMS k 0", "k:R"},
		{"XREADGROUP GROUP g c NOACK STREAMS a b > >", "a:R b:R"},
		{"XADD s * f v", "s:W"},
		{"XAUTOCLAIM s g c 0 0", "s:W"},
		{"GEORADIUS k 0 0 1 m", "k:R"},
		{"GEORADIUS k 0 0 1 m STORE dst", "k:R dst:W"},
		{"GEORADIUS k 0 0 1 m STOREDIST dst", "k:R dst:W"},
		{"GEORADIUSBYMEMBER k m 1 km store dst", "k:R dst:W"},
		{"GEOSEARCHSTORE dst src FROMMEMBER m BYRADIUS 1 m", "dst:W src:R"},
		{"BITFIELD k GET u8 0", "k:R"},
		{"BITFIELD k OVERFLOW SAT GET u8 0", "k:R"},
		{"BITFIELD k GET u8 0 SET u8 0 1", "k:RW"},
		{"BITFIELD k INCRBY u8 0 1", "k:RW"},
		{"BITFIELD_RO k GET u8 0", "k:R"},
		{"OBJECT ENCODING k", "k:-"},
		{"MEMORY USAGE k", "k:-"},
		{"XINFO STREAM k", "k:R"},
		{"PING", ""},
		{"PUBLISH ch m", ""},
		{"SPUBLISH ch m", ""}, // not_key: a channel
		{"LEVELGET k strong", "k:R"},
		{"WALKER.VERSIONS a b", "a:R b:R"},
		{"WALKER.DELEXPIRED a b", "a:RW b:RW"},
		{"JOIN n1 127.0.0.1:1", ""},
		// MIGRATE is not a WalkerDB command: evaluated by its Redis name.
		{"MIGRATE h 1 k 0 10", "k:RW"},
		{"MIGRATE h 1 \"\" 0 10 COPY AUTH pw KEYS a b", "a:RW b:RW"},
	}
	for _, c := range cases {
		words := strings.Fields(c.line)
		for i, w := range words {
			if w == `""` {
				words[i] = ""
			}
		}
		refs, known := keyAccessLine(words)
		if !known {
			t.Errorf("%s: neither WalkerDB nor Redis has the command", c.line)
			continue
		}
		if got := formatRefs(refs); got != c.want {
			t.Errorf("%s: KeyAccess = %q, want %q", c.line, got, c.want)
		}
	}
}

func TestKeyAccess_WalkerCommands(t *testing.T) {
	// WalkerDB's own commands: their keys by spec.Keys, with the access of
	// their data flag.
	own := 0
	for _, s := range allSpecs() {
		if _, ok := redisKeySpecs[s.Name]; ok {
			continue
		}
		own++
		args := [][]byte{[]byte(s.Name)}
		for i := 1; i < max(s.Arity, -s.Arity, 4); i++ {
			args = append(args, fmt.Appendf(nil, "a%d", i))
		}
		want := s.Keys(args)
		refs := KeyAccess(s, args)
		if len(refs) != len(want) {
			t.Errorf("%s: %d keys, spec.Keys finds %d", s.Name, len(refs), len(want))
			continue
		}
		for i, r := range refs {
			if string(r.Key) != string(want[i]) || r.Write != (s.Flags&FlagWrite != 0) ||
				r.Read != (s.Flags&(FlagWrite|FlagReadonly) != 0) {
				t.Errorf("%s: key %d = %+v (flags %v)", s.Name, i, r, s.Flags.FlagNames())
			}
		}
	}
	if own == 0 {
		t.Fatal("no WalkerDB-only command found: the table holds every name?")
	}
	if got := formatRefs(KeyAccess(LookupName("levelget"), [][]byte{[]byte("LEVELGET"), []byte("k"), []byte("strong")})); got != "k:R" {
		t.Errorf("LEVELGET: %q, want k:R", got)
	}
	// A subcommand's spec directly, or its container's.
	line := [][]byte{[]byte("OBJECT"), []byte("ENCODING"), []byte("k")}
	if a, b := KeyAccess(LookupName("object|encoding"), line), KeyAccess(LookupName("object"), line); formatRefs(a) != "k:-" || formatRefs(b) != "k:-" {
		t.Errorf("OBJECT ENCODING k: %q by the subcommand, %q by the container", formatRefs(a), formatRefs(b))
	}
	if KeyAccess(nil, [][]byte{[]byte("x")}) != nil {
		t.Error("nil spec: keys found")
	}
}

// allSpecs lists every registered spec, subcommands included.
func allSpecs() []*Spec {
	var out []*Spec
	for _, s := range Specs() {
		out = append(out, s)
		out = append(out, s.Subs...)
	}
	return out
}

// exampleLines builds command lines for s from its COMMAND DOCS arguments:
// the required arguments only, and every optional argument with the
// first and the last choice of each oneof.
func exampleLines(s *Spec) [][]string {
	head := []string{s.Name}
	if s.Parent != nil {
		head = []string{s.Parent.Name, s.Name[len(s.Parent.Name)+1:]}
	}
	if s.Args == nil {
		// Undocumented: as many plain words as the arity asks, and two
		// more when it is a minimum.
		var lines [][]string
		n := max(s.Arity, -s.Arity)
		for _, extra := range []int{0, 2} {
			if extra > 0 && s.Arity > 0 {
				break
			}
			line := slices.Clone(head)
			for i := len(head); i < n+extra; i++ {
				line = append(line, fmt.Sprintf("a%d", i))
			}
			lines = append(lines, line)
		}
		return lines
	}
	var lines [][]string
	for _, v := range []struct {
		full   bool
		choice int
	}{{false, 0}, {true, 0}, {true, 99}} {
		key := 0
		var words []string
		var add func(a Arg)
		value := func(a Arg) {
			switch a.Type {
			case "key":
				key++
				words = append(words, fmt.Sprintf("k%d", key))
			case "integer", "unix-time":
				if v.full {
					words = append(words, "2")
				} else {
					words = append(words, "1")
				}
			case "double":
				words = append(words, "1.5")
			case "pattern":
				words = append(words, "*")
			case "pure-token":
			case "oneof":
				if len(a.Args) > 0 {
					add(a.Args[min(v.choice, len(a.Args)-1)])
				}
			case "block":
				for _, sub := range a.Args {
					add(sub)
				}
			default:
				words = append(words, "s")
			}
		}
		add = func(a Arg) {
			if a.Flags&ArgOptional != 0 && !v.full {
				return
			}
			n := 1
			if a.Flags&ArgMultiple != 0 && v.full {
				n = 2
			}
			for i := range n {
				if a.Token != "" && (i == 0 || a.Flags&ArgMultipleToken != 0) {
					words = append(words, a.Token)
				}
				value(a)
			}
		}
		for _, a := range s.Args {
			add(a)
		}
		line := append(slices.Clone(head), words...)
		if !slices.ContainsFunc(lines, func(l []string) bool { return slices.Equal(l, line) }) {
			lines = append(lines, line)
		}
	}
	return lines
}

// extraLines are hand-written command lines for the differential test:
// options the generated lines miss, bad numkeys, keywords in odd places.
var extraLines = []string{
	"SET k v GET", "set k v nx get ex 1", "SET k get", "SET k v KEEPTTL",
	"BITFIELD k GET u8 0", "BITFIELD k GET u8 0 SET u8 0 1", "BITFIELD k OVERFLOW SAT GET u8 0",
	"BITFIELD k FOO", "BITFIELD k GET u8", "BITFIELD k INCRBY u8 0 1 GET u8 0",
	"SORT k", "SORT k STORE d", "SORT k BY p GET g LIMIT 0 1 STORE d", "sort k store a store b",
	"SORT k GET store", "SORT k STORE", "SORT k LIMIT store x STORE d", "SORT_RO k BY p GET #",
	"EVAL s 0", "EVAL s 2 a b c", "EVAL s 2x a b", "EVAL s -1 a", "EVAL s 5 a", "EVAL s 01 a",
	"EVAL s ' 1' a", "EVALSHA s 1 a", "EVAL_RO s 1 a", "EVALSHA_RO s 2 a b",
	"FCALL f 1 k a", "FCALL f 0", "FCALL_RO f 2 a b",
	"ZUNIONSTORE d 2 a b WEIGHTS 1 2", "ZUNIONSTORE d 0 a", "ZUNIONSTORE d 3 a b", "ZINTERSTORE d 1x a",
	"ZDIFFSTORE d 1 a", "ZUNION 2 a b", "ZINTER 1 a WITHSCORES", "ZDIFF 3 a b", "ZINTERCARD 2 a b LIMIT 1",
	"SINTERCARD 2 a b", "SINTERCARD 0 a", "LMPOP 2 a b LEFT", "LMPOP 3 a b LEFT", "BLMPOP 0 1 a LEFT COUNT 2",
	"ZMPOP 1 a MIN", "BZMPOP 0 2 a b MIN",
	"XREAD COUNT 1 STREAMS a b 0 0", "XREAD STREAMS a 0 b", "XREAD BLOCK 0 STREAMS a 0", "XREAD STREAMS streams 0",
	"XREADGROUP GROUP g c STREAMS k 0", "XREADGROUP GROUP g c NOACK COUNT 1 STREAMS a b > >",
	"XREADGROUP GROUP streams c STREAMS k 0",
	"GEORADIUS k 0 0 1 m STORE d", "GEORADIUS k 0 0 1 m STOREDIST d", "GEORADIUS k 0 0 1 m STORE a STOREDIST b",
	"GEORADIUS k 0 0 1 m store", "GEORADIUSBYMEMBER k m 1 km STORE d", "GEORADIUS_RO k 0 0 1 m",
	"MIGRATE h 1 k 0 10", "MIGRATE h 1 '' 0 10 KEYS a b", "MIGRATE h 1 k 0 10 KEYS a b",
	"MIGRATE h 1 '' 0 10 COPY REPLACE AUTH keys KEYS a", "MIGRATE h 1 '' 0 10 AUTH2 u keys KEYS a b",
	"LMOVE a b LEFT RIGHT", "BLMOVE a b LEFT RIGHT 0", "COPY a b DB 1", "RENAME a b", "SMOVE a b m",
	"MSET a 1 b 2", "MSETNX a 1 b 2", "DEL a b c", "UNLINK a", "TOUCH a b", "EXISTS a b",
	"OBJECT ENCODING k", "OBJECT FREQ k", "MEMORY USAGE k SAMPLES 5", "XINFO STREAM k FULL",
	"XGROUP CREATE s g $ MKSTREAM", "XINFO CONSUMERS s g", "LCS a b LEN", "PFMERGE d a b", "PFCOUNT a b",
	"SUBSCRIBE a", "SPUBLISH ch m", "SSUBSCRIBE a b", "WATCH a b", "GETEX k PERSIST", "GETDEL k",
}

// TestKeyAccess_MatchesRedis compares KeyAccess with redis-server 7.0.15's
// COMMAND GETKEYSANDFLAGS (the keys its ACL checks see) on a command line
// or more per command: the same keys in the same order, "access" as Read
// and "insert", "delete" or "update" as Write.
func TestKeyAccess_MatchesRedis(t *testing.T) {
	addr, _ := harness.StartRedis(t)
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	defer rc.Close()
	if v, err := rc.Info(ctx, "server").Result(); err == nil && !strings.Contains(v, "redis_version:"+redisKeySpecsVersion) {
		t.Skipf("redis-server is not %s", redisKeySpecsVersion)
	}

	var lines [][]string
	for _, s := range allSpecs() {
		if len(s.Subs) == 0 {
			lines = append(lines, exampleLines(s)...)
		}
	}
	for _, l := range extraLines {
		words := strings.Fields(l)
		for i, w := range words {
			if w == "''" {
				words[i] = ""
			} else if w == "'" {
				words[i] = " "
			}
		}
		lines = append(lines, words)
	}

	covered := map[string]bool{} // full names with a line compared
	compared, differ := 0, 0
	for _, words := range lines {
		refs, known := keyAccessLine(words)
		if !known {
			continue // a WalkerDB-only command
		}
		args := []any{"COMMAND", "GETKEYSANDFLAGS"}
		for _, w := range words {
			args = append(args, w)
		}
		var reply []any
		var err error
		if len(words) > 1 { // GETKEYSANDFLAGS wants an argument after the name
			reply, err = rc.Do(ctx, args...).Slice()
		}
		var want []KeyRef
		switch {
		case len(words) == 1:
			if refs != nil { // no arguments, no keys
				t.Errorf("%q: KeyAccess %q, want no keys", words, formatRefs(refs))
			}
			continue
		case err == nil:
			for _, e := range reply {
				pair, _ := e.([]any)
				if len(pair) != 2 {
					t.Fatalf("%q: GETKEYSANDFLAGS entry %v", words, e)
				}
				k, _ := pair[0].(string)
				r := KeyRef{Key: []byte(k)}
				flags, _ := pair[1].([]any)
				for _, f := range flags {
					switch f {
					case "access":
						r.Read = true
					case "insert", "delete", "update":
						r.Write = true
					}
				}
				want = append(want, r)
			}
		case strings.Contains(err.Error(), "Invalid arguments specified"),
			strings.Contains(err.Error(), "has no key arguments"):
			// Redis finds no keys.
		case strings.Contains(err.Error(), "Invalid number of arguments"),
			strings.Contains(err.Error(), "Invalid command specified"):
			continue
		default:
			t.Fatalf("%q: GETKEYSANDFLAGS: %v", words, err)
		}
		compared++
		name := strings.ToLower(words[0])
		if s := Lookup([]byte(words[0])); s != nil && len(s.Subs) > 0 && len(words) > 1 {
			name += "|" + strings.ToLower(words[1])
		}
		covered[name] = true
		if got, exp := formatRefs(refs), formatRefs(want); got != exp {
			differ++
			t.Errorf("%q: KeyAccess %q, Redis %q", words, got, exp)
		}
	}
	own, withRedis, walkerHas := 0, 0, 0
	for _, s := range allSpecs() {
		if len(s.Subs) > 0 {
			continue
		}
		walkerHas++
		if _, ok := redisKeySpecs[s.Name]; !ok {
			own++
		} else if covered[s.Name] {
			withRedis++
		}
	}
	t.Logf("%d command lines compared (%d differ); %d of the %d WalkerDB commands Redis has compared (%d more are WalkerDB's own); %d names compared in all",
		compared, differ, withRedis, walkerHas-own, own, len(covered))
	var missing []string
	for _, s := range allSpecs() {
		if _, ok := redisKeySpecs[s.Name]; ok && len(s.Subs) == 0 && !covered[s.Name] {
			missing = append(missing, s.Name)
		}
	}
	t.Logf("not compared (no arguments, checked to have no keys): %v", missing)
	if withRedis < (walkerHas-own)*9/10 {
		t.Errorf("only %d commands covered", withRedis)
	}
}
