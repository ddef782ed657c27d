package server

import "testing"

// Transfer on the fake follower: only the leader can hand leadership over.
func (f *follower) Transfer(id string) error { return f.notLeader() }

// RAFT.TRANSFER sent to a follower goes to the leader, as JOIN and LEAVE
// do: the answer is the leader's (here a standalone server's), not an
// error naming the leader.
func TestRaftTransfer_FollowerForwardsToTheLeader(t *testing.T) {
	_, follow, _, fw := startPair(t, "")
	fc := dial(t, follow.addr)
	for _, args := range [][]string{{"RAFT.TRANSFER"}, {"RAFT.TRANSFER", "n2"}} {
		before := fw.calls.Load()
		if got := fc.must(t, args...); got != "-ERR this command requires cluster mode" {
			t.Errorf("%q on a follower = %s, want the leader's answer", args, got)
		}
		if n := fw.calls.Load() - before; n != 1 {
			t.Errorf("%q: %d forwards, want 1", args, n)
		}
	}
	if got := fc.must(t, "RAFT.TRANSFER", "a", "b"); got != "-ERR wrong number of arguments for 'raft.transfer' command" {
		t.Errorf("RAFT.TRANSFER a b = %s", got)
	}
}
