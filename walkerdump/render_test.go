package main

import (
	"testing"
)

func TestRender_TextIsQuotedOrHex(t *testing.T) {
	for in, want := range map[string]string{
		"user:1":       `"user:1"`,
		"\x00user:1":   `"\x00user:1"`,
		"\xff\xfe\x00": "0xfffe00",
		"":             `""`,
	} {
		if got := text([]byte(in)); got != want {
			t.Errorf("text(%q) = %s, want %s", in, got, want)
		}
	}
}
