package shard

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/walkerdb/walkerdb/walkerd/backend"
	"github.com/walkerdb/walkerdb/walkerd/placement"
)

// twoGroups: node a leads g1 (0-8191) and is a replica of g2; b leads g2
// (8192-16383, in two ranges); c holds both; d holds g2 only.
func twoGroups() *Map {
	return &Map{Epoch: 9, Groups: []Group{
		{ID: "g1", Ranges: []Range{{Start: 0, End: 8191}}, Leader: "a", Epoch: 7,
			Members: []Node{{ID: "a", Addr: "127.0.0.1:7001", BusPort: 17001}, {ID: "b", Addr: "127.0.0.1:7002", BusPort: 17002}, {ID: "c", Addr: "127.0.0.1:7003"}}},
		{ID: "g2", Ranges: []Range{{Start: 12000, End: 16383}, {Start: 8192, End: 11999}}, Leader: "b", Epoch: 9,
			Members: []Node{{ID: "b", Addr: "127.0.0.1:7002", BusPort: 17002}, {ID: "c", Addr: "127.0.0.1:7003"}, {ID: "d", Addr: "127.0.0.1:7004"}}},
	}}
}

func TestMap_OwnerAndCounts(t *testing.T) {
	m := twoGroups()
	for slot, want := range map[uint16]string{0: "g1", 8191: "g1", 8192: "g2", 11999: "g2", 12000: "g2", 16383: "g2"} {
		if g := m.Owner(slot); g == nil || g.ID != want {
			t.Errorf("Owner(%d) = %v, want %s", slot, g, want)
		}
	}
	if m.Assigned() != Slots || m.Served() != Slots {
		t.Errorf("Assigned %d, Served %d, want %d", m.Assigned(), m.Served(), Slots)
	}
	m.Groups[1].Leader = ""
	if m.Served() != 8192 {
		t.Errorf("Served with g2 leaderless = %d, want 8192", m.Served())
	}
	m.Groups[1].Ranges = nil
	if m.Owner(9000) != nil || m.Assigned() != 8192 {
		t.Errorf("after g2 lost its slots: Owner(9000) %v, Assigned %d", m.Owner(9000), m.Assigned())
	}
}

func TestNodeID_FortyLowerHexStableAndDistinct(t *testing.T) {
	hex40 := regexp.MustCompile(`^[0-9a-f]{40}$`)
	seen := map[string]bool{}
	for _, id := range []string{"a", "b", "node1", ""} {
		n := NodeID(id)
		if !hex40.MatchString(n) || n != NodeID(id) || seen[n] {
			t.Errorf("NodeID(%q) = %q", id, n)
		}
		seen[n] = true
	}
	if NodeID("g1") == ShardID("g1") {
		t.Error("a node and a shard of the same name share an id")
	}
}

// NodesText: one line per node, masters with their slots in order, a
// node that leads one group and holds another still a master.
func TestMap_NodesText(t *testing.T) {
	got := twoGroups().NodesText("c")
	want := strings.Join([]string{
		NodeID("a") + " 127.0.0.1:7001@17001 master - 0 0 7 connected 0-8191",
		NodeID("b") + " 127.0.0.1:7002@17002 master - 0 0 9 connected 8192-11999 12000-16383",
		NodeID("c") + " 127.0.0.1:7003@0 myself,slave " + NodeID("a") + " 0 0 7 connected",
		NodeID("d") + " 127.0.0.1:7004@0 slave " + NodeID("b") + " 0 0 9 connected",
	}, "\n") + "\n"
	if got != want {
		t.Errorf("NodesText =\n%s\nwant\n%s", got, want)
	}
}

func TestMap_InfoText(t *testing.T) {
	m := twoGroups()
	info := m.InfoText("b")
	for _, want := range []string{"cluster_state:ok\r\n", "cluster_slots_ok:16384\r\n", "cluster_known_nodes:4\r\n",
		"cluster_size:2\r\n", "cluster_current_epoch:9\r\n", "cluster_my_epoch:9\r\n"} {
		if !strings.Contains(info, want) {
			t.Errorf("InfoText lacks %q:\n%s", want, info)
		}
	}
	m.Groups[0].Leader = ""
	info = m.InfoText("b")
	for _, want := range []string{"cluster_state:fail\r\n", "cluster_slots_ok:8192\r\n", "cluster_slots_fail:8192\r\n", "cluster_size:1\r\n"} {
		if !strings.Contains(info, want) {
			t.Errorf("InfoText with g1 leaderless lacks %q:\n%s", want, info)
		}
	}
}

type fakeGroup struct {
	leader  bool
	members []backend.Member
	err     error
}

