package store

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A heartbeat raft.Shutdown did not wait for may save a newer term while
// Store.Close runs or after it (stable.go); raft panics when the save
// fails. Here a writer stands in for it, saving terms without a pause
// while the node closes: no save may fail, before, during or after
// Close. Without the gate the log store answers the saves after it
// closed with an error (raft-wal: "closed").
func TestStore_TermSavesRacingCloseNeverFail(t *testing.T) {
	s := openSingle(t)
	key := []byte("CurrentTerm") // raft's own key for the term
	term, err := s.stable.GetUint64(key)
	if err != nil || term == 0 {
		t.Fatalf("a ready leader's saved term: %d, %v", term, err)
	}

	var saves atomic.Int64
	var failed atomic.Pointer[error]
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.stable.SetUint64(key, term+1); err != nil {
				failed.CompareAndSwap(nil, &err)
			}
			saves.Add(1)
		}
	}()
	waitSaves(t, &saves, 10) // saving before Close begins
	if got, err := s.stable.GetUint64(key); err != nil || got != term+1 {
		t.Fatalf("saved term before Close: %d, %v; want %d", got, err, term+1)
	}
	closeOnce(s)
	waitSaves(t, &saves, saves.Load()+10) // and after it returned
	close(stop)
	wg.Wait()
	if p := failed.Load(); p != nil {
		t.Fatalf("a term save failed while the node closed: %v", *p)
	}
	if err := s.stable.Set([]byte("LastVoteCand"), []byte("x")); err != nil {
		t.Fatalf("Set after Close: %v", err)
	}
}

// waitSaves waits up to 5 s for saves to reach n.
func waitSaves(t *testing.T, saves *atomic.Int64, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for saves.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d term saves in 5 s, want %d: a save is stuck", saves.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}
