package nodelink

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
)

var (
	secretA = []byte("0123456789abcdef-cluster-A")
	secretB = []byte("0123456789abcdef-cluster-B")
)

type result struct {
	conn net.Conn
	err  error
}

// handshake runs Dial and Accept on the two ends of a loopback TCP
// connection and returns both outcomes.
func handshake(t *testing.T, dialer, listener *Config) (d, l result) {
	t.Helper()
	dc, lc := tcpPair(t)
	done := make(chan result, 1)
	go func() {
		c, err := listener.Accept(lc)
		done <- result{c, err}
	}()
	c, err := dialer.Dial(dc, dc.RemoteAddr().String())
	d = result{c, err}
	l = <-done
	return d, l
}

func tcpPair(t *testing.T) (dialer, listener net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		acc <- c
	}()
	dialer, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	listener = <-acc
	if listener == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { dialer.Close(); listener.Close() })
	return dialer, listener
}

func TestHandshake_SameSecretPassesBothWays(t *testing.T) {
	cfg := &Config{Secret: secretA}
	d, l := handshake(t, cfg, cfg)
	if d.err != nil || l.err != nil {
		t.Fatalf("dialer: %v, listener: %v", d.err, l.err)
	}
	// The connection carries data afterwards, both ways, with no deadline
	// left behind.
	go d.conn.Write([]byte("ping"))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(l.conn, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("after the handshake: %q %v", buf, err)
	}
	go l.conn.Write([]byte("pong"))
	if _, err := io.ReadFull(d.conn, buf); err != nil || string(buf) != "pong" {
		t.Fatalf("after the handshake: %q %v", buf, err)
	}
}

func TestHandshake_WrongSecretFailsBothWays(t *testing.T) {
	for _, tc := range []struct {
		name             string
		dialer, listener *Config
	}{
		{"different secrets", &Config{Secret: secretA}, &Config{Secret: secretB}},
		{"dialer without a secret", nil, &Config{Secret: secretA}},
		{"listener without a secret", &Config{Secret: secretA}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, l := handshake(t, tc.dialer, tc.listener)
			if !errors.Is(d.err, ErrProof) {
				t.Errorf("dialer: %v, want ErrProof", d.err)
			}
			if l.err == nil {
				t.Error("listener accepted")
			}
		})
	}
}

// The listener checks the dialer's proof itself: a dialer that ignores the
// listener's proof and sends a made-up one is refused.
func TestHandshake_ListenerRefusesAForgedProof(t *testing.T) {
	cfg := &Config{Secret: secretA}
	dc, lc := tcpPair(t)
	done := make(chan error, 1)
	go func() { _, err := cfg.Accept(lc); done <- err }()
	nonceD := Nonce()
	dc.Write(append(append([]byte(magic), Version), nonceD...))
	in := make([]byte, helloSize+proofSize)
	if _, err := io.ReadFull(dc, in); err != nil {
		t.Fatal(err)
	}
	forged := (&Config{Secret: secretB}).Proof(ContextRaft, "dialer", nonceD, in[len(magic)+1:helloSize])
	dc.Write(forged)
	if err := <-done; !errors.Is(err, ErrProof) {
		t.Fatalf("listener: %v, want ErrProof", err)
	}
	if n, _ := dc.Read(make([]byte, 1)); n != 0 {
		t.Fatal("the listener sent a verdict byte to a forged proof")
	}
}

// A listener's proof sent back to it as a dialer's proof (reflection), and
// a Raft proof used on a RESP link, both fail.
func TestHandshake_ProofsAreBoundToRoleAndContext(t *testing.T) {
	cfg := &Config{Secret: secretA}
	dc, lc := tcpPair(t)
	done := make(chan error, 1)
	go func() { _, err := cfg.Accept(lc); done <- err }()
	nonceD := Nonce()
	dc.Write(append(append([]byte(magic), Version), nonceD...))
	in := make([]byte, helloSize+proofSize)
	if _, err := io.ReadFull(dc, in); err != nil {
		t.Fatal(err)
	}
	dc.Write(in[helloSize:]) // the listener's own proof
	if err := <-done; !errors.Is(err, ErrProof) {
		t.Fatalf("reflected proof: %v, want ErrProof", err)
	}
	nonceL := in[len(magic)+1 : helloSize]
	if cfg.Check(nonceD, nonceL, cfg.Proof(ContextRaft, "dialer", nonceD, nonceL)) {
		t.Fatal("a Raft link's dialer proof passed WALKER.LINK PROVE")
	}
}

