package engine

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestSetMerge_TurnsTheAutomaticMergeOnWhileOpen(t *testing.T) {
	db, _ := openTest(t, &Options{SegmentSize: 4096, Sync: SyncNo})
	for i := range 2000 {
		mustPut(t, db, "same", fmt.Sprint(i))
	}
	if st, _ := db.Stats(); st.Merges != 0 {
		t.Fatalf("merges %d before SetMerge: merge ratio 0 must not merge", st.Merges)
	}
	want := MergeSettings{Ratio: 0.5, MinBytes: 1, Interval: 10 * time.Millisecond}
	if err := db.SetMerge(want); err != nil {
		t.Fatal(err)
	}
	if got := db.Merging(); got != want {
		t.Fatalf("Merging() = %+v, want %+v", got, want)
	}
	waitFor(t, "an automatic merge after SetMerge", 10*time.Second, func() bool {
		st, _ := db.Stats()
		return st.Merges > 0
	})
	mustGet(t, db, "same", "1999")

	// Ratio 0 turns it off again: garbage stays.
	if err := db.SetMerge(MergeSettings{Ratio: 0, MinBytes: 1, Interval: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // let a merge that had started finish
	st0, _ := db.Stats()
	for i := range 2000 {
		mustPut(t, db, "same", fmt.Sprint(i))
	}
	time.Sleep(100 * time.Millisecond) // ten intervals: a merge would have run
	if st, _ := db.Stats(); st.Merges != st0.Merges {
		t.Fatalf("merges went from %d to %d with ratio 0", st0.Merges, st.Merges)
	}
}

func TestSetMerge_RefusesValuesOutOfRangeAndFillsDefaults(t *testing.T) {
	db, _ := openTest(t, nil)
	for _, m := range []MergeSettings{{Ratio: 1.5}, {Ratio: -0.1}, {MinBytes: -1}, {Interval: -time.Second}} {
		if err := db.SetMerge(m); !errors.Is(err, ErrBadOptions) {
			t.Errorf("SetMerge(%+v) = %v, want ErrBadOptions", m, err)
		}
	}
	if err := db.SetMerge(MergeSettings{Ratio: 0.25}); err != nil {
		t.Fatal(err)
	}
	d := DefaultOptions()
	if got := db.Merging(); got != (MergeSettings{Ratio: 0.25, MinBytes: d.MergeMinBytes, Interval: d.MergeInterval}) {
		t.Fatalf("Merging() = %+v: zero fields must take their defaults", got)
	}
}

func TestSetSync_SwitchesWritesToFsyncAlways(t *testing.T) {
	db, _ := openTest(t, &Options{Sync: SyncNo})
	mustPut(t, db, "a", "1")
	st0, _ := db.Stats()
	if err := db.SetSync(SyncAlways); err != nil {
		t.Fatal(err)
	}
	if db.SyncMode() != SyncAlways {
		t.Fatalf("SyncMode() = %v", db.SyncMode())
	}
	st1, _ := db.Stats()
	if st1.Fsyncs <= st0.Fsyncs {
		t.Fatalf("fsyncs %d -> %d: switching to always must sync the writes so far", st0.Fsyncs, st1.Fsyncs)
	}
	for i := range 5 {
		mustPut(t, db, "a", fmt.Sprint(i))
	}
	st2, _ := db.Stats()
	if st2.Fsyncs < st1.Fsyncs+5 {
		t.Fatalf("fsyncs %d -> %d after 5 writes in always", st1.Fsyncs, st2.Fsyncs)
	}
	if err := db.SetSync(SyncNo); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		mustPut(t, db, "a", fmt.Sprint(i))
	}
	if st3, _ := db.Stats(); st3.Fsyncs != st2.Fsyncs {
		t.Fatalf("fsyncs %d -> %d after writes in no", st2.Fsyncs, st3.Fsyncs)
	}
	if err := db.SetSync(SyncMode(7)); !errors.Is(err, ErrBadOptions) {
		t.Fatalf("SetSync(7) = %v", err)
	}
}

func TestSetSync_EverySecSyncsInTheBackground(t *testing.T) {
	db, _ := openTest(t, &Options{Sync: SyncNo})
	if err := db.SetSync(SyncEverySec); err != nil {
		t.Fatal(err)
	}
	mustPut(t, db, "a", "1")
	st0, _ := db.Stats()
	waitFor(t, "a background fsync", 5*time.Second, func() bool {
		st, _ := db.Stats()
		return st.Fsyncs > st0.Fsyncs
	})
}
