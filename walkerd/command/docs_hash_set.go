package command

// COMMAND DOCS of the hash and set commands and of HSCAN, SSCAN and
// ZSCAN, as Redis 7.0.15's COMMAND DOCS gives them.
var _ = addDocs(map[string]redisDoc{
	"hdel": {Summary: "Delete one or more hash fields", Complexity: "O(N) where N is the number of fields to be removed.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "field", Type: "string", Flags: ArgMultiple},
	}},
	"hexists": {Summary: "Determine if a hash field exists", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "field", Type: "string"},
	}},
	"hget": {Summary: "Get the value of a hash field", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "field", Type: "string"},
	}},
	"hgetall": {Summary: "Get all the fields and values in a hash", Complexity: "O(N) where N is the size of the hash.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"hincrby": {Summary: "Increment the integer value of a hash field by the given number", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "field", Type: "string"},
		{Name: "increment", Type: "integer"},
	}},
	"hincrbyfloat": {Summary: "Increment the float value of a hash field by the given amount", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "field", Type: "string"},
		{Name: "increment", Type: "double"},
	}},
	"hkeys": {Summary: "Get all the fields in a hash", Complexity: "O(N) where N is the size of the hash.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"hlen": {Summary: "Get the number of fields in a hash", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"hmget": {Summary: "Get the values of all the given hash fields", Complexity: "O(N) where N is the number of fields being requested.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "field", Type: "string", Flags: ArgMultiple},
	}},
	"hmset": {Summary: "Set multiple hash fields to multiple values", Complexity: "O(N) where N is the number of fields being set.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "field_value", Type: "block", Flags: ArgMultiple, Args: []Arg{
			{Name: "field", Type: "string"},
			{Name: "value", Type: "string"},
		}},
	}},
	"hrandfield": {Summary: "Get one or multiple random fields from a hash", Complexity: "O(N) where N is the number of fields returned", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "options", Type: "block", Flags: ArgOptional, Args: []Arg{
			{Name: "count", Type: "integer"},
			{Name: "withvalues", Type: "pure-token", Token: "WITHVALUES", Flags: ArgOptional},
		}},
	}},
	"hscan": {Summary: "Incrementally iterate hash fields and associated values", Complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "cursor", Type: "integer"},
		{Name: "pattern", Type: "pattern", Token: "MATCH", Flags: ArgOptional},
		{Name: "count", Type: "integer", Token: "COUNT", Flags: ArgOptional},
	}},
	"hset": {Summary: "Set the string value of a hash field", Complexity: "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "field_value", Type: "block", Flags: ArgMultiple, Args: []Arg{
			{Name: "field", Type: "string"},
			{Name: "value", Type: "string"},
		}},
	}},
	"hsetnx": {Summary: "Set the value of a hash field, only if the field does not exist", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "field", Type: "string"},
		{Name: "value", Type: "string"},
	}},
	"hstrlen": {Summary: "Get the length of the value of a hash field", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "field", Type: "string"},
	}},
	"hvals": {Summary: "Get all the values in a hash", Complexity: "O(N) where N is the size of the hash.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"sadd": {Summary: "Add one or more members to a set", Complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "member", Type: "string", Flags: ArgMultiple},
	}},
	"scard": {Summary: "Get the number of members in a set", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"sdiff": {Summary: "Subtract multiple sets", Complexity: "O(N) where N is the total number of elements in all given sets.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgMultiple},
	}},
	"sdiffstore": {Summary: "Subtract multiple sets and store the resulting set in a key", Complexity: "O(N) where N is the total number of elements in all given sets.", Args: []Arg{
		{Name: "destination", Type: "key", KeySpecIndex: 0},
		{Name: "key", Type: "key", KeySpecIndex: 1, Flags: ArgMultiple},
	}},
	"sinter": {Summary: "Intersect multiple sets", Complexity: "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgMultiple},
	}},
	"sintercard": {Summary: "Intersect multiple sets and return the cardinality of the result", Complexity: "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", Args: []Arg{
		{Name: "numkeys", Type: "integer"},
		{Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgMultiple},
		{Name: "limit", Type: "integer", Token: "LIMIT", Flags: ArgOptional},
	}},
	"sinterstore": {Summary: "Intersect multiple sets and store the resulting set in a key", Complexity: "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", Args: []Arg{
		{Name: "destination", Type: "key", KeySpecIndex: 0},
		{Name: "key", Type: "key", KeySpecIndex: 1, Flags: ArgMultiple},
	}},
	"sismember": {Summary: "Determine if a given value is a member of a set", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "member", Type: "string"},
	}},
	"smembers": {Summary: "Get all the members in a set", Complexity: "O(N) where N is the set cardinality.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"smismember": {Summary: "Returns the membership associated with the given elements for a set", Complexity: "O(N) where N is the number of elements being checked for membership", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "member", Type: "string", Flags: ArgMultiple},
	}},
	"smove": {Summary: "Move a member from one set to another", Complexity: "O(1)", Args: []Arg{
		{Name: "source", Type: "key", KeySpecIndex: 0},
		{Name: "destination", Type: "key", KeySpecIndex: 1},
		{Name: "member", Type: "string"},
	}},
	"spop": {Summary: "Remove and return one or multiple random members from a set", Complexity: "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "count", Type: "integer", Since: "3.2.0", Flags: ArgOptional},
	}},
	"srandmember": {Summary: "Get one or multiple random members from a set", Complexity: "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "count", Type: "integer", Since: "2.6.0", Flags: ArgOptional},
	}},
	"srem": {Summary: "Remove one or more members from a set", Complexity: "O(N) where N is the number of members to be removed.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "member", Type: "string", Flags: ArgMultiple},
	}},
	"sscan": {Summary: "Incrementally iterate Set elements", Complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "cursor", Type: "integer"},
		{Name: "pattern", Type: "pattern", Token: "MATCH", Flags: ArgOptional},
		{Name: "count", Type: "integer", Token: "COUNT", Flags: ArgOptional},
	}},
	"sunion": {Summary: "Add multiple sets", Complexity: "O(N) where N is the total number of elements in all given sets.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgMultiple},
	}},
	"sunionstore": {Summary: "Add multiple sets and store the resulting set in a key", Complexity: "O(N) where N is the total number of elements in all given sets.", Args: []Arg{
		{Name: "destination", Type: "key", KeySpecIndex: 0},
		{Name: "key", Type: "key", KeySpecIndex: 1, Flags: ArgMultiple},
	}},
	"zscan": {Summary: "Incrementally iterate sorted sets elements and associated scores", Complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "cursor", Type: "integer"},
		{Name: "pattern", Type: "pattern", Token: "MATCH", Flags: ArgOptional},
		{Name: "count", Type: "integer", Token: "COUNT", Flags: ArgOptional},
	}},
})
