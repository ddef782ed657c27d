package command

import (
	"testing"
)

// PUBLISH and SPUBLISH in a log entry write no key and report the message
// as a Touch for every node's server to deliver; in EXEC, each in order.
func TestPublish_RecordsTheMessageAndWritesNothing(t *testing.T) {
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
	if a.db.Len() != before {
		t.Errorf("PUBLISH wrote keys: %d -> %d", before, a.db.Len())
	}
	got := a.apply(&Entry{Exec: true, Cmds: [][][]byte{cmd("SPUBLISH", "s", "m"), cmd("SET", "k", "v"), cmd("PUBLISH", "c", "")}})
	if got != "*3\r\n:0\r\n+OK\r\n:0\r\n" {
		t.Errorf("EXEC: %q", got)
	}
	if got := a.apply(&Entry{Cmds: [][][]byte{cmd("PUBLISH", "c")}}); got != "-ERR wrong number of arguments for 'publish' command\r\n" {
		t.Errorf("arity: %q", got)
	}
}
