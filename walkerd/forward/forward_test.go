package forward

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/walkerdb/walkerdb/internal/resp"
)

// echoServer answers every command with a bulk string naming its
// arguments, and can be told to die after n commands.
func echoServer(t *testing.T, dieAfter int) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				r, w := bufio.NewReader(nc), bufio.NewWriter(nc)
				for n := 0; ; n++ {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					var argc int
					fmt.Sscanf(line, "*%d", &argc)
					var args []string
					for range argc {
						r.ReadString('\n')
						a, _ := r.ReadString('\n')
						args = append(args, strings.TrimSuffix(a, "\r\n"))
					}
					if dieAfter > 0 && n == dieAfter {
						return
					}
					body := strings.Join(args, " ")
					if args[0] == "BIG" {
						body = strings.Repeat("y", 200_000)
					}
					fmt.Fprintf(w, "$%d\r\n%s\r\n", len(body), body)
					if r.Buffered() == 0 {
						w.Flush()
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
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
