package acl

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/walkerd/command"
)

const hashOfPassword = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8" // sha256("password")

// user builds a user from rules, failing the test on a refused rule.
func user(t testing.TB, name string, rules ...string) *User {
	t.Helper()
	u := NewUser(name)
	for _, r := range rules {
		if err := u.SetRule(r); err != nil {
			t.Fatalf("SetRule(%q): %v", r, err)
		}
	}
	return u
}

func argv(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i, a := range s {
		out[i] = []byte(a)
	}
	return out
}

// check runs u.Check for a command line, looking the spec up as the
// server does (a container's subcommand by the second argument).
func check(t *testing.T, u *User, line ...string) *Denial {
	t.Helper()
	spec := command.LookupName(line[0])
	if spec == nil {
		t.Fatalf("no command %q", line[0])
	}
	if len(spec.Subs) > 0 && len(line) > 1 {
		if sub := spec.Sub([]byte(line[1])); sub != nil {
			spec = sub
		}
	}
	return u.Check(spec, argv(line...))
}

func TestNewUser_IsOffWithNothingAllowed(t *testing.T) {
	u := NewUser("alice")
	if got, want := u.Describe(), "off resetchannels -@all"; got != want {
		t.Fatalf("Describe = %q, want %q", got, want)
	}
	if u.Enabled() || u.CheckPassword([]byte("")) {
		t.Fatal("a new user is disabled and has no password")
	}
	if d := check(t, u, "get", "k"); d == nil || d.Reason != ReasonCommand || d.Object != "get" {
		t.Fatalf("GET: %+v", d)
	}
}

func TestDefaultUser_DescribesAsRedisDoes(t *testing.T) {
	if got, want := DefaultUser("").Describe(), "on nopass ~* &* +@all"; got != want {
		t.Fatalf("Describe = %q, want %q", got, want)
	}
	u := DefaultUser("password")
	if got, want := u.Describe(), "on #"+hashOfPassword+" ~* &* +@all"; got != want {
		t.Fatalf("Describe = %q, want %q", got, want)
	}
	if !u.CheckPassword([]byte("password")) || u.CheckPassword([]byte("Password")) {
		t.Fatal("CheckPassword accepts only the password")
	}
	if d := check(t, u, "walker.digest"); d != nil {
		t.Fatalf("+@all allows internal commands (future commands): %v", d)
	}
}

func TestSetRule_ErrorsAreRedisTexts(t *testing.T) {
	cases := map[string]string{
		"foo":                                 "Syntax error",
		"+nosuch":                             "Unknown command or category name in ACL",
		"-nosuch":                             "Unknown command or category name in ACL",
		"+@nosuch":                            "Unknown command or category name in ACL",
		"+@":                                  "Unknown command or category name in ACL",
		"+":                                   "Unknown command or category name in ACL",
		"-get|foo":                            "Unknown command or category name in ACL",
		"+config|nosuch":                      "Unknown command or category name in ACL",
		"+walker.digest":                      "Unknown command or category name in ACL",
		"+config|":                            "Syntax error",
		"+config|get|x":                       "Allowing first-arg of a subcommand is not supported",
		"#abc":                                "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
		"#" + strings.ToUpper(hashOfPassword): "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
		"!abc":                                "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
		"<nope":                               "The password you are trying to remove from the user does not exist",
		"!" + hashOfPassword:                  "The password you are trying to remove from the user does not exist",
		"%":                                   "Syntax error",
		"%~a":                                 "Syntax error",
		"%X~a":                                "Syntax error",
		"%RR~a":                               "Syntax error",
		"~a b":                                "Syntax error",
		"&a\tb":                               "Syntax error",
		"(on)":                                "Syntax error",
		"(~a":                                 "Syntax error",
		"(~a +nosuch)":                        "Unknown command or category name in ACL",
	}
	for rule, want := range cases {
		err := NewUser("u").SetRule(rule)
		var re *RuleError
		if !errors.As(err, &re) || err.Error() != want || re.Rule != rule {
			t.Errorf("SetRule(%q) = %v, want %q", rule, err, want)
		}
	}
	u := user(t, "u", "~*")
	if err := u.SetRule("~x"); err == nil || !strings.Contains(err.Error(), "'allkeys' flag") {
		t.Errorf("~x after ~*: %v", err)
	}
	u = user(t, "u", "&*")
	if err := u.SetRule("&x"); err == nil || !strings.Contains(err.Error(), "'allchannels' flag") {
		t.Errorf("&x after &*: %v", err)
	}
}

