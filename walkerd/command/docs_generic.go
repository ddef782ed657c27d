package command

// COMMAND DOCS of the generic commands of cmd_generic.go, sort.go and
// dump.go, as Redis 7.0.15's COMMAND DOCS gives them. SWAPDB's
// complexity is Redis's (pointer swaps); WalkerDB's SWAPDB rewrites every
// key of both databases (O(N), see runSwapdb).
var _ = addDocs(map[string]redisDoc{
	"copy": {Summary: "Copy a key", Complexity: "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.", Args: []Arg{
		{Name: "source", Type: "key", KeySpecIndex: 0},
		{Name: "destination", Type: "key", KeySpecIndex: 1},
		{Name: "destination-db", Type: "integer", Token: "DB", Flags: ArgOptional},
		{Name: "replace", Type: "pure-token", Token: "REPLACE", Flags: ArgOptional},
	}},
	"move": {Summary: "Move a key to another database", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "db", Type: "integer"},
	}},
	"swapdb": {Summary: "Swaps two Redis databases", Complexity: "O(N) where N is the count of clients watching or blocking on keys from both databases.", Args: []Arg{
		{Name: "index1", Type: "integer"},
		{Name: "index2", Type: "integer"},
	}},
	"touch": {Summary: "Alters the last access time of a key(s). Returns the number of existing keys specified.", Complexity: "O(N) where N is the number of keys that will be touched.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgMultiple},
	}},
	"object": {Summary: "A container for object introspection commands", Complexity: "Depends on subcommand."},
	"object|refcount": {Summary: "Get the number of references to the value of the key", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"object|encoding": {Summary: "Inspect the internal encoding of a Redis object", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"object|freq": {Summary: "Get the logarithmic access frequency counter of a Redis object", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"object|help": {Summary: "Show helpful text about the different subcommands", Complexity: "O(1)"},
	"object|idletime": {Summary: "Get the time since a Redis object was last accessed", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"sort": {Summary: "Sort the elements in a list, set or sorted set", Complexity: "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "pattern", Type: "pattern", Token: "BY", Flags: ArgOptional},
		{Name: "offset_count", Type: "block", Token: "LIMIT", Flags: ArgOptional, Args: []Arg{
			{Name: "offset", Type: "integer"},
			{Name: "count", Type: "integer"},
		}},
		{Name: "pattern", Type: "pattern", Token: "GET", Flags: ArgOptional | ArgMultiple | ArgMultipleToken},
		{Name: "order", Type: "oneof", Flags: ArgOptional, Args: []Arg{
			{Name: "asc", Type: "pure-token", Token: "ASC"},
			{Name: "desc", Type: "pure-token", Token: "DESC"},
		}},
		{Name: "sorting", Type: "pure-token", Token: "ALPHA", Flags: ArgOptional},
		{Name: "destination", Type: "key", KeySpecIndex: 2, Token: "STORE", Flags: ArgOptional},
	}},
	"sort_ro": {Summary: "Sort the elements in a list, set or sorted set. Read-only variant of SORT.", Complexity: "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "pattern", Type: "pattern", Token: "BY", Flags: ArgOptional},
		{Name: "offset_count", Type: "block", Token: "LIMIT", Flags: ArgOptional, Args: []Arg{
			{Name: "offset", Type: "integer"},
			{Name: "count", Type: "integer"},
		}},
		{Name: "pattern", Type: "pattern", Token: "GET", Flags: ArgOptional | ArgMultiple | ArgMultipleToken},
		{Name: "order", Type: "oneof", Flags: ArgOptional, Args: []Arg{
			{Name: "asc", Type: "pure-token", Token: "ASC"},
			{Name: "desc", Type: "pure-token", Token: "DESC"},
		}},
		{Name: "sorting", Type: "pure-token", Token: "ALPHA", Flags: ArgOptional},
	}},
	"dump": {Summary: "Return a serialized version of the value stored at the specified key.", Complexity: "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"restore": {Summary: "Create a key using the provided serialized value, previously obtained using DUMP.", Complexity: "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "ttl", Type: "integer"},
		{Name: "serialized-value", Type: "string"},
		{Name: "replace", Type: "pure-token", Token: "REPLACE", Since: "3.0.0", Flags: ArgOptional},
		{Name: "absttl", Type: "pure-token", Token: "ABSTTL", Since: "5.0.0", Flags: ArgOptional},
		{Name: "seconds", Type: "integer", Token: "IDLETIME", Since: "5.0.0", Flags: ArgOptional},
		{Name: "frequency", Type: "integer", Token: "FREQ", Since: "5.0.0", Flags: ArgOptional},
	}},
})
