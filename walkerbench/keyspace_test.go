package main

import (
	"strings"
	"testing"
)

func TestValue_ReadsBackAsItsKeyAndVersion(t *testing.T) {
	for _, size := range []int{1, 23, 24, 25, 100, 4099} {
		sum := keySum([]byte("wb:00000001:42"))
		v := appendValue(nil, size, sum, 77)
		if len(v) != size {
			t.Fatalf("size %d: value of %d bytes", size, len(v))
		}
		ver, problem := checkValue(v, size, sum)
		if problem != "" {
			t.Fatalf("size %d: %s", size, problem)
		}
		if size >= valueHeader && ver != 77 {
			t.Errorf("size %d: version %d, want 77", size, ver)
		}
		if size < valueHeader {
			continue
		}
		if _, p := checkValue(v, size, sum+1); p != "value of another key" {
			t.Errorf("size %d: another key's checksum: %q", size, p)
		}
		if size > valueHeader {
			bad := append([]byte(nil), v...)
			bad[size-1] ^= 1
			if _, p := checkValue(bad, size, sum); p != "value corrupt" {
				t.Errorf("size %d: flipped last byte: %q", size, p)
			}
		}
		if _, p := checkValue(v[:size-1], size, sum); !strings.Contains(p, "bytes") {
			t.Errorf("size %d: short value: %q", size, p)
		}
	}
}

func TestKeyspace_KeysHaveOneLengthAndTrackWrites(t *testing.T) {
	ks := newKeyspace("", 1000, 0, true)
	if !ks.owned || len(ks.prefix) != ownPrefixLen {
		t.Fatalf("prefix %q", ks.prefix)
	}
	if got := string(ks.appendKey(nil, 7)); got != string(ks.prefix)+"007" || len(got) != ks.keyLen() {
		t.Errorf("key 7 = %q", got)
	}
	if got := string(ks.appendCounter(nil, 999)); got != string(ks.prefix)+"n:999" {
		t.Errorf("counter 999 = %q", got)
	}
	if got := keyLength("", 1000, 0); got != ks.keyLen() {
		t.Errorf("keyLength = %d, key length %d", got, ks.keyLen())
	}
	if got := string(newKeyspace("k:", 10, 8, false).appendKey(nil, 3)); got != "k:000003" {
		t.Errorf("padded key = %q", got)
	}
	v1, v2 := ks.issue(5), ks.issue(5)
	if v2 <= v1 || ks.issued(5) != v2 || ks.wasAcked(5) {
		t.Errorf("after two issues: issued %d (want %d), acked %v", ks.issued(5), v2, ks.wasAcked(5))
	}
	ks.acked(5)
	if !ks.wasAcked(5) || ks.issued(5) != v2 {
		t.Error("acked lost the version or the flag")
	}
	ks.deleting(5)
	if ks.wasAcked(5) || ks.issued(5) != v2 {
		t.Error("a delete must clear the flag and keep the version")
	}
}

func TestParse_RatiosLevelsTargets(t *testing.T) {
	if s, g, err := parseRatio("1:10"); err != nil || s != 1 || g != 10 {
		t.Errorf("1:10 = %d, %d, %v", s, g, err)
	}
	for _, bad := range []string{"", "1", "0:0", "-1:2", "a:b"} {
		if _, _, err := parseRatio(bad); err == nil {
			t.Errorf("ratio %q accepted", bad)
		}
	}
	for in, want := range map[string]string{"": "", "default": "0", "stale": "1", "Consistent": "2", "2": "2"} {
		if got, err := parseLevel(in); err != nil || got != want {
			t.Errorf("level %q = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]target{
		"127.0.0.1:6379":  {name: "127.0.0.1:6379", addr: "127.0.0.1:6379"},
		"r=10.0.0.1:7000": {name: "r", addr: "10.0.0.1:7000"},
		"w=localhost":     {name: "w", addr: "localhost:6379"},
	} {
		if got, err := parseTarget(in); err != nil || got != want {
			t.Errorf("target %q = %+v, %v", in, got, err)
		}
	}
}

func TestFormat_NumbersForPeople(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1500: "-1,500"} {
		if got := commas(in); got != want {
			t.Errorf("commas(%d) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[float64]string{0.000234: "234 ns", 0.0123: "12.3 µs", 1.5: "1.500 ms", 780.66: "780.7 ms", 1051: "1.051 s"} {
		if got := fmtDuration(in); got != want {
			t.Errorf("fmtDuration(%g) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[float64]string{1.2345: "1.23x", 0.00089: "0.00089x", 0.05: "0.050x"} {
		if got := fmtRatio(in); got != want {
			t.Errorf("fmtRatio(%g) = %q, want %q", in, got, want)
		}
	}
}
