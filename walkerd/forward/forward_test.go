package forward

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/harness"
	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/nodelink"
)

// echoServer answers every command with a bulk string naming its
// arguments, and hangs up on the dieAfter-th command (0: never).
func echoServer(t *testing.T, dieAfter int) string {
	var n atomic.Int64
	link := linkAnswerer(nil)
	return harness.FakeRESP(t, func(args []string) string {
		if reply, ok := link(args); ok {
			return reply
		}
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
				r := bufio.NewReader(nc)
				if err := serveLink(nc, r); err != nil {
					return
				}
				if _, err := resp.ReadRaw(r); err == nil {
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

// linkAnswerer answers WALKER.LINK as walkerd's server does
// (walkerd/server/link.go) for a harness.FakeRESP handler, which has no
// per-connection state: a PROVE passes if it matches any HELLO not yet
// proven. ok is false for other commands.
func linkAnswerer(links *nodelink.Config) func(args []string) (reply string, ok bool) {
	var mu sync.Mutex
	pending := map[string][]byte{} // nonceD -> nonceL
	return func(args []string) (string, bool) {
		if len(args) < 3 || !strings.EqualFold(args[0], "WALKER.LINK") {
			return "", false
		}
		mu.Lock()
		defer mu.Unlock()
		switch strings.ToUpper(args[1]) {
		case "HELLO":
			nonceL, proof, err := links.Answer([]byte(args[2]), []byte(args[3]))
			if err != nil {
				return "-ERR " + err.Error() + "\r\n", true
			}
			pending[args[3]] = nonceL
			return string(resp.AppendBulk(resp.AppendBulk(resp.AppendArray(nil, 2), nonceL), proof)), true
		case "PROVE":
			for nonceD, nonceL := range pending {
				if links.Check([]byte(nonceD), nonceL, []byte(args[2])) {
					delete(pending, nonceD)
					return "+OK\r\n", true
				}
			}
			return "-NOPERM node link proof does not match\r\n", true
		}
		return "-ERR unknown subcommand\r\n", true
	}
}

// serveLink answers one WALKER.LINK exchange (without a secret) on a
// connection.
func serveLink(w io.Writer, r *bufio.Reader) error {
	link := linkAnswerer(nil)
	for range 2 {
		v, err := resp.ReadValue(r)
		if err != nil {
			return err
		}
		args := make([]string, len(v.Elems))
		for i, e := range v.Elems {
			args[i] = string(e.Str)
		}
		reply, ok := link(args)
		if !ok {
			return fmt.Errorf("not WALKER.LINK: %q", args)
		}
		w.Write([]byte(reply))
	}
	return nil
}

// Every connection proves the cluster secret first: with the same secret
// the pool's calls go through; with another, the dial fails before any
// command is written.
func TestPool_LinksEveryConnectionWithTheSecret(t *testing.T) {
	secret := &nodelink.Config{Secret: []byte("a-cluster-secret-of-some-length")}
	var commands atomic.Int64
	link := linkAnswerer(secret)
	addr := harness.FakeRESP(t, func(args []string) string {
		if reply, ok := link(args); ok {
			return reply
		}
		commands.Add(1)
		return "+PONG\r\n"
	})
	good := New(Options{ConnsPerAddr: 2, Links: secret})
	defer good.Close()
	for i := range 4 {
		if raw, err := good.Do(addr, [][]byte{[]byte("PING")}); err != nil || string(raw) != "+PONG\r\n" {
			t.Fatalf("call %d: %q %v", i, raw, err)
		}
	}
	for _, links := range []*nodelink.Config{{Secret: []byte("another-secret-of-some-length")}, nil} {
		bad := New(Options{Links: links})
		defer bad.Close()
		before := commands.Load()
		if _, err := bad.Do(addr, [][]byte{[]byte("PING")}); !errors.Is(err, nodelink.ErrProof) {
			t.Fatalf("pool with mode %s: %v, want ErrProof", links.Mode(), err)
		}
		if commands.Load() != before {
			t.Fatal("a command was sent on a connection that failed its link")
		}
	}
}

// A call that never left this node (nothing listens at the leader's
// address, or the node-link handshake fails) says so: its error matches
// backend.ErrNotSent, and the server answers CLUSTERDOWN, a definite
// refusal, rather than an unknown outcome. A call the server took and
// then dropped does not.
func TestPool_AFailedDialIsNotSent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	p := New(Options{ConnsPerAddr: 1, DialTimeout: time.Second})
	defer p.Close()
	_, err = p.Do(closed, [][]byte{[]byte("PING")})
	if err == nil || !errors.Is(err, backend.ErrNotSent) || !strings.Contains(err.Error(), "forward: dial "+closed) {
		t.Fatalf("dial to a closed port: %v, want a dial error matching ErrNotSent", err)
	}

	// A leader that takes the command and hangs up without a reply.
	link := linkAnswerer(nil)
	addr := harness.FakeRESP(t, func(args []string) string {
		if reply, ok := link(args); ok {
			return reply
		}
		return harness.HangUp
	})
	_, err = p.Do(addr, [][]byte{[]byte("PING")})
	if err == nil || errors.Is(err, backend.ErrNotSent) {
		t.Fatalf("a call written, then the connection lost: %v, want an error not matching ErrNotSent", err)
	}
}

// A leader that hangs up while a large command is still being written
// fails the call at once, as of unknown outcome: the call was never
// queued for a reply, and used to wait for one forever.
func TestPool_AWriteCutOffFailsTheCall(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { // links, reads a little of the command, hangs up
				defer nc.Close()
				r := bufio.NewReader(nc)
				if serveLink(nc, r) == nil {
					r.Discard(1 << 16)
				}
			}()
		}
	}()
	p := New(Options{ConnsPerAddr: 1, CallTimeout: 2 * time.Second})
	defer p.Close()
	done := make(chan error, 1)
	go func() {
		_, err := p.Do(ln.Addr().String(), [][]byte{[]byte("SET"), []byte("k"), make([]byte, 64<<20)})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrConnLost) {
			t.Fatalf("Do = %v, want ErrConnLost", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Do still waiting 10 s after the leader hung up (call timeout 2 s)")
	}
}

// A call waits the pool's CallTimeout for its reply, and a second more for
// every 16 MiB it carries: a slow reply to a large call arrives, the same
// reply to a small call is given up on.
func TestPool_ALargeCallWaitsLongerForItsReply(t *testing.T) {
	link := linkAnswerer(nil)
	addr := harness.FakeRESP(t, func(args []string) string {
		if reply, ok := link(args); ok {
			return reply
		}
		time.Sleep(700 * time.Millisecond) // the leader logs and replicates
		return "+OK\r\n"
	})
	p := New(Options{ConnsPerAddr: 1, CallTimeout: 200 * time.Millisecond})
	defer p.Close()
	if _, err := p.Do(addr, [][]byte{[]byte("SET"), []byte("k"), []byte("small")}); err == nil {
		t.Fatal("a small call got a reply 700 ms late with a 200 ms timeout")
	}
	// 48 MiB: 3 s more, well past the 700 ms and the reading of the call.
	raw, err := p.Do(addr, [][]byte{[]byte("SET"), []byte("k"), make([]byte, 48<<20)})
	if err != nil || string(raw) != "+OK\r\n" {
		t.Fatalf("a 48 MiB call: %q %v, want its reply", raw, err)
	}
}

// Drop (a leadership change) may forget an address while a call to it is
// dialing: the call keeps its new connection rather than index the
// forgotten slots (a tester saw "index out of range [2] with length 0"
// under elections). Callers and a dropper race here; every call that
// gets a connection gets its reply or a connection error, none panics.
func TestPool_DropWhileDialingDoesNotLoseTheSlots(t *testing.T) {
	addr := echoServer(t, 0)
	p := New(Options{ConnsPerAddr: 3})
	defer p.Close()
	stop := make(chan struct{})
	var dropper sync.WaitGroup
	dropper.Add(1)
	go func() {
		defer dropper.Done()
		for {
			select {
			case <-stop:
				return
			default:
				p.Drop(addr)
			}
		}
	}()
	var wg sync.WaitGroup
	var ok atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 300 {
				if raw, err := p.Do(addr, [][]byte{[]byte("PING")}); err == nil {
					if !strings.Contains(string(raw), "PING") {
						t.Errorf("reply %q", raw)
						return
					}
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	dropper.Wait()
	if ok.Load() == 0 {
		t.Fatal("no call got through while the dropper ran")
	}
	if raw, err := p.Do(addr, [][]byte{[]byte("PING")}); err != nil || !strings.Contains(string(raw), "PING") {
		t.Fatalf("after the drops: %q, %v", raw, err)
	}
}
