package command

// COMMAND DOCS of the list commands, as Redis 7.0.15's COMMAND DOCS gives
// them.
var _ = addDocs(map[string]redisDoc{
	"lindex": {Summary: "Get an element from a list by its index", Complexity: "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "index", Type: "integer"},
	}},
	"linsert": {Summary: "Insert an element before or after another element in a list", Complexity: "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "where", Type: "oneof", Args: []Arg{
			{Name: "before", Type: "pure-token", Token: "BEFORE"},
			{Name: "after", Type: "pure-token", Token: "AFTER"},
		}},
		{Name: "pivot", Type: "string"},
		{Name: "element", Type: "string"},
	}},
	"llen": {Summary: "Get the length of a list", Complexity: "O(1)", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"lmove": {Summary: "Pop an element from a list, push it to another list and return it", Complexity: "O(1)", Args: []Arg{
		{Name: "source", Type: "key", KeySpecIndex: 0},
		{Name: "destination", Type: "key", KeySpecIndex: 1},
		{Name: "wherefrom", Type: "oneof", Args: []Arg{
			{Name: "left", Type: "pure-token", Token: "LEFT"},
			{Name: "right", Type: "pure-token", Token: "RIGHT"},
		}},
		{Name: "whereto", Type: "oneof", Args: []Arg{
			{Name: "left", Type: "pure-token", Token: "LEFT"},
			{Name: "right", Type: "pure-token", Token: "RIGHT"},
		}},
	}},
	"lmpop": {Summary: "Pop elements from a list", Complexity: "O(N+M) where N is the number of provided keys and M is the number of elements returned.", Args: []Arg{
		{Name: "numkeys", Type: "integer"},
		{Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgMultiple},
		{Name: "where", Type: "oneof", Args: []Arg{
			{Name: "left", Type: "pure-token", Token: "LEFT"},
			{Name: "right", Type: "pure-token", Token: "RIGHT"},
		}},
		{Name: "count", Type: "integer", Token: "COUNT", Flags: ArgOptional},
	}},
	"lpop": {Summary: "Remove and get the first elements in a list", Complexity: "O(N) where N is the number of elements returned", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "count", Type: "integer", Since: "6.2.0", Flags: ArgOptional},
	}},
	"lpos": {Summary: "Return the index of matching elements on a list", Complexity: "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "element", Type: "string"},
		{Name: "rank", Type: "integer", Token: "RANK", Flags: ArgOptional},
		{Name: "num-matches", Type: "integer", Token: "COUNT", Flags: ArgOptional},
		{Name: "len", Type: "integer", Token: "MAXLEN", Flags: ArgOptional},
	}},
	"lpush": {Summary: "Prepend one or multiple elements to a list", Complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "element", Type: "string", Flags: ArgMultiple},
	}},
	"lpushx": {Summary: "Prepend an element to a list, only if the list exists", Complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "element", Type: "string", Flags: ArgMultiple},
	}},
	"lrange": {Summary: "Get a range of elements from a list", Complexity: "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "start", Type: "integer"},
		{Name: "stop", Type: "integer"},
	}},
	"lrem": {Summary: "Remove elements from a list", Complexity: "O(N+M) where N is the length of the list and M is the number of elements removed.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "count", Type: "integer"},
		{Name: "element", Type: "string"},
	}},
	"lset": {Summary: "Set the value of an element in a list by its index", Complexity: "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "index", Type: "integer"},
		{Name: "element", Type: "string"},
	}},
	"ltrim": {Summary: "Trim a list to the specified range", Complexity: "O(N) where N is the number of elements to be removed by the operation.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "start", Type: "integer"},
		{Name: "stop", Type: "integer"},
	}},
	"rpop": {Summary: "Remove and get the last elements in a list", Complexity: "O(N) where N is the number of elements returned", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "count", Type: "integer", Since: "6.2.0", Flags: ArgOptional},
	}},
	"rpoplpush": {Summary: "Remove the last element in a list, prepend it to another list and return it", Complexity: "O(1)", Args: []Arg{
		{Name: "source", Type: "key", KeySpecIndex: 0},
		{Name: "destination", Type: "key", KeySpecIndex: 1},
	}},
	"rpush": {Summary: "Append one or multiple elements to a list", Complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "element", Type: "string", Flags: ArgMultiple},
	}},
	"rpushx": {Summary: "Append an element to a list, only if the list exists", Complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "element", Type: "string", Flags: ArgMultiple},
	}},
})