// recorder keeps what a connection's end wrote.
type recorder struct {
	net.Conn
	w bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) { r.w.Write(b); return r.Conn.Write(b) }

func TestHandshake_ReplayOfARecordedTranscriptFails(t *testing.T) {
	cfg := &Config{Secret: secretA}
	// Record a good exchange, each end's bytes.
	dc, lc := tcpPair(t)
	drec, lrec := &recorder{Conn: dc}, &recorder{Conn: lc}
	done := make(chan error, 1)
	go func() { _, err := cfg.Accept(lrec); done <- err }()
	if _, err := cfg.Dial(drec, "127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	dialerBytes, listenerBytes := drec.w.Bytes(), lrec.w.Bytes()

	// The dialer's bytes replayed to a listener.
	dc2, lc2 := tcpPair(t)
	go func() { _, err := cfg.Accept(lc2); done <- err }()
	go func() { dc2.Write(dialerBytes); io.Copy(io.Discard, dc2) }()
	if err := <-done; !errors.Is(err, ErrProof) {
		t.Fatalf("listener given a replayed dialer: %v, want ErrProof", err)
	}

	// The listener's bytes replayed to a dialer.
	dc3, lc3 := tcpPair(t)
	go func() {
		io.ReadFull(lc3, make([]byte, helloSize))
		lc3.Write(listenerBytes)
	}()
	if _, err := cfg.Dial(dc3, "127.0.0.1:1"); !errors.Is(err, ErrProof) {
		t.Fatalf("dialer given a replayed listener: %v, want ErrProof", err)
	}
}

func TestHandshake_GarbageAndTruncatedInputFailFast(t *testing.T) {
	cfg := &Config{Secret: secretA, Timeout: 10 * time.Second}
	for _, tc := range []struct {
		name  string
		input string
		want  error
	}{
		{"http", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", ErrNotLink},
		{"resp", "*1\r\n$4\r\nPING\r\n", ErrNotLink},
		{"raft rpc", "\x01\x83\xa4Term\xcc\x64", ErrNotLink},
		{"other version", "WKLN\x02" + strings.Repeat("n", 32), ErrVersion},
		{"truncated hello", "WKLN\x01short", io.ErrUnexpectedEOF},
		{"truncated header", "WK", io.ErrUnexpectedEOF},
		{"hello then nothing", "WKLN\x01" + strings.Repeat("n", 32), io.EOF},
		{"empty", "", io.EOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dc, lc := tcpPair(t)
			start := time.Now()
			done := make(chan error, 1)
			go func() { _, err := cfg.Accept(lc); done <- err }()
			dc.Write([]byte(tc.input))
			dc.(*net.TCPConn).CloseWrite()
			err := <-done
			if !errors.Is(err, tc.want) {
				t.Fatalf("Accept: %v, want %v", err, tc.want)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("took %v: not failing fast", d)
			}
		})
	}
	// A dialer given garbage fails too.
	dc, lc := tcpPair(t)
	go func() { io.ReadFull(lc, make([]byte, helloSize)); lc.Write([]byte("-ERR unknown command\r\n")) }()
	if _, err := cfg.Dial(dc, "127.0.0.1:1"); !errors.Is(err, ErrNotLink) {
		t.Fatalf("Dial given garbage: %v, want ErrNotLink", err)
	}
}

func TestHandshake_DeadlineIsHonoured(t *testing.T) {
	cfg := &Config{Secret: secretA, Timeout: 200 * time.Millisecond}
	// A peer that connects and says nothing, on either side.
	dc, lc := tcpPair(t)
	start := time.Now()
	_, err := cfg.Accept(lc)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Accept from a silent dialer: %v, want a timeout", err)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 3*time.Second {
		t.Fatalf("Accept gave up after %v, want about 200ms", d)
	}
	_ = dc
	dc, _ = tcpPair(t)
	start = time.Now()
	if _, err := cfg.Dial(dc, "127.0.0.1:1"); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Dial to a silent listener: %v, want a timeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Dial gave up after %v, want about 200ms", d)
	}
}

// The unauthenticated mode (no secret, no TLS) runs the same exchange with
// an empty key: two such nodes link.
func TestHandshake_WithoutSecretBothEndsLink(t *testing.T) {
	d, l := handshake(t, nil, &Config{})
	if d.err != nil || l.err != nil {
		t.Fatalf("dialer: %v, listener: %v", d.err, l.err)
	}
	if (*Config)(nil).Authenticated() || (&Config{}).Mode() != "none" || (&Config{Secret: secretA}).Mode() != "secret" {
		t.Fatal("Authenticated/Mode of the unauthenticated mode")
	}
}

