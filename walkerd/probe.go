package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/walkerdb/walkerdb/internal/resp"
	"github.com/walkerdb/walkerdb/walkerd/forward"
	"github.com/walkerdb/walkerdb/walkerd/nodelink"
)

// newRaftProbe returns store.Config.Probe: it sends INFO raft to another
// node's RESP address and returns raft's applied index
// (raft_log_applied_index). It has a pool of its own with one connection
// per node and one-second dial and call timeouts, so a node that is down
// or paused answers "unreachable" quickly, and a slow probe never queues
// behind forwarded commands. It links and speaks TLS as the forwarding
// pool does (links.go). The returned func closes the pool.
//
// probeFor(group) is the probe of one Raft group of a node with several
// (groups.go): the log_applied_index of INFO raft's line for that group;
// probeFor("") reads the node's home group, raft_log_applied_index.
func newRaftProbe(links *nodelink.Config, local net.IP) (probeFor func(group string) func(respAddr string) (uint64, error), closer func() error) {
	pool := forward.New(forward.Options{
		ConnsPerAddr: 1, Links: links, TLS: forwardTLS(links), LocalIP: local,
		DialTimeout: time.Second, CallTimeout: time.Second,
	})
	probeFor = func(group string) func(string) (uint64, error) {
		return func(addr string) (uint64, error) {
			raw, err := pool.Do(addr, [][]byte{[]byte("INFO"), []byte("raft")})
			if err != nil {
				return 0, err
			}
			return parseAppliedIndex(raw, group)
		}
	}
	return probeFor, pool.Close
}

// parseAppliedIndex reads raft_log_applied_index from a raw INFO raft
// reply, or, for group, the log_applied_index of its raft_groupI line
// (raft_placement for the placement group).
func parseAppliedIndex(raw []byte, group string) (uint64, error) {
	v, _, err := resp.Parse(raw)
	if err != nil {
		return 0, err
	}
	if v.Kind != resp.KindBulk {
		return 0, fmt.Errorf("INFO raft answered %s", strings.TrimSpace(string(raw)))
	}
	for _, line := range strings.Split(string(v.Str), "\r\n") {
		if group == "" {
			if val, ok := strings.CutPrefix(line, "raft_log_applied_index:"); ok {
				return strconv.ParseUint(val, 10, 64)
			}
			continue
		}
		_, fields, ok := strings.Cut(line, ":")
		if !ok || !(strings.HasPrefix(line, "raft_group") || strings.HasPrefix(line, "raft_placement:")) || !strings.HasPrefix(fields, "id="+group+",") {
			continue
		}
		for _, kv := range strings.Split(fields, ",") {
			if val, ok := strings.CutPrefix(kv, "log_applied_index="); ok {
				return strconv.ParseUint(val, 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("INFO raft has no applied index for group %q", group)
}
