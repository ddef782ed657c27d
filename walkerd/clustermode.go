package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/walkerdb/walkerdb/walkerd/command"
	"github.com/walkerdb/walkerdb/walkerd/placement"
	"github.com/walkerdb/walkerdb/walkerd/shard"
	"github.com/walkerdb/walkerdb/walkerd/store"
)

// clusterModeFlags is --cluster-mode: whether walkerd speaks the Redis
// Cluster protocol (walkerd/server/clustermode.go). Off by default, so
// that plain Redis clients keep working against any node: a follower
// forwards what only the leader may run. On, a node answers -MOVED for a
// key whose slot it does not lead, as Redis Cluster does, and
// cluster-aware clients (go-redis's ClusterClient, redis-cli -c,
// redis-benchmark --cluster) route themselves.
func clusterModeFlags() []cli.Flag {
	return []cli.Flag{&cli.StringFlag{
		Name:    "cluster-mode",
		Value:   "no",
		Usage:   "yes: speak the Redis Cluster protocol (CLUSTER SLOTS/NODES/..., -MOVED to the slot's leader, -CROSSSLOT, READONLY) for cluster-aware clients; no: every node takes every command, followers forward to the leader",
		EnvVars: []string{"WALKERD_CLUSTER_MODE"},
	}, &cli.IntFlag{
		Name:    "migrate-batch",
		Value:   defaultFreezeKeys,
		Usage:   "keys a slot move copies at a time (and at most about 1 MiB of values); writes to them wait while they are copied, as redis-cli --cluster reshard's --cluster-pipeline (migrate.go)",
		EnvVars: []string{"WALKERD_MIGRATE_BATCH"},
	}}
}

// clusterSource is the slot map of --cluster-mode yes, nil when it is
// off. Cluster mode needs Raft: standalone mode refuses it.
// st is the node's one Raft group, or groups its several (nodegroups.go);
// place is the placement group, nil where none runs.
func clusterSource(c *cli.Context, s *settings, st *store.Store, groups *nodeGroups, place *store.Store, routes *shard.Routing) (shard.Source, error) {
	on, err := parseYesNo(c.String("cluster-mode"))
	if err != nil {
		return nil, fmt.Errorf("--cluster-mode %q: %v", c.String("cluster-mode"), err)
	}
	if !on {
		return nil, nil
	}
	if st == nil {
		return nil, fmt.Errorf("--cluster-mode yes needs Raft: it cannot be used with --standalone")
	}
	if groups == nil {
		return shard.NewSingle(s.id, st), nil
	}
	src := shard.NewStatic(s.id, shard.Split(groups.first), nil).WithRouting(routes).
		WithGroups(func() []shard.RaftGroup { return asGroups[shard.RaftGroup](groups.list()) }) // nodegroups.go
	if place != nil {
		src.WithPlacement(func() (*placement.State, error) { return command.Placement(place.Engine()) })
	}
	return src, nil
}

// parseYesNo reads yes/no (also on/off, true/false, 1/0), any case.
func parseYesNo(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "yes", "on", "true", "1":
		return true, nil
	case "no", "off", "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("want yes or no")
}
