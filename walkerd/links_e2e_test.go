package main_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/walkerdb/walkerdb/internal/harness"
	"github.com/walkerdb/walkerdb/internal/proc"
	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/internal/tlstest"
	"github.com/walkerdb/walkerdb/walkerd/command"
	"github.com/walkerdb/walkerdb/walkerd/nodelink"
)

// Node links (walkerd/nodelink, links.go): the Raft port and the
// forwarding links take only peers that prove they are members.

// secretFile writes a cluster secret file and returns the flags that use it.
func secretFile(t *testing.T, secret string) []string {
	f := filepath.Join(t.TempDir(), "cluster.secret")
	if err := os.WriteFile(f, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"--cluster-secret-file", f}
}

// raftState reads a node's raft_term, raft_state and raft_last_log_index.
func raftState(t *testing.T, n *harness.Node) (term uint64, state string, lastIndex uint64) {
	t.Helper()
	info, err := n.Info()
	if err != nil {
		t.Fatalf("%s: INFO raft: %v", n.ID, err)
	}
	term, _ = strconv.ParseUint(info["raft_term"], 10, 64)
	lastIndex, _ = strconv.ParseUint(info["raft_last_log_index"], 10, 64)
	return term, info["raft_state"], lastIndex
}

// attackerStream is a raft.StreamLayer that runs nodelink's handshake
// with an empty key, as anyone can: what a node without a secret accepts.
type attackerStream struct{ net.Listener }

func (a attackerStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", string(addr), timeout)
	if err != nil {
		return nil, err
	}
	return (*nodelink.Config)(nil).Dial(c, string(addr))
}

// inject plays a stranger on the network: with hashicorp/raft's own
// NetworkTransport it sends one AppendEntries at term 100 to raftAddr,
// carrying a log entry that writes injected=evil, placed right after the
// node's last entry (prevIndex, prevTerm) and marked committed. handshake:
// the transport first runs nodelink's exchange with an empty key (else it
// is raft.NewTCPTransport's, which sends the RPC straight away).
func inject(raftAddr string, prevIndex, prevTerm uint64, handshake bool) (*raft.AppendEntriesResponse, error) {
	var trans *raft.NetworkTransport
	if handshake {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		trans = raft.NewNetworkTransport(attackerStream{ln}, 1, 3*time.Second, io.Discard)
	} else {
		var err error
		if trans, err = raft.NewTCPTransport("127.0.0.1:0", nil, 1, 3*time.Second, io.Discard); err != nil {
			return nil, err
		}
	}
	defer trans.Close()
	e := &command.Entry{NowMs: time.Now().UnixMilli(), Cmds: [][][]byte{{[]byte("SET"), []byte("injected"), []byte("evil")}}}
	me := []byte(trans.LocalAddr())
	req := &raft.AppendEntriesRequest{
		RPCHeader:    raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("attacker"), Addr: me},
		Term:         100,
		Leader:       me,
		PrevLogEntry: prevIndex, PrevLogTerm: prevTerm,
		Entries:           []*raft.Log{{Index: prevIndex + 1, Term: 100, Type: raft.LogCommand, Data: e.Encode()}},
		LeaderCommitIndex: prevIndex + 1,
	}
	var resp raft.AppendEntriesResponse
	err := trans.AppendEntries("victim", raft.ServerAddress(raftAddr), req, &resp)
	return &resp, err
}

