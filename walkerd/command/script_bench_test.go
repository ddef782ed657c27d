package command

import (
	"testing"
)

// BenchmarkScript_EvalSHA applies EVALSHA of a 3-command script (INCR,
// SET, GET) as a log entry, as the server applies it: the state machine's
// cost of one script run, without Raft.
func BenchmarkScript_EvalSHA(b *testing.B) {
	a := newApplier(b)
	const body = "redis.call('incr', KEYS[1]) redis.call('set', KEYS[2], ARGV[1]) return redis.call('get', KEYS[2])"
	sha := scriptSHA([]byte(body))
	if got := a.do("SCRIPT", "LOAD", body); got != "$40\r\n"+sha+"\r\n" {
		b.Fatalf("SCRIPT LOAD: %q", got)
	}
	b.ReportAllocs()
	for b.Loop() {
		if got := a.do("EVALSHA", sha, "2", "counter", "key", "value"); got != "$5\r\nvalue\r\n" {
			b.Fatalf("EVALSHA: %q", got)
		}
	}
}

// BenchmarkScript_Set is the same entry path for a plain SET, for scale.
func BenchmarkScript_Set(b *testing.B) {
	a := newApplier(b)
	b.ReportAllocs()
	for b.Loop() {
		a.do("SET", "key", "value")
	}
}
