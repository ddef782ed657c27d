package chaos

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"
)

// echoServer answers each line with itself, on ip.
func echoServer(t *testing.T, ip string) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Skipf("loopback IP %s: %v", ip, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

// dialFrom connects to addr from node i's IP, as walkerd does.
func dialFrom(t *testing.T, i int, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(NodeIP(i))}, Timeout: time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

func roundTrip(c net.Conn, r *bufio.Reader, wait time.Duration) (time.Duration, error) {
	start := time.Now()
	c.SetDeadline(start.Add(wait))
	if _, err := c.Write([]byte("hello\n")); err != nil {
		return 0, err
	}
	_, err := r.ReadString('\n')
	return time.Since(start), err
}

// twoNodes: node 1's port behind a proxy; node 0 dials it.
func twoNodes(t *testing.T) (*Net, string) {
	target := echoServer(t, NodeIP(1))
	n := NewNet(map[string]int{NodeIP(0): 0, NodeIP(1): 1})
	t.Cleanup(func() { n.Close() })
	p, err := n.NewProxy(net.JoinHostPort(NodeIP(1), "0"), target, 1)
	if err != nil {
		t.Fatal(err)
	}
	return n, p.Addr()
}

func TestProxy_StallHoldsBytesUntilTheLinkHeals(t *testing.T) {
	n, addr := twoNodes(t)
	c, r := dialFrom(t, 0, addr)
	if _, err := roundTrip(c, r, time.Second); err != nil {
		t.Fatalf("open link: %v", err)
	}
	n.Block(0, 1, Stall)
	if _, err := roundTrip(c, r, 300*time.Millisecond); err == nil {
		t.Fatal("bytes crossed a stalled link")
	}
	n.Heal()
	// What was held arrives, in order, then the link carries on.
	c.SetDeadline(time.Now().Add(time.Second))
	if line, err := r.ReadString('\n'); err != nil || line != "hello\n" {
		t.Fatalf("held bytes after heal: %q %v", line, err)
	}
	if _, err := roundTrip(c, r, time.Second); err != nil {
		t.Fatalf("after heal: %v", err)
	}
}

func TestProxy_ResetClosesConnectionsAndRefusesNewOnes(t *testing.T) {
	n, addr := twoNodes(t)
	c, r := dialFrom(t, 0, addr)
	if _, err := roundTrip(c, r, time.Second); err != nil {
		t.Fatal(err)
	}
	n.Partition(Reset, []int{0}, []int{1})
	if _, err := roundTrip(c, r, time.Second); err == nil {
		t.Fatal("a reset link still carries its old connection")
	}
	c2, r2 := dialFrom(t, 0, addr)
	if _, err := roundTrip(c2, r2, time.Second); err == nil {
		t.Fatal("a reset link carries a new connection")
	}
	n.Heal()
	c3, r3 := dialFrom(t, 0, addr)
	if _, err := roundTrip(c3, r3, time.Second); err != nil {
		t.Fatalf("after heal: %v", err)
	}
}

func TestProxy_OnlyTheBlockedPairIsCut(t *testing.T) {
	n, addr := twoNodes(t)
	n.Block(0, 2, Reset) // another pair
	c, r := dialFrom(t, 0, addr)
	if _, err := roundTrip(c, r, time.Second); err != nil {
		t.Fatalf("link 0-1 cut by a rule on 0-2: %v", err)
	}
	if n.Blocked(1, 0) != 0 || n.Blocked(2, 0) != Reset {
		t.Fatalf("Blocked: 0-1 %v, 0-2 %v", n.Blocked(0, 1), n.Blocked(0, 2))
	}
}

func TestProxy_DelayAddsLatencyBothWays(t *testing.T) {
	n, addr := twoNodes(t)
	c, r := dialFrom(t, 0, addr)
	n.SetDelay(0, 1, Delay{Base: 100 * time.Millisecond})
	n.SetDelay(1, 0, Delay{Base: 50 * time.Millisecond})
	d, err := roundTrip(c, r, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if d < 150*time.Millisecond {
		t.Fatalf("round trip %v through links delayed 100 ms + 50 ms", d)
	}
	n.Heal()
	if d, err := roundTrip(c, r, time.Second); err != nil || d > 100*time.Millisecond {
		t.Fatalf("after heal: %v %v", d, err)
	}
}
