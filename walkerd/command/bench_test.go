package command

import (
	"strconv"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
)

// The Apply benchmarks apply one entry at a time with one Applier, as
// standalone mode does.
func BenchmarkApply_Set(b *testing.B) {
	db := openDB(b)
	a := NewApplier(db)
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
