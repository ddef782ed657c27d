package server

import (
	"bufio"
	"bytes"
	"net"
	"strconv"
	"testing"
	"time"
)

// BenchmarkServer_GetPipelined is the whole path of a GET inside one
// process, standalone: RESP in, dispatch, the read, RESP out; 16
// commands a round trip, as redis-benchmark -P 16 sends them.
func BenchmarkServer_GetPipelined(b *testing.B) {
	s := startServer(b, Config{})
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReaderSize(c, 1<<16)
	val := bytes.Repeat([]byte("x"), 100)
	var req []byte
	for i := range 16 {
		k := "key:" + strconv.Itoa(i)
		c.Write(encodeCommand([][]byte{[]byte("SET"), []byte(k), val}))
		if line, _ := r.ReadString('\n'); line != "+OK\r\n" {
			b.Fatalf("SET: %q", line)
		}
		req = append(req, encodeCommand([][]byte{[]byte("GET"), []byte(k)})...)
	}
	c.SetDeadline(time.Now().Add(5 * time.Minute))
	b.ResetTimer()
	for i := 0; i < b.N; i += 16 {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		for range 16 {
			// "$100\r\n" + value + "\r\n"
			if _, err := r.Discard(6 + 100 + 2); err != nil {
				b.Fatal(err)
			}
		}
	}
}
