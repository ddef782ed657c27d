package acl

import (
	"errors"
	"strings"
	"testing"
)

// fuzzBases are the users FuzzSetRule applies its rule to.
var fuzzBases = [][]string{
	{},
	{"on", ">p", "~a", "&c", "+get", "+select|0"},
	{"+@all", "~*", "&*", "(~s %R~r +set &x)"},
	{"+@all", "-@dangerous", "%W~w", "(+config|get)"},
}

// reparseable reports whether u's ACL LIST line, split at spaces as
// ACL LOAD splits it, gives u back: not when a first argument holds a
// space, nor when a selector's pattern or first argument holds quotes or
// parentheses (sdssplitargs reads those, in Redis as here).
func reparseable(u *User) bool {
	for _, s := range u.selectors {
		var words []string
		for _, k := range s.keys {
			words = append(words, k.pattern)
		}
		words = append(words, s.channels...)
		for _, fa := range s.firstArgs {
			for _, a := range fa {
				if HasSpaces(a) {
					return false
				}
				words = append(words, a)
			}
		}
		if !s.root && strings.ContainsAny(strings.Join(words, ""), "\"'()") {
			return false
		}
	}
	return true
}

func FuzzSetRule(f *testing.F) {
	for _, r := range []string{"on", ">pw", "#" + hashOfPassword, "~a*", "%R~x", "%RW~", "&ch", "+get", "-get",
		"+@string", "-@all", "+select|1", "+config|get", "(~a +get)", `('~"x' +set)`, "(~a) +get)", "reset",
		"clearselectors", "nopass", "<pw", "+get|a b", "+@all", "~*", "allchannels", "%", "(", "()", "\x00"} {
		for i := range fuzzBases {
			f.Add(uint8(i), r)
		}
	}
	f.Fuzz(func(t *testing.T, base uint8, rule string) {
		u := NewUser("f")
		for _, r := range fuzzBases[int(base)%len(fuzzBases)] {
			if err := u.SetRule(r); err != nil {
				t.Fatal(err)
			}
		}
		before := u.Describe()
		c := u.Clone()
		err := c.SetRule(rule)
		if u.Describe() != before {
			t.Fatal("SetRule on a clone changed the original")
		}
		var re *RuleError
		if err != nil && !errors.As(err, &re) {
			t.Fatalf("error %T %v", err, err)
		}
		if err != nil {
			return
		}
		descr := c.Describe()
		// The replicated form rebuilds the user exactly.
		d, derr := Decode(NewSet(c).Encode())
		if derr != nil || d.User("f").Describe() != descr {
			t.Fatalf("rule %q: decoded %v %q, want %q", rule, derr, d.User("f").Describe(), descr)
		}
		if !reparseable(c) {
			return
		}
		if got := reparse(t, descr).Describe(); got != descr {
			t.Fatalf("rule %q: Describe %q re-parses to %q", rule, descr, got)
		}
	})
}

func FuzzParseFile(f *testing.F) {
	f.Add("user default on nopass ~* &* +@all\n")
	f.Add("user a on #" + hashOfPassword + " %R~r:* resetchannels &c -@all +get (~y +set)\nuser b off\n")
	f.Add("user a on +nosuch #bad\nuser a\nfoo\nuser b (~x\n")
	f.Add("user  a\t on\r\n\n")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseFile(text)
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) || len(fe.Problems) == 0 {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		if s.User("default") == nil {
			t.Fatal("no default user")
		}
		for _, u := range s.Users() {
			if !reparseable(u) {
				return
			}
		}
		s2, err := ParseFile(s.File())
		if err != nil || s2.File() != s.File() {
			t.Fatalf("File %q re-parses to %v %q", s.File(), err, s2.File())
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add(NewSet(DefaultUser("pw"), NewUser("a")).Encode())
	f.Add([]byte{1, 1, 1, 'u', 1, 4, '(', '~', 'a', ')'})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v", err)
			}
			return
		}
		s2, err := Decode(s.Encode())
		if err != nil || s2.File() != s.File() {
			t.Fatalf("re-decode: %v", err)
		}
	})
}
