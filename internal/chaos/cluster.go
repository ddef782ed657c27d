package chaos

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/walkerdb/walkerdb/internal/proc"
)

// Node is one walkerd process of a chaos cluster. Node i (0-based) owns
// the loopback IP 127.0.0.(11+i): its RESP and Raft ports, and the two
// proxies in front of them, all bind there, so every connection it opens
// to another node comes from its own IP. Its embedded Process offers Pid,
// Running, Paused, Kill, Stop, Pause, Resume and LogPath; Node's Start
// wraps the Process's with the node's flags and a wait for PING.
type Node struct {
	Index     int
	ID        string
	IP        string
	RESP      string // walkerd's RESP port: the clients' way in
	Raft      string // walkerd's Raft port
	RaftProxy string // what the other nodes dial for Raft (--raft-advertise)
	RESPProxy string // what the other nodes forward to (--advertise)
	Dir       string // data/ and raft/

	*proc.Process
	args []string
}

// NodeIP is the loopback IP of node i.
func NodeIP(i int) string { return "127.0.0.1" + strconv.Itoa(i+1) }

// Start starts the process (it must not be running) with the node's flags
// plus extra, and waits up to timeout for it to answer PING.
func (n *Node) Start(timeout time.Duration, extra ...string) error {
	args := append([]string{
		"-id", n.ID, "-tcp", n.RESP, "-raft", n.Raft,
		"--raft-advertise", n.RaftProxy, "--advertise", n.RESPProxy,
		"-dir", filepath.Join(n.Dir, "data"), "-raftdir", filepath.Join(n.Dir, "raft"),
	}, n.args...)
	if err := n.Process.Start(append(args, extra...)...); err != nil {
		return fmt.Errorf("%s: %w", n.ID, err)
	}
	return n.WaitReady(timeout)
}

// Do sends one command on a fresh connection.
func (n *Node) Do(timeout time.Duration, args ...string) (Value, error) {
	c := NewClient(n.RESP, timeout)
	defer c.Close()
	return c.Do1(args...)
}

// WaitReady waits until the node answers PING: PONG, or LOADING while it
// catches up with the cluster after its start (with its quorum down, until
// the other nodes are back).
func (n *Node) WaitReady(timeout time.Duration) error {
	return proc.WaitFor(timeout, func() error {
		if !n.Running() {
			return fmt.Errorf("%s: process exited", n.ID)
		}
		v, err := n.Do(time.Second, "PING")
		if err != nil {
			return err
		}
		if string(v.Str) != "PONG" && !strings.HasPrefix(string(v.Str), "LOADING") {
			return fmt.Errorf("%s: PING answered %v", n.ID, v)
		}
		return nil
	})
}

// Info returns INFO raft as a map.
func (n *Node) Info(timeout time.Duration) (map[string]string, error) {
	v, err := n.Do(timeout, "INFO", "raft")
	if err != nil {
		return nil, err
	}
	if v.Kind == '-' {
		return nil, errors.New(string(v.Str))
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(v.Str), "\r\n") {
		if k, val, ok := strings.Cut(line, ":"); ok {
			m[k] = val
		}
	}
	return m, nil
}

// Digest returns WALKER.DIGEST's "<keys> <sha256>".
func (n *Node) Digest(timeout time.Duration) (string, error) {
	v, err := n.Do(timeout, "WALKER.DIGEST")
	if err != nil {
		return "", err
	}
	if v.Kind != '$' {
		return "", fmt.Errorf("WALKER.DIGEST: %v", v)
	}
	return string(v.Str), nil
}

// ClusterOptions configures a Cluster.
type ClusterOptions struct {
	Bin   string   // the walkerd binary
	Dir   string   // nodes' directories and logs go under it
	Nodes int      // 3 or 5
	Args  []string // extra walkerd flags for every node
}

// Cluster is a set of walkerd processes behind the proxies of one Net.
type Cluster struct {
	Nodes []*Node
	Net   *Net
}

// StartCluster starts o.Nodes nodes: the first bootstraps, the others join
// it through its RESP proxy. On error every process started is killed.
func StartCluster(o ClusterOptions) (c *Cluster, err error) {
	nodeOf := map[string]int{}
	for i := range o.Nodes {
		nodeOf[NodeIP(i)] = i
	}
	c = &Cluster{Net: NewNet(nodeOf)}
	defer func() {
		if err != nil {
			c.Close()
			c = nil
		}
	}()
	for i := range o.Nodes {
		ip := NodeIP(i)
		id := "n" + strconv.Itoa(i+1)
		n := &Node{Index: i, ID: id, IP: ip, Dir: filepath.Join(o.Dir, id), args: o.Args,
			Process: &proc.Process{Bin: o.Bin, LogPath: filepath.Join(o.Dir, id+".log")}}
		if err := os.MkdirAll(n.Dir, 0o755); err != nil {
			return c, err
		}
		addrs, err := proc.FreeAddrs(ip, 2) // distinct: see FreeAddrs
		if err != nil {
			return c, fmt.Errorf("loopback IP %s: %w", ip, err)
		}
		n.RESP, n.Raft = addrs[0], addrs[1]
		rp, err := c.Net.NewProxy(net.JoinHostPort(ip, "0"), n.Raft, i)
		if err != nil {
			return c, err
		}
		qp, err := c.Net.NewProxy(net.JoinHostPort(ip, "0"), n.RESP, i)
		if err != nil {
			return c, err
		}
		n.RaftProxy, n.RESPProxy = rp.Addr(), qp.Addr()
		c.Nodes = append(c.Nodes, n)
	}
	first := c.Nodes[0]
	if err := first.Start(20 * time.Second); err != nil {
		return c, err
	}
	if _, err := c.WaitLeader(20 * time.Second); err != nil {
		return c, fmt.Errorf("the first node never led: %w", err)
	}
	for _, n := range c.Nodes[1:] {
		if err := n.Start(20*time.Second, "-join", first.RESPProxy); err != nil {
			return c, err
		}
	}
	if err := c.WaitMembers(o.Nodes, 30*time.Second); err != nil {
		return c, err
	}
	return c, nil
}

