package server

import (
	"sort"

	"github.com/walkerdb/walkerdb/walkerd/command"
)

type cmdFlags uint16

const (
	noAuth    cmdFlags = 1 << iota // allowed before AUTH
	notQueued                      // runs at once even inside MULTI
	noMulti                        // refused inside MULTI
	admin                          // COMMAND INFO: admin
)

// cmd is one entry of the server's command table.
type cmd struct {
	name  string // lower case; "client|setname" for subcommands
	arity int
	flags cmdFlags
	// spec is set for commands of the data layer; inside MULTI they go
	// into the transaction's entry. Others run on this server (after the
	// entry, in EXEC).
	spec *command.Spec
	run  func(s *Server, c *client, args [][]byte)
	// local runs a read here, whatever the read level: WALKER.READ uses it
	// on the leader. nil for commands that are not reads.
	local func(s *Server, c *client, args [][]byte)
	subs  map[string]*cmd
	// for COMMAND and COMMAND DOCS
	group   string
	summary string
}

// table builds the command table.
func (s *Server) table() map[string]*cmd {
	t := make(map[string]*cmd)
	add := func(k *cmd) { t[k.name] = k }

	for _, spec := range command.Specs() {
		spec := spec
		if spec.Flags&command.FlagInternal != 0 && spec.Flags&command.FlagRead == 0 {
			continue // internal writes reach Apply only inside entries
		}
		k := &cmd{name: spec.Name, arity: spec.Arity, spec: spec, group: groupOf(spec)}
		switch {
		case spec.Flags&command.FlagWrite != 0:
			k.run = func(s *Server, c *client, args [][]byte) { s.runWrite(c, args, spec) }
		case spec.Flags&command.FlagRead != 0:
			k.run = func(s *Server, c *client, args [][]byte) { s.runRead(c, args, spec) }
			k.local = func(s *Server, c *client, args [][]byte) {
				c.out = command.Read(s.b.Engine(), c.db, s.nowMs(), args, c.out)
			}
		}
		add(k)
	}
	// Commands that need no data: the server answers them itself outside
	// MULTI; inside, their specs put them into the entry.
	t["ping"].run = cmdPing
	t["echo"].run = cmdEcho
	t["select"].run = cmdSelect
	t["time"].run = cmdTime

	add(&cmd{name: "quit", arity: -1, flags: noAuth | notQueued, run: cmdQuit, group: "connection"})
	add(&cmd{name: "auth", arity: -2, flags: noAuth, run: cmdAuth, group: "connection"})
	add(&cmd{name: "hello", arity: -1, flags: noAuth, run: cmdHello, group: "connection"})
	add(&cmd{name: "client", arity: -2, run: nil, group: "connection", subs: subTable("client", []*cmd{
		{name: "id", arity: 2, run: cmdClientID},
		{name: "getname", arity: 2, run: cmdClientGetname},
		{name: "setname", arity: 3, run: cmdClientSetname},
		{name: "list", arity: -2, run: cmdClientList},
		{name: "info", arity: 2, run: cmdClientInfo},
		{name: "setinfo", arity: 4, run: cmdClientSetinfo},
		{name: "no-evict", arity: 3, run: cmdClientFlagOK},
		{name: "no-touch", arity: 3, run: cmdClientFlagOK},
		{name: "help", arity: 2, run: cmdClientHelp},
	})})
	add(&cmd{name: "command", arity: -1, run: cmdCommand, group: "server", subs: subTable("command", []*cmd{
		{name: "count", arity: 2, run: cmdCommandCount},
		{name: "info", arity: -2, run: cmdCommandInfo},
		{name: "docs", arity: -2, run: cmdCommandDocs},
		{name: "list", arity: -2, run: cmdCommandList},
		{name: "help", arity: 2, run: cmdCommandHelp},
	})})
	add(&cmd{name: "config", arity: -2, flags: admin, group: "server", subs: subTable("config", []*cmd{
		{name: "get", arity: -3, run: cmdConfigGet},
		{name: "set", arity: -4, run: cmdConfigSet},
		{name: "resetstat", arity: 2, run: cmdConfigResetstat},
		{name: "rewrite", arity: 2, run: cmdConfigRewrite},
		{name: "help", arity: 2, run: cmdConfigHelp},
	})})
	add(&cmd{name: "info", arity: -1, run: cmdInfo, group: "server"})
	add(&cmd{name: "shutdown", arity: -1, flags: admin, run: cmdShutdown, group: "server"})

	add(&cmd{name: "multi", arity: 1, flags: notQueued, run: cmdMulti, group: "transactions"})
	add(&cmd{name: "exec", arity: 1, flags: notQueued, run: cmdExec, group: "transactions"})
	add(&cmd{name: "discard", arity: 1, flags: notQueued, run: cmdDiscard, group: "transactions"})
	add(&cmd{name: "watch", arity: -2, flags: notQueued, run: cmdWatch, group: "transactions"})
	add(&cmd{name: "unwatch", arity: 1, run: cmdUnwatch, group: "transactions"})

	add(&cmd{name: "scan", arity: -2, run: cmdScan, local: localScan, group: "generic"})
	add(&cmd{name: "levelget", arity: 3, run: cmdLevelget, group: "string"})

	for _, name := range []string{"join", "leave", "snapshot", "raft.members", "raft.leader", "raft.transfer"} {
		add(&cmd{name: name, arity: -1, flags: admin, run: cmdCluster, group: "cluster"})
	}
	add(&cmd{name: "walker.apply", arity: 2, flags: noMulti | admin, run: cmdWalkerApply, group: "cluster"})
	add(&cmd{name: "walker.read", arity: -4, flags: noMulti | admin, run: cmdWalkerRead, group: "cluster"})
	add(&cmd{name: "walker.digest", arity: 1, flags: noMulti | admin, run: cmdWalkerDigest, group: "cluster"})
	return t
}

func subTable(parent string, list []*cmd) map[string]*cmd {
	m := make(map[string]*cmd, len(list))
	for _, k := range list {
		m[k.name] = k
		k.name = parent + "|" + k.name
	}
	return m
}

func groupOf(spec *command.Spec) string {
	switch spec.Name {
	case "del", "unlink", "exists", "type", "rename", "renamenx", "keys", "randomkey",
		"expire", "pexpire", "expireat", "pexpireat", "ttl", "pttl", "persist", "expiretime", "pexpiretime":
		return "generic"
	case "dbsize", "flushdb", "flushall", "time":
		return "server"
	case "ping", "echo", "select":
		return "connection"
	}
	if spec.Flags&command.FlagInternal != 0 {
		return "cluster"
	}
	return "string"
}

// sortedNames lists the table's command names.
func (s *Server) sortedNames() []string {
	names := make([]string, 0, len(s.cmds))
	for n := range s.cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func cmdCluster(s *Server, c *client, args [][]byte) { c.raw(s.b.Cluster(args)) }
