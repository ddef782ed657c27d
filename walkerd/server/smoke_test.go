package server

import "testing"

func TestServer_Smoke(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.addr)
	for _, step := range [][]string{
		{"+PONG", "PING"},
		{"+OK", "SET", "a", "b"},
		{`"b"`, "GET", "a"},
		{":1", "DEL", "a"},
		{"(nil)", "GET", "a"},
	} {
		if got := c.must(t, step[1:]...); got != step[0] {
			t.Errorf("%q: got %s, want %s", step[1:], got, step[0])
		}
	}
}
