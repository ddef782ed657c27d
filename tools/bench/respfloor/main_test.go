package main

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// servers starts the floor both ways on free loopback ports and returns
// their addresses by name. The epoll loops run until the test binary ends.
func servers(t *testing.T) map[string]string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go serve(ln)
	addrs := map[string]string{"goroutine": ln.Addr().String()}
	if runtime.GOOS == "linux" {
		addr, err := serveEpoll("127.0.0.1:0", 2)
		if err != nil {
			t.Fatal(err)
		}
		addrs["epoll"] = addr
	}
	return addrs
}

func dial(t *testing.T, addr string) net.Conn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}

// The floor answers what compare.sh and redis-benchmark send, pipelined,
// in order, whichever way it serves connections, and a frame that is not
// a RESP array gets Redis's protocol error and the connection closes.
func TestRespfloor_AnswersAPipelineInOrder(t *testing.T) {
	for mode, addr := range servers(t) {
		t.Run(mode, func(t *testing.T) {
			c := dial(t, addr)
			in := "*1\r\n$4\r\nPING\r\n" +
				"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nabc\r\n" +
				"*2\r\n$3\r\nget\r\n$1\r\nk\r\n" +
				"*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$4\r\nsave\r\n"
			// In two writes, the second half of a command in the second:
			// the floor keeps the part it has and answers once it is whole.
			cut := len(in) - 7
			if _, err := c.Write([]byte(in[:cut])); err != nil {
				t.Fatal(err)
			}
			r := bufio.NewReader(c)
			want := "+PONG\r\n+OK\r\n" + string(bulk)
			got := make([]byte, len(want))
			if _, err := io.ReadFull(r, got); err != nil || string(got) != want {
				t.Fatalf("got %q (%v), want %q", got, err, want)
			}
			if _, err := c.Write([]byte(in[cut:])); err != nil {
				t.Fatal(err)
			}
			if line, err := r.ReadString('\n'); err != nil || line != "*0\r\n" {
				t.Fatalf("got %q, %v; want *0", line, err)
			}
			c.Write([]byte("+x\r\n"))
			line, err := r.ReadString('\n')
			if err != nil || line != "-ERR Protocol error: expected '*'\r\n" {
				t.Fatalf("got %q, %v", line, err)
			}
			if _, err := r.ReadByte(); err != io.EOF {
				t.Fatalf("the connection stayed open after a protocol error: %v", err)
			}
		})
	}
}

// A pipeline whose replies outgrow the socket's buffers, sent while the
// client reads nothing, is answered whole once the client reads: the
// epoll loops keep what the socket refused and write it as it drains.
func TestRespfloor_RepliesThatOutgrowTheSocketArriveWhole(t *testing.T) {
	const gets = 200_000 // 4.4 MB of commands, 23 MB of replies
	for mode, addr := range servers(t) {
		t.Run(mode, func(t *testing.T) {
			c := dial(t, addr)
			before := stalls.Load()
			cmd := "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
			sent := make(chan error, 1)
			go func() {
				_, err := c.Write([]byte(strings.Repeat(cmd, gets)))
				sent <- err
			}()
			if mode == "epoll" {
				// The replies pass what loopback's buffers hold long before
				// the last command is read: wait until a write was refused.
				deadline := time.Now().Add(10 * time.Second)
				for stalls.Load() == before {
					if time.Now().After(deadline) {
						t.Fatal("no write of replies was refused in 10 s")
					}
					time.Sleep(time.Millisecond)
				}
			}
			r := bufio.NewReaderSize(c, 1<<16)
			got := make([]byte, len(bulk))
			for i := 0; i < gets; i++ {
				if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got, bulk) {
					t.Fatalf("reply %d: %q, %v", i, got, err)
				}
			}
			if err := <-sent; err != nil {
				t.Fatal(err)
			}
		})
	}
}