// injectRefused checks that an injection into n fails and changes nothing:
// same term, same state, no injected key, and a WARN naming the attempt.
func injectRefused(t *testing.T, n *harness.Node) {
	t.Helper()
	term, state, last := raftState(t, n)
	for _, handshake := range []bool{false, true} {
		resp, err := inject(n.Raft, last, term, handshake)
		if err == nil {
			t.Fatalf("%s: the injected AppendEntries (handshake %v) was answered: %+v", n.ID, handshake, resp)
		}
		t.Logf("%s: injection (handshake %v) failed as it should: %v", n.ID, handshake, err)
	}
	term2, state2, _ := raftState(t, n)
	if term2 != term || state2 != state {
		t.Fatalf("%s: term %d -> %d, state %s -> %s after a refused injection", n.ID, term, term2, state, state2)
	}
	must(t, n, "$-1\r\n", "LEVELGET", "injected", "stale")
	if err := harness.WaitFor(5*time.Second, func() error {
		if !strings.Contains(n.Log(), "raft link handshake failed") {
			return fmt.Errorf("no handshake WARN in %s's log", n.ID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// Without a secret (allowed on loopback only) an injection that runs the
// handshake with the empty key, as anyone can, works: the tests of the
// secret test something.
func TestE2E_Links_InjectionSucceedsWithoutASecretOnLoopback(t *testing.T) {
	n := harness.NewNode(t, bin(t), "open")
	n.Start()
	if err := n.WaitLeader(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	must(t, n, "+OK\r\n", "SET", "k", "v")
	if !strings.Contains(n.Log(), "node links are not authenticated") {
		t.Fatalf("no WARN about unauthenticated links:\n%s", n.Log())
	}
	term, _, last := raftState(t, n)
	resp, err := inject(n.Raft, last, term, true)
	if err != nil {
		t.Fatalf("inject into an unauthenticated node: %v", err)
	}
	if !resp.Success || resp.Term != 100 {
		t.Fatalf("inject: %+v, want success at term 100", resp)
	}
	if err := harness.WaitFor(10*time.Second, func() error {
		got, err := n.Do("LEVELGET", "injected", "stale")
		if err != nil || got != bulk("evil") {
			return fmt.Errorf("LEVELGET injected stale = %q %v", got, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestE2E_Links_SecretRefusesInjectionOnOneNode(t *testing.T) {
	n := harness.NewNode(t, bin(t), "guarded", secretFile(t, "one-node-cluster-secret-0123456789")...)
	n.Start()
	if err := n.WaitLeader(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	must(t, n, "+OK\r\n", "SET", "k", "v")
	injectRefused(t, n)
	must(t, n, "+OK\r\n", "SET", "k2", "v2") // still the leader, still serving
	if strings.Contains(n.Log(), "node links are not authenticated") {
		t.Fatal("WARN about unauthenticated links with a secret")
	}
}

// Three nodes sharing a secret: writes through followers, failover, no
// injection into any node; the forwarding links do not depend on
// requirepass, so changing it on every node breaks nothing.
func TestE2E_Links_ThreeNodesWithASecret(t *testing.T) {
	c := harness.StartCluster(t, bin(t), 3, secretFile(t, "three-node-cluster-secret-0123456789")...)
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	follower := c.Followers(leader)[0]
	must(t, follower, "+OK\r\n", "SET", "k1", "v1")
	for _, n := range c.Nodes {
		injectRefused(t, n)
	}
	if l, err := c.Leader(5 * time.Second); err != nil || l != leader {
		t.Fatalf("leader after the injections: %v %v, want %s", l, err, leader.ID)
	}

	// requirepass set and changed at run time on every node.
	authDo := func(n *harness.Node, pass string, args ...string) string {
		t.Helper()
		cn, err := harness.Dial(n.RESP)
		if err != nil {
			t.Fatal(err)
		}
		defer cn.Close()
		if pass != "" {
			if got, err := cn.Do("AUTH", pass); err != nil || got != "+OK\r\n" {
				t.Fatalf("%s AUTH: %q %v", n.ID, got, err)
			}
		}
		got, err := cn.Do(args...)
		if err != nil {
			t.Fatalf("%s %q: %v", n.ID, args, err)
		}
		return got
	}
	for _, n := range c.Nodes {
		if got := authDo(n, "", "CONFIG", "SET", "requirepass", "old"); got != "+OK\r\n" {
			t.Fatalf("%s CONFIG SET requirepass old: %q", n.ID, got)
		}
	}
	if got := authDo(follower, "old", "SET", "k2", "v2"); got != "+OK\r\n" {
		t.Fatalf("SET through %s with requirepass old: %q", follower.ID, got)
	}
	for _, n := range c.Nodes {
		if got := authDo(n, "old", "CONFIG", "SET", "requirepass", "new"); got != "+OK\r\n" {
			t.Fatalf("%s CONFIG SET requirepass new: %q", n.ID, got)
		}
	}
	// Cut the followers' links so they dial afresh after the change.
	if got := authDo(leader, "new", "CLIENT", "KILL", "TYPE", "replica"); !strings.HasPrefix(got, ":") || got == ":0\r\n" {
		t.Fatalf("CLIENT KILL TYPE replica on the leader: %q, want the links killed", got)
	}
	for _, f := range c.Followers(leader) {
		if err := harness.WaitFor(10*time.Second, func() error {
			if got := authDo(f, "new", "SET", "k3-"+f.ID, "v3"); got != "+OK\r\n" {
				return fmt.Errorf("SET through %s after requirepass changed: %q", f.ID, got)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if got := authDo(leader, "new", "GET", "k3-"+follower.ID); got != bulk("v3") {
		t.Fatalf("GET on the leader: %q", got)
	}
	for _, n := range c.Nodes {
		authDo(n, "new", "CONFIG", "SET", "requirepass", "") // the harness's probes do not AUTH
	}

	// Failover: the leader dies, another is elected over authenticated
	// links, and writes through its followers go on.
	leader.Kill()
	var next *harness.Node
	if err := harness.WaitFor(20*time.Second, func() error {
		l, err := c.Leader(200 * time.Millisecond)
		next = l
		return err
	}); err != nil {
		t.Fatalf("no new leader: %v\n%s", err, c.Logs())
	}
	for _, f := range c.Followers(next) {
		if f.Running() {
			must(t, f, "+OK\r\n", "SET", "after", "failover")
		}
	}
	must(t, next, bulk("failover"), "GET", "after")
}

// A node whose Raft or RESP bind address is not loopback refuses to start
// without a secret or mutual TLS, before it binds anything (10.255.255.1
// is not this machine's: binding it would fail differently).
func TestE2E_Links_NonLoopbackWithoutAuthenticationRefusesToStart(t *testing.T) {
	b := bin(t)
	dir := t.TempDir()
	base := []string{"-dir", filepath.Join(dir, "data"), "-raftdir", filepath.Join(dir, "raft")}
	for _, args := range [][]string{
		{"-raft", "10.255.255.1:7000", "-tcp", harness.FreeAddr(t)},
		{"-raft", harness.FreeAddr(t), "-tcp", "10.255.255.1:7001"},
		{"-raft", "0.0.0.0:0", "-tcp", harness.FreeAddr(t)},
	} {
		out, code := harness.RunOnce(t, b, append(base, args...)...)
		if code == 0 || !strings.Contains(out, "--cluster-secret-file") || !strings.Contains(out, "--tls-cluster") || !strings.Contains(out, "not a loopback address") {
			t.Fatalf("%q: exit %d, output:\n%s", args, code, out)
		}
	}
	// With a secret the check passes, and binding 10.255.255.1 fails.
	args := append(append(base, "-raft", "10.255.255.1:7000", "-tcp", harness.FreeAddr(t)), secretFile(t, "a-secret-of-sixteen-bytes-or-more")...)
	out, code := harness.RunOnce(t, b, args...)
	if code == 0 || strings.Contains(out, "not a loopback address") || !strings.Contains(out, "assign requested address") {
		t.Fatalf("with a secret: exit %d, output:\n%s", code, out)
	}
	// A secret too short is refused.
	args = append(append(base, "-tcp", harness.FreeAddr(t)), "--cluster-secret", "short")
	if out, code := harness.RunOnce(t, b, args...); code == 0 || !strings.Contains(out, "too short") {
		t.Fatalf("short secret: exit %d, output:\n%s", code, out)
	}
}

// The secret never shows: not in the log, INFO or CONFIG GET.
func TestE2E_Links_SecretIsNeverShown(t *testing.T) {
	const secret = "do-not-print-this-secret-0123456789"
	n := harness.NewNode(t, bin(t), "quiet", "--cluster-secret", secret, "--log-level", "debug")
	n.Start()
	if err := n.WaitLeader(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	must(t, n, "*0\r\n", "CONFIG", "GET", "cluster-secret")
	for _, args := range [][]string{{"INFO", "everything"}, {"CONFIG", "GET", "*"}} {
		got, err := n.Do(args...)
		if err != nil || strings.Contains(got, secret) {
			t.Fatalf("%q shows the secret (or failed: %v)", args, err)
		}
	}
	n.Stop()
	for _, line := range strings.Split(n.Log(), "\n") {
		// The harness writes each command line it starts as a header.
		if strings.Contains(line, secret) && !strings.HasPrefix(strings.TrimSpace(line), "--- start") {
			t.Fatalf("the log shows the secret: %s", line)
		}
	}
}

// Mutual TLS: nodes with certificates from the cluster's CA link and
// replicate; a node with a certificate from another CA (and even the right
// secret) cannot join, and cannot inject into the Raft port.
func TestE2E_Links_MutualTLS(t *testing.T) {
	b := bin(t)
	ca := tlstest.NewCA(t, t.TempDir())
	rogueCA := tlstest.NewCA(t, t.TempDir())
	secret := secretFile(t, "tls-cluster-secret-0123456789")
	tlsArgs := func(ca *tlstest.CA, name string) []string {
		cert, key := ca.Issue(name, "127.0.0.1")
		return append([]string{"--tls-cluster", "yes", "--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", ca.CertFile}, secret...)
	}
	n1 := harness.NewNode(t, b, "node1", tlsArgs(ca, "node1")...)
	n2 := harness.NewNode(t, b, "node2", tlsArgs(ca, "node2")...)
	c := &harness.Cluster{T: t, Bin: b, Nodes: []*harness.Node{n1, n2}}
	n1.Start()
	if err := n1.WaitLeader(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	n2.Start("-join", n1.RESP)
	if err := c.WaitMembers(2, 20*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
	must(t, n2, "+OK\r\n", "SET", "k", "v")
	must(t, n1, bulk("v"), "GET", "k")

	rogue := harness.NewNode(t, b, "rogue", tlsArgs(rogueCA, "rogue")...)
	rogue.Start("-join", n1.RESP)
	if err := harness.WaitFor(20*time.Second, func() error {
		if !strings.Contains(rogue.Log(), "JOIN through the join target failed") {
			return fmt.Errorf("the rogue's JOIN has not failed yet")
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, rogue.Log())
	}
	info, err := n1.Info()
	if err != nil || info["raft_members"] != "2" {
		t.Fatalf("members after the rogue's JOIN: %s %v\n%s", info["raft_members"], err, n1.Log())
	}
	if info, err := rogue.Info(); err != nil || info["raft_leader_id"] != "" {
		t.Fatalf("the rogue knows a leader: %q %v", info["raft_leader_id"], err)
	}
	if !strings.Contains(rogue.Log(), "cannot reach") {
		t.Fatalf("the rogue's JOIN failed otherwise than by the leader not reaching its Raft port:\n%s", rogue.Log())
	}
	injectRefused(t, n1)
	injectRefused(t, n2)
	must(t, n2, "+OK\r\n", "SET", "k2", "v2")
}

// tlsOnlyNode starts walkerd serving RESP over TLS only (--tcp
// 127.0.0.1:0 --tls-port P) with mutual TLS on Raft links (and the
// cluster secret in extra), and returns it with its TLS address.
func tlsOnlyNode(t *testing.T, b string, ca *tlstest.CA, name string, extra ...string) (*proc.Process, string) {
	t.Helper()
	dir := t.TempDir()
	cert, key := ca.Issue(name, "127.0.0.1")
	addrs := harness.FreeAddrs(t, 2)
	_, port, _ := net.SplitHostPort(addrs[0])
	p := &proc.Process{Bin: b, LogPath: filepath.Join(dir, "walkerd.log")}
	t.Cleanup(p.Kill)
	args := append([]string{"-id", name, "-tcp", "127.0.0.1:0", "--tls-port", port, "-raft", addrs[1],
		"-dir", filepath.Join(dir, "data"), "-raftdir", filepath.Join(dir, "raft"), "--tls-cluster", "yes",
		"--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", ca.CertFile}, extra...)
	if err := p.Start(args...); err != nil {
		t.Fatal(err)
	}
	return p, addrs[0]
}

// tlsDo sends one command over a new TLS connection with cfg.
func tlsDo(addr string, cfg *tls.Config, args ...string) (string, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	if _, err := c.Write(resp.AppendCommand(nil, bs)); err != nil {
		return "", err
	}
	raw, err := resp.ReadRaw(bufio.NewReader(c))
	return string(raw), err
}

// With RESP over TLS only, nodes advertise their TLS addresses and the
// forwarding links dial them with the node's certificate. A node joins,
// and writes go through it. A client whose certificate the same CA signed
// cannot pass as a node: WALKER.LINK without the secret is refused. And
// --tls-cluster without a secret refuses to start, since a certificate
// alone would make anyone the CA signed a node.
func TestE2E_Links_TLSOnlyRESPCluster(t *testing.T) {
	b := bin(t)
	ca := tlstest.NewCA(t, t.TempDir())
	secret := secretFile(t, "tls-only-cluster-secret-0123")
	{
		cert, key := ca.Issue("lone", "127.0.0.1")
		out, code := harness.RunOnce(t, b, "-id", "lone", "-tcp", harness.FreeAddr(t), "-raft", harness.FreeAddr(t),
			"-dir", filepath.Join(t.TempDir(), "d"), "--tls-cluster", "yes",
			"--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", ca.CertFile)
		if code == 0 || !strings.Contains(out, "--tls-cluster yes needs --cluster-secret-file too") {
			t.Fatalf("--tls-cluster without a secret: exit %d, %q", code, out)
		}
	}
	ccert, ckey := ca.Issue("client", "127.0.0.1")
	pair, err := tls.LoadX509KeyPair(ccert, ckey)
	if err != nil {
		t.Fatal(err)
	}
	client := &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{pair}} // the nodes' chains are not what is tested here
	n1, a1 := tlsOnlyNode(t, b, ca, "node1", secret...)
	if err := harness.WaitFor(15*time.Second, func() error {
		got, err := tlsDo(a1, client, "INFO", "raft")
		if err != nil || !strings.Contains(got, "raft_ready:true") {
			return fmt.Errorf("node1 not a ready leader: %q %v", got, err)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, n1.Log())
	}
	n2, a2 := tlsOnlyNode(t, b, ca, "node2", append(secret, "-join", a1)...)
	if err := harness.WaitFor(20*time.Second, func() error {
		got, err := tlsDo(a1, client, "INFO", "raft")
		if err != nil || !strings.Contains(got, "raft_members:2") || strings.Count(got, "suffrage=voter") != 2 {
			return fmt.Errorf("node1's members: %q %v", got, err)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s\n%s", err, n1.Log(), n2.Log())
	}
	if err := harness.WaitFor(10*time.Second, func() error {
		got, err := tlsDo(a2, client, "SET", "k", "through-node2")
		if err != nil || got != "+OK\r\n" {
			return fmt.Errorf("SET through node2: %q %v", got, err)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, n2.Log())
	}
	if got, err := tlsDo(a1, client, "GET", "k"); err != nil || got != bulk("through-node2") {
		t.Fatalf("GET on node1: %q %v", got, err)
	}

	// The client's certificate is the CA's, but it does not have the
	// secret: its link is refused and WALKER.FORWARD stays closed to it.
	tc, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", a1, client)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(tc)
	if err := (&nodelink.Config{}).LinkRESP(tc, r); err == nil {
		t.Fatal("a client certificate with the empty key made a node link")
	}
	tc.Write(resp.AppendCommand(nil, [][]byte{[]byte("WALKER.FORWARD"), []byte("0"), []byte("0"), []byte("default"), []byte("DBSIZE")}))
	if raw, err := resp.ReadRaw(r); err != nil || !strings.HasPrefix(string(raw), "-NOPERM this command is for WalkerDB node links only") {
		t.Fatalf("WALKER.FORWARD after the refused link: %q %v", raw, err)
	}
}

// Without a cluster secret, the start-up requirepass keys the node links:
// the nodes link and forward with it, a local process that lacks it cannot
// link to skip AUTH, nor inject into the Raft port. A standalone node
// takes no link at all.
func TestE2E_Links_WithoutASecretThePasswordKeysTheLinks(t *testing.T) {
	b := bin(t)
	pass := []string{"--requirepass", "links-by-password"}
	n1 := harness.NewNode(t, b, "node1", pass...)
	n2 := harness.NewNode(t, b, "node2", pass...)
	for i, n := range []*harness.Node{n1, n2} {
		args := []string{"-id", n.ID, "-tcp", n.RESP, "-raft", n.Raft, "-dir", filepath.Join(n.Dir, "data"), "-raftdir", filepath.Join(n.Dir, "raft")}
		if i == 1 {
			args = append(args, "-join", n1.RESP)
		}
		if err := n.Process.Start(append(args, n.Args...)...); err != nil {
			t.Fatal(err)
		}
	}
	if err := harness.WaitFor(20*time.Second, func() error {
		cn, err := harness.Dial(n2.RESP)
		if err != nil {
			return err
		}
		defer cn.Close()
		cn.Do("AUTH", "links-by-password")
		if got, err := cn.Do("SET", "k", "through-node2"); err != nil || got != "+OK\r\n" {
			return fmt.Errorf("SET through node2: %q %v", got, err)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s\n%s", err, n1.Log(), n2.Log())
	}
	if !strings.Contains(n1.Log(), "node links are keyed with the start-up requirepass") {
		t.Fatalf("no WARN naming the password as the links' key:\n%s", n1.Log())
	}
	for _, n := range []*harness.Node{n1, n2} {
		c, err := net.DialTimeout("tcp", n.RESP, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		if err := (&nodelink.Config{}).LinkRESP(c, r); err == nil {
			t.Fatalf("%s: a link with the empty key was taken", n.ID)
		}
		c.Write(resp.AppendCommand(nil, [][]byte{[]byte("GET"), []byte("k")}))
		if raw, _ := resp.ReadRaw(r); !strings.HasPrefix(string(raw), "-NOAUTH") {
			t.Fatalf("%s: GET after a refused link: %q", n.ID, raw)
		}
		c.Close()
		if _, err := inject(n.Raft, 1, 1, true); err == nil {
			t.Fatalf("%s: an injection with the empty key was answered", n.ID)
		}
	}

	solo := harness.NewNode(t, b, "solo", "--standalone", "--requirepass", "solo-pw")
	if err := solo.Process.Start("-id", "solo", "-tcp", solo.RESP, "-dir", filepath.Join(solo.Dir, "data"), "--standalone", "--requirepass", "solo-pw"); err != nil {
		t.Fatal(err)
	}
	if err := harness.WaitFor(10*time.Second, func() error {
		c, err := net.DialTimeout("tcp", solo.RESP, 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		err = (&nodelink.Config{}).LinkRESP(c, bufio.NewReader(c))
		if err == nil || !strings.Contains(err.Error(), "takes no node links") {
			return fmt.Errorf("a link to a standalone node: %v", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
