package command

// redisArgs are the arguments of each command as COMMAND DOCS describes
// them, by full name ("config|get"): Redis 7.0.15's own (its COMMAND DOCS
// reply, field for field), then walkerd's. register gives them to specs
// that set no Args.
var redisArgs = map[string][]Arg{
	"append": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "value", Type: "string"},
	},
	"auth": {
		{Name: "username", Type: "string", Since: "6.0.0", Flags: ArgOptional},
		{Name: "password", Type: "string"},
	},
	"decr": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
	},
	"decrby": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "decrement", Type: "integer"},
	},
	"del": {
		{Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgMultiple},
	},
	"echo": {
		{Name: "message", Type: "string"},
	},
	"exists": {
		{Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgMultiple},
	},
	"expire": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "seconds", Type: "integer"},
		{Name: "condition", Type: "oneof", Since: "7.0.0", Flags: ArgOptional, Args: []Arg{
			{Name: "nx", Type: "pure-token", Token: "NX"},
			{Name: "xx", Type: "pure-token", Token: "XX"},
			{Name: "gt", Type: "pure-token", Token: "GT"},
			{Name: "lt", Type: "pure-token", Token: "LT"},
		}},
	},
	"expireat": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "unix-time-seconds", Type: "unix-time"},
		{Name: "condition", Type: "oneof", Since: "7.0.0", Flags: ArgOptional, Args: []Arg{
			{Name: "nx", Type: "pure-token", Token: "NX"},
			{Name: "xx", Type: "pure-token", Token: "XX"},
			{Name: "gt", Type: "pure-token", Token: "GT"},
			{Name: "lt", Type: "pure-token", Token: "LT"},
		}},
	},
	"expiretime": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
	},
	"flushall": {
		{Name: "async", Type: "oneof", Flags: ArgOptional, Args: []Arg{
			{Name: "async", Type: "pure-token", Token: "ASYNC", Since: "4.0.0"},
			{Name: "sync", Type: "pure-token", Token: "SYNC", Since: "6.2.0"},
		}},
	},
	"flushdb": {
		{Name: "async", Type: "oneof", Flags: ArgOptional, Args: []Arg{
			{Name: "async", Type: "pure-token", Token: "ASYNC", Since: "4.0.0"},
			{Name: "sync", Type: "pure-token", Token: "SYNC", Since: "6.2.0"},
		}},
	},
	"get": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
	},
	"getdel": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
	},
	"getex": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "expiration", Type: "oneof", Flags: ArgOptional, Args: []Arg{
			{Name: "seconds", Type: "integer", Token: "EX"},
			{Name: "milliseconds", Type: "integer", Token: "PX"},
			{Name: "unix-time-seconds", Type: "unix-time", Token: "EXAT"},
			{Name: "unix-time-milliseconds", Type: "unix-time", Token: "PXAT"},
			{Name: "persist", Type: "pure-token", Token: "PERSIST"},
		}},
	},
	"getrange": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "start", Type: "integer"},
		{Name: "end", Type: "integer"},
	},
	"getset": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "value", Type: "string"},
	},
	"hello": {
		{Name: "arguments", Type: "block", Flags: ArgOptional, Args: []Arg{
			{Name: "protover", Type: "integer"},
			{Name: "username_password", Type: "block", Token: "AUTH", Flags: ArgOptional, Args: []Arg{
				{Name: "username", Type: "string"},
				{Name: "password", Type: "string"},
			}},
			{Name: "clientname", Type: "string", Token: "SETNAME", Flags: ArgOptional},
		}},
	},
	"incr": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
	},
	"incrby": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "increment", Type: "integer"},
	},
	"incrbyfloat": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "increment", Type: "double"},
	},
	"info": {
		{Name: "section", Type: "string", Flags: ArgOptional | ArgMultiple},
	},
	"keys": {
		{Name: "pattern", Type: "pattern"},
	},
	"mget": {
		{Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgMultiple},
	},
	"mset": {
		{Name: "key_value", Type: "block", Flags: ArgMultiple, Args: []Arg{
			{Name: "key", Type: "key", KeySpecIndex: 0},
			{Name: "value", Type: "string"},
		}},
	},
	"msetnx": {
		{Name: "key_value", Type: "block", Flags: ArgMultiple, Args: []Arg{
			{Name: "key", Type: "key", KeySpecIndex: 0},
			{Name: "value", Type: "string"},
		}},
	},
	"persist": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
	},
	"pexpire": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "milliseconds", Type: "integer"},
		{Name: "condition", Type: "oneof", Since: "7.0.0", Flags: ArgOptional, Args: []Arg{
			{Name: "nx", Type: "pure-token", Token: "NX"},
			{Name: "xx", Type: "pure-token", Token: "XX"},
			{Name: "gt", Type: "pure-token", Token: "GT"},
			{Name: "lt", Type: "pure-token", Token: "LT"},
		}},
	},
	"pexpireat": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "unix-time-milliseconds", Type: "unix-time"},
		{Name: "condition", Type: "oneof", Since: "7.0.0", Flags: ArgOptional, Args: []Arg{
			{Name: "nx", Type: "pure-token", Token: "NX"},
			{Name: "xx", Type: "pure-token", Token: "XX"},
			{Name: "gt", Type: "pure-token", Token: "GT"},
			{Name: "lt", Type: "pure-token", Token: "LT"},
		}},
	},
	"pexpiretime": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
	},
	"ping": {
		{Name: "message", Type: "string", Flags: ArgOptional},
	},
	"psetex": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "milliseconds", Type: "integer"},
		{Name: "value", Type: "string"},
	},
	"pttl": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
	},
	"rename": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "newkey", Type: "key", KeySpecIndex: 1},
	},
	"renamenx": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "newkey", Type: "key", KeySpecIndex: 1},
	},
	"scan": {
		{Name: "cursor", Type: "integer"},
		{Name: "pattern", Type: "pattern", Token: "MATCH", Flags: ArgOptional},
		{Name: "count", Type: "integer", Token: "COUNT", Flags: ArgOptional},
		{Name: "type", Type: "string", Token: "TYPE", Since: "6.0.0", Flags: ArgOptional},
	},
	"select": {
		{Name: "index", Type: "integer"},
	},
	"set": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "value", Type: "string"},
		{Name: "condition", Type: "oneof", Since: "2.6.12", Flags: ArgOptional, Args: []Arg{
			{Name: "nx", Type: "pure-token", Token: "NX"},
			{Name: "xx", Type: "pure-token", Token: "XX"},
		}},
		{Name: "get", Type: "pure-token", Token: "GET", Since: "6.2.0", Flags: ArgOptional},
		{Name: "expiration", Type: "oneof", Flags: ArgOptional, Args: []Arg{
			{Name: "seconds", Type: "integer", Token: "EX", Since: "2.6.12"},
			{Name: "milliseconds", Type: "integer", Token: "PX", Since: "2.6.12"},
			{Name: "unix-time-seconds", Type: "unix-time", Token: "EXAT", Since: "6.2.0"},
			{Name: "unix-time-milliseconds", Type: "unix-time", Token: "PXAT", Since: "6.2.0"},
			{Name: "keepttl", Type: "pure-token", Token: "KEEPTTL", Since: "6.0.0"},
		}},
	},
	"setex": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "seconds", Type: "integer"},
		{Name: "value", Type: "string"},
	},
	"setnx": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "value", Type: "string"},
	},
	"setrange": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "offset", Type: "integer"},
		{Name: "value", Type: "string"},
	},
	"shutdown": {
		{Name: "nosave_save", Type: "oneof", Flags: ArgOptional, Args: []Arg{
			{Name: "nosave", Type: "pure-token", Token: "NOSAVE"},
			{Name: "save", Type: "pure-token", Token: "SAVE"},
		}},
		{Name: "now", Type: "pure-token", Token: "NOW", Since: "7.0.0", Flags: ArgOptional},
		{Name: "force", Type: "pure-token", Token: "FORCE", Since: "7.0.0", Flags: ArgOptional},
		{Name: "abort", Type: "pure-token", Token: "ABORT", Since: "7.0.0", Flags: ArgOptional},
	},
	"strlen": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
	},
	"substr": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "start", Type: "integer"},
		{Name: "end", Type: "integer"},
	},
	"ttl": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
	},
	"type": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
	},
	"unlink": {
		{Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgMultiple},
	},
	"watch": {
		{Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgMultiple},
	},
	"client|setname": {
		{Name: "connection-name", Type: "string"},
	},
	"client|list": {
		{Name: "normal_master_replica_pubsub", Type: "oneof", Token: "TYPE", Since: "5.0.0", Flags: ArgOptional, Args: []Arg{
			{Name: "normal", Type: "pure-token", Token: "NORMAL"},
			{Name: "master", Type: "pure-token", Token: "MASTER"},
			{Name: "replica", Type: "pure-token", Token: "REPLICA"},
			{Name: "pubsub", Type: "pure-token", Token: "PUBSUB"},
		}},
		{Name: "id", Type: "block", Token: "ID", Since: "6.2.0", Flags: ArgOptional, Args: []Arg{
			{Name: "client-id", Type: "integer", Flags: ArgMultiple},
		}},
	},
	"client|no-evict": {
		{Name: "enabled", Type: "oneof", Args: []Arg{
			{Name: "on", Type: "pure-token", Token: "ON"},
			{Name: "off", Type: "pure-token", Token: "OFF"},
		}},
	},
	"command|info": {
		{Name: "command-name", Type: "string", Flags: ArgOptional | ArgMultiple},
	},
	"command|docs": {
		{Name: "command-name", Type: "string", Flags: ArgOptional | ArgMultiple},
	},
	"command|list": {
		{Name: "filterby", Type: "oneof", Token: "FILTERBY", Flags: ArgOptional, Args: []Arg{
			{Name: "module-name", Type: "string", Token: "MODULE"},
			{Name: "category", Type: "string", Token: "ACLCAT"},
			{Name: "pattern", Type: "pattern", Token: "PATTERN"},
		}},
	},
	"config|get": {
		{Name: "parameter", Type: "block", Flags: ArgMultiple, Args: []Arg{
			{Name: "parameter", Type: "string"},
		}},
	},
	"config|set": {
		{Name: "parameter_value", Type: "block", Flags: ArgMultiple, Args: []Arg{
			{Name: "parameter", Type: "string"},
			{Name: "value", Type: "string"},
		}},
	},
	// Redis 7.2's, for the 7.2 subcommands walkerd has.
	"client|setinfo": {
		{Name: "attr", Type: "oneof", Args: []Arg{
			{Name: "libname", Type: "string", Token: "LIB-NAME"},
			{Name: "libver", Type: "string", Token: "LIB-VER"},
		}},
	},
	"client|no-touch": {
		{Name: "enabled", Type: "oneof", Args: []Arg{
			{Name: "on", Type: "pure-token", Token: "ON"},
			{Name: "off", Type: "pure-token", Token: "OFF"},
		}},
	},
	// walkerd's own commands.
	"levelget": {
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "level", Type: "string"},
	},
	"join": {
		{Name: "id", Type: "string"},
		{Name: "raft-addr", Type: "string"},
		{Name: "resp-addr", Type: "string", Flags: ArgOptional},
	},
	"leave": {
		{Name: "id", Type: "string"},
	},
	"raft.transfer": {
		{Name: "id", Type: "string", Flags: ArgOptional},
	},
}
