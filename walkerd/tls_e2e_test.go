package main_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/walkerdb/walkerdb/internal/harness"
	"github.com/walkerdb/walkerdb/internal/proc"
	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/internal/tlstest"
)

// tlsNode is a walkerd serving TLS only (--tcp HOST:0 --tls-port P).
type tlsNode struct {
	*proc.Process
	addr        string // the TLS address
	ca          *tlstest.CA
	cert, key   string // the server's files
	ccert, ckey string // a client certificate of the same CA
}

// startTLSNode starts walkerd with TLS only and waits until a TLS PING
// with the client certificate answers.
func startTLSNode(t *testing.T, extra ...string) *tlsNode {
	t.Helper()
	b := bin(t)
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir)
	n := &tlsNode{ca: ca}
	n.cert, n.key = ca.Issue("server", "127.0.0.1")
	n.ccert, n.ckey = ca.Issue("client", "127.0.0.1")
	addrs := harness.FreeAddrs(t, 2)
	n.addr = addrs[0]
	_, port, _ := net.SplitHostPort(n.addr)
	n.Process = &proc.Process{Bin: b, LogPath: filepath.Join(dir, "walkerd.log")}
	t.Cleanup(n.Kill)
	args := append([]string{"-id", "tls", "-tcp", "127.0.0.1:0", "--tls-port", port, "-raft", addrs[1],
		"-dir", filepath.Join(dir, "data"), "-raftdir", filepath.Join(dir, "raft"),
		"--tls-cert-file", n.cert, "--tls-key-file", n.key, "--tls-ca-cert-file", ca.CertFile}, extra...)
	if err := n.Start(args...); err != nil {
		t.Fatal(err)
	}
	if err := harness.WaitFor(15*time.Second, func() error {
		got, err := n.do(n.clientTLS(true), "PING")
		if err != nil || got != "+PONG\r\n" {
			return fmt.Errorf("TLS PING = %q, %v", got, err)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, n.Log())
	}
	return n
}

