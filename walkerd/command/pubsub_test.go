package command

import (
	"testing"
)

// PUBLISH and SPUBLISH in a log entry write no user key, only the count
// of messages published (Published), and report the message as a Touch
// for every node's server to deliver; in EXEC, each in order.
func TestPublish_RecordsTheMessageAndCountsIt(t *testing.T) {
	a := newApplier(t)
	before := a.db.Len()
	res, err := ApplyEntry(a.db, a.next(), &Entry{NowMs: a.now, DB: 3, Cmds: [][][]byte{cmd("PUBLISH", "ch", "hello")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Touched) != 1 {
		t.Fatalf("touched %v", res.Touched)
	}
	tc := res.Touched[0]
	if tc.Publish != PubChannel || string(tc.Key) != "ch" || string(tc.Message) != "hello" || tc.DB != 3 {
		t.Errorf("touch %+v", tc)
	}
	if a.db.Len() != before+1 { // the count
		t.Errorf("PUBLISH wrote keys: %d -> %d", before, a.db.Len())
	}
	if n, err := Published(a.db); err != nil || n != 1 {
		t.Errorf("published %d %v, want 1", n, err)
	}
	got := a.apply(&Entry{Exec: true, Cmds: [][][]byte{cmd("SPUBLISH", "s", "m"), cmd("SET", "k", "v"), cmd("PUBLISH", "c", "")}})
	if got != "*3\r\n:0\r\n+OK\r\n:0\r\n" {
		t.Errorf("EXEC: %q", got)
	}
	if n, err := Published(a.db); err != nil || n != 3 {
		t.Errorf("published %d %v after EXEC, want 3", n, err)
	}
	if got := a.apply(&Entry{Cmds: [][][]byte{cmd("PUBLISH", "c")}}); got != "-ERR wrong number of arguments for 'publish' command\r\n" {
		t.Errorf("arity: %q", got)
	}
}