func TestSetRule_Describe(t *testing.T) {
	cases := []struct {
		rules []string
		want  string
	}{
		{[]string{"on", ">password", "~*", "&*", "+@all"}, "on #" + hashOfPassword + " ~* &* +@all"},
		{[]string{">a", ">b", ">a", "<b"}, "off #" + hashOfPassword[:0] + hashString("a") + " resetchannels -@all"},
		{[]string{">a", "nopass"}, "off nopass resetchannels -@all"},
		{[]string{"nopass", ">a", "resetpass"}, "off resetchannels -@all"},
		{[]string{"#" + hashOfPassword, "!" + hashOfPassword}, "off resetchannels -@all"},
		{[]string{"ON", "AllKeys", "AllChannels", "AllCommands"}, "on ~* &* +@all"},
		{[]string{"%R~r:*", "%W~w:*", "%RW~b:*", "~x", "%R~x"}, "off %R~r:* %W~w:* ~b:* ~x resetchannels -@all"},
		{[]string{"%W", "%r~"}, "off ~ resetchannels -@all"},
		{[]string{"~a", "resetkeys", "~b", "allkeys"}, "off ~* resetchannels -@all"},
		{[]string{"&a", "&b", "&a"}, "off resetchannels &a &b -@all"},
		{[]string{"+@all", "-get"}, "off resetchannels +@all -get"},
		{[]string{"+@all", "-@all", "+get", "+GET"}, "off resetchannels -@all +get"},
		{[]string{"+config", "-config|set"}, "off resetchannels -@all +config -config|set"},
		{[]string{"+select|0", "+select|1", "+SELECT|1"}, "off resetchannels -@all +select|0 +select|1"},
		{[]string{"+select|0", "+select"}, "off resetchannels -@all +select"},
		{[]string{"+select|0", "-select"}, "off resetchannels -@all"},
		{[]string{"skip-sanitize-payload"}, "off skip-sanitize-payload resetchannels -@all"},
		{[]string{"on", "~x", "+get", "(~y +set)", "reset"}, "off sanitize-payload resetchannels -@all"},
		{[]string{"+get", "~x", "(~y +set)", "(%R~z +get &c)"}, "off ~x resetchannels -@all +get (~y resetchannels -@all +set) (%R~z resetchannels &c -@all +get)"},
		{[]string{"(~a +get)", "clearselectors"}, "off resetchannels -@all"},
		{[]string{"()"}, "off resetchannels -@all (resetchannels -@all)"},
		{[]string{`(~"a" '+get')`}, "off resetchannels -@all (~a resetchannels -@all +get)"},
		{[]string{`("~a)`}, "off resetchannels -@all (resetchannels -@all)"}, // unbalanced quotes: nothing
		{[]string{""}, "off resetchannels -@all"},
		{[]string{"on\x00junk"}, "on resetchannels -@all"}, // C sees "on"
	}
	for _, c := range cases {
		u := user(t, "u", c.rules...)
		if got := u.Describe(); got != c.want {
			t.Errorf("%q: Describe = %q, want %q", c.rules, got, c.want)
		}
		// Describe's rules rebuild the user.
		if got := reparse(t, u.Describe()).Describe(); got != c.want {
			t.Errorf("%q: re-parsed Describe = %q", c.rules, got)
		}
	}
}

func hashString(s string) string { return hashPassword([]byte(s)) }

// reparse applies a description's rules (selectors merged) to a new user.
func reparse(t testing.TB, descr string) *User {
	t.Helper()
	rules, _, ok := MergeSelectorArgs(strings.Split(descr, " "))
	if !ok {
		t.Fatalf("unmatched parenthesis in %q", descr)
	}
	u := NewUser("u")
	for _, r := range rules {
		if err := u.SetRule(r); err != nil {
			t.Fatalf("re-parsing %q: rule %q: %v", descr, r, err)
		}
	}
	return u
}

func TestSetRule_CategoriesPickTheBestFit(t *testing.T) {
	u := user(t, "u", "+@all", "-@dangerous")
	if got, want := u.Describe(), "off resetchannels +@all -@dangerous"; got != want {
		t.Fatalf("Describe = %q, want %q", got, want)
	}
	u = user(t, "u", "-@all", "+@string", "+@hash", "-hdel")
	if got, want := u.Describe(), "off resetchannels -@all +@string +@hash -hdel"; got != want {
		t.Fatalf("Describe = %q, want %q", got, want)
	}
}

