// Package harness drives real walkerd processes for end-to-end tests: it
// builds the binary once, starts nodes on free loopback ports, kills,
// pauses and restarts them by pid (through internal/proc), and waits for
// conditions with deadlines. Every process it starts is killed when the
// test ends.
package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walkerdb/walkerdb/internal/proc"
	"github.com/walkerdb/walkerdb/internal/resp"
)

// Build compiles the Go main package in dir into a temporary binary and
// returns its path. Builds are cached per package for the test process.
func Build(t testing.TB, dir string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if bin, ok := built[abs]; ok {
		return bin
	}
	bin, err := proc.Build(abs)
	if err != nil {
		t.Fatal(err)
	}
	built[abs] = bin
	return bin
}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	addr, err := proc.FreeAddr("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// FreeAddrs returns n loopback addresses with distinct ports that were
// free a moment ago (proc.FreeAddrs).
func FreeAddrs(t testing.TB, n int) []string {
	t.Helper()
	addrs, err := proc.FreeAddrs("127.0.0.1", n)
	if err != nil {
		t.Fatal(err)
	}
	return addrs
}

// Node is one walkerd process. Its embedded Process offers Pid, Running,
// Paused, Kill, Pause, Resume and Log; Node's Start and Stop wrap the
// Process's with the node's flags, a wait for PING and a default timeout.
type Node struct {
	ID, RESP, Raft string
	Dir            string // holds data/ and raft/
	Args           []string

	*proc.Process // logs to Dir + ".log"
	t             testing.TB
}

// NewNode prepares a node with fresh ports and a directory under the
// test's temporary directory; Start starts it. The node is killed when
// the test ends.
func NewNode(t testing.TB, bin, id string, args ...string) *Node {
	dir := filepath.Join(t.TempDir(), id)
	// Two distinct ports: two FreeAddr calls in a row may return one.
	addrs := FreeAddrs(t, 2)
	n := &Node{ID: id, RESP: addrs[0], Raft: addrs[1], Dir: dir, Args: args, t: t,
		Process: &proc.Process{Bin: bin, LogPath: dir + ".log"}}
	t.Cleanup(n.Kill)
	return n
}

// Start runs the node with its flags plus extra ones, and waits until its
// RESP port answers PING.
func (n *Node) Start(extra ...string) {
	n.t.Helper()
	args := append([]string{
		"-id", n.ID, "-tcp", n.RESP, "-raft", n.Raft,
		"-dir", filepath.Join(n.Dir, "data"), "-raftdir", filepath.Join(n.Dir, "raft"),
	}, n.Args...)
	if err := n.Process.Start(append(args, extra...)...); err != nil {
		n.t.Fatalf("node %s: %v", n.ID, err)
	}
	if err := n.WaitReady(15 * time.Second); err != nil {
		n.t.Fatalf("node %s: %v\n%s", n.ID, err, n.Log())
	}
}

// Stop sends SIGTERM and waits for a clean exit (SIGKILL after 30 s).
func (n *Node) Stop() { n.Process.Stop(30 * time.Second) }

// Do sends one command to the node on a fresh connection and returns the
// raw reply.
func (n *Node) Do(args ...string) (string, error) {
	return Do(n.RESP, args...)
}

// Do sends one command to addr on a fresh connection.
func Do(addr string, args ...string) (string, error) {
	c, err := Dial(addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.Do(args...)
}

// Conn is one client connection for commands that need their own
// connection (MULTI, WATCH).
type Conn struct {
	c net.Conn
	r *bufio.Reader
}

// Dial opens a connection to addr.
func Dial(addr string) (*Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &Conn{c: c, r: bufio.NewReader(c)}, nil
}

// Do sends one command and reads its reply.
func (c *Conn) Do(args ...string) (string, error) {
	c.c.SetDeadline(time.Now().Add(10 * time.Second))
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	if _, err := c.c.Write(resp.AppendCommand(nil, bs)); err != nil {
		return "", err
	}
	raw, err := resp.ReadRaw(c.r)
	return string(raw), err
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

// DoPipeline sends commands in one write on one connection and returns
// their replies in order.
func DoPipeline(addr string, cmds [][]string) ([]string, error) {
	c, err := Dial(addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.c.SetDeadline(time.Now().Add(10 * time.Second))
	var buf []byte
	for _, args := range cmds {
		bs := make([][]byte, len(args))
		for i, a := range args {
			bs[i] = []byte(a)
		}
		buf = resp.AppendCommand(buf, bs)
	}
	if _, err := c.c.Write(buf); err != nil {
		return nil, err
	}
	out := make([]string, len(cmds))
	for i := range cmds {
		raw, err := resp.ReadRaw(c.r)
		if err != nil {
			return out, err
		}
		out[i] = string(raw)
	}
	return out, nil
}

// WaitReady waits until the node answers PING: PONG, or LOADING while it
// catches up with the cluster after its start (a node that cannot catch
// up, its join target wrong or its quorum down, answers LOADING until it
// can).
func (n *Node) WaitReady(timeout time.Duration) error {
	return WaitFor(timeout, func() error {
		if !n.Running() {
			return errors.New("process exited")
		}
		r, err := n.Do("PING")
		if err != nil {
			return err
		}
		if r != "+PONG\r\n" && !strings.HasPrefix(r, "-LOADING") {
			return fmt.Errorf("PING answered %q", r)
		}
		return nil
	})
}

// WaitLeader waits until this node leads and is ready for consistent reads.
func (n *Node) WaitLeader(timeout time.Duration) error {
	return WaitFor(timeout, func() error {
		info, err := n.Info()
		if err != nil {
			return err
		}
		if info["raft_state"] != "leader" || info["raft_ready"] != "true" {
			return fmt.Errorf("%s is %s (ready %s)", n.ID, info["raft_state"], info["raft_ready"])
		}
		return nil
	})
}

// Info returns the fields of INFO raft as a map.
func (n *Node) Info() (map[string]string, error) {
	raw, err := n.Do("INFO", "raft")
	if err != nil {
		return nil, err
	}
	v, _, err := resp.Parse([]byte(raw))
	if err == nil && v.Kind != resp.KindBulk {
		err = fmt.Errorf("INFO raft answered %v", v)
	}
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(v.Str), "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m, nil
}

// WaitFor polls fn until it returns nil or the timeout passes, and then
// returns fn's last error.
func WaitFor(timeout time.Duration, fn func() error) error { return proc.WaitFor(timeout, fn) }

// Cluster is a set of nodes.
type Cluster struct {
	T     testing.TB
	Bin   string
	Nodes []*Node
}

// StartCluster starts n nodes: the first bootstraps, the rest join it.
func StartCluster(t testing.TB, bin string, n int, args ...string) *Cluster {
	c := &Cluster{T: t, Bin: bin}
	for i := range n {
		node := NewNode(t, bin, "node"+strconv.Itoa(i+1), args...)
		c.Nodes = append(c.Nodes, node)
		if i == 0 {
			node.Start()
			if _, err := c.Leader(10 * time.Second); err != nil {
				t.Fatalf("first node never led: %v\n%s", err, node.Log())
			}
		} else {
			node.Start("-join", c.Nodes[0].RESP)
		}
	}
	if err := c.WaitMembers(n, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	return c
}

// Leader returns the node that all running nodes agree leads and that
// calls itself leader.
func (c *Cluster) Leader(timeout time.Duration) (*Node, error) {
	var leader *Node
	err := WaitFor(timeout, func() error {
		leader = nil
		ids := map[string]bool{}
		for _, n := range c.Nodes {
			if !n.Running() {
				continue
			}
			info, err := n.Info()
			if err != nil {
				continue
			}
			ids[info["raft_leader_id"]] = true
			if info["raft_state"] == "leader" && info["raft_ready"] == "true" {
				leader = n
			}
		}
		if leader == nil {
			return errors.New("no ready leader")
		}
		if len(ids) != 1 || !ids[leader.ID] {
			return fmt.Errorf("nodes disagree on the leader: %v", ids)
		}
		return nil
	})
	return leader, err
}

// WaitMembers waits until the leader's configuration has n members, all
// voters (a node joins as a non-voter and the leader promotes it once it
// has caught up), and every running node knows the leader's RESP address.
func (c *Cluster) WaitMembers(n int, timeout time.Duration) error {
	return WaitFor(timeout, func() error {
		l, err := c.Leader(time.Second)
		if err != nil {
			return err
		}
		info, err := l.Info()
		if err != nil {
			return err
		}
		if info["raft_members"] != strconv.Itoa(n) {
			return fmt.Errorf("%s members, want %d", info["raft_members"], n)
		}
		if err := AllVoters(info); err != nil {
			return err
		}
		for _, node := range c.Nodes {
			if !node.Running() {
				continue
			}
			ni, err := node.Info()
			if err != nil {
				return err
			}
			if ni["raft_leader_addr"] != l.RESP {
				return fmt.Errorf("%s names leader address %q, want %q", node.ID, ni["raft_leader_addr"], l.RESP)
			}
		}
		return nil
	})
}

// AllVoters checks that every member INFO raft lists (raft_member<i>
// lines) is a voter.
func AllVoters(info map[string]string) error {
	n, _ := strconv.Atoi(info["raft_members"])
	for i := range n {
		line := info["raft_member"+strconv.Itoa(i)]
		if !strings.Contains(line, ",suffrage=voter") {
			return fmt.Errorf("member %s is not a voter yet", line)
		}
	}
	return nil
}

// Followers returns the running nodes other than the leader.
func (c *Cluster) Followers(leader *Node) []*Node {
	var fs []*Node
	for _, n := range c.Nodes {
		if n != leader && n.Running() {
			fs = append(fs, n)
		}
	}
	return fs
}

// Logs joins every node's output, for a failing test.
func (c *Cluster) Logs() string {
	var b strings.Builder
	for _, n := range c.Nodes {
		fmt.Fprintf(&b, "===== %s (%s)\n%s\n", n.ID, n.RESP, n.Log())
	}
	return b.String()
}

// RunOnce runs bin with args to completion (at most 20 s) and returns its
// combined output and exit code.
func RunOnce(t testing.TB, bin string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}
