package main

import (
	"bytes"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

func TestProgress_QuietWhenStderrIsNotATerminal(t *testing.T) {
	var errb bytes.Buffer
	app := newApp(&bytes.Buffer{}, &errb)
	p := newProgress(cli.NewContext(app, flag.NewFlagSet("x", 0), nil), "verify", "B")
	p.update(1, 2)
	p.update(2, 2)
	p.finish()
	if errb.Len() != 0 {
		t.Fatalf("progress wrote %q to a non-terminal", errb.String())
	}
}

func TestProgress_RedrawsOneLineInPlace(t *testing.T) {
	var w bytes.Buffer
	p := &progress{w: &w, label: "merge", unit: "B", start: time.Now().Add(-time.Second), interval: time.Hour}
	p.update(250e6, 1e9)
	p.update(500e6, 1e9) // within the interval: not drawn
	p.update(1e9, 1e9)   // the end is always drawn
	p.finish()
	out := w.String()
	if strings.Count(out, "\r\033[K") != 3 || strings.Contains(out, "\n") {
		t.Fatalf("%q: want two draws and a clear, no newline", out)
	}
	if !strings.Contains(out, "merge [======>    ") || !strings.Contains(out, " 25% 250.0 MB/1.00 GB") || !strings.Contains(out, "100%") || !strings.Contains(out, "MB/s") {
		t.Fatalf("%q", out)
	}
}

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
