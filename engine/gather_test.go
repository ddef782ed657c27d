package engine

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// TestGroupCommit_FsyncWaitsForRunnableWriters: writers that are ready to
// run when a group commit's fsync is about to start append first and are
// covered by that one fsync, instead of starting another as soon as it
// ends. With one processor the order is fixed: the writers become runnable
// before the leader's Sync, and run only when it yields. gather is bounded
// and best effort: a writer that the scheduler holds back past a round (a
// write that sysmon takes the processor from, a collection's worker) falls
// to a second fsync, about once in 40 runs here, so the test allows three
// attempts. Without gather no attempt gets one fsync: the leader's covers
// only its own write.
func TestGroupCommit_FsyncWaitsForRunnableWriters(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const writers = 16
	var got []int64
	for range 3 {
		db, _ := openTest(t, &Options{SegmentSize: 1 << 20, Sync: SyncNo})
		st0, _ := db.Stats()
		release, wait := runnableWriters(t, db, writers)
		mustPut(t, db, "leader", "v")
		release() // the writers are runnable, and have not run yet
		if err := db.Sync(); err != nil {
			t.Fatal(err)
		}
		wait()
		st, _ := db.Stats()
		n := st.Fsyncs - st0.Fsyncs
		if n == 1 {
			return
		}
		got = append(got, n)
	}
	t.Fatalf("fsyncs for %d writers ready together, in 3 attempts: %v; want 1 in one of them", writers+1, got)
}

// TestGroupCommit_SyncNowDoesNotWaitForOthers: SyncNow, the event loop's
// sync at its turn's end, makes what was written durable without yielding
// to the writers that are runnable (on the loop's locked thread each yield
// is a handoff between threads). With one processor its fsync covers only
// the write before it; the writers need fsyncs of their own.
func TestGroupCommit_SyncNowDoesNotWaitForOthers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	db, dir := openTest(t, &Options{SegmentSize: 1 << 20, Sync: SyncNo})
	st0, _ := db.Stats()
	release, wait := runnableWriters(t, db, 16)
	mustPut(t, db, "leader", "v")
	release() // the writers are runnable, and have not run yet
	if err := db.SyncNow(); err != nil {
		t.Fatal(err)
	}
	st1, _ := db.Stats()
	mustGet(t, crashImage(t, dir), "leader", "v") // durable at SyncNow's return
	wait()
	st, _ := db.Stats()
	if n := st1.Fsyncs - st0.Fsyncs; n < 1 {
		t.Fatalf("SyncNow ran %d fsyncs; want 1", n)
	}
	if n := st.Fsyncs - st0.Fsyncs; n < 2 {
		t.Fatalf("%d fsyncs in all; want SyncNow's and at least one for the writers (SyncNow covered them: it waited)", n)
	}
}

// runnableWriters starts n goroutines that each Put a key of its own and
// Sync once release is called; wait waits for them and fails t on any
// error.
func runnableWriters(t *testing.T, db *DB, n int) (release, wait func()) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := db.Put([]byte(fmt.Sprintf("w%d", w)), []byte("v")); err != nil {
				errs <- err
				return
			}
			errs <- db.Sync() // as walkerd's standalone appendfsync always does
		}()
	}
	return func() { close(start) }, func() {
		t.Helper()
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}
