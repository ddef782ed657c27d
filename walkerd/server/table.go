package server

import (
	"fmt"

	"github.com/walkerdb/walkerdb/walkerd/command"
)

// handler runs one command the server answers itself.
type handler func(s *Server, c *client, args [][]byte)

// handlers attaches the server's own handlers to their specs in the
// command registry (a table indexed by Spec.ID), the one place commands are defined. A name the
// registry lacks is a programming error: it panics at start-up (and in
// every test).
func handlers() []handler {
	byName := map[string]handler{
		// Data commands the server answers itself outside MULTI; inside,
		// their specs put them into the entry.
		"ping": cmdPing, "echo": cmdEcho, "select": cmdSelect, "time": cmdTime,

		"quit": cmdQuit, "auth": cmdAuth, "hello": cmdHello,
		"client|id": cmdClientID, "client|getname": cmdClientGetname, "client|setname": cmdClientSetname,
		"client|list": cmdClientList, "client|info": cmdClientInfo, "client|setinfo": cmdClientSetinfo,
		"client|reply": cmdClientReply, "client|kill": cmdClientKill, "client|pause": cmdClientPause,
		"client|unpause": cmdClientUnpause, "reset": cmdReset, "wait": cmdWait,
		"client|no-evict": cmdClientFlagOK, "client|unblock": cmdClientUnblock, "client|no-touch": cmdClientFlagOK, "client|help": cmdClientHelp,
		"client|tracking": cmdClientTracking, "client|caching": cmdClientCaching, "client|getredir": cmdClientGetredir,
		"client|trackinginfo": cmdClientTrackinginfo,

		"command": cmdCommand, "command|count": cmdCommandCount, "command|info": cmdCommandInfo,
		"command|docs": cmdCommandDocs, "command|list": cmdCommandList, "command|getkeys": cmdCommandGetkeys,
		"command|help": cmdCommandHelp,
		"config|get":   cmdConfigGet, "config|set": cmdConfigSet, "config|resetstat": cmdConfigResetstat,
		"config|rewrite": cmdConfigRewrite, "config|help": cmdConfigHelp,
		"object|help": cmdObjectHelp,
		"xgroup|help": helpLines(command.XgroupHelp), "xinfo|help": helpLines(command.XinfoHelp),
		"info": cmdInfo, "shutdown": cmdShutdown,

		"multi": cmdMulti, "exec": cmdExec, "discard": cmdDiscard, "watch": cmdWatch, "unwatch": cmdUnwatch,
		"scan": cmdScan, "levelget": cmdLevelget, "pfselftest": cmdPfselftest,

		"join": cmdJoin, "leave": cmdLeave, "snapshot": cmdSnapshot, "raft.members": cmdRaftMembers,
		"raft.leader": cmdRaftLeader, "raft.transfer": cmdRaftTransfer,
		"walker.placement": cmdWalkerPlacement,
		"walker.migrate":   cmdWalkerMigrate,
		"walker.group":     cmdWalkerGroup,
		"walker.apply":     cmdWalkerApply, "walker.forward": cmdWalkerForward, "walker.digest": cmdWalkerDigest,
		"walker.haslog": cmdWalkerHaslog, // wait.go
		"walker.blob":   cmdWalkerBlob,   // blob.go
		"walker.link":   cmdWalkerLink,   // link.go

		"memory|stats": cmdMemoryStats, "memory|doctor": cmdMemoryDoctor, "memory|malloc-stats": cmdMemoryMallocStats,
		"memory|purge": cmdMemoryPurge, "memory|help": cmdMemoryHelp, "role": cmdRole, "debug": cmdDebug, // introspect.go

		"acl|setuser": cmdACLSetuser, "acl|deluser": cmdACLDeluser, "acl|getuser": cmdACLGetuser, "acl|list": cmdACLList, // acl.go
		"acl|users": cmdACLUsers, "acl|whoami": cmdACLWhoami, "acl|cat": cmdACLCat, "acl|genpass": cmdACLGenpass,
		"acl|dryrun": cmdACLDryrun, "acl|save": cmdACLSave, "acl|load": cmdACLLoad, "acl|log": cmdACLLog, "acl|help": cmdACLHelp,

		"save": cmdSave, "bgsave": cmdBgsave, "lastsave": cmdLastsave, "walker.backup": cmdWalkerBackup, // save.go

		"slowlog|get": cmdSlowlogGet, "slowlog|len": cmdSlowlogLen, "slowlog|reset": cmdSlowlogReset, // slowlog.go
		"slowlog|help":   helpLines(func() []string { return slowlogHelp }),
		"latency|latest": cmdLatencyLatest, "latency|history": cmdLatencyHistory, "latency|reset": cmdLatencyReset, // latency.go
		"latency|doctor": cmdLatencyDoctor, "latency|graph": cmdLatencyGraph, "latency|histogram": cmdLatencyHistogram, "latency|help": helpLines(func() []string { return latencyHelp }),
	}
	for name, h := range pubsubHandlers {
		byName[name] = h
	}
	for name, h := range clusterHandlers { // clustermode.go
		byName[name] = h
	}
	for name, h := range scriptHandlers { // script.go
		byName[name] = h
	}
	hs := make([]handler, command.Count())
	// Blocking commands wait on this node (blocking.go); in MULTI, and
	// in the log, they are attempts that never block.
	for _, spec := range command.Specs() {
		if spec.Flags&command.FlagBlocking != 0 {
			hs[spec.ID] = cmdBlocking
		}
	}
	for name, h := range byName {
		spec := command.LookupName(name)
		if spec == nil {
			panic(fmt.Sprintf("server: handler for %q, which the command registry lacks", name))
		}
		hs[spec.ID] = h
	}
	return hs
}
