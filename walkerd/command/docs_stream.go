package command

// COMMAND DOCS of the stream core commands (cmd_stream.go), as Redis
// 7.0.15's COMMAND DOCS gives them.
var _ = addDocs(map[string]redisDoc{
	"xadd": {Summary: "Appends a new entry to a stream", Complexity: "O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "nomkstream", Type: "pure-token", Token: "NOMKSTREAM", Since: "6.2.0", Flags: ArgOptional},
		{Name: "trim", Type: "block", Flags: ArgOptional, Args: []Arg{
			{Name: "strategy", Type: "oneof", Args: []Arg{
				{Name: "maxlen", Type: "pure-token", Token: "MAXLEN"},
				{Name: "minid", Type: "pure-token", Token: "MINID", Since: "6.2.0"},
			}},
			{Name: "operator", Type: "oneof", Flags: ArgOptional, Args: []Arg{
				{Name: "equal", Type: "pure-token", Token: "="},
				{Name: "approximately", Type: "pure-token", Token: "~"},
			}},
			{Name: "threshold", Type: "string"},
			{Name: "count", Type: "integer", Token: "LIMIT", Since: "6.2.0", Flags: ArgOptional},
		}},
		{Name: "id_or_auto", Type: "oneof", Args: []Arg{
			{Name: "auto_id", Type: "pure-token", Token: "*"},
			{Name: "id", Type: "string"},
		}},
		{Name: "field_value", Type: "block", Flags: ArgMultiple, Args: []Arg{
			{Name: "field", Type: "string"},
			{Name: "value", Type: "string"},
		}},
	}},
	"xdel": {Summary: "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.", Complexity: "O(1) for each single item to delete in the stream, regardless of the stream size.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "id", Type: "string", Flags: ArgMultiple},
	}},
	"xlen": {Summary: "Return the number of entries in a stream", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"xrange": {Summary: "Return a range of elements in a stream, with IDs matching the specified IDs interval", Complexity: "O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "start", Type: "string"},
		{Name: "end", Type: "string"},
		{Name: "count", Type: "integer", Token: "COUNT", Flags: ArgOptional},
	}},
	"xread": {Summary: "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.", Complexity: "For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data.", Args: []Arg{
		{Name: "count", Type: "integer", Token: "COUNT", Flags: ArgOptional},
		{Name: "milliseconds", Type: "integer", Token: "BLOCK", Flags: ArgOptional},
		{Name: "streams", Type: "block", Token: "STREAMS", Args: []Arg{
			{Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgMultiple},
			{Name: "id", Type: "string", Flags: ArgMultiple},
		}},
	}},
	"xrevrange": {Summary: "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE", Complexity: "O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "end", Type: "string"},
		{Name: "start", Type: "string"},
		{Name: "count", Type: "integer", Token: "COUNT", Flags: ArgOptional},
	}},
	"xsetid": {Summary: "An internal command for replicating stream values", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "last-id", Type: "string"},
		{Name: "entries_added", Type: "integer", Token: "ENTRIESADDED", Since: "7.0.0", Flags: ArgOptional},
		{Name: "max_deleted_entry_id", Type: "string", Token: "MAXDELETEDID", Since: "7.0.0", Flags: ArgOptional},
	}},
	"xtrim": {Summary: "Trims the stream to (approximately if '~' is passed) a certain size", Complexity: "O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "trim", Type: "block", Args: []Arg{
			{Name: "strategy", Type: "oneof", Args: []Arg{
				{Name: "maxlen", Type: "pure-token", Token: "MAXLEN"},
				{Name: "minid", Type: "pure-token", Token: "MINID", Since: "6.2.0"},
			}},
			{Name: "operator", Type: "oneof", Flags: ArgOptional, Args: []Arg{
				{Name: "equal", Type: "pure-token", Token: "="},
				{Name: "approximately", Type: "pure-token", Token: "~"},
			}},
			{Name: "threshold", Type: "string"},
			{Name: "count", Type: "integer", Token: "LIMIT", Since: "6.2.0", Flags: ArgOptional},
		}},
	}},
})
