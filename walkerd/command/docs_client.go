package command

// COMMAND DOCS of RESET, WAIT and the CLIENT subcommands REPLY, KILL,
// PAUSE, UNPAUSE, TRACKING, CACHING, GETREDIR and TRACKINGINFO, as Redis 7.0.15's COMMAND DOCS gives them.
var _ = addDocs(map[string]redisDoc{
	"client|reply": {Summary: "Instruct the server whether to reply to commands", Complexity: "O(1)", Args: []Arg{
		{Name: "on_off_skip", Type: "oneof", Args: []Arg{
			{Name: "on", Type: "pure-token", Token: "ON"},
			{Name: "off", Type: "pure-token", Token: "OFF"},
			{Name: "skip", Type: "pure-token", Token: "SKIP"},
		}},
	}},
	"client|kill": {Summary: "Kill the connection of a client", Complexity: "O(N) where N is the number of client connections",
		History: [][2]string{
			{"2.8.12", "Added new filter format."},
			{"2.8.12", "`ID` option."},
			{"3.2.0", "Added `master` type in for `TYPE` option."},
			{"5.0.0", "Replaced `slave` `TYPE` with `replica`. `slave` still supported for backward compatibility."},
			{"6.2.0", "`LADDR` option."},
		},
		Args: []Arg{
			{Name: "filter", Type: "oneof", Args: []Arg{
				{Name: "ip:port", Type: "string", DeprecatedSince: "2.8.12"},
				{Name: "new-format", Type: "oneof", Flags: ArgMultiple, Args: []Arg{
					{Name: "client-id", Type: "integer", Token: "ID", Since: "2.8.12", Flags: ArgOptional},
					{Name: "normal_master_slave_pubsub", Type: "oneof", Token: "TYPE", Since: "2.8.12", Flags: ArgOptional, Args: []Arg{
						{Name: "normal", Type: "pure-token", Token: "NORMAL"},
						{Name: "master", Type: "pure-token", Token: "MASTER", Since: "3.2.0"},
						{Name: "slave", Type: "pure-token", Token: "SLAVE"},
						{Name: "replica", Type: "pure-token", Token: "REPLICA", Since: "5.0.0"},
						{Name: "pubsub", Type: "pure-token", Token: "PUBSUB"},
					}},
					{Name: "username", Type: "string", Token: "USER", Flags: ArgOptional},
					{Name: "ip:port", Type: "string", Token: "ADDR", Flags: ArgOptional},
					{Name: "ip:port", Type: "string", Token: "LADDR", Since: "6.2.0", Flags: ArgOptional},
					{Name: "yes/no", Type: "string", Token: "SKIPME", Flags: ArgOptional},
				}},
			}},
		}},
	"client|pause": {Summary: "Stop processing commands from clients for some time", Complexity: "O(1)",
		History: [][2]string{{"6.2.0", "`CLIENT PAUSE WRITE` mode added along with the `mode` option."}},
		Args: []Arg{
			{Name: "timeout", Type: "integer"},
			{Name: "mode", Type: "oneof", Since: "6.2.0", Flags: ArgOptional, Args: []Arg{
				{Name: "write", Type: "pure-token", Token: "WRITE"},
				{Name: "all", Type: "pure-token", Token: "ALL"},
			}},
		}},
	"client|unpause": {Summary: "Resume processing of clients that were paused", Complexity: "O(N) Where N is the number of paused clients"},
	"reset":          {Summary: "Reset the connection", Complexity: "O(1)"},
	"wait": {Summary: "Wait for the synchronous replication of all the write commands sent in the context of the current connection", Complexity: "O(1)", Args: []Arg{
		{Name: "numreplicas", Type: "integer"},
		{Name: "timeout", Type: "integer"},
	}},
	"client|tracking": {Summary: "Enable or disable server assisted client side caching support", Complexity: "O(1). Some options may introduce additional complexity.",
		Args: []Arg{
			{Name: "status", Type: "oneof", Args: []Arg{
				{Name: "on", Type: "pure-token", Token: "ON"},
				{Name: "off", Type: "pure-token", Token: "OFF"},
			}},
			{Name: "client-id", Type: "integer", Token: "REDIRECT", Flags: ArgOptional},
			{Name: "prefix", Type: "string", Token: "PREFIX", Flags: ArgOptional | ArgMultiple | ArgMultipleToken},
			{Name: "bcast", Type: "pure-token", Token: "BCAST", Flags: ArgOptional},
			{Name: "optin", Type: "pure-token", Token: "OPTIN", Flags: ArgOptional},
			{Name: "optout", Type: "pure-token", Token: "OPTOUT", Flags: ArgOptional},
			{Name: "noloop", Type: "pure-token", Token: "NOLOOP", Flags: ArgOptional},
		}},
	"client|caching": {Summary: "Instruct the server about tracking or not keys in the next request", Complexity: "O(1)", Args: []Arg{
		{Name: "mode", Type: "oneof", Args: []Arg{
			{Name: "yes", Type: "pure-token", Token: "YES"},
			{Name: "no", Type: "pure-token", Token: "NO"},
		}},
	}},
	"client|getredir":     {Summary: "Get tracking notifications redirection client ID if any", Complexity: "O(1)"},
	"client|trackinginfo": {Summary: "Return information about server assisted client side caching for the current connection", Complexity: "O(1)"},
})
