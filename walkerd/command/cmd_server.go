package command

// Commands the server runs itself: connections, transactions, server
// administration and the cluster. They are specs like every other command
// (COMMAND, COMMAND INFO, ACL categories and the MULTI rules read them from
// here); the server attaches a handler to each, and a test checks that
// every spec without a run function has one.
func init() {
	const (
		nsl = FlagNoScript | FlagLoading | FlagStale
		ls  = FlagLoading | FlagStale
	)
	conn := func(name string, arity int, flags Flags, since string, subs ...*Spec) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Cats: CatConnection, Group: "connection", Since: since, Subs: subs}
	}
	// COMMAND and its subcommands are in the server group, with the
	// connection category.
	cmdc := func(name string, arity int, flags Flags, since string, subs ...*Spec) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Cats: CatConnection, Group: "server", Since: since, Subs: subs}
	}
	srv := func(name string, arity int, flags Flags, since string, subs ...*Spec) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Group: "server", Since: since, Subs: subs}
	}
	tx := func(name string, arity int, flags Flags, since string) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags | nsl | FlagAllowBusy, Cats: CatTransaction, Group: "transactions",
			Since: since}
	}
	clu := func(name string, arity int, flags Flags, since string, tips ...string) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Group: "cluster", Since: since, Tips: tips}
	}
	cluster := func(name string, arity int, summary string) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: FlagAdmin | FlagNoScript | FlagNoMulti, Group: "cluster", Since: "walkerdb", Summary: summary}
	}
	register(
		conn("quit", -1, nsl|FlagFast|FlagNoAuth|FlagAllowBusy|FlagNotQueued, "1.0.0"),
		conn("auth", -2, nsl|FlagFast|FlagNoAuth|FlagAllowBusy, "1.0.0"),
		conn("hello", -1, nsl|FlagFast|FlagNoAuth|FlagAllowBusy, "6.0.0"),
		&Spec{Name: "client", Arity: -2, Group: "connection", Since: "2.4.0", Subs: []*Spec{
			conn("id", 2, nsl, "5.0.0"),
			conn("getname", 2, nsl, "2.6.9"),
			conn("setname", 3, nsl, "2.6.9"),
			conn("list", -2, nsl|FlagAdmin, "2.4.0"),
			conn("info", 2, nsl, "6.2.0"),
			conn("setinfo", 4, nsl, "7.2.0"),
			conn("no-evict", 3, nsl|FlagAdmin, "7.0.0"),
			conn("no-touch", 3, nsl, "7.2.0"),
			conn("unblock", -3, nsl|FlagAdmin, "5.0.0"),
			conn("help", 2, ls, "5.0.0"),
			conn("reply", 3, nsl, "3.2.0"),
			conn("kill", -3, nsl|FlagAdmin, "2.4.0"),
			conn("pause", -3, nsl|FlagAdmin, "2.9.50"),
			conn("unpause", 2, nsl|FlagAdmin, "6.2.0"),
			conn("tracking", -3, nsl, "6.0.0"), // client-side caching (server/tracking.go)
			conn("caching", 3, nsl, "6.0.0"),
			conn("getredir", 2, nsl, "6.0.0"),
			conn("trackinginfo", 2, nsl, "6.2.0"),
		}},
		conn("reset", 1, nsl|FlagFast|FlagNoAuth|FlagAllowBusy|FlagNotQueued, "6.2.0"),
		&Spec{Name: "wait", Arity: 3, Flags: FlagNoScript, Cats: CatConnection, Group: "generic", Since: "3.0.0",
			Tips: []string{"request_policy:all_shards", "response_policy:agg_min"}},
		cmdc("command", -1, ls, "2.8.13",
			cmdc("count", 2, ls, "2.8.13"),
			cmdc("info", -2, ls, "2.8.13"),
			cmdc("docs", -2, ls, "7.0.0"),
			cmdc("list", -2, ls, "7.0.0"),
			cmdc("getkeys", -4, ls, "2.8.13"),
			cmdc("help", 2, ls, "5.0.0"),
		),
		&Spec{Name: "config", Arity: -2, Group: "server", Since: "2.0.0", Subs: []*Spec{
			srv("get", -3, nsl|FlagAdmin, "2.0.0"),
			srv("set", -4, nsl|FlagAdmin, "2.0.0"),
			srv("resetstat", 2, nsl|FlagAdmin, "2.0.0"),
			srv("rewrite", 2, nsl|FlagAdmin, "2.8.0"),
			srv("help", 2, ls, "5.0.0"),
		}},
		&Spec{Name: "info", Arity: -1, Flags: ls, Cats: CatDangerous, Group: "server", Since: "1.0.0"},
		srv("shutdown", -1, nsl|FlagAdmin|FlagNoMulti|FlagAllowBusy, "1.0.0"),
		// SAVE, BGSAVE and LASTSAVE write and date the dump file (server/save.go).
		&Spec{Name: "save", Arity: 1, Flags: FlagAdmin | FlagNoScript | FlagNoAsyncLoading | FlagNoMulti, Group: "server", Since: "1.0.0",
			Summary: "Synchronously save the dataset to disk", Complexity: "O(N) where N is the total number of keys in all databases"},
		&Spec{Name: "bgsave", Arity: -1, Flags: FlagAdmin | FlagNoScript | FlagNoAsyncLoading, Group: "server", Since: "1.0.0",
			Summary: "Asynchronously save the dataset to disk", Complexity: "O(1)",
			History: [][2]string{{"3.2.2", "Added the `SCHEDULE` option."}},
			Args:    []Arg{{Name: "schedule", Type: "pure-token", Token: "SCHEDULE", Since: "3.2.2", Flags: ArgOptional}}},
		&Spec{Name: "lastsave", Arity: 1, Flags: ls | FlagFast, Cats: CatAdmin | CatDangerous, Group: "server", Since: "1.0.0",
			Summary: "Get the UNIX time stamp of the last successful save to disk", Complexity: "O(1)",
			Tips: []string{"nondeterministic_output"}},
		// ACL users (server/acl.go).
		&Spec{Name: "acl", Arity: -2, Group: "server", Since: "6.0.0", Subs: []*Spec{
			srv("cat", -2, nsl, "6.0.0"),
			srv("deluser", -3, nsl|FlagAdmin, "6.0.0"),
			srv("dryrun", -4, nsl|FlagAdmin, "7.0.0"),
			srv("genpass", -2, nsl, "6.0.0"),
			srv("getuser", 3, nsl|FlagAdmin, "6.0.0"),
			srv("list", 2, nsl|FlagAdmin, "6.0.0"),
			srv("load", 2, nsl|FlagAdmin, "6.0.0"),
			srv("log", -2, nsl|FlagAdmin, "6.0.0"),
			srv("save", 2, nsl|FlagAdmin, "6.0.0"),
			srv("setuser", -3, nsl|FlagAdmin, "6.0.0"),
			srv("users", 2, nsl|FlagAdmin, "6.0.0"),
			srv("whoami", 2, nsl, "6.0.0"),
			srv("help", 2, ls, "6.0.0"),
		}},
		// The slow log and the latency monitor (server/slowlog.go, latency.go).
		&Spec{Name: "slowlog", Arity: -2, Group: "server", Since: "2.2.12", Subs: []*Spec{
			tipped(srv("get", -2, ls|FlagAdmin, "2.2.12"), "request_policy:all_nodes", "nondeterministic_output"),
			tipped(srv("len", 2, ls|FlagAdmin, "2.2.12"), "request_policy:all_nodes", "response_policy:agg_sum", "nondeterministic_output"),
			tipped(srv("reset", 2, ls|FlagAdmin, "2.2.12"), "request_policy:all_nodes", "response_policy:all_succeeded"),
			srv("help", 2, ls, "6.2.0"),
		}},
		&Spec{Name: "latency", Arity: -2, Group: "server", Since: "2.8.13", Subs: []*Spec{
			tipped(srv("latest", 2, nsl|FlagAdmin, "2.8.13"), "nondeterministic_output", "request_policy:all_nodes", "response_policy:special"),
			tipped(srv("history", 3, nsl|FlagAdmin, "2.8.13"), "nondeterministic_output", "request_policy:all_nodes", "response_policy:special"),
			tipped(srv("reset", -2, nsl|FlagAdmin, "2.8.13"), "request_policy:all_nodes", "response_policy:all_succeeded"),
			tipped(srv("doctor", 2, nsl|FlagAdmin, "2.8.13"), "nondeterministic_output", "request_policy:all_nodes", "response_policy:special"),
			tipped(srv("graph", 3, nsl|FlagAdmin, "2.8.13"), "nondeterministic_output", "request_policy:all_nodes", "response_policy:special"),
			tipped(srv("histogram", -2, nsl|FlagAdmin, "7.0.0"), "nondeterministic_output", "request_policy:all_nodes", "response_policy:special"),
			srv("help", 2, ls, "2.8.13"),
		}},

		// The Redis Cluster protocol (server/clustermode.go): served in
		// cluster mode (walkerd --cluster-mode yes), refused otherwise as a
		// Redis without cluster support refuses it.
		&Spec{Name: "cluster", Arity: -2, Group: "cluster", Since: "3.0.0", Subs: []*Spec{
			clu("slots", 2, FlagStale, "3.0.0", "nondeterministic_output"),
			clu("shards", 2, FlagStale, "7.0.0", "nondeterministic_output"),
			clu("nodes", 2, FlagStale, "3.0.0", "nondeterministic_output"),
			clu("info", 2, FlagStale, "3.0.0", "nondeterministic_output"),
			clu("myid", 2, FlagStale, "3.0.0"),
			clu("myshardid", 2, FlagStale, "7.2.0", "nondeterministic_output"),
			clu("keyslot", 3, FlagStale, "3.0.0"),
			clu("countkeysinslot", 3, FlagStale, "3.0.0"),
			clu("getkeysinslot", 4, FlagStale, "3.0.0", "nondeterministic_output"),
			clu("help", 2, ls, "5.0.0"),
		}},
		&Spec{Name: "readonly", Arity: 1, Flags: ls | FlagFast, Cats: CatConnection, Group: "cluster", Since: "3.0.0"},
		&Spec{Name: "readwrite", Arity: 1, Flags: ls | FlagFast, Cats: CatConnection, Group: "cluster", Since: "3.0.0"},
		&Spec{Name: "asking", Arity: 1, Flags: FlagFast, Cats: CatConnection, Group: "cluster", Since: "3.0.0"},

		tx("multi", 1, FlagFast|FlagNotQueued, "1.2.0"),
		&Spec{Name: "exec", Arity: 1, Flags: nsl | FlagSkipSlowlog | FlagNotQueued, Cats: CatTransaction, Group: "transactions",
			Since: "1.2.0"},
		tx("discard", 1, FlagFast|FlagNotQueued, "2.0.0"),
		&Spec{Name: "watch", Arity: -2, Flags: nsl | FlagFast | FlagAllowBusy | FlagNotQueued, Cats: CatTransaction, FirstKey: 1, LastKey: -1, Step: 1,
			Group: "transactions", Since: "2.2.0"},
		tx("unwatch", 1, FlagFast, "2.2.0"),

		// SCAN has a handler of the server's outside MULTI and scripts
		// (over every group a node holds), and runs in an entry inside
		// them (scan.go).
		&Spec{Name: "scan", Arity: -2, Flags: FlagReadonly, Cats: CatKeyspace, Group: "generic", Since: "2.8.0", parse: parseScan, run: runScan},
		&Spec{Name: "levelget", Arity: 3, Flags: FlagReadonly, Cats: CatString, FirstKey: 1, LastKey: 1, Step: 1, Group: "string",
			Since: "walkerdb", Summary: "Returns the string value of a key, read at a consistency level: 0 default, 1 stale, 2 consistent."},

		cluster("join", -3, "Adds a node to the Raft cluster (every Raft group of a node with several, or the one named): JOIN id raft-addr [resp-addr] [GROUP id]."),
		cluster("leave", -2, "Removes a node from the Raft cluster (every Raft group of a node with several, or the one named): LEAVE id [GROUP id]."),
		cluster("snapshot", 1, "Takes a Raft snapshot on this node."),
		cluster("walker.backup", 1, "Returns the leader's data as one checkpoint stream, a bulk reply (walkerctl backup writes it to a file)."),
		cluster("raft.members", 1, "Lists the Raft cluster's members."),
		cluster("raft.leader", 1, "Returns the Raft leader's id and addresses."),
		cluster("raft.transfer", -1, "Hands leadership to another member: RAFT.TRANSFER [id]."),
		&Spec{Name: "walker.placement", Arity: 1, Flags: FlagAdmin | FlagNoScript | FlagNoMulti | FlagLoading | FlagStale, Group: "cluster", Since: "walkerdb",
			Summary: "Returns the placement state (slot map, groups, nodes, epoch) as this node's copy of the placement group holds it, as JSON; also while the node is not ready, as INFO answers."},
		&Spec{Name: "walker.migrate", Arity: 3, Flags: FlagAdmin | FlagNoScript | FlagNoMulti, Group: "cluster", Since: "walkerdb",
			Summary: "Begins moving hash slots to another Raft group: WALKER.MIGRATE slot|first-last group; the placement leader carries the move out (walkerctl migrate waits for it)."},
		&Spec{Name: "walker.group", Arity: -2, Flags: FlagAdmin | FlagNoScript | FlagNoMulti, Group: "cluster", Since: "walkerdb",
			Summary: "Makes or ends a data Raft group: WALKER.GROUP ADD LIKE group (a new group on that group's members, no slot yet; answers its id) or WALKER.GROUP DROP group (one that owns no slot); walkerctl split and merge use it."},
		&Spec{Name: "walker.apply", Arity: -3, Flags: FlagAdmin | FlagNoMulti | FlagInternal, Group: "cluster", Since: "walkerdb",
			Summary: "Applies a log entry a follower forwards to the leader: WALKER.APPLY entry user [group] (internal)."},
		&Spec{Name: "walker.forward", Arity: -5, Flags: FlagAdmin | FlagNoMulti | FlagInternal, Group: "cluster", Since: "walkerdb",
			Summary: "Runs a read or a leader-only command a follower forwards: WALKER.FORWARD level db user command... (internal)."},
		&Spec{Name: "walker.digest", Arity: 1, Flags: FlagAdmin | FlagNoMulti | FlagInternal, Group: "cluster", Since: "walkerdb",
			Summary: "Returns a digest of this node's data, to compare replicas (internal)."},
		&Spec{Name: "walker.haslog", Arity: -3, Flags: FlagAdmin | FlagNoMulti | FlagInternal, Group: "cluster", Since: "walkerdb",
			Summary: "Answers 1 if this node's Raft log holds the entry at an index with a term, else 0: WALKER.HASLOG index term [group] (internal: WAIT)."},
		&Spec{Name: "walker.blob", Arity: -3, Flags: FlagAdmin | FlagNoMulti | FlagInternal, Group: "cluster", Since: "walkerdb",
			Summary: "Returns the bytes of a large Raft log entry, kept in a file beside the log: WALKER.BLOB index term [group] (internal: a follower fetches them from the leader)."},
	)
}

// tipped sets a spec's command tips (COMMAND INFO's tips) and returns it.
func tipped(k *Spec, tips ...string) *Spec {
	k.Tips = tips
	return k
}
