package command

// redisDoc is what COMMAND DOCS says of a command beyond the spec's own
// fields.
type redisDoc struct {
	Summary, Complexity string
	Args                []Arg
	History             [][2]string // COMMAND DOCS "history": version, change
}

// redisDocs are the summaries, complexities and arguments of each command
// as COMMAND DOCS gives them, by full name ("config|get"): Redis 7.0.15's
// own (its COMMAND DOCS reply, field for field), then walkerd's. register
// gives each spec what it does not set itself, so a Redis command reads
// to redis-cli's help as it does on Redis.
var redisDocs = map[string]redisDoc{
	"append": {Summary: "Append a value to a key", Complexity: "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "value", Type: "string"},
	}},
	"auth": {Summary: "Authenticate to the server", Complexity: "O(N) where N is the number of passwords defined for the user", Args: []Arg{
		{Name: "username", Type: "string", Since: "6.0.0", Flags: ArgOptional},
		{Name: "password", Type: "string"},
	}},
	"client":         {Summary: "A container for client connection commands", Complexity: "Depends on subcommand."},
	"client|getname": {Summary: "Get the current connection name", Complexity: "O(1)"},
	"client|help":    {Summary: "Show helpful text about the different subcommands", Complexity: "O(1)"},
	"client|id":      {Summary: "Returns the client ID for the current connection", Complexity: "O(1)"},
	"client|info":    {Summary: "Returns information about the current client connection.", Complexity: "O(1)"},
	"client|list": {Summary: "Get the list of client connections", Complexity: "O(N) where N is the number of client connections", Args: []Arg{
		{Name: "normal_master_replica_pubsub", Type: "oneof", Token: "TYPE", Since: "5.0.0", Flags: ArgOptional, Args: []Arg{
			{Name: "normal", Type: "pure-token", Token: "NORMAL"},
			{Name: "master", Type: "pure-token", Token: "MASTER"},
			{Name: "replica", Type: "pure-token", Token: "REPLICA"},
			{Name: "pubsub", Type: "pure-token", Token: "PUBSUB"},
		}},
		{Name: "id", Type: "block", Token: "ID", Since: "6.2.0", Flags: ArgOptional, Args: []Arg{
			{Name: "client-id", Type: "integer", Flags: ArgMultiple},
		}},
	}},
	"client|no-evict": {Summary: "Set client eviction mode for the current connection", Complexity: "O(1)", Args: []Arg{
		{Name: "enabled", Type: "oneof", Args: []Arg{
			{Name: "on", Type: "pure-token", Token: "ON"},
			{Name: "off", Type: "pure-token", Token: "OFF"},
		}},
	}},
	"client|no-touch": {Summary: "Controls whether commands sent by the client affect the LRU/LFU of accessed keys (Redis 7.2).", Args: []Arg{
		{Name: "enabled", Type: "oneof", Args: []Arg{
			{Name: "on", Type: "pure-token", Token: "ON"},
			{Name: "off", Type: "pure-token", Token: "OFF"},
		}},
	}},
	"client|setinfo": {Summary: "Sets information specific to the client or connection (Redis 7.2).", Args: []Arg{
		{Name: "attr", Type: "oneof", Args: []Arg{
			{Name: "libname", Type: "string", Token: "LIB-NAME"},
			{Name: "libver", Type: "string", Token: "LIB-VER"},
		}},
	}},
	"client|unblock": {Summary: "Unblock a client blocked in a blocking command from a different connection", Complexity: "O(log N) where N is the number of client connections", Args: []Arg{
		{Name: "client-id", Type: "integer"},
		{Name: "timeout_error", Type: "oneof", Flags: ArgOptional, Args: []Arg{
			{Name: "timeout", Type: "pure-token", Token: "TIMEOUT"},
			{Name: "error", Type: "pure-token", Token: "ERROR"},
		}},
	}},
	"client|setname": {Summary: "Set the current connection name", Complexity: "O(1)", Args: []Arg{
		{Name: "connection-name", Type: "string"},
	}},
	"command":       {Summary: "Get array of Redis command details", Complexity: "O(N) where N is the total number of Redis commands"},
	"command|count": {Summary: "Get total number of Redis commands", Complexity: "O(1)"},
	"command|docs": {Summary: "Get array of specific Redis command documentation", Complexity: "O(N) where N is the number of commands to look up", Args: []Arg{
		{Name: "command-name", Type: "string", Flags: ArgOptional | ArgMultiple},
	}},
	"command|getkeys": {Summary: "Extract keys given a full Redis command", Complexity: "O(N) where N is the number of arguments to the command"},
	"command|help":    {Summary: "Show helpful text about the different subcommands", Complexity: "O(1)"},
	"command|info": {Summary: "Get array of specific Redis command details, or all when no argument is given.", Complexity: "O(N) where N is the number of commands to look up", Args: []Arg{
		{Name: "command-name", Type: "string", Flags: ArgOptional | ArgMultiple},
	}},
	"command|list": {Summary: "Get an array of Redis command names", Complexity: "O(N) where N is the total number of Redis commands", Args: []Arg{
		{Name: "filterby", Type: "oneof", Token: "FILTERBY", Flags: ArgOptional, Args: []Arg{
			{Name: "module-name", Type: "string", Token: "MODULE"},
			{Name: "category", Type: "string", Token: "ACLCAT"},
			{Name: "pattern", Type: "pattern", Token: "PATTERN"},
		}},
	}},
	"config": {Summary: "A container for server configuration commands", Complexity: "Depends on subcommand."},
	"config|get": {Summary: "Get the values of configuration parameters", Complexity: "O(N) when N is the number of configuration parameters provided", Args: []Arg{
		{Name: "parameter", Type: "block", Flags: ArgMultiple, Args: []Arg{
			{Name: "parameter", Type: "string"},
		}},
	}},
	"config|help":      {Summary: "Show helpful text about the different subcommands", Complexity: "O(1)"},
	"config|resetstat": {Summary: "Reset the stats returned by INFO", Complexity: "O(1)"},
	"config|rewrite":   {Summary: "Rewrite the configuration file with the in memory configuration", Complexity: "O(1)"},
	"config|set": {Summary: "Set configuration parameters to the given values", Complexity: "O(N) when N is the number of configuration parameters provided", Args: []Arg{
		{Name: "parameter_value", Type: "block", Flags: ArgMultiple, Args: []Arg{
			{Name: "parameter", Type: "string"},
			{Name: "value", Type: "string"},
		}},
	}},
	"dbsize": {Summary: "Return the number of keys in the selected database", Complexity: "O(1)"},
	"decr": {Summary: "Decrement the integer value of a key by one", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"decrby": {Summary: "Decrement the integer value of a key by the given number", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "decrement", Type: "integer"},
	}},
	"del": {Summary: "Delete a key", Complexity: "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgMultiple},
	}},
	"discard": {Summary: "Discard all commands issued after MULTI", Complexity: "O(N), when N is the number of queued commands"},
	"echo": {Summary: "Echo the given string", Complexity: "O(1)", Args: []Arg{
		{Name: "message", Type: "string"},
	}},
	"exec": {Summary: "Execute all commands issued after MULTI", Complexity: "Depends on commands in the transaction"},
	"exists": {Summary: "Determine if a key exists", Complexity: "O(N) where N is the number of keys to check.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgMultiple},
	}},
	"expire": {Summary: "Set a key's time to live in seconds", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "seconds", Type: "integer"},
		{Name: "condition", Type: "oneof", Since: "7.0.0", Flags: ArgOptional, Args: []Arg{
			{Name: "nx", Type: "pure-token", Token: "NX"},
			{Name: "xx", Type: "pure-token", Token: "XX"},
			{Name: "gt", Type: "pure-token", Token: "GT"},
			{Name: "lt", Type: "pure-token", Token: "LT"},
		}},
	}},
	"expireat": {Summary: "Set the expiration for a key as a UNIX timestamp", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "unix-time-seconds", Type: "unix-time"},
		{Name: "condition", Type: "oneof", Since: "7.0.0", Flags: ArgOptional, Args: []Arg{
			{Name: "nx", Type: "pure-token", Token: "NX"},
			{Name: "xx", Type: "pure-token", Token: "XX"},
			{Name: "gt", Type: "pure-token", Token: "GT"},
			{Name: "lt", Type: "pure-token", Token: "LT"},
		}},
	}},
	"expiretime": {Summary: "Get the expiration Unix timestamp for a key", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"flushall": {Summary: "Remove all keys from all databases", Complexity: "O(N) where N is the total number of keys in all databases", Args: []Arg{
		{Name: "async", Type: "oneof", Flags: ArgOptional, Args: []Arg{
			{Name: "async", Type: "pure-token", Token: "ASYNC", Since: "4.0.0"},
			{Name: "sync", Type: "pure-token", Token: "SYNC", Since: "6.2.0"},
		}},
	}},
	"flushdb": {Summary: "Remove all keys from the current database", Complexity: "O(N) where N is the number of keys in the selected database", Args: []Arg{
		{Name: "async", Type: "oneof", Flags: ArgOptional, Args: []Arg{
			{Name: "async", Type: "pure-token", Token: "ASYNC", Since: "4.0.0"},
			{Name: "sync", Type: "pure-token", Token: "SYNC", Since: "6.2.0"},
		}},
	}},
	"get": {Summary: "Get the value of a key", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"getdel": {Summary: "Get the value of a key and delete the key", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"getex": {Summary: "Get the value of a key and optionally set its expiration", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "expiration", Type: "oneof", Flags: ArgOptional, Args: []Arg{
			{Name: "seconds", Type: "integer", Token: "EX"},
			{Name: "milliseconds", Type: "integer", Token: "PX"},
			{Name: "unix-time-seconds", Type: "unix-time", Token: "EXAT"},
			{Name: "unix-time-milliseconds", Type: "unix-time", Token: "PXAT"},
			{Name: "persist", Type: "pure-token", Token: "PERSIST"},
		}},
	}},
	"getrange": {Summary: "Get a substring of the string stored at a key", Complexity: "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "start", Type: "integer"},
		{Name: "end", Type: "integer"},
	}},
	"getset": {Summary: "Set the string value of a key and return its old value", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "value", Type: "string"},
	}},
	"hello": {Summary: "Handshake with Redis", Complexity: "O(1)", Args: []Arg{
		{Name: "arguments", Type: "block", Flags: ArgOptional, Args: []Arg{
			{Name: "protover", Type: "integer"},
			{Name: "username_password", Type: "block", Token: "AUTH", Flags: ArgOptional, Args: []Arg{
				{Name: "username", Type: "string"},
				{Name: "password", Type: "string"},
			}},
			{Name: "clientname", Type: "string", Token: "SETNAME", Flags: ArgOptional},
		}},
	}},
	"incr": {Summary: "Increment the integer value of a key by one", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"incrby": {Summary: "Increment the integer value of a key by the given amount", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "increment", Type: "integer"},
	}},
	"incrbyfloat": {Summary: "Increment the float value of a key by the given amount", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "increment", Type: "double"},
	}},
	"info": {Summary: "Get information and statistics about the server", Complexity: "O(1)", Args: []Arg{
		{Name: "section", Type: "string", Flags: ArgOptional | ArgMultiple},
	}},
	"join": {Args: []Arg{
		{Name: "id", Type: "string"},
		{Name: "raft-addr", Type: "string"},
		{Name: "resp-addr", Type: "string", Flags: ArgOptional},
	}},
	"keys": {Summary: "Find all keys matching the given pattern", Complexity: "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.", Args: []Arg{
		{Name: "pattern", Type: "pattern"},
	}},
	"leave": {Args: []Arg{
		{Name: "id", Type: "string"},
	}},
	"levelget": {Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "level", Type: "string"},
	}},
	"mget": {Summary: "Get the values of all the given keys", Complexity: "O(N) where N is the number of keys to retrieve.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgMultiple},
	}},
	"mset": {Summary: "Set multiple keys to multiple values", Complexity: "O(N) where N is the number of keys to set.", Args: []Arg{
		{Name: "key_value", Type: "block", Flags: ArgMultiple, Args: []Arg{
			{Name: "key", Type: "key", KeySpecIndex: 0},
			{Name: "value", Type: "string"},
		}},
	}},
	"msetnx": {Summary: "Set multiple keys to multiple values, only if none of the keys exist", Complexity: "O(N) where N is the number of keys to set.", Args: []Arg{
		{Name: "key_value", Type: "block", Flags: ArgMultiple, Args: []Arg{
			{Name: "key", Type: "key", KeySpecIndex: 0},
			{Name: "value", Type: "string"},
		}},
	}},
	"multi": {Summary: "Mark the start of a transaction block", Complexity: "O(1)"},
	"persist": {Summary: "Remove the expiration from a key", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"pexpire": {Summary: "Set a key's time to live in milliseconds", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "milliseconds", Type: "integer"},
		{Name: "condition", Type: "oneof", Since: "7.0.0", Flags: ArgOptional, Args: []Arg{
			{Name: "nx", Type: "pure-token", Token: "NX"},
			{Name: "xx", Type: "pure-token", Token: "XX"},
			{Name: "gt", Type: "pure-token", Token: "GT"},
			{Name: "lt", Type: "pure-token", Token: "LT"},
		}},
	}},
	"pexpireat": {Summary: "Set the expiration for a key as a UNIX timestamp specified in milliseconds", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "unix-time-milliseconds", Type: "unix-time"},
		{Name: "condition", Type: "oneof", Since: "7.0.0", Flags: ArgOptional, Args: []Arg{
			{Name: "nx", Type: "pure-token", Token: "NX"},
			{Name: "xx", Type: "pure-token", Token: "XX"},
			{Name: "gt", Type: "pure-token", Token: "GT"},
			{Name: "lt", Type: "pure-token", Token: "LT"},
		}},
	}},
	"pexpiretime": {Summary: "Get the expiration Unix timestamp for a key in milliseconds", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"ping": {Summary: "Ping the server", Complexity: "O(1)", Args: []Arg{
		{Name: "message", Type: "string", Flags: ArgOptional},
	}},
	"psetex": {Summary: "Set the value and expiration in milliseconds of a key", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "milliseconds", Type: "integer"},
		{Name: "value", Type: "string"},
	}},
	"pttl": {Summary: "Get the time to live for a key in milliseconds", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"quit": {Summary: "Close the connection", Complexity: "O(1)"},
	"raft.transfer": {Args: []Arg{
		{Name: "id", Type: "string", Flags: ArgOptional},
	}},
	"randomkey": {Summary: "Return a random key from the keyspace", Complexity: "O(1)"},
	"rename": {Summary: "Rename a key", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "newkey", Type: "key", KeySpecIndex: 1},
	}},
	"renamenx": {Summary: "Rename a key, only if the new key does not exist", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "newkey", Type: "key", KeySpecIndex: 1},
	}},
	"scan": {Summary: "Incrementally iterate the keys space", Complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", Args: []Arg{
		{Name: "cursor", Type: "integer"},
		{Name: "pattern", Type: "pattern", Token: "MATCH", Flags: ArgOptional},
		{Name: "count", Type: "integer", Token: "COUNT", Flags: ArgOptional},
		{Name: "type", Type: "string", Token: "TYPE", Since: "6.0.0", Flags: ArgOptional},
	}},
	"select": {Summary: "Change the selected database for the current connection", Complexity: "O(1)", Args: []Arg{
		{Name: "index", Type: "integer"},
	}},
	"set": {Summary: "Set the string value of a key", Complexity: "O(1)", Args: []Arg{
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
	}},
	"setex": {Summary: "Set the value and expiration of a key", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "seconds", Type: "integer"},
		{Name: "value", Type: "string"},
	}},
	"setnx": {Summary: "Set the value of a key, only if the key does not exist", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "value", Type: "string"},
	}},
	"setrange": {Summary: "Overwrite part of a string at key starting at the specified offset", Complexity: "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "offset", Type: "integer"},
		{Name: "value", Type: "string"},
	}},
	"shutdown": {Summary: "Synchronously save the dataset to disk and then shut down the server", Complexity: "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)", Args: []Arg{
		{Name: "nosave_save", Type: "oneof", Flags: ArgOptional, Args: []Arg{
			{Name: "nosave", Type: "pure-token", Token: "NOSAVE"},
			{Name: "save", Type: "pure-token", Token: "SAVE"},
		}},
		{Name: "now", Type: "pure-token", Token: "NOW", Since: "7.0.0", Flags: ArgOptional},
		{Name: "force", Type: "pure-token", Token: "FORCE", Since: "7.0.0", Flags: ArgOptional},
		{Name: "abort", Type: "pure-token", Token: "ABORT", Since: "7.0.0", Flags: ArgOptional},
	}},
	"strlen": {Summary: "Get the length of the value stored in a key", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"substr": {Summary: "Get a substring of the string stored at a key", Complexity: "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "start", Type: "integer"},
		{Name: "end", Type: "integer"},
	}},
	"time": {Summary: "Return the current server time", Complexity: "O(1)"},
	"ttl": {Summary: "Get the time to live for a key in seconds", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"type": {Summary: "Determine the type stored at key", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"unlink": {Summary: "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.", Complexity: "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgMultiple},
	}},
	"unwatch": {Summary: "Forget about all watched keys", Complexity: "O(1)"},
	"watch": {Summary: "Watch the given keys to determine execution of the MULTI/EXEC block", Complexity: "O(1) for every key.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgMultiple},
	}},
}

// addDocs adds entries to redisDocs. The file of each command group
// declares its own with `var _ = addDocs(map[string]redisDoc{...})`:
// package variables are set before any init function registers a spec.
func addDocs(m map[string]redisDoc) bool {
	for name, d := range m {
		redisDocs[name] = d
	}
	return true
}
