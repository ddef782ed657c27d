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
	conn := func(name string, arity int, flags Flags, since, summary string, subs ...*Spec) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Cats: CatConnection, Group: "connection", Since: since, Summary: summary, Subs: subs}
	}
	// COMMAND and its subcommands are in the server group, with the
	// connection category.
	cmdc := func(name string, arity int, flags Flags, since, summary string, subs ...*Spec) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Cats: CatConnection, Group: "server", Since: since, Summary: summary, Subs: subs}
	}
	srv := func(name string, arity int, flags Flags, since, summary string, subs ...*Spec) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags, Group: "server", Since: since, Summary: summary, Subs: subs}
	}
	tx := func(name string, arity int, flags Flags, summary string) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: flags | nsl | FlagAllowBusy, Cats: CatTransaction, Group: "transactions",
			Since: "2.0.0", Summary: summary}
	}
	cluster := func(name string, arity int, summary string) *Spec {
		return &Spec{Name: name, Arity: arity, Flags: FlagAdmin | FlagNoScript | FlagNoMulti, Group: "cluster", Since: "walkerdb", Summary: summary}
	}
	register(
		conn("quit", -1, nsl|FlagFast|FlagNoAuth|FlagAllowBusy|FlagNotQueued, "1.0.0", "Closes the connection."),
		conn("auth", -2, nsl|FlagFast|FlagNoAuth|FlagAllowBusy, "1.0.0", "Authenticates the connection."),
		conn("hello", -1, nsl|FlagFast|FlagNoAuth|FlagAllowBusy, "6.0.0", "Handshakes with the Redis server."),
		&Spec{Name: "client", Arity: -2, Group: "connection", Since: "2.4.0", Summary: "A container for client connection commands.", Subs: []*Spec{
			conn("id", 2, nsl, "5.0.0", "Returns the unique client ID of the connection."),
			conn("getname", 2, nsl, "2.6.9", "Returns the name of the connection."),
			conn("setname", 3, nsl, "2.6.9", "Sets the connection name."),
			conn("list", -2, nsl|FlagAdmin, "2.4.0", "Lists open connections."),
			conn("info", 2, nsl, "6.2.0", "Returns information about the connection."),
			conn("setinfo", 4, nsl, "7.2.0", "Sets information specific to the client or connection."),
			conn("no-evict", 3, nsl|FlagAdmin, "7.0.0", "Sets the client eviction mode of the connection."),
			conn("no-touch", 3, nsl, "7.2.0", "Controls whether commands sent by the client affect the LRU/LFU of accessed keys."),
			conn("help", 2, ls, "5.0.0", "Returns helpful text about the different subcommands."),
		}},
		cmdc("command", -1, ls, "2.8.13", "Returns detailed information about all commands.",
			cmdc("count", 2, ls, "2.8.13", "Returns a count of commands."),
			cmdc("info", -2, ls, "2.8.13", "Returns information about one, multiple or all commands."),
			cmdc("docs", -2, ls, "7.0.0", "Returns documentary information about one, multiple or all commands."),
			cmdc("list", -2, ls, "7.0.0", "Returns a list of command names."),
			cmdc("getkeys", -4, ls, "2.8.13", "Extracts the key names from an arbitrary command."),
			cmdc("help", 2, ls, "5.0.0", "Returns helpful text about the different subcommands."),
		),
		&Spec{Name: "config", Arity: -2, Group: "server", Since: "2.0.0", Summary: "A container for server configuration commands.", Subs: []*Spec{
			srv("get", -3, nsl|FlagAdmin, "2.0.0", "Returns the effective values of configuration parameters."),
			srv("set", -4, nsl|FlagAdmin, "2.0.0", "Sets configuration parameters in-flight."),
			srv("resetstat", 2, nsl|FlagAdmin, "2.0.0", "Resets the server's statistics."),
			srv("rewrite", 2, nsl|FlagAdmin, "2.8.0", "Persists the effective configuration to file."),
			srv("help", 2, ls, "5.0.0", "Returns helpful text about the different subcommands."),
		}},
		&Spec{Name: "info", Arity: -1, Flags: ls, Cats: CatDangerous, Group: "server", Since: "1.0.0",
			Summary: "Returns information and statistics about the server."},
		srv("shutdown", -1, nsl|FlagAdmin|FlagNoMulti|FlagAllowBusy, "1.0.0", "Synchronously saves the database(s) to disk and shuts down the Redis server."),

		tx("multi", 1, FlagFast|FlagNotQueued, "Starts a transaction."),
		&Spec{Name: "exec", Arity: 1, Flags: nsl | FlagSkipSlowlog | FlagNotQueued, Cats: CatTransaction, Group: "transactions",
			Since: "1.2.0", Summary: "Executes all commands in a transaction."},
		tx("discard", 1, FlagFast|FlagNotQueued, "Discards a transaction."),
		&Spec{Name: "watch", Arity: -2, Flags: nsl | FlagFast | FlagAllowBusy | FlagNotQueued, Cats: CatTransaction, FirstKey: 1, LastKey: -1, Step: 1,
			Group: "transactions", Since: "2.2.0", Summary: "Monitors changes to keys to determine the execution of a transaction."},
		tx("unwatch", 1, FlagFast, "Forgets about watched keys of a transaction."),

		&Spec{Name: "scan", Arity: -2, Flags: FlagReadonly, Cats: CatKeyspace, Group: "generic", Since: "2.8.0",
			Summary: "Iterates over the key names in the database."},
		&Spec{Name: "levelget", Arity: 3, Flags: FlagReadonly, Cats: CatString, FirstKey: 1, LastKey: 1, Step: 1, Group: "string",
			Since: "walkerdb", Summary: "Returns the string value of a key, read at a consistency level: 0 default, 1 stale, 2 consistent."},

		cluster("join", -3, "Adds a node to the Raft cluster: JOIN id raft-addr [resp-addr]."),
		cluster("leave", 2, "Removes a node from the Raft cluster: LEAVE id."),
		cluster("snapshot", 1, "Takes a Raft snapshot on this node."),
		cluster("raft.members", 1, "Lists the Raft cluster's members."),
		cluster("raft.leader", 1, "Returns the Raft leader's id and addresses."),
		cluster("raft.transfer", -1, "Hands leadership to another member: RAFT.TRANSFER [id]."),
		&Spec{Name: "walker.apply", Arity: 2, Flags: FlagAdmin | FlagNoMulti | FlagInternal, Group: "cluster", Since: "walkerdb",
			Summary: "Applies a log entry a follower forwards to the leader (internal)."},
		&Spec{Name: "walker.forward", Arity: -4, Flags: FlagAdmin | FlagNoMulti | FlagInternal, Group: "cluster", Since: "walkerdb",
			Summary: "Runs a read or a leader-only command a follower forwards: WALKER.FORWARD level db command... (internal)."},
		&Spec{Name: "walker.digest", Arity: 1, Flags: FlagAdmin | FlagNoMulti | FlagInternal, Group: "cluster", Since: "walkerdb",
			Summary: "Returns a digest of this node's data, to compare replicas (internal)."},
	)
}
