package command

import (
	"math/rand/v2"
	"testing"
)

func TestParseInt_IsStrictAsRedis(t *testing.T) {
	good := map[string]int64{"0": 0, "1": 1, "-1": -1, "9223372036854775807": 1<<63 - 1, "-9223372036854775808": -1 << 63, "120": 120}
	for s, want := range good {
		if got, ok := ParseInt([]byte(s)); !ok || got != want {
			t.Errorf("ParseInt(%q) = %d %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "-", "+1", " 1", "1 ", "01", "-0", "00", "1.0", "9223372036854775808", "-9223372036854775809", "99999999999999999999", "1e3", "0x10"} {
		if _, ok := ParseInt([]byte(s)); ok {
			t.Errorf("ParseInt(%q) accepted", s)
		}
	}
}

// The cases were checked against redis-server 7.0 with KEYS (which, like
// SCAN, treats a lone "*" apart: Match("*", "") is false, as stringmatchlen).
func TestMatch_GlobAsRedis(t *testing.T) {
	for _, c := range []struct {
		pat, str string
		want     bool
	}{
		{"*", "", false}, {"*", "abc", true}, {"a*", "abc", true}, {"a*c", "abc", true}, {"a*d", "abc", false},
		{"h?llo", "hello", true}, {"h?llo", "hllo", false}, {"h[ae]llo", "hallo", true}, {"h[^e]llo", "hello", false},
		{"h[a-b]llo", "hbllo", true}, {"[d-b]", "c", true}, {`a\*b`, "a*b", true}, {`a\*b`, "axb", false},
		{"a[", "a[", false}, {"a[", "ab", false}, {"[", "x", false}, {`\`, `\`, true}, {"**", "x", true},
		{"[^]", "x", true}, {"[]]", "]", false}, {"a", "A", false}, {"", "", true}, {"", "a", false},
	} {
		if got := Match([]byte(c.pat), []byte(c.str)); got != c.want {
			t.Errorf("Match(%q, %q) = %v", c.pat, c.str, got)
		}
	}
}

func TestMatch_NeverPanics(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	alphabet := []byte(`ab*?[]^-\`)
	for range 100000 {
		p := make([]byte, r.IntN(8))
		s := make([]byte, r.IntN(6))
		for i := range p {
			p[i] = alphabet[r.IntN(len(alphabet))]
		}
		for i := range s {
			s[i] = alphabet[r.IntN(len(alphabet))]
		}
		Match(p, s)
	}
	// Nesting is bounded: a pathological pattern ends quickly.
	p := make([]byte, 0, 3000)
	for range 1500 {
		p = append(p, '*', 'a')
	}
	Match(p, []byte("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"))
}
