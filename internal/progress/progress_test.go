package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestLine_QuietWhenNotATerminal(t *testing.T) {
	var w bytes.Buffer
	p := New(&w, "verify", "B")
	p.Update(1, 2)
	p.Update(2, 2)
	p.Finish()
	if w.Len() != 0 {
		t.Fatalf("progress wrote %q to a non-terminal", w.String())
	}
}

func TestLine_RedrawsOneLineInPlace(t *testing.T) {
	var w bytes.Buffer
	p := To(&w, "merge", "B", time.Now().Add(-time.Second), time.Hour)
	p.Update(250e6, 1e9)
	p.Update(500e6, 1e9) // within the interval: not drawn
	p.Update(1e9, 1e9)   // the end is always drawn
	p.Finish()
	out := w.String()
	if strings.Count(out, "\r\033[K") != 3 || strings.Contains(out, "\n") {
		t.Fatalf("%q: want two draws and a clear, no newline", out)
	}
	if !strings.Contains(out, "merge [======>    ") || !strings.Contains(out, " 25% 250.0 MB/1.00 GB") || !strings.Contains(out, "100%") || !strings.Contains(out, "MB/s") {
		t.Fatalf("%q", out)
	}
}

func TestLine_CountsAndBytes(t *testing.T) {
	p := To(nil, "export", "keys", time.Now(), time.Hour)
	if got := p.Text(5, 10, 0); got != "export [==============>               ]  50% 5/10" {
		t.Errorf("Text = %q", got)
	}
	for n, want := range map[int64]string{999: "999 B", 1500: "1.5 KB", 2_500_000: "2.5 MB", 3e9: "3.00 GB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}
