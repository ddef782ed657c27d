package store

import (
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/engine"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// Found by the chaos harness (internal/chaos, nemesis "member"): a leader
// that removes itself shuts its raft down (ShutdownOnRemove), and a
// consistent read that passed ReadBarrier's leader check just before then
// reaches VerifyLeader afterwards. hashicorp/raft v1.7.3's VerifyLeader
// selects between the closed shutdown channel and its buffered verifyCh at
// random, and a verifyFuture has no ShutdownCh, so half the time the
// future sits in the buffer forever: the read never answers, the shared
// verifier goroutine blocks every later consistent read, and SIGTERM
// never finishes (server.Close waits for the stuck handler). Simulated
// here by shutting raft down under a ready leader and then verifying.
func TestStore_ConsistentReadAnswersAfterRaftShutDown(t *testing.T) {
	s := openSingle(t)
	s.raft.Shutdown().Error()
	for i := range 20 {
		done := make(chan error, 1)
		go func() { done <- s.verify.do() }()
		select {
		case err := <-done:
			if err == nil {
				t.Fatalf("round %d: a shut-down raft verified its leadership", i)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("round %d: the leadership check of a shut-down raft has not answered in 3 s", i)
		}
	}
}

// The whole scenario: a leader removes itself while clients run
// consistent reads and writes on it. Every call must answer (with an
// error, mostly) within a few seconds, and Close must return. With
// BatchApplyCh raft.Apply's applyCh is buffered too, so writes can hang the
// same way as the leadership checks.
func TestStore_LeaderThatRemovesItselfAnswersEveryCallAndCloses(t *testing.T) {
	// The window is short: try a few times.
	for try := range 4 {
		if !leaderRemovesItself(t, try) {
			return
		}
	}
}

// leaderRemovesItself runs the scenario once and reports whether all went
// well.
func leaderRemovesItself(t *testing.T, try int) bool {
	leader := openNode(t, "s1", true)
	waitReady(t, leader)
	for _, id := range []string{"s2", "s3"} {
		n := openNode(t, id, false)
		// With two voters the leader needs the new one's answer within its
		// lease; on a loaded machine it may step down and win again. Wait
		// for it to lead again and retry.
		deadline := time.Now().Add(15 * time.Second)
		for {
			waitReady(t, leader)
			err := leader.Join(id, n.cfg.RaftAddr, "")
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal(err)
			}
		}
	}
	// Joiners are non-voters until promoted (promote.go); a leader that
	// is the only voter may not remove itself.
	waitVoters(t, leader, 3, 15*time.Second)
	stop := make(chan struct{})
	var slow atomic.Int64
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				done := make(chan struct{})
				go func() {
					if i%2 == 0 {
						leader.ReadBarrier(2)
					} else {
						leader.Apply(&command.Entry{NowMs: 1, Cmds: [][][]byte{{[]byte("SET"), []byte("k"), []byte("v")}}})
					}
					close(done)
				}()
				select {
				case <-done:
				case <-time.After(5 * time.Second):
					slow.Add(1)
					return
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	leader.Leave("s1") // its reply is another matter (see walkerd/leave_test.go)
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	if n := slow.Load(); n > 0 {
		t.Errorf("try %d: %d calls to the leader that removed itself did not answer within 5 s", try, n)
		return false
	}
	closed := make(chan struct{})
	go func() { closeOnce(leader); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Errorf("try %d: Close of the leader that removed itself has not returned in 10 s", try)
		return false
	}
	return true
}

func openNode(t *testing.T, id string, bootstrap bool) *Store {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	s, err := Open(Config{
		ID: id, RaftAddr: addr, RESPAddr: "127.0.0.1:1", RaftDir: filepath.Join(dir, "raft"), DataDir: filepath.Join(dir, "data"),
		Bootstrap: bootstrap, Sync: engine.SyncNo, Engine: engine.DefaultOptions(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		done := make(chan struct{})
		go func() { closeOnce(s); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
	})
	return s
}

var closers sync.Map // *Store -> *sync.Once

// closeOnce closes s the first time it is called for s.
func closeOnce(s *Store) {
	o, _ := closers.LoadOrStore(s, &sync.Once{})
	o.(*sync.Once).Do(func() { s.Close() })
}

func waitReady(t *testing.T, s *Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.ready.Load() == 0 || s.ready.Load() != s.raft.CurrentTerm() {
		if time.Now().After(deadline) {
			t.Fatal("no leader")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func openSingle(t *testing.T) *Store {
	t.Helper()
	s := openNode(t, "solo", true)
	waitReady(t, s)
	return s
}

// VerifyLeaderAsync, the event loop's consistent-read check: a ready
// leader calls back with nil; once raft is down the node refuses (false)
// and never calls back. The verifier's stop, which markRaftDown runs,
// answers a round in flight and the reads waiting for the next one with
// errRaftDown, and every later read at once: raft may never answer a
// round queued as it shut down (the test above).
func TestStore_VerifyLeaderAsyncAnswersOnceAndStopAnswersEveryWaiter(t *testing.T) {
	s := openSingle(t)
	got := make(chan error, 2)
	if !s.VerifyLeaderAsync(func(err error) { got <- err }) {
		t.Fatal("a ready leader refused the check")
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("a ready leader's check: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the check has not answered in 5 s")
	}

	var v verifier
	answered := make(chan error, 3)
	answer := func(err error) { answered <- err }
	v.current, v.waiting = []func(error){answer}, []func(error){answer}
	v.stop()
	v.start(answer)
	for i := range 3 {
		select {
		case err := <-answered:
			if err != errRaftDown {
				t.Fatalf("read %d: %v, want errRaftDown", i+1, err)
			}
		default:
			t.Fatalf("read %d of 3 unanswered after stop", i+1)
		}
	}
	if v.running || v.current != nil || v.waiting != nil {
		t.Fatalf("after stop: running %v, %d in a round, %d waiting", v.running, len(v.current), len(v.waiting))
	}

	s.raft.Shutdown().Error()
	if s.VerifyLeaderAsync(func(error) { t.Error("a shut-down node called back") }) {
		t.Fatal("a shut-down node took a consistent read")
	}
	select {
	case err := <-got:
		t.Fatalf("the first check answered twice: %v", err)
	default:
	}
}
