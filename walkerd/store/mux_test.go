package store

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/walkerdb/walkerdb/walkerd/nodelink"
)

func newTestMux(t *testing.T) *Mux { t.Helper(); return newLinkedMux(t, nil) }

func newLinkedMux(t *testing.T, links *nodelink.Config) *Mux {
	t.Helper()
	m, err := NewMux("127.0.0.1:0", "", links, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func testLayer(t *testing.T, m *Mux, group string) *groupLayer {
	t.Helper()
	g, err := m.Layer(group)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// onMux returns a tweak that opens a store as group on m.
func onMux(m *Mux, group string) func(*Config) {
	return func(c *Config) { c.Mux, c.Group, c.RaftAddr = m, group, m.Addr().String() }
}

// waitValue waits until GET key on s's engine answers want (RESP2).
func waitValue(t *testing.T, s *Store, key, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := get(t, s.fsm, key)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: GET %s = %q, want %q", s.cfg.ID, key, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// acceptOne accepts one stream on l within 5 s and reads len(want) bytes
// from it.
func acceptOne(t *testing.T, l net.Listener, want string) {
	t.Helper()
	got := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			got <- c
		}
	}()
	select {
	case c := <-got:
		defer c.Close()
		buf := make([]byte, len(want))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != want {
			t.Fatalf("accepted stream read %q, %v; want %q", buf, err, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no stream accepted")
	}
}

// Two Raft groups over one mux per node: each elects its own leader,
// replicates its own writes to every node and none of the other's, and
// goes on when the other group is shut on one node; that node then
// refuses the closed group's streams at once.
func TestMux_TwoGroupsOnThreeNodesReplicateIndependently(t *testing.T) {
	p := newProbes()
	muxes := []*Mux{newTestMux(t), newTestMux(t), newTestMux(t)}
	ids := []string{"n1", "n2", "n3"}
	groups := map[string][]*Store{}
	for gi, group := range []string{"g1", "g2"} {
		first := gi * 2 // g1 bootstraps on n1, g2 on n3
		order := []int{first, 1, 2 - first}
		nodes := make([]*Store, 3)
		nodes[first] = openMember(t, p, ids[first], true, onMux(muxes[first], group))
		waitReady(t, nodes[first])
		for _, i := range order[1:] {
			nodes[i] = openMember(t, p, ids[i], false, onMux(muxes[i], group))
			if err := nodes[first].Join(ids[i], muxes[i].Addr().String(), nodes[i].cfg.RESPAddr); err != nil {
				t.Fatalf("%s: join %s: %v", group, ids[i], err)
			}
		}
		waitVoters(t, nodes[first], 3, 15*time.Second)
		groups[group] = nodes
	}
	if !groups["g1"][0].IsLeader() || !groups["g2"][2].IsLeader() {
		t.Fatal("the bootstrapping nodes do not lead their groups")
	}
	if err := set(groups["g1"][0], "k", "one"); err != nil {
		t.Fatal(err)
	}
	if err := set(groups["g2"][2], "k", "two"); err != nil {
		t.Fatal(err)
	}
	for i := range ids {
		waitValue(t, groups["g1"][i], "k", "$3\r\none\r\n")
		waitValue(t, groups["g2"][i], "k", "$3\r\ntwo\r\n")
	}

	// Shut g1 on n3: its layer closes, the mux stays.
	closeMember(t, p, groups["g1"][2])
	if err := set(groups["g2"][2], "k2", "after"); err != nil {
		t.Fatalf("g2 write after g1 closed on n3: %v", err)
	}
	if err := set(groups["g1"][0], "k2", "quorum"); err != nil {
		t.Fatalf("g1 write with two of three: %v", err)
	}
	for i := range ids {
		waitValue(t, groups["g2"][i], "k2", "$5\r\nafter\r\n")
	}
	waitValue(t, groups["g1"][1], "k2", "$6\r\nquorum\r\n")

	// n1's g1 dials n3: refused at once, with a reason.
	start := time.Now()
	_, err := groups["g1"][0].stream.Dial(raft.ServerAddress(muxes[2].Addr().String()), 10*time.Second)
	if !errors.Is(err, ErrNoSuchGroup) || !strings.Contains(err.Error(), "raft group g1 at "+muxes[2].Addr().String()) {
		t.Fatalf("dial of g1 on n3 after it closed: %v; want ErrNoSuchGroup naming g1 and n3", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("refused dial took %v", d)
	}
}

// A dial to a group the far node does not host fails at once with
// ErrNoSuchGroup, and JOIN of such a node is refused; a hosted group on
// the same mux accepts. The header follows nodelink's handshake.
func TestMux_ADialToAGroupNotHostedFailsFast(t *testing.T) {
	secret := &nodelink.Config{Secret: []byte("a-cluster-secret-of-some-length"), Timeout: 2 * time.Second}
	a, b := newLinkedMux(t, secret), newLinkedMux(t, secret)
	ga := testLayer(t, a, "g7")
	gb := testLayer(t, b, "placement")
	addr := raft.ServerAddress(b.Addr().String())
	start := time.Now()
	c, err := ga.Dial(addr, 10*time.Second)
	if err == nil {
		c.Close()
		t.Fatal("dial of g7 on a node without it succeeded")
	}
	if want := "raft group g7 at " + string(addr) + ": store: raft group not hosted by the node"; !errors.Is(err, ErrNoSuchGroup) || err.Error() != want {
		t.Fatalf("dial error %q, want %q", err, want)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("refused dial took %v", d)
	}

	pa := testLayer(t, a, "placement")
	c, err = pa.Dial(addr, time.Second)
	if err != nil {
		t.Fatalf("dial of a hosted group: %v", err)
	}
	defer c.Close()
	c.Write([]byte("raft bytes"))
	acceptOne(t, gb, "raft bytes")

	// JOIN checks the joiner hosts the group.
	p := newProbes()
	s := openMember(t, p, "n1", true, onMux(a, "g1"))
	waitReady(t, s)
	err = s.Join("n2", b.Addr().String(), "127.0.0.1:23997")
	if err == nil || !strings.Contains(err.Error(), "raft group not hosted by the node") {
		t.Fatalf("JOIN of a node without the group: %v", err)
	}
}

// A stream without a header, from a node that predates the mux, reaches
// the default group with its first byte; a real one (a store on its own
// listener leading g1) replicates to a store on a mux.
func TestMux_AStreamWithoutAHeaderReachesTheDefaultGroup(t *testing.T) {
	m := newTestMux(t)
	g1 := testLayer(t, m, "g1")
	testLayer(t, m, "g2")
	legacy := newTestStream(t, nil, io.Discard)
	addr := raft.ServerAddress(m.Addr().String())

	// No default yet: closed.
	c, err := legacy.Dial(addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte{0, 'x'})
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("headerless stream without a default group: read %d, %v; want it closed", n, err)
	}
	c.Close()

	m.SetDefault("g1")
	c, err = legacy.Dial(addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte{0, 0x85, 0xa4, 'T', 'e', 'r', 'm'}) // rpcAppendEntries, msgpack
	acceptOne(t, g1, "\x00\x85\xa4Term")

	// Raft itself: a leader on its own listener, a follower on a mux.
	p := newProbes()
	leader := openMember(t, p, "n1", true, nil)
	waitReady(t, leader)
	m2 := newTestMux(t)
	m2.SetDefault("g1")
	follower := openMember(t, p, "n2", false, onMux(m2, "g1"))
	if err := leader.Join("n2", m2.Addr().String(), follower.cfg.RESPAddr); err != nil {
		t.Fatal(err)
	}
	waitVoters(t, leader, 2, 15*time.Second)
	if err := set(leader, "k", "v"); err != nil {
		t.Fatal(err)
	}
	waitValue(t, follower, "k", "$1\r\nv\r\n")
}

// The other way round: the default group on a mux dials a node that
// predates it with no header, once that node has closed the stream that
// had one; any other group gets an error.
func TestMux_TheDefaultGroupReachesANodeWithoutTheMux(t *testing.T) {
	p := newProbes()
	m := newTestMux(t)
	m.SetDefault("g1")
	leader := openMember(t, p, "n1", true, onMux(m, "g1"))
	waitReady(t, leader)
	follower := openMember(t, p, "n2", false, nil)
	if err := leader.Join("n2", follower.cfg.RaftAddr, follower.cfg.RESPAddr); err != nil {
		t.Fatal(err)
	}
	waitVoters(t, leader, 2, 15*time.Second)
	if err := set(leader, "k", "v"); err != nil {
		t.Fatal(err)
	}
	waitValue(t, follower, "k", "$1\r\nv\r\n")

	g2 := testLayer(t, m, "g2")
	if _, err := g2.Dial(raft.ServerAddress(follower.cfg.RaftAddr), time.Second); err == nil ||
		!strings.Contains(err.Error(), "no status after the group header") {
		t.Fatalf("g2 dial of a node without the mux: %v", err)
	}
}

// Closing one group's layer stops its accepting only: its dialers are
// refused, the other group on the mux accepts, and the group can be
// registered again.
func TestMux_ClosingOneGroupLeavesTheOthers(t *testing.T) {
	a, b := newTestMux(t), newTestMux(t)
	ga1, ga2 := testLayer(t, a, "g1"), testLayer(t, a, "g2")
	gb1, gb2 := testLayer(t, b, "g1"), testLayer(t, b, "g2")
	addr := raft.ServerAddress(b.Addr().String())

	if _, err := b.Layer("g1"); err == nil {
		t.Fatal("g1 registered twice")
	}
	if _, err := b.Layer("G_1"); err == nil {
		t.Fatal("a group id outside [a-z0-9-] registered")
	}
	gb1.Close()
	if c, err := gb1.Accept(); err == nil || c != nil {
		t.Fatalf("Accept of a closed layer: %v, %v", c, err)
	}
	if _, err := ga1.Dial(addr, time.Second); !errors.Is(err, ErrNoSuchGroup) {
		t.Fatalf("dial of a closed group: %v, want ErrNoSuchGroup", err)
	}
	c, err := ga2.Dial(addr, time.Second)
	if err != nil {
		t.Fatalf("dial of the group left open: %v", err)
	}
	defer c.Close()
	c.Write([]byte("g2"))
	acceptOne(t, gb2, "g2")

	again := testLayer(t, b, "g1")
	c1, err := ga1.Dial(addr, time.Second)
	if err != nil {
		t.Fatalf("dial of a group registered again: %v", err)
	}
	defer c1.Close()
	c1.Write([]byte("g1"))
	acceptOne(t, again, "g1")

	// Closing the mux closes every layer.
	b.Close()
	if _, err := gb2.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after the mux closed: %v", err)
	}
	if _, err := b.Layer("g3"); err == nil {
		t.Fatal("Layer on a closed mux")
	}
}
