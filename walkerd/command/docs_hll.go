package command

// COMMAND DOCS of the HyperLogLog commands, as Redis 7.0.15's COMMAND DOCS
// gives them.
var _ = addDocs(map[string]redisDoc{
	"pfadd": {Summary: "Adds the specified elements to the specified HyperLogLog.", Complexity: "O(1) to add every element.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0},
		{Name: "element", Type: "string", Flags: ArgOptional | ArgMultiple},
	}},
	"pfcount": {Summary: "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).", Complexity: "O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys.", Args: []Arg{
		{Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgMultiple},
	}},
	"pfmerge": {Summary: "Merge N different HyperLogLogs into a single one.", Complexity: "O(N) to merge N HyperLogLogs, but with high constant times.", Args: []Arg{
		{Name: "destkey", Type: "key", KeySpecIndex: 0},
		{Name: "sourcekey", Type: "key", KeySpecIndex: 1, Flags: ArgMultiple},
	}},
	"pfdebug": {Summary: "Internal commands for debugging HyperLogLog values", Complexity: "N/A", Args: []Arg{
		{Name: "subcommand", Type: "string"},
		{Name: "key", Type: "key", KeySpecIndex: 0},
	}},
	"pfselftest": {Summary: "An internal command for testing HyperLogLog values", Complexity: "N/A"},
})
