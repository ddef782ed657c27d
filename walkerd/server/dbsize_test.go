package server

import (
	"sync"
	"testing"
	"time"
)

// DBSIZE while another client writes: DBSIZE used to take the engine's
// read lock a second time inside its View, which deadlocks the whole
// server as soon as a writer waits between the two.
func TestDbsize_WhileWritingDoesNotDeadlock(t *testing.T) {
	s := startServer(t, Config{})
	reader, writer := dial(t, s.addr), dial(t, s.addr)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 3000; i++ {
			if _, err := writer.do("SET", "k", "v"); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 3000; i++ {
			if _, err := reader.do("DBSIZE"); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("DBSIZE and SET together did not finish within 60 s: deadlock")
	}
}
