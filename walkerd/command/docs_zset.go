package command

// COMMAND DOCS of the sorted set commands (ZSCAN is documented with the
// other SCAN family commands), as Redis 7.0.15's COMMAND DOCS gives them.
var _ = addDocs(map[string]redisDoc{
	"zadd": {Summary: "Add one or more members to a sorted set, or update its score if it already exists", Complexity: "O(log(N)) for each item added, where N is the number of elements in the sorted set.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "condition", Type: "oneof", Since: "3.0.2", Flags: ArgOptional, Args: []Arg{
			{Name: "nx", Type: "pure-token", Token: "NX"},
			{Name: "xx", Type: "pure-token", Token: "XX"},
		}},
		{Name: "comparison", Type: "oneof", Since: "6.2.0", Flags: ArgOptional, Args: []Arg{
			{Name: "gt", Type: "pure-token", Token: "GT"},
			{Name: "lt", Type: "pure-token", Token: "LT"},
		}},
		{Name: "change", Type: "pure-token", Token: "CH", Since: "3.0.2", Flags: ArgOptional},
		{Name: "increment", Type: "pure-token", Token: "INCR", Since: "3.0.2", Flags: ArgOptional},
		{Name: "score_member", Type: "block", Flags: ArgMultiple, Args: []Arg{
			{Name: "score", Type: "double"},
			{Name: "member", Type: "string"},
		}},
	}},
	"zcard": {Summary: "Get the number of members in a sorted set", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"zcount": {Summary: "Count the members in a sorted set with scores within the given values", Complexity: "O(log(N)) with N being the number of elements in the sorted set.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "min", Type: "double"},
		{Name: "max", Type: "double"},
	}},
	"zdiff": {Summary: "Subtract multiple sorted sets", Complexity: "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.", Args: []Arg{
		{Name: "numkeys", Type: "integer"},
		{Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgMultiple},
		{Name: "withscores", Type: "pure-token", Token: "WITHSCORES", Flags: ArgOptional},
	}},
	"zdiffstore": {Summary: "Subtract multiple sorted sets and store the resulting sorted set in a new key", Complexity: "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.", Args: []Arg{
		{Name: "destination", Type: "key", KeySpecIndex: 0},
		{Name: "numkeys", Type: "integer"},
		{Name: "key", Type: "key", KeySpecIndex: 1, Flags: ArgMultiple},
	}},
	"zincrby": {Summary: "Increment the score of a member in a sorted set", Complexity: "O(log(N)) where N is the number of elements in the sorted set.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "increment", Type: "integer"},
		{Name: "member", Type: "string"},
	}},
	"zinter": {Summary: "Intersect multiple sorted sets", Complexity: "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.", Args: []Arg{
		{Name: "numkeys", Type: "integer"},
		{Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgMultiple},
		{Name: "weight", Type: "integer", Token: "WEIGHTS", Flags: ArgOptional | ArgMultiple},
		{Name: "aggregate", Type: "oneof", Token: "AGGREGATE", Flags: ArgOptional, Args: []Arg{
			{Name: "sum", Type: "pure-token", Token: "SUM"},
			{Name: "min", Type: "pure-token", Token: "MIN"},
			{Name: "max", Type: "pure-token", Token: "MAX"},
		}},
		{Name: "withscores", Type: "pure-token", Token: "WITHSCORES", Flags: ArgOptional},
	}},
	"zintercard": {Summary: "Intersect multiple sorted sets and return the cardinality of the result", Complexity: "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.", Args: []Arg{
		{Name: "numkeys", Type: "integer"},
		{Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgMultiple},
		{Name: "limit", Type: "integer", Token: "LIMIT", Flags: ArgOptional},
	}},
	"zinterstore": {Summary: "Intersect multiple sorted sets and store the resulting sorted set in a new key", Complexity: "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.", Args: []Arg{
		{Name: "destination", Type: "key", KeySpecIndex: 0},
		{Name: "numkeys", Type: "integer"},
		{Name: "key", Type: "key", KeySpecIndex: 1, Flags: ArgMultiple},
		{Name: "weight", Type: "integer", Token: "WEIGHTS", Flags: ArgOptional | ArgMultiple},
		{Name: "aggregate", Type: "oneof", Token: "AGGREGATE", Flags: ArgOptional, Args: []Arg{
			{Name: "sum", Type: "pure-token", Token: "SUM"},
			{Name: "min", Type: "pure-token", Token: "MIN"},
			{Name: "max", Type: "pure-token", Token: "MAX"},
		}},
	}},
	"zlexcount": {Summary: "Count the number of members in a sorted set between a given lexicographical range", Complexity: "O(log(N)) with N being the number of elements in the sorted set.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "min", Type: "string"},
		{Name: "max", Type: "string"},
	}},
	"zmpop": {Summary: "Remove and return members with scores in a sorted set", Complexity: "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.", Args: []Arg{
		{Name: "numkeys", Type: "integer"},
		{Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgMultiple},
		{Name: "where", Type: "oneof", Args: []Arg{
			{Name: "min", Type: "pure-token", Token: "MIN"},
			{Name: "max", Type: "pure-token", Token: "MAX"},
		}},
		{Name: "count", Type: "integer", Token: "COUNT", Flags: ArgOptional},
	}},
	"zmscore": {Summary: "Get the score associated with the given members in a sorted set", Complexity: "O(N) where N is the number of members being requested.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "member", Type: "string", Flags: ArgMultiple},
	}},
	"zpopmax": {Summary: "Remove and return members with the highest scores in a sorted set", Complexity: "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "count", Type: "integer", Flags: ArgOptional},
	}},
	"zpopmin": {Summary: "Remove and return members with the lowest scores in a sorted set", Complexity: "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "count", Type: "integer", Flags: ArgOptional},
	}},
	"zrandmember": {Summary: "Get one or multiple random elements from a sorted set", Complexity: "O(N) where N is the number of elements returned", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "options", Type: "block", Flags: ArgOptional, Args: []Arg{
			{Name: "count", Type: "integer"},
			{Name: "withscores", Type: "pure-token", Token: "WITHSCORES", Flags: ArgOptional},
		}},
	}},
	"zrange": {Summary: "Return a range of members in a sorted set", Complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "start", Type: "string"},
		{Name: "stop", Type: "string"},
		{Name: "sortby", Type: "oneof", Since: "6.2.0", Flags: ArgOptional, Args: []Arg{
			{Name: "byscore", Type: "pure-token", Token: "BYSCORE"},
			{Name: "bylex", Type: "pure-token", Token: "BYLEX"},
		}},
		{Name: "rev", Type: "pure-token", Token: "REV", Since: "6.2.0", Flags: ArgOptional},
		{Name: "offset_count", Type: "block", Token: "LIMIT", Since: "6.2.0", Flags: ArgOptional, Args: []Arg{
			{Name: "offset", Type: "integer"},
			{Name: "count", Type: "integer"},
		}},
		{Name: "withscores", Type: "pure-token", Token: "WITHSCORES", Flags: ArgOptional},
	}},
	"zrangebylex": {Summary: "Return a range of members in a sorted set, by lexicographical range", Complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "min", Type: "string"},
		{Name: "max", Type: "string"},
		{Name: "offset_count", Type: "block", Token: "LIMIT", Flags: ArgOptional, Args: []Arg{
			{Name: "offset", Type: "integer"},
			{Name: "count", Type: "integer"},
		}},
	}},
	"zrangebyscore": {Summary: "Return a range of members in a sorted set, by score", Complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "min", Type: "double"},
		{Name: "max", Type: "double"},
		{Name: "withscores", Type: "pure-token", Token: "WITHSCORES", Since: "2.0.0", Flags: ArgOptional},
		{Name: "offset_count", Type: "block", Token: "LIMIT", Flags: ArgOptional, Args: []Arg{
			{Name: "offset", Type: "integer"},
			{Name: "count", Type: "integer"},
		}},
	}},
	"zrangestore": {Summary: "Store a range of members from sorted set into another key", Complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.", Args: []Arg{
		{Name: "dst", Type: "key", KeySpecIndex: 0},
		{Name: "src", Type: "key", KeySpecIndex: 1},
		{Name: "min", Type: "string"},
		{Name: "max", Type: "string"},
		{Name: "sortby", Type: "oneof", Flags: ArgOptional, Args: []Arg{
			{Name: "byscore", Type: "pure-token", Token: "BYSCORE"},
			{Name: "bylex", Type: "pure-token", Token: "BYLEX"},
		}},
		{Name: "rev", Type: "pure-token", Token: "REV", Flags: ArgOptional},
		{Name: "offset_count", Type: "block", Token: "LIMIT", Flags: ArgOptional, Args: []Arg{
			{Name: "offset", Type: "integer"},
			{Name: "count", Type: "integer"},
		}},
	}},
	"zrank": {Summary: "Determine the index of a member in a sorted set", Complexity: "O(log(N))", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "member", Type: "string"},
	}},
	"zrem": {Summary: "Remove one or more members from a sorted set", Complexity: "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "member", Type: "string", Flags: ArgMultiple},
	}},
	"zremrangebylex": {Summary: "Remove all members in a sorted set between the given lexicographical range", Complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "min", Type: "string"},
		{Name: "max", Type: "string"},
	}},
	"zremrangebyrank": {Summary: "Remove all members in a sorted set within the given indexes", Complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "start", Type: "integer"},
		{Name: "stop", Type: "integer"},
	}},
	"zremrangebyscore": {Summary: "Remove all members in a sorted set within the given scores", Complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "min", Type: "double"},
		{Name: "max", Type: "double"},
	}},
	"zrevrange": {Summary: "Return a range of members in a sorted set, by index, with scores ordered from high to low", Complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "start", Type: "integer"},
		{Name: "stop", Type: "integer"},
		{Name: "withscores", Type: "pure-token", Token: "WITHSCORES", Flags: ArgOptional},
	}},
	"zrevrangebylex": {Summary: "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", Complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "max", Type: "string"},
		{Name: "min", Type: "string"},
		{Name: "offset_count", Type: "block", Token: "LIMIT", Flags: ArgOptional, Args: []Arg{
			{Name: "offset", Type: "integer"},
			{Name: "count", Type: "integer"},
		}},
	}},
	"zrevrangebyscore": {Summary: "Return a range of members in a sorted set, by score, with scores ordered from high to low", Complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "max", Type: "double"},
		{Name: "min", Type: "double"},
		{Name: "withscores", Type: "pure-token", Token: "WITHSCORES", Flags: ArgOptional},
		{Name: "offset_count", Type: "block", Token: "LIMIT", Flags: ArgOptional, Args: []Arg{
			{Name: "offset", Type: "integer"},
			{Name: "count", Type: "integer"},
		}},
	}},
	"zrevrank": {Summary: "Determine the index of a member in a sorted set, with scores ordered from high to low", Complexity: "O(log(N))", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "member", Type: "string"},
	}},
	"zscore": {Summary: "Get the score associated with the given member in a sorted set", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "member", Type: "string"},
	}},
	"zunion": {Summary: "Add multiple sorted sets", Complexity: "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.", Args: []Arg{
		{Name: "numkeys", Type: "integer"},
		{Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgMultiple},
		{Name: "weight", Type: "integer", Token: "WEIGHTS", Flags: ArgOptional | ArgMultiple},
		{Name: "aggregate", Type: "oneof", Token: "AGGREGATE", Flags: ArgOptional, Args: []Arg{
			{Name: "sum", Type: "pure-token", Token: "SUM"},
			{Name: "min", Type: "pure-token", Token: "MIN"},
			{Name: "max", Type: "pure-token", Token: "MAX"},
		}},
		{Name: "withscores", Type: "pure-token", Token: "WITHSCORES", Flags: ArgOptional},
	}},
	"zunionstore": {Summary: "Add multiple sorted sets and store the resulting sorted set in a new key", Complexity: "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.", Args: []Arg{
		{Name: "destination", Type: "key", KeySpecIndex: 0},
		{Name: "numkeys", Type: "integer"},
		{Name: "key", Type: "key", KeySpecIndex: 1, Flags: ArgMultiple},
		{Name: "weight", Type: "integer", Token: "WEIGHTS", Flags: ArgOptional | ArgMultiple},
		{Name: "aggregate", Type: "oneof", Token: "AGGREGATE", Flags: ArgOptional, Args: []Arg{
			{Name: "sum", Type: "pure-token", Token: "SUM"},
			{Name: "min", Type: "pure-token", Token: "MIN"},
			{Name: "max", Type: "pure-token", Token: "MAX"},
		}},
	}},
})
