package server

// loadingText answers, while the node is loading, every command not
// flagged "loading" (command.FlagLoading), PING included: Redis's
// shared.loadingerr, which processCommand sends for commands without
// CMD_LOADING while server.loading is set.
const loadingText = "LOADING Redis is loading the dataset in memory"

// readier is a backend that can be not ready yet: store.Store, from its
// start until it has caught up (store.Store.Ready). Backends without
// Ready (standalone) are always ready.
type readier interface{ Ready() bool }

// loading reports whether the node is still loading: its backend has not
// yet caught up since it started (a restarted node replaying its log,
// waiting for a leader). INFO persistence's loading field shows it. Once
// the backend has been ready it stays so: a node that has served and
// then loses its leader answers CLUSTERDOWN instead. With several groups,
// the groups the node started with count while it still runs them; a
// group opened later (GROUP ADD, SetGroups) does not hold up the node's
// other slots: until it has a leader, its own commands answer CLUSTERDOWN
// or are forwarded.
//
// Every command asks, so once the answer is false it is kept (s.loaded):
// each Ready stays true once true, and a group that joins the start
// groups later never counts. Asking the groups cost a SET an allocation.
func (s *Server) loading() bool {
	if s.loaded.Load() {
		return false
	}
	for _, g := range s.startGroups() {
		if r, ok := g.(readier); ok && !r.Ready() {
			return true
		}
	}
	s.loaded.Store(true)
	return false
}
