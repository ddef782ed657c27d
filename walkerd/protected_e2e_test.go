package main_test

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
)

// fromAddr sends PING to addr from the local IP from and returns the
// first line of the answer ("" if none comes within 3 s).
func fromAddr(t *testing.T, from, addr string) string {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Skipf("cannot connect from %s: %v", from, err)
	}
	defer c.Close()
	c.Write([]byte("PING\r\n"))
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	return line
}

// The walkerd binary starts in protected mode, as redis-server, and
// --protected-mode sets it. Every loopback address is local: a client from
// 127.0.0.2 is served. (A client from another address gets Redis's DENIED
// text: TestProtected_DeniesRemoteClientsWithoutPassword proves that in
// process, where the test can say which peer counts as remote without
// binding a public address.)
func TestE2E_ProtectedModeServesLoopbackClients(t *testing.T) {
	n := harness.NewNode(t, bin(t), "prot", "--standalone")
	n.Start()
	for _, from := range []string{"127.0.0.1", "127.0.0.2"} {
		if got := fromAddr(t, from, n.RESP); got != "+PONG\r\n" {
			t.Fatalf("from %s: %q", from, got)
		}
	}
	must(t, n, "*2\r\n"+bulk("protected-mode")+bulk("yes"), "CONFIG", "GET", "protected-mode")
	n.Kill()

	m := harness.NewNode(t, bin(t), "open", "--standalone", "--protected-mode", "no")
	m.Start()
	must(t, m, "*2\r\n"+bulk("protected-mode")+bulk("no"), "CONFIG", "GET", "protected-mode")
}