// respServer answers WALKER.LINK as walkerd's server does (Answer, Check).
func respServer(t *testing.T, cfg *Config, c net.Conn) <-chan bool {
	linked := make(chan bool, 1)
	go func() {
		r := bufio.NewReader(c)
		var nonceD, nonceL []byte
		for {
			v, err := resp.ReadValue(r)
			if err != nil {
				linked <- false
				return
			}
			args := v.Elems
			switch strings.ToUpper(string(args[1].Str)) {
			case "HELLO":
				var proof []byte
				nonceD = args[3].Str
				if nonceL, proof, err = cfg.Answer(args[2].Str, nonceD); err != nil {
					c.Write(resp.AppendError(nil, "ERR "+err.Error()))
					continue
				}
				c.Write(resp.AppendBulk(resp.AppendBulk(resp.AppendArray(nil, 2), nonceL), proof))
			case "PROVE":
				if cfg.Check(nonceD, nonceL, args[2].Str) {
					c.Write([]byte("+OK\r\n"))
					linked <- true
					return
				}
				c.Write([]byte("-NOPERM proof does not match\r\n"))
				linked <- false
				return
			}
		}
	}()
	return linked
}

func TestLinkRESP(t *testing.T) {
	for _, tc := range []struct {
		name             string
		dialer, listener *Config
		ok               bool
	}{
		{"same secret", &Config{Secret: secretA}, &Config{Secret: secretA}, true},
		{"no secret either end", nil, nil, true},
		{"different secrets", &Config{Secret: secretA}, &Config{Secret: secretB}, false},
		{"dialer without", nil, &Config{Secret: secretA}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dc, lc := tcpPair(t)
			linked := respServer(t, tc.listener, lc)
			err := tc.dialer.LinkRESP(dc, bufio.NewReader(dc))
			if tc.ok && err != nil {
				t.Fatalf("LinkRESP: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrProof) {
				t.Fatalf("LinkRESP: %v, want ErrProof", err)
			}
			dc.Close()
			if got := <-linked; got != tc.ok {
				t.Fatalf("server linked = %v, want %v", got, tc.ok)
			}
		})
	}
}

func TestLoadSecret(t *testing.T) {
	dir := t.TempDir()
	good, short := dir+"/good", dir+"/short"
	writeFile(t, good, "  0123456789abcdef\n")
	writeFile(t, short, "abc\n")
	if s, err := LoadSecret(good); err != nil || string(s) != "0123456789abcdef" {
		t.Fatalf("LoadSecret = %q, %v", s, err)
	}
	if _, err := LoadSecret(short); !errors.Is(err, ErrShortSecret) {
		t.Fatalf("short secret: %v", err)
	}
	if _, err := LoadSecret(dir + "/missing"); err == nil {
		t.Fatal("missing file accepted")
	}
	open := dir + "/open"
	writeFile(t, open, "0123456789abcdef\n")
	if err := os.Chmod(open, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSecret(open); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Fatalf("a secret others can read: %v", err)
	}
}

// pipeConn is a net.Conn that reads a fixed input and discards writes.
type pipeConn struct {
	net.Conn // nil: only the methods below are called
	r        *bytes.Reader
}

func (p *pipeConn) Read(b []byte) (int, error)       { return p.r.Read(b) }
func (p *pipeConn) Write(b []byte) (int, error)      { return len(b), nil }
func (p *pipeConn) Close() error                     { return nil }
func (p *pipeConn) SetDeadline(time.Time) error      { return nil }
func (p *pipeConn) SetReadDeadline(time.Time) error  { return nil }
func (p *pipeConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzHandshake feeds a listener arbitrary bytes as the dialer's side: it
// never panics and never accepts (the input cannot know the listener's
// fresh nonce, so it cannot hold a valid proof).
func FuzzHandshake(f *testing.F) {
	f.Add([]byte("WKLN\x01" + strings.Repeat("n", 32) + strings.Repeat("p", 32)))
	f.Add([]byte("WKLN\x02"))
	f.Add([]byte("*1\r\n$4\r\nPING\r\n"))
	f.Add([]byte{})
	cfg := &Config{Secret: secretA}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := cfg.Accept(&pipeConn{r: bytes.NewReader(in)})
		if err == nil || c != nil {
			t.Fatalf("accepted %q", in)
		}
	})
}

func writeFile(t *testing.T, name, s string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}
