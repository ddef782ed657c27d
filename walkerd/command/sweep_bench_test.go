package command

import (
	"fmt"
	"testing"
)

// BenchmarkExpiredKeys is one sweep batch of 1,000 keys over 300k live
// keys without a TTL: what the leader's expiry sweeper costs every tick
// when nothing has expired.
func BenchmarkExpiredKeys(b *testing.B) {
	a := newApplier(b)
	for i := 0; i < 300; i++ {
		args := []string{"MSET"}
		for j := 0; j < 1000; j++ {
			args = append(args, fmt.Sprintf("key:%d:%d", i, j), "v")
		}
		a.apply(&Entry{Cmds: [][][]byte{cmd(args...)}})
	}
	var cursor []byte
	b.ResetTimer()
	for range b.N {
		_, _, next, err := ExpiredKeys(a.db, a.now, cursor, 1000)
		if err != nil {
			b.Fatal(err)
		}
		cursor = next
	}
}