func TestClone_IsIndependent(t *testing.T) {
	u := user(t, "u", "~a", "&c", "+get", "+select|0", ">p", "(~s +set)")
	before := u.Describe()
	c := u.Clone()
	for _, r := range []string{"~b", "&d", "-get", "+select|1", ">q", "resetpass", "clearselectors", "reset"} {
		if err := c.SetRule(r); err != nil {
			t.Fatal(err)
		}
	}
	if u.Describe() != before {
		t.Fatalf("changing a clone changed the user: %q, was %q", u.Describe(), before)
	}
}

func TestGetUser_FieldsAsRedis7(t *testing.T) {
	u := user(t, "u", "on", ">password", "%R~r:*", "~x", "&c", "+get", "(~y +set)")
	got := u.GetUser()
	want := []any{
		"flags", []string{"on"},
		"passwords", []string{hashOfPassword},
		"commands", "-@all +get",
		"keys", "%R~r:* ~x",
		"channels", "&c",
		"selectors", []any{[][2]any{{"commands", "-@all +set"}, {"keys", "~y"}, {"channels", ""}}},
	}
	if normGetUser(got) != normGetUser(want) {
		t.Fatalf("GetUser =\n %s\nwant\n %s", normGetUser(got), normGetUser(want))
	}
	d := DefaultUser("").GetUser()
	if d[1].([]string)[1] != "nopass" || d[7] != "~*" || d[9] != "&*" || len(d[11].([]any)) != 0 || len(d[3].([]string)) != 0 {
		t.Fatalf("default GetUser = %v", d)
	}
}

func TestCheck_KeysByReadAndWritePatterns(t *testing.T) {
	u := user(t, "u", "+@all", "%R~r:*", "%W~w:*", "~b:*")
	cases := []struct {
		line   []string
		reason int
		object string
	}{
		{[]string{"get", "r:1"}, 0, ""},
		{[]string{"get", "b:1"}, 0, ""},
		{[]string{"get", "w:1"}, ReasonKey, "w:1"},
		{[]string{"set", "r:1", "v"}, ReasonKey, "r:1"},
		{[]string{"set", "b:1", "v"}, 0, ""},
		{[]string{"del", "w:1"}, 0, ""},
		{[]string{"lmove", "r:1", "w:1", "left", "right"}, ReasonKey, "r:1"},
		{[]string{"copy", "r:1", "w:1"}, 0, ""},
		{[]string{"mget", "r:1", "b:2", "x"}, ReasonKey, "x"},
		{[]string{"ping"}, 0, ""},
	}
	for _, c := range cases {
		d := check(t, u, c.line...)
		if c.reason == 0 {
			if d != nil {
				t.Errorf("%q: denied %+v", c.line, d)
			}
			continue
		}
		if d == nil || d.Reason != c.reason || d.Object != c.object {
			t.Errorf("%q: %+v, want reason %d on %q", c.line, d, c.reason, c.object)
		}
	}
	if d := check(t, u, "get", "w:1"); d.Error() != "NOPERM this user has no permissions to access one of the keys used as arguments" ||
		d.DryRun("u", "get") != "This user has no permissions to access the 'w:1' key" {
		t.Fatalf("texts: %q %q", d.Error(), d.DryRun("u", "get"))
	}
}

func TestCheck_ChannelsAndPatterns(t *testing.T) {
	u := user(t, "u", "+@all", "&news.*", "&chat")
	for _, c := range []struct {
		line []string
		ok   bool
	}{
		{[]string{"publish", "news.1", "m"}, true},
		{[]string{"publish", "other", "m"}, false},
		{[]string{"subscribe", "chat", "news.x"}, true},
		{[]string{"subscribe", "chat", "other"}, false},
		{[]string{"psubscribe", "news.*"}, true}, // the same pattern, literally
		{[]string{"psubscribe", "news.a*"}, false},
		{[]string{"unsubscribe", "other"}, true}, // not checked, as in Redis
	} {
		d := check(t, u, c.line...)
		if (d == nil) != c.ok {
			t.Errorf("%q: %+v", c.line, d)
		}
		if d != nil && (d.Reason != ReasonChannel ||
			d.Error() != "NOPERM this user has no permissions to access one of the channels used as arguments" ||
			d.DryRun("u", c.line[0]) != "This user has no permissions to access the '"+d.Object+"' channel") {
			t.Errorf("%q: %+v %q", c.line, d, d.DryRun("u", c.line[0]))
		}
	}
}

