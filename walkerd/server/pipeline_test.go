package server

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/command"
)

// slowWrites is a backend whose every write takes d, as a write waits for
// its Raft log entry.
type slowWrites struct {
	backend.Backend
	d time.Duration
}

func (b slowWrites) Apply(e *command.Entry) (*command.Result, error) {
	time.Sleep(b.d)
	return b.Backend.Apply(e)
}

// A client that pipelines writes gets its replies as they are made, not
// when the pipeline's end (or 64 KB of replies) comes: the replies held
// go out after at most flushAfter. Here each write takes 5 ms and the
// pipeline's 120 SETs arrive in one read, so holding them all would keep
// the first reply back about 600 ms.
func TestPipeline_WritesReplyAsTheyGo(t *testing.T) {
	base := startServer(t, Config{})
	s := startServerOn(t, slowWrites{backend.NewStandalone(base.db), 5 * time.Millisecond}, Config{})
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const n = 120 // 3.6 KB: within one of redcon's 4 KB reads
	var req bytes.Buffer
	for i := range n {
		k := fmt.Sprintf("k%03d", i)
		fmt.Fprintf(&req, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\nv\r\n", len(k), k)
	}
	start := time.Now()
	if _, err := conn.Write(req.Bytes()); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(conn)
	var first time.Duration
	for i := range n {
		line, err := r.ReadString('\n')
		if err != nil || line != "+OK\r\n" {
			t.Fatalf("reply %d: %q %v", i, line, err)
		}
		if i == 0 {
			first = time.Since(start)
		}
	}
	t.Logf("first reply after %v, all %d after %v", first.Round(time.Millisecond), n, time.Since(start).Round(time.Millisecond))
	if first > 200*time.Millisecond {
		t.Fatalf("the first reply came after %v", first)
	}
}