func (f *fakeGroup) IsLeader() bool { return f.leader }
func (f *fakeGroup) Term() uint64   { return 5 }
func (f *fakeGroup) Members() ([]backend.Member, error) {
	return f.members, f.err
}
func (f *fakeGroup) Leader() (backend.Member, bool, error) {
	for _, m := range f.members {
		if m.Role == "leader" {
			return m, true, nil
		}
	}
	return backend.Member{}, false, nil
}

func TestSingle_RoutesToTheRaftLeaderAndMapsTheConfiguration(t *testing.T) {
	g := &fakeGroup{members: []backend.Member{
		{ID: "a", RaftAddr: "127.0.0.1:8001", RESPAddr: "127.0.0.1:7001", Role: "follower"},
		{ID: "b", RaftAddr: "127.0.0.1:8002", RESPAddr: "127.0.0.1:7002", Role: "leader"},
	}}
	s := NewSingle("a", g)
	if r := s.Route(100); r.Leads || !r.Member || !r.Served || r.Addr != "127.0.0.1:7002" {
		t.Errorf("follower's Route = %+v", r)
	}
	g.leader = true
	if r := s.Route(100); !r.Leads {
		t.Errorf("leader's Route = %+v", r)
	}
	m, err := s.Map()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Groups) != 1 || m.Epoch != 5 || m.Groups[0].Leader != "b" || m.Assigned() != Slots || len(m.Groups[0].Members) != 2 ||
		m.Groups[0].Members[0].BusPort != 8001 {
		t.Errorf("Map = %+v", m)
	}
	g.err = errors.New("raft is shut down")
	if _, err := s.Map(); err == nil {
		t.Error("Map hid the configuration's error")
	}
}

// A node the placement state marks down: fail and disconnected in
// CLUSTER NODES, as cluster.c writes a node with CLUSTER_NODE_FAIL.
func TestMap_NodesTextShowsADownNodeFailed(t *testing.T) {
	m := twoGroups()
	m.Groups[1].Members[2].Down = true // d
	got := m.NodesText("c")
	if want := NodeID("d") + " 127.0.0.1:7004@0 slave,fail " + NodeID("b") + " 0 0 9 disconnected\n"; !strings.HasSuffix(got, want) {
		t.Errorf("NodesText =\n%s\nwant it to end with\n%s", got, want)
	}
}

// WithPlacement: the map's epochs and liveness are the placement state's,
// a group whose new leader is not on record yet takes the newest epoch,
// and a state without its first map changes nothing.
func TestStatic_WithPlacementTakesEpochsAndLiveness(t *testing.T) {
	g := &fakeGroup{members: []backend.Member{
		{ID: "a", RaftAddr: "127.0.0.1:8001", RESPAddr: "127.0.0.1:7001", Role: "leader"},
		{ID: "b", RaftAddr: "127.0.0.1:8002", RESPAddr: "127.0.0.1:7002", Role: "follower"},
	}}
	st := &placement.State{}
	s := NewSingle("a", g).WithPlacement(func() (*placement.State, error) { return st, nil })
	if m, _ := s.Map(); m.Epoch != 5 || m.Groups[0].Epoch != 5 {
		t.Fatalf("before the first map: %+v", m)
	}
	for _, change := range []string{"INIT g1 0 16383", "NODE a x:1 y:1", "NODE b x:2 y:2", "LEADER g1 a 5 a b", "DOWN b", "NODE c x:3 y:3"} {
		var args [][]byte
		for _, f := range strings.Fields(change) {
			args = append(args, []byte(f))
		}
		if _, err := st.Apply(args); err != nil {
			t.Fatal(err)
		}
	}
	m, err := s.Map()
	if err != nil {
		t.Fatal(err)
	}
	if m.Epoch != 6 || m.Groups[0].Epoch != 4 || m.Groups[0].Members[0].Down || !m.Groups[0].Members[1].Down {
		t.Fatalf("Map = %+v", m)
	}
	g.members[0].Role, g.members[1].Role = "follower", "leader" // b leads, not on record yet
	if m, _ := s.Map(); m.Groups[0].Epoch != 6 {
		t.Fatalf("a leader not on record: group epoch %d, want the newest, 6", m.Groups[0].Epoch)
	}
}

// A node that leads two groups shows the newer of their epochs, and its
// replicas show the same: the master's config epoch.
func TestMap_NodesTextMasterOfTwoGroupsShowsTheNewerEpoch(t *testing.T) {
	m := twoGroups()
	m.Groups[1].Leader = "a" // a leads g1 (epoch 7) and g2 (epoch 9)
	got := m.NodesText("c")
	for _, want := range []string{
		NodeID("a") + " 127.0.0.1:7001@17001 master - 0 0 9 connected",
		NodeID("d") + " 127.0.0.1:7004@0 slave " + NodeID("a") + " 0 0 9 connected",
		NodeID("c") + " 127.0.0.1:7003@0 myself,slave " + NodeID("a") + " 0 0 9 connected",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("NodesText lacks %q:\n%s", want, got)
		}
	}
}
