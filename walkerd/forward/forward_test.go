package forward

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
	"github.com/walkerdb/walkerdb/internal/resp"
)

// echoServer answers every command with a bulk string naming its
// arguments, and hangs up on the dieAfter-th command (0: never).
func echoServer(t *testing.T, dieAfter int) string {
	var n atomic.Int64
	return harness.FakeRESP(t, func(args []string) string {
		if dieAfter > 0 && n.Add(1) == int64(dieAfter+1) {
			return harness.HangUp
		}
		body := strings.Join(args, " ")
		if args[0] == "BIG" {
			body = strings.Repeat("y", 200_000)
		}
		return fmt.Sprintf("$%d\r\n%s\r\n", len(body), body)
	})
}

func TestPool_RepliesReachTheirCallersInOrder(t *testing.T) {
	addr := echoServer(t, 0)
	p := New(Options{ConnsPerAddr: 2})
	defer p.Close()
	var wg sync.WaitGroup
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				want := fmt.Sprintf("GET k%d-%d", g, i)
				raw, err := p.Do(addr, [][]byte{[]byte("GET"), []byte(fmt.Sprintf("k%d-%d", g, i))})
				if err != nil {
					t.Error(err)
					return
				}
				got, _ := resp.ReadRaw(bufio.NewReader(strings.NewReader(string(raw))))
				if string(got) != fmt.Sprintf("$%d\r\n%s\r\n", len(want), want) {
					t.Errorf("call %q got reply %q", want, raw)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestPool_LargeRepliesArriveWhole(t *testing.T) {
	addr := echoServer(t, 0)
	p := New(Options{})
	defer p.Close()
	raw, err := p.Do(addr, [][]byte{[]byte("BIG")})
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != len("$200000\r\n")+200_000+2 {
		t.Fatalf("reply of %d bytes", len(raw))
	}
}

func TestPool_ALostConnectionFailsItsCallsAndRedials(t *testing.T) {
	addr := echoServer(t, 3)
	p := New(Options{ConnsPerAddr: 1})
	defer p.Close()
	var lost int
	for i := range 10 {
		_, err := p.Do(addr, [][]byte{[]byte("PING"), []byte(fmt.Sprint(i))})
		if errors.Is(err, ErrConnLost) {
			lost++
		} else if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if lost == 0 {
		t.Fatal("the server hung up but no call saw ErrConnLost")
	}
	if _, err := p.Do(addr, [][]byte{[]byte("PING")}); err != nil && !errors.Is(err, ErrConnLost) {
		t.Fatalf("after redial: %v", err)
	}
}

// A leader that closes an idle connection (CLIENT KILL, a restart) costs
// no call: the pool notices the close while nothing is pending and the
// next call goes out on a fresh connection, where it used to be written
// into the closed socket and fail with ErrConnLost, outcome unknown.
func TestPool_AnIdleConnectionTheLeaderClosedIsReplaced(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int64
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() { // one reply, then hang up while idle
				defer nc.Close()
				if _, err := resp.ReadRaw(bufio.NewReader(nc)); err == nil {
					nc.Write([]byte("+OK\r\n"))
				}
			}()
		}
	}()
	p := New(Options{ConnsPerAddr: 1})
	defer p.Close()
	addr := ln.Addr().String()
	for i := range 3 {
		if raw, err := p.Do(addr, [][]byte{[]byte("PING")}); err != nil || string(raw) != "+OK\r\n" {
			t.Fatalf("call %d: %q %v", i, raw, err)
		}
		// Wait until the pool has seen the hang-up; the next call must
		// then be carried by a new connection, not fail.
		if err := harness.WaitFor(5*time.Second, func() error {
			p.mu.Lock()
			defer p.mu.Unlock()
			if c := p.addrs[addr][0]; c != nil && !c.dead.Load() {
				return errors.New("the closed connection is still taken for live")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if n := accepted.Load(); n != 3 {
		t.Fatalf("%d connections for 3 calls, want 3", n)
	}
	// A call given a connection that died before it was written is sent
	// again on a fresh one: it never left.
	c, err := p.conn(addr)
	if err != nil {
		t.Fatal(err)
	}
	c.close(errors.New("closed by the test"))
	if raw, err := p.Do(addr, [][]byte{[]byte("PING")}); err != nil || string(raw) != "+OK\r\n" {
		t.Fatalf("a call on a dead connection: %q %v", raw, err)
	}
}
