package command

// COMMAND DOCS of the function commands, as Redis 7.0.15's COMMAND DOCS
// gives them.
var _ = addDocs(map[string]redisDoc{
	"fcall":            {Summary: "Invoke a function", Complexity: "Depends on the function that is executed.", Args: []Arg{{Name: "function", Type: "string"}, {Name: "numkeys", Type: "integer"}, {Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgOptional | ArgMultiple}, {Name: "arg", Type: "string", Flags: ArgOptional | ArgMultiple}}},
	"fcall_ro":         {Summary: "Invoke a read-only function", Complexity: "Depends on the function that is executed.", Args: []Arg{{Name: "function", Type: "string"}, {Name: "numkeys", Type: "integer"}, {Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgOptional | ArgMultiple}, {Name: "arg", Type: "string", Flags: ArgOptional | ArgMultiple}}},
	"function":         {Summary: "A container for function commands", Complexity: "Depends on subcommand."},
	"function|delete":  {Summary: "Delete a function by name", Complexity: "O(1)", Args: []Arg{{Name: "library-name", Type: "string"}}},
	"function|restore": {Summary: "Restore all the functions on the given payload", Complexity: "O(N) where N is the number of functions on the payload", Args: []Arg{{Name: "serialized-value", Type: "string"}, {Name: "policy", Type: "oneof", Flags: ArgOptional, Args: []Arg{{Name: "flush", Type: "pure-token", Token: "FLUSH"}, {Name: "append", Type: "pure-token", Token: "APPEND"}, {Name: "replace", Type: "pure-token", Token: "REPLACE"}}}}},
	"function|flush":   {Summary: "Deleting all functions", Complexity: "O(N) where N is the number of functions deleted", Args: []Arg{{Name: "async", Type: "oneof", Flags: ArgOptional, Args: []Arg{{Name: "async", Type: "pure-token", Token: "ASYNC"}, {Name: "sync", Type: "pure-token", Token: "SYNC"}}}}},
	"function|help":    {Summary: "Show helpful text about the different subcommands", Complexity: "O(1)"},
	"function|list":    {Summary: "List information about all the functions", Complexity: "O(N) where N is the number of functions", Args: []Arg{{Name: "library-name-pattern", Type: "string", Token: "LIBRARYNAME", Flags: ArgOptional}, {Name: "withcode", Type: "pure-token", Token: "WITHCODE", Flags: ArgOptional}}},
	"function|kill":    {Summary: "Kill the function currently in execution.", Complexity: "O(1)"},
	"function|dump":    {Summary: "Dump all functions into a serialized binary payload", Complexity: "O(N) where N is the number of functions"},
	"function|load":    {Summary: "Create a function with the given arguments (name, code, description)", Complexity: "O(1) (considering compilation time is redundant)", Args: []Arg{{Name: "replace", Type: "pure-token", Token: "REPLACE", Flags: ArgOptional}, {Name: "function-code", Type: "string"}}},
	"function|stats":   {Summary: "Return information about the function currently running (name, description, duration)", Complexity: "O(1)"},
})