func TestCheck_AnySelectorAllowsAndTheWorstDenialIsReported(t *testing.T) {
	u := user(t, "u", "+get", "~a", "(+set ~b)", "(+get %R~c)")
	for _, c := range []struct {
		line   []string
		reason int
	}{
		{[]string{"get", "a"}, 0},
		{[]string{"get", "c"}, 0},
		{[]string{"set", "b", "v"}, 0},
		{[]string{"set", "a", "v"}, ReasonKey},
		{[]string{"set", "c", "v"}, ReasonKey},
		{[]string{"hset", "a", "f", "v"}, ReasonCommand},
	} {
		d := check(t, u, c.line...)
		if c.reason == 0 && d != nil || c.reason != 0 && (d == nil || d.Reason != c.reason) {
			t.Errorf("%q: %+v, want reason %d", c.line, d, c.reason)
		}
	}
	d := check(t, u, "hset", "a", "f", "v")
	if got := d.Error(); got != "NOPERM this user has no permissions to run the 'hset' command" {
		t.Fatalf("Error = %q", got)
	}
	if got := d.DryRun("u", "hset"); got != "This user has no permissions to run the 'hset' command" {
		t.Fatalf("DryRun = %q", got)
	}
}

func TestCheck_SubcommandsFirstArgsNoAuthAndInternal(t *testing.T) {
	u := user(t, "u", "+config|get", "+select|0", "+client")
	for _, c := range []struct {
		line []string
		ok   bool
	}{
		{[]string{"config", "get", "x"}, true},
		{[]string{"config", "set", "x", "y"}, false},
		{[]string{"select", "0"}, true},
		{[]string{"select", "1"}, false},
		{[]string{"client", "id"}, true},
		{[]string{"auth", "a", "b"}, true}, // no_auth commands need no permission
		{[]string{"hello"}, true},
		{[]string{"walker.digest"}, false},
	} {
		d := check(t, u, c.line...)
		if (d == nil) != c.ok {
			t.Errorf("%q: %+v", c.line, d)
		}
	}
	if d := check(t, u, "config", "set", "x", "y"); d.Object != "config|set" {
		t.Fatalf("Object = %q", d.Object)
	}
	// "+@all" then a single removal keeps the future-commands bit.
	u = user(t, "u", "+@all", "-get", "~*")
	if check(t, u, "walker.digest") != nil || check(t, u, "get", "k") == nil || check(t, u, "set", "k", "v") != nil {
		t.Fatal("+@all -get")
	}
}

func TestCheckPassword_NoPassAcceptsAny(t *testing.T) {
	u := user(t, "u", ">a", ">b")
	if !u.CheckPassword([]byte("a")) || !u.CheckPassword([]byte("b")) || u.CheckPassword([]byte("c")) {
		t.Fatal("passwords a and b")
	}
	if !user(t, "u", "nopass").CheckPassword([]byte("anything")) {
		t.Fatal("nopass")
	}
	if strings.Contains(user(t, "u", ">secret").Describe(), "secret") {
		t.Fatal("the clear-text password is kept")
	}
}

func TestSet_WithWithoutAndSortedUsers(t *testing.T) {
	s := NewSet(DefaultUser(""), NewUser("zed"), NewUser("alice"))
	var names []string
	for _, u := range s.Users() {
		names = append(names, u.Name)
	}
	if !slices.Equal(names, []string{"alice", "default", "zed"}) {
		t.Fatalf("Users = %q", names)
	}
	a2 := user(t, "alice", "on")
	s2 := s.With(a2)
	if s2.User("alice") != a2 || s.User("alice").Enabled() {
		t.Fatal("With replaces in the new set only")
	}
	s3 := s2.Without("zed")
	if s3.User("zed") != nil || s2.User("zed") == nil || len(s3.Users()) != 2 {
		t.Fatal("Without")
	}
	if s3.Without("nobody") != s3 {
		t.Fatal("Without an absent user")
	}
}

func TestEncode_DecodeRoundTrips(t *testing.T) {
	s := NewSet(DefaultUser("pw"),
		user(t, "alice", "on", ">a", "%R~r:*", "&c", "+@all", "-@dangerous", "+select|0", "(~y +set)"),
		user(t, "bob", "skip-sanitize-payload", "+config|get"),
		NewUser("sp\x01ce"))
	b := s.Encode()
	if b[0] != 1 {
		t.Fatalf("version byte %d", b[0])
	}
	d, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if d.File() != s.File() {
		t.Fatalf("decoded:\n%s\nwant\n%s", d.File(), s.File())
	}
	if !bytes.Equal(d.Encode(), b) {
		t.Fatal("re-encoding differs")
	}
	for i := range b {
		if _, err := Decode(b[:i]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Decode of %d of %d bytes: %v", i, len(b), err)
		}
	}
	if _, err := Decode(append(b, 0)); !errors.Is(err, ErrCorrupt) {
		t.Fatal("trailing bytes accepted")
	}
}

