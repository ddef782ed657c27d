package forward

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

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