// clientTLS trusts the test CA and, withCert, presents the client
// certificate.
func (n *tlsNode) clientTLS(withCert bool) *tls.Config {
	pem, err := os.ReadFile(n.ca.CertFile)
	if err != nil {
		panic(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cfg := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	if withCert {
		c, err := tls.LoadX509KeyPair(n.ccert, n.ckey)
		if err != nil {
			panic(err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg
}

// do sends one command over a new TLS connection and returns the raw reply
// and the connection state.
func (n *tlsNode) doState(cfg *tls.Config, args ...string) (string, tls.ConnectionState, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", n.addr, cfg)
	if err != nil {
		return "", tls.ConnectionState{}, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	if _, err := c.Write(resp.AppendCommand(nil, bs)); err != nil {
		return "", c.ConnectionState(), err
	}
	raw, err := resp.ReadRaw(bufio.NewReader(c))
	return string(raw), c.ConnectionState(), err
}

func (n *tlsNode) do(cfg *tls.Config, args ...string) (string, error) {
	got, _, err := n.doState(cfg, args...)
	return got, err
}

// cli runs redis-cli --tls against the node.
func (n *tlsNode) cli(t *testing.T, withCert bool, args ...string) (string, error) {
	t.Helper()
	host, port, _ := net.SplitHostPort(n.addr)
	a := []string{"--tls", "--cacert", n.ca.CertFile, "-h", host, "-p", port}
	if withCert {
		a = append(a, "--cert", n.ccert, "--key", n.ckey)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "redis-cli", append(a, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// listeningPorts lists the TCP ports pid listens on (Linux /proc).
func listeningPorts(t *testing.T, pid int) []int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	var ports []int
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 10 || fs[3] != "0A" || !inodes[fs[9]] { // 0A: LISTEN
				continue
			}
			i := strings.LastIndexByte(fs[1], ':')
			p, _ := strconv.ParseInt(fs[1][i+1:], 16, 32)
			ports = append(ports, int(p))
		}
	}
	return ports
}

func TestE2E_TLS_RedisCliRoundTripWithoutPlainListener(t *testing.T) {
	n := startTLSNode(t, "--standalone")
	if out, err := n.cli(t, true, "SET", "greeting", "hello over tls"); err != nil || out != "OK" {
		t.Fatalf("redis-cli SET = %q, %v", out, err)
	}
	if out, err := n.cli(t, true, "GET", "greeting"); err != nil || out != "hello over tls" {
		t.Fatalf("redis-cli GET = %q, %v", out, err)
	}
	// The only listener is the TLS port: no plain-text RESP anywhere.
	_, tport, _ := net.SplitHostPort(n.addr)
	ports := listeningPorts(t, n.Pid())
	if len(ports) != 1 || strconv.Itoa(ports[0]) != tport {
		t.Fatalf("walkerd listens on %v, want only the TLS port %s", ports, tport)
	}
	// Plain text on the TLS port gets no reply.
	c, err := net.DialTimeout("tcp", n.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	fmt.Fprintf(c, "PING\r\n")
	buf := make([]byte, 64)
	if k, _ := c.Read(buf); strings.Contains(string(buf[:k]), "PONG") {
		t.Fatalf("plain PING on the TLS port answered %q", buf[:k])
	}
	if out, err := n.cli(t, true, "CONFIG", "GET", "port"); err != nil || out != "port\n0" {
		t.Fatalf("CONFIG GET port = %q, %v", out, err)
	}
	if out, err := n.cli(t, true, "CONFIG", "GET", "tls-port"); err != nil || out != "tls-port\n"+tport {
		t.Fatalf("CONFIG GET tls-port = %q, %v", out, err)
	}
}

func TestE2E_TLS_ClusterNodeAdvertisesTheTLSAddress(t *testing.T) {
	n := startTLSNode(t)
	if err := harness.WaitFor(15*time.Second, func() error {
		got, err := n.do(n.clientTLS(true), "RAFT.LEADER")
		if err != nil || !strings.Contains(got, n.addr) {
			return fmt.Errorf("RAFT.LEADER = %q, %v", got, err)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, n.Log())
	}
	if out, err := n.cli(t, true, "SET", "k", "v"); err != nil || out != "OK" {
		t.Fatalf("SET through Raft = %q, %v", out, err)
	}
}

func TestE2E_TLS_AuthClientsYesRefusesABareClientOptionalAccepts(t *testing.T) {
	yes := startTLSNode(t, "--standalone")
	if out, err := yes.cli(t, false, "PING"); err == nil && out == "PONG" {
		t.Fatalf("tls-auth-clients yes: redis-cli without a certificate got %q", out)
	}
	if got, err := yes.do(yes.clientTLS(false), "PING"); err == nil {
		t.Fatalf("tls-auth-clients yes: Go client without a certificate got %q", got)
	}
	if out, err := yes.cli(t, true, "PING"); err != nil || out != "PONG" {
		t.Fatalf("with a certificate: %q, %v", out, err)
	}

	opt := startTLSNode(t, "--standalone", "--tls-auth-clients", "optional")
	if out, err := opt.cli(t, false, "PING"); err != nil || out != "PONG" {
		t.Fatalf("tls-auth-clients optional: redis-cli without a certificate: %q, %v", out, err)
	}
	// A certificate from another CA is still refused.
	other := tlstest.NewCA(t, t.TempDir())
	cert, key := other.Issue("stranger", "127.0.0.1")
	cfg := opt.clientTLS(false)
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Certificates = []tls.Certificate{pair}
	if got, err := opt.do(cfg, "PING"); err == nil {
		t.Fatalf("tls-auth-clients optional: a certificate of another CA got %q", got)
	}
	// CONFIG SET tls-auth-clients yes applies to new connections.
	if out, err := opt.cli(t, true, "CONFIG", "SET", "tls-auth-clients", "yes"); err != nil || out != "OK" {
		t.Fatalf("CONFIG SET tls-auth-clients yes: %q, %v", out, err)
	}
	if got, err := opt.do(opt.clientTLS(false), "PING"); err == nil {
		t.Fatalf("after CONFIG SET tls-auth-clients yes, a bare client got %q", got)
	}
	if out, err := opt.cli(t, true, "CONFIG", "SET", "tls-auth-clients", "maybe"); out != "ERR CONFIG SET failed (possibly related to argument 'tls-auth-clients') - argument(s) must be one of the following: no, yes, optional" {
		t.Fatalf("CONFIG SET tls-auth-clients maybe: %q, %v", out, err)
	}
}

func TestE2E_TLS_GoRedisAndPythonClients(t *testing.T) {
	n := startTLSNode(t, "--standalone")
	rdb := redis.NewClient(&redis.Options{Addr: n.addr, TLSConfig: n.clientTLS(true)})
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.Set(ctx, "from-go", "go-redis", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := rdb.Get(ctx, "from-go").Result(); err != nil || v != "go-redis" {
		t.Fatalf("go-redis GET = %q, %v", v, err)
	}

	if _, err := exec.LookPath("/usr/bin/python3"); err != nil {
		t.Skip("no python3")
	}
	host, port, _ := net.SplitHostPort(n.addr)
	script := `
import sys, redis
r = redis.Redis(host=sys.argv[1], port=int(sys.argv[2]), ssl=True, ssl_ca_certs=sys.argv[3],
                ssl_certfile=sys.argv[4], ssl_keyfile=sys.argv[5], socket_timeout=10)
r.set("from-python", "redis-py")
print(r.get("from-python").decode(), r.get("from-go").decode())
`
	ctx2, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx2, "/usr/bin/python3", "-c", script, host, port, n.ca.CertFile, n.ccert, n.ckey).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "redis-py go-redis" {
		t.Fatalf("python redis over TLS: %q, %v", out, err)
	}
	if v, err := rdb.Get(ctx, "from-python").Result(); err != nil || v != "redis-py" {
		t.Fatalf("GET from-python = %q, %v", v, err)
	}
}

func TestE2E_TLS_CertificateReloadBySIGHUPAndConfigSet(t *testing.T) {
	n := startTLSNode(t, "--standalone")
	serial := func() string {
		t.Helper()
		got, cs, err := n.doState(n.clientTLS(true), "PING")
		if err != nil || got != "+PONG\r\n" {
			t.Fatalf("PING = %q, %v", got, err)
		}
		return cs.PeerCertificates[0].SerialNumber.String()
	}
	first := serial()
	if want := tlstest.Serial(t, n.cert).String(); first != want {
		t.Fatalf("served serial %s, file's %s", first, want)
	}
	// A connection opened before the reload keeps working after it.
	rdb := redis.NewClient(&redis.Options{Addr: n.addr, TLSConfig: n.clientTLS(true), PoolSize: 1})
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.Set(ctx, "k", "before", 0).Err(); err != nil {
		t.Fatal(err)
	}

	// New files in place, SIGHUP: new connections see the new serial.
	n.ca.Issue("server", "127.0.0.1")
	want := tlstest.Serial(t, n.cert).String()
	if err := syscall.Kill(n.Pid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if err := harness.WaitFor(10*time.Second, func() error {
		if got := serial(); got != want {
			return fmt.Errorf("serial %s, want %s", got, want)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, n.Log())
	}
	if !n.Running() {
		t.Fatal("SIGHUP stopped walkerd")
	}
	if v, err := rdb.Get(ctx, "k").Result(); err != nil || v != "before" {
		t.Fatalf("old connection after reload: %q, %v", v, err)
	}
	if !strings.Contains(n.Log(), "SIGHUP: TLS certificates reloaded") {
		t.Fatalf("no reload line in the log:\n%s", n.Log())
	}

	// CONFIG SET of a new pair: both change together.
	cert2, key2 := n.ca.Issue("server2", "127.0.0.1")
	if out, err := n.cli(t, true, "CONFIG", "SET", "tls-cert-file", cert2, "tls-key-file", key2); err != nil || out != "OK" {
		t.Fatalf("CONFIG SET tls-cert-file tls-key-file: %q, %v", out, err)
	}
	want2 := tlstest.Serial(t, cert2).String()
	if got := serial(); got != want2 {
		t.Fatalf("after CONFIG SET serial %s, want %s", got, want2)
	}
	if out, err := n.cli(t, true, "CONFIG", "GET", "tls-cert-file"); err != nil || out != "tls-cert-file\n"+cert2 {
		t.Fatalf("CONFIG GET tls-cert-file = %q, %v", out, err)
	}

	// A bad file: Redis's error, the old certificate keeps serving, the
	// parameter keeps its value.
	bad := filepath.Join(t.TempDir(), "bad.crt")
	if err := os.WriteFile(bad, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ := n.cli(t, true, "CONFIG", "SET", "tls-cert-file", bad)
	if wantErr := "ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - Unable to update TLS configuration. Check server logs."; out != wantErr {
		t.Fatalf("CONFIG SET of a bad file = %q, want %q", out, wantErr)
	}
	if got := serial(); got != want2 {
		t.Fatalf("after a failed CONFIG SET serial %s, want the old %s", got, want2)
	}
	if out, _ := n.cli(t, true, "CONFIG", "GET", "tls-cert-file"); out != "tls-cert-file\n"+cert2 {
		t.Fatalf("CONFIG GET tls-cert-file after a failed SET = %q", out)
	}
	// A bad protocol list fails the same way (Redis's tlsConfigure).
	out, _ = n.cli(t, true, "CONFIG", "SET", "tls-protocols", "TLSv9")
	if !strings.HasSuffix(out, "Unable to update TLS configuration. Check server logs.") {
		t.Fatalf("CONFIG SET tls-protocols TLSv9 = %q", out)
	}
	// A broken file on SIGHUP: logged, the old certificate stays.
	if err := os.WriteFile(cert2, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(n.Pid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if err := harness.WaitFor(10*time.Second, func() error {
		if !strings.Contains(n.Log(), "SIGHUP: TLS reload failed") {
			return fmt.Errorf("no failure line yet")
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, n.Log())
	}
	if got := serial(); got != want2 {
		t.Fatalf("after a failed SIGHUP reload serial %s, want the old %s", got, want2)
	}
}

func TestE2E_TLS_ConfigFileDirectivesAndRewrite(t *testing.T) {
	b := bin(t)
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir)
	n := &tlsNode{ca: ca}
	n.cert, n.key = ca.Issue("server", "127.0.0.1")
	n.ccert, n.ckey = ca.Issue("client", "127.0.0.1")
	addrs := harness.FreeAddrs(t, 2)
	n.addr = addrs[0]
	_, port, _ := net.SplitHostPort(n.addr)
	conf := filepath.Join(dir, "walkerd.conf")
	text := fmt.Sprintf("bind 127.0.0.1\nport 0\ntls-port %s\ntls-cert-file %s\ntls-key-file %s\n"+
		"tls-ca-cert-file %s\ntls-auth-clients optional\ntls-protocols \"TLSv1.2 TLSv1.3\"\nstandalone yes\n"+
		"dir %s\nraft %s\n", port, n.cert, n.key, ca.CertFile, filepath.Join(dir, "data"), addrs[1])
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	n.Process = &proc.Process{Bin: b, LogPath: filepath.Join(dir, "walkerd.log")}
	t.Cleanup(n.Kill)
	start := func() {
		t.Helper()
		if err := n.Start(conf); err != nil {
			t.Fatal(err)
		}
		if err := harness.WaitFor(15*time.Second, func() error {
			got, err := n.do(n.clientTLS(false), "PING") // optional: no certificate needed
			if err != nil || got != "+PONG\r\n" {
				return fmt.Errorf("TLS PING = %q, %v", got, err)
			}
			return nil
		}); err != nil {
			t.Fatalf("%v\n%s", err, n.Log())
		}
	}
	start()
	if ports := listeningPorts(t, n.Pid()); len(ports) != 1 || strconv.Itoa(ports[0]) != port {
		t.Fatalf("walkerd listens on %v, want only %s", ports, port)
	}
	if out, err := n.cli(t, false, "CONFIG", "GET", "tls-protocols"); err != nil || out != "tls-protocols\nTLSv1.2 TLSv1.3" {
		t.Fatalf("CONFIG GET tls-protocols = %q, %v", out, err)
	}
	// CONFIG SET, REWRITE, restart: the file keeps the new value.
	if out, err := n.cli(t, false, "CONFIG", "SET", "tls-auth-clients", "yes"); err != nil || out != "OK" {
		t.Fatalf("CONFIG SET: %q, %v", out, err)
	}
	if out, err := n.cli(t, true, "CONFIG", "REWRITE"); err != nil || out != "OK" {
		t.Fatalf("CONFIG REWRITE: %q, %v", out, err)
	}
	n.Stop(30 * time.Second)
	data, _ := os.ReadFile(conf)
	if !strings.Contains(string(data), "\ntls-auth-clients yes\n") || !strings.Contains(string(data), "\nport 0\n") {
		t.Fatalf("rewritten file:\n%s", data)
	}
	if err := n.Start(conf); err != nil {
		t.Fatal(err)
	}
	if err := harness.WaitFor(15*time.Second, func() error {
		got, err := n.do(n.clientTLS(true), "PING")
		if err != nil || got != "+PONG\r\n" {
			return fmt.Errorf("TLS PING = %q, %v", got, err)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, n.Log())
	}
	if got, err := n.do(n.clientTLS(false), "PING"); err == nil {
		t.Fatalf("after the rewrite, tls-auth-clients yes: a bare client got %q", got)
	}
}
