package main

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"
)

// The floor answers what compare.sh and redis-benchmark send, pipelined,
// in order, in one write at the pipeline's end.
func TestRespfloor_AnswersAPipelineInOrder(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go serve(ln)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	in := "*1\r\n$4\r\nPING\r\n" +
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nabc\r\n" +
		"*2\r\n$3\r\nget\r\n$1\r\nk\r\n" +
		"*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$4\r\nsave\r\n"
	if _, err := c.Write([]byte(in)); err != nil {
		t.Fatal(err)
	}
	want := "+PONG\r\n+OK\r\n" + string(bulk) + "*0\r\n"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("after %q: %v", got, err)
	}
	if string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	// A frame that is not a RESP array gets an error and the connection closes.
	c.Write([]byte("+x\r\n"))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "-ERR Protocol error: expected '*'\r\n" {
		t.Fatalf("got %q, %v", line, err)
	}
}
