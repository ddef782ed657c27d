package command

import (
	"strconv"
	"testing"
)

// BenchmarkXreadgroupAck: one op is an XREADGROUP GROUP g c COUNT 10
// STREAMS s > (one log entry: 10 entries delivered, 20 PEL writes) and
// an XACK of those 10 IDs (another log entry), on a stream of 100k
// entries; when the group has read them all, XGROUP SETID (not timed)
// starts it over.
func BenchmarkXreadgroupAck(b *testing.B) {
	const n = 100_000
	db := openDB(b)
	now := int64(1_700_000_000_000)
	index := loadStream(b, db, n, now)
	a := NewApplier(db)
	apply := func(args ...string) *Result {
		index++
		res, err := a.ApplyOne(index, &Entry{NowMs: now, Cmds: [][][]byte{cmd(args...)}})
		if err != nil || res.Error != "" {
			b.Fatal(err, res.Error)
		}
		return res
	}
	apply("XGROUP", "CREATE", "s", "g", "0")
	next := 1
	b.ReportAllocs()
	for b.Loop() {
		if next+10 > n {
			b.StopTimer()
			apply("XGROUP", "SETID", "s", "g", "0")
			next = 1
			b.StartTimer()
		}
		res := apply("XREADGROUP", "GROUP", "g", "c", "COUNT", "10", "STREAMS", "s", ">")
		if r := res.Reply(); len(r) < 10 {
			b.Fatalf("XREADGROUP: %v", r)
		}
		ack := []string{"XACK", "s", "g"}
		for i := range 10 {
			ack = append(ack, strconv.Itoa(next+i)+"-0")
		}
		next += 10
		if got, _ := apply(ack...).Reply().Int(); got != 10 {
			b.Fatalf("XACK acknowledged %d", got)
		}
	}
}
