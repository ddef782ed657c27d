package command

// COMMAND DOCS of the consumer group commands, as Redis 7.0.15's COMMAND
// DOCS gives them.
var _ = addDocs(map[string]redisDoc{
	"xgroup": {Summary: "A container for consumer groups commands", Complexity: "Depends on subcommand."},
	"xgroup|createconsumer": {Summary: "Create a consumer in a consumer group.", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "groupname", Type: "string"},
		{Name: "consumername", Type: "string"},
	}},
	"xgroup|create": {Summary: "Create a consumer group.", Complexity: "O(1)", History: [][2]string{{"7.0.0", "Added the `entries_read` named argument."}}, Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "groupname", Type: "string"},
		{Name: "id", Type: "oneof", Args: []Arg{
			{Name: "id", Type: "string"},
			{Name: "new_id", Type: "pure-token", Token: "$"},
		}},
		{Name: "mkstream", Type: "pure-token", Token: "MKSTREAM", Flags: ArgOptional},
		{Name: "entries_read", Type: "integer", Token: "ENTRIESREAD", Flags: ArgOptional},
	}},
	"xgroup|delconsumer": {Summary: "Delete a consumer from a consumer group.", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "groupname", Type: "string"},
		{Name: "consumername", Type: "string"},
	}},
	"xgroup|setid": {Summary: "Set a consumer group to an arbitrary last delivered ID value.", Complexity: "O(1)", History: [][2]string{{"7.0.0", "Added the optional `entries_read` argument."}}, Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "groupname", Type: "string"},
		{Name: "id", Type: "oneof", Args: []Arg{
			{Name: "id", Type: "string"},
			{Name: "new_id", Type: "pure-token", Token: "$"},
		}},
		{Name: "entries_read", Type: "integer", Token: "ENTRIESREAD", Flags: ArgOptional},
	}},
	"xgroup|help": {Summary: "Show helpful text about the different subcommands", Complexity: "O(1)"},
	"xgroup|destroy": {Summary: "Destroy a consumer group.", Complexity: "O(N) where N is the number of entries in the group's pending entries list (PEL).", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "groupname", Type: "string"},
	}},
	"xinfo": {Summary: "A container for stream introspection commands", Complexity: "Depends on subcommand."},
	"xinfo|stream": {Summary: "Get information about a stream", Complexity: "O(1)", History: [][2]string{{"6.0.0", "Added the `FULL` modifier."}, {"7.0.0", "Added the `max-deleted-entry-id`, `entries-added`, `recorded-first-entry-id`, `entries-read` and `lag` fields"}}, Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "full", Type: "block", Token: "FULL", Flags: ArgOptional, Args: []Arg{
			{Name: "count", Type: "integer", Token: "COUNT", Flags: ArgOptional},
		}},
	}},
	"xinfo|consumers": {Summary: "List the consumers in a consumer group", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "groupname", Type: "string"},
	}},
	"xinfo|help": {Summary: "Show helpful text about the different subcommands", Complexity: "O(1)"},
	"xinfo|groups": {Summary: "List the consumer groups of a stream", Complexity: "O(1)", History: [][2]string{{"7.0.0", "Added the `entries-read` and `lag` fields"}}, Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"xreadgroup": {Summary: "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.", Complexity: "For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data.", Args: []Arg{
		{Name: "group_consumer", Type: "block", Token: "GROUP", Args: []Arg{
			{Name: "group", Type: "string"},
			{Name: "consumer", Type: "string"},
		}},
		{Name: "count", Type: "integer", Token: "COUNT", Flags: ArgOptional},
		{Name: "milliseconds", Type: "integer", Token: "BLOCK", Flags: ArgOptional},
		{Name: "noack", Type: "pure-token", Token: "NOACK", Flags: ArgOptional},
		{Name: "streams", Type: "block", Token: "STREAMS", Args: []Arg{
			{Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgMultiple},
			{Name: "id", Type: "string", Flags: ArgMultiple},
		}},
	}},
	"xack": {Summary: "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.", Complexity: "O(1) for each message ID processed.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "group", Type: "string"},
		{Name: "id", Type: "string", Flags: ArgMultiple},
	}},
	"xpending": {Summary: "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.", Complexity: "O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.", History: [][2]string{{"6.2.0", "Added the `IDLE` option and exclusive range intervals."}}, Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "group", Type: "string"},
		{Name: "filters", Type: "block", Flags: ArgOptional, Args: []Arg{
			{Name: "min-idle-time", Type: "integer", Token: "IDLE", Since: "6.2.0", Flags: ArgOptional},
			{Name: "start", Type: "string"},
			{Name: "end", Type: "string"},
			{Name: "count", Type: "integer"},
			{Name: "consumer", Type: "string", Flags: ArgOptional},
		}},
	}},
	"xclaim": {Summary: "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.", Complexity: "O(log N) with N being the number of messages in the PEL of the consumer group.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "group", Type: "string"},
		{Name: "consumer", Type: "string"},
		{Name: "min-idle-time", Type: "string"},
		{Name: "id", Type: "string", Flags: ArgMultiple},
		{Name: "ms", Type: "integer", Token: "IDLE", Flags: ArgOptional},
		{Name: "unix-time-milliseconds", Type: "unix-time", Token: "TIME", Flags: ArgOptional},
		{Name: "count", Type: "integer", Token: "RETRYCOUNT", Flags: ArgOptional},
		{Name: "force", Type: "pure-token", Token: "FORCE", Flags: ArgOptional},
		{Name: "justid", Type: "pure-token", Token: "JUSTID", Flags: ArgOptional},
		{Name: "id", Type: "string", Token: "LASTID", Flags: ArgOptional},
	}},
	"xautoclaim": {Summary: "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.", Complexity: "O(1) if COUNT is small.", History: [][2]string{{"7.0.0", "Added an element to the reply array, containing deleted entries the command cleared from the PEL"}}, Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "group", Type: "string"},
		{Name: "consumer", Type: "string"},
		{Name: "min-idle-time", Type: "string"},
		{Name: "start", Type: "string"},
		{Name: "count", Type: "integer", Token: "COUNT", Flags: ArgOptional},
		{Name: "justid", Type: "pure-token", Token: "JUSTID", Flags: ArgOptional},
	}},
})