// Close kills every node by pid and closes the network.
func (c *Cluster) Close() {
	var wg sync.WaitGroup
	for _, n := range c.Nodes {
		wg.Add(1)
		go func() { defer wg.Done(); n.Kill() }()
	}
	wg.Wait()
	c.Net.Close()
}

// LeaderInfo is what one node says about itself.
type LeaderInfo struct {
	Node  *Node
	Term  uint64
	Ready bool
}

// Leaders returns the running, unpaused nodes that call themselves leader,
// newest term first.
func (c *Cluster) Leaders(timeout time.Duration) []LeaderInfo {
	var mu sync.Mutex
	var out []LeaderInfo
	var wg sync.WaitGroup
	for _, n := range c.Nodes {
		if !n.Running() || n.Paused() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			info, err := n.Info(timeout)
			if err != nil || info["raft_state"] != "leader" {
				return
			}
			term, _ := strconv.ParseUint(info["raft_term"], 10, 64)
			mu.Lock()
			out = append(out, LeaderInfo{Node: n, Term: term, Ready: info["raft_ready"] == "true"})
			mu.Unlock()
		}()
	}
	wg.Wait()
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Term > out[j-1].Term; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Leader returns the node that leads in the newest term, or nil.
func (c *Cluster) Leader() *Node {
	ls := c.Leaders(time.Second)
	if len(ls) == 0 {
		return nil
	}
	return ls[0].Node
}

// WaitLeader waits until one node leads, is ready, and every other running
// node names it.
func (c *Cluster) WaitLeader(timeout time.Duration) (*Node, error) {
	var leader *Node
	err := proc.WaitFor(timeout, func() error {
		ls := c.Leaders(time.Second)
		if len(ls) == 0 || !ls[0].Ready {
			return errors.New("no ready leader")
		}
		leader = ls[0].Node
		for _, n := range c.Nodes {
			if !n.Running() || n.Paused() {
				continue
			}
			info, err := n.Info(time.Second)
			if err != nil {
				return err
			}
			if info["raft_leader_id"] != leader.ID {
				return fmt.Errorf("%s names leader %q, want %s", n.ID, info["raft_leader_id"], leader.ID)
			}
		}
		return nil
	})
	return leader, err
}

// WaitMembers waits until the leader's configuration has want members, all
// voters (a node joins as a non-voter until the leader promotes it), and
// every running node knows the leader's RESP address.
func (c *Cluster) WaitMembers(want int, timeout time.Duration) error {
	return proc.WaitFor(timeout, func() error {
		l, err := c.WaitLeader(time.Second)
		if err != nil {
			return err
		}
		info, err := l.Info(time.Second)
		if err != nil {
			return err
		}
		if info["raft_members"] != strconv.Itoa(want) {
			return fmt.Errorf("%s members, want %d", info["raft_members"], want)
		}
		for i := range want {
			if m := info["raft_member"+strconv.Itoa(i)]; !strings.Contains(m, ",suffrage=voter") {
				return fmt.Errorf("member %s is not a voter yet", m)
			}
		}
		for _, n := range c.Nodes {
			if !n.Running() {
				continue
			}
			ni, err := n.Info(time.Second)
			if err != nil {
				return err
			}
			if ni["raft_leader_addr"] != l.RESPProxy {
				return fmt.Errorf("%s names leader address %q, want %q", n.ID, ni["raft_leader_addr"], l.RESPProxy)
			}
		}
		return nil
	})
}

// Members returns the ids in the configuration as node n sees it.
func (n *Node) Members(timeout time.Duration) ([]string, error) {
	v, err := n.Do(timeout, "RAFT.MEMBERS")
	if err != nil {
		return nil, err
	}
	if v.Kind != '*' {
		return nil, fmt.Errorf("RAFT.MEMBERS: %v", v)
	}
	var ids []string
	for _, m := range v.Elems {
		if len(m.Elems) > 0 {
			ids = append(ids, string(m.Elems[0].Str))
		}
	}
	return ids, nil
}

// CatchUp waits until every running node has applied the log up to the
// leader's commit index (as the leader reports it once known), and returns
// the time since began, or -1 after timeout.
func (c *Cluster) CatchUp(began time.Time, timeout time.Duration) time.Duration {
	var target uint64
	err := proc.WaitFor(timeout, func() error {
		if target == 0 {
			l := c.Leader()
			if l == nil {
				return errors.New("no leader")
			}
			info, err := l.Info(time.Second)
			if err != nil {
				return err
			}
			if target, err = strconv.ParseUint(info["raft_commit_index"], 10, 64); err != nil || target == 0 {
				target = 0
				return errors.New("no commit index")
			}
		}
		for _, n := range c.Nodes {
			if !n.Running() {
				continue
			}
			info, err := n.Info(time.Second)
			if err != nil {
				return err
			}
			if a, _ := strconv.ParseUint(info["raft_log_applied_index"], 10, 64); a < target {
				return fmt.Errorf("%s applied %d < %d", n.ID, a, target)
			}
		}
		return nil
	})
	if err != nil {
		return -1
	}
	return time.Since(began)
}