func TestDecode_SkipsUnknownCommands(t *testing.T) {
	b := []byte{1, 1}
	b = appendString(b, "u")
	b = append(b, 3)
	for _, r := range []string{"on", "+nosuchcommand", "+get"} {
		b = appendString(b, r)
	}
	s, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.User("u").Describe(); got != "on resetchannels -@all +get" {
		t.Fatalf("Describe = %q", got)
	}
}

func TestParseFile_RoundTripsAndAddsDefault(t *testing.T) {
	text := "user alice on #" + hashOfPassword + " %R~r:* resetchannels &c -@all +get (~y resetchannels -@all +set)\n" +
		"\n   \n" +
		"user bob off resetchannels -@all\n"
	s, err := ParseFile(text)
	if err != nil {
		t.Fatal(err)
	}
	want := text[:strings.Index(text, "\n")+1] + "user bob off resetchannels -@all\nuser default on nopass ~* &* +@all\n"
	if got := s.File(); got != want {
		t.Fatalf("File =\n%s\nwant\n%s", got, want)
	}
	s2, err := ParseFile(s.File())
	if err != nil || s2.File() != s.File() {
		t.Fatalf("re-parse: %v\n%s", err, s2.File())
	}
}

func TestParseFile_ErrorsAsACLLoad(t *testing.T) {
	_, err := ParseFileAs("/etc/users.acl", "user a on +nosuch #bad %X~y +nosuch2\nuser a\nfoo\nuser b (~x\n")
	want := "/etc/users.acl:1: Error in applying operation '+nosuch': Unknown command or category name in ACL. " +
		"/etc/users.acl:1: The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters. " +
		"/etc/users.acl:1: Error in applying operation '+nosuch2': Unknown command or category name in ACL. " +
		"WARNING: Duplicate user 'a' found on line 2. " +
		"/etc/users.acl:3 should start with user keyword followed by the username. " +
		"/etc/users.acl:4: Unmatched parenthesis in selector definition." +
		"WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
	var fe *FileError
	if !errors.As(err, &fe) || err.Error() != want {
		t.Fatalf("error:\n%v\nwant\n%s", err, want)
	}
}

func TestGenPass_HexOfTheBitsRoundedUp(t *testing.T) {
	for bits, n := range map[int]int{0: 64, 1: 1, 4: 1, 5: 2, 256: 64, 4096: 1024} {
		p, err := GenPass(bits)
		if err != nil || len(p) != n || strings.Trim(p, "0123456789abcdef") != "" {
			t.Errorf("GenPass(%d) = %q, %v", bits, p, err)
		}
	}
	a, _ := GenPass(256)
	b, _ := GenPass(256)
	if a == b {
		t.Error("two passwords alike")
	}
	for _, bits := range []int{-1, 4097} {
		if _, err := GenPass(bits); err != ErrGenPassBits {
			t.Errorf("GenPass(%d): %v", bits, err)
		}
	}
}

func TestCategories_AndTheirCommands(t *testing.T) {
	if got := Categories(); len(got) != 21 || got[0] != "keyspace" || got[20] != "scripting" {
		t.Fatalf("Categories = %q", got)
	}
	cmds, ok := CategoryCommands("STRING")
	if !ok || !slices.Contains(cmds, "get") || slices.Contains(cmds, "hset") {
		t.Fatalf("CategoryCommands(string) = %q, %v", cmds, ok)
	}
	cmds, _ = CategoryCommands("admin")
	if !slices.Contains(cmds, "config|set") || slices.Contains(cmds, "config") {
		t.Fatalf("admin: %q", cmds)
	}
	for _, c := range cmds {
		if command.LookupName(c).Flags&command.FlagInternal != 0 {
			t.Fatalf("internal command %q listed", c)
		}
	}
	if _, ok := CategoryCommands("nosuch"); ok {
		t.Fatal("unknown category")
	}
}

func TestMergeSelectorArgs(t *testing.T) {
	got, _, ok := MergeSelectorArgs([]string{"on", "(~a", "+get", "&c)", "(+set)", "off"})
	if !ok || !slices.Equal(got, []string{"on", "(~a +get &c)", "(+set)", "off"}) {
		t.Fatalf("merged %q %v", got, ok)
	}
	if _, bad, ok := MergeSelectorArgs([]string{"on", "(~a", "+get"}); ok || bad != 1 {
		t.Fatalf("unmatched: %d %v", bad, ok)
	}
}
