package command

import (
	"strconv"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/internal/resp"
)

// The Apply benchmarks apply one entry at a time with one Applier, as
// standalone mode does.
func BenchmarkApply_Set(b *testing.B) { benchApplySet(b, nil) }

// BenchmarkApply_SetNoNewEvents is BenchmarkApply_Set on a node that
// publishes no "new" keyspace events (Applier.NoNewEvents): no lookup of
// whether each SET created its key.
func BenchmarkApply_SetNoNewEvents(b *testing.B) {
	benchApplySet(b, func(_ *engine.DB, a *Applier) { a.NoNewEvents = true })
}

// BenchmarkApply_SetOwned is BenchmarkApply_Set on the engine of one of
// several groups (SetOwner): each entry's keys are checked against the
// slots the group serves (owner.go).
func BenchmarkApply_SetOwned(b *testing.B) {
	benchApplySet(b, func(db *engine.DB, _ *Applier) {
		SetOwner(db.Dir(), func(uint16) bool { return true })
		b.Cleanup(func() { SetOwner(db.Dir(), nil) })
	})
}

// benchApplySet applies SETs of 100,000 keys in turn, after setup.
func benchApplySet(b *testing.B, setup func(*engine.DB, *Applier)) {
	db := openDB(b)
	a := NewApplier(db)
	if setup != nil {
		setup(db, a)
	}
	now := time.Now().UnixMilli()
	val := []byte("xxx")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e := &Entry{NowMs: now, Cmds: [][][]byte{{[]byte("SET"), []byte("key:" + strconv.Itoa(i%100000)), val}}}
		a.ApplyOne(uint64(i+1), e)
	}
}

func BenchmarkApply_Incr(b *testing.B) {
	db := openDB(b)
	a := NewApplier(db)
	now := time.Now().UnixMilli()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e := &Entry{NowMs: now, Cmds: [][][]byte{{[]byte("INCR"), []byte("key:" + strconv.Itoa(i%1000))}}}
		a.ApplyOne(uint64(i+1), e)
	}
}

func BenchmarkRead_Get(b *testing.B) {
	db := openDB(b)
	now := time.Now().UnixMilli()
	ApplyEntry(db, 1, &Entry{NowMs: now, Cmds: [][][]byte{{[]byte("SET"), []byte("k"), []byte("xxx")}}})
	args := [][]byte{[]byte("GET"), []byte("k")}
	e := &resp.Encoder{Proto: 2}
	b.ReportAllocs()
	for b.Loop() {
		e.B = e.B[:0]
		Read(db, 0, now, nil, args, e)
	}
}

// The collection benchmarks read a sorted set of n members: ZRANK of the
// middle member (a rank in the engine's counted index) and ZRANGE of 100
// from the middle (a position, then a walk), which should grow like
// log n, not like n.
func BenchmarkRead_Zset(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		db := openDB(b)
		now := time.Now().UnixMilli()
		for lo := 0; lo < n; lo += 1000 {
			args := [][]byte{[]byte("ZADD"), []byte("z")}
			for i := lo; i < lo+1000; i++ {
				args = append(args, []byte(strconv.Itoa(i)), []byte("member:"+strconv.Itoa(i)))
			}
			ApplyEntry(db, uint64(lo+1), &Entry{NowMs: now, Cmds: [][][]byte{args}})
		}
		mid := []byte("member:" + strconv.Itoa(n/2))
		e := &resp.Encoder{Proto: 2}
		b.Run("ZRANK/n="+strconv.Itoa(n), func(b *testing.B) {
			args := [][]byte{[]byte("ZRANK"), []byte("z"), mid}
			for b.Loop() {
				e.B = e.B[:0]
				Read(db, 0, now, nil, args, e)
			}
		})
		b.Run("ZRANGE_100/n="+strconv.Itoa(n), func(b *testing.B) {
			args := [][]byte{[]byte("ZRANGE"), []byte("z"), []byte(strconv.Itoa(n / 2)), []byte(strconv.Itoa(n/2 + 99))}
			for b.Loop() {
				e.B = e.B[:0]
				Read(db, 0, now, nil, args, e)
			}
		})
	}
}

// BenchmarkRead_Lrange600 is redis-benchmark's LRANGE_600: the first 600
// elements of a list of 600 short elements.
func BenchmarkRead_Lrange600(b *testing.B) {
	db := openDB(b)
	now := time.Now().UnixMilli()
	args := [][]byte{[]byte("RPUSH"), []byte("l")}
	for i := range 600 {
		args = append(args, []byte("xxx"+strconv.Itoa(i)))
	}
	ApplyEntry(db, 1, &Entry{NowMs: now, Cmds: [][][]byte{args}})
	read := [][]byte{[]byte("LRANGE"), []byte("l"), []byte("0"), []byte("599")}
	e := &resp.Encoder{Proto: 2}
	b.ReportAllocs()
	for b.Loop() {
		e.B = e.B[:0]
		Read(db, 0, now, nil, read, e)
	}
}
