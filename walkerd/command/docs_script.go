package command

// COMMAND DOCS of the scripting commands, as Redis 7.0.15's COMMAND DOCS
// gives them.
var _ = addDocs(map[string]redisDoc{
	"eval":          {Summary: "Execute a Lua script server side", Complexity: "Depends on the script that is executed.", Args: []Arg{{Name: "script", Type: "string"}, {Name: "numkeys", Type: "integer"}, {Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgOptional | ArgMultiple}, {Name: "arg", Type: "string", Flags: ArgOptional | ArgMultiple}}},
	"evalsha":       {Summary: "Execute a Lua script server side", Complexity: "Depends on the script that is executed.", Args: []Arg{{Name: "sha1", Type: "string"}, {Name: "numkeys", Type: "integer"}, {Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgOptional | ArgMultiple}, {Name: "arg", Type: "string", Flags: ArgOptional | ArgMultiple}}},
	"eval_ro":       {Summary: "Execute a read-only Lua script server side", Complexity: "Depends on the script that is executed.", Args: []Arg{{Name: "script", Type: "string"}, {Name: "numkeys", Type: "integer"}, {Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgOptional | ArgMultiple}, {Name: "arg", Type: "string", Flags: ArgOptional | ArgMultiple}}},
	"evalsha_ro":    {Summary: "Execute a read-only Lua script server side", Complexity: "Depends on the script that is executed.", Args: []Arg{{Name: "sha1", Type: "string"}, {Name: "numkeys", Type: "integer"}, {Name: "key", Type: "key", KeySpecIndex: 0, Flags: ArgOptional | ArgMultiple}, {Name: "arg", Type: "string", Flags: ArgOptional | ArgMultiple}}},
	"script":        {Summary: "A container for Lua scripts management commands", Complexity: "Depends on subcommand."},
	"script|load":   {Summary: "Load the specified Lua script into the script cache.", Complexity: "O(N) with N being the length in bytes of the script body.", Args: []Arg{{Name: "script", Type: "string"}}},
	"script|exists": {Summary: "Check existence of scripts in the script cache.", Complexity: "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).", Args: []Arg{{Name: "sha1", Type: "string", Flags: ArgMultiple}}},
	"script|flush":  {Summary: "Remove all the scripts from the script cache.", Complexity: "O(N) with N being the number of scripts in cache", History: [][2]string{{"6.2.0", "Added the `ASYNC` and `SYNC` flushing mode modifiers."}}, Args: []Arg{{Name: "async", Type: "oneof", Since: "6.2.0", Flags: ArgOptional, Args: []Arg{{Name: "async", Type: "pure-token", Token: "ASYNC"}, {Name: "sync", Type: "pure-token", Token: "SYNC"}}}}},
	"script|kill":   {Summary: "Kill the script currently in execution.", Complexity: "O(1)"},
	"script|help":   {Summary: "Show helpful text about the different subcommands", Complexity: "O(1)"},
	"script|debug":  {Summary: "Set the debug mode for executed scripts.", Complexity: "O(1)", Args: []Arg{{Name: "mode", Type: "oneof", Args: []Arg{{Name: "yes", Type: "pure-token", Token: "YES"}, {Name: "sync", Type: "pure-token", Token: "SYNC"}, {Name: "no", Type: "pure-token", Token: "NO"}}}}},
})
